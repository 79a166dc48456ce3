/* grad_check MODEL INSTRUMENT PAIRS: the gradient identity of data-parallel
 * training, through the code the training commands run.
 *
 * For each objective (ce: pretrain and sft; reward; dpo) every rank first
 * computes the single-process full-batch gradient (the share [0, B) and no
 * exchange: what a one-process run computes), then its own share of the
 * same batch (sj_dist_share) followed by the step's exchange
 * (sj_train_exchange), as the commands do. Rank 0 prints one line per
 * objective:
 *   NAME ranks=N max_abs=X rel_l2=Y loss_rel=Z
 * X: the largest |summed - full-batch| gradient entry, Y: the L2 norm of
 * the difference over that of the full-batch gradient, Z: the relative
 * difference of the step's loss. With one rank every figure is 0 exactly.
 * The ce line also says whether sj_lm_ce_step_rows on [0, B) gives
 * sj_lm_ce_step's gradient bit for bit (ce_step_same=1). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "align_internal.h"
#include "sjtalign/dist.h"
#include "sjtalign/io.h"

enum { ROWS = 7, UNITS = 7 };

typedef struct {
    double max_abs, rel_l2, loss_rel;
} gap;

static gap compare(const float *got, const float *ref, size_t n, double loss, double loss_ref)
{
    gap g = {0.0, 0.0, 0.0};
    double diff2 = 0.0, ref2 = 0.0;
    for (size_t i = 0; i < n; i++) {
        double d = fabs((double)got[i] - (double)ref[i]);
        g.max_abs = d > g.max_abs ? d : g.max_abs;
        diff2 += d * d;
        ref2 += (double)ref[i] * ref[i];
    }
    g.rel_l2 = ref2 > 0 ? sqrt(diff2 / ref2) : sqrt(diff2);
    g.loss_rel = fabs(loss - loss_ref) / (fabs(loss_ref) > 0 ? fabs(loss_ref) : 1.0);
    return g;
}

static void report(const char *name, gap g, const char *extra)
{
    if (sj_dist_is_root())
        printf("%s ranks=%d max_abs=%.3g rel_l2=%.3g loss_rel=%.3g%s\n", name, sj_dist_size(),
               g.max_abs, g.rel_l2, g.loss_rel, extra);
}

/* A batch of ROWS random sequences of decreasing length, the first three
 * targets of each weighted 0 (a prompt), the others between 0.5 and 1.5. */
static sj_lm_batch *random_batch(const sj_lm *m, sj_error *err)
{
    int T = m->cfg.ctx;
    sj_lm_batch *batch = sj_lm_batch_new(ROWS, T);
    int32_t *seq = malloc((size_t)(T + 1) * sizeof *seq);
    float *w = malloc((size_t)T * sizeof *w);
    gsl_rng *rng = sj_rng_new(7);
    sj_status st = batch && seq && w && rng ? SJ_OK : SJ_ERR_WORK;
    for (int b = 0; b < ROWS && st == SJ_OK; b++) {
        int len = T + 1 - 3 * b < 6 ? 6 : T + 1 - 3 * b;
        for (int t = 0; t < len; t++)
            seq[t] = (int32_t)gsl_rng_uniform_int(rng, (unsigned long)m->cfg.vocab);
        for (int t = 0; t < len - 1; t++)
            w[t] = t < 3 ? 0.0f : (float)(0.5 + gsl_rng_uniform(rng));
        st = sj_lm_batch_set(batch, b, seq, len, w, err);
    }
    free(seq);
    free(w);
    sj_rng_free(rng);
    if (st != SJ_OK) {
        sj_lm_batch_free(batch);
        return NULL;
    }
    return batch;
}

