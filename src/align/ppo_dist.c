/* PPO across the ranks of an MPI job: each rank draws, evaluates and scores
 * its share of a step's rollouts, the shares are copied to every rank, and
 * every rank then computes the same advantages, metrics and KL decisions
 * from the same whole batch. An update sums the ranks' gradients of their
 * shares of the minibatch (with the statistics) in one exchange. With one
 * process the gather copies the batch onto itself and the exchange does
 * nothing: no number changes. */
#include "ppo_internal.h"

#include <stdlib.h>
#include <string.h>

sj_status ppo_sampling_stream(uint64_t seed, long step, gsl_rng **own, sj_error *err)
{
    *own = NULL;
    if (sj_dist_size() == 1)
        return SJ_OK;
    char label[80];
    snprintf(label, sizeof label, "ppo-sample:rank %d:step %ld", sj_dist_rank(), step);
    *own = sj_rng_new(sj_seed_derive(seed, label));
    return *own ? SJ_OK : sj_error_set(err, SJ_ERR_WORK, "out of memory");
}

/* ---- the rollouts of every rank ------------------------------------------------------ */

/* A rank's block: its status (1 failed), its rollouts' count and their
 * tokens' count, then per rollout the completion's length n, the parsed
 * score, the score and the gold score, the n completion tokens, and the n
 * old log-probabilities, reference log-probabilities and values. */
static void put_rollouts(const ppo_rollouts *r, sj_status st, sj_buf *b)
{
    int ok = st == SJ_OK;
    int32_t n_tok = 0;
    for (int i = r->lo; i < r->hi && ok; i++)
        n_tok += r->n[i];
    int32_t head[3] = {!ok, ok ? r->hi - r->lo : 0, n_tok};
    sj_buf_append(b, head, sizeof head);
    for (int i = r->lo; i < r->hi && ok; i++) {
        const sja_seq *s = &r->seq[i];
        int32_t fixed[2] = {r->n[i], r->parsed[i]};
        double scores[2] = {r->score[i], r->gold[i]};
        size_t n = (size_t)r->n[i], k = (size_t)r->off[i];
        sj_buf_append(b, fixed, sizeof fixed);
        sj_buf_append(b, scores, sizeof scores);
        sj_buf_append(b, s->tokens + s->prompt_len, n * sizeof *s->tokens);
        sj_buf_append(b, r->old_lp + k, n * sizeof *r->old_lp);
        sj_buf_append(b, r->ref_lp + k, n * sizeof *r->ref_lp);
        sj_buf_append(b, r->value + k, n * sizeof *r->value);
    }
}

typedef struct {
    const char *at, *end;
} reader;

static int take(reader *rd, void *dst, size_t bytes)
{
    if ((size_t)(rd->end - rd->at) < bytes)
        return -1;
    memcpy(dst, rd->at, bytes);
    rd->at += bytes;
    return 0;
}

/* Each block's head {failed, rollouts, tokens}: 1 when a rank failed (an
 * empty block: it could not even build one), else 0 and the tokens of the
 * whole batch in *n_tok (read_blocks checks them). */
static int any_failed(const char *all, const size_t *counts, size_t *n_tok)
{
    size_t at = 0;
    *n_tok = 0;
    for (int k = 0; k < sj_dist_size(); k++) {
        int32_t head[3] = {1, 0, 0};
        if (counts[k] >= sizeof head)
            memcpy(head, all + at, sizeof head);
        if (head[0] != 0)
            return 1;
        *n_tok += head[2] > 0 ? (size_t)head[2] : 0;
        at += counts[k];
    }
    return 0;
}

/* The sequence of rollout i of another rank's share: the query of its row
 * (encoded once per group, into *query) and the completion's tokens. */
static sj_status rebuild_seq(const ppo_ctx *c, ppo_rollouts *r, int i, const int32_t *tokens,
                             sja_seq *query, sj_error *err)
{
    sj_status st = SJ_OK;
    if (i % r->K == 0) {
        sja_seq_free(query);
        st = ppo_encode_query(c, r->row[i], query, err);
    }
    sja_seq_free(&r->seq[i]);
    return st == SJ_OK ? sja_seq_append(query, tokens, r->n[i], &r->seq[i], err) : st;
}

/* Rollout i from the blocks into r (its per-token arrays at r->n_tok). */
static sj_status read_rollout(const ppo_ctx *c, ppo_rollouts *r, int i, reader *rd, int32_t *tokens,
                              sja_seq *query, sj_error *err)
{
    int32_t fixed[2];
    double scores[2];
    if (take(rd, fixed, sizeof fixed) || take(rd, scores, sizeof scores) || fixed[0] < 0 ||
        fixed[0] > c->codec->ctx + 1)
        return sj_error_set(err, SJ_ERR_WORK, "the ranks' rollouts do not line up (rollout %d)", i);
    size_t n = (size_t)fixed[0], k = r->n_tok;
    r->n[i] = fixed[0];
    r->parsed[i] = fixed[1];
    r->score[i] = scores[0];
    r->gold[i] = scores[1];
    r->off[i] = (int)k;
    if (take(rd, tokens, n * sizeof *tokens) || take(rd, r->old_lp + k, n * sizeof *r->old_lp) ||
        take(rd, r->ref_lp + k, n * sizeof *r->ref_lp) ||
        take(rd, r->value + k, n * sizeof *r->value))
        return sj_error_set(err, SJ_ERR_WORK, "the ranks' rollouts do not line up (rollout %d)", i);
    r->n_tok += n;
    /* this rank's own rollouts keep the sequences they were drawn as */
    return i >= r->lo && i < r->hi ? SJ_OK : rebuild_seq(c, r, i, tokens, query, err);
}

