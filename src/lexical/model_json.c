/* The lexical model as a JSON document (format SJ_LEX_FORMAT): everything
 * scoring needs, with normalised texts instead of vectors so that the file
 * can be read. Reading checks every key and value and rebuilds the vectors
 * and indexes exactly as the fit built them, so a model read back scores
 * bit for bit as the one written. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lexical_internal.h"

/* ---- writing ---- */

/* cJSON prints 15 significant digits when they read back within a
 * relative epsilon, which loses the last bits; a real number is written as
 * raw text with the digits that read back exactly (sj_format_number). */
static cJSON *exact_number(double v)
{
    char buf[64];
    sj_format_number(v, buf, sizeof buf);
    return cJSON_CreateRaw(buf);
}

static int add_exact(cJSON *obj, const char *key, double v)
{
    cJSON *n = exact_number(v);
    return n && cJSON_AddItemToObject(obj, key, n);
}

static int add_vec_text(const sj_lex_model *m, cJSON *obj, const char *key, const lex_vec *v)
{
    char *text = lex_vec_text(m, v);
    int ok = text && cJSON_AddStringToObject(obj, key, text);
    free(text);
    return ok;
}

static int add_item(const sj_lex_model *m, cJSON *items, const lex_item *it)
{
    cJSON *o = cJSON_CreateObject();
    if (!o || !cJSON_AddItemToArray(items, o) || !cJSON_AddStringToObject(o, "id", it->id))
        return 0;
    lex_vec q = {0};
    q.n = it->n_question;
    q.id = it->question;
    int *tf = malloc((q.n ? q.n : 1) * sizeof *tf);
    if (!tf)
        return 0;
    for (size_t k = 0; k < q.n; k++)
        tf[k] = 1;
    q.tf = tf;
    int ok = add_vec_text(m, o, "question", &q);
    free(tf);
    cJSON *anchors = cJSON_AddArrayToObject(o, "anchors");
    for (size_t a = 0; ok && anchors && a < it->n_anchors; a++) {
        cJSON *ao = cJSON_CreateObject();
        ok = ao && cJSON_AddItemToArray(anchors, ao) &&
             cJSON_AddNumberToObject(ao, "score", it->anchor_score[a]) &&
             add_vec_text(m, ao, "words", &it->anchors[a]);
    }
    cJSON *bank = cJSON_AddArrayToObject(o, "bank");
    for (size_t e = 0; ok && bank && e < it->n_entries; e++) {
        cJSON *eo = cJSON_CreateObject();
        ok = eo && cJSON_AddItemToArray(bank, eo) &&
             add_vec_text(m, eo, "words", &it->entries[e].v) &&
             cJSON_AddNumberToObject(eo, "n", it->entries[e].n) &&
             cJSON_AddNumberToObject(eo, "score_sum", it->entries[e].sum);
    }
    return ok && anchors && bank;
}

static int add_vocabulary(const sj_lex_model *m, cJSON *doc)
{
    cJSON *v = cJSON_AddObjectToObject(doc, "vocabulary");
    if (!v || !cJSON_AddNumberToObject(v, "n_docs", (double)m->n_docs))
        return 0;
    cJSON *terms = cJSON_AddArrayToObject(v, "terms");
    cJSON *df = cJSON_AddArrayToObject(v, "df");
    int ok = terms && df;
    for (size_t t = 0; ok && t < m->n_terms; t++)
        ok = cJSON_AddItemToArray(terms, cJSON_CreateString(m->terms[t])) &&
             cJSON_AddItemToArray(df, cJSON_CreateNumber((double)m->df[t]));
    return ok;
}

