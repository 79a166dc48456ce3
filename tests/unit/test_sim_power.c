/* The simulator's truth holds where a psychometrician would look: DIF
 * (Mantel chi-square on the item score, matching on the total, alpha .05,
 * computed by the stats module's sj_mantel_compute) is found on the items where rater bias was
 * injected and not elsewhere, at the nominal rate when there is none, and
 * never on the true scores, even when the groups differ in ability.
 *
 * Replications use the fast path (no texts). The observed rates are
 * printed as a small power table. */
#include "test_helpers.h"

#include <math.h>

#include "sjtalign/sim.h"
#include "sjtalign/stats.h"

#define REPS 100
#define ALPHA 0.05

typedef struct {
    double flag_rate[64]; /* per item: share of replications flagged */
    double overall;       /* share of all item tests flagged */
} rates;

/* The counts the stats module's Mantel test takes: persons per (matching
 * total, group, item score). The matching total sums the items in `match`
 * plus the studied item (README conventions: studied item included). */
static void mantel_item(const sj_sim_data *d, const int *scores, const unsigned char *match,
                        size_t item, sj_mantel *out)
{
    size_t max_total = d->n_items * SJ_SIM_SCORE_MAX;
    double cat_value[SJ_SIM_LEVELS];
    for (int c = 0; c < SJ_SIM_LEVELS; c++)
        cat_value[c] = c;
    sj_dif_counts counts = {
        .n_strata = max_total + 1, .n_cats = SJ_SIM_LEVELS, .cat_value = cat_value};
    counts.count = calloc((max_total + 1) * 2 * SJ_SIM_LEVELS, sizeof *counts.count);
    counts.stratum_score = calloc(max_total + 1, sizeof *counts.stratum_score);
    assert_non_null(counts.count);
    assert_non_null(counts.stratum_score);
    for (size_t t = 0; t <= max_total; t++)
        counts.stratum_score[t] = (double)t;
    for (size_t i = 0; i < d->n_persons; i++) {
        const int *row = scores + i * d->n_items;
        size_t total = 0;
        for (size_t k = 0; k < d->n_items; k++)
            total += (match[k] || k == item) ? (size_t)row[k] : 0;
        counts.count[(total * 2 + d->focal[i]) * SJ_SIM_LEVELS + (size_t)row[item]] += 1;
    }
    sj_mantel_compute(&counts, out);
    free(counts.count);
    free(counts.stratum_score);
}

/* Mantel p per item. With `purify` (as the stats module's --purify does),
 * items in ETS class BB or CC leave the matching total of the others,
 * round after round, until that set repeats (at most 10 rounds). */
static void mantel_p(const sj_sim_data *d, int use_true, int purify, double *p)
{
    const int *scores = use_true ? d->true_score : d->human_score;
    unsigned char match[64], removed[64] = {0};
    assert_true(d->n_items <= 64);
    memset(match, 1, sizeof match);
    for (int round = 0; round < 10; round++) {
        int changed = 0;
        for (size_t k = 0; k < d->n_items; k++) {
            sj_mantel m;
            mantel_item(d, scores, match, k, &m);
            assert_false(isnan(m.p));
            p[k] = m.p;
            const char *cls = sj_ets_poly_class(m.smd_over_sd, m.p);
            assert_non_null(cls);
            unsigned char out = strcmp(cls, "AA") != 0;
            changed |= out != removed[k];
            removed[k] = out;
        }
        for (size_t k = 0; k < d->n_items; k++)
            match[k] = !removed[k];
        if (!purify || !changed)
            break;
    }
}

/* The counts above give the same Mantel statistic as the stats module's
 * full `dif` run over a long-format table, so the fast replications below
 * test what users run. */
static void fast_mantel_matches_dif_run(void **state)
{
    (void)state;
    sj_sim_config cfg;
    sj_sim_config_defaults(&cfg);
    cfg.n_persons = 500;
    cfg.seed = 77;
    sj_error err;
    sj_error_clear(&err);
    assert_int_equal(sj_sim_parse_bias("S02:0.5", &cfg, &err), SJ_OK);
    sj_sim_data *d = sj_sim_scores(&cfg, &err);
    assert_non_null(d);
    double p[8];
    mantel_p(d, 0, 0, p);

    sj_score_data *s = sj_score_data_new(d->n_persons, d->n_items, 2);
    assert_non_null(s);
    s->group_names[0] = strdup(SJ_SIM_REFERENCE);
    s->group_names[1] = strdup(SJ_SIM_FOCAL);
    for (size_t k = 0; k < d->n_items; k++) {
        char id[32];
        sj_sim_item_id(k, id, sizeof id);
        s->item_ids[k] = strdup(id);
    }
    for (size_t i = 0; i < d->n_persons; i++) {
        char id[32];
        snprintf(id, sizeof id, "P%zu", i);
        s->person_ids[i] = strdup(id);
        s->group[i] = d->focal[i];
    }
    for (size_t c = 0; c < d->n_persons * d->n_items; c++)
        s->scores[c] = d->human_score[c];
    sj_dif_options opt;
    sj_dif_options_defaults(&opt);
    const char *focal[] = {SJ_SIM_FOCAL};
    opt.reference = SJ_SIM_REFERENCE;
    opt.focal = focal;
    opt.n_focal = 1;
    sj_dif_result *r = sj_dif_run(s, &opt, &err);
    if (!r)
        fail_msg("dif: %s", err.msg);
    assert_int_equal(r->n_rows, 8);
    for (size_t k = 0; k < 8; k++)
        assert_true(fabs(r->rows[k].mantel_p - p[k]) <= 1e-12 * (1 + p[k]));
    sj_dif_result_free(r);
    sj_score_data_free(s);
    sj_sim_data_free(d);
    sj_sim_config_free(&cfg);
}

