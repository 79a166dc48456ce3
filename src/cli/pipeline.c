/* Pipeline files: checking them, expanding them into stage invocations, and
 * the content-hash stamps that let a re-run skip finished stages. */
#include "pipeline.h"

#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "options.h"
#include "sjtalign/io.h"

/* ---- positions of keys in the pipeline text ------------------------------ */

/* cJSON keeps no positions, so a key's line and column are found by
 * searching the text for each quoted key of its path in turn. */
static void key_position(const char *text, const char *const *path, int depth, long *line,
                         long *column)
{
    const char *at = text;
    for (int i = 0; i < depth && at; i++) {
        char quoted[256];
        snprintf(quoted, sizeof quoted, "\"%s\"", path[i]);
        const char *found = strstr(at, quoted);
        if (found)
            at = found;
        else
            break;
    }
    sj_text_position(text, at, line, column);
}

typedef struct {
    const char *file;
    const char *text;
    sj_error *err;
} checker;

static void key_name(const char *const *path, int depth, char *out, size_t size)
{
    out[0] = '\0';
    for (int i = 0; i < depth; i++)
        snprintf(out + strlen(out), size - strlen(out), "%s%s", i ? "." : "", path[i]);
}

/* An input error at a key: "FILE:LINE:COL: stages.sft.steps: MESSAGE". */
static sj_status key_error(checker *c, const char *const *path, int depth, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static sj_status key_error(checker *c, const char *const *path, int depth, const char *fmt, ...)
{
    long line, column;
    key_position(c->text, path, depth, &line, &column);
    char joined[256];
    key_name(path, depth, joined, sizeof joined);
    char message[1536];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(message, sizeof message, fmt, ap);
    va_end(ap);
    return sj_error_at(c->err, SJ_ERR_INPUT, c->file, line, column, "%s: %s", joined, message);
}

/* ---- what the stages read and write ------------------------------------- */

/* A path the pipeline reads or a stage writes, with the key that named it
 * (for messages) and, for outputs, the stage that writes it. */
typedef struct {
    char *path;
    const char *key[3];
    int depth;
    int is_dir;
    const char *writer; /* stage name; NULL for the stamps folder or an input */
} claim;

typedef struct {
    claim *items;
    size_t n;
} claim_list;

static void claims_free(claim_list *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->items[i].path);
    free(l->items);
    l->items = NULL;
    l->n = 0;
}

/* ---- building stage invocations ------------------------------------------- */

/* The share of persons the split stage holds out when "heldout" is not
 * given. */
#define DEFAULT_HELDOUT 0.3

typedef struct {
    char *base; /* folder that relative paths are resolved against */
    const cJSON *doc;
    const cJSON *stages; /* the "stages" object */
    checker *c;
    char *seed;
    const char *person, *item, *text, *group, *human, *reference, *focal;
    char *instrument, *data, *truth, *judged, *runs, *reports;
    char *sim_dir; /* the simulate stage's folder, or NULL */
    /* The held-out split: the share of persons held out (0: no split), and
     * the files the stages read. Without a split both are `data`. */
    double heldout;
    const char *train_data;                         /* what every training stage reads */
    const char *heldout_data;                       /* what every score stage reads */
    char *split_train, *split_heldout, *split_json; /* the split stage's files, or NULL */
    int judged_given;                               /* judged_pairs is a user's file */
    claim_list inputs; /* the user's files: data, instrument, truth, path settings */
    claim_list outputs;
    int out_of_memory; /* an allocation failed while expanding: reported once */
} builder;

static int add_claim(builder *b, claim_list *l, const char *path, const char *const *key, int depth,
                     int is_dir, const char *writer)
{
    claim *grown = realloc(l->items, (l->n + 1) * sizeof *grown);
    char *copy = sj_strdup(path);
    if (!grown || !copy) {
        if (grown)
            l->items = grown;
        free(copy);
        b->out_of_memory = 1;
        return -1;
    }
    l->items = grown;
    claim *c = &l->items[l->n++];
    memset(c, 0, sizeof *c);
    c->path = copy;
    for (int i = 0; i < depth && i < 3; i++)
        c->key[i] = key[i];
    c->depth = depth;
    c->is_dir = is_dir;
    c->writer = writer;
    return 0;
}

/* Removes "." and "dir/.." components without touching the file system,
 * so stage command lines and messages read as a person would write them. */
static char *normalise_path(const char *path)
{
    size_t n = strlen(path);
    char *out = malloc(n + 2);
    char *copy = sj_strdup(path);
    if (!out || !copy) {
        free(out);
        free(copy);
        return NULL;
    }
    int absolute = path[0] == '/';
    size_t len = 0;
    out[0] = '\0';
    char *save = NULL;
    for (char *part = strtok_r(copy, "/", &save); part; part = strtok_r(NULL, "/", &save)) {
        if (strcmp(part, ".") == 0)
            continue;
        char *last = strrchr(out, '/');
        const char *last_part = last ? last + 1 : out;
        if (strcmp(part, "..") == 0 && len > 0 && strcmp(last_part, "..") != 0) {
            len = last ? (size_t)(last - out) : 0;
            out[len] = '\0';
            continue;
        }
        if (strcmp(part, "..") == 0 && len == 0 && absolute)
            continue;
        len += (size_t)sprintf(out + len, "%s%s", len > 0 ? "/" : "", part);
    }
    free(copy);
    if (absolute) {
        memmove(out + 1, out, len + 1);
        out[0] = '/';
    } else if (len == 0) {
        strcpy(out, ".");
    }
    return out;
}

static char *join_clean(const char *dir, const char *path)
{
    char *joined = path[0] == '/' ? sj_strdup(path) : sj_path_join(dir, path);
    char *clean = joined ? normalise_path(joined) : NULL;
    free(joined);
    return clean;
}

static char *resolve(builder *b, const char *path)
{
    char *r = join_clean(b->base, path);
    if (!r)
        b->out_of_memory = 1;
    return r;
}

/* Appends a copy of `value` to a growable list of strings; with
 * `terminate`, the list stays NULL-terminated (an argv). */
static int push_string(builder *b, char ***list, size_t *n, const char *value, int terminate)
{
    char **grown = realloc(*list, (*n + 1 + (terminate ? 1 : 0)) * sizeof *grown);
    char *copy = value ? sj_strdup(value) : NULL;
    if (!grown || !copy) {
        if (grown)
            *list = grown;
        free(copy);
        b->out_of_memory = 1;
        return -1;
    }
    *list = grown;
    grown[(*n)++] = copy;
    if (terminate)
        grown[*n] = NULL;
    return 0;
}

static void add_arg(builder *b, sj_stage *s, const char *arg)
{
    size_t n = (size_t)s->argc;
    if (push_string(b, &s->argv, &n, arg, 1) == 0)
        s->argc = (int)n;
}

static void add_pair(builder *b, sj_stage *s, const char *flag, const char *value)
{
    add_arg(b, s, flag);
    add_arg(b, s, value);
}

/* Adds --name value only when the stage's command has that option (column
 * names and the seed are offered to every stage that takes them). */
static void add_if_accepted(builder *b, sj_stage *s, const char *name, const char *value)
{
    if (!value || !cli_find_option(cli_spec_of(s->command), name))
        return;
    char flag[64];
    snprintf(flag, sizeof flag, "--%s", name);
    add_pair(b, s, flag, value);
}

static void add_input(builder *b, sj_stage *s, const char *path)
{
    if (path)
        push_string(b, &s->inputs, &s->n_inputs, path, 0);
}

/* An argument naming a file the stage reads: also one of its inputs, so
 * that a change to the file makes the stage out of date. */
static void add_input_pair(builder *b, sj_stage *s, const char *flag, const char *path)
{
    add_pair(b, s, flag, path);
    add_input(b, s, path);
}

/* add_if_accepted for a file the stage reads: also one of its inputs when
 * the command takes it. */
static void add_input_if_accepted(builder *b, sj_stage *s, const char *name, const char *path)
{
    if (!path || !cli_find_option(cli_spec_of(s->command), name))
        return;
    add_if_accepted(b, s, name, path);
    add_input(b, s, path);
}

/* An output of the stage, recorded in its stamp and checked against every
 * input and every other output; `key` is the top-level key that placed it. */
static void add_output(builder *b, sj_stage *s, const char *path, int is_dir, const char *key)
{
    const char *k[1] = {key};
    push_string(b, &s->outputs, &s->n_outputs, path, 0);
    add_claim(b, &b->outputs, path, k, 1, is_dir, s->name);
}

