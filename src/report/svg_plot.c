/* A small SVG plotting module for the reports: numeric and categorical
 * axes with nice ticks and labels, bands, reference lines, bars, points with
 * confidence intervals, dumbbells, lines and a legend. Marks are written in
 * data coordinates as they are added, so axes come first. */
#include "sjtalign/report.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_TICKS 32
#define FONT_PX 11.0
#define CATEGORY_CHARS 28
/* The legend sits below the plot in rows of this height. */
#define LEGEND_ROW_PX 18.0
#define LEGEND_GAP_PX 16.0  /* between one entry and the next */
#define SWATCH_GAP_PX 5.0   /* between a swatch and its label */
#define SWATCH_MARK_PX 10.0 /* a marker or bar swatch */
#define SWATCH_LINE_PX 24.0 /* a line swatch */
/* Labels in the top margin: two rows, so a band's label and a reference
 * line's label never print over each other. */
#define TOP_LABELS_MAX 32
#define MAX_SERIES 64

/* What was drawn for a series, so its legend swatch looks like its marks. */
enum { DRAWN_MARK = 1, DRAWN_HOLLOW = 2, DRAWN_LINE = 4, DRAWN_FAINT = 8, DRAWN_BAR = 16 };

/* Okabe & Ito (2008): blue, vermillion, bluish green, orange, reddish
 * purple, sky blue, yellow, black. Blue and vermillion first: the pair that
 * stays apart under every common colour-vision deficiency. */
static const char *const PALETTE[SJ_PLOT_N_COLOURS] = {
    "#0072B2", "#D55E00", "#009E73", "#E69F00", "#CC79A7", "#56B4E9", "#F0E442", "#000000",
};

const char *sj_plot_colour(size_t i)
{
    return PALETTE[i % SJ_PLOT_N_COLOURS];
}

static int same_ignoring_case(const char *a, const char *b)
{
    for (; *a && *b; a++, b++) {
        char ca = *a >= 'A' && *a <= 'Z' ? (char)(*a - 'A' + 'a') : *a;
        char cb = *b >= 'A' && *b <= 'Z' ? (char)(*b - 'A' + 'a') : *b;
        if (ca != cb)
            return 0;
    }
    return *a == *b;
}

void sj_plot_model_series(size_t n, const char *const *labels, size_t *series)
{
    static const struct {
        const char *name;
        size_t series;
    } named[] = {{"SFT", SJ_SERIES_SFT},
                 {"PPO", SJ_SERIES_PPO},
                 {"DPO", SJ_SERIES_DPO},
                 {"baseline", SJ_SERIES_BASELINE}};
    /* Never 0 or 1: those are the groups' colours. */
    static const size_t spare[] = {SJ_SERIES_SFT,     SJ_SERIES_PPO, SJ_SERIES_DPO, 3, 6,
                                   SJ_SERIES_BASELINE};
    const size_t n_spare = sizeof spare / sizeof *spare;
    int used[SJ_PLOT_N_COLOURS] = {0};
    for (size_t k = 0; k < n; k++) {
        series[k] = SIZE_MAX;
        for (size_t m = 0; m < sizeof named / sizeof *named; m++)
            if (labels[k] && same_ignoring_case(labels[k], named[m].name) &&
                !used[named[m].series]) {
                series[k] = named[m].series;
                used[series[k]] = 1;
            }
    }
    for (size_t k = 0; k < n; k++) {
        if (series[k] != SIZE_MAX)
            continue;
        series[k] = spare[(k + 1) % n_spare];
        /* Black marks the model before alignment: only the first label. */
        for (size_t m = k == 0 ? 0 : 1; m < n_spare; m++)
            if (!used[spare[m]]) {
                series[k] = spare[m];
                break;
            }
        used[series[k]] = 1;
    }
}

/* Each colour has its own marker shape and line dash too, so a chart still
 * reads when printed in grey: reference (0) a solid line with circles, focal
 * (1) a dashed line with squares, SFT (7) dotted with diamonds, PPO (2)
 * solid with triangles, DPO (4) dash-dotted with downward triangles. */
typedef enum { SHAPE_CIRCLE, SHAPE_SQUARE, SHAPE_TRIANGLE, SHAPE_DIAMOND, SHAPE_DOWN } shape;
static const shape SHAPES[SJ_PLOT_N_COLOURS] = {
    SHAPE_CIRCLE, SHAPE_SQUARE, SHAPE_TRIANGLE, SHAPE_DIAMOND,
    SHAPE_DOWN,   SHAPE_CIRCLE, SHAPE_TRIANGLE, SHAPE_DIAMOND,
};
static const char *const DASHES[SJ_PLOT_N_COLOURS] = {
    NULL, "6 3", NULL, "6 3", "8 3 2 3", NULL, "6 3", "2 3",
};

