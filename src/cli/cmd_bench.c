/* sjtalign bench: training-step throughput of the language model on this
 * machine, with the model FLOPs utilisation against the measured sgemm peak. */
#include <stdio.h>
#include <unistd.h>

#include "align_cli.h"
#include "cli.h"
#include "lm_cli.h"

static const cli_option BENCH_OPTIONS[] = {
    LM_OPT_SHAPE("4", "4", "256", "256", "4096", ""),
    {"batch", CLI_INT, "N", "8", 1, 65536, NULL, 0, "sequences per step"},
    {"steps", CLI_INT, "N", "10", 1, 100000000, NULL, 0, "timed steps"},
    CLI_OPT_THREADS,
    CLI_OPT_SEED,
    {"profile", CLI_FLAG, NULL, NULL, 0, 0, NULL, 0,
     "also print the time per kernel (forward/backward matmul,\nattention, GELU, ...) to "
     "standard error"},
    CLI_END};

const cli_command_spec cli_spec_bench = {
    .name = "bench",
    .synopsis = "[--layers N] [--heads N] [--embd N] [--ctx N] [--vocab N] [--batch N]\n"
                "                      [--steps N] [--threads N] [--seed S] [--profile]",
    .about = "Times training steps (forward, backward, gradient clipping and an AdamW update)\n"
             "on random tokens, after one warm-up step, and prints one JSON line:\n"
             "  {\"tokens_per_s\", \"step_ms\", \"gflops\", \"mfu\", \"blas_core\", \"threads\", "
             "\"params\",\n"
             "   \"peak_gflops\"}\n"
             "gflops counts the model's FLOPs (6 per weight per token for the matrix products,\n"
             "plus causal attention); mfu divides it by the peak of a 2048 x 2048 sgemm that\n"
             "bench measures itself with the same threads, before and after the timed steps\n"
             "(the higher of the two).",
    .options = BENCH_OPTIONS,
    .notes = NULL,
    .examples = "sjtalign bench\n"
                "sjtalign bench --layers 2 --embd 96 --ctx 128 --vocab 512 --threads 2 --profile",
};

int cmd_bench(int argc, char **argv)
{
    cli_args c;
    int rc = cli_begin(&cli_spec_bench, argc, argv, &c);
    if (rc >= 0)
        return rc;
    sj_lm_config model;
    lm_cli_model(&c, &model);
    long steps = cli_int(&c, "steps"), batch = cli_int(&c, "batch");
    uint64_t seed = cli_seed_value(&c, "seed");
    int profile = cli_flag(&c, "profile");
    long threads =
        cli_given(&c, "threads") ? cli_int(&c, "threads") : sysconf(_SC_NPROCESSORS_ONLN);
    cli_args_free(&c);
    sj_error err;
    sj_error_clear(&err);
    if (sj_lm_config_validate(&model, &err) != SJ_OK)
        return cli_fail(&err);
    if (threads < 1)
        threads = 1;
    sj_lm_set_threads((int)threads);
    sj_lm_bench_result res;
    sj_lm_profile_enable(profile);
    if (sj_lm_bench(&model, (int)batch, (int)steps, seed, &res, &err) != SJ_OK)
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
        fprintf(stderr, "per-kernel time per step (%ld steps):\n", steps);
        for (size_t i = 0; i < n; i++)
            fprintf(stderr, "  %-28s %9.2f ms  %5.1f%%\n", names[i], secs[i] / steps * 1e3,
                    total > 0 ? 100.0 * secs[i] / total : 0.0);
        fprintf(stderr, "  %-28s %9.2f ms\n", "total (timed kernels)", total / steps * 1e3);
    }
    return 0;
}
