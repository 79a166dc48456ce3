/* The study file: its checks, and the pipeline of each replication. */
#include <ctype.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sjtalign/io.h"
#include "sjtalign/study.h"

const char *const SJ_STUDY_MODEL_LABELS[SJ_STUDY_MODELS] = {"SFT", "PPO", "DPO"};

/* The most replications a study may ask for; far beyond a day's work on a
 * laptop, small enough that a typing slip cannot fill the disk. */
#define MAX_SEEDS 10000
#define MAX_CONDITIONS 1000
#define MAX_JOBS 256

typedef struct {
    const char *file;
    const char *text;
    sj_error *err;
} spec_checker;

/* cJSON keeps no positions: a key is found by searching the text for each
 * quoted key of its path in turn; `nth` > 0 takes the nth occurrence of the
 * last key after the previous ones (the nth condition's "name"). */
static const char *find_key(const char *text, const char *const *path, int depth, int nth)
{
    const char *at = text;
    for (int i = 0; i < depth && at; i++) {
        char quoted[160];
        snprintf(quoted, sizeof quoted, "\"%s\"", path[i]);
        int times = i == depth - 1 && nth > 0 ? nth : 1;
        for (int t = 0; t < times && at; t++) {
            const char *found = strstr(t ? at + 1 : at, quoted);
            if (!found)
                return at;
            at = found;
        }
    }
    return at;
}

