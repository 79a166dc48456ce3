/* The comparison of audits: the document (class changes of the planted
 * DIF item, before/after sections, several afters), the training log, the
 * JSON round trip and bad input. */
#include "test_helpers.h"

#include <math.h>

#include "../../src/report/report_internal.h"
#include "sjtalign/report.h"

#define FIX "tests/fixtures/report/"

typedef struct {
    char *root;
    char *before, *after, *dpo, *other, *empty;
} audits;

static char *write_audit(const char *root, const char *name, const char *data,
                         const char *instrument, const char *ref, const char *focal)
{
    sj_audit_options o;
    sj_audit_options_init(&o);
    o.data_path = data;
    o.instrument_path = instrument;
    o.cols.group = "group";
    o.reference = ref;
    o.focal = focal;
    o.human_col = "human_score";
    o.cut = 9;
    /* No replicates: these tests check the verdicts without intervals (the
     * interval rule has its own tests below, on hand-made replicates). */
    o.n_bootstrap = 0;
    sj_error err;
    sj_error_clear(&err);
    cJSON *doc = sj_audit_compute(&o, &err);
    assert_non_null(doc);
    char *dir = sj_path_join(root, name);
    assert_int_equal(sj_audit_write(doc, dir, &err), SJ_OK);
    cJSON_Delete(doc);
    return dir;
}

static int setup(void **state)
{
    audits *a = calloc(1, sizeof *a);
    a->root = test_mkdtemp();
    a->before =
        write_audit(a->root, "before", FIX "before.csv", FIX "instrument.json", "ref", "foc");
    a->after = write_audit(a->root, "after", FIX "after.csv", FIX "instrument.json", "ref", "foc");
    a->dpo = write_audit(a->root, "dpo", FIX "after_dpo.csv", FIX "instrument.json", "ref", "foc");
    a->other = write_audit(a->root, "other", FIX "hostile.csv", FIX "hostile.json",
                           "<img src=x onerror=alert(1)>", "=1+1");
    a->empty = sj_path_join(a->root, "empty");
    sj_error err;
    assert_int_equal(sj_mkdir_p(a->empty, &err), SJ_OK);
    *state = a;
    return 0;
}

static int teardown(void **state)
{
    audits *a = *state;
    free(a->before);
    free(a->after);
    free(a->dpo);
    free(a->other);
    free(a->empty);
    test_rmdir(a->root);
    free(a);
    return 0;
}

static cJSON *build(const char *const *dirs, size_t n, const char *const *labels, const char *log,
                    sj_error *err)
{
    sj_compare_options o = {n, dirs, labels, log, "sjtalign compare (test)", NULL};
    sj_error_clear(err);
    return sj_compare_build(&o, err);
}

static const cJSON *item_named(const cJSON *cmp, const char *id)
{
    const cJSON *it;
    cJSON_ArrayForEach(it, rj_get(cmp, "items"))
    {
        if (strcmp(rj_str(it, "item"), id) == 0)
            return it;
    }
    return NULL;
}

