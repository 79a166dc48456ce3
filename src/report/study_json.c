/* The study document (study.json), its CSV table and the writing of the
 * three outputs. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "report_internal.h"
#include "sjtalign/study.h"

#define INTERVAL_NOTE                                                                              \
    "95% t-interval over replications: mean +- t(0.975, n-1) * sd / sqrt(n), sd with n - 1; "      \
    "t from GSL's gsl_cdf_tdist_Pinv"

/* Adds {"mean", "ci": [lo, hi], "n"}. */
static void add_mean(cJSON *obj, const char *key, sj_study_mean m)
{
    cJSON *o = cJSON_AddObjectToObject(obj, key);
    if (!o)
        return;
    sj_json_add_number(o, "mean", m.mean);
    rj_add_interval(o, "mean", m.lo, m.hi);
    cJSON_AddNumberToObject(o, "n", (double)m.n);
}

static void add_text_or_null(cJSON *obj, const char *key, const char *text)
{
    if (text)
        cJSON_AddStringToObject(obj, key, text);
    else
        cJSON_AddNullToObject(obj, key);
}

static cJSON *settings_json(const sj_study_spec *s)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "study_file", s->path);
    add_text_or_null(o, "pipeline_file", s->pipeline_path);
    cJSON_AddStringToObject(o, "out", s->out);
    cJSON_AddNumberToObject(o, "jobs", (double)s->jobs);
    add_text_or_null(o, "blas_core", s->blas_core);
    cJSON *seeds = cJSON_AddArrayToObject(o, "seeds");
    for (size_t k = 0; k < s->n_seeds; k++)
        cJSON_AddItemToArray(seeds, cJSON_CreateNumber((double)s->seeds[k]));
    cJSON *conds = cJSON_AddArrayToObject(o, "conditions");
    for (size_t c = 0; c < s->n_conditions; c++) {
        const sj_study_condition *cond = &s->conditions[c];
        cJSON *j = cJSON_CreateObject();
        cJSON_AddItemToArray(conds, j);
        cJSON_AddStringToObject(j, "name", cond->name);
        cJSON_AddItemToObject(j, "simulate", cJSON_Duplicate(cond->simulate, 1));
        cJSON_AddItemToObject(j, "stages", cJSON_Duplicate(cond->stages, 1));
        cJSON *biased = cJSON_AddArrayToObject(j, "biased_items");
        for (size_t b = 0; b < cond->n_biased; b++)
            cJSON_AddItemToArray(biased, cJSON_CreateString(cond->biased[b]));
    }
    cJSON_AddStringToObject(o, "interval", INTERVAL_NOTE);
    cJSON_AddStringToObject(o, "effect",
                            "|SMD/SD| of the modal machine scores on held-out "
                            "persons (the audits' DIF effect)");
    cJSON_AddStringToObject(o, "reduction",
                            "(|SMD/SD| under SFT - |SMD/SD| under the scorer) / "
                            "|SMD/SD| under SFT, per biased item and replication; "
                            "'reduction' and 'halved_share' read only the replications where "
                            "SFT inherited the item's bias (flagged it B/C or BB/CC), "
                            "'reduction_all' reads every replication");
    cJSON_AddStringToObject(o, "machine_made",
                            "items flagged (B/C, BB/CC) in the scorer's scores but neither in "
                            "the human scores (the audit's human_dif) nor in the true scores "
                            "(DIF of the true scores of the audited persons, same settings)");
    return o;
}

