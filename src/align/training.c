/* What a scorer was trained on: the provenance block SFT writes and PPO and
 * DPO carry over, so that `score` can tell responses the model has seen the
 * like of from those it never has. */
#include "align_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

size_t sja_count_words(const char *text)
{
    size_t n = 0;
    int in_word = 0;
    for (const char *p = text; *p; p++) {
        int blank = *p == ' ' || *p == '\t' || *p == '\n' || *p == '\r' || *p == '\f' || *p == '\v';
        n += !blank && !in_word;
        in_word = !blank;
    }
    return n;
}

void sja_training_free(sja_training *t)
{
    if (!t)
        return;
    for (size_t i = 0; i < t->n_items; i++)
        free(t->items[i]);
    free(t->items);
    memset(t, 0, sizeof *t);
}

static int compare_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* A count in the block: a whole number >= 0. */
static int read_count(const cJSON *block, const char *key, long *out)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(block, key);
    if (!cJSON_IsNumber(v) || v->valuedouble < 0 || v->valuedouble > 1e15 ||
        v->valuedouble != (double)(long)v->valuedouble)
        return -1;
    *out = (long)v->valuedouble;
    return 0;
}

/* Parses a training block; -1 when it is not as sft writes it (items a
 * list of strings, the three counts whole numbers >= 0). Items come out
 * sorted without repeats. */
static int parse_block(const cJSON *block, sja_training *t)
{
    memset(t, 0, sizeof *t);
    const cJSON *items = cJSON_GetObjectItemCaseSensitive(block, "items");
    if (!cJSON_IsObject(block) || !cJSON_IsArray(items) ||
        read_count(block, "n_rows", &t->n_rows) ||
        read_count(block, "max_response_chars", &t->max_response_chars) ||
        read_count(block, "max_response_words", &t->max_response_words))
        return -1;
    size_t n = (size_t)cJSON_GetArraySize(items);
    t->items = sj_calloc(n ? n : 1, sizeof *t->items);
    if (!t->items)
        return -1;
    const cJSON *e;
    cJSON_ArrayForEach(e, items)
    {
        if (!cJSON_IsString(e) || !(t->items[t->n_items] = sj_strdup(e->valuestring))) {
            sja_training_free(t);
            return -1;
        }
        t->n_items++;
    }
    qsort(t->items, t->n_items, sizeof *t->items, compare_str);
    size_t kept = 0;
    for (size_t i = 0; i < t->n_items; i++) {
        if (kept && strcmp(t->items[i], t->items[kept - 1]) == 0)
            free(t->items[i]);
        else
            t->items[kept++] = t->items[i];
    }
    t->n_items = kept;
    return 0;
}

static const cJSON *training_json(const sja_model *m)
{
    const cJSON *prov = cJSON_GetObjectItemCaseSensitive(m->ck->config, "provenance");
    return cJSON_GetObjectItemCaseSensitive(prov, "training");
}

sj_status sja_training_read(const sja_model *m, sja_training *t, int *found, sj_error *err)
{
    memset(t, 0, sizeof *t);
    const cJSON *block = training_json(m);
    *found = block != NULL;
    if (!block || parse_block(block, t) == 0)
        return SJ_OK;
    return sj_error_set(err, SJ_ERR_INPUT,
                        "%s/config.json: provenance.training is not as sjtalign writes it (items: "
                        "a list of item ids; n_rows, max_response_chars, max_response_words: "
                        "whole numbers >= 0)",
                        m->path);
}

int sja_training_has_item(const sja_training *t, const char *item_id)
{
    return t->n_items &&
           bsearch(&item_id, t->items, t->n_items, sizeof *t->items, compare_str) != NULL;
}

/* Adds the ids of `rows` to `ids` (room for them given) and widens the
 * counts. */
static void add_rows(const sj_instrument *ins, const sj_responses *data, const size_t *rows,
                     size_t n, const char **ids, size_t *n_ids, sja_training *t)
{
    for (size_t i = 0; i < n; i++) {
        size_t r = rows[i];
        const char *text = sj_table_cell(data->table, r, (size_t)data->col_text);
        long chars = (long)strlen(text), words = (long)sja_count_words(text);
        ids[(*n_ids)++] = ins->items[data->item_index[r]].id;
        t->max_response_chars = chars > t->max_response_chars ? chars : t->max_response_chars;
        t->max_response_words = words > t->max_response_words ? words : t->max_response_words;
    }
    t->n_rows += (long)n;
}

