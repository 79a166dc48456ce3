/* Helpers shared by the alignment stages (not part of the public API). */
#ifndef SJTALIGN_ALIGN_INTERNAL_H
#define SJTALIGN_ALIGN_INTERNAL_H

#include "sjtalign/align.h"

enum {
    SJA_W_NONE = 0,       /* every target weight 0 (hidden states or scoring only) */
    SJA_W_COMPLETION = 1, /* weight 1 on completion targets (and eos), 0 in the prompt */
};

/* A batch holding the n sequences, as long as the longest needs. With
 * append_pad a padding token is added after each sequence so that its last
 * real token (eos) is an input position too: hidden_pos[b] receives that
 * position (may be NULL). */
sj_status sja_batch_build(const sja_seq *const *seqs, int n, int weights, int append_pad,
                          sj_lm_batch **out, int *hidden_pos, sj_error *err);

/* Sum of weight × logprob per sequence ([B x T] arrays). */
void sja_sequence_logprobs(const sj_lm_batch *batch, const float *logprobs, double *out);

/* A random permutation of 0..n-1 (caller frees). */
size_t *sja_permutation(gsl_rng *rng, size_t n);

/* Marks about `fraction` of the distinct keys as held out (1) in is_val,
 * per row; at least one key held out when fraction > 0 and there are two
 * keys or more. Returns the number of held-out rows. */
size_t sja_split_by_key(const char *const *keys, size_t n, double fraction, gsl_rng *rng,
                        unsigned char *is_val);

/* Scalar head: w·h + b over embd values (head holds embd weights then b). */
double sja_head_apply(const float *head, const float *h, int embd);

/* Writes a progress line or the bar; `quiet` silences it. */
void sja_progress_start(sj_progress *p, const char *label, long total, int quiet);

/* Encodes the judged pairs whose two completions differ as chosen and
 * rejected sequences (person of each pair for splits). */
sj_status sja_pairs_encode(const sja_codec *c, const sj_instrument *ins, const sja_pairs *pairs,
                           sja_seq **chosen, sja_seq **rejected, const char ***person, size_t *n,
                           sj_error *err);

/* PPO's fixed evaluation set (ppo_eval.c): `size` prompts drawn once from
 * the data by the seed, with the reference policy's score distribution,
 * the reward of every level and the true score (NaN without a gold judge). */
typedef struct {
    size_t n;
    int n_levels, score_min;
    sja_seq *prompts;
    double *ref_p;  /* n x n_levels */
    double *reward; /* n x n_levels, normalised rewards */
    double *truth;  /* n */
    double *p;      /* n x n_levels, the policy's latest distribution */
} sja_ppo_eval;

typedef struct {
    double reward;     /* mean over prompts of sum_k p_k r_k */
    double kl;         /* mean KL(p || p_ref) over the score levels, nats */
    double gold;       /* mean of -sum_k p_k |score_k - true score| */
    double gold_exact; /* share of prompts whose modal score is the true score */
} sja_ppo_eval_result;

sja_ppo_eval *sja_ppo_eval_new(sj_lm *policy, const sja_codec *codec, sja_reward_model *rm,
                               const sj_instrument *ins, const sj_responses *data,
                               const sja_truth *truth, size_t size, uint64_t seed, sj_error *err);
sj_status sja_ppo_eval_run(sja_ppo_eval *e, sj_lm *policy, const sja_codec *codec,
                           sja_ppo_eval_result *res, sj_error *err);
void sja_ppo_eval_free(sja_ppo_eval *e);

/* ---- checkpoints of interrupted stages (resume.c) --------------------------- */

/* 1 when a stage that has done `done` of `total` steps should stop here
 * and save a checkpoint (stop_after reached or the interrupt flag set). */
int sja_should_stop(const sja_run_control *rc, long done, long total);

/* What a stage saves when it stops early and restores when it resumes. */
typedef struct {
    const char *stage;     /* "sft", "reward", "ppo" or "dpo" */
    const sja_model *init; /* the model the stage started from */
    const char *instrument_path;
    int rationale;        /* completions carry a rationale (config provenance) */
    const cJSON *options; /* the options that must match to continue */
    long steps;           /* steps asked for */
    long done;            /* steps done (saved; restored by resuming) */
    sj_lm *model;         /* the model being trained */
    sj_adamw *opt;        /* its optimizer */
    gsl_rng *rng;         /* the stage's random stream (may be NULL) */
    sj_lm_log *log;
} sja_stage_state;

/* Saves the checkpoint of a stopped stage to `out`: the model, optimizer
 * and log, the extra state tensors (names starting "resume.") and the
 * stage's numbers (may be NULL), which sja_resume_number() reads back. */
sj_status sja_checkpoint_save(const char *out, const sja_stage_state *s, const cJSON *numbers,
                              const sj_lm_tensor *tensors, size_t n_tensors, sj_error *err);

/* Continues from the checkpoint of an interrupted run at `out`: checks that
 * it is one of this stage, started from the same model with the same
 * options, then restores the model's parameters, the optimizer, the random
 * stream and the log into *s. *ck receives the loaded checkpoint (for
 * sja_resume_number and sja_resume_tensor; free it), or NULL when `out`
 * does not exist (a fresh start). Problems are input errors. */
sj_status sja_checkpoint_resume(const char *out, sja_stage_state *s, sj_lm_checkpoint **ck,
                                sj_error *err);

/* Adds the sha256 of an input file to the options checked on resume (an
 * unreadable file adds nothing; loading it reports the problem). */
void sja_options_add_input(cJSON *options, const char *key, const char *path);

/* A number the stage saved (NaN when absent or null). */
double sja_resume_number(const sj_lm_checkpoint *ck, const char *name);

/* Copies a saved state tensor of n values into dst. */
sj_status sja_resume_tensor(const sj_lm_checkpoint *ck, const char *name, float *dst, size_t n,
                            sj_error *err);

#endif
