/* The reward model: the SFT backbone with a scalar head on the last token,
 * trained with the Bradley–Terry loss on judged pairs, then normalised on
 * policy samples and frozen. */
#include "align_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

sja_reward_opts sja_reward_defaults(void)
{
    sja_reward_opts o = {.steps = 300,
                         .batch = 16,
                         .lr = 1e-3,
                         .margin = 0.0,
                         .seed = 1,
                         .val_fraction = 0.1,
                         .eval_every = 50,
                         .min_pairs = 20,
                         .quiet = 0};
    return o;
}

void sja_reward_free(sja_reward_model *rm)
{
    if (!rm)
        return;
    sja_model_free(rm->base);
    free(rm->head);
    free(rm);
}

sja_reward_model *sja_reward_load(const char *dir, const sj_instrument *ins, sj_error *err)
{
    sja_reward_model *rm = sj_calloc(1, sizeof *rm);
    if (!rm) {
        sj_error_set(err, SJ_ERR_WORK, "out of memory");
        return NULL;
    }
    rm->base = sja_model_load(dir, ins, err);
    if (!rm->base) {
        sja_reward_free(rm);
        return NULL;
    }
    int embd = rm->base->ck->model->cfg.embd;
    const sj_lm_tensor *w = sj_lm_checkpoint_extra(rm->base->ck, "head.weight");
    const sj_lm_tensor *b = sj_lm_checkpoint_extra(rm->base->ck, "head.bias");
    const sj_lm_tensor *nm = sj_lm_checkpoint_extra(rm->base->ck, "reward.norm");
    const cJSON *resume = cJSON_GetObjectItemCaseSensitive(rm->base->ck->config, "resume");
    if (cJSON_IsObject(resume)) {
        const cJSON *step = cJSON_GetObjectItemCaseSensitive(resume, "step");
        const cJSON *steps = cJSON_GetObjectItemCaseSensitive(resume, "steps");
        sj_error_set(err, SJ_ERR_INPUT,
                     "%s holds a reward model whose training was interrupted after step %.0f of "
                     "%.0f; finish it with the same `sjtalign reward` command and --resume",
                     dir, cJSON_IsNumber(step) ? step->valuedouble : 0.0,
                     cJSON_IsNumber(steps) ? steps->valuedouble : 0.0);
        sja_reward_free(rm);
        return NULL;
    }
    if (!w || !b || !nm || w->rows * w->cols != (size_t)embd || b->rows * b->cols != 1 ||
        nm->rows * nm->cols != 2) {
        sj_error_set(err, SJ_ERR_INPUT,
                     "%s is not a reward model: it lacks the tensors head.weight [1 x %d], "
                     "head.bias [1] and reward.norm [2] (train one with `sjtalign reward`)",
                     dir, embd);
        sja_reward_free(rm);
        return NULL;
    }
    rm->head = malloc((size_t)(embd + 1) * sizeof *rm->head);
    if (!rm->head) {
        sj_error_set(err, SJ_ERR_WORK, "out of memory");
        sja_reward_free(rm);
        return NULL;
    }
    memcpy(rm->head, w->data, (size_t)embd * sizeof *rm->head);
    rm->head[embd] = b->data[0];
    rm->norm_mean = nm->data[0];
    rm->norm_sd = nm->data[1] > 0 ? nm->data[1] : 1.0;
    return rm;
}

/* Raw head outputs of n sequences; hidden (n x embd) kept when not NULL. */
static sj_status raw_rewards(sj_lm *m, const float *head, const sja_seq *const *seqs, int n,
                             double *r, float *hidden_out, sj_lm_batch **keep, sj_error *err)
{
    int embd = m->cfg.embd;
    int *pos = malloc((size_t)n * sizeof *pos);
    float *hidden = hidden_out ? hidden_out : malloc((size_t)n * embd * sizeof *hidden);
    sj_lm_batch *batch = NULL;
    sj_status st = (pos && hidden) ? SJ_OK : sj_error_set(err, SJ_ERR_WORK, "out of memory");
    if (st == SJ_OK)
        st = sja_batch_build(seqs, n, SJA_W_NONE, 1, &batch, pos, err);
    if (st == SJ_OK) {
        sj_lm_forward_io io = {.temperature = 1.0f, .hidden_pos = pos, .hidden = hidden};
        st = sj_lm_forward(m, batch, &io, err);
    }
    if (st == SJ_OK)
        for (int b = 0; b < n; b++)
            r[b] = sja_head_apply(head, hidden + (size_t)b * embd, embd);
    free(pos);
    if (!hidden_out)
        free(hidden);
    if (keep && st == SJ_OK)
        *keep = batch;
    else
        sj_lm_batch_free(batch);
    return st;
}

