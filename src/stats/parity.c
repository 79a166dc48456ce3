/* Group parity of a score: descriptives per group, effect sizes, Welch's
 * test, pass rates at a cut with the adverse impact ratio, and with a human
 * score the agreement and RSMTool-style fairness analyses. */
#include "sjtalign/stats.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_cdf.h>
#include <gsl/gsl_errno.h>
#include <gsl/gsl_multifit.h>

#include "label_index.h"
#include "notes.h"

/* ---- input ------------------------------------------------------------------ */

void sj_parity_data_free(sj_parity_data *d)
{
    if (!d)
        return;
    free(d->score);
    free(d->human);
    free(d->group);
    for (size_t g = 0; g < d->n_groups; g++)
        free(d->group_names[g]);
    free(d->group_names);
    free(d);
}

static sj_status read_human(const sj_table *t, size_t row, long col, double *out, sj_error *err)
{
    const char *cell = sj_table_cell(t, row, (size_t)col);
    if (cell[0] == '\0') {
        *out = NAN;
        return SJ_OK;
    }
    if (sj_parse_number(cell, out) != 0 || *out != floor(*out))
        return sj_error_at(err, SJ_ERR_INPUT, t->path, t->row_line[row], col + 1,
                           "column '%s': human scores must be whole numbers (an ordinal scale "
                           "for agreement and kappa), found '%s'",
                           t->names[col], cell);
    return SJ_OK;
}

static sj_status read_machine(const sj_table *t, size_t row, long col, double *out, sj_error *err)
{
    const char *cell = sj_table_cell(t, row, (size_t)col);
    if (cell[0] == '\0') {
        *out = NAN;
        return SJ_OK;
    }
    return sj_table_number(t, row, (size_t)col, out, err);
}

typedef struct {
    long score, group, human, person;
} parity_columns;

static sj_status parity_columns_find(const sj_table *t, const char *person_col,
                                     const char *score_col, const char *group_col,
                                     const char *human_col, parity_columns *c, sj_error *err)
{
    c->person = c->human = -1;
    if ((c->score = sj_table_column(t, score_col, err)) < 0 ||
        (c->group = sj_table_column(t, group_col, err)) < 0)
        return SJ_ERR_INPUT;
    if (human_col && (c->human = sj_table_column(t, human_col, err)) < 0)
        return SJ_ERR_INPUT;
    if (person_col && (c->person = sj_table_column(t, person_col, err)) < 0)
        return SJ_ERR_INPUT;
    return SJ_OK;
}

/* Accumulates rows into observations (one per row, or one per person). */
static sj_status accumulate(const sj_table *t, const parity_columns *c, sj_label_index *groups,
                            sj_label_index *persons, double *score, double *human, int *group,
                            long *first_line, size_t *n_obs, sj_error *err)
{
    *n_obs = 0;
    for (size_t r = 0; r < t->n_rows; r++) {
        const char *g = sj_table_cell(t, r, (size_t)c->group);
        if (g[0] == '\0')
            return sj_error_at(err, SJ_ERR_INPUT, t->path, t->row_line[r], c->group + 1,
                               "column '%s' is empty: every row needs a group", t->names[c->group]);
        long gi = sj_label_index_add(groups, g);
        double s, h = NAN;
        if (gi < 0)
            return sj_error_set(err, SJ_ERR_WORK, "out of memory reading %s", t->path);
        if (read_machine(t, r, c->score, &s, err) != SJ_OK)
            return SJ_ERR_INPUT;
        if (c->human >= 0 && read_human(t, r, c->human, &h, err) != SJ_OK)
            return SJ_ERR_INPUT;
        size_t o = *n_obs;
        if (c->person >= 0) {
            const char *p = sj_table_cell(t, r, (size_t)c->person);
            if (p[0] == '\0')
                return sj_error_at(err, SJ_ERR_INPUT, t->path, t->row_line[r], c->person + 1,
                                   "column '%s' is empty: every row needs a person",
                                   t->names[c->person]);
            size_t before = persons->n;
            long pi = sj_label_index_add(persons, p);
            if (pi < 0)
                return sj_error_set(err, SJ_ERR_WORK, "out of memory reading %s", t->path);
            o = (size_t)pi;
            if (persons->n == before) {
                if (group[o] != (int)gi)
                    return sj_error_at(err, SJ_ERR_INPUT, t->path, t->row_line[r], c->group + 1,
                                       "person '%s' is in group '%s' here but in group '%s' on "
                                       "line %ld; a person belongs to one group",
                                       p, g, groups->labels[group[o]], first_line[o]);
                score[o] += s;
                if (human)
                    human[o] += h;
                continue;
            }
        }
        group[o] = (int)gi;
        score[o] = s;
        if (human)
            human[o] = h;
        first_line[o] = t->row_line[r];
        (*n_obs)++;
    }
    return SJ_OK;
}