static int add_fit(const sj_lex_model *m, cJSON *doc)
{
    cJSON *f = cJSON_AddArrayToObject(doc, "features");
    int ok = f != NULL;
    for (int j = 0; ok && j < SJ_LEX_N_FEATURES; j++) {
        cJSON *o = cJSON_CreateObject();
        ok = o && cJSON_AddItemToArray(f, o) &&
             cJSON_AddStringToObject(o, "name", LEX_FEATURE_NAMES[j]) &&
             add_exact(o, "mean", m->mean[j]) && add_exact(o, "sd", m->sd[j]) &&
             add_exact(o, "coef", m->beta[j]);
    }
    cJSON *levels = cJSON_AddArrayToObject(doc, "levels");
    cJSON *th = cJSON_AddArrayToObject(doc, "thresholds");
    ok = ok && levels && th;
    for (size_t s = 0; ok && s < m->n_seen; s++) {
        ok = cJSON_AddItemToArray(levels, cJSON_CreateNumber(m->seen_levels[s]));
        if (ok && s + 1 < m->n_seen)
            ok = cJSON_AddItemToArray(th, exact_number(m->thresholds[s]));
    }
    return ok && cJSON_AddBoolToObject(doc, "converged", m->converged);
}

cJSON *sj_lex_to_json(const sj_lex_model *m)
{
    cJSON *doc = cJSON_CreateObject();
    int ok = doc && cJSON_AddStringToObject(doc, "format", SJ_LEX_FORMAT) &&
             cJSON_AddNumberToObject(doc, "format_version", SJ_LEX_FORMAT_VERSION) &&
             cJSON_AddNumberToObject(doc, "score_min", m->score_min) &&
             cJSON_AddNumberToObject(doc, "score_max", m->score_max);
    cJSON *opts = ok ? cJSON_AddObjectToObject(doc, "opts") : NULL;
    ok = opts && add_exact(opts, "ridge", m->opts.ridge) &&
         cJSON_AddNumberToObject(opts, "neighbours", m->opts.neighbours) &&
         add_exact(opts, "floor", m->opts.floor) &&
         cJSON_AddNumberToObject(doc, "n_train", (double)m->n_train) &&
         add_exact(doc, "grand_mean", m->grand_mean) && add_vocabulary(m, doc);
    cJSON *items = ok ? cJSON_AddArrayToObject(doc, "items") : NULL;
    ok = ok && items;
    for (size_t i = 0; ok && i < m->n_items; i++)
        ok = add_item(m, items, &m->items[i]);
    if (ok && add_fit(m, doc))
        return doc;
    cJSON_Delete(doc);
    return NULL;
}

/* ---- reading ---- */

typedef struct {
    const char *path;
    sj_error *err;
} reader;

