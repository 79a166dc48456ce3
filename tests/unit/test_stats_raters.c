/* Several raters: human-human agreement, the machine against each rater and
 * against their mean, PRMSE (Loukina et al. 2020) and degradation, with
 * Williamson, Xi & Breyer's thresholds. Every expected value is worked by
 * hand below (or, for the last PRMSE, by an independent script). */
#include "test_helpers.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "sjtalign/stats.h"

#define NEAR(x, y) assert_true(fabs((x) - (y)) < 1e-12)

/* Example 1: four responses, both raters score every one.
 *   machine m = 1 2 2 3
 *   rater 1   = 1 2 3 3      (mean 2.25, population variance 0.6875)
 *   rater 2   = 1 1 3 2      (mean 1.75, population variance 0.6875)
 *   mean hbar = 1 1.5 3 2.5  (mean 2,    population variance 0.625)
 * machine: mean 2, population variance 0.5. */
static const double EX1_M[] = {1, 2, 2, 3};
static const double EX1_R1[] = {1, 2, 3, 3};
static const double EX1_R2[] = {1, 1, 3, 2};

static void compute(const double *m, const double *const *raters, size_t n_raters, size_t n,
                    const int *group, size_t n_groups, sj_raters_result *out)
{
    sj_raters_input in = {n, m, n_raters, raters, group, n_groups};
    sj_error err = {0};
    assert_int_equal(sj_raters_compute(&in, out, &err), SJ_OK);
}

static void test_human_human_and_machine_rater(void **state)
{
    (void)state;
    const double *raters[] = {EX1_R1, EX1_R2};
    sj_raters_result r;
    compute(EX1_M, raters, 2, 4, NULL, 0, &r);
    const sj_raters_scope *s = &r.overall;
    assert_int_equal(r.n_pairs, 1);
    assert_int_equal(s->n_responses, 4);
    assert_int_equal(s->n_multiple, 4);
    assert_int_equal(s->n_ratings, 8);
    /* Rater 1 against rater 2: equal on responses 1 and 3 (exact 2/4), never
     * more than one apart (adjacent 1). cov = (0.9375 + 0.1875 + 0.9375 +
     * 0.1875) / 4 = 0.5625; QWK = 2 cov / (0.6875 + 0.6875 + 0.5^2) =
     * 1.125 / 1.625 = 9/13; r = 0.5625 / 0.6875 = 9/11. */
    assert_int_equal(s->pairs[0].n, 4);
    NEAR(s->pairs[0].exact, 0.5);
    NEAR(s->pairs[0].adjacent, 1.0);
    NEAR(s->pairs[0].qwk, 9.0 / 13.0);
    NEAR(s->pairs[0].pearson_r, 9.0 / 11.0);
    NEAR(s->qwk_human_human, 9.0 / 13.0);
    NEAR(s->pearson_human_human, 9.0 / 11.0);
    /* Machine against rater 1: exact 3/4; cov = (1.25 + 0.75) / 4 = 0.5;
     * QWK = 1 / (0.5 + 0.6875 + 0.25^2) = 0.8; r = 0.5 / sqrt(0.5 *
     * 0.6875) = sqrt(8/11); SMD = (2 - 2.25) / sqrt((2/3 + 2.75/3) / 2) =
     * -0.25 sqrt(24/19).
     * Machine against rater 2: exact 1/4; cov = (0.75 + 0.25) / 4 = 0.25;
     * QWK = 0.5 / 1.25 = 0.4; r = sqrt(2/11); SMD = +0.25 sqrt(24/19). */
    NEAR(s->machine_rater[0].exact, 0.75);
    NEAR(s->machine_rater[0].qwk, 0.8);
    NEAR(s->machine_rater[0].pearson_r, sqrt(8.0 / 11.0));
    NEAR(s->machine_rater[0].smd, -0.25 * sqrt(24.0 / 19.0));
    NEAR(s->machine_rater[1].exact, 0.25);
    NEAR(s->machine_rater[1].qwk, 0.4);
    NEAR(s->machine_rater[1].pearson_r, sqrt(2.0 / 11.0));
    /* Means over the raters: QWK 0.6, r (sqrt(8/11) + sqrt(2/11)) / 2 =
     * 3 sqrt(2) / (2 sqrt(11)), SMD 0, exact 0.5, adjacent 1. */
    NEAR(s->qwk_machine_human, 0.6);
    NEAR(s->pearson_machine_human, 3.0 * sqrt(2.0) / (2.0 * sqrt(11.0)));
    NEAR(s->smd_machine_human, 0.0);
    NEAR(s->exact_machine_human, 0.5);
    NEAR(s->adjacent_machine_human, 1.0);
    /* Degradation: 0.6 - 9/13 = -1.2/13; r: 3 sqrt 2 / (2 sqrt 11) - 9/11. */
    NEAR(s->degradation_qwk, 0.6 - 9.0 / 13.0);
    NEAR(s->degradation_r, 3.0 * sqrt(2.0) / (2.0 * sqrt(11.0)) - 9.0 / 11.0);
    /* Machine against the mean rating: cov = (1 + 0.5) / 4 = 0.375;
     * r = 0.375 / sqrt(0.5 * 0.625) = 3 / (2 sqrt 5); QWK = 0.75 / (0.5 +
     * 0.625 + 0) = 2/3; RMSE = sqrt((0 + 0.25 + 1 + 0.25) / 4) =
     * sqrt(0.375). */
    NEAR(s->pearson_machine_mean, 3.0 / (2.0 * sqrt(5.0)));
    NEAR(s->qwk_machine_mean, 2.0 / 3.0);
    NEAR(s->rmse_machine_mean, sqrt(0.375));
    sj_raters_free(&r);
}

