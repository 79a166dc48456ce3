/* The probability of every score level for a batch of prompts. */
#include "align_internal.h"
#include "sjtalign/dist.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    sj_lm_batch *batch;
    float *out; /* logits or logprobs */
    int *pos;
} work;

static void work_free(work *w)
{
    sj_lm_batch_free(w->batch);
    free(w->out);
    free(w->pos);
}

/* Prompts that share their first tokens (every response to an item starts
 * with the item's prompt: bos, "item S01: ", the question, "\nresponse: ")
 * run those tokens once (a prefix cache), and each response only its own.
 * A group is a run of prompts, in token order, whose neighbours share at
 * least SHARED_MIN tokens; it shares the shortest of those common prefixes.
 * Shorter common runs (the "bos item S0" of two items) are not worth a
 * prefix of their own. */
enum { SHARED_MIN = 8 };

typedef struct {
    size_t start, end; /* positions in the order */
    int shared;        /* tokens every prompt of the group starts with */
} prompt_group;

typedef struct {
    const sja_seq *seq;
    size_t idx;
} sort_entry;

static int by_tokens(const void *pa, const void *pb)
{
    const sort_entry *a = pa, *b = pb;
    int n = a->seq->len < b->seq->len ? a->seq->len : b->seq->len;
    for (int i = 0; i < n; i++)
        if (a->seq->tokens[i] != b->seq->tokens[i])
            return a->seq->tokens[i] < b->seq->tokens[i] ? -1 : 1;
    if (a->seq->len != b->seq->len)
        return a->seq->len < b->seq->len ? -1 : 1;
    return a->idx < b->idx ? -1 : (a->idx > b->idx);
}

/* Within a group: by length, so each batch pads little. */
static int by_length(const void *pa, const void *pb)
{
    const sort_entry *a = pa, *b = pb;
    if (a->seq->len != b->seq->len)
        return a->seq->len < b->seq->len ? -1 : 1;
    return a->idx < b->idx ? -1 : (a->idx > b->idx);
}

static int common_prefix(const sja_seq *a, const sja_seq *b)
{
    int n = a->len < b->len ? a->len : b->len, i = 0;
    while (i < n && a->tokens[i] == b->tokens[i])
        i++;
    return i;
}

/* Cuts the token-ordered entries into groups; each group is then ordered
 * by length. Returns the number of groups (groups has room for n). */
static size_t group_prompts(sort_entry *e, size_t n, prompt_group *groups, int share)
{
    size_t n_groups = 0;
    for (size_t i = 0; i < n;) {
        size_t j = i + 1;
        int shared = e[i].seq->len - 1; /* at least one token of each prompt stays its own */
        while (j < n) {
            int lcp = common_prefix(e[j - 1].seq, e[j].seq);
            if (share && lcp < SHARED_MIN)
                break;
            shared = lcp < shared ? lcp : shared;
            shared = e[j].seq->len - 1 < shared ? e[j].seq->len - 1 : shared;
            j++;
        }
        groups[n_groups++] = (prompt_group){i, j, share && j - i > 1 ? shared : 0};
        qsort(e + i, j - i, sizeof *e, by_length);
        i = j;
    }
    return n_groups;
}

/* The fast path's workspace, sized once per call and reused by every
 * batch: the batch spans the whole context (the forward pass works on the
 * longest sequence only), the output is one row of logits per sequence. */
typedef struct {
    sj_lm_batch *batch;
    float *logits; /* B x vocab: next-token logits at pos[b] */
    int *pos;
    int32_t *seq;
    size_t *order;
    const sja_seq **rows;
    sort_entry *entries;
    prompt_group *groups;
    sj_lm_prefix *prefix;
} single_work;

static void single_work_free(single_work *w)
{
    sj_lm_batch_free(w->batch);
    free(w->logits);
    free(w->pos);
    free(w->seq);
    free(w->order);
    free(w->rows);
    free(w->entries);
    free(w->groups);
    sj_lm_prefix_free(w->prefix);
}

