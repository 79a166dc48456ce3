/* The several-raters part of an audit (audit --human A,B,...): the raters'
 * agreement with one another, the machine's with each of them and with
 * their mean, PRMSE and degradation, over the responses of the two
 * compared groups, with person-bootstrap intervals; and the rows of
 * raters.csv. The first rater stays the score of record of the rest of
 * the audit (RSMTool's h1). */
#include "report_internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BOOTSTRAP_LEVEL 0.95
#define N_GROUPS 2 /* reference, focal */

/* ---- the column list ---------------------------------------------------------- */

void rj_rater_columns_free(rj_rater_columns *c)
{
    free(c->names);
    free(c->copy);
    memset(c, 0, sizeof *c);
}

sj_status rj_rater_columns_split(const char *human_col, rj_rater_columns *out, sj_error *err)
{
    memset(out, 0, sizeof *out);
    if (!human_col)
        return SJ_OK;
    size_t n = 1;
    for (const char *c = human_col; *c; c++)
        n += *c == ',';
    out->copy = sj_strdup(human_col);
    out->names = calloc(n, sizeof *out->names);
    if (!out->copy || !out->names) {
        rj_rater_columns_free(out);
        return sj_error_set(err, SJ_ERR_WORK, "out of memory");
    }
    for (char *name = out->copy, *end; name; name = end) {
        end = strchr(name, ',');
        if (end)
            *end++ = '\0';
        for (size_t k = 0; k < out->n; k++)
            if (strcmp(out->names[k], name) == 0) {
                sj_error_set(err, SJ_ERR_INPUT, "--human lists column '%.60s' twice", name);
                rj_rater_columns_free(out);
                return SJ_ERR_INPUT;
            }
        if (*name == '\0') {
            sj_error_set(err, SJ_ERR_INPUT, "--human has an empty column name in '%.200s'",
                         human_col);
            rj_rater_columns_free(out);
            return SJ_ERR_INPUT;
        }
        out->names[out->n++] = name;
    }
    return SJ_OK;
}

/* ---- the responses compared ---------------------------------------------------- */

/* The responses of the two compared groups with a machine score, in file
 * order: machine score, ratings (NaN where empty), group (0 reference, 1
 * focal) and person (index into persons, every person of the file). */
typedef struct {
    size_t n, n_raters;
    double *machine;
    double **rater;
    int *group;
    size_t *person;
    sj_table_keys persons; /* every distinct person of the table */
} rater_rows;

static void rows_free(rater_rows *r)
{
    free(r->machine);
    for (size_t k = 0; r->rater && k < r->n_raters; k++)
        free(r->rater[k]);
    free(r->rater);
    free(r->group);
    free(r->person);
    sj_table_keys_free(&r->persons);
}

static sj_status check_columns(const rj_raters_request *q, long *cols, sj_error *err)
{
    for (size_t k = 0; k < q->columns->n; k++) {
        cols[k] = sj_table_column(q->resp->table, q->columns->names[k], err);
        if (cols[k] < 0)
            return SJ_ERR_INPUT;
        /* Every rater scores on the instrument's scale, like the first. */
        if (sj_check_score_column(q->resp->table, cols[k], q->ins, err) != SJ_OK)
            return SJ_ERR_INPUT;
    }
    return SJ_OK;
}

static int rows_alloc(rater_rows *r, size_t n_rows, size_t n_raters)
{
    size_t cap = n_rows ? n_rows : 1;
    r->n_raters = n_raters;
    r->machine = malloc(cap * sizeof *r->machine);
    r->group = malloc(cap * sizeof *r->group);
    r->person = malloc(cap * sizeof *r->person);
    r->rater = calloc(n_raters, sizeof *r->rater);
    if (!r->machine || !r->group || !r->person || !r->rater)
        return -1;
    for (size_t k = 0; k < n_raters; k++)
        if (!(r->rater[k] = malloc(cap * sizeof **r->rater)))
            return -1;
    return 0;
}

