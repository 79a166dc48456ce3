/* The driver every training stage (sft, reward, ppo, dpo) runs through: the
 * held-out split, the random stream, the optimizers and their schedule, the
 * loop of src/lm/loop.c, checkpoints and --resume, keeping the best
 * evaluated state, the provenance and the final save. */
#include "align_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "sjtalign/dist.h"

void sja_stage_init(sja_stage *s)
{
    memset(s, 0, sizeof *s);
    sj_lm_log_init(&s->log);
    sj_train_best_init(&s->best);
}

void sja_stage_identify(sja_stage *s, const char *name, sja_model *init,
                        const char *instrument_path, const char *input_key, const char *input_path)
{
    s->name = name;
    s->init = init;
    s->model = init->ck->model;
    s->rationale = init->codec.rationale;
    s->instrument_path = instrument_path;
    s->input_key = input_key;
    s->input_path = input_path;
    s->decay = 1;
    s->eval_first = 1;
}

/* The schedule: warm-up over warmup_fraction of the updates, then cosine
 * decay to their end, or a constant rate without decay. */
static sj_adamw_config schedule(const sja_stage *s, int weight_decay)
{
    long updates = s->updates > 0 ? s->updates : s->steps;
    sj_adamw_config cfg = sj_adamw_defaults();
    cfg.lr = s->lr;
    cfg.warmup = sj_warmup_steps(updates, s->warmup_fraction);
    cfg.total_steps = s->decay ? updates : 0;
    if (!weight_decay)
        cfg.weight_decay = 0.0;
    return cfg;
}

static sj_status split(sja_stage *s, sj_error *err)
{
    size_t n = s->n_examples;
    unsigned char *is_val = malloc(n ? n : 1);
    s->train = malloc((n ? n : 1) * sizeof *s->train);
    s->val = malloc((n ? n : 1) * sizeof *s->val);
    gsl_rng *own = s->split_label ? sj_rng_new(sj_seed_derive(s->seed, s->split_label)) : NULL;
    sj_status st = is_val && s->train && s->val && (own || !s->split_label)
                       ? SJ_OK
                       : sj_error_set(err, SJ_ERR_WORK, "out of memory");
    if (st == SJ_OK)
        st = sja_split_by_key(s->keys, n, s->val_fraction, own ? own : s->rng, is_val, NULL, err);
    for (size_t i = 0; i < n && st == SJ_OK; i++) {
        if (is_val[i])
            s->val[s->n_val++] = i;
        else
            s->train[s->n_train++] = i;
    }
    if (st == SJ_OK && s->n_train == 0)
        st = sj_error_set(err, SJ_ERR_INPUT,
                          "no training examples left after the held-out split "
                          "(val_fraction %g of %zu)",
                          s->val_fraction, n);
    sj_rng_free(own);
    free(is_val);
    return st;
}

sj_status sja_stage_prepare(sja_stage *s, sj_error *err)
{
    sj_adamw_config cfg = schedule(s, 1);
    s->rng = sj_rng_new(sj_seed_derive(s->seed, s->rng_label));
    s->opt = sj_adamw_new(s->model->n_params, &cfg);
    if (!s->rng || !s->opt)
        return sj_error_set(err, SJ_ERR_WORK, "out of memory");
    return s->keys ? split(s, err) : SJ_OK;
}

/* Grows a registry array by one element (n_items is not changed). */
static int grow(void **items, size_t n_items, size_t size)
{
    void *p = realloc(*items, (n_items + 1) * size);
    if (!p)
        return -1;
    *items = p;
    return 0;
}

sj_adamw *sja_stage_optimizer(sja_stage *s, const char *name, size_t n, int decay, sj_error *err)
{
    sj_adamw_config cfg = schedule(s, decay);
    sj_adamw *opt = sj_adamw_new(n, &cfg);
    if (!opt || grow((void **)&s->opts, s->n_opts, sizeof *s->opts) ||
        grow((void **)&s->opt_names, s->n_opts, sizeof *s->opt_names)) {
        sj_adamw_free(opt);
        sj_error_set(err, SJ_ERR_WORK, "out of memory");
        return NULL;
    }
    s->opts[s->n_opts] = opt;
    s->opt_names[s->n_opts++] = name;
    return opt;
}

