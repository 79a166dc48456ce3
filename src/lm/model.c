/* Model architecture: configuration checks, the parameter layout (one
 * contiguous block, tensors in a fixed order), allocation, initialisation,
 * copies and batches. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_randist.h>
#include <omp.h>

#include "lm_internal.h"

#define TENSORS_PER_LAYER 12

sj_status sj_lm_config_validate(const sj_lm_config *cfg, sj_error *err)
{
    if (cfg->vocab < SJ_TOK_N_BASE || cfg->vocab > 1000000)
        return sj_error_set(err, SJ_ERR_INPUT,
                            "--vocab must be between %d (256 bytes + 4 special tokens) and "
                            "1000000, got %d",
                            SJ_TOK_N_BASE, cfg->vocab);
    if (cfg->ctx < 8 || cfg->ctx > 65536)
        return sj_error_set(err, SJ_ERR_INPUT, "--ctx must be between 8 and 65536, got %d",
                            cfg->ctx);
    if (cfg->layers < 1 || cfg->layers > 256)
        return sj_error_set(err, SJ_ERR_INPUT, "--layers must be between 1 and 256, got %d",
                            cfg->layers);
    if (cfg->heads < 1 || cfg->heads > 1024)
        return sj_error_set(err, SJ_ERR_INPUT, "--heads must be between 1 and 1024, got %d",
                            cfg->heads);
    if (cfg->embd < 1 || cfg->embd > 65536)
        return sj_error_set(err, SJ_ERR_INPUT, "--embd must be between 1 and 65536, got %d",
                            cfg->embd);
    if (cfg->embd % cfg->heads != 0)
        return sj_error_set(err, SJ_ERR_INPUT,
                            "--embd (%d) must be divisible by --heads (%d): each head gets "
                            "embd/heads dimensions",
                            cfg->embd, cfg->heads);
    return SJ_OK;
}

/* Shapes of the tensors in memory order. */
typedef struct {
    char name[64];
    size_t rows, cols;
    int is_matrix;
} tensor_shape;

static size_t layout(const sj_lm_config *cfg, tensor_shape *out)
{
    size_t V = (size_t)cfg->vocab, T = (size_t)cfg->ctx, C = (size_t)cfg->embd;
    size_t k = 0;
#define ADD(nm, r, c, mat)                                                                         \
    do {                                                                                           \
        if (out) {                                                                                 \
            snprintf(out[k].name, sizeof out[k].name, "%s", nm);                                   \
            out[k].rows = (r);                                                                     \
            out[k].cols = (c);                                                                     \
            out[k].is_matrix = (mat);                                                              \
        }                                                                                          \
        k++;                                                                                       \
    } while (0)
    ADD("wte", V, C, 1);
    ADD("wpe", T, C, 1);
    for (int l = 0; l < cfg->layers; l++) {
        char nm[64];
        static const char *const names[TENSORS_PER_LAYER] = {
            "ln_1.weight",      "ln_1.bias",      "attn.qkv.weight", "attn.qkv.bias",
            "attn.proj.weight", "attn.proj.bias", "ln_2.weight",     "ln_2.bias",
            "mlp.fc.weight",    "mlp.fc.bias",    "mlp.proj.weight", "mlp.proj.bias"};
        const size_t rows[TENSORS_PER_LAYER] = {1, 1, 3 * C, 1, C, 1, 1, 1, 4 * C, 1, C, 1};
        const size_t cols[TENSORS_PER_LAYER] = {C, C, C, 3 * C, C, C, C, C, C, 4 * C, 4 * C, C};
        for (int i = 0; i < TENSORS_PER_LAYER; i++) {
            snprintf(nm, sizeof nm, "h.%d.%s", l, names[i]);
            ADD(nm, rows[i], cols[i], rows[i] > 1);
        }
    }
    ADD("ln_f.weight", 1, C, 0);
    ADD("ln_f.bias", 1, C, 0);
#undef ADD
    return k;
}

size_t sj_lm_config_n_params(const sj_lm_config *cfg)
{
    size_t n = layout(cfg, NULL);
    tensor_shape *s = calloc(n, sizeof *s);
    if (!s)
        return 0;
    layout(cfg, s);
    size_t total = 0;
    for (size_t i = 0; i < n; i++)
        total += s[i].rows * s[i].cols;
    free(s);
    return total;
}

