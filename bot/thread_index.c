/*
 * thread_index.c - the link records the threader walks: the write side
 * of threading in the "remember" stage.
 *
 * For every stored mail, thread_index_add() writes into STORE_DB_THREAD
 * a small binary record (id, date, sender, subject, tags and the ids it
 * links to), a reverse edge for every id it links to (stored or not),
 * and the keys of the series rule (git send-email Message-ID prefix;
 * sender + project + version + total + date) and of the version rule
 * (normalised bare subject -> version).  Nothing here resolves a link:
 * every record depends on its own mail only, so the index is the same
 * whatever order mails arrive in, and thread_reindex() can rebuild it
 * from the stored messages at any time.  bot/thread.c reads it.  The
 * key formats are in docs/state-format.md ("thread").
 */
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "be64.h"
#include "buf.h"
#include "log.h"
#include "message.h"
#include "store.h"
#include "thread.h"
#include "thread_index.h"

#define REC_VERSION 1
#define REC_HEAD 24 /* bytes before the first string */
#define REC_SUBJECT_MAX 2000
#define REC_NAME_MAX 500
#define REC_ADDR_MAX 500
#define REC_ID_MAX 0xffff
#define REC_MAX (1u << 20)
#define DATE_BIAS (UINT64_C(1) << 63)
#define HASH_PREFIX "sha256:"
#define HASH_PREFIX_LEN 7

/* --- byte helpers ---------------------------------------------------- */

void
tidx_put_be64(unsigned char *p, int64_t v)
{
	be64_put(p, (uint64_t)v ^ DATE_BIAS);
}

int64_t
tidx_get_be64(const unsigned char *p)
{
	return (int64_t)(be64_get(p) ^ DATE_BIAS);
}

static void
put_be32(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)(v >> 24);
	p[1] = (unsigned char)(v >> 16);
	p[2] = (unsigned char)(v >> 8);
	p[3] = (unsigned char)v;
}

uint32_t
tidx_get_be32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | p[3];
}

static unsigned
get_be16(const unsigned char *p)
{
	return (unsigned)p[0] << 8 | p[1];
}

/* --- keys ------------------------------------------------------------ */

void
tidx_key_init(struct tidx_key *k, const char *prefix)
{
	k->n = 0;
	k->over = 0;
	tidx_key_add(k, prefix, strlen(prefix));
}

void
tidx_key_add(struct tidx_key *k, const void *p, size_t n)
{
	if (k->over || n > TIDX_KEY_MAX - k->n) {
		k->over = 1;
		return;
	}
	memcpy(k->b + k->n, p, n);
	k->n += n;
}

void
tidx_key_addc(struct tidx_key *k, char c)
{
	tidx_key_add(k, &c, 1);
}

void
tidx_key_add_date(struct tidx_key *k, int64_t date)
{
	unsigned char b[8];

	tidx_put_be64(b, date);
	tidx_key_add(k, b, sizeof(b));
}

static int
sha256_hex(const void *p, size_t n, char *out, size_t *olen)
{
	static const char hex[] = "0123456789abcdef";
	unsigned char md[32];
	unsigned mdlen = 0;

	if (!EVP_Digest(p, n, md, &mdlen, EVP_sha256(), NULL) ||
	    mdlen != sizeof(md))
		return log_error("cannot compute a SHA-256 digest");
	memcpy(out, HASH_PREFIX, HASH_PREFIX_LEN);
	for (unsigned i = 0; i < mdlen; i++) {
		out[HASH_PREFIX_LEN + 2 * i] = hex[md[i] >> 4];
		out[HASH_PREFIX_LEN + 2 * i + 1] = hex[md[i] & 15];
	}
	*olen = HASH_PREFIX_LEN + 2 * mdlen;
	out[*olen] = '\0';
	return 0;
}

/*
 * The short form of a long string inside keys: itself when it has 1 to
 * TIDX_PART_MAX bytes and cannot be mistaken for a hash, else
 * "sha256:" and the hex digest of its bytes.  Two different strings
 * never share a short form (short of a SHA-256 collision).
 */
