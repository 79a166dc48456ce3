/* The reviewer's tables of an audit (src/report/audit_review.c): score
 * levels by group, empirical item curves, the items plotted and the
 * response sample, on a data set small enough to work every value by hand
 * (the comments give the working), and the page's escaping of the sampled
 * response texts. */
#include "test_helpers.h"

#include <math.h>

#include "../../src/report/audit_review.h"
#include "sjtalign/report.h"

static const char INSTRUMENT[] =
    "{\"id\": \"tiny\", \"title\": \"Tiny\", \"score_min\": 0, \"score_max\": 2, \"items\": ["
    "{\"id\": \"A\", \"scenario\": \"s\", \"question\": \"q\", \"rubric\": [{\"score\": 0, "
    "\"anchor\": \"a\"}]},"
    "{\"id\": \"B\", \"scenario\": \"s\", \"question\": \"q\", \"rubric\": [{\"score\": 2, "
    "\"anchor\": \"b\"}]},"
    "{\"id\": \"C\", \"scenario\": \"s\", \"question\": \"q\", \"rubric\": [{\"score\": 1, "
    "\"anchor\": \"c\"}]}]}";

/* Machine (score_mode) and human scores per person and item A, B, C:
 *   R1 0 0 0 / 0 0 0    F0 0 0 0 / 0 1 0
 *   R2 1 1 0 / 1 0 0    F1 0 0 1 / 0 0 1
 *   R3 1 2 1 / 1 0 1    F2 1 0 1 / 1 2 1   (B: the hostile text)
 *   R4 2 2 2 / 2 2 2    F3 2 1 1 / 2 1 1
 *   R0 1 0 1 / 1 0 1    F4 2 1 2 / 2 2 2
 *                       F5 1 2 - / 1 0 -   (no C: incomplete)
 * R0 comes last in the file, so that "first by person id" differs from
 * "first in the file". */
static const char DATA[] =
    "person_id,group,item_id,response,human_score,score_mode\n"
    "R1,ref,A,r1a,0,0\nR1,ref,B,r1b,0,0\nR1,ref,C,r1c,0,0\n"
    "R2,ref,A,r2a,1,1\nR2,ref,B,r2b,0,1\nR2,ref,C,r2c,0,0\n"
    "R3,ref,A,r3a,1,1\nR3,ref,B,r3b,0,2\nR3,ref,C,r3c,1,1\n"
    "R4,ref,A,r4a,2,2\nR4,ref,B,r4b,2,2\nR4,ref,C,r4c,2,2\n"
    "F0,foc,A,f0a,0,0\nF0,foc,B,f0b,1,0\nF0,foc,C,f0c,0,0\n"
    "F1,foc,A,f1a,0,0\nF1,foc,B,f1b,0,0\nF1,foc,C,f1c,1,1\n"
    "F2,foc,A,f2a,1,1\n"
    "F2,foc,B,\"=cmd \"\"quoted\"\" 'single' <script>alert(1)</script> \xe2\x80\xae"
    "reversed\",2,0\n"
    "F2,foc,C,f2c,1,1\n"
    "F3,foc,A,f3a,2,2\nF3,foc,B,f3b,1,1\nF3,foc,C,f3c,1,1\n"
    "F4,foc,A,f4a,2,2\nF4,foc,B,f4b,2,1\nF4,foc,C,f4c,2,2\n"
    "F5,foc,A,f5a,1,1\nF5,foc,B,f5b,0,2\n"
    "R0,ref,A,r0a,1,1\nR0,ref,B,r0b,0,0\nR0,ref,C,r0c,1,1\n";

/* Item B is class CC in the machine's DIF, C class BB in the human
 * scores' DIF, A is neither. */
static const char DOC[] =
    "{\"dif\": {\"items\": ["
    "{\"item\": \"A\", \"type\": \"polytomous\", \"tested\": true, \"smd_over_sd\": 0.02, "
    "\"ets_poly_class\": \"AA\"},"
    "{\"item\": \"B\", \"type\": \"polytomous\", \"tested\": true, \"smd_over_sd\": -0.40, "
    "\"ets_poly_class\": \"CC\"},"
    "{\"item\": \"C\", \"type\": \"polytomous\", \"tested\": true, \"smd_over_sd\": 0.05, "
    "\"ets_poly_class\": \"AA\"}]},"
    "\"human_dif\": {\"items\": ["
    "{\"item\": \"C\", \"type\": \"polytomous\", \"smd_over_sd\": 0.2, \"ets_poly_class\": "
    "\"BB\"}]},"
    "\"settings\": {\"reference\": \"ref\", \"focal\": \"foc\"},"
    "\"instrument\": {\"score_min\": 0, \"score_max\": 2},"
    "\"agreement\": {}}";

