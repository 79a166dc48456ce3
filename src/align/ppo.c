/* PPO against a frozen reward model with a per-token KL penalty to a frozen
 * reference copy of the policy (Ziegler et al. 2019; Ouyang et al. 2022),
 * with TRL's conventions and metric names. */
#include "align_internal.h"

#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

sja_ppo_opts sja_ppo_defaults(void)
{
    sja_ppo_opts o = {.steps = 40,
                      .batch = 64,
                      .minibatch = 16,
                      .epochs = 2,
                      .lr = 5e-4,
                      .temperature = 1.0,
                      .kl_coef = 0.05,
                      .kl_target = 0.0,
                      .kl_horizon = 10000.0,
                      .kl_stop = 10.0,
                      .cliprange = 0.2,
                      .cliprange_value = 0.2,
                      .vf_coef = 0.1,
                      .gamma = 1.0,
                      .lambda = 0.95,
                      .malformed_penalty = -4.0,
                      .eval_every = 10,
                      .eval_size = 512,
                      .seed = 1,
                      .quiet = 0};
    return o;
}

/* One batch of rollouts; per-token arrays are flat, rollout i's tokens at
 * off[i] .. off[i] + n[i] - 1. */
typedef struct {
    int B;
    sja_seq *seq;
    size_t *row;
    int *n, *off;
    double *score, *gold;
    int *parsed; /* the sampled score, INT_MIN when the completion is malformed */
    size_t n_tok;
    double *old_lp, *ref_lp, *value, *reward, *adv, *ret;
} rollouts;

static void rollouts_free(rollouts *r)
{
    if (r->seq)
        for (int i = 0; i < r->B; i++)
            sja_seq_free(&r->seq[i]);
    free(r->seq);
    free(r->row);
    free(r->n);
    free(r->off);
    free(r->score);
    free(r->gold);
    free(r->parsed);
    free(r->old_lp);
    free(r->ref_lp);
    free(r->value);
    free(r->reward);
    free(r->adv);
    free(r->ret);
    memset(r, 0, sizeof *r);
}

/* The models of a PPO run. */
typedef struct {
    sj_lm *policy, *ref, *value_lm;
    float *value_head, *value_head_grad;
    sja_reward_model *rm;
    const sja_codec *codec;
    const sj_instrument *ins;
    const sj_responses *data;
    const sja_truth *truth;
    const sja_ppo_opts *o;
} ppo_ctx;

static sj_status generate(ppo_ctx *c, gsl_rng *rng, rollouts *r, sj_error *err)
{
    const sj_table *t = c->data->table;
    int B = c->o->batch;
    r->B = B;
    r->seq = sj_calloc((size_t)B, sizeof *r->seq);
    r->row = sj_calloc((size_t)B, sizeof *r->row);
    r->n = sj_calloc((size_t)B, sizeof *r->n);
    r->off = sj_calloc((size_t)B, sizeof *r->off);
    r->score = sj_calloc((size_t)B, sizeof *r->score);
    r->gold = sj_calloc((size_t)B, sizeof *r->gold);
    r->parsed = sj_calloc((size_t)B, sizeof *r->parsed);
    int32_t *gen = malloc((size_t)(c->codec->ctx + 1) * sizeof *gen);
    sj_status st = (r->seq && r->row && r->n && r->off && r->score && r->gold && r->parsed && gen)
                       ? SJ_OK
                       : sj_error_set(err, SJ_ERR_WORK, "out of memory");
    for (int i = 0; i < B && st == SJ_OK; i++) {
        size_t row = (size_t)gsl_rng_uniform_int(rng, t->n_rows);
        r->row[i] = row;
        size_t item = c->data->item_index[row];
        sja_seq bare, prompt;
        int reserve = c->codec->max_completion + 1; /* + 1: the value and reward heads read eos */
        st = sja_encode_prompt(c->codec, c->ins, item,
                               sj_table_cell(t, row, (size_t)c->data->col_text), reserve, &bare,
                               err);
        /* The fixed "score: " of the format is part of the query, so the
         * policy's actions are the score and what follows it. */
        if (st == SJ_OK) {
            st = sja_seq_append(&bare, c->codec->prefix, (int)c->codec->n_prefix, &prompt, err);
            prompt.prompt_len = prompt.len;
            sja_seq_free(&bare);
        }
        if (st != SJ_OK)
            break;
        int max_new = c->codec->rationale ? c->codec->ctx - prompt.len
                                          : c->codec->max_completion - (int)c->codec->n_prefix;
        sj_lm_sample_opts so = {.temperature = (float)c->o->temperature,
                                .top_k = 0,
                                .max_new = max_new,
                                .stop = SJ_TOK_EOS};
        int n_out = 0;
        st = sj_lm_generate(c->policy, prompt.tokens, prompt.len, &so, rng, gen, NULL, &n_out, err);
        if (st == SJ_OK && n_out < 1)
            st = sj_error_set(err, SJ_ERR_WORK, "the policy generated nothing for a prompt");
        if (st == SJ_OK)
            st = sja_seq_append(&prompt, gen, n_out, &r->seq[i], err);
        sja_seq_free(&prompt);
        r->n[i] = n_out;
        r->off[i] = (int)r->n_tok;
        r->n_tok += (size_t)n_out;
    }
    free(gen);
    return st;
}

