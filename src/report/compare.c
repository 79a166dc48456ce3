/* The before/after comparison of two or more audits of the same instrument
 * and groups: per-item DIF changes, parity and agreement changes, and the
 * PPO training curves when a training log is given. */
#include "report_internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

char **sj_split_labels(const char *text, size_t n, sj_error *err)
{
    char **labels = calloc(n ? n : 1, sizeof *labels);
    if (!labels) {
        sj_error_set(err, SJ_ERR_WORK, "out of memory");
        return NULL;
    }
    size_t k = 0;
    const char *start = text;
    for (const char *c = text;; c++) {
        if (*c != ',' && *c != '\0')
            continue;
        const char *a = start, *b = c;
        while (a < b && (*a == ' ' || *a == '\t'))
            a++;
        while (b > a && (b[-1] == ' ' || b[-1] == '\t'))
            b--;
        if (k == n || a == b) {
            sj_labels_free(labels, n);
            sj_error_set(err, SJ_ERR_INPUT,
                         "--labels must give %zu non-empty labels separated by commas "
                         "(one per audit: before first), got '%.200s'",
                         n, text);
            return NULL;
        }
        labels[k++] = sj_strndup(a, (size_t)(b - a));
        if (*c == '\0')
            break;
        start = c + 1;
    }
    if (k != n) {
        sj_labels_free(labels, n);
        sj_error_set(err, SJ_ERR_INPUT,
                     "--labels gives %zu labels for %zu audits (before first, then each "
                     "--after)",
                     k, n);
        return NULL;
    }
    return labels;
}

void sj_labels_free(char **labels, size_t n)
{
    if (!labels)
        return;
    for (size_t i = 0; i < n; i++)
        free(labels[i]);
    free(labels);
}

/* ---- reading audits ----------------------------------------------------------- */

cJSON *rj_load_audit(const char *dir, sj_error *err)
{
    char *path = sj_path_join(dir, "audit.json");
    if (!path) {
        sj_error_set(err, SJ_ERR_WORK, "out of memory");
        return NULL;
    }
    FILE *probe = fopen(path, "rb");
    if (!probe) {
        sj_error_set(err, SJ_ERR_INPUT,
                     "%s: no audit.json in this folder (is it a folder written by `sjtalign "
                     "audit`?)",
                     dir);
        free(path);
        return NULL;
    }
    fclose(probe);
    cJSON *doc = sj_json_read(path, err);
    if (doc) {
        double version = rj_num(doc, "schema_version");
        const char *kind = rj_str(doc, "kind");
        if (!kind || strcmp(kind, "sjtalign-audit") != 0 ||
            !cJSON_IsArray(rj_path(doc, "dif", "items")) || !rj_get(doc, "instrument") ||
            !rj_get(doc, "settings")) {
            sj_error_at(err, SJ_ERR_INPUT, path, 0, 0,
                        "not an sjtalign audit document (kind, instrument, settings or "
                        "dif.items missing)");
            cJSON_Delete(doc);
            doc = NULL;
        } else if (version != SJ_AUDIT_SCHEMA_VERSION) {
            sj_error_at(err, SJ_ERR_INPUT, path, 0, 0,
                        "audit schema version %g; this sjtalign reads version %d", version,
                        SJ_AUDIT_SCHEMA_VERSION);
            cJSON_Delete(doc);
            doc = NULL;
        }
    } else {
        err->status = SJ_ERR_INPUT;
    }
    free(path);
    return doc;
}

static int same_string(const char *a, const char *b)
{
    return a && b && strcmp(a, b) == 0;
}

/* Audits of different instruments, or of different groups, cannot be set
 * side by side. */
static sj_status check_comparable(cJSON *const *audits, const sj_compare_options *o, sj_error *err)
{
    const cJSON *ins0 = rj_get(audits[0], "instrument");
    const cJSON *set0 = rj_get(audits[0], "settings");
    for (size_t k = 1; k < o->n_audits; k++) {
        const cJSON *ins = rj_get(audits[k], "instrument");
        const cJSON *set = rj_get(audits[k], "settings");
        if (!same_string(rj_str(ins0, "id"), rj_str(ins, "id")) ||
            !cJSON_Compare(rj_get(ins0, "items"), rj_get(ins, "items"), 1))
            return sj_error_set(err, SJ_ERR_INPUT,
                                "%s and %s audit different instruments ('%.80s' and '%.80s', or "
                                "different items): only audits of one instrument can be compared",
                                o->dirs[0], o->dirs[k],
                                rj_str(ins0, "id") ? rj_str(ins0, "id") : "?",
                                rj_str(ins, "id") ? rj_str(ins, "id") : "?");
        if (!same_string(rj_str(set0, "reference"), rj_str(set, "reference")) ||
            !same_string(rj_str(set0, "focal"), rj_str(set, "focal")))
            return sj_error_set(err, SJ_ERR_INPUT,
                                "%s and %s compare different groups: reference and focal must be "
                                "the same in every audit",
                                o->dirs[0], o->dirs[k]);
    }
    return SJ_OK;
}

