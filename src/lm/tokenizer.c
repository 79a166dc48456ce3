/* Byte-level BPE tokenizer. Text is split into short words first (so merges
 * stay inside words, as in GPT-2), then each word starts as bytes and the
 * learned merges are applied in the order they were learned. */
#include <stdlib.h>
#include <string.h>

#include "sjtalign/io.h"
#include "lm_internal.h"

#define MAX_WORD 64 /* longer runs are cut, keeping encoding linear in practice */

struct sj_tokenizer {
    int vocab_size;
    int n_merges;
    int32_t (*merges)[2];
    unsigned char **bytes; /* per token */
    size_t *blen;
    /* pair -> merge rank, open addressing; key 0 = empty */
    uint64_t *keys;
    int32_t *ranks;
    size_t cap;
};

/* ---- pre-tokenisation ------------------------------------------------------ */

enum { CLS_WORD, CLS_SPACE, CLS_OTHER };

static int byte_class(unsigned char c)
{
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c >= 0x80)
        return CLS_WORD;
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v')
        return CLS_SPACE;
    return CLS_OTHER;
}

/* Length of the word starting at s[0] (n > 0 bytes left). */
static size_t next_word(const unsigned char *s, size_t n)
{
    size_t i = 0;
    int cls = byte_class(s[0]);
    if (s[0] == ' ' && n > 1 && byte_class(s[1]) != CLS_SPACE) {
        cls = byte_class(s[1]);
        i = 1;
    }
    while (i < n && i < MAX_WORD && byte_class(s[i]) == cls)
        i++;
    /* A run of whitespace leaves its last space to the word that follows. */
    if (cls == CLS_SPACE && i < n && i > 1 && s[i - 1] == ' ' && byte_class(s[i]) != CLS_SPACE)
        i--;
    return i;
}

/* ---- pair hash --------------------------------------------------------------- */

static uint64_t pair_key(int32_t a, int32_t b)
{
    return (((uint64_t)(uint32_t)a << 32) | (uint32_t)b) + 1;
}

static size_t hash64(uint64_t k)
{
    k ^= k >> 33;
    k *= 0xff51afd7ed558ccdULL;
    k ^= k >> 33;
    return (size_t)k;
}

static int32_t merge_rank(const sj_tokenizer *tok, int32_t a, int32_t b)
{
    if (!tok->cap)
        return -1;
    uint64_t k = pair_key(a, b);
    for (size_t i = hash64(k) & (tok->cap - 1);; i = (i + 1) & (tok->cap - 1)) {
        if (tok->keys[i] == 0)
            return -1;
        if (tok->keys[i] == k)
            return tok->ranks[i];
    }
}

/* ---- construction --------------------------------------------------------------- */

void sj_tokenizer_free(sj_tokenizer *tok)
{
    if (!tok)
        return;
    if (tok->bytes)
        for (int i = 0; i < tok->vocab_size; i++)
            free(tok->bytes[i]);
    free(tok->bytes);
    free(tok->blen);
    free(tok->merges);
    free(tok->keys);
    free(tok->ranks);
    free(tok);
}