static cJSON *model_json(const sj_study_spec *s, const sj_study_rep *r, int m)
{
    const sj_study_model_fig *f = &r->models[m];
    const sj_study_condition *cond = &s->conditions[r->condition];
    cJSON *o = cJSON_CreateObject();
    cJSON *items = cJSON_AddArrayToObject(o, "biased_items");
    for (size_t b = 0; b < cond->n_biased; b++) {
        cJSON *it = cJSON_CreateObject();
        cJSON_AddItemToArray(items, it);
        cJSON_AddStringToObject(it, "item", cond->biased[b]);
        sj_json_add_number(it, "abs_smd_over_sd_sft", f->items[b].abs_sft);
        sj_json_add_number(it, "abs_smd_over_sd", f->items[b].abs_model);
        cJSON_AddBoolToObject(it, "inherited", f->items[b].inherited);
        if (m > 0) {
            sj_json_add_number(it, "reduction", f->items[b].reduction);
            cJSON_AddBoolToObject(it, "halved", f->items[b].reduction >= 0.5);
        }
    }
    cJSON_AddNumberToObject(o, "unbiased_flagged", f->n_unbiased_flagged);
    add_text_or_null(o, "unbiased_flagged_items", f->unbiased_flagged);
    cJSON_AddNumberToObject(o, "machine_made", f->n_machine_made);
    add_text_or_null(o, "machine_made_items", f->machine_made);
    sj_json_add_number(o, "qwk_truth", f->qwk_truth);
    sj_json_add_number(o, "qwk_human", f->qwk_human);
    if (m == 1) {
        sj_json_add_number(o, "kl", f->kl);
        cJSON_AddBoolToObject(o, "reward_hacking_warning", f->hacking);
    }
    return o;
}

static cJSON *replication_json(const sj_study_spec *s, const sj_study_rep *r)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "condition", s->conditions[r->condition].name);
    sj_json_add_seed(o, "seed", r->seed);
    cJSON_AddStringToObject(o, "status", sj_study_status_name(r->status));
    cJSON_AddNumberToObject(o, "exit_code", r->exit_code);
    sj_json_add_number(o, "seconds", r->seconds);
    cJSON_AddStringToObject(o, "dir", r->dir);
    cJSON_AddStringToObject(o, "log", r->log);
    add_text_or_null(o, "error", r->error);
    int figures = (r->status == SJ_STUDY_RAN || r->status == SJ_STUDY_UP_TO_DATE) && !r->error;
    if (!figures)
        return o;
    add_text_or_null(o, "human_flagged", r->human_flagged);
    add_text_or_null(o, "truth_flagged", r->truth_flagged);
    cJSON *models = cJSON_AddObjectToObject(o, "models");
    for (int m = 0; m < SJ_STUDY_MODELS; m++)
        if (r->models[m].present)
            cJSON_AddItemToObject(models, SJ_STUDY_MODEL_LABELS[m], model_json(s, r, m));
    return o;
}

static cJSON *summary_json(const sj_study_spec *s, const sj_study_summary *u)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "condition", s->conditions[u->condition].name);
    cJSON_AddStringToObject(o, "model", SJ_STUDY_MODEL_LABELS[u->model]);
    cJSON_AddNumberToObject(o, "replications", (double)(u->n_ok - u->n_missing));
    cJSON_AddNumberToObject(o, "failed", (double)u->n_failed);
    cJSON *items = cJSON_AddArrayToObject(o, "biased_items");
    for (size_t b = 0; b < u->n_items; b++) {
        cJSON *it = cJSON_CreateObject();
        cJSON_AddItemToArray(items, it);
        cJSON_AddStringToObject(it, "item", u->items[b].item);
        add_mean(it, "abs_smd_over_sd_sft", u->items[b].abs_sft);
        add_mean(it, "abs_smd_over_sd", u->items[b].abs_model);
        if (u->model > 0) {
            add_mean(it, "reduction", u->items[b].reduction);
            add_mean(it, "reduction_all", u->items[b].reduction_all);
            sj_json_add_number(it, "halved_share", u->items[b].halved_share);
        }
        sj_json_add_number(it, "inherited_share", u->items[b].inherited_share);
    }
    if (u->model > 0) {
        add_mean(o, "reduction", u->reduction);
        add_mean(o, "reduction_all", u->reduction_all);
        sj_json_add_number(o, "halved_share", u->halved_share);
    }
    sj_json_add_number(o, "inherited_share", u->inherited_share);
    sj_json_add_number(o, "unbiased_flagged_share", u->unbiased_flagged_share);
    sj_json_add_number(o, "machine_made_share", u->machine_made_share);
    add_mean(o, "machine_made", u->machine_made);
    add_mean(o, "qwk_truth", u->qwk_truth);
    add_mean(o, "qwk_human", u->qwk_human);
    if (u->model > 0) {
        add_mean(o, "qwk_truth_change", u->qwk_truth_change);
        add_mean(o, "qwk_human_change", u->qwk_human_change);
        cJSON_AddNumberToObject(o, "truth_qwk_below_sft", (double)u->truth_below);
    }
    if (u->model == 1) {
        add_mean(o, "kl", u->kl);
        cJSON_AddNumberToObject(o, "reward_hacking_warnings", (double)u->hacking);
    }
    return o;
}

