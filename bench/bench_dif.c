/* DIF speed: every method of `sjtalign dif` on 20 items x 100,000 persons.
 * Writes the dichotomous data set as a wide CSV for the R baseline
 * (bench/bench_dif_glm.R, run by bench/bench_dif.sh) and prints one JSON
 * line with the seconds taken.
 *
 *   bench_dif OUT.csv [persons] */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_randist.h>

#include "sjtalign/stats.h"

#define N_ITEMS 20

/* 2PL (or graded response when polytomous) answers of a reference group R
 * (70%) and a focal group F; items 4 and 12 carry uniform DIF. */
static sj_score_data *simulate(size_t n, int polytomous_half, gsl_rng *rng)
{
    sj_score_data *d = sj_score_data_new(n, N_ITEMS, 2);
    if (!d)
        return NULL;
    d->group_names[0] = strdup("R");
    d->group_names[1] = strdup("F");
    for (size_t j = 0; j < N_ITEMS; j++) {
        char id[32];
        snprintf(id, sizeof id, "i%zu", j + 1);
        d->item_ids[j] = strdup(id);
    }
    for (size_t p = 0; p < n; p++) {
        char id[32];
        snprintf(id, sizeof id, "p%zu", p + 1);
        d->person_ids[p] = strdup(id);
        int focal = gsl_rng_uniform(rng) < 0.3;
        d->group[p] = focal;
        double theta = gsl_ran_gaussian(rng, 1) - 0.2 * focal;
        for (size_t j = 0; j < N_ITEMS; j++) {
            double a = 0.8 + 0.05 * (double)j, b = -1.5 + 0.15 * (double)j;
            if (focal && (j == 3 || j == 11))
                b += 0.5;
            int y = 0;
            if (polytomous_half && j >= N_ITEMS / 2) {
                for (int k = 0; k < 3; k++)
                    y += gsl_rng_uniform(rng) < 1 / (1 + exp(-a * (theta - b - (k - 1))));
            } else {
                y = gsl_rng_uniform(rng) < 1 / (1 + exp(-a * (theta - b)));
            }
            d->scores[p * N_ITEMS + j] = y;
        }
    }
    return d;
}

static int write_wide(const sj_score_data *d, const char *path)
{
    FILE *f = fopen(path, "w");
    if (!f)
        return -1;
    fprintf(f, "group");
    for (size_t j = 0; j < d->n_items; j++)
        fprintf(f, ",%s", d->item_ids[j]);
    fputc('\n', f);
    for (size_t p = 0; p < d->n_persons; p++) {
        fputs(d->group_names[d->group[p]], f);
        for (size_t j = 0; j < d->n_items; j++)
            fprintf(f, ",%d", d->scores[p * d->n_items + j]);
        fputc('\n', f);
    }
    return fclose(f);
}

/* Best of three runs of every DIF method on every item. */
static double time_dif(const sj_score_data *d, size_t *flagged)
{
    const char *focal[] = {"F"};
    sj_dif_options o;
    sj_dif_options_defaults(&o);
    o.reference = "R";
    o.focal = focal;
    o.n_focal = 1;
    double best = INFINITY;
    for (int rep = 0; rep < 3; rep++) {
        sj_error err;
        sj_error_clear(&err);
        double t0 = sj_now();
        sj_dif_result *r = sj_dif_run(d, &o, &err);
        double t = sj_now() - t0;
        if (!r) {
            fprintf(stderr, "bench_dif: %s\n", err.msg);
            exit(1);
        }
        *flagged = 0;
        for (size_t i = 0; i < r->n_rows; i++)
            *flagged += r->rows[i].flagged;
        sj_dif_result_free(r);
        best = fmin(best, t);
    }
    return best;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: bench_dif OUT.csv [persons]\n");
        return 2;
    }
    size_t n = argc > 2 ? (size_t)atol(argv[2]) : 100000;
    gsl_rng *rng = sj_rng_new(sj_seed_derive(42, "bench_dif"));
    sj_score_data *dich = simulate(n, 0, rng);
    sj_score_data *mixed = simulate(n, 1, rng);
    if (!dich || !mixed || write_wide(dich, argv[1]) != 0) {
        fprintf(stderr, "bench_dif: cannot build or write the data\n");
        return 1;
    }
    size_t flagged_d, flagged_m;
    double t_dich = time_dif(dich, &flagged_d);
    double t_mixed = time_dif(mixed, &flagged_m);
    printf("{\"persons\": %zu, \"items\": %d, \"c_seconds_dichotomous\": %.4f, "
           "\"c_seconds_mixed\": %.4f, \"flagged_dichotomous\": %zu, \"flagged_mixed\": %zu}\n",
           n, N_ITEMS, t_dich, t_mixed, flagged_d, flagged_m);
    sj_score_data_free(dich);
    sj_score_data_free(mixed);
    sj_rng_free(rng);
    return 0;
}
