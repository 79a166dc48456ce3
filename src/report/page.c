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
