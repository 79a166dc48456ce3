/* The general proportional-odds (cumulative logit) regression on
 * person-level data, with a ridge penalty on the slopes: the model of the
 * lexical scorer. The DIF variant in ordinal_logistic.c works on grouped
 * counts with fixed covariates; this one takes any design matrix. */
#include "sjtalign/stats.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "newton.h"

static double logistic(double x)
{
    return x >= 0 ? 1 / (1 + exp(-x)) : exp(x) / (1 + exp(x));
}

/* P(l < Z <= u) for the logistic Z, taken from the tail where the
 * difference keeps its digits. */
static double interval_prob(double l, double u)
{
    if (l > 0)
        return logistic(-l) - logistic(-u);
    return logistic(u) - logistic(l);
}

void sj_ordinal_probs(const double *thresholds, size_t n_cats, double eta, double *probs)
{
    for (size_t k = 0; k < n_cats; k++) {
        double l = k == 0 ? -INFINITY : thresholds[k - 1] - eta;
        double u = k + 1 == n_cats ? INFINITY : thresholds[k] - eta;
        probs[k] = interval_prob(l, u);
    }
}

typedef struct {
    const double *x;
    size_t n, p, n_cats;
    const int *y;
    const double *w; /* observation weights, NULL for 1 each */
    double ridge;
    double *a_u, *a_l, *dpi; /* scratch, one parameter vector each */
} ordinal_data;

/* The density f and its derivative f' of the logistic at z; both 0 at an
 * infinite bound. */
static void density(double z, double *f, double *df)
{
    if (isinf(z)) {
        *f = *df = 0;
        return;
    }
    double F = logistic(z), G = logistic(-z);
    *f = F * G;
    *df = *f * (G - F);
}

/* The bounds u = theta_y - eta and l = theta_{y-1} - eta are linear in the
 * parameters with gradients a_u and a_l; pi = F(u) - F(l), so
 * d pi = f(u) a_u - f(l) a_l and d2 pi = f'(u) a_u a_u' - f'(l) a_l a_l'. */
static void add_observation(const ordinal_data *d, size_t i, double pi, double l, double u,
                            double *grad, double *hess)
{
    double w = d->w ? d->w[i] : 1.0;
    size_t nz = d->n_cats - 1, P = nz + d->p;
    const double *xi = d->x + i * d->p;
    int y = d->y[i];
    double fu, dfu, fl, dfl;
    density(u, &fu, &dfu);
    density(l, &fl, &dfl);
    memset(d->a_u, 0, P * sizeof *d->a_u);
    memset(d->a_l, 0, P * sizeof *d->a_l);
    if ((size_t)y < nz)
        d->a_u[y] = 1;
    if (y > 0)
        d->a_l[y - 1] = 1;
    for (size_t j = 0; j < d->p; j++)
        d->a_u[nz + j] = d->a_l[nz + j] = -xi[j];
    for (size_t a = 0; a < P; a++) {
        d->dpi[a] = fu * d->a_u[a] - fl * d->a_l[a];
        grad[a] += w * (d->dpi[a] / pi);
    }
    if (!hess)
        return;
    for (size_t a = 0; a < P; a++)
        for (size_t b = 0; b < P; b++) {
            double d2 = dfu * d->a_u[a] * d->a_u[b] - dfl * d->a_l[a] * d->a_l[b];
            hess[a * P + b] += w * (d2 / pi - d->dpi[a] * d->dpi[b] / (pi * pi));
        }
}

static double penalised_loglik(const double *params, double *grad, double *hess, void *ctx)
{
    const ordinal_data *d = ctx;
    size_t nz = d->n_cats - 1, P = nz + d->p;
    for (size_t k = 1; k < nz; k++)
        if (!(params[k] > params[k - 1]))
            return -INFINITY;
    if (grad)
        memset(grad, 0, P * sizeof *grad);
    if (hess)
        memset(hess, 0, P * P * sizeof *hess);
    const double *beta = params + nz;
    double ll = 0;
    for (size_t i = 0; i < d->n; i++) {
        const double *xi = d->x + i * d->p;
        double eta = 0;
        for (size_t j = 0; j < d->p; j++)
            eta += xi[j] * beta[j];
        size_t y = (size_t)d->y[i];
        double l = y == 0 ? -INFINITY : params[y - 1] - eta;
        double u = y == nz ? INFINITY : params[y] - eta;
        double pi = interval_prob(l, u);
        if (!(pi > 0))
            return -INFINITY;
        ll += (d->w ? d->w[i] : 1.0) * log(pi);
        if (grad)
            add_observation(d, i, pi, l, u, grad, hess);
    }
    for (size_t j = 0; j < d->p; j++) {
        ll -= d->ridge / 2 * beta[j] * beta[j];
        if (grad)
            grad[nz + j] -= d->ridge * beta[j];
        if (hess)
            hess[(nz + j) * P + nz + j] -= d->ridge;
    }
    return ll;
}

