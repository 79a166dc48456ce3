/* Language model: forward pass against an independent NumPy implementation
 * (tests/lm/reference_forward.py), key/value-cache generation against the
 * full forward pass, checkpoints, the tokenizer, AdamW and the training log. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <gsl/gsl_rng.h>

#include "sjtalign/io.h"
#include "sjtalign/lm.h"

static char tmpdir[256];

static int setup_tmp(void **state)
{
    (void)state;
    snprintf(tmpdir, sizeof tmpdir, "/tmp/sjtalign_test_lm_XXXXXX");
    return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown_tmp(void **state)
{
    (void)state;
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    return system(cmd) == 0 ? 0 : -1;
}

static char *tmp_path(const char *name)
{
    static char buf[4][400];
    static int k;
    k = (k + 1) % 4;
    snprintf(buf[k], sizeof buf[k], "%s/%s", tmpdir, name);
    return buf[k];
}

static sj_tokenizer *small_tokenizer(void)
{
    const char *texts[] = {"the cat sat on the mat", "the dog sat on the log",
                           "a cat and a dog met on the mat"};
    sj_error err;
    sj_tokenizer *tok = sj_tokenizer_train(texts, NULL, 3, 300, &err);
    assert_non_null(tok);
    return tok;
}

/* A model whose parameters spread widely, so logits differ visibly. */
static sj_lm *random_model(const sj_lm_config *cfg, unsigned long seed)
{
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(rng, seed);
    sj_error err;
    sj_lm *m = sj_lm_new(cfg, rng, &err);
    assert_non_null(m);
    for (size_t i = 0; i < m->n_params; i++)
        m->params[i] += (float)(0.2 * (gsl_rng_uniform(rng) - 0.5));
    gsl_rng_free(rng);
    return m;
}

/* Debian's python3 (with python3-numpy) may be shadowed on PATH by another
 * interpreter without NumPy; use whichever has it. */
static const char *python_with_numpy(void)
{
    if (system("/usr/bin/python3 -c 'import numpy' >/dev/null 2>&1") == 0)
        return "/usr/bin/python3";
    if (system("python3 -c 'import numpy' >/dev/null 2>&1") == 0)
        return "python3";
    return NULL;
}

static void test_forward_matches_numpy(void **state)
{
    (void)state;
    const char *python = python_with_numpy();
    /* The independent reference must run: a missing NumPy fails the test
     * instead of letting the strongest check vanish from CI. */
    if (!python)
        fail_msg("python3-numpy is not installed (make deps installs it); the forward pass "
                 "cannot be checked against the NumPy reference");
    sj_lm_config cfg = {.vocab = 300, .ctx = 16, .layers = 2, .heads = 4, .embd = 32};
    sj_lm *m = random_model(&cfg, 7);
    sj_tokenizer *tok = small_tokenizer();
    sj_error err;
    sj_lm_save_opts so = {.tok = tok};
    assert_int_equal(sj_lm_save(tmp_path("np_model"), m, &so, &err), SJ_OK);

    /* three sequences of different lengths, right-padded in one batch */
    const int lens[3] = {16, 9, 3};
    sj_lm_batch *b = sj_lm_batch_new(3, 16);
    sj_lm_batch_clear(b);
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    FILE *tj = fopen(tmp_path("tokens.json"), "w");
    fprintf(tj, "[");
    for (int s = 0; s < 3; s++) {
        int32_t seq[17];
        for (int t = 0; t <= lens[s]; t++)
            seq[t] = (int32_t)gsl_rng_uniform_int(rng, 300);
        assert_int_equal(sj_lm_batch_set(b, s, seq, lens[s] + 1, NULL, &err), SJ_OK);
        fprintf(tj, "%s[", s ? "," : "");
        for (int t = 0; t < lens[s]; t++)
            fprintf(tj, "%s%d", t ? "," : "", seq[t]);
        fprintf(tj, "]");
    }
    fprintf(tj, "]\n");
    fclose(tj);
    float *logits = malloc(3 * 16 * 300 * sizeof(float));
    sj_lm_forward_io io = {.temperature = 1.0f, .logits = logits};
    assert_int_equal(sj_lm_forward(m, b, &io, &err), SJ_OK);
    FILE *lf = fopen(tmp_path("logits.f32"), "wb");
    for (int s = 0; s < 3; s++)
        fwrite(logits + (size_t)s * 16 * 300, sizeof(float), (size_t)lens[s] * 300, lf);
    fclose(lf);
    char cmd[1600];
    snprintf(cmd, sizeof cmd, "%s tests/lm/reference_forward.py '%s' '%s' '%s' 1e-4", python,
             tmp_path("np_model"), tmp_path("tokens.json"), tmp_path("logits.f32"));
    int rc = system(cmd);
    assert_int_equal(rc, 0);
    free(logits);
    gsl_rng_free(rng);
    sj_lm_batch_free(b);
    sj_tokenizer_free(tok);
    sj_lm_free(m);
}