static sj_status load_rows(const rj_raters_request *q, rater_rows *out, sj_error *err)
{
    const sj_table *t = q->resp->table;
    long *cols = calloc(q->columns->n, sizeof *cols);
    sj_status st =
        cols ? check_columns(q, cols, err) : sj_error_set(err, SJ_ERR_WORK, "out of memory");
    if (st == SJ_OK && rows_alloc(out, t->n_rows, q->columns->n) != 0)
        st = sj_error_set(err, SJ_ERR_WORK, "out of memory");
    if (st == SJ_OK)
        st = sj_table_keys_build(t, (size_t)q->resp->col_person, &out->persons, err);
    for (size_t r = 0; r < t->n_rows && st == SJ_OK; r++) {
        const char *g = sj_table_cell(t, r, (size_t)q->resp->col_group);
        int group = strcmp(g, q->reference) == 0 ? 0 : strcmp(g, q->focal) == 0 ? 1 : -1;
        if (group < 0 || isnan(q->resp->score[r]))
            continue;
        out->machine[out->n] = q->resp->score[r];
        out->group[out->n] = group;
        out->person[out->n] = out->persons.row_key[r];
        for (size_t k = 0; k < q->columns->n; k++) {
            double v;
            const char *cell = sj_table_cell(t, r, (size_t)cols[k]);
            out->rater[k][out->n] = cell[0] && sj_parse_number(cell, &v) == 0 ? v : NAN;
        }
        out->n++;
    }
    free(cols);
    return st;
}

/* ---- bootstrap -------------------------------------------------------------------- */

/* The statistics with intervals: the name in the bootstrap replicates
 * ("raters." + key) and the key beside which "<key>_ci" stands. */
static const char *const BOOT_KEYS[] = {"prmse", "qwk_machine_human", "qwk_human_human",
                                        "degradation_qwk", "pearson_machine_mean"};
#define N_BOOT_KEYS (sizeof BOOT_KEYS / sizeof *BOOT_KEYS)
#define N_SCOPES (1 + N_GROUPS)

static double boot_value(const sj_raters_scope *s, size_t key)
{
    switch (key) {
    case 0:
        return s->prmse;
    case 1:
        return s->qwk_machine_human;
    case 2:
        return s->qwk_human_human;
    case 3:
        return s->degradation_qwk;
    default:
        return s->pearson_machine_mean;
    }
}

/* A replicate's responses: each response of a drawn person once per draw. */
typedef struct {
    rater_rows rep;
    size_t cap;
} replicate_rows;

static int replicate_fill(const rater_rows *rows, const unsigned *counts, replicate_rows *w)
{
    size_t need = 0;
    for (size_t i = 0; i < rows->n; i++)
        need += counts[rows->person[i]];
    if (need > w->cap) {
        rows_free(&w->rep);
        memset(&w->rep, 0, sizeof w->rep);
        if (rows_alloc(&w->rep, need, rows->n_raters) != 0)
            return -1;
        w->cap = need;
    }
    size_t n = 0;
    for (size_t i = 0; i < rows->n; i++)
        for (unsigned c = 0; c < counts[rows->person[i]]; c++, n++) {
            w->rep.machine[n] = rows->machine[i];
            w->rep.group[n] = rows->group[i];
            for (size_t k = 0; k < rows->n_raters; k++)
                w->rep.rater[k][n] = rows->rater[k][i];
        }
    w->rep.n = n;
    return 0;
}

/* values[(key * N_SCOPES + scope) * B + r]: scope 0 all, 1 reference, 2
 * focal. */
