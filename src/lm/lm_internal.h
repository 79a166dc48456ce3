/* Private pieces of the lm module shared between its files. */
#ifndef SJTALIGN_LM_INTERNAL_H
#define SJTALIGN_LM_INTERNAL_H

#include <math.h>

#include "sjtalign/lm.h"

#define LM_LN_EPS 1e-5f

/* Below this many floating-point operations a loop runs on one thread: the
 * fork/join would cost more than the work. */
#define LM_PAR_MIN 200000.0

/* Matrix products are cut into this many blocks per thread and handed out
 * dynamically, so a thread the OS delays does not hold the others up. Each
 * block is computed the same way whichever thread takes it, so results do
 * not depend on the schedule. */
#define LM_CHUNKS_PER_THREAD 2

/* Per-layer parameter views (into params or grads). */
typedef struct {
    float *ln1_w, *ln1_b, *qkv_w, *qkv_b, *attproj_w, *attproj_b;
    float *ln2_w, *ln2_b, *fc_w, *fc_b, *mlpproj_w, *mlpproj_b;
} lm_layer;

/* Activations of one forward pass on B sequences of T positions (N = B*T
 * rows), plus the scratch space of the backward pass. */
struct sj_lm_acts {
    int B, T;
    int cap_B, cap_T;
    size_t cap_rows; /* rows the buffers below can hold */
    float *block;
    float *encoded;                             /* N x C */
    float **ln1, **ln1_mean, **ln1_rstd, **qkv; /* per layer */
    float **att;                                /* B x H x T x T */
    float **atty, **res2, **ln2, **ln2_mean, **ln2_rstd;
    float **fch, **fch_gelu, **res3;
    float *lnf, *lnf_mean, *lnf_rstd;
    /* The output layer runs on n_head of the N rows: head_rows[k] is the
     * row (b T + t) of head row k, head_index[row] its k or -1. head_in
     * holds those rows of lnf (lnf itself when every row is a head row,
     * head_full), logits and lse one row per head row. */
    int *head_rows, *head_index;
    int n_head, head_full;
    /* A forward-only pass runs the last block on the n_keep rows the
     * outputs read (head rows and hidden_pos), keep_rows, in row order. */
    int *keep_rows;
    int n_keep;
    float *head_in, *logits; /* n_head x C, n_head x V */
    float *lse;              /* per head row: log-sum-exp of logits / temperature (when has_lse) */
    int has_lse;
    /* backward scratch */
    float *dlogits, *dhead;                        /* n_head x V, n_head x C */
    float *dres, *dln, *datty, *dqkv, *d4c, *datt; /* datt: threads x T x T */
    float *ln_partial;                             /* threads x 2C */
    int n_threads;
    float temperature;
    int *hidden_pos; /* B; -1 = none */
    int has_hidden;
    int valid; /* a forward pass is stored */
};

/* exp(x) for float, written so that loops over it vectorise (no libm call):
 * Cody-Waite reduction x = k ln2 + r, |r| <= ln2/2, a degree-6 polynomial for
 * e^r (relative error about 2e-7, like expf) and 2^k put in the exponent bits.
 * Arguments are clamped to [-87.3, 88.7], the range of normal floats. */
static inline float lm_exp(float x)
{
    x = x < -87.3f ? -87.3f : (x > 88.7f ? 88.7f : x);
    /* round x / ln2 to an integer with the 1.5 * 2^23 trick (no rintf) */
    float k = (x * 1.44269504088896341f + 12582912.0f) - 12582912.0f;
    float r = x - k * 0.693359375f + k * 2.12194440e-4f;
    float p = 1.9875691500e-4f;
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    p = p * r * r + r + 1.0f;
    union {
        float f;
        int32_t i;
    } scale;
    scale.i = ((int32_t)k + 127) << 23;
    return p * scale.f;
}

/* The tanh approximation of GELU: 0.5 x (1 + tanh(K (x + A x^3))). */
#define LM_GELU_K 0.7978845608028654f /* sqrt(2/pi) */
#define LM_GELU_A 0.044715f

/* Part `part` of `parts` near-equal ranges of [0, n). */
static inline void lm_split(long n, int parts, int part, long *begin, long *end)
{
    long chunk = (n + parts - 1) / parts;
    *begin = chunk * part < n ? chunk * part : n;
    *end = *begin + chunk < n ? *begin + chunk : n;
}

/* tanh through exp: 1 - 2 / (e^{2u} + 1). */
static inline float lm_tanh(float u)
{
    return 1.0f - 2.0f / (lm_exp(2.0f * u) + 1.0f);
}

/* log-sum-exp of z / tau over a row of V logits. */
static inline float lm_row_lse(const float *z, int V, float inv_tau)
{
    float mx = z[0];
#pragma omp simd reduction(max : mx)
    for (int j = 1; j < V; j++)
        mx = z[j] > mx ? z[j] : mx;
    float s = 0.0f;
#pragma omp simd reduction(+ : s)
    for (int j = 0; j < V; j++)
        s += lm_exp((z[j] - mx) * inv_tau);
    /* s >= 1: the largest logit contributes exp(0) */
    // cppcheck-suppress invalidFunctionArg
    return mx * inv_tau + logf(s);
}

