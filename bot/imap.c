/*
 * imap.c - IMAP listener on libetpan: connect, verify, EXAMINE, catch
 * up by UID, IDLE.
 *
 * The sync state of a mailbox is one STORE_DB_IMAP record, key
 * "mbox:USER@HOST/MAILBOX", value "UIDVALIDITY LASTUID" in decimal.  It
 * is written in the same transaction as the messages of a batch.  When
 * UIDVALIDITY changes the last UID restarts at 0 and everything is
 * fetched again; store_put_message() drops what is already stored by
 * Message-ID, so nothing is counted twice.
 *
 * libetpan quirks handled here (see tests/e2e and ../shared/testenv.md):
 * connect returns MAILIMAP_NO_ERROR_NON_AUTHENTICATED on success; its
 * TLS verifies nothing (tlsverify.c does); "UID FETCH n:*" returns the
 * highest message even when its UID is below n, so results at or below
 * the last UID are dropped.
 */
#include <arpa/inet.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <libetpan/libetpan.h>

#include "imap.h"
#include "inbox.h"
#include "log.h"
#include "message.h"
#include "thread.h"
#include "tlsverify.h"

#define IMAP_HOST_MAX 255
#define IMAP_MAILBOX_MAX 255
#define IMAP_KEY_MAX 480
#define IMAP_TIMEOUT_SECONDS 60
/* Bytes per FETCH of bodies, so a batch of big mails stays bounded. */
#define IMAP_BATCH_BYTES (32u * 1024 * 1024)

struct imap {
	mailimap *m;
	char host[IMAP_HOST_MAX + 1];
	char user[IMAP_HOST_MAX + 1];
	char base[IMAP_MAILBOX_MAX + 1];	/* newsgroup when slicing */
	char mailbox[IMAP_MAILBOX_MAX + 24];	/* the one EXAMINEd */
	int slices;		/* following NAME.0, NAME.1, ... */
	long slice;
	int idle;		/* server offers IDLE */
	int idling;
	const struct config *cfg;	/* borrowed: inbox_accept() rules */
	int commands_only;	/* the commands mailbox: nothing archived */
};

struct imap_url {
	int tls;
	uint16_t port;
	char host[IMAP_HOST_MAX + 1];
	char mailbox[IMAP_MAILBOX_MAX + 1];
};

static int
parse_url(const char *url, struct imap_url *u)
{
	const char *p, *slash, *colon;
	size_t hl;

	memset(u, 0, sizeof(*u));
	if (!strncmp(url, "imaps://", 8)) {
		u->tls = 1;
		u->port = 993;
		p = url + 8;
	} else if (!strncmp(url, "imap://", 7)) {
		u->port = 143;
		p = url + 7;
	} else {
		return log_error("imap_url must start with imaps:// or imap://");
	}
	slash = strchr(p, '/');
	if (!slash || !slash[1])
		return log_error("imap_url names no mailbox");
	colon = memchr(p, ':', (size_t)(slash - p));
	hl = (size_t)((colon ? colon : slash) - p);
	if (*p == '[') {	/* [v6]:port */
		const char *rb = memchr(p, ']', (size_t)(slash - p));
		if (!rb)
			return log_error("imap_url: bad IPv6 host");
		hl = (size_t)(rb - p - 1);
		colon = rb[1] == ':' ? rb + 1 : NULL;
		p++;
	}
	if (!hl || hl > IMAP_HOST_MAX)
		return log_error("imap_url: bad host");
	memcpy(u->host, p, hl);
	if (colon) {
		char *end;
		unsigned long v = strtoul(colon + 1, &end, 10);
		if (end != slash || !v || v > 65535)
			return log_error("imap_url: bad port");
		u->port = (uint16_t)v;
	}
	if (strlen(slash + 1) > IMAP_MAILBOX_MAX)
		return log_error("imap_url: mailbox name too long");
	snprintf(u->mailbox, sizeof(u->mailbox), "%s", slash + 1);
	return 0;
}

static void
sni_callback(struct mailstream_ssl_context *ctx, void *data)
{
	const char *host = data;
	unsigned char a[16];

	/* SNI carries DNS names only */
	if (inet_pton(AF_INET, host, a) != 1 && inet_pton(AF_INET6, host, a) != 1)
		mailstream_ssl_set_server_name(ctx, (char *)host);
}

