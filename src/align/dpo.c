/* Direct preference optimisation (Rafailov et al. 2023) on judged pairs,
 * against a frozen copy of the starting (SFT) policy. */
#include "align_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

sja_dpo_opts sja_dpo_defaults(void)
{
    sja_dpo_opts o = {.steps = 150,
                      .batch = 16,
                      .lr = 5e-4,
                      .beta = 0.1,
                      .seed = 1,
                      .val_fraction = 0.1,
                      .eval_every = 50,
                      .min_pairs = 20,
                      .quiet = 0};
    return o;
}

typedef struct {
    size_t n;
    sja_seq *chosen, *rejected;
    const char **person;
    double *ref_c, *ref_r; /* reference sequence log-probs */
} dpo_data;

static void dpo_data_free(dpo_data *d)
{
    for (size_t i = 0; i < d->n; i++) {
        sja_seq_free(&d->chosen[i]);
        sja_seq_free(&d->rejected[i]);
    }
    free(d->chosen);
    free(d->rejected);
    free(d->person);
    free(d->ref_c);
    free(d->ref_r);
}

/* Sequence log-probs of chosen and rejected completions of the pairs
 * idx[0..n-1]; the batch (chosen rows first) is kept when asked. */
static sj_status pair_logprobs(sj_lm *m, const dpo_data *d, const size_t *idx, int n, double *lc,
                               double *lr, sj_lm_batch **keep, sj_error *err)
{
    const sja_seq **seqs = malloc((size_t)2 * n * sizeof *seqs);
    double *all = malloc((size_t)2 * n * sizeof *all);
    sj_lm_batch *batch = NULL;
    float *lp = NULL;
    sj_status st = (seqs && all) ? SJ_OK : sj_error_set(err, SJ_ERR_WORK, "out of memory");
    for (int b = 0; b < n && st == SJ_OK; b++) {
        seqs[b] = &d->chosen[idx[b]];
        seqs[n + b] = &d->rejected[idx[b]];
    }
    if (st == SJ_OK)
        st = sja_batch_build(seqs, 2 * n, SJA_W_COMPLETION, 0, &batch, NULL, err);
    if (st == SJ_OK && !(lp = malloc((size_t)batch->B * batch->T * sizeof *lp)))
        st = sj_error_set(err, SJ_ERR_WORK, "out of memory");
    if (st == SJ_OK) {
        sj_lm_forward_io io = {.temperature = 1.0f, .logprobs = lp};
        st = sj_lm_forward(m, batch, &io, err);
    }
    if (st == SJ_OK) {
        sja_sequence_logprobs(batch, lp, all);
        memcpy(lc, all, (size_t)n * sizeof *lc);
        memcpy(lr, all + n, (size_t)n * sizeof *lr);
    }
    free(seqs);
    free(all);
    free(lp);
    if (keep && st == SJ_OK)
        *keep = batch;
    else
        sj_lm_batch_free(batch);
    return st;
}

typedef struct {
    double loss, chosen, rejected, accuracy, margin;
} dpo_stats;

static void add_pair(dpo_stats *s, double beta, double lc, double rc, double lr, double rr,
                     double *dc, double *dr, double scale)
{
    double loss = sja_dpo_loss(beta, lc, rc, lr, rr, dc, dr);
    double rw_c = beta * (lc - rc), rw_r = beta * (lr - rr);
    s->loss += loss * scale;
    s->chosen += rw_c * scale;
    s->rejected += rw_r * scale;
    s->accuracy += (rw_c > rw_r) * scale;
    s->margin += (rw_c - rw_r) * scale;
}

