/* sjtalign dif: differential item functioning of every item, against one
 * reference group and one or more focal groups. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "options.h"
#include "text_table.h"
#include "sjtalign/dist.h"
#include "sjtalign/io.h"
#include "sjtalign/stats.h"

static const cli_option DIF_OPTIONS[] = {
    {"data", CLI_IN_FILE, "FILE", NULL, 0, 0, NULL, CLI_REQUIRED | CLI_STDIN,
     "long-format CSV (- reads standard input)"},
    CLI_OPT_PERSON,
    CLI_OPT_ITEM,
    {"score", CLI_TEXT, "COL", NULL, 0, 0, NULL, 0,
     "item score column, whole numbers (default: score_mode when\nthe file has it, as a scores "
     "file of `sjtalign score`\ndoes, else score)"},
    CLI_OPT_GROUP,
    {"reference", CLI_TEXT, "R", NULL, 0, 0, NULL, CLI_REQUIRED, "reference group label"},
    {"focal", CLI_TEXT, "F[,F2]", NULL, 0, 0, NULL, CLI_REQUIRED,
     "focal group label(s); each is compared with the reference"},
    {"match", CLI_CHOICE, NULL, "total", 0, 0, "total|rest", 0, "matching score"},
    {"purify", CLI_FLAG, NULL, NULL, 0, 0, NULL, 0,
     "iteratively drop flagged items (ETS B/C, BB/CC) from the\nmatching score until the flagged "
     "set repeats (<= 10 rounds)"},
    {"adjust", CLI_CHOICE, "M", "none", 0, 0, "none|holm|bh", 0,
     "p-value adjustment over items: none, holm or bh"},
    {"min-cell", CLI_INT, "N", "5", 1, 1000000, NULL, 0,
     "an item with fewer than N persons in a group is not tested;\nstrata with fewer than N in a "
     "group are warned about"},
    {"no-tarone", CLI_FLAG, NULL, NULL, 0, 0, NULL, 0, "Breslow-Day without Tarone's correction"},
    {"format", CLI_CHOICE, NULL, NULL, 0, 0, "csv|json|table", 0,
     "output format; table: aligned columns for reading in a\nterminal (default: json if FILE "
     "ends in .json, else csv)"},
    {"out", CLI_OUT_FILE, "FILE|-", NULL, 0, 0, NULL, CLI_REQUIRED | CLI_STDOUT,
     "output file, or - for standard output"},
    CLI_OPT_MAX_INPUT,
    CLI_END};

const cli_command_spec cli_spec_dif = {
    .name = "dif",
    .synopsis = "--data FILE --reference R --focal F[,F2...] --out FILE|-\n"
                "                    [--score COL] [--group COL] [--person COL] [--item COL]\n"
                "                    [--match total|rest] [--purify] [--adjust none|holm|bh]\n"
                "                    [--min-cell N] [--no-tarone] [--format csv|json|table]",
    .about = "Tests every item for differential item functioning (DIF), focal minus reference,\n"
             "from a long-format file (one row per person x item, whole-number scores).\n"
             "Items scored only 0/1 get Mantel-Haenszel (chi-square with and without continuity\n"
             "correction, alpha, ETS delta with its RBG standard error, ETS A/B/C), Breslow-Day\n"
             "and logistic-regression DIF (LR chi-squares uniform/non-uniform/joint, Nagelkerke\n"
             "R2 change, Zumbo-Thomas and Jodoin-Gierl classes). Other items get Mantel's\n"
             "chi-square, SMD and SMD/SD (ETS AA/BB/CC) and ordinal (proportional-odds)\n"
             "logistic-regression DIF with Nagelkerke and McFadden R2 changes.\n"
             "Zumbo-Thomas (.13/.26) and Jodoin-Gierl (.035/.070) classes: A if the joint LR\n"
             "test has p >= .05 or the R2 change is below the first bound, C from the second\n"
             "bound, B otherwise. Breslow-Day uses Tarone's correction unless --no-tarone.\n\n"
             "The matching score is the person's total over all items (studied item included)\n"
             "or the rest score; strata are its distinct values. Persons without a score on\n"
             "every item (empty score cells or absent rows) are left out of the whole analysis\n"
             "and counted in n_excluded_incomplete. Statistics that cannot be computed are\n"
             "null (JSON) or NA (CSV) with a note saying why.\n\n"
             "CSV columns: item, focal, type, tested, n, n_ref, n_focal, n_strata,\n"
             "n_sparse_strata, then the columns of the methods that apply to the file's items:\n"
             "the dichotomous block (mh_chi2 ... jg_class) only when some item is scored 0/1\n"
             "only, the polytomous block (mantel_chi2 ... olr_dr2mcf) only when some item is\n"
             "not; in a file with both, a row leaves the other type's columns empty. The\n"
             "*_adj columns follow with --adjust holm|bh; then flagged and notes. tested and\n"
             "flagged are TRUE/FALSE (R's read.csv reads them as logical). The 95% intervals\n"
             "are the effect +- 1.96 SE: delta_mh_ci95_low/_high with the Robins-Breslow-\n"
             "Greenland SE, smd_over_sd_ci95_low/_high with the delta-method SE (the JSON\n"
             "has the same names).\n\n"
             "Standard error gets which score column was read and, per focal group, how many\n"
             "items were tested and which were flagged (ETS B/C, BB/CC) with their class;\n"
             "a purification that did not settle within 10 rounds is warned about there.",
    .options = DIF_OPTIONS,
    .notes = SJ_ETS_RULE ".",
    .examples = "sjtalign dif --data scores.csv --reference reference --focal focal \\\n"
                "    --purify --adjust bh --out dif.json\n"
                "sjtalign dif --data scores.csv --reference reference --focal focal \\\n"
                "    --format table --out -\n"
                "sjtalign dif --data responses.csv --score human_score --reference ref \\\n"
                "    --focal f1,f2 --out -",
};

typedef struct {
    const char *data, *person, *item, *score, *group, *reference, *out, *format;
    char *focal;
    sj_dif_options opt;
} dif_args;

static void read_args(const cli_args *c, dif_args *a)
{
    a->data = cli_text(c, "data");
    a->person = cli_text(c, "person");
    a->item = cli_text(c, "item");
    a->score = cli_text(c, "score");
    a->group = cli_text(c, "group");
    a->reference = cli_text(c, "reference");
    a->focal = (char *)cli_text(c, "focal");
    a->out = cli_text(c, "out");
    a->format = cli_text(c, "format");
    a->opt.match = (sj_match)cli_choice(c, "match");
    a->opt.adjust = (sj_adjust)cli_choice(c, "adjust");
    a->opt.min_cell = cli_int(c, "min-cell");
    a->opt.purify = cli_flag(c, "purify");
    if (cli_flag(c, "no-tarone"))
        a->opt.bd_tarone = 0;
}

static int ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcmp(s + n - m, suffix) == 0;
}

static const char *effect_class(const sj_dif_item *it)
{
    const char *c = it->type == SJ_ITEM_DICHOTOMOUS ? it->ets_class : it->ets_poly_class;
    return c ? c : "NA";
}

static void format_number(double v, const char *fmt, char *out, size_t n)
{
    if (isfinite(v))
        snprintf(out, n, fmt, v);
    else
        snprintf(out, n, "NA");
}

#define Z_975 1.959963984540054

/* One row of the terminal table: the item's ETS effect (MH delta or
 * SMD/SD) with its interval, the matching chi-square p (and its adjusted
 * value) and the class. */
