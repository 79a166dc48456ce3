/* The vocabulary, sparse tf x idf vectors and each item's bank of training
 * answers with its inverted index (term -> answers holding it), which makes
 * the k-NN similarities cost the postings of the response's words instead
 * of one merge per training answer. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "lexical_internal.h"

static int compare_term(const void *key, const void *entry)
{
    return strcmp((const char *)key, *(char *const *)entry);
}

long lex_term_id(const sj_lex_model *m, const char *word)
{
    char *const *hit = bsearch(word, m->terms, m->n_terms, sizeof *m->terms, compare_term);
    return hit ? (long)(hit - m->terms) : -1;
}

double lex_idf(long df, long n_docs)
{
    return log((double)(n_docs + 1) / (double)(df + 1)) + 1;
}

void lex_vec_free(lex_vec *v)
{
    free(v->id);
    free(v->tf);
    free(v->w);
    memset(v, 0, sizeof *v);
}

static int compare_int(const void *a, const void *b)
{
    int x = *(const int *)a, y = *(const int *)b;
    return (x > y) - (x < y);
}

static int compare_string_ptr(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Distinct unknown words and their squared weights. */
static int add_unknown(const sj_lex_model *m, const char **unknown, size_t n_unknown, lex_vec *out)
{
    qsort(unknown, n_unknown, sizeof *unknown, compare_string_ptr);
    double idf = lex_idf(0, m->n_docs);
    for (size_t i = 0; i < n_unknown;) {
        size_t j = i;
        while (j < n_unknown && strcmp(unknown[j], unknown[i]) == 0)
            j++;
        double w = (double)(j - i) * idf;
        out->unknown_sq += w * w;
        out->n_unknown++;
        i = j;
    }
    return 0;
}

/* Counts the runs of sorted ids into the vector's arrays. */
static int fill_counts(const sj_lex_model *m, const int *ids, size_t n_ids, lex_vec *out)
{
    size_t distinct = 0;
    for (size_t i = 0; i < n_ids; i++)
        distinct += i == 0 || ids[i] != ids[i - 1];
    size_t cap = distinct ? distinct : 1;
    out->id = malloc(cap * sizeof *out->id);
    out->tf = malloc(cap * sizeof *out->tf);
    out->w = malloc(cap * sizeof *out->w);
    if (!out->id || !out->tf || !out->w)
        return -1;
    for (size_t i = 0; i < n_ids; i++) {
        if (i > 0 && ids[i] == ids[i - 1]) {
            out->tf[out->n - 1]++;
            continue;
        }
        out->id[out->n] = ids[i];
        out->tf[out->n] = 1;
        out->n++;
    }
    double sq = 0;
    for (size_t k = 0; k < out->n; k++) {
        out->w[k] = out->tf[k] * m->idf[out->id[k]];
        sq += out->w[k] * out->w[k];
    }
    out->norm = sqrt(sq + out->unknown_sq);
    return 0;
}

int lex_vec_from_words(const sj_lex_model *m, char *const *words, long n_words, lex_vec *out)
{
    memset(out, 0, sizeof *out);
    size_t n = (size_t)n_words;
    int *ids = malloc((n ? n : 1) * sizeof *ids);
    const char **unknown = malloc((n ? n : 1) * sizeof *unknown);
    int rc = ids && unknown ? 0 : -1;
    size_t n_ids = 0, n_unknown = 0;
    for (size_t i = 0; !rc && i < n; i++) {
        long id = lex_term_id(m, words[i]);
        if (id >= 0)
            ids[n_ids++] = (int)id;
        else
            unknown[n_unknown++] = words[i];
    }
    if (!rc) {
        qsort(ids, n_ids, sizeof *ids, compare_int);
        out->n_words = n_words;
        rc = add_unknown(m, unknown, n_unknown, out);
    }
    if (!rc)
        rc = fill_counts(m, ids, n_ids, out);
    free(ids);
    free(unknown);
    if (rc)
        lex_vec_free(out);
    return rc;
}

int lex_vec_from_text(const sj_lex_model *m, const char *text, lex_vec *out, const char **bad,
                      size_t *bad_len)
{
    memset(out, 0, sizeof *out);
    size_t len = strlen(text), n = 0;
    int *ids = malloc((len / 2 + 1) * sizeof *ids);
    char *word = malloc(len + 1);
    int rc = ids && word ? 0 : -1;
    for (const char *s = text; !rc && *s;) {
        if (*s == ' ') {
            s++;
            continue;
        }
        size_t k = strcspn(s, " ");
        memcpy(word, s, k);
        word[k] = '\0';
        long id = lex_term_id(m, word);
        if (id < 0) {
            *bad = s;
            *bad_len = k;
            rc = -2;
            break;
        }
        ids[n++] = (int)id;
        s += k;
    }
    if (!rc) {
        qsort(ids, n, sizeof *ids, compare_int);
        out->n_words = (long)n;
        rc = fill_counts(m, ids, n, out);
    }
    free(ids);
    free(word);
    if (rc)
        lex_vec_free(out);
    return rc;
}

char *lex_vec_text(const sj_lex_model *m, const lex_vec *v)
{
    sj_buf b = {0};
    sj_buf_append(&b, "", 0);
    for (size_t k = 0; k < v->n; k++)
        for (int r = 0; r < v->tf[k]; r++)
            sj_buf_printf(&b, "%s%s", b.len ? " " : "", m->terms[v->id[k]]);
    if (sj_buf_failed(&b)) {
        sj_buf_free(&b);
        return NULL;
    }
    return b.data;
}

