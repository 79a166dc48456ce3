/* sjtalign baseline: the transparent lexical scorer (word overlap with the
 * rubric anchors and with scored training answers, length, the item's mean)
 * fitted on human scores, writing the same scores CSV as `score`. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "options.h"
#include "sjtalign/align.h"
#include "sjtalign/io.h"
#include "sjtalign/lexical.h"

static const cli_option BASELINE_OPTIONS[] = {
    {"instrument", CLI_IN_FILE, "FILE", NULL, 0, 0, NULL, CLI_REQUIRED, "instrument.json"},
    {"train", CLI_IN_FILE, "FILE", NULL, 0, 0, NULL, CLI_REQUIRED,
     "responses CSV with human scores to fit on (rows with an\nempty score are skipped)"},
    {"score", CLI_TEXT, "COL[,COL...]", "score", 0, 0, NULL, 0,
     "human score column of --train, or several raters'\ncolumns (fits their mean); when the "
     "file has no\n'score' column, 'human_score' is used"},
    {"data", CLI_IN_FILE, "FILE", NULL, 0, 0, NULL, CLI_REQUIRED, "responses CSV to score"},
    {"out", CLI_OUT_FILE, "FILE|-", NULL, 0, 0, NULL, CLI_REQUIRED | CLI_STDOUT,
     "scores CSV, or - for standard output (the model's table then\ngoes to standard error)"},
    {"method", CLI_CHOICE, NULL, "ordinal", 0, 0, "ordinal|knn", 0,
     "ordinal: the lexical model (cumulative logit); knn: the\nword-overlap k-NN least-squares "
     "baseline"},
    {"coef-out", CLI_OUT_FILE, "FILE", NULL, 0, 0, NULL, 0,
     "also write the fitted coefficients as CSV (name, coef, mean,\nsd)"},
    CLI_OPT_PERSON,
    CLI_OPT_ITEM,
    CLI_OPT_TEXT,
    CLI_OPT_THREADS,
    CLI_OPT_MAX_INPUT,
    CLI_END};

const cli_command_spec cli_spec_baseline = {
    .name = "baseline",
    .synopsis = "--instrument FILE --train FILE --data FILE --out FILE|- [options]",
    .about = "Fits a transparent scorer on the human scores of --train and scores every row of\n"
             "--data, writing the same CSV as `score`: the input columns, then score (the\n"
             "expected score), score_mode (the most probable level), p_<k> for every level\n"
             "and ood: empty for a response like the training answers, else the reasons it\n"
             "is not, joined by ';': unknown_item (its item has no scored training answer)\n"
             "and long (more words than 1.5 times the longest training answer). The model\n"
             "has no context limit, so nothing is ever truncated.\n\n"
             "--method ordinal (default): ten features per response against its item, each\n"
             "standardised: idf-weighted cosine with the top rubric anchor, the same with the\n"
             "question's words removed, recall and precision of the anchor's words, the level of\n"
             "the most similar anchor, the mean score of the 3 most similar training answers,\n"
             "the similarity-weighted mean score of all of them, the item's mean score, the\n"
             "response's length and its length against the anchor's. A cumulative-logit\n"
             "(proportional-odds) regression with a ridge of 1 on the standardised slopes gives\n"
             "a probability per level; 1% of a uniform distribution is mixed in. A training\n"
             "answer's own text (and any identical answer of its item) is left out of its\n"
             "similarity features, so training answers are scored as if unseen.\n\n"
             "--method knn: the word-overlap k-NN baseline, least squares of the score on the\n"
             "cosine with the top anchor and the mean score of the 3 most similar training\n"
             "answers, clipped to the scale. It has no distribution: score is the prediction,\n"
             "score_mode the prediction rounded, and p_<k> puts all mass on that level.\n\n"
             "Several raters (--score rater_1,rater_2): the fit is on the raters' mean. Each\n"
             "response becomes one training answer per rater score, weighted 1/(its number\n"
             "of scores) in the regression (ordinal: its log-likelihood and the features'\n"
             "standardisation; knn: weighted least squares, the same as least squares on the\n"
             "raters' mean), so every response weighs the same; its similarity features use\n"
             "the raters' mean; a response some raters left empty uses the scores it has.\n\n"
             "Words are lower-cased letters and digits (with + and #), stop words dropped, a\n"
             "light suffix stripper applied. Items of the instrument without training answers\n"
             "use the anchors and the grand mean. Prints the fitted model (feature and\n"
             "standardised coefficient) and the counts of rows fitted and scored.",
    .options = BASELINE_OPTIONS,
    .notes = NULL,
    .examples = "sjtalign baseline --instrument data/instrument.json --train train.csv \\\n"
                "    --score rater1 --data test.csv --out scores.csv --coef-out coef.csv\n"
                "sjtalign baseline --instrument data/instrument.json --train train.csv \\\n"
                "    --score rater1 --data test.csv --method knn --out -",
};

/* "human_score" when --score was not given and the file has no 'score'
 * column but has that one. */