static void test_generate_matches_forward(void **state)
{
    (void)state;
    sj_lm_config cfg = {.vocab = 300, .ctx = 24, .layers = 2, .heads = 2, .embd = 16};
    sj_lm *m = random_model(&cfg, 11);
    int32_t prompt[5] = {3, 40, 41, 42, 2};
    int32_t out[30];
    float lps[30];
    int n_out;
    sj_error err;
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(rng, 5);
    const float tau = 0.8f;
    sj_lm_sample_opts so = {.temperature = tau, .top_k = 50, .max_new = 30, .stop = -1};
    assert_int_equal(sj_lm_generate(m, prompt, 5, &so, rng, out, lps, &n_out, &err), SJ_OK);
    /* the context (24) ends generation: 5 prompt + 20 generated tokens */
    assert_int_equal(n_out, 20);
    int32_t seq[25];
    memcpy(seq, prompt, sizeof prompt);
    memcpy(seq + 5, out, (size_t)n_out * sizeof *out);
    sj_lm_batch *b = sj_lm_batch_new(1, 24);
    assert_int_equal(sj_lm_batch_set(b, 0, seq, 5 + n_out, NULL, &err), SJ_OK);
    float full[24];
    sj_lm_forward_io io = {.temperature = tau, .logprobs = full};
    assert_int_equal(sj_lm_forward(m, b, &io, &err), SJ_OK);
    for (int i = 0; i < n_out; i++)
        assert_float_equal(lps[i], full[4 + i], 1e-4);
    /* same seed, same tokens */
    int32_t again[30];
    gsl_rng_set(rng, 5);
    int n2;
    assert_int_equal(sj_lm_generate(m, prompt, 5, &so, rng, again, NULL, &n2, &err), SJ_OK);
    assert_int_equal(n2, n_out);
    assert_memory_equal(again, out, (size_t)n_out * sizeof *out);
    /* top_k = 1 is greedy: every token is the arg max of the full forward */
    sj_lm_sample_opts greedy = {.temperature = 1.0f, .top_k = 1, .max_new = 6, .stop = -1};
    assert_int_equal(sj_lm_generate(m, prompt, 5, &greedy, rng, out, lps, &n_out, &err), SJ_OK);
    memcpy(seq + 5, out, 6 * sizeof *out);
    assert_int_equal(sj_lm_batch_set(b, 0, seq, 11, NULL, &err), SJ_OK);
    float *logits = malloc(24 * 300 * sizeof(float));
    sj_lm_forward_io lo = {.temperature = 1.0f, .logits = logits};
    assert_int_equal(sj_lm_forward(m, b, &lo, &err), SJ_OK);
    for (int i = 0; i < 6; i++) {
        const float *z = logits + (size_t)(4 + i) * 300;
        int best = 0;
        for (int j = 1; j < 300; j++)
            if (z[j] > z[best])
                best = j;
        assert_int_equal(out[i], best);
    }
    free(logits);
    sj_lm_batch_free(b);
    gsl_rng_free(rng);
    sj_lm_free(m);
}

