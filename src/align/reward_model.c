/* The reward model: the SFT backbone with a scalar head on the last token,
 * trained with the Bradley–Terry loss on judged pairs, then normalised on
 * policy samples and frozen. */
#include "align_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "sjtalign/dist.h"

sja_reward_opts sja_reward_defaults(void)
{
    sja_reward_opts o = {.steps = 300,
                         .batch = 16,
                         .lr = 1e-3,
                         .margin = 0.0,
                         .seed = 1,
                         .val_fraction = 0.1,
                         .eval_every = 50,
                         .min_pairs = 20,
                         .warmup_fraction = 0.1,
                         .head_clip = 1.0,
                         .judge_weights = SJA_WEIGHTS_NONE,
                         .focal = "focal",
                         .reference = "reference"};
    return o;
}

void sja_reward_free(sja_reward_model *rm)
{
    if (!rm)
        return;
    sja_model_free(rm->base);
    free(rm->head);
    free(rm);
}

sja_reward_model *sja_reward_load(const char *dir, const sj_instrument *ins, sj_error *err)
{
    sja_reward_model *rm = sj_calloc(1, sizeof *rm);
    if (!rm) {
        sj_error_set(err, SJ_ERR_WORK, "out of memory");
        return NULL;
    }
    rm->base = sja_model_load(dir, ins, err);
    if (!rm->base) {
        sja_reward_free(rm);
        return NULL;
    }
    int embd = rm->base->ck->model->cfg.embd;
    const sj_lm_tensor *w = sj_lm_checkpoint_extra(rm->base->ck, "head.weight");
    const sj_lm_tensor *b = sj_lm_checkpoint_extra(rm->base->ck, "head.bias");
    const sj_lm_tensor *nm = sj_lm_checkpoint_extra(rm->base->ck, "reward.norm");
    const cJSON *resume = cJSON_GetObjectItemCaseSensitive(rm->base->ck->config, "resume");
    if (cJSON_IsObject(resume)) {
        const cJSON *step = cJSON_GetObjectItemCaseSensitive(resume, "step");
        const cJSON *steps = cJSON_GetObjectItemCaseSensitive(resume, "steps");
        sj_error_set(err, SJ_ERR_INPUT,
                     "%s holds a reward model whose training was interrupted after step %.0f of "
                     "%.0f; finish it with the same `sjtalign reward` command and --resume",
                     dir, cJSON_IsNumber(step) ? step->valuedouble : 0.0,
                     cJSON_IsNumber(steps) ? steps->valuedouble : 0.0);
        sja_reward_free(rm);
        return NULL;
    }
    if (!w || !b || !nm || w->rows * w->cols != (size_t)embd || b->rows * b->cols != 1 ||
        nm->rows * nm->cols != 2) {
        sj_error_set(err, SJ_ERR_INPUT,
                     "%s is not a reward model: it lacks the tensors head.weight [1 x %d], "
                     "head.bias [1] and reward.norm [2] (train one with `sjtalign reward`)",
                     dir, embd);
        sja_reward_free(rm);
        return NULL;
    }
    /* reward models from before the lexical weight have none: 0 */
    const sj_lm_tensor *lx = sj_lm_checkpoint_extra(rm->base->ck, "head.lexical");
    rm->head = malloc((size_t)(embd + 2) * sizeof *rm->head);
    if (!rm->head) {
        sj_error_set(err, SJ_ERR_WORK, "out of memory");
        sja_reward_free(rm);
        return NULL;
    }
    memcpy(rm->head, w->data, (size_t)embd * sizeof *rm->head);
    rm->head[embd] = b->data[0];
    rm->head[embd + 1] = lx && lx->rows * lx->cols == 1 ? lx->data[0] : 0.0f;
    rm->norm_mean = nm->data[0];
    rm->norm_sd = nm->data[1] > 0 ? nm->data[1] : 1.0;
    return rm;
}