static void test_prmse_two_raters(void **state)
{
    (void)state;
    const double *raters[] = {EX1_R1, EX1_R2};
    sj_raters_result r;
    compute(EX1_M, raters, 2, 4, NULL, 0, &r);
    const sj_raters_scope *s = &r.overall;
    /* V_e: squared deviations from each response's mean 0, 0.5, 0, 0.5 over
     * sum (n_i - 1) = 4: 0.25.
     * mu = 16 / 8 = 2; sum n_i (hbar_i - mu)^2 = 2 (1 + 0.25 + 1 + 0.25) = 5;
     * V_T = (5 - 3 * 0.25) / (8 - 16 / 8) = 4.25 / 6.
     * sum n_i (hbar_i - m_i)^2 = 2 (0 + 0.25 + 1 + 0.25) = 3;
     * MSE = (3 - 4 * 0.25) / 8 = 0.25.
     * PRMSE = 1 - 0.25 / (4.25 / 6) = 1 - 6/17 = 11/17. */
    NEAR(s->error_variance, 0.25);
    NEAR(s->true_score_variance, 4.25 / 6.0);
    NEAR(s->mse_true, 0.25);
    NEAR(s->prmse, 11.0 / 17.0);
    sj_raters_free(&r);
}

static void test_prmse_one_or_two_ratings(void **state)
{
    (void)state;
    /* Example 2: responses 3 and 4 have one rating each.
     *   machine = 0 2 3 1
     *   rater 1 = 1 2 3 -
     *   rater 2 = 0 2 - 2
     * n_i = 2 2 1 1, hbar = 0.5 2 3 2, M = 6, N = 4, mu = 10/6 = 5/3.
     * V_e = ((1 - .5)^2 + (0 - .5)^2 + 0) / (1 + 1) = 0.25.
     * sum n_i (hbar_i - mu)^2 = 2 (7/6)^2 + 2 (1/3)^2 + (4/3)^2 + (1/3)^2
     *   = (98 + 8 + 64 + 4) / 36 = 29/6;
     * V_T = (29/6 - 3 * 0.25) / (6 - (4 + 4 + 1 + 1) / 6) = (49/12) / (13/3)
     *   = 49/52.
     * sum n_i (hbar_i - m_i)^2 = 2 * 0.25 + 0 + 0 + 1 = 1.5;
     * MSE = (1.5 - 4 * 0.25) / 6 = 1/12.
     * PRMSE = 1 - (1/12) / (49/52) = 1 - 13/147 = 134/147. */
    static const double m[] = {0, 2, 3, 1};
    static const double r1[] = {1, 2, 3, NAN};
    static const double r2[] = {0, 2, NAN, 2};
    const double *raters[] = {r1, r2};
    sj_raters_result r;
    compute(m, raters, 2, 4, NULL, 0, &r);
    const sj_raters_scope *s = &r.overall;
    assert_int_equal(s->n_responses, 4);
    assert_int_equal(s->n_multiple, 2);
    assert_int_equal(s->n_ratings, 6);
    NEAR(s->error_variance, 0.25);
    NEAR(s->true_score_variance, 49.0 / 52.0);
    NEAR(s->mse_true, 1.0 / 12.0);
    NEAR(s->prmse, 134.0 / 147.0);
    /* The pair is compared on responses 1 and 2 only: r1 = 1 2, r2 = 0 2;
     * variances 0.25 and 1, cov 0.5, means 1.5 and 1: QWK = 1 / (0.25 + 1 +
     * 0.25) = 2/3, r = 0.5 / sqrt(0.25) = 1, exact 1/2. */
    assert_int_equal(s->pairs[0].n, 2);
    NEAR(s->pairs[0].qwk, 2.0 / 3.0);
    NEAR(s->pairs[0].pearson_r, 1.0);
    NEAR(s->pairs[0].exact, 0.5);
    /* The machine against rater 1 uses responses 1-3, against rater 2
     * responses 1, 2 and 4. */
    assert_int_equal(s->machine_rater[0].n, 3);
    assert_int_equal(s->machine_rater[1].n, 3);
    sj_raters_free(&r);
}

