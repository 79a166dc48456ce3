/* Generation with a key/value cache: the prompt is processed once (as one
 * batch of rows through sgemm), then each new token costs one row. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <cblas.h>

#include "lm_internal.h"

typedef struct {
    int L, C, ctx;
    float *k, *v; /* per layer [ctx x C] */
    /* scratch for up to ctx rows */
    float *x, *xn, *qkv, *y, *h, *hg, *tmp, *scores, *logits;
} kv_cache;

static void cache_free(kv_cache *c)
{
    free(c->k);
    free(c->x);
}

static int cache_alloc(kv_cache *c, const sj_lm *m)
{
    memset(c, 0, sizeof *c);
    c->L = m->cfg.layers;
    c->C = m->cfg.embd;
    c->ctx = m->cfg.ctx;
    size_t C = (size_t)c->C, T = (size_t)c->ctx;
    c->k = malloc(2 * (size_t)c->L * T * C * sizeof(float));
    size_t scratch = T * C * 3 + T * 3 * C + T * 4 * C * 2 + T * C + T * T + (size_t)m->cfg.vocab;
    c->x = malloc(scratch * sizeof(float));
    if (!c->k || !c->x) {
        cache_free(c);
        return -1;
    }
    c->v = c->k + (size_t)c->L * T * C;
    c->xn = c->x + T * C;
    c->y = c->xn + T * C;
    c->qkv = c->y + T * C;
    c->h = c->qkv + T * 3 * C;
    c->hg = c->h + T * 4 * C;
    c->tmp = c->hg + T * 4 * C;
    c->scores = c->tmp + T * C;
    c->logits = c->scores + T * T;
    return 0;
}

/* Attention of n new rows (positions start..start+n-1) over the cache. */
static void cached_attention(kv_cache *c, int layer, int start, int n, int H)
{
    int C = c->C, hs = C / H, total = start + n;
    float scale = 1.0f / sqrtf((float)hs);
    const float *K = c->k + (size_t)layer * c->ctx * C, *V = c->v + (size_t)layer * c->ctx * C;
    for (int h = 0; h < H; h++) {
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, n, total, hs, scale,
                    c->qkv + (size_t)h * hs, 3 * C, K + (size_t)h * hs, C, 0.0f, c->scores, total);
        for (int i = 0; i < n; i++) {
            float *row = c->scores + (size_t)i * total;
            int last = start + i;
            float mx = row[0];
            for (int j = 1; j <= last; j++)
                if (row[j] > mx)
                    mx = row[j];
            float s = 0.0f;
            for (int j = 0; j <= last; j++) {
                row[j] = lm_exp(row[j] - mx);
                s += row[j];
            }
            for (int j = 0; j <= last; j++)
                row[j] /= s;
            for (int j = last + 1; j < total; j++)
                row[j] = 0.0f;
        }
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, hs, total, 1.0f, c->scores, total,
                    V + (size_t)h * hs, C, 0.0f, c->y + (size_t)h * hs, C);
    }
}

/* Runs tokens[0..n-1] at positions start.. and leaves the logits of the
 * last one in c->logits. */
static void cached_forward(const sj_lm *m, kv_cache *c, const int32_t *tokens, int start, int n)
{
    int C = c->C, V = m->cfg.vocab;
    const float *wte = lm_wte(m, m->params), *wpe = lm_wpe(m, m->params);
    for (int i = 0; i < n; i++)
        for (int d = 0; d < C; d++)
            c->x[(size_t)i * C + d] =
                wte[(size_t)tokens[i] * C + d] + wpe[(size_t)(start + i) * C + d];
    float *mean = c->scores, *rstd = c->scores + c->ctx; /* free until attention */
    for (int l = 0; l < c->L; l++) {
        lm_layer w;
        lm_layer_views(m, m->params, l, &w);
        lm_layernorm_fwd(c->xn, mean, rstd, c->x, w.ln1_w, w.ln1_b, n, C);
        lm_linear_fwd(c->qkv, c->xn, w.qkv_w, w.qkv_b, n, C, 3 * C);
        float *K = c->k + (size_t)l * c->ctx * C, *Vc = c->v + (size_t)l * c->ctx * C;
        for (int i = 0; i < n; i++) {
            memcpy(K + (size_t)(start + i) * C, c->qkv + (size_t)i * 3 * C + C, C * sizeof(float));
            memcpy(Vc + (size_t)(start + i) * C, c->qkv + (size_t)i * 3 * C + 2 * C,
                   C * sizeof(float));
        }
        cached_attention(c, l, start, n, m->cfg.heads);
        lm_linear_fwd(c->tmp, c->y, w.attproj_w, w.attproj_b, n, C, C);
        for (size_t i = 0; i < (size_t)n * C; i++)
            c->x[i] += c->tmp[i];
        lm_layernorm_fwd(c->xn, mean, rstd, c->x, w.ln2_w, w.ln2_b, n, C);
        lm_linear_fwd(c->h, c->xn, w.fc_w, w.fc_b, n, C, 4 * C);
        lm_gelu_fwd(c->hg, c->h, (size_t)n * 4 * C);
        lm_linear_fwd(c->tmp, c->hg, w.mlpproj_w, w.mlpproj_b, n, 4 * C, C);
        for (size_t i = 0; i < (size_t)n * C; i++)
            c->x[i] += c->tmp[i];
    }
    const float *last = c->x + (size_t)(n - 1) * C;
    lm_layernorm_fwd(c->xn, mean, rstd, last, lm_lnf_w(m, m->params), lm_lnf_b(m, m->params), 1, C);
    lm_linear_fwd(c->logits, c->xn, wte, NULL, 1, C, V);
}