/* A new stage for `command`, or NULL with the error set (out of memory, or
 * a build of sjtalign without that command). */
static sj_stage *new_stage(builder *b, sj_pipeline *p, const char *name, const char *command,
                           const char *what)
{
    if (!cli_spec_of(command)) {
        sj_error_set(b->c->err, SJ_ERR_WORK,
                     "this build of sjtalign has no '%s' command for stage '%s'", command, name);
        return NULL;
    }
    sj_stage *grown = realloc(p->stages, (p->n_stages + 1) * sizeof *grown);
    if (!grown) {
        sj_error_set(b->c->err, SJ_ERR_WORK, "out of memory");
        return NULL;
    }
    p->stages = grown;
    sj_stage *s = &p->stages[p->n_stages++];
    memset(s, 0, sizeof *s);
    s->name = sj_strdup(name);
    s->command = sj_strdup(command);
    s->what = sj_strdup(what);
    add_arg(b, s, command);
    if (!s->name || !s->command || !s->what || b->out_of_memory) {
        sj_error_set(b->c->err, SJ_ERR_WORK, "out of memory");
        return NULL;
    }
    return s;
}

static int has_stage(const builder *b, const char *key)
{
    return cJSON_GetObjectItemCaseSensitive(b->stages, key) != NULL;
}

static void add_columns(builder *b, sj_stage *s, int with_group, int with_human)
{
    add_if_accepted(b, s, "person", b->person);
    add_if_accepted(b, s, "item", b->item);
    add_if_accepted(b, s, "text", b->text);
    if (with_group)
        add_if_accepted(b, s, "group", b->group);
    if (with_human)
        add_if_accepted(b, s, "score", b->human);
}

static char *run_path(builder *b, const char *name)
{
    char *path = sj_path_join(b->runs, name);
    if (!path)
        b->out_of_memory = 1;
    return path;
}

/* ---- stage settings, checked against the command's option table ------------ */

/* How a JSON value reads in a message: the string "3 --out x", the number 3. */
static void describe_value(const cJSON *v, char *out, size_t size)
{
    if (cJSON_IsString(v))
        snprintf(out, size, "the string \"%.60s%s\"", v->valuestring,
                 strlen(v->valuestring) > 60 ? "..." : "");
    else if (cJSON_IsNumber(v))
        snprintf(out, size, "the number %g", v->valuedouble);
    else if (cJSON_IsBool(v))
        snprintf(out, size, "%s", cJSON_IsTrue(v) ? "true" : "false");
    else if (cJSON_IsNull(v))
        snprintf(out, size, "null");
    else
        snprintf(out, size, "%s", cJSON_IsArray(v) ? "an array" : "an object");
}

/* NULL when the JSON type of `v` fits the option, else what was expected. */
static const char *type_mismatch(const cli_option *o, const cJSON *v)
{
    switch (o->type) {
    case CLI_FLAG:
        return cJSON_IsBool(v) ? NULL : "is a switch: expected true or false";
    case CLI_INT:
    case CLI_REAL:
    case CLI_SEED:
        return cJSON_IsNumber(v) ? NULL : "expects a number";
    default:
        return cJSON_IsString(v) ? NULL : "expects a string";
    }
}

static int already_set(const sj_stage *s, const char *flag)
{
    for (int i = 0; i < s->argc; i++)
        if (strcmp(s->argv[i], flag) == 0)
            return 1;
    return 0;
}

static sj_status unknown_setting(builder *b, const sj_stage *s, const char *const *path,
                                 const char *name)
{
    const char *near = cli_nearest_option(cli_spec_of(s->command), name);
    if (!near)
        return key_error(b->c, path, 3,
                         "the %s command has no option --%s (see sjtalign %s --help)", s->command,
                         name, s->command);
    char key[128];
    snprintf(key, sizeof key, "%s", near);
    for (char *c = key; *c; c++)
        if (*c == '-')
            *c = '_';
    return key_error(b->c, path, 3,
                     "the %s command has no option --%s (see sjtalign %s --help); did you mean "
                     "\"%s\" (--%s)?",
                     s->command, name, s->command, key, near);
}

/* A path setting (e.g. pretrain's corpus): resolved against the base,
 * recorded as an input of the stage and of the pipeline. */
static sj_status add_path_setting(builder *b, sj_stage *s, const char *const *path,
                                  const cli_option *o, const char *value)
{
    sj_buf joined = {0};
    int bad = 0;
    const char *part = value;
    for (;;) {
        const char *comma = (o->flags & CLI_LIST) ? strchr(part, ',') : NULL;
        size_t len = comma ? (size_t)(comma - part) : strlen(part);
        char *one = sj_strndup(part, len);
        char *resolved = one && len && strcmp(one, "-") != 0 ? resolve(b, one) : NULL;
        bad = one && (!len || strcmp(one, "-") == 0);
        if (resolved) {
            add_input(b, s, resolved);
            add_claim(b, &b->inputs, resolved, path, 3, o->type == CLI_IN_DIR, NULL);
            if (sj_buf_printf(&joined, "%s%s", joined.len ? "," : "", resolved) != 0)
                b->out_of_memory = 1;
        } else if (!bad) {
            b->out_of_memory = 1;
        }
        free(one);
        free(resolved);
        if (!comma || bad || b->out_of_memory)
            break;
        part = comma + 1;
    }
    char flag[160];
    snprintf(flag, sizeof flag, "--%s", o->name);
    if (!bad && !b->out_of_memory)
        add_pair(b, s, flag, joined.data);
    sj_buf_free(&joined);
    if (bad)
        return key_error(b->c, path, 3,
                         "expected a path (a stage of a pipeline reads no standard input), got "
                         "\"%s\"",
                         value);
    return SJ_OK;
}

/* One setting: it must name an option of the command that a pipeline may
 * set, with a JSON value of the option's type that passes its range check. */
static sj_status add_setting(builder *b, sj_stage *s, const char *key, const cJSON *v)
{
    const char *path[3] = {"stages", key, v->string};
    char name[128];
    snprintf(name, sizeof name, "%s", v->string);
    for (char *c = name; *c; c++)
        if (*c == '_')
            *c = '-';
    const cli_option *o =
        strlen(v->string) < sizeof name ? cli_find_option(cli_spec_of(s->command), name) : NULL;
    if (!o)
        return unknown_setting(b, s, path, name);
    if (o->flags & CLI_NO_PIPELINE)
        return key_error(b->c, path, 3,
                         "--%s is for the command line only, not a pipeline setting (run "
                         "continues an interrupted stage by itself)",
                         name);
    if (o->type == CLI_OUT_FILE || o->type == CLI_OUT_DIR)
        return key_error(b->c, path, 3,
                         "--%s names an output; the pipeline places every output itself "
                         "(under runs and reports)",
                         name);
    char flag[160];
    snprintf(flag, sizeof flag, "--%s", name);
    if (already_set(s, flag))
        return key_error(b->c, path, 3, "the pipeline sets --%s itself from the top-level keys",
                         name);
    const char *expected = type_mismatch(o, v);
    char got[128], value[64], why[512];
    if (expected) {
        describe_value(v, got, sizeof got);
        return key_error(b->c, path, 3, "--%s %s, got %s", name, expected, got);
    }
    if (cJSON_IsBool(v)) {
        if (cJSON_IsTrue(v))
            add_arg(b, s, flag);
        return SJ_OK;
    }
    const char *text = v->valuestring;
    if (cJSON_IsNumber(v)) {
        sj_format_number(v->valuedouble, value, sizeof value);
        text = value;
    }
    if (cli_check_value(o, text, why, sizeof why) != 0)
        return key_error(b->c, path, 3, "--%s %s", name, why);
    if (o->type == CLI_IN_FILE || o->type == CLI_IN_DIR)
        return add_path_setting(b, s, path, o, text);
    add_pair(b, s, flag, text);
    return SJ_OK;
}

static sj_status add_settings(builder *b, sj_stage *s, const char *key)
{
    const cJSON *v;
    cJSON_ArrayForEach(v, cJSON_GetObjectItemCaseSensitive(b->stages, key))
    {
        sj_status st = add_setting(b, s, key, v);
        if (st != SJ_OK)
            return st;
    }
    return SJ_OK;
}

/* ---- the stages ------------------------------------------------------------ */

/* Paths under <runs> that several stages share. */
typedef struct {
    char *pretrain, *sft, *pairs, *reward;
    char *models[3];       /* the scorers to score and audit: sft, ppo, dpo */
    char *baseline_scores; /* the baseline stage's scores file, or NULL */
} run_paths;

