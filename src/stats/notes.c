/* Notes of statistical results. */
#include "notes.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "sjtalign/util.h"

void stats_note_add(char ***notes, size_t *n, const char *fmt, ...)
{
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    char *text = sj_strdup(buf);
    char **grown = text ? realloc(*notes, (*n + 1) * sizeof *grown) : NULL;
    if (!grown) {
        free(text);
        return;
    }
    *notes = grown;
    grown[(*n)++] = text;
}

void stats_notes_free(char ***notes, size_t *n)
{
    for (size_t i = 0; i < *n; i++)
        free((*notes)[i]);
    free(*notes);
    *notes = NULL;
    *n = 0;
}
