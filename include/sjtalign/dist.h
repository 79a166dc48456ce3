/* sjtalign/dist.h: the processes of one job.
 *
 * Under build/sjtalign-mpi started by `mpirun -np N`, the N ranks of
 * MPI_COMM_WORLD; in the default build (and under sjtalign-mpi with
 * SJTALIGN_NO_MPI=1, or started without mpirun as one process) a single
 * process, rank 0 of 1. With one process every collective below returns at
 * once without touching its data, so a one-process run computes exactly
 * what it computes without MPI, bit for bit.
 *
 * Rules for callers:
 * - every rank calls the same collectives in the same order;
 * - a failure that only some ranks may meet (reading a file, a numerical
 *   error) goes through sj_dist_agree() before the next collective, so that
 *   every rank leaves together with the same message;
 * - rank 0 alone writes files, logs and progress (sj_dist_is_root()).
 *
 * dist depends on util only; every module above may use it. */
#ifndef SJTALIGN_DIST_H
#define SJTALIGN_DIST_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "sjtalign/util.h"

/* 1 when this program was built with MPI (make mpi), else 0. */
int sj_dist_compiled(void);

/* Joins the job: MPI_Init_thread (funneled: OpenMP threads never call MPI)
 * unless the build has no MPI or SJTALIGN_NO_MPI=1 is set (a child process
 * of a rank, e.g. a study replication, runs alone). On ranks other than 0,
 * standard output and standard error go to /dev/null from here on; their
 * errors still reach the terminal through sj_dist_error_stream(). */
sj_status sj_dist_init(int *argc, char ***argv, sj_error *err);
/* Leaves the job normally (MPI_Finalize); every rank must call it. */
void sj_dist_finalize(void);
/* The job's exit handshake, collective: every rank passes its exit code.
 * Returns 0 once every rank has arrived, with *code the exit code of the
 * lowest failing rank (0 when none failed; all ranks then leave with it)
 * and *root_failed whether rank 0 failed (and so has told the user).
 * A rank that succeeded waits as long as it takes; a failing rank waits
 * grace_seconds at most and returns -1 when the others did not all arrive
 * (they wait in a collective it will never join): it must then stop the
 * job (sj_dist_abort). One process: *code = rc at once. */
int sj_dist_leave_together(int rc, double grace_seconds, int *code, int *root_failed);
/* Stops every rank of the job at once with this exit code (MPI_Abort):
 * for a failure the other ranks do not share, which would otherwise leave
 * them waiting in a collective. With one process it calls exit(code). */
_Noreturn void sj_dist_abort(int code);

/* From here on this rank works as a job of one (rank 0 of 1): every
 * collective returns at once. For rank 0 running a command that is not
 * distributed while the other ranks leave. */
void sj_dist_go_alone(void);

int sj_dist_rank(void);
int sj_dist_size(void);
/* Rank 0: the rank that writes. */
int sj_dist_is_root(void);
/* Where this rank's error messages go: stderr on rank 0, the terminal's
 * standard error (kept aside before it was silenced) on other ranks. */
FILE *sj_dist_error_stream(void);

/* This rank's share [*lo, *hi) of n items: contiguous blocks in rank order,
 * sizes differing by at most one, the first n % size ranks one larger. */
void sj_dist_share(size_t n, size_t *lo, size_t *hi);
/* The same for any rank of a job of `size` processes. */
void sj_dist_share_of(size_t n, int rank, int size, size_t *lo, size_t *hi);

/* Element-wise sums over the ranks, in place, the result on every rank. */
sj_status sj_dist_sum_float(float *x, size_t n, sj_error *err);
sj_status sj_dist_sum_double(double *x, size_t n, sj_error *err);
sj_status sj_dist_sum_int64(int64_t *x, size_t n, sj_error *err);
/* Element-wise maximum over the ranks, in place. */
sj_status sj_dist_max_int(int *x, size_t n, sj_error *err);

/* A training step's gradient exchange: several float blocks (the model's
 * gradient block, a head's gradient, the step's loss sums) summed in ONE
 * MPI_Allreduce. A single span is reduced in place; several are packed
 * into one buffer, reduced and unpacked. */
typedef struct {
    float *data;
    size_t n;
} sj_dist_span;
sj_status sj_dist_sum_spans(const sj_dist_span *spans, size_t n_spans, sj_error *err);

/* A training step's exchange: the spans above plus this rank's interrupt
 * flag (see sj_dist_watch_interrupt) in the same one MPI_Allreduce. Then
 * sj_dist_stop_agreed() is 1 on every rank when any rank had been
 * interrupted, so all stop after the same step. One process: nothing
 * moves, and sj_dist_stop_agreed() is the flag itself. */
sj_status sj_dist_exchange(const sj_dist_span *spans, size_t n_spans, sj_error *err);
/* The flag the exchanges carry (the command's SIGINT/SIGTERM flag). */
void sj_dist_watch_interrupt(const volatile sig_atomic_t *flag);
/* Whether a rank was interrupted, as of the last exchange (any rank count). */
int sj_dist_stop_agreed(void);

/* A double carried through a float reduction as two floats (hi, lo). One
 * rank's value comes back to within 1e-15 of itself; a sum over ranks is
 * the float sum of the high parts plus that of the low parts, so it is
 * off by at most the rounding of the high parts' float additions (about
 * 6e-8 of the sum per rank added). Enough for a loss or a count in a log
 * line; the one-process path moves nothing and stays exact. */
void sj_dist_pack_double(double x, float out[2]);
double sj_dist_unpack_double(const float in[2]);

/* Rank 0's `bytes` bytes at buf copied to every rank. */
sj_status sj_dist_broadcast(void *buf, size_t bytes, sj_error *err);

/* Every rank's block of bytes, concatenated in rank order: on every rank
 * when to_all, else on rank 0 only (*out NULL elsewhere). *out is
 * malloc'ed (free it); counts (optional, sj_dist_size() entries) receives
 * each rank's byte count. */
sj_status sj_dist_gather(const void *mine, size_t bytes, int to_all, char **out, size_t *counts,
                         sj_error *err);

/* Collective: every rank passes its own status and error; all get SJ_OK if
 * every rank succeeded, else the status and message of the lowest failing
 * rank (prefixed "rank K: " when K > 0). A failure returned by it is known
 * to every rank, so they may all leave normally (sj_dist_failed_together). */
sj_status sj_dist_agree(sj_status st, sj_error *err);
/* 1 when the last sj_dist_agree() returned a failure. */
int sj_dist_failed_together(void);

/* Collective: checks that every rank holds the same bytes (SHA-256), else
 * SJ_ERR_INPUT on every rank naming `what` and the ranks that differ. */
sj_status sj_dist_same_bytes(const char *what, const void *data, size_t n, sj_error *err);
/* The same for a file's content, or a folder's regular files (names and
 * contents, not recursive). A rank that cannot read it fails every rank. */
sj_status sj_dist_same_input(const char *path, sj_error *err);

/* Seconds this process has spent inside collectives since sj_dist_init
 * (for the scaling measurements). */
double sj_dist_comm_seconds(void);

#endif
