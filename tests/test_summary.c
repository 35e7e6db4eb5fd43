/*
 * test_summary.c - the offline summarizer on the demo week, the seed
 * week and synthetic mail: three honest paragraphs in English and
 * Chinese, facts only, never quoted text, diffs or signatures, the same
 * text on every run.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "classify.h"
#include "classify_test.h"
#include "message.h"
#include "store.h"
#include "summary.h"
#include "testutil.h"
#include "thread.h"

#define WEEK_START	1757289600	/* 2025-09-08T00:00:00Z */
#define WEEK_END	1757894400	/* 2025-09-15T00:00:00Z */

static int
valid_utf8(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	while (*p) {
		int n = *p < 0x80 ? 0 : (*p & 0xe0) == 0xc0 ? 1 :
			(*p & 0xf0) == 0xe0 ? 2 : (*p & 0xf8) == 0xf0 ? 3 : -1;

		if (n < 0 || (n == 1 && *p < 0xc2))
			return 0;
		p++;
		for (int i = 0; i < n; i++, p++)
			if ((*p & 0xc0) != 0x80)
				return 0;
	}
	return 1;
}

/* The shape every summary has, whatever the thread. */
static void
check_shape(const char *s, int zh)
{
	const char *p = s, *first, *second;

	assert_true(valid_utf8(s));
	first = strstr(s, "\n\n");
	assert_non_null(first);
	second = strstr(first + 2, "\n\n");
	assert_non_null(second);
	assert_null(strstr(second + 2, "\n"));
	for (const char *q = s; q < first; q++)
		assert_true(*q != '\n');
	for (const char *q = first + 2; q < second; q++)
		assert_true(*q != '\n');
	assert_true(strlen(s) <= (zh ? 3500 : 1900));
	/* no line may look like a quote, a diff or a signature */
	while (*p) {
		assert_true(*p != '>');
		assert_true(strncmp(p, "diff --git", 10) &&
			    strncmp(p, "@@ ", 3) && strncmp(p, "+++ ", 4) &&
			    strncmp(p, "--- ", 4) && strncmp(p, "-- \n", 4));
		p = strchr(p, '\n');
		if (!p)
			break;
		p++;
	}
	assert_null(strstr(s, "\n>"));
	assert_null(strstr(s, "diff --git"));
	assert_null(strstr(s, "\n@@"));
}

static char *
summarize(struct store_txn *txn, const struct thread *t,
	  const struct thread_status *st, const char *lang,
	  const char *list)
{
	struct summary_input in = {
		.thread = t,
		.category = classify_thread(t),
		.status = st,
		.since = WEEK_START,
		.until = WEEK_END,
		.lang = lang,
		.list_name = list,
	};
	char *out = NULL;

	assert_int_equal(summary_offline(txn, &in, &out), 0);
	assert_non_null(out);
	return out;
}

static int
in_window(const struct thread *t)
{
	for (size_t i = 0; i < t->n_msgs; i++)
		if (t->msgs[i].date >= WEEK_START && t->msgs[i].date < WEEK_END)
			return 1;
	return 0;
}

struct corpus {
	struct store *store;
	struct store_txn *txn;
	struct thread *th;
	size_t n;
	char *en[512];		/* summaries of the threads, by index */
	char *zh[512];
};

/* Summarise every thread of the window, checking the common shape and
 * that two runs, and a run without a given status, agree. */
static void
corpus_open(struct corpus *c, const char *path)
{
	memset(c, 0, sizeof(*c));
	c->store = ct_import(path);
	assert_int_equal(store_begin(c->store, 0, &c->txn), 0);
	ct_threads(c->txn, &c->th, &c->n);
	assert_true(c->n <= 512);
	for (size_t i = 0; i < c->n; i++) {
		struct thread_status st;
		char *again, *own;

		if (!in_window(&c->th[i]))
			continue;
		assert_int_equal(classify_status(c->txn, &c->th[i], &st), 0);
		c->en[i] = summarize(c->txn, &c->th[i], &st, "en", NULL);
		c->zh[i] = summarize(c->txn, &c->th[i], &st, "zh", NULL);
		check_shape(c->en[i], 0);
		check_shape(c->zh[i], 1);
		assert_string_not_equal(c->en[i], c->zh[i]);
		again = summarize(c->txn, &c->th[i], &st, "en", NULL);
		own = summarize(c->txn, &c->th[i], NULL, "en", NULL);
		assert_string_equal(again, c->en[i]);
		assert_string_equal(own, c->en[i]);
		free(again);
		free(own);
		thread_status_release(&st);
	}
}

