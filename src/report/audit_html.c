/* The audit page, written from an audit document: summary of flags in
 * plain language, data, score distributions, DIF per item, group parity,
 * agreement with human scores, methods and provenance. */
#include "audit_review.h"
#include "report_internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define QWK_MIN SJ_AGREE_QWK_MIN
#define R_MIN SJ_AGREE_R_MIN
#define SMD_MAX SJ_AGREE_SMD_MAX
#define SMD_GROUP_MAX SJ_AGREE_SMD_GROUP_MAX

typedef struct {
    sj_buf *w; /* the page being written; its failure flag is checked once, at the end */
    const cJSON *doc;
    const char *ref;
    const char *focal;
    int has_truth;     /* the audit has agreement with the true scores */
    int has_human_dif; /* the audit has DIF of the human scores beside the machine's */
    const cJSON *boot; /* the person bootstrap's summary, or NULL */
    int section_no;    /* the last section's number */
    int figure_no;     /* the next figure's number */
} page;

/* The shared page writer (page.c), applied to this page's writer. */
#define out(pg, ...) rj_out((pg)->w, __VA_ARGS__)
#define text(pg, s) rj_text((pg)->w, (s))
#define svg(pg, plot) rj_svg((pg)->w, (plot))

static const char *fmt_p(char *buf, size_t n, double p)
{
    sj_html_format_p(p, buf, n);
    return buf;
}

static const char *fmt_pct(char *buf, size_t n, double share)
{
    if (isnan(share))
        return rj_fmt(buf, n, NAN, 0);
    char num[32];
    snprintf(buf, n, "%s%%", rj_fmt(num, sizeof num, 100 * share, 1));
    return buf;
}

/* " [lo, hi]" after a value, when obj has the bootstrap interval
 * "<key>_ci"; nothing otherwise. */
static void ci_text(page *pg, const cJSON *obj, const char *key, int digits)
{
    char name[64], lo[48], hi[48];
    snprintf(name, sizeof name, "%s_ci", key);
    const cJSON *ci = rj_get(obj, name);
    const cJSON *a = cJSON_GetArrayItem(ci, 0), *b = cJSON_GetArrayItem(ci, 1);
    if (cJSON_IsArray(ci) && cJSON_IsNumber(a) && cJSON_IsNumber(b))
        out(pg, " <span class=\"muted\">[%s, %s]</span>",
            rj_fmt(lo, sizeof lo, a->valuedouble, digits),
            rj_fmt(hi, sizeof hi, b->valuedouble, digits));
}

static void number_cell(page *pg, double v, int digits)
{
    if (sj_html_number_cell(pg->w, v, digits, NULL) != 0)
        sj_buf_fail(pg->w);
}

/* A small statistic (R-squared and its changes) to four decimals; one
 * that rounds to zero but is not zero reads "< .0001" (or "> \xe2\x88\x92.0001"), never
 * "0.0000". */
static void small_cell(page *pg, double v)
{
    if (isfinite(v) && v != 0 && fabs(v) < 0.00005)
        out(pg, "<td>%s</td>", v > 0 ? "&lt; .0001" : "&gt; \xe2\x88\x92.0001");
    else
        number_cell(pg, v, 4);
}

static void p_cell(page *pg, double p)
{
    char buf[32];
    out(pg, "<td%s>%s</td>", !isnan(p) && p < 0.05 ? " class=\"warn\"" : "",
        fmt_p(buf, sizeof buf, p));
}

/* A test statistic with its p-value in one cell, "35.89 (< .001)", so that
 * the DIF table fits the page; significant at .05 in the warning colour. */
static void chi2_p_cell(page *pg, double chi2, double p)
{
    char a[48], b[32];
    out(pg, "<td%s>%s (%s)</td>", !isnan(p) && p < 0.05 ? " class=\"warn\"" : "",
        rj_fmt(a, sizeof a, chi2, 2), fmt_p(b, sizeof b, p));
}

static void class_cell(page *pg, const char *cls)
{
    out(pg, "<td class=\"l\">");
    rj_badge(pg->w, cls);
    out(pg, "</td>");
}

/* ---- counting flags -------------------------------------------------------------- */

typedef struct {
    size_t n_items, n_tested, n_dich, n_poly;
    size_t by_rank[3];
} dif_counts;

static dif_counts count_dif(const cJSON *items)
{
    dif_counts c = {0};
    const cJSON *it;
    cJSON_ArrayForEach(it, items)
    {
        c.n_items++;
        rj_effect e;
        rj_dif_effect(it, &e);
        if (e.polytomous)
            c.n_poly++;
        else
            c.n_dich++;
        if (cJSON_IsFalse(rj_get(it, "tested")))
            continue;
        c.n_tested++;
        int r = rj_class_rank(e.cls);
        if (r >= 0)
            c.by_rank[r]++;
    }
    return c;
}

/* "against the focal group" reads the sign convention (focal minus
 * reference; negative = focal scored lower at equal matching score). */
static const char *direction(double effect)
{
    if (isnan(effect) || effect == 0)
        return "";
    return effect < 0 ? "against the focal group" : "against the reference group";
}

static void list_items_of_rank(page *pg, const cJSON *items, int rank)
{
    int first = 1;
    const cJSON *it;
    cJSON_ArrayForEach(it, items)
    {
        rj_effect e;
        rj_dif_effect(it, &e);
        if (rj_class_rank(e.cls) != rank)
            continue;
        char num[48];
        out(pg, "%s<strong>", first ? "" : "; ");
        text(pg, rj_str(it, "item"));
        out(pg, "</strong> (%s %s, %s)", e.polytomous ? "SMD/SD" : "\xce\x94",
            rj_fmt(num, sizeof num, e.value, 2), direction(e.value));
        first = 0;
    }
}

static const char *cohen_words(double d)
{
    double a = fabs(d);
    return isnan(a)  ? "of unknown size"
           : a < 0.2 ? "negligible"
           : a < 0.5 ? "small"
           : a < 0.8 ? "medium"
                     : "large";
}

/* ---- sections ------------------------------------------------------------------ */

/* The summary's DIF lines: flagged items by class, the machine against
 * the human scores, untested items. */
static void summary_dif(page *pg, const cJSON *items, const dif_counts *cp)
{
    dif_counts c = *cp;
    if (c.by_rank[2] + c.by_rank[1] == 0) {
        out(pg,
            "<li class=\"ok\">No item shows moderate or large DIF: all %zu tested items are "
            "class A/AA (negligible).</li>\n",
            c.n_tested);
    } else {
        if (c.by_rank[2]) {
            out(pg, "<li><span class=\"bad\">%zu item%s with large DIF (class C/CC):</span> ",
                c.by_rank[2], c.by_rank[2] == 1 ? "" : "s");
            list_items_of_rank(pg, items, 2);
            out(pg, ".</li>\n");
        }
        if (c.by_rank[1]) {
            out(pg, "<li><span class=\"warn\">%zu item%s with moderate DIF (class B/BB):</span> ",
                c.by_rank[1], c.by_rank[1] == 1 ? "" : "s");
            list_items_of_rank(pg, items, 1);
            out(pg, ".</li>\n");
        }
        out(pg, "<li>%zu of %zu tested items are class A/AA (negligible DIF).</li>\n", c.by_rank[0],
            c.n_tested);
    }
    if (pg->has_human_dif) {
        sj_buf words = {0};
        if (rj_dif_vs_human_summary(&words, pg->doc, 1) > 0) {
            out(pg, "<li>Machine against human-score DIF: %s.</li>\n", words.data);
            if (sj_buf_failed(&words))
                sj_buf_fail(pg->w);
        }
        sj_buf_free(&words);
    }
    if (c.n_tested < c.n_items)
        out(pg,
            "<li class=\"warn\">%zu item%s could not be tested (too few persons or a "
            "constant score); see the notes under the DIF table.</li>\n",
            c.n_items - c.n_tested, c.n_items - c.n_tested == 1 ? "" : "s");
}

/* What the focal group's machine-human SMD says, beside the same SMD
 * against the true scores where the audit has them: the machine may
 * depart from the raters, from the truth, from both, or sit between. */
