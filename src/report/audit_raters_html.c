/* "Several raters" on the audit page, written from doc["raters"]: the
 * raters' agreement with one another, the machine's with each rater and
 * with their mean, PRMSE and degradation, and Williamson, Xi & Breyer's
 * thresholds marked in words as well as colour. */
#include "report_internal.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#define MINUS "\xe2\x88\x92"
#define EN_DASH "\xe2\x80\x93"

static void number_cell(sj_buf *b, double v, int digits)
{
    char x[48];
    rj_out(b, "<td>%s</td>", rj_fmt(x, sizeof x, v, digits));
}

static void pct_cell(sj_buf *b, double share)
{
    char x[48];
    if (isnan(share))
        rj_out(b, "<td>%s</td>", rj_fmt(x, sizeof x, NAN, 0));
    else
        rj_out(b, "<td>%s%%</td>", rj_fmt(x, sizeof x, 100 * share, 1));
}

/* A value with its bootstrap interval beneath it, when there is one. */
static void value_ci_cell(sj_buf *b, const cJSON *scope, const char *key)
{
    char x[48], lo[48], hi[48], name[64];
    snprintf(name, sizeof name, "%s_ci", key);
    const cJSON *ci = rj_get(scope, name);
    rj_out(b, "<td>%s", rj_fmt(x, sizeof x, rj_num(scope, key), 3));
    if (cJSON_IsArray(ci)) {
        const cJSON *l = cJSON_GetArrayItem(ci, 0), *h = cJSON_GetArrayItem(ci, 1);
        rj_out(b, "<br><span class=\"muted\">[%s, %s]</span>",
               rj_fmt(lo, sizeof lo, cJSON_IsNumber(l) ? l->valuedouble : NAN, 3),
               rj_fmt(hi, sizeof hi, cJSON_IsNumber(h) ? h->valuedouble : NAN, 3));
    }
    rj_out(b, "</td>");
}

/* One comparison row: label, n, exact, adjacent, QWK, r, and a last cell. */
static void agreement_row(sj_buf *b, const char *label_a, const char *label_b, const cJSON *a)
{
    rj_out(b, "<tr><td class=\"l\">");
    rj_text(b, label_a);
    rj_out(b, " " EN_DASH " ");
    rj_text(b, label_b);
    rj_out(b, "</td>");
    number_cell(b, rj_num(a, "n"), 0);
    pct_cell(b, rj_num(a, "exact"));
    pct_cell(b, rj_num(a, "adjacent"));
    number_cell(b, rj_num(a, "qwk"), 3);
    number_cell(b, rj_num(a, "pearson_r"), 3);
}

static void comparisons_table(sj_buf *b, const cJSON *s)
{
    rj_out(b, "<table><caption>Agreement over the responses of both groups</caption><thead><tr>"
              "<th class=\"l\">Comparison</th><th>n</th><th>Exact</th><th>Adjacent</th>"
              "<th>QWK</th><th>r</th><th>SMD</th></tr></thead><tbody>\n");
    const cJSON *p;
    cJSON_ArrayForEach(p, rj_get(s, "human_human"))
    {
        agreement_row(b, rj_str(p, "rater_a"), rj_str(p, "rater_b"), p);
        rj_out(b, "<td></td></tr>\n");
    }
    rj_out(b, "<tr><th class=\"l\">Human" EN_DASH "human (mean over pairs)</th>");
    number_cell(b, rj_num(s, "n_multiple"), 0);
    pct_cell(b, rj_num(s, "exact_human_human"));
    pct_cell(b, rj_num(s, "adjacent_human_human"));
    value_ci_cell(b, s, "qwk_human_human");
    number_cell(b, rj_num(s, "pearson_human_human"), 3);
    rj_out(b, "<td></td></tr>\n");
    const cJSON *a;
    cJSON_ArrayForEach(a, rj_get(s, "machine_rater"))
    {
        agreement_row(b, "machine", rj_str(a, "rater"), a);
        number_cell(b, rj_num(a, "smd"), 3);
        rj_out(b, "</tr>\n");
    }
    rj_out(b, "<tr><th class=\"l\">Machine" EN_DASH "each rater (mean over raters)</th>");
    number_cell(b, rj_num(s, "n_responses"), 0);
    pct_cell(b, rj_num(s, "exact_machine_human"));
    pct_cell(b, rj_num(s, "adjacent_machine_human"));
    value_ci_cell(b, s, "qwk_machine_human");
    number_cell(b, rj_num(s, "pearson_machine_human"), 3);
    number_cell(b, rj_num(s, "smd_machine_human"), 3);
    rj_out(b, "</tr>\n<tr><th class=\"l\">Machine" EN_DASH "mean of the raters</th>");
    number_cell(b, rj_num(s, "n_responses"), 0);
    rj_out(b, "<td></td><td></td>");
    number_cell(b, rj_num(s, "qwk_machine_mean"), 3);
    value_ci_cell(b, s, "pearson_machine_mean");
    rj_out(b, "<td></td></tr>\n</tbody></table>\n");
}

