/* The simulated expert panel: experts who know the true score prefer the
 * candidate scoring nearer to it, with Bradley–Terry noise. */
#include "sjtalign/sim.h"

#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <gsl/gsl_rng.h>

int sj_panel_parse_score(const char *completion, long *score)
{
    static const char KEY[] = "score:";
    const size_t n_key = sizeof KEY - 1;
    const char *at = NULL;
    for (const char *c = completion; *c && !at; c++)
        if (strncasecmp(c, KEY, n_key) == 0)
            at = c + n_key;
    if (!at)
        return -1;
    while (*at == ' ' || *at == '\t')
        at++;
    const char *digits = at + (*at == '-' || *at == '+');
    if (!isdigit((unsigned char)*digits))
        return -1;
    char *end = NULL;
    long v = strtol(at, &end, 10);
    /* "score: 2.5" is not a whole score. */
    if (*end == '.' && isdigit((unsigned char)end[1]))
        return -1;
    if (v > 1000000 || v < -1000000)
        return -1;
    *score = v;
    return 0;
}

double sj_panel_prefer_a(double sharpness, long score_a, long score_b, double truth)
{
    double gap = fabs((double)score_b - truth) - fabs((double)score_a - truth);
    return 1.0 / (1.0 + exp(-sharpness * gap));
}

/* ---- the truth file ----------------------------------------------------- */

typedef struct {
    const char *person;
    const char *item;
    double score;
    long line;
} truth_entry;

typedef struct {
    sj_table *table;
    size_t n;
    truth_entry *entries; /* sorted by person, then item */
} truth_index;

static int compare_truth(const void *a, const void *b)
{
    const truth_entry *x = a, *y = b;
    int c = strcmp(x->person, y->person);
    return c ? c : strcmp(x->item, y->item);
}

static void truth_free(truth_index *t)
{
    sj_table_free(t->table);
    free(t->entries);
}

static sj_status truth_load(const char *path, truth_index *t, sj_error *err)
{
    memset(t, 0, sizeof *t);
    t->table = sj_table_read(path, err);
    if (!t->table)
        return err ? err->status : SJ_ERR_INPUT;
    long cp = sj_table_column(t->table, "person_id", err);
    long ci = cp >= 0 ? sj_table_column(t->table, "item_id", err) : -1;
    long cs = ci >= 0 ? sj_table_column(t->table, "true_score", err) : -1;
    if (cs < 0)
        return SJ_ERR_INPUT;
    t->n = t->table->n_rows;
    t->entries = sj_calloc(t->n ? t->n : 1, sizeof *t->entries);
    if (!t->entries)
        return sj_error_set(err, SJ_ERR_WORK, "out of memory reading %s", path);
    for (size_t r = 0; r < t->n; r++) {
        truth_entry *e = &t->entries[r];
        e->person = sj_table_cell(t->table, r, (size_t)cp);
        e->item = sj_table_cell(t->table, r, (size_t)ci);
        e->line = t->table->row_line[r];
        if (sj_table_number(t->table, r, (size_t)cs, &e->score, err) != SJ_OK)
            return SJ_ERR_INPUT;
    }
    qsort(t->entries, t->n, sizeof *t->entries, compare_truth);
    for (size_t r = 1; r < t->n; r++)
        if (compare_truth(&t->entries[r - 1], &t->entries[r]) == 0) {
            const truth_entry *e = &t->entries[r];
            long first = e->line < t->entries[r - 1].line ? e->line : t->entries[r - 1].line;
            long second = e->line < t->entries[r - 1].line ? t->entries[r - 1].line : e->line;
            return sj_error_at(err, SJ_ERR_INPUT, path, second, 0,
                               "person '%s' with item '%s' appears again (first on line %ld)",
                               e->person, e->item, first);
        }
    return SJ_OK;
}

static const truth_entry *truth_find(const truth_index *t, const char *person, const char *item)
{
    truth_entry key = {person, item, 0, 0};
    return bsearch(&key, t->entries, t->n, sizeof *t->entries, compare_truth);
}

/* ---- judging the pairs ---------------------------------------------------- */

enum { C_PAIR, C_ITEM, C_PERSON, C_RESPONSE, C_A, C_B, C_PREFERRED, C_JUDGE, N_NAMED };

static const char *const PAIR_COLUMNS[N_NAMED] = {"pair_id",   "item_id",      "person_id",
                                                  "response",  "completion_a", "completion_b",
                                                  "preferred", "judge_id"};

typedef struct {
    const sj_table *pairs;
    long col[N_NAMED]; /* -1 where absent (only preferred and judge_id may be) */
    char *preferred;   /* per row: 'a' or 'b' */
    size_t *judge;     /* per row: 1-based expert */
} judged;

static sj_status find_columns(judged *j, sj_error *err)
{
    for (int c = 0; c < N_NAMED; c++) {
        if (c == C_PREFERRED || c == C_JUDGE) {
            j->col[c] = sj_table_find_column(j->pairs, PAIR_COLUMNS[c]);
            continue;
        }
        j->col[c] = sj_table_column(j->pairs, PAIR_COLUMNS[c], err);
        if (j->col[c] < 0)
            return SJ_ERR_INPUT;
    }
    return SJ_OK;
}

static sj_status completion_score(const sj_table *t, size_t row, long col, long *score,
                                  sj_error *err)
{
    if (sj_panel_parse_score(sj_table_cell(t, row, (size_t)col), score) == 0)
        return SJ_OK;
    return sj_error_at(err, SJ_ERR_INPUT, t->path, t->row_line[row], col + 1,
                       "%s: expected a completion starting with a scoring such as 'score: 2', "
                       "got '%.60s'",
                       t->names[col], sj_table_cell(t, row, (size_t)col));
}

