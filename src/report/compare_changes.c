/* Before/after changes with paired person-bootstrap intervals: an audit's
 * bootstrap.csv read and checked, whether two audits' replicates resample
 * the same persons, the interval of a change computed replicate by
 * replicate, and the verdict that calls a change improved or worse only
 * when that interval lies wholly on one side of zero. */
#include "report_internal.h"
#include "sjtalign/io.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- bootstrap.csv ------------------------------------------------------------ */

typedef struct {
    char *statistic, *scope;
    double *values;      /* one per replicate; NaN for NA */
    unsigned char *seen; /* a row was read for the replicate */
    size_t rows;
    long line; /* of the series' first row, for messages */
} boot_series;

struct rj_reps {
    char *path;
    size_t replicates;
    size_t n, cap;
    boot_series *series;
    size_t *slots; /* open-addressing hash of series index + 1; 0 = empty */
    size_t n_slots;
};

static uint64_t series_hash(const char *statistic, const char *scope)
{
    uint64_t h = 1469598103934665603u; /* FNV-1a over "statistic\0scope" */
    for (const char *c = statistic;; c++) {
        h = (h ^ (unsigned char)*c) * 1099511628211u;
        if (!*c)
            break;
    }
    for (const char *c = scope; *c; c++)
        h = (h ^ (unsigned char)*c) * 1099511628211u;
    return h;
}

static int series_is(const boot_series *s, const char *statistic, const char *scope)
{
    return strcmp(s->statistic, statistic) == 0 && strcmp(s->scope, scope) == 0;
}

/* The hash slot holding (statistic, scope), or the empty slot where it
 * would go. The table is kept at most half full. */
static size_t *slot_of(const rj_reps *b, const char *statistic, const char *scope)
{
    size_t i = (size_t)(series_hash(statistic, scope) & (b->n_slots - 1));
    while (b->slots[i] && !series_is(&b->series[b->slots[i] - 1], statistic, scope))
        i = (i + 1) & (b->n_slots - 1);
    return &b->slots[i];
}

static int rehash(rj_reps *b)
{
    size_t n_slots = b->n_slots ? 2 * b->n_slots : 64;
    size_t *slots = calloc(n_slots, sizeof *slots);
    if (!slots)
        return -1;
    free(b->slots);
    b->slots = slots;
    b->n_slots = n_slots;
    for (size_t k = 0; k < b->n; k++)
        *slot_of(b, b->series[k].statistic, b->series[k].scope) = k + 1;
    return 0;
}

/* The series of (statistic, scope), made on its first row; NULL when out
 * of memory. */
static boot_series *series_for(rj_reps *b, const char *statistic, const char *scope, long line)
{
    if (b->n_slots) {
        size_t *slot = slot_of(b, statistic, scope);
        if (*slot)
            return &b->series[*slot - 1];
    }
    if (b->n == b->cap) {
        size_t cap = b->cap ? 2 * b->cap : 16;
        boot_series *grown = realloc(b->series, cap * sizeof *grown);
        if (!grown)
            return NULL;
        b->series = grown;
        b->cap = cap;
    }
    if (2 * (b->n + 1) > b->n_slots && rehash(b) != 0)
        return NULL;
    boot_series *s = &b->series[b->n];
    memset(s, 0, sizeof *s);
    s->statistic = sj_strdup(statistic);
    s->scope = sj_strdup(scope);
    s->values = malloc(b->replicates * sizeof *s->values);
    s->seen = calloc(b->replicates, 1);
    s->line = line;
    b->n++; /* counted before any check, so rj_reps_free releases it */
    if (!s->statistic || !s->scope || !s->values || !s->seen)
        return NULL;
    for (size_t r = 0; r < b->replicates; r++)
        s->values[r] = NAN;
    *slot_of(b, statistic, scope) = b->n;
    return s;
}

void rj_reps_free(rj_reps *b)
{
    if (!b)
        return;
    for (size_t k = 0; k < b->n; k++) {
        free(b->series[k].statistic);
        free(b->series[k].scope);
        free(b->series[k].values);
        free(b->series[k].seen);
    }
    free(b->series);
    free(b->slots);
    free(b->path);
    free(b);
}

