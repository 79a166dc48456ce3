/* Model options shared by `pretrain`, `sft` and `bench`. */
#ifndef SJTALIGN_LM_CLI_H
#define SJTALIGN_LM_CLI_H

#include "options.h"
#include "sjtalign/lm.h"

/* The model's shape, with the same ranges in every command (those
 * sj_lm_config_validate accepts); only the default differs (bench times a
 * larger model than the demo trains). `when` prefixes the help. One macro
 * gives all five, in the order --help lists them. */
#define LM_STR_(x) #x
#define LM_STR(x) LM_STR_(x)
#define LM_OPT_SHAPE(layers, heads, embd, ctx, vocab, when)                                        \
    {"layers", CLI_INT, "N", layers, 1, 256, NULL, 0, when "transformer blocks"},                  \
        {"heads", CLI_INT, "N", heads, 1, 1024, NULL, 0, when "attention heads"},                  \
        {"embd", CLI_INT, "N", embd, 1, 65536, NULL, 0, when "width, divisible by --heads"},       \
        {"ctx", CLI_INT, "N", ctx, 8, 65536, NULL, 0, when "context length in tokens"},            \
    {                                                                                              \
        "vocab", CLI_INT, "N", vocab, SJ_TOK_N_BASE, 1000000, NULL, 0,                             \
            when "tokenizer vocabulary target, at least 260\n(256 bytes and 4 special tokens)"     \
    }

/* The shape options with the library's defaults (the demo model). */
#define LM_OPT_DEFAULT_SHAPE(when)                                                                 \
    LM_OPT_SHAPE(LM_STR(SJ_LM_DEFAULT_LAYERS), LM_STR(SJ_LM_DEFAULT_HEADS),                        \
                 LM_STR(SJ_LM_DEFAULT_EMBD), LM_STR(SJ_LM_DEFAULT_CTX),                            \
                 LM_STR(SJ_TOK_DEFAULT_VOCAB), when)

/* Reads --layers --heads --embd --ctx --vocab. */
void lm_cli_model(const cli_args *c, sj_lm_config *model);

#endif
