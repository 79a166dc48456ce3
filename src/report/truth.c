/* Agreement with the true scores, for simulated data where the true score
 * of every response is known (the truth.csv that `sjtalign simulate`
 * writes). The machine's modal score and, when there is one, the human
 * score are each compared with the true score by the same agreement
 * statistics as the machine-human agreement, so a reader can set the
 * scorer's accuracy beside the raters' bias. */
#include "report_internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TRUE_SCORE_COLUMN "true_score"

/* One truth row's key, pointing into the table's cells. */
typedef struct {
    const char *person, *item;
    size_t row;
} truth_key;

/* The truth file indexed by (person, item). */
typedef struct {
    sj_table *table;
    long col_person, col_item, col_true;
    truth_key *keys; /* sorted by person, then item */
    double *value;   /* per truth row */
} truth_index;

static void truth_index_free(truth_index *t)
{
    free(t->keys);
    free(t->value);
    sj_table_free(t->table);
}

static int key_order(const char *person_a, const char *item_a, const char *person_b,
                     const char *item_b)
{
    int c = strcmp(person_a, person_b);
    return c ? c : strcmp(item_a, item_b);
}

static int compare_keys(const void *a, const void *b)
{
    const truth_key *ka = a, *kb = b;
    return key_order(ka->person, ka->item, kb->person, kb->item);
}

/* Row of the truth file for (person, item), or -1. */
static long truth_find(const truth_index *t, const char *person, const char *item)
{
    size_t lo = 0, hi = t->table->n_rows;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = key_order(t->keys[mid].person, t->keys[mid].item, person, item);
        if (c == 0)
            return (long)t->keys[mid].row;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return -1;
}

/* True scores are levels of the instrument's scale: whole numbers from
 * score_min to score_max. */
static sj_status read_true_scores(truth_index *t, const sj_instrument *ins, sj_error *err)
{
    const sj_table *tab = t->table;
    for (size_t r = 0; r < tab->n_rows; r++) {
        long v;
        if (sj_table_integer(tab, r, (size_t)t->col_true, &v, err) != SJ_OK)
            return SJ_ERR_INPUT;
        if (v < ins->score_min || v > ins->score_max)
            return sj_error_at(err, SJ_ERR_INPUT, tab->path, tab->row_line[r], t->col_true + 1,
                               "column '%s': true score %ld is outside the instrument's scale "
                               "%d..%d",
                               TRUE_SCORE_COLUMN, v, ins->score_min, ins->score_max);
        t->value[r] = (double)v;
    }
    return SJ_OK;
}

static sj_status check_unique(const truth_index *t, sj_error *err)
{
    const sj_table *tab = t->table;
    for (size_t k = 1; k < tab->n_rows; k++) {
        const truth_key *a = &t->keys[k - 1], *b = &t->keys[k];
        if (compare_keys(a, b) != 0)
            continue;
        size_t first = a->row < b->row ? a->row : b->row;
        size_t second = a->row < b->row ? b->row : a->row;
        return sj_error_at(err, SJ_ERR_INPUT, tab->path, tab->row_line[second], t->col_person + 1,
                           "person '%.80s' has a second true score for item '%.80s' (the first "
                           "is on line %ld)",
                           b->person, b->item, tab->row_line[first]);
    }
    return SJ_OK;
}

