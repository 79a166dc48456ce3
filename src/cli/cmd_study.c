/* sjtalign study: a pipeline over seeds x conditions, each replication a
 * child `sjtalign run` of its own generated pipeline, at most --jobs at
 * once; finished replications are skipped on a re-run; the summary goes to
 * study.json, study.csv and index.html. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "options.h"
#include "pipeline.h"
#include "sjtalign/dist.h"
#include "sjtalign/io.h"
#include "sjtalign/report.h"
#include "sjtalign/study.h"

static const cli_option STUDY_OPTIONS[] = {
    {"jobs", CLI_INT, "N", NULL, 1, 256, NULL, 0,
     "replications run at once (default: the study file's\n\"jobs\", else 2, or 1 on a "
     "one-core machine)"},
    CLI_END};

const cli_command_spec cli_spec_study = {
    .name = "study",
    .synopsis = "STUDY.json [--jobs N]",
    .about = "Runs a replication study: the base pipeline of STUDY.json once per seed and\n"
             "condition, where a condition changes the simulation (persons, items,\n"
             "focal_share, impact, bias, rater_noise, raters) and may change other stages'\n"
             "settings. Each replication (condition, seed) gets its own folder\n"
             "OUT/<condition>/seed-<seed>/ with its generated pipeline.json (the base\n"
             "pipeline with that seed and those settings), its data/, runs/ and reports/,\n"
             "and run.log, the output of the child `sjtalign run pipeline.json` that runs\n"
             "it. At most --jobs replications run at once; each child gets\n"
             "OMP_NUM_THREADS = cores / jobs unless the environment sets it.\n\n"
             "A replication whose every stage is up to date (the stamps of `sjtalign run`)\n"
             "is not run again, so running the same study again continues an interrupted\n"
             "one. Ctrl-C (or SIGTERM) is passed on to the running replications, which\n"
             "stop cleanly (a training stage saves a checkpoint); the study then writes\n"
             "its summary of what is finished and exits with 130.\n\n"
             "Writes into OUT: study.json (settings, every replication with its status and\n"
             "figures, the summary per condition and scorer, the targets met or missed),\n"
             "study.csv (one row per condition x scorer x measure) and index.html (a\n"
             "forest plot of the mean reduction of |SMD/SD| per biased item with 95%\n"
             "t-intervals, the targets, the tables). A failed replication (exit code other\n"
             "than 0) is listed with its log and left out of the summary.\n\n"
             "Exit codes: 0 every replication finished, 1 one or more failed, 2 a bad\n"
             "study file (file:line:col), 130 interrupted.",
    .options = STUDY_OPTIONS,
    .notes = "See docs/STUDY.md for the study file's format and how each figure is made.",
    .examples = "sjtalign study instruments/study/study.json\n"
                "sjtalign study instruments/study/study.json --jobs 1",
};

/* ---- signals ------------------------------------------------------------------ */

/* The signals received and not yet passed on to the replications. Each
 * replication runs in a process group of its own (so a terminal's Ctrl-C
 * reaches it once, through the study), and every signal is passed on: the
 * first stops each stage at its next step, a second ends it at once. */
static volatile sig_atomic_t pending_signal = 0;
static volatile sig_atomic_t signals_received = 0;

static void on_signal(int sig)
{
    pending_signal = sig;
    signals_received++;
}

static void catch_signals(struct sigaction old[2])
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, &old[0]);
    sigaction(SIGTERM, &sa, &old[1]);
}

static void release_signals(const struct sigaction old[2])
{
    sigaction(SIGINT, &old[0], NULL);
    sigaction(SIGTERM, &old[1], NULL);
}

/* ---- the replications ---------------------------------------------------------- */

typedef struct {
    sj_study_rep rep;
    char *pipeline; /* its generated pipeline file */
    pid_t pid;      /* while running */
    double started;
    int here; /* this process runs it (under MPI, rank k runs every N-th) */
} job;

static void jobs_free(job *jobs, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        sj_study_rep_clear(&jobs[i].rep);
        free(jobs[i].rep.dir);
        free(jobs[i].rep.log);
        free(jobs[i].pipeline);
    }
    free(jobs);
}

