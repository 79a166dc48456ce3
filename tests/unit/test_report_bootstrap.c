/* The person bootstrap of an audit: replicates recomputed independently
 * from the persons each replicate draws, intervals as R's type-7
 * percentiles of the replicates, the replicates of one copy of everyone
 * equal to the point estimates, the same seed giving the same replicates,
 * no bootstrap giving no intervals, and the machine-versus-human verdicts
 * on crafted items. */
#include "test_helpers.h"

#include <math.h>

#include "../../src/report/report_internal.h"
#include "sjtalign/report.h"

#define TRUTH "tests/fixtures/truth/"
#define REPORT "tests/fixtures/report/"

static cJSON *audit(const char *data, const char *instrument, const char *truth, int purify,
                    size_t B, uint64_t seed, const char *ref, const char *focal)
{
    sj_audit_options o;
    sj_audit_options_init(&o);
    o.data_path = data;
    o.instrument_path = instrument;
    o.truth_path = truth;
    o.cols.group = "group";
    o.reference = ref;
    o.focal = focal;
    o.human_col = "human_score";
    o.purify = purify;
    o.min_cell = 1;
    o.n_bootstrap = B;
    o.seed = seed;
    sj_error err;
    sj_error_clear(&err);
    cJSON *doc = sj_audit_compute(&o, &err);
    if (!doc)
        fail_msg("audit: %s", err.msg);
    return doc;
}

static double replicate(const cJSON *doc, const char *stat, const char *scope, size_t r)
{
    const cJSON *arr = rj_get(rj_get(rj_path(doc, "bootstrap", "replicates"), stat), scope);
    assert_true(cJSON_IsArray(arr));
    const cJSON *v = cJSON_GetArrayItem(arr, (int)r);
    assert_non_null(v);
    return cJSON_IsNumber(v) ? v->valuedouble : NAN;
}

/* QWK in its moment form with population moments. */
static double qwk_of(const double *x, const double *y, size_t n)
{
    double mx = 0, my = 0, vx = 0, vy = 0, c = 0;
    for (size_t i = 0; i < n; i++) {
        mx += x[i] / (double)n;
        my += y[i] / (double)n;
    }
    for (size_t i = 0; i < n; i++) {
        vx += (x[i] - mx) * (x[i] - mx) / (double)n;
        vy += (y[i] - my) * (y[i] - my) / (double)n;
        c += (x[i] - mx) * (y[i] - my) / (double)n;
    }
    double den = vx + vy + (mx - my) * (mx - my);
    return n >= 2 && den > 0 ? 2 * c / den : NAN;
}

/* The truth fixture (test_report_truth.c): persons P1-P3 ref, P4-P5 foc,
 * two items; per person (item t1, item t2): machine m, human h, true t. */
static const double M[5][2] = {{2, 1}, {3, 3}, {1, 1}, {2, 1}, {3, 2}};
static const double H[5][2] = {{2, 1}, {3, 2}, {0, 1}, {1, 0}, {2, 1}};
static const double T[5][2] = {{2, 2}, {3, 2}, {0, 1}, {2, 1}, {3, 2}};

/* Every replicate of the audit, recomputed here from the persons it draws:
 * the mean difference of person totals (focal minus reference; undefined
 * with fewer than two of a group), machine-human and machine-true QWK over
 * the resampled responses, and the overall score difference (focal mean
 * error minus reference mean error). */
