/* Several raters in training (training.c, io/rater_columns.c): the rater
 * columns of a comma list, the raters' mean as the row's score, and the
 * expansion into one example per rater score weighted 1/(the row's number
 * of scores), against hand-worked values. */
#include "test_helpers.h"

#include <math.h>

#include "sjtalign/align.h"
#include "sjtalign/io.h"

static const char *const INSTRUMENT =
    "{\"id\": \"t\", \"title\": \"T\", \"score_min\": 0, \"score_max\": 3, \"items\": ["
    "{\"id\": \"A\", \"scenario\": \"s\", \"question\": \"q\", \"rubric\": [{\"score\": 0, "
    "\"anchor\": \"a\"}]}]}";

typedef struct {
    char *dir;
    sj_instrument *ins;
} fixture;

static sj_responses *load(fixture *f, const char *csv, const char *score, int need, sj_error *err)
{
    char path[512];
    snprintf(path, sizeof path, "%s/r.csv", f->dir);
    test_write_text(path, csv, strlen(csv));
    sj_columns cols = {NULL, NULL, NULL, NULL, score};
    return sj_responses_load(path, &cols, f->ins, need, err);
}

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    f->dir = test_mkdtemp();
    cJSON *doc = cJSON_Parse(INSTRUMENT);
    sj_error err;
    f->ins = sj_instrument_from_json("t.json", doc, &err);
    cJSON_Delete(doc);
    assert_non_null(f->ins);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    sj_instrument_free(f->ins);
    test_rmdir(f->dir);
    free(f);
    return 0;
}

/* Three rows, two raters, rater_2 missing on the second row: row 0 scored
 * 2 and 3 (mean 2.5) gives two examples of weight 1/2, row 1 scored 1 by
 * rater_1 alone one example of weight 1, row 2 scored 0 and 0 two examples
 * of weight 1/2. Every row weighs 1 in all (3 in total), and each row's
 * weighted mean of its examples is the raters' mean. */
static const char *const THREE_ROWS = "person_id,item_id,response,rater_1,rater_2\n"
                                      "P1,A,one,2,3\n"
                                      "P2,A,two,1,\n"
                                      "P3,A,three,0,0\n";

static void expansion_and_weights(void **state)
{
    fixture *f = *state;
    sj_error err;
    sj_error_clear(&err);
    sj_responses *r = load(f, THREE_ROWS, "rater_1,rater_2",
                           SJ_NEED_TEXT | SJ_NEED_SCORE | SJ_ALLOW_RATERS, &err);
    assert_non_null(r);
    assert_non_null(r->raters);
    assert_int_equal(r->raters->n_raters, 2);
    assert_int_equal(r->col_score, 3);
    assert_true(r->score[0] == 2.5 && r->score[1] == 1.0 && r->score[2] == 0.0);
    assert_int_equal(sj_rater_count(r->raters, 1), 1);
    sja_rater_examples ex;
    assert_int_equal(sja_rater_examples_build(r, NULL, &ex, &err), SJ_OK);
    assert_int_equal(ex.n, 5);
    assert_int_equal(ex.n_rows, 3);
    assert_int_equal(ex.max_per_row, 2);
    const size_t rows[5] = {0, 0, 1, 2, 2};
    const int scores[5] = {2, 3, 1, 0, 0};
    const double weights[5] = {0.5, 0.5, 1.0, 0.5, 0.5};
    for (size_t e = 0; e < 5; e++) {
        assert_int_equal(ex.row[e], rows[e]);
        assert_int_equal(ex.score[e], scores[e]);
        assert_true(ex.weight[e] == weights[e]);
    }
    sja_rater_examples_free(&ex);
    /* only rows 0 and 2 */
    const unsigned char use[3] = {1, 0, 1};
    assert_int_equal(sja_rater_examples_build(r, use, &ex, &err), SJ_OK);
    assert_int_equal(ex.n, 4);
    assert_int_equal(ex.n_rows, 2);
    assert_int_equal(ex.row[2], 2);
    sja_rater_examples_free(&ex);
    cJSON *rule = sja_rater_rule_json(r);
    assert_string_equal(cJSON_GetArrayItem(cJSON_GetObjectItem(rule, "columns"), 1)->valuestring,
                        "rater_2");
    assert_string_equal(cJSON_GetObjectItem(rule, "rule")->valuestring, "mean of the raters");
    cJSON_Delete(rule);
    sj_responses_free(r);
}

