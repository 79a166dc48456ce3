/* Pipeline files: checking them, expanding them into stage invocations, and
 * the content-hash stamps that let a re-run skip finished stages. */
#include "pipeline.h"

#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

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

static sj_status key_error(checker *c, const char *const *path, int depth, const char *fmt,
                           const char *detail)
{
    long line, column;
    key_position(c->text, path, depth, &line, &column);
    char joined[256] = "";
    for (int i = 0; i < depth; i++)
        snprintf(joined + strlen(joined), sizeof joined - strlen(joined), "%s%s", i ? "." : "",
                 path[i]);
    char message[1024];
    snprintf(message, sizeof message, fmt, detail ? detail : "");
    return sj_error_at(c->err, SJ_ERR_INPUT, c->file, line, column, "%s: %s", joined, message);
}

/* ---- options each command accepts (read from its --help) ------------------ */

static char *command_help(const char *self, const char *command)
{
    int fds[2];
    if (pipe(fds) != 0)
        return NULL;
    pid_t pid = fork();
    if (pid < 0) {
        close(fds[0]);
        close(fds[1]);
        return NULL;
    }
    if (pid == 0) {
        dup2(fds[1], STDOUT_FILENO);
        close(fds[0]);
        close(fds[1]);
        execl(self, self, command, "--help", (char *)NULL);
        _exit(127);
    }
    close(fds[1]);
    sj_buf b = {0};
    char chunk[4096];
    ssize_t got;
    while ((got = read(fds[0], chunk, sizeof chunk)) > 0)
        sj_buf_append(&b, chunk, (size_t)got);
    close(fds[0]);
    int status = 0;
    waitpid(pid, &status, 0);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0 || !b.data) {
        sj_buf_free(&b);
        return NULL;
    }
    return b.data;
}

/* 1 when the help text documents the long option --flag. */
static int help_has_flag(const char *help, const char *flag)
{
    size_t n = strlen(flag);
    for (const char *at = strstr(help, flag); at; at = strstr(at + 1, flag)) {
        char next = at[n];
        char before = at == help ? ' ' : at[-1];
        if ((next == '\0' || !(next == '-' || (next >= 'a' && next <= 'z'))) &&
            !(before == '-' || (before >= 'a' && before <= 'z')))
            return 1;
    }
    return 0;
}

/* ---- building stage invocations ------------------------------------------- */

typedef struct {
    const char *self;
    char *base; /* folder that relative paths are resolved against */
    const cJSON *doc;
    const cJSON *stages; /* the "stages" object */
    checker *c;
    char *seed;
    const char *person, *item, *text, *group, *human, *reference, *focal;
    char *instrument, *data, *truth, *judged, *runs, *reports;
    char *helps[16];
    const char *help_names[16];
    int n_helps;
} builder;

