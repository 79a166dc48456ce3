/* Logistic-regression DIF for dichotomous items (Swaminathan & Rogers):
 * three nested binary logistic models fitted to the counts per (matching
 * score, group), which is all the likelihood depends on. */
#include "sjtalign/stats.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_cdf.h>

#include "lr_common.h"

sj_score_scale sj_lr_score_scale(const sj_dif_counts *c)
{
    double n = 0, sum = 0, sum2 = 0;
    for (size_t k = 0; k < c->n_strata; k++) {
        double nk = 0;
        for (size_t j = 0; j < 2 * c->n_cats; j++)
            nk += c->count[k * 2 * c->n_cats + j];
        n += nk;
        sum += nk * c->stratum_score[k];
    }
    double mean = n > 0 ? sum / n : 0;
    for (size_t k = 0; k < c->n_strata; k++) {
        double nk = 0;
        for (size_t j = 0; j < 2 * c->n_cats; j++)
            nk += c->count[k * 2 * c->n_cats + j];
        double dev = c->stratum_score[k] - mean;
        sum2 += nk * dev * dev;
    }
    double sd = n > 1 ? sqrt(sum2 / (n - 1)) : 0;
    sj_score_scale sc = {mean, sd > 0 ? sd : 1};
    return sc;
}

void sj_lr_design_row(double x[3], const sj_dif_counts *c, sj_score_scale sc, size_t k, int g)
{
    double s = (c->stratum_score[k] - sc.mean) / sc.sd;
    x[0] = s;
    x[1] = g;
    x[2] = s * g;
}

void sj_lr_record_fit(sj_lr_dif *out, int m, const sj_newton_result *fit, const double *slopes,
                      size_t n_slopes, sj_score_scale sc)
{
    out->iterations[m] = fit->iterations;
    out->converged[m] = fit->status == SJ_NEWTON_CONVERGED;
    int separated = 0;
    for (size_t j = 0; j < n_slopes; j++)
        if (!(fabs(slopes[j]) <= SJ_LR_SEPARATION_BETA))
            separated = 1;
    out->separated[m] = separated;
    double b_s = slopes[0], b_g = n_slopes > 1 ? slopes[1] : 0, b_sg = n_slopes > 2 ? slopes[2] : 0;
    out->beta[m][0] = b_s / sc.sd;
    out->beta[m][1] = b_g - b_sg * sc.mean / sc.sd;
    out->beta[m][2] = b_sg / sc.sd;
    out->beta[m][3] = 0;
    out->ll[m] = out->converged[m] && !separated ? fit->ll : NAN;
}

static double chi2_p(double x, double df)
{
    return isnan(x) ? NAN : gsl_cdf_chisq_Q(x > 0 ? x : 0, df);
}

static double nagelkerke(double ll0, double ll, double n)
{
    double cox_snell = -expm1(2 * (ll0 - ll) / n);
    double max = -expm1(2 * ll0 / n);
    return cox_snell / max;
}

void sj_lr_finish(sj_lr_dif *out, double n)
{
    for (int m = 0; m < 3; m++) {
        out->r2n[m] = nagelkerke(out->ll_null, out->ll[m], n);
        out->r2mcf[m] = 1 - out->ll[m] / out->ll_null;
    }
    /* Nested maximum likelihoods: a negative difference is rounding. */
    out->lr_uniform = fmax(0, 2 * (out->ll[1] - out->ll[0]));
    out->lr_nonuniform = fmax(0, 2 * (out->ll[2] - out->ll[1]));
    out->lr_joint = fmax(0, 2 * (out->ll[2] - out->ll[0]));
    for (int m = 0; m < 3; m++)
        if (isnan(out->ll[m])) {
            if (m != 2)
                out->lr_uniform = NAN;
            if (m != 0)
                out->lr_nonuniform = NAN;
            if (m != 1)
                out->lr_joint = NAN;
        }
    out->p_uniform = chi2_p(out->lr_uniform, 1);
    out->p_nonuniform = chi2_p(out->lr_nonuniform, 1);
    out->p_joint = chi2_p(out->lr_joint, 2);
    out->dr2n = out->r2n[2] - out->r2n[0];
    out->dr2mcf = out->r2mcf[2] - out->r2mcf[0];
    out->note = NULL;
    for (int m = 0; m < 3; m++) {
        if (out->separated[m]) {
            out->note = "separation: the data are perfectly predicted by the matching score or "
                        "group (coefficients diverge), so the likelihood-ratio tests are undefined";
            break;
        }
        if (!out->converged[m]) {
            out->note = "the regression did not converge (information matrix singular or "
                        "iteration limit reached), so the likelihood-ratio tests are undefined";
            break;
        }
    }
}

