/* The simulator's models: graded response model probabilities and draws
 * (checked against R), the rater, the population, and the settings checks
 * that protect users from silent mistakes. */
#include "test_helpers.h"

#include <math.h>

#include <gsl/gsl_randist.h>

#include "sjtalign/sim.h"

static void grm_probabilities_match_r(void **state)
{
    (void)state;
    /* R: a <- 1.5; b <- c(-1, 0, 1); ps <- c(1, plogis(a * (0.5 - b)), 0);
     *    ps[1:4] - ps[2:5] */
    sj_sim_grm item = {1.5, {-1, 0, 1}};
    const double expected[4] = {0.095349464899109448, 0.22547183592549758, 0.35835739835078595,
                                0.32082130082460703};
    double sum = 0;
    for (int k = 0; k < 4; k++) {
        double p = sj_sim_grm_prob(&item, 0.5, k);
        assert_true(fabs(p - expected[k]) < 1e-15);
        sum += p;
    }
    assert_true(fabs(sum - 1) < 1e-15);
    assert_true(sj_sim_grm_prob(&item, 0.5, -1) == 0 && sj_sim_grm_prob(&item, 0.5, 4) == 0);
}

static void grm_draw_cuts_the_unit_interval_at_the_cumulative_probabilities(void **state)
{
    (void)state;
    sj_sim_grm item = {1.5, {-1, 0, 1}};
    /* P(X >= 3) = .32082..., P(X >= 2) = .67917..., P(X >= 1) = .90465... */
    assert_int_equal(sj_sim_grm_draw(&item, 0.5, 0.0), 3);
    assert_int_equal(sj_sim_grm_draw(&item, 0.5, 0.3208), 3);
    assert_int_equal(sj_sim_grm_draw(&item, 0.5, 0.3209), 2);
    assert_int_equal(sj_sim_grm_draw(&item, 0.5, 0.6791), 2);
    assert_int_equal(sj_sim_grm_draw(&item, 0.5, 0.6792), 1);
    assert_int_equal(sj_sim_grm_draw(&item, 0.5, 0.9046), 1);
    assert_int_equal(sj_sim_grm_draw(&item, 0.5, 0.9047), 0);
    assert_int_equal(sj_sim_grm_draw(&item, 0.5, 0.999999), 0);
}

/* Marginal score distribution over θ ~ N(-0.4, 1), by numerical
 * integration in R (integrate, rel.tol 1e-12), against 200,000 draws. */
static void grm_draws_follow_the_marginal_distribution(void **state)
{
    (void)state;
    sj_sim_grm item = {1.7, {-1.2, 0.1, 1.3}};
    const double expected[4] = {0.28633974609308227, 0.35170220848908429, 0.24408500713990175,
                                0.11787303827793179};
    gsl_rng *rng = sj_rng_new(99);
    const int n = 200000;
    double count[4] = {0};
    for (int i = 0; i < n; i++) {
        double theta = -0.4 + gsl_ran_ugaussian(rng);
        count[sj_sim_grm_draw(&item, theta, gsl_rng_uniform(rng))] += 1;
    }
    sj_rng_free(rng);
    for (int k = 0; k < 4; k++) {
        double se = sqrt(expected[k] * (1 - expected[k]) / n);
        assert_true(fabs(count[k] / n - expected[k]) < 4 * se);
    }
}

static void rater_moves_clamps_and_marks_down(void **state)
{
    (void)state;
    /* No noise event (u_noise >= E), no bias: the true score. */
    assert_int_equal(sj_sim_rate(2, 1, 0.6, 0.1, 0.10, 0.0, 0.9), 2);
    /* Noise event, down then up. */
    assert_int_equal(sj_sim_rate(2, 0, 0.0, 0.1, 0.05, 0.49, 0.0), 1);
    assert_int_equal(sj_sim_rate(2, 0, 0.0, 0.1, 0.05, 0.50, 0.0), 3);
    /* Clamped at the ends: the move is lost. */
    assert_int_equal(sj_sim_rate(0, 0, 0.0, 0.1, 0.05, 0.2, 0.0), 0);
    assert_int_equal(sj_sim_rate(3, 0, 0.0, 0.1, 0.05, 0.8, 0.0), 3);
    /* Bias hits focal responses only, with probability SIZE. */
    assert_int_equal(sj_sim_rate(2, 1, 0.6, 0.1, 0.5, 0.0, 0.59), 1);
    assert_int_equal(sj_sim_rate(2, 1, 0.6, 0.1, 0.5, 0.0, 0.60), 2);
    assert_int_equal(sj_sim_rate(2, 0, 0.6, 0.1, 0.5, 0.0, 0.00), 2);
    /* Noise down then bias: two points, but never below 0. */
    assert_int_equal(sj_sim_rate(2, 1, 1.0, 1.0, 0.0, 0.0, 0.0), 0);
    assert_int_equal(sj_sim_rate(1, 1, 1.0, 1.0, 0.0, 0.0, 0.0), 0);
    assert_int_equal(sj_sim_rate(0, 1, 1.0, 0.0, 0.5, 0.0, 0.0), 0);
}

