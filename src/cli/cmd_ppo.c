/* sjtalign ppo: align the scorer with a frozen reward model by PPO with a
 * KL penalty to the starting policy. */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "align_cli.h"
#include "cli.h"

static const cli_option PPO_OPTIONS[] = {
    {"policy", CLI_IN_DIR, "MODEL", NULL, 0, 0, NULL, CLI_REQUIRED, "the SFT model directory"},
    {"reward", CLI_IN_DIR, "MODEL", NULL, 0, 0, NULL, CLI_REQUIRED,
     "the reward model directory (same tokenizer)"},
    ALIGN_OPT_INSTRUMENT,
    {"data", CLI_IN_FILE, "FILE", NULL, 0, 0, NULL, CLI_REQUIRED,
     "responses CSV (prompts; scores are not used)"},
    {"out", CLI_OUT_DIR, "MODEL", NULL, 0, 0, NULL, CLI_REQUIRED, "output model directory"},
    {"truth", CLI_IN_FILE, "FILE", NULL, 0, 0, NULL, 0,
     "truth.csv (person_id, item_id, true_score): gold scores"},
    {"kl-coef", CLI_REAL, "B", "0.05", 0, 1e6, NULL, 0, "KL penalty coefficient"},
    {"kl-target", CLI_REAL, "T", NULL, 1e-6, 1e6, NULL, 0,
     "adapt beta toward this KL per completion (starts at\n--kl-coef; default: beta stays fixed)"},
    {"kl-horizon", CLI_REAL, "N", "10000", 1, 1e12, NULL, 0,
     "adaptive controller horizon in rollouts"},
    {"kl-stop", CLI_REAL, "X", "10", 1e-6, 1e12, NULL, 0, "stop when the KL exceeds X nats"},
    {"steps", CLI_INT, "N", "40", 1, 10000000, NULL, 0, "rollout batches"},
    {"batch", CLI_INT, "N", "64", 1, 4096, NULL, 0, "rollouts per step"},
    {"minibatch", CLI_INT, "N", "16", 1, 1024, NULL, 0, "rollouts per gradient step"},
    {"epochs", CLI_INT, "N", "2", 1, 1000, NULL, 0, "passes over each batch"},
    {"lr", CLI_REAL, "X", "0.0005", 1e-9, 1, NULL, 0,
     "learning rate (constant after the warm-up, if any)"},
    {"warmup-fraction", CLI_REAL, "X", "0", 0, 1, NULL, 0,
     "share of the optimiser updates with a linear warm-up"},
    {"value-head-clip", CLI_REAL, "X", "1", 0, 1e6, NULL, 0,
     "L2 bound on the value head's gradient (0: none)"},
    {"keep-best", CLI_FLAG, NULL, NULL, 0, 0, NULL, 0,
     "save the checkpoint --kl-budget keeps (the default; needs\n--eval-every > 0)"},
    {"keep-last", CLI_FLAG, NULL, NULL, 0, 0, NULL, 0,
     "save the last model instead of the kept checkpoint"},
    {"kl-budget", CLI_REAL, "NATS", "0.15", 0, 1e6, NULL, 0,
     "keep the evaluation with the best eval/reward among those\nwith eval/kl <= NATS (none "
     "within: the smallest eval/kl;\n0: no budget, the best eval/reward, ties lower eval/kl)"},
    {"samples-per-prompt", CLI_INT, "K", "1", 1, 4096, NULL, 0,
     "rollouts drawn on each prompt (--batch a multiple of K);\nwith one-token scores a "
     "prompt's rollouts share its\nforward and backward passes"},
    {"estimator", CLI_CHOICE, NULL, "ppo", 0, 0, "ppo|rloo", 0,
     "advantages: ppo (GAE with a value model) or rloo\n(leave-one-out mean of the other "
     "rollouts on the prompt,\nno value model; --samples-per-prompt >= 2)"},
    {"temperature", CLI_REAL, "T", "1", 0.01, 100, NULL, 0, "sampling temperature"},
    {"vf-coef", CLI_REAL, "X", "0.1", 0, 1000, NULL, 0, "value loss weight"},
    {"malformed-penalty", CLI_REAL, "X", "-4", -1e6, 1e6, NULL, 0,
     "score of a malformed completion"},
    {"eval-every", CLI_INT, "N", "10", 0, 10000000, NULL, 0,
     "fixed-set evaluation interval in steps; 0 = none"},
    {"eval-size", CLI_INT, "N", "512", 1, 10000000, NULL, 0,
     "responses in the fixed evaluation set"},
    CLI_OPT_SEED,
    CLI_OPT_RESPONSE_COLUMNS,
    ALIGN_OPT_RUN_CONTROL,
    CLI_END};

