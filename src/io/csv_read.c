/* Reading CSV tables with libcsv, with line and column for every defect.
 *
 * libcsv reports no positions, so the parser is fed line by line: the line
 * being parsed is then always known, and libcsv's state carries fields
 * across lines and across the pieces the input is read in. A file is read
 * in pieces of 64 KiB, never whole, so memory holds the table and not the
 * text as well. */
#include "sjtalign/io.h"

#include <csv.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ---- cell text -------------------------------------------------------------- */

/* Cell text is packed into blocks of at least 64 KiB instead of one
 * allocation per cell: a table of one-character cells then costs about a
 * pointer and two bytes per cell, not the 40 bytes a malloc'd cell does. */
enum { TEXT_BLOCK = 1 << 16 };

typedef struct text_block {
    struct text_block *next;
    size_t used, cap;
    char data[];
} text_block;

struct sj_cell_text {
    text_block *head; /* block being filled; older blocks follow */
};

static char *text_copy(struct sj_cell_text *text, const char *data, size_t len)
{
    text_block *b = text->head;
    if (!b || b->cap - b->used < len + 1) {
        size_t cap = len + 1 > TEXT_BLOCK ? len + 1 : TEXT_BLOCK;
        text_block *fresh = malloc(sizeof *fresh + cap);
        if (!fresh)
            return NULL;
        fresh->used = 0;
        fresh->cap = cap;
        /* A block made for one long cell goes behind the current one, which
         * keeps its free room for the short cells that follow. */
        if (b && cap > TEXT_BLOCK) {
            fresh->next = b->next;
            b->next = fresh;
        } else {
            fresh->next = b;
            text->head = fresh;
        }
        b = fresh;
    }
    char *out = b->data + b->used;
    memcpy(out, data, len);
    out[len] = '\0';
    b->used += len + 1;
    return out;
}

static void text_free(struct sj_cell_text *text)
{
    if (!text)
        return;
    for (text_block *b = text->head, *next; b; b = next) {
        next = b->next;
        free(b);
    }
    free(text);
}

/* ---- neutralised cells and encodings ------------------------------------------ */

static int formula_start(char c)
{
    return c == '=' || c == '+' || c == '-' || c == '@' || c == '\t' || c == '\r';
}

int sj_csv_is_neutralised(const char *text, size_t len)
{
    size_t quotes = 0;
    while (quotes < len && text[quotes] == '\'')
        quotes++;
    return quotes > 0 && quotes < len && formula_start(text[quotes]);
}

int sj_text_looks_utf16(const char *data, size_t len)
{
    const unsigned char *s = (const unsigned char *)data;
    if (len >= 2 && ((s[0] == 0xFF && s[1] == 0xFE) || (s[0] == 0xFE && s[1] == 0xFF)))
        return 1;
    /* ASCII text in UTF-16 has a zero in the same byte of every pair. */
    size_t pairs = (len < 64 ? len : 64) / 2;
    if (pairs < 2)
        return 0;
    int zero_first = 1, zero_second = 1;
    for (size_t i = 0; i < pairs; i++) {
        zero_first &= s[2 * i] == 0 && s[2 * i + 1] != 0;
        zero_second &= s[2 * i] != 0 && s[2 * i + 1] == 0;
    }
    return zero_first || zero_second;
}

/* ---- the parser's callbacks ---------------------------------------------------- */

typedef struct {
    const char *name;
    sj_error *err;
    int failed;
    long line;             /* physical line being parsed */
    long field_start_line; /* line where the current field began */
    long row_start_line;   /* line where the current row began */
    sj_buf row_cells;      /* char* (into t->text) of the row being assembled */
    size_t row_fields;
    sj_table *t;
    size_t rows_cap;
} reader;

static int keep_spaces(unsigned char c)
{
    (void)c;
    return 0;
}

static void fail_at(reader *r, long line, long column, const char *fmt, const char *detail)
{
    if (r->failed)
        return;
    r->failed = 1;
    sj_error_at(r->err, SJ_ERR_INPUT, r->name, line, column, fmt, detail ? detail : "");
}

