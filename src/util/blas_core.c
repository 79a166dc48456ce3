/* Choosing OpenBLAS's kernels. The core type is fixed when libopenblas
 * loads, before main() runs, so a wrong choice can only be corrected by
 * setting OPENBLAS_CORETYPE and re-executing. */
#include "sjtalign/util.h"

#include <cpuid.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Declared by OpenBLAS (openblas_config.h); declared here to keep GSL's and
 * OpenBLAS's CBLAS headers out of the same translation unit. */
extern char *openblas_get_corename(void);
extern int openblas_get_num_threads(void);

#define REEXEC_MARK "SJTALIGN_BLAS_REEXEC"

const char *sj_blas_core_name(void)
{
    const char *name = openblas_get_corename();
    return name ? name : "unknown";
}

int sj_blas_num_threads(void)
{
    return openblas_get_num_threads();
}

int sj_blas_is_fallback_core(const char *name)
{
    static const char *const fallback[] = {"prescott",  "core2",      "katmai",  "coppermine",
                                           "northwood", "banias",     "atom",    "nehalem",
                                           "penryn",    "dunnington", "unknown", NULL};
    for (int i = 0; fallback[i]; i++)
        if (strcasecmp(name, fallback[i]) == 0)
            return 1;
    return 0;
}

/* AVX state must also be enabled by the OS (XCR0), not only by the CPU. */
static int os_saves_avx_state(unsigned mask)
{
    unsigned eax, ebx, ecx, edx;
    if (!__get_cpuid(1, &eax, &ebx, &ecx, &edx) || !(ecx & bit_OSXSAVE))
        return 0;
    unsigned lo, hi;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    return (lo & mask) == mask;
}

const char *sj_blas_preferred_core(void)
{
    unsigned eax, ebx, ecx, edx;
    if (!__get_cpuid_count(7, 0, &eax, &ebx, &ecx, &edx))
        return NULL;
    int avx2 = (ebx & bit_AVX2) != 0;
    int avx512f = (ebx & bit_AVX512F) != 0;
    int avx512bw = (ebx & bit_AVX512BW) != 0;
    int avx512vl = (ebx & bit_AVX512VL) != 0;
    if (avx512f && avx512bw && avx512vl && os_saves_avx_state(0xe6))
        return "SkylakeX";
    if (avx2 && os_saves_avx_state(0x06))
        return "Haswell";
    return NULL;
}

/* The core OpenBLAS should switch to, or NULL when its own choice stands
 * (a user-set OPENBLAS_CORETYPE always stands). */
static const char *core_to_set(void)
{
    if (getenv("OPENBLAS_CORETYPE") || !sj_blas_is_fallback_core(sj_blas_core_name()))
        return NULL;
    return sj_blas_preferred_core();
}

void sj_blas_ensure_core(int argc, char **argv)
{
    (void)argc;
    if (getenv(REEXEC_MARK))
        return;
    const char *core = core_to_set();
    /* OpenMP threads that spin while waiting steal the second core from
     * OpenBLAS and from other programs on a small machine; libgomp reads
     * the policy at load time, so it too needs the re-exec. */
    int set_wait_policy = getenv("OMP_WAIT_POLICY") == NULL;
    if (!core && !set_wait_policy)
        return;
    if (core)
        setenv("OPENBLAS_CORETYPE", core, 1);
    if (set_wait_policy)
        setenv("OMP_WAIT_POLICY", "PASSIVE", 1);
    setenv(REEXEC_MARK, "1", 1);
    execv("/proc/self/exe", argv);
    /* exec failed: carry on as loaded rather than fail. */
    if (core)
        unsetenv("OPENBLAS_CORETYPE");
    if (set_wait_policy)
        unsetenv("OMP_WAIT_POLICY");
}
