/* The audit page's reviewer parts: score levels by group, the flagged
 * items' empirical curves and the response sample (audit_review.h). */
#include "audit_review.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const ROLE[2] = {"reference", "focal"};

/* Whether a row of one of the review tables matches every given field
 * (NULL: any). */
static int row_is(const cJSON *row, const char *key1, const char *v1, const char *key2,
                  const char *v2, const char *key3, const char *v3)
{
    const char *keys[3] = {key1, key2, key3}, *values[3] = {v1, v2, v3};
    for (int k = 0; k < 3; k++) {
        const char *s = keys[k] ? rj_str(row, keys[k]) : NULL;
        if (keys[k] && values[k] && (!s || strcmp(s, values[k]) != 0))
            return 0;
    }
    return 1;
}

static const char *fmt_pct(char *buf, size_t n, double share)
{
    char num[32];
    if (isnan(share))
        return rj_fmt(buf, n, NAN, 0);
    snprintf(buf, n, "%s%%", rj_fmt(num, sizeof num, 100 * share, 1));
    return buf;
}

/* ---- score levels ------------------------------------------------------------------ */

/* The pooled share of `role` at `level` by `scorer`; NaN when absent. */
static double pooled_share(const cJSON *rows, const char *scorer, const char *role, double level)
{
    const cJSON *row;
    cJSON_ArrayForEach(row, rows)
    {
        if (row_is(row, "scorer", scorer, "item", "all", "role", role) &&
            rj_num(row, "level") == level)
            return rj_num(row, "share");
    }
    return NAN;
}

static int has_scorer(const cJSON *levels, const char *scorer)
{
    const cJSON *s;
    cJSON_ArrayForEach(s, rj_get(levels, "scorers"))
    {
        if (cJSON_IsString(s) && strcmp(s->valuestring, scorer) == 0)
            return 1;
    }
    return 0;
}

/* A percentage axis's top: the largest share rounded up to the next 10%
 * (at least 10%), so that pages of similar data share a scale. */
static double percent_top(double largest_share)
{
    double top = 10 * ceil(100 * largest_share / 10 - 1e-9);
    return top < 10 ? 10 : top > 100 ? 100 : top;
}

static void levels_chart(sj_buf *b, const cJSON *levels, const char *scorer, double top,
                         const char *const names[2])
{
    const cJSON *lv = rj_get(levels, "levels");
    int n = cJSON_GetArraySize(lv);
    char title[96];
    snprintf(title, sizeof title, "%s scores: share of each group at each level",
             strcmp(scorer, "machine") == 0 ? "Machine"
             : strcmp(scorer, "human") == 0 ? "Human"
                                            : "True");
    sj_plot *p = sj_plot_new(330, 240, title,
                             "Percent of each group's scored responses at each score level, "
                             "reference and focal bars side by side.");
    if (!p) {
        sj_buf_fail(b);
        return;
    }
    double lo = cJSON_GetArrayItem(lv, 0)->valuedouble;
    double hi = cJSON_GetArrayItem(lv, n - 1)->valuedouble;
    sj_plot_axis_exact(p, SJ_AXIS_X, lo - 0.5, hi + 0.5,
                       title[0] == 'M'   ? "Machine score"
                       : title[0] == 'H' ? "Human score"
                                         : "True score");
    sj_plot_axis_exact(p, SJ_AXIS_Y, 0, top, "Percent of group");
    for (int role = 0; role < 2; role++)
        for (int k = 0; k < n; k++) {
            double level = cJSON_GetArrayItem(lv, k)->valuedouble;
            double share = pooled_share(rj_get(levels, "rows"), scorer, ROLE[role], level);
            sj_plot_bar(p, (size_t)role, level, 100 * share, 0.38, role ? 0.2 : -0.2);
        }
    size_t series[2] = {0, 1};
    sj_plot_legend(p, 2, (const char *const *)names, series);
    rj_svg(b, p);
}