/* 1 when every stage of the replication's pipeline is up to date. */
static int replication_done(const sj_pipeline *p)
{
    for (size_t i = 0; i < p->n_stages; i++) {
        char key[65];
        sj_error err;
        if (sj_stage_key(&p->stages[i], key, &err) != SJ_OK ||
            !sj_stage_up_to_date(p, &p->stages[i], key))
            return 0;
    }
    return p->n_stages > 0;
}

/* Writes the replication's pipeline file (only when its content changed,
 * so that an unchanged study leaves every file as it was) and checks it
 * as `run` would. */
static sj_status prepare_job(const sj_study_spec *s, size_t c, size_t k, int write, job *j,
                             sj_error *err)
{
    j->rep.condition = c;
    j->rep.seed = s->seeds[k];
    j->rep.dir = sj_study_replication_dir(s, c, k);
    j->rep.log = j->rep.dir ? sj_path_join(j->rep.dir, "run.log") : NULL;
    j->pipeline = j->rep.dir ? sj_path_join(j->rep.dir, "pipeline.json") : NULL;
    j->rep.seconds = NAN; /* not run now */
    if (!j->pipeline || !j->rep.log)
        return sj_error_set(err, SJ_ERR_WORK, "out of memory");
    if (!write)
        return SJ_OK; /* a rank other than 0: rank 0 writes it and says its status */
    if (sj_mkdir_p(j->rep.dir, err) != SJ_OK)
        return err->status;
    cJSON *doc = sj_study_replication_pipeline(s, c, k, j->rep.dir);
    if (!doc)
        return sj_error_set(err, SJ_ERR_WORK, "out of memory");
    cJSON *old = access(j->pipeline, F_OK) == 0 ? sj_json_read(j->pipeline, NULL) : NULL;
    sj_status st = old && cJSON_Compare(old, doc, 1) ? SJ_OK : sj_json_write(j->pipeline, doc, err);
    cJSON_Delete(old);
    cJSON_Delete(doc);
    if (st != SJ_OK)
        return st;
    sj_pipeline *p = sj_pipeline_load(j->pipeline, err);
    if (!p) {
        sj_error_prefix(err, "condition %s, seed %llu: ", s->conditions[c].name,
                        (unsigned long long)s->seeds[k]);
        return err->status;
    }
    j->rep.status = replication_done(p) ? SJ_STUDY_UP_TO_DATE : SJ_STUDY_NOT_RUN;
    sj_pipeline_free(p);
    return SJ_OK;
}

static sj_status prepare_jobs(const sj_study_spec *s, int write, job **out, size_t *n,
                              sj_error *err)
{
    *n = s->n_conditions * s->n_seeds;
    job *jobs = calloc(*n, sizeof *jobs);
    if (!jobs)
        return sj_error_set(err, SJ_ERR_WORK, "out of memory");
    sj_status st = SJ_OK;
    for (size_t c = 0; c < s->n_conditions && st == SJ_OK; c++)
        for (size_t k = 0; k < s->n_seeds && st == SJ_OK; k++)
            st = prepare_job(s, c, k, write, &jobs[c * s->n_seeds + k], err);
    if (st != SJ_OK) {
        jobs_free(jobs, *n);
        return st;
    }
    *out = jobs;
    return SJ_OK;
}

static int folder_empty(const char *path)
{
    DIR *d = opendir(path);
    if (!d)
        return 0;
    int empty = 1;
    const struct dirent *e;
    while (empty && (e = readdir(d)) != NULL)
        empty = strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0;
    closedir(d);
    return empty;
}

/* The out folder: created, or one this command made before (it holds
 * the study marker), or empty; never a folder of other files. */
static sj_status prepare_out(const sj_study_spec *s, sj_error *err)
{
    char *marker = sj_path_join(s->out, ".sjtalign-study");
    struct stat st;
    sj_status status = SJ_OK;
    if (!marker)
        status = sj_error_set(err, SJ_ERR_WORK, "out of memory");
    else if (stat(s->out, &st) == 0 && !S_ISDIR(st.st_mode))
        status = sj_error_set(err, SJ_ERR_INPUT, "%s: out %s is not a folder", s->path, s->out);
    else if (stat(s->out, &st) == 0 && access(marker, F_OK) != 0 && !folder_empty(s->out))
        status = sj_error_set(err, SJ_ERR_INPUT,
                              "%s: out %s holds files that `sjtalign study` did not write; "
                              "choose a new or empty folder",
                              s->path, s->out);
    else if ((status = sj_mkdir_p(s->out, err)) == SJ_OK && access(marker, F_OK) != 0) {
        const char text[] = "sjtalign study\n";
        status = sj_write_file_atomic(marker, text, sizeof text - 1, err);
    }
    free(marker);
    return status;
}