void rj_settings_warnings_add(cJSON *warnings, const cJSON *set0, const cJSON *set,
                              const char *label0, const char *label)
{
    static const char *const keys[] = {"match",        "purify",       "adjust",  "cut",
                                       "human_column", "score_column", "min_cell"};
    for (size_t i = 0; i < sizeof keys / sizeof *keys; i++) {
        const cJSON *a = rj_get(set0, keys[i]), *b = rj_get(set, keys[i]);
        if ((a || b) && !(a && b && cJSON_Compare(a, b, 1))) {
            char *msg =
                sj_asprintf("setting '%s' differs between %s and %s", keys[i], label0, label);
            if (msg)
                cJSON_AddItemToArray(warnings, cJSON_CreateString(msg));
            free(msg);
        }
    }
}

/* Settings that change what a number means; a difference is reported. */
static cJSON *settings_warnings(cJSON *const *audits, char **labels, size_t n)
{
    cJSON *w = cJSON_CreateArray();
    const cJSON *set0 = rj_get(audits[0], "settings");
    for (size_t k = 1; k < n; k++)
        rj_settings_warnings_add(w, set0, rj_get(audits[k], "settings"), labels[0], labels[k]);
    return w;
}

static const cJSON *find_item(const cJSON *audit, const char *id)
{
    const cJSON *it;
    cJSON_ArrayForEach(it, rj_path(audit, "dif", "items"))
    {
        if (same_string(rj_str(it, "item"), id))
            return it;
    }
    return NULL;
}

static cJSON *dup_or_null(const cJSON *v)
{
    return v ? cJSON_Duplicate(v, 1) : cJSON_CreateNull();
}

/* What happened to one item between the first audit and audit k. */
static cJSON *item_change(const cJSON *before, const cJSON *after)
{
    rj_effect b, a;
    rj_dif_effect(before, &b);
    rj_dif_effect(after, &a);
    cJSON *c = cJSON_CreateObject();
    if (b.cls)
        cJSON_AddStringToObject(c, "class_before", b.cls);
    else
        cJSON_AddNullToObject(c, "class_before");
    if (a.cls)
        cJSON_AddStringToObject(c, "class_after", a.cls);
    else
        cJSON_AddNullToObject(c, "class_after");
    cJSON_AddStringToObject(c, "effect", b.polytomous ? "smd_over_sd" : "delta_mh");
    sj_json_add_number(c, "effect_before", b.value);
    sj_json_add_number(c, "effect_after", a.value);
    sj_json_add_number(c, "abs_effect_change", fabs(a.value) - fabs(b.value));
    int rb = rj_class_rank(b.cls), ra = rj_class_rank(a.cls);
    const char *verdict = rb < 0 || ra < 0 ? "not comparable"
                          : ra < rb        ? "improved"
                          : ra > rb        ? "worsened"
                                           : "same class";
    cJSON_AddStringToObject(c, "verdict", verdict);
    return c;
}

static cJSON *items_json(cJSON *const *audits, char **labels, size_t n)
{
    cJSON *items = cJSON_CreateArray();
    const cJSON *it0;
    cJSON_ArrayForEach(it0, rj_path(audits[0], "dif", "items"))
    {
        const char *id = rj_str(it0, "item");
        cJSON *row = cJSON_CreateObject();
        cJSON_AddStringToObject(row, "item", id ? id : "");
        cJSON_AddItemToObject(row, "type", dup_or_null(rj_get(it0, "type")));
        const cJSON *after = find_item(audits[1], id);
        cJSON_AddItemToObject(row, "before", cJSON_Duplicate(it0, 1));
        cJSON_AddItemToObject(row, "after", dup_or_null(after));
        cJSON_AddItemToObject(row, "change", item_change(it0, after));
        if (n > 2) {
            cJSON *by = cJSON_AddObjectToObject(row, "by_label");
            cJSON *changes = cJSON_AddObjectToObject(row, "change_by_label");
            for (size_t k = 0; k < n; k++) {
                const cJSON *x = k == 0 ? it0 : find_item(audits[k], id);
                cJSON_AddItemToObject(by, labels[k], dup_or_null(x));
                if (k > 0)
                    cJSON_AddItemToObject(changes, labels[k], item_change(it0, x));
            }
        }
        cJSON_AddItemToArray(items, row);
    }
    return items;
}