static int score_column(const cli_args *c, const char **score)
{
    *score = cli_text(c, "score");
    if (cli_given(c, "score"))
        return 0;
    sj_error err;
    sj_error_clear(&err);
    sj_csv_stream *s = sj_csv_stream_open(cli_text(c, "train"), &err);
    if (!s)
        return cli_fail(&err);
    const sj_table *t = sj_csv_stream_table(s);
    if (sj_table_find_column(t, "score") < 0 && sj_table_find_column(t, "human_score") >= 0)
        *score = "human_score";
    sj_csv_stream_close(s);
    return 0;
}

/* The training answers of --train: one per rater score of a scored row
 * (sja_rater_examples). */
typedef struct {
    sj_responses *r;
    sja_rater_examples ex;
    size_t n;         /* answers */
    size_t max_words; /* of the longest scored answer: above 1.5 times it is "long" */
    const char **items;
    const char **texts;
    const double *weights; /* NULL with one score per row */
} train_rows;

static void train_rows_free(train_rows *t)
{
    sj_responses_free(t->r);
    sja_rater_examples_free(&t->ex);
    free(t->items);
    free(t->texts);
}

static int load_train(const cli_args *c, const sj_instrument *ins, train_rows *t, sj_error *err)
{
    sj_columns cols = {cli_text(c, "person"), cli_text(c, "item"), cli_text(c, "text"), NULL, NULL};
    int rc = score_column(c, &cols.score);
    if (rc)
        return rc;
    sj_columns_defaults(&cols);
    if (!(t->r = sj_responses_load(cli_text(c, "train"), &cols, ins,
                                   SJ_NEED_TEXT | SJ_NEED_SCORE | SJ_ALLOW_RATERS, err)) ||
        sja_rater_examples_build(t->r, NULL, &t->ex, err) != SJ_OK)
        return cli_fail(err);
    const sj_table *tab = t->r->table;
    size_t n = t->ex.n;
    t->items = malloc((n ? n : 1) * sizeof *t->items);
    t->texts = malloc((n ? n : 1) * sizeof *t->texts);
    if (!t->items || !t->texts) {
        sj_error_set(err, SJ_ERR_WORK, "out of memory");
        return cli_fail(err);
    }
    for (size_t e = 0; e < n; e++) {
        size_t i = t->ex.row[e];
        t->items[e] = sj_table_cell(tab, i, (size_t)t->r->col_item);
        t->texts[e] = sj_table_cell(tab, i, (size_t)t->r->col_text);
        size_t words = sja_count_words(t->texts[e]);
        if (words > t->max_words)
            t->max_words = words;
    }
    t->n = n;
    t->weights = t->ex.max_per_row > 1 ? t->ex.weight : NULL;
    if (t->n == 0) {
        sj_error_at(err, SJ_ERR_INPUT, tab->path, 0, 0, "no row has a score in column '%s'",
                    cols.score);
        return cli_fail(err);
    }
    return 0;
}

/* What the command fitted: the lexical model, and the k-NN coefficients
 * with --method knn. */
typedef struct {
    sj_lex_model *m;
    int knn;
    sj_lex_knn k;
} fitted;

static int fit_model(const cli_args *c, const sj_instrument *ins, const train_rows *t, fitted *f,
                     sj_error *err)
{
    f->knn = cli_choice(c, "method") == 1;
    sj_lex_opts o = sj_lex_defaults();
    f->m = sj_lex_fit_weighted(ins, t->items, t->texts, t->ex.score, t->weights, t->n, &o, err);
    if (!f->m)
        return cli_fail(err);
    if (f->knn && sj_lex_knn_fit_weighted(f->m, t->items, t->texts, t->ex.score, t->weights, t->n,
                                          &f->k, err) != SJ_OK)
        return cli_fail(err);
    return 0;
}

/* The ood reasons, as `score` names them (without truncated: this model
 * reads a response whole). */
