/* The fast paths of the preference stages give the values of the general
 * ones: judgments of one pair share a unit whose two sequences go through
 * the model once (reward model, DPO), and the level `pairs` draws follows
 * the softmax of the logits at the score's position at the temperature. */
#include "test_helpers.h"

#include <math.h>

#include "../../src/align/align_internal.h"
#include "sjtalign/align.h"

static const char *INSTRUMENT =
    "{\"id\": \"t\", \"title\": \"T\", \"score_min\": 0, \"score_max\": 3, \"items\": ["
    "{\"id\": \"A1\", \"scenario\": \"s\", \"question\": \"What now?\", \"rubric\": ["
    "{\"score\": 0, \"anchor\": \"ignores\"}, {\"score\": 3, \"anchor\": \"talks first\"}]}]}";

typedef struct {
    sj_instrument *ins;
    sj_tokenizer *tok;
    sja_codec codec;
    sj_lm *model;
    sja_pair_seqs d;
} fixture;

static const char *R1 = "I would ask the team.";
static const char *R2 = "I would ask the team what happened and then decide together.";

/* Six judgments: (person, response, chosen score, rejected score, tie). */
static const struct {
    const char *person, *response;
    int chosen, rejected, tie;
} JUDGMENTS[6] = {
    {"P1", NULL, 3, 1, 0}, /* j0 */
    {"P1", NULL, 1, 3, 0}, /* j1: the same pair, the other judgment */
    {"P2", NULL, 3, 1, 0}, /* j2: the same texts, another person */
    {"P1", NULL, 3, 2, 0}, /* j3: another pair */
    {"P1", NULL, 3, 1, 1}, /* j4: the pair of j0, a tie */
    {"P1", "", 0, 2, 0},   /* j5: the longer response */
};

static void encode(fixture *f, const char *response, int score, sja_seq *out)
{
    char text[32];
    snprintf(text, sizeof text, "score: %d", score);
    sj_error err;
    if (sja_encode_example(&f->codec, f->ins, 0, response, text, out, &err) != SJ_OK)
        fail_msg("%s", err.msg);
}

static void setup(fixture *f)
{
    memset(f, 0, sizeof *f);
    sj_error err;
    cJSON *doc = sj_json_parse("instrument", INSTRUMENT, &err);
    f->ins = sj_instrument_from_json("instrument", doc, &err);
    cJSON_Delete(doc);
    assert_non_null(f->ins);
    const char *texts[] = {"item A1: What now?\nresponse: I would ask the team.\n",
                           "score: 2 score: 3 score: 1", "response response response"};
    f->tok = sj_tokenizer_train(texts, NULL, 3, 300, &err);
    assert_non_null(f->tok);
    assert_int_equal(sja_codec_init(&f->codec, f->tok, 64, 0, 3, &err), SJ_OK);
    assert_true(f->codec.single_token_levels);
    sj_lm_config cfg = {
        .vocab = sj_tokenizer_vocab_size(f->tok), .ctx = 64, .layers = 2, .heads = 2, .embd = 16};
    gsl_rng *rng = sj_rng_new(7);
    f->model = sj_lm_new(&cfg, rng, &err);
    sj_rng_free(rng);
    assert_non_null(f->model);
    size_t n = 6;
    f->d.chosen = calloc(n, sizeof *f->d.chosen);
    f->d.rejected = calloc(n, sizeof *f->d.rejected);
    f->d.tie = calloc(n, 1);
    f->d.weight = calloc(n, sizeof *f->d.weight);
    f->d.person = calloc(n, sizeof *f->d.person);
    for (size_t j = 0; j < n; j++) {
        const char *response = JUDGMENTS[j].response ? R2 : R1;
        encode(f, response, JUDGMENTS[j].chosen, &f->d.chosen[j]);
        encode(f, response, JUDGMENTS[j].rejected, &f->d.rejected[j]);
        f->d.tie[j] = (unsigned char)JUDGMENTS[j].tie;
        f->d.weight[j] = 0.5 + 0.25 * (double)j; /* all different, so a mix-up shows */
        f->d.person[j] = JUDGMENTS[j].person;
        f->d.n++;
    }
}

static void teardown(fixture *f)
{
    sja_pair_seqs_free(&f->d);
    sj_lm_free(f->model);
    sja_codec_free(&f->codec);
    sj_tokenizer_free(f->tok);
    sj_instrument_free(f->ins);
}

