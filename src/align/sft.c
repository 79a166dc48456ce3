/* Supervised fine-tuning: cross-entropy on the completion "score: k" only,
 * with a held-out set of persons for loss and agreement with the humans. */
#include "align_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "sjtalign/dist.h"
#include "sjtalign/stats.h"

sja_sft_opts sja_sft_defaults(void)
{
    sja_sft_opts o = {.steps = 0,
                      .batch = 32,
                      .lr = 2e-3,
                      .seed = 1,
                      .val_fraction = 0.1,
                      .eval_every = 100,
                      .with_rationale = 0,
                      .warmup_fraction = 0.1,
                      .lexical = 1};
    return o;
}

/* The default length for n rows with a score. */
static long auto_steps(size_t n, double val_fraction, int batch)
{
    double passes = 4.0 * (double)n * (1.0 - val_fraction) / (double)(batch > 0 ? batch : 1);
    long steps = (long)ceil(passes);
    return steps < 100 ? 100 : steps > 400 ? 400 : steps;
}

long sja_sft_auto_steps_rows(const sj_responses *data, const unsigned char *use_rows,
                             double val_fraction, int batch)
{
    size_t n = 0;
    for (size_t i = 0; i < data->table->n_rows; i++)
        n += !isnan(data->score[i]) && (!use_rows || use_rows[i]);
    return auto_steps(n, val_fraction, batch);
}

long sja_sft_auto_steps(const sj_responses *data, double val_fraction, int batch)
{
    return sja_sft_auto_steps_rows(data, NULL, val_fraction, batch);
}

/* One example per rater score of a response (sja_rater_examples). */
typedef struct {
    size_t n;
    sja_seq *full;        /* prompt + completion */
    sja_seq *prompt;      /* prompt only, for agreement */
    double *human;        /* the example's rater score */
    double *mean;         /* its response's human score: the raters' mean */
    double *weight;       /* 1 / (scores of its response) */
    unsigned char *first; /* the first example of its response */
    size_t *row;          /* the example's row in the data */
    size_t n_rows;        /* responses with a score */
    size_t max_per_row;   /* the most scores of one response */
} sft_data;

static void sft_data_free(sft_data *d)
{
    for (size_t i = 0; i < d->n; i++) {
        sja_seq_free(&d->full[i]);
        sja_seq_free(&d->prompt[i]);
    }
    free(d->full);
    free(d->prompt);
    free(d->human);
    free(d->mean);
    free(d->weight);
    free(d->first);
    free(d->row);
}

static sj_status alloc_examples(size_t n, sft_data *d, const char ***persons, sj_error *err)
{
    d->full = sj_calloc(n ? n : 1, sizeof *d->full);
    d->prompt = sj_calloc(n ? n : 1, sizeof *d->prompt);
    d->human = sj_calloc(n ? n : 1, sizeof *d->human);
    d->mean = sj_calloc(n ? n : 1, sizeof *d->mean);
    d->weight = sj_calloc(n ? n : 1, sizeof *d->weight);
    d->first = sj_calloc(n ? n : 1, 1);
    d->row = sj_calloc(n ? n : 1, sizeof *d->row);
    *persons = sj_calloc(n ? n : 1, sizeof **persons);
    if (!d->full || !d->prompt || !d->human || !d->mean || !d->weight || !d->first || !d->row ||
        !*persons)
        return sj_error_set(err, SJ_ERR_WORK, "out of memory");
    return SJ_OK;
}

/* Encodes example e (its row's prompt and its rater's completion). */
static sj_status encode_example(const sja_codec *c, const sj_instrument *ins, const sj_responses *r,
                                int with_rationale, const sja_rater_examples *ex, size_t e,
                                sft_data *d, sj_error *err)
{
    const sj_table *t = r->table;
    size_t i = ex->row[e], item = r->item_index[i];
    const char *text = sj_table_cell(t, i, (size_t)r->col_text);
    char *completion = sja_completion_text(ins, item, ex->score[e], with_rationale);
    if (!completion)
        return sj_error_set(err, SJ_ERR_WORK, "out of memory");
    sj_status st = sja_encode_example(c, ins, item, text, completion, &d->full[d->n], err);
    free(completion);
    if (st == SJ_OK)
        st = sja_encode_prompt(c, ins, item, text, c->max_completion, &d->prompt[d->n], err);
    if (st != SJ_OK)
        sj_error_prefix(err, "%s:%ld: ", t->path, t->row_line[i]);
    return st;
}

