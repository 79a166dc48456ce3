/* Folder outputs that replace only what sjtalign wrote: each folder carries a
 * manifest of its files, an existing folder is replaced only when it holds
 * nothing else, and the new folder is swapped in by two renames so that a
 * crash leaves either the old folder or the new one (or the old one moved
 * aside, which sj_outdir_leftover names). */
#include "sjtalign/util.h"

#include <cjson/cJSON.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MANIFEST_VERSION 1
#define MANIFEST_MAX_FILES 4096

/* ---- names in a folder ----------------------------------------------------- */

typedef struct {
    char **names;
    size_t n;
} name_list;

static void name_list_free(name_list *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->names[i]);
    free(l->names);
    l->names = NULL;
    l->n = 0;
}

static int compare_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The entries of `dir` but "." and "..", sorted, so messages name the same
 * file on every run. */
static sj_status list_folder(const char *dir, name_list *out, sj_error *err)
{
    memset(out, 0, sizeof *out);
    DIR *d = opendir(dir);
    if (!d)
        return sj_error_set(err, SJ_ERR_INPUT, "cannot read the folder %s: %s", dir,
                            strerror(errno));
    sj_status st = SJ_OK;
    struct dirent *e;
    while (st == SJ_OK && (e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        char **grown = realloc(out->names, (out->n + 1) * sizeof *grown);
        char *copy = sj_strdup(e->d_name);
        if (grown)
            out->names = grown;
        if (!grown || !copy) {
            free(copy);
            st = sj_error_set(err, SJ_ERR_WORK, "out of memory reading %s", dir);
        } else {
            out->names[out->n++] = copy;
        }
    }
    closedir(d);
    if (st != SJ_OK)
        name_list_free(out);
    else if (out->n > 1)
        qsort(out->names, out->n, sizeof *out->names, compare_names);
    return st;
}

static const char *kind_of(mode_t mode)
{
    if (S_ISLNK(mode))
        return "a symbolic link";
    if (S_ISDIR(mode))
        return "a folder";
    if (S_ISCHR(mode))
        return "a character device";
    if (S_ISBLK(mode))
        return "a block device";
    if (S_ISFIFO(mode))
        return "a FIFO (named pipe)";
    if (S_ISSOCK(mode))
        return "a socket";
    return "a file";
}

/* ---- the manifest ------------------------------------------------------------ */

static int is_plain_name(const char *name)
{
    return name[0] != '\0' && strcmp(name, ".") != 0 && strcmp(name, "..") != 0 &&
           strchr(name, '/') == NULL && strcmp(name, SJ_MANIFEST_NAME) != 0 && strlen(name) < 256;
}

static int is_sha256_hex(const char *s)
{
    size_t n = 0;
    for (; s[n]; n++)
        if (!((s[n] >= '0' && s[n] <= '9') || (s[n] >= 'a' && s[n] <= 'f')))
            return 0;
    return n == 64;
}

/* A key given twice means two things to two readers; a manifest has none. */
static int has_duplicate_key(const cJSON *obj)
{
    for (const cJSON *a = obj->child; a; a = a->next)
        for (const cJSON *b = a->next; b; b = b->next)
            if (a->string && b->string && strcmp(a->string, b->string) == 0)
                return 1;
    return 0;
}

static const cJSON *manifest_entry(const cJSON *doc, const char *name)
{
    const cJSON *e;
    cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(doc, "files"))
    {
        const cJSON *n = cJSON_GetObjectItemCaseSensitive(e, "name");
        if (strcmp(n->valuestring, name) == 0)
            return e;
    }
    return NULL;
}

static int entry_is_valid(const cJSON *doc, const cJSON *e)
{
    const cJSON *name = cJSON_GetObjectItemCaseSensitive(e, "name");
    const cJSON *bytes = cJSON_GetObjectItemCaseSensitive(e, "bytes");
    const cJSON *sha = cJSON_GetObjectItemCaseSensitive(e, "sha256");
    if (!cJSON_IsObject(e) || has_duplicate_key(e) || !cJSON_IsString(name) ||
        !is_plain_name(name->valuestring) || !cJSON_IsNumber(bytes) || bytes->valuedouble < 0 ||
        bytes->valuedouble > 9007199254740992.0 ||
        bytes->valuedouble != (double)(long long)bytes->valuedouble || !cJSON_IsString(sha) ||
        !is_sha256_hex(sha->valuestring))
        return 0;
    /* names are unique: the first entry of this name must be this one */
    return manifest_entry(doc, name->valuestring) == e;
}