static sj_lm_tensor *make_views(const tensor_shape *s, size_t n, float *base)
{
    sj_lm_tensor *t = calloc(n, sizeof *t);
    if (!t)
        return NULL;
    size_t off = 0;
    for (size_t i = 0; i < n; i++) {
        t[i].name = sj_strdup(s[i].name);
        t[i].rows = s[i].rows;
        t[i].cols = s[i].cols;
        t[i].is_matrix = s[i].is_matrix;
        t[i].data = base + off;
        off += s[i].rows * s[i].cols;
    }
    return t;
}

static void free_views(sj_lm_tensor *t, size_t n)
{
    if (!t)
        return;
    for (size_t i = 0; i < n; i++)
        free((char *)t[i].name);
    free(t);
}

void sj_lm_free(sj_lm *m)
{
    if (!m)
        return;
    free(m->params);
    free(m->grads);
    free(m->decay);
    free_views(m->tensors, m->n_tensors);
    free_views(m->gtensors, m->n_tensors);
    lm_acts_free(m->acts);
    free(m);
}

const char *sj_lm_kernels(void)
{
#if defined(__AVX2__) && defined(__FMA__)
    return "x86-64-v3";
#else
    return "portable";
#endif
}

static sj_lm *alloc_model(const sj_lm_config *cfg, sj_error *err)
{
    lm_blas_pin_single();
    if (sj_lm_config_validate(cfg, err) != SJ_OK)
        return NULL;
    sj_lm *m = calloc(1, sizeof *m);
    size_t nt = layout(cfg, NULL);
    tensor_shape *s = calloc(nt, sizeof *s);
    if (!m || !s) {
        free(m);
        free(s);
        sj_error_set(err, SJ_ERR_WORK, "out of memory allocating the model");
        return NULL;
    }
    layout(cfg, s);
    m->cfg = *cfg;
    m->n_tensors = nt;
    for (size_t i = 0; i < nt; i++)
        m->n_params += s[i].rows * s[i].cols;
    m->params = calloc(m->n_params, sizeof(float));
    m->grads = calloc(m->n_params, sizeof(float));
    m->decay = calloc(m->n_params, 1);
    if (m->params && m->grads && m->decay) {
        m->tensors = make_views(s, nt, m->params);
        m->gtensors = make_views(s, nt, m->grads);
    }
    free(s);
    if (!m->tensors || !m->gtensors) {
        sj_lm_free(m);
        sj_error_set(err, SJ_ERR_WORK, "out of memory allocating %zu parameters", m->n_params);
        return NULL;
    }
    for (size_t i = 0; i < nt; i++)
        if (m->tensors[i].is_matrix)
            memset(m->decay + (m->tensors[i].data - m->params), 1,
                   m->tensors[i].rows * m->tensors[i].cols);
    return m;
}

static int ends_with(const char *s, const char *suffix)
{
    size_t a = strlen(s), b = strlen(suffix);
    return a >= b && strcmp(s + a - b, suffix) == 0;
}

sj_lm *sj_lm_new(const sj_lm_config *cfg, gsl_rng *rng, sj_error *err)
{
    sj_lm *m = alloc_model(cfg, err);
    if (!m || !rng)
        return m;
    /* Residual projections are scaled down so the residual stream's variance
     * does not grow with depth (GPT-2). */
    double resid_sd = 0.02 / sqrt(2.0 * cfg->layers);
    for (size_t i = 0; i < m->n_tensors; i++) {
        sj_lm_tensor *t = &m->tensors[i];
        size_t n = t->rows * t->cols;
        if (ends_with(t->name, "ln_1.weight") || ends_with(t->name, "ln_2.weight") ||
            strcmp(t->name, "ln_f.weight") == 0) {
            for (size_t j = 0; j < n; j++)
                t->data[j] = 1.0f;
        } else if (t->is_matrix) {
            double sd = ends_with(t->name, "proj.weight") ? resid_sd : 0.02;
            for (size_t j = 0; j < n; j++)
                t->data[j] = (float)gsl_ran_gaussian(rng, sd);
        }
    }
    return m;
}

sj_lm *sj_lm_copy(const sj_lm *src, sj_error *err)
{
    sj_lm *m = alloc_model(&src->cfg, err);
    if (m)
        memcpy(m->params, src->params, src->n_params * sizeof(float));
    return m;
}

const sj_lm_tensor *sj_lm_tensor_by_name(const sj_lm *m, const char *name)
{
    for (size_t i = 0; i < m->n_tensors; i++)
        if (strcmp(m->tensors[i].name, name) == 0)
            return &m->tensors[i];
    return NULL;
}

void sj_lm_zero_grad(sj_lm *m)
{
    memset(m->grads, 0, m->n_params * sizeof(float));
}

