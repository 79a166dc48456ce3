/* The before/after page, written from a compare document: what alignment
 * changed in DIF, parity and agreement, what it cost (the alignment tax),
 * and the PPO training curves. */
#include "report_internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define QWK_MIN SJ_AGREE_QWK_MIN

typedef struct {
    sj_buf *w; /* the page being written; its failure flag is checked once, at the end */
    const cJSON *doc;
    const char *ref, *focal;
    int n;               /* audits */
    const char **labels; /* n labels, before first */
    int has_truth;       /* every audit has agreement with the true scores */
    int has_baseline;    /* the document has the transparent baseline scorer */
    int has_panel;       /* the document has the expert panel (--panel) */
    size_t *series;      /* n chart series (colours) of the audits, by model */
} page;

/* The index that stands for the baseline in item_of and part_of. */
#define BASELINE (-1)
/* A reference column (the baseline) is set apart from the compared
 * scorers by a rule on its left. */
#define REF_STYLE " style=\"border-left:2px solid #5a5a5a\""

/* The shared page writer (page.c), applied to this page's writer. */
#define out(pg, ...) rj_out((pg)->w, __VA_ARGS__)
#define text(pg, s) rj_text((pg)->w, (s))
#define svg(pg, plot) rj_svg((pg)->w, (plot))
#define badge(pg, cls) rj_badge((pg)->w, (cls))

/* A change with an explicit sign: "+0.12" or "−0.12". */
static const char *fmt_change(char *buf, size_t n, double v, int digits)
{
    if (isnan(v))
        return rj_fmt(buf, n, v, digits);
    char num[40];
    sj_html_format_number(v, digits, num, sizeof num);
    int zero = 1;
    for (const char *c = num; *c; c++)
        if (*c >= '1' && *c <= '9')
            zero = 0;
    snprintf(buf, n, "%s%s", v > 0 && !zero ? "+" : "", num);
    return buf;
}

/* The item object of audit k (0 = before). */
static const cJSON *item_of(const page *pg, const cJSON *row, int k)
{
    if (k == BASELINE)
        return rj_get(row, "baseline");
    if (pg->n > 2)
        return rj_path(row, "by_label", pg->labels[k]);
    return rj_get(row, k == 0 ? "before" : "after");
}

/* The parity or agreement object of audit k. */
static const cJSON *part_of(const page *pg, const char *key, int k)
{
    if (k == BASELINE)
        return rj_path(pg->doc, "baseline", key);
    const cJSON *part = rj_get(pg->doc, key);
    if (pg->n > 2)
        return rj_path(part, "by_label", pg->labels[k]);
    return rj_get(part, k == 0 ? "before" : "after");
}

static const cJSON *change_of(const page *pg, const cJSON *row, int k)
{
    if (pg->n > 2)
        return rj_path(row, "change_by_label", pg->labels[k]);
    return rj_get(row, "change");
}

/* ---- changes with intervals ------------------------------------------------------------ */

static int same(const char *a, const char *b)
{
    return a && b && strcmp(a, b) == 0;
}

/* The page's class for a verdict: improved green, worse red, else grey. */
static const char *verdict_class(const char *v)
{
    if (v && strncmp(v, "improved", 8) == 0)
        return "ok";
    if (v && strncmp(v, "worse", 5) == 0)
        return "bad";
    return "muted";
}

/* "+0.012 [−0.010, +0.034]" (no brackets without an interval). */
static void change_with_interval(page *pg, double change, const cJSON *ci, int digits)
{
    char x[48], y[48], z[48];
    int has_ci = cJSON_GetArraySize(ci) == 2;
    if (!isnan(change) || !has_ci)
        out(pg, "%s%s", fmt_change(x, sizeof x, change, digits), has_ci ? " " : "");
    if (has_ci)
        out(pg, "[%s, %s]", fmt_change(y, sizeof y, cJSON_GetArrayItem(ci, 0)->valuedouble, digits),
            fmt_change(z, sizeof z, cJSON_GetArrayItem(ci, 1)->valuedouble, digits));
}

static void verdict_span(page *pg, const char *v)
{
    out(pg, "<span class=\"%s\">", verdict_class(v));
    text(pg, v ? v : "not comparable");
    out(pg, "</span>");
}

/* "change +0.012 [−0.010, +0.034]: within noise", for a summary line. */
static void change_phrase(page *pg, const cJSON *ch, int digits)
{
    if (!ch)
        return;
    out(pg, " (change ");
    change_with_interval(pg, rj_num(ch, "change"), rj_get(ch, "change_ci"), digits);
    out(pg, ": ");
    verdict_span(pg, rj_str(ch, "verdict"));
    out(pg, ")");
}

static const cJSON *change_to(const page *pg, int k, const char *statistic, const char *scope)
{
    return rj_find_change(rj_changes_of(pg->doc, pg->labels[k]), statistic, scope);
}

/* Whether any item change to audit k rests on an interval. */
static int has_intervals(const page *pg, int k)
{
    const cJSON *row;
    cJSON_ArrayForEach(row, rj_get(pg->doc, "items"))
    {
        if (same(rj_str(change_of(pg, row, k), "basis"), "interval"))
            return 1;
    }
    return 0;
}

/* ---- summary: what changed and what it cost ----------------------------------------- */

typedef struct {
    int improved, worse, noise, flagged_before, flagged_after;
} class_moves;

static class_moves count_moves(const page *pg, int k)
{
    class_moves m = {0};
    const cJSON *row;
    cJSON_ArrayForEach(row, rj_get(pg->doc, "items"))
    {
        const cJSON *ch = change_of(pg, row, k);
        const char *v = rj_str(ch, "verdict");
        m.improved += v && strncmp(v, "improved", 8) == 0;
        m.worse += v && strncmp(v, "worse", 5) == 0;
        m.noise += same(v, "within noise");
        m.flagged_before += rj_class_rank(rj_str(ch, "class_before")) > 0;
        m.flagged_after += rj_class_rank(rj_str(ch, "class_after")) > 0;
    }
    return m;
}

/* The items of one verdict (its first word: improved, worse, within),
 * with their class change and, where known, the change in |effect| and
 * its interval; `moved_only` lists only items whose class changed. */
static void list_moves(page *pg, int k, const char *verdict, int moved_only)
{
    int first = 1;
    const cJSON *row;
    cJSON_ArrayForEach(row, rj_get(pg->doc, "items"))
    {
        const cJSON *ch = change_of(pg, row, k);
        const char *v = rj_str(ch, "verdict");
        const char *cb = rj_str(ch, "class_before"), *ca = rj_str(ch, "class_after");
        if (!v || strncmp(v, verdict, strlen(verdict)) != 0)
            continue;
        if (moved_only && (!cb || !ca || strcmp(cb, ca) == 0))
            continue;
        out(pg, "%s<strong>", first ? " " : ", ");
        text(pg, rj_str(row, "item"));
        out(pg, "</strong> ");
        text(pg, cb);
        out(pg, "\xe2\x86\x92");
        text(pg, ca);
        if (!moved_only && cJSON_IsArray(rj_get(ch, "abs_effect_change_ci"))) {
            out(pg, " (|%s| ", same(rj_str(ch, "effect"), "delta_mh") ? "\xce\x94" : "SMD/SD");
            change_with_interval(pg, rj_num(ch, "abs_effect_change"),
                                 rj_get(ch, "abs_effect_change_ci"), 3);
            out(pg, ")");
        }
        first = 0;
    }
}

/* Whether an item within noise changed class all the same. */
static int moved_in_noise(const page *pg, int k)
{
    const cJSON *row;
    cJSON_ArrayForEach(row, rj_get(pg->doc, "items"))
    {
        const cJSON *ch = change_of(pg, row, k);
        const char *cb = rj_str(ch, "class_before"), *ca = rj_str(ch, "class_after");
        if (same(rj_str(ch, "verdict"), "within noise") && cb && ca && strcmp(cb, ca) != 0)
            return 1;
    }
    return 0;
}

static void summary_dif(page *pg, int k)
{
    class_moves m = count_moves(pg, k);
    int intervals = has_intervals(pg, k);
    const char *tag = intervals ? "" : " (no interval)";
    out(pg, "<li>DIF: items with moderate or large DIF (B/C, BB/CC) went from %d to %d.",
        m.flagged_before, m.flagged_after);
    if (m.improved) {
        out(pg, " <span class=\"ok\">Improved%s:</span>", tag);
        list_moves(pg, k, "improved", 0);
        out(pg, ".");
    }
    if (m.worse) {
        out(pg, " <span class=\"bad\">Worse%s:</span>", tag);
        list_moves(pg, k, "worse", 0);
        out(pg, ".");
    }
    if (m.noise) {
        out(pg, " Within noise: %d item%s", m.noise, m.noise == 1 ? "" : "s");
        out(pg, " (the interval of the change in |effect| holds zero");
        if (moved_in_noise(pg, k)) {
            out(pg, "; class changed all the same:");
            list_moves(pg, k, "within noise", 1);
        }
        out(pg, ").");
    }
    if (!m.improved && !m.worse && !m.noise)
        out(pg, " No item changed class.");
    else if (!m.improved && !m.worse)
        out(pg, " No item improved or got worse beyond noise.");
    out(pg, "</li>\n");
}

