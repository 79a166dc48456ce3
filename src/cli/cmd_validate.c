/* sjtalign validate: check a responses file against an instrument before
 * spending time on training or analysis. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "sjtalign/io.h"

static const char *const HELP =
    "usage: sjtalign validate --data FILE --instrument FILE [--person COL] [--item COL]\n"
    "                         [--text COL] [--group COL] [--score COL[,COL...]]\n"
    "                         [--human COL[,COL...]]\n\n"
    "Checks a long-format responses file (one row per person x item) against an\n"
    "instrument, reading the columns the other commands read, with their defaults:\n"
    "the columns exist, every item is known, person ids and group labels are not\n"
    "empty, no person answers an item twice, no person is in two groups, and every\n"
    "score is a whole number within the instrument's range (an empty cell is a\n"
    "missing score).\n\n"
    "Score columns: with neither --score nor --human, the columns the other\n"
    "commands read by default are checked where present: score (sft, dif,\n"
    "parity), human_score (sft without a score column) and score_mode (audit);\n"
    "an absent one is shown as \"not present\". In a file written by `sjtalign\n"
    "score` (with score_mode), score is the expected score: any number within\n"
    "the range. A file with none of them passes (it is input for `sjtalign\n"
    "score`), and the summary says sft, dif and audit need one.\n\n"
    "The person, item and text columns must exist; so must a group or score\n"
    "column named with --group, --score or --human.\n\n"
    "Prints a summary: responses, persons, items; the groups with their sizes\n"
    "(persons, counted in the group of their first row); the scored cells of\n"
    "each score column; persons who did not answer every item, with examples.\n"
    "Missing person x item cells are a warning, not a defect (a design may give\n"
    "persons a subset of items), but DIF (dif, audit) leaves out every person who\n"
    "did not answer every item.\n\n"
    "Every defect is reported, in file order, as FILE:LINE:COL: message (the\n"
    "first 50, then a count of the rest); the exit code is then 2. A file that\n"
    "cannot be read as CSV, or lacks the person or item column, stops at once.\n\n"
    "  --data FILE        responses CSV (UTF-8, header row)\n"
    "  --instrument FILE  instrument.json\n"
    "  --person COL       person column (default person_id)\n"
    "  --item COL         item column (default item_id)\n"
    "  --text COL         response text column (default response)\n"
    "  --group COL        group column (default group; optional unless named)\n"
    "  --score COL,...    score columns to check instead of the defaults (whole\n"
    "                     numbers); may be repeated\n"
    "  --human COL,...    the same, under audit's name for the human score column\n";

#define MAX_DEFECTS_SHOWN 50
#define GROUPS_SHOWN 20

typedef struct {
    char **names;
    char **copies; /* the option values, split in place */
    size_t n_names, n_copies;
} column_list;

static void column_list_free(column_list *l)
{
    for (size_t i = 0; i < l->n_copies; i++)
        free(l->copies[i]);
    free(l->copies);
    free(l->names);
}

/* Adds the comma-separated names of one --score or --human value. */
static int column_list_add(column_list *l, const char *flag, const char *value)
{
    char *copy = sj_strdup(value);
    char **copies = realloc(l->copies, (l->n_copies + 1) * sizeof *copies);
    if (copies)
        l->copies = copies;
    char **names = realloc(l->names, (l->n_names + strlen(value) + 1) * sizeof *names);
    if (names)
        l->names = names;
    if (!copy || !copies || !names) {
        free(copy);
        fprintf(stderr, "sjtalign: error: out of memory\n");
        return 1;
    }
    l->copies[l->n_copies++] = copy;
    for (char *name = copy, *end; name; name = end) {
        end = strchr(name, ',');
        if (end)
            *end++ = '\0';
        if (*name == '\0')
            return cli_usage_error("validate", "%s has an empty column name in '%s'", flag, value);
        l->names[l->n_names++] = name;
    }
    return 0;
}

static const char *plural(size_t n, const char *one, const char *many)
{
    return n == 1 ? one : many;
}

static void print_groups(const sj_validation *v)
{
    if (!v->has_group) {
        printf("groups: no column '%s' (dif and audit need one; name it with --group)\n",
               v->group_column);
        return;
    }
    printf("%zu %s (column '%s')", v->n_groups, plural(v->n_groups, "group", "groups"),
           v->group_column);
    for (size_t g = 0; g < v->n_groups && g < GROUPS_SHOWN; g++)
        printf("%s%s %zu %s", g ? ", " : ": ", v->groups[g].label, v->groups[g].n_persons,
               plural(v->groups[g].n_persons, "person", "persons"));
    if (v->n_groups > GROUPS_SHOWN)
        printf(" and %zu more", v->n_groups - GROUPS_SHOWN);
    if (v->n_split_persons)
        printf("; %zu %s in two groups (a defect)", v->n_split_persons,
               plural(v->n_split_persons, "person", "persons"));
    printf("\n");
}

