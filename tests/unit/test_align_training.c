/* What a scorer was trained on (src/align/training.c): counting words, the
 * block sft writes from its training rows, merged with its init's, and
 * reading it back for `score`. */
#include "test_helpers.h"

#include "../../src/align/align_internal.h"

static void words_are_runs_of_non_blanks(void **state)
{
    (void)state;
    assert_int_equal(sja_count_words(""), 0);
    assert_int_equal(sja_count_words(" \t\n "), 0);
    assert_int_equal(sja_count_words("one"), 1);
    assert_int_equal(sja_count_words("  I would\thelp,\r\nthem.  "), 4);
    assert_int_equal(sja_count_words("a,b;c"), 1);
}

/* A model whose config.json is the given text (only the config is read). */
typedef struct {
    sj_lm_checkpoint ck;
    sja_model m;
} fake_model;

static void fake_model_init(fake_model *f, const char *config)
{
    memset(f, 0, sizeof *f);
    f->ck.config = cJSON_Parse(config);
    assert_non_null(f->ck.config);
    f->m.ck = &f->ck;
    static char path[] = "runs/x";
    f->m.path = path;
}

static void read_sorts_items_and_finds_them(void **state)
{
    (void)state;
    fake_model f;
    fake_model_init(&f, "{\"provenance\": {\"stage\": \"sft\", \"training\": {\"items\": [\"S2\", "
                        "\"S10\", \"S2\", \"A\"], \"n_rows\": 44, \"max_response_chars\": 37, "
                        "\"max_response_words\": 7}}}");
    sja_training t;
    int found = -1;
    sj_error err;
    assert_int_equal(sja_training_read(&f.m, &t, &found, &err), SJ_OK);
    assert_int_equal(found, 1);
    assert_int_equal(t.n_items, 3);
    assert_string_equal(t.items[0], "A");
    assert_string_equal(t.items[1], "S10");
    assert_string_equal(t.items[2], "S2");
    assert_int_equal(t.n_rows, 44);
    assert_int_equal(t.max_response_chars, 37);
    assert_int_equal(t.max_response_words, 7);
    assert_true(sja_training_has_item(&t, "S2"));
    assert_true(sja_training_has_item(&t, "A"));
    assert_false(sja_training_has_item(&t, "S1"));
    assert_false(sja_training_has_item(&t, "s2"));
    sja_training_free(&t);
    cJSON_Delete(f.ck.config);
}

static void missing_block_is_not_found(void **state)
{
    (void)state;
    fake_model f;
    fake_model_init(&f, "{\"provenance\": {\"command\": \"pretrain\"}}");
    sja_training t;
    int found = -1;
    sj_error err;
    assert_int_equal(sja_training_read(&f.m, &t, &found, &err), SJ_OK);
    assert_int_equal(found, 0);
    assert_int_equal(t.n_items, 0);
    assert_false(sja_training_has_item(&t, "A"));
    sja_training_free(&t);
    cJSON_Delete(f.ck.config);
}

static void damaged_blocks_are_input_errors(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "{\"items\": \"A\", \"n_rows\": 1, \"max_response_chars\": 1, \"max_response_words\": 1}",
        "{\"items\": [1], \"n_rows\": 1, \"max_response_chars\": 1, \"max_response_words\": 1}",
        "{\"items\": [\"A\"], \"n_rows\": -1, \"max_response_chars\": 1, \"max_response_words\": "
        "1}",
        "{\"items\": [\"A\"], \"n_rows\": 1, \"max_response_chars\": 1.5, \"max_response_words\": "
        "1}",
        "{\"items\": [\"A\"], \"n_rows\": 1, \"max_response_chars\": 1}",
        "[]"};
    for (size_t k = 0; k < sizeof bad / sizeof *bad; k++) {
        char *config = sj_asprintf("{\"provenance\": {\"training\": %s}}", bad[k]);
        fake_model f;
        fake_model_init(&f, config);
        sja_training t;
        int found = 0;
        sj_error err;
        assert_int_equal(sja_training_read(&f.m, &t, &found, &err), SJ_ERR_INPUT);
        assert_non_null(strstr(err.msg, "runs/x/config.json: provenance.training is not"));
        sja_training_free(&t);
        cJSON_Delete(f.ck.config);
        free(config);
    }
}