static cJSON *before_after(cJSON *const *audits, char **labels, size_t n, const char *key)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddItemToObject(o, "before", dup_or_null(rj_get(audits[0], key)));
    cJSON_AddItemToObject(o, "after", dup_or_null(rj_get(audits[1], key)));
    if (n > 2) {
        cJSON *by = cJSON_AddObjectToObject(o, "by_label");
        for (size_t k = 0; k < n; k++)
            cJSON_AddItemToObject(by, labels[k], dup_or_null(rj_get(audits[k], key)));
    }
    return o;
}

const char *rj_truth_checksum(const cJSON *audit)
{
    const cJSON *in;
    cJSON_ArrayForEach(in, rj_path(audit, "provenance", "inputs"))
    {
        const char *role = rj_str(in, "role");
        if (role && strcmp(role, "truth") == 0)
            return rj_str(in, "sha256");
    }
    return NULL;
}

/* Agreement with the true scores, when every audit has it: each audit's
 * "truth_agreement" as "before", "after" and "by_label", the human
 * raters' own agreement with the truth (from the first audit), and the
 * label whose modal scores agree best with the true scores (highest QWK;
 * ties are listed). Otherwise null. */
static cJSON *truth_json(cJSON *const *audits, char **labels, size_t n)
{
    for (size_t k = 0; k < n; k++)
        if (!cJSON_IsObject(rj_get(audits[k], "truth_agreement")))
            return cJSON_CreateNull();
    cJSON *o = before_after(audits, labels, n, "truth_agreement");
    /* Each audit's copy holds the same human block; it is kept once. */
    const cJSON *human = rj_path(audits[0], "truth_agreement", "human");
    cJSON_AddItemToObject(o, "human", dup_or_null(cJSON_IsObject(human) ? human : NULL));
    double best = -INFINITY;
    for (size_t k = 0; k < n; k++) {
        double q = rj_num(rj_get(audits[k], "truth_agreement"), "qwk");
        if (!isnan(q) && q > best)
            best = q;
    }
    cJSON *labels_best = cJSON_AddArrayToObject(o, "best");
    for (size_t k = 0; k < n && isfinite(best); k++)
        if (rj_num(rj_get(audits[k], "truth_agreement"), "qwk") == best)
            cJSON_AddItemToArray(labels_best, cJSON_CreateString(labels[k]));
    sj_json_add_number(o, "best_qwk", isfinite(best) ? best : NAN);
    cJSON_AddStringToObject(o, "best_by", "qwk");
    return o;
}

/* Truth files that differ between audits make their truth agreement
 * incomparable. */
static void truth_warnings(cJSON *warnings, cJSON *const *audits, char **labels, size_t n)
{
    const char *first = rj_truth_checksum(audits[0]);
    for (size_t k = 1; k < n; k++) {
        const char *c = rj_truth_checksum(audits[k]);
        if (!first || !c || strcmp(first, c) == 0)
            continue;
        char *msg = sj_asprintf("the truth file differs between %s and %s (other checksum)",
                                labels[0], labels[k]);
        if (msg)
            cJSON_AddItemToArray(warnings, cJSON_CreateString(msg));
        free(msg);
    }
}

/* ---- the training log ------------------------------------------------------------- */

static int wanted_metric(const char *name)
{
    if (strcmp(name, "objective/scores") == 0 || strcmp(name, "gold/scores") == 0 ||
        strcmp(name, "objective/kl") == 0 || strcmp(name, "eval/reward") == 0 ||
        strcmp(name, "eval/kl") == 0 || strcmp(name, "gold/eval") == 0)
        return 1;
    size_t n = strlen(name);
    return strncmp(name, "group/", 6) == 0 && n > 17 && strcmp(name + n - 11, "/mean_score") == 0;
}

/* {"path", "sha256", "steps": [...], "series": {name: [...]}} from a JSON
 * lines log; lines without a "step" are skipped, a malformed line is an
 * input error naming its line. */
