/* Helpers shared by the alignment stages: batches, splits, heads. */
#include "align_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

sj_status sja_batch_build(const sja_seq *const *seqs, int n, int weights, int append_pad,
                          sj_lm_batch **out, int *hidden_pos, sj_error *err)
{
    int longest = 2;
    for (int b = 0; b < n; b++)
        if (seqs[b]->len + append_pad > longest)
            longest = seqs[b]->len + append_pad;
    sj_lm_batch *batch = sj_lm_batch_new(n, longest - 1);
    int32_t *tmp = malloc((size_t)(longest + 1) * sizeof *tmp);
    float *wt = malloc((size_t)longest * sizeof *wt);
    sj_status st = SJ_OK;
    if (!batch || !tmp || !wt)
        st = sj_error_set(err, SJ_ERR_WORK, "out of memory");
    for (int b = 0; b < n && st == SJ_OK; b++) {
        const sja_seq *s = seqs[b];
        int len = s->len + append_pad;
        memcpy(tmp, s->tokens, (size_t)s->len * sizeof *tmp);
        if (append_pad)
            tmp[s->len] = SJ_TOK_PAD;
        /* Target t is token t + 1: completion targets start at prompt_len. */
        for (int t = 0; t < len - 1; t++)
            wt[t] = (weights == SJA_W_COMPLETION && t + 1 >= s->prompt_len && t + 1 < s->len)
                        ? 1.0f
                        : 0.0f;
        st = sj_lm_batch_set(batch, b, tmp, len, wt, err);
        if (hidden_pos)
            hidden_pos[b] = s->len - 1;
    }
    free(tmp);
    free(wt);
    if (st == SJ_OK)
        st = sja_batch_set_priors(batch, seqs, n, err);
    if (st != SJ_OK) {
        sj_lm_batch_free(batch);
        return st;
    }
    *out = batch;
    return SJ_OK;
}

void sja_sequence_logprobs(const sj_lm_batch *batch, const float *logprobs, double *out)
{
    for (int b = 0; b < batch->B; b++) {
        double s = 0.0;
        size_t row = (size_t)b * (size_t)batch->T;
        for (int t = 0; t < batch->lengths[b]; t++)
            if (batch->weights[row + (size_t)t] != 0.0f)
                s += (double)batch->weights[row + (size_t)t] * (double)logprobs[row + (size_t)t];
        out[b] = s;
    }
}

size_t *sja_permutation(gsl_rng *rng, size_t n)
{
    size_t *p = malloc((n ? n : 1) * sizeof *p);
    if (!p)
        return NULL;
    for (size_t i = 0; i < n; i++)
        p[i] = i;
    for (size_t i = n; i > 1; i--) {
        size_t j = (size_t)gsl_rng_uniform_int(rng, i);
        size_t t = p[i - 1];
        p[i - 1] = p[j];
        p[j] = t;
    }
    return p;
}

static int compare_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

sj_status sja_split_by_key(const char *const *keys, size_t n, double fraction, gsl_rng *rng,
                           unsigned char *is_val, size_t *n_val_rows, sj_error *err)
{
    memset(is_val, 0, n);
    if (n_val_rows)
        *n_val_rows = 0;
    if (n == 0 || fraction <= 0)
        return SJ_OK;
    const char **sorted = malloc(n * sizeof *sorted);
    if (!sorted)
        return sj_error_set(err, SJ_ERR_WORK, "out of memory");
    memcpy(sorted, keys, n * sizeof *sorted);
    qsort(sorted, n, sizeof *sorted, compare_str);
    size_t n_keys = 0;
    for (size_t i = 0; i < n; i++)
        if (i == 0 || strcmp(sorted[i], sorted[i - 1]) != 0)
            sorted[n_keys++] = sorted[i];
    size_t n_val = (size_t)(fraction * (double)n_keys + 0.5);
    if (n_val == 0 && n_keys >= 2)
        n_val = 1;
    if (n_val >= n_keys)
        n_val = n_keys - 1;
    /* Shuffle the distinct keys in sorted order, so the split depends on the
     * seed and the set of keys, not on the order of the rows. */
    size_t *perm = sja_permutation(rng, n_keys);
    const char **held = malloc((n_val ? n_val : 1) * sizeof *held);
    size_t n_rows = 0;
    sj_status st = perm && held ? SJ_OK : sj_error_set(err, SJ_ERR_WORK, "out of memory");
    if (st == SJ_OK) {
        for (size_t i = 0; i < n_val; i++)
            held[i] = sorted[perm[i]];
        qsort(held, n_val, sizeof *held, compare_str);
        for (size_t i = 0; i < n; i++) {
            const char *k = keys[i];
            is_val[i] = n_val && bsearch(&k, held, n_val, sizeof *held, compare_str) != NULL;
            n_rows += is_val[i];
        }
    }
    free(perm);
    free(held);
    free(sorted);
    if (n_val_rows)
        *n_val_rows = n_rows;
    return st;
}

