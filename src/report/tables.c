/* Reading audit documents and writing their tables. */
#include "report_internal.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void class_bands(sj_plot *p, int polytomous, double extent)
{
    double b_edge = polytomous ? SJ_ETS_SMD_B : SJ_ETS_DELTA_B;
    double c_edge = polytomous ? SJ_ETS_SMD_C : SJ_ETS_DELTA_C;
    double big = extent * 10;
    const char *a = polytomous ? "AA" : "A", *b = polytomous ? "BB" : "B";
    const char *c = polytomous ? "CC" : "C";
    sj_plot_band(p, SJ_AXIS_X, -big, -c_edge, RJ_BAND_C, c);
    sj_plot_band(p, SJ_AXIS_X, -c_edge, -b_edge, RJ_BAND_B, b);
    sj_plot_band(p, SJ_AXIS_X, -b_edge, b_edge, RJ_BAND_A, a);
    sj_plot_band(p, SJ_AXIS_X, b_edge, c_edge, RJ_BAND_B, b);
    sj_plot_band(p, SJ_AXIS_X, c_edge, big, RJ_BAND_C, c);
}

sj_plot *rj_effect_chart(double height, const char *title, const char *description, int polytomous,
                         double extent, size_t n, const char *const *names)
{
    sj_plot *p = sj_plot_new(680, height, title, description);
    if (!p)
        return NULL;
    sj_plot_left_margin(p, 150);
    sj_plot_axis(p, SJ_AXIS_X, -extent, extent,
                 polytomous ? "SMD / SD (focal minus reference)"
                            : "MH delta (negative: against focal)");
    sj_plot_categories(p, SJ_AXIS_Y, n, names, "");
    class_bands(p, polytomous, extent);
    sj_plot_refline(p, SJ_AXIS_X, 0, "");
    return p;
}

double rj_effect_reach(const rj_effect *e)
{
    return fmax(fabs(isnan(e->lo) ? e->value : e->lo), fabs(isnan(e->hi) ? e->value : e->hi));
}

const cJSON *rj_get(const cJSON *obj, const char *key)
{
    return obj && cJSON_IsObject(obj) ? cJSON_GetObjectItemCaseSensitive(obj, key) : NULL;
}

double rj_num(const cJSON *obj, const char *key)
{
    const cJSON *v = rj_get(obj, key);
    if (cJSON_IsNumber(v))
        return v->valuedouble;
    if (cJSON_IsBool(v))
        return cJSON_IsTrue(v) ? 1 : 0;
    return NAN;
}

