/* HTML escaping, number formatting and the page skeleton of the reports. */
#include "test_helpers.h"

#include <math.h>

#include "sjtalign/report.h"

static void test_escape_every_special_character(void **state)
{
    (void)state;
    char *s = sj_html_escaped("a&b<c>\"d'e");
    assert_string_equal(s, "a&amp;b&lt;c&gt;&quot;d&#39;e");
    free(s);
    s = sj_html_escaped("");
    assert_string_equal(s, "");
    free(s);
    /* Already escaped text is escaped again: the page shows what the data holds. */
    s = sj_html_escaped("&lt;");
    assert_string_equal(s, "&amp;lt;");
    free(s);
}

static void test_escape_keeps_utf8_and_appends(void **state)
{
    (void)state;
    sj_buf b = {0};
    assert_int_equal(sj_buf_append(&b, "x:", 2), 0);
    assert_int_equal(sj_html_escape(&b, "Gr\xc3\xbc\xc3\x9f <b>"), 0);
    assert_string_equal(b.data, "x:Gr\xc3\xbc\xc3\x9f &lt;b&gt;");
    sj_buf_free(&b);
}

static void test_element_escapes_text(void **state)
{
    (void)state;
    sj_buf b = {0};
    assert_int_equal(sj_html_element(&b, "td", "id", "<script>alert('x')</script>"), 0);
    assert_string_equal(
        b.data, "<td class=\"id\"><bdi>&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;</bdi></td>");
    sj_buf_free(&b);
}

/* UTF-8 of the bidirectional controls and of their neighbours in Unicode. */
#define LRM "\xe2\x80\x8e"
#define RLM "\xe2\x80\x8f"
#define LRE "\xe2\x80\xaa"
#define RLE "\xe2\x80\xab"
#define PDF "\xe2\x80\xac"
#define LRO "\xe2\x80\xad"
#define RLO "\xe2\x80\xae"
#define LRI "\xe2\x81\xa6"
#define RLI "\xe2\x81\xa7"
#define FSI "\xe2\x81\xa8"
#define PDI "\xe2\x81\xa9"
#define ALM "\xd8\x9c"
#define REPL "\xef\xbf\xbd"

static void test_escape_replaces_bidi_controls(void **state)
{
    (void)state;
    /* Attributes, <title> and SVG text cannot hold <bdi>: every control
     * becomes U+FFFD there, one for one. */
    char *s = sj_html_escaped("a" LRM "b" RLM "c" LRE "d" RLE "e" PDF "f" LRO "g" RLO "h" LRI
                              "i" RLI "j" FSI "k" PDI "l" ALM "m");
    assert_string_equal(s, "a" REPL "b" REPL "c" REPL "d" REPL "e" REPL "f" REPL "g" REPL "h" REPL
                           "i" REPL "j" REPL "k" REPL "l" REPL "m");
    free(s);
    /* Neighbours of the controls are ordinary text and stay: U+2028 line
     * separator, U+2070 superscript zero, U+061B Arabic semicolon, Hebrew
     * alef, Arabic alef; a control at the very start or end is replaced. */
    s = sj_html_escaped("\xe2\x80\xa8\xe2\x81\xb0\xd8\x9b\xd7\x90\xd8\xa7");
    assert_string_equal(s, "\xe2\x80\xa8\xe2\x81\xb0\xd8\x9b\xd7\x90\xd8\xa7");
    free(s);
    s = sj_html_escaped(RLO "<1>" RLO);
    assert_string_equal(s, REPL "&lt;1&gt;" REPL);
    free(s);
}

static void test_text_is_isolated(void **state)
{
    (void)state;
    sj_buf b = {0};
    /* Element content keeps the string as it is, inside an isolate that
     * ends its override before the figures that follow. */
    assert_int_equal(sj_html_text(&b, "S" RLO "1 <x>"), 0);
    assert_int_equal(sj_buf_printf(&b, " (0.41)"), 0);
    assert_string_equal(b.data, "<bdi>S" RLO "1 &lt;x&gt;</bdi> (0.41)");
    sj_buf_free(&b);
    b = (sj_buf){0};
    assert_int_equal(sj_html_text(&b, NULL), 0);
    assert_string_equal(b.data, "<bdi></bdi>");
    sj_buf_free(&b);
}

static void test_format_number(void **state)
{
    (void)state;
    char out[64];
    sj_html_format_number(-1.5, 2, out, sizeof out);
    assert_string_equal(out, "\xe2\x88\x92"
                             "1.50"); /* true minus sign */
    sj_html_format_number(-0.001, 2, out, sizeof out);
    assert_string_equal(out, "0.00"); /* no sign on a rounded zero */
    sj_html_format_number(2.345, 1, out, sizeof out);
    assert_string_equal(out, "2.3");
    sj_html_format_number(NAN, 3, out, sizeof out);
    assert_string_equal(out, "\xe2\x80\x94");
    sj_html_format_number(-INFINITY, 3, out, sizeof out);
    assert_string_equal(out, "\xe2\x88\x92\xe2\x88\x9e");
}

