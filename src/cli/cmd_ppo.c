/* sjtalign ppo: align the scorer with a frozen reward model by PPO with a
 * KL penalty to the starting policy. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "align_cli.h"
#include "cli.h"

static const char *const HELP =
    "usage: sjtalign ppo --policy MODEL --reward MODEL --instrument FILE --data FILE --out MODEL\n"
    "                    [--kl-coef B | --kl-target T] [--truth truth.csv] [options]\n\n"
    "Proximal policy optimisation of the scorer. Each step samples --batch\n"
    "responses, lets the policy complete \"score: \" (the fixed start of the format\n"
    "is part of the query) at --temperature, and scores the completion\n"
    "with the frozen reward model (normalised reward on the last token; a\n"
    "completion that is not \"score: k\" gets --malformed-penalty instead). Per-token\n"
    "rewards are -beta (log pi - log pi_ref) with pi_ref a frozen copy of the\n"
    "starting policy (log-probs at the sampling temperature). A value model\n"
    "(initialised from the reward model) gives GAE advantages (gamma 1, lambda\n"
    "0.95), whitened over the batch; --epochs passes of --minibatch rollouts\n"
    "update the policy by the clipped ratio objective (0.2) and the value model\n"
    "by the clipped value loss. beta is fixed (--kl-coef) or adapted toward a KL\n"
    "target (--kl-target, Ziegler et al.). train_log.jsonl uses TRL's names:\n"
    "objective/kl, objective/kl_coef, objective/entropy, objective/non_score_reward,\n"
    "objective/rlhf_reward, objective/scores, policy/approxkl_avg,\n"
    "policy/clipfrac_avg, loss/policy_avg, loss/value_avg, val/clipfrac_avg,\n"
    "val/ratio, val/ratio_var, plus val/valid_completions, group/<label>/mean_score\n"
    "(mean sampled score per group) and, with --truth, gold/scores (minus the\n"
    "distance of the sampled score from the true score). Training stops early,\n"
    "with a message, when the KL per completion exceeds --kl-stop.\n\n"
    "A fixed evaluation set of --eval-size responses (drawn once by the seed)\n"
    "is measured exactly, without sampling, before training (log step 0) and\n"
    "every --eval-every steps: eval/reward (the expected normalised reward of\n"
    "the policy's score distribution), eval/kl (KL to the reference over the\n"
    "score levels) and, with --truth, gold/eval (minus the expected distance\n"
    "from the true score) and gold/eval_exact (share of modal scores equal to\n"
    "the true score). One batch of rollouts is too small a sample to follow\n"
    "these; the fixed set is not.\n\n"
    "  --policy MODEL     the SFT model directory\n"
    "  --reward MODEL     the reward model directory (same tokenizer)\n"
    "  --instrument FILE  instrument.json\n"
    "  --data FILE        responses CSV (prompts; scores are not used)\n"
    "  --out MODEL        output model directory\n"
    "  --truth FILE       truth.csv (person_id, item_id, true_score): gold scores\n"
    "  --kl-coef B        KL penalty coefficient (default 0.05)\n"
    "  --kl-target T      adapt beta toward this KL per completion (starts at --kl-coef)\n"
    "  --kl-horizon N     adaptive controller horizon in rollouts (default 10000)\n"
    "  --kl-stop X        stop when the KL exceeds X nats (default 10)\n"
    "  --steps N          rollout batches (default 40)\n"
    "  --batch N          rollouts per step (default 64)\n"
    "  --minibatch N      rollouts per gradient step (default 16)\n"
    "  --epochs N         passes over each batch (default 2)\n"
    "  --lr X             learning rate (constant; default 0.0005)\n"
    "  --temperature T    sampling temperature (default 1)\n"
    "  --vf-coef X        value loss weight (default 0.1)\n"
    "  --malformed-penalty X  score of a malformed completion (default -4)\n"
    "  --eval-every N     fixed-set evaluation interval in steps (default 10; 0 = none)\n"
    "  --eval-size N      responses in the fixed evaluation set (default 512)\n"
    "  --seed S           random seed (default 1)\n" ALIGN_COLUMN_HELP ALIGN_RUN_HELP;

enum {
    OPT_POLICY = 1,
    OPT_REWARD,
    OPT_INSTRUMENT,
    OPT_DATA,
    OPT_OUT,
    OPT_TRUTH,
    OPT_KLC,
    OPT_KLT,
    OPT_KLH,
    OPT_KLS,
    OPT_STEPS,
    OPT_BATCH,
    OPT_MINI,
    OPT_EPOCHS,
    OPT_LR,
    OPT_TEMP,
    OPT_VF,
    OPT_MAL,
    OPT_SEED,
    OPT_EVAL_EVERY,
    OPT_EVAL_SIZE,
    OPT_HELP
};

int cmd_ppo(int argc, char **argv)
{
    static const struct option options[] = {{"policy", required_argument, 0, OPT_POLICY},
                                            {"reward", required_argument, 0, OPT_REWARD},
                                            {"instrument", required_argument, 0, OPT_INSTRUMENT},
                                            {"data", required_argument, 0, OPT_DATA},
                                            {"out", required_argument, 0, OPT_OUT},
                                            {"truth", required_argument, 0, OPT_TRUTH},
                                            {"kl-coef", required_argument, 0, OPT_KLC},
                                            {"kl-target", required_argument, 0, OPT_KLT},
                                            {"kl-horizon", required_argument, 0, OPT_KLH},
                                            {"kl-stop", required_argument, 0, OPT_KLS},
                                            {"steps", required_argument, 0, OPT_STEPS},
                                            {"batch", required_argument, 0, OPT_BATCH},
                                            {"minibatch", required_argument, 0, OPT_MINI},
                                            {"epochs", required_argument, 0, OPT_EPOCHS},
                                            {"lr", required_argument, 0, OPT_LR},
                                            {"temperature", required_argument, 0, OPT_TEMP},
                                            {"vf-coef", required_argument, 0, OPT_VF},
                                            {"malformed-penalty", required_argument, 0, OPT_MAL},
                                            {"seed", required_argument, 0, OPT_SEED},
                                            {"eval-every", required_argument, 0, OPT_EVAL_EVERY},
                                            {"eval-size", required_argument, 0, OPT_EVAL_SIZE},
                                            {"help", no_argument, 0, OPT_HELP},
                                            ALIGN_COLUMN_OPTIONS,
                                            ALIGN_RUN_OPTIONS,
                                            {0, 0, 0, 0}};
    const char *policy = NULL, *reward = NULL, *instrument = NULL, *data_path = NULL, *out = NULL,
               *truth_path = NULL;
    sja_ppo_opts o = sja_ppo_defaults();
    align_common a = {0};
    long v;
    int c, bad = 0;
    cli_getopt_reset();
    while (!bad && (c = getopt_long(argc, argv, "", options, NULL)) != -1) {
        int r = align_common_option("ppo", c, optarg, &a);
        if (r == 0)
            r = align_run_option("ppo", c, optarg, &o.run);
        if (r < 0)
            return 2;
        if (r > 0)
            continue;
        switch (c) {
        case OPT_POLICY:
            policy = optarg;
            break;
        case OPT_REWARD:
            reward = optarg;
            break;
        case OPT_INSTRUMENT:
            instrument = optarg;
            break;
        case OPT_DATA:
            data_path = optarg;
            break;
        case OPT_OUT:
            out = optarg;
            break;
        case OPT_TRUTH:
            truth_path = optarg;
            break;
        case OPT_KLC:
            bad = cli_double("ppo", "--kl-coef", optarg, 0, 1e6, &o.kl_coef);
            break;
        case OPT_KLT:
            bad = cli_double("ppo", "--kl-target", optarg, 1e-6, 1e6, &o.kl_target);
            break;
        case OPT_KLH:
            bad = cli_double("ppo", "--kl-horizon", optarg, 1, 1e12, &o.kl_horizon);
            break;
        case OPT_KLS:
            bad = cli_double("ppo", "--kl-stop", optarg, 1e-6, 1e12, &o.kl_stop);
            break;
        case OPT_STEPS:
            bad = cli_long("ppo", "--steps", optarg, 1, 10000000, &o.steps);
            break;
        case OPT_BATCH:
            bad = cli_long("ppo", "--batch", optarg, 1, 4096, &v);
            o.batch = (int)v;
            break;
        case OPT_MINI:
            bad = cli_long("ppo", "--minibatch", optarg, 1, 1024, &v);
            o.minibatch = (int)v;
            break;
        case OPT_EPOCHS:
            bad = cli_long("ppo", "--epochs", optarg, 1, 1000, &v);
            o.epochs = (int)v;
            break;
        case OPT_LR:
            bad = cli_double("ppo", "--lr", optarg, 1e-9, 1.0, &o.lr);
            break;
        case OPT_TEMP:
            bad = cli_double("ppo", "--temperature", optarg, 0.01, 100, &o.temperature);
            break;
        case OPT_VF:
            bad = cli_double("ppo", "--vf-coef", optarg, 0, 1000, &o.vf_coef);
            break;
        case OPT_MAL:
            bad = cli_double("ppo", "--malformed-penalty", optarg, -1e6, 1e6, &o.malformed_penalty);
            break;
        case OPT_SEED:
            bad = cli_seed("ppo", optarg, &o.seed);
            break;
        case OPT_EVAL_EVERY:
            bad = cli_long("ppo", "--eval-every", optarg, 0, 10000000, &o.eval_every);
            break;
        case OPT_EVAL_SIZE:
            bad = cli_long("ppo", "--eval-size", optarg, 1, 10000000, &o.eval_size);
            break;
        case OPT_HELP:
            return cli_help(HELP);
        default:
            return cli_bad_option("ppo");
        }
    }
    if (bad)
        return 2;
    if (optind < argc)
        return cli_usage_error("ppo", "unexpected argument '%s'", argv[optind]);
    if (cli_require("ppo", "--policy", policy) || cli_require("ppo", "--reward", reward) ||
        cli_require("ppo", "--instrument", instrument) || cli_require("ppo", "--data", data_path) ||
        cli_require("ppo", "--out", out))
        return 2;
    align_apply_threads(&a);
    o.quiet = a.quiet;
    sj_instrument *ins = NULL;
    sj_responses *data = NULL;
    int rc = align_load_data(instrument, data_path, &a, SJ_NEED_TEXT, &ins, &data);
    if (rc)
        return rc;
    sj_error err;
    sj_error_clear(&err);
    sja_model *m = NULL;
    sja_reward_model *rm = NULL;
    sja_truth *truth = NULL;
    long stopped = 0;
    align_run_start(&o.run, &stopped);
    cJSON *summary = NULL;
    if ((truth_path && !(truth = sja_truth_load(truth_path, ins, &err))) ||
        !(m = sja_model_load(policy, ins, &err)) || !(rm = sja_reward_load(reward, ins, &err)) ||
        sja_ppo(m, rm, ins, instrument, data, data_path, truth, &o, out, &summary, &err) != SJ_OK)
        rc = cli_fail(&err);
    rc = align_run_end("ppo", rc, stopped, o.steps, out, summary);
    sja_truth_free(truth);
    sja_reward_free(rm);
    sja_model_free(m);
    sj_responses_free(data);
    sj_instrument_free(ins);
    return rc;
}