static void focal_smd_words(page *pg, double human)
{
    char a[48], b[48];
    double truth = rj_num(rj_path(pg->doc, "truth_agreement", "by_group", pg->focal), "smd");
    int off_h = !isnan(human) && fabs(human) > SMD_GROUP_MAX;
    int off_t = !isnan(truth) && fabs(truth) > SMD_GROUP_MAX;
    /* The raters' own SMD against the truth: do they share the machine's
     * departure? */
    double rater_truth =
        rj_num(rj_path(pg->doc, "truth_agreement", "human", "by_group", pg->focal), "smd");
    int raters_alike = !isnan(rater_truth) && fabs(rater_truth) > SMD_GROUP_MAX &&
                       (rater_truth > 0) == (truth > 0);
    out(pg, "; the focal group's machine\xe2\x80\x93human SMD is %s",
        rj_fmt(a, sizeof a, human, 3));
    if (isnan(truth)) {
        out(pg, "%s.</li>\n",
            !off_h      ? " (within \xc2\xb1.10)"
            : human > 0 ? " (beyond \xc2\xb1.10: the machine scores this group above the human "
                          "raters; without true scores it cannot say which is right)"
                        : " (beyond \xc2\xb1.10: the machine scores this group below the human "
                          "raters; without true scores it cannot say which is right)");
        return;
    }
    out(pg,
        " against the human scores, %s against the true scores: ", rj_fmt(b, sizeof b, truth, 3));
    if (off_h && !off_t)
        out(pg,
            "the machine departs from the raters, not from the truth (the raters score this "
            "group %s than the machine and the truth do)",
            human > 0 ? "lower" : "higher");
    else if (!off_h && off_t && raters_alike)
        out(pg,
            "the machine agrees with the raters, and both depart from the truth: they score "
            "this group %s than its true scores (the raters' SMD against the truth is %s)",
            truth > 0 ? "higher" : "lower", rj_fmt(a, sizeof a, rater_truth, 3));
    else if (!off_h && off_t)
        out(pg,
            "the machine agrees with the raters but departs from the truth: it scores this "
            "group %s than its true scores",
            truth > 0 ? "higher" : "lower");
    else if (off_h && off_t && (human > 0) == (truth > 0))
        out(pg, "the machine scores this group too %s, against the raters and the truth alike",
            truth > 0 ? "high" : "low");
    else if (off_h && off_t)
        out(pg,
            "the machine sits between the raters and the truth, %s the human scores and "
            "%s the true scores",
            human > 0 ? "above" : "below", truth > 0 ? "above" : "below");
    else
        out(pg, "within \xc2\xb1.10 of both");
    out(pg, ".</li>\n");
}

static void section_summary(page *pg)
{
    const cJSON *items = rj_path(pg->doc, "dif", "items");
    const cJSON *par = rj_get(pg->doc, "parity");
    const cJSON *agr = rj_get(pg->doc, "agreement");
    dif_counts c = count_dif(items);
    char a[48], b[48], d[48];
    out(pg, "<section id=\"summary\"><h2>%d. Summary</h2>\n<div class=\"summary\"><ul>\n",
        ++pg->section_no);
    summary_dif(pg, items, &c);
    /* Parity */
    double diff = rj_num(par, "mean_diff"), dd = rj_num(par, "cohens_d");
    double wp = rj_num(par, "welch_p");
    out(pg, "<li>Total scores: the focal group (<em>");
    text(pg, pg->focal);
    out(pg, "</em>) averages %s points %s the reference group (<em>",
        rj_fmt(a, sizeof a, fabs(diff), 2), diff < 0 ? "below" : "above");
    text(pg, pg->ref);
    out(pg, "</em>; Cohen's d = %s, a %s difference; Welch p %s%s).</li>\n",
        rj_fmt(b, sizeof b, dd, 2), cohen_words(dd), !isnan(wp) && wp < 0.001 ? "" : "= ",
        fmt_p(d, sizeof d, wp));
    double cut = rj_num(par, "cut");
    if (!isnan(cut)) {
        double air = rj_num(par, "adverse_impact_ratio");
        const cJSON *flag = rj_get(par, "four_fifths_flag");
        char e[48];
        out(pg, "<li%s>At the cut score %s, the adverse impact ratio is %s: %s.</li>\n",
            cJSON_IsTrue(flag) ? " class=\"bad\"" : "", rj_fmt(a, sizeof a, cut, 2),
            rj_fmt(e, sizeof e, air, 2),
            cJSON_IsTrue(flag) ? "below four-fifths (0.80), a flag for adverse impact"
            : isnan(air)       ? "not defined"
                               : "within the four-fifths rule");
    }
    /* Agreement */
    if (cJSON_IsObject(agr)) {
        double qwk = rj_num(agr, "qwk"), smd = rj_num(agr, "smd");
        int qwk_ok = !isnan(qwk) && qwk >= QWK_MIN, smd_ok = !isnan(smd) && fabs(smd) <= SMD_MAX;
        out(pg,
            "<li%s>Agreement with human scores: QWK %s (%s the .70 threshold), SMD %s (%s "
            "\xc2\xb1.15).</li>\n",
            qwk_ok && smd_ok ? "" : " class=\"warn\"", rj_fmt(a, sizeof a, qwk, 3),
            qwk_ok ? "meets" : "below", rj_fmt(b, sizeof b, smd, 3), smd_ok ? "within" : "outside");
        const cJSON *gf = rj_path(agr, "by_group", pg->focal);
        const cJSON *gr = rj_path(agr, "by_group", pg->ref);
        if (gf && gr) {
            out(pg, "<li>By group: QWK %s for <em>", rj_fmt(a, sizeof a, rj_num(gr, "qwk"), 3));
            text(pg, pg->ref);
            out(pg, "</em> and %s for <em>", rj_fmt(b, sizeof b, rj_num(gf, "qwk"), 3));
            text(pg, pg->focal);
            out(pg, "</em>");
            focal_smd_words(pg, rj_num(gf, "smd"));
        }
        const cJSON *csd = rj_path(agr, "fairness", "csd");
        double cp = rj_num(csd, "p"), cf = rj_num(csd, "coef_focal");
        if (!isnan(cp))
            out(pg,
                "<li%s>Conditional score difference: at equal human scores, the machine "
                "scores the focal group %s points %s than the reference group (p %s%s).</li>\n",
                cp < 0.05 ? " class=\"warn\"" : "", rj_fmt(a, sizeof a, fabs(cf), 3),
                cf < 0 ? "lower" : "higher", cp < 0.001 ? "" : "= ", fmt_p(b, sizeof b, cp));
    } else {
        out(pg, "<li class=\"muted\">No human scores were given (--human): agreement and "
                "fairness of the machine scores against human scores are not assessed.</li>\n");
    }
    out(pg, "</ul></div>\n<p class=\"note\">Signs are focal minus reference. DIF classes follow "
            "the ETS rules (see Methods); a class is a screening result, not proof of bias: "
            "flagged items need review by content experts.</p>\n</section>\n");
}

static void section_data(page *pg)
{
    const cJSON *d = rj_get(pg->doc, "data");
    const cJSON *ins = rj_get(pg->doc, "instrument");
    char a[48], b[48];
    out(pg, "<section id=\"data\"><h2>%d. Data</h2>\n<dl class=\"kv\">\n<dt>Instrument</dt><dd>",
        ++pg->section_no);
    text(pg, rj_str(ins, "title"));
    out(pg, " (<code>");
    text(pg, rj_str(ins, "id"));
    out(pg, "</code>), scores %s to %s</dd>\n", rj_fmt(a, sizeof a, rj_num(ins, "score_min"), 0),
        rj_fmt(b, sizeof b, rj_num(ins, "score_max"), 0));
    out(pg, "<dt>Responses</dt><dd>%.0f rows</dd>\n", rj_num(d, "n_rows"));
    out(pg, "<dt>Persons</dt><dd>%.0f (%.0f with every item answered and used for DIF)</dd>\n",
        rj_num(d, "n_persons"), rj_num(d, "n_persons_dif"));
    out(pg, "<dt>Items</dt><dd>%.0f in the data, %.0f in the instrument</dd>\n",
        rj_num(d, "n_items_in_data"), rj_num(d, "n_items_in_instrument"));
    out(pg, "<dt>Missing</dt><dd>%.0f machine scores, ", rj_num(d, "missing_machine_scores"));
    double mh = rj_num(d, "missing_human_scores");
    if (isnan(mh))
        out(pg, "no human score column; ");
    else
        out(pg, "%.0f human scores; ", mh);
    out(pg, "%.0f persons with an unanswered item (left out of DIF)</dd>\n</dl>\n",
        rj_num(d, "n_persons_incomplete"));
    out(pg, "<table><caption>Groups</caption><thead><tr><th class=\"l\">Group</th><th "
            "class=\"l\">Role</th><th>Persons</th><th>Responses</th></tr></thead><tbody>\n");
    const cJSON *g;
    cJSON_ArrayForEach(g, rj_get(d, "groups"))
    {
        const char *name = rj_str(g, "name");
        const char *role = name && strcmp(name, pg->ref) == 0     ? "reference"
                           : name && strcmp(name, pg->focal) == 0 ? "focal"
                                                                  : "not compared";
        out(pg, "<tr><td class=\"id\">");
        text(pg, name);
        out(pg, "</td><td class=\"l\">%s</td>", role);
        number_cell(pg, rj_num(g, "n_persons"), 0);
        number_cell(pg, rj_num(g, "n_responses"), 0);
        out(pg, "</tr>\n");
    }
    out(pg, "</tbody></table>\n</section>\n");
}