/* Raw head outputs of n sequences; hidden (n x embd) kept when not NULL. */
static sj_status raw_rewards(sj_lm *m, const float *head, const sja_seq *const *seqs, int n,
                             double *r, float *hidden_out, sj_lm_batch **keep, sj_error *err)
{
    int embd = m->cfg.embd;
    int *pos = malloc((size_t)n * sizeof *pos);
    float *hidden = hidden_out ? hidden_out : malloc((size_t)n * embd * sizeof *hidden);
    sj_lm_batch *batch = NULL;
    sj_status st = (pos && hidden) ? SJ_OK : sj_error_set(err, SJ_ERR_WORK, "out of memory");
    if (st == SJ_OK)
        st = sja_batch_build(seqs, n, SJA_W_NONE, 1, &batch, pos, err);
    if (st == SJ_OK) {
        /* only the hidden state at pos is read: no output layer, and without a
         * backward to follow only the rows at pos in the last block */
        sj_lm_forward_io io = {.temperature = 1.0f,
                               .hidden_pos = pos,
                               .hidden = hidden,
                               .sparse_head = 1,
                               .forward_only = keep == NULL};
        st = sj_lm_forward(m, batch, &io, err);
    }
    if (st == SJ_OK)
        for (int b = 0; b < n; b++)
            r[b] = sja_head_apply(head, hidden + (size_t)b * embd, embd) +
                   (double)head[embd + 1] * sja_seq_level_prior(seqs[b]);
    free(pos);
    if (!hidden_out)
        free(hidden);
    if (keep && st == SJ_OK)
        *keep = batch;
    else
        sj_lm_batch_free(batch);
    return st;
}

sj_status sja_reward_score(sja_reward_model *rm, const sja_seq *seqs, size_t n, int batch,
                           double *rewards, sj_error *err)
{
    if (batch < 1)
        batch = 1;
    const sja_seq **ptr = malloc((size_t)batch * sizeof *ptr);
    if (!ptr)
        return sj_error_set(err, SJ_ERR_WORK, "out of memory");
    sj_status st = SJ_OK;
    for (size_t s = 0; s < n && st == SJ_OK; s += (size_t)batch) {
        int nb = (int)(n - s < (size_t)batch ? n - s : (size_t)batch);
        for (int b = 0; b < nb; b++)
            ptr[b] = &seqs[s + (size_t)b];
        st = raw_rewards(rm->base->ck->model, rm->head, ptr, nb, rewards + s, NULL, NULL, err);
        for (int b = 0; b < nb && st == SJ_OK; b++)
            rewards[s + (size_t)b] = (rewards[s + (size_t)b] - rm->norm_mean) / rm->norm_sd;
    }
    free(ptr);
    return st;
}

/* ---- training ----------------------------------------------------------------- */

/* Raw rewards of the units' two sequences, written at r_first[g] and
 * r_second[g] for every listed unit g: a forward pass per EB units. */
static sj_status unit_rewards(sj_lm *m, const float *head, const sja_pair_units *u,
                              const size_t *units, size_t n, double *r_first, double *r_second,
                              sj_error *err)
{
    enum { EB = 32 };
    const sja_seq *seqs[2 * EB];
    double r[2 * EB];
    sj_status st = SJ_OK;
    for (size_t s = 0; s < n && st == SJ_OK; s += EB) {
        int nb = (int)(n - s < EB ? n - s : EB);
        for (int b = 0; b < nb; b++) {
            seqs[b] = u->first[units[s + (size_t)b]];
            seqs[nb + b] = u->second[units[s + (size_t)b]];
        }
        st = raw_rewards(m, head, seqs, 2 * nb, r, NULL, NULL, err);
        for (int b = 0; b < nb && st == SJ_OK; b++) {
            r_first[units[s + (size_t)b]] = r[b];
            r_second[units[s + (size_t)b]] = r[nb + b];
        }
    }
    return st;
}

