/* The study page: one self-contained HTML file written from study.json. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "report_internal.h"
#include "sjtalign/study.h"

static void pct_cell(sj_buf *b, double v)
{
    if (isfinite(v))
        rj_out(b, "<td>%.0f%%</td>", 100 * v);
    else
        rj_out(b, "<td><span class=\"muted\">\xe2\x80\x94</span></td>");
}

/* How a mean is shown: a share in percent, a value, or a signed change. */
typedef enum { SHOW_PERCENT, SHOW_VALUE, SHOW_CHANGE } show_kind;

static double ci_bound(const cJSON *m, int k)
{
    const cJSON *v = cJSON_GetArrayItem(rj_get(m, "mean_ci"), k);
    return cJSON_IsNumber(v) ? v->valuedouble : NAN;
}

/* "72%" over "[61%, 83%]": a mean with its 95% interval below it. */
static void mean_cell(sj_buf *b, const cJSON *m, show_kind kind)
{
    double v = rj_num(m, "mean"), lo = ci_bound(m, 0), hi = ci_bound(m, 1);
    if (!isfinite(v)) {
        rj_out(b, "<td><span class=\"muted\">\xe2\x80\x94</span></td>");
        return;
    }
    double scale = kind == SHOW_PERCENT ? 100 : 1;
    int digits = kind == SHOW_PERCENT ? 0 : 3;
    const char *unit = kind == SHOW_PERCENT ? "%" : "";
    const char *fmt = kind == SHOW_CHANGE ? "%+.*f%s" : "%.*f%s";
    rj_out(b, "<td>");
    rj_out(b, fmt, digits, scale * v, unit);
    if (isfinite(lo) && isfinite(hi)) {
        rj_out(b, "<br><span class=\"muted\">[");
        rj_out(b, fmt, digits, scale * lo, unit);
        rj_out(b, ", ");
        rj_out(b, fmt, digits, scale * hi, unit);
        rj_out(b, "]</span>");
    }
    rj_out(b, "</td>");
}

static void status_badge(sj_buf *b, const char *status)
{
    const char *cls = !status                         ? "muted"
                      : strcmp(status, "met") == 0    ? "ok"
                      : strcmp(status, "missed") == 0 ? "bad"
                                                      : "muted";
    rj_out(b, "<span class=\"%s\">", cls);
    rj_text(b, status ? status : "n/a");
    rj_out(b, "</span>");
}

static void summary_section(sj_buf *b, const cJSON *doc)
{
    const cJSON *counts = rj_get(doc, "counts");
    rj_out(b, "<section id=\"summary\"><h2>Summary</h2>\n<div class=\"summary\"><ul>\n");
    rj_out(b,
           "<li>%.0f replications: %.0f ran now, %.0f were up to date, %.0f failed, %.0f "
           "interrupted, %.0f not run",
           rj_num(counts, "replications"), rj_num(counts, "ran"), rj_num(counts, "up_to_date"),
           rj_num(counts, "failed"), rj_num(counts, "interrupted"), rj_num(counts, "not_run"));
    if (rj_num(counts, "failed") > 0 || rj_num(counts, "unreadable") > 0)
        rj_out(b, " <span class=\"bad\">(failed replications are left out of every figure "
                  "below; their logs are listed at the end)</span>");
    rj_out(b, ".</li>\n");
    const cJSON *line;
    cJSON_ArrayForEach(line, rj_get(doc, "summary_text"))
    {
        rj_out(b, "<li>");
        rj_text(b, cJSON_IsString(line) ? line->valuestring : "");
        rj_out(b, "</li>\n");
    }
    rj_out(b, "</ul></div>\n</section>\n");
}

static void targets_section(sj_buf *b, const cJSON *doc)
{
    rj_out(b, "<section id=\"targets\"><h2>Targets</h2>\n<p>Each aligned scorer of each "
              "condition against the targets of the study (issue 17); a missed target is "
              "marked in red.</p>\n<table><thead><tr><th class=\"l\">Condition</th><th "
              "class=\"l\">Scorer</th><th class=\"l\">Target</th><th>Value</th><th "
              "class=\"l\">Status</th></tr></thead><tbody>\n");
    const cJSON *t;
    cJSON_ArrayForEach(t, rj_get(doc, "targets"))
    {
        const char *name = rj_str(t, "target");
        int count = name && strcmp(name, "truth_qwk_not_below_sft") == 0;
        rj_out(b, "<tr><td class=\"l\">");
        rj_text(b, rj_str(t, "condition"));
        rj_out(b, "</td><td class=\"l\">");
        rj_text(b, rj_str(t, "model"));
        rj_out(b, "</td><td class=\"l\">");
        rj_text(b, rj_str(t, "rule"));
        rj_out(b, "</td>");
        double v = rj_num(t, "value");
        if (count && isfinite(v))
            rj_out(b, "<td>%.0f below</td>", v);
        else
            pct_cell(b, v);
        rj_out(b, "<td class=\"l\">");
        status_badge(b, rj_str(t, "status"));
        rj_out(b, "</td></tr>\n");
    }
    rj_out(b, "</tbody></table>\n</section>\n");
}