/* An independent computation: the script below, written from the formulas
 * of Loukina et al. (2020) in exact rational arithmetic, prints
 *   V_e 29/90, V_T 2419/3310, MSE 427/900, PRMSE 76373/217710
 *   (0.350801524964402)
 * ---- prmse_check.py ----
 * from fractions import Fraction as F
 * machine = [F(x) for x in ("1.4", "0.2", "2.1", "2.9", "1.0", "2.2", "0.8",
 *                           "1.1", "2.9", "2.0", "2.5", "0.1")]
 * raters = [
 *     [0, 1, 3, 2, 1, 3, 0, 2, 2, 3, 1, 1],
 *     [1, 1, 2, 2, None, 3, 0, 1, 3, None, 2, None],
 *     [None, 2, 3, None, None, 2, None, 2, None, None, 1, 0],
 * ]
 * N = len(machine)
 * ratings = [[r[i] for r in raters if r[i] is not None] for i in range(N)]
 * c = [len(h) for h in ratings]
 * hbar = [F(sum(h), len(h)) for h in ratings]
 * cdot = sum(c)
 * mu = F(sum(sum(h) for h in ratings), cdot)
 * ve = sum(sum((x - hbar[i]) ** 2 for x in ratings[i]) for i in range(N)) \
 *      / sum(ci - 1 for ci in c if ci >= 2)
 * vt = (sum(c[i] * (hbar[i] - mu) ** 2 for i in range(N)) - (N - 1) * ve) \
 *      / (cdot - F(sum(ci * ci for ci in c), cdot))
 * mse = (sum(c[i] * (hbar[i] - machine[i]) ** 2 for i in range(N)) - N * ve) / cdot
 * print("V_e", ve, "V_T", vt, "MSE", mse, "PRMSE", 1 - mse / vt)
 * ---- end ---- */
static void test_prmse_matches_independent_script(void **state)
{
    (void)state;
    static const double m[] = {1.4, 0.2, 2.1, 2.9, 1.0, 2.2, 0.8, 1.1, 2.9, 2.0, 2.5, 0.1};
    static const double r1[] = {0, 1, 3, 2, 1, 3, 0, 2, 2, 3, 1, 1};
    static const double r2[] = {1, 1, 2, 2, NAN, 3, 0, 1, 3, NAN, 2, NAN};
    static const double r3[] = {NAN, 2, 3, NAN, NAN, 2, NAN, 2, NAN, NAN, 1, 0};
    const double *raters[] = {r1, r2, r3};
    sj_raters_result r;
    compute(m, raters, 3, 12, NULL, 0, &r);
    const sj_raters_scope *s = &r.overall;
    assert_int_equal(r.n_pairs, 3);
    NEAR(s->error_variance, 29.0 / 90.0);
    NEAR(s->true_score_variance, 2419.0 / 3310.0);
    NEAR(s->mse_true, 427.0 / 900.0);
    NEAR(s->prmse, 76373.0 / 217710.0);
    /* Pairs in the order (1,2), (1,3), (2,3): rater 3 shares responses 2,
     * 3, 6, 8, 11, 12 with rater 1 and 2, 3, 6, 8, 11 with rater 2. */
    assert_int_equal(s->pairs[0].n, 9);
    assert_int_equal(s->pairs[1].n, 6);
    assert_int_equal(s->pairs[2].n, 5);
    sj_raters_free(&r);
}