void rj_review_levels_html(sj_buf *b, const cJSON *doc, int *figure_no)
{
    const cJSON *levels = rj_get(doc, "score_levels");
    const cJSON *lv = rj_get(levels, "levels");
    const cJSON *rows = rj_get(levels, "rows");
    int n = cJSON_GetArraySize(lv);
    if (n == 0 || n > 20)
        return;
    const cJSON *set = rj_get(doc, "settings");
    const char *names[2] = {rj_str(set, "reference"), rj_str(set, "focal")};
    static const char *const scorers[3] = {"human", "machine", "true"};
    static const char *const heads[3] = {"human", "machine", "true"};
    int has[3];
    double largest = 0;
    for (int s = 0; s < 3; s++)
        has[s] = has_scorer(levels, scorers[s]);
    rj_out(b,
           "<h3>Score levels by group</h3>\n<p>Each response counted once, pooled over the "
           "items: the share of each group's responses at each score level%s. "
           "score_levels.csv has the same table per item.</p>\n",
           has[0] ? ", by the human raters (score of record) and by the machine (modal score)"
                  : " by the machine (modal score); no human scores were given");
    rj_out(b, "<table><caption>Share of each group at each score level</caption><thead><tr>"
              "<th class=\"l\">Level</th>");
    for (int role = 0; role < 2; role++)
        for (int s = 0; s < 3; s++)
            if (has[s]) {
                rj_out(b, "<th>");
                rj_text(b, names[role]);
                rj_out(b, " %s</th>", heads[s]);
            }
    rj_out(b, "</tr></thead><tbody>\n");
    for (int k = 0; k < n; k++) {
        double level = cJSON_GetArrayItem(lv, k)->valuedouble;
        char x[48];
        rj_out(b, "<tr><th class=\"l\">%.0f</th>", level);
        for (int role = 0; role < 2; role++)
            for (int s = 0; s < 3; s++) {
                if (!has[s])
                    continue;
                double share = pooled_share(rows, scorers[s], ROLE[role], level);
                if (s < 2 && isfinite(share))
                    largest = fmax(largest, share);
                rj_out(b, "<td>%s</td>", fmt_pct(x, sizeof x, share));
            }
        rj_out(b, "</tr>\n");
    }
    rj_out(b, "</tbody></table>\n");
    double top = percent_top(largest);
    rj_out(b, "<figure><div class=\"pair\">");
    for (int s = 0; s < 2; s++)
        if (has[s])
            levels_chart(b, levels, scorers[s], top, names);
    rj_out(b,
           "</div><figcaption>Figure %d. Share of each group's responses at each score level%s, "
           "pooled over the items (reference left, focal right in each pair of bars). The y "
           "axis runs from 0 to %.0f%%: the largest share rounded up to the next 10%%, the same "
           "in both panels.</figcaption></figure>\n",
           (*figure_no)++, has[0] ? ", human scores (left) and machine scores (right)" : "", top);
}

/* ---- item curves ------------------------------------------------------------------- */

/* The matching-score range of an item's rows (both scorers). */
static int curve_range(const cJSON *rows, const char *item, double *lo, double *hi)
{
    *lo = INFINITY;
    *hi = -INFINITY;
    const cJSON *row;
    cJSON_ArrayForEach(row, rows)
    {
        if (!row_is(row, "item", item, NULL, NULL, NULL, NULL))
            continue;
        double m = rj_num(row, "matching_score");
        *lo = fmin(*lo, m);
        *hi = fmax(*hi, m);
    }
    return isfinite(*lo) && isfinite(*hi);
}

/* One line with markers per group: the points resting on at least `min`
 * persons, a gap where a matching score has fewer. */
static void curve_lines(sj_plot *p, const cJSON *rows, const char *item, const char *scorer,
                        double lo, double hi, double min)
{
    size_t n = (size_t)(hi - lo + 1);
    double *x = malloc(n * sizeof *x), *y = malloc(n * sizeof *y);
    for (int role = 0; role < 2 && x && y; role++) {
        for (size_t k = 0; k < n; k++) {
            x[k] = lo + (double)k;
            y[k] = NAN;
        }
        const cJSON *row;
        cJSON_ArrayForEach(row, rows)
        {
            double m = rj_num(row, "matching_score");
            if (row_is(row, "item", item, "scorer", scorer, "role", ROLE[role]) &&
                rj_num(row, "n") >= min && m >= lo && m <= hi)
                y[(size_t)(m - lo)] = rj_num(row, "mean_item_score");
        }
        sj_plot_line(p, (size_t)role, n, x, y);
        for (size_t k = 0; k < n; k++)
            sj_plot_point_ci(p, (size_t)role, x[k], y[k], NAN, NAN);
    }
    free(x);
    free(y);
}

