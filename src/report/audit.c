/* The bias audit of one set of machine scores: loads the scores file,
 * runs DIF (on the modal machine score per item), group parity (on person
 * totals) and agreement with human scores (per response) through the stats
 * module, and writes audit.json, the CSV tables and index.html. */
#include "audit_review.h"
#include "report_internal.h"

#include <gsl/gsl_cdf.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void sj_audit_options_init(sj_audit_options *o)
{
    memset(o, 0, sizeof *o);
    o->score_col = "score_mode";
    o->cut = NAN;
    o->match = SJ_MATCH_TOTAL;
    o->adjust = SJ_ADJUST_NONE;
    o->n_bootstrap = 1000;
    o->seed = 1;
}

static const char *match_name(sj_match m)
{
    return m == SJ_MATCH_REST ? "rest" : "total";
}

static const char *adjust_name(sj_adjust a)
{
    return a == SJ_ADJUST_HOLM ? "holm" : a == SJ_ADJUST_BH ? "bh" : "none";
}

/* Everything loaded and computed for one audit; freed in one place. */
typedef struct {
    sj_columns cols;
    sj_instrument *ins;
    sj_responses *resp;
    sj_score_data *scores;
    sj_dif_result *dif;
    sj_parity_data *totals;
    sj_parity parity;
    int have_parity;
    sj_parity_data *pairs;
    sj_parity agreement;
    int have_agreement;
    long col_human;
    cJSON *truth;       /* "truth_agreement", with a truth file */
    double *truth_rows; /* the true score of every response, with a truth file */
    rj_human_dif human; /* DIF of the human score of record, with --human */
} audit_work;

static void work_free(audit_work *w)
{
    rj_human_dif_free(&w->human);
    free(w->truth_rows);
    cJSON_Delete(w->truth);
    if (w->have_agreement)
        sj_parity_free(&w->agreement);
    if (w->have_parity)
        sj_parity_free(&w->parity);
    sj_parity_data_free(w->pairs);
    sj_parity_data_free(w->totals);
    sj_dif_result_free(w->dif);
    sj_score_data_free(w->scores);
    sj_responses_free(w->resp);
    sj_instrument_free(w->ins);
}

static sj_status check_groups(const audit_work *w, const sj_audit_options *o, sj_error *err)
{
    const sj_score_data *d = w->scores;
    const char *missing = sj_score_data_group(d, o->reference) < 0 ? o->reference
                          : sj_score_data_group(d, o->focal) < 0   ? o->focal
                                                                   : NULL;
    if (strcmp(o->reference, o->focal) == 0)
        return sj_error_set(err, SJ_ERR_INPUT, "--reference and --focal name the same group '%s'",
                            o->reference);
    if (!missing)
        return SJ_OK;
    sj_buf list = {0};
    for (size_t g = 0; g < d->n_groups && g < 12; g++)
        sj_buf_printf(&list, "%s'%.40s'", g ? ", " : "", d->group_names[g]);
    if (sj_buf_failed(&list)) {
        sj_buf_free(&list);
        return sj_error_set(err, SJ_ERR_WORK, "out of memory");
    }
    sj_error_set(err, SJ_ERR_INPUT, "%s: column '%s' has no group '%.60s' (groups: %s)",
                 o->data_path, w->cols.group, missing, list.data ? list.data : "none");
    sj_buf_free(&list);
    return SJ_ERR_INPUT;
}

static sj_status load_inputs(audit_work *w, const sj_audit_options *o, sj_error *err)
{
    w->cols = o->cols;
    sj_columns_defaults(&w->cols);
    w->cols.score = o->score_col ? o->score_col : "score_mode";
    w->ins = sj_instrument_load(o->instrument_path, err);
    if (!w->ins)
        return SJ_ERR_INPUT;
    /* The responses loader checks items, integer scores within the
     * instrument's range, empty groups and duplicate answers. */
    w->resp = sj_responses_load(o->data_path, &w->cols, w->ins, SJ_NEED_GROUP | SJ_NEED_SCORE, err);
    if (!w->resp)
        return err->status ? err->status : SJ_ERR_INPUT;
    w->col_human = -1;
    if (o->human_col) {
        w->col_human = sj_table_column(w->resp->table, o->human_col, err);
        if (w->col_human < 0)
            return SJ_ERR_INPUT;
        /* Human scores are on the instrument's scale like the machine's. */
        if (sj_check_score_column(w->resp->table, w->col_human, w->ins, err) != SJ_OK)
            return SJ_ERR_INPUT;
    }
    w->scores = sj_score_data_from_table(w->resp->table, w->cols.person, w->cols.item,
                                         w->cols.score, w->cols.group, err);
    if (!w->scores)
        return err->status ? err->status : SJ_ERR_INPUT;
    return check_groups(w, o, err);
}

static sj_status run_statistics(audit_work *w, const sj_audit_options *o, sj_error *err)
{
    sj_dif_options dopt;
    sj_dif_options_defaults(&dopt);
    const char *focal[1] = {o->focal};
    dopt.reference = o->reference;
    dopt.focal = focal;
    dopt.n_focal = 1;
    dopt.match = o->match;
    dopt.purify = o->purify;
    dopt.adjust = o->adjust;
    if (o->min_cell > 0)
        dopt.min_cell = o->min_cell;
    w->dif = sj_dif_run(w->scores, &dopt, err);
    if (!w->dif)
        return err->status ? err->status : SJ_ERR_WORK;
    if (w->col_human >= 0 &&
        rj_human_dif_run(w->resp, &w->cols, w->col_human, &dopt, &w->human, err) != SJ_OK)
        return err->status;

    const sj_table *t = w->resp->table;
    w->totals =
        sj_parity_data_from_table(t, w->cols.person, w->cols.score, w->cols.group, NULL, err);
    if (!w->totals)
        return err->status ? err->status : SJ_ERR_WORK;
    if (sj_parity_run(w->totals, o->reference, o->focal, o->cut, &w->parity, err) != SJ_OK)
        return err->status;
    w->have_parity = 1;

    if (o->human_col) {
        w->pairs =
            sj_parity_data_from_table(t, NULL, w->cols.score, w->cols.group, o->human_col, err);
        if (!w->pairs)
            return err->status ? err->status : SJ_ERR_WORK;
        if (sj_parity_run(w->pairs, o->reference, o->focal, NAN, &w->agreement, err) != SJ_OK)
            return err->status;
        w->have_agreement = 1;
    }
    if (!o->truth_path)
        return SJ_OK;
    w->truth_rows = malloc((t->n_rows ? t->n_rows : 1) * sizeof *w->truth_rows);
    if (!w->truth_rows)
        return sj_error_set(err, SJ_ERR_WORK, "out of memory");
    rj_truth_request q = {o->truth_path, w->cols.person, w->cols.item, w->ins,       w->resp,
                          w->col_human,  o->reference,   o->focal,     w->truth_rows};
    w->truth = rj_truth_agreement(&q, err);
    return w->truth ? SJ_OK : err->status ? err->status : SJ_ERR_WORK;
}

