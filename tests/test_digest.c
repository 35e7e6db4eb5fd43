/*
 * test_digest.c - the digest: dates, lore links, the three renderers on
 * a model built by hand (text width with CJK, Markdown sections in both
 * languages, JSON keys), the time zone handling, digest_build() end to
 * end on the demo week and on every corpus at once (the threads
 * partition the window's mails), and the `digest` command.
 *
 * Every mail and name here is written by this file or comes from
 * tests/data/demo-week.mbox; the corpora are only read.
 */
#include <locale.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <wchar.h>

#include <json-c/json.h>

#include "buf.h"
#include "digest.h"
#include "import.h"
#include "store.h"
#include "strset.h"
#include "testutil.h"

/* --- helpers -------------------------------------------------------------- */

static int64_t
date_of(const char *iso)
{
	int64_t t = 0;

	assert_int_equal(digest_parse_date(iso, &t), 0);
	return t;
}

static char *
xstrdup(const char *s)
{
	char *d = strdup(s);

	assert_non_null(d);
	return d;
}

static void
add_msg(struct thread *t, const char *id, const char *iso, const char *name,
	const char *addr, const char *subject)
{
	struct thread_msg *m;

	t->msgs = realloc(t->msgs, (t->n_msgs + 1) * sizeof(*t->msgs));
	assert_non_null(t->msgs);
	m = &t->msgs[t->n_msgs++];
	memset(m, 0, sizeof(*m));
	m->id = xstrdup(id);
	m->date = date_of(iso);
	m->from_name = xstrdup(name);
	m->from_addr = xstrdup(addr);
	m->subject = xstrdup(subject);
	m->parent = xstrdup("");
	m->tags.version = 1;
	m->tags.index = -1;
	m->tags.total = -1;
}

static void
add_tag(struct thread_status *st, const char *kind, const char *who,
	const char *id)
{
	struct status_tag *t;

	st->tags = realloc(st->tags, (st->n_tags + 1) * sizeof(*st->tags));
	assert_non_null(st->tags);
	t = &st->tags[st->n_tags++];
	t->kind = xstrdup(kind);
	t->who = xstrdup(who);
	t->message_id = xstrdup(id);
	t->date = date_of("2025-09-09T10:00:00Z");
}

static struct status_note *
one_note(const char *text, const char *name, const char *addr,
	 const char *id, const char *iso)
{
	struct status_note *n = calloc(1, sizeof(*n));

	assert_non_null(n);
	n->text = xstrdup(text);
	n->from_name = xstrdup(name);
	n->from_addr = xstrdup(addr);
	n->message_id = xstrdup(id);
	n->date = date_of(iso);
	return n;
}

static const char long_url[] =
    "https://syzkaller.appspot.com/bug?extid="
    "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

/*
 * Three threads in digest order: a PATCH series with every kind of
 * status, a syzbot report with an "AI" summary, and an Other thread
 * with a long CJK subject and a message-id that needs escaping.
 */
static void
model(struct digest *d, const char *lang, const char *zone)
{
	struct digest_thread *a, *b, *c;
	struct thread *t;

	memset(d, 0, sizeof(*d));
	d->since = date_of("2025-09-08");
	d->until = date_of("2025-09-15");
	d->generated = date_of("2025-09-15T01:30:00Z");
	d->lang = xstrdup(lang);
	d->list_name = xstrdup("kvmarm");
	d->timezone = xstrdup(zone);
	d->threads = calloc(3, sizeof(*d->threads));
	assert_non_null(d->threads);
	d->n_threads = 3;
	a = &d->threads[0];
	b = &d->threads[1];
	c = &d->threads[2];

	t = &a->thread;
	t->root_id = xstrdup("20250905100000.1234-1-fuad@example.org");
	add_msg(t, "20250905100000.1234-1-fuad@example.org",
		"2025-09-05T10:00:00Z", "Fuad Example", "fuad@example.org",
		"[PATCH v4 0/3] KVM: arm64: Reserve pKVM VM handle during "
		"initial VM setup");
	add_msg(t, "reply-1@example.org", "2025-09-08T13:11:15Z",
		"Marc Example", "maz@example.org",
		"Re: [PATCH v4 1/3] KVM: arm64: Move *vgic_put_irq* out of "
		"the #lock");
	add_msg(t, "reply-2@example.org", "2025-09-09T01:02:03Z",
		"张伟", "zhang.wei@example.cn",
		"Re: [PATCH v4 2/3] KVM: arm64: A deliberately long subject "
		"line that goes on well beyond the eighty columns of a "
		"kernel mailing list");
	add_msg(t, "reply-3@example.org", "2025-09-10T23:59:00Z",
		"Oliver Example", "oliver@example.org",
		"Re: [PATCH v4 0/3] KVM: arm64: Reserve pKVM VM handle during "
		"initial VM setup");
	t->msgs[1].parent = (free(t->msgs[1].parent),
			     xstrdup(t->root_id));
	t->msgs[0].tags.patch = 1;
	t->msgs[0].tags.version = 4;
	t->msgs[0].tags.index = 0;
	t->msgs[0].tags.total = 3;
	t->prev_root = xstrdup("20250827.1-1-fuad@example.org");
	t->prev_version = 3;
	t->prev_date = date_of("2025-08-27T09:00:00Z");
	a->category = CATEGORY_PATCH;
	a->window = calloc(3, sizeof(size_t));
	assert_non_null(a->window);
	a->window[0] = 1;
	a->window[1] = 2;
	a->window[2] = 3;
	a->n_window = 3;
	a->n_participants = 4;
	a->title = 0;
	a->started = t->msgs[0].date;
	add_tag(&a->status, "Reviewed-by", "Marc Example <maz@example.org>",
		"reply-1@example.org");
	add_tag(&a->status, "Reviewed-by", "Marc Example <maz@example.org>",
		"reply-1@example.org");
	add_tag(&a->status, "Acked-by", "Will Example <will@example.org>",
		"reply-1@example.org");
	add_tag(&a->status, "Tested-by", "张伟 <zhang.wei@example.cn>",
		"reply-2@example.org");
	a->status.applied = one_note("Applied to fixes, thanks!",
				     "Oliver Example", "oliver@example.org",
				     "reply-3@example.org",
				     "2025-09-10T23:59:00Z");
	a->status.n_applied = 1;
	a->status.changes = one_note(
	    "Please split this into two patches: the *lock* move and the "
	    "handle reservation are separate changes, and the second one "
	    "needs a Fixes: tag pointing at the commit that introduced the "
	    "race in the first place.",
	    "Marc Example", "maz@example.org", "reply-1@example.org",
	    "2025-09-08T13:11:15Z");
	a->status.n_changes = 1;
	a->summary = xstrdup(
	    "The series reserves the pKVM VM handle early, in "
	    "__pkvm_init_vm(), so that a failing vgic_put_irq cannot leave a "
	    "half-built VM behind. *Three* patches, 40 lines.\n"
	    "# not a heading\n"
	    "1. not a list item\n"
	    "\n"
	    "该系列在虚拟机初始化阶段提前预留 pKVM 虚拟机句柄，避免初始化失败时留下"
	    "未完成的虚拟机，并由三位评审者给出了审阅标签，其中一位要求拆分补丁。"
	    "\n\n"
	    "Oliver Example applied it: "
	    "https://lore.kernel.org/kvmarm/reply-3@example.org/ "
	    "v3: https://lore.kernel.org/kvmarm/20250908064806.4093081-1-"
	    "r09922117@csie.ntu.edu.tw/. <script>x</script> & more.");
	a->summary_offline = 1;

	t = &b->thread;
	t->root_id = xstrdup("000000000000abcdef@google.com");
	add_msg(t, "000000000000abcdef@google.com", "2025-09-09T21:11:30Z",
		"syzbot",
		"syzbot+cef594105ac7e60c6d93@syzkaller.appspotmail.com",
		"[syzbot] [kvmarm?] [kvm?] WARNING: locking bug in "
		"vgic_put_irq");
	t->next_root = xstrdup("next-version@example.org");
	t->next_version = 5;
	t->next_date = date_of("2025-09-20T08:00:00Z");
	b->status.superseded = 1;
	b->category = CATEGORY_BUG;
	b->window = calloc(1, sizeof(size_t));
	assert_non_null(b->window);
	b->n_window = 1;
	b->n_participants = 1;
	b->started = t->msgs[0].date;
	{
		struct buf s;

		buf_init(&s, 0);
		buf_addf(&s, "syzbot reported a WARNING in vgic_put_irq. "
			     "Dashboard: %s", long_url);
		b->summary = buf_detach(&s, NULL);
	}
	b->summary_offline = 0;

	t = &c->thread;
	t->root_id = xstrdup("weird/id%with#chars?@example.org");
	add_msg(t, "weird/id%with#chars?@example.org", "2025-09-14T23:30:00Z",
		"", "nobody@example.org",
		"关于在主机内核升级之间保持客户机视图稳定的问题以及迁移过程中 PSCI "
		"版本兼容性的讨论和后续计划安排");
	c->category = CATEGORY_OTHER;
	c->window = calloc(1, sizeof(size_t));
	assert_non_null(c->window);
	c->n_window = 1;
	c->n_participants = 1;
	c->started = t->msgs[0].date;
	c->summary = xstrdup("一个问题，没有回复。较早的版本见 (https://lore.kernel.org/"
			     "kvmarm/20250820-arm64-gcs-v15-0-d2247cec9b1a@"
			     "kernel.org/). Short: (https://lore.kernel.org/"
			     "kvmarm/a@b/).");
	c->summary_offline = 1;

	d->mails = 5;
	d->large_threads = 0;
	d->cat_threads[CATEGORY_PATCH] = 1;
	d->cat_mails[CATEGORY_PATCH] = 3;
	d->cat_threads[CATEGORY_BUG] = 1;
	d->cat_mails[CATEGORY_BUG] = 1;
	d->cat_threads[CATEGORY_OTHER] = 1;
	d->cat_mails[CATEGORY_OTHER] = 1;
}

