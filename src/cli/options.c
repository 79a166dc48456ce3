/* Command-line parsing, checking and help, generated from each command's
 * option table (options.h). */
#include "options.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "cli.h"
#include "sjtalign/dist.h"
#include "sjtalign/io.h"
#include "sjtalign/lm.h"
#include "sjtalign/util.h"

#define OPTION_BASE 1000
#define HELP_COLUMN 22

static size_t count_options(const cli_command_spec *spec)
{
    size_t n = 0;
    while (spec->options[n].name)
        n++;
    return n;
}

static int takes_value(const cli_option *o)
{
    return o->type != CLI_FLAG;
}

static int is_path(cli_type t)
{
    return t == CLI_IN_FILE || t == CLI_IN_DIR || t == CLI_OUT_FILE || t == CLI_OUT_DIR;
}

/* ---- checking one value --------------------------------------------------- */

static int check_whole(const cli_option *o, const char *value, char *why, size_t len)
{
    double v;
    if (sj_parse_number(value, &v) != 0 || !isfinite(v) || v != floor(v)) {
        snprintf(why, len, "expected a whole number from %.0f to %.0f, got '%s'", o->min, o->max,
                 value);
        return -1;
    }
    if (v < o->min || v > o->max) {
        snprintf(why, len, "must be between %.0f and %.0f, got '%s'", o->min, o->max, value);
        return -1;
    }
    return 0;
}

static int check_real(const cli_option *o, const char *value, char *why, size_t len)
{
    double v;
    if (sj_parse_number(value, &v) != 0 || !isfinite(v)) {
        snprintf(why, len, "expected a number from %g to %g, got '%s'", o->min, o->max, value);
        return -1;
    }
    if (v < o->min || v > o->max) {
        snprintf(why, len, "must be between %g and %g, got '%s'", o->min, o->max, value);
        return -1;
    }
    return 0;
}

static int parse_seed(const char *value, uint64_t *out)
{
    if (!value[0] || value[0] == '-' || value[0] == '+' || value[0] == ' ')
        return -1;
    for (const char *c = value; *c; c++)
        if (*c < '0' || *c > '9')
            return -1;
    errno = 0;
    unsigned long long v = strtoull(value, NULL, 10);
    if (errno == ERANGE)
        return -2;
    *out = (uint64_t)v;
    return 0;
}

static int choice_index(const char *choices, const char *value)
{
    size_t n = strlen(value);
    int index = 0;
    for (const char *c = choices; *c; index++) {
        const char *bar = strchr(c, '|');
        size_t len = bar ? (size_t)(bar - c) : strlen(c);
        if (len == n && strncasecmp(c, value, n) == 0)
            return index;
        if (!bar)
            break;
        c = bar + 1;
    }
    return -1;
}

int cli_check_value(const cli_option *o, const char *value, char *why, size_t why_len)
{
    uint64_t seed;
    if (!takes_value(o))
        return 0;
    if (!value || !value[0]) {
        snprintf(why, why_len, "expected a value, got an empty one");
        return -1;
    }
    switch (o->type) {
    case CLI_INT:
        return check_whole(o, value, why, why_len);
    case CLI_REAL:
        return check_real(o, value, why, why_len);
    case CLI_CHOICE:
        if (choice_index(o->choices, value) >= 0)
            return 0;
        snprintf(why, why_len, "expected one of %s, got '%s'", o->choices, value);
        return -1;
    case CLI_SEED: {
        int rc = parse_seed(value, &seed);
        if (rc == -2)
            snprintf(why, why_len, "is too large: the largest seed is %" PRIu64 ", got '%s'",
                     UINT64_MAX, value);
        else if (rc != 0)
            snprintf(why, why_len, "expected a non-negative whole number, got '%s'", value);
        return rc == 0 ? 0 : -1;
    }
    case CLI_IN_FILE:
    case CLI_IN_DIR:
        if (strcmp(value, "-") == 0 && !(o->flags & CLI_STDIN)) {
            snprintf(why, why_len, "cannot read standard input ('-'); give a path");
            return -1;
        }
        return 0;
    case CLI_OUT_FILE:
    case CLI_OUT_DIR:
        if (strcmp(value, "-") == 0 && !(o->flags & CLI_STDOUT)) {
            snprintf(why, why_len, "cannot write to standard output ('-'); give a path");
            return -1;
        }
        return 0;
    default:
        return 0;
    }
}

