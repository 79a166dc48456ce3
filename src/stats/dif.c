/* The DIF driver: per focal group and item, the matching score, the counts
 * per (stratum, group, score), every method of the README's conventions, purification of
 * the matching score and p-value adjustment. */
#include "sjtalign/stats.h"

#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_errno.h>

#include "dif_tables.h"
#include "notes.h"
#include "sjtalign/dist.h"

void sj_dif_options_defaults(sj_dif_options *o)
{
    memset(o, 0, sizeof *o);
    o->match = SJ_MATCH_TOTAL;
    o->adjust = SJ_ADJUST_NONE;
    o->min_cell = 5;
    o->bd_tarone = 1;
}

void sj_dif_counts_free(sj_dif_counts *c)
{
    if (!c)
        return;
    free(c->stratum_score);
    free(c->cat_value);
    free(c->count);
    memset(c, 0, sizeof *c);
}

#define add_note(it, ...) stats_note_add(&(it)->notes, &(it)->n_notes, __VA_ARGS__)

static void clear_statistics(sj_dif_item *it)
{
    double *fields[] = {
        &it->mh_chi2,
        &it->mh_p,
        &it->mh_chi2_nocc,
        &it->mh_p_nocc,
        &it->alpha_mh,
        &it->delta_mh,
        &it->se_delta_mh,
        &it->bd_chi2,
        &it->bd_df,
        &it->bd_p,
        &it->lr_uniform,
        &it->lr_p_uniform,
        &it->lr_nonuniform,
        &it->lr_p_nonuniform,
        &it->lr_joint,
        &it->lr_p_joint,
        &it->lr_dr2n,
        &it->mantel_chi2,
        &it->mantel_p,
        &it->smd,
        &it->smd_over_sd,
        &it->se_smd,
        &it->se_smd_over_sd,
        &it->olr_uniform,
        &it->olr_p_uniform,
        &it->olr_nonuniform,
        &it->olr_p_nonuniform,
        &it->olr_joint,
        &it->olr_p_joint,
        &it->olr_dr2n,
        &it->olr_dr2mcf,
        &it->mh_p_adj,
        &it->lr_p_uniform_adj,
        &it->lr_p_nonuniform_adj,
        &it->lr_p_joint_adj,
        &it->mantel_p_adj,
        &it->olr_p_uniform_adj,
        &it->olr_p_nonuniform_adj,
        &it->olr_p_joint_adj,
    };
    for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++)
        *fields[i] = NAN;
    it->ets_class = it->zt_class = it->jg_class = it->ets_poly_class = NULL;
    it->tested = 0;
    it->flagged = 0;
    it->n = it->n_ref = it->n_focal = 0;
    it->n_strata = it->n_sparse_strata = 0;
    stats_notes_free(&it->notes, &it->n_notes);
}

/* ---- one comparison: the reference against one focal group -------------- */

/* A comparison runs over this process's share [lo, hi) of the persons of
 * d (order of first appearance); with `distributed` the count tables and
 * every tally are summed over the ranks of the job (sj_dif_run), without
 * it this process counts alone (sj_dif_effects, whose replicates the
 * ranks share out instead). */
typedef struct {
    const sj_score_data *d;
    const sj_dif_options *opt;
    int ref, focal;
    size_t lo, hi;   /* this process's persons of d */
    int distributed; /* 1: the tallies are collective */
    size_t *persons; /* complete persons of the two groups within [lo, hi) */
    size_t n_persons;
    int *is_dichotomous;    /* per item */
    int *in_matching;       /* per item: counts towards the matching score */
    long *base;             /* per person (index into persons): sum over in_matching items */
    const unsigned *weight; /* per person of d: copies counted (NULL: one each) */
    int *reported;          /* per item: in_matching of the last analysis run, or NULL */
} comparison;