static int
login(struct imap *im, const struct config *cfg)
{
	const char *user = *cfg->imap_user ? cfg->imap_user : "anonymous";
	const char *pass = *cfg->imap_user ? cfg->imap_password : "anonymous";
	int r;

	r = mailimap_login(im->m, user, pass);
	if (r != MAILIMAP_NO_ERROR)
		return log_error("IMAP login as %s at %s failed (%d)", user,
				 im->host, r);
	return 0;
}

/* The number after "BASE." in name, or -1. */
static long
slice_number(const char *base, const char *name)
{
	size_t bl = strlen(base);
	char *end;
	long v;

	if (strncasecmp(name, base, bl) || name[bl] != '.' ||
	    name[bl + 1] < '0' || name[bl + 1] > '9')
		return -1;
	v = strtol(name + bl + 1, &end, 10);
	return *end || v < 0 ? -1 : v;
}

/* Highest slice of im->base on the server: >= 0, or -1 (none or error). */
static long
newest_slice(struct imap *im)
{
	char pat[IMAP_MAILBOX_MAX + 4];
	clist *list = NULL;
	clistiter *it;
	long best = -1;

	snprintf(pat, sizeof(pat), "%s.%%", im->base);
	if (mailimap_list(im->m, "", pat, &list) != MAILIMAP_NO_ERROR)
		return -1;
	for (it = clist_begin(list); it; it = clist_next(it)) {
		struct mailimap_mailbox_list *mb = clist_content(it);
		long n = slice_number(im->base, mb->mb_name);
		if (n > best)
			best = n;
	}
	mailimap_list_result_free(list);
	return best;
}

static int
examine(struct imap *im)
{
	int r = mailimap_examine(im->m, im->mailbox);

	if (r != MAILIMAP_NO_ERROR)
		return log_error("IMAP EXAMINE %s at %s failed (%d)",
				 im->mailbox, im->host, r);
	return 0;
}

static int
open_slice(struct imap *im, long n)
{
	im->slice = n;
	snprintf(im->mailbox, sizeof(im->mailbox), "%s.%ld", im->base, n);
	return examine(im);
}

static int
choose_mailbox(struct imap *im, const char *name)
{
	size_t n = strlen(name);
	long s;

	if (n > 2 && !strcmp(name + n - 2, ".*")) {
		snprintf(im->base, sizeof(im->base), "%.*s", (int)(n - 2), name);
		im->slices = 1;
	} else {
		snprintf(im->mailbox, sizeof(im->mailbox), "%s", name);
		if (mailimap_examine(im->m, im->mailbox) == MAILIMAP_NO_ERROR)
			return 0;
		/* a public-inbox newsgroup named without its slice? */
		snprintf(im->base, sizeof(im->base), "%s", name);
		im->slices = 1;
	}
	s = newest_slice(im);
	if (s < 0)
		return log_error("IMAP: no mailbox %s at %s", name, im->host);
	return open_slice(im, s);
}

int
imap_open(const struct config *cfg, struct imap **out)
{
	return imap_open_mailbox(cfg, 0, out);
}

int
imap_open_mailbox(const struct config *cfg, int commands_only,
		  struct imap **out)
{
	struct imap_url u;
	struct imap *im;
	int r;

	*out = NULL;
	if (parse_url(cfg->imap_url, &u) < 0)
		return -1;
	im = calloc(1, sizeof(*im));
	if (!im)
		return log_error("out of memory");
	im->cfg = cfg;
	im->commands_only = commands_only;
	snprintf(im->host, sizeof(im->host), "%s", u.host);
	snprintf(im->user, sizeof(im->user), "%s",
		 *cfg->imap_user ? cfg->imap_user : "anonymous");
	im->m = mailimap_new(0, NULL);
	if (!im->m) {
		free(im);
		return log_error("out of memory");
	}
	mailimap_set_timeout(im->m, IMAP_TIMEOUT_SECONDS);
	if (u.tls)
		r = mailimap_ssl_connect_with_callback(im->m, u.host, u.port,
						       sni_callback, im->host);
	else
		r = mailimap_socket_connect(im->m, u.host, u.port);
	if (r != MAILIMAP_NO_ERROR && r != MAILIMAP_NO_ERROR_NON_AUTHENTICATED) {
		log_error("IMAP connect to %s:%u failed (%d)", u.host,
			  (unsigned)u.port, r);
		goto fail;
	}
	if (!u.tls && cfg->imap_starttls) {
		r = mailimap_socket_starttls_with_callback(im->m, sni_callback,
							   im->host);
		if (r != MAILIMAP_NO_ERROR) {
			log_error("IMAP STARTTLS with %s failed (%d)", u.host, r);
			goto fail;
		}
	}
	if (u.tls || cfg->imap_starttls) {
		if (tlsverify_stream(im->m->imap_stream, u.host,
				     cfg->imap_ca_file) < 0)
			goto fail;
	} else {
		log_warn("IMAP to %s without TLS (imap_starttls = no)", u.host);
	}
	if (login(im, cfg) < 0)
		goto fail;
	/* capabilities change after login; mailimap_has_idle reads them */
	{
		struct mailimap_capability_data *cap = NULL;
		if (mailimap_capability(im->m, &cap) == MAILIMAP_NO_ERROR)
			mailimap_capability_data_free(cap);
	}
	im->idle = mailimap_has_idle(im->m) ? 1 : 0;
	if (choose_mailbox(im, u.mailbox) < 0)
		goto fail;
	log_info("connected to %s as %s, mailbox %s, %s", im->host, im->user,
		 im->mailbox, im->idle ? "IDLE" : "polling");
	*out = im;
	return 0;
fail:
	imap_close(im);
	return -1;
}

