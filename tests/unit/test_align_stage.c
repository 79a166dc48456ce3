/* The training-stage driver (src/align/stage.c over src/lm/loop.c) with a
 * toy stage: the learning-rate schedule with warm-up, keep-best choosing
 * the evaluation with the best score from a scripted sequence, and a run
 * stopped and resumed through the driver ending with the bytes of an
 * uninterrupted one (the stage's own tensors, numbers, extra optimizer and
 * the kept best state included). */
#include "test_helpers.h"

#include <math.h>

#include "../../src/align/align_internal.h"
#include "sjtalign/align.h"

static const char *INSTRUMENT =
    "{\"id\": \"r\", \"title\": \"R\", \"score_min\": 0, \"score_max\": 3, \"items\": ["
    "{\"id\": \"A\", \"scenario\": \"s\", \"question\": \"Now?\", \"rubric\": ["
    "{\"score\": 0, \"anchor\": \"none\"}]}]}";

static struct {
    char *dir;
    char *instrument_path;
    char *base;
    sj_instrument *ins;
} F;

static int setup(void **state)
{
    (void)state;
    F.dir = test_mkdtemp();
    F.instrument_path = sj_path_join(F.dir, "instrument.json");
    test_write_text(F.instrument_path, INSTRUMENT, strlen(INSTRUMENT));
    sj_error err;
    F.ins = sj_instrument_load(F.instrument_path, &err);
    assert_non_null(F.ins);
    char *prompt = sja_prompt_text(F.ins, 0, "I would help.");
    const char *texts[1] = {prompt};
    sj_tokenizer *tok = sj_tokenizer_train(texts, NULL, 1, 270, &err);
    assert_non_null(tok);
    sj_lm_config cfg = {
        .vocab = sj_tokenizer_vocab_size(tok), .ctx = 32, .layers = 1, .heads = 2, .embd = 8};
    gsl_rng *rng = sj_rng_new(3);
    sj_lm *m = sj_lm_new(&cfg, rng, &err);
    assert_non_null(m);
    F.base = sj_path_join(F.dir, "base");
    sj_lm_save_opts so = {.tok = tok};
    assert_int_equal(sj_lm_save(F.base, m, &so, &err), SJ_OK);
    sj_lm_free(m);
    sj_rng_free(rng);
    sj_tokenizer_free(tok);
    free(prompt);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    sj_instrument_free(F.ins);
    free(F.instrument_path);
    free(F.base);
    test_rmdir(F.dir);
    return 0;
}

/* ---- the toy stage ------------------------------------------------------------------ */

enum { MAX_STEPS = 32 };

typedef struct {
    /* how it runs */
    long steps, eval_every, updates;
    int decay, eval_at_start, keep_best;
    double warmup_fraction;
    int mark_params;       /* each step sets every parameter to its step number */
    const double *script0; /* score after `done` steps, indexed by done */
    const double *script1; /* the tie-breaking score (may be NULL) */
    sja_run_control run;
    /* its state */
    float head[4], head_grad[4];
    sj_adamw *head_opt;
    double metric, counter;
    double lr[MAX_STEPS];
    sj_lm_tensor extra;
} toy;

static sj_status toy_step(sja_stage *s, long step, sj_train_line *line, sj_error *err)
{
    (void)err;
    toy *t = s->ctx;
    double lr;
    if (t->mark_params) {
        for (size_t i = 0; i < s->model->n_params; i++)
            s->model->params[i] = (float)(step + 1);
        lr = sj_lr_at(&s->opt->cfg, s->opt->step);
        s->opt->step++;
    } else {
        /* an update from a gradient drawn from the stage's stream */
        for (size_t i = 0; i < s->model->n_params; i++)
            s->model->grads[i] = (float)(gsl_rng_uniform(s->rng) - 0.5);
        lr = sj_lm_adamw_step(s->opt, s->model);
        for (int k = 0; k < 4; k++)
            t->head_grad[k] = (float)(4.0 * gsl_rng_uniform(s->rng));
        sja_head_update(t->head_opt, t->head, t->head_grad, 1.0, lr);
    }
    t->lr[step] = lr;
    t->counter += (double)step;
    sj_train_line_add(line, "lr", lr);
    return SJ_OK;
}

static sj_status toy_evaluate(sja_stage *s, long done, int last, sj_train_line *line,
                              double score[2], sj_error *err)
{
    (void)last;
    (void)err;
    toy *t = s->ctx;
    t->metric = t->script0[done];
    score[0] = t->script0[done];
    score[1] = t->script1 ? t->script1[done] : NAN;
    sj_train_line_add(line, "metric", t->metric);
    return SJ_OK;
}

