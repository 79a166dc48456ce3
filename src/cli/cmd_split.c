/* sjtalign split: a held-out person split of a responses file, stratified by
 * group, so that models train on some persons and are evaluated on others. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "options.h"
#include "sjtalign/io.h"

static const cli_option SPLIT_OPTIONS[] = {
    {"data", CLI_IN_FILE, "FILE", NULL, 0, 0, NULL, CLI_REQUIRED,
     "responses CSV (one row per person x item)"},
    {"train-out", CLI_OUT_FILE, "FILE", NULL, 0, 0, NULL, CLI_REQUIRED,
     "rows of the training persons (every column, input order)"},
    {"heldout-out", CLI_OUT_FILE, "FILE", NULL, 0, 0, NULL, CLI_REQUIRED,
     "rows of the held-out persons (every column, input order)"},
    {"split-out", CLI_OUT_FILE, "FILE", NULL, 0, 0, NULL, CLI_REQUIRED,
     "split.json: the fraction, seed, counts per group, both\nperson lists and the two files' "
     "SHA-256 (read by `audit\n--split`)"},
    {"fraction", CLI_REAL, "X", "0.3", 0, 1, NULL, 0,
     "share of each group's persons held out (strictly between\n0 and 1)"},
    CLI_OPT_PERSON,
    CLI_OPT_GROUP,
    CLI_OPT_SEED,
    CLI_OPT_MAX_INPUT,
    CLI_END};

const cli_command_spec cli_spec_split = {
    .name = "split",
    .synopsis = "--data FILE --train-out FILE --heldout-out FILE --split-out FILE\n"
                "                      [--fraction X] [--person COL] [--group COL] [--seed S]",
    .about = "Splits the persons of a responses file into training and held-out persons, so\n"
             "that every model trains on the first and every audit sees only the second:\n"
             "agreement and DIF measured on persons a model trained on are partly memory.\n"
             "Every row of a person goes to the same side.\n\n"
             "The split is stratified by --group: within each group the persons, sorted by\n"
             "id, are shuffled by a generator seeded from --seed and the group's name, and\n"
             "round(X x n) of the group's n persons are held out (halves away from zero),\n"
             "but at least 1 and at most n - 1 when the group has two or more persons, so\n"
             "both sides see every group; a group of one person is held out only when X is\n"
             "0.5 or more. The same file, seed and fraction give the same split.\n\n"
             "Writes the two CSV files (every column, rows in input order; text cells that a\n"
             "spreadsheet would run as formulas are neutralised as by the other commands)\n"
             "and split.json, each atomically, and reads each back. A person whose rows name\n"
             "different groups, or an empty person id or group label, is an input error\n"
             "naming file, line and column.",
    .options = SPLIT_OPTIONS,
    .notes = "`sjtalign run` runs this command as the stage \"split\" (pipeline setting\n"
             "\"heldout\", default 0.3); `sjtalign audit --split split.json` reports the split\n"
             "and refuses scores of a training person.",
    .examples =
        "sjtalign split --data data/demo/responses.csv --train-out runs/split/train.csv \\\n"
        "    --heldout-out runs/split/heldout.csv --split-out runs/split/split.json\n"
        "sjtalign split --data responses.csv --fraction 0.25 --group site --seed 7 \\\n"
        "    --train-out train.csv --heldout-out test.csv --split-out split.json",
};

/* Writes the rows of one side (heldout 1 or 0) in input order. */
static sj_status write_side(const sj_table *t, const sj_split *s, int heldout, const char *path,
                            sj_error *err)
{
    sj_csv_writer w;
    if (sj_csv_open(&w, path, (const char *const *)t->names, t->n_cols, err) != SJ_OK)
        return err->status;
    for (size_t r = 0; r < t->n_rows; r++)
        if (s->row_heldout[r] == heldout)
            sj_csv_row(&w, (const char *const *)&t->cells[r * t->n_cols]);
    return sj_csv_close(&w, err);
}

/* Reads a written side back: the same header and, in order, exactly the
 * rows of that side, cell for cell. */
