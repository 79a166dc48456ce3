/* DIF classification rules and multiple-testing adjustment. */
#include "sjtalign/stats.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

const char *sj_ets_class(double delta, double se_delta, double p)
{
    if (isnan(delta) || isnan(se_delta) || isnan(p))
        return NULL;
    double a = fabs(delta);
    if (p >= SJ_ETS_ALPHA || a < SJ_ETS_DELTA_B)
        return "A";
    /* 1.645: the one-sided 5% normal quantile of (|delta| - 1) / se */
    if (a >= SJ_ETS_DELTA_C && (a - SJ_ETS_DELTA_B) / se_delta > 1.645)
        return "C";
    return "B";
}

const char *sj_ets_poly_class(double smd_over_sd, double p)
{
    if (isnan(smd_over_sd) || isnan(p))
        return NULL;
    double a = fabs(smd_over_sd);
    if (p >= SJ_ETS_ALPHA || a <= SJ_ETS_SMD_B)
        return "AA";
    if (a > SJ_ETS_SMD_C)
        return "CC";
    return "BB";
}

const char *sj_r2_class(double dr2, double p_joint, double bound_b, double bound_c)
{
    if (isnan(dr2) || isnan(p_joint))
        return NULL;
    if (p_joint >= 0.05 || dr2 < bound_b)
        return "A";
    if (dr2 >= bound_c)
        return "C";
    return "B";
}

typedef struct {
    double p;
    size_t at;
} ranked;

static int by_p(const void *a, const void *b)
{
    const ranked *x = a, *y = b;
    if (x->p != y->p)
        return x->p < y->p ? -1 : 1;
    return x->at < y->at ? -1 : (x->at > y->at);
}

sj_status sj_p_adjust(const double *p, size_t n, sj_adjust method, double *out, sj_error *err)
{
    if (method == SJ_ADJUST_NONE) {
        if (out != p)
            memmove(out, p, n * sizeof *out);
        return SJ_OK;
    }
    /* The ranks and the adjusted values of the m p-values that are not NaN;
     * a count whose arrays cannot be sized is refused before any is read. */
    int sized = n <= (size_t)PTRDIFF_MAX / sizeof(ranked);
    ranked *r = sized ? malloc((n ? n : 1) * sizeof *r) : NULL;
    double *adj = sized ? malloc((n ? n : 1) * sizeof *adj) : NULL;
    if (!r || !adj) {
        free(r);
        free(adj);
        return sj_error_set(err, SJ_ERR_WORK, "out of memory adjusting %zu p-values", n);
    }
    size_t m = 0;
    for (size_t i = 0; i < n; i++)
        if (!isnan(p[i])) {
            r[m].p = p[i];
            r[m].at = i;
            m++;
        }
    qsort(r, m, sizeof *r, by_p);
    if (method == SJ_ADJUST_HOLM) {
        double running = 0;
        for (size_t i = 0; i < m; i++) {
            running = fmax(running, (double)(m - i) * r[i].p);
            adj[i] = fmin(1, running);
        }
    } else {
        double running = INFINITY;
        for (size_t i = m; i-- > 0;) {
            running = fmin(running, (double)m / (double)(i + 1) * r[i].p);
            adj[i] = fmin(1, running);
        }
    }
    for (size_t i = 0; i < n; i++)
        out[i] = NAN;
    for (size_t i = 0; i < m; i++)
        out[r[i].at] = adj[i];
    free(r);
    free(adj);
    return SJ_OK;
}
