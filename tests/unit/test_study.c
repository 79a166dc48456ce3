/* The replication study's statistics and study file, against numbers
 * worked by hand.
 *
 * t-interval of ten reductions 0.9 0.8 0.7 0.6 1.0 0.75 0.85 0.65 0.95 0.8:
 * sum 8.0, mean 0.8; squared deviations 0.01 0 0.01 0.04 0.04 0.0025 0.0025
 * 0.0225 0.0225 0 sum to 0.15, variance 0.15/9, sd 0.1290994, se =
 * sd/sqrt(10) = 0.04082483; t(0.975, 9) = 2.262157 (R: qt(0.975, 9)), half
 * width 0.09235272: interval 0.7076473 to 0.8923527.
 * Two values 0.5 and 0.7 (a NaN between them is left out): mean 0.6, sd
 * sqrt(0.02) = 0.1414214, se 0.1; t(0.975, 1) = 12.7062047 (R: qt(0.975,
 * 1)): interval -0.67062047 to 1.87062047.
 *
 * Summary of one condition with biased items S01 and S02, four
 * replications, PPO against SFT:
 *   rep 1: S01 0.40 -> 0.08 (0.8), S02 0.30 -> 0.06 (0.8): mean 0.8, both
 *          halved; no unbiased item flagged; truth QWK 0.90 -> 0.92
 *   rep 2: S01 0.50 -> 0.10 (0.8), S02 0.20 -> 0.12 (0.4): mean 0.6, S02
 *          not halved; one unbiased item flagged; truth QWK 0.90 -> 0.91
 *   rep 3: S01 0.40 -> 0.04 (0.9), S02 0.40 -> 0.08 (0.8): mean 0.85, both
 *          halved; none flagged; truth QWK 0.88 -> 0.89
 *   rep 4: failed, left out.
 * Mean reduction (0.8 + 0.6 + 0.85)/3 = 0.75; deviations 0.05 -0.15 0.1,
 * squares sum 0.035, variance 0.0175, se sqrt(0.0175/3) = 0.07637626;
 * t(0.975, 2) = 4.302653 (R: qt(0.975, 2)): half width 0.3286205, interval
 * 0.4213795 to 1.0786205. All halved in 2 of 3; unbiased flagged in 1 of 3
 * (clean in 2/3). Targets: 0.75 >= 0.70 met, 0.75 < 0.80 stretch missed,
 * 2/3 < 0.9 halved missed, 2/3 < 0.9 clean missed, truth QWK never below
 * SFT's: met. Per item: S01 reductions 0.8 0.8 0.9, mean 0.8333333, all
 * halved; S02 0.8 0.4 0.8, mean 0.6666667, halved in 2 of 3. Mean change of
 * truth QWK (0.02 + 0.01 + 0.01)/3 = 0.01333333.
 *
 * A bias SFT did not inherit (two replications, PPO):
 *   rep 1: S01 inherited 0.40 -> 0.08 (0.8); S02 not inherited 0.05 -> 0.15
 *          (-2.0)
 *   rep 2: S01 inherited 0.50 -> 0.10 (0.8); S02 inherited 0.30 -> 0.09 (0.7)
 * Reduction over inherited biases: rep 1 0.8, rep 2 (0.8 + 0.7)/2 = 0.75,
 * mean 0.775; over all: rep 1 (0.8 - 2.0)/2 = -0.6, rep 2 0.75, mean 0.075.
 * Halved: every inherited bias halved in both (1.0). Inherited cells 3 of 4
 * (0.75). S02: inherited in 1 of 2 (0.5), reduction (inherited) 0.7 over
 * n = 1, reduction (all) (-2.0 + 0.7)/2 = -0.65. */
#include <math.h>

#include "sjtalign/study.h"
#include "test_helpers.h"

static void test_t_interval_ten(void **state)
{
    (void)state;
    const double x[10] = {0.9, 0.8, 0.7, 0.6, 1.0, 0.75, 0.85, 0.65, 0.95, 0.8};
    sj_study_mean m = sj_study_mean_ci(x, 10);
    assert_int_equal(m.n, 10);
    assert_true(fabs(m.mean - 0.8) < 1e-12);
    assert_true(fabs(m.lo - 0.7076473) < 1e-6);
    assert_true(fabs(m.hi - 0.8923527) < 1e-6);
}

