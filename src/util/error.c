/* Error values: a status that decides the exit code and a message that
 * tells the user what to fix. */
#include "sjtalign/util.h"

#include <stdio.h>
#include <string.h>

void sj_error_clear(sj_error *err)
{
    if (err) {
        err->status = SJ_OK;
        err->msg[0] = '\0';
    }
}

static sj_status set_message(sj_error *err, sj_status status, const char *prefix, const char *fmt,
                             va_list ap)
{
    if (!err)
        return status;
    err->status = status;
    size_t used = 0;
    if (prefix) {
        snprintf(err->msg, sizeof err->msg, "%s", prefix);
        used = strlen(err->msg);
    }
    vsnprintf(err->msg + used, sizeof err->msg - used, fmt, ap);
    return status;
}

sj_status sj_error_set(sj_error *err, sj_status status, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    set_message(err, status, NULL, fmt, ap);
    va_end(ap);
    return status;
}

sj_status sj_error_at(sj_error *err, sj_status status, const char *file, long line, long column,
                      const char *fmt, ...)
{
    char prefix[1024];
    if (line > 0 && column > 0)
        snprintf(prefix, sizeof prefix, "%s:%ld:%ld: ", file, line, column);
    else if (line > 0)
        snprintf(prefix, sizeof prefix, "%s:%ld: ", file, line);
    else
        snprintf(prefix, sizeof prefix, "%s: ", file);
    va_list ap;
    va_start(ap, fmt);
    set_message(err, status, prefix, fmt, ap);
    va_end(ap);
    return status;
}

void sj_error_prefix(sj_error *err, const char *fmt, ...)
{
    if (!err)
        return;
    char prefix[SJ_ERROR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof prefix, fmt, ap);
    va_end(ap);
    char old[SJ_ERROR_MSG_MAX];
    memcpy(old, err->msg, sizeof old);
    size_t n = strlen(prefix);
    if (n >= sizeof err->msg)
        n = sizeof err->msg - 1;
    memcpy(err->msg, prefix, n);
    size_t rest = strlen(old);
    if (n + rest >= sizeof err->msg)
        rest = sizeof err->msg - 1 - n;
    memcpy(err->msg + n, old, rest);
    err->msg[n + rest] = '\0';
}
