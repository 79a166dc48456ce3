/* One finished replication's figures, read from its compare report and its
 * SFT audit, and the DIF of its true scores. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "report_internal.h"
#include "sjtalign/study.h"

const char *sj_study_status_name(sj_study_status s)
{
    switch (s) {
    case SJ_STUDY_RAN:
        return "ran";
    case SJ_STUDY_UP_TO_DATE:
        return "up to date";
    case SJ_STUDY_FAILED:
        return "failed";
    case SJ_STUDY_INTERRUPTED:
        return "interrupted";
    default:
        return "not run";
    }
}

void sj_study_rep_clear(sj_study_rep *rep)
{
    for (int m = 0; m < SJ_STUDY_MODELS; m++) {
        sj_study_model_fig *f = &rep->models[m];
        free(f->items);
        free(f->unbiased_flagged);
        free(f->machine_made);
        memset(f, 0, sizeof *f);
    }
    free(rep->human_flagged);
    free(rep->truth_flagged);
    free(rep->error);
    rep->human_flagged = rep->truth_flagged = rep->error = NULL;
}

/* ---- flagged item sets ---------------------------------------------------------- */

/* The item's ETS class, polytomous or dichotomous. */
static const char *item_class(const cJSON *dif_item)
{
    const char *cls = rj_str(dif_item, "ets_poly_class");
    return cls ? cls : rj_str(dif_item, "ets_class");
}

static int flagged(const cJSON *dif_item)
{
    return rj_class_rank(item_class(dif_item)) >= 1;
}

/* "S03 CC; S06 BB" of the flagged items of a DIF item list, or NULL when
 * none; *failed is set when out of memory. */
static char *flagged_list(const cJSON *items, int *failed)
{
    sj_buf b = {0};
    const cJSON *it;
    cJSON_ArrayForEach(it, items)
    {
        if (flagged(it))
            sj_buf_printf(&b, "%s%s %s", b.len ? "; " : "", rj_str(it, "item"), item_class(it));
    }
    *failed |= sj_buf_failed(&b);
    if (sj_buf_failed(&b))
        sj_buf_free(&b);
    return b.data;
}

/* ---- true-score DIF ------------------------------------------------------------ */

static void csv_field(sj_buf *b, const char *text, const char *end)
{
    sj_buf_printf(b, "\"");
    for (const char *c = text; *c; c++)
        sj_buf_printf(b, *c == '"' ? "\"\"" : "%c", *c);
    sj_buf_printf(b, "\"%s", end);
}

typedef struct {
    const char *person, *group;
} person_group;

static int compare_persons(const void *a, const void *b)
{
    return strcmp(((const person_group *)a)->person, ((const person_group *)b)->person);
}

/* The long table (person, item, true_score, group) of the audited persons
 * (those of `audited`, the table the score stages read: the held-out
 * persons' rows, or the whole data without a split), as CSV text. */
static sj_status join_truth(const sj_table *truth, const sj_table *audited, const char *person_col,
                            const char *group_col, sj_buf *out, sj_error *err)
{
    long tp = sj_table_column(truth, "person_id", err), ti = sj_table_column(truth, "item_id", err);
    long ts = sj_table_column(truth, "true_score", err);
    long ap = sj_table_column(audited, person_col, err);
    long ag = sj_table_column(audited, group_col, err);
    if (tp < 0 || ti < 0 || ts < 0 || ap < 0 || ag < 0)
        return SJ_ERR_INPUT;
    person_group *index = calloc(audited->n_rows + 1, sizeof *index);
    if (!index)
        return sj_error_set(err, SJ_ERR_WORK, "out of memory");
    for (size_t r = 0; r < audited->n_rows; r++) {
        index[r].person = sj_table_cell(audited, r, (size_t)ap);
        index[r].group = sj_table_cell(audited, r, (size_t)ag);
    }
    qsort(index, audited->n_rows, sizeof *index, compare_persons);
    sj_buf_printf(out, "person,item,true_score,group\n");
    for (size_t r = 0; r < truth->n_rows; r++) {
        person_group key = {sj_table_cell(truth, r, (size_t)tp), NULL};
        const person_group *hit =
            bsearch(&key, index, audited->n_rows, sizeof *index, compare_persons);
        if (!hit)
            continue;
        csv_field(out, key.person, ",");
        csv_field(out, sj_table_cell(truth, r, (size_t)ti), ",");
        csv_field(out, sj_table_cell(truth, r, (size_t)ts), ",");
        csv_field(out, hit->group, "\n");
    }
    free(index);
    return sj_buf_failed(out) ? sj_error_set(err, SJ_ERR_WORK, "out of memory") : SJ_OK;
}