static void run_paths_free(run_paths *r)
{
    free(r->baseline_scores);
    free(r->pretrain);
    free(r->sft);
    free(r->pairs);
    free(r->reward);
    for (int m = 0; m < 3; m++)
        free(r->models[m]);
}

/* Where a training stage's argument comes from. */
typedef enum {
    FROM_DATA,
    FROM_INSTRUMENT,
    FROM_TRUTH,
    FROM_JUDGED,
    FROM_PRETRAIN, /* models and files under <runs> written by earlier stages */
    FROM_SFT,
    FROM_PAIRS,
    FROM_REWARD,
    FROM_OUT,           /* the stage's own output */
    FROM_TEXT_COLUMN,   /* columns.text */
    FROM_COLUMNS,       /* person, item and text columns */
    FROM_COLUMNS_GROUP, /* ... and the group column */
    FROM_COLUMNS_HUMAN, /* ... and the human score column (as --score) */
} arg_source;

typedef enum {
    ARG_ALWAYS,
    ARG_IF_ACCEPTED,     /* only when set and the command has the option */
    ARG_IF_PRETRAIN_RUN, /* only when the pipeline has a pretrain stage */
} arg_condition;

typedef struct {
    const char *option; /* without "--"; unused for the column groups */
    arg_source source;
    arg_condition when;
} stage_arg;

/* What a training stage writes: a path of run_paths (or, with own_folder,
 * runs/<own_folder> made for it), whether it is a folder, its place among
 * the scorers to score (-1: none) and whether, without --init, it writes
 * MODEL-pretrain/ too (sft). */
typedef struct {
    arg_source from;
    const char *own_folder;
    int is_dir;
    int scorer;
    int implies_pretrain;
} stage_output_spec;

/* One training stage of the pipeline: its output and its arguments in
 * command-line order (every path other than the output is also an input
 * of the stage). */
typedef struct {
    const char *name; /* the stage key and its command */
    const char *what;
    stage_output_spec output;
    stage_arg args[8]; /* ended by END_ARGS */
} training_stage;

#define ARG(option, source)                                                                        \
    {                                                                                              \
        option, source, ARG_ALWAYS                                                                 \
    }
#define END_ARGS                                                                                   \
    {                                                                                              \
        NULL, FROM_DATA, ARG_ALWAYS                                                                \
    }

static const training_stage TRAINING_STAGES[] = {
    {"pretrain",
     "training the tokenizer and the base model",
     {FROM_PRETRAIN, NULL, 1, -1, 0},
     {ARG("data", FROM_DATA),
      {"text", FROM_TEXT_COLUMN, ARG_IF_ACCEPTED},
      ARG("out", FROM_OUT),
      END_ARGS}},
    {"sft",
     "fine-tuning the scorer on the human scores",
     {FROM_SFT, NULL, 1, 0, 1},
     {{"init", FROM_PRETRAIN, ARG_IF_PRETRAIN_RUN},
      ARG("instrument", FROM_INSTRUMENT),
      ARG("data", FROM_DATA),
      ARG(NULL, FROM_COLUMNS_HUMAN),
      ARG("out", FROM_OUT),
      END_ARGS}},
    {"pairs",
     "sampling candidate scorings for the experts",
     {FROM_PAIRS, NULL, 0, -1, 0},
     {ARG("model", FROM_SFT), ARG("instrument", FROM_INSTRUMENT), ARG("data", FROM_DATA),
      ARG(NULL, FROM_COLUMNS_GROUP), ARG("out", FROM_OUT), END_ARGS}},
    {"judge",
     "the simulated expert panel judges the pairs",
     {FROM_JUDGED, NULL, 0, -1, 0},
     {ARG("truth", FROM_TRUTH), ARG("pairs", FROM_PAIRS), ARG("out", FROM_OUT), END_ARGS}},
    {"reward",
     "training the reward model on the judged pairs",
     {FROM_REWARD, NULL, 1, -1, 0},
     {ARG("init", FROM_SFT), ARG("instrument", FROM_INSTRUMENT), ARG("pairs", FROM_JUDGED),
      ARG("out", FROM_OUT), END_ARGS}},
    {"ppo",
     "aligning the scorer by PPO against the reward model",
     {FROM_OUT, "ppo", 1, 1, 0},
     {ARG("policy", FROM_SFT),
      ARG("reward", FROM_REWARD),
      ARG("instrument", FROM_INSTRUMENT),
      ARG("data", FROM_DATA),
      ARG(NULL, FROM_COLUMNS_GROUP),
      {"truth", FROM_TRUTH, ARG_IF_ACCEPTED},
      ARG("out", FROM_OUT),
      END_ARGS}},
    {"dpo",
     "aligning the scorer by DPO on the judged pairs",
     {FROM_OUT, "dpo", 1, 2, 0},
     {ARG("policy", FROM_SFT), ARG("instrument", FROM_INSTRUMENT), ARG("pairs", FROM_JUDGED),
      ARG("out", FROM_OUT), END_ARGS}},
};

static int is_end(const stage_arg *a)
{
    return !a->option && a->source == FROM_DATA;
}

static const char *source_path(const builder *b, const run_paths *r, arg_source source)
{
    switch (source) {
    case FROM_DATA:
        return b->train_data;
    case FROM_INSTRUMENT:
        return b->instrument;
    case FROM_TRUTH:
        return b->truth;
    case FROM_JUDGED:
        return b->judged;
    case FROM_PRETRAIN:
        return r->pretrain;
    case FROM_SFT:
        return r->sft;
    case FROM_PAIRS:
        return r->pairs;
    case FROM_REWARD:
        return r->reward;
    default:
        return NULL;
    }
}

/* Adds one argument (and the input it names) to the stage. */
static void add_stage_arg(builder *b, sj_stage *s, const run_paths *r, const stage_arg *a,
                          const char *out)
{
    if (a->source >= FROM_COLUMNS) {
        add_columns(b, s, a->source == FROM_COLUMNS_GROUP, a->source == FROM_COLUMNS_HUMAN);
        return;
    }
    if (a->when == ARG_IF_PRETRAIN_RUN && !has_stage(b, "pretrain"))
        return;
    const char *value = a->source == FROM_OUT           ? out
                        : a->source == FROM_TEXT_COLUMN ? b->text
                                                        : source_path(b, r, a->source);
    char flag[64];
    snprintf(flag, sizeof flag, "--%s", a->option);
    if (a->when == ARG_IF_ACCEPTED)
        add_if_accepted(b, s, a->option, value);
    else
        add_pair(b, s, flag, value);
    if (a->source < FROM_OUT)
        add_input(b, s, value);
}

/* The stage's output path; a scorer's is kept in r->models. NULL when out
 * of memory (reported after the expansion). */
static const char *stage_output(builder *b, run_paths *r, const training_stage *t)
{
    const stage_output_spec *o = &t->output;
    if (o->own_folder)
        return r->models[o->scorer] = run_path(b, o->own_folder);
    const char *out = source_path(b, r, o->from);
    if (o->scorer >= 0 && !(r->models[o->scorer] = sj_strdup(out)))
        b->out_of_memory = 1;
    return out;
}

/* Without --init, sft pre-trains into MODEL-pretrain/ beside its model. */
static void claim_implied_pretrain(builder *b, const sj_stage *s)
{
    if (already_set(s, "--init"))
        return;
    char *implied = run_path(b, "sft-pretrain");
    if (implied) {
        const char *key[1] = {"runs"};
        add_claim(b, &b->outputs, implied, key, 1, 1, s->name);
    }
    free(implied);
}

/* With "folds" among its settings, sft cross-fits and also writes the
 * out-of-fold scores of its training rows to <runs>/scores/sft-crossfit.csv. */
static void add_crossfit_output(builder *b, sj_stage *s)
{
    const cJSON *sft = cJSON_GetObjectItemCaseSensitive(b->stages, "sft");
    if (!cJSON_GetObjectItemCaseSensitive(sft, "folds") ||
        !cli_find_option(cli_spec_of(s->command), "crossfit-out"))
        return;
    char *path = run_path(b, "scores/sft-crossfit.csv");
    if (!path)
        return;
    add_if_accepted(b, s, "crossfit-out", path);
    add_output(b, s, path, 0, "runs");
    free(path);
}