static void judgments_group_into_units(void **state)
{
    (void)state;
    fixture f;
    setup(&f);
    sja_pair_units u;
    sj_error err;
    assert_int_equal(sja_pair_units_build(&f.d, &u, &err), SJ_OK);
    /* j0, j1 and j4 judge one pair of P1; j2 is P2's; j3 and j5 other
     * pairs. Units are numbered by their first judgment. */
    assert_int_equal(u.n, 4);
    const size_t unit[6] = {0, 0, 1, 2, 0, 3};
    for (size_t j = 0; j < 6; j++)
        assert_int_equal(u.unit[j], unit[j]);
    const size_t start[5] = {0, 3, 4, 5, 6}, member[6] = {0, 1, 4, 2, 3, 5};
    for (size_t g = 0; g < 5; g++)
        assert_int_equal(u.start[g], start[g]);
    for (size_t k = 0; k < 6; k++)
        assert_int_equal(u.member[k], member[k]);
    /* The level digits are byte tokens, so the lower score is the unit's
     * first sequence: j0 chose 3 over 1 (its chosen is second), j1 chose 1. */
    const unsigned char swapped[6] = {1, 0, 1, 1, 1, 0};
    for (size_t j = 0; j < 6; j++)
        assert_int_equal(u.swapped[j], swapped[j]);
    assert_ptr_equal(u.first[0], &f.d.rejected[0]);
    assert_ptr_equal(u.second[0], &f.d.chosen[0]);
    assert_ptr_equal(u.first[3], &f.d.chosen[5]);
    /* Units of some judgments: in order of first appearance, or longest
     * first (unit 3 holds the longer response; ties by unit number). */
    size_t idx[4] = {5, 3, 0, 1}, *list = NULL, n = 0;
    assert_int_equal(sja_pair_units_of(&u, idx, 4, 0, &list, &n, &err), SJ_OK);
    assert_int_equal(n, 3);
    assert_int_equal(list[0], 3);
    assert_int_equal(list[1], 2);
    assert_int_equal(list[2], 0);
    free(list);
    size_t all[6] = {0, 1, 2, 3, 4, 5};
    assert_int_equal(sja_pair_units_of(&u, all, 6, 1, &list, &n, &err), SJ_OK);
    assert_int_equal(n, 4);
    const size_t by_length[4] = {3, 0, 1, 2};
    for (size_t k = 0; k < 4; k++)
        assert_int_equal(list[k], by_length[k]);
    free(list);
    sja_pair_units_free(&u);
    teardown(&f);
}

/* The general path: one sequence alone in a batch. */
static sj_lm_batch *single(const sja_seq *s, int append_pad, int completion_weights)
{
    int len = s->len + append_pad;
    int32_t tok[80];
    float w[80];
    memcpy(tok, s->tokens, (size_t)s->len * sizeof *tok);
    if (append_pad)
        tok[s->len] = SJ_TOK_PAD;
    for (int t = 0; t < len - 1; t++)
        w[t] = completion_weights && t + 1 >= s->prompt_len && t + 1 < s->len ? 1.0f : 0.0f;
    sj_lm_batch *b = sj_lm_batch_new(1, len - 1);
    sj_error err;
    assert_int_equal(sj_lm_batch_set(b, 0, tok, len, w, &err), SJ_OK);
    return b;
}

static double reward_alone(sj_lm *m, const float *head, const sja_seq *s)
{
    sj_lm_batch *b = single(s, 1, 0);
    int pos = s->len - 1;
    float h[16];
    sj_lm_forward_io io = {.temperature = 1.0f, .hidden_pos = &pos, .hidden = h};
    sj_error err;
    assert_int_equal(sj_lm_forward(m, b, &io, &err), SJ_OK);
    sj_lm_batch_free(b);
    double r = head[16];
    for (int i = 0; i < 16; i++)
        r += (double)head[i] * h[i];
    return r;
}

static double logprob_alone(sj_lm *m, const sja_seq *s)
{
    sj_lm_batch *b = single(s, 0, 1);
    float lp[80];
    sj_lm_forward_io io = {.temperature = 1.0f, .logprobs = lp};
    sj_error err;
    assert_int_equal(sj_lm_forward(m, b, &io, &err), SJ_OK);
    double sum = 0.0;
    for (int t = 0; t < b->lengths[0]; t++)
        sum += b->weights[t] * (double)lp[t];
    sj_lm_batch_free(b);
    return sum;
}

