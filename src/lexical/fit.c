/* Fitting the lexical model: words of every training answer and of the
 * instrument, the vocabulary with document frequencies, each item's anchors
 * and bank, the features of every training answer (leave-one-out by
 * identical text) and the ordinal regression on their standardised values. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "lexical_internal.h"
#include "sjtalign/stats.h"

sj_lex_opts sj_lex_defaults(void)
{
    sj_lex_opts o = {1.0, 3, 0.01};
    return o;
}

static sj_status lex_check_opts(const sj_lex_opts *o, sj_error *err)
{
    if (!(o->ridge >= 0) || isinf(o->ridge))
        return sj_error_set(err, SJ_ERR_INPUT, "lexical model: ridge must be a finite number >= 0");
    if (o->neighbours < 1 || o->neighbours > 1000)
        return sj_error_set(err, SJ_ERR_INPUT, "lexical model: neighbours must be 1..1000, got %d",
                            o->neighbours);
    if (!(o->floor >= 0 && o->floor < 1))
        return sj_error_set(err, SJ_ERR_INPUT, "lexical model: floor must be in [0, 1)");
    return SJ_OK;
}

/* The words of the instrument and of the training answers. */
typedef struct {
    size_t n;
    char ***words;
    long *n_words;
} word_lists;

static void word_lists_free(word_lists *w)
{
    for (size_t i = 0; w->words && i < w->n; i++)
        sj_lex_words_free(w->words[i], w->n_words[i]);
    free(w->words);
    free(w->n_words);
    memset(w, 0, sizeof *w);
}

static int word_lists_make(word_lists *w, const char *const *texts, size_t n)
{
    w->n = n;
    w->words = calloc(n ? n : 1, sizeof *w->words);
    w->n_words = calloc(n ? n : 1, sizeof *w->n_words);
    if (!w->words || !w->n_words)
        return -1;
    int failed = 0;
#pragma omp parallel for schedule(dynamic, 256) reduction(| : failed)
    for (size_t i = 0; i < n; i++) {
        w->n_words[i] = sj_lex_words(texts[i], &w->words[i]);
        if (w->n_words[i] < 0) {
            w->n_words[i] = 0;
            failed |= 1;
        }
    }
    return failed ? -1 : 0;
}

/* Texts of the instrument, in order: per item its question, then its
 * rubric anchors. */
static const char **instrument_texts(const sj_instrument *ins, size_t *n)
{
    size_t total = 0;
    for (size_t i = 0; i < ins->n_items; i++)
        total += 1 + ins->items[i].n_rubric;
    const char **t = malloc((total ? total : 1) * sizeof *t);
    if (!t)
        return NULL;
    size_t k = 0;
    for (size_t i = 0; i < ins->n_items; i++) {
        t[k++] = ins->items[i].question;
        for (size_t a = 0; a < ins->items[i].n_rubric; a++)
            t[k++] = ins->items[i].rubric[a].anchor;
    }
    *n = total;
    return t;
}

