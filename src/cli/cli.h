/* Shared pieces of the sjtalign command line: the command table and the
 * helpers every subcommand uses to parse options and report errors. */
#ifndef SJTALIGN_CLI_H
#define SJTALIGN_CLI_H

#include <getopt.h>
#include <stddef.h>
#include <stdint.h>

#include "sjtalign/util.h"

/* Each subcommand lives in src/cli/cmd_<name>.c and is entered with argv[0]
 * set to its name. Declared weak so the program links with whichever
 * subcommands are present; main() lists only those that are. */
#define SJ_CLI_COMMAND(name) int cmd_##name(int argc, char **argv) __attribute__((weak));
SJ_CLI_COMMAND(simulate)
SJ_CLI_COMMAND(judge)
SJ_CLI_COMMAND(validate)
SJ_CLI_COMMAND(split)
SJ_CLI_COMMAND(pretrain)
SJ_CLI_COMMAND(sft)
SJ_CLI_COMMAND(score)
SJ_CLI_COMMAND(baseline)
SJ_CLI_COMMAND(pairs)
SJ_CLI_COMMAND(reward)
SJ_CLI_COMMAND(ppo)
SJ_CLI_COMMAND(dpo)
SJ_CLI_COMMAND(dif)
SJ_CLI_COMMAND(parity)
SJ_CLI_COMMAND(audit)
SJ_CLI_COMMAND(compare)
SJ_CLI_COMMAND(run)
SJ_CLI_COMMAND(bench)
SJ_CLI_COMMAND(study)
#undef SJ_CLI_COMMAND

/* The command being run (set once by main), so every message starts with
 * "sjtalign CMD:". */
void cli_set_command(const char *name);
const char *cli_command(void);

/* Prints "sjtalign CMD: error: <message>" and returns the exit code (1 or 2). */
int cli_fail(const sj_error *err);
/* Under MPI, a rank other than 0 keeps to itself a failure rank 0 meets
 * too (bad input, an agreed failure); this says the last one after all,
 * for when rank 0 did not fail (see main.c). */
void cli_say_unsaid(void);
/* Prints a usage error with a pointer to --help; returns 2. */
int cli_usage_error(const char *command, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* The score column of dif, parity, validate and audit when --score is not
 * given: "score_mode" in a file that has it (a scores file of `sjtalign
 * score`, where "score" is the expected score), else "score". */
const char *cli_default_score_column(const char *const *names, size_t n_names);
/* The column a command reads its scores from: `given` when the user named
 * one, else the default for the header. Says on stderr which it is
 * ("dif: scores from column 'score_mode'"), so a reader never wonders. */
const char *cli_score_column(const char *given, const char *const *names, size_t n_names);
/* The same for a CSV file's header, read without the rest of the file;
 * NULL after printing the error when the header cannot be read. */
const char *cli_score_column_of_file(const char *given, const char *path);

/* Resets getopt so a command can be parsed more than once in a process. */
void cli_getopt_reset(void);

/* A p-value as the pages print it: "<.001", else three decimals without
 * the leading zero ("NA" for NaN). */
void cli_format_p(double p, char *out, size_t n);
/* Splits "a,b,c" in place into at most `max` labels; returns how many, or
 * -1 on an empty label or too many. */
long cli_split_list(char *list, const char **out, size_t max);
/* The DIF findings line on standard error: PREFIX "focal 'F' against
 * reference 'R': T of N items tested, K flagged (ETS B/C or BB/CC): LIST"
 * (or "none flagged"); `flagged_list` is "S03 CC, S06 BB" or empty. */
void cli_print_dif_findings(const char *prefix, const char *focal, const char *reference,
                            size_t tested, size_t n_items, size_t flagged,
                            const char *flagged_list);

#endif
