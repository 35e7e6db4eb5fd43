/*
 * outbox.h - the durable queue of outgoing mail (STORE_DB_OUTBOX).
 *
 * A mail is committed here, as its final bytes, before any attempt to
 * send it; outbox_flush() then sends what is due and marks each mail
 * sent in its own transaction.  A crash therefore never loses a mail,
 * and the only duplicate possible is a resend of the same bytes (same
 * Message-ID) when the bot dies between the server's final 250 and the
 * local mark (docs/outbox.md).  Keys are in docs/state-format.md.
 */
#ifndef KVMARM_OUTBOX_H
#define KVMARM_OUTBOX_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "store.h"

enum outbox_state {
	OUTBOX_QUEUED = 'q',	/* waiting for its next_try */
	OUTBOX_SENT = 's',	/* accepted by the server; bytes dropped */
	OUTBOX_FAILED = 'f',	/* permanent failure; kept for the operator */
};

#define OUTBOX_BACKOFF_MIN 30		/* first retry after 30 s ... */
#define OUTBOX_BACKOFF_MAX 3600		/* ... doubling up to one hour */
#define OUTBOX_MAX_KEY 512
#define OUTBOX_MAX_RCPT 1000

/* What outbox_get() reports; strings are owned (outbox_item_release). */
struct outbox_item {
	enum outbox_state state;
	unsigned attempts;	/* sends tried so far */
	int64_t queued_at;
	int64_t next_try;	/* QUEUED: not before this instant */
	int64_t done_at;	/* SENT / FAILED: when */
	char *key;		/* "" when queued without a key */
	char *rcpt;		/* comma-separated recipients */
	size_t raw_len;		/* 0 once sent */
};

/*
 * Queue a composed mail (CRLF bytes) for the n recipients, under its
 * Message-ID (without <>) and, when key is not NULL, under key too
 * (e.g. "digest:SINCE:UNTIL").  Runs inside the caller's write
 * transaction, so the caller's own checks and this insert commit
 * together.  Returns 0 queued, 1 when the key or the Message-ID is
 * already in the outbox (nothing changed), -1 on error.
 */
int outbox_queue(struct store_txn *txn, const char *message_id,
		 const char *const *rcpt, size_t n, const char *raw,
		 size_t len, const char *key, int64_t now);

/*
 * The Message-ID queued under key: 0 and *message_id (malloc'd) when
 * present, 1 when absent, -1 on error.
 */
int outbox_find_key(struct store_txn *txn, const char *key,
		    char **message_id);

/* State of one mail: 0, 1 when absent, -1 on error (or corrupt). */
int outbox_get(struct store_txn *txn, const char *message_id,
	       struct outbox_item *item);
void outbox_item_release(struct outbox_item *item);

/*
 * Send every queued mail whose next_try <= now, one by one, each in
 * its own transactions: read, send (smtp_send), then mark it SENT, or
 * FAILED on a permanent error, or push next_try back with capped
 * exponential backoff on a temporary one.  Lowers *next_wakeup (when
 * not NULL) to the earliest next_try still queued afterwards.  Returns
 * the number of mails sent, or -1 when the store failed.
 */
int outbox_flush(struct store *store, const struct config *cfg, int64_t now,
		 int64_t *next_wakeup);

/*
 * Crash-test knob: when the environment's KVMARM_CRASH_AT equals
 * point ("queued", "before-send", "after-send"), _exit(99) at once,
 * as a kill -9 would stop the process there.
 */
void outbox_crash_point(const char *point);

#endif