/* Advance widths of DejaVu Sans (the pages' first font) in em, rounded up
 * by class of character: narrow (i, l, punctuation), medium (f, r, t,
 * brackets), wide (m, w, M, W), capitals and digits, other lower case. A
 * character outside ASCII counts as a wide one (the minus sign is 0.84). */
static double char_em(unsigned char c)
{
    if (c >= 0x80)
        return 0.84;
    if (c == ' ')
        return 0.32;
    if (strchr("ijl.,:;'|!", c))
        return 0.28;
    if (strchr("frt()[]{}/\\-\"", c))
        return 0.4;
    if (strchr("mwMW%", c))
        return 1.0;
    if ((c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || strchr("&#@=+<>?_~", c))
        return 0.72;
    return 0.64;
}

double sj_plot_text_width(const char *text, double font_px)
{
    double em = 0;
    for (const unsigned char *c = (const unsigned char *)(text ? text : ""); *c; c++)
        if ((*c & 0xC0) != 0x80) /* one count per character, not per byte */
            em += char_em(*c);
    return em * font_px;
}

typedef struct {
    int set;
    int categorical;
    double lo, hi;
    double ticks[MAX_TICKS];
    size_t n_ticks;
    double step;
    size_t n_cat;
    char **names;
    char *label;
} axis_state;

struct sj_plot {
    double width, height;
    double left, right, top, bottom; /* margins in pixels */
    char *title;
    char *description;
    axis_state ax[2];
    sj_buf under; /* bands: below the grid */
    sj_buf marks; /* data marks */
    sj_buf over;  /* reference lines and their labels */
    sj_buf legend;
    double legend_h; /* pixels the legend adds below the plot */
    unsigned char drawn[MAX_SERIES];
    struct {
        double x0, x1;
        int row;
    } top_labels[TOP_LABELS_MAX];
    size_t n_top_labels;
    int failed;
};

size_t sj_plot_nice_ticks(double lo, double hi, size_t max_ticks, double *ticks, size_t cap,
                          double *step)
{
    if (!isfinite(lo) || !isfinite(hi))
        return 0;
    if (hi < lo) {
        double t = lo;
        lo = hi;
        hi = t;
    }
    if (hi == lo) {
        double pad = lo == 0 ? 1 : fabs(lo) * 0.5;
        lo -= pad;
        hi += pad;
    }
    if (max_ticks < 2)
        max_ticks = 2;
    double rough = (hi - lo) / (double)(max_ticks - 1);
    double magnitude = pow(10, floor(log10(rough)));
    double residual = rough / magnitude;
    double nice = residual <= 1 ? 1 : residual <= 2 ? 2 : residual <= 5 ? 5 : 10;
    double s = nice * magnitude;
    /* The small tolerances keep a bound that is already a multiple of the
     * step from gaining an extra tick through rounding error. */
    double first = floor(lo / s + 1e-9);
    double last = ceil(hi / s - 1e-9);
    size_t n = 0;
    for (double k = first; k <= last + 0.5 && n < cap; k += 1) {
        double v = k * s;
        ticks[n++] = v == 0 ? 0 : v; /* no -0 */
    }
    if (step)
        *step = s;
    return n;
}

static int tick_decimals(double step)
{
    int d = (int)-floor(log10(step) + 1e-9);
    return d < 0 ? 0 : d;
}

sj_plot *sj_plot_new(double width, double height, const char *title, const char *description)
{
    sj_plot *p = calloc(1, sizeof *p);
    if (!p)
        return NULL;
    p->width = width;
    p->height = height;
    p->left = 56;
    p->right = 16;
    p->top = 26;
    p->bottom = 44;
    p->title = sj_strdup(title ? title : "");
    p->description = sj_strdup(description ? description : "");
    if (!p->title || !p->description) {
        sj_plot_free(p);
        return NULL;
    }
    return p;
}

static void axis_clear(axis_state *a)
{
    for (size_t i = 0; i < a->n_cat; i++)
        free(a->names[i]);
    free(a->names);
    free(a->label);
    memset(a, 0, sizeof *a);
}

void sj_plot_free(sj_plot *p)
{
    if (!p)
        return;
    axis_clear(&p->ax[0]);
    axis_clear(&p->ax[1]);
    free(p->title);
    free(p->description);
    sj_buf_free(&p->under);
    sj_buf_free(&p->marks);
    sj_buf_free(&p->over);
    sj_buf_free(&p->legend);
    free(p);
}

void sj_plot_left_margin(sj_plot *p, double pixels)
{
    p->left = pixels;
}

static void set_axis(sj_plot *p, sj_axis axis, double lo, double hi, const char *label, int exact)
{
    axis_state *a = &p->ax[axis];
    axis_clear(a);
    a->set = 1;
    a->label = sj_strdup(label ? label : "");
    size_t want = axis == SJ_AXIS_X ? 8 : 6;
    double ticks[MAX_TICKS];
    size_t n = sj_plot_nice_ticks(lo, hi, want, ticks, MAX_TICKS, &a->step);
    if (n < 2 || !a->label) {
        p->failed = 1;
        a->lo = 0;
        a->hi = 1;
        return;
    }
    if (!exact || !(hi > lo)) {
        memcpy(a->ticks, ticks, n * sizeof *ticks);
        a->n_ticks = n;
        a->lo = ticks[0];
        a->hi = ticks[n - 1];
        return;
    }
    /* The range stays as given; only the ticks inside it are drawn. */
    a->lo = lo;
    a->hi = hi;
    for (size_t i = 0; i < n; i++)
        if (ticks[i] >= lo - 1e-9 * (hi - lo) && ticks[i] <= hi + 1e-9 * (hi - lo))
            a->ticks[a->n_ticks++] = ticks[i];
}

void sj_plot_axis(sj_plot *p, sj_axis axis, double lo, double hi, const char *label)
{
    set_axis(p, axis, lo, hi, label, 0);
}

void sj_plot_axis_exact(sj_plot *p, sj_axis axis, double lo, double hi, const char *label)
{
    set_axis(p, axis, lo, hi, label, 1);
}

void sj_plot_categories(sj_plot *p, sj_axis axis, size_t n, const char *const *names,
                        const char *label)
{
    axis_state *a = &p->ax[axis];
    axis_clear(a);
    a->set = 1;
    a->categorical = 1;
    a->label = sj_strdup(label ? label : "");
    a->names = calloc(n ? n : 1, sizeof *a->names);
    if (!a->names || !a->label) {
        p->failed = 1;
        return;
    }
    a->n_cat = n;
    for (size_t i = 0; i < n; i++) {
        a->names[i] = sj_strdup(names[i] ? names[i] : "");
        if (!a->names[i])
            p->failed = 1;
    }
    a->lo = -0.5;
    a->hi = n ? (double)n - 0.5 : 0.5;
}

double sj_plot_px(const sj_plot *p, sj_axis axis, double value)
{
    const axis_state *a = &p->ax[axis];
    double span = a->hi - a->lo;
    double f = span > 0 ? (value - a->lo) / span : 0.5;
    if (axis == SJ_AXIS_X)
        return p->left + f * (p->width - p->left - p->right);
    /* Categories read top to bottom; numbers grow upwards. */
    if (a->categorical)
        return p->top + f * (p->height - p->top - p->bottom);
    return p->height - p->bottom - f * (p->height - p->top - p->bottom);
}

static double clamp_px(const sj_plot *p, sj_axis axis, double v)
{
    double a = axis == SJ_AXIS_X ? p->left : p->top;
    double b = axis == SJ_AXIS_X ? p->width - p->right : p->height - p->bottom;
    return v < a ? a : v > b ? b : v;
}

/* The plot's own writers: each append leaves a failure in b's sticky flag,
 * which sj_plot_render checks once for every layer. */
static void add(sj_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void add(sj_buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    sj_buf_vprintf(b, fmt, ap);
    va_end(ap);
}

static void add_text(sj_buf *b, const char *text)
{
    sj_html_escape(b, text);
}

/* Long names are cut at a character boundary and end in an ellipsis; the
 * full name stays available as a tooltip. */
static void add_short_text(sj_buf *b, const char *text, size_t max_chars)
{
    size_t chars = 0, i = 0;
    while (text[i] && chars < max_chars) {
        i++;
        while ((text[i] & 0xC0) == 0x80)
            i++;
        chars++;
    }
    if (!text[i]) {
        add_text(b, text);
        return;
    }
    char *cut = sj_strndup(text, i);
    if (!cut) {
        sj_buf_fail(b);
        return;
    }
    add_text(b, cut);
    add(b, "\xe2\x80\xa6");
    free(cut);
}

static void format_tick(double v, double step, char *out, size_t n)
{
    sj_html_format_number(v, tick_decimals(step), out, n);
}

/* The row (0: next to the frame, 1: above it) of the top margin in which a
 * label spanning x0..x1 meets no label placed before it. */
static int top_margin_row(sj_plot *p, double x0, double x1)
{
    int row = 0;
    for (; row < 2; row++) {
        int clash = 0;
        for (size_t i = 0; i < p->n_top_labels; i++)
            clash |= p->top_labels[i].row == row && x0 < p->top_labels[i].x1 + 3 &&
                     x1 > p->top_labels[i].x0 - 3;
        if (!clash)
            break;
    }
    if (row == 2)
        row = 1;
    if (p->n_top_labels < TOP_LABELS_MAX) {
        p->top_labels[p->n_top_labels].x0 = x0;
        p->top_labels[p->n_top_labels].x1 = x1;
        p->top_labels[p->n_top_labels++].row = row;
    }
    return row;
}

/* A label centred on x in the top margin, above the frame, where no mark
 * can cover it. */
static void top_label(sj_plot *p, double x, const char *label, const char *colour)
{
    double w = sj_plot_text_width(label, FONT_PX - 1);
    /* Kept on the canvas: centred unless that would cross its edge. */
    double x0 = fmax(2, fmin(x - w / 2, p->width - 2 - w));
    int row = top_margin_row(p, x0, x0 + w);
    add(&p->over, "<text x=\"%.1f\" y=\"%.1f\" font-size=\"%.0f\" fill=\"%s\">", x0,
        p->top - 4 - row * (FONT_PX + 1), FONT_PX - 1, colour);
    add_text(&p->over, label);
    add(&p->over, "</text>\n");
}

void sj_plot_band(sj_plot *p, sj_axis axis, double lo, double hi, const char *fill,
                  const char *label)
{
    double a = clamp_px(p, axis, sj_plot_px(p, axis, lo));
    double b = clamp_px(p, axis, sj_plot_px(p, axis, hi));
    double x0, y0, w, h;
    if (axis == SJ_AXIS_X) {
        x0 = fmin(a, b);
        w = fabs(b - a);
        y0 = p->top;
        h = p->height - p->top - p->bottom;
    } else {
        y0 = fmin(a, b);
        h = fabs(b - a);
        x0 = p->left;
        w = p->width - p->left - p->right;
    }
    add(&p->under, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"%s\"/>\n", x0,
        y0, w, h, fill);
    if (!label || !*label)
        return;
    double text_w = sj_plot_text_width(label, FONT_PX - 1);
    if (axis == SJ_AXIS_X) {
        /* Above the frame, over its band: markers never hide it. */
        if (text_w <= w + 6)
            top_label(p, x0 + w / 2, label, "#444");
    } else if (h > FONT_PX && text_w < w) {
        /* Inside the band at its right end, over the marks, on a white halo. */
        add(&p->over,
            "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\" font-size=\"%.0f\" fill=\"#444\" "
            "stroke=\"#fff\" stroke-width=\"3\" paint-order=\"stroke\">",
            x0 + w - 3, y0 + FONT_PX, FONT_PX - 1);
        add_text(&p->over, label);
        add(&p->over, "</text>\n");
    }
}

void sj_plot_refline(sj_plot *p, sj_axis axis, double value, const char *label)
{
    if (!isfinite(value))
        return;
    double v = sj_plot_px(p, axis, value);
    /* A line on the frame (within rounding of a tick) is still drawn. */
    if (fabs(v - clamp_px(p, axis, v)) > 0.5)
        return;
    v = clamp_px(p, axis, v);
    if (axis == SJ_AXIS_X) {
        add(&p->over,
            "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#333\" "
            "stroke-width=\"1\" stroke-dasharray=\"4 3\"/>\n",
            v, p->top, v, p->height - p->bottom);
        if (label && *label)
            top_label(p, v, label, "#333");
    } else {
        add(&p->over,
            "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#333\" "
            "stroke-width=\"1\" stroke-dasharray=\"4 3\"/>\n",
            p->left, v, p->width - p->right, v);
        if (label && *label) {
            add(&p->over,
                "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\" font-size=\"%.0f\" "
                "fill=\"#333\" stroke=\"#fff\" stroke-width=\"3\" paint-order=\"stroke\">",
                p->width - p->right - 2, v - 3, FONT_PX - 1);
            add_text(&p->over, label);
            add(&p->over, "</text>\n");
        }
    }
}

static void mark_drawn(sj_plot *p, size_t series, unsigned char what)
{
    p->drawn[series % MAX_SERIES] |= what;
}

void sj_plot_bar(sj_plot *p, size_t series, double x, double y, double width, double offset)
{
    if (!isfinite(x) || !isfinite(y))
        return;
    double x0 = sj_plot_px(p, SJ_AXIS_X, x + offset - width / 2);
    double x1 = sj_plot_px(p, SJ_AXIS_X, x + offset + width / 2);
    double y0 = sj_plot_px(p, SJ_AXIS_Y, p->ax[1].lo > 0 ? p->ax[1].lo : 0);
    double y1 = sj_plot_px(p, SJ_AXIS_Y, y);
    add(&p->marks,
        "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"%s\" "
        "stroke=\"#fff\" stroke-width=\"0.5\"/>\n",
        fmin(x0, x1), fmin(y0, y1), fabs(x1 - x0), fabs(y1 - y0), sj_plot_colour(series));
    mark_drawn(p, series, DRAWN_BAR);
}

/* A marker of the series' shape and colour centred on (cx, cy). */
static void marker(sj_buf *b, size_t series, double cx, double cy, int hollow)
{
    const char *c = sj_plot_colour(series);
    const char *fill = hollow ? "#fff" : c;
    switch (SHAPES[series % SJ_PLOT_N_COLOURS]) {
    case SHAPE_CIRCLE:
        add(b,
            "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"4\" fill=\"%s\" stroke=\"%s\" "
            "stroke-width=\"1.5\"/>\n",
            cx, cy, fill, c);
        break;
    case SHAPE_SQUARE:
        add(b,
            "<rect x=\"%.1f\" y=\"%.1f\" width=\"7.5\" height=\"7.5\" fill=\"%s\" stroke=\"%s\" "
            "stroke-width=\"1.5\"/>\n",
            cx - 3.75, cy - 3.75, fill, c);
        break;
    case SHAPE_TRIANGLE:
        add(b,
            "<path d=\"M%.1f %.1fL%.1f %.1fL%.1f %.1fZ\" fill=\"%s\" stroke=\"%s\" "
            "stroke-width=\"1.5\"/>\n",
            cx, cy - 4.5, cx + 4.5, cy + 3.5, cx - 4.5, cy + 3.5, fill, c);
        break;
    case SHAPE_DOWN:
        add(b,
            "<path d=\"M%.1f %.1fL%.1f %.1fL%.1f %.1fZ\" fill=\"%s\" stroke=\"%s\" "
            "stroke-width=\"1.5\"/>\n",
            cx, cy + 4.5, cx + 4.5, cy - 3.5, cx - 4.5, cy - 3.5, fill, c);
        break;
    case SHAPE_DIAMOND:
        add(b,
            "<path d=\"M%.1f %.1fL%.1f %.1fL%.1f %.1fL%.1f %.1fZ\" fill=\"%s\" stroke=\"%s\" "
            "stroke-width=\"1.5\"/>\n",
            cx, cy - 5, cx + 5, cy, cx, cy + 5, cx - 5, cy, fill, c);
        break;
    }
}

void sj_plot_point_ci(sj_plot *p, size_t series, double x, double y, double lo, double hi)
{
    if (!isfinite(x) || !isfinite(y))
        return;
    double cx = sj_plot_px(p, SJ_AXIS_X, x), cy = sj_plot_px(p, SJ_AXIS_Y, y);
    const char *c = sj_plot_colour(series);
    if (isfinite(lo) && isfinite(hi)) {
        if (p->ax[1].categorical) {
            double a = clamp_px(p, SJ_AXIS_X, sj_plot_px(p, SJ_AXIS_X, lo));
            double b = clamp_px(p, SJ_AXIS_X, sj_plot_px(p, SJ_AXIS_X, hi));
            add(&p->marks,
                "<path d=\"M%.1f %.1fH%.1fM%.1f %.1fv6M%.1f %.1fv6\" stroke=\"%s\" "
                "stroke-width=\"1.5\" fill=\"none\"/>\n",
                a, cy, b, a, cy - 3, b, cy - 3, c);
        } else {
            double a = clamp_px(p, SJ_AXIS_Y, sj_plot_px(p, SJ_AXIS_Y, lo));
            double b = clamp_px(p, SJ_AXIS_Y, sj_plot_px(p, SJ_AXIS_Y, hi));
            add(&p->marks,
                "<path d=\"M%.1f %.1fV%.1fM%.1f %.1fh6M%.1f %.1fh6\" stroke=\"%s\" "
                "stroke-width=\"1.5\" fill=\"none\"/>\n",
                cx, a, b, cx - 3, a, cx - 3, b, c);
        }
    }
    marker(&p->marks, series, cx, cy, 0);
    mark_drawn(p, series, DRAWN_MARK);
}

void sj_plot_interval(sj_plot *p, size_t series, double row, double lo, double hi)
{
    if (!isfinite(row) || !isfinite(lo) || !isfinite(hi))
        return;
    double cy = sj_plot_px(p, SJ_AXIS_Y, row);
    double a = clamp_px(p, SJ_AXIS_X, sj_plot_px(p, SJ_AXIS_X, lo));
    double b = clamp_px(p, SJ_AXIS_X, sj_plot_px(p, SJ_AXIS_X, hi));
    add(&p->marks,
        "<path d=\"M%.1f %.1fH%.1fM%.1f %.1fv5M%.1f %.1fv5\" stroke=\"%s\" stroke-width=\"1\" "
        "stroke-opacity=\"0.7\" fill=\"none\"/>\n",
        a, cy, b, a, cy - 2.5, b, cy - 2.5, sj_plot_colour(series));
}

void sj_plot_dumbbell(sj_plot *p, double row, double x0, double x1, size_t series0, size_t series1)
{
    if (!isfinite(x0) || !isfinite(x1))
        return;
    double cy = sj_plot_px(p, SJ_AXIS_Y, row);
    double a = sj_plot_px(p, SJ_AXIS_X, x0), b = sj_plot_px(p, SJ_AXIS_X, x1);
    add(&p->marks,
        "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#777\" "
        "stroke-width=\"2\"/>\n",
        a, cy, b, cy);
    marker(&p->marks, series0, a, cy, 1);
    marker(&p->marks, series1, b, cy, 0);
    mark_drawn(p, series0, DRAWN_HOLLOW);
    mark_drawn(p, series1, DRAWN_MARK);
}

/* The stroke of a series' line: its colour and dash; a faint line (a
 * noisy series behind its trend) is thinner and half transparent. */
static void line_stroke(sj_buf *b, size_t series, int faint)
{
    const char *dash = DASHES[series % SJ_PLOT_N_COLOURS];
    add(b, " fill=\"none\" stroke=\"%s\" stroke-width=\"%s\"", sj_plot_colour(series),
        faint ? "1.1\" stroke-opacity=\"0.55" : "1.8");
    if (dash)
        add(b, " stroke-dasharray=\"%s\"", dash);
}

/* One unbroken run of points: a path through two or more, a dot for a
 * point alone (a path of one point would draw nothing). */
static void line_run(sj_plot *p, size_t series, const double *px, const double *py, size_t n,
                     int faint)
{
    if (n == 1) {
        add(&p->marks, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"2\" fill=\"%s\"/>\n", px[0], py[0],
            sj_plot_colour(series));
        return;
    }
    add(&p->marks, "<path d=\"M%.1f %.1f", px[0], py[0]);
    for (size_t i = 1; i < n; i++)
        add(&p->marks, "L%.1f %.1f", px[i], py[i]);
    add(&p->marks, "\"");
    line_stroke(&p->marks, series, faint);
    add(&p->marks, "/>\n");
}

static void draw_line(sj_plot *p, size_t series, size_t n, const double *x, const double *y,
                      int faint)
{
    double *px = calloc(n ? n : 1, sizeof *px), *py = calloc(n ? n : 1, sizeof *py);
    if (!px || !py) {
        free(px);
        free(py);
        p->failed = 1;
        return;
    }
    size_t run = 0;
    for (size_t i = 0; i <= n; i++) {
        if (i < n && isfinite(x[i]) && isfinite(y[i])) {
            px[run] = sj_plot_px(p, SJ_AXIS_X, x[i]);
            py[run++] = sj_plot_px(p, SJ_AXIS_Y, y[i]);
            continue;
        }
        if (run)
            line_run(p, series, px, py, run, faint);
        run = 0;
    }
    free(px);
    free(py);
    mark_drawn(p, series, (unsigned char)(DRAWN_LINE | (faint ? DRAWN_FAINT : 0)));
}

void sj_plot_line(sj_plot *p, size_t series, size_t n, const double *x, const double *y)
{
    draw_line(p, series, n, x, y, 0);
}

void sj_plot_line_faint(sj_plot *p, size_t series, size_t n, const double *x, const double *y)
{
    draw_line(p, series, n, x, y, 1);
}

/* The swatch of a series in the legend looks like what was drawn for it:
 * a stretch of its line (with its marker when it has both), its bar
 * colour, or its marker (hollow when it was only drawn hollow). */
static double swatch_width(const sj_plot *p, size_t series)
{
    return p->drawn[series % MAX_SERIES] & DRAWN_LINE ? SWATCH_LINE_PX : SWATCH_MARK_PX;
}

static void swatch(sj_plot *p, size_t series, double x, double cy)
{
    unsigned char d = p->drawn[series % MAX_SERIES];
    if (d & DRAWN_LINE) {
        add(&p->legend, "<path d=\"M%.1f %.1fH%.1f\"", x, cy, x + SWATCH_LINE_PX);
        line_stroke(&p->legend, series, (d & DRAWN_FAINT) && !(d & DRAWN_MARK));
        add(&p->legend, "/>\n");
        if (d & DRAWN_MARK)
            marker(&p->legend, series, x + SWATCH_LINE_PX / 2, cy, 0);
    } else if ((d & DRAWN_BAR) && !(d & (DRAWN_MARK | DRAWN_HOLLOW))) {
        add(&p->legend, "<rect x=\"%.1f\" y=\"%.1f\" width=\"10\" height=\"10\" fill=\"%s\"/>\n", x,
            cy - 5, sj_plot_colour(series));
    } else {
        marker(&p->legend, series, x + SWATCH_MARK_PX / 2, cy,
               (d & DRAWN_HOLLOW) && !(d & DRAWN_MARK));
    }
}

/* The bytes of text that fit in max_w pixels at FONT_PX, with room for an
 * ellipsis when it has to be cut (*cut set). */
static size_t fit_bytes(const char *text, double max_w, int *cut)
{
    double w = 0, ellipsis = 0.84 * FONT_PX;
    size_t i = 0, fits = 0;
    *cut = 0;
    if (sj_plot_text_width(text, FONT_PX) <= max_w)
        return strlen(text);
    while (text[i]) {
        w += char_em((unsigned char)text[i]) * FONT_PX;
        i++;
        while ((text[i] & 0xC0) == 0x80)
            i++;
        if (w + ellipsis > max_w)
            break;
        fits = i;
    }
    *cut = 1;
    return fits;
}

static void legend_entry(sj_plot *p, const char *name, size_t series, double x, double cy,
                         size_t bytes, int cut)
{
    add(&p->legend, "<g class=\"legend-entry\">");
    swatch(p, series, x, cy);
    add(&p->legend, "<text x=\"%.1f\" y=\"%.1f\" font-size=\"%.0f\">",
        x + swatch_width(p, series) + SWATCH_GAP_PX, cy + FONT_PX * 0.36, FONT_PX);
    if (cut) {
        add(&p->legend, "<title>");
        add_text(&p->legend, name);
        add(&p->legend, "</title>");
        char *part = sj_strndup(name, bytes);
        if (!part) {
            p->failed = 1;
        } else {
            add_text(&p->legend, part);
            add(&p->legend, "\xe2\x80\xa6");
        }
        free(part);
    } else {
        add_text(&p->legend, name);
    }
    add(&p->legend, "</text></g>\n");
}

void sj_plot_legend(sj_plot *p, size_t n, const char *const *names, const size_t *series)
{
    /* Below the plot, left to right from the frame's left edge and onto a
     * new row when an entry would cross the right edge: never over the
     * data, never off the canvas, and each swatch just left of its own
     * label. Widths come from the text-width estimate. */
    double x0 = p->left, x1 = p->width - p->right;
    if (x1 - x0 < 120) {
        x0 = 4;
        x1 = p->width - 4;
    }
    double top = p->height + p->legend_h;
    double x = x0, cy = top + 2 + LEGEND_ROW_PX / 2;
    size_t rows = 1;
    for (size_t k = 0; k < n; k++) {
        const char *name = names[k] ? names[k] : "";
        double sw = swatch_width(p, series[k]) + SWATCH_GAP_PX;
        int cut;
        size_t bytes = fit_bytes(name, x1 - x0 - sw, &cut);
        double text_w = cut ? 0.84 * FONT_PX : 0;
        for (size_t i = 0; i < bytes; i++)
            if ((name[i] & 0xC0) != 0x80)
                text_w += char_em((unsigned char)name[i]) * FONT_PX;
        if (x > x0 && x + sw + text_w > x1) {
            x = x0;
            cy += LEGEND_ROW_PX;
            rows++;
        }
        legend_entry(p, name, series[k], x, cy, bytes, cut);
        x += sw + text_w + LEGEND_GAP_PX;
    }
    p->legend_h += 2 + (double)rows * LEGEND_ROW_PX + 4;
}

static void render_numeric_axis(const sj_plot *q, sj_buf *b, sj_axis axis)
{
    const axis_state *a = &q->ax[axis];
    char num[64];
    for (size_t i = 0; i < a->n_ticks; i++) {
        format_tick(a->ticks[i], a->step, num, sizeof num);
        double v = sj_plot_px(q, axis, a->ticks[i]);
        if (axis == SJ_AXIS_X) {
            add(b,
                "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#e2e2e2\"/>"
                "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#333\"/>"
                "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\" font-size=\"%.0f\">%s</text>\n",
                v, q->top, v, q->height - q->bottom, v, q->height - q->bottom, v,
                q->height - q->bottom + 4, v, q->height - q->bottom + 6 + FONT_PX, FONT_PX, num);
        } else {
            add(b,
                "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#e2e2e2\"/>"
                "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#333\"/>"
                "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\" font-size=\"%.0f\">%s</text>\n",
                q->left, v, q->width - q->right, v, q->left - 4, v, q->left, v, q->left - 6,
                v + FONT_PX / 3, FONT_PX, num);
        }
    }
}

static void render_categorical_axis(const sj_plot *q, sj_buf *b, sj_axis axis)
{
    const axis_state *a = &q->ax[axis];
    size_t max_chars =
        axis == SJ_AXIS_Y ? (size_t)((q->left - 10) / (FONT_PX * 0.6)) : CATEGORY_CHARS;
    if (max_chars < 4)
        max_chars = 4;
    /* Crowded x categories: label every k-th one. */
    size_t every = 1;
    if (axis == SJ_AXIS_X && a->n_cat > 0) {
        double slot = (q->width - q->left - q->right) / (double)a->n_cat;
        while (slot * (double)every < 7 * FONT_PX * 0.6)
            every++;
        max_chars = (size_t)(slot * (double)every / (FONT_PX * 0.6));
        if (max_chars < 3)
            max_chars = 3;
    }
    for (size_t i = 0; i < a->n_cat; i += every) {
        double v = sj_plot_px(q, axis, (double)i);
        if (axis == SJ_AXIS_X) {
            add(b, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\" font-size=\"%.0f\">", v,
                q->height - q->bottom + 6 + FONT_PX, FONT_PX);
        } else {
            add(b,
                "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#f0f0f0\"/>"
                "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\" font-size=\"%.0f\">",
                q->left, v, q->width - q->right, v, q->left - 6, v + FONT_PX / 3, FONT_PX);
        }
        add(b, "<title>");
        add_text(b, a->names[i]);
        add(b, "</title>");
        add_short_text(b, a->names[i], max_chars);
        add(b, "</text>\n");
    }
}

static void render_axis_labels(const sj_plot *q, sj_buf *b)
{
    if (q->ax[0].label && *q->ax[0].label) {
        add(b,
            "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\" font-size=\"%.0f\" "
            "font-weight=\"600\">",
            (q->left + q->width - q->right) / 2, q->height - 8, FONT_PX + 1);
        add_text(b, q->ax[0].label);
        add(b, "</text>\n");
    }
    if (q->ax[1].label && *q->ax[1].label) {
        double cx = 14, cy = (q->top + q->height - q->bottom) / 2;
        add(b,
            "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\" font-size=\"%.0f\" "
            "font-weight=\"600\" transform=\"rotate(-90 %.1f %.1f)\">",
            cx, cy, FONT_PX + 1, cx, cy);
        add_text(b, q->ax[1].label);
        add(b, "</text>\n");
    }
}

int sj_plot_render(const sj_plot *p, sj_buf *out)
{
    /* One check for all that could fail while the plot was built: its own
     * set-up (axes, names) and the appends to every layer. */
    if (p->failed || !p->ax[0].set || !p->ax[1].set || sj_buf_failed(&p->under) ||
        sj_buf_failed(&p->marks) || sj_buf_failed(&p->over) || sj_buf_failed(&p->legend)) {
        sj_buf_fail(out);
        return -1;
    }
    sj_buf body = {0};
    /* The legend's rows lengthen the canvas below the plot. */
    double height = ceil(p->height + p->legend_h);
    add(&body,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 %.0f %.0f\" width=\"%.0f\" "
        "height=\"%.0f\" role=\"img\" font-family=\"DejaVu Sans, Helvetica, Arial, "
        "sans-serif\">\n<title>",
        p->width, height, p->width, height);
    add_text(&body, p->title);
    add(&body, "</title>\n<desc>");
    add_text(&body, p->description);
    add(&body, "</desc>\n");
    const sj_buf *layers[] = {&p->under, NULL, &p->marks, &p->over, &p->legend};
    for (size_t l = 0; l < sizeof layers / sizeof *layers; l++) {
        if (!layers[l]) {
            for (int axis = 0; axis < 2; axis++) {
                if (p->ax[axis].categorical)
                    render_categorical_axis(p, &body, (sj_axis)axis);
                else
                    render_numeric_axis(p, &body, (sj_axis)axis);
            }
            add(&body,
                "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"none\" "
                "stroke=\"#333\"/>\n",
                p->left, p->top, p->width - p->left - p->right, p->height - p->top - p->bottom);
        } else if (layers[l]->len) {
            int legend = layers[l] == &p->legend;
            if (legend)
                add(&body, "<g class=\"legend\">\n");
            sj_buf_append(&body, layers[l]->data, layers[l]->len);
            if (legend)
                add(&body, "</g>\n");
        }
    }
    render_axis_labels(p, &body);
    add(&body, "</svg>\n");
    /* The chart goes into the page whole or not at all. */
    if (sj_buf_failed(&body))
        sj_buf_fail(out);
    else
        sj_buf_append(out, body.data, body.len);
    sj_buf_free(&body);
    return sj_buf_failed(out) ? -1 : 0;
}
