/* libFuzzer target: config.json of a model directory (sj_lm_load), beside
 * the seed model's tokenizer, weights and optimizer state
 * (tests/fuzz/model/). The seed config carries the weights' checksum, so
 * mutations reach the architecture checks and the loading that follows. */
#include <stddef.h>
#include <stdint.h>

#include "model_dir.h"
#include "sjtalign/lm.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    scratch_init();
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (scratch_write("config.json", data, size) != 0)
        return 0;
    sj_error err;
    sj_lm_checkpoint *ck = sj_lm_load(scratch_dir, NULL, 1, &err);
    sj_lm_checkpoint_free(ck);
    return 0;
}
