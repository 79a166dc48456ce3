/* The logit bias (a product of experts: fixed log-probabilities added to the
 * LM's logits at one position) in the forward pass, the cross-entropy, the
 * backward pass and generation, and extra JSON files in model folders.
 *
 * Expected values come from outside the code under test: a model with all
 * parameters zero has logits exactly 0, so its biased log-probabilities are
 * closed forms; for a random model the test adds the bias to the unbiased
 * logits itself and computes log-softmax in double; gradients are checked
 * against central finite differences (step 1e-2, tolerance 3e-3 + 2e-2
 * max |numeric| per tensor, as in test_lm_grad.c). */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <gsl/gsl_rng.h>

#include "sjtalign/io.h"
#include "sjtalign/lm.h"

enum { V = 262, B = 2, T = 6 };

static sj_lm *spread_model(int layers, unsigned long seed)
{
    sj_lm_config cfg = {.vocab = V, .ctx = 8, .layers = layers, .heads = 2, .embd = 8};
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(rng, seed);
    sj_error err;
    sj_lm *m = sj_lm_new(&cfg, rng, &err);
    assert_non_null(m);
    for (size_t i = 0; i < m->n_params; i++)
        m->params[i] += (float)(0.5 * (gsl_rng_uniform(rng) * 2.0 - 1.0));
    gsl_rng_free(rng);
    return m;
}

/* Row 0: 7 tokens (6 positions), target at position 3 is token 9; row 1: 5
 * tokens. Weights 0 on the first two targets of each row. */
static sj_lm_batch *two_rows(void)
{
    sj_lm_batch *bt = sj_lm_batch_new(B, T);
    assert_non_null(bt);
    int32_t s0[7] = {3, 40, 41, 42, 9, 43, 1}, s1[5] = {3, 50, 51, 2, 52};
    float w0[6] = {0, 0, 1, 1, 1, 1}, w1[4] = {0, 0, 1, 1};
    sj_error err;
    assert_int_equal(sj_lm_batch_set(bt, 0, s0, 7, w0, &err), SJ_OK);
    assert_int_equal(sj_lm_batch_set(bt, 1, s1, 5, w1, &err), SJ_OK);
    return bt;
}

static const int32_t bias_ids[3] = {5, 9, 100};
static const float bias_row0[3] = {1.5f, 3.0f, 0.25f};
static const float bias_row1[3] = {-0.75f, 2.5f, 3.0f};

/* Row 0 biased at position 3 (whose target, 9, is biased), row 1 at 2. */
static void add_bias(sj_lm_batch *bt)
{
    sj_error err;
    assert_int_equal(sj_lm_batch_set_bias_tokens(bt, bias_ids, 3, &err), SJ_OK);
    assert_int_equal(sj_lm_batch_set_bias(bt, 0, 3, bias_row0, &err), SJ_OK);
    assert_int_equal(sj_lm_batch_set_bias(bt, 1, 2, bias_row1, &err), SJ_OK);
}

/* log softmax(z / tau)[y] and the entropy, in double. */
static double ref_logprob(const float *z, int y, double tau, double *entropy)
{
    double mx = z[0];
    for (int j = 1; j < V; j++)
        mx = z[j] > mx ? z[j] : mx;
    double s = 0.0;
    for (int j = 0; j < V; j++)
        s += exp((z[j] - mx) / tau);
    double lse = mx / tau + log(s), h = 0.0;
    for (int j = 0; j < V; j++) {
        double lp = z[j] / tau - lse;
        h -= exp(lp) * lp;
    }
    if (entropy)
        *entropy = h;
    return z[y] / tau - lse;
}

/* All-zero parameters give logits exactly 0, so with a bias b on a few
 * tokens at tau = 1 the probability of token y is exp(b_y) / (V - n +
 * sum_k exp(b_k)). Bias ln 2 on token 5 and ln 4 on token 9: the
 * normaliser is 260 + 2 + 4 = 266. */
