/*
 * test_classify.c - categories and patch status, on real mail from the
 * shared corpora (patchwork's and b4's samples, the 2022 kvmarm archive,
 * the seed week) and on the bundled demo week, plus synthetic mails for
 * the traps: a quoted Reviewed-by, a commit message saying "should".
 *
 * The threads here are built by a small union-find over References and
 * In-Reply-To (ct_threads) so the classifier is tested without the
 * threader; test_thread_* cases at the end go through thread.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "classify.h"
#include "classify_test.h"
#include "import.h"
#include "message.h"
#include "store.h"
#include "testutil.h"
#include "thread.h"

/* ---- fixtures ------------------------------------------------------- */

struct store *
ct_import(const char *path)
{
	char *dir = test_tmpdir("classify");
	struct import_options opt = { 0 };
	struct import_stats st = { 0 };
	struct store *s = NULL;
	FILE *devnull = fopen("/dev/null", "w");

	assert_non_null(dir);
	assert_int_equal(store_open(dir, 0, &s), 0);
	opt.report = devnull;
	assert_int_equal(import_path(s, path, &opt, &st), 0);
	assert_true(st.imported > 0);
	if (devnull)
		fclose(devnull);
	free(dir);
	return s;
}

struct node {
	char *id;		/* owned */
	size_t up;		/* union-find parent */
	int stored;
	int64_t date;
	char *parent;		/* owned, "" when none */
};

struct graph {
	struct node *v;
	size_t n, cap;
};

static size_t
node_of(struct graph *g, const char *id)
{
	/* linear probing would be faster; corpora here are small */
	for (size_t i = g->n; i-- > 0;)
		if (!strcmp(g->v[i].id, id))
			return i;
	if (g->n == g->cap) {
		g->cap = g->cap ? g->cap * 2 : 256;
		g->v = realloc(g->v, g->cap * sizeof(*g->v));
		assert_non_null(g->v);
	}
	memset(&g->v[g->n], 0, sizeof(g->v[0]));
	g->v[g->n].id = strdup(id);
	g->v[g->n].up = g->n;
	g->v[g->n].parent = strdup("");
	return g->n++;
}

static size_t
find_set(struct graph *g, size_t i)
{
	while (g->v[i].up != i)
		i = g->v[i].up = g->v[g->v[i].up].up;
	return i;
}

static void
join(struct graph *g, size_t a, size_t b)
{
	a = find_set(g, a);
	b = find_set(g, b);
	if (a != b)
		g->v[a > b ? a : b].up = a < b ? a : b;
}

static int
collect_id(const char *id, int64_t date, void *ctx)
{
	struct graph *g = ctx;
	size_t i = node_of(g, id);

	g->v[i].stored = 1;
	g->v[i].date = date;
	return 0;
}

static void
fill_msg(struct store_txn *txn, const char *id, struct thread_msg *m)
{
	struct message rec;

	assert_int_equal(store_get_message(txn, id, &rec), 0);
	memset(m, 0, sizeof(*m));
	m->id = strdup(rec.message_id);
	m->date = rec.date;
	m->from_addr = strdup(rec.from_addr);
	m->from_name = strdup(rec.from_name);
	m->subject = strdup(rec.subject);
	m->tags = rec.tags;
	m->parent = strdup(*rec.in_reply_to ? rec.in_reply_to :
			   rec.n_references ?
			   rec.references[rec.n_references - 1] : "");
	message_release(&rec);
}

static int
by_date(const void *a, const void *b)
{
	const struct thread_msg *x = a, *y = b;

	if (x->date != y->date)
		return x->date < y->date ? -1 : 1;
	return strcmp(x->id, y->id);
}

static void
set_root(struct thread *t)
{
	qsort(t->msgs, t->n_msgs, sizeof(*t->msgs), by_date);
	for (size_t i = 0; i < t->n_msgs && !t->root_id; i++) {
		int stored = 0;

		for (size_t j = 0; j < t->n_msgs && *t->msgs[i].parent; j++)
			stored |= !strcmp(t->msgs[j].id, t->msgs[i].parent);
		if (!stored)
			t->root_id = strdup(t->msgs[i].id);
	}
	if (!t->root_id && t->n_msgs)
		t->root_id = strdup(t->msgs[0].id);
}

void
ct_threads(struct store_txn *txn, struct thread **out, size_t *n)
{
	struct graph g = { 0 };
	size_t stored, nt = 0;
	struct thread *th;
	size_t *slot;

	assert_int_equal(store_foreach_by_date(txn, INT64_MIN, INT64_MAX,
					       collect_id, &g), 0);
	stored = g.n;
	for (size_t i = 0; i < stored; i++) {
		struct message rec;

		assert_int_equal(store_get_message(txn, g.v[i].id, &rec), 0);
		if (*rec.in_reply_to)
			join(&g, i, node_of(&g, rec.in_reply_to));
		for (size_t r = 0; r < rec.n_references; r++)
			join(&g, i, node_of(&g, rec.references[r]));
		message_release(&rec);
	}
	th = calloc(stored ? stored : 1, sizeof(*th));
	slot = malloc((g.n ? g.n : 1) * sizeof(*slot));
	assert_non_null(th);
	assert_non_null(slot);
	for (size_t i = 0; i < g.n; i++)
		slot[i] = SIZE_MAX;
	for (size_t i = 0; i < stored; i++) {
		size_t s = find_set(&g, i);
		struct thread *t;

		if (slot[s] == SIZE_MAX)
			slot[s] = nt++;
		t = &th[slot[s]];
		t->msgs = realloc(t->msgs, (t->n_msgs + 1) * sizeof(*t->msgs));
		assert_non_null(t->msgs);
		fill_msg(txn, g.v[i].id, &t->msgs[t->n_msgs++]);
	}
	for (size_t i = 0; i < nt; i++)
		set_root(&th[i]);
	for (size_t i = 0; i < g.n; i++) {
		free(g.v[i].id);
		free(g.v[i].parent);
	}
	free(g.v);
	free(slot);
	*out = th;
	*n = nt;
}

