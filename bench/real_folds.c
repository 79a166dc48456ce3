/* Cross-validation folds and agreement figures for bench/bench_real.sh (the
 * scorer on real answers).
 *
 *   real_folds split IN.csv K SEED OUTDIR
 *       shuffles the rows by the seed and writes OUTDIR/fold<k>/train.csv and
 *       test.csv: fold k's test rows are every K-th row of the shuffled order
 *       starting at k, its training rows all the others;
 *   real_folds eval PRED MODE FILE...
 *       pools the scored test rows of every fold and prints a JSON fragment:
 *       Pearson r and RMSE of column PRED with `avg`, QWK and exact agreement
 *       of column MODE with `rater1`;
 *   real_folds humans IN.csv
 *       the two graders with each other: r and QWK of rater1 with rater2. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sjtalign/io.h"
#include "sjtalign/stats.h"
#include "sjtalign/util.h"

static int fail(const sj_error *err)
{
    fprintf(stderr, "real_folds: %s\n", err->msg);
    return 2;
}

static sj_status write_rows(const sj_table *t, const size_t *rows, size_t n, const char *path,
                            sj_error *err)
{
    sj_csv_writer w;
    sj_status st = sj_csv_open(&w, path, (const char *const *)t->names, t->n_cols, err);
    if (st != SJ_OK)
        return st;
    for (size_t i = 0; i < n; i++)
        sj_csv_row(&w, (const char *const *)&t->cells[rows[i] * t->n_cols]);
    return sj_csv_close(&w, err);
}

/* A shuffled order of the rows, from the seed (GSL's generator). */
static size_t *shuffled(size_t n, uint64_t seed)
{
    size_t *p = malloc((n ? n : 1) * sizeof *p);
    gsl_rng *rng = sj_rng_new(seed);
    if (!p || !rng) {
        free(p);
        sj_rng_free(rng);
        return NULL;
    }
    for (size_t i = 0; i < n; i++)
        p[i] = i;
    for (size_t i = n; i > 1; i--) {
        size_t j = (size_t)gsl_rng_uniform_int(rng, i), tmp = p[i - 1];
        p[i - 1] = p[j];
        p[j] = tmp;
    }
    sj_rng_free(rng);
    return p;
}

static int split(const char *in, int k, uint64_t seed, const char *outdir)
{
    sj_error err;
    sj_error_clear(&err);
    sj_table *t = sj_table_read(in, &err);
    if (!t)
        return fail(&err);
    size_t *order = shuffled(t->n_rows, seed);
    size_t *test = malloc((t->n_rows + 1) * sizeof *test);
    size_t *train = malloc((t->n_rows + 1) * sizeof *train);
    sj_status st = order && test && train ? SJ_OK : sj_error_set(&err, SJ_ERR_WORK, "no memory");
    for (int f = 0; f < k && st == SJ_OK; f++) {
        size_t n_test = 0, n_train = 0;
        for (size_t i = 0; i < t->n_rows; i++) {
            if ((int)(i % (size_t)k) == f)
                test[n_test++] = order[i];
            else
                train[n_train++] = order[i];
        }
        char *dir = sj_asprintf("%s/fold%d", outdir, f + 1);
        char *tr = sj_asprintf("%s/train.csv", dir), *te = sj_asprintf("%s/test.csv", dir);
        st = dir && tr && te ? sj_mkdir_p(dir, &err) : sj_error_set(&err, SJ_ERR_WORK, "no memory");
        if (st == SJ_OK)
            st = write_rows(t, train, n_train, tr, &err);
        if (st == SJ_OK)
            st = write_rows(t, test, n_test, te, &err);
        free(dir);
        free(tr);
        free(te);
    }
    free(order);
    free(test);
    free(train);
    sj_table_free(t);
    return st == SJ_OK ? 0 : fail(&err);
}

/* Four pooled columns: prediction, avg, mode, rater1. */
typedef struct {
    size_t n, cap;
    double *col[4];
} pooled;

