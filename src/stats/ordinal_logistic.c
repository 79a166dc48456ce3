/* Ordinal logistic-regression DIF for polytomous items: the proportional
 * odds model logit P(Y <= j) = zeta_j - eta (MASS::polr's parameterisation)
 * with eta = b_s s (+ b_g g (+ b_sg s g)), fitted by Newton's method on the
 * counts per (matching score, group, score category). */
#include "sjtalign/stats.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "lr_common.h"

typedef struct {
    size_t n_cells;
    size_t n_cats; /* J */
    size_t n_beta; /* slopes in the model */
    double *x;     /* n_cells * 3: scaled s, g, s*g */
    double *count; /* n_cells * J */
    double *dpi;   /* scratch: first derivatives of one category probability */
    double *d2pi;  /* scratch: its second derivatives */
} ordinal_cells;

static double logistic(double x)
{
    return x >= 0 ? 1 / (1 + exp(-x)) : exp(x) / (1 + exp(x));
}

/* Probability of the category between cumulative logits l < u, taken from
 * the tail where the difference keeps its digits. */
static double category_prob(double l, double u)
{
    if (l > 0)
        return logistic(-l) - logistic(-u);
    return logistic(u) - logistic(l);
}

typedef struct {
    double F, f, df; /* CDF, density, derivative of the density */
} logit_point;

static logit_point at(double x, int infinite)
{
    logit_point pt = {0, 0, 0};
    if (infinite) {
        pt.F = x > 0 ? 1 : 0;
        return pt;
    }
    pt.F = logistic(x);
    double G = logistic(-x);
    pt.f = pt.F * G;
    pt.df = pt.f * (G - pt.F);
    return pt;
}

static double ordinal_loglik(const double *theta, double *grad, double *hess, void *ctx)
{
    const ordinal_cells *oc = ctx;
    size_t J = oc->n_cats, nz = J - 1, P = nz + oc->n_beta;
    for (size_t j = 1; j < nz; j++)
        if (!(theta[j] > theta[j - 1]))
            return -INFINITY;
    if (grad) {
        memset(grad, 0, P * sizeof *grad);
        memset(hess, 0, P * P * sizeof *hess);
    }
    const double *beta = theta + nz;
    double ll = 0;
    double *dpi = oc->dpi, *d2pi = oc->d2pi;
    for (size_t i = 0; i < oc->n_cells; i++) {
        const double *x = oc->x + 3 * i;
        double eta = 0;
        for (size_t b = 0; b < oc->n_beta; b++)
            eta += beta[b] * x[b];
        for (size_t j = 0; j < J; j++) {
            double n = oc->count[i * J + j];
            if (n <= 0)
                continue;
            int lower_inf = j == 0, upper_inf = j == J - 1;
            double l = lower_inf ? -INFINITY : theta[j - 1] - eta;
            double u = upper_inf ? INFINITY : theta[j] - eta;
            double pi = category_prob(l, u);
            if (!(pi > 0))
                return -INFINITY;
            ll += n * log(pi);
            if (!grad)
                continue;
            logit_point lo = at(l, lower_inf), up = at(u, upper_inf);
            memset(dpi, 0, P * sizeof *dpi);
            memset(d2pi, 0, P * P * sizeof *d2pi);
            if (!upper_inf)
                dpi[j] = up.f;
            if (!lower_inf)
                dpi[j - 1] = -lo.f;
            for (size_t b = 0; b < oc->n_beta; b++)
                dpi[nz + b] = -x[b] * (up.f - lo.f);
            if (!upper_inf) {
                d2pi[j * P + j] = up.df;
                for (size_t b = 0; b < oc->n_beta; b++)
                    d2pi[j * P + nz + b] = d2pi[(nz + b) * P + j] = -x[b] * up.df;
            }
            if (!lower_inf) {
                size_t z = j - 1;
                d2pi[z * P + z] = -lo.df;
                for (size_t b = 0; b < oc->n_beta; b++)
                    d2pi[z * P + nz + b] = d2pi[(nz + b) * P + z] = x[b] * lo.df;
            }
            for (size_t a = 0; a < oc->n_beta; a++)
                for (size_t b = 0; b < oc->n_beta; b++)
                    d2pi[(nz + a) * P + nz + b] = x[a] * x[b] * (up.df - lo.df);
            for (size_t a = 0; a < P; a++) {
                grad[a] += n * dpi[a] / pi;
                for (size_t b = 0; b < P; b++)
                    hess[a * P + b] += n * (d2pi[a * P + b] / pi - dpi[a] * dpi[b] / (pi * pi));
            }
        }
    }
    return ll;
}