static int bad(const reader *r, const char *key, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int bad(const reader *r, const char *key, const char *fmt, ...)
{
    char what[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    sj_error_set(r->err, SJ_ERR_INPUT, "%s: key '%s': %s", r->path, key, what);
    return -1;
}

/* A number, parsed or as written by exact_number (a document that was
 * never printed holds raw numbers). */
static int number_value(const cJSON *v, double *out)
{
    if (cJSON_IsNumber(v)) {
        *out = v->valuedouble;
        return 1;
    }
    return cJSON_IsRaw(v) && sj_parse_number(v->valuestring, out) == 0;
}

static const cJSON *member(const cJSON *obj, const char *prefix, const char *name, char *key,
                           size_t key_len)
{
    snprintf(key, key_len, "%s%s%s", prefix, prefix[0] ? "." : "", name);
    return cJSON_GetObjectItemCaseSensitive(obj, name);
}

static int get_number(const reader *r, const cJSON *obj, const char *prefix, const char *name,
                      double lo, double hi, double *out)
{
    char key[256];
    const cJSON *v = member(obj, prefix, name, key, sizeof key);
    double x;
    if (!number_value(v, &x) || !isfinite(x) || x < lo || x > hi)
        return bad(r, key, "expected a number from %g to %g", lo, hi);
    *out = x;
    return 0;
}

static int get_whole(const reader *r, const cJSON *obj, const char *prefix, const char *name,
                     double lo, double hi, double *out)
{
    char key[256];
    const cJSON *v = member(obj, prefix, name, key, sizeof key);
    double x;
    if (!number_value(v, &x) || x != floor(x) || x < lo || x > hi)
        return bad(r, key, "expected a whole number from %.0f to %.0f", lo, hi);
    *out = x;
    return 0;
}

static const cJSON *get_typed(const reader *r, const cJSON *obj, const char *prefix,
                              const char *name, int want_array, char *key, size_t key_len)
{
    const cJSON *v = member(obj, prefix, name, key, key_len);
    int ok = want_array ? cJSON_IsArray(v) : cJSON_IsObject(v);
    if (!ok) {
        bad(r, key, "expected %s", want_array ? "an array" : "an object");
        return NULL;
    }
    return v;
}

static const char *get_string(const reader *r, const cJSON *obj, const char *prefix,
                              const char *name)
{
    char key[256];
    const cJSON *v = member(obj, prefix, name, key, sizeof key);
    if (!cJSON_IsString(v)) {
        bad(r, key, "expected a string");
        return NULL;
    }
    return v->valuestring;
}

static int read_header(const reader *r, const cJSON *doc, sj_lex_model *m)
{
    const char *format = get_string(r, doc, "", "format");
    if (!format)
        return -1;
    if (strcmp(format, SJ_LEX_FORMAT) != 0)
        return bad(r, "format", "expected \"%s\", got \"%.60s\"", SJ_LEX_FORMAT, format);
    double v, lo, hi, ntr, k;
    char key[256];
    if (get_whole(r, doc, "", "format_version", 1, 1e9, &v) ||
        get_whole(r, doc, "", "score_min", -1e6, 1e6, &lo) ||
        get_whole(r, doc, "", "score_max", lo, lo + 1000, &hi) ||
        get_whole(r, doc, "", "n_train", 1, 1e12, &ntr))
        return -1;
    if (v != SJ_LEX_FORMAT_VERSION)
        return bad(r, "format_version", "this sjtalign reads version %d, got %.0f",
                   SJ_LEX_FORMAT_VERSION, v);
    m->score_min = (int)lo;
    m->score_max = (int)hi;
    m->n_train = (size_t)ntr;
    const cJSON *o = get_typed(r, doc, "", "opts", 0, key, sizeof key);
    if (!o || get_number(r, o, "opts", "ridge", 0, 1e300, &m->opts.ridge) ||
        get_whole(r, o, "opts", "neighbours", 1, 1000, &k) ||
        get_number(r, o, "opts", "floor", 0, 1, &m->opts.floor))
        return -1;
    m->opts.neighbours = (int)k;
    if (!(m->opts.floor < 1))
        return bad(r, "opts.floor", "expected a number from 0 to below 1");
    return get_number(r, doc, "", "grand_mean", lo, hi, &m->grand_mean);
}

static int read_terms(const reader *r, const cJSON *terms, const cJSON *df, sj_lex_model *m)
{
    size_t n = (size_t)cJSON_GetArraySize(terms);
    if ((size_t)cJSON_GetArraySize(df) != n)
        return bad(r, "vocabulary.df", "expected %zu numbers, one per term", n);
    m->terms = calloc(n ? n : 1, sizeof *m->terms);
    m->df = malloc((n ? n : 1) * sizeof *m->df);
    m->idf = malloc((n ? n : 1) * sizeof *m->idf);
    if (!m->terms || !m->df || !m->idf)
        return sj_error_set(r->err, SJ_ERR_WORK, "out of memory"), -1;
    const cJSON *t = terms->child, *d = df->child;
    for (size_t i = 0; i < n; i++, t = t->next, d = d->next) {
        char key[64];
        snprintf(key, sizeof key, "vocabulary.terms[%zu]", i);
        if (!cJSON_IsString(t) || t->valuestring[0] == '\0' || strchr(t->valuestring, ' '))
            return bad(r, key, "expected a word without spaces");
        if (i > 0 && strcmp(m->terms[i - 1], t->valuestring) >= 0)
            return bad(r, key, "terms must be sorted and distinct");
        if (!(m->terms[i] = sj_strdup(t->valuestring)))
            return sj_error_set(r->err, SJ_ERR_WORK, "out of memory"), -1;
        m->n_terms = i + 1;
        snprintf(key, sizeof key, "vocabulary.df[%zu]", i);
        if (!cJSON_IsNumber(d) || d->valuedouble != floor(d->valuedouble) || d->valuedouble < 0 ||
            d->valuedouble > (double)m->n_docs)
            return bad(r, key, "expected a whole number from 0 to n_docs (%ld)", m->n_docs);
        m->df[i] = (long)d->valuedouble;
        m->idf[i] = lex_idf(m->df[i], m->n_docs);
    }
    return 0;
}

static int read_vocabulary(const reader *r, const cJSON *doc, sj_lex_model *m)
{
    char key[256];
    double nd;
    const cJSON *v = get_typed(r, doc, "", "vocabulary", 0, key, sizeof key);
    if (!v || get_whole(r, v, "vocabulary", "n_docs", 1, 1e12, &nd))
        return -1;
    m->n_docs = (long)nd;
    if ((size_t)m->n_docs != m->n_train)
        return bad(r, "vocabulary.n_docs", "expected n_train (%zu)", m->n_train);
    const cJSON *terms = get_typed(r, v, "vocabulary", "terms", 1, key, sizeof key);
    const cJSON *df = terms ? get_typed(r, v, "vocabulary", "df", 1, key, sizeof key) : NULL;
    return df ? read_terms(r, terms, df, m) : -1;
}

/* A normalised text into a vector; an unknown word is an input error. */
static int read_words(const reader *r, const sj_lex_model *m, const cJSON *obj, const char *prefix,
                      const char *name, lex_vec *out)
{
    const char *text = get_string(r, obj, prefix, name);
    if (!text)
        return -1;
    const char *word = NULL;
    size_t len = 0;
    int rc = lex_vec_from_text(m, text, out, &word, &len);
    char key[256];
    snprintf(key, sizeof key, "%s.%s", prefix, name);
    if (rc == -2)
        return bad(r, key, "word '%.*s' is not in the vocabulary", (int)(len < 60 ? len : 60),
                   word);
    if (rc)
        return sj_error_set(r->err, SJ_ERR_WORK, "out of memory"), -1;
    return 0;
}

static int read_anchors(const reader *r, const sj_lex_model *m, const cJSON *o, const char *prefix,
                        lex_item *it)
{
    char key[256];
    const cJSON *arr = get_typed(r, o, prefix, "anchors", 1, key, sizeof key);
    if (!arr)
        return -1;
    size_t n = (size_t)cJSON_GetArraySize(arr);
    it->anchors = calloc(n + 1, sizeof *it->anchors);
    it->anchor_score = malloc((n + 1) * sizeof *it->anchor_score);
    if (!it->anchors || !it->anchor_score)
        return sj_error_set(r->err, SJ_ERR_WORK, "out of memory"), -1;
    size_t a = 0;
    for (const cJSON *e = arr->child; e; e = e->next, a++) {
        char sub[256];
        double score;
        snprintf(sub, sizeof sub, "%s.anchors[%zu]", prefix, a);
        if (!cJSON_IsObject(e))
            return bad(r, sub, "expected an object");
        if (get_whole(r, e, sub, "score", m->score_min, m->score_max, &score))
            return -1;
        if (a > 0 && score < it->anchor_score[a - 1])
            return bad(r, sub, "anchors must be in increasing score");
        it->anchor_score[a] = (int)score;
        if (read_words(r, m, e, sub, "words", &it->anchors[a]))
            return -1;
        it->n_anchors = a + 1;
    }
    return 0;
}

static int read_bank(const reader *r, const sj_lex_model *m, const cJSON *o, const char *prefix,
                     lex_item *it)
{
    char key[256];
    const cJSON *arr = get_typed(r, o, prefix, "bank", 1, key, sizeof key);
    if (!arr)
        return -1;
    size_t n = (size_t)cJSON_GetArraySize(arr);
    it->entries = calloc(n + 1, sizeof *it->entries);
    if (!it->entries)
        return sj_error_set(r->err, SJ_ERR_WORK, "out of memory"), -1;
    size_t e = 0;
    for (const cJSON *x = arr->child; x; x = x->next, e++) {
        char sub[256];
        snprintf(sub, sizeof sub, "%s.bank[%zu]", prefix, e);
        lex_entry *en = &it->entries[e];
        if (!cJSON_IsObject(x))
            return bad(r, sub, "expected an object");
        if (get_whole(r, x, sub, "n", 1, (double)m->n_train, &en->n) ||
            get_whole(r, x, sub, "score_sum", en->n * m->score_min, en->n * m->score_max,
                      &en->sum) ||
            read_words(r, m, x, sub, "words", &en->v))
            return -1;
        it->n_entries = e + 1;
    }
    if (lex_item_index(it) != 0)
        return sj_error_set(r->err, SJ_ERR_WORK, "out of memory"), -1;
    if (it->n_entries != n)
        return bad(r, key, "two entries hold the same words (each normalised text once)");
    return 0;
}

static int read_question(const reader *r, const sj_lex_model *m, const cJSON *o, const char *prefix,
                         lex_item *it)
{
    lex_vec q;
    if (read_words(r, m, o, prefix, "question", &q))
        return -1;
    it->question = malloc((q.n ? q.n : 1) * sizeof *it->question);
    if (!it->question) {
        lex_vec_free(&q);
        return sj_error_set(r->err, SJ_ERR_WORK, "out of memory"), -1;
    }
    memcpy(it->question, q.id, q.n * sizeof *q.id);
    it->n_question = q.n;
    lex_vec_free(&q);
    return 0;
}

static int compare_item(const void *a, const void *b)
{
    return strcmp(((const lex_item *)a)->id, ((const lex_item *)b)->id);
}

static int read_items(const reader *r, const cJSON *doc, sj_lex_model *m)
{
    char key[256];
    const cJSON *arr = get_typed(r, doc, "", "items", 1, key, sizeof key);
    if (!arr)
        return -1;
    size_t n = (size_t)cJSON_GetArraySize(arr);
    m->items = calloc(n + 1, sizeof *m->items);
    if (!m->items)
        return sj_error_set(r->err, SJ_ERR_WORK, "out of memory"), -1;
    size_t i = 0;
    double total_n = 0, total_sum = 0;
    for (const cJSON *o = arr->child; o; o = o->next, i++) {
        char sub[64];
        snprintf(sub, sizeof sub, "items[%zu]", i);
        lex_item *it = &m->items[i];
        m->n_items = i + 1;
        const char *id = cJSON_IsObject(o) ? get_string(r, o, sub, "id") : NULL;
        if (!cJSON_IsObject(o))
            return bad(r, sub, "expected an object");
        if (!id || !(it->id = sj_strdup(id)))
            return -1;
        if (read_question(r, m, o, sub, it) || read_anchors(r, m, o, sub, it) ||
            read_bank(r, m, o, sub, it))
            return -1;
        if (lex_item_demote(it) != 0)
            return sj_error_set(r->err, SJ_ERR_WORK, "out of memory"), -1;
        total_n += it->bank_n;
        total_sum += it->bank_sum;
    }
    qsort(m->items, m->n_items, sizeof *m->items, compare_item);
    for (size_t k = 1; k < m->n_items; k++)
        if (strcmp(m->items[k].id, m->items[k - 1].id) == 0)
            return bad(r, "items", "item '%.60s' appears twice", m->items[k].id);
    if (total_n != (double)m->n_train)
        return bad(r, "items", "the banks hold %.0f answers, n_train is %zu", total_n, m->n_train);
    if (total_sum / total_n != m->grand_mean)
        return bad(r, "grand_mean", "expected the mean of the banks' scores, %.17g",
                   total_sum / total_n);
    return 0;
}

static int read_features(const reader *r, const cJSON *doc, sj_lex_model *m)
{
    char key[256];
    const cJSON *arr = get_typed(r, doc, "", "features", 1, key, sizeof key);
    if (!arr)
        return -1;
    if (cJSON_GetArraySize(arr) != SJ_LEX_N_FEATURES)
        return bad(r, "features", "expected %d features", SJ_LEX_N_FEATURES);
    int j = 0;
    for (const cJSON *o = arr->child; o; o = o->next, j++) {
        char sub[64];
        snprintf(sub, sizeof sub, "features[%d]", j);
        if (!cJSON_IsObject(o))
            return bad(r, sub, "expected an object");
        const char *name = get_string(r, o, sub, "name");
        if (!name)
            return -1;
        if (strcmp(name, LEX_FEATURE_NAMES[j]) != 0)
            return bad(r, sub, "expected the feature \"%s\", got \"%.60s\"", LEX_FEATURE_NAMES[j],
                       name);
        if (get_number(r, o, sub, "mean", -1e300, 1e300, &m->mean[j]) ||
            get_number(r, o, sub, "sd", 0, 1e300, &m->sd[j]) ||
            get_number(r, o, sub, "coef", -1e300, 1e300, &m->beta[j]))
            return -1;
    }
    return 0;
}

static int read_levels(const reader *r, const cJSON *doc, sj_lex_model *m)
{
    char key[256];
    const cJSON *lv = get_typed(r, doc, "", "levels", 1, key, sizeof key);
    const cJSON *th = lv ? get_typed(r, doc, "", "thresholds", 1, key, sizeof key) : NULL;
    const cJSON *cv = cJSON_GetObjectItemCaseSensitive(doc, "converged");
    if (!th)
        return -1;
    if (!cJSON_IsBool(cv))
        return bad(r, "converged", "expected true or false");
    m->converged = cJSON_IsTrue(cv);
    size_t n = (size_t)cJSON_GetArraySize(lv);
    if (n < 1 || n > (size_t)(m->score_max - m->score_min + 1))
        return bad(r, "levels", "expected 1 to %d levels", m->score_max - m->score_min + 1);
    if ((size_t)cJSON_GetArraySize(th) != n - 1)
        return bad(r, "thresholds", "expected %zu numbers (one fewer than levels)", n - 1);
    m->seen_levels = malloc(n * sizeof *m->seen_levels);
    m->thresholds = malloc(n * sizeof *m->thresholds);
    if (!m->seen_levels || !m->thresholds)
        return sj_error_set(r->err, SJ_ERR_WORK, "out of memory"), -1;
    const cJSON *l = lv->child, *t = th->child;
    for (size_t s = 0; s < n; s++, l = l->next) {
        snprintf(key, sizeof key, "levels[%zu]", s);
        if (!cJSON_IsNumber(l) || l->valuedouble != floor(l->valuedouble) ||
            l->valuedouble < m->score_min || l->valuedouble > m->score_max ||
            (s > 0 && l->valuedouble <= m->seen_levels[s - 1]))
            return bad(r, key, "expected increasing whole numbers from %d to %d", m->score_min,
                       m->score_max);
        m->seen_levels[s] = (int)l->valuedouble;
        m->n_seen = s + 1;
        if (s + 1 == n)
            break;
        snprintf(key, sizeof key, "thresholds[%zu]", s);
        double x;
        if (!number_value(t, &x) || !isfinite(x) || (s > 0 && !(x > m->thresholds[s - 1])))
            return bad(r, key, "expected increasing finite numbers");
        m->thresholds[s] = x;
        t = t->next;
    }
    return 0;
}

sj_lex_model *sj_lex_from_json(const cJSON *doc, const char *path, sj_error *err)
{
    reader r = {path, err};
    if (!cJSON_IsObject(doc)) {
        sj_error_set(err, SJ_ERR_INPUT, "%s: expected a JSON object (a lexical model)", path);
        return NULL;
    }
    sj_lex_model *m = calloc(1, sizeof *m);
    if (!m) {
        sj_error_set(err, SJ_ERR_WORK, "out of memory");
        return NULL;
    }
    if (read_header(&r, doc, m) || read_vocabulary(&r, doc, m) || read_items(&r, doc, m) ||
        read_features(&r, doc, m) || read_levels(&r, doc, m)) {
        sj_lex_free(m);
        return NULL;
    }
    return m;
}
