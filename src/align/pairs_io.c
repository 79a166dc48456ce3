/* Reading a pairs file after experts (or `judge`) filled in `preferred`. */
#include "sjtalign/align.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

const char *const SJA_PAIRS_HEADER[8] = {"pair_id",      "item_id",      "person_id", "response",
                                         "completion_a", "completion_b", "preferred", "judge_id"};

void sja_pairs_free(sja_pairs *p)
{
    if (!p)
        return;
    for (size_t i = 0; i < p->n; i++) {
        sja_pair *q = &p->pairs[i];
        free(q->pair_id);
        free(q->item_id);
        free(q->person_id);
        free(q->response);
        free(q->completion_a);
        free(q->completion_b);
        free(q->judge_id);
        free(q->group);
    }
    free(p->pairs);
    free(p);
}

/* "a", "b", "tie" or blank, ignoring case and surrounding blanks; -1
 * otherwise. */
static int parse_preferred(const char *s)
{
    while (isspace((unsigned char)*s))
        s++;
    size_t n = strlen(s);
    while (n > 0 && isspace((unsigned char)s[n - 1]))
        n--;
    if (n == 0)
        return SJA_PREF_NONE;
    if (n == 1 && (s[0] == 'a' || s[0] == 'A'))
        return SJA_PREF_A;
    if (n == 1 && (s[0] == 'b' || s[0] == 'B'))
        return SJA_PREF_B;
    if (n == 3 && strncasecmp(s, "tie", 3) == 0)
        return SJA_PREF_TIE;
    return -1;
}

static sj_status read_row(const sj_table *t, size_t row, const long *col, const sj_instrument *ins,
                          sja_pair *q, sj_error *err)
{
    long line = t->row_line[row];
    q->line = line;
    const char *item_id = sj_table_cell(t, row, (size_t)col[1]);
    long item = sj_instrument_find_item(ins, item_id);
    if (item < 0)
        return sj_error_at(err, SJ_ERR_INPUT, t->path, line, col[1] + 1,
                           "item '%s' is not in instrument '%s'", item_id, ins->id);
    q->item = (size_t)item;
    for (int k = 0; k < 2; k++) {
        const char *c = sj_table_cell(t, row, (size_t)col[4 + k]);
        int *score = k == 0 ? &q->score_a : &q->score_b;
        if (sja_parse_completion(c, ins->score_min, ins->score_max, score) != 0)
            return sj_error_at(err, SJ_ERR_INPUT, t->path, line, col[4 + k] + 1,
                               "expected a completion 'score: k' with k in %d..%d, got '%s'",
                               ins->score_min, ins->score_max, c);
    }
    const char *pref = sj_table_cell(t, row, (size_t)col[6]);
    q->preferred = parse_preferred(pref);
    if (q->preferred < 0)
        return sj_error_at(err, SJ_ERR_INPUT, t->path, line, col[6] + 1,
                           "preferred must be 'a', 'b', 'tie' or empty, got '%s'", pref);
    if (sj_table_cell(t, row, (size_t)col[0])[0] == '\0')
        return sj_error_at(err, SJ_ERR_INPUT, t->path, line, col[0] + 1, "empty pair_id");
    q->pair_id = sj_strdup(sj_table_cell(t, row, (size_t)col[0]));
    q->item_id = sj_strdup(item_id);
    q->person_id = sj_strdup(sj_table_cell(t, row, (size_t)col[2]));
    q->response = sj_strdup(sj_table_cell(t, row, (size_t)col[3]));
    q->completion_a = sj_strdup(sj_table_cell(t, row, (size_t)col[4]));
    q->completion_b = sj_strdup(sj_table_cell(t, row, (size_t)col[5]));
    q->judge_id = sj_strdup(col[7] >= 0 ? sj_table_cell(t, row, (size_t)col[7]) : "");
    q->group = sj_strdup(col[8] >= 0 ? sj_table_cell(t, row, (size_t)col[8]) : "");
    if (!q->pair_id || !q->item_id || !q->person_id || !q->response || !q->completion_a ||
        !q->completion_b || !q->judge_id || !q->group)
        return sj_error_set(err, SJ_ERR_WORK, "out of memory reading %s", t->path);
    return SJ_OK;
}