static void test_replicates_recomputed_from_draws(void **state)
{
    (void)state;
    const size_t B = 40;
    cJSON *doc = audit(TRUTH "scores.csv", TRUTH "instrument.json", TRUTH "truth.csv", 0, B, 3,
                       "ref", "foc");
    static const char *const ids[] = {"P5", "P1", "P4", "P2", "P3"}; /* any order */
    static const int row_of[] = {4, 0, 3, 1, 2};
    sj_error err;
    sj_error_clear(&err);
    sj_bootstrap *b = sj_bootstrap_new(ids, 5, B, 3, &err);
    assert_non_null(b);
    assert_string_equal(rj_str(rj_get(doc, "bootstrap"), "persons_sha256"),
                        sj_bootstrap_persons_sha256(b));
    for (size_t r = 0; r < B; r++) {
        size_t draw[5];
        assert_int_equal(sj_bootstrap_draw(b, r, draw, &err), SJ_OK);
        double tot[2] = {0, 0}, n[2] = {0, 0}, e[2] = {0, 0}, ne[2] = {0, 0};
        double m[10], h[10], t[10];
        size_t k = 0;
        for (int i = 0; i < 5; i++) {
            int p = row_of[draw[i]], g = p >= 3;
            tot[g] += M[p][0] + M[p][1];
            n[g] += 1;
            for (int j = 0; j < 2; j++, k++) {
                m[k] = M[p][j];
                h[k] = H[p][j];
                t[k] = T[p][j];
                e[g] += M[p][j] - H[p][j];
                ne[g] += 1;
            }
        }
        double diff = n[0] >= 2 && n[1] >= 2 ? tot[1] / n[1] - tot[0] / n[0] : NAN;
        double got = replicate(doc, "parity.mean_diff", "all", r);
        if (isnan(diff))
            assert_true(isnan(got));
        else
            assert_near(got, diff, 1e-12);
        assert_near(replicate(doc, "agreement.qwk", "all", r), qwk_of(m, h, 10), 1e-12);
        assert_near(replicate(doc, "truth.qwk", "all", r), qwk_of(m, t, 10), 1e-12);
        double osd = n[0] > 0 && n[1] > 0 ? e[1] / ne[1] - e[0] / ne[0] : NAN;
        got = replicate(doc, "fairness.osd", "all", r);
        if (isnan(osd))
            assert_true(isnan(got));
        else
            assert_near(got, osd, 1e-12);
    }
    sj_bootstrap_free(b);
    cJSON_Delete(doc);
}

