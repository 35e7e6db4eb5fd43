/*
 * test_mailer_moderation.c - held digests from the mailer's side: the
 * numbered draft to the moderators, the frozen thread list, reminders,
 * expiry, release with a moderator's edits, and the fan-out to
 * subscribers in their language.  No server: the outbox is paused and
 * read back from the state.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "import.h"
#include "mailer.h"
#include "message.h"
#include "moderation.h"
#include "outbox.h"
#include "store.h"
#include "subscriber.h"
#include "testutil.h"

/* The demo week (194 mails, 35 threads). */
#define SINCE 1757289600	/* 2025-09-08T00:00:00Z */
#define UNTIL 1757894400	/* 2025-09-15T00:00:00Z */
#define NOW (UNTIL + 300)
#define MAX_OUT 16

/* The outbox, read back (testutil.h). */
struct outs {
	struct test_outbox_mail *v;
	size_t n;
};

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
	struct import_options io = {0};
	struct import_stats st = {0};
	struct store_txn *txn;
	struct fx *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	f->dir = test_tmpdir("mailmod");
	assert_non_null(f->dir);
	assert_int_equal(store_open(f->dir, 0, &f->store), 0);
	assert_int_equal(import_path(f->store, "tests/data/demo-week.mbox",
				     &io, &st),
			 0);
	assert_int_equal(config_init(&f->cfg), 0);
	set(&f->cfg.bot_address, "bot@example.test");
	set(&f->cfg.digest_recipients, "list@example.test");
	set(&f->cfg.moderators, "carol@example.test, dan@example.test");
	set(&f->cfg.moderation, "digest");
	set(&f->cfg.token_secret, "mailer-moderation-test-secret");
	set(&f->cfg.smtp_url, "smtp://127.0.0.1:1");
	assert_int_equal(store_begin(f->store, 1, &txn), 0);
	/* nothing leaves: the test reads the outbox */
	assert_int_equal(store_set_paused(txn, 1), 0);
	assert_int_equal(subscriber_add(txn, "zed@example.test", "zh", NOW),
			 0);
	assert_int_equal(store_commit(txn), 0);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fx *f = *state;
	char cmd[600];

	store_close(f->store);
	config_release(&f->cfg);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
	if (system(cmd) != 0)
		print_message("could not remove %s\n", f->dir);
	free(f->dir);
	free(f);
	return 0;
}

static struct outs *
outbox(struct fx *f)
{
	struct outs *o = calloc(1, sizeof(*o));

	assert_non_null(o);
	o->n = test_outbox_read(f->store, &o->v);
	assert_true(o->n <= MAX_OUT);
	return o;
}

static void
outs_free(struct outs *o)
{
	test_outbox_free(o->v, o->n);
	free(o);
}

static size_t
count_subject(const struct outs *o, const char *needle)
{
	size_t n = 0;

	for (size_t i = 0; i < o->n; i++)
		n += strstr(o->v[i].m.subject, needle) != NULL;
	return n;
}

static const struct test_outbox_mail *
to(const struct outs *o, const char *rcpt, const char *subject)
{
	for (size_t i = 0; i < o->n; i++)
		if (!strcmp(o->v[i].rcpt, rcpt) &&
		    strstr(o->v[i].m.subject, subject))
			return &o->v[i];
	return NULL;
}

static void
get_item(struct fx *f, unsigned id, struct moderation_item *it)
{
	struct store_txn *txn;

	assert_int_equal(store_begin(f->store, 0, &txn), 0);
	assert_int_equal(moderation_get(txn, id, it), 0);
	store_abort(txn);
}

