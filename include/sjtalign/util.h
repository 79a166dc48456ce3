/* sjtalign utilities: error values, atomic file writes, progress reporting,
 * seeded random numbers and OpenBLAS core selection. */
#ifndef SJTALIGN_UTIL_H
#define SJTALIGN_UTIL_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <gsl/gsl_rng.h>

#define SJ_VERSION "0.1.0"

/* ---- errors ------------------------------------------------------------ */

/* What went wrong decides the exit code: bad usage or bad input is the
 * user's to fix (2); anything else failed while working (1). */
typedef enum {
    SJ_OK = 0,
    SJ_ERR_WORK = 1,  /* failure while working: I/O, numerics, resources */
    SJ_ERR_INPUT = 2, /* bad usage or bad input */
} sj_status;

#define SJ_ERROR_MSG_MAX 2048

typedef struct {
    sj_status status;
    char msg[SJ_ERROR_MSG_MAX];
} sj_error;

void sj_error_clear(sj_error *err);

/* Sets status and a printf-style message; returns the status so callers can
 * write `return sj_error_set(err, SJ_ERR_INPUT, "...")`. err may be NULL. */
sj_status sj_error_set(sj_error *err, sj_status status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Same, prefixed with "file:line:column: " (line or column 0 = unknown). */
sj_status sj_error_at(sj_error *err, sj_status status, const char *file, long line, long column,
                      const char *fmt, ...) __attribute__((format(printf, 6, 7)));

/* Prepends context ("while reading X: ") to an existing message. */
void sj_error_prefix(sj_error *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* ---- memory ------------------------------------------------------------ */

/* Allocation helpers that never return NULL for a non-zero size unless the
 * system is out of memory; callers still check and report SJ_ERR_WORK. */
void *sj_calloc(size_t n, size_t size);
char *sj_strdup(const char *s);
char *sj_strndup(const char *s, size_t n);
/* Formats into a newly allocated string. */
char *sj_asprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Growable byte buffer, zero-initialised ({0}) before use. Failure is
 * sticky: the first append that cannot be done (out of memory, a size that
 * would overflow, a format error) sets `failed`, and from then on every
 * append does nothing, so a writer builds the whole text unchecked and asks
 * sj_buf_failed once before the text is used. data stays NUL-terminated
 * (or NULL) and holds what was appended before the failure. */
typedef struct {
    char *data;
    size_t len;
    size_t cap;
    int failed;
} sj_buf;

/* Both return 0 when the text was appended, -1 when it was not (now or at
 * an earlier failure); callers may ignore the value and check the flag. */
int sj_buf_append(sj_buf *b, const void *data, size_t len);
int sj_buf_printf(sj_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int sj_buf_vprintf(sj_buf *b, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));
/* Appends the names as a message lists them: 'a', 'b', 'c' (nothing for
 * none). */
int sj_buf_quoted_list(sj_buf *b, char *const *names, size_t n);
/* Marks the buffer failed, for a writer whose own step failed (a chart that
 * could not be built) so that one check covers both. */
void sj_buf_fail(sj_buf *b);
/* Whether any append failed since the buffer was initialised or freed. */
int sj_buf_failed(const sj_buf *b);
/* Frees the text and returns the buffer to its initial state (not failed). */
void sj_buf_free(sj_buf *b);

/* ---- files -------------------------------------------------------------- */

/* A file being written atomically: data goes to a temporary file in the
 * same folder, which replaces the target by rename() only on commit. On
 * abort (or any failure) the temporary file is removed and the target is
 * left as it was. */
typedef struct {
    FILE *fp;
    char *path;
    char *tmp_path;
} sj_atomic_file;

sj_status sj_atomic_open(sj_atomic_file *af, const char *path, sj_error *err);
/* Flushes, syncs, closes and renames. On failure the temporary is removed. */
sj_status sj_atomic_commit(sj_atomic_file *af, sj_error *err);
/* Discards the temporary file; safe to call on a committed or closed file. */
void sj_atomic_abort(sj_atomic_file *af);

/* Writes a whole buffer to path atomically. */
sj_status sj_write_file_atomic(const char *path, const void *data, size_t len, sj_error *err);

/* Reads a whole file into a NUL-terminated buffer (*len excludes the NUL).
 * The file must pass sj_input_check for SJ_INPUT_DOCUMENT. */
sj_status sj_read_file(const char *path, char **data, size_t *len, sj_error *err);
/* The same for a file of the given kind (its own size limit). */
sj_status sj_read_file_kind(const char *path, int kind, char **data, size_t *len, sj_error *err);

/* ---- input and output safety -------------------------------------------- */

/* What an input is decides its size limit: tables (CSV, JSON lines) may be
 * large; documents (JSON settings, instruments, tokenizers) are small; model
 * weights are bounded by their own header. */
typedef enum {
    SJ_INPUT_TABLE = 0,    /* default limit 4 GiB */
    SJ_INPUT_DOCUMENT = 1, /* default limit 64 MiB */
    SJ_INPUT_WEIGHTS = 2,  /* default limit 16 GiB */
    SJ_INPUT_KINDS = 3
} sj_input_kind;

/* The size limit in bytes for a kind of input. */
size_t sj_input_limit(sj_input_kind kind);
/* Raises (or lowers) every limit to at least `bytes` (the command line's
 * --max-input-mb); 0 restores the defaults. */
void sj_input_limit_set(size_t bytes);

/* An input must be a regular file (after following links) no larger than
 * its kind's limit: a folder, FIFO, device or socket is refused, so reading
 * never blocks or grows without bound. SJ_ERR_INPUT names the file and what
 * it is. */
sj_status sj_input_check(const char *path, sj_input_kind kind, sj_error *err);
/* Opens a checked input for reading ("rb"); NULL with err set on failure. */
FILE *sj_input_open(const char *path, sj_input_kind kind, sj_error *err);

/* An output file may be created in an existing folder or replace an
 * existing regular file. A target that is a symbolic link, folder, device,
 * FIFO or socket is refused (SJ_ERR_INPUT), as is a missing parent folder:
 * sjtalign never renames over something that is not a plain file. */
sj_status sj_output_check(const char *path, sj_error *err);

/* ---- output folders ------------------------------------------------------ */

/* A folder output (a model, an audit or comparison report, a simulation) is
 * written under ".BASE.tmp.PID" beside its target and swapped into place
 * whole. Its last file is the manifest SJ_MANIFEST_NAME: JSON with "format"
 * SJ_MANIFEST_FORMAT, "format_version" 1, the "command" that wrote the folder
 * and "files", a list of {"name", "bytes", "sha256"} for every file written
 * there. An existing folder is replaced only when it is empty or holds
 * nothing but its manifest's files, unchanged: sjtalign never deletes a file
 * it did not create. */
#define SJ_MANIFEST_NAME ".sjtalign-manifest.json"
#define SJ_MANIFEST_FORMAT "sjtalign-output-manifest"

typedef struct {
    char *final_dir; /* the target, without trailing '/' */
    char *tmp_dir;   /* where the files are written until the commit */
} sj_outdir;

/* May `dir` be replaced by a folder output? SJ_OK when it does not exist, is
 * an empty folder, or holds only the files its manifest lists with the
 * sizes and checksums recorded there. Otherwise SJ_ERR_INPUT naming what is
 * in the way: `dir` itself when it is a symbolic link, device, FIFO, socket
 * or file; else the first file (by name) sjtalign did not write, that
 * changed since it was written, or any file of a non-empty folder without a
 * manifest. Changes nothing; commands call it before any work. */
sj_status sj_outdir_check_replaceable(const char *dir, sj_error *err);
/* The same, and the manifest's "command" must be `command` (NULL: any): a
 * folder is replaced only by the command that wrote it, so a mistyped --out
 * never turns a model into a report. */
sj_status sj_outdir_check_replaceable_by(const char *dir, const char *command, sj_error *err);

/* Checks `dir` (sj_outdir_check_replaceable_by; command may be NULL when it
 * is known only at the commit), creates its parent folders and an empty
 * ".BASE.tmp.PID" beside it. Leftovers of dead processes' temporaries for
 * the same target are removed first. `dir` must name a folder of its own
 * (".", ".." and "/" are refused). */
sj_status sj_outdir_open(sj_outdir *d, const char *dir, const char *command, sj_error *err);
/* Path of a file inside the folder being built; caller frees. */
char *sj_outdir_file(const sj_outdir *d, const char *name);
/* Writes the manifest (command: e.g. "audit", "simulate", "pretrain") as the
 * folder's last file and reads it back, checks the target again (with this
 * command), then moves
 * a previous folder aside to ".BASE.old.PID", renames the new one into
 * place and removes the previous one's listed files. On failure the target
 * is as it was and the temporary folder is gone. Either way `d` is freed. */
sj_status sj_outdir_commit(sj_outdir *d, const char *command, sj_error *err);
/* Removes the folder being built; safe after a commit. */
void sj_outdir_abort(sj_outdir *d);
/* When `dir` does not exist but a replacement of it was killed between its
 * two renames, the previous folder it left (".BASE.old.PID" of a process
 * that no longer exists, holding a manifest; the newest when several);
 * else NULL. Caller frees. */
char *sj_outdir_leftover(const char *dir);

/* ---- paths -------------------------------------------------------------- */

/* Absolute path with symbolic links, "." and ".." resolved: the longest
 * existing prefix through realpath(), the rest appended lexically. Caller
 * frees; NULL when out of memory or the working folder is unknown. */
char *sj_path_resolve(const char *path);
/* 1 when both paths name the same file or folder after resolving. */
int sj_path_same(const char *a, const char *b);
/* 1 when `path` is `dir` itself or lies anywhere below it (resolved). */
int sj_path_inside(const char *path, const char *dir);
/* The folder that holds `path` ("." for a bare name, "/" for "/x"). Caller
 * frees. */
char *sj_path_parent(const char *path);
/* The last component of `path` (a pointer into it; empty when the path
 * ends in "/"). */
const char *sj_path_base(const char *path);

/* Creates a directory and its parents (like mkdir -p). */
sj_status sj_mkdir_p(const char *path, sj_error *err);

/* Joins a folder and a file name with one '/'. Caller frees. */
char *sj_path_join(const char *dir, const char *name);

/* SHA-256 of a buffer or a file, as 64 lowercase hex digits + NUL. */
void sj_sha256_hex(const void *data, size_t len, char out[65]);
sj_status sj_sha256_file(const char *path, char out[65], sj_error *err);

/* ---- progress ----------------------------------------------------------- */

/* On a terminal: a bar redrawn in place on stderr. Elsewhere: a plain line
 * at most every `interval` seconds, so logs stay readable. */
typedef struct {
    char label[64];
    long total;
    long done;
    int is_tty;
    int quiet;
    double started;
    double last_print;
    double interval;
} sj_progress;

/* total <= 0: unknown (a stream); the count and the time are shown. */
void sj_progress_start(sj_progress *p, const char *label, long total);
/* extra: short status text shown after the counts (may be NULL). */
void sj_progress_update(sj_progress *p, long done, const char *extra);
void sj_progress_finish(sj_progress *p, const char *extra);
/* Monotonic wall-clock seconds. */
double sj_now(void);

/* ---- random numbers ----------------------------------------------------- */

/* Every random choice flows from one user seed through GSL's MT19937.
 * Sub-streams for independent components are derived deterministically. */
gsl_rng *sj_rng_new(uint64_t seed);
/* A derived seed for a named component, so that adding randomness to one
 * component does not shift the stream of another. */
uint64_t sj_seed_derive(uint64_t seed, const char *component);
void sj_rng_free(gsl_rng *rng);

/* ---- BLAS core ---------------------------------------------------------- */

/* Debian's OpenBLAS 0.3.21 does not recognise recent CPUs and falls back to
 * generic SSE3 kernels. When OPENBLAS_CORETYPE is unset and the library
 * picked a fallback core while the CPU has AVX-512 or AVX2, this sets the
 * right core and re-executes the program once (the core is fixed when the
 * library loads). The same re-exec sets OMP_WAIT_POLICY=PASSIVE when it is
 * unset, so idle OpenMP threads sleep instead of spinning on a small
 * machine. A value the user set is never overridden. Returns only if no
 * re-exec happened. */
void sj_blas_ensure_core(int argc, char **argv);
/* Name of the core OpenBLAS runs on, e.g. "SkylakeX" or "Haswell". */
const char *sj_blas_core_name(void);
/* Core type this CPU should use, from CPUID ("SkylakeX", "Haswell", or NULL). */
const char *sj_blas_preferred_core(void);
int sj_blas_is_fallback_core(const char *name);
int sj_blas_num_threads(void);

#endif
