/*
 * test_message.c - the mail parser: our own small fixtures
 * (tests/data/message/), real mail from the shared corpora read in
 * place, generated hostile input (truncation, NUL bytes, a 20 MB
 * attachment, 10,000 References, 100 KB header lines, deep nesting,
 * invalid UTF-8), the subject tag table and every message of every
 * corpus file.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <dirent.h>
#include <sys/stat.h>

#include "buf.h"
#include "charset.h"
#include "message.h"
#include "testutil.h"

#define FIXTURES "tests/data/message/"

/* --- helpers ---------------------------------------------------------- */

static char *
fixture(const char *name, size_t *len)
{
	char path[256];
	char *data;

	snprintf(path, sizeof(path), FIXTURES "%s", name);
	data = test_read_file(path, len);
	assert_non_null(data);
	return data;
}

static char *
corpus_file(const char *root, const char *rel, size_t *len)
{
	char path[4096];

	snprintf(path, sizeof(path), "%s/%s", root, rel);
	return test_read_file(path, len);
}

static void
assert_utf8(const char *s)
{
	assert_non_null(s);
	if (!charset_utf8_valid(s, strlen(s)))
		fail_msg("not valid UTF-8: '%.80s'", s);
}

/* What every record must satisfy, whatever the mail was. */
static void
check_record(const struct message *m)
{
	size_t i;

	assert_utf8(m->message_id);
	assert_true(m->message_id[0] != '\0');
	assert_true(strlen(m->message_id) <= MESSAGE_MAX_ID + 40);
	assert_utf8(m->in_reply_to);
	assert_true(m->n_references <= MESSAGE_MAX_REFERENCES);
	for (i = 0; i < m->n_references; i++) {
		assert_utf8(m->references[i]);
		assert_non_null(strchr(m->references[i], '@'));
		assert_string_not_equal(m->references[i], m->message_id);
	}
	assert_utf8(m->from_name);
	assert_utf8(m->from_addr);
	assert_true(m->n_to <= MESSAGE_MAX_ADDRESSES);
	assert_true(m->n_cc <= MESSAGE_MAX_ADDRESSES);
	for (i = 0; i < m->n_to; i++)
		assert_utf8(m->to[i]);
	for (i = 0; i < m->n_cc; i++)
		assert_utf8(m->cc[i]);
	assert_utf8(m->subject);
	assert_null(strchr(m->subject, '\n'));
	assert_utf8(m->subject_bare);
	assert_utf8(m->list_id);
	assert_utf8(m->auto_submitted);
	assert_utf8(m->precedence);
	assert_utf8(m->x_loop);
	assert_utf8(m->body);
	assert_true(strlen(m->body) <= MESSAGE_MAX_BODY);
	assert_null(strchr(m->body, '\r'));
	assert_utf8(m->prose);
	assert_utf8(m->quoted);
	assert_utf8(m->patch);
	assert_utf8(m->diffstat);
	assert_utf8(m->signature);
	for (i = 0; i < m->n_files; i++)
		assert_utf8(m->files[i]);
	for (i = 0; i < m->n_trailers; i++) {
		assert_utf8(m->trailers[i].key);
		assert_utf8(m->trailers[i].value);
	}
	assert_true(m->tags.project[sizeof(m->tags.project) - 1] == '\0');
}

static void
parse_ok(const char *raw, size_t len, struct message *m)
{
	const char *err = NULL;

	if (message_parse(raw, len, m, &err) != 0)
		fail_msg("message_parse refused: %s", err ? err : "?");
	check_record(m);
	assert_int_equal(m->raw_size, len);
}

static void
parse_str(const char *raw, struct message *m)
{
	parse_ok(raw, strlen(raw), m);
}

static void
parse_fixture(const char *name, struct message *m)
{
	size_t len;
	char *raw = fixture(name, &len);

	parse_ok(raw, len, m);
	free(raw);
}

static int
has_trailer(const struct message *m, const char *key, const char *value)
{
	for (size_t i = 0; i < m->n_trailers; i++)
		if (!strcmp(m->trailers[i].key, key) &&
		    !strcmp(m->trailers[i].value, value))
			return 1;
	return 0;
}

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* --- fixtures ---------------------------------------------------------- */

static void
test_message_patch_inline(void **state)
{
	struct message m;

	(void)state;
	parse_fixture("patch-inline.eml", &m);
	assert_string_equal(m.message_id, "20220905123000.1234-4-jane@example.org");
	assert_false(m.flags & MESSAGE_SYNTHETIC_ID);
	assert_string_equal(m.in_reply_to, "20220905123000.1234-1-jane@example.org");
	assert_int_equal(m.n_references, 1);
	assert_string_equal(m.from_name, "Jane Hacker");
	assert_string_equal(m.from_addr, "jane@example.org");
	assert_int_equal(m.n_to, 1);
	assert_string_equal(m.to[0], "kvmarm@lists.example.org");
	assert_int_equal(m.n_cc, 2);
	assert_string_equal(m.cc[0], "maz@example.org");
	assert_string_equal(m.cc[1], "oupton@example.org");
	assert_int_equal(m.date, 1662381000);	/* 12:30 UTC */
	assert_string_equal(m.subject, "[PATCH v2 3/7] KVM: arm64: vgic: "
			    "Take the config lock once");
	assert_string_equal(m.subject_bare,
			    "KVM: arm64: vgic: Take the config lock once");
	assert_true(m.tags.patch);
	assert_int_equal(m.tags.version, 2);
	assert_int_equal(m.tags.index, 3);
	assert_int_equal(m.tags.total, 7);
	assert_string_equal(m.list_id, "KVM/arm64 <kvmarm.lists.example.org>");
	assert_string_equal(m.precedence, "list");
	assert_string_equal(m.auto_submitted, "");
	assert_int_equal(m.flags, 0);

	/* trailers: the listed keys only, in order, "Cc:" not collected */
	assert_int_equal(m.n_trailers, 3);
	assert_string_equal(m.trailers[0].key, "Fixes");
	assert_string_equal(m.trailers[0].value,
			    "0123456789ab (\"KVM: arm64: vgic: Example fix\")");
	assert_true(has_trailer(&m, "Reported-by",
				"Test Reporter <reporter@example.org>"));
	assert_true(has_trailer(&m, "Signed-off-by",
				"Jane Hacker <jane@example.org>"));

	assert_int_equal(m.n_files, 2);
	assert_string_equal(m.files[0], "arch/arm64/kvm/vgic/vgic-init.c");
	assert_string_equal(m.files[1], "include/kvm/arm_vgic.h");
	assert_string_equal(m.diffstat,
		" arch/arm64/kvm/vgic/vgic-init.c | 4 ++--\n"
		" include/kvm/arm_vgic.h          | 1 +\n"
		" 2 files changed, 3 insertions(+), 2 deletions(-)\n");
	/* the patch runs to the end of the last hunk, "-- " hunk line too */
	assert_true(!strncmp(m.patch, "diff --git a/arch/arm64/kvm/vgic/", 33));
	assert_non_null(strstr(m.patch, "\n-- \n \treturn ret;\n"));
	assert_non_null(strstr(m.patch, "+#define VGIC_V4 4\n #define VGIC_MAX 8\n"));
	assert_null(strstr(m.patch, "2.39.0"));
	assert_string_equal(m.signature, "2.39.0\n\n"
		"_______________________________________________\n"
		"kvmarm mailing list\nkvmarm@lists.example.org\n"
		"https://lists.example.org/mailman/listinfo/kvmarm\n");
	/* prose: the commit message and the notes, nothing structural */
	assert_true(!strncmp(m.prose, "The vgic init path takes", 24));
	assert_non_null(strstr(m.prose, "Changes since v1:\n"));
	assert_null(strstr(m.prose, "Signed-off-by"));
	assert_null(strstr(m.prose, "Cc: Someone"));
	assert_null(strstr(m.prose, "\n---\n"));
	assert_null(strstr(m.prose, "| 4 ++--"));
	assert_null(strstr(m.prose, "mailing list"));
	assert_string_equal(m.quoted, "");
	message_release(&m);
}

