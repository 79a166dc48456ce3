/* The person bootstrap of an audit: B replicates, each a resample of the
 * audit's persons with replacement (a person drawn twice brings all their
 * responses twice), and in each replicate the statistics the report
 * headlines: the DIF effect of every item (machine and, with human scores,
 * human), the change |machine| - |human| per item, agreement, fairness,
 * parity and agreement with the true scores. Persons, not responses, are
 * resampled because a person's responses are not independent.
 *
 * DIF effects of a replicate keep the point estimate's matching items (a
 * purified anchor set stays fixed) and are computed by sj_dif_effects
 * (Mantel-Haenszel and Mantel only), so 1,000 replicates stay cheap. The
 * replicates travel in the audit document as
 * doc.bootstrap.replicates[STATISTIC][SCOPE] = [B numbers or null];
 * sj_audit_write moves them into bootstrap.csv. */
#include "report_internal.h"

#include "sjtalign/dist.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LEVEL 0.95
#define ALL_SCOPE "all"

typedef enum {
    SLOT_DIF_SMD = 0,
    SLOT_DIF_SMD_OVER_SD,
    SLOT_DIF_DELTA,
    SLOT_HUMAN_SMD_OVER_SD,
    SLOT_HUMAN_DELTA,
    SLOT_ABS_CHANGE,
    SLOT_AGREE_QWK,
    SLOT_AGREE_SMD,
    SLOT_AGREE_R,
    SLOT_OSA,
    SLOT_OSD,
    SLOT_CSD,
    SLOT_MEAN_DIFF,
    SLOT_COHENS_D,
    SLOT_TRUTH_QWK,
    SLOT_KINDS
} slot_kind;

/* Statistic names of docs/OUTPUTS.md, by slot kind. */
static const char *const STATISTIC[SLOT_KINDS] = {"dif.smd",
                                                  "dif.smd_over_sd",
                                                  "dif.delta_mh",
                                                  "human_dif.smd_over_sd",
                                                  "human_dif.delta_mh",
                                                  "dif_vs_human.abs_change",
                                                  "agreement.qwk",
                                                  "agreement.smd",
                                                  "agreement.pearson_r",
                                                  "fairness.osa",
                                                  "fairness.osd",
                                                  "fairness.csd",
                                                  "parity.mean_diff",
                                                  "parity.cohens_d",
                                                  "truth.qwk"};

typedef struct {
    slot_kind kind;
    size_t index;      /* DIF row, or agreement scope (0 all, 1 reference, 2 focal) */
    const char *scope; /* points into the request's data */
} slot;

/* Observations of one replicate for sj_parity_run, grown as needed. */
typedef struct {
    double *score, *human;
    int *group;
    size_t n, cap;
} obs_buffer;

struct rj_boot_plan {
    rj_boot_request q;
    sj_bootstrap *boot;
    size_t n_rows;
    long *row_person;  /* per response: index into the persons, -1 if none */
    int *row_group;    /* per response: 0 reference, 1 focal, -1 another group */
    double *row_human; /* per response (NaN: none), or NULL */
    double *total;     /* per person: total of the machine scores, NaN if one is missing */
    int *person_group; /* per person: 0, 1 or -1 */
    slot *slots;
    size_t n_slots, cap_slots;
    sj_dif_effect *eff, *human_eff;
    obs_buffer buf;
};

/* ---- setting up -------------------------------------------------------------- */

static int add_slot(rj_boot_plan *p, slot_kind kind, size_t index, const char *scope)
{
    if (p->n_slots == p->cap_slots) {
        size_t cap = p->cap_slots ? 2 * p->cap_slots : 32;
        slot *grown = realloc(p->slots, cap * sizeof *grown);
        if (!grown)
            return -1;
        p->slots = grown;
        p->cap_slots = cap;
    }
    p->slots[p->n_slots++] = (slot){kind, index, scope};
    return 0;
}

static int group_code(const char *name, const rj_boot_request *q)
{
    return strcmp(name, q->reference) == 0 ? 0 : strcmp(name, q->focal) == 0 ? 1 : -1;
}

typedef struct {
    const char *id;
    size_t index;
} person_key;