static float *view(const sj_lm *m, const float *base, size_t index)
{
    return (float *)base + (m->tensors[index].data - m->params);
}

void lm_layer_views(const sj_lm *m, const float *base, int layer, lm_layer *out)
{
    size_t k = 2 + (size_t)layer * TENSORS_PER_LAYER;
    out->ln1_w = view(m, base, k + 0);
    out->ln1_b = view(m, base, k + 1);
    out->qkv_w = view(m, base, k + 2);
    out->qkv_b = view(m, base, k + 3);
    out->attproj_w = view(m, base, k + 4);
    out->attproj_b = view(m, base, k + 5);
    out->ln2_w = view(m, base, k + 6);
    out->ln2_b = view(m, base, k + 7);
    out->fc_w = view(m, base, k + 8);
    out->fc_b = view(m, base, k + 9);
    out->mlpproj_w = view(m, base, k + 10);
    out->mlpproj_b = view(m, base, k + 11);
}

float *lm_wte(const sj_lm *m, const float *base)
{
    return view(m, base, 0);
}

float *lm_wpe(const sj_lm *m, const float *base)
{
    return view(m, base, 1);
}

float *lm_lnf_w(const sj_lm *m, const float *base)
{
    return view(m, base, m->n_tensors - 2);
}

float *lm_lnf_b(const sj_lm *m, const float *base)
{
    return view(m, base, m->n_tensors - 1);
}

/* ---- activations --------------------------------------------------------- */

void lm_acts_free(sj_lm_acts *a)
{
    if (!a)
        return;
    free(a->block);
    free(a->ln1);
    free(a->hidden_pos);
    free(a->head_rows);
    free(a);
}

/* Carves the activation block into its buffers for caps of B x T: every
 * buffer is sized for the caps, and a pass on a smaller batch uses the
 * start of each with its own strides. */
static void acts_layout(sj_lm_acts *a, size_t L, size_t C, size_t V, size_t H, size_t B, size_t T,
                        size_t threads)
{
    size_t N = B * T, TT = T * T;
    float *p = a->block;
#define TAKE(dst, count)                                                                           \
    do {                                                                                           \
        (dst) = p;                                                                                 \
        p += (count);                                                                              \
    } while (0)
    TAKE(a->encoded, N * C);
    for (size_t l = 0; l < L; l++) {
        TAKE(a->ln1[l], N * C);
        TAKE(a->ln1_mean[l], N);
        TAKE(a->ln1_rstd[l], N);
        TAKE(a->qkv[l], N * 3 * C);
        TAKE(a->att[l], B * H * TT);
        TAKE(a->atty[l], N * C);
        TAKE(a->res2[l], N * C);
        TAKE(a->ln2[l], N * C);
        TAKE(a->ln2_mean[l], N);
        TAKE(a->ln2_rstd[l], N);
        TAKE(a->fch[l], N * 4 * C);
        TAKE(a->fch_gelu[l], N * 4 * C);
        TAKE(a->res3[l], N * C);
    }
    TAKE(a->lnf, N * C);
    TAKE(a->lnf_mean, N);
    TAKE(a->lnf_rstd, N);
    TAKE(a->lse, N);
    TAKE(a->head_in, N * C);
    TAKE(a->logits, N * V);
    TAKE(a->dlogits, N * V);
    TAKE(a->dhead, N * C);
    TAKE(a->dres, N * C);
    TAKE(a->dln, N * C);
    TAKE(a->datty, N * C);
    TAKE(a->dqkv, N * 3 * C);
    TAKE(a->d4c, N * 4 * C);
    TAKE(a->datt, threads * TT);
    TAKE(a->ln_partial, threads * 2 * C);
#undef TAKE
}

/* The activations are an arena that only grows: a pass that fits the
 * current caps reuses it (no allocation, and no fresh pages to fault in),
 * and a longer batch grows the positions at least twofold (up to the
 * context), so batches of rising length (the scorer's) reallocate a few
 * times, not once per batch. */
