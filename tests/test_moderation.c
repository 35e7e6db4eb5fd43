/*
 * test_moderation.c - held items: ids, the record's round trip (edits,
 * a reply's raw bytes), corrupt records refused, decisions with right,
 * wrong and expired tokens and from the command line, the audit lines
 * they leave, edits replacing each other, the LLM cache forgotten on
 * `regenerate`, and a held digest's edits applied to a digest built
 * from a small mbox written here (numbers, drops, totals, rendering).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <json-c/json.h>

#include "buf.h"
#include "command.h"
#include "config.h"
#include "digest.h"
#include "import.h"
#include "llmsum.h"
#include "moderation.h"
#include "store.h"
#include "testutil.h"

/* 2025-09-15T09:00:00Z */
#define T0 1757926800
#define SECRET "moderation-test-secret"

struct fx {
	char *dir;
	struct store *store;
	struct config cfg;
};

static void
set(char **field, const char *v)
{
	free(*field);
	*field = strdup(v);
	assert_non_null(*field);
}

static struct fx *
fx_new(void)
{
	struct fx *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	f->dir = test_tmpdir("moderation");
	assert_non_null(f->dir);
	assert_int_equal(store_open(f->dir, STORE_OPEN_WRITE, &f->store), 0);
	assert_int_equal(config_init(&f->cfg), 0);
	set(&f->cfg.token_secret, SECRET);
	return f;
}

static void
fx_free(struct fx *f)
{
	store_close(f->store);
	config_release(&f->cfg);
	free(f->dir);
	free(f);
}

static struct store_txn *
begin(struct fx *f)
{
	struct store_txn *txn;

	assert_int_equal(store_begin(f->store, 1, &txn), 0);
	return txn;
}

static char **
strv(const char *const *v, size_t n)
{
	char **out = calloc(n ? n : 1, sizeof(*out));

	assert_non_null(out);
	for (size_t i = 0; i < n; i++) {
		out[i] = strdup(v[i]);
		assert_non_null(out[i]);
	}
	return out;
}

/* Hold a digest item of the demo week with the given thread roots. */
static unsigned
hold_digest(struct fx *f, struct store_txn *txn, const char *const *roots,
	    size_t n, int64_t now)
{
	struct moderation_item it = {0};
	unsigned id;

	it.kind = MODERATION_DIGEST;
	it.since = 1757289600;	/* 2025-09-08 */
	it.until = 1757894400;	/* 2025-09-15 */
	it.threads = strv(roots, n);
	it.n_threads = n;
	assert_int_equal(moderation_hold(txn, &f->cfg, &it, now), 0);
	id = it.id;
	moderation_item_release(&it);
	return id;
}

static const char *const roots3[] = {"a1@x", "b1@x", "c1@x"};

static char *
audit_text(struct fx *f)
{
	char path[4096];
	size_t len;

	snprintf(path, sizeof(path), "%s/audit.log", f->dir);
	return test_read_file(path, &len);
}

/* --- the record ----------------------------------------------------------- */

