/* The expert panel on the compare page: the panel.json that `sjtalign
 * reward` writes beside its model (how often the judges agreed, whether a
 * judge prefers the higher score for one group's responses, how the
 * reward model weighed them), checked on reading and shown in plain words.
 * Every string from the file is escaped on the page and neutralised in
 * the CSV. */
#include "report_internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PANEL_SCHEMA_VERSION 1

/* The number at index i of an array; NaN for null or anything else. */
static double num_at(const cJSON *array, int i)
{
    const cJSON *v = cJSON_GetArrayItem(array, i);
    return cJSON_IsNumber(v) ? v->valuedouble : NAN;
}

/* ---- reading ------------------------------------------------------------------ */

static int number_or_null(const cJSON *v)
{
    return !v || cJSON_IsNumber(v) || cJSON_IsNull(v);
}

static int strings_or_absent(const cJSON *v)
{
    if (!v || cJSON_IsNull(v))
        return 1;
    if (!cJSON_IsArray(v))
        return 0;
    const cJSON *s;
    cJSON_ArrayForEach(s, v)
    {
        if (!cJSON_IsString(s))
            return 0;
    }
    return 1;
}

/* A judge entry: the name a string, the figures numbers or null, the
 * interval two of them, the flags strings. Returns the offending member,
 * or NULL. */
static const char *judge_defect(const cJSON *j)
{
    static const char *const numbers[] = {"judgments",
                                          "ties",
                                          "overlap_judgments",
                                          "majority_compared",
                                          "group_p_holm",
                                          "majority_agreement",
                                          "higher_pref_focal",
                                          "n_focal",
                                          "higher_pref_reference",
                                          "n_reference",
                                          "group_difference",
                                          "group_p",
                                          "weight"};
    if (!cJSON_IsObject(j))
        return "(not an object)";
    if (!cJSON_IsString(rj_get(j, "judge")))
        return "judge";
    for (size_t i = 0; i < sizeof numbers / sizeof *numbers; i++)
        if (!number_or_null(rj_get(j, numbers[i])))
            return numbers[i];
    const cJSON *ci = rj_get(j, "group_difference_ci");
    if (ci && !cJSON_IsNull(ci) &&
        (!cJSON_IsArray(ci) || cJSON_GetArraySize(ci) != 2 ||
         !number_or_null(cJSON_GetArrayItem(ci, 0)) || !number_or_null(cJSON_GetArrayItem(ci, 1))))
        return "group_difference_ci";
    if (!strings_or_absent(rj_get(j, "flags")))
        return "flags";
    return NULL;
}

static sj_status check_panel(const cJSON *doc, const char *path, sj_error *err)
{
    const char *kind = rj_str(doc, "kind");
    if (!cJSON_IsObject(doc) || !kind || strcmp(kind, "sjtalign-panel") != 0)
        return sj_error_at(err, SJ_ERR_INPUT, path, 0, 0,
                           "not a panel document (kind \"sjtalign-panel\", written by `sjtalign "
                           "reward` as panel.json)");
    if (rj_num(doc, "schema_version") != PANEL_SCHEMA_VERSION)
        return sj_error_at(err, SJ_ERR_INPUT, path, 0, 0,
                           "panel schema version %g; this sjtalign reads version %d",
                           rj_num(doc, "schema_version"), PANEL_SCHEMA_VERSION);
    static const char *const counts[] = {"pairs", "judgments", "ties", "overlap_pairs"};
    for (size_t i = 0; i < sizeof counts / sizeof *counts; i++)
        if (!number_or_null(rj_get(doc, counts[i])))
            return sj_error_at(err, SJ_ERR_INPUT, path, 0, 0, "'%s' must be a number", counts[i]);
    const cJSON *alpha = rj_get(doc, "alpha");
    if (alpha && !cJSON_IsNull(alpha) &&
        (!cJSON_IsObject(alpha) || !number_or_null(rj_get(alpha, "value")) ||
         !number_or_null(rj_get(alpha, "n_pairs"))))
        return sj_error_at(err, SJ_ERR_INPUT, path, 0, 0,
                           "'alpha' must be an object with a number or null 'value'");
    if (!cJSON_IsArray(rj_get(doc, "judges")))
        return sj_error_at(err, SJ_ERR_INPUT, path, 0, 0, "'judges' must be an array");
    int i = 0;
    const cJSON *j;
    cJSON_ArrayForEach(j, rj_get(doc, "judges"))
    {
        const char *bad = judge_defect(j);
        if (bad)
            return sj_error_at(err, SJ_ERR_INPUT, path, 0, 0,
                               "judges[%d]: '%s' has the wrong type (judge a string, figures "
                               "numbers or null, flags strings)",
                               i, bad);
        i++;
    }
    const cJSON *weighting = rj_get(doc, "weighting");
    if ((weighting && !cJSON_IsString(weighting) && !cJSON_IsNull(weighting)) ||
        !strings_or_absent(rj_get(doc, "summary")))
        return sj_error_at(err, SJ_ERR_INPUT, path, 0, 0,
                           "'weighting' must be a string and 'summary' an array of strings");
    return SJ_OK;
}