/* What the manifest must be before any of its entries is trusted. */
static int manifest_is_valid(const cJSON *doc)
{
    const cJSON *format = cJSON_GetObjectItemCaseSensitive(doc, "format");
    const cJSON *version = cJSON_GetObjectItemCaseSensitive(doc, "format_version");
    const cJSON *command = cJSON_GetObjectItemCaseSensitive(doc, "command");
    const cJSON *files = cJSON_GetObjectItemCaseSensitive(doc, "files");
    if (!cJSON_IsObject(doc) || has_duplicate_key(doc) || !cJSON_IsString(format) ||
        strcmp(format->valuestring, SJ_MANIFEST_FORMAT) != 0 || !cJSON_IsNumber(version) ||
        version->valuedouble != MANIFEST_VERSION || !cJSON_IsString(command) ||
        !cJSON_IsArray(files))
        return 0;
    /* sjtalign writes a handful of files per folder; the bound keeps the
     * checks below (quadratic in the entries) short on a hostile file */
    if (cJSON_GetArraySize(files) > MANIFEST_MAX_FILES)
        return 0;
    /* every entry an object with a string name first, so that
     * manifest_entry can compare names while the entries are checked */
    const cJSON *e;
    cJSON_ArrayForEach(e, files)
    {
        const cJSON *name = cJSON_GetObjectItemCaseSensitive(e, "name");
        if (!cJSON_IsObject(e) || !cJSON_IsString(name))
            return 0;
    }
    cJSON_ArrayForEach(e, files)
    {
        if (!entry_is_valid(doc, e))
            return 0;
    }
    return 1;
}

/* Reads dir's manifest. *doc stays NULL when there is none (SJ_OK); a
 * manifest that is not a regular file or not valid is SJ_ERR_INPUT. */
static sj_status manifest_load(const char *dir, cJSON **doc, sj_error *err)
{
    *doc = NULL;
    char *path = sj_path_join(dir, SJ_MANIFEST_NAME);
    if (!path)
        return sj_error_set(err, SJ_ERR_WORK, "out of memory");
    struct stat st;
    sj_status status = SJ_OK;
    char *text = NULL;
    if (lstat(path, &st) != 0) {
        if (errno != ENOENT)
            status = sj_error_set(err, SJ_ERR_INPUT, "cannot read %s: %s", path, strerror(errno));
    } else if (!S_ISREG(st.st_mode)) {
        status = sj_error_set(err, SJ_ERR_INPUT,
                              "%s is %s, not the manifest sjtalign writes; choose another --out "
                              "or move the folder",
                              path, kind_of(st.st_mode));
    } else if ((status = sj_read_file(path, &text, NULL, err)) == SJ_OK) {
        *doc = cJSON_Parse(text);
        if (!manifest_is_valid(*doc)) {
            cJSON_Delete(*doc);
            *doc = NULL;
            status = sj_error_set(err, SJ_ERR_INPUT,
                                  "%s is damaged or not an sjtalign manifest; without it the "
                                  "folder's files cannot be told from someone else's: choose "
                                  "another --out or move the folder",
                                  path);
        }
    }
    free(text);
    free(path);
    return status;
}

/* The manifest of the files now in `dir` (all of them regular files). */
static cJSON *manifest_build(const char *dir, const char *command, sj_error *err)
{
    name_list names;
    if (list_folder(dir, &names, err) != SJ_OK)
        return NULL;
    cJSON *doc = cJSON_CreateObject();
    cJSON *files = NULL;
    if (!doc || !cJSON_AddStringToObject(doc, "format", SJ_MANIFEST_FORMAT) ||
        !cJSON_AddNumberToObject(doc, "format_version", MANIFEST_VERSION) ||
        !cJSON_AddStringToObject(doc, "command", command) ||
        !(files = cJSON_AddArrayToObject(doc, "files")))
        sj_error_set(err, SJ_ERR_WORK, "out of memory");
    sj_status st = files ? SJ_OK : SJ_ERR_WORK;
    for (size_t i = 0; i < names.n && st == SJ_OK; i++) {
        if (strcmp(names.names[i], SJ_MANIFEST_NAME) == 0)
            continue;
        char *path = sj_path_join(dir, names.names[i]);
        struct stat sb;
        char sha[65];
        cJSON *e = NULL;
        if (!path || lstat(path, &sb) != 0 || !S_ISREG(sb.st_mode))
            st = sj_error_set(err, SJ_ERR_WORK, "%s is not a file written for this folder",
                              path ? path : names.names[i]);
        else if (sj_sha256_file(path, sha, err) != SJ_OK)
            st = sj_error_set(err, SJ_ERR_WORK, "cannot read back %s", path);
        else if (!(e = cJSON_CreateObject()) || !cJSON_AddItemToArray(files, e) ||
                 !cJSON_AddStringToObject(e, "name", names.names[i]) ||
                 !cJSON_AddNumberToObject(e, "bytes", (double)sb.st_size) ||
                 !cJSON_AddStringToObject(e, "sha256", sha))
            st = sj_error_set(err, SJ_ERR_WORK, "out of memory");
        free(path);
    }
    name_list_free(&names);
    if (st != SJ_OK) {
        cJSON_Delete(doc);
        return NULL;
    }
    return doc;
}

