/* JSON documents through cJSON, with positions for syntax errors. */
#include "sjtalign/io.h"

#include <math.h>
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

cJSON *sj_json_parse(const char *name, const char *text, sj_error *err)
{
    const char *end = NULL;
    cJSON *doc = cJSON_ParseWithOpts(text, &end, 1);
    if (doc)
        return doc;
    long line, column;
    const char *at = end ? end : text;
    sj_text_position(text, at, &line, &column);
    if (*at == '\0')
        sj_error_at(err, SJ_ERR_INPUT, name, line, column,
                    "JSON syntax error: the document ends too early (an unclosed bracket, brace "
                    "or string?)");
    else
        sj_error_at(err, SJ_ERR_INPUT, name, line, column, "JSON syntax error near '%.20s'", at);
    return NULL;
}

cJSON *sj_json_read(const char *path, sj_error *err)
{
    char *text = NULL;
    size_t len = 0;
    if (sj_read_file(path, &text, &len, err) != SJ_OK)
        return NULL;
    if (strlen(text) != len) {
        sj_error_at(err, SJ_ERR_INPUT, path, 0, 0, "a NUL byte in a JSON file");
        free(text);
        return NULL;
    }
    cJSON *doc = sj_json_parse(path, text, err);
    free(text);
    return doc;
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

cJSON *sj_json_add_number(cJSON *obj, const char *name, double value)
{
    if (!isfinite(value))
        return cJSON_AddNullToObject(obj, name);
    return cJSON_AddNumberToObject(obj, name, value);
}
