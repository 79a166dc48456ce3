/* The instrument loader: schema checks with JSON paths, syntax errors with
 * line and column, and a round trip through JSON. */
#include "test_helpers.h"

#include "sjtalign/io.h"

static const char *VALID =
    "{\n"
    "  \"id\": \"demo\", \"title\": \"Workplace judgment\", \"score_min\": 0, \"score_max\": 2,\n"
    "  \"items\": [\n"
    "    {\"id\": \"deadline\", \"scenario\": \"A colleague misses deadlines.\",\n"
    "     \"question\": \"What would you do?\",\n"
    "     \"rubric\": [{\"score\": 0, \"anchor\": \"Ignores it\"},\n"
    "                {\"score\": 2, \"anchor\": \"Talks to them privately\"}]}\n"
    "  ]\n"
    "}\n";

static sj_instrument *parse(const char *text, sj_error *err)
{
    sj_error_clear(err);
    cJSON *doc = sj_json_parse("instrument.json", text, err);
    if (!doc)
        return NULL;
    sj_instrument *ins = sj_instrument_from_json("instrument.json", doc, err);
    cJSON_Delete(doc);
    return ins;
}

static char *replace(const char *text, const char *from, const char *to)
{
    const char *at = strstr(text, from);
    assert_non_null(at);
    return sj_asprintf("%.*s%s%s", (int)(at - text), text, to, at + strlen(from));
}

static void expect_invalid(const char *from, const char *to, const char *expected)
{
    char *text = replace(VALID, from, to);
    sj_error err;
    sj_instrument *ins = parse(text, &err);
    assert_null(ins);
    assert_int_equal(err.status, SJ_ERR_INPUT);
    if (!strstr(err.msg, expected))
        fail_msg("expected '%s' in '%s'", expected, err.msg);
    free(text);
}

static void loads_a_valid_instrument(void **state)
{
    (void)state;
    sj_error err;
    sj_instrument *ins = parse(VALID, &err);
    assert_non_null(ins);
    assert_string_equal(ins->id, "demo");
    assert_int_equal(ins->score_max, 2);
    assert_int_equal(ins->n_items, 1);
    assert_string_equal(ins->items[0].question, "What would you do?");
    assert_int_equal(ins->items[0].n_rubric, 2);
    assert_int_equal(ins->items[0].rubric[1].score, 2);
    assert_int_equal(sj_instrument_find_item(ins, "deadline"), 0);
    assert_int_equal(sj_instrument_find_item(ins, "nope"), -1);
    /* Round trip through JSON keeps every field. */
    cJSON *doc = sj_instrument_to_json(ins);
    sj_instrument *again = sj_instrument_from_json("copy", doc, &err);
    assert_non_null(again);
    assert_string_equal(again->items[0].rubric[0].anchor, "Ignores it");
    cJSON_Delete(doc);
    sj_instrument_free(again);
    sj_instrument_free(ins);
}

static void syntax_errors_give_line_and_column(void **state)
{
    (void)state;
    sj_error err;
    /* A missing comma after "demo" on line 2, column 16 (where "title" begins). */
    char *text = replace(VALID, "\"demo\",", "\"demo\"");
    assert_null(parse(text, &err));
    assert_non_null(strstr(err.msg, "instrument.json:2:16: JSON syntax error"));
    free(text);
    assert_null(parse("{\"id\": \"x\"", &err));
    assert_non_null(strstr(err.msg, "instrument.json:1:11: JSON syntax error: the document ends"));
}

static void schema_errors_name_the_json_path(void **state)
{
    (void)state;
    expect_invalid("\"title\": \"Workplace judgment\",", "",
                   "instrument.json: title: expected a non-empty string");
    expect_invalid("\"score_max\": 2", "\"score_max\": 0",
                   "score_max: expected a number greater than score_min");
    expect_invalid("\"score_max\": 2", "\"score_max\": 2.5", "score_max: expected a whole number");
    expect_invalid(
        "{\"score\": 2,", "{\"score\": 3,",
        "items[0].rubric[1].score: expected a score between score_min 0 and score_max 2");
    expect_invalid("{\"score\": 2,", "{\"score\": 0,",
                   "items[0].rubric[1].score: expected a score not already anchored");
    expect_invalid("\"question\": \"What would you do?\",", "",
                   "items[0].question: expected a non-empty string");
    expect_invalid("\"items\": [",
                   "\"items\": [{\"id\": \"deadline\", \"scenario\": \"s\", "
                   "\"question\": \"q\", \"rubric\": [{\"score\": 1, \"anchor\": "
                   "\"a\"}]},",
                   "items[1].id: expected an id not used by an earlier item");
    expect_invalid("\"rubric\": [", "\"rubric\": 7, \"x\": [",
                   "items[0].rubric: expected a non-empty array");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(loads_a_valid_instrument),
        cmocka_unit_test(syntax_errors_give_line_and_column),
        cmocka_unit_test(schema_errors_name_the_json_path),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
