/* The responses validator: every defect in one run, in file order and
 * capped; groups with their sizes; persons in two groups; missing person x
 * item cells; the score columns the other commands read. Expected values
 * are worked out by hand from the small tables below. */
#include "test_helpers.h"

#include "sjtalign/io.h"

/* Three items i1..i3, scores 0..3. */
static const char *INSTRUMENT =
    "{\"id\": \"t\", \"title\": \"Test\", \"score_min\": 0, \"score_max\": 3, \"items\": ["
    "{\"id\": \"i1\", \"scenario\": \"s\", \"question\": \"q\", \"rubric\": [{\"score\": 0, "
    "\"anchor\": \"a\"}]},"
    "{\"id\": \"i2\", \"scenario\": \"s\", \"question\": \"q\", \"rubric\": [{\"score\": 0, "
    "\"anchor\": \"a\"}]},"
    "{\"id\": \"i3\", \"scenario\": \"s\", \"question\": \"q\", \"rubric\": [{\"score\": 0, "
    "\"anchor\": \"a\"}]}]}";

typedef struct {
    sj_instrument *ins;
    sj_table *t;
    sj_validation *v;
} fixture;

static sj_instrument *instrument(void)
{
    sj_error err;
    sj_error_clear(&err);
    cJSON *doc = sj_json_parse("instrument.json", INSTRUMENT, &err);
    assert_non_null(doc);
    sj_instrument *ins = sj_instrument_from_json("instrument.json", doc, &err);
    cJSON_Delete(doc);
    assert_non_null(ins);
    return ins;
}

/* Validates text as data.csv; v is NULL when the table cannot be checked. */
static void validate(fixture *f, const char *text, const sj_validate_options *o, sj_error *err)
{
    sj_error_clear(err);
    f->ins = instrument();
    f->t = sj_table_parse("data.csv", text, strlen(text), err);
    assert_non_null(f->t);
    f->v = sj_validate_table(f->t, f->ins, o, err);
}

static void fixture_free(fixture *f)
{
    sj_validation_free(f->v);
    sj_table_free(f->t);
    sj_instrument_free(f->ins);
}

static void clean_file_summary(void **state)
{
    (void)state;
    fixture f;
    sj_error err;
    sj_validate_options o = {0};
    validate(&f,
             "person_id,item_id,response,group,human_score\n"
             "p1,i1,a,g1,0\np1,i2,b,g1,3\np1,i3,c,g1,2\n"
             "p2,i1,d,g2,1\np2,i2,e,g2,\np2,i3,f,g2,2\n"
             "p3,i1,g,g2,1\np3,i2,h,g2,1\np3,i3,i,g2,1\n",
             &o, &err);
    sj_validation *v = f.v;
    assert_non_null(v);
    assert_int_equal(v->n_defects, 0);
    assert_int_equal(v->n_messages, 0);
    assert_int_equal(v->n_rows, 9);
    assert_int_equal(v->n_persons, 3);
    assert_int_equal(v->n_items_seen, 3);
    assert_true(v->has_group);
    assert_string_equal(v->group_column, "group");
    assert_int_equal(v->n_groups, 2);
    assert_string_equal(v->groups[0].label, "g1");
    assert_int_equal(v->groups[0].n_persons, 1);
    assert_string_equal(v->groups[1].label, "g2");
    assert_int_equal(v->groups[1].n_persons, 2);
    assert_int_equal(v->n_split_persons, 0);
    assert_int_equal(v->n_incomplete_persons, 0);
    assert_int_equal(v->n_missing_cells, 0);
    /* The defaults, in order; only human_score is there (8 of 9 cells). */
    assert_int_equal(v->n_score_columns, 3);
    assert_string_equal(v->score_columns[0].name, "score");
    assert_false(v->score_columns[0].present);
    assert_string_equal(v->score_columns[1].name, "human_score");
    assert_true(v->score_columns[1].present);
    assert_int_equal(v->score_columns[1].n_scored, 8);
    assert_false(v->score_columns[1].expected);
    assert_string_equal(v->score_columns[2].name, "score_mode");
    assert_false(v->score_columns[2].present);
    fixture_free(&f);
}