/* ---- running them ------------------------------------------------------------------- */

/* The OpenBLAS core the replications should run: the CPU's widest when it
 * differs from the one the library picked (1.6 times less CPU per training
 * step with AVX-512 kernels on an AVX-512 CPU that OpenBLAS 0.3.21 serves
 * with AVX2 ones), NULL when the user set OPENBLAS_CORETYPE or the library's
 * choice stands. It changes the last bits of every result, so study.json
 * records it. */
static const char *replication_blas_core(void)
{
    if (getenv("OPENBLAS_CORETYPE"))
        return NULL; /* the user's choice stands; the children inherit it */
    const char *want = sj_blas_preferred_core();
    if (!want || strcasecmp(want, sj_blas_core_name()) == 0)
        return NULL;
    return want;
}

/* Starts `self run PIPELINE` for the job: its own process group, no
 * terminal input, its output to run.log. */
static int start_job(const char *self, job *j, long threads, const char *blas_core)
{
    int log = open(j->rep.log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (log < 0) {
        fprintf(stderr, "sjtalign study: cannot write %s: %s\n", j->rep.log, strerror(errno));
        return -1;
    }
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    if (pid < 0) {
        close(log);
        return -1;
    }
    if (pid == 0) {
        setpgid(0, 0);
        int null = open("/dev/null", O_RDONLY);
        if (null >= 0)
            dup2(null, STDIN_FILENO);
        dup2(log, STDOUT_FILENO);
        dup2(log, STDERR_FILENO);
        char value[32];
        snprintf(value, sizeof value, "%ld", threads);
        setenv("OMP_NUM_THREADS", value, 0);
        if (blas_core)
            setenv("OPENBLAS_CORETYPE", blas_core, 1);
        /* a replication is a process of its own, not a rank of the study's job */
        setenv("SJTALIGN_NO_MPI", "1", 1);
        char *argv[] = {(char *)self, "run", j->pipeline, NULL};
        execv(self, argv);
        fprintf(stderr, "sjtalign study: cannot start %s: %s\n", self, strerror(errno));
        _exit(1);
    }
    setpgid(pid, pid); /* also here, so a signal right after fork finds the group */
    close(log);
    j->pid = pid;
    j->started = sj_now();
    return 0;
}

static void pass_on_signal(job *jobs, size_t n, int sig)
{
    for (size_t i = 0; i < n; i++)
        if (jobs[i].pid > 0)
            kill(-jobs[i].pid, sig);
}

static void finish_job(const sj_study_spec *s, job *j, int status, size_t done, size_t total)
{
    j->pid = 0;
    j->rep.seconds = sj_now() - j->started;
    j->rep.exit_code = WIFEXITED(status)     ? WEXITSTATUS(status)
                       : WIFSIGNALED(status) ? 128 + WTERMSIG(status)
                                             : 1;
    const char *name = s->conditions[j->rep.condition].name;
    if (j->rep.exit_code == 0) {
        j->rep.status = SJ_STUDY_RAN;
        printf("%s seed %llu: done in %.1f s (%zu of %zu finished)\n", name,
               (unsigned long long)j->rep.seed, j->rep.seconds, done, total);
    } else if (signals_received && j->rep.exit_code > 128) {
        j->rep.status = SJ_STUDY_INTERRUPTED;
        printf("%s seed %llu: interrupted; the next run continues it (%zu of %zu)\n", name,
               (unsigned long long)j->rep.seed, done, total);
    } else {
        j->rep.status = SJ_STUDY_FAILED;
        j->rep.error = sj_asprintf("exit code %d; see %s", j->rep.exit_code, j->rep.log);
        printf("%s seed %llu: failed (exit code %d), log: %s (%zu of %zu finished)\n", name,
               (unsigned long long)j->rep.seed, j->rep.exit_code, j->rep.log, done, total);
    }
    fflush(stdout);
}

/* Reaps finished children without blocking; returns how many. */
static size_t reap(const sj_study_spec *s, job *jobs, size_t n, size_t *done, size_t total)
{
    size_t reaped = 0;
    int status;
    pid_t pid;
    while ((pid = waitpid(-1, &status, WNOHANG)) > 0)
        for (size_t i = 0; i < n; i++)
            if (jobs[i].pid == pid) {
                finish_job(s, &jobs[i], status, ++*done, total);
                reaped++;
            }
    return reaped;
}

static void run_jobs(const sj_study_spec *s, const char *self, job *jobs, size_t n, long max_jobs,
                     long threads)
{
    size_t total = 0, done = 0, next = 0, running = 0, launched = 0;
    for (size_t i = 0; i < n; i++)
        total += jobs[i].here && jobs[i].rep.status == SJ_STUDY_NOT_RUN;
    int passed = 0;
    for (;;) {
        while (!signals_received && running < (size_t)max_jobs && next < n) {
            job *j = &jobs[next++];
            if (!j->here || j->rep.status != SJ_STUDY_NOT_RUN)
                continue;
            if (start_job(self, j, threads, s->blas_core) != 0) {
                j->rep.status = SJ_STUDY_FAILED;
                j->rep.exit_code = 1;
                j->rep.error = sj_asprintf("could not be started");
                done++;
                continue;
            }
            running++;
            printf("[%zu/%zu] %s seed %llu: started (log: %s)\n", ++launched, total,
                   s->conditions[j->rep.condition].name, (unsigned long long)j->rep.seed,
                   j->rep.log);
            fflush(stdout);
        }
        if (running == 0)
            break;
        if (signals_received > passed) {
            passed = signals_received;
            pass_on_signal(jobs, n, pending_signal);
        }
        size_t reaped = reap(s, jobs, n, &done, total);
        running -= reaped;
        if (!reaped) {
            /* A signal ends the sleep early, so it is passed on at once. */
            struct timespec pause = {0, 100 * 1000 * 1000};
            nanosleep(&pause, NULL);
        }
    }
}

/* ---- the replications over the ranks of an MPI job ------------------------------------ */

/* Rank 0 prepared the out folder and every replication's pipeline; the
 * other ranks learn the replications' statuses from it. The k-th
 * replication still to run is rank k % N's (N ranks), so a study that
 * continues spreads what is left. One process runs them all. */
static sj_status share_jobs(job *jobs, size_t n, sj_error *err)
{
    int *status = calloc(n ? n : 1, sizeof *status);
    sj_status st = status ? SJ_OK : sj_error_set(err, SJ_ERR_WORK, "out of memory");
    st = sj_dist_agree(st, err);
    for (size_t i = 0; st == SJ_OK && i < n; i++)
        status[i] = (int)jobs[i].rep.status;
    if (st == SJ_OK)
        st = sj_dist_broadcast(status, n * sizeof *status, err);
    size_t to_run = 0, ranks = (size_t)sj_dist_size(), rank = (size_t)sj_dist_rank();
    for (size_t i = 0; st == SJ_OK && i < n; i++) {
        jobs[i].rep.status = (sj_study_status)status[i];
        jobs[i].here = status[i] == SJ_STUDY_NOT_RUN && to_run++ % ranks == rank;
    }
    free(status);
    return st;
}

/* What a rank learnt of a replication it ran, for rank 0. */
typedef struct {
    int32_t index, status, exit_code;
    double seconds;
    char error[256];
} job_result;

static void take_result(job *j, const job_result *r)
{
    j->rep.status = (sj_study_status)r->status;
    j->rep.exit_code = r->exit_code;
    j->rep.seconds = r->seconds;
    free(j->rep.error);
    j->rep.error = r->error[0] ? sj_strdup(r->error) : NULL;
}

/* Collective: every rank's replications' outcomes (and whether a signal
 * stopped any rank) reach rank 0. */
static sj_status gather_results(job *jobs, size_t n, sj_error *err)
{
    if (sj_dist_size() == 1)
        return SJ_OK;
    size_t mine = 0, at = 0;
    for (size_t i = 0; i < n; i++)
        mine += jobs[i].here;
    job_result *out = calloc(mine ? mine : 1, sizeof *out);
    sj_status st = out ? SJ_OK : sj_error_set(err, SJ_ERR_WORK, "out of memory");
    for (size_t i = 0; st == SJ_OK && i < n; i++) {
        if (!jobs[i].here)
            continue;
        const sj_study_rep *r = &jobs[i].rep;
        out[at++] = (job_result){(int32_t)i, (int32_t)r->status, r->exit_code, r->seconds, ""};
        snprintf(out[at - 1].error, sizeof out[at - 1].error, "%s", r->error ? r->error : "");
    }
    st = sj_dist_agree(st, err);
    char *all = NULL;
    size_t bytes = 0;
    size_t *counts = calloc((size_t)sj_dist_size(), sizeof *counts);
    if (st == SJ_OK)
        st = sj_dist_gather(out, mine * sizeof *out, 0, &all, counts, err);
    for (int r = 0; all && r < sj_dist_size(); r++)
        bytes += counts ? counts[r] : 0;
    const job_result *got = (const job_result *)all;
    for (size_t k = 0; st == SJ_OK && all && k < bytes / sizeof *got; k++)
        if (got[k].index >= 0 && (size_t)got[k].index < n)
            take_result(&jobs[got[k].index], &got[k]);
    int stop[2] = {signals_received, pending_signal};
    if (st == SJ_OK && (st = sj_dist_max_int(stop, 2, err)) == SJ_OK && stop[0]) {
        signals_received = stop[0];
        pending_signal = stop[1];
    }
    free(all);
    free(counts);
    free(out);
    return st;
}

/* ---- the summary ---------------------------------------------------------------------- */

/* Reads every finished replication's figures; one whose reports cannot be
 * read is counted as failed, with the reason. */
static void collect_all(const sj_study_spec *s, job *jobs, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        sj_study_rep *r = &jobs[i].rep;
        if (r->status != SJ_STUDY_RAN && r->status != SJ_STUDY_UP_TO_DATE)
            continue;
        sj_error err;
        sj_error_clear(&err);
        if (sj_study_collect(s, r, &err) != SJ_OK) {
            r->status = SJ_STUDY_FAILED;
            fprintf(stderr, "sjtalign study: %s seed %llu: cannot read its reports: %s\n",
                    s->conditions[r->condition].name, (unsigned long long)r->seed, err.msg);
        }
    }
}

