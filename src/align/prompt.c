/* The text of a scoring prompt and completion, and parsing a completion back
 * into a score. The layout is documented in align.h. */
#include "sjtalign/align.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

char *sja_prompt_text(const sj_instrument *ins, size_t item, const char *response)
{
    const sj_item *it = &ins->items[item];
    return sj_asprintf("item %s: %s\nresponse: %s\n", it->id, it->question, response);
}

static const char *anchor_for(const sj_item *it, int score)
{
    for (size_t i = 0; i < it->n_rubric; i++)
        if (it->rubric[i].score == score && it->rubric[i].anchor && it->rubric[i].anchor[0])
            return it->rubric[i].anchor;
    return NULL;
}

char *sja_completion_text(const sj_instrument *ins, size_t item, int score, int with_rationale)
{
    const char *anchor = with_rationale ? anchor_for(&ins->items[item], score) : NULL;
    if (anchor)
        return sj_asprintf("score: %d | %s", score, anchor);
    return sj_asprintf("score: %d", score);
}

int sja_parse_completion(const char *text, int score_min, int score_max, int *score)
{
    static const char prefix[] = "score: ";
    if (!text || strncmp(text, prefix, sizeof prefix - 1) != 0)
        return -1;
    const char *p = text + sizeof prefix - 1;
    /* Exactly an optional minus and digits: strtol alone would accept
     * leading blanks and a plus sign. */
    const char *digits = p + (*p == '-');
    if (!isdigit((unsigned char)*digits))
        return -1;
    char *end = NULL;
    errno = 0;
    long v = strtol(p, &end, 10);
    if (errno || v < score_min || v > score_max)
        return -1;
    const char *rest = end;
    if (strncmp(rest, " | ", 3) == 0 || strcmp(rest, " |") == 0) {
        /* any rationale text */
    } else {
        while (*rest == ' ' || *rest == '\t' || *rest == '\n' || *rest == '\r')
            rest++;
        if (*rest)
            return -1;
    }
    *score = (int)v;
    return 0;
}

/* ---- tokens ------------------------------------------------------------- */

static sj_status encode(const sj_tokenizer *tok, const char *text, int32_t **ids, size_t *n,
                        sj_error *err)
{
    return sj_tokenizer_encode(tok, text, strlen(text), ids, n, err);
}

void sja_codec_free(sja_codec *c)
{
    if (!c)
        return;
    free(c->prefix);
    if (c->level)
        for (int k = 0; k < c->n_levels; k++)
            free(c->level[k]);
    free(c->level);
    free(c->n_level);
    free(c->bar);
    free(c->level_tokens);
    memset(c, 0, sizeof *c);
}

sj_status sja_codec_init(sja_codec *c, const sj_tokenizer *tok, int ctx, int score_min,
                         int score_max, sj_error *err)
{
    memset(c, 0, sizeof *c);
    c->tok = tok;
    c->ctx = ctx;
    c->score_min = score_min;
    c->score_max = score_max;
    c->n_levels = score_max - score_min + 1;
    c->level = sj_calloc((size_t)c->n_levels, sizeof *c->level);
    c->n_level = sj_calloc((size_t)c->n_levels, sizeof *c->n_level);
    if (!c->level || !c->n_level) {
        sja_codec_free(c);
        return sj_error_set(err, SJ_ERR_WORK, "out of memory");
    }
    if (encode(tok, "score: ", &c->prefix, &c->n_prefix, err) != SJ_OK ||
        encode(tok, " | ", &c->bar, &c->n_bar, err) != SJ_OK) {
        sja_codec_free(c);
        return err ? err->status : SJ_ERR_WORK;
    }
    c->single_token_levels = 1;
    size_t longest = 0;
    for (int k = 0; k < c->n_levels; k++) {
        char digits[32];
        snprintf(digits, sizeof digits, "%d", score_min + k);
        if (encode(tok, digits, &c->level[k], &c->n_level[k], err) != SJ_OK) {
            sja_codec_free(c);
            return err ? err->status : SJ_ERR_WORK;
        }
        if (c->n_level[k] != 1)
            c->single_token_levels = 0;
        for (int j = 0; j < k && c->single_token_levels; j++)
            if (c->level[j][0] == c->level[k][0])
                c->single_token_levels = 0;
        if (c->n_level[k] > longest)
            longest = c->n_level[k];
    }
    c->max_completion = (int)(c->n_prefix + longest + 1);
    if (c->single_token_levels) {
        c->level_tokens = malloc((size_t)c->n_levels * sizeof *c->level_tokens);
        if (!c->level_tokens) {
            sja_codec_free(c);
            return sj_error_set(err, SJ_ERR_WORK, "out of memory");
        }
        for (int k = 0; k < c->n_levels; k++)
            c->level_tokens[k] = c->level[k][0];
    }
    return SJ_OK;
}

