/* Human-score DIF beside machine DIF. The same DIF analysis (same options)
 * runs on the human score of record; per item, the change in the size of
 * the effect, |machine| - |human|, gets its interval from the same person
 * bootstrap replicates as both effects (paired), and a verdict says whether
 * the machine introduced, amplified, reduced or inherited the raters' DIF.
 *
 * Verdict rule (docs/EVALUATION.md), with [lo, hi] the 95% interval of
 * |machine| - |human|:
 *   introduced  human class A/AA, machine B/C (BB/CC), lo > 0
 *   amplified   human class B/C (BB/CC), lo > 0
 *   reduced     hi < 0
 *   inherited   both classes B/C (BB/CC), the interval covers 0
 *   within noise  one of the two flagged (B/C, BB/CC), the other not, and
 *               the interval covers 0: the classes differ but the sizes
 *               cannot be told apart (near zero |effect| is biased up, so
 *               such intervals are wide)
 *   none        otherwise
 * and no verdict (null) without an interval or a class. */
#include "report_internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *rj_dif_verdict(const char *human_class, const char *machine_class, double lo, double hi)
{
    int h = rj_class_rank(human_class), m = rj_class_rank(machine_class);
    if (h < 0 || m < 0 || isnan(lo) || isnan(hi))
        return NULL;
    if (h == 0 && m >= 1 && lo > 0)
        return "introduced";
    if (h >= 1 && lo > 0)
        return "amplified";
    if (hi < 0)
        return "reduced";
    if (h >= 1 && m >= 1)
        return "inherited";
    if (h >= 1 || m >= 1)
        return "within noise";
    return "none";
}

void rj_human_dif_free(rj_human_dif *h)
{
    sj_dif_result_free(h->dif);
    sj_score_data_free(h->scores);
    free(h->note);
    memset(h, 0, sizeof *h);
}

sj_status rj_human_dif_run(const sj_responses *resp, const sj_columns *cols, long col_human,
                           const sj_dif_options *opt, rj_human_dif *out, sj_error *err)
{
    memset(out, 0, sizeof *out);
    const sj_table *t = resp->table;
    out->column = t->names[col_human];
    out->scores = sj_score_data_from_table(t, cols->person, cols->item, t->names[col_human],
                                           cols->group, err);
    if (!out->scores)
        return err->status ? err->status : SJ_ERR_WORK;
    sj_error dif_err;
    sj_error_clear(&dif_err);
    out->dif = sj_dif_run(out->scores, opt, &dif_err);
    if (out->dif)
        return SJ_OK;
    if (dif_err.status != SJ_ERR_INPUT)
        return sj_error_set(err, dif_err.status, "%s", dif_err.msg);
    /* Human scores too sparse for DIF (say, a group without a complete
     * set of human scores) leave the machine's audit standing. */
    out->note = sj_asprintf("DIF of the human scores not computed: %s", dif_err.msg);
    return out->note ? SJ_OK : sj_error_set(err, SJ_ERR_WORK, "out of memory");
}

/* The effect of a DIF item on its ETS scale and its class. */
static cJSON *side_json(const cJSON *it, rj_effect *e)
{
    rj_dif_effect(it, e);
    cJSON *o = cJSON_CreateObject();
    sj_json_add_number(o, "effect", e->value);
    if (e->cls)
        cJSON_AddStringToObject(o, "class", e->cls);
    else
        cJSON_AddNullToObject(o, "class");
    return o;
}

static cJSON *comparison_json(const cJSON *doc, const cJSON *mi, const cJSON *hi)
{
    const char *id = rj_str(mi, "item");
    rj_effect em, eh;
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "item", id);
    cJSON_AddStringToObject(o, "type", rj_str(mi, "type") ? rj_str(mi, "type") : "");
    cJSON_AddItemToObject(o, "machine", side_json(mi, &em));
    cJSON_AddItemToObject(o, "human", side_json(hi, &eh));
    cJSON_AddStringToObject(o, "effect_name", em.polytomous ? "smd_over_sd" : "delta_mh");
    int comparable = em.polytomous == eh.polytomous;
    double change = comparable ? fabs(em.value) - fabs(eh.value) : NAN;
    sj_json_add_number(o, "abs_change", change);
    double lo = NAN, up = NAN;
    if (rj_boot_interval_of(doc, "dif_vs_human.abs_change", id, &lo, &up))
        rj_add_interval(o, "abs_change", lo, up);
    const char *verdict = comparable ? rj_dif_verdict(eh.cls, em.cls, lo, up) : NULL;
    if (verdict)
        cJSON_AddStringToObject(o, "verdict", verdict);
    else
        cJSON_AddNullToObject(o, "verdict");
    return o;
}