int
tidx_part(const char *s, size_t len, struct tidx_part *out)
{
	if (len > 0 && len <= TIDX_PART_MAX &&
	    !(len >= HASH_PREFIX_LEN &&
	      !memcmp(s, HASH_PREFIX, HASH_PREFIX_LEN))) {
		memcpy(out->b, s, len);
		out->b[len] = '\0';
		out->n = len;
		return 0;
	}
	return sha256_hex(s, len, out->b, &out->n);
}

/*
 * git send-email's Message-ID "<DATE.PID-K-user@host>" (git >= 1.7.?)
 * or "<SECONDS-PID-K-git-send-email-user@host>" (older): the series
 * part is the id without "-K", the same for every mail one run sent.
 * Returns 1 and fills *out, 0 when id is not of either form.
 */
static size_t
digits(const char *p)
{
	size_t n = 0;

	while (p[n] >= '0' && p[n] <= '9')
		n++;
	return n;
}

int
tidx_gse_series(const char *id, struct tidx_part *out)
{
	static const char gse[] = "-git-send-email-";
	size_t d1 = digits(id), d2, d3, stamp;
	const char *rest;
	char buf[MESSAGE_MAX_ID + 1];

	if (!strchr(id, '@'))
		return 0;
	if (d1 == 14 && id[14] == '.') {
		/* DATE.PID-K-rest */
		d2 = digits(id + 15);
		if (!d2 || id[15 + d2] != '-')
			return 0;
		stamp = 15 + d2;
		d3 = digits(id + stamp + 1);
		if (!d3 || id[stamp + 1 + d3] != '-')
			return 0;
		rest = id + stamp + 1 + d3 + 1;
	} else if (d1 >= 9 && id[d1] == '-') {
		/* SECONDS-PID-K-git-send-email-rest */
		d2 = digits(id + d1 + 1);
		if (!d2 || id[d1 + 1 + d2] != '-')
			return 0;
		stamp = d1 + 1 + d2;
		d3 = digits(id + stamp + 1);
		if (!d3 || strncmp(id + stamp + 1 + d3, gse, sizeof(gse) - 1))
			return 0;
		rest = id + stamp + 1 + d3 + 1;
	} else {
		return 0;
	}
	if (!*rest || !strchr(rest, '@'))
		return 0;
	size_t rlen = strlen(rest);

	if (stamp + 1 + rlen > MESSAGE_MAX_ID)
		return 0;
	memcpy(buf, id, stamp);
	buf[stamp] = '-';
	memcpy(buf + stamp + 1, rest, rlen);
	return tidx_part(buf, stamp + 1 + rlen, out) < 0 ? -1 : 1;
}

/*
 * The version key of a subject: its bare subject (message_subject_parse)
 * with ASCII letters lowercased, blank runs made one space, ends
 * trimmed.  Returns 1 and fills *out, 0 when nothing is left.
 */
int
tidx_subject_key(const char *subject, struct tidx_part *out)
{
	struct subject_tags tags;
	char *bare = message_subject_parse(subject, &tags);
	size_t n = 0;
	int space = 0, r;

	if (!bare)
		return log_error("out of memory");
	for (char *p = bare; *p; p++) {
		unsigned char c = (unsigned char)*p;

		if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
			space = n > 0;
			continue;
		}
		if (space)
			bare[n++] = ' ';
		space = 0;
		bare[n++] = (char)(c >= 'A' && c <= 'Z' ? c + 32 : c);
	}
	bare[n] = '\0';
	r = n ? tidx_part(bare, n, out) : 0;
	free(bare);
	return r < 0 ? -1 : n ? 1 : 0;
}

/* --- the record ------------------------------------------------------ */

/* Length of s cut to at most max bytes without splitting a UTF-8 char. */
static size_t
cut_utf8(const char *s, size_t max)
{
	size_t n = strlen(s);

	if (n <= max)
		return n;
	n = max;
	while (n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80)
		n--;
	return n;
}

