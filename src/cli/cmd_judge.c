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
     "preferred,\njudge_id, group])"},
    {"out", CLI_OUT_FILE, "FILE|-", NULL, 0, 0, NULL, CLI_REQUIRED | CLI_STDOUT,
     "judged pairs (CSV; - for standard output)"},
    {"panel-size", CLI_INT, "J", "5", 1, 9999, NULL, 0, "number of experts"},
    {"sharpness", CLI_REAL, "K", "3", 0, 1e6, NULL, 0,
     "Bradley-Terry sharpness, >= 0 (0 = coin flips)"},
    {"overlap", CLI_REAL, "X", "0.2", 0, 1, NULL, 0,
     "share of pairs judged by several experts (0: each by one)"},
    {"judges-per-pair", CLI_INT, "N", "3", 2, 9999, NULL, 0,
     "experts judging each overlap pair (at most J)"},
    {"ties", CLI_FLAG, NULL, NULL, 0, 0, NULL, 0,
     "record 'tie' when both candidates are equally far from\nthe true score (default: a fair "
     "coin decides)"},
    {"judge-bias", CLI_TEXT, "ID:X[,ID:X]", NULL, 0, 0, NULL, 0,
     "expert ID (expert_02 or 2) leans X logits toward the\nhigher-scoring candidate on focal "
     "responses"},
    {"focal", CLI_TEXT, "F", "focal", 0, 0, NULL, 0,
     "focal label of the pairs' group column (--judge-bias)"},
    CLI_OPT_SEED,
    CLI_OPT_MAX_INPUT,
    CLI_END};

const cli_command_spec cli_spec_judge = {
    .name = "judge",
    .synopsis = "--truth truth.csv --pairs pairs.csv --out judged.csv\n"
                "                      [--panel-size J] [--sharpness K] [--overlap X]\n"
                "                      [--judges-per-pair N] [--ties] [--judge-bias ID:X]\n"
                "                      [--seed S]",
    .about = "Plays a panel of J experts who know the true scores (truth.csv from\n"
             "`sjtalign simulate`: person_id, item_id, true_score). For each pair of candidate\n"
             "scorings (completions such as 'score: 2', a rationale may follow) the expert\n"
             "prefers the candidate nearer the true score t, with Bradley-Terry noise:\n"
             "P(prefer a) = 1 / (1 + exp(-K (|s_b - t| - |s_a - t|))). Candidates at equal\n"
             "distance are decided by a fair coin, or recorded as 'tie' with --ties. Pair i\n"
             "of the file (in order) goes to expert (i mod J) + 1, recorded as judge_id\n"
             "expert_01, expert_02, ...\n\n"
             "With --overlap X (default 0.2) round(X n) pairs chosen at random are also\n"
             "judged by N - 1 more experts drawn at random (N = --judges-per-pair, default\n"
             "3): each judgment is a row of its own, with the same pair_id, right after the\n"
             "pair's first row. That lets `reward` check the panel: agreement between judges\n"
             "and each judge against the others' majority. --judge-bias ID:X makes expert ID\n"
             "add X logits toward the candidate with the higher score on responses whose\n"
             "group column is the focal label: a biased judge the panel check should find.\n\n"
             "The output keeps every input column and fills preferred (a, b or tie) and\n"
             "judge_id (existing values are replaced; the columns are appended when\n"
             "missing). A pair whose person and item are not in the truth file, or whose\n"
             "completion holds no score, is an input error naming the line.",
    .options = JUDGE_OPTIONS,
    .notes = NULL,
    .examples = "sjtalign judge --truth data/sim/truth.csv --pairs runs/pairs.csv \\\n"
                "    --out runs/judged.csv --panel-size 5 --seed 3\n"
                "sjtalign judge --truth data/sim/truth.csv --pairs runs/pairs.csv \\\n"
                "    --out runs/judged.csv --overlap 0.5 --ties --judge-bias expert_02:2",
};

int cmd_judge(int argc, char **argv)
{
    cli_args c;
    int rc = cli_begin(&cli_spec_judge, argc, argv, &c);
    if (rc >= 0)
        return rc;
    sj_panel_config cfg = {.panel_size = (size_t)cli_int(&c, "panel-size"),
                           .sharpness = cli_real(&c, "sharpness"),
                           .seed = cli_seed_value(&c, "seed"),
                           .overlap = cli_real(&c, "overlap"),
                           .judges_per_pair = (size_t)cli_int(&c, "judges-per-pair"),
                           .ties = cli_flag(&c, "ties"),
                           .focal = cli_text(&c, "focal")};
    sj_error err;
    sj_error_clear(&err);
    sj_panel_summary s;
    const char *bias = cli_given(&c, "judge-bias") ? cli_text(&c, "judge-bias") : NULL;
    if ((bias && sj_panel_parse_bias(bias, &cfg, &err) != SJ_OK) ||
        sj_panel_judge_files(cli_text(&c, "truth"), cli_text(&c, "pairs"), cli_text(&c, "out"),
                             &cfg, &s, &err) != SJ_OK) {
        sj_panel_config_free(&cfg);
        cli_args_free(&c);
        return cli_fail(&err);
    }
    fprintf(stderr,
            "judge: %zu pairs, %zu experts; %zu judgments (%zu pairs by several experts, %zu "
            "ties); %zu of %zu judgments with a nearer candidate went to it\n",
            s.n_pairs, cfg.panel_size, s.n_judgments, s.n_overlap_pairs, s.n_ties, s.n_agree,
            s.n_decisive);
    sj_panel_config_free(&cfg);
    cli_args_free(&c);
    return 0;
}
