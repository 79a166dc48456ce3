/* The processes of one job (see sjtalign/dist.h). One source for both
 * builds: the MPI calls are compiled only with SJ_WITH_MPI (make mpi), and
 * with one process every collective returns before touching its data. */
#include "sjtalign/dist.h"

#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#ifdef SJ_WITH_MPI
#include <mpi.h>
#include <time.h>

/* A communicator of its own for the job's exit, so that its handshake
 * never meets a collective some rank left unfinished on MPI_COMM_WORLD. */
static MPI_Comm exit_comm = MPI_COMM_NULL;
#endif

static struct {
    int rank, size, mpi_up, failed_together;
    FILE *errors; /* a non-root rank's own standard error */
    double comm_seconds;
    const volatile sig_atomic_t *interrupt; /* the flag a step's exchange carries */
    int stop_agreed;
} job = {0, 1, 0, 0, NULL, 0.0, NULL, 0};

int sj_dist_compiled(void)
{
#ifdef SJ_WITH_MPI
    return 1;
#else
    return 0;
#endif
}

void sj_dist_go_alone(void)
{
    job.size = 1;
}

int sj_dist_rank(void)
{
    return job.rank;
}

int sj_dist_size(void)
{
    return job.size;
}

int sj_dist_is_root(void)
{
    return job.rank == 0;
}

FILE *sj_dist_error_stream(void)
{
    return job.errors ? job.errors : stderr;
}

double sj_dist_comm_seconds(void)
{
    return job.comm_seconds;
}

int sj_dist_failed_together(void)
{
    return job.failed_together;
}

void sj_dist_share_of(size_t n, int rank, int size, size_t *lo, size_t *hi)
{
    size_t s = size > 0 ? (size_t)size : 1, r = rank > 0 ? (size_t)rank : 0;
    size_t base = n / s, extra = n % s;
    *lo = r * base + (r < extra ? r : extra);
    *hi = *lo + base + (r < extra ? 1 : 0);
}

void sj_dist_share(size_t n, size_t *lo, size_t *hi)
{
    sj_dist_share_of(n, job.rank, job.size, lo, hi);
}

void sj_dist_pack_double(double x, float out[2])
{
    out[0] = (float)x;
    out[1] = (float)(x - (double)out[0]);
}

double sj_dist_unpack_double(const float in[2])
{
    return (double)in[0] + (double)in[1];
}

/* A job of one: the gather is a copy of this process's own block. */
static sj_status gather_alone(const void *mine, size_t bytes, char **out, size_t *counts,
                              sj_error *err)
{
    char *buf = malloc(bytes ? bytes : 1);
    if (!buf)
        return sj_error_set(err, SJ_ERR_WORK, "out of memory");
    if (bytes)
        memcpy(buf, mine, bytes);
    if (counts)
        counts[0] = bytes;
    *out = buf;
    return SJ_OK;
}

#ifdef SJ_WITH_MPI

/* Non-root ranks keep their standard error aside for their own failures
 * and silence both streams: rank 0 alone reports progress and results. */
static sj_status silence_non_root(sj_error *err)
{
    int keep = dup(STDERR_FILENO);
    int null = open("/dev/null", O_WRONLY);
    if (keep < 0 || null < 0)
        return sj_error_set(err, SJ_ERR_WORK, "rank %d: cannot redirect its output", job.rank);
    job.errors = fdopen(keep, "w");
    if (!job.errors)
        return sj_error_set(err, SJ_ERR_WORK, "rank %d: cannot redirect its output", job.rank);
    setvbuf(job.errors, NULL, _IOLBF, 0);
    fflush(stdout);
    fflush(stderr);
    dup2(null, STDOUT_FILENO);
    dup2(null, STDERR_FILENO);
    close(null);
    return SJ_OK;
}

sj_status sj_dist_init(int *argc, char ***argv, sj_error *err)
{
    const char *off = getenv("SJTALIGN_NO_MPI");
    if (off && strcmp(off, "1") == 0)
        return SJ_OK;
    int provided = 0;
    if (MPI_Init_thread(argc, argv, MPI_THREAD_FUNNELED, &provided) != MPI_SUCCESS)
        return sj_error_set(err, SJ_ERR_WORK, "MPI could not start (MPI_Init_thread failed)");
    job.mpi_up = 1;
    MPI_Comm_rank(MPI_COMM_WORLD, &job.rank);
    MPI_Comm_size(MPI_COMM_WORLD, &job.size);
    /* errors come back as codes, so a failed collective is reported, not
     * a crash inside MPI */
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
    if (MPI_Comm_dup(MPI_COMM_WORLD, &exit_comm) != MPI_SUCCESS)
        return sj_error_set(err, SJ_ERR_WORK, "MPI could not start (MPI_Comm_dup failed)");
    if (job.rank > 0)
        return silence_non_root(err);
    return SJ_OK;
}