/* The stored (and keyed) length of a sender address. */
static size_t
addr_len(const char *addr)
{
	return cut_utf8(addr, REC_ADDR_MAX);
}

static int
rec_str(struct buf *b, const char *s, size_t n)
{
	unsigned char len[2];

	if (n > REC_ID_MAX)
		return -1;
	len[0] = (unsigned char)(n >> 8);
	len[1] = (unsigned char)n;
	return buf_add(b, len, 2) || buf_add(b, s, n) ? -1 : 0;
}

static unsigned
tag_bits(const struct subject_tags *t)
{
	return (t->reply ? TIDX_TAG_REPLY : 0) |
	       (t->forward ? TIDX_TAG_FORWARD : 0) |
	       (t->patch ? TIDX_TAG_PATCH : 0) | (t->rfc ? TIDX_TAG_RFC : 0) |
	       (t->resend ? TIDX_TAG_RESEND : 0) |
	       (t->pull ? TIDX_TAG_PULL : 0) |
	       (t->syzbot ? TIDX_TAG_SYZBOT : 0);
}

static int
rec_encode(struct buf *b, const struct message *msg, const char **links,
	   size_t n_links, int has_irt, size_t subject_len)
{
	unsigned char head[REC_HEAD];
	unsigned bits = tag_bits(&msg->tags);
	size_t plen = strnlen(msg->tags.project, sizeof(msg->tags.project));

	head[0] = REC_VERSION;
	head[1] = (unsigned char)((n_links ? 0 : TIDX_REC_UNTHREADED) |
				  (has_irt ? TIDX_REC_IRT_FIRST : 0));
	head[2] = (unsigned char)(bits >> 8);
	head[3] = (unsigned char)bits;
	tidx_put_be64(head + 4, msg->date);
	put_be32(head + 12, (uint32_t)msg->tags.version);
	put_be32(head + 16, (uint32_t)msg->tags.index);
	put_be32(head + 20, (uint32_t)msg->tags.total);
	if (buf_add(b, head, sizeof(head)) ||
	    rec_str(b, msg->message_id, strlen(msg->message_id)) ||
	    rec_str(b, msg->from_addr, addr_len(msg->from_addr)) ||
	    rec_str(b, msg->from_name,
		    cut_utf8(msg->from_name, REC_NAME_MAX)) ||
	    rec_str(b, msg->subject, subject_len) ||
	    rec_str(b, msg->tags.project, plen))
		return -1;
	unsigned char cnt[2] = {(unsigned char)(n_links >> 8),
				(unsigned char)n_links};
	if (buf_add(b, cnt, 2))
		return -1;
	for (size_t i = 0; i < n_links; i++)
		if (rec_str(b, links[i], strlen(links[i])))
			return -1;
	return 0;
}

static int
span_at(const unsigned char **pos, const unsigned char *end,
	struct tidx_span *s)
{
	size_t n;

	if (end - *pos < 2)
		return -1;
	n = get_be16(*pos);
	if ((size_t)(end - *pos - 2) < n)
		return -1;
	s->p = (const char *)*pos + 2;
	s->n = n;
	*pos += 2 + n;
	return 0;
}

