/*
 * loop.h - `kvmarm-bot run`: the one event loop of the live bot.
 *
 * One process, one poll() over the IMAP socket (while in IDLE) and a
 * signalfd; timers for reconnection (capped exponential backoff, 1 s
 * doubling to 5 min), IDLE renewal, NOOP polling and the mailer's next
 * wake-up.  SIGTERM/SIGINT: the write in hand is finished, then exit 0.
 * SIGHUP: the configuration file is read again into a new struct; on
 * error the old one stays (logged).
 */
#ifndef KVMARM_LOOP_H
#define KVMARM_LOOP_H

#include "config.h"

#define LOOP_BACKOFF_MIN 1
#define LOOP_BACKOFF_MAX 300
/* The mailer and responder look at the state at least this often (s). */
#define LOOP_MAILER_POLL 30

/*
 * Run until SIGTERM or SIGINT.  *cfg may be replaced on SIGHUP (the old
 * contents released); config_path NULL means nothing to reload.
 * Returns the exit status: 0 after a signal, 1 when the loop could not
 * start (store, signals).
 */
int loop_run(struct config *cfg, const char *config_path,
	     const char *state_dir);

#endif