enum { OOD_UNKNOWN_ITEM = 1, OOD_LONG = 2, N_OOD_REASONS = 2 };
static const char *const OOD_REASONS[N_OOD_REASONS] = {"unknown_item", "long"};

/* Each response's probabilities (levels), expected score, mode and ood
 * reasons. */
typedef struct {
    size_t n;
    int n_levels;
    double *probs; /* n x n_levels */
    double *expected;
    int *mode;
    unsigned char *ood;
    size_t n_reason[N_OOD_REASONS];
} scored_rows;

static void scored_rows_free(scored_rows *s)
{
    free(s->probs);
    free(s->expected);
    free(s->mode);
    free(s->ood);
}

/* Why a response is unlike the training answers: its item has none, or
 * it has more than 1.5 times the words of the longest of them. */
static unsigned char response_ood(const fitted *f, size_t max_words, const char *item,
                                  const char *text)
{
    unsigned char flags = 0;
    if (!sj_lex_has_item(f->m, item))
        flags |= OOD_UNKNOWN_ITEM;
    if (2 * (double)sja_count_words(text) > 3 * (double)max_words)
        flags |= OOD_LONG;
    return flags;
}

/* The most probable level (the lowest of ties), as an index. */
static int mode_level(const double *p, int L)
{
    int best = 0;
    for (int k = 1; k < L; k++)
        if (p[k] > p[best])
            best = k;
    return best;
}

static int score_one(const fitted *f, const char *item, const char *text, double *p,
                     double *expected, int *mode)
{
    int L = sj_lex_n_levels(f->m), min = sj_lex_score_min(f->m);
    sj_error local;
    sj_error_clear(&local);
    if (!f->knn) {
        if (sj_lex_probs(f->m, item, text, p, &local) != SJ_OK)
            return -1;
        *expected = sj_lex_expected(f->m, p);
        *mode = min + mode_level(p, L);
        return 0;
    }
    double x[SJ_LEX_N_FEATURES];
    if (sj_lex_features(f->m, item, text, x, &local) != SJ_OK)
        return -1;
    /* k-NN has no distribution: the prediction is the score and its
     * rounding (half up) carries all the mass. */
    *expected = sj_lex_knn_predict(f->m, &f->k, x);
    int at = (int)floor(*expected - min + 0.5);
    for (int k = 0; k < L; k++)
        p[k] = k == at ? 1 : 0;
    *mode = min + at;
    return 0;
}

static int score_all(const fitted *f, size_t max_words, const sj_table *t, size_t col_item,
                     size_t col_text, scored_rows *s, sj_error *err)
{
    s->n = t->n_rows;
    s->n_levels = sj_lex_n_levels(f->m);
    s->probs = malloc((s->n ? s->n : 1) * (size_t)s->n_levels * sizeof *s->probs);
    s->expected = malloc((s->n ? s->n : 1) * sizeof *s->expected);
    s->mode = malloc((s->n ? s->n : 1) * sizeof *s->mode);
    s->ood = malloc((s->n ? s->n : 1) * sizeof *s->ood);
    int failed = !s->probs || !s->expected || !s->mode || !s->ood;
#pragma omp parallel for schedule(dynamic, 64) reduction(| : failed)
    for (size_t i = 0; i < (failed ? 0 : s->n); i++)
        failed |= score_one(f, sj_table_cell(t, i, col_item), sj_table_cell(t, i, col_text),
                            s->probs + i * (size_t)s->n_levels, &s->expected[i], &s->mode[i]) != 0;
    if (failed) {
        sj_error_set(err, SJ_ERR_WORK, "out of memory");
        return cli_fail(err);
    }
    for (size_t i = 0; i < s->n; i++) {
        s->ood[i] = response_ood(f, max_words, sj_table_cell(t, i, col_item),
                                 sj_table_cell(t, i, col_text));
        for (int k = 0; k < N_OOD_REASONS; k++)
            s->n_reason[k] += (s->ood[i] >> k) & 1u;
    }
    return 0;
}

