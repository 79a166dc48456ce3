/* The reviewer's tables of an audit: score levels by group, empirical item
 * curves of the flagged items and their response sample (audit_review.h). */
#include "audit_review.h"

#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static const char *const ROLE[2] = {"reference", "focal"};
static const char *const SCORER[3] = {"machine", "human", "true"};

/* 0 for the reference group, 1 for the focal group, -1 for another. */
static int role_of(const rj_review_request *q, const char *group)
{
    return strcmp(group, q->reference) == 0 ? 0 : strcmp(group, q->focal) == 0 ? 1 : -1;
}

static int row_role(const rj_review_request *q, size_t r)
{
    return role_of(q, sj_table_cell(q->resp->table, r, (size_t)q->resp->col_group));
}

static double human_of_row(const rj_review_request *q, size_t r)
{
    double v;
    if (q->col_human < 0 ||
        sj_parse_number(sj_table_cell(q->resp->table, r, (size_t)q->col_human), &v) != 0)
        return NAN;
    return v;
}

/* The score of response r by scorer 0 (machine), 1 (human) or 2 (true);
 * NaN where it has none. */
static double row_value(const rj_review_request *q, int scorer, size_t r)
{
    if (scorer == 0)
        return q->resp->score[r];
    if (scorer == 1)
        return human_of_row(q, r);
    return q->truth ? q->truth[r] : NAN;
}

static int has_scorer(const rj_review_request *q, int scorer)
{
    return scorer == 0 || (scorer == 1 && q->col_human >= 0) || (scorer == 2 && q->truth);
}

/* ---- score levels ---------------------------------------------------------------- */

/* The rows of one scorer and scope from counts[role * n_levels + level]. */
static void level_rows(cJSON *rows, const rj_review_request *q, int scorer, const char *item,
                       const long *counts, size_t n_levels)
{
    for (int role = 0; role < 2; role++) {
        long total = 0;
        for (size_t k = 0; k < n_levels; k++)
            total += counts[(size_t)role * n_levels + k];
        for (size_t k = 0; k < n_levels; k++) {
            long n = counts[(size_t)role * n_levels + k];
            cJSON *row = cJSON_CreateObject();
            cJSON_AddStringToObject(row, "scorer", SCORER[scorer]);
            cJSON_AddStringToObject(row, "item", item);
            cJSON_AddStringToObject(row, "group", role ? q->focal : q->reference);
            cJSON_AddStringToObject(row, "role", ROLE[role]);
            cJSON_AddNumberToObject(row, "level", (double)(q->ins->score_min + (int)k));
            cJSON_AddNumberToObject(row, "n", (double)n);
            sj_json_add_number(row, "share", total ? (double)n / (double)total : NAN);
            cJSON_AddItemToArray(rows, row);
        }
    }
}

static cJSON *score_levels_json(const rj_review_request *q)
{
    const sj_instrument *ins = q->ins;
    size_t n_levels = (size_t)(ins->score_max - ins->score_min + 1);
    size_t n_scopes = ins->n_items + 1; /* all items, then each item */
    long *counts = calloc(n_scopes * 2 * n_levels, sizeof *counts);
    cJSON *o = cJSON_CreateObject();
    if (!counts || !o) {
        free(counts);
        cJSON_Delete(o);
        return NULL;
    }
    cJSON *levels = cJSON_AddArrayToObject(o, "levels");
    for (size_t k = 0; k < n_levels; k++)
        cJSON_AddItemToArray(levels, cJSON_CreateNumber(ins->score_min + (int)k));
    cJSON *scorers = cJSON_AddArrayToObject(o, "scorers");
    cJSON *rows = cJSON_AddArrayToObject(o, "rows");
    const sj_table *t = q->resp->table;
    for (int s = 0; s < 3; s++) {
        if (!has_scorer(q, s))
            continue;
        cJSON_AddItemToArray(scorers, cJSON_CreateString(SCORER[s]));
        memset(counts, 0, n_scopes * 2 * n_levels * sizeof *counts);
        for (size_t r = 0; r < t->n_rows; r++) {
            int role = row_role(q, r);
            double v = row_value(q, s, r);
            long k = isnan(v) ? -1 : lround(v) - ins->score_min;
            if (role < 0 || k < 0 || (size_t)k >= n_levels)
                continue;
            size_t scope = 1 + q->resp->item_index[r];
            counts[(size_t)role * n_levels + (size_t)k]++;
            counts[(scope * 2 + (size_t)role) * n_levels + (size_t)k]++;
        }
        level_rows(rows, q, s, "all", counts, n_levels);
        for (size_t i = 0; i < ins->n_items; i++)
            level_rows(rows, q, s, ins->items[i].id, counts + (i + 1) * 2 * n_levels, n_levels);
    }
    free(counts);
    return o;
}

