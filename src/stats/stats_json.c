/* DIF and parity results as JSON (the README's output names) and DIF as CSV. */
#include "sjtalign/stats.h"

#include <math.h>
#include <stddef.h>
#include <string.h>

/* A number; a class label; or one end of the 95% interval value +- 1.96 SE
 * (offset: the value, se_offset: its standard error). */
typedef enum { FIELD_NUMBER, FIELD_CLASS, FIELD_CI_LOW, FIELD_CI_HIGH } field_kind;

typedef struct {
    const char *name;
    size_t offset;
    field_kind kind;
    size_t se_offset;
} field;

#define NUM(f)                                                                                     \
    {                                                                                              \
#f, offsetof(sj_dif_item, f), FIELD_NUMBER, 0                                              \
    }
#define CLS(f)                                                                                     \
    {                                                                                              \
#f, offsetof(sj_dif_item, f), FIELD_CLASS, 0                                               \
    }
#define CI(f, se)                                                                                  \
    {#f "_ci95_low", offsetof(sj_dif_item, f), FIELD_CI_LOW, offsetof(sj_dif_item, se)},           \
    {                                                                                              \
#f "_ci95_high", offsetof(sj_dif_item, f), FIELD_CI_HIGH, offsetof(sj_dif_item, se)        \
    }

#define Z_975 1.959963984540054

/* The intervals are those the audit page draws without a bootstrap: MH
 * delta +- 1.96 times its Robins-Breslow-Greenland SE, SMD/SD +- 1.96
 * times its delta-method SE. */
static const field DICHOTOMOUS[] = {
    NUM(mh_chi2),    NUM(mh_p),         NUM(mh_chi2_nocc),  NUM(mh_p_nocc),
    NUM(alpha_mh),   NUM(delta_mh),     NUM(se_delta_mh),   CI(delta_mh, se_delta_mh),
    CLS(ets_class),  NUM(bd_chi2),      NUM(bd_df),         NUM(bd_p),
    NUM(lr_uniform), NUM(lr_p_uniform), NUM(lr_nonuniform), NUM(lr_p_nonuniform),
    NUM(lr_joint),   NUM(lr_p_joint),   NUM(lr_dr2n),       CLS(zt_class),
    CLS(jg_class),
};
static const field POLYTOMOUS[] = {
    NUM(mantel_chi2),
    NUM(mantel_p),
    NUM(smd),
    NUM(smd_over_sd),
    NUM(se_smd),
    NUM(se_smd_over_sd),
    CI(smd_over_sd, se_smd_over_sd),
    CLS(ets_poly_class),
    NUM(olr_uniform),
    NUM(olr_p_uniform),
    NUM(olr_nonuniform),
    NUM(olr_p_nonuniform),
    NUM(olr_joint),
    NUM(olr_p_joint),
    NUM(olr_dr2n),
    NUM(olr_dr2mcf),
};
static const field DICHOTOMOUS_ADJ[] = {
    NUM(mh_p_adj),
    NUM(lr_p_uniform_adj),
    NUM(lr_p_nonuniform_adj),
    NUM(lr_p_joint_adj),
};
static const field POLYTOMOUS_ADJ[] = {
    NUM(mantel_p_adj),
    NUM(olr_p_uniform_adj),
    NUM(olr_p_nonuniform_adj),
    NUM(olr_p_joint_adj),
};
#define N_FIELDS(a) (sizeof(a) / sizeof((a)[0]))

static double double_at(const sj_dif_item *it, size_t offset)
{
    double v;
    memcpy(&v, (const char *)it + offset, sizeof v);
    return v;
}

/* The field's number: the value, or an end of its interval (NaN when the
 * value or its SE is). */
static double number_at(const sj_dif_item *it, const field *f)
{
    double v = double_at(it, f->offset);
    if (f->kind == FIELD_NUMBER)
        return v;
    double half = Z_975 * double_at(it, f->se_offset);
    return f->kind == FIELD_CI_LOW ? v - half : v + half;
}

static const char *class_at(const sj_dif_item *it, const field *f)
{
    return *(const char *const *)((const char *)it + f->offset);
}

static void add_fields(cJSON *obj, const sj_dif_item *it, const field *fields, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (fields[i].kind != FIELD_CLASS) {
            sj_json_add_number(obj, fields[i].name, number_at(it, &fields[i]));
        } else {
            const char *c = class_at(it, &fields[i]);
            if (c)
                cJSON_AddStringToObject(obj, fields[i].name, c);
            else
                cJSON_AddNullToObject(obj, fields[i].name);
        }
    }
}