int rj_human_dif_add(cJSON *doc, const rj_human_dif *h)
{
    if (!h->dif) {
        cJSON_AddNullToObject(doc, "human_dif");
        cJSON_AddStringToObject(doc, "human_dif_note", h->note ? h->note : "");
        cJSON_AddArrayToObject(doc, "dif_vs_human");
        return 0;
    }
    cJSON *hd = sj_dif_to_json(h->dif);
    if (!hd || !cJSON_AddItemToObject(doc, "human_dif", hd)) {
        cJSON_Delete(hd);
        return -1;
    }
    cJSON_AddStringToObject(hd, "score_column", h->column);
    return 0;
}

int rj_dif_vs_human_add(cJSON *doc)
{
    const cJSON *human = rj_path(doc, "human_dif", "items");
    if (!cJSON_IsArray(human))
        return 0;
    cJSON *arr = cJSON_CreateArray();
    const cJSON *mi;
    cJSON_ArrayForEach(mi, rj_path(doc, "dif", "items"))
    {
        const char *id = rj_str(mi, "item");
        const cJSON *hi = id ? rj_item_named(human, id) : NULL;
        if (!hi || !arr)
            continue;
        cJSON *o = comparison_json(doc, mi, hi);
        if (!o || !cJSON_AddItemToArray(arr, o)) {
            cJSON_Delete(o);
            cJSON_Delete(arr);
            return -1;
        }
    }
    if (!arr)
        return -1;
    cJSON_DeleteItemFromObjectCaseSensitive(doc, "dif_vs_human");
    cJSON_AddItemToObject(doc, "dif_vs_human", arr);
    return 0;
}

/* ---- words -------------------------------------------------------------------- */

static const char *verdict_words(const char *verdict)
{
    if (!verdict)
        return "not assessed (no bootstrap interval)";
    if (strcmp(verdict, "introduced") == 0)
        return "introduced by the machine (the human scores show none)";
    if (strcmp(verdict, "amplified") == 0)
        return "amplified by the machine";
    if (strcmp(verdict, "reduced") == 0)
        return "reduced by the machine";
    if (strcmp(verdict, "inherited") == 0)
        return "inherited from the human scores";
    if (strcmp(verdict, "within noise") == 0)
        return "flagged in one of the two, but the difference in size is within noise";
    return "no clear difference from the human scores";
}

const cJSON *rj_dif_vs_human_item(const cJSON *doc, const char *item)
{
    return item ? rj_item_named(rj_get(doc, "dif_vs_human"), item) : NULL;
}

/* One item of a summary: "S03: inherited from the human scores (human BB
 * -0.301, machine BB -0.287; change of size -0.014 [-0.080, 0.052])". */
static void item_words(sj_buf *b, const cJSON *c, int html)
{
    char x[48], y[48], lo[48], hi[48], ch[48];
    const cJSON *m = rj_get(c, "machine"), *h = rj_get(c, "human");
    const cJSON *ci = rj_get(c, "abs_change_ci");
    const cJSON *a = cJSON_GetArrayItem(ci, 0), *z = cJSON_GetArrayItem(ci, 1);
    if (html) {
        sj_buf_printf(b, "<strong>");
        sj_html_escape(b, rj_str(c, "item"));
        sj_buf_printf(b, "</strong>: ");
    } else {
        sj_buf_printf(b, "%s: ", rj_str(c, "item"));
    }
    const char *mc = rj_str(m, "class"), *hc = rj_str(h, "class");
    sj_buf_printf(b, "%s (human %s %s, machine %s %s; change in size %s",
                  verdict_words(rj_str(c, "verdict")), hc ? hc : "-",
                  rj_fmt(x, sizeof x, rj_num(h, "effect"), 3), mc ? mc : "-",
                  rj_fmt(y, sizeof y, rj_num(m, "effect"), 3),
                  rj_fmt(ch, sizeof ch, rj_num(c, "abs_change"), 3));
    if (cJSON_IsNumber(a) && cJSON_IsNumber(z))
        sj_buf_printf(b, " [%s, %s]", rj_fmt(lo, sizeof lo, a->valuedouble, 3),
                      rj_fmt(hi, sizeof hi, z->valuedouble, 3));
    sj_buf_printf(b, ")");
}

/* The items flagged on the machine scores (B/C, BB/CC) with their verdicts;
 * then the items whose human DIF the machine reduced. Returns the number
 * of items named. */