void sj_dist_finalize(void)
{
    if (exit_comm != MPI_COMM_NULL)
        MPI_Comm_free(&exit_comm);
    if (job.mpi_up)
        MPI_Finalize();
    job.mpi_up = 0;
}

/* Waits for a non-blocking collective; 0 once done, -1 past the deadline
 * (a negative grace waits as long as it takes). */
static int wait_until(MPI_Request *req, double grace_seconds)
{
    double deadline = sj_now() + grace_seconds;
    for (;;) {
        int done = 0;
        if (MPI_Test(req, &done, MPI_STATUS_IGNORE) != MPI_SUCCESS)
            return -1;
        if (done)
            return 0;
        if (grace_seconds >= 0 && sj_now() > deadline)
            return -1;
        struct timespec pause = {0, 1000 * 1000};
        nanosleep(&pause, NULL);
    }
}

int sj_dist_leave_together(int rc, double grace_seconds, int *code, int *root_failed)
{
    *code = rc;
    *root_failed = job.rank == 0 && rc != 0;
    /* every process of the job meets here, also one that went on as a job
     * of its own (job.size 1) while the others waited for it */
    int world = 1;
    if (!job.mpi_up || exit_comm == MPI_COMM_NULL ||
        MPI_Comm_size(exit_comm, &world) != MPI_SUCCESS || world == 1)
        return 0;
    /* the lowest failing rank's code (rank * 256 + code, exit codes being
     * bytes), and whether rank 0 failed (0 when it did) */
    int v[2] = {rc != 0 ? job.rank * 256 + (rc & 255) : INT_MAX, job.rank == 0 && rc != 0 ? 0 : 1};
    MPI_Request req;
    if (MPI_Iallreduce(MPI_IN_PLACE, v, 2, MPI_INT, MPI_MIN, exit_comm, &req) != MPI_SUCCESS)
        return -1;
    if (wait_until(&req, rc != 0 ? grace_seconds : -1.0) != 0)
        return -1; /* the job is about to be stopped: the request is left as it is */
    *code = v[0] == INT_MAX ? 0 : v[0] % 256;
    *root_failed = v[1] == 0;
    return 0;
}

_Noreturn void sj_dist_abort(int code)
{
    fflush(stdout);
    fflush(stderr);
    if (job.errors)
        fflush(job.errors);
    if (job.mpi_up && job.size > 1)
        MPI_Abort(MPI_COMM_WORLD, code);
    exit(code);
}

static sj_status mpi_failed(int rc, const char *what, sj_error *err)
{
    char text[MPI_MAX_ERROR_STRING];
    int len = 0;
    if (MPI_Error_string(rc, text, &len) != MPI_SUCCESS)
        snprintf(text, sizeof text, "error %d", rc);
    return sj_error_set(err, SJ_ERR_WORK, "%s failed between the ranks: %s", what, text);
}

/* Elements per call: MPI counts are ints. */
#define CHUNK ((size_t)1 << 28)

static sj_status allreduce(void *x, size_t n, MPI_Datatype type, size_t width, MPI_Op op,
                           const char *what, sj_error *err)
{
    if (job.size == 1)
        return SJ_OK;
    double t0 = sj_now();
    char *p = x;
    for (size_t done = 0; done < n; done += CHUNK) {
        size_t k = n - done < CHUNK ? n - done : CHUNK;
        int rc = MPI_Allreduce(MPI_IN_PLACE, p + done * width, (int)k, type, op, MPI_COMM_WORLD);
        if (rc != MPI_SUCCESS)
            return mpi_failed(rc, what, err);
    }
    job.comm_seconds += sj_now() - t0;
    return SJ_OK;
}

sj_status sj_dist_sum_float(float *x, size_t n, sj_error *err)
{
    return allreduce(x, n, MPI_FLOAT, sizeof *x, MPI_SUM, "a sum", err);
}

sj_status sj_dist_sum_double(double *x, size_t n, sj_error *err)
{
    return allreduce(x, n, MPI_DOUBLE, sizeof *x, MPI_SUM, "a sum", err);
}

sj_status sj_dist_sum_int64(int64_t *x, size_t n, sj_error *err)
{
    return allreduce(x, n, MPI_INT64_T, sizeof *x, MPI_SUM, "a sum", err);
}

sj_status sj_dist_max_int(int *x, size_t n, sj_error *err)
{
    return allreduce(x, n, MPI_INT, sizeof *x, MPI_MAX, "a maximum", err);
}