static void add_targets(cJSON *targets, const sj_study_spec *s, const sj_study_summary *u)
{
    for (int t = 0; u->model > 0 && t < SJ_STUDY_TARGETS; t++) {
        const sj_study_target *x = &u->targets[t];
        cJSON *o = cJSON_CreateObject();
        cJSON_AddItemToArray(targets, o);
        cJSON_AddStringToObject(o, "condition", s->conditions[u->condition].name);
        cJSON_AddStringToObject(o, "model", SJ_STUDY_MODEL_LABELS[u->model]);
        cJSON_AddStringToObject(o, "target", x->name);
        cJSON_AddStringToObject(o, "rule", x->rule);
        sj_json_add_number(o, "value", x->value);
        sj_json_add_number(o, "threshold", x->threshold);
        cJSON_AddStringToObject(o, "status", sj_target_state_name(x->state));
    }
}

static cJSON *counts_json(const sj_study_rep *reps, size_t n)
{
    size_t by[SJ_STUDY_INTERRUPTED + 1] = {0};
    size_t unreadable = 0;
    for (size_t i = 0; i < n; i++) {
        by[reps[i].status]++;
        unreadable += reps[i].status != SJ_STUDY_FAILED && reps[i].error != NULL;
    }
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "replications", (double)n);
    cJSON_AddNumberToObject(o, "ran", (double)by[SJ_STUDY_RAN]);
    cJSON_AddNumberToObject(o, "up_to_date", (double)by[SJ_STUDY_UP_TO_DATE]);
    cJSON_AddNumberToObject(o, "failed", (double)by[SJ_STUDY_FAILED]);
    cJSON_AddNumberToObject(o, "interrupted", (double)by[SJ_STUDY_INTERRUPTED]);
    cJSON_AddNumberToObject(o, "not_run", (double)by[SJ_STUDY_NOT_RUN]);
    cJSON_AddNumberToObject(o, "unreadable", (double)unreadable);
    return o;
}

/* One plain sentence per condition x aligned scorer, and the closing
 * count of replications. */
static cJSON *summary_text(const sj_study_spec *s, const sj_study_summary *sums, size_t n)
{
    cJSON *lines = cJSON_CreateArray();
    for (size_t i = 0; lines && i < n; i++) {
        const sj_study_summary *u = &sums[i];
        if (u->model == 0)
            continue;
        sj_buf b = {0};
        size_t reps = u->n_ok - u->n_missing;
        sj_buf_printf(&b, "%s, %s (%zu replications%s): ", s->conditions[u->condition].name,
                      SJ_STUDY_MODEL_LABELS[u->model], reps,
                      u->n_failed ? ", some failed and left out" : "");
        if (reps == 0)
            sj_buf_printf(&b, "no figures");
        else if (u->n_items && isfinite(u->reduction.mean))
            sj_buf_printf(&b,
                          "|SMD/SD| on the biases SFT inherited (%.0f%% of biased items) "
                          "reduced by %.0f%% on average",
                          100 * u->inherited_share, 100 * u->reduction.mean);
        else
            sj_buf_printf(&b, "no inherited bias to reduce");
        if (reps && isfinite(u->reduction.lo))
            sj_buf_printf(&b, " (95%% interval %.0f%% to %.0f%%)", 100 * u->reduction.lo,
                          100 * u->reduction.hi);
        if (reps && u->n_items)
            sj_buf_printf(&b, ", all halved in %.0f%% of replications", 100 * u->halved_share);
        if (reps)
            sj_buf_printf(&b,
                          "; an unbiased item flagged in %.0f%%; truth QWK below SFT's in %zu; "
                          "targets: ",
                          100 * u->unbiased_flagged_share, u->truth_below);
        int met = 0, missed = 0;
        for (int t = 0; t < SJ_STUDY_TARGETS; t++) {
            met += u->targets[t].state == SJ_TARGET_MET;
            missed += u->targets[t].state == SJ_TARGET_MISSED;
        }
        if (reps)
            sj_buf_printf(&b, "%d met, %d missed", met, missed);
        rj_take_line(lines, &b);
    }
    return lines;
}