static void true_score_table(sj_buf *b, const cJSON *s)
{
    char x[48];
    rj_out(b, "<table><caption>True score and degradation</caption><thead><tr>"
              "<th class=\"l\">Statistic</th><th>Value</th></tr></thead><tbody>\n");
    rj_out(b, "<tr><th class=\"l\">PRMSE of the machine score against the true score</th>");
    value_ci_cell(b, s, "prmse");
    rj_out(b,
           "</tr>\n<tr><th class=\"l\">Raters' error variance V<sub>e</sub></th><td>%s</td>"
           "</tr>\n",
           rj_fmt(x, sizeof x, rj_num(s, "error_variance"), 4));
    rj_out(b, "<tr><th class=\"l\">True-score variance V<sub>T</sub></th><td>%s</td></tr>\n",
           rj_fmt(x, sizeof x, rj_num(s, "true_score_variance"), 4));
    rj_out(b, "<tr><th class=\"l\">MSE against the true score</th><td>%s</td></tr>\n",
           rj_fmt(x, sizeof x, rj_num(s, "mse_true"), 4));
    rj_out(b, "<tr><th class=\"l\">RMSE against the mean of the raters</th><td>%s</td></tr>\n",
           rj_fmt(x, sizeof x, rj_num(s, "rmse_machine_mean"), 3));
    rj_out(b, "<tr><th class=\"l\">Degradation of QWK (machine" EN_DASH "human " MINUS
              " human" EN_DASH "human)</th>");
    value_ci_cell(b, s, "degradation_qwk");
    rj_out(b,
           "</tr>\n<tr><th class=\"l\">Degradation of r</th><td>%s</td></tr>\n"
           "</tbody></table>\n",
           rj_fmt(x, sizeof x, rj_num(s, "degradation_r"), 3));
}

/* A threshold check as value and verdict in words (colour only repeats it). */
static void check_cell(sj_buf *b, const cJSON *check)
{
    char x[48];
    const cJSON *pass = rj_get(check, "pass");
    const char *cls = cJSON_IsTrue(pass) ? "ok" : cJSON_IsFalse(pass) ? "bad" : "muted";
    const char *word = cJSON_IsTrue(pass)    ? "\xe2\x9c\x93 meets"
                       : cJSON_IsFalse(pass) ? "\xe2\x9c\x97 fails"
                                             : "no value";
    rj_out(b, "<td class=\"%s\">%s %s</td>", cls, rj_fmt(x, sizeof x, rj_num(check, "value"), 3),
           word);
}

static void thresholds_table(sj_buf *b, const cJSON *raters, const char *ref, const char *focal)
{
    static const struct {
        const char *key, *label, *rule;
    } checks[] = {
        {"qwk", "QWK machine" EN_DASH "rater (mean over raters)", "\xe2\x89\xa5 .70"},
        {"pearson_r", "r machine" EN_DASH "rater (mean over raters)", "\xe2\x89\xa5 .70"},
        {"degradation_qwk", "Degradation of QWK", "\xe2\x89\xa5 " MINUS ".10"},
        {"smd", "SMD machine" EN_DASH "rater (mean over raters)",
         "|SMD| \xe2\x89\xa4 .15 overall, \xe2\x89\xa4 .10 in a group"},
    };
    const cJSON *scopes[3] = {rj_get(raters, "overall"), rj_path(raters, "by_group", ref),
                              rj_path(raters, "by_group", focal)};
    rj_out(b, "<table><caption>Williamson, Xi &amp; Breyer (2012) thresholds</caption><thead>"
              "<tr><th class=\"l\">Check</th><th class=\"l\">Threshold</th><th>Overall</th><th>");
    rj_text(b, ref);
    rj_out(b, "</th><th>");
    rj_text(b, focal);
    rj_out(b, "</th></tr></thead><tbody>\n");
    for (size_t c = 0; c < sizeof checks / sizeof *checks; c++) {
        rj_out(b, "<tr><th class=\"l\">%s</th><td class=\"l\">%s</td>", checks[c].label,
               checks[c].rule);
        for (size_t s = 0; s < 3; s++)
            check_cell(b, rj_path(scopes[s], "thresholds", checks[c].key));
        rj_out(b, "</tr>\n");
    }
    rj_out(b, "</tbody></table>\n");
}

