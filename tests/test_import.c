/*
 * test_import.c - importing mbox, mboxrd, gzip'd mbox, Maildir trees,
 * single files and public-inbox v2 repositories; the import/stats/show
 * commands; the corpora end to end; and kill -9 at random moments.
 *
 * Every mail here is written by this file; the corpora are only read.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <regex.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <zlib.h>

#include "buf.h"
#include "import.h"
#include "message.h"
#include "store.h"
#include "testutil.h"

/* --- fixtures ---------------------------------------------------------- */

/* One mail; date NULL leaves the Date: header out. */
static void
mail(struct buf *b, const char *id, const char *date, const char *body)
{
	buf_addf(b,
		 "From: Test Sender <sender@example.org>\n"
		 "To: kvmarm@lists.linux.dev\n"
		 "Subject: [PATCH] test mail %s\n",
		 id);
	if (date)
		buf_addf(b, "Date: %s\n", date);
	buf_addf(b, "Message-ID: <%s>\n\n%s", id, body);
}

static char *
write_tmp(const char *dir, const char *name, const void *data, size_t len)
{
	size_t n = strlen(dir) + strlen(name) + 2;
	char *path = malloc(n);

	assert_non_null(path);
	snprintf(path, n, "%s/%s", dir, name);
	assert_int_equal(test_write_file(path, data, len), 0);
	return path;
}

static void
mkdirs(const char *dir, const char *sub)
{
	char path[4096];

	snprintf(path, sizeof(path), "%s/%s", dir, sub);
	assert_true(mkdir(path, 0755) == 0 || errno == EEXIST);
}

struct run {
	struct store *store;
	struct import_stats st;
	char *report; /* what import wrote to opt->report */
	size_t report_len;
	char *progress;
	size_t progress_len;
};

static int
run_import(struct run *r, const char *path, unsigned batch)
{
	struct import_options opt = {.batch = batch};
	int ret;

	free(r->report);
	free(r->progress);
	r->report = r->progress = NULL;
	opt.report = open_memstream(&r->report, &r->report_len);
	opt.progress = open_memstream(&r->progress, &r->progress_len);
	assert_non_null(opt.report);
	assert_non_null(opt.progress);
	memset(&r->st, 0, sizeof(r->st));
	ret = import_path(r->store, path, &opt, &r->st);
	fclose(opt.report);
	fclose(opt.progress);
	return ret;
}

static void
run_open(struct run *r, const char *tag)
{
	char *dir = test_tmpdir(tag);

	memset(r, 0, sizeof(*r));
	assert_non_null(dir);
	assert_int_equal(store_open(dir, 0, &r->store), 0);
	free(dir);
}

static void
run_close(struct run *r)
{
	store_close(r->store);
	free(r->report);
	free(r->progress);
	memset(r, 0, sizeof(*r));
}

static void
expect_counts(struct run *r, uint64_t imported, uint64_t dups, uint64_t rej)
{
	if (r->st.imported != imported || r->st.duplicates != dups ||
	    r->st.rejected != rej)
		fail_msg("imported %lu, duplicates %lu, rejected %lu; "
			 "expected %lu, %lu, %lu (report: %s)",
			 (unsigned long)r->st.imported,
			 (unsigned long)r->st.duplicates,
			 (unsigned long)r->st.rejected, (unsigned long)imported,
			 (unsigned long)dups, (unsigned long)rej,
			 r->report ? r->report : "");
}

/* The stored raw bytes of id must be exactly want. */
static void
expect_raw(struct run *r, const char *id, const char *want, size_t len)
{
	struct store_txn *t;
	const char *raw;
	size_t rlen;

	assert_int_equal(store_begin(r->store, 0, &t), 0);
	if (store_get_raw(t, id, &raw, &rlen) != 0)
		fail_msg("no raw mail '%s'", id);
	if (rlen != len || memcmp(raw, want, len))
		fail_msg("raw mail '%s' differs:\n[%.*s]\nexpected\n[%.*s]", id,
			 (int)rlen, raw, (int)len, want);
	store_abort(t);
}

static int64_t
stored_date(struct run *r, const char *id)
{
	struct store_txn *t;
	struct message m;
	int64_t date;

	assert_int_equal(store_begin(r->store, 0, &t), 0);
	if (store_get_message(t, id, &m) != 0)
		fail_msg("no message '%s'", id);
	date = m.date;
	message_release(&m);
	store_abort(t);
	return date;
}

/* --- mbox ---------------------------------------------------------------- */

