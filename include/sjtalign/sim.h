/* sjtalign simulator: SJT data with a known truth (persons, graded response
 * model, response texts in two registers, human scores with injected rater
 * bias) and a simulated expert panel that judges pairs of scorings.
 *
 * Conventions (also written into simulation.json):
 * - Groups "reference" and "focal". θ ~ N(0, 1) in the reference group and
 *   N(−D, 1) in the focal group, so impact D > 0 means a lower focal mean.
 *   Exactly round(P·N) persons are focal, chosen at random. θ is rounded to
 *   4 decimals so the value in truth.csv is the value that was used.
 * - Scores 0..3. True score from a graded response model:
 *   P(X ≥ k | θ) = 1 / (1 + exp(−a (θ − b_k))), k = 1..3, b_1 < b_2 < b_3.
 * - Human score: with probability E the rater moves the true score one step
 *   up or down (equally likely), clamped to 0..3 (a move past an end is
 *   lost). Then, on a biased item, a focal-phrased response is marked down
 *   one point with probability SIZE (never below 0).
 * - Several raters (n_raters R >= 2): each rater scores every response by
 *   the rule above with their own independent draws (error and bias alike),
 *   so two raters' errors are independent given the true score and every
 *   rater carries the same bias. Rater 1 draws from the stream of the
 *   single rater, so rater_1 equals the human_score of a one-rater run with
 *   the same seed.
 * - Every focal person writes in the focal register, every reference person
 *   in the reference register; the register carries no information about
 *   the score.
 */
#ifndef SJTALIGN_SIM_H
#define SJTALIGN_SIM_H

#include <stddef.h>
#include <stdint.h>

#include "sjtalign/io.h"

#define SJ_SIM_SCORE_MIN 0
#define SJ_SIM_SCORE_MAX 3
#define SJ_SIM_LEVELS (SJ_SIM_SCORE_MAX - SJ_SIM_SCORE_MIN + 1)
#define SJ_SIM_REFERENCE "reference"
#define SJ_SIM_FOCAL "focal"
/* Most raters per response (simulate --raters). */
#define SJ_SIM_MAX_RATERS 20
/* Guard against runs that would not fit in memory (persons × items). */
#define SJ_SIM_MAX_CELLS 10000000UL

/* ---- configuration ------------------------------------------------------- */

typedef struct {
    char *item;  /* item id, e.g. "S03" */
    double size; /* probability that a focal response is marked down */
} sj_sim_bias;

typedef struct {
    size_t n_persons;
    size_t n_items;
    double focal_share; /* P, in (0, 1) */
    double impact;      /* D: the focal θ mean is −D */
    double rater_noise; /* E, in [0, 1] */
    size_t n_raters;    /* R raters per response, 1..SJ_SIM_MAX_RATERS */
    size_t n_bias;
    sj_sim_bias *bias; /* owned */
    uint64_t seed;
} sj_sim_config;

/* Defaults: 2000 persons, 8 items, P = 0.3, D = 0, E = 0.1, 1 rater, no
 * bias, seed 1. */
void sj_sim_config_defaults(sj_sim_config *cfg);
void sj_sim_config_free(sj_sim_config *cfg);

/* Parses "ITEM:SIZE,ITEM:SIZE" into cfg->bias (replacing any list there).
 * Messages name --bias and say what is wrong. */
sj_status sj_sim_parse_bias(const char *spec, sj_sim_config *cfg, sj_error *err);
/* Checks every setting (messages name the flag): persons and items > 0,
 * share in (0, 1), noise in [0, 1], raters in 1..SJ_SIM_MAX_RATERS, bias items among the K items
 * with a size in [0, 1] and listed once. */
sj_status sj_sim_config_check(const sj_sim_config *cfg, sj_error *err);

/* ---- instrument ------------------------------------------------------------ */

/* Number of hand-written items in the text bank. */
size_t sj_sim_bank_size(void);
/* Id of the k-th simulated item (0-based): "S01", "S02", ... Items beyond the
 * bank reuse its scenarios in order as parallel forms with their own ids. */
