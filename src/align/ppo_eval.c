/* PPO's fixed evaluation set: exact (not sampled) measures of the policy on
 * the same prompts at intervals, so that the course of training is not lost
 * in the noise of one batch of rollouts. On each prompt the policy's score
 * distribution p is read in one forward pass; with the reference's p_ref
 * and the frozen reward model's reward of every level known once, the
 * expected reward, the KL(p || p_ref) over the score levels and, with a
 * gold judge, the expected distance from the true score follow exactly.
 *
 * Under MPI each rank holds and measures its share of the prompts
 * (sj_dist_share); the sums over the prompts are then summed over the
 * ranks, so every rank gets the same figures (and keep-best decision). */
#include "align_internal.h"
#include "sjtalign/dist.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

void sja_ppo_eval_free(sja_ppo_eval *e)
{
    if (!e)
        return;
    for (size_t i = 0; i < e->n; i++)
        sja_seq_free(&e->prompts[i]);
    free(e->prompts);
    free(e->ref_p);
    free(e->reward);
    free(e->truth);
    free(e->p);
    free(e);
}

static sj_status level_rewards(sja_reward_model *rm, const sj_instrument *ins,
                               const sj_responses *data, const size_t *rows, size_t n, int L,
                               double *out, sj_error *err)
{
    const sja_codec *c = &rm->base->codec;
    sja_seq *seqs = sj_calloc(n * (size_t)L, sizeof *seqs);
    sj_status st = seqs ? SJ_OK : sj_error_set(err, SJ_ERR_WORK, "out of memory");
    for (size_t i = 0; i < n && st == SJ_OK; i++) {
        size_t item = data->item_index[rows[i]];
        const char *text = sj_table_cell(data->table, rows[i], (size_t)data->col_text);
        for (int k = 0; k < L && st == SJ_OK; k++) {
            char *completion = sja_completion_text(ins, item, c->score_min + k, c->rationale);
            st = completion ? sja_encode_example(c, ins, item, text, completion,
                                                 &seqs[i * (size_t)L + (size_t)k], err)
                            : sj_error_set(err, SJ_ERR_WORK, "out of memory");
            free(completion);
        }
    }
    if (st == SJ_OK)
        st = sja_reward_score(rm, seqs, n * (size_t)L, 32, out, err);
    for (size_t i = 0; seqs && i < n * (size_t)L; i++)
        sja_seq_free(&seqs[i]);
    free(seqs);
    return st;
}

sja_ppo_eval *sja_ppo_eval_new(sj_lm *policy, const sja_codec *codec, sja_reward_model *rm,
                               const sj_instrument *ins, const sj_responses *data,
                               const sja_truth *truth, size_t size, uint64_t seed, sj_error *err)
{
    const sj_table *t = data->table;
    size_t n = size < t->n_rows ? size : t->n_rows;
    int L = codec->n_levels;
    sja_ppo_eval *e = sj_calloc(1, sizeof *e);
    gsl_rng *rng = sj_rng_new(sj_seed_derive(seed, "ppo-eval"));
    size_t *perm = rng ? sja_permutation(rng, t->n_rows) : NULL;
    if (e) {
        e->n = n;
        e->n_levels = L;
        e->score_min = codec->score_min;
        e->prompts = sj_calloc(n ? n : 1, sizeof *e->prompts);
        e->ref_p = malloc((n ? n : 1) * (size_t)L * sizeof *e->ref_p);
        e->reward = malloc((n ? n : 1) * (size_t)L * sizeof *e->reward);
        e->truth = malloc((n ? n : 1) * sizeof *e->truth);
        e->p = malloc((n ? n : 1) * (size_t)L * sizeof *e->p);
    }
    sj_status st = (e && perm && e->prompts && e->ref_p && e->reward && e->truth && e->p)
                       ? SJ_OK
                       : sj_error_set(err, SJ_ERR_WORK, "out of memory");
    size_t lo, hi;
    sj_dist_share(n, &lo, &hi);
    for (size_t i = lo; i < hi && st == SJ_OK; i++) {
        size_t r = perm[i], item = data->item_index[r];
        st = sja_encode_prompt(codec, ins, item, sj_table_cell(t, r, (size_t)data->col_text),
                               codec->max_completion, &e->prompts[i], err);
        e->truth[i] =
            truth ? sja_truth_lookup(truth, sj_table_cell(t, r, (size_t)data->col_person), item)
                  : NAN;
    }
    size_t off = lo * (size_t)L;
    if (st == SJ_OK && hi > lo)
        st = sja_score_levels(policy, codec, e->prompts + lo, hi - lo, 64, e->ref_p + off, NULL,
                              NULL, err);
    if (st == SJ_OK && hi > lo)
        st = level_rewards(rm, ins, data, perm + lo, hi - lo, L, e->reward + off, err);
    free(perm);
    sj_rng_free(rng);
    if (st != SJ_OK) {
        sja_ppo_eval_free(e);
        return NULL;
    }
    return e;
}

/* This rank's sums over its share of the prompts: reward, KL, gold, exact
 * and the prompts with a true score. */
static void eval_sums(const sja_ppo_eval *e, size_t lo, size_t hi, double sums[5])
{
    int L = e->n_levels;
    double reward = 0.0, kl = 0.0, gold = 0.0, exact = 0.0, n_gold = 0.0;
    for (size_t i = lo; i < hi; i++) {
        const double *p = e->p + i * (size_t)L, *q = e->ref_p + i * (size_t)L;
        for (int k = 0; k < L; k++) {
            reward += p[k] * e->reward[i * (size_t)L + (size_t)k];
            if (p[k] > 0)
                kl += p[k] * (log(p[k]) - log(q[k] > 1e-300 ? q[k] : 1e-300));
        }
        if (!isnan(e->truth[i])) {
            for (int k = 0; k < L; k++)
                gold -= p[k] * fabs((double)(e->score_min + k) - e->truth[i]);
            exact += (double)(e->score_min + sja_mode_level(p, L)) == e->truth[i];
            n_gold++;
        }
    }
    sums[0] = reward;
    sums[1] = kl;
    sums[2] = gold;
    sums[3] = exact;
    sums[4] = n_gold;
}

sj_status sja_ppo_eval_run(sja_ppo_eval *e, sj_lm *policy, const sja_codec *codec,
                           sja_ppo_eval_result *res, sj_error *err)
{
    size_t lo, hi;
    sj_dist_share(e->n, &lo, &hi);
    int L = e->n_levels;
    sj_status st = SJ_OK;
    if (hi > lo)
        st = sja_score_levels(policy, codec, e->prompts + lo, hi - lo, 64, e->p + lo * (size_t)L,
                              NULL, NULL, err);
    /* the sums and whether this rank failed, summed over the ranks at once */
    double sums[6] = {0, 0, 0, 0, 0, st != SJ_OK};
    if (st == SJ_OK)
        eval_sums(e, lo, hi, sums);
    sj_status rs = sj_dist_sum_double(sums, 6, err);
    if (rs != SJ_OK)
        return rs;
    if (sums[5] > 0)
        return sj_dist_agree(st, err);
    double n = e->n ? (double)e->n : NAN, n_gold = sums[4];
    res->reward = sums[0] / n;
    res->kl = sums[1] / n;
    res->gold = n_gold > 0 ? sums[2] / n_gold : NAN;
    res->gold_exact = n_gold > 0 ? sums[3] / n_gold : NAN;
    return SJ_OK;
}
