/* Plain-text tables for the terminal. */
#include "text_table.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int grow(cli_text_table *t)
{
    if (t->n_rows + 1 < t->cap_rows)
        return 0;
    size_t cap = t->cap_rows ? 2 * t->cap_rows : 16;
    char **cells = realloc(t->cells, cap * t->n_cols * sizeof *cells);
    if (!cells)
        return -1;
    t->cells = cells;
    t->cap_rows = cap;
    return 0;
}

/* -1 when the row could not be stored; a row stored with a cell that could
 * not be copied (NULL) still counts, so that it is freed. */
static int add_row(cli_text_table *t, const char *const *cells, size_t row)
{
    if (grow(t) != 0) {
        t->failed = 1;
        return -1;
    }
    for (size_t c = 0; c < t->n_cols; c++) {
        char *copy = sj_strdup(cells[c] ? cells[c] : "");
        if (!copy)
            t->failed = 1;
        t->cells[row * t->n_cols + c] = copy;
    }
    return 0;
}

int cli_text_table_init(cli_text_table *t, const char *const *header, size_t n_cols,
                        const char *align)
{
    memset(t, 0, sizeof *t);
    t->n_cols = n_cols;
    t->align = align;
    if (add_row(t, header, 0) != 0) {
        t->n_rows = 0;
        return -1;
    }
    return t->failed ? -1 : 0;
}

int cli_text_table_add(cli_text_table *t, const char *const *cells)
{
    if (t->failed) /* the table is lost already; keep what is stored freeable */
        return -1;
    if (add_row(t, cells, t->n_rows + 1) != 0)
        return -1;
    t->n_rows++;
    return t->failed ? -1 : 0;
}

/* Characters of a UTF-8 string: bytes that do not continue a sequence. */
static size_t text_width(const char *s)
{
    size_t n = 0;
    for (; *s; s++)
        n += ((unsigned char)*s & 0xC0) != 0x80;
    return n;
}

static void pad(sj_buf *b, size_t n)
{
    for (size_t i = 0; i < n; i++)
        sj_buf_append(b, " ", 1);
}

static void render_row(const cli_text_table *t, sj_buf *b, size_t row, const size_t *width)
{
    for (size_t c = 0; c < t->n_cols; c++) {
        const char *cell = t->cells[row * t->n_cols + c];
        size_t w = text_width(cell), last = c + 1 == t->n_cols;
        int right = t->align && t->align[c] == 'r';
        if (c)
            pad(b, 2);
        if (right)
            pad(b, width[c] - w);
        sj_buf_append(b, cell, strlen(cell));
        if (!right && !last)
            pad(b, width[c] - w);
    }
    sj_buf_append(b, "\n", 1);
}

void cli_text_table_render(const cli_text_table *t, sj_buf *b)
{
    if (t->failed) {
        sj_buf_fail(b);
        return;
    }
    size_t *width = calloc(t->n_cols ? t->n_cols : 1, sizeof *width);
    if (!width) {
        sj_buf_fail(b);
        return;
    }
    size_t total = 0;
    for (size_t r = 0; r <= t->n_rows; r++)
        for (size_t c = 0; c < t->n_cols; c++) {
            size_t w = text_width(t->cells[r * t->n_cols + c]);
            width[c] = w > width[c] ? w : width[c];
        }
    for (size_t c = 0; c < t->n_cols; c++)
        total += width[c] + (c ? 2 : 0);
    render_row(t, b, 0, width);
    for (size_t i = 0; i < total; i++)
        sj_buf_append(b, "-", 1);
    sj_buf_append(b, "\n", 1);
    for (size_t r = 1; r <= t->n_rows; r++)
        render_row(t, b, r, width);
    free(width);
}

void cli_text_table_free(cli_text_table *t)
{
    size_t n = t->cells ? (t->n_rows + 1) * t->n_cols : 0;
    for (size_t i = 0; i < n; i++)
        free(t->cells[i]);
    free(t->cells);
    memset(t, 0, sizeof *t);
}

sj_status cli_write_text(const char *path, const sj_buf *b, sj_error *err)
{
    if (sj_buf_failed(b))
        return sj_error_set(err, SJ_ERR_WORK, "out of memory building the table");
    const char *text = b->data ? b->data : "";
    if (strcmp(path, "-") != 0)
        return sj_write_file_atomic(path, text, strlen(text), err);
    if (fputs(text, stdout) == EOF || fflush(stdout) != 0)
        return sj_error_set(err, SJ_ERR_WORK, "cannot write to standard output");
    return SJ_OK;
}