/* ---- document pieces ------------------------------------------------------------ */

static cJSON *instrument_json(const sj_instrument *ins)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "id", ins->id);
    cJSON_AddStringToObject(o, "title", ins->title);
    cJSON_AddNumberToObject(o, "score_min", ins->score_min);
    cJSON_AddNumberToObject(o, "score_max", ins->score_max);
    cJSON_AddNumberToObject(o, "n_items", (double)ins->n_items);
    cJSON *items = cJSON_AddArrayToObject(o, "items");
    for (size_t i = 0; i < ins->n_items; i++)
        cJSON_AddItemToArray(items, cJSON_CreateString(ins->items[i].id));
    return o;
}

static cJSON *settings_json(const sj_audit_options *o, const audit_work *w)
{
    cJSON *s = cJSON_CreateObject();
    cJSON_AddStringToObject(s, "reference", o->reference);
    cJSON_AddStringToObject(s, "focal", o->focal);
    cJSON_AddStringToObject(s, "person_column", w->cols.person);
    cJSON_AddStringToObject(s, "item_column", w->cols.item);
    cJSON_AddStringToObject(s, "group_column", w->cols.group);
    cJSON_AddStringToObject(s, "score_column", w->cols.score);
    if (o->human_col)
        cJSON_AddStringToObject(s, "human_column", o->human_col);
    else
        cJSON_AddNullToObject(s, "human_column");
    if (o->truth_path)
        cJSON_AddStringToObject(s, "truth_file", o->truth_path);
    else
        cJSON_AddNullToObject(s, "truth_file");
    sj_json_add_number(s, "cut", o->cut);
    cJSON_AddStringToObject(s, "match", match_name(o->match));
    cJSON_AddBoolToObject(s, "purify", o->purify);
    cJSON_AddStringToObject(s, "adjust", adjust_name(o->adjust));
    cJSON_AddNumberToObject(s, "min_cell", (double)w->dif->min_cell);
    cJSON_AddStringToObject(s, "ets_rule", SJ_ETS_RULE);
    cJSON_AddStringToObject(s, "dif_score",
                            "the machine's modal score per response (integer), per item");
    cJSON_AddStringToObject(s, "parity_score", "each person's total of the modal machine scores");
    cJSON_AddStringToObject(s, "agreement_unit",
                            "one response: the modal machine score against the human score");
    return s;
}

typedef struct {
    long persons, responses;
} group_count;

static cJSON *data_json(const audit_work *w)
{
    const sj_table *t = w->resp->table;
    const sj_score_data *d = w->scores;
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "n_rows", (double)t->n_rows);
    cJSON_AddNumberToObject(o, "n_persons", (double)d->n_persons);
    cJSON_AddNumberToObject(o, "n_items_in_data", (double)d->n_items);
    cJSON_AddNumberToObject(o, "n_items_in_instrument", (double)w->ins->n_items);
    long missing_machine = 0, missing_human = 0;
    for (size_t r = 0; r < t->n_rows; r++) {
        missing_machine += isnan(w->resp->score[r]);
        if (w->col_human >= 0 && sj_table_cell(t, r, (size_t)w->col_human)[0] == '\0')
            missing_human++;
    }
    cJSON_AddNumberToObject(o, "missing_machine_scores", (double)missing_machine);
    if (w->col_human >= 0)
        cJSON_AddNumberToObject(o, "missing_human_scores", (double)missing_human);
    else
        cJSON_AddNullToObject(o, "missing_human_scores");
    cJSON_AddNumberToObject(o, "n_persons_incomplete", (double)w->dif->n_excluded_incomplete);
    cJSON_AddNumberToObject(o, "n_persons_dif", (double)w->dif->n_persons_used);
    cJSON_AddNumberToObject(o, "n_persons_parity_excluded", (double)w->totals->n_excluded);

    group_count *gc = calloc(d->n_groups ? d->n_groups : 1, sizeof *gc);
    if (gc) {
        for (size_t p = 0; p < d->n_persons; p++)
            gc[d->group[p]].persons++;
        for (size_t r = 0; r < t->n_rows; r++) {
            long g = sj_score_data_group(d, sj_table_cell(t, r, (size_t)w->resp->col_group));
            if (g >= 0)
                gc[g].responses++;
        }
    }
    cJSON *groups = cJSON_AddArrayToObject(o, "groups");
    for (size_t g = 0; g < d->n_groups; g++) {
        cJSON *e = cJSON_CreateObject();
        cJSON_AddStringToObject(e, "name", d->group_names[g]);
        cJSON_AddNumberToObject(e, "n_persons", gc ? (double)gc[g].persons : NAN);
        cJSON_AddNumberToObject(e, "n_responses", gc ? (double)gc[g].responses : NAN);
        cJSON_AddItemToArray(groups, e);
    }
    free(gc);
    return o;
}

/* Person totals by group, one count per whole total, for the histogram. */
static cJSON *distribution_json(const sj_parity_data *d, const char *ref, const char *focal)
{
    double lo = INFINITY, hi = -INFINITY;
    for (size_t i = 0; i < d->n; i++) {
        lo = fmin(lo, d->score[i]);
        hi = fmax(hi, d->score[i]);
    }
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "score", "person total of the modal machine scores");
    if (d->n == 0 || hi - lo > 10000) {
        cJSON_AddArrayToObject(o, "values");
        cJSON_AddObjectToObject(o, "counts");
        return o;
    }
    long first = (long)floor(lo), last = (long)ceil(hi);
    size_t n_values = (size_t)(last - first + 1);
    cJSON *values = cJSON_AddArrayToObject(o, "values");
    for (long v = first; v <= last; v++)
        cJSON_AddItemToArray(values, cJSON_CreateNumber((double)v));
    cJSON *counts = cJSON_AddObjectToObject(o, "counts");
    const char *names[2] = {ref, focal};
    long *c = calloc(n_values, sizeof *c);
    for (int k = 0; k < 2 && c; k++) {
        memset(c, 0, n_values * sizeof *c);
        for (size_t i = 0; i < d->n; i++)
            if (strcmp(d->group_names[d->group[i]], names[k]) == 0)
                c[(size_t)(lround(d->score[i]) - first)]++;
        cJSON *arr = cJSON_CreateArray();
        for (size_t v = 0; v < n_values; v++)
            cJSON_AddItemToArray(arr, cJSON_CreateNumber((double)c[v]));
        cJSON_AddItemToObject(counts, names[k], arr);
    }
    free(c);
    return o;
}