/* Writes the manifest atomically and reads it back: a manifest that does
 * not say what was written would later refuse (or allow) the wrong files. */
static sj_status manifest_write(const char *dir, const cJSON *doc, sj_error *err)
{
    char *text = cJSON_Print(doc);
    char *path = sj_path_join(dir, SJ_MANIFEST_NAME);
    char *with_newline = text ? sj_asprintf("%s\n", text) : NULL;
    free(text);
    sj_status st = SJ_OK;
    if (!path || !with_newline)
        st = sj_error_set(err, SJ_ERR_WORK, "out of memory");
    else
        st = sj_write_file_atomic(path, with_newline, strlen(with_newline), err);
    cJSON *back = NULL;
    if (st == SJ_OK && manifest_load(dir, &back, err) == SJ_OK && back &&
        cJSON_Compare(back, doc, 1))
        st = SJ_OK;
    else if (st == SJ_OK)
        st = sj_error_set(err, SJ_ERR_WORK, "%s does not read back as written", path);
    cJSON_Delete(back);
    free(with_newline);
    free(path);
    return st;
}

/* ---- may a folder be replaced? ------------------------------------------------ */

static sj_status refuse_foreign(const char *dir, const name_list *names, size_t first,
                                size_t n_foreign, int has_manifest, sj_error *err)
{
    char *path = sj_path_join(dir, names->names[first]);
    char more[64] = "";
    if (n_foreign > 1)
        snprintf(more, sizeof more, " (and %zu more)", n_foreign - 1);
    sj_error_set(err, SJ_ERR_INPUT,
                 "%s%s was not written by sjtalign%s; sjtalign replaces only the files it "
                 "wrote itself: choose another --out or move %s",
                 path ? path : names->names[first], more,
                 has_manifest ? "" : " (the folder has no " SJ_MANIFEST_NAME ")",
                 n_foreign > 1 ? "them" : "it");
    free(path);
    return SJ_ERR_INPUT;
}

/* A listed file must still be the regular file of the size and checksum
 * recorded: replacing it otherwise would lose the user's change. */
static sj_status check_listed(const char *path, const cJSON *entry, sj_error *err)
{
    struct stat st;
    if (lstat(path, &st) != 0)
        return sj_error_set(err, SJ_ERR_INPUT, "cannot read %s: %s", path, strerror(errno));
    if (!S_ISREG(st.st_mode))
        return sj_error_set(err, SJ_ERR_INPUT,
                            "%s is %s, not the file sjtalign wrote there; choose another --out "
                            "or move it",
                            path, kind_of(st.st_mode));
    double bytes = cJSON_GetObjectItemCaseSensitive(entry, "bytes")->valuedouble;
    const char *want = cJSON_GetObjectItemCaseSensitive(entry, "sha256")->valuestring;
    char sha[65] = "";
    if ((double)st.st_size != bytes || sj_sha256_file(path, sha, err) != SJ_OK ||
        strcmp(sha, want) != 0)
        return sj_error_set(err, SJ_ERR_INPUT,
                            "%s was changed after sjtalign wrote it (its size or checksum "
                            "differs from " SJ_MANIFEST_NAME "); replacing the folder would "
                            "lose the change: choose another --out or move the file",
                            path);
    return SJ_OK;
}

/* A folder is replaced only by the command that wrote it: a mistyped --out
 * must not turn a trained model into an audit report, nor an audit read as
 * an input into a comparison. */
