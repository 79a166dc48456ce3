/* sjtalign parity: is a score fair between a reference and a focal group? */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "sjtalign/io.h"
#include "sjtalign/stats.h"

static const char *const HELP =
    "usage: sjtalign parity --data FILE --score COL --group COL --reference R --focal F\n"
    "                       [--person COL] [--human COL] [--cut X] --out FILE|-\n\n"
    "Compares a score between a reference and a focal group (focal minus reference):\n"
    "n, mean and SD per group, mean difference, Cohen's d (pooled SD) and Hedges' g,\n"
    "Welch's t test with its 95% confidence interval; with --cut, pass rates (pass =\n"
    "score >= cut), the adverse impact ratio (focal / reference) and the four-fifths\n"
    "flag (ratio below 0.8). With --human, agreement of the score with the human\n"
    "score overall and per group (exact and adjacent agreement of the rounded score,\n"
    "quadratic weighted kappa, Pearson r, SMD = (mean machine - mean human) / pooled\n"
    "SD of both) and RSMTool-style fairness on the error machine - human, by OLS with\n"
    "the reference as base group: overall score accuracy (squared error ~ group),\n"
    "overall score difference (error ~ group) and conditional score difference (error\n"
    "~ group + human score level, against error ~ human score level): adjusted R2\n"
    "(change), F-test p and the focal group's coefficient.\n\n"
    "Without --person every row is one observation and rows with an empty score are\n"
    "left out. With --person the score is each person's total over their rows; a\n"
    "person with an empty score cell is left out, and a person whose rows disagree\n"
    "on the group is an input error. Writes JSON.\n\n"
    "  --data FILE      CSV with a header row\n"
    "  --person COL     sum each person's rows (optional)\n"
    "  --score COL      machine score column (default score)\n"
    "  --group COL      group column (default group)\n"
    "  --reference R    reference group label\n"
    "  --focal F        focal group label\n"
    "  --human COL      human score column (whole numbers; optional)\n"
    "  --cut X          cut score for pass rates (optional)\n"
    "  --out FILE|-     output JSON file, or - for standard output\n";

int cmd_parity(int argc, char **argv)
{
    static const struct option options[] = {{"data", required_argument, 0, 'd'},
                                            {"person", required_argument, 0, 'p'},
                                            {"score", required_argument, 0, 's'},
                                            {"group", required_argument, 0, 'g'},
                                            {"reference", required_argument, 0, 'r'},
                                            {"focal", required_argument, 0, 'f'},
                                            {"human", required_argument, 0, 'H'},
                                            {"cut", required_argument, 0, 'c'},
                                            {"out", required_argument, 0, 'o'},
                                            {"help", no_argument, 0, 'h'},
                                            {0, 0, 0, 0}};
    const char *data = NULL, *person = NULL, *score = "score", *group = "group";
    const char *reference = NULL, *focal = NULL, *human = NULL, *out = NULL;
    double cut = NAN;
    int c;
    cli_getopt_reset();
    while ((c = getopt_long(argc, argv, "", options, NULL)) != -1) {
        switch (c) {
        case 'd':
            data = optarg;
            break;
        case 'p':
            person = optarg;
            break;
        case 's':
            score = optarg;
            break;
        case 'g':
            group = optarg;
            break;
        case 'r':
            reference = optarg;
            break;
        case 'f':
            focal = optarg;
            break;
        case 'H':
            human = optarg;
            break;
        case 'o':
            out = optarg;
            break;
        case 'c':
            if (cli_double("parity", "--cut", optarg, -1e300, 1e300, &cut))
                return 2;
            break;
        case 'h':
            return cli_help(HELP);
        default:
            return cli_bad_option("parity");
        }
    }
    if (optind < argc)
        return cli_usage_error("parity", "unexpected argument '%s'", argv[optind]);
    if (cli_require("parity", "--data", data) || cli_require("parity", "--reference", reference) ||
        cli_require("parity", "--focal", focal) || cli_require("parity", "--out", out))
        return 2;
    sj_error err;
    sj_error_clear(&err);
    sj_table *t = sj_table_read(data, &err);
    if (!t)
        return cli_fail(&err);
    sj_parity_data *d = sj_parity_data_from_table(t, person, score, group, human, &err);
    sj_table_free(t);
    if (!d)
        return cli_fail(&err);
    sj_parity p;
    sj_status st = sj_parity_run(d, reference, focal, cut, &p, &err);
    sj_parity_data_free(d);
    if (st != SJ_OK)
        return cli_fail(&err);
    cJSON *doc = sj_parity_to_json(&p);
    sj_parity_free(&p);
    if (!doc) {
        sj_error_set(&err, SJ_ERR_WORK, "out of memory building the JSON output");
        return cli_fail(&err);
    }
    st = sj_json_write(out, doc, &err);
    cJSON_Delete(doc);
    return st == SJ_OK ? 0 : cli_fail(&err);
}