static void
test_message_base64_mailman(void **state)
{
	struct message m;
	size_t len;
	char *raw = fixture("patch-base64-mailman.eml", &len);

	(void)state;
	/* the diff is only visible after decoding the base64 part */
	assert_null(strstr(raw, "diff --git"));
	parse_ok(raw, len, &m);
	assert_int_equal(m.flags, 0);
	assert_int_equal(m.n_files, 2);
	assert_string_equal(m.files[1], "include/kvm/arm_vgic.h");
	assert_true(!strncmp(m.patch, "diff --git ", 11));
	assert_int_equal(m.n_trailers, 3);
	/* the footer came as a separate MIME part */
	assert_non_null(strstr(m.signature, "kvmarm mailing list"));
	assert_null(strstr(m.prose, "mailing list"));
	message_release(&m);
	free(raw);
}

static void
test_message_reply_review(void **state)
{
	struct message m;

	(void)state;
	parse_fixture("reply-review.eml", &m);
	/* Gnus "(X's message of ...)" comment after the id */
	assert_string_equal(m.in_reply_to,
			    "20220905123000.1234-4-jane@example.org");
	/* in order, unique, the mail's own id dropped */
	assert_int_equal(m.n_references, 2);
	assert_string_equal(m.references[0],
			    "20220905123000.1234-1-jane@example.org");
	assert_string_equal(m.references[1],
			    "20220905123000.1234-4-jane@example.org");
	assert_true(m.tags.reply);
	assert_true(m.tags.patch);
	/* quoted diff lines are quoted, not patch */
	assert_string_equal(m.patch, "");
	assert_int_equal(m.n_files, 0);
	assert_true(!strncmp(m.quoted, "On Mon, 05 Sep 2022 13:30:00 +0100,\n"
			     "Jane Hacker <jane@example.org> wrote:\n", 74));
	assert_non_null(strstr(m.quoted, "> diff --git"));
	/* a reviewer's trailer in a reply is collected */
	assert_int_equal(m.n_trailers, 1);
	assert_string_equal(m.trailers[0].key, "Reviewed-by");
	assert_string_equal(m.trailers[0].value,
			    "Marc Maintainer <maz@example.org>");
	assert_string_equal(m.prose, "Nice catch, this has been broken since "
			    "the locking rework.\n\n\tM.\n");
	assert_string_equal(m.signature, "Without deviation from the norm, "
			    "progress is not possible.\n");
	message_release(&m);
}

static void
test_message_html_only(void **state)
{
	struct message m;

	(void)state;
	parse_fixture("html-only.eml", &m);
	assert_true(m.flags & MESSAGE_HTML_ONLY);
	assert_string_equal(m.subject, "Question about KVM \xe2\x80\x94 help");
	assert_string_equal(m.body,
		"Hello list,\n\n"
		"Does KVM & the vGIC support \xe2\x80\x9cnested\xe2\x80\x9d virt?\n\n"
		"arm64\nx86 <maybe>\n\n"
		"Thanks \xe2\x80\x94 Alice\n");
	message_release(&m);
}

static void
test_message_mime_choice(void **state)
{
	struct message m;

	(void)state;
	parse_fixture("multipart-alternative.eml", &m);
	assert_string_equal(m.body, "Plain text wins, caf\xc3\xa9 included.\n");
	assert_false(m.flags & MESSAGE_HTML_ONLY);
	message_release(&m);

	parse_fixture("multipart-signed.eml", &m);
	assert_string_equal(m.body, "Pulled, thanks.\n");
	assert_true(m.tags.pull);
	assert_true(m.tags.reply);
	message_release(&m);

	parse_fixture("forwarded-rfc822.eml", &m);
	assert_string_equal(m.body, "See the attached report.\n");
	assert_true(m.tags.forward);
	message_release(&m);

	parse_fixture("attached-patch.eml", &m);
	assert_int_equal(m.n_files, 1);
	assert_string_equal(m.files[0], "tools/kvm/run.c");
	assert_non_null(strstr(m.patch, "+{ return 0; }\n"));
	assert_non_null(strstr(m.prose, "The fix is attached"));
	assert_non_null(strstr(m.prose, "commit message line"));
	assert_true(has_trailer(&m, "Signed-off-by", "Erin <erin@example.org>"));
	assert_string_equal(m.tags.project, "kvmtool");
	message_release(&m);
}

static void
test_message_charsets(void **state)
{
	struct message m;

	(void)state;
	/* GB2312 label, with a GBK-only character (read as GB18030) */
	parse_fixture("gb2312.eml", &m);
	assert_string_equal(m.subject, "内核补丁测试 朱镕基");
	assert_string_equal(m.from_name, "王小明");
	assert_string_equal(m.from_addr, "wang@example.cn");
	assert_string_equal(m.body, "你好，这是测试。\n");
	assert_false(m.flags & MESSAGE_BAD_CHARSET);
	message_release(&m);

	/* ISO-2022-JP, ISO-8859-1, Big5, Windows-1252 words; KOI8-R */
	parse_fixture("charsets.eml", &m);
	assert_string_equal(m.subject, "テストcafé測試“quoted”");
	assert_string_equal(m.from_name, "Иван");
	assert_string_equal(m.body, "Привет\n");
	assert_int_equal(m.flags, 0);
	message_release(&m);

	parse_fixture("unknown-charset.eml", &m);
	assert_true(m.flags & MESSAGE_BAD_CHARSET);
	assert_string_equal(m.subject, "tlhIngan Hol plain");
	assert_string_equal(m.body, "caf\xc3\xa9 body in some 8-bit charset\n");
	message_release(&m);

	/* raw 8-bit headers: valid UTF-8 kept, Latin-1 read as cp1252 */
	parse_str("Subject: Gr\xc3\xbc\xc3\x9f" "e aus \xe2\x9c\x93\n"
		  "From: x@example.org\n\nhi\n", &m);
	assert_string_equal(m.subject, "Grüße aus ✓");
	assert_false(m.flags & MESSAGE_BAD_CHARSET);
	message_release(&m);
	parse_str("Subject: Caf\xe9 \x93quoted\x94\n"
		  "From: x@example.org\n\nhi\n", &m);
	assert_string_equal(m.subject, "Café “quoted”");
	assert_true(m.flags & MESSAGE_BAD_CHARSET);
	message_release(&m);

	/* a broken encoded word does not lose the rest of the subject */
	parse_str("Subject: Re: =?utf-8?X?bad?= and =?utf-8?q?good=C3=A9?= end\n"
		  "From: x@example.org\n\nhi\n", &m);
	assert_string_equal(m.subject, "Re: =?utf-8?X?bad?= and goodé end");
	message_release(&m);
	parse_str("Subject: what =? means\nFrom: x@example.org\n\nhi\n", &m);
	assert_string_equal(m.subject, "what =? means");
	message_release(&m);
}

