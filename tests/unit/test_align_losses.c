/* The alignment losses and their gradients on small cases worked out by
 * hand (values from the formulas with a calculator), and gradients checked
 * against central finite differences. */
#include "test_helpers.h"

#include <math.h>

#include "sjtalign/align.h"

#define TOL 1e-12

/* cmocka 1.1 has no floating-point assertion. */
#define assert_double_equal(got, want, tol)                                                        \
    do {                                                                                           \
        double g_ = (got), w_ = (want);                                                            \
        if (!(fabs(g_ - w_) <= (tol)))                                                             \
            fail_msg("%s = %.17g, expected %.17g", #got, g_, w_);                                  \
    } while (0)

static void log_sigmoid_is_stable(void **state)
{
    (void)state;
    assert_double_equal(sja_log_sigmoid(0.0), -log(2.0), TOL);
    /* log σ(−800) = −800 − log(1 + e^−800) ≈ −800; naive forms give −inf. */
    assert_double_equal(sja_log_sigmoid(-800.0), -800.0, TOL);
    assert_double_equal(sja_log_sigmoid(800.0), 0.0, TOL);
}

static void bradley_terry_by_hand(void **state)
{
    (void)state;
    double dc, dr;
    /* z = 1: loss log(1 + e^−1), d/dr_c = −σ(−1) = −1/(1 + e). */
    double loss = sja_bt_loss(1.0, 0.0, 0.0, &dc, &dr);
    assert_double_equal(loss, 0.31326168751822286, TOL);
    assert_double_equal(dc, -0.2689414213699951, TOL);
    assert_double_equal(dr, 0.2689414213699951, TOL);
    /* A margin of 0.5 leaves z = 0.5. */
    loss = sja_bt_loss(1.0, 0.0, 0.5, &dc, &dr);
    assert_double_equal(loss, 0.4740769841801067, TOL);
    assert_double_equal(dc, -0.3775406687981454, TOL);
    /* Equal rewards: log 2 and gradient −1/2. */
    loss = sja_bt_loss(0.3, 0.3, 0.0, &dc, &dr);
    assert_double_equal(loss, log(2.0), TOL);
    assert_double_equal(dc, -0.5, TOL);
}

static void dpo_by_hand(void **state)
{
    (void)state;
    double dc, dr;
    /* β = 0.1, log-ratios +1 (chosen) and −1 (rejected): z = 0.2. */
    double loss = sja_dpo_loss(0.1, -1.0, -2.0, -3.0, -2.0, &dc, &dr);
    assert_double_equal(loss, 0.5981388693815918, TOL);
    assert_double_equal(dc, -0.04501660026875222, TOL);
    assert_double_equal(dr, 0.04501660026875222, TOL);
    /* At the reference the loss is log 2 whatever β. */
    loss = sja_dpo_loss(5.0, -1.0, -1.0, -4.0, -4.0, &dc, &dr);
    assert_double_equal(loss, log(2.0), TOL);
    assert_double_equal(dc, -2.5, TOL);
}

static void ppo_policy_loss_by_hand(void **state)
{
    (void)state;
    double d;
    int clipped;
    /* Ratio 1, advantage 2: loss −2, gradient −A·ρ = −2. */
    assert_double_equal(sja_ppo_policy_loss(-1.0, -1.0, 2.0, 0.2, &d, &clipped), -2.0, TOL);
    assert_double_equal(d, -2.0, TOL);
    assert_int_equal(clipped, 0);
    /* ρ = e^0.5 = 1.6487 > 1.2 with A > 0: the clipped branch −1.2·2 wins. */
    assert_double_equal(sja_ppo_policy_loss(-0.5, -1.0, 2.0, 0.2, &d, &clipped), -2.4, TOL);
    assert_double_equal(d, 0.0, TOL);
    assert_int_equal(clipped, 1);
    /* Same ratio with A < 0: the unclipped ρ·1 = 1.6487 is the larger. */
    assert_double_equal(sja_ppo_policy_loss(-0.5, -1.0, -1.0, 0.2, &d, &clipped),
                        1.6487212707001282, TOL);
    assert_double_equal(d, 1.6487212707001282, TOL);
    assert_int_equal(clipped, 0);
    /* ρ = e^−0.5 = 0.6065 < 0.8, A > 0: unclipped −0.6065 is the larger. */
    assert_double_equal(sja_ppo_policy_loss(-1.5, -1.0, 1.0, 0.2, &d, &clipped),
                        -0.6065306597126334, TOL);
    assert_double_equal(d, -0.6065306597126334, TOL);
    assert_int_equal(clipped, 0);
    /* Same ratio, A < 0: clipped 0.8 wins and the gradient vanishes. */
    assert_double_equal(sja_ppo_policy_loss(-1.5, -1.0, -1.0, 0.2, &d, &clipped), 0.8, TOL);
    assert_double_equal(d, 0.0, TOL);
    assert_int_equal(clipped, 1);
}

static void ppo_value_loss_by_hand(void **state)
{
    (void)state;
    double d;
    int clipped;
    /* v = 1.5 moved beyond old 1 ± 0.2 toward nothing useful: return 2,
     * clipped value 1.2 has error 0.8 > 0.5, loss ½·0.64, no gradient. */
    assert_double_equal(sja_ppo_value_loss(1.5, 1.0, 2.0, 0.2, &d, &clipped), 0.32, TOL);
    assert_double_equal(d, 0.0, TOL);
    assert_int_equal(clipped, 1);
    /* Inside the band both errors are −1.1: loss 0.605, gradient −1.1. */
    assert_double_equal(sja_ppo_value_loss(0.9, 1.0, 2.0, 0.2, &d, &clipped), 0.605, TOL);
    assert_double_equal(d, -1.1, TOL);
    assert_int_equal(clipped, 0);
    /* Return 0: unclipped error 1.5 beats clipped 1.2; loss 1.125, d 1.5. */
    assert_double_equal(sja_ppo_value_loss(1.5, 1.0, 0.0, 0.2, &d, &clipped), 1.125, TOL);
    assert_double_equal(d, 1.5, TOL);
    assert_int_equal(clipped, 0);
}

static void gae_on_known_rewards(void **state)
{
    (void)state;
    /* γ = 1, λ = 0.95, rewards (0, 0, 1), values (0.5, 0.6, 0.7):
     * δ = (0.1, 0.1, 0.3); A2 = 0.3, A1 = 0.1 + 0.95·0.3 = 0.385,
     * A0 = 0.1 + 0.95·0.385 = 0.46575; returns A + V. */
    const double r[3] = {0, 0, 1}, v[3] = {0.5, 0.6, 0.7};
    double a[3], ret[3];
    sja_gae(r, v, 3, 1.0, 0.95, a, ret);
    assert_double_equal(a[2], 0.3, TOL);
    assert_double_equal(a[1], 0.385, TOL);
    assert_double_equal(a[0], 0.46575, TOL);
    assert_double_equal(ret[0], 0.96575, TOL);
    assert_double_equal(ret[1], 0.985, TOL);
    assert_double_equal(ret[2], 1.0, TOL);
    /* λ = 1 gives Monte-Carlo advantages: sum of future rewards − V. */
    sja_gae(r, v, 3, 1.0, 1.0, a, ret);
    assert_double_equal(a[0], 0.5, TOL);
    assert_double_equal(a[1], 0.4, TOL);
}

static void kl_penalty_rewards(void **state)
{
    (void)state;
    const double lp[2] = {-1.0, -2.0}, ref[2] = {-1.5, -1.0};
    double r[2];
    sja_kl_rewards(lp, ref, 2, 0.1, 2.0, r);
    assert_double_equal(r[0], -0.05, TOL);     /* −0.1·(−1 + 1.5) */
    assert_double_equal(r[1], 0.1 + 2.0, TOL); /* −0.1·(−2 + 1) + score */
}

static void whitening_as_trl(void **state)
{
    (void)state;
    /* mean 2.5, unbiased variance 5/3. */
    double x[4] = {1, 2, 3, 4};
    sja_whiten(x, 4, 0);
    assert_double_equal(x[0], -1.1618950003765403, 1e-9);
    assert_double_equal(x[1], -0.38729833345884673, 1e-9);
    assert_double_equal(x[3], 1.1618950003765403, 1e-9);
    double y[4] = {1, 2, 3, 4};
    sja_whiten(y, 4, 1);
    assert_double_equal(y[0], 2.5 - 1.1618950003765403, 1e-9);
}

static void adaptive_kl_controller(void **state)
{
    (void)state;
    /* KL 9 vs target 6: error 0.5 clipped to 0.2; 256 rollouts over a
     * horizon of 10000 multiply β by 1 + 0.2·0.0256. */
    sja_kl_control c = {0.1, 6.0, 10000.0};
    sja_kl_control_update(&c, 9.0, 256);
    assert_double_equal(c.value, 0.100512, TOL);
    c.value = 0.1;
    sja_kl_control_update(&c, 3.0, 256);
    assert_double_equal(c.value, 0.099488, TOL);
    c.value = 0.1;
    sja_kl_control_update(&c, 6.6, 256);
    assert_double_equal(c.value, 0.1 * (1 + 0.1 * 0.0256), TOL);
}

/* A tie: half a win each way. At d = r_a − r_b = 1 the loss is
 * ½[log(1 + e^−1) + log(1 + e)] = ½[0.31326168751822286 + 1.3132616875182228]
 * and its gradient σ(1) − ½ = 0.7310585786300049 − ½. */
static void tie_loss_by_hand(void **state)
{
    (void)state;
    double da, db;
    double loss = sja_bt_tie_loss(1.0, 0.0, &da, &db);
    assert_double_equal(loss, 0.8132616875182228, TOL);
    assert_double_equal(da, 0.2310585786300049, TOL);
    assert_double_equal(db, -0.2310585786300049, TOL);
    /* equal rewards: log 2, the smallest the tie loss gets, and no pull */
    loss = sja_bt_tie_loss(0.3, 0.3, &da, &db);
    assert_double_equal(loss, log(2.0), TOL);
    assert_double_equal(da, 0.0, TOL);
    /* symmetric in the two candidates */
    assert_double_equal(sja_bt_tie_loss(-2.0, 1.5, NULL, NULL),
                        sja_bt_tie_loss(1.5, -2.0, NULL, NULL), TOL);
    /* DPO: β = 0.1, log-ratios +1 (a) and −1 (b), z = 0.2: the loss is
     * ½[log(1 + e^−0.2) + log(1 + e^0.2)] = ½[0.5981388693815918 +
     * 0.7981388693815918], ∂/∂π_a = 0.1 (σ(0.2) − ½) = 0.1 × 0.049833997312478. */
    loss = sja_dpo_tie_loss(0.1, -1.0, -2.0, -3.0, -2.0, &da, &db);
    assert_double_equal(loss, 0.6981388693815918, TOL);
    assert_double_equal(da, 0.004983399731247795, TOL);
    assert_double_equal(db, -0.004983399731247795, TOL);
}

/* Two judgments: a win (1 over 0, weight 2) and a tie (0.3 and 0.3,
 * weight 0.5). Mean loss [2 log(1 + e^−1) + 0.5 log 2] / 2; the margin
 * shifts the win only: [2 log(1 + e^−0.5) + 0.5 log 2] / 2. */
static void weighted_batch_loss_by_hand(void **state)
{
    (void)state;
    const double first[2] = {1.0, 0.3}, second[2] = {0.0, 0.3}, w[2] = {2.0, 0.5};
    const unsigned char tie[2] = {0, 1};
    double df[2], ds[2];
    double loss = sja_bt_batch_loss(first, second, tie, w, 2, 0.0, df, ds);
    assert_double_equal(loss, 0.48654848265820916, TOL);
    /* 2 × (−σ(−1)) / 2 */
    assert_double_equal(df[0], -0.2689414213699951, TOL);
    assert_double_equal(ds[0], 0.2689414213699951, TOL);
    assert_double_equal(df[1], 0.0, TOL);
    loss = sja_bt_batch_loss(first, second, tie, w, 2, 0.5, NULL, NULL);
    assert_double_equal(loss, 0.647363779320093, TOL);
    /* without weights and ties: the plain mean of the win losses */
    loss = sja_bt_batch_loss(first, second, NULL, NULL, 2, 0.0, NULL, NULL);
    assert_double_equal(loss, (0.31326168751822286 + log(2.0)) / 2, TOL);
}

/* Central differences of each loss agree with its analytic gradient. */
static double fd(double (*f)(double, const double *), double x, const double *p)
{
    double h = 1e-6;
    return (f(x + h, p) - f(x - h, p)) / (2 * h);
}

static double bt_of_chosen(double x, const double *p)
{
    return sja_bt_loss(x, p[0], p[1], NULL, NULL);
}

static double dpo_of_rejected(double x, const double *p)
{
    return sja_dpo_loss(p[0], p[1], p[2], x, p[3], NULL, NULL);
}

static double ppo_of_logp(double x, const double *p)
{
    return sja_ppo_policy_loss(x, p[0], p[1], 0.2, NULL, NULL);
}

static double value_of_v(double x, const double *p)
{
    return sja_ppo_value_loss(x, p[0], p[1], 0.2, NULL, NULL);
}

static double tie_of_a(double x, const double *p)
{
    return sja_bt_tie_loss(x, p[0], NULL, NULL);
}

static double tie_of_b(double x, const double *p)
{
    return sja_bt_tie_loss(p[0], x, NULL, NULL);
}

static double dpo_tie_of_a(double x, const double *p)
{
    return sja_dpo_tie_loss(p[0], x, p[1], p[2], p[3], NULL, NULL);
}

static double dpo_tie_of_b(double x, const double *p)
{
    return sja_dpo_tie_loss(p[0], p[1], p[2], x, p[3], NULL, NULL);
}

/* the weighted batch loss as a function of r_second[k] (p[0] = k) */
static double batch_of_second(double x, const double *p)
{
    double first[3] = {0.4, -1.2, 2.0}, second[3] = {1.1, -0.2, 0.5};
    const double w[3] = {0.7, 1.6, 0.2};
    const unsigned char tie[3] = {1, 0, 1};
    second[(int)p[0]] = x;
    return sja_bt_batch_loss(first, second, tie, w, 3, 0.25, NULL, NULL);
}

static void tie_gradients_match_finite_differences(void **state)
{
    (void)state;
    double da, db;
    const double pa[1] = {-0.9};
    sja_bt_tie_loss(1.4, pa[0], &da, &db);
    assert_double_equal(da, fd(tie_of_a, 1.4, pa), 1e-8);
    const double pb[1] = {1.4};
    assert_double_equal(db, fd(tie_of_b, -0.9, pb), 1e-8);
    const double pd[4] = {0.5, -3.0, -2.5, -4.0};
    sja_dpo_tie_loss(pd[0], -2.2, pd[1], pd[2], pd[3], &da, &db);
    assert_double_equal(da, fd(dpo_tie_of_a, -2.2, pd), 1e-8);
    const double pe[4] = {0.5, -2.2, -3.0, -4.0};
    assert_double_equal(db, fd(dpo_tie_of_b, -2.5, pe), 1e-8);
    double first[3] = {0.4, -1.2, 2.0}, second[3] = {1.1, -0.2, 0.5}, df[3], ds[3];
    const double w[3] = {0.7, 1.6, 0.2};
    const unsigned char tie[3] = {1, 0, 1};
    sja_bt_batch_loss(first, second, tie, w, 3, 0.25, df, ds);
    for (int k = 0; k < 3; k++) {
        const double pk[1] = {k};
        assert_double_equal(ds[k], fd(batch_of_second, second[k], pk), 1e-8);
    }
}

static void gradients_match_finite_differences(void **state)
{
    (void)state;
    double d, d2;
    const double pb[2] = {-0.7, 0.3};
    sja_bt_loss(1.3, pb[0], pb[1], &d, &d2);
    assert_double_equal(d, fd(bt_of_chosen, 1.3, pb), 1e-8);
    const double pd[4] = {0.5, -3.0, -2.5, -4.0};
    sja_dpo_loss(pd[0], pd[1], pd[2], -3.3, pd[3], &d2, &d);
    assert_double_equal(d, fd(dpo_of_rejected, -3.3, pd), 1e-8);
    const double pp[2] = {-2.0, 0.7};
    sja_ppo_policy_loss(-2.1, pp[0], pp[1], 0.2, &d, NULL); /* ρ = 0.905, inside */
    assert_double_equal(d, fd(ppo_of_logp, -2.1, pp), 1e-8);
    const double pv[2] = {1.0, -0.4};
    sja_ppo_value_loss(0.95, pv[0], pv[1], 0.2, &d, NULL);
    assert_double_equal(d, fd(value_of_v, 0.95, pv), 1e-8);
    sja_ppo_value_loss(1.7, pv[0], pv[1], 0.2, &d, NULL); /* unclipped branch outside */
    assert_double_equal(d, fd(value_of_v, 1.7, pv), 1e-8);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(log_sigmoid_is_stable),
        cmocka_unit_test(bradley_terry_by_hand),
        cmocka_unit_test(dpo_by_hand),
        cmocka_unit_test(ppo_policy_loss_by_hand),
        cmocka_unit_test(ppo_value_loss_by_hand),
        cmocka_unit_test(gae_on_known_rewards),
        cmocka_unit_test(kl_penalty_rewards),
        cmocka_unit_test(whitening_as_trl),
        cmocka_unit_test(adaptive_kl_controller),
        cmocka_unit_test(gradients_match_finite_differences),
        cmocka_unit_test(tie_loss_by_hand),
        cmocka_unit_test(weighted_batch_loss_by_hand),
        cmocka_unit_test(tie_gradients_match_finite_differences),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