/* Drops observations whose machine score is missing (NaN propagates
 * through a person's sum, so an incomplete person is dropped whole). */
static void drop_missing(sj_parity_data *d)
{
    size_t kept = 0;
    for (size_t i = 0; i < d->n; i++) {
        if (isnan(d->score[i])) {
            d->n_excluded++;
            continue;
        }
        d->score[kept] = d->score[i];
        if (d->human)
            d->human[kept] = d->human[i];
        d->group[kept] = d->group[i];
        kept++;
    }
    d->n = kept;
}

sj_parity_data *sj_parity_data_from_table(const sj_table *t, const char *person_col,
                                          const char *score_col, const char *group_col,
                                          const char *human_col, sj_error *err)
{
    parity_columns c;
    if (parity_columns_find(t, person_col, score_col, group_col, human_col, &c, err) != SJ_OK)
        return NULL;
    sj_parity_data *d = sj_calloc(1, sizeof *d);
    size_t cap = t->n_rows ? t->n_rows : 1;
    long *first_line = malloc(cap * sizeof *first_line);
    sj_label_index groups, persons;
    sj_label_index_init(&groups);
    sj_label_index_init(&persons);
    if (d) {
        d->score = malloc(cap * sizeof *d->score);
        d->human = human_col ? malloc(cap * sizeof *d->human) : NULL;
        d->group = malloc(cap * sizeof *d->group);
    }
    sj_status st = SJ_OK;
    if (!d || !first_line || !d->score || !d->group || (human_col && !d->human))
        st = sj_error_set(err, SJ_ERR_WORK, "out of memory reading %s", t->path);
    if (st == SJ_OK)
        st = accumulate(t, &c, &groups, &persons, d->score, d->human, d->group, first_line, &d->n,
                        err);
    if (st == SJ_OK) {
        d->n_groups = groups.n;
        d->group_names = sj_calloc(groups.n ? groups.n : 1, sizeof *d->group_names);
        if (!d->group_names)
            st = sj_error_set(err, SJ_ERR_WORK, "out of memory reading %s", t->path);
        else
            sj_label_index_take(&groups, d->group_names);
    }
    if (st == SJ_OK)
        drop_missing(d);
    free(first_line);
    sj_label_index_free(&groups);
    sj_label_index_free(&persons);
    if (st != SJ_OK) {
        sj_parity_data_free(d);
        return NULL;
    }
    return d;
}

/* ---- results ------------------------------------------------------------------ */

#define add_note(p, ...) stats_note_add(&(p)->notes, &(p)->n_notes, __VA_ARGS__)

void sj_parity_free(sj_parity *p)
{
    if (!p)
        return;
    free(p->ref.name);
    free(p->focal.name);
    stats_notes_free(&p->notes, &p->n_notes);
    memset(p, 0, sizeof *p);
}

static void describe_group(const double *x, size_t n, double cut, sj_parity_group *g)
{
    double sum = 0, ss = 0, pass = 0;
    for (size_t i = 0; i < n; i++)
        sum += x[i];
    g->n = (long)n;
    g->mean = n ? sum / (double)n : NAN;
    for (size_t i = 0; i < n; i++) {
        ss += (x[i] - g->mean) * (x[i] - g->mean);
        pass += x[i] >= cut;
    }
    g->sd = n > 1 ? sqrt(ss / (double)(n - 1)) : NAN;
    g->pass_rate = isnan(cut) || n == 0 ? NAN : pass / (double)n;
}

