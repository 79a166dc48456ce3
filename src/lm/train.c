/* The training log (train_log.jsonl) and the pre-training loop. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "sjtalign/dist.h"
#include "sjtalign/io.h"
#include "lm_internal.h"

/* ---- training log ------------------------------------------------------------------ */

void sj_lm_log_init(sj_lm_log *log)
{
    memset(log, 0, sizeof *log);
    log->last_step = -1;
}

void sj_lm_log_free(sj_lm_log *log)
{
    sj_buf_free(&log->text);
    log->last_step = -1;
}

sj_status sj_lm_log_append(sj_lm_log *log, long step, const sj_lm_metric *metrics, size_t n,
                           sj_error *err)
{
    cJSON *o = cJSON_CreateObject();
    if (!o)
        return sj_error_set(err, SJ_ERR_WORK, "out of memory");
    cJSON_AddNumberToObject(o, "step", (double)step);
    for (size_t i = 0; i < n; i++)
        sj_json_add_number(o, metrics[i].name, metrics[i].value);
    char *line = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    if (!line || sj_buf_append(&log->text, line, strlen(line)) != 0 ||
        sj_buf_append(&log->text, "\n", 1) != 0) {
        free(line);
        return sj_error_set(err, SJ_ERR_WORK, "out of memory");
    }
    free(line);
    log->last_step = step;
    return SJ_OK;
}

sj_status sj_lm_log_write(const sj_lm_log *log, const char *path, sj_error *err)
{
    return sj_write_file_atomic(path, log->text.data ? log->text.data : "", log->text.len, err);
}

sj_status sj_lm_log_load(sj_lm_log *log, const char *path, long max_step, sj_error *err)
{
    char *data;
    size_t len;
    sj_lm_log_init(log);
    if (sj_read_file(path, &data, &len, err) != SJ_OK)
        return err ? err->status : SJ_ERR_WORK;
    sj_status st = SJ_OK;
    long line_no = 0;
    for (char *line = data; st == SJ_OK && *line;) {
        char *end = strchr(line, '\n');
        if (end)
            *end = '\0';
        line_no++;
        if (*line) {
            /* checked like any JSON input: a key twice is an error */
            cJSON *o = sj_json_parse_line(path, line_no, line, err);
            const cJSON *step = cJSON_GetObjectItemCaseSensitive(o, "step");
            if (!o) {
                st = SJ_ERR_INPUT;
            } else if (!cJSON_IsNumber(step)) {
                st = sj_error_at(err, SJ_ERR_INPUT, path, line_no, 1,
                                 "expected a JSON object with a \"step\" number");
            } else if ((long)step->valuedouble <= max_step) {
                if (sj_buf_append(&log->text, line, strlen(line)) != 0 ||
                    sj_buf_append(&log->text, "\n", 1) != 0)
                    st = sj_error_set(err, SJ_ERR_WORK, "out of memory");
                log->last_step = (long)step->valuedouble;
            }
            cJSON_Delete(o);
        }
        if (!end)
            break;
        line = end + 1;
    }
    free(data);
    return st;
}

/* ---- a share of a batch ------------------------------------------------------------------ */

sj_lm_batch sj_lm_batch_rows(const sj_lm_batch *batch, int lo, int hi)
{
    sj_lm_batch v = *batch;
    size_t first = (size_t)lo * (size_t)batch->T;
    v.B = hi - lo;
    v.tokens += first;
    v.targets += first;
    v.weights += first;
    v.lengths += lo;
    if (v.bias_pos)
        v.bias_pos += lo;
    if (v.bias)
        v.bias += (size_t)lo * (size_t)batch->n_bias;
    return v;
}

