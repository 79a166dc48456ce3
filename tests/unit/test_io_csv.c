/* The CSV reader's accepted forms and every defect it must name by file,
 * line and column; the writer's quoting and formula neutralisation. */
#include "test_helpers.h"

#include "sjtalign/io.h"

static sj_table *parse(const char *text, sj_error *err)
{
    sj_error_clear(err);
    return sj_table_parse("data.csv", text, strlen(text), err);
}

static void expect_error(const char *text, const char *expected_prefix, const char *expected_words)
{
    sj_error err;
    sj_table *t = parse(text, &err);
    assert_null(t);
    assert_int_equal(err.status, SJ_ERR_INPUT);
    if (strncmp(err.msg, expected_prefix, strlen(expected_prefix)) != 0)
        fail_msg("expected message starting '%s', got '%s'", expected_prefix, err.msg);
    if (!strstr(err.msg, expected_words))
        fail_msg("expected '%s' in '%s'", expected_words, err.msg);
}

static void reads_header_and_rows(void **state)
{
    (void)state;
    sj_error err;
    sj_table *t = parse("person_id,item_id,response\np1,i1,hello\np2,i1,world\n", &err);
    assert_non_null(t);
    assert_int_equal(t->n_cols, 3);
    assert_int_equal(t->n_rows, 2);
    assert_string_equal(t->names[2], "response");
    assert_string_equal(sj_table_cell(t, 1, 2), "world");
    assert_int_equal(t->row_line[0], 2);
    assert_int_equal(t->row_line[1], 3);
    assert_int_equal(sj_table_column(t, "item_id", &err), 1);
    sj_table_free(t);
}

static void accepts_bom_crlf_and_quoted_newlines(void **state)
{
    (void)state;
    sj_error err;
    const char *text = "\xEF\xBB\xBFid,text\r\n"
                       "1,\"I would, first, talk\r\nto \"\"them\"\"\"\r\n"
                       "2,  spaced  \r\n"
                       "3,last";
    sj_table *t = parse(text, &err);
    assert_non_null(t);
    assert_string_equal(t->names[0], "id"); /* BOM removed */
    assert_int_equal(t->n_rows, 3);
    assert_string_equal(sj_table_cell(t, 0, 1), "I would, first, talk\r\nto \"them\"");
    assert_string_equal(sj_table_cell(t, 1, 1), "  spaced  "); /* spaces kept */
    assert_string_equal(sj_table_cell(t, 2, 1), "last");
    /* The quoted newline spans lines 2-3, so row 2 starts on line 4. */
    assert_int_equal(t->row_line[0], 2);
    assert_int_equal(t->row_line[1], 4);
    assert_int_equal(t->row_line[2], 5);
    sj_table_free(t);
}

static void header_only_is_an_empty_table(void **state)
{
    (void)state;
    sj_error err;
    sj_table *t = parse("a,b\n", &err);
    assert_non_null(t);
    assert_int_equal(t->n_rows, 0);
    assert_int_equal(t->n_cols, 2);
    sj_table_free(t);
}

static void rejects_unbalanced_quote_at_its_line(void **state)
{
    (void)state;
    /* The quote opened on line 3 is never closed. */
    expect_error("a,b\n1,x\n2,\"never closed\n3,z\n", "data.csv:3:2: ", "unbalanced quote");
    /* A quote opened on line 3 swallows a later line and meets text after
     * its "closing" quote on line 4: still reported at line 3. */
    expect_error("a,b\n1,x\n2,\"open\n3,\"z\"\n", "data.csv:3:2: ", "unbalanced quote");
    /* A stray quote inside an unquoted field. */
    expect_error("a,b\n1,x\n2,ab\"c\n", "data.csv:3:2: ", "unexpected quote");
}

static void rejects_ragged_rows(void **state)
{
    (void)state;
    expect_error("a,b,c\n1,2,3\n4,5\n", "data.csv:3: ", "2 fields, but the header has 3");
    expect_error("a,b\n1,2\n3,4,5\n", "data.csv:3: ", "3 fields, but the header has 2");
}