static int compare_person_keys(const void *a, const void *b)
{
    return strcmp(((const person_key *)a)->id, ((const person_key *)b)->id);
}

static long find_person(const person_key *keys, size_t n, const char *id)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(keys[mid].id, id);
        if (c == 0)
            return (long)keys[mid].index;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return -1;
}

/* The person and group of every response row. */
static int map_rows(rj_boot_plan *p)
{
    const sj_score_data *d = p->q.scores;
    const sj_table *t = p->q.resp->table;
    person_key *keys = malloc((d->n_persons ? d->n_persons : 1) * sizeof *keys);
    if (!keys)
        return -1;
    for (size_t i = 0; i < d->n_persons; i++)
        keys[i] = (person_key){d->person_ids[i], i};
    qsort(keys, d->n_persons, sizeof *keys, compare_person_keys);
    for (size_t r = 0; r < t->n_rows; r++) {
        const char *id = sj_table_cell(t, r, (size_t)p->q.resp->col_person);
        p->row_person[r] = find_person(keys, d->n_persons, id);
        p->row_group[r] = group_code(sj_table_cell(t, r, (size_t)p->q.resp->col_group), &p->q);
    }
    free(keys);
    return 0;
}

/* Human scores per response and machine totals per person. */
static void fill_scores(rj_boot_plan *p)
{
    const sj_table *t = p->q.resp->table;
    const sj_score_data *d = p->q.scores;
    for (size_t r = 0; p->row_human && r < t->n_rows; r++)
        if (sj_parse_number(sj_table_cell(t, r, (size_t)p->q.col_human), &p->row_human[r]) != 0)
            p->row_human[r] = NAN;
    for (size_t i = 0; i < d->n_persons; i++) {
        p->total[i] = 0;
        p->person_group[i] = group_code(d->group_names[d->group[i]], &p->q);
    }
    for (size_t r = 0; r < t->n_rows; r++)
        if (p->row_person[r] >= 0)
            p->total[p->row_person[r]] += p->q.resp->score[r]; /* NaN stays NaN */
}

static int add_dif_slots(rj_boot_plan *p)
{
    const sj_dif_result *m = p->q.dif, *h = p->q.human_dif;
    int failed = 0;
    for (size_t i = 0; i < m->n_rows; i++) {
        const sj_dif_item *it = &m->rows[i];
        if (!it->tested)
            continue;
        if (it->type == SJ_ITEM_POLYTOMOUS)
            failed |= add_slot(p, SLOT_DIF_SMD, i, it->item) |
                      add_slot(p, SLOT_DIF_SMD_OVER_SD, i, it->item);
        else
            failed |= add_slot(p, SLOT_DIF_DELTA, i, it->item);
    }
    for (size_t i = 0; h && i < h->n_rows; i++) {
        const sj_dif_item *it = &h->rows[i];
        if (it->tested)
            failed |= add_slot(
                p, it->type == SJ_ITEM_POLYTOMOUS ? SLOT_HUMAN_SMD_OVER_SD : SLOT_HUMAN_DELTA, i,
                it->item);
    }
    for (size_t i = 0; h && i < m->n_rows && i < h->n_rows; i++)
        if (m->rows[i].tested && h->rows[i].tested && m->rows[i].type == h->rows[i].type)
            failed |= add_slot(p, SLOT_ABS_CHANGE, i, m->rows[i].item);
    return failed ? -1 : 0;
}

static int add_slots(rj_boot_plan *p)
{
    if (add_dif_slots(p) != 0)
        return -1;
    int failed = 0;
    if (p->row_human) {
        const char *scopes[3] = {ALL_SCOPE, p->q.reference, p->q.focal};
        for (size_t s = 0; s < 3; s++) {
            /* A group named "all" would share the overall scope's name. */
            if (s > 0 && strcmp(scopes[s], ALL_SCOPE) == 0)
                continue;
            failed |= add_slot(p, SLOT_AGREE_QWK, s, scopes[s]) |
                      add_slot(p, SLOT_AGREE_SMD, s, scopes[s]) |
                      add_slot(p, SLOT_AGREE_R, s, scopes[s]);
        }
        for (slot_kind k = SLOT_OSA; k <= SLOT_CSD; k++)
            failed |= add_slot(p, k, 0, ALL_SCOPE);
    }
    failed |= add_slot(p, SLOT_MEAN_DIFF, 0, ALL_SCOPE) | add_slot(p, SLOT_COHENS_D, 0, ALL_SCOPE);
    if (p->q.truth)
        failed |= add_slot(p, SLOT_TRUTH_QWK, 0, ALL_SCOPE);
    return failed ? -1 : 0;
}

