/* The probability of every score level for a batch of prompts. */
#include "align_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    sj_lm_batch *batch;
    float *out; /* logits or logprobs */
    int *pos;
} work;

static void work_free(work *w)
{
    sj_lm_batch_free(w->batch);
    free(w->out);
    free(w->pos);
}

/* Prompts in order of length, so each batch pads little. */
static size_t *order_by_length(const sja_seq *prompts, size_t n)
{
    size_t *idx = malloc((n ? n : 1) * sizeof *idx);
    if (!idx)
        return NULL;
    /* Counting sort on the length: stable and linear. */
    int longest = 0;
    for (size_t i = 0; i < n; i++)
        longest = prompts[i].len > longest ? prompts[i].len : longest;
    size_t *count = calloc((size_t)longest + 2, sizeof *count);
    if (!count) {
        free(idx);
        return NULL;
    }
    for (size_t i = 0; i < n; i++)
        count[prompts[i].len + 1]++;
    for (int l = 1; l <= longest + 1; l++)
        count[l] += count[l - 1];
    for (size_t i = 0; i < n; i++)
        idx[count[prompts[i].len]++] = i;
    free(count);
    return idx;
}

/* The fast path's workspace, sized once per call and reused by every
 * batch: the batch spans the whole context (the forward pass works on the
 * longest sequence only), the output is one row of logits per sequence. */
typedef struct {
    sj_lm_batch *batch;
    float *logits; /* B x vocab: next-token logits at pos[b] */
    int *pos;
    int32_t *seq;
    const sja_seq **rows;
} single_work;

static void single_work_free(single_work *w)
{
    sj_lm_batch_free(w->batch);
    free(w->logits);
    free(w->pos);
    free(w->seq);
    free(w->rows);
}

static sj_status single_work_init(single_work *w, const sj_lm *m, int B, sj_error *err)
{
    int ctx = m->cfg.ctx;
    w->batch = sj_lm_batch_new(B, ctx);
    w->logits = malloc((size_t)B * (size_t)m->cfg.vocab * sizeof *w->logits);
    w->pos = malloc((size_t)B * sizeof *w->pos);
    w->seq = malloc((size_t)(ctx + 2) * sizeof *w->seq);
    w->rows = malloc((size_t)B * sizeof *w->rows);
    if (!w->batch || !w->logits || !w->pos || !w->seq || !w->rows)
        return sj_error_set(err, SJ_ERR_WORK, "out of memory");
    return SJ_OK;
}

/* Fills the batch with prompts order[0..nb-1], each followed by the score
 * prefix; pos[b] is the position whose next token is the score. */
static sj_status single_fill(single_work *w, const sj_lm *m, const sja_codec *c,
                             const sja_seq *prompts, const size_t *order, int nb, sj_error *err)
{
    sj_lm_batch_clear(w->batch);
    sj_status st = SJ_OK;
    for (int b = 0; b < nb && st == SJ_OK; b++) {
        const sja_seq *p = &prompts[order[b]];
        int len = p->len + (int)c->n_prefix + 1;
        if (len - 1 > m->cfg.ctx)
            return sj_error_set(err, SJ_ERR_INPUT, "a prompt of %d tokens does not fit the context",
                                p->len);
        memcpy(w->seq, p->tokens, (size_t)p->len * sizeof *w->seq);
        memcpy(w->seq + p->len, c->prefix, c->n_prefix * sizeof *w->seq);
        w->seq[len - 1] = c->level[0][0]; /* any target: only the logits at pos[b] are read */
        st = sj_lm_batch_set(w->batch, b, w->seq, len, NULL, err);
        w->pos[b] = len - 2;
        w->rows[b] = p;
    }
    /* the lexical prior sits at pos[b]: the logits read below include it */
    return st == SJ_OK ? sja_batch_set_priors(w->batch, w->rows, nb, err) : st;
}

/* The level probabilities (and the mass of the levels) from one row of
 * next-token logits. */
static void single_levels(const float *z, int V, const sja_codec *c, double *p, double *valid)
{
    int L = c->n_levels;
    double zmax = z[0];
    for (int v = 1; v < V; v++)
        zmax = z[v] > zmax ? z[v] : zmax;
    double total = 0.0;
    for (int v = 0; v < V; v++)
        total += exp(z[v] - zmax);
    double mass = 0.0;
    for (int k = 0; k < L; k++) {
        p[k] = exp(z[c->level[k][0]] - zmax);
        mass += p[k];
    }
    for (int k = 0; k < L; k++)
        p[k] /= mass;
    if (valid)
        *valid = mass / total;
}

/* One forward pass over nb prompts (nb <= the workspace's rows); the
 * output layer runs at pos[b] only. */
static sj_status single_batch(single_work *w, sj_lm *m, const sja_codec *c, const sja_seq *prompts,
                              const size_t *order, int nb, double *probs, double *valid_mass,
                              sj_error *err)
{
    sj_status st = single_fill(w, m, c, prompts, order, nb, err);
    sj_lm_forward_io io = {
        .temperature = 1.0f, .logits_pos = w->pos, .logits_at = w->logits, .sparse_head = 1};
    if (st == SJ_OK)
        st = sj_lm_forward(m, w->batch, &io, err);
    int V = m->cfg.vocab, L = c->n_levels;
    for (int b = 0; b < nb && st == SJ_OK; b++) {
        size_t at = order[b];
        single_levels(w->logits + (size_t)b * V, V, c, probs + at * (size_t)L,
                      valid_mass ? &valid_mass[at] : NULL);
    }
    return st;
}

/* Fast path: the score is the token right after "score: ", so the
 * next-token distribution at the last prefix token holds every level. */