const char *rj_str(const cJSON *obj, const char *key)
{
    const cJSON *v = rj_get(obj, key);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

const cJSON *rj_item_named(const cJSON *items, const char *id)
{
    const cJSON *it;
    cJSON_ArrayForEach(it, items)
    {
        const char *name = rj_str(it, "item");
        if (name && id && strcmp(name, id) == 0)
            return it;
    }
    return NULL;
}

const cJSON *rj_path_keys(const cJSON *obj, ...)
{
    va_list ap;
    va_start(ap, obj);
    const char *key;
    while (obj && (key = va_arg(ap, const char *)) != NULL)
        obj = rj_get(obj, key);
    va_end(ap);
    return obj;
}

int rj_class_rank(const char *cls)
{
    if (!cls || !*cls)
        return -1;
    switch (cls[0]) {
    case 'A':
        return 0;
    case 'B':
        return 1;
    case 'C':
        return 2;
    default:
        return -1;
    }
}

int rj_class_badge(sj_buf *b, const char *cls)
{
    if (rj_class_rank(cls) < 0)
        return sj_buf_printf(b, "<span class=\"muted\">\xe2\x80\x94</span>");
    /* Only A/B/C letters reach the class attribute; the text is escaped. */
    sj_buf_printf(b, "<span class=\"cls cls-%s\">",
                  cls[0] == 'A'   ? (cls[1] ? "AA" : "A")
                  : cls[0] == 'B' ? (cls[1] ? "BB" : "B")
                                  : (cls[1] ? "CC" : "C"));
    sj_html_escape(b, cls);
    return sj_buf_printf(b, "</span>");
}

#define Z_975 1.959963984540054

/* The interval stored beside a value as "<key>_ci": [lo, hi]; 0 when
 * absent or not finite at both ends. */
static int stored_interval(const cJSON *item, const char *key, double *lo, double *hi)
{
    char name[64];
    snprintf(name, sizeof name, "%s_ci", key);
    const cJSON *ci = rj_get(item, name);
    if (!cJSON_IsArray(ci) || cJSON_GetArraySize(ci) != 2)
        return 0;
    const cJSON *a = cJSON_GetArrayItem(ci, 0), *b = cJSON_GetArrayItem(ci, 1);
    if (!cJSON_IsNumber(a) || !cJSON_IsNumber(b) || !isfinite(a->valuedouble) ||
        !isfinite(b->valuedouble))
        return 0;
    *lo = a->valuedouble;
    *hi = b->valuedouble;
    return 1;
}

/* The person-bootstrap percentile interval where the audit has one
 * ("delta_mh_ci", "smd_over_sd_ci"). Without it: dichotomous items delta
 * +- 1.96 SE (Robins-Breslow-Greenland), polytomous items SMD/SD +- 1.96
 * SE with the delta-method SE of the stats module (se_smd_over_sd); an
 * audit without that SE gets no interval. The test-based SE (|SMD/SD| /
 * sqrt(Mantel chi2)) is never used: it breaks down near zero. */
void rj_dif_effect(const cJSON *item, rj_effect *e)
{
    memset(e, 0, sizeof *e);
    const char *type = rj_str(item, "type");
    e->polytomous = type ? strcmp(type, "polytomous") == 0
                         : (!rj_get(item, "delta_mh") && rj_get(item, "smd_over_sd"));
    const char *key = e->polytomous ? "smd_over_sd" : "delta_mh";
    e->value = rj_num(item, key);
    e->cls = rj_str(item, e->polytomous ? "ets_poly_class" : "ets_class");
    e->lo = e->hi = NAN;
    e->interval = RJ_INTERVAL_NONE;
    if (!isfinite(e->value))
        return;
    if (stored_interval(item, key, &e->lo, &e->hi)) {
        e->interval = RJ_INTERVAL_BOOTSTRAP;
        return;
    }
    double se = rj_num(item, e->polytomous ? "se_smd_over_sd" : "se_delta_mh");
    if (isfinite(se)) {
        e->lo = e->value - Z_975 * se;
        e->hi = e->value + Z_975 * se;
        e->interval = e->polytomous ? RJ_INTERVAL_DELTA : RJ_INTERVAL_RBG;
    }
}

static int ends_with(const char *s, const char *tail)
{
    size_t n = strlen(s), m = strlen(tail);
    return n >= m && strcmp(s + n - m, tail) == 0;
}

static cJSON *interval_end(double v)
{
    return isfinite(v) ? cJSON_CreateNumber(v) : cJSON_CreateNull();
}

int rj_add_interval(cJSON *obj, const char *key, double lo, double hi)
{
    char name[96];
    if (!cJSON_IsObject(obj) || snprintf(name, sizeof name, "%s_ci", key) >= (int)sizeof name)
        return -1;
    cJSON_DeleteItemFromObjectCaseSensitive(obj, name);
    cJSON *ci = cJSON_CreateArray();
    if (!ci || !cJSON_AddItemToArray(ci, interval_end(lo)) ||
        !cJSON_AddItemToArray(ci, interval_end(hi)) || !cJSON_AddItemToObject(obj, name, ci)) {
        cJSON_Delete(ci);
        return -1;
    }
    /* Beside its value: the members after `key` move behind the interval. */
    cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    while (v && v->next && v->next != ci) {
        cJSON *moved = cJSON_DetachItemViaPointer(obj, v->next);
        cJSON_AddItemToArray(obj, moved);
    }
    return 0;
}

/* A copy of one row with every "<key>_ci": [lo, hi] written as two
 * members <key>_ci_low and <key>_ci_high in its place. */
static cJSON *split_interval_row(const cJSON *row)
{
    cJSON *out = cJSON_CreateObject();
    const cJSON *v;
    cJSON_ArrayForEach(v, row)
    {
        if (!out)
            return NULL;
        if (v->string && ends_with(v->string, "_ci") && cJSON_IsArray(v) &&
            cJSON_GetArraySize(v) == 2) {
            char name[128];
            for (int k = 0; k < 2; k++) {
                const cJSON *x = cJSON_GetArrayItem(v, k);
                snprintf(name, sizeof name, "%s_%s", v->string, k ? "high" : "low");
                if (!cJSON_AddItemToObject(out, name,
                                           interval_end(cJSON_IsNumber(x) ? x->valuedouble : NAN)))
                    goto fail;
            }
        } else if (!cJSON_AddItemToObject(out, v->string ? v->string : "", cJSON_Duplicate(v, 1))) {
            goto fail;
        }
    }
    return out;
fail:
    cJSON_Delete(out);
    return NULL;
}

static cJSON *split_intervals(const cJSON *array)
{
    cJSON *out = cJSON_CreateArray();
    const cJSON *row;
    cJSON_ArrayForEach(row, array)
    {
        cJSON *copy = out ? split_interval_row(row) : NULL;
        if (!copy || !cJSON_AddItemToArray(out, copy)) {
            cJSON_Delete(copy);
            cJSON_Delete(out);
            return NULL;
        }
    }
    return out;
}

static int has_name(char **names, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(names[i], name) == 0)
            return 1;
    return 0;
}

