/* sjtalign run: every stage of a pipeline file in order, each as a child
 * process of this program; finished stages are skipped on a re-run. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli.h"
#include "pipeline.h"
#include "sjtalign/io.h"

static const char *const HELP =
    "usage: sjtalign run PIPELINE.json [--from STAGE] [--dry-run]\n\n"
    "Runs the stages a pipeline file names, in order: simulate, pretrain, sft,\n"
    "pairs, judge, reward, ppo, dpo, score (one per model), audit (before, after,\n"
    "after-dpo) and compare. A stage whose inputs, settings and outputs are\n"
    "unchanged since it last finished (content hashes recorded in\n"
    "<runs>/stamps/) is skipped, so a re-run after an interruption continues where\n"
    "it stopped. The whole file is checked before any stage runs.\n\n"
    "  --from STAGE  run STAGE and every later stage again, even if up to date\n"
    "                (a stage name as printed, e.g. sft, score-ppo, audit-after, or a\n"
    "                command name for the first stage of that kind)\n"
    "  --dry-run     print each stage's command line and whether it is up to date\n\n"
    "See README.md for the pipeline file format.\n";

static void print_command(const sj_stage *s)
{
    printf("    sjtalign");
    for (int i = 0; i < s->argc; i++) {
        const char *a = s->argv[i];
        if (strpbrk(a, " \t\"'$\\") || !*a)
            printf(" '%s'", a);
        else
            printf(" %s", a);
    }
    printf("\n");
}

static sj_status make_output_folders(const sj_stage *s, sj_error *err)
{
    for (int i = 0; i < s->n_outputs; i++) {
        char *parent = sj_strdup(s->outputs[i]);
        char *slash = strrchr(parent, '/');
        sj_status st = SJ_OK;
        if (slash && slash != parent) {
            *slash = '\0';
            st = sj_mkdir_p(parent, err);
        }
        free(parent);
        if (st != SJ_OK)
            return st;
    }
    return SJ_OK;
}

/* Runs one stage as a child; returns its exit code (128 + signal when it
 * was killed). Ctrl-C reaches the child through the terminal; the runner
 * waits for it to stop cleanly rather than dying first. */
static int run_child(const char *self, const sj_stage *s)
{
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    if (pid < 0)
        return 1;
    if (pid == 0) {
        char *argv[SJ_PIPELINE_MAX_ARGS + 1];
        argv[0] = (char *)self;
        for (int i = 0; i < s->argc; i++)
            argv[i + 1] = s->argv[i];
        argv[s->argc + 1] = NULL;
        execv(self, argv);
        fprintf(stderr, "sjtalign run: cannot start %s: %s\n", self, strerror(errno));
        _exit(1);
    }
    struct sigaction ignore = {.sa_handler = SIG_IGN}, old_int, old_term;
    sigaction(SIGINT, &ignore, &old_int);
    sigaction(SIGTERM, &ignore, &old_term);
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    sigaction(SIGINT, &old_int, NULL);
    sigaction(SIGTERM, &old_term, NULL);
    if (WIFSIGNALED(status))
        return 128 + WTERMSIG(status);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 1;
}

