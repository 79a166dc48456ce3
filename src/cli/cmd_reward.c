/* sjtalign reward: a reward model from judged pairs (Bradley–Terry). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "align_cli.h"
#include "cli.h"

static const cli_option REWARD_OPTIONS[] = {
    {"init", CLI_IN_DIR, "MODEL", NULL, 0, 0, NULL, CLI_REQUIRED, "the SFT model directory"},
    ALIGN_OPT_INSTRUMENT,
    {"pairs", CLI_IN_FILE, "FILE", NULL, 0, 0, NULL, CLI_REQUIRED, "judged pairs CSV"},
    {"out", CLI_OUT_DIR, "MODEL", NULL, 0, 0, NULL, CLI_REQUIRED, "output model directory"},
    {"steps", CLI_INT, "N", "300", 1, 10000000, NULL, 0, "optimiser steps"},
    {"batch", CLI_INT, "N", "16", 1, 4096, NULL, 0, "pairs per step"},
    {"lr", CLI_REAL, "X", "0.001", 1e-9, 1, NULL, 0,
     "peak learning rate (linear warm-up, then cosine decay)"},
    {"warmup-fraction", CLI_REAL, "X", "0.1", 0, 1, NULL, 0, "share of the steps with the warm-up"},
    {"head-clip", CLI_REAL, "X", "1", 0, 1e6, NULL, 0,
     "L2 bound on the reward head's gradient (0: none)"},
    {"keep-best", CLI_FLAG, NULL, NULL, 0, 0, NULL, 0,
     "save the evaluated model with the best held-out pairwise\naccuracy (ties: lower val_loss) "
     "instead of the last"},
    {"margin", CLI_REAL, "X", "0", -100, 100, NULL, 0, "Bradley-Terry margin"},
    ALIGN_OPT_VAL_FRACTION,
    {"eval-every", CLI_INT, "N", "50", 0, 10000000, NULL, 0, "held-out evaluation interval"},
    ALIGN_OPT_MIN_PAIRS,
    CLI_OPT_SEED,
    CLI_OPT_THREADS,
    CLI_OPT_QUIET,
    CLI_OPT_RESUME,
    CLI_OPT_STOP_AFTER,
    CLI_OPT_MAX_INPUT,
    CLI_END};

const cli_command_spec cli_spec_reward = {
    .name = "reward",
    .synopsis = "--init MODEL --instrument FILE --pairs FILE --out MODEL [options]",
    .about = "Trains a reward model: the backbone of MODEL (the SFT scorer) with a scalar\n"
             "head on the last token (eos) of prompt + completion, by the Bradley-Terry\n"
             "loss -log sigmoid(r_chosen - r_rejected - margin) on the judged pairs (rows\n"
             "with preferred a or b and two different completions). A share of persons is\n"
             "held out for pairwise accuracy (val_accuracy in train_log.jsonl). Afterwards\n"
             "the rewards are normalised to mean 0 and SD 1 on completions sampled from\n"
             "MODEL for the pairs' prompts; the normalisation is stored in the model\n"
             "(tensor reward.norm and config.json provenance) and the model is frozen.\n"
             "The pairs file has fixed columns (the pairs format written by `pairs`).",
    .options = REWARD_OPTIONS,
    .notes = ALIGN_RUN_NOTES,
    .examples = "sjtalign reward --init runs/demo/sft --instrument data/demo/instrument.json \\\n"
                "    --pairs runs/demo/judged.csv --out runs/demo/reward --steps 1500 --lr 0.0005",
};

/* The training options, from the table (defaults included). */
static void read_options(const cli_args *c, sja_reward_opts *o)
{
    o->steps = cli_int(c, "steps");
    o->batch = (int)cli_int(c, "batch");
    o->lr = cli_real(c, "lr");
    o->warmup_fraction = cli_real(c, "warmup-fraction");
    o->head_clip = cli_real(c, "head-clip");
    o->keep_best = cli_flag(c, "keep-best");
    o->margin = cli_real(c, "margin");
    o->val_fraction = cli_real(c, "val-fraction");
    o->eval_every = cli_int(c, "eval-every");
    o->min_pairs = cli_int(c, "min-pairs");
    o->seed = cli_seed_value(c, "seed");
    o->quiet = cli_flag(c, "quiet");
    align_run_options(c, &o->run);
}

int cmd_reward(int argc, char **argv)
{
    cli_args c;
    int rc = cli_begin(&cli_spec_reward, argc, argv, &c);
    if (rc >= 0)
        return rc;
    sja_reward_opts o = sja_reward_defaults();
    read_options(&c, &o);
    rc = 0;
    const char *instrument = cli_text(&c, "instrument"), *pairs_path = cli_text(&c, "pairs");
    const char *out = cli_text(&c, "out");
    sj_error err;
    sj_error_clear(&err);
    sja_pairs *pairs = NULL;
    sja_model *m = NULL;
    cJSON *summary = NULL;
    long stopped = 0;
    align_run_start(&o.run, &stopped);
    sj_instrument *ins = sj_instrument_load(instrument, &err);
    if (!ins || !(pairs = sja_pairs_read(pairs_path, ins, &err)) ||
        !(m = sja_model_load(cli_text(&c, "init"), ins, &err)) ||
        sja_reward_train(m, ins, instrument, pairs, pairs_path, &o, out, &summary, &err) != SJ_OK)
        rc = cli_fail(&err);
    rc = align_run_end("reward", rc, stopped, o.steps, out, summary);
    sja_model_free(m);
    sja_pairs_free(pairs);
    sj_instrument_free(ins);
    cli_args_free(&c);
    return rc;
}