static void compute_base(comparison *cmp)
{
    const sj_score_data *d = cmp->d;
    for (size_t q = 0; q < cmp->n_persons; q++) {
        const int *row = d->scores + cmp->persons[q] * d->n_items;
        long sum = 0;
        for (size_t j = 0; j < d->n_items; j++)
            if (cmp->in_matching[j])
                sum += row[j];
        cmp->base[q] = sum;
    }
}

static void count_sparse_strata(const sj_dif_counts *c, long min_cell, sj_dif_item *it)
{
    it->n_strata = c->n_strata;
    it->n_sparse_strata = 0;
    for (size_t k = 0; k < c->n_strata; k++) {
        double n[2] = {0, 0};
        for (size_t g = 0; g < 2; g++)
            for (size_t j = 0; j < c->n_cats; j++)
                n[g] += c->count[(k * 2 + g) * c->n_cats + j];
        if (n[0] < (double)min_cell || n[1] < (double)min_cell)
            it->n_sparse_strata++;
    }
    if (it->n_sparse_strata > 0)
        add_note(it,
                 "%zu of %zu matching-score strata have fewer than %ld persons in a group "
                 "(still used; estimates there rest on few persons)",
                 it->n_sparse_strata, it->n_strata, min_cell);
}

/* The figures of a likelihood-ratio DIF test (binary logistic or ordinal)
 * that an item keeps, in this order: the uniform, non-uniform and joint
 * statistics each with its p-value, and Nagelkerke's delta R squared. The
 * item has one set of fields for each test; `to` names the set. */
enum { LR_FIGURES = 7 };

static void store_lr_test(const sj_lr_dif *lr, double *const to[LR_FIGURES])
{
    const double from[LR_FIGURES] = {lr->lr_uniform,   lr->p_uniform, lr->lr_nonuniform,
                                     lr->p_nonuniform, lr->lr_joint,  lr->p_joint,
                                     lr->dr2n};
    for (size_t i = 0; i < LR_FIGURES; i++)
        *to[i] = from[i];
}

static void analyse_dichotomous(const sj_dif_counts *c, int tarone, sj_dif_item *it)
{
    sj_mh mh;
    sj_mh_compute(c, tarone, &mh);
    it->mh_chi2 = mh.chi2;
    it->mh_p = mh.p;
    it->mh_chi2_nocc = mh.chi2_nocc;
    it->mh_p_nocc = mh.p_nocc;
    it->alpha_mh = mh.alpha;
    it->delta_mh = mh.delta;
    it->se_delta_mh = mh.se_delta;
    it->bd_chi2 = mh.bd_chi2;
    it->bd_df = mh.bd_df;
    it->bd_p = mh.bd_p;
    it->ets_class = sj_ets_class(mh.delta, mh.se_delta, mh.p);
    if (mh.note)
        add_note(it, "Mantel-Haenszel: %s", mh.note);
    if (!mh.note && isnan(mh.bd_chi2))
        add_note(it, "Breslow-Day: fewer than two strata with all margins non-zero; not tested");
    sj_lr_dif lr;
    sj_logistic_dif(c, &lr);
    double *const to[LR_FIGURES] = {&it->lr_uniform,      &it->lr_p_uniform, &it->lr_nonuniform,
                                    &it->lr_p_nonuniform, &it->lr_joint,     &it->lr_p_joint,
                                    &it->lr_dr2n};
    store_lr_test(&lr, to);
    it->zt_class = sj_r2_class(lr.dr2n, lr.p_joint, 0.13, 0.26);
    it->jg_class = sj_r2_class(lr.dr2n, lr.p_joint, 0.035, 0.070);
    if (lr.note)
        add_note(it, "logistic regression: %s", lr.note);
    it->flagged = it->ets_class && it->ets_class[0] != 'A';
}