/* ---- matching scores ------------------------------------------------------------- */

static int is_complete(const sj_score_data *d, size_t p)
{
    for (size_t j = 0; j < d->n_items; j++)
        if (d->scores[p * d->n_items + j] == SJ_SCORE_MISSING)
            return 0;
    return 1;
}

/* The matching score of person p for item i in the DIF `dif` reported:
 * the items of its matching set, with the studied item itself under match
 * total and without it under match rest. */
static long matching_score(const sj_score_data *d, const sj_dif_result *dif, size_t p, size_t i)
{
    long m = 0;
    for (size_t j = 0; j < d->n_items; j++) {
        int s = d->scores[p * d->n_items + j];
        if (j == i)
            m += dif->match == SJ_MATCH_TOTAL ? s : 0;
        else if (!dif->matching || dif->matching[j])
            m += s;
    }
    return m;
}

static long item_of(const sj_score_data *d, const char *id)
{
    for (size_t j = 0; j < d->n_items; j++)
        if (strcmp(d->item_ids[j], id) == 0)
            return (long)j;
    return -1;
}

/* The role of person p of d (0 reference, 1 focal, -1 other). */
static int person_role(const rj_review_request *q, const sj_score_data *d, size_t p)
{
    return role_of(q, d->group_names[d->group[p]]);
}

/* ---- item curves ----------------------------------------------------------------- */

/* Mean score of item i per matching score and group over the complete
 * persons of d; rows for the cells that have persons. -1: out of memory. */
static int curve_rows(cJSON *rows, const rj_review_request *q, int scorer, const sj_score_data *d,
                      const sj_dif_result *dif, size_t i)
{
    long lo = 0, hi = -1;
    for (size_t p = 0; p < d->n_persons; p++) {
        if (person_role(q, d, p) < 0 || !is_complete(d, p))
            continue;
        long m = matching_score(d, dif, p, i);
        if (hi < lo) {
            lo = hi = m;
        } else {
            lo = m < lo ? m : lo;
            hi = m > hi ? m : hi;
        }
    }
    if (hi < lo)
        return 0;
    size_t n_values = (size_t)(hi - lo + 1);
    long *n = calloc(2 * n_values, sizeof *n);
    double *sum = calloc(2 * n_values, sizeof *sum);
    if (!n || !sum) {
        free(n);
        free(sum);
        return -1;
    }
    for (size_t p = 0; p < d->n_persons; p++) {
        int role = person_role(q, d, p);
        if (role < 0 || !is_complete(d, p))
            continue;
        size_t cell = (size_t)role * n_values + (size_t)(matching_score(d, dif, p, i) - lo);
        n[cell]++;
        sum[cell] += d->scores[p * d->n_items + i];
    }
    for (int role = 0; role < 2; role++)
        for (size_t v = 0; v < n_values; v++) {
            size_t cell = (size_t)role * n_values + v;
            if (n[cell] == 0)
                continue;
            cJSON *row = cJSON_CreateObject();
            cJSON_AddStringToObject(row, "item", d->item_ids[i]);
            cJSON_AddStringToObject(row, "scorer", SCORER[scorer]);
            cJSON_AddStringToObject(row, "group", role ? q->focal : q->reference);
            cJSON_AddStringToObject(row, "role", ROLE[role]);
            cJSON_AddNumberToObject(row, "matching_score", (double)(lo + (long)v));
            cJSON_AddNumberToObject(row, "n", (double)n[cell]);
            cJSON_AddNumberToObject(row, "mean_item_score", sum[cell] / (double)n[cell]);
            cJSON_AddItemToArray(rows, row);
        }
    free(n);
    free(sum);
    return 0;
}