static cJSON *training_log_json(const char *path, sj_error *err)
{
    char *text = NULL;
    size_t len = 0;
    if (sj_read_file(path, &text, &len, err) != SJ_OK) {
        err->status = SJ_ERR_INPUT;
        return NULL;
    }
    cJSON *log = cJSON_CreateObject();
    cJSON_AddStringToObject(log, "path", path);
    char hex[65];
    sj_sha256_hex(text, len, hex);
    cJSON_AddStringToObject(log, "sha256", hex);
    cJSON *steps = cJSON_AddArrayToObject(log, "steps");
    cJSON *series = cJSON_AddObjectToObject(log, "series");
    long line_no = 0;
    int n_steps = 0;
    for (char *line = text; line && *line;) {
        char *next = strchr(line, '\n');
        if (next)
            *next++ = '\0';
        line_no++;
        const char *c = line;
        while (*c == ' ' || *c == '\t' || *c == '\r')
            c++;
        if (*c == '\0') {
            line = next;
            continue;
        }
        /* checked like any JSON input: a key twice is an error */
        cJSON *rec = sj_json_parse_line(path, line_no, line, err);
        if (!cJSON_IsObject(rec)) {
            if (rec)
                sj_error_at(err, SJ_ERR_INPUT, path, line_no, 0,
                            "not a JSON object (a training log has one object per line)");
            cJSON_Delete(rec);
            cJSON_Delete(log);
            free(text);
            return NULL;
        }
        double step = rj_num(rec, "step");
        if (!isnan(step)) {
            cJSON_AddItemToArray(steps, cJSON_CreateNumber(step));
            const cJSON *m;
            cJSON_ArrayForEach(m, rec)
            {
                if (!wanted_metric(m->string))
                    continue;
                cJSON *arr = cJSON_GetObjectItemCaseSensitive(series, m->string);
                if (!arr) {
                    arr = cJSON_AddArrayToObject(series, m->string);
                    for (int k = 0; k < n_steps; k++)
                        cJSON_AddItemToArray(arr, cJSON_CreateNull());
                }
                cJSON_AddItemToArray(arr, cJSON_IsNumber(m) ? cJSON_CreateNumber(m->valuedouble)
                                                            : cJSON_CreateNull());
            }
            n_steps++;
            /* Metrics missing from this line stay aligned with the steps. */
            cJSON *arr;
            cJSON_ArrayForEach(arr, series)
            {
                while (cJSON_GetArraySize(arr) < n_steps)
                    cJSON_AddItemToArray(arr, cJSON_CreateNull());
            }
        }
        cJSON_Delete(rec);
        line = next;
    }
    free(text);
    return log;
}

/* ---- plain-language summary ----------------------------------------------------------- */

/* The item, parity or agreement object of audit k inside the document. */
static const cJSON *audit_part(const cJSON *doc, const char *key, const char *label, int k)
{
    const cJSON *part = rj_get(doc, key);
    if (rj_get(part, "by_label"))
        return rj_path(part, "by_label", label);
    return rj_get(part, k == 0 ? "before" : "after");
}

static const cJSON *change_for(const cJSON *row, const char *label)
{
    const cJSON *by = rj_get(row, "change_by_label");
    return by ? rj_get(by, label) : rj_get(row, "change");
}

static void dif_line(sj_buf *b, const cJSON *doc, const char *before, const char *label)
{
    int flagged_before = 0, flagged_after = 0;
    sj_buf improved = {0}, worsened = {0};
    const cJSON *row;
    cJSON_ArrayForEach(row, rj_get(doc, "items"))
    {
        const cJSON *ch = change_for(row, label);
        const char *v = rj_str(ch, "verdict");
        const char *cb = rj_str(ch, "class_before"), *ca = rj_str(ch, "class_after");
        flagged_before += rj_class_rank(cb) > 0;
        flagged_after += rj_class_rank(ca) > 0;
        sj_buf *list = v && strcmp(v, "improved") == 0   ? &improved
                       : v && strcmp(v, "worsened") == 0 ? &worsened
                                                         : NULL;
        if (list)
            sj_buf_printf(list, "%s%s %s->%s", list->len ? ", " : "", rj_str(row, "item"), cb, ca);
    }
    sj_buf_printf(b, "DIF (%s -> %s): items flagged B/C %d -> %d; improved: %s; worsened: %s",
                  before, label, flagged_before, flagged_after,
                  improved.len ? improved.data : "none", worsened.len ? worsened.data : "none");
    if (sj_buf_failed(&improved) || sj_buf_failed(&worsened))
        sj_buf_fail(b); /* the line would name too few items */
    sj_buf_free(&improved);
    sj_buf_free(&worsened);
}