static sj_status build_examples(const sja_codec *c, const sj_instrument *ins, const sj_responses *r,
                                const sja_sft_opts *o, sft_data *d, const char ***persons,
                                sj_error *err)
{
    sja_rater_examples ex;
    sj_status st = sja_rater_examples_build(r, o->use_rows, &ex, err);
    if (st == SJ_OK)
        st = alloc_examples(ex.n, d, persons, err);
    d->n_rows = ex.n_rows;
    d->max_per_row = ex.max_per_row;
    for (size_t e = 0; e < ex.n && st == SJ_OK; e++) {
        st = encode_example(c, ins, r, o->with_rationale, &ex, e, d, err);
        if (st != SJ_OK)
            break;
        size_t i = ex.row[e];
        d->human[d->n] = ex.score[e];
        d->mean[d->n] = r->score[i];
        d->weight[d->n] = ex.weight[e];
        d->first[d->n] = e == 0 || ex.row[e - 1] != i;
        d->row[d->n] = i;
        (*persons)[d->n] = sj_table_cell(r->table, i, (size_t)r->col_person);
        d->n++;
    }
    sja_rater_examples_free(&ex);
    return st;
}

/* Scales each sequence's target weights by its example's weight (1 with
 * one rater: the batch is unchanged). */
static void weigh_batch(sj_lm_batch *batch, const sft_data *d, const size_t *examples)
{
    for (int b = 0; b < batch->B; b++) {
        float w = (float)d->weight[examples[b]];
        if (w == 1.0f)
            continue;
        float *row = batch->weights + (size_t)b * (size_t)batch->T;
        for (int t = 0; t < batch->T; t++)
            row[t] *= w;
    }
}

/* Held-out loss: nats per completion token, each example's tokens weighted
 * as in training (so with several raters, the cross-entropy against the
 * raters' score distribution). */
static sj_status held_out_loss(sj_lm *m, const sft_data *d, const size_t *val, size_t n_val,
                               double *out, sj_error *err)
{
    enum { EB = 64 };
    double loss_sum = 0.0, weight_sum = 0.0;
    sj_status st = SJ_OK;
    for (size_t s = 0; s < n_val && st == SJ_OK; s += EB) {
        int nb = (int)(n_val - s < EB ? n_val - s : EB);
        const sja_seq *seqs[EB];
        for (int b = 0; b < nb; b++)
            seqs[b] = &d->full[val[s + (size_t)b]];
        sj_lm_batch *batch = NULL;
        double loss = 0.0;
        st = sja_batch_build(seqs, nb, SJA_W_COMPLETION, 0, &batch, NULL, err);
        if (st == SJ_OK) {
            weigh_batch(batch, d, val + s);
            st = sj_lm_ce_loss(m, batch, &loss, err);
        }
        if (st == SJ_OK) {
            double w = 0.0;
            for (size_t k = 0; k < (size_t)batch->B * (size_t)batch->T; k++)
                w += batch->weights[k];
            loss_sum += loss * w;
            weight_sum += w;
        }
        sj_lm_batch_free(batch);
    }
    *out = weight_sum > 0 ? loss_sum / weight_sum : NAN;
    return st;
}

/* The human score agreement is measured against: the raters' mean; for
 * exact agreement that mean rounded half away from zero. */
static double exact_target(double mean)
{
    return round(mean);
}

/* Agreement of the modal and expected scores with the human scores of the
 * held-out responses (each response once, however many raters it has). */
static sj_status held_out_agreement(sj_lm *m, const sja_codec *c, const sft_data *d,
                                    const size_t *val, size_t n_val, double out[3], sj_error *err)
{
    size_t n = 0;
    sja_seq *prompts = malloc((n_val ? n_val : 1) * sizeof *prompts);
    double *probs = malloc((n_val ? n_val : 1) * (size_t)c->n_levels * sizeof *probs);
    double *mode = malloc((n_val ? n_val : 1) * sizeof *mode);
    double *expect = malloc((n_val ? n_val : 1) * sizeof *expect);
    double *human = malloc((n_val ? n_val : 1) * sizeof *human);
    double *rounded = malloc((n_val ? n_val : 1) * sizeof *rounded);
    sj_status st = prompts && probs && mode && expect && human && rounded
                       ? SJ_OK
                       : sj_error_set(err, SJ_ERR_WORK, "out of memory");
    for (size_t i = 0; i < n_val && st == SJ_OK; i++)
        if (d->first[val[i]]) {
            prompts[n] = d->prompt[val[i]];
            human[n] = d->mean[val[i]];
            rounded[n] = exact_target(human[n]);
            n++;
        }
    if (st == SJ_OK)
        st = sja_score_levels(m, c, prompts, n, 64, probs, NULL, NULL, err);
    if (st == SJ_OK) {
        for (size_t i = 0; i < n; i++) {
            const double *p = probs + i * (size_t)c->n_levels;
            mode[i] = c->score_min + sja_mode_level(p, c->n_levels);
            expect[i] = sja_expected_score(p, c->n_levels, c->score_min);
        }
        out[0] = sj_exact_agreement(mode, rounded, n);
        out[1] = sj_qwk(mode, human, n);
        out[2] = sj_qwk(expect, human, n);
    }
    free(prompts);
    free(probs);
    free(mode);
    free(expect);
    free(human);
    free(rounded);
    return st;
}

