/* Gradients of the language model against central finite differences.
 *
 * Objective: J = sum_i c_i w_i logprob_i(tau) + sum_b u_b . hidden_b (or,
 * through hidden_all, + sum_{b,t} u_bt . hidden_bt over every position), with
 * random c, u, a temperature of 0.7 and parameters drawn with a large spread
 * (sd 0.3) so that every tensor gets gradients of order 0.01..1. The model
 * runs in float32; J is summed in double. With step h = 1e-2 the central
 * difference has a truncation error of order h^2 |J'''| ~ 1e-4 and a rounding
 * error of order 1e-7 |J| / h ~ 1e-5; the check allows, per tensor,
 * max |analytic - numeric| <= 3e-3 + 2e-2 max |numeric|, and the figures
 * measured are printed (the largest relative error is near 1e-3). */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <gsl/gsl_rng.h>

#include "sjtalign/lm.h"

enum { B = 3, T = 7 };

typedef struct {
    sj_lm *m;
    sj_lm_batch *batch;
    float c[B * T];
    float u[B * 16];
    float u_all[B * T * 16];
    int hidden_pos[B];
    int use_logprob, use_hidden; /* use_hidden 2: every position (hidden_all) */
} problem;

static double objective(problem *p)
{
    float lp[B * T] = {0}, hid[B * 16] = {0}, hid_all[B * T * 16] = {0};
    sj_lm_forward_io io = {.temperature = 0.7f,
                           .logprobs = lp,
                           .hidden_pos = p->use_hidden == 1 ? p->hidden_pos : NULL,
                           .hidden = p->use_hidden == 1 ? hid : NULL,
                           .hidden_all = p->use_hidden == 2 ? hid_all : NULL};
    sj_error err;
    assert_int_equal(sj_lm_forward(p->m, p->batch, &io, &err), SJ_OK);
    double j = 0.0;
    if (p->use_logprob)
        for (int i = 0; i < B * T; i++)
            j += (double)p->c[i] * p->batch->weights[i] * lp[i];
    if (p->use_hidden == 1)
        for (int i = 0; i < B * p->m->cfg.embd; i++)
            j += (double)p->u[i] * hid[i];
    if (p->use_hidden == 2)
        for (int i = 0; i < B * T * p->m->cfg.embd; i++)
            j += (double)p->u_all[i] * hid_all[i];
    return j;
}

static void analytic(problem *p)
{
    objective(p);
    float dlp[B * T];
    for (int i = 0; i < B * T; i++)
        dlp[i] = p->c[i] * p->batch->weights[i];
    sj_lm_zero_grad(p->m);
    sj_error err;
    if (p->use_hidden == 2)
        assert_int_equal(
            sj_lm_backward_all(p->m, p->batch, p->use_logprob ? dlp : NULL, p->u_all, &err), SJ_OK);
    else
        assert_int_equal(sj_lm_backward(p->m, p->batch, p->use_logprob ? dlp : NULL,
                                        p->use_hidden ? p->u : NULL, &err),
                         SJ_OK);
}

static void setup_problem(problem *p, int masked, int use_logprob, int use_hidden)
{
    sj_lm_config cfg = {.vocab = 262, .ctx = 8, .layers = 2, .heads = 2, .embd = 8};
    sj_error err;
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(rng, 42);
    p->m = sj_lm_new(&cfg, rng, &err);
    assert_non_null(p->m);
    for (size_t i = 0; i < p->m->n_params; i++)
        p->m->params[i] += (float)(0.3 * (gsl_rng_uniform(rng) * 2.0 - 1.0) * 1.7);
    p->batch = sj_lm_batch_new(B, T);
    sj_lm_batch_clear(p->batch);
    for (int b = 0; b < B; b++) {
        int len = masked ? 4 + 2 * b : T + 1; /* 4, 6, 8 tokens */
        if (len > T + 1)
            len = T + 1;
        int32_t seq[T + 1];
        float w[T];
        for (int t = 0; t < len; t++)
            seq[t] = (int32_t)gsl_rng_uniform_int(rng, 262);
        for (int t = 0; t < len - 1; t++)
            w[t] = masked ? (t < 2 ? 0.0f : 1.0f) : 1.0f;
        assert_int_equal(sj_lm_batch_set(p->batch, b, seq, len, w, &err), SJ_OK);
        p->hidden_pos[b] = len - 2;
    }
    for (int i = 0; i < B * T; i++)
        p->c[i] = (float)(gsl_rng_uniform(rng) * 2.0 - 1.0);
    for (int i = 0; i < B * 16; i++)
        p->u[i] = (float)(gsl_rng_uniform(rng) * 2.0 - 1.0);
    for (int i = 0; i < B * T * 16; i++)
        p->u_all[i] = (float)(gsl_rng_uniform(rng) * 2.0 - 1.0);
    p->use_logprob = use_logprob;
    p->use_hidden = use_hidden;
    gsl_rng_free(rng);
}