/* Per-token log-probs of the completions (flat) at the PPO temperature.
 * With `keep`, the batch stays for a backward pass. */
static sj_status completion_logprobs(sj_lm *m, const rollouts *r, const int *idx, int n,
                                     double temperature, double *out, sj_lm_batch **keep,
                                     sj_error *err)
{
    const sja_seq **seqs = malloc((size_t)n * sizeof *seqs);
    if (!seqs)
        return sj_error_set(err, SJ_ERR_WORK, "out of memory");
    for (int b = 0; b < n; b++)
        seqs[b] = &r->seq[idx[b]];
    sj_lm_batch *batch = NULL;
    sj_status st = sja_batch_build(seqs, n, SJA_W_COMPLETION, 0, &batch, NULL, err);
    float *lp = st == SJ_OK ? malloc((size_t)batch->B * batch->T * sizeof *lp) : NULL;
    if (st == SJ_OK && !lp)
        st = sj_error_set(err, SJ_ERR_WORK, "out of memory");
    if (st == SJ_OK) {
        sj_lm_forward_io io = {.temperature = (float)temperature, .logprobs = lp};
        st = sj_lm_forward(m, batch, &io, err);
    }
    for (int b = 0; b < n && st == SJ_OK; b++) {
        int i = idx[b], p0 = r->seq[i].prompt_len - 1;
        for (int t = 0; t < r->n[i]; t++)
            out[r->off[i] + t] = lp[(size_t)b * batch->T + (size_t)(p0 + t)];
    }
    free(lp);
    free(seqs);
    if (keep && st == SJ_OK)
        *keep = batch;
    else
        sj_lm_batch_free(batch);
    return st;
}

/* Value of the state before each completion token: the value model's
 * final hidden state at that position through the value head, all
 * positions of a rollout read from one forward pass. With `keep`, the
 * batch and the hidden states ([n x batch->T x embd]) stay for the
 * backward pass. */
static sj_status completion_values(ppo_ctx *c, const rollouts *r, const int *idx, int n,
                                   double *out, sj_lm_batch **keep, float **hidden_keep,
                                   sj_error *err)
{
    int embd = c->value_lm->cfg.embd;
    const sja_seq **seqs = malloc((size_t)n * sizeof *seqs);
    sj_lm_batch *batch = NULL;
    float *hidden = NULL;
    sj_status st = seqs ? SJ_OK : sj_error_set(err, SJ_ERR_WORK, "out of memory");
    for (int b = 0; b < n && st == SJ_OK; b++)
        seqs[b] = &r->seq[idx[b]];
    if (st == SJ_OK)
        st = sja_batch_build(seqs, n, SJA_W_NONE, 0, &batch, NULL, err);
    if (st == SJ_OK) {
        hidden = malloc((size_t)n * batch->T * embd * sizeof *hidden);
        if (!hidden)
            st = sj_error_set(err, SJ_ERR_WORK, "out of memory");
    }
    if (st == SJ_OK) {
        sj_lm_forward_io io = {.temperature = 1.0f, .hidden_all = hidden};
        st = sj_lm_forward(c->value_lm, batch, &io, err);
    }
    for (int b = 0; b < n && st == SJ_OK; b++) {
        int i = idx[b], p0 = r->seq[i].prompt_len - 1;
        for (int t = 0; t < r->n[i]; t++)
            out[r->off[i] + t] = sja_head_apply(
                c->value_head, hidden + ((size_t)b * batch->T + (size_t)(p0 + t)) * embd, embd);
    }
    free(seqs);
    if (keep && st == SJ_OK) {
        *keep = batch;
        *hidden_keep = hidden;
    } else {
        sj_lm_batch_free(batch);
        free(hidden);
    }
    return st;
}

static sj_status score_rollouts(ppo_ctx *c, rollouts *r, sj_error *err)
{
    sj_status st = sja_reward_score(c->rm, r->seq, (size_t)r->B, 32, r->score, err);
    if (st != SJ_OK)
        return st;
    const sj_tokenizer *tok = c->codec->tok;
    const sj_table *t = c->data->table;
    double worst = (double)(c->codec->score_max - c->codec->score_min);
    for (int i = 0; i < r->B; i++) {
        int n = r->n[i];
        const int32_t *gen = r->seq[i].tokens + r->seq[i].prompt_len;
        int ends = n > 0 && gen[n - 1] == SJ_TOK_EOS;
        size_t len = 0;
        char *digits = sj_tokenizer_decode(tok, gen, (size_t)(ends ? n - 1 : n), &len, err);
        if (!digits)
            return err ? err->status : SJ_ERR_WORK;
        char *text = sj_asprintf("score: %s", digits);
        free(digits);
        if (!text)
            return sj_error_set(err, SJ_ERR_WORK, "out of memory");
        int s;
        if (ends && sja_parse_completion(text, c->codec->score_min, c->codec->score_max, &s) == 0) {
            r->parsed[i] = s;
        } else {
            /* A malformed completion gets a fixed low score, so the policy
             * cannot chase the reward model outside the format it knows. */
            r->parsed[i] = INT_MIN;
            r->score[i] = c->o->malformed_penalty;
        }
        free(text);
        r->gold[i] = NAN;
        if (c->truth) {
            double truth =
                sja_truth_lookup(c->truth, sj_table_cell(t, r->row[i], (size_t)c->data->col_person),
                                 c->data->item_index[r->row[i]]);
            if (!isnan(truth))
                r->gold[i] = r->parsed[i] == INT_MIN ? -worst : -fabs((double)r->parsed[i] - truth);
        }
    }
    return SJ_OK;
}

