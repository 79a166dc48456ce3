/* Helpers shared by the subcommands: errors, help and option values. */
#include "cli.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "sjtalign/io.h"

int cli_fail(const sj_error *err)
{
    fprintf(stderr, "sjtalign: error: %s\n", err->msg[0] ? err->msg : "unknown failure");
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

int cli_help(const char *text)
{
    fputs(text, stdout);
    return 0;
}

void cli_getopt_reset(void)
{
    /* GNU getopt re-initialises completely when optind is 0. */
    optind = 0;
    opterr = 1;
}

int cli_bad_option(const char *command)
{
    fprintf(stderr, "Try 'sjtalign %s --help'.\n", command);
    return 2;
}

int cli_long(const char *command, const char *flag, const char *value, long min, long max,
             long *out)
{
    double v;
    if (sj_parse_number(value, &v) != 0 || v != floor(v))
        return cli_usage_error(command, "%s expects a whole number, got '%s'", flag, value);
    if (v < (double)min || v > (double)max)
        return cli_usage_error(command, "%s must be between %ld and %ld, got '%s'", flag, min, max,
                               value);
    *out = (long)v;
    return 0;
}

int cli_double(const char *command, const char *flag, const char *value, double min, double max,
               double *out)
{
    double v;
    if (sj_parse_number(value, &v) != 0)
        return cli_usage_error(command, "%s expects a number, got '%s'", flag, value);
    if (v < min || v > max)
        return cli_usage_error(command, "%s must be between %g and %g, got '%s'", flag, min, max,
                               value);
    *out = v;
    return 0;
}

int cli_seed(const char *command, const char *value, uint64_t *out)
{
    char *end = NULL;
    errno = 0;
    unsigned long long v = strtoull(value, &end, 10);
    if (errno || end == value || *end != '\0' || value[0] == '-')
        return cli_usage_error(command, "--seed expects a non-negative whole number, got '%s'",
                               value);
    *out = (uint64_t)v;
    return 0;
}

int cli_require(const char *command, const char *flag, const char *value)
{
    if (value && *value)
        return 0;
    return cli_usage_error(command, "%s is required", flag);
}
