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
    ALIGN_OPT_SCHEDULE("300", "16", "distinct pairs per step, each with all its judgments",
                       "0.001"),
    {"head-clip", CLI_REAL, "X", "1", 0, 1e6, NULL, 0,
     "L2 bound on the reward head's gradient (0: none)"},
    ALIGN_OPT_KEEP_BEST("pairwise\naccuracy "),
    {"margin", CLI_REAL, "X", "0", -100, 100, NULL, 0, "Bradley-Terry margin"},
    ALIGN_OPT_VAL_FRACTION,
    {"eval-every", CLI_INT, "N", "50", 0, 10000000, NULL, 0, "held-out evaluation interval"},
    ALIGN_OPT_MIN_PAIRS,
    {"judge-weights", CLI_CHOICE, NULL, "none", 0, 0, "none|agreement", 0,
     "weight each judgment by its judge's agreement with the\nothers' majority (agreement) or "
     "not (none)"},
    {"focal", CLI_TEXT, "F", "focal", 0, 0, NULL, 0,
     "focal group label of the pairs' group column"},
    {"reference", CLI_TEXT, "R", "reference", 0, 0, NULL, 0,
     "reference group label of the pairs' group column"},
    CLI_OPT_SEED,
    ALIGN_OPT_RUN_CONTROL,
    CLI_END};

const cli_command_spec cli_spec_reward = {
    .name = "reward",
    .synopsis = "--init MODEL --instrument FILE --pairs FILE --out MODEL [options]",
    .about = "Trains a reward model: the backbone of MODEL (the SFT scorer) with a scalar\n"
             "head on the last token (eos) of prompt + completion, by the Bradley-Terry\n"
             "loss -log sigmoid(r_chosen - r_rejected - margin) on the judged pairs (rows\n"
             "with preferred a, b or tie and two different completions; a tie counts half a\n"
             "win each way, -1/2 [log sigmoid(d) + log sigmoid(-d)], d = r_a - r_b). Every\n"
             "row is one judgment: a pair judged by several experts has a row per judge.\n"
             "A step draws --batch distinct pairs and learns from every judgment of each\n"
             "(the loss is their mean); a pair's two sequences go through the model once.\n\n"
             "Before training the panel is checked: Krippendorff's alpha over the pairs with\n"
             "two judgments or more, each judge's agreement with the majority of the others\n"
             "(flagged below 0.6 on 10 or more judgments) and the rate at which a judge\n"
             "prefers the higher-scoring candidate on focal and on reference responses (the\n"
             "pairs' group column; flagged when the Holm-adjusted p < 0.05). The check goes\n"
             "to panel.json and panel.csv in MODEL and its summary to standard error. With\n"
             "--judge-weights agreement each judgment weighs max(0, 2 x agreement - 1) of\n"
             "its judge (1 for a judge without compared judgments), scaled to mean 1.\n\n"
             "A share of persons is held out for pairwise accuracy over the decisive pairs\n"
             "(val_accuracy in train_log.jsonl). Afterwards\n"
             "the rewards are normalised to mean 0 and SD 1 on completions sampled from\n"
             "MODEL for the pairs' prompts; the normalisation is stored in the model\n"
             "(tensor reward.norm and config.json provenance) and the model is "
             "frozen.\n" ALIGN_PAIRS_FILE_ABOUT,
    .options = REWARD_OPTIONS,
    .notes = ALIGN_RUN_NOTES,
    .examples = "sjtalign reward --init runs/demo/sft --instrument data/demo/instrument.json \\\n"
                "    --pairs runs/demo/judged.csv --out runs/demo/reward --steps 1500 --lr 0.0005",
};

int cmd_reward(int argc, char **argv)
{
    return align_pairs_command(&cli_spec_reward, ALIGN_PAIRS_REWARD, argc, argv);
}
