/*
 * responder.h - answer the mail people send to the bot.
 *
 * The listener queues every mail addressed to the bot (inbox.h); the
 * responder takes them one by one, each in its own write transaction:
 * screen it (command_screen()), read its commands (command_parse()),
 * act, queue the answers in the outbox, mark the mail handled.  The
 * answer and the "handled" mark commit together, so a crash never
 * answers twice and never forgets a request.  A mail whose handling
 * fails (a store or compose error) is marked handled with a log line
 * instead of being retried forever.
 *
 * What each command does is in docs/commands.md; the limits:
 *  - every answer counts against rate_global_per_day (bucket
 *    "answers", who "*"); over it the bot stays silent (logged);
 *  - summarize: rate_sender_per_hour per sender (bucket "summarize");
 *  - help: 3 per sender per day; the help sent for an unknown command
 *    once per sender per day; unknown words in list traffic get nothing;
 *  - confirmation mails (subscribe, unsubscribe, bad tokens): 3 per
 *    address per day, so a forged From cannot mail-bomb anyone;
 *  - moderation commands: From must be a moderator and the token must
 *    be the item's; anything else is logged, audited and not answered.
 */
#ifndef KVMARM_RESPONDER_H
#define KVMARM_RESPONDER_H

#include <stdint.h>

#include "config.h"
#include "store.h"

#define RESPONDER_BATCH 64		/* mails per call */
#define RESPONDER_CONFIRM_HOURS 72	/* subscribe/unsubscribe tokens */
#define RESPONDER_UNSUB_DAYS 60		/* List-Unsubscribe tokens */

/*
 * Handle up to RESPONDER_BATCH queued mails at time now.  state_dir is
 * for the audit log.  Returns how many were handled (0 when none
 * waits), or -1 on a store error (logged; call again later).  Sets
 * *more to 1 when mails are still waiting.
 */
int responder_run(struct store *store, const struct config *cfg,
		  const char *state_dir, int64_t now, int *more);

#endif