void sja_pair_seqs_free(sja_pair_seqs *p)
{
    for (size_t i = 0; i < p->n; i++) {
        sja_seq_free(&p->chosen[i]);
        sja_seq_free(&p->rejected[i]);
    }
    free(p->chosen);
    free(p->rejected);
    free(p->tie);
    free(p->weight);
    free(p->person);
    memset(p, 0, sizeof *p);
}

sj_status sja_pairs_encode(const sja_codec *c, const sj_instrument *ins, const sja_pairs *pairs,
                           const double *row_weight, long min_pairs, const char *path,
                           const char *who, sja_pair_seqs *out, sj_error *err)
{
    size_t cap = pairs->n ? pairs->n : 1;
    out->n = 0;
    out->chosen = sj_calloc(cap, sizeof *out->chosen);
    out->rejected = sj_calloc(cap, sizeof *out->rejected);
    out->person = sj_calloc(cap, sizeof *out->person);
    out->tie = sj_calloc(cap, sizeof *out->tie);
    out->weight = sj_calloc(cap, sizeof *out->weight);
    if (!out->chosen || !out->rejected || !out->person || !out->tie || !out->weight)
        return sj_error_set(err, SJ_ERR_WORK, "out of memory");
    for (size_t i = 0; i < pairs->n; i++) {
        const sja_pair *q = &pairs->pairs[i];
        if (q->preferred == SJA_PREF_NONE || strcmp(q->completion_a, q->completion_b) == 0)
            continue;
        /* a tie keeps a first, b second */
        const char *ch = q->preferred == SJA_PREF_B ? q->completion_b : q->completion_a;
        const char *rj = q->preferred == SJA_PREF_B ? q->completion_a : q->completion_b;
        size_t k = out->n;
        sj_status st = sja_encode_example(c, ins, q->item, q->response, ch, &out->chosen[k], err);
        if (st == SJ_OK)
            st = sja_encode_example(c, ins, q->item, q->response, rj, &out->rejected[k], err);
        if (st != SJ_OK) {
            sj_error_prefix(err, "pair %s (line %ld): ", q->pair_id, q->line);
            return st;
        }
        out->person[k] = q->person_id;
        out->tie[k] = q->preferred == SJA_PREF_TIE;
        out->weight[k] = row_weight ? row_weight[i] : 1.0;
        out->n++;
    }
    if ((long)out->n < min_pairs)
        return sj_error_set(err, SJ_ERR_INPUT,
                            "%s: %zu judged pairs with two different completions; %s needs at "
                            "least %ld",
                            path, out->n, who, min_pairs);
    return SJ_OK;
}

double sja_head_apply(const float *head, const float *h, int embd)
{
    double s = head[embd];
    for (int i = 0; i < embd; i++)
        s += (double)head[i] * (double)h[i];
    return s;
}

void sja_head_update(sj_adamw *opt, float *head, float *grad, double clip, double lr)
{
    if (clip > 0) {
        double norm = sqrt(sj_grad_sq_norm(grad, opt->n));
        if (norm > clip)
            sj_grad_scale(grad, opt->n, (float)(clip / norm));
    }
    sj_adamw_update(opt, head, grad, NULL, lr);
}

void sja_progress_start(sj_progress *p, const char *label, long total, int quiet)
{
    sj_progress_start(p, label, total);
    if (quiet)
        p->quiet = 1;
}

int sja_mode_level(const double *p, int n_levels)
{
    int best = 0;
    for (int k = 1; k < n_levels; k++)
        if (p[k] > p[best])
            best = k;
    return best;
}

double sja_expected_score(const double *p, int n_levels, int score_min)
{
    double e = 0.0;
    for (int k = 0; k < n_levels; k++)
        e += p[k] * (double)(score_min + k);
    return e;
}
