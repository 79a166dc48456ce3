/* The DIF count tables of every item, from this process's persons, summed
 * over the ranks of a job (see dif_tables.h). Three steps, each ending in
 * one collective: the range of matching and item scores (a gather, folded
 * to minimum and maximum), which of those values occur (a sum of flags:
 * strata and categories are only the values some person holds), and the
 * counts themselves (a sum). Counts are integers held in int64, so the sums
 * are exact and the tables do not depend on how persons were shared out. */
#include "dif_tables.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sjtalign/dist.h"

/* Where one item's flags and counts live in the round's shared arrays. */
typedef struct {
    int64_t s_lo, y_lo;      /* smallest matching score and item score over every rank */
    size_t s_range, y_range; /* values from the smallest to the largest (0: no person) */
    size_t seen_at;          /* the item's stratum flags, then its category flags */
    size_t cells_at;         /* the item's n_strata * 2 * n_cats counts */
} item_layout;

enum { S_LO, S_HI, Y_LO, Y_HI, N_BOUNDS };

static long matching_score(const dif_table_request *q, size_t k, size_t item)
{
    int y = q->d->scores[q->persons[k] * q->d->n_items + item];
    long s = q->base[k];
    if (q->match == SJ_MATCH_TOTAL)
        return q->in_matching[item] ? s : s + y;
    return q->in_matching[item] ? s - y : s;
}

static int item_score(const dif_table_request *q, size_t k, size_t item)
{
    return q->d->scores[q->persons[k] * q->d->n_items + item];
}

/* A local allocation every rank must have made before the collective that
 * uses it: one rank short of memory stops all of them. */
static sj_status agree_memory(const dif_table_request *q, int ok, sj_error *err)
{
    sj_status st =
        ok ? SJ_OK : sj_error_set(err, SJ_ERR_WORK, "out of memory tabulating the DIF counts");
    return q->distributed ? sj_dist_agree(st, err) : st;
}

static void local_bounds(const dif_table_request *q, int64_t *bounds)
{
    long n_items = (long)q->d->n_items;
#pragma omp parallel for schedule(static)
    for (long i = 0; i < n_items; i++) {
        int64_t *b = bounds + (size_t)i * N_BOUNDS;
        b[S_LO] = b[Y_LO] = INT64_MAX;
        b[S_HI] = b[Y_HI] = INT64_MIN;
        for (size_t k = 0; k < q->n_persons; k++) {
            int64_t s = matching_score(q, k, (size_t)i), y = item_score(q, k, (size_t)i);
            b[S_LO] = s < b[S_LO] ? s : b[S_LO];
            b[S_HI] = s > b[S_HI] ? s : b[S_HI];
            b[Y_LO] = y < b[Y_LO] ? y : b[Y_LO];
            b[Y_HI] = y > b[Y_HI] ? y : b[Y_HI];
        }
    }
}

/* The bounds over every rank: each rank's block gathered, then folded. */
static sj_status global_bounds(const dif_table_request *q, int64_t *bounds, sj_error *err)
{
    local_bounds(q, bounds);
    if (!q->distributed || sj_dist_size() == 1)
        return SJ_OK;
    size_t n = q->d->n_items * N_BOUNDS, bytes = n * sizeof *bounds;
    char *all = NULL;
    sj_status st = sj_dist_gather(bounds, bytes, 1, &all, NULL, err);
    if (st != SJ_OK)
        return st;
    for (int rank = 0; rank < sj_dist_size(); rank++) {
        for (size_t v = 0; v < n; v++) {
            int64_t other;
            memcpy(&other, all + (size_t)rank * bytes + v * sizeof other, sizeof other);
            int is_low = v % N_BOUNDS == S_LO || v % N_BOUNDS == Y_LO;
            if (is_low ? other < bounds[v] : other > bounds[v])
                bounds[v] = other;
        }
    }
    free(all);
    return SJ_OK;
}

