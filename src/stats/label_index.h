/* A string -> consecutive number index (private to the stats module): labels
 * are numbered 0, 1, ... in order of first appearance. */
#ifndef SJ_STATS_LABEL_INDEX_H
#define SJ_STATS_LABEL_INDEX_H

#include <stddef.h>

typedef struct {
    size_t n;       /* labels stored */
    char **labels;  /* n, owned until taken */
    size_t *slots;  /* open addressing table of label number + 1 (0 = empty) */
    size_t n_slots; /* power of two */
    size_t cap;
} sj_label_index;

void sj_label_index_init(sj_label_index *ix);
/* Number of the label, adding it if new; -1 when out of memory. */
long sj_label_index_add(sj_label_index *ix, const char *label);
/* Number of the label or -1. */
long sj_label_index_find(const sj_label_index *ix, const char *label);
/* Moves the label strings into out (n entries); the index keeps none. */
void sj_label_index_take(sj_label_index *ix, char **out);
void sj_label_index_free(sj_label_index *ix);

#endif