static void analyse_polytomous(const sj_dif_counts *c, sj_dif_item *it)
{
    sj_mantel mt;
    sj_mantel_compute(c, &mt);
    it->mantel_chi2 = mt.chi2;
    it->mantel_p = mt.p;
    it->smd = mt.smd;
    it->smd_over_sd = mt.smd_over_sd;
    it->se_smd = mt.se_smd;
    it->se_smd_over_sd = mt.se_smd_over_sd;
    it->ets_poly_class = sj_ets_poly_class(mt.smd_over_sd, mt.p);
    if (mt.note)
        add_note(it, "Mantel: %s", mt.note);
    sj_lr_dif lr;
    sj_ordinal_dif(c, &lr);
    double *const to[LR_FIGURES] = {&it->olr_uniform,      &it->olr_p_uniform, &it->olr_nonuniform,
                                    &it->olr_p_nonuniform, &it->olr_joint,     &it->olr_p_joint,
                                    &it->olr_dr2n};
    store_lr_test(&lr, to);
    it->olr_dr2mcf = lr.dr2mcf;
    if (lr.note)
        add_note(it, "ordinal regression: %s", lr.note);
    it->flagged = it->ets_poly_class && it->ets_poly_class[0] != 'A';
}

/* Runs every method on one item from its count table. */
static void analyse_item(const comparison *cmp, size_t item, const sj_dif_counts *c,
                         const long n_group[2], sj_dif_item *it)
{
    clear_statistics(it);
    it->type = cmp->is_dichotomous[item] ? SJ_ITEM_DICHOTOMOUS : SJ_ITEM_POLYTOMOUS;
    it->n_ref = n_group[0];
    it->n_focal = n_group[1];
    it->n = n_group[0] + n_group[1];
    long min_cell = cmp->opt->min_cell;
    if (n_group[0] < min_cell || n_group[1] < min_cell) {
        add_note(it, "not tested: %ld reference and %ld focal persons, fewer than --min-cell %ld",
                 n_group[0], n_group[1], min_cell);
    } else if (c->n_cats < 2) {
        add_note(it, "not tested: every person has the same score (%g) on this item",
                 c->cat_value[0]);
    } else {
        it->tested = 1;
        count_sparse_strata(c, min_cell, it);
        if (it->type == SJ_ITEM_DICHOTOMOUS)
            analyse_dichotomous(c, cmp->opt->bd_tarone, it);
        else
            analyse_polytomous(c, it);
    }
}

/* The count tables of every item with the current matching items: this
 * process's persons, summed over the ranks when the comparison is
 * distributed. counts has n_items entries; n_group 2 per item. */
static sj_status build_tables(comparison *cmp, sj_dif_counts *counts, long *n_group, sj_error *err)
{
    compute_base(cmp);
    dif_table_request q = {.d = cmp->d,
                           .persons = cmp->persons,
                           .n_persons = cmp->n_persons,
                           .base = cmp->base,
                           .in_matching = cmp->in_matching,
                           .match = cmp->opt->match,
                           .focal = cmp->focal,
                           .weight = cmp->weight,
                           .distributed = cmp->distributed};
    return dif_tables_build(&q, counts, n_group, err);
}

/* One analysis round: the tables (re-tabulated for the current matching
 * items), then every item's methods from them. */
static sj_status analyse_all(comparison *cmp, sj_dif_item *rows, sj_error *err)
{
    size_t n = cmp->d->n_items;
    if (cmp->reported)
        memcpy(cmp->reported, cmp->in_matching, n * sizeof *cmp->reported);
    sj_dif_counts *counts = sj_calloc(n, sizeof *counts);
    long *n_group = malloc(2 * n * sizeof *n_group);
    sj_status st = counts && n_group ? SJ_OK
                                     : sj_error_set(err, SJ_ERR_WORK,
                                                    "out of memory in the DIF "
                                                    "analysis");
    if (cmp->distributed)
        st = sj_dist_agree(st, err);
    if (st == SJ_OK)
        st = build_tables(cmp, counts, n_group, err);
    if (st == SJ_OK) {
        long n_items = (long)n;
        /* GSL's error handler is process-wide; switch it off once around the
         * threads (singular systems are handled as results, see newton.c). */
        gsl_error_handler_t *old = gsl_set_error_handler_off();
#pragma omp parallel for schedule(dynamic)
        for (long i = 0; i < n_items; i++)
            analyse_item(cmp, (size_t)i, &counts[i], n_group + 2 * i, &rows[i]);
        gsl_set_error_handler(old);
    }
    for (size_t i = 0; counts && i < n; i++)
        sj_dif_counts_free(&counts[i]);
    free(counts);
    free(n_group);
    return st;
}

