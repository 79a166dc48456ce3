/* Regression tests for defects the fuzz targets found (tests/fuzz/README.md):
 * hostile tokenizer.json, config.json and model.safetensors contents must be
 * input errors, never undefined behaviour, giant allocations or a model
 * that silently differs from its config. */
#include "test_helpers.h"

#include <sys/stat.h>

#include "sjtalign/io.h"
#include "sjtalign/lm.h"

static const char *const TEXTS[] = {"I would talk to my colleague first.",
                                    "I would ask the team for help.", "I would tell the truth."};

/* ---- tokenizer.json ------------------------------------------------------- */

static sj_tokenizer *tokenizer_from_text(const char *json, sj_error *err)
{
    cJSON *doc = sj_json_parse("tokenizer.json", json, err);
    assert_non_null(doc);
    sj_tokenizer *tok = sj_tokenizer_from_json("tokenizer.json", doc, err);
    cJSON_Delete(doc);
    return tok;
}

#define TOK_HEAD "{\"type\": \"sjtalign-byte-bpe\", \"version\": 1, \"byte_offset\": 4, "

static void tokenizer_accepts_valid_merges(void **state)
{
    (void)state;
    sj_error err;
    /* merge 0 joins 'h' (4 + 104) and 'i' (4 + 105); merge 1 joins it with itself */
    sj_tokenizer *tok = tokenizer_from_text(
        TOK_HEAD "\"vocab_size\": 262, \"specials\": {\"pad\": 0, \"eos\": 1, \"sep\": 2, "
                 "\"bos\": 3}, \"merges\": [[108, 109], [260, 260]]}",
        &err);
    assert_non_null(tok);
    size_t len;
    const unsigned char *b = sj_tokenizer_token_bytes(tok, 261, &len);
    assert_int_equal(len, 4);
    assert_memory_equal(b, "hihi", 4);
    sj_tokenizer_free(tok);
}

/* Found by fuzz_tokenizer: "eos": 1.1e56 was cast to long (undefined). */
static void tokenizer_rejects_huge_special_id(void **state)
{
    (void)state;
    sj_error err;
    sj_tokenizer *tok = tokenizer_from_text(
        TOK_HEAD "\"vocab_size\": 260, \"specials\": {\"pad\": 0, \"eos\": "
                 "111111111111111111111111111111111111111111111111111111111, \"sep\": 2, "
                 "\"bos\": 3}, \"merges\": []}",
        &err);
    assert_null(tok);
    assert_int_equal(err.status, SJ_ERR_INPUT);
    assert_non_null(strstr(err.msg, "specials"));
}

static void tokenizer_rejects_merge_ids_that_are_not_ids(void **state)
{
    (void)state;
    static const char *const bad[] = {"[[1e300, 108]]", "[[108, -1e300]]", "[[108.5, 109]]"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        char json[512];
        snprintf(json, sizeof json,
                 TOK_HEAD "\"vocab_size\": 261, \"specials\": {\"pad\": 0, \"eos\": 1, \"sep\": "
                          "2, \"bos\": 3}, \"merges\": %s}",
                 bad[i]);
        sj_error err;
        sj_tokenizer *tok = tokenizer_from_text(json, &err);
        assert_null(tok);
        assert_int_equal(err.status, SJ_ERR_INPUT);
        assert_non_null(strstr(err.msg, "merges[0] is not a pair of token ids"));
    }
}

/* ---- model directories ------------------------------------------------------ */

/* Saves a tiny model (vocab 260, ctx 8, embd 8, 2 heads) with `layers`
 * blocks and, optionally, an extra tensor "head.weight" [1 x 8]. */