static void fail_memory(reader *r)
{
    if (r->failed)
        return;
    r->failed = 1;
    sj_error_set(r->err, SJ_ERR_WORK, "out of memory reading %s", r->name);
}

static void fail_nul(reader *r)
{
    fail_at(r, r->field_start_line, (long)r->row_fields + 1,
            "a NUL byte in a field%s: this is not a text file", NULL);
}

static void on_field(void *data, size_t len, void *ctx)
{
    reader *r = ctx;
    if (r->failed)
        return;
    const char *text = data ? data : "";
    len = data ? len : 0;
    if (memchr(text, '\0', len)) {
        fail_nul(r);
        return;
    }
    if (!sj_utf8_valid(text, len)) {
        fail_at(r, r->field_start_line, (long)r->row_fields + 1,
                "invalid UTF-8 in a field%s: save the file as UTF-8", NULL);
        return;
    }
    /* The writer's neutralising quote is not part of the text. */
    if (sj_csv_is_neutralised(text, len)) {
        text++;
        len--;
    }
    char *copy = text_copy(r->t->text, text, len);
    if (!copy || sj_buf_append(&r->row_cells, &copy, sizeof copy) != 0) {
        fail_memory(r);
        return;
    }
    r->row_fields++;
    r->field_start_line = r->line;
}

typedef struct {
    const char *name;
    size_t column;
} named_column;

static int by_name_then_column(const void *a, const void *b)
{
    const named_column *x = a, *y = b;
    int c = strcmp(x->name, y->name);
    return c ? c : (x->column > y->column) - (x->column < y->column);
}

/* The first column (in header order) whose name an earlier column has, or
 * n when the names are unique: sorting makes this n log n, so a header of a
 * million columns is checked in a second, not in twenty minutes. */
static size_t first_duplicate(char *const *names, size_t n, size_t *earlier)
{
    named_column *sorted = malloc((n ? n : 1) * sizeof *sorted);
    if (!sorted)
        return (size_t)-1;
    for (size_t i = 0; i < n; i++)
        sorted[i] = (named_column){names[i], i};
    qsort(sorted, n, sizeof *sorted, by_name_then_column);
    size_t found = n;
    for (size_t i = 1; i < n; i++)
        if (strcmp(sorted[i].name, sorted[i - 1].name) == 0 && sorted[i].column < found &&
            (i < 2 || strcmp(sorted[i - 2].name, sorted[i].name) != 0)) {
            found = sorted[i].column;
            *earlier = sorted[i - 1].column;
        }
    free(sorted);
    return found;
}

static int check_header(reader *r)
{
    sj_table *t = r->t;
    if (t->n_cols > SJ_CSV_MAX_COLUMNS) {
        char detail[96];
        snprintf(detail, sizeof detail, "%zu columns, more than the %d", t->n_cols,
                 SJ_CSV_MAX_COLUMNS);
        fail_at(r, r->row_start_line, 0, "the header row has %s a table may have", detail);
        return 0;
    }
    for (size_t i = 0; i < t->n_cols; i++)
        if (t->names[i][0] == '\0') {
            fail_at(r, r->row_start_line, (long)i + 1, "empty column name in the header row%s",
                    NULL);
            return 0;
        }
    size_t earlier = 0;
    size_t dup = first_duplicate(t->names, t->n_cols, &earlier);
    if (dup == (size_t)-1)
        return -1;
    if (dup < t->n_cols) {
        char detail[SJ_ERROR_MSG_MAX / 2];
        snprintf(detail, sizeof detail, "'%.400s' in the header row (also column %zu)",
                 t->names[dup], earlier + 1);
        fail_at(r, r->row_start_line, (long)dup + 1, "duplicate column name %s", detail);
    }
    return 0;
}

static int store_header(reader *r)
{
    sj_table *t = r->t;
    char **cells = (char **)r->row_cells.data;
    t->n_cols = r->row_fields;
    r->row_fields = 0;
    r->row_cells.len = 0;
    t->names = calloc(t->n_cols ? t->n_cols : 1, sizeof *t->names);
    if (!t->names)
        return -1;
    /* The names outlive the cell text, which a stream reuses. */
    for (size_t i = 0; i < t->n_cols; i++)
        if (!(t->names[i] = sj_strdup(cells[i])))
            return -1;
    return check_header(r);
}