/* -1 worse, 0 neither, 1 improved: by the change's interval where it has
 * one, else by the point change against a tolerance of 0.005 (higher is
 * better with higher_better, else closer to zero). */
static int direction(const cJSON *ch, double point, int higher_better)
{
    if (same(rj_str(ch, "basis"), "interval")) {
        const char *v = rj_str(ch, "verdict");
        return same(v, "improved") ? 1 : same(v, "worse") ? -1 : 0;
    }
    if (isnan(point) || fabs(point) <= 0.005)
        return 0;
    return (point > 0) == (higher_better != 0) ? 1 : -1;
}

static void summary_parity(page *pg, int k)
{
    const cJSON *b = part_of(pg, "parity", 0), *a = part_of(pg, "parity", k);
    char x[48], y[48], z[48], w[48];
    double db = rj_num(b, "cohens_d"), da = rj_num(a, "cohens_d");
    out(pg,
        "<li>Total-score gap (focal \xe2\x88\x92 reference): %s \xe2\x86\x92 %s points, Cohen's "
        "d %s \xe2\x86\x92 %s",
        rj_fmt(x, sizeof x, rj_num(b, "mean_diff"), 2),
        rj_fmt(y, sizeof y, rj_num(a, "mean_diff"), 2), rj_fmt(z, sizeof z, db, 2),
        rj_fmt(w, sizeof w, da, 2));
    const cJSON *ch = change_to(pg, k, "parity.cohens_d", "all");
    if (!isnan(db) && !isnan(da)) {
        int d = direction(ch, fabs(da) - fabs(db), 0);
        out(pg, " (the gap %s; |d| ",
            d > 0                                   ? "narrowed"
            : d < 0                                 ? "widened"
            : same(rj_str(ch, "basis"), "interval") ? "changed within noise"
                                                    : "is about the same");
        change_with_interval(pg, fabs(da) - fabs(db), rj_get(ch, "change_ci"), 3);
        out(pg, "%s)", same(rj_str(ch, "basis"), "interval") ? "" : ", no interval");
    }
    double ab = rj_num(b, "adverse_impact_ratio"), aa = rj_num(a, "adverse_impact_ratio");
    if (!isnan(ab) || !isnan(aa))
        out(pg, "; adverse impact ratio %s \xe2\x86\x92 %s%s", rj_fmt(x, sizeof x, ab, 2),
            rj_fmt(y, sizeof y, aa, 2),
            cJSON_IsTrue(rj_get(a, "four_fifths_flag"))   ? " (still below four-fifths)"
            : cJSON_IsTrue(rj_get(b, "four_fifths_flag")) ? " (now within four-fifths)"
                                                          : "");
    out(pg, ".</li>\n");
}

/* The alignment tax: agreement with human scores given up for the change. */
static void summary_tax(page *pg, int k)
{
    const cJSON *b = part_of(pg, "agreement", 0), *a = part_of(pg, "agreement", k);
    if (!cJSON_IsObject(b) || !cJSON_IsObject(a)) {
        out(pg, "<li class=\"muted\">Alignment tax: not assessed (an audit without human "
                "scores).</li>\n");
        return;
    }
    char x[48], y[48], z[48];
    double qb = rj_num(b, "qwk"), qa = rj_num(a, "qwk");
    double eb = rj_num(b, "exact"), ea = rj_num(a, "exact");
    const cJSON *ch = change_to(pg, k, "agreement.qwk", "all");
    int interval = same(rj_str(ch, "basis"), "interval");
    /* Without an interval the older rule also counts exact agreement. */
    int d = interval                                 ? direction(ch, qa - qb, 1)
            : (qa - qb < -0.005 || ea - eb < -0.005) ? -1
            : (qa - qb > 0.005 || ea - eb > 0.005)   ? 1
                                                     : 0;
    out(pg, "<li%s>Alignment tax: ", d < 0 ? " class=\"warn\"" : "");
    out(pg, "%s%s",
        d < 0      ? "agreement with human scores fell"
        : d > 0    ? "none \xe2\x80\x94 agreement with human scores rose"
        : interval ? "none \xe2\x80\x94 agreement with human scores held within noise"
                   : "none \xe2\x80\x94 agreement with human scores held",
        interval ? "" : " (no interval)");
    out(pg, ": QWK %s \xe2\x86\x92 %s", rj_fmt(x, sizeof x, qb, 3), rj_fmt(y, sizeof y, qa, 3));
    if (ch)
        change_phrase(pg, ch, 3);
    out(pg, ", exact agreement %s \xe2\x86\x92 %s%% (%s points)", rj_fmt(x, sizeof x, 100 * eb, 1),
        rj_fmt(y, sizeof y, 100 * ea, 1), fmt_change(z, sizeof z, 100 * (ea - eb), 1));
    double fb = rj_num(rj_path(b, "by_group", pg->focal), "qwk");
    double fa = rj_num(rj_path(a, "by_group", pg->focal), "qwk");
    if (!isnan(fb) || !isnan(fa))
        out(pg, "; focal group QWK %s \xe2\x86\x92 %s", rj_fmt(x, sizeof x, fb, 3),
            rj_fmt(y, sizeof y, fa, 3));
    if (!isnan(qa) && qa < QWK_MIN)
        out(pg, ". <span class=\"bad\">QWK is now below .70.</span>");
    out(pg, ".</li>\n");
}

/* What alignment bought in agreement with the true scores, beside what it
 * cost in agreement with the human scores. */
static void summary_truth(page *pg, int k)
{
    if (!pg->has_truth)
        return;
    const cJSON *b = part_of(pg, "truth_agreement", 0), *a = part_of(pg, "truth_agreement", k);
    char x[48], y[48], z[48];
    double qb = rj_num(b, "qwk"), qa = rj_num(a, "qwk");
    const cJSON *ch = change_to(pg, k, "truth.qwk", "all");
    int interval = same(rj_str(ch, "basis"), "interval");
    int d = direction(ch, qa - qb, 1);
    out(pg, "<li%s>Agreement with the true scores (known in this simulation): ",
        d < 0 ? " class=\"warn\"" : "");
    out(pg, "%s%s",
        d > 0      ? "rose"
        : d < 0    ? "fell"
        : interval ? "held within noise"
                   : "held",
        interval ? "" : " (no interval)");
    out(pg, ": QWK %s \xe2\x86\x92 %s", rj_fmt(x, sizeof x, qb, 3), rj_fmt(y, sizeof y, qa, 3));
    if (ch)
        change_phrase(pg, ch, 3);
    double eb = rj_num(b, "exact"), ea = rj_num(a, "exact");
    out(pg, ", exact agreement %s \xe2\x86\x92 %s%% (%s points)", rj_fmt(x, sizeof x, 100 * eb, 1),
        rj_fmt(y, sizeof y, 100 * ea, 1), fmt_change(z, sizeof z, 100 * (ea - eb), 1));
    double fb = rj_num(rj_path(b, "by_group", pg->focal), "smd");
    double fa = rj_num(rj_path(a, "by_group", pg->focal), "smd");
    out(pg, "; focal group SMD against the truth %s \xe2\x86\x92 %s.</li>\n",
        rj_fmt(x, sizeof x, fb, 3), rj_fmt(y, sizeof y, fa, 3));
}

/* PRMSE and degradation, when the audits have several raters. */
static void summary_raters(page *pg, int k)
{
    static const char *const stats[][2] = {{"raters.prmse", "PRMSE"},
                                           {"raters.degradation_qwk", "degradation"}};
    const cJSON *ch[2] = {change_to(pg, k, stats[0][0], "all"),
                          change_to(pg, k, stats[1][0], "all")};
    if (!ch[0] && !ch[1])
        return;
    char x[48], y[48];
    out(pg, "<li>Several raters:");
    for (int i = 0; i < 2; i++) {
        if (!ch[i])
            continue;
        double vb = rj_num(ch[i], "before"), va = rj_num(ch[i], "after");
        out(pg, "%s %s", i && ch[0] ? ";" : "", stats[i][1]);
        if (!isnan(vb) && !isnan(va))
            out(pg, " %s \xe2\x86\x92 %s", rj_fmt(x, sizeof x, vb, 3), rj_fmt(y, sizeof y, va, 3));
        change_phrase(pg, ch[i], 3);
    }
    out(pg, ".</li>\n");
}

/* Which scorer the true scores favour, in one sentence. */
static void truth_verdict(page *pg)
{
    const cJSON *truth = rj_get(pg->doc, "truth_agreement");
    const cJSON *best = rj_get(truth, "best");
    int n = cJSON_GetArraySize(best);
    char x[48];
    if (n == 0) {
        out(pg, "<p class=\"muted\">No audit has a defined QWK with the true scores.</p>\n");
        return;
    }
    out(pg, "<p class=\"note\"><strong>");
    for (int i = 0; i < n; i++) {
        out(pg, "%s", i == 0 ? "" : i == n - 1 ? " and " : ", ");
        text(pg, cJSON_GetArrayItem(best, i)->valuestring);
    }
    out(pg, "</strong> %s best with the true scores (QWK %s)", n > 1 ? "agree equally" : "agrees",
        rj_fmt(x, sizeof x, rj_num(truth, "best_qwk"), 3));
    const cJSON *human = rj_get(truth, "human");
    if (cJSON_IsObject(human))
        out(pg, "; the human scores the scorers learned from reach QWK %s with the truth",
            rj_fmt(x, sizeof x, rj_num(human, "qwk"), 3));
    out(pg, ".</p>\n");
}