void
imap_close(struct imap *im)
{
	if (!im)
		return;
	if (im->m) {
		if (im->m->imap_stream)
			mailimap_logout(im->m);
		mailimap_free(im->m);
	}
	free(im);
}

int
imap_has_idle(const struct imap *im)
{
	return im->idle;
}

const char *
imap_mailbox(const struct imap *im)
{
	return im->mailbox;
}

/* --- sync state ---------------------------------------------------- */

static size_t
state_key(const struct imap *im, char *key)
{
	int n = snprintf(key, IMAP_KEY_MAX, "mbox:%s@%s/%s", im->user,
			 im->host, im->mailbox);

	return n < 0 || n >= IMAP_KEY_MAX ? IMAP_KEY_MAX - 1 : (size_t)n;
}

/* Read (validity, last); both 0 when no record.  0 or -1. */
static int
state_get(struct imap *im, struct store *store, uint32_t *validity,
	  uint32_t *last)
{
	struct store_txn *txn;
	char key[IMAP_KEY_MAX], val[64];
	const void *v;
	size_t kl = state_key(im, key), vl;
	unsigned long a, b;
	int r;

	*validity = *last = 0;
	if (store_begin(store, 0, &txn) < 0)
		return -1;
	r = store_kv_get(txn, STORE_DB_IMAP, key, kl, &v, &vl);
	if (r == 0 && vl < sizeof(val)) {
		memcpy(val, v, vl);
		val[vl] = 0;
		if (sscanf(val, "%lu %lu", &a, &b) == 2 && a <= UINT32_MAX &&
		    b <= UINT32_MAX) {
			*validity = (uint32_t)a;
			*last = (uint32_t)b;
		} else {
			log_warn("IMAP state of %s unreadable: syncing again",
				 im->mailbox);
		}
	}
	store_abort(txn);
	return r < 0 ? -1 : 0;
}

static int
state_put(struct imap *im, struct store_txn *txn, uint32_t validity,
	  uint32_t last)
{
	char key[IMAP_KEY_MAX], val[32];
	size_t kl = state_key(im, key);
	int n = snprintf(val, sizeof(val), "%" PRIu32 " %" PRIu32, validity,
			 last);

	return store_kv_put(txn, STORE_DB_IMAP, key, kl, val, (size_t)n);
}

/* --- fetching ------------------------------------------------------ */

struct pending {
	uint32_t uid;
	uint32_t size;
};

static void
item_of(struct mailimap_msg_att *att, uint32_t *uid, uint32_t *size,
	const char **body, size_t *blen)
{
	clistiter *it;

	for (it = clist_begin(att->att_list); it; it = clist_next(it)) {
		struct mailimap_msg_att_item *item = clist_content(it);
		struct mailimap_msg_att_static *s;

		if (item->att_type != MAILIMAP_MSG_ATT_ITEM_STATIC)
			continue;
		s = item->att_data.att_static;
		if (s->att_type == MAILIMAP_MSG_ATT_UID)
			*uid = s->att_data.att_uid;
		else if (s->att_type == MAILIMAP_MSG_ATT_RFC822_SIZE && size)
			*size = s->att_data.att_rfc822_size;
		else if (s->att_type == MAILIMAP_MSG_ATT_BODY_SECTION && body &&
			 s->att_data.att_body_section->sec_body_part) {
			*body = s->att_data.att_body_section->sec_body_part;
			*blen = s->att_data.att_body_section->sec_length;
		}
	}
}

