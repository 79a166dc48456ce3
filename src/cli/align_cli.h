/* Options and loading shared by the alignment subcommands (sft, score,
 * pairs, reward, ppo, dpo). */
#ifndef SJTALIGN_ALIGN_CLI_H
#define SJTALIGN_ALIGN_CLI_H

#include "options.h"
#include "sjtalign/align.h"
#include "sjtalign/io.h"

/* Parses a command line by its spec, refuses an output that clashes with an
 * input and applies --threads and --max-input-mb. Returns -1 to go on, else
 * the exit code (0 after --help, 2 after a usage error; c is then freed). */
int cmd_options_begin(const cli_command_spec *spec, int argc, char **argv, cli_args *c);

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

/* Loads --instrument and the responses of --data by the command's column
 * options; without --score, a file that has no 'score' column but a
 * 'human_score' column is read by the latter. Returns an exit code (0 on
 * success). */
int align_load_responses(const cli_args *c, int need, sj_instrument **ins, sj_responses **data);

/* The responses column options, as getopt_long entries with these values. */
enum {
    ALIGN_OPT_PERSON = 1000,
    ALIGN_OPT_ITEM,
    ALIGN_OPT_TEXT,
    ALIGN_OPT_GROUP,
    ALIGN_OPT_SCORE,
    ALIGN_OPT_THREADS,
    ALIGN_OPT_QUIET,
    ALIGN_OPT_RESUME,
    ALIGN_OPT_STOP_AFTER,
};

#define ALIGN_COLUMN_OPTIONS                                                                       \
    {"person", required_argument, 0, ALIGN_OPT_PERSON},                                            \
        {"item", required_argument, 0, ALIGN_OPT_ITEM},                                            \
        {"text", required_argument, 0, ALIGN_OPT_TEXT},                                            \
        {"group", required_argument, 0, ALIGN_OPT_GROUP},                                          \
        {"score", required_argument, 0, ALIGN_OPT_SCORE},                                          \
        {"threads", required_argument, 0, ALIGN_OPT_THREADS},                                      \
    {                                                                                              \
        "quiet", no_argument, 0, ALIGN_OPT_QUIET                                                   \
    }

#define ALIGN_COLUMN_HELP                                                                          \
    "  --person COL --item COL --text COL --group COL --score COL\n"                               \
    "                     column names (defaults person_id, item_id, response, group,\n"           \
    "                     score; when there is no 'score' column, 'human_score' is used)\n"        \
    "  --threads N        threads for matrix products and loops\n"                                 \
    "  --quiet            no progress bar\n"

/* --resume and --stop-after of the training stages (sft, reward, ppo, dpo). */
#define ALIGN_RUN_OPTIONS                                                                          \
    {"resume", no_argument, 0, ALIGN_OPT_RESUME},                                                  \
    {                                                                                              \
        "stop-after", required_argument, 0, ALIGN_OPT_STOP_AFTER                                   \
    }

#define ALIGN_RUN_HELP                                                                             \
    "  --resume           continue the interrupted run whose checkpoint is in --out\n"             \
    "                     (same inputs and options; same result as an uninterrupted run)\n"        \
    "  --stop-after N     stop after step N as if interrupted (for testing --resume)\n"            \
    "\nCtrl-C (or SIGTERM) stops at the end of the current step, saves the model\n"                \
    "trained so far with what --resume needs to --out, and exits with 130 (143 for\n"              \
    "SIGTERM); a second Ctrl-C ends the program at once.\n"

/* Handles --resume / --stop-after; returns 1 when it was one, 0 when not,
 * -1 (after printing) on a bad value. */
int align_run_option(const char *command, int c, const char *arg, sja_run_control *rc);

/* Catches Ctrl-C and SIGTERM for a training stage and points the run
 * control at the flag and at *stopped_at. */
void align_run_start(sja_run_control *rc, long *stopped_at);

/* The end of a training command: restores the signal handlers and, when
 * the stage stopped early, prints how to continue. Returns rc when the
 * stage failed, the interruption's code when it stopped early (130 after
 * Ctrl-C, 143 after SIGTERM, 0 after --stop-after), else 0 after printing
 * the summary. Takes ownership of summary. */
int align_run_end(const char *command, int rc, long stopped_at, long steps, const char *out,
                  cJSON *summary);

typedef struct {
    sj_columns cols;
    long threads;
    int quiet;
} align_common;

/* Handles a column/threads/quiet option; returns 1 when it was one, 0 when
 * not, and -1 (after printing) on a bad value. */
int align_common_option(const char *command, int c, const char *arg, align_common *a);

/* Applies --threads. */
void align_apply_threads(const align_common *a);

/* Loads the instrument and the responses, resolving the score column
 * (score, else human_score). Returns an exit code (0 on success). */
int align_load_data(const char *instrument_path, const char *data_path, align_common *a, int need,
                    sj_instrument **ins, sj_responses **data);

/* Prints a JSON summary object on one line to stdout (and deletes it). */
void align_print_summary(const char *command, const char *out, cJSON *summary);

#endif
