/*
 * subscriber.h - who receives the digest, and in which language.
 *
 * STORE_DB_SUBSCRIBER, key: the lowercased addr-spec; value: the text
 * "LANG SINCE" ("en 1757322000"): the language of their digest and
 * when they subscribed (UTC epoch).  Double opt-in is done with tokens
 * (token.h) before subscriber_add() is called, so nothing pending is
 * stored here.  All calls run in the caller's transaction.
 */
#ifndef KVMARM_SUBSCRIBER_H
#define KVMARM_SUBSCRIBER_H

#include <stdint.h>

#include "store.h"

#define SUBSCRIBER_MAX_ADDR 254	/* RFC 5321 path limit */

struct subscriber {
	char addr[SUBSCRIBER_MAX_ADDR + 1];	/* lowercased */
	char lang[3];				/* "en" or "zh" */
	int64_t since;
};

/*
 * 1 when addr is a plausible addr-spec to mail: 3..254 bytes of
 * printable ASCII without blanks, '<', '>', ',', quotes or
 * backslashes, exactly one '@' with a non-empty local part and a
 * domain holding a '.' (or "localhost").  Else 0.
 */
int subscriber_addr_valid(const char *addr);

/*
 * Add or update addr (lowercased here) with lang ("en"/"zh").
 * Returns 0 when added, 1 when it was there (the language is updated,
 * the date kept), -1 on error or a bad address/language (logged).
 */
int subscriber_add(struct store_txn *txn, const char *addr, const char *lang,
		   int64_t now);

/* Returns 0 removed, 1 when not subscribed, -1 on error. */
int subscriber_remove(struct store_txn *txn, const char *addr);

/* Returns 0 and fills *out, 1 when not subscribed, -1 on error. */
int subscriber_get(struct store_txn *txn, const char *addr,
		   struct subscriber *out);

/*
 * Call fn for each subscriber in address order; fn returns 0 to go
 * on, other values stop and are returned.  0 at the end, -1 on error.
 * A corrupt record is logged and skipped.
 */
typedef int (*subscriber_fn)(const struct subscriber *s, void *ctx);
int subscriber_foreach(struct store_txn *txn, subscriber_fn fn, void *ctx);

#endif
