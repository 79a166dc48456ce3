/* Forward pass: embeddings, pre-LayerNorm transformer blocks, final
 * LayerNorm, tied output layer, and per-token log-probabilities. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <cblas.h>
#include <omp.h>

#include "lm_internal.h"

/* Y = X W^T (+ bias) (+ residual): the residual and bias are laid into Y
 * first and sgemm adds the product, so the residual costs no extra pass.
 * Rows of Y are ldy apart (out for a plain [n x out] matrix). */
static void linear_fwd_ld(float *Y, int ldy, const float *X, const float *W, const float *bias,
                          const float *residual, int n, int in, int out)
{
#pragma omp parallel if (2.0 * n * in * out > LM_PAR_MIN)
    {
        int parts = LM_CHUNKS_PER_THREAD * omp_get_num_threads();
#pragma omp for schedule(dynamic, 1)
        for (int part = 0; part < parts; part++) {
            long r0, r1;
            lm_split(n, parts, part, &r0, &r1);
            if (r1 <= r0)
                continue;
            for (long r = r0; r < r1 && (bias || residual); r++) {
                float *y = Y + (size_t)r * ldy;
                const float *res = residual ? residual + (size_t)r * out : NULL;
                if (bias && res) {
#pragma omp simd
                    for (int o = 0; o < out; o++)
                        y[o] = res[o] + bias[o];
                } else {
                    memcpy(y, bias ? bias : res, (size_t)out * sizeof(float));
                }
            }
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)(r1 - r0), out, in, 1.0f,
                        X + (size_t)r0 * in, in, W, in, (bias || residual) ? 1.0f : 0.0f,
                        Y + (size_t)r0 * ldy, ldy);
        }
    }
}

static void linear_fwd(float *Y, const float *X, const float *W, const float *bias,
                       const float *residual, int n, int in, int out)
{
    linear_fwd_ld(Y, out, X, W, bias, residual, n, in, out);
}

void lm_linear_fwd(float *Y, const float *X, const float *W, const float *bias, int n, int in,
                   int out)
{
    linear_fwd(Y, X, W, bias, NULL, n, in, out);
}

void lm_layernorm_fwd(float *out, float *mean, float *rstd, const float *x, const float *w,
                      const float *b, int n, int C)
{
#pragma omp parallel for schedule(static) if (8.0 * n * C > LM_PAR_MIN)
    for (int r = 0; r < n; r++) {
        const float *xr = x + (size_t)r * C;
        float s = 0.0f;
#pragma omp simd reduction(+ : s)
        for (int i = 0; i < C; i++)
            s += xr[i];
        float mu = s / C;
        float v = 0.0f;
#pragma omp simd reduction(+ : v)
        for (int i = 0; i < C; i++) {
            float d = xr[i] - mu;
            v += d * d;
        }
        float rs = 1.0f / sqrtf(v / C + LM_LN_EPS);
        float *o = out + (size_t)r * C;
#pragma omp simd
        for (int i = 0; i < C; i++)
            o[i] = (xr[i] - mu) * rs * w[i] + b[i];
        mean[r] = mu;
        rstd[r] = rs;
    }
}

void lm_gelu_fwd(float *out, const float *in, size_t n)
{
#pragma omp parallel for simd schedule(static) if (20.0 * n > LM_PAR_MIN)
    for (size_t i = 0; i < n; i++) {
        float x = in[i];
        out[i] = 0.5f * x * (1.0f + lm_tanh(LM_GELU_K * (x + LM_GELU_A * x * x * x)));
    }
}

/* The activations hold T (the longest sequence) positions per row; the
 * caller's array has the batch's padded width. */
static void copy_hidden_all(float *out, const float *lnf, int B, int T, int T_batch, int C)
{
    for (int b = 0; b < B; b++) {
        float *row = out + (size_t)b * T_batch * C;
        memcpy(row, lnf + (size_t)b * T * C, (size_t)T * C * sizeof(float));
        memset(row + (size_t)T * C, 0, (size_t)(T_batch - T) * C * sizeof(float));
    }
}

