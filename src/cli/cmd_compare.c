/* sjtalign compare: the before/after report of two or more audits. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "sjtalign/report.h"

static const char *const HELP =
    "usage: sjtalign compare --before DIR --after DIR [--after DIR2 ...]\n"
    "                        [--training-log FILE] [--labels \"SFT,PPO,DPO\"] --out DIR\n\n"
    "Sets audits written by `sjtalign audit` side by side: the audit of the scorer\n"
    "before alignment and of one or more aligned scorers (e.g. PPO and DPO) of the\n"
    "same instrument and groups. Shows per-item DIF before and after (a dumbbell\n"
    "chart of effect sizes over the ETS bands and the class changes, e.g. C->A),\n"
    "group parity and agreement with human scores before and after (the alignment\n"
    "tax, in plain words) and, given a PPO training log, the reward, gold reward,\n"
    "KL and each group's mean score over the steps.\n\n"
    "Writes into DIR (replacing an earlier report there, never anything else):\n"
    "  index.html     the report (self-contained; prints to A4 or Letter)\n"
    "  compare.json   {\"items\": [{\"item\", \"before\", \"after\", \"change\"}], \"parity\":\n"
    "                 {\"before\", \"after\"}, \"agreement\": {\"before\", \"after\"},\n"
    "                 \"audits\": [labels...], ...}; with more than one --after,\n"
    "                 \"after\" is the first and \"by_label\" holds every audit\n"
    "  changes.csv    one row per item and aligned scorer: classes and effects\n\n"
    "  --before DIR          audit of the scorer before alignment\n"
    "  --after DIR           audit of an aligned scorer (repeat for several)\n"
    "  --training-log FILE   train_log.jsonl of the PPO run (TRL metric names)\n"
    "  --labels L1,L2,...    one label per audit, before first (default before,\n"
    "                        after or after 1, after 2, ...)\n"
    "  --out DIR             report folder\n\n"
    "Exit 2: a folder without audit.json, audits of different instruments or groups.\n";

#define MAX_AUDITS 16

int cmd_compare(int argc, char **argv)
{
    static const struct option options[] = {{"before", required_argument, 0, 'b'},
                                            {"after", required_argument, 0, 'a'},
                                            {"training-log", required_argument, 0, 't'},
                                            {"labels", required_argument, 0, 'l'},
                                            {"out", required_argument, 0, 'o'},
                                            {"help", no_argument, 0, 'h'},
                                            {0, 0, 0, 0}};
    const char *dirs[MAX_AUDITS] = {0};
    size_t n_after = 0;
    const char *before = NULL, *log = NULL, *labels_text = NULL, *out_dir = NULL;
    int c;
    cli_getopt_reset();
    while ((c = getopt_long(argc, argv, "", options, NULL)) != -1) {
        switch (c) {
        case 'b':
            before = optarg;
            break;
        case 'a':
            if (n_after + 1 >= MAX_AUDITS)
                return cli_usage_error("compare", "at most %d --after folders", MAX_AUDITS - 1);
            dirs[1 + n_after++] = optarg;
            break;
        case 't':
            log = optarg;
            break;
        case 'l':
            labels_text = optarg;
            break;
        case 'o':
            out_dir = optarg;
            break;
        case 'h':
            return cli_help(HELP);
        default:
            return cli_bad_option("compare");
        }
    }
    if (optind < argc)
        return cli_usage_error("compare", "unexpected argument '%s'", argv[optind]);
    if (cli_require("compare", "--before", before) || cli_require("compare", "--out", out_dir))
        return 2;
    if (n_after == 0)
        return cli_usage_error("compare", "--after is required (at least one)");
    dirs[0] = before;
    size_t n = n_after + 1;
    sj_error err;
    sj_error_clear(&err);
    char **labels = NULL;
    if (labels_text && !(labels = sj_split_labels(labels_text, n, &err)))
        return cli_fail(&err);
    char *command = sj_command_line(argc, argv);
    sj_compare_options o = {n, dirs, (const char *const *)labels, log, command};
    cJSON *cmp = sj_compare_build(&o, &err);
    free(command);
    sj_labels_free(labels, n);
    if (!cmp)
        return cli_fail(&err);
    sj_status st = sj_compare_write(cmp, out_dir, &err);
    cJSON_Delete(cmp);
    if (st != SJ_OK)
        return cli_fail(&err);
    fprintf(stderr, "comparison written to %s (index.html, compare.json, changes.csv)\n", out_dir);
    return 0;
}
