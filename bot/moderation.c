/*
 * moderation.c - mail held for the maintainers' decision.
 *
 * A held item is a small JSON record in STORE_DB_MODERATION; this
 * module stores and loads it, checks and applies the moderators'
 * decisions (with the token that proves a mail answers the draft), and
 * applies a digest item's edits to a freshly built digest.  It sends
 * nothing: the caller hands an approved item to mailer_release() in
 * the same transaction.  Every decision, accepted or refused, goes to
 * the audit log (audit.h) before the caller commits.
 *
 * A record is read as hostile input (the state may be damaged or
 * hand-edited): one that does not parse, or breaks a limit below, is
 * refused with a log line and never acted on.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>
#include <openssl/evp.h>

#include "audit.h"
#include "charset.h"
#include "command.h"
#include "llmsum.h"
#include "log.h"
#include "moderation.h"

#define KEY_NEXT_ID	"next_id"
#define KEY_ITEM_PREFIX	"item:"
#define RECORD_VERSION	1

/* Limits on what a record may hold; a bigger one is corrupt. */
#define MAX_RECORD	(32u * 1024 * 1024)
#define MAX_THREADS	100000u
#define MAX_RCPT	10000u
#define MAX_RAW		(16u * 1024 * 1024)
#define MAX_STRING	(64u * 1024)	/* ids, addresses, reasons */
#define MAX_JSON_DEPTH	8
#define MAX_ID		999999999u	/* fits "%010u" and is easy to type */
#define TOKEN_GRACE	(24 * 3600)	/* token valid a day past deadline */

/* moderation_load(): the record is there but unusable. */
#define LOAD_CORRUPT	2

/* --- the record ----------------------------------------------------------- */