static void test_before_after(void **state)
{
    audits *a = *state;
    const char *dirs[] = {a->before, a->after};
    const char *labels[] = {"SFT", "PPO"};
    sj_error err;
    cJSON *cmp = build(dirs, 2, labels, FIX "train_log.jsonl", &err);
    assert_non_null(cmp);
    assert_int_equal((int)rj_num(cmp, "schema_version"), 1);
    assert_int_equal(cJSON_GetArraySize(rj_get(cmp, "items")), 6);
    /* The planted item: large DIF before (CC), none after (the after file has
     * no shift on sjt3, everything else identical). */
    const cJSON *sjt3 = item_named(cmp, "sjt3");
    assert_non_null(sjt3);
    assert_string_equal(rj_str(rj_get(sjt3, "before"), "ets_poly_class"), "CC");
    assert_string_equal(rj_str(rj_get(sjt3, "after"), "ets_poly_class"), "AA");
    const cJSON *ch = rj_get(sjt3, "change");
    assert_string_equal(rj_str(ch, "class_before"), "CC");
    assert_string_equal(rj_str(ch, "class_after"), "AA");
    /* The audits carry no replicates: the class rule, marked as such. */
    assert_string_equal(rj_str(ch, "verdict"), "improved (no interval)");
    assert_string_equal(rj_str(ch, "basis"), "class");
    assert_true(cJSON_IsNull(rj_get(ch, "abs_effect_change_ci")));
    assert_string_equal(rj_str(ch, "effect"), "smd_over_sd");
    assert_true(rj_num(ch, "abs_effect_change") < 0);
    /* The same numbers as in the audits compared. */
    assert_true(rj_num(ch, "effect_before") == rj_num(rj_get(sjt3, "before"), "smd_over_sd"));
    /* Parity and agreement before/after with the parity names. */
    assert_true(cJSON_IsNumber(rj_path(cmp, "parity", "before", "mean_diff")));
    assert_true(cJSON_IsNumber(rj_path(cmp, "parity", "after", "cohens_d")));
    assert_true(cJSON_IsNumber(rj_path(cmp, "agreement", "after", "qwk")));
    /* Human scores are the same in both files and the after file lacks only
     * the planted shift: the focal group's mean total rises (Python: 9.0 ->
     * 9.591666...; the reference group's stays 8.9). */
    assert_true(fabs(rj_num(rj_path(cmp, "parity", "before", "groups", "foc"), "mean") - 9.0) <
                1e-12);
    assert_true(fabs(rj_num(rj_path(cmp, "parity", "after", "groups", "foc"), "mean") -
                     1151.0 / 120) < 1e-12);
    /* The training log: 40 steps, TRL names and one series per group. */
    const cJSON *log = rj_get(cmp, "training_log");
    assert_int_equal(cJSON_GetArraySize(rj_get(log, "steps")), 40);
    assert_int_equal(cJSON_GetArraySize(rj_path(log, "series", "objective/scores")), 40);
    assert_int_equal(cJSON_GetArraySize(rj_path(log, "series", "gold/scores")), 40);
    assert_non_null(rj_path(log, "series", "group/foc/mean_score"));
    assert_null(rj_path(log, "series", "loss/policy_avg"));
    assert_string_equal(rj_str(cJSON_GetArrayItem(rj_get(cmp, "audits"), 1), "label"), "PPO");
    /* Plain-language lines for `sjtalign run` and readers of the JSON. */
    const char *persons = cJSON_GetArrayItem(rj_get(cmp, "summary"), 0)->valuestring;
    assert_string_equal(persons, "Evaluated on every person in the scores: the audits record no "
                                 "held-out split, so the persons may include those the models "
                                 "were trained on");
    const char *dif_line = cJSON_GetArrayItem(rj_get(cmp, "summary"), 1)->valuestring;
    /* Classes of the two audits: sjt3 CC -> AA and sjt5 CC -> BB, the rest AA. */
    assert_string_equal(dif_line, "DIF (SFT -> PPO): items flagged B/C 2 -> 1; improved (no "
                                  "interval): sjt3 CC->AA, sjt5 CC->BB; worse (no interval): none");
    cJSON_Delete(cmp);
}

