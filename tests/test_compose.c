/*
 * test_compose.c - outgoing mail bytes: parsed back with the bot's own
 * parser, the subject and a Chinese body must come back byte-exact and
 * every header the outbox promises must be there.
 */
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "compose.h"
#include "message.h"
#include "testutil.h"

static const char *const to[] = {"bob@example.test", "kvmarm@lists.linux.dev"};
static const char *const refs[] = {"root@example.org", "parent@example.org"};

static const char zh_subject[] =
	"[kvmarm 周报] 2025-09-08 .. 2025-09-14：42 封邮件，7 个讨论，"
	"包括 KVM: arm64: 嵌套虚拟化的长长长长长长长长长长长长的讨论 😀 𠀀";
static const char zh_body[] =
	"本周 kvmarm 邮件列表摘要\n"
	"\n"
	"1. KVM: arm64: 修复 vGIC 的竞争条件（v3，已审阅）\n"
	".a line that starts with a dot\n"
	"全角标点：，。！？ emoji 😀 CJK 扩展 B 𠀀\n";

static void
fill(struct compose_mail *m, const char *subj, const char *body)
{
	memset(m, 0, sizeof(*m));
	m->from = "bot@example.test";
	m->to = to;
	m->n_to = 2;
	m->subject = subj;
	m->body = body;
	m->message_id = "kvmarm-bot.1757926800.0011223344556677@example.test";
	m->date = 1757926800;	/* 2025-09-15T09:00:00Z, a Monday */
	m->bulk = 1;
}

/* Every line ends in CRLF, none is longer than 998 bytes. */
static void
assert_crlf(const struct buf *b)
{
	size_t col = 0;

	assert_true(b->len > 2);
	for (size_t i = 0; i < b->len; i++) {
		if (b->data[i] == '\n') {
			assert_true(i > 0 && b->data[i - 1] == '\r');
			col = 0;
		} else {
			assert_true(b->data[i] != '\r' || b->data[i + 1] == '\n');
			assert_true(++col <= 998);
		}
	}
	assert_memory_equal(b->data + b->len - 2, "\r\n", 2);
}

static size_t
header_len(const struct buf *b)
{
	const char *e = strstr(b->data, "\r\n\r\n");

	assert_non_null(e);
	return (size_t)(e - b->data) + 2;
}

static void
test_compose_zh_round_trip(void **state)
{
	struct compose_mail m;
	struct message msg;
	struct buf b;
	char *hdr;
	const char *err = NULL;

	fill(&m, zh_subject, zh_body);
	m.in_reply_to = "parent@example.org";
	m.references = refs;
	m.n_references = 2;
	buf_init(&b, 0);
	assert_int_equal(compose_mail(&m, &b), 0);
	assert_crlf(&b);
	hdr = strndup(b.data, header_len(&b));
	assert_non_null(hdr);
	/* the header is pure ASCII: the subject is RFC 2047 encoded */
	for (const unsigned char *p = (unsigned char *)hdr; *p; p++)
		assert_true(*p < 0x80);
	assert_non_null(strstr(hdr, "\r\nSubject: =?UTF-8?B?"));
	assert_non_null(strstr(hdr, "?=\r\n =?UTF-8?B?"));
	/* no encoded word over 75 characters */
	for (char *w = strstr(hdr, "=?UTF-8?B?"); w;
	     w = strstr(w + 1, "=?UTF-8?B?")) {
		char *e = strstr(w + 10, "?=");

		assert_non_null(e);
		assert_true(e + 2 - w <= 75);
	}
	assert_non_null(strstr(hdr, "From: \"kvmarm-bot\" <bot@example.test>\r\n"));
	assert_non_null(strstr(hdr, "To: bob@example.test,\r\n "
				    "kvmarm@lists.linux.dev\r\n"));
	assert_non_null(strstr(hdr, "Date: Mon, 15 Sep 2025 09:00:00 +0000\r\n"));
	assert_non_null(strstr(hdr, "Content-Type: text/plain; charset=UTF-8\r\n"));
	assert_non_null(strstr(hdr, "Content-Transfer-Encoding: base64\r\n"));
	assert_non_null(strstr(hdr, "MIME-Version: 1.0\r\n"));
	assert_non_null(strstr(hdr, "Precedence: bulk\r\n"));
	free(hdr);

	assert_int_equal(message_parse(b.data, b.len, &msg, &err), 0);
	assert_string_equal(msg.subject, zh_subject);
	assert_string_equal(msg.body, zh_body);
	assert_string_equal(msg.message_id, m.message_id);
	assert_string_equal(msg.from_addr, "bot@example.test");
	assert_string_equal(msg.from_name, "kvmarm-bot");
	assert_int_equal(msg.date, 1757926800);
	assert_string_equal(msg.auto_submitted, "auto-generated");
	assert_string_equal(msg.x_loop, "bot@example.test");
	assert_string_equal(msg.precedence, "bulk");
	assert_string_equal(msg.in_reply_to, "parent@example.org");
	assert_int_equal(msg.n_references, 2);
	assert_string_equal(msg.references[1], "parent@example.org");
	assert_int_equal(msg.n_to, 2);
	assert_int_equal(msg.flags & (MESSAGE_BAD_CHARSET | MESSAGE_BAD_MIME),
			 0);
	message_release(&msg);
	buf_release(&b);
}

