/* The DIF building blocks on hand-worked tables: Mantel-Haenszel, Breslow-
 * Day, Mantel's ordinal test and SMD, the ETS and R2 class boundaries,
 * p-value adjustment, sparse strata, untestable items and separation. */
#include "test_helpers.h"

#include "stats_fixture.h"

/* counts[k][g][c] from a flat literal */
static sj_dif_counts make_counts(size_t n_strata, size_t n_cats, const double *scores,
                                 const double *values, const double *count)
{
    sj_dif_counts c;
    c.n_strata = n_strata;
    c.n_cats = n_cats;
    c.stratum_score = malloc(n_strata * sizeof(double));
    c.cat_value = malloc(n_cats * sizeof(double));
    c.count = malloc(n_strata * 2 * n_cats * sizeof(double));
    memcpy(c.stratum_score, scores, n_strata * sizeof(double));
    memcpy(c.cat_value, values, n_cats * sizeof(double));
    memcpy(c.count, count, n_strata * 2 * n_cats * sizeof(double));
    return c;
}

static void close_to(double got, double want, double rel)
{
    if (!(fabs(got - want) <= rel * fabs(want)))
        fail_msg("got %.17g, want %.17g", got, want);
}

/* Stratum 1: A = 10, B = 10, C = 5, D = 15 (T = 40); stratum 2: A = 20,
 * B = 5, C = 10, D = 10 (T = 45). By hand: sum AD/T = 15/4 + 40/9 =
 * 295/36, sum BC/T = 5/4 + 10/9 = 85/36, alpha = 59/17. E(A) = 7.5 and
 * 50/3, so sum(A - E) = 35/6; Var(A) = 20*20*15*25/(40^2*39) and
 * 25*20*30*15/(45^2*44). Two more strata must change nothing: one person
 * alone (T = 1) and a stratum holding only the reference group. */
static const double HAND_COUNTS[] = {
    10, 10, 15, 5,  /* k1: ref (0s, 1s), focal (0s, 1s) */
    5,  20, 10, 10, /* k2 */
    0,  1,  0,  0,  /* k3: one person */
    3,  4,  0,  0,  /* k4: reference only */
};

static void mantel_haenszel_hand_worked(void **state)
{
    (void)state;
    const double scores[] = {1, 2, 3, 4}, values[] = {0, 1};
    sj_dif_counts c = make_counts(4, 2, scores, values, HAND_COUNTS);
    sj_mh mh;
    sj_mh_compute(&c, 1, &mh);
    assert_int_equal(mh.n_strata_used, 2);
    close_to(mh.alpha, 59.0 / 17.0, 1e-14);
    close_to(mh.delta, -2.35 * log(59.0 / 17.0), 1e-14);
    double var = 20.0 * 20 * 15 * 25 / (1600.0 * 39) + 25.0 * 20 * 30 * 15 / (2025.0 * 44);
    double dev = 35.0 / 6;
    close_to(mh.chi2_nocc, dev * dev / var, 1e-13);
    close_to(mh.chi2, (dev - 0.5) * (dev - 0.5) / var, 1e-13);
    /* RBG by hand: P = (A + D)/T, Q = (B + C)/T per stratum */
    double R1 = 15.0 / 4, S1 = 5.0 / 4, P1 = 25.0 / 40, Q1 = 15.0 / 40;
    double R2 = 40.0 / 9, S2 = 10.0 / 9, P2 = 30.0 / 45, Q2 = 15.0 / 45;
    double R = R1 + R2, S = S1 + S2;
    double v = (P1 * R1 + P2 * R2) / (2 * R * R) +
               (P1 * S1 + Q1 * R1 + P2 * S2 + Q2 * R2) / (2 * R * S) +
               (Q1 * S1 + Q2 * S2) / (2 * S * S);
    close_to(mh.se_delta, 2.35 * sqrt(v), 1e-13);
    /* R: mantelhaen.test(array(c(10,5,10,15,20,10,5,10), c(2,2,2))) */
    close_to(mh.chi2, 5.7707192118226578, 1e-13);
    close_to(mh.se_delta, 1.1239098229836739, 1e-12);
    /* R: breslow_day() of make_fixtures.R (uniroot on the OR equation) */
    close_to(mh.bd_chi2, 0.090310821296705396, 1e-9);
    assert_true(mh.bd_df == 1);
    close_to(mh.bd_p, 0.763782382016169881, 1e-9);
    sj_mh_compute(&c, 0, &mh);
    close_to(mh.bd_chi2, 0.090339108159286613, 1e-9);
    sj_dif_counts_free(&c);
}

/* R's mantelhaen.test leaves the continuity correction out when
 * |sum(A - E)| < 0.5: one stratum A = 2, B = 2, C = 2, D = 3 (E(A) = 16/9,
 * A - E = 2/9). */
