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

/* Sets the batch's logit bias from the sequences' lexical priors (prior.c):
 * the prior of sequence b at its prior_pos when that is an input position. */
sj_status sja_batch_set_priors(sj_lm_batch *batch, const sja_seq *const *seqs, int n,
                               sj_error *err);

/* An aligned scorer keeps the lexical channel of the model it started
 * from: lexical.json goes into the saved folder unchanged. */
void sja_save_opts_lexical(const sja_model *from, sj_lm_save_opts *so);
/* The same for a channel document of one's own (*doc NULL: none); *doc must
 * outlive the save. */
void sja_save_opts_lexical_json(sj_lm_save_opts *so, cJSON *const *doc);

/* Sum of weight × logprob per sequence ([B x T] arrays). */
void sja_sequence_logprobs(const sj_lm_batch *batch, const float *logprobs, double *out);

/* A random permutation of 0..n-1 (caller frees). */
size_t *sja_permutation(gsl_rng *rng, size_t n);

/* Marks about `fraction` of the distinct keys as held out (1) in is_val,
 * per row; at least one key held out when fraction > 0 and there are two
 * keys or more. Writes the number of held-out rows to *n_val (may be NULL);
 * running out of memory is an error, never a split without held-out rows. */
sj_status sja_split_by_key(const char *const *keys, size_t n, double fraction, gsl_rng *rng,
                           unsigned char *is_val, size_t *n_val, sj_error *err);

/* Scalar head: w·h + b over embd values (head holds embd weights then b). */
double sja_head_apply(const float *head, const float *h, int embd);

/* Clips a head's gradient to the L2 norm `clip` (<= 0: no clipping) and
 * updates the head (opt->n values, no weight decay) at learning rate lr. */
void sja_head_update(sj_adamw *opt, float *head, float *grad, double clip, double lr);

/* Writes a progress line or the bar; `quiet` silences it. */
void sja_progress_start(sj_progress *p, const char *label, long total, int quiet);

/* Judged pairs encoded for training: the chosen and the rejected sequence
 * (for a tie: a and b), whether it is a tie, its weight and the person (for
 * the held-out split) of each judgment. */
typedef struct {
    size_t n;
    sja_seq *chosen, *rejected;
    unsigned char *tie;
    double *weight;
    const char **person;
} sja_pair_seqs;

/* Encodes the judged rows whose two completions differ, each with the
 * weight row_weight[row] (NULL: 1); fewer than min_pairs of them is an
 * input error naming `path` and `who` needs them. */
sj_status sja_pairs_encode(const sja_codec *c, const sj_instrument *ins, const sja_pairs *pairs,
                           const double *row_weight, long min_pairs, const char *path,
                           const char *who, sja_pair_seqs *out, sj_error *err);
void sja_pair_seqs_free(sja_pair_seqs *p);

/* The distinct pairs among the judgments (pairs_units.c): judgments of one
 * person with the same two sequences, in either order (prior included),
 * form a unit, so one pass of its two sequences through the model serves
 * every judgment of it (a pair judged by three experts is computed once).
 * Units are numbered by their earliest judgment. */
typedef struct {
    size_t n;               /* units */
    size_t *start;          /* [n + 1]: unit g's judgments are member[start[g] .. start[g+1]) */
    size_t *member;         /* judgment indices by unit, ascending within a unit */
    size_t *unit;           /* per judgment: its unit */
    unsigned char *swapped; /* per judgment: its chosen sequence is the unit's second */
    const sja_seq **first;  /* [n] the unit's two sequences, lower first (borrowed from its
                               first judgment) */
    const sja_seq **second;
} sja_pair_units;

sj_status sja_pair_units_build(const sja_pair_seqs *d, sja_pair_units *u, sj_error *err);
void sja_pair_units_free(sja_pair_units *u);

/* The distinct units of judgments[0..n-1] (*out allocated, caller frees),
 * in order of first appearance, or with by_length from the longest to the
 * shortest (the longer of a unit's two sequences; ties by unit number) so
 * that a forward pass over neighbours pads little. */
sj_status sja_pair_units_of(const sja_pair_units *u, const size_t *judgments, size_t n,
                            int by_length, size_t **out, size_t *n_out, sj_error *err);

/* The distribution `pairs` draws a candidate's level from (pairs.c): the
 * policy's level probabilities p at temperature T, p_k^(1/T) renormalised
 * (softmax(z/T) over the levels when p = softmax(z)), leaving out level
 * `exclude` (-1: none); uniform over the others when they all have
 * probability 0. */
void sja_level_draw_probs(const double *p, int L, double temperature, int exclude, double *out);

/* The reward model's held-out figures over judgments idx[0..n-1], each
 * distinct pair's raw rewards (w·h + b + v·l at eos, head as in
 * sja_reward_model) computed once: the mean of w_i × (Bradley–Terry loss,
 * or the tie loss) over the judgments and the accuracy over the decisive
 * ones (NaN without any). */
sj_status sja_reward_eval_pairs(sj_lm *m, const float *head, const sja_pair_seqs *d,
                                const sja_pair_units *u, const size_t *idx, size_t n, double margin,
                                double *loss, double *accuracy, sj_error *err);

