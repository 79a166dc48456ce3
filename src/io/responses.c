/* Long-format responses files checked against an instrument. */
#include "sjtalign/io.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_heapsort.h>

void sj_columns_defaults(sj_columns *cols)
{
    if (!cols->person)
        cols->person = "person_id";
    if (!cols->item)
        cols->item = "item_id";
    if (!cols->text)
        cols->text = "response";
    if (!cols->group)
        cols->group = "group";
    if (!cols->score)
        cols->score = "score";
}

void sj_responses_free(sj_responses *r)
{
    if (!r)
        return;
    sj_table_free(r->table);
    sj_rater_scores_free(r->raters);
    free(r->item_index);
    free(r->score);
    free(r);
}

static long optional_column(const sj_table *t, const char *name, int required, sj_error *err,
                            int *failed)
{
    if (required) {
        long c = sj_table_column(t, name, err);
        if (c < 0)
            *failed = 1;
        return c;
    }
    return sj_table_find_column(t, name);
}

typedef struct {
    const sj_table *t;
    long col_person;
    long col_item;
} dup_ctx;

static const dup_ctx *dup_sort_ctx;

static int compare_person_item(const void *a, const void *b)
{
    size_t ra = *(const size_t *)a, rb = *(const size_t *)b;
    const dup_ctx *c = dup_sort_ctx;
    int cmp = strcmp(sj_table_cell(c->t, ra, (size_t)c->col_person),
                     sj_table_cell(c->t, rb, (size_t)c->col_person));
    if (cmp)
        return cmp;
    cmp = strcmp(sj_table_cell(c->t, ra, (size_t)c->col_item),
                 sj_table_cell(c->t, rb, (size_t)c->col_item));
    if (cmp)
        return cmp;
    return ra < rb ? -1 : (ra > rb);
}

static sj_status check_duplicates(const sj_responses *r, sj_error *err)
{
    const sj_table *t = r->table;
    if (t->n_rows < 2)
        return SJ_OK;
    size_t *order = malloc(t->n_rows * sizeof *order);
    if (!order)
        return sj_error_set(err, SJ_ERR_WORK, "out of memory");
    for (size_t i = 0; i < t->n_rows; i++)
        order[i] = i;
    dup_ctx c = {t, r->col_person, r->col_item};
    dup_sort_ctx = &c;
    gsl_heapsort(order, t->n_rows, sizeof *order, compare_person_item);
    sj_status st = SJ_OK;
    for (size_t i = 1; i < t->n_rows && st == SJ_OK; i++) {
        size_t a = order[i - 1], b = order[i];
        if (strcmp(sj_table_cell(t, a, (size_t)r->col_item),
                   sj_table_cell(t, b, (size_t)r->col_item)) == 0 &&
            strcmp(sj_table_cell(t, a, (size_t)r->col_person),
                   sj_table_cell(t, b, (size_t)r->col_person)) == 0) {
            size_t first = a < b ? a : b, second = a < b ? b : a;
            st = sj_error_at(err, SJ_ERR_INPUT, t->path, t->row_line[second], r->col_person + 1,
                             "person '%s' answers item '%s' twice (first on line %ld)",
                             sj_table_cell(t, second, (size_t)r->col_person),
                             sj_table_cell(t, second, (size_t)r->col_item), t->row_line[first]);
        }
    }
    free(order);
    return st;
}

