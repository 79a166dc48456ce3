/* Before/after changes with paired bootstrap intervals (compare_changes.c)
 * and the expert panel's reading (compare_panel.c): intervals of hand-made
 * replicates against type-7 percentiles worked by hand, the verdict rule,
 * the checks of bootstrap.csv, the pairing of two audits' bootstraps and
 * the panel document's checks. */
#include "test_helpers.h"

#include <math.h>

#include "../../src/report/report_internal.h"

#define TOL 1e-12

typedef struct {
    char *dir;
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    f->dir = test_mkdtemp();
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    test_rmdir(f->dir);
    free(f);
    return 0;
}

/* Writes text into dir/name; returns the path (caller frees). */
static char *write_file(const fixture *f, const char *name, const char *text)
{
    char *path = sj_path_join(f->dir, name);
    test_write_text(path, text, strlen(text));
    return path;
}

/* Five replicates: type 7 puts the 2.5% point at h = 4 * .025 = 0.1 and
 * the 97.5% point at h = 3.9 of the sorted values (0-based), so
 * lo = x0 + 0.1 (x1 - x0) and hi = x3 + 0.9 (x4 - x3). */
static void test_change_interval(void **state)
{
    (void)state;
    const double before[5] = {-0.40, -0.38, -0.43, -0.35, -0.41};
    const double after[5] = {0.12, -0.04, 0.15, 0.10, 0.20};
    double lo, hi;
    /* |after| - |before|: -0.28, -0.34, -0.28, -0.25, -0.21; sorted -0.34,
     * -0.28, -0.28, -0.25, -0.21: lo = -0.34 + 0.1 * 0.06 = -0.334, hi =
     * -0.25 + 0.9 * 0.04 = -0.214. */
    assert_int_equal(rj_change_interval(before, after, 5, 1, &lo, &hi), 5);
    assert_true(fabs(lo - -0.334) < TOL && fabs(hi - -0.214) < TOL);
    /* Signed: 0.52, 0.34, 0.58, 0.45, 0.61; sorted 0.34, 0.45, 0.52, 0.58,
     * 0.61: lo = 0.34 + 0.1 * 0.11 = 0.351, hi = 0.58 + 0.9 * 0.03 = 0.607. */
    assert_int_equal(rj_change_interval(before, after, 5, 0, &lo, &hi), 5);
    assert_true(fabs(lo - 0.351) < TOL && fabs(hi - 0.607) < TOL);
    /* A replicate missing on either side drops out: changes 0.01, -0.02,
     * 0.02 (three), h = 2 * .025 = 0.05 and 2 * .975 = 1.95: lo = -0.02 +
     * 0.05 * 0.03 = -0.0185, hi = 0.01 + 0.95 * 0.01 = 0.0195. */
    const double b2[5] = {0.01, NAN, 0.02, 0.03, 0.00};
    const double a2[5] = {0.02, 0.01, NAN, 0.01, 0.02};
    assert_int_equal(rj_change_interval(b2, a2, 5, 1, &lo, &hi), 3);
    assert_true(fabs(lo - -0.0185) < TOL && fabs(hi - 0.0195) < TOL);
    const double none[2] = {NAN, NAN};
    assert_int_equal(rj_change_interval(none, none, 2, 0, &lo, &hi), 0);
    assert_true(isnan(lo) && isnan(hi));
}

static void test_verdict_rule(void **state)
{
    (void)state;
    /* DIF and gaps: lower (closer to zero) is better. */
    assert_string_equal(rj_change_verdict(-0.334, -0.214, RJ_BETTER_LOWER), "improved");
    assert_string_equal(rj_change_verdict(0.072, 0.193, RJ_BETTER_LOWER), "worse");
    assert_string_equal(rj_change_verdict(-0.125, 0.037, RJ_BETTER_LOWER), "within noise");
    /* An interval that reaches zero holds it. */
    assert_string_equal(rj_change_verdict(-0.2, 0.0, RJ_BETTER_LOWER), "within noise");
    assert_string_equal(rj_change_verdict(0.0, 0.2, RJ_BETTER_HIGHER), "within noise");
    /* QWK, PRMSE: higher is better. */
    assert_string_equal(rj_change_verdict(0.022, 0.087, RJ_BETTER_HIGHER), "improved");
    assert_string_equal(rj_change_verdict(-0.05, -0.01, RJ_BETTER_HIGHER), "worse");
    /* Without a better direction only the side is named. */
    assert_string_equal(rj_change_verdict(0.1, 0.2, RJ_BETTER_NONE), "higher");
    assert_string_equal(rj_change_verdict(-0.2, -0.1, RJ_BETTER_NONE), "lower");
    assert_string_equal(rj_change_verdict(NAN, 0.1, RJ_BETTER_LOWER), "not comparable");
    rj_stat_info qwk = rj_stat_lookup("agreement.qwk"), smd = rj_stat_lookup("dif.smd_over_sd");
    assert_int_equal(qwk.better, RJ_BETTER_HIGHER);
    assert_int_equal(qwk.absolute, 0);
    assert_int_equal(smd.better, RJ_BETTER_LOWER);
    assert_int_equal(smd.absolute, 1);
    assert_string_equal(rj_better_name(smd.better, smd.absolute), "closer to zero");
    assert_int_equal(rj_stat_lookup("nobody.knows").better, RJ_BETTER_NONE);
}

