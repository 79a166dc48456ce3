/* The expert panel checked: agreement between judges (Krippendorff's alpha
 * for nominal data), each judge's agreement with the majority of the
 * others, and whether a judge prefers the higher-scoring candidate more
 * often on one group's responses than on the other's. */
#include "sjtalign/stats.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_cdf.h>

const char *const SJ_PANEL_JUDGE_COLUMNS[SJ_PANEL_N_JUDGE_COLUMNS] = {"judge",
                                                                      "judgments",
                                                                      "ties",
                                                                      "overlap_judgments",
                                                                      "majority_compared",
                                                                      "majority_agreement",
                                                                      "higher_pref_focal",
                                                                      "n_focal",
                                                                      "higher_pref_reference",
                                                                      "n_reference",
                                                                      "group_difference",
                                                                      "group_difference_ci_low",
                                                                      "group_difference_ci_high",
                                                                      "group_p",
                                                                      "group_p_holm",
                                                                      "weight",
                                                                      "flags"};

/* ---- Krippendorff's alpha ----------------------------------------------------- */

typedef struct {
    size_t unit;
    int value;
} unit_value;

static int compare_unit(const void *a, const void *b)
{
    const unit_value *x = a, *y = b;
    return x->unit < y->unit ? -1 : x->unit > y->unit;
}

/* Adds one unit's values (count[c] of category c, m in all) to the
 * disagreement sum and the pairable values per category. */
static void add_unit(const size_t *count, int n_categories, size_t m, double *observed, double *n_c)
{
    if (m < 2)
        return;
    for (int c = 0; c < n_categories; c++) {
        n_c[c] += (double)count[c];
        for (int k = 0; k < n_categories; k++)
            if (k != c)
                *observed += (double)count[c] * (double)count[k] / (double)(m - 1);
    }
}

double sj_alpha_nominal(const size_t *unit, const int *value, size_t n, int n_categories,
                        size_t *n_units)
{
    if (n_units)
        *n_units = 0;
    if (n_categories < 1 || n_categories > 64)
        return NAN;
    unit_value *v = malloc((n ? n : 1) * sizeof *v);
    if (!v)
        return NAN;
    for (size_t i = 0; i < n; i++) {
        if (value[i] < 0 || value[i] >= n_categories) {
            free(v);
            return NAN;
        }
        v[i] = (unit_value){unit[i], value[i]};
    }
    qsort(v, n, sizeof *v, compare_unit);
    size_t count[64];
    double n_c[64] = {0}, observed = 0.0;
    size_t units = 0;
    for (size_t start = 0; start < n;) {
        size_t end = start;
        memset(count, 0, sizeof count);
        while (end < n && v[end].unit == v[start].unit)
            count[v[end++].value]++;
        units += end - start >= 2;
        add_unit(count, n_categories, end - start, &observed, n_c);
        start = end;
    }
    free(v);
    double total = 0.0, expected = 0.0;
    for (int c = 0; c < n_categories; c++)
        total += n_c[c];
    for (int c = 0; c < n_categories; c++)
        expected += n_c[c] * (total - n_c[c]);
    if (n_units)
        *n_units = units;
    if (units == 0 || !(expected > 0))
        return NAN;
    return 1.0 - (total - 1.0) * observed / expected;
}

/* ---- two proportions ------------------------------------------------------------- */

static void wilson(double p, double n, double z, double *lo, double *hi)
{
    double z2 = z * z;
    double centre = (p + z2 / (2 * n)) / (1 + z2 / n);
    double half = z / (1 + z2 / n) * sqrt(p * (1 - p) / n + z2 / (4 * n * n));
    *lo = centre - half;
    *hi = centre + half;
}

void sj_newcombe_interval(double p1, double n1, double p2, double n2, double z, double *lo,
                          double *hi)
{
    *lo = *hi = NAN;
    if (!(n1 > 0) || !(n2 > 0))
        return;
    double l1, u1, l2, u2, d = p1 - p2;
    wilson(p1, n1, z, &l1, &u1);
    wilson(p2, n2, z, &l2, &u2);
    *lo = d - sqrt((p1 - l1) * (p1 - l1) + (u2 - p2) * (u2 - p2));
    *hi = d + sqrt((u1 - p1) * (u1 - p1) + (p2 - l2) * (p2 - l2));
}

