/* The simulated texts need reading: many distinct responses, short enough
 * for a small language model, no single keyword that gives the score away,
 * yet the intent (hence the score) and the writer's register are there in
 * the words for a reader, or a model, to find. */
#include "test_helpers.h"

#include <ctype.h>
#include <math.h>

#include "sjtalign/sim.h"

#define MAX_WORDS 64
#define VOCAB 4096

static sj_sim_data *demo_like(size_t persons, uint64_t seed)
{
    sj_sim_config cfg;
    sj_sim_config_defaults(&cfg);
    cfg.n_persons = persons;
    cfg.seed = seed;
    sj_error err;
    sj_error_clear(&err);
    sj_sim_data *d = sj_sim_run(&cfg, &err);
    if (!d)
        fail_msg("%s", err.msg);
    sj_sim_config_free(&cfg);
    return d;
}

/* ---- a tiny bag-of-words ----------------------------------------------- */

typedef struct {
    char *word[VOCAB];
    size_t n;
} vocab;

static size_t vocab_id(vocab *v, const char *w)
{
    for (size_t i = 0; i < v->n; i++)
        if (strcmp(v->word[i], w) == 0)
            return i;
    assert_true(v->n < VOCAB);
    v->word[v->n] = strdup(w);
    return v->n++;
}

static void vocab_free(vocab *v)
{
    for (size_t i = 0; i < v->n; i++)
        free(v->word[i]);
}

/* Distinct lower-case words of a text, as vocabulary ids. */
static size_t words_of(vocab *v, const char *text, size_t *ids)
{
    size_t n = 0;
    char w[64];
    size_t len = 0;
    for (const char *c = text;; c++) {
        if (isalpha((unsigned char)*c) || *c == '\'') {
            if (len + 1 < sizeof w)
                w[len++] = (char)tolower((unsigned char)*c);
            continue;
        }
        if (len > 0) {
            w[len] = '\0';
            size_t id = vocab_id(v, w);
            int seen = 0;
            for (size_t i = 0; i < n; i++)
                seen |= ids[i] == id;
            if (!seen && n < MAX_WORDS)
                ids[n++] = id;
            len = 0;
        }
        if (!*c)
            break;
    }
    return n;
}

static size_t count_words(const char *text)
{
    size_t n = 0;
    int in_word = 0;
    for (const char *c = text; *c; c++) {
        int w = !isspace((unsigned char)*c);
        n += w && !in_word;
        in_word = w;
    }
    return n;
}