static sj_status score_single_tokens(sj_lm *m, const sja_codec *c, const sja_seq *prompts, size_t n,
                                     int B, double *probs, double *valid_mass,
                                     sj_progress *progress, sj_error *err)
{
    size_t *order = order_by_length(prompts, n);
    if ((size_t)B > n)
        B = n > 0 ? (int)n : 1;
    single_work full = {0}, tail = {0};
    sj_status st = order ? single_work_init(&full, m, B, err)
                         : sj_error_set(err, SJ_ERR_WORK, "out of memory");
    size_t n_full = n - n % (size_t)B;
    /* the last, shorter batch gets a workspace of its own size, so no pass
     * runs on empty rows */
    if (st == SJ_OK && n_full < n)
        st = single_work_init(&tail, m, (int)(n - n_full), err);
    for (size_t start = 0; st == SJ_OK && start < n; start += (size_t)B) {
        int nb = start < n_full ? B : (int)(n - n_full);
        single_work *w = start < n_full ? &full : &tail;
        st = single_batch(w, m, c, prompts, order + start, nb, probs, valid_mass, err);
        if (progress)
            sj_progress_update(progress, (long)(start + (size_t)nb), NULL);
    }
    free(order);
    single_work_free(&full);
    single_work_free(&tail);
    return st;
}

/* General path: each level's tokens and the token that ends the score (eos,
 * or the " | " before a rationale) scored as a continuation; the exact
 * probability of the completion starting "score: k" and ending there. */
static sj_status score_sequences(sj_lm *m, const sja_codec *c, const sja_seq *prompts, size_t n,
                                 int B, double *probs, double *valid_mass, sj_progress *progress,
                                 sj_error *err)
{
    int T = m->cfg.ctx, L = c->n_levels;
    if (B < L)
        B = L;
    int per = B / L; /* prompts per forward pass */
    work w = {sj_lm_batch_new(per * L, T), malloc((size_t)per * L * T * sizeof(float)), NULL};
    int32_t *seq = malloc((size_t)(T + 2) * sizeof *seq);
    float *wt = malloc((size_t)(T + 1) * sizeof *wt);
    int32_t term = c->rationale && c->n_bar > 0 ? c->bar[0] : SJ_TOK_EOS;
    sj_status st = SJ_OK;
    if (!w.batch || !w.out || !seq || !wt)
        st = sj_error_set(err, SJ_ERR_WORK, "out of memory");
    for (size_t start = 0; st == SJ_OK && start < n; start += (size_t)per) {
        int np = (int)(n - start < (size_t)per ? n - start : (size_t)per);
        sj_lm_batch_clear(w.batch);
        for (int q = 0; q < np && st == SJ_OK; q++) {
            const sja_seq *p = &prompts[start + (size_t)q];
            for (int k = 0; k < L && st == SJ_OK; k++) {
                int len = p->len + (int)c->n_prefix + (int)c->n_level[k] + 1;
                if (len > T + 1) {
                    st = sj_error_set(err, SJ_ERR_INPUT,
                                      "prompt of %d tokens does not fit the context", p->len);
                    break;
                }
                memcpy(seq, p->tokens, (size_t)p->len * sizeof *seq);
                memcpy(seq + p->len, c->prefix, c->n_prefix * sizeof *seq);
                memcpy(seq + p->len + c->n_prefix, c->level[k], c->n_level[k] * sizeof *seq);
                seq[len - 1] = term;
                int first = p->len + (int)c->n_prefix; /* index of the first level token */
                for (int t = 0; t < len - 1; t++)
                    wt[t] = t + 1 >= first ? 1.0f : 0.0f;
                st = sj_lm_batch_set(w.batch, q * L + k, seq, len, wt, err);
            }
        }
        if (st != SJ_OK)
            break;
        sj_lm_forward_io io = {.temperature = 1.0f, .logprobs = w.out};
        st = sj_lm_forward(m, w.batch, &io, err);
        for (int q = 0; q < np && st == SJ_OK; q++) {
            double lp[64], lmax = -INFINITY;
            double *p = probs + (start + (size_t)q) * (size_t)L;
            for (int k = 0; k < L; k++) {
                int b = q * L + k;
                double s = 0.0;
                for (int t = 0; t < w.batch->lengths[b]; t++)
                    s += (double)w.batch->weights[(size_t)b * T + t] *
                         w.out[(size_t)b * T + (size_t)t];
                lp[k] = s;
                lmax = s > lmax ? s : lmax;
            }
            double mass = 0.0;
            for (int k = 0; k < L; k++)
                mass += (p[k] = exp(lp[k] - lmax));
            for (int k = 0; k < L; k++)
                p[k] /= mass;
            if (valid_mass)
                valid_mass[start + (size_t)q] = mass * exp(lmax);
        }
        if (progress)
            sj_progress_update(progress, (long)(start + (size_t)np), NULL);
    }
    free(seq);
    free(wt);
    work_free(&w);
    return st;
}

sj_status sja_score_levels(sj_lm *m, const sja_codec *c, const sja_seq *prompts, size_t n,
                           int batch, double *probs, double *valid_mass, sj_progress *progress,
                           sj_error *err)
{
    if (batch < 1)
        batch = 1;
    if (c->n_levels > 64)
        return sj_error_set(err, SJ_ERR_INPUT, "at most 64 score levels are supported, got %d",
                            c->n_levels);
    if (c->single_token_levels)
        return score_single_tokens(m, c, prompts, n, batch, probs, valid_mass, progress, err);
    return score_sequences(m, c, prompts, n, batch, probs, valid_mass, progress, err);
}
