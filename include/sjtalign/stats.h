/* sjtalign statistics: differential item functioning (DIF), group parity
 * and rater agreement, with the conventions of the README (section
 * "Statistics: conventions"). Every number here is meant to agree with R to 1e-6 relative
 * (ordinal models 1e-5); tests/fixtures/stats/make_fixtures.R holds the
 * independent computations.
 *
 * Conventions shared by every function:
 * - Groups: reference R and focal F. Signs are focal minus reference.
 * - A statistic that cannot be computed is NaN in the structs, null in JSON
 *   and "NA" in CSV, and the item carries a note that says why. Nothing is
 *   ever silently NaN.
 * - Missing responses (DIF): a person who did not answer every item is
 *   left out of all DIF analyses (complete cases), so that every matching
 *   score is a total over the same items. The number of persons left out is
 *   reported (sj_dif_result.n_excluded_incomplete). */
#ifndef SJTALIGN_STATS_H
#define SJTALIGN_STATS_H

#include <limits.h>
#include <stddef.h>

#include <cjson/cJSON.h>

#include "sjtalign/io.h"
#include "sjtalign/util.h"

/* ==== input: persons x items with integer scores and a group per person === */

#define SJ_SCORE_MISSING INT_MIN

typedef struct {
    size_t n_persons;
    size_t n_items;
    size_t n_groups;
    char **person_ids;  /* n_persons, in order of first appearance */
    char **item_ids;    /* n_items, in order of first appearance */
    char **group_names; /* n_groups, in order of first appearance */
    int *group;         /* n_persons: index into group_names */
    int *scores;        /* n_persons * n_items, row-major; SJ_SCORE_MISSING if unanswered */
} sj_score_data;

/* An empty data set of the given shape (ids NULL, scores all missing,
 * groups 0) for callers that fill it in memory; NULL when out of memory. */
sj_score_data *sj_score_data_new(size_t n_persons, size_t n_items, size_t n_groups);

/* Builds the person x item matrix from a long-format table (one row per
 * person x item). Column names must exist. A score cell must be an integer
 * (an empty cell is a missing response); anything else is an input error
 * naming file:line:column. Also input errors: an empty person, item or
 * group cell, a person answering an item twice, a person whose rows
 * disagree on the group. */
sj_score_data *sj_score_data_from_table(const sj_table *t, const char *person_col,
                                        const char *item_col, const char *score_col,
                                        const char *group_col, sj_error *err);
void sj_score_data_free(sj_score_data *d);
/* Index of a group label, or -1. */
long sj_score_data_group(const sj_score_data *d, const char *name);

/* ==== building blocks: counts per stratum, group and score category ======= */

/* Everything a DIF method needs for one item and one focal group: the
 * number of persons per (matching score stratum, group, item score).
 * count[(k * 2 + g) * n_cats + c], g = 0 reference, 1 focal. Strata are in
 * increasing matching score; categories in increasing item score and hold
 * only the scores observed among the two groups. */
typedef struct {
    size_t n_strata;
    size_t n_cats;
    double *stratum_score; /* n_strata: the matching score of each stratum */
    double *cat_value;     /* n_cats: the item score of each category */
    double *count;         /* n_strata * 2 * n_cats */
} sj_dif_counts;

void sj_dif_counts_free(sj_dif_counts *c);

/* Mantel-Haenszel for a dichotomous item (n_cats == 2, cat 1 = correct).
 * In stratum k: A = ref & 1, B = ref & 0, C = focal & 1, D = focal & 0.
 * Strata with fewer than 2 persons or with one group only contribute
 * nothing. chi2 uses R's continuity correction (|S| - 0.5)^2 / sum Var(A),
 * S = sum(A - E(A)), with the 0.5 left out when |S| < 0.5, exactly as
 * mantelhaen.test(correct = TRUE) does.
 * se_delta is 2.35 * sqrt(Var(ln alpha)) by Robins-Breslow-Greenland.
 * Breslow-Day tests homogeneity of the odds ratios over the strata where
 * the table has no zero margin (df = those strata - 1), with Tarone's
 * correction when `tarone` is non-zero. `note` is NULL or a static text
 * telling why some values are NaN. */
typedef struct {
    double alpha, delta, se_delta;
    double chi2, p, chi2_nocc, p_nocc;
    double bd_chi2, bd_df, bd_p;
    size_t n_strata_used; /* strata holding both groups and >= 2 persons */
    const char *note;
} sj_mh;

void sj_mh_compute(const sj_dif_counts *c, int tarone, sj_mh *out);

/* Mantel (1963) chi-square for an ordered item (1 df, no continuity
 * correction) on the sum of focal scores with the hypergeometric variance;
 * strata with fewer than 2 persons dropped. SMD = sum_k w_k (mean_F,k -
 * mean_R,k) with w_k = n_F,k / sum n_F over strata holding both groups;
 * smd_over_sd divides by the item's SD over all persons counted (n - 1).
 * se_smd and se_smd_over_sd are delta-method standard errors with the
 * persons as the sampling unit: each person falls into one cell (stratum,
 * group, score), the cell counts are multinomial, and with g_c the
 * derivative of the statistic by the count of cell c,
 *     Var = sum_c n_c g_c^2 - (sum_c n_c g_c)^2 / N
 * (the infinitesimal jackknife; the person bootstrap approximates the same
 * variance). Unlike the test-based SE they stay finite near zero. */
