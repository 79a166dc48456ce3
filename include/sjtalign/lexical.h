/* sjtalign lexical scorer: a transparent model of a response's score from
 * word overlap with the rubric anchors and with scored training answers of
 * the same item, its length and the item's mean, fitted as an ordinal
 * (cumulative logit) regression so that it gives a probability for every
 * score level.
 *
 * Words: runs of ASCII letters and digits (lower-cased), bytes >= 0x80, '+'
 * and '#' (so C++ and C# survive); everything else separates words. English
 * stop words are dropped and a light suffix stripper (not Porter's stemmer:
 * plurals, -ing, -ed, -ly, -ness, -ment, -ation, -er and a final e) maps
 * inflections together. A response's "normalised text" is its bag of such
 * words; two responses with the same bag are identical to the model.
 *
 * Term weights are tf x idf, idf = log((N + 1) / (df + 1)) + 1 over the N
 * training answers. Features of a response against its item (in this order):
 *   anchor_cosine      cosine with the anchor of the highest rubric level
 *   anchor_cosine_qd   the same with the question's words removed from both
 *                      ("question demoting")
 *   anchor_recall      share of that anchor's distinct words (question's
 *                      removed) found in the response (question's removed)
 *   anchor_precision   share of the response's distinct words (question's
 *                      removed) found in the anchor
 *   best_anchor_level  level of the most similar anchor (ties: the lowest
 *                      level) scaled to [0, 1] over the instrument's range
 *   knn_mean           mean score of the k training answers of the item most
 *                      similar to the response (cosine > 0; slots left
 *                      empty take the item's mean)
 *   knn_weighted       mean score of all training answers of the item, each
 *                      weighted by its squared cosine (the item's mean when
 *                      no answer shares a word)
 *   item_mean          the item's mean training score
 *   log_words          log(1 + words of the response)
 *   log_words_vs_anchor log_words - log(1 + words of the top anchor)
 * Leave-one-out without leakage: the bank features of a response leave out
 * the training answers of its item whose normalised text is identical to
 * it, at training and at scoring alike, so a training answer is scored as if
 * unseen and scores the same later. With no answers left, the bank features
 * are the grand mean of the training scores. An item of the instrument that
 * had no training answers keeps its anchor features; an item the model does
 * not know at all gets the training mean of every feature but the word
 * count (a neutral response of its length).
 *
 * Features are standardised with the training means and SDs (a feature
 * with SD 0 is 0). P(Y <= k) = logistic(theta_k - z.beta) with a ridge
 * penalty ridge/2 |beta|^2 on the standardised slopes (sj_ordinal_fit).
 * Score levels with no training answers are merged out of the fit (the fit
 * runs over the levels seen) and get probability 0 from it; then the
 * uniform distribution is mixed in with weight `floor`, so every level has
 * at least floor / n_levels. */
#ifndef SJTALIGN_LEXICAL_H
#define SJTALIGN_LEXICAL_H

#include <stddef.h>

#include <cjson/cJSON.h>

#include "sjtalign/io.h"
#include "sjtalign/util.h"

#define SJ_LEX_FORMAT "sjtalign-lexical-model"
#define SJ_LEX_FORMAT_VERSION 1
#define SJ_LEX_N_FEATURES 10

typedef struct sj_lex_model sj_lex_model;

typedef struct {
    double ridge;   /* ridge on the standardised slopes, >= 0 */
    int neighbours; /* k of the k-NN feature, >= 1 */
    double floor;   /* weight of the uniform distribution mixed in, in [0, 1) */
} sj_lex_opts;

/* ridge 1, neighbours 3, floor 0.01. */
sj_lex_opts sj_lex_defaults(void);

/* Fits on n training answers: item ids (each must be an item of `ins`),
 * texts and whole-number scores within the instrument's range. opts NULL
 * takes the defaults. SJ_ERR_INPUT names the answer (0-based index) and
 * what is wrong; SJ_ERR_WORK when the fit does not converge. */
sj_lex_model *sj_lex_fit(const sj_instrument *ins, const char *const *item_ids,
                         const char *const *texts, const int *scores, size_t n,
                         const sj_lex_opts *opts, sj_error *err);
/* The same with a weight per answer (NULL: 1 each; else finite and > 0)
 * in the ordinal regression's log-likelihood and in the standardisation's
 * means and SDs. The vocabulary, the banks and the item means count every
 * answer once: a response scored by two raters is passed as two answers
 * with the same text (one per rater score, each weighted 1/2), so its bank
 * entry holds both scores and its mean is the raters' mean, while in the
 * regression it weighs as much as a response with one score. */
