/* sjtalign alignment: the prompt and completion format of a scoring, the
 * judged pairs file, the pure losses of SFT / reward model / PPO / DPO with
 * their gradients, and the training stages built on the LM engine. */
#ifndef SJTALIGN_ALIGN_H
#define SJTALIGN_ALIGN_H

#include <stddef.h>

#include "sjtalign/io.h"
#include "sjtalign/lexical.h"
#include "sjtalign/lm.h"
#include "sjtalign/stats.h"
#include "sjtalign/util.h"

/* ---- prompt and completion format ---------------------------------------- */

/* The prompt for one response is the text
 *
 *     item <item id>: <question>\n
 *     response: <response text>\n
 *
 * followed by the tokenizer's separator token. The completion (the scoring)
 * is "score: <k>", or with a rationale "score: <k> | <rubric anchor of k>",
 * followed by the end-of-sequence token. When a prompt does not fit the
 * model's context, the question is shortened first, then the response (its
 * end is kept, where a response usually states the action it settles on). */
char *sja_prompt_text(const sj_instrument *ins, size_t item, const char *response);

/* The completion text for score k; with_rationale adds " | <anchor>" when
 * the item's rubric has an anchor for k. Caller frees. */
char *sja_completion_text(const sj_instrument *ins, size_t item, int score, int with_rationale);

/* Parses a completion: "score: <integer>" optionally followed by " | text",
 * with trailing white space ignored. Returns 0 and the score when the text
 * has that form and the score lies in [score_min, score_max], else -1. */
int sja_parse_completion(const char *text, int score_min, int score_max, int *score);

/* ---- judged pairs ---------------------------------------------------------- */

/* A judgment: none yet, a, b, or a tie (both candidates equally good). */
enum { SJA_PREF_NONE = 0, SJA_PREF_A = 1, SJA_PREF_B = 2, SJA_PREF_TIE = 3 };

typedef struct {
    char *pair_id;
    char *item_id;
    char *person_id;
    char *response;
    char *completion_a;
    char *completion_b;
    char *judge_id; /* "" when the column is absent or empty */
    char *group;    /* the response's group; "" when the column is absent */
    size_t item;    /* index in the instrument */
    int preferred;  /* SJA_PREF_* */
    int score_a, score_b;
    long line;
} sja_pair;

typedef struct {
    size_t n;
    sja_pair *pairs;
    size_t n_judged;
    int has_group; /* the file has a group column */
} sja_pairs;

/* The pairs columns, in the order `pairs` writes them. */
extern const char *const SJA_PAIRS_HEADER[8];

/* Reads a pairs file (docs/OUTPUTS.md): pair_id, item_id, person_id, response,
 * completion_a, completion_b, preferred (a, b, tie or empty; case and
 * surrounding blanks ignored), judge_id and group optional. A pair judged by
 * several experts has one row per judgment with the same pair_id; those rows
 * must agree on item, person, response, completions and group, and name
 * different judges (a non-empty judge_id). Unknown items, unparseable
 * completions, bad `preferred` values and such disagreements are input
 * errors naming file:line:column. */
sja_pairs *sja_pairs_read(const char *path, const sj_instrument *ins, sj_error *err);
void sja_pairs_free(sja_pairs *p);

/* ---- losses (pure functions with their gradients) ------------------------- */

/* log σ(x), accurate for large |x|. */
double sja_log_sigmoid(double x);

/* Bradley–Terry loss −log σ(r_c − r_r − margin); writes ∂/∂r_c and ∂/∂r_r. */
double sja_bt_loss(double r_chosen, double r_rejected, double margin, double *d_chosen,
                   double *d_rejected);

/* A tie between candidates a and b with rewards r_a, r_b: half a win each
 * way, −½[log σ(d) + log σ(−d)] with d = r_a − r_b. Smallest (log 2) at
 * d = 0; its gradient σ(d) − ½ pulls the two rewards together and is
 * bounded by ½ like a win's. Writes ∂/∂r_a and ∂/∂r_b. */