static char **collect_columns(const cJSON *array, const char *const *lead, size_t *n_out)
{
    size_t n = 0, cap = 16;
    char **names = malloc(cap * sizeof *names);
    if (!names)
        return NULL;
    for (size_t i = 0; lead && lead[i]; i++) {
        if (n == cap) {
            char **grown = realloc(names, (cap *= 2) * sizeof *names);
            if (!grown)
                goto fail;
            names = grown;
        }
        names[n++] = (char *)lead[i];
    }
    const cJSON *row;
    cJSON_ArrayForEach(row, array)
    {
        const cJSON *v;
        cJSON_ArrayForEach(v, row)
        {
            if (cJSON_IsObject(v) || has_name(names, n, v->string))
                continue;
            if (n == cap) {
                char **grown = realloc(names, (cap *= 2) * sizeof *names);
                if (!grown)
                    goto fail;
                names = grown;
            }
            names[n++] = v->string;
        }
    }
    *n_out = n;
    return names;
fail:
    free(names);
    return NULL;
}

/* An array of strings as one cell, joined with "; ". Returns -1 when the
 * cell could not be built (out of memory). */
static int write_joined(sj_csv_writer *w, const cJSON *array)
{
    sj_buf joined = {0};
    const cJSON *e;
    cJSON_ArrayForEach(e, array)
    {
        if (joined.len)
            sj_buf_append(&joined, "; ", 2);
        if (cJSON_IsString(e))
            sj_buf_append(&joined, e->valuestring, strlen(e->valuestring));
    }
    int failed = sj_buf_failed(&joined);
    if (!failed)
        sj_csv_cell(w, joined.data ? joined.data : "");
    sj_buf_free(&joined);
    return failed ? -1 : 0;
}

/* Returns -1 when the cell could not be written (out of memory). */
static int write_value(sj_csv_writer *w, const cJSON *v)
{
    if (!v) {
        sj_csv_cell(w, "");
    } else if (cJSON_IsNumber(v)) {
        double x = v->valuedouble;
        if (x == floor(x) && fabs(x) < 1e15)
            sj_csv_cell_integer(w, (long)x);
        else
            sj_csv_cell_number(w, x);
    } else if (cJSON_IsString(v)) {
        sj_csv_cell(w, v->valuestring);
    } else if (cJSON_IsBool(v)) {
        sj_csv_cell(w, cJSON_IsTrue(v) ? "TRUE" : "FALSE");
    } else if (cJSON_IsArray(v)) {
        return write_joined(w, v);
    } else {
        sj_csv_cell(w, "NA");
    }
    return 0;
}

sj_status rj_write_csv_objects(const cJSON *rows, const char *path, const char *const *lead,
                               sj_error *err)
{
    size_t n = 0;
    cJSON *array = split_intervals(rows);
    char **names = array ? collect_columns(array, lead, &n) : NULL;
    if (!names) {
        cJSON_Delete(array);
        return sj_error_set(err, SJ_ERR_WORK, "out of memory writing %s", path);
    }
    sj_csv_writer w;
    if (sj_csv_open(&w, path, (const char *const *)names, n, err) != SJ_OK) {
        free(names);
        cJSON_Delete(array);
        return SJ_ERR_WORK;
    }
    const cJSON *row;
    cJSON_ArrayForEach(row, array)
    {
        for (size_t c = 0; c < n; c++) {
            if (write_value(&w, rj_get(row, names[c])) != 0) {
                free(names);
                cJSON_Delete(array);
                sj_csv_abort(&w);
                return sj_error_set(err, SJ_ERR_WORK, "out of memory writing %s", path);
            }
        }
    }
    free(names);
    cJSON_Delete(array);
    return sj_csv_close(&w, err);
}
