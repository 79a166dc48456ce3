/* Supervised fine-tuning: cross-entropy on the completion "score: k" only,
 * with a held-out set of persons for loss and agreement with the humans. */
#include "align_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "sjtalign/stats.h"

sja_sft_opts sja_sft_defaults(void)
{
    sja_sft_opts o = {.steps = 400,
                      .batch = 32,
                      .lr = 2e-3,
                      .seed = 1,
                      .val_fraction = 0.1,
                      .eval_every = 100,
                      .with_rationale = 0,
                      .quiet = 0};
    return o;
}

typedef struct {
    size_t n;
    sja_seq *full;   /* prompt + completion */
    sja_seq *prompt; /* prompt only, for agreement */
    double *human;
    unsigned char *is_val;
} sft_data;

static void sft_data_free(sft_data *d)
{
    for (size_t i = 0; i < d->n; i++) {
        sja_seq_free(&d->full[i]);
        sja_seq_free(&d->prompt[i]);
    }
    free(d->full);
    free(d->prompt);
    free(d->human);
    free(d->is_val);
}

static sj_status build_examples(const sja_codec *c, const sj_instrument *ins, const sj_responses *r,
                                int with_rationale, sft_data *d, const char ***persons,
                                sj_error *err)
{
    const sj_table *t = r->table;
    size_t n = 0;
    for (size_t i = 0; i < t->n_rows; i++)
        n += !isnan(r->score[i]);
    d->full = sj_calloc(n ? n : 1, sizeof *d->full);
    d->prompt = sj_calloc(n ? n : 1, sizeof *d->prompt);
    d->human = sj_calloc(n ? n : 1, sizeof *d->human);
    d->is_val = sj_calloc(n ? n : 1, 1);
    *persons = sj_calloc(n ? n : 1, sizeof **persons);
    if (!d->full || !d->prompt || !d->human || !d->is_val || !*persons)
        return sj_error_set(err, SJ_ERR_WORK, "out of memory");
    for (size_t i = 0; i < t->n_rows; i++) {
        if (isnan(r->score[i]))
            continue;
        size_t item = r->item_index[i];
        const char *text = sj_table_cell(t, i, (size_t)r->col_text);
        char *completion = sja_completion_text(ins, item, (int)r->score[i], with_rationale);
        if (!completion)
            return sj_error_set(err, SJ_ERR_WORK, "out of memory");
        sj_status st = sja_encode_example(c, ins, item, text, completion, &d->full[d->n], err);
        free(completion);
        if (st == SJ_OK)
            st = sja_encode_prompt(c, ins, item, text, c->max_completion, &d->prompt[d->n], err);
        if (st != SJ_OK) {
            sj_error_prefix(err, "%s:%ld: ", t->path, t->row_line[i]);
            return st;
        }
        d->human[d->n] = r->score[i];
        (*persons)[d->n] = sj_table_cell(t, i, (size_t)r->col_person);
        d->n++;
    }
    return SJ_OK;
}

/* Held-out loss (nats per completion token) and agreement of the modal
 * and expected scores with the human scores. */
static sj_status evaluate(sj_lm *m, const sja_codec *c, const sft_data *d, const size_t *val,
                          size_t n_val, sj_lm_metric *out, sj_error *err)
{
    enum { EB = 64 };
    double loss_sum = 0.0, weight_sum = 0.0;
    sj_status st = SJ_OK;
    for (size_t s = 0; s < n_val && st == SJ_OK; s += EB) {
        int nb = (int)(n_val - s < EB ? n_val - s : EB);
        const sja_seq *seqs[EB];
        for (int b = 0; b < nb; b++)
            seqs[b] = &d->full[val[s + (size_t)b]];
        sj_lm_batch *batch = NULL;
        double loss = 0.0;
        st = sja_batch_build(seqs, nb, SJA_W_COMPLETION, 0, &batch, NULL, err);
        if (st == SJ_OK)
            st = sj_lm_ce_loss(m, batch, &loss, err);
        if (st == SJ_OK) {
            double w = 0.0;
            for (size_t k = 0; k < (size_t)batch->B * (size_t)batch->T; k++)
                w += batch->weights[k];
            loss_sum += loss * w;
            weight_sum += w;
        }
        sj_lm_batch_free(batch);
    }
    sja_seq *prompts = malloc((n_val ? n_val : 1) * sizeof *prompts);
    double *probs = malloc((n_val ? n_val : 1) * (size_t)c->n_levels * sizeof *probs);
    double *mode = malloc((n_val ? n_val : 1) * sizeof *mode);
    double *expect = malloc((n_val ? n_val : 1) * sizeof *expect);
    double *human = malloc((n_val ? n_val : 1) * sizeof *human);
    if (!prompts || !probs || !mode || !expect || !human)
        st = sj_error_set(err, SJ_ERR_WORK, "out of memory");
    if (st == SJ_OK) {
        for (size_t i = 0; i < n_val; i++)
            prompts[i] = d->prompt[val[i]];
        st = sja_score_levels(m, c, prompts, n_val, 64, probs, NULL, NULL, err);
    }
    if (st == SJ_OK) {
        for (size_t i = 0; i < n_val; i++) {
            const double *p = probs + i * (size_t)c->n_levels;
            mode[i] = c->score_min + sja_mode_level(p, c->n_levels);
            expect[i] = sja_expected_score(p, c->n_levels, c->score_min);
            human[i] = d->human[val[i]];
        }
        out[0] = (sj_lm_metric){"val_loss", weight_sum > 0 ? loss_sum / weight_sum : NAN};
        out[1] = (sj_lm_metric){"val_exact", sj_exact_agreement(mode, human, n_val)};
        out[2] = (sj_lm_metric){"val_qwk", sj_qwk(mode, human, n_val)};
        out[3] = (sj_lm_metric){"val_qwk_expected", sj_qwk(expect, human, n_val)};
    }
    free(prompts);
    free(probs);
    free(mode);
    free(expect);
    free(human);
    return st;
}