typedef struct {
    double pg_loss, vf_loss, clipfrac, vf_clipfrac, approxkl, ratio, ratio_sq;
    double n_tok, n_updates;
} update_stats;

static sj_status update_minibatch(ppo_ctx *c, sj_adamw *popt, sj_adamw *vopt, sj_adamw *hopt,
                                  const rollouts *r, const int *idx, int n, double *lp_new,
                                  double *v_new, update_stats *s, double *lr_used, sj_error *err)
{
    const sja_ppo_opts *o = c->o;
    sj_lm_batch *pb = NULL, *vb = NULL;
    float *hidden = NULL, *dlp = NULL, *dh = NULL;
    int embd = c->value_lm->cfg.embd;
    double n_tok = 0;
    for (int b = 0; b < n; b++)
        n_tok += r->n[idx[b]];
    sj_status st = completion_logprobs(c->policy, r, idx, n, o->temperature, lp_new, &pb, err);
    if (st == SJ_OK) {
        dlp = sj_calloc((size_t)pb->B * pb->T, sizeof *dlp);
        if (!dlp)
            st = sj_error_set(err, SJ_ERR_WORK, "out of memory");
    }
    for (int b = 0; b < n && st == SJ_OK; b++) {
        int i = idx[b], p0 = r->seq[i].prompt_len - 1;
        for (int t = 0; t < r->n[i]; t++) {
            int k = r->off[i] + t, clipped;
            double d;
            s->pg_loss += sja_ppo_policy_loss(lp_new[k], r->old_lp[k], r->adv[k], o->cliprange, &d,
                                              &clipped) /
                          n_tok;
            s->clipfrac += clipped / n_tok;
            double diff = lp_new[k] - r->old_lp[k], ratio = exp(diff);
            s->approxkl += 0.5 * diff * diff / n_tok;
            s->ratio += ratio / n_tok;
            s->ratio_sq += ratio * ratio / n_tok;
            dlp[(size_t)b * pb->T + (size_t)(p0 + t)] = (float)(d / n_tok);
        }
    }
    if (st == SJ_OK) {
        sj_lm_zero_grad(c->policy);
        st = sj_lm_backward(c->policy, pb, dlp, NULL, err);
    }
    if (st == SJ_OK)
        *lr_used = sj_lm_adamw_step(popt, c->policy);
    if (st == SJ_OK)
        st = completion_values(c, r, idx, n, v_new, &vb, &hidden, err);
    if (st == SJ_OK) {
        dh = sj_calloc((size_t)vb->B * vb->T * embd, sizeof *dh);
        if (!dh)
            st = sj_error_set(err, SJ_ERR_WORK, "out of memory");
    }
    if (st == SJ_OK) {
        float *hg = c->value_head_grad;
        memset(hg, 0, (size_t)(embd + 1) * sizeof *hg);
        for (int b = 0; b < n; b++) {
            int i = idx[b], p0 = r->seq[i].prompt_len - 1;
            for (int t = 0; t < r->n[i]; t++) {
                int k = r->off[i] + t, clipped;
                double d;
                s->vf_loss += sja_ppo_value_loss(v_new[k], r->value[k], r->ret[k],
                                                 o->cliprange_value, &d, &clipped) /
                              n_tok;
                s->vf_clipfrac += clipped / n_tok;
                d *= o->vf_coef / n_tok;
                size_t at = ((size_t)b * vb->T + (size_t)(p0 + t)) * embd;
                const float *h = hidden + at;
                for (int e = 0; e < embd; e++) {
                    hg[e] += (float)(d * h[e]);
                    dh[at + e] = (float)(d * c->value_head[e]);
                }
                hg[embd] += (float)d;
            }
        }
        sj_lm_zero_grad(c->value_lm);
        st = sj_lm_backward_all(c->value_lm, vb, NULL, dh, err);
    }
    if (st == SJ_OK) {
        double lr = sj_lm_adamw_step(vopt, c->value_lm);
        double norm = sqrt(sj_grad_sq_norm(c->value_head_grad, (size_t)embd + 1));
        if (norm > 1.0)
            sj_grad_scale(c->value_head_grad, (size_t)embd + 1, (float)(1.0 / norm));
        sj_adamw_update(hopt, c->value_head, c->value_head_grad, NULL, lr);
        s->n_tok += n_tok;
        s->n_updates += 1;
    }
    sj_lm_batch_free(pb);
    sj_lm_batch_free(vb);
    free(hidden);
    free(dlp);
    free(dh);
    return st;
}