static void
test_import_mbox(void **state)
{
	char *dir = test_tmpdir("imp-mbox");
	struct buf mb, one;
	struct run r;

	buf_init(&mb, 0);
	buf_init(&one, 0);
	/* 1: body "From " lines that must not split, one escaped. */
	mail(&one, "one@example.org", "Mon, 05 Sep 2022 10:00:00 +0000",
	     "Hello.\n"
	     "From here on nothing splits, no blank line before.\n"
	     "\n"
	     "From the start of a paragraph, but no date at the end\n"
	     "\n"
	     "From someone Mon Sep 5 10:00 not-a-year\n"
	     ">From an escaped line\n");
	buf_adds(&mb, "From foo@z Thu Jan  1 00:00:00 1970\n");
	/* Written escaped, read back unescaped. */
	buf_add(&mb, one.data, one.len - strlen("From an escaped line\n") - 1);
	buf_adds(&mb, ">>From an escaped line\n\n");
	/* 2: the epoch placeholder and no Date: keep date 0. */
	buf_adds(&mb, "From mboxrd@z Thu Jan  1 00:00:00 1970\n");
	mail(&mb, "two@example.org", NULL, "-- \n2.39.5\n");
	buf_adds(&mb, "\n");
	/* 3: no Date:, the separator's date is used. */
	buf_adds(&mb, "From someone@example.org Tue Aug 30 11:19:07 2022\n");
	mail(&mb, "three@example.org", NULL, "body three\n");
	buf_adds(&mb, "\n");
	/* 4: an unescaped format-patch in the body does not split it. */
	buf_adds(&mb, "From someone@example.org Tue Aug 30 11:19:08 2022\n");
	mail(&mb, "pasted@example.org", "Tue, 30 Aug 2022 11:19:08 +0000",
	     "Try this:\n\nFrom 1234abcd1234abcd1234abcd1234abcd1234abcd "
	     "Mon Sep 17 00:00:00 2001\nFrom: A <a@example.org>\n"
	     "Subject: [PATCH] fix\n\n---\n");
	buf_adds(&mb, "\n");
	/* 5: a double-spaced envelope, the last mail without a blank. */
	buf_adds(&mb, "From vk@example.org  Tue Sep 18 03:03:49 2018\n");
	mail(&mb, "four@example.org", "Tue, 18 Sep 2018 03:03:49 +0200",
	     "body four\n");
	char *path = write_tmp(dir, "test.mbox", mb.data, mb.len);

	run_open(&r, "imp-mbox-st");
	assert_int_equal(run_import(&r, path, 0), 0);
	expect_counts(&r, 5, 0, 0);
	/* mbox 1 lost one escape level and the separator's blank line. */
	expect_raw(&r, "one@example.org", one.data, strlen(one.data));
	assert_int_equal(stored_date(&r, "one@example.org"), 1662372000);
	assert_int_equal(stored_date(&r, "two@example.org"), 0);
	assert_int_equal(stored_date(&r, "three@example.org"), 1661858347);
	assert_int_equal(stored_date(&r, "four@example.org"), 1537232629);
	assert_string_equal(r.progress, "committed 5\n");

	/* Again: all duplicates, nothing new committed. */
	assert_int_equal(run_import(&r, path, 0), 0);
	expect_counts(&r, 0, 5, 0);

	/* A format-patch series: there the placeholder does separate. */
	buf_truncate(&mb, 0);
	for (int i = 1; i <= 2; i++) {
		char id[32];

		snprintf(id, sizeof(id), "series%d@example.org", i);
		buf_adds(&mb, "From 1234abcd1234abcd1234abcd1234abcd1234abcd "
			      "Mon Sep 17 00:00:00 2001\n");
		mail(&mb, id, NULL, "---\n-- \n2.39.5\n\n");
	}
	char *series = write_tmp(dir, "series.mbox", mb.data, mb.len);
	assert_int_equal(run_import(&r, series, 0), 0);
	expect_counts(&r, 2, 0, 0);
	free(series);
	run_close(&r);
	buf_release(&mb);
	buf_release(&one);
	free(path);
	free(dir);
}

static void
test_import_mboxrd(void **state)
{
	char *dir = test_tmpdir("imp-mboxrd");
	static const char body[] =
	    "From x (not a separator: no blank line before)\n"
	    "\n"
	    "From y, blank before but no date\n"
	    "> From is quoted with a space, untouched\n"
	    "From z, body ends with a blank line\n"
	    "\n";
	static const char escaped[] =
	    ">From x (not a separator: no blank line before)\n"
	    "\n"
	    ">From y, blank before but no date\n"
	    "> From is quoted with a space, untouched\n"
	    ">From z, body ends with a blank line\n"
	    "\n";
	struct buf mb, want, crlf;
	struct run r;

	buf_init(&mb, 0);
	buf_init(&want, 0);
	buf_init(&crlf, 0);
	mail(&want, "rd1@example.org", "Thu, 01 Sep 2022 00:00:00 +0000", body);
	buf_adds(&want, ">From q\n>>From r\n");
	buf_adds(&mb, "From mboxrd@z Thu Jan  1 00:00:00 1970\n");
	mail(&mb, "rd1@example.org", "Thu, 01 Sep 2022 00:00:00 +0000",
	     escaped);
	buf_adds(&mb, ">>From q\n>>>From r\n\n");
	buf_adds(&mb, "From mboxrd@z Thu Jan  1 00:00:00 1970\n");
	/* A body that ends in a blank line keeps it. */
	mail(&mb, "rd2@example.org", "Thu, 01 Sep 2022 00:00:01 +0000",
	     "x\n\n");
	buf_adds(&mb, "\n");
	char *path = write_tmp(dir, "rd.mbox", mb.data, mb.len);

	/* The same mbox with CRLF line ends. */
	for (size_t i = 0; i < mb.len; i++) {
		if (mb.data[i] == '\n')
			buf_addc(&crlf, '\r');
		buf_addc(&crlf, mb.data[i]);
	}
	mkdirs(dir, "crlf");
	char *cpath = write_tmp(dir, "crlf/rd.mbox", crlf.data, crlf.len);

	run_open(&r, "imp-mboxrd-st");
	assert_int_equal(run_import(&r, path, 0), 0);
	expect_counts(&r, 2, 0, 0);
	expect_raw(&r, "rd1@example.org", want.data, want.len);
	buf_truncate(&want, 0);
	mail(&want, "rd2@example.org", "Thu, 01 Sep 2022 00:00:01 +0000",
	     "x\n\n");
	expect_raw(&r, "rd2@example.org", want.data, want.len);
	buf_truncate(&want, 0);
	mail(&want, "rd1@example.org", "Thu, 01 Sep 2022 00:00:00 +0000", body);
	buf_adds(&want, ">From q\n>>From r\n");
	run_close(&r);

	run_open(&r, "imp-mboxrd-crlf");
	assert_int_equal(run_import(&r, cpath, 0), 0);
	expect_counts(&r, 2, 0, 0);
	buf_release(&crlf);
	for (size_t i = 0; i < want.len; i++) {
		if (want.data[i] == '\n')
			buf_addc(&crlf, '\r');
		buf_addc(&crlf, want.data[i]);
	}
	expect_raw(&r, "rd1@example.org", crlf.data, crlf.len);
	run_close(&r);
	buf_release(&mb);
	buf_release(&want);
	buf_release(&crlf);
	free(path);
	free(cpath);
	free(dir);
}

static void
write_gz(const char *path, const void *data, size_t len)
{
	gzFile gz = gzopen(path, "wb");

	assert_non_null(gz);
	while (len) {
		unsigned n = len > (1u << 30) ? 1u << 30 : (unsigned)len;

		assert_int_equal(gzwrite(gz, data, n), (int)n);
		data = (const char *)data + n;
		len -= n;
	}
	assert_int_equal(gzclose(gz), Z_OK);
}