static void parity_line(sj_buf *b, const cJSON *doc, const char *before, const char *label, int k)
{
    const cJSON *pb = audit_part(doc, "parity", before, 0),
                *pa = audit_part(doc, "parity", label, k);
    sj_buf_printf(b, "Parity (%s -> %s): focal minus reference %.2f -> %.2f points, d %.2f -> %.2f",
                  before, label, rj_num(pb, "mean_diff"), rj_num(pa, "mean_diff"),
                  rj_num(pb, "cohens_d"), rj_num(pa, "cohens_d"));
    if (!isnan(rj_num(pa, "adverse_impact_ratio")))
        sj_buf_printf(b, ", adverse impact ratio %.2f -> %.2f%s",
                      rj_num(pb, "adverse_impact_ratio"), rj_num(pa, "adverse_impact_ratio"),
                      cJSON_IsTrue(rj_get(pa, "four_fifths_flag")) ? " (below four-fifths)" : "");
}

static void tax_line(sj_buf *b, const cJSON *doc, const char *before, const char *label, int k)
{
    const cJSON *ab = audit_part(doc, "agreement", before, 0);
    const cJSON *aa = audit_part(doc, "agreement", label, k);
    if (!cJSON_IsObject(ab) || !cJSON_IsObject(aa)) {
        sj_buf_printf(b, "Alignment tax (%s -> %s): not assessed (no human scores)", before, label);
        return;
    }
    double qb = rj_num(ab, "qwk"), qa = rj_num(aa, "qwk");
    double eb = rj_num(ab, "exact"), ea = rj_num(aa, "exact");
    const char *verdict = qa - qb < -0.005 || ea - eb < -0.005 ? "agreement with human scores fell"
                                                               : "none, agreement held or rose";
    sj_buf_printf(
        b, "Alignment tax (%s -> %s): %s: QWK %.3f -> %.3f, exact agreement %.1f%% -> %.1f%%",
        before, label, verdict, qb, qa, 100 * eb, 100 * ea);
}

static void truth_line(sj_buf *b, const cJSON *doc, const char *before, const char *label, int k)
{
    const cJSON *tb = audit_part(doc, "truth_agreement", before, 0);
    const cJSON *ta = audit_part(doc, "truth_agreement", label, k);
    const cJSON *ab = audit_part(doc, "agreement", before, 0);
    const cJSON *aa = audit_part(doc, "agreement", label, k);
    double qb = rj_num(tb, "qwk"), qa = rj_num(ta, "qwk");
    sj_buf_printf(b,
                  "Agreement with the true scores (%s -> %s): %s: QWK %.3f -> %.3f, exact "
                  "agreement %.1f%% -> %.1f%%",
                  before, label,
                  qa - qb > 0.0005    ? "rose"
                  : qa - qb < -0.0005 ? "fell"
                                      : "held",
                  qb, qa, 100 * rj_num(tb, "exact"), 100 * rj_num(ta, "exact"));
    if (cJSON_IsObject(ab) && cJSON_IsObject(aa))
        sj_buf_printf(b, "; with the human scores QWK %.3f -> %.3f", rj_num(ab, "qwk"),
                      rj_num(aa, "qwk"));
}

/* Which scorer is closest to the truth, beside the human raters. */
static void truth_best_line(sj_buf *b, const cJSON *doc)
{
    const cJSON *truth = rj_get(doc, "truth_agreement");
    const cJSON *best = rj_get(truth, "best");
    int n = cJSON_GetArraySize(best);
    if (n == 0) {
        sj_buf_printf(b, "Agreement with the true scores: no audit has a defined QWK");
        return;
    }
    for (int i = 0; i < n; i++)
        sj_buf_printf(b, "%s%s",
                      i == 0       ? ""
                      : i == n - 1 ? " and "
                                   : ", ",
                      cJSON_GetArrayItem(best, i)->valuestring);
    sj_buf_printf(b, " %s best with the true scores (QWK %.3f)", n > 1 ? "agree equally" : "agrees",
                  rj_num(truth, "best_qwk"));
    const cJSON *human = rj_get(truth, "human");
    if (cJSON_IsObject(human))
        sj_buf_printf(b, "; the human scores reach QWK %.3f", rj_num(human, "qwk"));
}