static sj_status build_training_stage(builder *b, sj_pipeline *p, run_paths *r,
                                      const training_stage *t)
{
    if (!has_stage(b, t->name))
        return SJ_OK;
    sj_stage *s = new_stage(b, p, t->name, t->name, t->what);
    if (!s)
        return SJ_ERR_WORK;
    const char *out = stage_output(b, r, t);
    if (!out)
        return SJ_OK;
    for (const stage_arg *a = t->args; !is_end(a); a++)
        add_stage_arg(b, s, r, a, out);
    add_if_accepted(b, s, "seed", b->seed);
    /* The panel checks (judge's simulated lean, reward's group preference)
     * need the compared groups' labels. */
    add_if_accepted(b, s, "reference", b->reference);
    add_if_accepted(b, s, "focal", b->focal);
    add_output(b, s, out, t->output.is_dir, "runs");
    if (strcmp(t->name, "sft") == 0)
        add_crossfit_output(b, s);
    sj_status st = add_settings(b, s, t->name);
    if (st == SJ_OK && t->output.implies_pretrain)
        claim_implied_pretrain(b, s);
    return st;
}

/* The transparent baseline scorer, fitted on the human scores of the rows
 * sft trains on and scoring every response the score stages score (the
 * held-out persons' with a split) into <runs>/scores/baseline.csv, as the
 * score stages name their files; its coefficients go to
 * <runs>/baseline-coef.csv. */
static sj_status build_baseline_stage(builder *b, sj_pipeline *p, run_paths *r)
{
    if (!has_stage(b, "baseline"))
        return SJ_OK;
    sj_stage *s = new_stage(b, p, "baseline", "baseline",
                            b->split_json ? "fitting the transparent word-overlap scorer on the "
                                            "training persons and scoring the held-out ones"
                                          : "fitting the transparent word-overlap scorer and "
                                            "scoring every response");
    if (!s)
        return SJ_ERR_WORK;
    char *coef = run_path(b, "baseline-coef.csv");
    if (!(r->baseline_scores = run_path(b, "scores/baseline.csv")) || !coef) {
        free(coef);
        return SJ_OK;
    }
    add_input_pair(b, s, "--instrument", b->instrument);
    add_input_pair(b, s, "--train", b->train_data);
    if (b->heldout_data == b->train_data)
        add_pair(b, s, "--data", b->heldout_data);
    else
        add_input_pair(b, s, "--data", b->heldout_data);
    add_columns(b, s, 0, 1);
    add_pair(b, s, "--out", r->baseline_scores);
    add_pair(b, s, "--coef-out", coef);
    add_output(b, s, r->baseline_scores, 0, "runs");
    add_output(b, s, coef, 0, "runs");
    free(coef);
    return add_settings(b, s, "baseline");
}

static sj_status build_training_stages(builder *b, sj_pipeline *p, run_paths *r)
{
    r->pretrain = run_path(b, "pretrain");
    r->sft = run_path(b, "sft");
    r->pairs = run_path(b, "pairs.csv");
    r->reward = run_path(b, "reward");
    if (b->out_of_memory)
        return SJ_OK;
    sj_status st = SJ_OK;
    size_t n = sizeof TRAINING_STAGES / sizeof TRAINING_STAGES[0];
    for (size_t i = 0; i < n && st == SJ_OK; i++) {
        st = build_training_stage(b, p, r, &TRAINING_STAGES[i]);
        /* The baseline comes right after sft, the other scorer of the human
         * scores. */
        if (st == SJ_OK && strcmp(TRAINING_STAGES[i].name, "sft") == 0)
            st = build_baseline_stage(b, p, r);
    }
    return st;
}

static const char *const MODEL_LABELS[3] = {"sft", "ppo", "dpo"};
static const char *const AUDIT_NAMES[3] = {"before", "after", "after-dpo"};
static const char *const COMPARE_LABELS[3] = {"SFT", "PPO", "DPO"};
/* The audits' titles: which model, before or after alignment. */
static const char *const AUDIT_LABELS[3] = {"SFT (before alignment)", "PPO (after PPO)",
                                            "DPO (after DPO)"};

static sj_status build_score(builder *b, sj_pipeline *p, const char *model, int m, char **scores)
{
    char name[32], file[64];
    snprintf(name, sizeof name, "score-%s", MODEL_LABELS[m]);
    snprintf(file, sizeof file, "scores/%s.csv", MODEL_LABELS[m]);
    sj_stage *s = new_stage(b, p, name, "score",
                            b->split_json ? "scoring the held-out persons' responses"
                                          : "scoring every response");
    if (!s)
        return SJ_ERR_WORK;
    if (!(*scores = run_path(b, file)))
        return SJ_OK;
    add_input_pair(b, s, "--model", model);
    add_input_pair(b, s, "--instrument", b->instrument);
    add_input_pair(b, s, "--data", b->heldout_data);
    add_columns(b, s, 0, 0);
    add_pair(b, s, "--out", *scores);
    add_output(b, s, *scores, 0, "runs");
    return add_settings(b, s, "score");
}

/* The audit of one scores file into reports/<folder>, as stage
 * audit-<folder>, titled by `label` (which model, before or after
 * alignment). */
static sj_status build_audit(builder *b, sj_pipeline *p, const char *scores, const char *folder,
                             const char *label, char **audit)
{
    char name[32];
    snprintf(name, sizeof name, "audit-%s", folder);
    sj_stage *s = new_stage(b, p, name, "audit", "auditing the scores for DIF and parity");
    if (!s)
        return SJ_ERR_WORK;
    if (!(*audit = sj_path_join(b->reports, folder))) {
        b->out_of_memory = 1;
        return SJ_OK;
    }
    add_input_pair(b, s, "--data", scores);
    add_input_pair(b, s, "--instrument", b->instrument);
    add_if_accepted(b, s, "person", b->person);
    add_if_accepted(b, s, "item", b->item);
    add_pair(b, s, "--group", b->group);
    add_pair(b, s, "--reference", b->reference);
    add_pair(b, s, "--focal", b->focal);
    if (b->human)
        add_pair(b, s, "--human", b->human);
    /* A simulation's true scores show what alignment bought, beside what
     * it cost in agreement with the (biased) human scores. */
    if (b->truth)
        add_input_pair(b, s, "--truth", b->truth);
    add_input_if_accepted(b, s, "split", b->split_json);
    add_pair(b, s, "--out", *audit);
    add_if_accepted(b, s, "text", b->text);
    add_if_accepted(b, s, "label", label);
    add_output(b, s, *audit, 1, "reports");
    return add_settings(b, s, "audit");
}

static sj_status build_compare(builder *b, sj_pipeline *p, char *const audits[3], const char *ppo,
                               const char *baseline)
{
    sj_stage *s = new_stage(b, p, "compare", "compare", "comparing the audits before and after");
    if (!s)
        return SJ_ERR_WORK;
    add_input_pair(b, s, "--before", audits[0]);
    sj_buf labels = {0};
    int failed = sj_buf_printf(&labels, "%s", COMPARE_LABELS[0]);
    for (int m = 1; m < 3; m++)
        if (audits[m]) {
            add_input_pair(b, s, "--after", audits[m]);
            failed |= sj_buf_printf(&labels, ",%s", COMPARE_LABELS[m]);
        }
    if (ppo) {
        char *log = sj_path_join(ppo, "train_log.jsonl");
        if (log)
            add_input_pair(b, s, "--training-log", log);
        failed |= !log;
        free(log);
    }
    if (baseline)
        add_input_pair(b, s, "--baseline", baseline);
    /* The expert panel's checks, written by the reward stage. */
    if (has_stage(b, "reward")) {
        char *panel = run_path(b, "reward/panel.json");
        add_input_if_accepted(b, s, "panel", panel);
        free(panel);
    }
    char *out = sj_path_join(b->reports, "compare");
    if (failed || !out) {
        b->out_of_memory = 1;
    } else {
        add_pair(b, s, "--labels", labels.data);
        add_pair(b, s, "--out", out);
        add_output(b, s, out, 1, "reports");
    }
    sj_buf_free(&labels);
    free(out);
    return add_settings(b, s, "compare");
}

static sj_status build_report_stages(builder *b, sj_pipeline *p, const run_paths *r)
{
    sj_status st = SJ_OK;
    char *scores[3] = {0}, *audits[3] = {0}, *baseline_audit = NULL;
    for (int m = 0; m < 3 && st == SJ_OK; m++)
        if (r->models[m] && has_stage(b, "score"))
            st = build_score(b, p, r->models[m], m, &scores[m]);
    for (int m = 0; m < 3 && st == SJ_OK; m++)
        if (scores[m] && has_stage(b, "audit"))
            st = build_audit(b, p, scores[m], AUDIT_NAMES[m], AUDIT_LABELS[m], &audits[m]);
    if (st == SJ_OK && r->baseline_scores && has_stage(b, "audit"))
        st = build_audit(b, p, r->baseline_scores, "baseline", "baseline (transparent scorer)",
                         &baseline_audit);
    if (st == SJ_OK && has_stage(b, "compare") && audits[0] && (audits[1] || audits[2]))
        st = build_compare(b, p, audits, r->models[1], baseline_audit);
    for (int m = 0; m < 3; m++) {
        free(scores[m]);
        free(audits[m]);
    }
    free(baseline_audit);
    return st;
}