sj_status sja_stage_tensor(sja_stage *s, const char *name, float *data, size_t n, int flags,
                           sj_error *err)
{
    if (grow((void **)&s->tensors, s->n_tensors, sizeof *s->tensors))
        return sj_error_set(err, SJ_ERR_WORK, "out of memory");
    s->tensors[s->n_tensors++] = (sja_stage_tensor_slot){name, data, n, flags};
    return SJ_OK;
}

sj_status sja_stage_number(sja_stage *s, const char *name, double *slot, int flags, sj_error *err)
{
    if (grow((void **)&s->numbers, s->n_numbers, sizeof *s->numbers))
        return sj_error_set(err, SJ_ERR_WORK, "out of memory");
    s->numbers[s->n_numbers++] = (sja_stage_number_slot){name, slot, flags};
    return SJ_OK;
}

/* ---- checkpoints -------------------------------------------------------------------------- */

static sja_stage_state stage_state(const sja_stage *s)
{
    sja_stage_state ss = {.stage = s->name,
                          .init = s->init,
                          .instrument_path = s->instrument_path,
                          .rationale = s->rationale,
                          .options = s->resume_options,
                          .steps = s->steps,
                          .done = s->done,
                          .model = s->model,
                          .opt = s->opt,
                          .rng = s->rng,
                          .log = (sj_lm_log *)&s->log};
    return ss;
}

/* Names of the saved state beyond the registered tensors: "<optimizer>.adam.m"
 * and ".v" per extra optimizer, then "resume.best.<k>" per kept tensor. */
typedef struct {
    sj_lm_tensor *t;
    char **names;
    size_t n;
} state_tensors;

static void state_tensors_free(state_tensors *st)
{
    for (size_t k = 0; st->names && k < st->n; k++)
        free(st->names[k]);
    free(st->names);
    free(st->t);
}

static sj_status add_state_tensor(state_tensors *st, char *name, float *data, size_t n,
                                  sj_error *err)
{
    st->names[st->n] = name;
    st->t[st->n] = (sj_lm_tensor){name, 1, n, 0, data};
    st->n++;
    return name ? SJ_OK : sj_error_set(err, SJ_ERR_WORK, "out of memory");
}

static sj_status collect_state(const sja_stage *s, state_tensors *st, sj_error *err)
{
    size_t cap = s->n_tensors + 2 * s->n_opts + s->best.n_tensors;
    st->n = 0;
    st->t = calloc(cap ? cap : 1, sizeof *st->t);
    st->names = calloc(cap ? cap : 1, sizeof *st->names);
    if (!st->t || !st->names)
        return sj_error_set(err, SJ_ERR_WORK, "out of memory");
    sj_status r = SJ_OK;
    for (size_t k = 0; k < s->n_tensors && r == SJ_OK; k++)
        r = add_state_tensor(st, sj_strdup(s->tensors[k].name), s->tensors[k].data, s->tensors[k].n,
                             err);
    for (size_t k = 0; k < s->n_opts && r == SJ_OK; k++) {
        sj_adamw *o = s->opts[k];
        r = add_state_tensor(st, sj_asprintf("%s.adam.m", s->opt_names[k]), o->m, o->n, err);
        if (r == SJ_OK)
            r = add_state_tensor(st, sj_asprintf("%s.adam.v", s->opt_names[k]), o->v, o->n, err);
    }
    for (size_t k = 0; k < s->best.n_tensors && r == SJ_OK; k++)
        r = add_state_tensor(st, sj_asprintf("resume.best.%zu", k), s->best.copy[k], s->best.len[k],
                             err);
    return r;
}