/* The agreement over the responses to one item (every item: SIZE_MAX)
 * of the reference group (role 0), the focal group (1) or both (-1) that
 * have a machine and a human score; NULL when there are none. m and h
 * have room for every response. */
static cJSON *agreement_of(const audit_work *w, const sj_audit_options *o, size_t item, int role,
                           double *m, double *h)
{
    const sj_table *t = w->resp->table;
    size_t n = 0;
    for (size_t r = 0; r < t->n_rows; r++) {
        if ((item != SIZE_MAX && w->resp->item_index[r] != item) || isnan(w->resp->score[r]))
            continue;
        const char *g = sj_table_cell(t, r, (size_t)w->resp->col_group);
        int is_ref = strcmp(g, o->reference) == 0, is_focal = strcmp(g, o->focal) == 0;
        if (role == 0 ? !is_ref : role == 1 ? !is_focal : !is_ref && !is_focal)
            continue;
        double hv;
        if (sj_parse_number(sj_table_cell(t, r, (size_t)w->col_human), &hv) != 0)
            continue;
        m[n] = w->resp->score[r];
        h[n] = hv;
        n++;
    }
    if (n == 0)
        return NULL;
    sj_agreement a;
    sj_agreement_compute(m, h, n, &a);
    return sj_agreement_to_json(&a);
}

/* Agreement per item over the responses of the two compared groups that
 * have both a machine and a human score, with "by_group" per item. */
static cJSON *agreement_by_item(const audit_work *w, const sj_audit_options *o)
{
    const sj_table *t = w->resp->table;
    cJSON *arr = cJSON_CreateArray();
    double *m = malloc((t->n_rows ? t->n_rows : 1) * sizeof *m);
    double *h = malloc((t->n_rows ? t->n_rows : 1) * sizeof *h);
    for (size_t item = 0; item < w->ins->n_items && m && h; item++) {
        cJSON *e = agreement_of(w, o, item, -1, m, h);
        if (!e)
            continue;
        cJSON_AddItemToObject(e, "item", cJSON_CreateString(w->ins->items[item].id));
        cJSON *by_group = cJSON_AddObjectToObject(e, "by_group");
        const char *names[2] = {o->reference, o->focal};
        for (int role = 0; role < 2; role++) {
            cJSON *g = agreement_of(w, o, item, role, m, h);
            if (g)
                cJSON_AddItemToObject(by_group, names[role], g);
        }
        cJSON_AddItemToArray(arr, e);
    }
    free(m);
    free(h);
    return arr;
}

/* Responses by human score (rows) and modal machine score (columns) over
 * the instrument's levels, for the two compared groups. */
static cJSON *confusion_json(const audit_work *w, const sj_audit_options *o)
{
    const sj_table *t = w->resp->table;
    int lo = w->ins->score_min, n = w->ins->score_max - w->ins->score_min + 1;
    long *counts = calloc((size_t)n * (size_t)n, sizeof *counts);
    cJSON *c = cJSON_CreateObject();
    if (!counts || !c) {
        free(counts);
        cJSON_Delete(c);
        return NULL;
    }
    for (size_t r = 0; r < t->n_rows; r++) {
        const char *g = sj_table_cell(t, r, (size_t)w->resp->col_group);
        double hv;
        if (isnan(w->resp->score[r]) ||
            (strcmp(g, o->reference) != 0 && strcmp(g, o->focal) != 0) ||
            sj_parse_number(sj_table_cell(t, r, (size_t)w->col_human), &hv) != 0)
            continue;
        long h = lround(hv) - lo, m = lround(w->resp->score[r]) - lo;
        if (h >= 0 && h < n && m >= 0 && m < n)
            counts[h * n + m]++;
    }
    cJSON *levels = cJSON_AddArrayToObject(c, "levels");
    cJSON *rows = cJSON_AddArrayToObject(c, "counts");
    for (int i = 0; i < n; i++) {
        cJSON_AddItemToArray(levels, cJSON_CreateNumber(lo + i));
        cJSON *row = cJSON_CreateArray();
        for (int j = 0; j < n; j++)
            cJSON_AddItemToArray(row, cJSON_CreateNumber((double)counts[i * n + j]));
        cJSON_AddItemToArray(rows, row);
    }
    cJSON_AddStringToObject(c, "rows", "human score");
    cJSON_AddStringToObject(c, "columns", "machine score (modal)");
    free(counts);
    return c;
}

/* The "agreement" object of the response-level parity run, with the
 * per-item table and the confusion matrix added. */
static cJSON *agreement_json(const audit_work *w, const sj_audit_options *o)
{
    cJSON *par = sj_parity_to_json(&w->agreement);
    cJSON *agr = par ? cJSON_DetachItemFromObjectCaseSensitive(par, "agreement") : NULL;
    cJSON_Delete(par);
    if (!agr)
        return NULL;
    cJSON_AddStringToObject(agr, "unit", "response");
    cJSON_AddNumberToObject(agr, "n_excluded", (double)w->pairs->n_excluded);
    cJSON_AddItemToObject(agr, "by_item", agreement_by_item(w, o));
    cJSON *confusion = confusion_json(w, o);
    if (confusion)
        cJSON_AddItemToObject(agr, "confusion", confusion);
    return agr;
}

/* `sjtalign score` writes FILE.json beside the scores with the model's
 * provenance (model.config.sha256, model.weights_sha256, model.stage).
 * Files from elsewhere may instead carry a checksum column, or nothing:
 * the audit then says the model is not recorded. */
