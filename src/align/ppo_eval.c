/* PPO's fixed evaluation set: exact (not sampled) measures of the policy on
 * the same prompts at intervals, so that the course of training is not lost
 * in the noise of one batch of rollouts. On each prompt the policy's score
 * distribution p is read in one forward pass; with the reference's p_ref
 * and the frozen reward model's reward of every level known once, the
 * expected reward, the KL(p || p_ref) over the score levels and, with a
 * gold judge, the expected distance from the true score follow exactly. */
#include "align_internal.h"

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
    for (size_t i = 0; i < n && st == SJ_OK; i++) {
        size_t r = perm[i], item = data->item_index[r];
        st = sja_encode_prompt(codec, ins, item, sj_table_cell(t, r, (size_t)data->col_text),
                               codec->max_completion, &e->prompts[i], err);
        e->truth[i] =
            truth ? sja_truth_lookup(truth, sj_table_cell(t, r, (size_t)data->col_person), item)
                  : NAN;
    }
    if (st == SJ_OK)
        st = sja_score_levels(policy, codec, e->prompts, n, 64, e->ref_p, NULL, NULL, err);
    if (st == SJ_OK)
        st = level_rewards(rm, ins, data, perm, n, L, e->reward, err);
    free(perm);
    sj_rng_free(rng);
    if (st != SJ_OK) {
        sja_ppo_eval_free(e);
        return NULL;
    }
    return e;
}

sj_status sja_ppo_eval_run(sja_ppo_eval *e, sj_lm *policy, const sja_codec *codec,
                           sja_ppo_eval_result *res, sj_error *err)
{
    sj_status st = sja_score_levels(policy, codec, e->prompts, e->n, 64, e->p, NULL, NULL, err);
    if (st != SJ_OK)
        return st;
    int L = e->n_levels;
    double reward = 0.0, kl = 0.0, gold = 0.0, exact = 0.0;
    size_t n_gold = 0;
    for (size_t i = 0; i < e->n; i++) {
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
    double n = e->n ? (double)e->n : NAN;
    res->reward = reward / n;
    res->kl = kl / n;
    res->gold = n_gold ? gold / (double)n_gold : NAN;
    res->gold_exact = n_gold ? exact / (double)n_gold : NAN;
    return SJ_OK;
}
