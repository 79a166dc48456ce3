/* Words of a response: tokenising, the English stop-word list and a light
 * suffix-stripping stemmer. The stemmer is deliberately small (plurals and
 * a handful of inflectional and derivational endings, then a final e): it
 * maps "stores", "stored" and "storing" together, not every English form,
 * and it never touches words holding digits, '+', '#' or non-ASCII bytes. */
#include "sjtalign/lexical.h"

#include <stdlib.h>
#include <string.h>

/* Sorted (strcmp order) for bsearch; a unit test checks the order. */
static const char *const STOP_WORDS[] = {
    "a",       "about",      "above",  "after",    "again",      "all",     "also",    "am",
    "an",      "and",        "any",    "are",      "as",         "at",      "be",      "because",
    "been",    "before",     "being",  "below",    "between",    "both",    "but",     "by",
    "can",     "could",      "did",    "do",       "does",       "doing",   "don",     "down",
    "during",  "each",       "few",    "for",      "from",       "further", "had",     "has",
    "have",    "having",     "he",     "her",      "here",       "hers",    "herself", "him",
    "himself", "his",        "how",    "i",        "if",         "in",      "into",    "is",
    "it",      "its",        "itself", "just",     "may",        "me",      "might",   "more",
    "most",    "my",         "myself", "no",       "nor",        "not",     "of",      "off",
    "on",      "once",       "only",   "or",       "other",      "our",     "ours",    "ourselves",
    "out",     "over",       "own",    "s",        "same",       "she",     "should",  "so",
    "some",    "such",       "t",      "than",     "that",       "the",     "their",   "theirs",
    "them",    "themselves", "then",   "there",    "these",      "they",    "this",    "those",
    "through", "to",         "too",    "under",    "until",      "up",      "use",     "used",
    "using",   "very",       "was",    "we",       "were",       "what",    "when",    "where",
    "which",   "while",      "who",    "whom",     "why",        "will",    "with",    "would",
    "you",     "your",       "yours",  "yourself", "yourselves",
};
#define N_STOP_WORDS (sizeof STOP_WORDS / sizeof STOP_WORDS[0])

static int compare_word(const void *key, const void *entry)
{
    return strcmp((const char *)key, *(const char *const *)entry);
}

int sj_lex_is_stop_word(const char *word)
{
    return bsearch(word, STOP_WORDS, N_STOP_WORDS, sizeof STOP_WORDS[0], compare_word) != NULL;
}

size_t sj_lex_stop_words(const char *const **words)
{
    *words = STOP_WORDS;
    return N_STOP_WORDS;
}

static int ends_with(const char *w, size_t len, const char *suffix)
{
    size_t n = strlen(suffix);
    return len >= n && memcmp(w + len - n, suffix, n) == 0;
}

static int is_vowel(char c)
{
    return c == 'a' || c == 'e' || c == 'i' || c == 'o' || c == 'u' || c == 'y';
}

static int has_vowel(const char *w, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if (is_vowel(w[i]))
            return 1;
    return 0;
}

/* classes -> class, queries -> query, stores -> store; not glass, bus, this. */
static size_t strip_plural(char *w, size_t len)
{
    if (ends_with(w, len, "sses"))
        return len - 2;
    if (ends_with(w, len, "ies") && len >= 5) {
        w[len - 3] = 'y';
        return len - 2;
    }
    if (ends_with(w, len, "s") && !ends_with(w, len, "ss") && !ends_with(w, len, "us") &&
        !ends_with(w, len, "is") && len >= 4)
        return len - 1;
    return len;
}

/* After -ing/-ed: running -> runn -> run (not l, s, z: called, passed). */
static size_t undouble(const char *w, size_t len)
{
    if (len >= 4 && w[len - 1] == w[len - 2] && !is_vowel(w[len - 1]) && w[len - 1] != 'l' &&
        w[len - 1] != 's' && w[len - 1] != 'z')
        return len - 1;
    return len;
}

/* One ending, the first that applies; the stem keeps at least 3 letters
 * (4 before -ly, so apply stays) and, before -ing/-ed, a vowel (string
 * stays). */
static size_t strip_ending(char *w, size_t len)
{
    static const struct {
        const char *suffix;
        size_t min_stem;
        int verb; /* -ing/-ed: needs a vowel in the stem, undoubles */
    } RULES[] = {{"ation", 3, 0}, {"ness", 3, 0}, {"ment", 3, 0}, {"ing", 3, 1}, {"ied", 2, 0},
                 {"eed", 99, 0},  {"ed", 3, 1},   {"ly", 4, 0},   {"er", 3, 0}};
    for (size_t r = 0; r < sizeof RULES / sizeof RULES[0]; r++) {
        size_t n = strlen(RULES[r].suffix);
        if (!ends_with(w, len, RULES[r].suffix))
            continue;
        size_t stem = len - n;
        if (stem < RULES[r].min_stem || (RULES[r].verb && !has_vowel(w, stem)))
            return len;
        if (strcmp(RULES[r].suffix, "ied") == 0) {
            w[stem] = 'y';
            return stem + 1;
        }
        return RULES[r].verb ? undouble(w, stem) : stem;
    }
    return len;
}

char *sj_lex_stem(const char *word)
{
    char *w = sj_strdup(word);
    if (!w)
        return NULL;
    size_t len = strlen(w);
    for (size_t i = 0; i < len; i++)
        if (w[i] < 'a' || w[i] > 'z')
            return w;
    len = strip_plural(w, len);
    len = strip_ending(w, len);
    if (len >= 4 && w[len - 1] == 'e')
        len--;
    w[len] = '\0';
    return w;
}

static int is_word_byte(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c >= 0x80 || c == '+' || c == '#';
}

void sj_lex_words_free(char **words, long n)
{
    for (long i = 0; i < n; i++)
        free(words[i]);
    free(words);
}

/* Appends the normalised form of one raw word (lower-cased, not a stop
 * word, stemmed); returns -1 when out of memory. */
static int add_word(const char *start, size_t len, char ***words, long *n, long *cap)
{
    char *lower = sj_strndup(start, len);
    if (!lower)
        return -1;
    for (size_t i = 0; i < len; i++)
        if (lower[i] >= 'A' && lower[i] <= 'Z')
            lower[i] = (char)(lower[i] - 'A' + 'a');
    if (sj_lex_is_stop_word(lower)) {
        free(lower);
        return 0;
    }
    char *stem = sj_lex_stem(lower);
    free(lower);
    if (!stem)
        return -1;
    if (*n == *cap) {
        long cap2 = *cap ? 2 * *cap : 16;
        char **grown = realloc(*words, (size_t)cap2 * sizeof *grown);
        if (!grown) {
            free(stem);
            return -1;
        }
        *words = grown;
        *cap = cap2;
    }
    (*words)[(*n)++] = stem;
    return 0;
}

long sj_lex_words(const char *text, char ***words)
{
    *words = NULL;
    long n = 0, cap = 0;
    const unsigned char *s = (const unsigned char *)text;
    while (*s) {
        if (!is_word_byte(*s)) {
            s++;
            continue;
        }
        const unsigned char *start = s;
        while (*s && is_word_byte(*s))
            s++;
        if (add_word((const char *)start, (size_t)(s - start), words, &n, &cap) != 0) {
            sj_lex_words_free(*words, n);
            *words = NULL;
            return -1;
        }
    }
    return n;
}