static sj_status check_command(const char *dir, const cJSON *manifest, const char *command,
                               sj_error *err)
{
    const char *wrote = cJSON_GetObjectItemCaseSensitive(manifest, "command")->valuestring;
    if (!command || strcmp(wrote, command) == 0)
        return SJ_OK;
    return sj_error_set(err, SJ_ERR_INPUT,
                        "%s was written by `sjtalign %s`; `sjtalign %s` replaces only a folder "
                        "it wrote itself: choose another --out or move the folder",
                        dir, wrote, command);
}

static sj_status check_entries(const char *dir, const name_list *names, const cJSON *manifest,
                               const char *command, sj_error *err)
{
    size_t n_foreign = 0, first = 0;
    for (size_t i = 0; i < names->n; i++) {
        const char *name = names->names[i];
        if (strcmp(name, SJ_MANIFEST_NAME) == 0)
            continue;
        if (!manifest || !manifest_entry(manifest, name)) {
            if (n_foreign++ == 0)
                first = i;
        }
    }
    if (n_foreign)
        return refuse_foreign(dir, names, first, n_foreign, manifest != NULL, err);
    if (manifest && check_command(dir, manifest, command, err) != SJ_OK)
        return SJ_ERR_INPUT;
    for (size_t i = 0; i < names->n; i++) {
        if (strcmp(names->names[i], SJ_MANIFEST_NAME) == 0)
            continue;
        char *path = sj_path_join(dir, names->names[i]);
        sj_status st = path ? check_listed(path, manifest_entry(manifest, names->names[i]), err)
                            : sj_error_set(err, SJ_ERR_WORK, "out of memory");
        free(path);
        if (st != SJ_OK)
            return st;
    }
    return SJ_OK;
}

sj_status sj_outdir_check_replaceable(const char *dir, sj_error *err)
{
    return sj_outdir_check_replaceable_by(dir, NULL, err);
}

sj_status sj_outdir_check_replaceable_by(const char *dir, const char *command, sj_error *err)
{
    struct stat st;
    if (lstat(dir, &st) != 0) {
        if (errno == ENOENT)
            return SJ_OK;
        return sj_error_set(err, SJ_ERR_INPUT, "cannot use %s as an output folder: %s", dir,
                            strerror(errno));
    }
    if (!S_ISDIR(st.st_mode))
        return sj_error_set(err, SJ_ERR_INPUT,
                            "%s is %s; an output folder must be a new or sjtalign's own "
                            "folder, never renamed over (choose another --out)",
                            dir, kind_of(st.st_mode));
    name_list names;
    if (list_folder(dir, &names, err) != SJ_OK)
        return err ? err->status : SJ_ERR_INPUT;
    cJSON *manifest = NULL;
    sj_status status = names.n ? manifest_load(dir, &manifest, err) : SJ_OK;
    if (status == SJ_OK)
        status = check_entries(dir, &names, manifest, command, err);
    cJSON_Delete(manifest);
    name_list_free(&names);
    return status;
}

/* ---- leftovers -------------------------------------------------------------------- */

/* 1 when `name` is PREFIX followed by the id of a process that no longer
 * exists: what a replacement killed mid-way (SIGKILL, power loss) left. */
static int is_dead_leftover(const char *name, const char *prefix)
{
    size_t np = strlen(prefix);
    if (strncmp(name, prefix, np) != 0 || name[np] < '0' || name[np] > '9')
        return 0;
    char *end;
    long pid = strtol(name + np, &end, 10);
    return *end == '\0' && pid > 0 && pid != (long)getpid() && kill((pid_t)pid, 0) != 0 &&
           errno == ESRCH;
}

/* Removes a folder being built (ours: only files we wrote), unless it holds
 * anything but regular files. 0 when it is gone. */
static int remove_temporary(const char *dir)
{
    name_list names;
    if (list_folder(dir, &names, NULL) != SJ_OK)
        return -1;
    int flat = 1;
    for (size_t i = 0; i < names.n && flat; i++) {
        char *path = sj_path_join(dir, names.names[i]);
        struct stat st;
        flat = path && lstat(path, &st) == 0 && S_ISREG(st.st_mode);
        free(path);
    }
    for (size_t i = 0; i < names.n && flat; i++) {
        char *path = sj_path_join(dir, names.names[i]);
        if (path)
            unlink(path);
        free(path);
    }
    name_list_free(&names);
    return flat && rmdir(dir) == 0 ? 0 : -1;
}

