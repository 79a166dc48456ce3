/* Signals that stop training at a step boundary. */
#include "interrupt.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sjtalign/dist.h"
#include "sjtalign/io.h"

volatile sig_atomic_t cli_interrupted = 0;

static void on_signal(int sig)
{
    cli_interrupted = sig;
}

static int caught[2];
static struct sigaction previous[2];
static const int SIGNALS[2] = {SIGINT, SIGTERM};

void cli_interrupt_catch(void)
{
    sj_dist_watch_interrupt(&cli_interrupted);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    /* SA_RESETHAND: the next signal has its default effect, so a second
     * Ctrl-C ends a run that is slow to reach its step boundary. */
    sa.sa_flags = SA_RESETHAND;
    for (int i = 0; i < 2; i++) {
        /* A signal ignored when we started (nohup, a background job without
         * job control) stays ignored, as the shell meant. */
        caught[i] = sigaction(SIGNALS[i], NULL, &previous[i]) == 0 &&
                    previous[i].sa_handler != SIG_IGN && sigaction(SIGNALS[i], &sa, NULL) == 0;
    }
}

/* The temporary a signal removes; the handler reads it, so it is a copy
 * that outlives the writer's own (freed when the file is committed). */
static char discard_path[4096];
static volatile sig_atomic_t discard_armed = 0;

static void discard_and_die(int sig)
{
    if (discard_armed)
        unlink(discard_path);
    signal(sig, SIG_DFL);
    raise(sig);
}

void cli_discard_on_signal(const char *tmp_path)
{
    discard_armed = 0;
    int fits = tmp_path && strlen(tmp_path) < sizeof discard_path;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = fits ? discard_and_die : SIG_DFL;
    sigemptyset(&sa.sa_mask);
    if (fits)
        memcpy(discard_path, tmp_path, strlen(tmp_path) + 1);
    discard_armed = fits;
    for (int i = 0; i < 2; i++) {
        struct sigaction was;
        /* an ignored signal (nohup) stays ignored */
        if (sigaction(SIGNALS[i], NULL, &was) == 0 && was.sa_handler != SIG_IGN)
            sigaction(SIGNALS[i], &sa, NULL);
    }
}

void cli_interrupt_release(void)
{
    for (int i = 0; i < 2; i++)
        if (caught[i])
            sigaction(SIGNALS[i], &previous[i], NULL);
    caught[0] = caught[1] = 0;
}

int cli_interrupt_report(const char *command, long step, long steps, const char *out)
{
    int sig = cli_interrupted;
    fprintf(stderr,
            "sjtalign %s: %s after step %ld of %ld; the model trained so far is saved in %s. "
            "To continue, run the same command again with --resume.\n",
            command,
            sig ? (sig == SIGTERM ? "stopped by SIGTERM" : "interrupted (Ctrl-C)")
                : "stopped (--stop-after)",
            step, steps, out);
    return sig ? 128 + sig : 0;
}

long cli_pretrain_steps_done(const char *out)
{
    char *path = sj_path_join(out, "config.json");
    sj_error err;
    cJSON *cfg = path ? sj_json_read(path, &err) : NULL;
    const cJSON *done = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(cfg, "provenance"), "steps_done");
    long step = cJSON_IsNumber(done) ? (long)done->valuedouble : 0;
    cJSON_Delete(cfg);
    free(path);
    return step;
}
