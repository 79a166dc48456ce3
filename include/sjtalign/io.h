/* sjtalign input/output: CSV tables (libcsv), CSV writing with formula
 * neutralisation, JSON documents (cJSON) and the instrument definition. */
#ifndef SJTALIGN_IO_H
#define SJTALIGN_IO_H

#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "sjtalign/util.h"

/* ---- CSV tables --------------------------------------------------------- */

/* A table has at most this many columns (a larger header is an input
 * error naming its count). */
#define SJ_CSV_MAX_COLUMNS 10000

struct sj_cell_text; /* storage of a table's cell text */

/* A whole CSV file in memory: a header row and rows of UTF-8 text cells.
 * Every row records the physical line it starts on, so later checks (a
 * number that is not a number) can name file, line and column. */
typedef struct {
    char *path;
    size_t n_cols;
    char **names;              /* n_cols header names */
    size_t n_rows;             /* data rows, header excluded */
    char **cells;              /* n_rows * n_cols, row-major; never NULL */
    long *row_line;            /* physical line on which each data row starts */
    struct sj_cell_text *text; /* owns the text the cells point into */
} sj_table;

/* Reads path ("-" = stdin). Accepts a UTF-8 BOM, CRLF line ends and quoted
 * fields holding commas, quotes and newlines. Rejects unbalanced quotes,
 * ragged rows, empty or duplicate header names, more than
 * SJ_CSV_MAX_COLUMNS columns, NUL bytes, UTF-16 and invalid UTF-8, naming
 * file, line and column. A file must be a regular file within the table
 * size limit (sj_input_check); standard input is cut off at that limit.
 * A cell written neutralised (see sj_csv_neutralise) reads back as the
 * text that was written: one leading quote is removed from a cell that is
 * one or more quotes followed by = + - @, a tab or a carriage return. */
sj_table *sj_table_read(const char *path, sj_error *err);
/* Parses CSV text already in memory; `name` is used in messages. */
sj_table *sj_table_parse(const char *name, const char *data, size_t len, sj_error *err);
void sj_table_free(sj_table *t);

/* Index of a column, or -1 (and an error naming the file and the columns it
 * does have) when absent. */
long sj_table_column(const sj_table *t, const char *name, sj_error *err);
/* Index of a column, or -1 without an error. */
long sj_table_find_column(const sj_table *t, const char *name);
const char *sj_table_cell(const sj_table *t, size_t row, size_t col);

/* The distinct values of column col (a person column, usually): keys
 * sorted by strcmp (pointing into the table), each key's first row in file
 * order, each row's key index, and the rows sorted by key and then by
 * row. */
typedef struct {
    size_t n;
    const char **keys;
    size_t *first_row;
    size_t *row_key;
    size_t *order;
} sj_table_keys;

sj_status sj_table_keys_build(const sj_table *t, size_t col, sj_table_keys *out, sj_error *err);
void sj_table_keys_free(sj_table_keys *k);

/* A finite number from a cell; an error names file, line and column. */
sj_status sj_table_number(const sj_table *t, size_t row, size_t col, double *out, sj_error *err);
/* An integer from a cell (a number with no fractional part). */
sj_status sj_table_integer(const sj_table *t, size_t row, size_t col, long *out, sj_error *err);

/* A CSV file read row by row, in constant memory, with the same checks and
 * positions as sj_table_read. The header is read on open. */
typedef struct sj_csv_stream sj_csv_stream;

sj_csv_stream *sj_csv_stream_open(const char *path, sj_error *err);
/* The header and the window of rows read so far: a row index from
 * sj_csv_stream_next is valid with sj_table_cell/number/integer (line
 * numbers included) until the next call. */
const sj_table *sj_csv_stream_table(const sj_csv_stream *s);
/* 1 and the row's index when a row is ready, 0 at the end, -1 on a defect
 * (the error goes to the sj_error given to sj_csv_stream_open). */
int sj_csv_stream_next(sj_csv_stream *s, size_t *row);
void sj_csv_stream_close(sj_csv_stream *s);

/* Parses a whole-string finite number ("1", "-2.5", "3e2"); 0 on success. */
int sj_parse_number(const char *s, double *out);
/* 1 when the text is valid UTF-8. */
int sj_utf8_valid(const char *s, size_t len);

/* ---- CSV writing -------------------------------------------------------- */

