/* sjtalign parity: is a score fair between a reference group and one or
 * more focal groups? */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "options.h"
#include "sjtalign/dist.h"
#include "sjtalign/io.h"
#include "sjtalign/stats.h"
#include "text_table.h"

#define MAX_FOCAL 64

static const cli_option PARITY_OPTIONS[] = {
    {"data", CLI_IN_FILE, "FILE", NULL, 0, 0, NULL, CLI_REQUIRED | CLI_STDIN,
     "CSV with a header row (- reads standard input)"},
    {"person", CLI_TEXT, "COL", NULL, 0, 0, NULL, 0,
     "person column: each person's rows are summed into one\nobservation (default: person_id when "
     "the file has it)"},
    {"rows", CLI_FLAG, NULL, NULL, 0, 0, NULL, 0,
     "every row is one observation, even in a file with a\nperson column"},
    {"score", CLI_TEXT, "COL", NULL, 0, 0, NULL, 0,
     "machine score column (default: score_mode when the file\nhas it, as a scores file of "
     "`sjtalign score` does, else\nscore)"},
    CLI_OPT_GROUP,
    {"reference", CLI_TEXT, "R", NULL, 0, 0, NULL, CLI_REQUIRED, "reference group label"},
    {"focal", CLI_TEXT, "F[,F2]", NULL, 0, 0, NULL, CLI_REQUIRED,
     "focal group label(s); each is compared with the reference"},
    {"human", CLI_TEXT, "COL", NULL, 0, 0, NULL, 0, "human score column (whole numbers; optional)"},
    {"cut", CLI_REAL, "X", NULL, -1e300, 1e300, NULL, 0, "cut score for pass rates (optional)"},
    {"format", CLI_CHOICE, NULL, NULL, 0, 0, "csv|json|table", 0,
     "output format; table: aligned columns for reading in a\nterminal (default: csv if FILE ends "
     "in .csv, else json)"},
    {"out", CLI_OUT_FILE, "FILE|-", NULL, 0, 0, NULL, CLI_REQUIRED | CLI_STDOUT,
     "output file, or - for standard output"},
    CLI_OPT_MAX_INPUT,
    CLI_END};

const cli_command_spec cli_spec_parity = {
    .name = "parity",
    .synopsis = "--data FILE --reference R --focal F[,F2...] --out FILE|-\n"
                "                       [--score COL] [--group COL] [--person COL | --rows]\n"
                "                       [--human COL] [--cut X] [--format csv|json|table]",
    .about = "Compares a score between a reference and each focal group (focal minus\n"
             "reference): n, mean and SD per group, mean difference, Cohen's d (pooled SD) and\n"
             "Hedges' g, Welch's t test with its 95% confidence interval; with --cut, pass\n"
             "rates (pass = score >= cut), the adverse impact ratio (focal / reference) and the\n"
             "four-fifths flag (ratio below 0.8). With --human, agreement of the score with the\n"
             "human score overall and per group (exact and adjacent agreement of the rounded\n"
             "score, quadratic weighted kappa, Pearson r, SMD = (mean machine - mean human) /\n"
             "pooled SD of both) and RSMTool-style fairness on the error machine - human, by\n"
             "OLS with the reference as base group: overall score accuracy (squared error ~\n"
             "group), overall score difference (error ~ group) and conditional score\n"
             "difference (error ~ group + human score level, against error ~ human score\n"
             "level): adjusted R2 (change), F-test p and the focal group's coefficient.\n\n"
             "Observations: with a person column (--person, or person_id when the file has\n"
             "it) the score is each person's total over their rows; a person with an empty\n"
             "score cell is left out, and a person whose rows disagree on the group is an\n"
             "input error. Without one (or with --rows) every row is one observation and rows\n"
             "with an empty score are left out; when the file has an item_id column, a\n"
             "warning says that persons probably have several rows, which the t test would\n"
             "treat as independent (too small a p).\n\n"
             "Outputs: json (one focal group: the comparison's object; several:\n"
             "{\"reference\", \"focal\": [...], \"comparisons\": [one object per focal group]}),\n"
             "csv (the reference's row, then a row per focal group with its comparison;\n"
             "four_fifths_flag TRUE/FALSE, NA without a cut) or table. Standard error gets\n"
             "the score column read, how observations were formed and each comparison in a\n"
             "line; a cut above every observed score, or at or below the lowest, is warned\n"
             "about (parity does not know the instrument's range; audit refuses a cut\n"
             "outside it).",
    .options = PARITY_OPTIONS,
    .notes = NULL,
    .examples = "sjtalign parity --data scores.csv --reference reference --focal focal \\\n"
                "    --human human_score --cut 12 --out parity.json\n"
                "sjtalign parity --data scores.csv --reference A --focal B,C --format table "
                "--out -\n"
                "sjtalign parity --data totals.csv --score total --reference a --focal b --out -",
};