static sj_status read_back_side(const sj_table *t, const sj_split *s, int heldout, const char *path,
                                sj_error *err)
{
    sj_table *back = sj_table_read(path, err);
    if (!back) {
        sj_error_prefix(err, "cannot read back %s: ", path);
        err->status = SJ_ERR_WORK;
        return SJ_ERR_WORK;
    }
    size_t want = heldout ? s->n_rows_heldout : t->n_rows - s->n_rows_heldout;
    int same = back->n_cols == t->n_cols && back->n_rows == want;
    for (size_t c = 0; same && c < t->n_cols; c++)
        same = strcmp(back->names[c], t->names[c]) == 0;
    for (size_t r = 0, b = 0; same && r < t->n_rows; r++) {
        if (s->row_heldout[r] != heldout)
            continue;
        for (size_t c = 0; same && c < t->n_cols; c++)
            same = strcmp(sj_table_cell(back, b, c), sj_table_cell(t, r, c)) == 0;
        b++;
    }
    sj_table_free(back);
    return same ? SJ_OK : sj_error_set(err, SJ_ERR_WORK, "%s does not read back as written", path);
}

static void add_counts(cJSON *obj, const char *name, size_t total, size_t heldout)
{
    cJSON *o = cJSON_AddObjectToObject(obj, name);
    cJSON_AddNumberToObject(o, "total", (double)total);
    cJSON_AddNumberToObject(o, "train", (double)(total - heldout));
    cJSON_AddNumberToObject(o, "heldout", (double)heldout);
}

static sj_status add_file(cJSON *doc, const char *name, const char *path, sj_error *err)
{
    char sha[65];
    if (sj_sha256_file(path, sha, err) != SJ_OK)
        return err->status;
    cJSON *o = cJSON_AddObjectToObject(doc, name);
    cJSON_AddStringToObject(o, "path", path);
    cJSON_AddStringToObject(o, "sha256", sha);
    return SJ_OK;
}

static cJSON *person_list(const sj_split *s, int heldout)
{
    cJSON *list = cJSON_CreateArray();
    for (size_t p = 0; list && p < s->n_persons; p++)
        if (s->person_heldout[p] == heldout)
            cJSON_AddItemToArray(list, cJSON_CreateString(s->persons[p]));
    return list;
}

/* The split document (docs/OUTPUTS.md, "split.json"). */
static cJSON *split_json(const cli_args *c, const sj_split *s, sj_error *err)
{
    cJSON *doc = cJSON_CreateObject();
    cJSON_AddStringToObject(doc, "kind", "sjtalign-split");
    cJSON_AddNumberToObject(doc, "schema_version", 1);
    cJSON_AddNumberToObject(doc, "fraction", s->fraction);
    sj_json_add_seed(doc, "seed", s->seed);
    cJSON_AddStringToObject(doc, "stratified_by", cli_text(c, "group"));
    cJSON_AddStringToObject(doc, "person_column", cli_text(c, "person"));
    cJSON_AddStringToObject(doc, "method",
                            "per group: persons sorted by id, shuffled (MT19937 seeded from the "
                            "seed and the group's name), the first round(fraction x n) held out, "
                            "at least 1 and at most n - 1 when n >= 2");
    add_counts(doc, "persons", s->n_persons, s->n_heldout);
    add_counts(doc, "rows", s->n_rows, s->n_rows_heldout);
    cJSON *by_group = cJSON_AddObjectToObject(doc, "by_group");
    for (size_t g = 0; g < s->n_groups; g++)
        add_counts(by_group, s->groups[g].name, s->groups[g].n_persons, s->groups[g].n_heldout);
    sj_status st = add_file(doc, "data", cli_text(c, "data"), err);
    if (st == SJ_OK)
        st = add_file(doc, "train", cli_text(c, "train-out"), err);
    if (st == SJ_OK)
        st = add_file(doc, "heldout", cli_text(c, "heldout-out"), err);
    cJSON_AddItemToObject(doc, "train_persons", person_list(s, 0));
    cJSON_AddItemToObject(doc, "heldout_persons", person_list(s, 1));
    if (st != SJ_OK) {
        cJSON_Delete(doc);
        return NULL;
    }
    return doc;
}