/* The logit bias is public data a caller may have filled by hand, so the
 * forward pass checks it as it checks the tokens. */
static sj_status check_bias(const sj_lm *m, const sj_lm_batch *batch, sj_error *err)
{
    int n = batch->n_bias;
    if (n <= 0)
        return SJ_OK;
    if (!batch->bias_tokens || !batch->bias || !batch->bias_pos)
        return sj_error_set(err, SJ_ERR_INPUT, "a logit bias of %d tokens without its arrays", n);
    for (int k = 0; k < n; k++)
        if (batch->bias_tokens[k] < 0 || batch->bias_tokens[k] >= m->cfg.vocab)
            return sj_error_set(err, SJ_ERR_INPUT,
                                "logit-bias token id %d is outside the vocabulary of %d",
                                batch->bias_tokens[k], m->cfg.vocab);
    for (int b = 0; b < batch->B; b++) {
        int pos = batch->bias_pos[b];
        if (pos < -1 || pos >= batch->lengths[b])
            return sj_error_set(err, SJ_ERR_INPUT,
                                "logit-bias position %d of sequence %d is outside -1..%d", pos, b,
                                batch->lengths[b] - 1);
        for (int k = 0; pos >= 0 && k < n; k++)
            if (!isfinite(batch->bias[(size_t)b * n + k]))
                return sj_error_set(err, SJ_ERR_INPUT, "logit bias %d of sequence %d is not finite",
                                    k, b);
    }
    return SJ_OK;
}

/* Adds the batch's logit bias to the stored logits (one row per head row,
 * and every bias_pos is one), so the log-probs, the entropy and the
 * backward pass all see z + bias. */
static void add_logit_bias(sj_lm_acts *a, const sj_lm_batch *batch, int T, int V)
{
    int n = batch->n_bias;
    for (int b = 0; b < batch->B && n > 0; b++) {
        if (batch->bias_pos[b] < 0)
            continue;
        float *z = a->logits + (size_t)a->head_index[(size_t)b * T + batch->bias_pos[b]] * V;
        const float *add = batch->bias + (size_t)b * n;
        for (int k = 0; k < n; k++)
            z[batch->bias_tokens[k]] += add[k];
    }
}

/* Chooses the rows the output layer runs on: every row, or with
 * io->sparse_head (and no full logits asked for) the rows something reads:
 * weighted targets when log-probs or the entropy are asked for, the logit
 * bias's positions and logits_pos. */
static void choose_head_rows(sj_lm_acts *a, const sj_lm_batch *batch, const sj_lm_forward_io *io,
                             int B, int T)
{
    int N = B * T;
    int sparse = io && io->sparse_head && !io->logits;
    int n = 0;
    for (int r = 0; r < N; r++)
        a->head_index[r] = sparse ? -1 : r;
    if (sparse) {
        int weighted = io->logprobs || io->entropy;
        for (int b = 0; b < B; b++) {
            int *mark = a->head_index + (size_t)b * T;
            const float *w = batch->weights + (size_t)b * batch->T;
            for (int t = 0; weighted && t < batch->lengths[b]; t++)
                if (w[t] != 0.0f)
                    mark[t] = 0;
            if (batch->n_bias > 0 && batch->bias_pos[b] >= 0)
                mark[batch->bias_pos[b]] = 0;
            if (io->logits_pos && io->logits_pos[b] >= 0)
                mark[io->logits_pos[b]] = 0;
        }
        for (int r = 0; r < N; r++)
            if (a->head_index[r] == 0)
                a->head_index[r] = n++;
            else
                a->head_index[r] = -1;
    }
    if (!sparse)
        n = N;
    for (int r = 0; r < N; r++)
        if (a->head_index[r] >= 0)
            a->head_rows[a->head_index[r]] = r;
    a->n_head = n;
    a->head_full = n == N;
}