void sj_sim_item_id(size_t k, char *out, size_t n);
/* The instrument of the first n_items simulated items. */
sj_instrument *sj_sim_instrument(size_t n_items, sj_error *err);

/* ---- graded response model -------------------------------------------------- */

typedef struct {
    double a;                    /* discrimination */
    double b[SJ_SIM_LEVELS - 1]; /* ordered thresholds */
} sj_sim_grm;

/* P(X = k | θ) for k in 0..3. */
double sj_sim_grm_prob(const sj_sim_grm *item, double theta, int k);
/* The score whose cumulative interval holds u in [0, 1): the number of
 * thresholds k with u < P(X ≥ k | θ). */
int sj_sim_grm_draw(const sj_sim_grm *item, double theta, double u);

/* The rater: with probability `noise` (u_noise < noise) the score moves one
 * step, down when u_dir < 0.5 and up otherwise, clamped to 0..3; then a
 * focal response on a biased item is marked down one point when
 * u_bias < bias_size, never below 0. The u's are uniform on [0, 1). */
int sj_sim_rate(int true_score, int focal, double bias_size, double noise, double u_noise,
                double u_dir, double u_bias);

/* ---- simulated data ---------------------------------------------------------- */

typedef struct {
    size_t n_persons, n_items;
    double *theta;        /* n_persons */
    unsigned char *focal; /* n_persons: 1 = focal group */
    sj_sim_grm *grm;      /* n_items */
    double *bias_size;    /* n_items: 0 on unbiased items */
    int *true_score;      /* n_persons × n_items, person-major */
    int *human_score;     /* same layout; rater 1 */
    size_t n_raters;      /* R */
    /* Raters 2..R: rater k's score of cell c at more_raters[(k - 2) * cells
     * + c] (cells = n_persons × n_items); NULL with one rater. */
    int *more_raters;
    /* Only after sj_sim_add_texts: */
    sj_instrument *instrument;
    const char **intent; /* intent label per cell (static strings) */
    char **response;     /* response text per cell (owned) */
} sj_sim_data;

/* Fast path for power studies: θ, groups, true and human scores, no texts.
 * The scores equal those of the full simulation with the same config. */
sj_sim_data *sj_sim_scores(const sj_sim_config *cfg, sj_error *err);
/* Adds the instrument, an intent consistent with each true score and a
 * response text expressing it in the person's register. */
sj_status sj_sim_add_texts(sj_sim_data *d, uint64_t seed, sj_error *err);
/* Both of the above. */
sj_sim_data *sj_sim_run(const sj_sim_config *cfg, sj_error *err);
void sj_sim_data_free(sj_sim_data *d);

/* Rater k's (1-based) score of cell c. */
int sj_sim_rater_score(const sj_sim_data *d, size_t k, size_t c);

/* Writes instrument.json, responses.csv (human_score with one rater,
 * rater_1..rater_R with several), truth.csv, simulation.json and
 * their manifest (.sjtalign-manifest.json, command "simulate") as the
 * folder dir, built beside it and swapped in whole (sj_outdir). An existing
 * dir is replaced only when it holds nothing but the unchanged files its
 * manifest lists; otherwise SJ_ERR_INPUT names the file in the way. */
sj_status sj_sim_write(const char *dir, const sj_sim_config *cfg, const sj_sim_data *d,
                       sj_error *err);
/* The simulation.json document (every parameter, counts, item parameters). */
cJSON *sj_sim_describe(const sj_sim_config *cfg, const sj_sim_data *d);

/* ---- text bank (exposed for tests) ------------------------------------------- */

/* Number of intents for an item of the bank (k modulo the bank size) at a
 * score level, and the label of the i-th one. */
size_t sj_sim_n_intents(size_t k, int level);
const char *sj_sim_intent_label(size_t k, int level, size_t i);
/* Number of paraphrases of an intent in a register (0 reference, 1 focal)
 * and the i-th one (a verb phrase in the base form). */
