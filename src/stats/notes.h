/* The notes of a statistical result ("not tested: ..."): a list of
 * formatted lines that explain a missing or doubtful value. */
#ifndef SJTALIGN_STATS_NOTES_H
#define SJTALIGN_STATS_NOTES_H

#include <stddef.h>

/* Appends one formatted note (at most 511 characters) to notes[0..*n).
 * Out of memory the note is dropped: notes explain a result, the result
 * itself never depends on them. */
void stats_note_add(char ***notes, size_t *n, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Frees the notes and empties the list. */
void stats_notes_free(char ***notes, size_t *n);

#endif