/* Reward hacking shows as the reward model's score rising while the gold
 * score falls from its peak. */
static void summary_training(page *pg)
{
    const cJSON *log = rj_get(pg->doc, "training_log");
    if (!cJSON_IsObject(log))
        return;
    int n = cJSON_GetArraySize(rj_get(log, "steps"));
    if (n == 0)
        return;
    rj_trend rew, kl, gold;
    int has_rew = rj_training_trend(log, "eval/reward", "objective/scores", &rew);
    int has_kl = rj_training_trend(log, NULL, "objective/kl", &kl);
    int has_gold = rj_training_trend(log, "gold/eval", "gold/scores", &gold);
    char x[48], y[48], z[48];
    out(pg, "<li>PPO training (%d logged steps):", n);
    if (has_rew)
        out(pg, " %s %s \xe2\x86\x92 %s",
            rew.fixed_set ? "reward-model score on the fixed evaluation set" : "reward-model score",
            rj_fmt(x, sizeof x, rew.first, 3), rj_fmt(y, sizeof y, rew.last, 3));
    if (has_kl)
        out(pg, "; final KL to the reference policy %s", rj_fmt(x, sizeof x, kl.last, 3));
    if (!has_gold) {
        out(pg, "; no gold score in the log, so reward hacking cannot be checked.</li>\n");
        return;
    }
    out(pg, "; %s %s \xe2\x86\x92 %s",
        gold.fixed_set ? "gold score on the fixed evaluation set" : "gold score",
        rj_fmt(x, sizeof x, gold.first, 3), rj_fmt(y, sizeof y, gold.last, 3));
    if (gold.fell)
        out(pg,
            ". <span class=\"bad\">The gold score peaked at step %.0f (%s) and fell "
            "afterwards while training went on: a sign of reward hacking; an earlier "
            "checkpoint may be the better scorer.</span></li>\n",
            gold.peak_step, rj_fmt(z, sizeof z, gold.peak, 3));
    else
        out(pg, ".</li>\n");
}

/* The baseline's own lines of the document (its agreement with the human
 * and the true scores, and its DIF), beside the scorers compared: a
 * reference, so neither improved nor worsened. */
static void summary_baseline(page *pg)
{
    const cJSON *base = rj_get(pg->doc, "baseline");
    out(pg, "<h3>Beside the transparent word-overlap baseline</h3>\n<div "
            "class=\"summary\"><ul>\n");
    const cJSON *line;
    cJSON_ArrayForEach(line, rj_get(base, "summary"))
    {
        out(pg, "<li>");
        text(pg, cJSON_IsString(line) ? line->valuestring : "");
        out(pg, ".</li>\n");
    }
    out(pg, "</ul></div>\n<p class=\"note\">The baseline (<code>sjtalign baseline</code>) "
            "scores a response by its word overlap with the rubric anchors and with scored "
            "training answers, its length and its item's mean, in a model whose every "
            "coefficient can be read. It is fitted on the same human scores, so it carries "
            "their bias too. A language-model scorer that does not agree more closely than "
            "it has learned no more than the answers' words. It is a reference, not a step of "
            "alignment: the Baseline columns below stand apart and no change is computed "
            "against them.</p>\n");
}

/* On which persons the audits were evaluated (the held-out note). */
static void evaluation_note(page *pg)
{
    const cJSON *e = rj_get(pg->doc, "evaluation");
    const char *note = rj_str(e, "note");
    if (!note)
        return;
    int same_persons = !cJSON_IsFalse(rj_get(e, "same_persons"));
    out(pg, "<p class=\"%s\"><strong>Persons evaluated.</strong> ", same_persons ? "note" : "warn");
    text(pg, note);
    out(pg, ".</p>\n");
}

/* Whether any after's changes rest on bootstrap intervals. */
static int any_intervals(const page *pg)
{
    for (int k = 1; k < pg->n; k++)
        if (has_intervals(pg, k))
            return 1;
    return 0;
}

static void summary_rule_note(page *pg)
{
    if (any_intervals(pg))
        out(pg, "<p class=\"note\">A change is called <span class=\"ok\">improved</span> or "
                "<span class=\"bad\">worse</span> only when its 95%% interval (a paired person "
                "bootstrap: the same resampled persons before and after, the change taken "
                "replicate by replicate) lies wholly on one side of zero, and <em>within "
                "noise</em> otherwise. For DIF the change is that of the absolute effect "
                "(|SMD/SD| or |\xce\x94<sub>MH</sub>|), so a move towards zero counts as "
                "improved. A class change (e.g. BB\xe2\x86\x92"
                "AA) is kept beside it but is "
                "never called improved on its own: an effect near a class boundary can "
                "change class by chance. Signs are focal minus reference.</p>\n");
    else
        out(pg, "<p class=\"warn\">No change interval: the audits carry no paired bootstrap "
                "replicates (bootstrap.csv from <code>sjtalign audit --bootstrap</code>, the "
                "same seed and persons in every audit), so the verdicts marked <em>(no "
                "interval)</em> follow the class rule for DIF and a tolerance of 0.005 "
                "elsewhere. Small effects near a class boundary can change class by chance: "
                "read the effect sizes below. Signs are focal minus reference.</p>\n");
}

/* What one compare page can and cannot show. */
static void seed_caveat(page *pg)
{
    out(pg, "<p class=\"caveat\"><strong>One run of one seed.</strong> Every number on this "
            "page comes from one training run with one random seed, and the intervals cover "
            "only the sampling of persons, not what another seed would have trained: a "
            "different seed can move an item's DIF, the gap and the agreement by more than "
            "the changes shown here. The page describes these scorers; a claim about what "
            "alignment does needs the replication study (<code>sjtalign study</code>, "
            "docs/STUDY.md), which repeats the pipeline over several seeds and designs.</p>\n");
}

static void section_summary(page *pg)
{
    out(pg, "<section id=\"summary\"><h2>1. What changed</h2>\n");
    seed_caveat(pg);
    sj_html_colour_key(pg->w, "improved beyond noise",
                       "a warning (agreement with the human scores fell, or the audits "
                       "evaluated different persons)",
                       "worse beyond noise, or below a threshold");
    for (int k = 1; k < pg->n; k++) {
        out(pg, "<h3>");
        text(pg, pg->labels[0]);
        out(pg, " \xe2\x86\x92 ");
        text(pg, pg->labels[k]);
        out(pg, "</h3>\n<div class=\"summary\"><ul>\n");
        summary_dif(pg, k);
        summary_parity(pg, k);
        summary_tax(pg, k);
        summary_truth(pg, k);
        summary_raters(pg, k);
        out(pg, "</ul></div>\n");
    }
    if (pg->has_truth)
        truth_verdict(pg);
    if (pg->has_baseline)
        summary_baseline(pg);
    if (cJSON_IsObject(rj_get(pg->doc, "training_log"))) {
        out(pg, "<h3>Training</h3>\n<div class=\"summary\"><ul>\n");
        summary_training(pg);
        out(pg, "</ul></div>\n");
    }
    if (pg->has_panel) {
        out(pg, "<h3>The expert panel</h3>\n<div class=\"summary\"><ul>\n");
        rj_panel_summary_html(pg->w, rj_get(pg->doc, "panel"));
        out(pg, "</ul></div>\n");
    }
    const cJSON *w;
    int any = 0;
    cJSON_ArrayForEach(w, rj_get(pg->doc, "warnings"))
    {
        out(pg, "%s", any++ ? "; " : "<p class=\"warn\">Warnings: ");
        text(pg, cJSON_IsString(w) ? w->valuestring : "");
    }
    if (any)
        out(pg, ". Numbers may not be comparable.</p>\n");
    evaluation_note(pg);
    summary_rule_note(pg);
    out(pg, "</section>\n");
}

/* ---- DIF ------------------------------------------------------------------------------ */

/* The compare document's item rows of one type (by the first audit), in
 * order, and their count in *n; the array (caller frees) has room for
 * every item. NULL, with the page marked failed, when out of memory. */
static const cJSON **rows_of_type(page *pg, int polytomous, size_t *n)
{
    int total = cJSON_GetArraySize(rj_get(pg->doc, "items"));
    const cJSON **rows = calloc((size_t)(total ? total : 1), sizeof *rows);
    *n = 0;
    if (!rows) {
        sj_buf_fail(pg->w);
        return NULL;
    }
    const cJSON *row;
    cJSON_ArrayForEach(row, rj_get(pg->doc, "items"))
    {
        rj_effect e;
        rj_dif_effect(item_of(pg, row, 0), &e);
        if (e.polytomous == polytomous)
            rows[(*n)++] = row;
    }
    return rows;
}

