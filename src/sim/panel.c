/* The simulated expert panel: experts who know the true score prefer the
 * candidate scoring nearer to it, with Bradley–Terry noise. */
#include "sjtalign/sim.h"

#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <gsl/gsl_randist.h>
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

/* ---- one judgment ------------------------------------------------------------ */

int sj_panel_decide(const sj_panel_config *cfg, double u, long score_a, long score_b, double truth,
                    double lean)
{
    double gap = fabs((double)score_b - truth) - fabs((double)score_a - truth);
    /* the lean goes toward the candidate with the higher score */
    double toward = score_a > score_b ? lean : score_a < score_b ? -lean : 0.0;
    if (gap == 0.0 && toward == 0.0) {
        if (cfg->ties)
            return SJ_PANEL_TIE;
        return u < 0.5 ? SJ_PANEL_A : SJ_PANEL_B; /* a fair coin */
    }
    double p_a = 1.0 / (1.0 + exp(-(cfg->sharpness * gap + toward)));
    return u < p_a ? SJ_PANEL_A : SJ_PANEL_B;
}

void sj_panel_config_free(sj_panel_config *cfg)
{
    free(cfg->bias);
    cfg->bias = NULL;
    cfg->n_bias = 0;
}

/* "expert_02" or "2": the expert's number, 0 when neither. */
static size_t expert_number(const char *id, size_t len)
{
    static const char PREFIX[] = "expert_";
    if (len > sizeof PREFIX - 1 && strncmp(id, PREFIX, sizeof PREFIX - 1) == 0) {
        id += sizeof PREFIX - 1;
        len -= sizeof PREFIX - 1;
    }
    size_t v = 0;
    for (size_t i = 0; i < len; i++) {
        if (!isdigit((unsigned char)id[i]) || v > 100000)
            return 0;
        v = v * 10 + (size_t)(id[i] - '0');
    }
    return len ? v : 0;
}

static sj_status parse_one_bias(const char *item, size_t len, sj_panel_config *cfg, sj_error *err)
{
    const char *colon = memchr(item, ':', len);
    size_t expert = colon ? expert_number(item, (size_t)(colon - item)) : 0;
    char value[64] = "";
    double x = NAN;
    if (colon && len - (size_t)(colon - item) - 1 < sizeof value) {
        memcpy(value, colon + 1, len - (size_t)(colon - item) - 1);
        value[len - (size_t)(colon - item) - 1] = '\0';
        if (sj_parse_number(value, &x) != 0)
            x = NAN;
    }
    if (expert == 0 || expert > cfg->panel_size || !isfinite(x))
        return sj_error_set(err, SJ_ERR_INPUT,
                            "--judge-bias: expected ID:X with ID an expert of the panel "
                            "(expert_01 .. expert_%02zu, or its number) and X a finite number of "
                            "logits, got '%.*s'",
                            cfg->panel_size, (int)(len > 80 ? 80 : len), item);
    for (size_t k = 0; k < cfg->n_bias; k++)
        if (cfg->bias[k].expert == expert)
            return sj_error_set(err, SJ_ERR_INPUT, "--judge-bias: expert %zu is given twice",
                                expert);
    sj_panel_bias *grown = realloc(cfg->bias, (cfg->n_bias + 1) * sizeof *grown);
    if (!grown)
        return sj_error_set(err, SJ_ERR_WORK, "out of memory");
    cfg->bias = grown;
    cfg->bias[cfg->n_bias++] = (sj_panel_bias){expert, x};
    return SJ_OK;
}

sj_status sj_panel_parse_bias(const char *spec, sj_panel_config *cfg, sj_error *err)
{
    sj_panel_config_free(cfg);
    for (const char *at = spec;;) {
        const char *comma = strchr(at, ',');
        size_t len = comma ? (size_t)(comma - at) : strlen(at);
        if (parse_one_bias(at, len, cfg, err) != SJ_OK) {
            sj_panel_config_free(cfg);
            return SJ_ERR_INPUT;
        }
        if (!comma)
            return SJ_OK;
        at = comma + 1;
    }
}

/* ---- judging the pairs ---------------------------------------------------- */

