/* The distinct candidate pairs among judgments: a pair judged by several
 * experts is one unit, so the reward model and DPO run its two sequences
 * through the model once for all of its judgments. */
#include "align_internal.h"

#include <stdlib.h>
#include <string.h>

void sja_pair_units_free(sja_pair_units *u)
{
    free(u->start);
    free(u->member);
    free(u->unit);
    free(u->swapped);
    free(u->first);
    free(u->second);
    memset(u, 0, sizeof *u);
}

/* Total order on sequences: length, tokens, where the prompt ends, then
 * the lexical prior (two responses may shorten to the same tokens). */
static int compare_seq(const sja_seq *a, const sja_seq *b)
{
    if (a->len != b->len)
        return a->len < b->len ? -1 : 1;
    int c = memcmp(a->tokens, b->tokens, (size_t)a->len * sizeof *a->tokens);
    if (c)
        return c;
    if (a->prompt_len != b->prompt_len)
        return a->prompt_len < b->prompt_len ? -1 : 1;
    if (a->n_prior != b->n_prior)
        return a->n_prior < b->n_prior ? -1 : 1;
    if (a->prior_pos != b->prior_pos)
        return a->prior_pos < b->prior_pos ? -1 : 1;
    return a->n_prior ? memcmp(a->prior, b->prior, (size_t)a->n_prior * sizeof *a->prior) : 0;
}

/* A judgment with its two sequences in canonical order. */
typedef struct {
    const char *person;
    const sja_seq *lo, *hi;
    size_t judgment;
} keyed;

static int compare_pair(const keyed *a, const keyed *b)
{
    int c = strcmp(a->person, b->person);
    if (!c)
        c = compare_seq(a->lo, b->lo);
    if (!c)
        c = compare_seq(a->hi, b->hi);
    return c;
}

/* Grouped by pair, judgments in order within a group. */
static int compare_keyed(const void *pa, const void *pb)
{
    const keyed *a = pa, *b = pb;
    int c = compare_pair(a, b);
    if (c)
        return c;
    return a->judgment < b->judgment ? -1 : a->judgment > b->judgment;
}

static int compare_size(const void *pa, const void *pb)
{
    size_t a = *(const size_t *)pa, b = *(const size_t *)pb;
    return a < b ? -1 : a > b;
}

static sj_status alloc_units(sja_pair_units *u, size_t n, sj_error *err)
{
    size_t cap = n ? n : 1;
    u->start = malloc((cap + 1) * sizeof *u->start);
    u->member = malloc(cap * sizeof *u->member);
    u->unit = malloc(cap * sizeof *u->unit);
    u->swapped = sj_calloc(cap, 1);
    u->first = malloc(cap * sizeof *u->first);
    u->second = malloc(cap * sizeof *u->second);
    if (!u->start || !u->member || !u->unit || !u->swapped || !u->first || !u->second)
        return sj_error_set(err, SJ_ERR_WORK, "out of memory");
    return SJ_OK;
}

/* Units numbered by their earliest judgment, so the numbering does not
 * depend on the sort: heads[g] is group g's first judgment. */
static void number_units(sja_pair_units *u, const keyed *k, size_t n, size_t *heads)
{
    size_t groups = 0;
    for (size_t i = 0; i < n; i++)
        if (i == 0 || compare_pair(&k[i - 1], &k[i]) != 0)
            heads[groups++] = k[i].judgment;
    qsort(heads, groups, sizeof *heads, compare_size);
    for (size_t g = 0; g < groups; g++)
        u->unit[heads[g]] = g;
    for (size_t i = 0; i < n; i++) {
        if (i == 0 || compare_pair(&k[i - 1], &k[i]) != 0)
            continue;
        u->unit[k[i].judgment] = u->unit[k[i - 1].judgment];
    }
    u->n = groups;
}

/* Members in unit order, judgments ascending within each unit; `next`
 * has room for a position per unit. */
static void fill_members(sja_pair_units *u, const keyed *k, size_t n, size_t *next)
{
    memset(u->start, 0, (u->n + 1) * sizeof *u->start);
    for (size_t j = 0; j < n; j++)
        u->start[u->unit[j] + 1]++;
    for (size_t g = 0; g < u->n; g++)
        u->start[g + 1] += u->start[g];
    memcpy(next, u->start, u->n * sizeof *next);
    for (size_t j = 0; j < n; j++)
        u->member[next[u->unit[j]]++] = j;
    for (size_t i = 0; i < n; i++) {
        if (i > 0 && compare_pair(&k[i - 1], &k[i]) == 0)
            continue; /* the unit's sequences are its first judgment's */
        size_t g = u->unit[k[i].judgment];
        u->first[g] = k[i].lo;
        u->second[g] = k[i].hi;
    }
}

sj_status sja_pair_units_build(const sja_pair_seqs *d, sja_pair_units *u, sj_error *err)
{
    memset(u, 0, sizeof *u);
    size_t n = d->n;
    keyed *k = malloc((n ? n : 1) * sizeof *k);
    size_t *heads = malloc((n ? n : 1) * sizeof *heads);
    sj_status st =
        k && heads ? alloc_units(u, n, err) : sj_error_set(err, SJ_ERR_WORK, "out of memory");
    if (st == SJ_OK) {
        for (size_t j = 0; j < n; j++) {
            const sja_seq *c = &d->chosen[j], *r = &d->rejected[j];
            int chosen_high = compare_seq(c, r) > 0;
            k[j] = (keyed){d->person[j], chosen_high ? r : c, chosen_high ? c : r, j};
            u->swapped[j] = (unsigned char)chosen_high;
        }
        qsort(k, n, sizeof *k, compare_keyed);
        number_units(u, k, n, heads);
        fill_members(u, k, n, heads); /* the heads are done with: reused */
    }
    free(k);
    free(heads);
    if (st != SJ_OK)
        sja_pair_units_free(u);
    return st;
}

/* A unit with the length of its longer sequence. */
typedef struct {
    int len;
    size_t unit;
} sized;

/* Longest first: the model's activations, sized by the first pass, then
 * serve every later one without growing. */
static int compare_sized(const void *pa, const void *pb)
{
    const sized *a = pa, *b = pb;
    if (a->len != b->len)
        return a->len > b->len ? -1 : 1;
    return a->unit < b->unit ? -1 : a->unit > b->unit;
}

sj_status sja_pair_units_of(const sja_pair_units *u, const size_t *judgments, size_t n,
                            int by_length, size_t **out, size_t *n_out, sj_error *err)
{
    *out = NULL;
    *n_out = 0;
    unsigned char *seen = sj_calloc(u->n ? u->n : 1, 1);
    size_t *list = malloc((n ? n : 1) * sizeof *list);
    sized *s = by_length ? malloc((n ? n : 1) * sizeof *s) : NULL;
    if (!seen || !list || (by_length && !s)) {
        free(seen);
        free(list);
        free(s);
        return sj_error_set(err, SJ_ERR_WORK, "out of memory");
    }
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
        size_t g = u->unit[judgments[i]];
        if (!seen[g]) {
            seen[g] = 1;
            list[m++] = g;
        }
    }
    if (by_length) {
        /* forward passes over units of like length pad little */
        for (size_t i = 0; i < m; i++) {
            int a = u->first[list[i]]->len, b = u->second[list[i]]->len;
            s[i] = (sized){a > b ? a : b, list[i]};
        }
        qsort(s, m, sizeof *s, compare_sized);
        for (size_t i = 0; i < m; i++)
            list[i] = s[i].unit;
    }
    free(s);
    free(seen);
    *out = list;
    *n_out = m;
    return SJ_OK;
}