static void dumbbell_chart(page *pg, int polytomous, int figure_no)
{
    size_t n;
    const cJSON **rows = rows_of_type(pg, polytomous, &n);
    const char **names = calloc(n ? n : 1, sizeof *names);
    if (!rows || !names) {
        free(rows);
        free(names);
        sj_buf_fail(pg->w);
        return;
    }
    double extent = polytomous ? 0.4 : 2.0;
    for (size_t i = 0; i < n; i++) {
        names[i] = rj_str(rows[i], "item");
        for (int k = 0; k < pg->n; k++) {
            rj_effect e;
            rj_dif_effect(item_of(pg, rows[i], k), &e);
            double far = rj_effect_reach(&e);
            if (isfinite(far))
                extent = fmax(extent, far);
        }
    }
    if (n == 0) {
        free(rows);
        free(names);
        return;
    }
    /* Several aligned scorers share an item's row: give each room. */
    double row_px = pg->n > 2 ? 22.0 * (pg->n - 1) : 26.0;
    sj_plot *p =
        rj_effect_chart(80 + row_px * (double)n, "DIF effect sizes before and after alignment",
                        "One row per item: a hollow marker at the effect before "
                        "alignment, a line to a filled marker at the effect after, "
                        "over the ETS class bands.",
                        polytomous, extent, n, names);
    if (!p) {
        free(rows);
        free(names);
        sj_buf_fail(pg->w);
        return;
    }
    int afters = pg->n - 1;
    for (size_t i = 0; i < n; i++) {
        rj_effect b;
        rj_dif_effect(item_of(pg, rows[i], 0), &b);
        for (int k = 1; k < pg->n; k++) {
            rj_effect a;
            rj_dif_effect(item_of(pg, rows[i], k), &a);
            /* Several afters share a row, spread a little apart. */
            double offset = afters > 1 ? 0.5 * ((k - 1) / (double)(afters - 1) - 0.5) : 0;
            /* Intervals sit just above and below the line, markers on top. */
            sj_plot_interval(p, pg->series[0], (double)i + offset - 0.12, b.lo, b.hi);
            sj_plot_interval(p, pg->series[k], (double)i + offset + 0.12, a.lo, a.hi);
            sj_plot_dumbbell(p, (double)i + offset, b.value, a.value, pg->series[0], pg->series[k]);
        }
    }
    sj_plot_legend(p, (size_t)pg->n, pg->labels, pg->series);
    out(pg, "<figure>");
    svg(pg, p);
    out(pg, "<figcaption>Figure %d. %s per item: hollow marker ", figure_no,
        polytomous ? "SMD/SD" : "MH delta");
    text(pg, pg->labels[0]);
    out(pg, ", filled marker%s after alignment (", pg->n > 2 ? "s" : "");
    for (int k = 1; k < pg->n; k++) {
        out(pg, "%s", k > 1 ? ", " : "");
        text(pg, pg->labels[k]);
    }
    out(pg,
        "); thin whiskers are 95%% intervals (above the line: before; below: after). "
        "Shaded bands: ETS classes %s.</figcaption></figure>\n",
        polytomous ? "AA (|SMD/SD| \xe2\x89\xa4 .17), BB, CC (> .25)"
                   : "A (|\xce\x94| &lt; 1), B, C (\xe2\x89\xa5 1.5)");
    free(rows);
    free(names);
}

/* One after's change of an item in the class table: "PPO: CC→AA,
 * −0.301 [−0.412, −0.190] improved" (the change in |effect|). */
static void change_cell_line(page *pg, const cJSON *ch, int k)
{
    out(pg, "%s", k > 1 ? "<br>" : "");
    if (pg->n > 2) {
        text(pg, pg->labels[k]);
        out(pg, ": ");
    }
    text(pg, rj_str(ch, "class_before") ? rj_str(ch, "class_before") : "\xe2\x80\x94");
    out(pg, "\xe2\x86\x92");
    text(pg, rj_str(ch, "class_after") ? rj_str(ch, "class_after") : "\xe2\x80\x94");
    out(pg, ", ");
    change_with_interval(pg, rj_num(ch, "abs_effect_change"), rj_get(ch, "abs_effect_change_ci"),
                         3);
    out(pg, " ");
    verdict_span(pg, rj_str(ch, "verdict"));
}

/* The class table's two header rows: a group of class, effect and p per
 * audit (and for the baseline), the change column between them. */
static void class_table_head(page *pg, int polytomous)
{
    const char *effect = polytomous ? "SMD/SD" : "\xce\x94<sub>MH</sub>";
    out(pg, "<thead><tr><th class=\"l\" rowspan=\"2\">Item</th>");
    for (int k = 0; k < pg->n; k++) {
        out(pg, "<th class=\"grp\" colspan=\"3\">");
        text(pg, pg->labels[k]);
        out(pg, "</th>");
    }
    out(pg,
        "<th class=\"l\" rowspan=\"2\">Class change, change in |%s| [95%% interval], "
        "verdict</th>",
        effect);
    if (pg->has_baseline)
        out(pg, "<th class=\"grp\" colspan=\"3\"%s>Baseline</th>", REF_STYLE);
    out(pg, "</tr>\n<tr>");
    for (int k = 0; k < pg->n + pg->has_baseline; k++)
        out(pg, "<th class=\"l\"%s>Class</th><th>%s</th><th>p</th>", k == pg->n ? REF_STYLE : "",
            effect);
    out(pg, "</tr></thead><tbody>\n");
}

/* Class badge, effect and p of one audit's item (BASELINE: the baseline's). */
static void class_cells(page *pg, const cJSON *row, int k, int polytomous)
{
    char x[48];
    const cJSON *item = item_of(pg, row, k);
    rj_effect e;
    rj_dif_effect(item, &e);
    out(pg, "<td class=\"l\"%s>", k == BASELINE ? REF_STYLE : "");
    badge(pg, e.cls);
    out(pg, "</td><td>%s</td>", rj_fmt(x, sizeof x, e.value, polytomous ? 3 : 2));
    sj_html_format_p(rj_num(item, polytomous ? "mantel_p" : "mh_p"), x, sizeof x);
    out(pg, "<td>%s</td>", x);
}

static void class_table(page *pg, int polytomous)
{
    size_t n;
    const cJSON **rows = rows_of_type(pg, polytomous, &n);
    if (!rows)
        return;
    out(pg, "<table class=\"dif\">");
    class_table_head(pg, polytomous);
    for (size_t i = 0; i < n; i++) {
        out(pg, "<tr><td class=\"id\">");
        text(pg, rj_str(rows[i], "item"));
        out(pg, "</td>");
        for (int k = 0; k < pg->n; k++)
            class_cells(pg, rows[i], k, polytomous);
        out(pg, "<td class=\"l change\">");
        for (int k = 1; k < pg->n; k++)
            change_cell_line(pg, change_of(pg, rows[i], k), k);
        out(pg, "</td>");
        if (pg->has_baseline)
            class_cells(pg, rows[i], BASELINE, polytomous);
        out(pg, "</tr>\n");
    }
    out(pg, "</tbody></table>\n");
    free(rows);
}

/* Counts of items by class before (rows) and after (columns). */
static void transition_table(page *pg, int polytomous, int k)
{
    int m[3][3] = {{0}};
    size_t n;
    const cJSON **rows = rows_of_type(pg, polytomous, &n);
    if (!rows)
        return;
    for (size_t i = 0; i < n; i++) {
        const cJSON *ch = change_of(pg, rows[i], k);
        int b = rj_class_rank(rj_str(ch, "class_before")),
            a = rj_class_rank(rj_str(ch, "class_after"));
        if (a >= 0 && b >= 0)
            m[b][a]++;
    }
    free(rows);
    static const char *const dich[3] = {"A", "B", "C"}, *const poly[3] = {"AA", "BB", "CC"};
    const char *const *names = polytomous ? poly : dich;
    out(pg, "<div><p class=\"note\">Items by class, ");
    text(pg, pg->labels[0]);
    out(pg, " (rows) \xe2\x86\x92 ");
    text(pg, pg->labels[k]);
    out(pg, " (columns)</p><table><thead><tr><th></th>");
    for (int a = 0; a < 3; a++)
        out(pg, "<th>%s</th>", names[a]);
    out(pg, "</tr></thead><tbody>\n");
    for (int b = 0; b < 3; b++) {
        out(pg, "<tr><th class=\"l\">%s</th>", names[b]);
        for (int a = 0; a < 3; a++)
            out(pg, "<td class=\"%s\">%d</td>",
                m[b][a] == 0 ? "muted"
                : a < b      ? "ok"
                : a > b      ? "bad"
                             : "",
                m[b][a]);
        out(pg, "</tr>\n");
    }
    out(pg, "</tbody></table></div>\n");
}

static void section_dif(page *pg)
{
    out(pg, "<section id=\"dif\"><h2>2. DIF per item, before and after</h2>\n");
    int figure_no = 1;
    for (int poly = 0; poly < 2; poly++) {
        size_t n;
        free(rows_of_type(pg, poly, &n));
        if (n == 0)
            continue;
        out(pg, "<h3>%s items</h3>\n", poly ? "Polytomous" : "Dichotomous");
        dumbbell_chart(pg, poly, figure_no++);
        class_table(pg, poly);
        out(pg, "<div class=\"pair\">\n");
        for (int k = 1; k < pg->n; k++)
            transition_table(pg, poly, k);
        out(pg, "</div>\n");
        sj_html_colour_key(pg->w,
                           "improved: a smaller |effect| beyond noise, or items moved to a "
                           "smaller class",
                           NULL,
                           "worse: a larger |effect| beyond noise, or items moved to a "
                           "larger class");
    }
    out(pg, "</section>\n");
}

