/* The audit: the document it computes (checked against values computed
 * independently from the fixture with Python), the JSON round trip, the
 * files it writes, hostile data, and bad input. Fixtures come from
 * tests/fixtures/report/make_fixtures.py. */
#include "test_helpers.h"

#include <math.h>
#include <sys/stat.h>

#include "../../src/report/report_internal.h"
#include "sjtalign/report.h"

#define FIX "tests/fixtures/report/"

static void options(sj_audit_options *o, const char *data, const char *instrument)
{
    sj_audit_options_init(o);
    o->data_path = data;
    o->instrument_path = instrument;
    o->cols.group = "group";
    o->reference = "ref";
    o->focal = "foc";
    o->human_col = "human_score";
    o->cut = 9;
    o->command_line = "sjtalign audit (test)";
}

static cJSON *compute_before(void)
{
    sj_audit_options o;
    options(&o, FIX "before.csv", FIX "instrument.json");
    sj_error err;
    sj_error_clear(&err);
    cJSON *doc = sj_audit_compute(&o, &err);
    if (!doc)
        fprintf(stderr, "%s\n", err.msg);
    assert_non_null(doc);
    return doc;
}

static char *read_text(const char *path)
{
    char *text = NULL;
    size_t len = 0;
    sj_error err;
    sj_error_clear(&err);
    assert_int_equal(sj_read_file(path, &text, &len, &err), SJ_OK);
    return text;
}

/* Expected values: Python over before.csv (person totals of score_mode,
 * pass = total >= 9; item sjt3 exact agreement of score_mode and
 * human_score). */
static void test_document_values(void **state)
{
    (void)state;
    cJSON *doc = compute_before();
    assert_int_equal((int)rj_num(doc, "schema_version"), 1);
    assert_string_equal(rj_str(doc, "kind"), "sjtalign-audit");
    const cJSON *data = rj_get(doc, "data");
    assert_int_equal((int)rj_num(data, "n_rows"), 1440);
    assert_int_equal((int)rj_num(data, "n_persons"), 240);
    assert_int_equal((int)rj_num(data, "missing_machine_scores"), 0);
    const cJSON *par = rj_get(doc, "parity");
    const cJSON *ref = rj_path(par, "groups", "ref");
    const cJSON *foc = rj_path(par, "groups", "foc");
    assert_near(rj_num(ref, "mean"), 8.9, 1e-12);
    assert_near(rj_num(foc, "mean"), 9.0, 1e-12);
    assert_near(rj_num(ref, "sd"), 4.318029429179531, 1e-12);
    assert_near(rj_num(foc, "sd"), 5.1006672821003605, 1e-12);
    assert_near(rj_num(ref, "pass_rate"), 0.55, 1e-12);
    assert_near(rj_num(foc, "pass_rate"), 0.575, 1e-12);
    assert_near(rj_num(par, "adverse_impact_ratio"), 0.575 / 0.55, 1e-12);
    assert_near(rj_num(par, "mean_diff"), 0.1, 1e-12);
    const cJSON *agr = rj_get(doc, "agreement");
    assert_near(rj_num(agr, "exact"), 1204.0 / 1440, 1e-12);
    const cJSON *sjt3 = cJSON_GetArrayItem(rj_get(agr, "by_item"), 2);
    assert_string_equal(rj_str(sjt3, "item"), "sjt3");
    assert_near(rj_num(sjt3, "exact"), 152.0 / 240, 1e-12);
    /* Confusion matrix, human rows by machine columns (Python Counter). */
    static const int expected[4][4] = {
        {260, 21, 0, 0}, {54, 331, 32, 0}, {0, 64, 322, 22}, {0, 1, 42, 291}};
    const cJSON *counts = rj_path(agr, "confusion", "counts");
    assert_int_equal(cJSON_GetArraySize(counts), 4);
    for (int h = 0; h < 4; h++)
        for (int m = 0; m < 4; m++)
            assert_int_equal((int)cJSON_GetArrayItem(cJSON_GetArrayItem(counts, h), m)->valuedouble,
                             expected[h][m]);
    /* Histogram counts add up to each group's persons. */
    const cJSON *c;
    double sum = 0;
    cJSON_ArrayForEach(c, rj_path(doc, "distribution", "counts", "foc"))
    {
        sum += c->valuedouble;
    }
    assert_near(sum, 120, 0);
    /* The planted DIF item is found, with the DIF names of docs/OUTPUTS.md. */
    const cJSON *items = rj_path(doc, "dif", "items");
    assert_int_equal(cJSON_GetArraySize(items), 6);
    const cJSON *it3 = cJSON_GetArrayItem(items, 2);
    assert_string_equal(rj_str(it3, "item"), "sjt3");
    assert_string_equal(rj_str(it3, "ets_poly_class"), "CC");
    assert_true(rj_num(it3, "smd_over_sd") < -0.25);
    assert_non_null(rj_get(it3, "mantel_chi2"));
    assert_non_null(rj_get(it3, "olr_p_uniform"));
    /* The planted item leads the plain-language list of large DIF. */
    const char *dif_line = cJSON_GetArrayItem(rj_get(doc, "summary"), 0)->valuestring;
    assert_non_null(strstr(dif_line, "DIF: 6 of 6 items tested; large (C/CC): sjt3"));
    const cJSON *set = rj_get(doc, "settings");
    assert_string_equal(rj_str(set, "score_column"), "score_mode");
    assert_string_equal(rj_str(set, "match"), "total");
    assert_near(rj_num(set, "cut"), 9, 0);
    cJSON_Delete(doc);
}