typedef struct {
    long statistic, scope, replicate, value;
} boot_columns;

static sj_status find_columns(const sj_table *t, boot_columns *c, sj_error *err)
{
    if ((c->statistic = sj_table_column(t, "statistic", err)) < 0 ||
        (c->scope = sj_table_column(t, "scope", err)) < 0 ||
        (c->replicate = sj_table_column(t, "replicate", err)) < 0 ||
        (c->value = sj_table_column(t, "value", err)) < 0)
        return SJ_ERR_INPUT;
    return SJ_OK;
}

/* One row: its series, replicate number (numbered from `base`, fixed by
 * the file's first row: 1, or 0) and value (NA or empty: no value). */
static sj_status read_row(rj_reps *b, const sj_table *t, size_t row, const boot_columns *c,
                          long *base, sj_error *err)
{
    long line = t->row_line[row];
    const char *statistic = sj_table_cell(t, row, (size_t)c->statistic);
    const char *scope = sj_table_cell(t, row, (size_t)c->scope);
    if (!statistic[0] || !scope[0])
        return sj_error_at(err, SJ_ERR_INPUT, b->path, line,
                           !statistic[0] ? c->statistic + 1 : c->scope + 1,
                           "column '%s': empty (every row names a statistic and a scope)",
                           !statistic[0] ? "statistic" : "scope");
    long r;
    if (sj_table_integer(t, row, (size_t)c->replicate, &r, err) != SJ_OK)
        return SJ_ERR_INPUT;
    if (*base < 0)
        *base = r == 0 ? 0 : 1;
    if (r < *base || r - *base >= (long)b->replicates)
        return sj_error_at(err, SJ_ERR_INPUT, b->path, line, c->replicate + 1,
                           "column 'replicate': %ld is outside %ld..%ld (audit.json records %zu "
                           "bootstrap replicates)",
                           r, *base, *base + (long)b->replicates - 1, b->replicates);
    const char *cell = sj_table_cell(t, row, (size_t)c->value);
    double v = NAN;
    if (cell[0] && strcmp(cell, "NA") != 0 &&
        sj_table_number(t, row, (size_t)c->value, &v, err) != SJ_OK)
        return SJ_ERR_INPUT;
    boot_series *s = series_for(b, statistic, scope, line);
    if (!s)
        return sj_error_set(err, SJ_ERR_WORK, "out of memory");
    size_t k = (size_t)(r - *base);
    if (s->seen[k])
        return sj_error_at(err, SJ_ERR_INPUT, b->path, line, c->replicate + 1,
                           "statistic '%.80s', scope '%.80s': replicate %ld given twice", statistic,
                           scope, r);
    s->seen[k] = 1;
    s->values[k] = v;
    s->rows++;
    return SJ_OK;
}

/* Every series must have a row for each replicate. */
static sj_status check_complete(const rj_reps *b, sj_error *err)
{
    for (size_t k = 0; k < b->n; k++)
        if (b->series[k].rows != b->replicates)
            return sj_error_at(err, SJ_ERR_INPUT, b->path, b->series[k].line, 0,
                               "statistic '%.80s', scope '%.80s' has %zu replicate rows; "
                               "expected %zu (the bootstrap replicates audit.json records)",
                               b->series[k].statistic, b->series[k].scope, b->series[k].rows,
                               b->replicates);
    return SJ_OK;
}

rj_reps *rj_reps_read(const char *path, size_t replicates, sj_error *err)
{
    rj_reps *b = calloc(1, sizeof *b);
    if (!b || !(b->path = sj_strdup(path))) {
        free(b);
        sj_error_set(err, SJ_ERR_WORK, "out of memory");
        return NULL;
    }
    b->replicates = replicates;
    sj_csv_stream *s = sj_csv_stream_open(path, err);
    if (!s) {
        rj_reps_free(b);
        return NULL;
    }
    const sj_table *t = sj_csv_stream_table(s);
    boot_columns c;
    sj_status st = find_columns(t, &c, err);
    long base = -1;
    size_t row;
    int more = 0;
    while (st == SJ_OK && (more = sj_csv_stream_next(s, &row)) == 1)
        st = read_row(b, t, row, &c, &base, err);
    if (st == SJ_OK && more < 0)
        st = err->status ? err->status : SJ_ERR_INPUT;
    if (st == SJ_OK)
        st = check_complete(b, err);
    sj_csv_stream_close(s);
    if (st != SJ_OK) {
        rj_reps_free(b);
        return NULL;
    }
    return b;
}