typedef struct {
    char *dir;
    sj_instrument *ins;
    sj_responses *resp;
    sj_score_data *machine, *human;
    int matching[3];
    sj_dif_result dif, human_dif;
    rj_review_request q;
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    assert_non_null(f);
    f->dir = test_mkdtemp();
    char ins_path[256], data_path[256];
    snprintf(ins_path, sizeof ins_path, "%s/instrument.json", f->dir);
    snprintf(data_path, sizeof data_path, "%s/scores.csv", f->dir);
    test_write_text(ins_path, INSTRUMENT, strlen(INSTRUMENT));
    test_write_text(data_path, DATA, strlen(DATA));
    sj_error err;
    sj_error_clear(&err);
    f->ins = sj_instrument_load(ins_path, &err);
    assert_non_null(f->ins);
    sj_columns cols = {NULL, NULL, NULL, NULL, "score_mode"};
    sj_columns_defaults(&cols);
    f->resp = sj_responses_load(data_path, &cols, f->ins, SJ_NEED_GROUP | SJ_NEED_SCORE, &err);
    assert_non_null(f->resp);
    f->machine = sj_score_data_from_table(f->resp->table, "person_id", "item_id", "score_mode",
                                          "group", &err);
    f->human = sj_score_data_from_table(f->resp->table, "person_id", "item_id", "human_score",
                                        "group", &err);
    assert_non_null(f->machine);
    assert_non_null(f->human);
    /* Only the fields the review reads: every item matches, on the total. */
    for (int j = 0; j < 3; j++)
        f->matching[j] = 1;
    f->dif.match = SJ_MATCH_TOTAL;
    f->dif.matching = f->matching;
    f->human_dif = f->dif;
    f->q = (rj_review_request){f->resp,
                               f->ins,
                               f->machine,
                               &f->dif,
                               f->human,
                               &f->human_dif,
                               sj_table_find_column(f->resp->table, "human_score"),
                               NULL,
                               "ref",
                               "foc"};
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    sj_score_data_free(f->machine);
    sj_score_data_free(f->human);
    sj_responses_free(f->resp);
    sj_instrument_free(f->ins);
    test_rmdir(f->dir);
    free(f);
    return 0;
}

static cJSON *reviewed(const fixture *f)
{
    cJSON *doc = cJSON_Parse(DOC);
    assert_non_null(doc);
    assert_int_equal(rj_review_add(doc, &f->q), 0);
    return doc;
}

/* The row of `rows` with the given strings (NULL: any) and number. */
static const cJSON *find_row(const cJSON *rows, const char *k1, const char *v1, const char *k2,
                             const char *v2, const char *k3, const char *v3, const char *knum,
                             double num)
{
    const cJSON *row;
    cJSON_ArrayForEach(row, rows)
    {
        const char *keys[3] = {k1, k2, k3}, *values[3] = {v1, v2, v3};
        int ok = 1;
        for (int k = 0; k < 3 && ok; k++)
            ok = !keys[k] || (rj_str(row, keys[k]) && strcmp(rj_str(row, keys[k]), values[k]) == 0);
        if (ok && (!knum || rj_num(row, knum) == num))
            return row;
    }
    return NULL;
}

static double share_of(const cJSON *doc, const char *scorer, const char *item, const char *role,
                       double level)
{
    const cJSON *row = find_row(rj_path(doc, "score_levels", "rows"), "scorer", scorer, "item",
                                item, "role", role, "level", level);
    assert_non_null(row);
    return rj_num(row, "share");
}

/* Pooled over the items: reference machine levels 0/1/2 in 5/6/4 of 15
 * responses (A 1/3/1, B 2/1/2, C 2/2/1); focal machine 6/7/4 of 17 (F5
 * answered two items); reference human 7/5/3 of 15; focal human 5/7/5 of
 * 17. Item B alone, focal machine: 3/2/1 of 6. */
