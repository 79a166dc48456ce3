/* Where a report came from (tool version, inputs with checksums, date), and
 * report folders that appear whole or not at all. */
#include "sjtalign/report.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

void sj_provenance_now(char *out, size_t n)
{
    /* SOURCE_DATE_EPOCH makes a report byte-for-byte reproducible. */
    time_t t = time(NULL);
    const char *fixed = getenv("SOURCE_DATE_EPOCH");
    if (fixed && *fixed) {
        char *end = NULL;
        long long v = strtoll(fixed, &end, 10);
        if (end && *end == '\0' && v >= 0)
            t = (time_t)v;
    }
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, n, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

char *sj_command_line(int argc, char **argv)
{
    sj_buf b = {0};
    sj_buf_append(&b, "sjtalign", 8);
    for (int i = 0; i < argc && !sj_buf_failed(&b); i++) {
        const char *a = argv[i];
        int plain = *a != '\0';
        for (const char *c = a; *c; c++)
            if (!(strchr("-_./=:,+@%", *c) || (*c >= '0' && *c <= '9') ||
                  (*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z')))
                plain = 0;
        sj_buf_append(&b, " ", 1);
        if (plain) {
            sj_buf_append(&b, a, strlen(a));
            continue;
        }
        /* Single quotes, with embedded ones as '\'' (POSIX shell). */
        sj_buf_append(&b, "'", 1);
        for (const char *c = a; *c; c++)
            if (*c == '\'')
                sj_buf_append(&b, "'\\''", 4);
            else
                sj_buf_append(&b, c, 1);
        sj_buf_append(&b, "'", 1);
    }
    if (sj_buf_failed(&b)) {
        sj_buf_free(&b);
        return NULL;
    }
    return b.data;
}

cJSON *sj_provenance_new(const char *command_line)
{
    cJSON *prov = cJSON_CreateObject();
    if (!prov)
        return NULL;
    char now[32];
    sj_provenance_now(now, sizeof now);
    if (!cJSON_AddStringToObject(prov, "tool", "sjtalign") ||
        !cJSON_AddStringToObject(prov, "version", SJ_VERSION) ||
        !cJSON_AddStringToObject(prov, "created", now) ||
        !cJSON_AddStringToObject(prov, "command", command_line ? command_line : "") ||
        !cJSON_AddArrayToObject(prov, "inputs")) {
        cJSON_Delete(prov);
        return NULL;
    }
    return prov;
}

sj_status sj_provenance_add_file(cJSON *prov, const char *role, const char *path, sj_error *err)
{
    char hex[65];
    if (sj_sha256_file(path, hex, err) != SJ_OK)
        return err ? err->status : SJ_ERR_WORK;
    struct stat st;
    double bytes = stat(path, &st) == 0 ? (double)st.st_size : 0;
    cJSON *inputs = cJSON_GetObjectItemCaseSensitive(prov, "inputs");
    cJSON *entry = cJSON_CreateObject();
    if (!inputs || !entry || !cJSON_AddStringToObject(entry, "role", role) ||
        !cJSON_AddStringToObject(entry, "path", path) ||
        !cJSON_AddStringToObject(entry, "sha256", hex) ||
        !cJSON_AddNumberToObject(entry, "bytes", bytes)) {
        cJSON_Delete(entry);
        return sj_error_set(err, SJ_ERR_WORK, "out of memory");
    }
    cJSON_AddItemToArray(inputs, entry);
    return SJ_OK;
}

/* ---- report folders ---------------------------------------------------------- */

/* A report folder is an sj_outdir (src/util/outdir.c): built beside its
 * target, swapped in whole, and replacing only an earlier report's own files. */

static sj_outdir as_outdir(const sj_report_dir *d)
{
    sj_outdir o = {d->final_dir, d->tmp_dir};
    return o;
}

sj_status sj_report_dir_open(sj_report_dir *d, const char *final_dir, sj_error *err)
{
    sj_outdir o;
    sj_status st = sj_outdir_open(&o, final_dir, NULL, err);
    d->final_dir = o.final_dir;
    d->tmp_dir = o.tmp_dir;
    return st;
}

char *sj_report_dir_file(const sj_report_dir *d, const char *name)
{
    return sj_path_join(d->tmp_dir, name);
}

/* The manifest names the command that wrote the folder; a report is named
 * by its main document (compare.json or audit.json). */
static const char *report_command(const char *tmp_dir)
{
    char *path = sj_path_join(tmp_dir, "compare.json");
    int is_compare = path && access(path, F_OK) == 0;
    free(path);
    return is_compare ? "compare" : "audit";
}

sj_status sj_report_dir_commit(sj_report_dir *d, sj_error *err)
{
    sj_outdir o = as_outdir(d);
    d->final_dir = NULL;
    d->tmp_dir = NULL;
    if (!o.tmp_dir) {
        sj_outdir_abort(&o);
        return sj_error_set(err, SJ_ERR_WORK, "internal: commit of a report that is not open");
    }
    return sj_outdir_commit(&o, report_command(o.tmp_dir), err);
}

void sj_report_dir_abort(sj_report_dir *d)
{
    sj_outdir o = as_outdir(d);
    sj_outdir_abort(&o);
    d->final_dir = NULL;
    d->tmp_dir = NULL;
}
