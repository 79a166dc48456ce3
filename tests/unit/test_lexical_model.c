/* The lexical model: features on a 3-answer toy bank against hand-computed
 * cosines, the identical-text exclusion (a training answer scores as if
 * unseen, at training and later), items without training answers and
 * unknown items, probabilities, the k-NN baseline, the JSON round trip
 * (bit for bit) and corrupted documents. */
#include "test_helpers.h"

#include <math.h>

#include "sjtalign/io.h"
#include "sjtalign/lexical.h"

/* Words the stemmer leaves alone: alpha beta gamma delta. Q1's question
 * holds "alpha"; its anchors: level 2 "alpha beta gamma", level 0 "delta".
 * Q2 has no training answers. */
static const char *TOY_INSTRUMENT =
    "{\"id\": \"toy\", \"title\": \"Toy\", \"score_min\": 0, \"score_max\": 2, \"items\": ["
    "{\"id\": \"Q1\", \"scenario\": \"s\", \"question\": \"What is alpha?\", \"rubric\": ["
    "{\"score\": 2, \"anchor\": \"Alpha, beta and gamma.\"}, {\"score\": 0, \"anchor\": "
    "\"delta\"}]},"
    "{\"id\": \"Q2\", \"scenario\": \"s\", \"question\": \"Why?\", \"rubric\": ["
    "{\"score\": 2, \"anchor\": \"gamma\"}]}]}";

static const char *TOY_ITEMS[] = {"Q1", "Q1", "Q1"};
static const char *TOY_TEXTS[] = {"beta gamma", "beta delta", "delta"};
static const int TOY_SCORES[] = {2, 1, 0};

static sj_instrument *toy_instrument(void)
{
    sj_error err;
    sj_error_clear(&err);
    cJSON *doc = cJSON_Parse(TOY_INSTRUMENT);
    assert_non_null(doc);
    sj_instrument *ins = sj_instrument_from_json("toy", doc, &err);
    cJSON_Delete(doc);
    if (!ins)
        fail_msg("%s", err.msg);
    return ins;
}

static sj_lex_model *toy_model(const sj_instrument *ins)
{
    sj_error err;
    sj_error_clear(&err);
    sj_lex_model *m = sj_lex_fit(ins, TOY_ITEMS, TOY_TEXTS, TOY_SCORES, 3, NULL, &err);
    if (!m)
        fail_msg("%s", err.msg);
    return m;
}

static void close_to(double got, double want, double tol, const char *what)
{
    if (!(fabs(got - want) <= tol))
        fail_msg("%s: got %.17g, want %.17g", what, got, want);
}

/* idf = ln((N + 1) / (df + 1)) + 1 with N = 3: df(alpha) = 0, df(beta) = 2,
 * df(gamma) = 1, df(delta) = 2. */
static double IDF_A, IDF_B, IDF_G, IDF_D;

static void set_idf(void)
{
    IDF_A = log(4.0) + 1;
    IDF_B = log(4.0 / 3) + 1;
    IDF_G = log(2.0) + 1;
    IDF_D = log(4.0 / 3) + 1;
}

static void features(const sj_lex_model *m, const char *item, const char *text, double *x)
{
    sj_error err;
    sj_error_clear(&err);
    assert_int_equal(sj_lex_features(m, item, text, x, &err), SJ_OK);
}

/* "beta gamma" (answer 1, score 2), its own text left out of the bank:
 * cosine with the anchor (alpha, beta, gamma) = sqrt(b^2 + g^2) /
 * sqrt(a^2 + b^2 + g^2); without the question's "alpha" the anchor is the
 * response: cosine, recall and precision 1. The most similar anchor is
 * level 2 -> 1. The bank without it: "beta delta" (1) at cosine
 * b / (sqrt 2 sqrt(b^2 + g^2)) and "delta" (0) at 0; k = 3: one neighbour
 * with score 1 and two slots at the item mean 0.5 -> 2/3; weighted mean 1;
 * item mean 0.5. Length ln 3, minus ln 4 for the 3-word anchor. */