static sj_status truth_load(truth_index *t, const char *path, const char *person_col,
                            const char *item_col, const sj_instrument *ins, sj_error *err)
{
    memset(t, 0, sizeof *t);
    t->table = sj_table_read(path, err);
    if (!t->table) {
        sj_error_prefix(err, "--truth: ");
        return SJ_ERR_INPUT;
    }
    if ((t->col_person = sj_table_column(t->table, person_col, err)) < 0 ||
        (t->col_item = sj_table_column(t->table, item_col, err)) < 0 ||
        (t->col_true = sj_table_column(t->table, TRUE_SCORE_COLUMN, err)) < 0)
        return SJ_ERR_INPUT;
    size_t n = t->table->n_rows;
    t->keys = malloc((n ? n : 1) * sizeof *t->keys);
    t->value = malloc((n ? n : 1) * sizeof *t->value);
    if (!t->keys || !t->value)
        return sj_error_set(err, SJ_ERR_WORK, "out of memory");
    if (read_true_scores(t, ins, err) != SJ_OK)
        return SJ_ERR_INPUT;
    for (size_t r = 0; r < n; r++) {
        t->keys[r].person = sj_table_cell(t->table, r, (size_t)t->col_person);
        t->keys[r].item = sj_table_cell(t->table, r, (size_t)t->col_item);
        t->keys[r].row = r;
    }
    qsort(t->keys, n, sizeof *t->keys, compare_keys);
    return check_unique(t, err);
}

/* The true score of every response of the scores file; a response without
 * one is an input error at the scores file's person cell. */
static sj_status match_responses(const truth_index *t, const sj_responses *resp, double *truth,
                                 sj_error *err)
{
    const sj_table *s = resp->table;
    for (size_t r = 0; r < s->n_rows; r++) {
        const char *person = sj_table_cell(s, r, (size_t)resp->col_person);
        const char *item = sj_table_cell(s, r, (size_t)resp->col_item);
        long row = truth_find(t, person, item);
        if (row < 0)
            return sj_error_at(err, SJ_ERR_INPUT, s->path, s->row_line[r], resp->col_person + 1,
                               "the response of person '%.80s' to item '%.80s' has no true score "
                               "in %s (every response needs one)",
                               person, item, t->table->path);
        truth[r] = t->value[row];
    }
    return SJ_OK;
}

/* ---- agreement ----------------------------------------------------------------- */

/* What is being compared with the true score. */
typedef struct {
    const sj_responses *resp;
    const sj_instrument *ins;
    const double *truth; /* per response */
    const double *rated; /* per response: the machine or human score, NaN when missing */
    const char *rater;   /* "machine" or "human": names the mean and SD keys */
    const char *reference, *focal;
} rater_view;

/* Pairs of (rated, true) for the responses of the two compared groups
 * that pass the filter: group g (NULL: both) and item (SIZE_MAX: all). */
static size_t collect(const rater_view *v, const char *group, size_t item, double *x, double *y)
{
    const sj_table *t = v->resp->table;
    size_t n = 0;
    for (size_t r = 0; r < t->n_rows; r++) {
        const char *g = sj_table_cell(t, r, (size_t)v->resp->col_group);
        int in_pair = strcmp(g, v->reference) == 0 || strcmp(g, v->focal) == 0;
        if (!in_pair || isnan(v->rated[r]) || (group && strcmp(g, group) != 0) ||
            (item != SIZE_MAX && v->resp->item_index[r] != item))
            continue;
        x[n] = v->rated[r];
        y[n] = v->truth[r];
        n++;
    }
    return n;
}

static cJSON *agreement_object(const rater_view *v, const sj_agreement *a)
{
    /* The rater's scores take the machine's place, the true scores the
     * human's. */
    char mean[32], sd[32];
    snprintf(mean, sizeof mean, "mean_%s", v->rater);
    snprintf(sd, sizeof sd, "sd_%s", v->rater);
    const char *const names[4] = {mean, "mean_true", sd, "sd_true"};
    return sj_agreement_to_json_named(a, names);
}

static cJSON *agreement_of(const rater_view *v, const char *group, size_t item, double *x,
                           double *y)
{
    size_t n = collect(v, group, item, x, y);
    sj_agreement a;
    sj_agreement_compute(x, y, n, &a);
    return agreement_object(v, &a);
}

