/* Mantel-Haenszel DIF for dichotomous items: common odds ratio, ETS delta
 * with the Robins-Breslow-Greenland standard error, the chi-square with and
 * without continuity correction, and the Breslow-Day homogeneity test. */
#include "sjtalign/stats.h"

#include <math.h>
#include <string.h>

#include <gsl/gsl_cdf.h>

typedef struct {
    double A, B, C, D, T;
} table2x2;

/* Stratum k: A = ref & 1, B = ref & 0, C = focal & 1, D = focal & 0. */
static table2x2 stratum(const sj_dif_counts *c, size_t k)
{
    const double *ref = c->count + (k * 2) * 2, *foc = c->count + (k * 2 + 1) * 2;
    table2x2 t = {ref[1], ref[0], foc[1], foc[0], 0};
    t.T = t.A + t.B + t.C + t.D;
    return t;
}

static int informative(const table2x2 *t)
{
    return t->T >= 2 && t->A + t->B > 0 && t->C + t->D > 0;
}

/* Fitted A of a stratum under a common odds ratio psi with the margins
 * fixed: the root of (1 - psi) a^2 + (n_F - m_1 + psi (n_R + m_1)) a -
 * psi n_R m_1 = 0 that lies between the bounds the margins allow. */
static double fitted_a(const table2x2 *t, double psi)
{
    double nR = t->A + t->B, nF = t->C + t->D, m1 = t->A + t->C;
    double lo = fmax(0, m1 - nF), hi = fmin(nR, m1);
    double qa = 1 - psi, qb = nF - m1 + psi * (nR + m1), qc = -psi * nR * m1;
    if (fabs(qa) < 1e-15 * fabs(qb))
        return -qc / qb;
    double disc = sqrt(qb * qb - 4 * qa * qc);
    double q = -0.5 * (qb + (qb >= 0 ? disc : -disc));
    double r1 = q / qa, r2 = qc / q;
    double slack = 1e-9 * (hi - lo + 1);
    if (r1 >= lo - slack && r1 <= hi + slack)
        return r1;
    return r2;
}

static void breslow_day(const sj_dif_counts *c, double alpha, int tarone, sj_mh *out)
{
    double stat = 0, sum_dev = 0, sum_var = 0;
    size_t used = 0;
    for (size_t k = 0; k < c->n_strata; k++) {
        table2x2 t = stratum(c, k);
        double m1 = t.A + t.C, m0 = t.B + t.D;
        if (t.A + t.B <= 0 || t.C + t.D <= 0 || m1 <= 0 || m0 <= 0)
            continue;
        double a = fitted_a(&t, alpha);
        double b = t.A + t.B - a, cc = m1 - a, d = t.C + t.D - m1 + a;
        double var = 1 / (1 / a + 1 / b + 1 / cc + 1 / d);
        stat += (t.A - a) * (t.A - a) / var;
        sum_dev += t.A - a;
        sum_var += var;
        used++;
    }
    if (used < 2) {
        out->bd_chi2 = out->bd_df = out->bd_p = NAN;
        return;
    }
    if (tarone)
        stat -= sum_dev * sum_dev / sum_var;
    out->bd_chi2 = stat;
    out->bd_df = (double)(used - 1);
    out->bd_p = gsl_cdf_chisq_Q(fmax(stat, 0), out->bd_df);
}

void sj_mh_compute(const sj_dif_counts *c, int tarone, sj_mh *out)
{
    memset(out, 0, sizeof *out);
    double R = 0, S = 0, PR = 0, PS_QR = 0, QS = 0, dev = 0, var = 0;
    for (size_t k = 0; k < c->n_strata; k++) {
        table2x2 t = stratum(c, k);
        if (!informative(&t))
            continue;
        out->n_strata_used++;
        double r = t.A * t.D / t.T, s = t.B * t.C / t.T;
        double p = (t.A + t.D) / t.T, q = (t.B + t.C) / t.T;
        R += r;
        S += s;
        PR += p * r;
        PS_QR += p * s + q * r;
        QS += q * s;
        double nR = t.A + t.B, nF = t.C + t.D, m1 = t.A + t.C, m0 = t.B + t.D;
        dev += t.A - nR * m1 / t.T;
        var += nR * nF * m1 * m0 / (t.T * t.T * (t.T - 1));
    }
    out->note = NULL;
    if (var > 0) {
        /* R applies the correction only when it does not overshoot. */
        double cc = fabs(dev) >= 0.5 ? 0.5 : 0;
        out->chi2 = (fabs(dev) - cc) * (fabs(dev) - cc) / var;
        out->chi2_nocc = dev * dev / var;
        out->p = gsl_cdf_chisq_Q(out->chi2, 1);
        out->p_nocc = gsl_cdf_chisq_Q(out->chi2_nocc, 1);
    } else {
        out->chi2 = out->chi2_nocc = out->p = out->p_nocc = NAN;
        out->note = "no stratum holds both groups with both scores: the Mantel-Haenszel test "
                    "is undefined";
    }
    if (R > 0 && S > 0) {
        out->alpha = R / S;
        out->delta = -2.35 * log(out->alpha);
        double var_log = PR / (2 * R * R) + PS_QR / (2 * R * S) + QS / (2 * S * S);
        out->se_delta = 2.35 * sqrt(var_log);
        breslow_day(c, out->alpha, tarone, out);
    } else {
        out->alpha = R > 0 ? INFINITY : (S > 0 ? 0 : NAN);
        out->alpha = isinf(out->alpha) ? NAN : out->alpha;
        out->delta = out->se_delta = NAN;
        out->bd_chi2 = out->bd_df = out->bd_p = NAN;
        if (!out->note)
            out->note = "the common odds ratio is 0 or infinite (one group never, or always, "
                        "succeeds within the strata): alpha_mh and delta_mh are undefined";
    }
}