static void
test_import_gz(void **state)
{
	char *dir = test_tmpdir("imp-gz"), path[4096];
	struct buf mb, big;
	struct run r;

	buf_init(&mb, 0);
	for (int i = 0; i < 3; i++) {
		char id[32];

		snprintf(id, sizeof(id), "gz%d@example.org", i);
		buf_adds(&mb, "From mboxrd@z Thu Jan  1 00:00:00 1970\n");
		mail(&mb, id, "Thu, 01 Sep 2022 00:00:00 +0000", "gz body\n");
		buf_adds(&mb, "\n");
	}
	snprintf(path, sizeof(path), "%s/a.mbox.gz", dir);
	write_gz(path, mb.data, mb.len);
	/* Sniffed, not named: a gzip'd file without .gz. */
	snprintf(path, sizeof(path), "%s/b", dir);
	write_gz(path, mb.data, mb.len);
	run_open(&r, "imp-gz-st");
	snprintf(path, sizeof(path), "%s/a.mbox.gz", dir);
	assert_int_equal(run_import(&r, path, 0), 0);
	expect_counts(&r, 3, 0, 0);
	assert_int_equal(run_import(&r, dir, 0), 0);
	expect_counts(&r, 0, 6, 0);
	run_close(&r);

	/* A truncated gzip file: what came before the damage is kept. */
	size_t glen;
	snprintf(path, sizeof(path), "%s/a.mbox.gz", dir);
	char *gzdata = test_read_file(path, &glen);
	assert_non_null(gzdata);
	snprintf(path, sizeof(path), "%s/cut.gz", dir);
	assert_int_equal(test_write_file(path, gzdata, glen - 12), 0);
	free(gzdata);
	run_open(&r, "imp-gz-cut");
	assert_int_equal(run_import(&r, path, 0), 0);
	assert_int_equal(r.st.imported + r.st.rejected, 3);
	assert_int_equal(r.st.rejected, 1);
	assert_non_null(strstr(r.report, "cut.gz:3: read error"));
	run_close(&r);

	/* A bomb: 80 MiB in one line inflates from a few KiB. */
	buf_init(&big, 0);
	buf_adds(&big,
		 "From mboxrd@z Thu Jan  1 00:00:00 1970\nSubject: x\n\n");
	char *line = malloc(80u << 20);
	assert_non_null(line);
	memset(line, 'a', 80u << 20);
	snprintf(path, sizeof(path), "%s/bomb.gz", dir);
	gzFile gz = gzopen(path, "wb9");
	assert_non_null(gz);
	assert_int_equal(gzwrite(gz, big.data, (unsigned)big.len),
			 (int)big.len);
	assert_int_equal(gzwrite(gz, line, 80u << 20), (int)(80u << 20));
	assert_int_equal(gzwrite(gz, "\n\n", 2), 2);
	assert_int_equal(gzwrite(gz, mb.data, (unsigned)mb.len), (int)mb.len);
	assert_int_equal(gzclose(gz), Z_OK);
	free(line);
	run_open(&r, "imp-gz-bomb");
	assert_int_equal(run_import(&r, path, 0), 0);
	/* The giant is refused; the mails after it still come in. */
	expect_counts(&r, 3, 0, 1);
	assert_non_null(strstr(r.report, "bomb.gz:1: larger than"));
	run_close(&r);
	buf_release(&big);
	buf_release(&mb);
	free(dir);
}

/* --- Maildir, trees, single files, rejections ---------------------------- */

static void
test_import_maildir(void **state)
{
	char *dir = test_tmpdir("imp-maildir");
	struct buf m;
	struct run r;
	char *p;

	buf_init(&m, 0);
	mkdirs(dir, "cur");
	mkdirs(dir, "new");
	mkdirs(dir, "tmp");
	mkdirs(dir, ".notmuch");
	mkdirs(dir, "sub");
	mkdirs(dir, "sub/deeper");
	const char *names[] = {"cur/1382298770.001730:2,S", "cur/17:2,",
			       "new/1529425589.M615261P21663.len",
			       "sub/deeper/single.eml"};
	for (int i = 0; i < 4; i++) {
		char id[32];

		buf_truncate(&m, 0);
		snprintf(id, sizeof(id), "md%d@example.org", i);
		mail(&m, id, "Fri, 02 Sep 2022 00:00:00 +0000",
		     "A single mail.\n\nFrom here a line that is not split\n");
		free(write_tmp(dir, names[i], m.data, m.len));
	}
	/* Skipped: a delivery in progress, hidden files. */
	buf_truncate(&m, 0);
	mail(&m, "tmp@example.org", NULL, "x\n");
	free(write_tmp(dir, "tmp/123.partial", m.data, m.len));
	free(write_tmp(dir, ".hidden", m.data, m.len));
	free(write_tmp(dir, ".notmuch/xapian", m.data, m.len));
	/* An mbox inside the tree is split. */
	buf_truncate(&m, 0);
	buf_adds(&m, "From a@b Fri Sep  2 00:00:00 2022\n");
	mail(&m, "inbox1@example.org", NULL, "x\n");
	buf_adds(&m, "\nFrom a@b Fri Sep  2 00:00:01 2022\n");
	mail(&m, "inbox2@example.org", NULL, "y\n");
	free(write_tmp(dir, "sub/archive.mbox", m.data, m.len));
	/* Rejections: reported, counted, never fatal. */
	free(write_tmp(dir, "sub/empty", "", 0));
	p = write_tmp(dir, "sub/notes.md", "# Notes\n\nnot a mail\n", 20);

	run_open(&r, "imp-maildir-st");
	assert_int_equal(run_import(&r, dir, 2), 0);
	const char *why = NULL;
	struct message probe;
	int md_rejected =
	    message_parse("# Notes\n\nnot a mail\n", 20, &probe, &why) < 0;
	if (!md_rejected)
		message_release(&probe);
	expect_counts(&r, 6 + !md_rejected, 0, 1 + md_rejected);
	char want[4200];
	snprintf(want, sizeof(want), "rejected: %s/sub/empty: empty\n", dir);
	assert_non_null(strstr(r.report, want));
	assert_string_equal(
	    r.progress, md_rejected ? "committed 2\ncommitted 4\ncommitted 6\n"
				    : "committed 2\ncommitted 4\ncommitted 6\n"
				      "committed 7\n");
	struct store_txn *t;
	assert_int_equal(store_begin(r.store, 0, &t), 0);
	assert_int_equal(store_has_message(t, "tmp@example.org"), 0);
	assert_int_equal(store_has_message(t, "inbox2@example.org"), 1);
	assert_int_equal(store_has_message(t, "md3@example.org"), 1);
	store_abort(t);
	buf_truncate(&m, 0);
	mail(&m, "md0@example.org", "Fri, 02 Sep 2022 00:00:00 +0000",
	     "A single mail.\n\nFrom here a line that is not split\n");
	expect_raw(&r, "md0@example.org", m.data, m.len);

	/* A path that is not there fails; a store stays usable. */
	char missing[4200];
	snprintf(missing, sizeof(missing), "%s/nope", dir);
	assert_int_equal(run_import(&r, missing, 0), -1);
	run_close(&r);
	buf_release(&m);
	free(p);
	free(dir);
}