static void test_checkpoint_round_trip(void **state)
{
    (void)state;
    sj_lm_config cfg = {.vocab = 300, .ctx = 16, .layers = 1, .heads = 2, .embd = 8};
    sj_lm *m = random_model(&cfg, 3);
    sj_tokenizer *tok = small_tokenizer();
    float hw[8] = {1, 2, 3, 4, 5, 6, 7, 8}, hb[1] = {-0.5f};
    sj_lm_tensor extras[2] = {{"head.weight", 1, 8, 1, hw}, {"head.bias", 1, 1, 0, hb}};
    sj_adamw_config ac = sj_adamw_defaults();
    sj_adamw *opt = sj_adamw_new(m->n_params, &ac);
    for (size_t i = 0; i < m->n_params; i++) {
        opt->m[i] = (float)i * 0.5f;
        opt->v[i] = (float)i * 0.25f;
    }
    opt->step = 17;
    sj_lm_log log;
    sj_lm_log_init(&log);
    sj_lm_metric mt[2] = {{"loss", 2.5}, {"val_loss", NAN}};
    sj_error err;
    assert_int_equal(sj_lm_log_append(&log, 1, mt, 2, &err), SJ_OK);
    assert_string_equal(log.text.data, "{\"step\":1,\"loss\":2.5,\"val_loss\":null}\n");
    cJSON *prov = cJSON_CreateObject();
    cJSON_AddStringToObject(prov, "note", "test");
    sj_lm_save_opts so = {
        .tok = tok, .provenance = prov, .extras = extras, .n_extras = 2, .opt = opt, .log = &log};
    const char *dir = tmp_path("ck");
    assert_int_equal(sj_lm_save(dir, m, &so, &err), SJ_OK);
    /* saving again replaces the model in place */
    assert_int_equal(sj_lm_save(dir, m, &so, &err), SJ_OK);

    sj_lm_checkpoint *ck = sj_lm_load(dir, &cfg, 1, &err);
    assert_non_null(ck);
    assert_memory_equal(ck->model->params, m->params, m->n_params * sizeof(float));
    const sj_lm_tensor *x = sj_lm_checkpoint_extra(ck, "head.weight");
    assert_non_null(x);
    assert_int_equal(x->rows * x->cols, 8);
    assert_memory_equal(x->data, hw, sizeof hw);
    x = sj_lm_checkpoint_extra(ck, "head.bias");
    assert_non_null(x);
    assert_float_equal(x->data[0], -0.5f, 0.0f);
    assert_int_equal(ck->opt->step, 17);
    assert_memory_equal(ck->opt->v, opt->v, m->n_params * sizeof(float));
    assert_int_equal(sj_tokenizer_vocab_size(ck->tok), sj_tokenizer_vocab_size(tok));
    const cJSON *p = cJSON_GetObjectItemCaseSensitive(ck->config, "provenance");
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(p, "note")->valuestring, "test");
    sj_lm_checkpoint_free(ck);

    /* another architecture is refused */
    sj_lm_config other = cfg;
    other.layers = 2;
    assert_null(sj_lm_load(dir, &other, 0, &err));
    assert_int_equal(err.status, SJ_ERR_INPUT);
    assert_non_null(strstr(err.msg, "architecture"));

    /* no temporary or backup folders are left beside the model */
    char cmd[600];
    snprintf(cmd, sizeof cmd, "test -z \"$(ls -A '%s' | grep -E '^\\.ck\\.')\"", tmpdir);
    assert_int_equal(system(cmd), 0);

    /* a truncated weights file is rejected (checksum and layout) */
    char *w = sj_path_join(dir, "model.safetensors");
    char *data;
    size_t len;
    assert_int_equal(sj_read_file(w, &data, &len, &err), SJ_OK);
    assert_int_equal(sj_write_file_atomic(w, data, len - 4, &err), SJ_OK);
    assert_null(sj_lm_load(dir, NULL, 0, &err));
    assert_int_equal(err.status, SJ_ERR_INPUT);
    assert_non_null(strstr(err.msg, "checksum"));
    /* a foreign file is rejected */
    const char *zip = "PK\003\004 not a tensor file";
    assert_int_equal(sj_write_file_atomic(w, zip, strlen(zip), &err), SJ_OK);
    assert_null(sj_lm_load(dir, NULL, 0, &err));
    assert_int_equal(err.status, SJ_ERR_INPUT);
    free(data);
    free(w);
    /* a folder that is not a model is never replaced */
    const char *foreign = tmp_path("foreign");
    mkdir(foreign, 0777);
    char *keep = sj_path_join(foreign, "notes.txt");
    assert_int_equal(sj_write_file_atomic(keep, "x", 1, &err), SJ_OK);
    assert_int_equal(sj_lm_save(foreign, m, &so, &err), SJ_ERR_INPUT);
    assert_int_equal(access(keep, F_OK), 0);
    free(keep);

    cJSON_Delete(prov);
    sj_lm_log_free(&log);
    sj_adamw_free(opt);
    sj_tokenizer_free(tok);
    sj_lm_free(m);
}

