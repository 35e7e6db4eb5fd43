/*
 * test_moderate_cli.c - `kvmarm-bot moderate` as a maintainer runs it:
 * list on an empty store, a digest held through the API rejected from
 * the command line (then shown as REJECTED, listed, and audited as
 * cli:USER), a held reply approved into the outbox exactly once, an
 * unknown id and bad arguments.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "moderation.h"
#include "outbox.h"
#include "store.h"
#include "testutil.h"

/* 2025-09-15T09:00:00Z */
#define T0 1757926800

static char *
new_store(void)
{
	char *dir = test_tmpdir("moderate-cli");
	struct store *s;

	assert_non_null(dir);
	assert_int_equal(store_open(dir, STORE_OPEN_WRITE, &s), 0);
	store_close(s);
	return dir;
}

static void
hold_one(const char *dir)
{
	static const char *const roots[] = {"a1@x", "b1@x"};
	struct moderation_item it = {0};
	struct store_txn *txn;
	struct config cfg;
	struct store *s;

	assert_int_equal(config_init(&cfg), 0);
	assert_int_equal(store_open(dir, STORE_OPEN_WRITE, &s), 0);
	assert_int_equal(store_begin(s, 1, &txn), 0);
	it.kind = MODERATION_DIGEST;
	it.since = 1757289600;	/* 2025-09-08 */
	it.until = 1757894400;	/* 2025-09-15 */
	it.threads = calloc(2, sizeof(char *));
	assert_non_null(it.threads);
	for (size_t i = 0; i < 2; i++) {
		it.threads[i] = strdup(roots[i]);
		assert_non_null(it.threads[i]);
	}
	it.n_threads = 2;
	assert_int_equal(moderation_hold(txn, &cfg, &it, T0), 0);
	assert_int_equal(it.id, 1);
	assert_int_equal(store_commit(txn), 0);
	store_close(s);
	moderation_item_release(&it);
	config_release(&cfg);
}

static int
run(const char *dir, char **out, char **err, const char *a1,
    const char *a2, const char *a3, const char *a4)
{
	char *argv[] = {"--state", (char *)dir, "moderate", (char *)a1,
			(char *)a2, (char *)a3, (char *)a4, NULL};

	return test_run_bot(argv, out, err);
}

static void
test_moderate_cli_empty_list(void **state)
{
	char *dir = new_store(), *out = NULL, *err = NULL;

	assert_int_equal(run(dir, &out, &err, "list", NULL, NULL, NULL), 0);
	assert_string_equal(out, "");
	assert_non_null(strstr(err, "no held or decided items"));
	free(out);
	free(err);
	free(dir);
}

static void
test_moderate_cli_reject_show(void **state)
{
	char *dir = new_store(), *out = NULL, *err = NULL, *audit, path[4096];
	size_t len;

	hold_one(dir);
	setenv("USER", "tester", 1);

	assert_int_equal(run(dir, &out, &err, "list", NULL, NULL, NULL), 0);
	assert_string_equal(out, "1 HELD digest 2025-09-15T09:00:00Z "
				 "2025-09-17T09:00:00Z "
				 "2025-09-08T00:00:00Z.."
				 "2025-09-15T00:00:00Z\n");
	free(out);
	free(err);

	assert_int_equal(run(dir, &out, &err, "reject", "1", "too",
			     "early"), 0);
	assert_string_equal(out, "item 1 rejected\n");
	free(out);
	free(err);

	assert_int_equal(run(dir, &out, &err, "show", "1", NULL, NULL), 0);
	assert_non_null(strstr(out, "item: 1\nkind: digest\n"
				    "state: REJECTED\n"));
	assert_non_null(strstr(out, " by cli:tester\n"));
	assert_non_null(strstr(out, "reason: too early\n"));
	assert_non_null(strstr(out, "window: 2025-09-08T00:00:00Z .. "
				    "2025-09-15T00:00:00Z\n"));
	assert_non_null(strstr(out, "threads: 2\n  <1> <a1@x>\n  <2> <b1@x>\n"
				    "edits: 0\n"));
	free(out);
	free(err);

	assert_int_equal(run(dir, &out, &err, "list", NULL, NULL, NULL), 0);
	assert_true(!strncmp(out, "1 REJECTED digest ", 18));
	free(out);
	free(err);

	/* Once decided, it stays decided. */
	assert_int_equal(run(dir, &out, &err, "reject", "1", NULL, NULL), 1);
	assert_non_null(strstr(err, "reject 1: item already rejected"));
	free(out);
	free(err);

	snprintf(path, sizeof(path), "%s/audit.log", dir);
	audit = test_read_file(path, &len);
	assert_non_null(audit);
	assert_non_null(strstr(audit, "Z cli:tester reject 1 ok: too "
				      "early\n"));
	assert_non_null(strstr(audit, "Z cli:tester reject 1 refused: item "
				      "already rejected\n"));
	free(audit);
	free(dir);
}