static sj_status spec_error_at(spec_checker *c, const char *at, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static sj_status spec_error_at(spec_checker *c, const char *at, const char *fmt, ...)
{
    long line = 0, column = 0;
    if (at)
        sj_text_position(c->text, at, &line, &column);
    char message[1536];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(message, sizeof message, fmt, ap);
    va_end(ap);
    return sj_error_at(c->err, SJ_ERR_INPUT, c->file, line, column, "%s", message);
}

static const char *top_key(spec_checker *c, const char *key)
{
    const char *path[1] = {key};
    return find_key(c->text, path, 1, 0);
}

/* Where condition k (0-based) begins: its k+1-th "name" key after
 * "conditions". */
static const char *condition_at(spec_checker *c, size_t k)
{
    const char *path[2] = {"conditions", "name"};
    return find_key(c->text, path, 2, (int)k + 1);
}

/* A key inside condition k: searched after the condition's "name". */
static const char *condition_key(spec_checker *c, size_t k, const char *key, const char *inner)
{
    const char *at = condition_at(c, k);
    const char *path[2] = {key, inner};
    const char *found = find_key(at, path, inner ? 2 : 1, 0);
    return found ? found : at;
}

static int in_list(const char *const *list, const char *key)
{
    for (int i = 0; list[i]; i++)
        if (strcmp(list[i], key) == 0)
            return 1;
    return 0;
}

static void join_list(const char *const *list, char *out, size_t size)
{
    out[0] = '\0';
    for (int i = 0; list[i]; i++)
        snprintf(out + strlen(out), size - strlen(out), "%s%s", i ? ", " : "", list[i]);
}

static const char *const STUDY_KEYS[] = {"name",       "description", "pipeline", "seeds",
                                         "conditions", "out",         "jobs",     NULL};
static const char *const CONDITION_KEYS[] = {"name", "description", "simulate", "stages", NULL};
/* The simulation settings a condition may change (the simulate command's
 * options but --out and --seed, which the study sets). */
static const char *const SIMULATE_KEYS[] = {"persons", "items",       "focal_share", "impact",
                                            "bias",    "rater_noise", "raters",      NULL};

static sj_status check_keys(spec_checker *c, const cJSON *obj, const char *const *allowed,
                            const char *what,
                            const char *(*where)(spec_checker *, const char *, const void *),
                            const void *ctx)
{
    const cJSON *v;
    cJSON_ArrayForEach(v, obj)
    {
        if (in_list(allowed, v->string))
            continue;
        char names[400];
        join_list(allowed, names, sizeof names);
        return spec_error_at(c, where(c, v->string, ctx),
                             "unknown key '%s' in %s (expected one of: %s)", v->string, what,
                             names);
    }
    return SJ_OK;
}

static const char *where_top(spec_checker *c, const char *key, const void *ctx)
{
    (void)ctx;
    return top_key(c, key);
}

typedef struct {
    size_t k;
    const char *section;
} cond_place;

static const char *where_condition(spec_checker *c, const char *key, const void *ctx)
{
    const cond_place *p = ctx;
    return p->section ? condition_key(c, p->k, p->section, key) : condition_key(c, p->k, key, NULL);
}

/* ---- the bias string -------------------------------------------------------- */

static void free_items(char **items, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(items[i]);
    free(items);
}

static int add_bias(char ***items, double **sizes, size_t *n, const char *item, size_t len,
                    double size)
{
    char **gi = realloc(*items, (*n + 1) * sizeof *gi);
    if (gi)
        *items = gi;
    double *gs = gi ? realloc(*sizes, (*n + 1) * sizeof *gs) : NULL;
    if (gs)
        *sizes = gs;
    char *copy = gs ? sj_strndup(item, len) : NULL;
    if (!copy)
        return -1;
    (*items)[*n] = copy;
    (*sizes)[*n] = size;
    (*n)++;
    return 0;
}

int sj_study_parse_bias(const char *text, char ***items, double **sizes, size_t *n, char *why,
                        size_t why_len)
{
    *items = NULL;
    *sizes = NULL;
    *n = 0;
    const char *part = text;
    while (*part) {
        const char *comma = strchr(part, ',');
        size_t len = comma ? (size_t)(comma - part) : strlen(part);
        const char *colon = memchr(part, ':', len);
        char number[64] = "";
        double size = NAN;
        if (colon && (size_t)(part + len - colon - 1) < sizeof number) {
            memcpy(number, colon + 1, (size_t)(part + len - colon - 1));
            number[part + len - colon - 1] = '\0';
        }
        int ok =
            colon && colon > part && sj_parse_number(number, &size) == 0 && size >= 0 && size <= 1;
        for (size_t i = 0; ok && i < *n; i++)
            ok = !(strlen((*items)[i]) == (size_t)(colon - part) &&
                   strncmp((*items)[i], part, (size_t)(colon - part)) == 0);
        if (!ok) {
            snprintf(why, why_len,
                     "expected ITEM:SIZE,... with each item once and each size from 0 to 1 "
                     "(e.g. \"S02:0.6,S05:0.4\"), got \"%.80s\"",
                     text);
            free_items(*items, *n);
            free(*sizes);
            *items = NULL;
            *sizes = NULL;
            *n = 0;
            return -1;
        }
        if (add_bias(items, sizes, n, part, (size_t)(colon - part), size) != 0) {
            snprintf(why, why_len, "out of memory");
            return -1;
        }
        if (!comma)
            break;
        part = comma + 1;
    }
    return 0;
}

/* ---- seeds --------------------------------------------------------------------- */

static int whole_number(const cJSON *v, double max)
{
    return cJSON_IsNumber(v) && v->valuedouble >= 0 && v->valuedouble <= max &&
           v->valuedouble == floor(v->valuedouble);
}

static sj_status read_seed_range(spec_checker *c, const cJSON *seeds, sj_study_spec *s)
{
    static const char *const RANGE_KEYS[] = {"from", "count", NULL};
    sj_status st = check_keys(c, seeds, RANGE_KEYS, "seeds", where_top, NULL);
    const cJSON *from = cJSON_GetObjectItemCaseSensitive(seeds, "from");
    const cJSON *count = cJSON_GetObjectItemCaseSensitive(seeds, "count");
    if (st != SJ_OK)
        return st;
    if (!whole_number(from, 9e15))
        return spec_error_at(c, top_key(c, from ? "from" : "seeds"),
                             "seeds.from: expected the first seed, a whole number from 0");
    if (!whole_number(count, MAX_SEEDS) || count->valuedouble < 1)
        return spec_error_at(c, top_key(c, count ? "count" : "seeds"),
                             "seeds.count: expected the number of seeds, 1 to %d", MAX_SEEDS);
    s->n_seeds = (size_t)count->valuedouble;
    if (!(s->seeds = calloc(s->n_seeds, sizeof *s->seeds)))
        return sj_error_set(c->err, SJ_ERR_WORK, "out of memory");
    for (size_t i = 0; i < s->n_seeds; i++)
        s->seeds[i] = (uint64_t)from->valuedouble + i;
    return SJ_OK;
}

static sj_status read_seeds(spec_checker *c, const cJSON *doc, sj_study_spec *s)
{
    const cJSON *seeds = cJSON_GetObjectItemCaseSensitive(doc, "seeds");
    if (cJSON_IsObject(seeds))
        return read_seed_range(c, seeds, s);
    int n = cJSON_GetArraySize(seeds);
    if (!cJSON_IsArray(seeds) || n < 1 || n > MAX_SEEDS)
        return spec_error_at(c, seeds ? top_key(c, "seeds") : NULL,
                             "seeds: expected a list of 1 to %d seeds (whole numbers from 0) or "
                             "{\"from\": S, \"count\": R}",
                             MAX_SEEDS);
    s->n_seeds = (size_t)n;
    if (!(s->seeds = calloc(s->n_seeds, sizeof *s->seeds)))
        return sj_error_set(c->err, SJ_ERR_WORK, "out of memory");
    for (int i = 0; i < n; i++) {
        const cJSON *v = cJSON_GetArrayItem(seeds, i);
        if (!whole_number(v, 9e15))
            return spec_error_at(c, top_key(c, "seeds"),
                                 "seeds[%d]: expected a whole number from 0", i);
        s->seeds[i] = (uint64_t)v->valuedouble;
        for (int j = 0; j < i; j++)
            if (s->seeds[j] == s->seeds[i])
                return spec_error_at(c, top_key(c, "seeds"), "seeds[%d]: seed %.0f is listed twice",
                                     i, v->valuedouble);
    }
    return SJ_OK;
}

/* ---- the base pipeline ---------------------------------------------------------- */

/* The folder relative paths of a pipeline are taken from: its file's
 * folder (or, inline, the study file's) joined with its "base". */
static sj_status absolute_base(spec_checker *c, cJSON *pipeline, const char *folder)
{
    const cJSON *base = cJSON_GetObjectItemCaseSensitive(pipeline, "base");
    if (base && (!cJSON_IsString(base) || !base->valuestring[0]))
        return spec_error_at(c, top_key(c, "pipeline"),
                             "pipeline: \"base\" must be a non-empty string");
    const char *rel = base ? base->valuestring : ".";
    char *joined = rel[0] == '/' ? sj_strdup(rel) : sj_path_join(folder, rel);
    char *resolved = joined ? sj_path_resolve(joined) : NULL;
    free(joined);
    cJSON *value = resolved ? cJSON_CreateString(resolved) : NULL;
    free(resolved);
    if (!value)
        return sj_error_set(c->err, SJ_ERR_WORK, "out of memory");
    if (base)
        cJSON_ReplaceItemInObjectCaseSensitive(pipeline, "base", value);
    else
        cJSON_AddItemToObject(pipeline, "base", value);
    return SJ_OK;
}

/* The stages a study needs in its base pipeline: simulate (a condition
 * changes the simulation), and score, audit and compare (the figures are
 * read from the compare report and the audits). */
static sj_status check_base(spec_checker *c, const cJSON *pipeline, const char *where)
{
    const char *at = top_key(c, "pipeline");
    if (!cJSON_IsObject(pipeline))
        return spec_error_at(c, at, "pipeline: %s is not a JSON object", where);
    const cJSON *stages = cJSON_GetObjectItemCaseSensitive(pipeline, "stages");
    static const char *const needed[] = {"simulate", "score", "audit", "compare"};
    for (size_t i = 0; i < sizeof needed / sizeof *needed; i++)
        if (!cJSON_IsObject(cJSON_GetObjectItemCaseSensitive(stages, needed[i])))
            return spec_error_at(c, at,
                                 "pipeline: %s has no %s stage; a study simulates each "
                                 "replication and reads its audits and compare report, so the "
                                 "base pipeline needs simulate, score, audit and compare stages",
                                 where, needed[i]);
    if (cJSON_GetObjectItemCaseSensitive(pipeline, "judged_pairs"))
        return spec_error_at(c, at,
                             "pipeline: %s gives judged_pairs; judgments belong to one data set, "
                             "so each replication needs a judge stage instead",
                             where);
    return SJ_OK;
}

static sj_status read_pipeline(spec_checker *c, const cJSON *doc, sj_study_spec *s)
{
    const cJSON *p = cJSON_GetObjectItemCaseSensitive(doc, "pipeline");
    char *folder = sj_path_parent(s->path);
    sj_status st = SJ_OK;
    if (!folder)
        st = sj_error_set(c->err, SJ_ERR_WORK, "out of memory");
    else if (cJSON_IsObject(p)) {
        s->pipeline = cJSON_Duplicate(p, 1);
        st = s->pipeline ? check_base(c, s->pipeline, "the inline pipeline")
                         : sj_error_set(c->err, SJ_ERR_WORK, "out of memory");
        if (st == SJ_OK)
            st = absolute_base(c, s->pipeline, folder);
    } else if (cJSON_IsString(p) && p->valuestring[0]) {
        s->pipeline_path = p->valuestring[0] == '/' ? sj_strdup(p->valuestring)
                                                    : sj_path_join(folder, p->valuestring);
        s->pipeline = s->pipeline_path ? sj_json_read(s->pipeline_path, c->err) : NULL;
        char *pfolder = s->pipeline ? sj_path_parent(s->pipeline_path) : NULL;
        if (!s->pipeline)
            st = c->err->status ? c->err->status : SJ_ERR_WORK;
        else if ((st = check_base(c, s->pipeline, s->pipeline_path)) == SJ_OK)
            st = pfolder ? absolute_base(c, s->pipeline, pfolder)
                         : sj_error_set(c->err, SJ_ERR_WORK, "out of memory");
        free(pfolder);
    } else {
        st = spec_error_at(c, p ? top_key(c, "pipeline") : NULL,
                           "pipeline: expected the path of a pipeline file (relative to the "
                           "study file's folder) or a pipeline object");
    }
    free(folder);
    return st;
}

/* ---- conditions ------------------------------------------------------------------- */

static int plain_name(const char *name)
{
    size_t n = strlen(name);
    if (n == 0 || n > 64 || !isalnum((unsigned char)name[0]))
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!isalnum((unsigned char)name[i]) && !strchr("._-", name[i]))
            return 0;
    return 1;
}

