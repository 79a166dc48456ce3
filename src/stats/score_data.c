/* The person x item score matrix that DIF works on, built from a
 * long-format table. Persons, items and groups are numbered in order of
 * first appearance through small string hash indexes, so a file of a few
 * million rows loads in one pass. */
#include "sjtalign/stats.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "label_index.h"

sj_score_data *sj_score_data_new(size_t n_persons, size_t n_items, size_t n_groups)
{
    sj_score_data *d = sj_calloc(1, sizeof *d);
    if (!d)
        return NULL;
    d->n_persons = n_persons;
    d->n_items = n_items;
    d->n_groups = n_groups;
    d->person_ids = sj_calloc(n_persons ? n_persons : 1, sizeof *d->person_ids);
    d->item_ids = sj_calloc(n_items ? n_items : 1, sizeof *d->item_ids);
    d->group_names = sj_calloc(n_groups ? n_groups : 1, sizeof *d->group_names);
    d->group = sj_calloc(n_persons ? n_persons : 1, sizeof *d->group);
    size_t cells = n_persons * n_items;
    d->scores = malloc((cells ? cells : 1) * sizeof *d->scores);
    if (!d->person_ids || !d->item_ids || !d->group_names || !d->group || !d->scores) {
        sj_score_data_free(d);
        return NULL;
    }
    for (size_t i = 0; i < cells; i++)
        d->scores[i] = SJ_SCORE_MISSING;
    return d;
}

static void free_strings(char **s, size_t n)
{
    if (!s)
        return;
    for (size_t i = 0; i < n; i++)
        free(s[i]);
    free(s);
}

void sj_score_data_free(sj_score_data *d)
{
    if (!d)
        return;
    free_strings(d->person_ids, d->n_persons);
    free_strings(d->item_ids, d->n_items);
    free_strings(d->group_names, d->n_groups);
    free(d->group);
    free(d->scores);
    free(d);
}

long sj_score_data_group(const sj_score_data *d, const char *name)
{
    for (size_t g = 0; g < d->n_groups; g++)
        if (strcmp(d->group_names[g], name) == 0)
            return (long)g;
    return -1;
}

static sj_status empty_cell_error(const sj_table *t, size_t row, long col, sj_error *err)
{
    return sj_error_at(err, SJ_ERR_INPUT, t->path, t->row_line[row], col + 1,
                       "column '%s' is empty: every row needs a value here", t->names[col]);
}

static sj_status read_score(const sj_table *t, size_t row, long col, int *out, sj_error *err)
{
    const char *cell = sj_table_cell(t, row, (size_t)col);
    if (cell[0] == '\0') {
        *out = SJ_SCORE_MISSING;
        return SJ_OK;
    }
    double v;
    if (sj_parse_number(cell, &v) != 0 || v != floor(v) || fabs(v) > 1e9)
        return sj_error_at(err, SJ_ERR_INPUT, t->path, t->row_line[row], col + 1,
                           "column '%s': DIF needs whole-number item scores (an ordinal scale), "
                           "found '%s'; use the modal or rounded score column",
                           t->names[col], cell);
    *out = (int)v;
    return SJ_OK;
}

typedef struct {
    long person, item, score, group;
} columns;

static sj_status find_columns(const sj_table *t, const char *person_col, const char *item_col,
                              const char *score_col, const char *group_col, columns *c,
                              sj_error *err)
{
    c->person = sj_table_column(t, person_col, err);
    if (c->person < 0)
        return SJ_ERR_INPUT;
    c->item = sj_table_column(t, item_col, err);
    if (c->item < 0)
        return SJ_ERR_INPUT;
    c->score = sj_table_column(t, score_col, err);
    if (c->score < 0)
        return SJ_ERR_INPUT;
    c->group = sj_table_column(t, group_col, err);
    if (c->group < 0)
        return SJ_ERR_INPUT;
    return SJ_OK;
}