typedef struct {
    size_t n_cells;
    size_t p;        /* parameters: intercept + slopes */
    double *x;       /* n_cells * 3: scaled s, g, s*g */
    double *y1, *y0; /* counts of 1 and 0 per cell */
} binary_cells;

static double binary_loglik(const double *beta, double *grad, double *hess, void *ctx)
{
    const binary_cells *bc = ctx;
    size_t p = bc->p;
    if (grad) {
        memset(grad, 0, p * sizeof *grad);
        memset(hess, 0, p * p * sizeof *hess);
    }
    double ll = 0;
    for (size_t i = 0; i < bc->n_cells; i++) {
        const double *x = bc->x + 3 * i;
        double row[4] = {1, x[0], x[1], x[2]};
        double eta = beta[0];
        for (size_t j = 1; j < p; j++)
            eta += beta[j] * row[j];
        /* log p = -log(1 + e^-eta), log(1 - p) = -log(1 + e^eta), stably */
        double log_p = eta > 0 ? -log1p(exp(-eta)) : eta - log1p(exp(eta));
        double log_q = eta > 0 ? -eta - log1p(exp(-eta)) : -log1p(exp(eta));
        ll += bc->y1[i] * log_p + bc->y0[i] * log_q;
        if (grad) {
            double prob = exp(log_p), n = bc->y1[i] + bc->y0[i];
            double resid = bc->y1[i] - n * prob, w = n * prob * (1 - prob);
            for (size_t a = 0; a < p; a++) {
                grad[a] += resid * row[a];
                for (size_t b = 0; b < p; b++)
                    hess[a * p + b] -= w * row[a] * row[b];
            }
        }
    }
    return ll;
}

static int build_binary_cells(const sj_dif_counts *c, sj_score_scale sc, binary_cells *bc)
{
    size_t max_cells = 2 * c->n_strata;
    bc->x = malloc((max_cells ? max_cells : 1) * 3 * sizeof *bc->x);
    bc->y1 = malloc((max_cells ? max_cells : 1) * sizeof *bc->y1);
    bc->y0 = malloc((max_cells ? max_cells : 1) * sizeof *bc->y0);
    if (!bc->x || !bc->y1 || !bc->y0)
        return -1;
    bc->n_cells = 0;
    for (size_t k = 0; k < c->n_strata; k++)
        for (int g = 0; g < 2; g++) {
            const double *cnt = c->count + (k * 2 + (size_t)g) * 2;
            if (cnt[0] + cnt[1] <= 0)
                continue;
            sj_lr_design_row(bc->x + 3 * bc->n_cells, c, sc, k, g);
            bc->y0[bc->n_cells] = cnt[0];
            bc->y1[bc->n_cells] = cnt[1];
            bc->n_cells++;
        }
    return 0;
}

static void free_binary_cells(binary_cells *bc)
{
    free(bc->x);
    free(bc->y1);
    free(bc->y0);
}

void sj_logistic_dif(const sj_dif_counts *c, sj_lr_dif *out)
{
    memset(out, 0, sizeof *out);
    double n1 = 0, n0 = 0;
    for (size_t k = 0; k < c->n_strata; k++)
        for (int g = 0; g < 2; g++) {
            n0 += c->count[(k * 2 + (size_t)g) * 2];
            n1 += c->count[(k * 2 + (size_t)g) * 2 + 1];
        }
    double n = n0 + n1;
    for (int m = 0; m < 3; m++)
        out->ll[m] = NAN;
    if (c->n_cats != 2 || n0 <= 0 || n1 <= 0) {
        out->ll_null = NAN;
        sj_lr_finish(out, n);
        out->note = "logistic regression needs both scores 0 and 1 among the persons compared";
        return;
    }
    out->ll_null = n1 * log(n1 / n) + n0 * log(n0 / n);
    sj_score_scale sc = sj_lr_score_scale(c);
    binary_cells bc = {0};
    if (build_binary_cells(c, sc, &bc) != 0) {
        free_binary_cells(&bc);
        sj_lr_finish(out, n);
        out->note = "out of memory fitting the logistic regression";
        return;
    }
    double theta[4] = {log(n1 / n0), 0, 0, 0};
    for (int m = 0; m < 3; m++) {
        bc.p = (size_t)m + 2;
        /* Each model starts from the previous one's estimates. */
        sj_newton_result fit;
        sj_newton_maximize(bc.p, theta, binary_loglik, &bc, SJ_LR_MAX_ITER, &fit);
        sj_lr_record_fit(out, m, &fit, theta + 1, bc.p - 1, sc);
    }
    free_binary_cells(&bc);
    sj_lr_finish(out, n);
}
