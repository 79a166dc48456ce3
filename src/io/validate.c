/* Checking a responses file as a whole before training or analysis: every
 * defect rather than the first, the groups and their sizes, persons in two
 * groups, persons who did not answer every item, and the score columns the
 * other commands read. */
#include "sjtalign/io.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_MAX_DEFECTS 50
#define MISSING_EXAMPLES 3
#define MISSING_ITEMS_SHOWN 5
/* Row and item indices are 32-bit: the per-row arrays then cost 12 bytes a
 * row beside the table (a table within the input limit has fewer rows). */
typedef uint32_t index32;
#define NONE UINT32_MAX

static const char *const DEFAULT_SCORE_COLUMNS[] = {"score", "human_score", "score_mode"};

/* A defect found, kept with its message while fewer than the cap. */
typedef struct {
    long line, col;
    size_t seq;
    char *msg;
} defect;

typedef struct {
    defect *list;
    size_t n, max;
    size_t total;
} defect_list;

/* One row of a person's answers, for sorting by person and item. */
typedef struct {
    const char *person;
    index32 item;
    index32 row;
} entry;

typedef struct {
    const sj_table *t;
    const sj_instrument *ins;
    sj_validation *v;
    long col_person, col_item, col_group;
    long *score_col;   /* per v->score_columns entry; -1 when absent */
    index32 *item;     /* per row: the item's index, NONE when unknown */
    index32 *dup_of;   /* per row: the earlier row answering the same item */
    index32 *split_of; /* per row: the person's first row in another group */
    const char **home; /* per person: the group of the person's first row */
    size_t n_home;
    unsigned char *seen; /* per item, reused for each person */
    defect_list found;
} checker;

void sj_validation_free(sj_validation *v)
{
    if (!v)
        return;
    free(v->group_column);
    for (size_t i = 0; i < v->n_groups; i++)
        free(v->groups[i].label);
    free(v->groups);
    for (size_t i = 0; i < v->n_score_columns; i++)
        free(v->score_columns[i].name);
    free(v->score_columns);
    for (size_t i = 0; i < v->n_missing_examples; i++)
        free(v->missing_examples[i]);
    free(v->missing_examples);
    for (size_t i = 0; i < v->n_messages; i++)
        free(v->messages[i]);
    free(v->messages);
    free(v);
}

/* Counts a defect; keeps its message (already in err) while under the cap. */
static void add_defect(defect_list *d, const sj_error *e, long line, long col)
{
    d->total++;
    if (d->n >= d->max)
        return;
    char *msg = sj_strdup(e->msg);
    if (!msg)
        return;
    d->list[d->n] = (defect){line, col, d->total, msg};
    d->n++;
}

/* ---- score cells ------------------------------------------------------------ */

static sj_status check_score_cell(const sj_table *t, size_t row, size_t col,
                                  const sj_instrument *ins, int expected, sj_error *err)
{
    if (sj_table_cell(t, row, col)[0] == '\0')
        return SJ_OK; /* a missing score */
    if (expected) {
        double x;
        if (sj_table_number(t, row, col, &x, err) != SJ_OK)
            return SJ_ERR_INPUT;
        if (x < ins->score_min || x > ins->score_max)
            return sj_error_at(err, SJ_ERR_INPUT, t->path, t->row_line[row], (long)col + 1,
                               "expected score %g is outside the instrument's range %d..%d "
                               "(column '%s')",
                               x, ins->score_min, ins->score_max, t->names[col]);
        return SJ_OK;
    }
    long s;
    if (sj_table_integer(t, row, col, &s, err) != SJ_OK)
        return SJ_ERR_INPUT;
    if (s < ins->score_min || s > ins->score_max)
        return sj_error_at(err, SJ_ERR_INPUT, t->path, t->row_line[row], (long)col + 1,
                           "score %ld is outside the instrument's range %d..%d (column '%s')", s,
                           ins->score_min, ins->score_max, t->names[col]);
    return SJ_OK;
}