static const char *help_of(builder *b, const char *command)
{
    for (int i = 0; i < b->n_helps; i++)
        if (strcmp(b->help_names[i], command) == 0)
            return b->helps[i];
    char *help = command_help(b->self, command);
    if (!help || b->n_helps == 16) {
        free(help);
        return NULL;
    }
    b->help_names[b->n_helps] = command;
    b->helps[b->n_helps++] = help;
    return help;
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

static char *resolve(const builder *b, const char *path)
{
    return join_clean(b->base, path);
}

static void add_arg(sj_stage *s, const char *arg)
{
    if (s->argc < SJ_PIPELINE_MAX_ARGS - 1)
        s->argv[s->argc++] = sj_strdup(arg);
}

static void add_pair(sj_stage *s, const char *flag, const char *value)
{
    add_arg(s, flag);
    add_arg(s, value);
}

/* Adds an option only when the command documents it (column names and the
 * seed are offered to every stage that takes them). */
static void add_if_accepted(builder *b, sj_stage *s, const char *flag, const char *value)
{
    const char *help = help_of(b, s->command);
    if (value && help && help_has_flag(help, flag))
        add_pair(s, flag, value);
}

static void add_input(sj_stage *s, const char *path)
{
    if (path && s->n_inputs < SJ_PIPELINE_MAX_FILES)
        s->inputs[s->n_inputs++] = sj_strdup(path);
}

static void add_output(sj_stage *s, const char *path)
{
    if (s->n_outputs < SJ_PIPELINE_MAX_FILES)
        s->outputs[s->n_outputs++] = sj_strdup(path);
}

static sj_status add_settings(builder *b, sj_stage *s, const char *key)
{
    const cJSON *settings = cJSON_GetObjectItemCaseSensitive(b->stages, key);
    const char *help = help_of(b, s->command);
    if (!help)
        return sj_error_set(b->c->err, SJ_ERR_WORK,
                            "this build of sjtalign has no '%s' command for stage '%s'", s->command,
                            key);
    const cJSON *v;
    cJSON_ArrayForEach(v, settings)
    {
        const char *path[3] = {"stages", key, v->string};
        char flag[128];
        snprintf(flag, sizeof flag, "--%s", v->string);
        for (char *c = flag; *c; c++)
            if (*c == '_')
                *c = '-';
        if (!help_has_flag(help, flag)) {
            char detail[300];
            snprintf(detail, sizeof detail,
                     "the %s command has no option %s (see sjtalign %s --help)", s->command, flag,
                     s->command);
            return key_error(b->c, path, 3, "%s", detail);
        }
        for (int i = 0; i < s->argc; i++)
            if (strcmp(s->argv[i], flag) == 0)
                return key_error(b->c, path, 3,
                                 "%sthe pipeline sets this option itself from the top-level keys",
                                 "");
        char value[64];
        if (cJSON_IsTrue(v)) {
            add_arg(s, flag);
        } else if (cJSON_IsFalse(v)) {
            continue;
        } else if (cJSON_IsString(v)) {
            add_pair(s, flag, v->valuestring);
        } else if (cJSON_IsNumber(v)) {
            sj_format_number(v->valuedouble, value, sizeof value);
            add_pair(s, flag, value);
        } else {
            return key_error(b->c, path, 3, "expected a string, a number or true/false%s", "");
        }
    }
    return SJ_OK;
}

static sj_stage *new_stage(sj_pipeline *p, const char *name, const char *command, const char *what)
{
    sj_stage *grown = realloc(p->stages, (p->n_stages + 1) * sizeof *grown);
    if (!grown)
        return NULL;
    p->stages = grown;
    sj_stage *s = &p->stages[p->n_stages++];
    memset(s, 0, sizeof *s);
    s->name = sj_strdup(name);
    s->command = sj_strdup(command);
    s->what = sj_strdup(what);
    add_arg(s, command);
    return s;
}

static int has_stage(const builder *b, const char *key)
{
    return cJSON_GetObjectItemCaseSensitive(b->stages, key) != NULL;
}

static void add_columns(builder *b, sj_stage *s, int with_group, int with_human)
{
    add_if_accepted(b, s, "--person", b->person);
    add_if_accepted(b, s, "--item", b->item);
    add_if_accepted(b, s, "--text", b->text);
    if (with_group)
        add_if_accepted(b, s, "--group", b->group);
    if (with_human)
        add_if_accepted(b, s, "--score", b->human);
}

static char *run_path(const builder *b, const char *name)
{
    return sj_path_join(b->runs, name);
}

static sj_status build_training_stages(builder *b, sj_pipeline *p, char *models[3])
{
    sj_stage *s;
    char *pretrain = run_path(b, "pretrain");
    char *sft = run_path(b, "sft");
    char *pairs = run_path(b, "pairs.csv");
    char *reward = run_path(b, "reward");
    sj_status st = SJ_OK;
    if (has_stage(b, "pretrain")) {
        s = new_stage(p, "pretrain", "pretrain", "training the tokenizer and the base model");
        add_pair(s, "--data", b->data);
        add_if_accepted(b, s, "--text", b->text);
        add_pair(s, "--out", pretrain);
        add_if_accepted(b, s, "--seed", b->seed);
        add_input(s, b->data);
        add_output(s, pretrain);
        if ((st = add_settings(b, s, "pretrain")) != SJ_OK)
            goto done;
    }
    if (has_stage(b, "sft")) {
        s = new_stage(p, "sft", "sft", "fine-tuning the scorer on the human scores");
        if (has_stage(b, "pretrain")) {
            add_pair(s, "--init", pretrain);
            add_input(s, pretrain);
        }
        add_pair(s, "--instrument", b->instrument);
        add_pair(s, "--data", b->data);
        add_columns(b, s, 0, 1);
        add_pair(s, "--out", sft);
        add_if_accepted(b, s, "--seed", b->seed);
        add_input(s, b->instrument);
        add_input(s, b->data);
        add_output(s, sft);
        if ((st = add_settings(b, s, "sft")) != SJ_OK)
            goto done;
        models[0] = sj_strdup(sft);
    }
    if (has_stage(b, "pairs")) {
        s = new_stage(p, "pairs", "pairs", "sampling candidate scorings for the experts");
        add_pair(s, "--model", sft);
        add_pair(s, "--instrument", b->instrument);
        add_pair(s, "--data", b->data);
        add_columns(b, s, 0, 0);
        add_pair(s, "--out", pairs);
        add_if_accepted(b, s, "--seed", b->seed);
        add_input(s, sft);
        add_input(s, b->instrument);
        add_input(s, b->data);
        add_output(s, pairs);
        if ((st = add_settings(b, s, "pairs")) != SJ_OK)
            goto done;
    }
    if (has_stage(b, "judge")) {
        s = new_stage(p, "judge", "judge", "the simulated expert panel judges the pairs");
        add_pair(s, "--truth", b->truth);
        add_pair(s, "--pairs", pairs);
        add_pair(s, "--out", b->judged);
        add_if_accepted(b, s, "--seed", b->seed);
        add_input(s, b->truth);
        add_input(s, pairs);
        add_output(s, b->judged);
        if ((st = add_settings(b, s, "judge")) != SJ_OK)
            goto done;
    }
    if (has_stage(b, "reward")) {
        s = new_stage(p, "reward", "reward", "training the reward model on the judged pairs");
        add_pair(s, "--init", sft);
        add_pair(s, "--instrument", b->instrument);
        add_pair(s, "--pairs", b->judged);
        add_pair(s, "--out", reward);
        add_if_accepted(b, s, "--seed", b->seed);
        add_input(s, sft);
        add_input(s, b->instrument);
        add_input(s, b->judged);
        add_output(s, reward);
        if ((st = add_settings(b, s, "reward")) != SJ_OK)
            goto done;
    }
    if (has_stage(b, "ppo")) {
        char *ppo = run_path(b, "ppo");
        s = new_stage(p, "ppo", "ppo", "aligning the scorer by PPO against the reward model");
        add_pair(s, "--policy", sft);
        add_pair(s, "--reward", reward);
        add_pair(s, "--instrument", b->instrument);
        add_pair(s, "--data", b->data);
        add_columns(b, s, 1, 0);
        if (b->truth)
            add_if_accepted(b, s, "--truth", b->truth);
        add_pair(s, "--out", ppo);
        add_if_accepted(b, s, "--seed", b->seed);
        add_input(s, sft);
        add_input(s, reward);
        add_input(s, b->instrument);
        add_input(s, b->data);
        add_input(s, b->truth);
        add_output(s, ppo);
        models[1] = ppo;
        if ((st = add_settings(b, s, "ppo")) != SJ_OK)
            goto done;
    }
    if (has_stage(b, "dpo")) {
        char *dpo = run_path(b, "dpo");
        s = new_stage(p, "dpo", "dpo", "aligning the scorer by DPO on the judged pairs");
        add_pair(s, "--policy", sft);
        add_pair(s, "--instrument", b->instrument);
        add_pair(s, "--pairs", b->judged);
        add_pair(s, "--out", dpo);
        add_if_accepted(b, s, "--seed", b->seed);
        add_input(s, sft);
        add_input(s, b->instrument);
        add_input(s, b->judged);
        add_output(s, dpo);
        models[2] = dpo;
        if ((st = add_settings(b, s, "dpo")) != SJ_OK)
            goto done;
    }
done:
    free(pretrain);
    free(sft);
    free(pairs);
    free(reward);
    return st;
}

static const char *const MODEL_LABELS[3] = {"sft", "ppo", "dpo"};
static const char *const AUDIT_NAMES[3] = {"before", "after", "after-dpo"};
static const char *const COMPARE_LABELS[3] = {"SFT", "PPO", "DPO"};

static sj_status build_report_stages(builder *b, sj_pipeline *p, char *const models[3])
{
    sj_status st = SJ_OK;
    char *scores[3] = {0}, *audits[3] = {0};
    for (int m = 0; m < 3 && st == SJ_OK; m++) {
        if (!models[m] || !has_stage(b, "score"))
            continue;
        char name[32], file[64];
        snprintf(name, sizeof name, "score-%s", MODEL_LABELS[m]);
        snprintf(file, sizeof file, "scores/%s.csv", MODEL_LABELS[m]);
        scores[m] = run_path(b, file);
        sj_stage *s = new_stage(p, name, "score", "scoring every response");
        add_pair(s, "--model", models[m]);
        add_pair(s, "--instrument", b->instrument);
        add_pair(s, "--data", b->data);
        add_columns(b, s, 0, 0);
        add_pair(s, "--out", scores[m]);
        add_input(s, models[m]);
        add_input(s, b->instrument);
        add_input(s, b->data);
        add_output(s, scores[m]);
        st = add_settings(b, s, "score");
    }
    for (int m = 0; m < 3 && st == SJ_OK; m++) {
        if (!scores[m] || !has_stage(b, "audit"))
            continue;
        char name[32];
        snprintf(name, sizeof name, "audit-%s", AUDIT_NAMES[m]);
        audits[m] = sj_path_join(b->reports, AUDIT_NAMES[m]);
        sj_stage *s = new_stage(p, name, "audit", "auditing the scores for DIF and parity");
        add_pair(s, "--data", scores[m]);
        add_pair(s, "--instrument", b->instrument);
        add_if_accepted(b, s, "--person", b->person);
        add_if_accepted(b, s, "--item", b->item);
        add_pair(s, "--group", b->group);
        add_pair(s, "--reference", b->reference);
        add_pair(s, "--focal", b->focal);
        if (b->human)
            add_pair(s, "--human", b->human);
        /* A simulation's true scores show what alignment bought, beside
         * what it cost in agreement with the (biased) human scores. */
        if (b->truth)
            add_pair(s, "--truth", b->truth);
        add_pair(s, "--out", audits[m]);
        add_input(s, scores[m]);
        add_input(s, b->instrument);
        add_input(s, b->truth);
        add_output(s, audits[m]);
        st = add_settings(b, s, "audit");
    }
    if (st == SJ_OK && has_stage(b, "compare") && audits[0] && (audits[1] || audits[2])) {
        char *out = sj_path_join(b->reports, "compare");
        sj_stage *s = new_stage(p, "compare", "compare", "comparing the audits before and after");
        add_pair(s, "--before", audits[0]);
        add_input(s, audits[0]);
        sj_buf labels = {0};
        sj_buf_printf(&labels, "%s", COMPARE_LABELS[0]);
        for (int m = 1; m < 3; m++)
            if (audits[m]) {
                add_pair(s, "--after", audits[m]);
                add_input(s, audits[m]);
                sj_buf_printf(&labels, ",%s", COMPARE_LABELS[m]);
            }
        if (models[1]) {
            char *log = sj_path_join(models[1], "train_log.jsonl");
            add_pair(s, "--training-log", log);
            add_input(s, log);
            free(log);
        }
        add_pair(s, "--labels", labels.data);
        sj_buf_free(&labels);
        add_pair(s, "--out", out);
        add_output(s, out);
        free(out);
        st = add_settings(b, s, "compare");
    }
    for (int m = 0; m < 3; m++) {
        free(scores[m]);
        free(audits[m]);
    }
    return st;
}

static sj_status build_simulate_stage(builder *b, sj_pipeline *p)
{
    if (!has_stage(b, "simulate"))
        return SJ_OK;
    char *dir = sj_strdup(b->data);
    char *slash = strrchr(dir, '/');
    if (slash)
        *slash = '\0';
    else
        strcpy(dir, ".");
    sj_stage *s = new_stage(p, "simulate", "simulate", "simulating the data set");
    add_pair(s, "--out", dir);
    add_if_accepted(b, s, "--seed", b->seed);
    static const char *const files[] = {"instrument.json", "responses.csv", "truth.csv",
                                        "simulation.json"};
    for (int i = 0; i < 4; i++) {
        char *f = sj_path_join(dir, files[i]);
        add_output(s, f);
        free(f);
    }
    free(dir);
    return add_settings(b, s, "simulate");
}

/* ---- checking the document --------------------------------------------------- */

static const char *const TOP_KEYS[] = {"name",    "base",    "seed",         "instrument",  "data",
                                       "truth",   "columns", "reference",    "focal",       "runs",
                                       "reports", "stages",  "judged_pairs", "description", NULL};
static const char *const STAGE_KEYS[] = {"simulate", "pretrain", "sft",     "pairs",
                                         "judge",    "reward",   "ppo",     "dpo",
                                         "score",    "audit",    "compare", NULL};
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
        for (int i = 0; allowed[i]; i++)
            sj_buf_printf(&names, "%s%s", i ? ", " : "", allowed[i]);
        char detail[700];
        snprintf(detail, sizeof detail, "unknown %s (expected one of: %s)",
                 parent ? "stage or key" : "key", names.data);
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
            *st = parent ? key_error(c, path, 2, "expected a non-empty string%s", "")
                         : key_error(c, path + 1, 1, "expected a non-empty string%s", "");
        return fallback;
    }
    return v->valuestring;
}