/* The simulate stage writes the data set into the folder of `data`; its
 * outputs are the pipeline's data, instrument and truth files. */
static sj_status build_simulate_stage(builder *b, sj_pipeline *p)
{
    if (!has_stage(b, "simulate"))
        return SJ_OK;
    b->sim_dir = sj_path_parent(b->data);
    if (!b->sim_dir) {
        b->out_of_memory = 1;
        return SJ_OK;
    }
    sj_stage *s = new_stage(b, p, "simulate", "simulate", "simulating the data set");
    if (!s)
        return SJ_ERR_WORK;
    add_pair(b, s, "--out", b->sim_dir);
    add_if_accepted(b, s, "seed", b->seed);
    static const char *const files[] = {"instrument.json", "responses.csv", "truth.csv",
                                        "simulation.json"};
    for (int i = 0; i < 4; i++) {
        char *f = sj_path_join(b->sim_dir, files[i]);
        if (f)
            push_string(b, &s->outputs, &s->n_outputs, f, 0);
        else
            b->out_of_memory = 1;
        free(f);
    }
    /* The folder is replaced whole, so it is what is checked. */
    const char *key[1] = {"data"};
    add_claim(b, &b->outputs, b->sim_dir, key, 1, 1, s->name);
    return add_settings(b, s, "simulate");
}

/* The stages that read the responses file: a split is made only for them. */
static int reads_responses(const builder *b)
{
    static const char *const readers[] = {"pretrain", "sft", "baseline", "pairs", "ppo", "score"};
    for (size_t i = 0; i < sizeof readers / sizeof *readers; i++)
        if (has_stage(b, readers[i]))
            return 1;
    return 0;
}

/* With "heldout" above 0, the split stage divides the persons of `data`
 * into <runs>/split/train.csv, which every training stage reads, and
 * heldout.csv, which the score stages read (so every audit and the compare
 * report see only persons no model trained on); the audits get its
 * split.json. With "heldout": 0 every stage reads `data`, as before. */
static sj_status build_split_stage(builder *b, sj_pipeline *p)
{
    b->train_data = b->heldout_data = b->data;
    if (b->heldout <= 0 || !reads_responses(b))
        return SJ_OK;
    sj_stage *s = new_stage(b, p, "split", "split", "holding out persons for evaluation");
    if (!s)
        return SJ_ERR_WORK;
    b->split_train = run_path(b, "split/train.csv");
    b->split_heldout = run_path(b, "split/heldout.csv");
    b->split_json = run_path(b, "split/split.json");
    if (!b->split_train || !b->split_heldout || !b->split_json)
        return SJ_OK; /* out of memory, reported after the expansion */
    char fraction[64];
    sj_format_number(b->heldout, fraction, sizeof fraction);
    add_input_pair(b, s, "--data", b->data);
    add_pair(b, s, "--train-out", b->split_train);
    add_pair(b, s, "--heldout-out", b->split_heldout);
    add_pair(b, s, "--split-out", b->split_json);
    add_pair(b, s, "--fraction", fraction);
    add_if_accepted(b, s, "person", b->person);
    add_if_accepted(b, s, "group", b->group);
    add_if_accepted(b, s, "seed", b->seed);
    add_output(b, s, b->split_train, 0, "runs");
    add_output(b, s, b->split_heldout, 0, "runs");
    add_output(b, s, b->split_json, 0, "runs");
    b->train_data = b->split_train;
    b->heldout_data = b->split_heldout;
    return SJ_OK;
}

/* ---- checking the whole plan before any stage runs ---------------------------- */

/* "\"reports\" at 12:3": where a claim's key is, for a message that names
 * a second key beside the one it points at. */
static void claim_place(const checker *c, const claim *cl, char *out, size_t size)
{
    long line, column;
    char key[256];
    key_position(c->text, cl->key, cl->depth, &line, &column);
    key_name(cl->key, cl->depth, key, sizeof key);
    snprintf(out, size, "\"%s\" at %ld:%ld", key, line, column);
}

static void writer_name(const claim *cl, char *out, size_t size)
{
    if (cl->writer)
        snprintf(out, size, "the %s stage", cl->writer);
    else
        snprintf(out, size, "the run itself (its stage stamps)");
}

/* How the places of two claims overlap: one path, or one inside the other,
 * which is a folder that is replaced or read as a whole. */
typedef enum { APART, SAME_PATH, FIRST_INSIDE_SECOND, SECOND_INSIDE_FIRST } overlap;

static overlap claims_overlap(const claim *first, const claim *second)
{
    if (sj_path_same(first->path, second->path))
        return SAME_PATH;
    if (second->is_dir && sj_path_inside(first->path, second->path))
        return FIRST_INSIDE_SECOND;
    if (first->is_dir && sj_path_inside(second->path, first->path))
        return SECOND_INSIDE_FIRST;
    return APART;
}

/* An input the pipeline reads against an output a stage writes. */
static sj_status input_against_output(builder *b, const claim *in, const claim *out)
{
    overlap o = claims_overlap(in, out);
    if (o == APART)
        return SJ_OK;
    char who[160], place[300];
    writer_name(out, who, sizeof who);
    claim_place(b->c, out, place, sizeof place);
    if (o == SAME_PATH)
        return key_error(b->c, in->key, in->depth,
                         "%s is also written by %s (placed by %s); a pipeline never writes over "
                         "its own input",
                         in->path, who, place);
    if (o == FIRST_INSIDE_SECOND)
        return key_error(b->c, in->key, in->depth,
                         "%s lies in %s, which %s replaces (placed by %s); a pipeline never "
                         "writes over its own input",
                         in->path, out->path, who, place);
    return key_error(b->c, in->key, in->depth,
                     "%s writes %s inside this input folder %s (placed by %s)", who, out->path,
                     in->path, place);
}

/* Two outputs: one path written by two stages, or one inside a folder
 * that another stage replaces. */
static sj_status output_against_output(builder *b, const claim *first, const claim *second)
{
    overlap o = claims_overlap(first, second);
    if (o == APART)
        return SJ_OK;
    char who1[160], who2[160], place[300];
    writer_name(first, who1, sizeof who1);
    writer_name(second, who2, sizeof who2);
    claim_place(b->c, second, place, sizeof place);
    if (o == SAME_PATH)
        return key_error(b->c, first->key, first->depth,
                         "%s is written by both %s and %s (placed by %s); every stage needs a "
                         "place of its own",
                         first->path, who1, who2, place);
    const claim *outer = o == SECOND_INSIDE_FIRST ? first : second;
    const claim *inner = outer == first ? second : first;
    return key_error(b->c, first->key, first->depth,
                     "%s writes %s inside %s, which %s replaces (placed by %s); every stage needs "
                     "a place of its own",
                     outer == first ? who2 : who1, inner->path, outer->path,
                     outer == first ? who1 : who2, place);
}

static sj_status check_clashes(builder *b)
{
    sj_status st = SJ_OK;
    for (size_t i = 0; st == SJ_OK && i < b->inputs.n; i++)
        for (size_t o = 0; st == SJ_OK && o < b->outputs.n; o++)
            st = input_against_output(b, &b->inputs.items[i], &b->outputs.items[o]);
    for (size_t i = 0; st == SJ_OK && i < b->outputs.n; i++)
        for (size_t j = i + 1; st == SJ_OK && j < b->outputs.n; j++)
            st = output_against_output(b, &b->outputs.items[i], &b->outputs.items[j]);
    return st;
}

/* The nearest folder of `path` that exists (the path itself when it does),
 * or NULL when out of memory. */
static char *existing_ancestor(const char *path, struct stat *st)
{
    char *at = sj_strdup(path);
    while (at && stat(at, st) != 0) {
        if (strcmp(at, ".") == 0 || strcmp(at, "/") == 0) {
            free(at);
            return NULL;
        }
        char *parent = sj_path_parent(at);
        free(at);
        at = parent;
    }
    return at;
}

/* A folder the pipeline writes into (runs, reports, simulate's folder):
 * a folder or creatable, writable, and not among the kernel's files. */
