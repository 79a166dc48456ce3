/* The word-overlap k-NN baseline of the issue: least squares (GSL, by SVD,
 * so a rank-deficient design still has the minimum-norm solution) of the
 * score on the cosine with the top anchor and the mean score of the k most
 * similar training answers, with the lexical model's features. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_errno.h>
#include <gsl/gsl_multifit.h>

#include "lexical_internal.h"

static void design_row(const double *x, double *row)
{
    row[0] = 1;
    row[1] = x[LEX_F_ANCHOR_COS];
    row[2] = x[LEX_F_KNN_MEAN];
}

static sj_status solve(gsl_matrix *X, gsl_vector *y, sj_lex_knn *out, sj_error *err)
{
    gsl_vector *c = gsl_vector_alloc(3);
    gsl_matrix *cov = gsl_matrix_alloc(3, 3);
    gsl_multifit_linear_workspace *ws = gsl_multifit_linear_alloc(X->size1, 3);
    sj_status st = SJ_OK;
    if (!c || !cov || !ws) {
        st = sj_error_set(err, SJ_ERR_WORK, "out of memory");
    } else {
        double chisq;
        gsl_error_handler_t *old = gsl_set_error_handler_off();
        int rc = gsl_multifit_linear(X, y, c, cov, &chisq, ws);
        gsl_set_error_handler(old);
        if (rc != 0)
            st = sj_error_set(err, SJ_ERR_WORK, "k-NN baseline: least squares failed: %s",
                              gsl_strerror(rc));
        for (int j = 0; j < 3; j++)
            out->coef[j] = gsl_vector_get(c, (size_t)j);
    }
    if (ws)
        gsl_multifit_linear_free(ws);
    if (cov)
        gsl_matrix_free(cov);
    if (c)
        gsl_vector_free(c);
    return st;
}

sj_status sj_lex_knn_fit(const sj_lex_model *m, const char *const *item_ids,
                         const char *const *texts, const int *scores, size_t n, sj_lex_knn *out,
                         sj_error *err)
{
    return sj_lex_knn_fit_weighted(m, item_ids, texts, scores, NULL, n, out, err);
}

/* Weighted least squares as ordinary least squares on the rows scaled by
 * the square roots of their weights. */
sj_status sj_lex_knn_fit_weighted(const sj_lex_model *m, const char *const *item_ids,
                                  const char *const *texts, const int *scores,
                                  const double *weights, size_t n, sj_lex_knn *out, sj_error *err)
{
    memset(out, 0, sizeof *out);
    for (size_t i = 0; weights && i < n; i++)
        if (!(weights[i] > 0 && isfinite(weights[i])))
            return sj_error_set(err, SJ_ERR_INPUT,
                                "k-NN baseline: training answer %zu: weight %g (weights must be "
                                "finite numbers > 0)",
                                i, weights[i]);
    if (n < 3)
        return sj_error_set(err, SJ_ERR_INPUT,
                            "k-NN baseline: needs at least 3 training answers, got %zu", n);
    gsl_matrix *X = gsl_matrix_alloc(n, 3);
    gsl_vector *y = gsl_vector_alloc(n);
    if (!X || !y) {
        if (X)
            gsl_matrix_free(X);
        if (y)
            gsl_vector_free(y);
        return sj_error_set(err, SJ_ERR_WORK, "out of memory");
    }
    int failed = 0;
#pragma omp parallel for schedule(dynamic, 64) reduction(| : failed)
    for (size_t i = 0; i < n; i++) {
        double x[SJ_LEX_N_FEATURES], row[3];
        sj_error local;
        sj_error_clear(&local);
        if (sj_lex_features(m, item_ids[i], texts[i], x, &local) != SJ_OK) {
            failed |= 1;
            continue;
        }
        design_row(x, row);
        double root = weights ? sqrt(weights[i]) : 1.0;
        for (size_t j = 0; j < 3; j++)
            gsl_matrix_set(X, i, j, root * row[j]);
        gsl_vector_set(y, i, root * scores[i]);
    }
    sj_status st = failed ? sj_error_set(err, SJ_ERR_WORK, "out of memory") : solve(X, y, out, err);
    out->n = n;
    gsl_matrix_free(X);
    gsl_vector_free(y);
    return st;
}

double sj_lex_knn_predict(const sj_lex_model *m, const sj_lex_knn *k, const double *features)
{
    double row[3];
    design_row(features, row);
    double p = k->coef[0] * row[0] + k->coef[1] * row[1] + k->coef[2] * row[2];
    if (p < m->score_min)
        p = m->score_min;
    if (p > m->score_max)
        p = m->score_max;
    return p;
}