/* Runs the output layer (the tied embedding) on the head rows. */
static void head_forward(sj_lm *m, const sj_lm_batch *batch, int T)
{
    sj_lm_acts *a = m->acts;
    int C = m->cfg.embd, V = m->cfg.vocab;
    if (!a->head_full)
        for (int k = 0; k < a->n_head; k++)
            memcpy(a->head_in + (size_t)k * C, a->lnf + (size_t)a->head_rows[k] * C,
                   (size_t)C * sizeof(float));
    const float *in = a->head_full ? a->lnf : a->head_in;
    lm_linear_fwd(a->logits, in, lm_wte(m, m->params), NULL, a->n_head, C, V);
    add_logit_bias(a, batch, T, V);
}

static sj_status check_batch(const sj_lm *m, const sj_lm_batch *batch, int *t_eff, sj_error *err)
{
    if (batch->T > m->cfg.ctx)
        return sj_error_set(err, SJ_ERR_INPUT, "batch of %d positions exceeds the context of %d",
                            batch->T, m->cfg.ctx);
    int longest = 1;
    for (int b = 0; b < batch->B; b++) {
        if (batch->lengths[b] < 0 || batch->lengths[b] > batch->T)
            return sj_error_set(err, SJ_ERR_INPUT, "sequence %d has length %d outside 0..%d", b,
                                batch->lengths[b], batch->T);
        if (batch->lengths[b] > longest)
            longest = batch->lengths[b];
    }
    size_t n = (size_t)batch->B * batch->T;
    for (size_t i = 0; i < n; i++)
        if (batch->tokens[i] < 0 || batch->tokens[i] >= m->cfg.vocab || batch->targets[i] < 0 ||
            batch->targets[i] >= m->cfg.vocab)
            return sj_error_set(err, SJ_ERR_INPUT,
                                "token id %d at sequence %zu position %zu is outside the "
                                "vocabulary of %d",
                                batch->tokens[i] < 0 || batch->tokens[i] >= m->cfg.vocab
                                    ? batch->tokens[i]
                                    : batch->targets[i],
                                i / batch->T, i % batch->T, m->cfg.vocab);
    *t_eff = longest;
    return check_bias(m, batch, err);
}

static void token_outputs(sj_lm *m, const sj_lm_batch *batch, int T, sj_lm_forward_io *io)
{
    sj_lm_acts *a = m->acts;
    int V = m->cfg.vocab, B = batch->B;
    float inv_tau = 1.0f / io->temperature;
    size_t full = (size_t)B * batch->T;
    if (io->logprobs)
        memset(io->logprobs, 0, full * sizeof(float));
    if (io->entropy)
        memset(io->entropy, 0, full * sizeof(float));
    if (io->logits)
        memset(io->logits, 0, full * V * sizeof(float));
#pragma omp parallel for schedule(static) if (4.0 * a->n_head * V > LM_PAR_MIN)
    for (int k = 0; k < a->n_head; k++) {
        int r = a->head_rows[k], b = r / T, t = r % T;
        size_t out = (size_t)b * batch->T + t;
        const float *z = a->logits + (size_t)k * V;
        if (io->logits)
            memcpy(io->logits + out * V, z, (size_t)V * sizeof(float));
        if (!io->logprobs && !io->entropy)
            continue;
        float lse = lm_row_lse(z, V, inv_tau);
        a->lse[k] = lse;
        if (io->logprobs)
            io->logprobs[out] = z[batch->targets[out]] * inv_tau - lse;
        if (io->entropy) {
            float h = 0.0f;
#pragma omp simd reduction(+ : h)
            for (int j = 0; j < V; j++) {
                float lp = z[j] * inv_tau - lse;
                h -= lm_exp(lp) * lp;
            }
            io->entropy[out] = h;
        }
    }
    for (int b = 0; io->logits_pos && io->logits_at && b < B; b++) {
        float *dst = io->logits_at + (size_t)b * V;
        int pos = io->logits_pos[b];
        if (pos < 0)
            memset(dst, 0, (size_t)V * sizeof(float));
        else
            memcpy(dst, a->logits + (size_t)a->head_index[(size_t)b * T + pos] * V,
                   (size_t)V * sizeof(float));
    }
    /* the backward pass reuses the normalisers */
    a->has_lse = io->logprobs || io->entropy;
}