static int compare_strings(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static void responses_are_short_varied_and_plain(void **state)
{
    (void)state;
    sj_sim_data *d = demo_like(2000, 3);
    size_t cells = d->n_persons * d->n_items, min_w = 1000, max_w = 0, max_b = 0;
    double words = 0;
    const char **sorted = malloc(cells * sizeof *sorted);
    for (size_t c = 0; c < cells; c++) {
        const char *r = d->response[c];
        size_t nw = count_words(r), nb = strlen(r);
        min_w = nw < min_w ? nw : min_w;
        max_w = nw > max_w ? nw : max_w;
        max_b = nb > max_b ? nb : max_b;
        words += (double)nw;
        for (const char *p = r; *p; p++)
            assert_true(*p >= 32 && *p < 127);
        assert_true(isupper((unsigned char)r[0]));
        assert_true(r[nb - 1] == '.');
        sorted[c] = r;
    }
    qsort(sorted, cells, sizeof *sorted, compare_strings);
    size_t distinct = 0;
    for (size_t c = 0; c < cells; c++)
        distinct += c == 0 || strcmp(sorted[c], sorted[c - 1]) != 0;
    print_message("texts  %zu responses, %.3f distinct, words %zu..%zu (mean %.1f), max %zu "
                  "bytes\n",
                  cells, (double)distinct / (double)cells, min_w, max_w, words / (double)cells,
                  max_b);
    assert_true(min_w >= 6 && max_w <= 45 && max_b <= 250);
    assert_true((double)distinct / (double)cells >= 0.75);
    free(sorted);
    sj_sim_data_free(d);
}

/* Every phrasing in the bank is unique and none contains another, so the
 * phrasing found in a response names exactly one (level, intent, register):
 * the intent is recoverable from the words. */
static void each_response_holds_exactly_its_intent_phrasing(void **state)
{
    (void)state;
    sj_sim_data *d = demo_like(400, 4);
    for (size_t i = 0; i < d->n_persons; i++)
        for (size_t k = 0; k < d->n_items; k++) {
            size_t c = i * d->n_items + k;
            int found = 0;
            for (int level = 0; level < SJ_SIM_LEVELS; level++)
                for (size_t in = 0; in < sj_sim_n_intents(k, level); in++)
                    for (int reg = 0; reg < 2; reg++)
                        for (size_t w = 0; w < sj_sim_n_phrasings(k, level, in, reg); w++) {
                            if (!strstr(d->response[c], sj_sim_phrasing(k, level, in, reg, w)))
                                continue;
                            found++;
                            assert_int_equal(level, d->true_score[c]);
                            assert_string_equal(sj_sim_intent_label(k, level, in), d->intent[c]);
                            assert_int_equal(reg, d->focal[i]);
                        }
            if (found != 1)
                fail_msg("%zu phrasings found in '%s'", (size_t)found, d->response[c]);
        }
    sj_sim_data_free(d);
}

/* For every item and word, the best rule "word present -> score x, absent
 * -> score y" falls well short of perfect, and no word marks one score
 * level exactly (present in all of its responses and in no other). */
static void no_single_keyword_predicts_the_score(void **state)
{
    (void)state;
    sj_sim_data *d = demo_like(2000, 5);
    vocab v = {0};
    double worst = 0;
    for (size_t k = 0; k < d->n_items; k++) {
        /* count[word][present][score] */
        static double count[VOCAB][2][SJ_SIM_LEVELS];
        double level_n[SJ_SIM_LEVELS] = {0};
        memset(count, 0, sizeof count);
        for (size_t i = 0; i < d->n_persons; i++) {
            size_t c = i * d->n_items + k, ids[MAX_WORDS];
            int s = d->true_score[c];
            level_n[s] += 1;
            size_t n = words_of(&v, d->response[c], ids);
            for (size_t j = 0; j < n; j++)
                count[ids[j]][1][s] += 1;
        }
        for (size_t w = 0; w < v.n; w++) {
            double best_in = 0, best_out = 0;
            for (int s = 0; s < SJ_SIM_LEVELS; s++) {
                count[w][0][s] = level_n[s] - count[w][1][s];
                best_in = fmax(best_in, count[w][1][s]);
                best_out = fmax(best_out, count[w][0][s]);
            }
            double accuracy = (best_in + best_out) / (double)d->n_persons;
            worst = fmax(worst, accuracy);
            for (int s = 0; s < SJ_SIM_LEVELS; s++) {
                double present = 0;
                for (int t = 0; t < SJ_SIM_LEVELS; t++)
                    present += count[w][1][t];
                if (present > 0 && count[w][1][s] == present && present == level_n[s])
                    fail_msg("item %zu: '%s' marks score %d exactly", k, v.word[w], s);
            }
        }
    }
    print_message("texts  best single-keyword rule accuracy on any item: %.3f\n", worst);
    assert_true(worst < 0.65);
    vocab_free(&v);
    sj_sim_data_free(d);
}

/* Naive Bayes over words (add-one smoothing), trained on the first half of
 * the persons and tested on the second: the register is recognisable from
 * the words, and so is the true score of an item. */
typedef struct {
    double count[VOCAB][SJ_SIM_LEVELS];
    double total[SJ_SIM_LEVELS];
    double docs[SJ_SIM_LEVELS];
} bayes;

static int bayes_predict(const bayes *b, size_t n_vocab, const size_t *ids, size_t n, int classes)
{
    int best = 0;
    double best_ll = -INFINITY;
    for (int y = 0; y < classes; y++) {
        if (b->docs[y] == 0)
            continue;
        double ll = log(b->docs[y]);
        for (size_t j = 0; j < n; j++)
            ll += log((b->count[ids[j]][y] + 1) / (b->total[y] + (double)n_vocab));
        if (ll > best_ll) {
            best_ll = ll;
            best = y;
        }
    }
    return best;
}

static double bayes_accuracy(const sj_sim_data *d, vocab *v, long item, int classes)
{
    static bayes b;
    memset(&b, 0, sizeof b);
    size_t half = d->n_persons / 2, right = 0, tested = 0;
    for (size_t i = 0; i < d->n_persons; i++)
        for (size_t k = 0; k < d->n_items; k++) {
            if (item >= 0 && k != (size_t)item)
                continue;
            size_t c = i * d->n_items + k, ids[MAX_WORDS];
            int y = item >= 0 ? d->true_score[c] : d->focal[i];
            size_t n = words_of(v, d->response[c], ids);
            if (i < half) {
                b.docs[y] += 1;
                for (size_t j = 0; j < n; j++) {
                    b.count[ids[j]][y] += 1;
                    b.total[y] += 1;
                }
            } else {
                right += bayes_predict(&b, v->n, ids, n, classes) == y;
                tested++;
            }
        }
    return (double)right / (double)tested;
}

static void register_and_score_are_recoverable_from_the_words(void **state)
{
    (void)state;
    sj_sim_data *d = demo_like(2000, 6);
    vocab v = {0};
    double group = bayes_accuracy(d, &v, -1, 2);
    double worst_item = 1;
    for (size_t k = 0; k < d->n_items; k++)
        worst_item = fmin(worst_item, bayes_accuracy(d, &v, (long)k, SJ_SIM_LEVELS));
    print_message("texts  naive Bayes held-out accuracy: group %.3f, true score (worst item) "
                  "%.3f\n",
                  group, worst_item);
    assert_true(group >= 0.98);
    assert_true(worst_item >= 0.95);
    vocab_free(&v);
    sj_sim_data_free(d);
}

static void instrument_is_valid_and_parallel_forms_say_so(void **state)
{
    (void)state;
    sj_error err;
    sj_error_clear(&err);
    assert_int_equal(sj_sim_bank_size(), 10);
    sj_instrument *ins = sj_sim_instrument(12, &err);
    assert_non_null(ins);
    cJSON *doc = sj_instrument_to_json(ins);
    sj_instrument *back = sj_instrument_from_json("sim", doc, &err);
    if (!back)
        fail_msg("%s", err.msg);
    assert_int_equal(back->n_items, 12);
    assert_int_equal(back->score_min, 0);
    assert_int_equal(back->score_max, 3);
    assert_string_equal(back->items[0].id, "S01");
    assert_string_equal(back->items[11].id, "S12");
    assert_int_equal(back->items[3].n_rubric, 4);
    assert_non_null(strstr(back->items[10].scenario, "(Parallel form 2.)"));
    assert_int_equal(
        strncmp(back->items[10].scenario, back->items[0].scenario, strlen(back->items[0].scenario)),
        0);
    assert_null(strstr(back->items[9].scenario, "Parallel"));
    sj_instrument_free(back);
    sj_instrument_free(ins);
    cJSON_Delete(doc);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(responses_are_short_varied_and_plain),
        cmocka_unit_test(each_response_holds_exactly_its_intent_phrasing),
        cmocka_unit_test(no_single_keyword_predicts_the_score),
        cmocka_unit_test(register_and_score_are_recoverable_from_the_words),
        cmocka_unit_test(instrument_is_valid_and_parallel_forms_say_so),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