static sj_status single_work_init(single_work *w, sj_lm *m, int B, size_t n, sj_error *err)
{
    int ctx = m->cfg.ctx;
    size_t rows = n ? n : 1;
    w->batch = sj_lm_batch_new(B, ctx);
    w->logits = malloc((size_t)B * (size_t)m->cfg.vocab * sizeof *w->logits);
    w->pos = malloc((size_t)B * sizeof *w->pos);
    w->seq = malloc((size_t)(ctx + 2) * sizeof *w->seq);
    w->order = malloc(rows * sizeof *w->order);
    w->rows = malloc((size_t)B * sizeof *w->rows);
    w->entries = malloc(rows * sizeof *w->entries);
    w->groups = malloc(rows * sizeof *w->groups);
    if (!w->batch || !w->logits || !w->pos || !w->seq || !w->order || !w->rows || !w->entries ||
        !w->groups)
        return sj_error_set(err, SJ_ERR_WORK, "out of memory");
    w->prefix = sj_lm_prefix_new(m, err);
    return w->prefix ? SJ_OK : SJ_ERR_WORK;
}

/* The lexical priors of the batch's rows, at positions counted after the
 * shared prefix (sja_batch_set_priors' rule otherwise). */
static sj_status single_priors(sj_lm_batch *batch, const sja_seq *const *rows, int nb, int shared,
                               sj_error *err)
{
    const sja_seq *first = NULL;
    for (int b = 0; b < nb && !first; b++)
        first = rows[b]->prior ? rows[b] : NULL;
    if (!first)
        return SJ_OK;
    sj_status st = sj_lm_batch_set_bias_tokens(batch, first->prior_tokens, first->n_prior, err);
    for (int b = 0; b < nb && st == SJ_OK; b++) {
        int pos = rows[b]->prior_pos - shared;
        if (rows[b]->prior && pos >= 0 && pos < batch->lengths[b])
            st = sj_lm_batch_set_bias(batch, b, pos, rows[b]->prior, err);
    }
    return st;
}

/* Fills the batch with prompts order[0..nb-1] past their first `shared`
 * tokens, each followed by the score prefix; pos[b] is the position whose
 * next token is the score. */
static sj_status single_fill(single_work *w, const sj_lm *m, const sja_codec *c,
                             const sja_seq *prompts, const size_t *order, int nb, int shared,
                             sj_error *err)
{
    const sja_seq **rows = w->rows;
    sj_lm_batch_clear(w->batch);
    sj_status st = SJ_OK;
    for (int b = 0; b < nb && st == SJ_OK; b++) {
        const sja_seq *p = &prompts[order[b]];
        if (p->len + (int)c->n_prefix > m->cfg.ctx)
            return sj_error_set(err, SJ_ERR_INPUT, "a prompt of %d tokens does not fit the context",
                                p->len);
        int own = p->len - shared, len = own + (int)c->n_prefix + 1;
        memcpy(w->seq, p->tokens + shared, (size_t)own * sizeof *w->seq);
        memcpy(w->seq + own, c->prefix, c->n_prefix * sizeof *w->seq);
        w->seq[len - 1] = c->level[0][0]; /* any target: only the logits at pos[b] are read */
        st = sj_lm_batch_set(w->batch, b, w->seq, len, NULL, err);
        w->pos[b] = len - 2;
        rows[b] = p;
    }
    /* the lexical prior sits at pos[b]: the logits read below include it */
    return st == SJ_OK ? single_priors(w->batch, rows, nb, shared, err) : st;
}

/* The level probabilities (and the mass of the levels) from one row of
 * next-token logits. */
static void single_levels(const float *z, int V, const sja_codec *c, double *p, double *valid)
{
    int L = c->n_levels;
    double zmax = z[0];
    for (int v = 1; v < V; v++)
        zmax = z[v] > zmax ? z[v] : zmax;
    double total = 0.0;
    for (int v = 0; v < V; v++)
        total += exp(z[v] - zmax);
    double mass = 0.0;
    for (int k = 0; k < L; k++) {
        p[k] = exp(z[c->level[k][0]] - zmax);
        mass += p[k];
    }
    for (int k = 0; k < L; k++)
        p[k] /= mass;
    if (valid)
        *valid = mass / total;
}

/* One forward pass over nb prompts of a group (after its prefix); the
 * output layer runs at pos[b] only. */