static void test_toy_features(void **state)
{
    (void)state;
    set_idf();
    sj_instrument *ins = toy_instrument();
    sj_lex_model *m = toy_model(ins);
    double x[SJ_LEX_N_FEATURES];
    features(m, "Q1", "beta gamma", x);
    double bg = sqrt(IDF_B * IDF_B + IDF_G * IDF_G);
    close_to(x[0], bg / sqrt(IDF_A * IDF_A + bg * bg), 1e-14, "anchor_cosine");
    close_to(x[1], 1, 1e-15, "anchor_cosine_qd");
    close_to(x[2], 1, 0, "anchor_recall");
    close_to(x[3], 1, 0, "anchor_precision");
    close_to(x[4], 1, 0, "best_anchor_level");
    close_to(x[5], 2.0 / 3, 1e-15, "knn_mean");
    close_to(x[6], 1, 1e-15, "knn_weighted");
    close_to(x[7], 0.5, 0, "item_mean");
    close_to(x[8], log(3), 1e-15, "log_words");
    close_to(x[9], log(3) - log(4), 1e-15, "log_words_vs_anchor");
    /* "delta" (score 0): nothing of the top anchor; the level-0 anchor is
     * itself (-> 0). Bank without it: "beta delta" at cosine
     * d / sqrt(b^2 + d^2) > 0 (score 1), "beta gamma" at 0; knn (1 + 2 *
     * 1.5) / 3 = 4/3, weighted 1, item mean 1.5. */
    features(m, "Q1", "delta", x);
    close_to(x[0], 0, 0, "anchor_cosine of delta");
    close_to(x[2], 0, 0, "anchor_recall of delta");
    close_to(x[3], 0, 0, "anchor_precision of delta");
    close_to(x[4], 0, 0, "best_anchor_level of delta");
    close_to(x[5], 4.0 / 3, 1e-15, "knn_mean of delta");
    close_to(x[6], 1, 1e-15, "knn_weighted of delta");
    close_to(x[7], 1.5, 0, "item_mean of delta");
    close_to(x[8], log(2), 1e-15, "log_words of delta");
    sj_lex_free(m);
    sj_instrument_free(ins);
}

/* A text with the same bag of words as a training answer ("Gamma, BETA!"
 * is "beta gamma") leaves that answer out, exactly as at training; one
 * more "gamma" makes it a new text, and the bank keeps all three: with
 * r = (b, 2g), s1 = (b^2 + 2g^2) / (|r| sqrt(b^2 + g^2)) to "beta gamma"
 * (2), s2 = b^2 / (|r| b sqrt 2) to "beta delta" (1); knn = (2 + 1 + 1) / 3
 * (the third slot takes the item mean 1); weighted (2 s1^2 + s2^2) /
 * (s1^2 + s2^2). */
static void test_identical_text_exclusion(void **state)
{
    (void)state;
    set_idf();
    sj_instrument *ins = toy_instrument();
    sj_lex_model *m = toy_model(ins);
    double a[SJ_LEX_N_FEATURES], b[SJ_LEX_N_FEATURES];
    features(m, "Q1", "beta gamma", a);
    features(m, "Q1", "Gamma, BETA!", b);
    assert_memory_equal(a, b, sizeof a);
    features(m, "Q1", "beta gamma gamma", b);
    double r = sqrt(IDF_B * IDF_B + 4 * IDF_G * IDF_G);
    double s1 = (IDF_B * IDF_B + 2 * IDF_G * IDF_G) / (r * sqrt(IDF_B * IDF_B + IDF_G * IDF_G));
    double s2 = IDF_B / (r * sqrt(2.0));
    close_to(b[5], 4.0 / 3, 1e-15, "knn_mean of a new text");
    close_to(b[6], (2 * s1 * s1 + s2 * s2) / (s1 * s1 + s2 * s2), 1e-14, "knn_weighted");
    close_to(b[7], 1, 0, "item_mean of a new text");
    sj_lex_free(m);
    sj_instrument_free(ins);
}

/* Q2 has anchors but no answers: its bank features are the grand mean
 * (2 + 1 + 0) / 3 = 1 and its anchor "gamma" counts. An item the model does
 * not know gets the training means but its own length. */
static void test_untrained_and_unknown_items(void **state)
{
    (void)state;
    sj_instrument *ins = toy_instrument();
    sj_lex_model *m = toy_model(ins);
    assert_true(sj_lex_has_item(m, "Q1"));
    assert_false(sj_lex_has_item(m, "Q2"));
    assert_false(sj_lex_has_item(m, "Q9"));
    double x[SJ_LEX_N_FEATURES];
    features(m, "Q2", "gamma", x);
    close_to(x[0], 1, 1e-15, "cosine with Q2's anchor");
    close_to(x[5], 1, 0, "knn_mean of Q2");
    close_to(x[6], 1, 0, "knn_weighted of Q2");
    close_to(x[7], 1, 0, "item_mean of Q2");
    features(m, "Q9", "one two three", x);
    sj_lex_summary s;
    sj_lex_explain(m, &s);
    for (int j = 0; j < SJ_LEX_N_FEATURES; j++)
        if (j != 8)
            close_to(x[j], s.mean[j], 0, s.names[j]);
    close_to(x[8], log(4), 1e-15, "log_words of an unknown item");
    sj_lex_free(m);
    sj_instrument_free(ins);
}