/* The numbers of a checkpoint: the registered ones, and the kept state's. */
static cJSON *state_numbers(const sja_stage *s)
{
    cJSON *o = cJSON_CreateObject();
    char key[96];
    for (size_t k = 0; o && k < s->n_numbers; k++)
        sj_json_add_number(o, s->numbers[k].name, *s->numbers[k].slot);
    if (o && s->keep_best) {
        sj_json_add_number(o, "best.step", (double)s->best.step);
        sj_json_add_number(o, "best.score0", s->best.score[0]);
        sj_json_add_number(o, "best.score1", s->best.score[1]);
        sj_json_add_number(o, "best.evaluations", (double)s->best.evaluations);
        for (size_t k = 0, j = 0; k < s->n_numbers; k++) {
            if (!(s->numbers[k].flags & SJA_KEEP_BEST))
                continue;
            snprintf(key, sizeof key, "best.%s", s->numbers[k].name);
            sj_json_add_number(o, key, s->best.copy_number[j++]);
        }
    }
    return o;
}

static sj_status save_checkpoint(void *ctx, long done, sj_error *err)
{
    sja_stage *s = ctx;
    s->done = done;
    state_tensors t = {0};
    cJSON *numbers = state_numbers(s);
    sj_status st =
        numbers ? collect_state(s, &t, err) : sj_error_set(err, SJ_ERR_WORK, "out of memory");
    sja_stage_state ss = stage_state(s);
    if (st == SJ_OK)
        st = sja_checkpoint_save(s->out, &ss, numbers, t.t, t.n, err);
    state_tensors_free(&t);
    cJSON_Delete(numbers);
    return st;
}

static void restore_best(sja_stage *s, const sj_lm_checkpoint *ck)
{
    char key[96];
    double step = sja_resume_number(ck, "best.step");
    s->best.step = isnan(step) ? -1 : (long)step;
    s->best.score[0] = sja_resume_number(ck, "best.score0");
    s->best.score[1] = sja_resume_number(ck, "best.score1");
    double evals = sja_resume_number(ck, "best.evaluations");
    s->best.evaluations = isnan(evals) ? 0 : (long)evals;
    for (size_t k = 0, j = 0; k < s->n_numbers; k++) {
        if (!(s->numbers[k].flags & SJA_KEEP_BEST))
            continue;
        snprintf(key, sizeof key, "best.%s", s->numbers[k].name);
        s->best.copy_number[j++] = sja_resume_number(ck, key);
    }
}

/* Restores the registered state from the checkpoint (after the model, the
 * main optimizer, the random stream and the log). */
static sj_status restore_state(sja_stage *s, const sj_lm_checkpoint *ck, sj_error *err)
{
    state_tensors t = {0};
    sj_status st = collect_state(s, &t, err);
    for (size_t k = 0; k < t.n && st == SJ_OK; k++)
        st = sja_resume_tensor(ck, t.t[k].name, t.t[k].data, t.t[k].cols, err);
    state_tensors_free(&t);
    /* every optimizer updates together with the main one */
    for (size_t k = 0; k < s->n_opts; k++)
        s->opts[k]->step = s->opt->step;
    for (size_t k = 0; k < s->n_numbers; k++)
        *s->numbers[k].slot = sja_resume_number(ck, s->numbers[k].name);
    if (s->keep_best)
        restore_best(s, ck);
    return st;
}

static sj_status resume(sja_stage *s, sj_error *err)
{
    sja_stage_state ss = stage_state(s);
    sj_lm_checkpoint *ck = NULL;
    sj_status st = sja_checkpoint_resume(s->out, &ss, &ck, err);
    if (st == SJ_OK && ck) {
        s->done = ss.done;
        st = restore_state(s, ck, err);
    }
    sj_lm_checkpoint_free(ck);
    /* every rank read the checkpoint; all leave together if one could not */
    return sj_dist_agree(st, err);
}

/* ---- the run ------------------------------------------------------------------------------ */