static void section_distribution(page *pg)
{
    const cJSON *dist = rj_get(pg->doc, "distribution");
    const cJSON *values = rj_get(dist, "values");
    const cJSON *counts = rj_get(dist, "counts");
    out(pg, "<section id=\"distribution\"><h2>%d. Score distributions by group</h2>\n",
        ++pg->section_no);
    int n = cJSON_GetArraySize(values);
    const char *names[2] = {pg->ref, pg->focal};
    double total[2] = {0, 0}, ymax = 0;
    for (int k = 0; k < 2; k++) {
        const cJSON *c;
        cJSON_ArrayForEach(c, rj_get(counts, names[k]))
        {
            total[k] += c->valuedouble;
        }
    }
    if (n == 0 || total[0] == 0 || total[1] == 0) {
        out(pg, "<p class=\"muted\">No person totals to show.</p>\n");
        rj_review_levels_html(pg->w, pg->doc, &pg->figure_no);
        out(pg, "</section>\n");
        return;
    }
    for (int k = 0; k < 2; k++)
        for (int i = 0; i < n; i++) {
            const cJSON *c = cJSON_GetArrayItem(rj_get(counts, names[k]), i);
            ymax = fmax(ymax, 100 * (c ? c->valuedouble : 0) / total[k]);
        }
    double lo = cJSON_GetArrayItem(values, 0)->valuedouble;
    double hi = cJSON_GetArrayItem(values, n - 1)->valuedouble;
    sj_plot *p = sj_plot_new(680, 260, "Distribution of total scores by group",
                             "Percent of each group's persons at each total of the modal "
                             "machine scores; reference and focal bars side by side.");
    if (!p) {
        sj_buf_fail(pg->w);
        return;
    }
    sj_plot_axis_exact(p, SJ_AXIS_X, lo - 0.5, hi + 0.5,
                       "Total score (sum of modal machine scores)");
    /* The largest share rounded up to the next 10%: pages of similar data
     * (before and after alignment) get the same scale. */
    double top = fmin(100, fmax(10, 10 * ceil(ymax / 10 - 1e-9)));
    sj_plot_axis_exact(p, SJ_AXIS_Y, 0, top, "Percent of group");
    for (int k = 0; k < 2; k++)
        for (int i = 0; i < n; i++) {
            const cJSON *c = cJSON_GetArrayItem(rj_get(counts, names[k]), i);
            double v = cJSON_GetArrayItem(values, i)->valuedouble;
            sj_plot_bar(p, (size_t)k, v, 100 * (c ? c->valuedouble : 0) / total[k], 0.42,
                        k ? 0.21 : -0.21);
        }
    const cJSON *par = rj_get(pg->doc, "parity");
    sj_plot_refline(p, SJ_AXIS_X, rj_num(par, "cut"), "cut");
    size_t series[2] = {0, 1};
    sj_plot_legend(p, 2, names, series);
    out(pg, "<figure>");
    svg(pg, p);
    out(pg,
        "<figcaption>Figure %d. Total scores by group, as percentages of each group (%0.f "
        "reference, %0.f focal persons)",
        pg->figure_no++, total[0], total[1]);
    if (!isnan(rj_num(par, "cut")))
        out(pg, "; the dashed line marks the cut score");
    out(pg,
        ". The y axis runs from 0 to %.0f%%: the largest share rounded up to the next 10%%, so "
        "that audits of similar data share a scale.</figcaption></figure>\n",
        top);
    rj_review_levels_html(pg->w, pg->doc, &pg->figure_no);
    out(pg, "</section>\n");
}

static void dif_table_header(page *pg, int polytomous, int adjusted)
{
    const char *ci = pg->boot ? "bootstrap 95% CI" : "95% CI";
    out(pg, "<table><thead><tr><th class=\"l\">Item</th><th>n ref / focal</th>");
    if (polytomous)
        out(pg,
            "<th>Mantel \xcf\x87\xc2\xb2 (p)</th><th>SMD/SD [%s]</th>"
            "<th class=\"l\">ETS</th><th>OLR unif. \xcf\x87\xc2\xb2 (p)</th>"
            "<th>OLR non-unif. \xcf\x87\xc2\xb2 (p)</th><th>\xce\x94R\xc2\xb2 N</th>"
            "<th>\xce\x94R\xc2\xb2 McF</th>",
            ci);
    else
        out(pg,
            "<th>MH \xcf\x87\xc2\xb2 (p)</th><th>\xce\xb1<sub>MH</sub></th>"
            "<th>\xce\x94<sub>MH</sub> [%s]</th><th class=\"l\">ETS</th>"
            "<th>LR unif. \xcf\x87\xc2\xb2 (p)</th><th>LR non-unif. \xcf\x87\xc2\xb2 (p)</th>"
            "<th>\xce\x94R\xc2\xb2 N</th><th class=\"l\">ZT</th><th class=\"l\">JG</th>",
            ci);
    if (adjusted)
        out(pg, "<th>adj. p</th>");
    out(pg, "<th class=\"l\">Notes</th></tr></thead><tbody>\n");
}

/* Distinct note texts of the items of one type, numbered in order of first
 * appearance, so a note shared by every item is printed once. */
typedef struct {
    const char **text;
    size_t n, cap;
} note_list;

/* The first item at or after `it` of one type (polytomous or not), or
 * NULL; EACH_OF_TYPE walks the DIF items of one type in order. */
static const cJSON *of_type(const cJSON *it, int polytomous)
{
    for (; it; it = it->next) {
        rj_effect e;
        rj_dif_effect(it, &e);
        if (e.polytomous == polytomous)
            return it;
    }
    return NULL;
}

#define EACH_OF_TYPE(it, items, polytomous)                                                        \
    for ((it) = of_type((items) ? (items)->child : NULL, (polytomous)); (it);                      \
         (it) = of_type((it)->next, (polytomous)))

static long note_index(const note_list *l, const char *t)
{
    for (size_t i = 0; i < l->n; i++)
        if (strcmp(l->text[i], t) == 0)
            return (long)i;
    return -1;
}

static void collect_notes(page *pg, const cJSON *items, int polytomous, note_list *l)
{
    const cJSON *it;
    EACH_OF_TYPE(it, items, polytomous)
    {
        const cJSON *n;
        cJSON_ArrayForEach(n, rj_get(it, "notes"))
        {
            if (!cJSON_IsString(n) || note_index(l, n->valuestring) >= 0)
                continue;
            if (l->n == l->cap) {
                size_t cap = l->cap ? 2 * l->cap : 8;
                const char **grown = realloc(l->text, cap * sizeof *grown);
                if (!grown) {
                    sj_buf_fail(pg->w);
                    return;
                }
                l->text = grown;
                l->cap = cap;
            }
            l->text[l->n++] = n->valuestring;
        }
    }
}

static void dif_row(page *pg, const cJSON *it, int adjusted, const note_list *notes, int first_note)
{
    rj_effect e;
    rj_dif_effect(it, &e);
    char a[48], b[48], c[48];
    out(pg, "<tr><td class=\"id\">");
    text(pg, rj_str(it, "item"));
    out(pg, "</td>");
    out(pg, "<td>%s / %s</td>", rj_fmt(a, sizeof a, rj_num(it, "n_ref"), 0),
        rj_fmt(b, sizeof b, rj_num(it, "n_focal"), 0));
    if (e.polytomous) {
        chi2_p_cell(pg, rj_num(it, "mantel_chi2"), rj_num(it, "mantel_p"));
    } else {
        chi2_p_cell(pg, rj_num(it, "mh_chi2"), rj_num(it, "mh_p"));
        number_cell(pg, rj_num(it, "alpha_mh"), 2);
    }
    int digits = e.polytomous ? 3 : 2;
    if (isnan(e.lo))
        out(pg, "<td>%s</td>", rj_fmt(a, sizeof a, e.value, digits));
    else
        out(pg, "<td>%s<br><span class=\"muted\">[%s, %s]</span></td>",
            rj_fmt(a, sizeof a, e.value, digits), rj_fmt(b, sizeof b, e.lo, digits),
            rj_fmt(c, sizeof c, e.hi, digits));
    class_cell(pg, e.cls);
    const char *pre = e.polytomous ? "olr" : "lr";
    char key[40];
    char pkey[40];
    snprintf(key, sizeof key, "%s_uniform", pre);
    snprintf(pkey, sizeof pkey, "%s_p_uniform", pre);
    chi2_p_cell(pg, rj_num(it, key), rj_num(it, pkey));
    snprintf(key, sizeof key, "%s_nonuniform", pre);
    snprintf(pkey, sizeof pkey, "%s_p_nonuniform", pre);
    chi2_p_cell(pg, rj_num(it, key), rj_num(it, pkey));
    snprintf(key, sizeof key, "%s_dr2n", pre);
    small_cell(pg, rj_num(it, key));
    if (e.polytomous) {
        small_cell(pg, rj_num(it, "olr_dr2mcf"));
    } else {
        class_cell(pg, rj_str(it, "zt_class"));
        class_cell(pg, rj_str(it, "jg_class"));
    }
    if (adjusted)
        p_cell(pg, rj_num(it, e.polytomous ? "mantel_p_adj" : "mh_p_adj"));
    out(pg, "<td class=\"l\">");
    const cJSON *n;
    cJSON_ArrayForEach(n, rj_get(it, "notes"))
    {
        long k = cJSON_IsString(n) ? note_index(notes, n->valuestring) : -1;
        if (k >= 0)
            out(pg, "<a href=\"#note-%ld\">[%ld]</a> ", first_note + k, first_note + k);
    }
    out(pg, "</td>");
    out(pg, "</tr>\n");
}

