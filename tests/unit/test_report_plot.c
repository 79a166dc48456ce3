/* The SVG plotting module: nice ticks, coordinate mapping, escaping of
 * labels, and the elements each mark writes. */
#include "test_helpers.h"

#include <math.h>

#include "sjtalign/report.h"

static size_t count(const char *hay, const char *needle)
{
    size_t n = 0;
    for (const char *p = strstr(hay, needle); p; p = strstr(p + 1, needle))
        n++;
    return n;
}

static void test_nice_ticks_hand_worked(void **state)
{
    (void)state;
    double t[32], step;
    /* (1 - 0)/5 = 0.2: a step of 2 x 0.1. */
    size_t n = sj_plot_nice_ticks(0, 1, 6, t, 32, &step);
    assert_int_equal(n, 6);
    assert_near(step, 0.2, 1e-12);
    assert_near(t[0], 0, 1e-12);
    assert_near(t[3], 0.6, 1e-12);
    assert_near(t[5], 1.0, 1e-12);
    /* (2.3 + 1.7)/5 = 0.8 rounds up to 1: ticks -2..3. */
    n = sj_plot_nice_ticks(-1.7, 2.3, 6, t, 32, &step);
    assert_int_equal(n, 6);
    assert_near(step, 1, 1e-12);
    assert_near(t[0], -2, 1e-12);
    assert_near(t[5], 3, 1e-12);
    /* 37/4 = 9.25 rounds up to 10: ticks 0..40. */
    n = sj_plot_nice_ticks(0, 37, 5, t, 32, &step);
    assert_int_equal(n, 5);
    assert_near(t[4], 40, 1e-12);
    /* A single value is padded by half its size: 2.5..7.5, step 1. */
    n = sj_plot_nice_ticks(5, 5, 6, t, 32, &step);
    assert_int_equal(n, 7);
    assert_near(t[0], 2, 1e-12);
    assert_near(t[6], 8, 1e-12);
    /* Reversed bounds are swapped: step 0.2, -0.5 and 0.5 widened to -0.6 and
     * 0.6, seven ticks; the middle one is +0, never -0. */
    n = sj_plot_nice_ticks(0.5, -0.5, 6, t, 32, &step);
    assert_int_equal(n, 7);
    assert_near(t[0], -0.6, 1e-12);
    assert_near(step, 0.2, 1e-12);
    assert_false(signbit(t[3]) && t[3] == 0);
    assert_int_equal(sj_plot_nice_ticks(NAN, 1, 6, t, 32, &step), 0);
}

static void test_pixel_mapping(void **state)
{
    (void)state;
    /* 400 x 300 with margins left 56, right 16, top 26, bottom 44. */
    sj_plot *p = sj_plot_new(400, 300, "t", "d");
    sj_plot_axis(p, SJ_AXIS_X, 0, 10, "x");
    sj_plot_axis(p, SJ_AXIS_Y, 0, 1, "y");
    assert_near(sj_plot_px(p, SJ_AXIS_X, 0), 56, 1e-9);
    assert_near(sj_plot_px(p, SJ_AXIS_X, 10), 384, 1e-9);
    assert_near(sj_plot_px(p, SJ_AXIS_X, 5), 220, 1e-9);
    assert_near(sj_plot_px(p, SJ_AXIS_Y, 0), 256, 1e-9);
    assert_near(sj_plot_px(p, SJ_AXIS_Y, 1), 26, 1e-9);
    /* Categories read top to bottom, centred in their bands. */
    const char *names[] = {"a", "b", "c", "d"};
    sj_plot_categories(p, SJ_AXIS_Y, 4, names, "");
    assert_near(sj_plot_px(p, SJ_AXIS_Y, 0), 26 + 230.0 / 8, 1e-9);
    assert_near(sj_plot_px(p, SJ_AXIS_Y, 3), 26 + 230.0 * 7 / 8, 1e-9);
    /* An exact axis keeps its range: -0.5..9.5 maps its ends to the frame. */
    sj_plot_axis_exact(p, SJ_AXIS_X, -0.5, 9.5, "x");
    assert_near(sj_plot_px(p, SJ_AXIS_X, -0.5), 56, 1e-9);
    assert_near(sj_plot_px(p, SJ_AXIS_X, 9.5), 384, 1e-9);
    sj_plot_free(p);
}

