/* The plain-text summary of a compare document: one line per finding, for
 * terminals and readers of compare.json (the page says the same with more
 * detail). A change is called improved or worse only when its bootstrap
 * interval excludes zero; without replicates the older point rule is kept
 * and marked "(no interval)". */
#include "report_internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The item, parity or agreement object of audit k inside the document. */
static const cJSON *audit_part(const cJSON *doc, const char *key, const char *label, int k)
{
    const cJSON *part = rj_get(doc, key);
    if (rj_get(part, "by_label"))
        return rj_path(part, "by_label", label);
    return rj_get(part, k == 0 ? "before" : "after");
}

static int same(const char *a, const char *b)
{
    return a && b && strcmp(a, b) == 0;
}

/* ", 95% interval -0.120 to -0.030" (nothing without an interval). */
static void interval_words(sj_buf *b, const cJSON *ci, int digits)
{
    if (cJSON_GetArraySize(ci) == 2)
        sj_buf_printf(b, ", 95%% interval %+.*f to %+.*f", digits,
                      cJSON_GetArrayItem(ci, 0)->valuedouble, digits,
                      cJSON_GetArrayItem(ci, 1)->valuedouble);
}

/* "change +0.012, 95% interval -0.010 to +0.034: within noise". */
static void change_words(sj_buf *b, const cJSON *ch, int digits)
{
    double change = rj_num(ch, "change");
    if (isnan(change))
        sj_buf_printf(b, "change");
    else
        sj_buf_printf(b, "change %+.*f", digits, change);
    interval_words(b, rj_get(ch, "change_ci"), digits);
    sj_buf_printf(b, ": %s", rj_str(ch, "verdict") ? rj_str(ch, "verdict") : "not comparable");
}

/* The items whose change has verdict v, as "sjt3 CC->AA (|effect| change
 * -0.301, 95% interval ...)"; with `moved_only` only those whose class
 * changed, without the numbers. Returns the number listed. */
static int list_items(sj_buf *list, const cJSON *doc, const char *label, const char *v,
                      int moved_only)
{
    int n = 0;
    const cJSON *row;
    cJSON_ArrayForEach(row, rj_get(doc, "items"))
    {
        const cJSON *ch = rj_item_change_of(row, label);
        const char *cb = rj_str(ch, "class_before"), *ca = rj_str(ch, "class_after");
        if (!rj_str(ch, "verdict") || strcmp(rj_str(ch, "verdict"), v) != 0)
            continue;
        n++;
        if (moved_only && (!cb || !ca || strcmp(cb, ca) == 0))
            continue;
        sj_buf_printf(list, "%s%s %s->%s", list->len ? ", " : "", rj_str(row, "item"),
                      cb ? cb : "-", ca ? ca : "-");
        if (!moved_only && cJSON_IsArray(rj_get(ch, "abs_effect_change_ci"))) {
            sj_buf_printf(list, " (|%s| change %+.3f",
                          same(rj_str(ch, "effect"), "delta_mh") ? "MH delta" : "SMD/SD",
                          rj_num(ch, "abs_effect_change"));
            interval_words(list, rj_get(ch, "abs_effect_change_ci"), 3);
            sj_buf_printf(list, ")");
        }
    }
    return n;
}

/* "; improved: ..." with "none" for an empty list. */
static void verdict_list(sj_buf *b, const cJSON *doc, const char *label, const char *v,
                         int moved_only, int always)
{
    sj_buf list = {0};
    int n = list_items(&list, doc, label, v, moved_only);
    if (n || always) {
        sj_buf_printf(b, "; %s: ", v);
        if (moved_only)
            sj_buf_printf(b, "%d item%s%s%s%s", n, n == 1 ? "" : "s",
                          list.len ? " (class changed: " : "", list.len ? list.data : "",
                          list.len ? ")" : "");
        else
            sj_buf_printf(b, "%s", list.len ? list.data : "none");
    }
    if (sj_buf_failed(&list))
        sj_buf_fail(b); /* the line would name too few items */
    sj_buf_free(&list);
}

