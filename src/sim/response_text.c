/* Turns an intent phrasing into a response a person might type: a subject
 * in front, and at random an opener, a reason (before or after) and a
 * closing remark. Each register has its own lists, so the register can be
 * recognised from the wording while the lists themselves say nothing about
 * the score: every list is used at every score level. */
#include "sjtalign/sim.h"

#include <ctype.h>
#include <string.h>

#include <gsl/gsl_rng.h>

/* Responses stay short enough for a small language model's context. */
#define MAX_RESPONSE_BYTES 230

typedef struct {
    const char *const *subject;
    size_t n_subject;
    const char *const *opener;
    size_t n_opener;
    const char *const *reason;
    size_t n_reason;
    const char *const *closer;
    size_t n_closer;
} register_lists;

/* Direct, first-person, plain workplace English. Hedges ("probably",
 * "definitely") ride on some subjects. */
static const char *const REF_SUBJECT[] = {
    "I would",
    "I'd",
    "I will",
    "I'd probably",
    "I would definitely",
    "My move would be to",
    "I think I'd",
    "I'm going to",
};
static const char *const REF_OPENER[] = {
    "Honestly,", "Realistically,", "In this case,", "To be direct,",
    "Okay, so",  "First off,",     "Basically,",
};
static const char *const REF_REASON[] = {
    "since that is the practical option",
    "because it keeps the work moving",
    "to keep things professional",
    "because I am accountable for my part",
    "since that seems most efficient",
    "to make sure nothing slips through the cracks",
    "because that is what the situation calls for",
};
static const char *const REF_CLOSER[] = {
    "That's what I'd do.",        "Simple as that.",
    "Then I'd get back to work.", "Hard to say more without details.",
    "That should handle it.",     "End of story.",
};

/* More indirect ("it is best to", "I would rather") and attentive to the
 * group's harmony and to respect; the collective "we" and "together" come
 * with the focal phrasings themselves. The subjects stay in the first
 * person singular so that they agree with "my" in the phrasings. */
static const char *const FOC_SUBJECT[] = {
    "I should",       "I feel I should", "I think it is best to", "It would be good to",
    "I would rather", "I would try to",  "The right way is to",   "Better to",
};
static const char *const FOC_OPENER[] = {
    "In my view,",          "Respectfully,", "From my side,",
    "In such a situation,", "To my mind,",   "Speaking for myself,",
};
static const char *const FOC_REASON[] = {
    "so that everyone stays on good terms",
    "for the sake of the whole team",
    "so that nobody is left feeling bad",
    "out of respect for everyone involved",
    "because we are all in this together",
    "so that harmony is kept in the group",
    "as that is the proper way",
};
static const char *const FOC_CLOSER[] = {
    "That is how I see it.",           "We can then move forward together.",
    "I hope this is the right way.",   "Patience is important in such matters.",
    "Everyone should feel respected.", "This is my humble opinion.",
};

#define LIST(a) a, sizeof a / sizeof a[0]

static const register_lists REGISTERS[2] = {
    {LIST(REF_SUBJECT), LIST(REF_OPENER), LIST(REF_REASON), LIST(REF_CLOSER)},
    {LIST(FOC_SUBJECT), LIST(FOC_OPENER), LIST(FOC_REASON), LIST(FOC_CLOSER)},
};

static const char *pick(gsl_rng *rng, const char *const *list, size_t n)
{
    return list[gsl_rng_uniform_int(rng, n)];
}

/* "I" and "I'd" keep their capital inside a sentence; other words do not. */
static void append_inner(sj_buf *b, const char *text)
{
    int keep = text[0] == 'I' && (text[1] == ' ' || text[1] == '\'' || text[1] == '\0');
    char first = keep ? text[0] : (char)tolower((unsigned char)text[0]);
    sj_buf_append(b, &first, 1);
    sj_buf_append(b, text + 1, strlen(text + 1));
}

static void append_text(sj_buf *b, const char *text)
{
    sj_buf_append(b, text, strlen(text));
}

typedef struct {
    const char *opener, *reason, *subject, *phrasing, *closer;
    int reason_first;
} parts;

/* Returns 0, or -1 when memory ran out (b's sticky flag, checked once). */
static int assemble(sj_buf *b, const parts *p)
{
    b->len = 0;
    int started = 0;
    if (p->opener) {
        append_text(b, p->opener);
        started = 1;
    }
    if (p->reason && p->reason_first) {
        if (started) {
            append_text(b, " ");
            append_inner(b, p->reason);
        } else {
            append_text(b, p->reason);
        }
        append_text(b, ",");
        started = 1;
    }
    if (started) {
        append_text(b, " ");
        append_inner(b, p->subject);
    } else {
        append_text(b, p->subject);
    }
    sj_buf_printf(b, " %s", p->phrasing);
    if (p->reason && !p->reason_first)
        sj_buf_printf(b, ", %s", p->reason);
    append_text(b, ".");
    if (p->closer)
        sj_buf_printf(b, " %s", p->closer);
    if (sj_buf_failed(b))
        return -1;
    b->data[0] = (char)toupper((unsigned char)b->data[0]);
    return 0;
}

char *sj_sim_compose(gsl_rng *rng, const char *phrasing, int focal)
{
    const register_lists *r = &REGISTERS[focal ? 1 : 0];
    /* Every draw happens whatever is kept, so one response's length never
     * shifts the random stream of the next. */
    parts p = {0};
    p.subject = pick(rng, r->subject, r->n_subject);
    p.phrasing = phrasing;
    const char *opener = pick(rng, r->opener, r->n_opener);
    const char *reason = pick(rng, r->reason, r->n_reason);
    const char *closer = pick(rng, r->closer, r->n_closer);
    double u_open = gsl_rng_uniform(rng), u_reason = gsl_rng_uniform(rng);
    double u_first = gsl_rng_uniform(rng), u_close = gsl_rng_uniform(rng);
    p.opener = u_open < 0.35 ? opener : NULL;
    p.reason = u_reason < 0.45 ? reason : NULL;
    p.reason_first = u_first < 0.5;
    p.closer = u_close < 0.30 ? closer : NULL;

    sj_buf b = {0};
    int failed = assemble(&b, &p);
    /* Too long for the scorer's context: drop the extras one at a time. */
    const char **droppable[] = {&p.closer, &p.opener, &p.reason};
    for (size_t i = 0; i < 3 && !failed && b.len > MAX_RESPONSE_BYTES; i++) {
        *droppable[i] = NULL;
        failed = assemble(&b, &p);
    }
    if (failed) {
        sj_buf_free(&b);
        return NULL;
    }
    return b.data;
}