static int compare_rows(const void *a, const void *b)
{
    const sja_pair *x = *(const sja_pair *const *)a, *y = *(const sja_pair *const *)b;
    int c = strcmp(x->pair_id, y->pair_id);
    if (!c)
        c = strcmp(x->judge_id, y->judge_id);
    return c ? c : (x->line > y->line) - (x->line < y->line);
}

/* The column (1-based, as col[] holds 0-based) where a row repeating a
 * pair differs from the pair's first row, or 0 when they agree. */
static long first_difference(const sja_pair *first, const sja_pair *q, const long *col)
{
    if (strcmp(first->item_id, q->item_id) != 0)
        return col[1] + 1;
    if (strcmp(first->person_id, q->person_id) != 0)
        return col[2] + 1;
    if (strcmp(first->response, q->response) != 0)
        return col[3] + 1;
    if (strcmp(first->completion_a, q->completion_a) != 0)
        return col[4] + 1;
    if (strcmp(first->completion_b, q->completion_b) != 0)
        return col[5] + 1;
    if (strcmp(first->group, q->group) != 0)
        return col[8] + 1;
    return 0;
}

/* Rows sharing a pair_id are judgments of one pair by different judges:
 * the same candidates for the same response, each judge once. */
static sj_status check_repeated_pairs(const sja_pairs *p, const long *col, const char *path,
                                      sj_error *err)
{
    const sja_pair **rows = malloc((p->n ? p->n : 1) * sizeof *rows);
    if (!rows)
        return sj_error_set(err, SJ_ERR_WORK, "out of memory reading %s", path);
    for (size_t i = 0; i < p->n; i++)
        rows[i] = &p->pairs[i];
    qsort(rows, p->n, sizeof *rows, compare_rows);
    sj_status st = SJ_OK;
    for (size_t i = 1, start = 0; i < p->n && st == SJ_OK; i++) {
        if (strcmp(rows[i]->pair_id, rows[start]->pair_id) != 0) {
            start = i;
            continue;
        }
        const sja_pair *q = rows[i];
        long where = first_difference(rows[start], q, col);
        if (where)
            st = sj_error_at(err, SJ_ERR_INPUT, path, q->line, where,
                             "pair '%s' is given on line %ld with other candidates or "
                             "another response; rows of one pair_id must agree except for "
                             "preferred and judge_id",
                             q->pair_id, rows[start]->line);
        /* sorted by judge within the pair: a judge's repeat follows it */
        if (st == SJ_OK && q->judge_id[0] && strcmp(rows[i - 1]->judge_id, q->judge_id) == 0)
            st = sj_error_at(err, SJ_ERR_INPUT, path, q->line, col[7] + 1,
                             "judge '%s' judged pair '%s' already on line %ld; expected one "
                             "row per judge and pair",
                             q->judge_id, q->pair_id, rows[i - 1]->line);
    }
    free(rows);
    return st;
}

sja_pairs *sja_pairs_read(const char *path, const sj_instrument *ins, sj_error *err)
{
    sj_table *t = sj_table_read(path, err);
    if (!t)
        return NULL;
    long col[9];
    for (int k = 0; k < 7; k++) {
        col[k] = sj_table_column(t, SJA_PAIRS_HEADER[k], err);
        if (col[k] < 0) {
            sj_table_free(t);
            return NULL;
        }
    }
    col[7] = sj_table_find_column(t, SJA_PAIRS_HEADER[7]);
    col[8] = sj_table_find_column(t, "group");
    sja_pairs *p = sj_calloc(1, sizeof *p);
    if (p)
        p->pairs = sj_calloc(t->n_rows ? t->n_rows : 1, sizeof *p->pairs);
    if (!p || !p->pairs) {
        free(p);
        sj_table_free(t);
        sj_error_set(err, SJ_ERR_WORK, "out of memory reading %s", path);
        return NULL;
    }
    for (size_t r = 0; r < t->n_rows; r++) {
        p->n = r + 1;
        if (read_row(t, r, col, ins, &p->pairs[r], err) != SJ_OK) {
            sja_pairs_free(p);
            sj_table_free(t);
            return NULL;
        }
        p->n_judged += p->pairs[r].preferred != SJA_PREF_NONE;
    }
    p->has_group = col[8] >= 0;
    if (check_repeated_pairs(p, col, path, err) != SJ_OK) {
        sja_pairs_free(p);
        p = NULL;
    }
    sj_table_free(t);
    return p;
}