static void continuity_correction_as_r(void **state)
{
    (void)state;
    const double scores[] = {1, 2}, values[] = {0, 1};
    const double counts[] = {2, 2, 3, 2, 1, 1, 1, 1};
    sj_dif_counts c = make_counts(2, 2, scores, values, counts);
    sj_mh mh;
    sj_mh_compute(&c, 1, &mh);
    assert_true(mh.chi2 == mh.chi2_nocc);
    assert_true(mh.chi2 > 0);
    sj_dif_counts_free(&c);
}

/* Stratum 1: reference scores 0, 1, 2 and focal 1, 2; stratum 2: reference
 * 2, 2 and focal 0, 1, 2. By hand: F - E = (3 - 2.4) + (3 - 4.2) = -0.6,
 * V = 3*2*(5*10 - 36)/(25*4) + 2*3*(5*13 - 49)/(25*4) = 0.84 + 0.96,
 * chi2 = 0.36 / 1.8 = 0.2. SMD = 2/5 * 0.5 + 3/5 * (-1) = -0.4; the ten
 * scores have SD sqrt(6.1 / 9). */
static void mantel_and_smd_hand_worked(void **state)
{
    (void)state;
    const double scores[] = {3, 4, 9}, values[] = {0, 1, 2};
    const double counts[] = {
        1, 1, 1, 0, 1, 1, /* k1: ref 0,1,2; focal 1,2 */
        0, 0, 2, 1, 1, 1, /* k2: ref 2,2; focal 0,1,2 */
        0, 0, 1, 0, 0, 0, /* k3: T = 1, dropped */
    };
    sj_dif_counts c = make_counts(3, 3, scores, values, counts);
    sj_mantel mt;
    sj_mantel_compute(&c, &mt);
    assert_int_equal(mt.n_strata_used, 2);
    close_to(mt.chi2, 0.2, 1e-13);
    close_to(mt.p, 0.65472084601857694, 1e-12); /* R: pchisq(0.2, 1, lower.tail = FALSE) */
    close_to(mt.smd, -0.4, 1e-13);
    /* the SD counts every person, the lone one of k3 too: 11 scores */
    double sum = 15, sum2 = 27, n = 11;
    double sd = sqrt((sum2 - sum * sum / n) / (n - 1));
    close_to(mt.smd_over_sd, -0.4 / sd, 1e-13);
    sj_dif_counts_free(&c);
}

static void ets_boundaries(void **state)
{
    (void)state;
    /* |delta| = 1.0 is not below 1: B when significant */
    assert_string_equal(sj_ets_class(1.0, 0.1, 0.001), "B");
    assert_string_equal(sj_ets_class(-1.0, 0.1, 0.001), "B");
    assert_string_equal(sj_ets_class(0.9999999, 0.1, 0.001), "A");
    /* not significant: A whatever the size */
    assert_string_equal(sj_ets_class(2.5, 0.1, 0.05), "A");
    assert_string_equal(sj_ets_class(2.5, 0.1, 0.0499), "C");
    /* |delta| = 1.5: C needs (|delta| - 1)/se > 1.645 */
    assert_string_equal(sj_ets_class(1.5, 0.303, 0.001), "C"); /* 0.5/0.303 = 1.650 */
    assert_string_equal(sj_ets_class(-1.5, 0.303, 0.001), "C");
    assert_string_equal(sj_ets_class(1.5, 0.304, 0.001), "B"); /* 0.5/0.304 = 1.645 - */
    assert_string_equal(sj_ets_class(1.4999999, 0.01, 0.001), "B");
    assert_null(sj_ets_class(NAN, 0.1, 0.01));
    /* polytomous: AA up to .17 inclusive, CC beyond .25 */
    assert_string_equal(sj_ets_poly_class(0.17, 0.001), "AA");
    assert_string_equal(sj_ets_poly_class(-0.1700001, 0.001), "BB");
    assert_string_equal(sj_ets_poly_class(0.25, 0.001), "BB");
    assert_string_equal(sj_ets_poly_class(0.2500001, 0.001), "CC");
    assert_string_equal(sj_ets_poly_class(0.9, 0.05), "AA");
    /* Zumbo-Thomas and Jodoin-Gierl */
    assert_string_equal(sj_r2_class(0.129999, 0.001, 0.13, 0.26), "A");
    assert_string_equal(sj_r2_class(0.13, 0.001, 0.13, 0.26), "B");
    assert_string_equal(sj_r2_class(0.26, 0.001, 0.13, 0.26), "C");
    assert_string_equal(sj_r2_class(0.5, 0.06, 0.13, 0.26), "A");
    assert_string_equal(sj_r2_class(0.035, 0.001, 0.035, 0.070), "B");
    assert_string_equal(sj_r2_class(0.070, 0.001, 0.035, 0.070), "C");
}

