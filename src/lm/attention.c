/* Causal multi-head self-attention, forward and backward. Each (sequence,
 * head) pair is two sgemm calls forward (scores Q K^T, output P V) and four
 * backward; the pairs are spread over OpenMP threads. */
#include <math.h>
#include <pthread.h>
#include <string.h>

#include <cblas.h>
#include <omp.h>

#include "lm_internal.h"

static pthread_once_t blas_pinned = PTHREAD_ONCE_INIT;

static void pin_blas(void)
{
    openblas_set_num_threads(1);
}

void lm_blas_pin_single(void)
{
    pthread_once(&blas_pinned, pin_blas);
}

void sj_lm_set_threads(int n)
{
    omp_set_num_threads(n < 1 ? 1 : n);
    lm_blas_pin_single();
}

/* Rows are processed in blocks of queries: block [r0, r1) only needs keys
 * 0..r1-1, so the products skip most of the masked upper triangle (with four
 * or more blocks, at most 62.5% of the full square is computed). Blocks hold
 * a quarter of the sequence (at least 4, at most 64 rows), so even the tiny
 * models of the gradient tests run through several blocks. */
static int att_block(int T)
{
    int b = (T + 3) / 4;
    return b < 4 ? 4 : (b > 64 ? 64 : b);
}

/* qkv: [B*T x 3C] rows (queries, keys, values); out: [B*T x C];
 * att: [B x H x T x T] softmax probabilities (zero above the diagonal). */
void lm_attention_fwd(float *out, float *att, const float *qkv, int B, int T, int C, int H)
{
    int hs = C / H;
    float scale = 1.0f / sqrtf((float)hs);
    size_t C3 = 3 * (size_t)C, TT = (size_t)T * T;
    int block = att_block(T);
#pragma omp parallel for schedule(dynamic, 1) if (4.0 * B * C * T * T > LM_PAR_MIN)
    for (int bh = 0; bh < B * H; bh++) {
        int b = bh / H, h = bh % H;
        const float *q = qkv + (size_t)b * T * C3 + (size_t)h * hs;
        const float *k = q + C;
        const float *v = q + 2 * C;
        float *p = att + (size_t)bh * TT;
        float *y = out + (size_t)b * T * C + (size_t)h * hs;
        for (int r0 = 0; r0 < T; r0 += block) {
            int r1 = r0 + block < T ? r0 + block : T;
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, r1 - r0, r1, hs, scale,
                        q + (size_t)r0 * C3, (int)C3, k, (int)C3, 0.0f, p + (size_t)r0 * T, T);
            for (int i = r0; i < r1; i++) {
                float *row = p + (size_t)i * T;
                float mx = row[0];
#pragma omp simd reduction(max : mx)
                for (int j = 1; j <= i; j++)
                    mx = row[j] > mx ? row[j] : mx;
                float s = 0.0f;
#pragma omp simd reduction(+ : s)
                for (int j = 0; j <= i; j++) {
                    row[j] = lm_exp(row[j] - mx);
                    s += row[j];
                }
                float inv = 1.0f / s;
#pragma omp simd
                for (int j = 0; j <= i; j++)
                    row[j] *= inv;
                memset(row + i + 1, 0, (size_t)(T - i - 1) * sizeof(float));
            }
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, r1 - r0, hs, r1, 1.0f,
                        p + (size_t)r0 * T, T, v, (int)C3, 0.0f, y + (size_t)r0 * C, C);
        }
    }
}

/* dqkv is overwritten (every entry belongs to exactly one (b, h) pair).
 * datt_scratch: one T x T block per thread. Blocks run from the last (which
 * touches every key) to the first, so dK and dV start with beta = 0 and
 * accumulate afterwards. */