static const char *type_name(sj_item_type t)
{
    return t == SJ_ITEM_DICHOTOMOUS ? "dichotomous" : "polytomous";
}

cJSON *sj_dif_item_to_json(const sj_dif_item *it, sj_adjust adjust)
{
    cJSON *o = cJSON_CreateObject();
    if (!o)
        return NULL;
    cJSON_AddStringToObject(o, "item", it->item);
    cJSON_AddStringToObject(o, "focal", it->focal);
    cJSON_AddStringToObject(o, "type", type_name(it->type));
    cJSON_AddBoolToObject(o, "tested", it->tested);
    cJSON_AddNumberToObject(o, "n", (double)it->n);
    cJSON_AddNumberToObject(o, "n_ref", (double)it->n_ref);
    cJSON_AddNumberToObject(o, "n_focal", (double)it->n_focal);
    cJSON_AddNumberToObject(o, "n_strata", (double)it->n_strata);
    cJSON_AddNumberToObject(o, "n_sparse_strata", (double)it->n_sparse_strata);
    int dich = it->type == SJ_ITEM_DICHOTOMOUS;
    if (dich)
        add_fields(o, it, DICHOTOMOUS, N_FIELDS(DICHOTOMOUS));
    else
        add_fields(o, it, POLYTOMOUS, N_FIELDS(POLYTOMOUS));
    if (adjust != SJ_ADJUST_NONE) {
        if (dich)
            add_fields(o, it, DICHOTOMOUS_ADJ, N_FIELDS(DICHOTOMOUS_ADJ));
        else
            add_fields(o, it, POLYTOMOUS_ADJ, N_FIELDS(POLYTOMOUS_ADJ));
    }
    cJSON_AddBoolToObject(o, "flagged", it->flagged);
    cJSON *notes = cJSON_AddArrayToObject(o, "notes");
    for (size_t i = 0; notes && i < it->n_notes; i++)
        cJSON_AddItemToArray(notes, cJSON_CreateString(it->notes[i]));
    return o;
}

static const char *adjust_name(sj_adjust a)
{
    return a == SJ_ADJUST_HOLM ? "holm" : a == SJ_ADJUST_BH ? "bh" : "none";
}

cJSON *sj_dif_to_json(const sj_dif_result *r)
{
    cJSON *doc = cJSON_CreateObject();
    if (!doc)
        return NULL;
    cJSON *items = cJSON_AddArrayToObject(doc, "items");
    for (size_t i = 0; items && i < r->n_rows; i++)
        cJSON_AddItemToArray(items, sj_dif_item_to_json(&r->rows[i], r->adjust));
    cJSON_AddStringToObject(doc, "reference", r->reference);
    cJSON *focal = cJSON_AddArrayToObject(doc, "focal");
    cJSON *rounds = cJSON_CreateArray(), *settled = cJSON_CreateArray();
    for (size_t f = 0; f < r->n_focal; f++) {
        cJSON_AddItemToArray(focal, cJSON_CreateString(r->focal[f]));
        cJSON_AddItemToArray(rounds, cJSON_CreateNumber(r->purify_rounds[f]));
        cJSON_AddItemToArray(settled, cJSON_CreateBool(!r->purify || r->purify_converged[f]));
    }
    cJSON_AddStringToObject(doc, "match", r->match == SJ_MATCH_REST ? "rest" : "total");
    cJSON_AddBoolToObject(doc, "purify", r->purify);
    cJSON_AddItemToObject(doc, "purify_rounds", rounds);
    cJSON_AddItemToObject(doc, "purify_settled", settled);
    cJSON_AddStringToObject(doc, "adjust", adjust_name(r->adjust));
    cJSON_AddNumberToObject(doc, "min_cell", (double)r->min_cell);
    cJSON_AddBoolToObject(doc, "breslow_day_tarone", r->bd_tarone);
    cJSON_AddStringToObject(doc, "ets_rule", SJ_ETS_RULE);
    cJSON_AddNumberToObject(doc, "n_persons", (double)r->n_persons_used);
    cJSON_AddNumberToObject(doc, "n_excluded_incomplete", (double)r->n_excluded_incomplete);
    return doc;
}

/* ---- CSV ---------------------------------------------------------------------- */

static const char *const LEAD[] = {"item",  "focal",   "type",     "tested",         "n",
                                   "n_ref", "n_focal", "n_strata", "n_sparse_strata"};
#define N_LEAD N_FIELDS(LEAD)