struct thread *
ct_find(struct thread *th, size_t n, const char *id)
{
	for (size_t i = 0; i < n; i++)
		for (size_t j = 0; j < th[i].n_msgs; j++)
			if (!strcmp(th[i].msgs[j].id, id))
				return &th[i];
	return NULL;
}

void
ct_thread_of(struct store_txn *txn, const char *const *ids, size_t n,
	     struct thread *out)
{
	memset(out, 0, sizeof(*out));
	out->msgs = calloc(n, sizeof(*out->msgs));
	assert_non_null(out->msgs);
	for (size_t i = 0; i < n; i++)
		fill_msg(txn, ids[i], &out->msgs[i]);
	out->n_msgs = n;
	out->root_id = strdup(ids[0]);
	qsort(out->msgs, n, sizeof(*out->msgs), by_date);
}

void
ct_release(struct thread *t)
{
	for (size_t i = 0; i < t->n_msgs; i++) {
		free(t->msgs[i].id);
		free(t->msgs[i].from_addr);
		free(t->msgs[i].from_name);
		free(t->msgs[i].subject);
		free(t->msgs[i].parent);
	}
	free(t->msgs);
	free(t->root_id);
	free(t->prev_root);
	free(t->next_root);
	memset(t, 0, sizeof(*t));
}

void
ct_free(struct thread *th, size_t n)
{
	for (size_t i = 0; i < n; i++)
		ct_release(&th[i]);
	free(th);
}

/* ---- helpers for the tests ------------------------------------------ */

/* A thread_msg from a subject and a sender, no store involved. */
static void
mk_msg(struct thread_msg *m, const char *id, int64_t date, const char *from,
       const char *subject)
{
	char *bare;

	memset(m, 0, sizeof(*m));
	m->id = strdup(id);
	m->date = date;
	m->from_addr = strdup(from);
	m->from_name = strdup("");
	m->subject = strdup(subject);
	m->parent = strdup("");
	bare = message_subject_parse(subject, &m->tags);
	assert_non_null(bare);
	free(bare);
}

static enum category
category_of(const char *root_subject, const char *root_from,
	    const char *reply_from, int root_stored)
{
	struct thread t = { 0 };
	enum category c;

	t.msgs = calloc(2, sizeof(*t.msgs));
	assert_non_null(t.msgs);
	mk_msg(&t.msgs[0], "a@x", 100, root_from, root_subject);
	mk_msg(&t.msgs[1], "b@x", 200, reply_from,
	       "Re: something entirely different");
	t.n_msgs = 2;
	t.root_id = strdup(root_stored ? "a@x" : "ghost@x");
	c = classify_thread(&t);
	ct_release(&t);
	return c;
}

static int
has_tag(const struct thread_status *st, const char *kind, const char *addr)
{
	for (size_t i = 0; i < st->n_tags; i++)
		if (!strcmp(st->tags[i].kind, kind) &&
		    strstr(st->tags[i].who, addr))
			return 1;
	return 0;
}

static size_t
msg_index(const struct thread *t, const char *id)
{
	for (size_t i = 0; i < t->n_msgs; i++)
		if (!strcmp(t->msgs[i].id, id))
			return i;
	fail_msg("<%s> not in the thread", id);
	return 0;
}

static const struct status_note *
find_note(const struct status_note *n, size_t count, const char *text)
{
	for (size_t i = 0; i < count; i++)
		if (strstr(n[i].text, text))
			return &n[i];
	return NULL;
}

/* Status of the thread holding id in the store built from path. */
struct fixture {
	struct store *store;
	struct store_txn *txn;
	struct thread *th;
	size_t n;
};

static void
fixture_open(struct fixture *f, const char *path)
{
	f->store = ct_import(path);
	assert_int_equal(store_begin(f->store, 0, &f->txn), 0);
	ct_threads(f->txn, &f->th, &f->n);
}

static void
fixture_close(struct fixture *f)
{
	ct_free(f->th, f->n);
	store_abort(f->txn);
	store_close(f->store);
}

static struct thread *
fixture_thread(struct fixture *f, const char *id)
{
	struct thread *t = ct_find(f->th, f->n, id);

	if (!t)
		fail_msg("no thread holds <%s>", id);
	return t;
}

static char *
corpus_path(const char *corpora, const char *rel)
{
	size_t n = strlen(corpora) + strlen(rel) + 2;
	char *p = malloc(n);

	assert_non_null(p);
	snprintf(p, n, "%s/%s", corpora, rel);
	return p;
}

/* ---- categories ----------------------------------------------------- */