static void
test_moderation_hold_and_roundtrip(void **state)
{
	static const char raw[] = "From: bot@x\r\nSubject: Re: t\r\n\r\n"
				  "bin\0ary \xff\xfe text\r\n";
	static const char *const rcpt[] = {"alice@x", "list@x"};
	struct fx *f = fx_new();
	struct store_txn *txn = begin(f);
	struct moderation_item it = {0}, got;
	const void *val;
	size_t vlen;

	assert_int_equal(hold_digest(f, txn, roots3, 3, T0), 1);
	assert_int_equal(hold_digest(f, txn, roots3, 2, T0 + 1), 2);

	it.kind = MODERATION_REPLY;
	it.message_id = strdup("reply-1@bot.x");
	it.raw = malloc(sizeof(raw));
	assert_non_null(it.raw);
	memcpy(it.raw, raw, sizeof(raw));
	it.raw_len = sizeof(raw) - 1;
	it.rcpt = strv(rcpt, 2);
	it.n_rcpt = 2;
	assert_int_equal(moderation_hold(txn, &f->cfg, &it, T0 + 2), 0);
	assert_int_equal(it.id, 3);
	assert_int_equal(it.state, MODERATION_HELD);
	assert_int_equal(it.deadline, T0 + 2 + 48 * 3600);
	moderation_item_release(&it);

	assert_int_equal(store_kv_get(txn, STORE_DB_MODERATION, "next_id", 7,
				      &val, &vlen), 0);
	assert_int_equal(vlen, 1);
	assert_memory_equal(val, "4", 1);

	/* The reply's bytes come back exactly, NUL and 0xff included. */
	assert_int_equal(moderation_get(txn, 3, &got), 0);
	assert_int_equal(got.kind, MODERATION_REPLY);
	assert_string_equal(got.message_id, "reply-1@bot.x");
	assert_int_equal(got.raw_len, sizeof(raw) - 1);
	assert_memory_equal(got.raw, raw, sizeof(raw) - 1);
	assert_int_equal(got.n_rcpt, 2);
	assert_string_equal(got.rcpt[1], "list@x");
	assert_string_equal(got.decided_by, "");
	assert_string_equal(got.draft_id, "");
	moderation_item_release(&got);

	/* A digest with edits and draft fields, written back and read. */
	assert_int_equal(moderation_get(txn, 1, &got), 0);
	assert_int_equal(got.kind, MODERATION_DIGEST);
	assert_int_equal(got.n_threads, 3);
	assert_string_equal(got.threads[2], "c1@x");
	assert_int_equal(got.created, T0);
	assert_int_equal(got.n_edits, 0);
	free(got.edits);
	got.edits = calloc(2, sizeof(*got.edits));
	assert_non_null(got.edits);
	got.n_edits = 2;
	got.edits[0].n = 3;
	got.edits[0].what = MODERATION_FIX;
	got.edits[0].text = strdup("修正后的摘要 \"quoted\"\nline two");
	got.edits[1].n = 1;
	got.edits[1].what = MODERATION_DROP;
	set(&got.draft_id, "draft-1@bot.x");
	got.reminded = T0 + 100;
	assert_int_equal(moderation_put(txn, &got), 0);
	moderation_item_release(&got);
	assert_int_equal(moderation_get(txn, 1, &got), 0);
	assert_int_equal(got.n_edits, 2);
	assert_int_equal(got.edits[0].n, 3);
	assert_int_equal(got.edits[0].what, MODERATION_FIX);
	assert_string_equal(got.edits[0].text,
			    "修正后的摘要 \"quoted\"\nline two");
	assert_int_equal(got.edits[1].what, MODERATION_DROP);
	assert_null(got.edits[1].text);
	assert_string_equal(got.draft_id, "draft-1@bot.x");
	assert_int_equal(got.reminded, T0 + 100);
	assert_int_equal(got.since, 1757289600);
	moderation_item_release(&got);

	assert_int_equal(moderation_get(txn, 99, &got), 1);

	/* A counter that names a stored item, or is damaged, overwrites
	 * nothing: the new item gets one past the highest id. */
	assert_int_equal(store_kv_put(txn, STORE_DB_MODERATION, "next_id", 7,
				      "2", 1), 0);
	assert_int_equal(hold_digest(f, txn, roots3, 1, T0), 4);
	assert_int_equal(moderation_get(txn, 2, &got), 0);
	assert_int_equal(got.n_threads, 2);
	moderation_item_release(&got);
	assert_int_equal(store_kv_put(txn, STORE_DB_MODERATION, "next_id", 7,
				      "x1", 2), 0);
	assert_int_equal(hold_digest(f, txn, roots3, 1, T0), 5);
	assert_int_equal(hold_digest(f, txn, roots3, 1, T0), 6);
	assert_int_equal(store_commit(txn), 0);
	fx_free(f);
}

struct seen {
	unsigned ids[8];
	size_t n;
	unsigned stop_at;
};

static int
collect(struct moderation_item *it, void *ctx)
{
	struct seen *s = ctx;

	if (s->n < 8)
		s->ids[s->n++] = it->id;
	return it->id == s->stop_at ? 42 : 0;
}