static void
corpus_close(struct corpus *c)
{
	for (size_t i = 0; i < c->n; i++) {
		free(c->en[i]);
		free(c->zh[i]);
	}
	ct_free(c->th, c->n);
	store_abort(c->txn);
	store_close(c->store);
}

static const char *
summary_of(struct corpus *c, const char *id, int zh)
{
	struct thread *t = ct_find(c->th, c->n, id);

	if (!t)
		fail_msg("no thread holds <%s>", id);
	if (!c->en[t - c->th])
		fail_msg("thread of <%s> has no mail in the window", id);
	return zh ? c->zh[t - c->th] : c->en[t - c->th];
}

static void
assert_contains(const char *hay, const char *needle)
{
	if (!strstr(hay, needle))
		fail_msg("\"%s\" not in:\n%s", needle, hay);
}

static void
test_summary_demo_week(void **state)
{
	struct corpus c;
	const char *s;

	corpus_open(&c, "tests/data/demo-week.mbox");

	/* Marc's ack and request, quoted and attributed */
	s = summary_of(&c, "20250907201414.2586095-1-alok.a.tiwari@oracle.com",
		       0);
	assert_contains(s, "Alok Tiwari posted the patch \"KVM: arm64: vgic: "
			"fix incorrect spinlock API usage\" on 2025-09-07.");
	assert_contains(s, "Diffstat: 1 file changed, +1/-1.");
	assert_contains(s, "Before this week: 1 mail from 2025-09-07 on, by "
			"Alok Tiwari. No replies before this week.");
	assert_contains(s, "Tags given: Acked-by from Marc Zyngier.");
	assert_contains(s, "Marc Zyngier asked: \"Please drop that "
			"paragraph.\"");
	s = summary_of(&c, "20250907201414.2586095-1-alok.a.tiwari@oracle.com",
		       1);
	assert_contains(s, "Marc Zyngier \u8981\u6c42\u4fee\u6539\uff1a"
			"\u201cPlease drop that paragraph.\u201d");
	assert_contains(s, "Acked-by\uff08Marc Zyngier\uff09");

	/* the kvm-unit-tests patch: a patch, reviewed and merged */
	s = summary_of(&c, "20250905124130.755292-1-vladimir.murzin@arm.com",
		       0);
	assert_contains(s, "Vladimir Murzin posted the kvm-unit-tests patch");
	assert_contains(s, "Reviewed-by from Alexandru Elisei");
	assert_contains(s, "Andrew Jones wrote: \"Merged, thanks.\"");

	/* started this week */
	s = summary_of(&c, "20250908064807.180385-1-r09922117@csie.ntu.edu.tw",
		       0);
	assert_contains(s, "\n\nNo earlier discussion: the thread started "
			"this week.\n\n");
	assert_contains(s, "Oliver Upton wrote: \"Applied to fixes, "
			"thanks!\" 1 applied commit listed.");
	s = summary_of(&c, "20250908064807.180385-1-r09922117@csie.ntu.edu.tw",
		       1);
	assert_contains(s, "\n\n\u6b64\u524d\u6ca1\u6709\u8ba8\u8bba\uff1a"
			"\u8be5\u7ebf\u7a0b\u672c\u5468\u5f00\u59cb\u3002\n\n");

	/* syzbot: the crash title and the tree, no guess */
	s = summary_of(&c, "68acd0d9.050a0220.bc217a.0000.GAE@google.com", 0);
	assert_contains(s, "syzbot reported \"WARNING: locking bug in "
			"vgic_put_irq\" on 2025-08-25 (HEAD commit: "
			"7e3c1d2f5a9b; git tree: upstream).");

	/* the pull request: what to pull, how many commits, pulled */
	s = summary_of(&c, "aMHepC2iPZwHEvEV@linux.dev", 0);
	assert_contains(s, "Oliver Upton sent the pull request "
			"\"KVM/arm64 changes for 6.17, round #3\"");
	assert_contains(s, "kvmarm.git tags/kvmarm-fixes-6.17-2 (16 commits)");
	assert_contains(s, "Diffstat: 19 files changed, +120/-154.");
	assert_contains(s, "Paolo Bonzini wrote: \"Pulled, thanks.");
	assert_null(strstr(s, "Hi Paolo"));

	/* a large series with history before the week */
	s = summary_of(&c, "20250821081436.3805390-1-vdonnefort@google.com", 0);
	assert_contains(s, "Vincent Donnefort posted v6 of the 24-patch "
			"series \"Tracefs support for pKVM\" on 2025-08-21.");
	assert_contains(s, "Before this week: 6 mails from 2025-08-21 on");
	assert_contains(s, "replies from Steven Rostedt (14)");
	corpus_close(&c);
}