cJSON *rj_panel_load(const char *path, sj_error *err)
{
    cJSON *doc = sj_json_read(path, err);
    if (!doc) {
        err->status = SJ_ERR_INPUT;
        return NULL;
    }
    if (check_panel(doc, path, err) != SJ_OK) {
        cJSON_Delete(doc);
        return NULL;
    }
    return doc;
}

/* ---- plain words ------------------------------------------------------------------ */

const char *rj_alpha_reading(double alpha)
{
    if (isnan(alpha))
        return "not computed";
    if (alpha >= 0.8)
        return "reliable";
    if (alpha >= 0.667)
        return "tentative";
    return "do not rely";
}

static const char *alpha_meaning(double alpha)
{
    if (isnan(alpha))
        return "no pair was judged by two or more judges, so the judges' agreement is unknown";
    if (alpha >= 0.8)
        return "the judges agree well enough to rely on the panel";
    if (alpha >= 0.667)
        return "the judges agree enough for tentative conclusions only";
    return "the judges agree too little to rely on the panel's preferences";
}

/* A flag in plain words: the codes panel.json writes, else the text as
 * given. */
static const char *flag_words(const char *flag)
{
    if (strcmp(flag, "disagrees_with_majority") == 0)
        return "disagrees with the majority";
    if (strcmp(flag, "group_preference") == 0)
        return "prefers the higher score for one group's responses";
    return flag;
}

static int flag_count(const cJSON *judge)
{
    return cJSON_GetArraySize(rj_get(judge, "flags"));
}

static int flagged_judges(const cJSON *panel)
{
    int n = 0;
    const cJSON *j;
    cJSON_ArrayForEach(j, rj_get(panel, "judges"))
    {
        n += flag_count(j) > 0;
    }
    return n;
}

/* "judge (flag; flag), judge (flag)". */
static void flagged_list(sj_buf *b, const cJSON *panel)
{
    int first = 1;
    const cJSON *j;
    cJSON_ArrayForEach(j, rj_get(panel, "judges"))
    {
        if (!flag_count(j))
            continue;
        sj_buf_printf(b, "%s%s (", first ? "" : ", ", rj_str(j, "judge"));
        const cJSON *f;
        int k = 0;
        cJSON_ArrayForEach(f, rj_get(j, "flags"))
        {
            sj_buf_printf(b, "%s%s", k++ ? "; " : "", flag_words(f->valuestring));
        }
        sj_buf_printf(b, ")");
        first = 0;
    }
}

void rj_panel_summary_line(sj_buf *b, const cJSON *panel)
{
    double alpha = rj_num(rj_get(panel, "alpha"), "value");
    sj_buf_printf(b,
                  "Expert panel: %.0f judgments of %.0f pairs by %d judges, %.0f ties; "
                  "Krippendorff's alpha ",
                  rj_num(panel, "judgments"), rj_num(panel, "pairs"),
                  cJSON_GetArraySize(rj_get(panel, "judges")), rj_num(panel, "ties"));
    if (isnan(alpha))
        sj_buf_printf(b, "not computed");
    else
        sj_buf_printf(b, "%.3f", alpha);
    sj_buf_printf(b,
                  " (%s; Krippendorff 2004: >= .800 reliable, .667 to .800 tentative, below "
                  "do not rely)",
                  rj_alpha_reading(alpha));
    if (flagged_judges(panel)) {
        sj_buf_printf(b, "; flagged judges: ");
        flagged_list(b, panel);
    } else {
        sj_buf_printf(b, "; no judge flagged");
    }
}

/* ---- the page ---------------------------------------------------------------------- */