static sj_status run_replicates(const rater_rows *rows, const sj_bootstrap *boot, double *values,
                                sj_error *err)
{
    size_t B = sj_bootstrap_replicates(boot);
    unsigned *counts = malloc(rows->persons.n * sizeof *counts);
    replicate_rows w;
    memset(&w, 0, sizeof w);
    w.rep.n_raters = rows->n_raters;
    sj_status st = counts ? SJ_OK : sj_error_set(err, SJ_ERR_WORK, "out of memory");
    size_t lo, hi;
    rj_boot_share(B, &lo, &hi);
    for (size_t r = lo; r < hi && st == SJ_OK; r++) {
        st = sj_bootstrap_counts(boot, r, counts, err);
        if (st == SJ_OK && replicate_fill(rows, counts, &w) != 0)
            st = sj_error_set(err, SJ_ERR_WORK, "out of memory");
        sj_raters_input in = {w.rep.n,        w.rep.machine,
                              rows->n_raters, (const double *const *)w.rep.rater,
                              w.rep.group,    N_GROUPS};
        sj_raters_result res;
        if (st == SJ_OK)
            st = sj_raters_compute(&in, &res, err);
        for (size_t key = 0; key < N_BOOT_KEYS && st == SJ_OK; key++) {
            values[(key * N_SCOPES) * B + r] = boot_value(&res.overall, key);
            for (size_t g = 0; g < N_GROUPS; g++)
                values[(key * N_SCOPES + 1 + g) * B + r] = boot_value(&res.by_group[g], key);
        }
        if (st == SJ_OK)
            sj_raters_free(&res);
    }
    rows_free(&w.rep);
    free(counts);
    return rj_boot_exchange(values, N_BOOT_KEYS * N_SCOPES, B, st, err);
}

/* doc.bootstrap.replicates, created where missing (helper D's bootstrap
 * of the other statistics shares it). */
static cJSON *replicates_object(cJSON *doc)
{
    cJSON *boot = cJSON_GetObjectItemCaseSensitive(doc, "bootstrap");
    if (!cJSON_IsObject(boot)) {
        cJSON_DeleteItemFromObjectCaseSensitive(doc, "bootstrap");
        boot = cJSON_AddObjectToObject(doc, "bootstrap");
    }
    cJSON *reps = cJSON_GetObjectItemCaseSensitive(boot, "replicates");
    if (!cJSON_IsObject(reps)) {
        cJSON_DeleteItemFromObjectCaseSensitive(boot, "replicates");
        reps = cJSON_AddObjectToObject(boot, "replicates");
    }
    return reps;
}

static cJSON *number_array(const double *v, size_t n)
{
    cJSON *a = cJSON_CreateArray();
    for (size_t i = 0; i < n && a; i++)
        cJSON_AddItemToArray(a, isfinite(v[i]) ? cJSON_CreateNumber(v[i]) : cJSON_CreateNull());
    return a;
}

static cJSON *interval_json(const double *v, size_t n)
{
    double lo, hi;
    sj_bootstrap_interval(v, n, BOOTSTRAP_LEVEL, &lo, &hi);
    double ends[2] = {lo, hi};
    return number_array(ends, 2);
}

/* Stores the replicates in doc and the intervals beside the values. */
static void attach_bootstrap(cJSON *doc, cJSON *raters, const double *values, size_t B,
                             const char *reference, const char *focal)
{
    cJSON *reps = replicates_object(doc);
    cJSON *scopes[N_SCOPES] = {
        cJSON_GetObjectItemCaseSensitive(raters, "overall"),
        cJSON_GetObjectItemCaseSensitive(rj_get(raters, "by_group"), reference),
        cJSON_GetObjectItemCaseSensitive(rj_get(raters, "by_group"), focal)};
    const char *scope_names[N_SCOPES] = {"all", reference, focal};
    for (size_t key = 0; key < N_BOOT_KEYS; key++) {
        char stat[64], ci[64];
        snprintf(stat, sizeof stat, "raters.%s", BOOT_KEYS[key]);
        snprintf(ci, sizeof ci, "%s_ci", BOOT_KEYS[key]);
        cJSON *by_scope = cJSON_AddObjectToObject(reps, stat);
        for (size_t s = 0; s < N_SCOPES; s++) {
            const double *v = values + (key * N_SCOPES + s) * B;
            cJSON_AddItemToObject(by_scope, scope_names[s], number_array(v, B));
            cJSON_AddItemToObject(scopes[s], ci, interval_json(v, B));
        }
    }
}