/* ---- parity and agreement --------------------------------------------------------------- */

typedef struct {
    const char *label;
    const char *key;   /* member of the section object, or of a group */
    const char *group; /* NULL: the section object; else a group's object */
    int digits;        /* P_VALUE: a p-value, shown as "< .001" or ".012" */
    int percent;
} measure_row;

/* The digits of a p-value row: its change is no measure of anything, so
 * the change columns stay empty. */
#define P_VALUE (-1)

/* One header cell per audit, holding its label. */
static void label_headers(page *pg)
{
    for (int k = 0; k < pg->n; k++) {
        out(pg, "<th>");
        text(pg, pg->labels[k]);
        out(pg, "</th>");
    }
}

/* The baseline's header cell, when the document has it. */
static void baseline_header(page *pg)
{
    if (pg->has_baseline)
        out(pg,
            "<th%s title=\"the transparent word-overlap scorer (sjtalign baseline), a "
            "reference\">Baseline</th>",
            REF_STYLE);
}

static double measure(const page *pg, const char *section, int k, const measure_row *r)
{
    const cJSON *part = part_of(pg, section, k);
    const cJSON *obj = part;
    if (r->group)
        obj = strcmp(section, "parity") == 0 ? rj_path(part, "groups", r->group)
                                             : rj_path(part, "by_group", r->group);
    const cJSON *v = rj_get(obj, r->key);
    if (cJSON_IsBool(v))
        return cJSON_IsTrue(v) ? 1 : 0;
    return rj_num(obj, r->key) * (r->percent ? 100 : 1);
}

/* One header cell per after: "Change (PPO − SFT)", the change from the
 * first audit. */
static void change_headers(page *pg)
{
    for (int k = 1; k < pg->n; k++) {
        out(pg, "<th>Change (");
        text(pg, pg->labels[k]);
        out(pg, " \xe2\x88\x92 ");
        text(pg, pg->labels[0]);
        out(pg, ")</th>");
    }
}

static const char *measure_text(const page *pg, const char *section, int k, const measure_row *r,
                                char *buf, size_t n)
{
    double v = measure(pg, section, k, r);
    if (r->digits == P_VALUE) {
        sj_html_format_p(v, buf, n);
        return buf;
    }
    return rj_fmt(buf, n, v, r->digits);
}

static void measure_table(page *pg, const char *section, const measure_row *rows, size_t n_rows)
{
    char x[48];
    out(pg, "<table><thead><tr><th class=\"l\">Measure</th>");
    label_headers(pg);
    change_headers(pg);
    baseline_header(pg);
    out(pg, "</tr></thead><tbody>\n");
    for (size_t r = 0; r < n_rows; r++) {
        out(pg, "<tr><th class=\"l\">%s", rows[r].label);
        if (rows[r].group) {
            out(pg, " \xe2\x80\x94 ");
            text(pg, rows[r].group);
        }
        out(pg, "</th>");
        for (int k = 0; k < pg->n; k++)
            out(pg, "<td>%s</td>", measure_text(pg, section, k, &rows[r], x, sizeof x));
        for (int k = 1; k < pg->n; k++) {
            double change = measure(pg, section, k, &rows[r]) - measure(pg, section, 0, &rows[r]);
            out(pg, "<td>%s</td>",
                rows[r].digits == P_VALUE ? "\xe2\x80\x94"
                                          : fmt_change(x, sizeof x, change, rows[r].digits));
        }
        if (pg->has_baseline)
            out(pg, "<td%s>%s</td>", REF_STYLE,
                measure_text(pg, section, BASELINE, &rows[r], x, sizeof x));
        out(pg, "</tr>\n");
    }
    out(pg, "</tbody></table>\n");
}

static int has_prefix(const char *statistic, const char *const *prefixes)
{
    for (const char *const *p = prefixes; *p; p++)
        if (statistic && strncmp(statistic, *p, strlen(*p)) == 0)
            return 1;
    return 0;
}

/* Whether (statistic, scope) of change c was listed already: it occurs in
 * the lists of an earlier after, or earlier in after k's. */
static int listed_before(const page *pg, int k, const cJSON *c)
{
    const char *st = rj_str(c, "statistic"), *sc = rj_str(c, "scope");
    for (int j = 1; j <= k; j++) {
        const cJSON *e;
        cJSON_ArrayForEach(e, rj_changes_of(pg->doc, pg->labels[j]))
        {
            if (j == k && e == c)
                return 0;
            if (same(rj_str(e, "statistic"), st) && same(rj_str(e, "scope"), sc))
                return 1;
        }
    }
    return 0;
}

static void changes_row(page *pg, const cJSON *c)
{
    const char *st = rj_str(c, "statistic"), *sc = rj_str(c, "scope");
    out(pg, "<tr><th class=\"l\">");
    text(pg, rj_str(c, "label"));
    if (same(rj_str(c, "compared"), "absolute value"))
        out(pg, " <span class=\"muted\">(|value|)</span>");
    out(pg, "</th>");
    for (int k = 1; k < pg->n; k++) {
        const cJSON *ch = change_to(pg, k, st, sc);
        if (!ch) {
            out(pg, "<td class=\"muted\">\xe2\x80\x94</td>");
            continue;
        }
        out(pg, "<td>");
        change_with_interval(pg, rj_num(ch, "change"), rj_get(ch, "change_ci"), 3);
        out(pg, " ");
        verdict_span(pg, rj_str(ch, "verdict"));
        out(pg, "</td>");
    }
    out(pg, "</tr>\n");
}

/* The changes of the statistics under `prefixes` (NULL-terminated) from
 * the first audit to each other one, with their intervals and verdicts;
 * nothing when there are none. */
static void changes_table(page *pg, const char *const *prefixes, const char *caption)
{
    int rows = 0;
    for (int k = 1; k < pg->n; k++) {
        const cJSON *c;
        cJSON_ArrayForEach(c, rj_changes_of(pg->doc, pg->labels[k]))
        {
            if (!has_prefix(rj_str(c, "statistic"), prefixes) || listed_before(pg, k, c))
                continue;
            if (rows++ == 0) {
                out(pg, "<table><caption>%s: change from ", caption);
                text(pg, pg->labels[0]);
                out(pg, " [95%% interval] and verdict</caption><thead><tr><th "
                        "class=\"l\">Statistic</th>");
                change_headers(pg);
                out(pg, "</tr></thead><tbody>\n");
            }
            changes_row(pg, c);
        }
    }
    if (rows)
        out(pg, "</tbody></table>\n");
}

/* Chart series of the across charts: overall, then the two groups in
 * their colours (reference 0, focal 1, as on every chart). */
#define SERIES_OVERALL 7 /* black: neither group */
static const size_t OVERALL_AND_GROUPS[3] = {SERIES_OVERALL, SJ_SERIES_REFERENCE, SJ_SERIES_FOCAL};
static const size_t GROUPS[2] = {SJ_SERIES_REFERENCE, SJ_SERIES_FOCAL};

/* One value per audit and series, as lines across the audits; series s
 * is drawn in colour ids[s]. */
static void across_chart(page *pg, const char *title, const char *ylabel, size_t n_series,
                         const char *const *series_names, const size_t *ids,
                         double (*value)(const page *, int, size_t), double ref_line,
                         const char *ref_label)
{
    double lo = INFINITY, hi = -INFINITY;
    double *xs = calloc((size_t)pg->n, sizeof *xs), *ys = calloc((size_t)pg->n, sizeof *ys);
    if (!xs || !ys) {
        free(xs);
        free(ys);
        sj_buf_fail(pg->w);
        return;
    }
    for (size_t s = 0; s < n_series; s++)
        for (int k = 0; k < pg->n; k++) {
            double v = value(pg, k, s);
            if (isfinite(v)) {
                lo = fmin(lo, v);
                hi = fmax(hi, v);
            }
        }
    if (isfinite(ref_line)) {
        lo = fmin(lo, ref_line);
        hi = fmax(hi, ref_line);
    }
    if (!isfinite(lo)) {
        free(xs);
        free(ys);
        return;
    }
    sj_plot *p = sj_plot_new(420, 230, title, "Values for each audit, joined by lines.");
    if (!p) {
        free(xs);
        free(ys);
        sj_buf_fail(pg->w);
        return;
    }
    sj_plot_categories(p, SJ_AXIS_X, (size_t)pg->n, pg->labels, "");
    sj_plot_axis(p, SJ_AXIS_Y, lo, hi, ylabel);
    if (isfinite(ref_line))
        sj_plot_refline(p, SJ_AXIS_Y, ref_line, ref_label);
    for (size_t s = 0; s < n_series; s++) {
        for (int k = 0; k < pg->n; k++) {
            xs[k] = k;
            ys[k] = value(pg, k, s);
        }
        sj_plot_line(p, ids[s], (size_t)pg->n, xs, ys);
        for (int k = 0; k < pg->n; k++)
            sj_plot_point_ci(p, ids[s], xs[k], ys[k], NAN, NAN);
    }
    sj_plot_legend(p, n_series, series_names, ids);
    out(pg, "<figure>");
    svg(pg, p);
    out(pg, "</figure>\n");
    free(xs);
    free(ys);
}