sj_status sj_check_score_column(const sj_table *t, long col, const sj_instrument *ins,
                                sj_error *err)
{
    for (size_t row = 0; row < t->n_rows; row++)
        if (check_score_cell(t, row, (size_t)col, ins, 0, err) != SJ_OK)
            return SJ_ERR_INPUT;
    return SJ_OK;
}

/* ---- columns ------------------------------------------------------------------ */

/* A named column that is missing is a defect of the header (line 1). */
static long named_column(checker *c, const char *name)
{
    sj_error e;
    sj_error_clear(&e);
    long col = sj_table_column(c->t, name, &e);
    if (col < 0)
        add_defect(&c->found, &e, 1, 0);
    return col;
}

static int listed_before(const char *const *names, size_t i)
{
    for (size_t j = 0; j < i; j++)
        if (strcmp(names[j], names[i]) == 0)
            return 1;
    return 0;
}

static sj_status resolve_score_columns(checker *c, const sj_validate_options *o)
{
    int named = o->n_score_cols > 0;
    const char *const *names = named ? o->score_cols : DEFAULT_SCORE_COLUMNS;
    size_t n = named ? o->n_score_cols : sizeof DEFAULT_SCORE_COLUMNS / sizeof *names;
    sj_validation *v = c->v;
    v->score_columns = sj_calloc(n, sizeof *v->score_columns);
    c->score_col = sj_calloc(n, sizeof *c->score_col);
    if (!v->score_columns || !c->score_col)
        return SJ_ERR_WORK;
    int scores_file = sj_table_find_column(c->t, "score_mode") >= 0;
    for (size_t i = 0; i < n; i++) {
        if (listed_before(names, i))
            continue;
        sj_score_check *s = &v->score_columns[v->n_score_columns];
        s->name = sj_strdup(names[i]);
        if (!s->name)
            return SJ_ERR_WORK;
        long col = named ? named_column(c, names[i]) : sj_table_find_column(c->t, names[i]);
        s->present = col >= 0;
        s->expected = !named && scores_file && strcmp(names[i], "score") == 0;
        c->score_col[v->n_score_columns++] = col;
    }
    return SJ_OK;
}

static sj_status resolve_columns(checker *c, const sj_validate_options *o, sj_error *err)
{
    const sj_table *t = c->t;
    sj_columns cols = o->cols;
    sj_columns_defaults(&cols);
    c->col_person = sj_table_column(t, cols.person, err);
    if (c->col_person < 0)
        return SJ_ERR_INPUT;
    c->col_item = sj_table_column(t, cols.item, err);
    if (c->col_item < 0)
        return SJ_ERR_INPUT;
    if (t->n_rows == 0)
        return sj_error_at(err, SJ_ERR_INPUT, t->path, 2, 0, "no data rows after the header");
    if (t->n_rows >= NONE)
        return sj_error_set(err, SJ_ERR_INPUT, "%s: %zu rows; validate checks at most %u", t->path,
                            t->n_rows, (unsigned)NONE - 1);
    named_column(c, cols.text);
    c->col_group =
        o->cols.group ? named_column(c, cols.group) : sj_table_find_column(t, cols.group);
    c->v->group_column = sj_strdup(cols.group);
    c->v->has_group = c->col_group >= 0;
    if (!c->v->group_column || resolve_score_columns(c, o) != SJ_OK)
        return sj_error_set(err, SJ_ERR_WORK, "out of memory");
    return SJ_OK;
}

/* ---- rows ---------------------------------------------------------------------- */

static void check_scores(checker *c, size_t row)
{
    sj_validation *v = c->v;
    for (size_t k = 0; k < v->n_score_columns; k++) {
        long col = c->score_col[k];
        if (col < 0)
            continue;
        sj_error e;
        sj_error_clear(&e);
        if (check_score_cell(c->t, row, (size_t)col, c->ins, v->score_columns[k].expected, &e) !=
            SJ_OK)
            add_defect(&c->found, &e, c->t->row_line[row], col + 1);
        else if (sj_table_cell(c->t, row, (size_t)col)[0] != '\0')
            v->score_columns[k].n_scored++;
    }
}