static void rejects_invalid_utf8_and_nul(void **state)
{
    (void)state;
    expect_error("a,b\n1,ok\n2,caf\xE9\n", "data.csv:3:2: ", "invalid UTF-8");
    expect_error("a,b\n1,\xC0\xAF\n", "data.csv:2:2: ", "invalid UTF-8");     /* overlong '/' */
    expect_error("a,b\n1,\xED\xA0\x80\n", "data.csv:2:2: ", "invalid UTF-8"); /* surrogate */
    sj_error err;
    const char with_nul[] = "a,b\nx\0y,2\n";
    sj_table *t = sj_table_parse("data.csv", with_nul, sizeof with_nul - 1, &err);
    assert_null(t);
    assert_non_null(strstr(err.msg, "data.csv:2:1: a NUL byte"));
    /* Valid multi-byte text passes. */
    t = parse("a,b\n1,caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80\n", &err);
    assert_non_null(t);
    sj_table_free(t);
}

static void rejects_bad_headers_and_empty_files(void **state)
{
    (void)state;
    expect_error("", "data.csv: ", "the file is empty");
    expect_error("a,,c\n1,2,3\n", "data.csv:1:2: ", "empty column name");
    expect_error("a,b,a\n1,2,3\n", "data.csv:1:3: ", "duplicate column name 'a'");
}

static void missing_column_lists_the_header(void **state)
{
    (void)state;
    sj_error err;
    sj_table *t = parse("person_id,item\np,i\n", &err);
    assert_non_null(t);
    assert_int_equal(sj_table_column(t, "score", &err), -1);
    assert_string_equal(err.msg,
                        "data.csv:1: missing column 'score' (the header has 'person_id', 'item')");
    sj_table_free(t);
}

static void numbers_must_be_finite(void **state)
{
    (void)state;
    sj_error err;
    sj_table *t =
        parse("id,score\n1,2\n2,abc\n3,NaN\n4,inf\n5,1e999\n6, 3.5 \n7,2.0\n8,0x10\n", &err);
    assert_non_null(t);
    double v;
    long n;
    assert_int_equal(sj_table_number(t, 0, 1, &v, &err), SJ_OK);
    assert_true(v == 2.0);
    assert_int_equal(sj_table_number(t, 1, 1, &v, &err), SJ_ERR_INPUT);
    assert_string_equal(err.msg,
                        "data.csv:3:2: column 'score': expected a finite number, found 'abc'");
    assert_int_equal(sj_table_number(t, 2, 1, &v, &err), SJ_ERR_INPUT);
    assert_non_null(strstr(err.msg, "data.csv:4:2: "));
    assert_int_equal(sj_table_number(t, 3, 1, &v, &err), SJ_ERR_INPUT);
    assert_non_null(strstr(err.msg, "data.csv:5:2: "));
    assert_int_equal(sj_table_number(t, 4, 1, &v, &err), SJ_ERR_INPUT);
    assert_non_null(strstr(err.msg, "data.csv:6:2: "));
    assert_int_equal(sj_table_number(t, 5, 1, &v, &err), SJ_OK);
    assert_true(v == 3.5);
    assert_int_equal(sj_table_integer(t, 5, 1, &n, &err), SJ_ERR_INPUT);
    assert_string_equal(err.msg,
                        "data.csv:7:2: column 'score': expected a whole number, found ' 3.5 '");
    assert_int_equal(sj_table_integer(t, 6, 1, &n, &err), SJ_OK);
    assert_int_equal(n, 2);
    assert_int_equal(sj_table_number(t, 7, 1, &v, &err), SJ_ERR_INPUT);
    sj_table_free(t);
}

