/* Agreement with the true scores (audit --truth): a hand-worked example of
 * ten responses, the compare document built from two such audits, and bad
 * truth files.
 *
 * tests/fixtures/truth/: persons P1-P3 in group ref, P4-P5 in foc, items
 * t1 and t2 (scale 0..3), in the file order P1 t1, P1 t2, ..., P5 t2:
 *   modal machine  m = 2 1 3 3 1 1 2 1 3 2   (scores.csv)
 *   after aligning a = 2 2 3 2 1 1 2 1 3 2   (scores_after.csv)
 *   human          h = 2 1 3 2 0 1 1 0 2 1
 *   true           t = 2 2 3 2 0 1 2 1 3 2   (truth.csv: other order, one
 *                                             extra row P9 t1)
 * By hand, machine against truth: m == t for 7 of 10, |m - t| <= 1 for all;
 * means 1.9 and 1.8; population variances 43/10 - 1.9^2 = 0.69 and
 * 40/10 - 1.8^2 = 0.76; covariance 40/10 - 1.9 * 1.8 = 0.58; mean squared
 * difference 3/10. QWK = 1 - 0.3 / (0.69 + 0.76 + 0.01) = 58/73;
 * r = 0.58 / sqrt(0.69 * 0.76); SMD = 0.1 / sqrt((0.69 + 0.76) * 10/9 / 2).
 * Human against truth: 5 of 10 exact, mean 1.3, variance 25/10 - 1.69 =
 * 0.81, mean squared difference 0.5: QWK = 1 - 0.5 / (0.81 + 0.76 + 0.25)
 * = 66/91; in group foc h = 1 0 2 1 against t = 2 1 3 2: no exact match,
 * SMD = -1 / sqrt(2/3), QWK = 1 - 1 / (0.5 + 0.5 + 1) = 1/2. Group ref,
 * machine: 3 of 6 exact, QWK = 1 - (3/6) / (29/36 + 32/36 + 1/36) = 22/31.
 * Item t1, machine: m = 2 3 1 2 3, t = 2 3 0 2 3: 4 of 5 exact, QWK = 8/9.
 * After aligning: one difference of 1, variance 41/10 - 3.61 = 0.49, QWK =
 * 1 - 0.1 / (0.49 + 0.76 + 0.01) = 58/63.
 * Every kappa above was checked with Cohen's weighted kappa in its
 * confusion-matrix form, 1 - sum w O / sum w E with w = (i - j)^2, in exact
 * fractions (Python's fractions module): 58/73, 66/91, 22/31, 1/2, 8/9,
 * 58/63. */
#include "test_helpers.h"

#include <math.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../src/report/report_internal.h"
#include "sjtalign/report.h"

#define FIX "tests/fixtures/truth/"

static void options(sj_audit_options *o, const char *data, const char *truth)
{
    sj_audit_options_init(o);
    o->data_path = data;
    o->instrument_path = FIX "instrument.json";
    o->cols.group = "group";
    o->reference = "ref";
    o->focal = "foc";
    o->human_col = "human_score";
    o->truth_path = truth;
    o->command_line = "sjtalign audit (test)";
}

static cJSON *compute(const char *data, const char *truth)
{
    sj_audit_options o;
    options(&o, data, truth);
    sj_error err;
    sj_error_clear(&err);
    cJSON *doc = sj_audit_compute(&o, &err);
    if (!doc)
        fprintf(stderr, "%s\n", err.msg);
    assert_non_null(doc);
    return doc;
}

