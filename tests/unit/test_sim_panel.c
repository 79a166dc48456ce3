/* The simulated expert panel: completions parsed strictly, Bradley–Terry
 * preferences with the documented sharpness, pairs dealt to the experts in
 * turn, every input column kept, and bad rows named. */
#include "test_helpers.h"

#include <math.h>

#include "sjtalign/sim.h"

static void completions_are_parsed_strictly(void **state)
{
    (void)state;
    long s = -99;
    assert_int_equal(sj_panel_parse_score("score: 2", &s), 0);
    assert_int_equal(s, 2);
    assert_int_equal(sj_panel_parse_score("Score:3 - talks to Sam privately", &s), 0);
    assert_int_equal(s, 3);
    assert_int_equal(sj_panel_parse_score("  score:\t0\nanchor: blames others", &s), 0);
    assert_int_equal(s, 0);
    assert_int_equal(sj_panel_parse_score("I think score: 1.", &s), 0);
    assert_int_equal(s, 1);
    const char *bad[] = {"", "2", "score:", "score: two", "score: 2.5", "scor: 2", "score -1"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        if (sj_panel_parse_score(bad[i], &s) == 0)
            fail_msg("'%s' parsed as %ld", bad[i], s);
}

static void preference_probability_is_bradley_terry(void **state)
{
    (void)state;
    /* R: plogis(2 * (abs(0 - 2) - abs(2 - 2))) */
    assert_true(fabs(sj_panel_prefer_a(2, 2, 0, 2) - 0.98201379003790845) < 1e-15);
    /* R: plogis(0.5 * (abs(3 - 1) - abs(0 - 1))) */
    assert_true(fabs(sj_panel_prefer_a(0.5, 0, 3, 1) - 0.62245933120185459) < 1e-15);
    assert_true(fabs(sj_panel_prefer_a(0.5, 3, 0, 1) - (1 - 0.62245933120185459)) < 1e-15);
    assert_true(sj_panel_prefer_a(0, 0, 3, 3) == 0.5);
}

/* Candidate scores: a fixed pattern that mixes every distance, ties
 * included. */
static int cand_a(size_t i)
{
    return (int)((i * 7 + i / 5) % 4);
}

static int cand_b(size_t i)
{
    return (int)((i * 3 + 1 + i / 3) % 4);
}

/* A truth file for persons P1..Pn on items S01, S02 (true score = person
 * number mod 4) and a pairs file of every person on S01 with candidate
 * scores drawn from a small fixed pattern. */
static void write_inputs(const char *dir, size_t n, int with_extra_column)
{
    char path[512];
    snprintf(path, sizeof path, "%s/truth.csv", dir);
    FILE *fp = fopen(path, "w");
    assert_non_null(fp);
    fprintf(fp, "person_id,item_id,theta,intent,true_score\n");
    for (size_t i = 1; i <= n; i++)
        for (int k = 1; k <= 2; k++)
            fprintf(fp, "P%zu,S%02d,0.5,x,%zu\n", i, k, i % 4);
    fclose(fp);
    snprintf(path, sizeof path, "%s/pairs.csv", dir);
    fp = fopen(path, "w");
    assert_non_null(fp);
    fprintf(fp, "pair_id,item_id,person_id,response,completion_a,completion_b,preferred%s\n",
            with_extra_column ? ",note" : "");
    for (size_t i = 1; i <= n; i++) {
        int a = cand_a(i), b = cand_b(i);
        fprintf(fp, "q%zu,S01,P%zu,\"I would, well, ask.\",score: %d,score: %d - anchor,%s\n", i, i,
                a, b, with_extra_column ? ",\"=keep\"" : "");
    }
    fclose(fp);
}

typedef struct {
    double agree;     /* share of decisive pairs where the nearer candidate won */
    double a_on_ties; /* share of 'a' on pairs at equal distance */
} outcome;

static outcome judge(const char *dir, double sharpness, size_t n, sj_panel_summary *s)
{
    char truth[512], pairs[512], out[512];
    snprintf(truth, sizeof truth, "%s/truth.csv", dir);
    snprintf(pairs, sizeof pairs, "%s/pairs.csv", dir);
    snprintf(out, sizeof out, "%s/judged.csv", dir);
    sj_panel_config cfg = {.panel_size = 3, .sharpness = sharpness, .seed = 4};
    sj_error err;
    sj_error_clear(&err);
    if (sj_panel_judge_files(truth, pairs, out, &cfg, s, &err) != SJ_OK)
        fail_msg("%s", err.msg);
    /* Recount from the written file, independently of the summary. */
    sj_table *t = sj_table_read(out, &err);
    assert_non_null(t);
    assert_int_equal(t->n_rows, n);
    long cp = sj_table_find_column(t, "preferred"), cj = sj_table_find_column(t, "judge_id");
    assert_true(cp >= 0 && cj >= 0);
    double decisive = 0, agree = 0, ties = 0, a_on_ties = 0;
    for (size_t r = 0; r < n; r++) {
        size_t i = r + 1;
        double truth_score = (double)(i % 4);
        int a = cand_a(i), b = cand_b(i);
        double gap = fabs(b - truth_score) - fabs(a - truth_score);
        const char *pref = sj_table_cell(t, r, (size_t)cp);
        assert_true(strcmp(pref, "a") == 0 || strcmp(pref, "b") == 0);
        char expected_judge[32];
        snprintf(expected_judge, sizeof expected_judge, "expert_%02zu", r % 3 + 1);
        assert_string_equal(sj_table_cell(t, r, (size_t)cj), expected_judge);
        if (gap == 0) {
            ties += 1;
            a_on_ties += pref[0] == 'a';
        } else {
            decisive += 1;
            agree += (gap > 0) == (pref[0] == 'a');
        }
    }
    assert_int_equal(s->n_decisive, (size_t)decisive);
    assert_int_equal(s->n_agree, (size_t)agree);
    sj_table_free(t);
    return (outcome){agree / decisive, a_on_ties / ties};
}

static void sharp_experts_agree_with_truth_and_blunt_ones_do_not(void **state)
{
    (void)state;
    char *dir = test_mkdtemp();
    const size_t n = 4000;
    write_inputs(dir, n, 0);
    sj_panel_summary s;
    outcome sharp = judge(dir, 20, n, &s);
    outcome usual = judge(dir, 3, n, &s);
    outcome blunt = judge(dir, 0.01, n, &s);
    print_message("panel  agreement with truth: K=20 %.3f, K=3 %.3f, K=0.01 %.3f; 'a' on ties "
                  "%.3f\n",
                  sharp.agree, usual.agree, blunt.agree, sharp.a_on_ties);
    assert_true(sharp.agree >= 0.95);
    assert_true(usual.agree > blunt.agree && usual.agree < sharp.agree);
    /* K = 0.01: P(agree) <= σ(0.03) = .5075; 4 SE of a share at n ~ 3000
     * is .037. */
    assert_true(fabs(blunt.agree - 0.5) < 0.045);
    /* Ties are coin flips (about 1,000 of them here). */
    assert_true(s.n_pairs - s.n_decisive > 500);
    assert_true(fabs(sharp.a_on_ties - 0.5) < 0.07);
    test_rmdir(dir);
}

static void columns_are_kept_and_filled(void **state)
{
    (void)state;
    char *dir = test_mkdtemp();
    write_inputs(dir, 10, 1);
    sj_panel_summary s;
    judge(dir, 3, 10, &s);
    char path[512];
    snprintf(path, sizeof path, "%s/judged.csv", dir);
    sj_error err;
    sj_table *t = sj_table_read(path, &err);
    assert_non_null(t);
    const char *expected[] = {"pair_id",      "item_id",   "person_id", "response", "completion_a",
                              "completion_b", "preferred", "note",      "judge_id"};
    assert_int_equal(t->n_cols, 9);
    for (size_t c = 0; c < 9; c++)
        assert_string_equal(t->names[c], expected[c]);
    assert_string_equal(sj_table_cell(t, 0, 3), "I would, well, ask.");
    char expected_b[32];
    snprintf(expected_b, sizeof expected_b, "score: %d - anchor", cand_b(1));
    assert_string_equal(sj_table_cell(t, 0, 5), expected_b);
    /* A formula-like cell is neutralised on disk and reads back as written. */
    assert_string_equal(sj_table_cell(t, 0, 7), "=keep");
    sj_table_free(t);
    test_rmdir(dir);
}

static void expect_judge_error(const char *dir, const char *pairs_text, const char *where,
                               const char *words)
{
    char truth[512], pairs[512], out[512];
    snprintf(truth, sizeof truth, "%s/truth.csv", dir);
    snprintf(pairs, sizeof pairs, "%s/bad.csv", dir);
    snprintf(out, sizeof out, "%s/never.csv", dir);
    test_write_text(pairs, pairs_text, strlen(pairs_text));
    sj_panel_config cfg = {.panel_size = 2, .sharpness = 3, .seed = 1};
    sj_error err;
    sj_error_clear(&err);
    assert_int_equal(sj_panel_judge_files(truth, pairs, out, &cfg, NULL, &err), SJ_ERR_INPUT);
    if (!strstr(err.msg, where) || !strstr(err.msg, words))
        fail_msg("expected '%s' and '%s' in '%s'", where, words, err.msg);
    assert_int_equal(access(out, F_OK), -1);
}

static void bad_rows_are_named(void **state)
{
    (void)state;
    char *dir = test_mkdtemp();
    write_inputs(dir, 5, 0);
    const char *head = "pair_id,item_id,person_id,response,completion_a,completion_b\n";
    char text[1024];
    snprintf(text, sizeof text, "%sq1,S01,P1,r,score: 1,score: 2\nq2,S01,P77,r,score: 1,score: 2\n",
             head);
    expect_judge_error(dir, text, "bad.csv:3:3", "person 'P77' with item 'S01' is not in");
    snprintf(text, sizeof text, "%sq1,S09,P1,r,score: 1,score: 2\n", head);
    expect_judge_error(dir, text, "bad.csv:2:", "item 'S09'");
    snprintf(text, sizeof text, "%sq1,S01,P1,r,score: 1,score: 2\nq2,S01,P2,r,score: 1,two\n",
             head);
    expect_judge_error(dir, text, "bad.csv:3:6", "completion_b");
    snprintf(text, sizeof text, "pair_id,item_id,person_id,response,completion_a\n");
    expect_judge_error(dir, text, "bad.csv", "completion_b");
    test_rmdir(dir);
}

/* One expert's choice: Bradley–Terry in the distance gap, a lean toward
 * the higher score, and ties or a coin at equal distance. */
static void decisions_with_lean_and_ties(void **state)
{
    (void)state;
    sj_panel_config cfg = {.panel_size = 3, .sharpness = 2};
    /* truth 1, a = 1, b = 3: gap 2, P(a) = σ(4) = 0.98201379 */
    assert_int_equal(sj_panel_decide(&cfg, 0.982, 1, 3, 1.0, 0.0), SJ_PANEL_A);
    assert_int_equal(sj_panel_decide(&cfg, 0.9821, 1, 3, 1.0, 0.0), SJ_PANEL_B);
    /* a lean of 4 toward the higher b: P(a) = σ(4 − 4) = ½ */
    assert_int_equal(sj_panel_decide(&cfg, 0.4999, 1, 3, 1.0, 4.0), SJ_PANEL_A);
    assert_int_equal(sj_panel_decide(&cfg, 0.5001, 1, 3, 1.0, 4.0), SJ_PANEL_B);
    /* the lean goes with the higher candidate whichever side it is on:
     * a = 3, b = 1, truth 1: P(a) = σ(−4 + 4) = ½ */
    assert_int_equal(sj_panel_decide(&cfg, 0.5001, 3, 1, 1.0, 4.0), SJ_PANEL_B);
    /* equal distance (truth 2, a = 1, b = 3): a coin, or a tie when asked */
    assert_int_equal(sj_panel_decide(&cfg, 0.49, 1, 3, 2.0, 0.0), SJ_PANEL_A);
    assert_int_equal(sj_panel_decide(&cfg, 0.51, 1, 3, 2.0, 0.0), SJ_PANEL_B);
    cfg.ties = 1;
    assert_int_equal(sj_panel_decide(&cfg, 0.49, 1, 3, 2.0, 0.0), SJ_PANEL_TIE);
    assert_int_equal(sj_panel_decide(&cfg, 0.49, 2, 2, 0.0, 0.0), SJ_PANEL_TIE);
    /* a biased expert at equal distance leans: P(a) = σ(−1) = 0.26894 */
    assert_int_equal(sj_panel_decide(&cfg, 0.2689, 1, 3, 2.0, 1.0), SJ_PANEL_A);
    assert_int_equal(sj_panel_decide(&cfg, 0.2690, 1, 3, 2.0, 1.0), SJ_PANEL_B);
}

static void judge_bias_is_parsed(void **state)
{
    (void)state;
    sj_panel_config cfg = {.panel_size = 12};
    sj_error err;
    sj_error_clear(&err);
    assert_int_equal(sj_panel_parse_bias("expert_02:1.5,7:-2", &cfg, &err), SJ_OK);
    assert_int_equal(cfg.n_bias, 2);
    assert_int_equal(cfg.bias[0].expert, 2);
    assert_true(cfg.bias[0].logits == 1.5);
    assert_int_equal(cfg.bias[1].expert, 7);
    assert_true(cfg.bias[1].logits == -2.0);
    const char *bad[] = {"expert_13:1", "0:1", "expert_2", "2:x", "2:1,2:3", "ex_2:1", "2:inf"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        if (sj_panel_parse_bias(bad[i], &cfg, &err) != SJ_ERR_INPUT)
            fail_msg("'%s' accepted", bad[i]);
        assert_non_null(strstr(err.msg, "--judge-bias"));
        assert_int_equal(cfg.n_bias, 0);
    }
    sj_panel_config_free(&cfg);
}

/* Overlap 0.25 of 40 pairs with 3 judges each in a panel of 5: exactly 10
 * pairs get three rows (their own expert first, two others after it in
 * ascending order, all different), the other 30 one row; 60 rows. Every
 * row keeps its pair's columns. With --ties every equal-distance judgment
 * is a tie. */
static void overlap_gives_several_judges_per_pair(void **state)
{
    (void)state;
    char *dir = test_mkdtemp();
    write_inputs(dir, 40, 0);
    char truth[512], pairs[512], out[512];
    snprintf(truth, sizeof truth, "%s/truth.csv", dir);
    snprintf(pairs, sizeof pairs, "%s/pairs.csv", dir);
    snprintf(out, sizeof out, "%s/judged.csv", dir);
    sj_panel_config cfg = {.panel_size = 5,
                           .sharpness = 3,
                           .seed = 4,
                           .overlap = 0.25,
                           .judges_per_pair = 3,
                           .ties = 1};
    sj_panel_summary s;
    sj_error err;
    sj_error_clear(&err);
    assert_int_equal(sj_panel_judge_files(truth, pairs, out, &cfg, &s, &err), SJ_OK);
    assert_int_equal(s.n_pairs, 40);
    assert_int_equal(s.n_overlap_pairs, 10);
    assert_int_equal(s.n_judgments, 60);
    sj_table *t = sj_table_read(out, &err);
    assert_non_null(t);
    assert_int_equal(t->n_rows, 60);
    size_t r = 0, multi = 0, ties = 0;
    for (size_t pair = 1; pair <= 40; pair++) {
        char id[16];
        snprintf(id, sizeof id, "q%zu", pair);
        size_t m = 0, experts[3] = {0, 0, 0};
        while (r < t->n_rows && strcmp(sj_table_cell(t, r, 0), id) == 0) {
            assert_true(m < 3);
            const char *judge = sj_table_cell(t, r, 7);
            assert_true(strncmp(judge, "expert_0", 8) == 0);
            experts[m++] = (size_t)atoi(judge + 7);
            const char *pref = sj_table_cell(t, r, 6);
            double truth_score = (double)(pair % 4);
            double gap = fabs(cand_b(pair) - truth_score) - fabs(cand_a(pair) - truth_score);
            assert_true(gap == 0 ? strcmp(pref, "tie") == 0 : strcmp(pref, "tie") != 0);
            ties += gap == 0;
            r++;
        }
        assert_true(m == 1 || m == 3);
        assert_int_equal(experts[0], (pair - 1) % 5 + 1);
        if (m == 3) {
            multi++;
            assert_true(experts[1] < experts[2]);
            assert_true(experts[1] != experts[0] && experts[2] != experts[0]);
        }
    }
    assert_int_equal(multi, 10);
    assert_int_equal(s.n_ties, ties);
    sj_table_free(t);
    /* a panel too small for three judges per pair, and repeated pair ids */
    cfg.panel_size = 2;
    assert_int_equal(sj_panel_judge_files(truth, pairs, out, &cfg, &s, &err), SJ_ERR_INPUT);
    assert_non_null(strstr(err.msg, "--judges-per-pair 3 needs a panel of at least 3"));
    cfg.panel_size = 5;
    assert_int_equal(sj_panel_judge_files(truth, out, pairs, &cfg, &s, &err), SJ_ERR_INPUT);
    assert_non_null(strstr(err.msg, "is on more than one row"));
    /* a biased judge needs the group column */
    assert_int_equal(sj_panel_parse_bias("2:1", &cfg, &err), SJ_OK);
    assert_int_equal(sj_panel_judge_files(truth, pairs, out, &cfg, &s, &err), SJ_ERR_INPUT);
    assert_non_null(strstr(err.msg, "no group column"));
    sj_panel_config_free(&cfg);
    test_rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(completions_are_parsed_strictly),
        cmocka_unit_test(preference_probability_is_bradley_terry),
        cmocka_unit_test(sharp_experts_agree_with_truth_and_blunt_ones_do_not),
        cmocka_unit_test(columns_are_kept_and_filled),
        cmocka_unit_test(bad_rows_are_named),
        cmocka_unit_test(decisions_with_lean_and_ties),
        cmocka_unit_test(judge_bias_is_parsed),
        cmocka_unit_test(overlap_gives_several_judges_per_pair),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