static void dif_notes(page *pg, const cJSON *items, int polytomous, const note_list *notes,
                      int first_note)
{
    if (notes->n == 0)
        return;
    out(pg, "<ol class=\"note\" start=\"%d\">\n", first_note);
    for (size_t k = 0; k < notes->n; k++) {
        out(pg, "<li id=\"note-%ld\">", first_note + (long)k);
        text(pg, notes->text[k]);
        size_t with = 0, n_typed = 0;
        const cJSON *it;
        EACH_OF_TYPE(it, items, polytomous)
        {
            n_typed++;
            const cJSON *n;
            cJSON_ArrayForEach(n, rj_get(it, "notes"))
            {
                if (cJSON_IsString(n) && strcmp(n->valuestring, notes->text[k]) == 0) {
                    with++;
                    break;
                }
            }
        }
        out(pg, " (%s)</li>\n", with == n_typed ? "every item" : "items marked in the table");
    }
    out(pg, "</ol>\n");
}

static void dif_chart(page *pg, const cJSON *items, int polytomous, int figure_no)
{
    size_t n = 0;
    const cJSON *it;
    EACH_OF_TYPE(it, items, polytomous)
    {
        n++;
    }
    if (n == 0)
        return;
    const char **names = calloc(n, sizeof *names);
    rj_effect *eff = calloc(n, sizeof *eff);
    if (!names || !eff) {
        free(names);
        free(eff);
        sj_buf_fail(pg->w);
        return;
    }
    size_t k = 0;
    double extent = polytomous ? 0.4 : 2.0;
    EACH_OF_TYPE(it, items, polytomous)
    {
        rj_effect e;
        rj_dif_effect(it, &e);
        names[k] = rj_str(it, "item");
        eff[k] = e;
        double far = rj_effect_reach(&e);
        if (isfinite(far))
            extent = fmax(extent, far);
        k++;
    }
    sj_plot *p = rj_effect_chart(70 + 22 * (double)n,
                                 polytomous ? "DIF effect sizes (SMD/SD) with 95% intervals"
                                            : "DIF effect sizes (MH delta) with 95% intervals",
                                 "One row per item: the effect size as a point with its 95% "
                                 "interval, over shaded ETS class bands.",
                                 polytomous, extent, n, names);
    if (!p) {
        free(names);
        free(eff);
        sj_buf_fail(pg->w);
        return;
    }
    /* Series by class: A bluish green, B orange, C reddish purple. Not
     * vermillion for C: vermillion is the focal group on every chart. */
    static const size_t class_series[3] = {2, 3, 4};
    for (size_t i = 0; i < n; i++) {
        int r = rj_class_rank(eff[i].cls);
        sj_plot_point_ci(p, r < 0 ? 7 : class_series[r], eff[i].value, (double)i, eff[i].lo,
                         eff[i].hi);
    }
    const char *legend[3] = {polytomous ? "AA" : "A", polytomous ? "BB" : "B",
                             polytomous ? "CC" : "C"};
    sj_plot_legend(p, 3, legend, class_series);
    out(pg, "<figure>");
    svg(pg, p);
    const char *intervals = pg->boot     ? "person-bootstrap 95% percentile intervals"
                            : polytomous ? "95% intervals (\xc2\xb1 1.96 delta-method SE)"
                                         : "95% intervals (\xce\x94 \xc2\xb1 1.96 SE)";
    if (polytomous)
        out(pg,
            "<figcaption>Figure %d. Standardised mean difference (SMD/SD) per item, focal "
            "minus reference at equal matching score, with ",
            figure_no);
    else
        out(pg, "<figcaption>Figure %d. Mantel\xe2\x80\x93Haenszel delta per item with ",
            figure_no);
    out(pg, "%s", intervals);
    if (polytomous)
        out(pg, ". Bands: AA |SMD/SD| \xe2\x89\xa4 .17, BB up to .25, CC beyond (significance "
                "is also required for BB and CC).</figcaption></figure>\n");
    else
        out(pg, ". Bands: A |\xce\x94| &lt; 1, B 1 to 1.5, C \xe2\x89\xa5 1.5 (C also needs "
                "|\xce\x94| significantly above 1).</figcaption></figure>\n");
    free(names);
    free(eff);
}

/* The sentence naming the bootstrap: B, the seed, persons resampled. */
static void bootstrap_sentence(page *pg)
{
    if (!pg->boot) {
        out(pg, "<p class=\"note\">No person bootstrap was run (--bootstrap 0): intervals "
                "are \xc2\xb1 1.96 SE.</p>\n");
        return;
    }
    const cJSON *seed = rj_get(pg->boot, "seed");
    out(pg,
        "<p class=\"note\">Intervals are 95%% percentile intervals of a person bootstrap: B "
        "= %zu replicates, seed ",
        rj_boot_count(pg->boot));
    if (cJSON_IsString(seed))
        text(pg, seed->valuestring);
    else
        out(pg, "%.0f", rj_num(pg->boot, "seed"));
    out(pg,
        "; %.0f persons resampled with replacement, each with all their responses, and every "
        "statistic recomputed on each resample (DIF with the matching items of the estimate "
        "kept fixed). Every replicate is in bootstrap.csv.</p>\n",
        rj_num(pg->boot, "persons"));
}

/* The machine's DIF beside the human scores' DIF, under the machine's DIF
 * table of one item type; the verdict rule is explained before the first
 * such table. */
static void human_dif_table(page *pg, int polytomous, int first)
{
    if (first)
        out(pg, "<p>The same DIF analysis run on the human scores, item by item beside the "
                "machine's: the change in the size of the effect (|machine| \xe2\x88\x92 "
                "|human|, with its interval from the same replicates) and the verdict: "
                "<em>introduced</em> (human class A/AA, machine B/C, the change's interval "
                "above 0), <em>amplified</em> (human B/C, interval above 0), <em>reduced</em> "
                "(interval below 0), <em>inherited</em> (both B/C, interval covering 0), "
                "<em>within noise</em> (one of the two B/C, interval covering 0) or "
                "<em>none</em>.</p>\n");
    rj_dif_vs_human_table(pg->w, pg->doc, polytomous, pg->boot ? "bootstrap 95% CI" : "95% CI");
}

static void section_dif(page *pg)
{
    const cJSON *items = rj_path(pg->doc, "dif", "items");
    const char *adjust = rj_str(rj_get(pg->doc, "settings"), "adjust");
    int adjusted = adjust && strcmp(adjust, "none") != 0;
    dif_counts c = count_dif(items);
    out(pg,
        "<section id=\"dif\"><h2>%d. Differential item functioning</h2>\n<p>Each item's "
        "machine score is compared between persons of the two groups who have the same "
        "matching score (total test score). Negative effects mean the focal group scored "
        "lower on the item than reference-group persons of equal total. The tables show "
        "the ETS effect of each item with its interval and the tests; dif.csv has every "
        "statistic (the unstandardised SMD among them).</p>\n",
        ++pg->section_no);
    bootstrap_sentence(pg);
    int note_no = 1, human_tables = 0;
    for (int poly = 0; poly < 2; poly++) {
        if ((poly ? c.n_poly : c.n_dich) == 0)
            continue;
        out(pg, "<h3>%s items (%zu)</h3>\n", poly ? "Polytomous" : "Dichotomous",
            poly ? c.n_poly : c.n_dich);
        dif_chart(pg, items, poly, pg->figure_no++);
        int first_note = note_no;
        note_list notes = {0};
        collect_notes(pg, items, poly, &notes);
        note_no += (int)notes.n;
        dif_table_header(pg, poly, adjusted);
        const cJSON *it;
        EACH_OF_TYPE(it, items, poly)
        {
            dif_row(pg, it, adjusted, &notes, first_note);
        }
        out(pg, "</tbody></table>\n");
        dif_notes(pg, items, poly, &notes, first_note);
        free(notes.text);
        if (pg->has_human_dif)
            human_dif_table(pg, poly, human_tables++ == 0);
    }
    rj_review_curves_html(pg->w, pg->doc, &pg->figure_no);
    out(pg, "</section>\n");
}

/* The groups' mean totals with their 95% t intervals on the whole range
 * of possible totals, so that a gap is seen against the scale. */
