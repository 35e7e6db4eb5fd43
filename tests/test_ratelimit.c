/*
 * test_ratelimit.c - sliding-window limits: the limit holds exactly,
 * events leave the window one by one, no hour (any hour, not only
 * clock hours) sees more than the limit, check does not count, an
 * aborted transaction does not count, stale logs are pruned.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ratelimit.h"
#include "store.h"
#include "testutil.h"

#define HOUR 3600
/* 2025-09-08 10:59:00 UTC: one minute before a clock hour */
#define T0 1757329140

static struct store *
open_store(char **dir)
{
	struct store *s;

	*dir = test_tmpdir("ratelimit");
	assert_non_null(*dir);
	assert_int_equal(store_open(*dir, STORE_OPEN_WRITE, &s), 0);
	return s;
}

static void
close_store(struct store *s, char *dir)
{
	static const char *const files[] = {"data.mdb", "lock.mdb",
					    "bot.lock"};
	char path[4200];

	store_close(s);
	for (size_t i = 0; i < 3; i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, files[i]);
		unlink(path);
	}
	rmdir(dir);
	free(dir);
}

/* One take in its own committed transaction. */
static int
take(struct store *s, const char *who, int limit, int64_t period,
     int64_t now)
{
	struct store_txn *txn;
	int r;

	assert_int_equal(store_begin(s, 1, &txn), 0);
	r = ratelimit_take(txn, "summarize", who, limit, period, now);
	assert_int_equal(store_commit(txn), 0);
	return r;
}

static void
test_ratelimit_limit_exact(void **state)
{
	struct store_txn *txn;
	const void *v;
	size_t vlen;
	struct store *s;
	char *dir;

	s = open_store(&dir);
	for (int i = 0; i < 5; i++)
		assert_int_equal(take(s, "alice@x.org", 5, HOUR, T0 + i), 1);
	assert_int_equal(take(s, "alice@x.org", 5, HOUR, T0 + 5), 0);
	assert_int_equal(take(s, "alice@x.org", 5, HOUR, T0 + 6), 0);
	/* Another sender has a log of their own. */
	assert_int_equal(take(s, "bob@x.org", 5, HOUR, T0 + 6), 1);

	/* The log: key "summarize\0alice@x.org", five big-endian times. */
	assert_int_equal(store_begin(s, 0, &txn), 0);
	assert_int_equal(store_kv_get(txn, STORE_DB_RATE,
				      "summarize\0alice@x.org", 21, &v, &vlen),
			 0);
	assert_int_equal(vlen, 5 * 8);
	for (int i = 0; i < 5; i++) {
		const unsigned char *p = (const unsigned char *)v + 8 * i;
		uint64_t t = 0;

		for (int j = 0; j < 8; j++)
			t = t << 8 | p[j];
		assert_int_equal(t, T0 + i);
	}
	store_abort(txn);
	close_store(s, dir);
}

/* Events leave the window one at a time, exactly period after them. */
static void
test_ratelimit_window_slides(void **state)
{
	struct store *s;
	char *dir;

	s = open_store(&dir);
	/* Three events 10 minutes apart, limit 3 per hour. */
	for (int i = 0; i < 3; i++)
		assert_int_equal(take(s, "a@x.org", 3, HOUR, T0 + 600 * i), 1);
	assert_int_equal(take(s, "a@x.org", 3, HOUR, T0 + HOUR - 1), 0);
	/* At T0 + HOUR the first event is outside (now - period, now]. */
	assert_int_equal(take(s, "a@x.org", 3, HOUR, T0 + HOUR), 1);
	assert_int_equal(take(s, "a@x.org", 3, HOUR, T0 + HOUR + 1), 0);
	assert_int_equal(take(s, "a@x.org", 3, HOUR, T0 + HOUR + 599), 0);
	assert_int_equal(take(s, "a@x.org", 3, HOUR, T0 + HOUR + 600), 1);
	assert_int_equal(take(s, "a@x.org", 3, HOUR, T0 + HOUR + 1199), 0);
	assert_int_equal(take(s, "a@x.org", 3, HOUR, T0 + HOUR + 1200), 1);
	assert_int_equal(take(s, "a@x.org", 3, HOUR, T0 + HOUR + 1200), 0);
	close_store(s, dir);
}

/*
 * A flood of one request every 7 seconds for three hours, starting
 * just before a clock hour: a fixed window would allow 2 * limit
 * around the boundary; the sliding one allows at most limit in every
 * hour-long span, whichever second it starts at.
 */
