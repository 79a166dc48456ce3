/* sjtalign reward: a reward model from judged pairs (Bradley–Terry). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "align_cli.h"
#include "cli.h"

static const char *const HELP =
    "usage: sjtalign reward --init MODEL --instrument FILE --pairs FILE --out MODEL [options]\n\n"
    "Trains a reward model: the backbone of MODEL (the SFT scorer) with a scalar\n"
    "head on the last token (eos) of prompt + completion, by the Bradley-Terry\n"
    "loss -log sigmoid(r_chosen - r_rejected - margin) on the judged pairs (rows\n"
    "with preferred a or b and two different completions). A share of persons is\n"
    "held out for pairwise accuracy (val_accuracy in train_log.jsonl). Afterwards\n"
    "the rewards are normalised to mean 0 and SD 1 on completions sampled from\n"
    "MODEL for the pairs' prompts; the normalisation is stored in the model\n"
    "(tensor reward.norm and config.json provenance) and the model is frozen.\n\n"
    "  --init MODEL       the SFT model directory\n"
    "  --instrument FILE  instrument.json\n"
    "  --pairs FILE       judged pairs CSV\n"
    "  --out MODEL        output model directory\n"
    "  --steps N          optimiser steps (default 300)\n"
    "  --batch N          pairs per step (default 16)\n"
    "  --lr X             peak learning rate (default 0.001)\n"
    "  --margin X         Bradley-Terry margin (default 0)\n"
    "  --val-fraction X   share of persons held out (default 0.1)\n"
    "  --eval-every N     held-out evaluation interval (default 50)\n"
    "  --min-pairs N      fewest usable judged pairs accepted (default 20)\n"
    "  --seed S           random seed (default 1)\n"
    "  --threads N        threads\n"
    "  --quiet            no progress bar\n" ALIGN_RUN_HELP;

enum {
    OPT_INIT = 1,
    OPT_INSTRUMENT,
    OPT_PAIRS,
    OPT_OUT,
    OPT_STEPS,
    OPT_BATCH,
    OPT_LR,
    OPT_MARGIN,
    OPT_VAL,
    OPT_EVAL,
    OPT_MIN,
    OPT_SEED,
    OPT_HELP
};

int cmd_reward(int argc, char **argv)
{
    static const struct option options[] = {{"init", required_argument, 0, OPT_INIT},
                                            {"instrument", required_argument, 0, OPT_INSTRUMENT},
                                            {"pairs", required_argument, 0, OPT_PAIRS},
                                            {"out", required_argument, 0, OPT_OUT},
                                            {"steps", required_argument, 0, OPT_STEPS},
                                            {"batch", required_argument, 0, OPT_BATCH},
                                            {"lr", required_argument, 0, OPT_LR},
                                            {"margin", required_argument, 0, OPT_MARGIN},
                                            {"val-fraction", required_argument, 0, OPT_VAL},
                                            {"eval-every", required_argument, 0, OPT_EVAL},
                                            {"min-pairs", required_argument, 0, OPT_MIN},
                                            {"seed", required_argument, 0, OPT_SEED},
                                            {"help", no_argument, 0, OPT_HELP},
                                            ALIGN_COLUMN_OPTIONS,
                                            ALIGN_RUN_OPTIONS,
                                            {0, 0, 0, 0}};
    const char *init = NULL, *instrument = NULL, *pairs_path = NULL, *out = NULL;
    sja_reward_opts o = sja_reward_defaults();
    align_common a = {0};
    long v;
    int c, bad = 0;
    cli_getopt_reset();
    while (!bad && (c = getopt_long(argc, argv, "", options, NULL)) != -1) {
        int r = align_common_option("reward", c, optarg, &a);
        if (r == 0)
            r = align_run_option("reward", c, optarg, &o.run);
        if (r < 0)
            return 2;
        if (r > 0)
            continue;
        switch (c) {
        case OPT_INIT:
            init = optarg;
            break;
        case OPT_INSTRUMENT:
            instrument = optarg;
            break;
        case OPT_PAIRS:
            pairs_path = optarg;
            break;
        case OPT_OUT:
            out = optarg;
            break;
        case OPT_STEPS:
            bad = cli_long("reward", "--steps", optarg, 1, 10000000, &o.steps);
            break;
        case OPT_BATCH:
            bad = cli_long("reward", "--batch", optarg, 1, 4096, &v);
            o.batch = (int)v;
            break;
        case OPT_LR:
            bad = cli_double("reward", "--lr", optarg, 1e-9, 1.0, &o.lr);
            break;
        case OPT_MARGIN:
            bad = cli_double("reward", "--margin", optarg, -100, 100, &o.margin);
            break;
        case OPT_VAL:
            bad = cli_double("reward", "--val-fraction", optarg, 0, 0.9, &o.val_fraction);
            break;
        case OPT_EVAL:
            bad = cli_long("reward", "--eval-every", optarg, 0, 10000000, &o.eval_every);
            break;
        case OPT_MIN:
            bad = cli_long("reward", "--min-pairs", optarg, 2, 100000000, &o.min_pairs);
            break;
        case OPT_SEED:
            bad = cli_seed("reward", optarg, &o.seed);
            break;
        case OPT_HELP:
            return cli_help(HELP);
        default:
            return cli_bad_option("reward");
        }
    }
    if (bad)
        return 2;
    if (optind < argc)
        return cli_usage_error("reward", "unexpected argument '%s'", argv[optind]);
    if (cli_require("reward", "--init", init) ||
        cli_require("reward", "--instrument", instrument) ||
        cli_require("reward", "--pairs", pairs_path) || cli_require("reward", "--out", out))
        return 2;
    align_apply_threads(&a);
    o.quiet = a.quiet;
    sj_error err;
    sj_error_clear(&err);
    int rc = 0;
    sja_pairs *pairs = NULL;
    sja_model *m = NULL;
    cJSON *summary = NULL;
    long stopped = 0;
    align_run_start(&o.run, &stopped);
    sj_instrument *ins = sj_instrument_load(instrument, &err);
    if (!ins || !(pairs = sja_pairs_read(pairs_path, ins, &err)) ||
        !(m = sja_model_load(init, ins, &err)) ||
        sja_reward_train(m, ins, instrument, pairs, pairs_path, &o, out, &summary, &err) != SJ_OK)
        rc = cli_fail(&err);
    rc = align_run_end("reward", rc, stopped, o.steps, out, summary);
    sja_model_free(m);
    sja_pairs_free(pairs);
    sj_instrument_free(ins);
    return rc;
}
