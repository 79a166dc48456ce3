/* Training-step throughput and model FLOPs utilisation against this
 * machine's own sgemm peak. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <cblas.h>
#include <omp.h>

#include "lm_internal.h"
#include "sjtalign/dist.h"

int lm_prof_on = 0;
double lm_prof_seconds[LM_PROF_SLOTS];

void sj_lm_profile_enable(int on)
{
    lm_prof_on = on;
    memset(lm_prof_seconds, 0, sizeof lm_prof_seconds);
}

size_t sj_lm_profile_get(const char **names, double *seconds, size_t max)
{
    static const char *const kernel[LM_PROF_N_KERNELS] = {
        "embedding", "layernorm",     "matmul",         "attention",
        "gelu",      "output_matmul", "softmax_logprob"};
    static char labels[LM_PROF_SLOTS][40];
    size_t n = 0;
    for (int s = 0; s < LM_PROF_SLOTS && n < max; s++) {
        if (s == LM_PROF_OPTIMIZER)
            snprintf(labels[s], sizeof labels[s], "optimizer");
        else
            snprintf(labels[s], sizeof labels[s], "%s.%s",
                     s < LM_PROF_BACKWARD ? "forward" : "backward", kernel[s % LM_PROF_N_KERNELS]);
        names[n] = labels[s];
        seconds[n] = lm_prof_seconds[s];
        n++;
    }
    return n;
}

double sj_lm_step_flops(const sj_lm_config *c, int B, int T)
{
    double C = c->embd, L = c->layers, V = c->vocab;
    /* Matrix products: 2 FLOPs per weight per token forward, 4 backward,
     * over the blocks' weights and the tied output layer. */
    double matmul_weights = L * 12.0 * C * C + V * C;
    /* Causal attention: Q K^T and P V cover T(T+1)/2 pairs per head; the
     * backward pass costs twice the forward. */
    double attention = 3.0 * L * 2.0 * 2.0 * C * (T * (T + 1.0) / 2.0);
    return (double)B * (6.0 * matmul_weights * T + attention);
}

double sj_lm_forward_flops(const sj_lm_config *c, int len, int head_positions)
{
    double C = c->embd, L = c->layers, n = len;
    /* 2 FLOPs per weight per token in the blocks; causal attention (Q K^T
     * and P V) over n (n + 1) / 2 pairs; the output layer where it runs */
    double blocks = L * (2.0 * 12.0 * C * C * n + 2.0 * 2.0 * C * (n * (n + 1.0) / 2.0));
    return blocks + 2.0 * C * c->vocab * head_positions;
}

/* The machine's ceiling for the model's way of computing: every OpenMP
 * thread runs its own single-threaded square sgemm at once (the lm never
 * hands OpenBLAS more than one thread). Best of several rounds, in GFLOP/s
 * summed over the threads. */
double sj_lm_sgemm_peak_gflops(void)
{
    const int n = 1024;
    lm_blas_pin_single();
    int threads = omp_get_max_threads();
    size_t per = (size_t)n * n;
    float *buf = malloc(3 * per * (size_t)threads * sizeof(float));
    if (!buf)
        return NAN;
    for (size_t i = 0; i < 3 * per * (size_t)threads; i++)
        buf[i] = (float)((i * 7919) % 1000) / 1000.0f - 0.5f;
    double best = 0.0;
    for (int rep = 0; rep < 5; rep++) {
        double t0 = sj_now();
#pragma omp parallel num_threads(threads)
        {
            float *a = buf + 3 * per * (size_t)omp_get_thread_num();
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1.0f, a, n, a + per, n,
                        0.0f, a + 2 * per, n);
        }
        double dt = sj_now() - t0;
        double g = 2.0 * n * (double)n * n * threads / dt / 1e9;
        if (g > best)
            best = g;
    }
    free(buf);
    return best;
}

/* The batch: `batch` random sequences drawn in order, of which this rank
 * keeps its share (rows [lo, hi)), so that the ranks' shares together are
 * the one-process batch. */
static sj_status bench_batch(const sj_lm_config *cfg, int batch, gsl_rng *rng, sj_lm_batch **out,
                             sj_error *err)
{
    size_t lo, hi;
    sj_dist_share((size_t)batch, &lo, &hi);
    /* a rank with no row still takes part in every exchange */
    sj_lm_batch *b = sj_lm_batch_new(hi > lo ? (int)(hi - lo) : 1, cfg->ctx);
    int32_t *seq = malloc(((size_t)cfg->ctx + 1) * sizeof *seq);
    sj_status st = b && seq ? SJ_OK : sj_error_set(err, SJ_ERR_WORK, "out of memory");
    for (int r = 0; st == SJ_OK && r < batch; r++) {
        for (int t = 0; t <= cfg->ctx; t++)
            seq[t] = (int32_t)gsl_rng_uniform_int(rng, (unsigned long)cfg->vocab);
        if ((size_t)r >= lo && (size_t)r < hi)
            st = sj_lm_batch_set(b, r - (int)lo, seq, cfg->ctx + 1, NULL, err);
    }
    free(seq);
    if (st != SJ_OK) {
        sj_lm_batch_free(b);
        return st;
    }
    *out = b;
    return SJ_OK;
}