static void curve_chart(sj_buf *b, const cJSON *doc, const char *item, const char *scorer,
                        double lo, double hi)
{
    const cJSON *curves = rj_get(doc, "item_curves");
    const cJSON *ins = rj_get(doc, "instrument");
    const cJSON *set = rj_get(doc, "settings");
    const char *names[2] = {rj_str(set, "reference"), rj_str(set, "focal")};
    int machine = strcmp(scorer, "machine") == 0;
    sj_plot *p = sj_plot_new(330, 250,
                             machine ? "Machine scores: mean item score by matching score"
                                     : "Human scores: mean item score by matching score",
                             "Mean score on the item of the persons of each group at each "
                             "matching score; one line per group.");
    if (!p) {
        sj_buf_fail(b);
        return;
    }
    sj_plot_axis(p, SJ_AXIS_X, lo, hi,
                 machine ? "Matching score (machine totals)" : "Matching score (human totals)");
    sj_plot_axis_exact(p, SJ_AXIS_Y, rj_num(ins, "score_min"), rj_num(ins, "score_max"),
                       machine ? "Mean machine item score" : "Mean human item score");
    curve_lines(p, rj_get(curves, "rows"), item, scorer, lo, hi,
                rj_num(curves, "min_persons_plotted"));
    size_t series[2] = {0, 1};
    sj_plot_legend(p, 2, names, series);
    rj_svg(b, p);
}

void rj_review_curves_html(sj_buf *b, const cJSON *doc, int *figure_no)
{
    const cJSON *curves = rj_get(doc, "item_curves");
    const cJSON *plotted = rj_get(curves, "plotted");
    if (cJSON_GetArraySize(plotted) == 0)
        return;
    const char *match = rj_str(curves, "match");
    int rest = match && strcmp(match, "rest") == 0;
    rj_out(b,
           "<h3>Item score against the matching score</h3>\n<p>For each flagged item (class "
           "B/C or BB/CC in the machine's or the human scores' DIF), the mean item score of each "
           "group at each matching score: the %s score over the DIF's matching items%s, of the "
           "persons who answered every item. Where the lines part, persons of equal matching "
           "score get different item scores. Points resting on fewer than %.0f persons of a "
           "group are left out (item_curves.csv has them all).</p>\n",
           rest ? "rest" : "total", rest ? " without the studied item" : "",
           rj_num(curves, "min_persons_plotted"));
    const cJSON *e;
    cJSON_ArrayForEach(e, plotted)
    {
        const char *item = rj_str(e, "item");
        double lo, hi;
        if (!item || !curve_range(rj_get(curves, "rows"), item, &lo, &hi))
            continue;
        int human = 0;
        const cJSON *row;
        cJSON_ArrayForEach(row, rj_get(curves, "rows"))
        {
            human |= row_is(row, "item", item, "scorer", "human", NULL, NULL);
        }
        rj_out(b, "<figure><div class=\"pair\">");
        curve_chart(b, doc, item, "machine", lo, hi);
        if (human)
            curve_chart(b, doc, item, "human", lo, hi);
        rj_out(b, "</div><figcaption>Figure %d. Item <strong>", (*figure_no)++);
        rj_text(b, item);
        rj_out(b, "</strong> (");
        rj_text(b, rj_str(e, "reason"));
        rj_out(b,
               "): mean item score by matching score, reference (solid, circles) and focal "
               "(dashed, squares)%s.</figcaption></figure>\n",
               human ? "; machine scores left, human scores right, each matched on its own "
                       "totals"
                     : "");
    }
}

/* ---- the response sample ----------------------------------------------------------- */