static int cmp_desc(const void *a, const void *b)
{
    float x = *(const float *)a, y = *(const float *)b;
    return (x < y) - (x > y);
}

/* Samples from softmax(z/tau) restricted to the top k logits; returns the
 * token and its log-probability under the unrestricted distribution. */
static int32_t sample(const float *z, int V, float tau, int top_k, gsl_rng *rng, float *scratch,
                      float *logprob)
{
    float threshold = -INFINITY;
    if (top_k > 0 && top_k < V) {
        memcpy(scratch, z, (size_t)V * sizeof(float));
        qsort(scratch, (size_t)V, sizeof(float), cmp_desc);
        threshold = scratch[top_k - 1];
    }
    int32_t best = 0;
    for (int j = 1; j < V; j++)
        if (z[j] > z[best])
            best = j;
    float mx = z[best];
    double all = 0.0, kept = 0.0;
    for (int j = 0; j < V; j++) {
        double e = exp((double)(z[j] - mx) / tau);
        all += e;
        if (z[j] >= threshold)
            kept += e;
    }
    double u = gsl_rng_uniform(rng) * kept, acc = 0.0;
    int32_t pick = best;
    for (int j = 0; j < V; j++) {
        if (z[j] < threshold)
            continue;
        acc += exp((double)(z[j] - mx) / tau);
        pick = j;
        if (acc > u)
            break;
    }
    /* all >= 1: the largest logit contributes exp(0) */
    // cppcheck-suppress invalidFunctionArg
    *logprob = (float)((double)(z[pick] - mx) / tau - log(all));
    return pick;
}

static sj_status check_sample_bias(const sj_lm *m, const sj_lm_sample_opts *o, sj_error *err)
{
    if (o->n_bias == 0)
        return SJ_OK;
    if (o->n_bias < 0 || !o->bias_tokens || !o->bias || o->bias_step < 0)
        return sj_error_set(err, SJ_ERR_INPUT,
                            "a sampling logit bias needs n_bias >= 0, its tokens and values, and "
                            "bias_step >= 0");
    for (int k = 0; k < o->n_bias; k++) {
        if (o->bias_tokens[k] < 0 || o->bias_tokens[k] >= m->cfg.vocab)
            return sj_error_set(err, SJ_ERR_INPUT,
                                "logit-bias token id %d is outside the vocabulary of %d",
                                o->bias_tokens[k], m->cfg.vocab);
        if (!isfinite(o->bias[k]))
            return sj_error_set(err, SJ_ERR_INPUT, "logit bias %d is not finite", k);
        for (int j = 0; j < k; j++)
            if (o->bias_tokens[j] == o->bias_tokens[k])
                return sj_error_set(err, SJ_ERR_INPUT, "logit-bias token id %d is listed twice",
                                    o->bias_tokens[k]);
    }
    return SJ_OK;
}

sj_status sj_lm_generate(sj_lm *m, const int32_t *prompt, int n_prompt,
                         const sj_lm_sample_opts *opts, gsl_rng *rng, int32_t *out_tokens,
                         float *out_logprobs, int *n_out, sj_error *err)
{
    *n_out = 0;
    if (n_prompt < 1 || n_prompt >= m->cfg.ctx)
        return sj_error_set(err, SJ_ERR_INPUT, "a prompt needs 1 to %d tokens, got %d",
                            m->cfg.ctx - 1, n_prompt);
    if (!(opts->temperature > 0.0f) || opts->top_k < 0 || opts->max_new < 0)
        return sj_error_set(err, SJ_ERR_INPUT,
                            "sampling needs temperature > 0, top_k >= 0 and max_new >= 0");
    for (int i = 0; i < n_prompt; i++)
        if (prompt[i] < 0 || prompt[i] >= m->cfg.vocab)
            return sj_error_set(err, SJ_ERR_INPUT, "prompt token %d is outside the vocabulary",
                                prompt[i]);
    if (check_sample_bias(m, opts, err) != SJ_OK)
        return SJ_ERR_INPUT;
    kv_cache c;
    if (cache_alloc(&c, m) != 0)
        return sj_error_set(err, SJ_ERR_WORK, "out of memory for the key/value cache");
    float *scratch = malloc((size_t)m->cfg.vocab * sizeof(float));
    if (!scratch) {
        cache_free(&c);
        return sj_error_set(err, SJ_ERR_WORK, "out of memory");
    }
    cached_forward(m, &c, prompt, 0, n_prompt);
    int pos = n_prompt;
    for (int i = 0; i < opts->max_new; i++) {
        float lp;
        /* the cache's logits are recomputed for every token, so the bias
         * never outlives its step */
        for (int k = 0; i == opts->bias_step && k < opts->n_bias; k++)
            c.logits[opts->bias_tokens[k]] += opts->bias[k];
        int32_t tok =
            sample(c.logits, m->cfg.vocab, opts->temperature, opts->top_k, rng, scratch, &lp);
        out_tokens[i] = tok;
        if (out_logprobs)
            out_logprobs[i] = lp;
        *n_out = i + 1;
        if (tok == opts->stop || pos >= m->cfg.ctx)
            break;
        cached_forward(m, &c, &tok, pos, 1);
        pos++;
    }
    free(scratch);
    cache_free(&c);
    return SJ_OK;
}