static double group_mean(const page *pg, int k, size_t s)
{
    const char *g = s == 0 ? pg->ref : pg->focal;
    return rj_num(rj_path(part_of(pg, "parity", k), "groups", g), "mean");
}

/* QWK of audit k in an agreement part (with the human or the true scores):
 * series 0 overall, 1 the reference group, 2 the focal group. */
static double part_qwk(const page *pg, const char *part, int k, size_t s)
{
    const cJSON *a = part_of(pg, part, k);
    if (s == 0)
        return rj_num(a, "qwk");
    return rj_num(rj_path(a, "by_group", s == 1 ? pg->ref : pg->focal), "qwk");
}

static double qwk_value(const page *pg, int k, size_t s)
{
    return part_qwk(pg, "agreement", k, s);
}

/* The measures of agreement per audit in an agreement part: overall, then
 * QWK and SMD per group; smd_label names what SMD compares. */
static void agreement_measures(page *pg, const char *part, const char *smd_label)
{
    const measure_row rows[] = {
        {"Exact agreement (%)", "exact", NULL, 1, 1},
        {"Exact + adjacent (%)", "adjacent", NULL, 1, 1},
        {"QWK", "qwk", NULL, 3, 0},
        {"Pearson r", "pearson_r", NULL, 3, 0},
        {smd_label, "smd", NULL, 3, 0},
        {"QWK", "qwk", pg->ref, 3, 0},
        {"QWK", "qwk", pg->focal, 3, 0},
        {"SMD", "smd", pg->ref, 3, 0},
        {"SMD", "smd", pg->focal, 3, 0},
    };
    measure_table(pg, part, rows, sizeof rows / sizeof *rows);
}

static void section_parity(page *pg)
{
    out(pg, "<section id=\"parity\"><h2>3. Group parity, before and after</h2>\n");
    const measure_row rows[] = {
        {"Mean total", "mean", pg->ref, 2, 0},
        {"Mean total", "mean", pg->focal, 2, 0},
        {"Mean difference (focal \xe2\x88\x92 reference)", "mean_diff", NULL, 3, 0},
        {"95% CI low", "ci95_low", NULL, 3, 0},
        {"95% CI high", "ci95_high", NULL, 3, 0},
        {"Cohen's d", "cohens_d", NULL, 3, 0},
        {"Hedges' g", "hedges_g", NULL, 3, 0},
        {"Welch p", "welch_p", NULL, P_VALUE, 0},
        {"Pass rate (%)", "pass_rate", pg->ref, 1, 1},
        {"Pass rate (%)", "pass_rate", pg->focal, 1, 1},
        {"Adverse impact ratio", "adverse_impact_ratio", NULL, 3, 0},
    };
    int has_cut = !isnan(rj_num(part_of(pg, "parity", 0), "cut"));
    measure_table(pg, "parity", rows, has_cut ? 11 : 8);
    static const char *const prefixes[] = {"parity.", NULL};
    sj_html_colour_key(pg->w, "improved beyond noise", NULL, "worse beyond noise");
    changes_table(pg, prefixes, "Parity");
    const char *names[2] = {pg->ref, pg->focal};
    across_chart(pg, "Mean total score by group across audits", "Mean total", 2, names, GROUPS,
                 group_mean, NAN, NULL);
    out(pg, "</section>\n");
}

static const cJSON *item_agreement(const page *pg, int k, const char *id)
{
    const cJSON *it;
    cJSON_ArrayForEach(it, rj_get(part_of(pg, "agreement", k), "by_item"))
    {
        const char *name = rj_str(it, "item");
        if (name && id && strcmp(name, id) == 0)
            return it;
    }
    return NULL;
}

/* Where alignment bought or cost agreement, item by item. */
static void item_agreement_table(page *pg)
{
    const cJSON *first = rj_get(part_of(pg, "agreement", 0), "by_item");
    if (cJSON_GetArraySize(first) == 0)
        return;
    char x[48];
    out(pg, "<table><caption>QWK per item</caption><thead><tr><th class=\"l\">Item</th>");
    label_headers(pg);
    change_headers(pg);
    baseline_header(pg);
    out(pg, "</tr></thead><tbody>\n");
    const cJSON *it;
    cJSON_ArrayForEach(it, first)
    {
        const char *id = rj_str(it, "item");
        out(pg, "<tr><td class=\"id\">");
        text(pg, id);
        out(pg, "</td>");
        for (int k = 0; k < pg->n; k++) {
            double q = rj_num(item_agreement(pg, k, id), "qwk");
            out(pg, "<td class=\"%s\">%s</td>", !isnan(q) && q < QWK_MIN ? "bad" : "",
                rj_fmt(x, sizeof x, q, 3));
        }
        for (int k = 1; k < pg->n; k++) {
            double change = rj_num(item_agreement(pg, k, id), "qwk") - rj_num(it, "qwk");
            out(pg, "<td>%s</td>", fmt_change(x, sizeof x, change, 3));
        }
        if (pg->has_baseline) {
            double q = rj_num(item_agreement(pg, BASELINE, id), "qwk");
            out(pg, "<td%s class=\"%s\">%s</td>", REF_STYLE, !isnan(q) && q < QWK_MIN ? "bad" : "",
                rj_fmt(x, sizeof x, q, 3));
        }
        out(pg, "</tr>\n");
    }
    out(pg, "</tbody></table>\n");
}

/* One analysis of the machine-human error for audit k: the focal
 * group's coefficient and its p. */
static void fairness_cell(page *pg, int k, const char *key)
{
    char x[48], pbuf[32];
    const cJSON *f = rj_path(part_of(pg, "agreement", k), "fairness", key);
    double p = rj_num(f, "p");
    sj_html_format_p(p, pbuf, sizeof pbuf);
    out(pg, "<td%s%s>%s (p %s)</td>", k == BASELINE ? REF_STYLE : "",
        !isnan(p) && p < 0.05 ? " class=\"warn\"" : "",
        rj_fmt(x, sizeof x, rj_num(f, "coef_focal"), 3), pbuf);
}

static void section_agreement(page *pg)
{
    out(pg, "<section id=\"agreement\"><h2>4. Agreement with human scores, before and "
            "after</h2>\n");
    for (int k = 0; k < pg->n; k++)
        if (!cJSON_IsObject(part_of(pg, "agreement", k))) {
            out(pg, "<p class=\"muted\">At least one audit has no human scores (--human), so "
                    "agreement cannot be compared.</p></section>\n");
            return;
        }
    if (pg->has_baseline)
        out(pg, "<p class=\"note\">The Baseline column is the transparent word-overlap scorer "
                "fitted on the same human scores: a reference for what word overlap alone "
                "reaches, left out of the Change column.</p>\n");
    agreement_measures(pg, "agreement", "SMD (machine \xe2\x88\x92 human)");
    sj_html_colour_key(pg->w, "improved beyond noise",
                       "the focal group's coefficient differs from zero (p < .05): the "
                       "machine\xe2\x80\x93human error depends on the group",
                       "worse beyond noise, or an item's QWK below .70");
    out(pg, "<table><caption>Fairness of the machine\xe2\x80\x93human error (focal "
            "coefficient, p)</caption><thead><tr><th class=\"l\">Analysis</th>");
    label_headers(pg);
    baseline_header(pg);
    out(pg, "</tr></thead><tbody>\n");
    static const char *const keys[3] = {"osa", "osd", "csd"};
    static const char *const names[3] = {"Overall score accuracy", "Overall score difference",
                                         "Conditional score difference"};
    for (int m = 0; m < 3; m++) {
        out(pg, "<tr><th class=\"l\">%s</th>", names[m]);
        for (int k = 0; k < pg->n; k++)
            fairness_cell(pg, k, keys[m]);
        if (pg->has_baseline)
            fairness_cell(pg, BASELINE, keys[m]);
        out(pg, "</tr>\n");
    }
    out(pg, "</tbody></table>\n");
    static const char *const prefixes[] = {"agreement.", "fairness.", NULL};
    changes_table(pg, prefixes, "Agreement and fairness");
    static const char *const raters[] = {"raters.", NULL};
    changes_table(pg, raters, "Several raters (PRMSE, degradation)");
    item_agreement_table(pg);
    const char *series[3] = {"overall", pg->ref, pg->focal};
    across_chart(pg, "QWK across audits", "QWK", 3, series, OVERALL_AND_GROUPS, qwk_value, QWK_MIN,
                 "QWK .70");
    out(pg, "</section>\n");
}

static double truth_qwk(const page *pg, int k, size_t s)
{
    return part_qwk(pg, "truth_agreement", k, s);
}