static sj_status summarise(const sj_study_spec *s, const job *jobs, size_t n, const char *command,
                           sj_error *err)
{
    sj_study_rep *reps = calloc(n + 1, sizeof *reps);
    if (!reps)
        return sj_error_set(err, SJ_ERR_WORK, "out of memory");
    for (size_t i = 0; i < n; i++)
        reps[i] = jobs[i].rep; /* a shallow view: the jobs keep ownership */
    sj_study_summary *sums = NULL;
    sj_status st = sj_study_summarise(s, reps, n, &sums, err);
    cJSON *doc = st == SJ_OK ? sj_study_document(s, reps, n, sums, command) : NULL;
    if (st == SJ_OK && !doc)
        st = sj_error_set(err, SJ_ERR_WORK, "out of memory building study.json");
    if (st == SJ_OK)
        st = sj_study_write(doc, s->out, err);
    const cJSON *line;
    if (st == SJ_OK) {
        printf("\nstudy %s: %s/index.html\n", s->name, s->out);
        cJSON_ArrayForEach(line, cJSON_GetObjectItemCaseSensitive(doc, "summary_text"))
        {
            printf("  %s\n", line->valuestring);
        }
    }
    cJSON_Delete(doc);
    sj_study_summaries_free(sums, s->n_conditions * SJ_STUDY_MODELS);
    free(reps);
    return st;
}

