/* Checkpoints of interrupted training stages, and continuing from them to
 * the same result as an uninterrupted run: besides the model, optimizer
 * and log, the random stream's exact state is saved, so the draws after
 * the checkpoint are the ones an uninterrupted run makes. */
#include "align_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sjtalign/dist.h"

/* The generator's state as hex digits (it is plain data for GSL's
 * generators) and back. */
static cJSON *rng_to_json(const gsl_rng *rng)
{
    size_t n = gsl_rng_size(rng);
    const unsigned char *b = gsl_rng_state(rng);
    char *hex = malloc(2 * n + 1);
    cJSON *o = cJSON_CreateObject();
    if (!hex || !o) {
        free(hex);
        cJSON_Delete(o);
        return NULL;
    }
    for (size_t i = 0; i < n; i++)
        snprintf(hex + 2 * i, 3, "%02x", b[i]);
    hex[2 * n] = '\0';
    cJSON_AddStringToObject(o, "type", gsl_rng_name(rng));
    cJSON_AddStringToObject(o, "state", hex);
    free(hex);
    return o;
}

static int hex_digit(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

static int rng_from_json(gsl_rng *rng, const cJSON *o)
{
    const cJSON *type = cJSON_GetObjectItemCaseSensitive(o, "type");
    const cJSON *state = cJSON_GetObjectItemCaseSensitive(o, "state");
    size_t n = gsl_rng_size(rng);
    if (!cJSON_IsString(type) || strcmp(type->valuestring, gsl_rng_name(rng)) != 0 ||
        !cJSON_IsString(state) || strlen(state->valuestring) != 2 * n)
        return -1;
    unsigned char *b = malloc(n ? n : 1);
    if (!b)
        return -1;
    for (size_t i = 0; i < n; i++) {
        int hi = hex_digit(state->valuestring[2 * i]),
            lo = hex_digit(state->valuestring[2 * i + 1]);
        if (hi < 0 || lo < 0) {
            free(b);
            return -1;
        }
        b[i] = (unsigned char)(hi * 16 + lo);
    }
    memcpy(gsl_rng_state(rng), b, n);
    free(b);
    return 0;
}

sj_status sja_checkpoint_save(const char *out, const sja_stage_state *s, const cJSON *numbers,
                              const sj_lm_tensor *tensors, size_t n_tensors, sj_error *err)
{
    cJSON *prov = sja_provenance_new(s->stage, s->init, s->instrument_path);
    cJSON *resume = cJSON_CreateObject();
    sj_status st = SJ_OK;
    if (!prov || !resume) {
        st = sj_error_set(err, SJ_ERR_WORK, "out of memory");
    } else {
        cJSON_AddBoolToObject(prov, "completion_rationale", s->rationale);
        cJSON_AddItemToObject(prov, "options", cJSON_Duplicate(s->options, 1));
        cJSON *in = cJSON_AddObjectToObject(prov, "interrupted");
        cJSON_AddNumberToObject(in, "step", (double)s->done);
        cJSON_AddNumberToObject(in, "steps", (double)s->steps);
        cJSON_AddStringToObject(in, "note",
                                "training stopped early; this is the model after `step` steps, "
                                "and config.json \"resume\" lets --resume continue it");
        cJSON_AddStringToObject(resume, "stage", s->stage);
        cJSON_AddNumberToObject(resume, "step", (double)s->done);
        cJSON_AddNumberToObject(resume, "steps", (double)s->steps);
        /* each rank's share of a batch depends on it: --resume needs the same */
        cJSON_AddNumberToObject(resume, "ranks", sj_dist_size());
        cJSON_AddStringToObject(resume, "init_weights_sha256", s->init->weights_sha256);
        if (s->instrument_path)
            sja_options_add_input(resume, "instrument_sha256", s->instrument_path);
        cJSON_AddItemToObject(resume, "options", cJSON_Duplicate(s->options, 1));
        if (s->rng)
            cJSON_AddItemToObject(resume, "rng", rng_to_json(s->rng));
        cJSON_AddItemToObject(resume, "numbers",
                              numbers ? cJSON_Duplicate(numbers, 1) : cJSON_CreateObject());
        sj_lm_save_opts so = {.tok = s->init->ck->tok,
                              .provenance = prov,
                              .extras = tensors,
                              .n_extras = n_tensors,
                              .opt = s->opt,
                              .log = s->log,
                              .resume = resume};
        st = sj_lm_save(out, s->model, &so, err);
    }
    cJSON_Delete(prov);
    cJSON_Delete(resume);
    return st;
}

/* Names the first option whose value differs between the checkpoint and
 * this run. */
static sj_status options_differ(const char *out, const cJSON *saved, const cJSON *now,
                                sj_error *err)
{
    const cJSON *e;
    cJSON_ArrayForEach(e, now)
    {
        const cJSON *was = cJSON_GetObjectItemCaseSensitive(saved, e->string);
        if (was && cJSON_Compare(was, e, 1))
            continue;
        char *a = was ? cJSON_PrintUnformatted(was) : NULL;
        char *b = cJSON_PrintUnformatted(e);
        sj_status st = sj_error_set(err, SJ_ERR_INPUT,
                                    "--resume: the run in %s used %s %s, this command %s; "
                                    "continue with the same options, or start again without "
                                    "--resume",
                                    out, e->string, a ? a : "(none)", b ? b : "?");
        free(a);
        free(b);
        return st;
    }
    return sj_error_set(err, SJ_ERR_INPUT,
                        "--resume: the run in %s used other options; continue with the same "
                        "options, or start again without --resume",
                        out);
}

static sj_status check_resumable(const char *out, const sja_stage_state *s, const cJSON *resume,
                                 sj_error *err)
{
    const cJSON *stage = cJSON_GetObjectItemCaseSensitive(resume, "stage");
    const cJSON *sha = cJSON_GetObjectItemCaseSensitive(resume, "init_weights_sha256");
    const cJSON *opts = cJSON_GetObjectItemCaseSensitive(resume, "options");
    if (!cJSON_IsObject(resume))
        return sj_error_set(err, SJ_ERR_INPUT,
                            "--resume: %s holds a finished model, not an interrupted run; "
                            "train again without --resume",
                            out);
    if (!cJSON_IsString(stage) || strcmp(stage->valuestring, s->stage) != 0)
        return sj_error_set(err, SJ_ERR_INPUT,
                            "--resume: %s holds an interrupted `%s` run, not `%s`", out,
                            cJSON_IsString(stage) ? stage->valuestring : "?", s->stage);
    if (!cJSON_IsString(sha) || strcmp(sha->valuestring, s->init->weights_sha256) != 0)
        return sj_error_set(err, SJ_ERR_INPUT,
                            "--resume: the run in %s started from another model than %s "
                            "(weights sha256 %s, not %s)",
                            out, s->init->path, cJSON_IsString(sha) ? sha->valuestring : "?",
                            s->init->weights_sha256);
    if (sj_lm_resume_ranks(resume, out, err) != SJ_OK)
        return SJ_ERR_INPUT;
    if (!cJSON_Compare(opts, s->options, 1))
        return options_differ(out, opts, s->options, err);
    /* the instrument's questions are part of every prompt */
    cJSON *now = cJSON_CreateObject();
    if (now && s->instrument_path)
        sja_options_add_input(now, "instrument_sha256", s->instrument_path);
    const cJSON *was = cJSON_GetObjectItemCaseSensitive(resume, "instrument_sha256");
    const cJSON *is = cJSON_GetObjectItemCaseSensitive(now, "instrument_sha256");
    int same = (!was && !is) || (was && is && cJSON_Compare(was, is, 1));
    cJSON_Delete(now);
    if (!same)
        return sj_error_set(err, SJ_ERR_INPUT,
                            "--resume: the run in %s used another instrument file than %s", out,
                            s->instrument_path ? s->instrument_path : "this one");
    return SJ_OK;
}

sj_status sja_checkpoint_resume(const char *out, sja_stage_state *s, sj_lm_checkpoint **ck,
                                sj_error *err)
{
    *ck = NULL;
    /* every rank reads the checkpoint rank 0 wrote */
    sj_status same = sj_lm_resume_same(out, err);
    if (same != SJ_OK)
        return same;
    struct stat sb;
    char *left = sj_lm_save_leftover(out);
    int fresh = stat(out, &sb) != 0 && !left;
    free(left);
    if (fresh)
        return SJ_OK;
    /* config.json first: a finished model (no optimizer state) or another
     * stage's run deserves its own message, before loading any weights. */
    char *cpath = sj_path_join(out, "config.json");
    sj_error jerr;
    cJSON *cfg = cpath && access(cpath, F_OK) == 0 ? sj_json_read(cpath, &jerr) : NULL;
    free(cpath);
    sj_status st = SJ_OK;
    if (cfg)
        st = check_resumable(out, s, cJSON_GetObjectItemCaseSensitive(cfg, "resume"), err);
    cJSON_Delete(cfg);
    if (st != SJ_OK)
        return st;
    sj_lm_checkpoint *c = sj_lm_load(out, &s->model->cfg, 1, err);
    if (!c) {
        sj_error_prefix(err, "--resume: ");
        return SJ_ERR_INPUT;
    }
    const cJSON *resume = cJSON_GetObjectItemCaseSensitive(c->config, "resume");
    /* checked again: config.json is the one just loaded and verified */
    st = check_resumable(out, s, resume, err);
    if (st == SJ_OK && s->rng &&
        rng_from_json(s->rng, cJSON_GetObjectItemCaseSensitive(resume, "rng")))
        st = sj_error_set(err, SJ_ERR_INPUT,
                          "--resume: %s/config.json: the saved random stream is missing or "
                          "damaged",
                          out);
    if (st == SJ_OK) {
        memcpy(s->model->params, c->model->params, s->model->n_params * sizeof *s->model->params);
        memcpy(s->opt->m, c->opt->m, s->opt->n * sizeof *s->opt->m);
        memcpy(s->opt->v, c->opt->v, s->opt->n * sizeof *s->opt->v);
        s->opt->step = c->opt->step;
        const cJSON *step = cJSON_GetObjectItemCaseSensitive(resume, "step");
        s->done = cJSON_IsNumber(step) ? (long)step->valuedouble : 0;
        char *lp = sj_path_join(out, "train_log.jsonl");
        sj_lm_log_free(s->log);
        st = lp ? sj_lm_log_load(s->log, lp, s->done, err)
                : sj_error_set(err, SJ_ERR_WORK, "out of memory");
        free(lp);
    }
    if (st != SJ_OK) {
        sj_lm_checkpoint_free(c);
        return st;
    }
    *ck = c;
    return SJ_OK;
}

void sja_options_add_input(cJSON *options, const char *key, const char *path)
{
    char hex[65];
    sj_error err;
    if (sj_sha256_file(path, hex, &err) == SJ_OK)
        cJSON_AddStringToObject(options, key, hex);
}

double sja_resume_number(const sj_lm_checkpoint *ck, const char *name)
{
    const cJSON *resume = cJSON_GetObjectItemCaseSensitive(ck->config, "resume");
    const cJSON *v =
        cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(resume, "numbers"), name);
    return cJSON_IsNumber(v) ? v->valuedouble : NAN;
}

sj_status sja_resume_tensor(const sj_lm_checkpoint *ck, const char *name, float *dst, size_t n,
                            sj_error *err)
{
    const sj_lm_tensor *t = sj_lm_checkpoint_extra(ck, name);
    if (!t || t->rows * t->cols != n)
        return sj_error_set(err, SJ_ERR_INPUT,
                            "--resume: the checkpoint lacks the tensor %s of %zu values", name, n);
    memcpy(dst, t->data, n * sizeof *dst);
    return SJ_OK;
}
