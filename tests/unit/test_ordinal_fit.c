/* The general cumulative-logit fit (sj_ordinal_fit) against hand-worked
 * maximum-likelihood estimates: a 2x2 table (two categories = ordinary
 * logistic regression, closed form), three categories without covariates
 * (thresholds = logits of the cumulative proportions), a ridge-penalised
 * symmetric case (its stationarity equation solved here by bisection), a
 * finite-difference check of the gradient and the input errors. */
#include "test_helpers.h"

#include <math.h>

#include "sjtalign/stats.h"

static void close_to(double got, double want, double tol)
{
    if (!(fabs(got - want) <= tol))
        fail_msg("got %.17g, want %.17g", got, want);
}

/* x = 0: three in category 0, one in 1; x = 1: one in 0, three in 1. By
 * hand: logistic(theta) = 3/4 gives theta = log 3; logistic(theta - beta)
 * = 1/4 gives beta = 2 log 3; loglik = 6 log(3/4) + 2 log(1/4). */
static void test_two_by_two(void **state)
{
    (void)state;
    const double x[] = {0, 0, 0, 0, 1, 1, 1, 1};
    const int y[] = {0, 0, 0, 1, 0, 1, 1, 1};
    sj_ordinal_model m;
    sj_error err;
    sj_error_clear(&err);
    assert_int_equal(sj_ordinal_fit(x, 8, 1, y, 2, 0.0, &m, &err), SJ_OK);
    assert_true(m.converged);
    close_to(m.thresholds[0], log(3), 1e-9);
    close_to(m.beta[0], 2 * log(3), 1e-9);
    close_to(m.loglik, 6 * log(0.75) + 2 * log(0.25), 1e-10);
    close_to(m.penalised, m.loglik, 0);
    sj_ordinal_model_free(&m);
}

/* Counts 2, 3, 5 and no covariates: thresholds logit(0.2) = -log 4 and
 * logit(0.5) = 0; loglik = 2 log .2 + 3 log .3 + 5 log .5. */
static void test_three_categories_marginals(void **state)
{
    (void)state;
    const int y[] = {0, 0, 1, 1, 1, 2, 2, 2, 2, 2};
    sj_ordinal_model m;
    sj_error err;
    sj_error_clear(&err);
    assert_int_equal(sj_ordinal_fit(NULL, 10, 0, y, 3, 1.0, &m, &err), SJ_OK);
    assert_true(m.converged);
    close_to(m.thresholds[0], -log(4), 1e-12);
    close_to(m.thresholds[1], 0, 1e-12);
    close_to(m.loglik, 2 * log(0.2) + 3 * log(0.3) + 5 * log(0.5), 1e-12);
    double p[3];
    sj_ordinal_probs(m.thresholds, 3, 0, p);
    close_to(p[0], 0.2, 1e-12);
    close_to(p[1], 0.3, 1e-12);
    close_to(p[2], 0.5, 1e-12);
    sj_ordinal_model_free(&m);
}

static double logistic(double z)
{
    return 1 / (1 + exp(-z));
}

/* x = +1: one in 0, three in 1; x = -1: three in 0, one in 1. The model is
 * symmetric, so theta = 0; the penalised log-likelihood in beta is
 * 6 log s(b) + 2 log s(-b) - r b^2 / 2, stationary where 6 - 8 s(b) = r b.
 * Without the penalty b = log 3; with r = 1 the root lies in (0, log 3). */
static void test_ridge_symmetric(void **state)
{
    (void)state;
    const double x[] = {1, 1, 1, 1, -1, -1, -1, -1};
    const int y[] = {0, 1, 1, 1, 0, 0, 0, 1};
    double lo = 0, hi = log(3);
    for (int i = 0; i < 200; i++) {
        double mid = (lo + hi) / 2;
        if (6 - 8 * logistic(mid) - mid > 0)
            lo = mid;
        else
            hi = mid;
    }
    sj_ordinal_model m;
    sj_error err;
    sj_error_clear(&err);
    assert_int_equal(sj_ordinal_fit(x, 8, 1, y, 2, 1.0, &m, &err), SJ_OK);
    assert_true(m.converged);
    close_to(m.thresholds[0], 0, 1e-10);
    close_to(m.beta[0], lo, 1e-9);
    close_to(m.penalised, m.loglik - m.beta[0] * m.beta[0] / 2, 1e-12);
    sj_ordinal_model_free(&m);
    assert_int_equal(sj_ordinal_fit(x, 8, 1, y, 2, 0.0, &m, &err), SJ_OK);
    close_to(m.beta[0], log(3), 1e-9);
    sj_ordinal_model_free(&m);
}

/* Central differences of the objective agree with its gradient at a point
 * away from the optimum, for 4 categories and 2 covariates with a ridge. */