static sj_sim_data *simulate(sj_sim_config *cfg)
{
    sj_error err;
    sj_error_clear(&err);
    sj_sim_data *d = sj_sim_scores(cfg, &err);
    if (!d)
        fail_msg("%s", err.msg);
    return d;
}

static void population_has_the_requested_groups_and_means(void **state)
{
    (void)state;
    sj_sim_config cfg;
    sj_sim_config_defaults(&cfg);
    cfg.n_persons = 20001;
    cfg.n_items = 2;
    cfg.focal_share = 0.35;
    cfg.impact = 0.7;
    cfg.seed = 5;
    sj_sim_data *d = simulate(&cfg);
    size_t n_focal = 0;
    double sum[2] = {0}, sum2[2] = {0};
    for (size_t i = 0; i < d->n_persons; i++) {
        n_focal += d->focal[i];
        sum[d->focal[i]] += d->theta[i];
        sum2[d->focal[i]] += d->theta[i] * d->theta[i];
        /* θ is stored with 4 decimals. */
        assert_true(fabs(d->theta[i] * 1e4 - round(d->theta[i] * 1e4)) < 1e-6);
    }
    assert_int_equal(n_focal, 7000); /* round(0.35 * 20001) = round(7000.35) */
    double n[2] = {(double)(d->n_persons - n_focal), (double)n_focal};
    for (int g = 0; g < 2; g++) {
        double mean = sum[g] / n[g], var = sum2[g] / n[g] - mean * mean;
        double target = g ? -0.7 : 0.0;
        assert_true(fabs(mean - target) < 4 / sqrt(n[g]));
        assert_true(fabs(var - 1) < 4 * sqrt(2 / n[g]));
    }
    /* Item parameters as documented: a in [1.2, 2], ordered thresholds. */
    for (size_t k = 0; k < d->n_items; k++) {
        assert_true(d->grm[k].a >= 1.2 && d->grm[k].a <= 2.0);
        assert_true(d->grm[k].b[0] + 1.0 <= d->grm[k].b[1] + 1e-9);
        assert_true(d->grm[k].b[1] + 1.0 <= d->grm[k].b[2] + 1e-9);
    }
    sj_sim_data_free(d);
    sj_sim_config_free(&cfg);
}

/* The share of human scores that differ from the true score is E times the
 * share of moves not lost at the ends: E (P(1) + P(2) + (P(0) + P(3)) / 2). */
static void rater_noise_rate_matches_its_definition(void **state)
{
    (void)state;
    sj_sim_config cfg;
    sj_sim_config_defaults(&cfg);
    cfg.n_persons = 20000;
    cfg.n_items = 4;
    cfg.rater_noise = 0.2;
    cfg.seed = 11;
    sj_error err;
    assert_int_equal(sj_sim_parse_bias("S02:0.6", &cfg, &err), SJ_OK);
    sj_sim_data *d = simulate(&cfg);
    double changed = 0, ends = 0, cells = 0;
    double focal_down = 0, focal_cells = 0, ref_down = 0, ref_cells = 0;
    for (size_t i = 0; i < d->n_persons; i++)
        for (size_t k = 0; k < d->n_items; k++) {
            size_t c = i * d->n_items + k;
            int t = d->true_score[c], h = d->human_score[c];
            assert_true(h >= 0 && h <= 3 && abs(h - t) <= 2);
            if (k == 1) {
                if (t == 1 || t == 2) { /* away from the ends */
                    focal_down += d->focal[i] * (h < t);
                    focal_cells += d->focal[i];
                    ref_down += !d->focal[i] * (h < t);
                    ref_cells += !d->focal[i];
                }
                continue;
            }
            changed += h != t;
            ends += t == 0 || t == 3;
            cells += 1;
        }
    double expected = 0.2 * (1 - ends / cells / 2);
    assert_true(fabs(changed / cells - expected) < 4 * sqrt(expected * (1 - expected) / cells));
    /* Biased item, true score 1 or 2: the reference is marked down only by
     * noise (.2 x .5 = .1); the focal group by noise (.1), or else by bias
     * after no move (.8 x .6 = .48): .58 (a move up then a mark-down ends
     * at the true score). */
    assert_true(fabs(ref_down / ref_cells - 0.1) < 4 * sqrt(0.09 / ref_cells));
    assert_true(fabs(focal_down / focal_cells - 0.58) < 4 * sqrt(0.58 * 0.42 / focal_cells));
    sj_sim_data_free(d);
    sj_sim_config_free(&cfg);
}