static void test_tokenizer_hand_example(void **state)
{
    (void)state;
    /* Words "abab" and " abab": pair counts ab 4, ba 2, " a" 1, so merge 1 is
     * (a, b) -> 260. The words become [260 260] and [" " 260 260]: (260, 260)
     * occurs twice, (" ", 260) once, so merge 2 is (260, 260) -> 261. Then no
     * pair occurs twice and training stops at 262 tokens. */
    const char *texts[] = {"abab abab"};
    sj_error err;
    sj_tokenizer *tok = sj_tokenizer_train(texts, NULL, 1, 400, &err);
    assert_non_null(tok);
    assert_int_equal(sj_tokenizer_vocab_size(tok), 262);
    int32_t *ids;
    size_t n;
    /* words "abab", "ab", " a" */
    assert_int_equal(sj_tokenizer_encode(tok, "abab-ab a", 9, &ids, &n, &err), SJ_OK);
    assert_int_equal(n, 5);
    assert_int_equal(ids[0], 261);
    assert_int_equal(ids[1], SJ_TOK_BYTE0 + '-');
    assert_int_equal(ids[2], 260);
    assert_int_equal(ids[3], SJ_TOK_BYTE0 + ' ');
    assert_int_equal(ids[4], SJ_TOK_BYTE0 + 'a');
    free(ids);
    sj_tokenizer_free(tok);
}