static sj_status single_batch(single_work *w, sj_lm *m, const sja_codec *c, const sja_seq *prompts,
                              const size_t *order, int nb, double *probs, double *valid_mass,
                              sj_error *err)
{
    int shared = sj_lm_prefix_len(w->prefix), full = w->batch->B;
    sj_status st = single_fill(w, m, c, prompts, order, nb, shared, err);
    sj_lm_forward_io io = {.temperature = 1.0f,
                           .logits_pos = w->pos,
                           .logits_at = w->logits,
                           .sparse_head = 1,
                           .forward_only = 1};
    /* A short batch (a group's last) runs its nb rows only: the rows are
     * laid out for the full B, and the pass reads the first nb. */
    w->batch->B = nb;
    if (st == SJ_OK)
        st = sj_lm_forward_prefixed(m, w->prefix, w->batch, &io, err);
    w->batch->B = full;
    int V = m->cfg.vocab, L = c->n_levels;
    for (int b = 0; b < nb && st == SJ_OK; b++) {
        size_t at = order[b];
        single_levels(w->logits + (size_t)b * V, V, c, probs + at * (size_t)L,
                      valid_mass ? &valid_mass[at] : NULL);
    }
    return st;
}

/* Which batches this process scores, and where their rows lie in the
 * batch order. With `ranks` set, the job's ranks share the batches the
 * one-process run forms, whole and in order: a batch's numbers depend on
 * its company (OpenBLAS's results change in their last bits with the
 * shape of the matrices, and a group's shared prefix with its members),
 * so each batch is computed exactly as it is in one process, and the
 * ranks' rows, concatenated in rank order, are the rows in batch order. */
typedef struct {
    int ranks;             /* share the batches among the job's ranks */
    int to_all;            /* the results on every rank, not rank 0 only */
    size_t first, last;    /* this process's batches [first, last) */
    size_t row_lo, row_hi; /* their rows, as positions in the batch order */
} batch_share;

static void share_batches(batch_share *s, size_t n_batches)
{
    s->first = 0;
    s->last = n_batches;
    if (s->ranks)
        sj_dist_share(n_batches, &s->first, &s->last);
    s->row_lo = s->row_hi = 0;
}

/* Notes that this process scored the rows [lo, hi) of the batch order. */
static void note_rows(batch_share *s, size_t lo, size_t hi)
{
    if (s->row_lo == s->row_hi)
        s->row_lo = lo;
    s->row_hi = hi;
}

/* Every rank's rows (n_levels probabilities and the valid mass each) sent
 * to rank 0, or to every rank when to_all, in place in probs and
 * valid_mass; order maps a position of the batch order to a prompt
 * (NULL: the same index). A failure of one rank is every rank's first. */
static sj_status gather_rows(const batch_share *s, const size_t *order, size_t n, int L,
                             double *probs, double *valid_mass, sj_status st, sj_error *err)
{
    if (!s->ranks || sj_dist_size() == 1)
        return st;
    size_t width = (size_t)L + 1, mine = s->row_hi - s->row_lo;
    double *packed = NULL;
    if (st == SJ_OK && !(packed = malloc((mine ? mine : 1) * width * sizeof *packed)))
        st = sj_error_set(err, SJ_ERR_WORK, "out of memory");
    for (size_t r = 0; st == SJ_OK && r < mine; r++) {
        size_t at = order ? order[s->row_lo + r] : s->row_lo + r;
        memcpy(packed + r * width, probs + at * (size_t)L, (size_t)L * sizeof *packed);
        packed[r * width + (size_t)L] = valid_mass ? valid_mass[at] : 0.0;
    }
    /* before the gather, which every rank must join */
    st = sj_dist_agree(st, err);
    char *all = NULL;
    if (st == SJ_OK)
        st = sj_dist_gather(packed, mine * width * sizeof *packed, s->to_all, &all, NULL, err);
    free(packed);
    for (size_t pos = 0; st == SJ_OK && all && pos < n; pos++) {
        size_t at = order ? order[pos] : pos;
        const char *row = all + pos * width * sizeof(double);
        memcpy(probs + at * (size_t)L, row, (size_t)L * sizeof(double));
        if (valid_mass)
            memcpy(&valid_mass[at], row + (size_t)L * sizeof(double), sizeof(double));
    }
    free(all);
    return st;
}