static int store_row(reader *r)
{
    sj_table *t = r->t;
    if (r->row_fields != t->n_cols) {
        char detail[128];
        snprintf(detail, sizeof detail, "%zu fields, but the header has %zu", r->row_fields,
                 t->n_cols);
        r->row_fields = 0;
        r->row_cells.len = 0;
        fail_at(r, r->row_start_line, 0, "ragged row: %s", detail);
        return 0;
    }
    if (t->n_rows == r->rows_cap) {
        size_t cap = r->rows_cap ? 2 * r->rows_cap : 1024;
        char **cells = realloc(t->cells, cap * t->n_cols * sizeof *cells);
        if (!cells)
            return -1;
        t->cells = cells;
        long *lines = realloc(t->row_line, cap * sizeof *lines);
        if (!lines)
            return -1;
        t->row_line = lines;
        r->rows_cap = cap;
    }
    /* row_cells holds char pointers: copying n_cols of them is intended. */
    // cppcheck-suppress pointerSize
    memcpy(t->cells + t->n_rows * t->n_cols, r->row_cells.data, t->n_cols * sizeof(char *));
    t->row_line[t->n_rows] = r->row_start_line;
    t->n_rows++;
    r->row_fields = 0;
    r->row_cells.len = 0;
    return 0;
}

static void on_row(int terminator, void *ctx)
{
    (void)terminator;
    reader *r = ctx;
    if (r->failed)
        return;
    int rc = r->t->names ? store_row(r) : store_header(r);
    if (rc != 0)
        fail_memory(r);
    r->field_start_line = r->line + 1;
    r->row_start_line = r->line + 1;
}

static void report_parse_error(reader *r, int at_end)
{
    long column = (long)r->row_fields + 1;
    if (at_end)
        fail_at(r, r->field_start_line, column,
                "unbalanced quote: the quoted field that starts here is never closed%s", NULL);
    else if (r->field_start_line != r->line) {
        char detail[96];
        snprintf(detail, sizeof detail, " (the quote is still open on line %ld)", r->line);
        fail_at(r, r->field_start_line, column,
                "unbalanced quote: the quoted field that starts here does not end cleanly%s",
                detail);
    } else {
        fail_at(r, r->line, column,
                "unexpected quote: a quote inside an unquoted field, or text after a closing "
                "quote%s (quote the whole field and double inner quotes)",
                NULL);
    }
}

/* ---- feeding the parser ------------------------------------------------------------ */

/* libcsv grows a field's buffer by a fixed step, so a long field costs
 * time quadratic in its length (every growth copies it). Lines are fed in
 * pieces of at most this size, and before each piece the step is set to the
 * buffer's current size: the buffer then doubles, and a 10 MB field reads in
 * linear time while short files allocate little. */
enum { FEED_PIECE = 1 << 16 };

/* A parse in progress: the reader state and libcsv's parser. */
typedef struct {
    reader r;
    struct csv_parser parser;
    int started;
} parse_state;

static size_t feed_piece(parse_state *ps, const char *data, size_t len)
{
    size_t step = ps->parser.entry_size > FEED_PIECE ? ps->parser.entry_size : FEED_PIECE;
    csv_set_blk_size(&ps->parser, step);
    return csv_parse(&ps->parser, data, len, on_field, on_row, &ps->r);
}

static sj_status parse_begin(parse_state *ps, const char *name, sj_error *err)
{
    memset(ps, 0, sizeof *ps);
    sj_table *t = calloc(1, sizeof *t);
    if (t)
        t->text = calloc(1, sizeof *t->text);
    if (!t || !t->text || !(t->path = sj_strdup(name))) {
        sj_table_free(t);
        return sj_error_set(err, SJ_ERR_WORK, "out of memory reading %s", name);
    }
    ps->r = (reader){
        .name = t->path, .err = err, .line = 1, .field_start_line = 1, .row_start_line = 1, .t = t};
    csv_init(&ps->parser, CSV_STRICT | CSV_STRICT_FINI | CSV_APPEND_NULL);
    csv_set_space_func(&ps->parser, keep_spaces);
    csv_set_blk_size(&ps->parser, FEED_PIECE);
    return SJ_OK;
}