/* Human DIF counts persons by the same index as machine DIF. */
static int same_persons(const sj_score_data *a, const sj_score_data *b)
{
    if (a->n_persons != b->n_persons)
        return 0;
    for (size_t i = 0; i < a->n_persons; i++)
        if (strcmp(a->person_ids[i], b->person_ids[i]) != 0)
            return 0;
    return 1;
}

void rj_boot_plan_free(rj_boot_plan *p)
{
    if (!p)
        return;
    sj_bootstrap_free(p->boot);
    free(p->row_person);
    free(p->row_group);
    free(p->row_human);
    free(p->total);
    free(p->person_group);
    free(p->slots);
    free(p->eff);
    free(p->human_eff);
    free(p->buf.score);
    free(p->buf.human);
    free(p->buf.group);
    free(p);
}

static int plan_alloc(rj_boot_plan *p)
{
    size_t rows = p->n_rows ? p->n_rows : 1;
    size_t persons = p->q.scores->n_persons ? p->q.scores->n_persons : 1;
    p->row_person = malloc(rows * sizeof *p->row_person);
    p->row_group = malloc(rows * sizeof *p->row_group);
    p->row_human = p->q.col_human >= 0 ? malloc(rows * sizeof *p->row_human) : NULL;
    p->total = malloc(persons * sizeof *p->total);
    p->person_group = malloc(persons * sizeof *p->person_group);
    p->eff = malloc(p->q.dif->n_rows * sizeof *p->eff);
    p->human_eff = p->q.human_dif ? malloc(p->q.human_dif->n_rows * sizeof *p->human_eff) : NULL;
    return p->row_person && p->row_group && (p->row_human || p->q.col_human < 0) && p->total &&
                   p->person_group && p->eff && (p->human_eff || !p->q.human_dif)
               ? 0
               : -1;
}

rj_boot_plan *rj_boot_plan_new(const rj_boot_request *q, sj_error *err)
{
    if (q->human_dif && (!q->human_scores || !same_persons(q->scores, q->human_scores))) {
        sj_error_set(err, SJ_ERR_WORK, "human-score DIF counts other persons than machine DIF");
        return NULL;
    }
    rj_boot_plan *p = calloc(1, sizeof *p);
    if (!p) {
        sj_error_set(err, SJ_ERR_WORK, "out of memory");
        return NULL;
    }
    p->q = *q;
    p->n_rows = q->resp->table->n_rows;
    if (plan_alloc(p) != 0 || map_rows(p) != 0 || add_slots(p) != 0) {
        rj_boot_plan_free(p);
        sj_error_set(err, SJ_ERR_WORK, "out of memory");
        return NULL;
    }
    fill_scores(p);
    p->boot = sj_bootstrap_new((const char *const *)q->scores->person_ids, q->scores->n_persons,
                               q->n_replicates, q->seed, err);
    if (!p->boot) {
        rj_boot_plan_free(p);
        return NULL;
    }
    return p;
}

size_t rj_boot_plan_slots(const rj_boot_plan *p)
{
    return p->n_slots;
}

const char *rj_boot_plan_statistic(const rj_boot_plan *p, size_t i)
{
    return STATISTIC[p->slots[i].kind];
}

const char *rj_boot_plan_scope(const rj_boot_plan *p, size_t i)
{
    return p->slots[i].scope;
}

const sj_bootstrap *rj_boot_plan_bootstrap(const rj_boot_plan *p)
{
    return p->boot;
}

/* ---- one replicate ------------------------------------------------------------ */

