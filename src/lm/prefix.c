/* Shared prefixes: many sequences that begin with the same tokens (every
 * response to an item starts with the item's prompt) run those tokens once;
 * their keys and values at every layer are kept and each sequence runs only
 * its own tokens, attending over the kept ones. Inference only. */
#include <stdlib.h>
#include <string.h>

#include <omp.h>

#include "lm_internal.h"

sj_lm_prefix *sj_lm_prefix_new(const sj_lm *m, sj_error *err)
{
    sj_lm_prefix *p = calloc(1, sizeof *p);
    if (!p) {
        sj_error_set(err, SJ_ERR_WORK, "out of memory");
        return NULL;
    }
    p->ctx = m->cfg.ctx;
    p->embd = m->cfg.embd;
    p->layers = m->cfg.layers;
    p->vocab = m->cfg.vocab;
    p->n_threads = omp_get_max_threads();
    size_t kv = (size_t)p->layers * p->ctx * p->embd;
    p->k = malloc(2 * kv * sizeof(float));
    p->scratch = malloc((size_t)p->n_threads * p->ctx * sizeof(float));
    p->batch = sj_lm_batch_new(1, p->ctx);
    if (!p->k || !p->scratch || !p->batch) {
        sj_lm_prefix_free(p);
        sj_error_set(err, SJ_ERR_WORK, "out of memory for a prefix cache");
        return NULL;
    }
    p->v = p->k + kv;
    return p;
}

void sj_lm_prefix_free(sj_lm_prefix *p)
{
    if (!p)
        return;
    free(p->k);
    free(p->scratch);
    free(p->scores);
    sj_lm_batch_free(p->batch);
    free(p);
}

int sj_lm_prefix_len(const sj_lm_prefix *p)
{
    return p->n;
}

/* The keys and values come from the ordinary forward pass on the prefix
 * alone (causal attention: later tokens never change them), so a prefixed
 * pass computes what the whole sequence's pass would, up to rounding. */
sj_status sj_lm_prefix_set(sj_lm_prefix *p, sj_lm *m, const int32_t *tokens, int n, sj_error *err)
{
    if (m->cfg.ctx != p->ctx || m->cfg.embd != p->embd || m->cfg.layers != p->layers ||
        m->cfg.vocab != p->vocab)
        return sj_error_set(err, SJ_ERR_INPUT, "a prefix cache made for another architecture");
    if (n < 0 || n >= p->ctx)
        return sj_error_set(err, SJ_ERR_INPUT,
                            "a prefix of %d tokens leaves no room in the context of %d", n, p->ctx);
    p->n = 0;
    if (n == 0)
        return SJ_OK;
    sj_lm_batch *b = p->batch;
    sj_lm_batch_clear(b);
    memcpy(b->tokens, tokens, (size_t)n * sizeof *tokens);
    b->lengths[0] = n;
    /* only the keys and values are read: no output layer, and the last
     * block stops after its qkv product */
    sj_lm_forward_io io = {.temperature = 1.0f, .sparse_head = 1, .forward_only = 1};
    sj_status st = lm_forward_core(m, b, &io, NULL, err);
    if (st != SJ_OK)
        return st;
    size_t C = (size_t)p->embd;
    for (int l = 0; l < p->layers; l++) {
        const float *qkv = m->acts->qkv[l];
        float *k = p->k + (size_t)l * p->ctx * C, *v = p->v + (size_t)l * p->ctx * C;
        for (int t = 0; t < n; t++) {
            memcpy(k + (size_t)t * C, qkv + (size_t)t * 3 * C + C, C * sizeof(float));
            memcpy(v + (size_t)t * C, qkv + (size_t)t * 3 * C + 2 * C, C * sizeof(float));
        }
    }
    /* the model's stored pass is the prefix's own, not one to back-propagate */
    m->acts->valid = 0;
    p->n = n;
    return SJ_OK;
}

sj_status sj_lm_forward_prefixed(sj_lm *m, sj_lm_prefix *prefix, const sj_lm_batch *batch,
                                 sj_lm_forward_io *io, sj_error *err)
{
    if (m->cfg.ctx != prefix->ctx || m->cfg.embd != prefix->embd ||
        m->cfg.layers != prefix->layers || m->cfg.vocab != prefix->vocab)
        return sj_error_set(err, SJ_ERR_INPUT, "a prefix cache made for another architecture");
    /* the scores of every query over the shared keys and its own: grown,
     * never shrunk, so a scorer's batches allocate once */
    int longest = 1; /* the pass's width, as check_batch sets it */
    for (int b = 0; b < batch->B; b++)
        longest = batch->lengths[b] > longest ? batch->lengths[b] : longest;
    size_t need = (size_t)m->cfg.heads * batch->B * longest * (size_t)(prefix->n + longest);
    if (prefix->n > 0 && need > prefix->cap_scores) {
        float *grown = malloc(need * sizeof *grown);
        if (!grown)
            return sj_error_set(err, SJ_ERR_WORK, "out of memory for attention scores");
        free(prefix->scores);
        prefix->scores = grown;
        prefix->cap_scores = need;
    }
    return lm_forward_core(m, batch, io, prefix, err);
}
