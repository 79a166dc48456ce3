/* Model and training options shared by `pretrain` and `bench`. */
#ifndef SJTALIGN_LM_CLI_H
#define SJTALIGN_LM_CLI_H

#include <getopt.h>

#include "sjtalign/lm.h"

enum {
    LM_OPT_LAYERS = 1000,
    LM_OPT_HEADS,
    LM_OPT_EMBD,
    LM_OPT_CTX,
    LM_OPT_VOCAB,
    LM_OPT_STEPS,
    LM_OPT_BATCH,
    LM_OPT_LR,
    LM_OPT_SEED,
    LM_OPT_THREADS,
};

#define LM_CLI_OPTIONS                                                                             \
    {"layers", required_argument, 0, LM_OPT_LAYERS},                                               \
        {"heads", required_argument, 0, LM_OPT_HEADS},                                             \
        {"embd", required_argument, 0, LM_OPT_EMBD}, {"ctx", required_argument, 0, LM_OPT_CTX},    \
        {"vocab", required_argument, 0, LM_OPT_VOCAB},                                             \
        {"steps", required_argument, 0, LM_OPT_STEPS},                                             \
        {"batch", required_argument, 0, LM_OPT_BATCH}, {"lr", required_argument, 0, LM_OPT_LR},    \
        {"seed", required_argument, 0, LM_OPT_SEED},                                               \
    {                                                                                              \
        "threads", required_argument, 0, LM_OPT_THREADS                                            \
    }

typedef struct {
    sj_lm_config model;
    long steps;
    long batch;
    double lr;
    uint64_t seed;
    long threads; /* 0 = leave as is */
} lm_cli_opts;

/* Handles one of the options above: 1 when handled, 0 when the option is
 * not one of them, -1 on a bad value (the usage error is printed). */
int lm_cli_option(const char *command, int opt, const char *arg, lm_cli_opts *o);

#endif