/* The options the driver adds, and those checked on resume. */
static sj_status complete_options(sja_stage *s, sj_error *err)
{
    if (!s->options)
        s->options = cJSON_CreateObject();
    if (s->options) {
        cJSON_AddNumberToObject(s->options, "steps", (double)s->steps);
        cJSON_AddNumberToObject(s->options, "lr", s->lr);
        cJSON_AddNumberToObject(s->options, "seed", (double)s->seed);
        if (s->keys)
            cJSON_AddNumberToObject(s->options, "val_fraction", s->val_fraction);
        cJSON_AddNumberToObject(s->options, "warmup_fraction", s->warmup_fraction);
        cJSON_AddBoolToObject(s->options, "keep_best", s->keep_best);
        /* the evaluations shape the log */
        cJSON_AddNumberToObject(s->options, "eval_every", (double)s->eval_every);
        s->resume_options = cJSON_Duplicate(s->options, 1);
    }
    if (!s->resume_options)
        return sj_error_set(err, SJ_ERR_WORK, "out of memory");
    if (s->input_key) {
        char key[64];
        snprintf(key, sizeof key, "%s_sha256", s->input_key);
        sja_options_add_input(s->resume_options, key, s->input_path);
    }
    const cJSON *e;
    cJSON_ArrayForEach(e, s->resume_extra)
    {
        cJSON_AddItemToObject(s->resume_options, e->string, cJSON_Duplicate(e, 1));
    }
    return SJ_OK;
}

/* Keep-best follows the model's parameters, then the registered tensors
 * and numbers flagged SJA_KEEP_BEST, in that order. */
static sj_status track_best(sja_stage *s, sj_error *err)
{
    sj_status st = sj_train_best_track(&s->best, s->model->params, s->model->n_params, err);
    for (size_t k = 0; k < s->n_tensors && st == SJ_OK; k++)
        if (s->tensors[k].flags & SJA_KEEP_BEST)
            st = sj_train_best_track(&s->best, s->tensors[k].data, s->tensors[k].n, err);
    for (size_t k = 0; k < s->n_numbers && st == SJ_OK; k++)
        if (s->numbers[k].flags & SJA_KEEP_BEST)
            st = sj_train_best_track_number(&s->best, s->numbers[k].slot, err);
    return st;
}

static int evaluated(const sja_stage *s)
{
    return s->hooks.evaluate && (!s->keys || s->n_val > 0);
}

/* The evaluation before any update, logged as step 0; a resumed run
 * replaces the log with the one it continues. */
static sj_status evaluate_at_start(sja_stage *s, sj_error *err)
{
    sj_train_line line = {0};
    double score[2] = {NAN, NAN};
    sj_status st = s->hooks.evaluate(s, 0, 0, &line, score, err);
    if (st == SJ_OK)
        st = sj_train_agree_score(score, err);
    if (st == SJ_OK && line.failed)
        st = sj_error_set(err, SJ_ERR_WORK, "out of memory");
    if (st == SJ_OK)
        st = sj_lm_log_append(&s->log, 0, line.metrics, line.n, err);
    if (st == SJ_OK && s->keep_best)
        sj_train_best_offer(&s->best, 0, score);
    free(line.metrics);
    return st;
}

static sj_status loop_step(void *ctx, long step, sj_train_line *line, sj_error *err)
{
    sja_stage *s = ctx;
    return s->hooks.step(s, step, line, err);
}

static sj_status loop_evaluate(void *ctx, long done, int last, sj_train_line *line, double score[2],
                               sj_error *err)
{
    sja_stage *s = ctx;
    return s->hooks.evaluate(s, done, last, line, score, err);
}

static sj_status train(sja_stage *s, sj_error *err)
{
    sj_train_opts o = {.label = s->name,
                       .steps = s->steps,
                       .done = s->done,
                       .eval_every = s->eval_every,
                       .eval_first = s->eval_first,
                       .stop_after = s->run->stop_after,
                       .interrupted = s->run->interrupted,
                       .quiet = s->quiet,
                       .log = &s->log,
                       .best = s->keep_best ? &s->best : NULL};
    sj_train_hooks h = {.ctx = s,
                        .step = loop_step,
                        .evaluate = evaluated(s) ? loop_evaluate : NULL,
                        .checkpoint = save_checkpoint};
    sj_train_result res;
    sj_status st = sj_train_run(&o, &h, &res, err);
    s->done = res.done;
    s->stopped = res.stopped;
    s->finished_early = res.finished_early;
    return st;
}

