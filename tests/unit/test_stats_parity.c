/* Group parity and agreement against R (t.test, lm, anova and the
 * table form of quadratic weighted kappa in make_fixtures.R), plus the
 * adverse impact rule and input errors. */
#include "test_helpers.h"

#include "stats_fixture.h"

static sj_table *read_fixture(const char *name)
{
    char path[256];
    snprintf(path, sizeof path, STATS_FIXTURES "%s", name);
    sj_error err;
    sj_error_clear(&err);
    sj_table *t = sj_table_read(path, &err);
    if (!t)
        fail_msg("%s", err.msg);
    return t;
}

/* Follows "a.b.c" through nested objects. */
static const cJSON *at_path(const cJSON *doc, const char *path)
{
    char buf[256];
    snprintf(buf, sizeof buf, "%s", path);
    const cJSON *o = doc;
    for (char *save = NULL, *k = strtok_r(buf, ".", &save); k; k = strtok_r(NULL, ".", &save)) {
        o = cJSON_GetObjectItemCaseSensitive(o, k);
        if (!o)
            fail_msg("no member %s in the parity JSON", path);
    }
    return o;
}

static void compare_parity(const char *person_col, double cut, const char *expected)
{
    sj_table *t = read_fixture("parity_scores.csv");
    sj_error err;
    sj_error_clear(&err);
    sj_parity_data *d =
        sj_parity_data_from_table(t, person_col, "score", "group", "human_score", &err);
    sj_table_free(t);
    if (!d)
        fail_msg("%s", err.msg);
    sj_parity p;
    assert_int_equal(sj_parity_run(d, "A", "B", cut, &p, &err), SJ_OK);
    cJSON *doc = sj_parity_to_json(&p);
    sj_table *want = read_fixture(expected);
    for (size_t r = 0; r < want->n_rows; r++) {
        const char *key = sj_table_cell(want, r, 0), *value = sj_table_cell(want, r, 1);
        const cJSON *got = at_path(doc, key);
        double v;
        assert_int_equal(sj_parse_number(value, &v), 0);
        double g = cJSON_IsBool(got) ? cJSON_IsTrue(got) : got->valuedouble;
        if (!cJSON_IsBool(got) && !cJSON_IsNumber(got))
            fail_msg("%s: not a number", key);
        stats_expect_close(g, v, key, expected);
    }
    assert_true(want->n_rows > 50);
    sj_table_free(want);
    cJSON_Delete(doc);
    sj_parity_free(&p);
    sj_parity_data_free(d);
}

static void parity_rows_match_r(void **state)
{
    (void)state;
    compare_parity(NULL, 2.5, "expected_parity_rows.csv");
}

static void parity_person_totals_match_r(void **state)
{
    (void)state;
    compare_parity("person_id", 10, "expected_parity_persons.csv");
    stats_report_max_error();
}

/* Cohen's weighted kappa from the contingency table (R) equals the moment
 * form used here on integer scores. */
static void qwk_equals_table_form(void **state)
{
    (void)state;
    sj_table *t = read_fixture("qwk_pairs.csv");
    double m[100], h[100];
    assert_true(t->n_rows <= 100);
    for (size_t r = 0; r < t->n_rows; r++) {
        assert_int_equal(sj_parse_number(sj_table_cell(t, r, 0), &m[r]), 0);
        assert_int_equal(sj_parse_number(sj_table_cell(t, r, 1), &h[r]), 0);
    }
    sj_table *want = read_fixture("expected_qwk_pairs.csv");
    double v[4];
    for (size_t r = 0; r < 4; r++)
        assert_int_equal(sj_parse_number(sj_table_cell(want, r, 1), &v[r]), 0);
    stats_expect_close(sj_qwk(m, h, t->n_rows), v[0], "qwk", "qwk_pairs");
    stats_expect_close(sj_pearson_r(m, h, t->n_rows), v[1], "pearson_r", "qwk_pairs");
    stats_expect_close(sj_exact_agreement(m, h, t->n_rows), v[2], "exact", "qwk_pairs");
    stats_expect_close(sj_adjacent_agreement(m, h, t->n_rows), v[3], "adjacent", "qwk_pairs");
    sj_table_free(t);
    sj_table_free(want);
}

/* By hand: two pairs (1, 1) and (3, 2): exact 1/2, adjacent 1; means 2 and
 * 1.5, SDs sqrt(2) and sqrt(0.5): SMD = 0.5 / sqrt(1.25). Perfect
 * agreement gives kappa 1; constant scores have no kappa. */
