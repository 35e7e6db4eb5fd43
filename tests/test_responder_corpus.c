/*
 * test_responder_corpus.c - real list mail, and the MIME edge cases of
 * the corpora, sent to the bot as if they were requests.
 *
 * Every mail of ../shared/corpora/seed-week-2025-09 is given a
 * "To: bot" line, and every third one a "summarize" line at the top of
 * its body, then goes through inbox_accept() and responder_run() the
 * way the live bot sees it; so do the files of notmuch-edgecases
 * (broken MIME, odd charsets, crypto).  Under ASan/UBSan nothing may
 * crash or leak, every request must end handled, and every answer must
 * be a well-formed plain-text reply.  Skipped, visibly, without the
 * corpora.
 */
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "buf.h"
#include "config.h"
#include "import.h"
#include "inbox.h"
#include "message.h"
#include "responder.h"
#include "store.h"
#include "testutil.h"

#define NOW 1757926800	/* 2025-09-15T09:00:00Z */

static struct store *g_store;
static struct config g_cfg;
static size_t g_fed, g_queued;

static void
set(char **field, const char *v)
{
	free(*field);
	*field = strdup(v);
	assert_non_null(*field);
}

/* Give raw to the bot as a request; with_cmd puts "summarize" first. */
static void
feed(const char *raw, size_t len, int with_cmd)
{
	struct store_txn *txn;
	struct message msg;
	struct buf b;
	const char *sep;
	int q = 0;

	if (len > 4 * 1024 * 1024)
		return;
	buf_init(&b, 0);
	/* skip an mbox "From " line: the header must come first */
	if (len > 5 && !memcmp(raw, "From ", 5)) {
		const char *nl = memchr(raw, '\n', len);

		if (!nl)
			return;
		len -= (size_t)(nl + 1 - raw);
		raw = nl + 1;
	}
	assert_int_equal(buf_adds(&b, "To: bot@example.test\n"), 0);
	sep = with_cmd ? strstr(raw, "\n\n") : NULL;
	if (sep && (size_t)(sep - raw) < len) {
		size_t head = (size_t)(sep - raw) + 2;
		int skip = 0;

		/*
		 * The copy sent to the bot directly: without the list's
		 * own fields (List-*, Precedence), as a Cc'd bot gets it.
		 */
		for (const char *p = raw; p < raw + head;) {
			const char *nl = memchr(p, '\n', (size_t)(raw + head - p));
			size_t n = nl ? (size_t)(nl - p) + 1
				      : (size_t)(raw + head - p);

			if (*p != ' ' && *p != '\t')
				skip = !strncasecmp(p, "precedence:", 11) ||
				       !strncasecmp(p, "list-", 5);
			if (!skip)
				assert_int_equal(buf_add(&b, p, n), 0);
			p += n;
		}
		assert_int_equal(buf_adds(&b, "summarize\n\n"), 0);
		assert_int_equal(buf_add(&b, raw + head, len - head), 0);
	} else {
		assert_int_equal(buf_add(&b, raw, len), 0);
	}
	if (message_parse(b.data, b.len, &msg, NULL) == 0) {
		assert_int_equal(store_begin(g_store, 1, &txn), 0);
		assert_int_not_equal(inbox_accept(txn, &g_cfg, &msg, b.data,
						  b.len, &q),
				     -1);
		assert_int_equal(store_commit(txn), 0);
		message_release(&msg);
		g_fed++;
		g_queued += q;
	}
	buf_release(&b);
}

static void
drain(void)
{
	int more = 1;

	while (more) {
		int r = responder_run(g_store, &g_cfg, NULL, NOW, &more);

		assert_int_not_equal(r, -1);
		if (r == 0)
			break;
	}
}