static void
test_classify_category_rules(void **state)
{
	const char *dev = "dev@example.org", *rev = "rev@example.org";
	const char *syz = "syzbot+0123abcd@syzkaller.appspotmail.com";

	assert_string_equal(category_name(CATEGORY_PATCH), "PATCH");
	assert_string_equal(category_name(CATEGORY_RFC), "RFC");
	assert_string_equal(category_name(CATEGORY_BUG), "Bug Report");
	assert_string_equal(category_name(CATEGORY_PULL), "GIT PULL");
	assert_string_equal(category_name(CATEGORY_OTHER), "Other");
	assert_string_equal(category_name((enum category)99), "Other");

	assert_int_equal(category_of("[PATCH v3 0/9] KVM: arm64: x", dev, rev,
				     1), CATEGORY_PATCH);
	assert_int_equal(category_of("[kvm-unit-tests PATCH] arm64: x", dev,
				     rev, 1), CATEGORY_PATCH);
	assert_int_equal(category_of("[kvmtool v2 1/3] arm64: x", dev, rev,
				     1), CATEGORY_PATCH);
	assert_int_equal(category_of("[v2 0/6] KVM: arm64: x", dev, rev, 1),
			 CATEGORY_PATCH);
	assert_int_equal(category_of("[RFC PATCH v1 00/38] ARM CCA", dev, rev,
				     1), CATEGORY_RFC);
	assert_int_equal(category_of("[GIT PULL] KVM/arm64 fixes", dev, rev,
				     1), CATEGORY_PULL);
	assert_int_equal(category_of("[git pull] Please pull powerpc.git",
				     dev, rev, 1), CATEGORY_PULL);
	/* syzbot anywhere in the thread wins over everything */
	assert_int_equal(category_of("[PATCH] KVM: arm64: fix", dev, syz, 1),
			 CATEGORY_BUG);
	assert_int_equal(category_of("[syzbot] [kvmarm?] KASAN: x", syz, dev,
				     1), CATEGORY_BUG);
	assert_int_equal(category_of("Re: [syzbot] [kvmarm?] WARNING in x",
				     dev, rev, 1), CATEGORY_BUG);
	/* crash words count only when the root is no patch */
	assert_int_equal(category_of("[BUG] WARNING: arch/arm64/kvm/mmu.c",
				     dev, rev, 1), CATEGORY_BUG);
	assert_int_equal(category_of("BUG: unable to handle page fault", dev,
				     rev, 1), CATEGORY_BUG);
	assert_int_equal(category_of("[REGRESSION] guests hang on 6.1", dev,
				     rev, 1), CATEGORY_BUG);
	assert_int_equal(category_of("[PATCH] KVM: arm64: fix a KASAN: splat",
				     dev, rev, 1), CATEGORY_PATCH);
	assert_int_equal(category_of("Keeping the guest view stable", dev,
				     rev, 1), CATEGORY_OTHER);
	assert_int_equal(category_of("Oopsie daisy", dev, rev, 1),
			 CATEGORY_OTHER);
	/* the root is not stored: the earliest mail's tags decide */
	assert_int_equal(category_of("Re: [PATCH 2/2] KVM: arm64: x", dev,
				     rev, 0), CATEGORY_PATCH);
	assert_true(classify_is_syzbot(syz));
	assert_false(classify_is_syzbot("syzbot@example.org"));
	assert_int_equal(classify_thread(&(struct thread){ 0 }),
			 CATEGORY_OTHER);
	assert_null(classify_root(&(struct thread){ 0 }));
}

/* ---- text helpers --------------------------------------------------- */

struct collected {
	char s[8][256];
	size_t n;
};

static int
collect_sentence(const char *s, size_t n, void *ctx)
{
	struct collected *c = ctx;

	if (c->n < 8 && n < 256) {
		memcpy(c->s[c->n], s, n);
		c->s[c->n++][n] = '\0';
	}
	return 0;
}

static void
test_classify_text_helpers(void **state)
{
	struct collected c = { 0 };
	char *s;

	s = classify_clip("  a\tb\n\nc  ", 11, 0);
	assert_string_equal(s, "a b c");
	free(s);
	s = classify_clip("one two three four", 18, 12);
	assert_string_equal(s, "one two...");
	free(s);
	s = classify_clip("abcdefghijklmnop", 16, 8);
	assert_string_equal(s, "abcde...");
	free(s);
	/* never cut inside a UTF-8 character */
	s = classify_clip("\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9", 12, 8);
	assert_string_equal(s, "\u00e9\u00e9...");
	free(s);

	assert_int_equal(classify_sentences(
		"Please drop that paragraph. With that:\n"
		"it wraps here, e.g. like this? Yes!\n"
		"\n"
		"\tcode(); should not count.\n"
		"Last one\n", collect_sentence, &c), 0);
	assert_int_equal(c.n, 4);
	assert_string_equal(c.s[0], "Please drop that paragraph.");
	assert_string_equal(c.s[1],
			    "With that: it wraps here, e.g. like this?");
	assert_string_equal(c.s[2], "Yes!");
	assert_string_equal(c.s[3], "Last one");
}

/* ---- status on synthetic mail --------------------------------------- */

static void
put_raw(struct store_txn *txn, const char *raw)
{
	struct message m;

	assert_int_equal(message_parse(raw, strlen(raw), &m, NULL), 0);
	assert_int_equal(store_put_message(txn, &m, raw, strlen(raw)), 1);
	message_release(&m);
}

static const char patch_mail[] =
	"From: Ann Author <ann@example.org>\n"
	"To: kvmarm@lists.linux.dev\n"
	"Subject: [PATCH] KVM: arm64: frob the widget\n"
	"Date: Mon, 08 Sep 2025 10:00:00 +0000\n"
	"Message-ID: <patch@example.org>\n"
	"\n"
	"The widget should be frobbed before use. Please note that this\n"
	"changes nothing else.\n"
	"\n"
	"Reviewed-by: Carried Reviewer <carried@example.org>\n"
	"Signed-off-by: Ann Author <ann@example.org>\n"
	"---\n"
	" arch/arm64/kvm/widget.c | 2 +-\n"
	" 1 file changed, 1 insertion(+), 1 deletion(-)\n"
	"\n"
	"diff --git a/arch/arm64/kvm/widget.c b/arch/arm64/kvm/widget.c\n"
	"--- a/arch/arm64/kvm/widget.c\n"
	"+++ b/arch/arm64/kvm/widget.c\n"
	"@@ -1,3 +1,3 @@\n"
	" int a;\n"
	"-int b;\n"
	"+int c;\n"
	" int d;\n";

