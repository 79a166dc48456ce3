/* sjtalign bench: training-step throughput of the language model on this
 * machine, with the model FLOPs utilisation against the measured sgemm peak. */
#include <stdio.h>
#include <unistd.h>

#include "cli.h"
#include "lm_cli.h"

static const char *const HELP =
    "usage: sjtalign bench [--layers N] [--heads N] [--embd N] [--ctx N] [--vocab N]\n"
    "                      [--batch N] [--steps N] [--threads N] [--seed S]\n\n"
    "Times training steps (forward, backward, gradient clipping and an AdamW update)\n"
    "on random tokens, after one warm-up step, and prints one JSON line:\n"
    "  {\"tokens_per_s\", \"step_ms\", \"gflops\", \"mfu\", \"blas_core\", \"threads\", "
    "\"params\",\n"
    "   \"peak_gflops\"}\n"
    "gflops counts the model's FLOPs (6 per weight per token for the matrix products,\n"
    "plus causal attention); mfu divides it by the peak of a 2048 x 2048 sgemm that\n"
    "bench measures itself with the same threads, before and after the timed steps\n"
    "(the higher of the two).\n\n"
    "  --layers N   transformer blocks (default 4)\n"
    "  --heads N    attention heads (default 4)\n"
    "  --embd N     width (default 256)\n"
    "  --ctx N      sequence length (default 256)\n"
    "  --vocab N    vocabulary (default 4096)\n"
    "  --batch N    sequences per step (default 8)\n"
    "  --steps N    timed steps (default 10)\n"
    "  --threads N  threads for OpenMP and OpenBLAS (default: all cores)\n"
    "  --seed S     random seed (default 1)\n"
    "  --profile    also print the time per kernel (forward/backward matmul,\n"
    "               attention, GELU, ...) to standard error\n";

int cmd_bench(int argc, char **argv)
{
    static const struct option options[] = {LM_CLI_OPTIONS,
                                            {"profile", no_argument, 0, 'p'},
                                            {"help", no_argument, 0, 'h'},
                                            {0, 0, 0, 0}};
    int profile = 0;
    lm_cli_opts o = {.model = {.vocab = 4096, .ctx = 256, .layers = 4, .heads = 4, .embd = 256},
                     .steps = 10,
                     .batch = 8,
                     .lr = 3e-3,
                     .seed = 1,
                     .threads = 0};
    int c;
    while ((c = getopt_long(argc, argv, "", options, NULL)) != -1) {
        if (c == 'h')
            return cli_help(HELP);
        if (c == 'p') {
            profile = 1;
            continue;
        }
        int r = lm_cli_option("bench", c, optarg, &o);
        if (r < 0)
            return 2;
        if (r == 0)
            return cli_bad_option("bench");
    }
    if (optind < argc)
        return cli_usage_error("bench", "unexpected argument '%s'", argv[optind]);
    sj_error err;
    sj_error_clear(&err);
    if (sj_lm_config_validate(&o.model, &err) != SJ_OK)
        return cli_fail(&err);
    long threads = o.threads > 0 ? o.threads : sysconf(_SC_NPROCESSORS_ONLN);
    if (threads < 1)
        threads = 1;
    sj_lm_set_threads((int)threads);
    sj_lm_bench_result res;
    sj_lm_profile_enable(profile);
    if (sj_lm_bench(&o.model, (int)o.batch, (int)o.steps, o.seed, &res, &err) != SJ_OK)
        return cli_fail(&err);
    printf("{\"tokens_per_s\": %.1f, \"step_ms\": %.2f, \"gflops\": %.2f, \"mfu\": %.4f, "
           "\"blas_core\": \"%s\", \"threads\": %ld, \"params\": %zu, \"peak_gflops\": %.2f}\n",
           res.tokens_per_s, res.step_ms, res.gflops, res.mfu, sj_blas_core_name(), threads,
           res.params, res.peak_gflops);
    if (profile) {
        const char *names[32];
        double secs[32], total = 0.0;
        size_t n = sj_lm_profile_get(names, secs, 32);
        for (size_t i = 0; i < n; i++)
            total += secs[i];
        fprintf(stderr, "per-kernel time per step (%ld steps):\n", o.steps);
        for (size_t i = 0; i < n; i++)
            fprintf(stderr, "  %-28s %9.2f ms  %5.1f%%\n", names[i], secs[i] / o.steps * 1e3,
                    total > 0 ? 100.0 * secs[i] / total : 0.0);
        fprintf(stderr, "  %-28s %9.2f ms\n", "total (timed kernels)", total / o.steps * 1e3);
    }
    return 0;
}