/* ---- "did you mean" --------------------------------------------------------- */

static size_t edit_distance(const char *a, const char *b)
{
    size_t n = strlen(a), m = strlen(b);
    if (n > 64 || m > 64)
        return 99;
    size_t row[65];
    for (size_t j = 0; j <= m; j++)
        row[j] = j;
    for (size_t i = 1; i <= n; i++) {
        size_t diagonal = row[0];
        row[0] = i;
        for (size_t j = 1; j <= m; j++) {
            size_t above = row[j];
            size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
            size_t best = diagonal + cost;
            if (above + 1 < best)
                best = above + 1;
            if (row[j - 1] + 1 < best)
                best = row[j - 1] + 1;
            row[j] = best;
            diagonal = above;
        }
    }
    return row[m];
}

const char *cli_nearest_option(const cli_command_spec *spec, const char *typed)
{
    const char *best = NULL;
    size_t best_d = 3; /* at most two edits */
    for (const cli_option *o = spec->options; o->name; o++) {
        size_t d = edit_distance(typed, o->name);
        if (d < best_d) {
            best_d = d;
            best = o->name;
        }
    }
    return best;
}

static int unknown_option(const cli_command_spec *spec, const char *arg)
{
    if (strncmp(arg, "--", 2) != 0)
        return cli_usage_error(spec->name, "unknown option '%s'", arg);
    char name[128];
    snprintf(name, sizeof name, "%s", arg + 2);
    char *eq = strchr(name, '=');
    if (eq)
        *eq = '\0';
    const char *near = cli_nearest_option(spec, name);
    if (near)
        return cli_usage_error(spec->name, "unknown option '--%s'; did you mean '--%s'?", name,
                               near);
    return cli_usage_error(spec->name, "unknown option '--%s'", name);
}

/* ---- parsing ------------------------------------------------------------------ */

static struct option *getopt_table(const cli_command_spec *spec, size_t n)
{
    struct option *t = sj_calloc(n + 2, sizeof *t);
    if (!t)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        t[i].name = spec->options[i].name;
        t[i].has_arg = takes_value(&spec->options[i]) ? required_argument : no_argument;
        t[i].val = OPTION_BASE + (int)i;
    }
    t[n].name = "help";
    t[n].has_arg = no_argument;
    t[n].val = 'h';
    return t;
}

static int alloc_args(const cli_command_spec *spec, int argc, cli_args *a)
{
    memset(a, 0, sizeof *a);
    a->spec = spec;
    a->n = count_options(spec);
    a->option = sj_calloc(a->n + 1, sizeof *a->option);
    a->value = sj_calloc(a->n + 1, sizeof *a->value);
    a->given = sj_calloc(a->n + 1, sizeof *a->given);
    a->joined = sj_calloc(a->n + 1, sizeof *a->joined);
    a->positional = sj_calloc((size_t)argc + 1, sizeof *a->positional);
    if (!a->option || !a->value || !a->given || !a->joined || !a->positional)
        return -1;
    for (size_t i = 0; i < a->n; i++)
        a->option[i] = &spec->options[i];
    return 0;
}

/* A list option given again adds to its list ("--after a --after b" is
 * "--after a,b"), so no value given is silently dropped. */
static int append_to_list(cli_args *a, size_t i, const char *value)
{
    char *joined = sj_asprintf("%s,%s", a->value[i], value);
    if (!joined)
        return cli_usage_error(a->spec->name, "out of memory");
    free(a->joined[i]);
    a->joined[i] = joined;
    a->value[i] = joined;
    a->given[i]++;
    return 0;
}

/* A choice is matched in any letter case ("BH" is "bh"); the value kept
 * is the choice as the table spells it, so every reader compares one
 * spelling. */
static int store_choice(cli_args *a, size_t i, const char *value)
{
    const char *c = a->option[i]->choices;
    for (int k = choice_index(c, value); k > 0; k--)
        c = strchr(c, '|') + 1;
    char *canonical = sj_strndup(c, strcspn(c, "|"));
    if (!canonical)
        return cli_usage_error(a->spec->name, "out of memory");
    free(a->joined[i]);
    a->joined[i] = canonical;
    a->value[i] = canonical;
    a->given[i]++;
    return 0;
}

