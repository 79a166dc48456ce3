/* Several human raters per response: how well the raters agree with one
 * another, how well the machine agrees with each of them and with their
 * mean, PRMSE against the true score (Loukina et al. 2020, with the
 * estimators of RSMTool's prmse_utils) and the degradation of Williamson,
 * Xi & Breyer (2012). The definitions are in stats.h. */
#include "sjtalign/stats.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Scratch space for one computation: two columns of n values. */
typedef struct {
    double *x, *y;
} scratch;

/* A response counts in a scope when it belongs to it (group -1: every
 * group), has a machine score and at least one rating. */
static int in_scope(const sj_raters_input *in, size_t i, long group)
{
    if (group >= 0 && in->group && in->group[i] != group)
        return 0;
    if (isnan(in->machine[i]))
        return 0;
    for (size_t k = 0; k < in->n_raters; k++)
        if (!isnan(in->rater[k][i]))
            return 1;
    return 0;
}

/* Mean of the finite values, NaN when there is none. */
static double mean_finite(const double *v, size_t n)
{
    double sum = 0;
    size_t m = 0;
    for (size_t i = 0; i < n; i++)
        if (isfinite(v[i])) {
            sum += v[i];
            m++;
        }
    return m ? sum / (double)m : NAN;
}

static void pair_statistics(const sj_raters_input *in, long group, size_t a, size_t b, scratch *w,
                            sj_rater_pair *out)
{
    size_t n = 0;
    for (size_t i = 0; i < in->n; i++) {
        if (!in_scope(in, i, group) || isnan(in->rater[a][i]) || isnan(in->rater[b][i]))
            continue;
        w->x[n] = in->rater[a][i];
        w->y[n] = in->rater[b][i];
        n++;
    }
    out->n = (long)n;
    out->exact = sj_exact_agreement(w->x, w->y, n);
    out->adjacent = sj_adjacent_agreement(w->x, w->y, n);
    out->qwk = sj_qwk(w->x, w->y, n);
    out->pearson_r = sj_pearson_r(w->x, w->y, n);
}

static void machine_rater_statistics(const sj_raters_input *in, long group, size_t k, scratch *w,
                                     sj_agreement *out)
{
    size_t n = 0;
    for (size_t i = 0; i < in->n; i++) {
        if (!in_scope(in, i, group) || isnan(in->rater[k][i]))
            continue;
        w->x[n] = in->machine[i];
        w->y[n] = in->rater[k][i];
        n++;
    }
    sj_agreement_compute(w->x, w->y, n, out);
}

/* Field f of a pair: exact, adjacent, qwk, pearson_r. */
static double pair_field(const sj_rater_pair *p, size_t f)
{
    return f == 0 ? p->exact : f == 1 ? p->adjacent : f == 2 ? p->qwk : p->pearson_r;
}

/* Field f of an agreement: exact, adjacent, qwk, pearson_r, smd. */
static double agreement_field(const sj_agreement *a, size_t f)
{
    return f == 0   ? a->exact
           : f == 1 ? a->adjacent
           : f == 2 ? a->qwk
           : f == 3 ? a->pearson_r
                    : a->smd;
}

/* The means over pairs and over raters of the pairwise statistics. */
static void average_pairs(size_t n_pairs, size_t n_raters, sj_raters_scope *s, scratch *w)
{
    double *pair_means[4] = {&s->exact_human_human, &s->adjacent_human_human, &s->qwk_human_human,
                             &s->pearson_human_human};
    for (size_t f = 0; f < 4; f++) {
        for (size_t p = 0; p < n_pairs; p++)
            w->x[p] = pair_field(&s->pairs[p], f);
        *pair_means[f] = mean_finite(w->x, n_pairs);
    }
    double *rater_means[5] = {&s->exact_machine_human, &s->adjacent_machine_human,
                              &s->qwk_machine_human, &s->pearson_machine_human,
                              &s->smd_machine_human};
    for (size_t f = 0; f < 5; f++) {
        for (size_t k = 0; k < n_raters; k++)
            w->x[k] = agreement_field(&s->machine_rater[k], f);
        *rater_means[f] = mean_finite(w->x, n_raters);
    }
    s->degradation_qwk = s->qwk_machine_human - s->qwk_human_human;
    s->degradation_r = s->pearson_machine_human - s->pearson_human_human;
}

/* Sums over the responses of a scope that the PRMSE estimators need. */
typedef struct {
    double n_resp, n_ratings, sum_n2, sum_ratings;
    double within_ss, within_df; /* sum_i sum_j (h_ij - hbar_i)^2, sum_{n_i >= 2} (n_i - 1) */
} rating_sums;