/* Held-out loss (nats per completion token) and agreement of the modal
 * and expected scores with the human scores. */
static sj_status evaluate(sj_lm *m, const sja_codec *c, const sft_data *d, const size_t *val,
                          size_t n_val, double out[4], sj_error *err)
{
    sj_status st = held_out_loss(m, d, val, n_val, &out[0], err);
    return st == SJ_OK ? held_out_agreement(m, c, d, val, n_val, out + 1, err) : st;
}

/* Held-out rows used by evaluations before the last one (all of them with
 * keep_best, so that every evaluation is measured on the same rows). */
#define SFT_EVAL_ROWS 400

static const char *const EVAL_NAMES[4] = {"val_loss", "val_exact", "val_qwk", "val_qwk_expected"};

/* An SFT run as the stage driver sees it. */
typedef struct {
    sft_data d;
    const sj_instrument *ins;
    const sj_responses *data;
    const char **persons;
    const sja_codec *codec;
    const sja_sft_opts *o;
    const sja_seq **seqs; /* the batch being built */
    size_t *picked;       /* its examples */
    double last[4];       /* the last evaluation, EVAL_NAMES */
    sj_lex_model *lex;    /* the lexical channel fitted on the training persons, or NULL */
    cJSON *lex_json;      /* it as saved in lexical.json */
} sft_run;

static sj_status sft_step(sja_stage *s, long step, sj_train_line *line, sj_error *err)
{
    (void)step;
    sft_run *r = s->ctx;
    int B = r->o->batch;
    double t0 = sj_now(), loss = 0.0;
    for (int b = 0; b < B; b++) {
        r->picked[b] = s->train[gsl_rng_uniform_int(s->rng, s->n_train)];
        r->seqs[b] = &r->d.full[r->picked[b]];
    }
    /* every rank drew the same batch; each runs its share of the rows,
     * then the shares' gradients and losses are summed */
    size_t lo, hi;
    sj_dist_share((size_t)B, &lo, &hi);
    sj_lm_batch *batch = NULL;
    sj_status st = sja_batch_build(r->seqs, B, SJA_W_COMPLETION, 0, &batch, NULL, err);
    if (st == SJ_OK) {
        weigh_batch(batch, &r->d, r->picked);
        sj_lm_zero_grad(s->model);
        st = sj_lm_ce_step_rows(s->model, batch, (int)lo, (int)hi, &loss, err);
    }
    if (st == SJ_OK)
        st = sj_train_exchange(s->model, NULL, 0, &loss, 1, err);
    double lr = st == SJ_OK ? sj_lm_adamw_step(s->opt, s->model) : 0.0;
    double tokens = batch ? (double)batch->B * batch->T : 0;
    sj_lm_batch_free(batch);
    sj_train_line_add(line, "loss", loss);
    sj_train_line_add(line, "lr", lr);
    sj_train_line_add(line, "tokens_per_s", tokens / (sj_now() - t0));
    snprintf(line->progress, sizeof line->progress, "loss %.4f", loss);
    return st;
}

/* Evaluations along the way use the first held-out rows only (the split
 * is random); the last one uses them all. Selection: QWK of the modal
 * score, then the lower loss. */
static sj_status sft_evaluate(sja_stage *s, long done, int last, sj_train_line *line,
                              double score[2], sj_error *err)
{
    (void)done;
    sft_run *r = s->ctx;
    size_t n = last || r->o->keep_best || s->n_val < SFT_EVAL_ROWS ? s->n_val : SFT_EVAL_ROWS;
    sj_status st = evaluate(s->model, r->codec, &r->d, s->val, n, r->last, err);
    if (st != SJ_OK)
        return st;
    for (int k = 0; k < 4; k++)
        sj_train_line_add(line, EVAL_NAMES[k], r->last[k]);
    score[0] = r->last[2];
    score[1] = -r->last[0];
    return SJ_OK;
}