int lex_vec_compare(const lex_vec *a, const lex_vec *b)
{
    if (a->n != b->n)
        return a->n < b->n ? -1 : 1;
    for (size_t k = 0; k < a->n; k++) {
        if (a->id[k] != b->id[k])
            return a->id[k] < b->id[k] ? -1 : 1;
        if (a->tf[k] != b->tf[k])
            return a->tf[k] < b->tf[k] ? -1 : 1;
    }
    return 0;
}

double lex_dot(const lex_vec *a, const lex_vec *b)
{
    double s = 0;
    size_t i = 0, j = 0;
    while (i < a->n && j < b->n) {
        if (a->id[i] < b->id[j])
            i++;
        else if (a->id[i] > b->id[j])
            j++;
        else
            s += a->w[i++] * b->w[j++];
    }
    return s;
}

static int compare_entry(const void *a, const void *b)
{
    return lex_vec_compare(&((const lex_entry *)a)->v, &((const lex_entry *)b)->v);
}

/* Merges entries with the same bag (counts and score sums add up). */
static void merge_entries(lex_item *it)
{
    size_t out = 0;
    for (size_t i = 0; i < it->n_entries; i++) {
        if (out > 0 && lex_vec_compare(&it->entries[out - 1].v, &it->entries[i].v) == 0) {
            it->entries[out - 1].n += it->entries[i].n;
            it->entries[out - 1].sum += it->entries[i].sum;
            lex_vec_free(&it->entries[i].v);
            continue;
        }
        it->entries[out++] = it->entries[i];
    }
    it->n_entries = out;
}

typedef struct {
    int term, entry;
    double w;
} posting;

static int compare_posting(const void *a, const void *b)
{
    const posting *x = a, *y = b;
    if (x->term != y->term)
        return x->term < y->term ? -1 : 1;
    return (x->entry > y->entry) - (x->entry < y->entry);
}

static int build_postings(lex_item *it)
{
    size_t total = 0;
    for (size_t e = 0; e < it->n_entries; e++)
        total += it->entries[e].v.n;
    size_t cap = total ? total : 1;
    posting *p = malloc(cap * sizeof *p);
    it->post_term = malloc(cap * sizeof *it->post_term);
    it->post_entry = malloc(cap * sizeof *it->post_entry);
    it->post_w = malloc(cap * sizeof *it->post_w);
    if (!p || !it->post_term || !it->post_entry || !it->post_w) {
        free(p);
        return -1;
    }
    size_t k = 0;
    for (size_t e = 0; e < it->n_entries; e++)
        for (size_t t = 0; t < it->entries[e].v.n; t++)
            p[k++] = (posting){it->entries[e].v.id[t], (int)e, it->entries[e].v.w[t]};
    qsort(p, total, sizeof *p, compare_posting);
    for (size_t i = 0; i < total; i++) {
        it->post_term[i] = p[i].term;
        it->post_entry[i] = p[i].entry;
        it->post_w[i] = p[i].w;
    }
    it->n_post = total;
    free(p);
    return 0;
}

int lex_item_index(lex_item *it)
{
    qsort(it->entries, it->n_entries, sizeof *it->entries, compare_entry);
    merge_entries(it);
    it->bank_n = it->bank_sum = 0;
    for (size_t e = 0; e < it->n_entries; e++) {
        it->bank_n += it->entries[e].n;
        it->bank_sum += it->entries[e].sum;
    }
    return build_postings(it);
}

void lex_item_free(lex_item *it)
{
    free(it->id);
    for (size_t a = 0; a < it->n_anchors; a++)
        lex_vec_free(&it->anchors[a]);
    free(it->anchors);
    free(it->anchor_score);
    free(it->question);
    lex_vec_free(&it->top_qd);
    for (size_t e = 0; e < it->n_entries; e++)
        lex_vec_free(&it->entries[e].v);
    free(it->entries);
    free(it->post_term);
    free(it->post_entry);
    free(it->post_w);
    memset(it, 0, sizeof *it);
}

static int compare_item_id(const void *key, const void *entry)
{
    return strcmp((const char *)key, ((const lex_item *)entry)->id);
}

const lex_item *lex_find_item(const sj_lex_model *m, const char *id)
{
    return bsearch(id, m->items, m->n_items, sizeof *m->items, compare_item_id);
}

int lex_vec_without(const lex_vec *v, const int *ids, size_t n_ids, lex_vec *out)
{
    memset(out, 0, sizeof *out);
    size_t cap = v->n ? v->n : 1;
    out->id = malloc(cap * sizeof *out->id);
    out->tf = malloc(cap * sizeof *out->tf);
    out->w = malloc(cap * sizeof *out->w);
    if (!out->id || !out->tf || !out->w) {
        lex_vec_free(out);
        return -1;
    }
    double sq = 0;
    for (size_t k = 0; k < v->n; k++) {
        if (bsearch(&v->id[k], ids, n_ids, sizeof *ids, compare_int))
            continue;
        out->id[out->n] = v->id[k];
        out->tf[out->n] = v->tf[k];
        out->w[out->n] = v->w[k];
        out->n_words += v->tf[k];
        sq += v->w[k] * v->w[k];
        out->n++;
    }
    out->norm = sqrt(sq);
    return 0;
}

int lex_vec_copy(const lex_vec *v, lex_vec *out)
{
    *out = *v;
    size_t cap = v->n ? v->n : 1;
    out->id = malloc(cap * sizeof *out->id);
    out->tf = malloc(cap * sizeof *out->tf);
    out->w = malloc(cap * sizeof *out->w);
    if (!out->id || !out->tf || !out->w) {
        lex_vec_free(out);
        return -1;
    }
    memcpy(out->id, v->id, v->n * sizeof *v->id);
    memcpy(out->tf, v->tf, v->n * sizeof *v->tf);
    memcpy(out->w, v->w, v->n * sizeof *v->w);
    return 0;
}