cJSON *sja_training_block(const sj_instrument *ins, const sj_responses *data, const size_t *rows,
                          size_t n, const sja_model *init)
{
    /* A scorer fine-tuned again has been trained on both data sets. */
    sja_training before = {0};
    if (!init || parse_block(training_json(init), &before) != 0)
        memset(&before, 0, sizeof before);
    const char **ids = malloc((n + before.n_items + 1) * sizeof *ids);
    cJSON *block = ids ? cJSON_CreateObject() : NULL;
    cJSON *items = block ? cJSON_AddArrayToObject(block, "items") : NULL;
    if (items) {
        size_t n_ids = 0;
        for (size_t i = 0; i < before.n_items; i++)
            ids[n_ids++] = before.items[i];
        add_rows(ins, data, rows, n, ids, &n_ids, &before);
        qsort(ids, n_ids, sizeof *ids, compare_str);
        for (size_t i = 0; i < n_ids; i++)
            if (i == 0 || strcmp(ids[i], ids[i - 1]) != 0)
                cJSON_AddItemToArray(items, cJSON_CreateString(ids[i]));
        cJSON_AddNumberToObject(block, "n_rows", (double)before.n_rows);
        cJSON_AddNumberToObject(block, "max_response_chars", (double)before.max_response_chars);
        cJSON_AddNumberToObject(block, "max_response_words", (double)before.max_response_words);
    }
    free(ids);
    sja_training_free(&before);
    return block;
}

void sja_training_inherit(cJSON *prov, const char *stage, const sja_model *init)
{
    const cJSON *block = init ? training_json(init) : NULL;
    if (prov && block && (strcmp(stage, "ppo") == 0 || strcmp(stage, "dpo") == 0))
        cJSON_AddItemToObject(prov, "training", cJSON_Duplicate(block, 1));
}

/* ---- several raters ---------------------------------------------------------- */

void sja_rater_examples_free(sja_rater_examples *e)
{
    free(e->row);
    free(e->score);
    free(e->weight);
    memset(e, 0, sizeof *e);
}

/* The scores of a row (at most max of them) in rater order; the count. */
static size_t row_scores(const sj_responses *data, size_t row, int *out)
{
    const sj_rater_scores *r = data->raters;
    if (!r) {
        if (isnan(data->score[row]))
            return 0;
        out[0] = (int)data->score[row];
        return 1;
    }
    size_t c = 0;
    for (size_t k = 0; k < r->n_raters; k++) {
        double s = r->score[row * r->n_raters + k];
        if (!isnan(s))
            out[c++] = (int)s;
    }
    return c;
}

sj_status sja_rater_examples_build(const sj_responses *data, const unsigned char *use_rows,
                                   sja_rater_examples *e, sj_error *err)
{
    memset(e, 0, sizeof *e);
    size_t n_rows = data->table->n_rows, per_row = data->raters ? data->raters->n_raters : 1;
    size_t cap = n_rows * per_row;
    e->row = malloc((cap ? cap : 1) * sizeof *e->row);
    e->score = malloc((cap ? cap : 1) * sizeof *e->score);
    e->weight = malloc((cap ? cap : 1) * sizeof *e->weight);
    int *scores = malloc(per_row * sizeof *scores);
    if (!e->row || !e->score || !e->weight || !scores) {
        free(scores);
        sja_rater_examples_free(e);
        return sj_error_set(err, SJ_ERR_WORK, "out of memory");
    }
    for (size_t i = 0; i < n_rows; i++) {
        size_t c = use_rows && !use_rows[i] ? 0 : row_scores(data, i, scores);
        for (size_t k = 0; k < c; k++) {
            e->row[e->n] = i;
            e->score[e->n] = scores[k];
            e->weight[e->n] = 1.0 / (double)c;
            e->n++;
        }
        e->n_rows += c > 0;
        e->max_per_row = c > e->max_per_row ? c : e->max_per_row;
    }
    free(scores);
    return SJ_OK;
}

cJSON *sja_rater_rule_json(const sj_responses *data)
{
    cJSON *o = cJSON_CreateObject();
    cJSON *cols = o ? cJSON_AddArrayToObject(o, "columns") : NULL;
    if (!cols) {
        cJSON_Delete(o);
        return NULL;
    }
    const sj_rater_scores *r = data->raters;
    if (r)
        for (size_t k = 0; k < r->n_raters; k++)
            cJSON_AddItemToArray(cols, cJSON_CreateString(r->names[k]));
    else if (data->col_score >= 0)
        cJSON_AddItemToArray(cols, cJSON_CreateString(data->table->names[data->col_score]));
    int several = r && r->n_raters > 1;
    cJSON_AddStringToObject(o, "rule", several ? "mean of the raters" : "one rater");
    cJSON_AddStringToObject(
        o, "how",
        several ? "one example per rater score of a response, each weighted 1/(the response's "
                  "number of scores): every response weighs the same and the target is the "
                  "raters' score distribution, whose expected score is their mean; held-out "
                  "agreement is against the raters' mean (exact: the mean rounded half away "
                  "from zero)"
                : "one example per response with a score, weight 1");
    return o;
}