static void test_effect_intervals_hand_worked(void **state)
{
    (void)state;
    rj_effect e;
    /* Dichotomous without a bootstrap: delta +- 1.96 SE (RBG). */
    cJSON *d = cJSON_Parse("{\"type\":\"dichotomous\",\"delta_mh\":-1.2,\"se_delta_mh\":0.4,"
                           "\"ets_class\":\"B\"}");
    rj_dif_effect(d, &e);
    assert_false(e.polytomous);
    assert_int_equal(e.interval, RJ_INTERVAL_RBG);
    assert_near(e.lo, -1.2 - 1.959963984540054 * 0.4, 1e-12);
    assert_near(e.hi, -1.2 + 1.959963984540054 * 0.4, 1e-12);
    assert_string_equal(e.cls, "B");
    cJSON_Delete(d);
    /* With a bootstrap interval, that interval. */
    d = cJSON_Parse("{\"type\":\"dichotomous\",\"delta_mh\":-1.2,\"delta_mh_ci\":[-1.9,-0.4],"
                    "\"se_delta_mh\":0.4,\"ets_class\":\"B\"}");
    rj_dif_effect(d, &e);
    assert_int_equal(e.interval, RJ_INTERVAL_BOOTSTRAP);
    assert_near(e.lo, -1.9, 0);
    assert_near(e.hi, -0.4, 0);
    cJSON_Delete(d);
    /* Polytomous with a bootstrap interval: it, never the test-based one. */
    cJSON *p = cJSON_Parse("{\"type\":\"polytomous\",\"smd_over_sd\":-0.036,\"mantel_chi2\":0.01,"
                           "\"smd_over_sd_ci\":[-0.2,0.13],\"se_smd_over_sd\":0.08,"
                           "\"ets_poly_class\":\"AA\"}");
    rj_dif_effect(p, &e);
    assert_true(e.polytomous);
    assert_int_equal(e.interval, RJ_INTERVAL_BOOTSTRAP);
    assert_near(e.lo, -0.2, 0);
    assert_near(e.hi, 0.13, 0);
    cJSON_Delete(p);
    /* Without one: +- 1.96 delta-method SE (0.08), whatever the chi-square
     * (the test-based SE 0.036 / sqrt(0.01) = 0.36 would reach -0.74). */
    p = cJSON_Parse("{\"type\":\"polytomous\",\"smd_over_sd\":-0.036,\"mantel_chi2\":0.01,"
                    "\"se_smd_over_sd\":0.08,\"ets_poly_class\":\"AA\"}");
    rj_dif_effect(p, &e);
    assert_int_equal(e.interval, RJ_INTERVAL_DELTA);
    assert_near(e.lo, -0.036 - 1.959963984540054 * 0.08, 1e-12);
    assert_near(e.hi, -0.036 + 1.959963984540054 * 0.08, 1e-12);
    cJSON_Delete(p);
    /* An older audit with neither: no interval. */
    p = cJSON_Parse("{\"type\":\"polytomous\",\"smd_over_sd\":-0.4,\"mantel_chi2\":16}");
    rj_dif_effect(p, &e);
    assert_int_equal(e.interval, RJ_INTERVAL_NONE);
    assert_true(isnan(e.lo) && isnan(e.hi));
    cJSON_Delete(p);
}