static void
test_import_single(void **state)
{
	char *dir = test_tmpdir("imp-single");
	struct buf m, crlf;
	struct run r;

	buf_init(&m, 0);
	buf_init(&crlf, 0);
	/* Starts with a header: one mail, "From " lines and all. */
	mail(&m, "single@example.org", "Sat, 03 Sep 2022 00:00:00 +0000",
	     "text\n\nFrom foo@z Thu Jan  1 00:00:00 1970\n"
	     "From: not a header either\n\n>From stays as it is\n");
	char *path = write_tmp(dir, "single.eml", m.data, m.len);
	for (size_t i = 0; i < m.len; i++) {
		if (m.data[i] == '\n')
			buf_addc(&crlf, '\r');
		buf_addc(&crlf, m.data[i]);
	}
	char *cpath = write_tmp(dir, "crlf.eml", crlf.data, crlf.len);

	run_open(&r, "imp-single-st");
	assert_int_equal(run_import(&r, path, 0), 0);
	expect_counts(&r, 1, 0, 0);
	expect_raw(&r, "single@example.org", m.data, m.len);
	assert_int_equal(run_import(&r, cpath, 0), 0);
	expect_counts(&r, 0, 1, 0);
	run_close(&r);
	buf_release(&m);
	buf_release(&crlf);
	free(path);
	free(cpath);
	free(dir);
}

static void
test_import_batches(void **state)
{
	char *dir = test_tmpdir("imp-batch");
	struct buf mb;
	struct run r;

	buf_init(&mb, 0);
	/* 7 mails, the 5th repeats the 2nd: a duplicate inside a batch. */
	for (int i = 0; i < 8; i++) {
		char id[32];

		snprintf(id, sizeof(id), "b%d@example.org", i == 4 ? 1 : i);
		buf_adds(&mb, "From mboxrd@z Thu Jan  1 00:00:00 1970\n");
		mail(&mb, id, "Sun, 04 Sep 2022 00:00:00 +0000", "x\n");
		buf_adds(&mb, "\n");
	}
	char *path = write_tmp(dir, "b.mbox", mb.data, mb.len);

	run_open(&r, "imp-batch-st");
	assert_int_equal(run_import(&r, path, 3), 0);
	expect_counts(&r, 7, 1, 0);
	/* Batches count mails handled; N counts mails stored. */
	assert_string_equal(r.progress,
			    "committed 3\ncommitted 5\ncommitted 7\n");
	assert_int_equal(run_import(&r, path, 3), 0);
	expect_counts(&r, 0, 8, 0);
	run_close(&r);
	buf_release(&mb);
	free(path);
	free(dir);
}

/* --- public-inbox v2 -------------------------------------------------------
 */

/*
 * Plumbing that builds public-inbox-like history: every commit's tree
 * holds one file m (or, for a deletion, d).
 */
static const char git_script[] =
    "set -eu\n"
    "export GIT_AUTHOR_NAME=t GIT_AUTHOR_EMAIL=t@example.org\n"
    "export GIT_COMMITTER_NAME=t GIT_COMMITTER_EMAIL=t@example.org\n"
    "export GIT_CONFIG_NOSYSTEM=1 HOME=\"$1\"\n"
    "R=$2; shift 2\n"
    "[ -d \"$R\" ] || git -c init.defaultBranch=master init -q --bare "
    "\"$R\"\n"
    "for f in \"$@\"; do\n"
    "  name=m; case $f in del:*) name=d; f=${f#del:};; esac\n"
    "  blob=$(git --git-dir=\"$R\" hash-object -w \"$f\")\n"
    "  tree=$(printf '100644 blob %s\\t%s\\n' \"$blob\" $name |"
    "    git --git-dir=\"$R\" mktree)\n"
    "  if p=$(git --git-dir=\"$R\" rev-parse -q --verify HEAD); then\n"
    "    c=$(echo x | git --git-dir=\"$R\" commit-tree \"$tree\" -p \"$p\")\n"
    "  else\n"
    "    c=$(echo x | git --git-dir=\"$R\" commit-tree \"$tree\")\n"
    "  fi\n"
    "  git --git-dir=\"$R\" update-ref HEAD \"$c\"\n"
    "done\n"
    "git --git-dir=\"$R\" rev-parse HEAD > \"$R.head\"\n";

/* Commit the mails (ids) to repo; "del:" makes a deletion commit. */
static void
git_commits(const char *tmp, const char *repo, const char *const *ids, int n)
{
	struct buf cmd, m;
	char script[4200];

	buf_init(&cmd, 0);
	buf_init(&m, 0);
	snprintf(script, sizeof(script), "%s/mk.sh", tmp);
	assert_int_equal(
	    test_write_file(script, git_script, sizeof(git_script) - 1), 0);
	buf_addf(&cmd, "bash '%s' '%s' '%s'", script, tmp, repo);
	for (int i = 0; i < n; i++) {
		int del = !strncmp(ids[i], "del:", 4);
		const char *id = ids[i] + (del ? 4 : 0);
		char name[4200];

		buf_truncate(&m, 0);
		mail(&m, id, "Mon, 05 Sep 2022 00:00:00 +0000", "pi\n");
		snprintf(name, sizeof(name), "%s/%s.eml", tmp, id);
		assert_int_equal(test_write_file(name, m.data, m.len), 0);
		buf_addf(&cmd, " '%s%s'", del ? "del:" : "", name);
	}
	buf_adds(&cmd, " >/dev/null");
	if (system(cmd.data) != 0)
		fail_msg("git plumbing failed: %s", cmd.data);
	buf_release(&cmd);
	buf_release(&m);
}

/* The cursor stored for repo must be its HEAD. */
static void
expect_cursor(struct run *r, const char *repo)
{
	char head[4200], key[4200], real[4096];
	struct store_txn *t;
	const void *val;
	size_t vlen;
	char *want;

	snprintf(head, sizeof(head), "%s.head", repo);
	want = test_read_file(head, NULL);
	assert_non_null(want);
	assert_non_null(realpath(repo, real));
	snprintf(key, sizeof(key), "git:%s", real);
	assert_int_equal(store_begin(r->store, 0, &t), 0);
	assert_int_equal(
	    store_kv_get(t, STORE_DB_IMPORT, key, strlen(key), &val, &vlen), 0);
	assert_int_equal(vlen, 40);
	assert_memory_equal(val, want, 40);
	store_abort(t);
	free(want);
}

