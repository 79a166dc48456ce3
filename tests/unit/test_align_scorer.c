/* The scorer's fast path (single-token score levels): the level
 * probabilities of each prompt with the shared-prefix cache equal those
 * without it (within 1e-5), and both equal the probabilities computed here
 * from the model's dense logits at the position after "score: ":
 * p_k = exp(z[level k] + prior_k) / sum_j exp(z[level j] + prior_j), and
 * the valid mass sum_k exp(z[level k] + prior_k) / sum_v exp(z_v) with the
 * prior added to the level logits (the logit bias). */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <gsl/gsl_rng.h>

#include "sjtalign/align.h"
#include "sjtalign/lm.h"

enum { CTX = 64, N_PROMPTS = 12, LEVELS = 4 };

typedef struct {
    sj_tokenizer *tok;
    sja_codec codec;
    sj_lm *m;
    sja_seq prompts[N_PROMPTS];
    int32_t level_ids[LEVELS];
} fixture;

/* Prompts in three groups that share 12, 10 and 9 first tokens (one group
 * of a single prompt, which shares nothing), own tokens of 2 to 13; every
 * third prompt carries a lexical prior at the score position. */
static void make_prompts(fixture *f, gsl_rng *rng)
{
    const int group_of[N_PROMPTS] = {0, 1, 0, 2, 1, 0, 1, 0, 0, 1, 3, 0};
    const int shared_len[4] = {12, 10, 9, 9};
    for (int i = 0; i < N_PROMPTS; i++) {
        int g = group_of[i], own = 2 + (int)gsl_rng_uniform_int(rng, 12);
        sja_seq *s = &f->prompts[i];
        memset(s, 0, sizeof *s);
        s->len = s->prompt_len = shared_len[g] + own;
        s->tokens = malloc((size_t)s->len * sizeof *s->tokens);
        assert_non_null(s->tokens);
        s->tokens[0] = SJ_TOK_BOS;
        for (int t = 1; t < shared_len[g]; t++)
            s->tokens[t] = SJ_TOK_BYTE0 + 10 * g + t; /* the group's own prompt */
        for (int t = shared_len[g]; t < s->len - 1; t++)
            s->tokens[t] = SJ_TOK_BYTE0 + 100 + (int32_t)gsl_rng_uniform_int(rng, 150);
        s->tokens[s->len - 1] = SJ_TOK_SEP;
        if (i % 3 == 0) {
            s->n_prior = LEVELS;
            s->prior = malloc(LEVELS * sizeof *s->prior);
            assert_non_null(s->prior);
            for (int k = 0; k < LEVELS; k++)
                s->prior[k] = -0.4f * (float)((k + i) % LEVELS);
            s->prior_tokens = f->level_ids;
            s->prior_pos = s->len + (int)f->codec.n_prefix - 1;
        }
    }
}

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    assert_non_null(f);
    const char *texts[] = {"score: 2 score: 3 score: 1 score: 0", "I would ask the team."};
    sj_error err;
    f->tok = sj_tokenizer_train(texts, NULL, 2, 280, &err);
    assert_non_null(f->tok);
    assert_int_equal(sja_codec_init(&f->codec, f->tok, CTX, 0, LEVELS - 1, &err), SJ_OK);
    assert_true(f->codec.single_token_levels);
    for (int k = 0; k < LEVELS; k++)
        f->level_ids[k] = f->codec.level[k][0];
    sj_lm_config cfg = {
        .vocab = sj_tokenizer_vocab_size(f->tok), .ctx = CTX, .layers = 2, .heads = 2, .embd = 16};
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(rng, 21);
    f->m = sj_lm_new(&cfg, rng, &err);
    assert_non_null(f->m);
    for (size_t i = 0; i < f->m->n_params; i++)
        f->m->params[i] += (float)(0.3 * (gsl_rng_uniform(rng) * 2.0 - 1.0));
    make_prompts(f, rng);
    gsl_rng_free(rng);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    for (int i = 0; i < N_PROMPTS; i++)
        sja_seq_free(&f->prompts[i]);
    sj_lm_free(f->m);
    sja_codec_free(&f->codec);
    sj_tokenizer_free(f->tok);
    free(f);
    return 0;
}