/* What the scorer was trained on, for `score` to check its inputs against. */
static sj_status add_training(sja_stage *s, const sft_run *r, cJSON *prov, sj_error *err)
{
    size_t *rows = malloc((s->n_train ? s->n_train : 1) * sizeof *rows), n = 0;
    for (size_t i = 0; rows && i < s->n_train; i++)
        if (r->d.first[s->train[i]])
            rows[n++] = r->d.row[s->train[i]];
    cJSON *block = rows ? sja_training_block(r->ins, r->data, rows, n, s->init) : NULL;
    free(rows);
    if (!block)
        return sj_error_set(err, SJ_ERR_WORK, "out of memory");
    cJSON_AddItemToObject(prov, "training", block);
    return SJ_OK;
}

/* Responses among the examples (each counted once). */
static size_t count_rows(const sft_data *d, const size_t *examples, size_t n)
{
    size_t c = 0;
    for (size_t i = 0; i < n; i++)
        c += d->first[examples[i]];
    return c;
}

static sj_status sft_finish(sja_stage *s, cJSON *prov, cJSON **result, sj_lm_save_opts *so,
                            sj_error *err)
{
    sft_run *r = s->ctx;
    if (r->lex && !(r->lex_json = sj_lex_to_json(r->lex)))
        return sj_error_set(err, SJ_ERR_WORK, "out of memory");
    sja_save_opts_lexical_json(so, &r->lex_json);
    cJSON_AddBoolToObject(prov, "lexical_channel", r->lex != NULL);
    cJSON_AddNumberToObject(prov, "n_train_rows", (double)count_rows(&r->d, s->train, s->n_train));
    cJSON_AddNumberToObject(prov, "n_val_rows", (double)count_rows(&r->d, s->val, s->n_val));
    cJSON *human = sja_rater_rule_json(r->data);
    if (!human)
        return sj_error_set(err, SJ_ERR_WORK, "out of memory");
    cJSON_AddNumberToObject(human, "n_train_examples", (double)s->n_train);
    cJSON_AddNumberToObject(human, "n_val_examples", (double)s->n_val);
    cJSON_AddItemToObject(prov, "human_scores", human);
    if (r->o->crossfit)
        cJSON_AddItemToObject(prov, "crossfit", cJSON_Duplicate(r->o->crossfit, 1));
    *result = cJSON_AddObjectToObject(prov, "held_out");
    for (int k = 0; k < 4; k++)
        sj_json_add_number(*result, EVAL_NAMES[k], r->last[k]);
    return add_training(s, r, prov, err);
}

static cJSON *options_json(const sja_sft_opts *o)
{
    cJSON *opt = cJSON_CreateObject();
    cJSON_AddNumberToObject(opt, "batch", o->batch);
    cJSON_AddBoolToObject(opt, "lexical", o->lexical);
    return opt;
}

/* What the stage is, for the driver. */
static void describe(sja_stage *s, sft_run *r, sja_model *init, const char *instrument_path,
                     const char *data_path, const sja_sft_opts *o)
{
    sja_stage_identify(s, "sft", init, instrument_path, "data", data_path);
    s->rationale = o->with_rationale;
    s->options = options_json(o);
    /* with_rationale shapes the completions too */
    s->resume_extra = cJSON_CreateObject();
    cJSON_AddBoolToObject(s->resume_extra, "rationale", o->with_rationale);
    /* so do the score columns */
    cJSON *human = sja_rater_rule_json(r->data);
    if (human)
        cJSON_AddItemToObject(s->resume_extra, "human_scores", human);
    SJA_STAGE_TAKE_OPTS(s, o);
    s->best_metric = "val_qwk";
    s->rng_label = "sft-batches";
    s->split_label = "sft-split";
    s->keys = r->persons;
    s->n_examples = r->d.n;
    s->val_fraction = o->val_fraction;
    s->hooks = (sja_stage_hooks){.step = sft_step, .evaluate = sft_evaluate, .finish = sft_finish};
    s->ctx = r;
}

/* Example i's item id and response text, from its row of the data. */
static const char *example_item(const sft_run *r, size_t i)
{
    return r->ins->items[r->data->item_index[r->d.row[i]]].id;
}

static const char *example_text(const sft_run *r, size_t i)
{
    return sj_table_cell(r->data->table, r->d.row[i], (size_t)r->data->col_text);
}

/* The lexical channel, fitted on the training persons only (the split is
 * known once the stage is prepared), then every example's prior: training
 * answers are scored by the channel as if unseen (lexical.h), so the
 * language model learns what the channel misses. */