static void reward_of_units_equals_each_sequence_alone(void **state)
{
    (void)state;
    fixture f;
    setup(&f);
    float head[18];
    for (int i = 0; i < 18; i++)
        head[i] = (float)sin(1.0 + i); /* a fixed head with both signs */
    head[17] = 0.0f;                   /* no lexical channel */
    sja_pair_units u;
    sj_error err;
    assert_int_equal(sja_pair_units_build(&f.d, &u, &err), SJ_OK);
    size_t idx[5] = {4, 0, 5, 2, 1};
    double loss = 0.0, accuracy = 0.0;
    assert_int_equal(
        sja_reward_eval_pairs(f.model, head, &f.d, &u, idx, 5, 0.0, &loss, &accuracy, &err), SJ_OK);
    double want_loss = 0.0;
    int correct = 0, decisive = 0;
    for (int k = 0; k < 5; k++) {
        size_t i = idx[k];
        double rc = reward_alone(f.model, head, &f.d.chosen[i]);
        double rr = reward_alone(f.model, head, &f.d.rejected[i]);
        double d = rc - rr;
        /* −log σ(d) for a win, −½[log σ(d) + log σ(−d)] for a tie */
        double l = f.d.tie[i] ? 0.5 * (log1p(exp(-d)) + log1p(exp(d))) : log1p(exp(-d));
        want_loss += f.d.weight[i] * l;
        decisive += !f.d.tie[i];
        correct += !f.d.tie[i] && rc > rr;
    }
    assert_true(fabs(loss - want_loss / 5.0) < 1e-5);
    assert_true(fabs(accuracy - (double)correct / decisive) < 1e-12);
    sja_pair_units_free(&u);
    teardown(&f);
}

/* A step over units is the step over their judgments as rows of their own:
 * units 0 (judgments j0, j1 and the tie j4; drawn twice) and 3 (j5). */
static void reward_step_over_units_equals_its_judgments(void **state)
{
    (void)state;
    fixture f;
    setup(&f);
    sja_pair_units u;
    sj_error err;
    assert_int_equal(sja_pair_units_build(&f.d, &u, &err), SJ_OK);
    const size_t pick[3] = {0, 3, 0};
    /* first sequences' rewards, then the second ones' */
    const double r[6] = {0.0, 0.5, 0.0, 1.0, -0.5, 1.0};
    double g1[3], g2[3], acc = 0.0;
    double loss = sja_reward_units_loss(&f.d, &u, pick, 3, r, 0.0, g1, g2, &acc);
    /* the general path: one row per judgment (chosen, rejected, tie, weight) */
    const double rc[7] = {1.0, 0.0, 1.0, 1.0, 0.0, 1.0, 0.5};
    const double rr[7] = {0.0, 1.0, 0.0, 0.0, 1.0, 0.0, -0.5};
    const unsigned char tie[7] = {0, 0, 1, 0, 0, 1, 0};
    const double w[7] = {0.5, 0.75, 1.5, 0.5, 0.75, 1.5, 1.75};
    double dc[7], dr[7];
    double want = sja_bt_batch_loss(rc, rr, tie, w, 7, 0.0, dc, dr);
    assert_true(fabs(loss - want) < 1e-12);
    /* by hand: l(d) = log(1 + e^-d); ties ½[l(d) + l(-d)] */
    double l1 = log1p(exp(-1.0)), lm1 = log1p(exp(1.0));
    double by_hand = (2 * (0.5 * l1 + 0.75 * lm1 + 1.5 * 0.5 * (l1 + lm1)) + 1.75 * l1) / 7;
    assert_true(fabs(loss - by_hand) < 1e-12);
    /* unit 0's first sequence is j0's rejected, j1's chosen, j4's b */
    double want_g1_0 = dr[0] + dc[1] + dr[2], want_g2_0 = dc[0] + dr[1] + dc[2];
    assert_true(fabs(g1[0] - want_g1_0) < 1e-12 && fabs(g2[0] - want_g2_0) < 1e-12);
    assert_true(fabs(g1[2] - want_g1_0) < 1e-12 && fabs(g2[2] - want_g2_0) < 1e-12);
    assert_true(fabs(g1[1] - dc[6]) < 1e-12 && fabs(g2[1] - dr[6]) < 1e-12);
    assert_true(fabs(acc - 0.6) < 1e-12); /* 3 of the 5 decisive judgments */
    sja_pair_units_free(&u);
    teardown(&f);
}

