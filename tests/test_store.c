/*
 * test_store.c - the LMDB store: records, raw bytes, the date index,
 * the generic key/value calls, locking, versions and long ids.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "message.h"
#include "store.h"
#include "testutil.h"
#include "thread.h"

/* A record with every field set, built from static strings. */
static char *refs[] = {"root@example.org", "parent@example.org"};
static char *tos[] = {"kvmarm@lists.linux.dev"};
static char *ccs[] = {"maz@kernel.org", "oliver.upton@linux.dev"};
static char *files[] = {"arch/arm64/kvm/mmu.c"};
static struct trailer trailers[] = {
    {"Reviewed-by", "Marc Zyngier <maz@kernel.org>"},
};

static void
fill(struct message *m, const char *id, int64_t date)
{
	memset(m, 0, sizeof(*m));
	m->message_id = (char *)id;
	m->in_reply_to = "parent@example.org";
	m->references = refs;
	m->n_references = 2;
	m->from_name = "Test Author";
	m->from_addr = "author@example.org";
	m->to = tos;
	m->n_to = 1;
	m->cc = ccs;
	m->n_cc = 2;
	m->date = date;
	m->subject = "Re: [PATCH v3 02/24] KVM: arm64: a change";
	m->subject_bare = "KVM: arm64: a change";
	m->tags.reply = 1;
	m->tags.patch = 1;
	m->tags.version = 3;
	m->tags.index = 2;
	m->tags.total = 24;
	memcpy(m->tags.project, "kvmtool", 8);
	m->list_id = "<kvmarm.lists.linux.dev>";
	m->auto_submitted = "";
	m->precedence = "";
	m->x_loop = "";
	m->body = "Looks good.\n\u00e9\n";
	m->prose = "Looks good.\n";
	m->quoted = "> old\n";
	m->patch = "";
	m->diffstat = "";
	m->signature = "";
	m->files = files;
	m->n_files = 1;
	m->trailers = trailers;
	m->n_trailers = 1;
	m->flags = MESSAGE_BAD_CHARSET;
	m->raw_size = 1234;
}

static struct store *
open_rw(const char *dir)
{
	struct store *s = NULL;

	assert_int_equal(store_open(dir, 0, &s), 0);
	assert_non_null(s);
	return s;
}

static int
put(struct store *s, const char *id, int64_t date, const char *raw)
{
	struct store_txn *t;
	struct message m;
	int r;

	fill(&m, id, date);
	assert_int_equal(store_begin(s, 1, &t), 0);
	r = store_put_message(t, &m, raw, strlen(raw));
	assert_true(r >= 0);
	/* Every writer indexes what it stores (include/thread.h). */
	if (r == 1)
		assert_int_equal(thread_index_add(t, &m), 0);
	assert_int_equal(store_commit(t), 0);
	return r;
}