static void test_gradient_finite_differences(void **state)
{
    (void)state;
    const double x[] = {0.5, -1, 1.5, 0.2, -0.3, 0.8, 2.0, -1.2, -1.0, 0.1, 0.7, 0.7};
    const int y[] = {0, 3, 1, 2, 0, 3};
    const double params[] = {-0.7, 0.1, 0.9, 0.4, -0.6};
    double grad[5];
    double ll = sj_ordinal_objective(x, 6, 2, y, 4, 0.5, params, grad);
    assert_true(isfinite(ll));
    for (int a = 0; a < 5; a++) {
        double up[5], dn[5], h = 1e-5;
        memcpy(up, params, sizeof up);
        memcpy(dn, params, sizeof dn);
        up[a] += h;
        dn[a] -= h;
        double fd = (sj_ordinal_objective(x, 6, 2, y, 4, 0.5, up, NULL) -
                     sj_ordinal_objective(x, 6, 2, y, 4, 0.5, dn, NULL)) /
                    (2 * h);
        close_to(grad[a], fd, 1e-7);
    }
    /* Thresholds out of order are outside the parameter space. */
    const double bad[] = {0.5, 0.1, 0.9, 0.4, -0.6};
    assert_true(isinf(sj_ordinal_objective(x, 6, 2, y, 4, 0.5, bad, NULL)));
    /* The fit's gradient vanishes at its estimates. */
    sj_ordinal_model m;
    sj_error err;
    sj_error_clear(&err);
    assert_int_equal(sj_ordinal_fit(x, 6, 2, y, 4, 0.5, &m, &err), SJ_OK);
    assert_true(m.converged);
    double est[5];
    memcpy(est, m.thresholds, 3 * sizeof(double));
    memcpy(est + 3, m.beta, 2 * sizeof(double));
    sj_ordinal_objective(x, 6, 2, y, 4, 0.5, est, grad);
    for (int a = 0; a < 5; a++)
        close_to(grad[a], 0, 1e-8);
    sj_ordinal_model_free(&m);
}

/* Weights: the 2x2 table of test_two_by_two as four weighted rows (weight
 * = the count) gives its hand-worked estimates, theta = log 3 and beta =
 * 2 log 3; half weights on two rows of category 0 against weight 1 on one
 * row of category 1 (no covariates) give P(0) = 1/2, theta = 0 and loglik
 * 2 log(1/2). */
static void test_weights_as_counts(void **state)
{
    (void)state;
    const double x[] = {0, 0, 1, 1};
    const int y[] = {0, 1, 0, 1};
    const double w[] = {3, 1, 1, 3};
    sj_ordinal_model m;
    sj_error err;
    sj_error_clear(&err);
    assert_int_equal(sj_ordinal_fit_weighted(x, 4, 1, y, w, 2, 0.0, &m, &err), SJ_OK);
    assert_true(m.converged);
    close_to(m.thresholds[0], log(3), 1e-9);
    close_to(m.beta[0], 2 * log(3), 1e-9);
    close_to(m.loglik, 6 * log(0.75) + 2 * log(0.25), 1e-10);
    sj_ordinal_model_free(&m);
    const int y3[] = {0, 0, 1};
    const double w3[] = {0.5, 0.5, 1};
    assert_int_equal(sj_ordinal_fit_weighted(NULL, 3, 0, y3, w3, 2, 1.0, &m, &err), SJ_OK);
    close_to(m.thresholds[0], 0, 1e-12);
    close_to(m.loglik, 2 * log(0.5), 1e-12);
    sj_ordinal_model_free(&m);
}

/* A weight of 2 is the row counted twice: the data of the gradient test
 * with its second row duplicated, against the same data with that row
 * weighted 2 (the same objective, gradient and estimates). */
static void test_weight_two_is_duplicate(void **state)
{
    (void)state;
    const double x[] = {0.5, -1, 1.5, 0.2, -0.3, 0.8, 2.0, -1.2, -1.0, 0.1, 0.7, 0.7};
    const int y[] = {0, 3, 1, 2, 0, 3};
    const double w[] = {1, 2, 1, 1, 1, 1};
    const double xd[] = {0.5, -1, 1.5, 0.2, 1.5, 0.2, -0.3, 0.8, 2.0, -1.2, -1.0, 0.1, 0.7, 0.7};
    const int yd[] = {0, 3, 3, 1, 2, 0, 3};
    const double params[] = {-0.7, 0.1, 0.9, 0.4, -0.6};
    double g1[5], g2[5];
    double l1 = sj_ordinal_objective_weighted(x, 6, 2, y, w, 4, 0.5, params, g1, NULL);
    double l2 = sj_ordinal_objective(xd, 7, 2, yd, 4, 0.5, params, g2);
    close_to(l1, l2, 1e-13);
    for (int a = 0; a < 5; a++)
        close_to(g1[a], g2[a], 1e-13);
    sj_ordinal_model m1, m2;
    sj_error err;
    sj_error_clear(&err);
    assert_int_equal(sj_ordinal_fit_weighted(x, 6, 2, y, w, 4, 0.5, &m1, &err), SJ_OK);
    assert_int_equal(sj_ordinal_fit(xd, 7, 2, yd, 4, 0.5, &m2, &err), SJ_OK);
    assert_true(m1.converged && m2.converged);
    for (int k = 0; k < 3; k++)
        close_to(m1.thresholds[k], m2.thresholds[k], 1e-10);
    for (int j = 0; j < 2; j++)
        close_to(m1.beta[j], m2.beta[j], 1e-10);
    close_to(m1.loglik, m2.loglik, 1e-12);
    sj_ordinal_model_free(&m1);
    sj_ordinal_model_free(&m2);
}