static void test_t_interval_small(void **state)
{
    (void)state;
    const double x[3] = {0.5, NAN, 0.7};
    sj_study_mean m = sj_study_mean_ci(x, 3);
    assert_int_equal(m.n, 2);
    assert_true(fabs(m.mean - 0.6) < 1e-12);
    assert_true(fabs(m.lo + 0.67062047) < 1e-6);
    assert_true(fabs(m.hi - 1.87062047) < 1e-6);
    const double one[1] = {0.4};
    m = sj_study_mean_ci(one, 1);
    assert_int_equal(m.n, 1);
    assert_true(fabs(m.mean - 0.4) < 1e-12);
    assert_true(isnan(m.lo) && isnan(m.hi));
    m = sj_study_mean_ci(one, 0);
    assert_true(m.n == 0 && isnan(m.mean));
}

/* One PPO replication: the two biased items' |SMD/SD| under SFT and PPO. */
static void fill_rep(sj_study_rep *r, sj_study_item_fig items[2][2], const double fig[6],
                     int unbiased, double qwk_sft, double qwk_ppo)
{
    memset(r, 0, sizeof *r);
    r->status = SJ_STUDY_RAN;
    for (int m = 0; m < 2; m++) {
        r->models[m].present = 1;
        r->models[m].items = items[m];
        r->models[m].kl = NAN;
        r->models[m].qwk_human = NAN;
    }
    for (int b = 0; b < 2; b++) {
        items[0][b] = (sj_study_item_fig){fig[3 * b], fig[3 * b], 0, 1};
        items[1][b] = (sj_study_item_fig){fig[3 * b], fig[3 * b + 1], fig[3 * b + 2], 1};
    }
    r->models[1].n_unbiased_flagged = unbiased;
    r->models[0].qwk_truth = qwk_sft;
    r->models[1].qwk_truth = qwk_ppo;
}

static void test_summary_and_targets(void **state)
{
    (void)state;
    char *names[2] = {"S01", "S02"};
    double sizes[2] = {0.6, 0.6};
    sj_study_condition cond = {.name = "c", .n_biased = 2, .biased = names, .bias = sizes};
    sj_study_spec spec = {.name = "t", .n_conditions = 1, .conditions = &cond, .n_seeds = 4};
    sj_study_rep reps[4];
    sj_study_item_fig items[3][2][2];
    const double figs[3][6] = {{0.40, 0.08, 0.8, 0.30, 0.06, 0.8},
                               {0.50, 0.10, 0.8, 0.20, 0.12, 0.4},
                               {0.40, 0.04, 0.9, 0.40, 0.08, 0.8}};
    fill_rep(&reps[0], items[0], figs[0], 0, 0.90, 0.92);
    fill_rep(&reps[1], items[1], figs[1], 1, 0.90, 0.91);
    fill_rep(&reps[2], items[2], figs[2], 0, 0.88, 0.89);
    memset(&reps[3], 0, sizeof reps[3]);
    reps[3].status = SJ_STUDY_FAILED;
    sj_study_summary *sums = NULL;
    sj_error err;
    sj_error_clear(&err);
    assert_int_equal(sj_study_summarise(&spec, reps, 4, &sums, &err), SJ_OK);
    const sj_study_summary *ppo = &sums[1];
    assert_int_equal(ppo->model, 1);
    assert_int_equal(ppo->n_ok, 3);
    assert_int_equal(ppo->n_failed, 1);
    assert_true(fabs(ppo->reduction.mean - 0.75) < 1e-12);
    assert_true(fabs(ppo->reduction.lo - 0.4213795) < 1e-6);
    assert_true(fabs(ppo->reduction.hi - 1.0786205) < 1e-6);
    assert_true(fabs(ppo->halved_share - 2.0 / 3) < 1e-12);
    assert_true(fabs(ppo->unbiased_flagged_share - 1.0 / 3) < 1e-12);
    assert_true(fabs(ppo->items[0].reduction.mean - 0.8333333) < 1e-6);
    assert_true(fabs(ppo->items[0].halved_share - 1) < 1e-12);
    assert_true(fabs(ppo->items[1].reduction.mean - 0.6666667) < 1e-6);
    assert_true(fabs(ppo->items[1].halved_share - 2.0 / 3) < 1e-12);
    assert_true(fabs(ppo->qwk_truth_change.mean - 0.01333333) < 1e-6);
    assert_int_equal(ppo->truth_below, 0);
    static const sj_target_state want[SJ_STUDY_TARGETS] = {
        SJ_TARGET_MET, SJ_TARGET_MISSED, SJ_TARGET_MISSED, SJ_TARGET_MISSED, SJ_TARGET_MET};
    for (int t = 0; t < SJ_STUDY_TARGETS; t++)
        assert_int_equal(ppo->targets[t].state, want[t]);
    /* SFT is the reference: no targets; DPO was not audited: none either. */
    for (int t = 0; t < SJ_STUDY_TARGETS; t++) {
        assert_int_equal(sums[0].targets[t].state, SJ_TARGET_NA);
        assert_int_equal(sums[2].targets[t].state, SJ_TARGET_NA);
    }
    assert_int_equal(sums[2].n_missing, 3);
    sj_study_summaries_free(sums, 3);
}

