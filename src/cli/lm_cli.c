/* Parsing of the shared model and training options. */
#include "lm_cli.h"

#include "cli.h"

void lm_cli_model(const cli_args *c, sj_lm_config *model)
{
    model->layers = (int)cli_int(c, "layers");
    model->heads = (int)cli_int(c, "heads");
    model->embd = (int)cli_int(c, "embd");
    model->ctx = (int)cli_int(c, "ctx");
    model->vocab = (int)cli_int(c, "vocab");
}

static int set_int(const char *command, const char *flag, const char *arg, long min, long max,
                   int *out)
{
    long v;
    if (cli_long(command, flag, arg, min, max, &v))
        return -1;
    *out = (int)v;
    return 1;
}

int lm_cli_option(const char *command, int opt, const char *arg, lm_cli_opts *o)
{
    switch (opt) {
    case LM_OPT_LAYERS:
        return set_int(command, "--layers", arg, 1, 256, &o->model.layers);
    case LM_OPT_HEADS:
        return set_int(command, "--heads", arg, 1, 1024, &o->model.heads);
    case LM_OPT_EMBD:
        return set_int(command, "--embd", arg, 1, 65536, &o->model.embd);
    case LM_OPT_CTX:
        return set_int(command, "--ctx", arg, 1, 65536, &o->model.ctx);
    case LM_OPT_VOCAB:
        return set_int(command, "--vocab", arg, 1, 1000000, &o->model.vocab);
    case LM_OPT_STEPS:
        return cli_long(command, "--steps", arg, 1, 100000000, &o->steps) ? -1 : 1;
    case LM_OPT_BATCH:
        return cli_long(command, "--batch", arg, 1, 65536, &o->batch) ? -1 : 1;
    case LM_OPT_LR:
        return cli_double(command, "--lr", arg, 1e-9, 10.0, &o->lr) ? -1 : 1;
    case LM_OPT_SEED:
        return cli_seed(command, arg, &o->seed) ? -1 : 1;
    case LM_OPT_THREADS:
        return cli_long(command, "--threads", arg, 1, 256, &o->threads) ? -1 : 1;
    default:
        return 0;
    }
}