static void save_tiny_model(const char *dir, int layers, int with_head)
{
    sj_error err;
    sj_tokenizer *tok = sj_tokenizer_train(TEXTS, NULL, 3, 260, &err);
    assert_non_null(tok);
    sj_lm_config cfg = {.vocab = 260, .ctx = 8, .layers = layers, .heads = 2, .embd = 8};
    gsl_rng *rng = sj_rng_new(7);
    sj_lm *m = sj_lm_new(&cfg, rng, &err);
    assert_non_null(m);
    float head[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    sj_lm_tensor extra = {"head.weight", 1, 8, 1, head};
    sj_lm_save_opts so = {
        .tok = tok, .extras = with_head ? &extra : NULL, .n_extras = with_head ? 1 : 0};
    assert_int_equal(sj_lm_save(dir, m, &so, &err), SJ_OK);
    sj_lm_free(m);
    gsl_rng_free(rng);
    sj_tokenizer_free(tok);
}

static char *model_file(const char *dir, const char *name)
{
    char *p = sj_path_join(dir, name);
    assert_non_null(p);
    return p;
}

static cJSON *read_config(const char *dir)
{
    char *p = model_file(dir, "config.json");
    sj_error err;
    cJSON *doc = sj_json_read(p, &err);
    assert_non_null(doc);
    free(p);
    return doc;
}

static void write_config(const char *dir, cJSON *doc)
{
    char *p = model_file(dir, "config.json");
    sj_error err;
    assert_int_equal(sj_json_write(p, doc, &err), SJ_OK);
    free(p);
    cJSON_Delete(doc);
}

static void set_architecture(const char *dir, const char *key, double value)
{
    cJSON *doc = read_config(dir);
    cJSON *arch = cJSON_GetObjectItemCaseSensitive(doc, "architecture");
    cJSON_ReplaceItemInObjectCaseSensitive(arch, key, cJSON_CreateNumber(value));
    write_config(dir, doc);
}

static void expect_load_error(const char *dir, const char *text)
{
    sj_error err;
    sj_error_clear(&err);
    sj_lm_checkpoint *ck = sj_lm_load(dir, NULL, 0, &err);
    assert_null(ck);
    assert_int_equal(err.status, SJ_ERR_INPUT);
    if (!strstr(err.msg, text))
        fail_msg("message '%s' lacks '%s'", err.msg, text);
}

static void tiny_model_loads_with_its_extra(void **state)
{
    (void)state;
    char *tmp = test_mkdtemp();
    char *dir = model_file(tmp, "m");
    save_tiny_model(dir, 2, 1);
    sj_error err;
    sj_lm_checkpoint *ck = sj_lm_load(dir, NULL, 0, &err);
    assert_non_null(ck);
    const sj_lm_tensor *h = sj_lm_checkpoint_extra(ck, "head.weight");
    assert_non_null(h);
    assert_int_equal(h->cols, 8);
    assert_true(h->data[7] == 8.0f);
    sj_lm_checkpoint_free(ck);
    free(dir);
    test_rmdir(tmp);
}

/* Found by fuzz_model_config: "vocab": 1e300 was cast to int (undefined). */
static void load_rejects_architecture_numbers_out_of_range(void **state)
{
    (void)state;
    char *tmp = test_mkdtemp();
    char *dir = model_file(tmp, "m");
    save_tiny_model(dir, 1, 0);
    set_architecture(dir, "vocab", 1e300);
    expect_load_error(dir, "\"architecture\" needs integer vocab");
    free(dir);
    test_rmdir(tmp);
}

/* Found by fuzz_model_config: a config describing a 262 GB model was
 * allocated before the weights were looked at. */
static void load_rejects_architecture_larger_than_weights(void **state)
{
    (void)state;
    char *tmp = test_mkdtemp();
    char *dir = model_file(tmp, "m");
    save_tiny_model(dir, 1, 0);
    set_architecture(dir, "vocab", 1000000);
    set_architecture(dir, "embd", 65536);
    set_architecture(dir, "heads", 1);
    expect_load_error(dir, "the config and the weights disagree");
    free(dir);
    test_rmdir(tmp);
}

/* A 2-layer weights file under a config saying 1 layer loaded, with the
 * second layer taken for extra tensors. */
static void load_rejects_weights_with_layers_the_config_lacks(void **state)
{
    (void)state;
    char *tmp = test_mkdtemp();
    char *dir = model_file(tmp, "m");
    save_tiny_model(dir, 2, 1);
    set_architecture(dir, "layers", 1);
    expect_load_error(dir, "tensor \"h.1.");
    expect_load_error(dir, "the config and the weights disagree");
    free(dir);
    test_rmdir(tmp);
}

/* Found by fuzz_safetensors: an extra tensor of shape [1e-300, 1e300] (one
 * element by the product) made load_weights cast 1e300 to size_t. */
static void load_rejects_shapes_that_are_not_whole_numbers(void **state)
{
    (void)state;
    char *tmp = test_mkdtemp();
    char *dir = model_file(tmp, "m");
    save_tiny_model(dir, 1, 1);
    char *wpath = model_file(dir, "model.safetensors");
    char *buf;
    size_t len;
    sj_error err;
    assert_int_equal(sj_read_file(wpath, &buf, &len, &err), SJ_OK);
    uint64_t hlen = 0;
    for (int i = 7; i >= 0; i--)
        hlen = (hlen << 8) | (unsigned char)buf[i];
    char *htext = sj_strndup(buf + 8, (size_t)hlen);
    cJSON *hdr = cJSON_Parse(htext);
    assert_non_null(hdr);
    cJSON *head = cJSON_GetObjectItemCaseSensitive(hdr, "head.weight");
    cJSON *shape = cJSON_CreateArray();
    cJSON_AddItemToArray(shape, cJSON_CreateNumber(1e-300));
    cJSON_AddItemToArray(shape, cJSON_CreateNumber(8e300));
    cJSON_ReplaceItemInObjectCaseSensitive(head, "shape", shape);
    char *text = cJSON_PrintUnformatted(hdr);
    size_t tlen = strlen(text), padded = (tlen + 7) / 8 * 8;
    sj_buf out = {0};
    unsigned char len8[8];
    for (int i = 0; i < 8; i++)
        len8[i] = (unsigned char)(((uint64_t)padded >> (8 * i)) & 0xff);
    assert_int_equal(sj_buf_append(&out, len8, 8), 0);
    assert_int_equal(sj_buf_append(&out, text, tlen), 0);
    for (size_t i = tlen; i < padded; i++)
        assert_int_equal(sj_buf_append(&out, " ", 1), 0);
    assert_int_equal(sj_buf_append(&out, buf + 8 + hlen, len - 8 - (size_t)hlen), 0);
    test_write_text(wpath, out.data, out.len);
    char sha[65];
    sj_sha256_hex(out.data, out.len, sha);
    cJSON *doc = read_config(dir);
    cJSON_ReplaceItemInObjectCaseSensitive(doc, "weights_sha256", cJSON_CreateString(sha));
    write_config(dir, doc);
    expect_load_error(dir, "tensor \"head.weight\" has a bad shape");
    sj_buf_free(&out);
    free(text);
    cJSON_Delete(hdr);
    free(htext);
    free(buf);
    free(wpath);
    free(dir);
    test_rmdir(tmp);
}

/* ---- safetensors tiling, hostile paths ------------------------------------------ */

/* The weights file of a saved model split into its header and data. */
typedef struct {
    char *path;
    cJSON *header;
    sj_buf data;
} weights_file;

static void weights_open(const char *dir, weights_file *w)
{
    w->path = model_file(dir, "model.safetensors");
    char *buf;
    size_t len;
    sj_error err;
    assert_int_equal(sj_read_file_kind(w->path, SJ_INPUT_WEIGHTS, &buf, &len, &err), SJ_OK);
    uint64_t hlen = 0;
    for (int i = 7; i >= 0; i--)
        hlen = (hlen << 8) | (unsigned char)buf[i];
    char *htext = sj_strndup(buf + 8, (size_t)hlen);
    w->header = cJSON_Parse(htext);
    assert_non_null(w->header);
    w->data = (sj_buf){0};
    assert_int_equal(sj_buf_append(&w->data, buf + 8 + hlen, len - 8 - (size_t)hlen), 0);
    free(htext);
    free(buf);
}

/* Writes header text and data back, with a checksum config.json accepts. */
static void weights_write_text(const char *dir, weights_file *w, const char *text)
{
    size_t tlen = strlen(text), padded = (tlen + 7) / 8 * 8;
    sj_buf out = {0};
    unsigned char len8[8];
    for (int i = 0; i < 8; i++)
        len8[i] = (unsigned char)(((uint64_t)padded >> (8 * i)) & 0xff);
    assert_int_equal(sj_buf_append(&out, len8, 8), 0);
    assert_int_equal(sj_buf_append(&out, text, tlen), 0);
    for (size_t i = tlen; i < padded; i++)
        assert_int_equal(sj_buf_append(&out, " ", 1), 0);
    assert_int_equal(sj_buf_append(&out, w->data.data, w->data.len), 0);
    test_write_text(w->path, out.data, out.len);
    char sha[65];
    sj_sha256_hex(out.data, out.len, sha);
    cJSON *doc = read_config(dir);
    cJSON_ReplaceItemInObjectCaseSensitive(doc, "weights_sha256", cJSON_CreateString(sha));
    write_config(dir, doc);
    sj_buf_free(&out);
    cJSON_Delete(w->header);
    sj_buf_free(&w->data);
    free(w->path);
}

static void weights_write(const char *dir, weights_file *w)
{
    char *text = cJSON_PrintUnformatted(w->header);
    weights_write_text(dir, w, text);
    free(text);
}

static double offset_of(const cJSON *header, const char *name, int end)
{
    const cJSON *e = cJSON_GetObjectItemCaseSensitive(header, name);
    assert_non_null(e);
    return cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(e, "data_offsets"), end)
        ->valuedouble;
}