/* Central differences of the weighted objective agree with its gradient,
 * and central differences of that gradient with its Hessian. */
static void test_weighted_derivatives(void **state)
{
    (void)state;
    const double x[] = {0.5, -1, 1.5, 0.2, -0.3, 0.8, 2.0, -1.2, -1.0, 0.1, 0.7, 0.7};
    const int y[] = {0, 3, 1, 2, 0, 3};
    const double w[] = {0.5, 2, 1, 1.0 / 3, 0.25, 1.5};
    const double params[] = {-0.7, 0.1, 0.9, 0.4, -0.6};
    double grad[5], hess[25];
    double ll = sj_ordinal_objective_weighted(x, 6, 2, y, w, 4, 0.5, params, grad, hess);
    assert_true(isfinite(ll));
    double h_only[25];
    sj_ordinal_objective_weighted(x, 6, 2, y, w, 4, 0.5, params, NULL, h_only);
    for (int a = 0; a < 5; a++) {
        double up[5], dn[5], gu[5], gd[5], h = 1e-5;
        memcpy(up, params, sizeof up);
        memcpy(dn, params, sizeof dn);
        up[a] += h;
        dn[a] -= h;
        double fd = (sj_ordinal_objective_weighted(x, 6, 2, y, w, 4, 0.5, up, gu, NULL) -
                     sj_ordinal_objective_weighted(x, 6, 2, y, w, 4, 0.5, dn, gd, NULL)) /
                    (2 * h);
        close_to(grad[a], fd, 1e-7);
        for (int b = 0; b < 5; b++) {
            close_to(hess[b * 5 + a], (gu[b] - gd[b]) / (2 * h), 1e-6);
            close_to(h_only[b * 5 + a], hess[b * 5 + a], 0);
        }
    }
    const double zero[] = {1, 0, 1, 1, 1, 1};
    const double nan_w[] = {1, NAN, 1, 1, 1, 1};
    sj_ordinal_model m;
    sj_error err;
    sj_error_clear(&err);
    assert_int_equal(sj_ordinal_fit_weighted(x, 6, 2, y, zero, 4, 0.5, &m, &err), SJ_ERR_INPUT);
    assert_non_null(strstr(err.msg, "observation 1 has weight 0"));
    assert_int_equal(sj_ordinal_fit_weighted(x, 6, 2, y, nan_w, 4, 0.5, &m, &err), SJ_ERR_INPUT);
}

static void test_input_errors(void **state)
{
    (void)state;
    const double x[] = {0, 1, 2};
    const int y_gap[] = {0, 2, 2};
    const int y_out[] = {0, 1, 3};
    const int y_ok[] = {0, 1, 1};
    const double x_nan[] = {0, NAN, 1};
    sj_ordinal_model m;
    sj_error err;
    sj_error_clear(&err);
    assert_int_equal(sj_ordinal_fit(x, 3, 1, y_gap, 3, 1, &m, &err), SJ_ERR_INPUT);
    assert_non_null(strstr(err.msg, "category 1 has no observations"));
    assert_int_equal(sj_ordinal_fit(x, 3, 1, y_out, 3, 1, &m, &err), SJ_ERR_INPUT);
    assert_non_null(strstr(err.msg, "observation 2 has category 3"));
    assert_int_equal(sj_ordinal_fit(x, 3, 1, y_ok, 1, 1, &m, &err), SJ_ERR_INPUT);
    assert_int_equal(sj_ordinal_fit(x, 3, 1, y_ok, 2, -1, &m, &err), SJ_ERR_INPUT);
    assert_int_equal(sj_ordinal_fit(x_nan, 3, 1, y_ok, 2, 1, &m, &err), SJ_ERR_INPUT);
    assert_int_equal(sj_ordinal_fit(x, 0, 1, y_ok, 2, 1, &m, &err), SJ_ERR_INPUT);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_two_by_two),
        cmocka_unit_test(test_three_categories_marginals),
        cmocka_unit_test(test_ridge_symmetric),
        cmocka_unit_test(test_gradient_finite_differences),
        cmocka_unit_test(test_input_errors),
        cmocka_unit_test(test_weights_as_counts),
        cmocka_unit_test(test_weight_two_is_duplicate),
        cmocka_unit_test(test_weighted_derivatives),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