double sj_two_proportion_p(double p1, double n1, double p2, double n2)
{
    if (!(n1 > 0) || !(n2 > 0))
        return NAN;
    double pooled = (p1 * n1 + p2 * n2) / (n1 + n2);
    double var = pooled * (1 - pooled) * (1 / n1 + 1 / n2);
    if (!(var > 0))
        return 1.0;
    double z = fabs(p1 - p2) / sqrt(var);
    return 2.0 * gsl_cdf_ugaussian_Q(z);
}

/* ---- the panel --------------------------------------------------------------------- */

void sj_panel_stats_free(sj_panel_stats *s)
{
    if (!s)
        return;
    free(s->judges);
    memset(s, 0, sizeof *s);
}

static sj_status check_judgments(const sj_judgment *j, size_t n, size_t n_pairs, size_t n_judges,
                                 sj_error *err)
{
    for (size_t i = 0; i < n; i++) {
        const sj_judgment *x = &j[i];
        int ok = x->pair < n_pairs && x->judge >= -1 &&
                 (x->judge < 0 || (size_t)x->judge < n_judges) && x->choice >= 0 &&
                 x->choice < SJ_N_CHOICES &&
                 (x->higher == -1 || x->higher == SJ_CHOICE_A || x->higher == SJ_CHOICE_B) &&
                 x->side >= SJ_SIDE_NONE && x->side <= SJ_SIDE_FOCAL;
        if (!ok)
            return sj_error_set(err, SJ_ERR_INPUT,
                                "judgment %zu is out of range (pair %zu of %zu, judge %ld of %zu, "
                                "choice %d, higher %d, side %d)",
                                i + 1, x->pair, n_pairs, x->judge, n_judges, x->choice, x->higher,
                                x->side);
    }
    return SJ_OK;
}

/* The choice most of the pair's other judgments made (counts of the pair
 * without `own`), or -1 when two choices tie for most. */
static int others_majority(const size_t *pair_count, int own)
{
    size_t c[SJ_N_CHOICES];
    for (int k = 0; k < SJ_N_CHOICES; k++)
        c[k] = pair_count[k] - (k == own);
    int best = 0;
    for (int k = 1; k < SJ_N_CHOICES; k++)
        if (c[k] > c[best])
            best = k;
    for (int k = 0; k < SJ_N_CHOICES; k++)
        if (k != best && c[k] == c[best])
            return -1;
    return best;
}

/* Per judge: counts, leave-one-out majority agreement and the sums of the
 * higher-candidate preference by side. */
static void count_judges(const sj_judgment *j, size_t n, const size_t *pair_count,
                         sj_judge_stats *js, double (*pref)[2])
{
    for (size_t i = 0; i < n; i++) {
        if (j[i].judge < 0)
            continue;
        sj_judge_stats *s = &js[j[i].judge];
        const size_t *pc = pair_count + j[i].pair * SJ_N_CHOICES;
        s->judgments++;
        s->ties += j[i].choice == SJ_CHOICE_TIE;
        if (pc[0] + pc[1] + pc[2] >= 2) {
            s->overlap_judgments++;
            int majority = others_majority(pc, j[i].choice);
            if (majority >= 0) {
                s->majority_compared++;
                s->majority_agreed += majority == j[i].choice;
            }
        }
        if (j[i].higher < 0 || j[i].side == SJ_SIDE_NONE)
            continue;
        double took = j[i].choice == SJ_CHOICE_TIE ? 0.5 : j[i].choice == j[i].higher;
        pref[j[i].judge][j[i].side] += took;
        if (j[i].side == SJ_SIDE_FOCAL)
            s->n_focal++;
        else
            s->n_reference++;
    }
}

static void judge_rates(sj_judge_stats *s, const double *pref)
{
    double nf = (double)s->n_focal, nr = (double)s->n_reference;
    s->majority_agreement =
        s->majority_compared ? (double)s->majority_agreed / (double)s->majority_compared : NAN;
    s->higher_pref_focal = nf > 0 ? pref[SJ_SIDE_FOCAL] / nf : NAN;
    s->higher_pref_reference = nr > 0 ? pref[SJ_SIDE_REFERENCE] / nr : NAN;
    s->group_difference = s->higher_pref_focal - s->higher_pref_reference;
    sj_newcombe_interval(s->higher_pref_focal, nf, s->higher_pref_reference, nr,
                         gsl_cdf_ugaussian_Pinv(0.975), &s->group_ci[0], &s->group_ci[1]);
    s->group_p = sj_two_proportion_p(s->higher_pref_focal, nf, s->higher_pref_reference, nr);
    s->flag_disagrees = s->majority_compared >= SJ_PANEL_MIN_COMPARED &&
                        s->majority_agreement < SJ_PANEL_MIN_AGREEMENT;
}