/* Writes split.json and reads it back: the same document. */
static sj_status write_split_json(const cli_args *c, const sj_split *s, sj_error *err)
{
    cJSON *doc = split_json(c, s, err);
    if (!doc)
        return err->status ? err->status : sj_error_set(err, SJ_ERR_WORK, "out of memory");
    const char *path = cli_text(c, "split-out");
    sj_status st = sj_json_write(path, doc, err);
    cJSON *back = st == SJ_OK ? sj_json_read(path, err) : NULL;
    if (st == SJ_OK && !back) {
        sj_error_prefix(err, "cannot read back %s: ", path);
        st = err->status = SJ_ERR_WORK;
    } else if (st == SJ_OK && !cJSON_Compare(doc, back, 1))
        st = sj_error_set(err, SJ_ERR_WORK, "%s does not read back as written", path);
    cJSON_Delete(back);
    cJSON_Delete(doc);
    return st;
}

/* Three outputs, three different files. */
static int check_outputs_differ(const cli_args *c)
{
    static const char *const names[3] = {"train-out", "heldout-out", "split-out"};
    for (int i = 0; i < 3; i++)
        for (int j = i + 1; j < 3; j++)
            if (sj_path_same(cli_text(c, names[i]), cli_text(c, names[j])))
                return cli_usage_error("split", "--%s and --%s name the same file %s", names[i],
                                       names[j], cli_text(c, names[i]));
    double x = cli_real(c, "fraction");
    if (!(x > 0 && x < 1))
        return cli_usage_error("split", "--fraction must lie strictly between 0 and 1, got %g", x);
    return 0;
}

static void print_summary(const cli_args *c, const sj_split *s)
{
    fprintf(stderr, "split: %zu persons (%zu rows) -> %zu train, %zu held out (%zu rows) by %s:",
            s->n_persons, s->n_rows, s->n_persons - s->n_heldout, s->n_heldout, s->n_rows_heldout,
            cli_text(c, "group"));
    for (size_t g = 0; g < s->n_groups; g++)
        fprintf(stderr, "%s %s %zu of %zu", g ? "," : "", s->groups[g].name, s->groups[g].n_heldout,
                s->groups[g].n_persons);
    fprintf(stderr, "; seed %llu -> %s, %s, %s\n", (unsigned long long)s->seed,
            cli_text(c, "train-out"), cli_text(c, "heldout-out"), cli_text(c, "split-out"));
}

static int run_split(const cli_args *c)
{
    sj_error err;
    sj_error_clear(&err);
    sj_table *t = sj_table_read(cli_text(c, "data"), &err);
    sj_split *s = NULL;
    long col_person = t ? sj_table_column(t, cli_text(c, "person"), &err) : -1;
    long col_group = col_person >= 0 ? sj_table_column(t, cli_text(c, "group"), &err) : -1;
    if (col_group >= 0)
        s = sj_split_persons(t, col_person, col_group, cli_real(c, "fraction"),
                             cli_seed_value(c, "seed"), &err);
    sj_status st = s ? SJ_OK : (err.status ? err.status : SJ_ERR_INPUT);
    if (st == SJ_OK)
        st = write_side(t, s, 0, cli_text(c, "train-out"), &err);
    if (st == SJ_OK)
        st = write_side(t, s, 1, cli_text(c, "heldout-out"), &err);
    if (st == SJ_OK)
        st = read_back_side(t, s, 0, cli_text(c, "train-out"), &err);
    if (st == SJ_OK)
        st = read_back_side(t, s, 1, cli_text(c, "heldout-out"), &err);
    if (st == SJ_OK)
        st = write_split_json(c, s, &err);
    if (st == SJ_OK)
        print_summary(c, s);
    sj_split_free(s);
    sj_table_free(t);
    return st == SJ_OK ? 0 : cli_fail(&err);
}

int cmd_split(int argc, char **argv)
{
    cli_args c;
    int rc = cli_begin(&cli_spec_split, argc, argv, &c);
    if (rc >= 0)
        return rc;
    rc = check_outputs_differ(&c);
    if (rc == 0)
        rc = run_split(&c);
    cli_args_free(&c);
    return rc;
}