static void
test_import_public_inbox(void **state)
{
	char *tmp = test_tmpdir("imp-pi"), top[4096], e0[4200], e1[4200];
	static const char *const first0[] = {"p1@x", "p2@x", "del:p2@x",
					     "p3@x"};
	static const char *const first1[] = {"p4@x", "p5@x"};
	static const char *const more1[] = {"p6@x", "p1@x"};
	static const char *const fresh1[] = {"p4@x", "p7@x"};
	struct run r;

	snprintf(top, sizeof(top), "%s/inbox", tmp);
	mkdirs(tmp, "inbox");
	mkdirs(top, "git");
	snprintf(e0, sizeof(e0), "%s/git/0.git", top);
	snprintf(e1, sizeof(e1), "%s/git/1.git", top);
	git_commits(tmp, e0, first0, 4);
	git_commits(tmp, e1, first1, 2);
	/* The inbox's other files are not mail and must not be read. */
	free(write_tmp(top, "msgmap.sqlite3", "SQLite format 3", 15));
	/* A new epoch without a commit yet is empty, not an error. */
	char cmd[8600];
	snprintf(cmd, sizeof(cmd), "git init -q --bare '%s/git/2.git'", top);
	assert_int_equal(system(cmd), 0);

	run_open(&r, "imp-pi-st");
	assert_int_equal(run_import(&r, top, 2), 0);
	/* p2 counts once: its deletion commit is skipped. */
	expect_counts(&r, 5, 0, 0);
	expect_cursor(&r, e0);
	expect_cursor(&r, e1);

	/* Nothing new: nothing read. */
	assert_int_equal(run_import(&r, top, 2), 0);
	expect_counts(&r, 0, 0, 0);

	/* Two more commits, one repeating an older mail. */
	git_commits(tmp, e1, more1, 2);
	assert_int_equal(run_import(&r, top, 2), 0);
	expect_counts(&r, 1, 1, 0);
	expect_cursor(&r, e1);
	/* The epoch alone, by its own path: the same cursor. */
	assert_int_equal(run_import(&r, e1, 0), 0);
	expect_counts(&r, 0, 0, 0);

	/* History replaced: the old cursor is unknown, all is read again. */
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", e1);
	assert_int_equal(system(cmd), 0);
	git_commits(tmp, e1, fresh1, 2);
	assert_int_equal(run_import(&r, e1, 0), 0);
	expect_counts(&r, 1, 1, 0);
	expect_cursor(&r, e1);

	struct store_txn *t;
	struct store_stats st;
	assert_int_equal(store_begin(r.store, 0, &t), 0);
	assert_int_equal(store_stats(t, &st), 0);
	assert_int_equal(st.messages, 7);
	store_abort(t);
	run_close(&r);
	free(tmp);
}

/* --- the commands --------------------------------------------------------- */

static char *
bot_run(int *status, char **err, const char *a0, const char *a1, const char *a2,
	const char *a3, const char *a4, const char *a5)
{
	char *argv[] = {(char *)a0, (char *)a1, (char *)a2, (char *)a3,
			(char *)a4, (char *)a5, NULL};
	char *out = NULL;

	*status = test_run_bot(argv, &out, err);
	assert_non_null(out);
	assert_non_null(*err);
	return out;
}