/* Purification: drop flagged items from the matching score until the
 * flagged set repeats (at most 10 rounds). Every round re-tabulates the
 * counts with the new anchor set (summed over the ranks again). Returns
 * rounds run, or -1 with err set. */
static int purify(comparison *cmp, sj_dif_item *rows, int *converged, sj_error *err)
{
    size_t n = cmp->d->n_items;
    *converged = 0;
    for (int round = 1; round <= 10; round++) {
        size_t kept = 0;
        for (size_t j = 0; j < n; j++) {
            cmp->in_matching[j] = !rows[j].flagged;
            kept += cmp->in_matching[j];
        }
        if (kept == 0 || (kept == 1 && cmp->opt->match == SJ_MATCH_REST)) {
            for (size_t j = 0; j < n; j++)
                add_note(&rows[j], "purification stopped: every item is flagged, so no "
                                   "anchor items remain; unpurified results reported");
            return round - 1;
        }
        int *before = malloc(n * sizeof *before);
        sj_status st = before ? SJ_OK : sj_error_set(err, SJ_ERR_WORK, "out of memory");
        if (cmp->distributed)
            st = sj_dist_agree(st, err);
        if (st != SJ_OK) {
            free(before);
            return -1;
        }
        for (size_t j = 0; j < n; j++)
            before[j] = rows[j].flagged;
        if (analyse_all(cmp, rows, err) != SJ_OK) {
            free(before);
            return -1;
        }
        int same = 1;
        for (size_t j = 0; j < n; j++)
            same &= before[j] == rows[j].flagged;
        free(before);
        if (same) {
            *converged = 1;
            return round;
        }
    }
    for (size_t j = 0; j < n; j++)
        add_note(&rows[j], "purification did not settle within 10 rounds; results of round 10");
    return 10;
}

static sj_status adjust_column(sj_dif_item *rows, size_t n, sj_adjust method, size_t p_off,
                               size_t adj_off, sj_item_type type, sj_error *err)
{
    double *p = calloc(n ? n : 1, sizeof *p);
    if (!p)
        return sj_error_set(err, SJ_ERR_WORK, "out of memory adjusting the DIF p-values");
    for (size_t i = 0; i < n; i++) {
        double v;
        memcpy(&v, (const char *)&rows[i] + p_off, sizeof v);
        p[i] = rows[i].type == type ? v : NAN;
    }
    sj_status st = sj_p_adjust(p, n, method, p, err);
    for (size_t i = 0; i < n && st == SJ_OK; i++)
        if (rows[i].type == type)
            memcpy((char *)&rows[i] + adj_off, &p[i], sizeof p[i]);
    free(p);
    return st;
}