static sj_status judge_rows(judged *j, const truth_index *truth, const char *truth_path,
                            const sj_panel_config *cfg, sj_panel_summary *s, sj_error *err)
{
    const sj_table *t = j->pairs;
    gsl_rng *rng = sj_rng_new(sj_seed_derive(cfg->seed, "judge/panel"));
    if (!rng)
        return sj_error_set(err, SJ_ERR_WORK, "out of memory");
    sj_status st = SJ_OK;
    for (size_t r = 0; r < t->n_rows && st == SJ_OK; r++) {
        const char *person = sj_table_cell(t, r, (size_t)j->col[C_PERSON]);
        const char *item = sj_table_cell(t, r, (size_t)j->col[C_ITEM]);
        const truth_entry *e = truth_find(truth, person, item);
        long sa, sb;
        if (!e) {
            st = sj_error_at(err, SJ_ERR_INPUT, t->path, t->row_line[r], j->col[C_PERSON] + 1,
                             "person '%s' with item '%s' is not in the truth file %s", person, item,
                             truth_path);
            break;
        }
        if (completion_score(t, r, j->col[C_A], &sa, err) != SJ_OK ||
            completion_score(t, r, j->col[C_B], &sb, err) != SJ_OK) {
            st = SJ_ERR_INPUT;
            break;
        }
        double u = gsl_rng_uniform(rng);
        double gap = fabs((double)sb - e->score) - fabs((double)sa - e->score);
        /* Equal distance: a fair coin. Otherwise Bradley–Terry. */
        double p_a = gap == 0.0 ? 0.5 : sj_panel_prefer_a(cfg->sharpness, sa, sb, e->score);
        j->preferred[r] = u < p_a ? 'a' : 'b';
        j->judge[r] = r % cfg->panel_size + 1;
        s->n_pairs++;
        if (gap != 0.0) {
            s->n_decisive++;
            s->n_agree += (gap > 0.0) == (j->preferred[r] == 'a');
        }
    }
    sj_rng_free(rng);
    return st;
}

static sj_status write_judged(const judged *j, const char *out_path, size_t panel_size,
                              sj_error *err)
{
    const sj_table *t = j->pairs;
    size_t n_cols = t->n_cols + (j->col[C_PREFERRED] < 0) + (j->col[C_JUDGE] < 0);
    const char **header = sj_calloc(n_cols, sizeof *header);
    if (!header)
        return sj_error_set(err, SJ_ERR_WORK, "out of memory");
    size_t h = 0;
    for (size_t c = 0; c < t->n_cols; c++)
        header[h++] = t->names[c];
    if (j->col[C_PREFERRED] < 0)
        header[h++] = "preferred";
    if (j->col[C_JUDGE] < 0)
        header[h++] = "judge_id";
    sj_csv_writer w;
    sj_status st = sj_csv_open(&w, out_path, header, n_cols, err);
    free(header);
    if (st != SJ_OK)
        return st;
    int width = panel_size >= 100 ? (panel_size >= 1000 ? 4 : 3) : 2;
    for (size_t r = 0; r < t->n_rows; r++) {
        char pref[2] = {j->preferred[r], '\0'};
        char judge[32];
        snprintf(judge, sizeof judge, "expert_%0*zu", width, j->judge[r]);
        for (size_t c = 0; c < t->n_cols; c++) {
            if ((long)c == j->col[C_PREFERRED])
                sj_csv_cell(&w, pref);
            else if ((long)c == j->col[C_JUDGE])
                sj_csv_cell(&w, judge);
            else
                sj_csv_cell(&w, sj_table_cell(t, r, c));
        }
        if (j->col[C_PREFERRED] < 0)
            sj_csv_cell(&w, pref);
        if (j->col[C_JUDGE] < 0)
            sj_csv_cell(&w, judge);
    }
    return sj_csv_close(&w, err);
}

sj_status sj_panel_judge_files(const char *truth_path, const char *pairs_path, const char *out_path,
                               const sj_panel_config *cfg, sj_panel_summary *summary, sj_error *err)
{
    sj_panel_summary local = {0};
    sj_panel_summary *s = summary ? summary : &local;
    memset(s, 0, sizeof *s);
    if (cfg->panel_size == 0)
        return sj_error_set(err, SJ_ERR_INPUT, "--panel-size must be at least 1");
    if (!(cfg->sharpness >= 0.0) || !isfinite(cfg->sharpness))
        return sj_error_set(err, SJ_ERR_INPUT, "--sharpness must be a finite number >= 0");
    truth_index truth;
    judged j = {0};
    sj_status st = truth_load(truth_path, &truth, err);
    if (st == SJ_OK) {
        j.pairs = sj_table_read(pairs_path, err);
        st = j.pairs ? find_columns(&j, err) : (err ? err->status : SJ_ERR_INPUT);
    }
    if (st == SJ_OK) {
        size_t n = j.pairs->n_rows ? j.pairs->n_rows : 1;
        j.preferred = sj_calloc(n, sizeof *j.preferred);
        j.judge = sj_calloc(n, sizeof *j.judge);
        st = j.preferred && j.judge ? SJ_OK : sj_error_set(err, SJ_ERR_WORK, "out of memory");
    }
    if (st == SJ_OK)
        st = judge_rows(&j, &truth, truth_path, cfg, s, err);
    if (st == SJ_OK)
        st = write_judged(&j, out_path, cfg->panel_size, err);
    free(j.preferred);
    free(j.judge);
    sj_table_free((sj_table *)j.pairs);
    truth_free(&truth);
    return st;
}
