/* The output layer only where it is read (sparse_head, logits_pos) and the
 * shared-prefix cache (sj_lm_prefix_*, sj_lm_forward_prefixed).
 *
 * Expected values come from the ordinary dense forward pass, whose own
 * correctness test_lm_grad.c and test_lm_bias.c establish: a sparse pass
 * must give the same log-probabilities, entropies and logits at the
 * positions it computes (within 1e-5), exact zeros elsewhere, and the same
 * parameter gradients; a prefixed pass must give what the whole sequences
 * give. Log-softmax of the returned logits is computed here in double. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <gsl/gsl_rng.h>

#include "sjtalign/lm.h"

enum { V = 262, B = 3, T = 10, CTX = 16 };

static sj_lm *random_model(unsigned long seed)
{
    sj_lm_config cfg = {.vocab = V, .ctx = CTX, .layers = 2, .heads = 2, .embd = 8};
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(rng, seed);
    sj_error err;
    sj_lm *m = sj_lm_new(&cfg, rng, &err);
    assert_non_null(m);
    /* spread the weights so the distributions are far from uniform */
    for (size_t i = 0; i < m->n_params; i++)
        m->params[i] += (float)(0.5 * (gsl_rng_uniform(rng) * 2.0 - 1.0));
    gsl_rng_free(rng);
    return m;
}

/* Rows of 11, 7 and 4 tokens (10, 6 and 3 positions); weights: row 0 on
 * positions 6..9, row 1 on 4..5, row 2 none. Row 1 is biased at 4. */
static sj_lm_batch *mixed_batch(void)
{
    sj_lm_batch *bt = sj_lm_batch_new(B, T);
    assert_non_null(bt);
    int32_t s0[11] = {3, 40, 41, 42, 9, 43, 44, 45, 46, 47, 1};
    int32_t s1[7] = {3, 50, 51, 2, 52, 53, 1};
    int32_t s2[4] = {3, 60, 61, 62};
    float w0[10] = {0, 0, 0, 0, 0, 0, 1, 1, 1, 0.5f};
    float w1[6] = {0, 0, 0, 0, 1, 1};
    float w2[3] = {0, 0, 0};
    sj_error err;
    assert_int_equal(sj_lm_batch_set(bt, 0, s0, 11, w0, &err), SJ_OK);
    assert_int_equal(sj_lm_batch_set(bt, 1, s1, 7, w1, &err), SJ_OK);
    assert_int_equal(sj_lm_batch_set(bt, 2, s2, 4, w2, &err), SJ_OK);
    const int32_t ids[2] = {52, 100};
    const float bias[2] = {2.0f, -1.5f};
    assert_int_equal(sj_lm_batch_set_bias_tokens(bt, ids, 2, &err), SJ_OK);
    assert_int_equal(sj_lm_batch_set_bias(bt, 1, 3, bias, &err), SJ_OK);
    return bt;
}

static void close_to(double want, double got, double tol)
{
    if (fabs(want - got) > tol)
        fail_msg("expected %.9g, got %.9g (tolerance %g)", want, got, tol);
}

/* Log-probs and entropy at the weighted positions equal the dense pass's;
 * elsewhere they are 0. */
static void sparse_logprobs_match_dense(void **state)
{
    (void)state;
    sj_lm *m = random_model(11);
    sj_lm_batch *bt = mixed_batch();
    float lp_d[B * T], ent_d[B * T], lp_s[B * T], ent_s[B * T];
    sj_error err;
    sj_lm_forward_io dense = {.temperature = 0.7f, .logprobs = lp_d, .entropy = ent_d};
    assert_int_equal(sj_lm_forward(m, bt, &dense, &err), SJ_OK);
    sj_lm_forward_io sparse = {
        .temperature = 0.7f, .logprobs = lp_s, .entropy = ent_s, .sparse_head = 1};
    assert_int_equal(sj_lm_forward(m, bt, &sparse, &err), SJ_OK);
    int computed = 0;
    for (int i = 0; i < B * T; i++) {
        if (bt->weights[i] != 0.0f) {
            close_to(lp_d[i], lp_s[i], 1e-5);
            close_to(ent_d[i], ent_s[i], 1e-5);
            computed++;
        } else if (!(i == 1 * T + 3)) { /* the bias position also runs */
            assert_true(lp_s[i] == 0.0f && ent_s[i] == 0.0f);
        }
    }
    assert_int_equal(computed, 6);
    /* the biased position is computed too, with its bias */
    close_to(lp_d[1 * T + 3], lp_s[1 * T + 3], 1e-5);
    sj_lm_batch_free(bt);
    sj_lm_free(m);
}

/* logits_at holds the dense logits at logits_pos (bias included), 0 for
 * -1; with only logits_pos asked for, nothing else is computed. */
