/* PPO's gradient identity across the ranks: one update's gradient of a
 * fixed batch of rollouts through the code `sjtalign ppo` runs
 * (ppo_update_grads: each rank's share of the minibatch, the losses
 * normalised by the whole minibatch, one exchange), written by rank 0 for
 * a comparison with the same program run as one process.
 *
 *   grad_check_ppo POLICY REWARD INSTRUMENT DATA OUT
 *
 * POLICY decides the path: one action per rollout (single-token score
 * levels, no rationale) or generated completions. OUT receives the
 * policy's gradient, the value model's and the value head's as float32,
 * in that order; standard output the blocks' sizes and the update's
 * statistics, one "name value" per line. The rollouts are fixed: 12 rollouts in groups of 2 on the
 * first prompts of DATA, each completion the action of a score level or,
 * for generated completions, 1 to 4 tokens taken from the query and eos;
 * the advantages, values and returns are fixed numbers, and the old
 * log-probabilities are the policy's own shifted by up to 0.25 nats, so
 * that some ratios fall outside the clip range and some inside. */
#include "ppo_internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { ROLLOUTS = 12, PER_PROMPT = 2 };

/* The completion of rollout i: its tokens and their count. */
static int completion(const ppo_ctx *c, const sja_seq *query, int i, int32_t *tokens)
{
    if (ppo_one_action(c->codec)) {
        tokens[0] = c->codec->level_tokens[i % c->codec->n_levels];
        return 1;
    }
    int n = 1 + i % 4;
    for (int t = 0; t < n - 1; t++)
        tokens[t] = query->tokens[(i + 3 * t) % query->len];
    tokens[n - 1] = SJ_TOK_EOS;
    return n;
}

/* The fixed batch, whole on every rank (as after ppo_rollouts_gather). */
static sj_status build_rollouts(const ppo_ctx *c, ppo_rollouts *r, sj_error *err)
{
    sj_status st = ppo_rollouts_alloc(r, ROLLOUTS, PER_PROMPT, 0, err);
    r->lo = 0;
    r->hi = ROLLOUTS;
    for (int g = 0; g < ROLLOUTS / PER_PROMPT && st == SJ_OK; g++) {
        size_t row = (size_t)g % c->data->table->n_rows;
        sja_seq query = {0};
        st = ppo_encode_query(c, row, &query, err);
        for (int k = 0; k < PER_PROMPT && st == SJ_OK; k++) {
            int i = g * PER_PROMPT + k;
            int32_t tokens[4];
            int n = completion(c, &query, i, tokens);
            r->row[i] = row;
            r->n[i] = n;
            r->off[i] = (int)r->n_tok;
            r->n_tok += (size_t)n;
            st = sja_seq_append(&query, tokens, n, &r->seq[i], err);
        }
        sja_seq_free(&query);
    }
    if (st == SJ_OK)
        st = ppo_rollouts_alloc_tokens(r, err);
    for (size_t k = 0; st == SJ_OK && k < r->n_tok; k++) {
        double x = (double)k;
        r->old_lp[k] = 0.0;
        r->value[k] = 0.2 * sin(x);
        r->ret[k] = 0.5 * cos(1.3 * x);
        r->adv[k] = sin(1.7 * x + 0.4);
    }
    return st;
}

/* One update's gradient of the batch, the minibatch its units in a fixed
 * shuffled order (5 is prime to 6 groups and to 12 rollouts). */
static sj_status update_grads(ppo_ctx *c, const ppo_rollouts *r, double *lp_new, double *v_new,
                              ppo_update_stats *s, sj_error *err)
{
    int units = ppo_one_action(c->codec) ? r->B / r->K : r->B;
    int order[ROLLOUTS];
    for (int j = 0; j < units; j++)
        order[j] = (5 * j + 1) % units;
    memset(lp_new, 0, r->n_tok * sizeof *lp_new);
    memset(s, 0, sizeof *s);
    return ppo_update_grads(c, r, order, units, lp_new, v_new, s, err);
}

static sj_status write_grads(const ppo_ctx *c, const char *out, sj_error *err)
{
    FILE *f = fopen(out, "wb");
    if (!f)
        return sj_error_set(err, SJ_ERR_WORK, "%s: cannot write", out);
    size_t nh = (size_t)c->value_lm->cfg.embd + 1;
    int ok =
        fwrite(c->policy->grads, sizeof(float), c->policy->n_params, f) == c->policy->n_params &&
        fwrite(c->value_lm->grads, sizeof(float), c->value_lm->n_params, f) ==
            c->value_lm->n_params &&
        fwrite(c->value_head_grad, sizeof(float), nh, f) == nh;
    ok = fclose(f) == 0 && ok;
    return ok ? SJ_OK : sj_error_set(err, SJ_ERR_WORK, "%s: write failed", out);
}