static void parity_chart(page *pg)
{
    const cJSON *par = rj_get(pg->doc, "parity");
    const cJSON *ins = rj_get(pg->doc, "instrument");
    double n_items = rj_num(ins, "n_items");
    double lo = n_items * rj_num(ins, "score_min"), hi = n_items * rj_num(ins, "score_max");
    if (!isfinite(lo) || !isfinite(hi) || hi <= lo)
        return;
    const char *names[2] = {pg->ref, pg->focal};
    sj_plot *p = sj_plot_new(680, 150, "Mean total score by group with 95% intervals",
                             "One row per group: the mean total score as a point with its 95% "
                             "t interval, on the whole range of possible totals.");
    if (!p) {
        sj_buf_fail(pg->w);
        return;
    }
    sj_plot_left_margin(p, 120);
    sj_plot_axis_exact(p, SJ_AXIS_X, lo, hi, "Total score (sum of modal machine scores)");
    sj_plot_categories(p, SJ_AXIS_Y, 2, names, "");
    double cut = rj_num(par, "cut");
    if (!isnan(cut))
        sj_plot_refline(p, SJ_AXIS_X, cut, "cut");
    for (int k = 0; k < 2; k++) {
        const cJSON *g = rj_path(par, "groups", names[k]);
        const cJSON *ci = rj_get(g, "mean_t_ci");
        const cJSON *a = cJSON_GetArrayItem(ci, 0), *b = cJSON_GetArrayItem(ci, 1);
        sj_plot_point_ci(p, (size_t)k, rj_num(g, "mean"), (double)k,
                         cJSON_IsNumber(a) ? a->valuedouble : NAN,
                         cJSON_IsNumber(b) ? b->valuedouble : NAN);
    }
    out(pg, "<figure>");
    svg(pg, p);
    char a[48], b[48];
    out(pg,
        "<figcaption>Figure %d. Mean total score of each group with its 95%% t interval (mean "
        "\xc2\xb1 t SD / \xe2\x88\x9an), on the whole range of possible totals (%s to %s)%s."
        "</figcaption></figure>\n",
        pg->figure_no++, rj_fmt(a, sizeof a, lo, 0), rj_fmt(b, sizeof b, hi, 0),
        isnan(cut) ? "" : "; the dashed line marks the cut score");
}

static void section_parity(page *pg)
{
    const cJSON *par = rj_get(pg->doc, "parity");
    const cJSON *groups = rj_get(par, "groups");
    char a[48], b[48], c[48];
    int has_cut = !isnan(rj_num(par, "cut"));
    out(pg, "<section id=\"parity\"><h2>%d. Group parity of total scores</h2>\n", ++pg->section_no);
    out(pg,
        "<table><thead><tr><th class=\"l\">Group</th><th class=\"l\">Role</th><th>n</th>"
        "<th>Mean [95%% CI]</th><th>SD</th>%s</tr></thead><tbody>\n",
        has_cut ? "<th>Pass rate</th>" : "");
    const char *names[2] = {pg->ref, pg->focal};
    for (int k = 0; k < 2; k++) {
        const cJSON *g = rj_get(groups, names[k]);
        out(pg, "<tr><td class=\"id\">");
        text(pg, names[k]);
        out(pg, "</td><td class=\"l\">%s</td>", k ? "focal" : "reference");
        number_cell(pg, rj_num(g, "n"), 0);
        out(pg, "<td>%s", rj_fmt(a, sizeof a, rj_num(g, "mean"), 2));
        ci_text(pg, g, "mean_t", 2);
        out(pg, "</td>");
        number_cell(pg, rj_num(g, "sd"), 2);
        if (has_cut)
            out(pg, "<td>%s</td>", fmt_pct(a, sizeof a, rj_num(g, "pass_rate")));
        out(pg, "</tr>\n");
    }
    out(pg, "</tbody></table>\n");
    parity_chart(pg);
    out(pg, "<table><caption>Focal minus reference</caption><tbody>\n");
    out(pg, "<tr><th class=\"l\">Mean difference [95%% CI]</th><td>%s [%s, %s]</td></tr>\n",
        rj_fmt(a, sizeof a, rj_num(par, "mean_diff"), 3),
        rj_fmt(b, sizeof b, rj_num(par, "ci95_low"), 3),
        rj_fmt(c, sizeof c, rj_num(par, "ci95_high"), 3));
    if (rj_get(par, "mean_diff_ci")) {
        out(pg, "<tr><th class=\"l\">Mean difference [person-bootstrap 95%% CI]</th><td>%s",
            rj_fmt(a, sizeof a, rj_num(par, "mean_diff"), 3));
        ci_text(pg, par, "mean_diff", 3);
        out(pg, "</td></tr>\n");
    }
    out(pg, "<tr><th class=\"l\">Cohen's d (pooled SD)%s</th><td>%s",
        rj_get(par, "cohens_d_ci") ? " [person-bootstrap 95% CI]" : "",
        rj_fmt(a, sizeof a, rj_num(par, "cohens_d"), 3));
    ci_text(pg, par, "cohens_d", 3);
    out(pg, "</td></tr>\n");
    out(pg, "<tr><th class=\"l\">Hedges' g</th><td>%s</td></tr>\n",
        rj_fmt(a, sizeof a, rj_num(par, "hedges_g"), 3));
    out(pg, "<tr><th class=\"l\">Welch t (df), p</th><td>%s (%s), %s</td></tr>\n",
        rj_fmt(a, sizeof a, rj_num(par, "welch_t"), 3),
        rj_fmt(b, sizeof b, rj_num(par, "welch_df"), 1),
        fmt_p(c, sizeof c, rj_num(par, "welch_p")));
    if (has_cut) {
        const cJSON *flag = rj_get(par, "four_fifths_flag");
        out(pg,
            "<tr><th class=\"l\">Cut score (pass = total \xe2\x89\xa5 cut)</th><td>%s</td></tr>\n",
            rj_fmt(a, sizeof a, rj_num(par, "cut"), 2));
        out(pg,
            "<tr><th class=\"l\">Adverse impact ratio (focal / reference pass rate)</th>"
            "<td class=\"%s\">%s%s</td></tr>\n",
            cJSON_IsTrue(flag) ? "bad" : "ok",
            rj_fmt(a, sizeof a, rj_num(par, "adverse_impact_ratio"), 3),
            cJSON_IsTrue(flag) ? " \xe2\x80\x94 below 0.80 (four-fifths rule)" : "");
    }
    out(pg, "</tbody></table>\n");
    const cJSON *n;
    int k = 0;
    cJSON_ArrayForEach(n, rj_get(par, "notes"))
    {
        out(pg, "%s", k++ ? "; " : "<p class=\"note\">Notes: ");
        text(pg, cJSON_IsString(n) ? n->valuestring : "");
    }
    if (k)
        out(pg, "</p>\n");
    out(pg, "</section>\n");
}

/* A value of obj against its threshold, with its bootstrap interval. */
static void threshold_cell(page *pg, const cJSON *obj, const char *key, int ok, const char *rule)
{
    char a[48];
    double v = rj_num(obj, key);
    if (isnan(v)) {
        out(pg, "<td>%s</td><td class=\"l muted\">%s</td>", rj_fmt(a, sizeof a, v, 3), rule);
        return;
    }
    out(pg, "<td class=\"%s\">%s", ok ? "ok" : "bad", rj_fmt(a, sizeof a, v, 3));
    ci_text(pg, obj, key, 3);
    out(pg, "</td><td class=\"l %s\">%s %s</td>", ok ? "ok" : "bad",
        ok ? "\xe2\x9c\x93" : "\xe2\x9c\x97", rule);
}

/* A row of agreement statistics over one scope; an item's row ends with
 * the SMD of the reference and the focal group (its "by_group"). */
static void agreement_group_row(page *pg, const char *label, const cJSON *a, double smd_max,
                                int item_row)
{
    const cJSON *groups = rj_get(a, "by_group");
    char x[48];
    out(pg, "<tr><td class=\"id\">");
    text(pg, label);
    out(pg, "</td>");
    number_cell(pg, rj_num(a, "n"), 0);
    out(pg, "<td>%s</td>", fmt_pct(x, sizeof x, rj_num(a, "exact")));
    out(pg, "<td>%s</td>", fmt_pct(x, sizeof x, rj_num(a, "adjacent")));
    double qwk = rj_num(a, "qwk"), r = rj_num(a, "pearson_r"), smd = rj_num(a, "smd");
    out(pg, "<td class=\"%s\">%s", !isnan(qwk) && qwk >= QWK_MIN ? "ok" : "bad",
        rj_fmt(x, sizeof x, qwk, 3));
    ci_text(pg, a, "qwk", 3);
    out(pg, "</td><td class=\"%s\">%s", !isnan(r) && r >= R_MIN ? "ok" : "bad",
        rj_fmt(x, sizeof x, r, 3));
    ci_text(pg, a, "pearson_r", 3);
    out(pg, "</td><td class=\"%s\">%s", !isnan(smd) && fabs(smd) <= smd_max ? "ok" : "bad",
        rj_fmt(x, sizeof x, smd, 3));
    ci_text(pg, a, "smd", 3);
    out(pg, "</td>");
    number_cell(pg, rj_num(a, "mean_machine"), 3);
    number_cell(pg, rj_num(a, "mean_human"), 3);
    /* Per group an item's SMD is held to the within-group threshold. */
    for (int k = 0; item_row && k < 2; k++) {
        double g = rj_num(rj_get(groups, k ? pg->focal : pg->ref), "smd");
        out(pg, "<td class=\"%s\">%s</td>", !isnan(g) && fabs(g) <= SMD_GROUP_MAX ? "ok" : "bad",
            rj_fmt(x, sizeof x, g, 3));
    }
    out(pg, "</tr>\n");
}