typedef struct {
    double chi2, p;
    double smd, smd_over_sd, item_sd;
    double se_smd, se_smd_over_sd; /* delta method, see below */
    size_t n_strata_used;
    const char *note;
} sj_mantel;

void sj_mantel_compute(const sj_dif_counts *c, sj_mantel *out);

/* Logistic-regression DIF, binary (logistic) or ordinal (proportional
 * odds, logit link, as MASS::polr): M0 y ~ s, M1 y ~ s + g, M2 y ~ s + g +
 * s:g with s the matching score and g = 1 for focal. Fitted by Newton's
 * method with step halving on the grouped counts. Log-likelihoods are of
 * the ungrouped (person-level) data. R2 per model against the
 * thresholds/intercept-only model: Nagelkerke and McFadden. A model that
 * does not converge, or whose fit separates the data (a slope beyond an
 * odds ratio of e^30 per SD of the matching score or between the groups:
 * coefficients running away), makes every statistic that uses it NaN, with
 * the reason in `note`. */
typedef struct {
    double ll_null;    /* intercept/thresholds only */
    double ll[3];      /* M0, M1, M2 */
    double beta[3][4]; /* slope coefficients of each model: s, g, s:g (unused = 0) */
    int converged[3];
    int separated[3];
    int iterations[3];
    double lr_uniform, p_uniform;       /* M1 vs M0, 1 df */
    double lr_nonuniform, p_nonuniform; /* M2 vs M1, 1 df */
    double lr_joint, p_joint;           /* M2 vs M0, 2 df */
    double r2n[3], r2mcf[3];
    double dr2n, dr2mcf; /* M2 minus M0 */
    const char *note;
} sj_lr_dif;

void sj_logistic_dif(const sj_dif_counts *c, sj_lr_dif *out);
void sj_ordinal_dif(const sj_dif_counts *c, sj_lr_dif *out);

/* Classes. ETS (dichotomous): A if p >= .05 or |delta| < 1; C if |delta|
 * >= 1.5 and (|delta| - 1) / se > 1.645; B otherwise. ETS (polytomous): AA
 * if p >= .05 or |smd/sd| <= .17; CC if |smd/sd| > .25; BB otherwise.
 * Zumbo-Thomas (.13/.26) and Jodoin-Gierl (.035/.070) on the Nagelkerke
 * R2 change: A if the joint LR test has p >= .05 or dR2 is below the first
 * bound, C if dR2 reaches the second bound, B otherwise. Each returns NULL
 * when an input is NaN. */
#define SJ_ETS_DELTA_B 1.0 /* |MH delta| from which an item may be B */
#define SJ_ETS_DELTA_C 1.5 /* |MH delta| from which an item may be C */
#define SJ_ETS_SMD_B 0.17  /* |SMD/SD| above which an item may be BB */
#define SJ_ETS_SMD_C 0.25  /* |SMD/SD| above which an item is CC */
#define SJ_ETS_ALPHA 0.05  /* the significance level of every class rule */
/* Williamson, Xi & Breyer (2012) thresholds for automated scoring. */
#define SJ_AGREE_QWK_MIN 0.70       /* machine-human QWK at least */
#define SJ_AGREE_R_MIN 0.70         /* machine-human Pearson r at least */
#define SJ_AGREE_SMD_MAX 0.15       /* |standardised mean difference| at most */
#define SJ_AGREE_SMD_GROUP_MAX 0.10 /* the same within a group */
const char *sj_ets_class(double delta, double se_delta, double p);
const char *sj_ets_poly_class(double smd_over_sd, double p);
const char *sj_r2_class(double dr2, double p_joint, double bound_b, double bound_c);
#define SJ_ETS_RULE                                                                                \
    "ETS: A if mh_p >= .05 or |delta| < 1; C if |delta| >= 1.5 and (|delta| - 1)/se > 1.645; "     \
    "B otherwise. Polytomous: AA if mantel_p >= .05 or |smd_over_sd| <= .17; CC if "               \
    "|smd_over_sd| > .25; BB otherwise"

typedef enum {
    SJ_ADJUST_NONE = 0,
    SJ_ADJUST_HOLM,
    SJ_ADJUST_BH,
} sj_adjust;

/* Adjusted p-values as R's p.adjust: NaN entries stay NaN and do not count
 * towards the number of tests. out may alias p. Out of memory (or an n too
 * large to rank) returns SJ_ERR_WORK and leaves out as it was. */
sj_status sj_p_adjust(const double *p, size_t n, sj_adjust method, double *out, sj_error *err);

/* ==== DIF over a whole test =================================================== */