static sj_status bootstrap_raters(cJSON *doc, cJSON *raters, const rater_rows *rows,
                                  const rj_raters_request *q, sj_error *err)
{
    sj_bootstrap *boot =
        sj_bootstrap_new(rows->persons.keys, rows->persons.n, q->n_bootstrap, q->seed, err);
    if (!boot)
        return err->status ? err->status : SJ_ERR_WORK;
    size_t B = q->n_bootstrap;
    double *values = malloc(N_BOOT_KEYS * N_SCOPES * B * sizeof *values);
    /* short of memory, this rank still takes part in the replicates' exchange */
    sj_status st =
        values ? run_replicates(rows, boot, values, err)
               : rj_boot_exchange(NULL, 0, B, sj_error_set(err, SJ_ERR_WORK, "out of memory"), err);
    if (st == SJ_OK)
        attach_bootstrap(doc, raters, values, B, q->reference, q->focal);
    free(values);
    sj_bootstrap_free(boot);
    return st;
}

/* ---- the "raters" object ------------------------------------------------------------ */

static void add_summary_line(cJSON *doc, const cJSON *raters)
{
    const cJSON *all = rj_get(raters, "overall");
    double hh = rj_num(all, "qwk_human_human"), mh = rj_num(all, "qwk_machine_human");
    double deg = rj_num(all, "degradation_qwk");
    const cJSON *pass = rj_path(all, "thresholds", "degradation_qwk", "pass");
    sj_buf b = {0};
    sj_buf_printf(&b,
                  "Several raters (%.0f): the raters agree with one another with QWK %.3f; the "
                  "machine's QWK with them averages %.3f, a degradation of %.3f (%s Williamson's "
                  "-0.10); PRMSE %.3f",
                  rj_num(raters, "n_raters"), hh, mh, deg,
                  cJSON_IsTrue(pass)    ? "within"
                  : cJSON_IsFalse(pass) ? "beyond"
                                        : "no value for",
                  rj_num(all, "prmse"));
    cJSON *lines = cJSON_GetObjectItemCaseSensitive(doc, "summary");
    if (cJSON_IsArray(lines))
        rj_take_line(lines, &b);
    sj_buf_free(&b);
}

static cJSON *raters_object(const rater_rows *rows, const rj_raters_request *q, sj_error *err)
{
    sj_raters_input in = {rows->n,        rows->machine,
                          rows->n_raters, (const double *const *)rows->rater,
                          rows->group,    N_GROUPS};
    sj_raters_result res;
    if (sj_raters_compute(&in, &res, err) != SJ_OK)
        return NULL;
    const char *groups[N_GROUPS] = {q->reference, q->focal};
    cJSON *o = sj_raters_to_json(&res, (const char *const *)q->columns->names, groups);
    sj_raters_free(&res);
    if (!o) {
        sj_error_set(err, SJ_ERR_WORK, "out of memory");
        return NULL;
    }
    cJSON_AddStringToObject(o, "score_of_record", q->columns->names[0]);
    cJSON_AddStringToObject(o, "unit",
                            "one response of the two compared groups with a machine score "
                            "(the modal score) and at least one rating");
    cJSON_AddStringToObject(o, "thresholds_source", "Williamson, Xi & Breyer (2012)");
    cJSON_AddNumberToObject(o, "bootstrap_replicates", (double)q->n_bootstrap);
    return o;
}