sj_status sja_reward_eval_pairs(sj_lm *m, const float *head, const sja_pair_seqs *d,
                                const sja_pair_units *u, const size_t *idx, size_t n, double margin,
                                double *loss_out, double *accuracy, sj_error *err)
{
    size_t *units = NULL, n_units = 0;
    double *r1 = malloc((u->n ? u->n : 1) * sizeof *r1);
    double *r2 = malloc((u->n ? u->n : 1) * sizeof *r2);
    sj_status st = r1 && r2 ? sja_pair_units_of(u, idx, n, 1, &units, &n_units, err)
                            : sj_error_set(err, SJ_ERR_WORK, "out of memory");
    if (st == SJ_OK)
        st = unit_rewards(m, head, u, units, n_units, r1, r2, err);
    double loss = 0.0;
    size_t correct = 0, decisive = 0;
    for (size_t s = 0; s < n && st == SJ_OK; s++) {
        size_t i = idx[s], g = u->unit[i];
        double rc = u->swapped[i] ? r2[g] : r1[g], rr = u->swapped[i] ? r1[g] : r2[g];
        loss += sja_bt_batch_loss(&rc, &rr, &d->tie[i], &d->weight[i], 1, margin, NULL, NULL);
        decisive += !d->tie[i];
        correct += !d->tie[i] && rc > rr;
    }
    *loss_out = n ? loss / (double)n : NAN;
    *accuracy = decisive ? (double)correct / (double)decisive : NAN;
    free(units);
    free(r1);
    free(r2);
    return st;
}

typedef struct {
    double loss, accuracy;
} rm_eval;

/* Judgments of the units pick[0..B-1] (a unit picked twice counts twice). */
static size_t units_judgments(const sja_pair_units *u, const size_t *pick, int B)
{
    size_t n = 0;
    for (int b = 0; b < B; b++)
        n += u->start[pick[b] + 1] - u->start[pick[b]];
    return n;
}

/* sja_reward_units_loss on a share of a step's units, divided by the
 * judgments of the whole step (nj): the shares' losses and derivatives add
 * up to the whole step's. count[0] and count[1] receive the share's
 * correct and decisive judgments. */
static double units_loss_share(const sja_pair_seqs *d, const sja_pair_units *u, const size_t *pick,
                               int B, const double *r, double margin, double nj, double *g1,
                               double *g2, size_t count[2])
{
    size_t correct = 0, decisive = 0;
    double total = 0.0;
    for (int b = 0; b < B; b++) {
        size_t g = pick[b];
        g1[b] = g2[b] = 0.0;
        for (size_t k = u->start[g]; k < u->start[g + 1]; k++) {
            size_t i = u->member[k];
            int sw = u->swapped[i];
            double rc = sw ? r[B + b] : r[b], rr = sw ? r[b] : r[B + b], dc, dr;
            double l = d->tie[i] ? sja_bt_tie_loss(rc, rr, &dc, &dr)
                                 : sja_bt_loss(rc, rr, margin, &dc, &dr);
            total += d->weight[i] * l;
            g1[b] += d->weight[i] * (sw ? dr : dc);
            g2[b] += d->weight[i] * (sw ? dc : dr);
            decisive += !d->tie[i];
            correct += !d->tie[i] && rc > rr;
        }
    }
    for (int b = 0; b < B; b++) {
        g1[b] /= nj;
        g2[b] /= nj;
    }
    count[0] = correct;
    count[1] = decisive;
    return total / nj;
}

static double accuracy_of(double correct, double decisive)
{
    return decisive > 0 ? correct / decisive : NAN;
}

double sja_reward_units_loss(const sja_pair_seqs *d, const sja_pair_units *u, const size_t *pick,
                             int B, const double *r, double margin, double *g1, double *g2,
                             double *acc)
{
    size_t judgments = units_judgments(u, pick, B), count[2];
    double nj = (double)(judgments ? judgments : 1);
    double loss = units_loss_share(d, u, pick, B, r, margin, nj, g1, g2, count);
    *acc = accuracy_of((double)count[0], (double)count[1]);
    return loss;
}