double sja_bt_tie_loss(double r_a, double r_b, double *d_a, double *d_b);

/* The mean Bradley–Terry loss of n pairs weighted by w (NULL: all 1):
 * Σ w_i l_i / n with l_i the tie loss where tie[i] (tie may be NULL), else
 * the win loss of `first` over `second` with the margin. Writes the
 * gradients with respect to each r_first[i] and r_second[i] (may be NULL). */
double sja_bt_batch_loss(const double *r_first, const double *r_second, const unsigned char *tie,
                         const double *w, size_t n, double margin, double *d_first,
                         double *d_second);

/* DPO loss −log σ(β[(π_c − ref_c) − (π_r − ref_r)]) on sequence log-probs;
 * writes ∂/∂π_c and ∂/∂π_r (the reference is frozen). */
double sja_dpo_loss(double beta, double logp_chosen, double ref_chosen, double logp_rejected,
                    double ref_rejected, double *d_chosen, double *d_rejected);

/* A tie in DPO: the tie loss above on the implicit reward margin
 * z = β[(π_a − ref_a) − (π_b − ref_b)], −½[log σ(z) + log σ(−z)]; writes
 * ∂/∂π_a = β(σ(z) − ½) and ∂/∂π_b = −∂/∂π_a. */
double sja_dpo_tie_loss(double beta, double logp_a, double ref_a, double logp_b, double ref_b,
                        double *d_a, double *d_b);

/* Clipped PPO policy loss of one token, max(−A·ρ, −A·clip(ρ, 1−ε, 1+ε)) with
 * ρ = exp(logp − old_logp); writes ∂/∂logp and whether the clipped branch
 * is the larger one (TRL's clipfrac). */
double sja_ppo_policy_loss(double logp, double old_logp, double advantage, double clip,
                           double *d_logp, int *clipped);

/* Clipped value loss ½·max((v − R)², (clip(v, v_old − ε, v_old + ε) − R)²);
 * writes ∂/∂v and whether the clipped branch is the larger one. */
double sja_ppo_value_loss(double value, double old_value, double ret, double clip, double *d_value,
                          int *clipped);

/* Generalised advantage estimation over one episode of T steps (value 0
 * after the last step): δ_t = r_t + γ V_{t+1} − V_t, A_t = δ_t + γλ A_{t+1},
 * returns R_t = A_t + V_t. */
void sja_gae(const double *rewards, const double *values, size_t T, double gamma, double lambda,
             double *advantages, double *returns);

/* Per-token rewards: −β(logπ − logπ_ref) at every token, plus the reward
 * model's score at the last token. */
void sja_kl_rewards(const double *logp, const double *ref_logp, size_t T, double beta, double score,
                    double *rewards);

/* Whitening as TRL does: (x − mean)/sqrt(var + 1e-8) with the unbiased
 * variance; keep_mean adds the mean back. Needs n >= 2 (else leaves x). */
void sja_whiten(double *x, size_t n, int keep_mean);

/* Adaptive KL coefficient (Ziegler et al. 2019): β ← β·(1 + e·n/horizon)
 * with e = clip(KL/target − 1, −0.2, 0.2). */
typedef struct {
    double value;
    double target;
    double horizon;
} sja_kl_control;

void sja_kl_control_update(sja_kl_control *c, double current_kl, double n_steps);

/* ---- token sequences ------------------------------------------------------- */

/* How prompts and completions become tokens for one model. The pieces are
 * encoded separately so the score always starts a fresh token: the prompt
 * as bos, "item <id>: ", question, "\nresponse: ", response, "\n", sep; a
 * completion as "score: ", the level's digits, [" | ", rationale], eos. */