void lm_attention_bwd(float *dqkv, const float *dout, const float *att, const float *qkv,
                      float *datt_scratch, int B, int T, int C, int H)
{
    int hs = C / H;
    float scale = 1.0f / sqrtf((float)hs);
    size_t C3 = 3 * (size_t)C, TT = (size_t)T * T;
    int block = att_block(T), n_blocks = (T + block - 1) / block;
#pragma omp parallel for schedule(dynamic, 1) if (8.0 * B * C * T * T > LM_PAR_MIN)
    for (int bh = 0; bh < B * H; bh++) {
        int b = bh / H, h = bh % H;
        size_t base = (size_t)b * T * C3 + (size_t)h * hs;
        const float *q = qkv + base, *k = q + C, *v = q + 2 * C;
        float *dq = dqkv + base, *dk = dq + C, *dv = dq + 2 * C;
        const float *dy = dout + (size_t)b * T * C + (size_t)h * hs;
        const float *p = att + (size_t)bh * TT;
        float *dp = datt_scratch + (size_t)omp_get_thread_num() * TT;
        for (int blk = n_blocks - 1; blk >= 0; blk--) {
            int r0 = blk * block, r1 = r0 + block < T ? r0 + block : T, m = r1 - r0;
            float beta = blk == n_blocks - 1 ? 0.0f : 1.0f;
            const float *pb = p + (size_t)r0 * T;
            float *db = dp + (size_t)r0 * T;
            /* dP = dY V^T ; dV += P^T dY */
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, m, r1, hs, 1.0f,
                        dy + (size_t)r0 * C, C, v, (int)C3, 0.0f, db, T);
            cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, r1, hs, m, 1.0f, pb, T,
                        dy + (size_t)r0 * C, C, beta, dv, (int)C3);
            /* softmax backward: dS = P * (dP - rowsum(P * dP)), zero above
             * the diagonal */
            for (int i = r0; i < r1; i++) {
                const float *pr = p + (size_t)i * T;
                float *dr = dp + (size_t)i * T;
                float dot = 0.0f;
#pragma omp simd reduction(+ : dot)
                for (int j = 0; j <= i; j++)
                    dot += pr[j] * dr[j];
#pragma omp simd
                for (int j = 0; j <= i; j++)
                    dr[j] = pr[j] * (dr[j] - dot);
                if (r1 > i + 1)
                    memset(dr + i + 1, 0, (size_t)(r1 - i - 1) * sizeof(float));
            }
            /* dQ = scale dS K ; dK += scale dS^T Q */
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, m, hs, r1, scale, db, T, k,
                        (int)C3, 0.0f, dq + (size_t)r0 * C3, (int)C3);
            cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, r1, hs, m, scale, db, T,
                        q + (size_t)r0 * C3, (int)C3, beta, dk, (int)C3);
        }
    }
}

/* Softmax of row i of a query block over its first `seen` scores, zero
 * after them. */
static void softmax_prefix(float *row, int seen, int width)
{
    float mx = row[0];
#pragma omp simd reduction(max : mx)
    for (int j = 1; j < seen; j++)
        mx = row[j] > mx ? row[j] : mx;
    float s = 0.0f;
#pragma omp simd reduction(+ : s)
    for (int j = 0; j < seen; j++) {
        row[j] = lm_exp(row[j] - mx);
        s += row[j];
    }
    float inv = 1.0f / s;
#pragma omp simd
    for (int j = 0; j < seen; j++)
        row[j] *= inv;
    memset(row + seen, 0, (size_t)(width - seen) * sizeof(float));
}

/* Attention of B sequences of T new positions that all continue the same
 * P earlier positions, whose keys and values (pk, pv: [P x C] rows) were
 * computed once: query i of a sequence sees the P shared keys and its own
 * keys 0..i. The shared keys are the same for every sequence, so their
 * scores and their share of the output are one large product per head over
 * all B T queries; only the causal part over each sequence's own keys runs
 * per (sequence, head). scratch: H x B T x (P + T) scores. */