static void neutralises_formulas_but_not_numbers(void **state)
{
    (void)state;
    const char *cases[][2] = {
        {"=SUM(A1:A9)", "'=SUM(A1:A9)"},
        {"+1+1", "'+1+1"},
        {"-2", "-2"},
        {"-2.5e3", "-2.5e3"},
        {"+7", "+7"},
        {"@cmd", "'@cmd"},
        {"-x", "'-x"},
        {"plain", "plain"},
        {"", ""},
        {"\tTAB", "'\tTAB"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *out = sj_csv_neutralise(cases[i][0]);
        assert_string_equal(out, cases[i][1]);
        free(out);
    }
}

static void writer_round_trips_through_reader(void **state)
{
    (void)state;
    char *dir = test_mkdtemp();
    char *path = sj_path_join(dir, "out.csv");
    const char *header[] = {"id", "text", "value"};
    sj_csv_writer w;
    sj_error err;
    sj_error_clear(&err);
    assert_int_equal(sj_csv_open(&w, path, header, 3, &err), SJ_OK);
    sj_csv_cell(&w, "a,b");
    sj_csv_cell(&w, "say \"hi\"\nthen leave");
    sj_csv_cell_number(&w, 0.1);
    sj_csv_cell(&w, "=HYPERLINK(\"x\")");
    sj_csv_cell(&w, " padded ");
    sj_csv_cell_number(&w, -1.0 / 3.0);
    assert_int_equal(test_count_entries(dir), 1);
    assert_int_equal(sj_csv_close(&w, &err), SJ_OK);
    sj_table *t = sj_table_read(path, &err);
    assert_non_null(t);
    assert_int_equal(t->n_rows, 2);
    assert_string_equal(sj_table_cell(t, 0, 0), "a,b");
    assert_string_equal(sj_table_cell(t, 0, 1), "say \"hi\"\nthen leave");
    assert_string_equal(sj_table_cell(t, 0, 2), "0.1");
    assert_string_equal(sj_table_cell(t, 1, 0), "=HYPERLINK(\"x\")"); /* as written */
    assert_string_equal(sj_table_cell(t, 1, 1), " padded ");
    double v;
    assert_int_equal(sj_table_number(t, 1, 2, &v, &err), SJ_OK);
    assert_true(v == -1.0 / 3.0); /* shortest exact round trip */
    sj_table_free(t);
    free(path);
    test_rmdir(dir);
}

static void number_format_is_shortest_exact(void **state)
{
    (void)state;
    char buf[40];
    sj_format_number(0.1, buf, sizeof buf);
    assert_string_equal(buf, "0.1");
    sj_format_number(1.0 / 3.0, buf, sizeof buf);
    assert_string_equal(buf, "0.3333333333333333");
    sj_format_number(0.0 / 0.0, buf, sizeof buf);
    assert_string_equal(buf, "NA");
    sj_format_number(2.0, buf, sizeof buf);
    assert_string_equal(buf, "2");
}

/* Streaming gives the same rows and line numbers as reading the whole file,
 * across read-buffer boundaries and quoted line breaks. */
static void stream_matches_whole_file_read(void **state)
{
    (void)state;
    char *dir = test_mkdtemp();
    char *path = sj_path_join(dir, "big.csv");
    FILE *fp = fopen(path, "wb");
    assert_non_null(fp);
    fputs("\xEF\xBB\xBFid,text\r\n", fp);
    for (int i = 0; i < 5000; i++) {
        if (i % 7 == 0)
            fprintf(fp, "%d,\"line one of %d\nline two, with a comma\"\r\n", i, i);
        else
            fprintf(fp, "%d,plain text number %d padded to cross buffer edges ......\n", i, i);
    }
    fclose(fp);
    sj_error err;
    sj_error_clear(&err);
    sj_table *whole = sj_table_read(path, &err);
    assert_non_null(whole);
    sj_csv_stream *s = sj_csv_stream_open(path, &err);
    assert_non_null(s);
    const sj_table *t = sj_csv_stream_table(s);
    assert_int_equal(t->n_cols, 2);
    assert_string_equal(t->names[0], "id");
    size_t row, n = 0;
    int rc;
    while ((rc = sj_csv_stream_next(s, &row)) == 1) {
        assert_true(n < whole->n_rows);
        assert_string_equal(sj_table_cell(t, row, 0), sj_table_cell(whole, n, 0));
        assert_string_equal(sj_table_cell(t, row, 1), sj_table_cell(whole, n, 1));
        assert_int_equal(t->row_line[row], whole->row_line[n]);
        n++;
    }
    assert_int_equal(rc, 0);
    assert_int_equal(n, 5000);
    /* Row 5000 starts after 5000/7 + 1 = 715 quoted line breaks. */
    assert_int_equal(whole->row_line[4999], 2 + 4999 + 715);
    sj_csv_stream_close(s);
    sj_table_free(whole);
    free(path);
    test_rmdir(dir);
}

static void stream_reports_defects_with_position(void **state)
{
    (void)state;
    char *dir = test_mkdtemp();
    char *path = sj_path_join(dir, "bad.csv");
    const char *text = "a,b\n1,2\n3,4\n5\n";
    test_write_text(path, text, strlen(text));
    sj_error err;
    sj_error_clear(&err);
    /* A small file is read whole on open, so its defect surfaces there. */
    sj_csv_stream *s = sj_csv_stream_open(path, &err);
    assert_null(s);
    assert_non_null(strstr(err.msg, "bad.csv:4: ragged row: 1 fields, but the header has 2"));
    /* A defect past the first read window surfaces from next(), after the
     * valid rows before it were handed out. */
    char *big = sj_path_join(dir, "late.csv");
    FILE *fp = fopen(big, "wb");
    assert_non_null(fp);
    fputs("a,b\n", fp);
    for (int i = 0; i < 20000; i++)
        fprintf(fp, "%d,row\n", i);
    fputs("x,\"unclosed\n", fp);
    fclose(fp);
    sj_error_clear(&err);
    s = sj_csv_stream_open(big, &err);
    assert_non_null(s);
    size_t row;
    int rc, rows = 0;
    while ((rc = sj_csv_stream_next(s, &row)) == 1)
        rows++;
    assert_int_equal(rc, -1);
    assert_int_equal(rows, 20000);
    assert_non_null(strstr(err.msg, "late.csv:20002:2: unbalanced quote"));
    sj_csv_stream_close(s);
    free(big);
    free(path);
    test_rmdir(dir);
}

/* Every text reads back as written, for every shape the writer quotes: the
 * file holds the hand-listed cells, and the reader removes exactly the one
 * quote the writer added. */
static void neutralised_cells_round_trip(void **state)
{
    (void)state;
    static const char *const cases[][2] = {
        {"=x", "'=x"},
        {"+x", "'+x"},
        {"-x", "'-x"},
        {"@P0001", "'@P0001"},
        {"\tTAB", "'\tTAB"},
        {"\rCR", "\"'\rCR\""},
        {"- bullet answer", "'- bullet answer"},
        {"=", "'="},
        {"'=x", "''=x"},
        {"''@y", "'''@y"},
        {"'-2", "''-2"},
        {"'=", "''="},
        {"-2", "-2"},
        {"+7", "+7"},
        {"'plain", "'plain"},
        {"'", "'"},
        {"''", "''"},
        {"it's", "it's"},
        {"x'=y", "x'=y"},
    };
    size_t n = sizeof cases / sizeof cases[0];
    char *dir = test_mkdtemp();
    char *path = sj_path_join(dir, "cells.csv");
    const char *header[] = {"text"};
    sj_csv_writer w;
    sj_error err;
    sj_error_clear(&err);
    assert_int_equal(sj_csv_open(&w, path, header, 1, &err), SJ_OK);
    sj_buf expected = {0};
    sj_buf_printf(&expected, "text\n");
    for (size_t i = 0; i < n; i++) {
        sj_csv_cell(&w, cases[i][0]);
        sj_buf_printf(&expected, "%s\n", cases[i][1]);
    }
    assert_int_equal(sj_csv_close(&w, &err), SJ_OK);
    char *disk;
    size_t len;
    assert_int_equal(sj_read_file(path, &disk, &len, &err), SJ_OK);
    assert_int_equal(len, expected.len);
    assert_memory_equal(disk, expected.data, len);
    sj_table *t = sj_table_read(path, &err);
    assert_non_null(t);
    assert_int_equal(t->n_rows, n);
    for (size_t i = 0; i < n; i++)
        assert_string_equal(sj_table_cell(t, i, 0), cases[i][0]);
    sj_table_free(t);
    free(disk);
    sj_buf_free(&expected);
    free(path);
    test_rmdir(dir);
}

/* The reader removes one quote from cells of the neutralised shape only,
 * header names included. */
static void reader_removes_one_neutralising_quote(void **state)
{
    (void)state;
    sj_error err;
    sj_table *t = parse("'@id,'x\n'=a,'b\n''=c,''\n'-,'\n", &err);
    assert_non_null(t);
    assert_string_equal(t->names[0], "@id");
    assert_string_equal(t->names[1], "'x");
    assert_string_equal(sj_table_cell(t, 0, 0), "=a");
    assert_string_equal(sj_table_cell(t, 0, 1), "'b");
    assert_string_equal(sj_table_cell(t, 1, 0), "'=c");
    assert_string_equal(sj_table_cell(t, 1, 1), "''");
    assert_string_equal(sj_table_cell(t, 2, 0), "-");
    assert_string_equal(sj_table_cell(t, 2, 1), "'");
    sj_table_free(t);
}

/* A header of n columns "c0,c1,..." whose last is named last_name, then
 * one row of n ones. */
static char *wide_csv(size_t n, const char *last_name)
{
    sj_buf b = {0};
    for (size_t i = 0; i + 1 < n; i++)
        sj_buf_printf(&b, "c%zu,", i);
    sj_buf_printf(&b, "%s\n", last_name);
    for (size_t i = 0; i < n; i++)
        sj_buf_printf(&b, "1%c", i + 1 < n ? ',' : '\n');
    return b.data;
}

static void header_columns_are_limited_and_checked_fast(void **state)
{
    (void)state;
    sj_error err;
    char *text = wide_csv(10000, "last");
    sj_table *t = parse(text, &err);
    assert_non_null(t);
    assert_int_equal(t->n_cols, 10000);
    sj_table_free(t);
    free(text);
    text = wide_csv(10001, "last");
    assert_null(parse(text, &err));
    assert_string_equal(err.msg, "data.csv:1: the header row has 10001 columns, more than the "
                                 "10000 a table may have");
    free(text);
    /* A duplicate at the end of a full header is found (sorting, not
     * comparing every pair). */
    text = wide_csv(10000, "c17");
    assert_null(parse(text, &err));
    assert_string_equal(err.msg, "data.csv:1:10000: duplicate column name 'c17' in the header "
                                 "row (also column 18)");
    free(text);
    /* The first duplicate in header order is the one named. */
    expect_error("b,a,a,b,a\n1,2,3,4,5\n",
                 "data.csv:1:3: ", "duplicate column name 'a' in the header row (also column 2)");
}

static void utf16_is_named(void **state)
{
    (void)state;
    static const char le_bom[] = "\xFF\xFEi\0d\0\n\0";
    static const char be_bom[] = "\xFE\xFF\0i\0d\0\n";
    static const char le_plain[] = "i\0d\0,\0x\0\n\0";
    static const char *const texts[] = {le_bom, be_bom, le_plain};
    static const size_t lens[] = {sizeof le_bom - 1, sizeof be_bom - 1, sizeof le_plain - 1};
    for (size_t i = 0; i < 3; i++) {
        sj_error err;
        sj_error_clear(&err);
        assert_null(sj_table_parse("data.csv", texts[i], lens[i], &err));
        assert_int_equal(err.status, SJ_ERR_INPUT);
        assert_string_equal(err.msg, "data.csv:1: the file looks like UTF-16; save it as UTF-8");
    }
}

/* Standard input is read in pieces: /dev/zero gives the NUL-byte error at
 * once, and input past the table limit is refused. */
static void stdin_is_bounded(void **state)
{
    (void)state;
    sj_error err;
    sj_error_clear(&err);
    assert_non_null(freopen("/dev/zero", "rb", stdin));
    assert_null(sj_table_read("-", &err));
    assert_string_equal(err.msg, "<stdin>:1:1: a NUL byte in a field: this is not a text file");
    char *dir = test_mkdtemp();
    char *path = sj_path_join(dir, "two_mib.csv");
    FILE *fp = fopen(path, "wb");
    assert_non_null(fp);
    fputs("id,text\n", fp);
    for (int i = 0; i < 65536; i++)
        fprintf(fp, "%05d,twenty-six bytes......\n", i % 100000);
    fclose(fp);
    assert_non_null(freopen(path, "rb", stdin));
    sj_input_limit_set((size_t)1 << 20);
    sj_error_clear(&err);
    assert_null(sj_table_read("-", &err));
    sj_input_limit_set(0);
    assert_int_equal(err.status, SJ_ERR_INPUT);
    assert_string_equal(err.msg, "<stdin>: more than the 1 MiB allowed for a table; raise the "
                                 "limit with --max-input-mb");
    /* A NUL after valid rows is placed at its row and column. */
    test_write_text(path, "a,b\n1,2\n3,x\0y\n", 14);
    assert_non_null(freopen(path, "rb", stdin));
    sj_error_clear(&err);
    assert_null(sj_table_read("-", &err));
    assert_string_equal(err.msg, "<stdin>:3:2: a NUL byte in a field: this is not a text file");
    /* A file must be a regular file. */
    assert_null(sj_table_read("/dev/zero", &err));
    assert_string_equal(err.msg, "/dev/zero is a character device; expected a regular file");
    free(path);
    test_rmdir(dir);
}

/* A quoted field longer than a read piece, holding line breaks, streams
 * across window boundaries with its text and the following lines intact. */
static void stream_keeps_a_long_field_across_pieces(void **state)
{
    (void)state;
    char *dir = test_mkdtemp();
    char *path = sj_path_join(dir, "long.csv");
    FILE *fp = fopen(path, "wb");
    assert_non_null(fp);
    fputs("id,text\n", fp);
    for (int i = 0; i < 3000; i++)
        fprintf(fp, "%d,short row padding the first read piece\n", i);
    fputs("long,\"", fp);
    for (int i = 0; i < 20000; i++)
        fputs("line\n", fp); /* 100000 bytes, 20000 line breaks */
    fputs("\"\nafter,'=x\n", fp);
    fclose(fp);
    sj_error err;
    sj_error_clear(&err);
    sj_csv_stream *s = sj_csv_stream_open(path, &err);
    assert_non_null(s);
    const sj_table *t = sj_csv_stream_table(s);
    size_t row, n = 0;
    int rc;
    while ((rc = sj_csv_stream_next(s, &row)) == 1) {
        if (n == 3000) {
            const char *text = sj_table_cell(t, row, 1);
            assert_int_equal(strlen(text), 100000);
            assert_memory_equal(text + 99995, "line\n", 5);
            assert_int_equal(t->row_line[row], 3002);
        }
        if (n == 3001) {
            assert_string_equal(sj_table_cell(t, row, 0), "after");
            assert_string_equal(sj_table_cell(t, row, 1), "=x");
            /* 20000 line breaks inside the field; the closing quote has its own line */
            assert_int_equal(t->row_line[row], 3002 + 20000 + 1);
        }
        n++;
    }
    assert_int_equal(rc, 0);
    assert_int_equal(n, 3002);
    sj_csv_stream_close(s);
    free(path);
    test_rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(reads_header_and_rows),
        cmocka_unit_test(accepts_bom_crlf_and_quoted_newlines),
        cmocka_unit_test(header_only_is_an_empty_table),
        cmocka_unit_test(rejects_unbalanced_quote_at_its_line),
        cmocka_unit_test(rejects_ragged_rows),
        cmocka_unit_test(rejects_invalid_utf8_and_nul),
        cmocka_unit_test(rejects_bad_headers_and_empty_files),
        cmocka_unit_test(missing_column_lists_the_header),
        cmocka_unit_test(numbers_must_be_finite),
        cmocka_unit_test(neutralises_formulas_but_not_numbers),
        cmocka_unit_test(writer_round_trips_through_reader),
        cmocka_unit_test(number_format_is_shortest_exact),
        cmocka_unit_test(stream_matches_whole_file_read),
        cmocka_unit_test(stream_reports_defects_with_position),
        cmocka_unit_test(neutralised_cells_round_trip),
        cmocka_unit_test(reader_removes_one_neutralising_quote),
        cmocka_unit_test(header_columns_are_limited_and_checked_fast),
        cmocka_unit_test(utf16_is_named),
        cmocka_unit_test(stdin_is_bounded),
        cmocka_unit_test(stream_keeps_a_long_field_across_pieces),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
