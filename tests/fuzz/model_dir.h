/* Shared by the model-directory fuzz targets: a scratch copy of the tiny seed
 * checkpoint in tests/fuzz/model/ (made by `sjtalign pretrain`, see
 * tests/fuzz/README.md), in which a target replaces one file per input.
 * The seed folder is $SJTALIGN_FUZZ_MODEL, or tests/fuzz/model relative to
 * the working directory (run_fuzz.sh sets the variable). */
#ifndef SJTALIGN_FUZZ_MODEL_DIR_H
#define SJTALIGN_FUZZ_MODEL_DIR_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sjtalign/util.h"

static char scratch_dir[] = "/tmp/sjtalign-fuzz-model-XXXXXX";
static const char *const SCRATCH_FILES[] = {"config.json", "tokenizer.json", "model.safetensors",
                                            "optimizer.safetensors"};

static void scratch_remove(void)
{
    for (size_t i = 0; i < sizeof SCRATCH_FILES / sizeof *SCRATCH_FILES; i++) {
        char *p = sj_path_join(scratch_dir, SCRATCH_FILES[i]);
        if (p)
            unlink(p);
        free(p);
    }
    rmdir(scratch_dir);
}

static int scratch_write(const char *file, const void *data, size_t len)
{
    char *p = sj_path_join(scratch_dir, file);
    FILE *f = p ? fopen(p, "wb") : NULL;
    free(p);
    if (!f)
        return -1;
    int bad = len > 0 && fwrite(data, 1, len, f) != len;
    bad |= fclose(f) != 0;
    return bad ? -1 : 0;
}

/* Reads a seed file; exits the fuzzer when the seed model is missing, since
 * every input would then fail for the wrong reason. */
static char *seed_read(const char *file, size_t *len)
{
    const char *dir = getenv("SJTALIGN_FUZZ_MODEL");
    char *p = sj_path_join(dir && *dir ? dir : "tests/fuzz/model", file);
    sj_error err;
    char *data = NULL;
    if (!p || sj_read_file(p, &data, len, &err) != SJ_OK) {
        fprintf(stderr, "fuzz: cannot read the seed model file %s (set SJTALIGN_FUZZ_MODEL)\n",
                p ? p : file);
        exit(1);
    }
    free(p);
    return data;
}

/* Creates the scratch folder holding a copy of every seed file. */
static void scratch_init(void)
{
    if (!mkdtemp(scratch_dir)) {
        perror("fuzz: mkdtemp");
        exit(1);
    }
    atexit(scratch_remove);
    for (size_t i = 0; i < sizeof SCRATCH_FILES / sizeof *SCRATCH_FILES; i++) {
        size_t len;
        char *data = seed_read(SCRATCH_FILES[i], &len);
        if (scratch_write(SCRATCH_FILES[i], data, len) != 0) {
            fprintf(stderr, "fuzz: cannot write into %s\n", scratch_dir);
            exit(1);
        }
        free(data);
    }
}

#endif
