/*
 * thread.h - which mails belong together: threads, series and versions.
 *
 * Threading runs over the whole store, not just one week.  Every stored
 * message gets a small link record in STORE_DB_THREAD (written by
 * thread_index_add() in the same transaction that stores the message),
 * plus reverse edges from each referenced id, stored or not, so a thread
 * is found by walking the link graph from any of its mails without
 * reading any mail body.
 *
 * The rules (docs/threading.md explains them with examples):
 *  1. Two mails are in one thread when a chain of In-Reply-To/References
 *     links joins them, also through ids that are not in the store
 *     (ghost parents).  Ids without '@' such as <yes> are never links
 *     (the parser drops them).  Loops are harmless: the walk visits each
 *     id once.
 *  2. Patches of one series posted without threading (no In-Reply-To
 *     and no References) join the series when they share git
 *     send-email's Message-ID prefix ("<DATE.PID-K-user@host>" with the
 *     same "DATE.PID" and host and K != the cover's), or else when they
 *     have the same sender, version and total and are posted within 10
 *     minutes of each other, as patchwork groups series.
 *     Precisely: both mails are series mails (not Re:/Fwd:) and
 *     either (a) at least one is unthreaded and their Message-IDs are
 *     "DATE.PID-K-rest" (or the old "SECS-PID-K-git-send-email-rest")
 *     and equal but for K; or (b) at least one is a loose patch
 *     (unthreaded, k/N with k >= 1: two cover letters never join),
 *     they are not both git send-email ids (rule a decides those),
 *     both carry k/N with the same N, version, project ("kvmtool"...)
 *     and From address, and their dates (both known) are at most 600
 *     seconds apart.  The relation chains: a series posted over 25
 *     minutes with gaps under 10 stays one.
 *  3. Nothing else joins: not the subject, not a "PATCH n/M" key.
 *  4. Versions of a series (same bare subject of the cover letter or
 *     first patch, different vN) stay separate threads but are linked:
 *     struct thread.prev_* / next_*.  The bare subject is compared
 *     without case and with blank runs as one space; only non-reply
 *     [PATCH]/[RFC] mails numbered 0/N, 1/N or not numbered count.
 *
 * Limits: one walk stops at 20,000 mails (or 200,000 ids), logging the
 * cut, so a junk id shared by unrelated mails cannot hang the bot.
 *
 * Every function that reads threads fails with a log line telling the
 * user to run `kvmarm-bot reindex` when the store holds mail but no
 * complete thread index (STORE_DB_META "thread_index" is not "1"): a
 * store imported by a kvmarm-bot without threading.  An empty store is
 * fine (no threads).
 */
#ifndef KVMARM_THREAD_H
#define KVMARM_THREAD_H

#include <stddef.h>
#include <stdint.h>

#include "message.h"
#include "store.h"

/* One stored mail of a thread, from its link record (no body). */
struct thread_msg {
	char *id;		/* owned message-id */
	int64_t date;		/* UTC epoch */
	char *from_addr;	/* owned */
	char *from_name;	/* owned, may be "" (at most 500 bytes) */
	char *subject;		/* owned, decoded (at most 2,000 bytes) */
	struct subject_tags tags;
	char *parent;		/* owned: In-Reply-To or last reference, "" */
};

struct thread {
	/*
	 * owned: the earliest mail without a stored parent (none of its
	 * In-Reply-To/References is stored); among those a cover letter
	 * (0/N, not a reply) wins, and a dated mail always beats one
	 * without a date.  In a loop (every mail has a stored parent) the
	 * same order picks among all mails.
	 */
	char *root_id;
	struct thread_msg *msgs;	/* owned, all stored mails, date order
					 * (ties by id), undated (0) last */
	size_t n_msgs;
	/*
	 * Other versions of the same series, when known: the root of the
	 * newest earlier version and of the oldest later version, with
	 * their version numbers and first dates.  NULL when none.  The
	 * "root" given is that version's cover letter (else its first or
	 * only patch), and the date is that mail's.
	 */
	char *prev_root;	/* owned or NULL */
	int prev_version;
	int64_t prev_date;
	char *next_root;	/* owned or NULL */
	int next_version;
	int64_t next_date;
};

/*
 * Add msg's link record and edges.  Call it right after
 * store_put_message() returned 1, in the same write transaction.
 * Returns 0 or -1.  The first call on a store that already holds other
 * mails marks the index stale (until `reindex`).
 */
int thread_index_add(struct store_txn *txn, const struct message *msg);

/*
 * Collect the whole thread that contains message_id into *out (release
 * with thread_release()).  Returns 0, 1 when message_id is not stored
 * (a ghost id is not stored), -1 on error.
 */
int thread_collect(struct store_txn *txn, const char *message_id,
		   struct thread *out);

/*
 * Partition the mails dated in [since, until) into threads: every mail
 * of the window is in exactly one returned thread; each thread carries
 * all its stored mails (also those outside the window).  *out is a
 * malloc'd array of *n threads, freed with thread_free_array(), in the
 * order of their first mail in the window; NULL and 0 when none.
 * Reads link records only (no mail body) and only the window's threads.
 * Returns 0 or -1.
 */
int thread_window(struct store_txn *txn, int64_t since, int64_t until,
		  struct thread **out, size_t *n);

/* Count the threads of the whole store (for `stats`; walks every link
 * record); -1 on error. */
long thread_count_all(struct store_txn *txn);

/* Drop every link record and rebuild them from the stored messages
 * (for `reindex` after a format change), then mark the index complete.
 * Returns 0 or -1. */
int thread_reindex(struct store_txn *txn);

void thread_release(struct thread *t);
void thread_free_array(struct thread *threads, size_t n);

#endif