/* Takes off a UTF-8 byte order mark; refuses UTF-16, whose NUL bytes
 * would otherwise be reported as if the file were binary. */
static size_t check_start(parse_state *ps, const char *data, size_t len)
{
    ps->started = 1;
    if (sj_text_looks_utf16(data, len)) {
        fail_at(&ps->r, 1, 0, "the file looks like UTF-16%s; save it as UTF-8", NULL);
        return len;
    }
    return len >= 3 && memcmp(data, "\xEF\xBB\xBF", 3) == 0 ? 3 : 0;
}

/* Input may come in pieces cut anywhere: libcsv keeps its state across
 * them, and lines are counted here. */
static void parse_feed(parse_state *ps, const char *data, size_t len)
{
    reader *r = &ps->r;
    size_t pos = ps->started ? 0 : check_start(ps, data, len);
    while (pos < len && !r->failed) {
        const char *nl = memchr(data + pos, '\n', len - pos);
        size_t chunk = nl ? (size_t)(nl - (data + pos)) + 1 : len - pos;
        if (ps->parser.pstate == 0 && r->row_fields == 0) {
            r->row_start_line = r->line;
            r->field_start_line = r->line;
        }
        for (size_t done = 0; done < chunk && !r->failed;) {
            size_t piece = chunk - done < FEED_PIECE ? chunk - done : FEED_PIECE;
            if (feed_piece(ps, data + pos + done, piece) != piece && !r->failed)
                report_parse_error(r, 0);
            done += piece;
        }
        pos += chunk;
        if (nl)
            r->line++;
    }
}

static void parse_finish(parse_state *ps)
{
    reader *r = &ps->r;
    if (!r->failed && csv_fini(&ps->parser, on_field, on_row, r) != 0 && !r->failed)
        report_parse_error(r, 1);
    if (!r->failed && !r->t->names)
        fail_at(r, 0, 0, "the file is empty%s: expected a header row naming the columns", NULL);
}

static void parse_release(parse_state *ps)
{
    csv_free(&ps->parser);
    sj_buf_free(&ps->r.row_cells);
}

static sj_table *parse_result(parse_state *ps)
{
    sj_table *t = ps->r.t;
    ps->r.t = NULL;
    if (ps->r.failed) {
        sj_table_free(t);
        return NULL;
    }
    if (!t->cells && !(t->cells = calloc(1, sizeof *t->cells))) {
        sj_error_set(ps->r.err, SJ_ERR_WORK, "out of memory reading %s", t->path);
        sj_table_free(t);
        return NULL;
    }
    return t;
}

sj_table *sj_table_parse(const char *name, const char *data, size_t len, sj_error *err)
{
    parse_state ps;
    if (parse_begin(&ps, name, err) != SJ_OK)
        return NULL;
    parse_feed(&ps, data, len);
    parse_finish(&ps);
    parse_release(&ps);
    return parse_result(&ps);
}

/* ---- reading a file or standard input ------------------------------------------- */

struct sj_csv_stream {
    parse_state ps;
    FILE *fp;
    int own_fp;
    int at_end;
    size_t bytes_read;
    size_t next_row; /* next row of the window to hand out */
};

/* Reads one piece of input and parses it. A NUL byte is reported as soon
 * as it is read (standard input may be /dev/zero, which has no line ends),
 * and no more than the table size limit is ever read. */
static void read_piece(sj_csv_stream *s)
{
    reader *r = &s->ps.r;
    char chunk[65536];
    size_t got = fread(chunk, 1, sizeof chunk, s->fp);
    if (got == 0) {
        s->at_end = 1;
        if (ferror(s->fp))
            fail_at(r, 0, 0, "cannot read the file%s", NULL);
        else
            parse_finish(&s->ps);
        return;
    }
    s->bytes_read += got;
    size_t limit = sj_input_limit(SJ_INPUT_TABLE);
    if (s->bytes_read > limit) {
        char detail[96];
        snprintf(detail, sizeof detail, "more than the %zu MiB", limit >> 20);
        fail_at(r, 0, 0, "%s allowed for a table; raise the limit with --max-input-mb", detail);
        return;
    }
    const char *nul = memchr(chunk, '\0', got);
    size_t feed = nul ? (size_t)(nul - chunk) : got;
    /* UTF-16 is full of NUL bytes: the first piece goes whole to the check
     * that names the encoding. */
    if (!s->ps.started && sj_text_looks_utf16(chunk, got))
        feed = got;
    parse_feed(&s->ps, chunk, feed);
    if (nul && !r->failed)
        fail_nul(r);
}

