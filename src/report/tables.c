/* Reading audit documents and writing their tables. */
#include "report_internal.h"

#include <math.h>
#include <stdarg.h>
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

/* Dichotomous items: delta_mh with delta +- 1.96 se (Robins-Breslow-
 * Greenland). Polytomous items: the stats module gives no standard error
 * for the SMD, so the interval is test-based (Miettinen 1976): the
 * standard error implied by the Mantel chi-square, |SMD/SD| / sqrt(chi2).
 * It excludes zero exactly when the Mantel test has p < .05; it is left
 * out when the chi-square or the SMD is zero. */
void rj_dif_effect(const cJSON *item, rj_effect *e)
{
    memset(e, 0, sizeof *e);
    double delta = rj_num(item, "delta_mh");
    double smd = rj_num(item, "smd_over_sd");
    const char *type = rj_str(item, "type");
    e->polytomous = type ? strcmp(type, "polytomous") == 0
                         : (!rj_get(item, "delta_mh") && rj_get(item, "smd_over_sd"));
    e->lo = e->hi = NAN;
    if (!e->polytomous) {
        double se = rj_num(item, "se_delta_mh");
        e->value = delta;
        if (isfinite(delta) && isfinite(se)) {
            e->lo = delta - 1.959963984540054 * se;
            e->hi = delta + 1.959963984540054 * se;
        }
        e->cls = rj_str(item, "ets_class");
        return;
    }
    double chi2 = rj_num(item, "mantel_chi2");
    e->value = smd;
    if (isfinite(smd) && isfinite(chi2) && chi2 > 0 && smd != 0) {
        double se = fabs(smd) / sqrt(chi2);
        e->lo = smd - 1.959963984540054 * se;
        e->hi = smd + 1.959963984540054 * se;
    }
    e->cls = rj_str(item, "ets_poly_class");
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

sj_status rj_write_csv_objects(const cJSON *array, const char *path, const char *const *lead,
                               sj_error *err)
{
    size_t n = 0;
    char **names = collect_columns(array, lead, &n);
    if (!names)
        return sj_error_set(err, SJ_ERR_WORK, "out of memory writing %s", path);
    sj_csv_writer w;
    if (sj_csv_open(&w, path, (const char *const *)names, n, err) != SJ_OK) {
        free(names);
        return SJ_ERR_WORK;
    }
    const cJSON *row;
    cJSON_ArrayForEach(row, array)
    {
        for (size_t c = 0; c < n; c++) {
            if (write_value(&w, rj_get(row, names[c])) != 0) {
                free(names);
                sj_csv_abort(&w);
                return sj_error_set(err, SJ_ERR_WORK, "out of memory writing %s", path);
            }
        }
    }
    free(names);
    return sj_csv_close(&w, err);
}
