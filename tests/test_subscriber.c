/*
 * test_subscriber.c - the subscriber records: add, update, remove, get,
 * the walk in address order, addresses refused, damaged records.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "store.h"
#include "subscriber.h"
#include "testutil.h"

#define T0 1757322000

static struct store *
open_store(char **dir)
{
	struct store *s;

	*dir = test_tmpdir("subscriber");
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

static void
test_subscriber_addr_valid(void **state)
{
	char longaddr[300];

	assert_true(subscriber_addr_valid("alice@example.org"));
	assert_true(subscriber_addr_valid("a+digest@x.y"));
	assert_true(subscriber_addr_valid("bob@localhost"));
	assert_true(subscriber_addr_valid("Bob@LocalHost"));

	assert_false(subscriber_addr_valid(NULL));
	assert_false(subscriber_addr_valid(""));
	assert_false(subscriber_addr_valid("a@"));
	assert_false(subscriber_addr_valid("@example.org"));
	assert_false(subscriber_addr_valid("alice.example.org"));
	assert_false(subscriber_addr_valid("alice@example"));
	assert_false(subscriber_addr_valid("a@b@example.org"));
	assert_false(subscriber_addr_valid("alice@example.org\r\nBcc: x@y.z"));
	assert_false(subscriber_addr_valid("alice@example.org\n"));
	assert_false(subscriber_addr_valid("alice@exa\rmple.org"));
	assert_false(subscriber_addr_valid("al ice@example.org"));
	assert_false(subscriber_addr_valid("al\tice@example.org"));
	assert_false(subscriber_addr_valid("\"al\"@example.org"));
	assert_false(subscriber_addr_valid("al'ice@example.org"));
	assert_false(subscriber_addr_valid("al\\ice@example.org"));
	assert_false(subscriber_addr_valid("<alice@example.org>"));
	assert_false(subscriber_addr_valid("a@example.org,b@example.org"));
	assert_false(subscriber_addr_valid("\xc3\xa4@example.org"));
	assert_false(subscriber_addr_valid("a\x7f@example.org"));

	/* 254 bytes is the longest path RFC 5321 allows; 255 is out. */
	memset(longaddr, 'a', sizeof(longaddr));
	memcpy(longaddr + 254 - 12, "@example.org", 12);
	longaddr[254] = '\0';
	assert_true(subscriber_addr_valid(longaddr));
	memset(longaddr, 'a', sizeof(longaddr));
	memcpy(longaddr + 255 - 12, "@example.org", 12);
	longaddr[255] = '\0';
	assert_false(subscriber_addr_valid(longaddr));
	longaddr[sizeof(longaddr) - 1] = '\0';
	assert_false(subscriber_addr_valid(longaddr));
}

static void
test_subscriber_add_update_remove(void **state)
{
	struct store_txn *txn;
	struct subscriber sub;
	struct store *s;
	char *dir;

	s = open_store(&dir);
	assert_int_equal(store_begin(s, 1, &txn), 0);
	assert_int_equal(subscriber_get(txn, "alice@example.org", &sub), 1);
	assert_int_equal(subscriber_add(txn, "Alice@Example.ORG", "zh", T0),
			 0);
	assert_int_equal(store_commit(txn), 0);

	/* Case folding: any spelling finds the one lowercased record. */
	assert_int_equal(store_begin(s, 1, &txn), 0);
	assert_int_equal(subscriber_get(txn, "ALICE@example.org", &sub), 0);
	assert_string_equal(sub.addr, "alice@example.org");
	assert_string_equal(sub.lang, "zh");
	assert_int_equal(sub.since, T0);

	/* Update: the language changes, the date stays. */
	assert_int_equal(subscriber_add(txn, "alice@EXAMPLE.org", "en",
					T0 + 999),
			 1);
	assert_int_equal(subscriber_get(txn, "alice@example.org", &sub), 0);
	assert_string_equal(sub.lang, "en");
	assert_int_equal(sub.since, T0);

	/* The stored bytes are exactly "LANG SINCE". */
	const void *v;
	size_t vlen;
	assert_int_equal(store_kv_get(txn, STORE_DB_SUBSCRIBER,
				      "alice@example.org", 17, &v, &vlen),
			 0);
	assert_int_equal(vlen, 13);
	assert_memory_equal(v, "en 1757322000", 13);

	/* Bad language or address: refused, nothing written. */
	assert_int_equal(subscriber_add(txn, "bob@example.org", "de", T0), -1);
	assert_int_equal(subscriber_add(txn, "bob@example.org", NULL, T0), -1);
	assert_int_equal(subscriber_add(txn, "bob@example.org\r\n", "en", T0),
			 -1);
	assert_int_equal(subscriber_get(txn, "bob@example.org", &sub), 1);

	assert_int_equal(subscriber_remove(txn, "ALICE@example.org"), 0);
	assert_int_equal(subscriber_remove(txn, "alice@example.org"), 1);
	assert_int_equal(subscriber_remove(txn, "not an address"), 1);
	assert_int_equal(subscriber_get(txn, "alice@example.org", &sub), 1);
	assert_int_equal(store_commit(txn), 0);
	close_store(s, dir);
}