static void
test_message_broken_headers(void **state)
{
	struct message m;

	(void)state;
	parse_fixture("broken-headers.eml", &m);
	/* the mbox line is skipped, the junk line dropped */
	assert_string_equal(m.from_name, "Jérôme");
	assert_string_equal(m.from_addr, "jerome@example.org");
	assert_string_equal(m.subject, "Café 8-bit subject");
	/* a Message-ID without '@' is kept; <yes> never threads */
	assert_string_equal(m.message_id, "yes");
	assert_false(m.flags & MESSAGE_SYNTHETIC_ID);
	assert_string_equal(m.in_reply_to, "");
	assert_int_equal(m.n_references, 1);
	assert_string_equal(m.references[0], "real-parent@example.org");
	assert_true(m.flags & MESSAGE_BAD_DATE);
	assert_int_equal(m.date, 0);
	assert_int_equal(m.n_to, 0);
	assert_int_equal(m.n_cc, 3);
	assert_string_equal(m.cc[0], "a@example.org");
	assert_string_equal(m.cc[2], "c@example.org");
	assert_string_equal(m.body, "Body with invalid \xef\xbf\xbd UTF-8 and "
			    "\xc3\xa9 valid \xe2\x9c\x93.\n");
	assert_true(m.flags & MESSAGE_BAD_CHARSET);
	message_release(&m);
}

static void
test_message_synthetic_id(void **state)
{
	static const char mail[] = "From: a@example.org\nSubject: no id\n\n"
				   "body\n";
	static const char mbox[] = "From a@example.org Mon Jan  1 00:00:00 2024\n"
				   "From: a@example.org\nSubject: no id\n\n"
				   "body\n";
	struct message m, m2;
	const char *p;

	(void)state;
	parse_str(mail, &m);
	assert_true(m.flags & MESSAGE_SYNTHETIC_ID);
	assert_int_equal(strlen(m.message_id), 7 + 32 + 19);
	assert_true(!strncmp(m.message_id, "sha256-", 7));
	for (p = m.message_id + 7; p < m.message_id + 39; p++)
		assert_non_null(strchr("0123456789abcdef", *p));
	assert_string_equal(m.message_id + 39, "@kvmarm-bot.invalid");
	/* stable, and the same whether read from an mbox or a file */
	parse_str(mail, &m2);
	assert_string_equal(m.message_id, m2.message_id);
	message_release(&m2);
	parse_str(mbox, &m2);
	assert_string_equal(m.message_id, m2.message_id);
	message_release(&m2);
	parse_str("From: a@example.org\nSubject: other\n\nbody\n", &m2);
	assert_string_not_equal(m.message_id, m2.message_id);
	message_release(&m2);
	message_release(&m);

	parse_str("Message-ID: <>\nFrom: a@example.org\n\nx\n", &m);
	assert_true(m.flags & MESSAGE_SYNTHETIC_ID);
	message_release(&m);
	parse_str("Message-ID:   \nFrom: a@example.org\n\nx\n", &m);
	assert_true(m.flags & MESSAGE_SYNTHETIC_ID);
	message_release(&m);
	/* libetpan drops the blanks inside an id; replies get the same */
	parse_str("Message-ID: <a b c>\nFrom: a@example.org\n\nx\n", &m);
	assert_string_equal(m.message_id, "abc");
	message_release(&m);
	parse_str("Message-Id:  bare@example.org \nFrom: a@example.org\n\nx\n",
		  &m);
	assert_string_equal(m.message_id, "bare@example.org");
	message_release(&m);
}

static void
test_message_id_normalise(void **state)
{
	static const struct {
		const char *in, *out;
	} cases[] = {
		{ "<a@b>", "a@b" },
		{ "  <a@b>  ", "a@b" },
		{ "< a@b >", "a@b" },
		{ "<a@b> (Someone's message of \"Mon, 1 Jan\")", "a@b" },
		{ "(a comment <x@y>) <a@b>", "a@b" },
		{ "\"quoted <q@r>\" <a@b>", "a@b" },
		{ "<yes>", NULL },
		{ "<yes> <real@x.org>", "real@x.org" },
		{ "a@b", "a@b" },
		{ "https://lore.example/<a@b>", "a@b" },
		{ "junk", NULL },
		{ "", NULL },
		{ "<@b>", NULL },
		{ "<a@>", NULL },
		{ "<a b@c>", NULL },
		{ "<a@b", NULL },
		{ "<<<a@b>", "a@b" },
		{ "<a@b\xff>", NULL },
	};
	char big[2100];
	char *id;

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
		id = message_id_normalise(cases[i].in);
		if (!cases[i].out) {
			if (id)
				fail_msg("'%s' gave '%s', want NULL",
					 cases[i].in, id);
		} else {
			if (!id || strcmp(id, cases[i].out))
				fail_msg("'%s' gave '%s', want '%s'",
					 cases[i].in, id ? id : "NULL",
					 cases[i].out);
		}
		free(id);
	}
	assert_null(message_id_normalise(NULL));
	/* longer than the RFC 5322 line */
	big[0] = '<';
	memset(big + 1, 'x', 1500);
	memcpy(big + 1501, "@y>", 4);
	assert_null(message_id_normalise(big));
}

static void
test_message_references(void **state)
{
	struct buf raw = BUF_INIT;
	struct message m;
	double t0;
	int i;

	(void)state;
	buf_init(&raw, 0);
	buf_adds(&raw, "Message-ID: <self@x>\nFrom: a@example.org\n"
		 "In-Reply-To: <yes> <ref-9999@x>\nReferences:");
	for (i = 0; i < 10000; i++) {
		buf_addf(&raw, " <ref-%d@x>\n", i);
		if (i % 100 == 0)	/* duplicates, self and junk */
			buf_adds(&raw, " <ref-0@x> <self@x> <yes>\n");
	}
	buf_adds(&raw, "Subject: many\n\nbody\n");
	t0 = now();
	parse_ok(raw.data, raw.len, &m);
	/* generous bound for a sanitizer build; quadratic would take minutes */
	assert_true(now() - t0 < 5.0);
	assert_string_equal(m.in_reply_to, "ref-9999@x");
	assert_int_equal(m.n_references, MESSAGE_MAX_REFERENCES);
	assert_true(m.flags & MESSAGE_REFS_TRUNCATED);
	/* the thread root and the newest ones */
	assert_string_equal(m.references[0], "ref-0@x");
	assert_string_equal(m.references[1], "ref-9745@x");
	assert_string_equal(m.references[MESSAGE_MAX_REFERENCES - 1],
			    "ref-9999@x");
	message_release(&m);
	buf_release(&raw);
}