typedef struct {
    const char *person, *score, *format, *out;
    const char *focal[MAX_FOCAL];
    size_t n_focal;
    double cut;
} parity_args;

static int ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcmp(s + n - m, suffix) == 0;
}

/* The person column, by the rule of --help, and a line on standard error
 * saying how observations are formed. */
static const char *person_column(const cli_args *c, const sj_table *t)
{
    const char *person = cli_text(c, "person");
    if (!person && !cli_flag(c, "rows") && sj_table_find_column(t, "person_id") >= 0)
        person = "person_id";
    if (person)
        fprintf(stderr,
                "parity: one observation per person (column '%s'): each person's rows "
                "summed\n",
                person);
    else if (cli_flag(c, "rows"))
        fprintf(stderr, "parity: every row is one observation (--rows)\n");
    else if (sj_table_find_column(t, "item_id") >= 0)
        fprintf(stderr,
                "parity: warning: every row is treated as an independent observation (no "
                "person column: --person not given, no 'person_id' column), but the file has an "
                "'item_id' column, so a person probably has several rows and the t test's df "
                "and p are far too optimistic; give --person COL to compare persons' totals\n");
    else
        fprintf(stderr, "parity: every row is one observation (no person column); if a person "
                        "has several rows, give --person COL to sum them\n");
    return person;
}

/* A cut outside the observed scores makes pass rates trivial; parity does
 * not know the possible range, so it warns rather than refuses. */
static void check_cut(const sj_parity_data *d, double cut)
{
    if (isnan(cut) || d->n == 0)
        return;
    double lo = d->score[0], hi = d->score[0];
    for (size_t i = 1; i < d->n; i++) {
        lo = d->score[i] < lo ? d->score[i] : lo;
        hi = d->score[i] > hi ? d->score[i] : hi;
    }
    if (cut > hi)
        fprintf(stderr,
                "parity: warning: --cut %g is above every observed score (%g to %g): nobody "
                "passes, so the pass rates are 0 and the adverse impact ratio is undefined\n",
                cut, lo, hi);
    else if (cut <= lo)
        fprintf(stderr,
                "parity: warning: --cut %g is at or below every observed score (%g to %g): "
                "everybody passes, so the adverse impact ratio is 1 whatever the scores\n",
                cut, lo, hi);
}

static void format_value(double v, const char *fmt, char *out, size_t n)
{
    if (isfinite(v))
        snprintf(out, n, fmt, v);
    else
        snprintf(out, n, "NA");
}

/* One line per comparison on standard error: what was found. */
static void print_finding(const sj_parity *p)
{
    char pv[16];
    cli_format_p(p->welch_p, pv, sizeof pv);
    fprintf(stderr,
            "parity: focal '%s' against reference '%s': n %ld and %ld, mean difference %.3f "
            "(95%% CI %.3f to %.3f), Cohen's d %.3f, Welch p %s",
            p->focal.name, p->ref.name, p->focal.n, p->ref.n, p->mean_diff, p->ci95_low,
            p->ci95_high, p->cohens_d, pv);
    if (!isnan(p->cut)) {
        char air[32];
        format_value(p->adverse_impact_ratio, "%.3f", air, sizeof air);
        fprintf(stderr, "; pass rates %.3f and %.3f at cut %g, adverse impact ratio %s%s",
                p->focal.pass_rate, p->ref.pass_rate, p->cut, air,
                p->four_fifths_flag == 1 ? " (below four-fifths)" : "");
    }
    if (p->has_human)
        fprintf(stderr, "; QWK with the human score %.3f (focal %.3f, reference %.3f)",
                p->agreement.qwk, p->focal.agreement.qwk, p->ref.agreement.qwk);
    fprintf(stderr, "\n");
}