static sj_status check_row(sj_responses *r, const sj_instrument *ins, size_t row, sj_error *err)
{
    const sj_table *t = r->table;
    const char *person = sj_table_cell(t, row, (size_t)r->col_person);
    if (person[0] == '\0')
        return sj_error_at(err, SJ_ERR_INPUT, t->path, t->row_line[row], r->col_person + 1,
                           "empty person id");
    const char *item = sj_table_cell(t, row, (size_t)r->col_item);
    long idx = ins ? sj_instrument_find_item(ins, item) : 0;
    if (idx < 0)
        return sj_error_at(err, SJ_ERR_INPUT, t->path, t->row_line[row], r->col_item + 1,
                           "unknown item '%.60s': the instrument %s has no such item", item,
                           ins->id);
    r->item_index[row] = (size_t)idx;
    if (r->col_group >= 0 && sj_table_cell(t, row, (size_t)r->col_group)[0] == '\0')
        return sj_error_at(err, SJ_ERR_INPUT, t->path, t->row_line[row], r->col_group + 1,
                           "empty group label in column '%s'", t->names[r->col_group]);
    r->score[row] = NAN;
    if (r->raters) {
        r->score[row] = sj_rater_mean(r->raters, row);
        return SJ_OK;
    }
    if (r->col_score < 0 || sj_table_cell(t, row, (size_t)r->col_score)[0] == '\0')
        return SJ_OK;
    long s;
    if (sj_table_integer(t, row, (size_t)r->col_score, &s, err) != SJ_OK)
        return SJ_ERR_INPUT;
    if (ins && (s < ins->score_min || s > ins->score_max))
        return sj_error_at(err, SJ_ERR_INPUT, t->path, t->row_line[row], r->col_score + 1,
                           "score %ld is outside the instrument's range %d..%d", s, ins->score_min,
                           ins->score_max);
    r->score[row] = (double)s;
    return SJ_OK;
}

/* The rater columns of a comma list (always required: they were named). */
static sj_status read_raters(sj_responses *r, const char *spec, const sj_instrument *ins,
                             sj_error *err)
{
    r->raters = sj_rater_scores_read(r->table, spec, ins, err);
    if (!r->raters)
        return err ? err->status : SJ_ERR_INPUT;
    r->col_score = r->raters->cols[0];
    return SJ_OK;
}

sj_responses *sj_responses_load(const char *path, const sj_columns *given, const sj_instrument *ins,
                                int need, sj_error *err)
{
    sj_columns cols = *given;
    sj_columns_defaults(&cols);
    sj_responses *r = calloc(1, sizeof *r);
    if (!r) {
        sj_error_set(err, SJ_ERR_WORK, "out of memory");
        return NULL;
    }
    r->table = sj_table_read(path, err);
    if (!r->table)
        goto fail;
    const sj_table *t = r->table;
    int failed = 0;
    r->col_person = optional_column(t, cols.person, 1, err, &failed);
    if (!failed)
        r->col_item = optional_column(t, cols.item, 1, err, &failed);
    if (!failed)
        r->col_text = optional_column(t, cols.text, need & SJ_NEED_TEXT, err, &failed);
    if (!failed)
        r->col_group = optional_column(t, cols.group, need & SJ_NEED_GROUP, err, &failed);
    if (!failed && (need & SJ_ALLOW_RATERS) && strchr(cols.score, ','))
        failed = read_raters(r, cols.score, ins, err) != SJ_OK;
    else if (!failed)
        r->col_score = optional_column(t, cols.score, need & SJ_NEED_SCORE, err, &failed);
    if (!failed && (need & SJ_ALLOW_RATERS) && r->col_score >= 0 && !r->raters)
        failed = read_raters(r, cols.score, ins, err) != SJ_OK;
    if (failed)
        goto fail;
    if (t->n_rows == 0) {
        sj_error_at(err, SJ_ERR_INPUT, t->path, 2, 0, "no data rows after the header");
        goto fail;
    }
    r->item_index = calloc(t->n_rows, sizeof *r->item_index);
    r->score = calloc(t->n_rows, sizeof *r->score);
    if (!r->item_index || !r->score) {
        sj_error_set(err, SJ_ERR_WORK, "out of memory");
        goto fail;
    }
    for (size_t row = 0; row < t->n_rows; row++)
        if (check_row(r, ins, row, err) != SJ_OK)
            goto fail;
    if (check_duplicates(r, err) != SJ_OK)
        goto fail;
    return r;
fail:
    sj_responses_free(r);
    return NULL;
}
