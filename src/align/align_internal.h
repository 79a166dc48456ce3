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

#endif