/* Removes a previous output folder moved aside: the files its manifest
 * lists, then the manifest, then the folder if nothing else is left. */
static int remove_listed(const char *dir)
{
    cJSON *manifest = NULL;
    if (manifest_load(dir, &manifest, NULL) == SJ_OK && manifest) {
        const cJSON *e;
        cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(manifest, "files"))
        {
            char *path =
                sj_path_join(dir, cJSON_GetObjectItemCaseSensitive(e, "name")->valuestring);
            if (path)
                unlink(path);
            free(path);
        }
        char *path = sj_path_join(dir, SJ_MANIFEST_NAME);
        if (path)
            unlink(path);
        free(path);
    }
    cJSON_Delete(manifest);
    return rmdir(dir) == 0 ? 0 : -1;
}

/* Removes the leftovers ".BASE.KIND.PID" of dead processes beside the
 * target: temporaries ("tmp") before building a new folder, previous
 * folders moved aside ("old") once a new one is in place. */
static void remove_dead_leftovers(const char *parent, const char *base, const char *kind)
{
    char *prefix = sj_asprintf(".%s.%s.", base, kind);
    name_list names;
    if (!prefix || list_folder(parent, &names, NULL) != SJ_OK) {
        free(prefix);
        return;
    }
    for (size_t i = 0; i < names.n; i++) {
        if (!is_dead_leftover(names.names[i], prefix))
            continue;
        char *path = sj_path_join(parent, names.names[i]);
        if (path && strcmp(kind, "tmp") == 0)
            remove_temporary(path);
        else if (path)
            remove_listed(path);
        free(path);
    }
    name_list_free(&names);
    free(prefix);
}

char *sj_outdir_leftover(const char *dir)
{
    char *parent = sj_path_parent(dir);
    char *copy = sj_strdup(dir);
    size_t n = copy ? strlen(copy) : 0;
    while (n > 1 && copy[n - 1] == '/')
        copy[--n] = '\0';
    char *prefix = copy ? sj_asprintf(".%s.old.", sj_path_base(copy)) : NULL;
    name_list names = {0};
    struct stat st;
    char *found = NULL;
    double newest = -1.0;
    if (parent && prefix && lstat(copy, &st) != 0 && errno == ENOENT &&
        list_folder(parent, &names, NULL) == SJ_OK) {
        for (size_t i = 0; i < names.n; i++) {
            if (!is_dead_leftover(names.names[i], prefix))
                continue;
            char *path = sj_path_join(parent, names.names[i]);
            char *manifest = path ? sj_path_join(path, SJ_MANIFEST_NAME) : NULL;
            if (manifest && lstat(manifest, &st) == 0 && S_ISREG(st.st_mode) &&
                (double)st.st_mtime > newest) {
                newest = (double)st.st_mtime;
                free(found);
                found = path;
                path = NULL;
            }
            free(manifest);
            free(path);
        }
    }
    name_list_free(&names);
    free(prefix);
    free(copy);
    free(parent);
    return found;
}

/* ---- building and swapping ----------------------------------------------------- */

/* Makes renames and new entries in a folder durable. */
static void sync_folder(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        fsync(fd);
        close(fd);
    }
}

static sj_status name_target(sj_outdir *d, const char *dir, sj_error *err)
{
    d->final_dir = sj_strdup(dir);
    if (!d->final_dir)
        return sj_error_set(err, SJ_ERR_WORK, "out of memory");
    size_t n = strlen(d->final_dir);
    while (n > 1 && d->final_dir[n - 1] == '/')
        d->final_dir[--n] = '\0';
    const char *base = sj_path_base(d->final_dir);
    if (base[0] == '\0' || strcmp(base, ".") == 0 || strcmp(base, "..") == 0)
        return sj_error_set(err, SJ_ERR_INPUT,
                            "%s: an output folder needs a name of its own (not \".\", \"..\" "
                            "or \"/\"): sjtalign replaces the folder as a whole",
                            dir);
    return SJ_OK;
}