static const char quoting_reply[] =
	"From: Rita Reviewer <rita@example.org>\n"
	"To: Ann Author <ann@example.org>\n"
	"Subject: Re: [PATCH] KVM: arm64: frob the widget\n"
	"Date: Tue, 09 Sep 2025 10:00:00 +0000\n"
	"Message-ID: <reply1@example.org>\n"
	"In-Reply-To: <patch@example.org>\n"
	"References: <patch@example.org>\n"
	"\n"
	"On Mon, 08 Sep 2025, Ann Author wrote:\n"
	"> The widget should be frobbed before use.\n"
	"> Please split this into two patches.\n"
	">\n"
	"> Reviewed-by: Quoted Person <quoted@example.org>\n"
	"> Applied to next, thanks!\n"
	"\n"
	"I agree the widget should be frobbed. Please drop the second\n"
	"hunk, it is unrelated. The same mask is\n"
	"applied to the guest view, which looks fine.\n"
	"\n"
	"Acked-by: Rita Reviewer <rita@example.org>\n"
	"\n"
	"-- \n"
	"Rita, who says: please ignore this signature. Applied to sig.\n";

static const char author_reply[] =
	"From: Ann Author <ann@example.org>\n"
	"Subject: Re: [PATCH] KVM: arm64: frob the widget\n"
	"Date: Tue, 09 Sep 2025 11:00:00 +0000\n"
	"Message-ID: <reply2@example.org>\n"
	"In-Reply-To: <reply1@example.org>\n"
	"References: <patch@example.org> <reply1@example.org>\n"
	"\n"
	"Sure, I should drop it. Could you take it after that?\n"
	"Applied to my local tree for testing.\n"
	"\n"
	"Tested-by: Ann Author <ann@example.org>\n";

static const char maintainer_reply[] =
	"From: Max Maintainer <max@example.org>\n"
	"Subject: Re: [PATCH] KVM: arm64: frob the widget\n"
	"Date: Wed, 10 Sep 2025 09:00:00 +0000\n"
	"Message-ID: <reply3@example.org>\n"
	"In-Reply-To: <patch@example.org>\n"
	"References: <patch@example.org>\n"
	"\n"
	"Applied to next, thanks!\n"
	"\n"
	"[1/1] KVM: arm64: frob the widget\n"
	"      commit: 0123456789abcdef0123456789abcdef01234567\n"
	"\n"
	"Reviewed-and-tested-by: Max Maintainer <max@example.org>\n"
	"Acked-by: Rita Reviewer (again) <RITA@example.org>\n";

static const char revert_posting[] =
	"From: Max Maintainer <max@example.org>\n"
	"Subject: [PATCH] Revert \"KVM: arm64: frob the widget\"\n"
	"Date: Thu, 11 Sep 2025 09:00:00 +0000\n"
	"Message-ID: <revert@example.org>\n"
	"In-Reply-To: <reply3@example.org>\n"
	"\n"
	"This reverts commit 0123456789ab. It should never have gone in.\n"
	"\n"
	"Signed-off-by: Max Maintainer <max@example.org>\n"
	"---\n"
	"diff --git a/x b/x\n"
	"--- a/x\n"
	"+++ b/x\n"
	"@@ -1 +1 @@\n"
	"-a\n"
	"+b\n";

static void
test_classify_status_synthetic(void **state)
{
	char *dir = test_tmpdir("classify-synth");
	const char *ids[] = {
		"patch@example.org", "reply1@example.org", "reply2@example.org",
		"reply3@example.org", "revert@example.org",
	};
	struct store *s = NULL;
	struct store_txn *txn;
	struct thread t;
	struct thread_status st;
	const struct status_note *n;

	assert_int_equal(store_open(dir, 0, &s), 0);
	assert_int_equal(store_begin(s, 1, &txn), 0);
	put_raw(txn, patch_mail);
	put_raw(txn, quoting_reply);
	put_raw(txn, author_reply);
	put_raw(txn, maintainer_reply);
	put_raw(txn, revert_posting);
	assert_int_equal(store_commit(txn), 0);
	assert_int_equal(store_begin(s, 0, &txn), 0);
	ct_thread_of(txn, ids, 5, &t);
	t.next_root = strdup("v2@example.org");
	assert_int_equal(classify_thread(&t), CATEGORY_PATCH);
	assert_int_equal(classify_status(txn, &t, &st), 0);

	/* tags: only replies of non-authors, never quoted, deduplicated */
	assert_int_equal(st.n_tags, 3);
	assert_string_equal(st.tags[0].kind, "Acked-by");
	assert_string_equal(st.tags[0].who, "Rita Reviewer <rita@example.org>");
	assert_string_equal(st.tags[0].message_id, "reply1@example.org");
	assert_true(has_tag(&st, "Reviewed-by", "max@example.org"));
	assert_true(has_tag(&st, "Tested-by", "max@example.org"));
	assert_false(has_tag(&st, "Reviewed-by", "quoted@example.org"));
	assert_false(has_tag(&st, "Reviewed-by", "carried@example.org"));
	assert_false(has_tag(&st, "Tested-by", "ann@example.org"));
	for (size_t i = 1; i < st.n_tags; i++)
		assert_true(st.tags[i - 1].date <= st.tags[i].date);

	/* applied: the maintainer's line and b4 entry, not the quote, not
	 * the author's local tree, not a wrapped "applied to the guest" */
	assert_int_equal(st.n_applied, 2);
	assert_string_equal(st.applied[0].text, "Applied to next, thanks!");
	assert_string_equal(st.applied[0].from_addr, "max@example.org");
	assert_string_equal(st.applied[0].message_id, "reply3@example.org");
	assert_string_equal(st.applied[1].text,
			    "[1/1] KVM: arm64: frob the widget commit: "
			    "0123456789abcdef0123456789abcdef01234567");

	/* changes: Rita's own sentence; not the quote, not "I agree ...
	 * should", not the author's, not the commit message */
	assert_int_equal(st.n_changes, 1);
	assert_string_equal(st.changes[0].text,
			    "Please drop the second hunk, it is unrelated.");
	assert_string_equal(st.changes[0].from_name, "Rita Reviewer");
	assert_null(find_note(st.changes, st.n_changes, "split"));
	assert_null(find_note(st.changes, st.n_changes, "signature"));

	/* reverted: the revert posting of a non-revert thread */
	assert_int_equal(st.n_reverted, 1);
	n = &st.reverted[0];
	assert_string_equal(n->text,
			    "[PATCH] Revert \"KVM: arm64: frob the widget\"");
	assert_string_equal(n->message_id, "revert@example.org");
	assert_int_equal(st.superseded, 1);

	/* roles */
	assert_int_equal(st.n_roles, 5);
	assert_true(st.roles[0] & STATUS_SUBMISSION);
	assert_true(st.roles[0] & STATUS_AUTHOR);
	assert_false(st.roles[1] & (STATUS_SUBMISSION | STATUS_AUTHOR));
	assert_true(st.roles[2] & STATUS_AUTHOR);
	assert_false(st.roles[2] & STATUS_SUBMISSION);
	assert_true(st.roles[4] & STATUS_SUBMISSION);
	thread_status_release(&st);
	thread_status_release(&st);	/* safe twice */

	/* a mail of the thread that is not stored is skipped */
	free(t.msgs[1].id);
	t.msgs[1].id = strdup("missing@example.org");
	assert_int_equal(classify_status(txn, &t, &st), 0);
	assert_int_equal(st.roles[1], 0);
	assert_false(has_tag(&st, "Acked-by", "rita@example.org") &&
		     strcmp(st.tags[0].message_id, "reply3@example.org"));
	thread_status_release(&st);
	ct_release(&t);
	store_abort(txn);
	store_close(s);
	free(dir);
}

