/*
 * testutil.h - helpers shared by the tests.
 *
 * Tests run from the repository root (tests/run makes sure of it).
 */
#ifndef KVMARM_TESTUTIL_H
#define KVMARM_TESTUTIL_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "message.h"

struct store;

/* Declare a module's test list: TEST_LIST(message, cmocka_unit_test(...)...) */
#define TEST_LIST(name, ...) \
	const struct CMUnitTest name##_tests[] = { __VA_ARGS__ }; \
	const size_t name##_tests_count = \
		sizeof(name##_tests) / sizeof(name##_tests[0])

/*
 * The shared mail corpora: $KVMARM_CORPORA, else ../shared/corpora.
 * Returns NULL (after printing a visible SKIP notice naming the caller)
 * when absent; the caller then calls skip().
 */
const char *test_corpora(const char *who);

/* A fresh empty directory under $TMPDIR, or NULL; the path is
 * malloc'd and the caller frees it. */
char *test_tmpdir(const char *tag);

/* Read a whole file; malloc'd, NUL-terminated; NULL on failure. */
char *test_read_file(const char *path, size_t *len);

/* Write len bytes to path; 0 or -1. */
int test_write_file(const char *path, const void *data, size_t len);

/*
 * Run the sanitized bot binary (build/asan/kvmarm-bot) with the given
 * argument vector (NULL-terminated, without argv[0]); capture stdout and
 * stderr into malloc'd strings (either pointer may be NULL).  Returns
 * the exit status, or -1 when it did not exit normally.
 */
int test_run_bot(char *const argv[], char **out, char **err);

/*
 * One mail of the outbox (a STORE_DB_OUTBOX "m:" record, outbox.h),
 * parsed back: the record's state byte, its idempotency key, its
 * recipient and the raw mail (len bytes, NUL-terminated), which m was
 * parsed from.  All owned by the struct; test_outbox_free() releases.
 */
struct test_outbox_mail {
	char state;
	char *key;
	char *rcpt;
	char *raw;
	size_t len;
	struct message m;
};

/*
 * Every mail in s's outbox, in key order, in one read transaction.
 * *out is a malloc'd array (NULL when empty) of the returned count.
 * A record that is not "state\nkey\nrcpt\nmail" or a mail that does
 * not parse fails the calling test (cmocka assertion), as does a
 * store error.
 */
size_t test_outbox_read(struct store *s, struct test_outbox_mail **out);

/* Release what test_outbox_read() returned (v may be NULL). */
void test_outbox_free(struct test_outbox_mail *v, size_t n);

/* Path of the sanitized bot binary. */
#define TEST_BOT "build/asan/kvmarm-bot"

#endif