static void test_write_and_round_trip(void **state)
{
    (void)state;
    cJSON *doc = compute_before();
    char *dir = test_mkdtemp();
    char *out = sj_path_join(dir, "report");
    sj_error err;
    sj_error_clear(&err);
    assert_int_equal(sj_audit_write(doc, out, &err), SJ_OK);
    /* 13 files (index.html, audit.json, dif, parity, distribution,
     * agreement, fairness, human_dif, bootstrap, item_agreement,
     * score_levels, item_curves and response_sample CSV) and the
     * manifest. */
    assert_int_equal(test_count_entries(out), 14);
    assert_int_equal(test_count_entries(dir), 1); /* no temporaries left beside it */
    /* audit.json as written, read back: the parity figures worked by hand
     * from before.csv (totals of score_mode per person, 120 persons a
     * group): reference sum 1068, sum of squares 11724; focal 1080 and
     * 12816. Variances (11724 - 1068^2/120)/119 = 2218.8/119 and
     * (12816 - 1080^2/120)/119 = 3096/119; Welch t = 0.1 / sqrt((2218.8 +
     * 3096)/119/120); Welch-Satterthwaite df = (va + vb)^2 * 119 / (va^2 +
     * vb^2) with va, vb the variances over 120; Cohen's d = 0.1 / sqrt((va +
     * vb)/2) with the variances themselves. */
    char *json_path = sj_path_join(out, "audit.json");
    cJSON *back = sj_json_read(json_path, &err);
    assert_non_null(back);
    const double var_ref = 2218.8 / 119, var_foc = 3096.0 / 119;
    const cJSON *par = rj_get(back, "parity");
    assert_near(rj_num(rj_path(par, "groups", "ref"), "mean"), 1068.0 / 120, 1e-12);
    assert_near(rj_num(rj_path(par, "groups", "foc"), "sd"), sqrt(var_foc), 1e-12);
    assert_near(rj_num(par, "welch_t"), 0.1 / sqrt((var_ref + var_foc) / 120), 1e-12);
    double va = var_ref / 120, vb = var_foc / 120;
    assert_near(rj_num(par, "welch_df"), (va + vb) * (va + vb) * 119 / (va * va + vb * vb), 1e-9);
    assert_near(rj_num(par, "cohens_d"), 0.1 / sqrt((var_ref + var_foc) / 2), 1e-12);
    /* Exact agreement: 1204 of the 1440 responses (Python over before.csv). */
    assert_near(rj_num(rj_get(back, "agreement"), "exact"), 1204.0 / 1440, 1e-12);
    /* Totals per person of the focal group (Python Counter): two at 0, ten
     * at 1; of the reference group fifteen at 10. */
    const cJSON *dist = rj_get(back, "distribution");
    assert_near(cJSON_GetArrayItem(rj_path(dist, "counts", "foc"), 0)->valuedouble, 2, 0);
    assert_near(cJSON_GetArrayItem(rj_path(dist, "counts", "foc"), 1)->valuedouble, 10, 0);
    assert_near(cJSON_GetArrayItem(rj_path(dist, "counts", "ref"), 10)->valuedouble, 15, 0);
    /* The page shows the same figures rounded as printed: 8.90, sqrt(2218.8
     * / 119) = 4.318 -> 4.32, 66 of 120 pass = 55.0%; 9.00, sqrt(3096 /
     * 119) = 5.101 -> 5.10, 69 of 120 = 57.5%; t 0.164 on 231.7 df; exact
     * agreement 1204/1440 = 83.6%. The means' 95% t intervals, t(.975,
     * 119) = 1.98010: 8.9 +- 1.98010 * 4.31803 / sqrt(120) = 8.9 +- 0.78052
     * -> [8.12, 9.68]; 9.0 +- 1.98010 * 5.10067 / sqrt(120) = 9.0 +- 0.92201
     * -> [8.08, 9.92]. */
    char *page_path = sj_path_join(out, "index.html");
    char *page = read_text(page_path);
    assert_non_null(strstr(page, "<td>120</td><td>8.90 <span class=\"muted\">[8.12, 9.68]</span>"
                                 "</td><td>4.32</td><td>55.0%</td>"));
    assert_non_null(strstr(page, "<td>120</td><td>9.00 <span class=\"muted\">[8.08, 9.92]</span>"
                                 "</td><td>5.10</td><td>57.5%</td>"));
    assert_non_null(strstr(page, "<td>0.164 (231.7), "));
    assert_non_null(strstr(page, "<th class=\"l\">Exact agreement</th><td>83.6%</td>"));
    static const char *const sections[] = {"summary", "data",      "distribution", "dif",
                                           "parity",  "agreement", "methods",      "provenance"};
    for (size_t i = 0; i < sizeof sections / sizeof *sections; i++) {
        char id[64];
        snprintf(id, sizeof id, "<section id=\"%s\">", sections[i]);
        assert_non_null(strstr(page, id));
    }
    /* Thresholds are marked, the ETS rule and the DIF score choice stated. */
    assert_non_null(strstr(page, "\xe2\x89\xa5 .70"));
    assert_non_null(strstr(page, "|SMD| \xe2\x89\xa4 .15"));
    assert_non_null(strstr(page, "DIF uses it as the integer item score"));
    assert_non_null(strstr(page, "AA if mantel_p &gt;= .05"));
    /* Provenance: the scores file's checksum as sj_sha256_file gives it. */
    char hex[65];
    assert_int_equal(sj_sha256_file(FIX "before.csv", hex, &err), SJ_OK);
    const cJSON *in0 = cJSON_GetArrayItem(rj_path(back, "provenance", "inputs"), 0);
    assert_string_equal(rj_str(in0, "sha256"), hex);
    /* Tables: dif.csv has one row per item with the DIF columns of docs/OUTPUTS.md. */
    char *dif_path = sj_path_join(out, "dif.csv");
    sj_table *t = sj_table_read(dif_path, &err);
    assert_non_null(t);
    assert_int_equal(t->n_rows, 6);
    assert_true(sj_table_find_column(t, "smd_over_sd") >= 0);
    assert_true(sj_table_find_column(t, "ets_poly_class") >= 0);
    assert_string_equal(sj_table_cell(t, 2, (size_t)sj_table_find_column(t, "ets_poly_class")),
                        "CC");
    sj_table_free(t);
    /* Writing again replaces the earlier report. */
    assert_int_equal(sj_audit_write(doc, out, &err), SJ_OK);
    assert_int_equal(test_count_entries(dir), 1);
    free(page);
    free(page_path);
    free(dif_path);
    free(json_path);
    cJSON_Delete(back);
    cJSON_Delete(doc);
    free(out);
    test_rmdir(dir);
}

