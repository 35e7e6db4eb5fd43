/*
 * store.h - the bot's memory: LMDB named databases in one state directory.
 *
 * LMDB gives a memory-mapped, copy-on-write B+tree: a committed write
 * transaction survives kill -9 and power loss, readers (`digest`, `show`)
 * run beside the writing daemon, and opening costs the same for ten
 * mails or ten million.  This module owns the environment, the named
 * databases and the message records; later modules (threads, outbox,
 * summaries, subscribers, moderation) lay out their own keys in the
 * databases reserved for them through the generic store_kv_* calls.
 * The layout is documented in docs/state-format.md.
 *
 * Nothing here knows about the network or the event loop.
 */
#ifndef KVMARM_STORE_H
#define KVMARM_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "message.h"

#define STORE_FORMAT_VERSION 1

/* The named databases.  Their names in LMDB are in store.c. */
enum store_db {
	STORE_DB_META,		/* "format_version" and other singletons */
	STORE_DB_MSG,		/* message-id -> message record (JSON) */
	STORE_DB_RAW,		/* message-id -> raw mail bytes */
	STORE_DB_BYDATE,	/* be64 date + message-id -> "" */
	STORE_DB_THREAD,	/* thread links, owned by thread.c */
	STORE_DB_IMPORT,	/* import cursors (public-inbox commits) */
	STORE_DB_IMAP,		/* IMAP sync state, owned by imap.c */
	STORE_DB_OUTBOX,	/* outgoing mail, owned by outbox.c */
	STORE_DB_SUMMARY,	/* summary cache, owned by summary/llm */
	STORE_DB_SUBSCRIBER,	/* subscribers, owned by command.c */
	STORE_DB_MODERATION,	/* held items, owned by moderation.c */
	STORE_DB_USAGE,		/* LLM token usage, owned by llm.c */
	STORE_DB_INBOX,		/* mail to the bot awaiting an answer, inbox.c */
	STORE_DB_RATE,		/* rate-limit logs, owned by ratelimit.c */
	STORE_DB_COUNT
};

struct store;
struct store_txn;

/* The mode argument of store_open(). */
enum store_mode {
	STORE_OPEN_WRITE = 0,	/* create if needed; takes the writer lock */
	STORE_OPEN_READ = 1,	/* read-only, no lock, creates nothing */
	/*
	 * Writable beside a running daemon, for short administrative
	 * writes (moderate, subscribers, pause): no writer lock, nothing
	 * created; LMDB itself serialises the write transactions of all
	 * processes.  Never for imports or the daemon.
	 */
	STORE_OPEN_SHARED = 2,
};

/*
 * Open the store in directory dir in the given enum store_mode (0 and
 * 1 keep their old meaning of "write" and "read-only").  A store whose
 * format_version is not STORE_FORMAT_VERSION is refused.
 * Returns 0 and sets *out, or -1 after logging why.
 */
int store_open(const char *dir, int mode, struct store **out);

/*
 * The singleton flag "paused" in STORE_DB_META (`kvmarm-bot pause`):
 * while set, nothing leaves the outbox.  store_paused() returns 1 when
 * set, 0 when not, -1 on error; store_set_paused() writes it in txn.
 */
int store_paused(struct store_txn *txn);
int store_set_paused(struct store_txn *txn, int paused);

/* Close the store; open transactions must have ended.  NULL is fine. */
void store_close(struct store *store);

/*
 * Begin a transaction.  Only one write transaction exists at a time
 * (LMDB serialises writers, also across processes).  Returns 0 or -1.
 * Every transaction ends with store_commit() or store_abort(); both
 * free it.  Pointers handed out by a transaction die with it.
 */
int store_begin(struct store *store, int write, struct store_txn **out);
int store_commit(struct store_txn *txn);	/* 0, or -1 (and aborted) */
void store_abort(struct store_txn *txn);

/*
 * Store one parsed message and its raw bytes.  Returns 1 when stored,
 * 0 when a message with that Message-ID is already there (nothing is
 * changed), -1 on error (the transaction must then be aborted).
 */
int store_put_message(struct store_txn *txn, const struct message *msg,
		      const char *raw, size_t raw_len);

/* 1 when present, 0 when absent, -1 on error. */
int store_has_message(struct store_txn *txn, const char *message_id);

/*
 * Load the parsed record of message_id into *msg (release it with
 * message_release()).  Returns 0, 1 when absent, -1 on error.
 */
int store_get_message(struct store_txn *txn, const char *message_id,
		      struct message *msg);

/*
 * Borrow the raw bytes of message_id; *raw lives until the transaction
 * ends.  Returns 0, 1 when absent, -1 on error.
 */
int store_get_raw(struct store_txn *txn, const char *message_id,
		  const char **raw, size_t *len);

/*
 * Call fn for every message whose date is in [since, until), in date
 * order, with its message-id (borrowed for the call).  fn returns 0 to
 * go on, anything else to stop; that value is returned.  Returns 0 when
 * the walk ended, -1 on error.
 */
typedef int (*store_date_fn)(const char *message_id, int64_t date,
			     void *ctx);
int store_foreach_by_date(struct store_txn *txn, int64_t since,
			  int64_t until, store_date_fn fn, void *ctx);

/*
 * Generic access to a named database for the modules that own it.
 * store_kv_get borrows the value until the transaction ends and returns
 * 0, 1 when absent, -1 on error.  store_kv_put overwrites.  store_kv_del
 * returns 0, 1 when absent, -1 on error.
 */
int store_kv_get(struct store_txn *txn, enum store_db db, const void *key,
		 size_t klen, const void **val, size_t *vlen);
int store_kv_put(struct store_txn *txn, enum store_db db, const void *key,
		 size_t klen, const void *val, size_t vlen);
int store_kv_del(struct store_txn *txn, enum store_db db, const void *key,
		 size_t klen);

/*
 * Walk db in key order starting at the first key >= start (all keys when
 * start is NULL).  fn returns 0 to go on, other values stop the walk and
 * are returned; 0 when the walk ended, -1 on error.
 */
typedef int (*store_kv_fn)(const void *key, size_t klen, const void *val,
			   size_t vlen, void *ctx);
int store_kv_foreach(struct store_txn *txn, enum store_db db,
		     const void *start, size_t slen, store_kv_fn fn, void *ctx);

/* Figures for `stats`. */
struct store_stats {
	uint64_t messages;
	int64_t first_date;	/* 0 when empty */
	int64_t last_date;
	uint64_t file_bytes;	/* size of the data file on disk */
	uint64_t map_bytes;	/* map size */
};
int store_stats(struct store_txn *txn, struct store_stats *st);

#endif
