/* PPO rollouts and updates when a completion is one action: every score
 * level is one token and there is no rationale, so the token drawn after
 * "score: " decides the completion ("score: k", then the eos that ends the
 * format, fixed like its start). The policy's input is then the query
 * alone, whatever the action: one forward pass of a query gives the
 * distribution every rollout on that prompt is drawn from, its log-
 * probabilities under the policy and the reference, and the value of the
 * state; an update needs one forward and backward pass per prompt, the
 * gradient of all its rollouts' losses entering at the logits of the one
 * position. */
#include "ppo_internal.h"

#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* The largest logit and log sum exp((z - zmax) / tau) of a row. */
static void softmax_norm(const float *z, int V, double tau, double *zmax, double *log_total)
{
    double mx = z[0];
    for (int v = 1; v < V; v++)
        mx = z[v] > mx ? z[v] : mx;
    double total = 0.0;
    for (int v = 0; v < V; v++)
        total += exp((z[v] - mx) / tau);
    *zmax = mx;
    /* total >= 1: the largest logit contributes exp(0) */
    // cppcheck-suppress invalidFunctionArg
    *log_total = log(total);
}

/* log softmax(z / tau)[a]. */
static double token_logprob(const float *z, int V, double tau, int32_t a)
{
    double zmax, log_total;
    softmax_norm(z, V, tau, &zmax, &log_total);
    return (z[a] - zmax) / tau - log_total;
}

/* Draws a token from softmax(z / tau) over the vocabulary, the
 * distribution sj_lm_generate samples from, and writes its log-probability. */
static int32_t draw_token(const float *z, int V, double tau, gsl_rng *rng, double *logprob)
{
    double zmax, log_total;
    softmax_norm(z, V, tau, &zmax, &log_total);
    double u = gsl_rng_uniform(rng) * exp(log_total), acc = 0.0;
    int32_t pick = 0;
    for (int v = 0; v < V; v++) {
        acc += exp((z[v] - zmax) / tau);
        pick = v;
        if (acc > u)
            break;
    }
    *logprob = (z[pick] - zmax) / tau - log_total;
    return pick;
}

/* A batch of the queries of groups[0..n-1] (any rollout of a group serves:
 * the action is a target, never an input). */
static sj_status group_batch(const ppo_rollouts *r, const int *groups, int n, sj_lm_batch **batch,
                             sj_error *err)
{
    const sja_seq **seqs = malloc((size_t)n * sizeof *seqs);
    if (!seqs)
        return sj_error_set(err, SJ_ERR_WORK, "out of memory");
    for (int b = 0; b < n; b++)
        seqs[b] = &r->seq[(size_t)groups[b] * (size_t)r->K];
    sj_status st = sja_batch_build(seqs, n, SJA_W_NONE, 0, batch, NULL, err);
    free(seqs);
    return st;
}

/* One forward pass of a batch of queries: the logits at each query's last
 * position ([B x V], with the lexical prior where there is one; NULL: not
 * wanted) and the final hidden state there ([B x embd]; NULL: not wanted). */
static sj_status query_forward(sj_lm *m, const sj_lm_batch *batch, float *z, float *hidden,
                               sj_error *err)
{
    int B = batch->B, T = batch->T, V = m->cfg.vocab;
    float *logits = z ? malloc((size_t)B * T * V * sizeof *logits) : NULL;
    int *pos = malloc((size_t)B * sizeof *pos);
    sj_status st =
        (pos && (logits || !z)) ? SJ_OK : sj_error_set(err, SJ_ERR_WORK, "out of memory");
    for (int b = 0; b < B && st == SJ_OK; b++)
        pos[b] = batch->lengths[b] - 1;
    if (st == SJ_OK) {
        sj_lm_forward_io io = {.temperature = 1.0f,
                               .logits = logits,
                               .hidden_pos = hidden ? pos : NULL,
                               .hidden = hidden};
        st = sj_lm_forward(m, batch, &io, err);
    }
    for (int b = 0; z && b < B && st == SJ_OK; b++)
        memcpy(z + (size_t)b * V, logits + ((size_t)b * T + (size_t)pos[b]) * V,
               (size_t)V * sizeof *z);
    free(logits);
    free(pos);
    return st;
}

/* The prompts of a step, all drawn on every rank, and for this rank's
 * share each of its K rollouts holding the query and a stand-in action
 * (replaced by the drawn one). */