sj_status sja_reward_score(sja_reward_model *rm, const sja_seq *seqs, size_t n, int batch,
                           double *rewards, sj_error *err)
{
    if (batch < 1)
        batch = 1;
    const sja_seq **ptr = malloc((size_t)batch * sizeof *ptr);
    if (!ptr)
        return sj_error_set(err, SJ_ERR_WORK, "out of memory");
    sj_status st = SJ_OK;
    for (size_t s = 0; s < n && st == SJ_OK; s += (size_t)batch) {
        int nb = (int)(n - s < (size_t)batch ? n - s : (size_t)batch);
        for (int b = 0; b < nb; b++)
            ptr[b] = &seqs[s + (size_t)b];
        st = raw_rewards(rm->base->ck->model, rm->head, ptr, nb, rewards + s, NULL, NULL, err);
        for (int b = 0; b < nb && st == SJ_OK; b++)
            rewards[s + (size_t)b] = (rewards[s + (size_t)b] - rm->norm_mean) / rm->norm_sd;
    }
    free(ptr);
    return st;
}

/* ---- training ----------------------------------------------------------------- */

typedef struct {
    size_t n;
    sja_seq *chosen, *rejected;
    const char **person;
    unsigned char *is_val;
} rm_data;

static void rm_data_free(rm_data *d)
{
    for (size_t i = 0; i < d->n; i++) {
        sja_seq_free(&d->chosen[i]);
        sja_seq_free(&d->rejected[i]);
    }
    free(d->chosen);
    free(d->rejected);
    free(d->person);
    free(d->is_val);
}

sj_status sja_pairs_encode(const sja_codec *c, const sj_instrument *ins, const sja_pairs *pairs,
                           sja_seq **chosen, sja_seq **rejected, const char ***person, size_t *n,
                           sj_error *err)
{
    size_t cap = pairs->n ? pairs->n : 1;
    *chosen = sj_calloc(cap, sizeof **chosen);
    *rejected = sj_calloc(cap, sizeof **rejected);
    *person = sj_calloc(cap, sizeof **person);
    *n = 0;
    if (!*chosen || !*rejected || !*person)
        return sj_error_set(err, SJ_ERR_WORK, "out of memory");
    for (size_t i = 0; i < pairs->n; i++) {
        const sja_pair *q = &pairs->pairs[i];
        if (q->preferred == SJA_PREF_NONE || strcmp(q->completion_a, q->completion_b) == 0)
            continue;
        const char *ch = q->preferred == SJA_PREF_A ? q->completion_a : q->completion_b;
        const char *rj = q->preferred == SJA_PREF_A ? q->completion_b : q->completion_a;
        sj_status st = sja_encode_example(c, ins, q->item, q->response, ch, &(*chosen)[*n], err);
        if (st == SJ_OK)
            st = sja_encode_example(c, ins, q->item, q->response, rj, &(*rejected)[*n], err);
        if (st != SJ_OK) {
            sj_error_prefix(err, "pair %s (line %ld): ", q->pair_id, q->line);
            return st;
        }
        (*person)[*n] = q->person_id;
        (*n)++;
    }
    return SJ_OK;
}

typedef struct {
    double loss, accuracy;
} rm_eval;