/* UIDs and sizes above last, ascending.  0 or -1. */
static int
list_new(struct imap *im, uint32_t last, struct pending **out, size_t *n)
{
	struct mailimap_set *set = mailimap_set_new_interval(last + 1, 0);
	struct mailimap_fetch_type *ft =
		mailimap_fetch_type_new_fetch_att_list_empty();
	clist *res = NULL;
	clistiter *it;
	struct pending *p;
	size_t cnt = 0;
	int r;

	*out = NULL;
	*n = 0;
	if (!set || !ft)
		goto oom;
	mailimap_fetch_type_new_fetch_att_list_add(ft, mailimap_fetch_att_new_uid());
	mailimap_fetch_type_new_fetch_att_list_add(ft,
		mailimap_fetch_att_new_rfc822_size());
	r = mailimap_uid_fetch(im->m, set, ft, &res);
	mailimap_fetch_type_free(ft);
	mailimap_set_free(set);
	if (r != MAILIMAP_NO_ERROR)
		return log_error("IMAP UID FETCH (sizes) in %s failed (%d)",
				 im->mailbox, r);
	p = calloc(clist_count(res) + 1, sizeof(*p));
	if (!p) {
		mailimap_fetch_list_free(res);
		return log_error("out of memory");
	}
	for (it = clist_begin(res); it; it = clist_next(it)) {
		uint32_t uid = 0, size = 0;

		item_of(clist_content(it), &uid, &size, NULL, NULL);
		if (uid > last) {	/* n:* also returns the highest one */
			p[cnt].uid = uid;
			p[cnt].size = size;
			cnt++;
		}
	}
	mailimap_fetch_list_free(res);
	/* servers answer in sequence order, which is UID order */
	*out = p;
	*n = cnt;
	return 0;
oom:
	if (ft)
		mailimap_fetch_type_free(ft);
	if (set)
		mailimap_set_free(set);
	return log_error("out of memory");
}

/*
 * Parse one mail and let the inbox sort it (archive, answer or both);
 * 1 archived, 0 duplicate, not archived or unparsable, -1.
 */
static int
store_one(struct store_txn *txn, const struct config *cfg, int commands_only,
	  const char *raw, size_t len, uint32_t uid, const char *mailbox)
{
	struct message msg;
	const char *why = NULL;
	int r;

	if (message_parse(raw, len, &msg, &why) < 0) {
		log_warn("IMAP %s UID %" PRIu32 " skipped: %s", mailbox, uid,
			 why ? why : "unparsable");
		return 0;
	}
	if (commands_only)
		r = inbox_accept_request(txn, cfg, &msg, raw, len, NULL);
	else
		r = inbox_accept(txn, cfg, &msg, raw, len, NULL);
	message_release(&msg);
	return r;
}

/* Fetch and store p[0..n) in one transaction ending at state last. */
static int
fetch_batch(struct imap *im, struct store *store, uint32_t validity,
	    const struct pending *p, size_t n, size_t *stored)
{
	struct mailimap_set *set = mailimap_set_new_empty();
	struct mailimap_fetch_type *ft =
		mailimap_fetch_type_new_fetch_att_list_empty();
	struct store_txn *txn = NULL;
	clist *res = NULL;
	clistiter *it;
	size_t want = 0, got = 0;
	int r;

	if (!set || !ft) {
		if (set)
			mailimap_set_free(set);
		if (ft)
			mailimap_fetch_type_free(ft);
		return log_error("out of memory");
	}
	for (size_t i = 0; i < n; i++) {
		if (p[i].size > MESSAGE_MAX_RAW) {
			log_warn("IMAP %s UID %" PRIu32 " refused: %" PRIu32
				 " bytes is over the limit", im->mailbox,
				 p[i].uid, p[i].size);
			continue;
		}
		mailimap_set_add_single(set, p[i].uid);
		want++;
	}
	mailimap_fetch_type_new_fetch_att_list_add(ft, mailimap_fetch_att_new_uid());
	mailimap_fetch_type_new_fetch_att_list_add(ft,
		mailimap_fetch_att_new_body_peek_section(mailimap_section_new(NULL)));
	if (want) {
		r = mailimap_uid_fetch(im->m, set, ft, &res);
		if (r != MAILIMAP_NO_ERROR) {
			mailimap_fetch_type_free(ft);
			mailimap_set_free(set);
			return log_error("IMAP UID FETCH in %s failed (%d)",
					 im->mailbox, r);
		}
	}
	mailimap_fetch_type_free(ft);
	mailimap_set_free(set);
	if (store_begin(store, 1, &txn) < 0)
		goto fail;
	for (it = res ? clist_begin(res) : NULL; it; it = clist_next(it)) {
		uint32_t uid = 0;
		const char *body = NULL;
		size_t blen = 0;

		item_of(clist_content(it), &uid, NULL, &body, &blen);
		if (uid < p[0].uid || uid > p[n - 1].uid || !body)
			continue;
		r = store_one(txn, im->cfg, im->commands_only, body, blen, uid,
			      im->mailbox);
		if (r < 0)
			goto fail;
		*stored += (size_t)r;
		got++;
	}
	if (got < want) {
		/* a mail vanished between the two FETCHes (expunged) */
		log_warn("IMAP %s: %zu of %zu mails in UIDs %" PRIu32 "..%"
			 PRIu32 " were not returned", im->mailbox, want - got,
			 want, p[0].uid, p[n - 1].uid);
	}
	if (state_put(im, txn, validity, p[n - 1].uid) < 0)
		goto fail;
	if (res)
		mailimap_fetch_list_free(res);
	return store_commit(txn);
fail:
	if (txn)
		store_abort(txn);
	if (res)
		mailimap_fetch_list_free(res);
	return -1;
}