size_t sj_sim_n_phrasings(size_t k, int level, size_t intent, int focal);
const char *sj_sim_phrasing(size_t k, int level, size_t intent, int focal, size_t i);
/* Builds one response: the phrasing plus a subject, and at random an
 * opener, a hedge, a reason before or after, and a closing remark, all from
 * the register's own lists. Caller frees. */
char *sj_sim_compose(gsl_rng *rng, const char *phrasing, int focal);

/* ---- simulated expert panel --------------------------------------------------- */

/* An expert who, on focal-group responses, leans `logits` toward the
 * candidate with the higher score (negative: toward the lower). */
typedef struct {
    size_t expert; /* 1-based: expert_01 is 1 */
    double logits;
} sj_panel_bias;

/* A zero-initialised config (besides panel_size and sharpness) is the
 * panel as it always was: one expert per pair, a coin at equal distance. */
typedef struct {
    size_t panel_size; /* J experts */
    double sharpness;  /* K */
    uint64_t seed;
    double overlap;         /* share of pairs judged by several experts, in [0, 1] */
    size_t judges_per_pair; /* experts per such pair, 2..J */
    int ties;               /* at equal distance record a tie, not a coin's choice */
    const char *focal;      /* focal label of the pairs' group column (NULL: "focal") */
    size_t n_bias;
    sj_panel_bias *bias; /* owned (sj_panel_config_free) */
} sj_panel_config;

typedef struct {
    size_t n_pairs;
    size_t n_judgments;     /* rows written: a pair judged by K experts gives K */
    size_t n_overlap_pairs; /* pairs judged by more than one expert */
    size_t n_ties;          /* judgments recorded as a tie */
    size_t n_decisive;      /* judgments whose candidates differ in distance to the truth */
    size_t n_agree;         /* decisive judgments where the nearer candidate was preferred */
} sj_panel_summary;

/* An expert's choice (SJ_PANEL_A, _B or _TIE). */
enum { SJ_PANEL_A = 0, SJ_PANEL_B = 1, SJ_PANEL_TIE = 2 };

/* Reads the integer after the first "score:" (case-insensitive, spaces
 * allowed) in a completion; a rationale may follow ("score: 2 - matched the
 * anchor ..."). A fraction ("score: 2.5") or a missing number is not a
 * score. 0 on success, -1 otherwise. */
int sj_panel_parse_score(const char *completion, long *score);
/* P(expert prefers a) = σ(K·(|s_b − t| − |s_a − t|)). */
double sj_panel_prefer_a(double sharpness, long score_a, long score_b, double truth);
/* One expert's choice with uniform draw u in [0, 1) for candidates scored
 * score_a, score_b and true score t: with gap = |s_b − t| − |s_a − t| and
 * the expert's lean L (0 unless biased and the response focal) signed
 * toward the higher score, P(a) = σ(K·gap ± L). At gap 0 without a lean:
 * a tie when cfg->ties, else a fair coin (u < ½: a). */
int sj_panel_decide(const sj_panel_config *cfg, double u, long score_a, long score_b, double truth,
                    double lean);
/* Parses --judge-bias "ID:X[,ID:X...]" (ID expert_02 or 2, within the
 * panel of cfg->panel_size) into cfg->bias, replacing any list there. */
sj_status sj_panel_parse_bias(const char *spec, sj_panel_config *cfg, sj_error *err);
void sj_panel_config_free(sj_panel_config *cfg);
/* Fills `preferred` and `judge_id` of every pair (pair i, in file order, goes
 * to expert (i mod J) + 1, named expert_01, expert_02, ...). With overlap X,
 * exactly round(X·n) pairs chosen at random also go to K − 1 more experts
 * drawn at random, each judgment a row of its own right after the first
 * (same columns; the added experts in ascending order); the input must then
 * have one
 * row per pair_id. Keeps all other columns; appends preferred/judge_id when
 * the input lacks them. */
sj_status sj_panel_judge_files(const char *truth_path, const char *pairs_path, const char *out_path,
                               const sj_panel_config *cfg, sj_panel_summary *summary,
                               sj_error *err);

#endif
