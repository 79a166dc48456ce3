/* The training stages on a tiny model and a planted task: SFT learns a
 * mapping from words to scores, the reward model ranks a planted
 * preference, PPO moves toward the reward's optimum with a bounded KL, and
 * a large KL coefficient keeps the policy at the reference. */
#include "test_helpers.h"

#include <math.h>

#include "sjtalign/align.h"
#include "../../src/align/align_internal.h"

static const char *INSTRUMENT =
    "{\"id\": \"t\", \"title\": \"T\", \"score_min\": 0, \"score_max\": 3, \"items\": ["
    "{\"id\": \"A\", \"scenario\": \"s\", \"question\": \"Q?\", \"rubric\": ["
    "{\"score\": 0, \"anchor\": \"x\"}]},"
    "{\"id\": \"B\", \"scenario\": \"s\", \"question\": \"Q?\", \"rubric\": ["
    "{\"score\": 0, \"anchor\": \"x\"}]}]}";

static const char *WORDS[4] = {"never", "rarely", "often", "always"};

typedef struct {
    char *dir;
    char *instrument_path;
    sj_instrument *ins;
} fixture;

static void fixture_free(fixture *f)
{
    sj_instrument_free(f->ins);
    free(f->instrument_path);
    test_rmdir(f->dir);
}

static void fixture_init(fixture *f)
{
    f->dir = test_mkdtemp();
    f->instrument_path = sj_path_join(f->dir, "instrument.json");
    test_write_text(f->instrument_path, INSTRUMENT, strlen(INSTRUMENT));
    sj_error err;
    f->ins = sj_instrument_load(f->instrument_path, &err);
    assert_non_null(f->ins);
}

/* Responses "I would <word> help." with the word's score as the human
 * score (planted) or a uniform random score (random_scores). */
static char *write_responses(fixture *f, const char *name, int persons, int random_scores,
                             uint64_t seed)
{
    gsl_rng *rng = sj_rng_new(seed);
    sj_buf b = {0};
    sj_buf_printf(&b, "person_id,group,item_id,response,score\n");
    for (int p = 0; p < persons; p++)
        for (int i = 0; i < 2; i++) {
            int k = (int)gsl_rng_uniform_int(rng, 4);
            int s = random_scores ? (int)gsl_rng_uniform_int(rng, 4) : k;
            sj_buf_printf(&b, "P%03d,%s,%s,I would %s help.,%d\n", p, p % 2 ? "g1" : "g2",
                          i ? "B" : "A", WORDS[k], s);
        }
    char *path = sj_path_join(f->dir, name);
    test_write_text(path, b.data, b.len);
    sj_buf_free(&b);
    sj_rng_free(rng);
    return path;
}

/* A tiny random model with a tokenizer trained on the prompt texts. */
static char *make_base_model(fixture *f)
{
    const char *texts[8];
    char *owned[8];
    for (int k = 0; k < 4; k++) {
        char resp[64];
        snprintf(resp, sizeof resp, "I would %s help.", WORDS[k]);
        owned[k] = sja_prompt_text(f->ins, 0, resp);
        owned[4 + k] = sja_prompt_text(f->ins, 1, resp);
    }
    for (int k = 0; k < 8; k++)
        texts[k] = owned[k];
    sj_error err;
    sj_tokenizer *tok = sj_tokenizer_train(texts, NULL, 8, 300, &err);
    assert_non_null(tok);
    sj_lm_config cfg = {
        .vocab = sj_tokenizer_vocab_size(tok), .ctx = 32, .layers = 1, .heads = 2, .embd = 32};
    gsl_rng *rng = sj_rng_new(3);
    sj_lm *m = sj_lm_new(&cfg, rng, &err);
    assert_non_null(m);
    char *dir = sj_path_join(f->dir, "base");
    sj_lm_save_opts so = {.tok = tok};
    assert_int_equal(sj_lm_save(dir, m, &so, &err), SJ_OK);
    sj_lm_free(m);
    sj_rng_free(rng);
    sj_tokenizer_free(tok);
    for (int k = 0; k < 8; k++)
        free(owned[k]);
    return dir;
}

