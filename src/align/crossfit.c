/* Cross-fitting (sft --folds K): every response is scored by a model that
 * never saw its person's scores. Persons are dealt into K folds stratified
 * by group; the model of fold k is an sft run exactly as on a file of the
 * other folds' rows (its own held-out split and lexical channel), saved to
 * OUT-fold<k>/ and loaded back to score fold k's rows as `sjtalign score`
 * does. The scores of all folds go to one CSV in input order; then the
 * final model is trained on everyone, exactly as sft without --folds. */
#include "align_internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sjtalign/dist.h"

/* ---- the folds ------------------------------------------------------------------ */

typedef struct {
    const char *person;
    const char *group; /* "" without a group column */
    int fold;
} fold_person;

static int compare_person(const void *a, const void *b)
{
    return strcmp(((const fold_person *)a)->person, ((const fold_person *)b)->person);
}

static int compare_stratum(const void *a, const void *b)
{
    const fold_person *x = a, *y = b;
    int c = strcmp(x->group, y->group);
    return c ? c : strcmp(x->person, y->person);
}

/* The distinct persons of the data, each with the group of its first row
 * (in file order), sorted by group and then id. */
static fold_person *distinct_persons(const sj_responses *data, size_t *n, sj_error *err)
{
    const sj_table *t = data->table;
    sj_table_keys persons;
    if (sj_table_keys_build(t, (size_t)data->col_person, &persons, err) != SJ_OK)
        return NULL;
    fold_person *all = malloc((persons.n ? persons.n : 1) * sizeof *all);
    if (!all) {
        sj_table_keys_free(&persons);
        sj_error_set(err, SJ_ERR_WORK, "out of memory");
        return NULL;
    }
    for (size_t k = 0; k < persons.n; k++) {
        all[k].person = persons.keys[k];
        all[k].group = data->col_group >= 0
                           ? sj_table_cell(t, persons.first_row[k], (size_t)data->col_group)
                           : "";
        all[k].fold = 0;
    }
    *n = persons.n;
    sj_table_keys_free(&persons);
    qsort(all, *n, sizeof *all, compare_stratum);
    return all;
}

/* Deals each stratum's persons, shuffled, to the folds in turn; the deal
 * goes on from one stratum to the next. */
static sj_status deal(fold_person *p, size_t n, int k, uint64_t seed, sj_error *err)
{
    gsl_rng *rng = sj_rng_new(sj_seed_derive(seed, "crossfit-folds"));
    if (!rng)
        return sj_error_set(err, SJ_ERR_WORK, "out of memory");
    size_t dealt = 0;
    sj_status st = SJ_OK;
    for (size_t start = 0; start < n && st == SJ_OK;) {
        size_t end = start + 1;
        while (end < n && strcmp(p[end].group, p[start].group) == 0)
            end++;
        size_t *perm = sja_permutation(rng, end - start);
        if (!perm) {
            st = sj_error_set(err, SJ_ERR_WORK, "out of memory");
            break;
        }
        for (size_t j = 0; j < end - start; j++)
            p[start + perm[j]].fold = 1 + (int)(dealt++ % (size_t)k);
        free(perm);
        start = end;
    }
    sj_rng_free(rng);
    return st;
}

sj_status sja_crossfit_folds(const sj_responses *data, int k, uint64_t seed, int *fold_of_row,
                             sj_error *err)
{
    if (k < 2)
        return sj_error_set(err, SJ_ERR_INPUT, "cross-fitting needs at least 2 folds, got %d", k);
    size_t n = 0;
    fold_person *p = distinct_persons(data, &n, err);
    if (!p)
        return SJ_ERR_WORK;
    sj_status st = SJ_OK;
    if (n < (size_t)k)
        st = sj_error_set(err, SJ_ERR_INPUT,
                          "%s: %d folds need at least %d persons; the file has %zu",
                          data->table->path, k, k, n);
    if (st == SJ_OK)
        st = deal(p, n, k, seed, err);
    /* each row takes its person's fold (persons sorted by id to look up) */
    if (st == SJ_OK) {
        qsort(p, n, sizeof *p, compare_person);
        for (size_t i = 0; i < data->table->n_rows; i++) {
            fold_person key = {sj_table_cell(data->table, i, (size_t)data->col_person), "", 0};
            const fold_person *hit = bsearch(&key, p, n, sizeof *p, compare_person);
            fold_of_row[i] = hit ? hit->fold : 0;
        }
    }
    free(p);
    return st;
}

char *sja_crossfit_model_dir(const char *out, int fold)
{
    size_t n = strlen(out);
    while (n > 1 && out[n - 1] == '/')
        n--;
    return sj_asprintf("%.*s-fold%d", (int)n, out, fold);
}