static void
test_message_subject_tags(void **state)
{
	static const struct {
		const char *subject, *bare;
		int reply, forward, patch, rfc, resend, pull, syzbot;
		int version, index, total;
		const char *project;
	} cases[] = {
		{ "[PATCH v6 02/24] KVM: arm64: foo", "KVM: arm64: foo",
		  0, 0, 1, 0, 0, 0, 0, 6, 2, 24, "" },
		{ "[RFC PATCH v1 34/38] KVM: bar", "KVM: bar",
		  0, 0, 1, 1, 0, 0, 0, 1, 34, 38, "" },
		{ "[PATCH RESEND v7 0/6] Cover", "Cover",
		  0, 0, 1, 0, 1, 0, 0, 7, 0, 6, "" },
		{ "[PATCH kvmtool v3 0/6] arm64: x", "arm64: x",
		  0, 0, 1, 0, 0, 0, 0, 3, 0, 6, "kvmtool" },
		{ "[kvm-unit-tests PATCH] arm: pmu", "arm: pmu",
		  0, 0, 1, 0, 0, 0, 0, 1, -1, -1, "kvm-unit-tests" },
		{ "[GIT PULL] KVM/arm64 fixes for 6.1", "KVM/arm64 fixes for 6.1",
		  0, 0, 0, 0, 0, 1, 0, 1, -1, -1, "" },
		{ "[PULL 0/3] target-arm queue", "target-arm queue",
		  0, 0, 0, 0, 0, 1, 0, 1, 0, 3, "" },
		{ "[syzbot] WARNING in kvm_arch_vcpu_ioctl",
		  "WARNING in kvm_arch_vcpu_ioctl",
		  0, 0, 0, 0, 0, 0, 1, 1, -1, -1, "" },
		{ "[PATCH 1 of 2] hg style", "hg style",
		  0, 0, 1, 0, 0, 0, 0, 1, 1, 2, "" },
		{ "[net,v2,1/2] net: ieee802154: x", "net: ieee802154: x",
		  0, 0, 0, 0, 0, 0, 0, 2, 1, 2, "net" },
		{ "[PATCH v2 RESEND] foo", "foo",
		  0, 0, 1, 0, 1, 0, 0, 2, -1, -1, "" },
		{ "[RFC v3 1/2] foo", "foo", 0, 0, 0, 1, 0, 0, 0, 3, 1, 2, "" },
		{ "[PATCH for-next v2] foo", "foo",
		  0, 0, 1, 0, 0, 0, 0, 2, -1, -1, "for-next" },
		{ "[notmuch] [PATCH 1/2] Close message file", "Close message file",
		  0, 0, 1, 0, 0, 0, 0, 1, 1, 2, "" },
		{ "[notmuch] archive", "archive",
		  0, 0, 0, 0, 0, 0, 0, 1, -1, -1, "" },
		{ "Re: [PATCH v4 3/6] KVM: arm64: Enable ring",
		  "KVM: arm64: Enable ring", 1, 0, 1, 0, 0, 0, 0, 4, 3, 6, "" },
		{ "RE: Re: AW: Aw: SV: Antw: [PATCH] x", "x",
		  1, 0, 1, 0, 0, 0, 0, 1, -1, -1, "" },
		{ "Fwd: Fw: WG: report", "report", 0, 1, 0, 0, 0, 0, 0,
		  1, -1, -1, "" },
		{ "Re[2]: Re:[PATCHv3 2/5]foo", "foo",
		  1, 0, 1, 0, 0, 0, 0, 3, 2, 5, "" },
		{ "[RFC][PATCH 09/10] cifs: read pages", "cifs: read pages",
		  0, 0, 1, 1, 0, 0, 0, 1, 9, 10, "" },
		{ "[PATCH v5 net-next 1/3] x", "x",
		  0, 0, 1, 0, 0, 0, 0, 5, 1, 3, "net-next" },
		{ "[GIT] Networking", "Networking",
		  0, 0, 0, 0, 0, 1, 0, 1, -1, -1, "" },
		{ "[PATCH a-very-long-project-name-that-does-not-fit v2] y", "y",
		  0, 0, 1, 0, 0, 0, 0, 2, -1, -1,
		  "a-very-long-project-name-that-d" },
		{ "KVM: arm64: no tags", "KVM: arm64: no tags",
		  0, 0, 0, 0, 0, 0, 0, 1, -1, -1, "" },
		{ "Review: not a prefix", "Review: not a prefix",
		  0, 0, 0, 0, 0, 0, 0, 1, -1, -1, "" },
		{ "[unterminated bracket", "[unterminated bracket",
		  0, 0, 0, 0, 0, 0, 0, 1, -1, -1, "" },
		{ "", "", 0, 0, 0, 0, 0, 0, 0, 1, -1, -1, "" },
	};
	struct subject_tags t;
	char *bare;

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
		bare = message_subject_parse(cases[i].subject, &t);
		assert_non_null(bare);
		if (strcmp(bare, cases[i].bare) ||
		    t.reply != cases[i].reply || t.forward != cases[i].forward ||
		    t.patch != cases[i].patch || t.rfc != cases[i].rfc ||
		    t.resend != cases[i].resend || t.pull != cases[i].pull ||
		    t.syzbot != cases[i].syzbot ||
		    t.version != cases[i].version ||
		    t.index != cases[i].index || t.total != cases[i].total ||
		    strcmp(t.project, cases[i].project))
			fail_msg("'%s': bare '%s' re %d fw %d patch %d rfc %d "
				 "resend %d pull %d syz %d v%d %d/%d '%s'",
				 cases[i].subject, bare, t.reply, t.forward,
				 t.patch, t.rfc, t.resend, t.pull, t.syzbot,
				 t.version, t.index, t.total, t.project);
		free(bare);
	}
	bare = message_subject_parse(NULL, &t);
	assert_string_equal(bare, "");
	free(bare);
}

static void
test_message_dates(void **state)
{
	static const struct {
		const char *date;
		int64_t epoch;	/* -1: MESSAGE_BAD_DATE */
	} cases[] = {
		{ "Mon, 05 Sep 2022 14:30:00 +0200", 1662381000 },
		{ "5 Sep 2022 14:30:00 +0200", 1662381000 },
		{ "Mon, 5 Sep 2022 05:00:00 -0730", 1662381000 },
		{ "Tue, 29 Jul 97 00:08:29 +0900", 870102509 },
		{ "Sat, 13 Aug 2016 12:14:15 +0200 (CEST)", 1471083255 },
		{ "Thu, 01 Jan 1970 00:00:00 +0000", 0 },
		{ "2022-09-05 14:30:00", -1 },
		{ "someday", -1 },
		{ "Mon, 45 Sep 2022 14:30:00 +0200", -1 },
		{ "", -1 },
	};
	struct message m;
	char raw[256];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
		snprintf(raw, sizeof(raw), "From: a@example.org\nDate:\t%s\n\n"
			 "x\n", cases[i].date);
		parse_str(raw, &m);
		if (cases[i].epoch < 0) {
			if (!(m.flags & MESSAGE_BAD_DATE) || m.date != 0)
				fail_msg("'%s' gave %lld", cases[i].date,
					 (long long)m.date);
		} else if ((m.flags & MESSAGE_BAD_DATE) ||
			   m.date != cases[i].epoch) {
			fail_msg("'%s' gave %lld flags %#x", cases[i].date,
				 (long long)m.date, m.flags);
		}
		message_release(&m);
	}
	parse_str("From: a@example.org\n\nno date at all\n", &m);
	assert_true(m.flags & MESSAGE_BAD_DATE);
	message_release(&m);
}