/* A reward-model step's loss over every judgment of the units pick[0..B-1]
 * (a unit picked twice counts twice), given the raw rewards r of the
 * units' first sequences (r[0..B-1]) and second ones (r[B..2B-1]): the
 * mean of w_i × (Bradley–Terry or tie loss) over those judgments, as if
 * each were a row of its own; g1[b], g2[b] receive its derivatives with
 * respect to r[b] and r[B + b], *acc the accuracy over the decisive ones. */
double sja_reward_units_loss(const sja_pair_seqs *d, const sja_pair_units *u, const size_t *pick,
                             int B, const double *r, double margin, double *g1, double *g2,
                             double *acc);

/* Data-parallel steps (every rank draws the same units pick[0..B-1] and
 * runs the share [lo, hi) of them, sj_dist_share; then sj_train_exchange
 * sums the gradients and the statistics' sums over the ranks). Each share
 * divides its loss by the judgments of all B units, so the shares add up
 * to the whole step: [0, B) alone is the one-process step, bit for bit.
 * The model's gradient (and the head's) is zeroed first; an empty share
 * leaves it 0. */

/* A reward-model step's share: the model's and the head's (embd + 2)
 * gradients; sums[0] the share's loss, sums[1] and sums[2] its correct and
 * decisive judgments (accuracy: sums[1] / sums[2] once summed). */
sj_status sja_reward_share_step(sj_lm *m, const float *head, float *head_grad,
                                const sja_pair_seqs *d, const sja_pair_units *u, const size_t *pick,
                                int B, size_t lo, size_t hi, double margin, double sums[3],
                                sj_error *err);

/* What a DPO step reads: the judgments, their units and the frozen
 * reference's sequence log-probs of each unit's first and second sequence. */
typedef struct {
    const sja_pair_seqs *seqs;
    const sja_pair_units *u;
    const double *ref1, *ref2;
    double beta;
} sja_dpo_batch;

/* A DPO step's share: the model's gradient; sums: the share's loss, and
 * the sums of the implicit rewards of chosen and rejected, of correct
 * orders and of margins over its decisive judgments, its judgments and
 * its decisive judgments (the step's means once summed). */
sj_status sja_dpo_share_step(sj_lm *m, const sja_dpo_batch *d, const size_t *pick, int B, size_t lo,
                             size_t hi, double sums[7], sj_error *err);

/* The completion log-probabilities (sum over "score: k .. eos") of the
 * chosen and the rejected sequence of judgments idx[0..n-1] under m, each
 * distinct pair computed once (dpo.c). */
sj_status sja_dpo_judgment_logprobs(sj_lm *m, const sja_pair_seqs *d, const sja_pair_units *u,
                                    const size_t *idx, size_t n, double *chosen, double *rejected,
                                    sj_error *err);

/* The provenance.training block of an SFT run (training.c): the rows of
 * `data` it trained on, merged with the block `init` carries (a scorer
 * fine-tuned again was trained on both). NULL when out of memory. */
cJSON *sja_training_block(const sj_instrument *ins, const sj_responses *data, const size_t *rows,
                          size_t n, const sja_model *init);
/* For the stages ppo and dpo: copies the training block of the model they
 * start from into prov (nothing for other stages, or an init without one). */
void sja_training_inherit(cJSON *prov, const char *stage, const sja_model *init);

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

/* ---- the training-stage driver (stage.c) ------------------------------------ */

/* Every training stage (sft, reward, ppo, dpo) runs through the driver: it
 * owns the held-out split, the random stream, the optimizer and its
 * schedule (warm-up, cosine decay), the loop (sj_train_run: evaluations,
 * progress, log, Ctrl-C stop-and-save), --resume, keeping the best
 * evaluated state, the provenance, the final save and the cleanup. A stage
 * fills in what it is, registers its extra state, and supplies hooks. */
typedef struct sja_stage sja_stage;

typedef struct {
    /* One update (0-based `step`); adds the step's metrics to `line`. */
    sj_status (*step)(sja_stage *s, long step, sj_train_line *line, sj_error *err);
    /* The held-out evaluation after `done` steps (0: before training);
     * adds its metrics and writes the selection score, higher is better
     * (score[1] breaks ties). NULL: never evaluated. */
    sj_status (*evaluate)(sja_stage *s, long done, int last, sj_train_line *line, double score[2],
                          sj_error *err);
    /* The finished model: adds the stage's results to `prov` (*result: the
     * object copied to the summary) and its extra tensors to `so`. */
    sj_status (*finish)(sja_stage *s, cJSON *prov, cJSON **result, sj_lm_save_opts *so,
                        sj_error *err);
} sja_stage_hooks;

/* Registered state: flags of sja_stage_tensor / sja_stage_number. */
enum {
    SJA_STATE = 0,     /* saved with a checkpoint and restored on --resume */
    SJA_KEEP_BEST = 1, /* also part of the state kept with the best evaluation */
};

typedef struct {
    const char *name;
    float *data;
    size_t n;
    int flags;
} sja_stage_tensor_slot;

typedef struct {
    const char *name;
    double *slot;
    int flags;
} sja_stage_number_slot;