static void agreement_item_chart(page *pg, const cJSON *by_item)
{
    int n = cJSON_GetArraySize(by_item);
    if (n == 0)
        return;
    const char **names = calloc((size_t)n, sizeof *names);
    if (!names) {
        sj_buf_fail(pg->w);
        return;
    }
    double lo = 0;
    for (int i = 0; i < n; i++) {
        const cJSON *it = cJSON_GetArrayItem(by_item, i);
        names[i] = rj_str(it, "item");
        double q = rj_num(it, "qwk");
        if (isfinite(q))
            lo = fmin(lo, q);
    }
    sj_plot *p = sj_plot_new(680, 240, "Agreement with human scores per item",
                             "Quadratic weighted kappa between modal machine scores and human "
                             "scores for each item, with the .70 threshold.");
    if (!p) {
        free(names);
        sj_buf_fail(pg->w);
        return;
    }
    sj_plot_categories(p, SJ_AXIS_X, (size_t)n, names, "Item");
    sj_plot_axis(p, SJ_AXIS_Y, lo, 1, "QWK");
    sj_plot_band(p, SJ_AXIS_Y, lo - 1, QWK_MIN, RJ_BELOW_THRESHOLD, "");
    sj_plot_refline(p, SJ_AXIS_Y, QWK_MIN, "QWK .70");
    for (int i = 0; i < n; i++) {
        double q = rj_num(cJSON_GetArrayItem(by_item, i), "qwk");
        sj_plot_point_ci(p, !isnan(q) && q >= QWK_MIN ? 0 : 1, (double)i, q, NAN, NAN);
    }
    out(pg, "<figure>");
    svg(pg, p);
    out(pg, "<figcaption>QWK per item; items below the .70 line (square markers) agree "
            "poorly with the human raters.</figcaption></figure>\n");
    free(names);
}

static void fairness_row(page *pg, const char *name, const char *question, const cJSON *m)
{
    char a[48], b[48];
    double r2 = rj_num(m, "r2_adj");
    if (isnan(r2))
        r2 = rj_num(m, "r2_adj_change");
    double p = rj_num(m, "p");
    out(pg, "<tr><th class=\"l\">%s</th><td class=\"l\">%s</td>", name, question);
    small_cell(pg, r2);
    p_cell(pg, p);
    out(pg, "<td>%s", rj_fmt(a, sizeof a, rj_num(m, "coef_focal"), 3));
    ci_text(pg, m, "coef_focal", 3);
    out(pg, "</td><td>%s</td></tr>\n", rj_fmt(b, sizeof b, rj_num(m, "intercept"), 3));
}

/* Human (rows) by machine (columns); the diagonal is exact agreement. */
static void confusion_table(page *pg, const cJSON *conf)
{
    const cJSON *levels = rj_get(conf, "levels");
    int n = cJSON_GetArraySize(levels);
    if (n == 0 || n > 20)
        return;
    out(pg, "<table><caption>Responses by human score (rows) and machine score (columns)"
            "</caption><thead><tr><th class=\"l\">Human \\ machine</th>");
    for (int j = 0; j < n; j++)
        out(pg, "<th>%.0f</th>", cJSON_GetArrayItem(levels, j)->valuedouble);
    out(pg, "</tr></thead><tbody>\n");
    for (int i = 0; i < n; i++) {
        const cJSON *row = cJSON_GetArrayItem(rj_get(conf, "counts"), i);
        out(pg, "<tr><th class=\"l\">%.0f</th>", cJSON_GetArrayItem(levels, i)->valuedouble);
        for (int j = 0; j < n; j++) {
            const cJSON *c = cJSON_GetArrayItem(row, j);
            out(pg, "<td%s>%.0f</td>", i == j ? " class=\"ok\"" : "", c ? c->valuedouble : 0.0);
        }
        out(pg, "</tr>\n");
    }
    out(pg, "</tbody></table>\n");
}

static void section_agreement(page *pg)
{
    const cJSON *agr = rj_get(pg->doc, "agreement");
    out(pg, "<section id=\"agreement\"><h2>%d. Agreement with human scores</h2>\n",
        ++pg->section_no);
    if (!cJSON_IsObject(agr)) {
        out(pg, "<p class=\"muted\">No human score column was given (--human), so agreement "
                "and the RSMTool-style fairness analyses are not part of this audit.</p>"
                "</section>\n");
        return;
    }
    double qwk = rj_num(agr, "qwk"), r = rj_num(agr, "pearson_r"), smd = rj_num(agr, "smd");
    char a[48];
    out(pg,
        "<p>One observation per response of the two compared groups with both scores "
        "(%.0f responses). The modal machine score is compared with the human score.</p>\n",
        rj_num(agr, "n"));
    out(pg, "<table><caption>Overall</caption><thead><tr><th class=\"l\">Statistic</th>"
            "<th>Value</th><th class=\"l\">Threshold</th></tr></thead><tbody>\n");
    out(pg, "<tr><th class=\"l\">Exact agreement</th><td>%s</td><td></td></tr>\n",
        fmt_pct(a, sizeof a, rj_num(agr, "exact")));
    out(pg, "<tr><th class=\"l\">Exact + adjacent agreement</th><td>%s</td><td></td></tr>\n",
        fmt_pct(a, sizeof a, rj_num(agr, "adjacent")));
    out(pg, "<tr><th class=\"l\">Quadratic weighted kappa</th>");
    threshold_cell(pg, agr, "qwk", !isnan(qwk) && qwk >= QWK_MIN, "\xe2\x89\xa5 .70");
    out(pg, "</tr>\n<tr><th class=\"l\">Pearson r</th>");
    threshold_cell(pg, agr, "pearson_r", !isnan(r) && r >= R_MIN, "\xe2\x89\xa5 .70");
    out(pg, "</tr>\n<tr><th class=\"l\">SMD (machine \xe2\x88\x92 human)</th>");
    threshold_cell(pg, agr, "smd", !isnan(smd) && fabs(smd) <= SMD_MAX, "|SMD| \xe2\x89\xa4 .15");
    out(pg, "</tr>\n<tr><th class=\"l\">Mean machine / human</th><td>%s / ",
        rj_fmt(a, sizeof a, rj_num(agr, "mean_machine"), 3));
    out(pg, "%s</td><td></td></tr>\n", rj_fmt(a, sizeof a, rj_num(agr, "mean_human"), 3));
    out(pg, "<tr><th class=\"l\">SD machine / human</th><td>%s / ",
        rj_fmt(a, sizeof a, rj_num(agr, "sd_machine"), 3));
    out(pg, "%s</td><td></td></tr>\n</tbody></table>\n",
        rj_fmt(a, sizeof a, rj_num(agr, "sd_human"), 3));

    out(pg, "<table><caption>By group (|SMD| \xe2\x89\xa4 .10 per group)</caption><thead><tr>"
            "<th class=\"l\">Group</th><th>n</th><th>Exact</th><th>Adjacent</th><th>QWK</th>"
            "<th>r</th><th>SMD</th><th>Mean machine</th><th>Mean human</th></tr></thead>"
            "<tbody>\n");
    const char *names[2] = {pg->ref, pg->focal};
    for (int k = 0; k < 2; k++)
        agreement_group_row(pg, names[k], rj_path(agr, "by_group", names[k]), SMD_GROUP_MAX, 0);
    out(pg, "</tbody></table>\n");

    confusion_table(pg, rj_get(agr, "confusion"));

    const cJSON *f = rj_get(agr, "fairness");
    out(pg, "<h3>Fairness of the machine\xe2\x80\x93human error</h3>\n<p>Following Loukina, "
            "Madnani &amp; Zechner (2019), the error e = machine \xe2\x88\x92 human is "
            "regressed on group membership (reference group as base). A small R\xc2\xb2 and a "
            "non-significant group effect mean the machine errs alike for both groups.</p>\n");
    out(pg, "<table><thead><tr><th class=\"l\">Analysis</th><th class=\"l\">Question</th>"
            "<th>adj. R\xc2\xb2</th><th>p</th><th>Focal coef.</th><th>Intercept</th></tr>"
            "</thead><tbody>\n");
    fairness_row(pg, "Overall score accuracy", "Does the squared error e\xc2\xb2 differ by group?",
                 rj_get(f, "osa"));
    fairness_row(pg, "Overall score difference", "Does the error e differ by group?",
                 rj_get(f, "osd"));
    fairness_row(pg, "Conditional score difference",
                 "Does e differ by group at equal human score? (R\xc2\xb2 increase)",
                 rj_get(f, "csd"));
    out(pg, "</tbody></table>\n");

    const cJSON *by_item = rj_get(agr, "by_item");
    if (cJSON_GetArraySize(by_item) > 0) {
        out(pg, "<h3 id=\"item-agreement\">Per item</h3>\n");
        agreement_item_chart(pg, by_item);
        out(pg, "<table><caption>Item-level agreement (|SMD| \xe2\x89\xa4 .15 per item, "
                "\xe2\x89\xa4 .10 per item and group; item_agreement.csv)</caption><thead><tr>"
                "<th class=\"l\">Item</th><th>n</th><th>Exact</th><th>Adjacent</th><th>QWK</th>"
                "<th>r</th><th>SMD</th><th>Mean machine</th><th>Mean human</th><th>SMD ");
        text(pg, pg->ref);
        out(pg, "</th><th>SMD ");
        text(pg, pg->focal);
        out(pg, "</th></tr></thead><tbody>\n");
        const cJSON *it;
        cJSON_ArrayForEach(it, by_item)
        {
            agreement_group_row(pg, rj_str(it, "item"), it, SMD_MAX, 1);
        }
        out(pg, "</tbody></table>\n");
    }
    rj_raters_html(pg->w, pg->doc);
    out(pg, "</section>\n");
}