/* The backward of a step's share: d(loss)/d(reward) of each sequence
 * through the head (into head_grad) and into the backbone (dh). */
static void head_backward(const float *head, float *head_grad, const sja_seq *const *seqs, int n,
                          const double *grad, const float *hidden, int embd, float *dh)
{
    for (int q = 0; q < n; q++) {
        double dq = grad[q];
        const float *h = hidden + (size_t)q * embd;
        for (int i = 0; i < embd; i++) {
            head_grad[i] += (float)(dq * h[i]);
            dh[(size_t)q * embd + i] = (float)(dq * head[i]);
        }
        head_grad[embd] += (float)dq;
        head_grad[embd + 1] += (float)(dq * sja_seq_level_prior(seqs[q]));
    }
}

/* The forward and backward of a non-empty share pick[0..B-1]. */
static sj_status rm_step(sj_lm *m, const float *head, float *head_grad, const sja_pair_seqs *d,
                         const sja_pair_units *u, const size_t *pick, int B, double nj,
                         double margin, double *loss, size_t count[2], sj_error *err)
{
    int embd = m->cfg.embd;
    const sja_seq **seqs = malloc((size_t)2 * B * sizeof *seqs);
    double *r = malloc((size_t)4 * B * sizeof *r), *grad = r ? r + 2 * B : NULL;
    float *hidden = malloc((size_t)2 * B * embd * sizeof *hidden);
    float *dh = sj_calloc((size_t)2 * B * embd, sizeof *dh);
    sj_lm_batch *batch = NULL;
    sj_status st =
        (seqs && r && hidden && dh) ? SJ_OK : sj_error_set(err, SJ_ERR_WORK, "out of memory");
    if (st == SJ_OK) {
        for (int b = 0; b < B; b++) {
            seqs[b] = u->first[pick[b]];
            seqs[B + b] = u->second[pick[b]];
        }
        st = raw_rewards(m, head, seqs, 2 * B, r, hidden, &batch, err);
    }
    if (st == SJ_OK) {
        *loss = units_loss_share(d, u, pick, B, r, margin, nj, grad, grad + B, count);
        head_backward(head, head_grad, seqs, 2 * B, grad, hidden, embd, dh);
        st = sj_lm_backward(m, batch, NULL, dh, err);
    }
    sj_lm_batch_free(batch);
    free(seqs);
    free(r);
    free(hidden);
    free(dh);
    return st;
}

sj_status sja_reward_share_step(sj_lm *m, const float *head, float *head_grad,
                                const sja_pair_seqs *d, const sja_pair_units *u, const size_t *pick,
                                int B, size_t lo, size_t hi, double margin, double sums[3],
                                sj_error *err)
{
    size_t judgments = units_judgments(u, pick, B), count[2] = {0, 0};
    double loss = 0.0;
    memset(head_grad, 0, ((size_t)m->cfg.embd + 2) * sizeof *head_grad);
    sj_lm_zero_grad(m);
    sj_status st = SJ_OK;
    if (hi > lo)
        st = rm_step(m, head, head_grad, d, u, pick + lo, (int)(hi - lo),
                     (double)(judgments ? judgments : 1), margin, &loss, count, err);
    sums[0] = loss;
    sums[1] = (double)count[0];
    sums[2] = (double)count[1];
    return st;
}

/* Mean and SD of the raw rewards of completions the policy samples for the
 * pairs' prompts (one each, temperature 1, at most 512). */