const double *rj_reps_values(const rj_reps *b, const char *statistic, const char *scope)
{
    if (!b || !b->n_slots || !statistic || !scope)
        return NULL;
    size_t *slot = slot_of(b, statistic, scope);
    return *slot ? b->series[*slot - 1].values : NULL;
}

size_t rj_reps_count(const rj_reps *b)
{
    return b ? b->n : 0;
}

size_t rj_reps_replicates(const rj_reps *b)
{
    return b ? b->replicates : 0;
}

void rj_reps_series_name(const rj_reps *b, size_t k, const char **statistic, const char **scope)
{
    *statistic = b->series[k].statistic;
    *scope = b->series[k].scope;
}

/* ---- pairing ------------------------------------------------------------------- */

/* The number of replicates an audit's "bootstrap" object records (0: none). */
size_t rj_reps_recorded(const cJSON *boot)
{
    double r = rj_num(boot, "replicates");
    return isfinite(r) && r >= 1 && r <= 1e7 && r == floor(r) ? (size_t)r : 0;
}

char *rj_reps_unpaired(const cJSON *before, const cJSON *after, const char *label_before,
                       const char *label_after)
{
    size_t rb = rj_reps_recorded(before), ra = rj_reps_recorded(after);
    if (!rb || !ra)
        return sj_asprintf("%s has no bootstrap replicates", !rb ? label_before : label_after);
    if (rb != ra)
        return sj_asprintf("the audits of %s and %s have different numbers of bootstrap replicates "
                           "(%zu and %zu)",
                           label_before, label_after, rb, ra);
    const cJSON *sb = rj_get(before, "seed"), *sa = rj_get(after, "seed");
    if (!cJSON_IsNumber(sb) || !cJSON_IsNumber(sa) || sb->valuedouble != sa->valuedouble)
        return sj_asprintf(
            "the audits of %s and %s used different bootstrap seeds (%.0f and %.0f), "
            "so their replicates resample different persons",
            label_before, label_after, rj_num(before, "seed"), rj_num(after, "seed"));
    const char *pb = rj_str(before, "persons_sha256"), *pa = rj_str(after, "persons_sha256");
    if (!pb || !pa || strcmp(pb, pa) != 0)
        return sj_asprintf("the audits of %s and %s resampled different persons (persons_sha256 "
                           "differs or is missing)",
                           label_before, label_after);
    return NULL;
}

/* ---- intervals and verdicts ------------------------------------------------------- */

size_t rj_change_interval(const double *before, const double *after, size_t n, int absolute,
                          double *lo, double *hi)
{
    *lo = *hi = NAN;
    double *change = malloc((n ? n : 1) * sizeof *change);
    if (!change)
        return 0;
    for (size_t r = 0; r < n; r++)
        change[r] = absolute ? fabs(after[r]) - fabs(before[r]) : after[r] - before[r];
    size_t m = sj_bootstrap_interval(change, n, RJ_CHANGE_LEVEL, lo, hi);
    free(change);
    return m;
}

const char *rj_change_verdict(double lo, double hi, int better)
{
    if (isnan(lo) || isnan(hi))
        return "not comparable";
    int below = hi<0, above = lo> 0;
    if (!below && !above)
        return "within noise";
    if (better == RJ_BETTER_NONE)
        return below ? "lower" : "higher";
    return (below && better == RJ_BETTER_LOWER) || (above && better == RJ_BETTER_HIGHER)
               ? "improved"
               : "worse";
}

/* Without replicates: the point change against a tolerance of 0.005, the
 * rule compare used before intervals, marked as such. */