static void
test_import_cli(void **state)
{
	char *dir = test_tmpdir("imp-cli"), *st = test_tmpdir("imp-cli-st");
	char *out, *err;
	struct buf mb;
	int status;

	if (access(TEST_BOT, X_OK) != 0)
		fail_msg("%s is not built", TEST_BOT);
	buf_init(&mb, 0);
	buf_adds(&mb, "From mboxrd@z Thu Jan  1 00:00:00 1970\n");
	mail(&mb, "root/1@example.org", "Tue, 06 Sep 2022 10:00:00 +0000",
	     "root mail\n");
	buf_adds(&mb, "\nFrom mboxrd@z Thu Jan  1 00:00:00 1970\n");
	buf_adds(&mb, "In-Reply-To: <root/1@example.org>\n");
	mail(&mb, "reply@example.org", "Wed, 07 Sep 2022 11:00:00 +0000",
	     "a reply\n");
	buf_adds(&mb, "\nFrom mboxrd@z Thu Jan  1 00:00:00 1970\n");
	mail(&mb, "undated@example.org", NULL, "no date\n");
	buf_adds(&mb, "\n");
	char *path = write_tmp(dir, "cli.mbox", mb.data, mb.len);
	char *junk = write_tmp(dir, "junk.bin", "", 0);

	/* Misuse. */
	out = bot_run(&status, &err, "--state", st, "import", NULL, NULL, NULL);
	assert_int_equal(status, 2);
	assert_non_null(strstr(err, "no PATH"));
	free(out);
	free(err);
	out = bot_run(&status, &err, "--state", st, "import", "--batch", "0",
		      path);
	assert_int_equal(status, 2);
	assert_non_null(strstr(err, "--batch"));
	free(out);
	free(err);
	out = bot_run(&status, &err, "import", path, NULL, NULL, NULL, NULL);
	assert_int_equal(status, 2);
	assert_non_null(strstr(err, "--state DIR"));
	assert_non_null(strstr(err, "state_dir"));
	free(out);
	free(err);
	out = bot_run(&status, &err, "stats", NULL, NULL, NULL, NULL, NULL);
	assert_int_equal(status, 2);
	assert_non_null(strstr(err, "state_dir"));
	free(out);
	free(err);
	out =
	    bot_run(&status, &err, "--state", st, "stats", "extra", NULL, NULL);
	assert_int_equal(status, 2);
	free(out);
	free(err);
	out = bot_run(&status, &err, "--state", st, "show", "--format", "xml",
		      "a@b");
	assert_int_equal(status, 2);
	free(out);
	free(err);
	out = bot_run(&status, &err, "--state", st, "show", NULL, NULL, NULL);
	assert_int_equal(status, 2);
	free(out);
	free(err);
	const char *cmds[] = {"import", "stats", "show"};
	for (int i = 0; i < 3; i++) {
		out = bot_run(&status, &err, cmds[i], "--help", NULL, NULL,
			      NULL, NULL);
		assert_int_equal(status, 0);
		assert_non_null(strstr(out, "usage: kvmarm-bot"));
		free(out);
		free(err);
	}
	/* No store yet: read-only commands say so. */
	out = bot_run(&status, &err, "--state", st, "stats", NULL, NULL, NULL);
	assert_int_equal(status, 1);
	assert_non_null(strstr(err, "import"));
	free(out);
	free(err);

	/* One summary line on stdout, rejections and progress on stderr. */
	out = bot_run(&status, &err, "--state", st, "import", "--progress",
		      path, junk);
	assert_int_equal(status, 0);
	assert_string_equal(out, "imported 3, duplicates 0, rejected 1\n");
	assert_non_null(strstr(err, "committed 3\n"));
	assert_non_null(strstr(err, "junk.bin: empty\n"));
	free(out);
	free(err);

	out = bot_run(&status, &err, "--state", st, "stats", NULL, NULL, NULL);
	assert_int_equal(status, 0);
	char want[8192];
	snprintf(want, sizeof(want),
		 "messages: 3\nthreads: 2\n"
		 "first_date: 2022-09-06T10:00:00Z\n"
		 "last_date: 2022-09-07T11:00:00Z\nstore_bytes: ");
	assert_memory_equal(out, want, strlen(want));
	snprintf(want, sizeof(want), "\nstate_dir: %s\n", st);
	assert_non_null(strstr(out, want));
	free(out);
	free(err);

	/* show: <id>, bare id, lore URL (with %2F), json, raw. */
	const char *forms[] = {
	    "<root/1@example.org>",
	    "root/1@example.org",
	    "https://lore.kernel.org/kvmarm/root%2F1@example.org/",
	    "https://lore.kernel.org/kvmarm/root%2F1@example.org/T/#u",
	};
	for (int i = 0; i < 4; i++) {
		out = bot_run(&status, &err, "--state", st, "show", forms[i],
			      NULL, NULL);
		assert_int_equal(status, 0);
		assert_non_null(
		    strstr(out, "message-id: root/1@example.org\n"));
		assert_non_null(strstr(out, "date: 2022-09-06T10:00:00Z\n"));
		assert_non_null(strstr(out, "subject: [PATCH] test mail "
					    "root/1@example.org\n"));
		free(out);
		free(err);
	}
	out = bot_run(&status, &err, "--state", st, "show", "--format", "json",
		      "reply@example.org");
	assert_int_equal(status, 0);
	struct message m;
	assert_int_equal(message_from_json(out, strlen(out), &m), 0);
	assert_string_equal(m.message_id, "reply@example.org");
	assert_string_equal(m.in_reply_to, "root/1@example.org");
	message_release(&m);
	free(out);
	free(err);
	out = bot_run(&status, &err, "--state", st, "show", "--raw",
		      "undated@example.org", NULL);
	assert_int_equal(status, 0);
	buf_truncate(&mb, 0);
	mail(&mb, "undated@example.org", NULL, "no date\n");
	assert_string_equal(out, mb.data);
	free(out);
	free(err);
	out = bot_run(&status, &err, "--state", st, "show", "nope@example.org",
		      NULL, NULL);
	assert_int_equal(status, 1);
	assert_non_null(strstr(err, "no message"));
	free(out);
	free(err);

	buf_release(&mb);
	free(path);
	free(junk);
	free(dir);
	free(st);
}

/* --- the corpora ------------------------------------------------------------
 */

/*
 * An independent reading of the corpora: whole files, a regular
 * expression for separators, then message_parse() on each mail.  The
 * importer must agree with it on every count.
 */
struct expect {
	char **ids;
	size_t n, alloc;
	size_t mails;
	size_t rejected;
	struct buf rejected_paths;
	regex_t sep;
	regex_t git;
};

static void
expect_mail(struct expect *e, const char *path, const char *raw, size_t len)
{
	struct message m;
	const char *why;

	if (len == 0 || message_parse(raw, len, &m, &why) < 0) {
		e->rejected++;
		buf_addf(&e->rejected_paths, "%s\n", path);
		return;
	}
	if (e->n == e->alloc) {
		e->alloc = e->alloc ? 2 * e->alloc : 1024;
		e->ids = realloc(e->ids, e->alloc * sizeof(*e->ids));
		assert_non_null(e->ids);
	}
	e->ids[e->n++] = strdup(m.message_id);
	e->mails++;
	message_release(&m);
}

static void
expect_file(struct expect *e, const char *path)
{
	size_t len;
	char *data = test_read_file(path, &len);
	struct buf cur;

	assert_non_null(data);
	if (len < 5 || memcmp(data, "From ", 5)) {
		expect_mail(e, path, data, len);
		free(data);
		return;
	}
	buf_init(&cur, 0);
	int prev_blank = 0, started = 0;
	/* format-patch placeholders separate only in a patch series. */
	int git = regexec(&e->git, data, 0, NULL, 0) == 0;
	for (char *line = data; line < data + len;) {
		char *nl = memchr(line, '\n', (size_t)(data + len - line));
		size_t n =
		    nl ? (size_t)(nl - line) + 1 : (size_t)(data + len - line);
		char save = line[n - 1];

		line[n - 1] = '\0';
		int sep =
		    line == data ||
		    (prev_blank && regexec(&e->sep, line, 0, NULL, 0) == 0 &&
		     (git || regexec(&e->git, line, 0, NULL, 0) != 0));
		line[n - 1] = save;
		if (sep) {
			if (started) {
				size_t l = cur.len;
				if (l >= 2 &&
				    !memcmp(cur.data + l - 2, "\n\n", 2))
					l--;
				else if (l >= 4 && !memcmp(cur.data + l - 4,
							   "\r\n\r\n", 4))
					l -= 2;
				expect_mail(e, path, cur.data, l);
			}
			started = 1;
			buf_truncate(&cur, 0);
			prev_blank = 0;
		} else {
			size_t gt = strspn(line, ">");
			int esc = gt > 0 && n - gt >= 5 &&
				  !memcmp(line + gt, "From ", 5);

			buf_add(&cur, line + esc, n - (size_t)esc);
			prev_blank = (n == 1 && line[0] == '\n') ||
				     (n == 2 && line[0] == '\r');
		}
		line += n;
	}
	if (started) {
		size_t l = cur.len;
		if (l >= 2 && !memcmp(cur.data + l - 2, "\n\n", 2))
			l--;
		expect_mail(e, path, cur.data, l);
	}
	buf_release(&cur);
	free(data);
}