int
tidx_rec_decode(const void *val, size_t len, struct tidx_rec *r)
{
	const unsigned char *p = val, *end = p + len;
	struct tidx_span s;

	memset(r, 0, sizeof(*r));
	if (len < REC_HEAD + 12 || p[0] != REC_VERSION)
		return -1;
	r->flags = p[1];
	r->tags = get_be16(p + 2);
	r->date = tidx_get_be64(p + 4);
	r->version = (int32_t)tidx_get_be32(p + 12);
	r->index = (int32_t)tidx_get_be32(p + 16);
	r->total = (int32_t)tidx_get_be32(p + 20);
	p += REC_HEAD;
	if (span_at(&p, end, &r->id) || span_at(&p, end, &r->addr) ||
	    span_at(&p, end, &r->name) || span_at(&p, end, &r->subject) ||
	    span_at(&p, end, &r->project) || r->id.n == 0 ||
	    r->project.n >= sizeof(((struct subject_tags *)0)->project) ||
	    end - p < 2)
		return -1;
	r->n_links = get_be16(p);
	p += 2;
	r->links = p;
	r->end = end;
	/* Check every link now, so that tidx_rec_link() cannot fail. */
	for (size_t i = 0; i < r->n_links; i++)
		if (span_at(&p, end, &s) || s.n == 0)
			return -1;
	if (p != end)
		return -1;
	if ((r->flags & TIDX_REC_UNTHREADED) != (r->n_links ? 0 : 1u))
		return -1;
	return 0;
}

void
tidx_rec_link(const unsigned char **pos, const struct tidx_rec *r,
	      struct tidx_span *s)
{
	span_at(pos, r->end, s);
}

/* --- META ------------------------------------------------------------ */

/*
 * 1 when the store's thread index is complete, 0 when the store has no
 * messages (nothing to thread), -1 (logged) when the index is missing
 * or stale.
 */
int
tidx_check(struct store_txn *txn)
{
	const void *val;
	size_t vlen;
	struct store_stats st;
	int r = store_kv_get(txn, STORE_DB_META, TIDX_META_KEY,
			     sizeof(TIDX_META_KEY) - 1, &val, &vlen);

	if (r < 0)
		return -1;
	if (r == 0 && vlen == 1 && *(const char *)val == '1')
		return 1;
	if (store_stats(txn, &st) < 0)
		return -1;
	if (st.messages == 0)
		return 0;
	return log_error("the store has no complete thread index (its mail "
			 "was imported by a kvmarm-bot without threading); "
			 "run 'kvmarm-bot reindex' once to build it");
}

static int
meta_put(struct store_txn *txn, const char *value)
{
	return store_kv_put(txn, STORE_DB_META, TIDX_META_KEY,
			    sizeof(TIDX_META_KEY) - 1, value, strlen(value));
}

/* --- writing one mail's keys ----------------------------------------- */

static int
put_key(struct store_txn *txn, const struct tidx_key *k, const void *val,
	size_t vlen)
{
	if (k->over)
		return log_error("thread index key too long");
	return store_kv_put(txn, STORE_DB_THREAD, k->b, k->n, val, vlen);
}

