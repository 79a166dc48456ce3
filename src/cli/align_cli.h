/* Options and loading shared by the training and scoring commands
 * (pretrain, sft, score, pairs, reward, ppo, dpo, bench). */
#ifndef SJTALIGN_ALIGN_CLI_H
#define SJTALIGN_ALIGN_CLI_H

#include "options.h"
#include "sjtalign/align.h"
#include "sjtalign/io.h"

/* An output the command writes beside --out (sft's MODEL-pretrain/, score's
 * FILE.json), checked against every input like --out itself. `what` says
 * how it comes about ("without --init, --out m also writes m-pretrain").
 * Returns 0, or 2 after printing the usage error. */
int cmd_check_derived_output(const cli_args *c, const char *what, const char *path, int is_dir);

/* Table entries shared by the alignment commands. */
#define ALIGN_OPT_INSTRUMENT                                                                       \
    {                                                                                              \
        "instrument", CLI_IN_FILE, "FILE", NULL, 0, 0, NULL, CLI_REQUIRED, "instrument.json"       \
    }
#define ALIGN_OPT_VAL_FRACTION                                                                     \
    {                                                                                              \
        "val-fraction", CLI_REAL, "X", "0.1", 0, 0.9, NULL, 0, "share of persons held out"         \
    }
#define ALIGN_OPT_MIN_PAIRS                                                                        \
    {                                                                                              \
        "min-pairs", CLI_INT, "N", "20", 2, 100000000, NULL, 0,                                    \
            "fewest usable judged pairs accepted"                                                  \
    }

/* What the --help of a stage trained on judged pairs says of the file. */
#define ALIGN_PAIRS_FILE_ABOUT                                                                     \
    "The pairs file has fixed columns (the pairs format written by `pairs`)."

/* The schedule of a stage with warm-up and cosine decay (sft, reward,
 * dpo): one range and one help text, each stage its own defaults. */
#define ALIGN_OPT_STEPS(def)                                                                       \
    {                                                                                              \
        "steps", CLI_INT, "N", def, 1, 10000000, NULL, 0, "optimiser steps"                        \
    }
#define ALIGN_OPT_PEAK_LR(def)                                                                     \
    {                                                                                              \
        "lr", CLI_REAL, "X", def, 1e-9, 1, NULL, 0,                                                \
            "peak learning rate (linear warm-up, then cosine decay)"                               \
    }
#define ALIGN_OPT_WARMUP                                                                           \
    {                                                                                              \
        "warmup-fraction", CLI_REAL, "X", "0.1", 0, 1, NULL, 0,                                    \
            "share of the steps with the warm-up"                                                  \
    }

/* The schedule of a stage trained by sft, reward or dpo: steps, batch
 * (what one holds: sequences or pairs), the peak learning rate and the
 * warm-up, each stage its own defaults. */
#define ALIGN_OPT_SCHEDULE(steps, batch, batch_holds, lr)                                          \
    ALIGN_OPT_STEPS(steps), {"batch", CLI_INT, "N", batch, 1, 4096, NULL, 0, batch_holds},         \
        ALIGN_OPT_PEAK_LR(lr), ALIGN_OPT_WARMUP

/* --keep-best of a stage, by the held-out metric it keeps the best model
 * by (its words as the help text breaks them). */
#define ALIGN_OPT_KEEP_BEST(metric)                                                                \
    {                                                                                              \
        "keep-best", CLI_FLAG, NULL, NULL, 0, 0, NULL, 0,                                          \
            "save the evaluated model with the best held-out " metric                              \
            "(ties: lower val_loss) instead of the last"                                           \
    }

/* The last options of every alignment stage: threads, progress, and
 * stopping and continuing a run. */
#define ALIGN_OPT_RUN_CONTROL                                                                      \
    CLI_OPT_THREADS, CLI_OPT_QUIET, CLI_OPT_RESUME, CLI_OPT_STOP_AFTER, CLI_OPT_MAX_INPUT

