/* On which persons an audit evaluated the scores: with `audit --split`, the
 * held-out persons of a split written by `sjtalign split` (checked: every
 * person in the scores must be one of them), else every response in the
 * scores file. Agreement and DIF measured on persons a model trained on are
 * partly memory, so the report says which it is. */
#include "report_internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* What the audit needs of split.json, checked. */
typedef struct {
    const char *file;
    cJSON *doc;
    double fraction, total, train, heldout;
    const cJSON *seed;
    const char **train_ids, **heldout_ids; /* sorted by strcmp */
} split_doc;

static void split_doc_free(split_doc *s)
{
    free(s->train_ids);
    free(s->heldout_ids);
    cJSON_Delete(s->doc);
}

static int compare_ids(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static long find_id(const char **ids, double n, const char *id)
{
    const char **hit = bsearch(&id, ids, (size_t)n, sizeof *ids, compare_ids);
    return hit ? (long)(hit - ids) : -1;
}

/* A whole number >= 0 at obj.key; -1 (and the error) when it is not. */
static double whole_member(const char *file, const cJSON *obj, const char *key, sj_error *err)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    if (cJSON_IsNumber(v) && v->valuedouble >= 0 && v->valuedouble <= 9e15 &&
        v->valuedouble == floor(v->valuedouble))
        return v->valuedouble;
    sj_error_at(err, SJ_ERR_INPUT, file, 0, 0, "persons.%s: expected a whole number of 0 or more",
                key);
    return -1;
}

/* The person ids of one side (train_persons or heldout_persons), sorted;
 * as many as the side's count, each a non-empty string given once. */
static const char **person_ids(const split_doc *s, const char *key, double count, sj_error *err)
{
    const cJSON *list = cJSON_GetObjectItemCaseSensitive(s->doc, key);
    if (!cJSON_IsArray(list) || (double)cJSON_GetArraySize(list) != count) {
        sj_error_at(err, SJ_ERR_INPUT, s->file, 0, 0,
                    "%s: expected an array of %.0f person ids (the count in persons)", key, count);
        return NULL;
    }
    const char **ids = malloc(((size_t)count + 1) * sizeof *ids);
    if (!ids) {
        sj_error_set(err, SJ_ERR_WORK, "out of memory");
        return NULL;
    }
    size_t n = 0;
    const cJSON *v;
    cJSON_ArrayForEach(v, list)
    {
        if (!cJSON_IsString(v) || !v->valuestring[0]) {
            sj_error_at(err, SJ_ERR_INPUT, s->file, 0, 0, "%s[%zu]: expected a person id", key, n);
            free(ids);
            return NULL;
        }
        ids[n++] = v->valuestring;
    }
    qsort(ids, n, sizeof *ids, compare_ids);
    for (size_t i = 1; i < n; i++)
        if (strcmp(ids[i - 1], ids[i]) == 0) {
            sj_error_at(err, SJ_ERR_INPUT, s->file, 0, 0, "%s: person '%.60s' is listed twice", key,
                        ids[i]);
            free(ids);
            return NULL;
        }
    return ids;
}

/* The kind, the fraction, the seed and the counts. */
static sj_status check_header(split_doc *s, sj_error *err)
{
    const char *kind = rj_str(s->doc, "kind");
    if (!kind || strcmp(kind, "sjtalign-split") != 0)
        return sj_error_at(err, SJ_ERR_INPUT, s->file, 0, 0,
                           "not a split file of `sjtalign split` (kind \"sjtalign-split\")");
    if (rj_num(s->doc, "schema_version") != 1)
        return sj_error_at(err, SJ_ERR_INPUT, s->file, 0, 0,
                           "split schema version %g; this sjtalign reads version 1",
                           rj_num(s->doc, "schema_version"));
    s->fraction = rj_num(s->doc, "fraction");
    if (!(s->fraction > 0 && s->fraction < 1))
        return sj_error_at(err, SJ_ERR_INPUT, s->file, 0, 0,
                           "fraction: expected a number strictly between 0 and 1");
    s->seed = rj_get(s->doc, "seed");
    int seed_ok = (cJSON_IsNumber(s->seed) && s->seed->valuedouble >= 0 &&
                   s->seed->valuedouble == floor(s->seed->valuedouble)) ||
                  (cJSON_IsString(s->seed) && s->seed->valuestring[0] &&
                   strspn(s->seed->valuestring, "0123456789") == strlen(s->seed->valuestring));
    if (!seed_ok)
        return sj_error_at(err, SJ_ERR_INPUT, s->file, 0, 0,
                           "seed: expected a whole number of 0 or more");
    const cJSON *persons = rj_get(s->doc, "persons");
    if ((s->total = whole_member(s->file, persons, "total", err)) < 0 ||
        (s->train = whole_member(s->file, persons, "train", err)) < 0 ||
        (s->heldout = whole_member(s->file, persons, "heldout", err)) < 0)
        return SJ_ERR_INPUT;
    if (s->train + s->heldout != s->total || s->heldout < 1)
        return sj_error_at(err, SJ_ERR_INPUT, s->file, 0, 0,
                           "persons: train (%.0f) and heldout (%.0f) must add up to total (%.0f), "
                           "with at least one held-out person",
                           s->train, s->heldout, s->total);
    return SJ_OK;
}