static const char *point_verdict(double change, int better)
{
    if (isnan(change))
        return "not comparable";
    if (fabs(change) <= 0.005)
        return "about the same (no interval)";
    if (better == RJ_BETTER_NONE)
        return change < 0 ? "lower (no interval)" : "higher (no interval)";
    return (change < 0) == (better == RJ_BETTER_LOWER) ? "improved (no interval)"
                                                       : "worse (no interval)";
}

/* ---- what each statistic means ------------------------------------------------------ */

static const rj_stat_info STATS[] = {
    {"agreement.qwk", "QWK with the human scores", RJ_BETTER_HIGHER, 0},
    {"agreement.pearson_r", "Pearson r with the human scores", RJ_BETTER_HIGHER, 0},
    {"agreement.smd", "SMD machine \xe2\x88\x92 human", RJ_BETTER_LOWER, 1},
    {"fairness.osa", "Overall score accuracy (OSA)", RJ_BETTER_LOWER, 1},
    {"fairness.osd", "Overall score difference (OSD)", RJ_BETTER_LOWER, 1},
    {"fairness.csd", "Conditional score difference (CSD)", RJ_BETTER_LOWER, 1},
    {"parity.mean_diff", "Mean total, focal \xe2\x88\x92 reference", RJ_BETTER_LOWER, 1},
    {"parity.cohens_d", "Cohen's d of the totals", RJ_BETTER_LOWER, 1},
    {"truth.qwk", "QWK with the true scores", RJ_BETTER_HIGHER, 0},
    {"raters.prmse", "PRMSE", RJ_BETTER_HIGHER, 0},
    {"raters.qwk_machine_human", "QWK machine\xe2\x80\x93human", RJ_BETTER_HIGHER, 0},
    {"raters.qwk_human_human", "QWK human\xe2\x80\x93human", RJ_BETTER_NONE, 0},
    {"raters.degradation_qwk",
     "Degradation (QWK machine\xe2\x80\x93human \xe2\x88\x92 "
     "human\xe2\x80\x93human)",
     RJ_BETTER_HIGHER, 0},
    {"raters.pearson_machine_mean", "Pearson r with the raters' mean", RJ_BETTER_HIGHER, 0},
    {"dif.smd_over_sd", "SMD/SD", RJ_BETTER_LOWER, 1},
    {"dif.delta_mh", "MH delta", RJ_BETTER_LOWER, 1},
    {"dif.smd", "SMD (DIF)", RJ_BETTER_LOWER, 1},
    {"human_dif.smd_over_sd", "SMD/SD of the human scores", RJ_BETTER_LOWER, 1},
    {"human_dif.delta_mh", "MH delta of the human scores", RJ_BETTER_LOWER, 1},
    {"dif_vs_human.abs_change", "|DIF| machine \xe2\x88\x92 human", RJ_BETTER_LOWER, 0},
};

rj_stat_info rj_stat_lookup(const char *statistic)
{
    for (size_t i = 0; i < sizeof STATS / sizeof *STATS; i++)
        if (strcmp(STATS[i].statistic, statistic) == 0)
            return STATS[i];
    rj_stat_info unknown = {statistic, statistic, RJ_BETTER_NONE, 0};
    return unknown;
}

const char *rj_better_name(int better, int absolute)
{
    if (better == RJ_BETTER_HIGHER)
        return "higher";
    if (better == RJ_BETTER_LOWER)
        return absolute ? "closer to zero" : "lower";
    return "none";
}

/* ---- point values in an audit ---------------------------------------------------------- */

static const cJSON *element_named(const cJSON *array, const char *id)
{
    const cJSON *el;
    cJSON_ArrayForEach(el, array)
    {
        const char *name = rj_str(el, "item");
        if (name && strcmp(name, id) == 0)
            return el;
    }
    return NULL;
}

/* The part of a statistic's section that a scope names: "all" the section
 * itself (or its "overall" object), else a group (by_group or groups) or
 * an item (by_item or items, or the section when it is a list of items). */
