/* Backward pass: from d(objective)/d(log-probability of each target) and
 * d(objective)/d(final hidden state) back to every parameter. */
#include <math.h>
#include <string.h>

#include <cblas.h>
#include <omp.h>

#include "lm_internal.h"

void lm_linear_bwd(float *dX, int accumulate_dx, float *dW, float *dbias, const float *dY,
                   const float *X, const float *W, int n, int in, int out)
{
#pragma omp parallel if (4.0 * n * in * out > LM_PAR_MIN)
    {
        /* items 0..parts-1: row blocks of dX; parts..2 parts-1: row blocks of
         * dW (and the matching bias entries) */
        int parts = LM_CHUNKS_PER_THREAD * omp_get_num_threads();
#pragma omp for schedule(dynamic, 1)
        for (int item = 0; item < 2 * parts; item++) {
            long a0, a1;
            if (item < parts) {
                lm_split(n, parts, item, &a0, &a1);
                if (dX && a1 > a0)
                    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)(a1 - a0), in, out,
                                1.0f, dY + (size_t)a0 * out, out, W, in,
                                accumulate_dx ? 1.0f : 0.0f, dX + (size_t)a0 * in, in);
                continue;
            }
            lm_split(out, parts, item - parts, &a0, &a1);
            if (a1 <= a0)
                continue;
            cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)(a1 - a0), in, n, 1.0f,
                        dY + a0, out, X, in, 1.0f, dW + (size_t)a0 * in, in);
            if (dbias)
                for (long r = 0; r < n; r++) {
                    const float *dy = dY + (size_t)r * out;
#pragma omp simd
                    for (long o = a0; o < a1; o++)
                        dbias[o] += dy[o];
                }
        }
    }
}

void lm_layernorm_bwd(float *dx, float *dw, float *db, const float *dout, const float *x,
                      const float *w, const float *mean, const float *rstd, int n, int C,
                      float *partial, int n_threads)
{
    memset(partial, 0, (size_t)n_threads * 2 * C * sizeof(float));
#pragma omp parallel num_threads(n_threads) if (10.0 * n * C > LM_PAR_MIN)
    {
        int parts = omp_get_num_threads(), part = omp_get_thread_num();
        long r0, r1;
        lm_split(n, parts, part, &r0, &r1);
        float *pdw = partial + (size_t)part * 2 * C, *pdb = pdw + C;
        for (long r = r0; r < r1; r++) {
            const float *dy = dout + (size_t)r * C, *xr = x + (size_t)r * C;
            float mu = mean[r], rs = rstd[r];
            float mean_dn = 0.0f, mean_dn_norm = 0.0f;
#pragma omp simd reduction(+ : mean_dn, mean_dn_norm)
            for (int i = 0; i < C; i++) {
                float norm = (xr[i] - mu) * rs;
                float dn = dy[i] * w[i];
                mean_dn += dn;
                mean_dn_norm += dn * norm;
                pdw[i] += dy[i] * norm;
                pdb[i] += dy[i];
            }
            mean_dn /= C;
            mean_dn_norm /= C;
            float *d = dx + (size_t)r * C;
#pragma omp simd
            for (int i = 0; i < C; i++) {
                float norm = (xr[i] - mu) * rs;
                d[i] += rs * (dy[i] * w[i] - mean_dn - norm * mean_dn_norm);
            }
        }
    }
    /* Reduced in thread order so results do not depend on timing. */
    for (int t = 0; t < n_threads; t++)
        for (int i = 0; i < C; i++) {
            dw[i] += partial[(size_t)t * 2 * C + i];
            db[i] += partial[(size_t)t * 2 * C + C + i];
        }
}

static void gelu_bwd(float *d, const float *x_in, size_t n)
{
    const float k = LM_GELU_K;
#pragma omp parallel for simd schedule(static) if (30.0 * n > LM_PAR_MIN)
    for (size_t i = 0; i < n; i++) {
        float x = x_in[i];
        float u = k * (x + LM_GELU_A * x * x * x);
        float t = lm_tanh(u);
        float grad =
            0.5f * (1.0f + t) + 0.5f * x * (1.0f - t * t) * k * (1.0f + 3.0f * LM_GELU_A * x * x);
        d[i] *= grad;
    }
}

/* d objective / d logits from d objective / d logprob at temperature tau,
 * on the head rows: d lp / d z_j = (1[j = y] - p_j) / tau. */
