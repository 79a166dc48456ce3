/* The features of one response against its item (see lexical.h for their
 * definitions) and the model's probabilities from them. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "lexical_internal.h"
#include "sjtalign/stats.h"

const char *const LEX_FEATURE_NAMES[SJ_LEX_N_FEATURES] = {
    "anchor_cosine", "anchor_cosine_qd", "anchor_recall", "anchor_precision", "best_anchor_level",
    "knn_mean",      "knn_weighted",     "item_mean",     "log_words",        "log_words_vs_anchor",
};

static double cosine(double dot, double norm_a, double norm_b)
{
    return norm_a > 0 && norm_b > 0 ? dot / (norm_a * norm_b) : 0;
}

static int in_sorted(const int *ids, size_t n, int id)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (ids[mid] == id)
            return 1;
        if (ids[mid] < id)
            lo = mid + 1;
        else
            hi = mid;
    }
    return 0;
}

/* Cosine, recall and precision against the top anchor with the question's
 * words removed from both. */
static void question_demoted(const lex_item *it, const lex_vec *r, double *x)
{
    double sq = r->unknown_sq;
    size_t distinct = r->n_unknown, shared = 0;
    for (size_t k = 0; k < r->n; k++) {
        if (in_sorted(it->question, it->n_question, r->id[k]))
            continue;
        sq += r->w[k] * r->w[k];
        distinct++;
        shared += in_sorted(it->top_qd.id, it->top_qd.n, r->id[k]);
    }
    x[LEX_F_ANCHOR_COS_QD] = cosine(lex_dot(r, &it->top_qd), sqrt(sq), it->top_qd.norm);
    x[LEX_F_RECALL] = (double)shared / (double)(it->top_qd.n ? it->top_qd.n : 1);
    x[LEX_F_PRECISION] = (double)shared / (double)(distinct ? distinct : 1);
}

static void anchor_features(const sj_lex_model *m, const lex_item *it, const lex_vec *r, double *x)
{
    x[LEX_F_ANCHOR_COS] = x[LEX_F_ANCHOR_COS_QD] = x[LEX_F_RECALL] = x[LEX_F_PRECISION] = 0;
    x[LEX_F_BEST_LEVEL] = 0;
    double anchor_words = 0;
    if (it->n_anchors > 0) {
        const lex_vec *top = &it->anchors[it->n_anchors - 1];
        x[LEX_F_ANCHOR_COS] = cosine(lex_dot(r, top), r->norm, top->norm);
        question_demoted(it, r, x);
        anchor_words = (double)top->n_words;
        /* Anchors are in increasing level: a strict > keeps the lowest of ties. */
        double best = -1;
        int level = it->anchor_score[0];
        for (size_t a = 0; a < it->n_anchors; a++) {
            double c = cosine(lex_dot(r, &it->anchors[a]), r->norm, it->anchors[a].norm);
            if (c > best) {
                best = c;
                level = it->anchor_score[a];
            }
        }
        int range = m->score_max - m->score_min;
        x[LEX_F_BEST_LEVEL] = range > 0 ? (double)(level - m->score_min) / range : 0;
    }
    x[LEX_F_LOG_WORDS] = log1p((double)r->n_words);
    x[LEX_F_LOG_WORDS_VS_ANCHOR] = x[LEX_F_LOG_WORDS] - log1p(anchor_words);
}

/* The entry identical to r, or -1 (a response with unknown words matches
 * none). */
static long identical_entry(const lex_item *it, const lex_vec *r)
{
    if (r->n_unknown > 0)
        return -1;
    size_t lo = 0, hi = it->n_entries;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        int c = lex_vec_compare(&it->entries[mid].v, r);
        if (c == 0)
            return (long)mid;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return -1;
}

/* dot[e] = r . entry e through the inverted index. */
static void bank_dots(const lex_item *it, const lex_vec *r, double *dot)
{
    for (size_t k = 0; k < r->n; k++) {
        size_t lo = 0, hi = it->n_post;
        while (lo < hi) {
            size_t mid = (lo + hi) / 2;
            if (it->post_term[mid] < r->id[k])
                lo = mid + 1;
            else
                hi = mid;
        }
        for (size_t p = lo; p < it->n_post && it->post_term[p] == r->id[k]; p++)
            dot[it->post_entry[p]] += r->w[k] * it->post_w[p];
    }
}