/* ---- the forest plot ------------------------------------------------------------- */

typedef struct {
    size_t n;
    char **names;       /* "condition · item" */
    const char **conds; /* the row's condition */
    const char **items; /* the row's item */
} forest_rows;

static void forest_rows_free(forest_rows *r)
{
    for (size_t i = 0; i < r->n; i++)
        free(r->names[i]);
    free(r->names);
    free(r->conds);
    free(r->items);
}

/* One row per biased item of each condition, from the SFT entries. */
static int forest_rows_build(const cJSON *summary, forest_rows *r)
{
    size_t cap = 0;
    const cJSON *u, *it;
    cJSON_ArrayForEach(u, summary)
    {
        cap += (size_t)cJSON_GetArraySize(rj_get(u, "biased_items"));
    }
    memset(r, 0, sizeof *r);
    r->names = calloc(cap + 1, sizeof *r->names);
    r->conds = calloc(cap + 1, sizeof *r->conds);
    r->items = calloc(cap + 1, sizeof *r->items);
    if (!r->names || !r->conds || !r->items)
        return -1;
    cJSON_ArrayForEach(u, summary)
    {
        const char *model = rj_str(u, "model");
        if (!model || strcmp(model, SJ_STUDY_MODEL_LABELS[0]) != 0)
            continue;
        cJSON_ArrayForEach(it, rj_get(u, "biased_items"))
        {
            r->conds[r->n] = rj_str(u, "condition");
            r->items[r->n] = rj_str(it, "item");
            r->names[r->n] = sj_asprintf("%s \xc2\xb7 %s", r->conds[r->n] ? r->conds[r->n] : "?",
                                         r->items[r->n] ? r->items[r->n] : "?");
            if (!r->names[r->n++])
                return -1;
        }
    }
    return 0;
}

static long forest_row(const forest_rows *r, const char *cond, const char *item)
{
    for (size_t i = 0; cond && item && i < r->n; i++)
        if (r->conds[i] && r->items[i] && strcmp(r->conds[i], cond) == 0 &&
            strcmp(r->items[i], item) == 0)
            return (long)i;
    return -1;
}

/* The extent of the x axis: every interval, 0 and 100% in view, but no
 * further left than -100% (a reduction cannot exceed 100%; an interval
 * reaching beyond -100% is cut at the axis, as the caption says). */
static void forest_extent(const cJSON *summary, double *lo, double *hi)
{
    *lo = 0;
    *hi = 100;
    const cJSON *u, *it;
    cJSON_ArrayForEach(u, summary)
    {
        cJSON_ArrayForEach(it, rj_get(u, "biased_items"))
        {
            const cJSON *ci = rj_path(it, "reduction", "mean_ci");
            double m = rj_num(rj_get(it, "reduction"), "mean");
            for (int k = -1; k < 2; k++) {
                const cJSON *v = k < 0 ? NULL : cJSON_GetArrayItem(ci, k);
                double x = k < 0 ? m : cJSON_IsNumber(v) ? v->valuedouble : NAN;
                if (isfinite(x)) {
                    *lo = fmax(fmin(*lo, 100 * x), -100);
                    *hi = fmin(fmax(*hi, 100 * x), 100);
                }
            }
        }
    }
}