static rates replicate(size_t persons, double impact, const char *bias, int use_true, int purify,
                       uint64_t first_seed)
{
    rates out = {0};
    size_t flagged = 0, tests = 0;
    for (int rep = 0; rep < REPS; rep++) {
        sj_sim_config cfg;
        sj_sim_config_defaults(&cfg);
        cfg.n_persons = persons;
        cfg.n_items = 8;
        cfg.impact = impact;
        cfg.seed = first_seed + (uint64_t)rep;
        sj_error err;
        sj_error_clear(&err);
        if (bias)
            assert_int_equal(sj_sim_parse_bias(bias, &cfg, &err), SJ_OK);
        sj_sim_data *d = sj_sim_scores(&cfg, &err);
        assert_non_null(d);
        double p[8];
        mantel_p(d, use_true, purify, p);
        for (size_t k = 0; k < 8; k++) {
            out.flag_rate[k] += (p[k] < ALPHA) / (double)REPS;
            flagged += p[k] < ALPHA;
            tests++;
        }
        sj_sim_data_free(d);
        sj_sim_config_free(&cfg);
    }
    out.overall = (double)flagged / (double)tests;
    return out;
}

static double mean_rate(const rates *r, const int *items, size_t n)
{
    double s = 0;
    for (size_t i = 0; i < n; i++)
        s += r->flag_rate[items[i]];
    return s / (double)n;
}

static void print_row(const char *label, const rates *r)
{
    print_message("power  %-44s", label);
    for (int k = 0; k < 8; k++)
        print_message(" %4.2f", r->flag_rate[k]);
    print_message("  all %.3f\n", r->overall);
}

/* 100 replications x 8 items = 800 tests: at a true rate of .05 the
 * observed rate lies in [.027, .073] with probability > .997. */
static void no_bias_flags_at_nominal_rate(void **state)
{
    (void)state;
    rates r = replicate(3000, 0.0, NULL, 0, 0, 1000);
    print_row("human, no bias, D=0, N=3000", &r);
    assert_true(r.overall >= 0.027 && r.overall <= 0.073);
}

/* With impact, the total score is not a sufficient statistic for θ under
 * the graded response model (unequal discriminations), so the rate may sit
 * a little above .05; it must stay near it. */
static void impact_alone_is_not_dif(void **state)
{
    (void)state;
    rates t = replicate(3000, 0.5, NULL, 1, 0, 2000);
    print_row("true scores, no bias, D=0.5, N=3000", &t);
    assert_true(t.overall >= 0.027 && t.overall <= 0.08);
    rates h = replicate(3000, 0.5, NULL, 0, 0, 3000);
    print_row("human, no bias, D=0.5, N=3000", &h);
    assert_true(h.overall >= 0.027 && h.overall <= 0.08);
}

static void injected_bias_is_found_where_injected(void **state)
{
    (void)state;
    static const int biased[] = {2, 5}, others[] = {0, 1, 3, 4, 6, 7};
    rates r = replicate(3000, 0.0, "S03:0.6,S06:0.6", 0, 0, 4000);
    print_row("human, bias .6 on S03,S06, D=0", &r);
    assert_true(r.flag_rate[2] >= 0.90);
    assert_true(r.flag_rate[5] >= 0.90);
    rates rp = replicate(3000, 0.0, "S03:0.6,S06:0.6", 0, 1, 4000);
    print_row("human, bias .6 on S03,S06, D=0, purified", &rp);
    assert_true(rp.flag_rate[2] >= 0.90 && rp.flag_rate[5] >= 0.90);
    assert_true(mean_rate(&rp, others, 6) <= 0.10);
    for (int i = 0; i < 6; i++)
        assert_true(rp.flag_rate[others[i]] <= 0.20);
    print_message("power  (unpurified: others flagged at %.3f, biased at %.3f)\n",
                  mean_rate(&r, others, 6), mean_rate(&r, biased, 2));
    /* The true scores of the same data sets carry no DIF. */
    rates t = replicate(3000, 0.5, "S03:0.6,S06:0.6", 1, 0, 5000);
    print_row("true scores, bias .6 on S03,S06, D=0.5", &t);
    assert_true(t.overall >= 0.027 && t.overall <= 0.08);
    /* Smaller samples and a milder bias: less power, still aimed right. */
    rates small = replicate(1000, 0.0, "S03:0.3,S06:0.3", 0, 1, 6000);
    print_row("human, bias .3 on S03,S06, N=1000, purified", &small);
    assert_true(mean_rate(&small, biased, 2) > 2 * mean_rate(&small, others, 6));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(fast_mantel_matches_dif_run),
        cmocka_unit_test(no_bias_flags_at_nominal_rate),
        cmocka_unit_test(impact_alone_is_not_dif),
        cmocka_unit_test(injected_bias_is_found_where_injected),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
