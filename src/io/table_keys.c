/* The distinct values of one column of a table (its persons, usually),
 * found by one stable sort: several commands group rows by person. */
#include "sjtalign/io.h"

#include <stdlib.h>
#include <string.h>

typedef struct {
    const char *value;
    size_t row;
} keyed_row;

static int by_value_then_row(const void *a, const void *b)
{
    const keyed_row *x = a, *y = b;
    int c = strcmp(x->value, y->value);
    return c ? c : (x->row > y->row) - (x->row < y->row);
}

void sj_table_keys_free(sj_table_keys *k)
{
    free(k->keys);
    free(k->first_row);
    free(k->row_key);
    free(k->order);
    memset(k, 0, sizeof *k);
}

sj_status sj_table_keys_build(const sj_table *t, size_t col, sj_table_keys *out, sj_error *err)
{
    memset(out, 0, sizeof *out);
    size_t n = t->n_rows ? t->n_rows : 1;
    keyed_row *sorted = malloc(n * sizeof *sorted);
    out->keys = malloc(n * sizeof *out->keys);
    out->first_row = malloc(n * sizeof *out->first_row);
    out->row_key = malloc(n * sizeof *out->row_key);
    out->order = malloc(n * sizeof *out->order);
    if (!sorted || !out->keys || !out->first_row || !out->row_key || !out->order) {
        free(sorted);
        sj_table_keys_free(out);
        return sj_error_set(err, SJ_ERR_WORK, "out of memory");
    }
    for (size_t r = 0; r < t->n_rows; r++)
        sorted[r] = (keyed_row){sj_table_cell(t, r, col), r};
    qsort(sorted, t->n_rows, sizeof *sorted, by_value_then_row);
    for (size_t i = 0; i < t->n_rows; i++) {
        size_t row = sorted[i].row;
        if (i == 0 || strcmp(sorted[i - 1].value, sorted[i].value) != 0) {
            out->keys[out->n] = sorted[i].value;
            out->first_row[out->n++] = row;
        }
        out->row_key[row] = out->n - 1;
        out->order[i] = row;
    }
    free(sorted);
    return SJ_OK;
}