typedef enum {
    SJ_MATCH_TOTAL = 0, /* person total over all items, studied item included */
    SJ_MATCH_REST,      /* total minus the studied item */
} sj_match;

typedef struct {
    const char *reference;
    const char *const *focal; /* n_focal labels; each is compared with the reference */
    size_t n_focal;
    sj_match match;
    int purify;       /* iterative purification of the matching score */
    sj_adjust adjust; /* p-value adjustment over the items of one comparison */
    long min_cell;    /* see sj_dif_run */
    int bd_tarone;    /* Breslow-Day with Tarone's correction (default 1) */
} sj_dif_options;

/* Defaults: match total, no purification, no adjustment, min_cell 5,
 * Tarone's correction on. reference/focal stay NULL. */
void sj_dif_options_defaults(sj_dif_options *o);

typedef enum {
    SJ_ITEM_DICHOTOMOUS = 0, /* scores only 0 and 1 */
    SJ_ITEM_POLYTOMOUS,      /* any other set of integer scores */
} sj_item_type;

/* One row of the `dif` output: one item against one focal group. Fields
 * that do not apply to the item's type are NaN / NULL and are left out of
 * the JSON. The *_adj fields are set only when an adjustment was asked. */
typedef struct {
    char *item;
    char *focal;
    sj_item_type type;
    int tested; /* 0: too sparse or constant; every statistic NaN, see notes */
    long n, n_ref, n_focal;
    size_t n_strata, n_sparse_strata;
    int flagged; /* counted as DIF by the purification rule (ETS B/C, BB/CC) */
    /* dichotomous */
    double mh_chi2, mh_p, mh_chi2_nocc, mh_p_nocc, alpha_mh, delta_mh, se_delta_mh;
    const char *ets_class;
    double bd_chi2, bd_df, bd_p;
    double lr_uniform, lr_p_uniform, lr_nonuniform, lr_p_nonuniform, lr_joint, lr_p_joint;
    double lr_dr2n;
    const char *zt_class, *jg_class;
    /* polytomous */
    double mantel_chi2, mantel_p, smd, smd_over_sd;
    double se_smd, se_smd_over_sd; /* delta method (sj_mantel) */
    const char *ets_poly_class;
    double olr_uniform, olr_p_uniform, olr_nonuniform, olr_p_nonuniform, olr_joint, olr_p_joint;
    double olr_dr2n, olr_dr2mcf;
    /* adjusted p-values (family: the items of this type in this comparison) */
    double mh_p_adj, lr_p_uniform_adj, lr_p_nonuniform_adj, lr_p_joint_adj;
    double mantel_p_adj, olr_p_uniform_adj, olr_p_nonuniform_adj, olr_p_joint_adj;
    /* warnings and reasons for NaN, in the order they arose */
    size_t n_notes;
    char **notes;
} sj_dif_item;

typedef struct {
    size_t n_rows; /* n_focal * n_items: all items of the first focal group, then the next */
    sj_dif_item *rows;
    char *reference;
    size_t n_focal;
    char **focal;
    sj_match match;
    int purify;
    sj_adjust adjust;
    long min_cell;
    int bd_tarone;
    int *purify_rounds;    /* per focal group: rounds run (0 without --purify) */
    int *purify_converged; /* per focal group: the flagged set repeated within 10 rounds */
    long n_persons_used;   /* complete cases in the reference or a focal group */
    long n_excluded_incomplete;
    /* n_focal * n_items: 1 where the item counted towards the matching
     * score of the analysis reported (after purification, the anchor set
     * of the last round run); the other items are left out of it, apart
     * from the studied item itself under match total */
    int *matching;
} sj_dif_result;

/* Runs every DIF method on every item for each focal group against the
 * reference. Item type follows the data (0/1 only = dichotomous).
 *
 * Sparse data (min_cell = N): an item is not tested when fewer than N
 * reference or N focal persons answered it, or when every person gave the
 * same score; a stratum with fewer than N persons of either group is
 * counted in n_sparse_strata and warned about, but still used, so that
 * the statistics stay those of the README (and R).
 *
 * Purification: items flagged (ETS B or C; BB or CC) are removed from the
 * matching score of the other items (the studied item itself stays in it
 * under match total), the analysis is repeated, until the flagged set
 * repeats or 10 rounds have run.
 *
 * Input errors (SJ_ERR_INPUT): reference or a focal label absent from the
 * data, the reference named as focal, fewer than two complete persons in
 * the compared groups, a group with no complete person. */
sj_dif_result *sj_dif_run(const sj_score_data *d, const sj_dif_options *opt, sj_error *err);
void sj_dif_result_free(sj_dif_result *r);

/* The effect sizes of a DIF result recomputed on reweighted persons, for
 * resampling: weight[p] copies of person p of d (the data the result came
 * from; NULL: one each), every other setting as in r, with the matching
 * score built from the same items as r's (r->matching: a purified anchor
 * set stays fixed, no purification is rerun) and each item's type as in
 * r. Only the Mantel-Haenszel and Mantel statistics are computed, not the
 * regressions. out has r->n_rows entries; an item r did not test, or whose
 * effect is undefined in the reweighted data, gets NaN. Out of memory is
 * SJ_ERR_WORK. */
