/* The human scores of one or several raters: a comma list of score columns
 * ("rater_1,rater_2"), each cell a whole number within the instrument's
 * range or empty (that rater did not score the response). */
#include "sjtalign/io.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

void sj_rater_scores_free(sj_rater_scores *r)
{
    if (!r)
        return;
    for (size_t k = 0; r->names && k < r->n_raters; k++)
        free(r->names[k]);
    free(r->names);
    free(r->cols);
    free(r->score);
    free(r);
}

/* The names of a comma list into r->names (r->n_raters of them), blanks
 * around each name dropped; an empty name or one named twice is an input
 * error. */
static sj_status split_names(const char *spec, sj_rater_scores *r, sj_error *err)
{
    size_t n = 1;
    for (const char *p = spec; *p; p++)
        n += *p == ',';
    char **names = calloc(n, sizeof *names);
    if (!names)
        return sj_error_set(err, SJ_ERR_WORK, "out of memory");
    r->names = names;
    r->n_raters = n;
    const char *start = spec;
    for (size_t k = 0; k < n; k++) {
        const char *end = strchr(start, ',');
        if (!end)
            end = start + strlen(start);
        const char *a = start, *b = end;
        while (a < b && (*a == ' ' || *a == '\t'))
            a++;
        while (b > a && (b[-1] == ' ' || b[-1] == '\t'))
            b--;
        if (a == b)
            return sj_error_set(err, SJ_ERR_INPUT,
                                "score columns '%.200s': name %zu of the comma list is empty", spec,
                                k + 1);
        if (!(names[k] = sj_strndup(a, (size_t)(b - a))))
            return sj_error_set(err, SJ_ERR_WORK, "out of memory");
        for (size_t j = 0; j < k; j++)
            if (strcmp(names[j], names[k]) == 0)
                return sj_error_set(err, SJ_ERR_INPUT,
                                    "score columns '%.200s': column '%.100s' is listed twice", spec,
                                    names[k]);
        start = *end ? end + 1 : end;
    }
    return SJ_OK;
}

/* One cell: NaN when empty, else a whole number within the range. */
static sj_status read_cell(const sj_table *t, size_t row, long col, const sj_instrument *ins,
                           double *out, sj_error *err)
{
    *out = NAN;
    if (sj_table_cell(t, row, (size_t)col)[0] == '\0')
        return SJ_OK;
    long s;
    if (sj_table_integer(t, row, (size_t)col, &s, err) != SJ_OK)
        return SJ_ERR_INPUT;
    if (ins && (s < ins->score_min || s > ins->score_max))
        return sj_error_at(err, SJ_ERR_INPUT, t->path, t->row_line[row], col + 1,
                           "score %ld is outside the instrument's range %d..%d", s, ins->score_min,
                           ins->score_max);
    *out = (double)s;
    return SJ_OK;
}

sj_rater_scores *sj_rater_scores_read(const sj_table *t, const char *spec, const sj_instrument *ins,
                                      sj_error *err)
{
    sj_rater_scores *r = calloc(1, sizeof *r);
    if (!r) {
        sj_error_set(err, SJ_ERR_WORK, "out of memory");
        return NULL;
    }
    r->n_rows = t->n_rows;
    sj_status st = split_names(spec, r, err);
    size_t n = r->n_raters;
    if (st == SJ_OK) {
        r->cols = malloc(n * sizeof *r->cols);
        r->score = malloc((t->n_rows ? t->n_rows : 1) * n * sizeof *r->score);
        if (!r->cols || !r->score)
            st = sj_error_set(err, SJ_ERR_WORK, "out of memory");
    }
    for (size_t k = 0; k < n && st == SJ_OK; k++)
        if ((r->cols[k] = sj_table_column(t, r->names[k], err)) < 0)
            st = SJ_ERR_INPUT;
    for (size_t row = 0; row < t->n_rows && st == SJ_OK; row++)
        for (size_t k = 0; k < n && st == SJ_OK; k++)
            st = read_cell(t, row, r->cols[k], ins, &r->score[row * n + k], err);
    if (st != SJ_OK) {
        sj_rater_scores_free(r);
        return NULL;
    }
    return r;
}

size_t sj_rater_count(const sj_rater_scores *r, size_t row)
{
    size_t c = 0;
    for (size_t k = 0; k < r->n_raters; k++)
        c += !isnan(r->score[row * r->n_raters + k]);
    return c;
}

double sj_rater_mean(const sj_rater_scores *r, size_t row)
{
    double sum = 0;
    size_t c = 0;
    for (size_t k = 0; k < r->n_raters; k++) {
        double s = r->score[row * r->n_raters + k];
        if (!isnan(s)) {
            sum += s;
            c++;
        }
    }
    return c ? sum / (double)c : NAN;
}
