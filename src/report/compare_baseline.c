/* The transparent baseline scorer (`sjtalign baseline`) beside the scorers
 * a comparison sets side by side: its audit's DIF, parity and agreement as
 * a reference, and plain sentences that place the language-model scorers
 * against it. It is no step of alignment, so nothing about it is called
 * improved or worsened: it only says how far word overlap alone gets. */
#include "report_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define BASELINE_LABEL "baseline"

static int same_string(const char *a, const char *b)
{
    return a && b && strcmp(a, b) == 0;
}

/* The baseline must audit the same instrument and the same groups as the
 * compared audits, or its numbers mean something else. */
static sj_status check_comparable(const cJSON *cmp, const cJSON *audit, const char *dir,
                                  sj_error *err)
{
    const cJSON *ins0 = rj_get(cmp, "instrument"), *ins = rj_get(audit, "instrument");
    if (!same_string(rj_str(ins0, "id"), rj_str(ins, "id")) ||
        !cJSON_Compare(rj_get(ins0, "items"), rj_get(ins, "items"), 1))
        return sj_error_set(err, SJ_ERR_INPUT,
                            "%s (--baseline) audits instrument '%.80s' and the compared audits "
                            "'%.80s' (or their items differ): the baseline must be audited on the "
                            "same instrument",
                            dir, rj_str(ins, "id") ? rj_str(ins, "id") : "?",
                            rj_str(ins0, "id") ? rj_str(ins0, "id") : "?");
    const cJSON *set = rj_get(audit, "settings");
    if (!same_string(rj_str(cmp, "reference"), rj_str(set, "reference")) ||
        !same_string(rj_str(cmp, "focal"), rj_str(set, "focal")))
        return sj_error_set(err, SJ_ERR_INPUT,
                            "%s (--baseline) compares other groups than the compared audits: "
                            "reference and focal must be the same in every audit",
                            dir);
    return SJ_OK;
}

/* A QWK as the summary lines print it: three decimals, or n/a. */
static void print_qwk(sj_buf *b, double q)
{
    if (isnan(q))
        sj_buf_printf(b, "n/a");
    else
        sj_buf_printf(b, "%.3f", q);
}

static const cJSON *dif_item(const cJSON *audit, const char *id)
{
    const cJSON *it;
    cJSON_ArrayForEach(it, rj_path(audit, "dif", "items"))
    {
        if (same_string(rj_str(it, "item"), id))
            return it;
    }
    return NULL;
}

static cJSON *copy_or_null(const cJSON *v)
{
    return v ? cJSON_Duplicate(v, 1) : cJSON_CreateNull();
}

/* The parity, agreement or truth_agreement object of compared audit k. */
static const cJSON *compared_part(const cJSON *cmp, const char *key, int k)
{
    const cJSON *part = rj_get(cmp, key);
    if (rj_get(part, "by_label"))
        return rj_path(part, "by_label",
                       rj_str(cJSON_GetArrayItem(rj_get(cmp, "audits"), k), "label"));
    return rj_get(part, k == 0 ? "before" : "after");
}

/* "; SFT at 0.868, PPO at 0.850", then where the
 * baseline stands among them (higher QWK agrees more closely). */
static void scorers_qwk(sj_buf *b, const cJSON *cmp, const char *key, double baseline_qwk)
{
    const cJSON *audits = rj_get(cmp, "audits");
    int n = cJSON_GetArraySize(audits), above = 0, below = 0, defined = 0;
    for (int k = 0; k < n; k++) {
        double q = rj_num(compared_part(cmp, key, k), "qwk");
        sj_buf_printf(b, "%s %s at ", k ? "," : ";",
                      rj_str(cJSON_GetArrayItem(audits, k), "label"));
        print_qwk(b, q);
        defined += !isnan(q);
        above += !isnan(q) && q > baseline_qwk + 0.0005;
        below += !isnan(q) && q < baseline_qwk - 0.0005;
    }
    if (isnan(baseline_qwk) || defined == 0)
        return;
    sj_buf_printf(b, " (%s)",
                  above == defined   ? "each agrees more closely than the baseline"
                  : below == defined ? "none agrees more closely than the baseline"
                  : defined == 2     ? "the baseline lies between them"
                                     : "the baseline lies among them");
}