/* Rows go to an atomically written file: nothing appears at `path` unless
 * sj_csv_close succeeds. Text cells beginning with = + - @ (or a tab or
 * carriage return) that are not numbers are prefixed with a single quote so
 * spreadsheets do not run them as formulas (sj_csv_neutralise). */
typedef struct {
    sj_atomic_file file;
    FILE *out; /* file.fp, or stdout when writing to "-" */
    int to_stdout;
    size_t n_cols;
    size_t in_row;
} sj_csv_writer;

sj_status sj_csv_open(sj_csv_writer *w, const char *path, const char *const *header, size_t n_cols,
                      sj_error *err);
/* Appends one cell to the current row; the row ends after n_cols cells. */
void sj_csv_cell(sj_csv_writer *w, const char *text);
void sj_csv_cell_number(sj_csv_writer *w, double value);
void sj_csv_cell_integer(sj_csv_writer *w, long value);
/* Writes a whole row of n_cols text cells. */
void sj_csv_row(sj_csv_writer *w, const char *const *cells);
sj_status sj_csv_close(sj_csv_writer *w, sj_error *err);
void sj_csv_abort(sj_csv_writer *w);

/* Neutralised form of a text cell; caller frees. A quote is put before a
 * cell that starts with = + - @, a tab or a carriage return (unless it is a
 * number such as -2), and before a cell that already starts with one or
 * more quotes followed by one of those characters. The reader removes
 * exactly one quote from cells of the second shape, so every text reads
 * back as it was: '=x is written ''=x and read as '=x. */
char *sj_csv_neutralise(const char *text);
/* 1 when a cell of len bytes is one or more quotes followed by = + - @, a
 * tab or a carriage return: the shape of a neutralised cell. */
int sj_csv_is_neutralised(const char *text, size_t len);
/* 1 when text starts with a UTF-16 byte order mark or has a NUL byte in
 * the same place of every pair of its first bytes (ASCII in UTF-16). */
int sj_text_looks_utf16(const char *data, size_t len);
/* Formats a double with enough digits to read back exactly ("%.17g" made
 * short when shorter text reads back the same); NaN becomes "NA". */
void sj_format_number(double value, char *out, size_t n);

/* ---- JSON ----------------------------------------------------------------- */

/* Every JSON input is checked before and after cJSON parses it: nesting
 * deeper than CJSON_NESTING_LIMIT (1000) levels, more values and keys than
 * SJ_JSON_FREE_VALUES plus one per SJ_JSON_BYTES_PER_VALUE bytes of text
 * (cJSON spends about 80 bytes on each, so memory stays within about ten
 * times the file), a key twice in one object, UTF-16 and NUL bytes are
 * input errors naming file, line and column. */
#define SJ_JSON_FREE_VALUES 65536
#define SJ_JSON_BYTES_PER_VALUE 8
/* Packed documents (a tokenizer's merges, [108, 109], ...) may hold one
 * value per this many bytes. */
#define SJ_JSON_PACKED_BYTES_PER_VALUE 4

/* Parses a JSON file (a regular file within the document size limit; a
 * UTF-8 byte order mark is skipped); errors name file, line and column. */
cJSON *sj_json_read(const char *path, sj_error *err);
/* The same for a packed document (SJ_JSON_PACKED_BYTES_PER_VALUE). */
cJSON *sj_json_read_packed(const char *path, sj_error *err);
cJSON *sj_json_parse(const char *name, const char *text, sj_error *err);
/* Parses one line of a JSON-lines file (a training log): the same checks,
 * with positions on line `line` of `name`. */
cJSON *sj_json_parse_line(const char *name, long line, const char *text, sj_error *err);
/* Line and column (both from 1) of the character `at` points to in text. */
void sj_text_position(const char *text, const char *at, long *line, long *column);
/* Writes a JSON document atomically, pretty-printed, with a final newline. */
sj_status sj_json_write(const char *path, const cJSON *doc, sj_error *err);
/* Adds a number, writing null for NaN or infinities (JSON has none). */
cJSON *sj_json_add_number(cJSON *obj, const char *name, double value);
/* Adds a seed: a number up to 2^53, beyond it a string of digits (JSON
 * readers hold numbers as doubles, which would change a larger seed). */
cJSON *sj_json_add_seed(cJSON *obj, const char *name, uint64_t seed);

/* ---- instrument ------------------------------------------------------------ */

typedef struct {
    int score;
    char *anchor;
} sj_anchor;