static int buffer_reserve(obs_buffer *b, size_t n)
{
    if (n <= b->cap)
        return 0;
    double *s = realloc(b->score, n * sizeof *s);
    if (s)
        b->score = s;
    double *h = realloc(b->human, n * sizeof *h);
    if (h)
        b->human = h;
    int *g = realloc(b->group, n * sizeof *g);
    if (g)
        b->group = g;
    if (!s || !h || !g)
        return -1;
    b->cap = n;
    return 0;
}

static void buffer_push(obs_buffer *b, unsigned copies, double score, double human, int group)
{
    for (unsigned c = 0; c < copies; c++) {
        b->score[b->n] = score;
        b->human[b->n] = human;
        b->group[b->n++] = group;
    }
}

/* sj_parity_run on the buffer's scores; 0 when it ran. */
static int run_parity(rj_boot_plan *p, sj_parity *out)
{
    char *names[2] = {(char *)p->q.reference, (char *)p->q.focal};
    sj_parity_data d = {p->buf.n, p->buf.score, NULL, p->buf.group, 2, names, 0};
    sj_error ignored;
    sj_error_clear(&ignored);
    return sj_parity_run(&d, p->q.reference, p->q.focal, NAN, out, &ignored) == SJ_OK ? 0 : -1;
}

/* Parity of the resampled persons' totals: mean_diff, cohens_d. */
static int parity_values(rj_boot_plan *p, const unsigned *counts, double v[2])
{
    size_t n = p->q.scores->n_persons, need = 0;
    for (size_t i = 0; i < n; i++)
        need += counts[i];
    if (buffer_reserve(&p->buf, need ? need : 1) != 0)
        return -1;
    p->buf.n = 0;
    for (size_t i = 0; i < n; i++)
        if (p->person_group[i] >= 0 && isfinite(p->total[i]))
            buffer_push(&p->buf, counts[i], p->total[i], NAN, p->person_group[i]);
    sj_parity par;
    v[0] = v[1] = NAN;
    if (run_parity(p, &par) == 0) {
        v[0] = par.mean_diff;
        v[1] = par.cohens_d;
        sj_parity_free(&par);
    }
    return 0;
}

/* Resampled responses of the two groups with a machine score and a human
 * score (or, with `other`, a true score in the human's place): reference
 * observations first, then focal ones; *n_ref gets how many are
 * reference. */
static int collect_pairs(rj_boot_plan *p, const unsigned *counts, const double *other,
                         size_t *n_ref)
{
    size_t need = 0;
    for (size_t r = 0; r < p->n_rows; r++)
        if (p->row_person[r] >= 0)
            need += counts[p->row_person[r]];
    if (buffer_reserve(&p->buf, need ? need : 1) != 0)
        return -1;
    p->buf.n = 0;
    const double *h = other ? other : p->row_human;
    for (int g = 0; g < 2; g++) {
        for (size_t r = 0; r < p->n_rows; r++) {
            double m = p->q.resp->score[r];
            if (p->row_person[r] < 0 || p->row_group[r] != g || isnan(m) || isnan(h[r]))
                continue;
            buffer_push(&p->buf, counts[p->row_person[r]], m, h[r], g);
        }
        if (g == 0)
            *n_ref = p->buf.n;
    }
    return 0;
}

/* The focal coefficients of the fairness regressions (parity.c) in closed
 * form, so that a replicate needs no least-squares fit. With e = machine -
 * human: osa (e^2 ~ group) and osd (e ~ group) are differences of group
 * means; csd (e ~ group + human score as a factor) is, by Frisch-Waugh,
 *   sum_h w_h (mean_F,h(e) - mean_R,h(e)) / sum_h w_h,  w_h = n_R,h n_F,h / n_h
 * over the human score levels h. As parity.c: NaN with 3 observations or
 * fewer, or more than 63 levels. */