struct sja_stage {
    /* ---- what the stage is (set before sja_stage_prepare) ---- */
    const char *name; /* "sft", "reward", "ppo", "dpo": progress, provenance, checkpoints */
    sja_model *init;  /* the model it starts from */
    sj_lm *model;     /* the model it trains (the main optimizer's) */
    const char *instrument_path;
    const char *input_key, *input_path; /* "data" or "pairs" and the file: provenance, and its
                                           sha256 checked on resume */
    int rationale;                      /* completions carry a rationale */
    cJSON *options;      /* recorded in provenance and checked on resume (the driver frees) */
    cJSON *resume_extra; /* further values checked on resume only (the driver frees) */
    long steps;
    long updates;           /* optimizer updates over the run (0: steps), the schedule's length */
    int decay;              /* cosine decay over the updates; else constant after warm-up */
    double lr;              /* peak learning rate */
    double warmup_fraction; /* share of the updates with a linear warm-up */
    long eval_every;
    int eval_first;          /* evaluate after the first step too */
    int eval_at_start;       /* evaluate before training, logged as step 0 */
    int keep_best;           /* the saved model is the best evaluated one */
    const char *best_metric; /* what the evaluation score is, for the provenance */
    /* the finish hook's reason for the kept model and the value its metric had
     * ("": the generic reason, and the selection score) */
    char kept_why[256];
    double kept_value;
    int quiet;
    const sja_run_control *run;
    uint64_t seed;
    const char *rng_label;   /* the stage's random stream: sj_seed_derive(seed, rng_label) */
    const char *split_label; /* the split's own stream, or NULL for the stage's */
    const char *const *keys; /* split: a key per example (persons), or NULL for no split */
    size_t n_examples;
    double val_fraction;
    sja_stage_hooks hooks;
    void *ctx; /* the stage's own data */

    /* ---- set by the driver ---- */
    const char *out;       /* the model directory being written */
    cJSON *resume_options; /* options + resume_extra */
    gsl_rng *rng;
    sj_adamw *opt;
    size_t *train, *val; /* example indices */
    size_t n_train, n_val;
    sj_lm_log log;
    long done;          /* steps done */
    long stopped;       /* stopped with a checkpoint after this step (0: finished) */
    int finished_early; /* a step ended training (line->finish) */
    sj_train_best best;
    sja_stage_tensor_slot *tensors;
    size_t n_tensors;
    sja_stage_number_slot *numbers;
    size_t n_numbers;
    sj_adamw **opts; /* extra optimizers */
    const char **opt_names;
    size_t n_opts;
};

/* Zeroes s (and its log and best state); call before filling it in. */
void sja_stage_init(sja_stage *s);

/* What the stage is: its name, the starting model (also the model trained,
 * its rationale setting recorded), the instrument and the input file named
 * in the provenance as input_key. A cosine-decayed schedule, evaluated
 * after the first step too; a stage changes what differs afterwards. */
void sja_stage_identify(sja_stage *s, const char *name, sja_model *init,
                        const char *instrument_path, const char *input_key, const char *input_path);

/* Copies the settings every stage's options struct names alike (the
 * driver records steps, lr, seed, warmup_fraction and keep_best among the
 * options, with val_fraction when there is a split). */
#define SJA_STAGE_TAKE_OPTS(s, o)                                                                  \
    do {                                                                                           \
        (s)->steps = (o)->steps;                                                                   \
        (s)->lr = (o)->lr;                                                                         \
        (s)->warmup_fraction = (o)->warmup_fraction;                                               \
        (s)->eval_every = (o)->eval_every;                                                         \
        (s)->keep_best = (o)->keep_best;                                                           \
        (s)->quiet = (o)->quiet;                                                                   \
        (s)->run = &(o)->run;                                                                      \
        (s)->seed = (o)->seed;                                                                     \
    } while (0)

/* The split (when keys are given; no training examples left is an input
 * error), the random stream and the main optimizer. */
sj_status sja_stage_prepare(sja_stage *s, sj_error *err);

/* Another optimizer with the stage's schedule (weight decay on the
 * model's matrices when decay, none for a head), saved with checkpoints as
 * "<name>.adam.m" / "<name>.adam.v"; its step follows the main one's. */
sj_adamw *sja_stage_optimizer(sja_stage *s, const char *name, size_t n, int decay, sj_error *err);

/* Registers state saved with a checkpoint (flags SJA_STATE or SJA_KEEP_BEST). */
sj_status sja_stage_tensor(sja_stage *s, const char *name, float *data, size_t n, int flags,
                           sj_error *err);
sj_status sja_stage_number(sja_stage *s, const char *name, double *slot, int flags, sj_error *err);

/* Runs the stage: the evaluation before training when asked, --resume, the
 * loop, then (unless stopped) the best state back when keep_best, the
 * provenance and the model saved to `out`; *summary (may be NULL) receives
 * a copy of the stage's result object. Writes run->stopped_at. */
sj_status sja_stage_run(sja_stage *s, const char *out, cJSON **summary, sj_error *err);

void sja_stage_free(sja_stage *s);

#endif