/* The DIF options of the SFT audit, so that the true scores are tested as
 * the machine's and the human scores were. */
static void audit_dif_options(const cJSON *audit_dif, sj_dif_options *o)
{
    sj_dif_options_defaults(o);
    const char *match = rj_str(audit_dif, "match");
    const char *adjust = rj_str(audit_dif, "adjust");
    o->match = match && strcmp(match, "rest") == 0 ? SJ_MATCH_REST : SJ_MATCH_TOTAL;
    o->purify = cJSON_IsTrue(rj_get(audit_dif, "purify"));
    o->adjust = !adjust                       ? SJ_ADJUST_NONE
                : strcmp(adjust, "bh") == 0   ? SJ_ADJUST_BH
                : strcmp(adjust, "holm") == 0 ? SJ_ADJUST_HOLM
                                              : SJ_ADJUST_NONE;
    double min_cell = rj_num(audit_dif, "min_cell");
    if (isfinite(min_cell))
        o->min_cell = (long)min_cell;
    if (cJSON_IsFalse(rj_get(audit_dif, "breslow_day_tarone")))
        o->bd_tarone = 0;
}

/* The items whose true scores show DIF (B/C, BB/CC) on the audited
 * persons: the simulator draws true scores without DIF, so a flag here is
 * chance, and an item flagged in the true scores is not machine-made. */
static cJSON *truth_dif(const char *dir, const cJSON *audit, const cJSON *pipeline, sj_error *err)
{
    const cJSON *cols = rj_get(pipeline, "columns");
    const char *person = rj_str(cols, "person") ? rj_str(cols, "person") : "person_id";
    const char *group = rj_str(cols, "group") ? rj_str(cols, "group") : "group";
    char *truth_path = sj_path_join(dir, "data/truth.csv");
    char *split_path = sj_path_join(dir, "runs/split/heldout.csv");
    char *data_path = sj_path_join(dir, "data/responses.csv");
    const char *audited_path = split_path && access(split_path, F_OK) == 0 ? split_path : data_path;
    sj_table *truth = truth_path ? sj_table_read(truth_path, err) : NULL;
    sj_table *audited = truth && audited_path ? sj_table_read(audited_path, err) : NULL;
    sj_buf csv = {0};
    cJSON *items = NULL;
    if (audited && join_truth(truth, audited, person, group, &csv, err) == SJ_OK) {
        sj_table *t = sj_table_parse("true scores of the audited persons", csv.data, csv.len, err);
        sj_score_data *d =
            t ? sj_score_data_from_table(t, "person", "item", "true_score", "group", err) : NULL;
        sj_dif_options o;
        audit_dif_options(rj_get(audit, "dif"), &o);
        const char *focal[1] = {rj_str(rj_get(audit, "settings"), "focal")};
        o.reference = rj_str(rj_get(audit, "settings"), "reference");
        o.focal = focal;
        o.n_focal = 1;
        sj_dif_result *r = d && o.reference && focal[0] ? sj_dif_run(d, &o, err) : NULL;
        cJSON *doc = r ? sj_dif_to_json(r) : NULL;
        items = doc ? cJSON_DetachItemFromObjectCaseSensitive(doc, "items") : NULL;
        if (r && !items)
            sj_error_set(err, SJ_ERR_WORK, "out of memory");
        cJSON_Delete(doc);
        sj_dif_result_free(r);
        sj_score_data_free(d);
        sj_table_free(t);
    }
    sj_buf_free(&csv);
    sj_table_free(audited);
    sj_table_free(truth);
    free(truth_path);
    free(split_path);
    free(data_path);
    return items;
}