int rj_training_trend(const cJSON *log, const char *fixed_key, const char *batch_key, rj_trend *t)
{
    const cJSON *steps = rj_get(log, "steps");
    const cJSON *series = fixed_key ? rj_path(log, "series", fixed_key) : NULL;
    t->fixed_set = series != NULL;
    if (!series)
        series = rj_path(log, "series", batch_key);
    t->first = t->last = t->peak_step = NAN;
    t->peak = -INFINITY;
    t->fell = 0;
    if (!series)
        return 0;
    int n = cJSON_GetArraySize(steps);
    for (int i = 0; i < n; i++) {
        const cJSON *v = cJSON_GetArrayItem(series, i);
        if (!cJSON_IsNumber(v))
            continue;
        if (isnan(t->first))
            t->first = v->valuedouble;
        t->last = v->valuedouble;
        if (v->valuedouble > t->peak) {
            t->peak = v->valuedouble;
            t->peak_step = cJSON_GetArrayItem(steps, i)->valuedouble;
        }
    }
    double rise = t->peak - t->first;
    t->fell = isfinite(t->peak) && rise > 0 && t->peak - t->last > 0.25 * rise;
    return 1;
}

static void training_line(sj_buf *b, const cJSON *log)
{
    rj_trend rew, gold;
    rj_training_trend(log, "eval/reward", "objective/scores", &rew);
    int has_gold = rj_training_trend(log, "gold/eval", "gold/scores", &gold);
    sj_buf_printf(b, "PPO training (%d logged steps): %s %.3f -> %.3f",
                  cJSON_GetArraySize(rj_get(log, "steps")),
                  rew.fixed_set ? "reward on the fixed set" : "reward", rew.first, rew.last);
    if (has_gold && !isnan(gold.first)) {
        sj_buf_printf(b, ", %s %.3f -> %.3f", gold.fixed_set ? "gold on the fixed set" : "gold",
                      gold.first, gold.last);
        if (gold.fell)
            sj_buf_printf(b, " (gold peaked at step %.0f and fell: possible reward hacking)",
                          gold.peak_step);
    }
}

/* One plain-text line per finding, for terminals and readers of the JSON;
 * the page says the same with more detail. NULL when out of memory. */
static cJSON *summary_lines(const cJSON *doc)
{
    cJSON *lines = cJSON_CreateArray();
    if (!lines)
        return NULL;
    const cJSON *audits = rj_get(doc, "audits");
    int n = cJSON_GetArraySize(audits);
    const char *before = rj_str(cJSON_GetArrayItem(audits, 0), "label");
    int has_truth = cJSON_IsObject(rj_get(doc, "truth_agreement"));
    int failed = 0;
    sj_buf b = {0};
    for (int k = 1; k < n; k++) {
        const char *label = rj_str(cJSON_GetArrayItem(audits, k), "label");
        dif_line(&b, doc, before, label);
        failed |= rj_take_line(lines, &b);
        parity_line(&b, doc, before, label, k);
        failed |= rj_take_line(lines, &b);
        tax_line(&b, doc, before, label, k);
        failed |= rj_take_line(lines, &b);
        if (has_truth) {
            truth_line(&b, doc, before, label, k);
            failed |= rj_take_line(lines, &b);
        }
    }
    if (has_truth) {
        truth_best_line(&b, doc);
        failed |= rj_take_line(lines, &b);
    }
    if (cJSON_IsObject(rj_get(doc, "training_log"))) {
        training_line(&b, rj_get(doc, "training_log"));
        failed |= rj_take_line(lines, &b);
    }
    if (failed) {
        cJSON_Delete(lines);
        return NULL;
    }
    return lines;
}

/* ---- the document ----------------------------------------------------------------- */