static int store_value(cli_args *a, size_t i, const char *value)
{
    const cli_option *o = a->option[i];
    char why[512];
    if (cli_check_value(o, value, why, sizeof why) != 0)
        return cli_usage_error(a->spec->name, "--%s %s", o->name, why);
    if (o->type == CLI_CHOICE)
        return store_choice(a, i, value);
    if ((o->flags & CLI_LIST) && a->value[i])
        return append_to_list(a, i, value);
    a->value[i] = value;
    a->given[i]++;
    return 0;
}

static int check_required(const cli_args *a)
{
    for (size_t i = 0; i < a->n; i++)
        if ((a->option[i]->flags & CLI_REQUIRED) && !a->given[i])
            return cli_usage_error(a->spec->name, "--%s is required", a->option[i]->name);
    return 0;
}

/* getopt_long takes a unique prefix ("--step" for "--steps"); names must
 * be typed in full, so that a shortened one gets its "did you mean" and a
 * pipeline setting means the same on the command line. */
static int typed_in_full(const char *token, const char *name)
{
    if (strncmp(token, "--", 2) != 0)
        return 0;
    size_t n = strcspn(token + 2, "=");
    return n == strlen(name) && strncmp(token + 2, name, n) == 0;
}

static int read_options(const cli_command_spec *spec, int argc, char **argv, cli_args *a,
                        const struct option *table)
{
    cli_getopt_reset();
    opterr = 0;
    for (;;) {
        /* "+" stops at the first non-option, so the option just read is
         * always the argument at `at` (positional arguments keep their
         * order); ":" reports a missing value apart from an unknown option. */
        int at = optind > 0 ? optind : 1;
        int c = getopt_long(argc, argv, "+:", table, NULL);
        if (c == -1)
            return 0;
        if (c == ':')
            return cli_usage_error(spec->name, "%s expects a value", argv[optind - 1]);
        if (c == '?')
            return unknown_option(spec, argv[optind - 1]);
        const char *name = c == 'h' ? "help" : a->option[c - OPTION_BASE]->name;
        if (!typed_in_full(argv[at], name))
            return unknown_option(spec, argv[at]);
        if (c == 'h') {
            cli_print_help(spec);
            return 1;
        }
        size_t i = (size_t)(c - OPTION_BASE);
        if (store_value(a, i, takes_value(a->option[i]) ? optarg : NULL) != 0)
            return 2;
    }
}

int cli_parse(const cli_command_spec *spec, int argc, char **argv, int allow_positional,
              cli_args *out)
{
    if (alloc_args(spec, argc, out) != 0) {
        cli_args_free(out);
        fprintf(stderr, "sjtalign %s: out of memory\n", spec->name);
        return 2;
    }
    struct option *table = getopt_table(spec, out->n);
    if (!table) {
        fprintf(stderr, "sjtalign %s: out of memory\n", spec->name);
        return 2;
    }
    int rc = 0;
    int index = 1;
    /* Options and positional arguments may interleave; each getopt pass
     * stops at a positional argument, which is kept in order. */
    while (rc == 0 && index < argc) {
        rc = read_options(spec, argc - index + 1, argv + index - 1, out, table);
        if (rc != 0)
            break;
        int consumed = optind;
        index += consumed - 1;
        if (index < argc) {
            if (!allow_positional)
                rc = cli_usage_error(spec->name, "unexpected argument '%s'", argv[index]);
            else
                out->positional[out->n_positional++] = argv[index++];
        }
    }
    free(table);
    if (rc == 0)
        rc = check_required(out);
    return rc;
}

void cli_args_free(cli_args *a)
{
    free(a->option);
    free(a->value);
    free(a->given);
    for (size_t i = 0; a->joined && i < a->n; i++)
        free(a->joined[i]);
    free(a->joined);
    free(a->positional);
    memset(a, 0, sizeof *a);
}

/* ---- typed values ------------------------------------------------------------ */

static size_t index_of(const cli_args *a, const char *name)
{
    for (size_t i = 0; i < a->n; i++)
        if (strcmp(a->option[i]->name, name) == 0)
            return i;
    fprintf(stderr, "sjtalign %s: internal error: no option --%s in the table\n", a->spec->name,
            name);
    abort();
}

const char *cli_text(const cli_args *a, const char *name)
{
    size_t i = index_of(a, name);
    return a->value[i] ? a->value[i] : a->option[i]->def;
}

