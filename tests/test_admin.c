/*
 * test_admin.c - `kvmarm-bot subscribers`, `pause` and `resume` as the
 * operator types them: the sanitized binary on a state made by
 * `import` of a tiny mbox, its output, exit codes and messages, bad
 * input, and a write while another process holds the writer lock.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "store.h"
#include "subscriber.h"
#include "testutil.h"

static const char tiny_mbox[] =
	"From alice@example.org Mon Sep  8 10:00:00 2025\n"
	"From: Alice <alice@example.org>\n"
	"To: kvmarm@lists.linux.dev\n"
	"Subject: [PATCH] KVM: arm64: tiny\n"
	"Date: Mon, 8 Sep 2025 10:00:00 +0000\n"
	"Message-ID: <tiny-1@example.org>\n"
	"\n"
	"A tiny patch.\n"
	"\n"
	"From bob@example.org Mon Sep  8 11:00:00 2025\n"
	"From: Bob <bob@example.org>\n"
	"To: kvmarm@lists.linux.dev\n"
	"Subject: Re: [PATCH] KVM: arm64: tiny\n"
	"Date: Mon, 8 Sep 2025 11:00:00 +0000\n"
	"Message-ID: <tiny-2@example.org>\n"
	"In-Reply-To: <tiny-1@example.org>\n"
	"\n"
	"Looks fine.\n";

struct env {
	char *dir;
	char state[4200];
};

/* Run the bot with --state; out and err are freed by the next call. */
static int
bot(struct env *e, char **out, char **err, ...)
{
	char *argv[16];
	va_list ap;
	int n = 0, r;

	free(*out);
	free(*err);
	*out = *err = NULL;
	argv[n++] = "--state";
	argv[n++] = e->state;
	va_start(ap, err);
	while (n < 15 && (argv[n] = va_arg(ap, char *)))
		n++;
	va_end(ap);
	argv[n] = NULL;
	r = test_run_bot(argv, out, err);
	assert_non_null(*out);
	assert_non_null(*err);
	return r;
}

static void
make_state(struct env *e)
{
	char mbox[4200], *out = NULL, *err = NULL;

	e->dir = test_tmpdir("admin");
	assert_non_null(e->dir);
	snprintf(e->state, sizeof(e->state), "%s/state", e->dir);
	snprintf(mbox, sizeof(mbox), "%s/tiny.mbox", e->dir);
	assert_int_equal(test_write_file(mbox, tiny_mbox,
					 sizeof(tiny_mbox) - 1),
			 0);
	assert_int_equal(bot(e, &out, &err, "import", mbox, NULL), 0);
	assert_string_equal(out, "imported 2, duplicates 0, rejected 0\n");
	free(out);
	free(err);
	unlink(mbox);
}

static void
today(char *buf, size_t len)
{
	time_t t = time(NULL);
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(buf, len, "%Y-%m-%d", &tm);
}

static void
test_admin_subscribers(void **state)
{
	char *out = NULL, *err = NULL, day[16], want[256], before[16];
	struct env e;

	make_state(&e);
	today(before, sizeof(before));

	assert_int_equal(bot(&e, &out, &err, "subscribers", "list", NULL), 0);
	assert_string_equal(out, "");
	assert_non_null(strstr(err, "kvmarm-bot: subscribers: no subscribers"));

	assert_int_equal(bot(&e, &out, &err, "subscribers", "add",
			     "Alice@Example.ORG", "--lang", "zh", NULL),
			 0);
	assert_non_null(strstr(out, "added alice@example.org zh "));
	assert_int_equal(bot(&e, &out, &err, "subscribers", "add",
			     "bob@example.org", NULL),
			 0);
	assert_non_null(strstr(out, "added bob@example.org en "));
	/* Again, other language: updated, date kept. */
	assert_int_equal(bot(&e, &out, &err, "subscribers", "add", "--lang",
			     "en", "ALICE@example.org", NULL),
			 0);
	assert_non_null(strstr(out, "updated alice@example.org en "));

	assert_int_equal(bot(&e, &out, &err, "subscribers", "list", NULL), 0);
	today(day, sizeof(day));
	if (strcmp(day, before) && strstr(out, before))
		memcpy(day, before, sizeof(day));	/* run over midnight */
	snprintf(want, sizeof(want),
		 "alice@example.org en %s\nbob@example.org en %s\n", day, day);
	assert_string_equal(out, want);
	assert_string_equal(err, "");

	assert_int_equal(bot(&e, &out, &err, "subscribers", "remove",
			     "Alice@example.org", NULL),
			 0);
	assert_non_null(strstr(out, "removed "));
	assert_int_equal(bot(&e, &out, &err, "subscribers", "remove",
			     "alice@example.org", NULL),
			 1);
	assert_non_null(strstr(err, "kvmarm-bot: subscribers: "
				    "'alice@example.org' is not subscribed"));
	assert_int_equal(bot(&e, &out, &err, "subscribers", "list", NULL), 0);
	snprintf(want, sizeof(want), "bob@example.org en %s\n", day);
	assert_string_equal(out, want);
	free(out);
	free(err);
	free(e.dir);
}

static int
lines(const char *s)
{
	int n = 0;

	for (; *s; s++)
		n += *s == '\n';
	return n;
}

