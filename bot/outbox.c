/*
 * outbox.c - durable outgoing mail: queue in a transaction, send, mark.
 *
 * Records (docs/state-format.md, "outbox"):
 *   "m:" MESSAGE-ID  ->  "STATE ATTEMPTS QUEUED NEXT_TRY DONE\n"
 *                        KEY "\n" RCPT,RCPT "\n" RAW-BYTES
 *   "k:" KEY         ->  MESSAGE-ID
 * Once sent the raw bytes are dropped but the record stays, so the
 * Message-ID and the key are never reused and a mail is never queued
 * or sent again.  The send itself happens outside any transaction:
 * holding LMDB's single writer across a two-minute SMTP timeout would
 * stall the IMAP listener's stores.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "config.h"
#include "log.h"
#include "outbox.h"
#include "smtp.h"

struct rec {
	struct outbox_item it;
	const char *raw;	/* borrowed from the value */
};

void
outbox_crash_point(const char *point)
{
	const char *at = getenv("KVMARM_CRASH_AT");

	if (at && !strcmp(at, point)) {
		log_warn("KVMARM_CRASH_AT=%s: exiting here", point);
		_exit(99);
	}
}

static int
mkey(struct buf *b, const char *prefix, const char *s)
{
	buf_init(b, OUTBOX_MAX_KEY + 8);
	if (buf_adds(b, prefix) < 0 || buf_adds(b, s) < 0) {
		buf_release(b);
		return log_error("outbox: key too long");
	}
	return 0;
}

static void
rec_release(struct rec *r)
{
	outbox_item_release(&r->it);
}

void
outbox_item_release(struct outbox_item *item)
{
	free(item->key);
	free(item->rcpt);
	memset(item, 0, sizeof(*item));
}

static char *
line_dup(const char **p, const char *end)
{
	const char *nl = memchr(*p, '\n', (size_t)(end - *p));
	char *s;

	if (!nl)
		return NULL;
	s = strndup(*p, (size_t)(nl - *p));
	*p = nl + 1;
	return s;
}

static int
rec_parse(const char *v, size_t len, struct rec *r)
{
	const char *end = v + len, *p;
	long long q, nt, done;
	unsigned att;
	char st;
	int used = 0;
	char head[128];
	const char *nl = memchr(v, '\n', len);

	memset(r, 0, sizeof(*r));
	if (!nl || (size_t)(nl - v) >= sizeof(head))
		return log_error("outbox: corrupt record");
	memcpy(head, v, (size_t)(nl - v));
	head[nl - v] = 0;
	if (sscanf(head, "%c %u %lld %lld %lld%n", &st, &att, &q, &nt, &done,
		   &used) != 5 || head[used] ||
	    (st != OUTBOX_QUEUED && st != OUTBOX_SENT && st != OUTBOX_FAILED))
		return log_error("outbox: corrupt record");
	p = nl + 1;
	r->it.key = line_dup(&p, end);
	r->it.rcpt = r->it.key ? line_dup(&p, end) : NULL;
	if (!r->it.rcpt) {
		rec_release(r);
		return log_error("outbox: corrupt record");
	}
	r->it.state = (enum outbox_state)st;
	r->it.attempts = att;
	r->it.queued_at = q;
	r->it.next_try = nt;
	r->it.done_at = done;
	r->raw = p;
	r->it.raw_len = (size_t)(end - p);
	return 0;
}

static int
rec_put(struct store_txn *txn, const char *message_id,
	const struct outbox_item *it, const char *raw, size_t raw_len)
{
	struct buf k, v;
	int r;

	if (mkey(&k, "m:", message_id) < 0)
		return -1;
	buf_init(&v, 0);
	r = buf_addf(&v, "%c %u %" PRId64 " %" PRId64 " %" PRId64 "\n%s\n%s\n",
		     (char)it->state, it->attempts, it->queued_at, it->next_try,
		     it->done_at, it->key, it->rcpt);
	if (r == 0 && raw_len)
		r = buf_add(&v, raw, raw_len);
	if (r < 0)
		log_error("outbox: record too large");
	else
		r = store_kv_put(txn, STORE_DB_OUTBOX, k.data, k.len, v.data,
				 v.len);
	buf_release(&k);
	buf_release(&v);
	return r;
}

int
outbox_find_key(struct store_txn *txn, const char *key, char **message_id)
{
	const void *v;
	size_t vlen;
	struct buf k;
	int r;

	*message_id = NULL;
	if (mkey(&k, "k:", key) < 0)
		return -1;
	r = store_kv_get(txn, STORE_DB_OUTBOX, k.data, k.len, &v, &vlen);
	buf_release(&k);
	if (r != 0)
		return r;
	*message_id = strndup(v, vlen);
	return *message_id ? 0 : log_error("out of memory");
}

int
outbox_get(struct store_txn *txn, const char *message_id,
	   struct outbox_item *item)
{
	const void *v;
	size_t vlen;
	struct buf k;
	struct rec rec;
	int r;

