/* The count tables of one DIF analysis round: for every item at once, the
 * persons per (matching score stratum, group, item score), tabulated from
 * this process's persons and, in a job of several processes, summed over
 * the ranks. Every DIF method computes from these tables alone, so a job
 * of any size computes exactly what one process does. */
#ifndef SJTALIGN_STATS_DIF_TABLES_H
#define SJTALIGN_STATS_DIF_TABLES_H

#include <stddef.h>

#include "sjtalign/stats.h"

typedef struct {
    const sj_score_data *d;
    const size_t *persons;  /* this process's compared persons: indices into d */
    size_t n_persons;       /* may be 0 on a rank whose share holds none */
    const long *base;       /* per entry of persons: sum over the in_matching items */
    const int *in_matching; /* per item */
    sj_match match;
    int focal;              /* group index counted as focal; every other person is reference */
    const unsigned *weight; /* per person of d: copies counted (NULL: one each) */
    int distributed;        /* 1: collective, the tables summed over every rank */
} dif_table_request;

/* counts[i] (n_items entries, to free with sj_dif_counts_free) and
 * n_group[2 * i + g] (reference, focal: weighted persons) for every item.
 * Strata and categories are the values held by some person of any rank,
 * whatever the person's weight. Out of memory on any rank fails every
 * rank (SJ_ERR_WORK); on failure counts are left empty. */
sj_status dif_tables_build(const dif_table_request *q, sj_dif_counts *counts, long *n_group,
                           sj_error *err);

#endif