double cli_real(const cli_args *a, const char *name)
{
    const char *v = cli_text(a, name);
    double d = 0;
    if (v)
        sj_parse_number(v, &d);
    return d;
}

/* The value was checked to be a whole number in the option's range when
 * the command line was read, so the number read as real is exact. */
long cli_int(const cli_args *a, const char *name)
{
    return (long)cli_real(a, name);
}

void cli_read_fields(const cli_args *a, const cli_field *fields, size_t n, void *settings)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char *at = (unsigned char *)settings + fields[i].offset;
        double v = cli_real(a, fields[i].option);
        int as_int = (int)v;
        long as_long = (long)v;
        /* memcpy: the field's type is known only from the table */
        switch (fields[i].type) {
        case CLI_FIELD_DOUBLE:
            memcpy(at, &v, sizeof v);
            break;
        case CLI_FIELD_INT:
            memcpy(at, &as_int, sizeof as_int);
            break;
        case CLI_FIELD_LONG:
            memcpy(at, &as_long, sizeof as_long);
            break;
        }
    }
}

int cli_flag(const cli_args *a, const char *name)
{
    return a->given[index_of(a, name)] > 0;
}

uint64_t cli_seed_value(const cli_args *a, const char *name)
{
    const char *v = cli_text(a, name);
    uint64_t seed = 0;
    if (v)
        parse_seed(v, &seed);
    return seed;
}

int cli_choice(const cli_args *a, const char *name)
{
    const char *v = cli_text(a, name);
    return v ? choice_index(a->option[index_of(a, name)]->choices, v) : -1;
}

int cli_given(const cli_args *a, const char *name)
{
    return a->given[index_of(a, name)];
}

const cli_option *cli_find_option(const cli_command_spec *spec, const char *name)
{
    for (const cli_option *o = spec->options; o->name; o++)
        if (strcmp(o->name, name) == 0)
            return o;
    return NULL;
}

void cli_apply_general(const cli_args *a)
{
    for (size_t i = 0; i < a->n; i++) {
        if (!a->value[i])
            continue;
        if (strcmp(a->option[i]->name, "threads") == 0)
            sj_lm_set_threads((int)cli_int(a, "threads"));
        else if (strcmp(a->option[i]->name, "max-input-mb") == 0)
            sj_input_limit_set((size_t)cli_int(a, "max-input-mb") << 20);
    }
}

/* Under MPI every rank parsed the same command line, but checked its
 * outputs on its own file system: the ranks go on only if all accepted it,
 * and leave together (exit 2) otherwise. rc 1 (help printed) is the same on
 * every rank. */
int cli_agree_on_start(const char *command, int rc)
{
    sj_error err;
    sj_error_clear(&err);
    sj_status st =
        rc == 0 || rc == 1 ? SJ_OK : sj_error_set(&err, SJ_ERR_INPUT, "refused the command line");
    if (sj_dist_agree(st, &err) != SJ_OK && rc <= 1) {
        fprintf(stderr, "sjtalign %s: %s\n", command, err.msg);
        rc = 2;
    }
    return rc;
}

/* --resume continues the checkpoint in the output folder, an input then:
 * every rank must hold the same one, or none. */
static sj_status check_same_resume(const cli_args *a, sj_error *err)
{
    if (!cli_find_option(a->spec, "resume") || !cli_flag(a, "resume"))
        return SJ_OK;
    sj_status st = SJ_OK;
    for (size_t i = 0; st == SJ_OK && i < a->n; i++) {
        if (!a->value[i] || a->option[i]->type != CLI_OUT_DIR)
            continue;
        /* the same collectives on every rank: whether it is there, then
         * (if on all) its files */
        struct stat sb;
        char there = stat(a->value[i], &sb) == 0;
        st = sj_dist_same_bytes(a->value[i], &there, 1, err);
        if (st == SJ_OK && there)
            st = sj_dist_same_input(a->value[i], err);
    }
    return st;
}