/* First pass: number persons, items and groups; remember per row which. */
static sj_status index_rows(const sj_table *t, const columns *c, sj_label_index *persons,
                            sj_label_index *items, sj_label_index *groups, size_t *row_person,
                            size_t *row_item, size_t *row_group, sj_error *err)
{
    const long cols[3] = {c->person, c->item, c->group};
    sj_label_index *idx[3] = {persons, items, groups};
    size_t *out[3] = {row_person, row_item, row_group};
    for (size_t r = 0; r < t->n_rows; r++) {
        for (int k = 0; k < 3; k++) {
            const char *cell = sj_table_cell(t, r, (size_t)cols[k]);
            if (cell[0] == '\0')
                return empty_cell_error(t, r, cols[k], err);
            /* Long files list a person's rows together: reuse the last id. */
            if (r > 0 && strcmp(cell, sj_table_cell(t, r - 1, (size_t)cols[k])) == 0) {
                out[k][r] = out[k][r - 1];
                continue;
            }
            long id = sj_label_index_add(idx[k], cell);
            if (id < 0)
                return sj_error_set(err, SJ_ERR_WORK, "out of memory indexing %s", t->path);
            out[k][r] = (size_t)id;
        }
    }
    return SJ_OK;
}

static sj_status fill_matrix(const sj_table *t, const columns *c, sj_score_data *d,
                             const size_t *row_person, const size_t *row_item,
                             const size_t *row_group, size_t *first_row, sj_error *err)
{
    const size_t unset = (size_t)-1;
    for (size_t p = 0; p < d->n_persons; p++)
        first_row[p] = unset;
    unsigned char *seen = sj_calloc(d->n_persons * d->n_items + 1, 1);
    if (!seen)
        return sj_error_set(err, SJ_ERR_WORK, "out of memory reading %s", t->path);
    sj_status st = SJ_OK;
    for (size_t r = 0; r < t->n_rows && st == SJ_OK; r++) {
        size_t p = row_person[r], i = row_item[r];
        if (first_row[p] == unset) {
            first_row[p] = r;
            d->group[p] = (int)row_group[r];
        } else if (d->group[p] != (int)row_group[r]) {
            st = sj_error_at(err, SJ_ERR_INPUT, t->path, t->row_line[r], c->group + 1,
                             "person '%s' is in group '%s' here but in group '%s' on line %ld; "
                             "a person belongs to one group",
                             d->person_ids[p], d->group_names[row_group[r]],
                             d->group_names[d->group[p]], t->row_line[first_row[p]]);
            break;
        }
        size_t cell = p * d->n_items + i;
        if (seen[cell]) {
            st = sj_error_at(err, SJ_ERR_INPUT, t->path, t->row_line[r], c->item + 1,
                             "person '%s' answers item '%s' a second time", d->person_ids[p],
                             d->item_ids[i]);
            break;
        }
        seen[cell] = 1;
        st = read_score(t, r, c->score, &d->scores[cell], err);
    }
    free(seen);
    return st;
}

sj_score_data *sj_score_data_from_table(const sj_table *t, const char *person_col,
                                        const char *item_col, const char *score_col,
                                        const char *group_col, sj_error *err)
{
    columns c;
    if (find_columns(t, person_col, item_col, score_col, group_col, &c, err) != SJ_OK)
        return NULL;
    sj_label_index persons, items, groups;
    sj_label_index_init(&persons);
    sj_label_index_init(&items);
    sj_label_index_init(&groups);
    size_t n = t->n_rows ? t->n_rows : 1;
    size_t *row_person = malloc(n * sizeof *row_person);
    size_t *row_item = malloc(n * sizeof *row_item);
    size_t *row_group = malloc(n * sizeof *row_group);
    sj_score_data *d = NULL;
    size_t *first_row = NULL;
    if (!row_person || !row_item || !row_group) {
        sj_error_set(err, SJ_ERR_WORK, "out of memory reading %s", t->path);
        goto done;
    }
    if (index_rows(t, &c, &persons, &items, &groups, row_person, row_item, row_group, err) != SJ_OK)
        goto done;
    d = sj_score_data_new(persons.n, items.n, groups.n);
    first_row = malloc((persons.n ? persons.n : 1) * sizeof *first_row);
    if (!d || !first_row) {
        sj_error_set(err, SJ_ERR_WORK, "out of memory reading %s", t->path);
        sj_score_data_free(d);
        d = NULL;
        goto done;
    }
    sj_label_index_take(&persons, d->person_ids);
    sj_label_index_take(&items, d->item_ids);
    sj_label_index_take(&groups, d->group_names);
    if (fill_matrix(t, &c, d, row_person, row_item, row_group, first_row, err) != SJ_OK) {
        sj_score_data_free(d);
        d = NULL;
    }
done:
    free(first_row);
    free(row_person);
    free(row_item);
    free(row_group);
    sj_label_index_free(&persons);
    sj_label_index_free(&items);
    sj_label_index_free(&groups);
    return d;
}
