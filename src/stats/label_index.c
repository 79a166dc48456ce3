/* String index with FNV-1a hashing and linear probing. */
#include "label_index.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sjtalign/util.h"

static uint64_t hash_label(const char *s)
{
    uint64_t h = 1469598103934665603ULL;
    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 1099511628211ULL;
    }
    return h;
}

void sj_label_index_init(sj_label_index *ix)
{
    memset(ix, 0, sizeof *ix);
}

static size_t probe(const sj_label_index *ix, const char *label)
{
    size_t mask = ix->n_slots - 1;
    size_t s = (size_t)hash_label(label) & mask;
    while (ix->slots[s] != 0 && strcmp(ix->labels[ix->slots[s] - 1], label) != 0)
        s = (s + 1) & mask;
    return s;
}

static int grow_slots(sj_label_index *ix)
{
    size_t n_slots = ix->n_slots ? ix->n_slots * 2 : 64;
    size_t *slots = calloc(n_slots, sizeof *slots);
    if (!slots)
        return -1;
    free(ix->slots);
    ix->slots = slots;
    ix->n_slots = n_slots;
    for (size_t i = 0; i < ix->n; i++)
        ix->slots[probe(ix, ix->labels[i])] = i + 1;
    return 0;
}

long sj_label_index_find(const sj_label_index *ix, const char *label)
{
    if (ix->n_slots == 0)
        return -1;
    size_t s = probe(ix, label);
    return ix->slots[s] ? (long)(ix->slots[s] - 1) : -1;
}

long sj_label_index_add(sj_label_index *ix, const char *label)
{
    long found = sj_label_index_find(ix, label);
    if (found >= 0)
        return found;
    if ((ix->n + 1) * 2 > ix->n_slots && grow_slots(ix) != 0)
        return -1;
    if (ix->n == ix->cap) {
        size_t cap = ix->cap ? ix->cap * 2 : 16;
        char **labels = realloc(ix->labels, cap * sizeof *labels);
        if (!labels)
            return -1;
        ix->labels = labels;
        ix->cap = cap;
    }
    char *copy = sj_strdup(label);
    if (!copy)
        return -1;
    ix->labels[ix->n] = copy;
    ix->slots[probe(ix, label)] = ix->n + 1;
    return (long)ix->n++;
}

void sj_label_index_take(sj_label_index *ix, char **out)
{
    for (size_t i = 0; i < ix->n; i++) {
        out[i] = ix->labels[i];
        ix->labels[i] = NULL;
    }
}

void sj_label_index_free(sj_label_index *ix)
{
    for (size_t i = 0; i < ix->n; i++)
        free(ix->labels[i]);
    free(ix->labels);
    free(ix->slots);
    memset(ix, 0, sizeof *ix);
}
