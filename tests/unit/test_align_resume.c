/* Stopping and resuming a training stage through the library (sja_sft with
 * its sja_run_control): an interrupt flag stops at the next step boundary
 * with a checkpoint, a stop at the last step is no stop, resuming gives the
 * bytes of an uninterrupted run, and other options are refused. */
#include "test_helpers.h"

#include "sjtalign/align.h"

static const char *INSTRUMENT =
    "{\"id\": \"r\", \"title\": \"R\", \"score_min\": 0, \"score_max\": 3, \"items\": ["
    "{\"id\": \"A\", \"scenario\": \"s\", \"question\": \"Now?\", \"rubric\": ["
    "{\"score\": 0, \"anchor\": \"none\"}]},"
    "{\"id\": \"B\", \"scenario\": \"s\", \"question\": \"Then?\", \"rubric\": ["
    "{\"score\": 3, \"anchor\": \"all\"}]}]}";

static const char *WORDS[4] = {"never", "rarely", "often", "always"};

typedef struct {
    char *dir;
    char *instrument_path;
    char *data_path;
    char *base;
    sj_instrument *ins;
    sj_responses *data;
} fixture;

static fixture F;

/* 12 persons x 2 items; person p answers with word (p + item) mod 4, which
 * is also the human score. */
static void write_data(void)
{
    sj_buf b = {0};
    sj_buf_printf(&b, "person_id,item_id,response,score\n");
    for (int p = 0; p < 12; p++)
        for (int i = 0; i < 2; i++)
            sj_buf_printf(&b, "P%02d,%s,I would %s help.,%d\n", p, i ? "B" : "A",
                          WORDS[(p + i) % 4], (p + i) % 4);
    F.data_path = sj_path_join(F.dir, "responses.csv");
    test_write_text(F.data_path, b.data, b.len);
    sj_buf_free(&b);
}

/* A random tiny model with a tokenizer trained on the prompts. */
static void write_base_model(void)
{
    char *owned[4];
    const char *texts[4];
    for (int k = 0; k < 4; k++) {
        char resp[48];
        snprintf(resp, sizeof resp, "I would %s help.", WORDS[k]);
        owned[k] = sja_prompt_text(F.ins, (size_t)(k % 2), resp);
        texts[k] = owned[k];
    }
    sj_error err;
    sj_tokenizer *tok = sj_tokenizer_train(texts, NULL, 4, 290, &err);
    assert_non_null(tok);
    sj_lm_config cfg = {
        .vocab = sj_tokenizer_vocab_size(tok), .ctx = 32, .layers = 1, .heads = 2, .embd = 16};
    gsl_rng *rng = sj_rng_new(7);
    sj_lm *m = sj_lm_new(&cfg, rng, &err);
    assert_non_null(m);
    F.base = sj_path_join(F.dir, "base");
    sj_lm_save_opts so = {.tok = tok};
    assert_int_equal(sj_lm_save(F.base, m, &so, &err), SJ_OK);
    sj_lm_free(m);
    sj_rng_free(rng);
    sj_tokenizer_free(tok);
    for (int k = 0; k < 4; k++)
        free(owned[k]);
}

static int setup(void **state)
{
    (void)state;
    F.dir = test_mkdtemp();
    F.instrument_path = sj_path_join(F.dir, "instrument.json");
    test_write_text(F.instrument_path, INSTRUMENT, strlen(INSTRUMENT));
    sj_error err;
    F.ins = sj_instrument_load(F.instrument_path, &err);
    assert_non_null(F.ins);
    write_data();
    sj_columns cols = {0};
    F.data = sj_responses_load(F.data_path, &cols, F.ins, SJ_NEED_TEXT | SJ_NEED_SCORE, &err);
    assert_non_null(F.data);
    write_base_model();
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    sj_responses_free(F.data);
    sj_instrument_free(F.ins);
    free(F.instrument_path);
    free(F.data_path);
    free(F.base);
    test_rmdir(F.dir);
    return 0;
}

static sja_sft_opts small_opts(long steps)
{
    sja_sft_opts o = sja_sft_defaults();
    o.steps = steps;
    o.batch = 4;
    o.eval_every = 2;
    o.val_fraction = 0.2;
    o.quiet = 1;
    return o;
}

/* Runs sft from the base model into dir/name; returns the status and the
 * error text in msg. */
static sj_status run_sft(const char *name, const sja_sft_opts *o, char *msg, size_t n)
{
    sj_error err;
    sj_error_clear(&err);
    sja_model *m = sja_model_load(F.base, F.ins, &err);
    assert_non_null(m);
    char *out = sj_path_join(F.dir, name);
    sj_status st = sja_sft(m, F.ins, F.instrument_path, F.data, F.data_path, o, out, NULL, &err);
    if (msg)
        snprintf(msg, n, "%s", err.msg);
    free(out);
    sja_model_free(m);
    return st;
}

static char *read_model_file(const char *name, const char *file, size_t *len)
{
    char *dir = sj_path_join(F.dir, name);
    char *path = sj_path_join(dir, file);
    char *data = NULL;
    sj_error err;
    assert_int_equal(sj_read_file(path, &data, len, &err), SJ_OK);
    free(path);
    free(dir);
    return data;
}

/* The "resume" object of a model's config.json, or NULL (caller deletes the
 * returned root in *root). */