typedef struct {
    double smd, smd_over_sd; /* polytomous items, else NaN */
    double delta_mh;         /* dichotomous items, else NaN */
} sj_dif_effect;

sj_status sj_dif_effects(const sj_score_data *d, const sj_dif_result *r, const unsigned *weight,
                         sj_dif_effect *out, sj_error *err);

/* {"items": [...], "reference", "focal": [...], "match", "purify",
 * "purify_rounds", "purify_settled" (per focal group: false when the
 * flagged set did not repeat within 10 rounds), "adjust", "min_cell", "ets_rule", "n_persons",
 * "n_excluded_incomplete"}; items carry the DIF names of docs/OUTPUTS.md (plus "focal",
 * "type", "notes", "bd_chi2", "bd_df", "bd_p", the *_adj names). */
cJSON *sj_dif_to_json(const sj_dif_result *r);
/* One item object as inside "items" (for before/after comparisons). */
cJSON *sj_dif_item_to_json(const sj_dif_item *it, sj_adjust adjust);
/* One row per item and focal group. A method's columns are present when
 * some item is of the type it applies to (dichotomous: MH, Breslow-Day,
 * LR; polytomous: Mantel, SMD, ordinal LR), empty in the rows of items of
 * the other type, NA where a statistic could not be computed; the *_adj
 * columns only with an adjustment. tested and flagged are TRUE/FALSE;
 * <effect>_ci95_low/_high are the effect +- 1.96 SE; notes joined with
 * "; ". Written atomically; "-" is stdout. */
sj_status sj_dif_write_csv(const sj_dif_result *r, const char *path, sj_error *err);

/* ==== agreement between machine and human scores ============================== */

/* All take n pairs and return NaN when undefined (n < 2, zero variance).
 * exact: share with round(machine) == human; adjacent: |round(machine) -
 * human| <= 1 (round half away from zero; within 1e-9 of a half counts as
 * the half, so sums of decimal scores round as written).
 * qwk: quadratic weighted kappa in its moment form, 2 cov / (var_m + var_h
 * + (mean_m - mean_h)^2) with population moments: identical to Cohen's
 * weighted kappa with (i - j)^2 weights for integer scores, and defined for
 * continuous machine scores too (as RSMTool does).
 * pearson_r: product-moment correlation.
 * smd: (mean_m - mean_h) / sqrt((sd_m^2 + sd_h^2) / 2) with n - 1 SDs, the
 * pooled form RSMTool reports. */
double sj_exact_agreement(const double *machine, const double *human, size_t n);
double sj_adjacent_agreement(const double *machine, const double *human, size_t n);
double sj_qwk(const double *machine, const double *human, size_t n);
double sj_pearson_r(const double *x, const double *y, size_t n);
double sj_smd(const double *machine, const double *human, size_t n);

typedef struct {
    long n;
    double exact, adjacent, qwk, pearson_r, smd;
    double mean_machine, mean_human, sd_machine, sd_human;
} sj_agreement;

void sj_agreement_compute(const double *machine, const double *human, size_t n, sj_agreement *out);
/* {"n", "exact", "adjacent", "qwk", "pearson_r", "smd", "mean_machine",
 * "mean_human", "sd_machine", "sd_human"} */
cJSON *sj_agreement_to_json(const sj_agreement *a);
/* The same object with the last four names given in that order (mean and
 * SD of the scores compared, then of the scores compared with: agreement
 * with true scores names them mean_machine, mean_true, sd_machine,
 * sd_true). NULL when out of memory. */
cJSON *sj_agreement_to_json_named(const sj_agreement *a, const char *const spread_names[4]);

/* ==== several raters ========================================================= */

/* Responses scored by a machine and by several human raters (RSMTool's h1,
 * h2, ...): the raters' agreement with one another, the machine's with
 * each rater and with their mean, PRMSE (Loukina et al. 2020) and the
 * degradation of Williamson, Xi & Breyer (2012). A response without a
 * machine score (NaN) or without any rating is left out of everything;
 * a pair of raters is compared on the responses both scored. */
typedef struct {
    size_t n;                   /* responses */
    const double *machine;      /* n machine scores; NaN: left out */
    size_t n_raters;            /* R >= 2 */
    const double *const *rater; /* R arrays of n ratings; NaN: not rated by that rater */
    const int *group;           /* n indices in 0..n_groups - 1, or NULL (no groups) */
    size_t n_groups;
} sj_raters_input;

typedef struct {
    long n; /* responses scored by both raters */
    double exact, adjacent, qwk, pearson_r;
} sj_rater_pair;