static void forest_marks(sj_plot *p, const cJSON *summary, const forest_rows *rows)
{
    const cJSON *u, *it;
    cJSON_ArrayForEach(u, summary)
    {
        const char *model = rj_str(u, "model");
        int m = 0;
        for (int k = 1; k < SJ_STUDY_MODELS; k++)
            if (model && strcmp(model, SJ_STUDY_MODEL_LABELS[k]) == 0)
                m = k;
        if (m == 0)
            continue;
        cJSON_ArrayForEach(it, rj_get(u, "biased_items"))
        {
            long row = forest_row(rows, rj_str(u, "condition"), rj_str(it, "item"));
            const cJSON *red = rj_get(it, "reduction");
            const cJSON *ci = rj_get(red, "mean_ci");
            double mean = rj_num(red, "mean");
            if (row < 0 || !isfinite(mean))
                continue;
            double lo = cJSON_IsNumber(cJSON_GetArrayItem(ci, 0))
                            ? 100 * cJSON_GetArrayItem(ci, 0)->valuedouble
                            : NAN;
            double hi = cJSON_IsNumber(cJSON_GetArrayItem(ci, 1))
                            ? 100 * cJSON_GetArrayItem(ci, 1)->valuedouble
                            : NAN;
            /* PPO just above the row's line, DPO just below. */
            sj_plot_point_ci(p, m == 1 ? SJ_SERIES_PPO : SJ_SERIES_DPO, 100 * mean,
                             (double)row + (m == 1 ? -0.15 : 0.15), lo, hi);
        }
    }
}

static void forest_section(sj_buf *b, const cJSON *doc)
{
    const cJSON *summary = rj_get(doc, "summary");
    forest_rows rows;
    rj_out(b, "<section id=\"forest\"><h2>Reduction of the injected bias</h2>\n");
    if (forest_rows_build(summary, &rows) != 0) {
        sj_buf_fail(b);
        forest_rows_free(&rows);
        return;
    }
    if (rows.n == 0) {
        rj_out(b, "<p>No condition has biased items.</p>\n</section>\n");
        forest_rows_free(&rows);
        return;
    }
    double lo, hi;
    forest_extent(summary, &lo, &hi);
    sj_plot *p =
        sj_plot_new(680, 70 + 34.0 * (double)rows.n, "Mean reduction of |SMD/SD| per biased item",
                    "Forest plot: for each condition and biased item, the mean "
                    "reduction of |SMD/SD| from SFT under PPO and DPO with 95% "
                    "t-intervals over replications");
    if (p) {
        sj_plot_left_margin(p, 170);
        sj_plot_axis_exact(p, SJ_AXIS_X, lo, hi, "reduction of |SMD/SD| from SFT (%)");
        sj_plot_categories(p, SJ_AXIS_Y, rows.n, (const char *const *)rows.names, "");
        sj_plot_band(p, SJ_AXIS_X, SJ_STUDY_REDUCTION_TARGET * 100, hi, RJ_BAND_A, "target");
        sj_plot_refline(p, SJ_AXIS_X, 0, "");
        sj_plot_refline(p, SJ_AXIS_X, 50, "halved");
        forest_marks(p, summary, &rows);
        const char *names[2] = {SJ_STUDY_MODEL_LABELS[1], SJ_STUDY_MODEL_LABELS[2]};
        size_t series[2] = {SJ_SERIES_PPO, SJ_SERIES_DPO};
        sj_plot_legend(p, 2, names, series);
    }
    rj_out(b, "<figure>");
    rj_svg(b, p);
    rj_out(b, "<figcaption>Each point is the mean over the replications in which SFT inherited "
              "the item's bias (flagged it) of (|SMD/SD| under SFT "
              "&minus; |SMD/SD| under the aligned scorer) / |SMD/SD| under SFT, with its 95%% "
              "t-interval; the shaded region is the target (a reduction of 70%% or more), the "
              "dashed line at 50%% marks a halved effect. The axis stops at &minus;100%% (the bias "
              "doubled); an interval reaching further is cut there, and a mean beyond it is in the "
              "tables below.</figcaption></figure>\n</section>\n");
    forest_rows_free(&rows);
}

/* ---- tables ----------------------------------------------------------------------- */

static void count_cell(sj_buf *b, const cJSON *obj, const char *key)
{
    double v = rj_num(obj, key);
    if (isfinite(v))
        rj_out(b, "<td>%.0f</td>", v);
    else
        rj_out(b, "<td><span class=\"muted\">\xe2\x80\x94</span></td>");
}

/* The first cells of a row of the tables by condition and scorer. */
static void figures_row_start(sj_buf *b, const cJSON *u)
{
    rj_out(b, "<tr><td class=\"l\">");
    rj_text(b, rj_str(u, "condition"));
    rj_out(b, "</td><td class=\"l\">");
    rj_text(b, rj_str(u, "model"));
    rj_out(b, "</td>");
    rj_out(b, "<td>%.0f", rj_num(u, "replications"));
    if (rj_num(u, "failed") > 0)
        rj_out(b, "<br><span class=\"bad\">%.0f failed</span>", rj_num(u, "failed"));
    rj_out(b, "</td>");
}