static cJSON *item(const char *json)
{
    cJSON *it = cJSON_Parse(json);
    assert_non_null(it);
    return it;
}

/* Crafted items: the class moves CC -> BB, but the interval of the change
 * in |SMD/SD| holds zero, so the item is within noise, never improved; a
 * dichotomous item's |delta| likewise; without replicates the class rule,
 * marked "(no interval)". */
static void test_item_verdicts(void **state)
{
    fixture *f = *state;
    char *pb = write_file(f, "b.csv",
                          "statistic,scope,replicate,value\n"
                          "dif.smd_over_sd,x,1,-0.30\ndif.smd_over_sd,x,2,-0.28\n"
                          "dif.smd_over_sd,x,3,-0.33\ndif.smd_over_sd,x,4,-0.26\n"
                          "dif.smd_over_sd,x,5,-0.31\n"
                          "dif.delta_mh,d,1,-1.6\ndif.delta_mh,d,2,-1.7\ndif.delta_mh,d,3,-1.5\n"
                          "dif.delta_mh,d,4,-1.65\ndif.delta_mh,d,5,-1.55\n");
    char *pa = write_file(f, "a.csv",
                          "statistic,scope,replicate,value\n"
                          "dif.smd_over_sd,x,1,0.20\ndif.smd_over_sd,x,2,0.31\n"
                          "dif.smd_over_sd,x,3,0.25\ndif.smd_over_sd,x,4,0.29\n"
                          "dif.smd_over_sd,x,5,0.18\n"
                          "dif.delta_mh,d,1,-1.2\ndif.delta_mh,d,2,-1.9\ndif.delta_mh,d,3,-1.1\n"
                          "dif.delta_mh,d,4,-1.0\ndif.delta_mh,d,5,-1.5\n");
    sj_error err;
    sj_error_clear(&err);
    rj_reps *bb = rj_reps_read(pb, 5, &err), *ba = rj_reps_read(pa, 5, &err);
    assert_non_null(bb);
    assert_non_null(ba);
    cJSON *xb = item("{\"item\":\"x\",\"type\":\"polytomous\",\"smd_over_sd\":-0.30,"
                     "\"ets_poly_class\":\"CC\",\"mantel_chi2\":9}");
    cJSON *xa = item("{\"item\":\"x\",\"type\":\"polytomous\",\"smd_over_sd\":0.22,"
                     "\"ets_poly_class\":\"BB\",\"mantel_chi2\":5}");
    /* |a| - |b|: -0.10, 0.03, -0.08, 0.03, -0.13; sorted -0.13, -0.10,
     * -0.08, 0.03, 0.03: lo = -0.13 + 0.1 * 0.03 = -0.127, hi = 0.03. */
    cJSON *c = rj_item_change(xb, xa, bb, ba);
    assert_string_equal(rj_str(c, "class_before"), "CC");
    assert_string_equal(rj_str(c, "class_after"), "BB");
    assert_string_equal(rj_str(c, "verdict"), "within noise");
    assert_string_equal(rj_str(c, "basis"), "interval");
    assert_true(fabs(rj_num(c, "abs_effect_change") - (0.22 - 0.30)) < TOL);
    const cJSON *ci = rj_get(c, "abs_effect_change_ci");
    assert_true(fabs(cJSON_GetArrayItem(ci, 0)->valuedouble - -0.127) < TOL);
    assert_true(fabs(cJSON_GetArrayItem(ci, 1)->valuedouble - 0.03) < TOL);
    assert_int_equal((int)rj_num(c, "replicates"), 5);
    cJSON_Delete(c);
    /* Without replicates: the class rule. */
    c = rj_item_change(xb, xa, NULL, NULL);
    assert_string_equal(rj_str(c, "verdict"), "improved (no interval)");
    assert_string_equal(rj_str(c, "basis"), "class");
    assert_true(cJSON_IsNull(rj_get(c, "abs_effect_change_ci")));
    cJSON_Delete(c);
    c = rj_item_change(xa, xb, NULL, NULL);
    assert_string_equal(rj_str(c, "verdict"), "worse (no interval)");
    cJSON_Delete(c);
    /* Dichotomous: |a| - |b| = -0.4, 0.2, -0.4, -0.65, -0.05; sorted -0.65,
     * -0.4, -0.4, -0.05, 0.2: lo = -0.65 + 0.1 * 0.25 = -0.625, hi = -0.05 +
     * 0.9 * 0.25 = 0.175. */
    cJSON *db = item("{\"item\":\"d\",\"type\":\"dichotomous\",\"delta_mh\":-1.6,"
                     "\"se_delta_mh\":0.05,\"ets_class\":\"C\"}");
    cJSON *da = item("{\"item\":\"d\",\"type\":\"dichotomous\",\"delta_mh\":-1.2,"
                     "\"se_delta_mh\":0.05,\"ets_class\":\"B\"}");
    c = rj_item_change(db, da, bb, ba);
    assert_string_equal(rj_str(c, "effect"), "delta_mh");
    assert_string_equal(rj_str(c, "verdict"), "within noise");
    ci = rj_get(c, "abs_effect_change_ci");
    assert_true(fabs(cJSON_GetArrayItem(ci, 0)->valuedouble - -0.625) < TOL);
    assert_true(fabs(cJSON_GetArrayItem(ci, 1)->valuedouble - 0.175) < TOL);
    cJSON_Delete(c);
    cJSON_Delete(db);
    cJSON_Delete(da);
    cJSON_Delete(xb);
    cJSON_Delete(xa);
    rj_reps_free(bb);
    rj_reps_free(ba);
    free(pb);
    free(pa);
}