#define ADJUST(field, type)                                                                        \
    adjust_column(rows, n, method, offsetof(sj_dif_item, field),                                   \
                  offsetof(sj_dif_item, field##_adj), type, err)

static sj_status adjust_all(sj_dif_item *rows, size_t n, sj_adjust method, sj_error *err)
{
    if (method == SJ_ADJUST_NONE)
        return SJ_OK;
    if (ADJUST(mh_p, SJ_ITEM_DICHOTOMOUS) != SJ_OK ||
        ADJUST(lr_p_uniform, SJ_ITEM_DICHOTOMOUS) != SJ_OK ||
        ADJUST(lr_p_nonuniform, SJ_ITEM_DICHOTOMOUS) != SJ_OK ||
        ADJUST(lr_p_joint, SJ_ITEM_DICHOTOMOUS) != SJ_OK ||
        ADJUST(mantel_p, SJ_ITEM_POLYTOMOUS) != SJ_OK ||
        ADJUST(olr_p_uniform, SJ_ITEM_POLYTOMOUS) != SJ_OK ||
        ADJUST(olr_p_nonuniform, SJ_ITEM_POLYTOMOUS) != SJ_OK ||
        ADJUST(olr_p_joint, SJ_ITEM_POLYTOMOUS) != SJ_OK)
        return SJ_ERR_WORK;
    return SJ_OK;
}

/* ---- the whole run -------------------------------------------------------- */

static sj_status check_groups(const sj_score_data *d, const sj_dif_options *opt, int *focal_idx,
                              sj_error *err)
{
    if (!opt->reference || opt->n_focal == 0)
        return sj_error_set(err, SJ_ERR_INPUT, "DIF needs a reference group and a focal group");
    sj_buf present = {0};
    if (sj_buf_quoted_list(&present, d->group_names, d->n_groups) != 0) {
        sj_buf_free(&present);
        return sj_error_set(err, SJ_ERR_WORK, "out of memory");
    }
    sj_status st = SJ_OK;
    const char *absent = NULL;
    if (sj_score_data_group(d, opt->reference) < 0)
        absent = opt->reference;
    for (size_t f = 0; !absent && f < opt->n_focal; f++) {
        focal_idx[f] = (int)sj_score_data_group(d, opt->focal[f]);
        if (focal_idx[f] < 0)
            absent = opt->focal[f];
    }
    if (absent) {
        st = sj_error_set(err, SJ_ERR_INPUT,
                          "group '%s' does not occur in the group column (groups present: %s)",
                          absent, present.data ? present.data : "none");
    } else {
        for (size_t f = 0; f < opt->n_focal && st == SJ_OK; f++) {
            if (strcmp(opt->focal[f], opt->reference) == 0)
                st = sj_error_set(err, SJ_ERR_INPUT,
                                  "group '%s' is named both reference and focal; name two "
                                  "different groups (groups present: %s)",
                                  opt->reference, present.data);
            for (size_t e = 0; e < f && st == SJ_OK; e++)
                if (strcmp(opt->focal[f], opt->focal[e]) == 0)
                    st = sj_error_set(err, SJ_ERR_INPUT, "focal group '%s' is named twice",
                                      opt->focal[f]);
        }
    }
    sj_buf_free(&present);
    return st;
}

static int person_complete(const sj_score_data *d, size_t p)
{
    for (size_t j = 0; j < d->n_items; j++)
        if (d->scores[p * d->n_items + j] == SJ_SCORE_MISSING)
            return 0;
    return 1;
}

/* Persons of the compared groups with every item answered, within this
 * process's share; the checks are on the counts over every rank. */
static sj_status select_persons(const sj_score_data *d, int ref, int focal, comparison *cmp,
                                sj_error *err)
{
    int64_t n_group[2] = {0, 0};
    cmp->n_persons = 0;
    for (size_t p = cmp->lo; p < cmp->hi; p++) {
        if ((d->group[p] != ref && d->group[p] != focal) || !person_complete(d, p))
            continue;
        cmp->persons[cmp->n_persons++] = p;
        n_group[d->group[p] == focal]++;
    }
    if (cmp->distributed && sj_dist_sum_int64(n_group, 2, err) != SJ_OK)
        return err->status;
    for (int g = 0; g < 2; g++)
        if (n_group[g] == 0)
            return sj_error_set(err, SJ_ERR_INPUT,
                                "group '%s' has no person with a score on every item; DIF needs "
                                "persons of both groups",
                                d->group_names[g ? focal : ref]);
    if (n_group[0] + n_group[1] < 2)
        return sj_error_set(err, SJ_ERR_INPUT, "DIF needs at least two persons, found %lld",
                            (long long)(n_group[0] + n_group[1]));
    return SJ_OK;
}

void sj_dif_result_free(sj_dif_result *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->n_rows; i++) {
        free(r->rows[i].item);
        free(r->rows[i].focal);
        stats_notes_free(&r->rows[i].notes, &r->rows[i].n_notes);
    }
    free(r->rows);
    free(r->reference);
    for (size_t f = 0; f < r->n_focal; f++)
        free(r->focal[f]);
    free(r->focal);
    free(r->purify_rounds);
    free(r->purify_converged);
    free(r->matching);
    free(r);
}

static sj_dif_result *new_result(const sj_score_data *d, const sj_dif_options *opt)
{
    sj_dif_result *r = sj_calloc(1, sizeof *r);
    if (!r)
        return NULL;
    r->n_focal = opt->n_focal;
    r->n_rows = opt->n_focal * d->n_items;
    r->rows = sj_calloc(r->n_rows ? r->n_rows : 1, sizeof *r->rows);
    r->focal = sj_calloc(opt->n_focal, sizeof *r->focal);
    r->reference = sj_strdup(opt->reference);
    r->purify_rounds = sj_calloc(opt->n_focal, sizeof *r->purify_rounds);
    r->purify_converged = sj_calloc(opt->n_focal, sizeof *r->purify_converged);
    r->matching = sj_calloc(r->n_rows ? r->n_rows : 1, sizeof *r->matching);
    if (!r->rows || !r->focal || !r->reference || !r->purify_rounds || !r->purify_converged ||
        !r->matching) {
        sj_dif_result_free(r);
        return NULL;
    }
    r->match = opt->match;
    r->purify = opt->purify;
    r->adjust = opt->adjust;
    r->min_cell = opt->min_cell;
    r->bd_tarone = opt->bd_tarone;
    for (size_t f = 0; f < opt->n_focal; f++) {
        r->focal[f] = sj_strdup(opt->focal[f]);
        for (size_t i = 0; i < d->n_items; i++) {
            sj_dif_item *it = &r->rows[f * d->n_items + i];
            it->item = sj_strdup(d->item_ids[i] ? d->item_ids[i] : "");
            it->focal = sj_strdup(opt->focal[f]);
            clear_statistics(it);
            if (!r->focal[f] || !it->item || !it->focal) {
                sj_dif_result_free(r);
                return NULL;
            }
        }
    }
    return r;
}

/* Dichotomous when every complete score of the compared groups is 0 or 1:
 * each rank looks at its share, a score other than 0/1 on any rank makes
 * the item polytomous. */
static sj_status classify_items(const comparison *cmp, const int *focal_idx, int *is_dichotomous,
                                sj_error *err)
{
    const sj_score_data *d = cmp->d;
    const sj_dif_options *opt = cmp->opt;
    int ref = cmp->ref;
    for (size_t j = 0; j < d->n_items; j++)
        is_dichotomous[j] = 1;
    for (size_t p = cmp->lo; p < cmp->hi; p++) {
        int compared = d->group[p] == ref;
        for (size_t f = 0; f < opt->n_focal; f++)
            compared |= d->group[p] == focal_idx[f];
        if (!compared || !person_complete(d, p))
            continue;
        for (size_t j = 0; j < d->n_items; j++) {
            int y = d->scores[p * d->n_items + j];
            if (y != 0 && y != 1)
                is_dichotomous[j] = 0;
        }
    }
    if (!cmp->distributed || sj_dist_size() == 1)
        return SJ_OK;
    for (size_t j = 0; j < d->n_items; j++)
        is_dichotomous[j] = !is_dichotomous[j]; /* polytomous somewhere: the maximum */
    sj_status st = sj_dist_max_int(is_dichotomous, d->n_items, err);
    for (size_t j = 0; j < d->n_items; j++)
        is_dichotomous[j] = !is_dichotomous[j];
    return st;
}

static sj_status run_comparison(comparison *cmp, sj_dif_result *r, size_t f, sj_error *err)
{
    size_t n = cmp->d->n_items;
    sj_dif_item *rows = r->rows + f * n;
    sj_status st = select_persons(cmp->d, cmp->ref, cmp->focal, cmp, err);
    if (st != SJ_OK)
        return st;
    cmp->reported = r->matching + f * n;
    for (size_t j = 0; j < n; j++)
        cmp->in_matching[j] = 1;
    if ((st = analyse_all(cmp, rows, err)) != SJ_OK)
        return st;
    if (cmp->opt->purify) {
        int rounds = purify(cmp, rows, &r->purify_converged[f], err);
        if (rounds < 0)
            return err->status;
        r->purify_rounds[f] = rounds;
    }
    return adjust_all(rows, n, cmp->opt->adjust, err);
}

/* Complete and incomplete persons of the compared groups, over every rank. */
static sj_status count_incomplete(const comparison *cmp, const int *focal_idx, size_t n_focal,
                                  sj_dif_result *r, sj_error *err)
{
    const sj_score_data *d = cmp->d;
    int ref = cmp->ref;
    int64_t n[2] = {0, 0}; /* used, left out */
    for (size_t p = cmp->lo; p < cmp->hi; p++) {
        int compared = d->group[p] == ref;
        for (size_t f = 0; f < n_focal; f++)
            compared |= d->group[p] == focal_idx[f];
        if (!compared)
            continue;
        n[!person_complete(d, p)]++;
    }
    sj_status st = cmp->distributed ? sj_dist_sum_int64(n, 2, err) : SJ_OK;
    r->n_persons_used = (long)n[0];
    r->n_excluded_incomplete = (long)n[1];
    return st;
}

sj_dif_result *sj_dif_run(const sj_score_data *d, const sj_dif_options *opt, sj_error *err)
{
    int *focal_idx = sj_calloc(opt->n_focal ? opt->n_focal : 1, sizeof *focal_idx);
    if (!focal_idx) {
        sj_error_set(err, SJ_ERR_WORK, "out of memory");
        return NULL;
    }
    if (check_groups(d, opt, focal_idx, err) != SJ_OK) {
        free(focal_idx);
        return NULL;
    }
    if (d->n_items == 0) {
        free(focal_idx);
        sj_error_set(err, SJ_ERR_INPUT, "DIF needs at least one item");
        return NULL;
    }
    comparison cmp = {
        .d = d, .opt = opt, .ref = (int)sj_score_data_group(d, opt->reference), .distributed = 1};
    sj_dist_share(d->n_persons, &cmp.lo, &cmp.hi);
    cmp.persons = malloc((d->n_persons ? d->n_persons : 1) * sizeof *cmp.persons);
    cmp.base = malloc((d->n_persons ? d->n_persons : 1) * sizeof *cmp.base);
    cmp.is_dichotomous = malloc(d->n_items * sizeof *cmp.is_dichotomous);
    cmp.in_matching = malloc(d->n_items * sizeof *cmp.in_matching);
    sj_dif_result *r = new_result(d, opt);
    sj_status st = SJ_OK;
    if (!cmp.persons || !cmp.base || !cmp.is_dichotomous || !cmp.in_matching || !r)
        st = sj_error_set(err, SJ_ERR_WORK, "out of memory");
    st = sj_dist_agree(st, err);
    if (st == SJ_OK)
        st = classify_items(&cmp, focal_idx, cmp.is_dichotomous, err);
    if (st == SJ_OK)
        st = count_incomplete(&cmp, focal_idx, opt->n_focal, r, err);
    for (size_t f = 0; f < opt->n_focal && st == SJ_OK; f++) {
        cmp.focal = focal_idx[f];
        st = run_comparison(&cmp, r, f, err);
    }
    free(cmp.persons);
    free(cmp.base);
    free(cmp.is_dichotomous);
    free(cmp.in_matching);
    free(focal_idx);
    if (st != SJ_OK) {
        sj_dif_result_free(r);
        return NULL;
    }
    return r;
}

/* ---- effect sizes on reweighted persons (the bootstrap) ------------------ */

/* The effect size of one item from its reweighted counts. */
static void item_effect(const sj_dif_counts *c, const sj_dif_item *row, sj_dif_effect *e)
{
    e->smd = e->smd_over_sd = e->delta_mh = NAN;
    if (!row->tested)
        return;
    if (row->type == SJ_ITEM_DICHOTOMOUS && c->n_cats == 2) {
        sj_mh mh;
        sj_mh_compute(c, 0, &mh);
        e->delta_mh = mh.delta;
    } else if (row->type == SJ_ITEM_POLYTOMOUS) {
        sj_mantel mt;
        sj_mantel_compute(c, &mt);
        e->smd = mt.smd;
        e->smd_over_sd = mt.smd_over_sd;
    }
}

/* One focal group's items, with r's matching items, from the tables of
 * this process alone. */
static sj_status focal_effects(comparison *cmp, const sj_dif_result *r, size_t f,
                               sj_dif_effect *out, sj_error *err)
{
    size_t n = cmp->d->n_items;
    memcpy(cmp->in_matching, r->matching + f * n, n * sizeof *cmp->in_matching);
    sj_dif_counts *counts = sj_calloc(n, sizeof *counts);
    long *n_group = malloc(2 * n * sizeof *n_group);
    sj_status st = counts && n_group ? build_tables(cmp, counts, n_group, err)
                                     : sj_error_set(err, SJ_ERR_WORK, "out of memory");
    for (size_t i = 0; st == SJ_OK && i < n; i++)
        item_effect(&counts[i], &r->rows[f * n + i], &out[f * n + i]);
    for (size_t i = 0; counts && i < n; i++)
        sj_dif_counts_free(&counts[i]);
    free(counts);
    free(n_group);
    return st;
}

sj_status sj_dif_effects(const sj_score_data *d, const sj_dif_result *r, const unsigned *weight,
                         sj_dif_effect *out, sj_error *err)
{
    if (r->n_rows != r->n_focal * d->n_items || r->n_rows == 0)
        return sj_error_set(err, SJ_ERR_INPUT, "the DIF result does not belong to these data");
    sj_dif_options opt;
    sj_dif_options_defaults(&opt);
    opt.match = r->match;
    /* not distributed: the ranks share out the replicates, not the persons */
    comparison cmp = {.d = d, .opt = &opt, .weight = weight, .lo = 0, .hi = d->n_persons};
    cmp.ref = (int)sj_score_data_group(d, r->reference);
    cmp.persons = malloc((d->n_persons ? d->n_persons : 1) * sizeof *cmp.persons);
    cmp.base = malloc((d->n_persons ? d->n_persons : 1) * sizeof *cmp.base);
    cmp.in_matching = malloc(d->n_items * sizeof *cmp.in_matching);
    sj_status st = SJ_OK;
    if (!cmp.persons || !cmp.base || !cmp.in_matching)
        st = sj_error_set(err, SJ_ERR_WORK, "out of memory");
    for (size_t f = 0; f < r->n_focal && st == SJ_OK; f++) {
        cmp.focal = (int)sj_score_data_group(d, r->focal[f]);
        if (cmp.ref < 0 || cmp.focal < 0)
            st = sj_error_set(err, SJ_ERR_INPUT, "the DIF result names groups these data lack");
        else if ((st = select_persons(d, cmp.ref, cmp.focal, &cmp, err)) == SJ_OK)
            st = focal_effects(&cmp, r, f, out, err);
    }
    free(cmp.persons);
    free(cmp.base);
    free(cmp.in_matching);
    return st;
}
