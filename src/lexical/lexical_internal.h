/* The lexical model's insides, shared by its files (private to the module). */
#ifndef SJ_LEXICAL_INTERNAL_H
#define SJ_LEXICAL_INTERNAL_H

#include <stddef.h>

#include "sjtalign/lexical.h"

/* A bag of words as a sparse vector: distinct vocabulary ids in increasing
 * order with their counts and tf x idf weights. Words outside the
 * vocabulary (only ever in responses being scored) match nothing but count
 * in the norm, the word count and the distinct-word count. */
typedef struct {
    size_t n;
    int *id;
    int *tf;
    double *w;
    double norm;       /* sqrt of the sum of squared weights, unknown words included */
    long n_words;      /* words with repeats, unknown ones included */
    size_t n_unknown;  /* distinct words outside the vocabulary */
    double unknown_sq; /* their squared weights */
} lex_vec;

/* Training answers of one item with the same normalised text. */
typedef struct {
    lex_vec v;
    double n;   /* how many answers */
    double sum; /* the sum of their scores */
} lex_entry;

typedef struct {
    char *id;
    size_t n_anchors;
    int *anchor_score; /* increasing */
    lex_vec *anchors;
    int *question; /* distinct vocabulary ids of the question, increasing */
    size_t n_question;
    lex_vec top_qd; /* the top anchor without the question's words */
    size_t n_entries;
    lex_entry *entries; /* sorted by lex_vec_compare */
    double bank_n, bank_sum;
    /* Inverted index: (term, entry, weight) sorted by term, then entry. */
    size_t n_post;
    int *post_term;
    int *post_entry;
    double *post_w;
} lex_item;

struct sj_lex_model {
    sj_lex_opts opts;
    int score_min, score_max;
    size_t n_terms;
    char **terms; /* sorted by strcmp */
    long *df;
    double *idf;
    long n_docs;
    size_t n_items;
    lex_item *items; /* sorted by id */
    double grand_mean;
    size_t n_train;
    double mean[SJ_LEX_N_FEATURES], sd[SJ_LEX_N_FEATURES], beta[SJ_LEX_N_FEATURES];
    size_t n_seen;      /* levels seen in training */
    int *seen_levels;   /* increasing */
    double *thresholds; /* n_seen - 1 */
    int converged;
};

extern const char *const LEX_FEATURE_NAMES[SJ_LEX_N_FEATURES];

enum {
    LEX_F_ANCHOR_COS,
    LEX_F_ANCHOR_COS_QD,
    LEX_F_RECALL,
    LEX_F_PRECISION,
    LEX_F_BEST_LEVEL,
    LEX_F_KNN_MEAN,
    LEX_F_KNN_WEIGHTED,
    LEX_F_ITEM_MEAN,
    LEX_F_LOG_WORDS,
    LEX_F_LOG_WORDS_VS_ANCHOR,
};

/* ---- vocabulary and vectors (terms.c) ---- */
long lex_term_id(const sj_lex_model *m, const char *word);
double lex_idf(long df, long n_docs);
/* The vector of a list of normalised words; 0, or -1 when out of memory. */
int lex_vec_from_words(const sj_lex_model *m, char *const *words, long n_words, lex_vec *out);
void lex_vec_free(lex_vec *v);
/* v without the given ids (sorted); the anchor with its question demoted. */
int lex_vec_without(const lex_vec *v, const int *ids, size_t n_ids, lex_vec *out);
int lex_vec_copy(const lex_vec *v, lex_vec *out);
/* Total order on bags of words (id, then count sequences). */
int lex_vec_compare(const lex_vec *a, const lex_vec *b);
double lex_dot(const lex_vec *a, const lex_vec *b);
/* The normalised text: each word repeated tf times, in id order; caller frees. */
char *lex_vec_text(const sj_lex_model *m, const lex_vec *v);
/* Splits a normalised text at spaces into vocabulary words; -1 (with
 * *bad set to the first unknown word) when a word is not in the vocabulary. */
int lex_vec_from_text(const sj_lex_model *m, const char *text, lex_vec *out, const char **bad,
                      size_t *bad_len);
/* Sorts and merges an item's entries and builds its totals and index. */
int lex_item_index(lex_item *it);
void lex_item_free(lex_item *it);
const lex_item *lex_find_item(const sj_lex_model *m, const char *id);

/* ---- building (fit.c, model.c) ---- */
/* The top anchor without the question's words (it->top_qd). */
int lex_item_demote(lex_item *it);
/* Distinct vocabulary ids of a list of words, increasing (unknown words
 * left out); the count, or -1 when out of memory. */
long lex_distinct_ids(const sj_lex_model *m, char *const *words, long n, int **ids);
/* Standardises the raw training features x (n x SJ_LEX_N_FEATURES) with
 * weighted means and SDs and fits the weighted ordinal regression (weights
 * NULL: 1 each); -1 with err set on failure. */
int lex_fit_ordinal(sj_lex_model *m, const double *x, const int *scores, const double *weights,
                    size_t n, sj_error *err);

/* ---- features (features.c) ---- */
/* Raw features of a response vector against an item (NULL: unknown). */
int lex_compute_features(const sj_lex_model *m, const lex_item *it, const lex_vec *r, double *x);
/* The probabilities from raw features; -1 when out of memory. */
int lex_probs_from_features(const sj_lex_model *m, const double *x, double *probs);

#endif