static void test_groups_and_thresholds(void **state)
{
    (void)state;
    /* Example 1 split into groups 0 (responses 1, 2) and 1 (responses 3, 4).
     * Group 1: m = 2 3, r1 = 3 3, r2 = 3 2. Rater 1 is constant, so its
     * QWK with the machine is 2 cov / (var_m + 0 + d^2) with cov 0: 0, and
     * r is undefined. Rater 2: m and r2 have means 2.5 and 2.5, variances
     * 0.25 and 0.25, cov -0.25: QWK = -0.5 / 0.5 = -1, r = -1. The mean
     * over raters of r uses rater 2 only: -1.
     * SMD in group 1: rater 1 (2.5 - 3) / sqrt((0.5 + 0) / 2) = -1; rater
     * 2: 0; mean -0.5, beyond the .10 allowed within a group. */
    const double *raters[] = {EX1_R1, EX1_R2};
    static const int group[] = {0, 0, 1, 1};
    sj_raters_result r;
    compute(EX1_M, raters, 2, 4, group, 2, &r);
    const sj_raters_scope *g1 = &r.by_group[1];
    assert_int_equal(g1->n_responses, 2);
    NEAR(g1->machine_rater[0].qwk, 0.0);
    assert_true(isnan(g1->machine_rater[0].pearson_r));
    NEAR(g1->machine_rater[1].qwk, -1.0);
    NEAR(g1->pearson_machine_human, -1.0);
    NEAR(g1->smd_machine_human, -0.5);
    /* PRMSE in group 1: hbar = 3, 2.5, mu = 11/4, sum n_i (hbar_i - mu)^2 =
     * 2 (1/16) + 2 (1/16) = 0.25; V_e = (0 + 0.5) / 2 = 0.25; V_T = (0.25 -
     * 1 * 0.25) / (4 - 8/4) = 0: all the spread is rater error, PRMSE is
     * undefined (not a huge number from rounding). */
    NEAR(g1->error_variance, 0.25);
    NEAR(g1->true_score_variance, 0.0);
    assert_true(isnan(g1->prmse));
    sj_raters_threshold t[SJ_RATERS_N_CHECKS];
    sj_raters_thresholds(g1, 1, t);
    assert_string_equal(t[SJ_RATERS_SMD].name, "smd");
    NEAR(t[SJ_RATERS_SMD].threshold, 0.10);
    assert_int_equal(t[SJ_RATERS_SMD].pass, 0);
    /* Overall (example 1): QWK 0.6 fails .70, r 0.6396 fails .70,
     * degradation -0.0923 passes -.10, SMD 0 passes .15. */
    sj_raters_thresholds(&r.overall, 0, t);
    assert_int_equal(t[SJ_RATERS_QWK].pass, 0);
    assert_int_equal(t[SJ_RATERS_R].pass, 0);
    assert_int_equal(t[SJ_RATERS_DEGRADATION].pass, 1);
    assert_int_equal(t[SJ_RATERS_SMD].pass, 1);
    NEAR(t[SJ_RATERS_SMD].threshold, 0.15);
    sj_raters_free(&r);
}

static void test_threshold_edges(void **state)
{
    (void)state;
    /* 0.7 - 0.8 is -0.10000000000000009 in doubles: it meets -0.10. */
    sj_raters_scope s;
    memset(&s, 0, sizeof s);
    s.qwk_machine_human = 0.7;
    s.pearson_machine_human = NAN;
    s.qwk_human_human = 0.8;
    s.degradation_qwk = s.qwk_machine_human - s.qwk_human_human;
    s.smd_machine_human = -0.15;
    sj_raters_threshold t[SJ_RATERS_N_CHECKS];
    sj_raters_thresholds(&s, 0, t);
    assert_int_equal(t[SJ_RATERS_QWK].pass, 1);
    assert_int_equal(t[SJ_RATERS_R].pass, -1);
    assert_int_equal(t[SJ_RATERS_DEGRADATION].pass, 1);
    assert_int_equal(t[SJ_RATERS_SMD].pass, 1);
    s.smd_machine_human = 0.1500001;
    s.degradation_qwk = -0.1000001;
    sj_raters_thresholds(&s, 0, t);
    assert_int_equal(t[SJ_RATERS_SMD].pass, 0);
    assert_int_equal(t[SJ_RATERS_DEGRADATION].pass, 0);
}