	memset(item, 0, sizeof(*item));
	if (mkey(&k, "m:", message_id) < 0)
		return -1;
	r = store_kv_get(txn, STORE_DB_OUTBOX, k.data, k.len, &v, &vlen);
	buf_release(&k);
	if (r != 0)
		return r;
	if (rec_parse(v, vlen, &rec) < 0)
		return -1;
	*item = rec.it;
	return 0;
}

static int
field_ok(const char *s, const char *what)
{
	for (const unsigned char *p = (const unsigned char *)s; *p; p++)
		if (*p < 0x21 || *p == 0x7f || *p == ',')
			return log_error("outbox: bad byte in %s", what);
	return 0;
}

int
outbox_queue(struct store_txn *txn, const char *message_id,
	     const char *const *rcpt, size_t n, const char *raw, size_t len,
	     const char *key, int64_t now)
{
	struct outbox_item it = {0};
	struct buf k, rc;
	const void *v;
	size_t vlen;
	int r;

	if (!message_id || !*message_id)
		return log_error("outbox: no message-id");
	if (field_ok(message_id, "message-id") < 0)
		return -1;
	if (key && (!*key || field_ok(key, "key") < 0))
		return -1;
	if (!n || n > OUTBOX_MAX_RCPT)
		return log_error("outbox: %zu recipients", n);
	if (!len)
		return log_error("outbox: empty mail");
	if (key) {
		char *old;

		r = outbox_find_key(txn, key, &old);
		free(old);
		if (r < 0)
			return -1;
		if (r == 0)
			return 1;	/* that key is already queued */
	}
	if (mkey(&k, "m:", message_id) < 0)
		return -1;
	r = store_kv_get(txn, STORE_DB_OUTBOX, k.data, k.len, &v, &vlen);
	buf_release(&k);
	if (r == 0)
		return 1;
	if (r < 0)
		return -1;

	buf_init(&rc, 0);
	for (size_t i = 0; i < n; i++)
		if (field_ok(rcpt[i], "recipient") < 0 || !*rcpt[i] ||
		    buf_addf(&rc, "%s%s", i ? "," : "", rcpt[i]) < 0) {
			buf_release(&rc);
			return log_error("outbox: bad recipient list");
		}
	it.state = OUTBOX_QUEUED;
	it.queued_at = now;
	it.next_try = now;
	it.key = (char *)(key ? key : "");
	it.rcpt = rc.data;
	r = rec_put(txn, message_id, &it, raw, len);
	buf_release(&rc);
	if (r == 0 && key) {
		if (mkey(&k, "k:", key) < 0)
			return -1;
		r = store_kv_put(txn, STORE_DB_OUTBOX, k.data, k.len,
				 message_id, strlen(message_id));
		buf_release(&k);
	}
	if (r == 0)
		log_info("outbox: queued <%s>%s%s for %zu recipient(s)",
			 message_id, key ? " as " : "", key ? key : "", n);
	return r < 0 ? -1 : 0;
}

/* The message-ids due now, and the earliest later next_try. */
struct due {
	char **ids;
	size_t n, alloc;
	int64_t now, next;
	int failed;
};

static int
collect_due(const void *key, size_t klen, const void *val, size_t vlen,
	    void *ctx)
{
	struct due *d = ctx;
	struct rec rec;
	char **grown;

	if (klen < 2 || memcmp(key, "m:", 2))
		return 1;	/* past the "m:" range: stop */
	if (rec_parse(val, vlen, &rec) < 0)
		return 0;	/* logged; keep it for the operator */
	if (rec.it.state == OUTBOX_QUEUED) {
		if (rec.it.next_try <= d->now) {
			if (d->n == d->alloc) {
				size_t na = d->alloc ? 2 * d->alloc : 8;

				grown = realloc(d->ids, na * sizeof(*grown));
				if (!grown)
					goto oom;
				d->ids = grown;
				d->alloc = na;
			}
			d->ids[d->n] = strndup((const char *)key + 2, klen - 2);
			if (!d->ids[d->n])
				goto oom;
			d->n++;
		} else if (rec.it.next_try < d->next) {
			d->next = rec.it.next_try;
		}
	}
	rec_release(&rec);
	return 0;
oom:
	rec_release(&rec);
	d->failed = 1;
	log_error("out of memory");
	return -1;
}

static int64_t
backoff(unsigned attempts)
{
	int64_t d = OUTBOX_BACKOFF_MIN;

	for (unsigned i = 1; i < attempts && d < OUTBOX_BACKOFF_MAX; i++)
		d *= 2;
	return d < OUTBOX_BACKOFF_MAX ? d : OUTBOX_BACKOFF_MAX;
}

