/* sjtalign bench: training-step throughput of the language model on this
 * machine, with the model FLOPs utilisation against the measured sgemm peak;
 * with --score, the scorer's responses per second against the forward
 * pass's FLOP ceiling. */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "align_cli.h"
#include "cli.h"
#include "lm_cli.h"

static const cli_option BENCH_OPTIONS[] = {
    LM_OPT_SHAPE("4", "4", "256", "256", "4096", ""),
    {"batch", CLI_INT, "N", "8", 1, 65536, NULL, 0,
     "sequences per step (with --score: responses per\nforward pass, default 64 as score)"},
    {"steps", CLI_INT, "N", "10", 1, 100000000, NULL, 0,
     "timed steps (with --score: timed rounds of each\nscoring, default 3)"},
    {"score", CLI_FLAG, NULL, NULL, 0, 0, NULL, 0,
     "time scoring instead: every response of --data\nscored by --model (the shape options "
     "are then\nthe model's own)"},
    {"model", CLI_IN_DIR, "MODEL", NULL, 0, 0, NULL, 0,
     "with --score: a scorer (sft, ppo or dpo output)"},
    {"instrument", CLI_IN_FILE, "FILE", NULL, 0, 0, NULL, 0, "with --score: instrument.json"},
    {"data", CLI_IN_FILE, "FILE", NULL, 0, 0, NULL, 0, "with --score: responses CSV"},
    CLI_OPT_ITEM,
    CLI_OPT_TEXT,
    CLI_OPT_THREADS,
    CLI_OPT_SEED,
    {"profile", CLI_FLAG, NULL, NULL, 0, 0, NULL, 0,
     "also print the time per kernel (forward/backward matmul,\nattention, GELU, ...) to "
     "standard error"},
    CLI_END};

const cli_command_spec cli_spec_bench = {
    .name = "bench",
    .synopsis = "[--layers N] [--heads N] [--embd N] [--ctx N] [--vocab N] [--batch N]\n"
                "                      [--steps N] [--threads N] [--seed S] [--profile]\n"
                "       sjtalign bench --score --model MODEL --instrument FILE --data FILE\n"
                "                      [--batch N] [--steps N] [--threads N]",
    .about = "Times training steps (forward, backward, gradient clipping and an AdamW update)\n"
             "on random tokens, after one warm-up step, and prints one JSON line:\n"
             "  {\"tokens_per_s\", \"step_ms\", \"gflops\", \"mfu\", \"blas_core\", \"threads\", "
             "\"params\",\n"
             "   \"peak_gflops\", \"ranks\", \"compute_ms\", \"exchange_ms\", \"allreduce_ms\",\n"
             "   \"grad_bytes\"}\n"
             "gflops counts the model's FLOPs (6 per weight per token for the matrix products,\n"
             "plus causal attention); mfu divides it by the peak of a 1024 x 1024 sgemm that\n"
             "bench measures itself with the same threads, before and after the timed steps\n"
             "(the higher of the two), times the ranks.\n"
             "Under MPI (mpirun -np N sjtalign-mpi bench) each rank runs its share of the\n"
             "batch and the ranks sum the gradient block (grad_bytes) in one allreduce per\n"
             "step, as training does: compute_ms is a step's work on this rank, exchange_ms\n"
             "the exchange including the wait for slower ranks, allreduce_ms one allreduce\n"
             "of the block alone (median of 20). With one process those two are 0.\n\n"
             "With --score: encodes every response of --data, then scores them all --steps\n"
             "times (after a warm-up) the way `sjtalign score` does, with the shared-prefix\n"
             "cache (an item's prompt runs once for all its responses) and without it, and\n"
             "prints one JSON line:\n"
             "  {\"responses\", \"responses_per_s\", \"responses_per_s_unshared\",\n"
             "   \"responses_per_cpu_s\", \"responses_per_cpu_s_unshared\",\n"
             "   \"tokens_per_response\", \"forward_mflop_per_response\", \"peak_gflops\",\n"
             "   \"ceiling_responses_per_s\", \"of_ceiling\", \"blas_core\", \"threads\", "
             "\"params\"}\n"
             "The rates are the best round of each; per_cpu_s divides by the CPU time of\n"
             "every thread (steadier than wall time on a busy machine).\n"
             "forward_mflop_per_response is a whole forward pass over the prompt and\n"
             "\"score: \" (the output layer at one position); the ceiling is peak_gflops over\n"
             "it: the rate of a plain forward pass running at the sgemm peak. The scorer\n"
             "skips work a plain pass does (the shared prompt; the last block and the output\n"
             "layer run at the score position only), so it can exceed the ceiling\n"
             "(of_ceiling > 1).",
    .options = BENCH_OPTIONS,
    .notes = NULL,
    .examples = "sjtalign bench\n"
                "sjtalign bench --layers 2 --embd 96 --ctx 128 --vocab 512 --threads 2 --profile\n"
                "mpirun -np 2 sjtalign-mpi bench --layers 2 --embd 96 --ctx 128 --vocab 512 "
                "--threads 1\n"
                "sjtalign bench --score --model runs/demo/sft --instrument "
                "data/demo/instrument.json \\\n"
                "    --data runs/demo/split/heldout.csv --threads 2",
};