static const cJSON *scope_object(const cJSON *root, const char *scope)
{
    if (strcmp(scope, "all") == 0)
        return cJSON_IsObject(rj_get(root, "overall")) ? rj_get(root, "overall") : root;
    if (cJSON_IsArray(root))
        return element_named(root, scope);
    const cJSON *o = rj_path(root, "by_group", scope);
    if (!o)
        o = rj_path(root, "groups", scope);
    if (!o)
        o = element_named(rj_get(root, "by_item"), scope);
    if (!o)
        o = element_named(rj_get(root, "items"), scope);
    return o;
}

/* Where a statistic's section sits in an audit document. */
static const cJSON *section_root(const cJSON *audit, const char *prefix, size_t len)
{
    static const char *const map[][2] = {{"agreement", "agreement"},
                                         {"truth", "truth_agreement"},
                                         {"parity", "parity"},
                                         {"raters", "raters"},
                                         {"dif", "dif"},
                                         {"human_dif", "human_dif"},
                                         {"dif_vs_human", "dif_vs_human"}};
    if (len == 8 && strncmp(prefix, "fairness", 8) == 0)
        return rj_path(audit, "agreement", "fairness");
    for (size_t i = 0; i < sizeof map / sizeof *map; i++)
        if (strlen(map[i][0]) == len && strncmp(prefix, map[i][0], len) == 0)
            return rj_get(audit, map[i][1]);
    return NULL;
}

/* A fairness analysis is an object: its value is the member whose
 * interval stands beside it ("<key>_ci"), else the focal coefficient. */
static double analysis_value(const cJSON *analysis)
{
    const cJSON *m;
    cJSON_ArrayForEach(m, analysis)
    {
        char key[96];
        if (cJSON_IsNumber(m) && snprintf(key, sizeof key, "%s_ci", m->string) < (int)sizeof key &&
            rj_get(analysis, key))
            return m->valuedouble;
    }
    return rj_num(analysis, "coef_focal");
}

double rj_stat_value(const cJSON *audit, const char *statistic, const char *scope)
{
    const char *dot = strrchr(statistic, '.');
    if (!dot || !scope)
        return NAN;
    const cJSON *root = section_root(audit, statistic, (size_t)(dot - statistic));
    if (!root)
        return NAN;
    const char *leaf = dot + 1;
    if (strncmp(statistic, "fairness.", 9) == 0)
        return strcmp(scope, "all") == 0 ? analysis_value(rj_get(root, leaf)) : NAN;
    const cJSON *obj = scope_object(root, scope);
    return rj_num(obj, leaf);
}

/* ---- change objects ----------------------------------------------------------------- */

static void add_string_or_null(cJSON *obj, const char *key, const char *s)
{
    if (s)
        cJSON_AddStringToObject(obj, key, s);
    else
        cJSON_AddNullToObject(obj, key);
}

/* "change_ci": [lo, hi] and "replicates" (finite changes), or null and 0. */
static void add_interval(cJSON *obj, const char *key, double lo, double hi, size_t m)
{
    if (m > 0 && !isnan(lo) && !isnan(hi)) {
        cJSON *ci = cJSON_AddArrayToObject(obj, key);
        cJSON_AddItemToArray(ci, cJSON_CreateNumber(lo));
        cJSON_AddItemToArray(ci, cJSON_CreateNumber(hi));
    } else {
        cJSON_AddNullToObject(obj, key);
    }
    cJSON_AddNumberToObject(obj, "replicates", (double)m);
}

/* The verdict of an item without an interval: the class rule. */
static const char *class_verdict(const char *before, const char *after)
{
    int rb = rj_class_rank(before), ra = rj_class_rank(after);
    return rb < 0 || ra < 0 ? "not comparable"
           : ra < rb        ? "improved (no interval)"
           : ra > rb        ? "worse (no interval)"
                            : "same class (no interval)";
}