static void
test_summary_versions(void **state)
{
	struct store *s = ct_import("tests/data/demo-week.mbox");
	struct store_txn *txn;
	struct thread *th, *t;
	size_t n;
	char *en, *zh;

	assert_int_equal(store_begin(s, 0, &txn), 0);
	ct_threads(txn, &th, &n);
	t = ct_find(th, n, "20250909072436.484606-1-tabba@google.com");
	assert_non_null(t);
	t->prev_root = strdup("20250827101949.1030155-1-tabba@google.com");
	t->prev_version = 3;
	t->prev_date = 1756289989;	/* 2025-08-27 */
	t->next_root = strdup("v5/x+y@example.org");
	t->next_version = 5;
	t->next_date = 1757800000;	/* 2025-09-13 */
	en = summarize(txn, t, NULL, "en", NULL);
	zh = summarize(txn, t, NULL, "zh", "linux-arm-kernel");
	check_shape(en, 0);
	check_shape(zh, 1);
	assert_contains(en, "This is v4 of a series whose v3 was discussed on "
			"2025-08-27 (https://lore.kernel.org/kvmarm/"
			"20250827101949.1030155-1-tabba@google.com/).");
	assert_contains(en, "A newer version, v5, was posted on 2025-09-13: "
			"https://lore.kernel.org/kvmarm/v5%2Fx+y@example.org/.");
	assert_contains(zh, "\u8fd9\u662f\u8be5\u7cfb\u5217\u7684 v4\uff0c"
			"\u5176 v3 \u66fe\u4e8e 2025-08-27 \u8ba8\u8bba\uff08"
			"https://lore.kernel.org/linux-arm-kernel/"
			"20250827101949.1030155-1-tabba@google.com/\uff09");
	assert_contains(zh, "\u5df2\u53d1\u5e03\u66f4\u65b0\u7248\u672c v5");
	free(en);
	free(zh);
	ct_free(th, n);
	store_abort(txn);
	store_close(s);
}

static void
test_summary_seed_week(void **state)
{
	const char *corpora = test_corpora(__func__);
	char path[4096];
	struct corpus c;
	const char *s;
	size_t syz = 0;

	if (!corpora)
		skip();
	snprintf(path, sizeof(path), "%s/seed-week-2025-09/seed-week.mbox",
		 corpora);
	corpus_open(&c, path);
	s = summary_of(&c, "aML3Ps1xeTCVCdTn@arm.com", 0);
	assert_contains(s, "Reviewed-by from Catalin Marinas");
	assert_contains(s, "replies from Catalin Marinas (10), Will Deacon "
			"(4) and Yeoreum Yun (3).");
	s = summary_of(&c, "aMHepH8Md9gSu2ix@linux.dev", 0);
	assert_contains(s, "(16 commits)");
	assert_contains(s, "No replies this week.");
	s = summary_of(&c, "68c09802.050a0220.3c6139.000d.GAE@google.com", 0);
	assert_contains(s, "Oliver Upton sent syzbot a test request (\"#syz "
			"test: git://git.kernel.org/pub/scm/linux/kernel/git/"
			"kvmarm/kvmarm.git fixes\"). syzbot wrote: \"syzbot "
			"has tested the proposed patch but the reproducer is "
			"still triggering an issue\".");
	s = summary_of(&c, "68c09802.050a0220.3c6139.000d.GAE@google.com", 1);
	assert_contains(s, "syzbot \u4e8e 2025-09-09 \u62a5\u544a\u4e86"
			"\u201cKASAN: invalid-access Read in "
			"__kvm_pgtable_walk\u201d");
	for (size_t i = 0; i < c.n; i++)
		if (c.en[i] && strstr(c.en[i], "syzbot reported"))
			syz++;
	assert_int_equal(syz, 3);
	/* the seed padded summaries with guesses: we never do */
	for (size_t i = 0; i < c.n; i++) {
		if (!c.zh[i])
			continue;
		assert_null(strstr(c.zh[i], "\u53ef\u4ee5\u63a8\u6d4b"));
		assert_null(strstr(c.en[i], "no history available"));
	}
	corpus_close(&c);
}

