/* Damped Newton iterations with GSL's Cholesky factorisation. */
#include "newton.h"

#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_errno.h>
#include <gsl/gsl_linalg.h>

/* Solves (-H) step = g; returns the decrement g' step / 2, or -1 when -H
 * is not positive definite. */
static double newton_step(size_t p, const double *grad, const double *hess, double *step)
{
    double *neg = malloc(p * p * sizeof *neg);
    if (!neg)
        return -1;
    for (size_t i = 0; i < p * p; i++)
        neg[i] = -hess[i];
    gsl_matrix_view m = gsl_matrix_view_array(neg, p, p);
    gsl_vector_const_view g = gsl_vector_const_view_array(grad, p);
    gsl_vector_view s = gsl_vector_view_array(step, p);
    /* A matrix that is not positive definite is an answer here, not an
     * error to abort on. GSL's handler is process-wide: inside a parallel
     * region the caller has already switched it off (see dif.c). */
    int nested = omp_in_parallel();
    gsl_error_handler_t *old = nested ? NULL : gsl_set_error_handler_off();
    int rc = gsl_linalg_cholesky_decomp1(&m.matrix);
    if (rc == 0)
        rc = gsl_linalg_cholesky_solve(&m.matrix, &g.vector, &s.vector);
    if (!nested)
        gsl_set_error_handler(old);
    free(neg);
    if (rc != 0)
        return -1;
    double dec = 0;
    for (size_t i = 0; i < p; i++) {
        if (!isfinite(step[i]))
            return -1;
        dec += grad[i] * step[i];
    }
    return dec / 2;
}

void sj_newton_maximize(size_t p, double *theta, sj_loglik_fn f, void *ctx, int max_iter,
                        sj_newton_result *out)
{
    memset(out, 0, sizeof *out);
    double *grad = malloc(p * sizeof *grad);
    double *hess = malloc(p * p * sizeof *hess);
    double *step = malloc(p * sizeof *step);
    double *trial = malloc(p * sizeof *trial);
    if (!grad || !hess || !step || !trial) {
        out->status = SJ_NEWTON_NO_MEMORY;
        goto done;
    }
    double ll = f(theta, grad, hess, ctx);
    out->status = SJ_NEWTON_MAX_ITER;
    double prev_dec = INFINITY;
    for (int it = 0; it < max_iter; it++) {
        out->iterations = it + 1;
        double dec = newton_step(p, grad, hess, step);
        if (dec < 0) {
            out->status = SJ_NEWTON_SINGULAR;
            break;
        }
        /* Converged at the rounding floor: quadratic convergence has
         * stopped shrinking the decrement, which is already tiny. */
        int at_floor = dec < 1e-11 * (1 + fabs(ll)) && dec > 0.25 * prev_dec;
        if (dec < 1e-18 * (1 + fabs(ll)) || at_floor) {
            out->status = SJ_NEWTON_CONVERGED;
            break;
        }
        prev_dec = dec;
        double t = 1, ll_new = -INFINITY;
        for (int halving = 0; halving < 60; halving++, t /= 2) {
            for (size_t i = 0; i < p; i++)
                trial[i] = theta[i] + t * step[i];
            ll_new = f(trial, NULL, NULL, ctx);
            if (ll_new >= ll)
                break;
        }
        if (!(ll_new >= ll)) {
            /* Rounding can stop progress right at the maximum: that is
             * convergence when the predicted gain is already negligible. */
            out->status = dec < 1e-10 * (1 + fabs(ll)) ? SJ_NEWTON_CONVERGED : SJ_NEWTON_STUCK;
            break;
        }
        memcpy(theta, trial, p * sizeof *theta);
        ll = f(theta, grad, hess, ctx);
    }
    out->ll = ll;
done:
    free(grad);
    free(hess);
    free(step);
    free(trial);
}