static void test_missing_machine_and_no_overlap(void **state)
{
    (void)state;
    /* Response 2 has no machine score: left out. Raters never share a
     * response, so human-human and PRMSE are undefined (NaN). */
    static const double m[] = {1, NAN, 2, 0};
    static const double r1[] = {1, 2, NAN, 0};
    static const double r2[] = {NAN, 2, 2, NAN};
    const double *raters[] = {r1, r2};
    sj_raters_result r;
    compute(m, raters, 2, 4, NULL, 0, &r);
    assert_int_equal(r.overall.n_responses, 3);
    assert_int_equal(r.overall.n_multiple, 0);
    assert_int_equal(r.overall.pairs[0].n, 0);
    assert_true(isnan(r.overall.qwk_human_human));
    assert_true(isnan(r.overall.error_variance));
    assert_true(isnan(r.overall.prmse));
    assert_true(isnan(r.overall.degradation_qwk));
    sj_raters_free(&r);
}

static void test_input_errors(void **state)
{
    (void)state;
    const double *raters[] = {EX1_R1, EX1_R2};
    static const int bad_group[] = {0, 0, 2, 1};
    sj_raters_result r;
    sj_error err = {0};
    sj_raters_input one = {4, EX1_M, 1, raters, NULL, 0};
    assert_int_equal(sj_raters_compute(&one, &r, &err), SJ_ERR_INPUT);
    assert_non_null(strstr(err.msg, "at least 2 raters"));
    sj_error err2 = {0};
    sj_raters_input bad = {4, EX1_M, 2, raters, bad_group, 2};
    assert_int_equal(sj_raters_compute(&bad, &r, &err2), SJ_ERR_INPUT);
    assert_non_null(strstr(err2.msg, "response 3"));
}

static void test_json(void **state)
{
    (void)state;
    const double *raters[] = {EX1_R1, EX1_R2};
    static const int group[] = {0, 0, 1, 1};
    const char *names[] = {"h1", "h2"};
    const char *groups[] = {"ref", "foc"};
    sj_raters_result r;
    compute(EX1_M, raters, 2, 4, group, 2, &r);
    cJSON *j = sj_raters_to_json(&r, names, groups);
    assert_non_null(j);
    const cJSON *overall = cJSON_GetObjectItem(j, "overall");
    NEAR(cJSON_GetObjectItem(overall, "prmse")->valuedouble, 11.0 / 17.0);
    const cJSON *pair = cJSON_GetArrayItem(cJSON_GetObjectItem(overall, "human_human"), 0);
    assert_string_equal(cJSON_GetObjectItem(pair, "rater_a")->valuestring, "h1");
    assert_string_equal(cJSON_GetObjectItem(pair, "rater_b")->valuestring, "h2");
    const cJSON *deg =
        cJSON_GetObjectItem(cJSON_GetObjectItem(overall, "thresholds"), "degradation_qwk");
    NEAR(cJSON_GetObjectItem(deg, "threshold")->valuedouble, -0.10);
    assert_true(cJSON_IsTrue(cJSON_GetObjectItem(deg, "pass")));
    const cJSON *foc = cJSON_GetObjectItem(cJSON_GetObjectItem(j, "by_group"), "foc");
    const cJSON *smd = cJSON_GetObjectItem(cJSON_GetObjectItem(foc, "thresholds"), "smd");
    NEAR(cJSON_GetObjectItem(smd, "threshold")->valuedouble, 0.10);
    assert_true(cJSON_IsFalse(cJSON_GetObjectItem(smd, "pass")));
    /* Rater 1's r with the machine in group foc is undefined: null. */
    const cJSON *mr = cJSON_GetArrayItem(cJSON_GetObjectItem(foc, "machine_rater"), 0);
    assert_true(cJSON_IsNull(cJSON_GetObjectItem(mr, "pearson_r")));
    assert_string_equal(cJSON_GetObjectItem(mr, "rater")->valuestring, "h1");
    cJSON_Delete(j);
    sj_raters_free(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_human_human_and_machine_rater),
        cmocka_unit_test(test_prmse_two_raters),
        cmocka_unit_test(test_prmse_one_or_two_ratings),
        cmocka_unit_test(test_prmse_matches_independent_script),
        cmocka_unit_test(test_groups_and_thresholds),
        cmocka_unit_test(test_threshold_edges),
        cmocka_unit_test(test_missing_machine_and_no_overlap),
        cmocka_unit_test(test_input_errors),
        cmocka_unit_test(test_json),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