static void
test_store_open_creates(void **state)
{
	char *tmp = test_tmpdir("store-open"), dir[4096], path[4200];
	struct store *s;
	struct stat st;

	snprintf(dir, sizeof(dir), "%s/a/b/state", tmp);
	s = open_rw(dir);
	assert_int_equal(stat(dir, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0700);
	snprintf(path, sizeof(path), "%s/data.mdb", dir);
	assert_int_equal(stat(path, &st), 0);
	/* The map is large, the file is not. */
	assert_true(st.st_size < 4 * 1024 * 1024);
	snprintf(path, sizeof(path), "%s/lock.mdb", dir);
	assert_int_equal(access(path, F_OK), 0);
	snprintf(path, sizeof(path), "%s/bot.lock", dir);
	assert_int_equal(access(path, F_OK), 0);
	store_close(s);
	store_close(NULL);

	/* Read-only opens create nothing. */
	snprintf(dir, sizeof(dir), "%s/missing", tmp);
	assert_int_equal(store_open(dir, 1, &s), -1);
	assert_null(s);
	assert_int_not_equal(access(dir, F_OK), 0);
	free(tmp);
}

static void
test_store_put_get(void **state)
{
	char *dir = test_tmpdir("store-put");
	struct store *s = open_rw(dir);
	struct store_txn *t;
	struct message m;
	const char *raw;
	size_t len;

	assert_int_equal(put(s, "a@example.org", 1662000000, "raw A\n"), 1);
	assert_int_equal(store_begin(s, 0, &t), 0);
	assert_int_equal(store_has_message(t, "a@example.org"), 1);
	assert_int_equal(store_has_message(t, "b@example.org"), 0);
	assert_int_equal(store_get_message(t, "a@example.org", &m), 0);
	assert_string_equal(m.message_id, "a@example.org");
	assert_string_equal(m.in_reply_to, "parent@example.org");
	assert_int_equal(m.n_references, 2);
	assert_string_equal(m.references[1], "parent@example.org");
	assert_string_equal(m.from_name, "Test Author");
	assert_string_equal(m.from_addr, "author@example.org");
	assert_int_equal(m.n_to, 1);
	assert_string_equal(m.to[0], "kvmarm@lists.linux.dev");
	assert_int_equal(m.n_cc, 2);
	assert_string_equal(m.cc[1], "oliver.upton@linux.dev");
	assert_int_equal(m.date, 1662000000);
	assert_string_equal(m.subject,
			    "Re: [PATCH v3 02/24] KVM: arm64: a change");
	assert_string_equal(m.subject_bare, "KVM: arm64: a change");
	assert_int_equal(m.tags.reply, 1);
	assert_int_equal(m.tags.patch, 1);
	assert_int_equal(m.tags.rfc, 0);
	assert_int_equal(m.tags.version, 3);
	assert_int_equal(m.tags.index, 2);
	assert_int_equal(m.tags.total, 24);
	assert_string_equal(m.tags.project, "kvmtool");
	assert_string_equal(m.list_id, "<kvmarm.lists.linux.dev>");
	assert_string_equal(m.body, "Looks good.\n\u00e9\n");
	assert_string_equal(m.prose, "Looks good.\n");
	assert_string_equal(m.quoted, "> old\n");
	assert_string_equal(m.patch, "");
	assert_int_equal(m.n_files, 1);
	assert_string_equal(m.files[0], "arch/arm64/kvm/mmu.c");
	assert_int_equal(m.n_trailers, 1);
	assert_string_equal(m.trailers[0].key, "Reviewed-by");
	assert_string_equal(m.trailers[0].value,
			    "Marc Zyngier <maz@kernel.org>");
	assert_int_equal(m.flags, MESSAGE_BAD_CHARSET);
	assert_int_equal(m.raw_size, 1234);
	message_release(&m);
	assert_int_equal(store_get_message(t, "b@example.org", &m), 1);
	assert_int_equal(store_get_raw(t, "a@example.org", &raw, &len), 0);
	assert_int_equal(len, 6);
	assert_memory_equal(raw, "raw A\n", 6);
	assert_int_equal(store_get_raw(t, "b@example.org", &raw, &len), 1);
	/* A read-only transaction cannot write. */
	fill(&m, "c@example.org", 1);
	assert_int_equal(store_put_message(t, &m, "x", 1), -1);
	store_abort(t);

	/* An aborted write leaves nothing behind. */
	assert_int_equal(store_begin(s, 1, &t), 0);
	assert_int_equal(store_put_message(t, &m, "x", 1), 1);
	assert_int_equal(store_has_message(t, "c@example.org"), 1);
	store_abort(t);
	assert_int_equal(store_begin(s, 0, &t), 0);
	assert_int_equal(store_has_message(t, "c@example.org"), 0);
	store_abort(t);
	store_close(s);
	free(dir);
}

static void
test_store_duplicates(void **state)
{
	char *dir = test_tmpdir("store-dup");
	struct store *s = open_rw(dir);
	struct store_txn *t;
	struct store_stats st;
	struct message m;
	const char *raw;
	size_t len;

	assert_int_equal(put(s, "dup@example.org", 100, "first"), 1);
	assert_int_equal(put(s, "dup@example.org", 200, "second"), 0);
	/* Twice in one transaction. */
	assert_int_equal(store_begin(s, 1, &t), 0);
	fill(&m, "twice@example.org", 300);
	assert_int_equal(store_put_message(t, &m, "one", 3), 1);
	m.date = 400;
	assert_int_equal(store_put_message(t, &m, "two", 3), 0);
	assert_int_equal(store_commit(t), 0);

	assert_int_equal(store_begin(s, 0, &t), 0);
	assert_int_equal(store_get_raw(t, "dup@example.org", &raw, &len), 0);
	assert_int_equal(len, 5);
	assert_memory_equal(raw, "first", 5);
	assert_int_equal(store_get_raw(t, "twice@example.org", &raw, &len), 0);
	assert_memory_equal(raw, "one", 3);
	assert_int_equal(store_stats(t, &st), 0);
	assert_int_equal(st.messages, 2);
	/* Nothing of the duplicates reached the date index. */
	assert_int_equal(st.first_date, 100);
	assert_int_equal(st.last_date, 300);
	store_abort(t);
	store_close(s);
	free(dir);
}

struct walk {
	char ids[16][64];
	int64_t dates[16];
	int n;
	int stop_at;
};

static int
walk_fn(const char *id, int64_t date, void *ctx)
{
	struct walk *w = ctx;

	if (w->n < 16) {
		snprintf(w->ids[w->n], sizeof(w->ids[0]), "%s", id);
		w->dates[w->n] = date;
	}
	w->n++;
	return w->stop_at && w->n == w->stop_at ? 42 : 0;
}

static void
test_store_by_date(void **state)
{
	char *dir = test_tmpdir("store-date");
	struct store *s = open_rw(dir);
	struct store_txn *t;
	struct store_stats st;
	struct walk w;

	/* Inserted out of order; negative and zero dates included. */
	put(s, "late@x", 2000000000, "r");
	put(s, "zero@x", 0, "r");
	put(s, "neg@x", -86400, "r");
	put(s, "mid-b@x", 1000, "r");
	put(s, "mid-a@x", 1000, "r");
	put(s, "early@x", 5, "r");
	assert_int_equal(store_begin(s, 0, &t), 0);

	memset(&w, 0, sizeof(w));
	assert_int_equal(
	    store_foreach_by_date(t, INT64_MIN, INT64_MAX, walk_fn, &w), 0);
	assert_int_equal(w.n, 6);
	assert_string_equal(w.ids[0], "neg@x");
	assert_int_equal(w.dates[0], -86400);
	assert_string_equal(w.ids[1], "zero@x");
	assert_string_equal(w.ids[2], "early@x");
	assert_string_equal(w.ids[3], "mid-a@x");
	assert_string_equal(w.ids[4], "mid-b@x");
	assert_string_equal(w.ids[5], "late@x");
	assert_int_equal(w.dates[5], 2000000000);

	/* [since, until): 5 is in, 2000000000 is out. */
	memset(&w, 0, sizeof(w));
	assert_int_equal(store_foreach_by_date(t, 5, 2000000000, walk_fn, &w),
			 0);
	assert_int_equal(w.n, 3);
	assert_string_equal(w.ids[0], "early@x");
	assert_string_equal(w.ids[2], "mid-b@x");

	memset(&w, 0, sizeof(w));
	assert_int_equal(store_foreach_by_date(t, 6, 1000, walk_fn, &w), 0);
	assert_int_equal(w.n, 0);
	assert_int_equal(store_foreach_by_date(t, 10, 5, walk_fn, &w), 0);
	assert_int_equal(w.n, 0);

	/* The callback's non-zero value stops the walk and comes back. */
	memset(&w, 0, sizeof(w));
	w.stop_at = 2;
	assert_int_equal(
	    store_foreach_by_date(t, INT64_MIN, INT64_MAX, walk_fn, &w), 42);
	assert_int_equal(w.n, 2);

	/* first_date skips the "no date" entries at 0, not real ones. */
	assert_int_equal(store_stats(t, &st), 0);
	assert_int_equal(st.messages, 6);
	assert_int_equal(st.first_date, -86400);
	assert_int_equal(st.last_date, 2000000000);
	assert_true(st.file_bytes > 0);
	assert_true(st.map_bytes >= st.file_bytes);
	store_abort(t);
	store_close(s);
	free(dir);

	/* Only undated mail: first_date stays 0. */
	dir = test_tmpdir("store-date0");
	s = open_rw(dir);
	put(s, "undated@x", 0, "r");
	put(s, "dated@x", 77, "r");
	assert_int_equal(store_begin(s, 0, &t), 0);
	assert_int_equal(store_stats(t, &st), 0);
	assert_int_equal(st.first_date, 77);
	store_abort(t);
	store_close(s);
	free(dir);
}

static int
kv_collect(const void *key, size_t klen, const void *val, size_t vlen,
	   void *ctx)
{
	char *out = ctx;
	size_t n = strlen(out);

	snprintf(out + n, 256 - n, "%.*s=%.*s;", (int)klen, (const char *)key,
		 (int)vlen, (const char *)val);
	return 0;
}

static int
kv_stop(const void *key, size_t klen, const void *val, size_t vlen, void *ctx)
{
	(*(int *)ctx)++;
	return 7;
}

static void
test_store_kv(void **state)
{
	char *dir = test_tmpdir("store-kv");
	struct store *s = open_rw(dir);
	struct store_txn *t;
	const void *val;
	size_t vlen;
	char seen[256] = "", big[600];
	int calls = 0;

	assert_int_equal(store_begin(s, 1, &t), 0);
	assert_int_equal(store_kv_put(t, STORE_DB_OUTBOX, "b", 1, "2", 1), 0);
	assert_int_equal(store_kv_put(t, STORE_DB_OUTBOX, "a", 1, "1", 1), 0);
	assert_int_equal(store_kv_put(t, STORE_DB_OUTBOX, "c", 1, "3", 1), 0);
	assert_int_equal(store_kv_put(t, STORE_DB_OUTBOX, "b", 1, "22", 2), 0);
	/* Same key, other database. */
	assert_int_equal(store_kv_put(t, STORE_DB_USAGE, "a", 1, "u", 1), 0);
	assert_int_equal(store_commit(t), 0);

	assert_int_equal(store_begin(s, 1, &t), 0);
	assert_int_equal(store_kv_get(t, STORE_DB_OUTBOX, "b", 1, &val, &vlen),
			 0);
	assert_int_equal(vlen, 2);
	assert_memory_equal(val, "22", 2);
	assert_int_equal(store_kv_get(t, STORE_DB_USAGE, "a", 1, &val, &vlen),
			 0);
	assert_memory_equal(val, "u", 1);
	assert_int_equal(store_kv_get(t, STORE_DB_OUTBOX, "z", 1, &val, &vlen),
			 1);
	assert_int_equal(
	    store_kv_foreach(t, STORE_DB_OUTBOX, NULL, 0, kv_collect, seen), 0);
	assert_string_equal(seen, "a=1;b=22;c=3;");
	seen[0] = '\0';
	assert_int_equal(
	    store_kv_foreach(t, STORE_DB_OUTBOX, "bb", 2, kv_collect, seen), 0);
	assert_string_equal(seen, "c=3;");
	assert_int_equal(
	    store_kv_foreach(t, STORE_DB_OUTBOX, NULL, 0, kv_stop, &calls), 7);
	assert_int_equal(calls, 1);
	assert_int_equal(store_kv_del(t, STORE_DB_OUTBOX, "a", 1), 0);
	assert_int_equal(store_kv_del(t, STORE_DB_OUTBOX, "a", 1), 1);
	/* Misuse is an error, not a crash. */
	memset(big, 'k', sizeof(big));
	assert_int_equal(
	    store_kv_put(t, STORE_DB_OUTBOX, big, sizeof(big), "v", 1), -1);
	assert_int_equal(store_kv_put(t, STORE_DB_OUTBOX, "", 0, "v", 1), -1);
	assert_int_equal(store_kv_put(t, STORE_DB_COUNT, "a", 1, "v", 1), -1);
	assert_int_equal(
	    store_kv_get(t, (enum store_db) - 1, "a", 1, &val, &vlen), -1);
	assert_int_equal(store_commit(t), 0);

	assert_int_equal(store_begin(s, 0, &t), 0);
	seen[0] = '\0';
	assert_int_equal(
	    store_kv_foreach(t, STORE_DB_OUTBOX, NULL, 0, kv_collect, seen), 0);
	assert_string_equal(seen, "b=22;c=3;");
	assert_int_equal(store_kv_put(t, STORE_DB_OUTBOX, "x", 1, "v", 1), -1);
	store_abort(t);
	store_close(s);
	free(dir);
}

/* Run the sanitized binary against dir; its exit status. */
static int
bot(const char *dir, const char *cmd, const char *arg, char **out, char **err)
{
	char *argv[] = {"--state", (char *)dir, (char *)cmd, (char *)arg, NULL};

	return test_run_bot(argv, out, err);
}

static void
test_store_reader_beside_writer(void **state)
{
	char *dir = test_tmpdir("store-rw"), *out = NULL, *err = NULL;
	char *empty = test_tmpdir("store-rw-src");
	struct store *s = open_rw(dir), *again = NULL;
	struct store_txn *t;
	struct message m;

	if (access(TEST_BOT, X_OK) != 0)
		fail_msg("%s is not built", TEST_BOT);
	put(s, "committed@example.org", 1662000000, "raw\n");
	/* An open write transaction: its mail is invisible to readers. */
	assert_int_equal(store_begin(s, 1, &t), 0);
	fill(&m, "pending@example.org", 1662000001);
	assert_int_equal(store_put_message(t, &m, "p", 1), 1);
	assert_int_equal(thread_index_add(t, &m), 0);

	assert_int_equal(bot(dir, "stats", NULL, &out, &err), 0);
	assert_non_null(strstr(out, "messages: 1\n"));
	free(out);
	free(err);
	assert_int_equal(
	    bot(dir, "show", "<committed@example.org>", &out, &err), 0);
	assert_non_null(strstr(out, "message-id: committed@example.org\n"));
	free(out);
	free(err);
	assert_int_equal(bot(dir, "show", "pending@example.org", &out, &err),
			 1);
	free(out);
	free(err);

	/* A second writer, in another process or this one, is refused. */
	assert_int_equal(bot(dir, "import", empty, &out, &err), 1);
	assert_non_null(strstr(err, "in use by another kvmarm-bot"));
	free(out);
	free(err);
	assert_int_equal(store_open(dir, 0, &again), -1);
	assert_int_equal(store_open(dir, 1, &again), -1);
	assert_null(again);

	assert_int_equal(store_commit(t), 0);
	assert_int_equal(bot(dir, "stats", NULL, &out, &err), 0);
	assert_non_null(strstr(out, "messages: 2\n"));
	free(out);
	free(err);
	store_close(s);

	/* With the writer gone, another process may write. */
	assert_int_equal(bot(dir, "import", empty, &out, &err), 0);
	assert_string_equal(out, "imported 0, duplicates 0, rejected 0\n");
	free(out);
	free(err);
	free(dir);
	free(empty);
}

static void
test_store_long_ids(void **state)
{
	char *dir = test_tmpdir("store-long");
	struct store *s = open_rw(dir);
	char id600a[601], id600b[601], id998[999], idmax[481];
	const char *fake = "sha256:0000@example.org";
	struct store_txn *t;
	struct message m;
	struct walk w;
	const char *raw;
	size_t len;

	memset(id600a, 'a', 600);
	id600a[600] = '\0';
	memcpy(id600a + 590, "@long.org", 10);
	memcpy(id600b, id600a, sizeof(id600a));
	id600b[0] = 'b';
	memset(id998, 'z', 998);
	id998[998] = '\0';
	memset(idmax, 'm', 480);
	idmax[480] = '\0';

	assert_int_equal(put(s, id600a, 10, "A"), 1);
	assert_int_equal(put(s, id600b, 20, "B"), 1);
	assert_int_equal(put(s, id998, 30, "Z"), 1);
	assert_int_equal(put(s, idmax, 40, "M"), 1);
	/* An id that looks like a hashed key is hashed too, no clash. */
	assert_int_equal(put(s, fake, 50, "F"), 1);
	assert_int_equal(put(s, id600a, 60, "again"), 0);

	assert_int_equal(store_begin(s, 0, &t), 0);
	assert_int_equal(store_get_raw(t, id600b, &raw, &len), 0);
	assert_memory_equal(raw, "B", 1);
	assert_int_equal(store_get_message(t, id998, &m), 0);
	assert_string_equal(m.message_id, id998);
	message_release(&m);
	assert_int_equal(store_get_message(t, fake, &m), 0);
	assert_string_equal(m.message_id, fake);
	message_release(&m);
	assert_int_equal(store_has_message(t, idmax), 1);

	memset(&w, 0, sizeof(w));
	assert_int_equal(
	    store_foreach_by_date(t, INT64_MIN, INT64_MAX, walk_fn, &w), 0);
	assert_int_equal(w.n, 5);
	/* walk_fn keeps 63 bytes: enough to tell them apart. */
	assert_memory_equal(w.ids[0], id600a, 63);
	assert_memory_equal(w.ids[1], id600b, 63);
	assert_memory_equal(w.ids[2], id998, 63);
	assert_memory_equal(w.ids[3], idmax, 63);
	assert_string_equal(w.ids[4], fake);
	store_abort(t);
	store_close(s);
	free(dir);
}

static void
test_store_version(void **state)
{
	char *dir = test_tmpdir("store-version");
	struct store *s = open_rw(dir);
	struct store_txn *t;
	const void *val;
	size_t vlen;

	assert_int_equal(store_begin(s, 0, &t), 0);
	assert_int_equal(
	    store_kv_get(t, STORE_DB_META, "format_version", 14, &val, &vlen),
	    0);
	assert_int_equal(vlen, 1);
	assert_memory_equal(val, "1", 1);
	store_abort(t);
	assert_int_equal(store_begin(s, 1, &t), 0);
	assert_int_equal(
	    store_kv_put(t, STORE_DB_META, "format_version", 14, "2", 1), 0);
	assert_int_equal(store_commit(t), 0);
	store_close(s);

	s = NULL;
	assert_int_equal(store_open(dir, 0, &s), -1);
	assert_null(s);
	assert_int_equal(store_open(dir, 1, &s), -1);

	/* Refused in another process too, and this one's lock is gone. */
	char *out = NULL, *err = NULL;
	assert_int_equal(bot(dir, "stats", NULL, &out, &err), 1);
	assert_non_null(strstr(err, "format version 2"));
	free(out);
	free(err);
	assert_int_equal(bot(dir, "import", dir, &out, &err), 1);
	assert_non_null(strstr(err, "format version 2"));
	assert_null(strstr(err, "in use"));
	free(out);
	free(err);
	free(dir);
}

static void
test_store_reopen(void **state)
{
	char *dir = test_tmpdir("store-reopen");
	struct store *s = open_rw(dir);
	struct store_txn *t;
	struct store_stats st;
	const void *val;
	size_t vlen;

	for (int i = 0; i < 50; i++) {
		char id[32];

		snprintf(id, sizeof(id), "m%02d@example.org", i);
		assert_int_equal(put(s, id, 1000 + i, id), 1);
	}
	assert_int_equal(store_begin(s, 1, &t), 0);
	assert_int_equal(store_kv_put(t, STORE_DB_IMPORT, "k", 1, "v", 1), 0);
	assert_int_equal(store_commit(t), 0);
	store_close(s);

	/* Read-only first, then as the writer again. */
	assert_int_equal(store_open(dir, 1, &s), 0);
	assert_int_equal(store_begin(s, 1, &t), -1);
	assert_int_equal(store_begin(s, 0, &t), 0);
	assert_int_equal(store_stats(t, &st), 0);
	assert_int_equal(st.messages, 50);
	assert_int_equal(st.first_date, 1000);
	assert_int_equal(st.last_date, 1049);
	store_abort(t);
	store_close(s);

	s = open_rw(dir);
	assert_int_equal(store_begin(s, 0, &t), 0);
	assert_int_equal(store_has_message(t, "m49@example.org"), 1);
	assert_int_equal(store_kv_get(t, STORE_DB_IMPORT, "k", 1, &val, &vlen),
			 0);
	assert_memory_equal(val, "v", 1);
	store_abort(t);
	assert_int_equal(put(s, "m00@example.org", 1, "x"), 0);
	store_close(s);
	free(dir);
}

TEST_LIST(store, cmocka_unit_test(test_store_open_creates),
	  cmocka_unit_test(test_store_put_get),
	  cmocka_unit_test(test_store_duplicates),
	  cmocka_unit_test(test_store_by_date), cmocka_unit_test(test_store_kv),
	  cmocka_unit_test(test_store_reader_beside_writer),
	  cmocka_unit_test(test_store_long_ids),
	  cmocka_unit_test(test_store_version),
	  cmocka_unit_test(test_store_reopen), );