/* Why an item is plotted: its B/C (BB/CC) classes in words, or NULL. */
static char *flag_reason(const cJSON *machine, const cJSON *human)
{
    rj_effect m, h;
    rj_dif_effect(machine, &m);
    int rm = rj_class_rank(m.cls), rh = -1;
    if (human) {
        rj_dif_effect(human, &h);
        rh = rj_class_rank(h.cls);
    }
    if (rm < 1 && rh < 1)
        return NULL;
    if (rm >= 1 && rh >= 1)
        return sj_asprintf("machine class %s; human-score class %s", m.cls, h.cls);
    return rm >= 1 ? sj_asprintf("machine class %s", m.cls)
                   : sj_asprintf("human-score class %s", h.cls);
}

/* The items flagged by the machine's or the human scores' DIF, or the one
 * of the largest |machine effect| when none is: [{"item", "reason"}]. */
static cJSON *plotted_items(const cJSON *doc)
{
    const cJSON *items = rj_path(doc, "dif", "items");
    const cJSON *human = rj_path(doc, "human_dif", "items");
    cJSON *out = cJSON_CreateArray();
    const cJSON *it, *largest = NULL;
    double reach = -1;
    cJSON_ArrayForEach(it, items)
    {
        const char *id = rj_str(it, "item");
        if (!id || !out)
            continue;
        char *why = flag_reason(it, rj_item_named(human, id));
        if (why) {
            cJSON *e = cJSON_CreateObject();
            cJSON_AddStringToObject(e, "item", id);
            cJSON_AddStringToObject(e, "reason", why);
            cJSON_AddItemToArray(out, e);
            free(why);
        }
        rj_effect m;
        rj_dif_effect(it, &m);
        if (isfinite(m.value) && fabs(m.value) > reach) {
            reach = fabs(m.value);
            largest = it;
        }
    }
    if (out && cJSON_GetArraySize(out) == 0 && largest) {
        cJSON *e = cJSON_CreateObject();
        cJSON_AddStringToObject(e, "item", rj_str(largest, "item"));
        cJSON_AddStringToObject(e, "reason", "largest machine effect (no item flagged)");
        cJSON_AddItemToArray(out, e);
    }
    return out;
}

/* "item_curves" without its "plotted" list, which the caller adds. */
static cJSON *item_curves_json(const rj_review_request *q)
{
    cJSON *o = cJSON_CreateObject();
    if (!o)
        return NULL;
    cJSON_AddStringToObject(o, "match", q->dif->match == SJ_MATCH_REST ? "rest" : "total");
    cJSON_AddNumberToObject(o, "min_persons_plotted", RJ_CURVE_MIN_PERSONS);
    cJSON *rows = cJSON_AddArrayToObject(o, "rows");
    int failed = !rows;
    for (size_t i = 0; i < q->scores->n_items && !failed; i++) {
        failed |= curve_rows(rows, q, 0, q->scores, q->dif, i);
        long h =
            q->human_scores && q->human_dif ? item_of(q->human_scores, q->scores->item_ids[i]) : -1;
        if (h >= 0)
            failed |= curve_rows(rows, q, 1, q->human_scores, q->human_dif, (size_t)h);
    }
    if (failed) {
        cJSON_Delete(o);
        return NULL;
    }
    return o;
}

/* ---- the response sample ---------------------------------------------------------- */

typedef struct {
    long matching;
    const char *id;
    size_t person;
} ranked_person;

