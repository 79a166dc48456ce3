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

/* A file being written that a signal must not leave behind: until
 * cli_discard_on_signal(NULL), SIGINT or SIGTERM removes `tmp_path` (the
 * temporary of an output not yet complete) and then ends the program as
 * the signal would. For commands that do not stop at a step boundary
 * (score); under mpirun it is also how a rank that dies leaves no
 * temporary on the others: mpirun stops them with SIGTERM (and SIGKILL a
 * second later). NULL or an over-long path removes nothing. */
void cli_discard_on_signal(const char *tmp_path);

/* After a stage stopped early at `step` of `steps` with its checkpoint in
 * `out`: prints how to continue and returns the exit code, 128 + the signal
 * (130 for Ctrl-C) after a signal, 0 after --stop-after. */
int cli_interrupt_report(const char *command, long step, long steps, const char *out);

/* Steps done by the pre-training checkpoint in `dir` (0 when unreadable). */
long cli_pretrain_steps_done(const char *dir);

#endif
