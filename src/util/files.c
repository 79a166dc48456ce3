/* Atomic file writes, whole-file reads, folders and checksums. */
#include "sjtalign/util.h"

#include <errno.h>
#include <fcntl.h>
#include <nettle/sha2.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- input limits ---------------------------------------------------------- */

static const size_t DEFAULT_LIMITS[SJ_INPUT_KINDS] = {
    (size_t)4 << 30,  /* tables */
    (size_t)64 << 20, /* documents */
    (size_t)16 << 30, /* weights */
};
static size_t raised_limit; /* 0: the defaults apply */

size_t sj_input_limit(sj_input_kind kind)
{
    size_t base = DEFAULT_LIMITS[kind < SJ_INPUT_KINDS ? kind : SJ_INPUT_DOCUMENT];
    return raised_limit ? raised_limit : base;
}

void sj_input_limit_set(size_t bytes)
{
    raised_limit = bytes;
}

static const char *file_kind_name(mode_t mode)
{
    if (S_ISDIR(mode))
        return "a folder";
    if (S_ISFIFO(mode))
        return "a FIFO (named pipe)";
    if (S_ISCHR(mode))
        return "a character device";
    if (S_ISBLK(mode))
        return "a block device";
    if (S_ISSOCK(mode))
        return "a socket";
    if (S_ISLNK(mode))
        return "a symbolic link";
    return "not a regular file";
}

static const char *kind_noun(sj_input_kind kind)
{
    return kind == SJ_INPUT_TABLE     ? "table"
           : kind == SJ_INPUT_WEIGHTS ? "weights file"
                                      : "document";
}

sj_status sj_input_check(const char *path, sj_input_kind kind, sj_error *err)
{
    struct stat st;
    if (stat(path, &st) != 0)
        return sj_error_set(err, SJ_ERR_INPUT, "cannot open %s: %s", path, strerror(errno));
    if (!S_ISREG(st.st_mode))
        return sj_error_set(err, SJ_ERR_INPUT, "%s is %s; expected a regular file", path,
                            file_kind_name(st.st_mode));
    size_t limit = sj_input_limit(kind);
    if ((unsigned long long)st.st_size > (unsigned long long)limit)
        return sj_error_set(err, SJ_ERR_INPUT,
                            "%s is %lld bytes, more than the %zu MiB allowed for a %s; "
                            "raise the limit with --max-input-mb",
                            path, (long long)st.st_size, limit >> 20, kind_noun(kind));
    return SJ_OK;
}

FILE *sj_input_open(const char *path, sj_input_kind kind, sj_error *err)
{
    if (sj_input_check(path, kind, err) != SJ_OK)
        return NULL;
    /* O_NONBLOCK: a file swapped for a FIFO after the check must not hang
     * the open; it is cleared again for ordinary reads. */
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) {
        sj_error_set(err, SJ_ERR_INPUT, "cannot open %s: %s", path, strerror(errno));
        return NULL;
    }
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        sj_error_set(err, SJ_ERR_INPUT, "%s changed while being opened; expected a regular file",
                     path);
        return NULL;
    }
    int flags = fcntl(fd, F_GETFL);
    if (flags >= 0)
        fcntl(fd, F_SETFL, flags & ~O_NONBLOCK);
    FILE *fp = fdopen(fd, "rb");
    if (!fp) {
        close(fd);
        sj_error_set(err, SJ_ERR_WORK, "cannot open %s: %s", path, strerror(errno));
    }
    return fp;
}

sj_status sj_output_check(const char *path, sj_error *err)
{
    if (path[0] == '\0')
        return sj_error_set(err, SJ_ERR_INPUT, "an output path is empty");
    struct stat st;
    if (lstat(path, &st) == 0) {
        if (!S_ISREG(st.st_mode))
            return sj_error_set(err, SJ_ERR_INPUT,
                                "%s is %s; sjtalign writes only new or regular files "
                                "(use - for standard output)",
                                path, file_kind_name(st.st_mode));
        return SJ_OK;
    }
    if (errno != ENOENT)
        return sj_error_set(err, SJ_ERR_INPUT, "cannot write %s: %s", path, strerror(errno));
    char *dir = sj_path_parent(path);
    if (!dir)
        return sj_error_set(err, SJ_ERR_WORK, "out of memory");
    sj_status status = SJ_OK;
    if (stat(dir, &st) != 0)
        status = sj_error_set(err, SJ_ERR_INPUT, "cannot write %s: the folder %s does not exist",
                              path, dir);
    else if (!S_ISDIR(st.st_mode))
        status = sj_error_set(err, SJ_ERR_INPUT, "cannot write %s: %s is not a folder", path, dir);
    free(dir);
    return status;
}

