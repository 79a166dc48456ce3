/* sjtalign parity: is a score fair between a reference and a focal group? */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "options.h"
#include "sjtalign/io.h"
#include "sjtalign/stats.h"

static const cli_option PARITY_OPTIONS[] = {
    {"data", CLI_IN_FILE, "FILE", NULL, 0, 0, NULL, CLI_REQUIRED | CLI_STDIN,
     "CSV with a header row (- reads standard input)"},
    {"person", CLI_TEXT, "COL", NULL, 0, 0, NULL, 0, "sum each person's rows (optional)"},
    {"score", CLI_TEXT, "COL", "score", 0, 0, NULL, 0, "machine score column"},
    CLI_OPT_GROUP,
    {"reference", CLI_TEXT, "R", NULL, 0, 0, NULL, CLI_REQUIRED, "reference group label"},
    {"focal", CLI_TEXT, "F", NULL, 0, 0, NULL, CLI_REQUIRED, "focal group label"},
    {"human", CLI_TEXT, "COL", NULL, 0, 0, NULL, 0, "human score column (whole numbers; optional)"},
    {"cut", CLI_REAL, "X", NULL, -1e300, 1e300, NULL, 0, "cut score for pass rates (optional)"},
    {"out", CLI_OUT_FILE, "FILE|-", NULL, 0, 0, NULL, CLI_REQUIRED | CLI_STDOUT,
     "output JSON file, or - for standard output"},
    CLI_OPT_MAX_INPUT,
    CLI_END};

const cli_command_spec cli_spec_parity = {
    .name = "parity",
    .synopsis = "--data FILE --score COL --group COL --reference R\n"
                "                       --focal F [--person COL] [--human COL] [--cut X]\n"
                "                       --out FILE|-",
    .about = "Compares a score between a reference and a focal group (focal minus reference):\n"
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
             "on the group is an input error. Writes JSON.",
    .options = PARITY_OPTIONS,
    .notes = NULL,
    .examples = "sjtalign parity --data scores.csv --person person_id --score score \\\n"
                "    --reference reference --focal focal --human human_score --cut 12 \\\n"
                "    --out parity.json\n"
                "sjtalign parity --data totals.csv --reference a --focal b --out -",
};

static int run_parity(const cli_args *c)
{
    sj_error err;
    sj_error_clear(&err);
    sj_table *t = sj_table_read(cli_text(c, "data"), &err);
    if (!t)
        return cli_fail(&err);
    sj_parity_data *d = sj_parity_data_from_table(t, cli_text(c, "person"), cli_text(c, "score"),
                                                  cli_text(c, "group"), cli_text(c, "human"), &err);
    sj_table_free(t);
    if (!d)
        return cli_fail(&err);
    double cut = cli_given(c, "cut") ? cli_real(c, "cut") : NAN;
    sj_parity p;
    sj_status st = sj_parity_run(d, cli_text(c, "reference"), cli_text(c, "focal"), cut, &p, &err);
    sj_parity_data_free(d);
    if (st != SJ_OK)
        return cli_fail(&err);
    cJSON *doc = sj_parity_to_json(&p);
    sj_parity_free(&p);
    if (!doc) {
        sj_error_set(&err, SJ_ERR_WORK, "out of memory building the JSON output");
        return cli_fail(&err);
    }
    st = sj_json_write(cli_text(c, "out"), doc, &err);
    cJSON_Delete(doc);
    return st == SJ_OK ? 0 : cli_fail(&err);
}

int cmd_parity(int argc, char **argv)
{
    cli_args c;
    int rc = cli_begin(&cli_spec_parity, argc, argv, &c);
    if (rc >= 0)
        return rc;
    rc = run_parity(&c);
    cli_args_free(&c);
    return rc;
}