sj_status lm_acts_reserve(sj_lm *m, int B, int T, sj_error *err)
{
    sj_lm_acts *a = m->acts;
    int threads = omp_get_max_threads();
    if (a && a->cap_B >= B && a->cap_T >= T && a->n_threads >= threads) {
        a->B = B;
        a->T = T;
        return SJ_OK;
    }
    int cap_B = a && a->cap_B > B ? a->cap_B : B;
    int cap_T = T;
    if (a && a->cap_T < T)
        cap_T = 2 * a->cap_T > T ? 2 * a->cap_T : T;
    else if (a)
        cap_T = a->cap_T;
    cap_T = cap_T < m->cfg.ctx ? cap_T : (T > m->cfg.ctx ? T : m->cfg.ctx);
    threads = a && a->n_threads > threads ? a->n_threads : threads;
    lm_acts_free(a);
    m->acts = NULL;
    a = calloc(1, sizeof *a);
    if (!a)
        return sj_error_set(err, SJ_ERR_WORK, "out of memory");
    size_t L = (size_t)m->cfg.layers, C = (size_t)m->cfg.embd, V = (size_t)m->cfg.vocab;
    size_t H = (size_t)m->cfg.heads, N = (size_t)cap_B * cap_T, TT = (size_t)cap_T * cap_T;
    size_t per_layer = N * C /* ln1 */ + 2 * N + N * 3 * C + (size_t)cap_B * H * TT +
                       N * C * 2 /* atty res2 */
                       + N * C + 2 * N + N * 4 * C * 2 + N * C;
    size_t total = N * C + L * per_layer + N * C + 3 * N + N * C + N * V /* forward */
                   + N * V + N * C * 4 + N * 3 * C + N * 4 * C + (size_t)threads * TT +
                   (size_t)threads * 2 * C;
    a->block = malloc(total * sizeof(float));
    a->ln1 = calloc(13 * L, sizeof(float *));
    a->hidden_pos = calloc((size_t)cap_B, sizeof(int));
    a->head_rows = malloc(3 * N * sizeof(int));
    if (!a->block || !a->ln1 || !a->hidden_pos || !a->head_rows) {
        lm_acts_free(a);
        return sj_error_set(err, SJ_ERR_WORK, "out of memory for activations of %d x %d tokens",
                            cap_B, cap_T);
    }
    a->head_index = a->head_rows + N;
    a->keep_rows = a->head_rows + 2 * N;
    a->ln1_mean = a->ln1 + L;
    a->ln1_rstd = a->ln1 + 2 * L;
    a->qkv = a->ln1 + 3 * L;
    a->att = a->ln1 + 4 * L;
    a->atty = a->ln1 + 5 * L;
    a->res2 = a->ln1 + 6 * L;
    a->ln2 = a->ln1 + 7 * L;
    a->ln2_mean = a->ln1 + 8 * L;
    a->ln2_rstd = a->ln1 + 9 * L;
    a->fch = a->ln1 + 10 * L;
    a->fch_gelu = a->ln1 + 11 * L;
    a->res3 = a->ln1 + 12 * L;
    acts_layout(a, L, C, V, H, (size_t)cap_B, (size_t)cap_T, (size_t)threads);
    a->B = B;
    a->T = T;
    a->cap_B = cap_B;
    a->cap_T = cap_T;
    a->cap_rows = N;
    a->n_threads = threads;
    m->acts = a;
    return SJ_OK;
}

/* ---- batches ------------------------------------------------------------- */

sj_lm_batch *sj_lm_batch_new(int B, int T)
{
    if (B < 1 || T < 1)
        return NULL;
    sj_lm_batch *b = calloc(1, sizeof *b);
    if (!b)
        return NULL;
    size_t n = (size_t)B * T;
    b->B = B;
    b->T = T;
    b->tokens = calloc(n, sizeof *b->tokens);
    b->targets = calloc(n, sizeof *b->targets);
    b->weights = calloc(n, sizeof *b->weights);
    b->lengths = calloc((size_t)B, sizeof *b->lengths);
    b->bias_pos = malloc((size_t)B * sizeof *b->bias_pos);
    if (!b->tokens || !b->targets || !b->weights || !b->lengths || !b->bias_pos) {
        sj_lm_batch_free(b);
        return NULL;
    }
    for (int i = 0; i < B; i++)
        b->bias_pos[i] = -1;
    return b;
}

void sj_lm_batch_free(sj_lm_batch *b)
{
    if (!b)
        return;
    free(b->tokens);
    free(b->targets);
    free(b->weights);
    free(b->lengths);
    free(b->bias_pos);
    free(b->bias_tokens);
    free(b->bias);
    free(b);
}

void sj_lm_batch_clear(sj_lm_batch *b)
{
    size_t n = (size_t)b->B * b->T;
    for (size_t i = 0; i < n; i++) {
        b->tokens[i] = SJ_TOK_PAD;
        b->targets[i] = SJ_TOK_PAD;
        b->weights[i] = 0.0f;
    }
    memset(b->lengths, 0, (size_t)b->B * sizeof *b->lengths);
    for (int i = 0; i < b->B; i++)
        b->bias_pos[i] = -1;
}