static char *run_sft(fixture *f, const char *base, const char *data_path, const char *name,
                     long steps, cJSON **summary)
{
    sj_error err;
    sj_error_clear(&err);
    sja_model *m = sja_model_load(base, f->ins, &err);
    assert_non_null(m);
    sj_columns cols = {0};
    sj_responses *r =
        sj_responses_load(data_path, &cols, f->ins, SJ_NEED_TEXT | SJ_NEED_SCORE, &err);
    assert_non_null(r);
    sja_sft_opts o = sja_sft_defaults();
    o.steps = steps;
    o.batch = 16;
    o.lr = 3e-3;
    o.eval_every = 0;
    o.val_fraction = 0.2;
    o.quiet = 1;
    char *out = sj_path_join(f->dir, name);
    if (sja_sft(m, f->ins, f->instrument_path, r, data_path, &o, out, summary, &err) != SJ_OK)
        fail_msg("sft: %s", err.msg);
    sj_responses_free(r);
    sja_model_free(m);
    return out;
}

/* Pairs over the responses: a candidate pair (j, k) per response with the
 * preferred one chosen by `prefer` (the planted preference). */
static char *write_judged_pairs(fixture *f, const char *data_path, int (*prefer)(int, int, int),
                                const char *name)
{
    sj_error err;
    sj_columns cols = {0};
    sj_responses *r = sj_responses_load(data_path, &cols, f->ins, SJ_NEED_TEXT, &err);
    assert_non_null(r);
    gsl_rng *rng = sj_rng_new(11);
    sj_buf b = {0};
    sj_buf_printf(&b, "pair_id,item_id,person_id,response,completion_a,completion_b,preferred\n");
    for (size_t i = 0; i < r->table->n_rows; i++) {
        const char *text = sj_table_cell(r->table, i, (size_t)r->col_text);
        int word = 0;
        for (int k = 0; k < 4; k++)
            if (strstr(text, WORDS[k]))
                word = k;
        int a, c;
        do { /* two different scores, not equally far from the word */
            a = (int)gsl_rng_uniform_int(rng, 4);
            c = (a + 1 + (int)gsl_rng_uniform_int(rng, 3)) % 4;
        } while (abs(a - word) == abs(c - word));
        sj_buf_printf(&b, "q%zu,%s,%s,%s,score: %d,score: %d,%s\n", i,
                      sj_table_cell(r->table, i, (size_t)r->col_item),
                      sj_table_cell(r->table, i, (size_t)r->col_person), text, a, c,
                      prefer(word, a, c) ? "a" : "b");
    }
    char *path = sj_path_join(f->dir, name);
    test_write_text(path, b.data, b.len);
    sj_buf_free(&b);
    sj_rng_free(rng);
    sj_responses_free(r);
    return path;
}

static int prefer_nearest_word(int word, int a, int b)
{
    return abs(a - word) < abs(b - word);
}

static int prefer_higher(int word, int a, int b)
{
    (void)word;
    return a > b;
}

static char *run_reward(fixture *f, const char *init, const char *pairs_path, const char *name,
                        double *val_accuracy)
{
    sj_error err;
    sj_error_clear(&err);
    sja_model *m = sja_model_load(init, f->ins, &err);
    assert_non_null(m);
    sja_pairs *pairs = sja_pairs_read(pairs_path, f->ins, &err);
    assert_non_null(pairs);
    sja_reward_opts o = sja_reward_defaults();
    o.steps = 300;
    o.batch = 16;
    o.lr = 3e-3;
    o.eval_every = 0;
    o.val_fraction = 0.2;
    o.quiet = 1;
    char *out = sj_path_join(f->dir, name);
    cJSON *summary = NULL;
    if (sja_reward_train(m, f->ins, f->instrument_path, pairs, pairs_path, &o, out, &summary,
                         &err) != SJ_OK)
        fail_msg("reward: %s", err.msg);
    *val_accuracy = cJSON_GetObjectItem(summary, "val_accuracy")->valuedouble;
    cJSON_Delete(summary);
    sja_pairs_free(pairs);
    sja_model_free(m);
    return out;
}

