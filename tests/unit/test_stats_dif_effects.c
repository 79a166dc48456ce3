/* DIF effect sizes on reweighted persons (the bootstrap's replicates), the
 * anchor set kept fixed, and the delta-method standard error of SMD/SD:
 * hand-worked examples, every replicate of a three-person bootstrap
 * against a table worked by hand, and the standard error against finite
 * differences and a simulation. */
#include "test_helpers.h"

#include <math.h>

#include <gsl/gsl_randist.h>

#include "sjtalign/stats.h"

/* Persons with their group (0 reference "R", 1 focal "F") and item scores. */
static sj_score_data *make_data(size_t n_persons, size_t n_items, const char *const *ids,
                                const int *group, const int *scores)
{
    sj_score_data *d = sj_score_data_new(n_persons, n_items, 2);
    assert_non_null(d);
    d->group_names[0] = strdup("R");
    d->group_names[1] = strdup("F");
    for (size_t j = 0; j < n_items; j++) {
        char id[32];
        snprintf(id, sizeof id, "I%zu", j + 1);
        d->item_ids[j] = strdup(id);
    }
    for (size_t i = 0; i < n_persons; i++) {
        d->person_ids[i] = strdup(ids[i]);
        d->group[i] = group[i];
    }
    memcpy(d->scores, scores, n_persons * n_items * sizeof *scores);
    return d;
}

static sj_dif_result *run_dif(const sj_score_data *d)
{
    sj_dif_options o;
    sj_dif_options_defaults(&o);
    static const char *const focal[] = {"F"};
    o.reference = "R";
    o.focal = focal;
    o.n_focal = 1;
    o.min_cell = 1;
    sj_error err;
    sj_error_clear(&err);
    sj_dif_result *r = sj_dif_run(d, &o, &err);
    if (!r)
        fail_msg("dif: %s", err.msg);
    return r;
}

/* Six persons, three items scored 0..2 (I1 studied):
 *   R1 (2,1,0) R2 (1,1,2) R3 (0,0,1) | F1 (1,1,2) F2 (0,1,0) F3 (2,0,2). */
static const char *const SIX[] = {"R1", "R2", "R3", "F1", "F2", "F3"};
static const int SIX_GROUP[] = {0, 0, 0, 1, 1, 1};
static const int SIX_SCORES[] = {2, 1, 0, 1, 1, 2, 0, 0, 1, 1, 1, 2, 0, 1, 0, 2, 0, 2};

/* Matching on all items (totals R 3, 4, 1; F 4, 1, 4): stratum 1 holds R3
 * and F2, both 0 on I1 (difference 0, one focal person); stratum 4 holds
 * R2 (1) against F1 (1) and F3 (2): difference 1.5 - 1 = 0.5 for two focal
 * persons. SMD = (1 * 0 + 2 * 0.5) / 3 = 1/3. With I3 left out of the
 * matching score (a fixed anchor set of I1 and I2: totals R 3, 2, 0; F 2,
 * 1, 2) only stratum 2 holds both groups: R2 (1) against F1 (1), F3 (2):
 * SMD = 0.5. The SD of I1 over the six persons: mean 1, squares 4, so
 * sqrt(4 / 5): SMD/SD = 0.5 / sqrt(0.8). */
static void test_fixed_anchor_set_hand_worked(void **state)
{
    (void)state;
    sj_score_data *d = make_data(6, 3, SIX, SIX_GROUP, SIX_SCORES);
    sj_dif_result *r = run_dif(d);
    assert_near(r->rows[0].smd, 1.0 / 3, 1e-12);
    for (size_t j = 0; j < 3; j++)
        assert_int_equal(r->matching[j], 1);
    sj_dif_effect e[3];
    sj_error err;
    sj_error_clear(&err);
    assert_int_equal(sj_dif_effects(d, r, NULL, e, &err), SJ_OK);
    assert_near(e[0].smd, 1.0 / 3, 1e-12);
    assert_near(e[0].smd_over_sd, r->rows[0].smd_over_sd, 1e-12);
    assert_true(isnan(e[0].delta_mh));
    r->matching[2] = 0; /* I3 leaves the anchor set */
    assert_int_equal(sj_dif_effects(d, r, NULL, e, &err), SJ_OK);
    assert_near(e[0].smd, 0.5, 1e-12);
    assert_near(e[0].smd_over_sd, 0.5 / sqrt(0.8), 1e-12);
    sj_dif_result_free(r);
    sj_score_data_free(d);
}