/* What --score scores: every response of the data, encoded as `score`
 * encodes it. */
typedef struct {
    sj_instrument *ins;
    sja_model *m;
    sj_table *t;
    sja_seq *prompts;
    size_t n;
    double *probs;
} score_bench;

static void score_bench_free(score_bench *s)
{
    for (size_t i = 0; s->prompts && i < s->n; i++)
        sja_seq_free(&s->prompts[i]);
    free(s->prompts);
    free(s->probs);
    sj_table_free(s->t);
    sja_model_free(s->m);
    sj_instrument_free(s->ins);
}

static sj_status score_bench_load(score_bench *s, const cli_args *c, sj_error *err)
{
    if (!(s->ins = sj_instrument_load(cli_text(c, "instrument"), err)) ||
        !(s->m = sja_model_load(cli_text(c, "model"), s->ins, err)) ||
        !(s->t = sj_table_read(cli_text(c, "data"), err)))
        return err->status;
    long col_item = sj_table_column(s->t, cli_text(c, "item"), err);
    long col_text = col_item < 0 ? -1 : sj_table_column(s->t, cli_text(c, "text"), err);
    if (col_text < 0)
        return err->status;
    size_t rows = s->t->n_rows;
    s->prompts = calloc(rows ? rows : 1, sizeof *s->prompts);
    s->probs = malloc((rows ? rows : 1) * (size_t)s->m->codec.n_levels * sizeof *s->probs);
    if (!s->prompts || !s->probs)
        return sj_error_set(err, SJ_ERR_WORK, "out of memory");
    for (size_t r = 0; r < rows; r++) {
        const char *item = sj_table_cell(s->t, r, (size_t)col_item);
        long idx = sj_instrument_find_item(s->ins, item);
        if (idx < 0)
            return sj_error_at(err, SJ_ERR_INPUT, s->t->path, s->t->row_line[r], col_item + 1,
                               "unknown item '%.60s': the instrument %s has no such item", item,
                               s->ins->id);
        if (sja_encode_prompt(&s->m->codec, s->ins, (size_t)idx,
                              sj_table_cell(s->t, r, (size_t)col_text), s->m->codec.max_completion,
                              &s->prompts[r], err) != SJ_OK)
            return err->status;
        s->n++;
    }
    return s->n ? SJ_OK : sj_error_set(err, SJ_ERR_INPUT, "%s has no data rows", s->t->path);
}

static double cpu_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Responses per second (wall clock) and per CPU-second (every thread's
 * time summed: steadier than wall time on a shared machine) of one scoring
 * of them all. */
static sj_status score_rate(score_bench *s, int batch, int share, double rate[2], sj_error *err)
{
    double t0 = sj_now(), c0 = cpu_seconds();
    sj_status st = sja_score_levels_shared(s->m->ck->model, &s->m->codec, s->prompts, s->n, batch,
                                           share, s->probs, NULL, NULL, err);
    rate[0] = (double)s->n / (sj_now() - t0);
    rate[1] = (double)s->n / (cpu_seconds() - c0);
    return st;
}

/* Times `rounds` scorings with and without the prefix cache (alternating,
 * best of each) and prints the JSON line. */
static int bench_score(const cli_args *c, int batch, int rounds, long threads)
{
    sj_error err;
    sj_error_clear(&err);
    score_bench s = {0};
    sj_status st = score_bench_load(&s, c, &err);
    double shared[2] = {0.0, 0.0}, unshared[2] = {0.0, 0.0}, rate[2];
    double peak = st == SJ_OK ? sj_lm_sgemm_peak_gflops() : 0.0;
    if (st == SJ_OK) /* warm-up: the activation arena reaches its size */
        st = score_rate(&s, batch, 1, rate, &err);
    for (int r = 0; st == SJ_OK && r < rounds; r++) {
        st = score_rate(&s, batch, 1, rate, &err);
        for (int k = 0; k < 2; k++)
            shared[k] = rate[k] > shared[k] ? rate[k] : shared[k];
        if (st == SJ_OK)
            st = score_rate(&s, batch, 0, rate, &err);
        for (int k = 0; k < 2; k++)
            unshared[k] = rate[k] > unshared[k] ? rate[k] : unshared[k];
    }
    if (st != SJ_OK) {
        score_bench_free(&s);
        return cli_fail(&err);
    }
    double after = sj_lm_sgemm_peak_gflops();
    peak = after > peak ? after : peak;
    const sj_lm_config *cfg = &s.m->ck->model->cfg;
    double tokens = 0.0, flops = 0.0;
    for (size_t i = 0; i < s.n; i++) {
        int len = s.prompts[i].len + (int)s.m->codec.n_prefix;
        tokens += len;
        flops += sj_lm_forward_flops(cfg, len, 1);
    }
    tokens /= (double)s.n;
    flops /= (double)s.n;
    double ceiling = peak * 1e9 / flops;
    printf("{\"responses\": %zu, \"responses_per_s\": %.1f, \"responses_per_s_unshared\": %.1f, "
           "\"responses_per_cpu_s\": %.1f, \"responses_per_cpu_s_unshared\": %.1f, "
           "\"tokens_per_response\": %.1f, \"forward_mflop_per_response\": %.6f, "
           "\"peak_gflops\": %.2f, \"ceiling_responses_per_s\": %.1f, \"of_ceiling\": %.3f, "
           "\"blas_core\": \"%s\", \"threads\": %ld, \"params\": %zu}\n",
           s.n, shared[0], unshared[0], shared[1], unshared[1], tokens, flops / 1e6, peak, ceiling,
           shared[0] / ceiling, sj_blas_core_name(), threads, s.m->ck->model->n_params);
    score_bench_free(&s);
    return 0;
}