/* Number and mean of the ratings of response i. */
static size_t response_mean(const sj_raters_input *in, size_t i, double *mean)
{
    double sum = 0;
    size_t n = 0;
    for (size_t k = 0; k < in->n_raters; k++)
        if (!isnan(in->rater[k][i])) {
            sum += in->rater[k][i];
            n++;
        }
    *mean = n ? sum / (double)n : NAN;
    return n;
}

static rating_sums sum_ratings(const sj_raters_input *in, long group)
{
    rating_sums t = {0, 0, 0, 0, 0, 0};
    for (size_t i = 0; i < in->n; i++) {
        if (!in_scope(in, i, group))
            continue;
        double hbar;
        size_t n_i = response_mean(in, i, &hbar);
        t.n_resp += 1;
        t.n_ratings += (double)n_i;
        t.sum_n2 += (double)(n_i * n_i);
        t.sum_ratings += hbar * (double)n_i;
        for (size_t k = 0; k < in->n_raters; k++)
            if (!isnan(in->rater[k][i]))
                t.within_ss += (in->rater[k][i] - hbar) * (in->rater[k][i] - hbar);
        if (n_i >= 2)
            t.within_df += (double)(n_i - 1);
    }
    return t;
}

#define PRMSE_RELATIVE_FLOOR 1e-9

static void true_score_statistics(const sj_raters_input *in, long group, sj_raters_scope *s)
{
    rating_sums t = sum_ratings(in, group);
    s->n_responses = (long)t.n_resp;
    s->n_ratings = (long)t.n_ratings;
    s->n_multiple = 0;
    double mu = t.n_ratings > 0 ? t.sum_ratings / t.n_ratings : NAN;
    double between = 0, error = 0;
    for (size_t i = 0; i < in->n; i++) {
        if (!in_scope(in, i, group))
            continue;
        double hbar;
        double n_i = (double)response_mean(in, i, &hbar);
        s->n_multiple += n_i >= 2;
        between += n_i * (hbar - mu) * (hbar - mu);
        error += n_i * (hbar - in->machine[i]) * (hbar - in->machine[i]);
    }
    double v_e = t.within_df > 0 ? t.within_ss / t.within_df : NAN;
    double denom = t.n_ratings > 0 ? t.n_ratings - t.sum_n2 / t.n_ratings : NAN;
    s->error_variance = v_e;
    s->true_score_variance = denom > 0 ? (between - (t.n_resp - 1) * v_e) / denom : NAN;
    s->mse_true = t.n_ratings > 0 ? (error - t.n_resp * v_e) / t.n_ratings : NAN;
    /* A true-score variance that is zero but for rounding (all of the
     * spread is rater error) would make PRMSE a huge number: undefined. */
    double spread = denom > 0 ? between / denom : 0;
    int positive = s->true_score_variance > PRMSE_RELATIVE_FLOOR * spread;
    s->prmse = positive ? 1 - s->mse_true / s->true_score_variance : NAN;
}

static void machine_mean_statistics(const sj_raters_input *in, long group, scratch *w,
                                    sj_raters_scope *s)
{
    size_t n = 0;
    double sq = 0;
    for (size_t i = 0; i < in->n; i++) {
        if (!in_scope(in, i, group))
            continue;
        w->x[n] = in->machine[i];
        response_mean(in, i, &w->y[n]);
        sq += (w->x[n] - w->y[n]) * (w->x[n] - w->y[n]);
        n++;
    }
    s->pearson_machine_mean = sj_pearson_r(w->x, w->y, n);
    s->qwk_machine_mean = sj_qwk(w->x, w->y, n);
    s->rmse_machine_mean = n ? sqrt(sq / (double)n) : NAN;
}

static sj_status compute_scope(const sj_raters_input *in, long group, size_t n_pairs, scratch *w,
                               sj_raters_scope *s)
{
    memset(s, 0, sizeof *s);
    s->pairs = calloc(n_pairs, sizeof *s->pairs);
    s->machine_rater = calloc(in->n_raters, sizeof *s->machine_rater);
    if (!s->pairs || !s->machine_rater)
        return SJ_ERR_WORK;
    size_t p = 0;
    for (size_t a = 0; a < in->n_raters; a++)
        for (size_t b = a + 1; b < in->n_raters; b++)
            pair_statistics(in, group, a, b, w, &s->pairs[p++]);
    for (size_t k = 0; k < in->n_raters; k++)
        machine_rater_statistics(in, group, k, w, &s->machine_rater[k]);
    average_pairs(n_pairs, in->n_raters, s, w);
    machine_mean_statistics(in, group, w, s);
    true_score_statistics(in, group, s);
    return SJ_OK;
}