static void test_render_axes_and_escaping(void **state)
{
    (void)state;
    sj_plot *p = sj_plot_new(400, 300, "Title <b>", "Desc & more");
    sj_plot_axis(p, SJ_AXIS_X, -1, 1, "Effect \"x\"");
    const char *names[] = {"<script>alert(1)</script>", "item two"};
    sj_plot_categories(p, SJ_AXIS_Y, 2, names, "");
    sj_plot_band(p, SJ_AXIS_X, -0.5, 0.5, "#e3f1ea", "A");
    sj_plot_refline(p, SJ_AXIS_X, 0, "zero");
    sj_plot_point_ci(p, 1, -0.4, 0, -0.6, -0.2);
    sj_plot_dumbbell(p, 1, 0.3, -0.1, 0, 2);
    const char *leg[] = {"ref <g>", "foc"};
    size_t series[] = {0, 1};
    sj_plot_legend(p, 2, leg, series);
    sj_buf b = {0};
    assert_int_equal(sj_plot_render(p, &b), 0);
    const char *s = b.data;
    assert_non_null(strstr(s, "<svg xmlns=\"http://www.w3.org/2000/svg\""));
    assert_non_null(strstr(s, "<title>Title &lt;b&gt;</title>"));
    assert_non_null(strstr(s, "<desc>Desc &amp; more</desc>"));
    assert_non_null(strstr(s, "Effect &quot;x&quot;"));
    assert_non_null(strstr(s, "&lt;script&gt;"));
    assert_null(strstr(s, "<script"));
    assert_null(strstr(s, "<b>"));
    assert_non_null(strstr(s, "ref &lt;g&gt;"));
    /* Ticks -1..1 by 0.5 (5 of them), with a true minus sign. */
    assert_non_null(strstr(s, ">\xe2\x88\x92"
                              "1.0</text>"));
    assert_non_null(strstr(s, ">0.5</text>"));
    assert_non_null(strstr(s, ">0.0</text>"));
    /* Balanced text elements and one closing svg. */
    assert_int_equal(count(s, "<text"), count(s, "</text>"));
    assert_int_equal(count(s, "</svg>"), 1);
    /* Point with whiskers in the focal colour; dumbbell: a hollow and a filled marker. */
    assert_non_null(strstr(s, "stroke=\"#D55E00\""));
    assert_non_null(strstr(s, "fill=\"#fff\" stroke=\"#0072B2\""));
    assert_non_null(strstr(s, "stroke-dasharray=\"4 3\""));
    sj_buf_free(&b);
    sj_plot_free(p);
}

static void test_long_category_names_are_cut_at_characters(void **state)
{
    (void)state;
    sj_plot *p = sj_plot_new(400, 200, "t", "d");
    sj_plot_left_margin(p, 70); /* room for (70 - 10) / 6.6 = 9 characters */
    sj_plot_axis(p, SJ_AXIS_X, 0, 1, "");
    /* Twelve two-byte characters: the cut must not split one. */
    const char *names[] = {
        "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
        "\xc3\xa9\xc3\xa9\xc3\xa9"};
    sj_plot_categories(p, SJ_AXIS_Y, 1, names, "");
    sj_buf b = {0};
    assert_int_equal(sj_plot_render(p, &b), 0);
    /* Full name in the tooltip, nine characters and an ellipsis as the label. */
    assert_non_null(strstr(b.data,
                           "</title>\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
                           "\xc3\xa9\xc3\xa9\xe2\x80\xa6</text>"));
    sj_buf_free(&b);
    sj_plot_free(p);
}