void lm_attention_fwd_past(float *out, const float *qkv, const float *pk, const float *pv, int P,
                           int B, int T, int C, int H, float *scratch)
{
    int hs = C / H, W = P + T, N = B * T;
    float scale = 1.0f / sqrtf((float)hs);
    size_t C3 = 3 * (size_t)C, per_head = (size_t)N * W;
    int par = 4.0 * B * C * T * W > LM_PAR_MIN;
#pragma omp parallel for schedule(static) if (par)
    for (int h = 0; h < H; h++)
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, N, P, hs, scale, qkv + (size_t)h * hs,
                    (int)C3, pk + (size_t)h * hs, C, 0.0f, scratch + h * per_head, W);
#pragma omp parallel for schedule(dynamic, 1) if (par)
    for (int bh = 0; bh < B * H; bh++) {
        int b = bh / H, h = bh % H;
        const float *q = qkv + (size_t)b * T * C3 + (size_t)h * hs;
        const float *k = q + C, *v = q + 2 * C;
        float *s = scratch + h * per_head + (size_t)b * T * W;
        float *y = out + (size_t)b * T * C + (size_t)h * hs;
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, T, T, hs, scale, q, (int)C3, k,
                    (int)C3, 0.0f, s + P, W);
        for (int i = 0; i < T; i++)
            softmax_prefix(s + (size_t)i * W, P + i + 1, W);
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, T, hs, T, 1.0f, s + P, W, v, (int)C3,
                    0.0f, y, C);
    }
#pragma omp parallel for schedule(static) if (par)
    for (int h = 0; h < H; h++)
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, N, hs, P, 1.0f,
                    scratch + h * per_head, W, pv + (size_t)h * hs, C, 1.0f, out + (size_t)h * hs,
                    C);
}

/* Attention output of a few query rows only (rows[k] = b T + i, one row of
 * `out` each): query i of sequence b over the P shared keys (pk, pv; P may
 * be 0) and its own keys 0..i. scratch: P + T floats per thread. */
void lm_attention_rows(float *out, const float *qkv, const int *rows, int n, int T, int C, int H,
                       const float *pk, const float *pv, int P, float *scratch, int n_threads)
{
    int hs = C / H;
    float scale = 1.0f / sqrtf((float)hs);
    size_t C3 = 3 * (size_t)C;
#pragma omp parallel for schedule(static)                                                          \
    num_threads(n_threads) if (4.0 * n * C * (P + T) > LM_PAR_MIN)
    for (int kh = 0; kh < n * H; kh++) {
        int k = kh / H, h = kh % H, r = rows[k], b = r / T, i = r % T;
        const float *q = qkv + (size_t)r * C3 + (size_t)h * hs;
        const float *own = qkv + (size_t)b * T * C3 + (size_t)h * hs;
        float *s = scratch + (size_t)omp_get_thread_num() * (P + T);
        for (int j = 0; j < P; j++) {
            const float *key = pk + (size_t)j * C + (size_t)h * hs;
            float d = 0.0f;
#pragma omp simd reduction(+ : d)
            for (int e = 0; e < hs; e++)
                d += q[e] * key[e];
            s[j] = scale * d;
        }
        for (int j = 0; j <= i; j++) {
            const float *key = own + (size_t)j * C3 + C;
            float d = 0.0f;
#pragma omp simd reduction(+ : d)
            for (int e = 0; e < hs; e++)
                d += q[e] * key[e];
            s[P + j] = scale * d;
        }
        softmax_prefix(s, P + i + 1, P + i + 1);
        float *y = out + (size_t)k * C + (size_t)h * hs;
        memset(y, 0, (size_t)hs * sizeof(float));
        for (int j = 0; j < P + i + 1; j++) {
            const float *val =
                j < P ? pv + (size_t)j * C + (size_t)h * hs : own + (size_t)(j - P) * C3 + 2 * C;
            float w = s[j];
#pragma omp simd
            for (int e = 0; e < hs; e++)
                y[e] += w * val[e];
        }
    }
}