static void add_model_checksum(cJSON *prov, const sj_table *t, const char *data_path)
{
    char *side_path = sj_asprintf("%s.json", data_path);
    sj_error ignored;
    sj_error_clear(&ignored);
    FILE *probe = side_path ? fopen(side_path, "rb") : NULL;
    cJSON *side = NULL;
    if (probe) {
        fclose(probe);
        side = sj_json_read(side_path, &ignored);
    }
    const cJSON *model = rj_get(side, "model");
    const char *cfg = rj_str(rj_get(model, "config"), "sha256");
    if (cfg) {
        cJSON_AddStringToObject(prov, "model_config_sha256", cfg);
        if (rj_str(model, "weights_sha256"))
            cJSON_AddStringToObject(prov, "model_weights_sha256", rj_str(model, "weights_sha256"));
        if (rj_str(model, "stage"))
            cJSON_AddStringToObject(prov, "model_stage", rj_str(model, "stage"));
        if (rj_str(model, "path"))
            cJSON_AddStringToObject(prov, "model_path", rj_str(model, "path"));
        sj_provenance_add_file(prov, "scores provenance", side_path, &ignored);
    }
    cJSON_Delete(side);
    free(side_path);
    if (cfg)
        return;
    static const char *const names[] = {"model_config_sha256", "model_sha256", "config_sha256"};
    for (size_t k = 0; k < sizeof names / sizeof *names; k++) {
        long c = sj_table_find_column(t, names[k]);
        if (c < 0 || t->n_rows == 0)
            continue;
        const char *first = sj_table_cell(t, 0, (size_t)c);
        int same = 1;
        for (size_t r = 1; r < t->n_rows && same; r++)
            same = strcmp(sj_table_cell(t, r, (size_t)c), first) == 0;
        if (first[0])
            cJSON_AddStringToObject(prov, "model_config_sha256", same ? first : "mixed");
        return;
    }
}

/* The DIF line: how many items were tested, and which ones are in the large
 * and moderate ETS classes. */
static void dif_summary(sj_buf *b, const cJSON *doc)
{
    sj_buf big = {0}, moderate = {0};
    int tested = 0, n = 0;
    const cJSON *it;
    cJSON_ArrayForEach(it, rj_path(doc, "dif", "items"))
    {
        n++;
        if (!cJSON_IsTrue(rj_get(it, "tested")))
            continue;
        tested++;
        rj_effect e;
        rj_dif_effect(it, &e);
        int rank = rj_class_rank(e.cls);
        sj_buf *list = rank == 2 ? &big : rank == 1 ? &moderate : NULL;
        if (list)
            sj_buf_printf(list, "%s%s", list->len ? ", " : "", rj_str(it, "item"));
    }
    sj_buf_printf(b, "DIF: %d of %d items tested; large (C/CC): %s; moderate (B/BB): %s", tested, n,
                  big.len ? big.data : "none", moderate.len ? moderate.data : "none");
    if (sj_buf_failed(&big) || sj_buf_failed(&moderate))
        sj_buf_fail(b); /* the line would name too few items */
    sj_buf_free(&big);
    sj_buf_free(&moderate);
}

/* The truth line of a simulation: the machine's agreement with the true
 * scores, and the human raters' where there are human scores. */
static void truth_summary(sj_buf *b, const cJSON *truth, const char *focal)
{
    sj_buf_printf(b,
                  "Agreement with the true scores (simulation): machine QWK %.3f, exact "
                  "%.1f%%, SMD %.3f",
                  rj_num(truth, "qwk"), 100 * rj_num(truth, "exact"), rj_num(truth, "smd"));
    const cJSON *human = rj_get(truth, "human");
    if (cJSON_IsObject(human))
        sj_buf_printf(b, "; human QWK %.3f, exact %.1f%%, SMD %.3f (focal group SMD %.3f)",
                      rj_num(human, "qwk"), 100 * rj_num(human, "exact"), rj_num(human, "smd"),
                      rj_num(rj_path(human, "by_group", focal), "smd"));
    sj_buf_printf(b, "; the machine's focal-group SMD against the true scores %.3f",
                  rj_num(rj_path(truth, "by_group", focal), "smd"));
}

/* The person bootstrap and what rests on its replicates: human-score DIF
 * beside machine DIF and the intervals beside the values. */
static sj_status add_uncertainty(cJSON *doc, const audit_work *w, const sj_audit_options *o,
                                 sj_error *err)
{
    if (w->col_human >= 0 && rj_human_dif_add(doc, &w->human) != 0)
        return sj_error_set(err, SJ_ERR_WORK, "out of memory");
    if (o->n_bootstrap > 0) {
        rj_boot_request q = {w->resp,      w->scores,      w->dif,        w->human.scores,
                             w->human.dif, w->col_human,   w->truth_rows, o->reference,
                             o->focal,     o->n_bootstrap, o->seed};
        cJSON *boot = rj_boot_run(&q, err);
        if (!boot)
            return err->status ? err->status : SJ_ERR_WORK;
        cJSON_AddItemToObject(doc, "bootstrap", boot);
    }
    if (rj_dif_vs_human_add(doc) != 0 || rj_boot_add_intervals(doc) != 0)
        return sj_error_set(err, SJ_ERR_WORK, "out of memory");
    return SJ_OK;
}

/* The bootstrap line: replicates, seed, what was resampled. */
static void bootstrap_summary(sj_buf *b, const cJSON *boot)
{
    const cJSON *seed = rj_get(boot, "seed");
    sj_buf_printf(b,
                  "Intervals: 95%% person-bootstrap percentile intervals, B = %zu replicates, "
                  "seed %s%.0f, %.0f persons resampled (all responses of a person together)",
                  rj_boot_count(boot), cJSON_IsString(seed) ? seed->valuestring : "",
                  cJSON_IsNumber(seed) ? seed->valuedouble : 0.0, rj_num(boot, "persons"));
}

/* A p-value as the pages print it ("< .001", else three decimals without
 * the leading zero), in plain text. */
static const char *plain_p(double p, char *out, size_t n)
{
    if (isnan(p))
        snprintf(out, n, "NA");
    else if (p < 0.001)
        snprintf(out, n, "< .001");
    else
        sj_html_format_p(p, out, n); /* no markup above .001 */
    return out;
}

/* Plain-text findings for terminals and readers of the JSON. NULL when out
 * of memory. */
