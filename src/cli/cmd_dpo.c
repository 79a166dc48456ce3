/* sjtalign dpo: direct preference optimisation on judged pairs. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "align_cli.h"
#include "cli.h"

static const cli_option DPO_OPTIONS[] = {
    {"policy", CLI_IN_DIR, "MODEL", NULL, 0, 0, NULL, CLI_REQUIRED, "the SFT model directory"},
    ALIGN_OPT_INSTRUMENT,
    {"pairs", CLI_IN_FILE, "FILE", NULL, 0, 0, NULL, CLI_REQUIRED, "judged pairs CSV"},
    {"out", CLI_OUT_DIR, "MODEL", NULL, 0, 0, NULL, CLI_REQUIRED, "output model directory"},
    {"beta", CLI_REAL, "X", "0.1", 1e-6, 1000, NULL, 0, "strength of the tie to the reference"},
    ALIGN_OPT_SCHEDULE("150", "16", "distinct pairs per step, each with all its judgments",
                       "0.0005"),
    ALIGN_OPT_KEEP_BEST("preference\naccuracy "),
    ALIGN_OPT_VAL_FRACTION,
    {"eval-every", CLI_INT, "N", "50", 0, 10000000, NULL, 0, "held-out evaluation interval"},
    ALIGN_OPT_MIN_PAIRS,
    CLI_OPT_SEED,
    ALIGN_OPT_RUN_CONTROL,
    CLI_END};

const cli_command_spec cli_spec_dpo = {
    .name = "dpo",
    .synopsis = "--policy MODEL --instrument FILE --pairs FILE --out MODEL [options]",
    .about =
        "Direct preference optimisation: minimises\n"
        "  -log sigmoid(beta [(log pi - log pi_ref)(chosen) - (log pi - log pi_ref)(rejected)])\n"
        "over judged pairs, where pi_ref is a frozen copy of the starting policy (the\n"
        "SFT scorer) and log-probs are sums over completion tokens. Every judged row is\n"
        "one judgment (a pair judged by several experts has a row per judge; its two\n"
        "sequences go through the model once for all of them, and a step draws --batch\n"
        "distinct pairs with every judgment of each); a tie\n"
        "counts half a win each way, -1/2 [log sigmoid(z) + log sigmoid(-z)] with z the\n"
        "implicit reward margin of a over b. train_log.jsonl records rewards/chosen,\n"
        "rewards/rejected (beta times the log-ratio), rewards/accuracies and\n"
        "rewards/margins per step over the decisive judgments (the loss over all), and\n"
        "the same for held-out persons (val_ prefix) every --eval-every "
        "steps.\n" ALIGN_PAIRS_FILE_ABOUT,
    .options = DPO_OPTIONS,
    .notes = ALIGN_RUN_NOTES,
    .examples = "sjtalign dpo --policy runs/demo/sft --instrument data/demo/instrument.json \\\n"
                "    --pairs runs/demo/judged.csv --out runs/demo/dpo --steps 2000 --lr 0.0002",
};

int cmd_dpo(int argc, char **argv)
{
    return align_pairs_command(&cli_spec_dpo, ALIGN_PAIRS_DPO, argc, argv);
}
