/* sjtalign dif: differential item functioning of every item, against one
 * reference group and one or more focal groups. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "sjtalign/io.h"
#include "sjtalign/stats.h"

static const char *const HELP =
    "usage: sjtalign dif --data FILE --score COL --group COL --reference R --focal F[,F2...]\n"
    "                    [--person COL] [--item COL] [--match total|rest] [--purify]\n"
    "                    [--adjust none|holm|bh] [--min-cell N] [--no-tarone]\n"
    "                    [--format csv|json] --out FILE|-\n\n"
    "Tests every item for differential item functioning (DIF), focal minus reference,\n"
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
    "  --data FILE          long-format CSV\n"
    "  --person COL         person column (default person_id)\n"
    "  --item COL           item column (default item_id)\n"
    "  --score COL          item score column (whole numbers; default score)\n"
    "  --group COL          group column (default group)\n"
    "  --reference R        reference group label\n"
    "  --focal F[,F2]       focal group label(s); each is compared with the reference\n"
    "  --match total|rest   matching score (default total)\n"
    "  --purify             iteratively drop flagged items (ETS B/C, BB/CC) from the\n"
    "                       matching score until the flagged set repeats (<= 10 rounds)\n"
    "  --adjust M           p-value adjustment over items: none (default), holm, bh\n"
    "  --min-cell N         an item with fewer than N persons in a group is not tested;\n"
    "                       strata with fewer than N in a group are warned about (default 5)\n"
    "  --no-tarone          Breslow-Day without Tarone's correction\n"
    "  --format csv|json    output format (default: json if FILE ends in .json, else csv)\n"
    "  --out FILE|-         output file, or - for standard output\n\n" SJ_ETS_RULE ".\n";

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

static int parse_choice(const char *flag, const char *value, const char *const *names, int n,
                        int *out)
{
    for (int i = 0; i < n; i++)
        if (strcmp(value, names[i]) == 0) {
            *out = i;
            return 0;
        }
    return cli_usage_error("dif", "%s must be one of the listed values, got '%s'", flag, value);
}

static int parse_args(int argc, char **argv, dif_args *a)
{
    static const struct option options[] = {
        {"data", required_argument, 0, 'd'},     {"person", required_argument, 0, 'p'},
        {"item", required_argument, 0, 'i'},     {"score", required_argument, 0, 's'},
        {"group", required_argument, 0, 'g'},    {"reference", required_argument, 0, 'r'},
        {"focal", required_argument, 0, 'f'},    {"match", required_argument, 0, 'm'},
        {"purify", no_argument, 0, 'P'},         {"adjust", required_argument, 0, 'a'},
        {"min-cell", required_argument, 0, 'c'}, {"no-tarone", no_argument, 0, 'T'},
        {"format", required_argument, 0, 'F'},   {"out", required_argument, 0, 'o'},
        {"help", no_argument, 0, 'h'},           {0, 0, 0, 0}};
    static const char *const matches[] = {"total", "rest"};
    static const char *const adjusts[] = {"none", "holm", "bh"};
    static const char *const formats[] = {"csv", "json"};
    int c, choice = 0;
    cli_getopt_reset();
    while ((c = getopt_long(argc, argv, "", options, NULL)) != -1) {
        switch (c) {
        case 'd':
            a->data = optarg;
            break;
        case 'p':
            a->person = optarg;
            break;
        case 'i':
            a->item = optarg;
            break;
        case 's':
            a->score = optarg;
            break;
        case 'g':
            a->group = optarg;
            break;
        case 'r':
            a->reference = optarg;
            break;
        case 'f':
            a->focal = optarg;
            break;
        case 'P':
            a->opt.purify = 1;
            break;
        case 'T':
            a->opt.bd_tarone = 0;
            break;
        case 'o':
            a->out = optarg;
            break;
        case 'm':
            if (parse_choice("--match", optarg, matches, 2, &choice))
                return 2;
            a->opt.match = (sj_match)choice;
            break;
        case 'a':
            if (parse_choice("--adjust", optarg, adjusts, 3, &choice))
                return 2;
            a->opt.adjust = (sj_adjust)choice;
            break;
        case 'F':
            if (parse_choice("--format", optarg, formats, 2, &choice))
                return 2;
            a->format = formats[choice];
            break;
        case 'c':
            if (cli_long("dif", "--min-cell", optarg, 1, 1000000, &a->opt.min_cell))
                return 2;
            break;
        case 'h':
            return cli_help(HELP) - 1;
        default:
            return cli_bad_option("dif");
        }
    }
    if (optind < argc)
        return cli_usage_error("dif", "unexpected argument '%s'", argv[optind]);
    if (cli_require("dif", "--data", a->data) || cli_require("dif", "--reference", a->reference) ||
        cli_require("dif", "--focal", a->focal) || cli_require("dif", "--out", a->out))
        return 2;
    return 0;
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

int cmd_dif(int argc, char **argv)
{
    dif_args a = {.person = "person_id", .item = "item_id", .score = "score", .group = "group"};
    sj_dif_options_defaults(&a.opt);
    int rc = parse_args(argc, argv, &a);
    if (rc != 0)
        return rc < 0 ? 0 : rc;
    const char *focal[64];
    long n_focal = split_focal(a.focal, focal, 64);
    if (n_focal < 0)
        return cli_usage_error("dif", "--focal expects labels separated by commas (at most 64), "
                                      "none of them empty");
    a.opt.reference = a.reference;
    a.opt.focal = focal;
    a.opt.n_focal = (size_t)n_focal;
    sj_error err;
    sj_error_clear(&err);
    sj_table *t = sj_table_read(a.data, &err);
    if (!t)
        return cli_fail(&err);
    sj_score_data *d = sj_score_data_from_table(t, a.person, a.item, a.score, a.group, &err);
    sj_table_free(t);
    if (!d)
        return cli_fail(&err);
    sj_dif_result *r = sj_dif_run(d, &a.opt, &err);
    sj_score_data_free(d);
    if (!r)
        return cli_fail(&err);
    sj_status st = write_result(r, &a, &err);
    sj_dif_result_free(r);
    return st == SJ_OK ? 0 : cli_fail(&err);
}