static int build_ordinal_cells(const sj_dif_counts *c, sj_score_scale sc, ordinal_cells *oc)
{
    size_t max_cells = 2 * c->n_strata + 1, J = c->n_cats;
    oc->n_cats = J;
    oc->x = malloc(max_cells * 3 * sizeof *oc->x);
    oc->count = malloc(max_cells * J * sizeof *oc->count);
    size_t P = J + 2; /* J - 1 thresholds and at most 3 slopes */
    oc->dpi = malloc(P * sizeof *oc->dpi);
    oc->d2pi = malloc(P * P * sizeof *oc->d2pi);
    if (!oc->x || !oc->count || !oc->dpi || !oc->d2pi)
        return -1;
    oc->n_cells = 0;
    for (size_t k = 0; k < c->n_strata; k++)
        for (int g = 0; g < 2; g++) {
            const double *cnt = c->count + (k * 2 + (size_t)g) * J;
            double total = 0;
            for (size_t j = 0; j < J; j++)
                total += cnt[j];
            if (total <= 0)
                continue;
            sj_lr_design_row(oc->x + 3 * oc->n_cells, c, sc, k, g);
            memcpy(oc->count + oc->n_cells * J, cnt, J * sizeof *cnt);
            oc->n_cells++;
        }
    return 0;
}

static void free_ordinal_cells(ordinal_cells *oc)
{
    free(oc->x);
    free(oc->count);
    free(oc->dpi);
    free(oc->d2pi);
}

/* Thresholds of the model without predictors, which is also its exact
 * maximum: the cumulative logits of the marginal distribution. */
static double marginal_start(const sj_dif_counts *c, double *theta, double *n_out)
{
    size_t J = c->n_cats;
    double *marg = calloc(J, sizeof *marg);
    if (!marg)
        return NAN;
    double n = 0;
    for (size_t k = 0; k < c->n_strata; k++)
        for (size_t g = 0; g < 2; g++)
            for (size_t j = 0; j < J; j++) {
                marg[j] += c->count[(k * 2 + g) * J + j];
                n += c->count[(k * 2 + g) * J + j];
            }
    double ll0 = 0, cum = 0;
    for (size_t j = 0; j < J; j++) {
        if (marg[j] > 0)
            ll0 += marg[j] * log(marg[j] / n);
        cum += marg[j];
        if (j + 1 < J)
            theta[j] = log(cum / (n - cum));
    }
    free(marg);
    *n_out = n;
    return ll0;
}

void sj_ordinal_dif(const sj_dif_counts *c, sj_lr_dif *out)
{
    memset(out, 0, sizeof *out);
    for (int m = 0; m < 3; m++)
        out->ll[m] = NAN;
    size_t J = c->n_cats;
    double *theta = J >= 2 ? calloc(J + 2, sizeof *theta) : NULL, n = 0;
    if (!theta) {
        out->ll_null = NAN;
        sj_lr_finish(out, 0);
        out->note = J < 2 ? "ordinal regression needs at least two observed scores"
                          : "out of memory fitting the ordinal regression";
        return;
    }
    out->ll_null = marginal_start(c, theta, &n);
    sj_score_scale sc = sj_lr_score_scale(c);
    ordinal_cells oc = {0};
    if (isnan(out->ll_null) || build_ordinal_cells(c, sc, &oc) != 0) {
        free_ordinal_cells(&oc);
        free(theta);
        sj_lr_finish(out, n);
        out->note = "out of memory fitting the ordinal regression";
        return;
    }
    for (int m = 0; m < 3; m++) {
        oc.n_beta = (size_t)m + 1;
        sj_newton_result fit;
        sj_newton_maximize(J - 1 + oc.n_beta, theta, ordinal_loglik, &oc, SJ_LR_MAX_ITER, &fit);
        sj_lr_record_fit(out, m, &fit, theta + J - 1, oc.n_beta, sc);
    }
    free_ordinal_cells(&oc);
    free(theta);
    sj_lr_finish(out, n);
}