/* The second half of block l over n rows: the attention output's
 * projection added to the residual x, then + MLP(LN2(.)), into res2 and
 * res3 (the whole block and the last block's kept rows share it). */
static void block_mlp_forward(sj_lm_acts *a, const lm_layer *w, int l, const float *x, int n, int C)
{
    LM_PROF(LM_PROF_MATMUL,
            linear_fwd(a->res2[l], a->atty[l], w->attproj_w, w->attproj_b, x, n, C, C));
    LM_PROF(LM_PROF_LAYERNORM, lm_layernorm_fwd(a->ln2[l], a->ln2_mean[l], a->ln2_rstd[l],
                                                a->res2[l], w->ln2_w, w->ln2_b, n, C));
    LM_PROF(LM_PROF_MATMUL, lm_linear_fwd(a->fch[l], a->ln2[l], w->fc_w, w->fc_b, n, C, 4 * C));
    LM_PROF(LM_PROF_GELU, lm_gelu_fwd(a->fch_gelu[l], a->fch[l], (size_t)n * 4 * C));
    LM_PROF(LM_PROF_MATMUL, linear_fwd(a->res3[l], a->fch_gelu[l], w->mlpproj_w, w->mlpproj_b,
                                       a->res2[l], n, 4 * C, C));
}

/* One transformer block: x + attn(LN1(x)), then + MLP(LN2(.)); the
 * activations the backward pass needs are kept in m->acts. */
static void block_forward(sj_lm *m, int l, const float *residual, int B, int T,
                          const sj_lm_prefix *past)
{
    sj_lm_acts *a = m->acts;
    int N = B * T, C = m->cfg.embd, H = m->cfg.heads;
    lm_layer w;
    lm_layer_views(m, m->params, l, &w);
    LM_PROF(LM_PROF_LAYERNORM, lm_layernorm_fwd(a->ln1[l], a->ln1_mean[l], a->ln1_rstd[l], residual,
                                                w.ln1_w, w.ln1_b, N, C));
    LM_PROF(LM_PROF_MATMUL, lm_linear_fwd(a->qkv[l], a->ln1[l], w.qkv_w, w.qkv_b, N, C, 3 * C));
    if (past) {
        size_t at = (size_t)l * past->ctx * C;
        LM_PROF(LM_PROF_ATTENTION,
                lm_attention_fwd_past(a->atty[l], a->qkv[l], past->k + at, past->v + at, past->n, B,
                                      T, C, H, past->scores));
    } else {
        LM_PROF(LM_PROF_ATTENTION, lm_attention_fwd(a->atty[l], a->att[l], a->qkv[l], B, T, C, H));
    }
    block_mlp_forward(a, &w, l, residual, N, C);
}

static sj_status check_positions(const sj_lm_batch *batch, const sj_lm_forward_io *io, int T,
                                 sj_error *err)
{
    for (int b = 0; io && io->hidden_pos && b < batch->B; b++)
        if (io->hidden_pos[b] < 0 || io->hidden_pos[b] >= T)
            return sj_error_set(err, SJ_ERR_INPUT,
                                "hidden-state position %d of sequence %d is outside 0..%d",
                                io->hidden_pos[b], b, T - 1);
    for (int b = 0; io && io->logits_pos && b < batch->B; b++)
        if (io->logits_pos[b] < -1 || io->logits_pos[b] >= batch->lengths[b])
            return sj_error_set(err, SJ_ERR_INPUT,
                                "logits position %d of sequence %d is outside -1..%d",
                                io->logits_pos[b], b, batch->lengths[b] - 1);
    return SJ_OK;
}

