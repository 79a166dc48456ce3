/* Candidate pairs for expert judgment: for each sampled response, two
 * different scorings drawn from the policy at a temperature. */
#include "align_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_randist.h>

void sja_level_draw_probs(const double *p, int L, double temperature, int exclude, double *out)
{
    double total = 0.0, pmax = 0.0;
    for (int k = 0; k < L; k++)
        pmax = p[k] > pmax ? p[k] : pmax;
    for (int k = 0; k < L; k++) {
        out[k] = (k == exclude || pmax <= 0) ? 0.0 : pow(p[k] / pmax, 1.0 / temperature);
        total += out[k];
    }
    if (!(total > 0)) /* every other level has probability 0: choose uniformly */
        for (int k = 0; k < L; k++)
            total += (out[k] = k == exclude ? 0.0 : 1.0);
    for (int k = 0; k < L; k++)
        out[k] /= total;
}

/* Draws a level from sja_level_draw_probs. */
static int draw_level(gsl_rng *rng, const double *p, int L, double temperature, int exclude)
{
    double w[64], acc = 0.0;
    sja_level_draw_probs(p, L, temperature, exclude, w);
    double u = gsl_rng_uniform(rng);
    int last = 0;
    for (int k = 0; k < L; k++) {
        if (w[k] <= 0)
            continue;
        last = k;
        acc += w[k];
        if (u < acc)
            return k;
    }
    return last;
}

sj_status sja_make_pairs(sja_model *policy, const sj_instrument *ins, const sj_responses *data,
                         const sja_pairs_opts *o, const char *out, sj_error *err)
{
    const sj_table *t = data->table;
    const sja_codec *c = &policy->codec;
    int L = c->n_levels;
    if (L < 2)
        return sj_error_set(err, SJ_ERR_INPUT,
                            "the instrument has one score level; there is nothing to compare");
    if (L > 64)
        return sj_error_set(err, SJ_ERR_INPUT, "at most 64 score levels are supported");
    size_t n = (size_t)o->n;
    if (n == 0 || t->n_rows == 0)
        return sj_error_set(err, SJ_ERR_INPUT, "need at least one response and --n of 1 or more");
    gsl_rng *rng = sj_rng_new(sj_seed_derive(o->seed, "pairs"));
    size_t *rows = malloc(n * sizeof *rows);
    sja_seq *prompts = sj_calloc(n, sizeof *prompts);
    double *probs = malloc(n * (size_t)L * sizeof *probs);
    sj_status st =
        (rng && rows && prompts && probs) ? SJ_OK : sj_error_set(err, SJ_ERR_WORK, "out of memory");
    /* Responses without replacement; when N exceeds the rows, another pass
     * in a new random order. */
    for (size_t filled = 0; st == SJ_OK && filled < n;) {
        size_t *perm = sja_permutation(rng, t->n_rows);
        if (!perm) {
            st = sj_error_set(err, SJ_ERR_WORK, "out of memory");
            break;
        }
        for (size_t i = 0; i < t->n_rows && filled < n; i++)
            rows[filled++] = perm[i];
        free(perm);
    }
    for (size_t i = 0; st == SJ_OK && i < n; i++)
        st = sja_encode_prompt(c, ins, data->item_index[rows[i]],
                               sj_table_cell(t, rows[i], (size_t)data->col_text), c->max_completion,
                               &prompts[i], err);
    sj_progress bar;
    sja_progress_start(&bar, "pairs", (long)n, o->quiet);
    if (st == SJ_OK)
        st = sja_score_levels(policy->ck->model, c, prompts, n, 64, probs, NULL, &bar, err);
    sj_progress_finish(&bar, NULL);
    /* The response's group goes along, so the panel check can compare how
     * judges treat each group's responses. */
    int with_group = data->col_group >= 0;
    const char *header[9];
    memcpy(header, SJA_PAIRS_HEADER, sizeof SJA_PAIRS_HEADER);
    header[8] = "group";
    sj_csv_writer w;
    if (st == SJ_OK)
        st = sj_csv_open(&w, out, header, with_group ? 9 : 8, err);
    if (st == SJ_OK) {
        for (size_t i = 0; i < n; i++) {
            size_t r = rows[i], item = data->item_index[r];
            const double *p = probs + i * (size_t)L;
            int a = draw_level(rng, p, L, o->temperature, -1);
            int b = draw_level(rng, p, L, o->temperature, a);
            if (gsl_rng_uniform(rng) < 0.5) { /* no position tells which came first */
                int tmp = a;
                a = b;
                b = tmp;
            }
            char id[32];
            snprintf(id, sizeof id, "p%06zu", i + 1);
            char *ca = sja_completion_text(ins, item, c->score_min + a, c->rationale);
            char *cb = sja_completion_text(ins, item, c->score_min + b, c->rationale);
            sj_csv_cell(&w, id);
            sj_csv_cell(&w, ins->items[item].id);
            sj_csv_cell(&w, sj_table_cell(t, r, (size_t)data->col_person));
            sj_csv_cell(&w, sj_table_cell(t, r, (size_t)data->col_text));
            sj_csv_cell(&w, ca ? ca : "");
            sj_csv_cell(&w, cb ? cb : "");
            sj_csv_cell(&w, "");
            sj_csv_cell(&w, "");
            if (with_group)
                sj_csv_cell(&w, sj_table_cell(t, r, (size_t)data->col_group));
            free(ca);
            free(cb);
        }
        st = sj_csv_close(&w, err);
    }
    for (size_t i = 0; i < n; i++)
        sja_seq_free(&prompts[i]);
    free(prompts);
    free(probs);
    free(rows);
    sj_rng_free(rng);
    return st;
}