static sj_status fit_lexical(sft_run *r, const sja_stage *s, sja_model *init,
                             const sj_instrument *ins, sj_error *err)
{
    if (!r->o->lexical || !init->codec.single_token_levels)
        return SJ_OK;
    size_t n = s->n_train;
    const char **items = malloc((n ? n : 1) * sizeof *items);
    const char **texts = malloc((n ? n : 1) * sizeof *texts);
    int *scores = malloc((n ? n : 1) * sizeof *scores);
    double *weights = malloc((n ? n : 1) * sizeof *weights);
    sj_status st = items && texts && scores && weights
                       ? SJ_OK
                       : sj_error_set(err, SJ_ERR_WORK, "out of memory");
    for (size_t i = 0; i < n && st == SJ_OK; i++) {
        size_t ex = s->train[i];
        items[i] = example_item(r, ex);
        texts[i] = example_text(r, ex);
        scores[i] = (int)lround(r->d.human[ex]);
        weights[i] = r->d.weight[ex];
    }
    if (st == SJ_OK) {
        sj_lex_opts lo = sj_lex_defaults();
        /* one rater: every weight is 1, the unweighted fit */
        r->lex = sj_lex_fit_weighted(ins, items, texts, scores,
                                     r->d.max_per_row > 1 ? weights : NULL, n, &lo, err);
        if (!r->lex)
            st = err ? err->status : SJ_ERR_WORK;
    }
    free(items);
    free(texts);
    free(scores);
    free(weights);
    if (st != SJ_OK)
        return st;
    init->codec.lex = r->lex;
    /* the example and its prompt share the prompt, hence the prior */
    for (size_t i = 0; i < r->d.n && st == SJ_OK; i++) {
        st = sja_seq_set_prior(&init->codec, example_item(r, i), example_text(r, i),
                               r->d.full[i].prompt_len, &r->d.full[i], err);
        if (st == SJ_OK)
            st = sja_seq_copy_prior(&r->d.full[i], &r->d.prompt[i], err);
    }
    return st;
}

sj_status sja_sft(sja_model *init, const sj_instrument *ins, const char *instrument_path,
                  const sj_responses *data, const char *data_path, const sja_sft_opts *o,
                  const char *out, cJSON **summary, sj_error *err)
{
    sja_sft_opts eff = *o;
    if (eff.steps <= 0)
        eff.steps = sja_sft_auto_steps_rows(data, eff.use_rows, eff.val_fraction, eff.batch);
    o = &eff;
    sft_run r = {
        .ins = ins, .data = data, .codec = &init->codec, .o = o, .last = {NAN, NAN, NAN, NAN}};
    sja_stage s;
    sja_stage_init(&s);
    /* A channel the init model carries is not this model's: sft fits its own. */
    const sj_lex_model *init_lex = init->codec.lex;
    init->codec.lex = NULL;
    sj_status st = build_examples(&init->codec, ins, data, o, &r.d, &r.persons, err);
    if (st == SJ_OK && r.d.n_rows < 2)
        st = sj_error_set(err, SJ_ERR_INPUT,
                          "%s: SFT needs scored responses; found %zu rows with a score (column "
                          "'%s'%s)",
                          data_path, r.d.n_rows,
                          data->col_score >= 0 ? data->table->names[data->col_score] : "score",
                          data->raters && data->raters->n_raters > 1 ? " and the other raters'"
                                                                     : "");
    r.seqs = malloc((size_t)(o->batch > 0 ? o->batch : 1) * sizeof *r.seqs);
    r.picked = malloc((size_t)(o->batch > 0 ? o->batch : 1) * sizeof *r.picked);
    if (st == SJ_OK && (!r.seqs || !r.picked))
        st = sj_error_set(err, SJ_ERR_WORK, "out of memory");
    describe(&s, &r, init, instrument_path, data_path, o);
    if (st == SJ_OK)
        st = sja_stage_prepare(&s, err);
    if (st == SJ_OK)
        st = fit_lexical(&r, &s, init, ins, err);
    for (int k = 0; k < 4 && st == SJ_OK; k++)
        st = sja_stage_number(&s, EVAL_NAMES[k], &r.last[k], SJA_KEEP_BEST, err);
    if (st == SJ_OK)
        st = sja_stage_run(&s, out, summary, err);
    else if (o->run.stopped_at)
        *o->run.stopped_at = 0;
    sja_stage_free(&s);
    free(r.seqs);
    free(r.picked);
    free(r.persons);
    sft_data_free(&r.d);
    init->codec.lex = init_lex;
    sj_lex_free(r.lex);
    cJSON_Delete(r.lex_json);
    return st;
}