static void
test_ratelimit_flood_across_hours(void **state)
{
	enum { LIMIT = 5, STEP = 7, SPAN = 3 * HOUR };
	int64_t allowed[SPAN / STEP + 1];
	struct store_txn *txn;
	struct store *s;
	char *dir;
	int n = 0;

	s = open_store(&dir);
	assert_int_equal(store_begin(s, 1, &txn), 0);
	for (int64_t t = T0 - 30; t < T0 - 30 + SPAN; t += STEP) {
		int r = ratelimit_take(txn, "summarize", "Flood@X.org", LIMIT,
				       HOUR, t);

		assert_true(r == 0 || r == 1);
		if (r)
			allowed[n++] = t;
	}
	assert_int_equal(store_commit(txn), 0);
	/* Three hours give exactly three windows' worth, no more. */
	assert_int_equal(n, 3 * LIMIT);
	for (int64_t start = T0 - 30 - HOUR; start < T0 + SPAN; start++) {
		int in = 0;

		for (int i = 0; i < n; i++)
			if (allowed[i] >= start && allowed[i] < start + HOUR)
				in++;
		assert_true(in <= LIMIT);
	}
	/* Case folding: the same sender however spelled. */
	assert_int_equal(take(s, "flood@x.org", LIMIT, HOUR,
			      allowed[n - 1] + 1),
			 0);
	close_store(s, dir);
}

static void
test_ratelimit_zero_and_huge(void **state)
{
	struct store_txn *txn;
	struct store *s;
	char *dir;
	int n = 0;

	s = open_store(&dir);
	assert_int_equal(store_begin(s, 1, &txn), 0);
	assert_int_equal(ratelimit_take(txn, "b", "a@x.org", 0, HOUR, T0), 0);
	assert_int_equal(ratelimit_check(txn, "b", "a@x.org", 0, HOUR, T0),
			 0);
	assert_int_equal(ratelimit_take(txn, "b", "a@x.org", -3, HOUR, T0),
			 0);
	/* A limit above the cap counts as RATELIMIT_MAX_EVENTS. */
	for (int i = 0; i < RATELIMIT_MAX_EVENTS + 5; i++)
		n += ratelimit_take(txn, "answers", "*", 1 << 30, 86400,
				    T0 + i / 10);
	assert_int_equal(n, RATELIMIT_MAX_EVENTS);
	assert_int_equal(ratelimit_check(txn, "answers", "*", 1 << 30, 86400,
					 T0 + 2000),
			 0);
	/* A bad period is the caller's bug, not "allowed". */
	assert_int_equal(ratelimit_take(txn, "b", "a@x.org", 5, 0, T0), -1);
	store_abort(txn);
	close_store(s, dir);
}

static void
test_ratelimit_check_vs_take(void **state)
{
	struct store_txn *txn;
	struct store *s;
	char *dir;

	s = open_store(&dir);
	assert_int_equal(store_begin(s, 1, &txn), 0);
	for (int i = 0; i < 10; i++)
		assert_int_equal(ratelimit_check(txn, "summarize", "a@x.org",
						 2, HOUR, T0),
				 1);
	assert_int_equal(ratelimit_take(txn, "summarize", "a@x.org", 2, HOUR,
					T0),
			 1);
	assert_int_equal(ratelimit_check(txn, "summarize", "a@x.org", 2, HOUR,
					 T0),
			 1);
	assert_int_equal(ratelimit_take(txn, "summarize", "a@x.org", 2, HOUR,
					T0),
			 1);
	assert_int_equal(ratelimit_check(txn, "summarize", "a@x.org", 2, HOUR,
					 T0),
			 0);
	assert_int_equal(ratelimit_check(txn, "summarize", "a@x.org", 2, HOUR,
					 T0 + HOUR),
			 1);
	/* Buckets are separate. */
	assert_int_equal(ratelimit_check(txn, "help", "a@x.org", 2, HOUR, T0),
			 1);
	assert_int_equal(store_commit(txn), 0);
	close_store(s, dir);
}