void rj_panel_summary_html(sj_buf *b, const cJSON *panel)
{
    double alpha = rj_num(rj_get(panel, "alpha"), "value");
    int flagged = flagged_judges(panel);
    int weak = isnan(alpha) || alpha < 0.667;
    char x[48];
    rj_out(b, "<li%s>The expert panel: Krippendorff's alpha %s (%s)",
           weak || flagged ? " class=\"warn\"" : "", rj_fmt(x, sizeof x, alpha, 3),
           rj_alpha_reading(alpha));
    if (flagged) {
        rj_out(b, "; flagged judge%s: ", flagged > 1 ? "s" : "");
        sj_buf names = {0};
        flagged_list(&names, panel);
        if (sj_buf_failed(&names))
            sj_buf_fail(b);
        rj_text(b, names.data ? names.data : "");
        sj_buf_free(&names);
    } else {
        rj_out(b, "; no judge flagged");
    }
    rj_out(b, ".</li>\n");
}

static void alpha_paragraph(sj_buf *b, const cJSON *panel)
{
    const cJSON *a = rj_get(panel, "alpha");
    double alpha = rj_num(a, "value");
    char x[48];
    const char *cls = isnan(alpha)     ? "muted"
                      : alpha >= 0.8   ? "ok"
                      : alpha >= 0.667 ? "warn"
                                       : "bad";
    rj_out(b,
           "<p class=\"note\"><strong>Krippendorff's alpha %s</strong> over %s pairs judged by "
           "two or more judges: <span class=\"%s\">%s</span> \xe2\x80\x94 ",
           rj_fmt(x, sizeof x, alpha, 3), rj_fmt(x + 24, sizeof x - 24, rj_num(a, "n_pairs"), 0),
           cls, rj_alpha_reading(alpha));
    rj_out(b,
           "%s. Krippendorff (2004) relies on alpha &#8805; .800 and draws tentative "
           "conclusions only from .667 to .800; 1 is perfect agreement and 0 no more than "
           "chance. Categories: first preferred, second preferred, tie (nominal).</p>\n",
           alpha_meaning(alpha));
}

/* "0.620 (n 40)" for a share and its count. */
static void share_cell(sj_buf *b, double share, double n)
{
    char x[48], y[48];
    rj_out(b, "<td>%s <span class=\"muted\">(%s)</span></td>", rj_fmt(x, sizeof x, share, 3),
           rj_fmt(y, sizeof y, n, 0));
}

static void judge_row(sj_buf *b, const cJSON *j)
{
    char x[48], y[48], z[48];
    int flagged = flag_count(j) > 0;
    rj_out(b, "<tr%s><td class=\"l\">", flagged ? " class=\"warn\"" : "");
    rj_text(b, rj_str(j, "judge"));
    rj_out(b, "</td><td>%s</td><td>%s</td>", rj_fmt(x, sizeof x, rj_num(j, "judgments"), 0),
           rj_fmt(y, sizeof y, rj_num(j, "ties"), 0));
    /* The judgments compared with a majority of the others, where written. */
    double compared = rj_get(j, "majority_compared") ? rj_num(j, "majority_compared")
                                                     : rj_num(j, "overlap_judgments");
    share_cell(b, rj_num(j, "majority_agreement"), compared);
    share_cell(b, rj_num(j, "higher_pref_focal"), rj_num(j, "n_focal"));
    share_cell(b, rj_num(j, "higher_pref_reference"), rj_num(j, "n_reference"));
    const cJSON *ci = rj_get(j, "group_difference_ci");
    double lo = cJSON_GetArraySize(ci) == 2 ? num_at(ci, 0) : NAN;
    double hi = cJSON_GetArraySize(ci) == 2 ? num_at(ci, 1) : NAN;
    rj_out(b, "<td>%s [%s, %s]</td>", rj_fmt(x, sizeof x, rj_num(j, "group_difference"), 3),
           rj_fmt(y, sizeof y, lo, 3), rj_fmt(z, sizeof z, hi, 3));
    sj_html_format_p(rj_num(j, "group_p"), x, sizeof x);
    rj_out(b, "<td>%s", x);
    if (rj_get(j, "group_p_holm")) {
        sj_html_format_p(rj_num(j, "group_p_holm"), x, sizeof x);
        rj_out(b, " <span class=\"muted\">(Holm %s)</span>", x);
    }
    rj_out(b, "</td><td>%s</td><td class=\"l\">", rj_fmt(y, sizeof y, rj_num(j, "weight"), 3));
    const cJSON *f;
    int k = 0;
    cJSON_ArrayForEach(f, rj_get(j, "flags"))
    {
        rj_out(b, "%s", k++ ? "; " : "");
        rj_text(b, flag_words(f->valuestring));
    }
    if (!k)
        rj_out(b, "<span class=\"muted\">\xe2\x80\x94</span>");
    rj_out(b, "</td></tr>\n");
}