#define FIGURES_HEAD                                                                               \
    "<table><thead><tr><th class=\"l\">Condition</th><th class=\"l\">Scorer</th>"                  \
    "<th>Replications</th>"

/* Two tables, so that each fits the text column: the injected bias, then
 * the side effects (other items, agreement, KL). */
static void figures_section(sj_buf *b, const cJSON *doc)
{
    rj_out(b, "<section id=\"figures\"><h2>By condition and scorer</h2>\n<p>Means over the "
              "replications with figures, with 95%% t-intervals in brackets.</p>\n" FIGURES_HEAD
              "<th>Bias inherited by SFT</th><th>Mean reduction (inherited)</th><th>Mean "
              "reduction (all)</th><th>All halved</th></tr></thead><tbody>\n");
    const cJSON *u;
    cJSON_ArrayForEach(u, rj_get(doc, "summary"))
    {
        figures_row_start(b, u);
        pct_cell(b, rj_num(u, "inherited_share"));
        mean_cell(b, rj_get(u, "reduction"), SHOW_PERCENT);
        mean_cell(b, rj_get(u, "reduction_all"), SHOW_PERCENT);
        pct_cell(b, rj_num(u, "halved_share"));
        rj_out(b, "</tr>\n");
    }
    rj_out(b, "</tbody></table>\n<p class=\"note\">Bias inherited by SFT: the share of "
              "biased item &times; replication cells where the SFT scorer's audit flagged the "
              "biased item. A reduction of a bias SFT did not inherit divides noise by noise, so "
              "the mean reduction (inherited), All halved and the targets read only inherited "
              "biases; the mean reduction (all) reads every replication.</p>\n" FIGURES_HEAD
              "<th>Unbiased item flagged</th><th>Machine-made DIF</th><th>&Delta; QWK truth</th>"
              "<th>&Delta; QWK human</th><th>Truth QWK below SFT</th><th>Final KL</th>"
              "<th>Hacking</th></tr></thead><tbody>\n");
    cJSON_ArrayForEach(u, rj_get(doc, "summary"))
    {
        figures_row_start(b, u);
        pct_cell(b, rj_num(u, "unbiased_flagged_share"));
        pct_cell(b, rj_num(u, "machine_made_share"));
        mean_cell(b, rj_get(u, "qwk_truth_change"), SHOW_CHANGE);
        mean_cell(b, rj_get(u, "qwk_human_change"), SHOW_CHANGE);
        count_cell(b, u, "truth_qwk_below_sft");
        mean_cell(b, rj_get(u, "kl"), SHOW_VALUE);
        count_cell(b, u, "reward_hacking_warnings");
        rj_out(b, "</tr>\n");
    }
    rj_out(b, "</tbody></table>\n<p class=\"note\">Unbiased item flagged and machine-made DIF "
              "give the share of replications with at least one such item; machine-made DIF is "
              "flagged in the scorer's scores but neither in the human nor in the true scores. "
              "QWK changes are the scorer's minus SFT's in the same replication. Hacking counts "
              "the replications whose PPO log shows the reward-hacking pattern.</p>\n</section>\n");
}

static void item_rows(sj_buf *b, const cJSON *u)
{
    const cJSON *it;
    cJSON_ArrayForEach(it, rj_get(u, "biased_items"))
    {
        rj_out(b, "<tr><td class=\"l\">");
        rj_text(b, rj_str(u, "condition"));
        rj_out(b, "</td><td class=\"l\">");
        rj_text(b, rj_str(it, "item"));
        rj_out(b, "</td><td class=\"l\">");
        rj_text(b, rj_str(u, "model"));
        rj_out(b, "</td>");
        mean_cell(b, rj_get(it, "abs_smd_over_sd_sft"), SHOW_VALUE);
        mean_cell(b, rj_get(it, "abs_smd_over_sd"), SHOW_VALUE);
        pct_cell(b, rj_num(it, "inherited_share"));
        mean_cell(b, rj_get(it, "reduction"), SHOW_PERCENT);
        mean_cell(b, rj_get(it, "reduction_all"), SHOW_PERCENT);
        pct_cell(b, rj_num(it, "halved_share"));
        rj_out(b, "</tr>\n");
    }
}

