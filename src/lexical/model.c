/* The lexical model once built: its ordinal regression on the standardised
 * features, scoring a response, the accessors and the summary. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "lexical_internal.h"
#include "sjtalign/stats.h"

/* Means and population SDs of the features over the training answers,
 * weighted as the answers are in the fit (w NULL: 1 each). */
static void standardisation(sj_lex_model *m, const double *x, const double *w, size_t n)
{
    double total = 0;
    for (size_t i = 0; i < n; i++)
        total += w ? w[i] : 1.0;
    for (int j = 0; j < SJ_LEX_N_FEATURES; j++) {
        double s = 0, ss = 0;
        for (size_t i = 0; i < n; i++)
            s += (w ? w[i] : 1.0) * x[i * SJ_LEX_N_FEATURES + j];
        double mean = s / total;
        for (size_t i = 0; i < n; i++) {
            double d = x[i * SJ_LEX_N_FEATURES + j] - mean;
            ss += (w ? w[i] : 1.0) * (d * d);
        }
        m->mean[j] = mean;
        m->sd[j] = sqrt(ss / total);
    }
}

/* The levels seen in training, and each answer's index among them: empty
 * levels are merged out of the fit. */
static int seen_levels(sj_lex_model *m, const int *scores, size_t n, int *y)
{
    int L = m->score_max - m->score_min + 1;
    int *rank = calloc((size_t)L, sizeof *rank);
    m->seen_levels = malloc((size_t)L * sizeof *m->seen_levels);
    if (!rank || !m->seen_levels) {
        free(rank);
        return -1;
    }
    for (size_t i = 0; i < n; i++)
        rank[scores[i] - m->score_min] = 1;
    m->n_seen = 0;
    for (int k = 0; k < L; k++)
        if (rank[k]) {
            rank[k] = (int)m->n_seen;
            m->seen_levels[m->n_seen++] = m->score_min + k;
        }
    for (size_t i = 0; i < n; i++)
        y[i] = rank[scores[i] - m->score_min];
    free(rank);
    return 0;
}

int lex_fit_ordinal(sj_lex_model *m, const double *x, const int *scores, const double *weights,
                    size_t n, sj_error *err)
{
    standardisation(m, x, weights, n);
    double *z = malloc(n * SJ_LEX_N_FEATURES * sizeof *z);
    int *y = malloc(n * sizeof *y);
    m->thresholds = malloc((size_t)(m->score_max - m->score_min + 1) * sizeof *m->thresholds);
    if (!z || !y || !m->thresholds || seen_levels(m, scores, n, y) != 0) {
        free(z);
        free(y);
        sj_error_set(err, SJ_ERR_WORK, "out of memory");
        return -1;
    }
    for (size_t i = 0; i < n; i++)
        for (int j = 0; j < SJ_LEX_N_FEATURES; j++) {
            size_t at = i * SJ_LEX_N_FEATURES + (size_t)j;
            z[at] = m->sd[j] > 0 ? (x[at] - m->mean[j]) / m->sd[j] : 0;
        }
    int rc = 0;
    m->converged = 1;
    if (m->n_seen >= 2) {
        sj_ordinal_model om;
        if (sj_ordinal_fit_weighted(z, n, SJ_LEX_N_FEATURES, y, weights, m->n_seen, m->opts.ridge,
                                    &om, err) != SJ_OK) {
            rc = -1;
        } else {
            memcpy(m->thresholds, om.thresholds, (m->n_seen - 1) * sizeof *om.thresholds);
            memcpy(m->beta, om.beta, sizeof m->beta);
            m->converged = om.converged;
            if (!om.converged) {
                sj_error_set(err, SJ_ERR_WORK,
                             "lexical model: the ordinal regression did not converge after %d "
                             "Newton steps (a larger ridge helps)",
                             om.iterations);
                rc = -1;
            }
            sj_ordinal_model_free(&om);
        }
    }
    free(z);
    free(y);
    return rc;
}

int sj_lex_n_levels(const sj_lex_model *m)
{
    return m->score_max - m->score_min + 1;
}

int sj_lex_score_min(const sj_lex_model *m)
{
    return m->score_min;
}

int sj_lex_has_item(const sj_lex_model *m, const char *item_id)
{
    const lex_item *it = lex_find_item(m, item_id);
    return it && it->bank_n > 0;
}

sj_status sj_lex_features(const sj_lex_model *m, const char *item_id, const char *text,
                          double *features, sj_error *err)
{
    char **words;
    long n = sj_lex_words(text, &words);
    lex_vec v;
    int rc = n < 0 ? -1 : lex_vec_from_words(m, words, n, &v);
    if (n >= 0)
        sj_lex_words_free(words, n);
    if (!rc) {
        rc = lex_compute_features(m, lex_find_item(m, item_id), &v, features);
        lex_vec_free(&v);
    }
    return rc ? sj_error_set(err, SJ_ERR_WORK, "out of memory") : SJ_OK;
}

sj_status sj_lex_probs(const sj_lex_model *m, const char *item_id, const char *text, double *probs,
                       sj_error *err)
{
    double x[SJ_LEX_N_FEATURES];
    sj_status st = sj_lex_features(m, item_id, text, x, err);
    if (st != SJ_OK)
        return st;
    if (lex_probs_from_features(m, x, probs) != 0)
        return sj_error_set(err, SJ_ERR_WORK, "out of memory");
    return SJ_OK;
}

double sj_lex_expected(const sj_lex_model *m, const double *probs)
{
    double e = 0;
    for (int k = 0; k < sj_lex_n_levels(m); k++)
        e += (m->score_min + k) * probs[k];
    return e;
}

void sj_lex_explain(const sj_lex_model *m, sj_lex_summary *out)
{
    memset(out, 0, sizeof *out);
    out->n_features = SJ_LEX_N_FEATURES;
    out->names = LEX_FEATURE_NAMES;
    out->coef = m->beta;
    out->mean = m->mean;
    out->sd = m->sd;
    out->n_thresholds = m->n_seen > 0 ? m->n_seen - 1 : 0;
    out->thresholds = m->thresholds;
    out->levels = m->seen_levels;
    out->n_train = m->n_train;
    for (size_t i = 0; i < m->n_items; i++)
        out->n_items_trained += m->items[i].bank_n > 0;
    out->n_terms = m->n_terms;
    out->converged = m->converged;
}

void sj_lex_free(sj_lex_model *m)
{
    if (!m)
        return;
    for (size_t t = 0; m->terms && t < m->n_terms; t++)
        free(m->terms[t]);
    free(m->terms);
    free(m->df);
    free(m->idf);
    for (size_t i = 0; m->items && i < m->n_items; i++)
        lex_item_free(&m->items[i]);
    free(m->items);
    free(m->seen_levels);
    free(m->thresholds);
    free(m);
}