static void fairness_values(const obs_buffer *b, size_t n_ref, double fair[3])
{
    fair[0] = fair[1] = fair[2] = NAN;
    size_t n = b->n;
    if (n <= 3 || n_ref == 0 || n_ref == n)
        return;
    double sum[2] = {0, 0}, sum2[2] = {0, 0};
    double h_min = INFINITY, h_max = -INFINITY;
    for (size_t i = 0; i < n; i++) {
        double e = b->score[i] - b->human[i];
        sum[b->group[i]] += e;
        sum2[b->group[i]] += e * e;
        h_min = fmin(h_min, b->human[i]);
        h_max = fmax(h_max, b->human[i]);
    }
    double n_g[2] = {(double)n_ref, (double)(n - n_ref)};
    fair[0] = sum2[1] / n_g[1] - sum2[0] / n_g[0];
    fair[1] = sum[1] / n_g[1] - sum[0] / n_g[0];
    size_t levels = (size_t)(h_max - h_min) + 1;
    if (!(h_max - h_min < 63))
        return;
    double cnt[64][2] = {{0}}, tot[64][2] = {{0}};
    for (size_t i = 0; i < n; i++) {
        size_t h = (size_t)(b->human[i] - h_min);
        cnt[h][b->group[i]] += 1;
        tot[h][b->group[i]] += b->score[i] - b->human[i];
    }
    double num = 0, den = 0;
    for (size_t h = 0; h < levels; h++) {
        if (cnt[h][0] <= 0 || cnt[h][1] <= 0)
            continue;
        double w = cnt[h][0] * cnt[h][1] / (cnt[h][0] + cnt[h][1]);
        num += w * (tot[h][1] / cnt[h][1] - tot[h][0] / cnt[h][0]);
        den += w;
    }
    fair[2] = den > 0 ? num / den : NAN;
}

/* Agreement (all, reference, focal: qwk, smd, r) and fairness (osa, osd,
 * csd: the focal coefficient) of the resampled responses. */
static int agreement_values(rj_boot_plan *p, const unsigned *counts, double agree[3][3],
                            double fair[3])
{
    for (int i = 0; i < 3; i++)
        agree[i][0] = agree[i][1] = agree[i][2] = fair[i] = NAN;
    size_t n_ref;
    if (!p->row_human)
        return 0;
    if (collect_pairs(p, counts, NULL, &n_ref) != 0)
        return -1;
    const obs_buffer *b = &p->buf;
    const size_t from[3] = {0, 0, n_ref}, len[3] = {b->n, n_ref, b->n - n_ref};
    for (int i = 0; i < 3; i++) {
        agree[i][0] = sj_qwk(b->score + from[i], b->human + from[i], len[i]);
        agree[i][1] = sj_smd(b->score + from[i], b->human + from[i], len[i]);
        agree[i][2] = sj_pearson_r(b->score + from[i], b->human + from[i], len[i]);
    }
    fairness_values(b, n_ref, fair);
    return 0;
}

static int truth_value(rj_boot_plan *p, const unsigned *counts, double *qwk)
{
    *qwk = NAN;
    if (!p->q.truth)
        return 0;
    size_t n_ref;
    if (collect_pairs(p, counts, p->q.truth, &n_ref) != 0)
        return -1;
    *qwk = sj_qwk(p->buf.score, p->buf.human, p->buf.n);
    return 0;
}

static double dif_value(const rj_boot_plan *p, const slot *s)
{
    const sj_dif_effect *m = &p->eff[s->index];
    const sj_dif_effect *h = p->human_eff ? &p->human_eff[s->index] : NULL;
    switch (s->kind) {
    case SLOT_DIF_SMD:
        return m->smd;
    case SLOT_DIF_SMD_OVER_SD:
        return m->smd_over_sd;
    case SLOT_DIF_DELTA:
        return m->delta_mh;
    case SLOT_HUMAN_SMD_OVER_SD:
        return h->smd_over_sd;
    case SLOT_HUMAN_DELTA:
        return h->delta_mh;
    default: { /* SLOT_ABS_CHANGE */
        int poly = p->q.dif->rows[s->index].type == SJ_ITEM_POLYTOMOUS;
        double em = poly ? m->smd_over_sd : m->delta_mh, eh = poly ? h->smd_over_sd : h->delta_mh;
        return fabs(em) - fabs(eh);
    }
    }
}