/* Weights R1 0, R2 2, R3 1, F1 1, F2 0, F3 3, all items matching. Stratum
 * 1 keeps R3 only (F2 has weight 0): unused. Stratum 4: reference R2 twice
 * (1, 1), focal F1 (1) and F3 three times (2, 2, 2): 7/4 - 1 = 0.75 =
 * SMD. The SD of I1 over the seven copies 1, 1, 0, 1, 2, 2, 2: sum 9,
 * squares 15, SS = 15 - 81/7 = 24/7, variance 4/7. */
static void test_weights_hand_worked(void **state)
{
    (void)state;
    sj_score_data *d = make_data(6, 3, SIX, SIX_GROUP, SIX_SCORES);
    sj_dif_result *r = run_dif(d);
    const unsigned w[] = {0, 2, 1, 1, 0, 3};
    sj_dif_effect e[3];
    sj_error err;
    sj_error_clear(&err);
    assert_int_equal(sj_dif_effects(d, r, w, e, &err), SJ_OK);
    assert_near(e[0].smd, 0.75, 1e-12);
    assert_near(e[0].smd_over_sd, 0.75 / sqrt(4.0 / 7), 1e-12);
    sj_dif_result_free(r);
    sj_score_data_free(d);
}

/* Three persons, two items, everyone at total 2: R1 (1,1), R2 (0,2), F1
 * (2,0). A replicate with c1 copies of R1, c2 of R2 and cF of F1 has one
 * stratum; I1's SMD is 2 - c1 / (c1 + c2), undefined without F1 or
 * without a reference person. By hand, SMD and SMD/SD of every resample:
 *   (c1,c2,cF) = (1,0,2): SMD 1, values 1,2,2, SD sqrt(1/3), SMD/SD sqrt 3
 *   (0,1,2): SMD 2, values 0,2,2, SD sqrt(4/3), SMD/SD sqrt 3
 *   (2,0,1): SMD 1, values 1,1,2, SD sqrt(1/3), SMD/SD sqrt 3
 *   (0,2,1): SMD 2, values 0,0,2, SD sqrt(4/3), SMD/SD sqrt 3
 *   (1,1,1): SMD 1.5, values 1,0,2, SD 1, SMD/SD 1.5
 *   others: undefined (NaN). */
static void expected_three(const unsigned c[3], double *smd, double *ratio)
{
    *smd = *ratio = NAN;
    if (c[2] == 0 || c[0] + c[1] == 0)
        return;
    if (c[0] == 1 && c[1] == 1) {
        *smd = 1.5;
        *ratio = 1.5;
        return;
    }
    *smd = c[0] ? 1 : 2;
    *ratio = sqrt(3.0);
}

