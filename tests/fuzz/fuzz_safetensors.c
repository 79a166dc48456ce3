/* libFuzzer target: the safetensors reader behind sj_lm_load. Each input is
 * written into a copy of the seed model (tests/fuzz/model/) first as
 * model.safetensors, then as optimizer.safetensors, with config.json's
 * checksum for that file set to the input's own, so that the damage reaches
 * the parser instead of stopping at the checksum. */
#include <stddef.h>
#include <stdint.h>

#include "model_dir.h"
#include "sjtalign/io.h"
#include "sjtalign/lm.h"

static cJSON *seed_config;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    scratch_init();
    size_t len;
    char *text = seed_read("config.json", &len);
    sj_error err;
    seed_config = sj_json_parse("config.json", text, &err);
    free(text);
    if (!seed_config) {
        fprintf(stderr, "fuzz: %s\n", err.msg);
        exit(1);
    }
    return 0;
}

/* Writes config.json with `key` (inside `object`, or at the top when NULL)
 * set to the SHA-256 of data. */
static int write_config_with_sha(const char *object, const char *key, const uint8_t *data,
                                 size_t size)
{
    char sha[65];
    sj_sha256_hex(data, size, sha);
    cJSON *cfg = cJSON_Duplicate(seed_config, 1);
    cJSON *where = object ? cJSON_GetObjectItemCaseSensitive(cfg, object) : cfg;
    cJSON_ReplaceItemInObjectCaseSensitive(where, key, cJSON_CreateString(sha));
    char *text = cJSON_PrintUnformatted(cfg);
    cJSON_Delete(cfg);
    int rc = text ? scratch_write("config.json", text, strlen(text)) : -1;
    free(text);
    return rc;
}

static void try_load(int with_optimizer)
{
    sj_error err;
    sj_lm_checkpoint *ck = sj_lm_load(scratch_dir, NULL, with_optimizer, &err);
    if (ck && ck->n_extras > 0)
        sj_lm_checkpoint_extra(ck, ck->extras[0].name);
    sj_lm_checkpoint_free(ck);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static size_t weights_len, optimizer_len;
    static char *weights, *optimizer;
    if (!weights) {
        weights = seed_read("model.safetensors", &weights_len);
        optimizer = seed_read("optimizer.safetensors", &optimizer_len);
    }
    /* as the weights, with the seed optimizer state */
    if (scratch_write("model.safetensors", data, size) == 0 &&
        scratch_write("optimizer.safetensors", optimizer, optimizer_len) == 0 &&
        write_config_with_sha(NULL, "weights_sha256", data, size) == 0)
        try_load(0);
    /* as the optimizer state, with the seed weights */
    if (scratch_write("model.safetensors", weights, weights_len) == 0 &&
        scratch_write("optimizer.safetensors", data, size) == 0 &&
        write_config_with_sha("optimizer", "sha256", data, size) == 0)
        try_load(1);
    return 0;
}