static int run_stages(const sj_pipeline *p, const char *self, long from, int dry_run)
{
    size_t n = p->n_stages;
    double started = sj_now();
    int ran = 0;
    for (size_t i = 0; i < n; i++) {
        const sj_stage *s = &p->stages[i];
        sj_error err;
        sj_error_clear(&err);
        if (from >= 0 && (long)i >= from && !dry_run)
            sj_stage_forget(p, s);
        char key[65];
        /* A stage whose inputs do not exist yet (a dry run before earlier
         * stages ran) simply counts as not up to date. */
        int have_key = sj_stage_key(s, key, &err) == SJ_OK;
        int fresh = have_key && sj_stage_up_to_date(p, s, key);
        if (dry_run) {
            printf("[%zu/%zu] %s: %s (%s)\n", i + 1, n, s->name, s->what,
                   fresh ? "up to date" : "would run");
            print_command(s);
            continue;
        }
        if (fresh) {
            printf("[%zu/%zu] %s: up to date, skipped\n", i + 1, n, s->name);
            continue;
        }
        if (!have_key) {
            fprintf(stderr, "sjtalign run: stage %s cannot start: %s\n", s->name, err.msg);
            return 2;
        }
        printf("[%zu/%zu] %s: %s\n", i + 1, n, s->name, s->what);
        if (make_output_folders(s, &err) != SJ_OK)
            return cli_fail(&err);
        double t0 = sj_now();
        int rc = run_child(self, s);
        double seconds = sj_now() - t0;
        if (rc != 0) {
            fprintf(stderr,
                    "sjtalign run: stage %s %s after %.1f s; finished stages are kept, so "
                    "running the same command again continues from this stage\n",
                    s->name, rc > 128 ? "was interrupted" : "failed", seconds);
            return rc > 128 ? rc : (rc == 2 ? 2 : 1);
        }
        if (sj_stage_key(s, key, &err) != SJ_OK ||
            sj_stage_write_stamp(p, s, key, seconds, &err) != SJ_OK)
            return cli_fail(&err);
        ran++;
        printf("[%zu/%zu] %s: done in %.1f s\n", i + 1, n, s->name, seconds);
    }
    if (!dry_run)
        printf("pipeline %s: %d of %zu stages ran, %zu up to date, %.1f s\n", p->name, ran, n,
               n - (size_t)ran, sj_now() - started);
    return 0;
}

/* Three lines a reader wants first: DIF on the flagged items before and
 * after, and what alignment cost in agreement with the human scores. */
static void print_compare_summary(const sj_pipeline *p)
{
    char *dir = sj_path_join(p->reports, "compare");
    char *json = sj_path_join(dir, "compare.json");
    char *html = sj_path_join(dir, "index.html");
    cJSON *doc = sj_json_read(json, NULL);
    if (doc) {
        printf("\nreport: %s\n", html);
        const cJSON *summary = cJSON_GetObjectItemCaseSensitive(doc, "summary");
        const cJSON *line;
        cJSON_ArrayForEach(line, summary)
        {
            if (cJSON_IsString(line))
                printf("  %s\n", line->valuestring);
        }
        cJSON_Delete(doc);
    }
    free(html);
    free(json);
    free(dir);
}

int cmd_run(int argc, char **argv)
{
    static const struct option options[] = {{"from", required_argument, 0, 'f'},
                                            {"dry-run", no_argument, 0, 'n'},
                                            {"help", no_argument, 0, 'h'},
                                            {0, 0, 0, 0}};
    const char *from = NULL;
    int dry_run = 0;
    int c;
    while ((c = getopt_long(argc, argv, "", options, NULL)) != -1) {
        switch (c) {
        case 'f':
            from = optarg;
            break;
        case 'n':
            dry_run = 1;
            break;
        case 'h':
            return cli_help(HELP);
        default:
            return cli_bad_option("run");
        }
    }
    if (optind != argc - 1)
        return cli_usage_error("run", "expected one pipeline file");
    char self[4096];
    ssize_t len = readlink("/proc/self/exe", self, sizeof self - 1);
    if (len <= 0) {
        fprintf(stderr, "sjtalign run: cannot find this program's path\n");
        return 1;
    }
    self[len] = '\0';
    sj_error err;
    sj_error_clear(&err);
    sj_pipeline *p = sj_pipeline_load(argv[optind], self, &err);
    if (!p)
        return cli_fail(&err);
    long start = -1;
    if (from && (start = sj_pipeline_find_stage(p, from)) < 0) {
        sj_buf names = {0};
        for (size_t i = 0; i < p->n_stages; i++)
            sj_buf_printf(&names, "%s%s", i ? ", " : "", p->stages[i].name);
        int rc = cli_usage_error("run", "--from: no stage '%s' in this pipeline (stages: %s)", from,
                                 names.data ? names.data : "none");
        sj_buf_free(&names);
        sj_pipeline_free(p);
        return rc;
    }
    int rc = run_stages(p, self, start, dry_run);
    if (rc == 0 && !dry_run)
        print_compare_summary(p);
    sj_pipeline_free(p);
    return rc;
}