/* The statistics over one set of responses (all, or one group).
 * - pairs: every pair of raters a < b in the order (1,2), (1,3), ...,
 *   (1,R), (2,3), ...: sj_exact_agreement etc. with rater a as the first
 *   argument; *_human_human are their means over the pairs where defined.
 * - machine_rater: sj_agreement_compute(machine, rater k) over the
 *   responses rater k scored; *_machine_human are the means over raters.
 * - machine against each response's mean rating hbar_i (over the ratings
 *   it has): Pearson r, QWK in its moment form (sj_qwk) and RMSE =
 *   sqrt(mean (m_i - hbar_i)^2).
 * - PRMSE of the machine score against the true score, with n_i ratings of
 *   response i, N responses, M = sum n_i ratings, mu = the mean of all M
 *   ratings:
 *     V_e  = sum_i sum_j (h_ij - hbar_i)^2 / sum_{n_i >= 2} (n_i - 1)
 *            (the raters' error variance, pooled over the responses with
 *            two ratings or more)
 *     V_T  = (sum_i n_i (hbar_i - mu)^2 - (N - 1) V_e) / (M - sum_i n_i^2 / M)
 *     MSE  = (sum_i n_i (hbar_i - m_i)^2 - N V_e) / M
 *     PRMSE = 1 - MSE / V_T
 *   as RSMTool's prmse_utils; NaN without a response rated twice or when
 *   V_T <= 0 (or below 1e-9 of sum_i n_i (hbar_i - mu)^2 / (M - sum_i
 *   n_i^2 / M), zero but for rounding).
 * - degradation_qwk = qwk_machine_human - qwk_human_human; degradation_r
 *   the same with Pearson r. */
typedef struct {
    long n_responses;            /* with a machine score and at least one rating */
    long n_multiple;             /* of those, rated at least twice */
    long n_ratings;              /* M */
    sj_rater_pair *pairs;        /* R (R - 1) / 2 */
    sj_agreement *machine_rater; /* R */
    double exact_human_human, adjacent_human_human, qwk_human_human, pearson_human_human;
    double exact_machine_human, adjacent_machine_human, qwk_machine_human, pearson_machine_human,
        smd_machine_human;
    double pearson_machine_mean, qwk_machine_mean, rmse_machine_mean;
    double error_variance, true_score_variance, mse_true, prmse;
    double degradation_qwk, degradation_r;
} sj_raters_scope;

typedef struct {
    size_t n_raters, n_pairs, n_groups;
    sj_raters_scope overall;
    sj_raters_scope *by_group; /* n_groups */
} sj_raters_result;

/* Input errors: fewer than 2 raters, a group index out of range. */
sj_status sj_raters_compute(const sj_raters_input *in, sj_raters_result *out, sj_error *err);
void sj_raters_free(sj_raters_result *r);

/* Williamson, Xi & Breyer (2012), on the machine-rater statistics averaged
 * over raters: QWK >= .70, r >= .70, degradation of QWK >= -.10, |SMD| <=
 * .15 overall and <= .10 within a group. A value within 1e-9 of its
 * threshold counts as meeting it (so -0.1 computed as 0.7 - 0.8 passes).
 * pass is -1 when the value is NaN. */
#define SJ_AGREE_DEGRADATION_MIN (-0.10) /* machine-human minus human-human QWK at least */
typedef enum {
    SJ_RATERS_QWK = 0,
    SJ_RATERS_R,
    SJ_RATERS_DEGRADATION,
    SJ_RATERS_SMD
} sj_raters_check;
#define SJ_RATERS_N_CHECKS 4
typedef struct {
    const char *name; /* "qwk", "pearson_r", "degradation_qwk", "smd" */
    double value, threshold;
    int pass; /* 1, 0, or -1 (no value) */
} sj_raters_threshold;

void sj_raters_thresholds(const sj_raters_scope *s, int within_group,
                          sj_raters_threshold out[SJ_RATERS_N_CHECKS]);

/* {"n_raters", "raters": [names], "overall": SCOPE, "by_group": {NAME:
 * SCOPE}} with SCOPE = {"n_responses", "n_multiple", "n_ratings", the
 * headline numbers under their field names above, "human_human": [{"rater_a",
 * "rater_b", "n", "exact", "adjacent", "qwk", "pearson_r"}],
 * "machine_rater": [{"rater", the sj_agreement keys}], "thresholds":
 * {NAME: {"value", "threshold", "pass"}}} (NaN as null, pass null without a
 * value). group_names may be NULL when there are no groups. */
cJSON *sj_raters_to_json(const sj_raters_result *r, const char *const *rater_names,
                         const char *const *group_names);

/* ==== group parity ============================================================= */

/* One score per observation (a response, or a person's total), with an
 * optional human score and a group. */
typedef struct {
    size_t n;
    double *score;
    double *human; /* NULL without a human score; NaN where a human score is missing */
    int *group;    /* index into group_names */
    size_t n_groups;
    char **group_names;
    long n_excluded; /* rows or persons left out for a missing score */
} sj_parity_data;