typedef struct {
    const sj_tokenizer *tok; /* borrowed */
    int ctx;                 /* the model's context (positions) */
    int score_min, score_max;
    int n_levels;
    int32_t *prefix; /* "score: " */
    size_t n_prefix;
    int32_t **level; /* per level: the digits of the score */
    size_t *n_level;
    int32_t *bar; /* " | " */
    size_t n_bar;
    int single_token_levels; /* every level one token, all distinct */
    int rationale;           /* completions carry " | <anchor>" after the score */
    int max_completion;      /* tokens of the longest plain completion incl. eos */
    int32_t *level_tokens;   /* the level tokens in order (single-token levels only) */
    /* The scorer's lexical channel (borrowed, may be NULL): when set (and the
     * levels are single tokens), every encoded prompt carries its prior. */
    const sj_lex_model *lex;
} sja_codec;

sj_status sja_codec_init(sja_codec *c, const sj_tokenizer *tok, int ctx, int score_min,
                         int score_max, sj_error *err);
void sja_codec_free(sja_codec *c);

/* A token sequence bos .. sep [completion .. eos]. `prompt_len` counts the
 * tokens up to and including sep, so the completion starts there. */
typedef struct {
    int32_t *tokens;
    int len;
    int prompt_len;
    int shortened; /* the encoder shortened the question or the response to fit ctx */
    /* The lexical prior (NULL without one): log-probabilities of the n_prior
     * score levels, added to the logits of prior_tokens at input position
     * prior_pos, the position that predicts the score after "score: ". The
     * scorer's distribution is then softmax(z + prior) over the levels, a
     * product of the language model and the lexical model. */
    float *prior;
    int n_prior;
    int prior_pos;
    const int32_t *prior_tokens; /* borrowed from the codec */
} sja_seq;

void sja_seq_free(sja_seq *s);

/* The prompt alone, shortened (align.h's rule) so that `reserve` more
 * tokens still fit in ctx + 1. */
sj_status sja_encode_prompt(const sja_codec *c, const sj_instrument *ins, size_t item,
                            const char *response, int reserve, sja_seq *out, sj_error *err);
/* Prompt and the completion text (parsed as "score: k[ | rationale]"; any
 * other text is encoded as it is), ending with eos; at most ctx tokens, so
 * that eos is an input position for a scalar head. */
sj_status sja_encode_example(const sja_codec *c, const sj_instrument *ins, size_t item,
                             const char *response, const char *completion, sja_seq *out,
                             sj_error *err);
/* Sets the lexical prior of a sequence whose prompt ends at prompt_end
 * (the sep token's index + 1) for the codec's lexical model; nothing when the
 * codec has none. */
sj_status sja_seq_set_prior(const sja_codec *c, const char *item_id, const char *response,
                            int prompt_end, sja_seq *s, sj_error *err);
/* The prior's log-probability of the score a completed sequence gives (the
 * token after "score: "): 0 without a prior, the smallest level's value
 * when that token is not a score. */
double sja_seq_level_prior(const sja_seq *s);
/* Gives `to` the prior of `from` (a copy) for the same response: its
 * position is the same distance past to's prompt_len as past from's. */
sj_status sja_seq_copy_prior(const sja_seq *from, sja_seq *to, sj_error *err);
/* Makes a generation apply the prompt's prior to the generated score
 * token (nothing when the prompt has no prior). */
void sja_sample_opts_prior(const sja_seq *prompt, sj_lm_sample_opts *so);
/* Appends completion tokens to a prompt sequence (copying, prior included). */
sj_status sja_seq_append(const sja_seq *prompt, const int32_t *tokens, int n, sja_seq *out,
                         sj_error *err);

/* ---- the score distribution --------------------------------------------- */

/* Probability of every score level for each prompt (n_levels per prompt,
 * row-major), at temperature 1: the distribution of the score after
 * "score: ", renormalised over the valid levels. With single-token levels
 * one forward pass per prompt reads it from the next-token distribution;
 * otherwise each level's tokens followed by its terminator are scored
 * exactly. `batch` sequences go through the model at a time. `progress`
 * may be NULL. Also writes the total probability mass the model put on
 * valid levels (before renormalising) to `valid_mass` when not NULL. */
sj_status sja_score_levels(sj_lm *m, const sja_codec *c, const sja_seq *prompts, size_t n,
                           int batch, double *probs, double *valid_mass, sj_progress *progress,
                           sj_error *err);