/* The inputs are valid; count[k] receives the total weight of category k. */
static sj_status check_input(const double *x, size_t n, size_t p, const int *y, const double *w,
                             size_t n_cats, double ridge, double *count, sj_error *err)
{
    if (n == 0)
        return sj_error_set(err, SJ_ERR_INPUT, "ordinal fit: no observations");
    if (n_cats < 2)
        return sj_error_set(err, SJ_ERR_INPUT, "ordinal fit: needs at least 2 categories, got %zu",
                            n_cats);
    if (!(ridge >= 0) || isinf(ridge))
        return sj_error_set(err, SJ_ERR_INPUT, "ordinal fit: ridge must be a finite number >= 0");
    for (size_t i = 0; i < n; i++) {
        if (y[i] < 0 || (size_t)y[i] >= n_cats)
            return sj_error_set(err, SJ_ERR_INPUT,
                                "ordinal fit: observation %zu has category %d, outside 0..%zu", i,
                                y[i], n_cats - 1);
        if (w && !(w[i] > 0 && isfinite(w[i])))
            return sj_error_set(err, SJ_ERR_INPUT,
                                "ordinal fit: observation %zu has weight %g; weights must be "
                                "finite numbers > 0",
                                i, w[i]);
        count[y[i]] += w ? w[i] : 1.0;
        for (size_t j = 0; j < p; j++)
            if (!isfinite(x[i * p + j]))
                return sj_error_set(err, SJ_ERR_INPUT,
                                    "ordinal fit: covariate %zu of observation %zu is not finite",
                                    j, i);
    }
    for (size_t k = 0; k < n_cats; k++)
        if (count[k] == 0)
            return sj_error_set(err, SJ_ERR_INPUT,
                                "ordinal fit: category %zu has no observations (merge it with a "
                                "neighbour)",
                                k);
    return SJ_OK;
}

double sj_ordinal_objective_weighted(const double *x, size_t n, size_t p, const int *y,
                                     const double *w, size_t n_cats, double ridge,
                                     const double *params, double *grad, double *hess)
{
    size_t P = n_cats - 1 + p;
    ordinal_data d = {x, n, p, n_cats, y, w, ridge, NULL, NULL, NULL};
    d.a_u = malloc(P * sizeof *d.a_u);
    d.a_l = malloc(P * sizeof *d.a_l);
    d.dpi = malloc(P * sizeof *d.dpi);
    /* the Hessian is accumulated along with the gradient */
    double *own_grad = hess && !grad ? malloc(P * sizeof *own_grad) : NULL;
    double ll = NAN;
    if (d.a_u && d.a_l && d.dpi && (!hess || grad || own_grad))
        ll = penalised_loglik(params, grad ? grad : own_grad, hess, &d);
    free(own_grad);
    free(d.a_u);
    free(d.a_l);
    free(d.dpi);
    return ll;
}

double sj_ordinal_objective(const double *x, size_t n, size_t p, const int *y, size_t n_cats,
                            double ridge, const double *params, double *grad)
{
    return sj_ordinal_objective_weighted(x, n, p, y, NULL, n_cats, ridge, params, grad, NULL);
}

/* The covariate-free MLE: thresholds at the logits of the cumulative
 * proportions. */
static void start_values(const double *count, size_t n_cats, double *params)
{
    double total = 0, cum = 0;
    for (size_t k = 0; k < n_cats; k++)
        total += count[k];
    for (size_t k = 0; k + 1 < n_cats; k++) {
        cum += count[k];
        double c = cum / total;
        params[k] = log(c / (1 - c));
    }
}

sj_status sj_ordinal_fit(const double *x, size_t n, size_t p, const int *y, size_t n_cats,
                         double ridge, sj_ordinal_model *out, sj_error *err)
{
    return sj_ordinal_fit_weighted(x, n, p, y, NULL, n_cats, ridge, out, err);
}

sj_status sj_ordinal_fit_weighted(const double *x, size_t n, size_t p, const int *y,
                                  const double *w, size_t n_cats, double ridge,
                                  sj_ordinal_model *out, sj_error *err)
{
    memset(out, 0, sizeof *out);
    double *count = n_cats ? calloc(n_cats, sizeof *count) : NULL;
    if (n_cats && !count)
        return sj_error_set(err, SJ_ERR_WORK, "out of memory");
    sj_status st = check_input(x, n, p, y, w, n_cats, ridge, count, err);
    if (st != SJ_OK) {
        free(count);
        return st;
    }
    size_t nz = n_cats - 1, P = nz + p;
    double *params = calloc(P, sizeof *params);
    ordinal_data d = {x, n, p, n_cats, y, w, ridge, NULL, NULL, NULL};
    d.a_u = malloc(P * sizeof *d.a_u);
    d.a_l = malloc(P * sizeof *d.a_l);
    d.dpi = malloc(P * sizeof *d.dpi);
    out->thresholds = malloc(nz * sizeof *out->thresholds);
    out->beta = calloc(p ? p : 1, sizeof *out->beta);
    if (!params || !d.a_u || !d.a_l || !d.dpi || !out->thresholds || !out->beta) {
        st = sj_error_set(err, SJ_ERR_WORK, "out of memory");
    } else {
        start_values(count, n_cats, params);
        sj_newton_result res;
        sj_newton_maximize(P, params, penalised_loglik, &d, 200, &res);
        if (res.status == SJ_NEWTON_NO_MEMORY)
            st = sj_error_set(err, SJ_ERR_WORK, "out of memory");
        out->n_cats = n_cats;
        out->n_coef = p;
        out->converged = res.status == SJ_NEWTON_CONVERGED;
        out->iterations = res.iterations;
        out->penalised = res.ll;
        memcpy(out->thresholds, params, nz * sizeof *params);
        memcpy(out->beta, params + nz, p * sizeof *params);
        double pen = 0;
        for (size_t j = 0; j < p; j++)
            pen += ridge / 2 * out->beta[j] * out->beta[j];
        out->loglik = res.ll + pen;
    }
    if (st != SJ_OK)
        sj_ordinal_model_free(out);
    free(count);
    free(params);
    free(d.a_u);
    free(d.a_l);
    free(d.dpi);
    return st;
}

void sj_ordinal_model_free(sj_ordinal_model *m)
{
    if (!m)
        return;
    free(m->thresholds);
    free(m->beta);
    m->thresholds = NULL;
    m->beta = NULL;
}