/* Rewards, GAE and whitened advantages of a batch (TRL's order). */
static void advantages(const ppo_ctx *c, double beta, rollouts *r)
{
    for (int i = 0; i < r->B; i++) {
        size_t k = (size_t)r->off[i], n = (size_t)r->n[i];
        sja_kl_rewards(r->old_lp + k, r->ref_lp + k, n, beta, r->score[i], r->reward + k);
        sja_gae(r->reward + k, r->value + k, n, c->o->gamma, c->o->lambda, r->adv + k, r->ret + k);
    }
    sja_whiten(r->adv, r->n_tok, 0);
}

typedef struct {
    size_t n;
    char **label;  /* sorted distinct group labels */
    char **metric; /* "group/<label>/mean_score" */
} group_names;

static void group_names_free(group_names *g)
{
    for (size_t i = 0; i < g->n; i++) {
        free(g->label[i]);
        free(g->metric[i]);
    }
    free(g->label);
    free(g->metric);
}

static int compare_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static sj_status collect_groups(const sj_responses *d, group_names *g, sj_error *err)
{
    memset(g, 0, sizeof *g);
    if (d->col_group < 0)
        return SJ_OK;
    const sj_table *t = d->table;
    g->label = sj_calloc(t->n_rows + 1, sizeof *g->label);
    g->metric = sj_calloc(t->n_rows + 1, sizeof *g->metric);
    if (!g->label || !g->metric)
        return sj_error_set(err, SJ_ERR_WORK, "out of memory");
    for (size_t r = 0; r < t->n_rows; r++) {
        const char *lab = sj_table_cell(t, r, (size_t)d->col_group);
        int seen = 0;
        for (size_t i = 0; i < g->n && !seen; i++)
            seen = strcmp(g->label[i], lab) == 0;
        if (!seen && g->n < 64)
            g->label[g->n++] = sj_strdup(lab);
    }
    qsort(g->label, g->n, sizeof *g->label, compare_str);
    for (size_t i = 0; i < g->n; i++)
        g->metric[i] = sj_asprintf("group/%s/mean_score", g->label[i]);
    return SJ_OK;
}

static double mean_of(const double *x, int n)
{
    double s = 0.0;
    int k = 0;
    for (int i = 0; i < n; i++)
        if (!isnan(x[i])) {
            s += x[i];
            k++;
        }
    return k ? s / k : NAN;
}

/* Everything of one PPO step: rollouts, scores, advantages, updates, and
 * the metrics of the step in `mt` (returns how many). */
