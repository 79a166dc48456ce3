/* Writing a report page: the fragment helpers the audit and compare pages
 * share. */
#include "report_internal.h"

#include <stdarg.h>
#include <stdio.h>

void rj_out(rj_page *pg, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char small[2048];
    int n = vsnprintf(small, sizeof small, fmt, ap);
    va_end(ap);
    /* Page fragments are short; a longer one is a programming error. */
    if (n < 0 || (size_t)n >= sizeof small) {
        pg->failed = 1;
        return;
    }
    if (sj_buf_append(pg->b, small, (size_t)n) != 0)
        pg->failed = 1;
}

void rj_text(rj_page *pg, const char *s)
{
    if (sj_html_text(pg->b, s ? s : "") != 0)
        pg->failed = 1;
}

void rj_svg(rj_page *pg, sj_plot *plot)
{
    if (!plot || sj_plot_render(plot, pg->b) != 0)
        pg->failed = 1;
    sj_plot_free(plot);
}

void rj_badge(rj_page *pg, const char *cls)
{
    if (rj_class_badge(pg->b, cls) != 0)
        pg->failed = 1;
}

const char *rj_fmt(char *buf, size_t n, double v, int digits)
{
    sj_html_format_number(v, digits, buf, n);
    return buf;
}