static size_t span(int64_t lo, int64_t hi)
{
    return lo > hi ? 0 : (size_t)(hi - lo) + 1;
}

/* The flag arrays' layout: *total flags; 0 when the sizes overflow. */
static int lay_out_flags(const int64_t *bounds, size_t n_items, item_layout *lay, size_t *total)
{
    *total = 0;
    for (size_t i = 0; i < n_items; i++) {
        const int64_t *b = bounds + i * N_BOUNDS;
        lay[i].s_lo = b[S_LO];
        lay[i].y_lo = b[Y_LO];
        lay[i].s_range = span(b[S_LO], b[S_HI]);
        lay[i].y_range = span(b[Y_LO], b[Y_HI]);
        lay[i].seen_at = *total;
        size_t add = lay[i].s_range + lay[i].y_range;
        if (add < lay[i].s_range || *total + add < *total)
            return 0;
        *total += add;
    }
    return 1;
}

static void mark_seen(const dif_table_request *q, const item_layout *lay, int64_t *seen)
{
    long n_items = (long)q->d->n_items;
#pragma omp parallel for schedule(static)
    for (long i = 0; i < n_items; i++) {
        const item_layout *l = &lay[i];
        int64_t *strata = seen + l->seen_at, *cats = strata + l->s_range;
        for (size_t k = 0; k < q->n_persons; k++) {
            strata[matching_score(q, k, (size_t)i) - l->s_lo] = 1;
            cats[item_score(q, k, (size_t)i) - l->y_lo] = 1;
        }
    }
}

static size_t count_flags(const int64_t *flags, size_t n)
{
    size_t used = 0;
    for (size_t v = 0; v < n; v++)
        used += flags[v] != 0;
    return used;
}

/* Numbers the values that occur, in increasing order, in place: the flag
 * becomes the value's stratum or category index, -1 where none; value_of
 * receives each index's value. */
static void number_values(int64_t *flags, size_t n, int64_t lo, double *value_of)
{
    size_t used = 0;
    for (size_t v = 0; v < n; v++) {
        if (flags[v] == 0) {
            flags[v] = -1;
            continue;
        }
        value_of[used] = (double)(lo + (int64_t)v);
        flags[v] = (int64_t)used++;
    }
}

/* Each item's strata, categories and table of doubles, and the integer
 * tables' layout; 0 when out of memory (or the sizes overflow). */
static int set_up_counts(size_t n_items, item_layout *lay, int64_t *seen, sj_dif_counts *counts,
                         size_t *total_cells)
{
    size_t total = 0;
    for (size_t i = 0; i < n_items; i++) {
        item_layout *l = &lay[i];
        sj_dif_counts *c = &counts[i];
        int64_t *strata = seen + l->seen_at, *cats = strata + l->s_range;
        c->n_strata = count_flags(strata, l->s_range);
        c->n_cats = count_flags(cats, l->y_range);
        size_t cells = c->n_strata * 2 * c->n_cats;
        if ((c->n_cats && cells / c->n_cats / 2 != c->n_strata) || total + cells < total)
            return 0;
        c->stratum_score = malloc((c->n_strata ? c->n_strata : 1) * sizeof *c->stratum_score);
        c->cat_value = malloc((c->n_cats ? c->n_cats : 1) * sizeof *c->cat_value);
        c->count = malloc((cells ? cells : 1) * sizeof *c->count);
        if (!c->stratum_score || !c->cat_value || !c->count)
            return 0;
        number_values(strata, l->s_range, l->s_lo, c->stratum_score);
        number_values(cats, l->y_range, l->y_lo, c->cat_value);
        l->cells_at = total;
        total += cells;
    }
    *total_cells = total;
    return 1;
}