sj_status sj_dist_broadcast(void *buf, size_t bytes, sj_error *err)
{
    if (job.size == 1)
        return SJ_OK;
    double t0 = sj_now();
    char *p = buf;
    for (size_t done = 0; done < bytes; done += CHUNK) {
        size_t k = bytes - done < CHUNK ? bytes - done : CHUNK;
        int rc = MPI_Bcast(p + done, (int)k, MPI_BYTE, 0, MPI_COMM_WORLD);
        if (rc != MPI_SUCCESS)
            return mpi_failed(rc, "a broadcast", err);
    }
    job.comm_seconds += sj_now() - t0;
    return SJ_OK;
}

/* Byte counts and offsets of every rank's block, as MPI's int arrays. */
static sj_status gather_layout(size_t bytes, int **count_out, int **offset_out, size_t *total,
                               sj_error *err)
{
    int64_t *all = calloc((size_t)job.size, sizeof *all);
    int *count = calloc((size_t)job.size, sizeof *count);
    int *offset = calloc((size_t)job.size, sizeof *offset);
    int64_t mine = (int64_t)bytes;
    sj_status st = all && count && offset ? SJ_OK : sj_error_set(err, SJ_ERR_WORK, "out of memory");
    if (st == SJ_OK) {
        int rc = MPI_Allgather(&mine, 1, MPI_INT64_T, all, 1, MPI_INT64_T, MPI_COMM_WORLD);
        if (rc != MPI_SUCCESS)
            st = mpi_failed(rc, "a gather", err);
    }
    int64_t sum = 0;
    for (int r = 0; r < job.size && st == SJ_OK; r++) {
        if (all[r] > INT_MAX || sum + all[r] > INT_MAX)
            st = sj_error_set(err, SJ_ERR_WORK, "a gather of more than 2 GiB between the ranks");
        else {
            count[r] = (int)all[r];
            offset[r] = (int)sum;
            sum += all[r];
        }
    }
    free(all);
    if (st != SJ_OK) {
        free(count);
        free(offset);
        return st;
    }
    *count_out = count;
    *offset_out = offset;
    *total = (size_t)sum;
    return SJ_OK;
}

static sj_status gather_blocks(const void *mine, size_t bytes, int to_all, char **out,
                               size_t *counts, sj_error *err)
{
    if (job.size == 1)
        return gather_alone(mine, bytes, out, counts, err);
    int *count = NULL, *offset = NULL;
    size_t total = 0;
    double t0 = sj_now();
    sj_status st = gather_layout(bytes, &count, &offset, &total, err);
    if (st != SJ_OK)
        return st;
    char *buf = NULL;
    if (to_all || job.rank == 0) {
        buf = malloc(total ? total : 1);
        if (!buf)
            st = sj_error_set(err, SJ_ERR_WORK, "out of memory");
    }
    /* every rank takes part even when one is out of memory */
    int ok = st == SJ_OK;
    if (allreduce(&ok, 1, MPI_INT, sizeof ok, MPI_MIN, "a gather", err) != SJ_OK || !ok)
        st = st != SJ_OK ? st : sj_error_set(err, SJ_ERR_WORK, "another rank ran out of memory");
    if (st == SJ_OK) {
        int rc = to_all ? MPI_Allgatherv(mine, (int)bytes, MPI_BYTE, buf, count, offset, MPI_BYTE,
                                         MPI_COMM_WORLD)
                        : MPI_Gatherv(mine, (int)bytes, MPI_BYTE, buf, count, offset, MPI_BYTE, 0,
                                      MPI_COMM_WORLD);
        if (rc != MPI_SUCCESS)
            st = mpi_failed(rc, "a gather", err);
    }
    for (int r = 0; r < job.size && counts; r++)
        counts[r] = (size_t)count[r];
    free(count);
    free(offset);
    if (st != SJ_OK) {
        free(buf);
        return st;
    }
    *out = buf;
    job.comm_seconds += sj_now() - t0;
    return SJ_OK;
}