static void test_three_person_bootstrap_enumerated(void **state)
{
    (void)state;
    static const char *const ids[] = {"R1", "R2", "F1"};
    static const int group[] = {0, 0, 1};
    static const int scores[] = {1, 1, 0, 2, 2, 0};
    sj_score_data *d = make_data(3, 2, ids, group, scores);
    sj_dif_result *r = run_dif(d);
    assert_near(r->rows[0].smd, 1.5, 1e-12);
    sj_error err;
    sj_error_clear(&err);
    const size_t B = 200;
    sj_bootstrap *b = sj_bootstrap_new(ids, 3, B, 11, &err);
    assert_non_null(b);
    int seen[4][4][4] = {{{0}}};
    double smd_rep[200];
    for (size_t k = 0; k < B; k++) {
        size_t draw[3];
        assert_int_equal(sj_bootstrap_draw(b, k, draw, &err), SJ_OK);
        unsigned c[3] = {0, 0, 0};
        for (int i = 0; i < 3; i++)
            c[draw[i]]++;
        seen[c[0]][c[1]][c[2]] = 1;
        sj_dif_effect e[2];
        assert_int_equal(sj_dif_effects(d, r, c, e, &err), SJ_OK);
        double smd, ratio;
        expected_three(c, &smd, &ratio);
        if (isnan(smd)) {
            assert_true(isnan(e[0].smd) && isnan(e[0].smd_over_sd));
        } else {
            assert_near(e[0].smd, smd, 1e-12);
            assert_near(e[0].smd_over_sd, ratio, 1e-12);
        }
        smd_rep[k] = e[0].smd;
    }
    /* 200 replicates meet all ten resamples of three persons. */
    int kinds = 0;
    for (int x = 0; x < 4; x++)
        for (int y = 0; y < 4; y++)
            for (int z = 0; z < 4; z++)
                kinds += seen[x][y][z];
    assert_int_equal(kinds, 10);
    /* The percentile interval is R's type-7 quantile of the finite
     * replicates: sorted, at (m - 1) p with linear interpolation. */
    double finite[200];
    size_t m = 0;
    for (size_t k = 0; k < B; k++)
        if (!isnan(smd_rep[k]))
            finite[m++] = smd_rep[k];
    for (size_t i = 1; i < m; i++)
        for (size_t j = i; j > 0 && finite[j - 1] > finite[j]; j--) {
            double t = finite[j];
            finite[j] = finite[j - 1];
            finite[j - 1] = t;
        }
    double h = (double)(m - 1) * 0.025, lo_expected;
    size_t f = (size_t)floor(h);
    lo_expected = finite[f] + (h - (double)f) * (finite[f + 1] - finite[f]);
    double lo, hi;
    assert_int_equal(sj_bootstrap_interval(smd_rep, B, 0.95, &lo, &hi), m);
    assert_near(lo, lo_expected, 1e-12);
    sj_bootstrap_free(b);
    sj_dif_result_free(r);
    sj_score_data_free(d);
}

/* Dichotomous items: the replicate's delta is the MH delta of the
 * reweighted table. Four persons at total 1 on two 0/1 items: R1 (1,0), R2
 * (0,1), F1 (1,0), F2 (0,1). Weights 3, 1, 1, 2 give one stratum with A =
 * 3 (ref, I1 = 1), B = 1, C = 1, D = 2: alpha = (3 * 2) / (1 * 1) = 6 and
 * delta = -2.35 ln 6. */
static void test_dichotomous_delta_reweighted(void **state)
{
    (void)state;
    static const char *const ids[] = {"R1", "R2", "F1", "F2"};
    static const int group[] = {0, 0, 1, 1};
    static const int scores[] = {1, 0, 0, 1, 1, 0, 0, 1};
    sj_score_data *d = make_data(4, 2, ids, group, scores);
    sj_dif_result *r = run_dif(d);
    assert_int_equal(r->rows[0].type, SJ_ITEM_DICHOTOMOUS);
    const unsigned w[] = {3, 1, 1, 2};
    sj_dif_effect e[2];
    sj_error err;
    sj_error_clear(&err);
    assert_int_equal(sj_dif_effects(d, r, w, e, &err), SJ_OK);
    assert_near(e[0].delta_mh, -2.35 * log(6.0), 1e-12);
    assert_true(isnan(e[0].smd));
    sj_dif_result_free(r);
    sj_score_data_free(d);
}

/* ---- the delta-method SE of SMD/SD ------------------------------------------ */

/* Three strata, scores 0..3; the focal group lower in the middle stratum. */
static const double CELLS[3][2][4] = {
    {{30, 25, 10, 5}, {20, 15, 4, 1}},
    {{10, 30, 35, 15}, {12, 20, 12, 6}},
    {{2, 10, 30, 40}, {1, 8, 16, 15}},
};

static void fill_counts(sj_dif_counts *c, double scale)
{
    c->n_strata = 3;
    c->n_cats = 4;
    c->stratum_score = malloc(3 * sizeof *c->stratum_score);
    c->cat_value = malloc(4 * sizeof *c->cat_value);
    c->count = malloc(24 * sizeof *c->count);
    for (size_t k = 0; k < 3; k++)
        c->stratum_score[k] = (double)k;
    for (size_t j = 0; j < 4; j++)
        c->cat_value[j] = (double)j;
    for (size_t k = 0; k < 3; k++)
        for (size_t g = 0; g < 2; g++)
            for (size_t j = 0; j < 4; j++)
                c->count[(k * 2 + g) * 4 + j] = scale * CELLS[k][g][j];
}

