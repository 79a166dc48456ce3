/* sjtalign: score situational judgment test responses with a small language
 * model, align it with expert judgments, and audit the scores for fairness. */
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "kernels.h"
#include "sjtalign/dist.h"
#include "sjtalign/lm.h"

typedef struct {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *summary;
    int distributed; /* under mpirun, every rank takes part; else rank 0 alone runs it */
} command;

static const command commands[] = {
    {"simulate", cmd_simulate, "simulate an SJT data set with known truth and rater bias", 0},
    {"judge", cmd_judge, "fill in pairs with a simulated expert panel", 0},
    {"validate", cmd_validate, "check a responses file against an instrument", 0},
    {"split", cmd_split, "split the persons into training and held-out persons", 0},
    {"pretrain", cmd_pretrain, "train the tokenizer and the base language model", 1},
    {"sft", cmd_sft, "supervised fine-tuning of the scorer on human scores", 1},
    {"score", cmd_score, "score responses with a model", 1},
    {"baseline", cmd_baseline, "fit and apply the transparent lexical (word-overlap) scorer", 0},
    {"pairs", cmd_pairs, "sample pairs of candidate scorings for experts to judge", 0},
    {"reward", cmd_reward, "train the reward model on judged pairs", 1},
    {"ppo", cmd_ppo, "align the scorer with the reward model by PPO", 1},
    {"dpo", cmd_dpo, "align the scorer directly on judged pairs by DPO", 1},
    {"dif", cmd_dif, "differential item functioning per item", 1},
    {"parity", cmd_parity, "group parity and agreement statistics", 1},
    {"audit", cmd_audit, "bias-audit report of a set of scores", 1},
    {"compare", cmd_compare, "before/after report of two or more audits", 0},
    {"run", cmd_run, "run a whole pipeline file, skipping finished stages", 0},
    {"study", cmd_study, "run a pipeline over seeds x conditions and summarise", 1},
    {"bench", cmd_bench, "training-step throughput on this machine", 1},
};
#define N_COMMANDS (sizeof commands / sizeof commands[0])

static void print_usage(FILE *out)
{
    fprintf(out, "usage: sjtalign COMMAND [options]   (sjtalign COMMAND --help or sjtalign help "
                 "COMMAND\n       for details)\n\n"
                 "commands:\n");
    for (size_t i = 0; i < N_COMMANDS; i++)
        if (commands[i].run)
            fprintf(out, "  %-10s %s\n", commands[i].name, commands[i].summary);
    fprintf(out, "\n  --version  print the version, the BLAS core in use and its threads\n"
                 "  --help     this text\n\n"
                 "Exit codes: 0 success, 1 failure while working, 2 bad usage or bad input,\n"
                 "130 interrupted by Ctrl-C (143 by SIGTERM; training saves a checkpoint that\n"
                 "--resume continues).\n");
}

static int print_version(void)
{
    printf("sjtalign %s\n", SJ_VERSION);
    printf("lm kernels: %s\n", sj_lm_kernels());
    printf("blas: OpenBLAS, core %s, %d threads\n", sj_blas_core_name(), sj_blas_num_threads());
    const char *wait = getenv("OMP_WAIT_POLICY");
    printf("openmp: %d threads, wait policy %s\n", omp_get_max_threads(), wait ? wait : "default");
    return 0;
}

/* `sjtalign help CMD`: the command's own --help. */
static int help_of(const char *name)
{
    for (size_t i = 0; i < N_COMMANDS; i++)
        if (commands[i].run && strcmp(commands[i].name, name) == 0) {
            char *argv[] = {(char *)name, "--help", NULL};
            cli_getopt_reset();
            cli_set_command(name);
            return commands[i].run(2, argv);
        }
    fprintf(stderr, "sjtalign help: unknown command '%s'\n\n", name);
    print_usage(stderr);
    return 2;
}

static int dispatch(int argc, char **argv)
{
    if (argc < 2) {
        print_usage(stderr);
        return 2;
    }
    const char *name = argv[1];
    if (strcmp(name, "help") == 0 && argc >= 3)
        return help_of(argv[2]);
    if (strcmp(name, "--help") == 0 || strcmp(name, "-h") == 0 || strcmp(name, "help") == 0) {
        print_usage(stdout);
        return 0;
    }
    if (strcmp(name, "--version") == 0 || strcmp(name, "version") == 0)
        return print_version();
    for (size_t i = 0; i < N_COMMANDS; i++)
        if (commands[i].run && strcmp(commands[i].name, name) == 0) {
            /* A command that is not distributed runs once, on rank 0, as
             * a job of one; the other ranks leave at once. */
            if (!commands[i].distributed && sj_dist_size() > 1) {
                if (!sj_dist_is_root())
                    return 0;
                sj_dist_go_alone();
            }
            cli_getopt_reset();
            cli_set_command(commands[i].name);
            return commands[i].run(argc - 1, argv + 1);
        }
    fprintf(stderr, "sjtalign: unknown command '%s'\n\n", name);
    print_usage(stderr);
    return 2;
}

/* How long a failing rank waits at exit for the others before it stops
 * the job: ranks that met the same failure (bad input every rank reads)
 * arrive within moments of each other; a rank that does not arrive waits
 * in a collective the failing rank will never join. */
#define EXIT_GRACE_SECONDS 5.0

/* How a rank leaves the job. Every rank meets the others at the exit
 * (sj_dist_leave_together): when all arrive they leave normally with the
 * lowest failing rank's exit code, and a failure only a rank other than
 * 0 met is said by that rank. A failing rank the others do not join in
 * time stops the whole job (MPI_Abort) with its exit code. */
static int leave_job(int rc)
{
    int code = rc, root_failed = 0;
    if (sj_dist_leave_together(rc, EXIT_GRACE_SECONDS, &code, &root_failed) != 0) {
        cli_say_unsaid();
        sj_dist_abort(rc);
    }
    if (rc != 0 && !root_failed)
        cli_say_unsaid();
    sj_dist_finalize();
    return code;
}

int main(int argc, char **argv)
{
    /* both may re-execute the program, so they come before MPI starts */
    cli_select_kernels(argv);
    sj_blas_ensure_core(argc, argv);
    sj_error err;
    sj_error_clear(&err);
    if (sj_dist_init(&argc, &argv, &err) != SJ_OK) {
        fprintf(stderr, "sjtalign: error: %s\n", err.msg);
        return 1;
    }
    return leave_job(dispatch(argc, argv));
}