/* A group's row of the terminal table; comparison NULL on the reference's. */
static void table_row(cli_text_table *t, const sj_parity_group *g, const sj_parity *comparison,
                      int cut, int human)
{
    char n[32], mean[32], sd[32], pass[32], diff[32], ci[64], d[32], gg[32], pv[16], air[32],
        qwk[32], smd[32];
    const sj_parity *p = comparison;
    snprintf(n, sizeof n, "%ld", g->n);
    format_value(g->mean, "%.3f", mean, sizeof mean);
    format_value(g->sd, "%.3f", sd, sizeof sd);
    format_value(g->pass_rate, "%.3f", pass, sizeof pass);
    format_value(p ? p->mean_diff : NAN, "%.3f", diff, sizeof diff);
    if (p && isfinite(p->ci95_low))
        snprintf(ci, sizeof ci, "[%.3f, %.3f]", p->ci95_low, p->ci95_high);
    else
        snprintf(ci, sizeof ci, p ? "NA" : "");
    format_value(p ? p->cohens_d : NAN, "%.3f", d, sizeof d);
    format_value(p ? p->hedges_g : NAN, "%.3f", gg, sizeof gg);
    cli_format_p(p ? p->welch_p : NAN, pv, sizeof pv);
    format_value(p ? p->adverse_impact_ratio : NAN, "%.3f", air, sizeof air);
    format_value(g->agreement.qwk, "%.3f", qwk, sizeof qwk);
    format_value(g->agreement.smd, "%.3f", smd, sizeof smd);
    const char *cells[16];
    size_t k = 0;
    cells[k++] = g->name;
    cells[k++] = p ? "focal" : "reference";
    cells[k++] = n;
    cells[k++] = mean;
    cells[k++] = sd;
    if (cut)
        cells[k++] = pass;
    cells[k++] = p ? diff : "";
    cells[k++] = ci;
    cells[k++] = p ? d : "";
    cells[k++] = p ? gg : "";
    cells[k++] = p ? pv : "";
    if (cut) {
        cells[k++] = p ? air : "";
        cells[k++] = !p ? "" : p->four_fifths_flag < 0 ? "NA" : p->four_fifths_flag ? "yes" : "no";
    }
    if (human) {
        cells[k++] = qwk;
        cells[k++] = smd;
    }
    cli_text_table_add(t, cells);
}

static sj_status write_table(const sj_parity *p, size_t n, const char *path, sj_error *err)
{
    int cut = !isnan(p[0].cut), human = p[0].has_human;
    const char *header[16];
    char align[17];
    size_t k = 0;
    const char *const lead[] = {"group", "role", "n", "mean", "sd"};
    for (size_t i = 0; i < 5; i++)
        header[k++] = lead[i];
    if (cut)
        header[k++] = "pass rate";
    const char *const comparison[] = {"difference", "95% CI", "d", "g", "Welch p"};
    for (size_t i = 0; i < 5; i++)
        header[k++] = comparison[i];
    if (cut) {
        header[k++] = "AI ratio";
        header[k++] = "below 4/5";
    }
    if (human) {
        header[k++] = "QWK";
        header[k++] = "SMD";
    }
    for (size_t i = 0; i < k; i++)
        align[i] = i < 2 ? 'l' : 'r';
    align[k] = '\0';
    cli_text_table t;
    cli_text_table_init(&t, header, k, align);
    table_row(&t, &p[0].ref, NULL, cut, human);
    for (size_t i = 0; i < n; i++)
        table_row(&t, &p[i].focal, &p[i], cut, human);
    sj_buf b = {0};
    cli_text_table_render(&t, &b);
    cli_text_table_free(&t);
    sj_buf_printf(&b, "difference: focal mean - reference mean, 95%% CI by Welch's t; d: Cohen's "
                      "d (pooled SD); g: Hedges' g.\n");
    if (cut)
        sj_buf_printf(&b, "pass: score >= %g; AI ratio: focal pass rate / reference pass rate.\n",
                      p[0].cut);
    if (human)
        sj_buf_printf(&b, "QWK, SMD: the group's agreement with the human score (SMD: machine - "
                          "human, pooled SD).\n");
    sj_status st = cli_write_text(path, &b, err);
    sj_buf_free(&b);
    return st;
}

/* One focal group: the comparison's object; several: the comparisons in
 * one document. */
static sj_status write_json(const sj_parity *p, size_t n, const parity_args *a, sj_error *err)
{
    cJSON *doc = n == 1 ? sj_parity_to_json(&p[0]) : cJSON_CreateObject();
    if (doc && n > 1) {
        cJSON_AddStringToObject(doc, "reference", p[0].ref.name);
        cJSON *focal = cJSON_AddArrayToObject(doc, "focal");
        cJSON *list = cJSON_AddArrayToObject(doc, "comparisons");
        for (size_t i = 0; focal && list && i < n; i++) {
            cJSON_AddItemToArray(focal, cJSON_CreateString(p[i].focal.name));
            cJSON_AddItemToArray(list, sj_parity_to_json(&p[i]));
        }
    }
    if (!doc)
        return sj_error_set(err, SJ_ERR_WORK, "out of memory building the JSON output");
    sj_status st = sj_json_write(a->out, doc, err);
    cJSON_Delete(doc);
    return st;
}

