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
#include "options.h"
#include "pipeline.h"
#include "sjtalign/io.h"

static const cli_option RUN_OPTIONS[] = {
    {"from", CLI_TEXT, "STAGE", NULL, 0, 0, NULL, 0,
     "run STAGE and every later stage again, even if up to\ndate (a stage name as printed, e.g. "
     "sft, score-ppo,\naudit-after, or a command name for the first stage of\nthat kind)"},
    {"dry-run", CLI_FLAG, NULL, NULL, 0, 0, NULL, 0,
     "print each stage's command line and whether it is up\nto date (after the same checks as a "
     "run)"},
    CLI_END};

const cli_command_spec cli_spec_run = {
    .name = "run",
    .synopsis = "PIPELINE.json [--from STAGE] [--dry-run]",
    .about = "Runs the stages a pipeline file names, in order: simulate, split, pretrain, sft,\n"
             "baseline, pairs, judge, reward, ppo, dpo, score (one per model), audit (before,\n"
             "after, after-dpo, baseline) and compare.\n\n"
             "Held-out evaluation: the top-level setting \"heldout\" (default 0.3) is the share\n"
             "of each group's persons the stage split holds out (`sjtalign split`, into\n"
             "<runs>/split/). Every training stage (pretrain, sft, baseline's fit, pairs, ppo,\n"
             "and through the pairs judge, reward and dpo) reads only the training persons'\n"
             "train.csv; the score stages and the baseline's scoring read heldout.csv, so\n"
             "every audit and the compare report see only persons no model trained on, and\n"
             "each audit gets --split split.json and says so. \"heldout\": 0 turns the split\n"
             "off: every stage reads the data file.\n\n"
             "A stage whose inputs, settings and outputs are unchanged since it last\n"
             "finished (content hashes recorded in <runs>/stamps/) is skipped, so a re-run\n"
             "after an interruption continues where it stopped. Ctrl-C stops the running\n"
             "stage (a training stage saves a checkpoint) and exits with 130; the next run\n"
             "continues that stage's training with --resume.\n\n"
             "The whole file is checked before any stage runs: every stage setting against\n"
             "its command's options (name, type and range), every output of every stage\n"
             "against the pipeline's inputs and the other stages' outputs, and the runs and\n"
             "reports folders. A simulate stage writes the data, instrument and truth files;\n"
             "it never replaces a folder holding files it did not write.",
    .options = RUN_OPTIONS,
    .notes = "See README.md for the pipeline file format.",
    .examples = "sjtalign run instruments/demo/pipeline.json\n"
                "sjtalign run --dry-run instruments/demo/pipeline.json\n"
                "sjtalign run instruments/demo/pipeline.json --from audit-after",
};

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
    for (size_t i = 0; i < s->n_outputs; i++) {
        char *parent = sj_path_parent(s->outputs[i]);
        sj_status st =
            parent ? sj_mkdir_p(parent, err) : sj_error_set(err, SJ_ERR_WORK, "out of memory");
        free(parent);
        if (st != SJ_OK)
            return st;
    }
    return SJ_OK;
}

/* 1 when the stage trains (sft, reward, ppo, dpo) and its --out folder
 * holds the checkpoint of an interrupted run, which --resume continues. */
static int has_interrupted_run(const sj_stage *s)
{
    static const char *const training[] = {"sft", "reward", "ppo", "dpo"};
    int trains = 0;
    for (size_t i = 0; i < sizeof training / sizeof *training; i++)
        trains |= strcmp(s->command, training[i]) == 0;
    const char *out = NULL;
    for (int i = 0; trains && i + 1 < s->argc; i++)
        if (strcmp(s->argv[i], "--out") == 0)
            out = s->argv[i + 1];
    if (!out)
        return 0;
    char *path = sj_path_join(out, "config.json");
    sj_error err;
    cJSON *cfg = path && access(path, F_OK) == 0 ? sj_json_read(path, &err) : NULL;
    int found = cJSON_IsObject(cJSON_GetObjectItemCaseSensitive(cfg, "resume"));
    cJSON_Delete(cfg);
    free(path);
    return found;
}

/* Runs one stage as a child; returns its exit code (128 + signal when it
 * was killed). Ctrl-C reaches the child through the terminal; the runner
 * waits for it to stop cleanly (a training stage saves a checkpoint)
 * rather than dying first. `resume` adds --resume. */
