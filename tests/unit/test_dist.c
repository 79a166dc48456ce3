/* The job's processes in a one-process run (the default build, and
 * sjtalign-mpi without mpirun): shares by hand, doubles through floats,
 * and collectives that leave their data as it was. The MPI side is tested
 * under mpirun by tests/mpi/. */
#include "test_helpers.h"

#include <math.h>
#include <string.h>

#include "sjtalign/dist.h"

static void shares_are_contiguous_and_differ_by_at_most_one(void **state)
{
    (void)state;
    /* 10 items over 4 ranks: 3, 3, 2, 2 */
    const size_t want[4][2] = {{0, 3}, {3, 6}, {6, 8}, {8, 10}};
    for (int r = 0; r < 4; r++) {
        size_t lo, hi;
        sj_dist_share_of(10, r, 4, &lo, &hi);
        assert_int_equal(lo, want[r][0]);
        assert_int_equal(hi, want[r][1]);
    }
    /* fewer items than ranks: 2 items over 3 ranks are 1, 1, 0 */
    size_t lo, hi;
    sj_dist_share_of(2, 2, 3, &lo, &hi);
    assert_int_equal(lo, 2);
    assert_int_equal(hi, 2);
    /* one process takes everything */
    sj_dist_share(7, &lo, &hi);
    assert_int_equal(lo, 0);
    assert_int_equal(hi, 7);
    assert_int_equal(sj_dist_size(), 1);
    assert_int_equal(sj_dist_rank(), 0);
    assert_true(sj_dist_is_root());
}

static void a_double_survives_two_floats(void **state)
{
    (void)state;
    /* 1/3 in a float alone is off by about 1e-8; hi + lo keeps about 48
     * bits (off by less than 1e-15) */
    double x = 1.0 / 3.0;
    float pair[2];
    sj_dist_pack_double(x, pair);
    assert_true(fabs((double)pair[0] - x) > 1e-9);
    assert_true(fabs(sj_dist_unpack_double(pair) - x) < 1e-15);
    /* a loss sum of two ranks: pairs added element-wise, the high parts'
     * float addition rounding to within half a float ulp of 1234.568
     * (2^-14 / 2 = 3.1e-5) */
    float a[2], b[2], sum[2];
    sj_dist_pack_double(1234.56789012345, a);
    sj_dist_pack_double(0.00012345678901, b);
    sum[0] = a[0] + b[0];
    sum[1] = a[1] + b[1];
    assert_near(sj_dist_unpack_double(sum), 1234.568013580239, 3.1e-5);
}

static void one_process_collectives_leave_data_alone(void **state)
{
    (void)state;
    sj_error err;
    sj_error_clear(&err);
    float f[3] = {1.5f, -2.0f, 3.25f};
    double d[2] = {0.1, 0.2};
    int64_t k[2] = {7, -9};
    int m[1] = {4};
    assert_int_equal(sj_dist_sum_float(f, 3, &err), SJ_OK);
    assert_int_equal(sj_dist_sum_double(d, 2, &err), SJ_OK);
    assert_int_equal(sj_dist_sum_int64(k, 2, &err), SJ_OK);
    assert_int_equal(sj_dist_max_int(m, 1, &err), SJ_OK);
    assert_true(f[0] == 1.5f && f[1] == -2.0f && f[2] == 3.25f);
    assert_true(d[0] == 0.1 && d[1] == 0.2);
    assert_true(k[0] == 7 && k[1] == -9 && m[0] == 4);
    float g[2] = {5.0f, 6.0f};
    sj_dist_span spans[2] = {{f, 3}, {g, 2}};
    assert_int_equal(sj_dist_exchange(spans, 2, &err), SJ_OK);
    assert_true(f[2] == 3.25f && g[1] == 6.0f);
    char *all = NULL;
    size_t counts[1];
    assert_int_equal(sj_dist_gather("abc", 3, 1, &all, counts, &err), SJ_OK);
    assert_int_equal(counts[0], 3);
    assert_memory_equal(all, "abc", 3);
    free(all);
    assert_int_equal(sj_dist_same_bytes("x", "abc", 3, &err), SJ_OK);
}

static void agreement_of_one_is_its_own_status(void **state)
{
    (void)state;
    sj_error err;
    sj_error_clear(&err);
    assert_int_equal(sj_dist_agree(SJ_OK, &err), SJ_OK);
    assert_false(sj_dist_failed_together());
    sj_error_set(&err, SJ_ERR_INPUT, "bad line");
    assert_int_equal(sj_dist_agree(SJ_ERR_INPUT, &err), SJ_ERR_INPUT);
    assert_string_equal(err.msg, "bad line");
    assert_true(sj_dist_failed_together());
}

static void the_stop_follows_the_watched_flag(void **state)
{
    (void)state;
    static volatile sig_atomic_t flag = 0;
    sj_dist_watch_interrupt(&flag);
    assert_false(sj_dist_stop_agreed());
    flag = 2;
    assert_true(sj_dist_stop_agreed());
    sj_dist_watch_interrupt(NULL);
    assert_false(sj_dist_stop_agreed());
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(shares_are_contiguous_and_differ_by_at_most_one),
        cmocka_unit_test(a_double_survives_two_floats),
        cmocka_unit_test(one_process_collectives_leave_data_alone),
        cmocka_unit_test(agreement_of_one_is_its_own_status),
        cmocka_unit_test(the_stop_follows_the_watched_flag),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