/* From a table. person_col NULL: one observation per row; a row with an
 * empty score is left out (counted in n_excluded). person_col given: one
 * observation per person, the sum of the person's scores (and human
 * scores); a person with an empty score cell is left out; rows of one
 * person that disagree on the group are an input error. Scores may be any
 * finite numbers; human scores must be integers (they form an ordinal
 * scale for agreement), else an input error naming file:line:column. */
sj_parity_data *sj_parity_data_from_table(const sj_table *t, const char *person_col,
                                          const char *score_col, const char *group_col,
                                          const char *human_col, sj_error *err);
void sj_parity_data_free(sj_parity_data *d);

/* RSMTool-style fairness (Loukina, Madnani & Zechner 2019) on the error e =
 * machine - human, by OLS with the reference group as the base level:
 * osa: e^2 ~ group; osd: e ~ group; csd: e ~ group + human score as a
 * categorical factor, against e ~ human factor. r2_adj is the adjusted R2
 * (for csd: its increase over the human-only model), p that of the F test
 * (for csd: the nested-model F test), coef_focal the focal group's
 * coefficient (error difference from the reference) and intercept the
 * model's intercept. */
typedef struct {
    double r2_adj, p, intercept, coef_focal;
} sj_fairness_model;

typedef struct {
    sj_fairness_model osa, osd, csd;
} sj_fairness;

typedef struct {
    char *name;
    long n;
    double mean, sd, pass_rate; /* pass_rate NaN without a cut */
    sj_agreement agreement;     /* with a human score */
} sj_parity_group;

typedef struct {
    sj_parity_group ref, focal;
    double mean_diff; /* focal - reference */
    double cohens_d;  /* mean_diff / pooled SD */
    double hedges_g;  /* d * (1 - 3 / (4 (n_R + n_F) - 9)) */
    double welch_t, welch_df, welch_p, ci95_low, ci95_high;
    double cut;                  /* NaN without a cut; pass = score >= cut */
    double adverse_impact_ratio; /* pass_rate focal / pass_rate reference */
    int four_fifths_flag;        /* 1 when the ratio is below 0.8; -1 without a cut */
    int has_human;
    sj_agreement agreement; /* all persons of both groups */
    sj_fairness fairness;
    size_t n_notes;
    char **notes;
} sj_parity;

/* Input errors: reference or focal absent from the data, the same label
 * for both, fewer than two observations in either group. */
sj_status sj_parity_run(const sj_parity_data *d, const char *reference, const char *focal,
                        double cut, sj_parity *out, sj_error *err);
void sj_parity_free(sj_parity *p);
/* {"groups": {NAME: {"n", "mean", "sd", "pass_rate"}}, "mean_diff",
 * "cohens_d", "hedges_g", "welch_t", "welch_df", "welch_p", "ci95_low",
 * "ci95_high", "cut", "adverse_impact_ratio", "four_fifths_flag",
 * "reference", "focal", "notes", and with a human score "agreement":
 * {the sj_agreement keys, "by_group": {NAME: {...}}, "fairness": {"osa",
 * "osd", "csd": {"r2_adj", "p", "intercept", "coef_focal"}}}} */
cJSON *sj_parity_to_json(const sj_parity *p);
/* n comparisons of focal groups with one reference (the same data, cut and
 * human column) as CSV: the reference's row (role "reference"), then a
 * row per focal group (role "focal") with its comparison: group, role, n,
 * mean, sd, cut, pass_rate, mean_diff, ci95_low, ci95_high, cohens_d,
 * hedges_g, welch_t, welch_df, welch_p, adverse_impact_ratio,
 * four_fifths_flag (TRUE/FALSE, NA without a cut); with a human score the
 * group's qwk, exact, adjacent, pearson_r, smd and the focal rows' osa_p,
 * osd_p, osd_coef_focal, csd_p, csd_coef_focal; notes. Written atomically;
 * "-" is stdout. */
sj_status sj_parity_write_csv(const sj_parity *p, size_t n, const char *path, sj_error *err);

/* ==== the general ordinal (cumulative logit) regression ==================== */

/* The proportional-odds model P(Y <= k | x) = logistic(theta_k - x.beta),
 * k = 0..K-2, for n observations with covariates x (n x p, row-major) and
 * categories y in 0..K-1, fitted by Newton's method (step halving) on the
 * penalised log-likelihood
 *     sum_i log P(Y = y_i | x_i) - ridge / 2 * sum_j beta_j^2
 * (no penalty on the thresholds). Starts from beta = 0 and the thresholds
 * of the covariate-free fit (logits of the cumulative proportions, its
 * MLE). Every category must have an observation (a category without one
 * has no finite estimate: merge it with a neighbour first) and K >= 2;
 * p may be 0. With ridge > 0 the estimates exist even when a covariate
 * separates the categories. */
typedef struct {
    size_t n_cats;      /* K */
    size_t n_coef;      /* p */
    double *thresholds; /* K - 1, increasing */
    double *beta;       /* p */
    double loglik;      /* log-likelihood at the estimates, without the penalty */
    double penalised;   /* loglik - ridge / 2 * |beta|^2: what was maximised */
    int converged;      /* 1 when Newton's method converged */
    int iterations;
} sj_ordinal_model;