/* Line 2: score 9 (col 5); 3: empty person (1); 4: unknown item (2);
 * 5: empty group (4) and 'x' (5); 6: 1.5 (5); 7: p1 answers i1 again (1);
 * 8: p2 in g3 after g2 on line 6 (4). */
static const char *DEFECTS = "person_id,item_id,response,group,human_score\n"
                             "p1,i1,a,g1,9\n"
                             ",i2,b,g1,1\n"
                             "p1,i9,c,g1,1\n"
                             "p2,i1,d,,x\n"
                             "p2,i2,e,g2,1.5\n"
                             "p1,i1,f,g1,2\n"
                             "p2,i3,g,g3,0\n";

static void every_defect_in_file_order(void **state)
{
    (void)state;
    fixture f;
    sj_error err;
    sj_validate_options o = {0};
    validate(&f, DEFECTS, &o, &err);
    sj_validation *v = f.v;
    assert_non_null(v);
    assert_int_equal(v->n_defects, 8);
    assert_int_equal(v->n_messages, 8);
    assert_string_equal(v->messages[0], "data.csv:2:5: score 9 is outside the instrument's range "
                                        "0..3 (column 'human_score')");
    assert_string_equal(v->messages[1], "data.csv:3:1: empty person id");
    assert_string_equal(v->messages[2],
                        "data.csv:4:2: unknown item 'i9': the instrument t has no such item");
    assert_string_equal(v->messages[3], "data.csv:5:4: empty group label in column 'group'");
    /* The number checks are the table reader's; their wording is its own. */
    assert_memory_equal(v->messages[4], "data.csv:5:5: column 'human_score'", 34);
    assert_memory_equal(v->messages[5], "data.csv:6:5: column 'human_score'", 34);
    assert_string_equal(v->messages[6],
                        "data.csv:7:1: person 'p1' answers item 'i1' twice (first on line 2)");
    assert_string_equal(v->messages[7], "data.csv:8:4: person 'p2' is in group 'g3' here but in "
                                        "group 'g2' on line 6 (a person belongs to one group)");
    /* p1 answered only i1 (i9 is unknown), p2 all three; the empty person
     * id is no person. */
    assert_int_equal(v->n_persons, 2);
    assert_int_equal(v->n_incomplete_persons, 1);
    assert_int_equal(v->n_missing_cells, 2);
    assert_int_equal(v->n_missing_examples, 1);
    assert_string_equal(v->missing_examples[0], "p1 lacks i2, i3");
    /* p1 in g1; p2 in g2 (line 5 has no label), also in g3. */
    assert_int_equal(v->n_split_persons, 1);
    assert_int_equal(v->n_groups, 2);
    assert_string_equal(v->groups[0].label, "g1");
    assert_int_equal(v->groups[0].n_persons, 1);
    assert_string_equal(v->groups[1].label, "g2");
    assert_int_equal(v->groups[1].n_persons, 1);
    /* Valid human scores: lines 3, 4, 7 and 8. */
    assert_int_equal(v->score_columns[1].n_scored, 4);
    fixture_free(&f);
}

static void cap_keeps_the_first_defects_in_file_order(void **state)
{
    (void)state;
    fixture f;
    sj_error err;
    /* The duplicate on line 3 is found after the unknown items on lines 4
     * and 5 but comes first in the file. */
    sj_validate_options o = {.max_defects = 2};
    validate(&f, "person_id,item_id,response\np1,i1,a\np1,i1,b\np1,i9,c\np1,i8,d\n", &o, &err);
    sj_validation *v = f.v;
    assert_non_null(v);
    assert_int_equal(v->n_defects, 3);
    assert_int_equal(v->n_messages, 2);
    assert_string_equal(v->messages[0],
                        "data.csv:3:1: person 'p1' answers item 'i1' twice (first on line 2)");
    assert_string_equal(v->messages[1],
                        "data.csv:4:2: unknown item 'i9': the instrument t has no such item");
    assert_false(v->has_group);
    assert_int_equal(v->n_groups, 0);
    assert_int_equal(v->n_missing_cells, 2);
    fixture_free(&f);
}