/* Frees the rows already handed out, keeping the header and the cells of a
 * row still being assembled (a quoted field may span pieces). */
static sj_status drop_window(sj_csv_stream *s)
{
    reader *r = &s->ps.r;
    sj_table *t = r->t;
    t->n_rows = 0;
    s->next_row = 0;
    struct sj_cell_text *fresh = calloc(1, sizeof *fresh);
    if (!fresh)
        return SJ_ERR_WORK;
    char **partial = (char **)r->row_cells.data;
    for (size_t i = 0; i < r->row_fields; i++)
        if (!(partial[i] = text_copy(fresh, partial[i], strlen(partial[i])))) {
            text_free(fresh);
            return SJ_ERR_WORK;
        }
    text_free(t->text);
    t->text = fresh;
    return SJ_OK;
}

static sj_status refill(sj_csv_stream *s, int header_only)
{
    sj_table *t = s->ps.r.t;
    while (!s->ps.r.failed && !s->at_end && (header_only ? !t->names : t->n_rows == 0))
        read_piece(s);
    return s->ps.r.failed ? (s->ps.r.err ? s->ps.r.err->status : SJ_ERR_INPUT) : SJ_OK;
}

sj_csv_stream *sj_csv_stream_open(const char *path, sj_error *err)
{
    sj_csv_stream *s = calloc(1, sizeof *s);
    if (!s) {
        sj_error_set(err, SJ_ERR_WORK, "out of memory");
        return NULL;
    }
    int from_stdin = strcmp(path, "-") == 0;
    if (parse_begin(&s->ps, from_stdin ? "<stdin>" : path, err) != SJ_OK) {
        free(s);
        return NULL;
    }
    s->fp = from_stdin ? stdin : sj_input_open(path, SJ_INPUT_TABLE, err);
    s->own_fp = !from_stdin;
    if (!s->fp) {
        s->own_fp = 0;
        sj_csv_stream_close(s);
        return NULL;
    }
    if (refill(s, 1) != SJ_OK) {
        sj_csv_stream_close(s);
        return NULL;
    }
    sj_table *t = s->ps.r.t;
    if (!t->cells && !(t->cells = calloc(1, sizeof(char *)))) {
        sj_error_set(err, SJ_ERR_WORK, "out of memory");
        sj_csv_stream_close(s);
        return NULL;
    }
    return s;
}

const sj_table *sj_csv_stream_table(const sj_csv_stream *s)
{
    return s->ps.r.t;
}

int sj_csv_stream_next(sj_csv_stream *s, size_t *row)
{
    sj_table *t = s->ps.r.t;
    if (s->next_row >= t->n_rows) {
        if (drop_window(s) != SJ_OK) {
            fail_memory(&s->ps.r);
            return -1;
        }
        if (refill(s, 0) != SJ_OK)
            return -1;
        if (t->n_rows == 0)
            return 0;
    }
    *row = s->next_row++;
    return 1;
}

void sj_csv_stream_close(sj_csv_stream *s)
{
    if (!s)
        return;
    if (s->own_fp && s->fp)
        fclose(s->fp);
    parse_release(&s->ps);
    sj_table_free(s->ps.r.t);
    free(s);
}

sj_table *sj_table_read(const char *path, sj_error *err)
{
    sj_csv_stream *s = sj_csv_stream_open(path, err);
    if (!s)
        return NULL;
    while (!s->ps.r.failed && !s->at_end)
        read_piece(s);
    sj_table *t = parse_result(&s->ps);
    sj_csv_stream_close(s);
    return t;
}