static cJSON *summary_lines(const cJSON *doc)
{
    cJSON *lines = cJSON_CreateArray();
    if (!lines)
        return NULL;
    sj_buf b = {0};
    dif_summary(&b, doc);
    int failed = rj_take_line(lines, &b);
    const cJSON *par = rj_get(doc, "parity");
    char p_text[32];
    sj_buf_printf(&b, "Parity: focal minus reference %.2f points on the total (d %.2f, Welch p %s)",
                  rj_num(par, "mean_diff"), rj_num(par, "cohens_d"),
                  plain_p(rj_num(par, "welch_p"), p_text, sizeof p_text));
    if (!isnan(rj_num(par, "cut")))
        sj_buf_printf(&b, "; adverse impact ratio %.2f at cut %g%s",
                      rj_num(par, "adverse_impact_ratio"), rj_num(par, "cut"),
                      cJSON_IsTrue(rj_get(par, "four_fifths_flag")) ? " (below four-fifths)" : "");
    failed |= rj_take_line(lines, &b);
    const cJSON *agr = rj_get(doc, "agreement");
    if (cJSON_IsObject(agr)) {
        double qwk = rj_num(agr, "qwk"), smd = rj_num(agr, "smd");
        sj_buf_printf(&b,
                      "Agreement: QWK %.3f (%s .70), exact %.1f%%, SMD %.3f (%s .15); focal "
                      "group SMD %.3f",
                      qwk, qwk >= 0.70 ? "meets" : "below", 100 * rj_num(agr, "exact"), smd,
                      fabs(smd) <= 0.15 ? "within" : "beyond",
                      rj_num(rj_path(agr, "by_group", rj_str(par, "focal")), "smd"));
        failed |= rj_take_line(lines, &b);
    }
    const cJSON *truth = rj_get(doc, "truth_agreement");
    if (cJSON_IsObject(truth)) {
        truth_summary(&b, truth, rj_str(par, "focal"));
        failed |= rj_take_line(lines, &b);
    }
    sj_buf items = {0};
    if (rj_dif_vs_human_summary(&items, doc, 0) > 0) {
        sj_buf_printf(&b, "Machine vs human-score DIF: %s", items.data);
        if (sj_buf_failed(&items))
            sj_buf_fail(&b);
        failed |= rj_take_line(lines, &b);
    }
    sj_buf_free(&items);
    if (cJSON_IsObject(rj_get(doc, "bootstrap"))) {
        bootstrap_summary(&b, rj_get(doc, "bootstrap"));
        failed |= rj_take_line(lines, &b);
    }
    failed |= rj_evaluation_summary(lines, rj_get(doc, "evaluation"));
    if (failed) {
        cJSON_Delete(lines);
        return NULL;
    }
    return lines;
}

/* Each group's mean total with its 95% t interval (mean +- t(.975, n - 1)
 * SD / sqrt n) as "mean_t_ci", for the page's parity chart. */
static int add_mean_intervals(cJSON *parity)
{
    cJSON *g;
    cJSON_ArrayForEach(g, cJSON_GetObjectItemCaseSensitive(parity, "groups"))
    {
        double n = rj_num(g, "n"), mean = rj_num(g, "mean"), sd = rj_num(g, "sd");
        double half =
            n >= 2 && isfinite(sd) ? gsl_cdf_tdist_Pinv(0.975, n - 1) * sd / sqrt(n) : NAN;
        if (cJSON_IsObject(g) && rj_add_interval(g, "mean_t", mean - half, mean + half) != 0)
            return -1;
    }
    return 0;
}

/* Beside every DIF item the interval the page shows, whichever kind it
 * is: "ets_effect" (delta_mh or smd_over_sd), "ets_effect_ci" and
 * "ets_effect_ci_method". -1 when out of memory. */
static int add_effect_intervals(cJSON *items)
{
    static const char *const methods[] = {
        [RJ_INTERVAL_NONE] = "none",
        [RJ_INTERVAL_BOOTSTRAP] = "person bootstrap, 95% percentile",
        [RJ_INTERVAL_RBG] = "delta +- 1.96 SE (Robins-Breslow-Greenland)",
        [RJ_INTERVAL_DELTA] = "SMD/SD +- 1.96 SE (delta method)",
    };
    cJSON *it;
    cJSON_ArrayForEach(it, items)
    {
        rj_effect e;
        rj_dif_effect(it, &e);
        if (!sj_json_add_number(it, "ets_effect", e.value) ||
            rj_add_interval(it, "ets_effect", e.lo, e.hi) != 0 ||
            !cJSON_AddStringToObject(it, "ets_effect_ci_method", methods[e.interval]))
            return -1;
    }
    return 0;
}

/* "label" and the page's "title": the label given, else the model the
 * scores file's provenance names, else none. -1 when out of memory. */
static int add_title(cJSON *doc, const char *label, const cJSON *prov)
{
    const char *stage = rj_str(prov, "model_stage"), *path = rj_str(prov, "model_path");
    char *title = label ? sj_asprintf("Fairness audit \xe2\x80\x94 %s", label)
                  : path && stage
                      ? sj_asprintf("Fairness audit \xe2\x80\x94 model %s (%s)", path, stage)
                  : path ? sj_asprintf("Fairness audit \xe2\x80\x94 model %s", path)
                         : sj_strdup("Fairness audit");
    int failed = !title ||
                 !(label ? cJSON_AddStringToObject(doc, "label", label)
                         : cJSON_AddNullToObject(doc, "label")) ||
                 !cJSON_AddStringToObject(doc, "title", title);
    free(title);
    return failed ? -1 : 0;
}

/* What the reviewer reads beside the statistics (audit_review.c) and the
 * intervals behind the page's charts. */
static int add_review(cJSON *doc, const audit_work *w, const sj_audit_options *o)
{
    rj_review_request q = {w->resp,      w->ins,       w->scores,     w->dif,       w->human.scores,
                           w->human.dif, w->col_human, w->truth_rows, o->reference, o->focal};
    cJSON *human_items = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(doc, "human_dif"), "items");
    if (add_mean_intervals(cJSON_GetObjectItemCaseSensitive(doc, "parity")) != 0 ||
        add_effect_intervals(cJSON_GetObjectItemCaseSensitive(
            cJSON_GetObjectItemCaseSensitive(doc, "dif"), "items")) != 0 ||
        add_effect_intervals(human_items) != 0)
        return -1;
    return rj_review_add(doc, &q);
}

