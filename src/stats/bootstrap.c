/* The person-level bootstrap shared by every interval of an audit and by
 * the before/after changes of compare. Persons are resampled, never
 * responses, because a person's responses are not independent. Replicate
 * r draws from the persons sorted by id, with a stream derived from
 * (seed, r): two audits of the same persons with the same seed resample
 * identical persons, so a change between them is a paired bootstrap, and
 * a replicate can be regenerated alone without storing B x n indices. */
#include "sjtalign/stats.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_sort.h>
#include <gsl/gsl_statistics_double.h>

struct sj_bootstrap {
    size_t n_persons;
    size_t n_replicates;
    uint64_t seed;
    size_t *caller_index; /* sorted position -> index in the caller's order */
    char persons_sha256[65];
};

typedef struct {
    const char *id;
    size_t index;
} id_entry;

static int compare_by_id(const void *a, const void *b)
{
    const id_entry *x = a, *y = b;
    int c = strcmp(x->id, y->id);
    return c ? c : (x->index > y->index) - (x->index < y->index);
}

/* Fills caller_index with the callers' indices in id order. */
static int sort_persons(sj_bootstrap *b, const char *const *ids)
{
    id_entry *e = malloc(b->n_persons * sizeof *e);
    if (!e)
        return -1;
    for (size_t i = 0; i < b->n_persons; i++)
        e[i] = (id_entry){ids[i], i};
    qsort(e, b->n_persons, sizeof *e, compare_by_id);
    for (size_t k = 0; k < b->n_persons; k++)
        b->caller_index[k] = e[k].index;
    free(e);
    return 0;
}

/* The checksum of the sorted ids, one per line: equal for equal person
 * sets whatever order the data lists them in. */
static int hash_sorted_ids(sj_bootstrap *b, const char *const *ids)
{
    size_t total = 0;
    for (size_t k = 0; k < b->n_persons; k++)
        total += strlen(ids[b->caller_index[k]]) + 1;
    char *joined = malloc(total + 1);
    if (!joined)
        return -1;
    size_t at = 0;
    for (size_t k = 0; k < b->n_persons; k++) {
        const char *id = ids[b->caller_index[k]];
        size_t len = strlen(id);
        memcpy(joined + at, id, len);
        joined[at + len] = '\n';
        at += len + 1;
    }
    sj_sha256_hex(joined, at, b->persons_sha256);
    free(joined);
    return 0;
}

sj_bootstrap *sj_bootstrap_new(const char *const *person_ids, size_t n_persons, size_t n_replicates,
                               uint64_t seed, sj_error *err)
{
    if (n_persons < 2 || n_replicates < 1) {
        sj_error_set(err, SJ_ERR_INPUT,
                     "a bootstrap needs at least 2 persons and 1 replicate (got %zu and %zu)",
                     n_persons, n_replicates);
        return NULL;
    }
    sj_bootstrap *b = calloc(1, sizeof *b);
    if (b)
        b->caller_index = malloc(n_persons * sizeof *b->caller_index);
    if (!b || !b->caller_index) {
        sj_bootstrap_free(b);
        sj_error_set(err, SJ_ERR_WORK, "out of memory");
        return NULL;
    }
    b->n_persons = n_persons;
    b->n_replicates = n_replicates;
    b->seed = seed;
    if (sort_persons(b, person_ids) != 0) {
        sj_bootstrap_free(b);
        sj_error_set(err, SJ_ERR_WORK, "out of memory");
        return NULL;
    }
    for (size_t k = 1; k < n_persons; k++)
        if (strcmp(person_ids[b->caller_index[k]], person_ids[b->caller_index[k - 1]]) == 0) {
            sj_error_set(err, SJ_ERR_INPUT, "person '%.60s' appears twice in a bootstrap",
                         person_ids[b->caller_index[k]]);
            sj_bootstrap_free(b);
            return NULL;
        }
    if (hash_sorted_ids(b, person_ids) != 0) {
        sj_bootstrap_free(b);
        sj_error_set(err, SJ_ERR_WORK, "out of memory");
        return NULL;
    }
    return b;
}

void sj_bootstrap_free(sj_bootstrap *b)
{
    if (!b)
        return;
    free(b->caller_index);
    free(b);
}

size_t sj_bootstrap_persons(const sj_bootstrap *b)
{
    return b->n_persons;
}

size_t sj_bootstrap_replicates(const sj_bootstrap *b)
{
    return b->n_replicates;
}

uint64_t sj_bootstrap_seed(const sj_bootstrap *b)
{
    return b->seed;
}

const char *sj_bootstrap_persons_sha256(const sj_bootstrap *b)
{
    return b->persons_sha256;
}

sj_status sj_bootstrap_draw(const sj_bootstrap *b, size_t r, size_t *out, sj_error *err)
{
    char component[48];
    snprintf(component, sizeof component, "bootstrap replicate %zu", r);
    gsl_rng *rng = sj_rng_new(sj_seed_derive(b->seed, component));
    if (!rng)
        return sj_error_set(err, SJ_ERR_WORK, "out of memory");
    for (size_t i = 0; i < b->n_persons; i++)
        out[i] = b->caller_index[gsl_rng_uniform_int(rng, b->n_persons)];
    sj_rng_free(rng);
    return SJ_OK;
}

sj_status sj_bootstrap_counts(const sj_bootstrap *b, size_t r, unsigned *counts, sj_error *err)
{
    size_t *draw = malloc(b->n_persons * sizeof *draw);
    if (!draw)
        return sj_error_set(err, SJ_ERR_WORK, "out of memory");
    sj_status st = sj_bootstrap_draw(b, r, draw, err);
    if (st == SJ_OK) {
        memset(counts, 0, b->n_persons * sizeof *counts);
        for (size_t i = 0; i < b->n_persons; i++)
            counts[draw[i]]++;
    }
    free(draw);
    return st;
}

size_t sj_bootstrap_interval(const double *values, size_t n, double level, double *lo, double *hi)
{
    *lo = *hi = NAN;
    double *finite = malloc((n ? n : 1) * sizeof *finite);
    if (!finite)
        return 0;
    size_t m = 0;
    for (size_t i = 0; i < n; i++)
        if (isfinite(values[i]))
            finite[m++] = values[i];
    if (m > 0 && level > 0 && level < 1) {
        gsl_sort(finite, 1, m);
        /* GSL's quantile interpolates at (m - 1) p: R's type 7. */
        *lo = gsl_stats_quantile_from_sorted_data(finite, 1, m, (1.0 - level) / 2.0);
        *hi = gsl_stats_quantile_from_sorted_data(finite, 1, m, (1.0 + level) / 2.0);
    }
    free(finite);
    return m;
}