static sj_status toy_finish(sja_stage *s, cJSON *prov, cJSON **result, sj_lm_save_opts *so,
                            sj_error *err)
{
    (void)err;
    toy *t = s->ctx;
    *result = cJSON_AddObjectToObject(prov, "result");
    sj_json_add_number(*result, "metric", t->metric);
    sj_json_add_number(*result, "counter", t->counter);
    t->extra = (sj_lm_tensor){"toy.head", 1, 4, 0, t->head};
    so->extras = &t->extra;
    so->n_extras = 1;
    return SJ_OK;
}

/* Runs the toy stage from the base model into dir/name. */
static sj_status run_toy(const char *name, toy *t, cJSON **summary)
{
    sj_error err;
    sj_error_clear(&err);
    sja_model *init = sja_model_load(F.base, F.ins, &err);
    assert_non_null(init);
    char *out = sj_path_join(F.dir, name);
    memset(t->head, 0, sizeof t->head);
    t->metric = NAN;
    t->counter = 0.0;
    sja_stage s;
    sja_stage_init(&s);
    sja_stage_identify(&s, "toy", init, F.instrument_path, NULL, NULL);
    s.options = cJSON_CreateObject();
    s.steps = t->steps;
    s.updates = t->updates;
    s.decay = t->decay;
    s.lr = 0.01;
    s.warmup_fraction = t->warmup_fraction;
    s.eval_every = t->eval_every;
    s.eval_at_start = t->eval_at_start;
    s.keep_best = t->keep_best;
    s.best_metric = "metric";
    s.quiet = 1;
    s.run = &t->run;
    s.seed = 5;
    s.rng_label = "toy";
    s.hooks = (sja_stage_hooks){.step = toy_step, .evaluate = toy_evaluate, .finish = toy_finish};
    s.ctx = t;
    sj_status st = sja_stage_prepare(&s, &err);
    if (st == SJ_OK)
        t->head_opt = sja_stage_optimizer(&s, "resume.toy_head", 4, 0, &err);
    if (st == SJ_OK)
        st = sja_stage_tensor(&s, "resume.toy_head", t->head, 4, SJA_KEEP_BEST, &err);
    if (st == SJ_OK)
        st = sja_stage_number(&s, "metric", &t->metric, SJA_KEEP_BEST, &err);
    if (st == SJ_OK)
        st = sja_stage_number(&s, "counter", &t->counter, SJA_STATE, &err);
    if (st == SJ_OK)
        st = sja_stage_run(&s, out, summary, &err);
    sja_stage_free(&s);
    free(out);
    sja_model_free(init);
    return st;
}

static toy toy_defaults(long steps)
{
    toy t = {.steps = steps, .decay = 1, .eval_every = 1};
    return t;
}

static sj_lm_checkpoint *load_out(const char *name)
{
    sj_error err;
    char *dir = sj_path_join(F.dir, name);
    sj_lm_checkpoint *ck = sj_lm_load(dir, NULL, 0, &err);
    free(dir);
    assert_non_null(ck);
    return ck;
}

static char *read_out_file(const char *name, const char *file, size_t *len)
{
    char *dir = sj_path_join(F.dir, name);
    char *path = sj_path_join(dir, file);
    char *data = NULL;
    sj_error err;
    assert_int_equal(sj_read_file(path, &data, len, &err), SJ_OK);
    free(path);
    free(dir);
    return data;
}

static double number_at(const cJSON *o, const char *name)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
    assert_true(cJSON_IsNumber(v));
    return v->valuedouble;
}

/* ---- the schedule ----------------------------------------------------------------------- */

static void warmup_steps_are_the_floor_of_the_share(void **state)
{
    (void)state;
    assert_int_equal(sj_warmup_steps(30, 0.1), 3);
    assert_int_equal(sj_warmup_steps(400, 0.1), 40);
    assert_int_equal(sj_warmup_steps(7, 0.1), 0);
    assert_int_equal(sj_warmup_steps(10, 0.3), 3);
    assert_int_equal(sj_warmup_steps(20, 0.25), 5);
    assert_int_equal(sj_warmup_steps(20, 0.0), 0);
}

/* lr 0.01 over 20 steps, warm-up share 0.25 = 5 steps: step k < 5 gets
 * 0.01 (k + 1) / 5; then cosine decay to 0.1 x 0.01 at step 20:
 * 0.01 (0.1 + 0.9 x 0.5 (1 + cos(pi (k - 5) / 15))). */