static sj_status check_exists(checker *c, const char *key, const char *path)
{
    struct stat st;
    if (stat(path, &st) == 0)
        return SJ_OK;
    const char *p[1] = {key};
    char detail[600];
    snprintf(detail, sizeof detail, "%s does not exist", path);
    return key_error(c, p, 1, "%s", detail);
}

static sj_status read_keys(builder *b)
{
    checker *c = b->c;
    const cJSON *doc = b->doc;
    sj_status st = check_keys(c, doc, TOP_KEYS, NULL);
    if (st != SJ_OK)
        return st;
    b->stages = cJSON_GetObjectItemCaseSensitive(doc, "stages");
    if (!cJSON_IsObject(b->stages))
        return sj_error_at(c->err, SJ_ERR_INPUT, c->file, 0, 0,
                           "missing required key 'stages' (an object of stage settings)");
    if ((st = check_keys(c, b->stages, STAGE_KEYS, "stages")) != SJ_OK)
        return st;
    const cJSON *v;
    cJSON_ArrayForEach(v, b->stages) if (!cJSON_IsObject(v))
    {
        const char *path[2] = {"stages", v->string};
        return key_error(c, path, 2, "expected an object of settings (use {} for defaults)%s", "");
    }
    const cJSON *cols = cJSON_GetObjectItemCaseSensitive(doc, "columns");
    if (cols && (st = check_keys(c, cols, COLUMN_KEYS, "columns")) != SJ_OK)
        return st;
    const char *base = string_key(c, doc, NULL, "base", 0, ".", &st);
    const char *instrument = string_key(c, doc, NULL, "instrument", 1, NULL, &st);
    const char *data = string_key(c, doc, NULL, "data", 1, NULL, &st);
    const char *truth = string_key(c, doc, NULL, "truth", 0, NULL, &st);
    const char *judged = string_key(c, doc, NULL, "judged_pairs", 0, NULL, &st);
    const char *runs = string_key(c, doc, NULL, "runs", 1, NULL, &st);
    const char *reports = string_key(c, doc, NULL, "reports", 0, "reports", &st);
    int audits = cJSON_GetObjectItemCaseSensitive(b->stages, "audit") != NULL;
    b->reference = string_key(c, doc, NULL, "reference", audits, NULL, &st);
    b->focal = string_key(c, doc, NULL, "focal", audits, NULL, &st);
    b->person = string_key(c, cols, "columns", "person", 0, "person_id", &st);
    b->item = string_key(c, cols, "columns", "item", 0, "item_id", &st);
    b->text = string_key(c, cols, "columns", "text", 0, "response", &st);
    b->group = string_key(c, cols, "columns", "group", 0, "group", &st);
    b->human = string_key(c, cols, "columns", "human", 0, NULL, &st);
    if (st != SJ_OK)
        return st;
    const cJSON *seed = cJSON_GetObjectItemCaseSensitive(doc, "seed");
    if (seed) {
        const char *path[1] = {"seed"};
        if (!cJSON_IsNumber(seed) || seed->valuedouble < 0 || seed->valuedouble > 9e15 ||
            seed->valuedouble != (double)(long long)seed->valuedouble)
            return key_error(c, path, 1, "expected a non-negative whole number%s", "");
        b->seed = sj_asprintf("%lld", (long long)seed->valuedouble);
    }
    /* Relative paths are taken from the folder of the pipeline file. */
    char *dir = sj_strdup(c->file);
    char *slash = strrchr(dir, '/');
    if (slash)
        *slash = '\0';
    else
        strcpy(dir, ".");
    b->base = join_clean(dir, base);
    free(dir);
    b->instrument = resolve(b, instrument);
    b->data = resolve(b, data);
    b->truth = truth ? resolve(b, truth) : NULL;
    b->runs = resolve(b, runs);
    b->reports = resolve(b, reports);
    int simulated = has_stage(b, "simulate");
    if (judged && has_stage(b, "judge")) {
        const char *path[1] = {"judged_pairs"};
        return key_error(
            c, path, 1,
            "give either judged_pairs (experts' judgments) or a judge stage, not both%s", "");
    }
    b->judged = judged ? resolve(b, judged) : run_path(b, "judged.csv");
    if (!simulated && (st = check_exists(c, "instrument", b->instrument)) != SJ_OK)
        return st;
    if (!simulated && (st = check_exists(c, "data", b->data)) != SJ_OK)
        return st;
    if (judged && (st = check_exists(c, "judged_pairs", b->judged)) != SJ_OK)
        return st;
    if (b->truth && !simulated && (st = check_exists(c, "truth", b->truth)) != SJ_OK)
        return st;
    if (has_stage(b, "judge") && !b->truth) {
        const char *path[2] = {"stages", "judge"};
        return key_error(c, path, 2, "the judge stage needs a top-level 'truth' file%s", "");
    }
    if ((has_stage(b, "reward") || has_stage(b, "dpo")) && !judged && !has_stage(b, "judge")) {
        const char *path[1] = {"stages"};
        return key_error(c, path, 1,
                         "reward and dpo need judged pairs: add a judge stage or a top-level "
                         "judged_pairs file%s",
                         "");
    }
    static const char *const needs[][2] = {
        {"pairs", "sft"}, {"judge", "pairs"},   {"reward", "sft"},  {"ppo", "reward"},
        {"dpo", "sft"},   {"compare", "audit"}, {"audit", "score"}, {"score", "sft"}};
    for (size_t i = 0; i < sizeof needs / sizeof needs[0]; i++)
        if (has_stage(b, needs[i][0]) && !has_stage(b, needs[i][1])) {
            const char *path[2] = {"stages", needs[i][0]};
            char detail[128];
            snprintf(detail, sizeof detail, "the %s stage needs a %s stage", needs[i][0],
                     needs[i][1]);
            return key_error(c, path, 2, "%s", detail);
        }
    return SJ_OK;
}