sj_status sj_dist_agree(sj_status st, sj_error *err)
{
    job.failed_together = 0;
    if (job.size == 1) {
        job.failed_together = st != SJ_OK;
        return st;
    }
    int first = st != SJ_OK ? job.rank : job.size;
    int rc = MPI_Allreduce(MPI_IN_PLACE, &first, 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD);
    if (rc != MPI_SUCCESS)
        return mpi_failed(rc, "agreeing on success", err);
    if (first == job.size)
        return SJ_OK;
    struct {
        int status;
        char msg[SJ_ERROR_MSG_MAX];
    } failure = {0, ""};
    if (job.rank == first) {
        failure.status = (int)st;
        int at = first > 0 ? snprintf(failure.msg, sizeof failure.msg, "rank %d: ", first) : 0;
        /* the message is cut to fit after the prefix */
        memcpy(failure.msg + at, err ? err->msg : "", sizeof failure.msg - (size_t)at - 1);
        failure.msg[sizeof failure.msg - 1] = '\0';
    }
    rc = MPI_Bcast(&failure, (int)sizeof failure, MPI_BYTE, first, MPI_COMM_WORLD);
    if (rc != MPI_SUCCESS)
        return mpi_failed(rc, "agreeing on a failure", err);
    job.failed_together = 1;
    return sj_error_set(err, (sj_status)failure.status, "%s", failure.msg);
}

#else /* one process, no MPI */

sj_status sj_dist_init(int *argc, char ***argv, sj_error *err)
{
    (void)argc;
    (void)argv;
    (void)err;
    return SJ_OK;
}

void sj_dist_finalize(void) {}

int sj_dist_leave_together(int rc, double grace_seconds, int *code, int *root_failed)
{
    (void)grace_seconds;
    *code = rc;
    *root_failed = rc != 0;
    return 0;
}

_Noreturn void sj_dist_abort(int code)
{
    fflush(stdout);
    fflush(stderr);
    exit(code);
}

sj_status sj_dist_sum_float(float *x, size_t n, sj_error *err)
{
    (void)x, (void)n, (void)err;
    return SJ_OK;
}

sj_status sj_dist_sum_double(double *x, size_t n, sj_error *err)
{
    (void)x, (void)n, (void)err;
    return SJ_OK;
}

sj_status sj_dist_sum_int64(int64_t *x, size_t n, sj_error *err)
{
    (void)x, (void)n, (void)err;
    return SJ_OK;
}

sj_status sj_dist_max_int(int *x, size_t n, sj_error *err)
{
    (void)x, (void)n, (void)err;
    return SJ_OK;
}

sj_status sj_dist_broadcast(void *buf, size_t bytes, sj_error *err)
{
    (void)buf, (void)bytes, (void)err;
    return SJ_OK;
}

static sj_status gather_blocks(const void *mine, size_t bytes, int to_all, char **out,
                               size_t *counts, sj_error *err)
{
    (void)to_all;
    return gather_alone(mine, bytes, out, counts, err);
}

sj_status sj_dist_agree(sj_status st, sj_error *err)
{
    (void)err;
    job.failed_together = st != SJ_OK;
    return st;
}

#endif

sj_status sj_dist_gather(const void *mine, size_t bytes, int to_all, char **out, size_t *counts,
                         sj_error *err)
{
    *out = NULL;
    return gather_blocks(mine, bytes, to_all, out, counts, err);
}

sj_status sj_dist_sum_spans(const sj_dist_span *spans, size_t n_spans, sj_error *err)
{
    if (job.size == 1 || n_spans == 0)
        return SJ_OK;
    if (n_spans == 1)
        return sj_dist_sum_float(spans[0].data, spans[0].n, err);
    size_t total = 0;
    for (size_t s = 0; s < n_spans; s++)
        total += spans[s].n;
    float *buf = malloc((total ? total : 1) * sizeof *buf);
    /* a rank without the buffer still joins the reduction (with zeros it
     * cannot send, it fails after), so no rank waits for it */
    sj_status st = buf ? SJ_OK : sj_error_set(err, SJ_ERR_WORK, "out of memory");
    if (st != SJ_OK)
        return st;
    size_t at = 0;
    for (size_t s = 0; s < n_spans; s++) {
        memcpy(buf + at, spans[s].data, spans[s].n * sizeof *buf);
        at += spans[s].n;
    }
    st = sj_dist_sum_float(buf, total, err);
    at = 0;
    for (size_t s = 0; s < n_spans && st == SJ_OK; s++) {
        memcpy(spans[s].data, buf + at, spans[s].n * sizeof *buf);
        at += spans[s].n;
    }
    free(buf);
    return st;
}

void sj_dist_watch_interrupt(const volatile sig_atomic_t *flag)
{
    job.interrupt = flag;
}

int sj_dist_stop_agreed(void)
{
    if (job.size == 1)
        return job.interrupt && *job.interrupt;
    return job.stop_agreed;
}