cJSON *sj_audit_compute(const sj_audit_options *o, sj_error *err)
{
    audit_work w;
    memset(&w, 0, sizeof w);
    cJSON *doc = NULL;
    if (!o->data_path || !o->instrument_path || !o->reference || !o->focal) {
        sj_error_set(err, SJ_ERR_INPUT, "audit needs data, instrument, reference and focal");
        return NULL;
    }
    /* --human A,B,...: the first rater is the score of record everywhere
     * but the "raters" object (audit_raters.c). */
    rj_rater_columns raters;
    if (rj_rater_columns_split(o->human_col, &raters, err) != SJ_OK)
        return NULL;
    sj_audit_options first_rater = *o;
    first_rater.human_col = raters.n ? raters.names[0] : NULL;
    o = &first_rater;
    /* Scores of a training person are refused before any statistic. */
    if (load_inputs(&w, o, err) != SJ_OK ||
        rj_evaluation_check(o->split_path, w.resp->table, w.resp->col_person, err) != SJ_OK ||
        run_statistics(&w, o, err) != SJ_OK)
        goto done;
    doc = cJSON_CreateObject();
    cJSON *prov = sj_provenance_new(o->command_line);
    if (!doc || !prov) {
        cJSON_Delete(prov);
        sj_error_set(err, SJ_ERR_WORK, "out of memory");
        goto fail;
    }
    cJSON_AddNumberToObject(doc, "schema_version", SJ_AUDIT_SCHEMA_VERSION);
    cJSON_AddStringToObject(doc, "kind", "sjtalign-audit");
    cJSON_AddItemToObject(doc, "instrument", instrument_json(w.ins));
    cJSON_AddItemToObject(doc, "settings", settings_json(o, &w));
    cJSON_AddItemToObject(doc, "data", data_json(&w));
    cJSON *evaluation = rj_evaluation_json(o->split_path, w.resp->table, w.resp->col_person, err);
    if (!evaluation) {
        cJSON_Delete(prov);
        goto fail;
    }
    cJSON_AddItemToObject(doc, "evaluation", evaluation);
    cJSON_AddItemToObject(doc, "distribution", distribution_json(w.totals, o->reference, o->focal));
    cJSON_AddItemToObject(doc, "dif", sj_dif_to_json(w.dif));
    cJSON_AddItemToObject(doc, "parity", sj_parity_to_json(&w.parity));
    if (w.have_agreement) {
        cJSON *agr = agreement_json(&w, o);
        if (!agr) {
            cJSON_Delete(prov);
            sj_error_set(err, SJ_ERR_WORK, "out of memory");
            goto fail;
        }
        cJSON_AddItemToObject(doc, "agreement", agr);
    } else {
        cJSON_AddNullToObject(doc, "agreement");
    }
    if (w.truth) {
        cJSON_AddItemToObject(doc, "truth_agreement", w.truth);
        w.truth = NULL;
    }
    if (add_uncertainty(doc, &w, o, err) != SJ_OK) {
        cJSON_Delete(prov);
        goto fail;
    }
    if (add_review(doc, &w, o) != 0) {
        cJSON_Delete(prov);
        sj_error_set(err, SJ_ERR_WORK, "out of memory");
        goto fail;
    }
    cJSON *summary = summary_lines(doc);
    if (!summary) {
        cJSON_Delete(prov);
        sj_error_set(err, SJ_ERR_WORK, "out of memory");
        goto fail;
    }
    cJSON_AddItemToObject(doc, "summary", summary);
    cJSON_AddItemToObject(doc, "provenance", prov);
    rj_raters_request rq = {w.resp,   w.ins,          &raters, o->reference,
                            o->focal, o->n_bootstrap, o->seed};
    if (rj_audit_raters(doc, &rq, err) != SJ_OK)
        goto fail;
    if (sj_provenance_add_file(prov, "scores", o->data_path, err) != SJ_OK ||
        sj_provenance_add_file(prov, "instrument", o->instrument_path, err) != SJ_OK ||
        (o->truth_path && sj_provenance_add_file(prov, "truth", o->truth_path, err) != SJ_OK) ||
        (o->split_path && sj_provenance_add_file(prov, "split", o->split_path, err) != SJ_OK))
        goto fail;
    add_model_checksum(prov, w.resp->table, o->data_path);
    if (add_title(doc, o->label, prov) != 0) {
        sj_error_set(err, SJ_ERR_WORK, "out of memory");
        goto fail;
    }
    goto done;
fail:
    cJSON_Delete(doc);
    doc = NULL;
done:
    work_free(&w);
    rj_rater_columns_free(&raters);
    return doc;
}

/* ---- writing ---------------------------------------------------------------------- */

/* The interval of `key` in `from` as columns <key>_ci_low and
 * <key>_ci_high of a CSV row (empty when `filled` is 0); nothing when
 * `from` has no interval for it. */
static void add_interval_columns(cJSON *row, const cJSON *from, const char *key, int filled)
{
    char name[64];
    snprintf(name, sizeof name, "%s_ci", key);
    const cJSON *ci = rj_get(from, name);
    if (!cJSON_IsArray(ci))
        return;
    char low[80], high[80];
    snprintf(low, sizeof low, "%s_low", name);
    snprintf(high, sizeof high, "%s_high", name);
    if (!filled) {
        cJSON_AddStringToObject(row, low, "");
        cJSON_AddStringToObject(row, high, "");
        return;
    }
    const cJSON *a = cJSON_GetArrayItem(ci, 0), *b = cJSON_GetArrayItem(ci, 1);
    sj_json_add_number(row, low, cJSON_IsNumber(a) ? a->valuedouble : NAN);
    sj_json_add_number(row, high, cJSON_IsNumber(b) ? b->valuedouble : NAN);
}

static cJSON *parity_rows(const cJSON *parity)
{
    cJSON *rows = cJSON_CreateArray();
    const cJSON *groups = rj_get(parity, "groups");
    const char *names[2] = {rj_str(parity, "reference"), rj_str(parity, "focal")};
    static const char *const comparison[] = {
        "mean_diff",       "cohens_d", "hedges_g",  "welch_t", "welch_df",
        "welch_p",         "ci95_low", "ci95_high", "cut",     "adverse_impact_ratio",
        "four_fifths_flag"};
    for (int k = 0; k < 2; k++) {
        const cJSON *g = rj_get(groups, names[k] ? names[k] : "");
        cJSON *row = cJSON_CreateObject();
        cJSON_AddStringToObject(row, "group", names[k] ? names[k] : "");
        cJSON_AddStringToObject(row, "role", k ? "focal" : "reference");
        const cJSON *v;
        cJSON_ArrayForEach(v, g)
        {
            if (!cJSON_IsObject(v))
                cJSON_AddItemToObject(row, v->string, cJSON_Duplicate(v, 1));
        }
        /* Comparisons are focal minus reference: they sit on the focal row,
         * each with its bootstrap interval where the audit has one. */
        for (size_t c = 0; c < sizeof comparison / sizeof *comparison; c++) {
            const cJSON *x = rj_get(parity, comparison[c]);
            if (k == 1 && x)
                cJSON_AddItemToObject(row, comparison[c], cJSON_Duplicate(x, 1));
            else
                cJSON_AddStringToObject(row, comparison[c], "");
            add_interval_columns(row, parity, comparison[c], k == 1);
        }
        cJSON_AddItemToArray(rows, row);
    }
    return rows;
}

