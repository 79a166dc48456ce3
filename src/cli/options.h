/* One option table per command. The table is the single description of a
 * command's options: the getopt table, --help (with its defaults and an
 * Examples section), the type and range checks, the input/output clash check
 * and the settings a pipeline stage accepts are all generated from it. */
#ifndef SJTALIGN_CLI_OPTIONS_H
#define SJTALIGN_CLI_OPTIONS_H

#include <stddef.h>
#include <stdint.h>

typedef enum {
    CLI_FLAG,     /* no value; true when given */
    CLI_INT,      /* a whole number within [min, max] */
    CLI_REAL,     /* a finite number within [min, max] */
    CLI_TEXT,     /* any non-empty text: a label, a column name, a list */
    CLI_CHOICE,   /* one of `choices`, written "a|b|c" */
    CLI_SEED,     /* a non-negative whole number below 2^64 */
    CLI_IN_FILE,  /* a file the command reads */
    CLI_IN_DIR,   /* a folder the command reads (a model, an audit) */
    CLI_OUT_FILE, /* a file the command writes ("-" where CLI_STDOUT) */
    CLI_OUT_DIR,  /* a folder the command writes */
} cli_type;

enum {
    CLI_REQUIRED = 1u << 0,    /* the command cannot run without it */
    CLI_STDOUT = 1u << 1,      /* an output that may be "-" (standard output) */
    CLI_STDIN = 1u << 2,       /* an input that may be "-" (standard input) */
    CLI_LIST = 1u << 3,        /* paths: a comma-separated list (compare --after); given
                                  again, the values add to the list */
    CLI_NO_PIPELINE = 1u << 4, /* not a pipeline setting (testing aids) */
};

typedef struct {
    const char *name; /* long option without "--" */
    cli_type type;
    const char *meta; /* the value's name in --help ("N", "FILE") */
    const char *def;  /* default, as a user would write it; NULL: none */
    double min, max;  /* CLI_INT and CLI_REAL */
    const char *choices;
    unsigned flags;
    const char *help; /* one or more lines; "\n" continues the description */
} cli_option;

/* Terminates an option table. */
#define CLI_END                                                                                    \
    {                                                                                              \
        0                                                                                          \
    }

typedef struct {
    const char *name;          /* the command */
    const char *synopsis;      /* usage after "sjtalign NAME " */
    const char *about;         /* paragraphs before the option list */
    const cli_option *options; /* ended by CLI_END */
    const char *notes;         /* text after the option list, or NULL */
    const char *examples;      /* one command per line, or NULL */
} cli_command_spec;

/* The values given on one command line. */
typedef struct {
    const cli_command_spec *spec;
    size_t n;
    const cli_option **option; /* every option of the spec, in table order */
    const char **value;        /* last value given, NULL when not given */
    int *given;                /* how often it was given */
    char **joined;             /* a CLI_LIST option given more than once: its values joined */
    char **positional;         /* arguments that are not options */
    size_t n_positional;
} cli_args;

/* Parses argv (argv[0] is the command name). Returns 0 on success, 1 when
 * --help was printed (the caller exits 0), 2 after printing a usage error
 * (wrong type or range, unknown option with a "did you mean", a missing
 * required option, a stray argument unless allow_positional). */
int cli_parse(const cli_command_spec *spec, int argc, char **argv, int allow_positional,
              cli_args *out);
void cli_args_free(cli_args *a);

/* Typed values: what was given, else the table's default (text and paths
 * return NULL when neither exists). Asking for an option the spec lacks is
 * a programming error and aborts, so a misspelt name is caught by any test. */
const char *cli_text(const cli_args *a, const char *name);
long cli_int(const cli_args *a, const char *name);
double cli_real(const cli_args *a, const char *name);
int cli_flag(const cli_args *a, const char *name);
uint64_t cli_seed_value(const cli_args *a, const char *name);

/* An option read into a field of a command's settings struct, for reading
 * many at once by cli_read_fields: the field's C type and its offset. */
typedef enum { CLI_FIELD_DOUBLE, CLI_FIELD_INT, CLI_FIELD_LONG } cli_field_type;
typedef struct {
    const char *option;
    cli_field_type type;
    size_t offset;
} cli_field;

/* Reads each of the n options (value or default) into its field of the
 * struct at `settings`. */
void cli_read_fields(const cli_args *a, const cli_field *fields, size_t n, void *settings);
/* Index of the value within the option's choices. */
int cli_choice(const cli_args *a, const char *name);
int cli_given(const cli_args *a, const char *name);

/* Checks one value as the command line would. Returns 0 when it is valid,
 * else writes what was expected to why ("expected a whole number from 1 to
 * 64, got 'x'"). */
int cli_check_value(const cli_option *o, const char *value, char *why, size_t why_len);