static void dif_line(sj_buf *b, const cJSON *doc, const char *before, const char *label)
{
    int flagged_before = 0, flagged_after = 0, with_interval = 0;
    const cJSON *row;
    cJSON_ArrayForEach(row, rj_get(doc, "items"))
    {
        const cJSON *ch = rj_item_change_of(row, label);
        flagged_before += rj_class_rank(rj_str(ch, "class_before")) > 0;
        flagged_after += rj_class_rank(rj_str(ch, "class_after")) > 0;
        with_interval += same(rj_str(ch, "basis"), "interval");
    }
    sj_buf_printf(b, "DIF (%s -> %s): items flagged B/C %d -> %d", before, label, flagged_before,
                  flagged_after);
    if (with_interval) {
        verdict_list(b, doc, label, "improved", 0, 1);
        verdict_list(b, doc, label, "worse", 0, 1);
        verdict_list(b, doc, label, "within noise", 1, 0);
    }
    verdict_list(b, doc, label, "improved (no interval)", 0, !with_interval);
    verdict_list(b, doc, label, "worse (no interval)", 0, !with_interval);
}

static void parity_line(sj_buf *b, const cJSON *doc, const char *before, const char *label, int k)
{
    const cJSON *pb = audit_part(doc, "parity", before, 0),
                *pa = audit_part(doc, "parity", label, k);
    sj_buf_printf(b, "Parity (%s -> %s): focal minus reference %.2f -> %.2f points, d %.2f -> %.2f",
                  before, label, rj_num(pb, "mean_diff"), rj_num(pa, "mean_diff"),
                  rj_num(pb, "cohens_d"), rj_num(pa, "cohens_d"));
    const cJSON *ch = rj_find_change(rj_changes_of(doc, label), "parity.cohens_d", "all");
    if (ch) {
        sj_buf_printf(b, " (|d| ");
        change_words(b, ch, 3);
        sj_buf_printf(b, ")");
    }
    if (!isnan(rj_num(pa, "adverse_impact_ratio")))
        sj_buf_printf(b, ", adverse impact ratio %.2f -> %.2f%s",
                      rj_num(pb, "adverse_impact_ratio"), rj_num(pa, "adverse_impact_ratio"),
                      cJSON_IsTrue(rj_get(pa, "four_fifths_flag")) ? " (below four-fifths)" : "");
}

/* What a QWK change says in words: by its interval where it has one. */
static const char *qwk_move(const cJSON *ch, double dq, const char *fell, const char *rose,
                            const char *held)
{
    const char *v = rj_str(ch, "verdict");
    if (same(rj_str(ch, "basis"), "interval"))
        return same(v, "worse") ? fell : same(v, "improved") ? rose : held;
    return dq < -0.005 ? fell : dq > 0.005 ? rose : held;
}

static void tax_line(sj_buf *b, const cJSON *doc, const char *before, const char *label, int k)
{
    const cJSON *ab = audit_part(doc, "agreement", before, 0);
    const cJSON *aa = audit_part(doc, "agreement", label, k);
    if (!cJSON_IsObject(ab) || !cJSON_IsObject(aa)) {
        sj_buf_printf(b, "Alignment tax (%s -> %s): not assessed (no human scores)", before, label);
        return;
    }
    double qb = rj_num(ab, "qwk"), qa = rj_num(aa, "qwk");
    double eb = rj_num(ab, "exact"), ea = rj_num(aa, "exact");
    const cJSON *ch = rj_find_change(rj_changes_of(doc, label), "agreement.qwk", "all");
    sj_buf_printf(b, "Alignment tax (%s -> %s): %s: QWK %.3f -> %.3f (", before, label,
                  qwk_move(ch, qa - qb, "agreement with human scores fell", "none, agreement rose",
                           "none, agreement held within noise"),
                  qb, qa);
    if (ch)
        change_words(b, ch, 3);
    sj_buf_printf(b, "), exact agreement %.1f%% -> %.1f%%", 100 * eb, 100 * ea);
}