static void test_interval_without_marker(void **state)
{
    (void)state;
    /* 400 wide, margins 56 and 16: x -1..1 maps to 56..384, so -0.5 -> 138
     * and 0.5 -> 302. */
    sj_plot *p = sj_plot_new(400, 300, "t", "d");
    sj_plot_axis(p, SJ_AXIS_X, -1, 1, "");
    const char *names[] = {"a"};
    sj_plot_categories(p, SJ_AXIS_Y, 1, names, "");
    sj_plot_interval(p, 1, 0, -0.5, 0.5);
    sj_plot_interval(p, 1, 0, NAN, 0.5); /* not drawn */
    sj_buf b = {0};
    assert_int_equal(sj_plot_render(p, &b), 0);
    assert_int_equal(count(b.data, "stroke-opacity=\"0.7\""), 1);
    assert_non_null(strstr(b.data, "d=\"M138.0 141.0H302.0"));
    assert_int_equal(count(b.data, "<circle"), 0);
    sj_buf_free(&b);
    sj_plot_free(p);
}

static void test_line_breaks_at_missing_values(void **state)
{
    (void)state;
    sj_plot *p = sj_plot_new(400, 300, "t", "d");
    sj_plot_axis(p, SJ_AXIS_X, 0, 4, "");
    sj_plot_axis(p, SJ_AXIS_Y, 0, 4, "");
    double x[] = {0, 1, 2, 3, 4}, y[] = {0, 1, NAN, 3, 4};
    sj_plot_line(p, 0, 5, x, y);
    sj_buf b = {0};
    assert_int_equal(sj_plot_render(p, &b), 0);
    /* Two segments: 0-1 and 3-4. */
    assert_int_equal(count(b.data, "<path d=\"M"), 2);
    sj_buf_free(&b);
    sj_plot_free(p);
}

static void test_reference_line_on_the_frame(void **state)
{
    (void)state;
    /* 0.7 lies on the lowest tick, which floating point puts a hair above
     * 0.7 (14 x 0.05): the threshold line must still be drawn. */
    sj_plot *p = sj_plot_new(400, 300, "t", "d");
    const char *names[] = {"before", "after"};
    sj_plot_categories(p, SJ_AXIS_X, 2, names, "");
    sj_plot_axis(p, SJ_AXIS_Y, 0.7, 0.95, "QWK");
    sj_plot_refline(p, SJ_AXIS_Y, 0.7, "QWK .70");
    sj_plot_refline(p, SJ_AXIS_Y, 0.5, "far below");
    sj_buf b = {0};
    assert_int_equal(sj_plot_render(p, &b), 0);
    assert_non_null(strstr(b.data, ">QWK .70</text>"));
    assert_null(strstr(b.data, "far below"));
    sj_buf_free(&b);
    sj_plot_free(p);
}

static void test_render_needs_axes(void **state)
{
    (void)state;
    sj_plot *p = sj_plot_new(400, 300, "t", "d");
    sj_plot_axis(p, SJ_AXIS_X, 0, 1, "");
    sj_buf b = {0};
    assert_int_equal(sj_plot_render(p, &b), -1);
    assert_int_equal(b.len, 0);
    sj_plot_free(p);
}

static void test_palette(void **state)
{
    (void)state;
    assert_string_equal(sj_plot_colour(0), "#0072B2");
    assert_string_equal(sj_plot_colour(1), "#D55E00");
    assert_string_equal(sj_plot_colour(2), "#009E73");
    assert_string_equal(sj_plot_colour(SJ_PLOT_N_COLOURS), sj_plot_colour(0));
}

static void test_text_width_estimate(void **state)
{
    (void)state;
    /* W 1.0 + i 0.28 + m 1.0 = 2.28 em; a 0.64 + space 0.32 + b 0.64 = 1.6
     * em; the minus sign (outside ASCII) 0.84 + 1 (a digit) 0.72 = 1.56 em. */
    assert_near(sj_plot_text_width("Wim", 10), 22.8, 1e-9);
    assert_near(sj_plot_text_width("a b", 10), 16.0, 1e-9);
    assert_near(sj_plot_text_width("\xe2\x88\x92"
                                   "1",
                                   10),
                15.6, 1e-9);
    assert_near(sj_plot_text_width("", 10), 0, 1e-12);
}