sj_status sj_lm_forward(sj_lm *m, const sj_lm_batch *batch, sj_lm_forward_io *io, sj_error *err)
{
    return lm_forward_core(m, batch, io, NULL, err);
}

static void embed(sj_lm *m, const sj_lm_batch *batch, int B, int T, int P)
{
    int N = B * T, C = m->cfg.embd;
    const float *wte = lm_wte(m, m->params), *wpe = lm_wpe(m, m->params);
    float *encoded = m->acts->encoded;
#pragma omp parallel for schedule(static) if ((double)N * C > LM_PAR_MIN)
    for (int r = 0; r < N; r++) {
        int b = r / T, t = r % T;
        const float *e = wte + (size_t)batch->tokens[(size_t)b * batch->T + t] * C;
        const float *p = wpe + (size_t)(P + t) * C;
        float *x = encoded + (size_t)r * C;
        for (int i = 0; i < C; i++)
            x[i] = e[i] + p[i];
    }
}

/* The rows the outputs read: the head rows and hidden_pos, in row order. */
static void choose_keep_rows(sj_lm_acts *a, const sj_lm_forward_io *io, int B, int T)
{
    int N = B * T, n = 0;
    int *keep = a->keep_rows;
    memset(keep, 0, (size_t)N * sizeof *keep);
    for (int b = 0; io && io->hidden_pos && b < B; b++)
        keep[b * T + io->hidden_pos[b]] = 1;
    /* compacted in place: entry r is read before any write reaches it */
    for (int r = 0; r < N; r++)
        if (a->head_index[r] >= 0 || keep[r])
            keep[n++] = r;
    a->n_keep = n;
}

/* The last block and the final LayerNorm of a forward-only pass, on the
 * kept rows alone: every row's keys and values are still needed (LN1 and
 * the qkv product run on all), but the attention output, the projection,
 * the MLP and LN_f only where something is read. The kept rows' final
 * states go to their places in a->lnf; the other rows of lnf are not set.
 * The layer's buffers and the backward scratch hold the compact rows. */
static void last_block_kept(sj_lm *m, const float *residual, int B, int T, const sj_lm_prefix *past)
{
    sj_lm_acts *a = m->acts;
    int l = m->cfg.layers - 1, N = B * T, C = m->cfg.embd, H = m->cfg.heads, n = a->n_keep;
    lm_layer w;
    lm_layer_views(m, m->params, l, &w);
    LM_PROF(LM_PROF_LAYERNORM, lm_layernorm_fwd(a->ln1[l], a->ln1_mean[l], a->ln1_rstd[l], residual,
                                                w.ln1_w, w.ln1_b, N, C));
    /* keys and values of every row (qkv_w's rows C..3C), queries of the
     * kept rows only */
    size_t C3 = 3 * (size_t)C;
    LM_PROF(LM_PROF_MATMUL, linear_fwd_ld(a->qkv[l] + C, (int)C3, a->ln1[l],
                                          w.qkv_w + (size_t)C * C, w.qkv_b + C, NULL, N, C, 2 * C));
    if (n == 0)
        return;
    float *x = a->dres, *out = a->dln, *q = a->d4c;
    for (int k = 0; k < n; k++)
        memcpy(x + (size_t)k * C, a->ln1[l] + (size_t)a->keep_rows[k] * C,
               (size_t)C * sizeof(float));
    LM_PROF(LM_PROF_MATMUL, lm_linear_fwd(q, x, w.qkv_w, w.qkv_b, n, C, C));
    for (int k = 0; k < n; k++)
        memcpy(a->qkv[l] + (size_t)a->keep_rows[k] * C3, q + (size_t)k * C,
               (size_t)C * sizeof(float));
    for (int k = 0; k < n; k++)
        memcpy(x + (size_t)k * C, residual + (size_t)a->keep_rows[k] * C,
               (size_t)C * sizeof(float));
    size_t at = past ? (size_t)l * past->ctx * C : 0;
    LM_PROF(LM_PROF_ATTENTION,
            lm_attention_rows(a->atty[l], a->qkv[l], a->keep_rows, n, T, C, H,
                              past ? past->k + at : NULL, past ? past->v + at : NULL,
                              past ? past->n : 0, past ? past->scratch : a->datt,
                              past ? past->n_threads : a->n_threads));
    block_mlp_forward(a, &w, l, x, n, C);
    LM_PROF(LM_PROF_LAYERNORM,
            lm_layernorm_fwd(out, a->lnf_mean, a->lnf_rstd, a->res3[l], lm_lnf_w(m, m->params),
                             lm_lnf_b(m, m->params), n, C));
    for (int k = 0; k < n; k++)
        memcpy(a->lnf + (size_t)a->keep_rows[k] * C, out + (size_t)k * C,
               (size_t)C * sizeof(float));
}