static void logits_bwd(sj_lm *m, const sj_lm_batch *batch, const float *dlogprob)
{
    sj_lm_acts *a = m->acts;
    int V = m->cfg.vocab, T = a->T;
    float inv_tau = 1.0f / a->temperature;
#pragma omp parallel for schedule(static) if (4.0 * a->n_head * V > LM_PAR_MIN)
    for (int k = 0; k < a->n_head; k++) {
        int r = a->head_rows[k], b = r / T, t = r % T;
        size_t at = (size_t)b * batch->T + t;
        float g = dlogprob[at];
        float *dz = a->dlogits + (size_t)k * V;
        if (g == 0.0f) {
            memset(dz, 0, (size_t)V * sizeof(float));
            continue;
        }
        const float *z = a->logits + (size_t)k * V;
        float lse = a->has_lse ? a->lse[k] : lm_row_lse(z, V, inv_tau);
        /* p_j = exp(z_j / tau - lse) */
        float c = -g * inv_tau;
#pragma omp simd
        for (int j = 0; j < V; j++)
            dz[j] = c * lm_exp(z[j] * inv_tau - lse);
        dz[batch->targets[at]] += g * inv_tau;
    }
}

/* A sparse head has log-probs at its rows only; a gradient elsewhere would
 * be silently lost, so it is refused. */
static sj_status check_dlogprob(const sj_lm_acts *a, const sj_lm_batch *batch,
                                const float *dlogprob, sj_error *err)
{
    for (int r = 0; !a->head_full && r < a->B * a->T; r++) {
        int b = r / a->T, t = r % a->T;
        if (a->head_index[r] < 0 && dlogprob[(size_t)b * batch->T + t] != 0.0f)
            return sj_error_set(err, SJ_ERR_WORK,
                                "a log-prob gradient at sequence %d position %d, where the "
                                "forward pass (sparse_head) computed no log-prob",
                                b, t);
    }
    return SJ_OK;
}

/* d objective / d (final hidden state) from the log-prob gradients: the
 * output layer's backward on the head rows, scattered into a->dln. */
static void head_bwd(sj_lm *m, const sj_lm_batch *batch, const float *dlogprob)
{
    sj_lm_acts *a = m->acts;
    int C = m->cfg.embd, V = m->cfg.vocab, N = a->B * a->T;
    LM_PROF(LM_PROF_BACKWARD + LM_PROF_SOFTMAX, logits_bwd(m, batch, dlogprob));
    if (a->head_full) {
        LM_PROF(LM_PROF_BACKWARD + LM_PROF_OUTPUT,
                lm_linear_bwd(a->dln, 0, lm_wte(m, m->grads), NULL, a->dlogits, a->lnf,
                              lm_wte(m, m->params), N, C, V));
        return;
    }
    memset(a->dln, 0, (size_t)N * C * sizeof(float));
    if (a->n_head == 0)
        return;
    LM_PROF(LM_PROF_BACKWARD + LM_PROF_OUTPUT,
            lm_linear_bwd(a->dhead, 0, lm_wte(m, m->grads), NULL, a->dlogits, a->head_in,
                          lm_wte(m, m->params), a->n_head, C, V));
    for (int k = 0; k < a->n_head; k++)
        memcpy(a->dln + (size_t)a->head_rows[k] * C, a->dhead + (size_t)k * C,
               (size_t)C * sizeof(float));
}

static void encoder_bwd(sj_lm *m, const sj_lm_batch *batch)
{
    sj_lm_acts *a = m->acts;
    int C = m->cfg.embd, T = a->T, N = a->B * a->T;
    float *dwte = lm_wte(m, m->grads), *dwpe = lm_wpe(m, m->grads);
    /* Threads own column ranges, so repeated tokens never race. */
#pragma omp parallel if (2.0 * N * C > LM_PAR_MIN)
    {
        long c0, c1;
        lm_split(C, omp_get_num_threads(), omp_get_thread_num(), &c0, &c1);
        for (int r = 0; r < N; r++) {
            int b = r / T, t = r % T;
            const float *d = a->dres + (size_t)r * C;
            float *e = dwte + (size_t)batch->tokens[(size_t)b * batch->T + t] * C;
            float *p = dwpe + (size_t)t * C;
#pragma omp simd
            for (long i = c0; i < c1; i++) {
                e[i] += d[i];
                p[i] += d[i];
            }
        }
    }
}

/* The gradient of one transformer block: a->dres holds d loss / d output
 * on entry and d loss / d input on return; parameter gradients add up. */
