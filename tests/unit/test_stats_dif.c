/* DIF on real and simulated data against R (stats::mantelhaen.test, glm,
 * MASS::polr, p.adjust and hand-written Mantel/SMD/Breslow-Day in
 * tests/fixtures/stats/make_fixtures.R), and the driver's input errors. */
#include "test_helpers.h"

#include "stats_fixture.h"

static sj_score_data *load(const char *name)
{
    sj_error err;
    sj_error_clear(&err);
    char path[256];
    snprintf(path, sizeof path, STATS_FIXTURES "%s", name);
    sj_table *t = sj_table_read(path, &err);
    if (!t)
        fail_msg("%s", err.msg);
    sj_score_data *d = sj_score_data_from_table(t, "person_id", "item_id", "score", "group", &err);
    sj_table_free(t);
    if (!d)
        fail_msg("%s", err.msg);
    return d;
}

static const sj_dif_item *find_row(const sj_dif_result *r, const char *item, const char *focal)
{
    for (size_t i = 0; i < r->n_rows; i++)
        if (strcmp(r->rows[i].item, item) == 0 && strcmp(r->rows[i].focal, focal) == 0)
            return &r->rows[i];
    fail_msg("no row for item %s, focal %s", item, focal);
    return NULL;
}

/* Every cell of R's table against the JSON of the matching row. */
static void compare_with_r(const sj_dif_result *r, const char *expected)
{
    sj_error err;
    sj_error_clear(&err);
    char path[256];
    snprintf(path, sizeof path, STATS_FIXTURES "%s", expected);
    sj_table *t = sj_table_read(path, &err);
    if (!t)
        fail_msg("%s", err.msg);
    long c_item = sj_table_find_column(t, "item"), c_focal = sj_table_find_column(t, "focal");
    long c_rounds = sj_table_find_column(t, "purify_rounds");
    assert_true(c_item >= 0 && c_focal >= 0 && c_rounds >= 0);
    assert_int_equal(t->n_rows, r->n_rows);
    size_t compared = 0;
    for (size_t row = 0; row < t->n_rows; row++) {
        const char *item = sj_table_cell(t, row, (size_t)c_item);
        const char *focal = sj_table_cell(t, row, (size_t)c_focal);
        const sj_dif_item *it = find_row(r, item, focal);
        cJSON *obj = sj_dif_item_to_json(it, r->adjust);
        char where[128];
        snprintf(where, sizeof where, "%s item %s (focal %s)", expected, item, focal);
        for (size_t c = 0; c < t->n_cols; c++) {
            if ((long)c == c_item || (long)c == c_focal)
                continue;
            if ((long)c == c_rounds) {
                size_t f = 0;
                while (strcmp(r->focal[f], focal) != 0)
                    f++;
                assert_int_equal(r->purify_rounds[f], atoi(sj_table_cell(t, row, c)));
                continue;
            }
            stats_expect_json(obj, t->names[c], sj_table_cell(t, row, c), where);
            compared++;
        }
        cJSON_Delete(obj);
    }
    assert_true(compared >= 30);
    sj_table_free(t);
}

static sj_dif_result *run(const sj_score_data *d, const char *ref, const char *const *focal,
                          size_t n_focal, sj_match match, int purify, sj_adjust adjust)
{
    sj_dif_options o;
    sj_dif_options_defaults(&o);
    o.reference = ref;
    o.focal = focal;
    o.n_focal = n_focal;
    o.match = match;
    o.purify = purify;
    o.adjust = adjust;
    sj_error err;
    sj_error_clear(&err);
    sj_dif_result *r = sj_dif_run(d, &o, &err);
    if (!r)
        fail_msg("%s", err.msg);
    return r;
}

static void verbal_aggression_total_score(void **state)
{
    (void)state;
    sj_score_data *d = load("verbal_mixed.csv");
    assert_int_equal(d->n_persons, 316);
    assert_int_equal(d->n_items, 24);
    const char *focal[] = {"female"};
    sj_dif_result *r = run(d, "male", focal, 1, SJ_MATCH_TOTAL, 0, SJ_ADJUST_NONE);
    assert_int_equal(r->rows[0].type, SJ_ITEM_DICHOTOMOUS);
    assert_int_equal(r->rows[23].type, SJ_ITEM_POLYTOMOUS);
    compare_with_r(r, "expected_verbal_total.csv");
    sj_dif_result_free(r);
    sj_score_data_free(d);
}

static void verbal_aggression_rest_score_holm(void **state)
{
    (void)state;
    sj_score_data *d = load("verbal_mixed.csv");
    const char *focal[] = {"female"};
    sj_dif_result *r = run(d, "male", focal, 1, SJ_MATCH_REST, 0, SJ_ADJUST_HOLM);
    compare_with_r(r, "expected_verbal_rest_holm.csv");
    sj_dif_result_free(r);
    sj_score_data_free(d);
}