/* Copies every key of `over` into `into`, replacing keys already there. */
static int merge_object(cJSON *into, const cJSON *over)
{
    const cJSON *v;
    cJSON_ArrayForEach(v, over)
    {
        cJSON *copy = cJSON_Duplicate(v, 1);
        if (!copy)
            return -1;
        if (cJSON_GetObjectItemCaseSensitive(into, v->string))
            cJSON_ReplaceItemInObjectCaseSensitive(into, v->string, copy);
        else
            cJSON_AddItemToObject(into, v->string, copy);
    }
    return 0;
}

static sj_status read_simulate(spec_checker *c, const cJSON *cond, size_t k, sj_study_spec *s,
                               sj_study_condition *out)
{
    const cJSON *over = cJSON_GetObjectItemCaseSensitive(cond, "simulate");
    cond_place place = {k, "simulate"};
    if (over && !cJSON_IsObject(over))
        return spec_error_at(c, condition_key(c, k, "simulate", NULL),
                             "conditions[%zu].simulate: expected an object of simulation "
                             "settings",
                             k);
    sj_status st = check_keys(c, over, SIMULATE_KEYS, "a condition's simulate settings",
                              where_condition, &place);
    if (st != SJ_OK)
        return st;
    const cJSON *base = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(s->pipeline, "stages"), "simulate");
    out->simulate = cJSON_Duplicate(base, 1);
    if (!out->simulate || (over && merge_object(out->simulate, over) != 0))
        return sj_error_set(c->err, SJ_ERR_WORK, "out of memory");
    const cJSON *bias = cJSON_GetObjectItemCaseSensitive(out->simulate, "bias");
    if (!bias)
        return SJ_OK;
    char why[256];
    const char *at = cJSON_GetObjectItemCaseSensitive(over, "bias")
                         ? condition_key(c, k, "simulate", "bias")
                         : top_key(c, "pipeline");
    if (!cJSON_IsString(bias) || sj_study_parse_bias(bias->valuestring, &out->biased, &out->bias,
                                                     &out->n_biased, why, sizeof why) != 0)
        return spec_error_at(c, at, "conditions[%zu] (%s): simulate.bias: %s", k, out->name,
                             cJSON_IsString(bias) ? why : "expected a string ITEM:SIZE,...");
    return SJ_OK;
}