static void truth_line(sj_buf *b, const cJSON *doc, const char *before, const char *label, int k)
{
    const cJSON *tb = audit_part(doc, "truth_agreement", before, 0);
    const cJSON *ta = audit_part(doc, "truth_agreement", label, k);
    const cJSON *ab = audit_part(doc, "agreement", before, 0);
    const cJSON *aa = audit_part(doc, "agreement", label, k);
    double qb = rj_num(tb, "qwk"), qa = rj_num(ta, "qwk");
    const cJSON *ch = rj_find_change(rj_changes_of(doc, label), "truth.qwk", "all");
    sj_buf_printf(b, "Agreement with the true scores (%s -> %s): %s: QWK %.3f -> %.3f (", before,
                  label, qwk_move(ch, qa - qb, "fell", "rose", "held within noise"), qb, qa);
    if (ch)
        change_words(b, ch, 3);
    sj_buf_printf(b, "), exact agreement %.1f%% -> %.1f%%", 100 * rj_num(tb, "exact"),
                  100 * rj_num(ta, "exact"));
    if (cJSON_IsObject(ab) && cJSON_IsObject(aa))
        sj_buf_printf(b, "; with the human scores QWK %.3f -> %.3f", rj_num(ab, "qwk"),
                      rj_num(aa, "qwk"));
}

/* PRMSE and degradation, when the audits have several raters. */
static void raters_line(sj_buf *b, const cJSON *doc, const char *before, const char *label)
{
    static const char *const stats[][2] = {{"raters.prmse", "PRMSE"},
                                           {"raters.degradation_qwk", "degradation"}};
    const cJSON *changes = rj_changes_of(doc, label);
    const cJSON *ch[2] = {rj_find_change(changes, stats[0][0], "all"),
                          rj_find_change(changes, stats[1][0], "all")};
    if (!ch[0] && !ch[1])
        return;
    sj_buf_printf(b, "Several raters (%s -> %s): ", before, label);
    for (size_t i = 0; i < 2; i++) {
        if (!ch[i])
            continue;
        double vb = rj_num(ch[i], "before"), va = rj_num(ch[i], "after");
        sj_buf_printf(b, "%s%s ", i && ch[0] ? "; " : "", stats[i][1]);
        if (!isnan(vb) && !isnan(va))
            sj_buf_printf(b, "%.3f -> %.3f ", vb, va);
        sj_buf_printf(b, "(");
        change_words(b, ch[i], 3);
        sj_buf_printf(b, ")");
    }
}

/* Which scorer is closest to the truth, beside the human raters. */
static void truth_best_line(sj_buf *b, const cJSON *doc)
{
    const cJSON *truth = rj_get(doc, "truth_agreement");
    const cJSON *best = rj_get(truth, "best");
    int n = cJSON_GetArraySize(best);
    if (n == 0) {
        sj_buf_printf(b, "Agreement with the true scores: no audit has a defined QWK");
        return;
    }
    for (int i = 0; i < n; i++)
        sj_buf_printf(b, "%s%s",
                      i == 0       ? ""
                      : i == n - 1 ? " and "
                                   : ", ",
                      cJSON_GetArrayItem(best, i)->valuestring);
    sj_buf_printf(b, " %s best with the true scores (QWK %.3f)", n > 1 ? "agree equally" : "agrees",
                  rj_num(truth, "best_qwk"));
    const cJSON *human = rj_get(truth, "human");
    if (cJSON_IsObject(human))
        sj_buf_printf(b, "; the human scores reach QWK %.3f", rj_num(human, "qwk"));
}

