/* Reading of the shared model options. */
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
