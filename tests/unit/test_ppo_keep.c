/* PPO's keep-best rule under a KL budget (sja_ppo_keep_score) through the
 * keep-best state of the training loop (sj_train_best_offer), on hand-made
 * sequences of fixed-set evaluations (step, eval/reward, eval/kl) whose
 * kept step is read off by hand. */
#include "test_helpers.h"

#include <math.h>

#include "sjtalign/align.h"
#include "sjtalign/lm.h"

typedef struct {
    long step;
    double reward, kl;
} evaluation;

/* The step kept from the sequence, and how many evaluations were within
 * the budget. */
static long kept_step(const evaluation *e, int n, double budget, int *within)
{
    sj_train_best b;
    sj_train_best_init(&b);
    *within = 0;
    for (int i = 0; i < n; i++) {
        double score[2];
        int in = sja_ppo_keep_score(e[i].reward, e[i].kl, budget, score);
        *within += in && !isnan(score[0]);
        sj_train_best_offer(&b, e[i].step, score);
    }
    long step = b.step;
    sj_train_best_free(&b);
    return step;
}

/* Shaped like the demo's curve: the reward keeps rising with the KL. */
static const evaluation DEMO[] = {{0, -0.09, 0.00},  {20, 0.15, 0.11}, {40, 0.16, 0.13},
                                  {60, 0.18, 0.16},  {80, 0.17, 0.14}, {100, 0.22, 0.19},
                                  {120, 0.20, 0.151}};

static void best_reward_within_the_budget(void **state)
{
    (void)state;
    int within;
    /* within 0.15: steps 0, 20, 40 and 80; the best reward of those is
     * 0.17 at step 80 (60 and 100 have more reward but exceed the budget;
     * 120 exceeds it by 0.001) */
    assert_int_equal(kept_step(DEMO, 7, 0.15, &within), 80);
    assert_int_equal(within, 4);
    /* within 0.16: 60 (0.18) and 120 (0.20) join; 120 has the more reward */
    assert_int_equal(kept_step(DEMO, 7, 0.16, &within), 120);
    assert_int_equal(within, 6);
    /* the budget is inclusive: within 0.151, 120 joins but 60 does not */
    assert_int_equal(kept_step(DEMO, 7, 0.151, &within), 120);
    assert_int_equal(within, 5);
    /* within 0.05: only the start */
    assert_int_equal(kept_step(DEMO, 7, 0.05, &within), 0);
    assert_int_equal(within, 1);
}

static void no_budget_keeps_the_best_reward(void **state)
{
    (void)state;
    int within;
    assert_int_equal(kept_step(DEMO, 7, 0.0, &within), 100);
    assert_int_equal(within, 7);
    /* a tie on the reward goes to the lower KL, then to the earlier step */
    const evaluation tie[] = {{10, 0.3, 0.2}, {20, 0.3, 0.1}, {30, 0.3, 0.1}};
    assert_int_equal(kept_step(tie, 3, 0.0, &within), 20);
}

static void none_within_keeps_the_smallest_kl(void **state)
{
    (void)state;
    int within;
    const evaluation far[] = {{10, 0.1, 0.30}, {20, 0.2, 0.25}, {30, 0.3, 0.40}};
    assert_int_equal(kept_step(far, 3, 0.2, &within), 20);
    assert_int_equal(within, 0);
    /* one evaluation within beats any number beyond, however rewarded */
    const evaluation one[] = {{10, 0.9, 0.30}, {20, -0.5, 0.19}, {30, 0.8, 0.21}};
    assert_int_equal(kept_step(one, 3, 0.2, &within), 20);
    assert_int_equal(within, 1);
}

static void ties_and_nan(void **state)
{
    (void)state;
    int within;
    /* equal rewards within the budget: the earlier step */
    const evaluation tie[] = {{10, 0.2, 0.05}, {20, 0.2, 0.01}};
    assert_int_equal(kept_step(tie, 2, 0.1, &within), 10);
    /* an evaluation without a number never wins, nor counts as within */
    const evaluation gap[] = {{10, 0.1, 0.05}, {20, NAN, 0.01}, {30, 0.5, NAN}};
    assert_int_equal(kept_step(gap, 3, 0.1, &within), 10);
    assert_int_equal(within, 1);
    double score[2];
    assert_int_equal(sja_ppo_keep_score(0.4, 0.1, 0.2, score), 1);
    assert_true(score[0] == 1.0 && score[1] == 0.4);
    assert_int_equal(sja_ppo_keep_score(0.4, 0.3, 0.2, score), 0);
    assert_true(score[0] == 0.0 && score[1] == -0.3);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(best_reward_within_the_budget),
        cmocka_unit_test(no_budget_keeps_the_best_reward),
        cmocka_unit_test(none_within_keeps_the_smallest_kl),
        cmocka_unit_test(ties_and_nan),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
