/* Helpers shared by the report pages: reading values out of audit
 * documents and writing arrays of JSON objects as CSV tables. */
#ifndef SJTALIGN_REPORT_INTERNAL_H
#define SJTALIGN_REPORT_INTERNAL_H

#include "sjtalign/report.h"
#include "sjtalign/stats.h"

/* The DIF class colours (badges and chart bands alike) and the shade of a
 * chart region below an agreement threshold. */
#define RJ_BAND_A "#e3f1ea"
#define RJ_BAND_B "#fbefd2"
#define RJ_BAND_C "#f9dcd9"
#define RJ_BELOW_THRESHOLD "#f9f0ef"

/* A DIF effect chart of both pages: one row per item (n names, top to
 * bottom) over an x axis of the effect on the items' ETS scale from
 * -extent to extent, shaded by class (A/AA around zero, then B/BB, then
 * C/CC, at the stats module's cut-offs: |delta| 1 and 1.5, |SMD/SD| .17
 * and .25), with a line at zero. NULL when out of memory. */
sj_plot *rj_effect_chart(double height, const char *title, const char *description, int polytomous,
                         double extent, size_t n, const char *const *names);

/* The audit document in an audit folder (dir/audit.json of the schema
 * version this build reads), or NULL with an input error naming it. */
cJSON *rj_load_audit(const char *dir, sj_error *err);

/* Adds to `warnings` one line per setting that changes what a number
 * means (match, purify, adjust, cut, human_column, score_column,
 * min_cell) and differs between two audits' settings. */
void rj_settings_warnings_add(cJSON *warnings, const cJSON *set0, const cJSON *set,
                              const char *label0, const char *label);
/* The checksum an audit (or a compare document's audit entry) recorded of
 * its truth file, or NULL. */
const char *rj_truth_checksum(const cJSON *audit);

/* A number member, NaN when absent, null or not a number. */
double rj_num(const cJSON *obj, const char *key);
/* A string member, or NULL. */
const char *rj_str(const cJSON *obj, const char *key);
/* The entry of an array of items whose "item" is `id`, or NULL. */
const cJSON *rj_item_named(const cJSON *items, const char *id);
/* A member of any type, or NULL. */
const cJSON *rj_get(const cJSON *obj, const char *key);
/* obj.a.b... along the keys given; NULL where a member is missing. */
const cJSON *rj_path_keys(const cJSON *obj, ...);
#define rj_path(obj, ...) rj_path_keys((obj), __VA_ARGS__, (const char *)NULL)

/* The course of one series of a compare document's training log: the
 * fixed-set key (exact, `eval/...`) where logged, else the per-batch one
 * (a sample of a few dozen rollouts; fixed_key may be NULL). first, last
 * and peak over the numbers; `fell` when the series peaked above its start
 * and then lost more than a quarter of that rise (for the gold reward: a
 * sign of reward hacking). Returns 0 when neither key is logged. */
typedef struct {
    int fixed_set;
    double first, last, peak, peak_step;
    int fell;
} rj_trend;

int rj_training_trend(const cJSON *log, const char *fixed_key, const char *batch_key, rj_trend *t);

/* Writes an array of flat objects as CSV: the `lead` columns first (NULL
 * terminated, may be NULL), then every other key in order of first
 * appearance. An interval "<key>_ci": [lo, hi] becomes the two columns
 * <key>_ci_low and <key>_ci_high; other arrays of strings are joined with
 * "; "; objects are left out; null is NA. Text cells are neutralised by
 * the CSV writer. */
sj_status rj_write_csv_objects(const cJSON *array, const char *path, const char *const *lead,
                               sj_error *err);

/* An ETS class as a coloured badge (the class letter stays readable in
 * grey print). NULL prints an em dash. */
int rj_class_badge(sj_buf *b, const char *cls);

/* The DIF effect of an item on the ETS scale of its type: delta_mh for
 * dichotomous items, smd_over_sd for polytomous ones, with a 95% interval:
 * the person-bootstrap percentile interval where the item has one
 * ("<key>_ci"), else +- 1.96 SE (Robins-Breslow-Greenland for delta, the
 * delta-method SE of SMD/SD), else none (see tables.c). */
