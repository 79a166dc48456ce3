/* sjtalign validate: check a responses file against an instrument before
 * spending time on training or analysis. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "options.h"
#include "sjtalign/io.h"

static const cli_option VALIDATE_OPTIONS[] = {
    {"data", CLI_IN_FILE, "FILE", NULL, 0, 0, NULL, CLI_REQUIRED | CLI_STDIN,
     "responses CSV (UTF-8, header row; - reads standard input)"},
    {"instrument", CLI_IN_FILE, "FILE", NULL, 0, 0, NULL, CLI_REQUIRED, "instrument.json"},
    CLI_OPT_PERSON,
    CLI_OPT_ITEM,
    CLI_OPT_TEXT,
    {"group", CLI_TEXT, "COL", "group", 0, 0, NULL, 0, "group column (optional unless named)"},
    {"score", CLI_TEXT, "COL,...", NULL, 0, 0, NULL, CLI_LIST,
     "score columns to check instead of the defaults (whole\nnumbers); may be repeated"},
    {"human", CLI_TEXT, "COL,...", NULL, 0, 0, NULL, CLI_LIST,
     "the same, under audit's name for the human score column"},
    CLI_OPT_MAX_INPUT,
    CLI_END};

const cli_command_spec cli_spec_validate = {
    .name = "validate",
    .synopsis = "--data FILE --instrument FILE [options]",
    .about = "Checks a long-format responses file (one row per person x item) against an\n"
             "instrument, reading the columns the other commands read, with their defaults:\n"
             "the columns exist, every item is known, person ids and group labels are not\n"
             "empty, no person answers an item twice, no person is in two groups, and every\n"
             "score is a whole number within the instrument's range (an empty cell is a\n"
             "missing score).\n\n"
             "Score columns: with neither --score nor --human, the columns the other\n"
             "commands read by default are checked where present: score_mode and score\n"
             "(dif, parity and audit read score_mode when the file has it, else score;\n"
             "standard error says which), human_score (sft without a score column); an\n"
             "absent one is shown as \"not present\". In a file written by `sjtalign\n"
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
             "cannot be read as CSV, or lacks the person or item column, stops at once.",
    .options = VALIDATE_OPTIONS,
    .examples = "sjtalign validate --data data/demo/responses.csv --instrument "
                "data/demo/instrument.json\n"
                "sjtalign validate --data scores.csv --instrument instrument.json --human "
                "rater1,rater2",
};

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
        fprintf(stderr, "sjtalign validate: error: out of memory\n");
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

/* Which column dif, parity and audit read by default (the same rule as
 * theirs), on standard error. */
static void print_default_score(const sj_validation *v)
{
    const char *col = NULL;
    for (size_t k = 0; k < v->n_score_columns; k++) {
        const sj_score_check *s = &v->score_columns[k];
        if (s->present && strcmp(s->name, "score_mode") == 0)
            col = s->name;
        else if (s->present && strcmp(s->name, "score") == 0 && !col)
            col = s->name;
    }
    if (col)
        fprintf(stderr,
                "validate: scores from column '%s' (what dif, parity and audit read "
                "without --score)\n",
                col);
}

static int report(const char *data, const sj_validation *v, const sj_instrument *ins,
                  int named_scores)
{
    if (!named_scores)
        print_default_score(v);
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

/* The options into the library's settings; score columns from --score
 * and --human together. Returns 0 or an exit code. */
static int read_args(const cli_args *c, sj_validate_options *o, column_list *scores)
{
    o->cols.person = cli_text(c, "person");
    o->cols.item = cli_text(c, "item");
    o->cols.text = cli_text(c, "text");
    /* A named group column must exist; the default is optional. */
    o->cols.group = cli_given(c, "group") ? cli_text(c, "group") : NULL;
    const char *const flags[2] = {"score", "human"};
    for (int i = 0; i < 2; i++) {
        const char *list = cli_text(c, flags[i]);
        char flag[16];
        snprintf(flag, sizeof flag, "--%s", flags[i]);
        if (list && column_list_add(scores, flag, list))
            return 2;
    }
    return 0;
}

int cmd_validate(int argc, char **argv)
{
    cli_args c;
    int rc = cli_begin(&cli_spec_validate, argc, argv, &c);
    if (rc >= 0)
        return rc;
    sj_validate_options o = {.max_defects = MAX_DEFECTS_SHOWN};
    column_list scores = {0};
    rc = read_args(&c, &o, &scores);
    if (rc != 0) {
        cli_args_free(&c);
        column_list_free(&scores);
        return rc;
    }
    const char *data = cli_text(&c, "data");
    o.score_cols = (const char *const *)scores.names;
    o.n_score_cols = scores.n_names;
    sj_error err;
    sj_error_clear(&err);
    sj_validation *v = NULL;
    sj_instrument *ins = sj_instrument_load(cli_text(&c, "instrument"), &err);
    if (ins)
        v = sj_validate_file(data, ins, &o, &err);
    rc = v ? report(data, v, ins, scores.n_names > 0) : cli_fail(&err);
    sj_validation_free(v);
    sj_instrument_free(ins);
    column_list_free(&scores);
    cli_args_free(&c);
    return rc;
}