static void builder_free(builder *b)
{
    for (int i = 0; i < b->n_helps; i++)
        free(b->helps[i]);
    free(b->seed);
    free(b->base);
    free(b->instrument);
    free(b->data);
    free(b->truth);
    free(b->judged);
    free(b->runs);
    free(b->reports);
}

sj_pipeline *sj_pipeline_load(const char *path, const char *self, sj_error *err)
{
    char *text = NULL;
    if (sj_read_file(path, &text, NULL, err) != SJ_OK)
        return NULL;
    cJSON *doc = sj_json_parse(path, text, err);
    sj_pipeline *p = calloc(1, sizeof *p);
    checker c = {.file = path, .text = text, .err = err};
    builder b = {.self = self, .doc = doc, .c = &c};
    char *models[3] = {0};
    if (!doc || !p)
        goto fail;
    if (!cJSON_IsObject(doc)) {
        sj_error_at(err, SJ_ERR_INPUT, path, 1, 1, "expected a JSON object");
        goto fail;
    }
    if (read_keys(&b) != SJ_OK)
        goto fail;
    p->path = sj_strdup(path);
    const cJSON *name = cJSON_GetObjectItemCaseSensitive(doc, "name");
    p->name = sj_strdup(cJSON_IsString(name) ? name->valuestring : "pipeline");
    p->stamps = run_path(&b, "stamps");
    p->reports = sj_strdup(b.reports);
    if (build_simulate_stage(&b, p) != SJ_OK || build_training_stages(&b, p, models) != SJ_OK ||
        build_report_stages(&b, p, models) != SJ_OK)
        goto fail;
    for (int m = 0; m < 3; m++)
        free(models[m]);
    builder_free(&b);
    cJSON_Delete(doc);
    free(text);
    return p;
fail:
    for (int m = 0; m < 3; m++)
        free(models[m]);
    builder_free(&b);
    cJSON_Delete(doc);
    free(text);
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
        for (int k = 0; k < s->n_inputs; k++)
            free(s->inputs[k]);
        for (int k = 0; k < s->n_outputs; k++)
            free(s->outputs[k]);
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

static sj_status hash_folder(const char *path, char out[65], sj_error *err)
{
    DIR *d = opendir(path);
    if (!d)
        return sj_error_set(err, SJ_ERR_WORK, "cannot read folder %s: %s", path, strerror(errno));
    char **names = NULL;
    size_t n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue; /* hidden files and in-progress temporaries */
        char **grown = realloc(names, (n + 1) * sizeof *grown);
        if (!grown)
            break;
        names = grown;
        names[n++] = sj_strdup(e->d_name);
    }
    closedir(d);
    qsort(names, n, sizeof *names, compare_names);
    sj_buf listing = {0};
    sj_status st = SJ_OK;
    for (size_t i = 0; i < n; i++) {
        char *child = sj_path_join(path, names[i]);
        char h[65];
        if (st == SJ_OK && (st = sj_path_content_hash(child, h, err)) == SJ_OK)
            sj_buf_printf(&listing, "%s %s\n", names[i], h);
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
    sj_buf_printf(&text, "sjtalign %s\n", SJ_VERSION);
    for (int i = 0; i < s->argc; i++)
        sj_buf_printf(&text, "arg %s\n", s->argv[i]);
    for (int i = 0; i < s->n_inputs; i++) {
        char h[65];
        if (sj_path_content_hash(s->inputs[i], h, err) != SJ_OK) {
            sj_buf_free(&text);
            return err ? err->status : SJ_ERR_INPUT;
        }
        sj_buf_printf(&text, "input %s %s\n", s->inputs[i], h);
    }
    sj_sha256_hex(text.data, text.len, key);
    sj_buf_free(&text);
    return SJ_OK;
}

static char *stamp_path(const sj_pipeline *p, const sj_stage *s)
{
    char name[96];
    snprintf(name, sizeof name, "%s.json", s->name);
    return sj_path_join(p->stamps, name);
}

int sj_stage_up_to_date(const sj_pipeline *p, const sj_stage *s, const char key[65])
{
    char *path = stamp_path(p, s);
    cJSON *stamp = sj_json_read(path, NULL);
    free(path);
    if (!stamp)
        return 0;
    const cJSON *k = cJSON_GetObjectItemCaseSensitive(stamp, "key");
    const cJSON *outputs = cJSON_GetObjectItemCaseSensitive(stamp, "outputs");
    int fresh = cJSON_IsString(k) && strcmp(k->valuestring, key) == 0 && cJSON_IsObject(outputs);
    for (int i = 0; fresh && i < s->n_outputs; i++) {
        const cJSON *want = cJSON_GetObjectItemCaseSensitive(outputs, s->outputs[i]);
        char h[65];
        fresh = cJSON_IsString(want) && sj_path_content_hash(s->outputs[i], h, NULL) == SJ_OK &&
                strcmp(h, want->valuestring) == 0;
    }
    cJSON_Delete(stamp);
    return fresh;
}

sj_status sj_stage_write_stamp(const sj_pipeline *p, const sj_stage *s, const char key[65],
                               double seconds, sj_error *err)
{
    if (sj_mkdir_p(p->stamps, err) != SJ_OK)
        return SJ_ERR_WORK;
    cJSON *stamp = cJSON_CreateObject();
    cJSON_AddStringToObject(stamp, "stage", s->name);
    cJSON_AddStringToObject(stamp, "key", key);
    cJSON *args = cJSON_AddArrayToObject(stamp, "command");
    for (int i = 0; i < s->argc; i++)
        cJSON_AddItemToArray(args, cJSON_CreateString(s->argv[i]));
    cJSON *outputs = cJSON_AddObjectToObject(stamp, "outputs");
    sj_status st = SJ_OK;
    for (int i = 0; i < s->n_outputs && st == SJ_OK; i++) {
        char h[65];
        if ((st = sj_path_content_hash(s->outputs[i], h, err)) == SJ_OK)
            cJSON_AddStringToObject(outputs, s->outputs[i], h);
    }
    sj_json_add_number(stamp, "seconds", seconds);
    char when[32];
    time_t now = time(NULL);
    strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", gmtime(&now));
    cJSON_AddStringToObject(stamp, "finished", when);
    if (st == SJ_OK) {
        char *path = stamp_path(p, s);
        st = sj_json_write(path, stamp, err);
        free(path);
    }
    cJSON_Delete(stamp);
    return st;
}

void sj_stage_forget(const sj_pipeline *p, const sj_stage *s)
{
    char *path = stamp_path(p, s);
    unlink(path);
    free(path);
}