static void
test_moderation_foreach_and_corrupt(void **state)
{
	static const char *const bad[] = {
	    "{not json",
	    "{\"v\":1,\"id\":4,\"kind\":\"digest\",\"state\":\"held\"}",
	    "[1,2,3]",
	    "",
	};
	struct fx *f = fx_new();
	struct store_txn *txn = begin(f);
	struct moderation_item it;
	struct seen s = {0};
	const char *why = NULL;
	char key[32], *audit;

	for (int i = 0; i < 3; i++)
		hold_digest(f, txn, roots3, 3, T0);

	/* Damaged records: refused with a log line, never used. */
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(key, sizeof(key), "item:%010u", 4u);
		assert_int_equal(store_kv_put(txn, STORE_DB_MODERATION, key,
					      strlen(key), bad[i],
					      strlen(bad[i])), 0);
		assert_int_equal(moderation_get(txn, 4, &it), -1);
	}
	/* An edit number past the item's threads is corrupt too. */
	assert_int_equal(moderation_get(txn, 2, &it), 0);
	{
		const void *val;
		size_t vlen;
		char *txt, *p;

		snprintf(key, sizeof(key), "item:%010u", 2u);
		assert_int_equal(store_kv_get(txn, STORE_DB_MODERATION, key,
					      strlen(key), &val, &vlen), 0);
		txt = strndup(val, vlen);
		assert_non_null(txt);
		p = strstr(txt, "\"edits\":[]");
		assert_non_null(p);
		/* edits that are not an array */
		memcpy(p, "\"edits\":99", 10);
		assert_int_equal(store_kv_put(txn, STORE_DB_MODERATION, key,
					      strlen(key), txt, strlen(txt)),
				 0);
		free(txt);
	}
	moderation_item_release(&it);
	assert_int_equal(moderation_get(txn, 2, &it), -1);

	/* The walk skips both and goes on; a callback can stop it. */
	assert_int_equal(moderation_foreach(txn, collect, &s), 0);
	assert_int_equal(s.n, 2);
	assert_int_equal(s.ids[0], 1);
	assert_int_equal(s.ids[1], 3);
	memset(&s, 0, sizeof(s));
	s.stop_at = 1;
	assert_int_equal(moderation_foreach(txn, collect, &s), 42);
	assert_int_equal(s.n, 1);

	/* Deciding on a corrupt item is a refusal, audited. */
	assert_int_equal(moderation_decide(txn, &f->cfg, f->dir, 4, NULL,
					   "cli:root", MODERATION_APPROVE, 0,
					   NULL, T0, &why, NULL), 1);
	assert_string_equal(why, "item record is unreadable");
	audit = audit_text(f);
	assert_non_null(audit);
	assert_string_equal(audit, "2025-09-15T09:00:00Z cli:root approve 4 "
				   "refused: item record is unreadable\n");
	free(audit);
	store_abort(txn);
	fx_free(f);
}

/* --- decisions ------------------------------------------------------------ */

static void
test_moderation_decide_tokens(void **state)
{
	struct fx *f = fx_new();
	struct store_txn *txn = begin(f);
	struct moderation_item it, got;
	char tok[TOKEN_MAX], tok2[TOKEN_MAX], *audit;
	const char *why = NULL;
	unsigned id;

	id = hold_digest(f, txn, roots3, 3, T0);
	hold_digest(f, txn, roots3, 3, T0);
	assert_int_equal(moderation_get(txn, id, &it), 0);
	assert_int_equal(moderation_token(&f->cfg, &it, tok, sizeof(tok)), 0);
	assert_int_equal(strncmp(tok, "mod-1.", 6), 0);
	moderation_item_release(&it);
	assert_int_equal(moderation_get(txn, 2, &it), 0);
	assert_int_equal(moderation_token(&f->cfg, &it, tok2, sizeof(tok2)),
			 0);

	/* Without a secret there is no token. */
	{
		struct config c2;

		assert_int_equal(config_init(&c2), 0);
		assert_int_equal(moderation_token(&c2, &it, tok2,
						  sizeof(tok2)), -1);
		config_release(&c2);
		assert_int_equal(moderation_token(&f->cfg, &it, tok2,
						  sizeof(tok2)), 0);
	}
	moderation_item_release(&it);

	/* A made-up token, and item 2's token on item 1: refused. */
	assert_int_equal(moderation_decide(txn, &f->cfg, f->dir, id,
					   "mod-1.abc.0123456789abcdef01234567",
					   "eve@example.org",
					   MODERATION_APPROVE, 0, NULL,
					   T0 + 60, &why, NULL), 1);
	assert_string_equal(why, "wrong token");
	assert_int_equal(moderation_decide(txn, &f->cfg, f->dir, id, tok2,
					   "eve@example.org",
					   MODERATION_APPROVE, 0, NULL,
					   T0 + 60, &why, NULL), 1);
	assert_string_equal(why, "wrong token");
	assert_int_equal(moderation_get(txn, id, &got), 0);
	assert_int_equal(got.state, MODERATION_HELD);
	assert_string_equal(got.decided_by, "");
	moderation_item_release(&got);

	/* The right token long after the deadline: expired. */
	assert_int_equal(moderation_decide(txn, &f->cfg, f->dir, id, tok,
					   "maz@kernel.org",
					   MODERATION_APPROVE, 0, NULL,
					   T0 + 4 * 86400, &why, NULL), 1);
	assert_string_equal(why, "expired token");

	/* The right token in time, typed in upper case: approved. */
	for (char *p = tok; *p; p++)
		*p = (char)(*p >= 'a' && *p <= 'z' ? *p - 32 : *p);
	assert_int_equal(moderation_decide(txn, &f->cfg, f->dir, id, tok,
					   "maz@kernel.org",
					   MODERATION_APPROVE, 0, NULL,
					   T0 + 120, &why, &got), 0);
	assert_null(why);
	assert_int_equal(got.state, MODERATION_APPROVED);
	assert_string_equal(got.decided_by, "maz@kernel.org");
	assert_int_equal(got.decided, T0 + 120);
	moderation_item_release(&got);
	assert_int_equal(moderation_get(txn, id, &got), 0);
	assert_int_equal(got.state, MODERATION_APPROVED);
	moderation_item_release(&got);

	/* Twice is once. */
	assert_int_equal(moderation_decide(txn, &f->cfg, f->dir, id, tok,
					   "maz@kernel.org",
					   MODERATION_APPROVE, 0, NULL,
					   T0 + 180, &why, NULL), 1);
	assert_string_equal(why, "item already approved");
	assert_int_equal(moderation_decide(txn, &f->cfg, f->dir, id, NULL,
					   "cli:maz", MODERATION_REJECT, 0,
					   "late", T0 + 180, &why, NULL), 1);
	assert_string_equal(why, "item already approved");

	audit = audit_text(f);
	assert_non_null(audit);
	assert_string_equal(audit,
	    "2025-09-15T09:01:00Z eve@example.org approve 1 refused: "
	    "wrong token\n"
	    "2025-09-15T09:01:00Z eve@example.org approve 1 refused: "
	    "wrong token\n"
	    "2025-09-19T09:00:00Z maz@kernel.org approve 1 refused: "
	    "expired token\n"
	    "2025-09-15T09:02:00Z maz@kernel.org approve 1 ok\n"
	    "2025-09-15T09:03:00Z maz@kernel.org approve 1 refused: "
	    "item already approved\n"
	    "2025-09-15T09:03:00Z cli:maz reject 1 refused: "
	    "item already approved\n");
	/* The token never reaches the log, in any case. */
	assert_null(strcasestr(audit, tok));
	free(audit);
	assert_int_equal(store_commit(txn), 0);
	fx_free(f);
}