static char *
render(const struct digest *d, enum digest_format fmt)
{
	struct buf b;

	buf_init(&b, 0);
	assert_int_equal(digest_render(d, fmt, &b), 0);
	return buf_detach(&b, NULL);
}

/*
 * Check plain text the way a kernel list would see it: display columns
 * counted with the C library's wcwidth() (independent of the renderer's
 * own table), no tabs, no trailing blanks, no control characters.  A
 * line over 80 columns must be one URL alone.  Returns the line count.
 */
static size_t
check_text(const char *text)
{
	locale_t loc = newlocale(LC_CTYPE_MASK, "C.UTF-8", (locale_t)0);
	locale_t old;
	size_t lines = 0;

	assert_true(loc != (locale_t)0);
	old = uselocale(loc);
	for (const char *line = text; *line;) {
		const char *end = strchr(line, '\n');
		size_t len, cols = 0;
		mbstate_t st;

		assert_non_null(end);	/* every line ends with a newline */
		len = (size_t)(end - line);
		memset(&st, 0, sizeof(st));
		for (size_t i = 0; i < len;) {
			wchar_t wc;
			size_t n = mbrtowc(&wc, line + i, len - i, &st);
			int w;

			assert_true(n != (size_t)-1 && n != (size_t)-2 &&
				    n != 0);
			w = wcwidth(wc);
			if (w < 0)
				fail_msg("control character in '%.*s'",
					 (int)len, line);
			cols += (size_t)w;
			i += n;
		}
		if (len && line[len - 1] == ' ')
			fail_msg("trailing blank: '%.*s'", (int)len, line);
		if (memchr(line, '\t', len))
			fail_msg("tab: '%.*s'", (int)len, line);
		if (cols > 80) {
			const char *u = line;

			while (*u == ' ')
				u++;
			if (strncmp(u, "https://", 8) ||
			    memchr(u, ' ', (size_t)(end - u)))
				fail_msg("%zu columns: '%.*s'", cols,
					 (int)len, line);
		}
		lines++;
		line = end + 1;
	}
	uselocale(old);
	freelocale(loc);
	return lines;
}

/*
 * Markdown mail lists: each sender line is a sub-item indented to the
 * text of its numbered item ("10. " takes four columns), or CommonMark
 * would end the list there.  Returns the number of items seen.
 */
static size_t
check_md_items(const char *md)
{
	size_t marker = 0, items = 0;

	for (const char *line = md; *line;) {
		const char *end = strchr(line, '\n');
		size_t d = strspn(line, "0123456789");

		if (!end)
			end = line + strlen(line);
		if (d && line[d] == '.' && line[d + 1] == ' ') {
			marker = d + 2;
			items++;
		} else if (*line == ' ') {
			size_t sp = strspn(line, " ");

			if ((!strncmp(line + sp, "- From: ", 8) ||
			     !strncmp(line + sp, "- 发件人: ", 12)) &&
			    sp != marker)
				fail_msg("sender indented %zu, item marker %zu: "
					 "'%.*s'",
					 sp, marker, (int)(end - line), line);
		}
		line = *end ? end + 1 : end;
	}
	return items;
}

/* Positions of needles in hay must increase (all present). */
static void
assert_in_order(const char *hay, const char *const *needles, size_t n)
{
	const char *prev = hay;

	for (size_t i = 0; i < n; i++) {
		const char *p = strstr(prev, needles[i]);

		if (!p) {
			fprintf(stderr, "--- output ---\n%s--- end ---\n", hay);
			fail_msg("'%s' missing or out of order", needles[i]);
		}
		prev = p + strlen(needles[i]);
	}
}

static void
assert_has(const char *hay, const char *needle)
{
	if (!strstr(hay, needle)) {
		fprintf(stderr, "--- output ---\n%s--- end ---\n", hay);
		fail_msg("'%s' not found in the output above", needle);
	}
}

static void
assert_lacks(const char *hay, const char *needle)
{
	if (strstr(hay, needle))
		fail_msg("'%s' found but should not be", needle);
}

/* --- digest_parse_date, lore links ---------------------------------------- */

static void
test_digest_parse_date(void **state)
{
	static const struct {
		const char *text;
		int ok;
		int64_t want;
	} cases[] = {
	    {"2025-09-08", 1, 1757289600},
	    {"1970-01-01", 1, 0},
	    {"2024-02-29", 1, 1709164800},
	    {"2025-09-08T13:11:15Z", 1, 1757337075},
	    {"2025-09-08T13:11:15z", 1, 1757337075},
	    {"2025-09-08T13:11:15", 1, 1757337075},
	    {"2025-09-08 13:11:15Z", 1, 1757337075},
	    {"2025-09-08T13:11Z", 1, 1757337060},
	    {"2025-09-08T13:11:15.250Z", 1, 1757337075},
	    {"2025-09-08T14:11:15+01:00", 1, 1757337075},
	    {"2025-09-08T09:11:15-0400", 1, 1757337075},
	    {"2025-09-08T21:11:15+08", 1, 1757337075},
	    {"2025-09-08T00:00:00+14:00", 1, 1757289600 - 14 * 3600},
	    {"1900-01-01", 1, -2208988800},
	    {"9999-12-31T23:59:59Z", 1, 253402300799},
	    {"", 0, 0},
	    {"garbage", 0, 0},
	    {"2025-9-8", 0, 0},
	    {"2025/09/08", 0, 0},
	    {"2025-13-01", 0, 0},
	    {"2025-00-10", 0, 0},
	    {"2025-02-29", 0, 0},
	    {"2100-02-29", 0, 0},
	    {"2025-04-31", 0, 0},
	    {"2025-09-00", 0, 0},
	    {"1899-12-31", 0, 0},
	    {"2025-09-08T24:00", 0, 0},
	    {"2025-09-08T12:60", 0, 0},
	    {"2025-09-08T12:00:60", 0, 0},
	    {"2025-09-08T12", 0, 0},
	    {"2025-09-08T", 0, 0},
	    {"2025-09-08T12:00:00+24:00", 0, 0},
	    {"2025-09-08T12:00:00+01:60", 0, 0},
	    {"2025-09-08T12:00:00+1", 0, 0},
	    {"2025-09-08T12:00:00.", 0, 0},
	    {"2025-09-08T12:00:00Zjunk", 0, 0},
	    {"2025-09-08 ", 0, 0},
	    {" 2025-09-08", 0, 0},
	    {"2025-09-08x", 0, 0},
	    {"+2025-09-08", 0, 0},
	    {"20250908", 0, 0},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int64_t got = -42;
		int r = digest_parse_date(cases[i].text, &got);

		if (cases[i].ok && (r != 0 || got != cases[i].want))
			fail_msg("'%s': r=%d got %lld want %lld",
				 cases[i].text, r, (long long)got,
				 (long long)cases[i].want);
		if (!cases[i].ok && r != -1)
			fail_msg("'%s' accepted as %lld", cases[i].text,
				 (long long)got);
		if (!cases[i].ok)
			assert_int_equal(got, -42); /* *out untouched */
	}
	assert_int_equal(digest_parse_date(NULL, &(int64_t){0}), -1);
}