/* ---- the figures of each scorer ---------------------------------------------------- */

/* A section of compare.json for one audit label: its "by_label" entry,
 * or, in a comparison of two audits, "before" or "after". */
static const cJSON *per_label(const cJSON *section, const cJSON *audits, const char *label)
{
    const cJSON *by = rj_get(section, "by_label");
    if (cJSON_IsObject(by))
        return rj_get(by, label);
    for (int k = 0; k < 2 && k < cJSON_GetArraySize(audits); k++) {
        const char *l = rj_str(cJSON_GetArrayItem(audits, k), "label");
        if (l && strcmp(l, label) == 0)
            return rj_get(section, k ? "after" : "before");
    }
    return NULL;
}

static int has_label(const cJSON *audits, const char *label)
{
    const cJSON *a;
    cJSON_ArrayForEach(a, audits)
    {
        const char *l = rj_str(a, "label");
        if (l && strcmp(l, label) == 0)
            return 1;
    }
    return 0;
}

static double abs_effect(const cJSON *dif_item)
{
    if (!dif_item)
        return NAN;
    rj_effect e;
    rj_dif_effect(dif_item, &e);
    return fabs(e.value);
}

static int is_biased(const sj_study_condition *cond, const char *item)
{
    for (size_t i = 0; item && i < cond->n_biased; i++)
        if (strcmp(cond->biased[i], item) == 0)
            return 1;
    return 0;
}

/* The last fixed-set KL the PPO log recorded (the per-batch KL where no
 * fixed-set one was logged). */
/* The KL of the model PPO saved: the kept evaluation's eval/kl when PPO
 * kept the best checkpoint (compare copies it from the model's config.json),
 * else the log's last fixed-set (or per-batch) KL. */
static double final_kl(const cJSON *log)
{
    const cJSON *kept = rj_path(log, "kept", "eval_kl");
    if (cJSON_IsNumber(kept))
        return kept->valuedouble;
    rj_trend t;
    return rj_training_trend(log, "eval/kl", "objective/kl", &t) ? t.last : NAN;
}

/* The reward-hacking warning of the compare report: the gold reward
 * peaked and fell while training went on (rj_training_trend), or a
 * summary line or warning of the report says so. */
static int hacking_warned(const cJSON *compare)
{
    rj_trend t;
    if (rj_training_trend(rj_get(compare, "training_log"), "gold/eval", "gold/scores", &t) &&
        t.fell)
        return 1;
    static const char *const lists[] = {"summary", "warnings"};
    for (size_t i = 0; i < 2; i++) {
        const cJSON *line;
        cJSON_ArrayForEach(line, rj_get(compare, lists[i]))
        {
            if (cJSON_IsString(line) && strstr(line->valuestring, "reward hacking"))
                return 1;
        }
    }
    return 0;
}

typedef struct {
    const sj_study_condition *cond;
    const cJSON *compare, *audits, *items;
    const cJSON *human_items, *truth_items;
} rep_docs;

static void biased_items(const rep_docs *d, const char *label, sj_study_model_fig *f)
{
    for (size_t b = 0; b < d->cond->n_biased; b++) {
        const cJSON *item = rj_item_named(d->items, d->cond->biased[b]);
        sj_study_item_fig *x = &f->items[b];
        const cJSON *sft = per_label(item, d->audits, SJ_STUDY_MODEL_LABELS[0]);
        x->abs_sft = abs_effect(sft);
        x->inherited = sft && flagged(sft);
        x->abs_model = abs_effect(per_label(item, d->audits, label));
        x->reduction = x->abs_sft > 0 && isfinite(x->abs_model)
                           ? (x->abs_sft - x->abs_model) / x->abs_sft
                           : NAN;
    }
}

/* Unbiased items flagged, and machine-made DIF: flagged in this scorer's
 * scores but in neither the human nor the true scores. */