static void
test_message_addresses(void **state)
{
	struct message m;

	(void)state;
	parse_str("From: \"=?utf-8?q?J=C3=B6rg_M=C3=BCller?=\" <Joerg@Example.COM>\n"
		  "To: group: One <ONE@x.org>, two@x.org;, three@x.org,"
		  " three@X.org\nCc: undisclosed-recipients:;\n\nx\n", &m);
	assert_string_equal(m.from_name, "Jörg Müller");
	assert_string_equal(m.from_addr, "joerg@example.com");
	assert_int_equal(m.n_to, 3);
	assert_string_equal(m.to[0], "one@x.org");
	assert_string_equal(m.to[1], "two@x.org");
	assert_string_equal(m.to[2], "three@x.org");
	assert_int_equal(m.n_cc, 0);
	assert_false(m.flags & MESSAGE_NO_FROM);
	message_release(&m);

	parse_str("From: \"Zyngier, Marc\" <maz@kernel.org>\n\nx\n", &m);
	assert_string_equal(m.from_name, "Zyngier, Marc");
	message_release(&m);

	parse_str("Subject: nobody\n\nx\n", &m);
	assert_true(m.flags & MESSAGE_NO_FROM);
	assert_string_equal(m.from_addr, "");
	message_release(&m);

	parse_str("From: broken <<<\n\nx\n", &m);
	assert_true(m.flags & MESSAGE_NO_FROM);
	assert_string_equal(m.from_addr, "");
	message_release(&m);
}

static void
test_message_refused(void **state)
{
	static const char *const not_mail[] = {
		"# README\n\nThis is not a mail.\n",
		"",
		"\nFrom: a@example.org\n\nbody\n",
		"From a@example.org Mon Jan  1 00:00:00 2024\n",
		"From a@example.org Mon Jan  1 00:00:00 2024\nhello\n",
		"no colon here\nFrom: a@b\n",
		" Subject: leading blank\n\nx\n",
	};
	struct message m;
	const char *err;

	(void)state;
	for (size_t i = 0; i < sizeof(not_mail) / sizeof(*not_mail); i++) {
		err = NULL;
		memset(&m, 0x5a, sizeof(m));
		if (message_parse(not_mail[i], strlen(not_mail[i]), &m,
				  &err) != -1)
			fail_msg("accepted '%s'", not_mail[i]);
		assert_non_null(err);
		assert_null(m.message_id);
		assert_null(m.body);
		message_release(&m);	/* zeroed: safe */
	}
	/* over the size cap: refused before a byte is read */
	err = NULL;
	assert_int_equal(message_parse("Subject: x\n\n", MESSAGE_MAX_RAW + 1,
				       &m, &err), -1);
	assert_non_null(err);
	assert_int_equal(message_parse(NULL, 0, &m, NULL), -1);
	/* a header block alone is a mail */
	parse_str("Subject: only headers", &m);
	assert_string_equal(m.subject, "only headers");
	assert_string_equal(m.body, "");
	message_release(&m);
}

static void
test_message_crlf(void **state)
{
	struct message m;

	(void)state;
	parse_str("From: a@example.org\r\nSubject: [PATCH] crlf\r\n folded\r\n"
		  "Message-ID: <crlf@x>\r\n\r\nFix it.\r\n\r\nSigned-off-by: "
		  "A <a@example.org>\r\n---\r\n"
		  "diff --git a/x.c b/x.c\r\n--- a/x.c\r\n+++ b/x.c\r\n"
		  "@@ -1 +1 @@\r\n-a\r\n+b\r\n", &m);
	assert_string_equal(m.subject, "[PATCH] crlf folded");
	assert_string_equal(m.message_id, "crlf@x");
	assert_string_equal(m.prose, "Fix it.\n");
	assert_int_equal(m.n_trailers, 1);
	assert_string_equal(m.trailers[0].value, "A <a@example.org>");
	assert_int_equal(m.n_files, 1);
	assert_string_equal(m.patch, "diff --git a/x.c b/x.c\n--- a/x.c\n"
			    "+++ b/x.c\n@@ -1 +1 @@\n-a\n+b\n");
	message_release(&m);
}

static void
test_message_split_rules(void **state)
{
	struct message m;

	(void)state;
	/* wrapped Fixes, lower-case key, trailer after the patch ignored */
	parse_str("From: a@example.org\nSubject: [PATCH] x\n\n"
		  "Fix the thing.\n\n"
		  "Fixes: 0123456789ab (\"arm64: a subject that got\n"
		  "wrapped by the mailer\")\n"
		  "reviewed-by: R <r@example.org>\n"
		  "---\n"
		  "Index: lib/a.c\n"
		  "===================================================\n"
		  "--- lib/a.c.orig\t2022-09-05 10:00:00\n"
		  "+++ lib/a.c\t2022-09-05 10:01:00\n"
		  "@@@ -1,1 +1,1 @@@\n"
		  "-old\n+new\n context after a miscounted hunk\n"
		  "\n"
		  "diff --git a/img.png b/img.png\n"
		  "new file mode 100644\n"
		  "index 0000000..1111111\n"
		  "GIT binary patch\n"
		  "literal 5\n"
		  "McmZQzKm~?10000\n"
		  "\n"
		  "literal 0\n"
		  "HcmV?d00001\n"
		  "\n"
		  "Acked-by: After Patch <late@example.org>\n", &m);
	assert_int_equal(m.n_trailers, 2);
	assert_string_equal(m.trailers[0].key, "Fixes");
	assert_string_equal(m.trailers[0].value, "0123456789ab (\"arm64: a "
			    "subject that got wrapped by the mailer\")");
	assert_string_equal(m.trailers[1].key, "Reviewed-by");
	assert_string_equal(m.prose, "Fix the thing.\n\n"
			    "Acked-by: After Patch <late@example.org>\n");
	assert_int_equal(m.n_files, 2);
	assert_string_equal(m.files[0], "lib/a.c");
	assert_string_equal(m.files[1], "img.png");
	assert_non_null(strstr(m.patch, " context after a miscounted hunk\n"));
	assert_non_null(strstr(m.patch, "HcmV?d00001\n"));
	message_release(&m);

	/* a reply: snip marks, attribution without a quote after it,
	 * quoted and signature trailers not collected, Outlook quoting */
	parse_str("From: b@example.org\nSubject: Re: [PATCH] x\n\n"
		  "On Mon, 5 Sep 2022 at 10:00, A <a@example.org> wrote:\n"
		  "\n[...]\n\n"
		  "> Signed-off-by: A <a@example.org>\n"
		  "\nLooks good.\n\n"
		  "Tested-by: B <b@example.org>\n"
		  "\n-- \nB\nAcked-by: Not Me <sig@example.org>\n"
		  "-----Original Message-----\n"
		  "From: A\nReviewed-by: Outlook <o@example.org>\n", &m);
	assert_int_equal(m.n_trailers, 1);
	assert_string_equal(m.trailers[0].key, "Tested-by");
	assert_string_equal(m.prose, "Looks good.\n");
	assert_true(!strncmp(m.quoted, "On Mon, 5 Sep 2022 at 10:00, "
			     "A <a@example.org> wrote:\n\n[...]\n", 60));
	assert_non_null(strstr(m.quoted, "From: A\n"));
	message_release(&m);

	parse_str("From: c@example.org\nSubject: Re: y\n\n"
		  "On Thu, 01 Dec 2022 10:49:11 +0000,\n"
		  "Someone <s@example.org> wrote:\n\n"
		  "Thanks for looking into this.\n", &m);
	assert_string_equal(m.prose, "Thanks for looking into this.\n");
	assert_non_null(strstr(m.quoted, "Someone <s@example.org> wrote:"));
	message_release(&m);
}

