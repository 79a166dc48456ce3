/* Helpers shared by the subcommands: errors and help. */
#include "cli.h"

#include <stdarg.h>
#include <stdio.h>

static const char *command_name;

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
    fprintf(stderr, "sjtalign%s%s: error: %s\n", command_name ? " " : "", cli_command(),
            err->msg[0] ? err->msg : "unknown failure");
    return err->status == SJ_ERR_INPUT ? 2 : 1;
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
