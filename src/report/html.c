/* HTML pieces shared by the audit and compare pages: escaping, the page
 * skeleton and the inline style sheet. */
#include "report_internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Length of the bidirectional formatting character (an embedding,
 * override, isolate or mark: U+202A-U+202E, U+2066-U+2069, U+200E, U+200F,
 * U+061C) at c in UTF-8, or 0. They reorder the text that follows them. */
static size_t bidi_control_length(const char *c)
{
    const unsigned char *u = (const unsigned char *)c;
    if (u[0] == 0xD8 && u[1] == 0x9C)
        return 2;
    if (u[0] != 0xE2)
        return 0;
    if (u[1] == 0x80 && (u[2] == 0x8E || u[2] == 0x8F || (u[2] >= 0xAA && u[2] <= 0xAE)))
        return 3;
    if (u[1] == 0x81 && u[2] >= 0xA6 && u[2] <= 0xA9)
        return 3;
    return 0;
}

static const char *entity_for(char c)
{
    switch (c) {
    case '&':
        return "&amp;";
    case '<':
        return "&lt;";
    case '>':
        return "&gt;";
    case '"':
        return "&quot;";
    case '\'':
        return "&#39;";
    default:
        return NULL;
    }
}

/* Escapes the five HTML specials; with replace_bidi, bidirectional controls
 * become U+FFFD, a visible mark that something was there. */
static int escape_text(sj_buf *b, const char *text, int replace_bidi)
{
    static const char REPLACEMENT[] = "\xef\xbf\xbd";
    const char *run = text;
    for (const char *c = text; *c;) {
        const char *ref = entity_for(*c);
        size_t skip = ref ? 1 : replace_bidi ? bidi_control_length(c) : 0;
        if (skip == 0) {
            c++;
            continue;
        }
        if (!ref)
            ref = REPLACEMENT;
        sj_buf_append(b, run, (size_t)(c - run));
        sj_buf_append(b, ref, strlen(ref));
        c += skip;
        run = c;
    }
    sj_buf_append(b, run, strlen(run));
    return sj_buf_failed(b) ? -1 : 0;
}

int sj_html_escape(sj_buf *b, const char *text)
{
    return text ? escape_text(b, text, 1) : 0;
}

int sj_html_text(sj_buf *b, const char *text)
{
    /* <bdi> ends any embedding or override the text opens and keeps the
     * text's direction from reordering what follows it. */
    sj_buf_append(b, "<bdi>", 5);
    escape_text(b, text ? text : "", 0);
    sj_buf_append(b, "</bdi>", 6);
    return sj_buf_failed(b) ? -1 : 0;
}

char *sj_html_escaped(const char *text)
{
    sj_buf b = {0};
    sj_html_escape(&b, text ? text : "");
    sj_buf_append(&b, "", 0); /* an empty text still gets its own string */
    if (sj_buf_failed(&b)) {
        sj_buf_free(&b);
        return NULL;
    }
    return b.data;
}

/* Print rules leave the paper size to the printer (A4 or Letter): the
 * margins fit both, charts scale to the column width, and tables repeat
 * their header rows instead of splitting rows across pages. A table that
 * fits on a page moves whole to the next one, and a caption, a header row
 * or a colour key never ends a page, so neither is parted from its table.
 * Tables never grow wider than the column: a number never wraps, but a
 * cell's muted note (a count, a correction) moves to a second line. */