/* Builds the token byte strings and the rank table from the merge list. */
static sj_tokenizer *tokenizer_from_merges(int32_t (*merges)[2], int n_merges, sj_error *err)
{
    sj_tokenizer *tok = calloc(1, sizeof *tok);
    if (!tok) {
        free(merges);
        sj_error_set(err, SJ_ERR_WORK, "out of memory");
        return NULL;
    }
    tok->merges = merges;
    tok->n_merges = n_merges;
    tok->vocab_size = SJ_TOK_N_BASE + n_merges;
    tok->bytes = calloc((size_t)tok->vocab_size, sizeof *tok->bytes);
    tok->blen = calloc((size_t)tok->vocab_size, sizeof *tok->blen);
    tok->cap = 16;
    while (tok->cap < 2 * (size_t)n_merges + 2)
        tok->cap *= 2;
    tok->keys = calloc(tok->cap, sizeof *tok->keys);
    tok->ranks = calloc(tok->cap, sizeof *tok->ranks);
    if (!tok->bytes || !tok->blen || !tok->keys || !tok->ranks)
        goto oom;
    for (int i = 0; i < SJ_TOK_BYTE0; i++)
        if (!(tok->bytes[i] = calloc(1, 1)))
            goto oom;
    for (int b = 0; b < 256; b++) {
        if (!(tok->bytes[SJ_TOK_BYTE0 + b] = malloc(1)))
            goto oom;
        tok->bytes[SJ_TOK_BYTE0 + b][0] = (unsigned char)b;
        tok->blen[SJ_TOK_BYTE0 + b] = 1;
    }
    for (int r = 0; r < n_merges; r++) {
        int32_t a = merges[r][0], b = merges[r][1], id = SJ_TOK_N_BASE + r;
        if (a < SJ_TOK_BYTE0 || b < SJ_TOK_BYTE0 || a >= id || b >= id) {
            sj_tokenizer_free(tok);
            sj_error_set(err, SJ_ERR_INPUT,
                         "merge %d joins tokens %d and %d, which are not bytes or earlier "
                         "merges",
                         r, a, b);
            return NULL;
        }
        size_t len = tok->blen[a] + tok->blen[b];
        if (!(tok->bytes[id] = malloc(len)))
            goto oom;
        memcpy(tok->bytes[id], tok->bytes[a], tok->blen[a]);
        memcpy(tok->bytes[id] + tok->blen[a], tok->bytes[b], tok->blen[b]);
        tok->blen[id] = len;
        uint64_t k = pair_key(a, b);
        size_t i = hash64(k) & (tok->cap - 1);
        while (tok->keys[i] != 0 && tok->keys[i] != k)
            i = (i + 1) & (tok->cap - 1);
        if (tok->keys[i] == 0) { /* a repeated pair keeps its first rank */
            tok->keys[i] = k;
            tok->ranks[i] = r;
        }
    }
    return tok;
oom:
    sj_tokenizer_free(tok);
    sj_error_set(err, SJ_ERR_WORK, "out of memory building the tokenizer");
    return NULL;
}

int sj_tokenizer_vocab_size(const sj_tokenizer *tok)
{
    return tok->vocab_size;
}

/* ---- training ----------------------------------------------------------------------- */

typedef struct {
    int32_t *ids;
    int len;
    long count;
} word_entry;

typedef struct {
    word_entry *words;
    size_t n, cap;
    /* hash of word bytes -> index into words, for counting */
    long *slots;
    size_t n_slots;
    unsigned char **text; /* bytes of each word, for equality */
} word_table;

static size_t hash_bytes(const unsigned char *s, size_t n)
{
    uint64_t h = 1469598103934665603ULL;
    for (size_t i = 0; i < n; i++) {
        h ^= s[i];
        h *= 1099511628211ULL;
    }
    return (size_t)h;
}

static int word_table_grow(word_table *t)
{
    size_t n_slots = t->n_slots ? t->n_slots * 2 : 1024;
    long *slots = malloc(n_slots * sizeof *slots);
    if (!slots)
        return -1;
    for (size_t i = 0; i < n_slots; i++)
        slots[i] = -1;
    for (size_t w = 0; w < t->n; w++) {
        size_t i = hash_bytes(t->text[w], (size_t)t->words[w].len) & (n_slots - 1);
        while (slots[i] >= 0)
            i = (i + 1) & (n_slots - 1);
        slots[i] = (long)w;
    }
    free(t->slots);
    t->slots = slots;
    t->n_slots = n_slots;
    return 0;
}