/* sja_score_levels with the shared-prefix cache on (share = 1, what
 * sja_score_levels does) or off (0: every prompt runs whole; the same
 * numbers up to float rounding, for benchmarks and tests). */
sj_status sja_score_levels_shared(sj_lm *m, const sja_codec *c, const sja_seq *prompts, size_t n,
                                  int batch, int share, double *probs, double *valid_mass,
                                  sj_progress *progress, sj_error *err);
/* sja_score_levels with the work shared among the job's ranks
 * (sjtalign/dist.h); collective: every rank passes the same prompts. Each
 * rank scores whole batches of those the one-process run forms, so every
 * number is bit for bit what one process computes; the results reach
 * rank 0 (every rank when to_all), in probs and valid_mass at the
 * prompts' indices. A failure on any rank fails every rank. With one
 * process it is sja_score_levels. */
sj_status sja_score_levels_ranks(sj_lm *m, const sja_codec *c, const sja_seq *prompts, size_t n,
                                 int batch, int to_all, double *probs, double *valid_mass,
                                 sj_progress *progress, sj_error *err);

/* Index of the most probable level (the first on ties) and the expected
 * score Σ (score_min + k) p_k. */
int sja_mode_level(const double *p, int n_levels);
double sja_expected_score(const double *p, int n_levels, int score_min);

/* ---- loaded inputs shared by the stages ------------------------------------ */

/* A model directory loaded for alignment work. */
typedef struct {
    sj_lm_checkpoint *ck;
    sja_codec codec;
    char *path;
    char weights_sha256[65];
    sj_lex_model *lex;   /* the scorer's lexical channel (lexical.json), or NULL */
    cJSON *lexical_json; /* it again, with exact numbers, for saving (owned), or NULL */
} sja_model;

sja_model *sja_model_load(const char *dir, const sj_instrument *ins, sj_error *err);
void sja_model_free(sja_model *m);
/* 1 when the two models' tokenizers are identical. */
int sja_same_tokenizer(const sja_model *a, const sja_model *b);

/* Provenance for a stage's output model: stage name, the input models'
 * checksums, inputs' sha256 and the options (caller adds to it). */
cJSON *sja_provenance_new(const char *stage, const sja_model *from, const char *instrument_path);
void sja_provenance_add_file(cJSON *prov, const char *key, const char *path);

/* ---- what a scorer was trained on ------------------------------------------- */

/* config.json provenance.training, written by sft (from its training rows,
 * the held-out ones excluded) and copied by ppo and dpo from the model they
 * start from: the items with at least one training row (sorted, no
 * repeats), the number of training rows, and the longest training response
 * in bytes and in words. */
typedef struct {
    char **items;
    size_t n_items;
    long n_rows;
    long max_response_chars;
    long max_response_words;
} sja_training;

/* Words in a text: maximal runs of bytes other than ASCII white space. */
size_t sja_count_words(const char *text);
/* Reads the model's provenance.training. *found is 0 when there is none (a
 * model that is not a scorer, or one made before the block existed); a
 * block of another shape is an input error naming config.json. */
sj_status sja_training_read(const sja_model *m, sja_training *t, int *found, sj_error *err);
/* 1 when the model was trained on the item id. */
int sja_training_has_item(const sja_training *t, const char *item_id);
void sja_training_free(sja_training *t);

/* ---- the scores CSV (scoring.c): what `score` and cross-fitting write ------ */

/* Why a response lies outside what the scorer was trained on. */
enum {
    SJA_OOD_UNKNOWN_ITEM = 1, /* the model never trained on its item */
    SJA_OOD_LONG = 2,         /* more words than 1.5 x the longest training response */
    SJA_OOD_TRUNCATED = 4,    /* the prompt was shortened to fit the context */
    SJA_N_OOD_REASONS = 3
};
/* "unknown_item", "long", "truncated" (bit k is reason k). */
extern const char *const SJA_OOD_REASONS[SJA_N_OOD_REASONS];