static const char *format_of(const parity_args *a)
{
    return a->format ? a->format : (ends_with(a->out, ".csv") ? "csv" : "json");
}

static sj_status write_output(const sj_parity *p, size_t n, const parity_args *a, sj_error *err)
{
    const char *format = format_of(a);
    if (strcmp(format, "csv") == 0)
        return sj_parity_write_csv(p, n, a->out, err);
    if (strcmp(format, "table") == 0)
        return write_table(p, n, a->out, err);
    return write_json(p, n, a, err);
}

/* Every comparison, then the output; 0 or an exit code. */
static int compare_groups(const sj_parity_data *d, const cli_args *c, const parity_args *a)
{
    sj_parity *p = sj_calloc(a->n_focal, sizeof *p);
    sj_error err;
    sj_error_clear(&err);
    sj_status st = p ? SJ_OK : sj_error_set(&err, SJ_ERR_WORK, "out of memory");
    size_t done = 0;
    for (; st == SJ_OK && done < a->n_focal; done++) {
        st = sj_parity_run(d, cli_text(c, "reference"), a->focal[done], a->cut, &p[done], &err);
        if (st != SJ_OK)
            break;
    }
    if (st == SJ_OK) {
        check_cut(d, a->cut);
        for (size_t i = 0; i < a->n_focal; i++)
            print_finding(&p[i]);
        /* rank 0 alone writes; every rank leaves with its status */
        st = sj_dist_is_root() ? write_output(p, a->n_focal, a, &err) : SJ_OK;
        st = sj_dist_agree(st, &err);
    }
    if (st == SJ_OK && strcmp(a->out, "-") != 0)
        fprintf(stderr, "parity: wrote %s (%s)\n", a->out, format_of(a));
    for (size_t i = 0; p && i < done; i++)
        sj_parity_free(&p[i]);
    free(p);
    return st == SJ_OK ? 0 : cli_fail(&err);
}

static int run_parity(const cli_args *c, parity_args *a)
{
    if (sj_dist_size() > 1 && strcmp(cli_text(c, "data"), "-") == 0)
        return cli_usage_error("parity", "--data -: under mpirun only rank 0 reads standard "
                                         "input; give a file every rank can read");
    sj_error err;
    sj_error_clear(&err);
    sj_table *t = sj_table_read(cli_text(c, "data"), &err);
    if (!t)
        return cli_fail(&err);
    a->score = cli_score_column(cli_text(c, "score"), (const char *const *)t->names, t->n_cols);
    a->person = person_column(c, t);
    sj_parity_data *d = sj_parity_data_from_table(t, a->person, a->score, cli_text(c, "group"),
                                                  cli_text(c, "human"), &err);
    sj_table_free(t);
    if (!d)
        return cli_fail(&err);
    int rc = compare_groups(d, c, a);
    sj_parity_data_free(d);
    return rc;
}

int cmd_parity(int argc, char **argv)
{
    cli_args c;
    int rc = cli_begin(&cli_spec_parity, argc, argv, &c);
    if (rc >= 0)
        return rc;
    parity_args a = {0};
    a.format = cli_text(&c, "format");
    a.out = cli_text(&c, "out");
    a.cut = cli_given(&c, "cut") ? cli_real(&c, "cut") : NAN;
    char *focal = sj_strdup(cli_text(&c, "focal"));
    long n = focal ? cli_split_list(focal, a.focal, MAX_FOCAL) : -1;
    if (!focal)
        rc = 1;
    else if (cli_given(&c, "person") && cli_flag(&c, "rows"))
        rc = cli_usage_error("parity", "--person and --rows exclude each other: --person sums each "
                                       "person's rows, --rows keeps every row as one observation");
    else if (n < 0)
        rc = cli_usage_error("parity",
                             "--focal expects labels separated by commas (at most %d), "
                             "none of them empty",
                             MAX_FOCAL);
    else {
        a.n_focal = (size_t)n;
        rc = run_parity(&c, &a);
    }
    free(focal);
    cli_args_free(&c);
    return rc;
}