typedef enum {
    RJ_INTERVAL_NONE = 0,
    RJ_INTERVAL_BOOTSTRAP, /* person-bootstrap percentile */
    RJ_INTERVAL_RBG,       /* delta +- 1.96 SE, Robins-Breslow-Greenland */
    RJ_INTERVAL_DELTA,     /* SMD/SD +- 1.96 SE, delta method */
} rj_interval_kind;

typedef struct {
    int polytomous;
    double value, lo, hi;
    const char *cls;
    rj_interval_kind interval;
} rj_effect;

void rj_dif_effect(const cJSON *item, rj_effect *e);
/* How far from zero an effect chart must reach to show e: the farther end
 * of its interval, or the effect itself where an end is missing; NaN when
 * there is no effect. */
double rj_effect_reach(const rj_effect *e);

/* Sets obj["<key>_ci"] = [lo, hi] (null for a bound that is not finite),
 * placed right after obj[key] when obj has it. -1 when out of memory. */
int rj_add_interval(cJSON *obj, const char *key, double lo, double hi);

/* Severity of an ETS class: 0 A/AA, 1 B/BB, 2 C/CC, -1 none. */
int rj_class_rank(const char *cls);

/* Fragments of a report page (audit and compare), appended to b. A
 * failure sets b's sticky flag (sj_buf_fail), which the page's writer
 * checks once at the end. */
