/* The expert panel of a judged pairs file checked before a reward model
 * learns from it: agreement between judges, each judge's agreement with
 * the others' majority and preference by group (sj_panel_stats_compute),
 * the judges' weights, and the documents the reward stage saves. */
#include "sjtalign/align.h"

#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

void sja_panel_free(sja_panel *p)
{
    if (!p)
        return;
    sj_panel_stats_free(&p->stats);
    free(p->judges); /* the ids are borrowed from the pairs */
    free(p->judge_weight);
    free(p->row_weight);
    cJSON_Delete(p->doc);
    free(p->csv);
    for (size_t i = 0; i < p->n_summary; i++)
        free(p->summary[i]);
    free(p->summary);
    free(p);
}

static int compare_text(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static long judge_index(const sja_panel *p, const char *id)
{
    if (!id[0])
        return -1;
    const char **at = bsearch(&id, p->judges, p->n_judges, sizeof *p->judges, compare_text);
    return at ? (long)(at - (const char **)p->judges) : -1;
}

/* The distinct non-empty judge ids of the judged rows, sorted. */
static sj_status collect_judges(const sja_pairs *pairs, sja_panel *p, sj_error *err)
{
    p->judges = malloc((pairs->n ? pairs->n : 1) * sizeof *p->judges);
    if (!p->judges)
        return sj_error_set(err, SJ_ERR_WORK, "out of memory");
    size_t n = 0;
    for (size_t i = 0; i < pairs->n; i++)
        if (pairs->pairs[i].preferred != SJA_PREF_NONE && pairs->pairs[i].judge_id[0])
            p->judges[n++] = pairs->pairs[i].judge_id;
    qsort(p->judges, n, sizeof *p->judges, compare_text);
    size_t kept = 0;
    for (size_t i = 0; i < n; i++)
        if (kept == 0 || strcmp(p->judges[kept - 1], p->judges[i]) != 0)
            p->judges[kept++] = p->judges[i];
    p->n_judges = kept;
    return SJ_OK;
}

typedef struct {
    const char *pair_id;
    size_t row;
} pair_row;

static int compare_pair_row(const void *a, const void *b)
{
    return strcmp(((const pair_row *)a)->pair_id, ((const pair_row *)b)->pair_id);
}

static int side_of(const sja_pairs *pairs, const sja_pair *q, const char *focal,
                   const char *reference)
{
    if (!pairs->has_group)
        return SJ_SIDE_NONE;
    if (focal && strcmp(q->group, focal) == 0)
        return SJ_SIDE_FOCAL;
    if (reference && strcmp(q->group, reference) == 0)
        return SJ_SIDE_REFERENCE;
    return SJ_SIDE_NONE;
}

/* One judgment per judged row (rows[] gives each judgment's row); pairs
 * numbered in pair_id order. */
static sj_status build_judgments(const sja_pairs *pairs, const sja_panel *p, const char *focal,
                                 const char *reference, sj_judgment *j, size_t *rows,
                                 size_t *n_judgments, size_t *n_pairs, sj_error *err)
{
    pair_row *pr = malloc((pairs->n ? pairs->n : 1) * sizeof *pr);
    if (!pr)
        return sj_error_set(err, SJ_ERR_WORK, "out of memory");
    size_t n = 0;
    for (size_t i = 0; i < pairs->n; i++)
        if (pairs->pairs[i].preferred != SJA_PREF_NONE)
            pr[n++] = (pair_row){pairs->pairs[i].pair_id, i};
    qsort(pr, n, sizeof *pr, compare_pair_row);
    size_t pair = 0;
    for (size_t k = 0; k < n; k++) {
        if (k > 0 && strcmp(pr[k].pair_id, pr[k - 1].pair_id) != 0)
            pair++;
        const sja_pair *q = &pairs->pairs[pr[k].row];
        rows[k] = pr[k].row;
        j[k] = (sj_judgment){.pair = pair,
                             .judge = judge_index(p, q->judge_id),
                             .choice = q->preferred == SJA_PREF_A   ? SJ_CHOICE_A
                                       : q->preferred == SJA_PREF_B ? SJ_CHOICE_B
                                                                    : SJ_CHOICE_TIE,
                             .higher = q->score_a > q->score_b   ? SJ_CHOICE_A
                                       : q->score_a < q->score_b ? SJ_CHOICE_B
                                                                 : -1,
                             .side = side_of(pairs, q, focal, reference)};
    }
    *n_judgments = n;
    *n_pairs = n ? pair + 1 : 0;
    free(pr);
    return SJ_OK;
}

/* ---- the documents ------------------------------------------------------------------ */

static void add_line(sja_panel *p, sj_buf *fail, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void add_line(sja_panel *p, sj_buf *fail, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    sj_buf line = {0};
    sj_buf_vprintf(&line, fmt, ap);
    va_end(ap);
    char **grown = realloc(p->summary, (p->n_summary + 1) * sizeof *grown);
    if (sj_buf_failed(&line) || !grown) {
        if (grown)
            p->summary = grown;
        sj_buf_free(&line);
        sj_buf_fail(fail);
        return;
    }
    p->summary = grown;
    p->summary[p->n_summary++] = line.data;
}

static void summarise_agreement(sja_panel *p, sj_buf *fail)
{
    const sj_panel_stats *s = &p->stats;
    add_line(p, fail,
             "%zu judgments of %zu pairs by %zu named judges (%zu ties); %zu pairs judged "
             "by two judges or more",
             s->n_judgments, s->n_pairs, s->n_judges, s->n_ties, s->n_overlap_pairs);
    if (s->alpha_pairs == 0)
        add_line(p, fail,
                 "Krippendorff's alpha: not computed, no pair was judged by two judges "
                 "or more (with `judge`: --overlap)");
    else if (isnan(s->alpha))
        add_line(p, fail,
                 "Krippendorff's alpha: undefined, every judgment of the %zu pairs judged "
                 "more than once made the same choice",
                 s->alpha_pairs);
    else
        add_line(p, fail, "Krippendorff's alpha (nominal: a, b, tie) = %.3f over %zu pairs",
                 s->alpha, s->alpha_pairs);
}

static void summarise_judges(sja_panel *p, const sja_pairs *pairs, const char *focal,
                             const char *reference, sj_buf *fail)
{
    const sj_panel_stats *s = &p->stats;
    size_t flagged = 0, with_group = 0;
    for (size_t k = 0; k < s->n_judges; k++) {
        const sj_judge_stats *js = &s->judges[k];
        with_group += !isnan(js->group_p);
        if (js->flag_disagrees)
            add_line(p, fail,
                     "judge %s disagrees with the others' majority: agreement %.3f over %zu "
                     "judgments (flagged below %.1f)",
                     p->judges[k], js->majority_agreement, js->majority_compared,
                     SJ_PANEL_MIN_AGREEMENT);
        if (js->flag_group)
            add_line(p, fail,
                     "judge %s prefers the higher-scoring candidate at different rates by group: "
                     "%s %.3f, %s %.3f (difference %.3f, 95%% CI [%.3f, %.3f], Holm-adjusted "
                     "p = %.3g)",
                     p->judges[k], focal, js->higher_pref_focal, reference,
                     js->higher_pref_reference, js->group_difference, js->group_ci[0],
                     js->group_ci[1], js->group_p_holm);
        flagged += js->flag_disagrees || js->flag_group;
    }
    if (!pairs->has_group)
        add_line(p, fail,
                 "preference by group not checked: the pairs have no group column "
                 "(`pairs` writes one when the responses have a group column)");
    else if (with_group == 0)
        add_line(p, fail,
                 "preference by group not checked: no judge has judgments on both '%s' and "
                 "'%s' responses with candidates of different scores",
                 focal, reference);
    if (flagged == 0)
        add_line(p, fail, "no judge flagged");
    if (p->n_unnamed)
        add_line(p, fail,
                 "%zu judgments name no judge (judge_id empty): in alpha, not in the "
                 "per-judge checks",
                 p->n_unnamed);
}

static void flags_json(cJSON *list, const sj_judge_stats *js)
{
    if (js->flag_disagrees)
        cJSON_AddItemToArray(list, cJSON_CreateString("disagrees_with_majority"));
    if (js->flag_group)
        cJSON_AddItemToArray(list, cJSON_CreateString("group_preference"));
}

static cJSON *judge_json(const sja_panel *p, size_t k)
{
    const sj_judge_stats *js = &p->stats.judges[k];
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "judge", p->judges[k]);
    cJSON_AddNumberToObject(o, "judgments", (double)js->judgments);
    cJSON_AddNumberToObject(o, "ties", (double)js->ties);
    cJSON_AddNumberToObject(o, "overlap_judgments", (double)js->overlap_judgments);
    cJSON_AddNumberToObject(o, "majority_compared", (double)js->majority_compared);
    sj_json_add_number(o, "majority_agreement", js->majority_agreement);
    sj_json_add_number(o, "higher_pref_focal", js->higher_pref_focal);
    cJSON_AddNumberToObject(o, "n_focal", (double)js->n_focal);
    sj_json_add_number(o, "higher_pref_reference", js->higher_pref_reference);
    cJSON_AddNumberToObject(o, "n_reference", (double)js->n_reference);
    sj_json_add_number(o, "group_difference", js->group_difference);
    cJSON *ci = cJSON_AddArrayToObject(o, "group_difference_ci");
    for (int e = 0; e < 2; e++)
        cJSON_AddItemToArray(ci, isfinite(js->group_ci[e]) ? cJSON_CreateNumber(js->group_ci[e])
                                                           : cJSON_CreateNull());
    sj_json_add_number(o, "group_p", js->group_p);
    sj_json_add_number(o, "group_p_holm", js->group_p_holm);
    cJSON_AddNumberToObject(o, "weight", p->judge_weight[k]);
    flags_json(cJSON_AddArrayToObject(o, "flags"), js);
    return o;
}

static cJSON *alpha_json(const sj_panel_stats *s)
{
    cJSON *a = cJSON_CreateObject();
    sj_json_add_number(a, "value", s->alpha);
    cJSON_AddNumberToObject(a, "n_pairs", (double)s->alpha_pairs);
    cJSON_AddStringToObject(a, "level", "nominal");
    cJSON *cats = cJSON_AddArrayToObject(a, "categories");
    const char *names[3] = {"a", "b", "tie"};
    for (int c = 0; c < 3; c++)
        cJSON_AddItemToArray(cats, cJSON_CreateString(names[c]));
    return a;
}

static cJSON *panel_json(const sja_panel *p, const char *focal, const char *reference,
                         int has_group, int weighting)
{
    const sj_panel_stats *s = &p->stats;
    cJSON *d = cJSON_CreateObject();
    cJSON_AddStringToObject(d, "kind", "sjtalign-panel");
    cJSON_AddNumberToObject(d, "schema_version", 1);
    cJSON_AddNumberToObject(d, "pairs", (double)s->n_pairs);
    cJSON_AddNumberToObject(d, "judgments", (double)s->n_judgments);
    cJSON_AddNumberToObject(d, "ties", (double)s->n_ties);
    cJSON_AddNumberToObject(d, "overlap_pairs", (double)s->n_overlap_pairs);
    cJSON_AddNumberToObject(d, "unnamed_judgments", (double)p->n_unnamed);
    cJSON_AddItemToObject(d, "alpha", alpha_json(s));
    cJSON *g = cJSON_AddObjectToObject(d, "groups");
    cJSON_AddItemToObject(g, "focal", has_group ? cJSON_CreateString(focal) : cJSON_CreateNull());
    cJSON_AddItemToObject(g, "reference",
                          has_group ? cJSON_CreateString(reference) : cJSON_CreateNull());
    cJSON_AddStringToObject(g, "interval", "Newcombe hybrid score, 95%");
    cJSON_AddStringToObject(g, "test", "pooled two-proportion z test; flags use Holm-adjusted p");
    cJSON *t = cJSON_AddObjectToObject(d, "thresholds");
    cJSON_AddNumberToObject(t, "majority_agreement", SJ_PANEL_MIN_AGREEMENT);
    cJSON_AddNumberToObject(t, "min_compared", SJ_PANEL_MIN_COMPARED);
    cJSON_AddNumberToObject(t, "group_p_holm", SJ_PANEL_GROUP_P);
    cJSON *js = cJSON_AddArrayToObject(d, "judges");
    for (size_t k = 0; k < p->n_judges; k++)
        cJSON_AddItemToArray(js, judge_json(p, k));
    cJSON_AddStringToObject(d, "weighting",
                            weighting == SJA_WEIGHTS_AGREEMENT ? "agreement" : "none");
    cJSON *lines = cJSON_AddArrayToObject(d, "summary");
    for (size_t i = 0; i < p->n_summary; i++)
        cJSON_AddItemToArray(lines, cJSON_CreateString(p->summary[i]));
    return d;
}

static void csv_text_cell(sj_buf *b, const char *text, int last)
{
    char *safe = sj_csv_neutralise(text);
    const char *t = safe ? safe : "";
    if (strpbrk(t, ",\"\r\n")) {
        sj_buf_append(b, "\"", 1);
        for (const char *c = t; *c; c++)
            sj_buf_append(b, *c == '"' ? "\"\"" : c, *c == '"' ? 2 : 1);
        sj_buf_append(b, "\"", 1);
    } else {
        sj_buf_append(b, t, strlen(t));
    }
    sj_buf_append(b, last ? "\n" : ",", 1);
    if (!safe)
        sj_buf_fail(b);
    free(safe);
}

static void csv_number_cell(sj_buf *b, double v)
{
    char num[40];
    sj_format_number(v, num, sizeof num);
    sj_buf_printf(b, "%s,", num);
}

static void csv_judge_row(sj_buf *b, const sja_panel *p, size_t k)
{
    const sj_judge_stats *js = &p->stats.judges[k];
    csv_text_cell(b, p->judges[k], 0);
    sj_buf_printf(b, "%zu,%zu,%zu,%zu,", js->judgments, js->ties, js->overlap_judgments,
                  js->majority_compared);
    csv_number_cell(b, js->majority_agreement);
    csv_number_cell(b, js->higher_pref_focal);
    sj_buf_printf(b, "%zu,", js->n_focal);
    csv_number_cell(b, js->higher_pref_reference);
    sj_buf_printf(b, "%zu,", js->n_reference);
    const double values[6] = {js->group_difference, js->group_ci[0],  js->group_ci[1],
                              js->group_p,          js->group_p_holm, p->judge_weight[k]};
    for (int v = 0; v < 6; v++)
        csv_number_cell(b, values[v]);
    const char *flags = js->flag_disagrees && js->flag_group
                            ? "disagrees_with_majority;group_preference"
                        : js->flag_disagrees ? "disagrees_with_majority"
                        : js->flag_group     ? "group_preference"
                                             : "";
    csv_text_cell(b, flags, 1);
}

static char *panel_csv(const sja_panel *p)
{
    sj_buf b = {0};
    for (int c = 0; c < SJ_PANEL_N_JUDGE_COLUMNS; c++)
        sj_buf_printf(&b, "%s%s", SJ_PANEL_JUDGE_COLUMNS[c],
                      c + 1 == SJ_PANEL_N_JUDGE_COLUMNS ? "\n" : ",");
    for (size_t k = 0; k < p->n_judges; k++)
        csv_judge_row(&b, p, k);
    if (sj_buf_failed(&b)) {
        sj_buf_free(&b);
        return NULL;
    }
    return b.data;
}

/* ---- the check ------------------------------------------------------------------------- */

static sj_status set_weights(sja_panel *p, const sj_judgment *j, const size_t *rows, size_t n,
                             size_t n_rows, int weighting, sj_error *err)
{
    double unnamed = 1.0;
    p->judge_weight = malloc((p->n_judges ? p->n_judges : 1) * sizeof *p->judge_weight);
    p->row_weight = sj_calloc(n_rows ? n_rows : 1, sizeof *p->row_weight);
    if (!p->judge_weight || !p->row_weight)
        return sj_error_set(err, SJ_ERR_WORK, "out of memory");
    for (size_t k = 0; k < p->n_judges; k++)
        p->judge_weight[k] = 1.0;
    if (weighting == SJA_WEIGHTS_AGREEMENT &&
        sj_panel_judge_weights(&p->stats, j, n, p->judge_weight, &unnamed, err) != SJ_OK)
        return SJ_ERR_INPUT;
    for (size_t i = 0; i < n; i++)
        p->row_weight[rows[i]] = j[i].judge < 0 ? unnamed : p->judge_weight[j[i].judge];
    return SJ_OK;
}

static sj_status panel_documents(sja_panel *p, const sja_pairs *pairs, const char *focal,
                                 const char *reference, int weighting, sj_error *err)
{
    sj_buf fail = {0};
    summarise_agreement(p, &fail);
    summarise_judges(p, pairs, focal, reference, &fail);
    if (weighting == SJA_WEIGHTS_AGREEMENT)
        add_line(p, &fail,
                 "judgments weighted by each judge's agreement with the majority, "
                 "max(0, 2 x agreement - 1), scaled to mean 1 over the judgments");
    p->doc = panel_json(p, focal, reference, pairs->has_group, weighting);
    p->csv = panel_csv(p);
    int failed = sj_buf_failed(&fail) || !p->doc || !p->csv;
    sj_buf_free(&fail);
    return failed ? sj_error_set(err, SJ_ERR_WORK, "out of memory") : SJ_OK;
}

sja_panel *sja_panel_check(const sja_pairs *pairs, const char *focal, const char *reference,
                           int weighting, sj_error *err)
{
    focal = focal ? focal : "focal";
    reference = reference ? reference : "reference";
    size_t cap = pairs->n ? pairs->n : 1, n = 0, n_pairs = 0;
    sja_panel *p = sj_calloc(1, sizeof *p);
    sj_judgment *j = malloc(cap * sizeof *j);
    size_t *rows = malloc(cap * sizeof *rows);
    sj_status st = p && j && rows ? SJ_OK : sj_error_set(err, SJ_ERR_WORK, "out of memory");
    if (st == SJ_OK)
        st = collect_judges(pairs, p, err);
    if (st == SJ_OK)
        st = build_judgments(pairs, p, focal, reference, j, rows, &n, &n_pairs, err);
    for (size_t i = 0; i < n && st == SJ_OK; i++)
        p->n_unnamed += j[i].judge < 0;
    if (st == SJ_OK)
        st = sj_panel_stats_compute(j, n, n_pairs, p->n_judges, &p->stats, err);
    if (st == SJ_OK)
        st = set_weights(p, j, rows, n, pairs->n, weighting, err);
    if (st == SJ_OK)
        st = panel_documents(p, pairs, focal, reference, weighting, err);
    free(j);
    free(rows);
    if (st != SJ_OK) {
        sja_panel_free(p);
        return NULL;
    }
    return p;
}