/* Held: only the moderators get the numbered draft, once per window. */
static void
test_mailer_hold_draft(void **state)
{
	struct fx *f = *state;
	struct moderation_item it;
	const struct test_outbox_mail *x;
	struct outs *o;
	char tok[TOKEN_MAX];

	assert_int_equal(mailer_queue_digest(f->store, &f->cfg, SINCE, UNTIL,
					     NOW, NULL),
			 0);
	assert_int_equal(mailer_queue_digest(f->store, &f->cfg, SINCE, UNTIL,
					     NOW + 60, NULL),
			 1);
	o = outbox(f);
	assert_int_equal(o->n, 1);
	x = &o->v[0];
	assert_string_equal(x->rcpt, "carol@example.test,dan@example.test");
	assert_non_null(strstr(x->key, "hold:"));
	get_item(f, 1, &it);
	assert_int_equal(it.state, MODERATION_HELD);
	assert_int_equal(it.kind, MODERATION_DIGEST);
	assert_int_equal(it.since, SINCE);
	assert_int_equal(it.n_threads, 35);
	assert_int_equal(it.deadline, NOW + 48 * 3600);
	assert_string_equal(it.draft_id, x->m.message_id);
	assert_int_equal(moderation_token(&f->cfg, &it, tok, sizeof(tok)), 0);
	/* the token is in the subject and in the approve line */
	assert_non_null(strstr(x->m.subject, "[hold #1 "));
	assert_non_null(strstr(x->m.subject, tok));
	{
		char line[200];

		snprintf(line, sizeof(line), "approve 1 %s", tok);
		assert_non_null(strstr(x->m.body, line));
	}
	/* items are numbered in the draft, in the frozen order */
	assert_non_null(strstr(x->m.body, "<1> "));
	assert_non_null(strstr(x->m.body, "<35> "));
	assert_null(strstr(x->m.body, "<36> "));
	moderation_item_release(&it);
	assert_int_equal(count_subject(o, "digest]"), 1);
	outs_free(o);
}

/* One reminder before the deadline, then expiry, audited. */
static void
test_mailer_remind_expire(void **state)
{
	struct fx *f = *state;
	struct moderation_item it;
	struct outs *o;
	int64_t next = 0, deadline;
	char audit[600];

	assert_int_equal(mailer_queue_digest(f->store, &f->cfg, SINCE, UNTIL,
					     NOW, NULL),
			 0);
	deadline = NOW + 48 * 3600;
	/* quiet until 12 hours before the deadline; the tick says when */
	assert_int_equal(mailer_tick_dir(f->store, &f->cfg, f->dir, NOW + 10,
					 &next),
			 0);
	assert_true(next <= deadline - 12 * 3600);
	o = outbox(f);
	assert_int_equal(count_subject(o, "Reminder:"), 0);
	outs_free(o);
	assert_int_equal(mailer_tick_dir(f->store, &f->cfg, f->dir,
					 deadline - 12 * 3600, &next),
			 0);
	assert_int_equal(mailer_tick_dir(f->store, &f->cfg, f->dir,
					 deadline - 11 * 3600, &next),
			 0);
	o = outbox(f);
	assert_int_equal(count_subject(o, "Reminder: [hold #1 "), 1);
	outs_free(o);
	get_item(f, 1, &it);
	assert_int_equal(it.state, MODERATION_HELD);
	assert_int_equal(it.reminded, deadline - 12 * 3600);
	moderation_item_release(&it);
	assert_int_equal(mailer_tick_dir(f->store, &f->cfg, f->dir, deadline,
					 &next),
			 0);
	get_item(f, 1, &it);
	assert_int_equal(it.state, MODERATION_EXPIRED);
	moderation_item_release(&it);
	snprintf(audit, sizeof(audit), "%s/audit.log", f->dir);
	{
		char *log = test_read_file(audit, NULL);

		assert_non_null(log);
		assert_non_null(strstr(log, "kvmarm-bot expire 1 ok"));
		free(log);
	}
	/* an expired window is not held again by a later tick */
	assert_int_equal(mailer_queue_digest(f->store, &f->cfg, SINCE, UNTIL,
					     deadline + 60, NULL),
			 1);
}