static sj_status check_writable_folder(builder *b, const char *key, const char *path)
{
    const char *k[1] = {key};
    static const char *const system_dirs[] = {"/proc", "/sys", "/dev"};
    for (size_t i = 0; i < sizeof system_dirs / sizeof *system_dirs; i++)
        if (sj_path_inside(path, system_dirs[i]))
            return key_error(b->c, k, 1, "%s lies under %s, which holds no files of yours", path,
                             system_dirs[i]);
    struct stat st;
    char *at = existing_ancestor(path, &st);
    if (!at)
        return key_error(b->c, k, 1, "%s cannot be created", path);
    sj_status status = SJ_OK;
    int self = strcmp(at, path) == 0;
    if (!S_ISDIR(st.st_mode))
        status = self ? key_error(b->c, k, 1, "%s is a file, not a folder", path)
                      : key_error(b->c, k, 1, "%s cannot be created: %s is a file, not a folder",
                                  path, at);
    else if (access(at, W_OK | X_OK) != 0)
        status = self ? key_error(b->c, k, 1, "%s is not writable", path)
                      : key_error(b->c, k, 1, "%s cannot be created: %s is not writable", path, at);
    free(at);
    return status;
}

/* With a simulate stage, data, instrument and truth are the files it
 * writes, and its folder must hold nothing simulate did not write there
 * (a user's own responses.csv is never replaced). */
static sj_status check_simulation(builder *b)
{
    static const char *const keys[] = {"data", "instrument", "truth"};
    static const char *const files[] = {"responses.csv", "instrument.json", "truth.csv"};
    const char *paths[] = {b->data, b->instrument, b->truth};
    for (int i = 0; i < 3; i++) {
        if (!paths[i])
            continue;
        char *want = sj_path_join(b->sim_dir, files[i]);
        int same = want && strcmp(want, paths[i]) == 0;
        const char *k[1] = {keys[i]};
        sj_status st = SJ_OK;
        if (want && !same)
            st = key_error(b->c, k, 1,
                           "with a simulate stage, %s is the file simulate writes into the folder "
                           "of data: %s, not %s",
                           keys[i], want, paths[i]);
        free(want);
        if (!want)
            b->out_of_memory = 1;
        if (st != SJ_OK)
            return st;
    }
    sj_status st = check_writable_folder(b, "data", b->sim_dir);
    sj_error why;
    sj_error_clear(&why);
    if (st == SJ_OK && sj_outdir_check_replaceable_by(b->sim_dir, "simulate", &why) != SJ_OK) {
        const char *k[1] = {"data"};
        st = key_error(b->c, k, 1,
                       "the simulate stage writes the data set into %s and cannot replace that "
                       "folder: %s (to run on your own data, remove the simulate stage)",
                       b->sim_dir, why.msg);
    }
    return st;
}

/* Every output a stage replaces, checked before the first stage so that a
 * refusal never comes after hours of training: a folder must be new, empty
 * or sjtalign's own with its files as written (the command checks again,
 * for its own name, when it saves); a file must be a regular file. */
static sj_status check_replaceable(builder *b)
{
    for (size_t i = 0; i < b->outputs.n; i++) {
        const claim *out = &b->outputs.items[i];
        if (!out->writer || (b->sim_dir && strcmp(out->path, b->sim_dir) == 0))
            continue; /* the stamps folder; simulate's folder has its own check */
        sj_error why;
        sj_error_clear(&why);
        struct stat st;
        if (out->is_dir && sj_outdir_check_replaceable(out->path, &why) != SJ_OK)
            return key_error(b->c, out->key, out->depth, "the %s stage cannot replace %s: %s",
                             out->writer, out->path, why.msg);
        if (!out->is_dir && lstat(out->path, &st) == 0 && !S_ISREG(st.st_mode))
            return key_error(b->c, out->key, out->depth,
                             "the %s stage writes %s, which is not a regular file; sjtalign "
                             "never renames over it",
                             out->writer, out->path);
    }
    return SJ_OK;
}

static sj_status check_exists(builder *b, const claim *in)
{
    struct stat st;
    if (stat(in->path, &st) == 0)
        return SJ_OK;
    return key_error(b->c, in->key, in->depth, "%s does not exist", in->path);
}

/* The user's own files: data, instrument and truth unless simulated, and
 * judged_pairs when given (path settings were added with their stage). */
static void claim_user_inputs(builder *b)
{
    const char *keys[] = {"data", "instrument", "truth", "judged_pairs"};
    const char *paths[] = {b->data, b->instrument, b->truth, b->judged_given ? b->judged : NULL};
    for (int i = 0; i < 4; i++) {
        if (!paths[i] || (i < 3 && b->sim_dir))
            continue;
        const char *k[1] = {keys[i]};
        add_claim(b, &b->inputs, paths[i], k, 1, 0, NULL);
    }
}

static sj_status check_plan(builder *b, const sj_pipeline *p)
{
    const char *runs_key[1] = {"runs"};
    add_claim(b, &b->outputs, p->stamps, runs_key, 1, 1, NULL);
    claim_user_inputs(b);
    if (b->out_of_memory)
        return sj_error_set(b->c->err, SJ_ERR_WORK, "out of memory while expanding the pipeline");
    sj_status st = check_writable_folder(b, "runs", b->runs);
    if (st == SJ_OK)
        st = check_writable_folder(b, "reports", b->reports);
    if (st == SJ_OK)
        st = check_clashes(b);
    if (st == SJ_OK && b->sim_dir)
        st = check_simulation(b);
    if (st == SJ_OK)
        st = check_replaceable(b);
    for (size_t i = 0; st == SJ_OK && i < b->inputs.n; i++)
        st = check_exists(b, &b->inputs.items[i]);
    if (st == SJ_OK && b->out_of_memory)
        st = sj_error_set(b->c->err, SJ_ERR_WORK, "out of memory while checking the pipeline");
    return st;
}

/* ---- checking the document --------------------------------------------------- */

static const char *const TOP_KEYS[] = {
    "name",  "base", "seed",    "instrument", "data",         "truth",       "columns", "reference",
    "focal", "runs", "reports", "stages",     "judged_pairs", "description", "heldout", NULL};
static const char *const STAGE_KEYS[] = {"simulate", "pretrain", "sft", "baseline", "pairs",
                                         "judge",    "reward",   "ppo", "dpo",      "score",
                                         "audit",    "compare",  NULL};
static const char *const COLUMN_KEYS[] = {"person", "item", "text", "group", "human", NULL};

static int in_list(const char *const *list, const char *key)
{
    for (int i = 0; list[i]; i++)
        if (strcmp(list[i], key) == 0)
            return 1;
    return 0;
}

static sj_status check_keys(checker *c, const cJSON *obj, const char *const *allowed,
                            const char *parent)
{
    const cJSON *v;
    cJSON_ArrayForEach(v, obj)
    {
        if (in_list(allowed, v->string))
            continue;
        const char *path[2] = {parent, v->string};
        sj_buf names = {0};
        int failed = 0;
        for (int i = 0; allowed[i]; i++)
            failed |= sj_buf_printf(&names, "%s%s", i ? ", " : "", allowed[i]);
        char detail[700];
        snprintf(detail, sizeof detail, "unknown %s (expected one of: %s)",
                 parent ? "stage or key" : "key", failed ? "see README.md" : names.data);
        sj_buf_free(&names);
        return parent ? key_error(c, path, 2, "%s", detail)
                      : key_error(c, path + 1, 1, "%s", detail);
    }
    return SJ_OK;
}

static const char *string_key(checker *c, const cJSON *obj, const char *parent, const char *key,
                              int required, const char *fallback, sj_status *st)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    const char *path[2] = {parent, key};
    if (!v) {
        if (required && *st == SJ_OK)
            *st = parent ? key_error(c, path, 1, "missing required key '%s'", key)
                         : sj_error_at(c->err, SJ_ERR_INPUT, c->file, 0, 0,
                                       "missing required key '%s'", key);
        return fallback;
    }
    if (!cJSON_IsString(v) || v->valuestring[0] == '\0') {
        if (*st == SJ_OK)
            *st = parent ? key_error(c, path, 2, "expected a non-empty string")
                         : key_error(c, path + 1, 1, "expected a non-empty string");
        return fallback;
    }
    return v->valuestring;
}

/* The share of persons held out for evaluation (DEFAULT_HELDOUT when the
 * key is absent; 0 turns the split off). */
