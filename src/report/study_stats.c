/* The study's summary: means over replications with t-intervals, shares,
 * and the targets of issue 17 per condition and scorer. */
#include <gsl/gsl_cdf.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "sjtalign/study.h"

sj_study_mean sj_study_mean_ci(const double *values, size_t n)
{
    sj_study_mean r = {NAN, NAN, NAN, 0};
    double sum = 0;
    for (size_t i = 0; i < n; i++)
        if (isfinite(values[i])) {
            sum += values[i];
            r.n++;
        }
    if (r.n == 0)
        return r;
    r.mean = sum / (double)r.n;
    if (r.n < 2)
        return r;
    double ss = 0;
    for (size_t i = 0; i < n; i++)
        if (isfinite(values[i]))
            ss += (values[i] - r.mean) * (values[i] - r.mean);
    double se = sqrt(ss / (double)(r.n - 1) / (double)r.n);
    /* The replications are independent draws of the same design, so the
     * mean's interval is Student's t with n - 1 degrees of freedom. */
    double t = gsl_cdf_tdist_Pinv(0.975, (double)(r.n - 1));
    r.lo = r.mean - t * se;
    r.hi = r.mean + t * se;
    return r;
}

const char *sj_target_state_name(sj_target_state s)
{
    return s == SJ_TARGET_MET ? "met" : s == SJ_TARGET_MISSED ? "missed" : "n/a";
}

/* A target "value >= threshold"; n/a when the value could not be taken. */
static sj_study_target at_least(const char *name, const char *rule, double value, double threshold)
{
    sj_study_target t = {name, rule, value, threshold, SJ_TARGET_NA};
    if (isfinite(value))
        t.state = value >= threshold - 1e-12 ? SJ_TARGET_MET : SJ_TARGET_MISSED;
    return t;
}

void sj_study_set_targets(sj_study_summary *sum)
{
    sj_study_target *t = sum->targets;
    size_t present = sum->n_ok - sum->n_missing;
    int applies = sum->model > 0 && present > 0;
    double na = NAN;
    t[0] = at_least("reduction", "mean reduction of |SMD/SD| on the biases SFT inherited >= 70%",
                    applies ? sum->reduction.mean : na, SJ_STUDY_REDUCTION_TARGET);
    t[1] = at_least("reduction_stretch",
                    "stretch: mean reduction of |SMD/SD| on the biases SFT inherited >= 80%",
                    applies ? sum->reduction.mean : na, SJ_STUDY_REDUCTION_STRETCH);
    t[2] = at_least("halved", "every inherited bias's |SMD/SD| halved in >= 90% of replications",
                    applies ? sum->halved_share : na, SJ_STUDY_HALVED_TARGET);
    t[3] = at_least("no_unbiased_flagged",
                    "no item without injected bias flagged (B/C, BB/CC) in >= 90% of replications",
                    applies ? 1 - sum->unbiased_flagged_share : na, SJ_STUDY_CLEAN_TARGET);
    /* Never below: the count of replications below SFT must be 0. */
    int truth_known = applies && sum->qwk_truth_change.n > 0;
    t[4] =
        (sj_study_target){"truth_qwk_not_below_sft", "QWK with the true scores never below SFT's",
                          truth_known ? (double)sum->truth_below : na, 0,
                          !truth_known       ? SJ_TARGET_NA
                          : sum->truth_below ? SJ_TARGET_MISSED
                                             : SJ_TARGET_MET};
}

/* ---- one condition x scorer ------------------------------------------------ */

static int has_figures(const sj_study_rep *r)
{
    return (r->status == SJ_STUDY_RAN || r->status == SJ_STUDY_UP_TO_DATE) && !r->error;
}

/* Per replication: the mean reduction over the biased items with one (only
 * those SFT inherited when `inherited_only`), and whether every such item
 * was halved (-1 when none has a reduction). */
static double rep_reduction(const sj_study_model_fig *f, size_t n_items, int inherited_only,
                            int *halved)
{
    double sum = 0;
    size_t n = 0;
    *halved = 1;
    for (size_t b = 0; b < n_items; b++)
        if (isfinite(f->items[b].reduction) && (f->items[b].inherited || !inherited_only)) {
            sum += f->items[b].reduction;
            n++;
            *halved &= f->items[b].reduction >= 0.5;
        }
    if (n == 0)
        *halved = -1;
    return n ? sum / (double)n : NAN;
}

static double share(size_t count, size_t of)
{
    return of ? (double)count / (double)of : NAN;
}

/* Scratch columns, one value per replication of the condition. */
enum { COL_RED, COL_RED_ALL, COL_MADE, COL_QT, COL_QH, COL_DQT, COL_DQH, COL_KL, N_COLS };

static void summarise_items(sj_study_summary *sum, const sj_study_rep *const *reps, size_t n,
                            double *scratch)
{
    for (size_t b = 0; b < sum->n_items; b++) {
        double *sft = scratch, *model = scratch + n, *red = scratch + 2 * n,
               *red_all = scratch + 3 * n;
        size_t halved = 0, with = 0, inherited = 0;
        for (size_t i = 0; i < n; i++) {
            const sj_study_item_fig *x = &reps[i]->models[sum->model].items[b];
            sft[i] = x->abs_sft;
            model[i] = x->abs_model;
            red_all[i] = x->reduction;
            red[i] = x->inherited ? x->reduction : NAN;
            inherited += x->inherited != 0;
            with += isfinite(red[i]);
            halved += isfinite(red[i]) && red[i] >= 0.5;
        }
        sum->items[b].abs_sft = sj_study_mean_ci(sft, n);
        sum->items[b].abs_model = sj_study_mean_ci(model, n);
        sum->items[b].reduction = sj_study_mean_ci(red, n);
        sum->items[b].reduction_all = sj_study_mean_ci(red_all, n);
        sum->items[b].halved_share = share(halved, with);
        sum->items[b].inherited_share = share(inherited, n);
    }
}