/* The responses to score: every item must be in the instrument. */
static int load_responses(const cli_args *c, const sj_instrument *ins, sj_table **t, long *col_item,
                          long *col_text, sj_error *err)
{
    if (!(*t = sj_table_read(cli_text(c, "data"), err)) ||
        (*col_item = sj_table_column(*t, cli_text(c, "item"), err)) < 0 ||
        (*col_text = sj_table_column(*t, cli_text(c, "text"), err)) < 0)
        return cli_fail(err);
    if ((*t)->n_rows == 0) {
        sj_error_at(err, SJ_ERR_INPUT, (*t)->path, 2, 0, "no data rows after the header");
        return cli_fail(err);
    }
    for (size_t i = 0; i < (*t)->n_rows; i++) {
        const char *item = sj_table_cell(*t, i, (size_t)*col_item);
        if (sj_instrument_find_item(ins, item) < 0) {
            sj_error_at(err, SJ_ERR_INPUT, (*t)->path, (*t)->row_line[i], *col_item + 1,
                        "unknown item '%.60s': the instrument %s has no such item", item, ins->id);
            return cli_fail(err);
        }
    }
    return 0;
}

/* The header: the input columns, score, score_mode, p_<k>, ood; an input
 * column with one of the added names is an input error (as in `score`). */
static char **output_names(const sj_table *t, int min, int L, size_t *n, sj_error *err)
{
    *n = t->n_cols + 3 + (size_t)L;
    char **names = calloc(*n, sizeof *names);
    if (!names)
        return NULL;
    for (size_t i = 0; i < t->n_cols; i++)
        names[i] = sj_strdup(t->names[i]);
    names[t->n_cols] = sj_strdup("score");
    names[t->n_cols + 1] = sj_strdup("score_mode");
    for (int k = 0; k < L; k++)
        names[t->n_cols + 2 + (size_t)k] = sj_asprintf("p_%d", min + k);
    names[*n - 1] = sj_strdup("ood");
    for (size_t i = t->n_cols; i < *n; i++)
        for (size_t j = 0; j < t->n_cols; j++)
            if (names[i] && strcmp(names[i], t->names[j]) == 0) {
                sj_error_at(err, SJ_ERR_INPUT, t->path, 1, (long)j + 1,
                            "input column '%s' has the name of an output column; rename it",
                            t->names[j]);
                for (size_t k = 0; k < *n; k++)
                    free(names[k]);
                free(names);
                return NULL;
            }
    return names;
}

/* The ood cell: the reasons joined by ';', empty when there are none. */
static void write_ood_cell(sj_csv_writer *w, unsigned char flags)
{
    char cell[64] = "";
    size_t used = 0;
    for (int k = 0; k < N_OOD_REASONS; k++)
        if (flags & (1u << k))
            used += (size_t)snprintf(cell + used, sizeof cell - used, "%s%s", used ? ";" : "",
                                     OOD_REASONS[k]);
    sj_csv_cell(w, cell);
}

static int write_scores(const char *out, const sj_table *t, const scored_rows *s, int min,
                        sj_error *err)
{
    size_t n_names;
    sj_error_clear(err);
    char **names = output_names(t, min, s->n_levels, &n_names, err);
    if (!names) {
        if (err->status == SJ_OK)
            sj_error_set(err, SJ_ERR_WORK, "out of memory");
        return cli_fail(err);
    }
    sj_csv_writer w;
    int rc = 0;
    if (sj_csv_open(&w, out, (const char *const *)names, n_names, err) != SJ_OK) {
        rc = cli_fail(err);
    } else {
        for (size_t i = 0; i < s->n; i++) {
            for (size_t j = 0; j < t->n_cols; j++)
                sj_csv_cell(&w, sj_table_cell(t, i, j));
            sj_csv_cell_number(&w, s->expected[i]);
            sj_csv_cell_integer(&w, s->mode[i]);
            for (int k = 0; k < s->n_levels; k++)
                sj_csv_cell_number(&w, s->probs[i * (size_t)s->n_levels + (size_t)k]);
            write_ood_cell(&w, s->ood[i]);
        }
        if (sj_csv_close(&w, err) != SJ_OK)
            rc = cli_fail(err);
    }
    for (size_t k = 0; k < n_names; k++)
        free(names[k]);
    free(names);
    return rc;
}

