/* Direct preference optimisation (Rafailov et al. 2023) on judged pairs,
 * against a frozen copy of the starting (SFT) policy. */
#include "align_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

sja_dpo_opts sja_dpo_defaults(void)
{
    sja_dpo_opts o = {.steps = 150,
                      .batch = 16,
                      .lr = 5e-4,
                      .beta = 0.1,
                      .seed = 1,
                      .val_fraction = 0.1,
                      .eval_every = 50,
                      .min_pairs = 20,
                      .warmup_fraction = 0.1};
    return o;
}

/* The pairs with the frozen reference's sequence log-probs. */
typedef struct {
    sja_pair_seqs seqs;
    double *ref_c, *ref_r;
} dpo_data;

static void dpo_data_free(dpo_data *d)
{
    sja_pair_seqs_free(&d->seqs);
    free(d->ref_c);
    free(d->ref_r);
}

/* Sequence log-probs of chosen and rejected completions of the pairs
 * idx[0..n-1]; the batch (chosen rows first) is kept when asked. */
static sj_status pair_logprobs(sj_lm *m, const dpo_data *d, const size_t *idx, int n, double *lc,
                               double *lr, sj_lm_batch **keep, sj_error *err)
{
    const sja_seq **seqs = malloc((size_t)2 * n * sizeof *seqs);
    double *all = malloc((size_t)2 * n * sizeof *all);
    sj_lm_batch *batch = NULL;
    float *lp = NULL;
    sj_status st = (seqs && all) ? SJ_OK : sj_error_set(err, SJ_ERR_WORK, "out of memory");
    for (int b = 0; b < n && st == SJ_OK; b++) {
        seqs[b] = &d->seqs.chosen[idx[b]];
        seqs[n + b] = &d->seqs.rejected[idx[b]];
    }
    if (st == SJ_OK)
        st = sja_batch_build(seqs, 2 * n, SJA_W_COMPLETION, 0, &batch, NULL, err);
    if (st == SJ_OK && !(lp = malloc((size_t)batch->B * batch->T * sizeof *lp)))
        st = sj_error_set(err, SJ_ERR_WORK, "out of memory");
    if (st == SJ_OK) {
        sj_lm_forward_io io = {.temperature = 1.0f, .logprobs = lp};
        st = sj_lm_forward(m, batch, &io, err);
    }
    if (st == SJ_OK) {
        sja_sequence_logprobs(batch, lp, all);
        memcpy(lc, all, (size_t)n * sizeof *lc);
        memcpy(lr, all + n, (size_t)n * sizeof *lr);
    }
    free(seqs);
    free(all);
    free(lp);
    if (keep && st == SJ_OK)
        *keep = batch;
    else
        sj_lm_batch_free(batch);
    return st;
}

/* The loss is the mean over judgments (ties included); the implicit
 * rewards of chosen and rejected, the accuracy and the margin are means
 * over the decisive judgments (a tie has neither). */
typedef struct {
    double loss, chosen, rejected, accuracy, margin;
    size_t n, n_decisive;
} dpo_stats;

static void add_pair(dpo_stats *s, double beta, double lc, double rc, double lr, double rr, int tie,
                     double weight, double *dc, double *dr)
{
    double loss = tie ? sja_dpo_tie_loss(beta, lc, rc, lr, rr, dc, dr)
                      : sja_dpo_loss(beta, lc, rc, lr, rr, dc, dr);
    s->loss += weight * loss;
    s->n++;
    if (tie)
        return;
    double rw_c = beta * (lc - rc), rw_r = beta * (lr - rr);
    s->chosen += rw_c;
    s->rejected += rw_r;
    s->accuracy += rw_c > rw_r;
    s->margin += rw_c - rw_r;
    s->n_decisive++;
}

/* Sums to means (NaN without any). */
static void finish_stats(dpo_stats *s)
{
    double n = (double)s->n, nd = (double)s->n_decisive;
    s->loss = n > 0 ? s->loss / n : NAN;
    s->chosen = nd > 0 ? s->chosen / nd : NAN;
    s->rejected = nd > 0 ? s->rejected / nd : NAN;
    s->accuracy = nd > 0 ? s->accuracy / nd : NAN;
    s->margin = nd > 0 ? s->margin / nd : NAN;
}

static sj_status dpo_evaluate(sj_lm *m, const dpo_data *d, const size_t *val, size_t n_val,
                              double beta, dpo_stats *s, sj_error *err)
{
    enum { EB = 32 };
    double lc[EB], lr[EB];
    memset(s, 0, sizeof *s);
    sj_status st = SJ_OK;
    for (size_t k = 0; k < n_val && st == SJ_OK; k += EB) {
        int nb = (int)(n_val - k < EB ? n_val - k : EB);
        st = pair_logprobs(m, d, val + k, nb, lc, lr, NULL, err);
        for (int b = 0; b < nb && st == SJ_OK; b++) {
            size_t i = val[k + (size_t)b];
            add_pair(s, beta, lc[b], d->ref_c[i], lr[b], d->ref_r[i], d->seqs.tie[i],
                     d->seqs.weight[i], NULL, NULL);
        }
    }
    finish_stats(s);
    return st;
}