static void
test_admin_bad_input(void **state)
{
	static const char *const bad[] = {
		"x@example.org\r\nBcc: eve@evil.example",
		"x@example.org\n",
		"no-at-sign",
		"\"quoted\"@example.org",
		"<x@example.org>",
		"a@b@example.org",
		"x@nodot",
		"sp ace@example.org",
	};
	char *out = NULL, *err = NULL, longaddr[400];
	struct env e;

	make_state(&e);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(bot(&e, &out, &err, "subscribers", "add",
				     bad[i], NULL),
				 2);
		assert_string_equal(out, "");
		assert_non_null(strstr(err, "kvmarm-bot: subscribers: '"));
		assert_non_null(strstr(err, "' is not a usable address"));
		/* The echo cannot break the line: exactly one line. */
		assert_int_equal(lines(err), 1);
		assert_null(strchr(err, '\r'));
	}
	memset(longaddr, 'a', sizeof(longaddr) - 1);
	longaddr[sizeof(longaddr) - 1] = '\0';
	memcpy(longaddr + 300, "@example.org", 12);
	longaddr[312] = '\0';
	assert_int_equal(bot(&e, &out, &err, "subscribers", "add", longaddr,
			     NULL),
			 2);
	assert_non_null(strstr(err, "at most 254 bytes"));
	assert_non_null(strstr(err, "..."));

	assert_int_equal(bot(&e, &out, &err, "subscribers", "add",
			     "x@example.org", "--lang", "de", NULL),
			 2);
	assert_non_null(strstr(err, "--lang must be en or zh, not 'de'"));
	assert_int_equal(bot(&e, &out, &err, "subscribers", "add", NULL), 2);
	assert_non_null(strstr(err, "add needs an ADDRESS"));
	assert_int_equal(bot(&e, &out, &err, "subscribers", "add",
			     "x@example.org", "y@example.org", NULL),
			 2);
	assert_int_equal(bot(&e, &out, &err, "subscribers", "remove",
			     "x@example.org", "--lang", "en", NULL),
			 2);
	assert_int_equal(bot(&e, &out, &err, "subscribers", "list", "x",
			     NULL),
			 2);
	assert_int_equal(bot(&e, &out, &err, "subscribers", NULL), 2);
	assert_non_null(strstr(err, "say list, add or remove"));
	assert_int_equal(bot(&e, &out, &err, "subscribers", "drop", NULL), 2);
	assert_non_null(strstr(err, "unknown subcommand 'drop'"));
	assert_int_equal(bot(&e, &out, &err, "pause", "now", NULL), 2);
	assert_int_equal(bot(&e, &out, &err, "resume", "--status", NULL), 2);

	/* Nothing of the above was stored. */
	assert_int_equal(bot(&e, &out, &err, "subscribers", "list", NULL), 0);
	assert_string_equal(out, "");

	/* --help is not an error. */
	assert_int_equal(bot(&e, &out, &err, "subscribers", "--help", NULL),
			 0);
	assert_non_null(strstr(out, "subscribers add ADDRESS"));
	assert_int_equal(bot(&e, &out, &err, "pause", "--help", NULL), 0);
	assert_non_null(strstr(out, "pause [--status]"));

	/* No store there: exit 1, and the shared open creates nothing. */
	snprintf(e.state, sizeof(e.state), "%s", e.dir);
	assert_int_equal(bot(&e, &out, &err, "subscribers", "add",
			     "x@example.org", NULL),
			 1);
	assert_non_null(strstr(err, "no store in"));
	assert_int_equal(bot(&e, &out, &err, "pause", NULL), 1);
	char path[4300];
	snprintf(path, sizeof(path), "%s/data.mdb", e.dir);
	assert_int_not_equal(access(path, F_OK), 0);

	/* No state directory at all: misuse. */
	char *argv[] = {"subscribers", "list", NULL};
	free(out);
	free(err);
	assert_int_equal(test_run_bot(argv, &out, &err), 2);
	assert_non_null(strstr(err, "no state directory"));
	free(out);
	free(err);
	free(e.dir);
}

static void
test_admin_pause_resume(void **state)
{
	char *out = NULL, *err = NULL;
	struct store_txn *txn;
	struct subscriber sub;
	struct store *s;
	struct env e;

	make_state(&e);
	assert_int_equal(bot(&e, &out, &err, "pause", "--status", NULL), 0);
	assert_string_equal(out, "not paused\n");
	assert_int_equal(bot(&e, &out, &err, "pause", NULL), 0);
	assert_string_equal(out, "paused\n");
	assert_int_equal(bot(&e, &out, &err, "pause", NULL), 0);
	assert_string_equal(out, "paused\n");
	assert_int_equal(bot(&e, &out, &err, "pause", "--status", NULL), 0);
	assert_string_equal(out, "paused\n");

	/*
	 * Beside a writer: this process holds the writer lock, as the
	 * daemon does; resume and subscribers add still go through, and
	 * the writer sees them in its next transaction.
	 */
	assert_int_equal(store_open(e.state, STORE_OPEN_WRITE, &s), 0);
	assert_int_equal(bot(&e, &out, &err, "resume", NULL), 0);
	assert_string_equal(out, "not paused\n");
	assert_int_equal(bot(&e, &out, &err, "subscribers", "add",
			     "dora@example.org", "--lang", "zh", NULL),
			 0);
	assert_int_equal(store_begin(s, 0, &txn), 0);
	assert_int_equal(store_paused(txn), 0);
	assert_int_equal(subscriber_get(txn, "dora@example.org", &sub), 0);
	assert_string_equal(sub.lang, "zh");
	store_abort(txn);
	/* import, the other kind of writer, is refused meanwhile. */
	assert_int_equal(bot(&e, &out, &err, "import", "/dev/null", NULL), 1);
	assert_non_null(strstr(err, "in use by another kvmarm-bot"));
	store_close(s);

	assert_int_equal(bot(&e, &out, &err, "pause", "--status", NULL), 0);
	assert_string_equal(out, "not paused\n");
	free(out);
	free(err);
	free(e.dir);
}

TEST_LIST(admin,
	  cmocka_unit_test(test_admin_subscribers),
	  cmocka_unit_test(test_admin_bad_input),
	  cmocka_unit_test(test_admin_pause_resume));