static void dpo_logprobs_of_units_equal_each_sequence_alone(void **state)
{
    (void)state;
    fixture f;
    setup(&f);
    sja_pair_units u;
    sj_error err;
    assert_int_equal(sja_pair_units_build(&f.d, &u, &err), SJ_OK);
    size_t idx[6] = {5, 4, 3, 2, 1, 0};
    double lc[6], lr[6];
    assert_int_equal(sja_dpo_judgment_logprobs(f.model, &f.d, &u, idx, 6, lc, lr, &err), SJ_OK);
    for (int k = 0; k < 6; k++) {
        size_t i = idx[k];
        double want_c = logprob_alone(f.model, &f.d.chosen[i]);
        double want_r = logprob_alone(f.model, &f.d.rejected[i]);
        if (fabs(lc[k] - want_c) > 1e-5 || fabs(lr[k] - want_r) > 1e-5)
            fail_msg("judgment %zu: %.8f %.8f, alone %.8f %.8f", i, lc[k], lr[k], want_c, want_r);
    }
    /* j0 and j1 judge the same pair the other way round */
    assert_true(lc[5] == lr[4] && lr[5] == lc[4]);
    sja_pair_units_free(&u);
    teardown(&f);
}

/* `pairs` draws a level from the score distribution at a temperature: its
 * probabilities are softmax(z/T) over the level tokens, z the logits at
 * the position that predicts the score. */
static void pairs_draw_follows_the_tempered_softmax(void **state)
{
    (void)state;
    fixture f;
    setup(&f);
    sj_error err;
    sja_seq prompt;
    assert_int_equal(
        sja_encode_prompt(&f.codec, f.ins, 0, R2, f.codec.max_completion, &prompt, &err), SJ_OK);
    double p[4], draw[4], without[4];
    assert_int_equal(sja_score_levels(f.model, &f.codec, &prompt, 1, 8, p, NULL, NULL, &err),
                     SJ_OK);
    const double T = 2.5;
    sja_level_draw_probs(p, 4, T, -1, draw);
    sja_level_draw_probs(p, 4, T, 2, without);
    /* the logits after prompt + "score: " from a plain forward pass */
    int32_t seq[80];
    int len = prompt.len + (int)f.codec.n_prefix;
    memcpy(seq, prompt.tokens, (size_t)prompt.len * sizeof *seq);
    memcpy(seq + prompt.len, f.codec.prefix, f.codec.n_prefix * sizeof *seq);
    seq[len] = SJ_TOK_EOS;
    sj_lm_batch *b = sj_lm_batch_new(1, len);
    assert_int_equal(sj_lm_batch_set(b, 0, seq, len + 1, NULL, &err), SJ_OK);
    int V = f.model->cfg.vocab;
    float *z = malloc((size_t)len * V * sizeof *z);
    sj_lm_forward_io io = {.temperature = 1.0f, .logits = z};
    assert_int_equal(sj_lm_forward(f.model, b, &io, &err), SJ_OK);
    const float *at = z + (size_t)(len - 1) * V;
    double e[4], total = 0.0, total_without = 0.0;
    for (int k = 0; k < 4; k++) {
        e[k] = exp(at[f.codec.level[k][0]] / T);
        total += e[k];
        total_without += k == 2 ? 0.0 : e[k];
    }
    for (int k = 0; k < 4; k++) {
        assert_true(fabs(draw[k] - e[k] / total) < 1e-6);
        assert_true(fabs(without[k] - (k == 2 ? 0.0 : e[k] / total_without)) < 1e-6);
    }
    free(z);
    sj_lm_batch_free(b);
    sja_seq_free(&prompt);
    teardown(&f);
}

/* Level probabilities all zero but the excluded one: uniform over the rest. */
static void pairs_draw_without_mass_is_uniform(void **state)
{
    (void)state;
    const double p[3] = {0.0, 1.0, 0.0};
    double out[3];
    sja_level_draw_probs(p, 3, 2.5, 1, out);
    assert_true(out[0] == 0.5 && out[1] == 0.0 && out[2] == 0.5);
    /* T = 1 keeps the distribution: 0.2, 0.3, 0.5 */
    const double q[3] = {0.2, 0.3, 0.5};
    sja_level_draw_probs(q, 3, 1.0, -1, out);
    assert_true(fabs(out[0] - 0.2) < 1e-15 && fabs(out[1] - 0.3) < 1e-15 &&
                fabs(out[2] - 0.5) < 1e-15);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(judgments_group_into_units),
        cmocka_unit_test(reward_of_units_equals_each_sequence_alone),
        cmocka_unit_test(reward_step_over_units_equals_its_judgments),
        cmocka_unit_test(dpo_logprobs_of_units_equal_each_sequence_alone),
        cmocka_unit_test(pairs_draw_follows_the_tempered_softmax),
        cmocka_unit_test(pairs_draw_without_mass_is_uniform),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
