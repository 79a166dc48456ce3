/* Model and training options shared by `pretrain` and `bench`. */
#ifndef SJTALIGN_LM_CLI_H
#define SJTALIGN_LM_CLI_H

#include <getopt.h>

#include "options.h"
#include "sjtalign/lm.h"

/* The model's shape, with the same ranges in every command (those
 * sj_lm_config_validate accepts); only the default differs (bench times a
 * larger model than the demo trains). `when` prefixes the help. */
#define LM_STR_(x) #x
#define LM_STR(x) LM_STR_(x)
#define LM_OPT_LAYERS_(def, when)                                                                  \
    {                                                                                              \
        "layers", CLI_INT, "N", def, 1, 256, NULL, 0, when "transformer blocks"                    \
    }
#define LM_OPT_HEADS_(def, when)                                                                   \
    {                                                                                              \
        "heads", CLI_INT, "N", def, 1, 1024, NULL, 0, when "attention heads"                       \
    }
#define LM_OPT_EMBD_(def, when)                                                                    \
    {                                                                                              \
        "embd", CLI_INT, "N", def, 1, 65536, NULL, 0, when "width, divisible by --heads"           \
    }
#define LM_OPT_CTX_(def, when)                                                                     \
    {                                                                                              \
        "ctx", CLI_INT, "N", def, 8, 65536, NULL, 0, when "context length in tokens"               \
    }
#define LM_OPT_VOCAB_(def, when)                                                                   \
    {                                                                                              \
        "vocab", CLI_INT, "N", def, SJ_TOK_N_BASE, 1000000, NULL, 0,                               \
            when "tokenizer vocabulary target, at least 260\n(256 bytes and 4 special tokens)"            \
    }

/* Reads --layers --heads --embd --ctx --vocab. */
void lm_cli_model(const cli_args *c, sj_lm_config *model);

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