static void agreement_line(sj_buf *b, const cJSON *cmp, const cJSON *audit)
{
    const cJSON *a = rj_get(audit, "agreement");
    if (!cJSON_IsObject(a)) {
        sj_buf_printf(b, "The transparent word-overlap baseline: agreement with the human scores "
                         "not assessed (its audit has no human scores)");
        return;
    }
    double q = rj_num(a, "qwk");
    sj_buf_printf(b, "The transparent word-overlap baseline agrees with the human scores at QWK ");
    print_qwk(b, q);
    scorers_qwk(b, cmp, "agreement", q);
}

static void truth_line(sj_buf *b, const cJSON *cmp, const cJSON *truth)
{
    double q = rj_num(truth, "qwk");
    sj_buf_printf(b, "With the true scores, the baseline agrees at QWK ");
    print_qwk(b, q);
    scorers_qwk(b, cmp, "truth_agreement", q);
}

static int flagged_count(const cJSON *cmp, int k)
{
    int n = 0;
    const cJSON *row;
    cJSON_ArrayForEach(row, rj_get(cmp, "items"))
    {
        const cJSON *item =
            rj_get(row, "by_label")
                ? rj_path(row, "by_label",
                          rj_str(cJSON_GetArrayItem(rj_get(cmp, "audits"), k), "label"))
                : rj_get(row, k == 0 ? "before" : "after");
        rj_effect e;
        rj_dif_effect(item, &e);
        n += rj_class_rank(e.cls) > 0;
    }
    return n;
}

/* Which items the baseline flags (it learns from the same human scores,
 * so it shows the DIF that comes with them), beside the other scorers'
 * counts. Fills `flagged` with the item ids. */
static void dif_line(sj_buf *b, const cJSON *cmp, cJSON *flagged)
{
    sj_buf list = {0};
    const cJSON *row;
    cJSON_ArrayForEach(row, rj_get(cmp, "items"))
    {
        rj_effect e;
        rj_dif_effect(rj_get(row, BASELINE_LABEL), &e);
        if (rj_class_rank(e.cls) <= 0)
            continue;
        sj_buf_printf(&list, "%s%s %s", list.len ? ", " : "", rj_str(row, "item"), e.cls);
        cJSON_AddItemToArray(flagged, cJSON_CreateString(rj_str(row, "item")));
    }
    int n = cJSON_GetArraySize(flagged);
    sj_buf_printf(b, "The baseline flags moderate or large DIF (B/C, BB/CC) on %d item%s%s%s%s", n,
                  n == 1 ? "" : "s", n ? " (" : "", n ? list.data : "", n ? ")" : "");
    if (sj_buf_failed(&list))
        sj_buf_fail(b); /* the line would name too few items */
    sj_buf_free(&list);
    const cJSON *audits = rj_get(cmp, "audits");
    int n_audits = cJSON_GetArraySize(audits);
    for (int k = 0; k < n_audits; k++)
        sj_buf_printf(b, "%s %s on %d", k ? "," : ";",
                      rj_str(cJSON_GetArrayItem(audits, k), "label"), flagged_count(cmp, k));
}

/* The baseline's plain-text lines: agreement with the human scores, with
 * the true scores when known, and DIF. */
static int baseline_summary(const cJSON *cmp, const cJSON *audit, cJSON *base)
{
    cJSON *lines = cJSON_AddArrayToObject(base, "summary");
    cJSON *flagged = cJSON_AddArrayToObject(base, "flagged");
    if (!lines || !flagged)
        return -1;
    sj_buf b = {0};
    int failed = 0;
    agreement_line(&b, cmp, audit);
    failed |= rj_take_line(lines, &b);
    const cJSON *truth = rj_get(base, "truth_agreement");
    if (cJSON_IsObject(truth)) {
        truth_line(&b, cmp, truth);
        failed |= rj_take_line(lines, &b);
    }
    dif_line(&b, cmp, flagged);
    failed |= rj_take_line(lines, &b);
    return failed ? -1 : 0;
}

/* The "baseline" object: where the audit is, its settings and its
 * parity, agreement and truth agreement. */
