/* Writing a report page: the fragment helpers the audit and compare pages
 * share. Each appends to the page's buffer and leaves any failure in the
 * buffer's sticky flag. */
#include "report_internal.h"

#include <stdarg.h>
#include <stdio.h>

void rj_out(sj_buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    sj_buf_vprintf(b, fmt, ap);
    va_end(ap);
}

void rj_text(sj_buf *b, const char *s)
{
    sj_html_text(b, s ? s : "");
}

void rj_svg(sj_buf *b, sj_plot *plot)
{
    if (!plot)
        sj_buf_fail(b);
    else
        sj_plot_render(plot, b);
    sj_plot_free(plot);
}

void rj_badge(sj_buf *b, const char *cls)
{
    rj_class_badge(b, cls);
}

void rj_page_begin(sj_buf *b, const char *title, const cJSON *instrument, const char *reference,
                   const char *focal, const char *const *tail, size_t n)
{
    sj_buf sub = {0};
    sj_buf_printf(&sub, "Reference group ");
    sj_html_text(&sub, reference);
    sj_buf_printf(&sub, ", focal group ");
    sj_html_text(&sub, focal);
    sj_buf_printf(&sub, " \xc2\xb7 ");
    for (size_t k = 0; k < n; k++) {
        sj_buf_printf(&sub, "%s", k ? " \xe2\x86\x92 " : "");
        sj_html_text(&sub, tail[k]);
    }
    /* An incomplete subtitle fails the page rather than being shown. */
    if (sj_buf_failed(&sub))
        sj_buf_fail(b);
    else
        sj_html_begin(b, title, rj_str(instrument, "title"), sub.data);
    sj_buf_free(&sub);
}

void rj_input_files(sj_buf *b, const cJSON *inputs, int with_bytes)
{
    rj_out(b,
           "<table><caption>Input files</caption><thead><tr><th class=\"l\">Role</th><th "
           "class=\"l\">Path</th><th class=\"l\">SHA-256</th>%s</tr></thead><tbody>\n",
           with_bytes ? "<th>Bytes</th>" : "");
    const cJSON *in;
    cJSON_ArrayForEach(in, inputs)
    {
        rj_out(b, "<tr><td class=\"l\">");
        rj_text(b, rj_str(in, "role"));
        rj_out(b, "</td><td class=\"id\"><code>");
        rj_text(b, rj_str(in, "path"));
        rj_out(b, "</code></td><td class=\"l\"><code>");
        rj_text(b, rj_str(in, "sha256"));
        rj_out(b, "</code></td>");
        if (with_bytes)
            sj_html_number_cell(b, rj_num(in, "bytes"), 0, NULL);
        rj_out(b, "</tr>\n");
    }
    rj_out(b, "</tbody></table>\n</section>\n");
}

int rj_take_line(cJSON *lines, sj_buf *b)
{
    int failed = sj_buf_failed(b);
    if (!failed && b->data) {
        cJSON *line = cJSON_CreateString(b->data);
        if (!line || !cJSON_AddItemToArray(lines, line)) {
            cJSON_Delete(line);
            failed = 1;
        }
    }
    sj_buf_free(b);
    return failed ? -1 : 0;
}

const char *rj_fmt(char *buf, size_t n, double v, int digits)
{
    sj_html_format_number(v, digits, buf, n);
    return buf;
}