static void agreement_hand_worked(void **state)
{
    (void)state;
    const double m[] = {1, 3}, h[] = {1, 2};
    assert_true(fabs(sj_exact_agreement(m, h, 2) - 0.5) < 1e-15);
    assert_true(fabs(sj_adjacent_agreement(m, h, 2) - 1) < 1e-15);
    assert_true(fabs(sj_smd(m, h, 2) - 0.5 / sqrt(1.25)) < 1e-15);
    assert_true(fabs(sj_qwk(h, h, 2) - 1) < 1e-15);
    const double c[] = {2, 2};
    assert_true(isnan(sj_qwk(c, c, 2)));
    assert_true(isnan(sj_pearson_r(m, c, 2)));
    /* 2.5 rounds up, -0.5 away from zero, 2.4999999999 (a sum) as 2.5 */
    const double mr[] = {2.5, -0.5, 2.4999999999, 2.49};
    const double hr[] = {3, -1, 3, 2};
    assert_true(fabs(sj_exact_agreement(mr, hr, 4) - 1) < 1e-15);
}

static sj_parity_data *parity_from(const char *csv, const char *person, const char *human,
                                   sj_error *err)
{
    sj_error_clear(err);
    sj_table *t = sj_table_parse("p.csv", csv, strlen(csv), err);
    assert_non_null(t);
    sj_parity_data *d = sj_parity_data_from_table(t, person, "score", "group", human, err);
    sj_table_free(t);
    return d;
}

/* Reference passes 2 of 4 (0.5), focal 1 of 3: ratio 2/3 < 0.8, flagged. */
static void adverse_impact_four_fifths(void **state)
{
    (void)state;
    sj_error err;
    sj_parity_data *d =
        parity_from("score,group\n5,r\n1,r\n6,r\n2,r\n7,f\n1,f\n2,f\n,f\n", NULL, NULL, &err);
    assert_non_null(d);
    assert_int_equal(d->n_excluded, 1);
    sj_parity p;
    assert_int_equal(sj_parity_run(d, "r", "f", 5, &p, &err), SJ_OK);
    assert_true(fabs(p.ref.pass_rate - 0.5) < 1e-15);
    assert_true(fabs(p.focal.pass_rate - 1.0 / 3) < 1e-15);
    assert_true(fabs(p.adverse_impact_ratio - 2.0 / 3) < 1e-15);
    assert_int_equal(p.four_fifths_flag, 1);
    assert_true(fabs(p.mean_diff - (10.0 / 3 - 3.5)) < 1e-14);
    sj_parity_free(&p);
    /* no cut: no pass rates, flag undefined (null in JSON) */
    assert_int_equal(sj_parity_run(d, "r", "f", NAN, &p, &err), SJ_OK);
    cJSON *j = sj_parity_to_json(&p);
    assert_true(cJSON_IsNull(cJSON_GetObjectItem(j, "four_fifths_flag")));
    assert_true(cJSON_IsNull(cJSON_GetObjectItem(j, "adverse_impact_ratio")));
    assert_null(cJSON_GetObjectItem(j, "agreement"));
    cJSON_Delete(j);
    sj_parity_free(&p);
    sj_parity_data_free(d);
}

static void expect_words(const sj_error *err, const char *words)
{
    assert_int_equal(err->status, SJ_ERR_INPUT);
    if (!strstr(err->msg, words))
        fail_msg("expected '%s' in '%s'", words, err->msg);
}

static void parity_input_errors(void **state)
{
    (void)state;
    sj_error err;
    sj_parity p;
    sj_parity_data *d = parity_from("score,group\n1,r\n2,r\n3,r\n", NULL, NULL, &err);
    assert_int_equal(sj_parity_run(d, "r", "f", NAN, &p, &err), SJ_ERR_INPUT);
    expect_words(&err, "group 'f' does not occur in the group column (groups present: 'r')");
    sj_parity_data_free(d);
    d = parity_from("score,group\n1,r\n2,r\n3,f\n", NULL, NULL, &err);
    assert_int_equal(sj_parity_run(d, "r", "f", NAN, &p, &err), SJ_ERR_INPUT);
    expect_words(&err, "at least two scored observations per group; found 2 in 'r' and 1 in 'f'");
    sj_parity_data_free(d);
    assert_null(parity_from("score,group,h\n1,r,1.5\n", NULL, "h", &err));
    expect_words(&err, "p.csv:2:3: column 'h': human scores must be whole numbers");
    assert_null(parity_from("person,score,group\na,1,r\na,2,f\n", "person", NULL, &err));
    expect_words(&err, "p.csv:3:3: person 'a' is in group 'f' here but in group 'r' on line 2");
    assert_null(parity_from("score,group\nx,r\n", NULL, NULL, &err));
    expect_words(&err, "p.csv:2:1:");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(parity_rows_match_r),
        cmocka_unit_test(parity_person_totals_match_r),
        cmocka_unit_test(qwk_equals_table_form),
        cmocka_unit_test(agreement_hand_worked),
        cmocka_unit_test(adverse_impact_four_fifths),
        cmocka_unit_test(parity_input_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