static void
test_moderation_reject_cli(void **state)
{
	struct fx *f = fx_new();
	struct store_txn *txn = begin(f);
	struct moderation_item got;
	const char *why = NULL;
	char *audit, reason[COMMAND_MAX_TEXT + 2];

	hold_digest(f, txn, roots3, 3, T0);
	assert_int_equal(moderation_decide(txn, &f->cfg, f->dir, 7, NULL,
					   "cli:oliver", MODERATION_APPROVE,
					   0, NULL, T0, &why, NULL), 1);
	assert_string_equal(why, "unknown item");
	assert_int_equal(moderation_decide(txn, &f->cfg, f->dir, 1, NULL,
					   "cli:oliver", MODERATION_REJECT, 0,
					   "bad \xff reason", T0, &why, NULL),
			 1);
	memset(reason, 'r', sizeof(reason) - 1);
	reason[sizeof(reason) - 1] = '\0';
	assert_int_equal(moderation_decide(txn, &f->cfg, f->dir, 1, NULL,
					   "cli:oliver", MODERATION_REJECT, 0,
					   reason, T0, &why, NULL), 1);
	assert_int_equal(moderation_get(txn, 1, &got), 0);
	assert_int_equal(got.state, MODERATION_HELD);
	moderation_item_release(&got);

	/* The command line needs no token. */
	assert_int_equal(moderation_decide(txn, &f->cfg, f->dir, 1, NULL,
					   "cli:oliver", MODERATION_REJECT, 0,
					   "summaries of \xe2\x80\x9c"
					   "v3\xe2\x80\x9d are wrong",
					   T0 + 5, &why, NULL), 0);
	assert_int_equal(moderation_get(txn, 1, &got), 0);
	assert_int_equal(got.state, MODERATION_REJECTED);
	assert_string_equal(got.decided_by, "cli:oliver");
	assert_string_equal(got.reason,
			    "summaries of \xe2\x80\x9cv3\xe2\x80\x9d "
			    "are wrong");
	moderation_item_release(&got);
	assert_int_equal(moderation_decide(txn, &f->cfg, f->dir, 1, NULL,
					   "cli:oliver", MODERATION_APPROVE,
					   0, NULL, T0 + 6, &why, NULL), 1);
	assert_string_equal(why, "item already rejected");

	audit = audit_text(f);
	assert_non_null(audit);
	assert_non_null(strstr(audit, "cli:oliver approve 7 refused: "
				      "unknown item\n"));
	assert_non_null(strstr(audit, "cli:oliver reject 1 refused: reason "
				      "too long or not UTF-8\n"));
	assert_non_null(strstr(audit,
			       "2025-09-15T09:00:05Z cli:oliver reject 1 ok: "
			       "summaries of \xe2\x80\x9cv3\xe2\x80\x9d are "
			       "wrong\n"));
	free(audit);
	assert_int_equal(store_commit(txn), 0);
	fx_free(f);
}