static void
test_digest_lore_url(void **state)
{
	static const struct {
		const char *id, *url;
	} cases[] = {
	    {"20250908121115.1-1-a@kernel.org",
	     "https://lore.kernel.org/kvmarm/20250908121115.1-1-a@kernel.org/"},
	    {"a/b@x", "https://lore.kernel.org/kvmarm/a%2Fb@x/"},
	    {"100%@x", "https://lore.kernel.org/kvmarm/100%25@x/"},
	    {"q?#x@y", "https://lore.kernel.org/kvmarm/q%3F%23x@y/"},
	    {"a b\"<>@x", "https://lore.kernel.org/kvmarm/a%20b%22%3C%3E@x/"},
	    {"keep-._~!$&'()*+,;=:@x",
	     "https://lore.kernel.org/kvmarm/keep-._~!$&'()*+,;=:@x/"},
	    {"\xc3\xa9@x", "https://lore.kernel.org/kvmarm/%C3%A9@x/"},
	};
	struct buf b;

	buf_init(&b, 0);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		buf_truncate(&b, 0);
		assert_int_equal(digest_lore_url(&b, "kvmarm", cases[i].id), 0);
		assert_string_equal(b.data, cases[i].url);
	}
	buf_release(&b);
	assert_true(digest_on_lore("a@b"));
	assert_true(digest_on_lore("x@kvmarm-bot.invalid.example.org"));
	assert_false(digest_on_lore("sha256-0123456789abcdef0123456789abcdef"
				    "@kvmarm-bot.invalid"));
	assert_false(digest_on_lore("@kvmarm-bot.invalid"));
	assert_false(digest_on_lore(""));
	assert_false(digest_on_lore(NULL));
}

static void
test_digest_timezone_valid(void **state)
{
	assert_true(digest_timezone_valid("UTC"));
	assert_true(digest_timezone_valid("Asia/Shanghai"));
	assert_true(digest_timezone_valid("America/Los_Angeles"));
	assert_false(digest_timezone_valid(""));
	assert_false(digest_timezone_valid(NULL));
	assert_false(digest_timezone_valid("Mars/Olympus_Mons"));
	assert_false(digest_timezone_valid("../../etc/passwd"));
	assert_false(digest_timezone_valid("/etc/localtime"));
	assert_false(digest_timezone_valid("Asia/"));
	assert_false(digest_timezone_valid("zone.tab"));
	assert_false(digest_timezone_valid("CST6CDT,M3.2.0"));
}

/* --- renderers on the hand-built model ------------------------------------ */

static void
test_digest_text_en(void **state)
{
	struct digest d;
	char *out;

	model(&d, "en", "Asia/Shanghai");
	out = render(&d, DIGEST_TEXT);
	check_text(out);
	/* Header: zone named once, window and generation time in it. */
	assert_has(out, "KVMARM mailing list digest\n"
			"==========================\n");
	assert_has(out, "Generated: 2025-09-15 09:30:00\n");
	assert_has(out, "Window:    2025-09-08 08:00 to 2025-09-15 08:00 "
			"(7 days, end exclusive)\n");
	assert_has(out, "Time zone: Asia/Shanghai (CST, UTC+08:00)\n");
	assert_has(out, "Mails:          5\n");
	assert_has(out, "Threads:        3\n");
	assert_has(out, "PATCH           1 thread      3 mails\n");
	assert_has(out, "Bug Report      1 thread      1 mail\n");
	assert_has(out, "RFC             0 threads     0 mails\n");
	/* Sections in category order, each thread with its parts. */
	{
		const char *const order[] = {
		    "PATCH (1 thread)\n================\n",
		    "Thread 1: [PATCH v4 0/3] KVM: arm64: Reserve pKVM VM "
		    "handle during initial VM\n          setup\n",
		    "  Mails: 3 in the window / 4 in the thread; "
		    "participants: 4\n  Started: 2025-09-05 18:00\n",
		    "  Status:\n",
		    "  - Reviewed-by: Marc Example\n",
		    "  - Acked-by: Will Example\n",
		    "  - Tested-by: 张伟\n",
		    "  - Applied: Oliver Example (09-11 07:59): \"Applied to "
		    "fixes, thanks!\"\n",
		    "  - Changes requested by: Marc Example\n",
		    "  - v4 of a series whose v3 was discussed on 2025-08-27\n",
		    "  Summary (offline, generated from the mails):\n",
		    "    The series reserves",
		    "  https://lore.kernel.org/kvmarm/"
		    "20250905100000.1234-1-fuad@example.org/\n",
		    "  Mails in the window:\n",
		    "  1. [09-08 21:11] Re: [PATCH v4 1/3] KVM: arm64: Move "
		    "*vgic_put_irq* out of the\n     #lock — Marc Example "
		    "<maz@example.org>\n",
		    "  2. [09-09 09:02] Re: [PATCH v4 2/3]",
		    "  3. [09-11 07:59] Re: [PATCH v4 0/3]",
		    "Bug Report (1 thread)\n",
		    "Thread 1: [syzbot] [kvmarm?] [kvm?] WARNING: locking bug",
		    "  - Superseded by v5, posted on 2025-09-20\n",
		    "  AI summary:\n",
		    "Dashboard:\n" "https://syzkaller.appspot.com/bug?extid=",
		    "Other (1 thread)\n",
		    "https://lore.kernel.org/kvmarm/"
		    "weird%2Fid%25with%23chars%3F@example.org/\n",
		    "  1. [09-15 07:30] 关于在主机内核升级之间",
		    "— <nobody@example.org>\n",
		};
		assert_in_order(out, order, sizeof(order) / sizeof(order[0]));
	}
	assert_has(out, "0123456789abcdef\n\n  https://lore.kernel.org/kvmarm/"
			"000000000000abcdef@google.com/\n");
	/* A lore link too long for a line takes lore's /r/ form. */
	assert_has(out, "\nhttps://lore.kernel.org/r/20250908064806.4093081-1-"
			"r09922117@csie.ntu.edu.tw/.\n");
	assert_lacks(out, "kvmarm/20250908064806.4093081");
	/* A URL is never cut; the punctuation around it moves instead. */
	assert_has(out, "    一个问题，没有回复。较早的版本见 (\n"
			"https://lore.kernel.org/kvmarm/20250820-arm64-gcs-v15-0-"
			"d2247cec9b1a@kernel.org/\n"
			"    ). Short: (https://lore.kernel.org/kvmarm/a@b/).\n");
	/* A question has no patch status to report. */
	assert_has(out, "  Started: 2025-09-15 07:30\n\n  Summary");
	/* Marc's two Reviewed-by tags are one entry. */
	assert_lacks(out, "Marc Example, Marc Example");
	/* No Markdown in plain text. */
	assert_lacks(out, "**");
	assert_lacks(out, "##");
	/* The overlong URL is alone on its line, unbroken. */
	{
		struct buf want;

		buf_init(&want, 0);
		buf_addf(&want, "\n%s\n", long_url);
		assert_has(out, want.data);
		buf_release(&want);
	}
	free(out);
	digest_release(&d);
}

