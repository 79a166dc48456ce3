/* Where a report came from (tool version, inputs with checksums, date), and
 * report folders that appear whole or not at all. */
#include "sjtalign/report.h"

#include <dirent.h>
#include <errno.h>
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
    int rc = sj_buf_append(&b, "sjtalign", 8);
    for (int i = 0; i < argc && rc == 0; i++) {
        const char *a = argv[i];
        int plain = *a != '\0';
        for (const char *c = a; *c; c++)
            if (!(strchr("-_./=:,+@%", *c) || (*c >= '0' && *c <= '9') ||
                  (*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z')))
                plain = 0;
        rc |= sj_buf_append(&b, " ", 1);
        if (plain) {
            rc |= sj_buf_append(&b, a, strlen(a));
            continue;
        }
        /* Single quotes, with embedded ones as '\'' (POSIX shell). */
        rc |= sj_buf_append(&b, "'", 1);
        for (const char *c = a; *c && rc == 0; c++)
            rc |= *c == '\'' ? sj_buf_append(&b, "'\\''", 4) : sj_buf_append(&b, c, 1);
        rc |= sj_buf_append(&b, "'", 1);
    }
    if (rc) {
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

static char *parent_of(const char *path)
{
    const char *slash = strrchr(path, '/');
    if (!slash)
        return sj_strdup(".");
    if (slash == path)
        return sj_strdup("/");
    return sj_strndup(path, (size_t)(slash - path));
}

static char *strip_trailing_slashes(const char *path)
{
    size_t n = strlen(path);
    while (n > 1 && path[n - 1] == '/')
        n--;
    return sj_strndup(path, n);
}

sj_status sj_report_dir_open(sj_report_dir *d, const char *final_dir, sj_error *err)
{
    memset(d, 0, sizeof *d);
    d->final_dir = strip_trailing_slashes(final_dir);
    if (!d->final_dir)
        return sj_error_set(err, SJ_ERR_WORK, "out of memory");
    char *parent = parent_of(d->final_dir);
    if (!parent || sj_mkdir_p(parent, err) != SJ_OK) {
        free(parent);
        sj_report_dir_abort(d);
        return err && err->status ? err->status : SJ_ERR_WORK;
    }
    const char *base = strrchr(d->final_dir, '/') ? strrchr(d->final_dir, '/') + 1 : d->final_dir;
    d->tmp_dir = sj_asprintf("%s/.%s.tmp.XXXXXX", parent, base);
    free(parent);
    if (!d->tmp_dir || !mkdtemp(d->tmp_dir)) {
        int e = errno;
        free(d->tmp_dir);
        d->tmp_dir = NULL;
        sj_report_dir_abort(d);
        return sj_error_set(err, SJ_ERR_WORK, "cannot create a folder beside %s: %s", final_dir,
                            strerror(e));
    }
    chmod(d->tmp_dir, 0755);
    return SJ_OK;
}

char *sj_report_dir_file(const sj_report_dir *d, const char *name)
{
    return sj_path_join(d->tmp_dir, name);
}

/* Removes a folder holding only files (what a report folder holds). */
static int remove_flat_dir(const char *dir)
{
    DIR *dp = opendir(dir);
    if (!dp)
        return -1;
    struct dirent *e;
    int rc = 0;
    while ((e = readdir(dp)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        char *path = sj_path_join(dir, e->d_name);
        if (!path || unlink(path) != 0)
            rc = -1;
        free(path);
    }
    closedir(dp);
    return rmdir(dir) == 0 ? rc : -1;
}

/* Only an earlier report (or an empty folder) may be replaced: a mistyped
 * --out must never delete someone's files. */
static sj_status check_replaceable(const char *dir, sj_error *err)
{
    DIR *dp = opendir(dir);
    if (!dp)
        return sj_error_set(err, SJ_ERR_INPUT, "%s exists and is not a folder", dir);
    int entries = 0, ours = 0, nested = 0;
    struct dirent *e;
    while ((e = readdir(dp)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        entries++;
        if (strcmp(e->d_name, "audit.json") == 0 || strcmp(e->d_name, "compare.json") == 0)
            ours = 1;
        char *path = sj_path_join(dir, e->d_name);
        struct stat st;
        if (path && lstat(path, &st) == 0 && !S_ISREG(st.st_mode))
            nested = 1;
        free(path);
    }
    closedir(dp);
    if (entries == 0 || (ours && !nested))
        return SJ_OK;
    return sj_error_set(err, SJ_ERR_INPUT,
                        "%s exists and is not an sjtalign report folder; choose another --out "
                        "or remove it first",
                        dir);
}

sj_status sj_report_dir_commit(sj_report_dir *d, sj_error *err)
{
    struct stat st;
    char *old = NULL;
    if (lstat(d->final_dir, &st) == 0) {
        if (!S_ISDIR(st.st_mode) || check_replaceable(d->final_dir, err) != SJ_OK) {
            if (!S_ISDIR(st.st_mode))
                sj_error_set(err, SJ_ERR_INPUT, "%s exists and is not a folder", d->final_dir);
            sj_report_dir_abort(d);
            return SJ_ERR_INPUT;
        }
        /* rename() may replace an empty folder: move the old report onto an
         * empty stand-in folder, the new one into place, then delete the old. */
        char *parent = parent_of(d->final_dir);
        const char *base =
            strrchr(d->final_dir, '/') ? strrchr(d->final_dir, '/') + 1 : d->final_dir;
        old = parent ? sj_asprintf("%s/.%s.old.XXXXXX", parent, base) : NULL;
        free(parent);
        if (!old || !mkdtemp(old) || rename(d->final_dir, old) != 0) {
            int e = errno;
            if (old)
                rmdir(old);
            free(old);
            sj_report_dir_abort(d);
            return sj_error_set(err, SJ_ERR_WORK, "cannot replace %s: %s", d->final_dir,
                                strerror(e));
        }
    }
    if (rename(d->tmp_dir, d->final_dir) != 0) {
        int e = errno;
        if (old)
            rename(old, d->final_dir);
        free(old);
        sj_report_dir_abort(d);
        return sj_error_set(err, SJ_ERR_WORK, "cannot move the report into %s: %s", d->final_dir,
                            strerror(e));
    }
    if (old) {
        remove_flat_dir(old);
        free(old);
    }
    free(d->tmp_dir);
    d->tmp_dir = NULL;
    free(d->final_dir);
    d->final_dir = NULL;
    return SJ_OK;
}

void sj_report_dir_abort(sj_report_dir *d)
{
    if (d->tmp_dir)
        remove_flat_dir(d->tmp_dir);
    free(d->tmp_dir);
    d->tmp_dir = NULL;
    free(d->final_dir);
    d->final_dir = NULL;
}