static sj_status rm_evaluate(sj_lm *m, const float *head, const rm_data *d, const size_t *idx,
                             size_t n, double margin, rm_eval *out, sj_error *err)
{
    enum { EB = 32 };
    const sja_seq *seqs[2 * EB];
    double r[2 * EB], loss = 0.0;
    size_t correct = 0;
    sj_status st = SJ_OK;
    for (size_t s = 0; s < n && st == SJ_OK; s += EB) {
        int nb = (int)(n - s < EB ? n - s : EB);
        for (int b = 0; b < nb; b++) {
            seqs[b] = &d->chosen[idx[s + (size_t)b]];
            seqs[nb + b] = &d->rejected[idx[s + (size_t)b]];
        }
        st = raw_rewards(m, head, seqs, 2 * nb, r, NULL, NULL, err);
        for (int b = 0; b < nb && st == SJ_OK; b++) {
            loss += sja_bt_loss(r[b], r[nb + b], margin, NULL, NULL);
            correct += r[b] > r[nb + b];
        }
    }
    out->loss = n ? loss / (double)n : NAN;
    out->accuracy = n ? (double)correct / (double)n : NAN;
    return st;
}

static sj_status rm_step(sj_lm *m, float *head, float *head_grad, const rm_data *d,
                         const size_t *pick, int B, double margin, double *loss, double *acc,
                         sj_error *err)
{
    int embd = m->cfg.embd;
    const sja_seq **seqs = malloc((size_t)2 * B * sizeof *seqs);
    double *r = malloc((size_t)2 * B * sizeof *r);
    float *hidden = malloc((size_t)2 * B * embd * sizeof *hidden);
    float *dh = sj_calloc((size_t)2 * B * embd, sizeof *dh);
    sj_lm_batch *batch = NULL;
    sj_status st =
        (seqs && r && hidden && dh) ? SJ_OK : sj_error_set(err, SJ_ERR_WORK, "out of memory");
    if (st == SJ_OK) {
        for (int b = 0; b < B; b++) {
            seqs[b] = &d->chosen[pick[b]];
            seqs[B + b] = &d->rejected[pick[b]];
        }
        st = raw_rewards(m, head, seqs, 2 * B, r, hidden, &batch, err);
    }
    if (st == SJ_OK) {
        double total = 0.0;
        size_t correct = 0;
        memset(head_grad, 0, (size_t)(embd + 1) * sizeof *head_grad);
        for (int b = 0; b < B; b++) {
            double dc, dr;
            total += sja_bt_loss(r[b], r[B + b], margin, &dc, &dr);
            correct += r[b] > r[B + b];
            dc /= B;
            dr /= B;
            const float *hc = hidden + (size_t)b * embd, *hr = hidden + (size_t)(B + b) * embd;
            for (int i = 0; i < embd; i++) {
                head_grad[i] += (float)(dc * hc[i] + dr * hr[i]);
                dh[(size_t)b * embd + i] = (float)(dc * head[i]);
                dh[(size_t)(B + b) * embd + i] = (float)(dr * head[i]);
            }
            head_grad[embd] += (float)(dc + dr);
        }
        *loss = total / B;
        *acc = (double)correct / B;
        sj_lm_zero_grad(m);
        st = sj_lm_backward(m, batch, NULL, dh, err);
    }
    sj_lm_batch_free(batch);
    free(seqs);
    free(r);
    free(hidden);
    free(dh);
    return st;
}

/* Mean and SD of the raw rewards of completions the policy samples for the
 * pairs' prompts (one each, temperature 1, at most 512). */