static void set_offsets(cJSON *header, const char *name, double begin, double end)
{
    cJSON *e = cJSON_GetObjectItemCaseSensitive(header, name);
    cJSON *off = cJSON_CreateArray();
    cJSON_AddItemToArray(off, cJSON_CreateNumber(begin));
    cJSON_AddItemToArray(off, cJSON_CreateNumber(end));
    cJSON_ReplaceItemInObjectCaseSensitive(e, "data_offsets", off);
}

/* The case: wpe made to alias the start of wte, with a checksum
 * config.json accepts. Its own bytes are left as a gap of the same size,
 * so the sizes still add up to the data length: it loaded before. */
static void load_rejects_tensors_that_overlap(void **state)
{
    (void)state;
    char *tmp = test_mkdtemp();
    char *dir = model_file(tmp, "m");
    save_tiny_model(dir, 1, 0);
    weights_file w;
    weights_open(dir, &w);
    double wte0 = offset_of(w.header, "wte", 0), wte1 = offset_of(w.header, "wte", 1);
    double wpe0 = offset_of(w.header, "wpe", 0), wpe1 = offset_of(w.header, "wpe", 1);
    assert_true(wpe1 - wpe0 == 256.0); /* ctx 8 x embd 8 floats */
    set_offsets(w.header, "wpe", wte0, wte0 + 256);
    weights_write(dir, &w);
    char want[160];
    snprintf(want, sizeof want, "tensors \"wpe\" [%.0f, %.0f] and \"wte\" [%.0f, %.0f] overlap",
             wte0, wte0 + 256, wte0, wte1);
    expect_load_error(dir, want);
    free(dir);
    test_rmdir(tmp);
}