static void logits_at_reads_the_dense_rows(void **state)
{
    (void)state;
    sj_lm *m = random_model(12);
    sj_lm_batch *bt = mixed_batch();
    float *full = malloc((size_t)B * T * V * sizeof *full);
    float at[B * V];
    sj_error err;
    sj_lm_forward_io dense = {.temperature = 1.0f, .logits = full};
    assert_int_equal(sj_lm_forward(m, bt, &dense, &err), SJ_OK);
    int pos[B] = {9, 3, -1};
    sj_lm_forward_io sparse = {
        .temperature = 1.0f, .logits_pos = pos, .logits_at = at, .sparse_head = 1};
    assert_int_equal(sj_lm_forward(m, bt, &sparse, &err), SJ_OK);
    for (int b = 0; b < 2; b++)
        for (int v = 0; v < V; v++)
            close_to(full[((size_t)b * T + pos[b]) * V + v], at[(size_t)b * V + v], 1e-5);
    for (int v = 0; v < V; v++)
        assert_true(at[2 * V + v] == 0.0f);
    /* a position past the sequence is refused */
    int bad[B] = {9, 6, -1};
    sparse.logits_pos = bad;
    assert_int_equal(sj_lm_forward(m, bt, &sparse, &err), SJ_ERR_INPUT);
    free(full);
    sj_lm_batch_free(bt);
    sj_lm_free(m);
}

/* The same d(objective)/d(logprob) through a dense and a sparse pass gives
 * the same gradient of every parameter. */
static void sparse_gradients_match_dense(void **state)
{
    (void)state;
    sj_lm *dense_m = random_model(13);
    sj_error err;
    sj_lm *sparse_m = sj_lm_copy(dense_m, &err);
    assert_non_null(sparse_m);
    sj_lm_batch *bt = mixed_batch();
    float lp[B * T], d[B * T];
    for (int i = 0; i < B * T; i++)
        d[i] = bt->weights[i] * (0.3f + 0.1f * (float)(i % 7)) * (i % 2 ? 1.0f : -1.0f);
    sj_lm_forward_io io = {.temperature = 0.8f, .logprobs = lp};
    sj_lm_zero_grad(dense_m);
    assert_int_equal(sj_lm_forward(dense_m, bt, &io, &err), SJ_OK);
    assert_int_equal(sj_lm_backward(dense_m, bt, d, NULL, &err), SJ_OK);
    io.sparse_head = 1;
    sj_lm_zero_grad(sparse_m);
    assert_int_equal(sj_lm_forward(sparse_m, bt, &io, &err), SJ_OK);
    assert_int_equal(sj_lm_backward(sparse_m, bt, d, NULL, &err), SJ_OK);
    double largest = 0.0;
    for (size_t i = 0; i < dense_m->n_params; i++) {
        close_to(dense_m->grads[i], sparse_m->grads[i], 1e-5 + 1e-4 * fabs(dense_m->grads[i]));
        largest = fmax(largest, fabs(dense_m->grads[i]));
    }
    assert_true(largest > 1e-3); /* the comparison is not between zeros */
    /* sj_lm_ce_step runs sparse inside: its loss and gradients are the
     * dense cross-entropy's (loss = -sum w lp / sum w) */
    double loss;
    sj_lm_zero_grad(sparse_m);
    assert_int_equal(sj_lm_ce_step(sparse_m, bt, &loss, &err), SJ_OK);
    float lp1[B * T];
    sj_lm_forward_io plain = {.temperature = 1.0f, .logprobs = lp1};
    assert_int_equal(sj_lm_forward(dense_m, bt, &plain, &err), SJ_OK);
    double num = 0.0, den = 0.0;
    for (int i = 0; i < B * T; i++) {
        num -= bt->weights[i] * lp1[i];
        den += bt->weights[i];
    }
    close_to(num / den, loss, 1e-5);
    sj_lm_batch_free(bt);
    sj_lm_free(dense_m);
    sj_lm_free(sparse_m);
}

/* A forward-only pass (the last block on the read rows only) gives the
 * dense pass's log-probs, entropy and hidden states at the rows it reads,
 * for one and for two layers; a backward pass after it is refused. */