/* The batches of a group: runs of B positions, the last one shorter. */
static size_t count_batches(const prompt_group *groups, size_t n_groups, int B)
{
    size_t total = 0;
    for (size_t g = 0; g < n_groups; g++)
        total += (groups[g].end - groups[g].start + (size_t)B - 1) / (size_t)B;
    return total;
}

/* Sorts the prompts by tokens and cuts them into groups (w.order, w.groups). */
static size_t plan_groups(single_work *w, const sja_seq *prompts, size_t n, int share)
{
    for (size_t i = 0; i < n; i++)
        w->entries[i] = (sort_entry){&prompts[i], i};
    qsort(w->entries, n, sizeof *w->entries, by_tokens);
    size_t n_groups = group_prompts(w->entries, n, w->groups, share);
    for (size_t i = 0; i < n; i++)
        w->order[i] = w->entries[i].idx;
    return n_groups;
}

/* Fast path: the score is the token right after "score: ", so the
 * next-token distribution at the last prefix token holds every level. */
static sj_status score_single_tokens(sj_lm *m, const sja_codec *c, const sja_seq *prompts, size_t n,
                                     int B, int share, batch_share *bs, double *probs,
                                     double *valid_mass, sj_progress *progress, sj_error *err)
{
    single_work w = {0};
    sj_status st = single_work_init(&w, m, B, n, err);
    size_t n_groups = st == SJ_OK ? plan_groups(&w, prompts, n, share) : 0, done = 0, k = 0;
    share_batches(bs, count_batches(w.groups, n_groups, B));
    for (size_t g = 0; g < n_groups && st == SJ_OK && k < bs->last; g++) {
        const prompt_group *grp = &w.groups[g];
        int prefix_set = 0;
        for (size_t at = grp->start; st == SJ_OK && at < grp->end; at += (size_t)B, k++) {
            int nb = (int)(grp->end - at < (size_t)B ? grp->end - at : (size_t)B);
            if (k < bs->first || k >= bs->last)
                continue;
            /* the group's prefix, once, before its first batch here */
            if (!prefix_set++)
                st = sj_lm_prefix_set(w.prefix, m, prompts[w.order[grp->start]].tokens, grp->shared,
                                      err);
            if (st == SJ_OK)
                st = single_batch(&w, m, c, prompts, w.order + at, nb, probs, valid_mass, err);
            note_rows(bs, at, at + (size_t)nb);
            done += (size_t)nb;
            if (progress)
                sj_progress_update(progress, (long)done, NULL);
        }
    }
    st = gather_rows(bs, w.order, n, c->n_levels, probs, valid_mass, st, err);
    single_work_free(&w);
    return st;
}

/* General path: each level's tokens and the token that ends the score (eos,
 * or the " | " before a rationale) scored as a continuation; the exact
 * probability of the completion starting "score: k" and ending there. */
