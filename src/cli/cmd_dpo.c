/* sjtalign dpo: direct preference optimisation on judged pairs. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "align_cli.h"
#include "cli.h"

static const char *const HELP =
    "usage: sjtalign dpo --policy MODEL --instrument FILE --pairs FILE --out MODEL [options]\n\n"
    "Direct preference optimisation: minimises\n"
    "  -log sigmoid(beta [(log pi - log pi_ref)(chosen) - (log pi - log pi_ref)(rejected)])\n"
    "over judged pairs, where pi_ref is a frozen copy of the starting policy (the\n"
    "SFT scorer) and log-probs are sums over completion tokens. train_log.jsonl\n"
    "records rewards/chosen, rewards/rejected (beta times the log-ratio),\n"
    "rewards/accuracies and rewards/margins per step, and the same for held-out\n"
    "persons (val_ prefix) every --eval-every steps.\n\n"
    "  --policy MODEL     the SFT model directory\n"
    "  --instrument FILE  instrument.json\n"
    "  --pairs FILE       judged pairs CSV\n"
    "  --out MODEL        output model directory\n"
    "  --beta X           strength of the tie to the reference (default 0.1)\n"
    "  --steps N          optimiser steps (default 150)\n"
    "  --batch N          pairs per step (default 16)\n"
    "  --lr X             peak learning rate (default 0.0005)\n"
    "  --val-fraction X   share of persons held out (default 0.1)\n"
    "  --eval-every N     held-out evaluation interval (default 50)\n"
    "  --min-pairs N      fewest usable judged pairs accepted (default 20)\n"
    "  --seed S           random seed (default 1)\n"
    "  --threads N        threads\n"
    "  --quiet            no progress bar\n" ALIGN_RUN_HELP;

enum {
    OPT_POLICY = 1,
    OPT_INSTRUMENT,
    OPT_PAIRS,
    OPT_OUT,
    OPT_BETA,
    OPT_STEPS,
    OPT_BATCH,
    OPT_LR,
    OPT_VAL,
    OPT_EVAL,
    OPT_MIN,
    OPT_SEED,
    OPT_HELP
};

int cmd_dpo(int argc, char **argv)
{
    static const struct option options[] = {{"policy", required_argument, 0, OPT_POLICY},
                                            {"instrument", required_argument, 0, OPT_INSTRUMENT},
                                            {"pairs", required_argument, 0, OPT_PAIRS},
                                            {"out", required_argument, 0, OPT_OUT},
                                            {"beta", required_argument, 0, OPT_BETA},
                                            {"steps", required_argument, 0, OPT_STEPS},
                                            {"batch", required_argument, 0, OPT_BATCH},
                                            {"lr", required_argument, 0, OPT_LR},
                                            {"val-fraction", required_argument, 0, OPT_VAL},
                                            {"eval-every", required_argument, 0, OPT_EVAL},
                                            {"min-pairs", required_argument, 0, OPT_MIN},
                                            {"seed", required_argument, 0, OPT_SEED},
                                            {"help", no_argument, 0, OPT_HELP},
                                            ALIGN_COLUMN_OPTIONS,
                                            ALIGN_RUN_OPTIONS,
                                            {0, 0, 0, 0}};
    const char *policy = NULL, *instrument = NULL, *pairs_path = NULL, *out = NULL;
    sja_dpo_opts o = sja_dpo_defaults();
    align_common a = {0};
    long v;
    int c, bad = 0;
    cli_getopt_reset();
    while (!bad && (c = getopt_long(argc, argv, "", options, NULL)) != -1) {
        int r = align_common_option("dpo", c, optarg, &a);
        if (r == 0)
            r = align_run_option("dpo", c, optarg, &o.run);
        if (r < 0)
            return 2;
        if (r > 0)
            continue;
        switch (c) {
        case OPT_POLICY:
            policy = optarg;
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
        case OPT_BETA:
            bad = cli_double("dpo", "--beta", optarg, 1e-6, 1000, &o.beta);
            break;
        case OPT_STEPS:
            bad = cli_long("dpo", "--steps", optarg, 1, 10000000, &o.steps);
            break;
        case OPT_BATCH:
            bad = cli_long("dpo", "--batch", optarg, 1, 4096, &v);
            o.batch = (int)v;
            break;
        case OPT_LR:
            bad = cli_double("dpo", "--lr", optarg, 1e-9, 1.0, &o.lr);
            break;
        case OPT_VAL:
            bad = cli_double("dpo", "--val-fraction", optarg, 0, 0.9, &o.val_fraction);
            break;
        case OPT_EVAL:
            bad = cli_long("dpo", "--eval-every", optarg, 0, 10000000, &o.eval_every);
            break;
        case OPT_MIN:
            bad = cli_long("dpo", "--min-pairs", optarg, 2, 100000000, &o.min_pairs);
            break;
        case OPT_SEED:
            bad = cli_seed("dpo", optarg, &o.seed);
            break;
        case OPT_HELP:
            return cli_help(HELP);
        default:
            return cli_bad_option("dpo");
        }
    }
    if (bad)
        return 2;
    if (optind < argc)
        return cli_usage_error("dpo", "unexpected argument '%s'", argv[optind]);
    if (cli_require("dpo", "--policy", policy) || cli_require("dpo", "--instrument", instrument) ||
        cli_require("dpo", "--pairs", pairs_path) || cli_require("dpo", "--out", out))
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
        !(m = sja_model_load(policy, ins, &err)) ||
        sja_dpo(m, ins, instrument, pairs, pairs_path, &o, out, &summary, &err) != SJ_OK)
        rc = cli_fail(&err);
    rc = align_run_end("dpo", rc, stopped, o.steps, out, summary);
    sja_model_free(m);
    sja_pairs_free(pairs);
    sj_instrument_free(ins);
    return rc;
}