static void table_row(cli_text_table *t, const sj_dif_item *it, int with_adj)
{
    int dich = it->type == SJ_ITEM_DICHOTOMOUS;
    double effect = dich ? it->delta_mh : it->smd_over_sd;
    double se = dich ? it->se_delta_mh : it->se_smd_over_sd;
    double p = dich ? it->mh_p : it->mantel_p, p_adj = dich ? it->mh_p_adj : it->mantel_p_adj;
    char n_ref[32], n_focal[32], size[32], ci[64], pv[16], pa[16];
    snprintf(n_ref, sizeof n_ref, "%ld", it->n_ref);
    snprintf(n_focal, sizeof n_focal, "%ld", it->n_focal);
    format_number(effect, "%.3f", size, sizeof size);
    if (isfinite(effect) && isfinite(se))
        snprintf(ci, sizeof ci, "[%.3f, %.3f]", effect - Z_975 * se, effect + Z_975 * se);
    else
        snprintf(ci, sizeof ci, "NA");
    cli_format_p(p, pv, sizeof pv);
    cli_format_p(p_adj, pa, sizeof pa);
    const char *cells[12];
    size_t n = 0;
    cells[n++] = it->item;
    cells[n++] = it->focal;
    cells[n++] = dich ? "dichotomous" : "polytomous";
    cells[n++] = n_ref;
    cells[n++] = n_focal;
    cells[n++] = dich ? "MH delta" : "SMD/SD";
    cells[n++] = size;
    cells[n++] = ci;
    cells[n++] = pv;
    if (with_adj)
        cells[n++] = pa;
    cells[n++] = it->tested ? effect_class(it) : "not tested";
    cells[n++] = it->flagged ? "yes" : "no";
    cli_text_table_add(t, cells);
}

static sj_status write_table(const sj_dif_result *r, const char *path, sj_error *err)
{
    int with_adj = r->adjust != SJ_ADJUST_NONE;
    const char *header[12];
    size_t n = 0;
    const char *const names[] = {"item",    "focal",  "type",   "n_ref", "n_focal",
                                 "measure", "effect", "95% CI", "p"};
    for (size_t i = 0; i < sizeof names / sizeof *names; i++)
        header[n++] = names[i];
    if (with_adj)
        header[n++] = "p adj";
    header[n++] = "class";
    header[n++] = "flagged";
    cli_text_table t;
    cli_text_table_init(&t, header, n, with_adj ? "lllrrlrrrrll" : "lllrrlrrrll");
    for (size_t i = 0; i < r->n_rows; i++)
        table_row(&t, &r->rows[i], with_adj);
    sj_buf b = {0};
    cli_text_table_render(&t, &b);
    cli_text_table_free(&t);
    sj_buf_printf(
        &b,
        "measure: MH delta of a 0/1 item, SMD/SD of another; 95%% CI: effect +- 1.96 SE;\n"
        "p: Mantel-Haenszel (0/1 items) or Mantel chi-square%s;\n"
        "class: ETS A/B/C (0/1 items) or AA/BB/CC (others), from the unadjusted p;\n"
        "flagged: B, C, BB or CC. The CSV and JSON formats hold every statistic.\n",
        with_adj ? "; p adj: adjusted over the items" : "");
    sj_status st = cli_write_text(path, &b, err);
    sj_buf_free(&b);
    return st;
}