static const char CSS[] =
    ":root{--ink:#1b1b1b;--muted:#5a5a5a;--rule:#d0d0d0;--bg-soft:#f4f4f1;"
    "--ok:#007a55;--warn:#9a6700;--bad:#b3261e;}\n"
    "*{box-sizing:border-box;}\n"
    "html{font-size:15px;}\n"
    "body{margin:0 auto;max-width:60rem;padding:1.5rem 1.25rem 3rem;color:var(--ink);"
    "background:#fff;font-family:\"DejaVu Sans\",\"Helvetica Neue\",Arial,sans-serif;"
    "line-height:1.45;}\n"
    "header.page{border-bottom:2px solid var(--ink);margin-bottom:1rem;}\n"
    "header.page h1{font-size:1.6rem;margin:0 0 .2rem;}\n"
    "header.page p.sub{margin:0 0 .6rem;color:var(--muted);}\n"
    "h2{font-size:1.25rem;margin:1.8rem 0 .5rem;padding-bottom:.15rem;"
    "border-bottom:1px solid var(--rule);}\n"
    "h3{font-size:1.05rem;margin:1.2rem 0 .4rem;}\n"
    "p,li{max-width:48rem;}\n"
    "nav.toc ol{columns:2;margin:.3rem 0;padding-left:1.4rem;}\n"
    "nav.toc a{color:inherit;}\n"
    "table{border-collapse:collapse;margin:.5rem 0 1rem;font-size:.85rem;"
    "font-variant-numeric:tabular-nums;max-width:100%;}\n"
    "th,td{padding:.2rem .3rem;border-bottom:1px solid var(--rule);text-align:right;"
    "vertical-align:top;}\n"
    "th{background:var(--bg-soft);font-weight:600;}\n"
    "td{white-space:nowrap;}\n"
    "td:has(>.muted){white-space:normal;}\n"
    "th.l,td.l{text-align:left;}\n"
    "th.grp{text-align:center;border-bottom:1px solid var(--rule);}\n"
    "td.l{white-space:normal;}\n"
    ".pair{display:flex;flex-wrap:wrap;gap:0 2rem;align-items:flex-start;}\n"
    "td.id{text-align:left;max-width:14rem;overflow-wrap:break-word;white-space:normal;}\n"
    "caption{caption-side:top;text-align:left;font-weight:600;padding:.2rem 0;}\n"
    ".flag,.bad{color:var(--bad);font-weight:600;}\n"
    ".warn{color:var(--warn);font-weight:600;}\n"
    ".ok{color:var(--ok);}\n"
    ".muted,.note,.key{color:var(--muted);font-size:.85rem;}\n"
    "td .muted{font-size:inherit;}\n"
    ".cls{display:inline-block;min-width:1.9rem;text-align:center;border-radius:.2rem;"
    "padding:0 .2rem;font-weight:700;}\n"
    ".cls-A,.cls-AA{background:" RJ_BAND_A ";color:#00543a;}\n"
    ".cls-B,.cls-BB{background:" RJ_BAND_B ";color:#6b4700;}\n"
    ".cls-C,.cls-CC{background:" RJ_BAND_C ";color:#8a1c15;}\n"
    ".summary{background:var(--bg-soft);border-left:4px solid var(--ink);padding:.6rem 1rem;"
    "margin:.5rem 0 1rem;}\n"
    ".summary li{margin:.2rem 0;}\n"
    "figure{margin:.6rem 0 1.2rem;}\n"
    "figure svg{display:block;max-width:100%;height:auto;}\n"
    "figcaption{font-size:.85rem;color:var(--muted);max-width:48rem;}\n"
    "dl.kv{display:grid;grid-template-columns:max-content auto;gap:.15rem 1rem;"
    "font-size:.9rem;}\n"
    "dl.kv dt{font-weight:600;}\n"
    "dl.kv dd{margin:0;overflow-wrap:anywhere;}\n"
    "code,.mono{font-family:\"DejaVu Sans Mono\",Menlo,Consolas,monospace;font-size:.85em;"
    "overflow-wrap:anywhere;}\n"
    "footer.page{margin-top:2rem;border-top:1px solid var(--rule);padding-top:.5rem;}\n"
    "@page{margin:16mm 14mm 18mm;}\n"
    "@media print{html{font-size:10pt;}body{max-width:none;padding:0;}table{font-size:7.5pt;}"
    "*{-webkit-print-color-adjust:exact;print-color-adjust:exact;}"
    "nav.toc{display:none;}"
    "h2,h3{break-after:avoid;page-break-after:avoid;}"
    "figure,tr,.summary,dl.kv,.pair>div,p.caveat{break-inside:avoid;page-break-inside:avoid;}"
    "table{break-inside:avoid;page-break-inside:avoid;}"
    "caption,thead,p.key{break-after:avoid;page-break-after:avoid;}"
    "thead{display:table-header-group;}"
    "section.chapter{break-before:auto;}"
    "a{color:inherit;text-decoration:none;}}\n";

const char *sj_html_css(void)
{
    return CSS;
}