/* Legend entries for a known label set: 400 x 300, frame 56..384. Font 11
 * px: "alpha" is a .64 l .28 p .64 h .64 a .64 = 2.84 em = 31.24 px, ten
 * m's 110 px. A line swatch is 24 px, a marker 10, each + 5 to its label,
 * 16 between entries. Entry 1 (line) at 56, label at 85; entry 2 (line)
 * at 56 + 29 + 31.24 + 16 = 132.24, label at 161.24, ends at 271.24;
 * entry 3 (marker) would start at 271.24 + 16 = 287.24 and end at 412.24
 * > 384: a second row, at 56, label at 71. Rows are centred at 300 + 2 +
 * 9 = 311 and 329, labels on 311 + 0.36 x 11 = 314.96 and 332.96; the
 * canvas grows by 2 + 2 x 18 + 4 = 42 to 342. */
static void test_legend_rows_below_the_plot(void **state)
{
    (void)state;
    sj_plot *p = sj_plot_new(400, 300, "t", "d");
    sj_plot_axis(p, SJ_AXIS_X, 0, 1, "");
    sj_plot_axis(p, SJ_AXIS_Y, 0, 1, "");
    double x[] = {0, 1}, y[] = {0.2, 0.8};
    sj_plot_line(p, 0, 2, x, y);
    sj_plot_line(p, 1, 2, x, y);
    sj_plot_point_ci(p, 2, 0.5, 0.5, NAN, NAN);
    const char *names[] = {"alpha", "mmmmmmmmmm", "mmmmmmmmmm"};
    size_t series[] = {0, 1, 2};
    sj_plot_legend(p, 3, names, series);
    sj_buf b = {0};
    assert_int_equal(sj_plot_render(p, &b), 0);
    const char *s = b.data;
    assert_non_null(strstr(s, "viewBox=\"0 0 400 342\" width=\"400\" height=\"342\""));
    assert_non_null(strstr(s, "<g class=\"legend\">"));
    assert_int_equal(count(s, "<g class=\"legend-entry\">"), 3);
    /* Entry 1: a solid blue line swatch, its label 5 px after it. */
    assert_non_null(strstr(s, "<path d=\"M56.0 311.0H80.0\" fill=\"none\" stroke=\"#0072B2\" "
                              "stroke-width=\"1.8\"/>"));
    assert_non_null(strstr(s, "<text x=\"85.0\" y=\"315.0\" font-size=\"11\">alpha</text>"));
    /* Entry 2: the focal colour's dashed line. */
    assert_non_null(strstr(s, "<path d=\"M132.2 311.0H156.2\" fill=\"none\" stroke=\"#D55E00\" "
                              "stroke-width=\"1.8\" stroke-dasharray=\"6 3\"/>"));
    assert_non_null(strstr(s, "<text x=\"161.2\" y=\"315.0\" font-size=\"11\">mmmmmmmmmm</text>"));
    /* Entry 3 on the second row: the triangle of series 2 centred 5 px
     * right of the row's start. */
    assert_non_null(strstr(s, "<path d=\"M61.0 324.5L65.5 332.5L56.5 332.5Z\""));
    assert_non_null(strstr(s, "<text x=\"71.0\" y=\"333.0\" font-size=\"11\">mmmmmmmmmm</text>"));
    sj_buf_free(&b);
    sj_plot_free(p);
}

/* A label wider than the frame is cut: 200 wide, frame 56..184 (128 px),
 * a marker swatch and gap 15 leave 113 px; each m is 11 px and the
 * ellipsis 9.24, so nine m's (99 + 9.24 <= 113) fit and ten do not. */
static void test_legend_cuts_a_label_wider_than_the_frame(void **state)
{
    (void)state;
    sj_plot *p = sj_plot_new(200, 200, "t", "d");
    sj_plot_axis(p, SJ_AXIS_X, 0, 1, "");
    sj_plot_axis(p, SJ_AXIS_Y, 0, 1, "");
    const char *names[] = {"mmmmmmmmmmmm"};
    size_t series[] = {1};
    sj_plot_legend(p, 1, names, series);
    sj_buf b = {0};
    assert_int_equal(sj_plot_render(p, &b), 0);
    assert_non_null(strstr(b.data, "<title>mmmmmmmmmmmm</title>mmmmmmmmm\xe2\x80\xa6</text>"));
    sj_buf_free(&b);
    sj_plot_free(p);
}