/* Every rank must read the same bytes in every input file and folder. */
static int check_same_inputs(const cli_args *a)
{
    if (sj_dist_size() == 1)
        return 0;
    sj_error err;
    sj_error_clear(&err);
    sj_status st = SJ_OK;
    for (size_t i = 0; st == SJ_OK && i < a->n; i++) {
        const cli_option *o = a->option[i];
        int is_in = o->type == CLI_IN_FILE || o->type == CLI_IN_DIR;
        if (!a->value[i] || !is_in || strcmp(a->value[i], "-") == 0)
            continue;
        char *list = sj_strndup(a->value[i], strlen(a->value[i]));
        const char *paths[64];
        if (!list) {
            st = sj_error_set(&err, SJ_ERR_WORK, "out of memory");
            break;
        }
        /* a list the parse accepted splits cleanly */
        long n = (o->flags & CLI_LIST) ? cli_split_list(list, paths, 64) : 1;
        if (!(o->flags & CLI_LIST))
            paths[0] = list;
        for (long k = 0; st == SJ_OK && k < n; k++)
            st = sj_dist_same_input(paths[k], &err);
        free(list);
    }
    if (st == SJ_OK)
        st = check_same_resume(a, &err);
    if (st == SJ_OK)
        return 0;
    return cli_fail(&err);
}

int cli_begin(const cli_command_spec *spec, int argc, char **argv, cli_args *c)
{
    int rc = cli_parse(spec, argc, argv, 0, c);
    if (rc == 0)
        rc = cli_check_io(c);
    rc = cli_agree_on_start(spec->name, rc);
    if (rc == 0)
        rc = check_same_inputs(c);
    if (rc != 0) {
        cli_args_free(c);
        return rc == 1 ? 0 : rc;
    }
    cli_apply_general(c);
    return -1;
}

/* ---- inputs against outputs -------------------------------------------------- */

typedef struct {
    const char *flag;
    char *path;
    int is_dir;
} named_path;

/* Splits an option's value into paths (a comma-separated list for CLI_LIST). */
static int collect_paths(const cli_option *o, const char *value, named_path *out, size_t *n,
                         size_t cap)
{
    const char *p = value;
    for (;;) {
        const char *comma = (o->flags & CLI_LIST) ? strchr(p, ',') : NULL;
        size_t len = comma ? (size_t)(comma - p) : strlen(p);
        if (*n == cap)
            return -1;
        out[*n].flag = o->name;
        out[*n].path = sj_strndup(p, len);
        out[*n].is_dir = o->type == CLI_IN_DIR || o->type == CLI_OUT_DIR;
        if (!out[*n].path)
            return -1;
        (*n)++;
        if (!comma)
            return 0;
        p = comma + 1;
    }
}

static int clash_between(const char *command, const named_path *in, const named_path *out)
{
    if (sj_path_same(in->path, out->path))
        return cli_usage_error(command,
                               "--%s %s is also the input --%s %s; sjtalign never "
                               "writes over its own input",
                               out->flag, out->path, in->flag, in->path);
    if (out->is_dir && sj_path_inside(in->path, out->path))
        return cli_usage_error(command,
                               "--%s %s would replace the folder that holds the input --%s %s; "
                               "choose another --%s",
                               out->flag, out->path, in->flag, in->path, out->flag);
    return 0;
}

/* Refused before any work rather than after it: an output that is a link,
 * device, FIFO or socket, a missing folder, or a folder holding files this
 * command did not write there. */
static int check_output_target(const char *command, const named_path *out)
{
    sj_error err;
    sj_error_clear(&err);
    sj_status st = out->is_dir ? sj_outdir_check_replaceable_by(out->path, command, &err)
                               : sj_output_check(out->path, &err);
    if (st == SJ_OK)
        return 0;
    fprintf(stderr, "sjtalign %s: %s\n", command, err.msg);
    return 2;
}