static void check_row(checker *c, size_t row)
{
    const sj_table *t = c->t;
    long line = t->row_line[row];
    sj_error e;
    if (sj_table_cell(t, row, (size_t)c->col_person)[0] == '\0') {
        sj_error_at(&e, SJ_ERR_INPUT, t->path, line, c->col_person + 1, "empty person id");
        add_defect(&c->found, &e, line, c->col_person + 1);
    }
    const char *item = sj_table_cell(t, row, (size_t)c->col_item);
    long idx = sj_instrument_find_item(c->ins, item);
    c->item[row] = idx < 0 ? NONE : (index32)idx;
    if (idx < 0) {
        sj_error_at(&e, SJ_ERR_INPUT, t->path, line, c->col_item + 1,
                    "unknown item '%.60s': the instrument %s has no such item", item, c->ins->id);
        add_defect(&c->found, &e, line, c->col_item + 1);
    }
    if (c->col_group >= 0 && sj_table_cell(t, row, (size_t)c->col_group)[0] == '\0') {
        sj_error_at(&e, SJ_ERR_INPUT, t->path, line, c->col_group + 1,
                    "empty group label in column '%s'", t->names[c->col_group]);
        add_defect(&c->found, &e, line, c->col_group + 1);
    }
    check_scores(c, row);
}

/* ---- persons ------------------------------------------------------------------- */

static int compare_entries(const void *a, const void *b)
{
    const entry *x = a, *y = b;
    int cmp = strcmp(x->person, y->person);
    if (cmp)
        return cmp;
    if (x->item != y->item)
        return x->item < y->item ? -1 : 1;
    return x->row < y->row ? -1 : (x->row > y->row);
}

static const char *group_of(const checker *c, size_t row)
{
    return sj_table_cell(c->t, row, (size_t)c->col_group);
}

/* The person's group is the label on their first row that has one; a later
 * row with another label marks the person as in two groups. */
static void check_person_group(checker *c, const entry *e, size_t n)
{
    index32 home = NONE, split = NONE;
    for (size_t k = 0; k < n; k++)
        if (group_of(c, e[k].row)[0] != '\0' && (home == NONE || e[k].row < home))
            home = e[k].row;
    if (home == NONE)
        return;
    for (size_t k = 0; k < n; k++) {
        const char *g = group_of(c, e[k].row);
        if (g[0] != '\0' && strcmp(g, group_of(c, home)) != 0 &&
            (split == NONE || e[k].row < split))
            split = e[k].row;
    }
    c->home[c->n_home++] = group_of(c, home);
    if (split != NONE) {
        c->split_of[split] = home;
        c->v->n_split_persons++;
    }
}

/* -1 when out of memory. */
static int add_missing_example(checker *c, const char *person, size_t missing)
{
    sj_validation *v = c->v;
    sj_buf b = {0};
    sj_buf_printf(&b, "%.60s lacks ", person);
    size_t shown = 0;
    for (size_t i = 0; i < c->ins->n_items && shown < MISSING_ITEMS_SHOWN; i++)
        if (!c->seen[i])
            sj_buf_printf(&b, "%s%.60s", shown++ ? ", " : "", c->ins->items[i].id);
    if (missing > shown)
        sj_buf_printf(&b, " and %zu more", missing - shown);
    if (sj_buf_failed(&b)) {
        sj_buf_free(&b);
        return -1;
    }
    v->missing_examples[v->n_missing_examples++] = b.data;
    return 0;
}

/* Duplicates (rows are sorted by item, then row), the group and the items
 * the person did not answer. -1 when out of memory. */
static int check_person(checker *c, const entry *e, size_t n)
{
    memset(c->seen, 0, c->ins->n_items);
    size_t answered = 0, first = 0;
    for (size_t k = 0; k < n; k++) {
        if (k > 0 && e[k].item != NONE && e[k].item == e[k - 1].item)
            c->dup_of[e[k].row] = e[first].row;
        else
            first = k;
        if (e[k].item != NONE && !c->seen[e[k].item]) {
            c->seen[e[k].item] = 1;
            answered++;
        }
    }
    if (c->col_group >= 0)
        check_person_group(c, e, n);
    sj_validation *v = c->v;
    size_t missing = c->ins->n_items - answered;
    if (missing == 0)
        return 0;
    v->n_incomplete_persons++;
    v->n_missing_cells += missing;
    if (v->n_missing_examples < MISSING_EXAMPLES)
        return add_missing_example(c, e[0].person, missing);
    return 0;
}

