/* Reading CSV tables with libcsv, with line and column for every defect.
 *
 * libcsv reports no positions, so the input is fed one physical line at a
 * time: the line being parsed is then always known, and libcsv's state
 * carries quoted fields across lines. */
#include "sjtalign/io.h"

#include <csv.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    const char *name;
    sj_error *err;
    int failed;
    long line;             /* physical line being parsed */
    long field_start_line; /* line where the current field began */
    long row_start_line;   /* line where the current row began */
    sj_buf row_cells;      /* char* of the row being assembled */
    size_t row_fields;
    sj_table *t;
    size_t cells_cap;
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

static void free_row_cells(reader *r)
{
    char **cells = (char **)r->row_cells.data;
    for (size_t i = 0; i < r->row_fields; i++)
        free(cells[i]);
    r->row_cells.len = 0;
    r->row_fields = 0;
}

static void on_field(void *data, size_t len, void *ctx)
{
    reader *r = ctx;
    if (r->failed)
        return;
    long column = (long)r->row_fields + 1;
    if (data && memchr(data, '\0', len)) {
        fail_at(r, r->field_start_line, column, "a NUL byte in a field%s: this is not a text file",
                NULL);
        return;
    }
    if (data && !sj_utf8_valid(data, len)) {
        fail_at(r, r->field_start_line, column,
                "invalid UTF-8 in a field%s: save the file as UTF-8", NULL);
        return;
    }
    char *copy = sj_strndup(data ? data : "", data ? len : 0);
    if (!copy || sj_buf_append(&r->row_cells, &copy, sizeof copy) != 0) {
        free(copy);
        r->failed = 1;
        sj_error_set(r->err, SJ_ERR_WORK, "out of memory reading %s", r->name);
        return;
    }
    r->row_fields++;
    r->field_start_line = r->line;
}

static int store_header(reader *r)
{
    sj_table *t = r->t;
    char **cells = (char **)r->row_cells.data;
    t->n_cols = r->row_fields;
    t->names = calloc(t->n_cols ? t->n_cols : 1, sizeof *t->names);
    if (!t->names)
        return -1;
    /* The table owns the names from here on, valid or not. */
    memcpy(t->names, cells, t->n_cols * sizeof *cells);
    r->row_fields = 0;
    r->row_cells.len = 0;
    for (size_t i = 0; i < t->n_cols; i++) {
        if (t->names[i][0] == '\0') {
            fail_at(r, r->row_start_line, (long)i + 1, "empty column name in the header row%s",
                    NULL);
            return 0;
        }
        for (size_t j = 0; j < i; j++)
            if (strcmp(t->names[i], t->names[j]) == 0) {
                fail_at(r, r->row_start_line, (long)i + 1,
                        "duplicate column name '%s' in the header row", t->names[i]);
                return 0;
            }
    }
    return 0;
}