/* --- hostile input ------------------------------------------------------- */

static void
test_message_truncated(void **state)
{
	struct message m;
	size_t len, k;
	char *raw = fixture("patch-base64-mailman.eml", &len);
	const char *err;

	(void)state;
	for (k = 0; k <= len; k += 7) {
		char *cut = malloc(k ? k : 1);

		memcpy(cut, raw, k);	/* no NUL: the parser must not need one */
		if (message_parse(cut, k, &m, &err) == 0) {
			check_record(&m);
			assert_true(k >= 5);
			message_release(&m);
		} else {
			assert_true(k < 6);	/* "From:" not complete yet */
		}
		free(cut);
	}
	free(raw);
}

static void
test_message_nul_bytes(void **state)
{
	static const char raw[] = "From: a@example.org\nSubject: nul\0here\n"
				  "Message-ID: <nul@x>\n\nbody\0with nul\n";
	struct message m;

	(void)state;
	parse_ok(raw, sizeof(raw) - 1, &m);
	assert_true(m.flags & MESSAGE_NUL_BYTES);
	assert_string_equal(m.subject, "nul\xef\xbf\xbdhere");
	assert_string_equal(m.body, "body\xef\xbf\xbdwith nul\n");
	assert_string_equal(m.message_id, "nul@x");
	message_release(&m);
}

static void
test_message_big_attachment(void **state)
{
	const size_t big = 20u * 1024 * 1024;
	struct buf raw = BUF_INIT;
	struct message m;
	size_t i;
	double t0;

	(void)state;
	buf_init(&raw, 0);
	buf_adds(&raw, "From: a@example.org\nSubject: big\nMIME-Version: 1.0\n"
		 "Content-Type: multipart/mixed; boundary=\"BB\"\n\n--BB\n"
		 "Content-Type: text/plain\n\nsee attachment\n--BB\n"
		 "Content-Type: application/octet-stream\n"
		 "Content-Transfer-Encoding: base64\n\n");
	for (i = 0; i < big / 77; i++)
		buf_adds(&raw, "QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVphYmNkZWZnaGlqa2xt"
			 "bm9wcXJzdHV2d3h5ejAxMjM0\n");
	buf_adds(&raw, "--BB--\n");
	t0 = now();
	parse_ok(raw.data, raw.len, &m);
	assert_true(now() - t0 < 20.0);
	assert_string_equal(m.body, "see attachment\n");
	assert_false(m.flags & MESSAGE_BODY_TRUNCATED);
	message_release(&m);

	/* the same 20 MB as a text part: cut at MESSAGE_MAX_BODY */
	buf_release(&raw);
	buf_init(&raw, 0);
	buf_adds(&raw, "From: a@example.org\nSubject: big text\n\n");
	for (i = 0; i < big / 64; i++)
		buf_adds(&raw, "0123456789abcdef0123456789abcdef"
			 "0123456789abcdef0123456789abcde\n");
	parse_ok(raw.data, raw.len, &m);
	assert_true(m.flags & MESSAGE_BODY_TRUNCATED);
	assert_true(strlen(m.body) == MESSAGE_MAX_BODY);
	message_release(&m);
	buf_release(&raw);
}

static void
test_message_long_header(void **state)
{
	struct buf raw = BUF_INIT;
	struct message m;
	int i;

	(void)state;
	buf_init(&raw, 0);
	buf_adds(&raw, "From: a@example.org\nX-Junk: ");
	for (i = 0; i < 100 * 1024; i++)
		buf_addc(&raw, (char)('a' + i % 26));
	buf_adds(&raw, "\nSubject: ");
	for (i = 0; i < 100 * 1024 / 8; i++)
		buf_adds(&raw, "=?q?x?= ");	/* not even encoded words */
	buf_adds(&raw, "\nTo: ");
	for (i = 0; i < 5000; i++)
		buf_addf(&raw, "u%d@example.org, ", i);
	buf_adds(&raw, "last@example.org\nMessage-ID: <long@x>\n\nbody\n");
	parse_ok(raw.data, raw.len, &m);
	assert_string_equal(m.message_id, "long@x");
	assert_true(strlen(m.subject) <= CHARSET_MAX_HEADER);
	assert_true(!strncmp(m.subject, "=?q?x?= =?q?x?=", 15));
	assert_int_equal(m.n_to, MESSAGE_MAX_ADDRESSES);
	assert_string_equal(m.to[0], "u0@example.org");
	assert_string_equal(m.body, "body\n");
	message_release(&m);
	buf_release(&raw);
}

static void
nested_mail(struct buf *raw, int depth)
{
	int i;

	buf_adds(raw, "From: a@example.org\nSubject: nested\nMIME-Version: 1.0\n");
	for (i = 0; i < depth; i++)
		buf_addf(raw, "Content-Type: multipart/mixed; boundary=\"b%d\"\n\n"
			 "--b%d\n", i, i);
	buf_adds(raw, "Content-Type: text/plain\n\ndeep text\n");
	for (i = depth - 1; i >= 0; i--)
		buf_addf(raw, "--b%d--\n", i);
}

static void
test_message_deep_nesting(void **state)
{
	struct buf raw = BUF_INIT;
	struct message m;
	int i;

	(void)state;
	/* nesting libetpan handles */
	buf_init(&raw, 0);
	nested_mail(&raw, 50);
	parse_ok(raw.data, raw.len, &m);
	assert_string_equal(m.body, "deep text\n");
	assert_false(m.flags & MESSAGE_BAD_MIME);
	message_release(&m);
	buf_release(&raw);

	/* too deep: not handed to libetpan, the raw body is kept */
	buf_init(&raw, 0);
	nested_mail(&raw, 5000);
	parse_ok(raw.data, raw.len, &m);
	assert_true(m.flags & MESSAGE_BAD_MIME);
	assert_non_null(strstr(m.body, "deep text"));
	message_release(&m);
	buf_release(&raw);

	/* 100,000 nested comments in structured fields */
	buf_init(&raw, 0);
	buf_adds(&raw, "From: ");
	for (i = 0; i < 100000; i++)
		buf_addc(&raw, '(');
	buf_adds(&raw, "a@example.org\nTo: x@example.org (");
	for (i = 0; i < 100000; i++)
		buf_adds(&raw, "((");
	buf_adds(&raw, "\nContent-Type: text/plain; (((((((((((((((((((((((((((\n"
		 "\nbody\n");
	parse_ok(raw.data, raw.len, &m);
	assert_string_equal(m.body, "body\n");
	message_release(&m);
	buf_release(&raw);

	/* libetpan 1.9.4 overflows the heap on boundary="\"" */
	parse_str("From: a@example.org\nContent-Type: multipart/mixed; "
		  "boundary=\"\\\"\"\n\n--\"\nContent-Type: text/plain\n\n"
		  "hi\n--\"--\n", &m);
	message_release(&m);
	parse_str("From: a@example.org\nContent-Type: multipart/mixed; "
		  "boundary=\"\"\n\n--\nContent-Type: text/plain\n\nhi\n----\n",
		  &m);
	message_release(&m);
}