static void scope_free(sj_raters_scope *s)
{
    free(s->pairs);
    free(s->machine_rater);
    s->pairs = NULL;
    s->machine_rater = NULL;
}

void sj_raters_free(sj_raters_result *r)
{
    if (!r)
        return;
    scope_free(&r->overall);
    for (size_t g = 0; g < r->n_groups && r->by_group; g++)
        scope_free(&r->by_group[g]);
    free(r->by_group);
    memset(r, 0, sizeof *r);
}

static sj_status check_input(const sj_raters_input *in, sj_error *err)
{
    if (in->n_raters < 2)
        return sj_error_set(err, SJ_ERR_INPUT,
                            "several-rater statistics need at least 2 raters, got %zu",
                            in->n_raters);
    for (size_t i = 0; in->group && i < in->n; i++)
        if (in->group[i] < 0 || (size_t)in->group[i] >= in->n_groups)
            return sj_error_set(err, SJ_ERR_INPUT, "response %zu has group %d, not in 0..%zu",
                                i + 1, in->group[i], in->n_groups ? in->n_groups - 1 : 0);
    return SJ_OK;
}

sj_status sj_raters_compute(const sj_raters_input *in, sj_raters_result *out, sj_error *err)
{
    memset(out, 0, sizeof *out);
    if (check_input(in, err) != SJ_OK)
        return SJ_ERR_INPUT;
    size_t n_groups = in->group ? in->n_groups : 0;
    size_t n_pairs = in->n_raters * (in->n_raters - 1) / 2;
    /* The scratch columns also hold one value per pair or per rater. */
    size_t cap = in->n > n_pairs ? in->n : n_pairs;
    scratch w = {malloc((cap + in->n_raters) * sizeof(double)),
                 malloc((cap + in->n_raters) * sizeof(double))};
    out->n_raters = in->n_raters;
    out->n_pairs = n_pairs;
    out->n_groups = n_groups;
    out->by_group = calloc(n_groups ? n_groups : 1, sizeof *out->by_group);
    sj_status st = w.x && w.y && out->by_group ? SJ_OK : SJ_ERR_WORK;
    if (st == SJ_OK)
        st = compute_scope(in, -1, n_pairs, &w, &out->overall);
    for (size_t g = 0; g < n_groups && st == SJ_OK; g++)
        st = compute_scope(in, (long)g, n_pairs, &w, &out->by_group[g]);
    free(w.x);
    free(w.y);
    if (st != SJ_OK) {
        sj_raters_free(out);
        return sj_error_set(err, SJ_ERR_WORK, "out of memory computing rater agreement");
    }
    return SJ_OK;
}

/* ---- thresholds ---------------------------------------------------------------- */

#define THRESHOLD_TOLERANCE 1e-9

static sj_raters_threshold check_at_least(const char *name, double value, double threshold)
{
    sj_raters_threshold t = {name, value, threshold, -1};
    if (!isnan(value))
        t.pass = value >= threshold - THRESHOLD_TOLERANCE;
    return t;
}

void sj_raters_thresholds(const sj_raters_scope *s, int within_group,
                          sj_raters_threshold out[SJ_RATERS_N_CHECKS])
{
    out[SJ_RATERS_QWK] = check_at_least("qwk", s->qwk_machine_human, SJ_AGREE_QWK_MIN);
    out[SJ_RATERS_R] = check_at_least("pearson_r", s->pearson_machine_human, SJ_AGREE_R_MIN);
    out[SJ_RATERS_DEGRADATION] =
        check_at_least("degradation_qwk", s->degradation_qwk, SJ_AGREE_DEGRADATION_MIN);
    double smd_max = within_group ? SJ_AGREE_SMD_GROUP_MAX : SJ_AGREE_SMD_MAX;
    /* |SMD| <= max is -|SMD| >= -max. */
    sj_raters_threshold smd = check_at_least("smd", -fabs(s->smd_machine_human), -smd_max);
    smd.value = s->smd_machine_human;
    smd.threshold = smd_max;
    out[SJ_RATERS_SMD] = smd;
}

/* ---- JSON ------------------------------------------------------------------------ */