static void check_all_tensors(problem *p, const char *label)
{
    analytic(p);
    const double h = 1e-2;
    double worst_rel = 0.0;
    for (size_t t = 0; t < p->m->n_tensors; t++) {
        sj_lm_tensor *pt = &p->m->tensors[t];
        const sj_lm_tensor *gt = &p->m->gtensors[t];
        size_t n = pt->rows * pt->cols;
        double max_diff = 0.0, max_num = 0.0;
        /* Large tensors: every row of wte that the batch touches plus a
         * sample elsewhere; all entries of the other tensors. */
        size_t stride = n > 2000 ? 7 : 1;
        for (size_t i = 0; i < n; i += stride) {
            float keep = pt->data[i];
            pt->data[i] = (float)(keep + h);
            double jp = objective(p);
            pt->data[i] = (float)(keep - h);
            double jm = objective(p);
            pt->data[i] = keep;
            double num = (jp - jm) / (2.0 * h);
            double diff = fabs(num - gt->data[i]);
            if (diff > max_diff)
                max_diff = diff;
            if (fabs(num) > max_num)
                max_num = fabs(num);
        }
        double rel = max_diff / (max_num > 1e-3 ? max_num : 1e-3);
        if (rel > worst_rel)
            worst_rel = rel;
        if (max_diff > 3e-3 + 2e-2 * max_num)
            fail_msg("%s: tensor %s: max |analytic - numeric| = %.3g with max |numeric| = %.3g",
                     label, pt->name, max_diff, max_num);
    }
    printf("# %s: worst per-tensor relative gradient error %.2e\n", label, worst_rel);
}

static void test_grad_unmasked(void **state)
{
    (void)state;
    problem p;
    setup_problem(&p, 0, 1, 0);
    check_all_tensors(&p, "unmasked logprob");
    sj_lm_batch_free(p.batch);
    sj_lm_free(p.m);
}

static void test_grad_masked(void **state)
{
    (void)state;
    problem p;
    setup_problem(&p, 1, 1, 0);
    check_all_tensors(&p, "masked logprob");
    sj_lm_batch_free(p.batch);
    sj_lm_free(p.m);
}

static void test_grad_hidden(void **state)
{
    (void)state;
    problem p;
    setup_problem(&p, 1, 0, 1);
    check_all_tensors(&p, "hidden state");
    sj_lm_batch_free(p.batch);
    sj_lm_free(p.m);
}

static void test_grad_hidden_all(void **state)
{
    (void)state;
    problem p;
    setup_problem(&p, 1, 1, 2);
    check_all_tensors(&p, "hidden state at every position with logprob");
    sj_lm_batch_free(p.batch);
    sj_lm_free(p.m);
}

/* hidden_all holds at (b, hidden_pos[b]) exactly what hidden holds. */
static void test_hidden_all_matches_hidden(void **state)
{
    (void)state;
    problem p;
    setup_problem(&p, 1, 0, 1);
    float hid[B * 8], all[B * T * 8];
    sj_lm_forward_io io = {
        .temperature = 1.0f, .hidden_pos = p.hidden_pos, .hidden = hid, .hidden_all = all};
    sj_error err;
    assert_int_equal(sj_lm_forward(p.m, p.batch, &io, &err), SJ_OK);
    for (int b = 0; b < B; b++)
        assert_memory_equal(hid + b * 8, all + ((size_t)b * T + (size_t)p.hidden_pos[b]) * 8,
                            8 * sizeof(float));
    sj_lm_batch_free(p.batch);
    sj_lm_free(p.m);
}

/* Padding never changes what real positions compute: the same sequence alone
 * and next to a longer one gives the same log-probabilities. */
static void test_padding_is_inert(void **state)
{
    (void)state;
    problem p;
    setup_problem(&p, 1, 1, 0);
    float lp_all[B * T];
    sj_lm_forward_io io = {.temperature = 1.0f, .logprobs = lp_all};
    sj_error err;
    assert_int_equal(sj_lm_forward(p.m, p.batch, &io, &err), SJ_OK);
    sj_lm_batch *one = sj_lm_batch_new(1, T);
    sj_lm_batch_clear(one);
    int32_t seq[T + 1];
    int len = p.batch->lengths[0] + 1;
    for (int t = 0; t < len - 1; t++)
        seq[t] = p.batch->tokens[t];
    seq[len - 1] = p.batch->targets[len - 2];
    assert_int_equal(sj_lm_batch_set(one, 0, seq, len, NULL, &err), SJ_OK);
    float lp_one[T];
    io.logprobs = lp_one;
    assert_int_equal(sj_lm_forward(p.m, one, &io, &err), SJ_OK);
    for (int t = 0; t < len - 1; t++)
        assert_float_equal(lp_one[t], lp_all[t], 1e-5);
    sj_lm_batch_free(one);
    sj_lm_batch_free(p.batch);
    sj_lm_free(p.m);
}