sj_status sj_atomic_open(sj_atomic_file *af, const char *path, sj_error *err)
{
    memset(af, 0, sizeof *af);
    af->path = sj_strdup(path);
    /* The temporary lives in the target's folder so rename() stays within
     * one file system and is atomic. */
    sj_status checked = sj_output_check(path, err);
    if (checked != SJ_OK) {
        sj_atomic_abort(af);
        return checked;
    }
    char *dir = sj_path_parent(path);
    const char *base = sj_path_base(path);
    af->tmp_path = sj_asprintf("%s/.%s.tmp.XXXXXX", dir, base);
    free(dir);
    if (!af->path || !af->tmp_path) {
        sj_atomic_abort(af);
        return sj_error_set(err, SJ_ERR_WORK, "out of memory opening %s", path);
    }
    int fd = mkstemp(af->tmp_path);
    if (fd < 0) {
        int e = errno;
        free(af->tmp_path);
        af->tmp_path = NULL;
        sj_atomic_abort(af);
        return sj_error_set(err, SJ_ERR_WORK, "cannot write %s: %s", path, strerror(e));
    }
    fchmod(fd, 0644);
    af->fp = fdopen(fd, "wb");
    if (!af->fp) {
        close(fd);
        sj_atomic_abort(af);
        return sj_error_set(err, SJ_ERR_WORK, "cannot write %s: %s", path, strerror(errno));
    }
    return SJ_OK;
}

sj_status sj_atomic_commit(sj_atomic_file *af, sj_error *err)
{
    int failed = 0;
    int saved_errno = 0;
    if (!af->fp) {
        sj_atomic_abort(af);
        return sj_error_set(err, SJ_ERR_WORK, "internal: commit of a file that is not open");
    }
    if (ferror(af->fp) || fflush(af->fp) != 0 || fsync(fileno(af->fp)) != 0) {
        failed = 1;
        saved_errno = errno;
    }
    if (fclose(af->fp) != 0 && !failed) {
        failed = 1;
        saved_errno = errno;
    }
    af->fp = NULL;
    if (!failed && rename(af->tmp_path, af->path) != 0) {
        failed = 1;
        saved_errno = errno;
    }
    if (failed) {
        sj_error_set(err, SJ_ERR_WORK, "cannot write %s: %s", af->path,
                     saved_errno ? strerror(saved_errno) : "write error");
        sj_atomic_abort(af);
        return SJ_ERR_WORK;
    }
    free(af->tmp_path);
    af->tmp_path = NULL;
    free(af->path);
    af->path = NULL;
    return SJ_OK;
}

void sj_atomic_abort(sj_atomic_file *af)
{
    if (af->fp) {
        fclose(af->fp);
        af->fp = NULL;
    }
    if (af->tmp_path) {
        unlink(af->tmp_path);
        free(af->tmp_path);
        af->tmp_path = NULL;
    }
    free(af->path);
    af->path = NULL;
}

sj_status sj_write_file_atomic(const char *path, const void *data, size_t len, sj_error *err)
{
    sj_atomic_file af;
    if (sj_atomic_open(&af, path, err) != SJ_OK)
        return err ? err->status : SJ_ERR_WORK;
    if (len && fwrite(data, 1, len, af.fp) != len) {
        sj_atomic_abort(&af);
        return sj_error_set(err, SJ_ERR_WORK, "cannot write %s: %s", path, strerror(errno));
    }
    return sj_atomic_commit(&af, err);
}

sj_status sj_read_file(const char *path, char **data, size_t *len, sj_error *err)
{
    return sj_read_file_kind(path, SJ_INPUT_DOCUMENT, data, len, err);
}

