/* Progress on stderr: a bar redrawn in place on a terminal, plain periodic
 * lines when stderr is a file or pipe (CI logs, pipelines). */
#include "sjtalign/util.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

double sj_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

void sj_progress_start(sj_progress *p, const char *label, long total)
{
    memset(p, 0, sizeof *p);
    snprintf(p->label, sizeof p->label, "%s", label);
    p->total = total;
    p->is_tty = isatty(STDERR_FILENO);
    const char *quiet = getenv("SJTALIGN_QUIET");
    p->quiet = quiet && *quiet && strcmp(quiet, "0") != 0;
    p->started = sj_now();
    p->last_print = p->started;
    p->interval = p->is_tty ? 0.1 : 10.0;
}

static void format_eta(double seconds, char *out, size_t n)
{
    if (seconds < 0 || seconds > 1e7) {
        snprintf(out, n, "--:--");
        return;
    }
    long s = (long)(seconds + 0.5);
    snprintf(out, n, "%02ld:%02ld", s / 60, s % 60);
}

static void draw(sj_progress *p, const char *extra, int final)
{
    double elapsed = sj_now() - p->started;
    double frac = p->total > 0 ? (double)p->done / (double)p->total : 0.0;
    if (frac > 1.0)
        frac = 1.0;
    char eta[48];
    format_eta(frac > 0 ? elapsed * (1.0 - frac) / frac : -1.0, eta, sizeof eta);
    if (p->total <= 0) { /* an unknown total: count and time only */
        fprintf(stderr, p->is_tty ? "\r%-12s %ld done %.1fs %s\033[K%s" : "%s: %ld done %.1fs %s%s",
                p->label, p->done, elapsed, extra ? extra : "",
                final ? "\n" : (p->is_tty ? "" : "\n"));
    } else if (p->is_tty) {
        enum { WIDTH = 30 };
        char bar[WIDTH + 1];
        int filled = (int)(frac * WIDTH);
        for (int i = 0; i < WIDTH; i++)
            bar[i] = i < filled ? '#' : '.';
        bar[WIDTH] = '\0';
        fprintf(stderr, "\r%-12s [%s] %ld/%ld %3.0f%% eta %s %s\033[K%s", p->label, bar, p->done,
                p->total, 100.0 * frac, eta, extra ? extra : "", final ? "\n" : "");
    } else {
        fprintf(stderr, "%s: %ld/%ld (%.0f%%) %.1fs%s%s\n", p->label, p->done, p->total,
                100.0 * frac, elapsed, extra ? " " : "", extra ? extra : "");
    }
    fflush(stderr);
}

void sj_progress_update(sj_progress *p, long done, const char *extra)
{
    p->done = done;
    if (p->quiet)
        return;
    double now = sj_now();
    if (now - p->last_print < p->interval)
        return;
    p->last_print = now;
    draw(p, extra, 0);
}

void sj_progress_finish(sj_progress *p, const char *extra)
{
    if (p->quiet)
        return;
    if (p->total > 0)
        p->done = p->total;
    draw(p, extra, 1);
}