/* The header of a scores CSV: the input columns, then score (the expected
 * score), score_mode, p_<k> for every level, ood, then `extra`. An input
 * column with one of the added names is an input error naming the file.
 * NULL with err set on failure; free with sja_score_header_free. */
char **sja_score_header(const sj_table *t, const sja_codec *c, const char *const *extra,
                        size_t n_extra, size_t *n, sj_error *err);
void sja_score_header_free(char **names, size_t n);
/* The ood reasons of a response with its encoded prompt; training NULL
 * when the model does not record what it was trained on. */
unsigned char sja_response_ood(const sja_training *training, const sj_instrument *ins, size_t item,
                               const char *text, const sja_seq *prompt);
/* The ood cell: the reasons joined by ';', "" for none. */
void sja_ood_cell(unsigned char flags, char *cell, size_t cap);
/* A row's score cells from its level probabilities: score, score_mode,
 * p_<k> ..., ood. */
void sja_score_cells(sj_csv_writer *w, const sja_codec *c, const double *p, unsigned char ood);

/* ---- several raters (training.c) ------------------------------------------ */

/* The training examples of a responses file: one per rater score of each
 * row, in row order and then rater order, each weighted 1/(the row's number
 * of scores), so that every response weighs the same and the target is the
 * raters' score distribution (its expected score is the raters' mean).
 * Rows without a score are left out; a row some raters left empty uses the
 * scores it has. Without data->raters: one example per row with a score,
 * weight 1. use_rows (NULL: every row) limits the rows. */
typedef struct {
    size_t n;       /* examples */
    size_t *row;    /* the example's row of the data */
    int *score;     /* its rater's score */
    double *weight; /* 1 / (scores of its row) */
    size_t n_rows;  /* rows with at least one score */
    size_t max_per_row;
} sja_rater_examples;

sj_status sja_rater_examples_build(const sj_responses *data, const unsigned char *use_rows,
                                   sja_rater_examples *out, sj_error *err);
void sja_rater_examples_free(sja_rater_examples *e);
/* {"columns": [names], "rule": "one rater" | "mean of the raters", "how":
 * text}: what a model was trained on, for its provenance. NULL when out of
 * memory. */
cJSON *sja_rater_rule_json(const sj_responses *data);

/* ---- stopping and resuming a training stage ------------------------------- */

/* How a training stage (sft, reward, ppo, dpo) stops early and continues.
 * At a step boundary where stop_after is reached or *interrupted is set
 * (and steps remain), the stage saves to `out` a checkpoint: the model
 * trained so far, which loads like any model, plus what continuing needs
 * (optimizer state, the random stream, the stage's own tensors and
 * numbers; config.json "resume"), writes *stopped_at and returns SJ_OK.
 * With resume, the stage continues from such a checkpoint at `out` (a
 * fresh start when `out` does not exist). Given the same inputs, options
 * and threads, an interrupted and resumed run ends with the same bytes in
 * model.safetensors as an uninterrupted one. */
typedef struct {
    int resume;
    long stop_after;                          /* stop after this step (testing); 0 = never */
    const volatile sig_atomic_t *interrupted; /* optional flag, e.g. set on SIGINT */
    long *stopped_at; /* optional out: step it stopped after, 0 when finished */
} sja_run_control;

/* ---- SFT -------------------------------------------------------------------- */

typedef struct {
    long steps;
    int batch;
    double lr;
    uint64_t seed;
    double val_fraction; /* persons held out */
    long eval_every;
    int with_rationale;
    int quiet;
    sja_run_control run;
    double warmup_fraction; /* share of the steps with a linear warm-up (0.1) */
    int keep_best;          /* save the evaluation with the best val_qwk, not the last (0) */
    int lexical;            /* fit the lexical channel on the training persons (1) */
    /* per row of the data: 1 to train on it (NULL: every row); cross-fitting
     * trains each fold's model on the other folds' rows this way, exactly as
     * on a file holding only those rows */
    const unsigned char *use_rows;
    /* copied into the provenance as "crossfit" (NULL: nothing) */
    const cJSON *crossfit;
} sja_sft_opts;