static sj_status read_stage_overrides(spec_checker *c, const cJSON *cond, size_t k,
                                      sj_study_condition *out)
{
    const cJSON *stages = cJSON_GetObjectItemCaseSensitive(cond, "stages");
    if (stages && !cJSON_IsObject(stages))
        return spec_error_at(c, condition_key(c, k, "stages", NULL),
                             "conditions[%zu].stages: expected an object of stage settings", k);
    const cJSON *v;
    cJSON_ArrayForEach(v, stages)
    {
        if (strcmp(v->string, "simulate") == 0)
            return spec_error_at(c, condition_key(c, k, "stages", "simulate"),
                                 "conditions[%zu].stages.simulate: a condition's simulation "
                                 "settings go in its \"simulate\" object",
                                 k);
        if (!cJSON_IsObject(v))
            return spec_error_at(c, condition_key(c, k, "stages", v->string),
                                 "conditions[%zu].stages.%s: expected an object of settings", k,
                                 v->string);
    }
    out->stages = stages ? cJSON_Duplicate(stages, 1) : cJSON_CreateObject();
    return out->stages ? SJ_OK : sj_error_set(c->err, SJ_ERR_WORK, "out of memory");
}

static sj_status read_condition(spec_checker *c, const cJSON *cond, size_t k, sj_study_spec *s)
{
    sj_study_condition *out = &s->conditions[k];
    const cJSON *name = cJSON_GetObjectItemCaseSensitive(cond, "name");
    const char *at = condition_at(c, k);
    if (!cJSON_IsObject(cond))
        return spec_error_at(c, top_key(c, "conditions"),
                             "conditions[%zu]: expected an object with a name", k);
    if (!cJSON_IsString(name) || !plain_name(name->valuestring))
        return spec_error_at(c, name ? at : top_key(c, "conditions"),
                             "conditions[%zu].name: expected a folder name of 1 to 64 letters, "
                             "digits, '.', '_' or '-', starting with a letter or digit",
                             k);
    for (size_t j = 0; j < k; j++)
        if (strcmp(s->conditions[j].name, name->valuestring) == 0)
            return spec_error_at(c, at, "conditions[%zu].name: \"%s\" is also conditions[%zu]", k,
                                 name->valuestring, j);
    if (!(out->name = sj_strdup(name->valuestring)))
        return sj_error_set(c->err, SJ_ERR_WORK, "out of memory");
    cond_place place = {k, NULL};
    sj_status st = check_keys(c, cond, CONDITION_KEYS, "a condition", where_condition, &place);
    if (st == SJ_OK)
        st = read_simulate(c, cond, k, s, out);
    if (st == SJ_OK)
        st = read_stage_overrides(c, cond, k, out);
    return st;
}