/* A tensor moved 4 bytes on leaves 4 bytes that belong to no tensor. */
static void load_rejects_a_gap_between_tensors(void **state)
{
    (void)state;
    char *tmp = test_mkdtemp();
    char *dir = model_file(tmp, "m");
    save_tiny_model(dir, 1, 0);
    weights_file w;
    weights_open(dir, &w);
    double b = offset_of(w.header, "h.0.ln_1.bias", 0), e = offset_of(w.header, "h.0.ln_1.bias", 1);
    set_offsets(w.header, "h.0.ln_1.bias", b + 4, e + 4);
    weights_write(dir, &w);
    char want[160];
    snprintf(want, sizeof want,
             "data bytes [%.0f, %.0f) before tensor \"h.0.ln_1.bias\" belong to no tensor", b,
             b + 4);
    expect_load_error(dir, want);
    free(dir);
    test_rmdir(tmp);
}

/* A tensor named twice in the header: one reader takes the first entry,
 * another the last. */
static void load_rejects_a_tensor_named_twice(void **state)
{
    (void)state;
    char *tmp = test_mkdtemp();
    char *dir = model_file(tmp, "m");
    save_tiny_model(dir, 1, 0);
    weights_file w;
    weights_open(dir, &w);
    char *text = cJSON_PrintUnformatted(w.header);
    char *at = strstr(text, "\"wpe\":");
    assert_non_null(at);
    memcpy(at, "\"wte\"", 5);
    weights_write_text(dir, &w, text);
    free(text);
    expect_load_error(dir, "model.safetensors (header):1:");
    expect_load_error(dir, "duplicate key 'wte' (first at line 1)");
    free(dir);
    test_rmdir(tmp);
}

static void load_refuses_files_that_are_not_regular(void **state)
{
    (void)state;
    char *tmp = test_mkdtemp();
    char *dir = model_file(tmp, "m");
    save_tiny_model(dir, 1, 0);
    /* a model path that is a file */
    char *cfg = model_file(dir, "config.json");
    char *msg = sj_asprintf("%s is a file, not a model folder", cfg);
    expect_load_error(cfg, msg);
    free(msg);
    /* weights linked to /dev/zero */
    char *weights = model_file(dir, "model.safetensors");
    assert_int_equal(unlink(weights), 0);
    assert_int_equal(symlink("/dev/zero", weights), 0);
    msg = sj_asprintf("%s is a character device; expected a regular file", weights);
    expect_load_error(dir, msg);
    free(msg);
    /* config.json as a FIFO: refused at once, never waited on (the alarm
     * ends a test that blocks) */
    assert_int_equal(unlink(cfg), 0);
    assert_int_equal(mkfifo(cfg, 0600), 0);
    alarm(20);
    msg = sj_asprintf("%s is a FIFO (named pipe); expected a regular file", cfg);
    expect_load_error(dir, msg);
    alarm(0);
    free(msg);
    free(weights);
    free(cfg);
    free(dir);
    test_rmdir(tmp);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(tokenizer_accepts_valid_merges),
        cmocka_unit_test(tokenizer_rejects_huge_special_id),
        cmocka_unit_test(tokenizer_rejects_merge_ids_that_are_not_ids),
        cmocka_unit_test(tiny_model_loads_with_its_extra),
        cmocka_unit_test(load_rejects_architecture_numbers_out_of_range),
        cmocka_unit_test(load_rejects_architecture_larger_than_weights),
        cmocka_unit_test(load_rejects_weights_with_layers_the_config_lacks),
        cmocka_unit_test(load_rejects_shapes_that_are_not_whole_numbers),
        cmocka_unit_test(load_rejects_tensors_that_overlap),
        cmocka_unit_test(load_rejects_a_gap_between_tensors),
        cmocka_unit_test(load_rejects_a_tensor_named_twice),
        cmocka_unit_test(load_refuses_files_that_are_not_regular),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