/* Mean expected score of the model over the four words on item A. */
static double mean_expected_score(fixture *f, const char *model_dir, double p_out[4][4])
{
    sj_error err;
    sja_model *m = sja_model_load(model_dir, f->ins, &err);
    assert_non_null(m);
    sja_seq prompts[4];
    for (int k = 0; k < 4; k++) {
        char resp[64];
        snprintf(resp, sizeof resp, "I would %s help.", WORDS[k]);
        assert_int_equal(sja_encode_prompt(&m->codec, f->ins, 0, resp, m->codec.max_completion,
                                           &prompts[k], &err),
                         SJ_OK);
    }
    double p[16];
    assert_int_equal(sja_score_levels(m->ck->model, &m->codec, prompts, 4, 4, p, NULL, NULL, &err),
                     SJ_OK);
    double mean = 0;
    for (int k = 0; k < 4; k++) {
        mean += sja_expected_score(p + 4 * k, 4, 0) / 4;
        if (p_out)
            for (int j = 0; j < 4; j++)
                p_out[k][j] = p[4 * k + j];
        sja_seq_free(&prompts[k]);
    }
    sja_model_free(m);
    return mean;
}

/* Models shared by the tests: a base model, an SFT scorer of the planted
 * word scores, and one of random scores (about uniform over the levels). */
static struct {
    fixture f;
    char *planted, *random; /* responses files */
    char *base, *sft_planted, *sft_random;
    double planted_exact;
} S;

static int group_setup(void **state)
{
    (void)state;
    fixture_init(&S.f);
    S.planted = write_responses(&S.f, "planted.csv", 80, 0, 5);
    S.random = write_responses(&S.f, "random.csv", 80, 1, 5);
    S.base = make_base_model(&S.f);
    cJSON *summary = NULL;
    S.sft_planted = run_sft(&S.f, S.base, S.planted, "sft_planted", 400, &summary);
    S.planted_exact = cJSON_GetObjectItem(summary, "val_exact")->valuedouble;
    cJSON_Delete(summary);
    S.sft_random = run_sft(&S.f, S.base, S.random, "sft_random", 300, NULL);
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    free(S.planted);
    free(S.random);
    free(S.base);
    free(S.sft_planted);
    free(S.sft_random);
    fixture_free(&S.f);
    return 0;
}

static void sft_learns_planted_scores(void **state)
{
    (void)state;
    if (S.planted_exact < 0.95)
        fail_msg("held-out exact agreement %.3f after SFT", S.planted_exact);
    double p[4][4];
    mean_expected_score(&S.f, S.sft_planted, p);
    for (int k = 0; k < 4; k++)
        for (int j = 0; j < 4; j++)
            if (j != k && !(p[k][k] > p[k][j] + 0.3))
                fail_msg("word %s: p(score %d) = %.3f, p(score %d) = %.3f", WORDS[k], k, p[k][k], j,
                         p[k][j]);
}

/* The scorer with a lexical channel is a product of experts: its level
 * distribution equals the language model's alone times the lexical model's,
 * renormalised (computed here from the two parts separately). */
static void scorer_is_product_of_lm_and_lexical_channel(void **state)
{
    (void)state;
    sj_error err;
    sja_model *m = sja_model_load(S.sft_planted, S.f.ins, &err);
    assert_non_null(m);
    assert_non_null(m->lex);
    assert_ptr_equal(m->codec.lex, m->lex);
    for (int k = 0; k < 4; k++) {
        char resp[64];
        snprintf(resp, sizeof resp, "I would %s help.", WORDS[k]);
        sja_seq with, without;
        assert_int_equal(
            sja_encode_prompt(&m->codec, S.f.ins, 0, resp, m->codec.max_completion, &with, &err),
            SJ_OK);
        m->codec.lex = NULL;
        assert_int_equal(
            sja_encode_prompt(&m->codec, S.f.ins, 0, resp, m->codec.max_completion, &without, &err),
            SJ_OK);
        m->codec.lex = m->lex;
        assert_non_null(with.prior);
        assert_null(without.prior);
        assert_int_equal(with.prior_pos, with.len + (int)m->codec.n_prefix - 1);
        double both[4], lm[4], lex[4], product[4], total = 0;
        assert_int_equal(
            sja_score_levels(m->ck->model, &m->codec, &with, 1, 1, both, NULL, NULL, &err), SJ_OK);
        assert_int_equal(
            sja_score_levels(m->ck->model, &m->codec, &without, 1, 1, lm, NULL, NULL, &err), SJ_OK);
        assert_int_equal(sj_lex_probs(m->lex, "A", resp, lex, &err), SJ_OK);
        for (int j = 0; j < 4; j++)
            total += product[j] = lm[j] * lex[j];
        for (int j = 0; j < 4; j++) {
            assert_float_equal(with.prior[j], log(lex[j]), 1e-6);
            assert_float_equal(both[j], product[j] / total, 1e-5);
        }
        sja_seq_free(&with);
        sja_seq_free(&without);
    }
    sja_model_free(m);
}