static sj_status fit_normalisation(sj_lm *policy, sj_lm *rm, const float *head, const sja_codec *c,
                                   const sj_instrument *ins, const sja_pairs *pairs, uint64_t seed,
                                   double *mean, double *sd, size_t *n_used, sj_error *err)
{
    size_t n = pairs->n < 512 ? pairs->n : 512;
    gsl_rng *rng = sj_rng_new(sj_seed_derive(seed, "reward-normalisation"));
    sja_seq *seqs = sj_calloc(n ? n : 1, sizeof *seqs);
    double *r = malloc((n ? n : 1) * sizeof *r);
    int32_t *gen = malloc((size_t)(c->ctx + 1) * sizeof *gen);
    sj_status st =
        (rng && seqs && r && gen) ? SJ_OK : sj_error_set(err, SJ_ERR_WORK, "out of memory");
    size_t *perm = st == SJ_OK ? sja_permutation(rng, pairs->n) : NULL;
    for (size_t i = 0; i < n && st == SJ_OK; i++) {
        const sja_pair *q = &pairs->pairs[perm[i]];
        sja_seq prompt;
        st = sja_encode_prompt(c, ins, q->item, q->response, c->max_completion + 1, &prompt, err);
        if (st != SJ_OK)
            break;
        int max_new = c->rationale ? c->ctx - prompt.len : c->max_completion;
        sj_lm_sample_opts so = {
            .temperature = 1.0f, .top_k = 0, .max_new = max_new, .stop = SJ_TOK_EOS};
        sja_sample_opts_prior(&prompt, &so);
        int n_out = 0;
        st = sj_lm_generate(policy, prompt.tokens, prompt.len, &so, rng, gen, NULL, &n_out, err);
        if (st == SJ_OK)
            st = sja_seq_append(&prompt, gen, n_out, &seqs[i], err);
        sja_seq_free(&prompt);
    }
    const sja_seq *ptr[32];
    for (size_t s = 0; s < n && st == SJ_OK; s += 32) {
        int nb = (int)(n - s < 32 ? n - s : 32);
        for (int b = 0; b < nb; b++)
            ptr[b] = &seqs[s + (size_t)b];
        st = raw_rewards(rm, head, ptr, nb, r + s, NULL, NULL, err);
    }
    if (st == SJ_OK) {
        double m = 0.0, ss = 0.0;
        for (size_t i = 0; i < n; i++)
            m += r[i];
        m /= (double)(n ? n : 1);
        for (size_t i = 0; i < n; i++)
            ss += (r[i] - m) * (r[i] - m);
        *mean = m;
        *sd = n > 1 ? sqrt(ss / (double)(n - 1)) : 1.0;
        if (!(*sd > 1e-6))
            *sd = 1.0;
        *n_used = n;
    }
    for (size_t i = 0; i < n; i++)
        sja_seq_free(&seqs[i]);
    free(seqs);
    free(perm);
    free(r);
    free(gen);
    sj_rng_free(rng);
    return st;
}

static cJSON *options_json(const sja_reward_opts *o)
{
    cJSON *opt_j = cJSON_CreateObject();
    cJSON_AddNumberToObject(opt_j, "batch", o->batch);
    cJSON_AddNumberToObject(opt_j, "margin", o->margin);
    cJSON_AddNumberToObject(opt_j, "head_clip", o->head_clip);
    cJSON_AddStringToObject(opt_j, "judge_weights",
                            o->judge_weights == SJA_WEIGHTS_AGREEMENT ? "agreement" : "none");
    cJSON_AddStringToObject(opt_j, "focal", o->focal ? o->focal : "focal");
    cJSON_AddStringToObject(opt_j, "reference", o->reference ? o->reference : "reference");
    return opt_j;
}

/* A reward-model run as the stage driver sees it. */
typedef struct {
    sja_pair_seqs d;
    sja_pair_units u;    /* the distinct pairs of the judgments */
    size_t *train_units; /* those of the training judgments */
    size_t n_train_units;
    const sja_reward_opts *o;
    const sj_instrument *ins;
    const sja_pairs *pairs;
    sj_lm *policy; /* the starting model, which samples for the normalisation */
    float *head, *head_grad;
    sj_adamw *head_opt;
    size_t *pick;
    rm_eval last;
    float norm[2], bias, lexical; /* the saved normalisation, head bias, lexical weight */
    sj_lm_tensor extras[4];
    sja_panel *panel;          /* the panel check, saved as panel.json and panel.csv */
    const char *json_names[2]; /* panel.json [, lexical.json] */
    const cJSON *json_docs[2];
    const char *csv_names[1];
    const char *csv_texts[1];
} reward_run;