/* A row of agreement.csv (rater NULL: machine against human) or of
 * truth_agreement.csv (rater "machine" or "human" against the true
 * scores): the agreement over one scope. */
static void agreement_row(cJSON *rows, const char *rater, const char *scope, const char *group,
                          const char *item, const cJSON *a)
{
    static const char *const keys[] = {"n", "exact", "adjacent", "qwk", "pearson_r", "smd"};
    cJSON *row = cJSON_CreateObject();
    if (rater)
        cJSON_AddStringToObject(row, "rater", rater);
    cJSON_AddStringToObject(row, "scope", scope);
    cJSON_AddStringToObject(row, "group", group ? group : "");
    cJSON_AddStringToObject(row, "item", item ? item : "");
    for (size_t k = 0; k < sizeof keys / sizeof *keys; k++) {
        sj_json_add_number(row, keys[k], rj_num(a, keys[k]));
        add_interval_columns(row, a, keys[k], 1);
    }
    if (rater) {
        char mean[32], sd[32];
        snprintf(mean, sizeof mean, "mean_%s", rater);
        snprintf(sd, sizeof sd, "sd_%s", rater);
        sj_json_add_number(row, "mean_scored", rj_num(a, mean));
        sj_json_add_number(row, "mean_true", rj_num(a, "mean_true"));
        sj_json_add_number(row, "sd_scored", rj_num(a, sd));
        sj_json_add_number(row, "sd_true", rj_num(a, "sd_true"));
    } else {
        static const char *const spread[] = {"mean_machine", "mean_human", "sd_machine",
                                             "sd_human"};
        for (size_t k = 0; k < sizeof spread / sizeof *spread; k++)
            sj_json_add_number(row, spread[k], rj_num(a, spread[k]));
    }
    cJSON_AddItemToArray(rows, row);
}

/* The rows of one agreement block: overall, then each group, then each
 * item. */
static void agreement_block_rows(cJSON *rows, const char *rater, const cJSON *block)
{
    agreement_row(rows, rater, "overall", NULL, NULL, block);
    const cJSON *g;
    cJSON_ArrayForEach(g, rj_get(block, "by_group"))
    {
        agreement_row(rows, rater, "group", g->string, NULL, g);
    }
    const cJSON *it;
    cJSON_ArrayForEach(it, rj_get(block, "by_item"))
    {
        agreement_row(rows, rater, "item", NULL, rj_str(it, "item"), it);
    }
}

/* agreement.csv: machine against human scores. */
static cJSON *agreement_rows(const cJSON *agr)
{
    cJSON *rows = cJSON_CreateArray();
    if (rows)
        agreement_block_rows(rows, NULL, agr);
    return rows;
}

/* truth_agreement.csv: the machine's rows, then the human raters' rows. */
static cJSON *truth_rows(const cJSON *truth)
{
    cJSON *rows = cJSON_CreateArray();
    const cJSON *blocks[2] = {truth, rj_get(truth, "human")};
    static const char *const raters[2] = {"machine", "human"};
    for (int k = 0; k < 2 && rows; k++)
        if (cJSON_IsObject(blocks[k]))
            agreement_block_rows(rows, raters[k], blocks[k]);
    return rows;
}

static cJSON *fairness_rows(const cJSON *agr)
{
    cJSON *rows = cJSON_CreateArray();
    static const char *const models[] = {"osa", "osd", "csd"};
    const cJSON *f = rj_get(agr, "fairness");
    for (size_t m = 0; m < 3; m++) {
        const cJSON *x = rj_get(f, models[m]);
        cJSON *row = cJSON_CreateObject();
        cJSON_AddStringToObject(row, "analysis", models[m]);
        /* csd reports the increase in adjusted R2 over the human-only model. */
        double r2 = rj_num(x, m == 2 ? "r2_adj_change" : "r2_adj");
        sj_json_add_number(row, "r2_adj", isnan(r2) ? rj_num(x, "r2_adj") : r2);
        sj_json_add_number(row, "p", rj_num(x, "p"));
        sj_json_add_number(row, "intercept", rj_num(x, "intercept"));
        sj_json_add_number(row, "coef_focal", rj_num(x, "coef_focal"));
        add_interval_columns(row, x, "coef_focal", 1);
        cJSON_AddItemToArray(rows, row);
    }
    return rows;
}

static cJSON *distribution_rows(const cJSON *dist)
{
    cJSON *rows = cJSON_CreateArray();
    const cJSON *values = rj_get(dist, "values");
    const cJSON *g;
    cJSON_ArrayForEach(g, rj_get(dist, "counts"))
    {
        int i = 0;
        const cJSON *c;
        cJSON_ArrayForEach(c, g)
        {
            const cJSON *v = cJSON_GetArrayItem(values, i++);
            cJSON *row = cJSON_CreateObject();
            cJSON_AddStringToObject(row, "group", g->string);
            sj_json_add_number(row, "total", cJSON_IsNumber(v) ? v->valuedouble : NAN);
            sj_json_add_number(row, "count", c->valuedouble);
            cJSON_AddItemToArray(rows, row);
        }
    }
    return rows;
}

/* human_dif.csv: the human-score DIF rows, each with the machine's
 * effect, its class, the change in size, its interval and the verdict
 * (dif_vs_human) appended. */
static cJSON *human_dif_rows(const cJSON *audit)
{
    cJSON *rows = cJSON_Duplicate(rj_path(audit, "human_dif", "items"), 1);
    cJSON *row;
    cJSON_ArrayForEach(row, rows)
    {
        const cJSON *c = rj_dif_vs_human_item(audit, rj_str(row, "item"));
        if (!c)
            continue;
        const cJSON *m = rj_get(c, "machine");
        sj_json_add_number(row, "machine_effect", rj_num(m, "effect"));
        cJSON_AddStringToObject(row, "machine_class",
                                rj_str(m, "class") ? rj_str(m, "class") : "NA");
        sj_json_add_number(row, "abs_change", rj_num(c, "abs_change"));
        add_interval_columns(row, c, "abs_change", 1);
        cJSON_AddStringToObject(row, "verdict", rj_str(c, "verdict") ? rj_str(c, "verdict") : "NA");
    }
    return rows;
}

/* item_agreement.csv: per item, over both groups ("all") and each group,
 * the machine's agreement with the human score of record. */