enum { C_PAIR, C_ITEM, C_PERSON, C_RESPONSE, C_A, C_B, C_PREFERRED, C_JUDGE, C_GROUP, N_NAMED };

static const char *const PAIR_COLUMNS[N_NAMED] = {"pair_id",   "item_id",      "person_id",
                                                  "response",  "completion_a", "completion_b",
                                                  "preferred", "judge_id",     "group"};

/* A pair as read: the candidates' scores, the true score, the group. */
typedef struct {
    long score_a, score_b;
    double truth;
    int focal;
} pair_case;

/* The judgments written: a row of the pairs file judged by an expert. */
typedef struct {
    size_t row;
    size_t expert; /* 1-based */
    int choice;    /* SJ_PANEL_* */
} judgment;

typedef struct {
    const sj_table *pairs;
    long col[N_NAMED]; /* -1 where absent (only preferred, judge_id and group may be) */
    pair_case *cases;  /* per row */
    judgment *out;
    size_t n_out;
} judged;

static sj_status find_columns(judged *j, sj_error *err)
{
    for (int c = 0; c < N_NAMED; c++) {
        if (c == C_PREFERRED || c == C_JUDGE || c == C_GROUP) {
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

/* Every row's candidates, true score and group, checked. */
static sj_status read_cases(judged *j, const truth_index *truth, const char *truth_path,
                            const sj_panel_config *cfg, sj_error *err)
{
    const sj_table *t = j->pairs;
    const char *focal = cfg->focal ? cfg->focal : "focal";
    if (cfg->n_bias > 0 && j->col[C_GROUP] < 0)
        return sj_error_set(err, SJ_ERR_INPUT,
                            "--judge-bias acts on focal-group responses, but %s has no group "
                            "column (`sjtalign pairs` writes one when the responses have it)",
                            t->path);
    for (size_t r = 0; r < t->n_rows; r++) {
        pair_case *c = &j->cases[r];
        const char *person = sj_table_cell(t, r, (size_t)j->col[C_PERSON]);
        const char *item = sj_table_cell(t, r, (size_t)j->col[C_ITEM]);
        const truth_entry *e = truth_find(truth, person, item);
        if (!e)
            return sj_error_at(err, SJ_ERR_INPUT, t->path, t->row_line[r], j->col[C_PERSON] + 1,
                               "person '%s' with item '%s' is not in the truth file %s", person,
                               item, truth_path);
        if (completion_score(t, r, j->col[C_A], &c->score_a, err) != SJ_OK ||
            completion_score(t, r, j->col[C_B], &c->score_b, err) != SJ_OK)
            return SJ_ERR_INPUT;
        c->truth = e->score;
        c->focal = j->col[C_GROUP] >= 0 &&
                   strcmp(sj_table_cell(t, r, (size_t)j->col[C_GROUP]), focal) == 0;
    }
    return SJ_OK;
}

static int compare_cells(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* One row per pair in the input: several judges of one pair are rows the
 * panel adds. */
static sj_status check_unique_pairs(const judged *j, sj_error *err)
{
    const sj_table *t = j->pairs;
    const char **ids = malloc((t->n_rows ? t->n_rows : 1) * sizeof *ids);
    if (!ids)
        return sj_error_set(err, SJ_ERR_WORK, "out of memory");
    for (size_t r = 0; r < t->n_rows; r++)
        ids[r] = sj_table_cell(t, r, (size_t)j->col[C_PAIR]);
    qsort(ids, t->n_rows, sizeof *ids, compare_cells);
    sj_status st = SJ_OK;
    for (size_t r = 1; r < t->n_rows && st == SJ_OK; r++)
        if (strcmp(ids[r], ids[r - 1]) == 0)
            st = sj_error_set(err, SJ_ERR_INPUT,
                              "%s: pair_id '%s' is on more than one row; `judge` expects the "
                              "pairs file of `sjtalign pairs` (one row per pair)",
                              t->path, ids[r]);
    free(ids);
    return st;
}

/* The experts of row r: expert (r mod J) + 1 as always, and for an overlap
 * pair K - 1 more drawn at random from the others, in ascending order. */
static size_t row_experts(size_t r, int overlap, const sj_panel_config *cfg, gsl_rng *rng,
                          size_t *pool, size_t *experts)
{
    size_t J = cfg->panel_size, first = r % J + 1;
    experts[0] = first;
    if (!overlap)
        return 1;
    size_t n = 0;
    for (size_t e = 1; e <= J; e++)
        if (e != first)
            pool[n++] = e;
    size_t K = cfg->judges_per_pair;
    for (size_t k = 1; k < K; k++) { /* a partial Fisher–Yates draw */
        size_t pick = (k - 1) + gsl_rng_uniform_int(rng, n - (k - 1));
        size_t tmp = pool[k - 1];
        pool[k - 1] = pool[pick];
        pool[pick] = tmp;
    }
    for (size_t k = 1; k < K; k++)
        experts[k] = pool[k - 1];
    for (size_t a = 2; a < K; a++) /* insertion sort of the few drawn, after the first */
        for (size_t b = a; b > 1 && experts[b] < experts[b - 1]; b--) {
            size_t tmp = experts[b];
            experts[b] = experts[b - 1];
            experts[b - 1] = tmp;
        }
    return K;
}

static double expert_lean(const sj_panel_config *cfg, size_t expert)
{
    for (size_t k = 0; k < cfg->n_bias; k++)
        if (cfg->bias[k].expert == expert)
            return cfg->bias[k].logits;
    return 0.0;
}

/* Which rows get several judges: exactly round(X n) of them, at random. */
static unsigned char *overlap_rows(size_t n, const sj_panel_config *cfg, gsl_rng *rng)
{
    unsigned char *multi = sj_calloc(n ? n : 1, 1);
    size_t *perm = malloc((n ? n : 1) * sizeof *perm);
    if (!multi || !perm) {
        free(perm);
        free(multi);
        return NULL;
    }
    size_t m = cfg->judges_per_pair >= 2 ? (size_t)llround(cfg->overlap * (double)n) : 0;
    for (size_t i = 0; i < n; i++)
        perm[i] = i;
    gsl_ran_shuffle(rng, perm, n, sizeof *perm);
    for (size_t i = 0; i < m && i < n; i++)
        multi[perm[i]] = 1;
    free(perm);
    return multi;
}

static void count_judgment(const pair_case *c, int choice, sj_panel_summary *s)
{
    double gap = fabs((double)c->score_b - c->truth) - fabs((double)c->score_a - c->truth);
    s->n_judgments++;
    s->n_ties += choice == SJ_PANEL_TIE;
    if (gap != 0.0) {
        s->n_decisive++;
        s->n_agree += (gap > 0.0) == (choice == SJ_PANEL_A);
    }
}

static sj_status judge_rows(judged *j, const sj_panel_config *cfg, sj_panel_summary *s,
                            sj_error *err)
{
    size_t n = j->pairs->n_rows, K = cfg->judges_per_pair > 1 ? cfg->judges_per_pair : 1;
    /* The overlap has its own stream, so without it the judgments are the
     * ones a panel without overlap always gave. */
    gsl_rng *rng = sj_rng_new(sj_seed_derive(cfg->seed, "judge/panel"));
    gsl_rng *pick = sj_rng_new(sj_seed_derive(cfg->seed, "judge/overlap"));
    unsigned char *multi = pick ? overlap_rows(n, cfg, pick) : NULL;
    size_t *pool = malloc((cfg->panel_size + 1) * sizeof *pool);
    size_t *experts = malloc((K + 1) * sizeof *experts);
    j->out = malloc((n ? n : 1) * K * sizeof *j->out);
    sj_status st = rng && pick && multi && pool && experts && j->out
                       ? SJ_OK
                       : sj_error_set(err, SJ_ERR_WORK, "out of memory");
    for (size_t r = 0; r < n && st == SJ_OK; r++) {
        const pair_case *c = &j->cases[r];
        size_t m = row_experts(r, multi[r], cfg, pick, pool, experts);
        s->n_pairs++;
        s->n_overlap_pairs += m > 1;
        for (size_t k = 0; k < m; k++) {
            double lean = c->focal ? expert_lean(cfg, experts[k]) : 0.0;
            int choice =
                sj_panel_decide(cfg, gsl_rng_uniform(rng), c->score_a, c->score_b, c->truth, lean);
            j->out[j->n_out++] = (judgment){r, experts[k], choice};
            count_judgment(c, choice, s);
        }
    }
    free(multi);
    free(pool);
    free(experts);
    sj_rng_free(pick);
    sj_rng_free(rng);
    return st;
}

static const char *choice_text(int choice)
{
    return choice == SJ_PANEL_A ? "a" : choice == SJ_PANEL_B ? "b" : "tie";
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
    for (size_t i = 0; i < j->n_out; i++) {
        size_t r = j->out[i].row;
        const char *pref = choice_text(j->out[i].choice);
        char judge[32];
        snprintf(judge, sizeof judge, "expert_%0*zu", width, j->out[i].expert);
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

static sj_status check_config(const sj_panel_config *cfg, sj_error *err)
{
    if (cfg->panel_size == 0)
        return sj_error_set(err, SJ_ERR_INPUT, "--panel-size must be at least 1");
    if (!(cfg->sharpness >= 0.0) || !isfinite(cfg->sharpness))
        return sj_error_set(err, SJ_ERR_INPUT, "--sharpness must be a finite number >= 0");
    if (!(cfg->overlap >= 0.0 && cfg->overlap <= 1.0))
        return sj_error_set(err, SJ_ERR_INPUT, "--overlap must be a share in [0, 1]");
    if (cfg->overlap > 0.0 && cfg->judges_per_pair < 2)
        return sj_error_set(err, SJ_ERR_INPUT,
                            "--judges-per-pair must be at least 2 when --overlap is above 0");
    if (cfg->overlap > 0.0 && cfg->judges_per_pair > cfg->panel_size)
        return sj_error_set(err, SJ_ERR_INPUT,
                            "--judges-per-pair %zu needs a panel of at least %zu experts "
                            "(--panel-size is %zu; or --overlap 0)",
                            cfg->judges_per_pair, cfg->judges_per_pair, cfg->panel_size);
    for (size_t k = 0; k < cfg->n_bias; k++)
        if (cfg->bias[k].expert < 1 || cfg->bias[k].expert > cfg->panel_size)
            return sj_error_set(err, SJ_ERR_INPUT,
                                "--judge-bias names expert %zu, but the panel has %zu",
                                cfg->bias[k].expert, cfg->panel_size);
    return SJ_OK;
}

sj_status sj_panel_judge_files(const char *truth_path, const char *pairs_path, const char *out_path,
                               const sj_panel_config *cfg, sj_panel_summary *summary, sj_error *err)
{
    sj_panel_summary local = {0};
    sj_panel_summary *s = summary ? summary : &local;
    memset(s, 0, sizeof *s);
    if (check_config(cfg, err) != SJ_OK)
        return SJ_ERR_INPUT;
    truth_index truth;
    judged j = {0};
    sj_status st = truth_load(truth_path, &truth, err);
    if (st == SJ_OK) {
        j.pairs = sj_table_read(pairs_path, err);
        st = j.pairs ? find_columns(&j, err) : (err ? err->status : SJ_ERR_INPUT);
    }
    if (st == SJ_OK && cfg->overlap > 0.0)
        st = check_unique_pairs(&j, err);
    if (st == SJ_OK &&
        !(j.cases = sj_calloc(j.pairs->n_rows ? j.pairs->n_rows : 1, sizeof *j.cases)))
        st = sj_error_set(err, SJ_ERR_WORK, "out of memory");
    if (st == SJ_OK)
        st = read_cases(&j, &truth, truth_path, cfg, err);
    if (st == SJ_OK)
        st = judge_rows(&j, cfg, s, err);
    if (st == SJ_OK)
        st = write_judged(&j, out_path, cfg->panel_size, err);
    free(j.cases);
    free(j.out);
    sj_table_free((sj_table *)j.pairs);
    truth_free(&truth);
    return st;
}