/* ---- the run ------------------------------------------------------------------------ */

typedef struct {
    const char *init_dir;
    const sj_instrument *ins;
    const char *instrument_path;
    const sj_responses *data;
    const char *data_path;
    const sja_sft_opts *o;
    const sja_crossfit_opts *co;
    const char *out;
    sja_codec levels;     /* the score levels, for the header and the cells */
    int *fold;            /* per row, 1..K */
    double *probs;        /* per row, the level probabilities from its fold's model */
    unsigned char *ood;   /* per row */
    unsigned char *use;   /* per row: the model being trained uses it */
    cJSON *models;        /* the fold models */
    char file_sha256[65]; /* of the scores file once written */
} crossfit_run;

static sj_status run_init(crossfit_run *r, sj_error *err)
{
    size_t n = r->data->table->n_rows, L = (size_t)(r->ins->score_max - r->ins->score_min + 1);
    r->levels.score_min = r->ins->score_min;
    r->levels.score_max = r->ins->score_max;
    r->levels.n_levels = (int)L;
    r->fold = malloc((n ? n : 1) * sizeof *r->fold);
    r->probs = malloc((n ? n : 1) * L * sizeof *r->probs);
    r->ood = calloc(n ? n : 1, 1);
    r->use = malloc(n ? n : 1);
    r->models = cJSON_CreateArray();
    if (!r->fold || !r->probs || !r->ood || !r->use || !r->models)
        return sj_error_set(err, SJ_ERR_WORK, "out of memory");
    return SJ_OK;
}

static void run_free(crossfit_run *r)
{
    free(r->fold);
    free(r->probs);
    free(r->ood);
    free(r->use);
    cJSON_Delete(r->models);
}

/* Loads the starting model afresh and trains it with `o` into dir. */
static sj_status train_model(const crossfit_run *r, const sja_sft_opts *o, const char *dir,
                             cJSON **summary, sj_error *err)
{
    sja_model *m = sja_model_load(r->init_dir, r->ins, err);
    if (!m)
        return err->status;
    sj_status st =
        sja_sft(m, r->ins, r->instrument_path, r->data, r->data_path, o, dir, summary, err);
    sja_model_free(m);
    return st;
}

/* Scores rows [from, to) of the fold's chunk with the loaded fold model,
 * as `score` scores a file of that fold's rows (prompts in row order, the
 * same batches). */
enum { CROSSFIT_CHUNK = 4096 };

static sj_status score_chunk(const crossfit_run *r, sja_model *m, const sja_training *training,
                             const size_t *rows, size_t n, sj_error *err)
{
    const sj_table *t = r->data->table;
    size_t L = (size_t)r->levels.n_levels;
    sja_seq *prompts = sj_calloc(n ? n : 1, sizeof *prompts);
    double *probs = malloc((n ? n : 1) * L * sizeof *probs);
    sj_status st = prompts && probs ? SJ_OK : sj_error_set(err, SJ_ERR_WORK, "out of memory");
    size_t encoded = 0;
    for (; encoded < n && st == SJ_OK; encoded++) {
        size_t i = rows[encoded], item = r->data->item_index[i];
        const char *text = sj_table_cell(t, i, (size_t)r->data->col_text);
        st = sja_encode_prompt(&m->codec, r->ins, item, text, m->codec.max_completion,
                               &prompts[encoded], err);
        if (st != SJ_OK)
            sj_error_prefix(err, "%s:%ld: ", t->path, t->row_line[i]);
        else
            r->ood[i] = sja_response_ood(training, r->ins, item, text, &prompts[encoded]);
    }
    if (st == SJ_OK)
        st = sja_score_levels(m->ck->model, &m->codec, prompts, n, r->co->batch, probs, NULL, NULL,
                              err);
    for (size_t j = 0; j < n && st == SJ_OK; j++)
        memcpy(r->probs + rows[j] * L, probs + j * L, L * sizeof *probs);
    for (size_t j = 0; j < encoded; j++)
        sja_seq_free(&prompts[j]);
    free(prompts);
    free(probs);
    return st;
}

/* Loads the model of fold k back from dir and scores every row of the
 * fold's persons, a chunk at a time. */