static void test_hand_worked_truth_agreement(void **state)
{
    (void)state;
    cJSON *doc = compute(FIX "scores.csv", FIX "truth.csv");
    const cJSON *t = rj_get(doc, "truth_agreement");
    assert_true(cJSON_IsObject(t));
    assert_near(rj_num(t, "n"), 10, 0);
    assert_near(rj_num(t, "exact"), 0.7, 1e-15);
    assert_near(rj_num(t, "adjacent"), 1.0, 0);
    assert_near(rj_num(t, "qwk"), 58.0 / 73.0, 1e-14);
    assert_near(rj_num(t, "pearson_r"), 0.58 / sqrt(0.69 * 0.76), 1e-14);
    assert_near(rj_num(t, "smd"), 0.1 / sqrt((0.69 + 0.76) * 10.0 / 9.0 / 2.0), 1e-14);
    assert_near(rj_num(t, "mean_machine"), 1.9, 1e-14);
    assert_near(rj_num(t, "mean_true"), 1.8, 1e-14);
    assert_near(rj_num(t, "sd_machine"), sqrt(0.69 * 10.0 / 9.0), 1e-14);
    assert_near(rj_num(t, "sd_true"), sqrt(0.76 * 10.0 / 9.0), 1e-14);
    assert_near(rj_num(t, "n_truth_rows"), 11, 0);
    assert_near(rj_num(t, "n_truth_rows_unused"), 1, 0);
    assert_string_equal(rj_str(t, "truth_file"), FIX "truth.csv");

    const cJSON *ref = rj_path(t, "by_group", "ref");
    assert_near(rj_num(ref, "n"), 6, 0);
    assert_near(rj_num(ref, "exact"), 0.5, 1e-15);
    assert_near(rj_num(ref, "qwk"), 22.0 / 31.0, 1e-14);
    const cJSON *foc = rj_path(t, "by_group", "foc");
    assert_near(rj_num(foc, "exact"), 1.0, 0);
    assert_near(rj_num(foc, "qwk"), 1.0, 1e-14);
    assert_near(rj_num(foc, "smd"), 0.0, 1e-14);

    const cJSON *t1 = cJSON_GetArrayItem(rj_get(t, "by_item"), 0);
    assert_string_equal(rj_str(t1, "item"), "t1");
    assert_near(rj_num(t1, "exact"), 0.8, 1e-15);
    assert_near(rj_num(t1, "qwk"), 8.0 / 9.0, 1e-14);

    const cJSON *h = rj_get(t, "human");
    assert_near(rj_num(h, "n"), 10, 0);
    assert_near(rj_num(h, "exact"), 0.5, 1e-15);
    assert_near(rj_num(h, "qwk"), 66.0 / 91.0, 1e-14);
    assert_near(rj_num(h, "mean_human"), 1.3, 1e-14);
    assert_near(rj_num(h, "mean_true"), 1.8, 1e-14);
    const cJSON *hf = rj_path(h, "by_group", "foc");
    assert_near(rj_num(hf, "exact"), 0.0, 0);
    assert_near(rj_num(hf, "qwk"), 0.5, 1e-14);
    assert_near(rj_num(hf, "smd"), -1.0 / sqrt(2.0 / 3.0), 1e-14);

    assert_string_equal(rj_str(rj_get(doc, "settings"), "truth_file"), FIX "truth.csv");
    const cJSON *line = cJSON_GetArrayItem(rj_get(doc, "summary"), 3);
    assert_non_null(strstr(line->valuestring, "machine QWK 0.795, exact 70.0%"));
    assert_non_null(strstr(line->valuestring, "human QWK 0.725"));
    cJSON_Delete(doc);
}

static void test_without_human_scores(void **state)
{
    (void)state;
    sj_audit_options o;
    options(&o, FIX "scores.csv", FIX "truth.csv");
    o.human_col = NULL;
    sj_error err;
    sj_error_clear(&err);
    cJSON *doc = sj_audit_compute(&o, &err);
    assert_non_null(doc);
    const cJSON *t = rj_get(doc, "truth_agreement");
    assert_near(rj_num(t, "qwk"), 58.0 / 73.0, 1e-14);
    assert_true(cJSON_IsNull(rj_get(t, "human")));
    cJSON_Delete(doc);
    /* Without a truth file there is no truth_agreement at all. */
    options(&o, FIX "scores.csv", NULL);
    doc = sj_audit_compute(&o, &err);
    assert_non_null(doc);
    assert_null(rj_get(doc, "truth_agreement"));
    cJSON_Delete(doc);
}

static char *write_audit(const char *data, const char *tmp, const char *name)
{
    cJSON *doc = compute(data, FIX "truth.csv");
    char *dir = sj_path_join(tmp, name);
    sj_error err;
    sj_error_clear(&err);
    assert_int_equal(sj_audit_write(doc, dir, &err), SJ_OK);
    cJSON_Delete(doc);
    return dir;
}