static sj_status dpo_evaluate(sj_lm *m, const dpo_data *d, const size_t *val, size_t n_val,
                              double beta, dpo_stats *s, sj_error *err)
{
    enum { EB = 32 };
    double lc[EB], lr[EB];
    memset(s, 0, sizeof *s);
    sj_status st = SJ_OK;
    for (size_t k = 0; k < n_val && st == SJ_OK; k += EB) {
        int nb = (int)(n_val - k < EB ? n_val - k : EB);
        st = pair_logprobs(m, d, val + k, nb, lc, lr, NULL, err);
        for (int b = 0; b < nb && st == SJ_OK; b++) {
            size_t i = val[k + (size_t)b];
            add_pair(s, beta, lc[b], d->ref_c[i], lr[b], d->ref_r[i], NULL, NULL,
                     1.0 / (double)n_val);
        }
    }
    return st;
}

static sj_status reference_logprobs(sj_lm *ref, dpo_data *d, sj_error *err)
{
    enum { EB = 32 };
    size_t idx[EB];
    d->ref_c = malloc((d->n ? d->n : 1) * sizeof *d->ref_c);
    d->ref_r = malloc((d->n ? d->n : 1) * sizeof *d->ref_r);
    if (!d->ref_c || !d->ref_r)
        return sj_error_set(err, SJ_ERR_WORK, "out of memory");
    sj_status st = SJ_OK;
    for (size_t k = 0; k < d->n && st == SJ_OK; k += EB) {
        int nb = (int)(d->n - k < EB ? d->n - k : EB);
        for (int b = 0; b < nb; b++)
            idx[b] = k + (size_t)b;
        st = pair_logprobs(ref, d, idx, nb, d->ref_c + k, d->ref_r + k, NULL, err);
    }
    return st;
}

static cJSON *options_json(const sja_dpo_opts *o)
{
    cJSON *oj = cJSON_CreateObject();
    cJSON_AddNumberToObject(oj, "steps", (double)o->steps);
    cJSON_AddNumberToObject(oj, "batch", o->batch);
    cJSON_AddNumberToObject(oj, "lr", o->lr);
    cJSON_AddNumberToObject(oj, "beta", o->beta);
    cJSON_AddNumberToObject(oj, "seed", (double)o->seed);
    cJSON_AddNumberToObject(oj, "val_fraction", o->val_fraction);
    return oj;
}

/* The last held-out figures travel with a checkpoint. */
static const char *const EVAL_NAMES[5] = {"val_loss", "val_rewards/chosen", "val_rewards/rejected",
                                          "val_rewards/accuracies", "val_rewards/margins"};

static void eval_values(dpo_stats *s, double **v)
{
    v[0] = &s->loss;
    v[1] = &s->chosen;
    v[2] = &s->rejected;
    v[3] = &s->accuracy;
    v[4] = &s->margin;
}

static sj_status save_stopped(const char *out, const sja_stage_state *ss, dpo_stats *last,
                              sj_error *err)
{
    double *v[5];
    eval_values(last, v);
    cJSON *numbers = cJSON_CreateObject();
    for (int k = 0; k < 5; k++)
        sj_json_add_number(numbers, EVAL_NAMES[k], *v[k]);
    sj_status st = sja_checkpoint_save(out, ss, numbers, NULL, 0, err);
    cJSON_Delete(numbers);
    return st;
}

static sj_status resume(const char *out, sja_stage_state *ss, dpo_stats *last, sj_error *err)
{
    sj_lm_checkpoint *ck = NULL;
    sj_status st = sja_checkpoint_resume(out, ss, &ck, err);
    double *v[5];
    eval_values(last, v);
    for (int k = 0; ck && k < 5; k++)
        *v[k] = sja_resume_number(ck, EVAL_NAMES[k]);
    sj_lm_checkpoint_free(ck);
    return st;
}