/* An event counted in a transaction that is aborted never happened. */
static void
test_ratelimit_abort_does_not_count(void **state)
{
	struct store_txn *txn;
	struct store *s;
	char *dir;

	s = open_store(&dir);
	assert_int_equal(take(s, "a@x.org", 2, HOUR, T0), 1);
	assert_int_equal(store_begin(s, 1, &txn), 0);
	assert_int_equal(ratelimit_take(txn, "summarize", "a@x.org", 2, HOUR,
					T0 + 1),
			 1);
	assert_int_equal(ratelimit_take(txn, "summarize", "a@x.org", 2, HOUR,
					T0 + 2),
			 0);
	store_abort(txn);
	assert_int_equal(take(s, "a@x.org", 2, HOUR, T0 + 3), 1);
	assert_int_equal(take(s, "a@x.org", 2, HOUR, T0 + 4), 0);
	close_store(s, dir);
}

static int
count_logs(const void *k, size_t kl, const void *v, size_t vl, void *ctx)
{
	(*(int *)ctx)++;
	return 0;
}

static void
test_ratelimit_prune(void **state)
{
	char longwho[600];
	struct store_txn *txn;
	struct store *s;
	char *dir;
	int n = 0;

	s = open_store(&dir);
	assert_int_equal(take(s, "old@x.org", 5, HOUR, T0), 1);
	assert_int_equal(take(s, "mixed@x.org", 5, HOUR, T0), 1);
	assert_int_equal(take(s, "mixed@x.org", 5, HOUR, T0 + 2 * 86400), 1);
	assert_int_equal(take(s, "new@x.org", 5, HOUR, T0 + 2 * 86400), 1);
	/* A sender too long for a key is hashed, and still limited. */
	memset(longwho, 'Q', sizeof(longwho) - 1);
	longwho[sizeof(longwho) - 1] = '\0';
	assert_int_equal(take(s, longwho, 1, HOUR, T0), 1);
	assert_int_equal(take(s, longwho, 1, HOUR, T0 + 1), 0);
	longwho[0] = 'R';
	assert_int_equal(take(s, longwho, 1, HOUR, T0 + 1), 1);

	assert_int_equal(store_begin(s, 1, &txn), 0);
	/* A damaged log (not a whole number of times) goes too. */
	assert_int_equal(store_kv_put(txn, STORE_DB_RATE, "summarize\0bad", 13,
				      "12345", 5),
			 0);
	/* Newest event older than a day: old, both long ones, bad. */
	assert_int_equal(ratelimit_prune(txn, T0 + 2 * 86400, 86400), 4);
	assert_int_equal(store_kv_foreach(txn, STORE_DB_RATE, NULL, 0,
					  count_logs, &n),
			 0);
	assert_int_equal(n, 2);
	assert_int_equal(ratelimit_prune(txn, T0 + 2 * 86400, 86400), 0);
	/* The damaged log, read before pruning, would have started afresh. */
	assert_int_equal(ratelimit_check(txn, "summarize", "mixed@x.org", 1,
					 HOUR, T0 + 2 * 86400),
			 0);
	assert_int_equal(store_commit(txn), 0);
	close_store(s, dir);
}

/* A damaged log is read as empty (logged), then rewritten whole. */
static void
test_ratelimit_damaged_log(void **state)
{
	struct store_txn *txn;
	const void *v;
	size_t vlen;
	struct store *s;
	char *dir;

	s = open_store(&dir);
	assert_int_equal(store_begin(s, 1, &txn), 0);
	assert_int_equal(store_kv_put(txn, STORE_DB_RATE, "summarize\0a@x.org",
				      17, "123", 3),
			 0);
	assert_int_equal(ratelimit_take(txn, "summarize", "a@x.org", 1, HOUR,
					T0),
			 1);
	assert_int_equal(store_kv_get(txn, STORE_DB_RATE, "summarize\0a@x.org",
				      17, &v, &vlen),
			 0);
	assert_int_equal(vlen, 8);
	assert_int_equal(ratelimit_take(txn, "summarize", "a@x.org", 1, HOUR,
					T0 + 1),
			 0);
	store_abort(txn);
	close_store(s, dir);
}

TEST_LIST(ratelimit,
	  cmocka_unit_test(test_ratelimit_limit_exact),
	  cmocka_unit_test(test_ratelimit_window_slides),
	  cmocka_unit_test(test_ratelimit_flood_across_hours),
	  cmocka_unit_test(test_ratelimit_zero_and_huge),
	  cmocka_unit_test(test_ratelimit_check_vs_take),
	  cmocka_unit_test(test_ratelimit_abort_does_not_count),
	  cmocka_unit_test(test_ratelimit_prune),
	  cmocka_unit_test(test_ratelimit_damaged_log));
