/* What ppo.c (the stage and the general rollouts) and ppo_actions.c (the
 * rollouts of one action) share; not part of the public API. */
#ifndef SJTALIGN_PPO_INTERNAL_H
#define SJTALIGN_PPO_INTERNAL_H

#include "align_internal.h"
#include "sjtalign/dist.h"

/* One batch of rollouts; per-token arrays are flat, rollout i's tokens at
 * off[i] .. off[i] + n[i] - 1. Rollouts come in groups of K on the same
 * prompt: group g holds rollouts g*K .. g*K + K - 1.
 *
 * Under MPI each rank draws, evaluates and scores the rollouts lo .. hi - 1
 * (its share of the groups, sj_dist_share); until ppo_rollouts_gather, the
 * per-token arrays of generated completions hold that share alone (off[]
 * counting from its first token), and after it every rank holds the whole
 * batch. One process: lo = 0, hi = B. */
typedef struct {
    int B, K, lo, hi;
    sja_seq *seq;
    size_t *row;
    int *n, *off;
    double *score, *gold;
    int *parsed; /* the sampled score, INT_MIN when the completion is malformed */
    size_t n_tok;
    double *old_lp, *ref_lp, *value, *reward, *adv, *ret;
} ppo_rollouts;

typedef struct {
    size_t n;
    char **label;  /* sorted distinct group labels */
    char **metric; /* "group/<label>/mean_score" */
} ppo_group_names;

/* A PPO run: its models, optimizers and inputs, and what it carries from
 * step to step besides the policy, its optimizer and the random stream. */
typedef struct {
    sj_lm *policy, *ref, *value_lm; /* value_lm NULL with the RLOO estimator */
    float *value_head, *value_head_grad;
    sj_adamw *popt, *vopt, *hopt;
    sja_reward_model *rm;
    const sja_codec *codec;
    const sj_instrument *ins;
    const sj_responses *data;
    const sja_truth *truth;
    const sja_ppo_opts *o;
    ppo_group_names groups;
    sja_ppo_eval *ev; /* the fixed evaluation set (eval_every > 0) */
    sja_ppo_eval_result ev_first, ev_last;
    double within_budget; /* evaluations with eval/kl within the KL budget */
    double beta, first_gold, last_gold, last_kl, first_score, last_score;
} ppo_ctx;

typedef struct {
    double pg_loss, vf_loss, clipfrac, vf_clipfrac, approxkl, ratio, ratio_sq;
    double n_tok, n_updates;
} ppo_update_stats;

/* The per-rollout arrays of B rollouts in groups of K, this rank's share
 * lo .. hi - 1 of them, and, with n_tok > 0, the per-token ones for n_tok
 * tokens. */
sj_status ppo_rollouts_alloc(ppo_rollouts *r, int B, int K, size_t n_tok, sj_error *err);
/* The per-token arrays for r->n_tok tokens. */
sj_status ppo_rollouts_alloc_tokens(ppo_rollouts *r, sj_error *err);
void ppo_rollouts_free(ppo_rollouts *r);

/* The query of a row: its prompt, then the fixed "score: " of the format
 * (part of the query, so the policy's actions are the score and what
 * follows it). */
sj_status ppo_encode_query(const ppo_ctx *c, size_t row, sja_seq *query, sj_error *err);

/* 1 when a completion is one action: every score level a single token and
 * no rationale, so "score: k" then eos is decided by the token after the
 * query, and the end of the format (eos) is fixed like its start. */
int ppo_one_action(const sja_codec *codec);

/* The one-action rollouts of a step (ppo_actions.c), into r allocated for
 * o->batch rollouts of one token in groups of o->samples_per_prompt: the
 * prompts drawn from `shared` (the same on every rank), then for this
 * rank's share each query run once through the policy (the actions drawn
 * from its temperature softmax with `sample`, their log-probabilities the
 * "old" ones), once through the reference and, with a value model, once
 * through it. */
sj_status ppo_actions_rollouts(ppo_ctx *c, gsl_rng *shared, gsl_rng *sample, ppo_rollouts *r,
                               sj_error *err);

/* The sampled scores (INT_MIN for a token that is no level) and the reward
 * model's scores of this rank's share of the one-action rollouts, each
 * action with eos. */
sj_status ppo_actions_score(const ppo_ctx *c, ppo_rollouts *r, sj_error *err);

/* The gradient of one minibatch update of the policy (and the value
 * model) on the groups groups[0..n-1], summed over the ranks: one forward
 * and backward pass per group, whatever its number of rollouts, since the
 * query's pass does not depend on the action drawn after it; each rank
 * takes its share of the groups, the losses normalised by all n groups'
 * rollouts. Writes the share's rollouts' new log-probabilities to lp_new. */
sj_status ppo_actions_grads(ppo_ctx *c, const ppo_rollouts *r, const int *groups, int n,
                            double *lp_new, ppo_update_stats *s, sj_error *err);

/* The gradient of one update on the minibatch units[0..n-1] (groups with
 * one action per rollout, else rollouts), summed over the ranks: the
 * policy's in c->policy->grads, with a value model its gradient and the
 * head's in c->value_head_grad; the update's statistics added to s. Each
 * rank computes its share (sj_dist_share of the n units) with the losses
 * normalised by the whole minibatch's tokens, then ONE exchange carries
 * the gradients, the statistics and this rank's interrupt flag. */
sj_status ppo_update_grads(ppo_ctx *c, const ppo_rollouts *r, const int *units, int n,
                           double *lp_new, double *v_new, ppo_update_stats *s, sj_error *err);

/* The optimizer steps of an update, after its gradients were summed over
 * the ranks: the policy's, then the value model's and its head's (with a
 * value model); the policy's learning rate to lr_used. */
void ppo_optimizer_steps(ppo_ctx *c, double *lr_used);

/* ---- the ranks of an MPI job (ppo_dist.c) ---------------------------------------- */

/* The stream a rank samples its share of step `step`'s rollouts from:
 * *own NULL with one process (the stage's own stream then, as without
 * MPI), else a new stream from the seed, the rank and the step, so that a
 * given number of ranks and seed reproduce, resumed or not (free it with
 * sj_rng_free). */
sj_status ppo_sampling_stream(uint64_t seed, long step, gsl_rng **own, sj_error *err);

/* Every rank's share of the rollouts, with their log-probabilities,
 * values and scores, copied to every rank (in rollout order), so that
 * each holds the whole batch; `st` is this rank's status so far, and a
 * failure of any rank fails every rank with the lowest failing rank's
 * message. */
sj_status ppo_rollouts_gather(const ppo_ctx *c, ppo_rollouts *r, sj_status st, sj_error *err);

/* An update's one exchange between the ranks: the policy's gradient, the
 * value model's and its head's (with a value model) and the update's
 * statistics (what s gained since `before`) summed over the ranks, with
 * `st`, this rank's status so far: a failure of any rank fails every rank
 * with the lowest failing rank's message. One process: nothing moves. */
sj_status ppo_exchange(ppo_ctx *c, ppo_update_stats *s, const ppo_update_stats *before,
                       sj_status st, sj_error *err);

#endif