static sj_status read_heldout(builder *b)
{
    b->heldout = DEFAULT_HELDOUT;
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(b->doc, "heldout");
    if (!v)
        return SJ_OK;
    const char *path[1] = {"heldout"};
    if (!cJSON_IsNumber(v) || !(v->valuedouble >= 0 && v->valuedouble < 1)) {
        char got[128];
        describe_value(v, got, sizeof got);
        return key_error(b->c, path, 1,
                         "expected the share of persons held out for evaluation, a number from 0 "
                         "(no split) up to but not including 1, got %s",
                         got);
    }
    b->heldout = v->valuedouble;
    return SJ_OK;
}

static sj_status check_shape(builder *b)
{
    checker *c = b->c;
    sj_status st = check_keys(c, b->doc, TOP_KEYS, NULL);
    if (st != SJ_OK)
        return st;
    b->stages = cJSON_GetObjectItemCaseSensitive(b->doc, "stages");
    if (!cJSON_IsObject(b->stages))
        return sj_error_at(c->err, SJ_ERR_INPUT, c->file, 0, 0,
                           "missing required key 'stages' (an object of stage settings)");
    if ((st = check_keys(c, b->stages, STAGE_KEYS, "stages")) != SJ_OK)
        return st;
    const cJSON *v;
    cJSON_ArrayForEach(v, b->stages) if (!cJSON_IsObject(v))
    {
        const char *path[2] = {"stages", v->string};
        return key_error(c, path, 2, "expected an object of settings (use {} for defaults)");
    }
    const cJSON *cols = cJSON_GetObjectItemCaseSensitive(b->doc, "columns");
    if (cols && (st = check_keys(c, cols, COLUMN_KEYS, "columns")) != SJ_OK)
        return st;
    const cJSON *seed = cJSON_GetObjectItemCaseSensitive(b->doc, "seed");
    if (seed) {
        const char *path[1] = {"seed"};
        if (!cJSON_IsNumber(seed) || seed->valuedouble < 0 || seed->valuedouble > 9e15 ||
            seed->valuedouble != (double)(long long)seed->valuedouble)
            return key_error(c, path, 1, "expected a non-negative whole number");
        if (!(b->seed = sj_asprintf("%lld", (long long)seed->valuedouble)))
            return sj_error_set(c->err, SJ_ERR_WORK, "out of memory");
    }
    return read_heldout(b);
}

/* Stages that need another stage or a top-level key. */
static sj_status check_dependencies(builder *b)
{
    checker *c = b->c;
    if (b->judged_given && has_stage(b, "judge")) {
        const char *path[1] = {"judged_pairs"};
        return key_error(
            c, path, 1, "give either judged_pairs (experts' judgments) or a judge stage, not both");
    }
    if (has_stage(b, "judge") && !b->truth) {
        const char *path[2] = {"stages", "judge"};
        return key_error(c, path, 2, "the judge stage needs a top-level 'truth' file");
    }
    if ((has_stage(b, "reward") || has_stage(b, "dpo")) && !b->judged_given &&
        !has_stage(b, "judge")) {
        const char *path[1] = {"stages"};
        return key_error(c, path, 1,
                         "reward and dpo need judged pairs: add a judge stage or a top-level "
                         "judged_pairs file");
    }
    /* audit reads the scores of the score stages or of the baseline. */
    if (has_stage(b, "audit") && !has_stage(b, "score") && !has_stage(b, "baseline")) {
        const char *path[2] = {"stages", "audit"};
        return key_error(c, path, 2, "the audit stage needs a score or a baseline stage");
    }
    static const char *const needs[][2] = {
        {"pairs", "sft"}, {"judge", "pairs"},   {"reward", "sft"}, {"ppo", "reward"},
        {"dpo", "sft"},   {"compare", "audit"}, {"score", "sft"}};
    for (size_t i = 0; i < sizeof needs / sizeof needs[0]; i++)
        if (has_stage(b, needs[i][0]) && !has_stage(b, needs[i][1])) {
            const char *path[2] = {"stages", needs[i][0]};
            return key_error(c, path, 2, "the %s stage needs a %s stage", needs[i][0], needs[i][1]);
        }
    return SJ_OK;
}

/* Relative paths are taken from the folder of the pipeline file, then
 * from its "base". */
static sj_status resolve_paths(builder *b, const char *base, const char *const paths[6])
{
    char *dir = sj_path_parent(b->c->file);
    b->base = dir ? join_clean(dir, base) : NULL;
    free(dir);
    if (!b->base)
        return sj_error_set(b->c->err, SJ_ERR_WORK, "out of memory");
    char **slots[6] = {&b->instrument, &b->data, &b->truth, &b->judged, &b->runs, &b->reports};
    for (int i = 0; i < 6; i++)
        if (paths[i] && !(*slots[i] = resolve(b, paths[i])))
            return sj_error_set(b->c->err, SJ_ERR_WORK, "out of memory");
    if (!b->judged && !(b->judged = run_path(b, "judged.csv")))
        return sj_error_set(b->c->err, SJ_ERR_WORK, "out of memory");
    return SJ_OK;
}

static sj_status read_keys(builder *b)
{
    checker *c = b->c;
    const cJSON *doc = b->doc;
    sj_status st = check_shape(b);
    if (st != SJ_OK)
        return st;
    const cJSON *cols = cJSON_GetObjectItemCaseSensitive(doc, "columns");
    const char *base = string_key(c, doc, NULL, "base", 0, ".", &st);
    const char *paths[6];
    paths[0] = string_key(c, doc, NULL, "instrument", 1, NULL, &st);
    paths[1] = string_key(c, doc, NULL, "data", 1, NULL, &st);
    paths[2] = string_key(c, doc, NULL, "truth", 0, NULL, &st);
    paths[3] = string_key(c, doc, NULL, "judged_pairs", 0, NULL, &st);
    paths[4] = string_key(c, doc, NULL, "runs", 1, NULL, &st);
    paths[5] = string_key(c, doc, NULL, "reports", 0, "reports", &st);
    int audits = has_stage(b, "audit");
    b->reference = string_key(c, doc, NULL, "reference", audits, NULL, &st);
    b->focal = string_key(c, doc, NULL, "focal", audits, NULL, &st);
    b->person = string_key(c, cols, "columns", "person", 0, "person_id", &st);
    b->item = string_key(c, cols, "columns", "item", 0, "item_id", &st);
    b->text = string_key(c, cols, "columns", "text", 0, "response", &st);
    b->group = string_key(c, cols, "columns", "group", 0, "group", &st);
    b->human = string_key(c, cols, "columns", "human", 0, NULL, &st);
    if (st != SJ_OK)
        return st;
    b->judged_given = paths[3] != NULL;
    if ((st = resolve_paths(b, base, paths)) != SJ_OK)
        return st;
    return check_dependencies(b);
}

static void builder_free(builder *b)
{
    free(b->seed);
    free(b->base);
    free(b->instrument);
    free(b->data);
    free(b->truth);
    free(b->judged);
    free(b->runs);
    free(b->reports);
    free(b->sim_dir);
    free(b->split_train);
    free(b->split_heldout);
    free(b->split_json);
    claims_free(&b->inputs);
    claims_free(&b->outputs);
}

static sj_status build_stages(builder *b, sj_pipeline *p)
{
    run_paths r = {0};
    sj_status st = build_simulate_stage(b, p);
    if (st == SJ_OK)
        st = build_split_stage(b, p);
    if (st == SJ_OK)
        st = build_training_stages(b, p, &r);
    if (st == SJ_OK && !b->out_of_memory)
        st = build_report_stages(b, p, &r);
    run_paths_free(&r);
    return st;
}

sj_pipeline *sj_pipeline_load(const char *path, sj_error *err)
{
    char *text = NULL;
    if (sj_read_file(path, &text, NULL, err) != SJ_OK)
        return NULL;
    cJSON *doc = sj_json_parse(path, text, err);
    sj_pipeline *p = calloc(1, sizeof *p);
    checker c = {.file = path, .text = text, .err = err};
    builder b = {.doc = doc, .c = &c};
    int ok = 0;
    if (!p && doc)
        sj_error_set(err, SJ_ERR_WORK, "out of memory");
    else if (doc && !cJSON_IsObject(doc))
        sj_error_at(err, SJ_ERR_INPUT, path, 1, 1, "expected a JSON object");
    else if (doc && read_keys(&b) == SJ_OK) {
        const cJSON *name = cJSON_GetObjectItemCaseSensitive(doc, "name");
        p->path = sj_strdup(path);
        p->name = sj_strdup(cJSON_IsString(name) ? name->valuestring : "pipeline");
        p->stamps = run_path(&b, "stamps");
        p->reports = sj_strdup(b.reports);
        if (!p->path || !p->name || !p->stamps || !p->reports)
            sj_error_set(err, SJ_ERR_WORK, "out of memory");
        else
            ok = build_stages(&b, p) == SJ_OK && check_plan(&b, p) == SJ_OK;
    }
    builder_free(&b);
    cJSON_Delete(doc);
    free(text);
    if (ok)
        return p;
    sj_pipeline_free(p);
    return NULL;
}

