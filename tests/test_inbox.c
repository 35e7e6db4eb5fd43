/*
 * test_inbox.c - how the listener sorts each new mail (inbox.h).
 *
 * Literal mails are parsed as the listener parses them and handed to
 * inbox_accept() in a write transaction of a fresh store: list traffic
 * is archived and not queued, a mail to the bot alone is queued and
 * not archived, the bot's own mail is neither, a Message-ID is queued
 * once even after it was handled, and inbox_prune() deletes only old
 * "d:" markers.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "config.h"
#include "inbox.h"
#include "message.h"
#include "store.h"
#include "testutil.h"

#define T0 1757926800	/* 2025-09-15T09:00:00Z */
#define LISTID "List-Id: <kvmarm.lists.linux.dev>\n"

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

static int
setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	f->dir = test_tmpdir("inbox");
	assert_non_null(f->dir);
	assert_int_equal(store_open(f->dir, STORE_OPEN_WRITE, &f->store), 0);
	assert_int_equal(config_init(&f->cfg), 0);
	set(&f->cfg.bot_address, "bot@example.test");
	set(&f->cfg.list_address, "kvmarm@lists.linux.dev");
	set(&f->cfg.list_name, "kvmarm");
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fx *f = *state;

	store_close(f->store);
	config_release(&f->cfg);
	free(f->dir);
	free(f);
	return 0;
}

/* A mail as the listener gets it; malloc'd raw bytes in *b. */
static void
mk(struct buf *b, const char *from, const char *to, const char *cc,
   const char *id, const char *extra)
{
	buf_init(b, 0);
	assert_int_equal(buf_addf(b, "From: %s\nTo: %s\n", from, to), 0);
	if (cc)
		assert_int_equal(buf_addf(b, "Cc: %s\n", cc), 0);
	assert_int_equal(buf_addf(b,
				  "Subject: Re: [PATCH] KVM: arm64: fix\n"
				  "Message-ID: <%s>\n"
				  "Date: Mon, 15 Sep 2025 08:00:00 +0000\n"
				  "%s\nsummarize\n",
				  id, extra ? extra : ""),
			 0);
}

/* inbox_accept() in its own committed transaction; its return value. */
static int
accept_mail(struct fx *f, const char *from, const char *to, const char *cc,
	    const char *id, const char *extra, int *queued)
{
	struct store_txn *txn;
	struct message msg;
	struct buf b;
	int r;

	mk(&b, from, to, cc, id, extra);
	assert_int_equal(message_parse(b.data, b.len, &msg, NULL), 0);
	assert_int_equal(store_begin(f->store, 1, &txn), 0);
	*queued = -7;
	r = inbox_accept(txn, &f->cfg, &msg, b.data, b.len, queued);
	assert_int_not_equal(r, -1);
	assert_int_equal(store_commit(txn), 0);
	message_release(&msg);
	buf_release(&b);
	return r;
}

static int
archived(struct fx *f, const char *id)
{
	struct store_txn *txn;
	int r;

	assert_int_equal(store_begin(f->store, 0, &txn), 0);
	r = store_has_message(txn, id);
	store_abort(txn);
	assert_int_not_equal(r, -1);
	return r;
}

/* 0 and the value length when key prefix:id is in the inbox, else 1. */
static int
inbox_has(struct fx *f, char prefix, const char *id, size_t *vlen)
{
	char key[INBOX_KEY_MAX];
	struct store_txn *txn;
	const void *v;
	size_t n = 0;
	int r;

	inbox_key(prefix, id, key);
	assert_int_equal(store_begin(f->store, 0, &txn), 0);
	r = store_kv_get(txn, STORE_DB_INBOX, key, strlen(key), &v, &n);
	store_abort(txn);
	assert_int_not_equal(r, -1);
	if (vlen)
		*vlen = n;
	return r;
}

static void
test_inbox_key(void **state)
{
	char a[INBOX_KEY_MAX], b[INBOX_KEY_MAX];

	(void)state;
	inbox_key('q', "x@example.test", a);
	inbox_key('d', "x@example.test", b);
	assert_int_equal(strlen(a), INBOX_KEY_MAX - 1);
	assert_memory_equal(a, "q:", 2);
	assert_memory_equal(b, "d:", 2);
	assert_string_equal(a + 2, b + 2);
	inbox_key('q', "y@example.test", b);
	assert_string_not_equal(a, b);
	/* SHA-256("abc") */
	inbox_key('q', "abc", a);
	assert_string_equal(a, "q:ba7816bf8f01cfea414140de5dae2223b00361a396"
			       "177a9cb410ff61f20015ad");
}