static sj_status draw_prompts(const ppo_ctx *c, gsl_rng *rng, ppo_rollouts *r, sj_error *err)
{
    int32_t stand_in = c->codec->level_tokens[0];
    sj_status st = SJ_OK;
    for (int g = 0; g < r->B / r->K && st == SJ_OK; g++) {
        size_t row = (size_t)gsl_rng_uniform_int(rng, c->data->table->n_rows);
        int mine = g * r->K >= r->lo && g * r->K < r->hi;
        sja_seq query = {0};
        if (mine)
            st = ppo_encode_query(c, row, &query, err);
        for (int k = 0; k < r->K && st == SJ_OK; k++) {
            int i = g * r->K + k;
            r->row[i] = row;
            r->n[i] = 1;
            r->off[i] = i;
            if (mine)
                st = sja_seq_append(&query, &stand_in, 1, &r->seq[i], err);
        }
        sja_seq_free(&query);
    }
    r->n_tok = (size_t)r->B;
    return st;
}

/* The actions of this rank's share drawn from the policy, with their
 * log-probabilities under the policy and the reference; the batch holds
 * the share's queries. */
static sj_status draw_actions(ppo_ctx *c, gsl_rng *rng, ppo_rollouts *r, const sj_lm_batch *batch,
                              sj_error *err)
{
    int P = batch->B, V = c->policy->cfg.vocab, g0 = r->lo / r->K;
    double tau = c->o->temperature;
    float *z = malloc((size_t)P * V * sizeof *z);
    sj_status st = z ? query_forward(c->policy, batch, z, NULL, err)
                     : sj_error_set(err, SJ_ERR_WORK, "out of memory");
    for (int i = r->lo; i < r->hi && st == SJ_OK; i++) {
        sja_seq *s = &r->seq[i];
        const float *zi = z + (size_t)(i / r->K - g0) * V;
        s->tokens[s->len - 1] = draw_token(zi, V, tau, rng, &r->old_lp[i]);
    }
    if (st == SJ_OK)
        st = query_forward(c->ref, batch, z, NULL, err);
    for (int i = r->lo; i < r->hi && st == SJ_OK; i++)
        r->ref_lp[i] = token_logprob(z + (size_t)(i / r->K - g0) * V, V, tau,
                                     r->seq[i].tokens[r->seq[i].len - 1]);
    free(z);
    return st;
}

/* The value model's value of each query of this rank's share (0 without
 * one: RLOO). */
static sj_status query_values(ppo_ctx *c, ppo_rollouts *r, const sj_lm_batch *batch, sj_error *err)
{
    if (!c->value_lm) {
        memset(r->value, 0, (size_t)r->B * sizeof *r->value);
        return SJ_OK;
    }
    int embd = c->value_lm->cfg.embd, g0 = r->lo / r->K;
    float *h = malloc((size_t)batch->B * embd * sizeof *h);
    sj_status st = h ? query_forward(c->value_lm, batch, NULL, h, err)
                     : sj_error_set(err, SJ_ERR_WORK, "out of memory");
    for (int i = r->lo; i < r->hi && st == SJ_OK; i++)
        r->value[i] = sja_head_apply(c->value_head, h + (size_t)(i / r->K - g0) * embd, embd);
    free(h);
    return st;
}

sj_status ppo_actions_rollouts(ppo_ctx *c, gsl_rng *shared, gsl_rng *sample, ppo_rollouts *r,
                               sj_error *err)
{
    int P = (r->hi - r->lo) / r->K, g0 = r->lo / r->K;
    int *mine = malloc((size_t)(P > 0 ? P : 1) * sizeof *mine);
    sj_lm_batch *batch = NULL;
    sj_status st =
        mine ? draw_prompts(c, shared, r, err) : sj_error_set(err, SJ_ERR_WORK, "out of memory");
    for (int g = 0; mine && g < P; g++)
        mine[g] = g0 + g;
    /* with more ranks than prompts, a rank may have nothing to draw */
    if (st == SJ_OK && P > 0)
        st = group_batch(r, mine, P, &batch, err);
    if (st == SJ_OK && P > 0)
        st = draw_actions(c, sample, r, batch, err);
    if (st == SJ_OK && P > 0)
        st = query_values(c, r, batch, err);
    sj_lm_batch_free(batch);
    free(mine);
    return st;
}

/* Index of the first rollout of i's group with the same action. */
static int first_alike(const ppo_rollouts *r, int i)
{
    const sja_seq *s = &r->seq[i];
    for (int j = i - i % r->K; j < i; j++)
        if (r->seq[j].tokens[r->seq[j].len - 1] == s->tokens[s->len - 1])
            return j;
    return i;
}