static int
index_series(struct store_txn *txn, const struct message *msg,
	     const struct tidx_part *mk, int unthreaded, size_t subject_len)
{
	const char flag = unthreaded ? 'u' : 't';
	const struct subject_tags *t = &msg->tags;
	struct tidx_part part;
	struct tidx_key k;
	int r, gse;

	if (t->reply || t->forward)
		return 0;
	/* Rule 2a: one git send-email run. */
	gse = r = tidx_gse_series(msg->message_id, &part);
	if (r < 0)
		return -1;
	if (r) {
		tidx_key_init(&k, TIDX_PFX_GSE);
		tidx_key_add(&k, part.b, part.n);
		tidx_key_addc(&k, '\0');
		tidx_key_add(&k, mk->b, mk->n);
		if (put_key(txn, &k, &flag, 1) < 0)
			return -1;
	}
	/* Rule 2b: sender, project, version, total, date. */
	if (t->total >= 1 && t->index >= 0 && msg->date != 0 &&
	    *msg->from_addr) {
		const char bits =
		    (char)('@' |
			   (unthreaded && t->index >= 1 ? TIDX_SERIES_LOOSE
							: 0) |
			   (gse ? TIDX_SERIES_GSE : 0));
		char vt[32];
		int n = snprintf(vt, sizeof(vt), "%d/%d", t->version, t->total);

		if (tidx_part(msg->from_addr, addr_len(msg->from_addr), &part) <
		    0)
			return -1;
		tidx_key_init(&k, TIDX_PFX_AUTHOR);
		tidx_key_add(&k, part.b, part.n);
		tidx_key_addc(&k, '\0');
		tidx_key_add(&k, t->project,
			     strnlen(t->project, sizeof(t->project)));
		tidx_key_addc(&k, '\0');
		tidx_key_add(&k, vt, (size_t)n);
		tidx_key_addc(&k, '\0');
		tidx_key_add_date(&k, msg->date);
		tidx_key_add(&k, mk->b, mk->n);
		if (put_key(txn, &k, &bits, 1) < 0)
			return -1;
		/* Loose patches again under l:, for the walks of the rest. */
		if (bits & TIDX_SERIES_LOOSE) {
			memcpy(k.b, TIDX_PFX_LOOSE, 2);
			if (put_key(txn, &k, &bits, 1) < 0)
				return -1;
		}
	}
	/* Rule 4: versions, keyed by the cover's or first patch's subject. */
	if ((t->patch || t->rfc) && t->index >= -1 && t->index <= 1) {
		unsigned char val[12], ver[4];
		char *subj = strndup(msg->subject, subject_len);

		if (!subj)
			return log_error("out of memory");
		r = tidx_subject_key(subj, &part);
		free(subj);
		if (r <= 0)
			return r;
		tidx_key_init(&k, TIDX_PFX_VERSION);
		tidx_key_add(&k, part.b, part.n);
		tidx_key_addc(&k, '\0');
		put_be32(ver, (uint32_t)(t->version < 0 ? 0 : t->version));
		tidx_key_add(&k, ver, sizeof(ver));
		tidx_key_add(&k, mk->b, mk->n);
		tidx_put_be64(val, msg->date);
		put_be32(val + 8, (uint32_t)t->index);
		if (put_key(txn, &k, val, sizeof(val)) < 0)
			return -1;
	}
	return 0;
}

static int
index_message(struct store_txn *txn, const struct message *msg)
{
	const char *id = msg->message_id;
	const char *irt = msg->in_reply_to ? msg->in_reply_to : "";
	const char **links;
	size_t n_links = 0, subject_len;
	struct tidx_part mk, lk;
	struct tidx_key k;
	struct buf rec;
	int has_irt = 0, r = -1;

	if (!id || !*id || strlen(id) > REC_ID_MAX)
		return log_error("cannot thread a mail without a usable "
				 "message-id");
	if (!msg->from_addr || !msg->from_name || !msg->subject)
		return log_error("cannot thread an incomplete record <%s>", id);
	links = calloc(msg->n_references + 1, sizeof(*links));
	if (!links)
		return log_error("out of memory");
	/* In-Reply-To first, then References; never the mail itself. */
	if (*irt && strcmp(irt, id) && strlen(irt) <= MESSAGE_MAX_ID) {
		links[n_links++] = irt;
		has_irt = 1;
	}
	for (size_t i = 0; i < msg->n_references; i++) {
		const char *ref = msg->references[i];

		if (ref && *ref && strcmp(ref, id) && strcmp(ref, irt) &&
		    strlen(ref) <= MESSAGE_MAX_ID && n_links < 0xffff)
			links[n_links++] = ref;
	}
	subject_len = cut_utf8(msg->subject, REC_SUBJECT_MAX);
	buf_init(&rec, REC_MAX);
	if (tidx_part(id, strlen(id), &mk) < 0)
		goto out;
	if (rec_encode(&rec, msg, links, n_links, has_irt, subject_len) < 0) {
		log_error("thread record of <%s> too large", id);
		goto out;
	}
	tidx_key_init(&k, TIDX_PFX_REC);
	tidx_key_add(&k, mk.b, mk.n);
	if (put_key(txn, &k, rec.data, rec.len) < 0)
		goto out;
	for (size_t i = 0; i < n_links; i++) {
		if (tidx_part(links[i], strlen(links[i]), &lk) < 0)
			goto out;
		tidx_key_init(&k, TIDX_PFX_EDGE);
		tidx_key_add(&k, lk.b, lk.n);
		tidx_key_addc(&k, '\0');
		tidx_key_add(&k, mk.b, mk.n);
		if (put_key(txn, &k, "", 0) < 0)
			goto out;
	}
	r = index_series(txn, msg, &mk, n_links == 0, subject_len);
out:
	buf_release(&rec);
	free(links);
	return r;
}