static int by_matching_then_id(const void *a, const void *b)
{
    const ranked_person *x = a, *y = b;
    if (x->matching != y->matching)
        return x->matching < y->matching ? -1 : 1;
    return strcmp(x->id, y->id);
}

typedef struct {
    double gap;
    const char *id;
    size_t row;
} ranked_row;

static int by_gap_then_id(const void *a, const void *b)
{
    const ranked_row *x = a, *y = b;
    if (x->gap != y->gap)
        return x->gap > y->gap ? -1 : 1;
    return strcmp(x->id, y->id);
}

/* One item's responses and the complete persons' matching scores. */
typedef struct {
    const rj_review_request *q;
    const char *item;
    const long *person_of_row; /* per response: its person in the machine data, or -1 */
    long *row_of;              /* per person of the machine data: the response's row, or -1 */
    long *matching;            /* per person: matching score, or LONG_MIN when incomplete */
    ranked_person *by;         /* the complete persons of both groups, sorted */
    size_t n_by;
} item_view;

static void sample_row(cJSON *rows, const item_view *v, const char *kind, int set, int role,
                       size_t r, long matching)
{
    const rj_review_request *q = v->q;
    const sj_table *t = q->resp->table;
    cJSON *row = cJSON_CreateObject();
    cJSON_AddStringToObject(row, "item", v->item);
    cJSON_AddStringToObject(row, "kind", kind);
    cJSON_AddNumberToObject(row, "set", set);
    cJSON_AddStringToObject(row, "group", role ? q->focal : q->reference);
    cJSON_AddStringToObject(row, "role", ROLE[role]);
    cJSON_AddStringToObject(row, "person", sj_table_cell(t, r, (size_t)q->resp->col_person));
    sj_json_add_number(row, "matching_score", matching == LONG_MIN ? NAN : (double)matching);
    sj_json_add_number(row, "machine_score", q->resp->score[r]);
    sj_json_add_number(row, "human_score", human_of_row(q, r));
    sj_json_add_number(row, "true_score", q->truth ? q->truth[r] : NAN);
    if (q->resp->col_text >= 0)
        cJSON_AddStringToObject(row, "response", sj_table_cell(t, r, (size_t)q->resp->col_text));
    else
        cJSON_AddNullToObject(row, "response");
    cJSON_AddItemToArray(rows, row);
}

/* The first person by id of `role` at matching score m (v->by is sorted
 * by matching score, then id), or -1. */
static long first_at(const item_view *v, int role, long m)
{
    for (size_t k = 0; k < v->n_by; k++)
        if (v->by[k].matching == m && person_role(v->q, v->q->scores, v->by[k].person) == role)
            return (long)v->by[k].person;
    return -1;
}

/* The matching score nearest to `target` (the lower one on a tie) that
 * persons of both groups have; LONG_MIN when there is none. */
static long shared_stratum(const item_view *v, long target)
{
    long best = LONG_MIN;
    /* v->by is sorted by matching score: one pass over its runs. */
    for (size_t k = 0; k < v->n_by;) {
        long m = v->by[k].matching;
        int has[2] = {0, 0};
        for (; k < v->n_by && v->by[k].matching == m; k++)
            has[person_role(v->q, v->q->scores, v->by[k].person)] = 1;
        if (!has[0] || !has[1])
            continue;
        long d = labs(m - target), bd = best == LONG_MIN ? LONG_MAX : labs(best - target);
        if (d < bd || (d == bd && m < best))
            best = m;
    }
    return best;
}

/* Focal and reference responses at equal matching score: the strata of
 * the focal group's quartiles (nearest rank), each shared stratum once. */