/* Overall, by group and by item, like the machine-human agreement. */
static cJSON *rater_block(const rater_view *v, double *x, double *y)
{
    cJSON *o = agreement_of(v, NULL, SIZE_MAX, x, y);
    cJSON *by_group = cJSON_AddObjectToObject(o, "by_group");
    cJSON_AddItemToObject(by_group, v->reference, agreement_of(v, v->reference, SIZE_MAX, x, y));
    cJSON_AddItemToObject(by_group, v->focal, agreement_of(v, v->focal, SIZE_MAX, x, y));
    cJSON *by_item = cJSON_AddArrayToObject(o, "by_item");
    for (size_t i = 0; i < v->ins->n_items; i++) {
        if (collect(v, NULL, i, x, y) == 0)
            continue;
        cJSON *e = agreement_of(v, NULL, i, x, y);
        cJSON_AddStringToObject(e, "item", v->ins->items[i].id);
        cJSON_AddItemToArray(by_item, e);
    }
    return o;
}

/* Human scores per response (NaN where the cell is empty). The audit has
 * already checked them: they are whole numbers or empty. */
static double *human_scores(const sj_table *t, long col)
{
    double *h = malloc((t->n_rows ? t->n_rows : 1) * sizeof *h);
    for (size_t r = 0; h && r < t->n_rows; r++)
        if (sj_parse_number(sj_table_cell(t, r, (size_t)col), &h[r]) != 0)
            h[r] = NAN;
    return h;
}

static cJSON *truth_document(const rj_truth_request *q, const truth_index *t, const double *truth,
                             double *x, double *y, sj_error *err)
{
    rater_view v = {q->resp, q->ins, truth, q->resp->score, "machine", q->reference, q->focal};
    cJSON *doc = rater_block(&v, x, y);
    double *human = q->col_human >= 0 ? human_scores(q->resp->table, q->col_human) : NULL;
    if (!doc || (q->col_human >= 0 && !human)) {
        free(human);
        cJSON_Delete(doc);
        sj_error_set(err, SJ_ERR_WORK, "out of memory");
        return NULL;
    }
    if (human) {
        rater_view hv = {q->resp, q->ins, truth, human, "human", q->reference, q->focal};
        cJSON_AddItemToObject(doc, "human", rater_block(&hv, x, y));
    } else {
        cJSON_AddNullToObject(doc, "human");
    }
    free(human);
    cJSON_AddStringToObject(doc, "unit",
                            "one response of the two compared groups: the modal machine score "
                            "(under \"human\": the human score) against the true score");
    cJSON_AddStringToObject(doc, "smd_sign", "scored minus true");
    cJSON_AddStringToObject(doc, "truth_file", q->truth_path);
    cJSON_AddStringToObject(doc, "true_score_column", TRUE_SCORE_COLUMN);
    cJSON_AddNumberToObject(doc, "n_truth_rows", (double)t->table->n_rows);
    cJSON_AddNumberToObject(doc, "n_truth_rows_unused",
                            (double)(t->table->n_rows - q->resp->table->n_rows));
    return doc;
}

cJSON *rj_truth_agreement(const rj_truth_request *q, sj_error *err)
{
    truth_index t;
    cJSON *doc = NULL;
    size_t n = q->resp->table->n_rows;
    double *truth = malloc((n ? n : 1) * sizeof *truth);
    double *x = malloc((n ? n : 1) * sizeof *x), *y = malloc((n ? n : 1) * sizeof *y);
    if (!truth || !x || !y) {
        sj_error_set(err, SJ_ERR_WORK, "out of memory");
        memset(&t, 0, sizeof t);
    } else if (truth_load(&t, q->truth_path, q->person_col, q->item_col, q->ins, err) == SJ_OK &&
               match_responses(&t, q->resp, truth, err) == SJ_OK) {
        doc = truth_document(q, &t, truth, x, y, err);
        if (doc && q->truth_out)
            memcpy(q->truth_out, truth, n * sizeof *truth);
    }
    truth_index_free(&t);
    free(truth);
    free(x);
    free(y);
    return doc;
}