static void sample_cells(sj_buf *b, const cJSON *row, int has_human, int has_true)
{
    char x[48];
    rj_out(b, "<td class=\"l\">%s</td><td class=\"id\">", rj_str(row, "role"));
    rj_text(b, rj_str(row, "person"));
    rj_out(b, "</td><td>%s</td>", rj_fmt(x, sizeof x, rj_num(row, "matching_score"), 0));
    rj_out(b, "<td>%s</td>", rj_fmt(x, sizeof x, rj_num(row, "machine_score"), 0));
    if (has_human)
        rj_out(b, "<td>%s</td>", rj_fmt(x, sizeof x, rj_num(row, "human_score"), 0));
    if (has_true)
        rj_out(b, "<td>%s</td>", rj_fmt(x, sizeof x, rj_num(row, "true_score"), 0));
    rj_out(b, "<td class=\"l\">");
    const char *text = rj_str(row, "response");
    if (text)
        rj_text(b, text);
    else
        rj_out(b, "<span class=\"muted\">no text column</span>");
    rj_out(b, "</td></tr>\n");
}

static void sample_table(sj_buf *b, const cJSON *rows, const char *item, const char *kind,
                         int has_human, int has_true)
{
    int any = 0;
    const cJSON *row;
    cJSON_ArrayForEach(row, rows)
    {
        if (!row_is(row, "item", item, "kind", kind, NULL, NULL))
            continue;
        if (!any++)
            rj_out(b,
                   "<table><caption>%s</caption><thead><tr><th>%s</th><th class=\"l\">Group</th>"
                   "<th class=\"l\">Person</th><th>Matching score</th><th>Machine</th>%s%s"
                   "<th class=\"l\">Response</th></tr></thead><tbody>\n",
                   strcmp(kind, "matched") == 0
                       ? "Focal and reference responses at equal matching score"
                       : "Largest machine\xe2\x80\x93human disagreements",
                   strcmp(kind, "matched") == 0 ? "Pair" : "Rank",
                   has_human ? "<th>Human</th>" : "", has_true ? "<th>True</th>" : "");
        rj_out(b, "<tr><td>%.0f</td>", rj_num(row, "set"));
        sample_cells(b, row, has_human, has_true);
    }
    if (any)
        rj_out(b, "</tbody></table>\n");
}

void rj_review_sample_html(sj_buf *b, const cJSON *doc, int no)
{
    const cJSON *sample = rj_get(doc, "response_sample");
    const cJSON *plotted = rj_path(doc, "item_curves", "plotted");
    const cJSON *rows = rj_get(sample, "rows");
    int has_human = cJSON_IsObject(rj_get(doc, "agreement"));
    int has_true = cJSON_IsObject(rj_get(doc, "truth_agreement"));
    rj_out(b, "<section id=\"sample\"><h2>%d. Responses for content review</h2>\n", no);
    if (cJSON_GetArraySize(plotted) == 0 || !cJSON_IsObject(sample)) {
        rj_out(b, "<p class=\"muted\">No item to sample.</p></section>\n");
        return;
    }
    rj_out(b,
           "<p>For a content panel: for each item plotted above, up to %d pairs of a focal and "
           "a reference response with the same matching score (the strata nearest the focal "
           "group's quartiles of the matching score; in each the first person of each group "
           "by person id)%s. The same rows are in response_sample.csv; to review blind to "
           "group membership, give the panel that file without its group and role "
           "columns.</p>\n",
           RJ_SAMPLE_PAIRS,
           has_human ? ", then each group's responses with the largest difference between the "
                       "machine and the human score (at least 1 point)"
                     : "");
    const char *column = rj_str(sample, "text_column");
    if (!column)
        rj_out(b, "<p class=\"note\">The scores file has no response text column, so only the "
                  "scores are shown.</p>\n");
    const cJSON *e;
    cJSON_ArrayForEach(e, plotted)
    {
        const char *item = rj_str(e, "item");
        if (!item)
            continue;
        rj_out(b, "<h3>Item ");
        rj_text(b, item);
        rj_out(b, " <span class=\"muted\">(");
        rj_text(b, rj_str(e, "reason"));
        rj_out(b, ")</span></h3>\n");
        sample_table(b, rows, item, "matched", has_human, has_true);
        sample_table(b, rows, item, "disagreement", has_human, has_true);
    }
    rj_out(b, "</section>\n");
}