static void
test_moderate_cli_approve_reply(void **state)
{
	static const char raw[] = "From: bot@example.test\r\n"
				  "To: alice@example.test\r\n"
				  "Subject: Re: [PATCH] x\r\n"
				  "Message-ID: <held-1@example.test>\r\n"
				  "\r\nThe summary.\r\n";
	char *dir = new_store(), *out = NULL, *err = NULL;
	struct moderation_item it = {0};
	struct outbox_item ob;
	struct store_txn *txn;
	struct config cfg;
	struct store *s;

	assert_int_equal(config_init(&cfg), 0);
	assert_int_equal(store_open(dir, STORE_OPEN_WRITE, &s), 0);
	assert_int_equal(store_begin(s, 1, &txn), 0);
	it.kind = MODERATION_REPLY;
	it.message_id = strdup("held-1@example.test");
	it.raw = strdup(raw);
	it.raw_len = strlen(raw);
	it.rcpt = calloc(1, sizeof(char *));
	assert_non_null(it.rcpt);
	it.rcpt[0] = strdup("alice@example.test");
	it.n_rcpt = 1;
	assert_int_equal(moderation_hold(txn, &cfg, &it, T0), 0);
	assert_int_equal(store_commit(txn), 0);
	store_close(s);
	moderation_item_release(&it);
	config_release(&cfg);

	setenv("USER", "tester", 1);
	assert_int_equal(run(dir, &out, &err, "show", "1", NULL, NULL), 0);
	assert_non_null(strstr(out, "kind: reply\nstate: HELD\n"));
	assert_non_null(strstr(out, "recipients: alice@example.test\n"));
	assert_non_null(strstr(out, "  Subject: Re: [PATCH] x\n"));
	free(out);
	free(err);

	assert_int_equal(run(dir, &out, &err, "approve", "1", NULL, NULL), 0);
	assert_string_equal(out, "item 1 approved: queued for sending\n");
	free(out);
	free(err);
	assert_int_equal(run(dir, &out, &err, "approve", "1", NULL, NULL), 1);
	assert_non_null(strstr(err, "approve 1: item already approved"));
	free(out);
	free(err);

	/* The held bytes are in the outbox, for the one recipient. */
	assert_int_equal(store_open(dir, STORE_OPEN_READ, &s), 0);
	assert_int_equal(store_begin(s, 0, &txn), 0);
	assert_int_equal(outbox_get(txn, "held-1@example.test", &ob), 0);
	assert_int_equal(ob.state, OUTBOX_QUEUED);
	assert_int_equal(ob.raw_len, strlen(raw));
	assert_string_equal(ob.rcpt, "alice@example.test");
	outbox_item_release(&ob);
	store_abort(txn);
	store_close(s);
	free(dir);
}

static void
test_moderate_cli_unknown_and_misuse(void **state)
{
	char *dir = new_store(), *out = NULL, *err = NULL;

	assert_int_equal(run(dir, &out, &err, "approve", "9", NULL, NULL), 1);
	assert_non_null(strstr(err, "moderate: approve 9: unknown item"));
	assert_string_equal(out, "");
	free(out);
	free(err);
	assert_int_equal(run(dir, &out, &err, "show", "9", NULL, NULL), 1);
	assert_non_null(strstr(err, "show 9: unknown item"));
	free(out);
	free(err);
	assert_int_equal(run(dir, &out, &err, "approve", "x", NULL, NULL), 2);
	assert_non_null(strstr(err, "approve needs an item ID"));
	free(out);
	free(err);
	assert_int_equal(run(dir, &out, &err, "drop", "1", NULL, NULL), 2);
	assert_non_null(strstr(err, "thread number N"));
	free(out);
	free(err);
	assert_int_equal(run(dir, &out, &err, "frobnicate", NULL, NULL, NULL),
			 2);
	assert_non_null(strstr(err, "unknown subcommand 'frobnicate'"));
	free(out);
	free(err);
	free(dir);
}

TEST_LIST(moderate_cli,
	  cmocka_unit_test(test_moderate_cli_empty_list),
	  cmocka_unit_test(test_moderate_cli_reject_show),
	  cmocka_unit_test(test_moderate_cli_approve_reply),
	  cmocka_unit_test(test_moderate_cli_unknown_and_misuse),
);