/* ---- agreement with the true scores -------------------------------------------- */

/* One row: a rater's agreement with the true scores over one scope. */
static void truth_row(page *pg, const char *scope, const char *rater, const cJSON *a,
                      double smd_max)
{
    char x[48];
    char mean[32];
    snprintf(mean, sizeof mean, "mean_%s", rater);
    out(pg, "<tr><td class=\"id\">");
    text(pg, scope);
    out(pg, "</td><td class=\"l\">%s</td>", strcmp(rater, "machine") == 0 ? "Machine" : "Human");
    number_cell(pg, rj_num(a, "n"), 0);
    out(pg, "<td>%s</td>", fmt_pct(x, sizeof x, rj_num(a, "exact")));
    out(pg, "<td>%s</td>", fmt_pct(x, sizeof x, rj_num(a, "adjacent")));
    number_cell(pg, rj_num(a, "qwk"), 3);
    number_cell(pg, rj_num(a, "pearson_r"), 3);
    double smd = rj_num(a, "smd");
    out(pg, "<td class=\"%s\">%s</td>", !isnan(smd) && fabs(smd) <= smd_max ? "ok" : "bad",
        rj_fmt(x, sizeof x, smd, 3));
    number_cell(pg, rj_num(a, mean), 3);
    number_cell(pg, rj_num(a, "mean_true"), 3);
    out(pg, "</tr>\n");
}

static void truth_table_head(page *pg, const char *caption, const char *scope)
{
    out(pg,
        "<table><caption>%s</caption><thead><tr><th class=\"l\">%s</th>"
        "<th class=\"l\">Scores of</th><th>n</th><th>Exact</th><th>Adjacent</th>"
        "<th>QWK</th><th>r</th><th>SMD</th><th>Mean scored</th><th>Mean true</th></tr>"
        "</thead><tbody>\n",
        caption, scope);
}

/* The item's entry in a rater's by_item list. */
static const cJSON *truth_item(const cJSON *block, const char *id)
{
    const cJSON *it;
    cJSON_ArrayForEach(it, rj_get(block, "by_item"))
    {
        const char *name = rj_str(it, "item");
        if (name && id && strcmp(name, id) == 0)
            return it;
    }
    return NULL;
}

/* Plain words first: who is closer to the truth, and whom the human
 * raters wrong. */
static void truth_findings(page *pg, const cJSON *truth, const cJSON *human)
{
    char a[48], b[48];
    out(pg,
        "<div class=\"summary\"><ul>\n<li>The machine's modal scores match the true score "
        "exactly for %s of the responses (QWK %s).</li>\n",
        fmt_pct(a, sizeof a, rj_num(truth, "exact")), rj_fmt(b, sizeof b, rj_num(truth, "qwk"), 3));
    if (!cJSON_IsObject(human)) {
        out(pg, "</ul></div>\n");
        return;
    }
    double qm = rj_num(truth, "qwk"), qh = rj_num(human, "qwk");
    out(pg,
        "<li>The human scores match it exactly for %s (QWK %s): the machine agrees %s with "
        "the true scores than the human raters do.</li>\n",
        fmt_pct(a, sizeof a, rj_num(human, "exact")), rj_fmt(b, sizeof b, qh, 3),
        qm > qh   ? "better"
        : qm < qh ? "less well"
                  : "as well");
    for (int k = 0; k < 2; k++) {
        const char *g = k ? pg->focal : pg->ref;
        double smd = rj_num(rj_path(human, "by_group", g), "smd");
        if (isnan(smd) || fabs(smd) <= SMD_GROUP_MAX)
            continue;
        out(pg, "<li class=\"warn\">The human raters score group ");
        text(pg, g);
        out(pg,
            " %s than its true scores (SMD %s): part of what the machine learns from human "
            "scores is this bias.</li>\n",
            smd < 0 ? "lower" : "higher", rj_fmt(a, sizeof a, smd, 3));
    }
    out(pg, "</ul></div>\n");
}

static void section_truth(page *pg)
{
    const cJSON *truth = rj_get(pg->doc, "truth_agreement");
    const cJSON *human = rj_get(truth, "human");
    out(pg,
        "<section id=\"truth\"><h2>%d. Agreement with the true scores</h2>\n<p>Known only "
        "in a simulation: the true score of every response comes from the truth file (",
        ++pg->section_no);
    text(pg, rj_str(truth, "truth_file"));
    out(pg,
        "). The modal machine score%s compared with it by the same statistics as the "
        "agreement with human scores, over the %.0f responses of the two compared groups. "
        "SMD is scored minus true, so a negative SMD means scores below the truth.</p>\n",
        cJSON_IsObject(human) ? " and the human score are" : " is", rj_num(truth, "n"));
    truth_findings(pg, truth, human);
    const cJSON *blocks[2] = {truth, human};
    static const char *const raters[2] = {"machine", "human"};
    truth_table_head(pg, "Overall and by group (|SMD| \xe2\x89\xa4 .15 overall, .10 per group)",
                     "Scope");
    for (int k = 0; k < 2; k++) {
        if (!cJSON_IsObject(blocks[k]))
            continue;
        truth_row(pg, "All responses", raters[k], blocks[k], SMD_MAX);
        truth_row(pg, pg->ref, raters[k], rj_path(blocks[k], "by_group", pg->ref), SMD_GROUP_MAX);
        truth_row(pg, pg->focal, raters[k], rj_path(blocks[k], "by_group", pg->focal),
                  SMD_GROUP_MAX);
    }
    out(pg, "</tbody></table>\n");
    if (cJSON_GetArraySize(rj_get(truth, "by_item")) > 0) {
        truth_table_head(pg, "Per item", "Item");
        const cJSON *it;
        cJSON_ArrayForEach(it, rj_get(truth, "by_item"))
        {
            const char *id = rj_str(it, "item");
            truth_row(pg, id, "machine", it, SMD_MAX);
            const cJSON *h = truth_item(human, id);
            if (h)
                truth_row(pg, id, "human", h, SMD_MAX);
        }
        out(pg, "</tbody></table>\n");
    }
    out(pg, "</section>\n");
}

/* A string from the data between fixed markup: before, the escaped value,
 * after. Nothing when the value is missing; returns whether it was written. */
static int framed_text(page *pg, const char *before, const char *value, const char *after)
{
    if (!value)
        return 0;
    out(pg, "%s", before);
    text(pg, value);
    out(pg, "%s", after);
    return 1;
}