static void effect_sizes(sj_parity *p)
{
    double nR = (double)p->ref.n, nF = (double)p->focal.n;
    double vR = p->ref.sd * p->ref.sd, vF = p->focal.sd * p->focal.sd;
    p->mean_diff = p->focal.mean - p->ref.mean;
    double pooled = sqrt(((nR - 1) * vR + (nF - 1) * vF) / (nR + nF - 2));
    p->cohens_d = pooled > 0 ? p->mean_diff / pooled : NAN;
    p->hedges_g = p->cohens_d * (1 - 3 / (4 * (nR + nF) - 9));
    double aR = vR / nR, aF = vF / nF, se = sqrt(aR + aF);
    if (se > 0) {
        p->welch_t = p->mean_diff / se;
        p->welch_df = (aR + aF) * (aR + aF) / (aR * aR / (nR - 1) + aF * aF / (nF - 1));
        p->welch_p = 2 * gsl_cdf_tdist_Q(fabs(p->welch_t), p->welch_df);
        double q = gsl_cdf_tdist_Qinv(0.025, p->welch_df);
        p->ci95_low = p->mean_diff - q * se;
        p->ci95_high = p->mean_diff + q * se;
    } else {
        p->welch_t = p->welch_df = p->welch_p = p->ci95_low = p->ci95_high = NAN;
        add_note(p, "both groups have constant scores: Welch's test is undefined");
    }
    if (!(pooled > 0))
        add_note(p, "the pooled SD is 0: Cohen's d and Hedges' g are undefined");
}

static void pass_rates(sj_parity *p, double cut)
{
    p->cut = cut;
    if (isnan(cut)) {
        p->adverse_impact_ratio = NAN;
        p->four_fifths_flag = -1;
        return;
    }
    if (p->ref.pass_rate > 0) {
        p->adverse_impact_ratio = p->focal.pass_rate / p->ref.pass_rate;
        p->four_fifths_flag = p->adverse_impact_ratio < 0.8;
    } else {
        p->adverse_impact_ratio = NAN;
        p->four_fifths_flag = -1;
        add_note(p,
                 "no reference-group observation reaches the cut %g: the adverse impact "
                 "ratio is undefined",
                 cut);
    }
}

/* ---- RSMTool-style fairness by OLS --------------------------------------------- */

typedef struct {
    double rss, tss;
    size_t n, p;
    double coef[2]; /* intercept, focal */
} ols_fit;

static int ols(const double *y, const double *X, size_t n, size_t p, ols_fit *out)
{
    gsl_matrix_const_view Xv = gsl_matrix_const_view_array(X, n, p);
    gsl_vector_const_view yv = gsl_vector_const_view_array(y, n);
    gsl_vector *c = gsl_vector_alloc(p);
    gsl_matrix *cov = gsl_matrix_alloc(p, p);
    gsl_multifit_linear_workspace *w = gsl_multifit_linear_alloc(n, p);
    int rc = -1;
    if (c && cov && w) {
        gsl_error_handler_t *old = gsl_set_error_handler_off();
        rc = gsl_multifit_linear(&Xv.matrix, &yv.vector, c, cov, &out->rss, w);
        gsl_set_error_handler(old);
    }
    if (rc == 0) {
        double mean = 0, tss = 0;
        for (size_t i = 0; i < n; i++)
            mean += y[i];
        mean /= (double)n;
        for (size_t i = 0; i < n; i++)
            tss += (y[i] - mean) * (y[i] - mean);
        out->tss = tss;
        out->n = n;
        out->p = p;
        out->coef[0] = gsl_vector_get(c, 0);
        out->coef[1] = p > 1 ? gsl_vector_get(c, 1) : NAN;
    }
    gsl_vector_free(c);
    gsl_matrix_free(cov);
    if (w)
        gsl_multifit_linear_free(w);
    return rc;
}

static double adjusted_r2(const ols_fit *f)
{
    if (!(f->tss > 0) || f->n <= f->p)
        return NAN;
    double r2 = 1 - f->rss / f->tss;
    return 1 - (1 - r2) * (double)(f->n - 1) / (double)(f->n - f->p);
}