static long default_jobs(void)
{
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    return cores >= 2 ? 2 : 1;
}

/* 0 every replication finished, 130/143 after a signal, 1 when any failed. */
static int study_exit_code(const job *jobs, size_t n)
{
    if (signals_received)
        return 128 + pending_signal;
    for (size_t i = 0; i < n; i++)
        if (jobs[i].rep.status != SJ_STUDY_RAN && jobs[i].rep.status != SJ_STUDY_UP_TO_DATE)
            return 1;
    return 0;
}

/* Reads the study file, and (rank 0) prepares the out folder and the
 * replications; every rank then knows which replications are its own. */
static sj_status open_study(const char *file, sj_study_spec **spec, job **jobs, size_t *n,
                            sj_error *err)
{
    int root = sj_dist_is_root();
    *jobs = NULL;
    *n = 0;
    /* the same study file on every rank, read by each */
    sj_status st = sj_dist_same_input(file, err);
    sj_study_spec *s = st == SJ_OK ? sj_study_load(file, err) : NULL;
    if (st == SJ_OK && !s)
        st = err->status != SJ_OK ? err->status : SJ_ERR_WORK;
    if (st == SJ_OK && root)
        st = prepare_out(s, err);
    if (st == SJ_OK)
        st = prepare_jobs(s, root, jobs, n, err);
    st = sj_dist_agree(st, err);
    if (st == SJ_OK)
        st = share_jobs(*jobs, *n, err);
    if (st != SJ_OK) {
        if (*jobs)
            jobs_free(*jobs, *n);
        *jobs = NULL;
        *n = 0;
        sj_study_free(s);
        s = NULL;
    }
    *spec = s;
    return st;
}