static sj_status check_ce(sj_lm *m, float *ref, sj_error *err)
{
    sj_lm_batch *batch = random_batch(m, err);
    if (!batch)
        return SJ_ERR_WORK;
    size_t n = m->n_params, lo, hi;
    double loss_ref = 0.0, loss_step = 0.0, loss = 0.0;
    sj_lm_zero_grad(m);
    sj_status st = sj_lm_ce_step(m, batch, &loss_step, err);
    memcpy(ref, m->grads, n * sizeof *ref);
    sj_lm_zero_grad(m);
    if (st == SJ_OK)
        st = sj_lm_ce_step_rows(m, batch, 0, ROWS, &loss_ref, err);
    int same = st == SJ_OK && loss_ref == loss_step && memcmp(ref, m->grads, n * sizeof *ref) == 0;
    memcpy(ref, m->grads, n * sizeof *ref);
    sj_dist_share(ROWS, &lo, &hi);
    sj_lm_zero_grad(m);
    if (st == SJ_OK)
        st = sj_lm_ce_step_rows(m, batch, (int)lo, (int)hi, &loss, err);
    if (st == SJ_OK)
        st = sj_train_exchange(m, NULL, 0, &loss, 1, err);
    if (st == SJ_OK)
        report("ce", compare(m->grads, ref, n, loss, loss_ref),
               same ? " ce_step_same=1" : " ce_step_same=0");
    sj_lm_batch_free(batch);
    return st;
}

/* The model's gradient then the head's, side by side. */
static void join(const sj_lm *m, const float *head_grad, size_t n_head, float *out)
{
    memcpy(out, m->grads, m->n_params * sizeof *out);
    memcpy(out + m->n_params, head_grad, n_head * sizeof *out);
}

static sj_status check_reward(sj_lm *m, const sja_pair_seqs *d, const sja_pair_units *u, float *ref,
                              float *got, sj_error *err)
{
    size_t n_head = (size_t)m->cfg.embd + 2, pick[UNITS], lo, hi;
    float *head = malloc(n_head * sizeof *head), *head_grad = malloc(n_head * sizeof *head_grad);
    gsl_rng *rng = sj_rng_new(11);
    sj_status st = head && head_grad && rng ? SJ_OK : sj_error_set(err, SJ_ERR_WORK, "no memory");
    for (size_t k = 0; k < n_head && st == SJ_OK; k++)
        head[k] = (float)(gsl_rng_uniform(rng) - 0.5);
    for (int b = 0; b < UNITS; b++)
        pick[b] = (size_t)b * 3 % u->n;
    double ref_sums[3], sums[3];
    if (st == SJ_OK)
        st = sja_reward_share_step(m, head, head_grad, d, u, pick, UNITS, 0, UNITS, 0.0, ref_sums,
                                   err);
    if (st == SJ_OK)
        join(m, head_grad, n_head, ref);
    sj_dist_share(UNITS, &lo, &hi);
    if (st == SJ_OK)
        st = sja_reward_share_step(m, head, head_grad, d, u, pick, UNITS, lo, hi, 0.0, sums, err);
    if (st == SJ_OK)
        st = sj_train_exchange(m, head_grad, n_head, sums, 3, err);
    if (st == SJ_OK) {
        join(m, head_grad, n_head, got);
        report("reward", compare(got, ref, m->n_params + n_head, sums[0], ref_sums[0]), "");
    }
    free(head);
    free(head_grad);
    sj_rng_free(rng);
    return st;
}