/* F test of `full` against the nested `base` (fewer columns). */
static double nested_f_p(const ols_fit *base, const ols_fit *full)
{
    double df1 = (double)(full->p - base->p), df2 = (double)(full->n - full->p);
    if (df2 <= 0 || !(full->rss > 0))
        return NAN;
    double F = ((base->rss - full->rss) / df1) / (full->rss / df2);
    return gsl_cdf_fdist_Q(fmax(F, 0), df1, df2);
}

static int group_model(const double *y, const int *focal, size_t n, sj_fairness_model *m)
{
    double *X = malloc(n * 2 * sizeof *X);
    if (!X)
        return -1;
    for (size_t i = 0; i < n; i++) {
        X[2 * i] = 1;
        X[2 * i + 1] = focal[i];
    }
    ols_fit full, base = {0, 0, n, 1, {0, 0}};
    int rc = ols(y, X, n, 2, &full);
    free(X);
    if (rc != 0)
        return -1;
    base.rss = full.tss;
    m->r2_adj = adjusted_r2(&full);
    m->p = nested_f_p(&base, &full);
    m->intercept = full.coef[0];
    m->coef_focal = full.coef[1];
    return 0;
}

/* Human score levels as dummy columns after the first level. */
static size_t human_levels(const double *h, size_t n, double *levels)
{
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        size_t j = 0;
        while (j < k && levels[j] != h[i])
            j++;
        if (j == k && k < 64)
            levels[k++] = h[i];
    }
    for (size_t a = 1; a < k; a++)
        for (size_t b = a; b > 0 && levels[b - 1] > levels[b]; b--) {
            double t = levels[b];
            levels[b] = levels[b - 1];
            levels[b - 1] = t;
        }
    return k;
}

static int conditional_model(const double *err, const double *h, const int *focal, size_t n,
                             sj_fairness_model *m)
{
    double levels[64];
    size_t k = human_levels(h, n, levels);
    if (k >= 64)
        return -1;
    size_t p_full = 1 + k, p_base = k; /* intercept, [focal], k - 1 dummies */
    double *Xf = malloc(n * p_full * sizeof *Xf), *Xb = malloc(n * p_base * sizeof *Xb);
    if (!Xf || !Xb) {
        free(Xf);
        free(Xb);
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        double *rf = Xf + i * p_full, *rb = Xb + i * p_base;
        rf[0] = rb[0] = 1;
        rf[1] = focal[i];
        for (size_t j = 1; j < k; j++)
            rf[1 + j] = rb[j] = h[i] == levels[j];
    }
    ols_fit full, base;
    int rc = ols(err, Xf, n, p_full, &full);
    if (rc == 0)
        rc = ols(err, Xb, n, p_base, &base);
    free(Xf);
    free(Xb);
    if (rc != 0)
        return -1;
    m->r2_adj = adjusted_r2(&full) - adjusted_r2(&base);
    m->p = nested_f_p(&base, &full);
    m->intercept = full.coef[0];
    m->coef_focal = full.coef[1];
    return 0;
}

static void fairness(sj_parity *p, const double *machine, const double *human, const int *focal,
                     size_t n)
{
    sj_fairness_model nan_model = {NAN, NAN, NAN, NAN};
    p->fairness.osa = p->fairness.osd = p->fairness.csd = nan_model;
    double *e = malloc((n ? n : 1) * sizeof *e), *se = malloc((n ? n : 1) * sizeof *se);
    int ok = e && se && n > 3;
    for (size_t i = 0; ok && i < n; i++) {
        e[i] = machine[i] - human[i];
        se[i] = e[i] * e[i];
    }
    if (ok && (group_model(se, focal, n, &p->fairness.osa) != 0 ||
               group_model(e, focal, n, &p->fairness.osd) != 0 ||
               conditional_model(e, human, focal, n, &p->fairness.csd) != 0))
        ok = 0;
    if (!ok)
        add_note(p, "fairness analyses need more than 3 scored observations, at most 63 human "
                    "score levels and a full-rank design; not computed");
    free(e);
    free(se);
}