static sj_status ppo_step(ppo_ctx *c, gsl_rng *rng, sj_adamw *popt, sj_adamw *vopt, sj_adamw *hopt,
                          double *beta, const group_names *groups, sj_lm_metric *mt, size_t *n_mt,
                          int *stop, sj_error *err)
{
    const sja_ppo_opts *o = c->o;
    double t0 = sj_now();
    rollouts r = {0};
    sj_status st = generate(c, rng, &r, err);
    int *all = malloc((size_t)o->batch * sizeof *all);
    double *lp_new = NULL, *v_new = NULL;
    if (st == SJ_OK) {
        size_t nt = r.n_tok ? r.n_tok : 1;
        r.old_lp = malloc(nt * sizeof(double));
        r.ref_lp = malloc(nt * sizeof(double));
        r.value = malloc(nt * sizeof(double));
        r.reward = malloc(nt * sizeof(double));
        r.adv = malloc(nt * sizeof(double));
        r.ret = malloc(nt * sizeof(double));
        lp_new = malloc(nt * sizeof(double));
        v_new = malloc(nt * sizeof(double));
        if (!all || !r.old_lp || !r.ref_lp || !r.value || !r.reward || !r.adv || !r.ret ||
            !lp_new || !v_new)
            st = sj_error_set(err, SJ_ERR_WORK, "out of memory");
        for (int i = 0; all && i < o->batch; i++)
            all[i] = i;
    }
    if (st == SJ_OK)
        st = completion_logprobs(c->policy, &r, all, r.B, o->temperature, r.old_lp, NULL, err);
    if (st == SJ_OK)
        st = completion_logprobs(c->ref, &r, all, r.B, o->temperature, r.ref_lp, NULL, err);
    if (st == SJ_OK)
        st = completion_values(c, &r, all, r.B, r.value, NULL, NULL, err);
    if (st == SJ_OK)
        st = score_rollouts(c, &r, err);
    double kl = 0.0, entropy = 0.0, non_score = 0.0;
    if (st == SJ_OK) {
        for (int i = 0; i < r.B; i++)
            for (int t = 0; t < r.n[i]; t++) {
                size_t k = (size_t)(r.off[i] + t);
                kl += (r.old_lp[k] - r.ref_lp[k]) / r.B;
                entropy += -r.old_lp[k] / r.B;
            }
        non_score = -*beta * kl;
        if (kl > o->kl_stop)
            *stop = 1;
    }
    update_stats s = {0};
    double lr = 0.0;
    for (int e = 0; st == SJ_OK && !*stop && e < o->epochs; e++) {
        if (e == 0)
            advantages(c, *beta, &r);
        size_t *perm = sja_permutation(rng, (size_t)r.B);
        if (!perm) {
            st = sj_error_set(err, SJ_ERR_WORK, "out of memory");
            break;
        }
        for (int start = 0; start < r.B && st == SJ_OK; start += o->minibatch) {
            int n = r.B - start < o->minibatch ? r.B - start : o->minibatch;
            int idx[1024];
            for (int b = 0; b < n; b++)
                idx[b] = (int)perm[start + b];
            st = update_minibatch(c, popt, vopt, hopt, &r, idx, n, lp_new, v_new, &s, &lr, err);
        }
        free(perm);
    }
    size_t k = 0;
    if (st == SJ_OK) {
        double u = s.n_updates > 0 ? s.n_updates : NAN;
        double scores = mean_of(r.score, r.B), gold = mean_of(r.gold, r.B);
        double valid = 0.0;
        for (int i = 0; i < r.B; i++)
            valid += (r.parsed[i] != INT_MIN) / (double)r.B;
        mt[k++] = (sj_lm_metric){"loss", (s.pg_loss + o->vf_coef * s.vf_loss) / u};
        mt[k++] = (sj_lm_metric){"lr", lr};
        mt[k++] = (sj_lm_metric){"tokens_per_s", 0};
        mt[k++] = (sj_lm_metric){"objective/kl", kl};
        mt[k++] = (sj_lm_metric){"objective/kl_coef", *beta};
        mt[k++] = (sj_lm_metric){"objective/entropy", entropy};
        mt[k++] = (sj_lm_metric){"objective/non_score_reward", non_score};
        mt[k++] = (sj_lm_metric){"objective/rlhf_reward", scores + non_score};
        mt[k++] = (sj_lm_metric){"objective/scores", scores};
        mt[k++] = (sj_lm_metric){"policy/approxkl_avg", s.approxkl / u};
        mt[k++] = (sj_lm_metric){"policy/clipfrac_avg", s.clipfrac / u};
        mt[k++] = (sj_lm_metric){"loss/policy_avg", s.pg_loss / u};
        mt[k++] = (sj_lm_metric){"loss/value_avg", s.vf_loss / u};
        mt[k++] = (sj_lm_metric){"val/clipfrac_avg", s.vf_clipfrac / u};
        mt[k++] = (sj_lm_metric){"val/ratio", s.ratio / u};
        mt[k++] = (sj_lm_metric){"val/ratio_var", s.ratio_sq / u - (s.ratio / u) * (s.ratio / u)};
        mt[k++] = (sj_lm_metric){"val/valid_completions", valid};
        if (c->truth)
            mt[k++] = (sj_lm_metric){"gold/scores", gold};
        for (size_t g = 0; g < groups->n; g++) {
            double sum = 0.0;
            int cnt = 0;
            for (int i = 0; i < r.B; i++) {
                const char *lab =
                    sj_table_cell(c->data->table, r.row[i], (size_t)c->data->col_group);
                if (r.parsed[i] != INT_MIN && strcmp(lab, groups->label[g]) == 0) {
                    sum += r.parsed[i];
                    cnt++;
                }
            }
            mt[k++] = (sj_lm_metric){groups->metric[g], cnt ? sum / cnt : NAN};
        }
        double dt = sj_now() - t0;
        mt[2].value = (double)r.n_tok * (1 + o->epochs) / dt;
        mt[k++] = (sj_lm_metric){"time_s", dt};
        if (o->kl_target > 0) {
            sja_kl_control ctl = {*beta, o->kl_target, o->kl_horizon};
            sja_kl_control_update(&ctl, kl, (double)r.B);
            *beta = ctl.value;
        }
    }
    *n_mt = k;
    free(all);
    free(lp_new);
    free(v_new);
    rollouts_free(&r);
    return st;
}

/* Appends the fixed evaluation set's figures to a step's metrics. */
static sj_status add_eval_metrics(ppo_ctx *c, sja_ppo_eval *ev, sj_lm_metric *mt, size_t *n_mt,
                                  sja_ppo_eval_result *res, sj_error *err)
{
    sj_status st = sja_ppo_eval_run(ev, c->policy, c->codec, res, err);
    if (st != SJ_OK)
        return st;
    mt[(*n_mt)++] = (sj_lm_metric){"eval/reward", res->reward};
    mt[(*n_mt)++] = (sj_lm_metric){"eval/kl", res->kl};
    if (c->truth) {
        mt[(*n_mt)++] = (sj_lm_metric){"gold/eval", res->gold};
        mt[(*n_mt)++] = (sj_lm_metric){"gold/eval_exact", res->gold_exact};
    }
    return SJ_OK;
}