static void test_not_inherited_left_out(void **state)
{
    (void)state;
    char *names[2] = {"S01", "S02"};
    double sizes[2] = {0.6, 0.4};
    sj_study_condition cond = {.name = "c", .n_biased = 2, .biased = names, .bias = sizes};
    sj_study_spec spec = {.name = "t", .n_conditions = 1, .conditions = &cond, .n_seeds = 2};
    sj_study_rep reps[2];
    sj_study_item_fig items[2][2][2];
    const double figs[2][6] = {{0.40, 0.08, 0.8, 0.05, 0.15, -2.0},
                               {0.50, 0.10, 0.8, 0.30, 0.09, 0.7}};
    fill_rep(&reps[0], items[0], figs[0], 0, 0.90, 0.91);
    fill_rep(&reps[1], items[1], figs[1], 0, 0.90, 0.91);
    for (int m = 0; m < 2; m++)
        items[0][m][1].inherited = 0;
    sj_study_summary *sums = NULL;
    sj_error err;
    sj_error_clear(&err);
    assert_int_equal(sj_study_summarise(&spec, reps, 2, &sums, &err), SJ_OK);
    const sj_study_summary *ppo = &sums[1];
    assert_true(fabs(ppo->reduction.mean - 0.775) < 1e-12);
    assert_int_equal(ppo->reduction.n, 2);
    assert_true(fabs(ppo->reduction_all.mean - 0.075) < 1e-12);
    assert_true(fabs(ppo->halved_share - 1) < 1e-12);
    assert_true(fabs(ppo->inherited_share - 0.75) < 1e-12);
    assert_true(fabs(ppo->items[1].inherited_share - 0.5) < 1e-12);
    assert_true(fabs(ppo->items[1].reduction.mean - 0.7) < 1e-12);
    assert_int_equal(ppo->items[1].reduction.n, 1);
    assert_true(fabs(ppo->items[1].reduction_all.mean + 0.65) < 1e-12);
    assert_true(fabs(ppo->items[1].halved_share - 1) < 1e-12);
    assert_int_equal(ppo->targets[0].state, SJ_TARGET_MET);
    assert_int_equal(ppo->targets[2].state, SJ_TARGET_MET);
    sj_study_summaries_free(sums, 3);
}

