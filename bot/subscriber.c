/*
 * subscriber.c - who receives the digest, and in which language.
 *
 * One record per subscriber in STORE_DB_SUBSCRIBER: the lowercased
 * address is the key, "LANG SINCE" the value.  Addresses arrive from
 * mail (subscribe) and from the operator (`subscribers add`), and end
 * up in RCPT TO and in headers, so anything that could break a header
 * or an SMTP command line (CR, LF, blanks, brackets, quotes, commas) is
 * refused here, once, for every caller.  Records read back are checked
 * again: a damaged record is logged and skipped, never mailed to.
 */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "store.h"
#include "subscriber.h"

/* "zh " + a signed 64-bit decimal fits easily in this. */
#define SUBSCRIBER_MAX_VALUE 32

int
subscriber_addr_valid(const char *addr)
{
	const char *at = NULL, *domain;
	size_t len;

	if (!addr)
		return 0;
	len = strnlen(addr, SUBSCRIBER_MAX_ADDR + 1);
	if (len < 3 || len > SUBSCRIBER_MAX_ADDR)
		return 0;
	for (const char *p = addr; *p; p++) {
		unsigned char c = (unsigned char)*p;

		/* Printable ASCII without the space: 0x21..0x7e. */
		if (c < 0x21 || c > 0x7e)
			return 0;
		if (strchr("<>,\"'\\", c))
			return 0;
		if (c == '@') {
			if (at)
				return 0;
			at = p;
		}
	}
	if (!at || at == addr)
		return 0;
	domain = at + 1;
	if (!*domain)
		return 0;
	return strchr(domain, '.') != NULL ||
	       strcasecmp(domain, "localhost") == 0;
}

static int
lang_valid(const char *lang)
{
	return lang && (!strcmp(lang, "en") || !strcmp(lang, "zh"));
}

/* Copy addr lowercased into key (SUBSCRIBER_MAX_ADDR + 1 bytes). */
static int
addr_key(const char *addr, char *key, size_t *klen)
{
	size_t len;

	if (!subscriber_addr_valid(addr))
		return -1;
	len = strlen(addr);
	for (size_t i = 0; i < len; i++)
		key[i] = (char)tolower((unsigned char)addr[i]);
	key[len] = '\0';
	*klen = len;
	return 0;
}

/*
 * Parse a stored record into *out.  The key must itself be a valid
 * lowercased address; returns 0, or -1 when anything is off (the
 * caller logs).
 */
static int
parse_record(const void *key, size_t klen, const void *val, size_t vlen,
	     struct subscriber *out)
{
	char text[SUBSCRIBER_MAX_VALUE];
	char *end;
	long long since;

	if (klen == 0 || klen > SUBSCRIBER_MAX_ADDR || memchr(key, '\0', klen))
		return -1;
	memcpy(out->addr, key, klen);
	out->addr[klen] = '\0';
	if (!subscriber_addr_valid(out->addr))
		return -1;
	for (size_t i = 0; i < klen; i++)
		if (isupper((unsigned char)out->addr[i]))
			return -1;
	if (vlen < 4 || vlen >= sizeof(text) || memchr(val, '\0', vlen))
		return -1;
	memcpy(text, val, vlen);
	text[vlen] = '\0';
	if (text[2] != ' ' || !isdigit((unsigned char)text[3]))
		return -1;
	text[2] = '\0';
	if (!lang_valid(text))
		return -1;
	errno = 0;
	since = strtoll(text + 3, &end, 10);
	if (errno || *end || since < 0)
		return -1;
	memcpy(out->lang, text, 3);
	out->since = (int64_t)since;
	return 0;
}

static int
put_record(struct store_txn *txn, const char *key, size_t klen,
	   const char *lang, int64_t since)
{
	char val[SUBSCRIBER_MAX_VALUE];
	int n = snprintf(val, sizeof(val), "%s %" PRId64, lang, since);

	if (n < 0 || (size_t)n >= sizeof(val))
		return log_error("subscriber: bad record for '%s'", key);
	return store_kv_put(txn, STORE_DB_SUBSCRIBER, key, klen, val,
			    (size_t)n);
}

int
subscriber_add(struct store_txn *txn, const char *addr, const char *lang,
	       int64_t now)
{
	char key[SUBSCRIBER_MAX_ADDR + 1];
	struct subscriber old;
	const void *v;
	size_t klen, vlen;
	int64_t since = now;
	int r;

	if (addr_key(addr, key, &klen) < 0)
		return log_error("subscriber: not a usable address");
	if (!lang_valid(lang))
		return log_error("subscriber: language must be 'en' or 'zh'");
	if (now < 0)
		return log_error("subscriber: bad time %" PRId64, now);
	r = store_kv_get(txn, STORE_DB_SUBSCRIBER, key, klen, &v, &vlen);
	if (r < 0)
		return -1;
	if (r == 0) {
		if (parse_record(key, klen, v, vlen, &old) == 0)
			since = old.since;
		else
			log_warn("subscriber: record of '%s' was damaged; "
				 "rewritten as a new subscription",
				 key);
	}
	if (put_record(txn, key, klen, lang, since) < 0)
		return -1;
	return r == 0 ? 1 : 0;
}

int
subscriber_remove(struct store_txn *txn, const char *addr)
{
	char key[SUBSCRIBER_MAX_ADDR + 1];
	size_t klen;

	/* An address that could never have been added is not there. */
	if (addr_key(addr, key, &klen) < 0)
		return 1;
	return store_kv_del(txn, STORE_DB_SUBSCRIBER, key, klen);
}

int
subscriber_get(struct store_txn *txn, const char *addr, struct subscriber *out)
{
	char key[SUBSCRIBER_MAX_ADDR + 1];
	const void *v;
	size_t klen, vlen;
	int r;

	if (addr_key(addr, key, &klen) < 0)
		return 1;
	r = store_kv_get(txn, STORE_DB_SUBSCRIBER, key, klen, &v, &vlen);
	if (r != 0)
		return r;
	if (parse_record(key, klen, v, vlen, out) < 0)
		return log_error("subscriber: record of '%s' is damaged", key);
	return 0;
}

struct walk {
	subscriber_fn fn;
	void *ctx;
};

static int
printable(const void *key, size_t klen)
{
	const unsigned char *p = key;

	if (klen == 0 || klen > SUBSCRIBER_MAX_ADDR)
		return 0;
	for (size_t i = 0; i < klen; i++)
		if (p[i] < 0x20 || p[i] > 0x7e)
			return 0;
	return 1;
}

static int
walk_one(const void *key, size_t klen, const void *val, size_t vlen, void *ctx)
{
	struct walk *w = ctx;
	struct subscriber s;

	if (parse_record(key, klen, val, vlen, &s) < 0) {
		/* Name the key only when it cannot break the log line. */
		if (printable(key, klen))
			log_warn("subscriber: skipping the damaged record "
				 "'%.*s'",
				 (int)klen, (const char *)key);
		else
			log_warn("subscriber: skipping a damaged record (key "
				 "of %zu byte(s))",
				 klen);
		return 0;
	}
	return w->fn(&s, w->ctx);
}

int
subscriber_foreach(struct store_txn *txn, subscriber_fn fn, void *ctx)
{
	struct walk w = {fn, ctx};

	return store_kv_foreach(txn, STORE_DB_SUBSCRIBER, NULL, 0, walk_one,
				&w);
}
