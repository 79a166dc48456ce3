/* The simulator's true scores, the gold judge of PPO's reward-hacking watch. */
#include "sjtalign/align.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    char *person;
    size_t item;
    double score;
} truth_row;

struct sja_truth {
    size_t n;
    truth_row *rows; /* sorted by person, then item */
};

static int compare_rows(const void *a, const void *b)
{
    const truth_row *x = a, *y = b;
    int c = strcmp(x->person, y->person);
    if (c)
        return c;
    return (x->item > y->item) - (x->item < y->item);
}

void sja_truth_free(sja_truth *t)
{
    if (!t)
        return;
    for (size_t i = 0; i < t->n; i++)
        free(t->rows[i].person);
    free(t->rows);
    free(t);
}

sja_truth *sja_truth_load(const char *path, const sj_instrument *ins, sj_error *err)
{
    sj_table *tab = sj_table_read(path, err);
    if (!tab)
        return NULL;
    long cp = sj_table_column(tab, "person_id", err);
    long ci = cp >= 0 ? sj_table_column(tab, "item_id", err) : -1;
    long cs = ci >= 0 ? sj_table_column(tab, "true_score", err) : -1;
    sja_truth *t = cs >= 0 ? sj_calloc(1, sizeof *t) : NULL;
    if (t)
        t->rows = sj_calloc(tab->n_rows ? tab->n_rows : 1, sizeof *t->rows);
    if (cs >= 0 && (!t || !t->rows)) {
        sj_error_set(err, SJ_ERR_WORK, "out of memory");
        free(t);
        t = NULL;
    }
    for (size_t r = 0; t && r < tab->n_rows; r++) {
        const char *item = sj_table_cell(tab, r, (size_t)ci);
        long k = sj_instrument_find_item(ins, item);
        double v;
        if (k < 0) {
            sj_error_at(err, SJ_ERR_INPUT, path, tab->row_line[r], ci + 1,
                        "item '%s' is not in instrument '%s'", item, ins->id);
        } else if (sj_table_number(tab, r, (size_t)cs, &v, err) == SJ_OK) {
            t->rows[t->n].person = sj_strdup(sj_table_cell(tab, r, (size_t)cp));
            t->rows[t->n].item = (size_t)k;
            t->rows[t->n].score = v;
            t->n++;
            continue;
        }
        sja_truth_free(t);
        t = NULL;
    }
    if (t)
        qsort(t->rows, t->n, sizeof *t->rows, compare_rows);
    sj_table_free(tab);
    return t;
}

double sja_truth_lookup(const sja_truth *t, const char *person, size_t item)
{
    truth_row key = {(char *)person, item, 0};
    const truth_row *r = bsearch(&key, t->rows, t->n, sizeof *t->rows, compare_rows);
    return r ? r->score : NAN;
}
