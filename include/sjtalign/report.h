/* sjtalign reports: the bias audit of one set of machine scores (audit.json,
 * CSV tables, one self-contained index.html) and the before/after comparison
 * of several audits (compare.json, index.html). Pages are written from the
 * JSON documents, so a report can always be rebuilt from its audit.json.
 * Every string that comes from data or instrument files is escaped for HTML
 * (and isolated from bidirectional reordering) and neutralised in CSV; nothing in a report refers
 * to the network. */
#ifndef SJTALIGN_REPORT_H
#define SJTALIGN_REPORT_H

#include <stddef.h>

#include <cjson/cJSON.h>

#include "sjtalign/io.h"
#include "sjtalign/stats.h"
#include "sjtalign/util.h"

#define SJ_AUDIT_SCHEMA_VERSION 1
#define SJ_COMPARE_SCHEMA_VERSION 1

/* ---- HTML ------------------------------------------------------------------ */

/* The writers below append to b and leave any failure in b's sticky flag
 * (sj_buf_failed); each returns -1 when b has failed, now or before, else 0. */

/* Appends text with & < > " ' replaced by character references and the
 * bidirectional controls (U+202A-U+202E, U+2066-U+2069, U+200E, U+200F,
 * U+061C) replaced by U+FFFD, so it is safe inside a quoted attribute value,
 * <title> or SVG text, where no element can isolate it. */
int sj_html_escape(sj_buf *b, const char *text);
/* Escaped copy of text (sj_html_escape); caller frees. */
char *sj_html_escaped(const char *text);
/* A string from the data as element content: <bdi>escaped text</bdi>. The
 * text is kept as it is (controls included); the isolate ends whatever
 * embedding or override it opens, so the text cannot reorder the words and
 * figures around it. */
int sj_html_text(sj_buf *b, const char *text);

/* Opens a page: doctype, head with the inline style sheet (screen and print
 * rules for A4 and Letter), a header whose title is the fixed text `title`
 * followed by `name` from the data (may be NULL; isolated in the heading,
 * escaped in <title>), and the subtitle, markup built by the caller with
 * sj_html_text for its strings from the data (may be NULL). */
int sj_html_begin(sj_buf *b, const char *title, const char *name, const char *subtitle_html);
/* Closes the page opened by sj_html_begin. */
int sj_html_end(sj_buf *b);
/* The inline style sheet, for tests and for pages built elsewhere. */
const char *sj_html_css(void);

/* Appends an element holding a string from the data:
 * <tag class="cls"><bdi>text</bdi></tag> (cls may be NULL). */
int sj_html_element(sj_buf *b, const char *tag, const char *cls, const char *text);
/* A table cell holding a number with `digits` decimals; NaN prints as an
 * em dash. cls may be NULL. */
int sj_html_number_cell(sj_buf *b, double value, int digits, const char *cls);
/* Formats a number for reading (fixed decimals, a true minus sign), or an
 * em dash for NaN. */
void sj_html_format_number(double value, int digits, char *out, size_t n);
/* A p-value: "< .001" below .001, else three decimals without leading zero. */
void sj_html_format_p(double p, char *out, size_t n);
/* A key to the text colours a page section uses: a paragraph naming
 * what green (ok), amber (warn) and red (bad) text means there, each
 * beside a sample in its colour. A NULL meaning leaves its colour out. */
int sj_html_colour_key(sj_buf *b, const char *ok, const char *warn, const char *bad);

/* ---- SVG plots --------------------------------------------------------------- */

/* Okabe & Ito's palette, readable with the common colour-vision
 * deficiencies. Every chart on every page uses index 0 (blue) for the
 * reference group and 1 (vermillion) for the focal group; models use
 * SJ_SERIES_SFT (7, black), SJ_SERIES_PPO (2, bluish green), SJ_SERIES_DPO
 * (4, reddish purple) and SJ_SERIES_BASELINE (5, sky blue). Each index
 * also has its own marker shape and line dash. */