static int by_value(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* One allreduce of the gradient block alone, median of 20, after the ranks
 * have met (so no rank's late arrival is counted). 0 with one process. */
static sj_status time_allreduce(sj_lm *m, double *ms, sj_error *err)
{
    *ms = 0.0;
    if (sj_dist_size() == 1)
        return SJ_OK;
    double t[20];
    int meet = 0;
    for (int r = 0; r < 20; r++) {
        sj_status st = sj_dist_max_int(&meet, 1, err);
        double t0 = sj_now();
        if (st == SJ_OK)
            st = sj_dist_sum_float(m->grads, m->n_params, err);
        if (st != SJ_OK)
            return st;
        t[r] = sj_now() - t0;
    }
    qsort(t, 20, sizeof *t, by_value);
    *ms = (t[9] + t[10]) / 2.0 * 1e3;
    return SJ_OK;
}

/* The timed steps: each rank's share forward and backward, the one
 * exchange of the gradient block, the update. The loss scale of a share
 * does not matter to a timing. */
static sj_status timed_steps(sj_lm *m, sj_adamw *opt, sj_lm_batch *b, int steps, double *elapsed,
                             double *compute, double *exchange, sj_error *err)
{
    sj_status st = SJ_OK;
    sj_dist_span grads = {m->grads, m->n_params};
    *elapsed = *compute = *exchange = 0.0;
    for (int s = 0; st == SJ_OK && s <= steps; s++) {
        double t0 = sj_now(), loss;
        sj_lm_zero_grad(m);
        st = sj_lm_ce_step(m, b, &loss, err);
        double t1 = sj_now();
        if (st == SJ_OK)
            st = sj_dist_exchange(&grads, 1, err);
        double t2 = sj_now();
        if (st == SJ_OK)
            LM_PROF(LM_PROF_OPTIMIZER, sj_lm_adamw_step(opt, m));
        if (s == 0 && lm_prof_on) /* step 0 warms caches and allocates activations */
            sj_lm_profile_enable(1);
        if (s > 0) {
            double t3 = sj_now();
            *elapsed += t3 - t0;
            *compute += (t1 - t0) + (t3 - t2);
            *exchange += t2 - t1;
        }
    }
    return st;
}

sj_status sj_lm_bench(const sj_lm_config *cfg, int batch, int steps, uint64_t seed,
                      sj_lm_bench_result *res, sj_error *err)
{
    memset(res, 0, sizeof *res);
    if (sj_lm_config_validate(cfg, err) != SJ_OK)
        return SJ_ERR_INPUT;
    if (batch < 1 || steps < 1)
        return sj_error_set(err, SJ_ERR_INPUT, "--batch and --steps must be at least 1");
    gsl_rng *rng = sj_rng_new(sj_seed_derive(seed, "bench"));
    sj_lm *m = rng ? sj_lm_new(cfg, rng, err) : NULL;
    sj_adamw_config ac = sj_adamw_defaults();
    sj_adamw *opt = m ? sj_adamw_new(m->n_params, &ac) : NULL;
    sj_lm_batch *b = NULL;
    sj_status st = SJ_OK;
    if (!m || !opt)
        st = err && err->status != SJ_OK ? err->status
                                         : sj_error_set(err, SJ_ERR_WORK, "out of memory");
    if (st == SJ_OK)
        st = bench_batch(cfg, batch, rng, &b, err);
    /* The peak is measured before and after the timed steps and the higher
     * one kept, so a busy moment during one measurement cannot flatter the
     * MFU. */
    double peak_before = st == SJ_OK ? sj_lm_sgemm_peak_gflops() : 0.0;
    double elapsed = 0.0, compute = 0.0, exchange = 0.0;
    if (st == SJ_OK)
        st = timed_steps(m, opt, b, steps, &elapsed, &compute, &exchange, err);
    if (st == SJ_OK)
        st = time_allreduce(m, &res->allreduce_ms, err);
    if (st == SJ_OK) {
        double tokens = (double)batch * cfg->ctx * steps;
        res->ranks = sj_dist_size();
        res->step_ms = elapsed / steps * 1e3;
        res->compute_ms = compute / steps * 1e3;
        res->exchange_ms = res->ranks > 1 ? exchange / steps * 1e3 : 0.0;
        res->tokens_per_s = tokens / elapsed;
        res->gflops = sj_lm_step_flops(cfg, batch, cfg->ctx) * steps / elapsed / 1e9;
        double peak_after = sj_lm_sgemm_peak_gflops();
        res->peak_gflops = peak_after > peak_before ? peak_after : peak_before;
        res->mfu = res->gflops / (res->peak_gflops * res->ranks);
        res->params = m->n_params;
        res->grad_bytes = m->n_params * sizeof *m->grads;
    }
    sj_adamw_free(opt);
    sj_lm_batch_free(b);
    sj_lm_free(m);
    sj_rng_free(rng);
    return st;
}
