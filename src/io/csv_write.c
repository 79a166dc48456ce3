/* Writing CSV with libcsv's quoting, atomically, with spreadsheet formula
 * neutralisation of text cells. */
#include "sjtalign/io.h"

#include <csv.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

void sj_format_number(double value, char *out, size_t n)
{
    if (isnan(value)) {
        snprintf(out, n, "NA");
        return;
    }
    if (isinf(value)) {
        snprintf(out, n, value > 0 ? "Inf" : "-Inf");
        return;
    }
    for (int digits = 15; digits <= 17; digits++) {
        snprintf(out, n, "%.*g", digits, value);
        if (strtod(out, NULL) == value)
            return;
    }
}

static int looks_like_formula(const char *text)
{
    return text[0] == '=' || text[0] == '+' || text[0] == '-' || text[0] == '@' ||
           text[0] == '\t' || text[0] == '\r';
}

/* A text that already has the neutralised shape gets one more quote, so
 * the reader's removal of one quote gives it back unchanged. */
char *sj_csv_neutralise(const char *text)
{
    double ignored;
    if ((looks_like_formula(text) && sj_parse_number(text, &ignored) != 0) ||
        sj_csv_is_neutralised(text, strlen(text)))
        return sj_asprintf("'%s", text);
    return sj_strdup(text);
}

static int needs_quotes(const char *text)
{
    size_t n = strlen(text);
    if (n == 0)
        return 0;
    return strpbrk(text, ",\"\r\n") != NULL || text[0] == ' ' || text[n - 1] == ' ';
}

static void write_text(sj_csv_writer *w, const char *text)
{
    if (w->in_row > 0)
        fputc(',', w->out);
    if (needs_quotes(text))
        csv_fwrite(w->out, text, strlen(text));
    else
        fputs(text, w->out);
    if (++w->in_row == w->n_cols) {
        fputc('\n', w->out);
        w->in_row = 0;
    }
}

void sj_csv_cell(sj_csv_writer *w, const char *text)
{
    char *safe = sj_csv_neutralise(text ? text : "");
    write_text(w, safe ? safe : "");
    free(safe);
}

void sj_csv_cell_number(sj_csv_writer *w, double value)
{
    char buf[40];
    sj_format_number(value, buf, sizeof buf);
    write_text(w, buf);
}

void sj_csv_cell_integer(sj_csv_writer *w, long value)
{
    char buf[32];
    snprintf(buf, sizeof buf, "%ld", value);
    write_text(w, buf);
}

void sj_csv_row(sj_csv_writer *w, const char *const *cells)
{
    for (size_t i = 0; i < w->n_cols; i++)
        sj_csv_cell(w, cells[i]);
}

sj_status sj_csv_open(sj_csv_writer *w, const char *path, const char *const *header, size_t n_cols,
                      sj_error *err)
{
    memset(w, 0, sizeof *w);
    w->n_cols = n_cols;
    if (strcmp(path, "-") == 0) {
        w->to_stdout = 1;
        w->out = stdout;
    } else {
        if (sj_atomic_open(&w->file, path, err) != SJ_OK)
            return SJ_ERR_WORK;
        w->out = w->file.fp;
    }
    sj_csv_row(w, header);
    return SJ_OK;
}

sj_status sj_csv_close(sj_csv_writer *w, sj_error *err)
{
    if (w->to_stdout)
        return fflush(stdout) == 0 ? SJ_OK
                                   : sj_error_set(err, SJ_ERR_WORK, "cannot write standard output");
    return sj_atomic_commit(&w->file, err);
}

void sj_csv_abort(sj_csv_writer *w)
{
    if (!w->to_stdout)
        sj_atomic_abort(&w->file);
}