/* A page written into a buffer that has failed (as after an allocation
 * failure part-way) is reported once, as out of memory, not returned as a
 * truncated page; a summary line from a failed buffer is refused too. */
static void test_failed_buffer_is_reported(void **state)
{
    (void)state;
    cJSON *doc = compute_before();
    sj_buf page = {0};
    sj_buf_fail(&page);
    sj_error err;
    sj_error_clear(&err);
    assert_int_equal(sj_audit_html(doc, &page, &err), SJ_ERR_WORK);
    assert_string_equal(err.msg, "out of memory writing the audit page");
    assert_int_equal(page.len, 0);
    sj_buf_free(&page);
    cJSON *lines = cJSON_CreateArray();
    sj_buf line = {0};
    sj_buf_printf(&line, "kept");
    assert_int_equal(rj_take_line(lines, &line), 0);
    sj_buf_printf(&line, "cut short");
    sj_buf_fail(&line);
    assert_int_equal(rj_take_line(lines, &line), -1);
    assert_false(sj_buf_failed(&line)); /* emptied for the next line */
    assert_int_equal(cJSON_GetArraySize(lines), 1);
    assert_string_equal(cJSON_GetArrayItem(lines, 0)->valuestring, "kept");
    cJSON_Delete(lines);
    cJSON_Delete(doc);
}