/* SJ_ERR_INPUT for K < 2, an empty category, y outside 0..K-1, ridge < 0
 * or NaN, a covariate that is not finite, n == 0 (and, weighted, a weight
 * that is not a finite number > 0). A fit that does not
 * converge is returned (converged = 0) with its last estimates. */
sj_status sj_ordinal_fit(const double *x, size_t n, size_t p, const int *y, size_t n_cats,
                         double ridge, sj_ordinal_model *out, sj_error *err);
void sj_ordinal_model_free(sj_ordinal_model *m);
/* The penalised log-likelihood at params = (theta_0..theta_{K-2},
 * beta_0..beta_{p-1}) and, when grad is not NULL, its gradient (K-1+p);
 * -INFINITY when the thresholds are not increasing. */
double sj_ordinal_objective(const double *x, size_t n, size_t p, const int *y, size_t n_cats,
                            double ridge, const double *params, double *grad);
/* The same with observation weights w (NULL: 1 each; else finite and > 0):
 * the log-likelihood is sum_i w_i log P(y_i | x_i), so a weight of 2 is a
 * row counted twice, and the starting thresholds use weighted proportions.
 * Several raters of one response become one observation per rater score,
 * each weighted 1 / (the response's number of scores). */
sj_status sj_ordinal_fit_weighted(const double *x, size_t n, size_t p, const int *y,
                                  const double *w, size_t n_cats, double ridge,
                                  sj_ordinal_model *out, sj_error *err);
/* The weighted objective with its gradient and, when hess is not NULL,
 * its Hessian (P x P row-major, P = K-1+p); grad may be NULL. */
double sj_ordinal_objective_weighted(const double *x, size_t n, size_t p, const int *y,
                                     const double *w, size_t n_cats, double ridge,
                                     const double *params, double *grad, double *hess);
/* Category probabilities (K) at linear predictor eta = x.beta. */
void sj_ordinal_probs(const double *thresholds, size_t n_cats, double eta, double *probs);

/* ==== the person-level bootstrap =========================================== */

/* Resamples persons (never single responses) with replacement. Replicate
 * r draws n persons from the persons sorted by id, with a random stream
 * derived from (seed, r) alone: two data sets holding the same persons
 * (in any order) resample identical persons with the same seed, which
 * makes a difference between two audits a paired bootstrap. Nothing per
 * replicate is stored; a replicate is regenerated on demand. */
typedef struct sj_bootstrap sj_bootstrap;

/* person_ids: n_persons distinct ids (duplicates are an input error), at
 * least 2; the ids are not kept. */
sj_bootstrap *sj_bootstrap_new(const char *const *person_ids, size_t n_persons, size_t n_replicates,
                               uint64_t seed, sj_error *err);
void sj_bootstrap_free(sj_bootstrap *b);
size_t sj_bootstrap_persons(const sj_bootstrap *b);
size_t sj_bootstrap_replicates(const sj_bootstrap *b);
uint64_t sj_bootstrap_seed(const sj_bootstrap *b);
/* SHA-256 of the sorted ids joined by newlines (each followed by one). */
const char *sj_bootstrap_persons_sha256(const sj_bootstrap *b);
/* Replicate r (0-based): n_persons indices into the caller's person
 * order, with repeats. */
sj_status sj_bootstrap_draw(const sj_bootstrap *b, size_t r, size_t *out, sj_error *err);
/* Replicate r as a count per person (caller's order), summing to n. */
sj_status sj_bootstrap_counts(const sj_bootstrap *b, size_t r, unsigned *counts, sj_error *err);
/* Percentile interval at `level` (0.95) of the finite values: R's type-7
 * quantiles at (1 - level) / 2 and (1 + level) / 2. Returns the number of
 * finite values; with none, lo and hi are NaN. */
size_t sj_bootstrap_interval(const double *values, size_t n, double level, double *lo, double *hi);

/* ==== the expert panel checked (judges.c) =================================== */

/* The columns of a per-judge table (the reward model's panel.csv, compare's
 * panel_judges.csv): the keys of a judge in panel.json, with the interval
 * of the group difference split into _ci_low and _ci_high. */
#define SJ_PANEL_N_JUDGE_COLUMNS 17
extern const char *const SJ_PANEL_JUDGE_COLUMNS[SJ_PANEL_N_JUDGE_COLUMNS];

/* A judgment of a pair of candidate scorings: a, b or a tie. */
enum { SJ_CHOICE_A = 0, SJ_CHOICE_B = 1, SJ_CHOICE_TIE = 2, SJ_N_CHOICES = 3 };
/* The group of the response judged. */
enum { SJ_SIDE_NONE = -1, SJ_SIDE_REFERENCE = 0, SJ_SIDE_FOCAL = 1 };