static void test_score_levels(void **state)
{
    fixture *f = *state;
    cJSON *doc = reviewed(f);
    assert_near(share_of(doc, "machine", "all", "reference", 0), 5.0 / 15, 1e-15);
    assert_near(share_of(doc, "machine", "all", "reference", 1), 6.0 / 15, 1e-15);
    assert_near(share_of(doc, "machine", "all", "reference", 2), 4.0 / 15, 1e-15);
    assert_near(share_of(doc, "machine", "all", "focal", 0), 6.0 / 17, 1e-15);
    assert_near(share_of(doc, "machine", "all", "focal", 1), 7.0 / 17, 1e-15);
    assert_near(share_of(doc, "human", "all", "reference", 0), 7.0 / 15, 1e-15);
    assert_near(share_of(doc, "human", "all", "reference", 2), 3.0 / 15, 1e-15);
    assert_near(share_of(doc, "human", "all", "focal", 2), 5.0 / 17, 1e-15);
    assert_near(share_of(doc, "machine", "B", "focal", 0), 3.0 / 6, 1e-15);
    assert_near(share_of(doc, "machine", "B", "focal", 2), 1.0 / 6, 1e-15);
    const cJSON *n = find_row(rj_path(doc, "score_levels", "rows"), "scorer", "human", "item",
                              "all", "role", "focal", "level", 1);
    assert_int_equal((int)rj_num(n, "n"), 7);
    /* Without a truth file there is no "true" scorer. */
    assert_null(find_row(rj_path(doc, "score_levels", "rows"), "scorer", "true", NULL, NULL, NULL,
                         NULL, NULL, 0));
    assert_int_equal(cJSON_GetArraySize(rj_path(doc, "score_levels", "scorers")), 2);
    cJSON_Delete(doc);
}

static void assert_point(const cJSON *doc, const char *item, const char *scorer, const char *role,
                         double m, int n, double mean)
{
    const cJSON *row = find_row(rj_path(doc, "item_curves", "rows"), "item", item, "scorer", scorer,
                                "role", role, "matching_score", m);
    if (!row)
        fail_msg("no point %s %s %s at %g", item, scorer, role, m);
    assert_int_equal((int)rj_num(row, "n"), n);
    assert_near(rj_num(row, "mean_item_score"), mean, 1e-15);
}

static int count_points(const cJSON *doc, const char *item, const char *scorer, const char *role)
{
    int n = 0;
    const cJSON *row;
    cJSON_ArrayForEach(row, rj_path(doc, "item_curves", "rows"))
    {
        n += strcmp(rj_str(row, "item"), item) == 0 && strcmp(rj_str(row, "scorer"), scorer) == 0 &&
             strcmp(rj_str(row, "role"), role) == 0;
    }
    return n;
}

/* Item B on the machine totals A + B + C of the complete persons (F5 left
 * out): reference R1 0, R0 2, R2 2, R3 4, R4 6 with B scores 0, 0, 1, 2,
 * 2; focal F0 0, F1 1, F2 2, F3 4, F4 5 with B 0, 0, 0, 1, 1. On the
 * human totals: reference R1 0, R2 1, R0 2, R3 2, R4 6 with human B 0, 0,
 * 0, 0, 2; focal F0 1, F1 1, F2 4, F3 4, F4 6 with 1, 0, 2, 1, 2. */
static void test_item_curves(void **state)
{
    fixture *f = *state;
    cJSON *doc = reviewed(f);
    assert_point(doc, "B", "machine", "reference", 0, 1, 0);
    assert_point(doc, "B", "machine", "reference", 2, 2, 0.5);
    assert_point(doc, "B", "machine", "reference", 4, 1, 2);
    assert_point(doc, "B", "machine", "reference", 6, 1, 2);
    assert_int_equal(count_points(doc, "B", "machine", "reference"), 4);
    assert_point(doc, "B", "machine", "focal", 0, 1, 0);
    assert_point(doc, "B", "machine", "focal", 1, 1, 0);
    assert_point(doc, "B", "machine", "focal", 2, 1, 0);
    assert_point(doc, "B", "machine", "focal", 4, 1, 1);
    assert_point(doc, "B", "machine", "focal", 5, 1, 1);
    assert_int_equal(count_points(doc, "B", "machine", "focal"), 5);
    assert_point(doc, "B", "human", "reference", 0, 1, 0);
    assert_point(doc, "B", "human", "reference", 1, 1, 0);
    assert_point(doc, "B", "human", "reference", 2, 2, 0);
    assert_point(doc, "B", "human", "reference", 6, 1, 2);
    assert_point(doc, "B", "human", "focal", 1, 2, 0.5);
    assert_point(doc, "B", "human", "focal", 4, 2, 1.5);
    assert_point(doc, "B", "human", "focal", 6, 1, 2);
    assert_int_equal(count_points(doc, "B", "human", "focal"), 3);
    assert_string_equal(rj_str(rj_get(doc, "item_curves"), "match"), "total");
    assert_int_equal((int)rj_num(rj_get(doc, "item_curves"), "min_persons_plotted"), 5);
    cJSON_Delete(doc);
}