static void
test_digest_text_zh(void **state)
{
	struct digest d;
	char *out;
	size_t lines;

	model(&d, "zh", "UTC");
	out = render(&d, DIGEST_TEXT);
	lines = check_text(out);
	assert_true(lines > 40);
	assert_has(out, "KVMARM 邮件列表总结报告\n=======================\n");
	assert_has(out, "生成时间：2025-09-15 01:30:00\n");
	assert_has(out, "分析周期：2025-09-08 00:00 至 2025-09-15 00:00（7 天，"
			"不含结束时刻）\n");
	assert_has(out, "时区：    UTC（UTC+00:00）\n");
	assert_has(out, "总邮件数：      5\n");
	assert_has(out, "PATCH（共 1 个 thread）\n");
	assert_has(out, "  邮件数：3（本周期）/ 4（整个 thread）；参与者：4\n"
			"  开始时间：2025-09-05 10:00\n");
	assert_has(out, "  - 已合入：Oliver Example (09-10 23:59)");
	assert_has(out, "  - 本系列为 v4，其 v3 于 2025-08-27 讨论过\n");
	assert_has(out, "  摘要（离线生成，依据邮件原文）：\n");
	assert_has(out, "  - 已被新版本 v5 取代（2025-09-20 发布）\n");
	/* The long CJK paragraph is wrapped, not cut: every character is
	 * still there in order once the line breaks and indent go. */
	{
		const char *p = strstr(out, "    该系列");
		struct buf joined;

		assert_non_null(p);
		buf_init(&joined, 0);
		while (!strncmp(p, "    ", 4)) {
			const char *e = strchr(p, '\n');

			assert_non_null(e);
			buf_add(&joined, p + 4, (size_t)(e - p - 4));
			p = e + 1;
		}
		assert_has(joined.data, "该系列在虚拟机初始化阶段提前预留 pKVM 虚拟机"
					"句柄，避免初始化失败时留下未完成的虚拟机，"
					"并由三位评审者给出了审阅标签，其中一位要求"
					"拆分补丁。");
		buf_release(&joined);
	}
	/* The long CJK subject wraps at 80 columns (2 per character). */
	assert_has(out, "  1. [09-14 23:30] 关于在主机内核升级之间保持客户机视图"
			"稳定的问题以及迁移过程中\n");
	free(out);
	digest_release(&d);
}

static void
test_digest_markdown(void **state)
{
	static const char *const en[] = {
	    "# KVMARM mailing list digest\n",
	    "**Generated**: 2025-09-15 01:30:00\n",
	    "**Window**: 2025-09-08 00:00 to 2025-09-15 00:00 (7 days, "
	    "end exclusive)\n",
	    "**Time zone**: UTC (UTC+00:00)\n",
	    "## 📊 Overview\n",
	    "- **Mails**: 5\n",
	    "- **Threads**: 3\n",
	    "- **Large threads** (more than 20 mails): 0\n",
	    "### Categories\n",
	    "- **PATCH**: 1 thread (3 mails)\n",
	    "- **RFC**: 0 threads (0 mails)\n",
	    "- **Bug Report**: 1 thread (1 mail)\n",
	    "- **GIT PULL**: 0 threads (0 mails)\n",
	    "- **Other**: 1 thread (1 mail)\n",
	    "## 📌 PATCH\n",
	    "### Thread 1: [PATCH v4 0/3] KVM: arm64: Reserve pKVM VM handle "
	    "during initial VM setup\n",
	    "**📧 Mails**: 3 in the window / 4 in the thread | "
	    "**👥 Participants**: 4 | **📅 Started**: 2025-09-05 10:00\n",
	    "**📋 Status**:\n",
	    "- Reviewed-by: Marc Example\n",
	    "- Applied: Oliver Example (09-10 23:59): \"Applied to fixes, "
	    "thanks!\"\n",
	    "- Changes requested by: Marc Example\n",
	    "#### 🧾 Summary (offline, generated from the mails)\n",
	    /* escaped emphasis, intraword '_' kept, hard line breaks */
	    "\\*Three\\* patches, 40 lines.\\\n\\# not a heading\\\n"
	    "1\\. not a list item\n\n该系列",
	    "\\<script>x\\</script> & more.\n",
	    "**🔗 lore**: <https://lore.kernel.org/kvmarm/"
	    "20250905100000.1234-1-fuad@example.org/>\n",
	    "#### 📝 Mails in the window\n",
	    "1. **[09-08 13:11]** Re: [PATCH v4 1/3] KVM: arm64: Move "
	    "\\*vgic_put_irq\\* out of the #lock\n"
	    "   - From: Marc Example <maz@example.org>\n",
	    "2. **[09-09 01:02]** ",
	    "   - From: 张伟 <zhang.wei@example.cn>\n",
	    "3. **[09-10 23:59]** ",
	    "## 📌 Bug Report\n",
	    "- Superseded by v5, posted on 2025-09-20\n",
	    "#### 🤖 AI summary\n",
	    "## 📌 Other\n",
	    "weird%2Fid%25with%23chars%3F@example.org/>",
	    "   - From: <nobody@example.org>\n",
	};
	static const char *const zh[] = {
	    "# KVMARM 邮件列表总结报告\n",
	    "**生成时间**: 2025-09-15 01:30:00\n",
	    "**分析周期**: 2025-09-08 00:00 至 2025-09-15 00:00（7 天，"
	    "不含结束时刻）\n",
	    "**时区**: UTC",
	    "## 📊 总体统计\n",
	    "- **总邮件数**: 5\n",
	    "- **总 Thread 数**: 3\n",
	    "- **大型 Thread** (>20封): 0 个\n",
	    "### 分类分布\n",
	    "- **PATCH**: 1 个 thread（3 封邮件）\n",
	    "## 📌 PATCH\n",
	    "共 1 个 thread\n",
	    "### Thread 1: [PATCH v4 0/3]",
	    "**📧 邮件数**: 3（本周期）/ 4（整个 thread） | **👥 参与者**: 4 | "
	    "**📅 开始时间**: 2025-09-05 10:00\n",
	    "**📋 状态**:\n",
	    "- 已合入：Oliver Example",
	    "#### 🧾 摘要（离线生成，依据邮件原文）\n",
	    "#### 📝 邮件列表\n",
	    "1. **[09-08 13:11]** Re: [PATCH v4 1/3]",
	    "   - 发件人: Marc Example <maz@example.org>\n",
	    "## 📌 Bug Report\n",
	    "#### 🤖 AI 总结\n",
	    "## 📌 Other\n",
	};
	struct digest d;
	char *out;

	model(&d, "en", "UTC");
	out = render(&d, DIGEST_MARKDOWN);
	assert_in_order(out, en, sizeof(en) / sizeof(en[0]));
	assert_int_equal(check_md_items(out), 5);
	assert_lacks(out, "vgic\\_put\\_irq");
	assert_lacks(out, "## 📌 RFC");	/* empty categories: no section */
	free(out);
	digest_release(&d);

	model(&d, "zh", "UTC");
	out = render(&d, DIGEST_MARKDOWN);
	assert_in_order(out, zh, sizeof(zh) / sizeof(zh[0]));
	free(out);
	digest_release(&d);
}

static json_object *
key(json_object *o, const char *k)
{
	json_object *v = NULL;

	if (!json_object_object_get_ex(o, k, &v))
		fail_msg("JSON key '%s' missing", k);
	return v;
}