/* p = .01 .04 .03 NA .005; four tests. Holm: sorted .005 .01 .03 .04 times
 * 4 3 2 1 = .02 .03 .06 .04, running maximum .02 .03 .06 .06. BH: times
 * 4/1 4/2 4/3 4/4 = .02 .02 .04 .04, running minimum from the top. */
static void p_adjust_hand_worked(void **state)
{
    (void)state;
    const double p[] = {0.01, 0.04, 0.03, NAN, 0.005};
    double out[5];
    sj_error err;
    sj_error_clear(&err);
    assert_int_equal(sj_p_adjust(p, 5, SJ_ADJUST_HOLM, out, &err), SJ_OK);
    close_to(out[0], 0.03, 1e-15);
    close_to(out[1], 0.06, 1e-15);
    close_to(out[2], 0.06, 1e-15);
    assert_true(isnan(out[3]));
    close_to(out[4], 0.02, 1e-15);
    assert_int_equal(sj_p_adjust(p, 5, SJ_ADJUST_BH, out, &err), SJ_OK);
    close_to(out[0], 0.02, 1e-15);
    close_to(out[1], 0.04, 1e-15);
    close_to(out[2], 0.04, 1e-15);
    assert_true(isnan(out[3]));
    close_to(out[4], 0.02, 1e-15);
    double big[] = {0.5, 0.9};
    assert_int_equal(sj_p_adjust(big, 2, SJ_ADJUST_HOLM, big, &err), SJ_OK);
    close_to(big[0], 1.0, 0);
    close_to(big[1], 1.0, 0);
}

/* A count of p-values whose ranking arrays cannot be allocated (SIZE_MAX /
 * 4 entries: more bytes than size_t holds) is reported as out of memory,
 * and the output is left as it was instead of being filled with NaN. */
static void p_adjust_reports_out_of_memory(void **state)
{
    (void)state;
    double p[] = {0.01, 0.02};
    sj_error err;
    sj_error_clear(&err);
    assert_int_equal(sj_p_adjust(p, SIZE_MAX / 4, SJ_ADJUST_BH, p, &err), SJ_ERR_WORK);
    assert_non_null(strstr(err.msg, "out of memory adjusting"));
    close_to(p[0], 0.01, 0);
    close_to(p[1], 0.02, 0);
}

static sj_score_data *from_csv(const char *csv)
{
    sj_error err;
    sj_error_clear(&err);
    sj_table *t = sj_table_parse("t.csv", csv, strlen(csv), &err);
    assert_non_null(t);
    sj_score_data *d = sj_score_data_from_table(t, "person_id", "item_id", "score", "group", &err);
    sj_table_free(t);
    if (!d)
        fail_msg("%s", err.msg);
    return d;
}

/* 12 persons, 3 items: i1 varies, i2 constant, i3 polytomous. */
static const char SPARSE_CSV[] = "person_id,item_id,score,group\n"
                                 "p1,i1,0,r\np1,i2,1,r\np1,i3,0,r\n"
                                 "p2,i1,1,r\np2,i2,1,r\np2,i3,1,r\n"
                                 "p3,i1,0,r\np3,i2,1,r\np3,i3,2,r\n"
                                 "p4,i1,1,r\np4,i2,1,r\np4,i3,2,r\n"
                                 "p5,i1,1,r\np5,i2,1,r\np5,i3,1,r\n"
                                 "p6,i1,0,r\np6,i2,1,r\np6,i3,0,r\n"
                                 "q1,i1,0,f\nq1,i2,1,f\nq1,i3,1,f\n"
                                 "q2,i1,1,f\nq2,i2,1,f\nq2,i3,2,f\n"
                                 "q3,i1,0,f\nq3,i2,1,f\nq3,i3,0,f\n"
                                 "q4,i1,1,f\nq4,i2,1,f\nq4,i3,1,f\n"
                                 "q5,i1,0,f\nq5,i2,1,f\nq5,i3,2,f\n"
                                 "q6,i1,1,f\nq6,i2,1,f\nq6,i3,0,f\n";

static sj_dif_result *run_sparse(long min_cell)
{
    sj_score_data *d = from_csv(SPARSE_CSV);
    sj_dif_options o;
    sj_dif_options_defaults(&o);
    const char *f[] = {"f"};
    o.reference = "r";
    o.focal = f;
    o.n_focal = 1;
    o.min_cell = min_cell;
    sj_error err;
    sj_error_clear(&err);
    sj_dif_result *r = sj_dif_run(d, &o, &err);
    sj_score_data_free(d);
    if (!r)
        fail_msg("%s", err.msg);
    return r;
}