/* ---- status and categories on real mail ----------------------------- */

/* Invariants that hold for any thread: tags and notes come from
 * replies, never from a submission; texts are one clean line. */
static void
check_status_invariants(const struct thread *t, const struct thread_status *st)
{
	const struct status_note *lists[3] = {
		st->applied, st->changes, st->reverted,
	};
	size_t counts[3] = { st->n_applied, st->n_changes, st->n_reverted };

	assert_int_equal(st->n_roles, t->n_msgs);
	for (size_t i = 0; i < st->n_tags; i++) {
		for (size_t j = 0; j < t->n_msgs; j++)
			if (!strcmp(t->msgs[j].id, st->tags[i].message_id))
				assert_false(st->roles[j] &
					     (STATUS_SUBMISSION | STATUS_AUTHOR));
		assert_true(!strcmp(st->tags[i].kind, "Reviewed-by") ||
			    !strcmp(st->tags[i].kind, "Acked-by") ||
			    !strcmp(st->tags[i].kind, "Tested-by"));
	}
	for (int k = 0; k < 3; k++)
		for (size_t i = 0; i < counts[k]; i++) {
			const char *text = lists[k][i].text;

			assert_true(*text);
			assert_null(strchr(text, '\n'));
			assert_true(text[0] != '>');
			assert_true(strlen(text) <= 240);
			if (i)
				assert_true(lists[k][i - 1].date <=
					    lists[k][i].date);
		}
}

static void
check_all(struct fixture *f)
{
	for (size_t i = 0; i < f->n; i++) {
		struct thread_status st;

		assert_int_equal(classify_status(f->txn, &f->th[i], &st), 0);
		check_status_invariants(&f->th[i], &st);
		thread_status_release(&st);
	}
}

static void
test_classify_patchwork_pulls(void **state)
{
	static const char *const pulls[] = {
		"0001-git-pull-request.mbox",
		"0002-git-pull-request-wrapped.mbox",
		"0003-git-pull-request-with-diff.mbox",
		"0004-git-pull-request-git+ssh.mbox",
		"0005-git-pull-request-ssh.mbox",
		"0006-git-pull-request-http.mbox",
		"0017-git-pull-request-git-2-14-3.mbox",
		"0018-git-pull-request-crlf-newlines.mbox",
		"0023-git-pull-request-newline-in-url.mbox",
		"0024-git-pull-request-trailing-space.mbox",
	};
	static const char *const patches[] = {
		"0011-no-newline-at-end-of-file.mbox",
		"0019-multipart-patch.mbox",
		"0020-multipart-comment.mbox",	/* a reply: root missing */
		"0022-git-mode-change.mbox",
	};
	const char *corpora = test_corpora(__func__);

	if (!corpora)
		skip();
	for (size_t k = 0; k < 2; k++) {
		const char *const *files = k ? patches : pulls;
		size_t n = k ? sizeof(patches) / sizeof(*patches) :
			       sizeof(pulls) / sizeof(*pulls);

		for (size_t i = 0; i < n; i++) {
			char rel[256], *path;
			struct fixture f;

			snprintf(rel, sizeof(rel), "patchwork/mail/%s",
				 files[i]);
			path = corpus_path(corpora, rel);
			fixture_open(&f, path);
			assert_int_equal(f.n, 1);
			if (classify_thread(&f.th[0]) !=
			    (k ? CATEGORY_PATCH : CATEGORY_PULL))
				fail_msg("%s: category %s", files[i],
					 category_name(classify_thread(
						 &f.th[0])));
			check_all(&f);
			fixture_close(&f);
			free(path);
		}
	}
}