static void print_stats(const ppo_ctx *c, const ppo_update_stats *s)
{
    printf("policy_params %zu\nvalue_params %zu\nhead_params %d\n", c->policy->n_params,
           c->value_lm->n_params, c->value_lm->cfg.embd + 1);
    printf("pg_loss %.17g\nvf_loss %.17g\nclipfrac %.17g\nvf_clipfrac %.17g\n", s->pg_loss,
           s->vf_loss, s->clipfrac, s->vf_clipfrac);
    printf("approxkl %.17g\nratio %.17g\nratio_sq %.17g\nn_tok %.17g\nn_updates %.17g\n",
           s->approxkl, s->ratio, s->ratio_sq, s->n_tok, s->n_updates);
}

/* The policy's own log-probabilities (every rank's share summed), shifted,
 * as the old ones; then the update's gradient. */
static sj_status check(ppo_ctx *c, const char *out, sj_error *err)
{
    ppo_rollouts r = {0};
    ppo_update_stats s;
    sj_status st = build_rollouts(c, &r, err);
    double *lp_new = st == SJ_OK ? calloc(r.n_tok, sizeof *lp_new) : NULL;
    double *v_new = st == SJ_OK ? calloc(r.n_tok, sizeof *v_new) : NULL;
    if (st == SJ_OK && (!lp_new || !v_new))
        st = sj_error_set(err, SJ_ERR_WORK, "out of memory");
    if (st == SJ_OK)
        st = update_grads(c, &r, lp_new, v_new, &s, err);
    if (st == SJ_OK)
        st = sj_dist_sum_double(lp_new, r.n_tok, err);
    for (size_t k = 0; st == SJ_OK && k < r.n_tok; k++)
        r.old_lp[k] = lp_new[k] + 0.25 * sin(2.1 * (double)k);
    if (st == SJ_OK)
        st = update_grads(c, &r, lp_new, v_new, &s, err);
    if (st == SJ_OK && sj_dist_is_root()) {
        st = write_grads(c, out, err);
        print_stats(c, &s);
    }
    free(lp_new);
    free(v_new);
    ppo_rollouts_free(&r);
    return st;
}

/* The value model and head as sja_ppo starts them: a copy of the reward
 * model and its head on the normalised scale. */
static sj_status value_model(ppo_ctx *c, const sja_reward_model *rm, sj_error *err)
{
    int embd = rm->base->ck->model->cfg.embd;
    c->value_lm = sj_lm_copy(rm->base->ck->model, err);
    c->value_head = malloc((size_t)(embd + 1) * sizeof *c->value_head);
    c->value_head_grad = calloc((size_t)embd + 1, sizeof *c->value_head_grad);
    if (!c->value_lm || !c->value_head || !c->value_head_grad)
        return sj_error_set(err, SJ_ERR_WORK, "out of memory");
    for (int e = 0; e < embd; e++)
        c->value_head[e] = (float)(rm->head[e] / rm->norm_sd);
    c->value_head[embd] = (float)((rm->head[embd] - rm->norm_mean) / rm->norm_sd);
    return SJ_OK;
}

static int run(char **argv, sj_error *err)
{
    sj_columns cols = {0};
    sj_instrument *ins = sj_instrument_load(argv[3], err);
    sj_responses *data = ins ? sj_responses_load(argv[4], &cols, ins, SJ_NEED_TEXT, err) : NULL;
    sja_model *m = data ? sja_model_load(argv[1], ins, err) : NULL;
    sja_reward_model *rm = m ? sja_reward_load(argv[2], ins, err) : NULL;
    sja_ppo_opts o = sja_ppo_defaults();
    ppo_ctx c = {.ins = ins, .data = data, .o = &o};
    sj_status st = rm ? SJ_OK : err->status;
    if (st == SJ_OK) {
        c.policy = m->ck->model;
        c.codec = &m->codec;
        /* no value clipping: the value model's gradient flows everywhere */
        o.cliprange_value = 1e6;
        st = value_model(&c, rm, err);
    }
    if (st == SJ_OK)
        st = check(&c, argv[5], err);
    sj_lm_free(c.value_lm);
    free(c.value_head);
    free(c.value_head_grad);
    sja_reward_free(rm);
    sja_model_free(m);
    sj_responses_free(data);
    sj_instrument_free(ins);
    return st == SJ_OK ? 0 : 1;
}

int main(int argc, char **argv)
{
    sj_error err;
    sj_error_clear(&err);
    if (sj_dist_init(&argc, &argv, &err) != SJ_OK) {
        fprintf(stderr, "grad_check_ppo: %s\n", err.msg);
        return 1;
    }
    int rc = 2;
    if (argc != 6)
        fprintf(stderr, "usage: grad_check_ppo POLICY REWARD INSTRUMENT DATA OUT\n");
    else if ((rc = run(argv, &err)) != 0)
        fprintf(sj_dist_error_stream(), "grad_check_ppo (rank %d): %s\n", sj_dist_rank(), err.msg);
    fflush(stdout);
    if (rc != 0 && sj_dist_size() > 1)
        sj_dist_abort(rc);
    sj_dist_finalize();
    return rc;
}