static void schedule_warms_up_then_decays(void **state)
{
    (void)state;
    toy t = toy_defaults(20);
    t.warmup_fraction = 0.25;
    t.mark_params = 1;
    t.eval_every = 0;
    double script[21] = {0};
    t.script0 = script;
    assert_int_equal(run_toy("schedule", &t, NULL), SJ_OK);
    assert_float_equal(t.lr[0], 0.002, 1e-15);
    assert_float_equal(t.lr[1], 0.004, 1e-15);
    assert_float_equal(t.lr[4], 0.010, 1e-15);
    assert_float_equal(t.lr[5], 0.010, 1e-15);
    /* k = 12: cos(84 degrees) = 0.10452846326765347 */
    assert_float_equal(t.lr[12], 0.01 * (0.1 + 0.45 * 1.10452846326765347), 1e-15);
    /* k = 15: cos(120 degrees) = -1/2, so 0.01 (0.1 + 0.9 / 4) */
    assert_float_equal(t.lr[15], 0.00325, 1e-15);
}

/* Without decay (PPO) the rate is constant after the warm-up, whose length
 * counts the optimizer updates (here 8 for 4 steps: 0.25 x 8 = 2). */
static void schedule_without_decay_is_constant_after_warmup(void **state)
{
    (void)state;
    toy t = toy_defaults(4);
    t.warmup_fraction = 0.25;
    t.updates = 8;
    t.decay = 0;
    t.mark_params = 1;
    t.eval_every = 0;
    double script[5] = {0};
    t.script0 = script;
    assert_int_equal(run_toy("constant", &t, NULL), SJ_OK);
    assert_float_equal(t.lr[0], 0.005, 1e-15);
    assert_float_equal(t.lr[1], 0.010, 1e-15);
    assert_float_equal(t.lr[3], 0.010, 1e-15);
}

/* ---- keep-best -------------------------------------------------------------------------- */

static void best_state_compares_scores_in_order(void **state)
{
    (void)state;
    sj_train_best b;
    sj_train_best_init(&b);
    sj_error err;
    float x = 0.0f;
    assert_int_equal(sj_train_best_track(&b, &x, 1, &err), SJ_OK);
    const double s[6][2] = {{NAN, 0}, {0.5, NAN}, {0.5, 1}, {0.5, 1}, {0.7, -5}, {0.6, 9}};
    const int kept[6] = {0, 1, 1, 0, 1, 0};
    for (int k = 0; k < 6; k++) {
        x = (float)(k + 1);
        assert_int_equal(sj_train_best_offer(&b, k + 1, s[k]), kept[k]);
    }
    assert_int_equal(b.step, 5);
    assert_int_equal(b.evaluations, 6);
    x = -1.0f;
    sj_train_best_restore(&b);
    assert_true(x == 5.0f);
    sj_train_best_free(&b);
}

/* Scores after steps 1..8; 0.6 three times: step 4 has the better second
 * score (-0.5 against -1), and a NaN never wins. */
static const double SCRIPT0[9] = {0, 0.2, 0.6, NAN, 0.6, 0.4, 0.6, 0.1, 0.3};
static const double SCRIPT1[9] = {0, 0, -1, 0, -0.5, 0, -1, 0, 0};

static void keep_best_saves_the_best_evaluated_step(void **state)
{
    (void)state;
    toy t = toy_defaults(8);
    t.mark_params = 1;
    t.keep_best = 1;
    t.script0 = SCRIPT0;
    t.script1 = SCRIPT1;
    cJSON *summary = NULL;
    assert_int_equal(run_toy("best", &t, &summary), SJ_OK);
    assert_int_equal((int)number_at(summary, "kept_step"), 4);
    assert_float_equal(number_at(summary, "metric"), 0.6, 0);
    cJSON_Delete(summary);
    sj_lm_checkpoint *ck = load_out("best");
    for (size_t i = 0; i < ck->model->n_params; i++)
        assert_true(ck->model->params[i] == 4.0f);
    const cJSON *kb = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(ck->config, "provenance"), "keep_best");
    assert_int_equal((int)number_at(kb, "step"), 4);
    assert_int_equal((int)number_at(kb, "evaluations"), 8);
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(kb, "metric")->valuestring, "metric");
    sj_lm_checkpoint_free(ck);

    /* the same run without keep-best saves the last step */
    t.keep_best = 0;
    assert_int_equal(run_toy("last", &t, NULL), SJ_OK);
    ck = load_out("last");
    assert_true(ck->model->params[0] == 8.0f);
    assert_null(cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(ck->config, "provenance"), "keep_best"));
    sj_lm_checkpoint_free(ck);
}

/* With an evaluation before training (PPO's step 0) the starting model can
 * be the best: the saved parameters are then the base model's. */