static sj_status read_conditions(spec_checker *c, const cJSON *doc, sj_study_spec *s)
{
    const cJSON *conds = cJSON_GetObjectItemCaseSensitive(doc, "conditions");
    int n = cJSON_GetArraySize(conds);
    if (!cJSON_IsArray(conds) || n < 1 || n > MAX_CONDITIONS)
        return spec_error_at(c, conds ? top_key(c, "conditions") : NULL,
                             "conditions: expected a list of 1 to %d conditions, each "
                             "{\"name\": ..., \"simulate\": {...}, \"stages\": {...}}",
                             MAX_CONDITIONS);
    if (!(s->conditions = calloc((size_t)n, sizeof *s->conditions)))
        return sj_error_set(c->err, SJ_ERR_WORK, "out of memory");
    s->n_conditions = (size_t)n;
    sj_status st = SJ_OK;
    for (int k = 0; k < n && st == SJ_OK; k++)
        st = read_condition(c, cJSON_GetArrayItem(conds, k), (size_t)k, s);
    return st;
}

/* ---- the whole file ------------------------------------------------------------------ */

static sj_status read_out_and_jobs(spec_checker *c, const cJSON *doc, sj_study_spec *s)
{
    const cJSON *out = cJSON_GetObjectItemCaseSensitive(doc, "out");
    if (!cJSON_IsString(out) || !out->valuestring[0])
        return spec_error_at(c, out ? top_key(c, "out") : NULL,
                             "out: expected the study's folder (relative to the study file's "
                             "folder)");
    char *folder = sj_path_parent(s->path);
    char *joined = !folder                      ? NULL
                   : out->valuestring[0] == '/' ? sj_strdup(out->valuestring)
                                                : sj_path_join(folder, out->valuestring);
    s->out = joined ? sj_path_resolve(joined) : NULL;
    free(joined);
    free(folder);
    if (!s->out)
        return sj_error_set(c->err, SJ_ERR_WORK, "out of memory");
    const cJSON *jobs = cJSON_GetObjectItemCaseSensitive(doc, "jobs");
    if (jobs && (!whole_number(jobs, MAX_JOBS) || jobs->valuedouble < 1))
        return spec_error_at(c, top_key(c, "jobs"),
                             "jobs: expected the number of replications run at once, 1 to %d",
                             MAX_JOBS);
    s->jobs = jobs ? (long)jobs->valuedouble : 0;
    return SJ_OK;
}