#define SJ_PLOT_N_COLOURS 8
#define SJ_SERIES_REFERENCE 0
#define SJ_SERIES_FOCAL 1
#define SJ_SERIES_PPO 2
#define SJ_SERIES_DPO 4
#define SJ_SERIES_BASELINE 5
#define SJ_SERIES_SFT 7
const char *sj_plot_colour(size_t i);
/* The series (colour) index of each of n model labels: SFT, PPO, DPO and
 * baseline (any case) get theirs; any other label the first free index of
 * 7 (the first label only: the model before alignment), 2, 4, 3, 6, 5;
 * indices repeat past those. */
void sj_plot_model_series(size_t n, const char *const *labels, size_t *series);
/* Estimated width in pixels of text set in DejaVu Sans at font_px (a
 * little wide rather than narrow), used to lay out legends and labels. */
double sj_plot_text_width(const char *text, double font_px);

/* "Nice" tick positions covering [lo, hi] (steps of 1, 2 or 5 times a power
 * of ten, at most about `max_ticks` of them). Writes up to `cap` ticks and
 * returns how many there are; *step gets the spacing. */
size_t sj_plot_nice_ticks(double lo, double hi, size_t max_ticks, double *ticks, size_t cap,
                          double *step);

typedef enum { SJ_AXIS_X = 0, SJ_AXIS_Y = 1 } sj_axis;

/* One chart: set both axes (numeric or categorical), then draw marks in
 * data coordinates; sj_plot_render wraps everything in an <svg> element
 * with a title and description for screen readers. */
typedef struct sj_plot sj_plot;

sj_plot *sj_plot_new(double width, double height, const char *title, const char *description);
void sj_plot_free(sj_plot *p);
/* A numeric axis over [lo, hi], extended to nice ticks. */
void sj_plot_axis(sj_plot *p, sj_axis axis, double lo, double hi, const char *label);
/* A numeric axis over exactly [lo, hi], with the nice ticks inside it. */
void sj_plot_axis_exact(sj_plot *p, sj_axis axis, double lo, double hi, const char *label);
/* A categorical axis: n names placed at positions 0..n-1. */
void sj_plot_categories(sj_plot *p, sj_axis axis, size_t n, const char *const *names,
                        const char *label);
/* Space for long category names on the left (pixels). */
void sj_plot_left_margin(sj_plot *p, double pixels);

/* Maps data coordinates to pixels (after the axes are set). */
double sj_plot_px(const sj_plot *p, sj_axis axis, double value);

/* A shaded band between lo and hi along `axis`, with a label in it. */
void sj_plot_band(sj_plot *p, sj_axis axis, double lo, double hi, const char *fill,
                  const char *label);
/* A dashed reference line at value along `axis`, with a label. */
void sj_plot_refline(sj_plot *p, sj_axis axis, double value, const char *label);
/* Bars: series s, centre x, height y from 0, width in data units (x axis
 * numeric or categorical). Side-by-side series use `offset` in data units. */
void sj_plot_bar(sj_plot *p, size_t series, double x, double y, double width, double offset);
/* A point with a confidence interval. On a categorical y axis (forest plot)
 * the interval runs along x; otherwise along y. */
void sj_plot_point_ci(sj_plot *p, size_t series, double x, double y, double lo, double hi);
/* A confidence interval alone (no marker) on categorical row `row`, along
 * x: thin whiskers to draw under dumbbells. */
void sj_plot_interval(sj_plot *p, size_t series, double row, double lo, double hi);
/* A dumbbell on categorical row `row`: from x0 (hollow) to x1 (filled). */
void sj_plot_dumbbell(sj_plot *p, double row, double x0, double x1, size_t series0, size_t series1);
/* A polyline through the points with finite coordinates; a point between
 * missing values is drawn as a dot. */