sja_sft_opts sja_sft_defaults(void);

/* The default length of SFT (steps <= 0 asks for it): four passes over the
 * rows with a score that the held-out share leaves for training, at least
 * 100 and at most 400 steps. Measured on real answers (bench/bench_real.sh),
 * longer runs on a few thousand rows fit the noise of the human scores. */
long sja_sft_auto_steps(const sj_responses *data, double val_fraction, int batch);
/* The same over the rows use_rows marks (NULL: every row). */
long sja_sft_auto_steps_rows(const sj_responses *data, const unsigned char *use_rows,
                             double val_fraction, int batch);

/* Fine-tunes `init` (modified in place) on the responses with a human
 * score (several raters: sja_rater_examples, each response weighing the
 * same; the held-out agreement is against the raters' mean, exact
 * agreement against that mean rounded half away from zero); writes the
 * model with train_log.jsonl to `out`; its provenance records the score
 * columns and the rule ("human_scores", sja_rater_rule_json). `summary` (may be
 * NULL) receives {"val_loss", "val_exact", "val_qwk", ...} of the last
 * evaluation. */
sj_status sja_sft(sja_model *init, const sj_instrument *ins, const char *instrument_path,
                  const sj_responses *data, const char *data_path, const sja_sft_opts *opts,
                  const char *out, cJSON **summary, sj_error *err);

/* ---- cross-fitting (crossfit.c) -------------------------------------------------- */

/* The fold (1..k) of every row: the distinct persons, each in the group of
 * its first row (one stratum without a group column), are dealt to the
 * folds stratum by stratum (strata in label order, persons shuffled within
 * a stratum by the stream sj_seed_derive(seed, "crossfit-folds") from id
 * order), the deal going on from one stratum to the next, so the folds'
 * sizes differ by at most one person overall and within each group. The
 * same persons and seed give the same folds whatever the row order.
 * SJ_ERR_INPUT for k < 2 or fewer than k persons. */
sj_status sja_crossfit_folds(const sj_responses *data, int k, uint64_t seed, int *fold_of_row,
                             sj_error *err);

/* "OUT-fold<k>" for --out OUT (a trailing '/' left out). Caller frees. */
char *sja_crossfit_model_dir(const char *out, int fold);

typedef struct {
    int folds;              /* K >= 2 */
    const char *scores_out; /* the cross-fitted scores CSV */
    int batch;              /* responses per forward pass when scoring (64, as score) */
} sja_crossfit_opts;

/* For each fold k: loads the model at init_dir afresh and trains it with
 * sja_sft (opts o) on the rows of the other folds' persons, exactly as on a
 * file holding only those rows (its own held-out split, lexical channel
 * and, with o->steps <= 0, its own default length), into
 * sja_crossfit_model_dir(out, k); loads that model back and scores every
 * row of fold k's persons (rows without a human score too) as `sjtalign
 * score` does (an item the fold model never trained on is scored and
 * flagged unknown_item). Then writes co->scores_out atomically: every input
 * row once, in input order, with the columns of `score` and "fold", and
 * reads it back. Last, trains the final model on every row into `out`,
 * exactly as sja_sft without folds (model.safetensors and lexical.json
 * byte for byte), its provenance adding "crossfit": {"role", "folds",
 * "seed", "stratified_by", "file", "sha256", "rows", "fold_models": [{"fold",
 * "path", "weights_sha256"}]}; *summary as sja_sft's plus "crossfit".
 * A signal stopping a fold's training sets *stopped_fold to the fold (K + 1:
 * the final model's) and stops there (cross-fitting does not resume). */
sj_status sja_crossfit(const char *init_dir, const sj_instrument *ins, const char *instrument_path,
                       const sj_responses *data, const char *data_path, const sja_sft_opts *o,
                       const sja_crossfit_opts *co, const char *out, cJSON **summary,
                       int *stopped_fold, sj_error *err);