static int word_table_add(word_table *t, const unsigned char *s, size_t n)
{
    if (2 * (t->n + 1) > t->n_slots && word_table_grow(t) != 0)
        return -1;
    size_t i = hash_bytes(s, n) & (t->n_slots - 1);
    while (t->slots[i] >= 0) {
        word_entry *e = &t->words[t->slots[i]];
        if ((size_t)e->len == n && memcmp(t->text[t->slots[i]], s, n) == 0) {
            e->count++;
            return 0;
        }
        i = (i + 1) & (t->n_slots - 1);
    }
    if (t->n == t->cap) {
        size_t cap = t->cap ? 2 * t->cap : 1024;
        word_entry *w = realloc(t->words, cap * sizeof *w);
        if (!w)
            return -1;
        t->words = w;
        unsigned char **tx = realloc(t->text, cap * sizeof *tx);
        if (!tx)
            return -1;
        t->text = tx;
        t->cap = cap;
    }
    word_entry *e = &t->words[t->n];
    e->ids = malloc(n * sizeof *e->ids);
    t->text[t->n] = malloc(n);
    if (!e->ids || !t->text[t->n]) {
        free(e->ids);
        free(t->text[t->n]);
        return -1;
    }
    memcpy(t->text[t->n], s, n);
    for (size_t k = 0; k < n; k++)
        e->ids[k] = SJ_TOK_BYTE0 + s[k];
    e->len = (int)n;
    e->count = 1;
    t->slots[i] = (long)t->n;
    t->n++;
    return 0;
}

static void word_table_free(word_table *t)
{
    for (size_t w = 0; w < t->n; w++) {
        free(t->words[w].ids);
        free(t->text[w]);
    }
    free(t->words);
    free(t->text);
    free(t->slots);
}

/* Pair counts over all words, in a table rebuilt for each merge. */
typedef struct {
    uint64_t *keys;
    long *counts;
    size_t cap, n;
} pair_counts;

static int pair_counts_add(pair_counts *pc, uint64_t k, long c)
{
    if (2 * (pc->n + 1) > pc->cap) {
        size_t cap = pc->cap ? pc->cap * 2 : 4096;
        uint64_t *keys = calloc(cap, sizeof *keys);
        long *counts = calloc(cap, sizeof *counts);
        if (!keys || !counts) {
            free(keys);
            free(counts);
            return -1;
        }
        for (size_t i = 0; i < pc->cap; i++)
            if (pc->keys[i]) {
                size_t j = hash64(pc->keys[i]) & (cap - 1);
                while (keys[j])
                    j = (j + 1) & (cap - 1);
                keys[j] = pc->keys[i];
                counts[j] = pc->counts[i];
            }
        free(pc->keys);
        free(pc->counts);
        pc->keys = keys;
        pc->counts = counts;
        pc->cap = cap;
    }
    size_t i = hash64(k) & (pc->cap - 1);
    while (pc->keys[i] && pc->keys[i] != k)
        i = (i + 1) & (pc->cap - 1);
    if (!pc->keys[i]) {
        pc->keys[i] = k;
        pc->n++;
    }
    pc->counts[i] += c;
    return 0;
}

static void merge_in_word(word_entry *e, int32_t a, int32_t b, int32_t id)
{
    int out = 0;
    for (int i = 0; i < e->len; i++) {
        if (i + 1 < e->len && e->ids[i] == a && e->ids[i + 1] == b) {
            e->ids[out++] = id;
            i++;
        } else {
            e->ids[out++] = e->ids[i];
        }
    }
    e->len = out;
}