static cJSON *baseline_object(const cJSON *cmp, const cJSON *audit, const char *dir)
{
    cJSON *base = cJSON_CreateObject();
    if (!base)
        return NULL;
    cJSON_AddStringToObject(base, "label", BASELINE_LABEL);
    cJSON_AddStringToObject(base, "dir", dir);
    cJSON_AddItemToObject(base, "settings", copy_or_null(rj_get(audit, "settings")));
    cJSON_AddItemToObject(base, "provenance", copy_or_null(rj_get(audit, "provenance")));
    cJSON_AddItemToObject(base, "parity", copy_or_null(rj_get(audit, "parity")));
    cJSON_AddItemToObject(base, "agreement", copy_or_null(rj_get(audit, "agreement")));
    /* Agreement with the truth is set beside the others' only when they
     * have it too. */
    const cJSON *truth = rj_get(audit, "truth_agreement");
    int both = cJSON_IsObject(rj_get(cmp, "truth_agreement")) && cJSON_IsObject(truth);
    cJSON_AddItemToObject(base, "truth_agreement", copy_or_null(both ? truth : NULL));
    if (baseline_summary(cmp, audit, base) != 0) {
        cJSON_Delete(base);
        return NULL;
    }
    return base;
}

static void add_warnings(cJSON *cmp, const cJSON *audit)
{
    cJSON *warnings = cJSON_GetObjectItemCaseSensitive(cmp, "warnings");
    const cJSON *first = cJSON_GetArrayItem(rj_get(cmp, "audits"), 0);
    const char *label0 = rj_str(first, "label") ? rj_str(first, "label") : "before";
    rj_settings_warnings_add(warnings, rj_get(first, "settings"), rj_get(audit, "settings"), label0,
                             BASELINE_LABEL);
    const char *t0 = rj_truth_checksum(first), *t = rj_truth_checksum(audit);
    if (t0 && t && strcmp(t0, t) != 0) {
        char *msg = sj_asprintf("the truth file differs between %s and %s (other checksum)", label0,
                                BASELINE_LABEL);
        if (msg)
            cJSON_AddItemToArray(warnings, cJSON_CreateString(msg));
        free(msg);
    }
}

/* Every item row gets the baseline's DIF object of its item. */
static int add_items(cJSON *cmp, const cJSON *audit)
{
    cJSON *row;
    cJSON_ArrayForEach(row, cJSON_GetObjectItemCaseSensitive(cmp, "items"))
    {
        cJSON *item = copy_or_null(dif_item(audit, rj_str(row, "item")));
        if (!item || !cJSON_AddItemToObject(row, BASELINE_LABEL, item)) {
            cJSON_Delete(item);
            return -1;
        }
    }
    return 0;
}

static sj_status add_to_summary(cJSON *cmp, const cJSON *base)
{
    cJSON *summary = cJSON_GetObjectItemCaseSensitive(cmp, "summary");
    const cJSON *line;
    cJSON_ArrayForEach(line, rj_get(base, "summary"))
    {
        cJSON *copy = cJSON_Duplicate(line, 1);
        if (!copy || !cJSON_AddItemToArray(summary, copy)) {
            cJSON_Delete(copy);
            return SJ_ERR_WORK;
        }
    }
    return SJ_OK;
}

/* Sets cmp.baseline (sj_compare_build leaves it null); 0 when out of
 * memory, with `base` not taken. */
static int put_baseline(cJSON *cmp, cJSON *base)
{
    if (cJSON_GetObjectItemCaseSensitive(cmp, BASELINE_LABEL))
        return cJSON_ReplaceItemInObjectCaseSensitive(cmp, BASELINE_LABEL, base);
    return cJSON_AddItemToObject(cmp, BASELINE_LABEL, base);
}

sj_status sj_compare_add_baseline(cJSON *cmp, const char *dir, sj_error *err)
{
    cJSON *audit = rj_load_audit(dir, err);
    if (!audit)
        return err->status ? err->status : SJ_ERR_INPUT;
    sj_status st = check_comparable(cmp, audit, dir, err);
    cJSON *base = NULL;
    if (st == SJ_OK) {
        /* Items first: the summary's DIF line reads them. */
        if (add_items(cmp, audit) != 0 || !(base = baseline_object(cmp, audit, dir)) ||
            add_to_summary(cmp, base) != SJ_OK || !put_baseline(cmp, base)) {
            cJSON_Delete(base);
            st = sj_error_set(err, SJ_ERR_WORK, "out of memory adding the baseline");
        } else {
            add_warnings(cmp, audit);
        }
    }
    char *path = st == SJ_OK ? sj_path_join(dir, "audit.json") : NULL;
    if (st == SJ_OK)
        st = path ? sj_provenance_add_file(cJSON_GetObjectItemCaseSensitive(cmp, "provenance"),
                                           BASELINE_LABEL, path, err)
                  : sj_error_set(err, SJ_ERR_WORK, "out of memory");
    free(path);
    cJSON_Delete(audit);
    return st;
}