sj_status sj_lm_ce_step_rows(sj_lm *m, const sj_lm_batch *batch, int lo, int hi, double *loss,
                             sj_error *err)
{
    double wsum = 0.0;
    *loss = 0.0;
    if (lm_batch_weight_sum(batch, &wsum, err) != SJ_OK)
        return SJ_ERR_INPUT;
    if (hi <= lo)
        return SJ_OK;
    sj_lm_batch share = sj_lm_batch_rows(batch, lo, hi);
    size_t n = (size_t)share.B * (size_t)share.T;
    float *lp = malloc(n * sizeof *lp);
    if (!lp)
        return sj_error_set(err, SJ_ERR_WORK, "out of memory");
    /* the arithmetic of sj_lm_ce_step, on the share's rows */
    sj_lm_forward_io io = {.temperature = 1.0f, .logprobs = lp, .sparse_head = 1};
    sj_status st = sj_lm_forward(m, &share, &io, err);
    if (st == SJ_OK) {
        double total = 0.0;
        for (size_t i = 0; i < n; i++) {
            total -= (double)share.weights[i] * lp[i];
            lp[i] = (float)(-share.weights[i] / wsum);
        }
        *loss = total / wsum;
        st = sj_lm_backward(m, &share, lp, NULL, err);
    }
    free(lp);
    return st;
}

/* ---- pre-training ----------------------------------------------------------------------- */

sj_pretrain_opts sj_pretrain_defaults(void)
{
    sj_pretrain_opts o = {
        .model = {.vocab = SJ_TOK_DEFAULT_VOCAB,
                  .ctx = SJ_LM_DEFAULT_CTX,
                  .layers = SJ_LM_DEFAULT_LAYERS,
                  .heads = SJ_LM_DEFAULT_HEADS,
                  .embd = SJ_LM_DEFAULT_EMBD},
        .steps = 300,
        .batch = 8,
        .lr = 3e-3,
        .seed = 1,
        .val_fraction = 0.1,
        .eval_every = 50,
        .save_every = 100,
        .stop_after = 0,
        .interrupted = NULL,
        .quiet = 0,
        .warmup_fraction = 0.1,
    };
    return o;
}

/* Token stream "bos doc eos bos doc eos ..." of the chosen documents. */
typedef struct {
    int32_t *ids;
    size_t n;
} stream;

static sj_status build_stream(const sj_tokenizer *tok, const char *const *docs, const size_t *lens,
                              const size_t *pick, size_t n_pick, stream *s, sj_error *err)
{
    size_t cap = 0;
    for (size_t i = 0; i < n_pick; i++)
        cap += (lens ? lens[pick[i]] : strlen(docs[pick[i]])) + 2;
    s->ids = malloc((cap ? cap : 1) * sizeof *s->ids);
    s->n = 0;
    if (!s->ids)
        return sj_error_set(err, SJ_ERR_WORK, "out of memory");
    for (size_t i = 0; i < n_pick; i++) {
        const char *d = docs[pick[i]];
        size_t len = lens ? lens[pick[i]] : strlen(d);
        int32_t *ids;
        size_t n;
        if (sj_tokenizer_encode(tok, d, len, &ids, &n, err) != SJ_OK)
            return SJ_ERR_WORK;
        s->ids[s->n++] = SJ_TOK_BOS;
        memcpy(s->ids + s->n, ids, n * sizeof *ids);
        s->n += n;
        s->ids[s->n++] = SJ_TOK_EOS;
        free(ids);
    }
    return SJ_OK;
}

/* Fills the batch with random windows of the training stream. */
static sj_status fill_random(sj_lm_batch *batch, const stream *s, uint64_t seed, long step,
                             sj_error *err)
{
    gsl_rng *rng = sj_rng_new(sj_seed_derive(seed + (uint64_t)step, "pretrain-batch"));
    if (!rng)
        return sj_error_set(err, SJ_ERR_WORK, "out of memory");
    size_t len = (size_t)batch->T + 1 < s->n ? (size_t)batch->T + 1 : s->n;
    sj_status st = SJ_OK;
    for (int b = 0; b < batch->B && st == SJ_OK; b++) {
        size_t start = gsl_rng_uniform_int(rng, s->n - len + 1);
        st = sj_lm_batch_set(batch, b, s->ids + start, (int)len, NULL, err);
    }
    sj_rng_free(rng);
    return st;
}

/* Mean loss per token over consecutive windows of the validation stream
 * (at most max_windows of them, so evaluation stays cheap). */