static sj_status reward_step(sja_stage *s, long step, sj_train_line *line, sj_error *err)
{
    (void)step;
    reward_run *r = s->ctx;
    const sja_reward_opts *o = r->o;
    double t0 = sj_now();
    /* a step draws distinct pairs and learns from all of their judgments */
    for (int b = 0; b < o->batch; b++)
        r->pick[b] = r->train_units[gsl_rng_uniform_int(s->rng, r->n_train_units)];
    /* every rank drew the same units; each runs its share of them, then
     * the gradients and the statistics' sums are added up */
    size_t lo, hi;
    sj_dist_share((size_t)o->batch, &lo, &hi);
    double sums[3];
    sj_status st = sja_reward_share_step(s->model, r->head, r->head_grad, &r->d, &r->u, r->pick,
                                         o->batch, lo, hi, o->margin, sums, err);
    if (st == SJ_OK)
        st =
            sj_train_exchange(s->model, r->head_grad, (size_t)s->model->cfg.embd + 2, sums, 3, err);
    if (st != SJ_OK)
        return st;
    double loss = sums[0], acc = accuracy_of(sums[1], sums[2]);
    double lr = sj_lm_adamw_step(s->opt, s->model);
    /* The head shares the schedule; its gradient is clipped alone. */
    sja_head_update(r->head_opt, r->head, r->head_grad, o->head_clip, lr);
    double tokens = 0.0;
    for (int b = 0; b < o->batch; b++)
        tokens += r->u.first[r->pick[b]]->len + r->u.second[r->pick[b]]->len;
    sj_train_line_add(line, "loss", loss);
    sj_train_line_add(line, "lr", lr);
    sj_train_line_add(line, "tokens_per_s", tokens / (sj_now() - t0));
    sj_train_line_add(line, "accuracy", acc);
    snprintf(line->progress, sizeof line->progress, "loss %.4f", loss);
    return SJ_OK;
}

/* Selection: held-out pairwise accuracy, then the lower loss. */
static sj_status reward_evaluate(sja_stage *s, long done, int last, sj_train_line *line,
                                 double score[2], sj_error *err)
{
    (void)done;
    (void)last;
    reward_run *r = s->ctx;
    sj_status st = sja_reward_eval_pairs(s->model, r->head, &r->d, &r->u, s->val, s->n_val,
                                         r->o->margin, &r->last.loss, &r->last.accuracy, err);
    sj_train_line_add(line, "val_loss", r->last.loss);
    sj_train_line_add(line, "val_accuracy", r->last.accuracy);
    score[0] = r->last.accuracy;
    score[1] = -r->last.loss;
    return st;
}

/* panel.json and panel.csv go into the model folder, and (its lexical term
 * reads the scorer's channel) the channel goes along. */
static void save_panel(reward_run *r, const sja_model *init, sj_lm_save_opts *so, cJSON *prov)
{
    so->n_json = 0;
    r->json_names[so->n_json] = "panel.json";
    r->json_docs[so->n_json++] = r->panel->doc;
    if (init->lexical_json) {
        r->json_names[so->n_json] = "lexical.json";
        r->json_docs[so->n_json++] = init->lexical_json;
    }
    so->json_names = r->json_names;
    so->json_docs = r->json_docs;
    r->csv_names[0] = "panel.csv";
    r->csv_texts[0] = r->panel->csv;
    so->csv_names = r->csv_names;
    so->csv_texts = r->csv_texts;
    so->n_csv = 1;
    cJSON *pj = cJSON_AddObjectToObject(prov, "panel");
    cJSON_AddStringToObject(pj, "file", "panel.json");
    cJSON_AddStringToObject(pj, "weighting",
                            r->o->judge_weights == SJA_WEIGHTS_AGREEMENT ? "agreement" : "none");
    sj_json_add_number(pj, "alpha", r->panel->stats.alpha);
}