static void fast_path_gives_the_scores_of_the_full_run(void **state)
{
    (void)state;
    sj_sim_config cfg;
    sj_sim_config_defaults(&cfg);
    cfg.n_persons = 300;
    cfg.seed = 21;
    sj_error err;
    assert_int_equal(sj_sim_parse_bias("S01:0.5,S08:1", &cfg, &err), SJ_OK);
    sj_sim_data *fast = simulate(&cfg);
    sj_sim_data *full = sj_sim_run(&cfg, &err);
    assert_non_null(full);
    size_t cells = cfg.n_persons * cfg.n_items;
    assert_memory_equal(fast->true_score, full->true_score, cells * sizeof(int));
    assert_memory_equal(fast->human_score, full->human_score, cells * sizeof(int));
    assert_memory_equal(fast->theta, full->theta, cfg.n_persons * sizeof(double));
    assert_null(fast->response);
    assert_non_null(full->response);
    /* A different seed gives different data. */
    cfg.seed = 22;
    sj_sim_data *other = simulate(&cfg);
    assert_true(memcmp(fast->true_score, other->true_score, cells * sizeof(int)) != 0);
    sj_sim_data_free(fast);
    sj_sim_data_free(full);
    sj_sim_data_free(other);
    sj_sim_config_free(&cfg);
}

static void expect_config_error(sj_sim_config *cfg, const char *words1, const char *words2)
{
    sj_error err;
    sj_error_clear(&err);
    assert_int_equal(sj_sim_config_check(cfg, &err), SJ_ERR_INPUT);
    if (!strstr(err.msg, words1) || !strstr(err.msg, words2))
        fail_msg("expected '%s' and '%s' in '%s'", words1, words2, err.msg);
    assert_null(sj_sim_scores(cfg, &err));
}

static void bad_settings_name_the_flag(void **state)
{
    (void)state;
    sj_sim_config cfg;
    sj_sim_config_defaults(&cfg);
    sj_error err;
    sj_error_clear(&err);
    assert_int_equal(sj_sim_config_check(&cfg, &err), SJ_OK);
    cfg.n_persons = 0;
    expect_config_error(&cfg, "--persons", "at least 1");
    cfg.n_persons = 10;
    cfg.n_items = 0;
    expect_config_error(&cfg, "--items", "at least 1");
    cfg.n_items = 8;
    cfg.focal_share = 0;
    expect_config_error(&cfg, "--focal-share", "strictly between 0 and 1");
    cfg.focal_share = 1;
    expect_config_error(&cfg, "--focal-share", "got 1");
    cfg.focal_share = 0.3;
    cfg.rater_noise = 1.5;
    expect_config_error(&cfg, "--rater-noise", "between 0 and 1");
    cfg.rater_noise = 0.1;
    assert_int_equal(sj_sim_parse_bias("S09:0.5", &cfg, &err), SJ_OK);
    expect_config_error(&cfg, "--bias", "unknown item 'S09'");
    assert_int_equal(sj_sim_parse_bias("S02:0.5,S02:0.1", &cfg, &err), SJ_OK);
    expect_config_error(&cfg, "--bias", "listed twice");
    sj_sim_config_free(&cfg);
}

static void bias_lists_are_parsed_strictly(void **state)
{
    (void)state;
    sj_sim_config cfg;
    sj_sim_config_defaults(&cfg);
    sj_error err;
    assert_int_equal(sj_sim_parse_bias("S03:0.6,S06:0.25", &cfg, &err), SJ_OK);
    assert_int_equal(cfg.n_bias, 2);
    assert_string_equal(cfg.bias[0].item, "S03");
    assert_true(cfg.bias[0].size == 0.6);
    assert_string_equal(cfg.bias[1].item, "S06");
    assert_true(cfg.bias[1].size == 0.25);
    const char *bad[][2] = {{"S03", "expected ITEM:SIZE"},      {"S03:", "expected ITEM:SIZE"},
                            {":0.5", "expected ITEM:SIZE"},     {"S03:abc", "must be a number"},
                            {"S03:1.5", "between 0 and 1"},     {"S03:-0.1", "between 0 and 1"},
                            {"S03:0.5,", "expected ITEM:SIZE"}, {"", "empty"}};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        sj_error_clear(&err);
        assert_int_equal(sj_sim_parse_bias(bad[i][0], &cfg, &err), SJ_ERR_INPUT);
        if (!strstr(err.msg, "--bias") || !strstr(err.msg, bad[i][1]))
            fail_msg("'%s': expected '%s' in '%s'", bad[i][0], bad[i][1], err.msg);
        assert_int_equal(cfg.n_bias, 0);
    }
    sj_sim_config_free(&cfg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(grm_probabilities_match_r),
        cmocka_unit_test(grm_draw_cuts_the_unit_interval_at_the_cumulative_probabilities),
        cmocka_unit_test(grm_draws_follow_the_marginal_distribution),
        cmocka_unit_test(rater_moves_clamps_and_marks_down),
        cmocka_unit_test(population_has_the_requested_groups_and_means),
        cmocka_unit_test(rater_noise_rate_matches_its_definition),
        cmocka_unit_test(fast_path_gives_the_scores_of_the_full_run),
        cmocka_unit_test(bad_settings_name_the_flag),
        cmocka_unit_test(bias_lists_are_parsed_strictly),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