/* Krippendorff's alpha for nominal data: n values value[i] in
 * 0..n_categories-1, value i given to unit unit[i]. Only units with two or
 * more values count (*n_units receives how many; may be NULL). With the
 * coincidences o_ck = sum over units of (c-k pairs of values in the unit) /
 * (m_u - 1), n_c = sum_k o_ck and n = sum_c n_c,
 *     alpha = 1 - (n - 1) * sum_{c != k} o_ck / sum_{c != k} n_c n_k.
 * NaN when no unit has two values or every value is in one category (no
 * expected disagreement: alpha is undefined), or a value is out of range. */
double sj_alpha_nominal(const size_t *unit, const int *value, size_t n, int n_categories,
                        size_t *n_units);

/* Newcombe's hybrid score interval (Newcombe 1998, method 10) for p1 - p2:
 * Wilson intervals [l1, u1], [l2, u2] of each proportion at z, then
 * [d - sqrt((p1 - l1)^2 + (u2 - p2)^2), d + sqrt((u1 - p1)^2 + (p2 - l2)^2)].
 * The proportions may come from non-integer counts (ties as halves). NaN
 * bounds when n1 or n2 is 0. */
void sj_newcombe_interval(double p1, double n1, double p2, double n2, double z, double *lo,
                          double *hi);
/* Two-sided p of the pooled two-proportion z test of p1 = p2; 1 when the
 * pooled proportion is 0 or 1 (the two rates are then equal), NaN when n1 or
 * n2 is 0. */
double sj_two_proportion_p(double p1, double n1, double p2, double n2);

typedef struct {
    size_t pair; /* the pair judged (the judgments of one pair share it), < n_pairs */
    long judge;  /* the judge's index, < n_judges; -1 when the judgment names no judge */
    int choice;  /* SJ_CHOICE_* */
    int higher;  /* the candidate with the higher score (SJ_CHOICE_A or _B); -1 when equal */
    int side;    /* SJ_SIDE_* of the response */
} sj_judgment;

/* The flags (sj_judge_stats): majority agreement below
 * SJ_PANEL_MIN_AGREEMENT on at least SJ_PANEL_MIN_COMPARED judgments
 * compared with a majority; a difference between the groups with a
 * Holm-adjusted p (over the judges with a p) below SJ_PANEL_GROUP_P. */
#define SJ_PANEL_MIN_AGREEMENT 0.6
#define SJ_PANEL_MIN_COMPARED 10
#define SJ_PANEL_GROUP_P 0.05

typedef struct {
    size_t judgments, ties;
    size_t overlap_judgments; /* on pairs with two judgments or more */
    /* Leave-one-out: a judgment on an overlap pair is compared with the
     * choice most of the other judgments of the pair made (skipped when two
     * choices tie for most). */
    size_t majority_compared, majority_agreed;
    double majority_agreement; /* agreed / compared; NaN when none compared */
    /* The rate of preferring the candidate with the higher score, over
     * judgments whose candidates' scores differ (a tie counts 1/2), on
     * focal and on reference responses; NaN without any. */
    double higher_pref_focal, higher_pref_reference;
    size_t n_focal, n_reference;
    double group_difference; /* focal - reference */
    double group_ci[2];      /* Newcombe hybrid score, 95% */
    double group_p;          /* pooled two-proportion z test, unadjusted */
    double group_p_holm;     /* Holm-adjusted over the judges with a group_p */
    int flag_disagrees;      /* agreement below SJ_PANEL_MIN_AGREEMENT (enough compared) */
    int flag_group;          /* group_p_holm < SJ_PANEL_GROUP_P */
} sj_judge_stats;

typedef struct {
    size_t n_pairs, n_judgments, n_ties;
    size_t n_overlap_pairs; /* pairs with two judgments or more */
    double alpha;           /* Krippendorff's alpha over the overlap pairs (NaN: none) */
    size_t alpha_pairs;
    size_t n_judges;
    sj_judge_stats *judges; /* n_judges */
} sj_panel_stats;

/* The panel statistics of n judgments of n_pairs pairs by n_judges judges.
 * SJ_ERR_INPUT for a judgment out of range (pair, judge, choice, higher or
 * side); SJ_ERR_WORK when out of memory. */
sj_status sj_panel_stats_compute(const sj_judgment *j, size_t n, size_t n_pairs, size_t n_judges,
                                 sj_panel_stats *out, sj_error *err);
void sj_panel_stats_free(sj_panel_stats *s);

/* Judge weights from the majority agreement a: max(0, 2a - 1) (a judge at
 * chance level for two choices weighs 0, one always with the majority 1);
 * a judge without a compared judgment, and judgments naming no judge, 1.
 * Then all are scaled so that the weights average 1 over the n judgments.
 * weights[n_judges] receives each judge's weight, *unnamed that of
 * judgments without a judge (may be NULL). SJ_ERR_INPUT when every weight
 * is 0. */
sj_status sj_panel_judge_weights(const sj_panel_stats *s, const sj_judgment *j, size_t n,
                                 double *weights, double *unnamed, sj_error *err);

#endif