static int run_child(const char *self, const sj_stage *s, int resume)
{
    /* The child's argv is built before fork: "sjtalign", the stage's
     * arguments, "--resume" when continuing, NULL. */
    char **argv = calloc((size_t)s->argc + 3, sizeof *argv);
    if (!argv) {
        fprintf(stderr, "sjtalign run: out of memory starting stage %s\n", s->name);
        return 1;
    }
    argv[0] = (char *)self;
    for (int i = 0; i < s->argc; i++)
        argv[i + 1] = s->argv[i];
    argv[s->argc + 1] = resume ? "--resume" : NULL;
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    if (pid < 0) {
        free(argv);
        return 1;
    }
    if (pid == 0) {
        /* under mpirun the runner is rank 0 alone; its stages are plain
         * processes, not members of the MPI job */
        setenv("SJTALIGN_NO_MPI", "1", 1);
        execv(self, argv);
        fprintf(stderr, "sjtalign run: cannot start %s: %s\n", self, strerror(errno));
        _exit(1);
    }
    free(argv);
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
        int resume = has_interrupted_run(s);
        if (resume)
            printf("[%zu/%zu] %s: continuing the interrupted run (--resume)\n", i + 1, n, s->name);
        double t0 = sj_now();
        int rc = run_child(self, s, resume);
        double seconds = sj_now() - t0;
        if (rc != 0) {
            fprintf(stderr,
                    "sjtalign run: stage %s %s after %.1f s; finished stages are kept, so "
                    "running the same command again continues from this stage%s\n",
                    s->name, rc > 128 ? "was interrupted" : "failed", seconds,
                    rc > 128 && has_interrupted_run(s)
                        ? " (its training continues from the checkpoint it saved)"
                        : "");
            if (resume && rc == 2)
                fprintf(stderr,
                        "sjtalign run: the checkpoint of the interrupted %s cannot be "
                        "continued with these settings; remove its --out folder to train that "
                        "stage afresh\n",
                        s->name);
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

/* ---- the closing summary ------------------------------------------------- */

static const cJSON *by_label(const cJSON *obj, const char *label)
{
    return cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(obj, "by_label"),
                                            label);
}

static const char *item_class(const cJSON *result)
{
    const cJSON *c = cJSON_GetObjectItemCaseSensitive(result, "ets_poly_class");
    if (!cJSON_IsString(c))
        c = cJSON_GetObjectItemCaseSensitive(result, "ets_class");
    return cJSON_IsString(c) ? c->valuestring : "-";
}

/* Line 1: every item flagged before alignment, with its class after each
 * aligned scorer. */
static void summarise_dif(sj_buf *out, const cJSON *doc, const cJSON *labels)
{
    sj_buf_printf(out, "DIF on the items flagged before alignment:");
    int any = 0;
    const cJSON *item;
    cJSON_ArrayForEach(item, cJSON_GetObjectItemCaseSensitive(doc, "items"))
    {
        const cJSON *before = cJSON_GetObjectItemCaseSensitive(item, "before");
        if (!cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(before, "flagged")))
            continue;
        const cJSON *id = cJSON_GetObjectItemCaseSensitive(item, "item");
        const cJSON *first_label = cJSON_GetArrayItem(labels, 0);
        sj_buf_printf(
            out, "%s %s: %s %s", any ? ";" : "", cJSON_IsString(id) ? id->valuestring : "?",
            cJSON_IsString(first_label) ? first_label->valuestring : "before", item_class(before));
        const cJSON *label;
        int first = 1;
        cJSON_ArrayForEach(label, labels)
        {
            if (first) { /* the before audit */
                first = 0;
                continue;
            }
            sj_buf_printf(out, ", %s %s", label->valuestring,
                          item_class(by_label(item, label->valuestring)));
        }
        any = 1;
    }
    if (!any)
        sj_buf_printf(out, " none");
}

/* Lines 2 to 4: a number per audit, e.g. QWK with the human scores. */
static void summarise_number(sj_buf *out, const char *title, const cJSON *section,
                             const cJSON *labels, const char *key, const char *format)
{
    sj_buf_printf(out, "%s:", title);
    const cJSON *label;
    int first = 1;
    cJSON_ArrayForEach(label, labels)
    {
        /* compare.json has "by_label" with three or more audits, else only
         * "before" and "after". */
        const cJSON *part =
            cJSON_GetObjectItemCaseSensitive(section, "by_label")
                ? by_label(section, label->valuestring)
                : cJSON_GetObjectItemCaseSensitive(section, first ? "before" : "after");
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(part, key);
        sj_buf_printf(out, "%s %s ", first ? "" : ",", label->valuestring);
        if (cJSON_IsNumber(v))
            sj_buf_printf(out, format, v->valuedouble);
        else
            sj_buf_printf(out, "n/a");
        first = 0;
    }
}

static cJSON *audit_labels(const cJSON *doc)
{
    cJSON *labels = cJSON_CreateArray();
    const cJSON *a;
    cJSON_ArrayForEach(a, cJSON_GetObjectItemCaseSensitive(doc, "audits"))
    {
        const cJSON *l = cJSON_GetObjectItemCaseSensitive(a, "label");
        if (cJSON_IsString(l))
            cJSON_AddItemToArray(labels, cJSON_CreateString(l->valuestring));
    }
    return labels;
}