const cli_command_spec cli_spec_ppo = {
    .name = "ppo",
    .synopsis = "--policy MODEL --reward MODEL --instrument FILE --data FILE --out MODEL\n"
                "                    [--kl-coef B | --kl-target T] [--truth truth.csv] [options]",
    .about = "Proximal policy optimisation of the scorer. Each step samples --batch\n"
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
             "The saved model is, by default, the evaluated checkpoint with the best\n"
             "eval/reward among the evaluations whose eval/kl is within --kl-budget (the\n"
             "start, step 0, counts; the earlier on a tie); when none is within, the one\n"
             "with the smallest eval/kl. This guards a run without a truth file against\n"
             "drifting past its best point: the reward model's score can keep rising\n"
             "while the scorer moves away from what the reward model was trained to\n"
             "judge. The kept step, its eval/reward and eval/kl, the budget, how many\n"
             "evaluations were within it and why go to config.json (provenance.result.kept\n"
             "and provenance.keep_best) and the summary; --keep-last saves the last model.\n\n"
             "When every score level is one token and there is no rationale, a rollout is\n"
             "one action: the token after \"score: \", drawn from the policy's softmax at\n"
             "--temperature in one forward pass of the batch (its log-probability is the\n"
             "rollout's old one); the eos that ends the format is fixed like its start.\n"
             "Otherwise completions are generated token by token until eos.",
    .options = PPO_OPTIONS,
    .notes = ALIGN_RUN_NOTES,
    .examples = "sjtalign ppo --policy runs/demo/sft --reward runs/demo/reward \\\n"
                "    --instrument data/demo/instrument.json --data data/demo/responses.csv \\\n"
                "    --truth data/demo/truth.csv --out runs/demo/ppo --kl-coef 0.3 --steps 200 \\\n"
                "    --lr 0.0002 --eval-every 20",
};

/* The options of PPO's own and the fields of sja_ppo_opts they set. */
#define PPO_FIELD(option, type, field)                                                             \
    {                                                                                              \
        option, type, offsetof(sja_ppo_opts, field)                                                \
    }
static const cli_field PPO_FIELDS[] = {
    PPO_FIELD("kl-coef", CLI_FIELD_DOUBLE, kl_coef),
    PPO_FIELD("kl-target", CLI_FIELD_DOUBLE, kl_target),
    PPO_FIELD("kl-horizon", CLI_FIELD_DOUBLE, kl_horizon),
    PPO_FIELD("kl-stop", CLI_FIELD_DOUBLE, kl_stop),
    PPO_FIELD("minibatch", CLI_FIELD_INT, minibatch),
    PPO_FIELD("epochs", CLI_FIELD_INT, epochs),
    PPO_FIELD("value-head-clip", CLI_FIELD_DOUBLE, value_head_clip),
    PPO_FIELD("temperature", CLI_FIELD_DOUBLE, temperature),
    PPO_FIELD("vf-coef", CLI_FIELD_DOUBLE, vf_coef),
    PPO_FIELD("malformed-penalty", CLI_FIELD_DOUBLE, malformed_penalty),
    PPO_FIELD("eval-size", CLI_FIELD_LONG, eval_size),
    PPO_FIELD("kl-budget", CLI_FIELD_DOUBLE, kl_budget),
    PPO_FIELD("samples-per-prompt", CLI_FIELD_INT, samples_per_prompt),
};

/* The training options, from the table (defaults included); keeping the
 * best checkpoint is PPO's default, --keep-last turns it off. */
static int read_options(const cli_args *c, sja_ppo_opts *o)
{
    ALIGN_READ_STAGE_OPTIONS(c, o);
    cli_read_fields(c, PPO_FIELDS, sizeof PPO_FIELDS / sizeof PPO_FIELDS[0], o);
    if (cli_flag(c, "keep-best") && cli_flag(c, "keep-last"))
        return cli_usage_error(c->spec->name, "--keep-best and --keep-last exclude each other");
    o->keep_best = !cli_flag(c, "keep-last");
    o->estimator = strcmp(cli_text(c, "estimator"), "rloo") == 0 ? SJA_PPO_RLOO : SJA_PPO_GAE;
    return -1;
}

/* The models and the optional true scores, then the training. */
static int align_by_ppo(const cli_args *c, sja_ppo_opts *o, const sj_instrument *ins,
                        const sj_responses *data)
{
    const char *truth_path = cli_text(c, "truth"), *out = cli_text(c, "out");
    sja_model *m = NULL;
    sja_reward_model *rm = NULL;
    sja_truth *truth = NULL;
    align_run r;
    align_run_begin(&r, &o->run);
    int failed = (truth_path && !(truth = sja_truth_load(truth_path, ins, &r.err))) ||
                 !(m = sja_model_load(cli_text(c, "policy"), ins, &r.err)) ||
                 !(rm = sja_reward_load(cli_text(c, "reward"), ins, &r.err)) ||
                 sja_ppo(m, rm, ins, cli_text(c, "instrument"), data, cli_text(c, "data"), truth, o,
                         out, &r.summary, &r.err) != SJ_OK;
    int rc = align_run_close(&r, "ppo", failed ? -1 : 0, o->steps, out);
    sja_truth_free(truth);
    sja_reward_free(rm);
    sja_model_free(m);
    return rc;
}

int cmd_ppo(int argc, char **argv)
{
    cli_args c;
    int rc = cli_begin(&cli_spec_ppo, argc, argv, &c);
    if (rc >= 0)
        return rc;
    sja_ppo_opts o = sja_ppo_defaults();
    rc = read_options(&c, &o);
    sj_instrument *ins = NULL;
    sj_responses *data = NULL;
    if (rc < 0)
        rc = align_load_responses(&c, SJ_NEED_TEXT, &ins, &data);
    if (!rc)
        rc = align_by_ppo(&c, &o, ins, data);
    sj_responses_free(data);
    sj_instrument_free(ins);
    cli_args_free(&c);
    return rc;
}
