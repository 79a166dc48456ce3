/* Ctrl-C (SIGINT) and SIGTERM during training: the first signal sets a flag
 * that the training loop reads at its next step boundary, where it saves a
 * checkpoint and stops; a second signal ends the program at once. */
#ifndef SJTALIGN_CLI_INTERRUPT_H
#define SJTALIGN_CLI_INTERRUPT_H

#include <signal.h>

/* The signal number received, 0 while none. */
extern volatile sig_atomic_t cli_interrupted;

/* Installs the handlers (the first signal of each kind is caught). */
void cli_interrupt_catch(void);
/* Restores the handlers that were in place before cli_interrupt_catch. */
void cli_interrupt_release(void);

/* After a stage stopped early at `step` of `steps` with its checkpoint in
 * `out`: prints how to continue and returns the exit code, 128 + the signal
 * (130 for Ctrl-C) after a signal, 0 after --stop-after. */
int cli_interrupt_report(const char *command, long step, long steps, const char *out);

/* Steps done by the pre-training checkpoint in `dir` (0 when unreadable). */
long cli_pretrain_steps_done(const char *dir);

#endif
