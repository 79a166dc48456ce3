/* Mantel's (1963) test for ordered item scores and the standardized mean
 * difference (Dorans & Kulick; Zwick, Donoghue & Grima). */
#include "sjtalign/stats.h"

#include <math.h>
#include <string.h>

#include <gsl/gsl_cdf.h>

typedef struct {
    double n[2];   /* persons per group */
    double sum[2]; /* sum of item scores per group */
    double sum2;   /* sum of squared item scores, both groups */
} stratum_moments;

static stratum_moments moments(const sj_dif_counts *c, size_t k)
{
    stratum_moments m;
    memset(&m, 0, sizeof m);
    for (size_t g = 0; g < 2; g++)
        for (size_t j = 0; j < c->n_cats; j++) {
            double n = c->count[(k * 2 + g) * c->n_cats + j], y = c->cat_value[j];
            m.n[g] += n;
            m.sum[g] += n * y;
            m.sum2 += n * y * y;
        }
    return m;
}

static double item_sd(const sj_dif_counts *c)
{
    double n = 0, sum = 0, sum2 = 0;
    for (size_t k = 0; k < c->n_strata; k++) {
        stratum_moments m = moments(c, k);
        n += m.n[0] + m.n[1];
        sum += m.sum[0] + m.sum[1];
    }
    if (n < 2)
        return NAN;
    double mean = sum / n;
    for (size_t k = 0; k < c->n_strata; k++)
        for (size_t g = 0; g < 2; g++)
            for (size_t j = 0; j < c->n_cats; j++) {
                double d = c->cat_value[j] - mean;
                sum2 += c->count[(k * 2 + g) * c->n_cats + j] * d * d;
            }
    return sqrt(sum2 / (n - 1));
}

/* Delta-method standard errors of the SMD and SMD/SD (see stats.h). The
 * derivatives by the count of a cell with item score y in stratum k, over
 * the strata the SMD uses (both groups, >= 2 persons), with N_F the focal
 * persons there and m_R,k the reference mean of stratum k:
 *   focal cell:     dSMD = (y - m_R,k - SMD) / N_F
 *   reference cell: dSMD = -n_F,k (y - m_R,k) / (n_R,k N_F)
 * and over every cell counted, with the item's mean m, SD s and n persons:
 *   ds = ((y - m)^2 - s^2) / (2 s (n - 1)),
 * so d(SMD/s) = dSMD / s - SMD ds / s^2. */
static void smd_standard_errors(const sj_dif_counts *c, sj_mantel *out, double focal_n)
{
    double n_all = 0, sum_all = 0;
    for (size_t k = 0; k < c->n_strata; k++) {
        stratum_moments m = moments(c, k);
        n_all += m.n[0] + m.n[1];
        sum_all += m.sum[0] + m.sum[1];
    }
    double mean = sum_all / n_all, s = out->item_sd, smd = out->smd;
    double g1 = 0, g2 = 0, h1 = 0, h2 = 0;
    for (size_t k = 0; k < c->n_strata; k++) {
        stratum_moments m = moments(c, k);
        int used = m.n[0] + m.n[1] >= 2 && m.n[0] > 0 && m.n[1] > 0;
        double mean_ref = used ? m.sum[0] / m.n[0] : 0;
        for (size_t g = 0; g < 2; g++)
            for (size_t j = 0; j < c->n_cats; j++) {
                double n = c->count[(k * 2 + g) * c->n_cats + j], y = c->cat_value[j];
                if (n <= 0)
                    continue;
                double d_smd = !used ? 0
                               : g   ? (y - mean_ref - smd) / focal_n
                                     : -m.n[1] * (y - mean_ref) / (m.n[0] * focal_n);
                double d_sd = ((y - mean) * (y - mean) - s * s) / (2 * s * (n_all - 1));
                double d_ratio = d_smd / s - smd * d_sd / (s * s);
                g1 += n * d_smd;
                g2 += n * d_smd * d_smd;
                h1 += n * d_ratio;
                h2 += n * d_ratio * d_ratio;
            }
    }
    out->se_smd = sqrt(fmax(g2 - g1 * g1 / n_all, 0));
    out->se_smd_over_sd = s > 0 ? sqrt(fmax(h2 - h1 * h1 / n_all, 0)) : NAN;
}

void sj_mantel_compute(const sj_dif_counts *c, sj_mantel *out)
{
    memset(out, 0, sizeof *out);
    double dev = 0, var = 0, weighted = 0, focal_n = 0;
    for (size_t k = 0; k < c->n_strata; k++) {
        stratum_moments m = moments(c, k);
        double T = m.n[0] + m.n[1];
        if (T < 2 || m.n[0] <= 0 || m.n[1] <= 0)
            continue;
        out->n_strata_used++;
        double total = m.sum[0] + m.sum[1];
        dev += m.sum[1] - m.n[1] * total / T;
        var += m.n[0] * m.n[1] * (T * m.sum2 - total * total) / (T * T * (T - 1));
        weighted += m.n[1] * (m.sum[1] / m.n[1] - m.sum[0] / m.n[0]);
        focal_n += m.n[1];
    }
    out->note = NULL;
    if (var > 0) {
        out->chi2 = dev * dev / var;
        out->p = gsl_cdf_chisq_Q(out->chi2, 1);
    } else {
        out->chi2 = out->p = NAN;
        out->note = "no stratum holds both groups with varying scores: Mantel's test is "
                    "undefined";
    }
    out->item_sd = item_sd(c);
    if (focal_n > 0) {
        out->smd = weighted / focal_n;
        out->smd_over_sd = out->item_sd > 0 ? out->smd / out->item_sd : NAN;
        if (out->item_sd > 0)
            smd_standard_errors(c, out, focal_n);
        else
            out->se_smd = out->se_smd_over_sd = NAN;
    } else {
        out->smd = out->smd_over_sd = out->se_smd = out->se_smd_over_sd = NAN;
        if (!out->note)
            out->note = "no stratum holds both groups: the SMD is undefined";
    }
}
