/* The training loop shared by every training command (pretrain here; sft,
 * reward, ppo and dpo through src/align/stage.c): the step, the evaluation
 * schedule, the log, the progress bar, stopping with a checkpoint, and the
 * best state seen by the evaluations. It knows nothing of what a step does. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "lm_internal.h"
#include "sjtalign/dist.h"

long sj_warmup_steps(long steps, double fraction)
{
    if (!(fraction > 0.0) || steps <= 0)
        return 0;
    /* the small slack keeps a product like 30 * 0.1 from landing just
     * below its whole number */
    return (long)floor((double)steps * fraction + 1e-9);
}

void sj_train_line_add(sj_train_line *line, const char *name, double value)
{
    if (line->n == line->cap) {
        size_t cap = line->cap ? 2 * line->cap : 16;
        sj_lm_metric *m = realloc(line->metrics, cap * sizeof *m);
        if (!m) {
            line->failed = 1;
            return;
        }
        line->metrics = m;
        line->cap = cap;
    }
    line->metrics[line->n++] = (sj_lm_metric){name, value};
}

/* ---- the best state ------------------------------------------------------------------ */

void sj_train_best_init(sj_train_best *b)
{
    memset(b, 0, sizeof *b);
    b->step = -1;
    b->score[0] = b->score[1] = NAN;
}

sj_status sj_train_best_track(sj_train_best *b, float *data, size_t n, sj_error *err)
{
    size_t k = b->n_tensors;
    float **live = realloc(b->live, (k + 1) * sizeof *live);
    if (live)
        b->live = live;
    float **copy = realloc(b->copy, (k + 1) * sizeof *copy);
    if (copy)
        b->copy = copy;
    size_t *len = realloc(b->len, (k + 1) * sizeof *len);
    if (len)
        b->len = len;
    float *c = malloc((n ? n : 1) * sizeof *c);
    if (!live || !copy || !len || !c) {
        free(c);
        return sj_error_set(err, SJ_ERR_WORK, "out of memory");
    }
    memcpy(c, data, n * sizeof *c);
    b->live[k] = data;
    b->copy[k] = c;
    b->len[k] = n;
    b->n_tensors = k + 1;
    return SJ_OK;
}

sj_status sj_train_best_track_number(sj_train_best *b, double *slot, sj_error *err)
{
    size_t k = b->n_numbers;
    double **live = realloc(b->live_number, (k + 1) * sizeof *live);
    if (live)
        b->live_number = live;
    double *copy = realloc(b->copy_number, (k + 1) * sizeof *copy);
    if (copy)
        b->copy_number = copy;
    if (!live || !copy)
        return sj_error_set(err, SJ_ERR_WORK, "out of memory");
    b->live_number[k] = slot;
    b->copy_number[k] = *slot;
    b->n_numbers = k + 1;
    return SJ_OK;
}

static int better(const double a[2], const double b[2])
{
    if (isnan(a[0]))
        return 0;
    if (isnan(b[0]) || a[0] > b[0])
        return 1;
    if (a[0] < b[0])
        return 0;
    return !isnan(a[1]) && (isnan(b[1]) || a[1] > b[1]);
}

int sj_train_best_offer(sj_train_best *b, long step, const double score[2])
{
    b->evaluations++;
    if (!better(score, b->score))
        return 0;
    b->step = step;
    b->score[0] = score[0];
    b->score[1] = score[1];
    for (size_t k = 0; k < b->n_tensors; k++)
        memcpy(b->copy[k], b->live[k], b->len[k] * sizeof **b->copy);
    for (size_t k = 0; k < b->n_numbers; k++)
        b->copy_number[k] = *b->live_number[k];
    return 1;
}

void sj_train_best_restore(const sj_train_best *b)
{
    if (b->step < 0)
        return;
    for (size_t k = 0; k < b->n_tensors; k++)
        memcpy(b->live[k], b->copy[k], b->len[k] * sizeof **b->copy);
    for (size_t k = 0; k < b->n_numbers; k++)
        *b->live_number[k] = b->copy_number[k];
}

void sj_train_best_free(sj_train_best *b)
{
    for (size_t k = 0; k < b->n_tensors; k++)
        free(b->copy[k]);
    free(b->live);
    free(b->copy);
    free(b->len);
    free(b->live_number);
    free(b->copy_number);
    sj_train_best_init(b);
}

/* ---- the ranks of a data-parallel run ------------------------------------------------ */

enum { EXCHANGE_MAX_SUMS = 16 };