int rj_dif_vs_human_summary(sj_buf *b, const cJSON *doc, int html)
{
    int named = 0;
    const cJSON *c;
    cJSON_ArrayForEach(c, rj_get(doc, "dif_vs_human"))
    {
        if (rj_class_rank(rj_str(rj_get(c, "machine"), "class")) < 1)
            continue;
        sj_buf_printf(b, "%s", named++ ? "; " : "");
        item_words(b, c, html);
    }
    cJSON_ArrayForEach(c, rj_get(doc, "dif_vs_human"))
    {
        const char *v = rj_str(c, "verdict");
        if (rj_class_rank(rj_str(rj_get(c, "machine"), "class")) >= 1 || !v ||
            strcmp(v, "reduced") != 0)
            continue;
        sj_buf_printf(b, "%s", named++ ? "; " : "");
        item_words(b, c, html);
    }
    return named;
}

/* ---- the table of machine beside human DIF ------------------------------------- */

/* A value with its interval, "v [lo, hi]"; the value alone without one. */
static void effect_text(sj_buf *b, double v, double lo, double hi, int digits)
{
    char x[48], a[48], z[48];
    sj_buf_printf(b, "%s", rj_fmt(x, sizeof x, v, digits));
    if (!isnan(v) && !isnan(lo) && !isnan(hi))
        sj_buf_printf(b, " [%s, %s]", rj_fmt(a, sizeof a, lo, digits),
                      rj_fmt(z, sizeof z, hi, digits));
}

/* One side's effect cell and class cell, em dashes when the side lacks
 * the item. */
static void side_cells(sj_buf *b, const cJSON *item, int digits)
{
    rj_effect e;
    rj_dif_effect(item, &e);
    sj_buf_printf(b, "<td>");
    if (item)
        effect_text(b, e.value, e.lo, e.hi, digits);
    else
        sj_buf_printf(b, "\xe2\x80\x94");
    sj_buf_printf(b, "</td><td class=\"l\">");
    rj_class_badge(b, item ? e.cls : NULL);
    sj_buf_printf(b, "</td>");
}

static void comparison_row(sj_buf *b, const cJSON *doc, const cJSON *mi, int digits)
{
    const char *id = rj_str(mi, "item");
    const cJSON *c = rj_dif_vs_human_item(doc, id);
    const cJSON *hi = id ? rj_item_named(rj_path(doc, "human_dif", "items"), id) : NULL;
    sj_buf_printf(b, "<tr><td class=\"id\">");
    sj_html_escape(b, id ? id : "");
    sj_buf_printf(b, "</td>");
    side_cells(b, mi, digits);
    side_cells(b, hi, digits);
    const cJSON *ci = rj_get(c, "abs_change_ci");
    const cJSON *a = cJSON_GetArrayItem(ci, 0), *z = cJSON_GetArrayItem(ci, 1);
    sj_buf_printf(b, "<td>");
    effect_text(b, rj_num(c, "abs_change"), cJSON_IsNumber(a) ? a->valuedouble : NAN,
                cJSON_IsNumber(z) ? z->valuedouble : NAN, digits);
    const char *v = rj_str(c, "verdict");
    int warn = v && (strcmp(v, "introduced") == 0 || strcmp(v, "amplified") == 0);
    sj_buf_printf(b, "</td><td class=\"l%s\">%s</td></tr>\n", warn ? " warn" : "",
                  v ? v : "\xe2\x80\x94");
}

void rj_dif_vs_human_table(sj_buf *b, const cJSON *doc, int polytomous, const char *ci_label)
{
    const char *effect = polytomous ? "SMD/SD" : "\xce\x94<sub>MH</sub>";
    sj_buf_printf(b,
                  "<table><caption>Machine DIF beside the human scores' DIF</caption><thead><tr>"
                  "<th class=\"l\">Item</th><th>Machine %s [%s]</th><th class=\"l\">Class</th>"
                  "<th>Human %s [%s]</th><th class=\"l\">Class</th>"
                  "<th>|machine| \xe2\x88\x92 |human| [%s]</th><th class=\"l\">Verdict</th>"
                  "</tr></thead><tbody>\n",
                  effect, ci_label, effect, ci_label, ci_label);
    const cJSON *mi;
    cJSON_ArrayForEach(mi, rj_path(doc, "dif", "items"))
    {
        rj_effect e;
        rj_dif_effect(mi, &e);
        if (e.polytomous == polytomous)
            comparison_row(b, doc, mi, polytomous ? 3 : 2);
    }
    sj_buf_printf(b, "</tbody></table>\n");
}