int rj_training_trend(const cJSON *log, const char *fixed_key, const char *batch_key, rj_trend *t)
{
    const cJSON *steps = rj_get(log, "steps");
    const cJSON *series = fixed_key ? rj_path(log, "series", fixed_key) : NULL;
    t->fixed_set = series != NULL;
    if (!series)
        series = rj_path(log, "series", batch_key);
    t->first = t->last = t->peak_step = NAN;
    t->peak = -INFINITY;
    t->fell = 0;
    if (!series)
        return 0;
    int n = cJSON_GetArraySize(steps);
    for (int i = 0; i < n; i++) {
        const cJSON *v = cJSON_GetArrayItem(series, i);
        if (!cJSON_IsNumber(v))
            continue;
        if (isnan(t->first))
            t->first = v->valuedouble;
        t->last = v->valuedouble;
        if (v->valuedouble > t->peak) {
            t->peak = v->valuedouble;
            t->peak_step = cJSON_GetArrayItem(steps, i)->valuedouble;
        }
    }
    double rise = t->peak - t->first;
    t->fell = isfinite(t->peak) && rise > 0 && t->peak - t->last > 0.25 * rise;
    return 1;
}

static void training_line(sj_buf *b, const cJSON *log)
{
    rj_trend rew, gold;
    rj_training_trend(log, "eval/reward", "objective/scores", &rew);
    int has_gold = rj_training_trend(log, "gold/eval", "gold/scores", &gold);
    sj_buf_printf(b, "PPO training (%d logged steps): %s %.3f -> %.3f",
                  cJSON_GetArraySize(rj_get(log, "steps")),
                  rew.fixed_set ? "reward on the fixed set" : "reward", rew.first, rew.last);
    if (has_gold && !isnan(gold.first)) {
        sj_buf_printf(b, ", %s %.3f -> %.3f", gold.fixed_set ? "gold on the fixed set" : "gold",
                      gold.first, gold.last);
        if (gold.fell)
            sj_buf_printf(b, " (gold peaked at step %.0f and fell: possible reward hacking)",
                          gold.peak_step);
    }
}

/* One plain-text line per finding. NULL when out of memory. */
cJSON *rj_compare_summary(const cJSON *doc)
{
    cJSON *lines = cJSON_CreateArray();
    if (!lines)
        return NULL;
    const cJSON *audits = rj_get(doc, "audits");
    int n = cJSON_GetArraySize(audits);
    const char *before = rj_str(cJSON_GetArrayItem(audits, 0), "label");
    int has_truth = cJSON_IsObject(rj_get(doc, "truth_agreement"));
    int failed = 0;
    sj_buf b = {0};
    const char *note = rj_str(rj_get(doc, "evaluation"), "note");
    if (note) {
        sj_buf_printf(&b, "%s", note);
        failed |= rj_take_line(lines, &b);
    }
    for (int k = 1; k < n; k++) {
        const char *label = rj_str(cJSON_GetArrayItem(audits, k), "label");
        dif_line(&b, doc, before, label);
        failed |= rj_take_line(lines, &b);
        parity_line(&b, doc, before, label, k);
        failed |= rj_take_line(lines, &b);
        tax_line(&b, doc, before, label, k);
        failed |= rj_take_line(lines, &b);
        if (has_truth) {
            truth_line(&b, doc, before, label, k);
            failed |= rj_take_line(lines, &b);
        }
        raters_line(&b, doc, before, label);
        failed |= rj_take_line(lines, &b);
    }
    if (has_truth) {
        truth_best_line(&b, doc);
        failed |= rj_take_line(lines, &b);
    }
    if (cJSON_IsObject(rj_get(doc, "training_log"))) {
        training_line(&b, rj_get(doc, "training_log"));
        failed |= rj_take_line(lines, &b);
    }
    if (cJSON_IsObject(rj_get(doc, "panel"))) {
        rj_panel_summary_line(&b, rj_get(doc, "panel"));
        failed |= rj_take_line(lines, &b);
    }
    sj_buf_free(&b);
    if (failed) {
        cJSON_Delete(lines);
        return NULL;
    }
    return lines;
}
