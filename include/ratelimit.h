/*
 * ratelimit.h - sliding-window limits on what mail can make the bot do.
 *
 * STORE_DB_RATE, key "BUCKET\0WHO" (e.g. "summarize\0alice@x",
 * "answers\0*"), value: the big-endian 64-bit times of the events still
 * inside the longest window asked for, oldest first, at most
 * RATELIMIT_MAX_EVENTS.  Sliding, not fixed windows: a flood across an
 * hour boundary still gets only `limit` events per `period`.
 * Runs in the caller's write transaction, so a counted event and the
 * answer it allowed commit together.
 */
#ifndef KVMARM_RATELIMIT_H
#define KVMARM_RATELIMIT_H

#include <stdint.h>

#include "store.h"

#define RATELIMIT_MAX_EVENTS 10000

/*
 * When fewer than limit events of (bucket, who) happened in
 * (now - period, now], record one at now and return 1 (allowed); else
 * return 0 and record nothing.  limit 0 allows nothing; a limit over
 * RATELIMIT_MAX_EVENTS counts as RATELIMIT_MAX_EVENTS.  who is
 * lowercased for the key.  -1 on store error.
 */
int ratelimit_take(struct store_txn *txn, const char *bucket, const char *who,
		   int limit, int64_t period, int64_t now);

/* The same check without recording: 1 allowed, 0 over, -1 error. */
int ratelimit_check(struct store_txn *txn, const char *bucket,
		    const char *who, int limit, int64_t period, int64_t now);

/*
 * Delete every log whose newest event is older than now - max_age, so
 * one-time senders do not stay forever.  Returns how many were
 * deleted, -1 on error.
 */
int ratelimit_prune(struct store_txn *txn, int64_t now, int64_t max_age);

#endif