static void test_zero_model_by_hand(void **state)
{
    (void)state;
    sj_lm_config cfg = {.vocab = V, .ctx = 8, .layers = 1, .heads = 2, .embd = 8};
    sj_error err;
    sj_lm *m = sj_lm_new(&cfg, NULL, &err);
    assert_non_null(m);
    sj_lm_batch *bt = sj_lm_batch_new(1, 4);
    int32_t seq[5] = {3, 9, 5, 77, 9}; /* targets 9, 5, 77, 9 */
    assert_int_equal(sj_lm_batch_set(bt, 0, seq, 5, NULL, &err), SJ_OK);
    int32_t ids[2] = {5, 9};
    float b[2] = {logf(2.0f), logf(4.0f)};
    assert_int_equal(sj_lm_batch_set_bias_tokens(bt, ids, 2, &err), SJ_OK);
    assert_int_equal(sj_lm_batch_set_bias(bt, 0, 2, b, &err), SJ_OK); /* target 77 */
    float lp[4];
    sj_lm_forward_io io = {.temperature = 1.0f, .logprobs = lp};
    assert_int_equal(sj_lm_forward(m, bt, &io, &err), SJ_OK);
    /* unbiased positions: uniform over 262 tokens */
    assert_float_equal(lp[0], -log(262.0), 1e-5);
    assert_float_equal(lp[1], -log(262.0), 1e-5);
    assert_float_equal(lp[3], -log(262.0), 1e-5);
    /* biased position, unbiased target */
    assert_float_equal(lp[2], -log(266.0), 1e-5);
    /* the same position with the biased target 9 instead */
    assert_int_equal(sj_lm_batch_set_bias(bt, 0, 3, b, &err), SJ_OK);
    assert_int_equal(sj_lm_forward(m, bt, &io, &err), SJ_OK);
    assert_float_equal(lp[3], log(4.0) - log(266.0), 1e-5);
    assert_float_equal(lp[2], -log(262.0), 1e-5); /* moved away: position 2 is plain again */
    /* cross-entropy: mean of -lp over the four targets */
    double loss;
    assert_int_equal(sj_lm_ce_loss(m, bt, &loss, &err), SJ_OK);
    assert_float_equal(loss, (3.0 * log(262.0) + log(266.0) - log(4.0)) / 4.0, 1e-5);
    /* at tau = 0.5 the bias is divided too: exp(2 b) = 4 and 16 */
    sj_lm_forward_io hot = {.temperature = 0.5f, .logprobs = lp};
    assert_int_equal(sj_lm_forward(m, bt, &hot, &err), SJ_OK);
    assert_float_equal(lp[3], log(16.0) - log(260.0 + 4.0 + 16.0), 1e-5);
    sj_lm_batch_free(bt);
    sj_lm_free(m);
}

/* A random model: the biased forward's logits are the unbiased ones plus the
 * bias at exactly the two chosen (row, position) pairs; log-probs, entropy
 * and the cross-entropy follow from them. */
static void test_random_model_against_hand_bias(void **state)
{
    (void)state;
    sj_lm *m = spread_model(1, 7);
    sj_lm_batch *bt = two_rows();
    const float tau = 0.7f;
    size_t nz = (size_t)B * T * V;
    float *z0 = malloc(nz * sizeof *z0), *z1 = malloc(nz * sizeof *z1);
    float lp[B * T], ent[B * T];
    sj_error err;
    sj_lm_forward_io plain = {.temperature = tau, .logits = z0};
    assert_int_equal(sj_lm_forward(m, bt, &plain, &err), SJ_OK);
    add_bias(bt);
    sj_lm_forward_io io = {.temperature = tau, .logits = z1, .logprobs = lp, .entropy = ent};
    assert_int_equal(sj_lm_forward(m, bt, &io, &err), SJ_OK);
    /* the logits output includes the bias, and only where it applies */
    for (int k = 0; k < 3; k++) {
        size_t at0 = (size_t)(0 * T + 3) * V + bias_ids[k];
        size_t at1 = (size_t)(1 * T + 2) * V + bias_ids[k];
        z0[at0] += bias_row0[k];
        z0[at1] += bias_row1[k];
    }
    assert_memory_equal(z0, z1, nz * sizeof *z0);
    /* log-probs and entropy at every real position against the hand logits */
    double ce = 0.0, wsum = 0.0;
    for (int b = 0; b < B; b++)
        for (int t = 0; t < bt->lengths[b]; t++) {
            size_t i = (size_t)b * T + t;
            double h;
            double want = ref_logprob(z0 + i * V, bt->targets[i], tau, &h);
            assert_float_equal(lp[i], want, 2e-5);
            assert_float_equal(ent[i], h, 2e-4);
            ce -= bt->weights[i] * ref_logprob(z0 + i * V, bt->targets[i], 1.0, NULL);
            wsum += bt->weights[i];
        }
    double loss;
    assert_int_equal(sj_lm_ce_loss(m, bt, &loss, &err), SJ_OK);
    assert_float_equal(loss, ce / wsum, 2e-5);
    free(z0);
    free(z1);
    sj_lm_batch_free(bt);
    sj_lm_free(m);
}