static void forward_only_matches_dense(void **state)
{
    (void)state;
    for (int layers = 1; layers <= 2; layers++) {
        sj_lm_config cfg = {.vocab = V, .ctx = CTX, .layers = layers, .heads = 2, .embd = 8};
        gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
        gsl_rng_set(rng, 17);
        sj_error err;
        sj_lm *m = sj_lm_new(&cfg, rng, &err);
        assert_non_null(m);
        for (size_t i = 0; i < m->n_params; i++)
            m->params[i] += (float)(0.5 * (gsl_rng_uniform(rng) * 2.0 - 1.0));
        gsl_rng_free(rng);
        sj_lm_batch *bt = mixed_batch();
        float lp_d[B * T], ent_d[B * T], h_d[B * 8], lp_f[B * T], ent_f[B * T], h_f[B * 8];
        int hpos[B] = {2, 5, 1};
        sj_lm_forward_io io = {.temperature = 0.9f,
                               .logprobs = lp_d,
                               .entropy = ent_d,
                               .hidden_pos = hpos,
                               .hidden = h_d};
        assert_int_equal(sj_lm_forward(m, bt, &io, &err), SJ_OK);
        io.logprobs = lp_f;
        io.entropy = ent_f;
        io.hidden = h_f;
        io.sparse_head = 1;
        io.forward_only = 1;
        assert_int_equal(sj_lm_forward(m, bt, &io, &err), SJ_OK);
        for (int i = 0; i < B * T; i++)
            if (bt->weights[i] != 0.0f) {
                close_to(lp_d[i], lp_f[i], 1e-5);
                close_to(ent_d[i], ent_f[i], 1e-5);
            }
        for (int i = 0; i < B * 8; i++)
            close_to(h_d[i], h_f[i], 1e-5);
        float d[B * T] = {0};
        assert_int_equal(sj_lm_backward(m, bt, d, NULL, &err), SJ_ERR_WORK);
        sj_lm_batch_free(bt);
        sj_lm_free(m);
    }
}

/* A gradient at a position the sparse pass did not compute is refused. */
static void sparse_backward_refuses_uncomputed_rows(void **state)
{
    (void)state;
    sj_lm *m = random_model(14);
    sj_lm_batch *bt = mixed_batch();
    float lp[B * T], d[B * T] = {0};
    sj_error err;
    sj_lm_forward_io io = {.temperature = 1.0f, .logprobs = lp, .sparse_head = 1};
    assert_int_equal(sj_lm_forward(m, bt, &io, &err), SJ_OK);
    d[2] = 1.0f; /* row 0, position 2: weight 0 */
    assert_int_equal(sj_lm_backward(m, bt, d, NULL, &err), SJ_ERR_WORK);
    sj_lm_batch_free(bt);
    sj_lm_free(m);
}

/* log softmax(z)[v] in double. */
static double log_softmax_at(const float *z, int v)
{
    double mx = z[0], s = 0.0;
    for (int j = 1; j < V; j++)
        mx = z[j] > mx ? z[j] : mx;
    for (int j = 0; j < V; j++)
        s += exp(z[j] - mx);
    return z[v] - mx - log(s);
}

/* Three sequences that begin with the same 5 tokens: the prefixed pass on
 * their own tokens gives the whole sequences' next-token log-probs and
 * final hidden states (within 1e-5), with a logit bias counted after the
 * prefix; a backward pass after it is refused. */