static sj_status score_sequences(sj_lm *m, const sja_codec *c, const sja_seq *prompts, size_t n,
                                 int B, batch_share *bs, double *probs, double *valid_mass,
                                 sj_progress *progress, sj_error *err)
{
    int T = m->cfg.ctx, L = c->n_levels;
    if (B < L)
        B = L;
    int per = B / L; /* prompts per forward pass */
    work w = {sj_lm_batch_new(per * L, T), malloc((size_t)per * L * T * sizeof(float)), NULL};
    int32_t *seq = malloc((size_t)(T + 2) * sizeof *seq);
    float *wt = malloc((size_t)(T + 1) * sizeof *wt);
    int32_t term = c->rationale && c->n_bar > 0 ? c->bar[0] : SJ_TOK_EOS;
    sj_status st = SJ_OK;
    if (!w.batch || !w.out || !seq || !wt)
        st = sj_error_set(err, SJ_ERR_WORK, "out of memory");
    /* batches of `per` prompts in input order, shared whole between ranks */
    share_batches(bs, (n + (size_t)per - 1) / (size_t)per);
    size_t stop = bs->last * (size_t)per < n ? bs->last * (size_t)per : n;
    for (size_t start = bs->first * (size_t)per; st == SJ_OK && start < stop;
         start += (size_t)per) {
        int np = (int)(n - start < (size_t)per ? n - start : (size_t)per);
        note_rows(bs, start, start + (size_t)np);
        sj_lm_batch_clear(w.batch);
        for (int q = 0; q < np && st == SJ_OK; q++) {
            const sja_seq *p = &prompts[start + (size_t)q];
            for (int k = 0; k < L && st == SJ_OK; k++) {
                int len = p->len + (int)c->n_prefix + (int)c->n_level[k] + 1;
                if (len > T + 1) {
                    st = sj_error_set(err, SJ_ERR_INPUT,
                                      "prompt of %d tokens does not fit the context", p->len);
                    break;
                }
                memcpy(seq, p->tokens, (size_t)p->len * sizeof *seq);
                memcpy(seq + p->len, c->prefix, c->n_prefix * sizeof *seq);
                memcpy(seq + p->len + c->n_prefix, c->level[k], c->n_level[k] * sizeof *seq);
                seq[len - 1] = term;
                int first = p->len + (int)c->n_prefix; /* index of the first level token */
                for (int t = 0; t < len - 1; t++)
                    wt[t] = t + 1 >= first ? 1.0f : 0.0f;
                st = sj_lm_batch_set(w.batch, q * L + k, seq, len, wt, err);
            }
        }
        if (st != SJ_OK)
            break;
        sj_lm_forward_io io = {.temperature = 1.0f, .logprobs = w.out};
        st = sj_lm_forward(m, w.batch, &io, err);
        for (int q = 0; q < np && st == SJ_OK; q++) {
            double lp[64], lmax = -INFINITY;
            double *p = probs + (start + (size_t)q) * (size_t)L;
            for (int k = 0; k < L; k++) {
                int b = q * L + k;
                double s = 0.0;
                for (int t = 0; t < w.batch->lengths[b]; t++)
                    s += (double)w.batch->weights[(size_t)b * T + t] *
                         w.out[(size_t)b * T + (size_t)t];
                lp[k] = s;
                lmax = s > lmax ? s : lmax;
            }
            double mass = 0.0;
            for (int k = 0; k < L; k++)
                mass += (p[k] = exp(lp[k] - lmax));
            for (int k = 0; k < L; k++)
                p[k] /= mass;
            if (valid_mass)
                valid_mass[start + (size_t)q] = mass * exp(lmax);
        }
        if (progress)
            sj_progress_update(progress, (long)(start + (size_t)np - bs->row_lo), NULL);
    }
    st = gather_rows(bs, NULL, n, L, probs, valid_mass, st, err);
    free(seq);
    free(wt);
    work_free(&w);
    return st;
}

sj_status sja_score_levels(sj_lm *m, const sja_codec *c, const sja_seq *prompts, size_t n,
                           int batch, double *probs, double *valid_mass, sj_progress *progress,
                           sj_error *err)
{
    return sja_score_levels_shared(m, c, prompts, n, batch, 1, probs, valid_mass, progress, err);
}

/* Both paths, in one process (ranks 0) or shared among the ranks. */
static sj_status score_levels(sj_lm *m, const sja_codec *c, const sja_seq *prompts, size_t n,
                              int batch, int share, batch_share *bs, double *probs,
                              double *valid_mass, sj_progress *progress, sj_error *err)
{
    if (batch < 1)
        batch = 1;
    if (c->n_levels > 64)
        return sj_error_set(err, SJ_ERR_INPUT, "at most 64 score levels are supported, got %d",
                            c->n_levels);
    if (c->single_token_levels)
        return score_single_tokens(m, c, prompts, n, batch, share, bs, probs, valid_mass, progress,
                                   err);
    return score_sequences(m, c, prompts, n, batch, bs, probs, valid_mass, progress, err);
}

sj_status sja_score_levels_shared(sj_lm *m, const sja_codec *c, const sja_seq *prompts, size_t n,
                                  int batch, int share, double *probs, double *valid_mass,
                                  sj_progress *progress, sj_error *err)
{
    batch_share alone = {0};
    return score_levels(m, c, prompts, n, batch, share, &alone, probs, valid_mass, progress, err);
}

sj_status sja_score_levels_ranks(sj_lm *m, const sja_codec *c, const sja_seq *prompts, size_t n,
                                 int batch, int to_all, double *probs, double *valid_mass,
                                 sj_progress *progress, sj_error *err)
{
    batch_share ranks = {.ranks = 1, .to_all = to_all};
    return score_levels(m, c, prompts, n, batch, 1, &ranks, probs, valid_mass, progress, err);
}
