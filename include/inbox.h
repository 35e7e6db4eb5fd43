/*
 * inbox.h - what the live listener does with each new mail.
 *
 * The mailbox the bot follows receives both the list's traffic and mail
 * sent to the bot itself.  inbox_accept() sorts one new mail, inside
 * the listener's write transaction (so the decision commits with the
 * IMAP sync state):
 *  - list traffic is archived (store_put_message + thread index): mail
 *    that came through the list (command_via_list()) or that is not
 *    addressed to the bot at all.  Mail addressed to the bot alone is
 *    a private request: it is not archived, so it never shows up in a
 *    digest.  Mail from the bot itself (its digests and answers coming
 *    back through the list) is not archived either: it is not the
 *    list's discussion.
 *  - mail with the bot's address (or a +suffix form) in To or Cc is
 *    queued for the responder (responder.h), raw, under the SHA-256 of
 *    its Message-ID.  A Message-ID already queued or already answered
 *    is not queued again, so a mailbox fetched twice (UIDVALIDITY
 *    change, a second folder) never gets two answers.
 *
 * STORE_DB_INBOX keys (docs/state-format.md):
 *   "q:" HEX64 -> raw mail bytes, waiting for the responder
 *   "d:" HEX64 -> big-endian 64-bit time it was handled
 * Mail imported from files (`import`) never goes through here: old mail
 * is history, not requests.
 */
#ifndef KVMARM_INBOX_H
#define KVMARM_INBOX_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "message.h"
#include "store.h"

#define INBOX_KEY_MAX 67	/* "q:" + 64 hex digits + NUL */
#define INBOX_DONE_DAYS 60	/* "d:" markers are pruned after this */

/*
 * Sort one parsed mail (raw/len its bytes) as above.  Returns 1 when it
 * was archived as new, 0 when not archived (a duplicate, private or the
 * bot's own), -1 on error (the transaction must be aborted).  *queued,
 * when not NULL, is set to 1 when the mail was queued for an answer.
 */
int inbox_accept(struct store_txn *txn, const struct config *cfg,
		 const struct message *msg, const char *raw, size_t len,
		 int *queued);

/*
 * The same for a mailbox that only receives mail to the bot
 * (commands_imap_url): nothing is archived; mail to the bot is queued
 * as above, anything else is ignored.  Returns 0, or -1 on error.
 */
int inbox_accept_request(struct store_txn *txn, const struct config *cfg,
			 const struct message *msg, const char *raw,
			 size_t len, int *queued);

/* The key of message_id with prefix 'q' or 'd' into out (INBOX_KEY_MAX). */
void inbox_key(char prefix, const char *message_id, char *out);

/*
 * Mark the queued mail key ("q:...") handled at now: the queue entry
 * goes, the "d:" marker stays.  0 or -1.
 */
int inbox_done(struct store_txn *txn, const char *qkey, int64_t now);

/*
 * Drop the queued mail key ("q:...") without a "d:" marker, so another
 * copy of the same Message-ID can still be queued: for the list's copy
 * of a mail whose direct copy may follow.  0 or -1.
 */
int inbox_forget(struct store_txn *txn, const char *qkey);

/*
 * Delete "d:" markers older than INBOX_DONE_DAYS.  Returns the number
 * deleted or -1.
 */
int inbox_prune(struct store_txn *txn, int64_t now);

#endif