cJSON *sj_compare_build(const sj_compare_options *o, sj_error *err)
{
    if (o->n_audits < 2) {
        sj_error_set(err, SJ_ERR_INPUT, "compare needs a --before and at least one --after");
        return NULL;
    }
    cJSON **audits = calloc(o->n_audits, sizeof *audits);
    char **labels = calloc(o->n_audits, sizeof *labels);
    cJSON *doc = NULL;
    if (!audits || !labels) {
        sj_error_set(err, SJ_ERR_WORK, "out of memory");
        goto done;
    }
    for (size_t k = 0; k < o->n_audits; k++) {
        labels[k] = o->labels          ? sj_strdup(o->labels[k])
                    : k == 0           ? sj_strdup("before")
                    : o->n_audits == 2 ? sj_strdup("after")
                                       : sj_asprintf("after %zu", k);
        for (size_t j = 0; j < k; j++)
            if (labels[k] && labels[j] && strcmp(labels[k], labels[j]) == 0) {
                sj_error_set(err, SJ_ERR_INPUT, "--labels names '%s' twice", labels[k]);
                goto done;
            }
        audits[k] = rj_load_audit(o->dirs[k], err);
        if (!audits[k])
            goto done;
    }
    if (check_comparable(audits, o, err) != SJ_OK)
        goto done;
    cJSON *log = NULL;
    if (o->training_log && !(log = training_log_json(o->training_log, err)))
        goto done;
    doc = cJSON_CreateObject();
    if (!doc) {
        cJSON_Delete(log);
        sj_error_set(err, SJ_ERR_WORK, "out of memory");
        goto done;
    }
    cJSON_AddNumberToObject(doc, "schema_version", SJ_COMPARE_SCHEMA_VERSION);
    cJSON_AddStringToObject(doc, "kind", "sjtalign-compare");
    cJSON_AddItemToObject(doc, "instrument", cJSON_Duplicate(rj_get(audits[0], "instrument"), 1));
    const cJSON *set0 = rj_get(audits[0], "settings");
    cJSON_AddStringToObject(doc, "reference", rj_str(set0, "reference"));
    cJSON_AddStringToObject(doc, "focal", rj_str(set0, "focal"));
    cJSON *list = cJSON_AddArrayToObject(doc, "audits");
    for (size_t k = 0; k < o->n_audits; k++) {
        cJSON *a = cJSON_CreateObject();
        cJSON_AddStringToObject(a, "label", labels[k]);
        cJSON_AddStringToObject(a, "role", k == 0 ? "before" : "after");
        cJSON_AddStringToObject(a, "dir", o->dirs[k]);
        cJSON_AddItemToObject(a, "settings", cJSON_Duplicate(rj_get(audits[k], "settings"), 1));
        cJSON_AddItemToObject(a, "provenance", dup_or_null(rj_get(audits[k], "provenance")));
        cJSON_AddItemToArray(list, a);
    }
    cJSON_AddItemToObject(doc, "items", items_json(audits, labels, o->n_audits));
    cJSON_AddItemToObject(doc, "parity", before_after(audits, labels, o->n_audits, "parity"));
    cJSON_AddItemToObject(doc, "agreement", before_after(audits, labels, o->n_audits, "agreement"));
    cJSON_AddItemToObject(doc, "truth_agreement", truth_json(audits, labels, o->n_audits));
    cJSON *warnings = settings_warnings(audits, labels, o->n_audits);
    truth_warnings(warnings, audits, labels, o->n_audits);
    cJSON_AddItemToObject(doc, "warnings", warnings);
    if (log)
        cJSON_AddItemToObject(doc, "training_log", log);
    else
        cJSON_AddNullToObject(doc, "training_log");
    cJSON_AddNullToObject(doc, "baseline"); /* sj_compare_add_baseline fills it */
    cJSON *summary = summary_lines(doc);
    cJSON *prov = sj_provenance_new(o->command_line);
    cJSON_AddItemToObject(doc, "summary", summary);
    cJSON_AddItemToObject(doc, "provenance", prov);
    if (!summary || !prov) {
        sj_error_set(err, SJ_ERR_WORK, "out of memory");
        goto fail;
    }
    for (size_t k = 0; k < o->n_audits; k++) {
        char *path = sj_path_join(o->dirs[k], "audit.json");
        sj_status st = path ? sj_provenance_add_file(prov, labels[k], path, err)
                            : sj_error_set(err, SJ_ERR_WORK, "out of memory");
        free(path);
        if (st != SJ_OK)
            goto fail;
    }
    if (o->training_log &&
        sj_provenance_add_file(prov, "training log", o->training_log, err) != SJ_OK)
        goto fail;
    goto done;
fail:
    cJSON_Delete(doc);
    doc = NULL;
done:
    for (size_t k = 0; audits && k < o->n_audits; k++)
        cJSON_Delete(audits[k]);
    free(audits);
    sj_labels_free(labels, o->n_audits);
    return doc;
}

/* ---- writing ------------------------------------------------------------------------ */

/* The baseline's class and effect of the item, beside the change. */
static void add_baseline_cells(cJSON *row, const cJSON *item)
{
    rj_effect e;
    rj_dif_effect(item, &e);
    if (e.cls)
        cJSON_AddStringToObject(row, "baseline_class", e.cls);
    else
        cJSON_AddNullToObject(row, "baseline_class");
    sj_json_add_number(row, "baseline_effect", e.value);
}

/* One agreement row per scorer (the compared audits, then the baseline):
 * the figures with the human scores and, where known, the true scores. */