static void matched_pairs(cJSON *rows, const item_view *v)
{
    size_t n_focal = 0;
    for (size_t k = 0; k < v->n_by; k++)
        n_focal += person_role(v->q, v->q->scores, v->by[k].person) == 1;
    if (n_focal == 0)
        return;
    long used[RJ_SAMPLE_PAIRS] = {0};
    int n_used = 0;
    for (int quart = 1; quart <= RJ_SAMPLE_PAIRS; quart++) {
        /* nearest rank: the ceil(q n)-th focal person in matching order */
        size_t rank = (size_t)ceil((double)quart / (RJ_SAMPLE_PAIRS + 1) * (double)n_focal);
        size_t seen = 0;
        long target = 0;
        for (size_t k = 0; k < v->n_by; k++)
            if (person_role(v->q, v->q->scores, v->by[k].person) == 1 && ++seen == rank)
                target = v->by[k].matching;
        long m = shared_stratum(v, target);
        int dup = m == LONG_MIN;
        for (int u = 0; u < n_used && !dup; u++)
            dup = used[u] == m;
        if (dup)
            continue;
        used[n_used++] = m;
        long f = first_at(v, 1, m), r = first_at(v, 0, m);
        sample_row(rows, v, "matched", n_used, 1, (size_t)v->row_of[f], m);
        sample_row(rows, v, "matched", n_used, 0, (size_t)v->row_of[r], m);
    }
}

/* The responses of each group with the largest |machine - human| (at
 * least 1), largest first, then by person id. -1: out of memory. */
static int disagreements(cJSON *rows, const item_view *v)
{
    const rj_review_request *q = v->q;
    const sj_table *t = q->resp->table;
    ranked_row *cand = malloc((t->n_rows ? t->n_rows : 1) * sizeof *cand);
    if (!cand)
        return -1;
    for (int role = 0; role < 2; role++) {
        size_t n = 0;
        for (size_t r = 0; r < t->n_rows; r++) {
            const char *item = q->ins->items[q->resp->item_index[r]].id;
            double gap = fabs(q->resp->score[r] - human_of_row(q, r));
            if (strcmp(item, v->item) != 0 || row_role(q, r) != role || !(gap >= 1))
                continue;
            cand[n++] = (ranked_row){gap, sj_table_cell(t, r, (size_t)q->resp->col_person), r};
        }
        qsort(cand, n, sizeof *cand, by_gap_then_id);
        for (size_t k = 0; k < n && k < RJ_SAMPLE_DISAGREEMENTS; k++) {
            long p = v->person_of_row[cand[k].row];
            sample_row(rows, v, "disagreement", (int)k + 1, role, cand[k].row,
                       p >= 0 ? v->matching[p] : LONG_MIN);
        }
    }
    free(cand);
    return 0;
}

/* The person of every response in the machine data (-1 for none), by a
 * binary search over the person ids sorted. NULL when out of memory. */
typedef struct {
    const char *id;
    size_t person;
} person_key;

static int by_key_id(const void *a, const void *b)
{
    return strcmp(((const person_key *)a)->id, ((const person_key *)b)->id);
}

static long *persons_of_rows(const rj_review_request *q)
{
    const sj_score_data *d = q->scores;
    const sj_table *t = q->resp->table;
    person_key *keys = malloc((d->n_persons ? d->n_persons : 1) * sizeof *keys);
    long *of = malloc((t->n_rows ? t->n_rows : 1) * sizeof *of);
    if (!keys || !of) {
        free(keys);
        free(of);
        return NULL;
    }
    for (size_t p = 0; p < d->n_persons; p++)
        keys[p] = (person_key){d->person_ids[p], p};
    qsort(keys, d->n_persons, sizeof *keys, by_key_id);
    for (size_t r = 0; r < t->n_rows; r++) {
        person_key probe = {sj_table_cell(t, r, (size_t)q->resp->col_person), 0};
        const person_key *hit =
            d->n_persons ? bsearch(&probe, keys, d->n_persons, sizeof *keys, by_key_id) : NULL;
        of[r] = hit ? (long)hit->person : -1;
    }
    free(keys);
    return of;
}

static void item_view_free(item_view *v)
{
    free(v->row_of);
    free(v->matching);
    free(v->by);
}

/* The view of item `id` (an item of the machine data, index i). -1: out
 * of memory. */