/* Training batches carry the prior at the position that predicts the score
 * token, and only there. */
static void training_batch_biases_the_score_position(void **state)
{
    (void)state;
    sj_error err;
    sja_model *m = sja_model_load(S.sft_planted, S.f.ins, &err);
    assert_non_null(m);
    sja_seq ex;
    assert_int_equal(
        sja_encode_example(&m->codec, S.f.ins, 1, "I would often help.", "score: 2", &ex, &err),
        SJ_OK);
    const sja_seq *seqs[1] = {&ex};
    sj_lm_batch *batch = NULL;
    assert_int_equal(sja_batch_build(seqs, 1, SJA_W_COMPLETION, 0, &batch, NULL, &err), SJ_OK);
    assert_int_equal(batch->n_bias, 4);
    assert_int_equal(batch->bias_pos[0], ex.prompt_len + (int)m->codec.n_prefix - 1);
    /* the target at that position is the score's token */
    assert_int_equal(batch->targets[batch->bias_pos[0]], m->codec.level[2][0]);
    for (int j = 0; j < 4; j++) {
        assert_int_equal(batch->bias_tokens[j], m->codec.level[j][0]);
        assert_float_equal(batch->bias[j], ex.prior[j], 0);
    }
    sj_lm_batch_free(batch);
    sja_seq_free(&ex);
    sja_model_free(m);
}

/* The reward model's lexical term reads the prior of the score the
 * completion gives; a completion that gives no score gets the lowest. */
static void level_prior_of_a_completion(void **state)
{
    (void)state;
    sj_error err;
    sja_model *m = sja_model_load(S.sft_planted, S.f.ins, &err);
    assert_non_null(m);
    for (int k = 0; k < 4; k++) {
        char completion[32];
        snprintf(completion, sizeof completion, "score: %d", k);
        sja_seq ex;
        assert_int_equal(sja_encode_example(&m->codec, S.f.ins, 0, "I would rarely help.",
                                            completion, &ex, &err),
                         SJ_OK);
        assert_float_equal(sja_seq_level_prior(&ex), ex.prior[k], 0);
        sja_seq_free(&ex);
    }
    sja_seq ex;
    assert_int_equal(sja_encode_example(&m->codec, S.f.ins, 0, "I would rarely help.",
                                        "no score here", &ex, &err),
                     SJ_OK);
    double lowest = ex.prior[0];
    for (int k = 1; k < 4; k++)
        lowest = ex.prior[k] < lowest ? ex.prior[k] : lowest;
    assert_float_equal(sja_seq_level_prior(&ex), lowest, 0);
    sja_seq_free(&ex);
    m->codec.lex = NULL;
    assert_int_equal(
        sja_encode_example(&m->codec, S.f.ins, 0, "I would rarely help.", "score: 1", &ex, &err),
        SJ_OK);
    assert_float_equal(sja_seq_level_prior(&ex), 0.0, 0);
    sja_seq_free(&ex);
    sja_model_free(m);
}

static void reward_model_ranks_planted_preference(void **state)
{
    (void)state;
    fixture f = S.f;
    char *pairs = write_judged_pairs(&f, S.random, prefer_nearest_word, "judged_nearest.csv");
    double acc = 0;
    char *rm_dir = run_reward(&f, S.sft_planted, pairs, "rm_nearest", &acc);
    if (acc < 0.9)
        fail_msg("held-out pairwise accuracy %.3f", acc);
    /* The frozen model: for each word, the matching score earns more reward
     * than every score two or more levels away, and than every other score
     * for at least three of the four words. */
    sj_error err;
    sja_reward_model *rm = sja_reward_load(rm_dir, f.ins, &err);
    assert_non_null(rm);
    /* the reward model carries the scorer's lexical channel and its weight */
    assert_non_null(rm->base->lex);
    assert_non_null(sj_lm_checkpoint_extra(rm->base->ck, "head.lexical"));
    int words_ranked_first = 0;
    for (int w = 0; w < 4; w++) {
        sja_seq seqs[4];
        double r[4];
        char resp[64];
        snprintf(resp, sizeof resp, "I would %s help.", WORDS[w]);
        for (int k = 0; k < 4; k++) {
            char comp[32];
            snprintf(comp, sizeof comp, "score: %d", k);
            assert_int_equal(
                sja_encode_example(&rm->base->codec, f.ins, 1, resp, comp, &seqs[k], &err), SJ_OK);
        }
        assert_int_equal(sja_reward_score(rm, seqs, 4, 4, r, &err), SJ_OK);
        int first = 1;
        for (int k = 0; k < 4; k++) {
            if (abs(k - w) >= 2 && !(r[w] > r[k]))
                fail_msg("word %s: reward of score %d (%.3f) not above score %d (%.3f)", WORDS[w],
                         w, r[w], k, r[k]);
            first &= k == w || r[w] > r[k];
            sja_seq_free(&seqs[k]);
        }
        words_ranked_first += first;
    }
    if (words_ranked_first < 3)
        fail_msg("the matching score ranks first for %d of 4 words", words_ranked_first);
    sja_reward_free(rm);
    free(pairs);
    free(rm_dir);
}

