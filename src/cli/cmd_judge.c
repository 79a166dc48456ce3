/* sjtalign judge: a simulated panel of experts fills in the `preferred`
 * column of a pairs file, using the simulator's truth. */
#include <stdio.h>

#include "cli.h"
#include "sjtalign/sim.h"

static const char *const HELP =
    "usage: sjtalign judge --truth truth.csv --pairs pairs.csv --out judged.csv\n"
    "                      [--panel-size J] [--sharpness K] [--seed S]\n\n"
    "Plays a panel of J experts who know the true scores (truth.csv from\n"
    "`sjtalign simulate`: person_id, item_id, true_score). For each pair of candidate\n"
    "scorings (completions such as 'score: 2', a rationale may follow) the expert\n"
    "prefers the candidate nearer the true score t, with Bradley-Terry noise:\n"
    "P(prefer a) = 1 / (1 + exp(-K (|s_b - t| - |s_a - t|))). Candidates at equal\n"
    "distance are decided by a fair coin. Pair i of the file (in order) goes to\n"
    "expert (i mod J) + 1, recorded as judge_id expert_01, expert_02, ...\n\n"
    "The output keeps every input column and fills preferred (a or b) and judge_id\n"
    "for every pair (existing values are replaced; the columns are appended when\n"
    "missing). A pair whose person and item are not in the truth file, or whose\n"
    "completion holds no score, is an input error naming the line.\n\n"
    "  --truth FILE       truth.csv from simulate\n"
    "  --pairs FILE       pairs.csv (pair_id, item_id, person_id, response,\n"
    "                     completion_a, completion_b[, preferred, judge_id])\n"
    "  --out FILE         judged pairs (CSV; '-' for standard output)\n"
    "  --panel-size J     number of experts (default 5)\n"
    "  --sharpness K      Bradley-Terry sharpness, >= 0 (default 3; 0 = coin flips)\n"
    "  --seed S           random seed (default 1)\n";

int cmd_judge(int argc, char **argv)
{
    static const struct option options[] = {{"truth", required_argument, 0, 't'},
                                            {"pairs", required_argument, 0, 'p'},
                                            {"out", required_argument, 0, 'o'},
                                            {"panel-size", required_argument, 0, 'j'},
                                            {"sharpness", required_argument, 0, 'k'},
                                            {"seed", required_argument, 0, 's'},
                                            {"help", no_argument, 0, 'h'},
                                            {0, 0, 0, 0}};
    const char *truth = NULL, *pairs = NULL, *out = NULL;
    sj_panel_config cfg = {.panel_size = 5, .sharpness = 3.0, .seed = 1};
    long v;
    int c;
    while ((c = getopt_long(argc, argv, "", options, NULL)) != -1) {
        switch (c) {
        case 't':
            truth = optarg;
            break;
        case 'p':
            pairs = optarg;
            break;
        case 'o':
            out = optarg;
            break;
        case 'j':
            if (cli_long("judge", "--panel-size", optarg, 1, 9999, &v))
                return 2;
            cfg.panel_size = (size_t)v;
            break;
        case 'k':
            if (cli_double("judge", "--sharpness", optarg, 0, 1e6, &cfg.sharpness))
                return 2;
            break;
        case 's':
            if (cli_seed("judge", optarg, &cfg.seed))
                return 2;
            break;
        case 'h':
            return cli_help(HELP);
        default:
            return cli_bad_option("judge");
        }
    }
    if (optind < argc)
        return cli_usage_error("judge", "unexpected argument '%s'", argv[optind]);
    if (cli_require("judge", "--truth", truth) || cli_require("judge", "--pairs", pairs) ||
        cli_require("judge", "--out", out))
        return 2;
    sj_error err;
    sj_error_clear(&err);
    sj_panel_summary s;
    if (sj_panel_judge_files(truth, pairs, out, &cfg, &s, &err) != SJ_OK)
        return cli_fail(&err);
    fprintf(stderr,
            "judge: %zu pairs, %zu experts; %zu of %zu pairs with a nearer candidate went to "
            "it\n",
            s.n_pairs, cfg.panel_size, s.n_agree, s.n_decisive);
    return 0;
}