sj_lex_model *sj_lex_fit_weighted(const sj_instrument *ins, const char *const *item_ids,
                                  const char *const *texts, const int *scores,
                                  const double *weights, size_t n, const sj_lex_opts *opts,
                                  sj_error *err);
int sj_lex_n_levels(const sj_lex_model *m);
int sj_lex_score_min(const sj_lex_model *m);
/* 1 when training answers of that item were seen. */
int sj_lex_has_item(const sj_lex_model *m, const char *item_id);
/* n_levels probabilities summing to 1 (levels score_min, score_min + 1, ...). */
sj_status sj_lex_probs(const sj_lex_model *m, const char *item_id, const char *text, double *probs,
                       sj_error *err);
/* sum_k (score_min + k) probs[k]. */
double sj_lex_expected(const sj_lex_model *m, const double *probs);
/* The raw (not standardised) SJ_LEX_N_FEATURES features of a response. */
sj_status sj_lex_features(const sj_lex_model *m, const char *item_id, const char *text,
                          double *features, sj_error *err);

/* {"format", "format_version", "score_min", "score_max", "opts", "n_train",
 * "grand_mean", "vocabulary": {"n_docs", "terms", "df"}, "items": [{"id",
 * "question", "anchors": [{"score", "words"}], "bank": [{"words", "n",
 * "score_sum"}]}], "features": [{"name", "mean", "sd", "coef"}], "levels",
 * "thresholds", "converged"}: everything scoring needs; "words" are
 * normalised texts (stemmed words separated by spaces). Real numbers are
 * raw cJSON items holding the digits that read back exactly (cJSON's own
 * printing drops the last bits); sj_lex_from_json reads raw and parsed
 * numbers alike. */
cJSON *sj_lex_to_json(const sj_lex_model *m);
/* Reads and validates a document of sj_lex_to_json; errors name `path`
 * and the key ("items[3].bank[0].n"). The model scores exactly as the one
 * written. */
sj_lex_model *sj_lex_from_json(const cJSON *doc, const char *path, sj_error *err);
void sj_lex_free(sj_lex_model *m);

/* What the fitted model is, for printing it. Pointers stay valid while the
 * model lives. */
typedef struct {
    size_t n_features;
    const char *const *names; /* feature names, in the order above */
    const double *coef;       /* standardised slopes */
    const double *mean, *sd;  /* the standardisation */
    size_t n_thresholds;
    const double *thresholds; /* between consecutive levels of `levels` */
    const int *levels;        /* the n_thresholds + 1 score levels seen in training */
    size_t n_train;           /* training answers */
    size_t n_items_trained;   /* items with training answers */
    size_t n_terms;           /* vocabulary size */
    int converged;
} sj_lex_summary;

void sj_lex_explain(const sj_lex_model *m, sj_lex_summary *out);

/* The word-overlap k-NN baseline: least squares of the score on
 * [1, anchor_cosine, knn_mean] over the training answers (features with
 * the same leave-one-out rule). */
typedef struct {
    double coef[3]; /* intercept, anchor_cosine, knn_mean */
    size_t n;
} sj_lex_knn;

sj_status sj_lex_knn_fit(const sj_lex_model *m, const char *const *item_ids,
                         const char *const *texts, const int *scores, size_t n, sj_lex_knn *out,
                         sj_error *err);
/* Weighted least squares with a weight per answer (NULL: 1 each; else
 * finite and > 0): answers expanded per rater score with weights 1/(number
 * of scores) give the least squares of the raters' mean. */
sj_status sj_lex_knn_fit_weighted(const sj_lex_model *m, const char *const *item_ids,
                                  const char *const *texts, const int *scores,
                                  const double *weights, size_t n, sj_lex_knn *out, sj_error *err);
/* The prediction from raw features (sj_lex_features), clipped to the scale. */
double sj_lex_knn_predict(const sj_lex_model *m, const sj_lex_knn *k, const double *features);

/* ---- the words (exposed for tests and for explaining the model) ---------- */

/* The normalised words of a text in order: tokenised, lower-cased, stop
 * words dropped, stemmed. Returns the count and sets *words to an array of
 * that many strings (free with sj_lex_words_free); -1 when out of memory. */
long sj_lex_words(const char *text, char ***words);
void sj_lex_words_free(char **words, long n);
/* 1 when the lower-case word is on the stop-word list. */
int sj_lex_is_stop_word(const char *word);
/* The stop-word list (sorted); returns its length. */
size_t sj_lex_stop_words(const char *const **words);
/* The stem of a lower-case word; caller frees. */
char *sj_lex_stem(const char *word);

#endif