static void
assert_iso(json_object *v)
{
	regex_t re;

	assert_int_equal(regcomp(&re,
				 "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}"
				 ":[0-9]{2}Z$",
				 REG_EXTENDED | REG_NOSUB),
			 0);
	assert_true(json_object_is_type(v, json_type_string));
	if (regexec(&re, json_object_get_string(v), 0, NULL, 0))
		fail_msg("'%s' is not ISO 8601 UTC",
			 json_object_get_string(v));
	regfree(&re);
}

static void
test_digest_json(void **state)
{
	static const char *const thread_keys[] = {
	    "subject", "category", "mails", "mails_total", "participants",
	    "started", "root_message_id", "lore_url", "status", "summary",
	    "summary_offline", "messages",
	};
	static const char *const status_keys[] = {
	    "tags", "applied", "changes_requested", "reverted", "superseded",
	    "previous_version", "next_version",
	};
	struct digest d;
	json_object *root, *threads, *t, *st, *msgs, *cats;
	char *out;

	model(&d, "zh", "Asia/Shanghai");
	out = render(&d, DIGEST_JSON);
	root = json_tokener_parse(out);
	assert_non_null(root);
	assert_string_equal(json_object_get_string(key(root, "lang")), "zh");
	assert_string_equal(json_object_get_string(key(root, "timezone")),
			    "Asia/Shanghai");
	assert_string_equal(json_object_get_string(key(root, "generated")),
			    "2025-09-15T01:30:00Z");
	assert_string_equal(
	    json_object_get_string(key(key(root, "window"), "since")),
	    "2025-09-08T00:00:00Z");
	assert_string_equal(
	    json_object_get_string(key(key(root, "window"), "until")),
	    "2025-09-15T00:00:00Z");
	assert_int_equal(json_object_get_int64(key(key(root, "totals"),
						    "mails")), 5);
	assert_int_equal(json_object_get_int64(key(key(root, "totals"),
						    "threads")), 3);
	assert_int_equal(json_object_get_int64(key(key(root, "totals"),
						    "large_threads")), 0);
	cats = key(root, "categories");
	assert_int_equal(json_object_array_length(cats), 5);
	assert_string_equal(json_object_get_string(key(
				json_object_array_get_idx(cats, 2), "name")),
			    "Bug Report");
	assert_int_equal(json_object_get_int64(key(
			     json_object_array_get_idx(cats, 0), "mails")), 3);

	threads = key(root, "threads");
	assert_int_equal(json_object_array_length(threads), 3);
	for (size_t i = 0; i < 3; i++) {
		t = json_object_array_get_idx(threads, i);
		for (size_t k = 0; k < sizeof(thread_keys) / sizeof(*thread_keys);
		     k++)
			key(t, thread_keys[k]);
		st = key(t, "status");
		for (size_t k = 0; k < sizeof(status_keys) / sizeof(*status_keys);
		     k++)
			key(st, status_keys[k]);
		assert_iso(key(t, "started"));
		msgs = key(t, "messages");
		assert_int_equal(json_object_array_length(msgs),
				 json_object_get_int64(key(t, "mails")));
		for (size_t m = 0; m < json_object_array_length(msgs); m++) {
			json_object *mo = json_object_array_get_idx(msgs, m);

			key(mo, "message_id");
			key(mo, "from");
			key(mo, "from_name");
			key(mo, "subject");
			assert_iso(key(mo, "date"));
		}
	}
	t = json_object_array_get_idx(threads, 0);
	assert_string_equal(json_object_get_string(key(t, "category")),
			    "PATCH");
	assert_int_equal(json_object_get_int64(key(t, "mails")), 3);
	assert_int_equal(json_object_get_int64(key(t, "mails_total")), 4);
	assert_int_equal(json_object_get_int64(key(t, "participants")), 4);
	assert_true(json_object_get_boolean(key(t, "summary_offline")));
	assert_string_equal(json_object_get_string(key(t, "started")),
			    "2025-09-05T10:00:00Z");
	st = key(t, "status");
	assert_int_equal(json_object_array_length(key(st, "tags")), 4);
	assert_string_equal(json_object_get_string(key(json_object_array_get_idx(
				key(st, "tags"), 3), "who")),
			    "张伟 <zhang.wei@example.cn>");
	assert_string_equal(json_object_get_string(key(json_object_array_get_idx(
				key(st, "applied"), 0), "from")),
			    "oliver@example.org");
	assert_int_equal(json_object_get_int64(key(key(st,
				"previous_version"), "version")), 3);
	assert_true(json_object_is_type(key(st, "next_version"),
					json_type_null));
	assert_false(json_object_get_boolean(key(st, "superseded")));
	msgs = key(t, "messages");
	assert_string_equal(json_object_get_string(key(
				json_object_array_get_idx(msgs, 0), "date")),
			    "2025-09-08T13:11:15Z");
	assert_string_equal(json_object_get_string(key(
				json_object_array_get_idx(msgs, 1), "from")),
			    "zhang.wei@example.cn");

	t = json_object_array_get_idx(threads, 1);
	assert_false(json_object_get_boolean(key(t, "summary_offline")));
	assert_true(json_object_get_boolean(key(key(t, "status"),
						"superseded")));
	t = json_object_array_get_idx(threads, 2);
	assert_string_equal(json_object_get_string(key(t, "lore_url")),
			    "https://lore.kernel.org/kvmarm/"
			    "weird%2Fid%25with%23chars%3F@example.org/");
	assert_string_equal(json_object_get_string(key(t, "root_message_id")),
			    "weird/id%with#chars?@example.org");
	json_object_put(root);
	free(out);
	digest_release(&d);
}

/* Rendering borrows TZ and gives it back, set or unset. */
static void
test_digest_tz_restored(void **state)
{
	const char *old = getenv("TZ");
	char *saved = old ? xstrdup(old) : NULL;
	struct digest d;
	char *out;

	model(&d, "en", "Asia/Shanghai");
	assert_int_equal(setenv("TZ", "America/New_York", 1), 0);
	out = render(&d, DIGEST_MARKDOWN);
	assert_has(out, "(CST, UTC+08:00)");
	assert_string_equal(getenv("TZ"), "America/New_York");
	free(out);
	assert_int_equal(unsetenv("TZ"), 0);
	out = render(&d, DIGEST_TEXT);
	assert_null(getenv("TZ"));
	free(out);
	digest_release(&d);

	/* A zone with summer time names both offsets the window uses. */
	model(&d, "en", "Europe/London");
	d.since = date_of("2025-10-20");
	d.until = date_of("2025-10-27");
	out = render(&d, DIGEST_TEXT);
	assert_has(out, "Europe/London (BST, UTC+01:00; GMT, UTC+00:00)");
	free(out);
	digest_release(&d);
	if (saved)
		setenv("TZ", saved, 1);
	free(saved);
}