/* Probabilities are a distribution over all 3 levels with at least the
 * floor's share on each; the expected score is their mean. */
static void test_probabilities(void **state)
{
    (void)state;
    sj_instrument *ins = toy_instrument();
    sj_lex_model *m = toy_model(ins);
    assert_int_equal(sj_lex_n_levels(m), 3);
    assert_int_equal(sj_lex_score_min(m), 0);
    double p[3];
    sj_error err;
    sj_error_clear(&err);
    assert_int_equal(sj_lex_probs(m, "Q1", "alpha beta gamma", p, &err), SJ_OK);
    close_to(p[0] + p[1] + p[2], 1, 1e-15, "sum");
    for (int k = 0; k < 3; k++)
        assert_true(p[k] >= 0.01 / 3);
    close_to(sj_lex_expected(m, p), p[1] + 2 * p[2], 1e-15, "expected");
    sj_lex_free(m);
    sj_instrument_free(ins);
}

/* Levels without training answers are merged out of the fit: with only
 * scores 0 and 2 seen, level 1 gets exactly floor / 3. */
static void test_empty_level(void **state)
{
    (void)state;
    sj_instrument *ins = toy_instrument();
    const int scores[] = {2, 2, 0};
    sj_error err;
    sj_error_clear(&err);
    sj_lex_opts o = sj_lex_defaults();
    sj_lex_model *m = sj_lex_fit(ins, TOY_ITEMS, TOY_TEXTS, scores, 3, &o, &err);
    assert_non_null(m);
    double p[3];
    assert_int_equal(sj_lex_probs(m, "Q1", "beta", p, &err), SJ_OK);
    close_to(p[1], 0.01 / 3, 1e-17, "empty level");
    close_to(p[0] + p[1] + p[2], 1, 1e-15, "sum");
    sj_lex_summary s;
    sj_lex_explain(m, &s);
    assert_int_equal(s.n_thresholds, 1);
    assert_int_equal(s.levels[0], 0);
    assert_int_equal(s.levels[1], 2);
    sj_lex_free(m);
    sj_instrument_free(ins);
}

static void test_fit_input_errors(void **state)
{
    (void)state;
    sj_instrument *ins = toy_instrument();
    sj_error err;
    sj_error_clear(&err);
    const char *items[] = {"Q1", "Q7"};
    const char *texts[] = {"a", "b"};
    const int scores[] = {1, 1};
    const int high[] = {1, 3};
    assert_null(sj_lex_fit(ins, items, texts, scores, 2, NULL, &err));
    assert_int_equal(err.status, SJ_ERR_INPUT);
    assert_non_null(strstr(err.msg, "training answer 1: unknown item 'Q7'"));
    assert_null(sj_lex_fit(ins, TOY_ITEMS, texts, high, 2, NULL, &err));
    assert_non_null(strstr(err.msg, "training answer 1: score 3 outside 0..2"));
    sj_lex_opts o = sj_lex_defaults();
    o.floor = 1;
    assert_null(sj_lex_fit(ins, TOY_ITEMS, TOY_TEXTS, TOY_SCORES, 3, &o, &err));
    assert_non_null(strstr(err.msg, "floor"));
    sj_instrument_free(ins);
}

/* The k-NN baseline's coefficients satisfy the normal equations
 * X'(y - Xb) = 0 on rows (1, anchor_cosine, knn_mean) of the training
 * answers (features as checked by hand above); tests/cli/test_baseline.sh
 * checks a fit solved by hand. */
static void test_knn_normal_equations(void **state)
{
    (void)state;
    sj_instrument *ins = toy_instrument();
    sj_lex_model *m = toy_model(ins);
    const char *items[] = {"Q1", "Q1", "Q1", "Q1"};
    const char *texts[] = {"beta gamma", "beta delta", "delta", "alpha gamma"};
    const int scores[] = {2, 1, 0, 2};
    sj_lex_knn k;
    sj_error err;
    sj_error_clear(&err);
    assert_int_equal(sj_lex_knn_fit(m, items, texts, scores, 4, &k, &err), SJ_OK);
    double g[3] = {0, 0, 0};
    for (int i = 0; i < 4; i++) {
        double x[SJ_LEX_N_FEATURES];
        features(m, items[i], texts[i], x);
        double row[3] = {1, x[0], x[5]};
        double res = scores[i] - (k.coef[0] + k.coef[1] * row[1] + k.coef[2] * row[2]);
        for (int j = 0; j < 3; j++)
            g[j] += row[j] * res;
    }
    for (int j = 0; j < 3; j++)
        close_to(g[j], 0, 1e-10, "normal equation");
    sj_lex_free(m);
    sj_instrument_free(ins);
}

