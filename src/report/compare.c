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

/* One row per item: its DIF object in every audit and its change from
 * the first audit to each other one (with the change interval where the
 * two audits' bootstraps pair: boots[k], else NULL). */
static cJSON *items_json(cJSON *const *audits, char **labels, size_t n, rj_reps *const *boots)
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
        cJSON_AddItemToObject(row, "change", rj_item_change(it0, after, boots[0], boots[1]));
        if (n > 2) {
            cJSON *by = cJSON_AddObjectToObject(row, "by_label");
            cJSON *changes = cJSON_AddObjectToObject(row, "change_by_label");
            for (size_t k = 0; k < n; k++) {
                const cJSON *x = k == 0 ? it0 : find_item(audits[k], id);
                cJSON_AddItemToObject(by, labels[k], dup_or_null(x));
                if (k > 0)
                    cJSON_AddItemToObject(changes, labels[k],
                                          rj_item_change(it0, x, boots[0], boots[k]));
            }
        }
        cJSON_AddItemToArray(items, row);
    }
    return items;
}

/* The changes of the other statistics: "changes" from the first audit to
 * the second and, with several afters, "changes_by_label" for each. */
static void add_statistic_changes(cJSON *doc, cJSON *const *audits, char **labels, size_t n,
                                  rj_reps *const *boots)
{
    cJSON_AddItemToObject(doc, "changes",
                          rj_statistic_changes(audits[0], audits[1], boots[0], boots[1]));
    if (n <= 2)
        return;
    cJSON *by = cJSON_AddObjectToObject(doc, "changes_by_label");
    for (size_t k = 1; k < n; k++)
        cJSON_AddItemToObject(by, labels[k],
                              rj_statistic_changes(audits[0], audits[k], boots[0], boots[k]));
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

/* ---- on which persons the audits were evaluated ----------------------------------- */

/* Two audits were evaluated on different persons when their held-out
 * splits differ (split_sha256), when only one used a split, or when their
 * bootstraps resampled different persons (persons_sha256). */
/* An audit's "evaluation" object when it records a held-out split (an
 * audit without --split records only the sample), else NULL. */
static const cJSON *held_out(const cJSON *audit)
{
    const cJSON *e = rj_get(audit, "evaluation");
    return cJSON_IsObject(e) && rj_str(e, "split_sha256") ? e : NULL;
}

static const char *persons_differ(const cJSON *a, const cJSON *b)
{
    const cJSON *ea = held_out(a), *eb = held_out(b);
    int ha = ea != NULL, hb = eb != NULL;
    if (ha != hb)
        return "one of them on held-out persons, the other on every person in its scores";
    if (ha && !same_string(rj_str(ea, "split_sha256"), rj_str(eb, "split_sha256")))
        return "their held-out splits differ (split_sha256)";
    const char *pa = rj_str(rj_get(a, "bootstrap"), "persons_sha256");
    const char *pb = rj_str(rj_get(b, "bootstrap"), "persons_sha256");
    if (pa && pb && strcmp(pa, pb) != 0)
        return "their bootstraps resampled different persons (persons_sha256)";
    return NULL;
}

static void evaluation_warnings(cJSON *warnings, cJSON *const *audits, char **labels, size_t n)
{
    for (size_t k = 1; k < n; k++) {
        const char *why = persons_differ(audits[0], audits[k]);
        if (!why)
            continue;
        char *msg = sj_asprintf("%s and %s were evaluated on different persons: %s", labels[0],
                                labels[k], why);
        if (msg)
            cJSON_AddItemToArray(warnings, cJSON_CreateString(msg));
        free(msg);
    }
}

/* "120 held-out persons of 400 (30% held out; split seed 7)". */
static void held_out_words(sj_buf *b, const cJSON *e)
{
    double held = rj_num(e, "persons_heldout"), total = rj_num(e, "persons_total");
    double fraction = rj_num(e, "fraction"), seed = rj_num(e, "seed");
    if (!isnan(held))
        sj_buf_printf(b, "%.0f held-out persons", held);
    else
        sj_buf_printf(b, "held-out persons");
    if (!isnan(total))
        sj_buf_printf(b, " of %.0f", total);
    if (!isnan(fraction) || !isnan(seed)) {
        sj_buf_printf(b, " (");
        if (!isnan(fraction))
            sj_buf_printf(b, "%.0f%% held out%s", 100 * fraction, isnan(seed) ? "" : "; ");
        if (!isnan(seed))
            sj_buf_printf(b, "split seed %.0f", seed);
        sj_buf_printf(b, ")");
    }
    double audited = rj_num(e, "persons_audited");
    if (!isnan(audited) && audited != held)
        sj_buf_printf(b, ", %.0f of them in the scores", audited);
}

/* One plain sentence: on which persons the audits were evaluated. */
static void evaluation_sentence(sj_buf *b, cJSON *const *audits, char **labels, size_t n)
{
    int with = 0, differ = 0;
    for (size_t k = 0; k < n; k++) {
        with += held_out(audits[k]) != NULL;
        differ |= k > 0 && persons_differ(audits[0], audits[k]) != NULL;
    }
    if (with == 0) {
        sj_buf_printf(b, "Evaluated on every person in the scores: the audits record no held-out "
                         "split, so the persons may include those the models were trained on");
        return;
    }
    if (!differ) {
        sj_buf_printf(b, "Evaluated on ");
        held_out_words(b, held_out(audits[0]));
        sj_buf_printf(b, ", the same persons in every audit: persons no training stage saw");
        return;
    }
    sj_buf_printf(b, "Evaluated on different persons (see the warnings): ");
    for (size_t k = 0; k < n; k++) {
        const cJSON *e = held_out(audits[k]);
        sj_buf_printf(b, "%s%s on ", k ? "; " : "", labels[k]);
        if (e)
            held_out_words(b, e);
        else
            sj_buf_printf(b, "every person in its scores");
    }
}

/* {"note": the sentence, "same_persons": bool, "by_label": {label: the
 * audit's "evaluation" object or null}}; NULL when out of memory. */
static cJSON *evaluation_json(cJSON *const *audits, char **labels, size_t n)
{
    cJSON *o = cJSON_CreateObject();
    sj_buf b = {0};
    evaluation_sentence(&b, audits, labels, n);
    int same = 1;
    for (size_t k = 1; k < n; k++)
        same &= persons_differ(audits[0], audits[k]) == NULL;
    if (!o || sj_buf_failed(&b) || !b.data) {
        cJSON_Delete(o);
        sj_buf_free(&b);
        return NULL;
    }
    cJSON_AddStringToObject(o, "note", b.data);
    cJSON_AddBoolToObject(o, "same_persons", same);
    cJSON *by = cJSON_AddObjectToObject(o, "by_label");
    for (size_t k = 0; k < n; k++)
        cJSON_AddItemToObject(by, labels[k], dup_or_null(rj_get(audits[k], "evaluation")));
    sj_buf_free(&b);
    return o;
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

/* The checkpoint a PPO run kept and why (provenance.result.kept of the
 * config.json beside the log), copied into the log's object as "kept";
 * nothing when the log has no such neighbour (a log from elsewhere). */
static void add_kept_checkpoint(cJSON *log, const char *log_path)
{
    char *dir = sj_path_parent(log_path);
    char *config = dir ? sj_asprintf("%s/config.json", dir) : NULL;
    sj_error ignored = {0};
    cJSON *doc = config ? sj_json_read(config, &ignored) : NULL;
    const cJSON *prov = cJSON_GetObjectItemCaseSensitive(doc, "provenance");
    const cJSON *kept =
        cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(prov, "result"), "kept");
    if (cJSON_IsObject(kept))
        cJSON_AddItemToObject(log, "kept", cJSON_Duplicate(kept, 1));
    cJSON_Delete(doc);
    free(config);
    free(dir);
}

/* ---- the document ----------------------------------------------------------------- */

/* Reads every audit, with its default label where --labels gave none. */
static sj_status load_audits(const sj_compare_options *o, cJSON **audits, char **labels,
                             sj_error *err)
{
    for (size_t k = 0; k < o->n_audits; k++) {
        labels[k] = o->labels          ? sj_strdup(o->labels[k])
                    : k == 0           ? sj_strdup("before")
                    : o->n_audits == 2 ? sj_strdup("after")
                                       : sj_asprintf("after %zu", k);
        if (!labels[k])
            return sj_error_set(err, SJ_ERR_WORK, "out of memory");
        for (size_t j = 0; j < k; j++)
            if (strcmp(labels[k], labels[j]) == 0)
                return sj_error_set(err, SJ_ERR_INPUT, "--labels names '%s' twice", labels[k]);
        audits[k] = rj_load_audit(o->dirs[k], err);
        if (!audits[k])
            return err->status ? err->status : SJ_ERR_INPUT;
    }
    return SJ_OK;
}

static cJSON *audits_json(cJSON *const *audits, char **labels, const sj_compare_options *o)
{
    cJSON *list = cJSON_CreateArray();
    for (size_t k = 0; k < o->n_audits; k++) {
        cJSON *a = cJSON_CreateObject();
        cJSON_AddStringToObject(a, "label", labels[k]);
        cJSON_AddStringToObject(a, "role", k == 0 ? "before" : "after");
        cJSON_AddStringToObject(a, "dir", o->dirs[k]);
        cJSON_AddItemToObject(a, "settings", cJSON_Duplicate(rj_get(audits[k], "settings"), 1));
        cJSON_AddItemToObject(a, "evaluation", dup_or_null(rj_get(audits[k], "evaluation")));
        cJSON_AddItemToObject(a, "bootstrap", dup_or_null(rj_get(audits[k], "bootstrap")));
        cJSON_AddItemToObject(a, "provenance", dup_or_null(rj_get(audits[k], "provenance")));
        cJSON_AddItemToArray(list, a);
    }
    return list;
}

/* Whether any audit has a section (the raters' statistics are optional). */
static int any_has(cJSON *const *audits, size_t n, const char *key)
{
    for (size_t k = 0; k < n; k++)
        if (cJSON_IsObject(rj_get(audits[k], key)))
            return 1;
    return 0;
}

/* What the comparison builds from, besides the audits; the document
 * takes each part over. */
typedef struct {
    cJSON *log, *panel, *bootstrap, *warnings;
} compare_parts;

static void parts_free(compare_parts *p)
{
    cJSON_Delete(p->log);
    cJSON_Delete(p->panel);
    cJSON_Delete(p->bootstrap);
    cJSON_Delete(p->warnings);
    memset(p, 0, sizeof *p);
}

static void add_part(cJSON *doc, const char *key, cJSON **part)
{
    cJSON_AddItemToObject(doc, key, *part ? *part : cJSON_CreateNull());
    *part = NULL;
}

static cJSON *assemble(const sj_compare_options *o, cJSON *const *audits, char **labels,
                       rj_reps *const *boots, compare_parts *p)
{
    size_t n = o->n_audits;
    cJSON *doc = cJSON_CreateObject();
    if (!doc)
        return NULL;
    cJSON_AddNumberToObject(doc, "schema_version", SJ_COMPARE_SCHEMA_VERSION);
    cJSON_AddStringToObject(doc, "kind", "sjtalign-compare");
    cJSON_AddItemToObject(doc, "instrument", cJSON_Duplicate(rj_get(audits[0], "instrument"), 1));
    const cJSON *set0 = rj_get(audits[0], "settings");
    cJSON_AddStringToObject(doc, "reference", rj_str(set0, "reference"));
    cJSON_AddStringToObject(doc, "focal", rj_str(set0, "focal"));
    cJSON_AddItemToObject(doc, "evaluation", evaluation_json(audits, labels, n));
    cJSON_AddItemToObject(doc, "audits", audits_json(audits, labels, o));
    cJSON_AddItemToObject(doc, "items", items_json(audits, labels, n, boots));
    add_statistic_changes(doc, audits, labels, n, boots);
    add_part(doc, "bootstrap", &p->bootstrap);
    cJSON_AddItemToObject(doc, "parity", before_after(audits, labels, n, "parity"));
    cJSON_AddItemToObject(doc, "agreement", before_after(audits, labels, n, "agreement"));
    cJSON_AddItemToObject(doc, "truth_agreement", truth_json(audits, labels, n));
    if (any_has(audits, n, "raters"))
        cJSON_AddItemToObject(doc, "raters", before_after(audits, labels, n, "raters"));
    add_part(doc, "warnings", &p->warnings);
    add_part(doc, "training_log", &p->log);
    add_part(doc, "panel", &p->panel);
    cJSON_AddNullToObject(doc, "baseline"); /* sj_compare_add_baseline fills it */
    return doc;
}

/* The summary and the provenance, with every input file's checksum. */
static sj_status finish(cJSON *doc, const sj_compare_options *o, char **labels, sj_error *err)
{
    cJSON *summary = rj_compare_summary(doc);
    cJSON *prov = sj_provenance_new(o->command_line);
    cJSON_AddItemToObject(doc, "summary", summary);
    cJSON_AddItemToObject(doc, "provenance", prov);
    if (!summary || !prov || !rj_get(doc, "evaluation"))
        return sj_error_set(err, SJ_ERR_WORK, "out of memory");
    for (size_t k = 0; k < o->n_audits; k++) {
        char *path = sj_path_join(o->dirs[k], "audit.json");
        sj_status st = path ? sj_provenance_add_file(prov, labels[k], path, err)
                            : sj_error_set(err, SJ_ERR_WORK, "out of memory");
        free(path);
        if (st != SJ_OK)
            return st;
    }
    if (o->training_log &&
        sj_provenance_add_file(prov, "training log", o->training_log, err) != SJ_OK)
        return err->status;
    if (o->panel && sj_provenance_add_file(prov, "panel", o->panel, err) != SJ_OK)
        return err->status;
    return SJ_OK;
}

/* The parts besides the audits: training log, panel, warnings and the
 * bootstraps (read into boots). */
static sj_status gather_parts(const sj_compare_options *o, cJSON *const *audits, char **labels,
                              rj_reps **boots, compare_parts *p, sj_error *err)
{
    if (o->training_log && !(p->log = training_log_json(o->training_log, err)))
        return err->status ? err->status : SJ_ERR_INPUT;
    if (p->log)
        add_kept_checkpoint(p->log, o->training_log);
    if (o->panel && !(p->panel = rj_panel_load(o->panel, err)))
        return err->status ? err->status : SJ_ERR_INPUT;
    p->warnings = settings_warnings(audits, labels, o->n_audits);
    if (!p->warnings)
        return sj_error_set(err, SJ_ERR_WORK, "out of memory");
    rj_compare_audits c = {o->n_audits, audits, o->dirs, labels};
    if (!(p->bootstrap = rj_compare_bootstraps(&c, boots, p->warnings, err)))
        return err->status ? err->status : SJ_ERR_WORK;
    truth_warnings(p->warnings, audits, labels, o->n_audits);
    evaluation_warnings(p->warnings, audits, labels, o->n_audits);
    return SJ_OK;
}

cJSON *sj_compare_build(const sj_compare_options *o, sj_error *err)
{
    if (o->n_audits < 2) {
        sj_error_set(err, SJ_ERR_INPUT, "compare needs a --before and at least one --after");
        return NULL;
    }
    size_t n = o->n_audits;
    cJSON **audits = calloc(n, sizeof *audits);
    char **labels = calloc(n, sizeof *labels);
    rj_reps **boots = calloc(n, sizeof *boots);
    compare_parts parts = {0};
    cJSON *doc = NULL;
    if (!audits || !labels || !boots)
        sj_error_set(err, SJ_ERR_WORK, "out of memory");
    else if (load_audits(o, audits, labels, err) == SJ_OK &&
             check_comparable(audits, o, err) == SJ_OK &&
             gather_parts(o, audits, labels, boots, &parts, err) == SJ_OK) {
        doc = assemble(o, audits, labels, boots, &parts);
        if (!doc)
            sj_error_set(err, SJ_ERR_WORK, "out of memory");
        else if (finish(doc, o, labels, err) != SJ_OK) {
            cJSON_Delete(doc);
            doc = NULL;
        }
    }
    parts_free(&parts);
    for (size_t k = 0; k < n; k++) {
        if (audits)
            cJSON_Delete(audits[k]);
        if (boots)
            rj_reps_free(boots[k]);
    }
    free(audits);
    free(boots);
    sj_labels_free(labels, n);
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

/* The start of a changes.csv row: the two labels compared. */
static cJSON *change_row(const char *before, const char *after)
{
    cJSON *row = cJSON_CreateObject();
    cJSON_AddStringToObject(row, "before", before ? before : "");
    cJSON_AddStringToObject(row, "after", after ? after : "");
    return row;
}

/* "[lo, hi]" as two columns <prefix>_ci_low, <prefix>_ci_high. */
static void add_ci_cells(cJSON *row, const cJSON *ci)
{
    int ok = cJSON_GetArraySize(ci) == 2;
    sj_json_add_number(row, "change_ci_low", ok ? cJSON_GetArrayItem(ci, 0)->valuedouble : NAN);
    sj_json_add_number(row, "change_ci_high", ok ? cJSON_GetArrayItem(ci, 1)->valuedouble : NAN);
}

/* An item's change as a row: the statistic is its ETS effect, compared as
 * the change of the absolute value. */
static cJSON *item_change_row(const cJSON *cmp, const cJSON *it, const cJSON *ch,
                              const char *before, const char *after)
{
    cJSON *row = change_row(before, after);
    int dich = rj_str(ch, "effect") && strcmp(rj_str(ch, "effect"), "delta_mh") == 0;
    rj_stat_info info = rj_stat_lookup(dich ? "dif.delta_mh" : "dif.smd_over_sd");
    const char *id = rj_str(it, "item") ? rj_str(it, "item") : "";
    char *label = sj_asprintf("%s, item %s", info.label, id);
    cJSON_AddStringToObject(row, "statistic", info.statistic);
    cJSON_AddStringToObject(row, "scope", id);
    cJSON_AddStringToObject(row, "label", label ? label : info.statistic);
    free(label);
    cJSON_AddStringToObject(row, "compared", "absolute value");
    sj_json_add_number(row, "value_before", rj_num(ch, "effect_before"));
    sj_json_add_number(row, "value_after", rj_num(ch, "effect_after"));
    sj_json_add_number(row, "change", rj_num(ch, "abs_effect_change"));
    add_ci_cells(row, rj_get(ch, "abs_effect_change_ci"));
    cJSON_AddItemToObject(row, "verdict", dup_or_null(rj_get(ch, "verdict")));
    cJSON_AddItemToObject(row, "class_before", dup_or_null(rj_get(ch, "class_before")));
    cJSON_AddItemToObject(row, "class_after", dup_or_null(rj_get(ch, "class_after")));
    if (cJSON_IsObject(rj_get(cmp, "baseline")))
        add_baseline_cells(row, rj_get(it, "baseline"));
    return row;
}

static cJSON *statistic_change_row(const cJSON *ch, const char *before, const char *after)
{
    cJSON *row = change_row(before, after);
    static const char *const text[] = {"statistic", "scope", "label", "compared"};
    for (size_t i = 0; i < sizeof text / sizeof *text; i++)
        cJSON_AddItemToObject(row, text[i], dup_or_null(rj_get(ch, text[i])));
    sj_json_add_number(row, "value_before", rj_num(ch, "before"));
    sj_json_add_number(row, "value_after", rj_num(ch, "after"));
    sj_json_add_number(row, "change", rj_num(ch, "change"));
    add_ci_cells(row, rj_get(ch, "change_ci"));
    cJSON_AddItemToObject(row, "verdict", dup_or_null(rj_get(ch, "verdict")));
    return row;
}

/* changes.csv: per aligned scorer, one row per item (its ETS effect),
 * then one per other statistic compared. */
static cJSON *change_rows(const cJSON *cmp)
{
    cJSON *rows = cJSON_CreateArray();
    const cJSON *audits = rj_get(cmp, "audits");
    int n = cJSON_GetArraySize(audits);
    const char *before = rj_str(cJSON_GetArrayItem(audits, 0), "label");
    for (int k = 1; k < n; k++) {
        const char *label = rj_str(cJSON_GetArrayItem(audits, k), "label");
        const cJSON *it;
        cJSON_ArrayForEach(it, rj_get(cmp, "items"))
        {
            cJSON_AddItemToArray(
                rows, item_change_row(cmp, it, rj_item_change_of(it, label), before, label));
        }
        const cJSON *ch;
        cJSON_ArrayForEach(ch, rj_changes_of(cmp, label))
        {
            cJSON_AddItemToArray(rows, statistic_change_row(ch, before, label));
        }
    }
    return rows;
}

/* The CSV tables: changes, agreement and (with a panel) the judges. */
static sj_status write_tables(const cJSON *cmp, sj_report_dir *dir, sj_error *err)
{
    static const char *const change_lead[] = {
        "before",         "after",        "statistic",    "scope",       "label",
        "compared",       "value_before", "value_after",  "change",      "change_ci_low",
        "change_ci_high", "verdict",      "class_before", "class_after", NULL};
    cJSON *changes = change_rows(cmp);
    cJSON *agreement = agreement_rows(cmp);
    const cJSON *panel = rj_get(cmp, "panel");
    cJSON *judges = cJSON_IsObject(panel) ? rj_panel_judge_rows(panel) : NULL;
    char *csv = sj_report_dir_file(dir, "changes.csv");
    char *agree = sj_report_dir_file(dir, "agreement.csv");
    char *judge_csv = judges ? sj_report_dir_file(dir, "panel_judges.csv") : NULL;
    sj_status st = changes && agreement && csv && agree && (!cJSON_IsObject(panel) || judge_csv)
                       ? rj_write_csv_objects(changes, csv, change_lead, err)
                       : sj_error_set(err, SJ_ERR_WORK, "out of memory");
    if (st == SJ_OK)
        st = rj_write_csv_objects(agreement, agree, NULL, err);
    if (st == SJ_OK && judges)
        st = rj_write_csv_objects(judges, judge_csv, NULL, err);
    free(csv);
    free(agree);
    free(judge_csv);
    cJSON_Delete(changes);
    cJSON_Delete(agreement);
    cJSON_Delete(judges);
    return st;
}

sj_status sj_compare_write(const cJSON *cmp, const char *out_dir, sj_error *err)
{
    sj_buf html = {0};
    if (sj_compare_html(cmp, &html, err) != SJ_OK) {
        sj_buf_free(&html);
        return err->status ? err->status : SJ_ERR_WORK;
    }
    sj_report_dir dir;
    sj_status st = sj_report_dir_open(&dir, out_dir, err);
    if (st == SJ_OK) {
        char *json = sj_report_dir_file(&dir, "compare.json");
        char *page = sj_report_dir_file(&dir, "index.html");
        st = json && page ? write_tables(cmp, &dir, err)
                          : sj_error_set(err, SJ_ERR_WORK, "out of memory");
        if (st == SJ_OK)
            st = sj_json_write(json, cmp, err);
        if (st == SJ_OK)
            st = sj_write_file_atomic(page, html.data, html.len, err);
        free(json);
        free(page);
        if (st == SJ_OK)
            st = sj_report_dir_commit(&dir, err);
        else
            sj_report_dir_abort(&dir);
    }
    sj_buf_free(&html);
    return st;
}