/* Normalisation on policy samples, then the head and the normalisation as
 * the model's extra tensors. */
static sj_status reward_finish(sja_stage *s, cJSON *prov, cJSON **result, sj_lm_save_opts *so,
                               sj_error *err)
{
    reward_run *r = s->ctx;
    int embd = s->model->cfg.embd;
    double mean = 0.0, sd = 1.0;
    size_t n_norm = 0;
    sj_status st = fit_normalisation(r->policy, s->model, r->head, &s->init->codec, r->ins,
                                     r->pairs, r->o->seed, &mean, &sd, &n_norm, err);
    if (st != SJ_OK)
        return st;
    r->norm[0] = (float)mean;
    r->norm[1] = (float)sd;
    r->bias = r->head[embd];
    r->extras[0] = (sj_lm_tensor){"head.weight", 1, (size_t)embd, 1, r->head};
    r->extras[1] = (sj_lm_tensor){"head.bias", 1, 1, 0, &r->bias};
    r->extras[2] = (sj_lm_tensor){"reward.norm", 1, 2, 0, r->norm};
    r->lexical = r->head[embd + 1];
    r->extras[3] = (sj_lm_tensor){"head.lexical", 1, 1, 0, &r->lexical};
    so->extras = r->extras;
    so->n_extras = 4;
    save_panel(r, s->init, so, prov);
    cJSON_AddNumberToObject(prov, "lexical_weight", (double)r->lexical);
    cJSON *res = cJSON_AddObjectToObject(prov, "held_out");
    cJSON_AddNumberToObject(res, "n_pairs", (double)s->n_val);
    sj_json_add_number(res, "val_loss", r->last.loss);
    sj_json_add_number(res, "val_accuracy", r->last.accuracy);
    cJSON_AddNumberToObject(prov, "n_train_pairs", (double)s->n_train);
    cJSON *nj = cJSON_AddObjectToObject(prov, "reward_normalisation");
    cJSON_AddNumberToObject(nj, "mean", (double)r->norm[0]);
    cJSON_AddNumberToObject(nj, "sd", (double)r->norm[1]);
    cJSON_AddNumberToObject(nj, "n_policy_samples", (double)n_norm);
    cJSON_AddStringToObject(nj, "tensor",
                            "reward.norm = [mean, sd]; reward = (w.h + b + v.l - mean) / sd, l the "
                            "lexical log-probability of the score");
    cJSON_AddBoolToObject(prov, "frozen", 1);
    *result = res;
    return SJ_OK;
}

static void describe(sja_stage *s, reward_run *r, sja_model *init, const char *instrument_path,
                     const char *pairs_path, const sja_reward_opts *o)
{
    sja_stage_identify(s, "reward", init, instrument_path, "pairs", pairs_path);
    s->options = options_json(o);
    SJA_STAGE_TAKE_OPTS(s, o);
    s->best_metric = "val_accuracy";
    s->rng_label = "reward-split"; /* one stream: the split, then the batches */
    s->keys = r->d.person;
    s->n_examples = r->d.n;
    s->val_fraction = o->val_fraction;
    s->hooks = (sja_stage_hooks){
        .step = reward_step, .evaluate = reward_evaluate, .finish = reward_finish};
    s->ctx = r;
}

/* The head, its optimizer and the last evaluation: the reward stage's
 * state beyond the backbone. */
static sj_status register_state(sja_stage *s, reward_run *r, sj_error *err)
{
    size_t n = (size_t)s->model->cfg.embd + 2;
    r->head_opt = sja_stage_optimizer(s, "resume.head", n, 0, err);
    sj_status st = r->head_opt ? SJ_OK : SJ_ERR_WORK;
    if (st == SJ_OK)
        st = sja_stage_tensor(s, "resume.head", r->head, n, SJA_KEEP_BEST, err);
    if (st == SJ_OK)
        st = sja_stage_number(s, "val_loss", &r->last.loss, SJA_KEEP_BEST, err);
    if (st == SJ_OK)
        st = sja_stage_number(s, "val_accuracy", &r->last.accuracy, SJA_KEEP_BEST, err);
    return st;
}