static cJSON *agreement_row(const char *label, const char *role, const cJSON *human,
                            const cJSON *truth)
{
    static const char *const keys[] = {"n", "qwk", "exact", "adjacent", "pearson_r", "smd"};
    cJSON *row = cJSON_CreateObject();
    cJSON_AddStringToObject(row, "label", label ? label : "");
    cJSON_AddStringToObject(row, "role", role);
    for (size_t i = 0; i < sizeof keys / sizeof *keys; i++)
        sj_json_add_number(row, keys[i], rj_num(human, keys[i]));
    for (size_t i = 1; i < sizeof keys / sizeof *keys; i++) {
        char name[32];
        snprintf(name, sizeof name, "truth_%s", keys[i]);
        sj_json_add_number(row, name, rj_num(truth, keys[i]));
    }
    return row;
}

static cJSON *agreement_rows(const cJSON *cmp)
{
    cJSON *rows = cJSON_CreateArray();
    const cJSON *audits = rj_get(cmp, "audits");
    int n = cJSON_GetArraySize(audits);
    for (int k = 0; k < n; k++) {
        const char *label = rj_str(cJSON_GetArrayItem(audits, k), "label");
        const char *part = n > 2 ? "by_label" : k == 0 ? "before" : "after";
        const char *key = n > 2 ? label : NULL;
        cJSON_AddItemToArray(rows, agreement_row(label, k == 0 ? "before" : "after",
                                                 rj_path(cmp, "agreement", part, key),
                                                 rj_path(cmp, "truth_agreement", part, key)));
    }
    const cJSON *base = rj_get(cmp, "baseline");
    if (cJSON_IsObject(base))
        cJSON_AddItemToArray(rows, agreement_row(rj_str(base, "label"), "baseline",
                                                 rj_get(base, "agreement"),
                                                 rj_get(base, "truth_agreement")));
    return rows;
}

static cJSON *change_rows(const cJSON *cmp)
{
    cJSON *rows = cJSON_CreateArray();
    const cJSON *audits = rj_get(cmp, "audits");
    int n = cJSON_GetArraySize(audits);
    const cJSON *it;
    cJSON_ArrayForEach(it, rj_get(cmp, "items"))
    {
        for (int k = 1; k < n; k++) {
            const char *label = rj_str(cJSON_GetArrayItem(audits, k), "label");
            const cJSON *ch = n > 2 ? rj_path(it, "change_by_label", label) : rj_get(it, "change");
            cJSON *row = cJSON_CreateObject();
            cJSON_AddStringToObject(row, "item", rj_str(it, "item") ? rj_str(it, "item") : "");
            cJSON_AddStringToObject(row, "before", rj_str(cJSON_GetArrayItem(audits, 0), "label"));
            cJSON_AddStringToObject(row, "after", label ? label : "");
            const cJSON *v;
            cJSON_ArrayForEach(v, ch)
            {
                cJSON_AddItemToObject(row, v->string, cJSON_Duplicate(v, 1));
            }
            if (cJSON_IsObject(rj_get(cmp, "baseline")))
                add_baseline_cells(row, rj_get(it, "baseline"));
            cJSON_AddItemToArray(rows, row);
        }
    }
    return rows;
}

sj_status sj_compare_write(const cJSON *cmp, const char *out_dir, sj_error *err)
{
    sj_buf html = {0};
    if (sj_compare_html(cmp, &html, err) != SJ_OK) {
        sj_buf_free(&html);
        return err->status ? err->status : SJ_ERR_WORK;
    }
    cJSON *changes = change_rows(cmp);
    cJSON *agreement = agreement_rows(cmp);
    sj_report_dir dir;
    sj_status st = sj_report_dir_open(&dir, out_dir, err);
    if (st == SJ_OK) {
        char *csv = sj_report_dir_file(&dir, "changes.csv");
        char *agree = sj_report_dir_file(&dir, "agreement.csv");
        char *json = sj_report_dir_file(&dir, "compare.json");
        char *page = sj_report_dir_file(&dir, "index.html");
        st = changes && agreement && csv && agree && json && page
                 ? rj_write_csv_objects(changes, csv, NULL, err)
                 : sj_error_set(err, SJ_ERR_WORK, "out of memory");
        if (st == SJ_OK)
            st = rj_write_csv_objects(agreement, agree, NULL, err);
        if (st == SJ_OK)
            st = sj_json_write(json, cmp, err);
        if (st == SJ_OK)
            st = sj_write_file_atomic(page, html.data, html.len, err);
        free(csv);
        free(agree);
        free(json);
        free(page);
        if (st == SJ_OK)
            st = sj_report_dir_commit(&dir, err);
        else
            sj_report_dir_abort(&dir);
    }
    cJSON_Delete(changes);
    cJSON_Delete(agreement);
    sj_buf_free(&html);
    return st;
}