/* Finds an option of a spec by its long name; NULL when there is none. */
const cli_option *cli_find_option(const cli_command_spec *spec, const char *name);
/* The option name nearest to a misspelt one (at most two edits), or NULL
 * when none is close: the "did you mean" of a usage error. */
const char *cli_nearest_option(const cli_command_spec *spec, const char *typed);

/* Before any work: every output path (CLI_OUT_FILE, CLI_OUT_DIR) is
 * compared with every input (CLI_IN_FILE, CLI_IN_DIR) after resolving links
 * and "..": an output that is an input, or an output folder that holds an
 * input, is a usage error naming both (returns 2). Writing a new file into
 * an input folder replaces nothing and is allowed. */
int cli_check_io(const cli_args *a);

/* The specs of every command, for `run` and for the help of `sjtalign`. */
const cli_command_spec *cli_spec_of(const char *command);

/* Prints a command's generated --help to stdout. */
void cli_print_help(const cli_command_spec *spec);

/* Options shared by several commands: one meaning and one default
 * everywhere. Each expands to one table entry. */
#define CLI_OPT_PERSON                                                                             \
    {                                                                                              \
        "person", CLI_TEXT, "COL", "person_id", 0, 0, NULL, 0, "person column"                     \
    }
#define CLI_OPT_ITEM                                                                               \
    {                                                                                              \
        "item", CLI_TEXT, "COL", "item_id", 0, 0, NULL, 0, "item column"                           \
    }
#define CLI_OPT_TEXT                                                                               \
    {                                                                                              \
        "text", CLI_TEXT, "COL", "response", 0, 0, NULL, 0, "response text column"                 \
    }
#define CLI_OPT_GROUP                                                                              \
    {                                                                                              \
        "group", CLI_TEXT, "COL", "group", 0, 0, NULL, 0, "group column"                           \
    }
#define CLI_OPT_SCORE                                                                              \
    {                                                                                              \
        "score", CLI_TEXT, "COL", "score", 0, 0, NULL, 0,                                          \
            "human score column (when the file has no 'score' column,\n'human_score' is used)"     \
    }
/* The columns of a responses file, in this order, for the commands that
 * read one for training or sampling (sft, pairs, ppo). */
#define CLI_OPT_RESPONSE_COLUMNS                                                                   \
    CLI_OPT_PERSON, CLI_OPT_ITEM, CLI_OPT_TEXT, CLI_OPT_GROUP, CLI_OPT_SCORE
#define CLI_OPT_SEED                                                                               \
    {                                                                                              \
        "seed", CLI_SEED, "S", "1", 0, 0, NULL, 0, "random seed"                                   \
    }
#define CLI_OPT_THREADS                                                                            \
    {                                                                                              \
        "threads", CLI_INT, "N", NULL, 1, 256, NULL, 0,                                            \
            "threads for matrix products and loops (default: all cores)"                           \
    }
#define CLI_OPT_QUIET                                                                              \
    {                                                                                              \
        "quiet", CLI_FLAG, NULL, NULL, 0, 0, NULL, 0, "no progress bar"                            \
    }
#define CLI_OPT_MAX_INPUT                                                                          \
    {                                                                                              \
        "max-input-mb", CLI_INT, "N", NULL, 1, 1048576, NULL, 0,                                   \
            "largest input file accepted, in MiB (default: 4096 for\ntables, 64 for JSON "         \
            "documents)"                                                                           \
    }
#define CLI_OPT_RESUME                                                                             \
    {                                                                                              \
        "resume", CLI_FLAG, NULL, NULL, 0, 0, NULL, CLI_NO_PIPELINE,                               \
            "continue the interrupted run whose checkpoint is in --out\n(same inputs and "         \
            "options; same "                                                                       \
            "result as an uninterrupted run)"                                                      \
    }
#define CLI_OPT_STOP_AFTER                                                                         \
    {                                                                                              \
        "stop-after", CLI_INT, "N", NULL, 1, 1e9, NULL, CLI_NO_PIPELINE,                           \
            "stop after step N as if interrupted (for testing --resume)"                           \
    }

/* Applies --threads and --max-input-mb when the spec has them. */
void cli_apply_general(const cli_args *a);

/* The start of every command: parses a command line by its spec (no
 * positional arguments), refuses an output that clashes with an input and
 * applies --threads and --max-input-mb. Returns -1 to go on, else the exit
 * code (0 after --help, 2 after a usage error; c is then freed). */
int cli_begin(const cli_command_spec *spec, int argc, char **argv, cli_args *c);
/* Under MPI, the ranks' agreement on a parsed command line (rc: 0 ok, 1
 * help printed, else refused): 2 on every rank when any refused it, with
 * one message. For commands that parse without cli_begin (study). */
int cli_agree_on_start(const char *command, int rc);

#endif