/* What the command prints: alpha, the flagged judges and the summary lines. */
static void add_panel_summary(cJSON *summary, const sja_panel *p)
{
    cJSON *pj = cJSON_AddObjectToObject(summary, "panel");
    sj_json_add_number(pj, "alpha", p->stats.alpha);
    cJSON_AddNumberToObject(pj, "overlap_pairs", (double)p->stats.n_overlap_pairs);
    cJSON *flagged = cJSON_AddArrayToObject(pj, "flagged");
    for (size_t k = 0; k < p->n_judges; k++)
        if (p->stats.judges[k].flag_disagrees || p->stats.judges[k].flag_group)
            cJSON_AddItemToArray(flagged, cJSON_CreateString(p->judges[k]));
    cJSON *lines = cJSON_AddArrayToObject(pj, "summary");
    for (size_t i = 0; i < p->n_summary; i++)
        cJSON_AddItemToArray(lines, cJSON_CreateString(p->summary[i]));
}

sj_status sja_reward_train(sja_model *init, const sj_instrument *ins, const char *instrument_path,
                           const sja_pairs *pairs, const char *pairs_path, const sja_reward_opts *o,
                           const char *out, cJSON **summary, sj_error *err)
{
    sj_lm *m = init->ck->model;
    size_t n_head = (size_t)m->cfg.embd + 2;
    reward_run r = {.o = o, .ins = ins, .pairs = pairs, .last = {NAN, NAN}};
    r.head = sj_calloc(n_head, sizeof *r.head);
    r.head_grad = sj_calloc(n_head, sizeof *r.head_grad);
    r.pick = malloc((size_t)(o->batch > 0 ? o->batch : 1) * sizeof *r.pick);
    sja_stage s;
    sja_stage_init(&s);
    sj_status st =
        (r.head && r.head_grad && r.pick) ? SJ_OK : sj_error_set(err, SJ_ERR_WORK, "out of memory");
    /* With a lexical channel the reward starts as its log-probability of
     * the scoring (the channel's plausibility of the score); the head and
     * the backbone learn from the panel where it is wrong. */
    if (st == SJ_OK && init->codec.lex)
        r.head[n_head - 1] = 1.0f;
    if (st == SJ_OK &&
        !(r.panel = sja_panel_check(pairs, o->focal, o->reference, o->judge_weights, err)))
        st = err ? err->status : SJ_ERR_WORK;
    if (st == SJ_OK)
        st = sja_pairs_encode(&init->codec, ins, pairs, r.panel->row_weight, o->min_pairs,
                              pairs_path, "the reward model", &r.d, err);
    if (st == SJ_OK)
        st = sja_pair_units_build(&r.d, &r.u, err);
    if (st == SJ_OK && !(r.policy = sj_lm_copy(m, err)))
        st = SJ_ERR_WORK;
    describe(&s, &r, init, instrument_path, pairs_path, o);
    if (st == SJ_OK)
        st = sja_stage_prepare(&s, err);
    if (st == SJ_OK)
        st = sja_pair_units_of(&r.u, s.train, s.n_train, 0, &r.train_units, &r.n_train_units, err);
    if (st == SJ_OK)
        st = register_state(&s, &r, err);
    if (st == SJ_OK)
        st = sja_stage_run(&s, out, summary, err);
    else if (o->run.stopped_at)
        *o->run.stopped_at = 0;
    if (st == SJ_OK && s.stopped == 0 && summary && *summary)
        add_panel_summary(*summary, r.panel);
    sja_stage_free(&s);
    sja_panel_free(r.panel);
    sj_lm_free(r.policy);
    free(r.head);
    free(r.head_grad);
    free(r.pick);
    free(r.train_units);
    sja_pair_units_free(&r.u);
    sja_pair_seqs_free(&r.d);
    return st;
}
