/* libFuzzer target: the CSV table reader and the typed cell accessors. */
#include <stddef.h>
#include <stdint.h>

#include "sjtalign/io.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    sj_error err;
    sj_table *t = sj_table_parse("fuzz.csv", (const char *)data, size, &err);
    if (!t)
        return 0;
    for (size_t r = 0; r < t->n_rows && r < 64; r++)
        for (size_t c = 0; c < t->n_cols; c++) {
            double v;
            long n;
            sj_table_number(t, r, c, &v, &err);
            sj_table_integer(t, r, c, &n, &err);
            char *safe = sj_csv_neutralise(sj_table_cell(t, r, c));
            free(safe);
        }
    if (t->n_cols > 0)
        sj_table_column(t, "person_id", &err);
    sj_table_free(t);
    return 0;
}