int
thread_index_add(struct store_txn *txn, const struct message *msg)
{
	const void *val;
	size_t vlen;
	int r = store_kv_get(txn, STORE_DB_META, TIDX_META_KEY,
			     sizeof(TIDX_META_KEY) - 1, &val, &vlen);

	if (r < 0)
		return -1;
	if (r == 1) {
		struct store_stats st;

		/*
		 * No marker yet.  In a new store this mail is the only
		 * one; in a store filled before threading existed the
		 * others have no records, and the marker says so until
		 * `reindex` rebuilds everything.
		 */
		if (store_stats(txn, &st) < 0)
			return -1;
		if (st.messages > 1)
			log_warn("this store was filled without a thread "
				 "index; run 'kvmarm-bot reindex' once");
		if (meta_put(txn, st.messages > 1 ? "0" : "1") < 0)
			return -1;
	}
	return index_message(txn, msg);
}

/* --- reindex --------------------------------------------------------- */

#define WIPE_BATCH 4096

struct wipe {
	char *keys[WIPE_BATCH];
	size_t lens[WIPE_BATCH];
	size_t n;
	int oom;
};

static int
wipe_collect(const void *key, size_t klen, const void *val, size_t vlen,
	     void *ctx)
{
	struct wipe *w = ctx;

	if (!(w->keys[w->n] = malloc(klen ? klen : 1))) {
		w->oom = 1;
		return 1;
	}
	memcpy(w->keys[w->n], key, klen);
	w->lens[w->n++] = klen;
	return w->n == WIPE_BATCH;
}

struct reindex {
	struct store_txn *txn;
	uint64_t done, unreadable;
	int err;
};

static int
reindex_one(const void *key, size_t klen, const void *val, size_t vlen,
	    void *ctx)
{
	struct reindex *ri = ctx;
	struct message m;

	if (message_from_json(val, vlen, &m) < 0) {
		ri->unreadable++;
		return 0;
	}
	if (index_message(ri->txn, &m) < 0) {
		message_release(&m);
		ri->err = 1;
		return 1;
	}
	message_release(&m);
	ri->done++;
	return 0;
}

int
thread_reindex(struct store_txn *txn)
{
	struct reindex ri = {.txn = txn};
	struct wipe *w = calloc(1, sizeof(*w));
	int r;

	if (!w)
		return log_error("out of memory");
	/* Delete in batches: LMDB cursors do not like deletes under them. */
	for (;;) {
		w->n = 0;
		r = store_kv_foreach(txn, STORE_DB_THREAD, NULL, 0,
				     wipe_collect, w);
		for (size_t i = 0; i < w->n; i++) {
			if (r >= 0 && !w->oom &&
			    store_kv_del(txn, STORE_DB_THREAD, w->keys[i],
					 w->lens[i]) < 0)
				r = -1;
			free(w->keys[i]);
		}
		if (w->oom) {
			free(w);
			return log_error("out of memory");
		}
		if (r < 0) {
			free(w);
			return -1;
		}
		if (w->n < WIPE_BATCH)
			break;
	}
	free(w);
	r = store_kv_foreach(txn, STORE_DB_MSG, NULL, 0, reindex_one, &ri);
	if (r < 0 || ri.err)
		return -1;
	if (ri.unreadable)
		log_warn("%" PRIu64 " unreadable message record(s) left out of "
			 "the thread index",
			 ri.unreadable);
	log_info("thread index rebuilt for %" PRIu64 " message(s)", ri.done);
	return meta_put(txn, "1");
}
