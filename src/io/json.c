/* JSON documents through cJSON, with positions for syntax errors, a bound
 * on nesting and on the number of values (cJSON spends about 80 bytes on
 * each), and no duplicate keys. */
#include "sjtalign/io.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

void sj_text_position(const char *text, const char *at, long *line, long *column)
{
    *line = 1;
    *column = 1;
    for (const char *c = text; c < at && *c; c++) {
        if (*c == '\n') {
            (*line)++;
            *column = 1;
        } else {
            (*column)++;
        }
    }
}

/* The position of `at`, for a text that starts on line base + 1. */
static void locate(const char *text, const char *at, long base, long *line, long *column)
{
    sj_text_position(text, at, line, column);
    *line += base;
}

/* ---- a scan of the text before cJSON builds its tree ------------------------ */

/* The end of the string literal starting at the quote s (one past its
 * closing quote, or the end of the text). */
static const char *skip_string(const char *s)
{
    for (s++; *s && *s != '"'; s++)
        if (*s == '\\' && s[1])
            s++;
    return *s ? s + 1 : s;
}

static int scalar_char(char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '-' ||
           c == '+' || c == '.';
}

/* Counts the values and keys and finds where nesting first goes deeper
 * than cJSON allows, so a huge or deep document is refused before its tree
 * is built. Syntax is left to cJSON. */
static sj_status prescan(const char *name, const char *text, long base, size_t bytes_per_value,
                         sj_error *err)
{
    size_t values = 0, depth = 0;
    for (const char *c = text; *c;) {
        if (*c == '"') {
            values++;
            c = skip_string(c);
            continue;
        }
        if (*c == '{' || *c == '[') {
            values++;
            if (++depth > CJSON_NESTING_LIMIT) {
                long line, column;
                locate(text, c, base, &line, &column);
                return sj_error_at(err, SJ_ERR_INPUT, name, line, column,
                                   "nested deeper than %d levels of brackets and braces",
                                   CJSON_NESTING_LIMIT);
            }
        } else if (*c == '}' || *c == ']') {
            depth -= depth > 0;
        } else if (scalar_char(*c) && (c == text || !scalar_char(c[-1]))) {
            values++;
        }
        c++;
    }
    size_t len = strlen(text);
    size_t allowed = SJ_JSON_FREE_VALUES + len / bytes_per_value;
    if (values > allowed)
        return sj_error_at(err, SJ_ERR_INPUT, name, base, 0,
                           "%zu values and keys in %zu bytes, more than the %zu a JSON input "
                           "of this size may hold (%d plus one per %zu bytes)",
                           values, len, allowed, SJ_JSON_FREE_VALUES, bytes_per_value);
    return SJ_OK;
}

/* ---- duplicate keys ------------------------------------------------------------ */

/* A key of the parsed tree: its object, its text and its place in document
 * order (cJSON keeps children in the order of the text). */
typedef struct {
    const cJSON *object;
    const char *key;
    size_t order;
} key_entry;

static void collect_keys(const cJSON *node, key_entry *keys, size_t *n, size_t cap)
{
    const cJSON *child;
    cJSON_ArrayForEach(child, node)
    {
        if (cJSON_IsObject(node) && child->string && *n < cap) {
            keys[*n] = (key_entry){node, child->string, *n};
            (*n)++;
        }
        collect_keys(child, keys, n, cap);
    }
}

static size_t count_keys(const cJSON *node)
{
    size_t n = 0;
    const cJSON *child;
    cJSON_ArrayForEach(child, node)
    {
        n += cJSON_IsObject(node) && child->string;
        n += count_keys(child);
    }
    return n;
}

static int by_object_key_order(const void *a, const void *b)
{
    const key_entry *x = a, *y = b;
    uintptr_t ox = (uintptr_t)x->object, oy = (uintptr_t)y->object;
    if (ox != oy)
        return ox < oy ? -1 : 1;
    int c = strcmp(x->key, y->key);
    return c ? c : (x->order > y->order) - (x->order < y->order);
}

/* The offset of the k-th key (in document order) of valid JSON text, or
 * -1: a string is a key when it follows '{' or a ',' inside an object. */
static long key_offset(const char *text, size_t k)
{
    char open[CJSON_NESTING_LIMIT + 2];
    size_t depth = 0, seen = 0;
    int expect_key = 0;
    for (const char *c = text; *c;) {
        if (*c == '"') {
            if (expect_key && seen++ == k)
                return (long)(c - text);
            expect_key = 0;
            c = skip_string(c);
            continue;
        }
        if ((*c == '{' || *c == '[') && depth < sizeof open)
            open[depth++] = *c;
        else if ((*c == '}' || *c == ']') && depth > 0)
            depth--;
        if (*c == '{' || (*c == ',' && depth > 0 && open[depth - 1] == '{'))
            expect_key = 1;
        c++;
    }
    return -1;
}

static void report_duplicate(const char *name, const char *text, long base, const char *key,
                             size_t first, size_t second, sj_error *err)
{
    long l1 = 0, c1 = 0, l2 = 0, c2 = 0;
    long off1 = key_offset(text, first), off2 = key_offset(text, second);
    if (off1 >= 0)
        locate(text, text + off1, base, &l1, &c1);
    if (off2 >= 0)
        locate(text, text + off2, base, &l2, &c2);
    sj_error_at(err, SJ_ERR_INPUT, name, l2, c2, "duplicate key '%.200s' (first at line %ld)", key,
                l1);
}

/* Keys that occur twice in one object are refused: cJSON would keep both
 * and its lookups take the first, while Python, R and jq take the last, so
 * one file would mean two things. The keys are sorted by object and text
 * (n log n); the duplicate named is the first in document order. */