/* Deterministic pseudo-random bytes, so a failure can be replayed. */
static uint32_t
rnd(uint32_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 17;
	*s ^= *s << 5;
	return *s;
}

static void
test_message_invalid_utf8(void **state)
{
	static const char *const pieces[] = {
		"From: ", "Subject: ", "To: ", "Cc: ", "Message-ID: <",
		"References: <", "In-Reply-To: ", "Date: ", "=?utf-8?q?",
		"=?gb2312?b?", "?=", "<", ">", "@", "(", ")", "\"", ",", "\n",
		"\n ", "\r\n", "\n\n", "Content-Type: text/plain; charset=",
		"utf-8", "x-unknown", "iso-2022-jp", "\x1b$B", "\xff", "\xc3",
		"\xe2\x82", "\xf0\x9f\x98\x80", "\xed\xa0\x80", "\xc0\xaf",
		"diff --git a/x b/x\n", "--- a/x\n+++ b/x\n@@ -1 +1 @@\n",
		"> ", "-- \n", "Reviewed-by: ", "=\n", "=C3=A9",
		"Content-Transfer-Encoding: quoted-printable\n",
		"Content-Transfer-Encoding: base64\n", "w6k=\n",
	};
	struct buf raw = BUF_INIT;
	struct message m;
	uint32_t seed = 12345;
	int i, k;

	(void)state;
	for (i = 0; i < 300; i++) {
		buf_init(&raw, 0);
		buf_adds(&raw, "Subject: \xff\xfe invalid \xc3\n");
		for (k = 0; k < 60; k++)
			buf_adds(&raw, pieces[rnd(&seed) % (sizeof(pieces) /
							    sizeof(*pieces))]);
		parse_ok(raw.data, raw.len, &m);
		message_release(&m);
		buf_release(&raw);
	}
}

/* --- the corpora ------------------------------------------------------- */

static void
test_message_corpus_samples(void **state)
{
	const char *root = test_corpora(__func__);
	struct message m;
	size_t len;
	char *raw;

	(void)state;
	if (!root)
		skip();
	/* UTF-8 and ISO-8859-1 encoded words */
	raw = corpus_file(root, "public-inbox-t/t/utf8.eml", &len);
	assert_non_null(raw);
	parse_ok(raw, len, &m);
	assert_string_equal(m.subject, "Testing for Eléanor");
	assert_string_equal(m.from_name, "Eléanor");
	message_release(&m);
	free(raw);
	raw = corpus_file(root, "notmuch-default/cur/53:2,", &len);
	assert_non_null(raw);
	parse_ok(raw, len, &m);
	assert_string_equal(m.subject, "Essai accentué");
	message_release(&m);
	free(raw);
	/* ISO-2022-JP body, two-digit year */
	raw = corpus_file(root, "public-inbox-t/t/iso-2202-jp.eml", &len);
	assert_non_null(raw);
	parse_ok(raw, len, &m);
	assert_non_null(strstr(m.body, "けいじゅ＠今はフリー"));
	assert_int_equal(m.date, 870102509);
	message_release(&m);
	free(raw);
	/* X-UNKNOWN charset, upper-case QUOTED-PRINTABLE */
	raw = corpus_file(root, "public-inbox-t/t/x-unknown-alpine.eml", &len);
	assert_non_null(raw);
	parse_ok(raw, len, &m);
	assert_true(m.flags & MESSAGE_BAD_CHARSET);
	assert_non_null(strstr(m.body, "\xe2\x80\xa2 bullet point"));
	message_release(&m);
	free(raw);
	/* git-send-email's <yes> */
	raw = corpus_file(root, "notmuch-lkml/cur/1382298587.001736:2,", &len);
	assert_non_null(raw);
	assert_non_null(strstr(raw, "References: <yes>"));
	parse_ok(raw, len, &m);
	assert_string_equal(m.in_reply_to, "");
	assert_int_equal(m.n_references, 0);
	assert_true(m.tags.rfc && m.tags.patch);
	assert_int_equal(m.tags.index, 9);
	message_release(&m);
	free(raw);
	/* Gnus In-Reply-To with a folded trailing comment */
	raw = corpus_file(root, "notmuch-default/foo/new/09:2,", &len);
	assert_non_null(raw);
	parse_ok(raw, len, &m);
	assert_string_equal(m.in_reply_to,
			    "20091117203301.GV3165@dottiness.seas.harvard.edu");
	message_release(&m);
	free(raw);
	/* HTML: attribute text is not text */
	raw = corpus_file(root, "notmuch-edgecases/html/attribute-text", &len);
	assert_non_null(raw);
	parse_ok(raw, len, &m);
	assert_true(m.flags & MESSAGE_HTML_ONLY);
	assert_string_equal(m.body, "hunter2\n");
	message_release(&m);
	free(raw);
	/* CRLF line ends throughout */
	raw = corpus_file(root,
		"patchwork/mail/0018-git-pull-request-crlf-newlines.mbox", &len);
	assert_non_null(raw);
	assert_non_null(strstr(raw, "\r\n"));
	parse_ok(raw, len, &m);
	assert_true(m.tags.pull);
	assert_string_equal(m.subject_bare, "Please pull powerpc.git next branch");
	assert_non_null(strstr(m.prose, "Hi Linus !\n\nHere's powerpc's batch"));
	assert_non_null(strstr(m.diffstat, " files changed"));
	message_release(&m);
	free(raw);
}

/*
 * Split an mbox on "From " lines that follow a blank line (or start the
 * file) and are followed by a header field line; no mboxrd unescaping.
 * Calls fn on each message; returns how many.
 */
static size_t
mbox_each(const char *d, size_t n,
	  void (*fn)(const char *m, size_t len, void *arg), void *arg)
{
	size_t start = 0, i, count = 0;

	if (n < 5 || memcmp(d, "From ", 5)) {
		fn(d, n, arg);
		return 1;
	}
	for (i = 1; i <= n; i++) {
		int sep = 0;

		if (i < n && d[i - 1] == '\n' && n - i > 5 &&
		    !memcmp(d + i, "From ", 5) && (i < 2 || d[i - 2] == '\n')) {
			const char *nl = memchr(d + i, '\n', n - i);
			const char *c = nl ? memchr(nl + 1, ':', n - (size_t)(nl + 1 - d)) : NULL;
			const char *sp = nl ? nl + 1 : NULL;

			/* the next line must look like "Name:" */
			if (c && (size_t)(c - sp) < 80) {
				sep = 1;
				for (const char *q = sp; q < c; q++)
					if (*q <= ' ' || *q >= 0x7f)
						sep = 0;
			}
		}
		if (i == n || sep) {
			fn(d + start, i - start, arg);
			count++;
			start = i;
		}
	}
	return count;
}