static int
name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void
expect_tree(struct expect *e, const char *path)
{
	struct stat st;

	assert_int_equal(stat(path, &st), 0);
	if (!S_ISDIR(st.st_mode)) {
		expect_file(e, path);
		return;
	}
	DIR *d = opendir(path);
	struct dirent *de;

	assert_non_null(d);
	while ((de = readdir(d))) {
		char sub[4096];

		if (de->d_name[0] == '.')
			continue;
		snprintf(sub, sizeof(sub), "%s/%s", path, de->d_name);
		expect_tree(e, sub);
	}
	closedir(d);
}

static void
test_import_corpora(void **state)
{
	const char *corpora = test_corpora(__func__);
	struct expect e;
	struct run r;
	size_t distinct = 0;

	if (!corpora)
		skip();
	memset(&e, 0, sizeof(e));
	buf_init(&e.rejected_paths, 0);
	assert_int_equal(regcomp(&e.sep,
				 "^From [^ ]+ +(Mon|Tue|Wed|Thu|Fri|Sat|Sun) +"
				 "(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|"
				 "Nov|Dec) +[0-9]{1,2} +[0-9]{1,2}:[0-9]{2}"
				 "(:[0-9]{2})? +[0-9]{4}",
				 REG_EXTENDED | REG_NOSUB),
			 0);
	assert_int_equal(regcomp(&e.git,
				 "^From [0-9a-f]{40} Mon Sep 17 00:00:00 2001",
				 REG_EXTENDED | REG_NOSUB),
			 0);
	expect_tree(&e, corpora);
	qsort(e.ids, e.n, sizeof(*e.ids), name_cmp);
	for (size_t i = 0; i < e.n; i++)
		if (i == 0 || strcmp(e.ids[i], e.ids[i - 1]))
			distinct++;

	run_open(&r, "imp-corpora");
	assert_int_equal(run_import(&r, corpora, 0), 0);
	print_message("corpora: imported %lu, duplicates %lu, rejected %lu\n",
		      (unsigned long)r.st.imported,
		      (unsigned long)r.st.duplicates,
		      (unsigned long)r.st.rejected);
	expect_counts(&r, distinct, e.mails - distinct, e.rejected);
	/* The kvmarm archive alone holds 1,857 distinct mails. */
	assert_true(distinct > 2000);
	/* The corpora's README.md counts 2,618 top-level mails. */
	assert_int_equal(e.mails, 2618);
	/* Only the corpora's notes are not mail. */
	assert_true(r.st.rejected <= 12);
	for (char *line = r.report; line && *line;) {
		char *nl = strchr(line, '\n');

		assert_non_null(nl);
		*nl = '\0';
		if (strncmp(line, "rejected: ", 10) || !strstr(line, ".md: "))
			fail_msg("unexpected rejection: %s", line);
		line = nl + 1;
	}

	struct store_txn *t;
	struct store_stats st;
	assert_int_equal(store_begin(r.store, 0, &t), 0);
	assert_int_equal(store_stats(t, &st), 0);
	assert_int_equal(st.messages, distinct);
	store_abort(t);

	assert_int_equal(run_import(&r, corpora, 0), 0);
	expect_counts(&r, 0, e.mails, e.rejected);
	run_close(&r);
	for (size_t i = 0; i < e.n; i++)
		free(e.ids[i]);
	free(e.ids);
	regfree(&e.sep);
	regfree(&e.git);
	buf_release(&e.rejected_paths);
}

/* --- kill -9 ----------------------------------------------------------------
 */

/* Is path older than some file in dir? */
static int
older_than_dir(const struct stat *st, const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	int older = 0;

	if (!d)
		return 1;
	while (!older && (de = readdir(d))) {
		char p[4096];
		struct stat fs;

		snprintf(p, sizeof(p), "%s/%s", dir, de->d_name);
		if (de->d_name[0] != '.' && stat(p, &fs) == 0 &&
		    fs.st_mtime > st->st_mtime)
			older = 1;
	}
	closedir(d);
	return older;
}

/*
 * The release binary is several times faster than the sanitized one,
 * which keeps this test near half a minute; it is used only when it is
 * newer than every source file, so a stale ./kvmarm-bot is never what
 * gets tested.  KVMARM_CRASH_BOT names another binary.
 */
static const char *
crash_bot(void)
{
	const char *env = getenv("KVMARM_CRASH_BOT");
	struct stat rel;

	if (env && *env)
		return env;
	if (stat("kvmarm-bot", &rel) == 0 && !older_than_dir(&rel, "bot") &&
	    !older_than_dir(&rel, "include"))
		return "./kvmarm-bot";
	print_message("crash test: ./kvmarm-bot missing or older than the "
		      "sources; using the slower %s\n",
		      TEST_BOT);
	return TEST_BOT;
}

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Start bin with args (NULL-terminated); stdout and stderr to pipes. */
static pid_t
spawn_bot(const char *bin, char *const args[], int *outfd, int *errfd)
{
	char *argv[16];
	int out[2], err[2], n = 0;
	pid_t pid;

	argv[n++] = (char *)bin;
	while (args[n - 1] && n < 15) {
		argv[n] = args[n - 1];
		n++;
	}
	argv[n] = NULL;
	assert_int_equal(pipe(out), 0);
	assert_int_equal(pipe(err), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		dup2(out[1], 1);
		dup2(err[1], 2);
		close(out[0]);
		close(err[0]);
		execv(bin, argv);
		_exit(127);
	}
	close(out[1]);
	close(err[1]);
	*outfd = out[0];
	*errfd = err[0];
	return pid;
}

static pid_t
start_import(const char *bin, const char *dir, const char *src, int *outfd,
	     int *errfd)
{
	char *args[] = {"--state", (char *)dir,	 "import",    "--batch",
			"50",	   "--progress", (char *)src, NULL};

	return spawn_bot(bin, args, outfd, errfd);
}

static char *
drain(int fd)
{
	struct buf b;
	char chunk[4096];
	ssize_t n;

	buf_init(&b, 0);
	while ((n = read(fd, chunk, sizeof(chunk))) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		assert_true(n > 0);
		buf_add(&b, chunk, (size_t)n);
	}
	close(fd);
	return buf_detach(&b, NULL);
}

static unsigned long
last_committed(const char *err)
{
	unsigned long n = 0;

	for (const char *p = err; (p = strstr(p, "committed ")); p += 10)
		if (p == err || p[-1] == '\n')
			n = strtoul(p + 10, NULL, 10);
	return n;
}