cJSON *rj_item_change(const cJSON *before, const cJSON *after, const rj_reps *bb, const rj_reps *ba)
{
    rj_effect b, a;
    rj_dif_effect(before, &b);
    rj_dif_effect(after, &a);
    cJSON *c = cJSON_CreateObject();
    add_string_or_null(c, "class_before", b.cls);
    add_string_or_null(c, "class_after", a.cls);
    const char *statistic = b.polytomous ? "dif.smd_over_sd" : "dif.delta_mh";
    cJSON_AddStringToObject(c, "effect", b.polytomous ? "smd_over_sd" : "delta_mh");
    sj_json_add_number(c, "effect_before", b.value);
    sj_json_add_number(c, "effect_after", a.value);
    sj_json_add_number(c, "abs_effect_change", fabs(a.value) - fabs(b.value));
    const char *id = rj_str(before, "item");
    const double *xb = rj_reps_values(bb, statistic, id), *xa = rj_reps_values(ba, statistic, id);
    double lo = NAN, hi = NAN;
    size_t m = 0;
    if (xb && xa && after)
        m = rj_change_interval(xb, xa, rj_reps_replicates(bb), 1, &lo, &hi);
    add_interval(c, "abs_effect_change_ci", lo, hi, m);
    int has_interval = m > 0 && !isnan(lo);
    cJSON_AddStringToObject(c, "verdict",
                            has_interval ? rj_change_verdict(lo, hi, RJ_BETTER_LOWER)
                                         : class_verdict(b.cls, a.cls));
    cJSON_AddStringToObject(c, "basis", has_interval ? "interval" : "class");
    return c;
}

/* "overall", "group G" or "item I", as a table row names a scope. */
static char *scope_label(const cJSON *audit, const char *scope)
{
    if (strcmp(scope, "all") == 0)
        return sj_strdup("overall");
    if (element_named(rj_path(audit, "dif", "items"), scope))
        return sj_asprintf("item %s", scope);
    return sj_asprintf("group %s", scope);
}

static cJSON *statistic_change(const cJSON *ab, const cJSON *aa, const rj_reps *bb,
                               const rj_reps *ba, const char *statistic, const char *scope)
{
    rj_stat_info info = rj_stat_lookup(statistic);
    double vb = rj_stat_value(ab, statistic, scope), va = rj_stat_value(aa, statistic, scope);
    double change = info.absolute ? fabs(va) - fabs(vb) : va - vb;
    cJSON *c = cJSON_CreateObject();
    char *where = scope_label(ab, scope);
    char *label = where ? sj_asprintf("%s, %s", info.label, where) : NULL;
    cJSON_AddStringToObject(c, "statistic", statistic);
    cJSON_AddStringToObject(c, "scope", scope);
    cJSON_AddStringToObject(c, "label", label ? label : statistic);
    free(where);
    free(label);
    cJSON_AddStringToObject(c, "compared", info.absolute ? "absolute value" : "value");
    cJSON_AddStringToObject(c, "better", rj_better_name(info.better, info.absolute));
    sj_json_add_number(c, "before", vb);
    sj_json_add_number(c, "after", va);
    sj_json_add_number(c, "change", change);
    const double *xb = rj_reps_values(bb, statistic, scope),
                 *xa = rj_reps_values(ba, statistic, scope);
    double lo = NAN, hi = NAN;
    size_t m = 0;
    if (xb && xa)
        m = rj_change_interval(xb, xa, rj_reps_replicates(bb), info.absolute, &lo, &hi);
    add_interval(c, "change_ci", lo, hi, m);
    int has_interval = m > 0 && !isnan(lo);
    cJSON_AddStringToObject(c, "verdict",
                            has_interval ? rj_change_verdict(lo, hi, info.better)
                                         : point_verdict(change, info.better));
    cJSON_AddStringToObject(c, "basis", has_interval ? "interval" : "point");
    return c;
}

/* Statistics compared whenever both audits have their values, bootstrap
 * or not, over these scopes (0: overall; 1: overall and both groups). */
static const struct {
    const char *statistic;
    int by_group;
} CATALOGUE[] = {
    {"agreement.qwk", 1},
    {"agreement.pearson_r", 1},
    {"agreement.smd", 1},
    {"fairness.osa", 0},
    {"fairness.osd", 0},
    {"fairness.csd", 0},
    {"parity.mean_diff", 0},
    {"parity.cohens_d", 0},
    {"truth.qwk", 1},
    {"raters.prmse", 1},
    {"raters.qwk_machine_human", 1},
    {"raters.degradation_qwk", 1},
};