static int item_view_build(item_view *v, const rj_review_request *q, const long *person_of_row,
                           const char *id, size_t i)
{
    const sj_score_data *d = q->scores;
    const sj_table *t = q->resp->table;
    size_t np = d->n_persons ? d->n_persons : 1;
    memset(v, 0, sizeof *v);
    v->q = q;
    v->item = id;
    v->person_of_row = person_of_row;
    v->row_of = malloc(np * sizeof *v->row_of);
    v->matching = malloc(np * sizeof *v->matching);
    v->by = malloc(np * sizeof *v->by);
    if (!v->row_of || !v->matching || !v->by)
        return -1;
    for (size_t p = 0; p < d->n_persons; p++)
        v->row_of[p] = -1;
    for (size_t r = 0; r < t->n_rows; r++)
        if (person_of_row[r] >= 0 && strcmp(q->ins->items[q->resp->item_index[r]].id, id) == 0)
            v->row_of[person_of_row[r]] = (long)r;
    for (size_t p = 0; p < d->n_persons; p++) {
        int ok = person_role(q, d, p) >= 0 && is_complete(d, p) && v->row_of[p] >= 0;
        v->matching[p] = ok ? matching_score(d, q->dif, p, i) : LONG_MIN;
        if (ok)
            v->by[v->n_by++] = (ranked_person){v->matching[p], d->person_ids[p], p};
    }
    qsort(v->by, v->n_by, sizeof *v->by, by_matching_then_id);
    return 0;
}

static cJSON *response_sample_json(const rj_review_request *q, const cJSON *plotted)
{
    cJSON *o = cJSON_CreateObject();
    long *person_of_row = persons_of_rows(q);
    if (!o || !person_of_row) {
        cJSON_Delete(o);
        free(person_of_row);
        return NULL;
    }
    cJSON_AddStringToObject(
        o, "rule",
        "per item plotted: focal and reference responses at equal matching score (the "
        "strata nearest the focal group's quartiles of the matching score, nearest rank; "
        "in each the first person of each group by person id), then each group's "
        "responses with the largest |machine - human| of at least 1 (ties by person id)");
    if (q->resp->col_text >= 0)
        cJSON_AddStringToObject(o, "text_column", q->resp->table->names[q->resp->col_text]);
    else
        cJSON_AddNullToObject(o, "text_column");
    cJSON *rows = cJSON_AddArrayToObject(o, "rows");
    int failed = !rows;
    const cJSON *e;
    cJSON_ArrayForEach(e, plotted)
    {
        const char *id = rj_str(e, "item");
        long i = id ? item_of(q->scores, id) : -1;
        if (i < 0 || failed)
            continue;
        item_view v;
        failed = item_view_build(&v, q, person_of_row, id, (size_t)i) != 0;
        if (!failed) {
            matched_pairs(rows, &v);
            if (q->col_human >= 0)
                failed = disagreements(rows, &v) != 0;
        }
        item_view_free(&v);
    }
    free(person_of_row);
    if (failed) {
        cJSON_Delete(o);
        return NULL;
    }
    return o;
}

int rj_review_add(cJSON *doc, const rj_review_request *q)
{
    cJSON *levels = score_levels_json(q);
    cJSON *plotted = plotted_items(doc);
    cJSON *sample = plotted ? response_sample_json(q, plotted) : NULL;
    cJSON *curves = item_curves_json(q);
    if (!levels || !plotted || !sample || !curves) {
        cJSON_Delete(levels);
        cJSON_Delete(plotted);
        cJSON_Delete(sample);
        cJSON_Delete(curves);
        return -1;
    }
    /* The curves of these items are on the page. */
    cJSON_AddItemToObject(curves, "plotted", plotted);
    cJSON_AddItemToObject(doc, "score_levels", levels);
    cJSON_AddItemToObject(doc, "item_curves", curves);
    cJSON_AddItemToObject(doc, "response_sample", sample);
    return 0;
}