static void csv_fields(sj_csv_writer *w, const sj_dif_item *it, const field *fields, size_t n,
                       int applies)
{
    for (size_t i = 0; i < n; i++) {
        if (!applies) {
            sj_csv_cell(w, "");
        } else if (fields[i].kind != FIELD_CLASS) {
            sj_csv_cell_number(w, number_at(it, &fields[i]));
        } else {
            const char *c = class_at(it, &fields[i]);
            sj_csv_cell(w, c ? c : "NA");
        }
    }
}

/* Which column blocks the file has: a method's columns appear only when
 * some item is of the type the method applies to; the adjusted p-values
 * only with an adjustment. */
typedef struct {
    int dich, poly, adj;
} csv_blocks;

static const char *logical(int v)
{
    return v ? "TRUE" : "FALSE";
}

/* Writes the item's row; -1 when out of memory (the notes cell is built). */
static int csv_row(sj_csv_writer *w, const sj_dif_item *it, const csv_blocks *b)
{
    int dich = it->type == SJ_ITEM_DICHOTOMOUS;
    sj_csv_cell(w, it->item);
    sj_csv_cell(w, it->focal);
    sj_csv_cell(w, type_name(it->type));
    sj_csv_cell(w, logical(it->tested));
    sj_csv_cell_integer(w, it->n);
    sj_csv_cell_integer(w, it->n_ref);
    sj_csv_cell_integer(w, it->n_focal);
    sj_csv_cell_integer(w, (long)it->n_strata);
    sj_csv_cell_integer(w, (long)it->n_sparse_strata);
    if (b->dich)
        csv_fields(w, it, DICHOTOMOUS, N_FIELDS(DICHOTOMOUS), dich);
    if (b->poly)
        csv_fields(w, it, POLYTOMOUS, N_FIELDS(POLYTOMOUS), !dich);
    if (b->adj && b->dich)
        csv_fields(w, it, DICHOTOMOUS_ADJ, N_FIELDS(DICHOTOMOUS_ADJ), dich);
    if (b->adj && b->poly)
        csv_fields(w, it, POLYTOMOUS_ADJ, N_FIELDS(POLYTOMOUS_ADJ), !dich);
    sj_csv_cell(w, logical(it->flagged));
    sj_buf notes = {0};
    for (size_t i = 0; i < it->n_notes; i++)
        sj_buf_printf(&notes, "%s%s", i ? "; " : "", it->notes[i]);
    int failed = sj_buf_failed(&notes);
    if (!failed)
        sj_csv_cell(w, notes.data ? notes.data : "");
    sj_buf_free(&notes);
    return failed ? -1 : 0;
}

static void add_names(const char **header, size_t *n, const field *fields, size_t count, int on)
{
    for (size_t i = 0; on && i < count; i++)
        header[(*n)++] = fields[i].name;
}

sj_status sj_dif_write_csv(const sj_dif_result *r, const char *path, sj_error *err)
{
    csv_blocks b = {0, 0, r->adjust != SJ_ADJUST_NONE};
    for (size_t i = 0; i < r->n_rows; i++) {
        b.dich |= r->rows[i].type == SJ_ITEM_DICHOTOMOUS;
        b.poly |= r->rows[i].type != SJ_ITEM_DICHOTOMOUS;
    }
    const char *header[N_LEAD + N_FIELDS(DICHOTOMOUS) + N_FIELDS(POLYTOMOUS) +
                       N_FIELDS(DICHOTOMOUS_ADJ) + N_FIELDS(POLYTOMOUS_ADJ) + 2];
    size_t n = 0;
    for (size_t i = 0; i < N_LEAD; i++)
        header[n++] = LEAD[i];
    add_names(header, &n, DICHOTOMOUS, N_FIELDS(DICHOTOMOUS), b.dich);
    add_names(header, &n, POLYTOMOUS, N_FIELDS(POLYTOMOUS), b.poly);
    add_names(header, &n, DICHOTOMOUS_ADJ, N_FIELDS(DICHOTOMOUS_ADJ), b.adj && b.dich);
    add_names(header, &n, POLYTOMOUS_ADJ, N_FIELDS(POLYTOMOUS_ADJ), b.adj && b.poly);
    header[n++] = "flagged";
    header[n++] = "notes";
    sj_csv_writer w;
    if (sj_csv_open(&w, path, header, n, err) != SJ_OK)
        return err ? err->status : SJ_ERR_WORK;
    for (size_t i = 0; i < r->n_rows; i++)
        if (csv_row(&w, &r->rows[i], &b) != 0) {
            sj_csv_abort(&w);
            return sj_error_set(err, SJ_ERR_WORK, "out of memory");
        }
    return sj_csv_close(&w, err);
}

/* ---- agreement and parity -------------------------------------------------------- */

