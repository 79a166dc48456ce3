/* sjtalign audit: the bias-audit report of one set of machine scores. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "sjtalign/report.h"

static const char *const HELP =
    "usage: sjtalign audit --data scores.csv --instrument FILE --group COL --reference R\n"
    "                      --focal F [--human COL] [--truth FILE] [--cut X]\n"
    "                      [--match total|rest] [--purify]\n"
    "                      [--adjust none|holm|bh] [--min-cell N] [--person COL] [--item COL]\n"
    "                      [--score COL] --out DIR\n\n"
    "Audits machine scores for bias: differential item functioning (DIF) of every\n"
    "item, parity of the groups' total scores, and agreement with human scores.\n"
    "Reads a scores file written by `sjtalign score` (the input columns, then score,\n"
    "score_mode and p_<k>); the modal machine score (score_mode) is the item score.\n\n"
    "Writes into DIR (replacing an earlier report there, never anything else):\n"
    "  index.html        the report: one self-contained page (inline CSS and SVG,\n"
    "                    nothing fetched) that prints to A4 or Letter\n"
    "  audit.json        every result (schema_version, dif.items, parity, agreement,\n"
    "                    settings, provenance), read by `sjtalign compare`\n"
    "  dif.csv, parity.csv, distribution.csv, agreement.csv, fairness.csv\n"
    "  truth_agreement.csv  with --truth: agreement with the true scores\n"
    "The folder appears whole or not at all.\n\n"
    "  --data FILE          scores CSV\n"
    "  --instrument FILE    instrument.json the scores belong to\n"
    "  --group COL          group column\n"
    "  --reference R        reference group label\n"
    "  --focal F            focal group label\n"
    "  --human COL          human score column: adds agreement and fairness analyses\n"
    "  --truth FILE         true scores of a simulation (truth.csv of `sjtalign\n"
    "                       simulate`; columns named as --person and --item, and\n"
    "                       true_score): adds agreement of the machine scores, and of\n"
    "                       the human scores, with the true scores (audit.json\n"
    "                       \"truth_agreement\"). Every response needs a true score;\n"
    "                       truth rows of responses not in the scores are ignored.\n"
    "  --cut X              cut score on the total: pass rates and adverse impact ratio\n"
    "  --match total|rest   DIF matching score (default total)\n"
    "  --purify             iterative purification of the matching score\n"
    "  --adjust M           p-value adjustment over items: none (default), holm, bh\n"
    "  --min-cell N         items with fewer than N persons in a group are not tested\n"
    "                       (default 5)\n"
    "  --person COL         person column (default person_id)\n"
    "  --item COL           item column (default item_id)\n"
    "  --score COL          machine score column (default score_mode)\n"
    "  --out DIR            report folder\n";

static int parse_choice(const char *flag, const char *value, const char *const *names, int n,
                        int *out)
{
    for (int i = 0; i < n; i++)
        if (strcmp(value, names[i]) == 0) {
            *out = i;
            return 0;
        }
    return cli_usage_error("audit", "%s must be one of the listed values, got '%s'", flag, value);
}

/* Returns 0 to go on, -1 after --help, or an exit code. */
static int parse_args(int argc, char **argv, sj_audit_options *o, const char **out_dir)
{
    static const struct option options[] = {
        {"data", required_argument, 0, 'd'},   {"instrument", required_argument, 0, 'i'},
        {"group", required_argument, 0, 'g'},  {"reference", required_argument, 0, 'r'},
        {"focal", required_argument, 0, 'f'},  {"human", required_argument, 0, 'H'},
        {"truth", required_argument, 0, 'T'},  {"cut", required_argument, 0, 'c'},
        {"match", required_argument, 0, 'm'},  {"purify", no_argument, 0, 'P'},
        {"adjust", required_argument, 0, 'a'}, {"min-cell", required_argument, 0, 'M'},
        {"person", required_argument, 0, 'p'}, {"item", required_argument, 0, 't'},
        {"score", required_argument, 0, 's'},  {"out", required_argument, 0, 'o'},
        {"help", no_argument, 0, 'h'},         {0, 0, 0, 0}};
    static const char *const matches[] = {"total", "rest"};
    static const char *const adjusts[] = {"none", "holm", "bh"};
    int c, choice = 0;
    cli_getopt_reset();
    while ((c = getopt_long(argc, argv, "", options, NULL)) != -1) {
        switch (c) {
        case 'd':
            o->data_path = optarg;
            break;
        case 'i':
            o->instrument_path = optarg;
            break;
        case 'g':
            o->cols.group = optarg;
            break;
        case 'r':
            o->reference = optarg;
            break;
        case 'f':
            o->focal = optarg;
            break;
        case 'H':
            o->human_col = optarg;
            break;
        case 'T':
            o->truth_path = optarg;
            break;
        case 'p':
            o->cols.person = optarg;
            break;
        case 't':
            o->cols.item = optarg;
            break;
        case 's':
            o->score_col = optarg;
            break;
        case 'o':
            *out_dir = optarg;
            break;
        case 'P':
            o->purify = 1;
            break;
        case 'c':
            if (cli_double("audit", "--cut", optarg, -1e300, 1e300, &o->cut))
                return 2;
            break;
        case 'M':
            if (cli_long("audit", "--min-cell", optarg, 1, 1000000, &o->min_cell))
                return 2;
            break;
        case 'm':
            if (parse_choice("--match", optarg, matches, 2, &choice))
                return 2;
            o->match = (sj_match)choice;
            break;
        case 'a':
            if (parse_choice("--adjust", optarg, adjusts, 3, &choice))
                return 2;
            o->adjust = (sj_adjust)choice;
            break;
        case 'h':
            return cli_help(HELP) - 1;
        default:
            return cli_bad_option("audit");
        }
    }
    if (optind < argc)
        return cli_usage_error("audit", "unexpected argument '%s'", argv[optind]);
    if (cli_require("audit", "--data", o->data_path) ||
        cli_require("audit", "--instrument", o->instrument_path) ||
        cli_require("audit", "--group", o->cols.group) ||
        cli_require("audit", "--reference", o->reference) ||
        cli_require("audit", "--focal", o->focal) || cli_require("audit", "--out", *out_dir))
        return 2;
    return 0;
}

int cmd_audit(int argc, char **argv)
{
    sj_audit_options o;
    sj_audit_options_init(&o);
    const char *out_dir = NULL;
    int rc = parse_args(argc, argv, &o, &out_dir);
    if (rc != 0)
        return rc < 0 ? 0 : rc;
    char *command = sj_command_line(argc, argv);
    o.command_line = command;
    sj_error err;
    sj_error_clear(&err);
    cJSON *audit = sj_audit_compute(&o, &err);
    free(command);
    if (!audit)
        return cli_fail(&err);
    sj_status st = sj_audit_write(audit, out_dir, &err);
    cJSON_Delete(audit);
    if (st != SJ_OK)
        return cli_fail(&err);
    fprintf(stderr, "audit written to %s (index.html, audit.json, CSV tables)\n", out_dir);
    return 0;
}