static const cJSON *resume_state(const char *name, cJSON **root)
{
    size_t len;
    char *text = read_model_file(name, "config.json", &len);
    *root = cJSON_Parse(text);
    free(text);
    assert_non_null(*root);
    return cJSON_GetObjectItemCaseSensitive(*root, "resume");
}

static void assert_same_weights(const char *a, const char *b)
{
    size_t na, nb;
    char *da = read_model_file(a, "model.safetensors", &na);
    char *db = read_model_file(b, "model.safetensors", &nb);
    assert_int_equal(na, nb);
    assert_memory_equal(da, db, na);
    free(da);
    free(db);
}

static void interrupt_flag_stops_after_the_step_then_resume_matches(void **state)
{
    (void)state;
    sja_sft_opts whole = small_opts(6);
    assert_int_equal(run_sft("whole", &whole, NULL, 0), SJ_OK);

    /* The flag is already set when training starts: the loop reads it at the
     * first step boundary, so exactly one step is done. */
    volatile sig_atomic_t flag = 1;
    long stopped = -1;
    sja_sft_opts o = small_opts(6);
    o.run.interrupted = &flag;
    o.run.stopped_at = &stopped;
    assert_int_equal(run_sft("parts", &o, NULL, 0), SJ_OK);
    assert_int_equal(stopped, 1);
    cJSON *root;
    const cJSON *rs = resume_state("parts", &root);
    assert_non_null(rs);
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(rs, "stage")->valuestring, "sft");
    assert_int_equal((int)cJSON_GetObjectItemCaseSensitive(rs, "step")->valuedouble, 1);
    assert_int_equal((int)cJSON_GetObjectItemCaseSensitive(rs, "steps")->valuedouble, 6);
    cJSON_Delete(root);

    /* Continue in two more pieces: steps 2-4 (stop_after 4), then to 6. */
    flag = 0;
    o.run.resume = 1;
    o.run.stop_after = 4;
    assert_int_equal(run_sft("parts", &o, NULL, 0), SJ_OK);
    assert_int_equal(stopped, 4);
    o.run.stop_after = 0;
    assert_int_equal(run_sft("parts", &o, NULL, 0), SJ_OK);
    assert_int_equal(stopped, 0);
    rs = resume_state("parts", &root);
    assert_null(rs);
    cJSON_Delete(root);
    assert_same_weights("whole", "parts");
}

/* keep_best through a stop and --resume: the kept copy travels with the
 * checkpoint, and the result names the same kept step. */
static void keep_best_resume_matches(void **state)
{
    (void)state;
    sja_sft_opts whole = small_opts(6);
    whole.keep_best = 1;
    whole.eval_every = 1;
    assert_int_equal(run_sft("best_whole", &whole, NULL, 0), SJ_OK);
    long stopped = -1;
    sja_sft_opts o = whole;
    o.run.stop_after = 3;
    o.run.stopped_at = &stopped;
    assert_int_equal(run_sft("best_parts", &o, NULL, 0), SJ_OK);
    assert_int_equal(stopped, 3);
    o.run.stop_after = 0;
    o.run.resume = 1;
    assert_int_equal(run_sft("best_parts", &o, NULL, 0), SJ_OK);
    assert_int_equal(stopped, 0);
    assert_same_weights("best_whole", "best_parts");
    cJSON *a, *b;
    resume_state("best_whole", &a);
    resume_state("best_parts", &b);
    const cJSON *ka = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(a, "provenance"), "keep_best");
    const cJSON *kb = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(b, "provenance"), "keep_best");
    assert_non_null(ka);
    assert_true(cJSON_Compare(ka, kb, 1));
    /* six evaluations, one after each step */
    assert_int_equal((int)cJSON_GetObjectItemCaseSensitive(ka, "evaluations")->valuedouble, 6);
    cJSON_Delete(a);
    cJSON_Delete(b);
}

static void stop_at_the_last_step_is_no_stop(void **state)
{
    (void)state;
    long stopped = -1;
    sja_sft_opts o = small_opts(3);
    o.run.stop_after = 3;
    o.run.stopped_at = &stopped;
    assert_int_equal(run_sft("last", &o, NULL, 0), SJ_OK);
    assert_int_equal(stopped, 0);
    cJSON *root;
    assert_null(resume_state("last", &root));
    cJSON_Delete(root);
}

static void resume_refuses_other_options(void **state)
{
    (void)state;
    long stopped = 0;
    sja_sft_opts o = small_opts(5);
    o.run.stop_after = 2;
    o.run.stopped_at = &stopped;
    assert_int_equal(run_sft("other", &o, NULL, 0), SJ_OK);
    assert_int_equal(stopped, 2);
    o.run.stop_after = 0;
    o.run.resume = 1;
    o.seed = 2;
    char msg[sizeof((sj_error *)0)->msg];
    assert_int_equal(run_sft("other", &o, msg, sizeof msg), SJ_ERR_INPUT);
    assert_non_null(strstr(msg, "used seed 1, this command 2"));
    /* the checkpoint is untouched */
    cJSON *root;
    const cJSON *rs = resume_state("other", &root);
    assert_non_null(rs);
    assert_int_equal((int)cJSON_GetObjectItemCaseSensitive(rs, "step")->valuedouble, 2);
    cJSON_Delete(root);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(interrupt_flag_stops_after_the_step_then_resume_matches),
        cmocka_unit_test(keep_best_resume_matches),
        cmocka_unit_test(stop_at_the_last_step_is_no_stop),
        cmocka_unit_test(resume_refuses_other_options),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