cJSON *sj_study_document(const sj_study_spec *s, const sj_study_rep *reps, size_t n_reps,
                         const sj_study_summary *sums, const char *command_line)
{
    cJSON *doc = cJSON_CreateObject();
    if (!doc)
        return NULL;
    cJSON_AddNumberToObject(doc, "schema_version", SJ_STUDY_SCHEMA_VERSION);
    cJSON_AddStringToObject(doc, "kind", "study");
    cJSON_AddStringToObject(doc, "name", s->name);
    cJSON_AddItemToObject(doc, "settings", settings_json(s));
    cJSON_AddItemToObject(doc, "counts", counts_json(reps, n_reps));
    cJSON *list = cJSON_AddArrayToObject(doc, "replications");
    for (size_t i = 0; list && i < n_reps; i++)
        cJSON_AddItemToArray(list, replication_json(s, &reps[i]));
    size_t n = s->n_conditions * SJ_STUDY_MODELS;
    cJSON *summary = cJSON_AddArrayToObject(doc, "summary");
    cJSON *targets = cJSON_AddArrayToObject(doc, "targets");
    for (size_t i = 0; summary && targets && i < n; i++) {
        cJSON_AddItemToArray(summary, summary_json(s, &sums[i]));
        add_targets(targets, s, &sums[i]);
    }
    cJSON_AddItemToObject(doc, "summary_text", summary_text(s, sums, n));
    cJSON *prov = sj_provenance_new(command_line);
    cJSON_AddItemToObject(doc, "provenance", prov);
    sj_error err;
    sj_error_clear(&err);
    sj_provenance_add_file(prov, "study", s->path, &err);
    if (s->pipeline_path)
        sj_provenance_add_file(prov, "pipeline", s->pipeline_path, &err);
    return doc;
}

/* ---- study.csv ------------------------------------------------------------------ */

static const char *const CSV_HEADER[] = {"condition", "model",   "measure", "item",  "value",
                                         "ci_low",    "ci_high", "n",       "status"};
#define CSV_COLS (sizeof CSV_HEADER / sizeof *CSV_HEADER)

static void csv_number_or_empty(sj_csv_writer *w, const cJSON *v)
{
    if (cJSON_IsNumber(v))
        sj_csv_cell_number(w, v->valuedouble);
    else
        sj_csv_cell(w, "NA");
}

/* One row: a number, or a mean {"mean", "mean_ci", "n"}. */
static void csv_measure(sj_csv_writer *w, const char *cond, const char *model, const char *measure,
                        const char *item, const cJSON *v, const char *status)
{
    sj_csv_cell(w, cond);
    sj_csv_cell(w, model);
    sj_csv_cell(w, measure);
    sj_csv_cell(w, item ? item : "");
    const cJSON *ci = cJSON_IsObject(v) ? rj_get(v, "mean_ci") : NULL;
    csv_number_or_empty(w, cJSON_IsObject(v) ? rj_get(v, "mean") : v);
    csv_number_or_empty(w, cJSON_GetArrayItem(ci, 0));
    csv_number_or_empty(w, cJSON_GetArrayItem(ci, 1));
    if (cJSON_IsObject(v))
        csv_number_or_empty(w, rj_get(v, "n"));
    else
        sj_csv_cell(w, "");
    sj_csv_cell(w, status ? status : "");
}

/* Every number and mean of an object, one row each ("item" rows for the
 * biased items' entries). */