static void block_backward(sj_lm *m, int l, int B, int T)
{
    sj_lm_acts *a = m->acts;
    int N = B * T, C = m->cfg.embd, H = m->cfg.heads;
    lm_layer w, g;
    lm_layer_views(m, m->params, l, &w);
    lm_layer_views(m, m->grads, l, &g);
    const float *residual = l > 0 ? a->res3[l - 1] : a->encoded;
    LM_PROF(LM_PROF_BACKWARD + LM_PROF_MATMUL,
            lm_linear_bwd(a->d4c, 0, g.mlpproj_w, g.mlpproj_b, a->dres, a->fch_gelu[l], w.mlpproj_w,
                          N, 4 * C, C));
    LM_PROF(LM_PROF_BACKWARD + LM_PROF_GELU, gelu_bwd(a->d4c, a->fch[l], (size_t)N * 4 * C));
    LM_PROF(LM_PROF_BACKWARD + LM_PROF_MATMUL,
            lm_linear_bwd(a->dln, 0, g.fc_w, g.fc_b, a->d4c, a->ln2[l], w.fc_w, N, C, 4 * C));
    LM_PROF(LM_PROF_BACKWARD + LM_PROF_LAYERNORM,
            lm_layernorm_bwd(a->dres, g.ln2_w, g.ln2_b, a->dln, a->res2[l], w.ln2_w, a->ln2_mean[l],
                             a->ln2_rstd[l], N, C, a->ln_partial, a->n_threads));
    LM_PROF(LM_PROF_BACKWARD + LM_PROF_MATMUL,
            lm_linear_bwd(a->datty, 0, g.attproj_w, g.attproj_b, a->dres, a->atty[l], w.attproj_w,
                          N, C, C));
    LM_PROF(LM_PROF_BACKWARD + LM_PROF_ATTENTION,
            lm_attention_bwd(a->dqkv, a->datty, a->att[l], a->qkv[l], a->datt, B, T, C, H));
    LM_PROF(LM_PROF_BACKWARD + LM_PROF_MATMUL,
            lm_linear_bwd(a->dln, 0, g.qkv_w, g.qkv_b, a->dqkv, a->ln1[l], w.qkv_w, N, C, 3 * C));
    LM_PROF(LM_PROF_BACKWARD + LM_PROF_LAYERNORM,
            lm_layernorm_bwd(a->dres, g.ln1_w, g.ln1_b, a->dln, residual, w.ln1_w, a->ln1_mean[l],
                             a->ln1_rstd[l], N, C, a->ln_partial, a->n_threads));
}

static sj_status backward(sj_lm *m, const sj_lm_batch *batch, const float *dlogprob,
                          const float *dhidden, const float *dhidden_all, sj_error *err)
{
    sj_lm_acts *a = m->acts;
    if (!a || !a->valid)
        return sj_error_set(err, SJ_ERR_WORK,
                            "backward pass without a forward pass (or after a prefixed one)");
    if (batch->B != a->B || batch->T < a->T)
        return sj_error_set(err, SJ_ERR_WORK, "backward pass on a batch other than the forward's");
    if (dhidden && !a->has_hidden)
        return sj_error_set(err, SJ_ERR_WORK,
                            "hidden-state gradients need a forward pass with hidden_pos");
    int B = a->B, T = a->T, N = B * T, C = m->cfg.embd;
    memset(a->dres, 0, (size_t)N * C * sizeof(float));
    if (dlogprob && check_dlogprob(a, batch, dlogprob, err) != SJ_OK)
        return SJ_ERR_WORK;
    if (dlogprob) {
        head_bwd(m, batch, dlogprob);
    } else {
        /* scalar-head objectives only: the output layer gets no gradient */
        memset(a->dln, 0, (size_t)N * C * sizeof(float));
    }
    if (dhidden)
        for (int b = 0; b < B; b++) {
            float *d = a->dln + ((size_t)b * T + a->hidden_pos[b]) * C;
            for (int i = 0; i < C; i++)
                d[i] += dhidden[(size_t)b * C + i];
        }
    if (dhidden_all)
        for (int b = 0; b < B; b++) {
            float *d = a->dln + (size_t)b * T * C;
            const float *g = dhidden_all + (size_t)b * batch->T * C;
            for (size_t i = 0; i < (size_t)T * C; i++)
                d[i] += g[i];
        }
    int L = m->cfg.layers;
    const float *final_res = a->res3[L - 1];
    LM_PROF(LM_PROF_BACKWARD + LM_PROF_LAYERNORM,
            lm_layernorm_bwd(a->dres, lm_lnf_w(m, m->grads), lm_lnf_b(m, m->grads), a->dln,
                             final_res, lm_lnf_w(m, m->params), a->lnf_mean, a->lnf_rstd, N, C,
                             a->ln_partial, a->n_threads));
    for (int l = L - 1; l >= 0; l--)
        block_backward(m, l, B, T);
    LM_PROF(LM_PROF_BACKWARD + LM_PROF_EMBED, encoder_bwd(m, batch));
    return SJ_OK;
}

sj_status sj_lm_backward(sj_lm *m, const sj_lm_batch *batch, const float *dlogprob,
                         const float *dhidden, sj_error *err)
{
    return backward(m, batch, dlogprob, dhidden, NULL, err);
}

sj_status sj_lm_backward_all(sj_lm *m, const sj_lm_batch *batch, const float *dlogprob,
                             const float *dhidden_all, sj_error *err)
{
    return backward(m, batch, dlogprob, NULL, dhidden_all, err);
}