/* Approved with an edit: the list and the subscriber get it, once. */
static void
test_mailer_release_edits(void **state)
{
	struct fx *f = *state;
	struct moderation_item it;
	struct store_txn *txn;
	const struct test_outbox_mail *list, *zed;
	const char *why = NULL;
	struct outs *o;
	char first[300];

	assert_int_equal(mailer_queue_digest(f->store, &f->cfg, SINCE, UNTIL,
					     NOW, NULL),
			 0);
	/* the title of item <1> as the draft shows it */
	o = outbox(f);
	{
		const char *p = strstr(o->v[0].m.body, "<1> ");
		size_t n;

		assert_non_null(p);
		p += 4;
		n = strcspn(p, "\n");
		snprintf(first, sizeof(first), "%.*s", (int)n, p);
	}
	outs_free(o);
	assert_int_equal(store_begin(f->store, 1, &txn), 0);
	assert_int_equal(moderation_decide(txn, &f->cfg, f->dir, 1, NULL,
					   "cli:test", MODERATION_DROP, 1,
					   NULL, NOW + 60, &why, NULL),
			 0);
	assert_int_equal(moderation_decide(txn, &f->cfg, f->dir, 1, NULL,
					   "cli:test", MODERATION_FIX, 2,
					   "A summary a maintainer wrote.",
					   NOW + 60, &why, NULL),
			 0);
	assert_int_equal(moderation_decide(txn, &f->cfg, f->dir, 1, NULL,
					   "cli:test", MODERATION_APPROVE, 0,
					   NULL, NOW + 120, &why, &it),
			 0);
	assert_int_equal(mailer_release(txn, &f->cfg, &it, NOW + 120), 0);
	assert_int_equal(mailer_release(txn, &f->cfg, &it, NOW + 180), 1);
	moderation_item_release(&it);
	assert_int_equal(store_commit(txn), 0);

	o = outbox(f);
	list = to(o, "list@example.test", "[kvmarm digest]");
	zed = to(o, "zed@example.test", "[kvmarm 周报]");
	assert_non_null(list);
	assert_non_null(zed);
	assert_int_equal(count_subject(o, "digest]") +
				 count_subject(o, "周报]"),
			 1 + 2);	/* the draft, then one each */
	/* the dropped thread is gone, the fixed text is in, no numbers */
	assert_null(strstr(list->m.body, first));
	assert_non_null(strstr(list->m.body, "A summary a maintainer wrote."));
	assert_non_null(strstr(list->m.body, "Summary (written by the "
					     "moderators):"));
	assert_null(strstr(list->m.body, "<2> "));
	assert_non_null(strstr(list->m.body, "Unsubscribe: mail "
					     "bot+unsubscribe@example.test"));
	assert_string_equal(list->m.precedence, "bulk");
	assert_string_equal(list->m.list_id,
			    "kvmarm digest <kvmarm-digest.example.test>");
	/* the subscriber's copy: Chinese, personal unsubscribe token */
	assert_non_null(strstr(zed->m.body, "退订"));
	assert_null(strstr(zed->m.body, first));
	outs_free(o);
	{
		char *raw = NULL;
		struct store_txn *t;
		const void *v;
		size_t vl;
		char *id = NULL, key[64];

		snprintf(key, sizeof(key), "digest:%d:%d", SINCE, UNTIL);
		assert_int_equal(store_begin(f->store, 0, &t), 0);
		assert_int_equal(outbox_find_key(t, key, &id), 0);
		free(id);
		(void)raw;
		(void)v;
		(void)vl;
		store_abort(t);
	}
}

TEST_LIST(mailer_moderation,
	  cmocka_unit_test_setup_teardown(test_mailer_hold_draft, setup,
					  teardown),
	  cmocka_unit_test_setup_teardown(test_mailer_remind_expire, setup,
					  teardown),
	  cmocka_unit_test_setup_teardown(test_mailer_release_edits, setup,
					  teardown));