static void
put_cache(struct store_txn *txn, const char *key)
{
	assert_int_equal(store_kv_put(txn, STORE_DB_SUMMARY, key, strlen(key),
				      "{}", 2), 0);
}

static int
has_cache(struct store_txn *txn, const char *key)
{
	const void *v;
	size_t n;
	int r = store_kv_get(txn, STORE_DB_SUMMARY, key, strlen(key), &v, &n);

	assert_true(r == 0 || r == 1);
	return r == 0;
}

static void
test_moderation_edits(void **state)
{
	struct fx *f = fx_new();
	struct store_txn *txn = begin(f);
	struct moderation_item got, reply = {0};
	const char *why = NULL;
	char tok[TOKEN_MAX], *audit, text[COMMAND_MAX_TEXT + 2];
	static const char *const rcpt[] = {"alice@x"};

	hold_digest(f, txn, roots3, 3, T0);
	assert_int_equal(moderation_get(txn, 1, &got), 0);
	assert_int_equal(moderation_token(&f->cfg, &got, tok, sizeof(tok)), 0);
	moderation_item_release(&got);

	put_cache(txn, "llm/en/b1@x");
	put_cache(txn, "llm/zh/b1@x");
	put_cache(txn, "llm/en/a1@x");

	assert_int_equal(moderation_decide(txn, &f->cfg, f->dir, 1, tok,
					   "maz@kernel.org", MODERATION_DROP,
					   3, NULL, T0 + 1, &why, NULL), 0);
	assert_int_equal(moderation_decide(txn, &f->cfg, f->dir, 1, tok,
					   "maz@kernel.org", MODERATION_FIX, 1,
					   "First text.", T0 + 2, &why, NULL),
			 0);
	assert_int_equal(moderation_decide(txn, &f->cfg, f->dir, 1, tok,
					   "maz@kernel.org",
					   MODERATION_REGENERATE, 2, NULL,
					   T0 + 3, &why, NULL), 0);
	/* regenerate <2> forgot b1's cache in both languages, only it. */
	assert_false(has_cache(txn, "llm/en/b1@x"));
	assert_false(has_cache(txn, "llm/zh/b1@x"));
	assert_true(has_cache(txn, "llm/en/a1@x"));
	/* and forgetting what is not cached is fine */
	assert_int_equal(llmsum_forget(txn, "b1@x"), 0);

	/* A later fix of <1> replaces the earlier one; <3> drop -> fix. */
	assert_int_equal(moderation_decide(txn, &f->cfg, f->dir, 1, tok,
					   "oliver@x", MODERATION_FIX, 1,
					   "Second text.", T0 + 4, &why, NULL),
			 0);
	assert_int_equal(moderation_decide(txn, &f->cfg, f->dir, 1, NULL,
					   "cli:maz", MODERATION_FIX, 3,
					   "Kept after all.", T0 + 5, &why,
					   &got), 0);
	assert_int_equal(got.n_edits, 3);
	assert_int_equal(got.edits[0].n, 3);
	assert_int_equal(got.edits[0].what, MODERATION_FIX);
	assert_string_equal(got.edits[0].text, "Kept after all.");
	assert_int_equal(got.edits[1].n, 1);
	assert_string_equal(got.edits[1].text, "Second text.");
	assert_int_equal(got.edits[2].n, 2);
	assert_int_equal(got.edits[2].what, MODERATION_REGENERATE);
	assert_int_equal(got.state, MODERATION_HELD);
	moderation_item_release(&got);

	/* Refusals: bad numbers, text, token, kind. */
	assert_int_equal(moderation_decide(txn, &f->cfg, f->dir, 1, tok, "m@x",
					   MODERATION_DROP, 0, NULL, T0, &why,
					   NULL), 1);
	assert_string_equal(why, "no such item number");
	assert_int_equal(moderation_decide(txn, &f->cfg, f->dir, 1, tok, "m@x",
					   MODERATION_DROP, 4, NULL, T0, &why,
					   NULL), 1);
	assert_string_equal(why, "no such item number");
	memset(text, 't', sizeof(text) - 1);
	text[sizeof(text) - 1] = '\0';
	assert_int_equal(moderation_decide(txn, &f->cfg, f->dir, 1, tok, "m@x",
					   MODERATION_FIX, 1, text, T0, &why,
					   NULL), 1);
	assert_string_equal(why, "fix text too long");
	text[COMMAND_MAX_TEXT] = '\0';	/* exactly the limit: fine */
	assert_int_equal(moderation_decide(txn, &f->cfg, f->dir, 1, tok, "m@x",
					   MODERATION_FIX, 2, text, T0, &why,
					   NULL), 0);
	assert_int_equal(moderation_decide(txn, &f->cfg, f->dir, 1, tok, "m@x",
					   MODERATION_FIX, 1, "caf\xe9", T0,
					   &why, NULL), 1);
	assert_string_equal(why, "fix text not UTF-8");
	assert_int_equal(moderation_decide(txn, &f->cfg, f->dir, 1, tok, "m@x",
					   MODERATION_FIX, 1, "", T0, &why,
					   NULL), 1);
	assert_int_equal(moderation_decide(txn, &f->cfg, f->dir, 1, "nope",
					   "m@x", MODERATION_DROP, 1, NULL,
					   T0, &why, NULL), 1);
	assert_string_equal(why, "wrong token");

	reply.kind = MODERATION_REPLY;
	reply.raw = strdup("Subject: x\r\n\r\nbody\r\n");
	reply.raw_len = strlen(reply.raw);
	reply.rcpt = strv(rcpt, 1);
	reply.n_rcpt = 1;
	assert_int_equal(moderation_hold(txn, &f->cfg, &reply, T0), 0);
	assert_int_equal(moderation_decide(txn, &f->cfg, f->dir, reply.id,
					   NULL, "cli:maz", MODERATION_DROP,
					   1, NULL, T0, &why, NULL), 1);
	assert_string_equal(why, "item is not a digest");
	moderation_item_release(&reply);

	/* The edits are still the accepted ones. */
	assert_int_equal(moderation_get(txn, 1, &got), 0);
	assert_int_equal(got.n_edits, 3);
	assert_int_equal(got.edits[2].what, MODERATION_FIX);
	assert_int_equal(strlen(got.edits[2].text), COMMAND_MAX_TEXT);
	assert_string_equal(got.edits[1].text, "Second text.");
	moderation_item_release(&got);

	audit = audit_text(f);
	assert_non_null(audit);
	assert_non_null(strstr(audit, "maz@kernel.org drop 1 ok: <3>\n"));
	assert_non_null(strstr(audit, "maz@kernel.org fix 1 ok: <1> First "
				      "text.\n"));
	assert_non_null(strstr(audit, "maz@kernel.org regenerate 1 ok: "
				      "<2>\n"));
	assert_non_null(strstr(audit, "m@x drop 1 refused: no such item "
				      "number\n"));
	assert_non_null(strstr(audit, "m@x fix 1 refused: fix text not "
				      "UTF-8\n"));
	free(audit);
	assert_int_equal(store_commit(txn), 0);
	fx_free(f);
}

