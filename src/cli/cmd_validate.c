/* sjtalign validate: check a responses file against an instrument before
 * spending time on training or analysis. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "sjtalign/io.h"

static const char *const HELP =
    "usage: sjtalign validate --data FILE --instrument FILE [--person COL] [--item COL]\n"
    "                         [--text COL] [--group COL] [--score COL]\n\n"
    "Checks a long-format responses file (one row per person x item) against an\n"
    "instrument: the columns exist, every item is known, scores are whole numbers\n"
    "within the instrument's range (an empty cell is a missing score), and no\n"
    "person answers an item twice. Prints a summary; exits 2 naming the file, line\n"
    "and column of the first defect.\n\n"
    "  --data FILE        responses CSV (UTF-8, header row)\n"
    "  --instrument FILE  instrument.json\n"
    "  --person COL       person column (default person_id)\n"
    "  --item COL         item column (default item_id)\n"
    "  --text COL         response text column (default response)\n"
    "  --group COL        group column (default group; optional)\n"
    "  --score COL        score column (default score; optional)\n";

static int compare_strings(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static size_t count_distinct(const sj_table *t, long col)
{
    if (col < 0 || t->n_rows == 0)
        return 0;
    const char **v = malloc(t->n_rows * sizeof *v);
    if (!v)
        return 0;
    for (size_t i = 0; i < t->n_rows; i++)
        v[i] = sj_table_cell(t, i, (size_t)col);
    size_t distinct = 0;
    qsort(v, t->n_rows, sizeof *v, compare_strings);
    for (size_t i = 0; i < t->n_rows; i++)
        if (i == 0 || strcmp(v[i], v[i - 1]) != 0)
            distinct++;
    free(v);
    return distinct;
}

int cmd_validate(int argc, char **argv)
{
    static const struct option options[] = {{"data", required_argument, 0, 'd'},
                                            {"instrument", required_argument, 0, 'i'},
                                            {"person", required_argument, 0, 'p'},
                                            {"item", required_argument, 0, 't'},
                                            {"text", required_argument, 0, 'x'},
                                            {"group", required_argument, 0, 'g'},
                                            {"score", required_argument, 0, 's'},
                                            {"help", no_argument, 0, 'h'},
                                            {0, 0, 0, 0}};
    const char *data = NULL, *instrument = NULL;
    sj_columns cols = {0};
    int c;
    while ((c = getopt_long(argc, argv, "", options, NULL)) != -1) {
        switch (c) {
        case 'd':
            data = optarg;
            break;
        case 'i':
            instrument = optarg;
            break;
        case 'p':
            cols.person = optarg;
            break;
        case 't':
            cols.item = optarg;
            break;
        case 'x':
            cols.text = optarg;
            break;
        case 'g':
            cols.group = optarg;
            break;
        case 's':
            cols.score = optarg;
            break;
        case 'h':
            return cli_help(HELP);
        default:
            return cli_bad_option("validate");
        }
    }
    if (optind < argc)
        return cli_usage_error("validate", "unexpected argument '%s'", argv[optind]);
    if (cli_require("validate", "--data", data) ||
        cli_require("validate", "--instrument", instrument))
        return 2;
    sj_error err;
    sj_error_clear(&err);
    sj_instrument *ins = sj_instrument_load(instrument, &err);
    if (!ins)
        return cli_fail(&err);
    sj_responses *r = sj_responses_load(data, &cols, ins, SJ_NEED_TEXT, &err);
    if (!r) {
        sj_instrument_free(ins);
        return cli_fail(&err);
    }
    size_t scored = 0;
    for (size_t i = 0; i < r->table->n_rows; i++)
        scored += !isnan(r->score[i]);
    printf("%s: %zu responses, %zu persons, %zu of %zu items, %zu groups, %zu scored\n", data,
           r->table->n_rows, count_distinct(r->table, r->col_person),
           count_distinct(r->table, r->col_item), ins->n_items,
           count_distinct(r->table, r->col_group), scored);
    sj_responses_free(r);
    sj_instrument_free(ins);
    return 0;
}
