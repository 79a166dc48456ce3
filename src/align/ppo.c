/* PPO against a frozen reward model with a per-token KL penalty to a frozen
 * reference copy of the policy (Ziegler et al. 2019; Ouyang et al. 2022),
 * with TRL's conventions and metric names. */
#include "ppo_internal.h"

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
                      .warmup_fraction = 0.0,
                      .value_head_clip = 1.0,
                      .keep_best = 1,
                      .kl_budget = 0.15,
                      .samples_per_prompt = 1,
                      .estimator = SJA_PPO_GAE};
    return o;
}

int sja_ppo_keep_score(double reward, double kl, double budget, double score[2])
{
    if (!(budget > 0)) {
        score[0] = reward;
        score[1] = isnan(reward) ? NAN : -kl;
        return 1;
    }
    int within = kl <= budget;
    score[0] = isnan(reward) || isnan(kl) ? NAN : within;
    score[1] = within ? reward : -kl;
    return within;
}

sj_status ppo_rollouts_alloc(ppo_rollouts *r, int B, int K, size_t n_tok, sj_error *err)
{
    r->B = B;
    r->K = K;
    r->seq = sj_calloc((size_t)B, sizeof *r->seq);
    r->row = sj_calloc((size_t)B, sizeof *r->row);
    r->n = sj_calloc((size_t)B, sizeof *r->n);
    r->off = sj_calloc((size_t)B, sizeof *r->off);
    r->score = sj_calloc((size_t)B, sizeof *r->score);
    r->gold = sj_calloc((size_t)B, sizeof *r->gold);
    r->parsed = sj_calloc((size_t)B, sizeof *r->parsed);
    if (!r->seq || !r->row || !r->n || !r->off || !r->score || !r->gold || !r->parsed)
        return sj_error_set(err, SJ_ERR_WORK, "out of memory");
    /* whole groups: a prompt's rollouts share its query's passes */
    size_t glo, ghi;
    sj_dist_share((size_t)(B / K), &glo, &ghi);
    r->lo = (int)glo * K;
    r->hi = (int)ghi * K;
    r->n_tok = n_tok;
    return n_tok > 0 ? ppo_rollouts_alloc_tokens(r, err) : SJ_OK;
}

sj_status ppo_rollouts_alloc_tokens(ppo_rollouts *r, sj_error *err)
{
    size_t nt = r->n_tok ? r->n_tok : 1;
    r->old_lp = malloc(nt * sizeof(double));
    r->ref_lp = malloc(nt * sizeof(double));
    r->value = malloc(nt * sizeof(double));
    r->reward = malloc(nt * sizeof(double));
    r->adv = malloc(nt * sizeof(double));
    r->ret = malloc(nt * sizeof(double));
    if (!r->old_lp || !r->ref_lp || !r->value || !r->reward || !r->adv || !r->ret)
        return sj_error_set(err, SJ_ERR_WORK, "out of memory");
    return SJ_OK;
}

void ppo_rollouts_free(ppo_rollouts *r)
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

sj_status ppo_encode_query(const ppo_ctx *c, size_t row, sja_seq *query, sj_error *err)
{
    const sj_table *t = c->data->table;
    sja_seq bare;
    int reserve = c->codec->max_completion + 1; /* + 1: the value and reward heads read eos */
    sj_status st =
        sja_encode_prompt(c->codec, c->ins, c->data->item_index[row],
                          sj_table_cell(t, row, (size_t)c->data->col_text), reserve, &bare, err);
    if (st != SJ_OK)
        return st;
    st = sja_seq_append(&bare, c->codec->prefix, (int)c->codec->n_prefix, query, err);
    query->prompt_len = query->len;
    sja_seq_free(&bare);
    return st;
}

/* The general rollouts: each query continued token by token until eos.
 * Every rank draws every prompt from `shared`, and continues those of its
 * share with `sample` (off[] counting from its first rollout). */