static int compare_labels(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static sj_status count_groups(checker *c)
{
    sj_validation *v = c->v;
    if (c->n_home == 0)
        return SJ_OK;
    qsort(c->home, c->n_home, sizeof *c->home, compare_labels);
    v->groups = sj_calloc(c->n_home, sizeof *v->groups);
    if (!v->groups)
        return SJ_ERR_WORK;
    for (size_t i = 0; i < c->n_home; i++) {
        if (i > 0 && strcmp(c->home[i], c->home[i - 1]) == 0) {
            v->groups[v->n_groups - 1].n_persons++;
            continue;
        }
        v->groups[v->n_groups].label = sj_strdup(c->home[i]);
        if (!v->groups[v->n_groups].label)
            return SJ_ERR_WORK;
        v->groups[v->n_groups++].n_persons = 1;
    }
    return SJ_OK;
}

static sj_status check_persons(checker *c)
{
    const sj_table *t = c->t;
    entry *e = malloc(t->n_rows * sizeof *e);
    if (!e)
        return SJ_ERR_WORK;
    size_t n = 0;
    for (size_t row = 0; row < t->n_rows; row++) {
        const char *person = sj_table_cell(t, row, (size_t)c->col_person);
        if (person[0] != '\0')
            e[n++] = (entry){person, c->item[row], (index32)row};
    }
    qsort(e, n, sizeof *e, compare_entries);
    size_t start = 0, seen_items = 0;
    for (size_t k = 1; k <= n; k++) {
        if (k < n && strcmp(e[k].person, e[start].person) == 0)
            continue;
        if (check_person(c, e + start, k - start) != 0) {
            free(e);
            return SJ_ERR_WORK;
        }
        c->v->n_persons++;
        start = k;
    }
    free(e);
    memset(c->seen, 0, c->ins->n_items);
    for (size_t row = 0; row < t->n_rows; row++)
        if (c->item[row] != NONE && !c->seen[c->item[row]]) {
            c->seen[c->item[row]] = 1;
            seen_items++;
        }
    c->v->n_items_seen = seen_items;
    return count_groups(c);
}

/* ---- reporting ------------------------------------------------------------------ */

/* The defects found across rows, in file order. */
static void add_person_defects(checker *c, defect_list *d)
{
    const sj_table *t = c->t;
    sj_error e;
    for (size_t row = 0; row < t->n_rows; row++) {
        long line = t->row_line[row];
        const char *person = sj_table_cell(t, row, (size_t)c->col_person);
        if (c->dup_of[row] != NONE) {
            sj_error_at(&e, SJ_ERR_INPUT, t->path, line, c->col_person + 1,
                        "person '%.60s' answers item '%.60s' twice (first on line %ld)", person,
                        sj_table_cell(t, row, (size_t)c->col_item), t->row_line[c->dup_of[row]]);
            add_defect(d, &e, line, c->col_person + 1);
        }
        if (c->split_of[row] != NONE) {
            sj_error_at(&e, SJ_ERR_INPUT, t->path, line, c->col_group + 1,
                        "person '%.60s' is in group '%.60s' here but in group '%.60s' on line "
                        "%ld (a person belongs to one group)",
                        person, group_of(c, row), group_of(c, c->split_of[row]),
                        t->row_line[c->split_of[row]]);
            add_defect(d, &e, line, c->col_group + 1);
        }
    }
}

static int compare_defects(const void *a, const void *b)
{
    const defect *x = a, *y = b;
    if (x->line != y->line)
        return x->line < y->line ? -1 : 1;
    if (x->col != y->col)
        return x->col < y->col ? -1 : 1;
    return x->seq < y->seq ? -1 : (x->seq > y->seq);
}

/* Both lists are in file order, so the first max of the two together are
 * among the first max of each. The kept messages move to v. */
static sj_status collect_messages(checker *c)
{
    defect_list *rows = &c->found;
    defect_list persons = {sj_calloc(rows->max, sizeof *persons.list), 0, rows->max, 0};
    defect *all = sj_calloc(2 * rows->max, sizeof *all);
    sj_validation *v = c->v;
    v->messages = sj_calloc(rows->max, sizeof *v->messages);
    if (!persons.list || !all || !v->messages) {
        free(persons.list);
        free(all);
        return SJ_ERR_WORK;
    }
    add_person_defects(c, &persons);
    v->n_defects = rows->total + persons.total;
    size_t n = rows->n + persons.n;
    memcpy(all, rows->list, rows->n * sizeof *all);
    memcpy(all + rows->n, persons.list, persons.n * sizeof *all);
    rows->n = 0;
    qsort(all, n, sizeof *all, compare_defects);
    for (size_t i = 0; i < n; i++) {
        if (v->n_messages < rows->max)
            v->messages[v->n_messages++] = all[i].msg;
        else
            free(all[i].msg);
    }
    free(all);
    free(persons.list);
    return SJ_OK;
}

static void checker_free(checker *c)
{
    for (size_t i = 0; i < c->found.n; i++)
        free(c->found.list[i].msg);
    free(c->found.list);
    free(c->score_col);
    free(c->item);
    free(c->dup_of);
    free(c->split_of);
    free(c->home);
    free(c->seen);
}

static sj_status checker_alloc(checker *c, size_t max_defects)
{
    size_t n = c->t->n_rows ? c->t->n_rows : 1;
    c->found.max = max_defects ? max_defects : DEFAULT_MAX_DEFECTS;
    c->found.list = sj_calloc(c->found.max, sizeof *c->found.list);
    c->item = malloc(n * sizeof *c->item);
    c->dup_of = malloc(n * sizeof *c->dup_of);
    c->split_of = malloc(n * sizeof *c->split_of);
    c->home = malloc(n * sizeof *c->home);
    c->seen = malloc(c->ins->n_items ? c->ins->n_items : 1);
    c->v->missing_examples = sj_calloc(MISSING_EXAMPLES, sizeof *c->v->missing_examples);
    if (!c->v->missing_examples || !c->found.list || !c->item || !c->dup_of || !c->split_of ||
        !c->home || !c->seen)
        return SJ_ERR_WORK;
    for (size_t i = 0; i < n; i++)
        c->dup_of[i] = c->split_of[i] = NONE;
    return SJ_OK;
}

sj_validation *sj_validate_table(const sj_table *t, const sj_instrument *ins,
                                 const sj_validate_options *o, sj_error *err)
{
    checker c = {.t = t, .ins = ins, .col_group = -1};
    c.v = sj_calloc(1, sizeof *c.v);
    if (!c.v || checker_alloc(&c, o->max_defects) != SJ_OK) {
        sj_error_set(err, SJ_ERR_WORK, "out of memory");
        goto fail;
    }
    if (resolve_columns(&c, o, err) != SJ_OK)
        goto fail;
    c.v->n_rows = t->n_rows;
    for (size_t row = 0; row < t->n_rows; row++)
        check_row(&c, row);
    if (check_persons(&c) != SJ_OK || collect_messages(&c) != SJ_OK) {
        sj_error_set(err, SJ_ERR_WORK, "out of memory");
        goto fail;
    }
    checker_free(&c);
    return c.v;
fail:
    checker_free(&c);
    sj_validation_free(c.v);
    return NULL;
}

sj_validation *sj_validate_file(const char *path, const sj_instrument *ins,
                                const sj_validate_options *o, sj_error *err)
{
    sj_table *t = sj_table_read(path, err);
    if (!t)
        return NULL;
    sj_validation *v = sj_validate_table(t, ins, o, err);
    sj_table_free(t);
    return v;
}