/* Held-out rows used by evaluations before the last one. */
#define SFT_EVAL_ROWS 400

/* The last held-out evaluation, saved with a checkpoint and read back. */
static cJSON *eval_to_json(const sj_lm_metric last_eval[4])
{
    cJSON *o = cJSON_CreateObject();
    for (int k = 0; o && k < 4; k++)
        sj_json_add_number(o, last_eval[k].name, last_eval[k].value);
    return o;
}

static sj_status resume(const char *out, sja_stage_state *ss, sj_lm_metric last_eval[4],
                        sj_error *err)
{
    sj_lm_checkpoint *ck = NULL;
    sj_status st = sja_checkpoint_resume(out, ss, &ck, err);
    for (int k = 0; ck && k < 4; k++)
        last_eval[k].value = sja_resume_number(ck, last_eval[k].name);
    sj_lm_checkpoint_free(ck);
    return st;
}

static sj_status train(sja_model *init, const sft_data *d, const size_t *train_idx, size_t n_train,
                       const size_t *val, size_t n_val, const sja_sft_opts *o, sja_stage_state *ss,
                       const char *out, sj_lm_metric last_eval[4], long *stopped, sj_error *err)
{
    sj_lm *m = init->ck->model;
    sj_lm_log *log = ss->log;
    sj_adamw_config cfg = sj_adamw_defaults();
    cfg.lr = o->lr;
    cfg.warmup = o->steps / 10;
    cfg.total_steps = o->steps;
    sj_adamw *opt = sj_adamw_new(m->n_params, &cfg);
    gsl_rng *rng = sj_rng_new(sj_seed_derive(o->seed, "sft-batches"));
    const sja_seq **seqs = malloc((size_t)o->batch * sizeof *seqs);
    sj_status st = (opt && rng && seqs) ? SJ_OK : sj_error_set(err, SJ_ERR_WORK, "out of memory");
    ss->model = m;
    ss->opt = opt;
    ss->rng = rng;
    if (st == SJ_OK && o->run.resume)
        st = resume(out, ss, last_eval, err);
    sj_progress bar;
    sja_progress_start(&bar, "sft", o->steps, o->quiet);
    if (st == SJ_OK && opt->step > 0)
        sj_progress_update(&bar, opt->step, NULL);
    for (long step = opt ? opt->step : 0; step < o->steps && st == SJ_OK; step++) {
        double t0 = sj_now();
        for (int b = 0; b < o->batch; b++)
            seqs[b] = &d->full[train_idx[gsl_rng_uniform_int(rng, n_train)]];
        sj_lm_batch *batch = NULL;
        double loss = 0.0, lr = 0.0;
        st = sja_batch_build(seqs, o->batch, SJA_W_COMPLETION, 0, &batch, NULL, err);
        if (st == SJ_OK) {
            sj_lm_zero_grad(m);
            st = sj_lm_ce_step(m, batch, &loss, err);
        }
        if (st == SJ_OK)
            lr = sj_lm_adamw_step(opt, m);
        double tokens = batch ? (double)batch->B * batch->T : 0;
        sj_lm_batch_free(batch);
        if (st != SJ_OK)
            break;
        sj_lm_metric mt[8] = {
            {"loss", loss}, {"lr", lr}, {"tokens_per_s", tokens / (sj_now() - t0)}};
        size_t nm = 3;
        int last = step == o->steps - 1;
        if (n_val > 0 &&
            (step == 0 || last || (o->eval_every > 0 && (step + 1) % o->eval_every == 0))) {
            /* Evaluations along the way use the first held-out rows only
             * (the split is random); the last one uses them all. */
            size_t n_eval = last || n_val < SFT_EVAL_ROWS ? n_val : SFT_EVAL_ROWS;
            st = evaluate(m, &init->codec, d, val, n_eval, mt + 3, err);
            if (st != SJ_OK)
                break;
            memcpy(last_eval, mt + 3, 4 * sizeof *mt);
            nm += 4;
        }
        st = sj_lm_log_append(log, step + 1, mt, nm, err);
        char extra[96];
        snprintf(extra, sizeof extra, "loss %.4f%s", loss, "");
        sj_progress_update(&bar, step + 1, extra);
        if (st == SJ_OK && sja_should_stop(&o->run, step + 1, o->steps)) {
            cJSON *numbers = eval_to_json(last_eval);
            ss->done = step + 1;
            st = sja_checkpoint_save(out, ss, numbers, NULL, 0, err);
            cJSON_Delete(numbers);
            *stopped = step + 1;
            bar.total = step + 1;
            break;
        }
    }
    sj_progress_finish(&bar, NULL);
    free(seqs);
    sj_rng_free(rng);
    sj_adamw_free(opt);
    return st;
}