sj_status sj_dist_exchange(const sj_dist_span *spans, size_t n_spans, sj_error *err)
{
    if (job.size == 1)
        return SJ_OK;
    sj_dist_span all[16];
    if (n_spans + 1 > sizeof all / sizeof *all)
        return sj_error_set(err, SJ_ERR_WORK, "a gradient exchange of more than 15 blocks");
    float flag = job.interrupt && *job.interrupt ? 1.0f : 0.0f;
    memcpy(all, spans, n_spans * sizeof *spans);
    all[n_spans] = (sj_dist_span){&flag, 1};
    sj_status st = sj_dist_sum_spans(all, n_spans + 1, err);
    /* once stopped, stopped: a later exchange in the same step keeps it */
    if (st == SJ_OK && flag > 0.0f)
        job.stop_agreed = 1;
    return st;
}

/* ---- the same inputs on every rank ------------------------------------------------ */

sj_status sj_dist_same_bytes(const char *what, const void *data, size_t n, sj_error *err)
{
    if (job.size == 1)
        return SJ_OK;
    char hex[65];
    sj_sha256_hex(data, n, hex);
    char *all = NULL;
    sj_status st = sj_dist_gather(hex, 64, 1, &all, NULL, err);
    if (st != SJ_OK)
        return st;
    char differ[256] = "";
    size_t used = 0;
    for (int r = 1; r < job.size; r++)
        if (memcmp(all + (size_t)r * 64, all, 64) != 0 && used + 16 < sizeof differ)
            used +=
                (size_t)snprintf(differ + used, sizeof differ - used, "%s%d", used ? ", " : "", r);
    free(all);
    if (used == 0)
        return SJ_OK;
    job.failed_together = 1;
    return sj_error_set(err, SJ_ERR_INPUT,
                        "%s differs between the ranks: rank %s read other bytes than rank 0 "
                        "(every rank must see the same inputs, e.g. on a shared file system)",
                        what, differ);
}

static int by_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The names of a folder's regular files, sorted. */
static sj_status folder_files(const char *dir, char ***names, size_t *n, sj_error *err)
{
    DIR *d = opendir(dir);
    if (!d)
        return sj_error_set(err, SJ_ERR_INPUT, "%s: cannot open the folder", dir);
    size_t cap = 0;
    *names = NULL;
    *n = 0;
    sj_status st = SJ_OK;
    for (struct dirent *e = readdir(d); e && st == SJ_OK; e = readdir(d)) {
        char *path = sj_path_join(dir, e->d_name);
        struct stat sb;
        int regular = path && stat(path, &sb) == 0 && S_ISREG(sb.st_mode);
        free(path);
        if (!regular)
            continue;
        if (*n == cap) {
            cap = cap ? 2 * cap : 16;
            char **grown = realloc(*names, cap * sizeof *grown);
            if (!grown) {
                st = sj_error_set(err, SJ_ERR_WORK, "out of memory");
                break;
            }
            *names = grown;
        }
        (*names)[*n] = strdup(e->d_name);
        if (!(*names)[(*n)++])
            st = sj_error_set(err, SJ_ERR_WORK, "out of memory");
    }
    closedir(d);
    if (st == SJ_OK && *n)
        qsort(*names, *n, sizeof **names, by_name);
    return st;
}

/* SHA-256 of every regular file's name and content hash, in name order. */
static sj_status folder_digest(const char *dir, char hex[65], sj_error *err)
{
    char **names = NULL;
    size_t n = 0;
    sj_status st = folder_files(dir, &names, &n, err);
    sj_buf list = {0};
    for (size_t i = 0; i < n && st == SJ_OK; i++) {
        char *path = sj_path_join(dir, names[i]);
        char file_hex[65];
        st = path ? sj_sha256_file(path, file_hex, err)
                  : sj_error_set(err, SJ_ERR_WORK, "out of memory");
        if (st == SJ_OK)
            sj_buf_printf(&list, "%s %s\n", names[i], file_hex);
        free(path);
    }
    if (st == SJ_OK && list.failed)
        st = sj_error_set(err, SJ_ERR_WORK, "out of memory");
    if (st == SJ_OK)
        sj_sha256_hex(list.data ? list.data : "", list.len, hex);
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
    free(list.data);
    return st;
}

sj_status sj_dist_same_input(const char *path, sj_error *err)
{
    if (job.size == 1)
        return SJ_OK;
    char hex[65] = "";
    struct stat sb;
    sj_status st;
    if (stat(path, &sb) != 0)
        st = sj_error_set(err, SJ_ERR_INPUT, "%s: no such file or folder", path);
    else if (S_ISDIR(sb.st_mode))
        st = folder_digest(path, hex, err);
    else
        st = sj_sha256_file(path, hex, err);
    st = sj_dist_agree(st, err);
    if (st != SJ_OK)
        return st;
    return sj_dist_same_bytes(path, hex, 64, err);
}