sj_status rj_boot_plan_values(rj_boot_plan *p, const unsigned *counts, double *values,
                              sj_error *err)
{
    if (sj_dif_effects(p->q.scores, p->q.dif, counts, p->eff, err) != SJ_OK ||
        (p->q.human_dif &&
         sj_dif_effects(p->q.human_scores, p->q.human_dif, counts, p->human_eff, err) != SJ_OK))
        return err->status ? err->status : SJ_ERR_WORK;
    double parity[2], agree[3][3], fair[3], truth;
    if (parity_values(p, counts, parity) != 0 || agreement_values(p, counts, agree, fair) != 0 ||
        truth_value(p, counts, &truth) != 0)
        return sj_error_set(err, SJ_ERR_WORK, "out of memory in the bootstrap");
    for (size_t i = 0; i < p->n_slots; i++) {
        const slot *s = &p->slots[i];
        switch (s->kind) {
        case SLOT_AGREE_QWK:
        case SLOT_AGREE_SMD:
        case SLOT_AGREE_R:
            values[i] = agree[s->index][s->kind - SLOT_AGREE_QWK];
            break;
        case SLOT_OSA:
        case SLOT_OSD:
        case SLOT_CSD:
            values[i] = fair[s->kind - SLOT_OSA];
            break;
        case SLOT_MEAN_DIFF:
        case SLOT_COHENS_D:
            values[i] = parity[s->kind - SLOT_MEAN_DIFF];
            break;
        case SLOT_TRUTH_QWK:
            values[i] = truth;
            break;
        default:
            values[i] = dif_value(p, s);
        }
    }
    return SJ_OK;
}

/* ---- all replicates into the document ----------------------------------------- */

static cJSON *number_or_null(double v)
{
    return isfinite(v) ? cJSON_CreateNumber(v) : cJSON_CreateNull();
}

/* {STATISTIC: {SCOPE: [B values]}} from values[slot * B + r]. */
static cJSON *replicates_json(const rj_boot_plan *p, const double *values, size_t B)
{
    cJSON *reps = cJSON_CreateObject();
    for (size_t i = 0; reps && i < p->n_slots; i++) {
        const char *stat = STATISTIC[p->slots[i].kind];
        cJSON *by_scope = cJSON_GetObjectItemCaseSensitive(reps, stat);
        if (!by_scope)
            by_scope = cJSON_AddObjectToObject(reps, stat);
        cJSON *arr = by_scope ? cJSON_AddArrayToObject(by_scope, p->slots[i].scope) : NULL;
        for (size_t r = 0; arr && r < B; r++)
            if (!cJSON_AddItemToArray(arr, number_or_null(values[i * B + r])))
                arr = NULL;
        if (!arr) {
            cJSON_Delete(reps);
            return NULL;
        }
    }
    return reps;
}

static cJSON *summary_json(const rj_boot_plan *p, cJSON *replicates)
{
    cJSON *o = cJSON_CreateObject();
    if (!o || !cJSON_AddItemToObject(o, "replicates", replicates)) {
        cJSON_Delete(o);
        cJSON_Delete(replicates);
        return NULL;
    }
    sj_json_add_seed(o, "seed", sj_bootstrap_seed(p->boot));
    cJSON_AddNumberToObject(o, "level", LEVEL);
    cJSON_AddStringToObject(o, "method", "percentile");
    cJSON_AddNumberToObject(o, "persons", (double)sj_bootstrap_persons(p->boot));
    cJSON_AddStringToObject(o, "persons_sha256", sj_bootstrap_persons_sha256(p->boot));
    cJSON_AddStringToObject(o, "file", "bootstrap.csv");
    return o;
}

void rj_boot_share(size_t B, size_t *lo, size_t *hi)
{
    sj_dist_share(B, lo, hi);
}