/* ---- candidate pairs --------------------------------------------------------- */

typedef struct {
    long n;
    double temperature;
    uint64_t seed;
    int with_rationale;
    int quiet;
} sja_pairs_opts;

sj_status sja_make_pairs(sja_model *policy, const sj_instrument *ins, const sj_responses *data,
                         const sja_pairs_opts *opts, const char *out, sj_error *err);

/* ---- reward model -------------------------------------------------------------- */

/* The backbone with a scalar head r = w·h + b + v·l on the last token, l
 * the scorer's lexical log-probability of the completion's score (0 without
 * a lexical channel; sja_seq_level_prior), and the normalisation (mean, sd)
 * fitted on policy samples: reward = (r − mean)/sd. */
typedef struct {
    sja_model *base;
    float *head; /* embd weights, then the bias b, then the lexical weight v */
    double norm_mean, norm_sd;
} sja_reward_model;

/* Loads a reward model directory (with "head.weight", "head.bias",
 * "reward.norm" tensors); an input error when they are missing. */
sja_reward_model *sja_reward_load(const char *dir, const sj_instrument *ins, sj_error *err);
void sja_reward_free(sja_reward_model *rm);

/* Normalised rewards of n full sequences (prompt, completion, eos). */
sj_status sja_reward_score(sja_reward_model *rm, const sja_seq *seqs, size_t n, int batch,
                           double *rewards, sj_error *err);

typedef struct {
    long steps;
    int batch; /* pairs per step */
    double lr;
    double margin;
    uint64_t seed;
    double val_fraction; /* pairs held out */
    long eval_every;
    long min_pairs;
    int quiet;
    sja_run_control run;
    double warmup_fraction; /* share of the steps with a linear warm-up (0.1) */
    double head_clip;       /* L2 bound on the head's gradient; <= 0 = none (1.0) */
    int keep_best;          /* save the evaluation with the best val_accuracy, not the last (0) */
    int judge_weights;      /* SJA_WEIGHTS_NONE or SJA_WEIGHTS_AGREEMENT (sja_panel_check) */
    const char *focal;      /* the group labels of the panel check ("focal", "reference") */
    const char *reference;
} sja_reward_opts;

sja_reward_opts sja_reward_defaults(void);

/* ---- the expert panel checked (pairs_panel.c) -------------------------------------- */

enum { SJA_WEIGHTS_NONE = 0, SJA_WEIGHTS_AGREEMENT = 1 };

/* The panel statistics of a judged pairs file (sj_panel_stats_compute over
 * its judged rows; judges are the non-empty judge_ids, a row's side its
 * group compared with focal and reference) with what the reward stage
 * saves: panel.json (docs/OUTPUTS.md), panel.csv (a row per judge) and a
 * few summary lines. With SJA_WEIGHTS_AGREEMENT every judged row weighs its
 * judge's sj_panel_judge_weights; otherwise 1. */
typedef struct {
    sj_panel_stats stats;
    size_t n_judges;
    char **judges;        /* judge ids, sorted (borrowed from the pairs) */
    double *judge_weight; /* per judge */
    double *row_weight;   /* per row of the pairs file (0 for unjudged rows) */
    size_t n_unnamed;     /* judged rows without a judge_id */
    cJSON *doc;           /* panel.json */
    char *csv;            /* panel.csv */
    char **summary;       /* plain-text lines */
    size_t n_summary;
} sja_panel;

sja_panel *sja_panel_check(const sja_pairs *pairs, const char *focal, const char *reference,
                           int weighting, sj_error *err);
void sja_panel_free(sja_panel *p);

sj_status sja_reward_train(sja_model *init, const sj_instrument *ins, const char *instrument_path,
                           const sja_pairs *pairs, const char *pairs_path,
                           const sja_reward_opts *opts, const char *out, cJSON **summary,
                           sj_error *err);

/* ---- PPO ------------------------------------------------------------------------- */

/* How PPO estimates a rollout's advantage: GAE with a learned value model
 * (PPO's own), or RLOO's leave-one-out baseline over the other rollouts on
 * the same prompt (no value model; needs samples_per_prompt >= 2). */