static sj_status fit_normalisation(sj_lm *policy, sj_lm *rm, const float *head, const sja_codec *c,
                                   const sj_instrument *ins, const sja_pairs *pairs, uint64_t seed,
                                   double *mean, double *sd, size_t *n_used, sj_error *err)
{
    size_t n = pairs->n < 512 ? pairs->n : 512;
    gsl_rng *rng = sj_rng_new(sj_seed_derive(seed, "reward-normalisation"));
    sja_seq *seqs = sj_calloc(n ? n : 1, sizeof *seqs);
    double *r = malloc((n ? n : 1) * sizeof *r);
    int32_t *gen = malloc((size_t)(c->ctx + 1) * sizeof *gen);
    sj_status st =
        (rng && seqs && r && gen) ? SJ_OK : sj_error_set(err, SJ_ERR_WORK, "out of memory");
    size_t *perm = st == SJ_OK ? sja_permutation(rng, pairs->n) : NULL;
    for (size_t i = 0; i < n && st == SJ_OK; i++) {
        const sja_pair *q = &pairs->pairs[perm[i]];
        sja_seq prompt;
        st = sja_encode_prompt(c, ins, q->item, q->response, c->max_completion + 1, &prompt, err);
        if (st != SJ_OK)
            break;
        int max_new = c->rationale ? c->ctx - prompt.len : c->max_completion;
        sj_lm_sample_opts so = {
            .temperature = 1.0f, .top_k = 0, .max_new = max_new, .stop = SJ_TOK_EOS};
        int n_out = 0;
        st = sj_lm_generate(policy, prompt.tokens, prompt.len, &so, rng, gen, NULL, &n_out, err);
        if (st == SJ_OK)
            st = sja_seq_append(&prompt, gen, n_out, &seqs[i], err);
        sja_seq_free(&prompt);
    }
    const sja_seq *ptr[32];
    for (size_t s = 0; s < n && st == SJ_OK; s += 32) {
        int nb = (int)(n - s < 32 ? n - s : 32);
        for (int b = 0; b < nb; b++)
            ptr[b] = &seqs[s + (size_t)b];
        st = raw_rewards(rm, head, ptr, nb, r + s, NULL, NULL, err);
    }
    if (st == SJ_OK) {
        double m = 0.0, ss = 0.0;
        for (size_t i = 0; i < n; i++)
            m += r[i];
        m /= (double)(n ? n : 1);
        for (size_t i = 0; i < n; i++)
            ss += (r[i] - m) * (r[i] - m);
        *mean = m;
        *sd = n > 1 ? sqrt(ss / (double)(n - 1)) : 1.0;
        if (!(*sd > 1e-6))
            *sd = 1.0;
        *n_used = n;
    }
    for (size_t i = 0; i < n; i++)
        sja_seq_free(&seqs[i]);
    free(seqs);
    free(perm);
    free(r);
    free(gen);
    sj_rng_free(rng);
    return st;
}

static cJSON *options_json(const sja_reward_opts *o)
{
    cJSON *opt_j = cJSON_CreateObject();
    cJSON_AddNumberToObject(opt_j, "steps", (double)o->steps);
    cJSON_AddNumberToObject(opt_j, "batch", o->batch);
    cJSON_AddNumberToObject(opt_j, "lr", o->lr);
    cJSON_AddNumberToObject(opt_j, "margin", o->margin);
    cJSON_AddNumberToObject(opt_j, "seed", (double)o->seed);
    cJSON_AddNumberToObject(opt_j, "val_fraction", o->val_fraction);
    return opt_j;
}

/* The head and its optimizer travel with a checkpoint as state tensors. */
static sj_status save_stopped(const char *out, const sja_stage_state *ss, float *head,
                              const sj_adamw *head_opt, const rm_eval *last, sj_error *err)
{
    size_t n = head_opt->n;
    sj_lm_tensor t[3] = {{"resume.head", 1, n, 0, head},
                         {"resume.head.adam.m", 1, n, 0, head_opt->m},
                         {"resume.head.adam.v", 1, n, 0, head_opt->v}};
    cJSON *numbers = cJSON_CreateObject();
    sj_json_add_number(numbers, "val_loss", last->loss);
    sj_json_add_number(numbers, "val_accuracy", last->accuracy);
    sj_status st = sja_checkpoint_save(out, ss, numbers, t, 3, err);
    cJSON_Delete(numbers);
    return st;
}

static sj_status resume(const char *out, sja_stage_state *ss, float *head, sj_adamw *head_opt,
                        rm_eval *last, sj_error *err)
{
    sj_lm_checkpoint *ck = NULL;
    sj_status st = sja_checkpoint_resume(out, ss, &ck, err);
    if (st == SJ_OK && ck) {
        size_t n = head_opt->n;
        st = sja_resume_tensor(ck, "resume.head", head, n, err);
        if (st == SJ_OK)
            st = sja_resume_tensor(ck, "resume.head.adam.m", head_opt->m, n, err);
        if (st == SJ_OK)
            st = sja_resume_tensor(ck, "resume.head.adam.v", head_opt->v, n, err);
        head_opt->step = ss->opt->step;
        last->loss = sja_resume_number(ck, "val_loss");
        last->accuracy = sja_resume_number(ck, "val_accuracy");
    }
    sj_lm_checkpoint_free(ck);
    return st;
}