static void print_start(const sj_study_spec *s, const job *jobs, size_t n, long max_jobs)
{
    size_t fresh = 0;
    for (size_t i = 0; i < n; i++)
        fresh += jobs[i].rep.status == SJ_STUDY_UP_TO_DATE;
    printf("study %s: %zu replications (%zu conditions x %zu seeds), %zu up to date, %ld at "
           "once",
           s->name, n, s->n_conditions, s->n_seeds, fresh, max_jobs);
    if (sj_dist_size() > 1)
        printf(" on each of %d ranks (this output: rank 0's)", sj_dist_size());
    printf("\n");
    if (s->blas_core)
        printf("study %s: replications run OpenBLAS's %s kernels\n", s->name, s->blas_core);
}

static int run_study(const char *file, long jobs_option, const char *command)
{
    char self[4096];
    ssize_t len = readlink("/proc/self/exe", self, sizeof self - 1);
    if (len <= 0) {
        fprintf(stderr, "sjtalign study: cannot find this program's path\n");
        return 1;
    }
    self[len] = '\0';
    sj_error err;
    sj_error_clear(&err);
    sj_study_spec *s = NULL;
    job *jobs = NULL;
    size_t n = 0;
    if (open_study(file, &s, &jobs, &n, &err) != SJ_OK)
        return cli_fail(&err);
    long max_jobs = jobs_option > 0 ? jobs_option : s->jobs > 0 ? s->jobs : default_jobs();
    s->jobs = max_jobs;
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    long threads = cores > max_jobs ? cores / max_jobs : 1;
    /* The core the replications run: the one chosen here, else the
     * environment's (setting it again in the children changes nothing). */
    s->blas_core = replication_blas_core();
    if (!s->blas_core)
        s->blas_core = getenv("OPENBLAS_CORETYPE");
    print_start(s, jobs, n, max_jobs);
    struct sigaction old[2];
    catch_signals(old);
    run_jobs(s, self, jobs, n, max_jobs, threads);
    release_signals(old);
    int rc = gather_results(jobs, n, &err) == SJ_OK ? 0 : cli_fail(&err);
    /* rank 0 reads every replication's reports and writes the summary, as
     * a job of one: the other ranks have left, and the true-score DIF it
     * computes must not wait for them */
    if (!rc && sj_dist_is_root()) {
        sj_dist_go_alone();
        collect_all(s, jobs, n);
        rc = summarise(s, jobs, n, command, &err) == SJ_OK ? study_exit_code(jobs, n)
                                                           : cli_fail(&err);
    }
    jobs_free(jobs, n);
    sj_study_free(s);
    return rc;
}

int cmd_study(int argc, char **argv)
{
    cli_args c;
    int rc = cli_parse(&cli_spec_study, argc, argv, 1, &c);
    if (rc == 0)
        rc = cli_check_io(&c);
    if (rc == 0 && c.n_positional != 1)
        rc = cli_usage_error("study", "expected one study file");
    rc = cli_agree_on_start("study", rc);
    if (rc == 0) {
        char *command = sj_command_line(argc, argv);
        rc = run_study(c.positional[0], cli_given(&c, "jobs") ? cli_int(&c, "jobs") : 0, command);
        free(command);
    } else if (rc == 1) {
        rc = 0;
    }
    cli_args_free(&c);
    return rc;
}