/* The threaded kernels (row-split sgemm, per-head attention, per-thread
 * LayerNorm partial sums) give the same results as one thread on a model
 * large enough to cross every threading threshold. */
static void run_step(int threads, float **grads, float *lp, size_t *n_params)
{
    sj_lm_set_threads(threads);
    sj_lm_config cfg = {.vocab = 300, .ctx = 64, .layers = 2, .heads = 4, .embd = 64};
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(rng, 8);
    sj_error err;
    sj_lm *m = sj_lm_new(&cfg, rng, &err);
    sj_lm_batch *b = sj_lm_batch_new(4, 64);
    sj_lm_batch_clear(b);
    for (int r = 0; r < 4; r++) {
        int32_t seq[65];
        for (int t = 0; t < 65; t++)
            seq[t] = (int32_t)gsl_rng_uniform_int(rng, 300);
        assert_int_equal(sj_lm_batch_set(b, r, seq, 65 - 10 * r, NULL, &err), SJ_OK);
    }
    sj_lm_forward_io io = {.temperature = 1.0f, .logprobs = lp};
    assert_int_equal(sj_lm_forward(m, b, &io, &err), SJ_OK);
    double loss;
    sj_lm_zero_grad(m);
    assert_int_equal(sj_lm_ce_step(m, b, &loss, &err), SJ_OK);
    *grads = malloc(m->n_params * sizeof(float));
    memcpy(*grads, m->grads, m->n_params * sizeof(float));
    *n_params = m->n_params;
    sj_lm_batch_free(b);
    sj_lm_free(m);
    gsl_rng_free(rng);
}

static void test_threads_agree(void **state)
{
    (void)state;
    float *g1, *g2, lp1[4 * 64], lp2[4 * 64];
    size_t n1, n2;
    run_step(1, &g1, lp1, &n1);
    run_step(2, &g2, lp2, &n2);
    assert_int_equal(n1, n2);
    double gmax = 0.0, dmax = 0.0;
    for (size_t i = 0; i < n1; i++) {
        gmax = fmax(gmax, fabs(g1[i]));
        dmax = fmax(dmax, fabs(g1[i] - g2[i]));
    }
    for (int i = 0; i < 4 * 64; i++)
        assert_float_equal(lp1[i], lp2[i], 1e-5);
    printf("# 1 vs 2 threads: max gradient difference %.2e (largest gradient %.2e)\n", dmax, gmax);
    assert_true(dmax <= 1e-5 * gmax);
    free(g1);
    free(g2);
}

static void test_config_errors(void **state)
{
    (void)state;
    sj_error err;
    sj_lm_config bad_heads = {.vocab = 300, .ctx = 16, .layers = 1, .heads = 3, .embd = 16};
    assert_int_equal(sj_lm_config_validate(&bad_heads, &err), SJ_ERR_INPUT);
    assert_non_null(strstr(err.msg, "divisible"));
    sj_lm_config bad_ctx = {.vocab = 300, .ctx = 4, .layers = 1, .heads = 2, .embd = 16};
    assert_int_equal(sj_lm_config_validate(&bad_ctx, &err), SJ_ERR_INPUT);
    assert_non_null(strstr(err.msg, "--ctx"));
    /* Parameter count by hand: V C + T C + L (12 C^2 + 13 C) + 2 C. */
    sj_lm_config ok = {.vocab = 300, .ctx = 16, .layers = 2, .heads = 2, .embd = 16};
    assert_int_equal(sj_lm_config_n_params(&ok),
                     300 * 16 + 16 * 16 + 2 * (12 * 16 * 16 + 13 * 16) + 2 * 16);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_grad_unmasked),
        cmocka_unit_test(test_grad_masked),
        cmocka_unit_test(test_grad_hidden),
        cmocka_unit_test(test_grad_hidden_all),
        cmocka_unit_test(test_hidden_all_matches_hidden),
        cmocka_unit_test(test_padding_is_inert),
        cmocka_unit_test(test_threads_agree),
        cmocka_unit_test(test_config_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