static sj_status score_fold(crossfit_run *r, int k, const char *dir, sj_error *err)
{
    sja_model *m = sja_model_load(dir, r->ins, err);
    if (!m)
        return err->status;
    sja_training training;
    int found = 0;
    sj_status st = sja_training_read(m, &training, &found, err);
    size_t n_rows = r->data->table->n_rows;
    size_t *rows = malloc(CROSSFIT_CHUNK * sizeof *rows), n = 0;
    if (st == SJ_OK && !rows)
        st = sj_error_set(err, SJ_ERR_WORK, "out of memory");
    for (size_t i = 0; i < n_rows && st == SJ_OK; i++) {
        if (r->fold[i] == k)
            rows[n++] = i;
        if (n == CROSSFIT_CHUNK || (i + 1 == n_rows && n > 0)) {
            st = score_chunk(r, m, found ? &training : NULL, rows, n, err);
            n = 0;
        }
    }
    cJSON *e = st == SJ_OK ? cJSON_CreateObject() : NULL;
    if (e) {
        cJSON_AddNumberToObject(e, "fold", k);
        cJSON_AddStringToObject(e, "path", dir);
        cJSON_AddStringToObject(e, "weights_sha256", m->weights_sha256);
        cJSON_AddItemToArray(r->models, e);
    } else if (st == SJ_OK) {
        st = sj_error_set(err, SJ_ERR_WORK, "out of memory");
    }
    free(rows);
    sja_training_free(&training);
    sja_model_free(m);
    return st;
}

/* Counts of the fold's persons and rows, for its provenance and the
 * final model's. */
static cJSON *fold_block(const crossfit_run *r, int k)
{
    cJSON *b = cJSON_CreateObject();
    if (!b)
        return NULL;
    size_t rows = 0;
    for (size_t i = 0; i < r->data->table->n_rows; i++)
        rows += r->fold[i] == k;
    cJSON_AddStringToObject(b, "role", "fold model: trained on the persons of the other folds");
    cJSON_AddNumberToObject(b, "fold", k);
    cJSON_AddNumberToObject(b, "folds", r->co->folds);
    cJSON_AddNumberToObject(b, "seed", (double)r->o->seed);
    cJSON_AddNumberToObject(b, "rows_left_out", (double)rows);
    return b;
}

/* Trains fold k's model on the other folds and scores the fold. *stopped
 * is set when a signal stopped the training. */
static sj_status run_fold(crossfit_run *r, int k, int *stopped, sj_error *err)
{
    size_t n = r->data->table->n_rows;
    for (size_t i = 0; i < n; i++)
        r->use[i] = r->fold[i] != k;
    char *dir = sja_crossfit_model_dir(r->out, k);
    cJSON *block = fold_block(r, k);
    sja_sft_opts o = *r->o;
    o.use_rows = r->use;
    o.crossfit = block;
    sj_status st = dir && block ? SJ_OK : sj_error_set(err, SJ_ERR_WORK, "out of memory");
    if (st == SJ_OK && !o.quiet)
        fprintf(stderr, "sjtalign sft: fold %d of %d: training on the other folds into %s\n", k,
                r->co->folds, dir);
    if (st == SJ_OK)
        st = train_model(r, &o, dir, NULL, err);
    *stopped = st == SJ_OK && o.run.stopped_at && *o.run.stopped_at > 0;
    if (st == SJ_OK && !*stopped)
        st = score_fold(r, k, dir, err);
    cJSON_Delete(block);
    free(dir);
    return st;
}

/* ---- the scores file ---------------------------------------------------------------- */

static void write_rows(const crossfit_run *r, sj_csv_writer *w)
{
    const sj_table *t = r->data->table;
    size_t L = (size_t)r->levels.n_levels;
    for (size_t i = 0; i < t->n_rows; i++) {
        for (size_t j = 0; j < t->n_cols; j++)
            sj_csv_cell(w, sj_table_cell(t, i, j));
        sja_score_cells(w, &r->levels, r->probs + i * L, r->ood[i]);
        sj_csv_cell_integer(w, r->fold[i]);
    }
}

/* The file read back holds the header written, every input row once in
 * input order with its cells as they were, and each row's fold. */
static sj_status check_read_back(const crossfit_run *r, char *const *names, size_t n_names,
                                 sj_error *err)
{
    const char *path = r->co->scores_out;
    const sj_table *t = r->data->table;
    sj_table *back = sj_table_read(path, err);
    if (!back)
        return err->status;
    int same = back->n_rows == t->n_rows && back->n_cols == n_names;
    for (size_t j = 0; same && j < n_names; j++)
        same = strcmp(back->names[j], names[j]) == 0;
    for (size_t i = 0; same && i < t->n_rows; i++) {
        for (size_t j = 0; same && j < t->n_cols; j++)
            same = strcmp(sj_table_cell(back, i, j), sj_table_cell(t, i, j)) == 0;
        long fold = 0;
        same = same && sj_table_integer(back, i, n_names - 1, &fold, err) == SJ_OK &&
               fold == r->fold[i];
    }
    sj_table_free(back);
    if (!same)
        return sj_error_set(err, SJ_ERR_WORK,
                            "%s does not read back as written (its rows, cells or folds differ)",
                            path);
    return sj_sha256_file(path, (char *)r->file_sha256, err);
}