static void section_methods(page *pg)
{
    const cJSON *s = rj_get(pg->doc, "settings");
    const cJSON *dif = rj_get(pg->doc, "dif");
    const char *match = rj_str(s, "match");
    const char *adjust = rj_str(s, "adjust");
    out(pg, "<section id=\"methods\"><h2>%d. Methods and settings</h2>\n<dl class=\"kv\">\n",
        ++pg->section_no);
    out(pg, "<dt>Groups</dt><dd>reference <code>");
    text(pg, pg->ref);
    out(pg, "</code>, focal <code>");
    text(pg, pg->focal);
    out(pg, "</code> (column <code>");
    text(pg, rj_str(s, "group_column"));
    out(pg, "</code>); signs are focal minus reference</dd>\n<dt>Machine score</dt><dd>column "
            "<code>");
    text(pg, rj_str(s, "score_column"));
    out(pg, "</code>: the scorer's modal (most probable) score per response. DIF uses it as "
            "the integer item score; parity uses each person's total of it; agreement compares "
            "it per response with the human score.</dd>\n");
    out(pg, "<dt>Matching</dt><dd>%s</dd>\n",
        match && strcmp(match, "rest") == 0
            ? "rest score: the total over all other items (studied item excluded)"
            : "total score over all items, studied item included");
    const cJSON *rounds = rj_get(dif, "purify_rounds");
    double n_rounds = cJSON_IsArray(rounds) && cJSON_GetArraySize(rounds) > 0
                          ? cJSON_GetArrayItem(rounds, 0)->valuedouble
                          : NAN;
    if (cJSON_IsTrue(rj_get(s, "purify")))
        out(pg,
            "<dt>Purification</dt><dd>iterative: items flagged B/C (BB/CC) removed from "
            "the matching score until the flagged set repeats (at most 10 rounds); %.0f "
            "round%s run</dd>\n",
            n_rounds, n_rounds == 1 ? "" : "s");
    else
        out(pg, "<dt>Purification</dt><dd>none</dd>\n");
    out(pg, "<dt>p-value adjustment</dt><dd>%s</dd>\n",
        adjust && strcmp(adjust, "holm") == 0 ? "Holm, over the items of each type"
        : adjust && strcmp(adjust, "bh") == 0
            ? "Benjamini\xe2\x80\x93Hochberg, over the items of each type"
            : "none (each item tested at .05)");
    out(pg, "<dt>Classification rule</dt><dd>");
    text(pg, rj_str(s, "ets_rule"));
    out(pg,
        ". Logistic-regression DIF: Zumbo\xe2\x80\x93Thomas (\xce\x94R\xc2\xb2 .13/.26) and "
        "Jodoin\xe2\x80\x93Gierl (.035/.070) classes on the Nagelkerke R\xc2\xb2 change.</dd>\n");
    out(pg,
        "<dt>Sparse data</dt><dd>items with fewer than %.0f persons in either group are "
        "not tested; persons with an unanswered item are left out of DIF (complete "
        "cases)</dd>\n",
        rj_num(s, "min_cell"));
    if (pg->boot)
        out(pg, "<dt>Intervals</dt><dd>Person bootstrap, 95%% percentile intervals (R's type-7 "
                "quantiles of the replicates) for the DIF effects (SMD, SMD/SD, MH delta), "
                "agreement (QWK, SMD, r), the fairness coefficients, the mean difference and "
                "Cohen's d and, with true scores, their QWK; persons are resampled with all "
                "their responses; DIF keeps the matching items of the estimate. The Welch "
                "interval of the mean difference is shown as well.</dd>\n");
    else
        out(pg, "<dt>Intervals</dt><dd>No bootstrap (--bootstrap 0). MH delta: \xce\x94 "
                "\xc2\xb1 1.96 SE (Robins\xe2\x80\x93"
                "Breslow\xe2\x80\x93Greenland). SMD/SD: "
                "\xc2\xb1 1.96 SE with the delta-method SE (persons as the sampling unit). Mean "
                "difference: Welch.</dd>\n");
    out(pg, "<dt>Cut score</dt><dd>");
    double cut = rj_num(s, "cut");
    char a[48];
    if (isnan(cut))
        out(pg, "none given (--cut)");
    else
        out(pg,
            "pass = total \xe2\x89\xa5 %s; adverse impact ratio = focal / reference pass "
            "rate, flagged below 0.80",
            rj_fmt(a, sizeof a, cut, 2));
    out(pg, "</dd>\n<dt>Agreement thresholds</dt><dd>Williamson, Xi &amp; Breyer (2012): QWK "
            "and r \xe2\x89\xa5 .70, |SMD| \xe2\x89\xa4 .15 overall and \xe2\x89\xa4 .10 "
            "within a group. SMD = (mean machine \xe2\x88\x92 mean human) / pooled SD. QWK in "
            "its moment form.</dd>\n");
    out(pg, "<dt>Human score</dt><dd>");
    if (!framed_text(pg, "column <code>", rj_str(s, "human_column"), "</code>"))
        out(pg, "none");
    out(pg, "</dd>\n</dl>\n</section>\n");
}

static void section_provenance(page *pg)
{
    const cJSON *prov = rj_get(pg->doc, "provenance");
    out(pg,
        "<section id=\"provenance\"><h2>%d. Provenance</h2>\n<dl class=\"kv\">\n<dt>Tool</dt>"
        "<dd>",
        ++pg->section_no);
    text(pg, rj_str(prov, "tool"));
    out(pg, " ");
    text(pg, rj_str(prov, "version"));
    out(pg, "</dd>\n<dt>Created</dt><dd>");
    text(pg, rj_str(prov, "created"));
    out(pg, "</dd>\n<dt>Command</dt><dd><code>");
    text(pg, rj_str(prov, "command"));
    out(pg, "</code></dd>\n<dt>Scoring model config</dt><dd>");
    if (framed_text(pg, "<code>", rj_str(prov, "model_config_sha256"),
                    "</code> (SHA-256 of config.json)")) {
        framed_text(pg, "; stage ", rj_str(prov, "model_stage"), "");
        framed_text(pg, "; model <code>", rj_str(prov, "model_path"), "</code>");
        framed_text(pg, "</dd>\n<dt>Scoring model weights</dt><dd><code>",
                    rj_str(prov, "model_weights_sha256"), "</code> (SHA-256 of model.safetensors)");
    } else {
        out(pg, "not recorded (no FILE.json from <code>sjtalign score</code> beside the scores)");
    }
    out(pg, "</dd>\n</dl>\n");
    rj_input_files(pg->w, rj_get(prov, "inputs"), 1);
}

/* The page's header: "Fairness audit — LABEL" (the label, or the model
 * the audit's title names), under the instrument, the groups and the date. */
static void page_begin(page *pg)
{
    static const char prefix[] = "Fairness audit \xe2\x80\x94 ";
    const char *label = rj_str(pg->doc, "label");
    const char *title = rj_str(pg->doc, "title");
    if (!label && title && strncmp(title, prefix, sizeof prefix - 1) == 0)
        label = title + sizeof prefix - 1;
    const char *created = rj_str(rj_get(pg->doc, "provenance"), "created");
    sj_buf sub = {0};
    sj_html_text(&sub, rj_str(rj_get(pg->doc, "instrument"), "title"));
    sj_buf_printf(&sub, " \xc2\xb7 Reference group ");
    sj_html_text(&sub, pg->ref);
    sj_buf_printf(&sub, ", focal group ");
    sj_html_text(&sub, pg->focal);
    sj_buf_printf(&sub, " \xc2\xb7 ");
    sj_html_text(&sub, created ? created : "");
    /* An incomplete subtitle fails the page rather than being shown. */
    if (sj_buf_failed(&sub))
        sj_buf_fail(pg->w);
    else if (sj_html_begin(pg->w, label ? "Fairness audit \xe2\x80\x94" : "Fairness audit", label,
                           sub.data) != 0)
        sj_buf_fail(pg->w);
    sj_buf_free(&sub);
}

sj_status sj_audit_html(const cJSON *audit, sj_buf *b, sj_error *err)
{
    const cJSON *settings = rj_get(audit, "settings");
    const cJSON *boot = rj_get(audit, "bootstrap");
    page pg = {b,
               audit,
               rj_str(settings, "reference"),
               rj_str(settings, "focal"),
               cJSON_IsObject(rj_get(audit, "truth_agreement")),
               cJSON_IsArray(rj_get(audit, "dif_vs_human")) &&
                   cJSON_GetArraySize(rj_get(audit, "dif_vs_human")) > 0,
               cJSON_IsObject(boot) && rj_boot_count(boot) > 0 ? boot : NULL,
               0,
               1};
    if (!pg.ref || !pg.focal || !cJSON_IsArray(rj_path(audit, "dif", "items")))
        return sj_error_set(err, SJ_ERR_INPUT,
                            "not an audit document: settings or dif.items missing");
    page_begin(&pg);
    out(&pg, "<nav class=\"toc\"><ol><li><a href=\"#summary\">Summary</a></li><li><a "
             "href=\"#data\">Data</a></li><li><a href=\"#distribution\">Score "
             "distributions</a></li><li><a href=\"#dif\">DIF per item</a></li><li><a "
             "href=\"#sample\">Responses for content review</a></li><li><a "
             "href=\"#parity\">Group parity</a></li><li><a href=\"#agreement\">Agreement with "
             "human scores</a></li>");
    if (pg.has_truth)
        out(&pg, "<li><a href=\"#truth\">Agreement with the true scores</a></li>");
    out(&pg, "<li><a href=\"#methods\">Methods and settings</a></li><li><a "
             "href=\"#provenance\">Provenance</a></li></ol></nav>\n");
    rj_evaluation_html(b, rj_get(audit, "evaluation"));
    section_summary(&pg);
    section_data(&pg);
    section_distribution(&pg);
    section_dif(&pg);
    rj_review_sample_html(b, audit, ++pg.section_no);
    section_parity(&pg);
    section_agreement(&pg);
    if (pg.has_truth)
        section_truth(&pg);
    section_methods(&pg);
    section_provenance(&pg);
    if (sj_html_end(b) != 0)
        sj_buf_fail(b);
    if (sj_buf_failed(b))
        return sj_error_set(err, SJ_ERR_WORK, "out of memory writing the audit page");
    return SJ_OK;
}