static void
b4_status(const char *corpora, const char *file, const char *id,
	  struct fixture *f, struct thread_status *st)
{
	char rel[256], *path;

	snprintf(rel, sizeof(rel), "b4/%s", file);
	path = corpus_path(corpora, rel);
	fixture_open(f, path);
	free(path);
	assert_int_equal(classify_status(f->txn, fixture_thread(f, id), st),
			 0);
	check_status_invariants(fixture_thread(f, id), st);
}

static void
test_classify_b4_trailers(void **state)
{
	const char *corpora = test_corpora(__func__);
	struct fixture f;
	struct thread_status st;
	struct thread *t;
	size_t i;

	if (!corpora)
		skip();
	/* A follow-up to patch 2/2 and one to the cover, same address:
	 * one tag, from the first; the tags carried in the patches (the
	 * "Original Reviewer") were not given in this thread. */
	b4_status(corpora, "trailers-followup-with-cover.mbox",
		  "cover-message@example.com", &f, &st);
	assert_int_equal(classify_thread(fixture_thread(&f,
		"cover-message@example.com")), CATEGORY_PATCH);
	assert_int_equal(st.n_tags, 1);
	assert_string_equal(st.tags[0].kind, "Reviewed-by");
	assert_string_equal(st.tags[0].who,
		"Followup Reviewer1 <followup-reviewer1@example.com>");
	assert_string_equal(st.tags[0].message_id, "fwup-message-1@example.com");
	assert_false(has_tag(&st, "Reviewed-by", "original-reviewer"));
	thread_status_release(&st);
	fixture_close(&f);

	/* Reviewer2 quotes Reviewer1's tag ("> Reviewed-by: ...
	 * <reviewer1@...>") and gives Tested-by himself. */
	b4_status(corpora, "trailers-followup-custody.mbox",
		  "fwup-message-1@example.com", &f, &st);
	assert_int_equal(st.n_tags, 2);
	assert_true(has_tag(&st, "Reviewed-by",
			    "<followup-reviewer1@example.com>"));
	assert_true(has_tag(&st, "Tested-by",
			    "<followup-reviewer2@example.com>"));
	assert_false(has_tag(&st, "Reviewed-by", "<reviewer1@example.com>"));
	assert_false(has_tag(&st, "Reviewed-by", "original-reviewer"));
	thread_status_release(&st);
	fixture_close(&f);

	/* A follow-up without "Re:" still gives its tag. */
	b4_status(corpora, "trailers-followup-nore.mbox",
		  "orig-message@example.com", &f, &st);
	assert_int_equal(st.n_tags, 1);
	assert_true(has_tag(&st, "Reviewed-by", "followup-reviewer1@"));
	t = fixture_thread(&f, "orig-message@example.com");
	assert_int_equal(st.roles[msg_index(t, "orig-message@example.com")],
			 STATUS_SUBMISSION | STATUS_AUTHOR);
	assert_int_equal(st.roles[msg_index(t, "fwup-message-1@example.com")],
			 0);
	thread_status_release(&st);
	fixture_close(&f);

	/* An indented copy of the patch's trailers is not a tag. */
	b4_status(corpora, "trailers-followup-already-present.mbox",
		  "orig-message@example.com",
		  &f, &st);
	assert_int_equal(st.n_tags, 1);
	assert_true(has_tag(&st, "Tested-by", "someone-else@example.com"));
	thread_status_release(&st);
	fixture_close(&f);

	/* A bug report answered by a patch is no cover letter. */
	b4_status(corpora, "naked-cover-bugreport.mbox",
		  "20221025-bugreport-widget@example.com", &f, &st);
	t = fixture_thread(&f, "20221025-bugreport-widget@example.com");
	assert_int_not_equal(classify_thread(t), CATEGORY_PATCH);
	i = msg_index(t, "20221025-widget-fix-author@example.org");
	assert_true(st.roles[i] & STATUS_SUBMISSION);
	assert_true(st.roles[i] & STATUS_AUTHOR);
	assert_false(st.roles[msg_index(t, "20221025-bugreport-widget@"
					"example.com")] & STATUS_AUTHOR);
	thread_status_release(&st);
	fixture_close(&f);
}

static void
test_classify_kvmarm_archive(void **state)
{
	const char *corpora = test_corpora(__func__);
	struct fixture f;
	struct thread_status st;
	struct thread *t;
	const struct status_note *n;
	char *path;

	if (!corpora)
		skip();
	path = corpus_path(corpora, "kvmarm-columbia/kvmarm-2022-10.mbox");
	fixture_open(&f, path);
	free(path);
	check_all(&f);

	/* Marc applies his own patch with a b4 thank-you note. */
	t = fixture_thread(&f, "20221001091245.3900668-1-maz@kernel.org");
	assert_int_equal(classify_thread(t), CATEGORY_PATCH);
	assert_int_equal(classify_status(f.txn, t, &st), 0);
	n = find_note(st.applied, st.n_applied,
		      "Applied to kvm-arm64/misc-6.1, thanks!");
	assert_non_null(n);
	assert_string_equal(n->from_addr, "maz@kernel.org");
	assert_string_equal(n->message_id, "166461590369.3900755."
			    "9396637331085967058.b4-ty@kernel.org");
	assert_non_null(find_note(st.applied, st.n_applied,
				  "[1/1] KVM: arm64: Advertise new kvmarm "
				  "mailing list commit: ac107abef197"));
	thread_status_release(&st);

	/* A pull request, pulled by Paolo. */
	t = fixture_thread(&f, "20221002124219.3902661-1-maz@kernel.org");
	assert_int_equal(classify_thread(t), CATEGORY_PULL);
	assert_int_equal(classify_status(f.txn, t, &st), 0);
	n = find_note(st.applied, st.n_applied, "Pulled, thanks!");
	assert_non_null(n);
	assert_string_equal(n->from_addr, "pbonzini@redhat.com");
	thread_status_release(&st);
	fixture_close(&f);

	path = corpus_path(corpora, "kvmarm-columbia/kvmarm-2022-11.mbox");
	fixture_open(&f, path);
	free(path);
	check_all(&f);
	t = fixture_thread(&f, "20221112081714.2169495-1-ricarkol@google.com");
	assert_int_equal(classify_thread(t), CATEGORY_RFC);
	t = fixture_thread(&f, "20221102091036.2106882-1-maz@kernel.org");
	assert_int_equal(classify_thread(t), CATEGORY_PULL);
	fixture_close(&f);
}