static double run_ppo(fixture *f, const char *policy_dir, const char *rm_dir, const char *data_path,
                      double beta, const char *name, double *final_kl, double p_out[4][4])
{
    sj_error err;
    sj_error_clear(&err);
    sja_model *policy = sja_model_load(policy_dir, f->ins, &err);
    sja_reward_model *rm = sja_reward_load(rm_dir, f->ins, &err);
    sj_columns cols = {0};
    sj_responses *r = sj_responses_load(data_path, &cols, f->ins, SJ_NEED_TEXT, &err);
    assert_non_null(policy);
    assert_non_null(rm);
    assert_non_null(r);
    sja_ppo_opts o = sja_ppo_defaults();
    o.steps = 12;
    o.batch = 32;
    o.minibatch = 8;
    o.epochs = 2;
    o.lr = 1e-3;
    o.kl_coef = beta;
    o.kl_stop = 50;
    o.quiet = 1;
    o.keep_best = 0; /* the last policy: the test follows where training goes */
    char *out = sj_path_join(f->dir, name);
    cJSON *summary = NULL;
    if (sja_ppo(policy, rm, f->ins, f->instrument_path, r, data_path, NULL, &o, out, &summary,
                &err) != SJ_OK)
        fail_msg("ppo: %s", err.msg);
    *final_kl = cJSON_GetObjectItem(summary, "final_kl")->valuedouble;
    cJSON_Delete(summary);
    double mean = mean_expected_score(f, out, p_out);
    free(out);
    sj_responses_free(r);
    sja_reward_free(rm);
    sja_model_free(policy);
    return mean;
}

static void ppo_moves_toward_optimum_with_bounded_kl(void **state)
{
    (void)state;
    /* The policy learned random scores (about uniform); the reward prefers
     * the higher score, so the optimum is always "score: 3". */
    fixture f = S.f;
    const char *data = S.random, *sft = S.sft_random;
    char *pairs = write_judged_pairs(&f, data, prefer_higher, "judged_higher.csv");
    double acc = 0;
    char *rm_dir = run_reward(&f, sft, pairs, "rm_higher", &acc);
    double p_ref[4][4], p_free[4][4], p_tied[4][4];
    double before = mean_expected_score(&f, sft, p_ref);
    double kl_free = 0, kl_tied = 0;
    double after = run_ppo(&f, sft, rm_dir, data, 0.05, "ppo", &kl_free, p_free);
    double tied = run_ppo(&f, sft, rm_dir, data, 1000.0, "ppo_tied", &kl_tied, p_tied);
    /* KL of the score distributions from the reference's, over the words. */
    double kl_levels_free = 0, kl_levels_tied = 0;
    for (int w = 0; w < 4; w++)
        for (int k = 0; k < 4; k++) {
            kl_levels_free += p_free[w][k] * log(p_free[w][k] / p_ref[w][k]) / 4;
            kl_levels_tied += p_tied[w][k] * log(p_tied[w][k] / p_ref[w][k]) / 4;
        }
    if (!(after > before + 0.5))
        fail_msg("PPO moved the mean expected score from %.3f to %.3f only", before, after);
    if (!(kl_free > 0.1 && kl_free < 10.0))
        fail_msg("KL to the reference %.3f", kl_free);
    /* A huge beta: the score distributions stay at the reference's. */
    if (!(kl_levels_tied < 0.05 && kl_levels_tied < 0.1 * kl_levels_free))
        fail_msg("beta 1000: KL of score distributions %.4f (beta 0.05: %.4f)", kl_levels_tied,
                 kl_levels_free);
    if (!(fabs(kl_tied) < 0.25 * kl_free))
        fail_msg("beta 1000: sampled KL %.4f (beta 0.05: %.4f)", kl_tied, kl_free);
    if (!(fabs(tied - before) < 0.25))
        fail_msg("beta 1000: mean expected score moved from %.3f to %.3f", before, tied);
    free(pairs);
    free(rm_dir);
}