static void test_tokenizer_round_trip(void **state)
{
    (void)state;
    const char *texts[] = {
        "Hello, world! Hello again.", "\xc3\xa9t\xc3\xa9 caf\xc3\xa9  \n\t x",
        "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"};
    sj_error err;
    sj_tokenizer *tok = sj_tokenizer_train(texts, NULL, 3, 330, &err);
    assert_non_null(tok);
    assert_true(sj_tokenizer_vocab_size(tok) > 260);
    /* save + load gives the same tokenizer */
    assert_int_equal(sj_tokenizer_save(tok, tmp_path("tok.json"), &err), SJ_OK);
    sj_tokenizer *back = sj_tokenizer_load(tmp_path("tok.json"), &err);
    assert_non_null(back);
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    for (int trial = 0; trial < 200; trial++) {
        char buf[300];
        size_t len = gsl_rng_uniform_int(rng, sizeof buf);
        for (size_t i = 0; i < len; i++)
            buf[i] = trial % 2 ? (char)gsl_rng_uniform_int(rng, 256)
                               : "Hel o,wrd!ac\xc3\xa9 \n\t"[gsl_rng_uniform_int(rng, 16)];
        int32_t *ids, *ids2;
        size_t n, n2, out_len;
        assert_int_equal(sj_tokenizer_encode(tok, buf, len, &ids, &n, &err), SJ_OK);
        assert_int_equal(sj_tokenizer_encode(back, buf, len, &ids2, &n2, &err), SJ_OK);
        assert_int_equal(n, n2);
        assert_memory_equal(ids, ids2, n * sizeof *ids);
        for (size_t i = 0; i < n; i++)
            assert_true(ids[i] >= SJ_TOK_BYTE0);
        char *dec = sj_tokenizer_decode(tok, ids, n, &out_len, &err);
        assert_non_null(dec);
        assert_int_equal(out_len, len);
        assert_memory_equal(dec, buf, len);
        free(dec);
        free(ids);
        free(ids2);
    }
    /* special tokens decode to nothing */
    int32_t sp[3] = {SJ_TOK_BOS, SJ_TOK_BYTE0 + 'x', SJ_TOK_EOS};
    size_t dl;
    char *dec = sj_tokenizer_decode(tok, sp, 3, &dl, &err);
    assert_string_equal(dec, "x");
    free(dec);
    /* a damaged file is refused */
    const char *bad = "{\"type\":\"sjtalign-byte-bpe\",\"version\":1,\"vocab_size\":261,"
                      "\"byte_offset\":4,\"specials\":{\"pad\":0,\"eos\":1,\"sep\":2,\"bos\":3},"
                      "\"merges\":[[4,300]]}";
    assert_int_equal(sj_write_file_atomic(tmp_path("bad.json"), bad, strlen(bad), &err), SJ_OK);
    assert_null(sj_tokenizer_load(tmp_path("bad.json"), &err));
    assert_int_equal(err.status, SJ_ERR_INPUT);
    gsl_rng_free(rng);
    sj_tokenizer_free(back);
    sj_tokenizer_free(tok);
}

static void test_adamw_by_hand(void **state)
{
    (void)state;
    sj_adamw_config c = sj_adamw_defaults();
    c.weight_decay = 0.1;
    sj_adamw *o = sj_adamw_new(2, &c);
    float p[2] = {1.0f, 1.0f}, g[2] = {0.5f, 0.5f};
    uint8_t decay[2] = {1, 0};
    sj_adamw_update(o, p, g, decay, 0.1);
    /* m = 0.05, v = 0.0125; bias-corrected 0.5 and 0.25; step = 0.5 / 0.5 = 1
     * (minus eps), plus decay 0.1 * 1 on the first: 1 - 0.1 * 1.1 = 0.89. */
    assert_float_equal(p[0], 0.89f, 1e-6);
    assert_float_equal(p[1], 0.9f, 1e-6);
    sj_adamw_free(o);
    sj_adamw_config s = {.lr = 1.0, .warmup = 10, .total_steps = 110, .min_lr_frac = 0.1};
    assert_float_equal(sj_lr_at(&s, 0), 0.1, 1e-12);
    assert_float_equal(sj_lr_at(&s, 9), 1.0, 1e-12);
    assert_float_equal(sj_lr_at(&s, 60), 0.55, 1e-12);
    assert_float_equal(sj_lr_at(&s, 110), 0.1, 1e-12);
    float gr[2] = {3.0f, 4.0f};
    assert_float_equal(sj_grad_sq_norm(gr, 2), 25.0, 0.0);
    sj_grad_scale(gr, 2, 0.2f);
    assert_float_equal(gr[1], 0.8f, 1e-7);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_forward_matches_numpy),
        cmocka_unit_test(test_generate_matches_forward),
        cmocka_unit_test(test_checkpoint_round_trip),
        cmocka_unit_test(test_tokenizer_hand_example),
        cmocka_unit_test(test_tokenizer_round_trip),
        cmocka_unit_test(test_adamw_by_hand),
    };
    return cmocka_run_group_tests(tests, setup_tmp, teardown_tmp);
}