static void
test_classify_seed_week(void **state)
{
	static const char *const syzbot[] = {
		"68acd0d9.a00a0220.33401d.048b.GAE@google.com",
		"68c0695c.050a0220.2ff435.0004.GAE@google.com",
		"68c09802.050a0220.3c6139.000d.GAE@google.com",
	};
	const char *corpora = test_corpora(__func__);
	struct fixture f;
	struct thread_status st;
	struct thread *t;
	size_t bugs = 0;
	char *path;

	if (!corpora)
		skip();
	path = corpus_path(corpora, "seed-week-2025-09/seed-week.mbox");
	fixture_open(&f, path);
	free(path);
	check_all(&f);
	/* The seed filed two of the three syzbot reports under "Other". */
	for (size_t i = 0; i < 3; i++)
		assert_int_equal(classify_thread(fixture_thread(&f, syzbot[i])),
				 CATEGORY_BUG);
	for (size_t i = 0; i < f.n; i++)
		bugs += classify_thread(&f.th[i]) == CATEGORY_BUG;
	assert_int_equal(bugs, 3);
	t = fixture_thread(&f, "aMHepH8Md9gSu2ix@linux.dev");
	assert_int_equal(classify_thread(t), CATEGORY_PULL);

	/* Catalin's Reviewed-by on the LSUI series, Will's Acked-by on
	 * the hyp panic patches. */
	t = fixture_thread(&f, "aML3Ps1xeTCVCdTn@arm.com");
	assert_int_equal(classify_thread(t), CATEGORY_PATCH);
	assert_int_equal(classify_status(f.txn, t, &st), 0);
	assert_true(has_tag(&st, "Reviewed-by", "catalin.marinas@arm.com"));
	thread_status_release(&st);
	fixture_close(&f);
}

static void
test_classify_demo_week(void **state)
{
	struct fixture f;
	struct thread_status st;
	struct thread *t;
	const struct status_note *n;

	fixture_open(&f, "tests/data/demo-week.mbox");
	check_all(&f);

	/* kvm-unit-tests patch: PATCH, not Other; reviewed and merged */
	t = fixture_thread(&f, "20250905124130.755292-1-vladimir.murzin@arm.com");
	assert_int_equal(classify_thread(t), CATEGORY_PATCH);
	assert_int_equal(classify_status(f.txn, t, &st), 0);
	assert_true(has_tag(&st, "Reviewed-by", "alexandru.elisei@arm.com"));
	n = find_note(st.applied, st.n_applied, "Merged, thanks.");
	assert_non_null(n);
	assert_string_equal(n->from_name, "Andrew Jones");
	thread_status_release(&st);

	/* Marc's ack and his request, from his own prose only */
	t = fixture_thread(&f, "20250907201414.2586095-1-alok.a.tiwari@oracle.com");
	assert_int_equal(classify_status(f.txn, t, &st), 0);
	assert_true(has_tag(&st, "Acked-by", "maz@kernel.org"));
	n = find_note(st.changes, st.n_changes, "Please drop that paragraph.");
	assert_non_null(n);
	assert_string_equal(n->from_addr, "maz@kernel.org");
	assert_int_equal(st.n_applied, 0);
	thread_status_release(&st);

	/* Oliver applies his own revert series: b4 entries count, and a
	 * revert series is not itself "reverted". */
	t = fixture_thread(&f, "20250910180938.2124700-1-oliver.upton@linux.dev");
	assert_int_equal(classify_status(f.txn, t, &st), 0);
	assert_int_equal(st.n_applied, 3);
	assert_string_equal(st.applied[0].text, "Applied to fixes, thanks!");
	assert_int_equal(st.n_reverted, 0);
	thread_status_release(&st);

	/* the pull request: "I've reverted" inside it is not a status */
	t = fixture_thread(&f, "aMHepC2iPZwHEvEV@linux.dev");
	assert_int_equal(classify_thread(t), CATEGORY_PULL);
	assert_int_equal(classify_status(f.txn, t, &st), 0);
	assert_int_equal(st.n_reverted, 0);
	n = find_note(st.applied, st.n_applied, "Pulled, thanks.");
	assert_non_null(n);
	assert_string_equal(n->from_addr, "pbonzini@redhat.com");
	thread_status_release(&st);

	assert_int_equal(classify_thread(fixture_thread(&f,
		"74fc3a86-a4fd-4827-ac4c-7e9e83a15377@example.net")),
		CATEGORY_BUG);
	assert_int_equal(classify_thread(fixture_thread(&f,
		"628189c1-742e-4d8f-ba10-7a128dbf2f9d@example.org")),
		CATEGORY_OTHER);
	assert_int_equal(classify_thread(fixture_thread(&f,
		"68acd0d9.050a0220.bc217a.0000.GAE@google.com")), CATEGORY_BUG);
	fixture_close(&f);
}