static int compare_string_ptr(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void add_words(const word_lists *w, char **all, size_t *n)
{
    for (size_t i = 0; i < w->n; i++)
        for (long k = 0; k < w->n_words[i]; k++)
            all[(*n)++] = w->words[i][k];
}

/* The sorted distinct words of both lists become the vocabulary. */
static int build_vocabulary(sj_lex_model *m, const word_lists *a, const word_lists *b)
{
    size_t total = 0;
    for (size_t i = 0; i < a->n; i++)
        total += (size_t)a->n_words[i];
    for (size_t i = 0; i < b->n; i++)
        total += (size_t)b->n_words[i];
    char **all = malloc((total ? total : 1) * sizeof *all);
    if (!all)
        return -1;
    size_t n = 0;
    add_words(a, all, &n);
    add_words(b, all, &n);
    qsort(all, n, sizeof *all, compare_string_ptr);
    m->terms = malloc((n ? n : 1) * sizeof *m->terms);
    int rc = m->terms ? 0 : -1;
    for (size_t i = 0; !rc && i < n; i++) {
        if (i > 0 && strcmp(all[i], all[i - 1]) == 0)
            continue;
        if (!(m->terms[m->n_terms++] = sj_strdup(all[i])))
            rc = -1;
    }
    free(all);
    return rc;
}

static int compare_int(const void *a, const void *b)
{
    int x = *(const int *)a, y = *(const int *)b;
    return (x > y) - (x < y);
}

long lex_distinct_ids(const sj_lex_model *m, char *const *words, long n, int **ids)
{
    *ids = malloc((size_t)(n > 0 ? n : 1) * sizeof **ids);
    if (!*ids)
        return -1;
    long k = 0;
    for (long i = 0; i < n; i++) {
        long id = lex_term_id(m, words[i]);
        if (id >= 0)
            (*ids)[k++] = (int)id;
    }
    qsort(*ids, (size_t)k, sizeof **ids, compare_int);
    long d = 0;
    for (long i = 0; i < k; i++)
        if (d == 0 || (*ids)[i] != (*ids)[d - 1])
            (*ids)[d++] = (*ids)[i];
    return d;
}

/* Document frequencies over the training answers, then idf. */
static int document_frequencies(sj_lex_model *m, const word_lists *train)
{
    m->df = calloc(m->n_terms ? m->n_terms : 1, sizeof *m->df);
    m->idf = malloc((m->n_terms ? m->n_terms : 1) * sizeof *m->idf);
    if (!m->df || !m->idf)
        return -1;
    m->n_docs = (long)train->n;
    for (size_t i = 0; i < train->n; i++) {
        int *ids;
        long d = lex_distinct_ids(m, train->words[i], train->n_words[i], &ids);
        if (d < 0)
            return -1;
        for (long k = 0; k < d; k++)
            m->df[ids[k]]++;
        free(ids);
    }
    for (size_t t = 0; t < m->n_terms; t++)
        m->idf[t] = lex_idf(m->df[t], m->n_docs);
    return 0;
}

int lex_item_demote(lex_item *it)
{
    if (it->n_anchors == 0)
        return 0;
    return lex_vec_without(&it->anchors[it->n_anchors - 1], it->question, it->n_question,
                           &it->top_qd);
}

static int compare_item(const void *a, const void *b)
{
    return strcmp(((const lex_item *)a)->id, ((const lex_item *)b)->id);
}

/* Rubric entries in increasing score (file order among equal scores). */
static void rubric_order(const sj_item *item, size_t *order)
{
    for (size_t a = 0; a < item->n_rubric; a++)
        order[a] = a;
    for (size_t a = 1; a < item->n_rubric; a++)
        for (size_t b = a; b > 0 && item->rubric[order[b]].score < item->rubric[order[b - 1]].score;
             b--) {
            size_t t = order[b];
            order[b] = order[b - 1];
            order[b - 1] = t;
        }
}

/* Anchors and question of every instrument item; `iw` holds the words of
 * instrument_texts. */
static int build_items(sj_lex_model *m, const sj_instrument *ins, const word_lists *iw)
{
    m->items = calloc(ins->n_items, sizeof *m->items);
    if (!m->items)
        return -1;
    m->n_items = ins->n_items;
    size_t k = 0;
    for (size_t i = 0; i < ins->n_items; i++) {
        const sj_item *item = &ins->items[i];
        lex_item *it = &m->items[i];
        size_t *order = malloc((item->n_rubric + 1) * sizeof *order);
        it->id = sj_strdup(item->id);
        it->anchors = calloc(item->n_rubric + 1, sizeof *it->anchors);
        it->anchor_score = malloc((item->n_rubric + 1) * sizeof *it->anchor_score);
        long nq = lex_distinct_ids(m, iw->words[k], iw->n_words[k], &it->question);
        int rc = order && it->id && it->anchors && it->anchor_score && nq >= 0 ? 0 : -1;
        it->n_question = nq > 0 ? (size_t)nq : 0;
        if (!rc)
            rubric_order(item, order);
        for (size_t a = 0; !rc && a < item->n_rubric; a++) {
            size_t src = k + 1 + order[a];
            it->anchor_score[a] = item->rubric[order[a]].score;
            rc = lex_vec_from_words(m, iw->words[src], iw->n_words[src], &it->anchors[a]);
            it->n_anchors += rc == 0;
        }
        free(order);
        if (rc || lex_item_demote(it) != 0)
            return -1;
        k += 1 + item->n_rubric;
    }
    qsort(m->items, m->n_items, sizeof *m->items, compare_item);
    return 0;
}

/* One bank entry per training answer; lex_item_index merges identical ones. */
static int build_banks(sj_lex_model *m, const lex_item **item_of, const lex_vec *vecs,
                       const int *scores, size_t n)
{
    for (size_t i = 0; i < n; i++)
        ((lex_item *)item_of[i])->n_entries++;
    for (size_t j = 0; j < m->n_items; j++) {
        m->items[j].entries = calloc(m->items[j].n_entries + 1, sizeof *m->items[j].entries);
        if (!m->items[j].entries)
            return -1;
        m->items[j].n_entries = 0;
    }
    for (size_t i = 0; i < n; i++) {
        lex_item *it = (lex_item *)item_of[i];
        lex_entry *e = &it->entries[it->n_entries];
        if (lex_vec_copy(&vecs[i], &e->v) != 0)
            return -1;
        e->n = 1;
        e->sum = scores[i];
        it->n_entries++;
    }
    for (size_t j = 0; j < m->n_items; j++)
        if (lex_item_index(&m->items[j]) != 0)
            return -1;
    return 0;
}

/* The answers' vectors and items; SJ_ERR_INPUT for an unknown item or a
 * score outside the range. */
static sj_status check_answers(const sj_instrument *ins, const char *const *item_ids,
                               const int *scores, const double *weights, size_t n, sj_error *err)
{
    if (n == 0)
        return sj_error_set(err, SJ_ERR_INPUT, "lexical model: no training answers");
    for (size_t i = 0; i < n; i++) {
        if (sj_instrument_find_item(ins, item_ids[i]) < 0)
            return sj_error_set(err, SJ_ERR_INPUT,
                                "lexical model: training answer %zu: unknown item '%.60s' (the "
                                "instrument %s has no such item)",
                                i, item_ids[i], ins->id);
        if (scores[i] < ins->score_min || scores[i] > ins->score_max)
            return sj_error_set(err, SJ_ERR_INPUT,
                                "lexical model: training answer %zu: score %d outside %d..%d", i,
                                scores[i], ins->score_min, ins->score_max);
        if (weights && !(weights[i] > 0 && isfinite(weights[i])))
            return sj_error_set(err, SJ_ERR_INPUT,
                                "lexical model: training answer %zu: weight %g (weights must be "
                                "finite numbers > 0)",
                                i, weights[i]);
    }
    return SJ_OK;
}

/* Vocabulary, idf, items and banks from the training answers' words. */
static int build_tables(sj_lex_model *m, const sj_instrument *ins, const word_lists *train,
                        const char *const *item_ids, const int *scores, lex_vec *vecs,
                        const lex_item **item_of)
{
    size_t n_texts;
    const char **texts = instrument_texts(ins, &n_texts);
    word_lists iw = {0};
    int rc = texts ? word_lists_make(&iw, texts, n_texts) : -1;
    free(texts);
    if (!rc)
        rc = build_vocabulary(m, train, &iw);
    if (!rc)
        rc = document_frequencies(m, train);
    if (!rc)
        rc = build_items(m, ins, &iw);
    word_lists_free(&iw);
    for (size_t i = 0; !rc && i < train->n; i++) {
        rc = lex_vec_from_words(m, train->words[i], train->n_words[i], &vecs[i]);
        item_of[i] = lex_find_item(m, item_ids[i]);
    }
    if (!rc)
        rc = build_banks(m, item_of, vecs, scores, train->n);
    double sum = 0;
    for (size_t i = 0; i < train->n; i++)
        sum += scores[i];
    m->grand_mean = sum / (double)train->n;
    return rc;
}

sj_lex_model *sj_lex_fit(const sj_instrument *ins, const char *const *item_ids,
                         const char *const *texts, const int *scores, size_t n,
                         const sj_lex_opts *opts, sj_error *err)
{
    return sj_lex_fit_weighted(ins, item_ids, texts, scores, NULL, n, opts, err);
}

sj_lex_model *sj_lex_fit_weighted(const sj_instrument *ins, const char *const *item_ids,
                                  const char *const *texts, const int *scores,
                                  const double *weights, size_t n, const sj_lex_opts *opts,
                                  sj_error *err)
{
    sj_lex_opts o = opts ? *opts : sj_lex_defaults();
    if (lex_check_opts(&o, err) != SJ_OK ||
        check_answers(ins, item_ids, scores, weights, n, err) != SJ_OK)
        return NULL;
    sj_lex_model *m = calloc(1, sizeof *m);
    word_lists train = {0};
    lex_vec *vecs = calloc(n, sizeof *vecs);
    const lex_item **item_of = calloc(n, sizeof *item_of);
    double *x = malloc(n * SJ_LEX_N_FEATURES * sizeof *x);
    int rc = m && vecs && item_of && x ? 0 : -1;
    if (!rc) {
        m->opts = o;
        m->score_min = ins->score_min;
        m->score_max = ins->score_max;
        m->n_train = n;
        rc = word_lists_make(&train, texts, n);
    }
    if (!rc)
        rc = build_tables(m, ins, &train, item_ids, scores, vecs, item_of);
    int failed = 0;
#pragma omp parallel for schedule(dynamic, 64) reduction(| : failed)
    for (size_t i = 0; i < (rc ? 0 : n); i++)
        failed |= lex_compute_features(m, item_of[i], &vecs[i], x + i * SJ_LEX_N_FEATURES) != 0;
    if (rc || failed)
        sj_error_set(err, SJ_ERR_WORK, "out of memory");
    else if (lex_fit_ordinal(m, x, scores, weights, n, err) != 0)
        rc = -1;
    word_lists_free(&train);
    for (size_t i = 0; vecs && i < n; i++)
        lex_vec_free(&vecs[i]);
    free(vecs);
    free(item_of);
    free(x);
    if (rc || failed) {
        sj_lex_free(m);
        return NULL;
    }
    return m;
}