sj_status sja_reward_train(sja_model *init, const sj_instrument *ins, const char *instrument_path,
                           const sja_pairs *pairs, const char *pairs_path, const sja_reward_opts *o,
                           const char *out, cJSON **summary, sj_error *err)
{
    sj_lm *m = init->ck->model;
    int embd = m->cfg.embd;
    rm_data d = {0};
    sj_lm_log log;
    sj_lm_log_init(&log);
    sj_lm *policy = NULL;
    float *head = sj_calloc((size_t)embd + 1, sizeof *head);
    float *head_grad = sj_calloc((size_t)embd + 1, sizeof *head_grad);
    size_t *train_idx = NULL, *val = NULL, *pick = NULL, n_train = 0, n_val = 0;
    sj_adamw *opt = NULL, *head_opt = NULL;
    gsl_rng *rng = NULL;
    cJSON *prov = NULL;
    rm_eval last = {NAN, NAN};
    sj_status st = (head && head_grad) ? SJ_OK : sj_error_set(err, SJ_ERR_WORK, "out of memory");
    if (st == SJ_OK)
        st = sja_pairs_encode(&init->codec, ins, pairs, &d.chosen, &d.rejected, &d.person, &d.n,
                              err);
    if (st == SJ_OK && (long)d.n < o->min_pairs)
        st = sj_error_set(err, SJ_ERR_INPUT,
                          "%s: %zu judged pairs with two different completions; the reward model "
                          "needs at least %ld",
                          pairs_path, d.n, o->min_pairs);
    if (st == SJ_OK) {
        d.is_val = malloc(d.n);
        train_idx = malloc(d.n * sizeof *train_idx);
        val = malloc(d.n * sizeof *val);
        pick = malloc((size_t)o->batch * sizeof *pick);
        policy = sj_lm_copy(m, err);
        rng = sj_rng_new(sj_seed_derive(o->seed, "reward-split"));
        if (!d.is_val || !train_idx || !val || !pick || !policy || !rng)
            st = sj_error_set(err, SJ_ERR_WORK, "out of memory");
    }
    if (st == SJ_OK) {
        sja_split_by_key(d.person, d.n, o->val_fraction, rng, d.is_val);
        for (size_t i = 0; i < d.n; i++) {
            if (d.is_val[i])
                val[n_val++] = i;
            else
                train_idx[n_train++] = i;
        }
        sj_adamw_config cfg = sj_adamw_defaults();
        cfg.lr = o->lr;
        cfg.warmup = o->steps / 10;
        cfg.total_steps = o->steps;
        opt = sj_adamw_new(m->n_params, &cfg);
        cfg.weight_decay = 0.0;
        head_opt = sj_adamw_new((size_t)embd + 1, &cfg);
        if (!opt || !head_opt)
            st = sj_error_set(err, SJ_ERR_WORK, "out of memory");
    }
    cJSON *options = options_json(o);
    cJSON_AddNumberToObject(options, "eval_every", (double)o->eval_every);
    sja_options_add_input(options, "pairs_sha256", pairs_path);
    sja_stage_state ss = {.stage = "reward",
                          .init = init,
                          .instrument_path = instrument_path,
                          .rationale = init->codec.rationale,
                          .options = options,
                          .steps = o->steps,
                          .model = m,
                          .opt = opt,
                          .rng = rng,
                          .log = &log};
    long stopped = 0;
    if (st == SJ_OK && o->run.resume)
        st = resume(out, &ss, head, head_opt, &last, err);
    sj_progress bar;
    sja_progress_start(&bar, "reward", o->steps, o->quiet);
    if (st == SJ_OK && opt->step > 0)
        sj_progress_update(&bar, opt->step, NULL);
    for (long step = opt ? opt->step : 0; step < o->steps && st == SJ_OK; step++) {
        double t0 = sj_now(), loss = 0.0, acc = 0.0;
        for (int b = 0; b < o->batch; b++)
            pick[b] = train_idx[gsl_rng_uniform_int(rng, n_train)];
        st = rm_step(m, head, head_grad, &d, pick, o->batch, o->margin, &loss, &acc, err);
        if (st != SJ_OK)
            break;
        double lr = sj_lm_adamw_step(opt, m);
        /* The head shares the schedule; its gradient is clipped alone. */
        double norm = sqrt(sj_grad_sq_norm(head_grad, (size_t)embd + 1));
        if (norm > 1.0)
            sj_grad_scale(head_grad, (size_t)embd + 1, (float)(1.0 / norm));
        sj_adamw_update(head_opt, head, head_grad, NULL, lr);
        sj_lm_metric mt[6] = {{"loss", loss}, {"lr", lr}, {"tokens_per_s", 0}, {"accuracy", acc}};
        double tokens = 0.0;
        for (int b = 0; b < o->batch; b++)
            tokens += d.chosen[pick[b]].len + d.rejected[pick[b]].len;
        mt[2].value = tokens / (sj_now() - t0);
        size_t nm = 4;
        if (n_val > 0 && (step == 0 || step == o->steps - 1 ||
                          (o->eval_every > 0 && (step + 1) % o->eval_every == 0))) {
            st = rm_evaluate(m, head, &d, val, n_val, o->margin, &last, err);
            mt[nm++] = (sj_lm_metric){"val_loss", last.loss};
            mt[nm++] = (sj_lm_metric){"val_accuracy", last.accuracy};
        }
        if (st == SJ_OK)
            st = sj_lm_log_append(&log, step + 1, mt, nm, err);
        char extra[64];
        snprintf(extra, sizeof extra, "loss %.4f", loss);
        sj_progress_update(&bar, step + 1, extra);
        if (st == SJ_OK && sja_should_stop(&o->run, step + 1, o->steps)) {
            ss.done = step + 1;
            st = save_stopped(out, &ss, head, head_opt, &last, err);
            stopped = step + 1;
            bar.total = stopped;
            break;
        }
    }
    sj_progress_finish(&bar, NULL);
    cJSON_Delete(options);
    if (o->run.stopped_at)
        *o->run.stopped_at = stopped;
    double mean = 0.0, sd = 1.0;
    size_t n_norm = 0;
    if (st == SJ_OK && !stopped)
        st = fit_normalisation(policy, m, head, &init->codec, ins, pairs, o->seed, &mean, &sd,
                               &n_norm, err);
    if (st == SJ_OK && !stopped) {
        float norm[2] = {(float)mean, (float)sd};
        float bias = head[embd];
        sj_lm_tensor extras[3] = {{"head.weight", 1, (size_t)embd, 1, head},
                                  {"head.bias", 1, 1, 0, &bias},
                                  {"reward.norm", 1, 2, 0, norm}};
        prov = sja_provenance_new("reward", init, instrument_path);
        sja_provenance_add_file(prov, "pairs", pairs_path);
        cJSON_AddBoolToObject(prov, "completion_rationale", init->codec.rationale);
        cJSON_AddItemToObject(prov, "options", options_json(o));
        cJSON *res = cJSON_AddObjectToObject(prov, "held_out");
        cJSON_AddNumberToObject(res, "n_pairs", (double)n_val);
        sj_json_add_number(res, "val_loss", last.loss);
        sj_json_add_number(res, "val_accuracy", last.accuracy);
        cJSON_AddNumberToObject(prov, "n_train_pairs", (double)n_train);
        cJSON *nj = cJSON_AddObjectToObject(prov, "reward_normalisation");
        cJSON_AddNumberToObject(nj, "mean", (double)norm[0]);
        cJSON_AddNumberToObject(nj, "sd", (double)norm[1]);
        cJSON_AddNumberToObject(nj, "n_policy_samples", (double)n_norm);
        cJSON_AddStringToObject(nj, "tensor",
                                "reward.norm = [mean, sd]; reward = (w.h + b - mean) / sd");
        cJSON_AddBoolToObject(prov, "frozen", 1);
        if (summary)
            *summary = cJSON_Duplicate(res, 1);
        sj_lm_save_opts so = {
            .tok = init->ck->tok, .provenance = prov, .extras = extras, .n_extras = 3, .log = &log};
        st = sj_lm_save(out, m, &so, err);
    }
    cJSON_Delete(prov);
    sj_lm_log_free(&log);
    sj_lm_free(policy);
    sj_adamw_free(opt);
    sj_adamw_free(head_opt);
    sj_rng_free(rng);
    free(head);
    free(head_grad);
    free(train_idx);
    free(val);
    free(pick);
    rm_data_free(&d);
    return st;
}
