/* The lexical model's JSON: written, printed, parsed and read back it
 * scores bit for bit as the fitted model and writes the same text again;
 * every corrupted key is an input error naming the file and the key. */
#include "test_helpers.h"

#include <math.h>

#include "sjtalign/io.h"
#include "sjtalign/lexical.h"

static const char *TOY_INSTRUMENT =
    "{\"id\": \"toy\", \"title\": \"Toy\", \"score_min\": 0, \"score_max\": 2, \"items\": ["
    "{\"id\": \"Q1\", \"scenario\": \"s\", \"question\": \"What is alpha?\", \"rubric\": ["
    "{\"score\": 2, \"anchor\": \"Alpha, beta and gamma.\"}, {\"score\": 0, \"anchor\": "
    "\"delta\"}]},"
    "{\"id\": \"Q2\", \"scenario\": \"s\", \"question\": \"Why?\", \"rubric\": ["
    "{\"score\": 2, \"anchor\": \"gamma\"}]}]}";

static const char *TOY_ITEMS[] = {"Q1", "Q1", "Q1"};
static const char *TOY_TEXTS[] = {"beta gamma", "beta delta", "delta"};
static const int TOY_SCORES[] = {2, 1, 0};

static sj_lex_model *toy_model(sj_instrument **ins)
{
    sj_error err;
    sj_error_clear(&err);
    cJSON *doc = cJSON_Parse(TOY_INSTRUMENT);
    *ins = sj_instrument_from_json("toy", doc, &err);
    cJSON_Delete(doc);
    assert_non_null(*ins);
    sj_lex_model *m = sj_lex_fit(*ins, TOY_ITEMS, TOY_TEXTS, TOY_SCORES, 3, NULL, &err);
    assert_non_null(m);
    return m;
}

/* Through text and back, as a file would go. */
static sj_lex_model *round_trip(const sj_lex_model *m, char **text)
{
    cJSON *doc = sj_lex_to_json(m);
    assert_non_null(doc);
    *text = cJSON_Print(doc);
    cJSON_Delete(doc);
    sj_error err;
    sj_error_clear(&err);
    cJSON *back = sj_json_parse("model.json", *text, &err);
    assert_non_null(back);
    sj_lex_model *m2 = sj_lex_from_json(back, "model.json", &err);
    cJSON_Delete(back);
    if (!m2)
        fail_msg("%s", err.msg);
    return m2;
}

static void expect_same_scores(const sj_lex_model *a, const sj_lex_model *b, const char *item,
                               const char *text)
{
    double pa[16], pb[16], xa[SJ_LEX_N_FEATURES], xb[SJ_LEX_N_FEATURES];
    sj_error err;
    sj_error_clear(&err);
    assert_int_equal(sj_lex_probs(a, item, text, pa, &err), SJ_OK);
    assert_int_equal(sj_lex_probs(b, item, text, pb, &err), SJ_OK);
    assert_int_equal(sj_lex_features(a, item, text, xa, &err), SJ_OK);
    assert_int_equal(sj_lex_features(b, item, text, xb, &err), SJ_OK);
    if (memcmp(pa, pb, (size_t)sj_lex_n_levels(a) * sizeof *pa) != 0 ||
        memcmp(xa, xb, sizeof xa) != 0)
        fail_msg("item %s, text '%.60s': scores differ after the round trip", item, text);
}

static void test_toy_round_trip(void **state)
{
    (void)state;
    sj_instrument *ins;
    sj_lex_model *m = toy_model(&ins);
    char *text, *text2;
    sj_lex_model *m2 = round_trip(m, &text);
    sj_lex_model *m3 = round_trip(m2, &text2);
    assert_string_equal(text, text2);
    const char *texts[] = {
        "beta gamma", "delta", "Beta, delta!", "alpha beta gamma omega", "", "unseen words only"};
    const char *items[] = {"Q1", "Q2", "Q9"};
    for (size_t i = 0; i < 3; i++)
        for (size_t t = 0; t < sizeof texts / sizeof texts[0]; t++)
            expect_same_scores(m, m2, items[i], texts[t]);
    /* A document never printed (raw exact numbers) reads the same. */
    cJSON *doc = sj_lex_to_json(m);
    sj_error err;
    sj_error_clear(&err);
    sj_lex_model *m4 = sj_lex_from_json(doc, "memory", &err);
    assert_non_null(m4);
    expect_same_scores(m, m4, "Q1", "Beta, delta!");
    sj_lex_free(m4);
    cJSON_Delete(doc);
    assert_int_equal(sj_lex_has_item(m2, "Q1"), 1);
    assert_int_equal(sj_lex_has_item(m2, "Q2"), 0);
    free(text);
    free(text2);
    sj_lex_free(m);
    sj_lex_free(m2);
    sj_lex_free(m3);
    sj_instrument_free(ins);
}