static void prefixed_pass_matches_whole_sequences(void **state)
{
    (void)state;
    enum { P = 5 };
    sj_lm *m = random_model(15);
    const int32_t shared[P] = {3, 70, 71, 72, 73};
    const int32_t own[B][6] = {{80, 81, 82, 83, 84, 85}, {90, 91}, {100, 101, 102, 103}};
    const int n_own[B] = {6, 2, 4};
    const int32_t bias_ids[2] = {7, 8};
    const float bias[2] = {1.25f, -0.5f};
    sj_lm_batch *whole = sj_lm_batch_new(B, CTX), *after = sj_lm_batch_new(B, CTX);
    sj_error err;
    int pos_whole[B], pos_after[B];
    for (int b = 0; b < B; b++) {
        int32_t seq[CTX + 1];
        memcpy(seq, shared, sizeof shared);
        memcpy(seq + P, own[b], (size_t)n_own[b] * sizeof *seq);
        seq[P + n_own[b]] = 1; /* a target after the last input */
        assert_int_equal(sj_lm_batch_set(whole, b, seq, P + n_own[b] + 1, NULL, &err), SJ_OK);
        assert_int_equal(sj_lm_batch_set(after, b, seq + P, n_own[b] + 1, NULL, &err), SJ_OK);
        pos_whole[b] = P + n_own[b] - 1;
        pos_after[b] = n_own[b] - 1;
    }
    assert_int_equal(sj_lm_batch_set_bias_tokens(whole, bias_ids, 2, &err), SJ_OK);
    assert_int_equal(sj_lm_batch_set_bias_tokens(after, bias_ids, 2, &err), SJ_OK);
    assert_int_equal(sj_lm_batch_set_bias(whole, 0, pos_whole[0], bias, &err), SJ_OK);
    assert_int_equal(sj_lm_batch_set_bias(after, 0, pos_after[0], bias, &err), SJ_OK);
    float z_whole[B * V], z_after[B * V], h_whole[B * 8], h_after[B * 8];
    sj_lm_forward_io io = {.temperature = 1.0f,
                           .logits_pos = pos_whole,
                           .logits_at = z_whole,
                           .hidden_pos = pos_whole,
                           .hidden = h_whole,
                           .sparse_head = 1};
    assert_int_equal(sj_lm_forward(m, whole, &io, &err), SJ_OK);
    sj_lm_prefix *pre = sj_lm_prefix_new(m, &err);
    assert_non_null(pre);
    assert_int_equal(sj_lm_prefix_set(pre, m, shared, P, &err), SJ_OK);
    assert_int_equal(sj_lm_prefix_len(pre), P);
    io.logits_pos = pos_after;
    io.logits_at = z_after;
    io.hidden_pos = pos_after;
    io.hidden = h_after;
    assert_int_equal(sj_lm_forward_prefixed(m, pre, after, &io, &err), SJ_OK);
    for (int b = 0; b < B; b++) {
        for (int v = 0; v < V; v += 7)
            close_to(log_softmax_at(z_whole + (size_t)b * V, v),
                     log_softmax_at(z_after + (size_t)b * V, v), 1e-5);
        for (int i = 0; i < 8; i++)
            close_to(h_whole[b * 8 + i], h_after[b * 8 + i], 1e-5);
    }
    /* (v = 7, a biased token, is among those compared: the bias counts
     * from the first token after the prefix) */
    float lp[B * CTX] = {0};
    assert_int_equal(sj_lm_backward(m, after, lp, NULL, &err), SJ_ERR_WORK);
    /* a prefix and sequences longer than the context together are refused */
    assert_int_equal(sj_lm_prefix_set(pre, m, shared, P, &err), SJ_OK);
    sj_lm_batch *too_long = sj_lm_batch_new(1, CTX);
    int32_t seq[CTX + 1];
    for (int t = 0; t <= CTX; t++)
        seq[t] = 10 + t;
    assert_int_equal(sj_lm_batch_set(too_long, 0, seq, CTX + 1 - P + 1, NULL, &err), SJ_OK);
    sj_lm_forward_io none = {.temperature = 1.0f};
    assert_int_equal(sj_lm_forward_prefixed(m, pre, too_long, &none, &err), SJ_ERR_INPUT);
    /* an empty prefix is the plain pass */
    assert_int_equal(sj_lm_prefix_set(pre, m, shared, 0, &err), SJ_OK);
    io.logits_pos = pos_whole;
    io.hidden_pos = pos_whole;
    assert_int_equal(sj_lm_forward_prefixed(m, pre, whole, &io, &err), SJ_OK);
    for (int b = 0; b < B; b++)
        for (int i = 0; i < 8; i++)
            close_to(h_whole[b * 8 + i], h_after[b * 8 + i], 1e-6);
    sj_lm_batch_free(too_long);
    sj_lm_prefix_free(pre);
    sj_lm_batch_free(whole);
    sj_lm_batch_free(after);
    sj_lm_free(m);
}

/* Passes on batches no larger than an earlier one reuse the activations:
 * the arena keeps its address. */
static void activation_arena_is_reused(void **state)
{
    (void)state;
    sj_lm *m = random_model(16);
    sj_lm_batch *big = mixed_batch(), *small = sj_lm_batch_new(2, 5);
    sj_error err;
    int32_t s[6] = {3, 4, 5, 6, 7, 8};
    assert_int_equal(sj_lm_batch_set(small, 0, s, 6, NULL, &err), SJ_OK);
    assert_int_equal(sj_lm_batch_set(small, 1, s, 4, NULL, &err), SJ_OK);
    assert_int_equal(sj_lm_forward(m, big, NULL, &err), SJ_OK);
    const void *arena = m->acts;
    for (int k = 0; k < 3; k++) {
        assert_int_equal(sj_lm_forward(m, small, NULL, &err), SJ_OK);
        assert_int_equal(sj_lm_forward(m, big, NULL, &err), SJ_OK);
        assert_ptr_equal(m->acts, arena);
    }
    sj_lm_batch_free(big);
    sj_lm_batch_free(small);
    sj_lm_free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(sparse_logprobs_match_dense),
        cmocka_unit_test(logits_at_reads_the_dense_rows),
        cmocka_unit_test(sparse_gradients_match_dense),
        cmocka_unit_test(sparse_backward_refuses_uncomputed_rows),
        cmocka_unit_test(forward_only_matches_dense),
        cmocka_unit_test(prefixed_pass_matches_whole_sequences),
        cmocka_unit_test(activation_arena_is_reused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