static void test_write_round_trip(void **state)
{
    audits *a = *state;
    const char *dirs[] = {a->before, a->after};
    sj_error err;
    cJSON *cmp = build(dirs, 2, NULL, NULL, &err);
    assert_non_null(cmp);
    assert_string_equal(rj_str(cJSON_GetArrayItem(rj_get(cmp, "audits"), 0), "label"), "before");
    assert_true(cJSON_IsNull(rj_get(cmp, "training_log")));
    char *out = sj_path_join(a->root, "cmp");
    assert_int_equal(sj_compare_write(cmp, out, &err), SJ_OK);
    assert_int_equal(test_count_entries(out), 5); /* 4 files and their manifest */
    char *json = sj_path_join(out, "compare.json");
    cJSON *back = sj_json_read(json, &err);
    assert_non_null(back);
    /* compare.json as written, read back, against figures worked from the
     * fixtures with Python (totals of score_mode per person, 120 persons a
     * group): after.csv's focal totals sum to 1151 (sum of squares 14343),
     * 73 of them at or above the cut of 9; the reference group's are those
     * of before.csv (1068, 66 passing). Welch t = (1151 - 1068)/120 /
     * sqrt((va + vb)/120) with the variances va = (11724 - 1068^2/120)/119
     * and vb = (14343 - 1151^2/120)/119. Exact agreement: 1204 and 1262 of
     * the 1440 responses. */
    const cJSON *pa = rj_path(back, "parity", "after");
    assert_true(fabs(rj_num(rj_path(pa, "groups", "foc"), "mean") - 1151.0 / 120) < 1e-12);
    assert_true(fabs(rj_num(rj_path(pa, "groups", "foc"), "pass_rate") - 73.0 / 120) < 1e-12);
    assert_true(fabs(rj_num(pa, "adverse_impact_ratio") - (73.0 / 120) / (66.0 / 120)) < 1e-12);
    double va = (11724 - 1068.0 * 1068 / 120) / 119, vb = (14343 - 1151.0 * 1151 / 120) / 119;
    assert_true(fabs(rj_num(pa, "welch_t") - (83.0 / 120) / sqrt((va + vb) / 120)) < 1e-12);
    assert_true(fabs(rj_num(rj_path(back, "agreement", "before"), "exact") - 1204.0 / 1440) <
                1e-12);
    assert_true(fabs(rj_num(rj_path(back, "agreement", "after"), "exact") - 1262.0 / 1440) < 1e-12);
    assert_string_equal(rj_str(rj_path(item_named(back, "sjt3"), "change"), "verdict"),
                        "improved (no interval)");
    char *csv = sj_path_join(out, "changes.csv");
    sj_table *t = sj_table_read(csv, &err);
    assert_non_null(t);
    /* 6 items, then QWK, Pearson r and SMD overall and per group (9), the
     * three fairness analyses and two parity statistics. */
    assert_int_equal(t->n_rows, 6 + 9 + 3 + 2);
    long verdict = sj_table_find_column(t, "verdict");
    long scope = sj_table_find_column(t, "scope");
    assert_true(verdict >= 0 && scope >= 0);
    assert_string_equal(sj_table_cell(t, 2, (size_t)scope), "sjt3");
    assert_string_equal(sj_table_cell(t, 2, (size_t)verdict), "improved (no interval)");
    assert_string_equal(sj_table_cell(t, 6, (size_t)scope), "all");
    sj_table_free(t);
    sj_buf page = {0};
    assert_int_equal(sj_compare_html(back, &page, &err), SJ_OK);
    assert_non_null(strstr(page.data, "<bdi>CC</bdi>\xe2\x86\x92<bdi>AA</bdi>"));
    assert_non_null(strstr(page.data, "Alignment tax"));
    sj_buf_free(&page);
    cJSON_Delete(back);
    free(json);
    free(csv);
    free(out);
    cJSON_Delete(cmp);
}

static void test_three_audits(void **state)
{
    audits *a = *state;
    const char *dirs[] = {a->before, a->after, a->dpo};
    const char *labels[] = {"SFT", "PPO", "DPO"};
    sj_error err;
    cJSON *cmp = build(dirs, 3, labels, NULL, &err);
    assert_non_null(cmp);
    const cJSON *sjt3 = item_named(cmp, "sjt3");
    /* "after" stays the first aligned audit (PPO: sjt3 without its planted
     * shift, class AA as in test_document); every audit is under by_label. */
    assert_string_equal(rj_str(rj_get(sjt3, "after"), "ets_poly_class"), "AA");
    assert_string_equal(rj_str(rj_path(sjt3, "by_label", "PPO"), "ets_poly_class"), "AA");
    assert_string_equal(rj_str(rj_path(sjt3, "by_label", "SFT"), "ets_poly_class"), "CC");
    assert_non_null(rj_path(sjt3, "by_label", "DPO"));
    /* The focal group's mean total under each label (Python over the three
     * fixtures: 1080, 1151 and 1124 over 120 persons). */
    static const char *const label_names[] = {"SFT", "PPO", "DPO"};
    static const double focal_sums[] = {1080, 1151, 1124};
    for (int k = 0; k < 3; k++)
        assert_true(fabs(rj_num(rj_path(cmp, "parity", "by_label", label_names[k], "groups", "foc"),
                                "mean") -
                         focal_sums[k] / 120) < 1e-12);
    assert_non_null(rj_path(sjt3, "change_by_label", "DPO", "verdict"));
    assert_non_null(rj_path(cmp, "parity", "by_label", "SFT"));
    assert_non_null(rj_path(cmp, "agreement", "by_label", "DPO"));
    sj_buf page = {0};
    assert_int_equal(sj_compare_html(cmp, &page, &err), SJ_OK);
    assert_non_null(strstr(page.data, "<bdi>SFT</bdi> \xe2\x86\x92 <bdi>DPO</bdi>"));
    /* The DIF table: class, effect and p for every model, not just the
     * first and the last. */
    assert_non_null(strstr(page.data, "<th class=\"grp\" colspan=\"3\"><bdi>PPO</bdi></th>"));
    assert_non_null(strstr(page.data, "<th class=\"l\">Class</th><th>SMD/SD</th><th>p</th>"
                                      "<th class=\"l\">Class</th><th>SMD/SD</th><th>p</th>"
                                      "<th class=\"l\">Class</th><th>SMD/SD</th><th>p</th></tr>"));
    /* Parity and agreement: a change column per aligned model. */
    assert_non_null(strstr(page.data, "<th>Change (<bdi>PPO</bdi> \xe2\x88\x92 <bdi>SFT</bdi>)</th>"
                                      "<th>Change (<bdi>DPO</bdi> \xe2\x88\x92 "
                                      "<bdi>SFT</bdi>)</th>"));
    /* p-values as "< .001" or ".012", never "0.0000". */
    assert_null(strstr(page.data, "0.0000"));
    /* Model colours: SFT black (hollow, before), PPO bluish green, DPO
     * reddish purple; groups blue (reference) and vermillion (focal). */
    assert_non_null(strstr(page.data, "fill=\"#fff\" stroke=\"#000000\""));
    assert_non_null(strstr(page.data, "fill=\"#009E73\" stroke=\"#009E73\""));
    assert_non_null(strstr(page.data, "fill=\"#CC79A7\" stroke=\"#CC79A7\""));
    assert_non_null(strstr(page.data, "stroke=\"#0072B2\" stroke-width=\"1.8\"/>"));
    assert_non_null(strstr(page.data, "stroke=\"#D55E00\" stroke-width=\"1.8\" "
                                      "stroke-dasharray=\"6 3\"/>"));
    /* The seed caveat and the key to the text colours. */
    assert_non_null(strstr(page.data, "<strong>One run of one seed.</strong>"));
    assert_non_null(strstr(page.data, "<code>sjtalign study</code>, docs/STUDY.md"));
    assert_non_null(strstr(page.data, "<p class=\"key\">Text colours: <span class=\"ok\">"));
    sj_buf_free(&page);
    cJSON_Delete(cmp);
}

