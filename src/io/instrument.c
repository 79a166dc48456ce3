/* The instrument definition: items, scenarios, questions and rubrics. */
#include "sjtalign/io.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    const char *file;
    sj_error *err;
} ctx;

static sj_status invalid(ctx *c, const char *path, const char *expected)
{
    return sj_error_at(c->err, SJ_ERR_INPUT, c->file, 0, 0, "%s: expected %s", path, expected);
}

static sj_status get_string(ctx *c, const cJSON *obj, const char *key, const char *path, char **out)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    char where[256];
    snprintf(where, sizeof where, "%s%s%s", path, *path ? "." : "", key);
    if (!cJSON_IsString(v) || v->valuestring[0] == '\0')
        return invalid(c, where, "a non-empty string");
    if (!sj_utf8_valid(v->valuestring, strlen(v->valuestring)))
        return invalid(c, where, "valid UTF-8 text");
    *out = sj_strdup(v->valuestring);
    return *out ? SJ_OK : sj_error_set(c->err, SJ_ERR_WORK, "out of memory");
}

static sj_status get_int(ctx *c, const cJSON *obj, const char *key, const char *path, int *out)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    char where[256];
    snprintf(where, sizeof where, "%s%s%s", path, *path ? "." : "", key);
    if (!cJSON_IsNumber(v) || v->valuedouble != floor(v->valuedouble) || fabs(v->valuedouble) > 1e6)
        return invalid(c, where, "a whole number");
    *out = (int)v->valuedouble;
    return SJ_OK;
}

/* An entry of a sorted index: a key and its position in file order. */
typedef struct {
    int score;
    const char *id;
    size_t index;
} sort_entry;

static int by_score_then_index(const void *a, const void *b)
{
    const sort_entry *x = a, *y = b;
    if (x->score != y->score)
        return x->score < y->score ? -1 : 1;
    return (x->index > y->index) - (x->index < y->index);
}

static int by_id_then_index(const void *a, const void *b)
{
    const sort_entry *x = a, *y = b;
    int c = strcmp(x->id, y->id);
    return c ? c : (x->index > y->index) - (x->index < y->index);
}

/* The first entry (in file order) whose key an earlier entry has, n when
 * all keys differ, (size_t)-1 when out of memory. Sorting keeps this
 * n log n for instruments with many items or anchors. */
static size_t first_repeat(sort_entry *e, size_t n, int (*cmp)(const void *, const void *))
{
    qsort(e, n, sizeof *e, cmp);
    size_t found = n;
    for (size_t i = 1; i < n; i++) {
        sort_entry a = e[i - 1], b = e[i];
        a.index = b.index = 0;
        if (cmp(&a, &b) == 0 && e[i].index < found)
            found = e[i].index;
    }
    return found;
}

static size_t first_repeated_score(const sj_item *item)
{
    sort_entry *e = malloc(item->n_rubric * sizeof *e);
    if (!e)
        return (size_t)-1;
    for (size_t i = 0; i < item->n_rubric; i++)
        e[i] = (sort_entry){.score = item->rubric[i].score, .index = i};
    size_t found = first_repeat(e, item->n_rubric, by_score_then_index);
    free(e);
    return found;
}

static sj_status load_rubric(ctx *c, const sj_instrument *ins, const cJSON *arr, const char *path,
                             sj_item *item)
{
    char where[256];
    snprintf(where, sizeof where, "%s.rubric", path);
    if (!cJSON_IsArray(arr) || cJSON_GetArraySize(arr) == 0)
        return invalid(c, where, "a non-empty array of {\"score\", \"anchor\"}");
    item->n_rubric = (size_t)cJSON_GetArraySize(arr);
    item->rubric = calloc(item->n_rubric, sizeof *item->rubric);
    if (!item->rubric)
        return sj_error_set(c->err, SJ_ERR_WORK, "out of memory");
    size_t i = 0;
    const cJSON *a;
    cJSON_ArrayForEach(a, arr)
    {
        snprintf(where, sizeof where, "%s.rubric[%zu]", path, i);
        if (!cJSON_IsObject(a))
            return invalid(c, where, "an object {\"score\", \"anchor\"}");
        if (get_int(c, a, "score", where, &item->rubric[i].score) != SJ_OK ||
            get_string(c, a, "anchor", where, &item->rubric[i].anchor) != SJ_OK)
            return SJ_ERR_INPUT;
        if (item->rubric[i].score < ins->score_min || item->rubric[i].score > ins->score_max) {
            char expected[96];
            snprintf(expected, sizeof expected, "a score between score_min %d and score_max %d",
                     ins->score_min, ins->score_max);
            snprintf(where + strlen(where), sizeof where - strlen(where), ".score");
            return invalid(c, where, expected);
        }
        i++;
    }
    size_t dup = first_repeated_score(item);
    if (dup == (size_t)-1)
        return sj_error_set(c->err, SJ_ERR_WORK, "out of memory");
    if (dup < item->n_rubric) {
        snprintf(where, sizeof where, "%s.rubric[%zu].score", path, dup);
        return invalid(c, where, "a score not already anchored in this rubric");
    }
    return SJ_OK;
}

static sj_status load_item(ctx *c, const sj_instrument *ins, const cJSON *obj, size_t index,
                           sj_item *item)
{
    char path[64];
    snprintf(path, sizeof path, "items[%zu]", index);
    if (!cJSON_IsObject(obj))
        return invalid(c, path, "an object with id, scenario, question and rubric");
    if (get_string(c, obj, "id", path, &item->id) != SJ_OK ||
        get_string(c, obj, "scenario", path, &item->scenario) != SJ_OK ||
        get_string(c, obj, "question", path, &item->question) != SJ_OK)
        return SJ_ERR_INPUT;
    return load_rubric(c, ins, cJSON_GetObjectItemCaseSensitive(obj, "rubric"), path, item);
}