static void
test_inbox_list_traffic(void **state)
{
	struct fx *f = *state;
	int q;

	assert_int_equal(accept_mail(f, "Alice <alice@example.test>",
				     "kvmarm@lists.linux.dev", NULL,
				     "list-1@example.test", LISTID, &q),
			 1);
	assert_int_equal(q, 0);
	assert_int_equal(archived(f, "list-1@example.test"), 1);
	assert_int_equal(inbox_has(f, 'q', "list-1@example.test", NULL), 1);

	/* List-Id alone makes it list traffic, even To someone else */
	assert_int_equal(accept_mail(f, "alice@example.test",
				     "maz@kernel.org", NULL,
				     "list-2@example.test", LISTID, &q),
			 1);
	assert_int_equal(q, 0);
	assert_int_equal(archived(f, "list-2@example.test"), 1);

	/* the same list mail fetched again: a duplicate, not archived anew */
	assert_int_equal(accept_mail(f, "Alice <alice@example.test>",
				     "kvmarm@lists.linux.dev", NULL,
				     "list-1@example.test", LISTID, &q),
			 0);
	assert_int_equal(q, 0);
}

static void
test_inbox_private_request(void **state)
{
	struct fx *f = *state;
	size_t vlen = 0;
	int q;

	assert_int_equal(accept_mail(f, "Bob <bob@example.test>",
				     "bot@example.test", NULL,
				     "req-1@example.test", NULL, &q),
			 0);
	assert_int_equal(q, 1);
	assert_int_equal(archived(f, "req-1@example.test"), 0);
	assert_int_equal(inbox_has(f, 'q', "req-1@example.test", &vlen), 0);
	assert_true(vlen > 0);
	assert_int_equal(inbox_has(f, 'd', "req-1@example.test", NULL), 1);

	/* the address compares case-insensitively */
	assert_int_equal(accept_mail(f, "bob@example.test",
				     "KVMARM Bot <BOT@Example.TEST>", NULL,
				     "req-2@example.test", NULL, &q),
			 0);
	assert_int_equal(q, 1);
	assert_int_equal(archived(f, "req-2@example.test"), 0);
}

static void
test_inbox_list_with_bot_cc(void **state)
{
	struct fx *f = *state;
	int q;

	/* sent to the list with the bot in Cc, before the list's copy */
	assert_int_equal(accept_mail(f, "Alice <alice@example.test>",
				     "kvmarm@lists.linux.dev",
				     "Bot <bot@example.test>",
				     "cc-1@example.test", NULL, &q),
			 1);
	assert_int_equal(q, 1);
	assert_int_equal(archived(f, "cc-1@example.test"), 1);
	assert_int_equal(inbox_has(f, 'q', "cc-1@example.test", NULL), 0);

	/* the list's copy of it (List-Id) arrives too: queued once only */
	assert_int_equal(accept_mail(f, "Alice <alice@example.test>",
				     "kvmarm@lists.linux.dev",
				     "Bot <bot@example.test>",
				     "cc-1@example.test", LISTID, &q),
			 0);
	assert_int_equal(q, 0);

	/* To the bot, Cc someone: List-Id still makes it archived */
	assert_int_equal(accept_mail(f, "alice@example.test",
				     "bot@example.test", "maz@kernel.org",
				     "cc-2@example.test", LISTID, &q),
			 1);
	assert_int_equal(q, 1);
	assert_int_equal(archived(f, "cc-2@example.test"), 1);
}