static int has_note(const sj_dif_item *it, const char *words)
{
    for (size_t i = 0; i < it->n_notes; i++)
        if (strstr(it->notes[i], words))
            return 1;
    return 0;
}

static void sparse_strata_are_warned(void **state)
{
    (void)state;
    sj_dif_result *r = run_sparse(5);
    const sj_dif_item *i1 = &r->rows[0], *i2 = &r->rows[1], *i3 = &r->rows[2];
    assert_true(i1->tested);
    assert_int_equal(i1->n_ref, 6);
    assert_int_equal(i1->n_focal, 6);
    assert_true(i1->n_strata > 0);
    assert_int_equal(i1->n_sparse_strata, i1->n_strata); /* no stratum has 5 of each */
    assert_true(has_note(i1, "matching-score strata have fewer than 5 persons in a group"));
    assert_false(isnan(i1->mh_chi2_nocc));
    /* a constant item is not tested, and says so */
    assert_false(i2->tested);
    assert_true(isnan(i2->mh_chi2));
    assert_true(has_note(i2, "not tested: every person has the same score (1)"));
    assert_int_equal(i3->type, SJ_ITEM_POLYTOMOUS);
    /* JSON: null with the note, never a silent NaN */
    cJSON *o = sj_dif_item_to_json(i2, SJ_ADJUST_NONE);
    assert_true(cJSON_IsNull(cJSON_GetObjectItem(o, "mh_chi2")));
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(o, "notes")), 1);
    cJSON_Delete(o);
    sj_dif_result_free(r);
    /* min-cell 7: too few persons per group to test anything */
    r = run_sparse(7);
    assert_false(r->rows[0].tested);
    assert_true(has_note(&r->rows[0], "not tested: 6 reference and 6 focal persons, fewer than "
                                      "--min-cell 7"));
    sj_dif_result_free(r);
}

/* Reference always 1, focal always 0 within every stratum: the group
 * separates the responses, so alpha is infinite and the logistic models
 * with a group term diverge. */
static void separation_is_reported(void **state)
{
    (void)state;
    const double scores[] = {1, 2, 3}, values[] = {0, 1};
    const double counts[] = {0, 4, 3, 0, 0, 5, 6, 0, 0, 3, 2, 0};
    sj_dif_counts c = make_counts(3, 2, scores, values, counts);
    sj_lr_dif lr;
    sj_logistic_dif(&c, &lr);
    assert_true(isnan(lr.lr_uniform));
    assert_true(isnan(lr.lr_joint));
    assert_non_null(lr.note);
    assert_non_null(strstr(lr.note, "separation"));
    sj_mh mh;
    sj_mh_compute(&c, 1, &mh);
    assert_true(isnan(mh.delta));
    assert_non_null(mh.note);
    sj_dif_counts_free(&c);
}

/* The binary model M1 on a table where R gives (glm, y ~ s + g):
 * checked through the log-likelihood of a saturated-in-group case with
 * known closed form: with one stratum, M1 is saturated, so its
 * log-likelihood is sum n log(n_cell / n_row). */
static void logistic_saturated_closed_form(void **state)
{
    (void)state;
    const double scores[] = {0, 1}, values[] = {0, 1};
    /* k1: ref 3 zeros 7 ones, focal 6 zeros 4 ones; k2: ref 2/8, focal 5/5 */
    const double counts[] = {3, 7, 6, 4, 2, 8, 5, 5};
    sj_dif_counts c = make_counts(2, 2, scores, values, counts);
    sj_lr_dif lr;
    sj_logistic_dif(&c, &lr);
    /* M2 (s, g, s:g) is saturated on four cells */
    double ll2 = 3 * log(0.3) + 7 * log(0.7) + 6 * log(0.6) + 4 * log(0.4) + 2 * log(0.2) +
                 8 * log(0.8) + 5 * log(0.5) + 5 * log(0.5);
    close_to(lr.ll[2], ll2, 1e-12);
    /* null: 16 zeros, 24 ones */
    close_to(lr.ll_null, 16 * log(0.4) + 24 * log(0.6), 1e-14);
    assert_null(lr.note);
    sj_dif_counts_free(&c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(mantel_haenszel_hand_worked),
        cmocka_unit_test(continuity_correction_as_r),
        cmocka_unit_test(mantel_and_smd_hand_worked),
        cmocka_unit_test(ets_boundaries),
        cmocka_unit_test(p_adjust_hand_worked),
        cmocka_unit_test(p_adjust_reports_out_of_memory),
        cmocka_unit_test(sparse_strata_are_warned),
        cmocka_unit_test(separation_is_reported),
        cmocka_unit_test(logistic_saturated_closed_form),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
