/* Direct preference optimisation (Rafailov et al. 2023) on judged pairs,
 * against a frozen copy of the starting (SFT) policy. */
#include "align_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "sjtalign/dist.h"

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

/* The pairs, their distinct units and the frozen reference's sequence
 * log-probs of each unit's two sequences. */
typedef struct {
    sja_pair_seqs seqs;
    sja_pair_units u;
    double *ref1, *ref2; /* per unit: first and second sequence */
} dpo_data;

static void dpo_data_free(dpo_data *d)
{
    sja_pair_units_free(&d->u);
    sja_pair_seqs_free(&d->seqs);
    free(d->ref1);
    free(d->ref2);
}

/* Sequence log-probs of the two sequences of units[0..n-1] into l1[b],
 * l2[b]; the batch (first sequences' rows first) is kept when asked. */
static sj_status unit_logprobs(sj_lm *m, const sja_pair_units *u, const size_t *units, int n,
                               double *l1, double *l2, sj_lm_batch **keep, sj_error *err)
{
    const sja_seq **seqs = malloc((size_t)2 * n * sizeof *seqs);
    double *all = malloc((size_t)2 * n * sizeof *all);
    sj_lm_batch *batch = NULL;
    float *lp = NULL;
    sj_status st = (seqs && all) ? SJ_OK : sj_error_set(err, SJ_ERR_WORK, "out of memory");
    for (int b = 0; b < n && st == SJ_OK; b++) {
        seqs[b] = u->first[units[b]];
        seqs[n + b] = u->second[units[b]];
    }
    if (st == SJ_OK)
        st = sja_batch_build(seqs, 2 * n, SJA_W_COMPLETION, 0, &batch, NULL, err);
    if (st == SJ_OK && !(lp = malloc((size_t)batch->B * batch->T * sizeof *lp)))
        st = sj_error_set(err, SJ_ERR_WORK, "out of memory");
    if (st == SJ_OK) {
        /* only the completion's log-probs are read */
        sj_lm_forward_io io = {
            .temperature = 1.0f, .logprobs = lp, .sparse_head = 1, .forward_only = keep == NULL};
        st = sj_lm_forward(m, batch, &io, err);
    }
    if (st == SJ_OK) {
        sja_sequence_logprobs(batch, lp, all);
        memcpy(l1, all, (size_t)n * sizeof *l1);
        memcpy(l2, all + n, (size_t)n * sizeof *l2);
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

/* Log-probs of the listed units' sequences into l1[g], l2[g] (indexed by
 * unit), EB units per forward pass. */
static sj_status units_logprobs(sj_lm *m, const sja_pair_units *u, const size_t *units, size_t n,
                                double *l1, double *l2, sj_error *err)
{
    enum { EB = 32 };
    double a[EB], b[EB];
    sj_status st = SJ_OK;
    for (size_t k = 0; k < n && st == SJ_OK; k += EB) {
        int nb = (int)(n - k < EB ? n - k : EB);
        st = unit_logprobs(m, u, units + k, nb, a, b, NULL, err);
        for (int i = 0; i < nb && st == SJ_OK; i++) {
            l1[units[k + (size_t)i]] = a[i];
            l2[units[k + (size_t)i]] = b[i];
        }
    }
    return st;
}

sj_status sja_dpo_judgment_logprobs(sj_lm *m, const sja_pair_seqs *d, const sja_pair_units *u,
                                    const size_t *idx, size_t n, double *chosen, double *rejected,
                                    sj_error *err)
{
    (void)d;
    size_t *units = NULL, n_units = 0;
    double *l1 = malloc((u->n ? u->n : 1) * sizeof *l1);
    double *l2 = malloc((u->n ? u->n : 1) * sizeof *l2);
    sj_status st = l1 && l2 ? sja_pair_units_of(u, idx, n, 1, &units, &n_units, err)
                            : sj_error_set(err, SJ_ERR_WORK, "out of memory");
    if (st == SJ_OK)
        st = units_logprobs(m, u, units, n_units, l1, l2, err);
    for (size_t k = 0; k < n && st == SJ_OK; k++) {
        size_t i = idx[k], g = u->unit[i];
        chosen[k] = u->swapped[i] ? l2[g] : l1[g];
        rejected[k] = u->swapped[i] ? l1[g] : l2[g];
    }
    free(units);
    free(l1);
    free(l2);
    return st;
}

/* A judgment's reference log-probs of its chosen and rejected sequences. */
static void judgment_ref(const dpo_data *d, size_t i, double *rc, double *rr)
{
    size_t g = d->u.unit[i];
    *rc = d->u.swapped[i] ? d->ref2[g] : d->ref1[g];
    *rr = d->u.swapped[i] ? d->ref1[g] : d->ref2[g];
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
    memset(s, 0, sizeof *s);
    double *lc = malloc((n_val ? n_val : 1) * sizeof *lc);
    double *lr = malloc((n_val ? n_val : 1) * sizeof *lr);
    sj_status st = lc && lr ? sja_dpo_judgment_logprobs(m, &d->seqs, &d->u, val, n_val, lc, lr, err)
                            : sj_error_set(err, SJ_ERR_WORK, "out of memory");
    for (size_t k = 0; k < n_val && st == SJ_OK; k++) {
        size_t i = val[k];
        double rc, rr;
        judgment_ref(d, i, &rc, &rr);
        add_pair(s, beta, lc[k], rc, lr[k], rr, d->seqs.tie[i], d->seqs.weight[i], NULL, NULL);
    }
    free(lc);
    free(lr);
    finish_stats(s);
    return st;
}

/* The frozen reference's log-probs of every unit, computed once. */
static sj_status reference_logprobs(sj_lm *ref, dpo_data *d, sj_error *err)
{
    size_t n = d->u.n;
    d->ref1 = malloc((n ? n : 1) * sizeof *d->ref1);
    d->ref2 = malloc((n ? n : 1) * sizeof *d->ref2);
    size_t *all = malloc((d->seqs.n ? d->seqs.n : 1) * sizeof *all), *units = NULL, n_units = 0;
    sj_status st =
        d->ref1 && d->ref2 && all ? SJ_OK : sj_error_set(err, SJ_ERR_WORK, "out of memory");
    for (size_t i = 0; i < d->seqs.n && st == SJ_OK; i++)
        all[i] = i;
    if (st == SJ_OK)
        st = sja_pair_units_of(&d->u, all, d->seqs.n, 1, &units, &n_units, err);
    if (st == SJ_OK)
        st = units_logprobs(ref, &d->u, units, n_units, d->ref1, d->ref2, err);
    free(all);
    free(units);
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
    size_t *train_units; /* the distinct pairs of the training judgments */
    size_t n_train_units;
    size_t *pick; /* the step's units */
    dpo_stats last;
} dpo_run;

/* The judgments of the units pick[0..B-1] (a unit picked twice counts
 * twice): the step's loss is their mean. */
static size_t units_judgments(const sja_pair_units *u, const size_t *pick, int B)
{
    size_t n = 0;
    for (int b = 0; b < B; b++)
        n += u->start[pick[b] + 1] - u->start[pick[b]];
    return n;
}

/* A share of a step: the units pick[0..n-1] with their sequence log-probs
 * l1, l2 and the derivatives g1, g2 of the step's loss with respect to
 * them. */
typedef struct {
    const size_t *pick;
    int n;
    double *l1, *l2, *g1, *g2;
} dpo_share;

/* A judgment's reference log-probs of its chosen and rejected sequences. */
static void batch_ref(const sja_dpo_batch *d, size_t i, double *rc, double *rr)
{
    size_t g = d->u->unit[i];
    *rc = d->u->swapped[i] ? d->ref2[g] : d->ref1[g];
    *rr = d->u->swapped[i] ? d->ref1[g] : d->ref2[g];
}

/* The share's statistics (*s) and derivatives, divided by nj, the
 * judgments of the whole step. */
static void units_gradient(const sja_dpo_batch *d, const dpo_share *sh, double nj, dpo_stats *s)
{
    const sja_pair_units *u = d->u;
    for (int b = 0; b < sh->n; b++) {
        size_t g = sh->pick[b];
        sh->g1[b] = sh->g2[b] = 0.0;
        for (size_t k = u->start[g]; k < u->start[g + 1]; k++) {
            size_t i = u->member[k];
            int sw = u->swapped[i];
            double rc, rr, dc, dr, w = d->seqs->weight[i];
            batch_ref(d, i, &rc, &rr);
            add_pair(s, d->beta, sw ? sh->l2[b] : sh->l1[b], rc, sw ? sh->l1[b] : sh->l2[b], rr,
                     d->seqs->tie[i], w, &dc, &dr);
            sh->g1[b] += w * (sw ? dr : dc);
            sh->g2[b] += w * (sw ? dc : dr);
        }
    }
    for (int b = 0; b < sh->n; b++) {
        sh->g1[b] /= nj;
        sh->g2[b] /= nj;
    }
}

/* d(loss)/d(token log-prob) = d/d(sequence log-prob) x target weight. */
static void token_gradient(const dpo_share *sh, const sj_lm_batch *batch, float *dlp)
{
    int n = sh->n;
    for (int q = 0; q < 2 * n; q++) {
        size_t row = (size_t)q * (size_t)batch->T;
        double g = q < n ? sh->g1[q] : sh->g2[q - n];
        for (int t = 0; t < batch->lengths[q]; t++)
            dlp[row + (size_t)t] = (float)(g * batch->weights[row + (size_t)t]);
    }
}

/* Forward and backward of a non-empty share. */
static sj_status share_backward(sj_lm *m, const sja_dpo_batch *d, const dpo_share *sh, double nj,
                                dpo_stats *stats, sj_error *err)
{
    sj_lm_batch *batch = NULL;
    float *dlp = NULL;
    sj_status st = unit_logprobs(m, d->u, sh->pick, sh->n, sh->l1, sh->l2, &batch, err);
    if (st == SJ_OK && !(dlp = sj_calloc((size_t)batch->B * batch->T, sizeof *dlp)))
        st = sj_error_set(err, SJ_ERR_WORK, "out of memory");
    if (st == SJ_OK) {
        units_gradient(d, sh, nj, stats);
        token_gradient(sh, batch, dlp);
        st = sj_lm_backward(m, batch, dlp, NULL, err);
    }
    sj_lm_batch_free(batch);
    free(dlp);
    return st;
}

sj_status sja_dpo_share_step(sj_lm *m, const sja_dpo_batch *d, const size_t *pick, int B, size_t lo,
                             size_t hi, double sums[7], sj_error *err)
{
    size_t judgments = units_judgments(d->u, pick, B), n = hi - lo;
    dpo_stats stats = {0};
    sj_lm_zero_grad(m);
    double *work = n ? malloc(4 * n * sizeof *work) : NULL;
    sj_status st = !n || work ? SJ_OK : sj_error_set(err, SJ_ERR_WORK, "out of memory");
    if (st == SJ_OK && n) {
        dpo_share sh = {pick + lo, (int)n, work, work + n, work + 2 * n, work + 3 * n};
        st = share_backward(m, d, &sh, (double)(judgments ? judgments : 1), &stats, err);
    }
    free(work);
    double all[7] = {stats.loss,   stats.chosen,    stats.rejected,          stats.accuracy,
                     stats.margin, (double)stats.n, (double)stats.n_decisive};
    memcpy(sums, all, sizeof all);
    return st;
}

/* The step's statistics from their sums over the ranks. */
static void stats_of(const double sums[7], dpo_stats *s)
{
    s->loss = sums[0];
    s->chosen = sums[1];
    s->rejected = sums[2];
    s->accuracy = sums[3];
    s->margin = sums[4];
    s->n = (size_t)llround(sums[5]);
    s->n_decisive = (size_t)llround(sums[6]);
    finish_stats(s);
}

static sj_status dpo_step(sja_stage *s, long step, sj_train_line *line, sj_error *err)
{
    (void)step;
    dpo_run *r = s->ctx;
    double t0 = sj_now();
    int B = r->o->batch;
    /* a step draws distinct pairs and learns from all of their judgments */
    for (int b = 0; b < B; b++)
        r->pick[b] = r->train_units[gsl_rng_uniform_int(s->rng, r->n_train_units)];
    /* every rank drew the same units; each runs its share of them, then
     * the gradients and the statistics' sums are added up */
    size_t lo, hi;
    sj_dist_share((size_t)B, &lo, &hi);
    sja_dpo_batch d = {&r->d.seqs, &r->d.u, r->d.ref1, r->d.ref2, r->o->beta};
    double sums[7];
    dpo_stats stats = {0};
    sj_status st = sja_dpo_share_step(s->model, &d, r->pick, B, lo, hi, sums, err);
    if (st == SJ_OK)
        st = sj_train_exchange(s->model, NULL, 0, sums, 7, err);
    if (st == SJ_OK)
        stats_of(sums, &stats);
    double lrate = st == SJ_OK ? sj_lm_adamw_step(s->opt, s->model) : 0.0;
    double tokens = 0.0;
    for (int b = 0; b < B; b++)
        tokens += r->d.u.first[r->pick[b]]->len + r->d.u.second[r->pick[b]]->len;
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
    sja_stage s;
    sja_stage_init(&s);
    sj_status st = r.pick ? SJ_OK : sj_error_set(err, SJ_ERR_WORK, "out of memory");
    if (st == SJ_OK)
        st = sja_pairs_encode(&policy->codec, ins, pairs, NULL, o->min_pairs, pairs_path, "DPO",
                              &r.d.seqs, err);
    if (st == SJ_OK)
        st = sja_pair_units_build(&r.d.seqs, &r.d.u, err);
    /* The frozen reference is the starting policy: its log-probs are fixed,
     * so they are computed once before any update (and before resuming
     * restores the trained weights). */
    if (st == SJ_OK)
        st = reference_logprobs(policy->ck->model, &r.d, err);
    describe(&s, &r, policy, instrument_path, pairs_path, o);
    if (st == SJ_OK)
        st = sja_stage_prepare(&s, err);
    if (st == SJ_OK)
        st =
            sja_pair_units_of(&r.d.u, s.train, s.n_train, 0, &r.train_units, &r.n_train_units, err);
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
    free(r.train_units);
    dpo_data_free(&r.d);
    return st;
}
