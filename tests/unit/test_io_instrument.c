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

/* A key twice in one object is refused, naming both lines; the same key in
 * different objects is fine. Keys compare as decoded text. */
static void duplicate_keys_name_both_lines(void **state)
{
    (void)state;
    sj_error err;
    assert_null(parse("{\n  \"id\": \"a\",\n  \"title\": \"t\",\n  \"id\": \"b\"\n}\n", &err));
    assert_string_equal(err.msg, "instrument.json:4:3: duplicate key 'id' (first at line 2)");
    /* line 6 is '     "rubric": [{"score": 0, "score": 1, ...': the second key at column 30 */
    char *text = replace(VALID, "{\"score\": 0,", "{\"score\": 0, \"score\": 1,");
    assert_null(parse(text, &err));
    assert_string_equal(err.msg, "instrument.json:6:30: duplicate key 'score' (first at line 6)");
    free(text);
    /* escaped quotes inside keys, a nested object with the same key */
    cJSON *doc =
        sj_json_parse("x.json", "{\"a\\\"b\": 1, \"x\": {\"a\\\"b\": 2}, \"a\\\"b\": 3}", &err);
    assert_null(doc);
    assert_string_equal(err.msg, "x.json:1:31: duplicate key 'a\"b' (first at line 1)");
    doc = sj_json_parse("x.json", "{\"id\": 1,\n\"\\u0069d\": 2}", &err);
    assert_null(doc);
    assert_string_equal(err.msg, "x.json:2:1: duplicate key 'id' (first at line 1)");
    /* of three, the second is named against the first */
    doc = sj_json_parse("x.json", "{\"k\": 1,\n\"j\": 0,\n\"k\": 2,\n\"k\": 3}", &err);
    assert_null(doc);
    assert_string_equal(err.msg, "x.json:3:1: duplicate key 'k' (first at line 1)");
    doc = sj_json_parse("x.json", "[{\"k\": 1}, {\"k\": 2, \"j\": {\"k\": 3}}]", &err);
    assert_non_null(doc);
    cJSON_Delete(doc);
    /* a line of a JSON-lines log is placed on its own line */
    doc = sj_json_parse_line("log.jsonl", 7, "{\"step\": 1, \"loss\": 2, \"step\": 3}", &err);
    assert_null(doc);
    assert_string_equal(err.msg, "log.jsonl:7:24: duplicate key 'step' (first at line 7)");
    doc = sj_json_parse_line("log.jsonl", 3, "{\"step\": }", &err);
    assert_null(doc);
    assert_non_null(strstr(err.msg, "log.jsonl:3:"));
    assert_non_null(strstr(err.msg, "JSON syntax error"));
}

static char *repeat(const char *head, const char *unit, size_t n, const char *tail)
{
    sj_buf b = {0};
    sj_buf_printf(&b, "%s", head);
    for (size_t i = 0; i < n; i++)
        sj_buf_printf(&b, "%s", unit);
    sj_buf_printf(&b, "%s", tail);
    return b.data;
}

static void nesting_and_size_are_bounded(void **state)
{
    (void)state;
    sj_error err;
    sj_error_clear(&err);
    char *deep = repeat("", "[", 1001, "");
    assert_null(sj_json_parse("deep.json", deep, &err));
    assert_string_equal(err.msg,
                        "deep.json:1:1001: nested deeper than 1000 levels of brackets and braces");
    free(deep);
    char *ok = repeat("\"[[[\", ", "[", 1000, "");
    char *closed = repeat(ok, "]", 1000, "");
    cJSON *doc = sj_json_parse("ok.json", closed + 7, &err); /* 1000 levels parse */
    assert_non_null(doc);
    cJSON_Delete(doc);
    free(ok);
    free(closed);
    /* brackets inside strings are text, not nesting */
    char *in_string = repeat("[\"", "[", 2000, "\"]");
    doc = sj_json_parse("s.json", in_string, &err);
    assert_non_null(doc);
    cJSON_Delete(doc);
    free(in_string);
    /* 100001 values in 200001 bytes: more than 65536 + 200001 / 8 = 90536 */
    char *dense = repeat("[", "1,", 99999, "1]");
    assert_null(sj_json_parse("dense.json", dense, &err));
    assert_string_equal(err.msg, "dense.json: 100001 values and keys in 200001 bytes, more than "
                                 "the 90536 a JSON input of this size may hold (65536 plus one "
                                 "per 8 bytes)");
    /* a packed document may hold 65536 + 200001 / 4 = 115536 */
    char *dir = test_mkdtemp();
    char *path = sj_path_join(dir, "packed.json");
    test_write_text(path, dense, strlen(dense));
    doc = sj_json_read_packed(path, &err);
    assert_non_null(doc);
    assert_int_equal(cJSON_GetArraySize(doc), 100000);
    cJSON_Delete(doc);
    free(dense);
    free(path);
    test_rmdir(dir);
}