static void test_format_p(void **state)
{
    (void)state;
    char out[32];
    sj_html_format_p(0.0004, out, sizeof out);
    assert_string_equal(out, "&lt; .001");
    sj_html_format_p(0.05, out, sizeof out);
    assert_string_equal(out, ".050");
    sj_html_format_p(1, out, sizeof out);
    assert_string_equal(out, "1.000");
    sj_html_format_p(0.0015, out, sizeof out);
    assert_string_equal(out, ".002");
}

static void test_page_skeleton(void **state)
{
    (void)state;
    sj_buf b = {0};
    assert_int_equal(sj_html_begin(&b, "Audit <x>", "& \"y\"" RLO, "sub <bdi>z</bdi>"), 0);
    assert_int_equal(sj_html_end(&b), 0);
    assert_non_null(strstr(b.data, "<!DOCTYPE html>"));
    assert_non_null(strstr(b.data, "<title>Audit &lt;x&gt; &amp; &quot;y&quot;" REPL "</title>"));
    assert_non_null(
        strstr(b.data, "<h1>Audit &lt;x&gt; <bdi>&amp; &quot;y&quot;" RLO "</bdi></h1>"));
    assert_non_null(strstr(b.data, "<p class=\"sub\">sub <bdi>z</bdi></p>"));
    assert_null(strstr(b.data, "<x>"));
    /* Self-contained: no scripts, no external style sheets, fonts or images. */
    assert_null(strstr(b.data, "<script"));
    assert_null(strstr(b.data, "<link"));
    assert_null(strstr(b.data, "url("));
    assert_null(strstr(b.data, "@import"));
    /* Print rules are there. */
    assert_non_null(strstr(sj_html_css(), "@media print"));
    assert_non_null(strstr(sj_html_css(), "@page"));
    assert_non_null(strstr(b.data, "</html>\n"));
    sj_buf_free(&b);
}

static void test_command_line_quotes(void **state)
{
    (void)state;
    char *argv[] = {"audit", "--out", "my dir", "--focal", "it's"};
    char *s = sj_command_line(5, argv);
    assert_string_equal(s, "sjtalign audit --out 'my dir' --focal 'it'\\''s'");
    free(s);
}

static void test_provenance_checksum(void **state)
{
    (void)state;
    char *dir = test_mkdtemp();
    char *path = sj_path_join(dir, "in.txt");
    test_write_text(path, "abc", 3);
    cJSON *prov = sj_provenance_new("cmd");
    sj_error err;
    sj_error_clear(&err);
    assert_int_equal(sj_provenance_add_file(prov, "scores", path, &err), SJ_OK);
    const cJSON *in = cJSON_GetArrayItem(cJSON_GetObjectItem(prov, "inputs"), 0);
    /* SHA-256("abc") from FIPS 180-2, appendix B.1. */
    assert_string_equal(cJSON_GetObjectItem(in, "sha256")->valuestring,
                        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    assert_int_equal((int)cJSON_GetObjectItem(in, "bytes")->valuedouble, 3);
    assert_string_equal(cJSON_GetObjectItem(prov, "version")->valuestring, SJ_VERSION);
    cJSON_Delete(prov);
    free(path);
    test_rmdir(dir);
}

static void test_provenance_date_reproducible(void **state)
{
    (void)state;
    setenv("SOURCE_DATE_EPOCH", "86400", 1);
    char now[32];
    sj_provenance_now(now, sizeof now);
    unsetenv("SOURCE_DATE_EPOCH");
    assert_string_equal(now, "1970-01-02T00:00:00Z");
}

static void test_colour_key(void **state)
{
    (void)state;
    sj_buf b = {0};
    assert_int_equal(sj_html_colour_key(&b, "fine", NULL, "a < b"), 0);
    assert_string_equal(b.data, "<p class=\"key\">Text colours: <span class=\"ok\">green</span> "
                                "fine; <span class=\"bad\">red</span> a &lt; b.</p>\n");
    sj_buf_free(&b);
    /* No meaning given: no key. */
    assert_int_equal(sj_html_colour_key(&b, NULL, NULL, NULL), 0);
    assert_int_equal(b.len, 0);
    sj_buf_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_escape_every_special_character),
        cmocka_unit_test(test_escape_keeps_utf8_and_appends),
        cmocka_unit_test(test_element_escapes_text),
        cmocka_unit_test(test_escape_replaces_bidi_controls),
        cmocka_unit_test(test_text_is_isolated),
        cmocka_unit_test(test_format_number),
        cmocka_unit_test(test_format_p),
        cmocka_unit_test(test_colour_key),
        cmocka_unit_test(test_page_skeleton),
        cmocka_unit_test(test_command_line_quotes),
        cmocka_unit_test(test_provenance_checksum),
        cmocka_unit_test(test_provenance_date_reproducible),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