/* Hostile text: controls, bidi overrides, broken UTF-8 stay harmless. */
static void
test_digest_hostile_text(void **state)
{
	struct digest d;
	char *out;

	model(&d, "en", "UTC");
	free(d.threads[2].thread.msgs[0].subject);
	d.threads[2].thread.msgs[0].subject = xstrdup(
	    "tab\there\rcr\x1b[31mred\xe2\x80\xae" "evil\xff\xfe end"
	    "\nnewline");
	free(d.threads[2].thread.msgs[0].from_name);
	d.threads[2].thread.msgs[0].from_name = xstrdup("Eve *Bold* <x>");
	out = render(&d, DIGEST_TEXT);
	check_text(out);
	assert_has(out, "tab here cr [31mredevil\xef\xbf\xbd" "\xef\xbf\xbd end "
			"newline");
	assert_lacks(out, "\x1b");
	free(out);
	out = render(&d, DIGEST_MARKDOWN);
	assert_lacks(out, "\x1b");
	assert_lacks(out, "\xe2\x80\xae");
	assert_has(out, "Eve \\*Bold\\* \\<x> <nobody@example.org>");
	free(out);
	digest_release(&d);

	/* A root without a Message-ID of its own has no lore link. */
	model(&d, "en", "UTC");
	free(d.threads[2].thread.root_id);
	d.threads[2].thread.root_id = xstrdup(
	    "sha256-0123456789abcdef0123456789abcdef@kvmarm-bot.invalid");
	out = render(&d, DIGEST_MARKDOWN);
	assert_lacks(out, "kvmarm/sha256-");
	assert_lacks(out, "kvmarm/weird");
	free(out);
	out = render(&d, DIGEST_TEXT);
	assert_lacks(out, "sha256-");
	free(out);
	out = render(&d, DIGEST_JSON);
	{
		json_object *root = json_tokener_parse(out), *t;

		assert_non_null(root);
		t = json_object_array_get_idx(key(root, "threads"), 2);
		assert_true(json_object_is_type(key(t, "lore_url"),
						json_type_null));
		assert_string_equal(json_object_get_string(key(t,
					"root_message_id")),
				    "sha256-0123456789abcdef0123456789abcdef"
				    "@kvmarm-bot.invalid");
		json_object_put(root);
	}
	free(out);
	digest_release(&d);
}

/* Append one code point as UTF-8. */
static void
put_cp(struct buf *b, unsigned cp)
{
	if (cp < 0x80) {
		buf_addc(b, (char)cp);
	} else if (cp < 0x800) {
		buf_addc(b, (char)(0xc0 | cp >> 6));
		buf_addc(b, (char)(0x80 | (cp & 0x3f)));
	} else if (cp < 0x10000) {
		buf_addc(b, (char)(0xe0 | cp >> 12));
		buf_addc(b, (char)(0x80 | (cp >> 6 & 0x3f)));
		buf_addc(b, (char)(0x80 | (cp & 0x3f)));
	} else {
		buf_addc(b, (char)(0xf0 | cp >> 18));
		buf_addc(b, (char)(0x80 | (cp >> 12 & 0x3f)));
		buf_addc(b, (char)(0x80 | (cp >> 6 & 0x3f)));
		buf_addc(b, (char)(0x80 | (cp & 0x3f)));
	}
}

/*
 * Random text from a fixed seed: words of ASCII, Latin-1, CJK, kana,
 * fullwidth punctuation, combining marks and emoji, runs of blanks,
 * controls and tabs, long words and URLs of every length.
 */
static char *
random_text(unsigned *seed, size_t words)
{
	static const unsigned cjk_punct[] = {0x3001, 0x3002, 0xff0c, 0xff09,
					     0xff08, 0x300c, 0x300d};
	struct buf b;

	buf_init(&b, 0);
	for (size_t i = 0; i < words; i++) {
		unsigned kind = (unsigned)rand_r(seed) % 12;
		size_t len = 1 + (size_t)rand_r(seed) % 12;

		switch (kind) {
		case 0:
			buf_adds(&b, "https://lore.kernel.org/kvmarm/");
			for (size_t k = (size_t)rand_r(seed) % 90; k; k--)
				buf_addc(&b, (char)('a' + rand_r(seed) % 26));
			buf_adds(&b, rand_r(seed) % 2 ? "/)." : "/");
			break;
		case 1:
			for (size_t k = 0; k < 95; k++)
				buf_addc(&b, 'x');
			break;
		case 2:
		case 3:
			for (size_t k = 0; k < len * 2; k++)
				put_cp(&b, 0x4e00 +
						   (unsigned)rand_r(seed) %
						       0x5000);
			put_cp(&b, cjk_punct[rand_r(seed) % 7]);
			break;
		case 4:
			for (size_t k = 0; k < len; k++)
				put_cp(&b, 0x3041 + (unsigned)rand_r(seed) % 80);
			break;
		case 5:
			buf_addc(&b, "\t\r\x01\x1b\x7f"[rand_r(seed) % 5]);
			put_cp(&b, 0x85);
			break;
		case 6:
			put_cp(&b, 0xe9);
			put_cp(&b, 'e');
			put_cp(&b, 0x301);
			put_cp(&b, 0x1f600);
			break;
		case 7:
			buf_adds(&b, "   ");
			break;
		default:
			for (size_t k = 0; k < len; k++)
				buf_addc(&b, (char)('!' + rand_r(seed) % 94));
		}
		if (rand_r(seed) % 3)
			buf_addc(&b, ' ');
	}
	return buf_detach(&b, NULL);
}

/* Whatever the text, plain text stays in 80 columns (URLs aside). */
static void
test_digest_text_random(void **state)
{
	unsigned seed = 20250908;

	for (int round = 0; round < 150; round++) {
		struct digest d;
		char *out;

		model(&d, round % 2 ? "zh" : "en", "UTC");
		for (size_t t = 0; t < d.n_threads; t++) {
			struct thread *th = &d.threads[t].thread;

			for (size_t m = 0; m < th->n_msgs; m++) {
				struct thread_msg *tm = &th->msgs[m];
				size_t n = 1 + (size_t)rand_r(&seed) % 30;

				free(tm->subject);
				tm->subject = random_text(&seed, n);
				free(tm->from_name);
				tm->from_name = random_text(&seed, 1 + n % 4);
			}
			free(d.threads[t].summary);
			d.threads[t].summary =
			    random_text(&seed, (size_t)rand_r(&seed) % 200);
		}
		out = render(&d, DIGEST_TEXT);
		check_text(out);
		free(out);
		out = render(&d, DIGEST_MARKDOWN);
		assert_int_equal(check_md_items(out), 5);
		free(out);
		digest_release(&d);
	}
}

/* An empty window renders in every format and says so. */
static void
test_digest_empty(void **state)
{
	struct digest d;
	char *out;
	json_object *root;

	memset(&d, 0, sizeof(d));
	d.since = date_of("2030-01-01");
	d.until = date_of("2030-01-08");
	d.generated = d.until;
	d.lang = xstrdup("en");
	d.list_name = xstrdup("kvmarm");
	d.timezone = xstrdup("UTC");
	out = render(&d, DIGEST_TEXT);
	check_text(out);
	assert_has(out, "No mail in this window.\n");
	free(out);
	out = render(&d, DIGEST_MARKDOWN);
	assert_has(out, "No mail in this window.\n");
	free(out);
	out = render(&d, DIGEST_JSON);
	root = json_tokener_parse(out);
	assert_non_null(root);
	assert_int_equal(json_object_array_length(key(root, "threads")), 0);
	json_object_put(root);
	free(out);
	digest_release(&d);
}

/* --- digest_build end to end ---------------------------------------------- */

static struct store *
import_into(const char *tag, const char *const *paths, size_t n)
{
	struct import_options opt = {.batch = 5000};
	struct import_stats st = {0};
	struct store *s;
	char *dir = test_tmpdir(tag);
	FILE *devnull = fopen("/dev/null", "w");

	assert_non_null(dir);
	assert_non_null(devnull);
	opt.report = devnull;
	assert_int_equal(store_open(dir, 0, &s), 0);
	for (size_t i = 0; i < n; i++)
		assert_int_equal(import_path(s, paths[i], &opt, &st), 0);
	assert_true(st.imported > 0);
	fclose(devnull);
	free(dir);
	return s;
}

struct window_ids {
	struct strset set;
	char **ids;
	size_t n;
};

static int
collect_id(const char *id, int64_t date, void *ctx)
{
	struct window_ids *w = ctx;
	char *copy = xstrdup(id);

	w->ids = realloc(w->ids, (w->n + 1) * sizeof(*w->ids));
	assert_non_null(w->ids);
	w->ids[w->n++] = copy;
	assert_int_equal(strset_add(&w->set, copy, strlen(copy)), 1);
	return 0;
}