/* Reads `text` as a bootstrap.csv of 3 replicates and expects an input
 * error whose message is `expected` after the file name. */
static void expect_bad(const fixture *f, const char *text, const char *expected)
{
    char *path = write_file(f, "bad.csv", text);
    sj_error err;
    sj_error_clear(&err);
    assert_null(rj_reps_read(path, 3, &err));
    assert_int_equal(err.status, SJ_ERR_INPUT);
    char *want = sj_asprintf("%s:%s", path, expected);
    if (strcmp(err.msg, want) != 0)
        fail_msg("got '%s', expected '%s'", err.msg, want);
    free(want);
    free(path);
}

static void test_boot_read_checks(void **state)
{
    fixture *f = *state;
    expect_bad(f,
               "statistic,scope,replicate,value\nagreement.qwk,all,1,0.9\nagreement.qwk,all,2,x\n",
               "3:4: column 'value': expected a finite number, found 'x'");
    expect_bad(f,
               "statistic,scope,replicate,value\nagreement.qwk,all,1,0.9\n"
               "agreement.qwk,all,2,0.8\n",
               "2: statistic 'agreement.qwk', scope 'all' has 2 replicate rows; expected 3 (the "
               "bootstrap replicates audit.json records)");
    expect_bad(
        f, "statistic,scope,replicate,value\nagreement.qwk,all,1,0.9\nagreement.qwk,all,4,0.8\n",
        "3:3: column 'replicate': 4 is outside 1..3 (audit.json records 3 bootstrap "
        "replicates)");
    expect_bad(
        f, "statistic,scope,replicate,value\nagreement.qwk,all,1,0.9\nagreement.qwk,all,1,0.8\n",
        "3:3: statistic 'agreement.qwk', scope 'all': replicate 1 given twice");
    expect_bad(f, "statistic,scope,replicate,value\n,all,1,0.9\n",
               "2:1: column 'statistic': empty (every row names a statistic and a scope)");
    /* Replicates numbered from 0 are read too; NA and empty are no value. */
    char *path = write_file(f, "ok.csv",
                            "statistic,scope,replicate,value\nparity.cohens_d,all,0,0.1\n"
                            "parity.cohens_d,all,1,NA\nparity.cohens_d,all,2,\n");
    sj_error err;
    sj_error_clear(&err);
    rj_reps *b = rj_reps_read(path, 3, &err);
    assert_non_null(b);
    const double *v = rj_reps_values(b, "parity.cohens_d", "all");
    assert_non_null(v);
    assert_true(v[0] == 0.1 && isnan(v[1]) && isnan(v[2]));
    assert_null(rj_reps_values(b, "parity.cohens_d", "ref"));
    rj_reps_free(b);
    free(path);
}

