/* Helpers shared by the subcommands: errors and help. */
#include "cli.h"
#include "sjtalign/dist.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "sjtalign/io.h"

static const char *command_name;
/* A failure this rank (not rank 0) kept to itself, expecting rank 0 to
 * report the same one; said after all if rank 0 did not (cli_say_unsaid). */
static char unsaid[SJ_ERROR_MSG_MAX + 128];

void cli_set_command(const char *name)
{
    command_name = name;
}

const char *cli_command(void)
{
    return command_name ? command_name : "";
}

int cli_fail(const sj_error *err)
{
    int code = err->status == SJ_ERR_INPUT ? 2 : 1;
    FILE *out = stderr;
    if (!sj_dist_is_root()) {
        /* Rank 0 reports what every rank met: bad input (the ranks read the
         * same checked inputs) and failures agreed between them. Another
         * rank speaks only for a failure of its own. */
        if (err->status == SJ_ERR_INPUT || sj_dist_failed_together()) {
            snprintf(unsaid, sizeof unsaid, "sjtalign %s: error: (rank %d of %d) %s", cli_command(),
                     sj_dist_rank(), sj_dist_size(), err->msg[0] ? err->msg : "unknown failure");
            return code;
        }
        out = sj_dist_error_stream();
    }
    fprintf(out, "sjtalign%s%s: error: ", command_name ? " " : "", cli_command());
    if (!sj_dist_is_root())
        fprintf(out, "(rank %d of %d) ", sj_dist_rank(), sj_dist_size());
    fprintf(out, "%s\n", err->msg[0] ? err->msg : "unknown failure");
    return code;
}

void cli_say_unsaid(void)
{
    if (unsaid[0])
        fprintf(sj_dist_error_stream(), "%s\n", unsaid);
    unsaid[0] = '\0';
}

int cli_usage_error(const char *command, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "sjtalign %s: ", command);
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\nTry 'sjtalign %s --help'.\n", command);
    va_end(ap);
    return 2;
}

void cli_getopt_reset(void)
{
    /* GNU getopt re-initialises completely when optind is 0. */
    optind = 0;
    opterr = 1;
}

const char *cli_default_score_column(const char *const *names, size_t n_names)
{
    for (size_t i = 0; i < n_names; i++)
        if (strcmp(names[i], "score_mode") == 0)
            return "score_mode";
    return "score";
}

const char *cli_score_column(const char *given, const char *const *names, size_t n_names)
{
    const char *col = given ? given : cli_default_score_column(names, n_names);
    fprintf(stderr, "%s: scores from column '%s'\n", cli_command(), col);
    return col;
}

const char *cli_score_column_of_file(const char *given, const char *path)
{
    if (given)
        return cli_score_column(given, NULL, 0);
    sj_error err;
    sj_error_clear(&err);
    sj_csv_stream *s = sj_csv_stream_open(path, &err);
    if (!s) {
        cli_fail(&err);
        return NULL;
    }
    const sj_table *t = sj_csv_stream_table(s);
    const char *col = cli_score_column(NULL, (const char *const *)t->names, t->n_cols);
    sj_csv_stream_close(s);
    return col;
}

void cli_format_p(double p, char *out, size_t n)
{
    if (!isfinite(p))
        snprintf(out, n, "NA");
    else if (p < 0.001)
        snprintf(out, n, "<.001");
    else if (p >= 0.9995)
        snprintf(out, n, "1.000");
    else
        snprintf(out, n, ".%03.0f", p * 1000);
}

long cli_split_list(char *list, const char **out, size_t max)
{
    size_t n = 0;
    for (char *tok = list;;) {
        char *comma = strchr(tok, ',');
        if (comma)
            *comma = '\0';
        if (tok[0] == '\0' || n == max)
            return -1;
        out[n++] = tok;
        if (!comma)
            return (long)n;
        tok = comma + 1;
    }
}

void cli_print_dif_findings(const char *prefix, const char *focal, const char *reference,
                            size_t tested, size_t n_items, size_t flagged, const char *flagged_list)
{
    fprintf(stderr, "%sfocal '%s' against reference '%s': %zu of %zu items tested, ", prefix, focal,
            reference, tested, n_items);
    if (flagged)
        fprintf(stderr, "%zu flagged (ETS B/C or BB/CC): %s\n", flagged, flagged_list);
    else
        fprintf(stderr, "none flagged\n");
}