void sj_plot_line(sj_plot *p, size_t series, size_t n, const double *x, const double *y);
/* The same, thin and half transparent: a noisy series shown behind the
 * trend drawn with sj_plot_line. */
void sj_plot_line_faint(sj_plot *p, size_t series, size_t n, const double *x, const double *y);
/* A legend below the plot area (the canvas grows to hold it), its entries
 * left to right and wrapped onto further rows so every label stays on the
 * canvas; each label follows its swatch, which looks like the series'
 * marks (line, marker, hollow marker or bar). Call it after the marks. */
void sj_plot_legend(sj_plot *p, size_t n, const char *const *names, const size_t *series);

/* Appends the finished <svg> element. A plot that could not be built (out
 * of memory, an axis not set) marks out failed. Returns 0 when out has not
 * failed. */
int sj_plot_render(const sj_plot *p, sj_buf *out);

/* ---- provenance ------------------------------------------------------------ */

/* {"tool", "version", "created", "command", "inputs": [{"role", "path",
 * "sha256", "bytes"}], "model_config_sha256" when known}. */
cJSON *sj_provenance_new(const char *command_line);
/* Adds an input file with its checksum. */
sj_status sj_provenance_add_file(cJSON *prov, const char *role, const char *path, sj_error *err);
/* The current UTC time as ISO 8601 ("2026-01-31T12:00:00Z"). */
void sj_provenance_now(char *out, size_t n);
/* A command line as one string, arguments with spaces quoted; caller frees. */
char *sj_command_line(int argc, char **argv);

/* ---- output folders ---------------------------------------------------------- */

/* A report folder built beside its destination and moved into place only
 * when every file is written, so a failure never leaves half a report. */
typedef struct {
    char *final_dir;
    char *tmp_dir;
} sj_report_dir;

sj_status sj_report_dir_open(sj_report_dir *d, const char *final_dir, sj_error *err);
/* Path of a file inside the folder being built; caller frees. */
char *sj_report_dir_file(const sj_report_dir *d, const char *name);
/* Replaces final_dir (an older report there is removed) by the new folder. */
sj_status sj_report_dir_commit(sj_report_dir *d, sj_error *err);
void sj_report_dir_abort(sj_report_dir *d);

/* ---- audit ------------------------------------------------------------------- */

typedef struct {
    const char *data_path;       /* scores.csv written by `score` */
    const char *instrument_path; /* instrument.json */
    sj_columns cols;             /* person, item, text, group columns (NULL: defaults) */
    const char *score_col;       /* machine score for DIF, parity, agreement (score_mode) */
    const char *reference;
    const char *focal;
    const char *human_col; /* NULL: no agreement section */
    /* truth.csv of a simulation (person and item columns named as in the
     * scores, and true_score), or NULL: no "truth_agreement" */
    const char *truth_path;
    double cut; /* NaN: no cut */
    sj_match match;
    int purify;
    sj_adjust adjust;
    long min_cell;            /* 0: the stats module's default */
    size_t n_bootstrap;       /* person-bootstrap replicates (default 1000); 0: none */
    uint64_t seed;            /* of the bootstrap (default 1) */
    const char *command_line; /* for provenance; may be NULL */
    /* split.json of `sjtalign split`, or NULL: every person in the scores
     * must be one of its held-out persons (audit.json "evaluation") */
    const char *split_path;
    /* What was audited, in the page's title ("Fairness audit — LABEL") and
     * audit.json "label"; NULL: the scores file's model where its FILE.json
     * records one, else no label */
    const char *label;
} sj_audit_options;

void sj_audit_options_init(sj_audit_options *o);