/* One column is that rater alone, weight 1; a row no rater scored is left
 * out; blanks around the names do not matter. */
static void one_rater_and_unscored_rows(void **state)
{
    fixture *f = *state;
    sj_error err;
    sj_error_clear(&err);
    sj_responses *r = load(f, THREE_ROWS, "rater_2", SJ_NEED_SCORE | SJ_ALLOW_RATERS, &err);
    assert_non_null(r);
    sja_rater_examples ex;
    assert_int_equal(sja_rater_examples_build(r, NULL, &ex, &err), SJ_OK);
    assert_int_equal(ex.n, 2);
    assert_int_equal(ex.n_rows, 2);
    assert_int_equal(ex.row[1], 2);
    assert_true(ex.weight[0] == 1.0 && ex.weight[1] == 1.0);
    assert_true(isnan(r->score[1]));
    cJSON *rule = sja_rater_rule_json(r);
    assert_string_equal(cJSON_GetObjectItem(rule, "rule")->valuestring, "one rater");
    cJSON_Delete(rule);
    sja_rater_examples_free(&ex);
    sj_responses_free(r);

    const char *csv = "person_id,item_id,response,a,b\nP1,A,x,,\nP2,A,y,3,1\n";
    r = load(f, csv, " a , b ", SJ_NEED_SCORE | SJ_ALLOW_RATERS, &err);
    assert_non_null(r);
    assert_true(isnan(r->score[0]) && r->score[1] == 2.0);
    assert_int_equal(sja_rater_examples_build(r, NULL, &ex, &err), SJ_OK);
    assert_int_equal(ex.n, 2);
    assert_int_equal(ex.n_rows, 1);
    assert_int_equal(ex.row[0], 1);
    sja_rater_examples_free(&ex);
    sj_responses_free(r);
}

static void bad_lists_are_input_errors(void **state)
{
    fixture *f = *state;
    sj_error err;
    sj_error_clear(&err);
    int need = SJ_NEED_SCORE | SJ_ALLOW_RATERS;
    assert_null(load(f, THREE_ROWS, "rater_1,,rater_2", need, &err));
    assert_int_equal(err.status, SJ_ERR_INPUT);
    assert_non_null(strstr(err.msg, "name 2 of the comma list is empty"));
    assert_null(load(f, THREE_ROWS, "rater_1,rater_1", need, &err));
    assert_non_null(strstr(err.msg, "column 'rater_1' is listed twice"));
    assert_null(load(f, THREE_ROWS, "rater_1,nope", need, &err));
    assert_int_equal(err.status, SJ_ERR_INPUT);
    assert_non_null(strstr(err.msg, "nope"));
    const char *bad = "person_id,item_id,response,a,b\nP1,A,x,1,2\nP2,A,y,3,4\n";
    assert_null(load(f, bad, "a,b", need, &err));
    assert_non_null(strstr(err.msg, "r.csv:3:5"));
    assert_non_null(strstr(err.msg, "score 4 is outside the instrument's range 0..3"));
    /* without SJ_ALLOW_RATERS a comma list is one (missing) column name */
    assert_null(load(f, THREE_ROWS, "rater_1,rater_2", SJ_NEED_SCORE, &err));
    assert_non_null(strstr(err.msg, "rater_1,rater_2"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(expansion_and_weights, setup, teardown),
        cmocka_unit_test_setup_teardown(one_rater_and_unscored_rows, setup, teardown),
        cmocka_unit_test_setup_teardown(bad_lists_are_input_errors, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