/* Weighted: weighted least squares solves X'W(y - Xb) = 0; the ordinal
 * model's standardisation is the weighted mean and population SD of the
 * training features; unit weights are the unweighted fit, number for
 * number; a weight that is not a finite number > 0 is an input error. */
static void test_weighted_fits(void **state)
{
    (void)state;
    sj_instrument *ins = toy_instrument();
    sj_lex_model *m = toy_model(ins);
    const char *items[] = {"Q1", "Q1", "Q1", "Q1"};
    const char *texts[] = {"beta gamma", "beta delta", "delta", "alpha gamma"};
    const int scores[] = {2, 1, 0, 2};
    const double w[] = {0.5, 0.5, 1, 2};
    sj_lex_knn k;
    sj_error err;
    sj_error_clear(&err);
    assert_int_equal(sj_lex_knn_fit_weighted(m, items, texts, scores, w, 4, &k, &err), SJ_OK);
    double g[3] = {0, 0, 0};
    for (int i = 0; i < 4; i++) {
        double x[SJ_LEX_N_FEATURES];
        features(m, items[i], texts[i], x);
        double row[3] = {1, x[0], x[5]};
        double res = scores[i] - (k.coef[0] + k.coef[1] * row[1] + k.coef[2] * row[2]);
        for (int j = 0; j < 3; j++)
            g[j] += w[i] * row[j] * res;
    }
    for (int j = 0; j < 3; j++)
        close_to(g[j], 0, 1e-10, "weighted normal equation");
    sj_lex_free(m);

    const double tw[] = {2, 1, 1};
    m = sj_lex_fit_weighted(ins, TOY_ITEMS, TOY_TEXTS, TOY_SCORES, tw, 3, NULL, &err);
    assert_non_null(m);
    sj_lex_summary sum;
    sj_lex_explain(m, &sum);
    for (int j = 0; j < SJ_LEX_N_FEATURES; j++) {
        double x[3][SJ_LEX_N_FEATURES], mean = 0, var = 0;
        for (int i = 0; i < 3; i++)
            features(m, TOY_ITEMS[i], TOY_TEXTS[i], x[i]);
        for (int i = 0; i < 3; i++)
            mean += tw[i] * x[i][j] / 4;
        for (int i = 0; i < 3; i++)
            var += tw[i] * (x[i][j] - mean) * (x[i][j] - mean) / 4;
        close_to(sum.mean[j], mean, 1e-12, "weighted mean");
        close_to(sum.sd[j], sqrt(var), 1e-12, "weighted sd");
    }
    sj_lex_free(m);

    const double ones[] = {1, 1, 1};
    sj_lex_model *a =
        sj_lex_fit_weighted(ins, TOY_ITEMS, TOY_TEXTS, TOY_SCORES, ones, 3, NULL, &err);
    sj_lex_model *b = toy_model(ins);
    cJSON *ja = sj_lex_to_json(a), *jb = sj_lex_to_json(b);
    char *ta = cJSON_PrintUnformatted(ja), *tb = cJSON_PrintUnformatted(jb);
    assert_string_equal(ta, tb);
    free(ta);
    free(tb);
    cJSON_Delete(ja);
    cJSON_Delete(jb);
    sj_lex_free(a);
    sj_lex_free(b);
    const double bad[] = {1, -1, 1};
    assert_null(sj_lex_fit_weighted(ins, TOY_ITEMS, TOY_TEXTS, TOY_SCORES, bad, 3, NULL, &err));
    assert_int_equal(err.status, SJ_ERR_INPUT);
    assert_non_null(strstr(err.msg, "training answer 1: weight -1"));
    sj_instrument_free(ins);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_toy_features),
        cmocka_unit_test(test_identical_text_exclusion),
        cmocka_unit_test(test_untrained_and_unknown_items),
        cmocka_unit_test(test_probabilities),
        cmocka_unit_test(test_empty_level),
        cmocka_unit_test(test_fit_input_errors),
        cmocka_unit_test(test_knn_normal_equations),
        cmocka_unit_test(test_weighted_fits),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
