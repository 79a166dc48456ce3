/* A small model learns English: pre-trained on the GNU GPL version 3 (as
 * shipped by Debian in /usr/share/common-licenses), its loss on a text it
 * never saw, the Apache License 2.0, falls well below the loss of the same
 * model before training. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "sjtalign/io.h"
#include "sjtalign/lm.h"

#define TRAIN_TEXT "/usr/share/common-licenses/GPL-3"
#define HELD_OUT_TEXT "/usr/share/common-licenses/Apache-2.0"

/* Paragraphs of a text file as documents. */
static size_t paragraphs(char *text, char **docs, size_t max)
{
    size_t n = 0;
    char *p = text;
    while (*p && n < max) {
        char *end = strstr(p, "\n\n");
        if (end)
            *end = '\0';
        if (strlen(p) > 20)
            docs[n++] = p;
        if (!end)
            break;
        p = end + 2;
    }
    return n;
}

/* Mean loss per token over windows of ctx + 1 tokens of a text. */
static double text_loss(sj_lm *m, const sj_tokenizer *tok, const char *text)
{
    int32_t *ids;
    size_t n;
    sj_error err;
    assert_int_equal(sj_tokenizer_encode(tok, text, strlen(text), &ids, &n, &err), SJ_OK);
    int T = m->cfg.ctx;
    sj_lm_batch *b = sj_lm_batch_new(8, T);
    double total = 0.0, count = 0.0;
    for (size_t at = 0; at + T + 1 <= n && count < 8.0 * 8 * T;) {
        sj_lm_batch_clear(b);
        int rows = 0;
        while (rows < 8 && at + T + 1 <= n) {
            assert_int_equal(sj_lm_batch_set(b, rows++, ids + at, T + 1, NULL, &err), SJ_OK);
            at += (size_t)T;
        }
        double loss;
        assert_int_equal(sj_lm_ce_loss(m, b, &loss, &err), SJ_OK);
        total += loss * rows * T;
        count += rows * T;
    }
    sj_lm_batch_free(b);
    free(ids);
    return total / count;
}

static void test_learns_english(void **state)
{
    (void)state;
    char *train, *held;
    size_t len;
    sj_error err;
    if (sj_read_file(TRAIN_TEXT, &train, &len, &err) != SJ_OK ||
        sj_read_file(HELD_OUT_TEXT, &held, &len, &err) != SJ_OK) {
        printf("# SKIP: %s or %s is missing (Debian's base-files ships them)\n", TRAIN_TEXT,
               HELD_OUT_TEXT);
        skip();
    }
    /* One thread: on a busy CI machine small parallel regions wait on each
     * other; test_lm_grad checks that threaded and serial results agree. */
    sj_lm_set_threads(1);
    char *docs[400];
    size_t n = paragraphs(train, docs, 400);
    assert_true(n > 50);

    char dir[] = "/tmp/sjtalign_learns_XXXXXX";
    assert_non_null(mkdtemp(dir));
    char *out = sj_path_join(dir, "model");
    sj_pretrain_opts o = sj_pretrain_defaults();
    o.model = (sj_lm_config){.vocab = 400, .ctx = 32, .layers = 2, .heads = 2, .embd = 48};
    o.steps = 400;
    o.batch = 8;
    o.lr = 3e-3;
    o.seed = 3;
    o.save_every = 0;
    o.quiet = 1;
    double val;
    assert_int_equal(
        sj_pretrain((const char *const *)docs, NULL, n, &o, out, 0, NULL, &val, NULL, &err), SJ_OK);
    sj_lm_checkpoint *ck = sj_lm_load(out, NULL, 0, &err);
    assert_non_null(ck);
    /* the same architecture before training (GPT-2 initialisation) */
    gsl_rng *rng = sj_rng_new(99);
    sj_lm *fresh = sj_lm_new(&ck->model->cfg, rng, &err);
    double before = text_loss(fresh, ck->tok, held);
    double after = text_loss(ck->model, ck->tok, held);
    printf("# held-out Apache-2.0 loss: %.3f nats/token before training, %.3f after 400 steps "
           "on GPL-3 (GPL-3 validation paragraphs: %.3f); uniform would be ln %d = %.3f\n",
           before, after, val, ck->model->cfg.vocab, log(ck->model->cfg.vocab));
    assert_true(after < before - 1.5);
    assert_true(after < 0.8 * before);
    sj_lm_free(fresh);
    sj_rng_free(rng);
    sj_lm_checkpoint_free(ck);
    char cmd[200];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
    free(out);
    free(train);
    free(held);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_learns_english)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