static void
test_inbox_from_bot(void **state)
{
	struct fx *f = *state;
	int q;

	/* the bot's digest coming back through the list */
	assert_int_equal(accept_mail(f, "kvmarm-bot <bot@example.test>",
				     "kvmarm@lists.linux.dev", NULL,
				     "own-1@example.test", LISTID, &q),
			 0);
	assert_int_equal(q, 0);
	assert_int_equal(archived(f, "own-1@example.test"), 0);

	/* its own answer, Cc the bot: neither archived nor queued */
	assert_int_equal(accept_mail(f, "bot+x@example.test",
				     "kvmarm@lists.linux.dev",
				     "bot@example.test", "own-2@example.test",
				     LISTID, &q),
			 0);
	assert_int_equal(q, 0);
	assert_int_equal(archived(f, "own-2@example.test"), 0);
	assert_int_equal(inbox_has(f, 'q', "own-2@example.test", NULL), 1);

	/* and a mail from the bot to itself (a loop) */
	assert_int_equal(accept_mail(f, "BOT@example.test",
				     "bot+summarize@example.test", NULL,
				     "own-3@example.test", NULL, &q),
			 0);
	assert_int_equal(q, 0);
	assert_int_equal(inbox_has(f, 'q', "own-3@example.test", NULL), 1);

	/* a look-alike address is not the bot */
	assert_int_equal(accept_mail(f, "bot@example.test.evil.test",
				     "kvmarm@lists.linux.dev", NULL,
				     "own-4@example.test", LISTID, &q),
			 1);
	assert_int_equal(archived(f, "own-4@example.test"), 1);
}

static void
test_inbox_plus_address(void **state)
{
	struct fx *f = *state;
	int q;

	assert_int_equal(accept_mail(f, "carol@example.test",
				     "bot+summarize@example.test", NULL,
				     "plus-1@example.test", NULL, &q),
			 0);
	assert_int_equal(q, 1);
	assert_int_equal(archived(f, "plus-1@example.test"), 0);
	assert_int_equal(inbox_has(f, 'q', "plus-1@example.test", NULL), 0);

	/* another domain's "bot+..." is not the bot */
	assert_int_equal(accept_mail(f, "carol@example.test",
				     "bot+summarize@example.org", NULL,
				     "plus-2@example.test", NULL, &q),
			 1);
	assert_int_equal(q, 0);
	assert_int_equal(archived(f, "plus-2@example.test"), 1);
}

static void
test_inbox_once(void **state)
{
	struct fx *f = *state;
	char key[INBOX_KEY_MAX];
	struct store_txn *txn;
	const void *v;
	size_t vlen;
	int q;

	assert_int_equal(accept_mail(f, "dave@example.test",
				     "bot@example.test", NULL,
				     "twice@example.test", NULL, &q),
			 0);
	assert_int_equal(q, 1);
	/* the same mail again (a second folder, a new UIDVALIDITY) */
	assert_int_equal(accept_mail(f, "dave@example.test",
				     "bot@example.test", NULL,
				     "twice@example.test", NULL, &q),
			 0);
	assert_int_equal(q, 0);

	/* handled: the queue entry goes, a "d:" marker stays */
	inbox_key('q', "twice@example.test", key);
	assert_int_equal(store_begin(f->store, 1, &txn), 0);
	assert_int_equal(inbox_done(txn, key, T0), 0);
	assert_int_equal(store_commit(txn), 0);
	assert_int_equal(inbox_has(f, 'q', "twice@example.test", NULL), 1);
	assert_int_equal(inbox_has(f, 'd', "twice@example.test", &vlen), 0);
	assert_int_equal(vlen, 8);
	inbox_key('d', "twice@example.test", key);
	assert_int_equal(store_begin(f->store, 0, &txn), 0);
	assert_int_equal(store_kv_get(txn, STORE_DB_INBOX, key, strlen(key),
				      &v, &vlen),
			 0);
	{
		const unsigned char *p = v;
		uint64_t t = 0;

		for (int i = 0; i < 8; i++)
			t = t << 8 | p[i];
		assert_int_equal(t, T0);
	}
	store_abort(txn);

	/* after it was answered it is never queued again */
	assert_int_equal(accept_mail(f, "dave@example.test",
				     "bot@example.test", NULL,
				     "twice@example.test", NULL, &q),
			 0);
	assert_int_equal(q, 0);
	assert_int_equal(inbox_has(f, 'q', "twice@example.test", NULL), 1);

	/* inbox_done() refuses what is not a queue key */
	assert_int_equal(store_begin(f->store, 1, &txn), 0);
	assert_int_equal(inbox_done(txn, "d:1234", T0), -1);
	assert_int_equal(inbox_done(txn, key, T0), -1);	/* a "d:" key */
	store_abort(txn);
}