static sj_status read_split(const char *path, split_doc *s, sj_error *err)
{
    s->file = path;
    if (!(s->doc = sj_json_read(path, err)))
        return SJ_ERR_INPUT;
    if (!cJSON_IsObject(s->doc))
        return sj_error_at(err, SJ_ERR_INPUT, path, 1, 1, "expected a JSON object");
    sj_status st = check_header(s, err);
    if (st == SJ_OK && !(s->train_ids = person_ids(s, "train_persons", s->train, err)))
        st = err->status;
    if (st == SJ_OK && !(s->heldout_ids = person_ids(s, "heldout_persons", s->heldout, err)))
        st = err->status;
    for (double i = 0; st == SJ_OK && i < s->heldout; i++)
        if (find_id(s->train_ids, s->train, s->heldout_ids[(size_t)i]) >= 0)
            st = sj_error_at(err, SJ_ERR_INPUT, path, 0, 0,
                             "person '%.60s' is both a training and a held-out person",
                             s->heldout_ids[(size_t)i]);
    return st;
}

/* Every person in the scores must be a held-out person of the split;
 * counts the held-out persons that are there. */
static sj_status check_persons(const split_doc *s, const sj_table *t, long col_person,
                               double *n_audited, sj_error *err)
{
    unsigned char *seen = calloc((size_t)s->heldout, 1);
    if (!seen)
        return sj_error_set(err, SJ_ERR_WORK, "out of memory");
    sj_status st = SJ_OK;
    *n_audited = 0;
    for (size_t r = 0; r < t->n_rows && st == SJ_OK; r++) {
        const char *id = sj_table_cell(t, r, (size_t)col_person);
        long h = find_id(s->heldout_ids, s->heldout, id);
        if (h >= 0) {
            *n_audited += !seen[h];
            seen[h] = 1;
            continue;
        }
        int trained = find_id(s->train_ids, s->train, id) >= 0;
        st = sj_error_at(err, SJ_ERR_INPUT, t->path, t->row_line[r], col_person + 1,
                         "person '%.60s' is %s of the split %s; an audit with --split evaluates "
                         "held-out persons only (score the split's held-out file)",
                         id, trained ? "a training person" : "not a person", s->file);
    }
    free(seen);
    return st;
}

static cJSON *evaluation_of_split(const split_doc *s, double n_audited, sj_error *err)
{
    char sha[65];
    if (sj_sha256_file(s->file, sha, err) != SJ_OK)
        return NULL;
    cJSON *e = cJSON_CreateObject();
    int ok = e && cJSON_AddStringToObject(e, "sample", "held-out persons") &&
             sj_json_add_number(e, "fraction", s->fraction) &&
             cJSON_AddNumberToObject(e, "persons_heldout", s->heldout) &&
             cJSON_AddNumberToObject(e, "persons_total", s->total);
    /* The seed as split.json wrote it: a number, or digits beyond 2^53. */
    cJSON *seed = ok ? cJSON_Duplicate(s->seed, 0) : NULL;
    int attached = seed && cJSON_AddItemToObject(e, "seed", seed);
    if (seed && !attached)
        cJSON_Delete(seed);
    ok = ok && attached && cJSON_AddStringToObject(e, "split_sha256", sha) &&
         cJSON_AddStringToObject(e, "split_file", s->file) &&
         cJSON_AddNumberToObject(e, "persons_audited", n_audited);
    if (!ok) {
        cJSON_Delete(e);
        sj_error_set(err, SJ_ERR_WORK, "out of memory");
        return NULL;
    }
    return e;
}