sj_status sj_lm_batch_set(sj_lm_batch *batch, int b, const int32_t *seq, int len,
                          const float *target_weights, sj_error *err)
{
    if (b < 0 || b >= batch->B)
        return sj_error_set(err, SJ_ERR_INPUT, "batch row %d outside 0..%d", b, batch->B - 1);
    if (len < 2 || len > batch->T + 1)
        return sj_error_set(err, SJ_ERR_INPUT,
                            "a training sequence needs 2 to %d tokens (context %d + 1), got %d",
                            batch->T + 1, batch->T, len);
    size_t row = (size_t)b * batch->T;
    for (int t = 0; t < batch->T; t++) {
        int real = t < len - 1;
        batch->tokens[row + t] = real ? seq[t] : SJ_TOK_PAD;
        batch->targets[row + t] = real ? seq[t + 1] : SJ_TOK_PAD;
        batch->weights[row + t] = real ? (target_weights ? target_weights[t] : 1.0f) : 0.0f;
    }
    batch->lengths[b] = len - 1;
    batch->bias_pos[b] = -1; /* a bias belongs to the sequence it was set for */
    return SJ_OK;
}

sj_status sj_lm_batch_set_bias_tokens(sj_lm_batch *batch, const int32_t *tokens, int n,
                                      sj_error *err)
{
    if (n < 0 || (n > 0 && !tokens))
        return sj_error_set(err, SJ_ERR_INPUT, "a logit bias needs n >= 0 tokens, got %d", n);
    for (int k = 0; k < n; k++) {
        if (tokens[k] < 0)
            return sj_error_set(err, SJ_ERR_INPUT, "logit-bias token %d is negative (%d)", k,
                                tokens[k]);
        for (int j = 0; j < k; j++)
            if (tokens[j] == tokens[k])
                return sj_error_set(err, SJ_ERR_INPUT,
                                    "logit-bias token id %d is listed twice (entries %d and %d)",
                                    tokens[k], j, k);
    }
    if (n > 0 && n == batch->n_bias &&
        memcmp(tokens, batch->bias_tokens, (size_t)n * sizeof *tokens) == 0) {
        /* the same tokens again (a scorer's every batch): nothing to allocate */
        memset(batch->bias, 0, (size_t)batch->B * n * sizeof *batch->bias);
        for (int i = 0; i < batch->B; i++)
            batch->bias_pos[i] = -1;
        return SJ_OK;
    }
    int32_t *ids = NULL;
    float *bias = NULL;
    if (n > 0) {
        ids = malloc((size_t)n * sizeof *ids);
        bias = calloc((size_t)batch->B * n, sizeof *bias);
        if (!ids || !bias) {
            free(ids);
            free(bias);
            return sj_error_set(err, SJ_ERR_WORK, "out of memory");
        }
        memcpy(ids, tokens, (size_t)n * sizeof *ids);
    }
    free(batch->bias_tokens);
    free(batch->bias);
    batch->bias_tokens = ids;
    batch->bias = bias;
    batch->n_bias = n;
    for (int i = 0; i < batch->B; i++)
        batch->bias_pos[i] = -1;
    return SJ_OK;
}

sj_status sj_lm_batch_set_bias(sj_lm_batch *batch, int b, int pos, const float *bias, sj_error *err)
{
    if (b < 0 || b >= batch->B)
        return sj_error_set(err, SJ_ERR_INPUT, "batch row %d outside 0..%d", b, batch->B - 1);
    if (batch->n_bias <= 0)
        return sj_error_set(err, SJ_ERR_INPUT,
                            "a logit bias needs its tokens first (sj_lm_batch_set_bias_tokens)");
    if (pos < 0 || pos >= batch->lengths[b])
        return sj_error_set(err, SJ_ERR_INPUT,
                            "logit-bias position %d of sequence %d is outside 0..%d", pos, b,
                            batch->lengths[b] - 1);
    for (int k = 0; k < batch->n_bias; k++)
        if (!isfinite(bias[k]))
            return sj_error_set(err, SJ_ERR_INPUT, "logit bias %d of sequence %d is not finite", k,
                                b);
    memcpy(batch->bias + (size_t)b * batch->n_bias, bias, (size_t)batch->n_bias * sizeof *bias);
    batch->bias_pos[b] = pos;
    return SJ_OK;
}