static void add_headline(cJSON *o, const sj_raters_scope *s)
{
    const struct {
        const char *name;
        double value;
    } fields[] = {
        {"exact_human_human", s->exact_human_human},
        {"adjacent_human_human", s->adjacent_human_human},
        {"qwk_human_human", s->qwk_human_human},
        {"pearson_human_human", s->pearson_human_human},
        {"exact_machine_human", s->exact_machine_human},
        {"adjacent_machine_human", s->adjacent_machine_human},
        {"qwk_machine_human", s->qwk_machine_human},
        {"pearson_machine_human", s->pearson_machine_human},
        {"smd_machine_human", s->smd_machine_human},
        {"pearson_machine_mean", s->pearson_machine_mean},
        {"qwk_machine_mean", s->qwk_machine_mean},
        {"rmse_machine_mean", s->rmse_machine_mean},
        {"error_variance", s->error_variance},
        {"true_score_variance", s->true_score_variance},
        {"mse_true", s->mse_true},
        {"prmse", s->prmse},
        {"degradation_qwk", s->degradation_qwk},
        {"degradation_r", s->degradation_r},
    };
    for (size_t f = 0; f < sizeof fields / sizeof *fields; f++)
        sj_json_add_number(o, fields[f].name, fields[f].value);
}

static cJSON *pair_json(const sj_rater_pair *p, const char *a, const char *b)
{
    cJSON *o = cJSON_CreateObject();
    if (!o)
        return NULL;
    cJSON_AddStringToObject(o, "rater_a", a);
    cJSON_AddStringToObject(o, "rater_b", b);
    cJSON_AddNumberToObject(o, "n", (double)p->n);
    sj_json_add_number(o, "exact", p->exact);
    sj_json_add_number(o, "adjacent", p->adjacent);
    sj_json_add_number(o, "qwk", p->qwk);
    sj_json_add_number(o, "pearson_r", p->pearson_r);
    return o;
}

static cJSON *thresholds_json(const sj_raters_scope *s, int within_group)
{
    sj_raters_threshold t[SJ_RATERS_N_CHECKS];
    sj_raters_thresholds(s, within_group, t);
    cJSON *o = cJSON_CreateObject();
    for (size_t k = 0; k < SJ_RATERS_N_CHECKS && o; k++) {
        cJSON *c = cJSON_AddObjectToObject(o, t[k].name);
        sj_json_add_number(c, "value", t[k].value);
        cJSON_AddNumberToObject(c, "threshold", t[k].threshold);
        if (t[k].pass < 0)
            cJSON_AddNullToObject(c, "pass");
        else
            cJSON_AddBoolToObject(c, "pass", t[k].pass);
    }
    return o;
}

static cJSON *scope_json(const sj_raters_result *r, const sj_raters_scope *s,
                         const char *const *names, int within_group)
{
    cJSON *o = cJSON_CreateObject();
    if (!o)
        return NULL;
    cJSON_AddNumberToObject(o, "n_responses", (double)s->n_responses);
    cJSON_AddNumberToObject(o, "n_multiple", (double)s->n_multiple);
    cJSON_AddNumberToObject(o, "n_ratings", (double)s->n_ratings);
    add_headline(o, s);
    cJSON *pairs = cJSON_AddArrayToObject(o, "human_human");
    size_t p = 0;
    for (size_t a = 0; a < r->n_raters; a++)
        for (size_t b = a + 1; b < r->n_raters; b++, p++)
            cJSON_AddItemToArray(pairs, pair_json(&s->pairs[p], names[a], names[b]));
    cJSON *machine = cJSON_AddArrayToObject(o, "machine_rater");
    for (size_t k = 0; k < r->n_raters; k++) {
        cJSON *e = sj_agreement_to_json(&s->machine_rater[k]);
        if (e)
            cJSON_AddItemToObject(e, "rater", cJSON_CreateString(names[k]));
        cJSON_AddItemToArray(machine, e);
    }
    cJSON_AddItemToObject(o, "thresholds", thresholds_json(s, within_group));
    return o;
}

cJSON *sj_raters_to_json(const sj_raters_result *r, const char *const *rater_names,
                         const char *const *group_names)
{
    cJSON *o = cJSON_CreateObject();
    if (!o)
        return NULL;
    cJSON_AddNumberToObject(o, "n_raters", (double)r->n_raters);
    cJSON *names = cJSON_AddArrayToObject(o, "raters");
    for (size_t k = 0; k < r->n_raters; k++)
        cJSON_AddItemToArray(names, cJSON_CreateString(rater_names[k]));
    cJSON_AddItemToObject(o, "overall", scope_json(r, &r->overall, rater_names, 0));
    cJSON *groups = cJSON_AddObjectToObject(o, "by_group");
    for (size_t g = 0; g < r->n_groups && group_names; g++)
        cJSON_AddItemToObject(groups, group_names[g],
                              scope_json(r, &r->by_group[g], rater_names, 1));
    return o;
}