static void encodings_are_named(void **state)
{
    (void)state;
    char *dir = test_mkdtemp();
    char *path = sj_path_join(dir, "i.json");
    sj_error err;
    sj_error_clear(&err);
    test_write_text(path, "\xFF\xFE{\0}\0", 6);
    assert_null(sj_json_read(path, &err));
    char *want = sj_asprintf("%s:1: the file looks like UTF-16; save it as UTF-8", path);
    assert_string_equal(err.msg, want);
    free(want);
    test_write_text(path, "{\n\"a\": 1\0}", 10);
    assert_null(sj_json_read(path, &err));
    want = sj_asprintf("%s:2:7: a NUL byte in a JSON file: this is not a text file", path);
    assert_string_equal(err.msg, want);
    free(want);
    /* a UTF-8 byte order mark is skipped */
    char *bom = sj_asprintf("\xEF\xBB\xBF%s", VALID);
    test_write_text(path, bom, strlen(bom));
    sj_instrument *ins = sj_instrument_load(path, &err);
    assert_non_null(ins);
    sj_instrument_free(ins);
    free(bom);
    free(path);
    test_rmdir(dir);
}

/* Item ids and rubric scores are checked by sorting, and items are found
 * by id in a sorted index: thousands of items load at once. */
static void many_items_load_and_are_found(void **state)
{
    (void)state;
    sj_buf b = {0};
    sj_buf_printf(&b, "{\"id\": \"big\", \"title\": \"t\", \"score_min\": 0, \"score_max\": 2, "
                      "\"items\": [");
    for (int i = 0; i < 3000; i++)
        sj_buf_printf(&b,
                      "%s{\"id\": \"i%d\", \"scenario\": \"s\", \"question\": \"q\", \"rubric\": "
                      "[{\"score\": 0, \"anchor\": \"a\"}]}",
                      i ? ", " : "", i);
    size_t open_len = b.len;
    sj_buf_printf(&b, "]}");
    sj_error err;
    sj_instrument *ins = parse(b.data, &err);
    assert_non_null(ins);
    assert_int_equal(sj_instrument_find_item(ins, "i0"), 0);
    assert_int_equal(sj_instrument_find_item(ins, "i1234"), 1234);
    assert_int_equal(sj_instrument_find_item(ins, "i2999"), 2999);
    assert_int_equal(sj_instrument_find_item(ins, "i3000"), -1);
    assert_int_equal(sj_instrument_find_item(ins, ""), -1);
    sj_instrument_free(ins);
    b.len = open_len;
    sj_buf_printf(&b, ", {\"id\": \"i5\", \"scenario\": \"s\", \"question\": \"q\", \"rubric\": "
                      "[{\"score\": 0, \"anchor\": \"a\"}]}]}");
    assert_null(parse(b.data, &err));
    assert_string_equal(
        err.msg, "instrument.json: items[3000].id: expected an id not used by an earlier item");
    sj_buf_free(&b);
    expect_invalid("{\"score\": 2,", "{\"score\": 2, \"anchor\": \"x\"}, {\"score\": 0,",
                   "items[0].rubric[2].score: expected a score not already anchored");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(loads_a_valid_instrument),
        cmocka_unit_test(syntax_errors_give_line_and_column),
        cmocka_unit_test(schema_errors_name_the_json_path),
        cmocka_unit_test(duplicate_keys_name_both_lines),
        cmocka_unit_test(nesting_and_size_are_bounded),
        cmocka_unit_test(encodings_are_named),
        cmocka_unit_test(many_items_load_and_are_found),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