int sj_html_begin(sj_buf *b, const char *title, const char *name, const char *subtitle_html)
{
    sj_buf_printf(b, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
                     "<meta name=\"viewport\" content=\"width=device-width, "
                     "initial-scale=1\">\n<title>");
    sj_html_escape(b, title);
    if (name && *name) {
        sj_buf_printf(b, " ");
        sj_html_escape(b, name);
    }
    sj_buf_printf(b,
                  "</title>\n<style>\n%s</style>\n</head>\n<body>\n<header "
                  "class=\"page\">\n<h1>",
                  CSS);
    sj_html_escape(b, title);
    if (name && *name) {
        sj_buf_printf(b, " ");
        sj_html_text(b, name);
    }
    sj_buf_printf(b, "</h1>\n");
    if (subtitle_html && *subtitle_html)
        sj_buf_printf(b, "<p class=\"sub\">%s</p>\n", subtitle_html);
    sj_buf_printf(b, "</header>\n<main>\n");
    return sj_buf_failed(b) ? -1 : 0;
}

int sj_html_end(sj_buf *b)
{
    return sj_buf_printf(b,
                         "</main>\n<footer class=\"page\"><p class=\"note\">Written by "
                         "sjtalign %s. This file is self-contained: it loads nothing from "
                         "anywhere.</p></footer>\n</body>\n</html>\n",
                         SJ_VERSION);
}

int sj_html_element(sj_buf *b, const char *tag, const char *cls, const char *text)
{
    if (cls)
        sj_buf_printf(b, "<%s class=\"%s\">", tag, cls);
    else
        sj_buf_printf(b, "<%s>", tag);
    sj_html_text(b, text);
    sj_buf_printf(b, "</%s>", tag);
    return sj_buf_failed(b) ? -1 : 0;
}

void sj_html_format_number(double value, int digits, char *out, size_t n)
{
    if (isnan(value)) {
        snprintf(out, n, "\xe2\x80\x94");
        return;
    }
    if (isinf(value)) {
        snprintf(out, n, "%s\xe2\x88\x9e", value < 0 ? "\xe2\x88\x92" : "");
        return;
    }
    char tmp[64];
    snprintf(tmp, sizeof tmp, "%.*f", digits, value);
    /* "-0.00" reads as a sign that is not there. */
    int all_zero = 1;
    for (const char *c = tmp; *c; c++)
        if (*c >= '1' && *c <= '9')
            all_zero = 0;
    if (tmp[0] == '-' && !all_zero)
        snprintf(out, n, "\xe2\x88\x92%s", tmp + 1); /* U+2212 minus sign */
    else
        snprintf(out, n, "%s", tmp[0] == '-' ? tmp + 1 : tmp);
}

void sj_html_format_p(double p, char *out, size_t n)
{
    if (isnan(p)) {
        snprintf(out, n, "\xe2\x80\x94");
        return;
    }
    if (p < 0.001) {
        snprintf(out, n, "&lt; .001");
        return;
    }
    char tmp[32];
    snprintf(tmp, sizeof tmp, "%.3f", p);
    snprintf(out, n, "%s", tmp[0] == '0' ? tmp + 1 : tmp);
}

int sj_html_number_cell(sj_buf *b, double value, int digits, const char *cls)
{
    char num[64];
    sj_html_format_number(value, digits, num, sizeof num);
    if (cls)
        return sj_buf_printf(b, "<td class=\"%s\">%s</td>", cls, num);
    return sj_buf_printf(b, "<td>%s</td>", num);
}

int sj_html_colour_key(sj_buf *b, const char *ok, const char *warn, const char *bad)
{
    static const char *const cls[3] = {"ok", "warn", "bad"};
    static const char *const colour[3] = {"green", "amber", "red"};
    const char *meaning[3] = {ok, warn, bad};
    int first = 1;
    for (int i = 0; i < 3; i++) {
        if (!meaning[i])
            continue;
        sj_buf_printf(b, "%s<span class=\"%s\">%s</span> ",
                      first ? "<p class=\"key\">Text colours: " : "; ", cls[i], colour[i]);
        sj_html_escape(b, meaning[i]);
        first = 0;
    }
    if (!first)
        sj_buf_printf(b, ".</p>\n");
    return sj_buf_failed(b) ? -1 : 0;
}