static void judge_table(sj_buf *b, const cJSON *panel)
{
    rj_out(b, "<table><caption>The judges</caption><thead><tr><th class=\"l\">Judge</th>"
              "<th>Judgments</th><th>Ties</th><th>Agreement with the majority (n compared)</th>"
              "<th>Prefers the higher score: focal (n)</th><th>reference (n)</th>"
              "<th>Focal \xe2\x88\x92 reference [95%% interval]</th><th>p</th><th>Weight</th>"
              "<th class=\"l\">Flags</th></tr></thead><tbody>\n");
    const cJSON *j;
    cJSON_ArrayForEach(j, rj_get(panel, "judges"))
    {
        judge_row(b, j);
    }
    rj_out(b, "</tbody></table>\n");
}

void rj_panel_section(sj_buf *b, const cJSON *panel, const char *path, int no)
{
    char x[48], y[48], z[48], w[48];
    rj_out(b, "<section id=\"panel\"><h2>%d. The expert panel</h2>\n<p>", no);
    if (path) {
        rj_out(b, "From <code>");
        rj_text(b, path);
        rj_out(b, "</code>: ");
    }
    rj_out(b,
           "the experts whose pairwise judgments of candidate scorings trained the reward "
           "model. %s judgments of %s pairs, %s of them ties; %s pairs were judged by two or "
           "more judges. On real data, without true scores, the panel is the only arbiter of "
           "what alignment aims at, so its reliability bounds what the aligned scorers can "
           "be trusted for.</p>\n",
           rj_fmt(x, sizeof x, rj_num(panel, "judgments"), 0),
           rj_fmt(y, sizeof y, rj_num(panel, "pairs"), 0),
           rj_fmt(z, sizeof z, rj_num(panel, "ties"), 0),
           rj_fmt(w, sizeof w, rj_num(panel, "overlap_pairs"), 0));
    alpha_paragraph(b, panel);
    judge_table(b, panel);
    const char *weighting = rj_str(panel, "weighting");
    rj_out(b,
           "<p class=\"note\">Agreement with the majority counts a judge's judgments of pairs "
           "that others judged too. The preference columns give how often the judge preferred "
           "the candidate scoring that is higher, for focal and for reference responses; a "
           "difference whose interval excludes zero means the judge favours one group's "
           "responses. %s</p>\n",
           weighting && strcmp(weighting, "agreement") == 0
               ? "The reward model weighted each judge's pairs by the Weight column (agreement "
                 "with the majority)."
               : "Every judge weighed the same in the reward model.");
    const cJSON *line;
    int any = 0;
    cJSON_ArrayForEach(line, rj_get(panel, "summary"))
    {
        rj_out(b, "%s<li>", any++ ? "" : "<div class=\"summary\"><ul>\n");
        rj_text(b, line->valuestring);
        rj_out(b, "</li>\n");
    }
    if (any)
        rj_out(b, "</ul></div>\n");
    rj_out(b, "</section>\n");
}

/* ---- the CSV ----------------------------------------------------------------------- */

cJSON *rj_panel_judge_rows(const cJSON *panel)
{
    const char *const *keys = SJ_PANEL_JUDGE_COLUMNS;
    cJSON *rows = cJSON_CreateArray();
    const cJSON *j;
    cJSON_ArrayForEach(j, rj_get(panel, "judges"))
    {
        cJSON *row = cJSON_CreateObject();
        const cJSON *ci = rj_get(j, "group_difference_ci");
        for (size_t i = 0; i < SJ_PANEL_N_JUDGE_COLUMNS; i++) {
            const cJSON *v = rj_get(j, keys[i]);
            if (strcmp(keys[i], "group_difference_ci_low") == 0)
                sj_json_add_number(row, keys[i], cJSON_GetArraySize(ci) == 2 ? num_at(ci, 0) : NAN);
            else if (strcmp(keys[i], "group_difference_ci_high") == 0)
                sj_json_add_number(row, keys[i], cJSON_GetArraySize(ci) == 2 ? num_at(ci, 1) : NAN);
            else
                cJSON_AddItemToObject(row, keys[i], v ? cJSON_Duplicate(v, 1) : cJSON_CreateNull());
        }
        cJSON_AddItemToArray(rows, row);
    }
    return rows;
}
