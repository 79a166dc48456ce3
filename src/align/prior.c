/* The scorer's lexical prior: the lexical model's log-probabilities of the
 * score levels, carried by every encoded sequence and added to the language
 * model's logits where it predicts the score (training, scoring, sampling). */
#include "align_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

sj_status sja_seq_set_prior(const sja_codec *c, const char *item_id, const char *response,
                            int prompt_end, sja_seq *s, sj_error *err)
{
    free(s->prior);
    s->prior = NULL;
    s->n_prior = 0;
    if (!c->lex || !c->single_token_levels)
        return SJ_OK;
    if (sj_lex_n_levels(c->lex) != c->n_levels || sj_lex_score_min(c->lex) != c->score_min)
        return sj_error_set(err, SJ_ERR_INPUT,
                            "the scorer's lexical channel covers scores %d..%d; the instrument "
                            "has %d..%d",
                            sj_lex_score_min(c->lex),
                            sj_lex_score_min(c->lex) + sj_lex_n_levels(c->lex) - 1, c->score_min,
                            c->score_max);
    double *p = malloc((size_t)c->n_levels * sizeof *p);
    s->prior = malloc((size_t)c->n_levels * sizeof *s->prior);
    sj_status st = p && s->prior ? SJ_OK : sj_error_set(err, SJ_ERR_WORK, "out of memory");
    if (st == SJ_OK)
        st = sj_lex_probs(c->lex, item_id, response, p, err);
    if (st == SJ_OK) {
        for (int k = 0; k < c->n_levels; k++)
            s->prior[k] = (float)log(p[k]);
        s->n_prior = c->n_levels;
        s->prior_pos = prompt_end + (int)c->n_prefix - 1;
        s->prior_tokens = c->level_tokens;
    } else {
        free(s->prior);
        s->prior = NULL;
    }
    free(p);
    return st;
}

void sja_sample_opts_prior(const sja_seq *prompt, sj_lm_sample_opts *so)
{
    if (!prompt->prior)
        return;
    so->bias_tokens = prompt->prior_tokens;
    so->bias = prompt->prior;
    so->n_bias = prompt->n_prior;
    /* generated token j is predicted at input position len - 1 + j */
    so->bias_step = prompt->prior_pos - (prompt->len - 1);
}

sj_status sja_batch_set_priors(sj_lm_batch *batch, const sja_seq *const *seqs, int n, sj_error *err)
{
    const sja_seq *first = NULL;
    for (int b = 0; b < n && !first; b++)
        if (seqs[b]->prior)
            first = seqs[b];
    if (!first)
        return SJ_OK;
    sj_status st = sj_lm_batch_set_bias_tokens(batch, first->prior_tokens, first->n_prior, err);
    for (int b = 0; b < n && st == SJ_OK; b++)
        if (seqs[b]->prior && seqs[b]->prior_pos < batch->lengths[b])
            st = sj_lm_batch_set_bias(batch, b, seqs[b]->prior_pos, seqs[b]->prior, err);
    return st;
}

void sja_save_opts_lexical_json(sj_lm_save_opts *so, cJSON *const *doc)
{
    static const char *const names[1] = {"lexical.json"};
    if (!*doc)
        return;
    so->json_names = names;
    so->json_docs = (const cJSON *const *)doc;
    so->n_json = 1;
}

void sja_save_opts_lexical(const sja_model *from, sj_lm_save_opts *so)
{
    sja_save_opts_lexical_json(so, &from->lexical_json);
}

double sja_seq_level_prior(const sja_seq *s)
{
    if (!s->prior || s->n_prior < 1)
        return 0.0;
    double lowest = s->prior[0];
    for (int k = 1; k < s->n_prior; k++)
        lowest = s->prior[k] < lowest ? s->prior[k] : lowest;
    int at = s->prior_pos + 1;
    if (at < 0 || at >= s->len)
        return lowest;
    for (int k = 0; k < s->n_prior; k++)
        if (s->tokens[at] == s->prior_tokens[k])
            return s->prior[k];
    return lowest;
}