static void summarise_reps(sj_study_summary *sum, const sj_study_rep *const *reps, size_t n,
                           double *col[N_COLS])
{
    size_t halved = 0, with = 0, unbiased = 0, made = 0, inherited = 0;
    for (size_t i = 0; i < n; i++) {
        const sj_study_model_fig *f = &reps[i]->models[sum->model];
        const sj_study_model_fig *sft = &reps[i]->models[0];
        int all_halved, ignored;
        col[COL_RED][i] = rep_reduction(f, sum->n_items, 1, &all_halved);
        col[COL_RED_ALL][i] = rep_reduction(f, sum->n_items, 0, &ignored);
        with += all_halved >= 0;
        halved += all_halved == 1;
        for (size_t b = 0; b < sum->n_items; b++)
            inherited += f->items[b].inherited != 0;
        unbiased += f->n_unbiased_flagged > 0;
        made += f->n_machine_made > 0;
        col[COL_MADE][i] = f->n_machine_made;
        col[COL_QT][i] = f->qwk_truth;
        col[COL_QH][i] = f->qwk_human;
        col[COL_DQT][i] = f->qwk_truth - sft->qwk_truth;
        col[COL_DQH][i] = f->qwk_human - sft->qwk_human;
        col[COL_KL][i] = f->kl;
        sum->truth_below += f->qwk_truth < sft->qwk_truth;
        sum->hacking += f->hacking != 0;
    }
    sum->reduction = sj_study_mean_ci(col[COL_RED], n);
    sum->reduction_all = sj_study_mean_ci(col[COL_RED_ALL], n);
    sum->halved_share = share(halved, with);
    sum->inherited_share = share(inherited, n * sum->n_items);
    sum->unbiased_flagged_share = share(unbiased, n);
    sum->machine_made_share = share(made, n);
    sum->machine_made = sj_study_mean_ci(col[COL_MADE], n);
    sum->qwk_truth = sj_study_mean_ci(col[COL_QT], n);
    sum->qwk_human = sj_study_mean_ci(col[COL_QH], n);
    sum->qwk_truth_change = sj_study_mean_ci(col[COL_DQT], n);
    sum->qwk_human_change = sj_study_mean_ci(col[COL_DQH], n);
    sum->kl = sj_study_mean_ci(col[COL_KL], n);
}

static sj_status summarise_one(const sj_study_spec *s, const sj_study_rep *reps, size_t n_reps,
                               sj_study_summary *sum, sj_error *err)
{
    const sj_study_condition *cond = &s->conditions[sum->condition];
    const sj_study_rep **mine = calloc(n_reps + 1, sizeof *mine);
    double *scratch = calloc((n_reps + 1) * (N_COLS > 4 ? N_COLS : 4), sizeof *scratch);
    sum->n_items = cond->n_biased;
    sum->items = calloc(cond->n_biased + 1, sizeof *sum->items);
    if (!mine || !scratch || !sum->items) {
        free(mine);
        free(scratch);
        return sj_error_set(err, SJ_ERR_WORK, "out of memory summarising the study");
    }
    size_t n = 0;
    for (size_t i = 0; i < n_reps; i++) {
        if (reps[i].condition != sum->condition)
            continue;
        if (!has_figures(&reps[i])) {
            sum->n_failed += reps[i].status == SJ_STUDY_FAILED;
            continue;
        }
        sum->n_ok++;
        if (reps[i].models[sum->model].present)
            mine[n++] = &reps[i];
        else
            sum->n_missing++;
    }
    for (size_t b = 0; b < cond->n_biased; b++)
        sum->items[b].item = cond->biased[b];
    double *col[N_COLS];
    for (int k = 0; k < N_COLS; k++)
        col[k] = scratch + (size_t)k * (n_reps + 1);
    summarise_items(sum, mine, n, scratch);
    summarise_reps(sum, mine, n, col);
    sj_study_set_targets(sum);
    free(mine);
    free(scratch);
    return SJ_OK;
}

sj_status sj_study_summarise(const sj_study_spec *s, const sj_study_rep *reps, size_t n_reps,
                             sj_study_summary **out, sj_error *err)
{
    size_t n = s->n_conditions * SJ_STUDY_MODELS;
    sj_study_summary *sums = calloc(n, sizeof *sums);
    if (!sums)
        return sj_error_set(err, SJ_ERR_WORK, "out of memory summarising the study");
    sj_status st = SJ_OK;
    for (size_t i = 0; i < n && st == SJ_OK; i++) {
        sums[i].condition = i / SJ_STUDY_MODELS;
        sums[i].model = (int)(i % SJ_STUDY_MODELS);
        st = summarise_one(s, reps, n_reps, &sums[i], err);
    }
    if (st != SJ_OK) {
        sj_study_summaries_free(sums, n);
        return st;
    }
    *out = sums;
    return SJ_OK;
}

void sj_study_summaries_free(sj_study_summary *sums, size_t n)
{
    if (!sums)
        return;
    for (size_t i = 0; i < n; i++)
        free(sums[i].items);
    free(sums);
}