static void test_bad_input(void **state)
{
    audits *a = *state;
    sj_error err;
    const char *missing[] = {a->before, a->empty};
    assert_null(build(missing, 2, NULL, NULL, &err));
    assert_int_equal(err.status, SJ_ERR_INPUT);
    assert_non_null(strstr(err.msg, "no audit.json"));

    const char *different[] = {a->before, a->other};
    assert_null(build(different, 2, NULL, NULL, &err));
    assert_int_equal(err.status, SJ_ERR_INPUT);
    assert_non_null(strstr(err.msg, "different instruments"));

    const char *dup[] = {a->before, a->after};
    const char *same[] = {"x", "x"};
    assert_null(build(dup, 2, same, NULL, &err));
    assert_int_equal(err.status, SJ_ERR_INPUT);

    char *bad_log = sj_path_join(a->root, "bad.jsonl");
    test_write_text(bad_log, "{\"step\": 1}\nnot json\n", 21);
    assert_null(build(dup, 2, NULL, bad_log, &err));
    assert_int_equal(err.status, SJ_ERR_INPUT);
    assert_non_null(strstr(err.msg, ":2:"));
    free(bad_log);

    /* A corrupt audit.json is bad input too. */
    char *corrupt_dir = sj_path_join(a->root, "corrupt");
    assert_int_equal(sj_mkdir_p(corrupt_dir, &err), SJ_OK);
    char *corrupt = sj_path_join(corrupt_dir, "audit.json");
    test_write_text(corrupt, "{\"kind\": \"sjtalign-audit\"}", 26);
    const char *bad[] = {a->before, corrupt_dir};
    assert_null(build(bad, 2, NULL, NULL, &err));
    assert_int_equal(err.status, SJ_ERR_INPUT);
    free(corrupt);
    free(corrupt_dir);
}

static void test_split_labels(void **state)
{
    (void)state;
    sj_error err;
    sj_error_clear(&err);
    char **l = sj_split_labels(" SFT , PPO,DPO", 3, &err);
    assert_non_null(l);
    assert_string_equal(l[0], "SFT");
    assert_string_equal(l[1], "PPO");
    assert_string_equal(l[2], "DPO");
    sj_labels_free(l, 3);
    assert_null(sj_split_labels("SFT,PPO", 3, &err));
    assert_int_equal(err.status, SJ_ERR_INPUT);
    assert_null(sj_split_labels("SFT,,DPO", 3, &err));
    assert_null(sj_split_labels("A,B,C,D", 3, &err));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_before_after), cmocka_unit_test(test_write_round_trip),
        cmocka_unit_test(test_three_audits), cmocka_unit_test(test_bad_input),
        cmocka_unit_test(test_split_labels),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