static const char *INSTRUMENT =
    "{\"id\": \"t\", \"title\": \"T\", \"score_min\": 0, \"score_max\": 3, \"items\": ["
    "{\"id\": \"A\", \"scenario\": \"s\", \"question\": \"Q?\", \"rubric\": [{\"score\": 0, "
    "\"anchor\": \"x\"}]},"
    "{\"id\": \"B\", \"scenario\": \"s\", \"question\": \"Q?\", \"rubric\": [{\"score\": 0, "
    "\"anchor\": \"x\"}]},"
    "{\"id\": \"C\", \"scenario\": \"s\", \"question\": \"Q?\", \"rubric\": [{\"score\": 0, "
    "\"anchor\": \"x\"}]}]}";

/* Rows 0-3 of the data: B "I would help." (13 bytes, 3 words), A "Yes."
 * (4, 1), B "one two three four five" (23, 5), C "a  b" (4, 2). */
static const char *DATA = "person_id,item_id,response,score\n"
                          "p1,B,I would help.,1\n"
                          "p1,A,Yes.,2\n"
                          "p2,B,one two three four five,0\n"
                          "p2,C,a  b,3\n";

static void block_counts_the_given_rows_and_merges_the_init(void **state)
{
    (void)state;
    char *dir = test_mkdtemp();
    char *ins_path = sj_path_join(dir, "instrument.json");
    char *data_path = sj_path_join(dir, "data.csv");
    test_write_text(ins_path, INSTRUMENT, strlen(INSTRUMENT));
    test_write_text(data_path, DATA, strlen(DATA));
    sj_error err;
    sj_instrument *ins = sj_instrument_load(ins_path, &err);
    assert_non_null(ins);
    sj_columns cols = {0};
    sj_columns_defaults(&cols);
    sj_responses *r = sj_responses_load(data_path, &cols, ins, SJ_NEED_TEXT | SJ_NEED_SCORE, &err);
    assert_non_null(r);

    /* rows 0 and 1 only: items A and B, 2 rows, 13 bytes, 3 words */
    const size_t rows[2] = {1, 0};
    cJSON *block = sja_training_block(ins, r, rows, 2, NULL);
    char *text = cJSON_PrintUnformatted(block);
    assert_string_equal(text, "{\"items\":[\"A\",\"B\"],\"n_rows\":2,\"max_response_chars\":13,"
                              "\"max_response_words\":3}");
    free(text);
    cJSON_Delete(block);

    /* an init trained on C and Z, 10 rows, at most 9 bytes and 4 words,
     * merged with rows 2 and 3: items B, C, Z; 12 rows; 23 bytes; 5 words */
    fake_model init;
    fake_model_init(&init,
                    "{\"provenance\": {\"training\": {\"items\": [\"Z\", \"C\"], \"n_rows\": "
                    "10, \"max_response_chars\": 9, \"max_response_words\": 4}}}");
    const size_t more[2] = {2, 3};
    block = sja_training_block(ins, r, more, 2, &init.m);
    text = cJSON_PrintUnformatted(block);
    assert_string_equal(text,
                        "{\"items\":[\"B\",\"C\",\"Z\"],\"n_rows\":12,\"max_response_chars\":23,"
                        "\"max_response_words\":5}");
    free(text);

    /* ppo and dpo copy the init's block; other stages do not */
    cJSON *prov = cJSON_CreateObject();
    sja_training_inherit(prov, "reward", &init.m);
    assert_null(cJSON_GetObjectItemCaseSensitive(prov, "training"));
    sja_training_inherit(prov, "dpo", &init.m);
    const cJSON *copied = cJSON_GetObjectItemCaseSensitive(prov, "training");
    const cJSON *orig = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(init.ck.config, "provenance"), "training");
    assert_true(cJSON_Compare(copied, orig, 1));
    cJSON_Delete(prov);

    cJSON_Delete(block);
    cJSON_Delete(init.ck.config);
    sj_responses_free(r);
    sj_instrument_free(ins);
    free(ins_path);
    free(data_path);
    test_rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(words_are_runs_of_non_blanks),
        cmocka_unit_test(read_sorts_items_and_finds_them),
        cmocka_unit_test(missing_block_is_not_found),
        cmocka_unit_test(damaged_blocks_are_input_errors),
        cmocka_unit_test(block_counts_the_given_rows_and_merges_the_init),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