void sja_seq_free(sja_seq *s)
{
    if (!s)
        return;
    free(s->tokens);
    free(s->prior);
    s->tokens = NULL;
    s->prior = NULL;
    s->len = s->prompt_len = s->n_prior = 0;
}

typedef struct {
    int32_t *ids;
    size_t n;
} piece;

sj_status sja_encode_prompt(const sja_codec *c, const sj_instrument *ins, size_t item,
                            const char *response, int reserve, sja_seq *out, sj_error *err)
{
    const sj_item *it = &ins->items[item];
    char *head = sj_asprintf("item %s: ", it->id);
    if (!head)
        return sj_error_set(err, SJ_ERR_WORK, "out of memory");
    const char *texts[5] = {head, it->question, "\nresponse: ", response, "\n"};
    piece p[5] = {{0}};
    sj_status st = SJ_OK;
    for (int i = 0; i < 5 && st == SJ_OK; i++)
        st = encode(c->tok, texts[i], &p[i].ids, &p[i].n, err);
    free(head);
    memset(out, 0, sizeof *out);
    if (st == SJ_OK) {
        /* Room for bos and sep around the pieces, and `reserve` after. */
        long budget = (long)c->ctx + 1 - reserve - 2;
        long fixed = (long)(p[0].n + p[2].n + p[4].n);
        long room = budget - fixed;
        if (room < 1) {
            st = sj_error_set(err, SJ_ERR_INPUT,
                              "the model's context (%d tokens) is too short for item '%s' and a "
                              "completion",
                              c->ctx, it->id);
        } else {
            size_t keep_resp = p[3].n, question_n = p[1].n;
            if ((long)(p[1].n + p[3].n) > room) {
                /* Shorten the question first, keeping its beginning. */
                long q = room - (long)p[3].n;
                if (q < 0)
                    q = 0;
                p[1].n = (size_t)q < p[1].n ? (size_t)q : p[1].n;
                if ((long)(p[1].n + p[3].n) > room)
                    keep_resp = (size_t)(room - (long)p[1].n);
            }
            size_t drop = p[3].n - keep_resp;
            out->shortened = drop > 0 || p[1].n < question_n;
            size_t total = 2 + p[0].n + p[1].n + p[2].n + keep_resp + p[4].n;
            out->tokens = malloc((total + (size_t)reserve + 1) * sizeof *out->tokens);
            if (!out->tokens) {
                st = sj_error_set(err, SJ_ERR_WORK, "out of memory");
            } else {
                size_t k = 0;
                out->tokens[k++] = SJ_TOK_BOS;
                for (int i = 0; i < 5; i++) {
                    const int32_t *src = p[i].ids + (i == 3 ? drop : 0);
                    size_t n = i == 3 ? keep_resp : p[i].n;
                    memcpy(out->tokens + k, src, n * sizeof *src);
                    k += n;
                }
                out->tokens[k++] = SJ_TOK_SEP;
                out->len = out->prompt_len = (int)k;
            }
        }
    }
    if (st == SJ_OK)
        st = sja_seq_set_prior(c, it->id, response, out->len, out, err);
    for (int i = 0; i < 5; i++)
        free(p[i].ids);
    return st;
}

sj_status sja_seq_copy_prior(const sja_seq *from, sja_seq *to, sj_error *err)
{
    float *prior = NULL;
    if (from->prior) {
        prior = malloc((size_t)from->n_prior * sizeof *prior);
        if (!prior)
            return sj_error_set(err, SJ_ERR_WORK, "out of memory");
        memcpy(prior, from->prior, (size_t)from->n_prior * sizeof *prior);
    }
    free(to->prior);
    to->prior = prior;
    to->n_prior = prior ? from->n_prior : 0;
    /* counted from the end of the prompt, which may differ in length */
    to->prior_pos = from->prior_pos - from->prompt_len + to->prompt_len;
    to->prior_tokens = from->prior_tokens;
    return SJ_OK;
}