/*
 * Build and render the JSON digest of [since, until) and check that its
 * threads partition the window's mails, that the totals add up and
 * that every thread's mails are in time order.  Returns the parsed JSON
 * (json_object_put() it).
 */
static json_object *
check_window(struct store *s, int64_t since, int64_t until, const char *lang)
{
	struct digest_options opt = {.since = since, .until = until,
				     .now = until, .lang = lang,
				     .list_name = "kvmarm",
				     .timezone = "Europe/Paris"};
	struct window_ids want = {STRSET_INIT, NULL, 0};
	struct strset seen = STRSET_INIT;
	size_t mails = 0, large = 0, cat_t[5] = {0}, cat_m[5] = {0};
	struct store_txn *txn;
	json_object *root, *threads, *cats;
	struct digest d;
	struct buf b;
	char *text;

	assert_int_equal(store_begin(s, 0, &txn), 0);
	assert_int_equal(store_foreach_by_date(txn, since, until, collect_id,
					       &want),
			 0);
	assert_int_equal(digest_build(txn, &opt, &d), 0);
	buf_init(&b, 0);
	assert_int_equal(digest_render(&d, DIGEST_JSON, &b), 0);
	/* The other formats too, and the text one stays in 80 columns. */
	text = render(&d, DIGEST_TEXT);
	check_text(text);
	free(text);
	text = render(&d, DIGEST_MARKDOWN);
	assert_has(text, lang[0] == 'z' ? "## 📊 总体统计" : "## 📊 Overview");
	assert_int_equal(check_md_items(text), d.mails);
	free(text);
	digest_release(&d);
	store_abort(txn);

	root = json_tokener_parse(b.data);
	assert_non_null(root);
	buf_release(&b);
	threads = key(root, "threads");
	for (size_t i = 0; i < json_object_array_length(threads); i++) {
		json_object *t = json_object_array_get_idx(threads, i);
		json_object *msgs = key(t, "messages");
		const char *cat = json_object_get_string(key(t, "category"));
		size_t n = json_object_array_length(msgs), k;
		static const char *const names[] = {"PATCH", "RFC",
						    "Bug Report", "GIT PULL",
						    "Other"};
		const char *prev = "";

		assert_true(n > 0);
		assert_int_equal(json_object_get_int64(key(t, "mails")), n);
		assert_true(json_object_get_int64(key(t, "mails_total")) >=
			    (int64_t)n);
		for (k = 0; k < 5; k++)
			if (!strcmp(cat, names[k]))
				break;
		assert_true(k < 5);
		cat_t[k]++;
		cat_m[k] += n;
		mails += n;
		large += n > 20;
		for (size_t m = 0; m < n; m++) {
			json_object *mo = json_object_array_get_idx(msgs, m);
			const char *id =
			    json_object_get_string(key(mo, "message_id"));
			json_object *jd = key(mo, "date");
			/* null: a mail without a date (epoch 0) */
			const char *date = jd ? json_object_get_string(jd)
					      : "";

			if (!strset_has(&want.set, id, strlen(id)))
				fail_msg("'%s' is not a mail of the window",
					 id);
			if (strset_add(&seen, id, strlen(id)) != 1)
				fail_msg("'%s' is in two threads", id);
			/* ISO 8601 UTC sorts as text. */
			if (strcmp(prev, date) > 0)
				fail_msg("mails out of order: %s after %s",
					 date, prev);
			prev = date;
		}
	}
	assert_int_equal(seen.n, want.n);
	assert_int_equal(json_object_get_int64(key(key(root, "totals"),
						    "mails")), want.n);
	assert_int_equal(mails, want.n);
	assert_int_equal(json_object_get_int64(key(key(root, "totals"),
						    "threads")),
			 json_object_array_length(threads));
	assert_int_equal(json_object_get_int64(key(key(root, "totals"),
						    "large_threads")), large);
	cats = key(root, "categories");
	for (size_t k = 0; k < 5; k++) {
		json_object *c = json_object_array_get_idx(cats, k);

		assert_int_equal(json_object_get_int64(key(c, "threads")),
				 cat_t[k]);
		assert_int_equal(json_object_get_int64(key(c, "mails")),
				 cat_m[k]);
	}
	strset_release(&seen);
	strset_release(&want.set);
	for (size_t i = 0; i < want.n; i++)
		free(want.ids[i]);
	free(want.ids);
	return root;
}

static void
test_digest_demo_week(void **state)
{
	static const char *const paths[] = {"tests/data/demo-week.mbox"};
	static const struct {
		const char *name;
		int threads, mails;
	} table[] = {
	    /* tests/data/README.md */
	    {"PATCH", 28, 174}, {"RFC", 1, 6}, {"Bug Report", 4, 9},
	    {"GIT PULL", 1, 2}, {"Other", 1, 3},
	};
	struct store *s = import_into("digest-demo", paths, 1);
	json_object *root, *threads, *cats;
	size_t syzbot = 0;

	root = check_window(s, date_of("2025-09-08"), date_of("2025-09-15"),
			    "en");
	assert_int_equal(json_object_get_int64(key(key(root, "totals"),
						    "mails")), 194);
	assert_int_equal(json_object_get_int64(key(key(root, "totals"),
						    "threads")), 35);
	assert_int_equal(json_object_get_int64(key(key(root, "totals"),
						    "large_threads")), 1);
	cats = key(root, "categories");
	for (size_t k = 0; k < 5; k++) {
		json_object *c = json_object_array_get_idx(cats, k);

		assert_string_equal(json_object_get_string(key(c, "name")),
				    table[k].name);
		assert_int_equal(json_object_get_int64(key(c, "threads")),
				 table[k].threads);
		assert_int_equal(json_object_get_int64(key(c, "mails")),
				 table[k].mails);
	}
	/* Every thread with a syzbot mail is a Bug Report; sorted order. */
	threads = key(root, "threads");
	for (size_t i = 0; i < json_object_array_length(threads); i++) {
		json_object *t = json_object_array_get_idx(threads, i);
		json_object *msgs = key(t, "messages");
		int from_syzbot = 0;

		for (size_t m = 0; m < json_object_array_length(msgs); m++) {
			const char *from = json_object_get_string(
			    key(json_object_array_get_idx(msgs, m), "from"));

			from_syzbot |= !strncmp(from, "syzbot", 6) &&
				       strstr(from, "@syzkaller.appspotmail.com");
		}
		if (from_syzbot) {
			syzbot++;
			assert_string_equal(
			    json_object_get_string(key(t, "category")),
			    "Bug Report");
		}
		if (i > 0) {
			json_object *p = json_object_array_get_idx(threads,
								    i - 1);

			if (!strcmp(json_object_get_string(key(p, "category")),
				    json_object_get_string(key(t, "category"))))
				assert_true(json_object_get_int64(key(p, "mails")) >=
					    json_object_get_int64(key(t, "mails")));
		}
	}
	assert_int_equal(syzbot, 3);
	/* The large thread leads the PATCH section. */
	assert_int_equal(json_object_get_int64(key(json_object_array_get_idx(
			     threads, 0), "mails")), 22);
	json_object_put(root);

	/* Same window in Chinese; and a window before any mail. */
	json_object_put(check_window(s, date_of("2025-09-08"),
				     date_of("2025-09-15"), "zh"));
	root = check_window(s, date_of("2020-01-01"), date_of("2020-01-08"),
			    "en");
	assert_int_equal(json_object_get_int64(key(key(root, "totals"),
						    "mails")), 0);
	json_object_put(root);
	store_close(s);
}