sj_status ppo_actions_score(const ppo_ctx *c, ppo_rollouts *r, sj_error *err)
{
    const sja_codec *codec = c->codec;
    sja_seq *full = sj_calloc((size_t)r->B, sizeof *full);
    double *score = malloc((size_t)r->B * sizeof *score);
    int *from = malloc((size_t)r->B * sizeof *from);
    sj_status st = full && score && from ? SJ_OK : sj_error_set(err, SJ_ERR_WORK, "out of memory");
    const int32_t eos = SJ_TOK_EOS;
    size_t n = 0; /* distinct (prompt, action) rollouts, each scored once */
    for (int i = r->lo; i < r->hi && st == SJ_OK; i++) {
        int32_t action = r->seq[i].tokens[r->seq[i].len - 1];
        r->parsed[i] = INT_MIN;
        for (int k = 0; k < codec->n_levels; k++)
            if (codec->level_tokens[k] == action)
                r->parsed[i] = codec->score_min + k;
        int j = first_alike(r, i);
        from[i] = j == i ? (int)n : from[j];
        if (j == i)
            st = sja_seq_append(&r->seq[i], &eos, 1, &full[n++], err);
    }
    if (st == SJ_OK && n > 0)
        st = sja_reward_score(c->rm, full, n, 32, score, err);
    for (int i = r->lo; i < r->hi && st == SJ_OK; i++)
        r->score[i] = score[from[i]];
    for (size_t i = 0; full && i < n; i++)
        sja_seq_free(&full[i]);
    free(full);
    free(score);
    free(from);
    return st;
}

/* The policy loss of group g's rollouts at the query's logits z, added to
 * the statistics; writes d(loss)/dz to dz ([V]). */
static void group_policy_grad(const ppo_ctx *c, const ppo_rollouts *r, int g, const float *z,
                              double n_tok, double *lp_new, ppo_update_stats *s, double *dz)
{
    int V = c->policy->cfg.vocab;
    double tau = c->o->temperature, zmax, log_total, d_sum = 0.0;
    softmax_norm(z, V, tau, &zmax, &log_total);
    memset(dz, 0, (size_t)V * sizeof *dz);
    for (int i = g * r->K; i < (g + 1) * r->K; i++) {
        int32_t a = r->seq[i].tokens[r->seq[i].len - 1];
        double lp = (z[a] - zmax) / tau - log_total, d;
        int clipped;
        lp_new[i] = lp;
        s->pg_loss +=
            sja_ppo_policy_loss(lp, r->old_lp[i], r->adv[i], c->o->cliprange, &d, &clipped) / n_tok;
        s->clipfrac += clipped / n_tok;
        double diff = lp - r->old_lp[i], ratio = exp(diff);
        s->approxkl += 0.5 * diff * diff / n_tok;
        s->ratio += ratio / n_tok;
        s->ratio_sq += ratio * ratio / n_tok;
        /* d log p(a) / dz_v = (1[v = a] - p_v) / tau */
        dz[a] += d / n_tok / tau;
        d_sum += d / n_tok;
    }
    for (int v = 0; v < V; v++)
        dz[v] -= d_sum * exp((z[v] - zmax) / tau - log_total) / tau;
}

/* The logits are the final hidden state times the tied embedding wte
 * ([V x embd]): d/dh = dz wte, and dz h^T is wte's own gradient there. */
static void through_output_layer(const double *dz, const float *h, const float *wte,
                                 float *wte_grad, int V, int embd, float *dh)
{
    for (int v = 0; v < V; v++) {
        if (dz[v] == 0.0)
            continue;
        const float *w = wte + (size_t)v * embd;
        float *gw = wte_grad + (size_t)v * embd;
        for (int e = 0; e < embd; e++) {
            dh[e] += (float)(dz[v] * w[e]);
            gw[e] += (float)(dz[v] * h[e]);
        }
    }
}

static const sj_lm_tensor *grad_of(const sj_lm *m, const char *name)
{
    for (size_t k = 0; k < m->n_tensors; k++)
        if (strcmp(m->tensors[k].name, name) == 0)
            return &m->gtensors[k];
    return NULL;
}

/* The policy's gradient on the batch of this rank's share of a
 * minibatch's groups, its losses normalised by the minibatch's n_tok
 * rollouts. */