sj_status sj_train_exchange(sj_lm *m, float *head_grad, size_t n_head, double *sums, size_t n_sums,
                            sj_error *err)
{
    if (n_sums > EXCHANGE_MAX_SUMS)
        return sj_error_set(err, SJ_ERR_WORK, "a training step's exchange of more than %d sums",
                            EXCHANGE_MAX_SUMS);
    float packed[2 * EXCHANGE_MAX_SUMS];
    for (size_t k = 0; k < n_sums; k++)
        sj_dist_pack_double(sums[k], packed + 2 * k);
    sj_dist_span spans[3];
    size_t n = 0;
    spans[n++] = (sj_dist_span){m->grads, m->n_params};
    if (head_grad && n_head)
        spans[n++] = (sj_dist_span){head_grad, n_head};
    if (n_sums)
        spans[n++] = (sj_dist_span){packed, 2 * n_sums};
    sj_status st = sj_dist_exchange(spans, n, err);
    /* one process keeps its own doubles: a packed pair is not always the
     * double it came from */
    if (st == SJ_OK && sj_dist_size() > 1)
        for (size_t k = 0; k < n_sums; k++)
            sums[k] = sj_dist_unpack_double(packed + 2 * k);
    return st;
}

sj_status sj_train_same_weights(const sj_lm *m, const float *head, size_t n_head, sj_error *err)
{
    if (sj_dist_size() == 1)
        return SJ_OK;
    char hex[2][65];
    sj_sha256_hex(m->params, m->n_params * sizeof *m->params, hex[0]);
    sj_sha256_hex(head ? (const void *)head : "", head ? n_head * sizeof *head : 0, hex[1]);
    sj_error why;
    /* the same on every rank: all leave together */
    if (sj_dist_same_bytes("the model's weights", hex, sizeof hex, &why) == SJ_OK)
        return SJ_OK;
    return sj_error_set(err, SJ_ERR_WORK,
                        "the ranks' copies of the model differ after training; every rank must "
                        "run the same build on the same kind of CPU");
}

sj_status sj_train_agree_score(double score[2], sj_error *err)
{
    /* every rank evaluates the same data with the same weights; rank 0's
     * score decides, so keep-best takes the same step on every rank even
     * if a rank's rounding differed */
    return sj_dist_broadcast(score, 2 * sizeof *score, err);
}

/* ---- the loop ------------------------------------------------------------------------------ */

int sj_train_eval_due(const sj_train_opts *o, long done, int last)
{
    return last || (o->eval_first && done == 1) || (o->eval_every > 0 && done % o->eval_every == 0);
}

/* The evaluation of one step, when due, offered to the best state. */
static sj_status evaluate_step(const sj_train_opts *o, const sj_train_hooks *h, long done, int last,
                               sj_train_line *line, sj_error *err)
{
    if (!h->evaluate || !sj_train_eval_due(o, done, last))
        return SJ_OK;
    double score[2] = {NAN, NAN};
    sj_status st = h->evaluate(h->ctx, done, last, line, score, err);
    if (st == SJ_OK)
        st = sj_train_agree_score(score, err);
    if (st == SJ_OK && o->best)
        sj_train_best_offer(o->best, done, score);
    return st;
}

static int stop_requested(const sj_train_opts *o, long done)
{
    if (done >= o->steps)
        return 0;
    /* Under MPI the ranks stop after the same step: the one after which
     * a step's gradient exchange carried an interrupt from any rank. */
    int interrupted =
        sj_dist_size() > 1 ? sj_dist_stop_agreed() : o->interrupted != NULL && *o->interrupted;
    return (o->stop_after > 0 && done >= o->stop_after) || interrupted;
}

sj_status sj_train_run(const sj_train_opts *o, const sj_train_hooks *h, sj_train_result *res,
                       sj_error *err)
{
    memset(res, 0, sizeof *res);
    res->done = o->done;
    sj_progress bar;
    sj_progress_start(&bar, o->label, o->steps);
    if (o->quiet)
        bar.quiet = 1;
    if (o->done > 0)
        sj_progress_update(&bar, o->done, NULL);
    sj_train_line line = {0};
    sj_status st = SJ_OK;
    for (long step = o->done; step < o->steps && st == SJ_OK; step++) {
        line.n = 0;
        line.progress[0] = '\0';
        line.finish = 0;
        long done = step + 1;
        st = h->step(h->ctx, step, &line, err);
        if (st == SJ_OK)
            st = evaluate_step(o, h, done, done == o->steps || line.finish, &line, err);
        if (st == SJ_OK && line.failed)
            st = sj_error_set(err, SJ_ERR_WORK, "out of memory");
        if (st == SJ_OK)
            st = sj_lm_log_append(o->log, done, line.metrics, line.n, err);
        if (st != SJ_OK)
            break;
        if (line.finish) {
            res->finished_early = 1;
            break;
        }
        res->done = done;
        sj_progress_update(&bar, done, line.progress[0] ? line.progress : NULL);
        int stop = stop_requested(o, done);
        int periodic = o->save_every > 0 && done % o->save_every == 0 && done < o->steps;
        if (h->checkpoint && (stop || periodic))
            st = h->checkpoint(h->ctx, done, err);
        if (stop) {
            res->stopped = done;
            bar.total = done; /* the bar ends where training stopped */
            break;
        }
    }
    free(line.metrics);
    char text[128] = "";
    if (st != SJ_OK)
        snprintf(text, sizeof text, "failed");
    else if (h->finish_text)
        h->finish_text(h->ctx, res->stopped, text, sizeof text);
    sj_progress_finish(&bar, text[0] ? text : NULL);
    return st;
}