static sj_status reference_logprobs(sj_lm *ref, dpo_data *d, sj_error *err)
{
    enum { EB = 32 };
    size_t idx[EB];
    d->ref_c = malloc((d->seqs.n ? d->seqs.n : 1) * sizeof *d->ref_c);
    d->ref_r = malloc((d->seqs.n ? d->seqs.n : 1) * sizeof *d->ref_r);
    if (!d->ref_c || !d->ref_r)
        return sj_error_set(err, SJ_ERR_WORK, "out of memory");
    sj_status st = SJ_OK;
    for (size_t k = 0; k < d->seqs.n && st == SJ_OK; k += EB) {
        int nb = (int)(d->seqs.n - k < EB ? d->seqs.n - k : EB);
        for (int b = 0; b < nb; b++)
            idx[b] = k + (size_t)b;
        st = pair_logprobs(ref, d, idx, nb, d->ref_c + k, d->ref_r + k, NULL, err);
    }
    return st;
}

static cJSON *options_json(const sja_dpo_opts *o)
{
    cJSON *oj = cJSON_CreateObject();
    cJSON_AddNumberToObject(oj, "batch", o->batch);
    cJSON_AddNumberToObject(oj, "beta", o->beta);
    return oj;
}

/* The held-out figures, as logged and saved with a checkpoint. */
static const char *const EVAL_NAMES[5] = {"val_loss", "val_rewards/chosen", "val_rewards/rejected",
                                          "val_rewards/accuracies", "val_rewards/margins"};

static void eval_values(dpo_stats *s, double **v)
{
    v[0] = &s->loss;
    v[1] = &s->chosen;
    v[2] = &s->rejected;
    v[3] = &s->accuracy;
    v[4] = &s->margin;
}

/* A DPO run as the stage driver sees it. */
typedef struct {
    dpo_data d;
    const sja_dpo_opts *o;
    size_t *pick;
    double *lc, *lr; /* the batch's sequence log-probs */
    dpo_stats last;
} dpo_run;

/* d(loss)/d(token log-prob) = d/d(sequence log-prob) x weight, chosen rows
 * first; the step's statistics in *s. */
static void dpo_gradient(dpo_run *r, const sj_lm_batch *batch, float *dlp, dpo_stats *s)
{
    int B = r->o->batch;
    for (int b = 0; b < B; b++) {
        double dc, dr;
        size_t i = r->pick[b];
        add_pair(s, r->o->beta, r->lc[b], r->d.ref_c[i], r->lr[b], r->d.ref_r[i], r->d.seqs.tie[i],
                 r->d.seqs.weight[i], &dc, &dr);
        for (int half = 0; half < 2; half++) {
            size_t row = (size_t)(half * B + b) * (size_t)batch->T;
            double g = (half ? dr : dc) * r->d.seqs.weight[i] / B;
            for (int t = 0; t < batch->lengths[half * B + b]; t++)
                dlp[row + (size_t)t] = (float)(g * batch->weights[row + (size_t)t]);
        }
    }
}

static sj_status dpo_step(sja_stage *s, long step, sj_train_line *line, sj_error *err)
{
    (void)step;
    dpo_run *r = s->ctx;
    double t0 = sj_now();
    int B = r->o->batch;
    for (int b = 0; b < B; b++)
        r->pick[b] = s->train[gsl_rng_uniform_int(s->rng, s->n_train)];
    sj_lm_batch *batch = NULL;
    float *dlp = NULL;
    dpo_stats stats = {0};
    sj_status st = pair_logprobs(s->model, &r->d, r->pick, B, r->lc, r->lr, &batch, err);
    if (st == SJ_OK && !(dlp = sj_calloc((size_t)batch->B * batch->T, sizeof *dlp)))
        st = sj_error_set(err, SJ_ERR_WORK, "out of memory");
    if (st == SJ_OK) {
        dpo_gradient(r, batch, dlp, &stats);
        finish_stats(&stats);
        sj_lm_zero_grad(s->model);
        st = sj_lm_backward(s->model, batch, dlp, NULL, err);
    }
    double lrate = st == SJ_OK ? sj_lm_adamw_step(s->opt, s->model) : 0.0;
    double tokens = batch ? (double)batch->B * batch->T : 0.0;
    sj_lm_batch_free(batch);
    free(dlp);
    sj_train_line_add(line, "loss", stats.loss);
    sj_train_line_add(line, "lr", lrate);
    sj_train_line_add(line, "tokens_per_s", tokens / (sj_now() - t0));
    sj_train_line_add(line, "rewards/chosen", stats.chosen);
    sj_train_line_add(line, "rewards/rejected", stats.rejected);
    sj_train_line_add(line, "rewards/accuracies", stats.accuracy);
    sj_train_line_add(line, "rewards/margins", stats.margin);
    snprintf(line->progress, sizeof line->progress, "loss %.4f", stats.loss);
    return st;
}