static sj_status eval_stream(sj_lm *m, sj_lm_batch *batch, const stream *s, int max_windows,
                             double *loss, sj_error *err)
{
    size_t T = (size_t)batch->T;
    double total = 0.0, weight = 0.0;
    size_t at = 0;
    int windows = 0;
    while (at + 1 < s->n && windows < max_windows) {
        sj_lm_batch_clear(batch);
        int rows = 0;
        double w = 0.0;
        while (rows < batch->B && at + 1 < s->n && windows < max_windows) {
            size_t len = s->n - at < T + 1 ? s->n - at : T + 1;
            if (sj_lm_batch_set(batch, rows, s->ids + at, (int)len, NULL, err) != SJ_OK)
                return SJ_ERR_WORK;
            w += (double)(len - 1);
            at += len - 1;
            rows++;
            windows++;
        }
        double l;
        if (sj_lm_ce_loss(m, batch, &l, err) != SJ_OK)
            return SJ_ERR_WORK;
        total += l * w;
        weight += w;
    }
    *loss = weight > 0 ? total / weight : NAN;
    return SJ_OK;
}

static void shuffle(size_t *idx, size_t n, uint64_t seed)
{
    gsl_rng *rng = sj_rng_new(sj_seed_derive(seed, "pretrain-split"));
    for (size_t i = 0; i < n; i++)
        idx[i] = i;
    for (size_t i = n; i > 1 && rng; i--) {
        size_t j = gsl_rng_uniform_int(rng, i);
        size_t t = idx[i - 1];
        idx[i - 1] = idx[j];
        idx[j] = t;
    }
    sj_rng_free(rng);
}

typedef struct {
    sj_lm *model;
    sj_tokenizer *tok;
    sj_adamw *opt;
    sj_lm_log log;
    stream train, val;
    sj_lm_batch *batch, *vbatch;
    size_t *order;
    cJSON *prov;
} pretrain_state;

static void state_free(pretrain_state *s)
{
    sj_lm_free(s->model);
    sj_tokenizer_free(s->tok);
    sj_adamw_free(s->opt);
    sj_lm_log_free(&s->log);
    free(s->train.ids);
    free(s->val.ids);
    sj_lm_batch_free(s->batch);
    sj_lm_batch_free(s->vbatch);
    free(s->order);
    cJSON_Delete(s->prov);
}

static sj_status save(const char *out, pretrain_state *s, const sj_pretrain_opts *o,
                      double val_loss, sj_error *err)
{
    cJSON *p = s->prov;
    cJSON_DeleteItemFromObject(p, "steps_done");
    cJSON_AddNumberToObject(p, "steps_done", (double)s->opt->step);
    cJSON_DeleteItemFromObject(p, "val_loss");
    sj_json_add_number(p, "val_loss", val_loss);
    (void)o;
    sj_lm_save_opts so = {.tok = s->tok, .provenance = p, .opt = s->opt, .log = &s->log};
    return sj_lm_save(out, s->model, &so, err);
}

/* The checkpoint at out for --resume (*found 0 when there is none): the
 * same on every rank, trained with as many ranks as this job has, with
 * the requested architecture. */