/* Var = sum n_c g_c^2 - (sum n_c g_c)^2 / N with g_c the central
 * difference of the statistic by the count of cell c (a person more or
 * less in that cell). */
static void finite_difference_se(sj_dif_counts *c, double *se_smd, double *se_ratio)
{
    double s1 = 0, s2 = 0, r1 = 0, r2 = 0, n = 0;
    const double h = 1e-4;
    for (size_t i = 0; i < 24; i++) {
        double base = c->count[i];
        sj_mantel up, down;
        c->count[i] = base + h;
        sj_mantel_compute(c, &up);
        c->count[i] = base - h;
        sj_mantel_compute(c, &down);
        c->count[i] = base;
        double g = (up.smd - down.smd) / (2 * h), q = (up.smd_over_sd - down.smd_over_sd) / (2 * h);
        s1 += base * g;
        s2 += base * g * g;
        r1 += base * q;
        r2 += base * q * q;
        n += base;
    }
    *se_smd = sqrt(s2 - s1 * s1 / n);
    *se_ratio = sqrt(r2 - r1 * r1 / n);
}

static void test_delta_se_against_finite_differences(void **state)
{
    (void)state;
    sj_dif_counts c = {0};
    fill_counts(&c, 1);
    sj_mantel m;
    sj_mantel_compute(&c, &m);
    double se_smd, se_ratio;
    finite_difference_se(&c, &se_smd, &se_ratio);
    assert_near(m.se_smd, se_smd, 1e-6 * se_smd);
    assert_near(m.se_smd_over_sd, se_ratio, 1e-6 * se_ratio);
    /* Near zero the SE stays finite: a test-based SE would be |SMD/SD| /
     * sqrt(chi2), which tends to 0/0. */
    assert_true(isfinite(m.se_smd_over_sd) && m.se_smd_over_sd > 0);
    sj_dif_counts_free(&c);
}

/* Persons drawn from the cells' shares (multinomial, N = 1,000): the SD of
 * SMD/SD over 4,000 samples is within 5% of the delta-method SE at the
 * shares. */
static void test_delta_se_against_simulation(void **state)
{
    (void)state;
    sj_dif_counts c = {0};
    fill_counts(&c, 1);
    double total = 0, p[24];
    for (size_t i = 0; i < 24; i++)
        total += c.count[i];
    const unsigned N = 1000;
    for (size_t i = 0; i < 24; i++) {
        p[i] = c.count[i] / total;
        c.count[i] = p[i] * N;
    }
    sj_mantel at;
    sj_mantel_compute(&c, &at);
    gsl_rng *rng = sj_rng_new(20261126);
    assert_non_null(rng);
    double sum = 0, sum2 = 0;
    const int reps = 4000;
    for (int k = 0; k < reps; k++) {
        unsigned n[24];
        gsl_ran_multinomial(rng, 24, N, p, n);
        for (size_t i = 0; i < 24; i++)
            c.count[i] = n[i];
        sj_mantel m;
        sj_mantel_compute(&c, &m);
        sum += m.smd_over_sd;
        sum2 += m.smd_over_sd * m.smd_over_sd;
    }
    double sd = sqrt((sum2 - sum * sum / reps) / (reps - 1));
    assert_near(sd, at.se_smd_over_sd, 0.05 * at.se_smd_over_sd);
    sj_rng_free(rng);
    sj_dif_counts_free(&c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fixed_anchor_set_hand_worked),
        cmocka_unit_test(test_weights_hand_worked),
        cmocka_unit_test(test_three_person_bootstrap_enumerated),
        cmocka_unit_test(test_dichotomous_delta_reweighted),
        cmocka_unit_test(test_delta_se_against_finite_differences),
        cmocka_unit_test(test_delta_se_against_simulation),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