static int
catch_up_mailbox(struct imap *im, struct store *store,
		 int (*stop)(void *ctx), void *ctx, size_t *stored)
{
	uint32_t validity, last, cur = im->m->imap_selection_info ?
		im->m->imap_selection_info->sel_uidvalidity : 0;
	struct pending *p = NULL;
	size_t n = 0, i = 0;
	int r = 0;

	if (state_get(im, store, &validity, &last) < 0)
		return -1;
	if (validity && validity != cur) {
		log_warn("IMAP %s: UIDVALIDITY changed (%" PRIu32 " -> %" PRIu32
			 "): syncing again, duplicates dropped by Message-ID",
			 im->mailbox, validity, cur);
		last = 0;
	}
	if (list_new(im, last, &p, &n) < 0)
		return -1;
	while (i < n) {
		size_t j = i, bytes = 0;

		while (j < n && j - i < IMAP_BATCH &&
		       (j == i || bytes + p[j].size <= IMAP_BATCH_BYTES)) {
			if (p[j].size <= MESSAGE_MAX_RAW)
				bytes += p[j].size;
			j++;
		}
		if (fetch_batch(im, store, cur, p + i, j - i, stored) < 0) {
			r = -1;
			break;
		}
		i = j;
		if (stop && stop(ctx))
			break;
	}
	if (!n && validity != cur && r == 0) {
		/* remember the (new) UIDVALIDITY even with nothing to fetch */
		struct store_txn *txn;
		if (store_begin(store, 1, &txn) < 0 ||
		    state_put(im, txn, cur, last) < 0 || store_commit(txn) < 0)
			r = -1;
	}
	free(p);
	return r;
}

int
imap_catch_up(struct imap *im, struct store *store, int (*stop)(void *ctx),
	      void *ctx, size_t *stored)
{
	*stored = 0;
	for (;;) {
		long next;

		if (catch_up_mailbox(im, store, stop, ctx, stored) < 0)
			return -1;
		if (!im->slices || (stop && stop(ctx)))
			return 0;
		next = newest_slice(im);
		if (next <= im->slice)
			return 0;
		/* finish every slice in between, then move on */
		log_info("IMAP: moving from %s to %s.%ld", im->mailbox,
			 im->base, im->slice + 1);
		if (open_slice(im, im->slice + 1) < 0)
			return -1;
	}
}

/* --- waiting ------------------------------------------------------- */

int
imap_idle_start(struct imap *im, int *buffered)
{
	int r = mailimap_idle(im->m);

	*buffered = 0;
	if (r != MAILIMAP_NO_ERROR)
		return log_error("IMAP IDLE in %s failed (%d)", im->mailbox, r);
	im->idling = 1;
	if (im->m->imap_stream && im->m->imap_stream->read_buffer_len > 0)
		*buffered = 1;
	return mailimap_idle_get_fd(im->m);
}

int
imap_idle_stop(struct imap *im)
{
	int r;

	if (!im->idling)
		return 0;
	im->idling = 0;
	r = mailimap_idle_done(im->m);
	if (r != MAILIMAP_NO_ERROR)
		return log_error("IMAP IDLE end in %s failed (%d)",
				 im->mailbox, r);
	return 0;
}

int
imap_noop(struct imap *im)
{
	int r = mailimap_noop(im->m);

	if (r != MAILIMAP_NO_ERROR)
		return log_error("IMAP NOOP in %s failed (%d)", im->mailbox, r);
	return 0;
}