static const char *format_of(const dif_args *a)
{
    return a->format ? a->format : (ends_with(a->out, ".json") ? "json" : "csv");
}

static int write_result(const sj_dif_result *r, const dif_args *a, sj_error *err)
{
    const char *format = format_of(a);
    if (strcmp(format, "csv") == 0)
        return sj_dif_write_csv(r, a->out, err);
    if (strcmp(format, "table") == 0)
        return write_table(r, a->out, err);
    cJSON *doc = sj_dif_to_json(r);
    if (!doc)
        return sj_error_set(err, SJ_ERR_WORK, "out of memory building the JSON output");
    sj_status st = sj_json_write(a->out, doc, err);
    cJSON_Delete(doc);
    return st;
}

/* What was found, per focal group, on standard error: items tested and
 * the flagged ones with their class; a purification that did not settle. */
static void print_findings(const sj_dif_result *r)
{
    size_t n_items = r->n_focal ? r->n_rows / r->n_focal : 0;
    for (size_t f = 0; f < r->n_focal; f++) {
        const sj_dif_item *rows = r->rows + f * n_items;
        size_t tested = 0, flagged = 0;
        sj_buf list = {0};
        for (size_t i = 0; i < n_items; i++) {
            tested += rows[i].tested != 0;
            if (rows[i].flagged)
                sj_buf_printf(&list, "%s%s %s", flagged++ ? ", " : "", rows[i].item,
                              effect_class(&rows[i]));
        }
        cli_print_dif_findings("dif: ", r->focal[f], r->reference, tested, n_items, flagged,
                               sj_buf_failed(&list) ? "(out of memory)" : list.data);
        sj_buf_free(&list);
        if (r->purify && !r->purify_converged[f])
            fprintf(stderr,
                    "dif: warning: purification for '%s' did not settle within 10 rounds (the "
                    "flagged set kept changing); the results are those of round 10, so read the "
                    "flags of items near the B/C bounds with care\n",
                    r->focal[f]);
    }
}

/* Rank 0 alone writes; then every rank leaves with rank 0's status. */
static sj_status write_on_root(const sj_dif_result *r, const dif_args *a, sj_error *err)
{
    sj_status st = sj_dist_is_root() ? write_result(r, a, err) : SJ_OK;
    return sj_dist_agree(st, err);
}

static int run_dif(dif_args *a, char *focal_list)
{
    const char *focal[64];
    long n_focal = cli_split_list(focal_list, focal, 64);
    if (n_focal < 0)
        return cli_usage_error("dif", "--focal expects labels separated by commas (at most 64), "
                                      "none of them empty");
    if (sj_dist_size() > 1 && strcmp(a->data, "-") == 0)
        return cli_usage_error("dif", "--data -: under mpirun only rank 0 reads standard input; "
                                      "give a file every rank can read");
    a->opt.reference = a->reference;
    a->opt.focal = focal;
    a->opt.n_focal = (size_t)n_focal;
    sj_error err;
    sj_error_clear(&err);
    sj_table *t = sj_table_read(a->data, &err);
    if (!t)
        return cli_fail(&err);
    const char *score = cli_score_column(a->score, (const char *const *)t->names, t->n_cols);
    sj_score_data *d = sj_score_data_from_table(t, a->person, a->item, score, a->group, &err);
    sj_table_free(t);
    if (!d)
        return cli_fail(&err);
    sj_dif_result *r = sj_dif_run(d, &a->opt, &err);
    sj_score_data_free(d);
    if (!r)
        return cli_fail(&err);
    print_findings(r);
    sj_status st = write_on_root(r, a, &err);
    if (st == SJ_OK && strcmp(a->out, "-") != 0)
        fprintf(stderr, "dif: wrote %s (%s)\n", a->out, format_of(a));
    sj_dif_result_free(r);
    return st == SJ_OK ? 0 : cli_fail(&err);
}

int cmd_dif(int argc, char **argv)
{
    dif_args a = {0};
    sj_dif_options_defaults(&a.opt);
    cli_args c;
    int rc = cli_begin(&cli_spec_dif, argc, argv, &c);
    if (rc >= 0)
        return rc;
    read_args(&c, &a);
    char *focal_list = sj_strdup(a.focal);
    rc = focal_list ? run_dif(&a, focal_list) : 1;
    free(focal_list);
    cli_args_free(&c);
    return rc;
}