/* Embedding, the blocks and the final LayerNorm; a forward-only pass
 * (prune) runs its last block on the kept rows only. */
static void trunk_forward(sj_lm *m, const sj_lm_batch *batch, const sj_lm_forward_io *io, int T,
                          const sj_lm_prefix *past, int prune)
{
    sj_lm_acts *a = m->acts;
    int B = batch->B, N = B * T, C = m->cfg.embd, L = m->cfg.layers;
    LM_PROF(LM_PROF_EMBED, embed(m, batch, B, T, past ? past->n : 0));
    const float *residual = a->encoded;
    for (int l = 0; l < L - prune; l++) {
        block_forward(m, l, residual, B, T, past);
        residual = a->res3[l];
    }
    if (prune) {
        choose_keep_rows(a, io, B, T);
        last_block_kept(m, residual, B, T, past);
        return;
    }
    LM_PROF(LM_PROF_LAYERNORM,
            lm_layernorm_fwd(a->lnf, a->lnf_mean, a->lnf_rstd, residual, lm_lnf_w(m, m->params),
                             lm_lnf_b(m, m->params), N, C));
}

sj_status lm_forward_core(sj_lm *m, const sj_lm_batch *batch, sj_lm_forward_io *io,
                          sj_lm_prefix *past, sj_error *err)
{
    int T = 0;
    if (past && past->n == 0)
        past = NULL;
    int P = past ? past->n : 0;
    if (check_batch(m, batch, &T, err) != SJ_OK)
        return SJ_ERR_INPUT;
    if (P + T > m->cfg.ctx)
        return sj_error_set(err, SJ_ERR_INPUT,
                            "a prefix of %d positions and sequences of %d exceed the context of %d",
                            P, T, m->cfg.ctx);
    if (io && !(io->temperature > 0.0f))
        return sj_error_set(err, SJ_ERR_INPUT, "temperature must be positive, got %g",
                            (double)io->temperature);
    int B = batch->B, C = m->cfg.embd;
    if (check_positions(batch, io, T, err) != SJ_OK)
        return SJ_ERR_INPUT;
    if (lm_acts_reserve(m, B, T, err) != SJ_OK)
        return SJ_ERR_WORK;
    sj_lm_acts *a = m->acts;
    /* hidden_all reads every row: nothing to prune then */
    int prune = (past || (io && io->forward_only)) && !(io && io->hidden_all);
    choose_head_rows(a, batch, io, B, T);
    trunk_forward(m, batch, io, T, past, prune);
    LM_PROF(LM_PROF_OUTPUT, head_forward(m, batch, T));

    a->temperature = io ? io->temperature : 1.0f;
    a->has_lse = 0;
    a->has_hidden = io && io->hidden_pos;
    for (int b = 0; b < B; b++)
        a->hidden_pos[b] = a->has_hidden ? io->hidden_pos[b] : -1;
    /* a pass after a prefix keeps no attention weights, a pruned one not
     * every row: neither can be back-propagated */
    a->valid = past == NULL && !prune && !(io && io->forward_only);
    if (io) {
        LM_PROF(LM_PROF_SOFTMAX, token_outputs(m, batch, T, io));
        if (io->hidden && io->hidden_pos)
            for (int b = 0; b < B; b++)
                memcpy(io->hidden + (size_t)b * C, a->lnf + ((size_t)b * T + io->hidden_pos[b]) * C,
                       (size_t)C * sizeof(float));
        if (io->hidden_all)
            copy_hidden_all(io->hidden_all, a->lnf, B, T, batch->T, C);
    }
    return SJ_OK;
}