/* --- a digest built from a store ------------------------------------------ */

static const char tiny_mbox[] =
    "From a@x Tue Sep  9 10:00:00 2025\n"
    "From: Alice Arm <alice@example.org>\n"
    "To: kvmarm@lists.linux.dev\n"
    "Subject: [PATCH] KVM: arm64: Fix the alpha trap\n"
    "Date: Tue, 9 Sep 2025 10:00:00 +0000\n"
    "Message-ID: <a1@x>\n"
    "\n"
    "The alpha trap is taken twice; take it once.\n"
    "\n"
    "Signed-off-by: Alice Arm <alice@example.org>\n"
    "---\n"
    " arch/arm64/kvm/alpha.c | 2 +-\n"
    " 1 file changed, 1 insertion(+), 1 deletion(-)\n"
    "\n"
    "From b@x Tue Sep  9 12:00:00 2025\n"
    "From: Bob Reviewer <bob@example.org>\n"
    "To: kvmarm@lists.linux.dev\n"
    "Subject: Re: [PATCH] KVM: arm64: Fix the alpha trap\n"
    "Date: Tue, 9 Sep 2025 12:00:00 +0000\n"
    "Message-ID: <a2@x>\n"
    "In-Reply-To: <a1@x>\n"
    "References: <a1@x>\n"
    "\n"
    "Reviewed-by: Bob Reviewer <bob@example.org>\n"
    "\n"
    "From c@x Wed Sep 10 10:00:00 2025\n"
    "From: Carol Dev <carol@example.org>\n"
    "To: kvmarm@lists.linux.dev\n"
    "Subject: [PATCH] KVM: arm64: Beta cleanup\n"
    "Date: Wed, 10 Sep 2025 10:00:00 +0000\n"
    "Message-ID: <b1@x>\n"
    "\n"
    "Clean up the beta code.\n"
    "\n"
    "Signed-off-by: Carol Dev <carol@example.org>\n"
    "\n"
    "From d@x Thu Sep 11 10:00:00 2025\n"
    "From: Dan User <dan@example.org>\n"
    "To: kvmarm@lists.linux.dev\n"
    "Subject: Question about gamma\n"
    "Date: Thu, 11 Sep 2025 10:00:00 +0000\n"
    "Message-ID: <c1@x>\n"
    "\n"
    "How does gamma work on arm64?\n"
    "\n"
    "From e@x Fri Sep 12 10:00:00 2025\n"
    "From: Eve Late <eve@example.org>\n"
    "To: kvmarm@lists.linux.dev\n"
    "Subject: [PATCH] KVM: arm64: Delta fix\n"
    "Date: Fri, 12 Sep 2025 10:00:00 +0000\n"
    "Message-ID: <d1@x>\n"
    "\n"
    "Fix delta.\n"
    "\n"
    "Signed-off-by: Eve Late <eve@example.org>\n";