sj_status rj_evaluation_check(const char *split_path, const sj_table *t, long col_person,
                              sj_error *err)
{
    if (!split_path)
        return SJ_OK;
    split_doc s = {0};
    double n_audited = 0;
    sj_status st = read_split(split_path, &s, err);
    if (st == SJ_OK)
        st = check_persons(&s, t, col_person, &n_audited, err);
    split_doc_free(&s);
    return st;
}

cJSON *rj_evaluation_json(const char *split_path, const sj_table *t, long col_person, sj_error *err)
{
    if (!split_path) {
        cJSON *e = cJSON_CreateObject();
        if (!e || !cJSON_AddStringToObject(e, "sample", "all responses in the scores file")) {
            cJSON_Delete(e);
            sj_error_set(err, SJ_ERR_WORK, "out of memory");
            return NULL;
        }
        return e;
    }
    split_doc s = {0};
    double n_audited = 0;
    cJSON *e = NULL;
    if (read_split(split_path, &s, err) == SJ_OK &&
        check_persons(&s, t, col_person, &n_audited, err) == SJ_OK)
        e = evaluation_of_split(&s, n_audited, err);
    split_doc_free(&s);
    return e;
}

/* A count with thousands separators: 2,000. */
static const char *count_text(char *buf, size_t n, double v)
{
    char digits[32];
    snprintf(digits, sizeof digits, "%.0f", v);
    size_t len = strlen(digits), o = 0;
    for (size_t i = 0; i < len && o + 2 < n; i++) {
        if (i > 0 && (len - i) % 3 == 0)
            buf[o++] = ',';
        buf[o++] = digits[i];
    }
    buf[o] = '\0';
    return buf;
}

static int on_heldout_persons(const cJSON *e)
{
    const char *sample = rj_str(e, "sample");
    return sample && strcmp(sample, "held-out persons") == 0;
}

/* "Evaluated on 600 held-out persons (30% of 2,000) whom no model trained
 * on" (NULL when out of memory). */
static char *evaluation_sentence(const cJSON *e)
{
    char audited[40], heldout[40], total[40];
    double n_audited = rj_num(e, "persons_audited"), n_heldout = rj_num(e, "persons_heldout");
    count_text(heldout, sizeof heldout, n_heldout);
    count_text(total, sizeof total, rj_num(e, "persons_total"));
    if (isnan(n_audited) || n_audited == n_heldout)
        return sj_asprintf("Evaluated on %s held-out persons (%.3g%% of %s) whom no model "
                           "trained on",
                           heldout, 100 * rj_num(e, "fraction"), total);
    return sj_asprintf("Evaluated on %s of the %s held-out persons (%.3g%% of %s) whom no model "
                       "trained on",
                       count_text(audited, sizeof audited, n_audited), heldout,
                       100 * rj_num(e, "fraction"), total);
}

int rj_evaluation_summary(cJSON *lines, const cJSON *evaluation)
{
    if (!on_heldout_persons(evaluation))
        return 0;
    char *sentence = evaluation_sentence(evaluation);
    char *line = sentence ? sj_asprintf("%s.", sentence) : NULL;
    free(sentence);
    cJSON *item = line ? cJSON_CreateString(line) : NULL;
    free(line);
    if (!item || !cJSON_InsertItemInArray(lines, 0, item)) {
        cJSON_Delete(item);
        return -1;
    }
    return 0;
}

void rj_evaluation_html(sj_buf *b, const cJSON *evaluation)
{
    if (!cJSON_IsObject(evaluation))
        return; /* an audit written before the evaluation was recorded */
    char *sentence = on_heldout_persons(evaluation) ? evaluation_sentence(evaluation) : NULL;
    if (sentence) {
        const char *sha = rj_str(evaluation, "split_sha256");
        rj_out(b, "<p class=\"summary\" id=\"evaluation\"><strong>");
        sj_html_escape(b, sentence); /* our own words and numbers, no data */
        rj_out(b, ".</strong> Every model was trained on the other persons of the split");
        if (sha && strlen(sha) >= 12)
            rj_out(b, " (split.json SHA-256 <code>%.12s</code>\xe2\x80\xa6)", sha);
        rj_out(b, ".</p>\n");
    } else if (on_heldout_persons(evaluation)) {
        sj_buf_fail(b); /* the sentence could not be built: out of memory */
    } else {
        rj_out(b, "<p class=\"note\" id=\"evaluation\">Evaluated on all responses in the scores "
                  "file (no held-out split given): where a model was trained on some of these "
                  "persons, its agreement here is partly memory.</p>\n");
    }
    free(sentence);
}