static int other_items(const rep_docs *d, const char *label, sj_study_model_fig *f)
{
    sj_buf unbiased = {0}, made = {0};
    const cJSON *item;
    cJSON_ArrayForEach(item, d->items)
    {
        const char *id = rj_str(item, "item");
        const cJSON *dif = per_label(item, d->audits, label);
        if (!id || !dif || !flagged(dif))
            continue;
        const char *cls = item_class(dif);
        if (!is_biased(d->cond, id)) {
            f->n_unbiased_flagged++;
            sj_buf_printf(&unbiased, "%s%s %s", unbiased.len ? "; " : "", id, cls);
        }
        const cJSON *human = rj_item_named(d->human_items, id);
        const cJSON *truth = rj_item_named(d->truth_items, id);
        if (!(human && flagged(human)) && !(truth && flagged(truth))) {
            f->n_machine_made++;
            sj_buf_printf(&made, "%s%s %s", made.len ? "; " : "", id, cls);
        }
    }
    int failed = sj_buf_failed(&unbiased) || sj_buf_failed(&made);
    f->unbiased_flagged = failed ? NULL : unbiased.data;
    f->machine_made = failed ? NULL : made.data;
    if (failed) {
        sj_buf_free(&unbiased);
        sj_buf_free(&made);
    }
    return failed ? -1 : 0;
}

static int model_figures(const rep_docs *d, int m, sj_study_model_fig *f)
{
    const char *label = SJ_STUDY_MODEL_LABELS[m];
    f->present = has_label(d->audits, label);
    f->kl = NAN;
    f->qwk_truth = f->qwk_human = NAN;
    if (!f->present)
        return 0;
    if (d->cond->n_biased && !(f->items = calloc(d->cond->n_biased, sizeof *f->items)))
        return -1;
    biased_items(d, label, f);
    f->qwk_truth =
        rj_num(per_label(rj_get(d->compare, "truth_agreement"), d->audits, label), "qwk");
    f->qwk_human = rj_num(per_label(rj_get(d->compare, "agreement"), d->audits, label), "qwk");
    if (strcmp(label, "PPO") == 0) {
        f->kl = final_kl(rj_get(d->compare, "training_log"));
        f->hacking = hacking_warned(d->compare);
    }
    return other_items(d, label, f);
}

static char *report_path(const char *dir, const char *leaf)
{
    char *reports = sj_path_join(dir, "reports");
    char *path = reports ? sj_path_join(reports, leaf) : NULL;
    free(reports);
    return path;
}

sj_status sj_study_collect(const sj_study_spec *s, sj_study_rep *rep, sj_error *err)
{
    char *compare_path = report_path(rep->dir, "compare/compare.json");
    char *before_path = report_path(rep->dir, "before/audit.json");
    cJSON *compare = compare_path ? sj_json_read(compare_path, err) : NULL;
    cJSON *before = compare && before_path ? sj_json_read(before_path, err) : NULL;
    cJSON *truth_items = before ? truth_dif(rep->dir, before, s->pipeline, err) : NULL;
    sj_status st = truth_items ? SJ_OK : (err->status ? err->status : SJ_ERR_WORK);
    if (st == SJ_OK) {
        rep_docs d = {.cond = &s->conditions[rep->condition],
                      .compare = compare,
                      .audits = rj_get(compare, "audits"),
                      .items = rj_get(compare, "items"),
                      .human_items = rj_path(before, "human_dif", "items"),
                      .truth_items = truth_items};
        int failed = 0;
        for (int m = 0; m < SJ_STUDY_MODELS && !failed; m++)
            failed = model_figures(&d, m, &rep->models[m]) != 0;
        rep->human_flagged = flagged_list(d.human_items, &failed);
        rep->truth_flagged = flagged_list(truth_items, &failed);
        if (failed)
            st = sj_error_set(err, SJ_ERR_WORK, "out of memory reading %s", rep->dir);
        else if (!rep->models[0].present)
            st = sj_error_set(err, SJ_ERR_INPUT, "%s has no audit labelled SFT", compare_path);
    }
    if (st != SJ_OK && !rep->error)
        rep->error = sj_strdup(err->msg);
    cJSON_Delete(truth_items);
    cJSON_Delete(before);
    cJSON_Delete(compare);
    free(compare_path);
    free(before_path);
    return st;
}