/* The lines a reader wants first: DIF on the flagged items before and
 * after, the gap between the groups, what alignment cost in agreement with
 * the human scores, and, in a simulation, what it bought in agreement with
 * the true scores. Returns 0, or the exit code after reporting that memory
 * ran out. */
static int print_compare_summary(const sj_pipeline *p)
{
    char *dir = sj_path_join(p->reports, "compare");
    char *json = dir ? sj_path_join(dir, "compare.json") : NULL;
    char *html = dir ? sj_path_join(dir, "index.html") : NULL;
    cJSON *doc = json ? sj_json_read(json, NULL) : NULL;
    cJSON *labels = doc ? audit_labels(doc) : NULL;
    sj_buf text = {0};
    if (!html || (doc && !labels))
        sj_buf_fail(&text);
    else if (doc) {
        sj_buf_printf(&text, "\nreport: %s\n  ", html);
        summarise_dif(&text, doc, labels);
        sj_buf_printf(&text, "\n  ");
        summarise_number(&text, "Group gap in total score (focal - reference)",
                         cJSON_GetObjectItemCaseSensitive(doc, "parity"), labels, "mean_diff",
                         "%+.2f");
        sj_buf_printf(&text, "\n  ");
        summarise_number(&text, "Agreement with the human scores (QWK; the alignment tax)",
                         cJSON_GetObjectItemCaseSensitive(doc, "agreement"), labels, "qwk", "%.3f");
        sj_buf_printf(&text, "\n");
        const cJSON *truth = cJSON_GetObjectItemCaseSensitive(doc, "truth_agreement");
        if (cJSON_IsObject(truth)) {
            sj_buf_printf(&text, "  ");
            summarise_number(&text, "Agreement with the true scores (QWK)", truth, labels, "qwk",
                             "%.3f");
            sj_buf_printf(&text, "\n");
        }
        /* The transparent baseline's own lines, when the pipeline has one. */
        const cJSON *line;
        cJSON_ArrayForEach(line, cJSON_GetObjectItemCaseSensitive(
                                     cJSON_GetObjectItemCaseSensitive(doc, "baseline"), "summary"))
        {
            if (cJSON_IsString(line))
                sj_buf_printf(&text, "  %s\n", line->valuestring);
        }
    }
    int rc = 0;
    if (sj_buf_failed(&text)) {
        sj_error err;
        sj_error_clear(&err);
        sj_error_set(&err, SJ_ERR_WORK, "out of memory while summarising the reports");
        rc = cli_fail(&err);
    } else if (text.data)
        fputs(text.data, stdout);
    sj_buf_free(&text);
    cJSON_Delete(labels);
    cJSON_Delete(doc);
    free(html);
    free(json);
    free(dir);
    return rc;
}

/* Where this program is, so that stages run the same build. */
static int own_path(char *self, size_t size)
{
    ssize_t len = readlink("/proc/self/exe", self, size - 1);
    if (len <= 0) {
        fprintf(stderr, "sjtalign run: cannot find this program's path\n");
        return -1;
    }
    self[len] = '\0';
    return 0;
}

static int unknown_stage(const sj_pipeline *p, const char *from)
{
    sj_buf names = {0};
    int ok = 0;
    for (size_t i = 0; i < p->n_stages && ok == 0; i++)
        ok = sj_buf_printf(&names, "%s%s", i ? ", " : "", p->stages[i].name);
    int rc = cli_usage_error("run", "--from: no stage '%s' in this pipeline (stages: %s)", from,
                             ok == 0 && names.data ? names.data : "none");
    sj_buf_free(&names);
    return rc;
}

static int run_pipeline(const char *file, const char *from, int dry_run)
{
    char self[4096];
    if (own_path(self, sizeof self) != 0)
        return 1;
    sj_error err;
    sj_error_clear(&err);
    sj_pipeline *p = sj_pipeline_load(file, &err);
    if (!p)
        return cli_fail(&err);
    long start = -1;
    int rc = 0;
    if (from && (start = sj_pipeline_find_stage(p, from)) < 0)
        rc = unknown_stage(p, from);
    if (rc == 0)
        rc = run_stages(p, self, start, dry_run);
    if (rc == 0 && !dry_run)
        rc = print_compare_summary(p);
    sj_pipeline_free(p);
    return rc;
}

int cmd_run(int argc, char **argv)
{
    cli_args c;
    int rc = cli_parse(&cli_spec_run, argc, argv, 1, &c);
    if (rc == 0)
        rc = cli_check_io(&c);
    if (rc == 0 && c.n_positional != 1)
        rc = cli_usage_error("run", "expected one pipeline file");
    if (rc == 0)
        rc = run_pipeline(c.positional[0], cli_text(&c, "from"), cli_flag(&c, "dry-run"));
    else if (rc == 1)
        rc = 0;
    cli_args_free(&c);
    return rc;
}