/* Under match rest with C purified out of the matching set, item A is
 * matched on B alone: reference R1 0, R0 0, R2 1, R3 2, R4 2 with A
 * scores 0, 1, 1, 1, 2. */
static void test_item_curves_rest_and_purified(void **state)
{
    fixture *f = *state;
    f->dif.match = SJ_MATCH_REST;
    f->matching[2] = 0;
    cJSON *doc = reviewed(f);
    assert_point(doc, "A", "machine", "reference", 0, 2, 0.5);
    assert_point(doc, "A", "machine", "reference", 1, 1, 1);
    assert_point(doc, "A", "machine", "reference", 2, 2, 1.5);
    assert_int_equal(count_points(doc, "A", "machine", "reference"), 3);
    assert_string_equal(rj_str(rj_get(doc, "item_curves"), "match"), "rest");
    cJSON_Delete(doc);
}

/* B is class CC for the machine, C class BB for the human scores; with
 * no item flagged, the item of the largest |effect| (B, 0.40) alone. */
static void test_plotted_items(void **state)
{
    fixture *f = *state;
    cJSON *doc = reviewed(f);
    const cJSON *plotted = rj_path(doc, "item_curves", "plotted");
    assert_int_equal(cJSON_GetArraySize(plotted), 2);
    assert_string_equal(rj_str(cJSON_GetArrayItem(plotted, 0), "item"), "B");
    assert_string_equal(rj_str(cJSON_GetArrayItem(plotted, 0), "reason"), "machine class CC");
    assert_string_equal(rj_str(cJSON_GetArrayItem(plotted, 1), "item"), "C");
    assert_string_equal(rj_str(cJSON_GetArrayItem(plotted, 1), "reason"), "human-score class BB");
    cJSON_Delete(doc);

    cJSON *calm = cJSON_Parse(DOC);
    cJSON *items =
        cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(calm, "dif"), "items");
    cJSON *it;
    cJSON_ArrayForEach(it, items)
    {
        cJSON_ReplaceItemInObject(it, "ets_poly_class", cJSON_CreateString("AA"));
    }
    cJSON_DeleteItemFromObject(calm, "human_dif");
    assert_int_equal(rj_review_add(calm, &f->q), 0);
    plotted = rj_path(calm, "item_curves", "plotted");
    assert_int_equal(cJSON_GetArraySize(plotted), 1);
    assert_string_equal(rj_str(cJSON_GetArrayItem(plotted, 0), "item"), "B");
    assert_string_equal(rj_str(cJSON_GetArrayItem(plotted, 0), "reason"),
                        "largest machine effect (no item flagged)");
    cJSON_Delete(calm);
}

static void assert_sample(const cJSON *row, const char *kind, int set, const char *role,
                          const char *person, double matching, double machine, double human)
{
    assert_non_null(row);
    assert_string_equal(rj_str(row, "item"), "B");
    assert_string_equal(rj_str(row, "kind"), kind);
    assert_int_equal((int)rj_num(row, "set"), set);
    assert_string_equal(rj_str(row, "role"), role);
    assert_string_equal(rj_str(row, "person"), person);
    if (isnan(matching))
        assert_true(cJSON_IsNull(rj_get(row, "matching_score")));
    else
        assert_near(rj_num(row, "matching_score"), matching, 0);
    assert_near(rj_num(row, "machine_score"), machine, 0);
    assert_near(rj_num(row, "human_score"), human, 0);
}

/* Item B. Focal persons by matching score: F0 0, F1 1, F2 2, F3 4, F4 5;
 * nearest ranks ceil(5/4) = 2, ceil(10/4) = 3, ceil(15/4) = 4 give the
 * targets 1, 2 and 4. The strata both groups have: 0, 2, 4. Target 1 is
 * as near 0 as 2: the lower, 0 (F0, R1). Target 2: stratum 2, where the
 * first reference person by id is R0 (before R2, though later in the
 * file). Target 4: F3, R3. Disagreements |machine - human| >= 1:
 * reference R3 (2), R2 (1); focal F2 and F5 (2; F2 first by id; F5 is
 * incomplete: no matching score), then F0 and F4 (1): F0. */