sj_status rj_boot_exchange(double *values, size_t n_values, size_t B, sj_status st, sj_error *err)
{
    st = sj_dist_agree(st, err);
    if (st != SJ_OK || sj_dist_size() == 1)
        return st;
    size_t lo, hi;
    rj_boot_share(B, &lo, &hi);
    /* this rank's replicates as one block, replicate after replicate */
    size_t mine = (hi - lo) * n_values;
    double *block = malloc((mine ? mine : 1) * sizeof *block);
    if (!block)
        st = sj_error_set(err, SJ_ERR_WORK, "out of memory");
    /* the gather checks every rank's memory itself; a rank short of it
     * sends nothing, and all fail */
    for (size_t r = lo; block && r < hi; r++)
        for (size_t i = 0; i < n_values; i++)
            block[(r - lo) * n_values + i] = values[i * B + r];
    char *all = NULL;
    sj_status gathered =
        sj_dist_gather(block, block ? mine * sizeof *block : 0, 1, &all, NULL, err);
    free(block);
    st = sj_dist_agree(st != SJ_OK ? st : gathered, err);
    if (st != SJ_OK) {
        free(all);
        return st;
    }
    for (size_t r = 0; r < B; r++)
        for (size_t i = 0; i < n_values; i++)
            memcpy(&values[i * B + r], all + (r * n_values + i) * sizeof(double), sizeof(double));
    free(all);
    return SJ_OK;
}

cJSON *rj_boot_run(const rj_boot_request *q, sj_error *err)
{
    rj_boot_plan *p = rj_boot_plan_new(q, err);
    if (!p)
        return NULL;
    size_t B = q->n_replicates, n = p->n_slots;
    double *values = malloc((n ? n : 1) * B * sizeof *values);
    double *column = malloc((n ? n : 1) * sizeof *column);
    unsigned *counts = malloc(q->scores->n_persons * sizeof *counts);
    sj_status st =
        values && column && counts ? SJ_OK : sj_error_set(err, SJ_ERR_WORK, "out of memory");
    size_t lo, hi;
    rj_boot_share(B, &lo, &hi);
    for (size_t r = lo; r < hi && st == SJ_OK; r++) {
        st = sj_bootstrap_counts(p->boot, r, counts, err);
        if (st == SJ_OK)
            st = rj_boot_plan_values(p, counts, column, err);
        for (size_t i = 0; i < n && st == SJ_OK; i++)
            values[i * B + r] = column[i];
    }
    st = rj_boot_exchange(values, n, B, st, err);
    cJSON *out = NULL;
    if (st == SJ_OK) {
        cJSON *reps = replicates_json(p, values, B);
        out = reps ? summary_json(p, reps) : NULL;
        if (!out)
            sj_error_set(err, SJ_ERR_WORK, "out of memory");
    }
    free(values);
    free(column);
    free(counts);
    rj_boot_plan_free(p);
    return out;
}

/* ---- intervals beside the values ------------------------------------------------ */

size_t rj_boot_count(const cJSON *boot)
{
    const cJSON *reps = rj_get(boot, "replicates");
    if (cJSON_IsNumber(reps))
        return reps->valuedouble > 0 ? (size_t)reps->valuedouble : 0;
    const cJSON *first = cJSON_IsObject(reps) && reps->child ? reps->child->child : NULL;
    return cJSON_IsArray(first) ? (size_t)cJSON_GetArraySize(first) : 0;
}

/* The percentile interval of one replicate array; the number of finite
 * values (0: lo and hi NaN). -1 when out of memory. */
static long array_interval(const cJSON *arr, double *lo, double *hi)
{
    *lo = *hi = NAN;
    int n = cJSON_GetArraySize(arr);
    double *v = malloc((size_t)(n > 0 ? n : 1) * sizeof *v);
    if (!v)
        return -1;
    int k = 0;
    const cJSON *x;
    cJSON_ArrayForEach(x, arr)
    {
        v[k++] = cJSON_IsNumber(x) ? x->valuedouble : NAN;
    }
    size_t finite = sj_bootstrap_interval(v, (size_t)k, LEVEL, lo, hi);
    free(v);
    return (long)finite;
}

int rj_boot_interval_of(const cJSON *doc, const char *statistic, const char *scope, double *lo,
                        double *hi)
{
    *lo = *hi = NAN;
    const cJSON *arr = rj_get(rj_get(rj_path(doc, "bootstrap", "replicates"), statistic), scope);
    return cJSON_IsArray(arr) && array_interval(arr, lo, hi) > 0;
}

static int starts_with(const char *s, const char *head)
{
    return strncmp(s, head, strlen(head)) == 0;
}

static cJSON *find_item(const cJSON *items, const char *id)
{
    cJSON *it;
    cJSON_ArrayForEach(it, items)
    {
        const char *name = rj_str(it, "item");
        if (name && strcmp(name, id) == 0)
            return it;
    }
    return NULL;
}