/* Loads the scores, runs DIF, parity and agreement and returns the audit
 * document (docs/OUTPUTS.md, "Audit output"): {"schema_version", "kind":
 * "sjtalign-audit", "instrument", "settings", "data", "distribution",
 * "dif": (sj_dif_to_json), "parity": (sj_parity_to_json of person totals),
 * "agreement": (per response: the sj_agreement keys, "by_group",
 * "fairness", "by_item", "confusion") or null, "truth_agreement" (with
 * a truth file: the sj_agreement keys of the modal machine score against
 * the true score, mean_true and sd_true in place of the human mean and SD,
 * "by_group", "by_item", and "human": the same for the human score, or
 * null; absent without a truth file), "evaluation" (on which persons:
 * see split_path), "summary": [plain-text lines], "provenance", "label"
 * (string or null), "title" (the page's title), and the reviewer's
 * tables "score_levels", "item_curves" and "response_sample"
 * (src/report/audit_review.h)}. */
cJSON *sj_audit_compute(const sj_audit_options *o, sj_error *err);
/* The report page of an audit document. */
sj_status sj_audit_html(const cJSON *audit, sj_buf *out, sj_error *err);
/* Writes index.html, audit.json and the CSV tables into out_dir. */
sj_status sj_audit_write(const cJSON *audit, const char *out_dir, sj_error *err);

/* ---- compare ----------------------------------------------------------------- */

typedef struct {
    size_t n_audits;           /* before + afters, at least 2 */
    const char *const *dirs;   /* dirs[0] is "before" */
    const char *const *labels; /* n_audits labels, or NULL for defaults */
    const char *training_log;  /* PPO train_log.jsonl, or NULL */
    const char *command_line;
    const char *panel; /* panel.json of the reward model (sjtalign reward), or NULL */
} sj_compare_options;

/* Reads the audits and builds the comparison document:
 * {"schema_version", "kind": "sjtalign-compare", "instrument", "reference",
 *  "focal", "audits": [{"label", "role", "dir", "settings", "provenance"}],
 *  "items": [{"item", "type", "before": {dif item}, "after": {dif item},
 *             "change": {"class_before", "class_after", "effect",
 *                        "effect_before", "effect_after", "abs_effect_change",
 *                        "verdict"}}],
 *  "parity": {"before", "after"}, "agreement": {"before", "after"},
 *  "warnings": [...], "training_log": {"path", "sha256", "steps",
 *  "series": {name: [...]}} or null, "summary": [plain-text lines],
 *  "provenance"}.
 * With more than one after-audit, "after" and "change" refer to the first
 * one, and every audit is also under "by_label" (items, parity, agreement)
 * with "change_by_label" per item. An audit folder without audit.json,
 * audits of different instruments or groups are input errors. */
cJSON *sj_compare_build(const sj_compare_options *o, sj_error *err);
/* Adds the audit in `dir` of the transparent baseline scorer (`sjtalign
 * baseline`) to a document of sj_compare_build as a reference beside the
 * compared scorers, never as a before or an after: "baseline" becomes
 * {"label": "baseline", "dir", "settings", "provenance", "parity",
 * "agreement", "truth_agreement" (null unless the document and the audit
 * both have it), "flagged": [item ids of class B/C or BB/CC],
 * "summary": [plain-text lines]}, every item row gets "baseline" (the
 * audit's DIF object of the item, or null), the summary lines are appended
 * to the document's "summary", settings that differ from the first audit's
 * and another truth file to its "warnings", and dir/audit.json to its
 * provenance inputs (role "baseline"). A folder without audit.json, or an
 * audit of another instrument or other groups, is an input error. */
sj_status sj_compare_add_baseline(cJSON *cmp, const char *dir, sj_error *err);
sj_status sj_compare_html(const cJSON *cmp, sj_buf *out, sj_error *err);
/* Writes index.html and compare.json (and changes.csv) into out_dir. */
sj_status sj_compare_write(const cJSON *cmp, const char *out_dir, sj_error *err);

/* Splits "SFT,PPO,DPO" into n labels; input error when the count differs. */
char **sj_split_labels(const char *text, size_t n, sj_error *err);
void sj_labels_free(char **labels, size_t n);

#endif