static void print_profile(const char *title, long divisor)
{
    const char *names[32];
    double secs[32], total = 0.0;
    size_t n = sj_lm_profile_get(names, secs, 32);
    for (size_t i = 0; i < n; i++)
        total += secs[i];
    fprintf(stderr, "%s:\n", title);
    for (size_t i = 0; i < n; i++)
        fprintf(stderr, "  %-28s %9.2f ms  %5.1f%%\n", names[i], secs[i] / divisor * 1e3,
                total > 0 ? 100.0 * secs[i] / total : 0.0);
    fprintf(stderr, "  %-28s %9.2f ms\n", "total (timed kernels)", total / divisor * 1e3);
}

/* --score needs its three inputs, and they mean nothing without it. */
static int check_score_options(const cli_args *c)
{
    static const char *const inputs[3] = {"model", "instrument", "data"};
    int score = cli_flag(c, "score");
    for (int i = 0; i < 3; i++)
        if (score != cli_given(c, inputs[i])) {
            fprintf(stderr, "sjtalign bench: error: %s\n",
                    score ? "--score needs --model, --instrument and --data"
                          : "--model, --instrument and --data go with --score");
            return 2;
        }
    return 0;
}

int cmd_bench(int argc, char **argv)
{
    cli_args c;
    int rc = cli_begin(&cli_spec_bench, argc, argv, &c);
    if (rc >= 0)
        return rc;
    sj_lm_config model;
    lm_cli_model(&c, &model);
    long steps = cli_int(&c, "steps"), batch = cli_int(&c, "batch");
    if ((rc = check_score_options(&c)) != 0) {
        cli_args_free(&c);
        return rc;
    }
    uint64_t seed = cli_seed_value(&c, "seed");
    int profile = cli_flag(&c, "profile");
    long threads =
        cli_given(&c, "threads") ? cli_int(&c, "threads") : sysconf(_SC_NPROCESSORS_ONLN);
    threads = threads < 1 ? 1 : threads;
    if (cli_flag(&c, "score")) {
        sj_lm_set_threads((int)threads);
        sj_lm_profile_enable(profile);
        rc = bench_score(&c, cli_given(&c, "batch") ? (int)batch : 64,
                         cli_given(&c, "steps") ? (int)steps : 3, threads);
        cli_args_free(&c);
        if (rc == 0 && profile)
            print_profile("per-kernel time over every scoring", 1);
        return rc;
    }
    cli_args_free(&c);
    sj_error err;
    sj_error_clear(&err);
    if (sj_lm_config_validate(&model, &err) != SJ_OK)
        return cli_fail(&err);
    sj_lm_set_threads((int)threads);
    sj_lm_bench_result res;
    sj_lm_profile_enable(profile);
    if (sj_lm_bench(&model, (int)batch, (int)steps, seed, &res, &err) != SJ_OK)
        return cli_fail(&err);
    printf("{\"tokens_per_s\": %.1f, \"step_ms\": %.2f, \"gflops\": %.2f, \"mfu\": %.4f, "
           "\"blas_core\": \"%s\", \"threads\": %ld, \"params\": %zu, \"peak_gflops\": %.2f, "
           "\"ranks\": %d, \"compute_ms\": %.2f, \"exchange_ms\": %.3f, \"allreduce_ms\": %.3f, "
           "\"grad_bytes\": %zu}\n",
           res.tokens_per_s, res.step_ms, res.gflops, res.mfu, sj_blas_core_name(), threads,
           res.params, res.peak_gflops, res.ranks, res.compute_ms, res.exchange_ms,
           res.allreduce_ms, res.grad_bytes);
    if (profile) {
        char title[64];
        snprintf(title, sizeof title, "per-kernel time per step (%ld steps)", steps);
        print_profile(title, steps);
    }
    return 0;
}