static int store_row(reader *r)
{
    sj_table *t = r->t;
    if (r->row_fields != t->n_cols) {
        char detail[128];
        snprintf(detail, sizeof detail, "%zu fields, but the header has %zu", r->row_fields,
                 t->n_cols);
        long line = r->row_start_line;
        free_row_cells(r);
        fail_at(r, line, 0, "ragged row: %s", detail);
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
    if (rc != 0 && !r->failed) {
        free_row_cells(r);
        r->failed = 1;
        sj_error_set(r->err, SJ_ERR_WORK, "out of memory reading %s", r->name);
    }
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

/* libcsv grows a field's buffer by a fixed step, so a long field costs
 * time quadratic in its length (every growth copies it). Lines are fed in
 * pieces of at most this size, and before each piece the step is set to the
 * buffer's current size: the buffer then doubles, and a 10 MB field reads in
 * linear time while short files allocate little. */
enum { FEED_PIECE = 1 << 16 };

static void table_init_parser(struct csv_parser *p)
{
    csv_init(p, CSV_STRICT | CSV_STRICT_FINI | CSV_APPEND_NULL);
    csv_set_space_func(p, keep_spaces);
    csv_set_blk_size(p, FEED_PIECE);
}

/* A parse in progress: the reader state and libcsv's parser. Input may come
 * in pieces (the stream) as long as each piece ends at a line end, except
 * the last. */
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
    if (!t || !(t->path = sj_strdup(name))) {
        free(t);
        return sj_error_set(err, SJ_ERR_WORK, "out of memory reading %s", name);
    }
    ps->r = (reader){
        .name = t->path, .err = err, .line = 1, .field_start_line = 1, .row_start_line = 1, .t = t};
    table_init_parser(&ps->parser);
    return SJ_OK;
}

static void parse_feed(parse_state *ps, const char *data, size_t len)
{
    reader *r = &ps->r;
    if (!ps->started) {
        ps->started = 1;
        if (len >= 3 && memcmp(data, "\xEF\xBB\xBF", 3) == 0) {
            data += 3;
            len -= 3;
        }
    }
    size_t pos = 0;
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
    free_row_cells(&ps->r);
    sj_buf_free(&ps->r.row_cells);
}

sj_table *sj_table_parse(const char *name, const char *data, size_t len, sj_error *err)
{
    parse_state ps;
    if (parse_begin(&ps, name, err) != SJ_OK)
        return NULL;
    parse_feed(&ps, data, len);
    parse_finish(&ps);
    parse_release(&ps);
    sj_table *t = ps.r.t;
    if (ps.r.failed) {
        sj_table_free(t);
        return NULL;
    }
    if (!t->cells)
        t->cells = calloc(1, sizeof *t->cells);
    return t;
}

/* ---- streaming ------------------------------------------------------------ */

struct sj_csv_stream {
    parse_state ps;
    FILE *fp;
    int own_fp;
    int at_end;
    size_t next_row; /* next row of the window to hand out */
    sj_buf pending;  /* bytes read after the last complete line */
};

/* Frees the rows already handed out, keeping the header. */
static void drop_window(sj_csv_stream *s)
{
    sj_table *t = s->ps.r.t;
    for (size_t i = 0; i < t->n_rows * t->n_cols; i++)
        free(t->cells[i]);
    t->n_rows = 0;
    s->next_row = 0;
}

/* Reads and parses input until a data row is ready or the input ends. */
static sj_status refill(sj_csv_stream *s, int header_only)
{
    sj_table *t = s->ps.r.t;
    char chunk[65536];
    while (!s->ps.r.failed && !s->at_end && (header_only ? !t->names : t->n_rows == 0)) {
        size_t got = fread(chunk, 1, sizeof chunk, s->fp);
        if (got == 0) {
            if (ferror(s->fp))
                return sj_error_set(s->ps.r.err, SJ_ERR_INPUT, "cannot read %s", t->path);
            s->at_end = 1;
            parse_feed(&s->ps, s->pending.data ? s->pending.data : "", s->pending.len);
            s->pending.len = 0;
            parse_finish(&s->ps);
            break;
        }
        if (sj_buf_append(&s->pending, chunk, got) != 0)
            return sj_error_set(s->ps.r.err, SJ_ERR_WORK, "out of memory reading %s", t->path);
        /* Feed whole lines only, so every line number stays exact. */
        char *last_nl = NULL;
        for (size_t i = s->pending.len; i > 0; i--)
            if (s->pending.data[i - 1] == '\n') {
                last_nl = s->pending.data + i - 1;
                break;
            }
        if (!last_nl)
            continue;
        size_t whole = (size_t)(last_nl - s->pending.data) + 1;
        parse_feed(&s->ps, s->pending.data, whole);
        memmove(s->pending.data, s->pending.data + whole, s->pending.len - whole);
        s->pending.len -= whole;
    }
    return s->ps.r.failed ? SJ_ERR_INPUT : SJ_OK;
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
    s->fp = from_stdin ? stdin : fopen(path, "rb");
    s->own_fp = !from_stdin;
    if (!s->fp) {
        sj_error_set(err, SJ_ERR_INPUT, "cannot open %s: %s", path, strerror(errno));
        s->own_fp = 0;
        sj_csv_stream_close(s);
        return NULL;
    }
    if (refill(s, 1) != SJ_OK) {
        sj_csv_stream_close(s);
        return NULL;
    }
    if (!s->ps.r.t->cells && !(s->ps.r.t->cells = calloc(1, sizeof(char *)))) {
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
        drop_window(s);
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
    sj_buf_free(&s->pending);
    free(s);
}

sj_table *sj_table_read(const char *path, sj_error *err)
{
    char *data = NULL;
    size_t len = 0;
    if (strcmp(path, "-") == 0) {
        sj_buf b = {0};
        char chunk[65536];
        size_t got;
        while ((got = fread(chunk, 1, sizeof chunk, stdin)) > 0)
            if (sj_buf_append(&b, chunk, got) != 0) {
                sj_buf_free(&b);
                sj_error_set(err, SJ_ERR_WORK, "out of memory reading standard input");
                return NULL;
            }
        data = b.data;
        len = b.len;
        path = "<stdin>";
    } else if (sj_read_file(path, &data, &len, err) != SJ_OK) {
        return NULL;
    }
    sj_table *t = sj_table_parse(path, data ? data : "", len, err);
    free(data);
    return t;
}

void sj_table_free(sj_table *t)
{
    if (!t)
        return;
    if (t->names)
        for (size_t i = 0; i < t->n_cols; i++)
            free(t->names[i]);
    if (t->cells)
        for (size_t i = 0; i < t->n_rows * t->n_cols; i++)
            free(t->cells[i]);
    free(t->names);
    free(t->cells);
    free(t->row_line);
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
    for (size_t i = 0; i < t->n_cols; i++)
        sj_buf_printf(&have, "%s'%s'", i ? ", " : "", t->names[i]);
    sj_error_at(err, SJ_ERR_INPUT, t->path, 1, 0, "missing column '%s' (the header has %s)", name,
                have.data ? have.data : "no columns");
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