static void section_truth(page *pg)
{
    out(pg, "<section id=\"truth\"><h2>5. Agreement with the true scores, before and "
            "after</h2>\n<p>Known only in a simulation: every audit compared its modal machine "
            "scores with the true score of each response (the truth file). Unlike agreement "
            "with the human scores, which carry the raters' bias, this is the accuracy "
            "alignment aims at. SMD is scored minus true.</p>\n");
    truth_verdict(pg);
    agreement_measures(pg, "truth_agreement", "SMD (machine \xe2\x88\x92 true)");
    const cJSON *human = rj_path(pg->doc, "truth_agreement", "human");
    if (cJSON_IsObject(human)) {
        char x[48], y[48], z[48];
        out(pg,
            "<p>For comparison, the human scores against the truth: QWK %s, exact agreement "
            "%s%%, SMD %s overall",
            rj_fmt(x, sizeof x, rj_num(human, "qwk"), 3),
            rj_fmt(y, sizeof y, 100 * rj_num(human, "exact"), 1),
            rj_fmt(z, sizeof z, rj_num(human, "smd"), 3));
        for (int g = 0; g < 2; g++) {
            const char *name = g ? pg->focal : pg->ref;
            out(pg, "; group ");
            text(pg, name);
            out(pg, " SMD %s",
                rj_fmt(x, sizeof x, rj_num(rj_path(human, "by_group", name), "smd"), 3));
        }
        out(pg, ".</p>\n");
    }
    const char *series[3] = {"overall", pg->ref, pg->focal};
    static const char *const prefixes[] = {"truth.", NULL};
    sj_html_colour_key(pg->w, "improved", NULL, "worse");
    changes_table(pg, prefixes, "Agreement with the true scores");
    across_chart(pg, "QWK with the true scores across audits", "QWK", 3, series, OVERALL_AND_GROUPS,
                 truth_qwk, NAN, NULL);
    out(pg, "</section>\n");
}

/* ---- training curves ------------------------------------------------------------------ */

/* One training series on a chart: its values (one per logged step, null
 * where not logged), legend name, colour and whether it is a noisy
 * per-batch series drawn faint behind its fixed-set trend. */
typedef struct {
    const cJSON *values;
    const char *name;
    size_t colour;
    int faint;
} curve;

/* Colours of the training curves (never the groups' 0 and 1): per-batch
 * figures in light colours, the fixed-set trends in strong ones. */
enum { CURVE_BATCH_REWARD = 5, CURVE_BATCH_GOLD = 3, CURVE_FIXED_REWARD = 2, CURVE_FIXED_GOLD = 4 };

/* The range of every number in the curves into *lo, *hi. */
static void curves_range(const curve *c, size_t n, double *lo, double *hi)
{
    *lo = INFINITY;
    *hi = -INFINITY;
    for (size_t s = 0; s < n; s++) {
        const cJSON *v;
        cJSON_ArrayForEach(v, c[s].values)
        {
            if (cJSON_IsNumber(v) && isfinite(v->valuedouble)) {
                *lo = fmin(*lo, v->valuedouble);
                *hi = fmax(*hi, v->valuedouble);
            }
        }
    }
}

/* Draws a curve through its logged points only: a fixed-set series,
 * logged every --eval-every steps, is drawn through its evaluations. */
static void draw_curve(sj_plot *p, const curve *c, const double *x, int n, double *xs, double *ys)
{
    size_t m = 0;
    for (int i = 0; i < n; i++) {
        const cJSON *v = cJSON_GetArrayItem(c->values, i);
        if (cJSON_IsNumber(v) && isfinite(v->valuedouble) && isfinite(x[i])) {
            xs[m] = x[i];
            ys[m++] = v->valuedouble;
        }
    }
    if (c->faint)
        sj_plot_line_faint(p, c->colour, m, xs, ys);
    else
        sj_plot_line(p, c->colour, m, xs, ys);
}

/* The chart itself, given the steps as numbers (x, n of them) and room
 * for n points (xs, ys) and n_curves legend entries (ids, names). */
static void curve_plot(page *pg, const char *title, const char *ylabel, const double *x, int n,
                       const curve *curves, size_t n_curves, double kept_step, double *xs,
                       double *ys, size_t *ids, const char **names)
{
    double lo, hi, x0 = INFINITY, x1 = -INFINITY;
    for (int i = 0; i < n; i++)
        if (isfinite(x[i])) {
            x0 = fmin(x0, x[i]);
            x1 = fmax(x1, x[i]);
        }
    curves_range(curves, n_curves, &lo, &hi);
    if (!isfinite(lo) || !isfinite(x0))
        return;
    sj_plot *p = sj_plot_new(680, 240, title, "Training metrics over PPO steps.");
    if (!p) {
        sj_buf_fail(pg->w);
        return;
    }
    sj_plot_axis(p, SJ_AXIS_X, x0, x1, "PPO step");
    sj_plot_axis(p, SJ_AXIS_Y, lo, hi, ylabel);
    if (isfinite(kept_step))
        sj_plot_refline(p, SJ_AXIS_X, kept_step, "kept");
    for (size_t s = 0; s < n_curves; s++) {
        draw_curve(p, &curves[s], x, n, xs, ys);
        ids[s] = curves[s].colour;
        names[s] = curves[s].name;
    }
    sj_plot_legend(p, n_curves, names, ids);
    out(pg, "<figure>");
    svg(pg, p);
    out(pg, "</figure>\n");
}

/* A chart of training series over the steps; kept_step (NaN: none) is
 * marked by a vertical line, the checkpoint the run saved. */
static void curve_chart(page *pg, const char *title, const char *ylabel, const cJSON *steps,
                        const curve *curves, size_t n_curves, double kept_step)
{
    int n = cJSON_GetArraySize(steps);
    size_t cap = (size_t)(n ? n : 1);
    double *x = calloc(cap, sizeof *x), *xs = calloc(cap, sizeof *xs),
           *ys = calloc(cap, sizeof *ys);
    size_t *ids = calloc(n_curves ? n_curves : 1, sizeof *ids);
    const char **names = calloc(n_curves ? n_curves : 1, sizeof *names);
    if (!x || !xs || !ys || !ids || !names) {
        sj_buf_fail(pg->w);
    } else {
        for (int i = 0; i < n; i++) {
            const cJSON *s = cJSON_GetArrayItem(steps, i);
            x[i] = cJSON_IsNumber(s) ? s->valuedouble : NAN;
        }
        curve_plot(pg, title, ylabel, x, n, curves, n_curves, kept_step, xs, ys, ids, names);
    }
    free(x);
    free(xs);
    free(ys);
    free(ids);
    free(names);
}

/* The checkpoint the PPO run saved and why (the log's "kept", from the
 * model's config.json); nothing when the log has none. */
static void kept_line(page *pg, const cJSON *kept)
{
    if (!cJSON_IsObject(kept))
        return;
    char x[48], y[48];
    double step = rj_num(kept, "step");
    out(pg,
        "<p class=\"note\" id=\"kept-checkpoint\"><strong>Saved model: step %.0f</strong> "
        "(eval/reward %s, eval/kl %s nats, marked <em>kept</em> on the charts): ",
        step, rj_fmt(x, sizeof x, rj_num(kept, "eval_reward"), 3),
        rj_fmt(y, sizeof y, rj_num(kept, "eval_kl"), 3));
    text(pg, rj_str(kept, "why"));
    out(pg, ".</p>\n");
}

/* Reward over training: the per-batch figures faint when the log has the
 * fixed-set trend beside them. */
static void reward_chart(page *pg, const cJSON *series, const cJSON *steps, double kept_step)
{
    const cJSON *fixed_reward = rj_get(series, "eval/reward");
    const cJSON *fixed_gold = rj_get(series, "gold/eval");
    const curve all[4] = {
        {rj_get(series, "objective/scores"), "reward model (objective/scores)", CURVE_BATCH_REWARD,
         fixed_reward != NULL},
        {rj_get(series, "gold/scores"), "gold (gold/scores)", CURVE_BATCH_GOLD, fixed_gold != NULL},
        {fixed_reward, "reward model, fixed set (eval/reward)", CURVE_FIXED_REWARD, 0},
        {fixed_gold, "gold, fixed set (gold/eval)", CURVE_FIXED_GOLD, 0},
    };
    curve shown[4];
    size_t n = 0;
    for (size_t i = 0; i < 4; i++)
        if (all[i].values)
            shown[n++] = all[i];
    if (n)
        curve_chart(pg, "Reward over training", "Reward", steps, shown, n, kept_step);
}

static void kl_chart(page *pg, const cJSON *series, const cJSON *steps, double kept_step)
{
    const cJSON *fixed = rj_get(series, "eval/kl");
    if (!rj_get(series, "objective/kl"))
        return;
    const curve kl[2] = {
        {rj_get(series, "objective/kl"), "KL per rollout (objective/kl)", CURVE_BATCH_REWARD,
         fixed != NULL},
        {fixed, "KL over score levels, fixed set (eval/kl)", CURVE_FIXED_REWARD, 0},
    };
    curve_chart(pg, "KL divergence from the reference policy", "KL", steps, kl, fixed ? 2 : 1,
                kept_step);
}

/* The colour of a group's series: the reference and focal groups theirs,
 * any other group the next free colours. */
static size_t group_colour(const page *pg, const char *group, size_t *next_other)
{
    if (same(group, pg->ref))
        return SJ_SERIES_REFERENCE;
    if (same(group, pg->focal))
        return SJ_SERIES_FOCAL;
    return (*next_other)++;
}

