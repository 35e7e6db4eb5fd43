/*
 * ratelimit.c - sliding-window limits on what mail can make the bot do.
 *
 * Each (bucket, who) pair keeps the log of its recent events in
 * STORE_DB_RATE: the big-endian times, oldest first.  A request is
 * allowed when fewer than `limit` logged events lie in the last
 * `period` seconds, so no choice of send times (a flood straddling an
 * hour boundary, say) can get more than `limit` answers out of any
 * window of that length.  The log is rewritten in the caller's write
 * transaction: an aborted transaction counts nothing, and a committed
 * one counts exactly the answers it allowed.
 *
 * A bucket is meant to be used with one period; each take keeps only
 * the events inside its own period, which is then the longest window
 * asked of that bucket.
 */
#include <ctype.h>
#include <inttypes.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "be64.h"
#include "log.h"
#include "ratelimit.h"
#include "store.h"

/*
 * The longest bucket and who kept as they are; a longer who (it comes
 * from a From: header) is keyed by "sha256:" and the hex digest of its
 * lowercased bytes, so the key stays under LMDB's 511 bytes and two
 * long senders never share a log.
 */
#define RATE_MAX_BUCKET 64
#define RATE_MAX_WHO 256
#define RATE_HASH_PREFIX "sha256:"
#define RATE_KEY_MAX (RATE_MAX_BUCKET + 1 + RATE_MAX_WHO)

/* Build "BUCKET\0WHO" (who lowercased, or hashed when long). */
static int
rate_key(const char *bucket, const char *who, char *key, size_t *klen)
{
	static const char hex[] = "0123456789abcdef";
	size_t blen, wlen, plen = sizeof(RATE_HASH_PREFIX) - 1;
	unsigned char digest[32];
	unsigned dlen = 0;
	EVP_MD_CTX *md;
	char *w;
	int ok;

	if (!bucket || !who)
		return log_error("ratelimit: no bucket or sender given");
	blen = strlen(bucket);
	if (blen == 0 || blen > RATE_MAX_BUCKET)
		return log_error("ratelimit: bad bucket name");
	memcpy(key, bucket, blen);
	key[blen] = '\0';
	w = key + blen + 1;
	wlen = strlen(who);
	if (wlen <= RATE_MAX_WHO &&
	    strncasecmp(who, RATE_HASH_PREFIX, plen) != 0) {
		for (size_t i = 0; i < wlen; i++)
			w[i] = (char)tolower((unsigned char)who[i]);
		*klen = blen + 1 + wlen;
		return 0;
	}
	md = EVP_MD_CTX_new();
	ok = md && EVP_DigestInit_ex(md, EVP_sha256(), NULL);

	for (size_t i = 0; ok && i < wlen; i++) {
		unsigned char c = (unsigned char)tolower((unsigned char)who[i]);

		ok = EVP_DigestUpdate(md, &c, 1);
	}
	ok = ok && EVP_DigestFinal_ex(md, digest, &dlen) &&
	     dlen == sizeof(digest);
	EVP_MD_CTX_free(md);
	if (!ok)
		return log_error("ratelimit: cannot hash a sender");
	memcpy(w, RATE_HASH_PREFIX, plen);
	for (unsigned i = 0; i < dlen; i++) {
		w[plen + 2 * i] = hex[digest[i] >> 4];
		w[plen + 2 * i + 1] = hex[digest[i] & 15];
	}
	*klen = blen + 1 + plen + 2 * dlen;
	return 0;
}

/*
 * Read the log of key: *n events in *ev (malloc'd, room for one more),
 * oldest first.  A damaged log (bad length, times out of order) is
 * logged and read as empty: losing a few counted events is better than
 * refusing a sender forever.
 */
static int
load_log(struct store_txn *txn, const char *key, size_t klen, int64_t **ev,
	 size_t *n)
{
	const unsigned char *p;
	const void *v;
	size_t vlen, cnt = 0;
	int r;

	*ev = NULL;
	*n = 0;
	r = store_kv_get(txn, STORE_DB_RATE, key, klen, &v, &vlen);
	if (r < 0)
		return -1;
	if (r == 0 && (vlen % 8 || vlen / 8 > RATELIMIT_MAX_EVENTS)) {
		log_warn("ratelimit: damaged log for bucket '%s' (%zu bytes); "
			 "starting it afresh",
			 key, vlen);
		r = 1;
	}
	if (r == 0)
		cnt = vlen / 8;
	*ev = malloc((cnt + 1) * sizeof(**ev));
	if (!*ev)
		return log_error("out of memory");
	p = v;
	for (size_t i = 0; i < cnt; i++) {
		(*ev)[i] = (int64_t)be64_get(p + 8 * i);
		if (i && (*ev)[i] < (*ev)[i - 1]) {
			log_warn("ratelimit: damaged log for bucket '%s' "
				 "(times out of order); starting it afresh",
				 key);
			cnt = 0;
			break;
		}
	}
	*n = cnt;
	return 0;
}