static sj_status write_here(crossfit_run *r, char *const *names, size_t n_names, sj_error *err)
{
    sj_csv_writer w;
    sj_status st = sj_csv_open(&w, r->co->scores_out, (const char *const *)names, n_names, err);
    if (st != SJ_OK)
        return st;
    write_rows(r, &w);
    st = sj_csv_close(&w, err);
    return st == SJ_OK ? check_read_back(r, names, n_names, err) : st;
}

/* Rank 0 alone writes the file (every rank scored every row the same
 * way); all learn how it went and the file's sha256, which the final
 * model's provenance records. */
static sj_status write_scores(crossfit_run *r, char *const *names, size_t n_names, sj_error *err)
{
    sj_status st = sj_dist_is_root() ? write_here(r, names, n_names, err) : SJ_OK;
    st = sj_dist_agree(st, err);
    if (st == SJ_OK)
        st = sj_dist_broadcast(r->file_sha256, sizeof r->file_sha256, err);
    return st;
}

/* ---- the final model ---------------------------------------------------------------- */

/* What the final model records of the cross-fitting. */
static cJSON *final_block(crossfit_run *r)
{
    cJSON *b = cJSON_CreateObject();
    if (!b)
        return NULL;
    const sj_responses *d = r->data;
    cJSON_AddStringToObject(b, "role", "final model: trained on every person, for new responses");
    cJSON_AddNumberToObject(b, "folds", r->co->folds);
    cJSON_AddNumberToObject(b, "seed", (double)r->o->seed);
    if (d->col_group >= 0)
        cJSON_AddStringToObject(b, "stratified_by", d->table->names[d->col_group]);
    else
        cJSON_AddNullToObject(b, "stratified_by");
    cJSON_AddStringToObject(b, "file", r->co->scores_out);
    cJSON_AddStringToObject(b, "sha256", r->file_sha256);
    cJSON_AddNumberToObject(b, "rows", (double)d->table->n_rows);
    cJSON_AddItemToObject(b, "fold_models", r->models);
    r->models = NULL;
    return b;
}

sj_status sja_crossfit(const char *init_dir, const sj_instrument *ins, const char *instrument_path,
                       const sj_responses *data, const char *data_path, const sja_sft_opts *o,
                       const sja_crossfit_opts *co, const char *out, cJSON **summary,
                       int *stopped_fold, sj_error *err)
{
    crossfit_run r = {.init_dir = init_dir,
                      .ins = ins,
                      .instrument_path = instrument_path,
                      .data = data,
                      .data_path = data_path,
                      .o = o,
                      .co = co,
                      .out = out};
    *stopped_fold = 0;
    static const char *const extra[1] = {"fold"};
    size_t n_names = 0;
    char **names = NULL;
    sj_status st = run_init(&r, err);
    /* an input column named like an output one stops before any training */
    if (st == SJ_OK && !(names = sja_score_header(data->table, &r.levels, extra, 1, &n_names, err)))
        st = err->status;
    if (st == SJ_OK)
        st = sja_crossfit_folds(data, co->folds, o->seed, r.fold, err);
    for (int k = 1; k <= co->folds && st == SJ_OK && !*stopped_fold; k++) {
        int stopped = 0;
        st = run_fold(&r, k, &stopped, err);
        *stopped_fold = stopped ? k : 0;
    }
    if (st == SJ_OK && !*stopped_fold)
        st = write_scores(&r, names, n_names, err);
    cJSON *block = st == SJ_OK && !*stopped_fold ? final_block(&r) : NULL;
    if (st == SJ_OK && !*stopped_fold && !block)
        st = sj_error_set(err, SJ_ERR_WORK, "out of memory");
    if (block) {
        sja_sft_opts final = *o;
        final.use_rows = NULL;
        final.crossfit = block;
        st = train_model(&r, &final, out, summary, err);
        if (st == SJ_OK && o->run.stopped_at && *o->run.stopped_at > 0)
            *stopped_fold = co->folds + 1;
        if (st == SJ_OK && summary && *summary)
            cJSON_AddItemToObject(*summary, "crossfit", cJSON_Duplicate(block, 1));
    }
    cJSON_Delete(block);
    sja_score_header_free(names, n_names);
    run_free(&r);
    return st;
}
