/* OpenBLAS core selection: sgemm on the core in use equals a naive product,
 * and the fallback detection recognises the generic cores. */
#include "test_helpers.h"

#include <cblas.h>
#include <math.h>

#include "sjtalign/util.h"

static void sgemm_matches_naive_product(void **state)
{
    (void)state;
    /* Odd sizes exercise the kernels' edge handling. */
    enum { M = 67, N = 45, K = 131 };
    float *a = malloc(M * K * sizeof *a), *b = malloc(K * N * sizeof *b),
          *c = malloc(M * N * sizeof *c);
    gsl_rng *rng = sj_rng_new(7);
    for (int i = 0; i < M * K; i++)
        a[i] = (float)(gsl_rng_uniform(rng) * 2 - 1);
    for (int i = 0; i < K * N; i++)
        b[i] = (float)(gsl_rng_uniform(rng) * 2 - 1);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, M, N, K, 1.0f, a, K, b, N, 0.0f, c, N);
    double worst = 0;
    for (int i = 0; i < M; i++)
        for (int j = 0; j < N; j++) {
            double ref = 0, mag = 0;
            for (int k = 0; k < K; k++) {
                ref += (double)a[i * K + k] * b[k * N + j];
                mag += fabs((double)a[i * K + k] * b[k * N + j]);
            }
            /* fp32 accumulation error is bounded by ~K·eps·Σ|a·b|. */
            double rel = fabs(c[i * N + j] - ref) / (mag * K * 1.2e-7);
            if (rel > worst)
                worst = rel;
        }
    assert_true(worst <= 1.0);
    print_message("core %s: worst error %.3f of the fp32 bound\n", sj_blas_core_name(), worst);
    free(a);
    free(b);
    free(c);
    sj_rng_free(rng);
}

static void fallback_cores_are_recognised(void **state)
{
    (void)state;
    assert_true(sj_blas_is_fallback_core("Prescott"));
    assert_true(sj_blas_is_fallback_core("CORE2"));
    assert_true(sj_blas_is_fallback_core("Nehalem"));
    assert_false(sj_blas_is_fallback_core("Haswell"));
    assert_false(sj_blas_is_fallback_core("SkylakeX"));
    assert_false(sj_blas_is_fallback_core("Cooperlake"));
    assert_false(sj_blas_is_fallback_core("Zen"));
}

static void preferred_core_follows_cpu_flags(void **state)
{
    (void)state;
    const char *want = sj_blas_preferred_core();
    FILE *fp = fopen("/proc/cpuinfo", "r");
    if (!fp)
        skip();
    char line[8192];
    int avx2 = 0, avx512 = 0;
    while (fgets(line, sizeof line, fp))
        if (strncmp(line, "flags", 5) == 0) {
            avx2 = strstr(line, " avx2") != NULL;
            avx512 =
                strstr(line, " avx512f") && strstr(line, " avx512bw") && strstr(line, " avx512vl");
            break;
        }
    fclose(fp);
    if (avx512)
        assert_string_equal(want, "SkylakeX");
    else if (avx2)
        assert_string_equal(want, "Haswell");
    else
        assert_null(want);
}

static void running_core_is_not_a_fallback_on_a_modern_cpu(void **state)
{
    (void)state;
    /* The test binary does not re-exec; a user-set OPENBLAS_CORETYPE is
     * honoured as it is, so only judge the library's own choice. */
    const char *set = getenv("OPENBLAS_CORETYPE");
    if ((set && *set) || !sj_blas_preferred_core())
        skip();
    assert_false(sj_blas_is_fallback_core(sj_blas_core_name()));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(sgemm_matches_naive_product),
        cmocka_unit_test(fallback_cores_are_recognised),
        cmocka_unit_test(preferred_core_follows_cpu_flags),
        cmocka_unit_test(running_core_is_not_a_fallback_on_a_modern_cpu),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
