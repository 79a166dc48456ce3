/* sjtalign judge: a simulated panel of experts fills in the `preferred`
 * column of a pairs file, using the simulator's truth. */
#include <stdio.h>

#include "cli.h"
#include "options.h"
#include "sjtalign/sim.h"

static const cli_option JUDGE_OPTIONS[] = {
    {"truth", CLI_IN_FILE, "FILE", NULL, 0, 0, NULL, CLI_REQUIRED, "truth.csv from simulate"},
    {"pairs", CLI_IN_FILE, "FILE", NULL, 0, 0, NULL, CLI_REQUIRED,
     "pairs.csv (pair_id, item_id, person_id, response,\ncompletion_a, completion_b[, "
     "preferred,\njudge_id])"},
    {"out", CLI_OUT_FILE, "FILE|-", NULL, 0, 0, NULL, CLI_REQUIRED | CLI_STDOUT,
     "judged pairs (CSV; - for standard output)"},
    {"panel-size", CLI_INT, "J", "5", 1, 9999, NULL, 0, "number of experts"},
    {"sharpness", CLI_REAL, "K", "3", 0, 1e6, NULL, 0,
     "Bradley-Terry sharpness, >= 0 (0 = coin flips)"},
    CLI_OPT_SEED,
    CLI_OPT_MAX_INPUT,
    CLI_END};

const cli_command_spec cli_spec_judge = {
    .name = "judge",
    .synopsis = "--truth truth.csv --pairs pairs.csv --out judged.csv\n"
                "                      [--panel-size J] [--sharpness K] [--seed S]",
    .about = "Plays a panel of J experts who know the true scores (truth.csv from\n"
             "`sjtalign simulate`: person_id, item_id, true_score). For each pair of candidate\n"
             "scorings (completions such as 'score: 2', a rationale may follow) the expert\n"
             "prefers the candidate nearer the true score t, with Bradley-Terry noise:\n"
             "P(prefer a) = 1 / (1 + exp(-K (|s_b - t| - |s_a - t|))). Candidates at equal\n"
             "distance are decided by a fair coin. Pair i of the file (in order) goes to\n"
             "expert (i mod J) + 1, recorded as judge_id expert_01, expert_02, ...\n\n"
             "The output keeps every input column and fills preferred (a or b) and judge_id\n"
             "for every pair (existing values are replaced; the columns are appended when\n"
             "missing). A pair whose person and item are not in the truth file, or whose\n"
             "completion holds no score, is an input error naming the line.",
    .options = JUDGE_OPTIONS,
    .notes = NULL,
    .examples = "sjtalign judge --truth data/sim/truth.csv --pairs runs/pairs.csv \\\n"
                "    --out runs/judged.csv --panel-size 5 --seed 3",
};

int cmd_judge(int argc, char **argv)
{
    cli_args c;
    int rc = cli_begin(&cli_spec_judge, argc, argv, &c);
    if (rc >= 0)
        return rc;
    sj_panel_config cfg = {.panel_size = (size_t)cli_int(&c, "panel-size"),
                           .sharpness = cli_real(&c, "sharpness"),
                           .seed = cli_seed_value(&c, "seed")};
    sj_error err;
    sj_error_clear(&err);
    sj_panel_summary s;
    if (sj_panel_judge_files(cli_text(&c, "truth"), cli_text(&c, "pairs"), cli_text(&c, "out"),
                             &cfg, &s, &err) != SJ_OK) {
        cli_args_free(&c);
        return cli_fail(&err);
    }
    fprintf(stderr,
            "judge: %zu pairs, %zu experts; %zu of %zu pairs with a nearer candidate went to "
            "it\n",
            s.n_pairs, cfg.panel_size, s.n_agree, s.n_decisive);
    cli_args_free(&c);
    return 0;
}