typedef struct {
    double sim;
    long entry;
} neighbour;

/* Keeps the k best (similarity down, entry index up) in top[0..k). */
static void offer(neighbour *top, int k, int *n_top, double sim, long entry)
{
    int pos = *n_top < k ? (*n_top)++ : k;
    if (pos == k && !(sim > top[k - 1].sim))
        return;
    if (pos == k)
        pos = k - 1;
    while (pos > 0 && sim > top[pos - 1].sim) {
        top[pos] = top[pos - 1];
        pos--;
    }
    top[pos] = (neighbour){sim, entry};
}

static int bank_features(const sj_lex_model *m, const lex_item *it, const lex_vec *r, double *x)
{
    long skip = identical_entry(it, r);
    double n_left = it->bank_n - (skip >= 0 ? it->entries[skip].n : 0);
    double sum_left = it->bank_sum - (skip >= 0 ? it->entries[skip].sum : 0);
    if (!(n_left > 0)) {
        x[LEX_F_KNN_MEAN] = x[LEX_F_KNN_WEIGHTED] = x[LEX_F_ITEM_MEAN] = m->grand_mean;
        return 0;
    }
    double item_mean = sum_left / n_left;
    int k = m->opts.neighbours;
    double *dot = calloc(it->n_entries, sizeof *dot);
    neighbour *top = malloc((size_t)k * sizeof *top);
    if (!dot || !top) {
        free(dot);
        free(top);
        return -1;
    }
    bank_dots(it, r, dot);
    double num = 0, den = 0;
    int n_top = 0;
    for (size_t e = 0; e < it->n_entries; e++) {
        if ((long)e == skip || !(dot[e] > 0))
            continue;
        double sim = cosine(dot[e], r->norm, it->entries[e].v.norm);
        num += sim * sim * it->entries[e].sum;
        den += sim * sim * it->entries[e].n;
        offer(top, k, &n_top, sim, (long)e);
    }
    double slots = k, acc = 0;
    for (int t = 0; t < n_top && slots > 0; t++) {
        const lex_entry *en = &it->entries[top[t].entry];
        double take = en->n < slots ? en->n : slots;
        acc += take * (en->sum / en->n);
        slots -= take;
    }
    acc += slots * item_mean;
    x[LEX_F_KNN_MEAN] = acc / k;
    x[LEX_F_KNN_WEIGHTED] = den > 0 ? num / den : item_mean;
    x[LEX_F_ITEM_MEAN] = item_mean;
    free(dot);
    free(top);
    return 0;
}

int lex_compute_features(const sj_lex_model *m, const lex_item *it, const lex_vec *r, double *x)
{
    if (!it) {
        memcpy(x, m->mean, sizeof m->mean);
        x[LEX_F_LOG_WORDS] = log1p((double)r->n_words);
        return 0;
    }
    anchor_features(m, it, r, x);
    return bank_features(m, it, r, x);
}

int lex_probs_from_features(const sj_lex_model *m, const double *x, double *probs)
{
    int L = m->score_max - m->score_min + 1;
    double eta = 0;
    for (int j = 0; j < SJ_LEX_N_FEATURES; j++)
        if (m->sd[j] > 0)
            eta += (x[j] - m->mean[j]) / m->sd[j] * m->beta[j];
    double seen[64], *p = m->n_seen <= 64 ? seen : malloc(m->n_seen * sizeof *p);
    if (!p)
        return -1;
    for (int k = 0; k < L; k++)
        probs[k] = 0;
    if (m->n_seen == 1)
        p[0] = 1;
    else
        sj_ordinal_probs(m->thresholds, m->n_seen, eta, p);
    for (size_t s = 0; s < m->n_seen; s++)
        probs[m->seen_levels[s] - m->score_min] = p[s];
    if (p != seen)
        free(p);
    double fl = m->opts.floor;
    for (int k = 0; k < L; k++)
        probs[k] = (1 - fl) * probs[k] + fl / L;
    return 0;
}