/* A zero bias, bias tokens with every bias_pos -1, and no bias at all give
 * bit-identical gradients: the feature costs nothing when unused. */
static void test_unused_bias_is_bit_identical(void **state)
{
    (void)state;
    sj_lm *m = spread_model(2, 3);
    sj_error err;
    float *g[3];
    double loss[3];
    float zeros[3] = {0, 0, 0};
    for (int v = 0; v < 3; v++) {
        sj_lm_batch *bt = two_rows();
        if (v >= 1)
            assert_int_equal(sj_lm_batch_set_bias_tokens(bt, bias_ids, 3, &err), SJ_OK);
        if (v == 2)
            assert_int_equal(sj_lm_batch_set_bias(bt, 0, 3, zeros, &err), SJ_OK);
        sj_lm_zero_grad(m);
        assert_int_equal(sj_lm_ce_step(m, bt, &loss[v], &err), SJ_OK);
        g[v] = malloc(m->n_params * sizeof(float));
        memcpy(g[v], m->grads, m->n_params * sizeof(float));
        sj_lm_batch_free(bt);
    }
    for (int v = 1; v < 3; v++) {
        assert_true(loss[v] == loss[0]);
        assert_memory_equal(g[v], g[0], m->n_params * sizeof(float));
    }
    for (int v = 0; v < 3; v++)
        free(g[v]);
    sj_lm_free(m);
}

/* Largest |analytic - numeric| over entries [from, from + n) of tensor
 * `name`, against the objective f, compared with the tolerance. */
typedef double (*objective_fn)(sj_lm *m, sj_lm_batch *bt);

static void fd_check(sj_lm *m, sj_lm_batch *bt, objective_fn f, const float *grads,
                     const char *name, size_t from, size_t n, size_t stride)
{
    const sj_lm_tensor *t = sj_lm_tensor_by_name(m, name);
    assert_non_null(t);
    size_t off = (size_t)(t->data - m->params);
    const double h = 1e-2;
    double max_diff = 0.0, max_num = 0.0;
    for (size_t i = from; i < from + n; i += stride) {
        float keep = t->data[i];
        t->data[i] = (float)(keep + h);
        double jp = f(m, bt);
        t->data[i] = (float)(keep - h);
        double jm = f(m, bt);
        t->data[i] = keep;
        double num = (jp - jm) / (2.0 * h);
        max_diff = fmax(max_diff, fabs(num - grads[off + i]));
        max_num = fmax(max_num, fabs(num));
    }
    printf("  %-22s max|num| %.3e  max|diff| %.3e\n", name, max_num, max_diff);
    assert_true(max_num > 1e-4); /* the check must see real gradients */
    assert_true(max_diff <= 3e-3 + 2e-2 * max_num);
}

static double ce_objective(sj_lm *m, sj_lm_batch *bt)
{
    double loss;
    sj_error err;
    assert_int_equal(sj_lm_ce_loss(m, bt, &loss, &err), SJ_OK);
    return loss;
}

static void check_tensors(sj_lm *m, sj_lm_batch *bt, objective_fn f, const float *g)
{
    /* the rows of wte of the biased tokens, where the bias changes most */
    for (int k = 0; k < 3; k++)
        fd_check(m, bt, f, g, "wte", (size_t)bias_ids[k] * 8, 8, 1);
    fd_check(m, bt, f, g, "ln_f.weight", 0, 8, 1);
    fd_check(m, bt, f, g, "ln_f.bias", 0, 8, 1);
    fd_check(m, bt, f, g, "h.0.attn.qkv.weight", 0, 24 * 8, 5);
    fd_check(m, bt, f, g, "h.0.mlp.fc.weight", 0, 32 * 8, 7);
    fd_check(m, bt, f, g, "wpe", 0, 6 * 8, 3);
}