sj_status sja_seq_append(const sja_seq *prompt, const int32_t *tokens, int n, sja_seq *out,
                         sj_error *err)
{
    int32_t *t = malloc((size_t)(prompt->len + n + 1) * sizeof *t);
    if (!t)
        return sj_error_set(err, SJ_ERR_WORK, "out of memory");
    memcpy(t, prompt->tokens, (size_t)prompt->len * sizeof *t);
    if (n > 0)
        memcpy(t + prompt->len, tokens, (size_t)n * sizeof *t);
    out->tokens = t;
    out->len = prompt->len + n;
    out->prompt_len = prompt->prompt_len;
    out->shortened = prompt->shortened;
    out->prior = NULL;
    sj_status st = sja_seq_copy_prior(prompt, out, err);
    if (st != SJ_OK) {
        free(t);
        out->tokens = NULL;
    }
    return st;
}

/* Completion tokens of a text: "score: k[ | rest]" piece by piece (so the
 * level tokens are the ones the scorer reads), anything else as it is. */
static sj_status encode_completion(const sja_codec *c, const char *text, int32_t **ids, size_t *n,
                                   sj_error *err)
{
    int score;
    sj_buf b = {0};
    sj_status st = SJ_OK;
    if (sja_parse_completion(text, c->score_min, c->score_max, &score) == 0) {
        int k = score - c->score_min;
        sj_buf_append(&b, c->prefix, c->n_prefix * sizeof(int32_t));
        sj_buf_append(&b, c->level[k], c->n_level[k] * sizeof(int32_t));
        const char *bar = strstr(text, " |");
        if (bar) {
            const char *rest = bar[2] == ' ' ? bar + 3 : bar + 2;
            int32_t *r = NULL;
            size_t nr = 0;
            st = encode(c->tok, rest, &r, &nr, err);
            if (st == SJ_OK) {
                sj_buf_append(&b, c->bar, c->n_bar * sizeof(int32_t));
                sj_buf_append(&b, r, nr * sizeof(int32_t));
            }
            free(r);
        }
    } else {
        int32_t *r = NULL;
        size_t nr = 0;
        st = encode(c->tok, text, &r, &nr, err);
        if (st == SJ_OK)
            sj_buf_append(&b, r, nr * sizeof(int32_t));
        free(r);
    }
    int32_t eos = SJ_TOK_EOS;
    sj_buf_append(&b, &eos, sizeof eos);
    /* One check for every append above: the failure flag is sticky. */
    if (st == SJ_OK && sj_buf_failed(&b))
        st = sj_error_set(err, SJ_ERR_WORK, "out of memory");
    if (st != SJ_OK) {
        sj_buf_free(&b);
        return st;
    }
    *ids = (int32_t *)b.data;
    *n = b.len / sizeof(int32_t);
    return SJ_OK;
}

sj_status sja_encode_example(const sja_codec *c, const sj_instrument *ins, size_t item,
                             const char *response, const char *completion, sja_seq *out,
                             sj_error *err)
{
    int32_t *ids = NULL;
    size_t n = 0;
    sj_status st = encode_completion(c, completion, &ids, &n, err);
    if (st != SJ_OK)
        return st;
    if ((long)n > c->ctx / 2) {
        free(ids);
        return sj_error_set(err, SJ_ERR_INPUT,
                            "completion '%.60s' takes %zu tokens, more than half the model's "
                            "context (%d)",
                            completion, n, c->ctx);
    }
    /* One token of room beyond eos, so a scalar head can read the hidden
     * state at eos (the batch then holds the whole sequence as input). */
    sja_seq prompt;
    st = sja_encode_prompt(c, ins, item, response, (int)n + 1, &prompt, err);
    if (st == SJ_OK) {
        st = sja_seq_append(&prompt, ids, (int)n, out, err);
        sja_seq_free(&prompt);
    }
    free(ids);
    return st;
}