/* Band labels sit above the frame, never under a marker: x -1..1 on
 * 56..384, the band -0.5..0.5 on 138..302, centred at 220; "AA" at 10 px
 * is 2 x 0.72 em = 14.4 px, so it starts at 212.8, on the row next to the
 * frame (26 - 4 = 22). The reference line's label "zero" (z .64 e .64 r
 * .4 o .64 = 23.2 px, from 208.4) would overlap it and goes one row up,
 * 12 px higher (a row of 11 px text and 1 px between). */
static void test_band_and_line_labels_above_the_frame(void **state)
{
    (void)state;
    sj_plot *p = sj_plot_new(400, 300, "t", "d");
    sj_plot_axis(p, SJ_AXIS_X, -1, 1, "");
    const char *names[] = {"a"};
    sj_plot_categories(p, SJ_AXIS_Y, 1, names, "");
    sj_plot_band(p, SJ_AXIS_X, -0.5, 0.5, "#e3f1ea", "AA");
    sj_plot_refline(p, SJ_AXIS_X, 0, "zero");
    sj_buf b = {0};
    assert_int_equal(sj_plot_render(p, &b), 0);
    assert_non_null(
        strstr(b.data, "<text x=\"212.8\" y=\"22.0\" font-size=\"10\" fill=\"#444\">AA</text>"));
    assert_non_null(
        strstr(b.data, "<text x=\"208.4\" y=\"10.0\" font-size=\"10\" fill=\"#333\">zero</text>"));
    sj_buf_free(&b);
    sj_plot_free(p);
}

static void test_model_series(void **state)
{
    (void)state;
    size_t s[3];
    const char *pipeline[] = {"SFT", "PPO", "DPO"};
    sj_plot_model_series(3, pipeline, s);
    assert_int_equal(s[0], 7);
    assert_int_equal(s[1], 2);
    assert_int_equal(s[2], 4);
    /* Named labels keep their colours; the first other one is black, the
     * next other one the first free of 2, 4, 3. */
    const char *mixed[] = {"before", "dpo", "after"};
    sj_plot_model_series(3, mixed, s);
    assert_int_equal(s[0], 7);
    assert_int_equal(s[1], 4);
    assert_int_equal(s[2], 2);
    const char *later[] = {"ppo", "x", "Baseline"};
    sj_plot_model_series(3, later, s);
    assert_int_equal(s[0], 2);
    assert_int_equal(s[1], 4);
    assert_int_equal(s[2], 5);
}

static void test_lone_points_are_dots(void **state)
{
    (void)state;
    /* A value between missing ones cannot make a path (one point draws
     * nothing): it becomes a dot. */
    sj_plot *p = sj_plot_new(400, 300, "t", "d");
    sj_plot_axis(p, SJ_AXIS_X, 0, 4, "");
    sj_plot_axis(p, SJ_AXIS_Y, 0, 4, "");
    double x[] = {0, 1, 2, 3}, y[] = {1, NAN, 2, NAN};
    sj_plot_line(p, 0, 4, x, y);
    sj_buf b = {0};
    assert_int_equal(sj_plot_render(p, &b), 0);
    assert_int_equal(count(b.data, "<path d=\"M"), 0);
    assert_int_equal(count(b.data, "r=\"2\" fill=\"#0072B2\""), 2);
    sj_buf_free(&b);
    sj_plot_free(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_nice_ticks_hand_worked),
        cmocka_unit_test(test_pixel_mapping),
        cmocka_unit_test(test_render_axes_and_escaping),
        cmocka_unit_test(test_long_category_names_are_cut_at_characters),
        cmocka_unit_test(test_interval_without_marker),
        cmocka_unit_test(test_line_breaks_at_missing_values),
        cmocka_unit_test(test_reference_line_on_the_frame),
        cmocka_unit_test(test_render_needs_axes),
        cmocka_unit_test(test_palette),
        cmocka_unit_test(test_text_width_estimate),
        cmocka_unit_test(test_legend_rows_below_the_plot),
        cmocka_unit_test(test_legend_cuts_a_label_wider_than_the_frame),
        cmocka_unit_test(test_band_and_line_labels_above_the_frame),
        cmocka_unit_test(test_model_series),
        cmocka_unit_test(test_lone_points_are_dots),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