static void test_response_sample(void **state)
{
    fixture *f = *state;
    cJSON *doc = reviewed(f);
    const cJSON *rows = rj_path(doc, "response_sample", "rows");
    assert_string_equal(rj_str(rj_get(doc, "response_sample"), "text_column"), "response");
    assert_sample(cJSON_GetArrayItem(rows, 0), "matched", 1, "focal", "F0", 0, 0, 1);
    assert_sample(cJSON_GetArrayItem(rows, 1), "matched", 1, "reference", "R1", 0, 0, 0);
    assert_sample(cJSON_GetArrayItem(rows, 2), "matched", 2, "focal", "F2", 2, 0, 2);
    assert_sample(cJSON_GetArrayItem(rows, 3), "matched", 2, "reference", "R0", 2, 0, 0);
    assert_sample(cJSON_GetArrayItem(rows, 4), "matched", 3, "focal", "F3", 4, 1, 1);
    assert_sample(cJSON_GetArrayItem(rows, 5), "matched", 3, "reference", "R3", 4, 2, 0);
    assert_sample(cJSON_GetArrayItem(rows, 6), "disagreement", 1, "reference", "R3", 4, 2, 0);
    assert_sample(cJSON_GetArrayItem(rows, 7), "disagreement", 2, "reference", "R2", 2, 1, 0);
    assert_sample(cJSON_GetArrayItem(rows, 8), "disagreement", 1, "focal", "F2", 2, 0, 2);
    assert_sample(cJSON_GetArrayItem(rows, 9), "disagreement", 2, "focal", "F5", NAN, 2, 0);
    assert_sample(cJSON_GetArrayItem(rows, 10), "disagreement", 3, "focal", "F0", 0, 0, 1);
    assert_string_equal(rj_str(cJSON_GetArrayItem(rows, 1), "response"), "r1b");
    assert_string_equal(rj_str(cJSON_GetArrayItem(rows, 2), "response"),
                        "=cmd \"quoted\" 'single' <script>alert(1)</script> \xe2\x80\xaereversed");
    /* Then item C (human-score class BB), whose rows follow B's. */
    assert_string_equal(rj_str(cJSON_GetArrayItem(rows, 11), "item"), "C");
    cJSON_Delete(doc);
}

/* The sampled texts on the page: markup escaped, quotes as character
 * references, the right-to-left override inside an isolate. */
static void test_sample_page_escapes(void **state)
{
    fixture *f = *state;
    cJSON *doc = reviewed(f);
    sj_buf b = {0};
    rj_review_sample_html(&b, doc, 5);
    assert_false(sj_buf_failed(&b));
    assert_null(strstr(b.data, "<script"));
    assert_non_null(strstr(b.data, "<bdi>=cmd &quot;quoted&quot; &#39;single&#39; "
                                   "&lt;script&gt;alert(1)&lt;/script&gt; \xe2\x80\xaereversed"
                                   "</bdi>"));
    assert_non_null(strstr(b.data, "<h2>5. Responses for content review</h2>"));
    sj_buf_free(&b);
    cJSON_Delete(doc);
}

/* The pooled table on the page, level 0: reference human 7/15 = 46.7%,
 * machine 5/15 = 33.3%; focal human 5/17 = 29.4%, machine 6/17 = 35.3%.
 * The largest share, 46.7%, puts the charts' axis at 0 to 50%. */
static void test_levels_page(void **state)
{
    fixture *f = *state;
    cJSON *doc = reviewed(f);
    sj_buf b = {0};
    int figure = 3;
    rj_review_levels_html(&b, doc, &figure);
    assert_false(sj_buf_failed(&b));
    assert_non_null(strstr(b.data, "<tr><th class=\"l\">0</th><td>46.7%</td><td>33.3%</td>"
                                   "<td>29.4%</td><td>35.3%</td></tr>"));
    assert_non_null(strstr(b.data, "Figure 3."));
    assert_non_null(strstr(b.data, "from 0 to 50%"));
    assert_int_equal(figure, 4);
    sj_buf_free(&b);
    cJSON_Delete(doc);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_score_levels, setup, teardown),
        cmocka_unit_test_setup_teardown(test_item_curves, setup, teardown),
        cmocka_unit_test_setup_teardown(test_item_curves_rest_and_purified, setup, teardown),
        cmocka_unit_test_setup_teardown(test_plotted_items, setup, teardown),
        cmocka_unit_test_setup_teardown(test_response_sample, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sample_page_escapes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_levels_page, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