static void print_scores(const sj_validation *v, const sj_instrument *ins, int named)
{
    size_t present = 0;
    for (size_t k = 0; k < v->n_score_columns; k++)
        present += v->score_columns[k].present != 0;
    if (present == 0 && !named) {
        printf("scores: no score column (score, human_score and score_mode not present): "
               "enough for `sjtalign score`; sft, dif and audit need one\n");
        return;
    }
    printf("scores (range %d..%d):", ins->score_min, ins->score_max);
    for (size_t k = 0; k < v->n_score_columns; k++) {
        const sj_score_check *s = &v->score_columns[k];
        printf("%s %s", k ? ";" : "", s->name);
        if (!s->present)
            printf(" not present");
        else
            printf(" %zu of %zu scored%s", s->n_scored, v->n_rows,
                   s->expected ? " (expected scores)" : "");
    }
    printf("\n");
}

static void print_completeness(const sj_validation *v)
{
    if (v->n_incomplete_persons == 0) {
        printf("items: complete (every person answered every item)\n");
        return;
    }
    printf("items: %zu %s did not answer every item (%zu missing %s; DIF leaves them out): ",
           v->n_incomplete_persons, plural(v->n_incomplete_persons, "person", "persons"),
           v->n_missing_cells, plural(v->n_missing_cells, "cell", "cells"));
    for (size_t i = 0; i < v->n_missing_examples; i++)
        printf("%s%s", i ? "; " : "", v->missing_examples[i]);
    if (v->n_incomplete_persons > v->n_missing_examples)
        printf("; ...");
    printf("\n");
}

static int report(const char *data, const sj_validation *v, const sj_instrument *ins,
                  int named_scores)
{
    printf("%s: %zu responses, %zu persons, %zu of %zu items\n", data, v->n_rows, v->n_persons,
           v->n_items_seen, ins->n_items);
    print_groups(v);
    print_scores(v, ins, named_scores);
    print_completeness(v);
    if (v->n_defects == 0)
        return 0;
    for (size_t i = 0; i < v->n_messages; i++)
        fprintf(stderr, "%s\n", v->messages[i]);
    if (v->n_defects > v->n_messages)
        fprintf(stderr, "... and %zu more\n", v->n_defects - v->n_messages);
    fprintf(stderr, "sjtalign validate: %zu %s in %s\n", v->n_defects,
            plural(v->n_defects, "defect", "defects"), data);
    return 2;
}

/* Returns 0 to go on, -1 after --help, or an exit code. */
static int parse_args(int argc, char **argv, sj_validate_options *o, column_list *scores,
                      const char **data, const char **instrument)
{
    static const struct option options[] = {
        {"data", required_argument, 0, 'd'},   {"instrument", required_argument, 0, 'i'},
        {"person", required_argument, 0, 'p'}, {"item", required_argument, 0, 't'},
        {"text", required_argument, 0, 'x'},   {"group", required_argument, 0, 'g'},
        {"score", required_argument, 0, 's'},  {"human", required_argument, 0, 'H'},
        {"help", no_argument, 0, 'h'},         {0, 0, 0, 0}};
    int c;
    cli_getopt_reset();
    while ((c = getopt_long(argc, argv, "", options, NULL)) != -1) {
        switch (c) {
        case 'd':
            *data = optarg;
            break;
        case 'i':
            *instrument = optarg;
            break;
        case 'p':
            o->cols.person = optarg;
            break;
        case 't':
            o->cols.item = optarg;
            break;
        case 'x':
            o->cols.text = optarg;
            break;
        case 'g':
            o->cols.group = optarg;
            break;
        case 's':
        case 'H':
            if (column_list_add(scores, c == 's' ? "--score" : "--human", optarg))
                return 2;
            break;
        case 'h':
            return cli_help(HELP) - 1;
        default:
            return cli_bad_option("validate");
        }
    }
    if (optind < argc)
        return cli_usage_error("validate", "unexpected argument '%s'", argv[optind]);
    if (cli_require("validate", "--data", *data) ||
        cli_require("validate", "--instrument", *instrument))
        return 2;
    return 0;
}

int cmd_validate(int argc, char **argv)
{
    sj_validate_options o = {.max_defects = MAX_DEFECTS_SHOWN};
    column_list scores = {0};
    const char *data = NULL, *instrument = NULL;
    int rc = parse_args(argc, argv, &o, &scores, &data, &instrument);
    if (rc != 0) {
        column_list_free(&scores);
        return rc < 0 ? 0 : rc;
    }
    o.score_cols = (const char *const *)scores.names;
    o.n_score_cols = scores.n_names;
    sj_error err;
    sj_error_clear(&err);
    sj_validation *v = NULL;
    sj_instrument *ins = sj_instrument_load(instrument, &err);
    if (ins)
        v = sj_validate_file(data, ins, &o, &err);
    rc = v ? report(data, v, ins, scores.n_names > 0) : cli_fail(&err);
    sj_validation_free(v);
    sj_instrument_free(ins);
    column_list_free(&scores);
    return rc;
}