static void
strv_free(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

void
moderation_item_release(struct moderation_item *item)
{
	if (!item)
		return;
	free(item->decided_by);
	free(item->reason);
	free(item->draft_id);
	strv_free(item->threads, item->n_threads);
	for (size_t i = 0; i < item->n_edits; i++)
		free(item->edits[i].text);
	free(item->edits);
	free(item->message_id);
	free(item->raw);
	strv_free(item->rcpt, item->n_rcpt);
	memset(item, 0, sizeof(*item));
}

static const char *
kind_name(enum moderation_kind k)
{
	switch (k) {
	case MODERATION_DIGEST:
		return "digest";
	case MODERATION_REPLY:
		return "reply";
	}
	return NULL;
}

static const char *
state_name(enum moderation_state s)
{
	switch (s) {
	case MODERATION_HELD:
		return "held";
	case MODERATION_APPROVED:
		return "approved";
	case MODERATION_REJECTED:
		return "rejected";
	case MODERATION_EXPIRED:
		return "expired";
	}
	return NULL;
}

static const char *
action_name(enum moderation_action a)
{
	switch (a) {
	case MODERATION_APPROVE:
		return "approve";
	case MODERATION_REJECT:
		return "reject";
	case MODERATION_DROP:
		return "drop";
	case MODERATION_FIX:
		return "fix";
	case MODERATION_REGENERATE:
		return "regenerate";
	}
	return NULL;
}

static int
item_key(unsigned id, char *out, size_t outsz)
{
	return snprintf(out, outsz, KEY_ITEM_PREFIX "%010u", id);
}

/* json-c building: every failure sets *err and the caller gives up. */
static void
jadd(struct json_object *o, const char *key, struct json_object *v, int *err)
{
	if (!v || json_object_object_add(o, key, v) < 0) {
		json_object_put(v);
		*err = 1;
	}
}

static struct json_object *
jstr(const char *s)
{
	return json_object_new_string(s ? s : "");
}

static struct json_object *
jstrv(char *const *v, size_t n, int *err)
{
	struct json_object *a = json_object_new_array();

	for (size_t i = 0; a && i < n; i++) {
		struct json_object *s = jstr(v[i]);

		if (!s || json_object_array_add(a, s) < 0) {
			json_object_put(s);
			*err = 1;
		}
	}
	if (!a)
		*err = 1;
	return a;
}

static struct json_object *
jraw(const char *raw, size_t len, int *err)
{
	struct json_object *s;
	unsigned char *enc;

	if (len > MAX_RAW) {
		*err = 1;
		return NULL;
	}
	enc = malloc(4 * ((len + 2) / 3) + 1);
	if (!enc) {
		*err = 1;
		return NULL;
	}
	EVP_EncodeBlock(enc, (const unsigned char *)(raw ? raw : ""),
			(int)len);
	s = json_object_new_string((char *)enc);
	free(enc);
	return s;
}

static struct json_object *
item_to_json(const struct moderation_item *it)
{
	struct json_object *o = json_object_new_object();
	int err = !o;

	if (err)
		return NULL;
	jadd(o, "v", json_object_new_int(RECORD_VERSION), &err);
	jadd(o, "id", json_object_new_int64(it->id), &err);
	jadd(o, "kind", jstr(kind_name(it->kind)), &err);
	jadd(o, "state", jstr(state_name(it->state)), &err);
	jadd(o, "created", json_object_new_int64(it->created), &err);
	jadd(o, "deadline", json_object_new_int64(it->deadline), &err);
	jadd(o, "reminded", json_object_new_int64(it->reminded), &err);
	jadd(o, "decided", json_object_new_int64(it->decided), &err);
	jadd(o, "decided_by", jstr(it->decided_by), &err);
	jadd(o, "reason", jstr(it->reason), &err);
	jadd(o, "draft_id", jstr(it->draft_id), &err);
	if (it->kind == MODERATION_DIGEST) {
		struct json_object *edits = json_object_new_array();

		jadd(o, "since", json_object_new_int64(it->since), &err);
		jadd(o, "until", json_object_new_int64(it->until), &err);
		jadd(o, "threads", jstrv(it->threads, it->n_threads, &err),
		     &err);
		for (size_t i = 0; edits && i < it->n_edits; i++) {
			const struct moderation_edit *e = &it->edits[i];
			struct json_object *eo = json_object_new_object();

			if (!eo) {
				err = 1;
				break;
			}
			jadd(eo, "n", json_object_new_int64(e->n), &err);
			jadd(eo, "what", jstr(action_name(e->what)), &err);
			if (e->what == MODERATION_FIX)
				jadd(eo, "text", jstr(e->text), &err);
			if (json_object_array_add(edits, eo) < 0) {
				json_object_put(eo);
				err = 1;
			}
		}
		jadd(o, "edits", edits, &err);
	} else {
		jadd(o, "message_id", jstr(it->message_id), &err);
		jadd(o, "raw", jraw(it->raw, it->raw_len, &err), &err);
		jadd(o, "rcpt", jstrv(it->rcpt, it->n_rcpt, &err), &err);
	}
	if (err) {
		json_object_put(o);
		return NULL;
	}
	return o;
}

/* Reading: each helper returns 0, or -1 when the field is bad. */
static int
get_int(struct json_object *o, const char *key, int64_t *out)
{
	struct json_object *v;

	if (!json_object_object_get_ex(o, key, &v) ||
	    !json_object_is_type(v, json_type_int))
		return -1;
	errno = 0;
	*out = json_object_get_int64(v);
	return errno ? -1 : 0;
}

static int
get_str(struct json_object *o, const char *key, size_t max, char **out)
{
	struct json_object *v;
	const char *s;
	int len;

	if (!json_object_object_get_ex(o, key, &v) ||
	    !json_object_is_type(v, json_type_string))
		return -1;
	s = json_object_get_string(v);
	len = json_object_get_string_len(v);
	/* An embedded NUL would make the C string say less than the record. */
	if (len < 0 || (size_t)len > max || strlen(s) != (size_t)len)
		return -1;
	*out = strdup(s);
	return *out ? 0 : -1;
}

static int
get_strv(struct json_object *o, const char *key, size_t max_n, char ***out,
	 size_t *n)
{
	struct json_object *a;
	size_t len;

	if (!json_object_object_get_ex(o, key, &a) ||
	    !json_object_is_type(a, json_type_array))
		return -1;
	len = json_object_array_length(a);
	if (len > max_n)
		return -1;
	*out = calloc(len ? len : 1, sizeof(**out));
	if (!*out)
		return -1;
	for (size_t i = 0; i < len; i++) {
		struct json_object *s = json_object_array_get_idx(a, i);
		int sl;

		if (!json_object_is_type(s, json_type_string))
			return -1;
		sl = json_object_get_string_len(s);
		if (sl <= 0 || (size_t)sl > MAX_STRING ||
		    strlen(json_object_get_string(s)) != (size_t)sl)
			return -1;
		(*out)[i] = strdup(json_object_get_string(s));
		if (!(*out)[i])
			return -1;
		*n = i + 1;
	}
	return 0;
}

static int
get_raw(struct json_object *o, struct moderation_item *it)
{
	struct json_object *v;
	const char *s;
	size_t len, pad = 0;
	int n;

	if (!json_object_object_get_ex(o, "raw", &v) ||
	    !json_object_is_type(v, json_type_string))
		return -1;
	s = json_object_get_string(v);
	len = (size_t)json_object_get_string_len(v);
	if (len % 4 || len / 4 * 3 > MAX_RAW)
		return -1;
	it->raw = malloc(len / 4 * 3 + 1);
	if (!it->raw)
		return -1;
	n = EVP_DecodeBlock((unsigned char *)it->raw,
			    (const unsigned char *)s, (int)len);
	if (n < 0)
		return -1;
	/* EVP_DecodeBlock counts the zero bytes the padding stands for. */
	if (len >= 1 && s[len - 1] == '=')
		pad++;
	if (len >= 2 && s[len - 2] == '=')
		pad++;
	it->raw_len = (size_t)n - pad;
	it->raw[it->raw_len] = '\0';
	return 0;
}

static int
parse_kind(const char *s, enum moderation_kind *k)
{
	if (!strcmp(s, "digest"))
		*k = MODERATION_DIGEST;
	else if (!strcmp(s, "reply"))
		*k = MODERATION_REPLY;
	else
		return -1;
	return 0;
}

static int
parse_state(const char *s, enum moderation_state *st)
{
	static const enum moderation_state all[] = {
	    MODERATION_HELD, MODERATION_APPROVED, MODERATION_REJECTED,
	    MODERATION_EXPIRED};

	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
		if (!strcmp(s, state_name(all[i]))) {
			*st = all[i];
			return 0;
		}
	return -1;
}

static int
get_edits(struct json_object *o, struct moderation_item *it)
{
	struct json_object *a;
	size_t len;

	if (!json_object_object_get_ex(o, "edits", &a) ||
	    !json_object_is_type(a, json_type_array))
		return -1;
	len = json_object_array_length(a);
	/* One edit per item number at most: later ones replace. */
	if (len > it->n_threads)
		return -1;
	it->edits = calloc(len ? len : 1, sizeof(*it->edits));
	if (!it->edits)
		return -1;
	for (size_t i = 0; i < len; i++) {
		struct json_object *eo = json_object_array_get_idx(a, i);
		struct moderation_edit *e = &it->edits[i];
		char *what = NULL;
		int64_t n;

		if (!json_object_is_type(eo, json_type_object) ||
		    get_int(eo, "n", &n) < 0 || n < 1 ||
		    (uint64_t)n > it->n_threads ||
		    get_str(eo, "what", 16, &what) < 0)
			return -1;
		it->n_edits = i + 1;
		e->n = (unsigned)n;
		if (!strcmp(what, "drop"))
			e->what = MODERATION_DROP;
		else if (!strcmp(what, "regenerate"))
			e->what = MODERATION_REGENERATE;
		else if (!strcmp(what, "fix"))
			e->what = MODERATION_FIX;
		else
			e->what = MODERATION_APPROVE;	/* refused below */
		free(what);
		if (e->what == MODERATION_APPROVE)
			return -1;
		if (e->what == MODERATION_FIX &&
		    (get_str(eo, "text", COMMAND_MAX_TEXT, &e->text) < 0 ||
		     !charset_utf8_valid(e->text, strlen(e->text))))
			return -1;
		for (size_t j = 0; j < i; j++)
			if (it->edits[j].n == e->n)
				return -1;
	}
	return 0;
}

/* 0, or -1 when the record is not a valid item (nothing logged). */
static int
item_from_json(struct json_object *o, struct moderation_item *it)
{
	char *s = NULL;
	int64_t v, id;
	int r;

	memset(it, 0, sizeof(*it));
	if (!json_object_is_type(o, json_type_object) ||
	    get_int(o, "v", &v) < 0 || v != RECORD_VERSION ||
	    get_int(o, "id", &id) < 0 || id < 1 || id > MAX_ID)
		return -1;
	it->id = (unsigned)id;
	if (get_str(o, "kind", 16, &s) < 0)
		return -1;
	r = parse_kind(s, &it->kind);
	free(s);
	s = NULL;
	if (r < 0 || get_str(o, "state", 16, &s) < 0)
		return -1;
	r = parse_state(s, &it->state);
	free(s);
	if (r < 0 ||
	    get_int(o, "created", &it->created) < 0 ||
	    get_int(o, "deadline", &it->deadline) < 0 ||
	    get_int(o, "reminded", &it->reminded) < 0 ||
	    get_int(o, "decided", &it->decided) < 0 ||
	    get_str(o, "decided_by", MAX_STRING, &it->decided_by) < 0 ||
	    get_str(o, "reason", MAX_STRING, &it->reason) < 0 ||
	    get_str(o, "draft_id", MAX_STRING, &it->draft_id) < 0)
		return -1;
	if (it->kind == MODERATION_DIGEST)
		return get_int(o, "since", &it->since) < 0 ||
		       get_int(o, "until", &it->until) < 0 ||
		       it->since >= it->until ||
		       get_strv(o, "threads", MAX_THREADS, &it->threads,
				&it->n_threads) < 0 ||
		       get_edits(o, it) < 0 ? -1 : 0;
	return get_str(o, "message_id", MAX_STRING, &it->message_id) < 0 ||
	       get_raw(o, it) < 0 ||
	       get_strv(o, "rcpt", MAX_RCPT, &it->rcpt, &it->n_rcpt) < 0
		   ? -1 : 0;
}

/*
 * Load item id: 0, 1 absent, LOAD_CORRUPT when the record is unusable
 * (logged), -1 on a store or memory error.
 */
static int
load(struct store_txn *txn, unsigned id, struct moderation_item *out)
{
	struct json_tokener *tok;
	struct json_object *o;
	char key[32];
	const void *val;
	size_t vlen;
	int r;

	memset(out, 0, sizeof(*out));
	item_key(id, key, sizeof(key));
	r = store_kv_get(txn, STORE_DB_MODERATION, key, strlen(key), &val,
			 &vlen);
	if (r != 0)
		return r;
	if (vlen > MAX_RECORD) {
		log_error("moderation item %u: record of %zu bytes refused",
			  id, vlen);
		return LOAD_CORRUPT;
	}
	tok = json_tokener_new_ex(MAX_JSON_DEPTH);
	if (!tok)
		return log_error("out of memory");
	o = json_tokener_parse_ex(tok, val, (int)vlen);
	r = json_tokener_get_error(tok) == json_tokener_success &&
	    json_tokener_get_parse_end(tok) == vlen;
	json_tokener_free(tok);
	if (!o || !r || item_from_json(o, out) < 0 || out->id != id) {
		json_object_put(o);
		moderation_item_release(out);
		log_error("moderation item %u: corrupt record refused", id);
		return LOAD_CORRUPT;
	}
	json_object_put(o);
	return 0;
}

int
moderation_get(struct store_txn *txn, unsigned id,
	       struct moderation_item *out)
{
	int r = load(txn, id, out);

	return r == LOAD_CORRUPT ? -1 : r;
}

int
moderation_put(struct store_txn *txn, const struct moderation_item *item)
{
	struct json_object *o;
	const char *text;
	char key[32];
	int r;

	if (item->id < 1 || item->id > MAX_ID || !kind_name(item->kind) ||
	    !state_name(item->state))
		return log_error("moderation item %u: not a valid item",
				 item->id);
	if (item->kind == MODERATION_DIGEST &&
	    (item->n_threads > MAX_THREADS || item->n_edits > item->n_threads))
		return log_error("moderation item %u: too many threads",
				 item->id);
	if (item->kind == MODERATION_REPLY &&
	    (item->raw_len > MAX_RAW || item->n_rcpt > MAX_RCPT))
		return log_error("moderation item %u: held mail too large",
				 item->id);
	o = item_to_json(item);
	if (!o)
		return log_error("cannot encode moderation item %u: out of "
				 "memory", item->id);
	text = json_object_to_json_string_ext(
	    o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
	if (!text) {
		json_object_put(o);
		return log_error("out of memory");
	}
	item_key(item->id, key, sizeof(key));
	r = store_kv_put(txn, STORE_DB_MODERATION, key, strlen(key), text,
			 strlen(text));
	json_object_put(o);
	return r;
}

/* --- holding and listing -------------------------------------------------- */

struct ids {
	unsigned *v;
	size_t n, alloc;
};

static int
collect_id(const void *key, size_t klen, const void *val, size_t vlen,
	   void *ctx)
{
	struct ids *ids = ctx;
	const char *k = key;
	size_t plen = strlen(KEY_ITEM_PREFIX);
	unsigned long id = 0;

	if (klen < plen || memcmp(k, KEY_ITEM_PREFIX, plen))
		return 1;	/* past the items */
	if (klen != plen + 10) {
		log_warn("moderation: key of %zu bytes skipped", klen);
		return 0;
	}
	for (size_t i = plen; i < klen; i++) {
		if (k[i] < '0' || k[i] > '9') {
			log_warn("moderation: malformed item key skipped");
			return 0;
		}
		id = id * 10 + (unsigned long)(k[i] - '0');
	}
	if (id < 1 || id > MAX_ID) {
		log_warn("moderation: item key out of range skipped");
		return 0;
	}
	if (ids->n == ids->alloc) {
		size_t na = ids->alloc ? 2 * ids->alloc : 64;
		unsigned *nv = realloc(ids->v, na * sizeof(*nv));

		if (!nv)
			return log_error("out of memory");
		ids->v = nv;
		ids->alloc = na;
	}
	ids->v[ids->n++] = (unsigned)id;
	return 0;
}

/* The highest item id stored, 0 for none: 0, or -1 on error. */
static int
max_item_id(struct store_txn *txn, unsigned *out)
{
	struct ids ids = {0};

	*out = 0;
	if (store_kv_foreach(txn, STORE_DB_MODERATION, KEY_ITEM_PREFIX,
			     strlen(KEY_ITEM_PREFIX), collect_id, &ids) < 0) {
		free(ids.v);
		return -1;
	}
	for (size_t i = 0; i < ids.n; i++)
		if (ids.v[i] > *out)
			*out = ids.v[i];
	free(ids.v);
	return 0;
}

/*
 * The id for a new item: the "next_id" counter, unless it is damaged
 * or names an item that exists (a restored backup, a hand edit); then
 * one past the highest stored id, so no item is ever overwritten and
 * a bad counter cannot stop every later hold.
 */
static int
next_id(struct store_txn *txn, unsigned *out)
{
	const void *val;
	size_t vlen;
	char num[16], key[32], *end;
	unsigned long n = 0;
	unsigned max;
	int r;

	r = store_kv_get(txn, STORE_DB_MODERATION, KEY_NEXT_ID,
			 strlen(KEY_NEXT_ID), &val, &vlen);
	if (r < 0)
		return -1;
	if (r == 0 && vlen > 0 && vlen < sizeof(num)) {
		memcpy(num, val, vlen);
		num[vlen] = '\0';
		errno = 0;
		n = strtoul(num, &end, 10);
		if (errno || *end || num[0] < '1' || num[0] > '9' ||
		    n > MAX_ID)
			n = 0;
	}
	if (r == 0 && n == 0)
		log_warn("moderation: corrupt next_id ignored");
	if (r == 1)
		n = 1;
	if (n) {
		item_key((unsigned)n, key, sizeof(key));
		r = store_kv_get(txn, STORE_DB_MODERATION, key, strlen(key),
				 &val, &vlen);
		if (r < 0)
			return -1;
		if (r == 1) {
			*out = (unsigned)n;
			return 0;
		}
		log_warn("moderation: next_id %lu is taken; using the next "
			 "free id", n);
	}
	if (max_item_id(txn, &max) < 0)
		return -1;
	*out = max + 1;
	return 0;
}

static int
dup_or_empty(char **field)
{
	if (*field)
		return 0;
	*field = strdup("");
	return *field ? 0 : log_error("out of memory");
}

int
moderation_hold(struct store_txn *txn, const struct config *cfg,
		struct moderation_item *item, int64_t now)
{
	char num[16];
	unsigned id = 0;
	int r;

	if (!kind_name(item->kind))
		return log_error("moderation: unknown item kind");
	if (item->kind == MODERATION_DIGEST && item->since >= item->until)
		return log_error("moderation: empty digest window");
	if (item->kind == MODERATION_REPLY && (!item->raw || !item->n_rcpt))
		return log_error("moderation: held reply without mail or "
				 "recipients");
	if (next_id(txn, &id) < 0)
		return -1;
	if (id >= MAX_ID)
		return log_error("moderation: no item id left");
	/* A held item starts with nothing decided, whatever was passed. */
	free(item->decided_by);
	free(item->reason);
	item->decided_by = strdup("");
	item->reason = strdup("");
	if (!item->decided_by || !item->reason ||
	    dup_or_empty(&item->draft_id) < 0 ||
	    (item->kind == MODERATION_REPLY &&
	     dup_or_empty(&item->message_id) < 0))
		return log_error("out of memory");
	item->id = id;
	item->state = MODERATION_HELD;
	item->created = now;
	item->deadline = now + (int64_t)cfg->moderation_deadline_hours * 3600;
	item->reminded = 0;
	item->decided = 0;
	r = moderation_put(txn, item);
	if (r < 0)
		return -1;
	snprintf(num, sizeof(num), "%u", id + 1);
	if (store_kv_put(txn, STORE_DB_MODERATION, KEY_NEXT_ID,
			 strlen(KEY_NEXT_ID), num, strlen(num)) < 0)
		return -1;
	log_info("moderation: item %u (%s) held until %lld", id,
		 kind_name(item->kind), (long long)item->deadline);
	return 0;
}

int
moderation_foreach(struct store_txn *txn, moderation_fn fn, void *ctx)
{
	struct ids ids = {0};
	int r;

	/*
	 * Ids first, items after: fn may write items in this transaction,
	 * which must not happen under an open walk of the same database.
	 */
	r = store_kv_foreach(txn, STORE_DB_MODERATION, KEY_ITEM_PREFIX,
			     strlen(KEY_ITEM_PREFIX), collect_id, &ids);
	if (r < 0) {
		free(ids.v);
		return -1;
	}
	r = 0;
	for (size_t i = 0; i < ids.n && r == 0; i++) {
		struct moderation_item it;
		int lr = load(txn, ids.v[i], &it);

		if (lr == LOAD_CORRUPT || lr == 1)
			continue;	/* logged; the others still count */
		if (lr < 0) {
			r = -1;
			break;
		}
		r = fn(&it, ctx);
		moderation_item_release(&it);
	}
	free(ids.v);
	return r;
}

int
moderation_token(const struct config *cfg, const struct moderation_item *item,
		 char *out, size_t outsz)
{
	char purpose[TOKEN_PURPOSE_MAX + 1], subject[32];

	if (!cfg->token_secret || !*cfg->token_secret)
		return log_error("moderation needs token_secret in the "
				 "configuration");
	snprintf(purpose, sizeof(purpose), "mod-%u", item->id);
	snprintf(subject, sizeof(subject), "%lld", (long long)item->created);
	return token_make(cfg->token_secret, purpose, subject, item->created,
			  out, outsz);
}

/* --- decisions ------------------------------------------------------------ */

static const char *
check_token(const struct config *cfg, const struct moderation_item *it,
	    const char *token, int64_t now)
{
	char purpose[TOKEN_PURPOSE_MAX + 1], subject[32];
	int64_t max_age = it->deadline + TOKEN_GRACE - it->created;

	snprintf(purpose, sizeof(purpose), "mod-%u", it->id);
	snprintf(subject, sizeof(subject), "%lld", (long long)it->created);
	switch (token_check(cfg->token_secret ? cfg->token_secret : "",
			    purpose, subject, token, now,
			    max_age > 0 ? max_age : 0)) {
	case TOKEN_VALID:
		return NULL;
	case TOKEN_EXPIRED:
		return "expired token";
	default:
		return "wrong token";
	}
}

static const char *
not_held(enum moderation_state s)
{
	switch (s) {
	case MODERATION_APPROVED:
		return "item already approved";
	case MODERATION_REJECTED:
		return "item already rejected";
	case MODERATION_EXPIRED:
		return "item expired";
	default:
		return "item not held";
	}
}

/* Record edit (n, what, text); a later edit of the same n replaces. */
static int
add_edit(struct moderation_item *it, unsigned n, enum moderation_action what,
	 const char *text)
{
	struct moderation_edit *e = NULL;
	char *copy = NULL;

	if (what == MODERATION_FIX && !(copy = strdup(text)))
		return log_error("out of memory");
	for (size_t i = 0; i < it->n_edits; i++)
		if (it->edits[i].n == n)
			e = &it->edits[i];
	if (!e) {
		struct moderation_edit *nv =
		    realloc(it->edits, (it->n_edits + 1) * sizeof(*nv));

		if (!nv) {
			free(copy);
			return log_error("out of memory");
		}
		it->edits = nv;
		e = &it->edits[it->n_edits++];
		e->text = NULL;
	}
	free(e->text);
	e->n = n;
	e->what = what;
	e->text = copy;
	return 0;
}

/* Why the arguments of act are refused on item it, or NULL. */
static const char *
check_args(const struct moderation_item *it, enum moderation_action act,
	   unsigned n, const char *text)
{
	switch (act) {
	case MODERATION_APPROVE:
		return NULL;
	case MODERATION_REJECT:
		if (text && (strlen(text) > COMMAND_MAX_TEXT ||
			     !charset_utf8_valid(text, strlen(text))))
			return "reason too long or not UTF-8";
		return NULL;
	case MODERATION_DROP:
	case MODERATION_FIX:
	case MODERATION_REGENERATE:
		if (it->kind != MODERATION_DIGEST)
			return "item is not a digest";
		if (n < 1 || n > it->n_threads)
			return "no such item number";
		if (act != MODERATION_FIX)
			return NULL;
		if (!text || !*text)
			return "fix without text";
		if (strlen(text) > COMMAND_MAX_TEXT)
			return "fix text too long";
		if (!charset_utf8_valid(text, strlen(text)))
			return "fix text not UTF-8";
		return NULL;
	}
	return "unknown action";
}

int
moderation_decide(struct store_txn *txn, const struct config *cfg,
		  const char *state_dir, unsigned id, const char *token,
		  const char *actor, enum moderation_action act,
		  unsigned n, const char *text, int64_t now,
		  const char **why, struct moderation_item *out)
{
	const char *aname = action_name(act) ? action_name(act) : "unknown";
	const char *refused = NULL;
	struct moderation_item it;
	char detail[64];
	const char *d = NULL;
	int r;

	*why = NULL;
	if (out)
		memset(out, 0, sizeof(*out));
	if (!actor || !*actor)
		actor = "-";
	r = load(txn, id, &it);
	if (r < 0) {
		audit_log(state_dir, now, actor, aname, id, "error",
			  "cannot read the item");
		return -1;
	}
	if (r == 1)
		refused = "unknown item";
	else if (r == LOAD_CORRUPT)
		refused = "item record is unreadable";
	else if (token && (refused = check_token(cfg, &it, token, now)))
		;
	else if (it.state != MODERATION_HELD)
		refused = not_held(it.state);
	else
		refused = check_args(&it, act, n, text);
	if (refused) {
		*why = refused;
		log_info("moderation: %s %u by %s refused: %s", aname, id,
			 actor, refused);
		audit_log(state_dir, now, actor, aname, id, "refused",
			  refused);
		moderation_item_release(&it);
		return 1;
	}

	switch (act) {
	case MODERATION_APPROVE:
	case MODERATION_REJECT:
		free(it.decided_by);
		it.decided_by = strdup(actor);
		it.state = act == MODERATION_APPROVE ? MODERATION_APPROVED
						     : MODERATION_REJECTED;
		it.decided = now;
		if (act == MODERATION_REJECT) {
			free(it.reason);
			it.reason = strdup(text ? text : "");
			d = text && *text ? text : NULL;
		}
		r = it.decided_by && it.reason ? 0 : log_error("out of memory");
		break;
	default:
		r = add_edit(&it, n, act, text);
		if (r == 0 && act == MODERATION_REGENERATE)
			r = llmsum_forget(txn, it.threads[n - 1]);
		snprintf(detail, sizeof(detail), "<%u>", n);
		d = detail;
		break;
	}
	if (r == 0)
		r = moderation_put(txn, &it);
	if (r < 0) {
		audit_log(state_dir, now, actor, aname, id, "error", d);
		moderation_item_release(&it);
		return -1;
	}
	/* No decision stands without its audit line. */
	if (act == MODERATION_FIX) {
		struct buf b;

		buf_init(&b, 0);
		if (buf_addf(&b, "<%u> %s", n, text) < 0) {
			buf_release(&b);
			moderation_item_release(&it);
			return log_error("out of memory");
		}
		r = audit_log(state_dir, now, actor, aname, id, "ok", b.data);
		buf_release(&b);
	} else {
		r = audit_log(state_dir, now, actor, aname, id, "ok", d);
	}
	if (r < 0) {
		moderation_item_release(&it);
		return -1;
	}
	log_info("moderation: %s %u by %s", aname, id, actor);
	if (out)
		*out = it;
	else
		moderation_item_release(&it);
	return 0;
}

/* --- a digest item's edits ------------------------------------------------ */

struct held_ref {
	const char *root;
	unsigned n;
};

static int
cmp_ref(const void *a, const void *b)
{
	const struct held_ref *x = a, *y = b;
	int c = strcmp(x->root, y->root);

	if (c)
		return c;
	return x->n < y->n ? -1 : x->n > y->n;
}

static struct digest_thread *
find_item(struct digest *d, unsigned n)
{
	for (size_t i = 0; i < d->n_threads; i++)
		if (d->threads[i].item == n)
			return &d->threads[i];
	return NULL;
}

static int
regenerate(struct store_txn *txn, const struct digest_options *opt,
	   const struct digest *d, struct digest_thread *dt)
{
	struct summary_input in = {
	    .thread = &dt->thread,
	    .category = dt->category,
	    .status = &dt->status,
	    .since = d->since,
	    .until = d->until,
	    .lang = d->lang,
	    .list_name = d->list_name,
	};
	const char *root = dt->thread.root_id ? dt->thread.root_id : "?";
	char *text = NULL;
	int offline = 0;

	if (opt && opt->summarize &&
	    opt->summarize(opt->summarize_ctx, txn, &in, &text,
			   &offline) == 0 && text) {
		free(dt->summary);
		dt->summary = text;
		dt->summary_offline = offline ? 1 : 0;
		return 0;
	}
	free(text);
	text = NULL;
	if (opt && opt->summarize)
		log_warn("summarizer failed on thread '%s'; using the "
			 "offline summary", root);
	if (summary_offline(txn, &in, &text) < 0 || !text)
		return log_error("cannot summarize thread '%s'", root);
	free(dt->summary);
	dt->summary = text;
	dt->summary_offline = 1;
	return 0;
}

static void
drop_thread(struct digest *d, size_t i)
{
	struct digest_thread *dt = &d->threads[i];

	d->mails -= dt->n_window;
	d->large_threads -= dt->n_window > 20;
	d->cat_threads[dt->category]--;
	d->cat_mails[dt->category] -= dt->n_window;
	thread_release(&dt->thread);
	thread_status_release(&dt->status);
	free(dt->window);
	free(dt->summary);
	memmove(dt, dt + 1, (d->n_threads - i - 1) * sizeof(*dt));
	d->n_threads--;
	memset(&d->threads[d->n_threads], 0, sizeof(*dt));
}

int
moderation_apply_edits(struct store_txn *txn,
		       const struct moderation_item *item,
		       const struct digest_options *opt, struct digest *d)
{
	struct held_ref *refs;
	unsigned next = (unsigned)item->n_threads;

	if (item->kind != MODERATION_DIGEST)
		return log_error("moderation item %u is not a digest",
				 item->id);
	refs = malloc((item->n_threads ? item->n_threads : 1) * sizeof(*refs));
	if (!refs)
		return log_error("out of memory");
	for (size_t i = 0; i < item->n_threads; i++) {
		refs[i].root = item->threads[i];
		refs[i].n = (unsigned)i + 1;
	}
	qsort(refs, item->n_threads, sizeof(*refs), cmp_ref);

	/* The held numbers first; late threads after them, in order. */
	for (size_t i = 0; i < d->n_threads; i++) {
		struct digest_thread *dt = &d->threads[i];
		struct held_ref key = {dt->thread.root_id, 0}, *hit = NULL;
		size_t lo = 0, hi = item->n_threads;

		/* First entry >= (root, 0): the lowest number of root. */
		while (dt->thread.root_id && lo < hi) {
			size_t mid = lo + (hi - lo) / 2;

			if (cmp_ref(&refs[mid], &key) < 0)
				lo = mid + 1;
			else
				hi = mid;
		}
		if (dt->thread.root_id && lo < item->n_threads &&
		    !strcmp(refs[lo].root, key.root))
			hit = &refs[lo];
		dt->item = hit ? hit->n : ++next;
	}
	free(refs);
	d->numbered = 1;

	for (size_t i = 0; i < item->n_edits; i++) {
		const struct moderation_edit *e = &item->edits[i];
		struct digest_thread *dt = find_item(d, e->n);

		if (!dt) {
			log_warn("moderation item %u: <%u> is no longer in "
				 "the digest; its edit is skipped",
				 item->id, e->n);
			continue;
		}
		if (e->what == MODERATION_FIX) {
			char *t = strdup(e->text ? e->text : "");

			if (!t)
				return log_error("out of memory");
			free(dt->summary);
			dt->summary = t;
			dt->summary_offline = 0;
			dt->summary_edited = 1;
		} else if (e->what == MODERATION_REGENERATE) {
			if (regenerate(txn, opt, d, dt) < 0)
				return -1;
		}
	}
	/* Dropping last, so the numbers above still find their threads. */
	for (size_t i = 0; i < item->n_edits; i++) {
		struct digest_thread *dt;

		if (item->edits[i].what != MODERATION_DROP)
			continue;
		dt = find_item(d, item->edits[i].n);
		if (dt)
			drop_thread(d, (size_t)(dt - d->threads));
	}
	return 0;
}