static void test_refuses_to_replace_a_foreign_folder(void **state)
{
    (void)state;
    cJSON *doc = compute_before();
    char *dir = test_mkdtemp();
    char *mine = sj_path_join(dir, "thesis.tex");
    test_write_text(mine, "precious", 8);
    sj_error err;
    sj_error_clear(&err);
    assert_int_equal(sj_audit_write(doc, dir, &err), SJ_ERR_INPUT);
    assert_non_null(strstr(err.msg, "thesis.tex was not written by sjtalign"));
    /* Untouched, and no temporary folder left beside it. */
    assert_int_equal(test_count_entries(dir), 1);
    char *parent = sj_strndup(dir, (size_t)(strrchr(dir, '/') - dir));
    char cmd[600];
    snprintf(cmd, sizeof cmd, "ls -a '%s' | grep -q '^\\.%s\\.'", parent, strrchr(dir, '/') + 1);
    assert_int_not_equal(system(cmd), 0);
    free(parent);
    free(mine);
    cJSON_Delete(doc);
    test_rmdir(dir);
}

static void test_hostile_data_is_escaped(void **state)
{
    (void)state;
    sj_audit_options o;
    options(&o, FIX "hostile.csv", FIX "hostile.json");
    o.reference = "<img src=x onerror=alert(1)>";
    o.focal = "=1+1";
    sj_error err;
    sj_error_clear(&err);
    cJSON *doc = sj_audit_compute(&o, &err);
    assert_non_null(doc);
    char *dir = test_mkdtemp();
    char *out = sj_path_join(dir, "r");
    assert_int_equal(sj_audit_write(doc, out, &err), SJ_OK);
    char *page_path = sj_path_join(out, "index.html");
    char *page = read_text(page_path);
    assert_null(strstr(page, "<script"));
    assert_null(strstr(page, "<img"));
    assert_null(strstr(page, "<i>"));
    assert_null(strstr(page, "<b>Hostile"));
    assert_null(strstr(page, "<svg onload"));
    assert_non_null(strstr(page, "&lt;script&gt;alert(1)&lt;/script&gt;"));
    assert_non_null(strstr(page, "&lt;img src=x onerror=alert(1)&gt;"));
    assert_non_null(strstr(page, "a&amp;b&quot;&#39;&lt;i&gt;"));
    /* CSV: formula-like cells start with a quote. */
    char *dif_path = sj_path_join(out, "dif.csv");
    char *csv = read_text(dif_path);
    assert_non_null(strstr(csv, "\"'=HYPERLINK(\"\"http://x\"\")\""));
    assert_non_null(strstr(csv, "'+cmd|"));
    assert_non_null(strstr(csv, "'@SUM(1+1)"));
    assert_non_null(strstr(csv, ",'=1+1,"));
    assert_null(strstr(csv, "\n=HYPERLINK"));
    free(csv);
    free(dif_path);
    free(page);
    free(page_path);
    free(out);
    cJSON_Delete(doc);
    test_rmdir(dir);
}

