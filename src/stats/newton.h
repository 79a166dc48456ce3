/* Newton's method for concave log-likelihoods (private to the stats
 * module), shared by the binary and the ordinal logistic models. */
#ifndef SJ_STATS_NEWTON_H
#define SJ_STATS_NEWTON_H

#include <stddef.h>

/* Returns the log-likelihood at theta, or -INFINITY where theta is outside
 * the parameter space. When grad and hess are not NULL it fills the
 * gradient (p) and the Hessian (p x p, row-major). */
typedef double (*sj_loglik_fn)(const double *theta, double *grad, double *hess, void *ctx);

typedef enum {
    SJ_NEWTON_CONVERGED = 0,
    SJ_NEWTON_MAX_ITER, /* the iteration limit was reached */
    SJ_NEWTON_SINGULAR, /* the information matrix is not positive definite */
    SJ_NEWTON_STUCK,    /* no step along the Newton direction increased the likelihood */
    SJ_NEWTON_NO_MEMORY,
} sj_newton_status;

typedef struct {
    sj_newton_status status;
    int iterations;
    double ll;
} sj_newton_result;

/* Maximises f from theta (updated in place). Converged when the Newton
 * decrement g' H^-1 g / 2 (the predicted gain) falls below 1e-18 (1 + |ll|),
 * or stops shrinking once below 1e-11 (1 + |ll|), which is the rounding
 * floor of the gradient. Either leaves the log-likelihood exact to rounding. */
void sj_newton_maximize(size_t p, double *theta, sj_loglik_fn f, void *ctx, int max_iter,
                        sj_newton_result *out);

#endif