static void simulated_two_focal_groups(void **state)
{
    (void)state;
    sj_score_data *d = load("sim_dif.csv");
    const char *focal[] = {"F1", "F2"};
    sj_dif_result *r = run(d, "R", focal, 2, SJ_MATCH_TOTAL, 0, SJ_ADJUST_NONE);
    /* 25 empty score cells and 5 absent rows: 30 persons, all in R/F1/F2 */
    assert_int_equal(r->n_excluded_incomplete, 30);
    assert_int_equal(r->n_persons_used, 1800 - 30);
    compare_with_r(r, "expected_sim_total.csv");
    /* The injected DIF is found where it was injected (against F1). */
    assert_string_equal(find_row(r, "D3", "F1")->ets_class, "C");
    assert_true(find_row(r, "D6", "F1")->lr_p_nonuniform < 1e-4);
    assert_true(find_row(r, "P2", "F1")->mantel_p < 1e-6);
    assert_true(find_row(r, "D3", "F1")->delta_mh < 0); /* against the focal group */
    sj_dif_result_free(r);
    sj_score_data_free(d);
}

static void simulated_purified_bh(void **state)
{
    (void)state;
    sj_score_data *d = load("sim_dif.csv");
    const char *focal[] = {"F1", "F2"};
    sj_dif_result *r = run(d, "R", focal, 2, SJ_MATCH_TOTAL, 1, SJ_ADJUST_BH);
    compare_with_r(r, "expected_sim_purify_bh.csv");
    assert_true(r->purify_converged[0] && r->purify_converged[1]);
    sj_dif_result_free(r);
    sj_score_data_free(d);
    stats_report_max_error();
}

/* An item scored 0-14 (15 ordinal levels) beside a 0-4 and a 0/1 item. */
static void wide_ordinal_scale(void **state)
{
    (void)state;
    sj_score_data *d = load("wide_scale.csv");
    const char *focal[] = {"F"};
    sj_dif_result *r = run(d, "R", focal, 1, SJ_MATCH_REST, 0, SJ_ADJUST_NONE);
    compare_with_r(r, "expected_wide_scale.csv");
    sj_dif_result_free(r);
    sj_score_data_free(d);
}

/* ---- input errors --------------------------------------------------------------- */

static sj_score_data *tiny(const char *csv)
{
    sj_error err;
    sj_error_clear(&err);
    sj_table *t = sj_table_parse("tiny.csv", csv, strlen(csv), &err);
    assert_non_null(t);
    sj_score_data *d = sj_score_data_from_table(t, "person_id", "item_id", "score", "group", &err);
    sj_table_free(t);
    if (!d)
        fail_msg("%s", err.msg);
    return d;
}

static void expect_run_error(const sj_score_data *d, const char *ref, const char *focal,
                             const char *words)
{
    sj_dif_options o;
    sj_dif_options_defaults(&o);
    const char *f[] = {focal};
    o.reference = ref;
    o.focal = f;
    o.n_focal = 1;
    sj_error err;
    sj_error_clear(&err);
    assert_null(sj_dif_run(d, &o, &err));
    assert_int_equal(err.status, SJ_ERR_INPUT);
    if (!strstr(err.msg, words))
        fail_msg("expected '%s' in '%s'", words, err.msg);
}

static void rejects_bad_groups(void **state)
{
    (void)state;
    sj_score_data *d = tiny("person_id,item_id,score,group\n"
                            "p1,i1,1,a\np1,i2,0,a\np2,i1,0,b\np2,i2,,b\n");
    expect_run_error(d, "a", "c",
                     "group 'c' does not occur in the group column (groups present: "
                     "'a', 'b')");
    expect_run_error(d, "a", "a", "named both reference and focal");
    /* b's only person lacks a score: no complete person in the focal group */
    expect_run_error(d, "a", "b", "group 'b' has no person with a score on every item");
    sj_score_data_free(d);
}

static void rejects_bad_tables(void **state)
{
    (void)state;
    struct {
        const char *csv, *words;
    } cases[] = {
        {"person_id,item_id,score,group\np1,i1,1.5,a\n",
         "tiny.csv:2:3: column 'score': DIF needs whole-number item scores"},
        {"person_id,item_id,score,group\np1,i1,x,a\n", "tiny.csv:2:3:"},
        {"person_id,item_id,score,group\np1,i1,1,a\np1,i2,1,b\n",
         "tiny.csv:3:4: person 'p1' is in group 'b' here but in group 'a' on line 2"},
        {"person_id,item_id,score,group\np1,i1,1,a\np1,i1,0,a\n",
         "tiny.csv:3:2: person 'p1' answers item 'i1' a second time"},
        {"person_id,item_id,score,group\np1,i1,1,\n", "tiny.csv:2:4: column 'group' is empty"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        sj_error err;
        sj_error_clear(&err);
        sj_table *t = sj_table_parse("tiny.csv", cases[i].csv, strlen(cases[i].csv), &err);
        assert_non_null(t);
        assert_null(sj_score_data_from_table(t, "person_id", "item_id", "score", "group", &err));
        assert_int_equal(err.status, SJ_ERR_INPUT);
        if (!strstr(err.msg, cases[i].words))
            fail_msg("expected '%s' in '%s'", cases[i].words, err.msg);
        sj_table_free(t);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(verbal_aggression_total_score),
        cmocka_unit_test(verbal_aggression_rest_score_holm),
        cmocka_unit_test(simulated_two_focal_groups),
        cmocka_unit_test(wide_ordinal_scale),
        cmocka_unit_test(simulated_purified_bh),
        cmocka_unit_test(rejects_bad_groups),
        cmocka_unit_test(rejects_bad_tables),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