sj_status rj_audit_raters(cJSON *doc, const rj_raters_request *q, sj_error *err)
{
    if (q->columns->n < 2)
        return SJ_OK;
    rater_rows rows;
    memset(&rows, 0, sizeof rows);
    sj_status st = load_rows(q, &rows, err);
    cJSON *raters = st == SJ_OK ? raters_object(&rows, q, err) : NULL;
    if (st == SJ_OK && !raters)
        st = err->status ? err->status : SJ_ERR_WORK;
    if (st == SJ_OK && q->n_bootstrap > 0)
        st = bootstrap_raters(doc, raters, &rows, q, err);
    if (st == SJ_OK) {
        cJSON_AddItemToObject(doc, "raters", raters);
        add_summary_line(doc, raters);
    } else {
        cJSON_Delete(raters);
    }
    rows_free(&rows);
    return st;
}

/* ---- raters.csv ----------------------------------------------------------------------- */

const char *const rj_raters_csv_lead[] = {"comparison",
                                          "scope",
                                          "group",
                                          "rater_a",
                                          "rater_b",
                                          "n",
                                          "exact",
                                          "adjacent",
                                          "qwk",
                                          "qwk_ci_low",
                                          "qwk_ci_high",
                                          "pearson_r",
                                          "pearson_r_ci_low",
                                          "pearson_r_ci_high",
                                          "smd",
                                          "rmse",
                                          "prmse",
                                          "prmse_ci_low",
                                          "prmse_ci_high",
                                          "error_variance",
                                          "true_score_variance",
                                          "mse_true",
                                          "degradation_qwk",
                                          "degradation_qwk_ci_low",
                                          "degradation_qwk_ci_high",
                                          "degradation_r",
                                          "qwk_pass",
                                          "pearson_r_pass",
                                          "degradation_qwk_pass",
                                          "smd_pass",
                                          NULL};

static cJSON *new_row(cJSON *rows, const char *comparison, const char *group, const char *a,
                      const char *b)
{
    cJSON *row = cJSON_CreateObject();
    if (!row)
        return NULL;
    cJSON_AddStringToObject(row, "comparison", comparison);
    cJSON_AddStringToObject(row, "scope", group ? "group" : "overall");
    cJSON_AddStringToObject(row, "group", group ? group : "");
    cJSON_AddStringToObject(row, "rater_a", a);
    cJSON_AddStringToObject(row, "rater_b", b);
    cJSON_AddItemToArray(rows, row);
    return row;
}

/* Copies from[key] into row[column] (null where missing or NaN). */
static void copy_number(cJSON *row, const char *column, const cJSON *from, const char *key)
{
    sj_json_add_number(row, column, rj_num(from, key));
}

/* The interval from[key + "_ci"] as column_ci_low, column_ci_high (absent
 * without a bootstrap). */
static void copy_interval(cJSON *row, const char *column, const cJSON *from, const char *key)
{
    char name[64];
    snprintf(name, sizeof name, "%s_ci", key);
    const cJSON *ci = rj_get(from, name);
    if (!cJSON_IsArray(ci))
        return;
    const cJSON *lo = cJSON_GetArrayItem(ci, 0), *hi = cJSON_GetArrayItem(ci, 1);
    snprintf(name, sizeof name, "%s_ci_low", column);
    sj_json_add_number(row, name, cJSON_IsNumber(lo) ? lo->valuedouble : NAN);
    snprintf(name, sizeof name, "%s_ci_high", column);
    sj_json_add_number(row, name, cJSON_IsNumber(hi) ? hi->valuedouble : NAN);
}

static void copy_pass(cJSON *row, const cJSON *scope, const char *check)
{
    char name[48];
    snprintf(name, sizeof name, "%s_pass", check);
    const cJSON *pass = rj_path(scope, "thresholds", check, "pass");
    if (cJSON_IsBool(pass))
        cJSON_AddBoolToObject(row, name, cJSON_IsTrue(pass));
    else
        cJSON_AddNullToObject(row, name);
}