static sj_status policy_grads(ppo_ctx *c, const ppo_rollouts *r, const int *groups,
                              const sj_lm_batch *batch, double n_tok, double *lp_new,
                              ppo_update_stats *s, sj_error *err)
{
    sj_lm *m = c->policy;
    int n = batch->B, V = m->cfg.vocab, embd = m->cfg.embd;
    const sj_lm_tensor *wte = sj_lm_tensor_by_name(m, "wte"), *gwte = grad_of(m, "wte");
    float *z = malloc((size_t)n * V * sizeof *z), *h = malloc((size_t)n * embd * sizeof *h);
    float *dh = sj_calloc((size_t)n * embd, sizeof *dh);
    double *dz = malloc((size_t)V * sizeof *dz);
    sj_status st = z && h && dh && dz && wte && gwte
                       ? query_forward(m, batch, z, h, err)
                       : sj_error_set(err, SJ_ERR_WORK, "out of memory");
    for (int b = 0; b < n && st == SJ_OK; b++) {
        group_policy_grad(c, r, groups[b], z + (size_t)b * V, n_tok, lp_new, s, dz);
        through_output_layer(dz, h + (size_t)b * embd, wte->data, gwte->data, V, embd,
                             dh + (size_t)b * embd);
    }
    if (st == SJ_OK)
        st = sj_lm_backward(m, batch, NULL, dh, err);
    free(z);
    free(h);
    free(dh);
    free(dz);
    return st;
}

/* The value model's gradient and its head's: the groups' rollouts share
 * their query's value. */
static sj_status value_grads(ppo_ctx *c, const ppo_rollouts *r, const int *groups,
                             const sj_lm_batch *batch, double n_tok, ppo_update_stats *s,
                             sj_error *err)
{
    int n = batch->B, embd = c->value_lm->cfg.embd;
    float *h = malloc((size_t)n * embd * sizeof *h), *dh = malloc((size_t)n * embd * sizeof *dh);
    sj_status st = h && dh ? query_forward(c->value_lm, batch, NULL, h, err)
                           : sj_error_set(err, SJ_ERR_WORK, "out of memory");
    float *hg = c->value_head_grad;
    for (int b = 0; b < n && st == SJ_OK; b++) {
        const float *hb = h + (size_t)b * embd;
        double v = sja_head_apply(c->value_head, hb, embd), d_sum = 0.0;
        for (int i = groups[b] * r->K; i < (groups[b] + 1) * r->K; i++) {
            double d;
            int clipped;
            s->vf_loss +=
                sja_ppo_value_loss(v, r->value[i], r->ret[i], c->o->cliprange_value, &d, &clipped) /
                n_tok;
            s->vf_clipfrac += clipped / n_tok;
            d_sum += d * c->o->vf_coef / n_tok;
        }
        for (int e = 0; e < embd; e++) {
            hg[e] += (float)(d_sum * hb[e]);
            dh[(size_t)b * embd + e] = (float)(d_sum * c->value_head[e]);
        }
        hg[embd] += (float)d_sum;
    }
    if (st == SJ_OK)
        st = sj_lm_backward(c->value_lm, batch, NULL, dh, err);
    free(h);
    free(dh);
    return st;
}

/* The gradients start from zero on every rank: a rank whose share of the
 * minibatch is empty adds nothing to the sum. */
static void zero_grads(ppo_ctx *c)
{
    sj_lm_zero_grad(c->policy);
    if (c->value_lm) {
        sj_lm_zero_grad(c->value_lm);
        memset(c->value_head_grad, 0,
               ((size_t)c->value_lm->cfg.embd + 1) * sizeof *c->value_head_grad);
    }
}

sj_status ppo_actions_grads(ppo_ctx *c, const ppo_rollouts *r, const int *groups, int n,
                            double *lp_new, ppo_update_stats *s, sj_error *err)
{
    size_t lo, hi;
    sj_dist_share((size_t)n, &lo, &hi);
    int mine = (int)(hi - lo);
    double n_tok = (double)n * r->K;
    ppo_update_stats before = *s;
    sj_lm_batch *batch = NULL;
    zero_grads(c);
    sj_status st = mine > 0 ? group_batch(r, groups + lo, mine, &batch, err) : SJ_OK;
    if (st == SJ_OK && mine > 0)
        st = policy_grads(c, r, groups + lo, batch, n_tok, lp_new, s, err);
    if (st == SJ_OK && mine > 0 && c->value_lm)
        st = value_grads(c, r, groups + lo, batch, n_tok, s, err);
    st = ppo_exchange(c, s, &before, st, err);
    if (st == SJ_OK) {
        s->n_tok += n_tok;
        s->n_updates += 1;
    }
    sj_lm_batch_free(batch);
    return st;
}