static void
test_compose_ascii_plain(void **state)
{
	struct compose_mail m;
	struct message msg;
	struct buf b;
	const char *err;

	fill(&m, "[kvmarm digest] 2025-09-08 .. 2025-09-14: 3 mails, 2 threads",
	     "Plain ASCII body.\r\nSecond line\nno final newline");
	m.bulk = 0;
	m.list_id = "kvmarm bot <kvmarm.example.test>";
	m.list_unsubscribe = "<mailto:bot@example.test?subject=unsubscribe>";
	buf_init(&b, 0);
	assert_int_equal(compose_mail(&m, &b), 0);
	assert_crlf(&b);
	assert_non_null(strstr(b.data, "\r\nSubject: [kvmarm digest] "
				       "2025-09-08 .. 2025-09-14: 3 mails, "
				       "2 threads\r\n"));
	assert_non_null(strstr(b.data, "Content-Transfer-Encoding: 7bit\r\n"));
	assert_null(strstr(b.data, "Precedence:"));
	assert_non_null(strstr(b.data, "\r\nList-Id: kvmarm bot "
				       "<kvmarm.example.test>\r\n"));
	assert_non_null(strstr(b.data, "\r\n\r\nPlain ASCII body.\r\nSecond "
				       "line\r\nno final newline\r\n"));
	assert_int_equal(message_parse(b.data, b.len, &msg, &err), 0);
	assert_non_null(strstr(msg.list_id, "kvmarm.example.test"));
	message_release(&msg);
	buf_release(&b);
}

/* A long line forces base64 even for ASCII; "=?" forces encoding. */
static void
test_compose_long_line_and_tricky_subject(void **state)
{
	struct compose_mail m;
	struct message msg;
	struct buf b;
	char *body = malloc(3001);
	const char *err;

	assert_non_null(body);
	memset(body, 'x', 3000);
	body[3000] = 0;
	fill(&m, "looks =?encoded?= but is not", body);
	buf_init(&b, 0);
	assert_int_equal(compose_mail(&m, &b), 0);
	assert_crlf(&b);
	assert_non_null(strstr(b.data, "Content-Transfer-Encoding: base64\r\n"));
	assert_null(strstr(b.data, "Subject: looks"));
	assert_int_equal(message_parse(b.data, b.len, &msg, &err), 0);
	assert_string_equal(msg.subject, "looks =?encoded?= but is not");
	assert_int_equal(strlen(msg.body), 3001);	/* plus the newline */
	assert_memory_equal(msg.body, body, 3000);
	message_release(&msg);
	buf_release(&b);
	free(body);
}

static void
test_compose_refuses_injection(void **state)
{
	static const char *const bad_to[] = {"bob@example.test\r\nBcc: x@y"};
	static const char *const no_at[] = {"bob"};
	struct compose_mail m;
	struct buf b;

	buf_init(&b, 0);
	fill(&m, "s", "b\n");
	m.to = bad_to;
	m.n_to = 1;
	assert_int_equal(compose_mail(&m, &b), -1);
	buf_release(&b);
	fill(&m, "s", "b\n");
	m.to = no_at;
	m.n_to = 1;
	assert_int_equal(compose_mail(&m, &b), -1);
	buf_release(&b);
	fill(&m, "s", "b\n");
	m.message_id = "a@b>\r\nX-Evil: 1";
	assert_int_equal(compose_mail(&m, &b), -1);
	buf_release(&b);
	fill(&m, "s", "b\n");
	m.list_id = "x\r\nBcc: evil@example.org";
	assert_int_equal(compose_mail(&m, &b), -1);
	buf_release(&b);
	fill(&m, "s", "bad utf-8 \xff\xfe\n");
	assert_int_equal(compose_mail(&m, &b), -1);
	buf_release(&b);
	/* a subject with CR/LF is encoded, never a second header line */
	fill(&m, "subject\r\nBcc: evil@example.org", "b\n");
	assert_int_equal(compose_mail(&m, &b), 0);
	assert_null(strstr(b.data, "\r\nBcc:"));
	buf_release(&b);
}

static void
test_compose_message_id(void **state)
{
	char *a, *b;

	assert_int_equal(compose_message_id("bot@lists.example.org", 1757926800,
					    &a), 0);
	assert_int_equal(compose_message_id("bot@lists.example.org", 1757926800,
					    &b), 0);
	assert_int_equal(strncmp(a, "kvmarm-bot.1757926800.", 22), 0);
	assert_int_equal(strlen(a), 22 + 16 + strlen("@lists.example.org"));
	assert_string_equal(a + 38, "@lists.example.org");
	assert_string_not_equal(a, b);	/* random part */
	free(a);
	free(b);
	assert_int_equal(compose_message_id("no-domain", 1, &a), -1);
	assert_null(a);
	assert_int_equal(compose_message_id("bot@", 1, &a), -1);
}

TEST_LIST(compose,
	  cmocka_unit_test(test_compose_zh_round_trip),
	  cmocka_unit_test(test_compose_ascii_plain),
	  cmocka_unit_test(test_compose_long_line_and_tricky_subject),
	  cmocka_unit_test(test_compose_refuses_injection),
	  cmocka_unit_test(test_compose_message_id));
