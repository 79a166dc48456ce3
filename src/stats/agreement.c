/* Agreement between machine and human scores: exact and adjacent
 * agreement, quadratic weighted kappa, Pearson r and the standardized mean
 * difference, as reported in automated-scoring evaluations. */
#include "sjtalign/stats.h"

#include <math.h>
#include <string.h>

typedef struct {
    double mean_x, mean_y, var_x, var_y, cov; /* population (divide by n) moments */
} moments2;

static moments2 pair_moments(const double *x, const double *y, size_t n)
{
    moments2 m = {0, 0, 0, 0, 0};
    for (size_t i = 0; i < n; i++) {
        m.mean_x += x[i];
        m.mean_y += y[i];
    }
    m.mean_x /= (double)n;
    m.mean_y /= (double)n;
    for (size_t i = 0; i < n; i++) {
        double dx = x[i] - m.mean_x, dy = y[i] - m.mean_y;
        m.var_x += dx * dx;
        m.var_y += dy * dy;
        m.cov += dx * dy;
    }
    m.var_x /= (double)n;
    m.var_y /= (double)n;
    m.cov /= (double)n;
    return m;
}

/* Half away from zero; a score within 1e-9 of a half counts as the half, so
 * that sums of decimal scores (7.4999999999 for 7.5) round as written. */
static double round_score(double x)
{
    return round(x + copysign(1e-9, x));
}

static double share_within(const double *machine, const double *human, size_t n, double tol)
{
    if (n == 0)
        return NAN;
    size_t hits = 0;
    for (size_t i = 0; i < n; i++)
        hits += fabs(round_score(machine[i]) - human[i]) <= tol;
    return (double)hits / (double)n;
}

double sj_exact_agreement(const double *machine, const double *human, size_t n)
{
    return share_within(machine, human, n, 0);
}

double sj_adjacent_agreement(const double *machine, const double *human, size_t n)
{
    return share_within(machine, human, n, 1);
}

double sj_qwk(const double *machine, const double *human, size_t n)
{
    if (n < 2)
        return NAN;
    moments2 m = pair_moments(machine, human, n);
    double d = m.mean_x - m.mean_y;
    double denom = m.var_x + m.var_y + d * d;
    return denom > 0 ? 2 * m.cov / denom : NAN;
}

double sj_pearson_r(const double *x, const double *y, size_t n)
{
    if (n < 2)
        return NAN;
    moments2 m = pair_moments(x, y, n);
    return m.var_x > 0 && m.var_y > 0 ? m.cov / sqrt(m.var_x * m.var_y) : NAN;
}

double sj_smd(const double *machine, const double *human, size_t n)
{
    if (n < 2)
        return NAN;
    moments2 m = pair_moments(machine, human, n);
    double scale = (double)n / (double)(n - 1);
    double pooled = sqrt((m.var_x + m.var_y) * scale / 2);
    return pooled > 0 ? (m.mean_x - m.mean_y) / pooled : NAN;
}

void sj_agreement_compute(const double *machine, const double *human, size_t n, sj_agreement *out)
{
    memset(out, 0, sizeof *out);
    out->n = (long)n;
    out->exact = sj_exact_agreement(machine, human, n);
    out->adjacent = sj_adjacent_agreement(machine, human, n);
    out->qwk = sj_qwk(machine, human, n);
    out->pearson_r = sj_pearson_r(machine, human, n);
    out->smd = sj_smd(machine, human, n);
    if (n == 0) {
        out->mean_machine = out->mean_human = out->sd_machine = out->sd_human = NAN;
        return;
    }
    moments2 m = pair_moments(machine, human, n);
    double scale = n > 1 ? (double)n / (double)(n - 1) : NAN;
    out->mean_machine = m.mean_x;
    out->mean_human = m.mean_y;
    out->sd_machine = sqrt(m.var_x * scale);
    out->sd_human = sqrt(m.var_y * scale);
}
