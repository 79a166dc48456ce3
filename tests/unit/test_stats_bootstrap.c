/* The person bootstrap: deterministic, order-free resampling and R's
 * type-7 percentile interval. */
#include "test_helpers.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "sjtalign/stats.h"

static void test_interval_matches_r_type7(void **state)
{
    (void)state;
    /* R: quantile(c(1,2,3,4,5,6,7,8,9,10), c(0.025, 0.975)) gives 1.225
     * and 9.775: (n - 1) p = 0.225 and 8.775. NaN and Inf are dropped. */
    double v[] = {10, 3, NAN, 1, 2, 9, 4, INFINITY, 5, 6, 7, 8};
    double lo, hi;
    assert_int_equal(sj_bootstrap_interval(v, 12, 0.95, &lo, &hi), 10);
    assert_true(fabs((lo) - (1.225)) < 1e-12);
    assert_true(fabs((hi) - (9.775)) < 1e-12);
    /* R: quantile(c(2, 4), c(0.05, 0.95)) is 2.1 and 3.9. */
    double w[] = {4, 2};
    sj_bootstrap_interval(w, 2, 0.90, &lo, &hi);
    assert_true(fabs((lo) - (2.1)) < 1e-12);
    assert_true(fabs((hi) - (3.9)) < 1e-12);
    double none[] = {NAN, NAN};
    assert_int_equal(sj_bootstrap_interval(none, 2, 0.95, &lo, &hi), 0);
    assert_true(isnan(lo) && isnan(hi));
}

/* The same persons listed in another order resample the same persons. */
static void test_same_persons_any_order(void **state)
{
    (void)state;
    const char *a[] = {"P1", "P2", "P3", "P4", "P5"};
    const char *b[] = {"P4", "P1", "P5", "P3", "P2"};
    sj_error err = {0};
    sj_bootstrap *ba = sj_bootstrap_new(a, 5, 20, 7, &err);
    sj_bootstrap *bb = sj_bootstrap_new(b, 5, 20, 7, &err);
    assert_non_null(ba);
    assert_non_null(bb);
    assert_string_equal(sj_bootstrap_persons_sha256(ba), sj_bootstrap_persons_sha256(bb));
    for (size_t r = 0; r < 20; r++) {
        size_t da[5], db[5];
        assert_int_equal(sj_bootstrap_draw(ba, r, da, &err), SJ_OK);
        assert_int_equal(sj_bootstrap_draw(bb, r, db, &err), SJ_OK);
        for (size_t i = 0; i < 5; i++)
            assert_string_equal(a[da[i]], b[db[i]]);
    }
    /* Regenerating a replicate gives it again; another seed another one. */
    size_t x[5], y[5], z[5];
    sj_bootstrap_draw(ba, 3, x, &err);
    sj_bootstrap_draw(ba, 3, y, &err);
    assert_memory_equal(x, y, sizeof x);
    sj_bootstrap *bc = sj_bootstrap_new(a, 5, 20, 8, &err);
    int differs = 0;
    for (size_t r = 0; r < 20 && !differs; r++) {
        sj_bootstrap_draw(ba, r, x, &err);
        sj_bootstrap_draw(bc, r, z, &err);
        differs = memcmp(x, z, sizeof x) != 0;
    }
    assert_true(differs);
    sj_bootstrap_free(ba);
    sj_bootstrap_free(bb);
    sj_bootstrap_free(bc);
}

/* The checksum is SHA-256 of "P1\nP2\n": printf 'P1\nP2\n' | sha256sum. */
static void test_checksum_of_sorted_ids(void **state)
{
    (void)state;
    const char *ids[] = {"P2", "P1"};
    sj_error err = {0};
    sj_bootstrap *b = sj_bootstrap_new(ids, 2, 1, 1, &err);
    assert_non_null(b);
    assert_string_equal(sj_bootstrap_persons_sha256(b),
                        "35cd7b9374649b0187a8a7fee54e5a6ed8375db063eadf359501c2abac7a5f97");
    sj_bootstrap_free(b);
}

/* Counts sum to n, and over many replicates every person is drawn about
 * once per replicate on average (1000 x 4 draws: the mean of a person's
 * count has SD sqrt(3/4 / 1000) = 0.027, so 0.9..1.1 is beyond 3.6 SD). */
static void test_counts_are_uniform(void **state)
{
    (void)state;
    const char *ids[] = {"a", "b", "c", "d"};
    sj_error err = {0};
    sj_bootstrap *b = sj_bootstrap_new(ids, 4, 1000, 11, &err);
    double total[4] = {0};
    for (size_t r = 0; r < 1000; r++) {
        unsigned c[4];
        assert_int_equal(sj_bootstrap_counts(b, r, c, &err), SJ_OK);
        assert_int_equal(c[0] + c[1] + c[2] + c[3], 4);
        for (int i = 0; i < 4; i++)
            total[i] += c[i];
    }
    for (int i = 0; i < 4; i++)
        assert_true(fabs(total[i] / 1000.0 - 1.0) < 0.1);
    sj_bootstrap_free(b);
}

static void test_refuses_duplicates_and_too_few(void **state)
{
    (void)state;
    const char *dup[] = {"x", "y", "x"};
    sj_error err = {0};
    assert_null(sj_bootstrap_new(dup, 3, 10, 1, &err));
    assert_int_equal(err.status, SJ_ERR_INPUT);
    assert_non_null(strstr(err.msg, "'x' appears twice"));
    sj_error err2 = {0};
    assert_null(sj_bootstrap_new(dup, 1, 10, 1, &err2));
    assert_int_equal(err2.status, SJ_ERR_INPUT);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_interval_matches_r_type7),
        cmocka_unit_test(test_same_persons_any_order),
        cmocka_unit_test(test_checksum_of_sorted_ids),
        cmocka_unit_test(test_counts_are_uniform),
        cmocka_unit_test(test_refuses_duplicates_and_too_few),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