void sj_pipeline_free(sj_pipeline *p)
{
    if (!p)
        return;
    for (size_t i = 0; i < p->n_stages; i++) {
        sj_stage *s = &p->stages[i];
        free(s->name);
        free(s->command);
        free(s->what);
        for (int k = 0; k < s->argc; k++)
            free(s->argv[k]);
        free(s->argv);
        for (size_t k = 0; k < s->n_inputs; k++)
            free(s->inputs[k]);
        free(s->inputs);
        for (size_t k = 0; k < s->n_outputs; k++)
            free(s->outputs[k]);
        free(s->outputs);
    }
    free(p->stages);
    free(p->path);
    free(p->name);
    free(p->stamps);
    free(p->reports);
    free(p);
}

long sj_pipeline_find_stage(const sj_pipeline *p, const char *name)
{
    for (size_t i = 0; i < p->n_stages; i++)
        if (strcmp(p->stages[i].name, name) == 0)
            return (long)i;
    for (size_t i = 0; i < p->n_stages; i++)
        if (strcmp(p->stages[i].command, name) == 0)
            return (long)i;
    return -1;
}

/* ---- content hashes and stamps ----------------------------------------------- */

static int compare_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The visible names in a folder, sorted. */
static sj_status folder_names(const char *path, char ***names, size_t *n, sj_error *err)
{
    *names = NULL;
    *n = 0;
    DIR *d = opendir(path);
    if (!d)
        return sj_error_set(err, SJ_ERR_WORK, "cannot read folder %s: %s", path, strerror(errno));
    sj_status st = SJ_OK;
    struct dirent *e;
    while (st == SJ_OK && (e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue; /* hidden files and in-progress temporaries */
        char **grown = realloc(*names, (*n + 1) * sizeof *grown);
        char *copy = sj_strdup(e->d_name);
        if (grown)
            *names = grown;
        if (!grown || !copy) {
            free(copy);
            st = sj_error_set(err, SJ_ERR_WORK, "out of memory listing %s", path);
        } else {
            (*names)[(*n)++] = copy;
        }
    }
    closedir(d);
    if (*n)
        qsort(*names, *n, sizeof **names, compare_names);
    return st;
}

static sj_status hash_folder(const char *path, char out[65], sj_error *err)
{
    char **names;
    size_t n;
    sj_status st = folder_names(path, &names, &n, err);
    sj_buf listing = {0};
    for (size_t i = 0; i < n; i++) {
        char *child = sj_path_join(path, names[i]);
        char h[65];
        if (st == SJ_OK && !child)
            st = sj_error_set(err, SJ_ERR_WORK, "out of memory");
        if (st == SJ_OK && (st = sj_path_content_hash(child, h, err)) == SJ_OK &&
            sj_buf_printf(&listing, "%s %s\n", names[i], h) != 0)
            st = sj_error_set(err, SJ_ERR_WORK, "out of memory");
        free(child);
        free(names[i]);
    }
    free(names);
    if (st == SJ_OK)
        sj_sha256_hex(listing.data ? listing.data : "", listing.len, out);
    sj_buf_free(&listing);
    return st;
}

sj_status sj_path_content_hash(const char *path, char out[65], sj_error *err)
{
    struct stat st;
    if (stat(path, &st) != 0)
        return sj_error_set(err, SJ_ERR_INPUT, "%s does not exist", path);
    if (S_ISDIR(st.st_mode))
        return hash_folder(path, out, err);
    return sj_sha256_file(path, out, err);
}

sj_status sj_stage_key(const sj_stage *s, char key[65], sj_error *err)
{
    sj_buf text = {0};
    int failed = sj_buf_printf(&text, "sjtalign %s\n", SJ_VERSION);
    for (int i = 0; i < s->argc; i++)
        failed |= sj_buf_printf(&text, "arg %s\n", s->argv[i]);
    for (size_t i = 0; i < s->n_inputs; i++) {
        char h[65];
        if (sj_path_content_hash(s->inputs[i], h, err) != SJ_OK) {
            sj_buf_free(&text);
            return err ? err->status : SJ_ERR_INPUT;
        }
        failed |= sj_buf_printf(&text, "input %s %s\n", s->inputs[i], h);
    }
    /* A key of a partial text would match no stamp, or worse the stamp of
     * another command line. */
    if (failed) {
        sj_buf_free(&text);
        return sj_error_set(err, SJ_ERR_WORK, "out of memory computing the key of stage %s",
                            s->name);
    }
    sj_sha256_hex(text.data, text.len, key);
    sj_buf_free(&text);
    return SJ_OK;
}

static char *stamp_path(const sj_pipeline *p, const sj_stage *s)
{
    char *name = sj_asprintf("%s.json", s->name);
    char *path = name ? sj_path_join(p->stamps, name) : NULL;
    free(name);
    return path;
}

int sj_stage_up_to_date(const sj_pipeline *p, const sj_stage *s, const char key[65])
{
    char *path = stamp_path(p, s);
    cJSON *stamp = path ? sj_json_read(path, NULL) : NULL;
    free(path);
    if (!stamp)
        return 0;
    const cJSON *k = cJSON_GetObjectItemCaseSensitive(stamp, "key");
    const cJSON *outputs = cJSON_GetObjectItemCaseSensitive(stamp, "outputs");
    int fresh = cJSON_IsString(k) && strcmp(k->valuestring, key) == 0 && cJSON_IsObject(outputs);
    for (size_t i = 0; fresh && i < s->n_outputs; i++) {
        const cJSON *want = cJSON_GetObjectItemCaseSensitive(outputs, s->outputs[i]);
        char h[65];
        fresh = cJSON_IsString(want) && sj_path_content_hash(s->outputs[i], h, NULL) == SJ_OK &&
                strcmp(h, want->valuestring) == 0;
    }
    cJSON_Delete(stamp);
    return fresh;
}

/* The stamp document: the key, the command line and the outputs' hashes. */
static cJSON *stamp_new(const sj_stage *s, const char key[65], double seconds, sj_error *err)
{
    cJSON *stamp = cJSON_CreateObject();
    int ok = stamp && cJSON_AddStringToObject(stamp, "stage", s->name) &&
             cJSON_AddStringToObject(stamp, "key", key);
    cJSON *args = ok ? cJSON_AddArrayToObject(stamp, "command") : NULL;
    cJSON *outputs = args ? cJSON_AddObjectToObject(stamp, "outputs") : NULL;
    ok = ok && args && outputs;
    for (int i = 0; ok && i < s->argc; i++) {
        cJSON *arg = cJSON_CreateString(s->argv[i]);
        ok = arg && cJSON_AddItemToArray(args, arg);
        if (!ok)
            cJSON_Delete(arg);
    }
    for (size_t i = 0; ok && i < s->n_outputs; i++) {
        char h[65];
        if (sj_path_content_hash(s->outputs[i], h, err) != SJ_OK) {
            cJSON_Delete(stamp);
            return NULL;
        }
        ok = cJSON_AddStringToObject(outputs, s->outputs[i], h) != NULL;
    }
    char when[32];
    time_t now = time(NULL);
    strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", gmtime(&now));
    ok = ok && sj_json_add_number(stamp, "seconds", seconds) &&
         cJSON_AddStringToObject(stamp, "finished", when);
    if (!ok) {
        cJSON_Delete(stamp);
        sj_error_set(err, SJ_ERR_WORK, "out of memory writing the stamp of stage %s", s->name);
        return NULL;
    }
    return stamp;
}

sj_status sj_stage_write_stamp(const sj_pipeline *p, const sj_stage *s, const char key[65],
                               double seconds, sj_error *err)
{
    if (sj_mkdir_p(p->stamps, err) != SJ_OK)
        return SJ_ERR_WORK;
    cJSON *stamp = stamp_new(s, key, seconds, err);
    if (!stamp)
        return err ? err->status : SJ_ERR_WORK;
    char *path = stamp_path(p, s);
    sj_status st =
        path ? sj_json_write(path, stamp, err) : sj_error_set(err, SJ_ERR_WORK, "out of memory");
    free(path);
    cJSON_Delete(stamp);
    return st;
}

void sj_stage_forget(const sj_pipeline *p, const sj_stage *s)
{
    char *path = stamp_path(p, s);
    if (path)
        unlink(path);
    free(path);
}