static void test_truth_below_misses(void **state)
{
    (void)state;
    sj_study_summary s;
    memset(&s, 0, sizeof s);
    s.model = 2;
    s.n_ok = 10;
    s.reduction.mean = 0.85;
    s.halved_share = 0.9;
    s.unbiased_flagged_share = 0.1;
    s.qwk_truth_change.n = 10;
    s.truth_below = 1;
    sj_study_set_targets(&s);
    /* 0.85 >= 0.7 and >= 0.8; 0.9 >= 0.9; 1 - 0.1 = 0.9 >= 0.9; one
     * replication below SFT's truth QWK misses "never below". */
    assert_int_equal(s.targets[0].state, SJ_TARGET_MET);
    assert_int_equal(s.targets[1].state, SJ_TARGET_MET);
    assert_int_equal(s.targets[2].state, SJ_TARGET_MET);
    assert_int_equal(s.targets[3].state, SJ_TARGET_MET);
    assert_int_equal(s.targets[4].state, SJ_TARGET_MISSED);
    s.halved_share = 0.8;
    sj_study_set_targets(&s);
    assert_int_equal(s.targets[2].state, SJ_TARGET_MISSED);
}

static void test_bias_strings(void **state)
{
    (void)state;
    char **items;
    double *sizes;
    size_t n;
    char why[256];
    assert_int_equal(sj_study_parse_bias("S02:0.6,S05:0.4", &items, &sizes, &n, why, sizeof why),
                     0);
    assert_int_equal(n, 2);
    assert_string_equal(items[0], "S02");
    assert_string_equal(items[1], "S05");
    assert_true(fabs(sizes[0] - 0.6) < 1e-12 && fabs(sizes[1] - 0.4) < 1e-12);
    for (size_t i = 0; i < n; i++)
        free(items[i]);
    free(items);
    free(sizes);
    const char *bad[] = {"S02:0.6,S02:0.1", "S02", "S02:1.5", ":0.5", "S02:x"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        assert_int_equal(sj_study_parse_bias(bad[i], &items, &sizes, &n, why, sizeof why), -1);
        assert_null(items);
        assert_non_null(strstr(why, "ITEM:SIZE"));
    }
}

static const char BASE[] = "{\"name\": \"b\", \"seed\": 1, \"reference\": \"reference\", "
                           "\"focal\": \"focal\", \"stages\": {\"simulate\": {\"persons\": 100, "
                           "\"bias\": \"S03:0.6\"}, \"sft\": {\"steps\": 5}, \"score\": {}, "
                           "\"audit\": {}, \"compare\": {}}}\n";

static char *write_in(const char *dir, const char *name, const char *text)
{
    char *path = sj_path_join(dir, name);
    test_write_text(path, text, strlen(text));
    return path;
}

static void test_study_file_and_pipeline(void **state)
{
    (void)state;
    char *dir = test_mkdtemp();
    free(write_in(dir, "base.json", BASE));
    char *path = write_in(dir, "study.json",
                          "{\"name\": \"s\", \"pipeline\": \"base.json\",\n"
                          " \"seeds\": {\"from\": 5, \"count\": 3},\n"
                          " \"conditions\": [{\"name\": \"wide\", \"simulate\": {\"bias\": "
                          "\"S01:0.5,S04:0.3\", \"impact\": 0.5},\n"
                          "   \"stages\": {\"sft\": {\"steps\": 9}}}],\n"
                          " \"out\": \"o\"}\n");
    sj_error err;
    sj_error_clear(&err);
    sj_study_spec *s = sj_study_load(path, &err);
    assert_non_null(s);
    assert_int_equal(s->n_seeds, 3);
    assert_true(s->seeds[0] == 5 && s->seeds[2] == 7);
    assert_int_equal(s->conditions[0].n_biased, 2);
    assert_string_equal(s->conditions[0].biased[1], "S04");
    char *rep = sj_study_replication_dir(s, 0, 1);
    char *want = sj_asprintf("%s/o/wide/seed-6", dir);
    assert_string_equal(rep, want);
    cJSON *p = sj_study_replication_pipeline(s, 0, 1, rep);
    assert_int_equal((int)cJSON_GetObjectItem(p, "seed")->valuedouble, 6);
    const cJSON *stages = cJSON_GetObjectItem(p, "stages");
    const cJSON *sim = cJSON_GetObjectItem(stages, "simulate");
    assert_string_equal(cJSON_GetObjectItem(sim, "bias")->valuestring, "S01:0.5,S04:0.3");
    assert_int_equal((int)cJSON_GetObjectItem(sim, "persons")->valuedouble, 100);
    assert_int_equal(
        (int)cJSON_GetObjectItem(cJSON_GetObjectItem(stages, "sft"), "steps")->valuedouble, 9);
    char *data = sj_asprintf("%s/data/responses.csv", rep);
    assert_string_equal(cJSON_GetObjectItem(p, "data")->valuestring, data);
    assert_string_equal(cJSON_GetObjectItem(p, "base")->valuestring, dir);
    cJSON_Delete(p);
    free(data);
    free(want);
    free(rep);
    sj_study_free(s);
    free(path);
    test_rmdir(dir);
}