sj_tokenizer *sj_tokenizer_train(const char *const *texts, const size_t *lens, size_t n,
                                 int vocab_size, sj_error *err)
{
    if (vocab_size < SJ_TOK_N_BASE) {
        sj_error_set(err, SJ_ERR_INPUT,
                     "--vocab must be at least %d (256 bytes and 4 special tokens), got %d",
                     SJ_TOK_N_BASE, vocab_size);
        return NULL;
    }
    word_table wt = {0};
    for (size_t d = 0; d < n; d++) {
        const unsigned char *s = (const unsigned char *)texts[d];
        size_t len = lens ? lens[d] : strlen(texts[d]);
        for (size_t i = 0; i < len;) {
            size_t w = next_word(s + i, len - i);
            if (word_table_add(&wt, s + i, w) != 0) {
                word_table_free(&wt);
                sj_error_set(err, SJ_ERR_WORK, "out of memory counting words");
                return NULL;
            }
            i += w;
        }
    }
    int max_merges = vocab_size - SJ_TOK_N_BASE;
    int32_t(*merges)[2] = malloc((size_t)(max_merges ? max_merges : 1) * sizeof *merges);
    pair_counts pc = {0};
    int n_merges = 0;
    int failed = merges == NULL;
    while (!failed && n_merges < max_merges) {
        if (pc.keys) {
            memset(pc.keys, 0, pc.cap * sizeof *pc.keys);
            memset(pc.counts, 0, pc.cap * sizeof *pc.counts);
        }
        pc.n = 0;
        for (size_t w = 0; w < wt.n && !failed; w++) {
            const word_entry *e = &wt.words[w];
            for (int i = 0; i + 1 < e->len; i++)
                if (pair_counts_add(&pc, pair_key(e->ids[i], e->ids[i + 1]), e->count) != 0) {
                    failed = 1;
                    break;
                }
        }
        if (failed)
            break;
        uint64_t best = 0;
        long best_count = 1;
        for (size_t i = 0; i < pc.cap; i++)
            if (pc.keys[i] && (pc.counts[i] > best_count ||
                               (pc.counts[i] == best_count && best && pc.keys[i] < best)))
                if (pc.counts[i] >= 2) {
                    best = pc.keys[i];
                    best_count = pc.counts[i];
                }
        if (!best)
            break;
        int32_t a = (int32_t)((best - 1) >> 32), b = (int32_t)((best - 1) & 0xffffffffu);
        int32_t id = SJ_TOK_N_BASE + n_merges;
        merges[n_merges][0] = a;
        merges[n_merges][1] = b;
        n_merges++;
        for (size_t w = 0; w < wt.n; w++)
            merge_in_word(&wt.words[w], a, b, id);
    }
    free(pc.keys);
    free(pc.counts);
    word_table_free(&wt);
    if (failed) {
        free(merges);
        sj_error_set(err, SJ_ERR_WORK, "out of memory training the tokenizer");
        return NULL;
    }
    return tokenizer_from_merges(merges, n_merges, err);
}

/* ---- encode / decode ---------------------------------------------------------------- */

static size_t encode_word(const sj_tokenizer *tok, const unsigned char *s, size_t n, int32_t *out)
{
    int32_t buf[MAX_WORD];
    int len = (int)n;
    for (int i = 0; i < len; i++)
        buf[i] = SJ_TOK_BYTE0 + s[i];
    for (;;) {
        int32_t best_rank = -1;
        for (int i = 0; i + 1 < len; i++) {
            int32_t r = merge_rank(tok, buf[i], buf[i + 1]);
            if (r >= 0 && (best_rank < 0 || r < best_rank))
                best_rank = r;
        }
        if (best_rank < 0)
            break;
        word_entry e = {.ids = buf, .len = len, .count = 0};
        merge_in_word(&e, tok->merges[best_rank][0], tok->merges[best_rank][1],
                      SJ_TOK_N_BASE + best_rank);
        len = e.len;
    }
    memcpy(out, buf, (size_t)len * sizeof *out);
    return (size_t)len;
}

sj_status sj_tokenizer_encode(const sj_tokenizer *tok, const char *text, size_t len, int32_t **ids,
                              size_t *n, sj_error *err)
{
    *ids = malloc((len ? len : 1) * sizeof **ids);
    if (!*ids)
        return sj_error_set(err, SJ_ERR_WORK, "out of memory encoding %zu bytes", len);
    const unsigned char *s = (const unsigned char *)text;
    size_t count = 0;
    for (size_t i = 0; i < len;) {
        size_t w = next_word(s + i, len - i);
        count += encode_word(tok, s + i, w, *ids + count);
        i += w;
    }
    *n = count;
    return SJ_OK;
}