static void agreement_analyses(sj_parity *p, const sj_parity_data *d, int ref, int foc)
{
    size_t n = d->n ? d->n : 1;
    double *m = malloc(n * sizeof *m), *h = malloc(n * sizeof *h);
    double *mg = malloc(n * sizeof *mg), *hg = malloc(n * sizeof *hg);
    int *is_focal = malloc(n * sizeof *is_focal);
    if (!m || !h || !mg || !hg || !is_focal) {
        add_note(p, "out of memory: agreement not computed");
        goto done;
    }
    size_t k = 0, missing = 0;
    for (size_t i = 0; i < d->n; i++) {
        if (d->group[i] != ref && d->group[i] != foc)
            continue;
        if (isnan(d->human[i])) {
            missing++;
            continue;
        }
        m[k] = d->score[i];
        h[k] = d->human[i];
        is_focal[k++] = d->group[i] == foc;
    }
    if (missing)
        add_note(p,
                 "%zu observations without a human score are left out of the agreement "
                 "analyses",
                 missing);
    p->has_human = 1;
    sj_agreement_compute(m, h, k, &p->agreement);
    for (int g = 0; g < 2; g++) {
        size_t kg = 0;
        for (size_t i = 0; i < k; i++)
            if (is_focal[i] == g) {
                mg[kg] = m[i];
                hg[kg++] = h[i];
            }
        sj_agreement_compute(mg, hg, kg, g ? &p->focal.agreement : &p->ref.agreement);
    }
    fairness(p, m, h, is_focal, k);
done:
    free(m);
    free(h);
    free(mg);
    free(hg);
    free(is_focal);
}

static sj_status check_parity_groups(const sj_parity_data *d, const char *reference,
                                     const char *focal, int *ref, int *foc, sj_error *err)
{
    *ref = *foc = -1;
    for (size_t g = 0; g < d->n_groups; g++) {
        if (strcmp(d->group_names[g], reference) == 0)
            *ref = (int)g;
        if (strcmp(d->group_names[g], focal) == 0)
            *foc = (int)g;
    }
    sj_buf present = {0};
    if (sj_buf_quoted_list(&present, d->group_names, d->n_groups) != 0) {
        sj_buf_free(&present);
        return sj_error_set(err, SJ_ERR_WORK, "out of memory");
    }
    sj_status st = SJ_OK;
    if (strcmp(reference, focal) == 0)
        st = sj_error_set(err, SJ_ERR_INPUT,
                          "group '%s' is named both reference and focal; name two different "
                          "groups (groups present: %s)",
                          reference, present.data ? present.data : "none");
    else if (*ref < 0 || *foc < 0)
        st = sj_error_set(err, SJ_ERR_INPUT,
                          "group '%s' does not occur in the group column (groups present: %s)",
                          *ref < 0 ? reference : focal, present.data ? present.data : "none");
    sj_buf_free(&present);
    return st;
}

sj_status sj_parity_run(const sj_parity_data *d, const char *reference, const char *focal,
                        double cut, sj_parity *out, sj_error *err)
{
    memset(out, 0, sizeof *out);
    int ref, foc;
    sj_status st = check_parity_groups(d, reference, focal, &ref, &foc, err);
    if (st != SJ_OK)
        return st;
    size_t n = d->n ? d->n : 1, nR = 0, nF = 0;
    double *xr = malloc(n * sizeof *xr), *xf = malloc(n * sizeof *xf);
    if (!xr || !xf) {
        free(xr);
        free(xf);
        return sj_error_set(err, SJ_ERR_WORK, "out of memory");
    }
    for (size_t i = 0; i < d->n; i++) {
        if (d->group[i] == ref)
            xr[nR++] = d->score[i];
        else if (d->group[i] == foc)
            xf[nF++] = d->score[i];
    }
    if (nR < 2 || nF < 2) {
        free(xr);
        free(xf);
        return sj_error_set(err, SJ_ERR_INPUT,
                            "parity needs at least two scored observations per group; found %zu "
                            "in '%s' and %zu in '%s'",
                            nR, reference, nF, focal);
    }
    out->ref.name = sj_strdup(reference);
    out->focal.name = sj_strdup(focal);
    describe_group(xr, nR, cut, &out->ref);
    describe_group(xf, nF, cut, &out->focal);
    free(xr);
    free(xf);
    if (d->n_excluded)
        add_note(out, "%ld observations without a score are left out", d->n_excluded);
    effect_sizes(out);
    pass_rates(out, cut);
    if (d->human)
        agreement_analyses(out, d, ref, foc);
    return SJ_OK;
}
