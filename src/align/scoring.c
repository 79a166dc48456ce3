/* What `sjtalign score` writes for a response, shared with cross-fitting
 * (crossfit.c) so that both give the same columns and the same numbers:
 * the header, the responses outside the training distribution, and the
 * cells of one scored row. */
#include "align_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *const SJA_OOD_REASONS[SJA_N_OOD_REASONS] = {"unknown_item", "long", "truncated"};

void sja_score_header_free(char **names, size_t n)
{
    for (size_t i = 0; names && i < n; i++)
        free(names[i]);
    free(names);
}

/* An added name that an input column already has is an input error. */
static sj_status check_clash(const sj_table *t, char **names, size_t n, sj_error *err)
{
    for (size_t i = t->n_cols; i < n; i++)
        for (size_t j = 0; j < t->n_cols; j++)
            if (strcmp(names[i], t->names[j]) == 0)
                return sj_error_set(err, SJ_ERR_INPUT,
                                    "%s: input column '%s' has the name of an output column; "
                                    "rename it in the file (sft, ppo and audit read a human "
                                    "score column of any name)",
                                    t->path, t->names[j]);
    return SJ_OK;
}

char **sja_score_header(const sj_table *t, const sja_codec *c, const char *const *extra,
                        size_t n_extra, size_t *n, sj_error *err)
{
    size_t L = (size_t)c->n_levels;
    *n = t->n_cols + 3 + L + n_extra;
    char **names = sj_calloc(*n, sizeof *names);
    int ok = names != NULL;
    for (size_t i = 0; ok && i < t->n_cols; i++)
        ok = (names[i] = sj_strdup(t->names[i])) != NULL;
    size_t at = t->n_cols;
    if (ok) {
        names[at++] = sj_strdup("score");
        names[at++] = sj_strdup("score_mode");
        for (size_t k = 0; k < L; k++)
            names[at++] = sj_asprintf("p_%d", c->score_min + (int)k);
        names[at++] = sj_strdup("ood");
        for (size_t k = 0; k < n_extra; k++)
            names[at++] = sj_strdup(extra[k]);
        for (size_t i = t->n_cols; i < *n; i++)
            ok = ok && names[i];
    }
    sj_status st =
        ok ? check_clash(t, names, *n, err) : sj_error_set(err, SJ_ERR_WORK, "out of memory");
    if (st != SJ_OK) {
        sja_score_header_free(names, *n);
        return NULL;
    }
    return names;
}

unsigned char sja_response_ood(const sja_training *training, const sj_instrument *ins, size_t item,
                               const char *text, const sja_seq *prompt)
{
    unsigned char flags = 0;
    if (training && !sja_training_has_item(training, ins->items[item].id))
        flags |= SJA_OOD_UNKNOWN_ITEM;
    /* more than 1.5 x the longest training response's words */
    if (training && 2 * (double)sja_count_words(text) > 3 * (double)training->max_response_words)
        flags |= SJA_OOD_LONG;
    if (prompt->shortened)
        flags |= SJA_OOD_TRUNCATED;
    return flags;
}

void sja_ood_cell(unsigned char flags, char *cell, size_t cap)
{
    size_t used = 0;
    cell[0] = '\0';
    for (int k = 0; k < SJA_N_OOD_REASONS; k++)
        if ((flags & (1u << k)) && used < cap) {
            int w = snprintf(cell + used, cap - used, "%s%s", used ? ";" : "", SJA_OOD_REASONS[k]);
            used += w > 0 ? (size_t)w : 0;
        }
}

void sja_score_cells(sj_csv_writer *w, const sja_codec *c, const double *p, unsigned char ood)
{
    int L = c->n_levels;
    sj_csv_cell_number(w, sja_expected_score(p, L, c->score_min));
    sj_csv_cell_integer(w, c->score_min + sja_mode_level(p, L));
    for (int k = 0; k < L; k++)
        sj_csv_cell_number(w, p[k]);
    char cell[64];
    sja_ood_cell(ood, cell, sizeof cell);
    sj_csv_cell(w, cell);
}