/* The level probabilities and valid mass of one prompt from the dense
 * logits of the whole sequence (prompt, "score: "), in double. */
static void expected_levels(fixture *f, const sja_seq *s, double *p, double *mass)
{
    int n = s->len + (int)f->codec.n_prefix, V = f->m->cfg.vocab;
    sj_lm_batch *bt = sj_lm_batch_new(1, n);
    int32_t seq[CTX + 1];
    memcpy(seq, s->tokens, (size_t)s->len * sizeof *seq);
    memcpy(seq + s->len, f->codec.prefix, f->codec.n_prefix * sizeof *seq);
    seq[n] = SJ_TOK_EOS;
    sj_error err;
    assert_int_equal(sj_lm_batch_set(bt, 0, seq, n + 1, NULL, &err), SJ_OK);
    float *z = malloc((size_t)n * V * sizeof *z);
    sj_lm_forward_io io = {.temperature = 1.0f, .logits = z};
    assert_int_equal(sj_lm_forward(f->m, bt, &io, &err), SJ_OK);
    const float *last = z + (size_t)(n - 1) * V;
    double zl[LEVELS], total = 0.0, levels = 0.0;
    for (int k = 0; k < LEVELS; k++)
        zl[k] = last[f->level_ids[k]] + (s->prior ? s->prior[k] : 0.0);
    for (int v = 0; v < V; v++) {
        double zv = last[v];
        for (int k = 0; k < LEVELS && s->prior; k++)
            zv = v == f->level_ids[k] ? zl[k] : zv;
        total += exp(zv);
    }
    for (int k = 0; k < LEVELS; k++)
        levels += exp(zl[k]);
    for (int k = 0; k < LEVELS; k++)
        p[k] = exp(zl[k]) / levels;
    *mass = levels / total;
    free(z);
    sj_lm_batch_free(bt);
}

static void shared_prefix_scores_equal_whole_prompts(void **state)
{
    fixture *f = *state;
    double p_shared[N_PROMPTS * LEVELS], p_whole[N_PROMPTS * LEVELS];
    double m_shared[N_PROMPTS], m_whole[N_PROMPTS];
    sj_error err;
    /* batches of 3: groups split over several batches, some short */
    assert_int_equal(sja_score_levels_shared(f->m, &f->codec, f->prompts, N_PROMPTS, 3, 1, p_shared,
                                             m_shared, NULL, &err),
                     SJ_OK);
    assert_int_equal(sja_score_levels_shared(f->m, &f->codec, f->prompts, N_PROMPTS, 5, 0, p_whole,
                                             m_whole, NULL, &err),
                     SJ_OK);
    for (int i = 0; i < N_PROMPTS; i++) {
        double want[LEVELS], mass;
        expected_levels(f, &f->prompts[i], want, &mass);
        for (int k = 0; k < LEVELS; k++) {
            assert_true(fabs(p_shared[i * LEVELS + k] - p_whole[i * LEVELS + k]) <= 1e-5);
            assert_true(fabs(p_whole[i * LEVELS + k] - want[k]) <= 1e-5);
        }
        assert_true(fabs(m_shared[i] - m_whole[i]) <= 1e-5);
        assert_true(fabs(m_whole[i] - mass) <= 1e-5);
    }
    /* sja_score_levels is the shared path */
    double p_default[N_PROMPTS * LEVELS];
    assert_int_equal(
        sja_score_levels(f->m, &f->codec, f->prompts, N_PROMPTS, 3, p_default, NULL, NULL, &err),
        SJ_OK);
    assert_memory_equal(p_default, p_shared, sizeof p_shared);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(shared_prefix_scores_equal_whole_prompts),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