static void free_token_arrays(ppo_rollouts *r)
{
    double **arrays[] = {&r->old_lp, &r->ref_lp, &r->value, &r->reward, &r->adv, &r->ret};
    for (size_t k = 0; k < sizeof arrays / sizeof *arrays; k++) {
        free(*arrays[k]);
        *arrays[k] = NULL;
    }
}

/* The whole batch into r from every rank's block, in rank order (the shares
 * are contiguous in rollout order). */
static sj_status read_blocks(const ppo_ctx *c, ppo_rollouts *r, const char *all,
                             const size_t *counts, size_t n_tok, sj_error *err)
{
    int32_t *tokens = malloc((size_t)(c->codec->ctx + 2) * sizeof *tokens);
    free_token_arrays(r);
    r->n_tok = n_tok;
    sj_status st = tokens ? ppo_rollouts_alloc_tokens(r, err)
                          : sj_error_set(err, SJ_ERR_WORK, "out of memory");
    r->n_tok = 0; /* counted again as the rollouts are read */
    reader rd = {all, all};
    sja_seq query = {0};
    int P = r->B / r->K, i = 0;
    for (int k = 0; k < sj_dist_size() && st == SJ_OK; k++) {
        size_t glo, ghi;
        sj_dist_share_of((size_t)P, k, sj_dist_size(), &glo, &ghi);
        int32_t head[3] = {0, 0, 0};
        rd.end = rd.at + counts[k];
        if (take(&rd, head, sizeof head) || head[1] != (int32_t)((ghi - glo) * (size_t)r->K))
            st = sj_error_set(err, SJ_ERR_WORK, "the ranks' rollouts do not line up (rank %d)", k);
        for (int j = 0; j < head[1] && st == SJ_OK; j++, i++)
            st = read_rollout(c, r, i, &rd, tokens, &query, err);
        rd.at = rd.end;
    }
    if (st == SJ_OK && r->n_tok != n_tok)
        st = sj_error_set(err, SJ_ERR_WORK, "the ranks' rollouts do not line up (tokens)");
    sja_seq_free(&query);
    free(tokens);
    return st;
}

sj_status ppo_rollouts_gather(const ppo_ctx *c, ppo_rollouts *r, sj_status st, sj_error *err)
{
    sj_buf mine = {0};
    put_rollouts(r, st, &mine);
    if (mine.failed)
        st = sj_error_set(err, SJ_ERR_WORK, "out of memory");
    char *all = NULL;
    size_t *counts = sj_calloc((size_t)sj_dist_size(), sizeof *counts);
    sj_status gs = counts
                       ? sj_dist_gather(mine.data, mine.failed ? 0 : mine.len, 1, &all, counts, err)
                       : sj_error_set(err, SJ_ERR_WORK, "out of memory");
    sj_buf_free(&mine);
    if (gs != SJ_OK) {
        free(counts);
        return gs;
    }
    size_t n_tok = 0;
    if (any_failed(all, counts, &n_tok))
        st = sj_dist_agree(st, err);
    else
        st = read_blocks(c, r, all, counts, n_tok, err);
    free(all);
    free(counts);
    return st;
}

/* ---- an update's exchange ------------------------------------------------------------ */

enum { N_UPDATE_STATS = 7 };

sj_status ppo_exchange(ppo_ctx *c, ppo_update_stats *s, const ppo_update_stats *before,
                       sj_status st, sj_error *err)
{
    if (sj_dist_size() == 1)
        return st;
    double *now[N_UPDATE_STATS] = {&s->pg_loss,  &s->vf_loss, &s->clipfrac, &s->vf_clipfrac,
                                   &s->approxkl, &s->ratio,   &s->ratio_sq};
    const double was[N_UPDATE_STATS] = {before->pg_loss,     before->vf_loss,  before->clipfrac,
                                        before->vf_clipfrac, before->approxkl, before->ratio,
                                        before->ratio_sq};
    /* what this rank's share added, as float pairs, and whether it failed */
    float stats[2 * N_UPDATE_STATS + 1];
    for (int k = 0; k < N_UPDATE_STATS; k++)
        sj_dist_pack_double(*now[k] - was[k], stats + 2 * k);
    stats[2 * N_UPDATE_STATS] = st != SJ_OK ? 1.0f : 0.0f;
    sj_dist_span spans[4];
    size_t n = 0;
    spans[n++] = (sj_dist_span){c->policy->grads, c->policy->n_params};
    if (c->value_lm) {
        spans[n++] = (sj_dist_span){c->value_lm->grads, c->value_lm->n_params};
        spans[n++] = (sj_dist_span){c->value_head_grad, (size_t)c->value_lm->cfg.embd + 1};
    }
    spans[n++] = (sj_dist_span){stats, 2 * N_UPDATE_STATS + 1};
    sj_status xs = sj_dist_exchange(spans, n, err);
    if (xs != SJ_OK)
        return xs;
    if (stats[2 * N_UPDATE_STATS] > 0.0f)
        return sj_dist_agree(st, err);
    for (int k = 0; k < N_UPDATE_STATS; k++)
        *now[k] = was[k] + sj_dist_unpack_double(stats + 2 * k);
    return SJ_OK;
}