/* Selection: held-out preference accuracy, then the lower loss. */
static sj_status dpo_eval_hook(sja_stage *s, long done, int last, sj_train_line *line,
                               double score[2], sj_error *err)
{
    (void)done;
    (void)last;
    dpo_run *r = s->ctx;
    sj_status st = dpo_evaluate(s->model, &r->d, s->val, s->n_val, r->o->beta, &r->last, err);
    double *v[5];
    eval_values(&r->last, v);
    for (int k = 0; k < 5; k++)
        sj_train_line_add(line, EVAL_NAMES[k], *v[k]);
    score[0] = r->last.accuracy;
    score[1] = -r->last.loss;
    return st;
}

static sj_status dpo_finish(sja_stage *s, cJSON *prov, cJSON **result, sj_lm_save_opts *so,
                            sj_error *err)
{
    sja_save_opts_lexical(s->init, so);
    (void)err;
    dpo_run *r = s->ctx;
    cJSON *res = cJSON_AddObjectToObject(prov, "held_out");
    cJSON_AddNumberToObject(res, "n_pairs", (double)s->n_val);
    sj_json_add_number(res, "val_loss", r->last.loss);
    sj_json_add_number(res, "val_rewards/accuracies", r->last.accuracy);
    sj_json_add_number(res, "val_rewards/margins", r->last.margin);
    cJSON_AddNumberToObject(prov, "n_train_pairs", (double)s->n_train);
    *result = res;
    return SJ_OK;
}

static void describe(sja_stage *s, dpo_run *r, sja_model *policy, const char *instrument_path,
                     const char *pairs_path, const sja_dpo_opts *o)
{
    sja_stage_identify(s, "dpo", policy, instrument_path, "pairs", pairs_path);
    s->options = options_json(o);
    SJA_STAGE_TAKE_OPTS(s, o);
    s->best_metric = "val_rewards/accuracies";
    s->rng_label = "dpo-split"; /* one stream: the split, then the batches */
    s->keys = r->d.seqs.person;
    s->n_examples = r->d.seqs.n;
    s->val_fraction = o->val_fraction;
    s->hooks = (sja_stage_hooks){.step = dpo_step, .evaluate = dpo_eval_hook, .finish = dpo_finish};
    s->ctx = r;
}

sj_status sja_dpo(sja_model *policy, const sj_instrument *ins, const char *instrument_path,
                  const sja_pairs *pairs, const char *pairs_path, const sja_dpo_opts *o,
                  const char *out, cJSON **summary, sj_error *err)
{
    size_t B = (size_t)(o->batch > 0 ? o->batch : 1);
    dpo_run r = {.o = o, .last = {NAN, NAN, NAN, NAN, NAN, 0, 0}};
    r.pick = malloc(B * sizeof *r.pick);
    r.lc = malloc(B * sizeof *r.lc);
    r.lr = malloc(B * sizeof *r.lr);
    sja_stage s;
    sja_stage_init(&s);
    sj_status st = r.pick && r.lc && r.lr ? SJ_OK : sj_error_set(err, SJ_ERR_WORK, "out of memory");
    if (st == SJ_OK)
        st = sja_pairs_encode(&policy->codec, ins, pairs, NULL, o->min_pairs, pairs_path, "DPO",
                              &r.d.seqs, err);
    /* The frozen reference is the starting policy: its log-probs are fixed,
     * so they are computed once before any update (and before resuming
     * restores the trained weights). */
    if (st == SJ_OK)
        st = reference_logprobs(policy->ck->model, &r.d, err);
    describe(&s, &r, policy, instrument_path, pairs_path, o);
    if (st == SJ_OK)
        st = sja_stage_prepare(&s, err);
    double *v[5];
    eval_values(&r.last, v);
    for (int k = 0; k < 5 && st == SJ_OK; k++)
        st = sja_stage_number(&s, EVAL_NAMES[k], v[k], SJA_KEEP_BEST, err);
    if (st == SJ_OK)
        st = sja_stage_run(&s, out, summary, err);
    else if (o->run.stopped_at)
        *o->run.stopped_at = 0;
    sja_stage_free(&s);
    free(r.pick);
    free(r.lc);
    free(r.lr);
    dpo_data_free(&r.d);
    return st;
}