/* The demo's first 3000 responses: a realistic vocabulary and banks. */
static void test_demo_round_trip(void **state)
{
    (void)state;
    sj_error err;
    sj_error_clear(&err);
    sj_instrument *ins = sj_instrument_load("data/demo/instrument.json", &err);
    sj_table *t = sj_table_read("data/demo/responses.csv", &err);
    assert_non_null(ins);
    assert_non_null(t);
    size_t n = t->n_rows < 3000 ? t->n_rows : 3000;
    long ci = sj_table_column(t, "item_id", &err), ct = sj_table_column(t, "response", &err),
         cs = sj_table_column(t, "rater_1", &err);
    assert_true(ci >= 0 && ct >= 0 && cs >= 0);
    const char **items = malloc(n * sizeof *items), **texts = malloc(n * sizeof *texts);
    int *scores = malloc(n * sizeof *scores);
    for (size_t i = 0; i < n; i++) {
        items[i] = sj_table_cell(t, i, (size_t)ci);
        texts[i] = sj_table_cell(t, i, (size_t)ct);
        scores[i] = atoi(sj_table_cell(t, i, (size_t)cs));
    }
    sj_lex_model *m = sj_lex_fit(ins, items, texts, scores, n, NULL, &err);
    assert_non_null(m);
    char *text;
    sj_lex_model *m2 = round_trip(m, &text);
    for (size_t i = 0; i < t->n_rows; i += 7)
        expect_same_scores(m, m2, sj_table_cell(t, i, (size_t)ci), sj_table_cell(t, i, (size_t)ct));
    free(text);
    free(items);
    free(texts);
    free(scores);
    sj_lex_free(m);
    sj_lex_free(m2);
    sj_table_free(t);
    sj_instrument_free(ins);
}

typedef void (*corruption)(cJSON *doc);

static cJSON *at(cJSON *doc, const char *path)
{
    /* "items/0/bank/0" */
    char buf[128];
    snprintf(buf, sizeof buf, "%s", path);
    cJSON *v = doc;
    for (char *tok = strtok(buf, "/"); tok; tok = strtok(NULL, "/"))
        v = cJSON_IsArray(v) ? cJSON_GetArrayItem(v, atoi(tok))
                             : cJSON_GetObjectItemCaseSensitive(v, tok);
    assert_non_null(v);
    return v;
}

/* Replaces the value at path ("a/b/0/c") with a number. */
static void set_number(cJSON *doc, const char *path, double value)
{
    char parent[128];
    snprintf(parent, sizeof parent, "%s", path);
    char *slash = strrchr(parent, '/');
    const char *last = slash ? slash + 1 : path;
    cJSON *up = doc;
    if (slash) {
        *slash = '\0';
        up = at(doc, parent);
    }
    if (cJSON_IsArray(up))
        cJSON_ReplaceItemInArray(up, atoi(last), cJSON_CreateNumber(value));
    else
        cJSON_ReplaceItemInObject(up, last, cJSON_CreateNumber(value));
}

static double value_at(cJSON *doc, const char *path)
{
    cJSON *v = at(doc, path);
    return cJSON_IsRaw(v) ? strtod(v->valuestring, NULL) : v->valuedouble;
}