static void test_ce_step_gradient_with_bias(void **state)
{
    (void)state;
    sj_lm *m = spread_model(1, 21);
    sj_lm_batch *bt = two_rows();
    add_bias(bt);
    sj_error err;
    double loss;
    sj_lm_zero_grad(m);
    assert_int_equal(sj_lm_ce_step(m, bt, &loss, &err), SJ_OK);
    assert_float_equal(loss, ce_objective(m, bt), 1e-9);
    float *g = malloc(m->n_params * sizeof *g);
    memcpy(g, m->grads, m->n_params * sizeof *g);
    check_tensors(m, bt, ce_objective, g);
    /* and the bias matters: without it the gradients differ by far more
     * than the finite differences do from the analytic ones (< 1e-4) */
    sj_lm_batch *plain = two_rows();
    sj_lm_zero_grad(m);
    assert_int_equal(sj_lm_ce_step(m, plain, &loss, &err), SJ_OK);
    double d = 0.0;
    for (size_t i = 0; i < m->n_params; i++)
        d = fmax(d, fabs(m->grads[i] - g[i]));
    printf("  largest change of a gradient by the bias: %.3e\n", d);
    assert_true(d > 1e-2);
    sj_lm_batch_free(plain);
    free(g);
    sj_lm_batch_free(bt);
    sj_lm_free(m);
}

/* J = sum_i c_i lp_i(tau = 0.7) with fixed c, through sj_lm_backward. */
static const float coef[B * T] = {0.3f,  -0.8f, 1.0f,  -1.2f, 0.6f, 0.9f,
                                  -0.4f, 0.7f,  -1.1f, 0.5f,  0,    0};

static double lp_objective(sj_lm *m, sj_lm_batch *bt)
{
    float lp[B * T] = {0};
    sj_lm_forward_io io = {.temperature = 0.7f, .logprobs = lp};
    sj_error err;
    assert_int_equal(sj_lm_forward(m, bt, &io, &err), SJ_OK);
    double j = 0.0;
    for (int i = 0; i < B * T; i++)
        j += (double)coef[i] * lp[i];
    return j;
}

static void test_backward_dlogprob_with_bias(void **state)
{
    (void)state;
    sj_lm *m = spread_model(1, 33);
    sj_lm_batch *bt = two_rows();
    add_bias(bt);
    sj_error err;
    lp_objective(m, bt);
    sj_lm_zero_grad(m);
    assert_int_equal(sj_lm_backward(m, bt, coef, NULL, &err), SJ_OK);
    float *g = malloc(m->n_params * sizeof *g);
    memcpy(g, m->grads, m->n_params * sizeof *g);
    check_tensors(m, bt, lp_objective, g);
    /* sj_lm_backward_all (no hidden-state term) gives the same gradients */
    lp_objective(m, bt);
    sj_lm_zero_grad(m);
    assert_int_equal(sj_lm_backward_all(m, bt, coef, NULL, &err), SJ_OK);
    assert_memory_equal(m->grads, g, m->n_params * sizeof *g);
    free(g);
    sj_lm_batch_free(bt);
    sj_lm_free(m);
}