static const char patch_mail[] =
	"From: Ann Author <ann@example.org>\n"
	"Subject: [PATCH] KVM: arm64: frob the widget\n"
	"Date: Wed, 03 Sep 2025 10:00:00 +0000\n"
	"Message-ID: <patch@example.org>\n"
	"\n"
	"Hi all,\n"
	"\n"
	"The widget is frobbed too late. Frob it before use instead, so\n"
	"the guest sees a consistent view.\n"
	"\n"
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
	"Subject: Re: [PATCH] KVM: arm64: frob the widget\n"
	"Date: Tue, 09 Sep 2025 10:00:00 +0000\n"
	"Message-ID: <reply1@example.org>\n"
	"In-Reply-To: <patch@example.org>\n"
	"\n"
	"On Wed, 03 Sep 2025, Ann Author wrote:\n"
	"> The widget is frobbed too late.\n"
	"> Please split this into two patches.\n"
	"> Reviewed-by: Quoted Person <quoted@example.org>\n"
	"> -int b;\n"
	"\n"
	"Please drop the second hunk, it is unrelated.\n"
	"\n"
	"Reviewed-by: Rita Reviewer <rita@example.org>\n"
	"\n"
	"-- \n"
	"Rita, who says: please ignore this signature.\n";

static const char second_reply[] =
	"From: RITA REVIEWER <rita@home.example>\n"
	"Subject: Re: [PATCH] KVM: arm64: frob the widget\n"
	"Date: Wed, 10 Sep 2025 10:00:00 +0000\n"
	"Message-ID: <reply2@example.org>\n"
	"In-Reply-To: <reply1@example.org>\n"
	"\n"
	"Sent from home, same person.\n";

static void
test_summary_synthetic(void **state)
{
	char *dir = test_tmpdir("summary-synth");
	const char *ids[] = { "patch@example.org", "reply1@example.org",
			      "reply2@example.org" };
	struct store *s = NULL;
	struct store_txn *txn;
	struct thread t;
	struct summary_input in = { 0 };
	char *en, *zh, *out = (char *)1;
	const char *raws[] = { patch_mail, quoting_reply, second_reply };

	assert_int_equal(store_open(dir, 0, &s), 0);
	assert_int_equal(store_begin(s, 1, &txn), 0);
	for (int i = 0; i < 3; i++) {
		struct message m;

		assert_int_equal(message_parse(raws[i], strlen(raws[i]), &m,
					       NULL), 0);
		assert_int_equal(store_put_message(txn, &m, raws[i],
						   strlen(raws[i])), 1);
		message_release(&m);
	}
	assert_int_equal(store_commit(txn), 0);
	assert_int_equal(store_begin(s, 0, &txn), 0);
	ct_thread_of(txn, ids, 2, &t);
	en = summarize(txn, &t, NULL, "en", NULL);
	zh = summarize(txn, &t, NULL, "zh", NULL);
	check_shape(en, 0);
	check_shape(zh, 1);
	assert_string_equal(en,
		"Ann Author posted the patch \"KVM: arm64: frob the widget\" "
		"on 2025-09-03. The commit message says: \"The widget is "
		"frobbed too late. Frob it before use instead, so the guest "
		"sees a consistent view.\" Diffstat: 1 file changed, +1/-1."
		"\n\n"
		"Before this week: 1 mail from 2025-09-03 on, by Ann Author. "
		"No replies before this week."
		"\n\n"
		"This week: 1 mail; replies from Rita Reviewer (1). Tags "
		"given: Reviewed-by from Rita Reviewer. Rita Reviewer asked: "
		"\"Please drop the second hunk, it is unrelated.\"");
	assert_contains(zh, "Ann Author \u4e8e 2025-09-03 \u53d1\u5e03\u4e86"
			"\u8865\u4e01\u201cKVM: arm64: frob the widget\u201d"
			"\uff08v1\uff09\u3002");
	assert_contains(zh, "\u672c\u5468\u4e4b\u524d\uff1a\u5171 1 \u5c01"
			"\u90ae\u4ef6");
	/* one person under two addresses counts once */
	ct_release(&t);
	ct_thread_of(txn, ids, 3, &t);
	free(en);
	en = summarize(txn, &t, NULL, "en", NULL);
	assert_contains(en, "This week: 2 mails; replies from Rita Reviewer "
			"(2). ");
	for (int k = 0; k < 2; k++) {
		const char *x = k ? zh : en;

		assert_null(strstr(x, "Quoted Person"));
		assert_null(strstr(x, "split this"));
		assert_null(strstr(x, "signature"));
		assert_null(strstr(x, "int b"));
		assert_null(strstr(x, "Hi all"));
	}
	free(en);
	free(zh);

	/* no mail at all: an error, not an empty text */
	in.thread = &(struct thread){ 0 };
	assert_int_equal(summary_offline(txn, &in, &out), -1);
	assert_null(out);
	ct_release(&t);
	store_abort(txn);
	store_close(s);
	free(dir);
}