static void keep_best_can_keep_the_starting_model(void **state)
{
    (void)state;
    static const double script[4] = {0.9, 0.1, 0.2, 0.3};
    toy t = toy_defaults(3);
    t.mark_params = 1;
    t.keep_best = 1;
    t.eval_at_start = 1;
    t.script0 = script;
    cJSON *summary = NULL;
    assert_int_equal(run_toy("start", &t, &summary), SJ_OK);
    assert_int_equal((int)number_at(summary, "kept_step"), 0);
    cJSON_Delete(summary);
    sj_error err;
    sj_lm_checkpoint *ck = load_out("start");
    sj_lm_checkpoint *base = sj_lm_load(F.base, NULL, 0, &err);
    assert_non_null(base);
    assert_memory_equal(ck->model->params, base->model->params,
                        base->model->n_params * sizeof *base->model->params);
    sj_lm_checkpoint_free(ck);
    sj_lm_checkpoint_free(base);
}

/* ---- resume ------------------------------------------------------------------------------ */

/* Evaluations at steps 2, 4, 6, 8 (and 1); the best is step 2, before the
 * first stop, so the kept copy has to travel through the checkpoints. */
static const double RESUME_SCRIPT[9] = {0, 0.1, 0.9, 0, 0.3, 0, 0.5, 0, 0.7};

static void stopped_and_resumed_run_matches_an_uninterrupted_one(void **state)
{
    (void)state;
    toy whole = toy_defaults(8);
    whole.eval_every = 2;
    whole.keep_best = 1;
    whole.script0 = RESUME_SCRIPT;
    cJSON *sw = NULL;
    assert_int_equal(run_toy("whole", &whole, &sw), SJ_OK);

    long stopped = -1;
    toy parts = whole;
    parts.run.stop_after = 3;
    parts.run.stopped_at = &stopped;
    assert_int_equal(run_toy("parts", &parts, NULL), SJ_OK);
    assert_int_equal(stopped, 3);
    parts.run.resume = 1;
    parts.run.stop_after = 5;
    assert_int_equal(run_toy("parts", &parts, NULL), SJ_OK);
    assert_int_equal(stopped, 5);
    parts.run.stop_after = 0;
    cJSON *sp = NULL;
    assert_int_equal(run_toy("parts", &parts, &sp), SJ_OK);
    assert_int_equal(stopped, 0);

    size_t na, nb;
    char *a = read_out_file("whole", "model.safetensors", &na);
    char *b = read_out_file("parts", "model.safetensors", &nb);
    assert_int_equal(na, nb);
    assert_memory_equal(a, b, na);
    free(a);
    free(b);
    a = read_out_file("whole", "train_log.jsonl", &na);
    b = read_out_file("parts", "train_log.jsonl", &nb);
    assert_int_equal(na, nb);
    assert_memory_equal(a, b, na);
    free(a);
    free(b);
    /* the kept step and the numbers carried through the checkpoints:
     * counter = 0 + 1 + ... + 7 = 28 */
    assert_int_equal((int)number_at(sw, "kept_step"), 2);
    assert_int_equal((int)number_at(sp, "kept_step"), 2);
    assert_float_equal(number_at(sp, "metric"), 0.9, 0);
    assert_float_equal(number_at(sw, "counter"), 28.0, 0);
    assert_float_equal(number_at(sp, "counter"), 28.0, 0);
    cJSON_Delete(sw);
    cJSON_Delete(sp);

    /* keep-best changed the saved model: the last step's differs */
    toy last = whole;
    last.keep_best = 0;
    assert_int_equal(run_toy("whole_last", &last, NULL), SJ_OK);
    a = read_out_file("whole", "model.safetensors", &na);
    b = read_out_file("whole_last", "model.safetensors", &nb);
    assert_int_equal(na, nb);
    assert_true(memcmp(a, b, na) != 0);
    free(a);
    free(b);
}

static void resume_refuses_another_keep_best(void **state)
{
    (void)state;
    toy t = toy_defaults(4);
    t.mark_params = 1;
    t.script0 = RESUME_SCRIPT;
    t.run.stop_after = 2;
    assert_int_equal(run_toy("other", &t, NULL), SJ_OK);
    t.run.stop_after = 0;
    t.run.resume = 1;
    t.keep_best = 1;
    assert_int_equal(run_toy("other", &t, NULL), SJ_ERR_INPUT);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(warmup_steps_are_the_floor_of_the_share),
        cmocka_unit_test(schedule_warms_up_then_decays),
        cmocka_unit_test(schedule_without_decay_is_constant_after_warmup),
        cmocka_unit_test(best_state_compares_scores_in_order),
        cmocka_unit_test(keep_best_saves_the_best_evaluated_step),
        cmocka_unit_test(keep_best_can_keep_the_starting_model),
        cmocka_unit_test(stopped_and_resumed_run_matches_an_uninterrupted_one),
        cmocka_unit_test(resume_refuses_another_keep_best),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