/* Each bad file and the place and words of its message. */
static void test_study_file_errors(void **state)
{
    (void)state;
    char *dir = test_mkdtemp();
    free(write_in(dir, "base.json", BASE));
    free(write_in(dir, "nosim.json", "{\"stages\": {\"score\": {}}}"));
    static const char *const cases[][2] = {
        {"{\n  \"name\": \"x\",\n  \"bogus\": 1\n}\n", ":3:3: unknown key 'bogus'"},
        {"{\"pipeline\": \"base.json\", \"seeds\": [1, 1], \"conditions\": [{\"name\": \"a\"}], "
         "\"out\": \"o\"}",
         "seeds[1]: seed 1 is listed twice"},
        {"{\"pipeline\": \"base.json\", \"seeds\": [1],\n \"conditions\": [{\"name\": \"a\"}, "
         "{\"name\": \"a\"}], \"out\": \"o\"}",
         ":2:33: conditions[1].name: \"a\" is also conditions[0]"},
        {"{\"pipeline\": \"base.json\", \"seeds\": [1], \"conditions\": [{\"name\": \"../a\"}], "
         "\"out\": \"o\"}",
         "conditions[0].name: expected a folder name"},
        {"{\"pipeline\": \"base.json\", \"seeds\": [1], \"conditions\": [{\"name\": \"a\", "
         "\"simulate\": {\"seed\": 3}}], \"out\": \"o\"}",
         "unknown key 'seed' in a condition's simulate settings"},
        {"{\"pipeline\": \"base.json\", \"seeds\": [1], \"conditions\": [{\"name\": \"a\", "
         "\"simulate\": {\"bias\": \"S01\"}}], \"out\": \"o\"}",
         "simulate.bias: expected ITEM:SIZE"},
        {"{\"pipeline\": \"nosim.json\", \"seeds\": [1], \"conditions\": [{\"name\": \"a\"}], "
         "\"out\": \"o\"}",
         "has no simulate stage"},
        {"{\"pipeline\": \"base.json\", \"seeds\": [1], \"conditions\": [{\"name\": \"a\"}], "
         "\"out\": \"o\", \"jobs\": 0}",
         "jobs: expected the number of replications run at once"},
        {"{\"pipeline\": \"base.json\", \"seeds\": [1], \"conditions\": [], \"out\": \"o\"}",
         "conditions: expected a list of 1 to"},
        {"{\"pipeline\": \"base.json\",", "study.json:1:"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char *path = write_in(dir, "study.json", cases[i][0]);
        sj_error err;
        sj_error_clear(&err);
        assert_null(sj_study_load(path, &err));
        assert_int_equal(err.status, SJ_ERR_INPUT);
        if (!strstr(err.msg, cases[i][1]))
            fail_msg("case %zu: '%s' lacks '%s'", i, err.msg, cases[i][1]);
        free(path);
    }
    test_rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_t_interval_ten),
        cmocka_unit_test(test_t_interval_small),
        cmocka_unit_test(test_summary_and_targets),
        cmocka_unit_test(test_not_inherited_left_out),
        cmocka_unit_test(test_truth_below_misses),
        cmocka_unit_test(test_bias_strings),
        cmocka_unit_test(test_study_file_and_pipeline),
        cmocka_unit_test(test_study_file_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