static void csv_object(sj_csv_writer *w, const char *cond, const char *model, const cJSON *obj,
                       const char *item)
{
    const cJSON *v;
    cJSON_ArrayForEach(v, obj)
    {
        if (cJSON_IsNumber(v) || (cJSON_IsObject(v) && rj_get(v, "mean")))
            csv_measure(w, cond, model, v->string, item, v, NULL);
        else if (cJSON_IsArray(v) && strcmp(v->string, "biased_items") == 0) {
            const cJSON *it;
            cJSON_ArrayForEach(it, v)
            {
                csv_object(w, cond, model, it, rj_str(it, "item"));
            }
        }
    }
}

static sj_status write_csv(const cJSON *doc, const char *path, sj_error *err)
{
    sj_csv_writer w;
    if (sj_csv_open(&w, path, CSV_HEADER, CSV_COLS, err) != SJ_OK)
        return err->status;
    const cJSON *u;
    cJSON_ArrayForEach(u, rj_get(doc, "summary"))
    {
        csv_object(&w, rj_str(u, "condition"), rj_str(u, "model"), u, NULL);
    }
    cJSON_ArrayForEach(u, rj_get(doc, "targets"))
    {
        char measure[96];
        snprintf(measure, sizeof measure, "target_%s", rj_str(u, "target"));
        csv_measure(&w, rj_str(u, "condition"), rj_str(u, "model"), measure, NULL,
                    rj_get(u, "value"), rj_str(u, "status"));
    }
    return sj_csv_close(&w, err);
}

/* The members of an object csv_object writes as rows: numbers and means. */
static size_t measures_in(const cJSON *obj)
{
    size_t n = 0;
    const cJSON *v;
    cJSON_ArrayForEach(v, obj)
    {
        n += cJSON_IsNumber(v) || (cJSON_IsObject(v) && rj_get(v, "mean"));
    }
    return n;
}

/* The number of data rows write_csv writes for the document. */
static size_t csv_rows_expected(const cJSON *doc)
{
    size_t rows = (size_t)cJSON_GetArraySize(rj_get(doc, "targets"));
    const cJSON *u, *it;
    cJSON_ArrayForEach(u, rj_get(doc, "summary"))
    {
        rows += measures_in(u);
        cJSON_ArrayForEach(it, rj_get(u, "biased_items"))
        {
            rows += measures_in(it);
        }
    }
    return rows;
}

/* ---- writing and reading back ---------------------------------------------------- */

static sj_status read_back(const cJSON *doc, const char *json_path, const char *csv_path,
                           sj_error *err)
{
    cJSON *again = sj_json_read(json_path, err);
    if (!again)
        return err->status;
    int same = cJSON_Compare(doc, again, 1);
    cJSON_Delete(again);
    if (!same)
        return sj_error_set(err, SJ_ERR_WORK, "%s does not read back as written", json_path);
    sj_table *t = sj_table_read(csv_path, err);
    if (!t)
        return err->status;
    size_t rows = t->n_rows, cols = t->n_cols;
    sj_table_free(t);
    if (rows != csv_rows_expected(doc) || cols != CSV_COLS)
        return sj_error_set(err, SJ_ERR_WORK, "%s does not read back as written (%zu rows)",
                            csv_path, rows);
    return SJ_OK;
}

sj_status sj_study_write(const cJSON *doc, const char *out_dir, sj_error *err)
{
    char *json_path = sj_path_join(out_dir, "study.json");
    char *csv_path = sj_path_join(out_dir, "study.csv");
    char *html_path = sj_path_join(out_dir, "index.html");
    sj_buf html = {0};
    sj_status st = json_path && csv_path && html_path
                       ? sj_study_html(doc, &html, err)
                       : sj_error_set(err, SJ_ERR_WORK, "out of memory");
    if (st == SJ_OK)
        st = sj_json_write(json_path, doc, err);
    if (st == SJ_OK)
        st = write_csv(doc, csv_path, err);
    if (st == SJ_OK)
        st = sj_write_file_atomic(html_path, html.data, html.len, err);
    if (st == SJ_OK)
        st = read_back(doc, json_path, csv_path, err);
    sj_buf_free(&html);
    free(json_path);
    free(csv_path);
    free(html_path);
    return st;
}
