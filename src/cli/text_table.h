/* A plain-text table for the terminal (`--format table`): columns padded
 * to their widest cell, a header row and a rule under it. */
#ifndef SJTALIGN_CLI_TEXT_TABLE_H
#define SJTALIGN_CLI_TEXT_TABLE_H

#include <stddef.h>

#include "sjtalign/util.h"

typedef struct {
    size_t n_cols, n_rows; /* rows besides the header */
    const char *align;     /* one letter per column: 'l' left, 'r' right */
    char **cells;          /* (1 + n_rows) * n_cols copies, the header first */
    size_t cap_rows;
    int failed; /* out of memory on some add */
} cli_text_table;

/* align: as the field; the header's n_cols names are copied. */
int cli_text_table_init(cli_text_table *t, const char *const *header, size_t n_cols,
                        const char *align);
/* Adds a row of n_cols cells (NULL is an empty cell); -1 when out of memory. */
int cli_text_table_add(cli_text_table *t, const char *const *cells);
/* Appends the table to b: columns two spaces apart, widths counted in
 * characters (UTF-8), a rule of '-' under the header. */
void cli_text_table_render(const cli_text_table *t, sj_buf *b);
void cli_text_table_free(cli_text_table *t);

/* Writes text to path ("-": standard output), a file atomically. */
sj_status cli_write_text(const char *path, const sj_buf *b, sj_error *err);

#endif