char *sj_tokenizer_decode(const sj_tokenizer *tok, const int32_t *ids, size_t n, size_t *len,
                          sj_error *err)
{
    size_t total = 0;
    for (size_t i = 0; i < n; i++) {
        if (ids[i] < 0 || ids[i] >= tok->vocab_size) {
            sj_error_set(err, SJ_ERR_INPUT, "token id %d outside the vocabulary of %d", ids[i],
                         tok->vocab_size);
            return NULL;
        }
        total += tok->blen[ids[i]];
    }
    char *out = malloc(total + 1);
    if (!out) {
        sj_error_set(err, SJ_ERR_WORK, "out of memory decoding");
        return NULL;
    }
    size_t at = 0;
    for (size_t i = 0; i < n; i++) {
        memcpy(out + at, tok->bytes[ids[i]], tok->blen[ids[i]]);
        at += tok->blen[ids[i]];
    }
    out[at] = '\0';
    if (len)
        *len = at;
    return out;
}

const unsigned char *sj_tokenizer_token_bytes(const sj_tokenizer *tok, int32_t id, size_t *len)
{
    if (id < 0 || id >= tok->vocab_size)
        return NULL;
    *len = tok->blen[id];
    return tok->bytes[id];
}

/* ---- JSON ------------------------------------------------------------------------------ */

cJSON *sj_tokenizer_to_json(const sj_tokenizer *tok)
{
    cJSON *doc = cJSON_CreateObject();
    cJSON_AddStringToObject(doc, "type", "sjtalign-byte-bpe");
    cJSON_AddNumberToObject(doc, "version", 1);
    cJSON_AddNumberToObject(doc, "vocab_size", tok->vocab_size);
    cJSON *sp = cJSON_AddObjectToObject(doc, "specials");
    cJSON_AddNumberToObject(sp, "pad", SJ_TOK_PAD);
    cJSON_AddNumberToObject(sp, "eos", SJ_TOK_EOS);
    cJSON_AddNumberToObject(sp, "sep", SJ_TOK_SEP);
    cJSON_AddNumberToObject(sp, "bos", SJ_TOK_BOS);
    cJSON_AddNumberToObject(doc, "byte_offset", SJ_TOK_BYTE0);
    cJSON_AddStringToObject(doc, "pretokenizer",
                            "words: letters/digits/non-ASCII, other printable, whitespace; one "
                            "leading space joins the next word; at most 64 bytes");
    cJSON *arr = cJSON_AddArrayToObject(doc, "merges");
    for (int r = 0; r < tok->n_merges; r++) {
        int pair[2] = {tok->merges[r][0], tok->merges[r][1]};
        cJSON_AddItemToArray(arr, cJSON_CreateIntArray(pair, 2));
    }
    return doc;
}

/* Integral JSON numbers in [0, 2^31): ids and sizes. The range is checked
 * before the cast, which is undefined for values a long cannot hold. */
static int whole_id(double x)
{
    return x >= 0 && x <= 2147483647.0 && x == (double)(long)x;
}

static int json_int(const cJSON *obj, const char *name, long *out)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, name);
    if (!cJSON_IsNumber(v) || !whole_id(v->valuedouble))
        return -1;
    *out = (long)v->valuedouble;
    return 0;
}

/* A whole number a tokenizer file must hold with exactly this value. */
typedef struct {
    const char *name;
    long value;
} fixed_int;

static const fixed_int FORMAT_INTS[] = {{"version", 1}};
static const fixed_int LAYOUT_INTS[] = {{"byte_offset", SJ_TOK_BYTE0}};
static const fixed_int SPECIAL_INTS[] = {
    {"pad", SJ_TOK_PAD}, {"eos", SJ_TOK_EOS}, {"sep", SJ_TOK_SEP}, {"bos", SJ_TOK_BOS}};

/* Whether obj holds every one of the n fixed integers with its value. */
static int has_fixed_ints(const cJSON *obj, const fixed_int *want, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        long v;
        if (json_int(obj, want[i].name, &v) != 0 || v != want[i].value)
            return 0;
    }
    return 1;
}

#define N_FIXED(a) (sizeof(a) / sizeof((a)[0]))

/* The header of a tokenizer file: its type and version, then the layout
 * this build was made for (vocab_size into *vocab). Reports the first
 * that is off. */