struct seen {
	char addrs[8][SUBSCRIBER_MAX_ADDR + 1];
	char langs[8][3];
	int n, stop_at;
};

static int
collect(const struct subscriber *sub, void *ctx)
{
	struct seen *seen = ctx;

	assert_true(seen->n < 8);
	strcpy(seen->addrs[seen->n], sub->addr);
	strcpy(seen->langs[seen->n], sub->lang);
	seen->n++;
	return seen->n == seen->stop_at ? 42 : 0;
}

static void
test_subscriber_foreach_order_and_damage(void **state)
{
	static const char *const in[] = {"zed@example.org", "Carol@b.example",
					 "alice@example.org",
					 "bob@localhost"};
	struct seen seen = {0};
	struct store_txn *txn;
	struct store *s;
	char *dir, logpath[4200], *log;
	int fd, saved;

	s = open_store(&dir);
	assert_int_equal(store_begin(s, 1, &txn), 0);
	for (size_t i = 0; i < 4; i++)
		assert_int_equal(subscriber_add(txn, in[i], i % 2 ? "zh" : "en",
						T0 + (int64_t)i),
				 0);
	/* Damaged records, as a bad disk or another program might leave. */
	assert_int_equal(store_kv_put(txn, STORE_DB_SUBSCRIBER,
				      "dave@example.org", 16, "fr 1", 4),
			 0);
	assert_int_equal(store_kv_put(txn, STORE_DB_SUBSCRIBER,
				      "erin@example.org", 16, "en 12x", 6),
			 0);
	assert_int_equal(store_kv_put(txn, STORE_DB_SUBSCRIBER, "no-at-sign",
				      10, "en 1", 4),
			 0);
	assert_int_equal(store_kv_put(txn, STORE_DB_SUBSCRIBER,
				      "Upper@example.org", 17, "en 1", 4),
			 0);
	assert_int_equal(store_commit(txn), 0);

	snprintf(logpath, sizeof(logpath), "%s/stderr", dir);
	fd = open(logpath, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0);
	fflush(stderr);
	saved = dup(2);
	dup2(fd, 2);
	close(fd);

	assert_int_equal(store_begin(s, 0, &txn), 0);
	assert_int_equal(subscriber_foreach(txn, collect, &seen), 0);
	fflush(stderr);
	dup2(saved, 2);
	close(saved);

	assert_int_equal(seen.n, 4);
	assert_string_equal(seen.addrs[0], "alice@example.org");
	assert_string_equal(seen.langs[0], "en");
	assert_string_equal(seen.addrs[1], "bob@localhost");
	assert_string_equal(seen.addrs[2], "carol@b.example");
	assert_string_equal(seen.langs[2], "zh");
	assert_string_equal(seen.addrs[3], "zed@example.org");
	assert_string_equal(seen.langs[3], "en");
	log = test_read_file(logpath, NULL);
	assert_non_null(log);
	assert_non_null(strstr(log, "skipping the damaged record "
				    "'dave@example.org'"));
	assert_non_null(strstr(log, "'erin@example.org'"));
	assert_non_null(strstr(log, "'no-at-sign'"));
	assert_non_null(strstr(log, "'Upper@example.org'"));
	free(log);
	unlink(logpath);

	/* get reports the damage instead of inventing a language. */
	struct subscriber sub;
	assert_int_equal(subscriber_get(txn, "dave@example.org", &sub), -1);

	/* A callback's non-zero value stops the walk and is returned. */
	memset(&seen, 0, sizeof(seen));
	seen.stop_at = 2;
	assert_int_equal(subscriber_foreach(txn, collect, &seen), 42);
	assert_int_equal(seen.n, 2);
	store_abort(txn);

	/* Adding over a damaged record repairs it with a fresh date. */
	assert_int_equal(store_begin(s, 1, &txn), 0);
	assert_int_equal(subscriber_add(txn, "dave@example.org", "en", T0 + 7),
			 1);
	assert_int_equal(subscriber_get(txn, "dave@example.org", &sub), 0);
	assert_int_equal(sub.since, T0 + 7);
	assert_int_equal(store_commit(txn), 0);
	close_store(s, dir);
}

/* A write aborted leaves no subscriber behind. */
static void
test_subscriber_abort(void **state)
{
	struct store_txn *txn;
	struct subscriber sub;
	struct store *s;
	char *dir;

	s = open_store(&dir);
	assert_int_equal(store_begin(s, 1, &txn), 0);
	assert_int_equal(subscriber_add(txn, "alice@example.org", "en", T0),
			 0);
	store_abort(txn);
	assert_int_equal(store_begin(s, 0, &txn), 0);
	assert_int_equal(subscriber_get(txn, "alice@example.org", &sub), 1);
	store_abort(txn);
	close_store(s, dir);
}

TEST_LIST(subscriber,
	  cmocka_unit_test(test_subscriber_addr_valid),
	  cmocka_unit_test(test_subscriber_add_update_remove),
	  cmocka_unit_test(test_subscriber_foreach_order_and_damage),
	  cmocka_unit_test(test_subscriber_abort));