/*
 * The shared part of take and check: events of the log that are still
 * inside (now - period, ...].  Events after now (the clock went back)
 * are counted too: the limit must hold whatever the clock does.
 */
static int
rate_eval(struct store_txn *txn, const char *bucket, const char *who, int limit,
	  int64_t period, int64_t now, int record)
{
	char key[RATE_KEY_MAX + 1];
	unsigned char *out;
	int64_t *ev, cut;
	size_t klen = 0, n, first = 0, keep, pos;
	int r;

	if (period < 1)
		return log_error("ratelimit: bad period %" PRId64, period);
	if (rate_key(bucket, who, key, &klen) < 0)
		return -1;
	if (limit <= 0)
		return 0;
	if (limit > RATELIMIT_MAX_EVENTS)
		limit = RATELIMIT_MAX_EVENTS;
	if (load_log(txn, key, klen, &ev, &n) < 0)
		return -1;
	cut = now > INT64_MIN + period ? now - period : INT64_MIN;
	while (first < n && ev[first] <= cut)
		first++;
	keep = n - first;
	if (keep >= (size_t)limit || !record) {
		free(ev);
		return keep < (size_t)limit;
	}
	/* Insert now in order: the newest unless the clock went back. */
	pos = n;
	while (pos > first && ev[pos - 1] > now) {
		ev[pos] = ev[pos - 1];
		pos--;
	}
	ev[pos] = now;
	keep++;
	out = malloc(keep * 8);
	if (!out) {
		free(ev);
		return log_error("out of memory");
	}
	for (size_t i = 0; i < keep; i++)
		be64_put(out + 8 * i, (uint64_t)ev[first + i]);
	r = store_kv_put(txn, STORE_DB_RATE, key, klen, out, keep * 8);
	free(out);
	free(ev);
	return r < 0 ? -1 : 1;
}

int
ratelimit_take(struct store_txn *txn, const char *bucket, const char *who,
	       int limit, int64_t period, int64_t now)
{
	return rate_eval(txn, bucket, who, limit, period, now, 1);
}

int
ratelimit_check(struct store_txn *txn, const char *bucket, const char *who,
		int limit, int64_t period, int64_t now)
{
	return rate_eval(txn, bucket, who, limit, period, now, 0);
}

/* Keys of the logs to delete, collected before deleting. */
struct stale {
	char **keys;
	size_t *lens;
	size_t n, alloc;
	int64_t cut;
};

static int
collect_stale(const void *key, size_t klen, const void *val, size_t vlen,
	      void *ctx)
{
	struct stale *s = ctx;
	size_t *l;
	char **k;

	/* A damaged log goes too: it would be read as empty anyway. */
	if (vlen >= 8 && vlen % 8 == 0 &&
	    (int64_t)be64_get((const unsigned char *)val + vlen - 8) >= s->cut)
		return 0;
	if (s->n == s->alloc) {
		size_t na = s->alloc ? 2 * s->alloc : 16;

		k = realloc(s->keys, na * sizeof(*k));
		if (!k)
			return log_error("out of memory");
		s->keys = k;
		l = realloc(s->lens, na * sizeof(*l));
		if (!l)
			return log_error("out of memory");
		s->lens = l;
		s->alloc = na;
	}
	s->keys[s->n] = malloc(klen ? klen : 1);
	if (!s->keys[s->n])
		return log_error("out of memory");
	memcpy(s->keys[s->n], key, klen);
	s->lens[s->n++] = klen;
	return 0;
}

int
ratelimit_prune(struct store_txn *txn, int64_t now, int64_t max_age)
{
	struct stale s = {0};
	int r, deleted = 0;

	if (max_age < 0)
		return log_error("ratelimit: bad age %" PRId64, max_age);
	s.cut = now > INT64_MIN + max_age ? now - max_age : INT64_MIN;
	r = store_kv_foreach(txn, STORE_DB_RATE, NULL, 0, collect_stale, &s);
	for (size_t i = 0; i < s.n; i++) {
		if (r == 0) {
			int d = store_kv_del(txn, STORE_DB_RATE, s.keys[i],
					     s.lens[i]);

			if (d < 0)
				r = -1;
			else if (d == 0 && deleted < INT_MAX)
				deleted++;
		}
		free(s.keys[i]);
	}
	free(s.keys);
	free(s.lens);
	return r < 0 ? -1 : deleted;
}