static void test_compare_names_the_best_scorer(void **state)
{
    (void)state;
    char *tmp = test_mkdtemp();
    char *before = write_audit(FIX "scores.csv", tmp, "sft");
    char *after = write_audit(FIX "scores_after.csv", tmp, "ppo");
    char *csv = sj_path_join(before, "truth_agreement.csv");
    struct stat st;
    assert_int_equal(stat(csv, &st), 0);
    const char *dirs[2] = {before, after};
    const char *labels[2] = {"SFT", "PPO"};
    sj_compare_options o = {2, dirs, labels, NULL, "sjtalign compare (test)", NULL};
    sj_error err;
    sj_error_clear(&err);
    cJSON *cmp = sj_compare_build(&o, &err);
    assert_non_null(cmp);
    const cJSON *t = rj_get(cmp, "truth_agreement");
    assert_near(rj_num(rj_get(t, "before"), "qwk"), 58.0 / 73.0, 1e-14);
    assert_near(rj_num(rj_get(t, "after"), "qwk"), 58.0 / 63.0, 1e-14);
    assert_near(rj_num(rj_get(t, "human"), "qwk"), 66.0 / 91.0, 1e-14);
    assert_int_equal(cJSON_GetArraySize(rj_get(t, "best")), 1);
    assert_string_equal(cJSON_GetArrayItem(rj_get(t, "best"), 0)->valuestring, "PPO");
    int found = 0;
    const cJSON *line;
    cJSON_ArrayForEach(line, rj_get(cmp, "summary"))
    {
        found +=
            strstr(line->valuestring, "PPO agrees best with the true scores (QWK 0.921)") != NULL;
    }
    assert_int_equal(found, 1);
    sj_buf html = {0};
    assert_int_equal(sj_compare_html(cmp, &html, &err), SJ_OK);
    assert_non_null(strstr(html.data, "Agreement with the true scores, before and after"));
    sj_buf_free(&html);
    cJSON_Delete(cmp);

    /* An audit without a truth file: no truth comparison. */
    sj_audit_options ao;
    options(&ao, FIX "scores_after.csv", NULL);
    cJSON *doc = sj_audit_compute(&ao, &err);
    assert_non_null(doc);
    assert_int_equal(sj_audit_write(doc, after, &err), SJ_OK);
    cJSON_Delete(doc);
    cmp = sj_compare_build(&o, &err);
    assert_non_null(cmp);
    assert_true(cJSON_IsNull(rj_get(cmp, "truth_agreement")));
    cJSON_Delete(cmp);
    free(csv);
    free(before);
    free(after);
    test_rmdir(tmp);
}

/* Writes a truth file into the folder and returns its path. */
static char *truth_file(const char *tmp, const char *name, const char *text)
{
    char *path = sj_path_join(tmp, name);
    test_write_text(path, text, strlen(text));
    return path;
}

static void expect_input_error(const char *path, const char *needle)
{
    sj_audit_options o;
    options(&o, FIX "scores.csv", path);
    sj_error err;
    sj_error_clear(&err);
    cJSON *doc = sj_audit_compute(&o, &err);
    if (doc || err.status != SJ_ERR_INPUT || !strstr(err.msg, needle))
        fail_msg("expected an input error with '%s', got status %d: %s", needle, (int)err.status,
                 err.msg);
}

#define HEADER "person_id,item_id,true_score\n"
#define ALL_BUT_P5_T2                                                                              \
    "P1,t1,2\nP1,t2,2\nP2,t1,3\nP2,t2,2\nP3,t1,0\nP3,t2,1\nP4,t1,2\nP4,t2,1\nP5,t1,3\n"

static void test_bad_truth_files(void **state)
{
    (void)state;
    expect_input_error(FIX "no_such_truth.csv", "no_such_truth.csv");

    char *tmp = test_mkdtemp();
    char *p = truth_file(tmp, "nocol.csv", "person_id,item_id,score\nP1,t1,2\n");
    expect_input_error(p, "nocol.csv:1: missing column 'true_score'");
    remove(p);
    free(p);

    p = truth_file(tmp, "text.csv", HEADER "P1,t1,2\nP1,t2,high\n");
    expect_input_error(p, ":3:3: column 'true_score': expected a finite number, found 'high'");
    remove(p);
    free(p);

    p = truth_file(tmp, "half.csv", HEADER "P1,t1,2.5\n");
    expect_input_error(p, ":2:3: column 'true_score': expected a whole number");
    remove(p);
    free(p);

    p = truth_file(tmp, "range.csv", HEADER "P1,t1,7\n");
    expect_input_error(p, ":2:3: column 'true_score': true score 7 is outside");
    remove(p);
    free(p);

    p = truth_file(tmp, "twice.csv", HEADER ALL_BUT_P5_T2 "P5,t2,2\nP1,t1,1\n");
    expect_input_error(p, ":12:1: person 'P1' has a second true score for item 't1' (the first "
                          "is on line 2)");
    remove(p);
    free(p);

    /* P5's answer to t2 is the last row of scores.csv (line 11). */
    p = truth_file(tmp, "short.csv", HEADER ALL_BUT_P5_T2);
    expect_input_error(p, "scores.csv:11:1: the response of person 'P5' to item 't2' has no true "
                          "score");
    remove(p);
    free(p);

    /* The person column of the truth file follows --person. */
    p = truth_file(tmp, "renamed.csv", "pid,item_id,true_score\nP1,t1,2\n");
    expect_input_error(p, "missing column 'person_id'");
    remove(p);
    free(p);
    test_rmdir(tmp);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hand_worked_truth_agreement),
        cmocka_unit_test(test_without_human_scores),
        cmocka_unit_test(test_compare_names_the_best_scorer),
        cmocka_unit_test(test_bad_truth_files),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