static void print_model(FILE *to, const fitted *f, const train_rows *train, const sj_table *r,
                        const scored_rows *s)
{
    sj_lex_summary sum;
    sj_lex_explain(f->m, &sum);
    if (f->knn) {
        fprintf(to, "word-overlap k-NN baseline: least squares on %zu training answers\n", f->k.n);
        fprintf(to, "  %-22s %10s\n", "term", "coef");
        const char *names[3] = {"intercept", "anchor_cosine", "knn_mean"};
        for (int j = 0; j < 3; j++)
            fprintf(to, "  %-22s %10.4f\n", names[j], f->k.coef[j]);
    } else {
        fprintf(to,
                "lexical ordinal model: cumulative logit on %zu training answers, %zu items, "
                "%zu words\n",
                sum.n_train, sum.n_items_trained, sum.n_terms);
        fprintf(to, "  %-22s %10s %10s %10s\n", "feature", "coef (SD)", "mean", "sd");
        for (size_t j = 0; j < sum.n_features; j++)
            fprintf(to, "  %-22s %10.4f %10.4f %10.4f\n", sum.names[j], sum.coef[j], sum.mean[j],
                    sum.sd[j]);
        for (size_t k = 0; k < sum.n_thresholds; k++)
            fprintf(to, "  threshold %d|%d %*s %10.4f\n", sum.levels[k], sum.levels[k + 1], 9, "",
                    sum.thresholds[k]);
    }
    if (train->ex.max_per_row > 1)
        fprintf(to, "several raters: %zu rater scores of %zu rows, each row weighing 1\n", train->n,
                train->ex.n_rows);
    fprintf(to,
            "fitted on %zu rows; scored %zu rows of %s (ood: %zu of an item without training "
            "answers, %zu longer than 1.5 x the longest training answer, %zu words)\n",
            train->ex.n_rows, r->n_rows, r->path, s->n_reason[0], s->n_reason[1], train->max_words);
}

static int write_coef(const char *path, const fitted *f, sj_error *err)
{
    const char *header[] = {"name", "coef", "mean", "sd"};
    sj_csv_writer w;
    if (sj_csv_open(&w, path, header, 4, err) != SJ_OK)
        return cli_fail(err);
    if (f->knn) {
        const char *names[3] = {"intercept", "anchor_cosine", "knn_mean"};
        for (int j = 0; j < 3; j++) {
            sj_csv_cell(&w, names[j]);
            sj_csv_cell_number(&w, f->k.coef[j]);
            sj_csv_cell_number(&w, NAN);
            sj_csv_cell_number(&w, NAN);
        }
    } else {
        sj_lex_summary sum;
        sj_lex_explain(f->m, &sum);
        for (size_t j = 0; j < sum.n_features; j++) {
            sj_csv_cell(&w, sum.names[j]);
            sj_csv_cell_number(&w, sum.coef[j]);
            sj_csv_cell_number(&w, sum.mean[j]);
            sj_csv_cell_number(&w, sum.sd[j]);
        }
        for (size_t k = 0; k < sum.n_thresholds; k++) {
            char name[64];
            snprintf(name, sizeof name, "threshold_%d_%d", sum.levels[k], sum.levels[k + 1]);
            sj_csv_cell(&w, name);
            sj_csv_cell_number(&w, sum.thresholds[k]);
            sj_csv_cell_number(&w, NAN);
            sj_csv_cell_number(&w, NAN);
        }
    }
    return sj_csv_close(&w, err) == SJ_OK ? 0 : cli_fail(err);
}

static int run_baseline(const cli_args *c, sj_error *err)
{
    sj_instrument *ins = sj_instrument_load(cli_text(c, "instrument"), err);
    if (!ins)
        return cli_fail(err);
    train_rows train = {0};
    fitted f = {0};
    sj_table *r = NULL;
    scored_rows s = {0};
    long col_item = -1, col_text = -1;
    int rc = load_train(c, ins, &train, err);
    if (!rc)
        rc = load_responses(c, ins, &r, &col_item, &col_text, err);
    if (!rc)
        rc = fit_model(c, ins, &train, &f, err);
    if (!rc)
        rc = score_all(&f, train.max_words, r, (size_t)col_item, (size_t)col_text, &s, err);
    const char *out = cli_text(c, "out");
    if (!rc)
        rc = write_scores(out, r, &s, sj_lex_score_min(f.m), err);
    if (!rc && cli_text(c, "coef-out"))
        rc = write_coef(cli_text(c, "coef-out"), &f, err);
    if (!rc)
        print_model(strcmp(out, "-") == 0 ? stderr : stdout, &f, &train, r, &s);
    scored_rows_free(&s);
    sj_table_free(r);
    sj_lex_free(f.m);
    train_rows_free(&train);
    sj_instrument_free(ins);
    return rc;
}

int cmd_baseline(int argc, char **argv)
{
    cli_args c;
    int rc = cli_begin(&cli_spec_baseline, argc, argv, &c);
    if (rc >= 0)
        return rc;
    sj_error err;
    sj_error_clear(&err);
    rc = run_baseline(&c, &err);
    cli_args_free(&c);
    return rc;
}
