/* The language model's kernels come in two builds of one program: the
 * portable `sjtalign` and, on x86-64, `sjtalign-x86-64-v3`, whose lm is
 * compiled for AVX2 and FMA. The portable program runs everywhere and hands
 * over to its fast sibling when the CPU can run it. */
#include "kernels.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sjtalign/lm.h"

#define FAST_SUFFIX "-x86-64-v3"

static int cpu_runs_fast_build(void)
{
#if defined(__x86_64__)
    __builtin_cpu_init();
    /* x86-64-v3's vector features; BMI2 stands for the rest of the level,
     * which every CPU with AVX2 and FMA so far also has. */
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") &&
           __builtin_cpu_supports("bmi2");
#else
    return 0;
#endif
}

void cli_select_kernels(char **argv)
{
    const char *wanted = getenv("SJTALIGN_KERNELS");
    if (wanted && strcmp(wanted, "portable") == 0)
        return;
    if (strcmp(sj_lm_kernels(), "portable") != 0 || !cpu_runs_fast_build())
        return;
    char self[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - sizeof FAST_SUFFIX);
    if (n <= 0)
        return;
    self[n] = '\0';
    strcat(self, FAST_SUFFIX);
    if (access(self, X_OK) != 0)
        return;
    execv(self, argv);
    /* The sibling could not start: carry on with the portable kernels. */
}