/* ---- through the threader (bot/thread.c) ---------------------------- */

static void
test_summary_thread_window(void **state)
{
	struct store *s = ct_import("tests/data/demo-week.mbox");
	struct store_txn *txn;
	struct thread *th, t;
	size_t n, fresh = 0;
	char *en, *zh;

	assert_int_equal(store_begin(s, 0, &txn), 0);
	assert_int_equal(thread_window(txn, WEEK_START, WEEK_END, &th, &n), 0);
	for (size_t i = 0; i < n; i++) {
		en = summarize(txn, &th[i], NULL, "en", "kvmarm");
		zh = summarize(txn, &th[i], NULL, "zh", "kvmarm");
		check_shape(en, 0);
		check_shape(zh, 1);
		/* a thread without mail before the window says so */
		if (th[i].msgs[0].date >= WEEK_START) {
			assert_contains(en, "No earlier discussion: the "
					"thread started this week.");
			assert_contains(zh, "\u6b64\u524d\u6ca1\u6709\u8ba8"
					"\u8bba\uff1a\u8be5\u7ebf\u7a0b"
					"\u672c\u5468\u5f00\u59cb\u3002");
			fresh++;
		} else {
			assert_contains(en, "Before this week: ");
		}
		free(en);
		free(zh);
	}
	assert_true(fresh > 10);
	thread_free_array(th, n);

	/* versions linked by the threader: v4 points back to v3 ... */
	assert_int_equal(thread_collect(txn,
		"20250909072436.484606-1-tabba@google.com", &t), 0);
	en = summarize(txn, &t, NULL, "en", NULL);
	assert_contains(en, "Fuad Tabba posted v4 of the 9-patch series "
			"\"KVM: arm64: Reserve pKVM VM handle during initial "
			"VM setup\" on 2025-09-09.");
	assert_contains(en, "This is v4 of a series whose v3 was discussed on "
			"2025-08-27 (https://lore.kernel.org/kvmarm/"
			"20250827101949.1030155-1-tabba@google.com/).");
	free(en);
	thread_release(&t);
	/* ... and v3 forward to v4 */
	assert_int_equal(thread_collect(txn,
		"20250827101949.1030155-1-tabba@google.com", &t), 0);
	en = summarize(txn, &t, NULL, "en", NULL);
	assert_contains(en, "A newer version, v4, was posted on 2025-09-09: "
			"https://lore.kernel.org/kvmarm/"
			"20250909072436.484606-1-tabba@google.com/.");
	assert_contains(en, "Marc Zyngier asked: \"Respin please.\"");
	free(en);
	thread_release(&t);
	store_abort(txn);
	store_close(s);
}

TEST_LIST(summary,
	cmocka_unit_test(test_summary_demo_week),
	cmocka_unit_test(test_summary_versions),
	cmocka_unit_test(test_summary_seed_week),
	cmocka_unit_test(test_summary_synthetic),
	cmocka_unit_test(test_summary_thread_window),
);