/* Holm over the judges' group p-values, and the group flags. */
static sj_status adjust_group_p(sj_panel_stats *out, sj_error *err)
{
    size_t m = out->n_judges;
    double *p = malloc((m ? m : 1) * sizeof *p);
    if (!p)
        return sj_error_set(err, SJ_ERR_WORK, "out of memory");
    for (size_t k = 0; k < m; k++)
        p[k] = out->judges[k].group_p;
    sj_status st = sj_p_adjust(p, m, SJ_ADJUST_HOLM, p, err);
    for (size_t k = 0; k < m && st == SJ_OK; k++) {
        out->judges[k].group_p_holm = p[k];
        out->judges[k].flag_group = p[k] < SJ_PANEL_GROUP_P;
    }
    free(p);
    return st;
}

static sj_status panel_alpha(const sj_judgment *j, size_t n, sj_panel_stats *out, sj_error *err)
{
    size_t *unit = malloc((n ? n : 1) * sizeof *unit);
    int *value = malloc((n ? n : 1) * sizeof *value);
    if (!unit || !value) {
        free(unit);
        free(value);
        return sj_error_set(err, SJ_ERR_WORK, "out of memory");
    }
    for (size_t i = 0; i < n; i++) {
        unit[i] = j[i].pair;
        value[i] = j[i].choice;
    }
    out->alpha = sj_alpha_nominal(unit, value, n, SJ_N_CHOICES, &out->alpha_pairs);
    free(unit);
    free(value);
    return SJ_OK;
}

sj_status sj_panel_stats_compute(const sj_judgment *j, size_t n, size_t n_pairs, size_t n_judges,
                                 sj_panel_stats *out, sj_error *err)
{
    memset(out, 0, sizeof *out);
    if (check_judgments(j, n, n_pairs, n_judges, err) != SJ_OK)
        return SJ_ERR_INPUT;
    size_t *pair_count = sj_calloc((n_pairs ? n_pairs : 1) * SJ_N_CHOICES, sizeof *pair_count);
    double(*pref)[2] = sj_calloc(n_judges ? n_judges : 1, sizeof *pref);
    out->judges = sj_calloc(n_judges ? n_judges : 1, sizeof *out->judges);
    sj_status st =
        pair_count && pref && out->judges ? SJ_OK : sj_error_set(err, SJ_ERR_WORK, "out of memory");
    if (st == SJ_OK) {
        out->n_pairs = n_pairs;
        out->n_judgments = n;
        out->n_judges = n_judges;
        for (size_t i = 0; i < n; i++) {
            pair_count[j[i].pair * SJ_N_CHOICES + (size_t)j[i].choice]++;
            out->n_ties += j[i].choice == SJ_CHOICE_TIE;
        }
        for (size_t p = 0; p < n_pairs; p++) {
            const size_t *pc = pair_count + p * SJ_N_CHOICES;
            out->n_overlap_pairs += pc[0] + pc[1] + pc[2] >= 2;
        }
        count_judges(j, n, pair_count, out->judges, pref);
        for (size_t k = 0; k < n_judges; k++)
            judge_rates(&out->judges[k], pref[k]);
        st = adjust_group_p(out, err);
    }
    if (st == SJ_OK)
        st = panel_alpha(j, n, out, err);
    free(pair_count);
    free(pref);
    if (st != SJ_OK)
        sj_panel_stats_free(out);
    return st;
}

sj_status sj_panel_judge_weights(const sj_panel_stats *s, const sj_judgment *j, size_t n,
                                 double *weights, double *unnamed, sj_error *err)
{
    for (size_t k = 0; k < s->n_judges; k++) {
        double a = s->judges[k].majority_agreement;
        weights[k] = isnan(a) ? 1.0 : fmax(0.0, 2.0 * a - 1.0);
    }
    double none = 1.0, total = 0.0;
    for (size_t i = 0; i < n; i++)
        total += j[i].judge < 0 ? none : weights[j[i].judge];
    if (!(total > 0))
        return sj_error_set(err, SJ_ERR_INPUT,
                            "every judgment weighs 0: no judge agrees with the majority of the "
                            "others more than half the time");
    double scale = (double)n / total;
    for (size_t k = 0; k < s->n_judges; k++)
        weights[k] *= scale;
    if (unnamed)
        *unnamed = none * scale;
    return SJ_OK;
}