static cJSON *item_agreement_rows(const cJSON *agr)
{
    static const char *const keys[] = {"n",          "exact",   "adjacent",     "qwk",
                                       "pearson_r",  "smd",     "mean_machine", "mean_human",
                                       "sd_machine", "sd_human"};
    cJSON *rows = cJSON_CreateArray();
    const cJSON *it;
    cJSON_ArrayForEach(it, rj_get(agr, "by_item"))
    {
        const cJSON *scopes[3] = {it, NULL, NULL};
        const char *names[3] = {"all", NULL, NULL};
        int n = 1;
        const cJSON *g;
        cJSON_ArrayForEach(g, rj_get(it, "by_group"))
        {
            if (n < 3) {
                scopes[n] = g;
                names[n++] = g->string;
            }
        }
        for (int k = 0; k < n && rows; k++) {
            cJSON *row = cJSON_CreateObject();
            cJSON_AddStringToObject(row, "item", rj_str(it, "item") ? rj_str(it, "item") : "");
            cJSON_AddStringToObject(row, "group", names[k]);
            for (size_t c = 0; c < sizeof keys / sizeof *keys; c++)
                sj_json_add_number(row, keys[c], rj_num(scopes[k], keys[c]));
            cJSON_AddItemToArray(rows, row);
        }
    }
    return rows;
}

typedef struct {
    const char *name;
    int wanted;  /* the audit has this part */
    cJSON *rows; /* NULL where wanted: out of memory */
    const char *const *lead;
} csv_table;

sj_status sj_audit_write(const cJSON *audit, const char *out_dir, sj_error *err)
{
    sj_buf html = {0};
    if (sj_audit_html(audit, &html, err) != SJ_OK) {
        sj_buf_free(&html);
        return err->status ? err->status : SJ_ERR_WORK;
    }
    static const char *const dif_lead[] = {"item", "focal", "type", "n", "n_ref", "n_focal", NULL};
    static const char *const parity_lead[] = {"group", "role",      "n", "mean",
                                              "sd",    "pass_rate", NULL};
    /* Named columns, so that a table without rows still has its header. */
    static const char *const levels_lead[] = {"scorer", "item", "group", "role",
                                              "level",  "n",    "share", NULL};
    static const char *const curves_lead[] = {"item",           "scorer", "group",           "role",
                                              "matching_score", "n",      "mean_item_score", NULL};
    static const char *const sample_lead[] = {
        "item",           "kind",          "set",         "group",      "role",     "person",
        "matching_score", "machine_score", "human_score", "true_score", "response", NULL};
    const cJSON *agr = rj_get(audit, "agreement");
    const cJSON *truth = rj_get(audit, "truth_agreement");
    int has_agr = cJSON_IsObject(agr), has_truth = cJSON_IsObject(truth);
    int has_human_dif = cJSON_IsArray(rj_path(audit, "human_dif", "items"));
    const cJSON *raters = rj_get(audit, "raters");
    int has_raters = cJSON_IsObject(raters);
    const cJSON *levels = rj_path(audit, "score_levels", "rows");
    const cJSON *curves = rj_path(audit, "item_curves", "rows");
    const cJSON *sample = rj_path(audit, "response_sample", "rows");
    int has_levels = cJSON_IsArray(levels), has_curves = cJSON_IsArray(curves);
    int has_sample = cJSON_IsArray(sample);
    csv_table tables[] = {
        {"dif.csv", 1, cJSON_Duplicate(rj_path(audit, "dif", "items"), 1), dif_lead},
        {"parity.csv", 1, parity_rows(rj_get(audit, "parity")), parity_lead},
        {"distribution.csv", 1, distribution_rows(rj_get(audit, "distribution")), NULL},
        {"agreement.csv", has_agr, has_agr ? agreement_rows(agr) : NULL, NULL},
        {"fairness.csv", has_agr, has_agr ? fairness_rows(agr) : NULL, NULL},
        {"truth_agreement.csv", has_truth, has_truth ? truth_rows(truth) : NULL, NULL},
        {"human_dif.csv", has_human_dif, has_human_dif ? human_dif_rows(audit) : NULL, dif_lead},
        {"raters.csv", has_raters, has_raters ? rj_raters_rows(raters) : NULL, rj_raters_csv_lead},
        {"item_agreement.csv", has_agr, has_agr ? item_agreement_rows(agr) : NULL, NULL},
        {"score_levels.csv", has_levels, has_levels ? cJSON_Duplicate(levels, 1) : NULL,
         levels_lead},
        {"item_curves.csv", has_curves, has_curves ? cJSON_Duplicate(curves, 1) : NULL,
         curves_lead},
        {"response_sample.csv", has_sample, has_sample ? cJSON_Duplicate(sample, 1) : NULL,
         sample_lead},
    };
    const size_t n_tables = sizeof tables / sizeof *tables;
    sj_report_dir dir;
    sj_status st = sj_report_dir_open(&dir, out_dir, err);
    for (size_t i = 0; i < n_tables && st == SJ_OK; i++) {
        if (!tables[i].wanted)
            continue;
        char *path = sj_report_dir_file(&dir, tables[i].name);
        st = path && tables[i].rows
                 ? rj_write_csv_objects(tables[i].rows, path, tables[i].lead, err)
                 : sj_error_set(err, SJ_ERR_WORK, "out of memory writing %s", tables[i].name);
        free(path);
    }
    if (st == SJ_OK && rj_boot_has_replicates(audit)) {
        char *path = sj_report_dir_file(&dir, "bootstrap.csv");
        st = path ? rj_boot_write_csv(audit, path, err)
                  : sj_error_set(err, SJ_ERR_WORK, "out of memory");
        free(path);
    }
    if (st == SJ_OK) {
        /* audit.json keeps the bootstrap's summary; the replicates are in
         * bootstrap.csv. */
        char *json_path = sj_report_dir_file(&dir, "audit.json");
        char *html_path = sj_report_dir_file(&dir, "index.html");
        cJSON *json = rj_boot_file_json(audit);
        st = json_path && html_path && json ? sj_json_write(json_path, json, err)
                                            : sj_error_set(err, SJ_ERR_WORK, "out of memory");
        cJSON_Delete(json);
        if (st == SJ_OK)
            st = sj_write_file_atomic(html_path, html.data, html.len, err);
        free(json_path);
        free(html_path);
    }
    if (st == SJ_OK)
        st = sj_report_dir_commit(&dir, err);
    else if (dir.tmp_dir)
        sj_report_dir_abort(&dir);
    for (size_t i = 0; i < n_tables; i++)
        cJSON_Delete(tables[i].rows);
    sj_buf_free(&html);
    return st;
}