/* Count the entries of one database with the store API. */
static int
count_fn(const void *k, size_t kl, const void *v, size_t vl, void *ctx)
{
	(*(uint64_t *)ctx)++;
	return 0;
}

static void
db_counts(const char *dir, uint64_t *msg, uint64_t *raw, uint64_t *bydate)
{
	struct store *s;
	struct store_txn *t;

	*msg = *raw = *bydate = 0;
	assert_int_equal(store_open(dir, 1, &s), 0);
	assert_int_equal(store_begin(s, 0, &t), 0);
	assert_int_equal(
	    store_kv_foreach(t, STORE_DB_MSG, NULL, 0, count_fn, msg), 0);
	assert_int_equal(
	    store_kv_foreach(t, STORE_DB_RAW, NULL, 0, count_fn, raw), 0);
	assert_int_equal(
	    store_kv_foreach(t, STORE_DB_BYDATE, NULL, 0, count_fn, bydate), 0);
	store_abort(t);
	store_close(s);
}

/*
 * `stats` by bin (which must succeed), without the lines that differ
 * between two stores with the same mail.
 */
static char *
stats_of(const char *bin, const char *dir, uint64_t *messages,
	 int may_be_uncreated)
{
	char *args[] = {"--state", (char *)dir, "stats", NULL};
	int outfd, errfd, status;
	char *out, *err, *cut;
	unsigned long n;
	pid_t pid = spawn_bot(bin, args, &outfd, &errfd);

	out = drain(outfd);
	err = drain(errfd);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	/*
	 * A kill before the very first commit leaves no initialised store
	 * (nothing was reported, nothing is lost); the next import, a
	 * writer, must then create it as if nothing had happened.
	 */
	if (may_be_uncreated && WIFEXITED(status) &&
	    WEXITSTATUS(status) != 0 &&
	    (strstr(err, "no store in") || strstr(err, "not initialised") ||
	     strstr(err, "has no format_version") ||
	     strstr(err, "cannot open store"))) {
		free(out);
		free(err);
		*messages = 0;
		return NULL;
	}
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		fail_msg("stats after kill failed (%d): %s", status, err);
	assert_int_equal(sscanf(out, "messages: %lu", &n), 1);
	*messages = n;
	cut = strstr(out, "store_bytes:");
	assert_non_null(cut);
	*cut = '\0';
	free(err);
	return out;
}

/*
 * Chains: a fresh store is imported into and killed at a random moment
 * again and again until one run finishes on its own; that store must
 * then equal the uninterrupted one.  Chains repeat until 50 kills.
 */
static void
test_import_crash(void **state)
{
	const char *corpora = test_corpora(__func__);
	const char *bin = crash_bot();
	char src[4096], *ref;
	char *out, *err, *ref_stats, *stats;
	uint64_t ref_msgs, msgs, m, raw, bd;
	unsigned seed = (unsigned)time(NULL) ^ (unsigned)getpid();
	int outfd, errfd, status, kills = 0, chains = 0, mid_commit = 0;
	double t0, full;

	if (!corpora)
		skip();
	if (access(bin, X_OK) != 0)
		fail_msg("%s is not built", bin);
	ref = test_tmpdir("imp-crash-ref");
	assert_non_null(ref);
	snprintf(src, sizeof(src), "%s/kvmarm-columbia", corpora);
	print_message("crash test: %s, seed %u\n", bin, seed);
	srand(seed);

	/* The uninterrupted import to compare against, and its time. */
	t0 = now();
	pid_t pid = start_import(bin, ref, src, &outfd, &errfd);
	out = drain(outfd);
	err = drain(errfd);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	full = now() - t0;
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	ref_stats = stats_of(bin, ref, &ref_msgs, 0);
	assert_true(ref_msgs > 1800);
	free(out);
	free(err);

	while (kills < 50) {
		char *dir = test_tmpdir("imp-crash");

		chains++;
		msgs = 0;
		for (;;) {
			uint64_t before = msgs;
			/* From before the first commit to past the end. */
			double delay = full * 1.1 * rand() / (double)RAND_MAX;
			struct timespec ts = {
			    (time_t)delay,
			    (long)((delay - (time_t)delay) * 1e9)};

			pid = start_import(bin, dir, src, &outfd, &errfd);
			nanosleep(&ts, NULL);
			kill(pid, SIGKILL);
			assert_int_equal(waitpid(pid, &status, 0), pid);
			out = drain(outfd);
			err = drain(errfd);
			unsigned long reported = last_committed(err);

			/* The store opens; everything reported is there. */
			stats = stats_of(bin, dir, &msgs,
					 before == 0 && reported == 0);
			if (!stats) {
				/* Killed before the store existed. */
				assert_true(WIFSIGNALED(status));
				kills++;
				free(out);
				free(err);
				continue;
			}
			if (msgs < before + reported)
				fail_msg("chain %d, kill after %.3fs: %lu "
					 "messages, but %lu before and %lu "
					 "reported committed",
					 chains, delay, (unsigned long)msgs,
					 (unsigned long)before, reported);
			assert_true(msgs <= ref_msgs);
			/* Killed between a commit and its report line. */
			mid_commit += msgs > before + reported;
			db_counts(dir, &m, &raw, &bd);
			assert_int_equal(m, msgs);
			assert_int_equal(raw, msgs);
			assert_int_equal(bd, msgs);
			free(out);
			free(err);
			if (WIFSIGNALED(status)) {
				kills++;
				free(stats);
				continue;
			}
			/* It finished first: the store must be complete. */
			assert_true(WIFEXITED(status) &&
				    WEXITSTATUS(status) == 0);
			assert_int_equal(msgs, ref_msgs);
			assert_string_equal(stats, ref_stats);
			free(stats);
			break;
		}
		free(dir);
	}
	print_message("crash test: %d kills in %d chains, %d between commit "
		      "and report, %lu messages each\n",
		      kills, chains, mid_commit, (unsigned long)ref_msgs);
	free(ref_stats);
	free(ref);
}

TEST_LIST(import, cmocka_unit_test(test_import_mbox),
	  cmocka_unit_test(test_import_mboxrd),
	  cmocka_unit_test(test_import_gz),
	  cmocka_unit_test(test_import_maildir),
	  cmocka_unit_test(test_import_single),
	  cmocka_unit_test(test_import_batches),
	  cmocka_unit_test(test_import_public_inbox),
	  cmocka_unit_test(test_import_cli),
	  cmocka_unit_test(test_import_corpora),
	  cmocka_unit_test(test_import_crash), );