static sj_status check_duplicate_keys(const char *name, const char *text, long base,
                                      const cJSON *doc, sj_error *err)
{
    size_t n = count_keys(doc);
    if (n < 2)
        return SJ_OK;
    key_entry *keys = malloc(n * sizeof *keys);
    if (!keys)
        return sj_error_set(err, SJ_ERR_WORK, "out of memory reading %s", name);
    size_t got = 0;
    collect_keys(doc, keys, &got, n);
    qsort(keys, got, sizeof *keys, by_object_key_order);
    size_t first = SIZE_MAX, second = SIZE_MAX;
    const char *key = NULL;
    for (size_t i = 1; i < got; i++)
        if (keys[i].object == keys[i - 1].object && strcmp(keys[i].key, keys[i - 1].key) == 0 &&
            keys[i].order < second) {
            first = keys[i - 1].order;
            second = keys[i].order;
            key = keys[i].key;
        }
    if (key)
        report_duplicate(name, text, base, key, first, second, err);
    free(keys);
    return key ? SJ_ERR_INPUT : SJ_OK;
}

/* ---- parsing and reading --------------------------------------------------------- */

static cJSON *parse_checked(const char *name, const char *text, long base, size_t bytes_per_value,
                            sj_error *err)
{
    if (prescan(name, text, base, bytes_per_value, err) != SJ_OK)
        return NULL;
    const char *end = NULL;
    cJSON *doc = cJSON_ParseWithOpts(text, &end, 1);
    if (!doc) {
        long line, column;
        const char *at = end ? end : text;
        locate(text, at, base, &line, &column);
        if (*at == '\0')
            sj_error_at(err, SJ_ERR_INPUT, name, line, column,
                        "JSON syntax error: the document ends too early (an unclosed bracket, "
                        "brace or string?)");
        else
            sj_error_at(err, SJ_ERR_INPUT, name, line, column, "JSON syntax error near '%.20s'",
                        at);
        return NULL;
    }
    if (check_duplicate_keys(name, text, base, doc, err) != SJ_OK) {
        cJSON_Delete(doc);
        return NULL;
    }
    return doc;
}

cJSON *sj_json_parse(const char *name, const char *text, sj_error *err)
{
    return parse_checked(name, text, 0, SJ_JSON_BYTES_PER_VALUE, err);
}

cJSON *sj_json_parse_line(const char *name, long line, const char *text, sj_error *err)
{
    return parse_checked(name, text, line - 1, SJ_JSON_BYTES_PER_VALUE, err);
}

static cJSON *read_checked(const char *path, size_t bytes_per_value, sj_error *err)
{
    char *text = NULL;
    size_t len = 0;
    if (sj_read_file(path, &text, &len, err) != SJ_OK)
        return NULL;
    cJSON *doc = NULL;
    if (sj_text_looks_utf16(text, len)) {
        sj_error_at(err, SJ_ERR_INPUT, path, 1, 0, "the file looks like UTF-16; save it as UTF-8");
    } else if (strlen(text) != len) {
        long line, column;
        sj_text_position(text, text + strlen(text), &line, &column);
        sj_error_at(err, SJ_ERR_INPUT, path, line, column,
                    "a NUL byte in a JSON file: this is not a text file");
    } else {
        /* A UTF-8 byte order mark (Windows editors add one) is not JSON. */
        size_t skip = len >= 3 && memcmp(text, "\xEF\xBB\xBF", 3) == 0 ? 3 : 0;
        doc = parse_checked(path, text + skip, 0, bytes_per_value, err);
    }
    free(text);
    return doc;
}

cJSON *sj_json_read(const char *path, sj_error *err)
{
    return read_checked(path, SJ_JSON_BYTES_PER_VALUE, err);
}

cJSON *sj_json_read_packed(const char *path, sj_error *err)
{
    return read_checked(path, SJ_JSON_PACKED_BYTES_PER_VALUE, err);
}

sj_status sj_json_write(const char *path, const cJSON *doc, sj_error *err)
{
    char *text = cJSON_Print(doc);
    if (!text)
        return sj_error_set(err, SJ_ERR_WORK, "out of memory writing %s", path);
    size_t n = strlen(text);
    char *with_newline = realloc(text, n + 2);
    if (!with_newline) {
        free(text);
        return sj_error_set(err, SJ_ERR_WORK, "out of memory writing %s", path);
    }
    with_newline[n] = '\n';
    with_newline[n + 1] = '\0';
    sj_status st;
    if (strcmp(path, "-") == 0) {
        st = fwrite(with_newline, 1, n + 1, stdout) == n + 1 && fflush(stdout) == 0
                 ? SJ_OK
                 : sj_error_set(err, SJ_ERR_WORK, "cannot write standard output");
    } else {
        st = sj_write_file_atomic(path, with_newline, n + 1, err);
    }
    free(with_newline);
    return st;
}

cJSON *sj_json_add_seed(cJSON *obj, const char *name, uint64_t seed)
{
    if (seed <= (UINT64_C(1) << 53))
        return cJSON_AddNumberToObject(obj, name, (double)seed);
    char digits[32];
    snprintf(digits, sizeof digits, "%llu", (unsigned long long)seed);
    return cJSON_AddStringToObject(obj, name, digits);
}

cJSON *sj_json_add_number(cJSON *obj, const char *name, double value)
{
    if (!isfinite(value))
        return cJSON_AddNullToObject(obj, name);
    return cJSON_AddNumberToObject(obj, name, value);
}