/* Load one due mail's bytes and recipients out of the store. */
static int
load_one(struct store *store, const char *id, char **raw, size_t *len,
	 char ***rcpt, size_t *n)
{
	struct store_txn *txn;
	const void *v;
	size_t vlen;
	struct buf k;
	struct rec rec;
	int r;

	*raw = NULL;
	if (mkey(&k, "m:", id) < 0)
		return -1;
	if (store_begin(store, 0, &txn) < 0) {
		buf_release(&k);
		return -1;
	}
	r = store_kv_get(txn, STORE_DB_OUTBOX, k.data, k.len, &v, &vlen);
	buf_release(&k);
	if (r == 0)
		r = rec_parse(v, vlen, &rec);
	else
		r = r > 0 ? 1 : -1;
	if (r == 0) {
		if (rec.it.state != OUTBOX_QUEUED) {
			r = 1;	/* another process got there first */
		} else if (config_split_list(rec.it.rcpt, rcpt, n) < 0) {
			r = log_error("out of memory");
		} else if (!(*raw = malloc(rec.it.raw_len + 1))) {
			config_free_list(*rcpt, *n);
			*rcpt = NULL;
			r = log_error("out of memory");
		} else {
			memcpy(*raw, rec.raw, rec.it.raw_len);
			*len = rec.it.raw_len;
		}
		rec_release(&rec);
	}
	store_abort(txn);
	return r;
}

/* Record the outcome of one send in its own transaction. */
static int
mark(struct store *store, const char *id, int result, int64_t now,
     int64_t *next)
{
	struct store_txn *txn;
	const void *v;
	size_t vlen;
	struct buf k;
	struct rec rec;
	int r;

	if (mkey(&k, "m:", id) < 0)
		return -1;
	if (store_begin(store, 1, &txn) < 0) {
		buf_release(&k);
		return -1;
	}
	r = store_kv_get(txn, STORE_DB_OUTBOX, k.data, k.len, &v, &vlen);
	buf_release(&k);
	if (r != 0 || rec_parse(v, vlen, &rec) < 0) {
		store_abort(txn);
		return log_error("outbox: <%s> vanished while sending", id);
	}
	rec.it.attempts++;
	if (result == SMTP_SENT) {
		rec.it.state = OUTBOX_SENT;
		rec.it.done_at = now;
		r = rec_put(txn, id, &rec.it, NULL, 0);
	} else if (result == SMTP_PERMANENT) {
		rec.it.state = OUTBOX_FAILED;
		rec.it.done_at = now;
		r = rec_put(txn, id, &rec.it, rec.raw, rec.it.raw_len);
	} else {
		rec.it.next_try = now + backoff(rec.it.attempts);
		if (rec.it.next_try < *next)
			*next = rec.it.next_try;
		r = rec_put(txn, id, &rec.it, rec.raw, rec.it.raw_len);
	}
	if (r == 0)
		r = store_commit(txn);
	else
		store_abort(txn);
	if (r == 0 && result == SMTP_SENT)
		log_info("outbox: sent <%s> (attempt %u)", id, rec.it.attempts);
	else if (r == 0 && result == SMTP_PERMANENT)
		log_error("outbox: <%s> failed permanently after %u attempt(s);"
			  " kept in the outbox", id, rec.it.attempts);
	else if (r == 0)
		log_warn("outbox: <%s> attempt %u failed, next try in %" PRId64
			 " s", id, rec.it.attempts, rec.it.next_try - now);
	rec_release(&rec);
	return r;
}

int
outbox_flush(struct store *store, const struct config *cfg, int64_t now,
	     int64_t *next_wakeup)
{
	struct due d = {.now = now, .next = INT64_MAX};
	struct store_txn *txn;
	int sent = 0, r = 0, paused;

	if (store_begin(store, 0, &txn) < 0)
		return -1;
	paused = store_paused(txn);
	if (paused < 0 ||
	    store_kv_foreach(txn, STORE_DB_OUTBOX, "m:", 2, collect_due, &d)
		    < 0 || d.failed)
		r = -1;
	store_abort(txn);
	/*
	 * `kvmarm-bot pause` holds everything; look again within a minute
	 * so that `resume` takes effect without a signal to the daemon.
	 */
	if (r == 0 && paused && d.n) {
		log_info("outbox: paused, %zu mail(s) held", d.n);
		if (now + 60 < d.next)
			d.next = now + 60;
		for (size_t i = 0; i < d.n; i++)
			free(d.ids[i]);
		d.n = 0;
	}

	for (size_t i = 0; r == 0 && i < d.n; i++) {
		char **rcpt = NULL, *raw;
		size_t n = 0, len = 0;
		int res, lr;

		lr = load_one(store, d.ids[i], &raw, &len, &rcpt, &n);
		if (lr < 0) {
			r = -1;
			break;
		}
		if (lr > 0)
			continue;
		outbox_crash_point("before-send");
		res = smtp_send(cfg, (const char *const *)rcpt, n, raw, len);
		if (res == SMTP_SENT)
			outbox_crash_point("after-send");
		free(raw);
		config_free_list(rcpt, n);
		if (mark(store, d.ids[i], res, now, &d.next) < 0)
			r = -1;
		else if (res == SMTP_SENT)
			sent++;
	}
	for (size_t i = 0; i < d.n; i++)
		free(d.ids[i]);
	free(d.ids);
	if (next_wakeup && d.next < *next_wakeup)
		*next_wakeup = d.next;
	return r < 0 ? -1 : sent;
}