static sj_status resume_from(const sj_pretrain_opts *o, const char *out, pretrain_state *s,
                             int *found, sj_error *err)
{
    *found = 0;
    sj_status same = sj_lm_resume_same(out, err);
    if (same != SJ_OK)
        return same;
    sj_error lerr;
    sj_lm_checkpoint *ck = sj_lm_load(out, NULL, 1, &lerr);
    if (!ck) {
        if (strstr(lerr.msg, "no such model directory") != NULL)
            return SJ_OK;
        if (err)
            *err = lerr;
        return lerr.status;
    }
    const cJSON *prov = cJSON_GetObjectItemCaseSensitive(ck->config, "provenance");
    const cJSON *vt = cJSON_GetObjectItemCaseSensitive(prov, "vocab_target");
    sj_lm_config want = o->model, have = ck->model->cfg;
    want.vocab = have.vocab;
    int target = cJSON_IsNumber(vt) ? (int)vt->valuedouble : -1;
    sj_status st = sj_lm_resume_ranks(prov, out, err);
    if (st == SJ_OK && (memcmp(&want, &have, sizeof want) != 0 || target != o->model.vocab))
        st = sj_error_set(err, SJ_ERR_INPUT,
                          "--resume: the checkpoint at %s has another architecture "
                          "(ctx %d, layers %d, heads %d, embd %d, vocab target %d) than "
                          "requested (ctx %d, layers %d, heads %d, embd %d, vocab %d)",
                          out, have.ctx, have.layers, have.heads, have.embd, target, o->model.ctx,
                          o->model.layers, o->model.heads, o->model.embd, o->model.vocab);
    if (st == SJ_OK) {
        *found = 1;
        s->model = ck->model;
        s->tok = ck->tok;
        s->opt = ck->opt;
        ck->model = NULL;
        ck->tok = NULL;
        ck->opt = NULL;
        char *lp = sj_path_join(out, "train_log.jsonl");
        st = lp ? sj_lm_log_load(&s->log, lp, s->opt->step, err)
                : sj_error_set(err, SJ_ERR_WORK, "out of memory");
        free(lp);
    }
    sj_lm_checkpoint_free(ck);
    return st;
}

/* Starting point: a fresh tokenizer and model, or the checkpoint at out. */
static sj_status start(const char *const *docs, const size_t *lens, const size_t *train_docs,
                       size_t n_train, const sj_pretrain_opts *o, const char *out, int resume,
                       pretrain_state *s, sj_error *err)
{
    if (resume) {
        int found = 0;
        /* every rank reads the checkpoint; all leave together if one cannot */
        sj_status st = sj_dist_agree(resume_from(o, out, s, &found, err), err);
        if (st != SJ_OK || found)
            return st;
        /* nothing to resume from: a fresh start */
    }
    const char **texts = malloc((n_train ? n_train : 1) * sizeof *texts);
    size_t *tl = malloc((n_train ? n_train : 1) * sizeof *tl);
    if (!texts || !tl) {
        free(texts);
        free(tl);
        return sj_error_set(err, SJ_ERR_WORK, "out of memory");
    }
    for (size_t i = 0; i < n_train; i++) {
        texts[i] = docs[train_docs[i]];
        tl[i] = lens ? lens[train_docs[i]] : strlen(docs[train_docs[i]]);
    }
    s->tok = sj_tokenizer_train(texts, tl, n_train, o->model.vocab, err);
    free(texts);
    free(tl);
    if (!s->tok)
        return err->status;
    sj_lm_config cfg = o->model;
    cfg.vocab = sj_tokenizer_vocab_size(s->tok);
    gsl_rng *rng = sj_rng_new(sj_seed_derive(o->seed, "pretrain-init"));
    s->model = rng ? sj_lm_new(&cfg, rng, err) : NULL;
    sj_rng_free(rng);
    if (!s->model)
        return SJ_ERR_WORK;
    sj_adamw_config ac = sj_adamw_defaults();
    s->opt = sj_adamw_new(s->model->n_params, &ac);
    sj_lm_log_init(&s->log);
    if (!s->opt)
        return sj_error_set(err, SJ_ERR_WORK, "out of memory");
    return SJ_OK;
}

static sj_status check_opts(const sj_pretrain_opts *o, size_t n, sj_error *err)
{
    if (sj_lm_config_validate(&o->model, err) != SJ_OK)
        return SJ_ERR_INPUT;
    if (o->steps < 1 || o->batch < 1)
        return sj_error_set(err, SJ_ERR_INPUT, "--steps and --batch must be at least 1");
    if (!(o->lr > 0.0) || !isfinite(o->lr))
        return sj_error_set(err, SJ_ERR_INPUT, "--lr must be positive");
    if (!(o->val_fraction > 0.0 && o->val_fraction < 1.0))
        return sj_error_set(err, SJ_ERR_INPUT, "the validation share must lie in (0, 1)");
    if (n < 2)
        return sj_error_set(err, SJ_ERR_INPUT,
                            "pre-training needs at least 2 documents (one is held out for "
                            "validation), got %zu",
                            n);
    return SJ_OK;
}