static void dpo_moves_toward_preferred(void **state)
{
    (void)state;
    fixture f = S.f;
    const char *data = S.random, *sft = S.sft_random;
    char *pairs_path = write_judged_pairs(&f, data, prefer_higher, "judged_dpo.csv");
    sj_error err;
    sja_model *m = sja_model_load(sft, f.ins, &err);
    sja_pairs *pairs = sja_pairs_read(pairs_path, f.ins, &err);
    assert_non_null(m);
    assert_non_null(pairs);
    sja_dpo_opts o = sja_dpo_defaults();
    o.steps = 60;
    o.lr = 3e-3;
    o.eval_every = 0;
    o.quiet = 1;
    char *out = sj_path_join(f.dir, "dpo");
    cJSON *summary = NULL;
    if (sja_dpo(m, f.ins, f.instrument_path, pairs, pairs_path, &o, out, &summary, &err) != SJ_OK)
        fail_msg("dpo: %s", err.msg);
    double acc = cJSON_GetObjectItem(summary, "val_rewards/accuracies")->valuedouble;
    if (acc < 0.9)
        fail_msg("held-out DPO reward accuracy %.3f", acc);
    double before = mean_expected_score(&f, sft, NULL), after = mean_expected_score(&f, out, NULL);
    if (!(after > before + 0.5))
        fail_msg("DPO moved the mean expected score from %.3f to %.3f only", before, after);
    /* the aligned scorer keeps the SFT scorer's lexical channel, byte for byte */
    char *a = sj_path_join(sft, "lexical.json"), *b = sj_path_join(out, "lexical.json");
    char *da = NULL, *db = NULL;
    size_t na = 0, nb = 0;
    assert_int_equal(sj_read_file(a, &da, &na, &err), SJ_OK);
    assert_int_equal(sj_read_file(b, &db, &nb, &err), SJ_OK);
    assert_true(na == nb && memcmp(da, db, na) == 0);
    free(a);
    free(b);
    free(da);
    free(db);
    cJSON_Delete(summary);
    sja_pairs_free(pairs);
    sja_model_free(m);
    free(out);
    free(pairs_path);
}

static void too_few_pairs_are_an_input_error(void **state)
{
    (void)state;
    fixture f = S.f;
    char *data = write_responses(&f, "few.csv", 8, 1, 5);
    const char *base = S.base;
    char *pairs_path = write_judged_pairs(&f, data, prefer_higher, "judged_few.csv");
    sj_error err;
    sj_error_clear(&err);
    sja_model *m = sja_model_load(base, f.ins, &err);
    sja_pairs *pairs = sja_pairs_read(pairs_path, f.ins, &err);
    assert_non_null(pairs);
    sja_reward_opts o = sja_reward_defaults(); /* needs 20; there are 16 */
    o.quiet = 1;
    char *out = sj_path_join(f.dir, "rm_few");
    assert_int_equal(
        sja_reward_train(m, f.ins, f.instrument_path, pairs, pairs_path, &o, out, NULL, &err),
        SJ_ERR_INPUT);
    assert_non_null(strstr(err.msg, "16 judged pairs"));
    assert_int_equal(access(out, F_OK), -1); /* nothing written */
    sja_pairs_free(pairs);
    sja_model_free(m);
    free(out);
    free(data);
    free(pairs_path);
}

int main(void)
{
    /* Tiny models gain nothing from threads, and the test suite runs
     * beside other work. */
    sj_lm_set_threads(1);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(sft_learns_planted_scores),
        cmocka_unit_test(scorer_is_product_of_lm_and_lexical_channel),
        cmocka_unit_test(training_batch_biases_the_score_position),
        cmocka_unit_test(level_prior_of_a_completion),
        cmocka_unit_test(reward_model_ranks_planted_preference),
        cmocka_unit_test(ppo_moves_toward_optimum_with_bounded_kl),
        cmocka_unit_test(dpo_moves_toward_preferred),
        cmocka_unit_test(too_few_pairs_are_an_input_error),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