static int regen_calls;

static int
fake_summarize(void *ctx, struct store_txn *txn,
	       const struct summary_input *in, char **out, int *offline)
{
	regen_calls++;
	if (asprintf(out, "Fresh summary of %s.", in->thread->root_id) < 0)
		return -1;
	*offline = 0;
	return 0;
}

static void
check_totals(const struct digest *d)
{
	size_t mails = 0, cat_t[CATEGORY_COUNT] = {0},
	       cat_m[CATEGORY_COUNT] = {0};

	for (size_t i = 0; i < d->n_threads; i++) {
		mails += d->threads[i].n_window;
		cat_t[d->threads[i].category]++;
		cat_m[d->threads[i].category] += d->threads[i].n_window;
	}
	assert_int_equal(mails, d->mails);
	for (int k = 0; k < CATEGORY_COUNT; k++) {
		assert_int_equal(cat_t[k], d->cat_threads[k]);
		assert_int_equal(cat_m[k], d->cat_mails[k]);
	}
}

static struct digest_thread *
by_root(struct digest *d, const char *root)
{
	for (size_t i = 0; i < d->n_threads; i++)
		if (!strcmp(d->threads[i].thread.root_id, root))
			return &d->threads[i];
	return NULL;
}

static void
test_moderation_apply_edits(void **state)
{
	static const char *const held[] = {"c1@x", "a1@x", "b1@x"};
	struct fx *f = fx_new();
	struct import_options io = {0};
	struct import_stats st = {0};
	struct digest_options opt = {
	    .since = 1757289600, .until = 1757894400, .now = T0,
	    .lang = "en", .list_name = "kvmarm", .timezone = "UTC",
	};
	struct digest d, plain;
	struct store_txn *txn;
	struct moderation_item item;
	struct buf out;
	char path[4096], *offline_b;
	const char *why;
	unsigned id;

	snprintf(path, sizeof(path), "%s/tiny.mbox", f->dir);
	assert_int_equal(test_write_file(path, tiny_mbox, strlen(tiny_mbox)),
			 0);
	assert_int_equal(import_path(f->store, path, &io, &st), 0);
	assert_int_equal(st.imported, 5);

	txn = begin(f);
	assert_int_equal(digest_build(txn, &opt, &plain), 0);
	assert_int_equal(plain.n_threads, 4);
	assert_int_equal(plain.mails, 5);
	offline_b = strdup(by_root(&plain, "b1@x")->summary);
	assert_non_null(offline_b);

	/* Held before d1 arrived: c=<1>, a=<2>, b=<3>; d1 comes late. */
	id = hold_digest(f, txn, held, 3, T0);
	assert_int_equal(moderation_decide(txn, &f->cfg, f->dir, id, NULL,
					   "cli:t", MODERATION_DROP, 1, NULL,
					   T0, &why, NULL), 0);
	assert_int_equal(moderation_decide(txn, &f->cfg, f->dir, id, NULL,
					   "cli:t", MODERATION_FIX, 2,
					   "Moderator's words.", T0, &why,
					   NULL), 0);
	assert_int_equal(moderation_decide(txn, &f->cfg, f->dir, id, NULL,
					   "cli:t", MODERATION_REGENERATE, 3,
					   NULL, T0, &why, &item), 0);

	/* Without a summarizer, regenerate gives the offline summary. */
	assert_int_equal(digest_build(txn, &opt, &d), 0);
	assert_int_equal(moderation_apply_edits(txn, &item, &opt, &d), 0);
	assert_int_equal(d.numbered, 1);
	assert_int_equal(d.n_threads, 3);
	assert_null(by_root(&d, "c1@x"));
	assert_int_equal(by_root(&d, "a1@x")->item, 2);
	assert_int_equal(by_root(&d, "b1@x")->item, 3);
	assert_int_equal(by_root(&d, "d1@x")->item, 4);
	assert_string_equal(by_root(&d, "a1@x")->summary, "Moderator's words.");
	assert_int_equal(by_root(&d, "a1@x")->summary_offline, 0);
	assert_string_equal(by_root(&d, "b1@x")->summary, offline_b);
	assert_int_equal(by_root(&d, "b1@x")->summary_offline, 1);
	assert_int_equal(d.mails, 4);
	check_totals(&d);

	/* The draft shows the numbers; the plain digest does not. */
	buf_init(&out, 0);
	assert_int_equal(digest_render(&d, DIGEST_TEXT, &out), 0);
	assert_non_null(strstr(out.data, "<2> [PATCH] KVM: arm64: Fix the "
					 "alpha trap"));
	assert_non_null(strstr(out.data, "<4> [PATCH] KVM: arm64: Delta "
					 "fix"));
	assert_null(strstr(out.data, "gamma"));
	assert_non_null(strstr(out.data, "Moderator's words."));
	buf_truncate(&out, 0);
	assert_int_equal(digest_render(&d, DIGEST_MARKDOWN, &out), 0);
	assert_non_null(strstr(out.data, ": <3> [PATCH] KVM: arm64: Beta "
					 "cleanup\n"));
	buf_truncate(&out, 0);
	assert_int_equal(digest_render(&d, DIGEST_JSON, &out), 0);
	{
		json_object *root = json_tokener_parse(out.data), *th, *t0, *v;
		int found = 0;

		assert_non_null(root);
		assert_true(json_object_object_get_ex(root, "threads", &th));
		assert_int_equal(json_object_array_length(th), 3);
		for (size_t i = 0; i < 3; i++) {
			json_object *item_v;

			t0 = json_object_array_get_idx(th, i);
			assert_true(json_object_object_get_ex(t0, "item",
							      &item_v));
			assert_true(json_object_object_get_ex(
			    t0, "root_message_id", &v));
			if (!strcmp(json_object_get_string(v), "d1@x")) {
				assert_int_equal(json_object_get_int(item_v),
						 4);
				found = 1;
			}
		}
		assert_true(found);
		json_object_put(root);
	}
	buf_truncate(&out, 0);
	assert_int_equal(digest_render(&plain, DIGEST_TEXT, &out), 0);
	assert_null(strstr(out.data, "<1>"));
	assert_null(strstr(out.data, "<2>"));
	assert_non_null(strstr(out.data, "Thread 1: "));
	buf_truncate(&out, 0);
	assert_int_equal(digest_render(&plain, DIGEST_JSON, &out), 0);
	assert_null(strstr(out.data, "\"item\""));
	buf_release(&out);
	digest_release(&d);

	/* With a summarizer, regenerate asks it for <3> only. */
	opt.summarize = fake_summarize;
	regen_calls = 0;
	assert_int_equal(digest_build(txn, &(struct digest_options){
					  .since = opt.since,
					  .until = opt.until, .now = T0,
					  .lang = "en"}, &d), 0);
	assert_int_equal(moderation_apply_edits(txn, &item, &opt, &d), 0);
	assert_int_equal(regen_calls, 1);
	assert_string_equal(by_root(&d, "b1@x")->summary,
			    "Fresh summary of b1@x.");
	assert_int_equal(by_root(&d, "b1@x")->summary_offline, 0);
	check_totals(&d);
	digest_release(&d);

	/* A reply item has no digest to edit. */
	item.kind = MODERATION_REPLY;
	assert_int_equal(digest_build(txn, &opt, &d), 0);
	assert_int_equal(moderation_apply_edits(txn, &item, &opt, &d), -1);
	item.kind = MODERATION_DIGEST;
	digest_release(&d);

	moderation_item_release(&item);
	digest_release(&plain);
	free(offline_b);
	store_abort(txn);
	fx_free(f);
}

TEST_LIST(moderation,
	  cmocka_unit_test(test_moderation_hold_and_roundtrip),
	  cmocka_unit_test(test_moderation_foreach_and_corrupt),
	  cmocka_unit_test(test_moderation_decide_tokens),
	  cmocka_unit_test(test_moderation_reject_cli),
	  cmocka_unit_test(test_moderation_edits),
	  cmocka_unit_test(test_moderation_apply_edits),
);