sj_status sja_dpo(sja_model *policy, const sj_instrument *ins, const char *instrument_path,
                  const sja_pairs *pairs, const char *pairs_path, const sja_dpo_opts *o,
                  const char *out, cJSON **summary, sj_error *err)
{
    sj_lm *m = policy->ck->model;
    dpo_data d = {0};
    sj_lm_log log;
    sj_lm_log_init(&log);
    unsigned char *is_val = NULL;
    size_t *train_idx = NULL, *val = NULL, *pick = NULL, n_train = 0, n_val = 0;
    double *lc = NULL, *lr = NULL;
    sj_adamw *opt = NULL;
    gsl_rng *rng = NULL;
    cJSON *prov = NULL;
    dpo_stats last = {NAN, NAN, NAN, NAN, NAN};
    /* The frozen reference is the starting policy: its log-probs are fixed,
     * so they are computed once before any update. */
    sj_status st =
        sja_pairs_encode(&policy->codec, ins, pairs, &d.chosen, &d.rejected, &d.person, &d.n, err);
    if (st == SJ_OK && (long)d.n < o->min_pairs)
        st = sj_error_set(err, SJ_ERR_INPUT,
                          "%s: %zu judged pairs with two different completions; DPO needs at "
                          "least %ld",
                          pairs_path, d.n, o->min_pairs);
    if (st == SJ_OK)
        st = reference_logprobs(m, &d, err);
    if (st == SJ_OK) {
        is_val = malloc(d.n);
        train_idx = malloc(d.n * sizeof *train_idx);
        val = malloc(d.n * sizeof *val);
        pick = malloc((size_t)o->batch * sizeof *pick);
        lc = malloc((size_t)o->batch * sizeof *lc);
        lr = malloc((size_t)o->batch * sizeof *lr);
        rng = sj_rng_new(sj_seed_derive(o->seed, "dpo-split"));
        sj_adamw_config cfg = sj_adamw_defaults();
        cfg.lr = o->lr;
        cfg.warmup = o->steps / 10;
        cfg.total_steps = o->steps;
        opt = sj_adamw_new(m->n_params, &cfg);
        if (!is_val || !train_idx || !val || !pick || !lc || !lr || !rng || !opt)
            st = sj_error_set(err, SJ_ERR_WORK, "out of memory");
    }
    if (st == SJ_OK) {
        sja_split_by_key(d.person, d.n, o->val_fraction, rng, is_val);
        for (size_t i = 0; i < d.n; i++) {
            if (is_val[i])
                val[n_val++] = i;
            else
                train_idx[n_train++] = i;
        }
    }
    /* Resuming restores the weights after the reference log-probs above were
     * computed from the starting policy, as in an uninterrupted run. */
    cJSON *options = options_json(o);
    cJSON_AddNumberToObject(options, "eval_every", (double)o->eval_every);
    sja_options_add_input(options, "pairs_sha256", pairs_path);
    sja_stage_state ss = {.stage = "dpo",
                          .init = policy,
                          .instrument_path = instrument_path,
                          .rationale = policy->codec.rationale,
                          .options = options,
                          .steps = o->steps,
                          .model = m,
                          .opt = opt,
                          .rng = rng,
                          .log = &log};
    long stopped = 0;
    if (st == SJ_OK && o->run.resume)
        st = resume(out, &ss, &last, err);
    sj_progress bar;
    sja_progress_start(&bar, "dpo", o->steps, o->quiet);
    if (st == SJ_OK && opt->step > 0)
        sj_progress_update(&bar, opt->step, NULL);
    for (long step = opt ? opt->step : 0; step < o->steps && st == SJ_OK; step++) {
        double t0 = sj_now();
        int B = o->batch;
        for (int b = 0; b < B; b++)
            pick[b] = train_idx[gsl_rng_uniform_int(rng, n_train)];
        sj_lm_batch *batch = NULL;
        float *dlp = NULL;
        st = pair_logprobs(m, &d, pick, B, lc, lr, &batch, err);
        if (st == SJ_OK && !(dlp = sj_calloc((size_t)batch->B * batch->T, sizeof *dlp)))
            st = sj_error_set(err, SJ_ERR_WORK, "out of memory");
        dpo_stats s = {0};
        if (st == SJ_OK) {
            for (int b = 0; b < B; b++) {
                double dc, dr;
                add_pair(&s, o->beta, lc[b], d.ref_c[pick[b]], lr[b], d.ref_r[pick[b]], &dc, &dr,
                         1.0 / B);
                /* d(loss)/d(token log-prob) = d/d(sequence log-prob) × weight. */
                for (int half = 0; half < 2; half++) {
                    size_t row = (size_t)(half * B + b) * (size_t)batch->T;
                    double g = (half ? dr : dc) / B;
                    for (int t = 0; t < batch->lengths[half * B + b]; t++)
                        dlp[row + (size_t)t] = (float)(g * batch->weights[row + (size_t)t]);
                }
            }
            sj_lm_zero_grad(m);
            st = sj_lm_backward(m, batch, dlp, NULL, err);
        }
        double lrate = st == SJ_OK ? sj_lm_adamw_step(opt, m) : 0.0;
        double tokens = batch ? (double)batch->B * batch->T : 0.0;
        sj_lm_batch_free(batch);
        free(dlp);
        if (st != SJ_OK)
            break;
        sj_lm_metric mt[14] = {{"loss", s.loss},
                               {"lr", lrate},
                               {"tokens_per_s", tokens / (sj_now() - t0)},
                               {"rewards/chosen", s.chosen},
                               {"rewards/rejected", s.rejected},
                               {"rewards/accuracies", s.accuracy},
                               {"rewards/margins", s.margin}};
        size_t nm = 7;
        if (n_val > 0 && (step == 0 || step == o->steps - 1 ||
                          (o->eval_every > 0 && (step + 1) % o->eval_every == 0))) {
            st = dpo_evaluate(m, &d, val, n_val, o->beta, &last, err);
            mt[nm++] = (sj_lm_metric){"val_loss", last.loss};
            mt[nm++] = (sj_lm_metric){"val_rewards/chosen", last.chosen};
            mt[nm++] = (sj_lm_metric){"val_rewards/rejected", last.rejected};
            mt[nm++] = (sj_lm_metric){"val_rewards/accuracies", last.accuracy};
            mt[nm++] = (sj_lm_metric){"val_rewards/margins", last.margin};
        }
        if (st == SJ_OK)
            st = sj_lm_log_append(&log, step + 1, mt, nm, err);
        char extra[64];
        snprintf(extra, sizeof extra, "loss %.4f", s.loss);
        sj_progress_update(&bar, step + 1, extra);
        if (st == SJ_OK && sja_should_stop(&o->run, step + 1, o->steps)) {
            ss.done = step + 1;
            st = save_stopped(out, &ss, &last, err);
            stopped = step + 1;
            bar.total = stopped;
            break;
        }
    }
    sj_progress_finish(&bar, NULL);
    cJSON_Delete(options);
    if (o->run.stopped_at)
        *o->run.stopped_at = stopped;
    if (st == SJ_OK && !stopped) {
        prov = sja_provenance_new("dpo", policy, instrument_path);
        sja_provenance_add_file(prov, "pairs", pairs_path);
        cJSON_AddBoolToObject(prov, "completion_rationale", policy->codec.rationale);
        cJSON_AddItemToObject(prov, "options", options_json(o));
        cJSON *res = cJSON_AddObjectToObject(prov, "held_out");
        cJSON_AddNumberToObject(res, "n_pairs", (double)n_val);
        sj_json_add_number(res, "val_loss", last.loss);
        sj_json_add_number(res, "val_rewards/accuracies", last.accuracy);
        sj_json_add_number(res, "val_rewards/margins", last.margin);
        cJSON_AddNumberToObject(prov, "n_train_pairs", (double)n_train);
        if (summary)
            *summary = cJSON_Duplicate(res, 1);
        sj_lm_save_opts so = {.tok = policy->ck->tok, .provenance = prov, .log = &log};
        st = sj_lm_save(out, m, &so, err);
    }
    cJSON_Delete(prov);
    sj_lm_log_free(&log);
    sj_adamw_free(opt);
    sj_rng_free(rng);
    free(is_val);
    free(train_idx);
    free(val);
    free(pick);
    free(lc);
    free(lr);
    dpo_data_free(&d);
    return st;
}