typedef struct {
    char *id;
    char *scenario;
    char *question;
    size_t n_rubric;
    sj_anchor *rubric;
} sj_item;

typedef struct {
    char *id;
    char *title;
    int score_min;
    int score_max;
    size_t n_items;
    sj_item *items;
    size_t *by_id; /* item indices sorted by id (NULL: lookups scan the items) */
} sj_instrument;

/* Loads and validates instruments/<name>/instrument.json: id, title,
 * score_min <= score_max, at least one item, unique item ids, and per item a
 * scenario, question and rubric whose scores lie within the range. Errors
 * give the JSON path (items[2].rubric[0].score) or the syntax position. */
sj_instrument *sj_instrument_load(const char *path, sj_error *err);
sj_instrument *sj_instrument_from_json(const char *name, const cJSON *doc, sj_error *err);
cJSON *sj_instrument_to_json(const sj_instrument *ins);
void sj_instrument_free(sj_instrument *ins);
/* Index of an item by id, or -1. */
long sj_instrument_find_item(const sj_instrument *ins, const char *id);

/* ---- responses -------------------------------------------------------------- */

/* Column names of a long-format responses file (one row per person x item). */
typedef struct {
    const char *person; /* default "person_id" */
    const char *item;   /* default "item_id" */
    const char *text;   /* default "response" */
    const char *group;  /* default "group"; optional unless required */
    const char *score;  /* default "score"; optional unless required */
} sj_columns;

/* Fills NULL names with the defaults above. */
void sj_columns_defaults(sj_columns *cols);

enum {
    SJ_NEED_TEXT = 1,
    SJ_NEED_GROUP = 2,
    SJ_NEED_SCORE = 4,
    /* cols.score may name several raters' columns, "A,B,..." (sj_rater_scores):
     * score is then their mean and raters holds each rater's score */
    SJ_ALLOW_RATERS = 8,
};

/* The human scores of one or several raters, from a comma list of column
 * names ("rater_1,rater_2"; blanks around a name are dropped). Every named
 * column must exist (no empty name, none named twice); every non-empty
 * cell is a whole number within the instrument's range; an empty cell is a
 * response that rater did not score. */
typedef struct {
    size_t n_rows, n_raters;
    char **names; /* the columns, in the order given */
    long *cols;
    double *score; /* n_rows x n_raters, row-major; NaN where a cell is empty */
} sj_rater_scores;

/* Reads the columns of `spec` from t (ins NULL: no range check); errors
 * name file:line:column, or the list and what is wrong with it. */
sj_rater_scores *sj_rater_scores_read(const sj_table *t, const char *spec, const sj_instrument *ins,
                                      sj_error *err);
/* The scores a row has, and their mean (NaN when it has none). */
size_t sj_rater_count(const sj_rater_scores *r, size_t row);
double sj_rater_mean(const sj_rater_scores *r, size_t row);
void sj_rater_scores_free(sj_rater_scores *r);

/* A responses file checked against an instrument. Rows keep file order. */
typedef struct {
    sj_table *table;
    long col_person, col_item, col_text, col_group, col_score; /* -1 when absent */
    size_t *item_index; /* per row: index of the item in the instrument */
    double *score;      /* per row: the score, NaN where the cell is empty (with
                           raters: their mean, NaN when none scored the row) */
    /* With SJ_ALLOW_RATERS and a score column present: the rater columns of
     * cols.score (one or several; col_score is the first), else NULL. */
    sj_rater_scores *raters;
} sj_responses;

/* Loads and checks: required columns present; every item known to the
 * instrument; scores whole numbers within score_min..score_max (an empty
 * cell is a missing score); no person answers an item twice. `need` is a
 * mask of SJ_NEED_*. Errors name file, line and column. */
sj_responses *sj_responses_load(const char *path, const sj_columns *cols, const sj_instrument *ins,
                                int need, sj_error *err);
void sj_responses_free(sj_responses *r);

/* ---- a held-out person split (sjtalign split) ------------------------------ */

/* One stratum of a split: the persons of one group and how many of them
 * are held out. */
typedef struct {
    char *name;
    size_t n_persons;
    size_t n_heldout;
} sj_split_group;

/* A person-level split of a long-format table into training and held-out
 * persons, stratified by group. Every row of a person goes to the same
 * side, so no model trained on the training rows has seen any answer of a
 * held-out person. */