typedef enum { SJA_PPO_GAE = 0, SJA_PPO_RLOO = 1 } sja_ppo_estimator;

typedef struct {
    long steps;    /* rollout batches */
    int batch;     /* rollouts per step */
    int minibatch; /* rollouts per gradient step */
    int epochs;    /* passes over each batch */
    double lr;
    double temperature;
    double kl_coef;    /* initial (or fixed) β */
    double kl_target;  /* > 0: adaptive β toward this KL per sequence */
    double kl_horizon; /* adaptive controller horizon (rollouts) */
    double kl_stop;    /* stop when the batch KL exceeds this */
    double cliprange, cliprange_value, vf_coef;
    double gamma, lambda;
    double malformed_penalty; /* score of a completion that does not parse */
    long eval_every;          /* fixed-set evaluation interval in steps (0 = none) */
    long eval_size;           /* prompts in the fixed evaluation set */
    uint64_t seed;
    int quiet;
    sja_run_control run;
    /* share of the optimizer updates (steps x epochs x minibatches) with a
     * linear warm-up; the rate is constant afterwards (0) */
    double warmup_fraction;
    double value_head_clip; /* L2 bound on the value head's gradient; <= 0 = none (1.0) */
    /* save the evaluated model that the KL-budget rule below keeps, not the
     * last (1) */
    int keep_best;
    /* the KL budget of keep-best, nats of eval/kl; <= 0: none (0.15) */
    double kl_budget;
    /* rollouts drawn on each prompt (batch a multiple of it); with one action
     * per rollout, a prompt's rollouts share its forward and backward passes (1) */
    int samples_per_prompt;
    sja_ppo_estimator estimator; /* (SJA_PPO_GAE) */
} sja_ppo_opts;

sja_ppo_opts sja_ppo_defaults(void);

/* PPO's keep-best rule, as the selection score of one fixed-set evaluation
 * (compared lexicographically, higher better, the earlier on a tie; see
 * sj_train_best_offer). With a budget (> 0), an evaluation whose eval/kl is
 * within it beats every one beyond it; among those within, the higher
 * eval/reward wins; among those beyond (none within), the lower eval/kl.
 * Without a budget, the higher eval/reward, then the lower eval/kl. NaN in
 * either figure never wins. Returns 1 when the evaluation is within the
 * budget (always, without one). */
int sja_ppo_keep_score(double reward, double kl, double budget, double score[2]);

/* Gold scores: true score per (person, item) from truth.csv. */
typedef struct sja_truth sja_truth;
sja_truth *sja_truth_load(const char *path, const sj_instrument *ins, sj_error *err);
/* True score of a person on an item, or NaN. */
double sja_truth_lookup(const sja_truth *t, const char *person, size_t item);
void sja_truth_free(sja_truth *t);

sj_status sja_ppo(sja_model *policy, sja_reward_model *rm, const sj_instrument *ins,
                  const char *instrument_path, const sj_responses *data, const char *data_path,
                  const sja_truth *truth, const sja_ppo_opts *opts, const char *out,
                  cJSON **summary, sj_error *err);

/* ---- DPO ---------------------------------------------------------------------------- */

typedef struct {
    long steps;
    int batch; /* pairs per step */
    double lr;
    double beta;
    uint64_t seed;
    double val_fraction;
    long eval_every;
    long min_pairs;
    int quiet;
    sja_run_control run;
    double warmup_fraction; /* share of the steps with a linear warm-up (0.1) */
    int keep_best; /* save the evaluation with the best val_rewards/accuracies, not the last (0) */
} sja_dpo_opts;

sja_dpo_opts sja_dpo_defaults(void);

sj_status sja_dpo(sja_model *policy, const sj_instrument *ins, const char *instrument_path,
                  const sja_pairs *pairs, const char *pairs_path, const sja_dpo_opts *opts,
                  const char *out, cJSON **summary, sj_error *err);

#endif