static cJSON *options_json(const sja_sft_opts *o)
{
    cJSON *opt = cJSON_CreateObject();
    cJSON_AddNumberToObject(opt, "steps", (double)o->steps);
    cJSON_AddNumberToObject(opt, "batch", o->batch);
    cJSON_AddNumberToObject(opt, "lr", o->lr);
    cJSON_AddNumberToObject(opt, "seed", (double)o->seed);
    cJSON_AddNumberToObject(opt, "val_fraction", o->val_fraction);
    return opt;
}

sj_status sja_sft(sja_model *init, const sj_instrument *ins, const char *instrument_path,
                  const sj_responses *data, const char *data_path, const sja_sft_opts *o,
                  const char *out, cJSON **summary, sj_error *err)
{
    sft_data d = {0};
    const char **persons = NULL;
    sj_lm_log log;
    sj_lm_log_init(&log);
    size_t *train_idx = NULL, *val = NULL, n_train = 0, n_val = 0;
    sj_lm_metric last_eval[4] = {
        {"val_loss", NAN}, {"val_exact", NAN}, {"val_qwk", NAN}, {"val_qwk_expected", NAN}};
    cJSON *prov = NULL;
    sj_status st = build_examples(&init->codec, ins, data, o->with_rationale, &d, &persons, err);
    if (st == SJ_OK && d.n < 2)
        st = sj_error_set(err, SJ_ERR_INPUT,
                          "%s: SFT needs scored responses; found %zu rows with a score (column "
                          "'%s')",
                          data_path, d.n,
                          data->col_score >= 0 ? data->table->names[data->col_score] : "score");
    if (st == SJ_OK) {
        gsl_rng *rng = sj_rng_new(sj_seed_derive(o->seed, "sft-split"));
        sja_split_by_key(persons, d.n, o->val_fraction, rng, d.is_val);
        sj_rng_free(rng);
        train_idx = malloc(d.n * sizeof *train_idx);
        val = malloc(d.n * sizeof *val);
        if (!train_idx || !val)
            st = sj_error_set(err, SJ_ERR_WORK, "out of memory");
    }
    if (st == SJ_OK) {
        for (size_t i = 0; i < d.n; i++) {
            if (d.is_val[i])
                val[n_val++] = i;
            else
                train_idx[n_train++] = i;
        }
        if (n_train == 0)
            st = sj_error_set(err, SJ_ERR_INPUT, "no training rows left after the held-out split");
    }
    cJSON *options = options_json(o);
    /* eval_every and with_rationale shape the log and the completions too */
    cJSON_AddNumberToObject(options, "eval_every", (double)o->eval_every);
    cJSON_AddBoolToObject(options, "rationale", o->with_rationale);
    sja_options_add_input(options, "data_sha256", data_path);
    sja_stage_state ss = {.stage = "sft",
                          .init = init,
                          .instrument_path = instrument_path,
                          .rationale = o->with_rationale,
                          .options = options,
                          .steps = o->steps,
                          .log = &log};
    long stopped = 0;
    if (st == SJ_OK)
        st = train(init, &d, train_idx, n_train, val, n_val, o, &ss, out, last_eval, &stopped, err);
    cJSON_Delete(options);
    if (o->run.stopped_at)
        *o->run.stopped_at = stopped;
    if (st == SJ_OK && !stopped) {
        prov = sja_provenance_new("sft", init, instrument_path);
        sja_provenance_add_file(prov, "data", data_path);
        cJSON_AddBoolToObject(prov, "completion_rationale", o->with_rationale);
        cJSON_AddItemToObject(prov, "options", options_json(o));
        cJSON_AddNumberToObject(prov, "n_train_rows", (double)n_train);
        cJSON_AddNumberToObject(prov, "n_val_rows", (double)n_val);
        cJSON *res = cJSON_AddObjectToObject(prov, "held_out");
        for (int k = 0; k < 4; k++)
            sj_json_add_number(res, last_eval[k].name, last_eval[k].value);
        if (summary)
            *summary = cJSON_Duplicate(res, 1);
        sj_lm_save_opts so = {.tok = init->ck->tok, .provenance = prov, .log = &log};
        st = sj_lm_save(out, init->ck->model, &so, err);
    }
    cJSON_Delete(prov);
    sj_lm_log_free(&log);
    free(persons);
    free(train_idx);
    free(val);
    sft_data_free(&d);
    return st;
}