int cli_check_io(const cli_args *a)
{
    size_t cap = 0;
    for (size_t i = 0; i < a->n; i++)
        if (a->value[i] && is_path(a->option[i]->type))
            cap += 1 + (a->option[i]->flags & CLI_LIST ? strlen(a->value[i]) : 0);
    named_path *ins = sj_calloc(cap + 1, sizeof *ins);
    named_path *outs = sj_calloc(cap + 1, sizeof *outs);
    size_t n_in = 0, n_out = 0;
    int rc = (!ins || !outs) ? cli_usage_error(a->spec->name, "out of memory") : 0;
    for (size_t i = 0; rc == 0 && i < a->n; i++) {
        const cli_option *o = a->option[i];
        if (!a->value[i] || !is_path(o->type) || strcmp(a->value[i], "-") == 0)
            continue;
        int is_out = o->type == CLI_OUT_FILE || o->type == CLI_OUT_DIR;
        if (collect_paths(o, a->value[i], is_out ? outs : ins, is_out ? &n_out : &n_in, cap) != 0)
            rc = cli_usage_error(a->spec->name, "out of memory");
    }
    for (size_t o = 0; rc == 0 && o < n_out; o++)
        for (size_t i = 0; rc == 0 && i < n_in; i++)
            rc = clash_between(a->spec->name, &ins[i], &outs[o]);
    /* --resume continues in its own folder and says itself what is wrong
     * with a folder it cannot continue. */
    int resuming = cli_find_option(a->spec, "resume") && cli_flag(a, "resume");
    for (size_t o = 0; rc == 0 && !resuming && o < n_out; o++)
        rc = check_output_target(a->spec->name, &outs[o]);
    for (size_t i = 0; ins && i < n_in; i++)
        free(ins[i].path);
    for (size_t i = 0; outs && i < n_out; i++)
        free(outs[i].path);
    free(ins);
    free(outs);
    return rc;
}

/* ---- help ---------------------------------------------------------------------- */

static void print_option_help(const cli_option *o)
{
    char head[128];
    const char *meta = o->meta ? o->meta : (o->type == CLI_CHOICE ? o->choices : "X");
    if (takes_value(o))
        snprintf(head, sizeof head, "  --%s %s", o->name, meta);
    else
        snprintf(head, sizeof head, "  --%s", o->name);
    fputs(head, stdout);
    int col = (int)strlen(head);
    if (col >= HELP_COLUMN - 1) {
        fputc('\n', stdout);
        col = 0;
    }
    printf("%*s", HELP_COLUMN - col, "");
    for (const char *c = o->help; *c; c++) {
        fputc(*c, stdout);
        if (*c == '\n')
            printf("%*s", HELP_COLUMN, "");
    }
    if (o->def && o->type != CLI_OUT_FILE && o->type != CLI_OUT_DIR)
        printf(" (default %s)", o->def);
    if (o->flags & CLI_REQUIRED)
        fputs(" [required]", stdout);
    fputc('\n', stdout);
}

void cli_print_help(const cli_command_spec *spec)
{
    printf("usage: sjtalign %s %s\n\n", spec->name, spec->synopsis);
    if (spec->about)
        printf("%s\n\n", spec->about);
    printf("Options:\n");
    for (const cli_option *o = spec->options; o->name; o++)
        print_option_help(o);
    printf("  --help              this text\n");
    if (spec->notes)
        printf("\n%s\n", spec->notes);
    if (spec->examples) {
        printf("\nExamples:\n");
        for (const char *line = spec->examples; *line;) {
            const char *nl = strchr(line, '\n');
            int len = nl ? (int)(nl - line) : (int)strlen(line);
            printf("  %.*s\n", len, line);
            line += len + (nl ? 1 : 0);
        }
    }
}

/* ---- the registry ------------------------------------------------------------------ */

/* Weak, like the commands themselves: a build that leaves a command out
 * (the fuzz targets) still links, and cli_spec_of says it is absent. */
#define SPEC(name) extern const cli_command_spec cli_spec_##name __attribute__((weak));
SPEC(simulate)
SPEC(judge)
SPEC(validate)
SPEC(pretrain)
SPEC(sft)
SPEC(score)
SPEC(baseline)
SPEC(pairs)
SPEC(reward)
SPEC(ppo)
SPEC(dpo)
SPEC(dif)
SPEC(parity)
SPEC(audit)
SPEC(compare)
SPEC(run)
SPEC(bench)
SPEC(split)
SPEC(study)
#undef SPEC

const cli_command_spec *cli_spec_of(const char *command)
{
    const cli_command_spec *const all[] = {
        &cli_spec_simulate, &cli_spec_judge,   &cli_spec_validate, &cli_spec_pretrain,
        &cli_spec_sft,      &cli_spec_score,   &cli_spec_pairs,    &cli_spec_reward,
        &cli_spec_ppo,      &cli_spec_dpo,     &cli_spec_dif,      &cli_spec_parity,
        &cli_spec_audit,    &cli_spec_compare, &cli_spec_run,      &cli_spec_bench,
        &cli_spec_baseline, &cli_spec_split,   &cli_spec_study,
    };
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        if (all[i] && all[i]->name && strcmp(all[i]->name, command) == 0)
            return all[i];
    return NULL;
}