typedef struct {
    double fraction;
    uint64_t seed;
    size_t n_persons;
    char **persons;                /* every person id, sorted by strcmp */
    size_t *person_group;          /* per person: index into groups */
    unsigned char *person_heldout; /* per person: 1 when held out */
    size_t n_heldout;              /* held-out persons */
    size_t n_groups;
    sj_split_group *groups; /* sorted by name */
    size_t n_rows;
    unsigned char *row_heldout; /* per table row: 1 when its person is held out */
    size_t n_rows_heldout;
} sj_split;

/* How many of a group's n persons are held out: round(fraction * n)
 * (halves away from zero), but at least 1 and at most n - 1 when n >= 2,
 * so that both sides see every group; a group of one person is held out
 * only when fraction >= 0.5. */
size_t sj_split_heldout_size(size_t n, double fraction);

/* Splits the persons of t (column col_person) stratified by col_group:
 * within each group the persons, sorted by id, are shuffled by
 * gsl_ran_shuffle with an MT19937 generator seeded from
 * sj_seed_derive(seed, "split:" + group name), and the first
 * sj_split_heldout_size of them are held out. A group's held-out persons
 * therefore depend only on the seed, the group's name and its persons.
 * fraction must lie strictly between 0 and 1. An empty person id or group
 * label, or a person whose rows name different groups, is an input error
 * naming file, line and column. */
sj_split *sj_split_persons(const sj_table *t, long col_person, long col_group, double fraction,
                           uint64_t seed, sj_error *err);
/* Index of a person in s->persons, or -1. */
long sj_split_find_person(const sj_split *s, const char *id);
void sj_split_free(sj_split *s);

/* ---- validating a responses file (sjtalign validate) ------------------------- */

/* What to check: the columns as the other commands name them. A NULL name
 * in cols takes the default (sj_columns_defaults); a group column that was
 * named must exist, the default one may be absent. score_cols names the
 * score columns to check (each must exist); with none, the columns the
 * other commands read by default are checked where present: score (sft,
 * dif, parity), human_score (sft when there is no score column) and
 * score_mode (audit). cols.score is not used. */
typedef struct {
    sj_columns cols;
    const char *const *score_cols;
    size_t n_score_cols;
    size_t max_defects; /* defects kept with their message; 0 = 50 */
} sj_validate_options;

typedef struct {
    char *name;
    int present;
    /* The expected score of a file written by `sjtalign score` (score next
     * to score_mode): any number within the range, not a whole number. */
    int expected;
    size_t n_scored; /* non-empty cells that passed the checks */
} sj_score_check;

typedef struct {
    char *label;
    size_t n_persons;
} sj_group_size;

/* What sj_validate_table found. A person counts in the group of the first
 * row on which a group label is given. */
typedef struct {
    size_t n_rows, n_persons, n_items_seen;
    char *group_column; /* the group column's name */
    int has_group;      /* 0 when that column is absent */
    size_t n_groups;
    sj_group_size *groups; /* sorted by label */
    size_t n_score_columns;
    sj_score_check *score_columns;
    size_t n_split_persons;      /* persons given two or more group labels */
    size_t n_incomplete_persons; /* persons missing one or more items */
    size_t n_missing_cells;      /* person x item cells without a row */
    size_t n_missing_examples;
    char **missing_examples; /* "P0003 lacks S02, S05" for the first few */
    size_t n_defects;        /* every defect found */
    size_t n_messages;
    char **messages; /* the first max_defects in file order, "FILE:LINE:COL: ..." */
} sj_validation;

/* Checks a whole table against an instrument and reports every defect, not
 * just the first: empty person ids, unknown items, empty group labels,
 * score cells that are not numbers, not whole numbers or outside the
 * instrument's range, a person answering an item twice, a person in two
 * groups, and named columns that are missing. Returns NULL (err set) only
 * when the table cannot be checked at all: the person or item column is
 * missing, or there are no data rows. */
sj_validation *sj_validate_table(const sj_table *t, const sj_instrument *ins,
                                 const sj_validate_options *o, sj_error *err);
/* Reads path and checks it as above. */
sj_validation *sj_validate_file(const char *path, const sj_instrument *ins,
                                const sj_validate_options *o, sj_error *err);
void sj_validation_free(sj_validation *v);

/* Checks one score column as a whole-number score: every non-empty cell an
 * integer within the instrument's range. The first defect names file, line,
 * column, the value and the range. */
sj_status sj_check_score_column(const sj_table *t, long col, const sj_instrument *ins,
                                sj_error *err);

#endif