/* ---- through the threader (bot/thread.c) ---------------------------- */

#define WEEK_START	1757289600	/* 2025-09-08T00:00:00Z */
#define WEEK_END	1757894400	/* 2025-09-15T00:00:00Z */

/*
 * The demo week's threads as thread_window() makes them: the category
 * table of tests/data/README.md, and the status invariants.
 */
static void
test_classify_thread_window_demo(void **state)
{
	struct store *s = ct_import("tests/data/demo-week.mbox");
	struct store_txn *txn;
	struct thread *th;
	size_t n, threads[CATEGORY_COUNT] = { 0 }, mails[CATEGORY_COUNT] = { 0 };

	assert_int_equal(store_begin(s, 0, &txn), 0);
	assert_int_equal(thread_window(txn, WEEK_START, WEEK_END, &th, &n), 0);
	assert_int_equal(n, 35);
	for (size_t i = 0; i < n; i++) {
		enum category c = classify_thread(&th[i]);
		struct thread_status st;

		threads[c]++;
		for (size_t j = 0; j < th[i].n_msgs; j++)
			mails[c] += th[i].msgs[j].date >= WEEK_START &&
				    th[i].msgs[j].date < WEEK_END;
		assert_int_equal(classify_status(txn, &th[i], &st), 0);
		check_status_invariants(&th[i], &st);
		assert_int_equal(st.superseded, th[i].next_root != NULL);
		thread_status_release(&st);
	}
	assert_int_equal(threads[CATEGORY_PATCH], 28);
	assert_int_equal(mails[CATEGORY_PATCH], 174);
	assert_int_equal(threads[CATEGORY_RFC], 1);
	assert_int_equal(mails[CATEGORY_RFC], 6);
	assert_int_equal(threads[CATEGORY_BUG], 4);
	assert_int_equal(mails[CATEGORY_BUG], 9);
	assert_int_equal(threads[CATEGORY_PULL], 1);
	assert_int_equal(mails[CATEGORY_PULL], 2);
	assert_int_equal(threads[CATEGORY_OTHER], 1);
	assert_int_equal(mails[CATEGORY_OTHER], 3);
	thread_free_array(th, n);
	store_abort(txn);
	store_close(s);
}

/* The seed week through thread_window(): its three syzbot reports are
 * the only Bug Reports, its pull request a GIT PULL; and v3 of the
 * pKVM handle series is superseded by v4 (thread_collect). */
static void
test_classify_thread_window_seed(void **state)
{
	const char *corpora = test_corpora(__func__);
	struct store *s;
	struct store_txn *txn;
	struct thread *th, t;
	struct thread_status st;
	size_t n, bugs = 0, pulls = 0;
	char *path;

	if (!corpora)
		skip();
	path = corpus_path(corpora, "seed-week-2025-09/seed-week.mbox");
	s = ct_import(path);
	free(path);
	assert_int_equal(store_begin(s, 0, &txn), 0);
	assert_int_equal(thread_window(txn, WEEK_START, WEEK_END, &th, &n), 0);
	for (size_t i = 0; i < n; i++) {
		enum category c = classify_thread(&th[i]);
		int syz = 0;

		for (size_t j = 0; j < th[i].n_msgs; j++)
			syz |= classify_is_syzbot(th[i].msgs[j].from_addr);
		assert_int_equal(c == CATEGORY_BUG, syz);
		bugs += c == CATEGORY_BUG;
		pulls += c == CATEGORY_PULL;
		assert_int_equal(classify_status(txn, &th[i], &st), 0);
		check_status_invariants(&th[i], &st);
		thread_status_release(&st);
	}
	assert_int_equal(bugs, 3);
	assert_int_equal(pulls, 1);
	thread_free_array(th, n);

	assert_int_equal(thread_collect(txn,
		"68c09802.050a0220.3c6139.000d.GAE@google.com", &t), 0);
	assert_int_equal(classify_thread(&t), CATEGORY_BUG);
	assert_int_equal(t.n_msgs, 3);
	thread_release(&t);
	store_abort(txn);
	store_close(s);
}

static void
test_classify_thread_versions_demo(void **state)
{
	struct store *s = ct_import("tests/data/demo-week.mbox");
	struct store_txn *txn;
	struct thread t;
	struct thread_status st;

	assert_int_equal(store_begin(s, 0, &txn), 0);
	assert_int_equal(thread_collect(txn,
		"20250827101949.1030155-1-tabba@google.com", &t), 0);
	assert_non_null(t.next_root);
	assert_string_equal(t.next_root,
			    "20250909072436.484606-1-tabba@google.com");
	assert_int_equal(classify_status(txn, &t, &st), 0);
	assert_int_equal(st.superseded, 1);
	assert_true(has_tag(&st, "Tested-by", "broonie@kernel.org"));
	assert_non_null(find_note(st.changes, st.n_changes, "Respin please."));
	thread_status_release(&st);
	thread_release(&t);
	store_abort(txn);
	store_close(s);
}

TEST_LIST(classify,
	cmocka_unit_test(test_classify_category_rules),
	cmocka_unit_test(test_classify_text_helpers),
	cmocka_unit_test(test_classify_status_synthetic),
	cmocka_unit_test(test_classify_patchwork_pulls),
	cmocka_unit_test(test_classify_b4_trailers),
	cmocka_unit_test(test_classify_kvmarm_archive),
	cmocka_unit_test(test_classify_seed_week),
	cmocka_unit_test(test_classify_demo_week),
	cmocka_unit_test(test_classify_thread_window_demo),
	cmocka_unit_test(test_classify_thread_window_seed),
	cmocka_unit_test(test_classify_thread_versions_demo),
);