static sj_status read_study(spec_checker *c, const cJSON *doc, sj_study_spec *s)
{
    if (!cJSON_IsObject(doc))
        return sj_error_at(c->err, SJ_ERR_INPUT, c->file, 1, 1, "expected a JSON object");
    sj_status st = check_keys(c, doc, STUDY_KEYS, "the study file", where_top, NULL);
    const cJSON *name = cJSON_GetObjectItemCaseSensitive(doc, "name");
    if (st == SJ_OK && name && !cJSON_IsString(name))
        st = spec_error_at(c, top_key(c, "name"), "name: expected a string");
    if (st == SJ_OK && !(s->name = sj_strdup(name ? name->valuestring : "study")))
        st = sj_error_set(c->err, SJ_ERR_WORK, "out of memory");
    if (st == SJ_OK)
        st = read_pipeline(c, doc, s);
    if (st == SJ_OK)
        st = read_seeds(c, doc, s);
    if (st == SJ_OK)
        st = read_conditions(c, doc, s);
    if (st == SJ_OK)
        st = read_out_and_jobs(c, doc, s);
    return st;
}

sj_study_spec *sj_study_load(const char *path, sj_error *err)
{
    char *text = NULL;
    if (sj_read_file(path, &text, NULL, err) != SJ_OK)
        return NULL;
    cJSON *doc = sj_json_parse(path, text, err);
    sj_study_spec *s = doc ? calloc(1, sizeof *s) : NULL;
    spec_checker c = {.file = path, .text = text, .err = err};
    sj_status st = SJ_ERR_INPUT;
    if (doc && !s)
        sj_error_set(err, SJ_ERR_WORK, "out of memory");
    else if (s && !(s->path = sj_strdup(path)))
        sj_error_set(err, SJ_ERR_WORK, "out of memory");
    else if (s)
        st = read_study(&c, doc, s);
    cJSON_Delete(doc);
    free(text);
    if (st == SJ_OK)
        return s;
    sj_study_free(s);
    return NULL;
}