/* Mean score by group over training ("group/<label>/mean_score"). */
static void group_chart(page *pg, const cJSON *series, const cJSON *steps, double kept_step)
{
    static const char prefix[] = "group/", suffix[] = "/mean_score";
    size_t n = 0, next_other = 2;
    const cJSON *s;
    cJSON_ArrayForEach(s, series)
    {
        n += strncmp(s->string, prefix, strlen(prefix)) == 0;
    }
    if (!n)
        return;
    curve *curves = calloc(n, sizeof *curves);
    char **owned = calloc(n, sizeof *owned);
    size_t k = 0;
    if (curves && owned) {
        cJSON_ArrayForEach(s, series)
        {
            size_t len = strlen(s->string);
            if (strncmp(s->string, prefix, strlen(prefix)) != 0)
                continue;
            size_t name_len =
                len > strlen(prefix) + strlen(suffix) ? len - strlen(prefix) - strlen(suffix) : 0;
            owned[k] = sj_strndup(s->string + strlen(prefix), name_len);
            curves[k].values = s;
            curves[k].name = owned[k] ? owned[k] : "";
            curves[k].colour = group_colour(pg, owned[k], &next_other);
            k++;
        }
        /* The reference group first, then the focal group, as in every legend. */
        for (size_t i = 1; i < k; i++)
            for (size_t j = i; j > 0 && curves[j].colour < curves[j - 1].colour; j--) {
                curve t = curves[j];
                curves[j] = curves[j - 1];
                curves[j - 1] = t;
            }
        curve_chart(pg, "Mean score by group over training", "Mean item score", steps, curves, k,
                    kept_step);
    } else {
        sj_buf_fail(pg->w);
    }
    for (size_t i = 0; owned && i < k; i++)
        free(owned[i]);
    free(owned);
    free(curves);
}

static void section_training(page *pg)
{
    const cJSON *log = rj_get(pg->doc, "training_log");
    out(pg, "<section id=\"training\"><h2>%d. Training curves</h2>\n", pg->has_truth ? 6 : 5);
    if (!cJSON_IsObject(log)) {
        out(pg, "<p class=\"muted\">No training log was given (--training-log).</p>"
                "</section>\n");
        return;
    }
    const cJSON *steps = rj_get(log, "steps");
    const cJSON *series = rj_get(log, "series");
    out(pg, "<p>From <code>");
    text(pg, rj_str(log, "path"));
    out(pg,
        "</code> (%d steps). The reward model's score (objective/scores) should rise; where "
        "a gold judge exists its score (gold/scores) should rise with it \xe2\x80\x94 a "
        "reward-model score that keeps rising while the gold score falls is reward "
        "hacking. The KL divergence from the reference policy measures how far the "
        "scorer moved. Each step's figures come from one batch of sampled rollouts and "
        "are noisy; the fixed-set figures (eval/..., gold/eval), where the log has them, "
        "are exact expectations on the same responses every time and show the trend: "
        "where both are logged, the per-batch figures are drawn faint behind the "
        "fixed-set lines.</p>\n",
        cJSON_GetArraySize(steps));
    const cJSON *kept = rj_get(log, "kept");
    double kept_step = cJSON_IsObject(kept) ? rj_num(kept, "step") : NAN;
    reward_chart(pg, series, steps, kept_step);
    kept_line(pg, kept);
    kl_chart(pg, series, steps, kept_step);
    group_chart(pg, series, steps, kept_step);
    out(pg, "</section>\n");
}

/* ---- audits and provenance ------------------------------------------------------------------ */

/* One row of the table of audits: label, folder, date, model, settings. */
static void audit_row(page *pg, const cJSON *a, const char *label)
{
    const cJSON *set = rj_get(a, "settings");
    out(pg, "<tr><td class=\"l\">");
    text(pg, label);
    out(pg, "</td><td class=\"id\"><code>");
    text(pg, rj_str(a, "dir"));
    out(pg, "</code></td><td class=\"l\">");
    text(pg, rj_str(rj_get(a, "provenance"), "created"));
    out(pg, "</td><td class=\"id\"><code>");
    text(pg, rj_str(rj_get(a, "provenance"), "model_config_sha256")
                 ? rj_str(rj_get(a, "provenance"), "model_config_sha256")
                 : "not recorded");
    out(pg, "</code></td><td class=\"l\">match ");
    text(pg, rj_str(set, "match"));
    out(pg, ", purify %s, adjust ", cJSON_IsTrue(rj_get(set, "purify")) ? "yes" : "no");
    text(pg, rj_str(set, "adjust"));
    out(pg, "</td></tr>\n");
}

static void section_provenance(page *pg)
{
    out(pg,
        "<section id=\"provenance\"><h2>%d. Audits compared and provenance</h2>\n<table>"
        "<thead><tr><th class=\"l\">Label</th><th class=\"l\">Folder</th><th "
        "class=\"l\">Audit created</th><th class=\"l\">Scoring model config</th>"
        "<th class=\"l\">Settings</th></tr></thead><tbody>\n",
        (pg->has_truth ? 7 : 6) + pg->has_panel);
    const cJSON *a;
    cJSON_ArrayForEach(a, rj_get(pg->doc, "audits"))
    {
        audit_row(pg, a, rj_str(a, "label"));
    }
    if (pg->has_baseline)
        audit_row(pg, rj_get(pg->doc, "baseline"), "baseline (reference)");
    const cJSON *prov = rj_get(pg->doc, "provenance");
    out(pg, "</tbody></table>\n<dl class=\"kv\"><dt>Tool</dt><dd>");
    text(pg, rj_str(prov, "tool"));
    out(pg, " ");
    text(pg, rj_str(prov, "version"));
    out(pg, "</dd><dt>Created</dt><dd>");
    text(pg, rj_str(prov, "created"));
    out(pg, "</dd><dt>Command</dt><dd><code>");
    text(pg, rj_str(prov, "command"));
    out(pg, "</code></dd></dl>\n");
    rj_input_files(pg->w, rj_get(prov, "inputs"), 0);
}

/* The path the panel was read from (its provenance entry), or NULL. */
static const char *panel_path(const cJSON *cmp)
{
    const cJSON *in;
    cJSON_ArrayForEach(in, rj_path(cmp, "provenance", "inputs"))
    {
        if (same(rj_str(in, "role"), "panel"))
            return rj_str(in, "path");
    }
    return NULL;
}

sj_status sj_compare_html(const cJSON *cmp, sj_buf *b, sj_error *err)
{
    const cJSON *audits = rj_get(cmp, "audits");
    int n = cJSON_GetArraySize(audits);
    if (n < 2 || !rj_str(cmp, "reference") || !rj_str(cmp, "focal") ||
        !cJSON_IsArray(rj_get(cmp, "items")))
        return sj_error_set(err, SJ_ERR_INPUT, "not a compare document");
    const char **labels = calloc((size_t)n, sizeof *labels);
    size_t *series = calloc((size_t)n, sizeof *series);
    if (!labels || !series) {
        free(labels);
        free(series);
        return sj_error_set(err, SJ_ERR_WORK, "out of memory");
    }
    for (int k = 0; k < n; k++) {
        const char *l = rj_str(cJSON_GetArrayItem(audits, k), "label");
        labels[k] = l ? l : "?";
    }
    sj_plot_model_series((size_t)n, labels, series);
    page pg = {b,
               cmp,
               rj_str(cmp, "reference"),
               rj_str(cmp, "focal"),
               n,
               labels,
               cJSON_IsObject(rj_get(cmp, "truth_agreement")),
               cJSON_IsObject(rj_get(cmp, "baseline")),
               cJSON_IsObject(rj_get(cmp, "panel")),
               series};
    rj_page_begin(b, "Before and after alignment:", rj_get(cmp, "instrument"), pg.ref, pg.focal,
                  labels, (size_t)n);
    evaluation_note(&pg);
    out(&pg, "<nav class=\"toc\"><ol><li><a href=\"#summary\">What changed</a></li><li><a "
             "href=\"#dif\">DIF per item</a></li><li><a href=\"#parity\">Group parity</a></li>"
             "<li><a href=\"#agreement\">Agreement and the alignment tax</a></li>");
    if (pg.has_truth)
        out(&pg, "<li><a href=\"#truth\">Agreement with the true scores</a></li>");
    out(&pg, "<li><a href=\"#training\">Training curves</a></li>");
    if (pg.has_panel)
        out(&pg, "<li><a href=\"#panel\">The expert panel</a></li>");
    out(&pg, "<li><a href=\"#provenance\">Audits and provenance</a></li></ol></nav>\n");
    section_summary(&pg);
    section_dif(&pg);
    section_parity(&pg);
    section_agreement(&pg);
    if (pg.has_truth)
        section_truth(&pg);
    section_training(&pg);
    if (pg.has_panel)
        rj_panel_section(b, rj_get(cmp, "panel"), panel_path(cmp), pg.has_truth ? 7 : 6);
    section_provenance(&pg);
    if (sj_html_end(b) != 0)
        sj_buf_fail(b);
    free(labels);
    free(series);
    if (sj_buf_failed(b))
        return sj_error_set(err, SJ_ERR_WORK, "out of memory writing the compare page");
    return SJ_OK;
}