cJSON *sj_agreement_to_json_named(const sj_agreement *a, const char *const spread_names[4])
{
    cJSON *o = cJSON_CreateObject();
    if (!o)
        return NULL;
    cJSON_AddNumberToObject(o, "n", (double)a->n);
    sj_json_add_number(o, "exact", a->exact);
    sj_json_add_number(o, "adjacent", a->adjacent);
    sj_json_add_number(o, "qwk", a->qwk);
    sj_json_add_number(o, "pearson_r", a->pearson_r);
    sj_json_add_number(o, "smd", a->smd);
    sj_json_add_number(o, spread_names[0], a->mean_machine);
    sj_json_add_number(o, spread_names[1], a->mean_human);
    sj_json_add_number(o, spread_names[2], a->sd_machine);
    sj_json_add_number(o, spread_names[3], a->sd_human);
    return o;
}

cJSON *sj_agreement_to_json(const sj_agreement *a)
{
    static const char *const names[4] = {"mean_machine", "mean_human", "sd_machine", "sd_human"};
    return sj_agreement_to_json_named(a, names);
}

static cJSON *fairness_model_json(const sj_fairness_model *m, const char *r2_name)
{
    cJSON *o = cJSON_CreateObject();
    sj_json_add_number(o, r2_name, m->r2_adj);
    sj_json_add_number(o, "p", m->p);
    sj_json_add_number(o, "intercept", m->intercept);
    sj_json_add_number(o, "coef_focal", m->coef_focal);
    return o;
}

static cJSON *group_json(const sj_parity_group *g)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "n", (double)g->n);
    sj_json_add_number(o, "mean", g->mean);
    sj_json_add_number(o, "sd", g->sd);
    sj_json_add_number(o, "pass_rate", g->pass_rate);
    return o;
}

static cJSON *agreement_json(const sj_parity *p)
{
    cJSON *a = sj_agreement_to_json(&p->agreement);
    cJSON *by = cJSON_AddObjectToObject(a, "by_group");
    cJSON_AddItemToObject(by, p->ref.name, sj_agreement_to_json(&p->ref.agreement));
    cJSON_AddItemToObject(by, p->focal.name, sj_agreement_to_json(&p->focal.agreement));
    cJSON *f = cJSON_AddObjectToObject(a, "fairness");
    cJSON_AddStringToObject(f, "reference_group", p->ref.name);
    cJSON_AddStringToObject(f, "error", "machine - human");
    cJSON_AddItemToObject(f, "osa", fairness_model_json(&p->fairness.osa, "r2_adj"));
    cJSON_AddItemToObject(f, "osd", fairness_model_json(&p->fairness.osd, "r2_adj"));
    cJSON_AddItemToObject(f, "csd", fairness_model_json(&p->fairness.csd, "r2_adj_change"));
    return a;
}

cJSON *sj_parity_to_json(const sj_parity *p)
{
    cJSON *o = cJSON_CreateObject();
    if (!o)
        return NULL;
    cJSON *groups = cJSON_AddObjectToObject(o, "groups");
    cJSON_AddItemToObject(groups, p->ref.name, group_json(&p->ref));
    cJSON_AddItemToObject(groups, p->focal.name, group_json(&p->focal));
    cJSON_AddStringToObject(o, "reference", p->ref.name);
    cJSON_AddStringToObject(o, "focal", p->focal.name);
    sj_json_add_number(o, "mean_diff", p->mean_diff);
    sj_json_add_number(o, "cohens_d", p->cohens_d);
    sj_json_add_number(o, "hedges_g", p->hedges_g);
    sj_json_add_number(o, "welch_t", p->welch_t);
    sj_json_add_number(o, "welch_df", p->welch_df);
    sj_json_add_number(o, "welch_p", p->welch_p);
    sj_json_add_number(o, "ci95_low", p->ci95_low);
    sj_json_add_number(o, "ci95_high", p->ci95_high);
    sj_json_add_number(o, "cut", p->cut);
    sj_json_add_number(o, "adverse_impact_ratio", p->adverse_impact_ratio);
    if (p->four_fifths_flag < 0)
        cJSON_AddNullToObject(o, "four_fifths_flag");
    else
        cJSON_AddBoolToObject(o, "four_fifths_flag", p->four_fifths_flag);
    if (p->has_human)
        cJSON_AddItemToObject(o, "agreement", agreement_json(p));
    cJSON *notes = cJSON_AddArrayToObject(o, "notes");
    for (size_t i = 0; i < p->n_notes; i++)
        cJSON_AddItemToArray(notes, cJSON_CreateString(p->notes[i]));
    return o;
}

/* ---- parity as CSV ------------------------------------------------------------------ */