/* The pre-training run as the training loop sees it. */
typedef struct {
    pretrain_state *s;
    const sj_pretrain_opts *o;
    const char *out;
    double val_loss;
} pretrain_run;

enum { PRETRAIN_VAL_WINDOWS = 64 };

static sj_status pretrain_step(void *ctx, long step, sj_train_line *line, sj_error *err)
{
    pretrain_run *r = ctx;
    pretrain_state *s = r->s;
    double t0 = sj_now(), loss;
    sj_status st = fill_random(s->batch, &s->train, r->o->seed, step, err);
    if (st != SJ_OK)
        return st;
    /* every rank drew the same batch; each runs its share of the rows,
     * then the shares' gradients and losses are summed */
    size_t lo, hi;
    sj_dist_share((size_t)s->batch->B, &lo, &hi);
    sj_lm_zero_grad(s->model);
    st = sj_lm_ce_step_rows(s->model, s->batch, (int)lo, (int)hi, &loss, err);
    if (st == SJ_OK)
        st = sj_train_exchange(s->model, NULL, 0, &loss, 1, err);
    if (st != SJ_OK)
        return st;
    double lr = sj_lm_adamw_step(s->opt, s->model);
    double dt = sj_now() - t0;
    long tokens = 0;
    for (int b = 0; b < s->batch->B; b++)
        tokens += s->batch->lengths[b];
    sj_train_line_add(line, "loss", loss);
    sj_train_line_add(line, "lr", lr);
    sj_train_line_add(line, "tokens_per_s", (double)tokens / dt);
    snprintf(line->progress, sizeof line->progress, "loss %.3f", loss);
    return SJ_OK;
}

static sj_status pretrain_evaluate(void *ctx, long done, int last, sj_train_line *line,
                                   double score[2], sj_error *err)
{
    (void)done;
    (void)last;
    pretrain_run *r = ctx;
    sj_status st =
        eval_stream(r->s->model, r->s->vbatch, &r->s->val, PRETRAIN_VAL_WINDOWS, &r->val_loss, err);
    sj_train_line_add(line, "val_loss", r->val_loss);
    score[0] = -r->val_loss;
    return st;
}

static sj_status pretrain_checkpoint(void *ctx, long done, sj_error *err)
{
    (void)done;
    pretrain_run *r = ctx;
    return save(r->out, r->s, r->o, r->val_loss, err);
}

static void pretrain_finish_text(void *ctx, long stopped, char *buf, size_t n)
{
    pretrain_run *r = ctx;
    if (stopped)
        snprintf(buf, n, "stopped at step %ld of %ld", stopped, r->o->steps);
    else
        snprintf(buf, n, "val_loss %.3f", r->val_loss);
}

/* Records the run in the provenance and sets the schedule: warm-up over
 * warmup_fraction of the steps (at most 100, none for fewer than 20 steps),
 * then cosine decay. */
static void describe_run(pretrain_state *s, const sj_pretrain_opts *o, size_t n_train, size_t n_val)
{
    cJSON *p = s->prov;
    cJSON_AddStringToObject(p, "command", "pretrain");
    cJSON_AddStringToObject(p, "sjtalign_version", SJ_VERSION);
    cJSON_AddNumberToObject(p, "seed", (double)o->seed);
    /* the batches' shares, hence the rounding, depend on it (--resume checks it) */
    cJSON_AddNumberToObject(p, "ranks", sj_dist_size());
    cJSON_AddNumberToObject(p, "steps", (double)o->steps);
    cJSON_AddNumberToObject(p, "batch", o->batch);
    cJSON_AddNumberToObject(p, "lr", o->lr);
    cJSON_AddNumberToObject(p, "warmup_fraction", o->warmup_fraction);
    cJSON_AddNumberToObject(p, "vocab_target", o->model.vocab);
    cJSON_AddNumberToObject(p, "documents_train", (double)n_train);
    cJSON_AddNumberToObject(p, "documents_val", (double)n_val);
    cJSON_AddNumberToObject(p, "tokens_train", (double)s->train.n);
    cJSON_AddNumberToObject(p, "tokens_val", (double)s->val.n);
    long warmup = sj_warmup_steps(o->steps, o->warmup_fraction);
    s->opt->cfg.lr = o->lr;
    s->opt->cfg.total_steps = o->steps;
    s->opt->cfg.warmup = o->steps >= 20 ? (warmup < 100 ? warmup : 100) : 0;
}

