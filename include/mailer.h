/*
 * mailer.h - the bot's outgoing side as the run loop sees it.
 *
 * mailer_tick() is called on every wake of the event loop: it queues
 * the weekly digest when it is due and not queued yet, then sends what
 * the outbox holds that is due.  mailer_queue_digest() is the same
 * composition for `kvmarm-bot digest --send`.
 */
#ifndef KVMARM_MAILER_H
#define KVMARM_MAILER_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "config.h"
#include "store.h"

/*
 * Compose the digest of [since, until) (text format) and queue it, all
 * in one write transaction, so a window is composed and queued at most
 * once: with moderation none to digest_recipients (in digest_lang) and
 * to every subscriber (in their language) under the outbox key
 * "digest:SINCE:UNTIL"; with moderation digest or all it is held
 * instead (mailer_hold_digest()).  lang (NULL: digest_lang) is the
 * language of the digest_recipients' mail; subscribers get theirs.
 * Returns 0 queued or held, 1 when that window was already queued or
 * held (nothing done), -1 on error (logged: nobody to send to, no
 * bot_address, no moderators or token_secret, store or compose
 * failure).
 */
int mailer_queue_digest(struct store *store, const struct config *cfg,
			int64_t since, int64_t until, int64_t now,
			const char *lang);

/*
 * One step of the mailer at time now: when a digest schedule is set
 * and its most recent due instant D (schedule_due()) has no digest
 * yet, queue the digest of [D - 7 days, D); then outbox_flush().  So a
 * bot that was down at D sends that digest once at its next start; a
 * bot down for several weeks sends only the most recent one.  Sets
 * *next_wakeup to the earlier of the next scheduled instant and the
 * next outbox retry (INT64_MAX when neither).  Returns the number of
 * mails sent, or -1 on error (logged; the loop just calls again later).
 */
int mailer_tick(struct store *store, const struct config *cfg, int64_t now,
		int64_t *next_wakeup);

/*
 * mailer_tick() that also handles held items (reminders, expiry; the
 * audit log of state_dir records expiry; NULL: not recorded).  The run
 * loop calls this one.
 */
int mailer_tick_dir(struct store *store, const struct config *cfg,
		    const char *state_dir, int64_t now, int64_t *next_wakeup);

/*
 * Append the footer every bot mail ends with (lang "en" or "zh"): that
 * it is generated and can be wrong, that the bot gives no review tags,
 * how to unsubscribe and get help, and who moderates it.  0 or -1.
 */
int mailer_footer(const struct config *cfg, const char *lang,
		  struct buf *out);

/*
 * Moderation (moderation.h).  All run in the caller's write txn.
 *
 * mailer_hold_digest(): the digest of [since, until) becomes a held
 * item (its numbered thread list frozen) and its draft is queued to
 * the moderators; the outbox key "hold:SINCE:UNTIL" makes it once per
 * window.  Returns 0 held, 1 already held or sent, -1 on error.
 *
 * mailer_draft(): queue (again) the draft of item to the moderators:
 * for a digest the numbered digest with the item's edits applied, for
 * a reply the held mail's text; with the instructions, the item id and
 * token (also in the subject "[hold #ID TOKEN]"), the deadline.
 * Updates item->draft_id (the caller stores the item).  0 or -1.
 *
 * mailer_release(): an approved item goes out: a digest to
 * digest_recipients and to every subscriber in their language (edits
 * applied, under the outbox key "digest:SINCE:UNTIL", so once); a reply
 * as its held bytes.  0 queued, 1 already queued, -1 on error.
 *
 * mailer_remind(): queue the reminder that item still waits.  0 or -1.
 */
/*
 * The outbox key of a window: kind "digest" (the sent digest) or "hold"
 * (the first draft of a held one), "KIND:SINCE:UNTIL" into out.
 */
#define MAILER_KEY_MAX 64
void mailer_window_key(char *out, size_t outsz, const char *kind,
		       int64_t since, int64_t until);

struct moderation_item;
int mailer_hold_digest(struct store_txn *txn, const struct config *cfg,
		       int64_t since, int64_t until, int64_t now);
int mailer_draft(struct store_txn *txn, const struct config *cfg,
		 struct moderation_item *item, int64_t now);
int mailer_release(struct store_txn *txn, const struct config *cfg,
		   struct moderation_item *item, int64_t now);
int mailer_remind(struct store_txn *txn, const struct config *cfg,
		  struct moderation_item *item, int64_t now);

#endif
