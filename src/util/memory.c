/* Allocation helpers and a growable byte buffer. */
#include "sjtalign/util.h"

#include <stdlib.h>
#include <string.h>

void *sj_calloc(size_t n, size_t size)
{
    if (n == 0 || size == 0)
        return calloc(1, 1);
    return calloc(n, size);
}

char *sj_strdup(const char *s)
{
    return s ? sj_strndup(s, strlen(s)) : NULL;
}

char *sj_strndup(const char *s, size_t n)
{
    char *copy = malloc(n + 1);
    if (!copy)
        return NULL;
    memcpy(copy, s, n);
    copy[n] = '\0';
    return copy;
}

char *sj_asprintf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int needed = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (needed < 0)
        return NULL;
    char *out = malloc((size_t)needed + 1);
    if (!out)
        return NULL;
    va_start(ap, fmt);
    vsnprintf(out, (size_t)needed + 1, fmt, ap);
    va_end(ap);
    return out;
}

/* Makes room for `extra` more bytes and the terminating NUL. A size whose
 * doubling would overflow is refused before it reaches realloc. */
static int buf_reserve(sj_buf *b, size_t extra)
{
    if (extra >= SIZE_MAX / 2 - b->len)
        return -1;
    if (b->len + extra + 1 <= b->cap)
        return 0;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < b->len + extra + 1)
        cap *= 2;
    char *grown = realloc(b->data, cap);
    if (!grown)
        return -1;
    b->data = grown;
    b->cap = cap;
    return 0;
}

int sj_buf_append(sj_buf *b, const void *data, size_t len)
{
    if (b->failed || buf_reserve(b, len) != 0) {
        b->failed = 1;
        return -1;
    }
    if (len)
        memcpy(b->data + b->len, data, len);
    b->len += len;
    b->data[b->len] = '\0';
    return 0;
}

int sj_buf_vprintf(sj_buf *b, const char *fmt, va_list ap)
{
    if (b->failed)
        return -1;
    va_list again;
    va_copy(again, ap);
    int needed = vsnprintf(NULL, 0, fmt, ap);
    if (needed < 0 || buf_reserve(b, (size_t)needed) != 0) {
        va_end(again);
        b->failed = 1;
        return -1;
    }
    vsnprintf(b->data + b->len, (size_t)needed + 1, fmt, again);
    va_end(again);
    b->len += (size_t)needed;
    return 0;
}

int sj_buf_printf(sj_buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int rc = sj_buf_vprintf(b, fmt, ap);
    va_end(ap);
    return rc;
}

void sj_buf_fail(sj_buf *b)
{
    b->failed = 1;
}

int sj_buf_quoted_list(sj_buf *b, char *const *names, size_t n)
{
    for (size_t i = 0; i < n; i++)
        sj_buf_printf(b, "%s'%s'", i ? ", " : "", names[i]);
    return sj_buf_failed(b) ? -1 : 0;
}

int sj_buf_failed(const sj_buf *b)
{
    return b->failed;
}

void sj_buf_free(sj_buf *b)
{
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
    b->failed = 0;
}