struct corpus_stats {
	size_t parsed, refused;
	size_t mailman_b64_patches;
	const char *file;
};

static void
corpus_one(const char *raw, size_t len, void *arg)
{
	struct corpus_stats *st = arg;
	struct message m;
	const char *err = NULL;

	if (message_parse(raw, len, &m, &err) != 0) {
		st->refused++;
		fail_msg("%s: refused a message at %p: %s", st->file,
			 (const void *)raw, err);
	}
	check_record(&m);
	st->parsed++;
	message_release(&m);
}

static int
is_note(const char *name)
{
	return !strcmp(name, "SOURCE.md") || !strcmp(name, "README.md");
}

static void
walk_corpus(const char *path, struct corpus_stats *st)
{
	struct stat sb;
	struct message m;
	const char *name = strrchr(path, '/');
	char *data;
	size_t len;

	name = name ? name + 1 : path;
	if (stat(path, &sb) < 0)
		return;
	if (S_ISDIR(sb.st_mode)) {
		DIR *d = opendir(path);
		struct dirent *e;

		assert_non_null(d);
		while ((e = readdir(d))) {
			char sub[4096];

			if (e->d_name[0] == '.')
				continue;
			snprintf(sub, sizeof(sub), "%s/%s", path, e->d_name);
			walk_corpus(sub, st);
		}
		closedir(d);
		return;
	}
	data = test_read_file(path, &len);
	assert_non_null(data);
	if (is_note(name)) {
		/* the notes about the corpora are not mail */
		const char *err = NULL;

		assert_int_equal(message_parse(data, len, &m, &err), -1);
		assert_non_null(err);
		st->refused++;
	} else {
		st->file = path;
		mbox_each(data, len, corpus_one, st);
	}
	free(data);
}

static void
test_message_corpus_all(void **state)
{
	const char *root = test_corpora(__func__);
	struct corpus_stats st = { 0 };

	(void)state;
	if (!root)
		skip();
	walk_corpus(root, &st);
	/* README.md says 2,618 messages; 9 notes are not mail */
	assert_true(st.parsed >= 2618);
	assert_int_equal(st.refused, 9);
}

static void
mailman_one(const char *raw, size_t len, void *arg)
{
	struct corpus_stats *st = arg;
	const char *hdr_end = memmem(raw, len, "\n\n", 2);
	size_t hl = hdr_end ? (size_t)(hdr_end - raw) : len;
	struct message m;

	if (!memmem(raw, hl, "Content-Transfer-Encoding: base64", 33))
		return;
	parse_ok(raw, len, &m);
	if (m.tags.patch && !m.tags.reply && m.tags.index != 0 &&
	    !memmem(raw, len, "diff --git", 10)) {
		/* the diff exists only inside the base64 body */
		assert_true(!strncmp(m.patch, "diff --git ", 11));
		assert_true(m.n_files > 0);
		assert_true(m.n_trailers > 0);
		assert_non_null(strstr(m.signature, "kvmarm mailing list"));
		st->mailman_b64_patches++;
	}
	message_release(&m);
}

static void
test_message_corpus_mailman_base64(void **state)
{
	const char *root = test_corpora(__func__);
	struct corpus_stats st = { 0 };
	size_t len;
	char *data;

	(void)state;
	if (!root)
		skip();
	data = corpus_file(root, "kvmarm-columbia/kvmarm-2022-12.mbox", &len);
	assert_non_null(data);
	mbox_each(data, len, mailman_one, &st);
	free(data);
	assert_true(st.mailman_b64_patches >= 6);
}

struct b4_stats {
	size_t n;
	struct message m[8];
};

static void
b4_one(const char *raw, size_t len, void *arg)
{
	struct b4_stats *st = arg;

	assert_true(st->n < 8);
	parse_ok(raw, len, &st->m[st->n++]);
}

static void
test_message_corpus_b4_trailers(void **state)
{
	const char *root = test_corpora(__func__);
	struct b4_stats st = { 0 };
	size_t len, i;
	char *data;

	(void)state;
	if (!root)
		skip();
	data = corpus_file(root, "b4/trailers-followup-with-cover.mbox", &len);
	assert_non_null(data);
	mbox_each(data, len, b4_one, &st);
	free(data);
	assert_int_equal(st.n, 5);
	/* the patch's own trailers, before the diff */
	assert_int_equal(st.m[1].n_trailers, 4);
	assert_true(has_trailer(&st.m[1], "Fixes", "abcdef01234567890"));
	assert_true(has_trailer(&st.m[1], "Link",
				"https://msgid.link/some@msgid.here"));
	assert_true(st.m[1].n_files > 0);
	/* follow-ups: the reviewer's line, not the quoted ones */
	assert_int_equal(st.m[3].n_trailers, 1);
	assert_true(has_trailer(&st.m[3], "Reviewed-by",
		"Followup Reviewer1 <followup-reviewer1@example.com>"));
	assert_int_equal(st.m[4].n_trailers, 1);
	assert_string_equal(st.m[4].trailers[0].key, "Reviewed-by");
	assert_true(st.m[4].tags.reply);
	assert_int_equal(st.m[4].tags.index, 0);
	for (i = 0; i < st.n; i++)
		message_release(&st.m[i]);
}

TEST_LIST(message,
	cmocka_unit_test(test_message_patch_inline),
	cmocka_unit_test(test_message_base64_mailman),
	cmocka_unit_test(test_message_reply_review),
	cmocka_unit_test(test_message_html_only),
	cmocka_unit_test(test_message_mime_choice),
	cmocka_unit_test(test_message_charsets),
	cmocka_unit_test(test_message_broken_headers),
	cmocka_unit_test(test_message_synthetic_id),
	cmocka_unit_test(test_message_id_normalise),
	cmocka_unit_test(test_message_references),
	cmocka_unit_test(test_message_subject_tags),
	cmocka_unit_test(test_message_dates),
	cmocka_unit_test(test_message_addresses),
	cmocka_unit_test(test_message_refused),
	cmocka_unit_test(test_message_crlf),
	cmocka_unit_test(test_message_split_rules),
	cmocka_unit_test(test_message_truncated),
	cmocka_unit_test(test_message_nul_bytes),
	cmocka_unit_test(test_message_big_attachment),
	cmocka_unit_test(test_message_long_header),
	cmocka_unit_test(test_message_deep_nesting),
	cmocka_unit_test(test_message_invalid_utf8),
	cmocka_unit_test(test_message_corpus_samples),
	cmocka_unit_test(test_message_corpus_all),
	cmocka_unit_test(test_message_corpus_mailman_base64),
	cmocka_unit_test(test_message_corpus_b4_trailers),
);