static void add_eval_result(cJSON *res, const char *when, const sja_ppo_eval_result *e)
{
    char key[64];
    snprintf(key, sizeof key, "%s_eval_reward", when);
    sj_json_add_number(res, key, e->reward);
    snprintf(key, sizeof key, "%s_eval_kl", when);
    sj_json_add_number(res, key, e->kl);
    snprintf(key, sizeof key, "%s_gold_eval", when);
    sj_json_add_number(res, key, e->gold);
    snprintf(key, sizeof key, "%s_gold_eval_exact", when);
    sj_json_add_number(res, key, e->gold_exact);
}

static cJSON *options_json(const sja_ppo_opts *o)
{
    cJSON *oj = cJSON_CreateObject();
    cJSON_AddNumberToObject(oj, "steps", (double)o->steps);
    cJSON_AddNumberToObject(oj, "batch", o->batch);
    cJSON_AddNumberToObject(oj, "minibatch", o->minibatch);
    cJSON_AddNumberToObject(oj, "epochs", o->epochs);
    cJSON_AddNumberToObject(oj, "lr", o->lr);
    cJSON_AddNumberToObject(oj, "temperature", o->temperature);
    cJSON_AddNumberToObject(oj, "kl_coef", o->kl_coef);
    cJSON_AddNumberToObject(oj, "kl_target", o->kl_target);
    cJSON_AddNumberToObject(oj, "kl_stop", o->kl_stop);
    cJSON_AddNumberToObject(oj, "cliprange", o->cliprange);
    cJSON_AddNumberToObject(oj, "cliprange_value", o->cliprange_value);
    cJSON_AddNumberToObject(oj, "vf_coef", o->vf_coef);
    cJSON_AddNumberToObject(oj, "gamma", o->gamma);
    cJSON_AddNumberToObject(oj, "lambda", o->lambda);
    cJSON_AddNumberToObject(oj, "seed", (double)o->seed);
    cJSON_AddNumberToObject(oj, "eval_every", (double)o->eval_every);
    cJSON_AddNumberToObject(oj, "eval_size", (double)o->eval_size);
    return oj;
}

/* What a PPO run carries from step to step besides the policy, its
 * optimizer and the random stream. */
typedef struct {
    double beta, first_gold, last_gold, last_kl, first_score, last_score;
} ppo_numbers;

static const char *const NUMBER_NAMES[6] = {"beta",    "first_gold",  "last_gold",
                                            "last_kl", "first_score", "last_score"};

static void number_slots(ppo_numbers *n, double **v)
{
    v[0] = &n->beta;
    v[1] = &n->first_gold;
    v[2] = &n->last_gold;
    v[3] = &n->last_kl;
    v[4] = &n->first_score;
    v[5] = &n->last_score;
}

/* The value model, its head and their optimizers as state tensors. */
static void state_tensors(ppo_ctx *c, sj_adamw *vopt, sj_adamw *hopt, sj_lm_tensor *t)
{
    size_t nv = c->value_lm->n_params, nh = hopt->n;
    t[0] = (sj_lm_tensor){"resume.value.params", 1, nv, 0, c->value_lm->params};
    t[1] = (sj_lm_tensor){"resume.value.adam.m", 1, nv, 0, vopt->m};
    t[2] = (sj_lm_tensor){"resume.value.adam.v", 1, nv, 0, vopt->v};
    t[3] = (sj_lm_tensor){"resume.value_head", 1, nh, 0, c->value_head};
    t[4] = (sj_lm_tensor){"resume.value_head.adam.m", 1, nh, 0, hopt->m};
    t[5] = (sj_lm_tensor){"resume.value_head.adam.v", 1, nh, 0, hopt->v};
}

static sj_status save_stopped(const char *out, const sja_stage_state *ss, ppo_ctx *c,
                              sj_adamw *vopt, sj_adamw *hopt, ppo_numbers *n, sj_error *err)
{
    sj_lm_tensor t[6];
    state_tensors(c, vopt, hopt, t);
    double *v[6];
    number_slots(n, v);
    cJSON *numbers = cJSON_CreateObject();
    for (int k = 0; k < 6; k++)
        sj_json_add_number(numbers, NUMBER_NAMES[k], *v[k]);
    sj_status st = sja_checkpoint_save(out, ss, numbers, t, 6, err);
    cJSON_Delete(numbers);
    return st;
}

static sj_status resume(const char *out, sja_stage_state *ss, ppo_ctx *c, sj_adamw *vopt,
                        sj_adamw *hopt, ppo_numbers *n, sj_error *err)
{
    sj_lm_checkpoint *ck = NULL;
    sj_status st = sja_checkpoint_resume(out, ss, &ck, err);
    if (ck) {
        sj_lm_tensor t[6];
        state_tensors(c, vopt, hopt, t);
        for (int k = 0; k < 6 && st == SJ_OK; k++)
            st = sja_resume_tensor(ck, t[k].name, t[k].data, t[k].cols, err);
        /* the three optimizers update together, once per minibatch */
        vopt->step = hopt->step = ss->opt->step;
        double *v[6];
        number_slots(n, v);
        for (int k = 0; k < 6; k++)
            *v[k] = sja_resume_number(ck, NUMBER_NAMES[k]);
    }
    sj_lm_checkpoint_free(ck);
    return st;
}