/* The object an interval belongs in and the key of its value there; NULL
 * for statistics kept elsewhere (another section's replicates). */
static cJSON *interval_home(cJSON *doc, const char *stat, const char *scope, const char **key)
{
    const cJSON *agr = rj_get(doc, "agreement");
    if (starts_with(stat, "dif.")) {
        *key = stat + strlen("dif.");
        return find_item(rj_path(doc, "dif", "items"), scope);
    }
    if (starts_with(stat, "human_dif.")) {
        *key = stat + strlen("human_dif.");
        return find_item(rj_path(doc, "human_dif", "items"), scope);
    }
    if (starts_with(stat, "dif_vs_human.")) {
        *key = stat + strlen("dif_vs_human.");
        return find_item(rj_get(doc, "dif_vs_human"), scope);
    }
    if (starts_with(stat, "agreement.")) {
        *key = stat + strlen("agreement.");
        return (cJSON *)(strcmp(scope, ALL_SCOPE) == 0 ? agr : rj_path(agr, "by_group", scope));
    }
    if (starts_with(stat, "fairness.")) {
        *key = "coef_focal";
        return (cJSON *)rj_path(agr, "fairness", stat + strlen("fairness."));
    }
    if (starts_with(stat, "parity.")) {
        *key = stat + strlen("parity.");
        return (cJSON *)rj_get(doc, "parity");
    }
    if (starts_with(stat, "truth.")) {
        *key = stat + strlen("truth.");
        return (cJSON *)rj_get(doc, "truth_agreement");
    }
    return NULL;
}

int rj_boot_add_intervals(cJSON *doc)
{
    const cJSON *stat, *scope;
    cJSON_ArrayForEach(stat, rj_path(doc, "bootstrap", "replicates"))
    {
        cJSON_ArrayForEach(scope, stat)
        {
            const char *key = NULL;
            cJSON *home = interval_home(doc, stat->string, scope->string, &key);
            double lo, hi;
            if (!home || !cJSON_IsObject(home))
                continue;
            if (array_interval(scope, &lo, &hi) < 0 || rj_add_interval(home, key, lo, hi) != 0)
                return -1;
        }
    }
    return 0;
}

/* ---- bootstrap.csv and the summary left in audit.json -------------------------- */

cJSON *rj_boot_file_json(const cJSON *audit)
{
    cJSON *copy = cJSON_Duplicate(audit, 1);
    cJSON *boot = copy ? cJSON_GetObjectItemCaseSensitive(copy, "bootstrap") : NULL;
    if (!cJSON_IsObject(boot) || cJSON_IsNumber(rj_get(boot, "replicates")))
        return copy;
    double B = (double)rj_boot_count(boot);
    cJSON *n = cJSON_CreateNumber(B);
    if (!n || !cJSON_ReplaceItemInObjectCaseSensitive(boot, "replicates", n)) {
        cJSON_Delete(n);
        cJSON_Delete(copy);
        return NULL;
    }
    return copy;
}

int rj_boot_has_replicates(const cJSON *audit)
{
    return cJSON_IsObject(rj_path(audit, "bootstrap", "replicates"));
}

sj_status rj_boot_write_csv(const cJSON *audit, const char *path, sj_error *err)
{
    static const char *const header[] = {"statistic", "scope", "replicate", "value"};
    sj_csv_writer w;
    if (sj_csv_open(&w, path, header, 4, err) != SJ_OK)
        return SJ_ERR_WORK;
    const cJSON *stat, *scope, *x;
    cJSON_ArrayForEach(stat, rj_path(audit, "bootstrap", "replicates"))
    {
        cJSON_ArrayForEach(scope, stat)
        {
            long r = 0;
            cJSON_ArrayForEach(x, scope)
            {
                sj_csv_cell(&w, stat->string);
                sj_csv_cell(&w, scope->string);
                sj_csv_cell_integer(&w, ++r);
                sj_csv_cell_number(&w, cJSON_IsNumber(x) ? x->valuedouble : NAN);
            }
        }
    }
    return sj_csv_close(&w, err);
}