static void test_batch_bias_errors(void **state)
{
    (void)state;
    sj_lm *m = spread_model(1, 5);
    sj_lm_batch *bt = two_rows();
    sj_error err;
    float b3[3] = {1, 2, 3};
    /* the bias needs its tokens first */
    assert_int_equal(sj_lm_batch_set_bias(bt, 0, 1, b3, &err), SJ_ERR_INPUT);
    int32_t twice[3] = {5, 9, 5}, negative[2] = {5, -1};
    assert_int_equal(sj_lm_batch_set_bias_tokens(bt, twice, 3, &err), SJ_ERR_INPUT);
    assert_non_null(strstr(err.msg, "twice"));
    assert_int_equal(sj_lm_batch_set_bias_tokens(bt, negative, 2, &err), SJ_ERR_INPUT);
    assert_int_equal(bt->n_bias, 0);
    add_bias(bt);
    /* positions inside the sequence only (row 1 has 4 positions) */
    assert_int_equal(sj_lm_batch_set_bias(bt, 1, 4, b3, &err), SJ_ERR_INPUT);
    assert_int_equal(sj_lm_batch_set_bias(bt, 1, -1, b3, &err), SJ_ERR_INPUT);
    assert_int_equal(sj_lm_batch_set_bias(bt, 2, 0, b3, &err), SJ_ERR_INPUT);
    float inf3[3] = {1, INFINITY, 0};
    assert_int_equal(sj_lm_batch_set_bias(bt, 1, 0, inf3, &err), SJ_ERR_INPUT);
    assert_int_equal(bt->bias_pos[1], 2); /* unchanged by the failures */
    /* setting a sequence or clearing resets the positions, not the tokens */
    int32_t s[3] = {3, 4, 5};
    assert_int_equal(sj_lm_batch_set(bt, 1, s, 3, NULL, &err), SJ_OK);
    assert_int_equal(bt->bias_pos[1], -1);
    assert_int_equal(bt->bias_pos[0], 3);
    sj_lm_batch_clear(bt);
    assert_int_equal(bt->bias_pos[0], -1);
    assert_int_equal(bt->n_bias, 3);
    /* the forward pass checks ids against the vocabulary and hand-set data */
    sj_lm_batch_free(bt);
    bt = two_rows();
    int32_t big[1] = {V};
    assert_int_equal(sj_lm_batch_set_bias_tokens(bt, big, 1, &err), SJ_OK);
    assert_int_equal(sj_lm_batch_set_bias(bt, 0, 0, b3, &err), SJ_OK);
    float lp[B * T];
    sj_lm_forward_io io = {.temperature = 1.0f, .logprobs = lp};
    assert_int_equal(sj_lm_forward(m, bt, &io, &err), SJ_ERR_INPUT);
    assert_non_null(strstr(err.msg, "vocabulary"));
    bt->bias_tokens[0] = 7;
    bt->bias_pos[1] = 4; /* past row 1's 4 positions */
    assert_int_equal(sj_lm_forward(m, bt, &io, &err), SJ_ERR_INPUT);
    bt->bias_pos[1] = -1;
    bt->bias[0] = NAN;
    assert_int_equal(sj_lm_forward(m, bt, &io, &err), SJ_ERR_INPUT);
    bt->bias[0] = 0.5f;
    assert_int_equal(sj_lm_forward(m, bt, &io, &err), SJ_OK);
    /* removing the bias */
    assert_int_equal(sj_lm_batch_set_bias_tokens(bt, NULL, 0, &err), SJ_OK);
    assert_int_equal(bt->n_bias, 0);
    assert_null(bt->bias_tokens);
    sj_lm_batch_free(bt);
    sj_lm_free(m);
}

/* ---- generation ------------------------------------------------------------ */

static int argmax(const float *z)
{
    int best = 0;
    for (int j = 1; j < V; j++)
        if (z[j] > z[best])
            best = j;
    return best;
}

/* Greedy decoding: a bias of +1e4 on a token at step 2 puts it there with
 * log-probability ~0; the steps before and after follow the unbiased model
 * (the full forward pass over the result, without bias, is the reference). */
static void test_generate_forced_token(void **state)
{
    (void)state;
    sj_lm *m = spread_model(2, 13);
    int32_t prompt[3] = {3, 40, 41};
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(rng, 1);
    sj_error err;
    int32_t plain[6], out[6];
    float lps[6];
    int n0, n1;
    sj_lm_sample_opts greedy = {.temperature = 1.0f, .top_k = 1, .max_new = 6, .stop = -1};
    assert_int_equal(sj_lm_generate(m, prompt, 3, &greedy, rng, plain, NULL, &n0, &err), SJ_OK);
    assert_int_equal(n0, 6);
    int32_t forced = plain[2] == 77 ? 78 : 77;
    float big = 1e4f;
    sj_lm_sample_opts biased = greedy;
    biased.bias_tokens = &forced;
    biased.bias = &big;
    biased.n_bias = 1;
    biased.bias_step = 2;
    assert_int_equal(sj_lm_generate(m, prompt, 3, &biased, rng, out, lps, &n1, &err), SJ_OK);
    assert_int_equal(n1, 6);
    assert_int_equal(out[0], plain[0]);
    assert_int_equal(out[1], plain[1]);
    assert_int_equal(out[2], forced);
    assert_true(lps[2] > -1e-3f && lps[2] <= 0.0f);
    /* every other token is the unbiased arg max after the actual prefix,
     * with the unbiased log-probability */
    int32_t seq[9];
    memcpy(seq, prompt, sizeof prompt);
    memcpy(seq + 3, out, sizeof out);
    sj_lm_batch *bt = sj_lm_batch_new(1, 8);
    assert_int_equal(sj_lm_batch_set(bt, 0, seq, 9, NULL, &err), SJ_OK);
    float *z = malloc((size_t)8 * V * sizeof *z), lp[8];
    sj_lm_forward_io io = {.temperature = 1.0f, .logits = z, .logprobs = lp};
    assert_int_equal(sj_lm_forward(m, bt, &io, &err), SJ_OK);
    for (int i = 0; i < 6; i++) {
        if (i == 2) {
            assert_int_not_equal(argmax(z + (size_t)(2 + i) * V), forced);
            continue;
        }
        assert_int_equal(out[i], argmax(z + (size_t)(2 + i) * V));
        assert_float_equal(lps[i], lp[2 + i], 1e-4);
    }
    /* the same bias in the batch at the matching position gives lp ~0 too */
    assert_int_equal(sj_lm_batch_set_bias_tokens(bt, &forced, 1, &err), SJ_OK);
    assert_int_equal(sj_lm_batch_set_bias(bt, 0, 4, &big, &err), SJ_OK);
    assert_int_equal(sj_lm_forward(m, bt, &io, &err), SJ_OK);
    assert_float_equal(lp[4], lps[2], 1e-4);
    free(z);
    sj_lm_batch_free(bt);
    gsl_rng_free(rng);
    sj_lm_free(m);
}