static void
test_digest_corpora_partition(void **state)
{
	const char *corpora = test_corpora(__func__);
	const char *paths[1];
	struct store *s;
	static const char *const windows[][2] = {
	    {"2022-09-01", "2022-09-08"}, {"2022-10-10", "2022-10-17"},
	    {"2022-12-01", "2022-12-08"}, {"2025-09-08", "2025-09-15"},
	    {"2009-11-17", "2009-11-24"}, {"2010-01-01", "2011-01-01"},
	    {"1970-01-01", "2100-01-01"},
	};

	if (!corpora)
		skip();
	paths[0] = corpora;
	s = import_into("digest-corpora", paths, 1);
	for (size_t i = 0; i < sizeof(windows) / sizeof(windows[0]); i++)
		json_object_put(check_window(s, date_of(windows[i][0]),
					     date_of(windows[i][1]),
					     i % 2 ? "zh" : "en"));
	store_close(s);
}

/* --- the command ---------------------------------------------------------- */

static void
test_digest_cli(void **state)
{
	char *dir = test_tmpdir("digest-cli"), *out = NULL, *err = NULL;
	char *out2 = NULL, path[4096], *file;
	json_object *root;
	struct stat st;

	assert_non_null(dir);
	{
		char *argv[] = {"--state", dir, "import",
				"tests/data/demo-week.mbox", NULL};

		assert_int_equal(test_run_bot(argv, &out, &err), 0);
		free(out);
		free(err);
	}
	{
		char *argv[] = {"--state", dir, "digest", "--since",
				"2025-09-08", "--until", "2025-09-15",
				"--format", "json", "--now",
				"2025-09-15T09:00:00+08:00", NULL};

		assert_int_equal(test_run_bot(argv, &out, &err), 0);
		root = json_tokener_parse(out);
		assert_non_null(root);
		assert_int_equal(json_object_get_int64(key(key(root, "totals"),
							    "mails")), 194);
		assert_string_equal(json_object_get_string(key(root,
								"generated")),
				    "2025-09-15T01:00:00Z");
		json_object_put(root);
		free(out);
		free(err);
	}
	{
		char *argv[] = {"--state", dir, "digest", "--since",
				"2025-09-08", "--until", "2025-09-15",
				"--format", "text", "--lang", "zh",
				"--timezone", "Asia/Shanghai", "--now",
				"2025-09-15", NULL};

		assert_int_equal(test_run_bot(argv, &out, &err), 0);
		check_text(out);
		assert_has(out, "时区：    Asia/Shanghai（CST, UTC+08:00）\n");
		assert_has(out, "总邮件数：      194\n");
		/* --out gives the same bytes, atomically, nothing printed. */
		snprintf(path, sizeof(path), "%s/digest.txt", dir);
		char *argv2[] = {"--state", dir, "digest", "--since",
				 "2025-09-08", "--until", "2025-09-15",
				 "--format", "text", "--lang", "zh",
				 "--timezone", "Asia/Shanghai", "--now",
				 "2025-09-15", "--out", path, NULL};
		assert_int_equal(test_run_bot(argv2, &out2, NULL), 0);
		assert_string_equal(out2, "");
		file = test_read_file(path, NULL);
		assert_non_null(file);
		assert_string_equal(file, out);
		assert_int_equal(stat(path, &st), 0);
		assert_true(st.st_mode & S_IRUSR);
		free(file);
		free(out2);
		free(out);
		free(err);
	}
	{
		/* Language, zone and list name come from the configuration. */
		char cfg[4200];
		static const char conf[] = "digest_lang = zh\n"
					   "digest_timezone = Asia/Shanghai\n"
					   "list_name = kvm\n";

		snprintf(cfg, sizeof(cfg), "%s/bot.conf", dir);
		assert_int_equal(test_write_file(cfg, conf, strlen(conf)), 0);
		char *argv[] = {"-c", cfg, "--state", dir, "digest", "--since",
				"2025-09-08", "--until", "2025-09-15",
				"--format", "text", "--now", "2025-09-15",
				NULL};

		assert_int_equal(test_run_bot(argv, &out, &err), 0);
		check_text(out);
		assert_has(out, "时区：    Asia/Shanghai（CST, UTC+08:00）\n");
		assert_has(out, "https://lore.kernel.org/kvm/");
		assert_lacks(out, "https://lore.kernel.org/kvmarm/");
		free(out);
		free(err);
	}
	{
		/* Markdown by default; --since alone runs until --now. */
		char *argv[] = {"--state", dir, "digest", "--since",
				"2025-09-12", "--now", "2025-09-13", NULL};

		assert_int_equal(test_run_bot(argv, &out, &err), 0);
		assert_has(out, "# KVMARM mailing list digest\n");
		assert_has(out, "**Window**: 2025-09-12 00:00 to 2025-09-13 "
				"00:00 (1 day, end exclusive)");
		free(out);
		free(err);
	}
	{
		/* No options: the 7 days before --now. */
		char *argv[] = {"--state", dir, "digest", "--format", "json",
				"--now", "2025-09-15T00:00:00Z", NULL};

		assert_int_equal(test_run_bot(argv, &out, &err), 0);
		root = json_tokener_parse(out);
		assert_non_null(root);
		assert_string_equal(json_object_get_string(key(key(root,
				"window"), "since")), "2025-09-08T00:00:00Z");
		assert_int_equal(json_object_get_int64(key(key(root, "totals"),
							    "mails")), 194);
		json_object_put(root);
		free(out);
		free(err);
	}
	{
		char *argv[] = {"digest", "--help", NULL};

		assert_int_equal(test_run_bot(argv, &out, &err), 0);
		assert_has(out, "usage: kvmarm-bot");
		assert_has(out, "--since DATE");
		free(out);
		free(err);
	}
	{
		static const char *const bad[][4] = {
		    {"--format", "xml", NULL, NULL},
		    {"--since", "garbage", NULL, NULL},
		    {"--until", "2025-02-30", NULL, NULL},
		    {"--now", "yesterday", NULL, NULL},
		    {"--since", "2025-09-15", "--until", "2025-09-08"},
		    {"--since", "2025-09-08", "--until", "2025-09-08"},
		    {"--lang", "fr", NULL, NULL},
		    {"--timezone", "Mars/Olympus_Mons", NULL, NULL},
		    {"--bogus", NULL, NULL, NULL},
		    {"extra", NULL, NULL, NULL},
		    {"--since", NULL, NULL, NULL},
		};

		for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
			char *argv[8] = {"--state", dir, "digest"};
			size_t n = 3;

			for (size_t k = 0; k < 4 && bad[i][k]; k++)
				argv[n++] = (char *)bad[i][k];
			argv[n] = NULL;
			if (test_run_bot(argv, &out, &err) != 2)
				fail_msg("case %zu: exit not 2; stderr: %s", i,
					 err);
			assert_string_equal(out, "");
			assert_true(strlen(err) > 0);
			free(out);
			free(err);
		}
	}
	{
		/* No state directory is misuse; a missing store a failure. */
		char *argv[] = {"digest", NULL};
		char missing[4200];

		assert_int_equal(test_run_bot(argv, &out, &err), 2);
		assert_has(err, "no state directory");
		free(out);
		free(err);
		snprintf(missing, sizeof(missing), "%s/absent", dir);
		char *argv2[] = {"--state", missing, "digest", NULL};
		assert_int_equal(test_run_bot(argv2, &out, &err), 1);
		free(out);
		free(err);
	}
	free(dir);
}

TEST_LIST(digest,
	  cmocka_unit_test(test_digest_parse_date),
	  cmocka_unit_test(test_digest_lore_url),
	  cmocka_unit_test(test_digest_timezone_valid),
	  cmocka_unit_test(test_digest_text_en),
	  cmocka_unit_test(test_digest_text_zh),
	  cmocka_unit_test(test_digest_markdown),
	  cmocka_unit_test(test_digest_json),
	  cmocka_unit_test(test_digest_tz_restored),
	  cmocka_unit_test(test_digest_hostile_text),
	  cmocka_unit_test(test_digest_text_random),
	  cmocka_unit_test(test_digest_empty),
	  cmocka_unit_test(test_digest_demo_week),
	  cmocka_unit_test(test_digest_corpora_partition),
	  cmocka_unit_test(test_digest_cli));