static void items_section(sj_buf *b, const cJSON *doc)
{
    rj_out(b, "<section id=\"items\"><h2>Biased items</h2>\n<table><thead><tr><th "
              "class=\"l\">Condition</th><th class=\"l\">Item</th><th class=\"l\">Scorer</th>"
              "<th>|SMD/SD| SFT</th><th>|SMD/SD| scorer</th><th>Inherited by SFT</th><th>Mean "
              "reduction (inherited)</th><th>Mean reduction (all)</th><th>Halved"
              "</th></tr></thead><tbody>\n");
    const cJSON *u;
    cJSON_ArrayForEach(u, rj_get(doc, "summary"))
    {
        const char *model = rj_str(u, "model");
        if (model && strcmp(model, SJ_STUDY_MODEL_LABELS[0]) != 0)
            item_rows(b, u);
    }
    rj_out(b, "</tbody></table>\n</section>\n");
}

static void replications_section(sj_buf *b, const cJSON *doc)
{
    rj_out(b, "<section id=\"replications\"><h2>Replications</h2>\n<table><thead><tr><th "
              "class=\"l\">Condition</th><th>Seed</th><th class=\"l\">Status</th><th>Seconds"
              "</th><th class=\"l\">Human flagged</th><th class=\"l\">Truth flagged</th><th "
              "class=\"l\">Log / error</th></tr></thead><tbody>\n");
    const cJSON *r;
    cJSON_ArrayForEach(r, rj_get(doc, "replications"))
    {
        const char *status = rj_str(r, "status");
        int bad = status && (strcmp(status, "failed") == 0 || rj_str(r, "error"));
        rj_out(b, "<tr><td class=\"l\">");
        rj_text(b, rj_str(r, "condition"));
        rj_out(b, "</td>");
        count_cell(b, r, "seed");
        rj_out(b, "<td class=\"l\"><span class=\"%s\">", bad ? "bad" : "ok");
        rj_text(b, status);
        rj_out(b, "</span></td>");
        sj_html_number_cell(b, rj_num(r, "seconds"), 1, NULL);
        rj_out(b, "<td class=\"l\">");
        rj_text(b, rj_str(r, "human_flagged") ? rj_str(r, "human_flagged") : "none");
        rj_out(b, "</td><td class=\"l\">");
        rj_text(b, rj_str(r, "truth_flagged") ? rj_str(r, "truth_flagged") : "none");
        rj_out(b, "</td><td class=\"id\">");
        if (bad)
            rj_text(b, rj_str(r, "error") ? rj_str(r, "error") : rj_str(r, "log"));
        rj_out(b, "</td></tr>\n");
    }
    rj_out(b, "</tbody></table>\n</section>\n");
}

static void method_section(sj_buf *b, const cJSON *doc)
{
    const cJSON *set = rj_get(doc, "settings");
    rj_out(b, "<section id=\"method\"><h2>How the figures are made</h2>\n<dl class=\"kv\">");
    static const char *const keys[] = {"effect", "reduction", "machine_made", "interval"};
    static const char *const names[] = {"Effect", "Reduction", "Machine-made DIF", "Interval"};
    for (size_t i = 0; i < sizeof keys / sizeof *keys; i++) {
        rj_out(b, "<dt>%s</dt><dd>", names[i]);
        rj_text(b, rj_str(set, keys[i]));
        rj_out(b, "</dd>");
    }
    rj_out(b, "<dt>Study file</dt><dd><code>");
    rj_text(b, rj_str(set, "study_file"));
    rj_out(b, "</code></dd><dt>Folder</dt><dd><code>");
    rj_text(b, rj_str(set, "out"));
    rj_out(b, "</code></dd></dl>\n</section>\n");
}

sj_status sj_study_html(const cJSON *doc, sj_buf *out, sj_error *err)
{
    sj_buf sub = {0};
    const cJSON *counts = rj_get(doc, "counts");
    sj_buf_printf(&sub, "%.0f replications over %d conditions \xc2\xb7 ",
                  rj_num(counts, "replications"),
                  cJSON_GetArraySize(rj_path(doc, "settings", "conditions")));
    sj_html_escape(&sub, rj_str(rj_path(doc, "provenance"), "created"));
    if (sj_buf_failed(&sub))
        sj_buf_fail(out);
    else
        sj_html_begin(out, "Replication study:", rj_str(doc, "name"), sub.data);
    sj_buf_free(&sub);
    summary_section(out, doc);
    targets_section(out, doc);
    forest_section(out, doc);
    figures_section(out, doc);
    items_section(out, doc);
    replications_section(out, doc);
    method_section(out, doc);
    sj_html_end(out);
    return sj_buf_failed(out) ? sj_error_set(err, SJ_ERR_WORK, "out of memory writing the page")
                              : SJ_OK;
}