void rj_out(sj_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Escaped text. */
void rj_text(sj_buf *b, const char *s);
/* Renders and frees a chart (a NULL chart marks the page failed). */
void rj_svg(sj_buf *b, sj_plot *plot);
void rj_badge(sj_buf *b, const char *cls);
/* Opens a report page (sj_html_begin) titled `title` and the instrument's
 * title, under the subtitle "Reference group R, focal group F · " and the
 * n strings of `tail` joined by " → " (the audit's date; the compare
 * page's labels). */
void rj_page_begin(sj_buf *b, const char *title, const cJSON *instrument, const char *reference,
                   const char *focal, const char *const *tail, size_t n);
/* The provenance table of input files (role, path, SHA-256 and, with
 * with_bytes, the size), closing the page's last section. */
void rj_input_files(sj_buf *b, const cJSON *inputs, int with_bytes);

/* Moves a finished summary line from b into the array `lines` and empties
 * b for the next line; an empty b adds nothing. Returns -1 when the line
 * is incomplete (b failed) or could not be added (out of memory). */
int rj_take_line(cJSON *lines, sj_buf *b);
/* A number as the pages print it (sj_html_format_number); returns buf. */
const char *rj_fmt(char *buf, size_t n, double v, int digits);

/* Agreement with the true scores of a simulation (truth.c): the truth file
 * (columns person_col, item_col and true_score) matched to every response
 * of the scores, then the modal machine score and, with col_human >= 0,
 * the human score against the true score over the responses of the two
 * compared groups: the audit's "truth_agreement" object. A missing file or
 * column, a true score that is not a whole number on the instrument's
 * scale, a (person, item) twice in the truth file or a response without a
 * true score are input errors naming file, line and column. */
typedef struct {
    const char *truth_path;
    const char *person_col, *item_col;
    const sj_instrument *ins;
    const sj_responses *resp;
    long col_human; /* -1 without human scores */
    const char *reference, *focal;
    double *truth_out; /* NULL, or n_rows of the scores: gets each response's true score */
} rj_truth_request;

cJSON *rj_truth_agreement(const rj_truth_request *q, sj_error *err);

/* ---- before/after changes with bootstrap intervals (compare_changes.c) ---- */

/* The level of every change interval. */
#define RJ_CHANGE_LEVEL 0.95

/* Which way a statistic is better. */
enum { RJ_BETTER_NONE = 0, RJ_BETTER_HIGHER = 1, RJ_BETTER_LOWER = 2 };

/* A statistic of bootstrap.csv: its name, its words on the page, which
 * way is better and whether its change is that of the absolute value
 * (signed effects whose best value is zero: DIF, SMD, parity gaps). */
typedef struct {
    const char *statistic;
    const char *label;
    int better;
    int absolute;
} rj_stat_info;

/* The known statistic's meaning; an unknown one is named by itself, with
 * no better direction. */
rj_stat_info rj_stat_lookup(const char *statistic);
/* "higher", "lower", "closer to zero" (lower and absolute) or "none". */
const char *rj_better_name(int better, int absolute);

/* The replicates of an audit's bootstrap.csv (columns statistic, scope,
 * replicate, value): per (statistic, scope) one row for each of the
 * `replicates` replicates, numbered from 1 (or from 0 when the first row
 * says 0), value a number or NA/empty (NaN). A missing column, a bad
 * number, a replicate out of range or twice, or a series with another
 * number of rows is an input error naming file, line and column. */
typedef struct rj_reps rj_reps;

rj_reps *rj_reps_read(const char *path, size_t replicates, sj_error *err);
void rj_reps_free(rj_reps *b);
/* The replicates of (statistic, scope), or NULL (b may be NULL). */
const double *rj_reps_values(const rj_reps *b, const char *statistic, const char *scope);
size_t rj_reps_replicates(const rj_reps *b);
/* The series in file order (their first rows). */
size_t rj_reps_count(const rj_reps *b);
void rj_reps_series_name(const rj_reps *b, size_t k, const char **statistic, const char **scope);
/* The replicates an audit's "bootstrap" object records; 0 without. */
size_t rj_reps_recorded(const cJSON *boot);
/* NULL when two audits' "bootstrap" objects resample the same persons
 * (same replicates, seed and persons_sha256), so that a change can be
 * taken replicate by replicate; else why not (caller frees). */
char *rj_reps_unpaired(const cJSON *before, const cJSON *after, const char *label_before,
                       const char *label_after);

/* The RJ_CHANGE_LEVEL percentile interval (type 7) of after - before, or
 * of |after| - |before| with `absolute`, over n paired replicates; NaN
 * changes are left out. Returns the number of finite changes. */
size_t rj_change_interval(const double *before, const double *after, size_t n, int absolute,
                          double *lo, double *hi);
/* "improved" or "worse" only when the interval [lo, hi] of the change lies
 * wholly on one side of zero (which side is better: `better`); "within
 * noise" when it holds zero; "higher"/"lower" for a statistic without a
 * better direction; "not comparable" for a NaN end. */
const char *rj_change_verdict(double lo, double hi, int better);

/* A statistic's value in an audit document (scope "all", a group or an
 * item), NaN where the audit does not have it. */
double rj_stat_value(const cJSON *audit, const char *statistic, const char *scope);

/* The change of one item between two audit DIF objects (after may be
 * NULL): {"class_before", "class_after", "effect", "effect_before",
 * "effect_after", "abs_effect_change", "abs_effect_change_ci": [lo, hi] or
 * null, "replicates", "verdict", "basis": "interval" | "class"}. With both
 * bootstraps (paired; NULL otherwise) the verdict comes from the interval
 * of the change in |effect|; without, from the class rule, marked
 * "(no interval)". */
cJSON *rj_item_change(const cJSON *before, const cJSON *after, const rj_reps *bb,
                      const rj_reps *ba);
/* The changes of every other statistic between two audits: the catalogue
 * (agreement, fairness, parity, truth, raters) where both audits have a
 * value, then every further series the two bootstraps share: [{"statistic",
 * "scope", "label", "compared", "better", "before", "after", "change",
 * "change_ci", "replicates", "verdict", "basis": "interval" | "point"}]. */
cJSON *rj_statistic_changes(const cJSON *ab, const cJSON *aa, const rj_reps *bb, const rj_reps *ba);

/* The audits of a comparison: n documents, their folders and labels. */
typedef struct {
    size_t n;
    cJSON *const *audits;
    const char *const *dirs;
    char *const *labels;
} rj_compare_audits;

/* Reads the bootstrap file of every audit whose replicates pair with the
 * first audit's (boots[k], NULL elsewhere; boots has n slots, zeroed) and
 * returns the document's "bootstrap" object: {"level", "method",
 * "by_label": {after label: {"paired", "replicates", "seed",
 * "persons_sha256", "reason"}}}. Pairs that do not match, and missing
 * files, add a warning saying why no change interval is given; a bad
 * bootstrap file is an input error (NULL). */
cJSON *rj_compare_bootstraps(const rj_compare_audits *c, rj_reps **boots, cJSON *warnings,
                             sj_error *err);

/* An item row's change to the audit labelled `label` (an after). */
const cJSON *rj_item_change_of(const cJSON *row, const char *label);
/* The document's list of statistic changes to the audit `label`. */
const cJSON *rj_changes_of(const cJSON *doc, const char *label);
/* The change of (statistic, scope) in such a list, or NULL. */
const cJSON *rj_find_change(const cJSON *changes, const char *statistic, const char *scope);

/* The summary lines of a compare document (compare_summary.c); NULL when
 * out of memory. */
cJSON *rj_compare_summary(const cJSON *doc);

/* ---- the expert panel (compare_panel.c) ---- */

/* The panel.json of a reward model (kind "sjtalign-panel", schema version
 * 1), its numbers and strings checked for type; an input error naming the
 * file otherwise. */
cJSON *rj_panel_load(const char *path, sj_error *err);
/* "Expert panel: ..." in one plain-text line: judges, judgments, ties,
 * alpha and its reading, the flagged judges. */
void rj_panel_summary_line(sj_buf *b, const cJSON *panel);
/* The reading of Krippendorff's alpha (Krippendorff 2004): "reliable"
 * (>= .800), "tentative" (>= .667), "do not rely" (below), "not computed"
 * (NaN). */
const char *rj_alpha_reading(double alpha);
/* The page's summary item and section on the panel (read from `path`,
 * may be NULL; section number no). */
void rj_panel_summary_html(sj_buf *b, const cJSON *panel);
void rj_panel_section(sj_buf *b, const cJSON *panel, const char *path, int no);
/* One row per judge for panel_judges.csv (flags joined by "; "). */
cJSON *rj_panel_judge_rows(const cJSON *panel);
/* ---- the person bootstrap of an audit (audit_bootstrap.c) --------------------- */

/* What the replicates are computed from: the audit's responses and the
 * persons of its score data (the bootstrap's units: every person of the
 * data, sorted by id, as sj_bootstrap does), its DIF result and, with a
 * human score, the human score data and their DIF result (the same persons
 * in the same order); truth holds the true score of every response or is
 * NULL. */
typedef struct {
    const sj_responses *resp;
    const sj_score_data *scores;
    const sj_dif_result *dif;
    const sj_score_data *human_scores; /* NULL without a human score */
    const sj_dif_result *human_dif;    /* NULL without a human score */
    long col_human;                    /* the human score of record, -1 without */
    const double *truth;               /* per response, or NULL */
    const char *reference, *focal;
    size_t n_replicates;
    uint64_t seed;
} rj_boot_request;

/* The replicates prepared: which statistic and scope each value is, the
 * persons of each response. Exposed for tests that recompute a replicate. */
typedef struct rj_boot_plan rj_boot_plan;

rj_boot_plan *rj_boot_plan_new(const rj_boot_request *q, sj_error *err);
void rj_boot_plan_free(rj_boot_plan *p);
size_t rj_boot_plan_slots(const rj_boot_plan *p);
/* Statistic ("dif.smd_over_sd", ...) and scope (item id, "all", group) of
 * value i. */
const char *rj_boot_plan_statistic(const rj_boot_plan *p, size_t i);
const char *rj_boot_plan_scope(const rj_boot_plan *p, size_t i);
const sj_bootstrap *rj_boot_plan_bootstrap(const rj_boot_plan *p);
/* Every statistic with counts[p] copies of person p (score data order):
 * values[i] for i < rj_boot_plan_slots (NaN where undefined). With one
 * copy of everyone they are the audit's point estimates. */
sj_status rj_boot_plan_values(rj_boot_plan *p, const unsigned *counts, double *values,
                              sj_error *err);

/* The replicates of a bootstrap shared out over the ranks of a job: this
 * rank computes replicates [*lo, *hi) of B (sj_dist_share), storing value
 * i of replicate r at values[i * B + r]; then rj_boot_exchange (collective)
 * agrees on st and gives every rank all B replicates, gathered in rank
 * order, which is replicate order. A replicate depends on (seed, r) alone,
 * so the values are those one process computes. With one process nothing
 * moves. */
void rj_boot_share(size_t B, size_t *lo, size_t *hi);
sj_status rj_boot_exchange(double *values, size_t n_values, size_t B, sj_status st, sj_error *err);

/* Runs every replicate: the audit's "bootstrap" object {"replicates":
 * {STATISTIC: {SCOPE: [B numbers or null]}}, "seed", "level": 0.95,
 * "method": "percentile", "persons", "persons_sha256", "file":
 * "bootstrap.csv"}. Other sections may add their own statistics to
 * "replicates" (same persons, same seed). */
cJSON *rj_boot_run(const rj_boot_request *q, sj_error *err);
/* B of a "bootstrap" object: its "replicates" when a number (audit.json),
 * else the length of the first replicate array. */
size_t rj_boot_count(const cJSON *boot);
/* The 95% percentile interval of doc.bootstrap.replicates[statistic][scope];
 * 0 (and NaN bounds) when there is none or no finite replicate. */
int rj_boot_interval_of(const cJSON *doc, const char *statistic, const char *scope, double *lo,
                        double *hi);
/* Puts "<key>_ci" beside every value of the audit document that has
 * replicates (dif items, human_dif items, dif_vs_human, agreement overall
 * and by group, fairness coef_focal, parity, truth_agreement); -1 when out
 * of memory. */
int rj_boot_add_intervals(cJSON *doc);
/* Whether the document still holds the replicates (not yet written). */
int rj_boot_has_replicates(const cJSON *audit);
/* bootstrap.csv: statistic,scope,replicate (1..B),value (NA for null). */
sj_status rj_boot_write_csv(const cJSON *audit, const char *path, sj_error *err);
/* A copy of the audit for audit.json: bootstrap.replicates replaced by B. */
cJSON *rj_boot_file_json(const cJSON *audit);

/* ---- human-score DIF beside machine DIF (audit_human_dif.c) ------------------- */

/* The same DIF as the machine's on the human score of record. dif is NULL
 * (with the reason in note) when the human scores cannot be analysed, for
 * instance a group without a complete set of human scores. */
typedef struct {
    const char *column; /* the human score column (the table's name) */
    sj_score_data *scores;
    sj_dif_result *dif;
    char *note;
} rj_human_dif;

sj_status rj_human_dif_run(const sj_responses *resp, const sj_columns *cols, long col_human,
                           const sj_dif_options *opt, rj_human_dif *out, sj_error *err);
void rj_human_dif_free(rj_human_dif *h);
/* Adds "human_dif" (sj_dif_to_json with "score_column") to the audit, or
 * null and "human_dif_note". -1 when out of memory. */
int rj_human_dif_add(cJSON *doc, const rj_human_dif *h);
/* Adds "dif_vs_human": per item {"item", "type", "machine": {"effect",
 * "class"}, "human": {...}, "effect_name", "abs_change" (|machine| -
 * |human|), "abs_change_ci" (from the replicates "dif_vs_human.abs_change"),
 * "verdict"}; nothing without "human_dif". -1 when out of memory. */
int rj_dif_vs_human_add(cJSON *doc);
/* The verdict of the rule in audit_human_dif.c, or NULL (no interval or
 * no class). */
const char *rj_dif_verdict(const char *human_class, const char *machine_class, double lo,
                           double hi);
/* The dif_vs_human entry of an item, or NULL. */
const cJSON *rj_dif_vs_human_item(const cJSON *doc, const char *item);
/* The flagged items' verdicts in words ("; " between items), as HTML or
 * plain text; returns the number of items named. */
int rj_dif_vs_human_summary(sj_buf *b, const cJSON *doc, int html);
/* The audit page's table "Machine DIF beside the human scores' DIF" for
 * the DIF items of one type: per item the machine's and the human scores'
 * effect (SMD/SD or MH delta) with interval and ETS class, |machine| -
 * |human| with its interval, and the verdict. ci_label names the
 * intervals in the header ("95% CI", "bootstrap 95% CI"). */
void rj_dif_vs_human_table(sj_buf *b, const cJSON *doc, int polytomous, const char *ci_label);

/* ---- several raters (audit --human A,B,...; audit_raters.c) ---------------- */

/* The columns of --human, split at commas: the first is the score of
 * record (RSMTool's h1) of the agreement, fairness and truth sections.
 * NULL gives n = 0. An empty name or a name listed twice is an input
 * error. */
typedef struct {
    size_t n;
    char **names; /* into copy */
    char *copy;
} rj_rater_columns;

sj_status rj_rater_columns_split(const char *human_col, rj_rater_columns *out, sj_error *err);
void rj_rater_columns_free(rj_rater_columns *c);

typedef struct {
    const sj_responses *resp; /* the scores, machine score in resp->score */
    const sj_instrument *ins;
    const rj_rater_columns *columns;
    const char *reference, *focal;
    size_t n_bootstrap; /* 0: no intervals */
    uint64_t seed;
} rj_raters_request;

/* With two or more rater columns: checks every column (present, whole
 * scores on the instrument's scale: input errors naming it), adds
 * doc["raters"] (sj_raters_to_json over the responses of the two compared
 * groups, plus "score_of_record", "unit", "thresholds_source",
 * "bootstrap_replicates" and, with a bootstrap, "<key>_ci": [lo, hi]
 * beside prmse, qwk_machine_human, qwk_human_human, degradation_qwk and
 * pearson_machine_mean in every scope), their person-bootstrap replicates
 * under doc["bootstrap"]["replicates"]["raters.<key>"][all|GROUP], and one
 * line to doc["summary"]. Nothing with fewer than two columns. */
sj_status rj_audit_raters(cJSON *doc, const rj_raters_request *q, sj_error *err);
/* raters.csv: one row per comparison and scope (rj_raters_csv_lead names
 * the columns in order). NULL when out of memory. */
cJSON *rj_raters_rows(const cJSON *raters);
extern const char *const rj_raters_csv_lead[];
/* The "Several raters" part of the audit page (nothing without
 * doc["raters"]). */
void rj_raters_html(sj_buf *b, const cJSON *doc);

/* The audit's "evaluation" object (evaluation.c). Without a split file:
 * {"sample": "all responses in the scores file"}. With split.json of
 * `sjtalign split` (checked: kind, schema version, fraction, seed, counts
 * and both person lists): {"sample": "held-out persons", "fraction",
 * "persons_heldout", "persons_total", "seed", "split_sha256", "split_file",
 * "persons_audited"}; a person of the scores table (column col_person)
 * that is not a held-out person of the split is an input error naming the
 * scores file, line and column. */
cJSON *rj_evaluation_json(const char *split_path, const sj_table *t, long col_person,
                          sj_error *err);
/* The checks of rj_evaluation_json alone (SJ_OK without a split file), so
 * an audit refuses a training person's scores before any statistic. */
sj_status rj_evaluation_check(const char *split_path, const sj_table *t, long col_person,
                              sj_error *err);
/* Puts "Evaluated on N held-out persons (X% of M) whom no model trained
 * on." first among an audit's summary lines (nothing without a split);
 * -1 when out of memory. */
int rj_evaluation_summary(cJSON *lines, const cJSON *evaluation);
/* The same sentence as a paragraph under the page's header, or a note that
 * every response in the scores file was evaluated. */
void rj_evaluation_html(sj_buf *b, const cJSON *evaluation);

#endif