static int push(pooled *p, const double v[4])
{
    if (p->n == p->cap) {
        size_t cap = p->cap ? 2 * p->cap : 1024;
        for (int k = 0; k < 4; k++) {
            double *grown = realloc(p->col[k], cap * sizeof *grown);
            if (!grown)
                return -1;
            p->col[k] = grown;
        }
        p->cap = cap;
    }
    for (int k = 0; k < 4; k++)
        p->col[k][p->n] = v[k];
    p->n++;
    return 0;
}

static void pooled_free(pooled *p)
{
    for (int k = 0; k < 4; k++)
        free(p->col[k]);
}

static sj_status read_scored(const char *path, const char *const cols[4], pooled *p, sj_error *err)
{
    sj_table *t = sj_table_read(path, err);
    if (!t)
        return err->status;
    long at[4];
    sj_status st = SJ_OK;
    for (int k = 0; k < 4 && st == SJ_OK; k++)
        if ((at[k] = sj_table_column(t, cols[k], err)) < 0)
            st = err->status;
    for (size_t i = 0; i < t->n_rows && st == SJ_OK; i++) {
        double v[4];
        for (int k = 0; k < 4 && st == SJ_OK; k++)
            st = sj_table_number(t, i, (size_t)at[k], &v[k], err);
        if (st == SJ_OK && push(p, v))
            st = sj_error_set(err, SJ_ERR_WORK, "no memory");
    }
    sj_table_free(t);
    return st;
}

static int eval(const char *pred, const char *mode, int n_files, char **files)
{
    sj_error err;
    sj_error_clear(&err);
    pooled p = {0};
    const char *cols[4] = {pred, "avg", mode, "rater1"};
    sj_status st = SJ_OK;
    for (int f = 0; f < n_files && st == SJ_OK; f++)
        st = read_scored(files[f], cols, &p, &err);
    if (st == SJ_OK) {
        double sq = 0.0;
        const double *pred = p.col[0], *avg = p.col[1], *mode = p.col[2], *r1 = p.col[3];
        for (size_t i = 0; i < p.n; i++)
            sq += (pred[i] - avg[i]) * (pred[i] - avg[i]);
        printf("\"r_avg\":%.4f,\"rmse_avg\":%.4f,\"qwk_rater1\":%.4f,\"exact_rater1\":%.4f,"
               "\"n\":%zu\n",
               sj_pearson_r(pred, avg, p.n), sqrt(sq / (double)p.n), sj_qwk(mode, r1, p.n),
               sj_exact_agreement(mode, r1, p.n), p.n);
    }
    pooled_free(&p);
    return st == SJ_OK ? 0 : fail(&err);
}

static int humans(const char *in)
{
    sj_error err;
    sj_error_clear(&err);
    pooled p = {0};
    const char *cols[4] = {"rater1", "rater2", "rater1", "rater2"};
    sj_status st = read_scored(in, cols, &p, &err);
    if (st == SJ_OK)
        printf("\"human_r\":%.4f,\"human_qwk\":%.4f,\"human_exact\":%.4f\n",
               sj_pearson_r(p.col[0], p.col[1], p.n), sj_qwk(p.col[2], p.col[3], p.n),
               sj_exact_agreement(p.col[2], p.col[3], p.n));
    pooled_free(&p);
    return st == SJ_OK ? 0 : fail(&err);
}

int main(int argc, char **argv)
{
    if (argc == 6 && strcmp(argv[1], "split") == 0)
        return split(argv[2], atoi(argv[3]), strtoull(argv[4], NULL, 10), argv[5]);
    if (argc >= 5 && strcmp(argv[1], "eval") == 0)
        return eval(argv[2], argv[3], argc - 4, argv + 4);
    if (argc == 3 && strcmp(argv[1], "humans") == 0)
        return humans(argv[2]);
    fprintf(stderr, "usage: real_folds split IN.csv K SEED OUTDIR | eval PRED MODE FILE... | "
                    "humans IN.csv\n");
    return 2;
}