static int compare_doubles(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* R's quantile(type = 7): sorted finite values, position (m - 1) p. */
static double type7(const double *v, size_t n, double p)
{
    double *s = malloc(n * sizeof *s);
    size_t m = 0;
    for (size_t i = 0; i < n; i++)
        if (isfinite(v[i]))
            s[m++] = v[i];
    qsort(s, m, sizeof *s, compare_doubles);
    double h = (double)(m - 1) * p;
    size_t f = (size_t)floor(h);
    double q = f + 1 < m ? s[f] + (h - (double)f) * (s[f + 1] - s[f]) : s[f];
    free(s);
    return q;
}

static void check_interval(const cJSON *doc, const cJSON *home, const char *key, const char *stat,
                           const char *scope)
{
    const cJSON *arr = rj_get(rj_get(rj_path(doc, "bootstrap", "replicates"), stat), scope);
    int n = cJSON_GetArraySize(arr);
    assert_true(n > 0);
    double *v = malloc((size_t)n * sizeof *v);
    for (int i = 0; i < n; i++) {
        const cJSON *x = cJSON_GetArrayItem(arr, i);
        v[i] = cJSON_IsNumber(x) ? x->valuedouble : NAN;
    }
    char name[64];
    snprintf(name, sizeof name, "%s_ci", key);
    const cJSON *ci = rj_get(home, name);
    assert_true(cJSON_IsArray(ci));
    assert_near(cJSON_GetArrayItem(ci, 0)->valuedouble, type7(v, (size_t)n, 0.025), 1e-12);
    assert_near(cJSON_GetArrayItem(ci, 1)->valuedouble, type7(v, (size_t)n, 0.975), 1e-12);
    free(v);
}

/* The intervals beside the values are the type-7 percentiles of their
 * replicates; the summary names B, the seed and the persons. */
static void test_intervals_are_percentiles(void **state)
{
    (void)state;
    cJSON *doc =
        audit(REPORT "before.csv", REPORT "instrument.json", NULL, 1, 300, 9, "ref", "foc");
    const cJSON *items = rj_path(doc, "dif", "items");
    const cJSON *it3 = cJSON_GetArrayItem(items, 2);
    check_interval(doc, it3, "smd_over_sd", "dif.smd_over_sd", "sjt3");
    check_interval(doc, it3, "smd", "dif.smd", "sjt3");
    const cJSON *agr = rj_get(doc, "agreement");
    check_interval(doc, agr, "qwk", "agreement.qwk", "all");
    check_interval(doc, rj_path(agr, "by_group", "foc"), "smd", "agreement.smd", "foc");
    check_interval(doc, rj_path(agr, "fairness", "csd"), "coef_focal", "fairness.csd", "all");
    check_interval(doc, rj_get(doc, "parity"), "cohens_d", "parity.cohens_d", "all");
    check_interval(doc, cJSON_GetArrayItem(rj_get(doc, "dif_vs_human"), 2), "abs_change",
                   "dif_vs_human.abs_change", "sjt3");
    const cJSON *boot = rj_get(doc, "bootstrap");
    assert_int_equal(rj_boot_count(boot), 300);
    assert_near(rj_num(boot, "seed"), 9, 0);
    assert_near(rj_num(boot, "persons"), 240, 0);
    assert_near(rj_num(boot, "level"), 0.95, 0);
    assert_string_equal(rj_str(boot, "method"), "percentile");
    assert_string_equal(rj_str(boot, "file"), "bootstrap.csv");
    const cJSON *line;
    int named = 0;
    cJSON_ArrayForEach(line, rj_get(doc, "summary"))
    {
        named |=
            strstr(line->valuestring, "B = 300 replicates, seed 9, 240 persons resampled") != NULL;
    }
    assert_true(named);
    cJSON_Delete(doc);
}

/* With one copy of every person the replicate is the audit itself: every
 * statistic equals its point estimate (the purified anchor set of the
 * estimate, the fairness coefficients in closed form against the OLS
 * fits). */
static const cJSON *point_home(const cJSON *doc, const char *stat, const char *scope,
                               const char **key)
{
    const char *dot = strchr(stat, '.');
    *key = dot + 1;
    const cJSON *list = NULL;
    if (strncmp(stat, "dif.", 4) == 0)
        list = rj_path(doc, "dif", "items");
    else if (strncmp(stat, "human_dif.", 10) == 0)
        list = rj_path(doc, "human_dif", "items");
    else if (strncmp(stat, "dif_vs_human.", 13) == 0)
        list = rj_get(doc, "dif_vs_human");
    const cJSON *it;
    cJSON_ArrayForEach(it, list)
    {
        if (strcmp(rj_str(it, "item"), scope) == 0)
            return it;
    }
    const cJSON *agr = rj_get(doc, "agreement");
    if (strncmp(stat, "agreement.", 10) == 0)
        return strcmp(scope, "all") == 0 ? agr : rj_path(agr, "by_group", scope);
    if (strncmp(stat, "fairness.", 9) == 0) {
        *key = "coef_focal";
        return rj_path(agr, "fairness", dot + 1);
    }
    if (strncmp(stat, "parity.", 7) == 0)
        return rj_get(doc, "parity");
    return rj_get(doc, "truth_agreement");
}

static void test_one_copy_each_gives_the_estimates(void **state)
{
    (void)state;
    cJSON *doc = audit(REPORT "before.csv", REPORT "instrument.json", NULL, 1, 0, 1, "ref", "foc");
    sj_error err;
    sj_error_clear(&err);
    sj_instrument *ins = sj_instrument_load(REPORT "instrument.json", &err);
    sj_columns cols = {0};
    cols.group = "group";
    sj_columns_defaults(&cols);
    cols.score = "score_mode";
    sj_responses *resp =
        sj_responses_load(REPORT "before.csv", &cols, ins, SJ_NEED_GROUP | SJ_NEED_SCORE, &err);
    assert_non_null(resp);
    sj_score_data *scores = sj_score_data_from_table(resp->table, cols.person, cols.item,
                                                     "score_mode", cols.group, &err);
    sj_dif_options o;
    sj_dif_options_defaults(&o);
    static const char *const focal[] = {"foc"};
    o.reference = "ref";
    o.focal = focal;
    o.n_focal = 1;
    o.purify = 1;
    o.min_cell = 1;
    sj_dif_result *dif = sj_dif_run(scores, &o, &err);
    long col_human = sj_table_column(resp->table, "human_score", &err);
    rj_human_dif human;
    assert_int_equal(rj_human_dif_run(resp, &cols, col_human, &o, &human, &err), SJ_OK);
    rj_boot_request q = {resp,  scores, dif, human.scores, human.dif, col_human, NULL, "ref",
                         "foc", 1,      1};
    rj_boot_plan *plan = rj_boot_plan_new(&q, &err);
    assert_non_null(plan);
    size_t n = rj_boot_plan_slots(plan);
    assert_true(n > 20);
    unsigned *ones = malloc(scores->n_persons * sizeof *ones);
    double *v = malloc(n * sizeof *v);
    for (size_t i = 0; i < scores->n_persons; i++)
        ones[i] = 1;
    assert_int_equal(rj_boot_plan_values(plan, ones, v, &err), SJ_OK);
    for (size_t i = 0; i < n; i++) {
        const char *key;
        const char *stat = rj_boot_plan_statistic(plan, i);
        const cJSON *home = point_home(doc, stat, rj_boot_plan_scope(plan, i), &key);
        double expected = rj_num(home, key);
        if (!isfinite(expected))
            fail_msg("%s %s has no estimate", stat, rj_boot_plan_scope(plan, i));
        assert_near(v[i], expected, 1e-10 * (1 + fabs(expected)));
    }
    free(ones);
    free(v);
    rj_boot_plan_free(plan);
    rj_human_dif_free(&human);
    sj_dif_result_free(dif);
    sj_score_data_free(scores);
    sj_responses_free(resp);
    sj_instrument_free(ins);
    cJSON_Delete(doc);
}

/* A bootstrap interval anywhere in the document: a "<key>_ci" other than
 * the analytic intervals every audit has (the DIF effect's "ets_effect_ci"
 * and the group means' "mean_t_ci"). */
static int has_ci_key(const cJSON *node)
{
    for (const cJSON *c = node ? node->child : NULL; c; c = c->next) {
        size_t len = c->string ? strlen(c->string) : 0;
        if (len > 3 && strcmp(c->string + len - 3, "_ci") == 0 &&
            strcmp(c->string, "ets_effect_ci") != 0 && strcmp(c->string, "mean_t_ci") != 0)
            return 1;
        if (has_ci_key(c))
            return 1;
    }
    return 0;
}

/* Same seed, same replicates; another seed, other ones; no bootstrap, no
 * intervals and no verdicts. */
static void test_seed_and_no_bootstrap(void **state)
{
    (void)state;
    cJSON *a = audit(REPORT "before.csv", REPORT "instrument.json", NULL, 0, 50, 4, "ref", "foc");
    cJSON *b = audit(REPORT "before.csv", REPORT "instrument.json", NULL, 0, 50, 4, "ref", "foc");
    cJSON *c = audit(REPORT "before.csv", REPORT "instrument.json", NULL, 0, 50, 5, "ref", "foc");
    assert_true(cJSON_Compare(rj_path(a, "bootstrap", "replicates"),
                              rj_path(b, "bootstrap", "replicates"), 1));
    assert_false(cJSON_Compare(rj_path(a, "bootstrap", "replicates"),
                               rj_path(c, "bootstrap", "replicates"), 1));
    cJSON *none = audit(REPORT "before.csv", REPORT "instrument.json", NULL, 0, 0, 4, "ref", "foc");
    assert_null(rj_get(none, "bootstrap"));
    assert_false(has_ci_key(none));
    assert_true(has_ci_key(a));
    const cJSON *cmp;
    cJSON_ArrayForEach(cmp, rj_get(none, "dif_vs_human"))
    {
        assert_true(cJSON_IsNull(rj_get(cmp, "verdict")));
    }
    /* Without the bootstrap the page falls back to the delta-method SE. */
    const cJSON *it3 = cJSON_GetArrayItem(rj_path(none, "dif", "items"), 2);
    rj_effect e;
    rj_dif_effect(it3, &e);
    assert_int_equal(e.interval, RJ_INTERVAL_DELTA);
    assert_near(e.hi - e.value, 1.959963984540054 * rj_num(it3, "se_smd_over_sd"), 1e-12);
    cJSON_Delete(a);
    cJSON_Delete(b);
    cJSON_Delete(c);
    cJSON_Delete(none);
}

/* The verdict rule, case by case. */
static void test_verdict_rule(void **state)
{
    (void)state;
    assert_string_equal(rj_dif_verdict("A", "B", 0.01, 0.2), "introduced");
    assert_string_equal(rj_dif_verdict("AA", "CC", 0.1, 0.3), "introduced");
    assert_string_equal(rj_dif_verdict("A", "A", 0.01, 0.2), "none");
    assert_string_equal(rj_dif_verdict("A", "B", -0.1, 0.2), "within noise");
    /* Flagged in the human scores only, the change covering 0 (the demo's
     * S03 after DPO: human CC -0.259, machine AA +0.081, [-0.350, 0.042]). */
    assert_string_equal(rj_dif_verdict("CC", "AA", -0.350, 0.042), "within noise");
    assert_string_equal(rj_dif_verdict("A", "A", -0.1, 0.2), "none");
    assert_string_equal(rj_dif_verdict("B", "C", 0.05, 0.5), "amplified");
    assert_string_equal(rj_dif_verdict("BB", "BB", 0.02, 0.1), "amplified");
    assert_string_equal(rj_dif_verdict("C", "A", -0.5, -0.1), "reduced");
    assert_string_equal(rj_dif_verdict("A", "A", -0.3, -0.01), "reduced");
    assert_string_equal(rj_dif_verdict("B", "B", -0.1, 0.1), "inherited");
    assert_string_equal(rj_dif_verdict("CC", "BB", -0.2, 0.0), "inherited");
    assert_string_equal(rj_dif_verdict("B", "B", 0.0, 0.2), "inherited");
    assert_null(rj_dif_verdict(NULL, "B", 0.1, 0.2));
    assert_null(rj_dif_verdict("B", "B", NAN, NAN));
}

/* Crafted items: machine and human DIF with replicates of the change. X:
 * human A (-0.05), machine BB (-0.22), change 0.17, replicates all within
 * [0.1, 0.2]: introduced. Y: human CC -0.30, machine CC -0.32, change
 * 0.02 with replicates from -0.05 to 0.09: inherited. Z: human BB -0.2,
 * machine AA -0.05, replicates -0.2 .. -0.1: reduced. */
static void test_verdicts_on_crafted_items(void **state)
{
    (void)state;
    cJSON *doc = cJSON_Parse(
        "{\"dif\":{\"items\":["
        "{\"item\":\"X\",\"type\":\"polytomous\",\"smd_over_sd\":-0.22,\"ets_poly_class\":\"BB\"},"
        "{\"item\":\"Y\",\"type\":\"polytomous\",\"smd_over_sd\":-0.32,\"ets_poly_class\":\"CC\"},"
        "{\"item\":\"Z\",\"type\":\"polytomous\",\"smd_over_sd\":-0.05,\"ets_poly_class\":\"AA\"}]}"
        ","
        "\"human_dif\":{\"items\":["
        "{\"item\":\"X\",\"type\":\"polytomous\",\"smd_over_sd\":-0.05,\"ets_poly_class\":\"AA\"},"
        "{\"item\":\"Y\",\"type\":\"polytomous\",\"smd_over_sd\":-0.30,\"ets_poly_class\":\"CC\"},"
        "{\"item\":\"Z\",\"type\":\"polytomous\",\"smd_over_sd\":-0.2,\"ets_poly_class\":\"BB\"}]},"
        "\"bootstrap\":{\"replicates\":{\"dif_vs_human.abs_change\":{"
        "\"X\":[0.1,0.15,0.2,0.12,null],\"Y\":[-0.05,0.01,0.09,0.02,0.03],"
        "\"Z\":[-0.2,-0.1,-0.15,-0.12,-0.18]}}}}");
    assert_non_null(doc);
    assert_int_equal(rj_dif_vs_human_add(doc), 0);
    static const char *const expected[] = {"introduced", "inherited", "reduced"};
    for (int i = 0; i < 3; i++) {
        const cJSON *c = cJSON_GetArrayItem(rj_get(doc, "dif_vs_human"), i);
        assert_string_equal(rj_str(c, "verdict"), expected[i]);
    }
    /* X: |-0.22| - |-0.05| = 0.17; its interval over the four finite
     * replicates 0.1, 0.12, 0.15, 0.2: type 7 at 3 * 0.025 = 0.075 and
     * 3 * 0.975 = 2.925: 0.1 + 0.075 * 0.02 and 0.15 + 0.925 * 0.05. */
    const cJSON *x = cJSON_GetArrayItem(rj_get(doc, "dif_vs_human"), 0);
    assert_near(rj_num(x, "abs_change"), 0.17, 1e-12);
    const cJSON *ci = rj_get(x, "abs_change_ci");
    assert_near(cJSON_GetArrayItem(ci, 0)->valuedouble, 0.1015, 1e-12);
    assert_near(cJSON_GetArrayItem(ci, 1)->valuedouble, 0.19625, 1e-12);
    assert_string_equal(rj_str(rj_get(x, "human"), "class"), "AA");
    assert_near(rj_num(rj_get(x, "machine"), "effect"), -0.22, 0);
    sj_buf words = {0};
    assert_int_equal(rj_dif_vs_human_summary(&words, doc, 0), 3);
    assert_non_null(strstr(words.data, "X: introduced by the machine"));
    assert_non_null(strstr(words.data, "Y: inherited from the human scores"));
    assert_non_null(strstr(words.data, "Z: reduced by the machine"));
    sj_buf_free(&words);
    cJSON_Delete(doc);
}

/* The page's table of machine beside human DIF, one table per item type.
 * D (dichotomous): machine delta -1.234 [-1.9, -0.6] class B, human -0.4
 * [-1.0, 0.2] class A; change 1.234 - 0.4 = 0.834, replicates 0.5 .. 1.3
 * in steps of 0.2: type 7 at 4 * 0.025 = 0.1 and 4 * 0.975 = 3.9 gives
 * [0.52, 1.28]; human A, machine B, interval above 0: introduced. P
 * (polytomous): machine 0.3 [0.21, 0.39] CC, human 0.25 [0.15, 0.35] CC;
 * change 0.05, replicates 0 .. 0.2 in steps of 0.05: [0.005, 0.195],
 * above 0 with human CC: amplified. W has no human DIF: dashes. */
static void test_human_dif_table(void **state)
{
    (void)state;
    cJSON *doc = cJSON_Parse(
        "{\"dif\":{\"items\":["
        "{\"item\":\"D\",\"type\":\"dichotomous\",\"delta_mh\":-1.234,"
        "\"delta_mh_ci\":[-1.9,-0.6],\"ets_class\":\"B\"},"
        "{\"item\":\"P\",\"type\":\"polytomous\",\"smd_over_sd\":0.3,"
        "\"smd_over_sd_ci\":[0.21,0.39],\"ets_poly_class\":\"CC\"},"
        "{\"item\":\"W\",\"type\":\"polytomous\",\"smd_over_sd\":0.1,\"ets_poly_class\":\"AA\"}]},"
        "\"human_dif\":{\"items\":["
        "{\"item\":\"D\",\"type\":\"dichotomous\",\"delta_mh\":-0.4,"
        "\"delta_mh_ci\":[-1.0,0.2],\"ets_class\":\"A\"},"
        "{\"item\":\"P\",\"type\":\"polytomous\",\"smd_over_sd\":0.25,"
        "\"smd_over_sd_ci\":[0.15,0.35],\"ets_poly_class\":\"CC\"}]},"
        "\"bootstrap\":{\"replicates\":{\"dif_vs_human.abs_change\":{"
        "\"D\":[0.9,0.5,1.3,0.7,1.1],\"P\":[0.1,0.0,0.2,0.05,0.15]}}}}");
    assert_non_null(doc);
    assert_int_equal(rj_dif_vs_human_add(doc), 0);
    sj_buf dich = {0}, poly = {0};
    rj_dif_vs_human_table(&dich, doc, 0, "95% CI");
    rj_dif_vs_human_table(&poly, doc, 1, "bootstrap 95% CI");
    assert_false(sj_buf_failed(&dich) || sj_buf_failed(&poly));
    assert_non_null(
        strstr(dich.data, "<caption>Machine DIF beside the human scores' DIF</caption>"));
    assert_non_null(strstr(dich.data, "<th>Machine \xce\x94<sub>MH</sub> [95% CI]</th>"));
    assert_non_null(strstr(dich.data, "<th>Human \xce\x94<sub>MH</sub> [95% CI]</th>"));
    assert_non_null(strstr(dich.data, "<th>|machine| \xe2\x88\x92 |human| [95% CI]</th>"));
    assert_non_null(strstr(dich.data,
                           "<tr><td class=\"id\">D</td>"
                           "<td>\xe2\x88\x92"
                           "1.23 [\xe2\x88\x92"
                           "1.90, \xe2\x88\x92"
                           "0.60]</td>"
                           "<td class=\"l\"><span class=\"cls cls-B\">B</span></td>"
                           "<td>\xe2\x88\x92"
                           "0.40 [\xe2\x88\x92"
                           "1.00, 0.20]</td>"
                           "<td class=\"l\"><span class=\"cls cls-A\">A</span></td>"
                           "<td>0.83 [0.52, 1.28]</td><td class=\"l warn\">introduced</td></tr>"));
    assert_null(strstr(dich.data, ">P<"));
    assert_null(strstr(dich.data, ">W<"));
    assert_non_null(strstr(poly.data, "<th>Machine SMD/SD [bootstrap 95% CI]</th>"));
    assert_non_null(strstr(poly.data, "<tr><td class=\"id\">P</td><td>0.300 [0.210, 0.390]</td>"
                                      "<td class=\"l\"><span class=\"cls cls-CC\">CC</span></td>"
                                      "<td>0.250 [0.150, 0.350]</td>"
                                      "<td class=\"l\"><span class=\"cls cls-CC\">CC</span></td>"
                                      "<td>0.050 [0.005, 0.195]</td>"
                                      "<td class=\"l warn\">amplified</td></tr>"));
    assert_non_null(strstr(poly.data,
                           "<tr><td class=\"id\">W</td><td>0.100</td>"
                           "<td class=\"l\"><span class=\"cls cls-AA\">AA</span></td>"
                           "<td>\xe2\x80\x94</td><td class=\"l\"><span "
                           "class=\"muted\">\xe2\x80\x94</span></td>"
                           "<td>\xe2\x80\x94</td><td class=\"l\">\xe2\x80\x94</td></tr>"));
    assert_null(strstr(poly.data, ">D<"));
    sj_buf_free(&dich);
    sj_buf_free(&poly);
    cJSON_Delete(doc);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_replicates_recomputed_from_draws),
        cmocka_unit_test(test_intervals_are_percentiles),
        cmocka_unit_test(test_one_copy_each_gives_the_estimates),
        cmocka_unit_test(test_seed_and_no_bootstrap),
        cmocka_unit_test(test_verdict_rule),
        cmocka_unit_test(test_verdicts_on_crafted_items),
        cmocka_unit_test(test_human_dif_table),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