static const char *const PARITY_COMPARISON[] = {
    "mean_diff",       "ci95_low", "ci95_high",
    "cohens_d",        "hedges_g", "welch_t",
    "welch_df",        "welch_p",  "adverse_impact_ratio",
    "four_fifths_flag"};
static const char *const PARITY_AGREEMENT[] = {"qwk", "exact", "adjacent", "pearson_r", "smd"};
static const char *const PARITY_FAIRNESS[] = {"osa_p", "osd_p", "osd_coef_focal", "csd_p",
                                              "csd_coef_focal"};
#define N_OF(a) (sizeof(a) / sizeof((a)[0]))

static void parity_comparison_cells(sj_csv_writer *w, const sj_parity *p)
{
    const double v[] = {p->mean_diff, p->ci95_low, p->ci95_high,
                        p->cohens_d,  p->hedges_g, p->welch_t,
                        p->welch_df,  p->welch_p,  p->adverse_impact_ratio};
    for (size_t i = 0; i < N_OF(v); i++)
        sj_csv_cell_number(w, v[i]);
    sj_csv_cell(w, p->four_fifths_flag < 0 ? "NA" : logical(p->four_fifths_flag));
}

static void parity_agreement_cells(sj_csv_writer *w, const sj_agreement *a)
{
    const double v[] = {a->qwk, a->exact, a->adjacent, a->pearson_r, a->smd};
    for (size_t i = 0; i < N_OF(v); i++)
        sj_csv_cell_number(w, v[i]);
}

/* One group's row; comparison (a focal group's) NULL on the reference row,
 * whose comparison cells stay empty. */
static int parity_row(sj_csv_writer *w, const sj_parity *p, const sj_parity_group *g,
                      const sj_parity *comparison)
{
    sj_csv_cell(w, g->name);
    sj_csv_cell(w, comparison ? "focal" : "reference");
    sj_csv_cell_integer(w, g->n);
    sj_csv_cell_number(w, g->mean);
    sj_csv_cell_number(w, g->sd);
    sj_csv_cell_number(w, p->cut);
    sj_csv_cell_number(w, g->pass_rate);
    if (comparison)
        parity_comparison_cells(w, comparison);
    for (size_t i = 0; !comparison && i < N_OF(PARITY_COMPARISON); i++)
        sj_csv_cell(w, "");
    if (p->has_human) {
        parity_agreement_cells(w, &g->agreement);
        const sj_fairness *f = &p->fairness;
        const double v[] = {f->osa.p, f->osd.p, f->osd.coef_focal, f->csd.p, f->csd.coef_focal};
        for (size_t i = 0; i < N_OF(v); i++) {
            if (comparison)
                sj_csv_cell_number(w, v[i]);
            else
                sj_csv_cell(w, "");
        }
    }
    sj_buf notes = {0};
    for (size_t i = 0; comparison && i < p->n_notes; i++)
        sj_buf_printf(&notes, "%s%s", i ? "; " : "", p->notes[i]);
    int failed = sj_buf_failed(&notes);
    if (!failed)
        sj_csv_cell(w, notes.data ? notes.data : "");
    sj_buf_free(&notes);
    return failed ? -1 : 0;
}

sj_status sj_parity_write_csv(const sj_parity *p, size_t n, const char *path, sj_error *err)
{
    const char *header[7 + N_OF(PARITY_COMPARISON) + N_OF(PARITY_AGREEMENT) +
                       N_OF(PARITY_FAIRNESS) + 1] = {"group", "role", "n",        "mean",
                                                     "sd",    "cut",  "pass_rate"};
    size_t k = 7;
    int human = n > 0 && p[0].has_human;
    for (size_t i = 0; i < N_OF(PARITY_COMPARISON); i++)
        header[k++] = PARITY_COMPARISON[i];
    for (size_t i = 0; human && i < N_OF(PARITY_AGREEMENT); i++)
        header[k++] = PARITY_AGREEMENT[i];
    for (size_t i = 0; human && i < N_OF(PARITY_FAIRNESS); i++)
        header[k++] = PARITY_FAIRNESS[i];
    header[k++] = "notes";
    sj_csv_writer w;
    if (sj_csv_open(&w, path, header, k, err) != SJ_OK)
        return err ? err->status : SJ_ERR_WORK;
    int failed = n > 0 ? parity_row(&w, &p[0], &p[0].ref, NULL) : 0;
    for (size_t i = 0; i < n && !failed; i++)
        failed = parity_row(&w, &p[i], &p[i].focal, &p[i]);
    if (failed) {
        sj_csv_abort(&w);
        return sj_error_set(err, SJ_ERR_WORK, "out of memory");
    }
    return sj_csv_close(&w, err);
}