static void test_pairing(void **state)
{
    (void)state;
    cJSON *a = item("{\"replicates\":5,\"seed\":1,\"persons_sha256\":\"ab\"}");
    cJSON *b = item("{\"replicates\":5,\"seed\":2,\"persons_sha256\":\"ab\"}");
    cJSON *c = item("{\"replicates\":5,\"seed\":1,\"persons_sha256\":\"cd\"}");
    cJSON *d = item("{\"replicates\":4,\"seed\":1,\"persons_sha256\":\"ab\"}");
    assert_null(rj_reps_unpaired(a, a, "SFT", "PPO"));
    char *why = rj_reps_unpaired(a, b, "SFT", "PPO");
    assert_string_equal(why, "the audits of SFT and PPO used different bootstrap seeds (1 and "
                             "2), so their replicates resample different persons");
    free(why);
    why = rj_reps_unpaired(a, c, "SFT", "PPO");
    assert_string_equal(why, "the audits of SFT and PPO resampled different persons "
                             "(persons_sha256 differs or is missing)");
    free(why);
    why = rj_reps_unpaired(a, d, "SFT", "PPO");
    assert_string_equal(why, "the audits of SFT and PPO have different numbers of bootstrap "
                             "replicates (5 and 4)");
    free(why);
    why = rj_reps_unpaired(a, NULL, "SFT", "PPO");
    assert_string_equal(why, "PPO has no bootstrap replicates");
    free(why);
    cJSON_Delete(a);
    cJSON_Delete(b);
    cJSON_Delete(c);
    cJSON_Delete(d);
}

static void test_panel(void **state)
{
    fixture *f = *state;
    assert_string_equal(rj_alpha_reading(0.8), "reliable");
    assert_string_equal(rj_alpha_reading(0.7999), "tentative");
    assert_string_equal(rj_alpha_reading(0.667), "tentative");
    assert_string_equal(rj_alpha_reading(0.6669), "do not rely");
    assert_string_equal(rj_alpha_reading(NAN), "not computed");
    char *good = write_file(
        f, "panel.json",
        "{\"kind\":\"sjtalign-panel\",\"schema_version\":1,\"pairs\":10,\"judgments\":14,"
        "\"ties\":2,\"overlap_pairs\":4,\"alpha\":{\"value\":0.5,\"n_pairs\":4},"
        "\"judges\":[{\"judge\":\"<j1>\",\"flags\":[\"disagrees\"]},{\"judge\":\"j2\","
        "\"flags\":[]}],\"weighting\":\"none\"}");
    sj_error err;
    sj_error_clear(&err);
    cJSON *p = rj_panel_load(good, &err);
    assert_non_null(p);
    sj_buf b = {0};
    rj_panel_summary_line(&b, p);
    assert_string_equal(b.data, "Expert panel: 14 judgments of 10 pairs by 2 judges, 2 ties; "
                                "Krippendorff's alpha 0.500 (do not rely; Krippendorff 2004: >= "
                                ".800 reliable, .667 to .800 tentative, below do not rely); "
                                "flagged judges: <j1> (disagrees)");
    sj_buf_free(&b);
    rj_panel_section(&b, p, good, 6);
    assert_null(strstr(b.data, "<j1>"));
    assert_non_null(strstr(b.data, "&lt;j1&gt;"));
    sj_buf_free(&b);
    cJSON_Delete(p);
    char *wrong = write_file(f, "wrong.json", "{\"kind\":\"sjtalign-audit\",\"schema_version\":1}");
    sj_error_clear(&err);
    assert_null(rj_panel_load(wrong, &err));
    assert_int_equal(err.status, SJ_ERR_INPUT);
    assert_non_null(strstr(err.msg, "not a panel document"));
    char *typed = write_file(f, "typed.json",
                             "{\"kind\":\"sjtalign-panel\",\"schema_version\":1,\"pairs\":1,"
                             "\"judges\":[{\"judge\":\"a\",\"weight\":\"heavy\"}]}");
    sj_error_clear(&err);
    assert_null(rj_panel_load(typed, &err));
    assert_non_null(strstr(err.msg, "judges[0]: 'weight' has the wrong type"));
    free(good);
    free(wrong);
    free(typed);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_change_interval),
        cmocka_unit_test(test_verdict_rule),
        cmocka_unit_test_setup_teardown(test_item_verdicts, setup, teardown),
        cmocka_unit_test_setup_teardown(test_boot_read_checks, setup, teardown),
        cmocka_unit_test(test_pairing),
        cmocka_unit_test_setup_teardown(test_panel, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