static void test_model_checksum_from_score_provenance(void **state)
{
    (void)state;
    char *dir = test_mkdtemp();
    char *scores = sj_path_join(dir, "scores.csv");
    char *csv = read_text(FIX "before.csv");
    test_write_text(scores, csv, strlen(csv));
    char *side = sj_path_join(dir, "scores.csv.json");
    const char *meta = "{\"command\": \"score\", \"model\": {\"path\": \"runs/demo/ppo\", "
                       "\"weights_sha256\": \"aaaa\", \"stage\": \"ppo\", \"config\": "
                       "{\"path\": \"runs/demo/ppo/config.json\", \"sha256\": \"bbbb\"}}}";
    test_write_text(side, meta, strlen(meta));
    sj_audit_options o;
    options(&o, scores, FIX "instrument.json");
    sj_error err;
    sj_error_clear(&err);
    cJSON *doc = sj_audit_compute(&o, &err);
    assert_non_null(doc);
    const cJSON *prov = rj_get(doc, "provenance");
    assert_string_equal(rj_str(prov, "model_config_sha256"), "bbbb");
    assert_string_equal(rj_str(prov, "model_weights_sha256"), "aaaa");
    assert_string_equal(rj_str(prov, "model_stage"), "ppo");
    sj_buf page = {0};
    assert_int_equal(sj_audit_html(doc, &page, &err), SJ_OK);
    assert_non_null(strstr(page.data, "<code><bdi>bbbb</bdi></code>"));
    sj_buf_free(&page);
    cJSON_Delete(doc);
    /* Without the file the audit still runs and says the model is not recorded. */
    unlink(side);
    doc = sj_audit_compute(&o, &err);
    assert_non_null(doc);
    assert_null(rj_str(rj_get(doc, "provenance"), "model_config_sha256"));
    cJSON_Delete(doc);
    free(csv);
    free(side);
    free(scores);
    test_rmdir(dir);
}

static void test_bad_input(void **state)
{
    (void)state;
    sj_audit_options o;
    sj_error err;
    options(&o, FIX "before.csv", FIX "instrument.json");
    o.focal = "nobody";
    sj_error_clear(&err);
    assert_null(sj_audit_compute(&o, &err));
    assert_int_equal(err.status, SJ_ERR_INPUT);
    assert_non_null(strstr(err.msg, "no group 'nobody'"));

    options(&o, FIX "before.csv", FIX "instrument.json");
    o.human_col = "no_such_column";
    sj_error_clear(&err);
    assert_null(sj_audit_compute(&o, &err));
    assert_int_equal(err.status, SJ_ERR_INPUT);

    /* Items unknown to the instrument. */
    options(&o, FIX "before.csv", FIX "hostile.json");
    sj_error_clear(&err);
    assert_null(sj_audit_compute(&o, &err));
    assert_int_equal(err.status, SJ_ERR_INPUT);

    options(&o, FIX "before.csv", FIX "instrument.json");
    o.focal = "ref";
    sj_error_clear(&err);
    assert_null(sj_audit_compute(&o, &err));
    assert_int_equal(err.status, SJ_ERR_INPUT);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_document_values),
        cmocka_unit_test(test_effect_intervals_hand_worked),
        cmocka_unit_test(test_write_and_round_trip),
        cmocka_unit_test(test_failed_buffer_is_reported),
        cmocka_unit_test(test_refuses_to_replace_a_foreign_folder),
        cmocka_unit_test(test_hostile_data_is_escaped),
        cmocka_unit_test(test_model_checksum_from_score_provenance),
        cmocka_unit_test(test_bad_input),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