static void named_columns_must_exist(void **state)
{
    (void)state;
    fixture f;
    sj_error err;
    const char *scores[] = {"scroe", "score", "scroe"};
    sj_validate_options o = {.cols = {.group = "grp"}, .score_cols = scores, .n_score_cols = 3};
    validate(&f, "person_id,item_id,response,score\np1,i1,a,2\np1,i2,b,4\np1,i3,c,1\n", &o, &err);
    sj_validation *v = f.v;
    assert_non_null(v);
    assert_int_equal(v->n_defects, 3);
    assert_string_equal(v->messages[0], "data.csv:1: missing column 'grp' (the header has "
                                        "'person_id', 'item_id', 'response', 'score')");
    assert_string_equal(v->messages[1], "data.csv:1: missing column 'scroe' (the header has "
                                        "'person_id', 'item_id', 'response', 'score')");
    assert_string_equal(v->messages[2], "data.csv:3:4: score 4 is outside the instrument's range "
                                        "0..3 (column 'score')");
    /* A name listed twice is checked once. */
    assert_int_equal(v->n_score_columns, 2);
    assert_false(v->score_columns[0].present);
    assert_true(v->score_columns[1].present);
    assert_int_equal(v->score_columns[1].n_scored, 2);
    assert_false(v->has_group);
    assert_string_equal(v->group_column, "grp");
    fixture_free(&f);
}

static void expected_scores_of_a_scores_file(void **state)
{
    (void)state;
    fixture f;
    sj_error err;
    sj_validate_options o = {0};
    validate(&f,
             "person_id,item_id,response,score,score_mode\n"
             "p1,i1,a,2.5,3\np1,i2,b,3.5,3\np1,i3,c,0.25,1.5\n",
             &o, &err);
    sj_validation *v = f.v;
    assert_non_null(v);
    assert_int_equal(v->n_defects, 2);
    assert_string_equal(v->messages[0], "data.csv:3:4: expected score 3.5 is outside the "
                                        "instrument's range 0..3 (column 'score')");
    assert_memory_equal(v->messages[1], "data.csv:4:5: column 'score_mode'", 33);
    assert_true(v->score_columns[0].expected);
    assert_int_equal(v->score_columns[0].n_scored, 2);
    assert_false(v->score_columns[2].expected);
    assert_int_equal(v->score_columns[2].n_scored, 2);
    fixture_free(&f);
}

static void unreadable_structure_stops(void **state)
{
    (void)state;
    fixture f;
    sj_error err;
    sj_validate_options o = {0};
    validate(&f, "id,item_id,response\np1,i1,a\n", &o, &err);
    assert_null(f.v);
    assert_int_equal(err.status, SJ_ERR_INPUT);
    assert_string_equal(err.msg, "data.csv:1: missing column 'person_id' (the header has 'id', "
                                 "'item_id', 'response')");
    fixture_free(&f);
    validate(&f, "person_id,item_id,response\n", &o, &err);
    assert_null(f.v);
    assert_string_equal(err.msg, "data.csv:2: no data rows after the header");
    fixture_free(&f);
}

static void score_column_check_names_value_and_range(void **state)
{
    (void)state;
    fixture f;
    sj_error err;
    sj_validate_options o = {0};
    validate(&f, "person_id,h\np1,3\np1,9\np1,-1\n", &o, &err);
    sj_error_clear(&err);
    assert_int_equal(sj_check_score_column(f.t, 1, f.ins, &err), SJ_ERR_INPUT);
    assert_string_equal(
        err.msg, "data.csv:3:2: score 9 is outside the instrument's range 0..3 (column 'h')");
    fixture_free(&f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(clean_file_summary),
        cmocka_unit_test(every_defect_in_file_order),
        cmocka_unit_test(cap_keeps_the_first_defects_in_file_order),
        cmocka_unit_test(named_columns_must_exist),
        cmocka_unit_test(expected_scores_of_a_scores_file),
        cmocka_unit_test(unreadable_structure_stops),
        cmocka_unit_test(score_column_check_names_value_and_range),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
