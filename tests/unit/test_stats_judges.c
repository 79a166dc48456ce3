/* The expert panel statistics on hand-worked examples: Krippendorff's
 * alpha (small panels and Krippendorff's own nominal example), each judge's
 * leave-one-out agreement with the majority, the preference for the
 * higher-scoring candidate by group (Newcombe's published interval), the
 * flags and the judge weights. */
#include "test_helpers.h"

#include <math.h>

#include "sjtalign/stats.h"

#define assert_close(got, want, tol)                                                               \
    do {                                                                                           \
        double g_ = (got), w_ = (want);                                                            \
        if (!(fabs(g_ - w_) <= (tol)))                                                             \
            fail_msg("%s = %.17g, expected %.17g", #got, g_, w_);                                  \
    } while (0)

enum { A = SJ_CHOICE_A, B = SJ_CHOICE_B, T = SJ_CHOICE_TIE };

/* Pairs 1-3 judged several times: {a, a, a}, {a, b}, {b, b, tie}; pair 4
 * once (tie), which alpha leaves out. Coincidences (a pair of values in a
 * unit of m values counts 1/(m - 1) in each order):
 *   unit 1: six ordered a-a pairs x 1/2 -> o_aa = 3
 *   unit 2: a-b and b-a x 1            -> o_ab = o_ba = 1
 *   unit 3: b-b twice, b-t twice, t-b twice, x 1/2 -> o_bb = 1, o_bt = o_tb = 1
 * n_a = 3 + 1 = 4, n_b = 1 + 1 + 1 = 3, n_t = 1, n = 8.
 * Observed off-diagonal 4; expected sum_{c != k} n_c n_k = 2 (4*3 + 4*1 + 3*1) = 38.
 * alpha = 1 - 7 * 4 / 38 = 10/38 = 5/19. */
static void alpha_by_hand(void **state)
{
    (void)state;
    const size_t unit[] = {1, 1, 1, 2, 2, 3, 3, 3, 4};
    const int value[] = {A, A, A, A, B, B, B, T, T};
    size_t n_units = 0;
    assert_close(sj_alpha_nominal(unit, value, 9, 3, &n_units), 5.0 / 19.0, 1e-15);
    assert_int_equal(n_units, 3);
    /* Full agreement with variation between units: no observed
     * disagreement, alpha 1. */
    const size_t u2[] = {0, 0, 1, 1, 1};
    const int v2[] = {A, A, T, T, T};
    assert_close(sj_alpha_nominal(u2, v2, 5, 3, NULL), 1.0, 1e-15);
    /* Every value in one category: no expected disagreement, undefined. */
    const int v3[] = {B, B, B, B, B};
    assert_true(isnan(sj_alpha_nominal(u2, v3, 5, 3, &n_units)));
    assert_int_equal(n_units, 2);
    /* No unit with two values: nothing to compare. */
    const size_t u4[] = {0, 1, 2};
    assert_true(isnan(sj_alpha_nominal(u4, value, 3, 3, &n_units)));
    assert_int_equal(n_units, 0);
    /* A value outside the categories. */
    const int v5[] = {A, 3, A};
    assert_true(isnan(sj_alpha_nominal(u4, v5, 3, 3, NULL)));
}

/* Krippendorff (2011), "Computing Krippendorff's alpha-reliability", the
 * nominal example: 4 observers, 12 units, values 1..5 ('.' missing):
 *   unit:  1 2 3 4 5 6 7 8 9 10 11 12
 *   A:     1 2 3 3 2 1 4 1 2 .  .  .
 *   B:     1 2 3 3 2 2 4 1 2 5  .  3
 *   C:     . 3 3 3 2 3 4 2 2 5  1  .
 *   D:     1 2 3 3 2 4 4 1 2 5  1  .
 * Unit 12 has one value and drops out: n = 40 pairable values.
 * Coincidences by unit (m values, pairs counted 1/(m - 1)):
 *   u1 {1,1,1}: o11 += 3           u2 {2,2,3,2}: o22 += 2, o23 = o32 += 1
 *   u3 {3,3,3,3}: o33 += 4         u4 {3,3,3,3}: o33 += 4
 *   u5 {2,2,2,2}: o22 += 4         u6 {1,2,3,4}: each off pair += 1/3
 *   u7 {4,4,4,4}: o44 += 4         u8 {1,1,2,1}: o11 += 2, o12 = o21 += 1
 *   u9 {2,2,2,2}: o22 += 4         u10 {5,5,5}: o55 += 3
 *   u11 {1,1}: o11 += 2
 * giving the matrix (rows 1..5)
 *   1: 7    4/3  1/3  1/3  0
 *   2: 4/3  10   4/3  1/3  0
 *   3: 1/3  4/3  8    1/3  0
 *   4: 1/3  1/3  1/3  4    0
 *   5: 0    0    0    0    3
 * with n_c = 9, 13, 10, 5, 3. Observed off-diagonal sum 40 - 32 = 8;
 * expected sum_{c != k} n_c n_k = 40^2 - (81 + 169 + 100 + 25 + 9) = 1216.
 * alpha = 1 - 39 * 8 / 1216 = 904/1216 = 113/152 = 0.7434..., the 0.743
 * Krippendorff reports. */
static void alpha_krippendorff_example(void **state)
{
    (void)state;
    const int data[4][12] = {{1, 2, 3, 3, 2, 1, 4, 1, 2, 0, 0, 0},
                             {1, 2, 3, 3, 2, 2, 4, 1, 2, 5, 0, 3},
                             {0, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, 0},
                             {1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, 0}};
    size_t unit[48];
    int value[48];
    size_t n = 0;
    for (int obs = 0; obs < 4; obs++)
        for (size_t u = 0; u < 12; u++)
            if (data[obs][u]) {
                unit[n] = u;
                value[n++] = data[obs][u] - 1;
            }
    size_t n_units = 0;
    double alpha = sj_alpha_nominal(unit, value, n, 5, &n_units);
    assert_close(alpha, 113.0 / 152.0, 1e-15);
    assert_close(round(alpha * 1000) / 1000, 0.743, 1e-12);
    assert_int_equal(n_units, 11);
}

/* Newcombe (1998), Statistics in Medicine 17:873-890, Table II, method 10
 * (hybrid score): 56/70 - 48/80 gives [0.0524, 0.3339], 9/10 - 3/10 gives
 * [0.1705, 0.8090]. The pooled z test of 56/70 against 48/80 is R's
 * prop.test(c(56, 48), c(70, 80), correct = FALSE): X-squared 7.0234,
 * p = 0.008045. */
static void newcombe_published_examples(void **state)
{
    (void)state;
    const double z = 1.959963984540054;
    double lo, hi;
    sj_newcombe_interval(56.0 / 70, 70, 48.0 / 80, 80, z, &lo, &hi);
    assert_close(lo, 0.0524, 5e-5);
    assert_close(hi, 0.3339, 5e-5);
    sj_newcombe_interval(0.9, 10, 0.3, 10, z, &lo, &hi);
    assert_close(lo, 0.1705, 5e-5);
    assert_close(hi, 0.8090, 5e-5);
    assert_close(sj_two_proportion_p(56.0 / 70, 70, 48.0 / 80, 80), 0.008045, 5e-7);
    /* equal rates of 0 or 1: nothing differs, p = 1; an empty group: NaN */
    assert_close(sj_two_proportion_p(1.0, 5, 1.0, 8), 1.0, 0);
    assert_true(isnan(sj_two_proportion_p(0.5, 0, 0.5, 8)));
    sj_newcombe_interval(0.5, 4, 0.5, 0, z, &lo, &hi);
    assert_true(isnan(lo) && isnan(hi));
}

static sj_judgment jm(size_t pair, long judge, int choice)
{
    return (sj_judgment){pair, judge, choice, -1, SJ_SIDE_NONE};
}

/* Judges 0, 1, 2 on four pairs:
 *   pair 0: a, a, b    (judges 0 and 1 see the others split 1-1: skipped;
 *                       judge 2 sees a majority a and disagrees)
 *   pair 1: a, a, a    (each agrees)
 *   pair 2: tie, tie   (judges 0 and 1 each see a tie: agree)
 *   pair 3: judge 2 alone (no overlap)
 * Judge 0: 3 overlap judgments, 2 compared, 2 agreed = 1.0; judge 1 the
 * same; judge 2: 3 judgments, 2 overlap, 2 compared, 1 agreed = 0.5.
 * Alpha (pairs 0-2): o_aa = 1 + 3, o_ab = o_ba = 1, o_tt = 2; n_a = 5, n_b =
 * 1, n_t = 2, n = 8; expected 2 (5 + 10 + 2) = 34; alpha = 1 - 7 * 2 / 34 =
 * 10/17. */
static void majority_agreement_leaves_one_out(void **state)
{
    (void)state;
    const sj_judgment j[] = {jm(0, 0, A), jm(0, 1, A), jm(0, 2, B), jm(1, 0, A), jm(1, 1, A),
                             jm(1, 2, A), jm(2, 0, T), jm(2, 1, T), jm(3, 2, A)};
    sj_panel_stats s;
    sj_error err;
    sj_error_clear(&err);
    assert_int_equal(sj_panel_stats_compute(j, 9, 4, 3, &s, &err), SJ_OK);
    assert_int_equal(s.n_pairs, 4);
    assert_int_equal(s.n_judgments, 9);
    assert_int_equal(s.n_ties, 2);
    assert_int_equal(s.n_overlap_pairs, 3);
    assert_close(s.alpha, 10.0 / 17.0, 1e-15);
    assert_int_equal(s.alpha_pairs, 3);
    const size_t judgments[3] = {3, 3, 3}, overlap[3] = {3, 3, 2}, compared[3] = {2, 2, 2};
    const double agreement[3] = {1.0, 1.0, 0.5};
    for (int k = 0; k < 3; k++) {
        assert_int_equal(s.judges[k].judgments, judgments[k]);
        assert_int_equal(s.judges[k].overlap_judgments, overlap[k]);
        assert_int_equal(s.judges[k].majority_compared, compared[k]);
        assert_close(s.judges[k].majority_agreement, agreement[k], 1e-15);
        assert_false(s.judges[k].flag_disagrees); /* fewer than 10 compared */
        assert_true(isnan(s.judges[k].group_p));  /* no group */
    }
    assert_int_equal(s.judges[0].ties, 1);
    assert_int_equal(s.judges[2].ties, 0);
    sj_panel_stats_free(&s);
}

/* Twelve pairs, judges 0 and 1 choose a, judge 2 chooses b: judge 2 meets
 * a majority a twelve times and agrees never (flagged: 0 < 0.6 on 12 >=
 * 10); judges 0 and 1 always see the others split and are never compared.
 * Weights: judges 0 and 1 have no agreement, raw 1; judge 2 max(0, 2 * 0 -
 * 1) = 0; 36 judgments weigh 24 in all, so each weight is scaled by 36/24.
 * A second panel: judge 0 agrees on 8 of 10 (raw weight 0.6), judge 1 on
 * all 10 (raw 1): 10 judgments each weigh 16 in all, scale 20/16. */
static void disagreeing_judge_flagged_and_weighted(void **state)
{
    (void)state;
    sj_judgment j[36];
    for (size_t p = 0; p < 12; p++) {
        j[3 * p] = jm(p, 0, A);
        j[3 * p + 1] = jm(p, 1, A);
        j[3 * p + 2] = jm(p, 2, B);
    }
    sj_panel_stats s;
    sj_error err;
    sj_error_clear(&err);
    assert_int_equal(sj_panel_stats_compute(j, 36, 12, 3, &s, &err), SJ_OK);
    assert_int_equal(s.judges[2].majority_compared, 12);
    assert_close(s.judges[2].majority_agreement, 0.0, 0);
    assert_true(s.judges[2].flag_disagrees);
    assert_int_equal(s.judges[0].majority_compared, 0);
    assert_true(isnan(s.judges[0].majority_agreement));
    assert_false(s.judges[0].flag_disagrees);
    double w[3], unnamed = 0;
    assert_int_equal(sj_panel_judge_weights(&s, j, 36, w, &unnamed, &err), SJ_OK);
    assert_close(w[0], 1.5, 1e-15);
    assert_close(w[1], 1.5, 1e-15);
    assert_close(w[2], 0.0, 0);
    assert_close(unnamed, 1.5, 1e-15);
    sj_panel_stats_free(&s);

    /* judges 0 and 1 with the unnamed judgment (-1) as third voice: on
     * pairs 0-7 all choose a; on pairs 8-9 judge 0 chooses b */
    sj_judgment k[30];
    for (size_t p = 0; p < 10; p++) {
        k[3 * p] = jm(p, 0, p < 8 ? A : B);
        k[3 * p + 1] = jm(p, 1, A);
        k[3 * p + 2] = jm(p, -1, A);
    }
    assert_int_equal(sj_panel_stats_compute(k, 30, 10, 2, &s, &err), SJ_OK);
    assert_close(s.judges[0].majority_agreement, 0.8, 1e-15);
    /* judge 1 on pairs 8-9 sees {b, a}: split, skipped; 8 of 8 agree */
    assert_int_equal(s.judges[1].majority_compared, 8);
    assert_close(s.judges[1].majority_agreement, 1.0, 0);
    assert_false(s.judges[0].flag_disagrees); /* 0.8 >= 0.6 */
    assert_int_equal(sj_panel_judge_weights(&s, k, 30, w, &unnamed, &err), SJ_OK);
    /* raw: 10 x 0.6 + 10 x 1 + 10 x 1 = 26 for 30 judgments */
    assert_close(w[0], 0.6 * 30 / 26, 1e-15);
    assert_close(w[1], 30.0 / 26, 1e-15);
    assert_close(unnamed, 30.0 / 26, 1e-15);
    sj_panel_stats_free(&s);

    /* two judges who always disagree: each agrees 0 of 2 with the other
     * (the majority of one), both weigh 0: an input error */
    const sj_judgment z[4] = {jm(0, 0, A), jm(0, 1, B), jm(1, 0, T), jm(1, 1, A)};
    assert_int_equal(sj_panel_stats_compute(z, 4, 2, 2, &s, &err), SJ_OK);
    assert_close(s.judges[0].majority_agreement, 0.0, 0);
    assert_int_equal(sj_panel_judge_weights(&s, z, 4, w, NULL, &err), SJ_ERR_INPUT);
    assert_non_null(strstr(err.msg, "weighs 0"));
    sj_panel_stats_free(&s);
}

static sj_judgment jg(size_t pair, int choice, int higher, int side)
{
    return (sj_judgment){pair, 0, choice, higher, side};
}

/* One judge. Focal responses (higher candidate a): a, a, a, b, tie, tie
 * -> (3 + 0 + 2 x 1/2) / 6 = 2/3; one focal pair of equal scores and one
 * response of neither group do not count. Reference (higher b): b, b, a, a
 * -> 1/2. Difference 1/6. Pooled p = (4 + 2)/10 = 0.6, SE = sqrt(0.6 x 0.4
 * x (1/6 + 1/4)) = sqrt(0.1), z = (1/6)/sqrt(0.1) = 0.52705, p = 2(1 -
 * Phi(z)) = 0.59816. Newcombe: Wilson intervals of 2/3 (n 6) and 1/2 (n 4)
 * combined give [-0.34021, 0.58908] (the formula with a calculator). */
static void group_preference_by_hand(void **state)
{
    (void)state;
    const sj_judgment j[] = {
        jg(0, A, A, SJ_SIDE_FOCAL),      jg(1, A, A, SJ_SIDE_FOCAL),
        jg(2, A, A, SJ_SIDE_FOCAL),      jg(3, B, A, SJ_SIDE_FOCAL),
        jg(4, T, A, SJ_SIDE_FOCAL),      jg(5, T, A, SJ_SIDE_FOCAL),
        jg(6, A, -1, SJ_SIDE_FOCAL),     jg(7, A, A, SJ_SIDE_NONE),
        jg(8, B, B, SJ_SIDE_REFERENCE),  jg(9, B, B, SJ_SIDE_REFERENCE),
        jg(10, A, B, SJ_SIDE_REFERENCE), jg(11, A, B, SJ_SIDE_REFERENCE),
    };
    sj_panel_stats s;
    sj_error err;
    sj_error_clear(&err);
    assert_int_equal(sj_panel_stats_compute(j, 12, 12, 1, &s, &err), SJ_OK);
    const sj_judge_stats *g = &s.judges[0];
    assert_int_equal(g->n_focal, 6);
    assert_int_equal(g->n_reference, 4);
    assert_close(g->higher_pref_focal, 2.0 / 3.0, 1e-15);
    assert_close(g->higher_pref_reference, 0.5, 1e-15);
    assert_close(g->group_difference, 1.0 / 6.0, 1e-15);
    assert_close(g->group_p, 0.5981614526835282, 1e-9);
    assert_close(g->group_p_holm, 0.5981614526835282, 1e-9); /* one judge */
    assert_close(g->group_ci[0], -0.34020812638841, 1e-9);
    assert_close(g->group_ci[1], 0.5890814535310047, 1e-9);
    assert_false(g->flag_group);
    assert_true(isnan(s.alpha)); /* every pair judged once */
    assert_int_equal(s.n_overlap_pairs, 0);
    sj_panel_stats_free(&s);
}

/* Two judges on 40 focal and 40 reference responses each (higher candidate
 * a). Judge 0 takes it on 36 of 40 focal and 20 of 40 reference
 * responses: pooled 56/80 = 0.7, SE = sqrt(0.21 x 0.05), z = 0.4 / 0.10247
 * = 3.90360, p = 2 pnorm(-3.90360) = 9.4772e-5, Holm x 2 = 1.9e-4 < 0.05: flagged. Judge 1 takes
 * it on 20 and 20: p = 1, not flagged. */
static void biased_judge_flagged_after_holm(void **state)
{
    (void)state;
    sj_judgment j[160];
    size_t n = 0;
    for (long judge = 0; judge < 2; judge++)
        for (int i = 0; i < 40; i++) {
            int focal_pick = judge == 0 ? (i < 36 ? A : B) : (i < 20 ? A : B);
            j[n] = (sj_judgment){n, judge, focal_pick, A, SJ_SIDE_FOCAL};
            n++;
            j[n] = (sj_judgment){n, judge, i < 20 ? A : B, A, SJ_SIDE_REFERENCE};
            n++;
        }
    sj_panel_stats s;
    sj_error err;
    sj_error_clear(&err);
    assert_int_equal(sj_panel_stats_compute(j, n, n, 2, &s, &err), SJ_OK);
    assert_close(s.judges[0].group_difference, 0.4, 1e-15);
    assert_close(s.judges[0].group_p, 9.4772e-5, 1e-9);
    assert_close(s.judges[0].group_p_holm, 2 * s.judges[0].group_p, 1e-15);
    assert_true(s.judges[0].flag_group);
    assert_close(s.judges[1].group_p, 1.0, 1e-12);
    assert_false(s.judges[1].flag_group);
    sj_panel_stats_free(&s);
}

static void judgments_out_of_range_refused(void **state)
{
    (void)state;
    sj_panel_stats s;
    sj_error err;
    sj_error_clear(&err);
    sj_judgment bad[1] = {jm(0, 3, A)};
    assert_int_equal(sj_panel_stats_compute(bad, 1, 1, 2, &s, &err), SJ_ERR_INPUT);
    bad[0] = jm(2, 0, A);
    assert_int_equal(sj_panel_stats_compute(bad, 1, 1, 2, &s, &err), SJ_ERR_INPUT);
    bad[0] = jm(0, 0, 5);
    assert_int_equal(sj_panel_stats_compute(bad, 1, 1, 2, &s, &err), SJ_ERR_INPUT);
    assert_non_null(strstr(err.msg, "out of range"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(alpha_by_hand),
        cmocka_unit_test(alpha_krippendorff_example),
        cmocka_unit_test(newcombe_published_examples),
        cmocka_unit_test(majority_agreement_leaves_one_out),
        cmocka_unit_test(disagreeing_judge_flagged_and_weighted),
        cmocka_unit_test(group_preference_by_hand),
        cmocka_unit_test(biased_judge_flagged_after_holm),
        cmocka_unit_test(judgments_out_of_range_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