/* What Ctrl-C does to a training stage, for the notes of its --help. */
#define ALIGN_RUN_NOTES                                                                            \
    "Ctrl-C (or SIGTERM) stops at the end of the current step, saves the model\n"                  \
    "trained so far with what --resume needs to --out, and exits with 130 (143 for\n"              \
    "SIGTERM); a second Ctrl-C ends the program at once."

/* The column options of the command (person, item, text, group, score);
 * those it lacks stay NULL, which means the library's default. */
void align_columns(const cli_args *c, sj_columns *cols);

/* --resume and --stop-after. */
void align_run_options(const cli_args *c, sja_run_control *rc);

/* Reads the options every training stage (sft, reward, ppo, dpo) has into
 * the same-named fields of its options struct `o`: steps, batch, lr,
 * warmup-fraction, keep-best, eval-every, seed, quiet, resume and
 * stop-after. A macro because each stage has its own options struct. */
#define ALIGN_READ_STAGE_OPTIONS(c, o)                                                             \
    do {                                                                                           \
        (o)->steps = cli_int(c, "steps");                                                          \
        (o)->batch = (int)cli_int(c, "batch");                                                     \
        (o)->lr = cli_real(c, "lr");                                                               \
        (o)->warmup_fraction = cli_real(c, "warmup-fraction");                                     \
        (o)->keep_best = cli_flag(c, "keep-best");                                                 \
        (o)->eval_every = cli_int(c, "eval-every");                                                \
        (o)->seed = cli_seed_value(c, "seed");                                                     \
        (o)->quiet = cli_flag(c, "quiet");                                                         \
        align_run_options(c, &(o)->run);                                                           \
    } while (0)

/* The stages trained on judged pairs. */
typedef enum { ALIGN_PAIRS_REWARD, ALIGN_PAIRS_DPO } align_pairs_kind;

/* The whole of a command that trains a stage on judged pairs (reward,
 * dpo): reads the options of spec's table (defaults included), loads
 * --instrument, --pairs and the starting model, trains into --out and ends
 * as align_run_end does. Returns the exit code. */
int align_pairs_command(const cli_command_spec *spec, align_pairs_kind kind, int argc, char **argv);

/* Loads --instrument and the responses of --data by the command's column
 * options; without --score, a file that has no 'score' column but a
 * 'human_score' column is read by the latter. Returns an exit code (0 on
 * success). */
int align_load_responses(const cli_args *c, int need, sj_instrument **ins, sj_responses **data);

/* Catches Ctrl-C and SIGTERM for a training stage and points the run
 * control at the flag and at *stopped_at. */
void align_run_start(sja_run_control *rc, long *stopped_at);

/* What a training command carries from the start of its stage to the end:
 * the error, the stage's summary and where a signal stopped it. */
typedef struct {
    sj_error err;
    cJSON *summary;
    long stopped_at;
} align_run;

/* Clears the run and starts it as align_run_start does. */
void align_run_begin(align_run *r, sja_run_control *rc);

/* align_run_end for the run: rc is the exit code so far, or -1 when the
 * stage failed with r->err, which is then reported. */
int align_run_close(align_run *r, const char *command, int rc, long steps, const char *out);

/* The end of a training command: restores the signal handlers and, when
 * the stage stopped early, prints how to continue. Returns rc when the
 * stage failed, the interruption's code when it stopped early (130 after
 * Ctrl-C, 143 after SIGTERM, 0 after --stop-after), else 0 after printing
 * the summary. Takes ownership of summary. */
int align_run_end(const char *command, int rc, long stopped_at, long steps, const char *out,
                  cJSON *summary);

/* sft warns when the held-out QWK is at most this: agreement with the
 * human scores hardly better than chance (QWK 0.2 is "slight" on the
 * Landis-Koch scale; operational scorers aim at 0.7). */
#define SFT_QWK_WARN 0.2

/* Prints what a stage wrote and found (its summary: held-out figures, the
 * kept step) in prose on standard error, and deletes the summary;
 * standard output stays empty. */
void align_print_summary(const char *command, const char *out, cJSON *summary);

#endif