sj_status lm_batch_weight_sum(const sj_lm_batch *batch, double *wsum, sj_error *err)
{
    size_t n = (size_t)batch->B * batch->T;
    double s = 0.0;
    for (size_t i = 0; i < n; i++) {
        if (!isfinite(batch->weights[i]) || batch->weights[i] < 0.0f)
            return sj_error_set(err, SJ_ERR_INPUT, "token weights must be finite and >= 0");
        s += batch->weights[i];
    }
    if (s <= 0.0)
        return sj_error_set(err, SJ_ERR_INPUT, "every token weight in the batch is zero");
    *wsum = s;
    return SJ_OK;
}

static sj_status weighted_logprobs(sj_lm *m, const sj_lm_batch *batch, int gradient, float **lp,
                                   double *wsum, sj_error *err)
{
    size_t n = (size_t)batch->B * batch->T;
    sj_status st = lm_batch_weight_sum(batch, wsum, err);
    if (st != SJ_OK)
        return st;
    *lp = malloc(n * sizeof(float));
    if (!*lp)
        return sj_error_set(err, SJ_ERR_WORK, "out of memory");
    /* only weighted targets count: the output layer runs there alone (and
     * without a gradient, the last block too) */
    sj_lm_forward_io io = {
        .temperature = 1.0f, .logprobs = *lp, .sparse_head = 1, .forward_only = !gradient};
    if (sj_lm_forward(m, batch, &io, err) != SJ_OK) {
        free(*lp);
        *lp = NULL;
        return err ? err->status : SJ_ERR_INPUT;
    }
    return SJ_OK;
}

/* The weighted cross-entropy of the batch into *loss; with `gradient`,
 * the log-probs in *lp are replaced by d loss / d logprob for the backward
 * pass. The caller frees *lp (NULL after a failure). */
static sj_status weighted_ce(sj_lm *m, const sj_lm_batch *batch, int gradient, double *loss,
                             float **lp, sj_error *err)
{
    double wsum = 0.0;
    sj_status st = weighted_logprobs(m, batch, gradient, lp, &wsum, err);
    if (st != SJ_OK)
        return st;
    size_t n = (size_t)batch->B * batch->T;
    double total = 0.0;
    for (size_t i = 0; i < n; i++) {
        total -= (double)batch->weights[i] * (*lp)[i];
        if (gradient)
            (*lp)[i] = (float)(-batch->weights[i] / wsum);
    }
    *loss = total / wsum;
    return SJ_OK;
}

sj_status sj_lm_ce_loss(sj_lm *m, const sj_lm_batch *batch, double *loss, sj_error *err)
{
    float *lp = NULL;
    sj_status st = weighted_ce(m, batch, 0, loss, &lp, err);
    free(lp);
    return st;
}

sj_status sj_lm_ce_step(sj_lm *m, const sj_lm_batch *batch, double *loss, sj_error *err)
{
    float *lp = NULL;
    sj_status st = weighted_ce(m, batch, 1, loss, &lp, err);
    if (st == SJ_OK)
        st = sj_lm_backward(m, batch, lp, NULL, err);
    free(lp);
    return st;
}