void sj_table_free(sj_table *t)
{
    if (!t)
        return;
    if (t->names)
        for (size_t i = 0; i < t->n_cols; i++)
            free(t->names[i]);
    free(t->names);
    free(t->cells);
    free(t->row_line);
    text_free(t->text);
    free(t->path);
    free(t);
}

long sj_table_find_column(const sj_table *t, const char *name)
{
    for (size_t i = 0; i < t->n_cols; i++)
        if (strcmp(t->names[i], name) == 0)
            return (long)i;
    return -1;
}

long sj_table_column(const sj_table *t, const char *name, sj_error *err)
{
    long col = sj_table_find_column(t, name);
    if (col >= 0)
        return col;
    sj_buf have = {0};
    if (sj_buf_quoted_list(&have, t->names, t->n_cols) != 0)
        sj_error_set(err, SJ_ERR_WORK, "out of memory");
    else
        sj_error_at(err, SJ_ERR_INPUT, t->path, 1, 0, "missing column '%s' (the header has %s)",
                    name, have.data ? have.data : "no columns");
    sj_buf_free(&have);
    return -1;
}

const char *sj_table_cell(const sj_table *t, size_t row, size_t col)
{
    return t->cells[row * t->n_cols + col];
}

int sj_parse_number(const char *s, double *out)
{
    char *end = NULL;
    while (*s == ' ' || *s == '\t')
        s++;
    if (*s == '\0')
        return -1;
    /* strtod accepts "nan", "inf" and hex floats; data files should not. */
    for (const char *c = s; *c; c++)
        if (!strchr("0123456789+-.eE \t", *c))
            return -1;
    double v = strtod(s, &end);
    while (*end == ' ' || *end == '\t')
        end++;
    if (end == s || *end != '\0' || !isfinite(v))
        return -1;
    *out = v;
    return 0;
}

sj_status sj_table_number(const sj_table *t, size_t row, size_t col, double *out, sj_error *err)
{
    const char *cell = sj_table_cell(t, row, col);
    if (sj_parse_number(cell, out) == 0)
        return SJ_OK;
    char shown[48];
    snprintf(shown, sizeof shown, "%.40s%s", cell, strlen(cell) > 40 ? "..." : "");
    return sj_error_at(err, SJ_ERR_INPUT, t->path, t->row_line[row], (long)col + 1,
                       "column '%s': expected a finite number, found '%s'", t->names[col], shown);
}

sj_status sj_table_integer(const sj_table *t, size_t row, size_t col, long *out, sj_error *err)
{
    double v;
    if (sj_table_number(t, row, col, &v, err) != SJ_OK)
        return SJ_ERR_INPUT;
    if (v != floor(v) || fabs(v) > 1e15)
        return sj_error_at(err, SJ_ERR_INPUT, t->path, t->row_line[row], (long)col + 1,
                           "column '%s': expected a whole number, found '%s'", t->names[col],
                           sj_table_cell(t, row, col));
    *out = (long)v;
    return SJ_OK;
}

int sj_utf8_valid(const char *text, size_t len)
{
    const unsigned char *s = (const unsigned char *)text;
    size_t i = 0;
    while (i < len) {
        unsigned char c = s[i];
        size_t extra;
        unsigned min;
        unsigned cp;
        if (c < 0x80) {
            i++;
            continue;
        } else if ((c & 0xE0) == 0xC0) {
            extra = 1, min = 0x80, cp = c & 0x1F;
        } else if ((c & 0xF0) == 0xE0) {
            extra = 2, min = 0x800, cp = c & 0x0F;
        } else if ((c & 0xF8) == 0xF0) {
            extra = 3, min = 0x10000, cp = c & 0x07;
        } else {
            return 0;
        }
        if (len - i <= extra)
            return 0;
        for (size_t k = 1; k <= extra; k++) {
            if ((s[i + k] & 0xC0) != 0x80)
                return 0;
            cp = (cp << 6) | (s[i + k] & 0x3F);
        }
        /* Overlong forms, UTF-16 surrogates and code points past U+10FFFF. */
        if (cp < min || (cp >= 0xD800 && cp <= 0xDFFF) || cp > 0x10FFFF)
            return 0;
        i += extra + 1;
    }
    return 1;
}