/* Per-kernel wall-clock profile (sj_lm_profile_*), off by default. */
enum {
    LM_PROF_EMBED,
    LM_PROF_LAYERNORM,
    LM_PROF_MATMUL,
    LM_PROF_ATTENTION,
    LM_PROF_GELU,
    LM_PROF_OUTPUT,
    LM_PROF_SOFTMAX,
    LM_PROF_N_KERNELS
};
#define LM_PROF_BACKWARD LM_PROF_N_KERNELS /* offset of the backward entries */
#define LM_PROF_OPTIMIZER (2 * LM_PROF_N_KERNELS)
#define LM_PROF_SLOTS (2 * LM_PROF_N_KERNELS + 1)
extern int lm_prof_on;
extern double lm_prof_seconds[LM_PROF_SLOTS];
#define LM_PROF(slot, stmt)                                                                        \
    do {                                                                                           \
        if (lm_prof_on) {                                                                          \
            double t0_ = sj_now();                                                                 \
            stmt;                                                                                  \
            lm_prof_seconds[slot] += sj_now() - t0_;                                               \
        } else {                                                                                   \
            stmt;                                                                                  \
        }                                                                                          \
    } while (0)

void lm_layer_views(const sj_lm *m, const float *base, int layer, lm_layer *out);
/* The sum of a whole batch's token weights, each checked finite and >= 0
 * and the sum > 0: the cross-entropy's denominator, which a rank's share
 * of the batch (sj_lm_ce_step_rows) divides by too. */
sj_status lm_batch_weight_sum(const sj_lm_batch *batch, double *wsum, sj_error *err);
float *lm_wte(const sj_lm *m, const float *base);
float *lm_wpe(const sj_lm *m, const float *base);
float *lm_lnf_w(const sj_lm *m, const float *base);
float *lm_lnf_b(const sj_lm *m, const float *base);

/* Makes sure the activation buffers hold B x T rows. */
sj_status lm_acts_reserve(sj_lm *m, int B, int T, sj_error *err);
void lm_acts_free(sj_lm_acts *a);

/* Matrix helpers, threaded by splitting rows across OpenMP threads with
 * single-threaded sgemm in each (one thread pool, no oversubscription). */
/* Y[n x out] = X[n x in] W^T (+ bias) */
void lm_linear_fwd(float *Y, const float *X, const float *W, const float *bias, int n, int in,
                   int out);
/* dX[n x in] (+)= dY W ; dW[out x in] += dY^T X ; dbias += colsum(dY) */
void lm_linear_bwd(float *dX, int accumulate_dx, float *dW, float *dbias, const float *dY,
                   const float *X, const float *W, int n, int in, int out);

void lm_layernorm_fwd(float *out, float *mean, float *rstd, const float *x, const float *w,
                      const float *b, int n, int C);
/* dx += layernorm backward; dw, db accumulate. partial: threads x 2C scratch */
void lm_layernorm_bwd(float *dx, float *dw, float *db, const float *dout, const float *x,
                      const float *w, const float *mean, const float *rstd, int n, int C,
                      float *partial, int n_threads);

void lm_attention_fwd(float *out, float *att, const float *qkv, int B, int T, int C, int H);
void lm_attention_bwd(float *dqkv, const float *dout, const float *att, const float *qkv,
                      float *datt_scratch, int B, int T, int C, int H);

void lm_attention_rows(float *out, const float *qkv, const int *rows, int n, int T, int C, int H,
                       const float *pk, const float *pv, int P, float *scratch, int n_threads);
void lm_attention_fwd_past(float *out, const float *qkv, const float *pk, const float *pv, int P,
                           int B, int T, int C, int H, float *scratch);

/* A shared prefix (sj_lm_prefix_*): the keys and values of its n
 * positions at every layer, [layers x ctx x embd] each, and the scratch of
 * the attention that reads them. */
struct sj_lm_prefix {
    int n, ctx, embd, layers, vocab, n_threads;
    float *k, *v;
    float *scratch; /* n_threads x ctx: lm_attention_rows */
    float *scores;  /* heads x rows x ctx: lm_attention_fwd_past, grown as needed */
    size_t cap_scores;
    sj_lm_batch *batch; /* 1 x ctx: the prefix's own pass */
};

/* sj_lm_forward after `past` (NULL or empty: the plain forward). */
sj_status lm_forward_core(sj_lm *m, const sj_lm_batch *batch, sj_lm_forward_io *io,
                          sj_lm_prefix *past, sj_error *err);

/* Saves OpenBLAS's thread count and makes it single-threaded (the lm
 * kernels parallelise themselves); the restore puts the count back. */
/* Every matrix product of the lm runs single-threaded inside OpenMP's
 * threads; this sets OpenBLAS to one thread, once per process. */
void lm_blas_pin_single(void);

/* out = GELU(in), tanh approximation. */
void lm_gelu_fwd(float *out, const float *in, size_t n);

#endif