/* Sampling over the whole vocabulary at tau 0.8 with a moderate bias on
 * two tokens at step 1: the reported log-probabilities match the forward
 * pass with the same bias in the batch at position n_prompt (step 1 is
 * predicted there), and a +1e4 bias forces its token whatever rng draws. */
static void test_generate_logprob_matches_biased_forward(void **state)
{
    (void)state;
    sj_lm *m = spread_model(1, 17);
    int32_t prompt[2] = {3, 60};
    int32_t ids[2] = {61, 62};
    float b[2] = {1.0f, -0.5f};
    sj_lm_sample_opts so = {.temperature = 0.8f,
                            .max_new = 5,
                            .stop = -1,
                            .bias_tokens = ids,
                            .bias = b,
                            .n_bias = 2,
                            .bias_step = 1};
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    sj_error err;
    int32_t out[5];
    float lps[5];
    int n;
    for (unsigned long seed = 1; seed <= 3; seed++) {
        gsl_rng_set(rng, seed);
        assert_int_equal(sj_lm_generate(m, prompt, 2, &so, rng, out, lps, &n, &err), SJ_OK);
        assert_int_equal(n, 5);
        int32_t seq[7];
        memcpy(seq, prompt, sizeof prompt);
        memcpy(seq + 2, out, sizeof out);
        sj_lm_batch *bt = sj_lm_batch_new(1, 6);
        assert_int_equal(sj_lm_batch_set(bt, 0, seq, 7, NULL, &err), SJ_OK);
        assert_int_equal(sj_lm_batch_set_bias_tokens(bt, ids, 2, &err), SJ_OK);
        assert_int_equal(sj_lm_batch_set_bias(bt, 0, 2, b, &err), SJ_OK);
        float lp[6];
        sj_lm_forward_io io = {.temperature = 0.8f, .logprobs = lp};
        assert_int_equal(sj_lm_forward(m, bt, &io, &err), SJ_OK);
        for (int i = 0; i < 5; i++)
            assert_float_equal(lps[i], lp[1 + i], 1e-4);
        sj_lm_batch_free(bt);
    }
    float force[2] = {1e4f, 0.0f};
    so.bias = force;
    so.bias_step = 0;
    for (unsigned long seed = 1; seed <= 5; seed++) {
        gsl_rng_set(rng, seed);
        assert_int_equal(sj_lm_generate(m, prompt, 2, &so, rng, out, lps, &n, &err), SJ_OK);
        assert_int_equal(out[0], 61);
        assert_true(lps[0] > -1e-3f);
    }
    /* bad bias options */
    int32_t outside = V;
    so.bias_tokens = &outside;
    so.n_bias = 1;
    assert_int_equal(sj_lm_generate(m, prompt, 2, &so, rng, out, lps, &n, &err), SJ_ERR_INPUT);
    int32_t dup[2] = {61, 61};
    so.bias_tokens = dup;
    so.n_bias = 2;
    assert_int_equal(sj_lm_generate(m, prompt, 2, &so, rng, out, lps, &n, &err), SJ_ERR_INPUT);
    so.bias_tokens = ids;
    so.bias_step = -1;
    assert_int_equal(sj_lm_generate(m, prompt, 2, &so, rng, out, lps, &n, &err), SJ_ERR_INPUT);
    gsl_rng_free(rng);
    sj_lm_free(m);
}

/* ---- extra JSON files in a model folder ---------------------------------------- */

static char tmpdir[256];