static void groups_table(sj_buf *b, const cJSON *raters)
{
    rj_out(b, "<table><caption>By group</caption><thead><tr><th class=\"l\">Group</th>"
              "<th>n</th><th>QWK human" EN_DASH "human</th><th>QWK machine" EN_DASH
              "rater</th><th>Degradation</th><th>r machine" EN_DASH "mean</th><th>PRMSE</th>"
              "</tr></thead><tbody>\n");
    const cJSON *g;
    cJSON_ArrayForEach(g, rj_get(raters, "by_group"))
    {
        rj_out(b, "<tr><td class=\"id\">");
        rj_text(b, g->string);
        rj_out(b, "</td>");
        number_cell(b, rj_num(g, "n_responses"), 0);
        value_ci_cell(b, g, "qwk_human_human");
        value_ci_cell(b, g, "qwk_machine_human");
        value_ci_cell(b, g, "degradation_qwk");
        value_ci_cell(b, g, "pearson_machine_mean");
        value_ci_cell(b, g, "prmse");
        rj_out(b, "</tr>\n");
    }
    rj_out(b, "</tbody></table>\n");
}

static void raters_intro(sj_buf *b, const cJSON *raters)
{
    rj_out(b, "<h3 id=\"raters\">Several raters</h3>\n<p>Raters: ");
    const cJSON *name;
    int k = 0;
    cJSON_ArrayForEach(name, rj_get(raters, "raters"))
    {
        rj_out(b, "%s<code>", k++ ? ", " : "");
        rj_text(b, cJSON_IsString(name) ? name->valuestring : "");
        rj_out(b, "</code>");
    }
    rj_out(b, ". The first, <code>");
    rj_text(b, rj_str(raters, "score_of_record"));
    rj_out(b,
           "</code>, is the score of record: the agreement, fairness and truth analyses "
           "above use it alone (as RSMTool's h1). Here every response of the two groups "
           "with a machine score and at least one rating counts (%.0f responses, %.0f of "
           "them rated twice or more); two raters are compared on the responses both "
           "scored.",
           rj_num(rj_get(raters, "overall"), "n_responses"),
           rj_num(rj_get(raters, "overall"), "n_multiple"));
    double B = rj_num(raters, "bootstrap_replicates");
    if (B > 0)
        rj_out(b,
               " Intervals in brackets: 95%% person bootstrap (%.0f replicates; persons "
               "resampled with all their responses).",
               B);
    rj_out(b, "</p>\n<p>PRMSE (Loukina et al. 2020) estimates how well the machine score "
              "predicts the true score, the mean over infinitely many raters: 1 " MINUS
              " MSE / V<sub>T</sub>, with the raters' error variance taken from the responses "
              "rated twice or more. Degradation is the machine" EN_DASH "rater QWK (mean over "
              "raters) minus the human" EN_DASH "human QWK (mean over pairs); Williamson, Xi "
              "&amp; Breyer (2012) accept no more than a 0.10 drop.</p>\n");
}

void rj_raters_html(sj_buf *b, const cJSON *doc)
{
    const cJSON *raters = rj_get(doc, "raters");
    if (!cJSON_IsObject(raters))
        return;
    const cJSON *settings = rj_get(doc, "settings");
    const char *ref = rj_str(settings, "reference"), *focal = rj_str(settings, "focal");
    raters_intro(b, raters);
    comparisons_table(b, rj_get(raters, "overall"));
    true_score_table(b, rj_get(raters, "overall"));
    thresholds_table(b, raters, ref ? ref : "", focal ? focal : "");
    groups_table(b, raters);
}
