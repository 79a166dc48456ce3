/* What an operational reviewer of an audit looks at beyond the DIF table
 * (audit_review.c, audit_review_html.c): the share of each group at each
 * score level, the empirical item curves of the flagged items (mean item
 * score against the matching score, by group) and a sample of their
 * responses for a content panel. */
#ifndef SJTALIGN_AUDIT_REVIEW_H
#define SJTALIGN_AUDIT_REVIEW_H

#include "report_internal.h"

/* Points of an item curve resting on fewer persons of a group than this
 * are left out of the page's charts (they stay in the JSON and CSV). */
#define RJ_CURVE_MIN_PERSONS 5
/* Matched focal/reference pairs per item (at the focal group's quartiles
 * of the matching score) and largest machine-human disagreements per
 * group and item in the response sample. */
#define RJ_SAMPLE_PAIRS 3
#define RJ_SAMPLE_DISAGREEMENTS 3

typedef struct {
    const sj_responses *resp; /* machine score in resp->score, text in resp->col_text */
    const sj_instrument *ins;
    const sj_score_data *scores; /* the machine scores of the DIF (persons x items) */
    const sj_dif_result *dif;
    const sj_score_data *human_scores; /* NULL without human scores */
    const sj_dif_result *human_dif;    /* NULL without human-score DIF */
    long col_human;                    /* -1 without */
    const double *truth;               /* per response, or NULL */
    const char *reference, *focal;
} rj_review_request;

/* Adds to the audit document (which already holds "dif" and, with human
 * scores, "human_dif"):
 * "score_levels": {"levels", "scorers", "rows": [{"scorer": machine |
 *   human | true, "item": "all" or an item id, "group", "role", "level",
 *   "n", "share"}]}: the share of a group's scored responses at each level;
 * "item_curves": {"match", "min_persons_plotted", "plotted": [{"item",
 *   "reason"}], "rows": [{"item", "scorer", "group", "role",
 *   "matching_score", "n", "mean_item_score"}]}: every item's mean score
 *   per matching score and group over the complete persons, on the
 *   matching score of the DIF that flagged it (machine or human scores);
 * "response_sample": {"rule", "text_column", "rows": [{"item", "kind":
 *   matched | disagreement, "set", "group", "role", "person",
 *   "matching_score", "machine_score", "human_score", "true_score",
 *   "response"}]}.
 * The items plotted and sampled are those of class B/C (BB/CC) in the
 * machine's or the human scores' DIF; with none, the item of the largest
 * |machine effect|. Returns -1 when out of memory. */
int rj_review_add(cJSON *doc, const rj_review_request *q);

/* The page's parts (audit_review_html.c); *figure_no counts the page's
 * figures. */
void rj_review_levels_html(sj_buf *b, const cJSON *doc, int *figure_no);
void rj_review_curves_html(sj_buf *b, const cJSON *doc, int *figure_no);
/* A whole section numbered `no`, id "sample". */
void rj_review_sample_html(sj_buf *b, const cJSON *doc, int no);

#endif