sj_status sj_outdir_open(sj_outdir *d, const char *dir, const char *command, sj_error *err)
{
    memset(d, 0, sizeof *d);
    sj_status st = name_target(d, dir, err);
    if (st == SJ_OK)
        st = sj_outdir_check_replaceable_by(d->final_dir, command, err);
    char *parent = st == SJ_OK ? sj_path_parent(d->final_dir) : NULL;
    if (st == SJ_OK && !parent)
        st = sj_error_set(err, SJ_ERR_WORK, "out of memory");
    if (st == SJ_OK)
        st = sj_mkdir_p(parent, err);
    if (st == SJ_OK) {
        const char *base = sj_path_base(d->final_dir);
        remove_dead_leftovers(parent, base, "tmp");
        d->tmp_dir = sj_asprintf("%s/.%s.tmp.%ld", parent, base, (long)getpid());
        struct stat sb;
        /* a temporary of this process id is ours, or a dead process's
         * whose id was reused */
        if (d->tmp_dir && lstat(d->tmp_dir, &sb) == 0)
            remove_temporary(d->tmp_dir);
        if (!d->tmp_dir || mkdir(d->tmp_dir, 0777) != 0) {
            st = sj_error_set(err, SJ_ERR_WORK, "cannot create a folder beside %s: %s",
                              d->final_dir, d->tmp_dir ? strerror(errno) : "out of memory");
            free(d->tmp_dir);
            d->tmp_dir = NULL;
        }
    }
    free(parent);
    if (st != SJ_OK)
        sj_outdir_abort(d);
    return st;
}

char *sj_outdir_file(const sj_outdir *d, const char *name)
{
    return sj_path_join(d->tmp_dir, name);
}

/* Moves an existing target aside, the new folder into place, and removes
 * the previous folder's files. Called after the target was checked. */
static sj_status swap_into_place(sj_outdir *d, const char *parent, sj_error *err)
{
    const char *base = sj_path_base(d->final_dir);
    char *old = NULL;
    struct stat st;
    sj_status status = SJ_OK;
    if (lstat(d->final_dir, &st) == 0) {
        /* rename() replaces only an empty folder: the old one goes aside */
        old = sj_asprintf("%s/.%s.old.%ld", parent, base, (long)getpid());
        if (old && lstat(old, &st) == 0)
            remove_listed(old); /* a dead process's, whose id was reused */
        if (!old || rename(d->final_dir, old) != 0)
            status = sj_error_set(err, SJ_ERR_WORK, "cannot move the previous %s aside: %s",
                                  d->final_dir, old ? strerror(errno) : "out of memory");
    }
    if (status == SJ_OK && rename(d->tmp_dir, d->final_dir) != 0) {
        status = sj_error_set(err, SJ_ERR_WORK, "cannot move the new folder into %s: %s",
                              d->final_dir, strerror(errno));
        if (old)
            rename(old, d->final_dir);
    }
    if (status == SJ_OK) {
        free(d->tmp_dir);
        d->tmp_dir = NULL;
        sync_folder(parent);
        if (old)
            remove_listed(old);
        remove_dead_leftovers(parent, base, "old");
    }
    free(old);
    return status;
}

sj_status sj_outdir_commit(sj_outdir *d, const char *command, sj_error *err)
{
    if (!d->tmp_dir || !d->final_dir) {
        sj_outdir_abort(d);
        return sj_error_set(err, SJ_ERR_WORK, "internal: commit of a folder that is not open");
    }
    sj_status st = SJ_OK;
    cJSON *manifest = manifest_build(d->tmp_dir, command ? command : "sjtalign", err);
    if (!manifest)
        st = err && err->status ? err->status : SJ_ERR_WORK;
    if (st == SJ_OK && (st = manifest_write(d->tmp_dir, manifest, err)) == SJ_OK)
        sync_folder(d->tmp_dir);
    /* checked again: the folder may have changed while this one was built */
    if (st == SJ_OK)
        st = sj_outdir_check_replaceable_by(d->final_dir, command, err);
    char *parent = sj_path_parent(d->final_dir);
    if (st == SJ_OK && !parent)
        st = sj_error_set(err, SJ_ERR_WORK, "out of memory");
    if (st == SJ_OK)
        st = swap_into_place(d, parent, err);
    free(parent);
    cJSON_Delete(manifest);
    sj_outdir_abort(d);
    return st;
}

void sj_outdir_abort(sj_outdir *d)
{
    if (d->tmp_dir)
        remove_temporary(d->tmp_dir);
    free(d->tmp_dir);
    d->tmp_dir = NULL;
    free(d->final_dir);
    d->final_dir = NULL;
}