static sj_status check_dpo(sj_lm *m, const sja_pair_seqs *d, const sja_pair_units *u, float *ref,
                           sj_error *err)
{
    size_t pick[UNITS], lo, hi;
    double *r1 = malloc(u->n * sizeof *r1), *r2 = malloc(u->n * sizeof *r2);
    if (!r1 || !r2) {
        free(r1);
        free(r2);
        return sj_error_set(err, SJ_ERR_WORK, "out of memory");
    }
    /* any fixed reference log-probs make a DPO objective */
    for (size_t g = 0; g < u->n; g++) {
        r1[g] = -4.0 - 0.01 * (double)g;
        r2[g] = -4.5 + 0.02 * (double)g;
    }
    for (int b = 0; b < UNITS; b++)
        pick[b] = (size_t)b * 5 % u->n;
    sja_dpo_batch batch = {d, u, r1, r2, 0.1};
    double ref_sums[7], sums[7];
    sj_status st = sja_dpo_share_step(m, &batch, pick, UNITS, 0, UNITS, ref_sums, err);
    memcpy(ref, m->grads, m->n_params * sizeof *ref);
    sj_dist_share(UNITS, &lo, &hi);
    if (st == SJ_OK)
        st = sja_dpo_share_step(m, &batch, pick, UNITS, lo, hi, sums, err);
    if (st == SJ_OK)
        st = sj_train_exchange(m, NULL, 0, sums, 7, err);
    if (st == SJ_OK)
        report("dpo", compare(m->grads, ref, m->n_params, sums[0], ref_sums[0]), "");
    free(r1);
    free(r2);
    return st;
}

/* The judged pairs of PAIRS as a reward model and DPO read them. */
static sj_status load_pairs(sja_model *model, const sj_instrument *ins, const char *path,
                            sja_pair_seqs *d, sja_pair_units *u, sj_error *err)
{
    sja_pairs *pairs = sja_pairs_read(path, ins, err);
    if (!pairs)
        return SJ_ERR_INPUT;
    sj_status st = sja_pairs_encode(&model->codec, ins, pairs, NULL, 1, path, "grad_check", d, err);
    if (st == SJ_OK)
        st = sja_pair_units_build(d, u, err);
    if (st == SJ_OK && u->n == 0)
        st = sj_error_set(err, SJ_ERR_INPUT, "%s: no pair with two different completions", path);
    sja_pairs_free(pairs);
    return st;
}

static sj_status run(const char *model_dir, const char *ins_path, const char *pairs_path,
                     sj_error *err)
{
    sj_instrument *ins = sj_instrument_load(ins_path, err);
    sja_model *model = ins ? sja_model_load(model_dir, ins, err) : NULL;
    if (!model) {
        sj_instrument_free(ins);
        return SJ_ERR_INPUT;
    }
    sja_pair_seqs d = {0};
    sja_pair_units u = {0};
    sj_lm *m = model->ck->model;
    size_t n = m->n_params + (size_t)m->cfg.embd + 2;
    float *ref = malloc(n * sizeof *ref), *got = malloc(n * sizeof *got);
    sj_status st = ref && got ? load_pairs(model, ins, pairs_path, &d, &u, err)
                              : sj_error_set(err, SJ_ERR_WORK, "out of memory");
    if (st == SJ_OK)
        st = check_ce(m, ref, err);
    if (st == SJ_OK)
        st = check_reward(m, &d, &u, ref, got, err);
    if (st == SJ_OK)
        st = check_dpo(m, &d, &u, ref, err);
    free(ref);
    free(got);
    sja_pair_units_free(&u);
    sja_pair_seqs_free(&d);
    sja_model_free(model);
    sj_instrument_free(ins);
    return st;
}

int main(int argc, char **argv)
{
    sj_error err;
    sj_error_clear(&err);
    if (sj_dist_init(&argc, &argv, &err) != SJ_OK) {
        fprintf(stderr, "grad_check: %s\n", err.msg);
        return 1;
    }
    if (argc != 4) {
        fprintf(stderr, "usage: grad_check MODEL INSTRUMENT PAIRS\n");
        sj_dist_finalize();
        return 2;
    }
    sj_lm_set_threads(1);
    sj_status st = run(argv[1], argv[2], argv[3], &err);
    if (st != SJ_OK) {
        fprintf(sj_dist_error_stream(), "grad_check (rank %d): %s\n", sj_dist_rank(), err.msg);
        sj_dist_abort(1);
    }
    sj_dist_finalize();
    return 0;
}