static sj_status generate(ppo_ctx *c, gsl_rng *shared, gsl_rng *sample, ppo_rollouts *r,
                          sj_error *err)
{
    const sj_table *t = c->data->table;
    int B = c->o->batch, K = c->o->samples_per_prompt;
    int32_t *gen = malloc((size_t)(c->codec->ctx + 1) * sizeof *gen);
    sj_status st = ppo_rollouts_alloc(r, B, K, 0, err);
    if (st == SJ_OK && !gen)
        st = sj_error_set(err, SJ_ERR_WORK, "out of memory");
    size_t row = 0;
    for (int i = 0; i < B && st == SJ_OK; i++) {
        if (i % K == 0)
            row = (size_t)gsl_rng_uniform_int(shared, t->n_rows);
        r->row[i] = row;
        if (i < r->lo || i >= r->hi)
            continue;
        sja_seq prompt;
        st = ppo_encode_query(c, row, &prompt, err);
        if (st != SJ_OK)
            break;
        int max_new = c->codec->rationale ? c->codec->ctx - prompt.len
                                          : c->codec->max_completion - (int)c->codec->n_prefix;
        sj_lm_sample_opts so = {.temperature = (float)c->o->temperature,
                                .top_k = 0,
                                .max_new = max_new,
                                .stop = SJ_TOK_EOS};
        sja_sample_opts_prior(&prompt, &so);
        int n_out = 0;
        st = sj_lm_generate(c->policy, prompt.tokens, prompt.len, &so, sample, gen, NULL, &n_out,
                            err);
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

int ppo_one_action(const sja_codec *codec)
{
    return codec->single_token_levels && !codec->rationale;
}

/* Per-token log-probs of the completions (flat) at the PPO temperature.
 * With `keep`, the batch stays for a backward pass. */
static sj_status completion_logprobs(sj_lm *m, const ppo_rollouts *r, const int *idx, int n,
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
static sj_status completion_values(ppo_ctx *c, const ppo_rollouts *r, const int *idx, int n,
                                   double *out, sj_lm_batch **keep, float **hidden_keep,
                                   sj_error *err)
{
    if (!c->value_lm) { /* RLOO: no value model, values 0 */
        for (int b = 0; b < n; b++)
            for (int t = 0; t < r->n[idx[b]]; t++)
                out[r->off[idx[b]] + t] = 0.0;
        return SJ_OK;
    }
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

/* The sampled score of each general rollout of this rank's share (INT_MIN
 * when malformed): the completion must end with eos and read "score: k". */
static sj_status parse_generated(const ppo_ctx *c, ppo_rollouts *r, sj_error *err)
{
    const sj_tokenizer *tok = c->codec->tok;
    for (int i = r->lo; i < r->hi; i++) {
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
        int ok =
            ends && sja_parse_completion(text, c->codec->score_min, c->codec->score_max, &s) == 0;
        r->parsed[i] = ok ? s : INT_MIN;
        free(text);
    }
    return SJ_OK;
}

/* The rewards of this rank's share (the malformed penalty where the
 * completion does not parse) and, with a gold judge, minus the distance of
 * the score from the truth. */
static sj_status score_rollouts(ppo_ctx *c, ppo_rollouts *r, int one_action, sj_error *err)
{
    sj_status st = one_action ? ppo_actions_score(c, r, err) : parse_generated(c, r, err);
    if (st == SJ_OK && !one_action && r->hi > r->lo)
        st = sja_reward_score(c->rm, r->seq + r->lo, (size_t)(r->hi - r->lo), 32, r->score + r->lo,
                              err);
    if (st != SJ_OK)
        return st;
    const sj_table *t = c->data->table;
    double worst = (double)(c->codec->score_max - c->codec->score_min);
    for (int i = r->lo; i < r->hi; i++) {
        /* A malformed completion gets a fixed low score, so the policy
         * cannot chase the reward model outside the format it knows. */
        if (r->parsed[i] == INT_MIN)
            r->score[i] = c->o->malformed_penalty;
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

/* The value model's gradient (and its head's, in c->value_head_grad) on
 * this rank's share idx[0..n-1] of a minibatch of n_tok tokens: the
 * clipped value loss at the state before every completion token. */
static sj_status value_grads(ppo_ctx *c, const ppo_rollouts *r, const int *idx, int n, double n_tok,
                             double *v_new, ppo_update_stats *s, sj_error *err)
{
    const sja_ppo_opts *o = c->o;
    int embd = c->value_lm->cfg.embd;
    float *hg = c->value_head_grad;
    sj_lm_zero_grad(c->value_lm);
    memset(hg, 0, (size_t)(embd + 1) * sizeof *hg);
    if (n == 0) /* a rank without a share adds nothing to the sum */
        return SJ_OK;
    sj_lm_batch *vb = NULL;
    float *hidden = NULL, *dh = NULL;
    sj_status st = completion_values(c, r, idx, n, v_new, &vb, &hidden, err);
    if (st == SJ_OK && !(dh = sj_calloc((size_t)vb->B * vb->T * embd, sizeof *dh)))
        st = sj_error_set(err, SJ_ERR_WORK, "out of memory");
    for (int b = 0; b < n && st == SJ_OK; b++) {
        int i = idx[b], p0 = r->seq[i].prompt_len - 1;
        for (int t = 0; t < r->n[i]; t++) {
            int k = r->off[i] + t, clipped;
            double d;
            s->vf_loss += sja_ppo_value_loss(v_new[k], r->value[k], r->ret[k], o->cliprange_value,
                                             &d, &clipped) /
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
    if (st == SJ_OK)
        st = sj_lm_backward_all(c->value_lm, vb, NULL, dh, err);
    sj_lm_batch_free(vb);
    free(hidden);
    free(dh);
    return st;
}

/* The policy's gradient on this rank's share idx[0..n-1] of a minibatch of
 * n_tok tokens: the clipped ratio objective of every completion token. */
static sj_status policy_grads(ppo_ctx *c, const ppo_rollouts *r, const int *idx, int n,
                              double n_tok, double *lp_new, ppo_update_stats *s, sj_error *err)
{
    const sja_ppo_opts *o = c->o;
    sj_lm_zero_grad(c->policy);
    if (n == 0)
        return SJ_OK;
    sj_lm_batch *pb = NULL;
    float *dlp = NULL;
    sj_status st = completion_logprobs(c->policy, r, idx, n, o->temperature, lp_new, &pb, err);
    if (st == SJ_OK && !(dlp = sj_calloc((size_t)pb->B * pb->T, sizeof *dlp)))
        st = sj_error_set(err, SJ_ERR_WORK, "out of memory");
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
    if (st == SJ_OK)
        st = sj_lm_backward(c->policy, pb, dlp, NULL, err);
    sj_lm_batch_free(pb);
    free(dlp);
    return st;
}

void ppo_optimizer_steps(ppo_ctx *c, double *lr_used)
{
    *lr_used = sj_lm_adamw_step(c->popt, c->policy);
    if (c->value_lm) {
        double lr = sj_lm_adamw_step(c->vopt, c->value_lm);
        sja_head_update(c->hopt, c->value_head, c->value_head_grad, c->o->value_head_clip, lr);
    }
}

/* The general rollouts' update gradient on the minibatch idx[0..n-1]:
 * each rank's share of it, the losses normalised by the whole minibatch's
 * tokens, then the one exchange. */
static sj_status minibatch_grads(ppo_ctx *c, const ppo_rollouts *r, const int *idx, int n,
                                 double *lp_new, double *v_new, ppo_update_stats *s, sj_error *err)
{
    double n_tok = 0;
    for (int b = 0; b < n; b++)
        n_tok += r->n[idx[b]];
    size_t lo, hi;
    sj_dist_share((size_t)n, &lo, &hi);
    ppo_update_stats before = *s;
    sj_status st = policy_grads(c, r, idx + lo, (int)(hi - lo), n_tok, lp_new, s, err);
    if (st == SJ_OK && c->value_lm)
        st = value_grads(c, r, idx + lo, (int)(hi - lo), n_tok, v_new, s, err);
    st = ppo_exchange(c, s, &before, st, err);
    if (st == SJ_OK) {
        s->n_tok += n_tok;
        s->n_updates += 1;
    }
    return st;
}

sj_status ppo_update_grads(ppo_ctx *c, const ppo_rollouts *r, const int *units, int n,
                           double *lp_new, double *v_new, ppo_update_stats *s, sj_error *err)
{
    return ppo_one_action(c->codec) ? ppo_actions_grads(c, r, units, n, lp_new, s, err)
                                    : minibatch_grads(c, r, units, n, lp_new, v_new, s, err);
}

/* RLOO's advantage of each rollout: its return (the score and the KL
 * penalties of its tokens) minus the mean return of the other rollouts on
 * its prompt, on every token of the rollout (Ahmadian et al. 2024). */
static void leave_one_out(ppo_rollouts *r)
{
    int K = r->K;
    for (int g = 0; g < r->B / K; g++) {
        double total = 0.0;
        for (int i = g * K; i < (g + 1) * K; i++)
            for (int t = 0; t < r->n[i]; t++)
                total += r->reward[r->off[i] + t];
        for (int i = g * K; i < (g + 1) * K; i++) {
            double own = 0.0;
            for (int t = 0; t < r->n[i]; t++)
                own += r->reward[r->off[i] + t];
            double a = own - (total - own) / (K - 1);
            for (int t = 0; t < r->n[i]; t++) {
                r->adv[r->off[i] + t] = a;
                r->ret[r->off[i] + t] = own;
            }
        }
    }
}

/* Rewards, then GAE (or RLOO's group baseline) and whitened advantages of
 * a batch (TRL's order). */
static void advantages(const ppo_ctx *c, double beta, ppo_rollouts *r)
{
    for (int i = 0; i < r->B; i++) {
        size_t k = (size_t)r->off[i], n = (size_t)r->n[i];
        sja_kl_rewards(r->old_lp + k, r->ref_lp + k, n, beta, r->score[i], r->reward + k);
        if (c->o->estimator == SJA_PPO_GAE)
            sja_gae(r->reward + k, r->value + k, n, c->o->gamma, c->o->lambda, r->adv + k,
                    r->ret + k);
    }
    if (c->o->estimator == SJA_PPO_RLOO)
        leave_one_out(r);
    sja_whiten(r->adv, r->n_tok, 0);
}

static void ppo_group_names_free(ppo_group_names *g)
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

static sj_status collect_groups(const sj_responses *d, ppo_group_names *g, sj_error *err)
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

/* A batch of rollouts with everything the updates need: the sampled
 * completions, their log-probs under the policy and the reference, the
 * values and the scores, each rank computing its share (the prompts drawn
 * from `shared`, the stage's stream, the completions from this rank's
 * sampling stream of the step) and all of it then on every rank; lp_new
 * and v_new are the updates' buffers. */
static sj_status rollout_batch(ppo_ctx *c, gsl_rng *shared, long step, ppo_rollouts *r,
                               double **lp_new, double **v_new, sj_error *err)
{
    const sja_ppo_opts *o = c->o;
    int one_action = ppo_one_action(c->codec);
    gsl_rng *own = NULL;
    sj_status st = ppo_sampling_stream(o->seed, step, &own, err);
    gsl_rng *sample = own ? own : shared;
    if (st == SJ_OK)
        st = one_action
                 ? ppo_rollouts_alloc(r, o->batch, o->samples_per_prompt, (size_t)o->batch, err)
                 : generate(c, shared, sample, r, err);
    if (st == SJ_OK && one_action)
        st = ppo_actions_rollouts(c, shared, sample, r, err);
    else if (st == SJ_OK)
        st = ppo_rollouts_alloc_tokens(r, err);
    int n = r->hi - r->lo;
    int *mine = malloc((size_t)(n > 0 ? n : 1) * sizeof *mine);
    if (st == SJ_OK && !mine)
        st = sj_error_set(err, SJ_ERR_WORK, "out of memory");
    for (int i = 0; mine && i < n; i++)
        mine[i] = r->lo + i;
    /* one action per rollout: the log-probabilities and values came with the draw */
    int passes = st == SJ_OK && !one_action && n > 0;
    if (passes)
        st = completion_logprobs(c->policy, r, mine, n, o->temperature, r->old_lp, NULL, err);
    if (passes && st == SJ_OK)
        st = completion_logprobs(c->ref, r, mine, n, o->temperature, r->ref_lp, NULL, err);
    if (passes && st == SJ_OK)
        st = completion_values(c, r, mine, n, r->value, NULL, NULL, err);
    if (st == SJ_OK)
        st = score_rollouts(c, r, one_action, err);
    free(mine);
    sj_rng_free(own);
    st = ppo_rollouts_gather(c, r, st, err);
    size_t nt = r->n_tok ? r->n_tok : 1;
    *lp_new = malloc(nt * sizeof(double));
    *v_new = malloc(nt * sizeof(double));
    if (st == SJ_OK && (!*lp_new || !*v_new))
        st = sj_error_set(err, SJ_ERR_WORK, "out of memory");
    return st;
}

/* The epochs of updates over a batch, in shuffled minibatches; with one
 * action per rollout, minibatches of whole groups (a prompt's rollouts
 * share its forward and backward pass). */
static sj_status optimise(ppo_ctx *c, gsl_rng *rng, ppo_rollouts *r, double *lp_new, double *v_new,
                          ppo_update_stats *s, double *lr, sj_error *err)
{
    const sja_ppo_opts *o = c->o;
    int one_action = ppo_one_action(c->codec);
    int units = one_action ? r->B / r->K : r->B;
    int per_update = one_action ? (o->minibatch + r->K - 1) / r->K : o->minibatch;
    sj_status st = SJ_OK;
    advantages(c, c->beta, r);
    for (int e = 0; st == SJ_OK && e < o->epochs; e++) {
        size_t *perm = sja_permutation(rng, (size_t)units);
        if (!perm)
            return sj_error_set(err, SJ_ERR_WORK, "out of memory");
        for (int start = 0; start < units && st == SJ_OK; start += per_update) {
            int n = units - start < per_update ? units - start : per_update;
            int idx[1024];
            for (int b = 0; b < n; b++)
                idx[b] = (int)perm[start + b];
            st = ppo_update_grads(c, r, idx, n, lp_new, v_new, s, err);
            if (st == SJ_OK)
                ppo_optimizer_steps(c, lr);
        }
        free(perm);
    }
    return st;
}

/* Mean parsed score per group in the batch. */
static void add_group_metrics(const ppo_ctx *c, const ppo_rollouts *r, sj_train_line *line)
{
    for (size_t g = 0; g < c->groups.n; g++) {
        double sum = 0.0;
        int cnt = 0;
        for (int i = 0; i < r->B; i++) {
            const char *lab = sj_table_cell(c->data->table, r->row[i], (size_t)c->data->col_group);
            if (r->parsed[i] != INT_MIN && strcmp(lab, c->groups.label[g]) == 0) {
                sum += r->parsed[i];
                cnt++;
            }
        }
        sj_train_line_add(line, c->groups.metric[g], cnt ? sum / cnt : NAN);
    }
}

/* The step's metrics, with TRL's names. */
static void add_step_metrics(const ppo_ctx *c, const ppo_rollouts *r, const ppo_update_stats *s,
                             double kl, double entropy, double lr, sj_train_line *line)
{
    const sja_ppo_opts *o = c->o;
    double u = s->n_updates > 0 ? s->n_updates : NAN;
    double scores = mean_of(r->score, r->B), gold = mean_of(r->gold, r->B);
    double non_score = -c->beta * kl, valid = 0.0;
    for (int i = 0; i < r->B; i++)
        valid += (r->parsed[i] != INT_MIN) / (double)r->B;
    sj_train_line_add(line, "loss", (s->pg_loss + o->vf_coef * s->vf_loss) / u);
    sj_train_line_add(line, "lr", lr);
    sj_train_line_add(line, "tokens_per_s", 0); /* set when the step ends */
    sj_train_line_add(line, "objective/kl", kl);
    sj_train_line_add(line, "objective/kl_coef", c->beta);
    sj_train_line_add(line, "objective/entropy", entropy);
    sj_train_line_add(line, "objective/non_score_reward", non_score);
    sj_train_line_add(line, "objective/rlhf_reward", scores + non_score);
    sj_train_line_add(line, "objective/scores", scores);
    sj_train_line_add(line, "policy/approxkl_avg", s->approxkl / u);
    sj_train_line_add(line, "policy/clipfrac_avg", s->clipfrac / u);
    sj_train_line_add(line, "loss/policy_avg", s->pg_loss / u);
    double v = c->value_lm ? u : NAN; /* RLOO has no value model */
    sj_train_line_add(line, "loss/value_avg", s->vf_loss / v);
    sj_train_line_add(line, "val/clipfrac_avg", s->vf_clipfrac / v);
    sj_train_line_add(line, "val/ratio", s->ratio / u);
    sj_train_line_add(line, "val/ratio_var", s->ratio_sq / u - (s->ratio / u) * (s->ratio / u));
    sj_train_line_add(line, "val/valid_completions", valid);
    if (c->truth)
        sj_train_line_add(line, "gold/scores", gold);
    add_group_metrics(c, r, line);
}

/* The figures carried to the result: first and last batch scores, KL. */
static void track_step(ppo_ctx *c, long step, const ppo_rollouts *r, double kl)
{
    double scores = mean_of(r->score, r->B);
    if (c->truth) {
        c->last_gold = mean_of(r->gold, r->B);
        if (step == 0)
            c->first_gold = c->last_gold;
    }
    c->last_kl = kl;
    c->last_score = scores;
    if (step == 0)
        c->first_score = scores;
}

/* Everything of one PPO step: rollouts, scores, advantages, updates, the
 * adaptive KL coefficient and the metrics. A batch whose KL exceeds
 * kl_stop ends training before its update. */
static sj_status ppo_step(sja_stage *stage, long step, sj_train_line *line, sj_error *err)
{
    ppo_ctx *c = stage->ctx;
    const sja_ppo_opts *o = c->o;
    double t0 = sj_now();
    ppo_rollouts r = {0};
    double *lp_new = NULL, *v_new = NULL, kl = 0.0, entropy = 0.0, lr = 0.0;
    ppo_update_stats s = {0};
    sj_status st = rollout_batch(c, stage->rng, step, &r, &lp_new, &v_new, err);
    if (st == SJ_OK) {
        for (int i = 0; i < r.B; i++)
            for (int t = 0; t < r.n[i]; t++) {
                size_t k = (size_t)(r.off[i] + t);
                kl += (r.old_lp[k] - r.ref_lp[k]) / r.B;
                entropy += -r.old_lp[k] / r.B;
            }
        line->finish = kl > o->kl_stop;
    }
    if (st == SJ_OK && !line->finish)
        st = optimise(c, stage->rng, &r, lp_new, v_new, &s, &lr, err);
    if (st == SJ_OK) {
        add_step_metrics(c, &r, &s, kl, entropy, lr, line);
        double dt = sj_now() - t0;
        if (line->n > 2)
            line->metrics[2].value = (double)r.n_tok * (1 + o->epochs) / dt;
        sj_train_line_add(line, "time_s", dt);
        if (o->kl_target > 0) {
            sja_kl_control ctl = {c->beta, o->kl_target, o->kl_horizon};
            sja_kl_control_update(&ctl, kl, (double)r.B);
            c->beta = ctl.value;
        }
        track_step(c, step, &r, kl);
        snprintf(line->progress, sizeof line->progress, "score %.3f kl %.3f", c->last_score, kl);
    }
    if (st == SJ_OK && line->finish)
        fprintf(stderr,
                "sjtalign ppo: stopping early at step %ld: KL to the reference %.4g exceeds "
                "the bound %.4g (--kl-stop); the policy is saved as it was before this "
                "step's update\n",
                step + 1, kl, o->kl_stop);
    free(lp_new);
    free(v_new);
    ppo_rollouts_free(&r);
    return st;
}

/* The fixed evaluation set; the one before training is the "first".
 * Selection: sja_ppo_keep_score (the best reward within the KL budget). */
static sj_status ppo_evaluate(sja_stage *s, long done, int last, sj_train_line *line,
                              double score[2], sj_error *err)
{
    (void)last;
    ppo_ctx *c = s->ctx;
    sj_status st = sja_ppo_eval_run(c->ev, c->policy, c->codec, &c->ev_last, err);
    if (st != SJ_OK)
        return st;
    if (done == 0)
        c->ev_first = c->ev_last;
    sj_train_line_add(line, "eval/reward", c->ev_last.reward);
    sj_train_line_add(line, "eval/kl", c->ev_last.kl);
    if (c->truth) {
        sj_train_line_add(line, "gold/eval", c->ev_last.gold);
        sj_train_line_add(line, "gold/eval_exact", c->ev_last.gold_exact);
    }
    int within = sja_ppo_keep_score(c->ev_last.reward, c->ev_last.kl, c->o->kl_budget, score);
    c->within_budget += within && !isnan(score[0]);
    return SJ_OK;
}

/* Which evaluation the saved model is and why, in the result ("kept") and
 * as the provenance's keep_best "why"; ev_last and best hold the kept one. */
static void add_kept(sja_stage *s, const ppo_ctx *c, cJSON *res)
{
    const sja_ppo_opts *o = c->o;
    const sj_train_best *b = &s->best;
    int budget = o->kl_budget > 0, n = (int)b->evaluations, within = (int)c->within_budget;
    if (!o->keep_best)
        snprintf(s->kept_why, sizeof s->kept_why,
                 "the last model (--keep-last): no checkpoint was chosen");
    else if (b->step < 0)
        snprintf(s->kept_why, sizeof s->kept_why,
                 "no fixed-set evaluation gave a number (--eval-every 0?): the last model");
    else if (!budget)
        snprintf(s->kept_why, sizeof s->kept_why,
                 "best fixed-set reward among %d evaluations (no KL budget)", n);
    else if (within > 0)
        snprintf(s->kept_why, sizeof s->kept_why,
                 "best fixed-set reward among %d of %d evaluations within the KL budget of %g "
                 "nats",
                 within, n, o->kl_budget);
    else
        snprintf(s->kept_why, sizeof s->kept_why,
                 "no evaluation within the KL budget of %g nats: kept the one with the smallest "
                 "KL among %d evaluations",
                 o->kl_budget, n);
    s->kept_value = c->ev_last.reward;
    cJSON *k = cJSON_AddObjectToObject(res, "kept");
    cJSON_AddStringToObject(k, "rule", o->keep_best ? "best-within-kl-budget" : "last");
    sj_json_add_number(k, "step", o->keep_best && b->step >= 0 ? (double)b->step : (double)s->done);
    sj_json_add_number(k, "eval_reward", c->ev_last.reward);
    sj_json_add_number(k, "eval_kl", c->ev_last.kl);
    sj_json_add_number(k, "kl_budget", budget ? o->kl_budget : NAN);
    cJSON_AddNumberToObject(k, "evaluations", n);
    sj_json_add_number(k, "within_budget", budget ? (double)within : NAN);
    cJSON_AddStringToObject(k, "why", s->kept_why);
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

static sj_status ppo_finish(sja_stage *s, cJSON *prov, cJSON **result, sj_lm_save_opts *so,
                            sj_error *err)
{
    sja_save_opts_lexical(s->init, so);
    (void)err;
    ppo_ctx *c = s->ctx;
    cJSON *rj = cJSON_AddObjectToObject(prov, "reward_model");
    cJSON_AddStringToObject(rj, "path", c->rm->base->path);
    cJSON_AddStringToObject(rj, "weights_sha256", c->rm->base->weights_sha256);
    cJSON *res = cJSON_AddObjectToObject(prov, "result");
    cJSON_AddNumberToObject(res, "steps_done", (double)s->done);
    cJSON_AddBoolToObject(res, "stopped_early", s->finished_early);
    const struct {
        const char *name;
        double value;
    } figures[] = {{"final_kl", c->last_kl},
                   {"final_kl_coef", c->beta},
                   {"first_scores", c->first_score},
                   {"final_scores", c->last_score},
                   {"first_gold_scores", c->first_gold},
                   {"final_gold_scores", c->last_gold}};
    for (size_t k = 0; k < sizeof figures / sizeof *figures; k++)
        sj_json_add_number(res, figures[k].name, figures[k].value);
    if (c->ev) {
        cJSON_AddNumberToObject(res, "eval_size", (double)c->ev->n);
        add_eval_result(res, "first", &c->ev_first);
        add_eval_result(res, "final", &c->ev_last);
    }
    add_kept(s, c, res);
    *result = res;
    return SJ_OK;
}

static cJSON *options_json(const sja_ppo_opts *o)
{
    const struct {
        const char *name;
        double value;
    } options[] = {{"batch", o->batch},
                   {"minibatch", o->minibatch},
                   {"epochs", o->epochs},
                   {"temperature", o->temperature},
                   {"kl_coef", o->kl_coef},
                   {"kl_target", o->kl_target},
                   {"kl_stop", o->kl_stop},
                   {"cliprange", o->cliprange},
                   {"cliprange_value", o->cliprange_value},
                   {"vf_coef", o->vf_coef},
                   {"gamma", o->gamma},
                   {"lambda", o->lambda},
                   {"eval_size", (double)o->eval_size},
                   {"kl_budget", o->kl_budget > 0 ? o->kl_budget : 0},
                   {"samples_per_prompt", o->samples_per_prompt},
                   {"value_head_clip", o->value_head_clip}};
    cJSON *oj = cJSON_CreateObject();
    for (size_t k = 0; oj && k < sizeof options / sizeof *options; k++)
        cJSON_AddNumberToObject(oj, options[k].name, options[k].value);
    if (oj)
        cJSON_AddStringToObject(oj, "estimator", o->estimator == SJA_PPO_RLOO ? "rloo" : "ppo");
    return oj;
}

static void describe(sja_stage *s, ppo_ctx *c, sja_model *policy, const char *instrument_path,
                     const char *data_path, const sja_ppo_opts *o)
{
    sja_stage_identify(s, "ppo", policy, instrument_path, "data", data_path);
    s->options = options_json(o);
    s->resume_extra = cJSON_CreateObject();
    cJSON_AddNumberToObject(s->resume_extra, "kl_horizon", o->kl_horizon);
    cJSON_AddNumberToObject(s->resume_extra, "malformed_penalty", o->malformed_penalty);
    cJSON_AddStringToObject(s->resume_extra, "reward_weights_sha256", c->rm->base->weights_sha256);
    SJA_STAGE_TAKE_OPTS(s, o);
    /* one update per minibatch: the schedule counts those; constant after
     * the warm-up, as TRL's PPO default */
    s->updates = o->steps * o->epochs * ((o->batch + o->minibatch - 1) / o->minibatch);
    s->decay = 0;
    s->eval_first = 0;
    s->eval_at_start = 1;
    s->best_metric = "eval/reward";
    s->rng_label = "ppo";
    s->hooks = (sja_stage_hooks){.step = ppo_step,
                                 .evaluate = o->eval_every > 0 ? ppo_evaluate : NULL,
                                 .finish = ppo_finish};
    s->ctx = c;
}

/* The value model and head with their optimizers, and the numbers carried
 * from step to step; the kept state includes the figures of the kept step. */
static sj_status register_state(sja_stage *s, ppo_ctx *c, sj_error *err)
{
    c->popt = s->opt;
    sj_status st = SJ_OK;
    if (c->value_lm) {
        size_t nh = (size_t)c->value_lm->cfg.embd + 1;
        c->vopt = sja_stage_optimizer(s, "resume.value", c->value_lm->n_params, 1, err);
        c->hopt = c->vopt ? sja_stage_optimizer(s, "resume.value_head", nh, 0, err) : NULL;
        st = c->hopt ? SJ_OK : SJ_ERR_WORK;
        if (st == SJ_OK)
            st = sja_stage_tensor(s, "resume.value.params", c->value_lm->params,
                                  c->value_lm->n_params, SJA_STATE, err);
        if (st == SJ_OK)
            st = sja_stage_tensor(s, "resume.value_head", c->value_head, nh, SJA_STATE, err);
    }
    const sja_stage_number_slot numbers[] = {
        {"beta", &c->beta, SJA_STATE},
        {"within_budget", &c->within_budget, SJA_STATE},
        {"first_gold", &c->first_gold, SJA_STATE},
        {"last_gold", &c->last_gold, SJA_KEEP_BEST},
        {"last_kl", &c->last_kl, SJA_KEEP_BEST},
        {"first_score", &c->first_score, SJA_STATE},
        {"last_score", &c->last_score, SJA_KEEP_BEST},
        {"eval_reward", &c->ev_last.reward, SJA_KEEP_BEST},
        {"eval_kl", &c->ev_last.kl, SJA_KEEP_BEST},
        {"gold_eval", &c->ev_last.gold, SJA_KEEP_BEST},
        {"gold_eval_exact", &c->ev_last.gold_exact, SJA_KEEP_BEST}};
    for (size_t k = 0; k < sizeof numbers / sizeof *numbers && st == SJ_OK; k++)
        st = sja_stage_number(s, numbers[k].name, numbers[k].slot, numbers[k].flags, err);
    return st;
}

/* The reference and value models, copied from the starting policy and the
 * reward model (resuming then restores the trained value model); the value
 * head starts as the reward head on the normalised scale. */
static sj_status build_models(ppo_ctx *c, sja_reward_model *rm, sj_error *err)
{
    int embd = rm->base->ck->model->cfg.embd;
    c->ref = sj_lm_copy(c->policy, err);
    if (!c->ref)
        return err ? err->status : SJ_ERR_WORK;
    if (c->o->estimator == SJA_PPO_RLOO)
        return SJ_OK;
    c->value_lm = sj_lm_copy(rm->base->ck->model, err);
    c->value_head = malloc((size_t)(embd + 1) * sizeof *c->value_head);
    c->value_head_grad = malloc((size_t)(embd + 1) * sizeof *c->value_head_grad);
    if (!c->ref || !c->value_lm || !c->value_head || !c->value_head_grad)
        return sj_error_set(err, SJ_ERR_WORK, "out of memory");
    for (int e = 0; e < embd; e++)
        c->value_head[e] = (float)(rm->head[e] / rm->norm_sd);
    c->value_head[embd] = (float)((rm->head[embd] - rm->norm_mean) / rm->norm_sd);
    return SJ_OK;
}

static void ppo_ctx_free(ppo_ctx *c)
{
    sja_ppo_eval_free(c->ev);
    ppo_group_names_free(&c->groups);
    sj_lm_free(c->ref);
    sj_lm_free(c->value_lm);
    free(c->value_head);
    free(c->value_head_grad);
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
    if (o->samples_per_prompt < 1 || o->batch % o->samples_per_prompt != 0)
        return sj_error_set(err, SJ_ERR_INPUT,
                            "--batch %d is not a multiple of --samples-per-prompt %d", o->batch,
                            o->samples_per_prompt);
    if (o->estimator == SJA_PPO_RLOO && o->samples_per_prompt < 2)
        return sj_error_set(err, SJ_ERR_INPUT,
                            "--estimator rloo compares the rollouts on a prompt: it needs "
                            "--samples-per-prompt 2 or more");
    ppo_ctx c = {.policy = policy->ck->model,
                 .rm = rm,
                 .codec = &policy->codec,
                 .ins = ins,
                 .data = data,
                 .truth = truth,
                 .o = o,
                 .ev_first = {NAN, NAN, NAN, NAN},
                 .ev_last = {NAN, NAN, NAN, NAN},
                 .beta = o->kl_coef,
                 .first_gold = NAN,
                 .last_gold = NAN,
                 .last_kl = NAN,
                 .first_score = NAN,
                 .last_score = NAN};
    sja_stage s;
    sja_stage_init(&s);
    sj_status st = build_models(&c, rm, err);
    if (st == SJ_OK)
        st = collect_groups(data, &c.groups, err);
    /* the fixed evaluation set, measured before training as step 0 */
    if (st == SJ_OK && o->eval_every > 0 &&
        !(c.ev = sja_ppo_eval_new(c.policy, c.codec, rm, ins, data, truth, (size_t)o->eval_size,
                                  o->seed, err)))
        st = err ? err->status : SJ_ERR_WORK;
    describe(&s, &c, policy, instrument_path, data_path, o);
    if (st == SJ_OK)
        st = sja_stage_prepare(&s, err);
    if (st == SJ_OK)
        st = register_state(&s, &c, err);
    /* a rank that could not set up (its share of the evaluation set) fails
     * every rank, before the first collective of training */
    st = sj_dist_agree(st, err);
    if (st == SJ_OK)
        st = sja_stage_run(&s, out, summary, err);
    else if (o->run.stopped_at)
        *o->run.stopped_at = 0;
    sja_stage_free(&s);
    ppo_ctx_free(&c);
    return st;
}