static sj_status check_header(const char *name, const cJSON *doc, long *vocab, sj_error *err)
{
    const cJSON *type = cJSON_GetObjectItemCaseSensitive(doc, "type");
    const cJSON *sp = cJSON_GetObjectItemCaseSensitive(doc, "specials");
    int ours = cJSON_IsString(type) && strcmp(type->valuestring, "sjtalign-byte-bpe") == 0 &&
               has_fixed_ints(doc, FORMAT_INTS, N_FIXED(FORMAT_INTS));
    int same_layout = json_int(doc, "vocab_size", vocab) == 0 &&
                      has_fixed_ints(doc, LAYOUT_INTS, N_FIXED(LAYOUT_INTS)) &&
                      cJSON_IsObject(sp) && has_fixed_ints(sp, SPECIAL_INTS, N_FIXED(SPECIAL_INTS));
    const char *why =
        !ours          ? "not an sjtalign tokenizer (expected \"type\": \"sjtalign-byte-bpe\", "
                         "\"version\": 1)"
        : !same_layout ? "vocab_size, byte_offset (4) or specials (pad 0, eos 1, sep 2, "
                         "bos 3) missing or different"
                       : NULL;
    return why ? sj_error_set(err, SJ_ERR_INPUT, "%s: %s", name, why) : SJ_OK;
}

sj_tokenizer *sj_tokenizer_from_json(const char *name, const cJSON *doc, sj_error *err)
{
    long vocab = 0;
    if (check_header(name, doc, &vocab, err) != SJ_OK)
        return NULL;
    const cJSON *arr = cJSON_GetObjectItemCaseSensitive(doc, "merges");
    if (!cJSON_IsArray(arr) || SJ_TOK_N_BASE + cJSON_GetArraySize(arr) != vocab) {
        sj_error_set(err, SJ_ERR_INPUT, "%s: \"merges\" must hold vocab_size - 260 = %ld pairs",
                     name, vocab - SJ_TOK_N_BASE);
        return NULL;
    }
    int n = cJSON_GetArraySize(arr);
    int32_t(*merges)[2] = malloc((size_t)(n ? n : 1) * sizeof *merges);
    if (!merges) {
        sj_error_set(err, SJ_ERR_WORK, "out of memory");
        return NULL;
    }
    int r = 0;
    const cJSON *pair;
    cJSON_ArrayForEach(pair, arr)
    {
        const cJSON *a = cJSON_GetArrayItem(pair, 0), *b = cJSON_GetArrayItem(pair, 1);
        if (!cJSON_IsArray(pair) || cJSON_GetArraySize(pair) != 2 || !cJSON_IsNumber(a) ||
            !cJSON_IsNumber(b) || !whole_id(a->valuedouble) || !whole_id(b->valuedouble)) {
            free(merges);
            sj_error_set(err, SJ_ERR_INPUT, "%s: merges[%d] is not a pair of token ids", name, r);
            return NULL;
        }
        merges[r][0] = (int32_t)a->valuedouble;
        merges[r][1] = (int32_t)b->valuedouble;
        r++;
    }
    sj_tokenizer *tok = tokenizer_from_merges(merges, n, err);
    if (!tok)
        sj_error_prefix(err, "%s: ", name);
    return tok;
}

sj_status sj_tokenizer_save(const sj_tokenizer *tok, const char *path, sj_error *err)
{
    cJSON *doc = sj_tokenizer_to_json(tok);
    if (!doc)
        return sj_error_set(err, SJ_ERR_WORK, "out of memory");
    sj_status st = sj_json_write(path, doc, err);
    cJSON_Delete(doc);
    return st;
}

sj_tokenizer *sj_tokenizer_load(const char *path, sj_error *err)
{
    /* merges are packed pairs of numbers: "[108, 109], " */
    cJSON *doc = sj_json_read_packed(path, err);
    if (!doc)
        return NULL;
    sj_tokenizer *tok = sj_tokenizer_from_json(path, doc, err);
    cJSON_Delete(doc);
    return tok;
}