sj_status sja_ppo(sja_model *policy, sja_reward_model *rm, const sj_instrument *ins,
                  const char *instrument_path, const sj_responses *data, const char *data_path,
                  const sja_truth *truth, const sja_ppo_opts *o, const char *out, cJSON **summary,
                  sj_error *err)
{
    if (!sja_same_tokenizer(policy, rm->base))
        return sj_error_set(err, SJ_ERR_INPUT,
                            "the reward model %s has a different tokenizer from the policy %s; "
                            "train the reward model from this policy",
                            rm->base->path, policy->path);
    if (o->minibatch > 1024 || o->minibatch < 1 || o->batch < 1)
        return sj_error_set(err, SJ_ERR_INPUT, "minibatch must be 1..1024 and batch >= 1");
    int embd = rm->base->ck->model->cfg.embd;
    ppo_ctx c = {.policy = policy->ck->model,
                 .rm = rm,
                 .codec = &policy->codec,
                 .ins = ins,
                 .data = data,
                 .truth = truth,
                 .o = o};
    sj_lm_log log;
    sj_lm_log_init(&log);
    group_names groups = {0};
    c.ref = sj_lm_copy(c.policy, err);
    c.value_lm = c.ref ? sj_lm_copy(rm->base->ck->model, err) : NULL;
    c.value_head = malloc((size_t)(embd + 1) * sizeof *c.value_head);
    c.value_head_grad = malloc((size_t)(embd + 1) * sizeof *c.value_head_grad);
    sj_adamw_config pcfg = sj_adamw_defaults();
    pcfg.lr = o->lr;
    pcfg.warmup = 0;
    pcfg.total_steps = 0; /* constant learning rate, as TRL's PPO default */
    sj_adamw *popt = sj_adamw_new(c.policy->n_params, &pcfg);
    sj_adamw *vopt = c.value_lm ? sj_adamw_new(c.value_lm->n_params, &pcfg) : NULL;
    pcfg.weight_decay = 0.0;
    sj_adamw *hopt = sj_adamw_new((size_t)embd + 1, &pcfg);
    gsl_rng *rng = sj_rng_new(sj_seed_derive(o->seed, "ppo"));
    sj_status st =
        (c.ref && c.value_lm && c.value_head && c.value_head_grad && popt && vopt && hopt && rng)
            ? SJ_OK
            : sj_error_set(err, SJ_ERR_WORK, "out of memory");
    if (st == SJ_OK) {
        /* The value head starts as the reward head on the normalised scale. */
        for (int e = 0; e < embd; e++)
            c.value_head[e] = (float)(rm->head[e] / rm->norm_sd);
        c.value_head[embd] = (float)((rm->head[embd] - rm->norm_mean) / rm->norm_sd);
        st = collect_groups(data, &groups, err);
    }
    sj_lm_metric *mt = malloc((groups.n + 40) * sizeof *mt);
    if (st == SJ_OK && !mt)
        st = sj_error_set(err, SJ_ERR_WORK, "out of memory");
    /* The fixed evaluation set, measured before training as step 0. */
    sja_ppo_eval *ev = NULL;
    sja_ppo_eval_result ev_first = {NAN, NAN, NAN, NAN}, ev_last = ev_first;
    if (st == SJ_OK && o->eval_every > 0) {
        ev = sja_ppo_eval_new(c.policy, c.codec, rm, ins, data, truth, (size_t)o->eval_size,
                              o->seed, err);
        size_t n0 = 0;
        st = ev ? add_eval_metrics(&c, ev, mt, &n0, &ev_first, err)
                : (err ? err->status : SJ_ERR_WORK);
        /* a resumed run has this line in the log it restores */
        if (st == SJ_OK && !o->run.resume)
            st = sj_lm_log_append(&log, 0, mt, n0, err);
        ev_last = ev_first;
    }
    ppo_numbers num = {o->kl_coef, NAN, NAN, NAN, NAN, NAN};
    double beta = o->kl_coef;
    long done = 0;
    int stop = 0;
    double first_gold = NAN, last_gold = NAN, last_kl = NAN, first_score = NAN, last_score = NAN;
    cJSON *options = options_json(o);
    cJSON_AddNumberToObject(options, "kl_horizon", o->kl_horizon);
    cJSON_AddNumberToObject(options, "malformed_penalty", o->malformed_penalty);
    cJSON_AddStringToObject(options, "reward_weights_sha256", rm->base->weights_sha256);
    sja_options_add_input(options, "data_sha256", data_path);
    sja_stage_state ss = {.stage = "ppo",
                          .init = policy,
                          .instrument_path = instrument_path,
                          .rationale = policy->codec.rationale,
                          .options = options,
                          .steps = o->steps,
                          .model = c.policy,
                          .opt = popt,
                          .rng = rng,
                          .log = &log};
    long stopped = 0;
    /* The reference and the value model were copied above from the starting
     * policy and the reward model; resuming then restores the trained ones. */
    if (st == SJ_OK && o->run.resume) {
        st = resume(out, &ss, &c, vopt, hopt, &num, err);
        done = ss.done;
        beta = num.beta;
        first_gold = num.first_gold;
        last_gold = num.last_gold;
        last_kl = num.last_kl;
        first_score = num.first_score;
        last_score = num.last_score;
    }
    sj_progress bar;
    sja_progress_start(&bar, "ppo", o->steps, o->quiet);
    if (st == SJ_OK && done > 0)
        sj_progress_update(&bar, done, NULL);
    for (long step = done; step < o->steps && st == SJ_OK && !stop; step++) {
        size_t n_mt = 0;
        st = ppo_step(&c, rng, popt, vopt, hopt, &beta, &groups, mt, &n_mt, &stop, err);
        if (st != SJ_OK)
            break;
        if (ev && ((step + 1) % o->eval_every == 0 || step + 1 == o->steps || stop))
            st = add_eval_metrics(&c, ev, mt, &n_mt, &ev_last, err);
        if (st != SJ_OK)
            break;
        for (size_t k = 0; k < n_mt; k++) {
            if (strcmp(mt[k].name, "gold/scores") == 0)
                last_gold = step == 0 ? (first_gold = mt[k].value) : mt[k].value;
            if (strcmp(mt[k].name, "objective/kl") == 0)
                last_kl = mt[k].value;
            if (strcmp(mt[k].name, "objective/scores") == 0)
                last_score = step == 0 ? (first_score = mt[k].value) : mt[k].value;
        }
        st = sj_lm_log_append(&log, step + 1, mt, n_mt, err);
        if (stop) {
            fprintf(stderr,
                    "sjtalign ppo: stopping early at step %ld: KL to the reference %.4g exceeds "
                    "the bound %.4g (--kl-stop); the policy is saved as it was before this "
                    "step's update\n",
                    step + 1, last_kl, o->kl_stop);
            break;
        }
        done = step + 1;
        char extra[96];
        snprintf(extra, sizeof extra, "score %.3f kl %.3f", last_score, last_kl);
        sj_progress_update(&bar, step + 1, extra);
        if (st == SJ_OK && sja_should_stop(&o->run, done, o->steps)) {
            num = (ppo_numbers){beta, first_gold, last_gold, last_kl, first_score, last_score};
            ss.done = done;
            st = save_stopped(out, &ss, &c, vopt, hopt, &num, err);
            stopped = done;
            bar.total = stopped;
            break;
        }
    }
    sj_progress_finish(&bar, NULL);
    cJSON_Delete(options);
    if (o->run.stopped_at)
        *o->run.stopped_at = stopped;
    cJSON *prov = NULL;
    if (st == SJ_OK && !stopped) {
        prov = sja_provenance_new("ppo", policy, instrument_path);
        cJSON *rj = cJSON_AddObjectToObject(prov, "reward_model");
        cJSON_AddStringToObject(rj, "path", rm->base->path);
        cJSON_AddStringToObject(rj, "weights_sha256", rm->base->weights_sha256);
        sja_provenance_add_file(prov, "data", data_path);
        cJSON_AddBoolToObject(prov, "completion_rationale", policy->codec.rationale);
        cJSON_AddItemToObject(prov, "options", options_json(o));
        cJSON *res = cJSON_AddObjectToObject(prov, "result");
        cJSON_AddNumberToObject(res, "steps_done", (double)done);
        cJSON_AddBoolToObject(res, "stopped_early", stop);
        sj_json_add_number(res, "final_kl", last_kl);
        sj_json_add_number(res, "final_kl_coef", beta);
        sj_json_add_number(res, "first_scores", first_score);
        sj_json_add_number(res, "final_scores", last_score);
        sj_json_add_number(res, "first_gold_scores", first_gold);
        sj_json_add_number(res, "final_gold_scores", last_gold);
        if (ev) {
            cJSON_AddNumberToObject(res, "eval_size", (double)ev->n);
            add_eval_result(res, "first", &ev_first);
            add_eval_result(res, "final", &ev_last);
        }
        if (summary)
            *summary = cJSON_Duplicate(res, 1);
        sj_lm_save_opts so = {.tok = policy->ck->tok, .provenance = prov, .log = &log};
        st = sj_lm_save(out, c.policy, &so, err);
    }
    cJSON_Delete(prov);
    sja_ppo_eval_free(ev);
    free(mt);
    group_names_free(&groups);
    sj_lm_log_free(&log);
    sj_lm_free(c.ref);
    sj_lm_free(c.value_lm);
    free(c.value_head);
    free(c.value_head_grad);
    sj_adamw_free(popt);
    sj_adamw_free(vopt);
    sj_adamw_free(hopt);
    sj_rng_free(rng);
    return st;
}