static int
feed_file(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	size_t len;
	char *raw;

	(void)ftw;
	if (type != FTW_F || st->st_size > 4 * 1024 * 1024 ||
	    strstr(path, ".md"))
		return 0;
	raw = test_read_file(path, &len);
	if (raw) {
		feed(raw, len, 0);
		free(raw);
	}
	if (g_fed % 50 == 0)
		drain();
	return 0;
}

/* Requests still waiting in the inbox queue. */
static int
count_queued(const void *key, size_t klen, const void *val, size_t vlen,
	     void *ctx)
{
	(void)val;
	(void)vlen;
	if (klen >= 2 && !memcmp(key, "q:", 2))
		(*(size_t *)ctx)++;
	return 0;
}

static void
test_responder_corpus(void **state)
{
	const char *corp = test_corpora(__func__);
	struct import_options io = {0};
	struct import_stats st = {0};
	struct test_outbox_mail *out = NULL;
	size_t queued = 0, answers;
	struct store_txn *txn;
	char path[1024], *dir, *mbox;
	size_t len;

	(void)state;
	if (!corp)
		skip();
	dir = test_tmpdir("resp-corpus");
	assert_non_null(dir);
	assert_int_equal(store_open(dir, 0, &g_store), 0);
	snprintf(path, sizeof(path), "%s/seed-week-2025-09/seed-week.mbox",
		 corp);
	assert_int_equal(import_path(g_store, path, &io, &st), 0);
	assert_int_equal(config_init(&g_cfg), 0);
	set(&g_cfg.bot_address, "bot@example.test");
	set(&g_cfg.list_address, "kvmarm@lists.linux.dev");
	set(&g_cfg.token_secret, "corpus-test-secret");
	g_cfg.rate_sender_per_hour = 10000;
	g_cfg.rate_global_per_day = 10000;

	/* the seed week, mail by mail (mboxo: "\nFrom " starts a mail) */
	mbox = test_read_file(path, &len);
	assert_non_null(mbox);
	for (char *p = mbox, *next; p && *p; p = next) {
		next = strstr(p + 1, "\nFrom ");
		feed(p, next ? (size_t)(next - p) + 1 : strlen(p),
		     g_fed % 3 == 0);
		if (next)
			next++;
		if (g_fed % 50 == 0)
			drain();
	}
	free(mbox);
	drain();
	/* the hostile ones */
	snprintf(path, sizeof(path), "%s/notmuch-edgecases", corp);
	assert_int_equal(nftw(path, feed_file, 16, FTW_PHYS), 0);
	drain();

	assert_int_equal(store_begin(g_store, 0, &txn), 0);
	assert_int_equal(store_kv_foreach(txn, STORE_DB_INBOX, NULL, 0,
					  count_queued, &queued),
			 0);
	store_abort(txn);
	answers = test_outbox_read(g_store, &out);
	for (size_t i = 0; i < answers; i++) {
		const struct message *m = &out[i].m;

		assert_string_equal(m->auto_submitted, "auto-replied");
		assert_string_equal(m->from_addr, "bot@example.test");
		assert_int_equal(m->n_to, 1);
		assert_non_null(strstr(m->body, "Generated by kvmarm-bot"));
		assert_null(strstr(m->body, "Reviewed-by:"));
		assert_int_equal(m->flags & (MESSAGE_BAD_MIME |
					     MESSAGE_BAD_CHARSET),
				 0);
	}
	test_outbox_free(out, answers);
	print_message("responder corpus: %zu mails fed, %zu queued, %zu "
		      "answers, %zu left\n",
		      g_fed, g_queued, answers, queued);
	assert_true(g_fed > 200);
	assert_int_equal(queued, 0);
	assert_true(answers > 50);	/* the summarize ones at least */
	assert_true(answers <= g_queued);

	store_close(g_store);
	config_release(&g_cfg);
	snprintf(path, sizeof(path), "rm -rf '%s'", dir);
	assert_int_equal(system(path), 0);
	free(dir);
}

TEST_LIST(responder_corpus, cmocka_unit_test(test_responder_corpus));