static int in_catalogue(const char *statistic, const char *scope, const char *ref,
                        const char *focal)
{
    for (size_t i = 0; i < sizeof CATALOGUE / sizeof *CATALOGUE; i++)
        if (strcmp(CATALOGUE[i].statistic, statistic) == 0)
            return strcmp(scope, "all") == 0 ||
                   (CATALOGUE[i].by_group &&
                    ((ref && strcmp(scope, ref) == 0) || (focal && strcmp(scope, focal) == 0)));
    return 0;
}

/* The item effects are compared in the item rows, not here. */
static int item_effect(const char *statistic)
{
    return strcmp(statistic, "dif.smd_over_sd") == 0 || strcmp(statistic, "dif.delta_mh") == 0;
}

static int comparable(const cJSON *ab, const cJSON *aa, const rj_reps *bb, const rj_reps *ba,
                      const char *statistic, const char *scope)
{
    if (rj_reps_values(bb, statistic, scope) && rj_reps_values(ba, statistic, scope))
        return 1;
    return !isnan(rj_stat_value(ab, statistic, scope)) &&
           !isnan(rj_stat_value(aa, statistic, scope));
}

cJSON *rj_statistic_changes(const cJSON *ab, const cJSON *aa, const rj_reps *bb, const rj_reps *ba)
{
    cJSON *list = cJSON_CreateArray();
    const char *ref = rj_str(rj_get(ab, "settings"), "reference");
    const char *focal = rj_str(rj_get(ab, "settings"), "focal");
    for (size_t i = 0; i < sizeof CATALOGUE / sizeof *CATALOGUE; i++) {
        const char *scopes[3] = {"all", ref, focal};
        for (int s = 0; s < (CATALOGUE[i].by_group ? 3 : 1); s++)
            if (scopes[s] && comparable(ab, aa, bb, ba, CATALOGUE[i].statistic, scopes[s]))
                cJSON_AddItemToArray(
                    list, statistic_change(ab, aa, bb, ba, CATALOGUE[i].statistic, scopes[s]));
    }
    for (size_t k = 0; bb && ba && k < rj_reps_count(bb); k++) {
        const char *statistic, *scope;
        rj_reps_series_name(bb, k, &statistic, &scope);
        if (item_effect(statistic) || in_catalogue(statistic, scope, ref, focal) ||
            !rj_reps_values(ba, statistic, scope))
            continue;
        cJSON_AddItemToArray(list, statistic_change(ab, aa, bb, ba, statistic, scope));
    }
    return list;
}

/* ---- the bootstraps of a comparison ---------------------------------------------------- */

static void add_warning(cJSON *warnings, char *msg)
{
    if (msg)
        cJSON_AddItemToArray(warnings, cJSON_CreateString(msg));
    free(msg);
}

/* An audit's bootstrap file: the name its "bootstrap" object gives, read
 * only inside the audit's folder. */
static char *boot_path(const char *dir, const cJSON *boot)
{
    const char *file = rj_str(boot, "file");
    const char *base = file ? sj_path_base(file) : NULL;
    if (!base || !base[0] || strcmp(base, ".") == 0 || strcmp(base, "..") == 0)
        base = "bootstrap.csv";
    return sj_path_join(dir, base);
}

static int file_present(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (f)
        fclose(f);
    return f != NULL;
}

/* Reads the bootstrap file of audit k; a missing file is a warning (no
 * interval), a bad one an input error. */
static sj_status load_boot(const rj_compare_audits *c, size_t k, rj_reps **out, cJSON *warnings,
                           sj_error *err)
{
    const cJSON *boot = rj_get(c->audits[k], "bootstrap");
    char *path = boot_path(c->dirs[k], boot);
    if (!path)
        return sj_error_set(err, SJ_ERR_WORK, "out of memory");
    sj_status st = SJ_OK;
    if (!file_present(path))
        add_warning(warnings, sj_asprintf("the audit of %s records a bootstrap, but %s is missing: "
                                          "no change interval for %s",
                                          c->labels[k], path, c->labels[k]));
    else if (!(*out = rj_reps_read(path, rj_reps_recorded(boot), err)))
        st = err->status ? err->status : SJ_ERR_INPUT;
    free(path);
    return st;
}