static void tabulate(const dif_table_request *q, const item_layout *lay, const int64_t *seen,
                     const sj_dif_counts *counts, int64_t *cells)
{
    long n_items = (long)q->d->n_items;
#pragma omp parallel for schedule(static)
    for (long i = 0; i < n_items; i++) {
        const item_layout *l = &lay[i];
        const int64_t *strata = seen + l->seen_at, *cats = strata + l->s_range;
        int64_t *table = cells + l->cells_at;
        size_t n_cats = counts[i].n_cats;
        for (size_t k = 0; k < q->n_persons; k++) {
            size_t p = q->persons[k];
            size_t g = q->d->group[p] == q->focal;
            int64_t stratum = strata[matching_score(q, k, (size_t)i) - l->s_lo];
            int64_t cat = cats[item_score(q, k, (size_t)i) - l->y_lo];
            table[((size_t)stratum * 2 + g) * n_cats + (size_t)cat] += q->weight ? q->weight[p] : 1;
        }
    }
}

/* The summed integer counts into each item's table of doubles. */
static void fill_counts(size_t n_items, const item_layout *lay, const int64_t *cells,
                        sj_dif_counts *counts, long *n_group)
{
    for (size_t i = 0; i < n_items; i++) {
        sj_dif_counts *c = &counts[i];
        size_t n_cells = c->n_strata * 2 * c->n_cats;
        n_group[2 * i] = n_group[2 * i + 1] = 0;
        for (size_t v = 0; v < n_cells; v++) {
            int64_t x = cells[lay[i].cells_at + v];
            c->count[v] = (double)x;
            n_group[2 * i + (v / c->n_cats) % 2] += (long)x;
        }
    }
}

static void free_counts(sj_dif_counts *counts, size_t n)
{
    for (size_t i = 0; i < n; i++)
        sj_dif_counts_free(&counts[i]);
}

/* The flags of the values that occur on any rank; *seen_out malloc'ed. */
static sj_status occurring_values(const dif_table_request *q, item_layout *lay, int64_t *bounds,
                                  int64_t **seen_out, sj_error *err)
{
    size_t n_items = q->d->n_items;
    sj_status st = global_bounds(q, bounds, err);
    if (st != SJ_OK)
        return st;
    size_t n_seen = 0;
    int ok = lay_out_flags(bounds, n_items, lay, &n_seen);
    int64_t *seen = ok ? calloc(n_seen ? n_seen : 1, sizeof *seen) : NULL;
    st = agree_memory(q, seen != NULL, err);
    if (st == SJ_OK) {
        mark_seen(q, lay, seen);
        if (q->distributed)
            st = sj_dist_sum_int64(seen, n_seen, err);
    }
    if (st != SJ_OK) {
        free(seen);
        return st;
    }
    *seen_out = seen;
    return SJ_OK;
}

sj_status dif_tables_build(const dif_table_request *q, sj_dif_counts *counts, long *n_group,
                           sj_error *err)
{
    size_t n_items = q->d->n_items;
    memset(counts, 0, n_items * sizeof *counts);
    int64_t *bounds = malloc((n_items ? n_items : 1) * N_BOUNDS * sizeof *bounds);
    item_layout *lay = malloc((n_items ? n_items : 1) * sizeof *lay);
    int64_t *seen = NULL, *cells = NULL;
    sj_status st = agree_memory(q, bounds && lay, err);
    if (st == SJ_OK)
        st = occurring_values(q, lay, bounds, &seen, err);
    size_t n_cells = 0;
    if (st == SJ_OK) {
        int ok = set_up_counts(n_items, lay, seen, counts, &n_cells);
        cells = ok ? calloc(n_cells ? n_cells : 1, sizeof *cells) : NULL;
        st = agree_memory(q, cells != NULL, err);
    }
    if (st == SJ_OK) {
        tabulate(q, lay, seen, counts, cells);
        if (q->distributed)
            st = sj_dist_sum_int64(cells, n_cells, err);
    }
    if (st == SJ_OK)
        fill_counts(n_items, lay, cells, counts, n_group);
    free(bounds);
    free(lay);
    free(seen);
    free(cells);
    if (st != SJ_OK)
        free_counts(counts, n_items);
    return st;
}