void sj_study_free(sj_study_spec *s)
{
    if (!s)
        return;
    for (size_t k = 0; k < s->n_conditions; k++) {
        sj_study_condition *c = &s->conditions[k];
        free(c->name);
        cJSON_Delete(c->simulate);
        cJSON_Delete(c->stages);
        free_items(c->biased, c->n_biased);
        free(c->bias);
    }
    free(s->conditions);
    free(s->seeds);
    cJSON_Delete(s->pipeline);
    free(s->pipeline_path);
    free(s->name);
    free(s->out);
    free(s->path);
    free(s);
}

/* ---- a replication's pipeline ----------------------------------------------------------- */

char *sj_study_replication_dir(const sj_study_spec *s, size_t c, size_t k)
{
    char *leaf =
        sj_asprintf("%s/seed-%llu", s->conditions[c].name, (unsigned long long)s->seeds[k]);
    char *dir = leaf ? sj_path_join(s->out, leaf) : NULL;
    free(leaf);
    return dir;
}

static int set_string(cJSON *obj, const char *key, const char *value)
{
    cJSON *v = cJSON_CreateString(value);
    if (!v)
        return -1;
    if (cJSON_GetObjectItemCaseSensitive(obj, key))
        cJSON_ReplaceItemInObjectCaseSensitive(obj, key, v);
    else
        cJSON_AddItemToObject(obj, key, v);
    return 0;
}

/* The replication's own files: the simulated data in dir/data, the runs
 * and reports in dir/runs and dir/reports. */
static int set_places(cJSON *p, const char *dir)
{
    static const char *const keys[] = {"data", "instrument", "truth", "runs", "reports"};
    static const char *const leaves[] = {"data/responses.csv", "data/instrument.json",
                                         "data/truth.csv", "runs", "reports"};
    int failed = 0;
    for (size_t i = 0; i < sizeof keys / sizeof *keys; i++) {
        char *path = sj_path_join(dir, leaves[i]);
        failed |= !path || set_string(p, keys[i], path) != 0;
        free(path);
    }
    return failed ? -1 : 0;
}

static int merge_stages(cJSON *stages, const sj_study_condition *cond)
{
    if (cJSON_GetObjectItemCaseSensitive(stages, "simulate")) {
        cJSON *sim = cJSON_Duplicate(cond->simulate, 1);
        if (!sim)
            return -1;
        cJSON_ReplaceItemInObjectCaseSensitive(stages, "simulate", sim);
    }
    const cJSON *over;
    cJSON_ArrayForEach(over, cond->stages)
    {
        cJSON *stage = cJSON_GetObjectItemCaseSensitive(stages, over->string);
        if (!stage) {
            stage = cJSON_CreateObject();
            if (!stage)
                return -1;
            cJSON_AddItemToObject(stages, over->string, stage);
        }
        if (merge_object(stage, over) != 0)
            return -1;
    }
    return 0;
}

cJSON *sj_study_replication_pipeline(const sj_study_spec *s, size_t c, size_t k, const char *dir)
{
    const sj_study_condition *cond = &s->conditions[c];
    cJSON *p = cJSON_Duplicate(s->pipeline, 1);
    char *name =
        sj_asprintf("%s/%s/seed-%llu", s->name, cond->name, (unsigned long long)s->seeds[k]);
    cJSON *seed = cJSON_CreateNumber((double)s->seeds[k]);
    int failed = !p || !name || !seed || set_string(p, "name", name) != 0 || set_places(p, dir);
    if (!failed) {
        if (cJSON_GetObjectItemCaseSensitive(p, "seed"))
            cJSON_ReplaceItemInObjectCaseSensitive(p, "seed", seed);
        else
            cJSON_AddItemToObject(p, "seed", seed);
        seed = NULL;
        failed = merge_stages(cJSON_GetObjectItemCaseSensitive(p, "stages"), cond) != 0;
    }
    cJSON_Delete(seed);
    free(name);
    if (failed) {
        cJSON_Delete(p);
        return NULL;
    }
    return p;
}
