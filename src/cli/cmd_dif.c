/* sjtalign dif: differential item functioning of every item, against one
 * reference group and one or more focal groups. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "options.h"
#include "sjtalign/io.h"
#include "sjtalign/stats.h"

static const cli_option DIF_OPTIONS[] = {
    {"data", CLI_IN_FILE, "FILE", NULL, 0, 0, NULL, CLI_REQUIRED | CLI_STDIN,
     "long-format CSV (- reads standard input)"},
    CLI_OPT_PERSON,
    CLI_OPT_ITEM,
    {"score", CLI_TEXT, "COL", "score", 0, 0, NULL, 0, "item score column (whole numbers)"},
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
    {"format", CLI_CHOICE, NULL, NULL, 0, 0, "csv|json", 0,
     "output format (default: json if FILE ends in .json, else csv)"},
    {"out", CLI_OUT_FILE, "FILE|-", NULL, 0, 0, NULL, CLI_REQUIRED | CLI_STDOUT,
     "output file, or - for standard output"},
    CLI_OPT_MAX_INPUT,
    CLI_END};

const cli_command_spec cli_spec_dif = {
    .name = "dif",
    .synopsis = "--data FILE --reference R --focal F[,F2...] --out FILE|- [options]",
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
             "null (JSON) or NA (CSV) with a note saying why.",
    .options = DIF_OPTIONS,
    .notes = SJ_ETS_RULE ".",
    .examples = "sjtalign dif --data scores.csv --score score_mode --reference reference \\\n"
                "    --focal focal --purify --adjust bh --out dif.json\n"
                "sjtalign dif --data responses.csv --score human_score --reference ref \\\n"
                "    --focal f1,f2 --out -",
};

/* Splits "a,b,c" in place; returns the number of labels or -1 on an empty one. */
static long split_focal(char *list, const char **out, size_t max)
{
    size_t n = 0;
    for (char *tok = list;;) {
        char *comma = strchr(tok, ',');
        if (comma)
            *comma = '\0';
        if (tok[0] == '\0' || n == max)
            return -1;
        out[n++] = tok;
        if (!comma)
            break;
        tok = comma + 1;
    }
    return (long)n;
}

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

static int write_result(const sj_dif_result *r, const dif_args *a, sj_error *err)
{
    const char *format = a->format ? a->format : (ends_with(a->out, ".json") ? "json" : "csv");
    if (strcmp(format, "csv") == 0)
        return sj_dif_write_csv(r, a->out, err);
    cJSON *doc = sj_dif_to_json(r);
    if (!doc)
        return sj_error_set(err, SJ_ERR_WORK, "out of memory building the JSON output");
    sj_status st = sj_json_write(a->out, doc, err);
    cJSON_Delete(doc);
    return st;
}

static int run_dif(dif_args *a, char *focal_list)
{
    const char *focal[64];
    long n_focal = split_focal(focal_list, focal, 64);
    if (n_focal < 0)
        return cli_usage_error("dif", "--focal expects labels separated by commas (at most 64), "
                                      "none of them empty");
    a->opt.reference = a->reference;
    a->opt.focal = focal;
    a->opt.n_focal = (size_t)n_focal;
    sj_error err;
    sj_error_clear(&err);
    sj_table *t = sj_table_read(a->data, &err);
    if (!t)
        return cli_fail(&err);
    sj_score_data *d = sj_score_data_from_table(t, a->person, a->item, a->score, a->group, &err);
    sj_table_free(t);
    if (!d)
        return cli_fail(&err);
    sj_dif_result *r = sj_dif_run(d, &a->opt, &err);
    sj_score_data_free(d);
    if (!r)
        return cli_fail(&err);
    sj_status st = write_result(r, a, &err);
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