/* Which evaluation the saved model is, in the provenance and the result. */
static void record_kept(const sja_stage *s, cJSON *prov, cJSON *result)
{
    cJSON *k = cJSON_AddObjectToObject(prov, "keep_best");
    const sj_train_best *b = &s->best;
    sj_json_add_number(k, "step", b->step >= 0 ? (double)b->step : NAN);
    cJSON_AddStringToObject(k, "metric", s->best_metric ? s->best_metric : "");
    sj_json_add_number(k, "value", s->kept_why[0] ? s->kept_value : b->score[0]);
    cJSON_AddNumberToObject(k, "evaluations", (double)b->evaluations);
    cJSON_AddStringToObject(k, "why",
                            s->kept_why[0] ? s->kept_why
                            : b->step >= 0 ? "the saved model is the one with the best held-out "
                                             "metric among the evaluations (the earliest on a tie)"
                                           : "no evaluation gave a number; the saved model is the "
                                             "last one");
    if (result)
        sj_json_add_number(result, "kept_step", b->step >= 0 ? (double)b->step : NAN);
}

/* Rank 0 saves for every rank: their models and registered tensors (a
 * head) must be the same. */
static sj_status same_weights(const sja_stage *s, sj_error *err)
{
    sj_status st = sj_train_same_weights(s->model, NULL, 0, err);
    for (size_t k = 0; k < s->n_tensors && st == SJ_OK; k++)
        st = sj_train_same_weights(s->model, s->tensors[k].data, s->tensors[k].n, err);
    return st;
}

static sj_status finish(sja_stage *s, cJSON **summary, sj_error *err)
{
    if (s->keep_best)
        sj_train_best_restore(&s->best);
    cJSON *prov = sja_provenance_new(s->name, s->init, s->instrument_path);
    if (!prov)
        return sj_error_set(err, SJ_ERR_WORK, "out of memory");
    if (s->input_key)
        sja_provenance_add_file(prov, s->input_key, s->input_path);
    cJSON_AddBoolToObject(prov, "completion_rationale", s->rationale);
    cJSON_AddItemToObject(prov, "options", cJSON_Duplicate(s->options, 1));
    /* a data-parallel run's rounding depends on its number of ranks */
    cJSON_AddNumberToObject(prov, "ranks", sj_dist_size());
    sja_training_inherit(prov, s->name, s->init);
    sj_lm_save_opts so = {.tok = s->init->ck->tok, .provenance = prov, .log = &s->log};
    cJSON *result = NULL;
    sj_status st = s->hooks.finish(s, prov, &result, &so, err);
    if (st == SJ_OK && s->keep_best)
        record_kept(s, prov, result);
    if (st == SJ_OK && summary && result)
        *summary = cJSON_Duplicate(result, 1);
    if (st == SJ_OK)
        st = same_weights(s, err);
    if (st == SJ_OK)
        st = sj_lm_save(s->out, s->model, &so, err);
    cJSON_Delete(prov);
    return st;
}

sj_status sja_stage_run(sja_stage *s, const char *out, cJSON **summary, sj_error *err)
{
    s->out = out;
    sj_status st = complete_options(s, err);
    if (st == SJ_OK && s->keep_best)
        st = track_best(s, err);
    if (st == SJ_OK && s->eval_at_start && evaluated(s))
        st = evaluate_at_start(s, err);
    if (st == SJ_OK && s->run->resume)
        st = resume(s, err);
    if (st == SJ_OK)
        st = train(s, err);
    if (s->run->stopped_at)
        *s->run->stopped_at = s->stopped;
    if (st == SJ_OK && !s->stopped)
        st = finish(s, summary, err);
    return st;
}

void sja_stage_free(sja_stage *s)
{
    cJSON_Delete(s->options);
    cJSON_Delete(s->resume_extra);
    cJSON_Delete(s->resume_options);
    sj_rng_free(s->rng);
    sj_adamw_free(s->opt);
    for (size_t k = 0; k < s->n_opts; k++)
        sj_adamw_free(s->opts[k]);
    free(s->opts);
    free(s->opt_names);
    free(s->tensors);
    free(s->numbers);
    free(s->train);
    free(s->val);
    sj_lm_log_free(&s->log);
    sj_train_best_free(&s->best);
    memset(s, 0, sizeof *s);
}
