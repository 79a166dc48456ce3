/* Model options shared by `pretrain`, `sft` and `bench`. */
#ifndef SJTALIGN_LM_CLI_H
#define SJTALIGN_LM_CLI_H

#include "options.h"
#include "sjtalign/lm.h"

/* The model's shape, with the same ranges in every command (those
 * sj_lm_config_validate accepts); only the default differs (bench times a
 * larger model than the demo trains). `when` prefixes the help. */
#define LM_STR_(x) #x
#define LM_STR(x) LM_STR_(x)
#define LM_OPT_LAYERS(def, when)                                                                   \
    {                                                                                              \
        "layers", CLI_INT, "N", def, 1, 256, NULL, 0, when "transformer blocks"                    \
    }
#define LM_OPT_HEADS(def, when)                                                                    \
    {                                                                                              \
        "heads", CLI_INT, "N", def, 1, 1024, NULL, 0, when "attention heads"                       \
    }
#define LM_OPT_EMBD(def, when)                                                                     \
    {                                                                                              \
        "embd", CLI_INT, "N", def, 1, 65536, NULL, 0, when "width, divisible by --heads"           \
    }
#define LM_OPT_CTX(def, when)                                                                      \
    {                                                                                              \
        "ctx", CLI_INT, "N", def, 8, 65536, NULL, 0, when "context length in tokens"               \
    }
#define LM_OPT_VOCAB(def, when)                                                                    \
    {                                                                                              \
        "vocab", CLI_INT, "N", def, SJ_TOK_N_BASE, 1000000, NULL, 0,                               \
            when "tokenizer vocabulary target, at least 260\n(256 bytes and 4 special tokens)"     \
    }

/* Reads --layers --heads --embd --ctx --vocab. */
void lm_cli_model(const cli_args *c, sj_lm_config *model);

#endif
