/* A person-level split of a responses table into training and held-out
 * persons, stratified by group (sjtalign split). Held-out evaluation is only
 * honest when no answer of a held-out person reached any training stage, so
 * the unit of the split is the person, never the row. */
#include "sjtalign/io.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_randist.h>

size_t sj_split_heldout_size(size_t n, double fraction)
{
    double want = round(fraction * (double)n);
    size_t k = want <= 0 ? 0 : (size_t)want;
    if (k > n)
        k = n;
    if (n >= 2 && k < 1)
        k = 1;
    if (n >= 2 && k > n - 1)
        k = n - 1;
    return k;
}

void sj_split_free(sj_split *s)
{
    if (!s)
        return;
    for (size_t p = 0; p < s->n_persons; p++)
        free(s->persons[p]);
    free(s->persons);
    free(s->person_group);
    free(s->person_heldout);
    for (size_t g = 0; g < s->n_groups; g++)
        free(s->groups[g].name);
    free(s->groups);
    free(s->row_heldout);
    free(s);
}

static int compare_strings(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

long sj_split_find_person(const sj_split *s, const char *id)
{
    char *const *hit = bsearch(&id, s->persons, s->n_persons, sizeof *s->persons, compare_strings);
    return hit ? (long)(hit - s->persons) : -1;
}

/* Empty ids and labels are refused: a blank person would pool unrelated
 * rows, a blank group would be a stratum of its own. */
static sj_status check_cells(const sj_table *t, long col_person, long col_group, sj_error *err)
{
    for (size_t r = 0; r < t->n_rows; r++) {
        if (sj_table_cell(t, r, (size_t)col_person)[0] == '\0')
            return sj_error_at(err, SJ_ERR_INPUT, t->path, t->row_line[r], col_person + 1,
                               "empty person id in column '%s'", t->names[col_person]);
        if (sj_table_cell(t, r, (size_t)col_group)[0] == '\0')
            return sj_error_at(err, SJ_ERR_INPUT, t->path, t->row_line[r], col_group + 1,
                               "empty group label in column '%s'", t->names[col_group]);
    }
    return SJ_OK;
}

/* The persons sorted by id (copied into s), with each row's person and
 * each person's first row in k. Every row of a person must name the group
 * of its first row. */
static sj_status collect_persons(sj_split *s, const sj_table *t, long col_person, long col_group,
                                 sj_table_keys *k, sj_error *err)
{
    if (sj_table_keys_build(t, (size_t)col_person, k, err) != SJ_OK)
        return err->status;
    if (!(s->persons = calloc(k->n, sizeof *s->persons)))
        return sj_error_set(err, SJ_ERR_WORK, "out of memory");
    for (s->n_persons = 0; s->n_persons < k->n; s->n_persons++)
        if (!(s->persons[s->n_persons] = sj_strdup(k->keys[s->n_persons])))
            return sj_error_set(err, SJ_ERR_WORK, "out of memory");
    for (size_t i = 0; i < t->n_rows; i++) {
        size_t row = k->order[i], first = k->first_row[k->row_key[row]];
        const char *group = sj_table_cell(t, row, (size_t)col_group);
        const char *group_first = sj_table_cell(t, first, (size_t)col_group);
        if (strcmp(group, group_first) != 0)
            return sj_error_at(err, SJ_ERR_INPUT, t->path, t->row_line[row], col_group + 1,
                               "person '%.60s' is in group '%.60s' here but in group '%.60s' "
                               "on line %ld; a person belongs to one group",
                               k->keys[k->row_key[row]], group, group_first, t->row_line[first]);
    }
    return SJ_OK;
}

/* The distinct group labels sorted by name, and each person's group. */
static sj_status collect_groups(sj_split *s, const sj_table *t, long col_group,
                                const size_t *first_row, sj_error *err)
{
    const char **labels = malloc(s->n_persons * sizeof *labels);
    s->person_group = calloc(s->n_persons, sizeof *s->person_group);
    s->groups = calloc(s->n_persons, sizeof *s->groups);
    if (!labels || !s->person_group || !s->groups) {
        free(labels);
        return sj_error_set(err, SJ_ERR_WORK, "out of memory");
    }
    for (size_t p = 0; p < s->n_persons; p++)
        labels[p] = sj_table_cell(t, first_row[p], (size_t)col_group);
    qsort(labels, s->n_persons, sizeof *labels, compare_strings);
    sj_status st = SJ_OK;
    for (size_t i = 0; i < s->n_persons && st == SJ_OK; i++) {
        if (i > 0 && strcmp(labels[i - 1], labels[i]) == 0)
            continue;
        if (!(s->groups[s->n_groups++].name = sj_strdup(labels[i])))
            st = sj_error_set(err, SJ_ERR_WORK, "out of memory");
    }
    for (size_t p = 0; p < s->n_persons && st == SJ_OK; p++) {
        const char *label = sj_table_cell(t, first_row[p], (size_t)col_group);
        size_t lo = 0, hi = s->n_groups;
        while (hi - lo > 1) { /* the last group whose name is <= label */
            size_t mid = lo + (hi - lo) / 2;
            if (strcmp(s->groups[mid].name, label) <= 0)
                lo = mid;
            else
                hi = mid;
        }
        s->person_group[p] = lo;
        s->groups[lo].n_persons++;
    }
    free(labels);
    return st;
}

/* Shuffles each group's persons (in id order) with the group's own
 * generator and holds out the first sj_split_heldout_size of them. */
static sj_status draw_heldout(sj_split *s, sj_error *err)
{
    size_t *members = malloc((s->n_persons ? s->n_persons : 1) * sizeof *members);
    s->person_heldout = calloc(s->n_persons ? s->n_persons : 1, 1);
    if (!members || !s->person_heldout) {
        free(members);
        return sj_error_set(err, SJ_ERR_WORK, "out of memory");
    }
    sj_status st = SJ_OK;
    for (size_t g = 0; g < s->n_groups && st == SJ_OK; g++) {
        size_t n = 0;
        for (size_t p = 0; p < s->n_persons; p++)
            if (s->person_group[p] == g)
                members[n++] = p;
        char *component = sj_asprintf("split:%s", s->groups[g].name);
        gsl_rng *rng = component ? sj_rng_new(sj_seed_derive(s->seed, component)) : NULL;
        free(component);
        if (!rng) {
            st = sj_error_set(err, SJ_ERR_WORK, "out of memory");
            break;
        }
        gsl_ran_shuffle(rng, members, n, sizeof *members);
        sj_rng_free(rng);
        size_t k = sj_split_heldout_size(n, s->fraction);
        for (size_t i = 0; i < k; i++)
            s->person_heldout[members[i]] = 1;
        s->groups[g].n_heldout = k;
        s->n_heldout += k;
    }
    free(members);
    return st;
}

sj_split *sj_split_persons(const sj_table *t, long col_person, long col_group, double fraction,
                           uint64_t seed, sj_error *err)
{
    if (!(fraction > 0 && fraction < 1)) {
        sj_error_set(err, SJ_ERR_INPUT, "the held-out fraction must lie strictly between 0 and 1");
        return NULL;
    }
    if (col_person < 0 || col_group < 0 || (size_t)col_person >= t->n_cols ||
        (size_t)col_group >= t->n_cols) {
        sj_error_set(err, SJ_ERR_INPUT, "%s: a split needs a person and a group column", t->path);
        return NULL;
    }
    if (t->n_rows == 0) {
        sj_error_at(err, SJ_ERR_INPUT, t->path, 2, 0, "no data rows after the header");
        return NULL;
    }
    sj_split *s = calloc(1, sizeof *s);
    sj_table_keys persons = {0};
    sj_status st = s ? SJ_OK : sj_error_set(err, SJ_ERR_WORK, "out of memory");
    if (st == SJ_OK) {
        s->fraction = fraction;
        s->seed = seed;
        s->n_rows = t->n_rows;
        st = check_cells(t, col_person, col_group, err);
    }
    if (st == SJ_OK)
        st = collect_persons(s, t, col_person, col_group, &persons, err);
    if (st == SJ_OK)
        st = collect_groups(s, t, col_group, persons.first_row, err);
    if (st == SJ_OK)
        st = draw_heldout(s, err);
    if (st == SJ_OK && !(s->row_heldout = malloc(t->n_rows)))
        st = sj_error_set(err, SJ_ERR_WORK, "out of memory");
    for (size_t r = 0; st == SJ_OK && r < t->n_rows; r++) {
        s->row_heldout[r] = s->person_heldout[persons.row_key[r]];
        s->n_rows_heldout += s->row_heldout[r];
    }
    sj_table_keys_free(&persons);
    if (st == SJ_OK)
        return s;
    sj_split_free(s);
    return NULL;
}