static int setup_tmp(void **state)
{
    (void)state;
    snprintf(tmpdir, sizeof tmpdir, "/tmp/sjtalign_test_lm_bias_XXXXXX");
    return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown_tmp(void **state)
{
    (void)state;
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    return system(cmd) == 0 ? 0 : -1;
}

static sj_tokenizer *small_tokenizer(void)
{
    const char *texts[] = {"the cat sat on the mat", "the dog sat on the log"};
    sj_error err;
    sj_tokenizer *tok = sj_tokenizer_train(texts, NULL, 2, 262, &err);
    assert_non_null(tok);
    return tok;
}

static void expect_load_error(const char *dir, const char *needle)
{
    sj_error err;
    assert_null(sj_lm_load(dir, NULL, 0, &err));
    assert_int_equal(err.status, SJ_ERR_INPUT);
    if (!strstr(err.msg, needle))
        fail_msg("error \"%s\" does not name \"%s\"", err.msg, needle);
}

/* Rewrites config.json's extra_files entry `name` to `sha` (moved last). */
static void set_listed_sha(const char *dir, const char *name, const char *sha)
{
    sj_error err;
    char *path = sj_path_join(dir, "config.json");
    cJSON *cfg = sj_json_read(path, &err);
    assert_non_null(cfg);
    cJSON *files = cJSON_GetObjectItemCaseSensitive(cfg, "extra_files");
    cJSON_DeleteItemFromObjectCaseSensitive(files, name);
    if (sha) /* NULL: only remove the entry */
        cJSON_AddStringToObject(files, name, sha);
    assert_int_equal(sj_json_write(path, cfg, &err), SJ_OK);
    cJSON_Delete(cfg);
    free(path);
}

static void write_text(const char *dir, const char *name, const char *text, char sha[65])
{
    sj_error err;
    char *path = sj_path_join(dir, name);
    assert_int_equal(sj_write_file_atomic(path, text, strlen(text), &err), SJ_OK);
    sj_sha256_hex(text, strlen(text), sha);
    free(path);
}

static void test_extra_json_round_trip(void **state)
{
    (void)state;
    sj_lm *m = spread_model(1, 2);
    sj_tokenizer *tok = small_tokenizer();
    sj_error err;
    cJSON *lex = cJSON_Parse("{\"levels\": [0, 1, 2], \"cut\": [-1.25, 0.5], \"name\": \"x\"}");
    cJSON *other = cJSON_Parse("[1, \"two\", null]");
    const char *names[2] = {"lexical.json", "extra-2_b.json"};
    const cJSON *docs[2] = {lex, other};
    sj_lm_save_opts so = {.tok = tok, .json_names = names, .json_docs = docs, .n_json = 2};
    char *dir = sj_path_join(tmpdir, "model");
    assert_int_equal(sj_lm_save(dir, m, &so, &err), SJ_OK);

    sj_lm_checkpoint *ck = sj_lm_load(dir, NULL, 0, &err);
    assert_non_null(ck);
    assert_int_equal(ck->n_json, 2);
    assert_true(cJSON_Compare(sj_lm_checkpoint_json(ck, "lexical.json"), lex, 1));
    assert_true(cJSON_Compare(sj_lm_checkpoint_json(ck, "extra-2_b.json"), other, 1));
    assert_null(sj_lm_checkpoint_json(ck, "missing.json"));
    /* config.json lists each file with the sha256 of its bytes */
    const cJSON *files = cJSON_GetObjectItemCaseSensitive(ck->config, "extra_files");
    assert_int_equal(cJSON_GetArraySize(files), 2);
    char *lpath = sj_path_join(dir, "lexical.json"), *data;
    size_t len;
    assert_int_equal(sj_read_file(lpath, &data, &len, &err), SJ_OK);
    char sha[65];
    sj_sha256_hex(data, len, sha);
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(files, "lexical.json")->valuestring, sha);
    free(data);
    sj_lm_checkpoint_free(ck);
    /* the folder's manifest lists them */
    char *mpath = sj_path_join(dir, ".sjtalign-manifest.json");
    cJSON *manifest = sj_json_read(mpath, &err);
    assert_non_null(manifest);
    int seen = 0;
    const cJSON *f;
    cJSON_ArrayForEach(f, cJSON_GetObjectItemCaseSensitive(manifest, "files"))
    {
        const char *n = cJSON_GetObjectItemCaseSensitive(f, "name")->valuestring;
        seen += strcmp(n, "lexical.json") == 0 || strcmp(n, "extra-2_b.json") == 0;
    }
    assert_int_equal(seen, 2);
    cJSON_Delete(manifest);
    free(mpath);
    /* saving again over it works (the manifest covers the files) */
    assert_int_equal(sj_lm_save(dir, m, &so, &err), SJ_OK);

    /* tampering: changed content, missing file, malformed or duplicate-key
     * JSON (even with a matching checksum), a bad listing */
    write_text(dir, "lexical.json", "{\"levels\": [0, 1, 3]}\n", sha);
    expect_load_error(dir, "lexical.json");
    set_listed_sha(dir, "lexical.json", sha);
    assert_non_null(ck = sj_lm_load(dir, NULL, 0, &err));
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(
                         sj_lm_checkpoint_json(ck, "lexical.json"), "levels")),
                     3);
    sj_lm_checkpoint_free(ck);
    write_text(dir, "lexical.json", "{\"levels\": [0, 1,}\n", sha);
    set_listed_sha(dir, "lexical.json", sha);
    expect_load_error(dir, "lexical.json");
    write_text(dir, "lexical.json", "{\"a\": 1, \"a\": 2}\n", sha);
    set_listed_sha(dir, "lexical.json", sha);
    expect_load_error(dir, "lexical.json");
    assert_int_equal(unlink(lpath), 0);
    expect_load_error(dir, "lexical.json");
    set_listed_sha(dir, "lexical.json", "not-a-sha");
    expect_load_error(dir, "lexical.json");
    set_listed_sha(dir, "lexical.json", NULL);
    set_listed_sha(dir, "../config.json", sha);
    expect_load_error(dir, "../config.json");
    free(lpath);

    /* the tampered folder is no longer one sjtalign may replace */
    sj_lm_save_opts plain = {.tok = tok};
    assert_int_equal(sj_lm_save(dir, m, &plain, &err), SJ_ERR_INPUT);
    /* a model without extra files loads as before */
    free(dir);
    dir = sj_path_join(tmpdir, "plain");
    assert_int_equal(sj_lm_save(dir, m, &plain, &err), SJ_OK);
    assert_non_null(ck = sj_lm_load(dir, NULL, 0, &err));
    assert_int_equal(ck->n_json, 0);
    assert_null(cJSON_GetObjectItemCaseSensitive(ck->config, "extra_files"));
    assert_null(sj_lm_checkpoint_json(ck, "lexical.json"));
    sj_lm_checkpoint_free(ck);

    /* names that are not plain .json files of their own are refused before
     * anything is written */
    const char *bad[] = {"config.json",
                         "tokenizer.json",
                         ".sjtalign-manifest.json",
                         "a/b.json",
                         "lexical.txt",
                         ".json",
                         "sp ace.json",
                         NULL};
    char *fresh = sj_path_join(tmpdir, "fresh");
    for (int i = 0; i < 8; i++) {
        const char *one[1] = {bad[i]};
        sj_lm_save_opts bo = {.tok = tok, .json_names = one, .json_docs = docs, .n_json = 1};
        assert_int_equal(sj_lm_save(fresh, m, &bo, &err), SJ_ERR_WORK);
        assert_int_not_equal(access(fresh, F_OK), 0);
    }
    const char *same[2] = {"a.json", "a.json"};
    sj_lm_save_opts twice = {.tok = tok, .json_names = same, .json_docs = docs, .n_json = 2};
    assert_int_equal(sj_lm_save(fresh, m, &twice, &err), SJ_ERR_WORK);
    assert_non_null(strstr(err.msg, "twice"));
    free(fresh);

    free(dir);
    cJSON_Delete(lex);
    cJSON_Delete(other);
    sj_tokenizer_free(tok);
    sj_lm_free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_zero_model_by_hand),
        cmocka_unit_test(test_random_model_against_hand_bias),
        cmocka_unit_test(test_unused_bias_is_bit_identical),
        cmocka_unit_test(test_ce_step_gradient_with_bias),
        cmocka_unit_test(test_backward_dlogprob_with_bias),
        cmocka_unit_test(test_batch_bias_errors),
        cmocka_unit_test(test_generate_forced_token),
        cmocka_unit_test(test_generate_logprob_matches_biased_forward),
        cmocka_unit_test_setup_teardown(test_extra_json_round_trip, setup_tmp, teardown_tmp),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