static void no_format(cJSON *d)
{
    cJSON_DeleteItemFromObject(d, "format");
}
static void other_format(cJSON *d)
{
    cJSON_ReplaceItemInObject(d, "format", cJSON_CreateString("sjtalign-lm"));
}
static void version_2(cJSON *d)
{
    set_number(d, "format_version", 2);
}
static void bank_n_zero(cJSON *d)
{
    set_number(d, "items/0/bank/0/n", 0);
}
static void bank_unknown_word(cJSON *d)
{
    cJSON_ReplaceItemInObject(at(d, "items/0/bank/0"), "words", cJSON_CreateString("zzz"));
}
static void terms_unsorted(cJSON *d)
{
    cJSON *terms = at(d, "vocabulary/terms");
    cJSON_ReplaceItemInArray(terms, 1, cJSON_CreateString("aaa"));
}
static void feature_renamed(cJSON *d)
{
    cJSON_ReplaceItemInObject(at(d, "features/2"), "name", cJSON_CreateString("recall"));
}
static void thresholds_down(cJSON *d)
{
    set_number(d, "thresholds/1", value_at(d, "thresholds/0") - 1);
}
static void grand_mean_off(cJSON *d)
{
    set_number(d, "grand_mean", 1.5);
}
static void bank_twice(cJSON *d)
{
    cJSON *bank = at(d, "items/0/bank");
    cJSON_AddItemToArray(bank, cJSON_Duplicate(cJSON_GetArrayItem(bank, 0), 1));
}
static void neighbours_zero(cJSON *d)
{
    set_number(d, "opts/neighbours", 0);
}
static void sd_negative(cJSON *d)
{
    set_number(d, "features/0/sd", -1);
}
static void anchor_score_high(cJSON *d)
{
    set_number(d, "items/0/anchors/0/score", 7);
}

static void test_corrupted(void **state)
{
    (void)state;
    static const struct {
        corruption apply;
        const char *message;
    } CASES[] = {
        {no_format, "model.json: key 'format': expected a string"},
        {other_format, "key 'format': expected \"sjtalign-lexical-model\", got \"sjtalign-lm\""},
        {version_2, "key 'format_version': this sjtalign reads version 1, got 2"},
        {bank_n_zero, "key 'items[0].bank[0].n': expected a whole number from 1 to 3"},
        {bank_unknown_word, "key 'items[0].bank[0].words': word 'zzz' is not in the vocabulary"},
        {terms_unsorted, "key 'vocabulary.terms[1]': terms must be sorted and distinct"},
        {feature_renamed,
         "key 'features[2]': expected the feature \"anchor_recall\", got \"recall\""},
        {thresholds_down, "key 'thresholds[1]': expected increasing finite numbers"},
        {grand_mean_off, "key 'grand_mean': expected the mean of the banks' scores, 1"},
        {bank_twice, "key 'items[0].bank': two entries hold the same words"},
        {neighbours_zero, "key 'opts.neighbours': expected a whole number from 1 to 1000"},
        {sd_negative, "key 'features[0].sd': expected a number from 0"},
        {anchor_score_high, "key 'items[0].anchors[0].score': expected a whole number from 0 "
                            "to 2"},
    };
    sj_instrument *ins;
    sj_lex_model *m = toy_model(&ins);
    cJSON *good = sj_lex_to_json(m);
    for (size_t c = 0; c < sizeof CASES / sizeof CASES[0]; c++) {
        cJSON *doc = cJSON_Duplicate(good, 1);
        CASES[c].apply(doc);
        sj_error err;
        sj_error_clear(&err);
        sj_lex_model *bad = sj_lex_from_json(doc, "model.json", &err);
        if (bad || err.status != SJ_ERR_INPUT || !strstr(err.msg, CASES[c].message))
            fail_msg("case %zu: want '%s', got '%s'", c, CASES[c].message, err.msg);
        cJSON_Delete(doc);
    }
    sj_error err;
    sj_error_clear(&err);
    cJSON *arr = cJSON_CreateArray();
    assert_null(sj_lex_from_json(arr, "model.json", &err));
    assert_non_null(strstr(err.msg, "model.json: expected a JSON object"));
    cJSON_Delete(arr);
    cJSON_Delete(good);
    sj_lex_free(m);
    sj_instrument_free(ins);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_toy_round_trip),
        cmocka_unit_test(test_demo_round_trip),
        cmocka_unit_test(test_corrupted),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