sj_status sj_read_file_kind(const char *path, int kind, char **data, size_t *len, sj_error *err)
{
    *data = NULL;
    if (len)
        *len = 0;
    FILE *fp = sj_input_open(path, (sj_input_kind)kind, err);
    if (!fp)
        return err ? err->status : SJ_ERR_INPUT;
    size_t limit = sj_input_limit((sj_input_kind)kind);
    sj_buf b = {0};
    char chunk[65536];
    size_t got;
    while ((got = fread(chunk, 1, sizeof chunk, fp)) > 0) {
        /* The size was checked on open; a file that grows meanwhile is
         * still cut off at the limit. */
        if (b.len + got > limit) {
            fclose(fp);
            sj_buf_free(&b);
            return sj_error_set(err, SJ_ERR_INPUT,
                                "%s grew beyond the %zu MiB limit while being read", path,
                                limit >> 20);
        }
        if (sj_buf_append(&b, chunk, got) != 0) {
            fclose(fp);
            sj_buf_free(&b);
            return sj_error_set(err, SJ_ERR_WORK, "out of memory reading %s", path);
        }
    }
    int failed = ferror(fp);
    fclose(fp);
    if (failed) {
        sj_buf_free(&b);
        return sj_error_set(err, SJ_ERR_INPUT, "cannot read %s", path);
    }
    if (!b.data && sj_buf_append(&b, "", 0) != 0)
        return sj_error_set(err, SJ_ERR_WORK, "out of memory reading %s", path);
    *data = b.data;
    if (len)
        *len = b.len;
    return SJ_OK;
}

sj_status sj_mkdir_p(const char *path, sj_error *err)
{
    char *copy = sj_strdup(path);
    if (!copy)
        return sj_error_set(err, SJ_ERR_WORK, "out of memory");
    for (char *p = copy + 1;; p++) {
        if (*p == '/' || *p == '\0') {
            char saved = *p;
            *p = '\0';
            if (mkdir(copy, 0755) != 0 && errno != EEXIST) {
                sj_error_set(err, SJ_ERR_WORK, "cannot create folder %s: %s", copy,
                             strerror(errno));
                free(copy);
                return SJ_ERR_WORK;
            }
            *p = saved;
            if (saved == '\0')
                break;
        }
    }
    free(copy);
    struct stat st;
    if (stat(path, &st) != 0 || !S_ISDIR(st.st_mode))
        return sj_error_set(err, SJ_ERR_WORK, "%s exists and is not a folder", path);
    return SJ_OK;
}

char *sj_path_join(const char *dir, const char *name)
{
    size_t n = strlen(dir);
    if (n > 0 && dir[n - 1] == '/')
        return sj_asprintf("%s%s", dir, name);
    return sj_asprintf("%s/%s", dir, name);
}

static void digest_to_hex(const uint8_t digest[SHA256_DIGEST_SIZE], char out[65])
{
    static const char hex[] = "0123456789abcdef";
    for (int i = 0; i < SHA256_DIGEST_SIZE; i++) {
        out[2 * i] = hex[digest[i] >> 4];
        out[2 * i + 1] = hex[digest[i] & 15];
    }
    out[64] = '\0';
}

void sj_sha256_hex(const void *data, size_t len, char out[65])
{
    struct sha256_ctx ctx;
    uint8_t digest[SHA256_DIGEST_SIZE];
    sha256_init(&ctx);
    sha256_update(&ctx, len, data);
    sha256_digest(&ctx, SHA256_DIGEST_SIZE, digest);
    digest_to_hex(digest, out);
}

sj_status sj_sha256_file(const char *path, char out[65], sj_error *err)
{
    FILE *fp = sj_input_open(path, SJ_INPUT_WEIGHTS, err);
    if (!fp)
        return err ? err->status : SJ_ERR_INPUT;
    struct sha256_ctx ctx;
    sha256_init(&ctx);
    uint8_t chunk[65536];
    size_t got;
    while ((got = fread(chunk, 1, sizeof chunk, fp)) > 0)
        sha256_update(&ctx, got, chunk);
    int failed = ferror(fp);
    fclose(fp);
    if (failed)
        return sj_error_set(err, SJ_ERR_INPUT, "cannot read %s", path);
    uint8_t digest[SHA256_DIGEST_SIZE];
    sha256_digest(&ctx, SHA256_DIGEST_SIZE, digest);
    digest_to_hex(digest, out);
    return SJ_OK;
}