static void
done_at(struct fx *f, const char *id, int64_t when)
{
	char key[INBOX_KEY_MAX];
	struct store_txn *txn;

	inbox_key('q', id, key);
	assert_int_equal(store_begin(f->store, 1, &txn), 0);
	assert_int_equal(inbox_done(txn, key, when), 0);
	assert_int_equal(store_commit(txn), 0);
}

static void
test_inbox_prune(void **state)
{
	struct fx *f = *state;
	const int64_t day = 86400;
	struct store_txn *txn;
	int q;

	done_at(f, "old-1@example.test", T0 - (INBOX_DONE_DAYS + 5) * day);
	done_at(f, "old-2@example.test", T0 - INBOX_DONE_DAYS * day - 1);
	done_at(f, "new-1@example.test", T0 - (INBOX_DONE_DAYS - 1) * day);
	done_at(f, "new-2@example.test", T0);
	/* a request still waiting is never touched, however old */
	assert_int_equal(accept_mail(f, "erin@example.test",
				     "bot@example.test", NULL,
				     "waiting@example.test", NULL, &q),
			 0);
	assert_int_equal(q, 1);

	assert_int_equal(store_begin(f->store, 1, &txn), 0);
	assert_int_equal(inbox_prune(txn, T0), 2);
	assert_int_equal(store_commit(txn), 0);
	assert_int_equal(inbox_has(f, 'd', "old-1@example.test", NULL), 1);
	assert_int_equal(inbox_has(f, 'd', "old-2@example.test", NULL), 1);
	assert_int_equal(inbox_has(f, 'd', "new-1@example.test", NULL), 0);
	assert_int_equal(inbox_has(f, 'd', "new-2@example.test", NULL), 0);
	assert_int_equal(inbox_has(f, 'q', "waiting@example.test", NULL), 0);

	/* nothing more to prune; far later, the rest goes */
	assert_int_equal(store_begin(f->store, 1, &txn), 0);
	assert_int_equal(inbox_prune(txn, T0), 0);
	assert_int_equal(inbox_prune(txn, T0 + (INBOX_DONE_DAYS + 1) * day),
			 2);
	assert_int_equal(store_commit(txn), 0);
	assert_int_equal(inbox_has(f, 'q', "waiting@example.test", NULL), 0);
}

/* More old markers than one call deletes: the rest goes next time. */
static void
test_inbox_prune_many(void **state)
{
	struct fx *f = *state;
	struct store_txn *txn;
	char id[64], key[INBOX_KEY_MAX];
	int n = 0, r;

	assert_int_equal(store_begin(f->store, 1, &txn), 0);
	for (int i = 0; i < 300; i++) {
		snprintf(id, sizeof(id), "m%d@example.test", i);
		inbox_key('q', id, key);
		assert_int_equal(inbox_done(txn, key, T0 - 100 * 86400), 0);
	}
	assert_int_equal(store_commit(txn), 0);
	do {
		assert_int_equal(store_begin(f->store, 1, &txn), 0);
		r = inbox_prune(txn, T0);
		assert_true(r >= 0);
		assert_int_equal(store_commit(txn), 0);
		n += r;
	} while (r > 0);
	assert_int_equal(n, 300);
}

TEST_LIST(inbox,
	cmocka_unit_test(test_inbox_key),
	cmocka_unit_test_setup_teardown(test_inbox_list_traffic, setup,
					teardown),
	cmocka_unit_test_setup_teardown(test_inbox_private_request, setup,
					teardown),
	cmocka_unit_test_setup_teardown(test_inbox_list_with_bot_cc, setup,
					teardown),
	cmocka_unit_test_setup_teardown(test_inbox_from_bot, setup, teardown),
	cmocka_unit_test_setup_teardown(test_inbox_plus_address, setup,
					teardown),
	cmocka_unit_test_setup_teardown(test_inbox_once, setup, teardown),
	cmocka_unit_test_setup_teardown(test_inbox_prune, setup, teardown),
	cmocka_unit_test_setup_teardown(test_inbox_prune_many, setup,
					teardown));