static cJSON *pairing_entry(const cJSON *boot, int paired, const char *reason)
{
    cJSON *e = cJSON_CreateObject();
    cJSON_AddBoolToObject(e, "paired", paired);
    cJSON_AddNumberToObject(e, "replicates", (double)rj_reps_recorded(boot));
    sj_json_add_number(e, "seed", rj_num(boot, "seed"));
    add_string_or_null(e, "persons_sha256", rj_str(boot, "persons_sha256"));
    add_string_or_null(e, "reason", paired ? NULL : reason);
    return e;
}

cJSON *rj_compare_bootstraps(const rj_compare_audits *c, rj_reps **boots, cJSON *warnings,
                             sj_error *err)
{
    char **reasons = calloc(c->n, sizeof *reasons);
    cJSON *o = cJSON_CreateObject();
    if (!reasons || !o) {
        free(reasons);
        cJSON_Delete(o);
        sj_error_set(err, SJ_ERR_WORK, "out of memory");
        return NULL;
    }
    const cJSON *b0 = rj_get(c->audits[0], "bootstrap");
    int any = 0;
    for (size_t k = 1; k < c->n; k++) {
        const cJSON *bk = rj_get(c->audits[k], "bootstrap");
        reasons[k] = rj_reps_unpaired(b0, bk, c->labels[0], c->labels[k]);
        any |= !reasons[k];
        /* Two audits without any bootstrap need no warning: the page says
         * "(no interval)" throughout. */
        if (reasons[k] && (rj_reps_recorded(b0) || rj_reps_recorded(bk)))
            add_warning(warnings, sj_asprintf("no change interval for %s \xe2\x86\x92 %s: %s",
                                              c->labels[0], c->labels[k], reasons[k]));
    }
    sj_status st = SJ_OK;
    for (size_t k = 0; k < c->n && st == SJ_OK; k++)
        if (k == 0 ? any : !reasons[k])
            st = load_boot(c, k, &boots[k], warnings, err);
    cJSON_AddNumberToObject(o, "level", RJ_CHANGE_LEVEL);
    cJSON_AddStringToObject(o, "method",
                            "paired percentile (type 7) of the change, replicate by "
                            "replicate");
    cJSON *by = cJSON_AddObjectToObject(o, "by_label");
    for (size_t k = 1; k < c->n && st == SJ_OK; k++) {
        int paired = !reasons[k] && boots[0] && boots[k];
        if (!paired && !reasons[k])
            reasons[k] = sj_asprintf("a bootstrap file is missing");
        cJSON_AddItemToObject(by, c->labels[k],
                              pairing_entry(rj_get(c->audits[k], "bootstrap"), paired, reasons[k]));
    }
    for (size_t k = 0; k < c->n; k++)
        free(reasons[k]);
    free(reasons);
    if (st != SJ_OK) {
        cJSON_Delete(o);
        return NULL;
    }
    return o;
}

/* ---- reading changes back out of a compare document ------------------------------------ */

const cJSON *rj_item_change_of(const cJSON *row, const char *label)
{
    const cJSON *by = rj_get(row, "change_by_label");
    return by ? rj_get(by, label) : rj_get(row, "change");
}

const cJSON *rj_changes_of(const cJSON *doc, const char *label)
{
    const cJSON *by = rj_get(doc, "changes_by_label");
    return by ? rj_get(by, label) : rj_get(doc, "changes");
}

const cJSON *rj_find_change(const cJSON *changes, const char *statistic, const char *scope)
{
    const cJSON *c;
    cJSON_ArrayForEach(c, changes)
    {
        const char *st = rj_str(c, "statistic"), *sc = rj_str(c, "scope");
        if (st && sc && scope && strcmp(st, statistic) == 0 && strcmp(sc, scope) == 0)
            return c;
    }
    return NULL;
}