/* Sorts the item ids into ins->by_id (for lookups by id) and refuses an id
 * used twice. */
static sj_status index_item_ids(ctx *c, sj_instrument *ins)
{
    sort_entry *e = malloc(ins->n_items * sizeof *e);
    ins->by_id = malloc(ins->n_items * sizeof *ins->by_id);
    if (!e || !ins->by_id) {
        free(e);
        return sj_error_set(c->err, SJ_ERR_WORK, "out of memory");
    }
    for (size_t i = 0; i < ins->n_items; i++)
        e[i] = (sort_entry){.id = ins->items[i].id, .index = i};
    size_t dup = first_repeat(e, ins->n_items, by_id_then_index);
    for (size_t i = 0; i < ins->n_items; i++)
        ins->by_id[i] = e[i].index;
    free(e);
    if (dup < ins->n_items) {
        char path[64];
        snprintf(path, sizeof path, "items[%zu].id", dup);
        return invalid(c, path, "an id not used by an earlier item");
    }
    return SJ_OK;
}

sj_instrument *sj_instrument_from_json(const char *name, const cJSON *doc, sj_error *err)
{
    ctx c = {.file = name, .err = err};
    sj_instrument *ins = calloc(1, sizeof *ins);
    if (!ins) {
        sj_error_set(err, SJ_ERR_WORK, "out of memory");
        return NULL;
    }
    const cJSON *items = cJSON_GetObjectItemCaseSensitive(doc, "items");
    if (!cJSON_IsObject(doc)) {
        invalid(&c, "(top level)", "an object with id, title, score_min, score_max and items");
        goto fail;
    }
    if (get_string(&c, doc, "id", "", &ins->id) != SJ_OK ||
        get_string(&c, doc, "title", "", &ins->title) != SJ_OK ||
        get_int(&c, doc, "score_min", "", &ins->score_min) != SJ_OK ||
        get_int(&c, doc, "score_max", "", &ins->score_max) != SJ_OK)
        goto fail;
    if (ins->score_max <= ins->score_min) {
        invalid(&c, "score_max", "a number greater than score_min");
        goto fail;
    }
    if (!cJSON_IsArray(items) || cJSON_GetArraySize(items) == 0) {
        invalid(&c, "items", "a non-empty array of items");
        goto fail;
    }
    ins->n_items = (size_t)cJSON_GetArraySize(items);
    ins->items = calloc(ins->n_items, sizeof *ins->items);
    if (!ins->items) {
        sj_error_set(err, SJ_ERR_WORK, "out of memory");
        goto fail;
    }
    size_t i = 0;
    const cJSON *it;
    cJSON_ArrayForEach(it, items)
    {
        if (load_item(&c, ins, it, i, &ins->items[i]) != SJ_OK)
            goto fail;
        i++;
    }
    if (index_item_ids(&c, ins) != SJ_OK)
        goto fail;
    return ins;
fail:
    sj_instrument_free(ins);
    return NULL;
}

sj_instrument *sj_instrument_load(const char *path, sj_error *err)
{
    cJSON *doc = sj_json_read(path, err);
    if (!doc)
        return NULL;
    sj_instrument *ins = sj_instrument_from_json(path, doc, err);
    cJSON_Delete(doc);
    return ins;
}

cJSON *sj_instrument_to_json(const sj_instrument *ins)
{
    cJSON *doc = cJSON_CreateObject();
    cJSON_AddStringToObject(doc, "id", ins->id);
    cJSON_AddStringToObject(doc, "title", ins->title);
    cJSON_AddNumberToObject(doc, "score_min", ins->score_min);
    cJSON_AddNumberToObject(doc, "score_max", ins->score_max);
    cJSON *items = cJSON_AddArrayToObject(doc, "items");
    for (size_t i = 0; i < ins->n_items; i++) {
        const sj_item *item = &ins->items[i];
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "id", item->id);
        cJSON_AddStringToObject(o, "scenario", item->scenario);
        cJSON_AddStringToObject(o, "question", item->question);
        cJSON *rubric = cJSON_AddArrayToObject(o, "rubric");
        for (size_t k = 0; k < item->n_rubric; k++) {
            cJSON *a = cJSON_CreateObject();
            cJSON_AddNumberToObject(a, "score", item->rubric[k].score);
            cJSON_AddStringToObject(a, "anchor", item->rubric[k].anchor);
            cJSON_AddItemToArray(rubric, a);
        }
        cJSON_AddItemToArray(items, o);
    }
    return doc;
}

void sj_instrument_free(sj_instrument *ins)
{
    if (!ins)
        return;
    for (size_t i = 0; ins->items && i < ins->n_items; i++) {
        sj_item *item = &ins->items[i];
        free(item->id);
        free(item->scenario);
        free(item->question);
        for (size_t k = 0; item->rubric && k < item->n_rubric; k++)
            free(item->rubric[k].anchor);
        free(item->rubric);
    }
    free(ins->items);
    free(ins->by_id);
    free(ins->id);
    free(ins->title);
    free(ins);
}

long sj_instrument_find_item(const sj_instrument *ins, const char *id)
{
    if (ins->by_id) {
        size_t lo = 0, hi = ins->n_items;
        while (lo < hi) {
            size_t mid = lo + (hi - lo) / 2;
            int c = strcmp(ins->items[ins->by_id[mid]].id, id);
            if (c == 0)
                return (long)ins->by_id[mid];
            if (c < 0)
                lo = mid + 1;
            else
                hi = mid;
        }
        return -1;
    }
    for (size_t i = 0; i < ins->n_items; i++)
        if (strcmp(ins->items[i].id, id) == 0)
            return (long)i;
    return -1;
}