/* The training loop, then the final evaluation (when the last step had
 * none) and save. */
static sj_status pretrain_loop(pretrain_state *s, const sj_pretrain_opts *o, const char *out,
                               double *val_loss, int *stopped, sj_error *err)
{
    pretrain_run r = {.s = s, .o = o, .out = out, .val_loss = NAN};
    sj_train_opts to = {.label = "pretrain",
                        .steps = o->steps,
                        .done = s->opt->step,
                        .eval_every = o->eval_every,
                        .eval_first = 1,
                        .save_every = o->save_every,
                        .stop_after = o->stop_after,
                        .interrupted = o->interrupted,
                        .quiet = o->quiet,
                        .log = &s->log};
    sj_train_hooks h = {.ctx = &r,
                        .step = pretrain_step,
                        .evaluate = pretrain_evaluate,
                        .checkpoint = pretrain_checkpoint,
                        .finish_text = pretrain_finish_text};
    sj_train_result res;
    sj_status st = sj_train_run(&to, &h, &res, err);
    *stopped = res.stopped > 0;
    if (st == SJ_OK && !*stopped) {
        if (isnan(r.val_loss))
            st = eval_stream(s->model, s->vbatch, &s->val, PRETRAIN_VAL_WINDOWS, &r.val_loss, err);
        if (st == SJ_OK)
            st = sj_train_same_weights(s->model, NULL, 0, err);
        if (st == SJ_OK)
            st = save(out, s, o, r.val_loss, err);
    }
    *val_loss = r.val_loss;
    return st;
}

sj_status sj_pretrain(const char *const *docs, const size_t *lens, size_t n,
                      const sj_pretrain_opts *o, const char *out, int resume,
                      const cJSON *provenance, double *final_val_loss, int *stopped_early,
                      sj_error *err)
{
    if (stopped_early)
        *stopped_early = 0;
    if (check_opts(o, n, err) != SJ_OK)
        return SJ_ERR_INPUT;
    pretrain_state s = {0};
    sj_lm_log_init(&s.log);
    sj_status st = SJ_OK;
    s.order = malloc(n * sizeof *s.order);
    if (!s.order)
        return sj_error_set(err, SJ_ERR_WORK, "out of memory");
    shuffle(s.order, n, o->seed);
    size_t n_val = (size_t)ceil(o->val_fraction * (double)n);
    if (n_val >= n)
        n_val = n - 1;
    const size_t *val_docs = s.order, *train_docs = s.order + n_val;
    size_t n_train = n - n_val;
    st = start(docs, lens, train_docs, n_train, o, out, resume, &s, err);
    if (st == SJ_OK)
        st = build_stream(s.tok, docs, lens, train_docs, n_train, &s.train, err);
    if (st == SJ_OK)
        st = build_stream(s.tok, docs, lens, val_docs, n_val, &s.val, err);
    if (st == SJ_OK) {
        s.batch = sj_lm_batch_new(o->batch, o->model.ctx);
        s.vbatch = sj_lm_batch_new(o->batch, o->model.ctx);
        s.prov = provenance ? cJSON_Duplicate(provenance, 1) : cJSON_CreateObject();
        if (!s.batch || !s.vbatch || !s.prov)
            st = sj_error_set(err, SJ_ERR_WORK, "out of memory");
    }
    double val_loss = NAN;
    int stopped = 0;
    if (st == SJ_OK) {
        describe_run(&s, o, n_train, n_val);
        st = pretrain_loop(&s, o, out, &val_loss, &stopped, err);
    }
    if (final_val_loss)
        *final_val_loss = val_loss;
    if (stopped_early)
        *stopped_early = stopped;
    state_free(&s);
    return st;
}