static void copy_agreement(cJSON *row, const cJSON *a, int with_smd)
{
    static const char *const keys[] = {"n", "exact", "adjacent", "qwk", "pearson_r"};
    for (size_t k = 0; k < sizeof keys / sizeof *keys; k++)
        copy_number(row, keys[k], a, keys[k]);
    if (with_smd)
        copy_number(row, "smd", a, "smd");
}

static void human_rows(cJSON *rows, const cJSON *s, const char *group)
{
    const cJSON *p;
    cJSON_ArrayForEach(p, rj_get(s, "human_human"))
    {
        cJSON *row =
            new_row(rows, "human_human", group, rj_str(p, "rater_a"), rj_str(p, "rater_b"));
        copy_agreement(row, p, 0);
    }
    cJSON *row = new_row(rows, "human_human_mean", group, "each rater", "each other rater");
    copy_number(row, "n", s, "n_multiple");
    copy_number(row, "exact", s, "exact_human_human");
    copy_number(row, "adjacent", s, "adjacent_human_human");
    copy_number(row, "qwk", s, "qwk_human_human");
    copy_interval(row, "qwk", s, "qwk_human_human");
    copy_number(row, "pearson_r", s, "pearson_human_human");
}

static void machine_rows(cJSON *rows, const cJSON *s, const char *group)
{
    const cJSON *a;
    cJSON_ArrayForEach(a, rj_get(s, "machine_rater"))
    {
        copy_agreement(new_row(rows, "machine_rater", group, "machine", rj_str(a, "rater")), a, 1);
    }
    cJSON *row = new_row(rows, "machine_rater_mean", group, "machine", "each rater");
    copy_number(row, "n", s, "n_responses");
    copy_number(row, "exact", s, "exact_machine_human");
    copy_number(row, "adjacent", s, "adjacent_machine_human");
    copy_number(row, "qwk", s, "qwk_machine_human");
    copy_interval(row, "qwk", s, "qwk_machine_human");
    copy_number(row, "pearson_r", s, "pearson_machine_human");
    copy_number(row, "smd", s, "smd_machine_human");
    copy_number(row, "degradation_qwk", s, "degradation_qwk");
    copy_interval(row, "degradation_qwk", s, "degradation_qwk");
    copy_number(row, "degradation_r", s, "degradation_r");
    static const char *const checks[] = {"qwk", "pearson_r", "degradation_qwk", "smd"};
    for (size_t k = 0; k < sizeof checks / sizeof *checks; k++)
        copy_pass(row, s, checks[k]);
    row = new_row(rows, "machine_mean", group, "machine", "mean of the raters");
    copy_number(row, "n", s, "n_responses");
    copy_number(row, "qwk", s, "qwk_machine_mean");
    copy_number(row, "pearson_r", s, "pearson_machine_mean");
    copy_interval(row, "pearson_r", s, "pearson_machine_mean");
    copy_number(row, "rmse", s, "rmse_machine_mean");
    row = new_row(rows, "machine_true_score", group, "machine", "true score");
    copy_number(row, "n", s, "n_responses");
    static const char *const prmse_keys[] = {"prmse", "error_variance", "true_score_variance",
                                             "mse_true"};
    for (size_t k = 0; k < sizeof prmse_keys / sizeof *prmse_keys; k++)
        copy_number(row, prmse_keys[k], s, prmse_keys[k]);
    copy_interval(row, "prmse", s, "prmse");
}

cJSON *rj_raters_rows(const cJSON *raters)
{
    cJSON *rows = cJSON_CreateArray();
    if (!rows)
        return NULL;
    const cJSON *all = rj_get(raters, "overall");
    human_rows(rows, all, NULL);
    machine_rows(rows, all, NULL);
    const cJSON *g;
    cJSON_ArrayForEach(g, rj_get(raters, "by_group"))
    {
        human_rows(rows, g, g->string);
        machine_rows(rows, g, g->string);
    }
    return rows;
}
