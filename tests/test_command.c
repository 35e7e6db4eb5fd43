/*
 * test_command.c - reading commands from mail and screening mail.
 *
 * Every case is a small literal mail run through message_parse(), as
 * the bot sees it, then through command_parse() or command_screen().
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "command.h"
#include "config.h"
#include "message.h"
#include "testutil.h"

#define BOT "kvmarm-bot@example.org"
#define TOK "sub-en.lx2k3.abcdef0123456789abcdef01"
#define MODTOK "mod-3.lx2k3.0123456789abcdef01234567"

/* A mail from alice to the bot with extra header lines and a body. */
static char *
mail(const char *headers, const char *subject, const char *body)
{
	size_t n = strlen(headers) + strlen(subject) + strlen(body) + 512;
	char *raw = malloc(n);

	assert_non_null(raw);
	snprintf(raw, n,
		 "From: Alice <alice@example.org>\n"
		 "%s"
		 "Subject: %s\n"
		 "Message-ID: <req-1@example.org>\n"
		 "Date: Mon, 15 Sep 2025 10:00:00 +0000\n"
		 "\n%s",
		 headers, subject, body);
	return raw;
}

static void
parse_raw(const char *raw, struct command_list *l)
{
	struct message m;
	const char *err = NULL;

	if (message_parse(raw, strlen(raw), &m, &err) != 0)
		fail_msg("message_parse refused: %s", err ? err : "?");
	assert_int_equal(command_parse(&m, BOT, l), 0);
	message_release(&m);
}

/* Commands of a mail To: the bot with this subject and body. */
static void
parse(const char *subject, const char *body, struct command_list *l)
{
	char *raw = mail("To: " BOT "\n", subject, body);

	parse_raw(raw, l);
	free(raw);
}

static void
expect_one(const char *subject, const char *body, enum command_verb verb,
	   const char *arg)
{
	struct command_list l;

	parse(subject, body, &l);
	if (l.n != 1 || l.cmd[0].verb != verb)
		fail_msg("body \"%s\": %zu commands, first %s, want %s", body,
			 l.n, l.n ? command_verb_name(l.cmd[0].verb) : "-",
			 command_verb_name(verb));
	if (arg)
		assert_string_equal(l.cmd[0].arg, arg);
	else
		assert_null(l.cmd[0].arg);
	command_list_release(&l);
}

static void
test_command_reply_summarize(void **state)
{
	struct command_list l;
	char *raw;

	(void)state;
	raw = mail("To: " BOT "\nIn-Reply-To: <patch-1@kernel.org>\n",
		   "Re: [PATCH v2 1/3] KVM: arm64: Fix the vgic",
		   "summarize\n");
	parse_raw(raw, &l);
	free(raw);
	assert_int_equal(l.n, 1);
	assert_int_equal(l.cmd[0].verb, COMMAND_SUMMARIZE);
	assert_null(l.cmd[0].arg);
	assert_int_equal(l.cmd[0].from_subject, 0);
	assert_int_equal(l.plus_verb, 0);
	command_list_release(&l);
}

/* Attribution, quote, greeting above; signature and quote below. */
static void
test_command_tolerant_reply(void **state)
{
	(void)state;
	expect_one("Re: [PATCH] KVM: arm64: x",
		   "On Mon, 15 Sep 2025, Bob <bob@example.org> wrote:\n"
		   "> subscribe zh\n"
		   "> Signed-off-by: Bob <bob@example.org>\n"
		   "\n"
		   "Hi bot,\n"
		   "\n"
		   "  Summarize.  \n"
		   "\n"
		   "-- \n"
		   "Alice\n"
		   "summarize <a@b>\n",
		   COMMAND_SUMMARIZE, NULL);
	/* the signature separator with its blank eaten by a client */
	expect_one("x", "SUMMARIZE\n--\nsubscribe zh\n",
		   COMMAND_SUMMARIZE, NULL);
	/* Outlook puts the quote below without '>' */
	expect_one("x", "help\n\n-----Original Message-----\nsubscribe zh\n",
		   COMMAND_HELP, NULL);
	/* bullets and case */
	expect_one("x", "* SUBSCRIBE ZH.\n", COMMAND_SUBSCRIBE, "zh");
	expect_one("x", "- Subscribe English\n", COMMAND_SUBSCRIBE, "en");
	expect_one("x", "你好，\n\nsubscribe 中文\n", COMMAND_SUBSCRIBE, "zh");
	expect_one("x", "Hello kvmarm-bot!\nsubscribe en\n",
		   COMMAND_SUBSCRIBE, "en");
	expect_one("x", "summarise\n", COMMAND_SUMMARIZE, NULL);
	/* what a new user writes */
	expect_one("x", "Please summarize this thread.\n", COMMAND_SUMMARIZE,
		   NULL);
	expect_one("x", "summarize this thread please\n", COMMAND_SUMMARIZE,
		   NULL);
	expect_one("x", "summarize this: <a.b@example.org>\n",
		   COMMAND_UNKNOWN, "summarize");
	expect_one("x", "summarize please <a.b@example.org>\n",
		   COMMAND_SUMMARIZE, "a.b@example.org");
	expect_one("x", "subscribe me to zh, please\n", COMMAND_UNKNOWN,
		   "subscribe");
	expect_one("x", "Please subscribe me\n", COMMAND_SUBSCRIBE, NULL);
	expect_one("x", "help?\n", COMMAND_HELP, NULL);
	/* a sentence that starts with a verb is no command */
	expect_one("x", "Help me understand this patch\n", COMMAND_UNKNOWN,
		   "Help");
	expect_one("x", "Fix the vgic init order first.\n", COMMAND_UNKNOWN,
		   "Fix");
}

static void
test_command_crlf(void **state)
{
	struct command_list l;
	const char *raw =
		"From: alice@example.org\r\n"
		"To: " BOT "\r\n"
		"Subject: hello\r\n"
		"\r\n"
		"> quoted\r\n"
		"subscribe zh.\r\n"
		"summarize <x.y@example.org>\r\n"
		"\r\n"
		"-- \r\n"
		"help\r\n";

	(void)state;
	parse_raw(raw, &l);
	assert_int_equal(l.n, 2);
	assert_int_equal(l.cmd[0].verb, COMMAND_SUBSCRIBE);
	assert_string_equal(l.cmd[0].arg, "zh");
	assert_int_equal(l.cmd[1].verb, COMMAND_SUMMARIZE);
	assert_string_equal(l.cmd[1].arg, "x.y@example.org");
	command_list_release(&l);
}

static void
test_command_summarize_id(void **state)
{
	(void)state;
	expect_one("x", "summarize <20250901.1234-1-dev@example.org>\n",
		   COMMAND_SUMMARIZE, "20250901.1234-1-dev@example.org");
	expect_one("x", "summarize 20250901.1234-1-dev@example.org\n",
		   COMMAND_SUMMARIZE, "20250901.1234-1-dev@example.org");
	expect_one("x", "Summarize <20250901.1234-1-dev@example.org>.\n",
		   COMMAND_SUMMARIZE, "20250901.1234-1-dev@example.org");
}

static void
test_command_summarize_lore(void **state)
{
	(void)state;
	expect_one("x",
		   "summarize https://lore.kernel.org/kvmarm/"
		   "20250901.1234-1-dev@example.org/\n",
		   COMMAND_SUMMARIZE, "20250901.1234-1-dev@example.org");
	expect_one("x",
		   "summarize https://lore.kernel.org/kvmarm/"
		   "20250901.1234-1-dev%40example.org/T/#u\n",
		   COMMAND_SUMMARIZE, "20250901.1234-1-dev@example.org");
	expect_one("x",
		   "summarize https://lore.kernel.org/r/"
		   "20250901.1234-1-dev@example.org\n",
		   COMMAND_SUMMARIZE, "20250901.1234-1-dev@example.org");
	expect_one("x", "summarize https://msgid.link/abc@def\n",
		   COMMAND_SUMMARIZE, "abc@def");
}

static void
test_command_bad_id(void **state)
{
	char *body;
	size_t n = COMMAND_MAX_ARG + 64;

	(void)state;
	expect_one("x", "summarize not-an-id\n", COMMAND_UNKNOWN, "summarize");
	expect_one("x", "summarize <yes>\n", COMMAND_UNKNOWN, "summarize");
	expect_one("x", "summarize https://lore.kernel.org/\n",
		   COMMAND_UNKNOWN, "summarize");
	expect_one("x", "summarize https://lore.kernel.org/kvmarm/\n",
		   COMMAND_UNKNOWN, "summarize");
	expect_one("x", "summarize <a@b> <c@d>\n", COMMAND_UNKNOWN,
		   "summarize");
	/* an id over COMMAND_MAX_ARG */
	body = malloc(n + 32);
	assert_non_null(body);
	strcpy(body, "summarize <");
	memset(body + 11, 'a', n);
	strcpy(body + 11 + n, "@example.org>\n");
	expect_one("x", body, COMMAND_UNKNOWN, "summarize");
	free(body);
}

static void
test_command_subject_only(void **state)
{
	struct command_list l;

	(void)state;
	parse("Re: [kvmarm-bot] subscribe zh", "", &l);
	assert_int_equal(l.n, 1);
	assert_int_equal(l.cmd[0].verb, COMMAND_SUBSCRIBE);
	assert_string_equal(l.cmd[0].arg, "zh");
	assert_int_equal(l.cmd[0].from_subject, 1);
	command_list_release(&l);
	/* a body of quotes and a greeting only: still the subject */
	parse("help", "Hi,\n> summarize\n\n", &l);
	assert_int_equal(l.n, 1);
	assert_int_equal(l.cmd[0].verb, COMMAND_HELP);
	assert_int_equal(l.cmd[0].from_subject, 1);
	command_list_release(&l);
	/* a blank mail holds no command */
	parse("", "\n\n", &l);
	assert_int_equal(l.n, 0);
	command_list_release(&l);
}

static void
test_command_plus_unsubscribe(void **state)
{
	struct command_list l;
	char *raw;

	(void)state;
	/* the List-Unsubscribe mailto of a digest */
	raw = mail("To: kvmarm-bot+unsubscribe@example.org\n", "unsubscribe",
		   "");
	parse_raw(raw, &l);
	free(raw);
	assert_int_equal(l.n, 1);
	assert_int_equal(l.plus_verb, 1);
	assert_int_equal(l.cmd[0].verb, COMMAND_UNSUBSCRIBE);
	assert_null(l.cmd[0].arg);
	command_list_release(&l);

	/* prose in the body does not hide the address's verb */
	raw = mail("To: KVMARM-BOT+Unsubscribe@example.org\n", "bye",
		   "Please take me off this list.\n");
	parse_raw(raw, &l);
	free(raw);
	assert_int_equal(l.n, 1);
	assert_int_equal(l.plus_verb, 1);
	assert_int_equal(l.cmd[0].verb, COMMAND_UNSUBSCRIBE);
	assert_null(l.cmd[0].arg);
	command_list_release(&l);

	/* the body still gives the arguments */
	raw = mail("Cc: kvmarm-bot+summarize@example.org\n", "x",
		   "<20250901.1234-1-dev@example.org>\n");
	parse_raw(raw, &l);
	free(raw);
	assert_int_equal(l.n, 1);
	assert_int_equal(l.cmd[0].verb, COMMAND_SUMMARIZE);
	assert_string_equal(l.cmd[0].arg, "20250901.1234-1-dev@example.org");
	command_list_release(&l);

	raw = mail("To: kvmarm-bot+unsubscribe@example.org\n", "x",
		   "unsubscribe unsub.lx2k3.abcdef0123456789abcdef01\n");
	parse_raw(raw, &l);
	free(raw);
	assert_int_equal(l.n, 1);
	assert_int_equal(l.cmd[0].verb, COMMAND_UNSUBSCRIBE);
	assert_string_equal(l.cmd[0].arg,
			    "unsub.lx2k3.abcdef0123456789abcdef01");
	command_list_release(&l);

	/* another bot's plus address gives nothing */
	raw = mail("To: other-bot+unsubscribe@example.org\n", "", "");
	parse_raw(raw, &l);
	free(raw);
	assert_int_equal(l.n, 0);
	assert_int_equal(l.plus_verb, 0);
	command_list_release(&l);
}

static void
test_command_subscribe(void **state)
{
	(void)state;
	expect_one("x", "subscribe zh\n", COMMAND_SUBSCRIBE, "zh");
	expect_one("x", "subscribe EN\n", COMMAND_SUBSCRIBE, "en");
	expect_one("x", "subscribe\n", COMMAND_SUBSCRIBE, NULL);
	expect_one("x", "subscribe klingon\n", COMMAND_UNKNOWN, "subscribe");
	expect_one("x", "unsubscribe\n", COMMAND_UNSUBSCRIBE, NULL);
	expect_one("x", "unsubscribe me please\n", COMMAND_UNSUBSCRIBE, NULL);
}

static void
test_command_confirm(void **state)
{
	(void)state;
	/* a token alone is a confirmation, in any case */
	expect_one("x", TOK "\n", COMMAND_CONFIRM, TOK);
	expect_one("x", "SUB-EN.LX2K3.ABCDEF0123456789ABCDEF01.\n",
		   COMMAND_CONFIRM, TOK);
	expect_one("x", "confirm " TOK "\n", COMMAND_CONFIRM, TOK);
	expect_one("Re: Confirm your subscription", "> " TOK "\n\n" TOK "\n",
		   COMMAND_CONFIRM, TOK);
	expect_one("x", "confirm\n", COMMAND_UNKNOWN, "confirm");
	expect_one("x", "confirm sub-en.lx2k3\n", COMMAND_UNKNOWN, "confirm");
}

static void
test_command_approve_reject(void **state)
{
	struct command_list l;

	(void)state;
	parse("Re: held digest", "approve 3 " MODTOK "\n", &l);
	assert_int_equal(l.n, 1);
	assert_int_equal(l.cmd[0].verb, COMMAND_APPROVE);
	assert_int_equal(l.cmd[0].id, 3);
	assert_string_equal(l.cmd[0].arg, MODTOK);
	assert_null(l.cmd[0].text);
	command_list_release(&l);

	parse("x", "Approve #3 " MODTOK ".\n", &l);
	assert_int_equal(l.cmd[0].verb, COMMAND_APPROVE);
	assert_int_equal(l.cmd[0].id, 3);
	command_list_release(&l);

	parse("x", "reject 3 " MODTOK " the summary of <2> is wrong.\n", &l);
	assert_int_equal(l.n, 1);
	assert_int_equal(l.cmd[0].verb, COMMAND_REJECT);
	assert_int_equal(l.cmd[0].id, 3);
	assert_string_equal(l.cmd[0].arg, MODTOK);
	assert_string_equal(l.cmd[0].text, "the summary of <2> is wrong.");
	command_list_release(&l);

	expect_one("x", "reject 3 " MODTOK "\n", COMMAND_REJECT, MODTOK);
	expect_one("x", "approve 3\n", COMMAND_UNKNOWN, "approve");
	expect_one("x", "approve x " MODTOK "\n", COMMAND_UNKNOWN, "approve");
	expect_one("x", "approve 0 " MODTOK "\n", COMMAND_UNKNOWN, "approve");
	expect_one("x", "approve 99999999999 " MODTOK "\n", COMMAND_UNKNOWN,
		   "approve");
	expect_one("x", "approve 3 " MODTOK " now\n", COMMAND_UNKNOWN,
		   "approve");
	expect_one("x", "approve 3 notatoken\n", COMMAND_UNKNOWN, "approve");
}

static void
test_command_items(void **state)
{
	struct command_list l;

	(void)state;
	parse("x", "drop <3>\nregenerate <2>\n", &l);
	assert_int_equal(l.n, 2);
	assert_int_equal(l.cmd[0].verb, COMMAND_DROP);
	assert_int_equal(l.cmd[0].item, 3);
	assert_int_equal(l.cmd[1].verb, COMMAND_REGENERATE);
	assert_int_equal(l.cmd[1].item, 2);
	command_list_release(&l);

	expect_one("x", "drop <0>\n", COMMAND_UNKNOWN, "drop");
	expect_one("x", "drop <10000>\n", COMMAND_UNKNOWN, "drop");
	expect_one("x", "drop <3> <4>\n", COMMAND_UNKNOWN, "drop");
	expect_one("x", "drop\n", COMMAND_UNKNOWN, "drop");
}

static void
test_command_fix(void **state)
{
	struct command_list l;
	char *body;

	(void)state;
	parse("x",
	      "drop <3>\n"
	      "fix <5>: The series moves the vgic init\n"
	      "  to the first vcpu run.\n"
	      "\n"
	      "regenerate <2>\n"
	      "Thanks,\n"
	      "Marc\n", &l);
	assert_int_equal(l.n, 3);
	assert_int_equal(l.cmd[0].verb, COMMAND_DROP);
	assert_int_equal(l.cmd[1].verb, COMMAND_FIX);
	assert_int_equal(l.cmd[1].item, 5);
	assert_string_equal(l.cmd[1].text,
			    "The series moves the vgic init to the first "
			    "vcpu run.");
	assert_int_equal(l.cmd[2].verb, COMMAND_REGENERATE);
	command_list_release(&l);

	/* the text may start on the next line; a quote ends it */
	parse("x", "fix <7>:\nnew text\n> old text\n", &l);
	assert_int_equal(l.n, 1);
	assert_int_equal(l.cmd[0].verb, COMMAND_FIX);
	assert_int_equal(l.cmd[0].item, 7);
	assert_string_equal(l.cmd[0].text, "new text");
	command_list_release(&l);

	expect_one("x", "fix <5>:\n\nlater\n", COMMAND_UNKNOWN, "fix");
	expect_one("x", "fix five: text\n", COMMAND_UNKNOWN, "fix");

	/* over COMMAND_MAX_TEXT */
	body = malloc(COMMAND_MAX_TEXT + 64);
	assert_non_null(body);
	strcpy(body, "fix <1>: ");
	memset(body + 9, 'x', COMMAND_MAX_TEXT);
	strcpy(body + 9 + COMMAND_MAX_TEXT, "\n");
	expect_one("x", body, COMMAND_UNKNOWN, "fix");
	free(body);
}

/* The help text mailed back without quoting gives no command. */
static void
test_command_help_quoted_back(void **state)
{
	static const char *const langs[] = { "en", "zh" };
	struct command_list l;

	(void)state;
	for (size_t i = 0; i < 2; i++) {
		char *help = command_help_text(BOT, langs[i]);
		char *body;

		assert_non_null(help);
		body = malloc(strlen(help) + 64);
		assert_non_null(body);
		strcpy(body, help);
		parse("", body, &l);
		assert_int_equal(l.n, 0);
		command_list_release(&l);
		/* a command above or below the pasted text is read */
		strcat(body, "\nsubscribe zh\n");
		parse("", body, &l);
		assert_int_equal(l.n, 1);
		assert_int_equal(l.cmd[0].verb, COMMAND_SUBSCRIBE);
		command_list_release(&l);
		free(body);
		free(help);
	}
	/* a command that equals a word of the help text is not skipped */
	expect_one("", "help\n", COMMAND_HELP, NULL);
}

static void
test_command_max_lines(void **state)
{
	struct command_list l;

	(void)state;
	parse("x",
	      "drop <1>\ndrop <2>\ndrop <3>\ndrop <4>\ndrop <5>\n"
	      "drop <6>\ndrop <7>\ndrop <8>\ndrop <9>\ndrop <10>\n", &l);
	assert_int_equal(l.n, COMMAND_MAX_LINES);
	assert_int_equal(l.cmd[COMMAND_MAX_LINES - 1].item, COMMAND_MAX_LINES);
	command_list_release(&l);
}

static void
test_command_unknown(void **state)
{
	struct command_list l;
	char body[512];

	(void)state;
	expect_one("Re: [PATCH] x", "Could you summarize this thread?\n",
		   COMMAND_UNKNOWN, "Could");
	/* prose after a command ends the reading */
	parse("x", "summarize\nthanks!\nsubscribe zh\n", &l);
	assert_int_equal(l.n, 1);
	command_list_release(&l);
	/* a bad argument after a good command is kept as UNKNOWN */
	parse("x", "subscribe zh\nsubscribe klingon\nhelp\n", &l);
	assert_int_equal(l.n, 3);
	assert_int_equal(l.cmd[1].verb, COMMAND_UNKNOWN);
	assert_string_equal(l.cmd[1].arg, "subscribe");
	assert_int_equal(l.cmd[2].verb, COMMAND_HELP);
	command_list_release(&l);
	/* the unknown word is cut at 64 bytes, on a character boundary */
	memset(body, 0, sizeof(body));
	for (size_t i = 0; i < 40; i++)
		memcpy(body + 3 * i, "好", 3);
	strcat(body, "\n");
	parse("x", body, &l);
	assert_int_equal(l.cmd[0].verb, COMMAND_UNKNOWN);
	assert_int_equal(strlen(l.cmd[0].arg), 63);
	command_list_release(&l);
}

static void
test_command_verb_names(void **state)
{
	(void)state;
	assert_string_equal(command_verb_name(COMMAND_SUMMARIZE), "summarize");
	assert_string_equal(command_verb_name(COMMAND_SUBSCRIBE), "subscribe");
	assert_string_equal(command_verb_name(COMMAND_UNSUBSCRIBE),
			    "unsubscribe");
	assert_string_equal(command_verb_name(COMMAND_CONFIRM), "confirm");
	assert_string_equal(command_verb_name(COMMAND_HELP), "help");
	assert_string_equal(command_verb_name(COMMAND_APPROVE), "approve");
	assert_string_equal(command_verb_name(COMMAND_REJECT), "reject");
	assert_string_equal(command_verb_name(COMMAND_DROP), "drop");
	assert_string_equal(command_verb_name(COMMAND_REGENERATE),
			    "regenerate");
	assert_string_equal(command_verb_name(COMMAND_FIX), "fix");
	assert_string_equal(command_verb_name(COMMAND_UNKNOWN), "unknown");
}

/* Display columns of one UTF-8 line: CJK and full-width count 2. */
static size_t
columns(const char *s, size_t n)
{
	size_t cols = 0;

	for (size_t i = 0; i < n;) {
		unsigned char c = (unsigned char)s[i];
		unsigned cp;
		size_t len;

		if (c < 0x80) {
			cp = c;
			len = 1;
		} else if ((c & 0xe0) == 0xc0) {
			cp = c & 0x1f;
			len = 2;
		} else if ((c & 0xf0) == 0xe0) {
			cp = c & 0x0f;
			len = 3;
		} else {
			cp = c & 0x07;
			len = 4;
		}
		assert_true(i + len <= n);
		for (size_t k = 1; k < len; k++) {
			assert_int_equal((unsigned char)s[i + k] & 0xc0, 0x80);
			cp = cp << 6 | ((unsigned char)s[i + k] & 0x3f);
		}
		cols += (cp >= 0x1100 && cp <= 0x115f) ||
			(cp >= 0x2e80 && cp <= 0xa4cf) ||
			(cp >= 0xac00 && cp <= 0xd7a3) ||
			(cp >= 0xf900 && cp <= 0xfaff) ||
			(cp >= 0xfe30 && cp <= 0xfe4f) ||
			(cp >= 0xff00 && cp <= 0xff60) ||
			(cp >= 0xffe0 && cp <= 0xffe6) ? 2 : 1;
		i += len;
	}
	return cols;
}

static void
test_command_help_text(void **state)
{
	static const char *const want_en[] = {
		"kvmarm-bot", "digest", BOT, "summarize ",
		"summarize <", "summarize https://lore.kernel.org/kvmarm/",
		"subscribe en|zh", "unsubscribe", "confirm TOKEN", "help",
		"only to you", "Reviewed-by", "trailer",
	};
	static const char *const want_zh[] = {
		"kvmarm-bot", "摘要", BOT, "summarize <",
		"summarize https://lore.kernel.org/kvmarm/", "subscribe en|zh",
		"unsubscribe", "confirm TOKEN", "help", "只发给你",
		"Reviewed-by",
	};
	char *en = command_help_text(BOT, "en");
	char *zh = command_help_text(BOT, "zh");
	char *dflt = command_help_text(BOT, NULL);

	(void)state;
	assert_non_null(en);
	assert_non_null(zh);
	assert_non_null(dflt);
	assert_string_equal(en, dflt);
	for (size_t i = 0; i < sizeof(want_en) / sizeof(want_en[0]); i++)
		if (!strstr(en, want_en[i]))
			fail_msg("en help lacks \"%s\"", want_en[i]);
	for (size_t i = 0; i < sizeof(want_zh) / sizeof(want_zh[0]); i++)
		if (!strstr(zh, want_zh[i]))
			fail_msg("zh help lacks \"%s\"", want_zh[i]);
	/* lines under 76 columns (valid UTF-8 checked on the way) */
	for (int k = 0; k < 2; k++) {
		const char *p = k ? zh : en;

		while (*p) {
			size_t n = strcspn(p, "\n");

			if (columns(p, n) >= 76)
				fail_msg("help line too wide: %.*s", (int)n, p);
			p += n + (p[n] == '\n');
		}
	}
	free(en);
	free(zh);
	free(dflt);
}

/* --- screening ------------------------------------------------------ */

static void
set(char **field, const char *v)
{
	free(*field);
	*field = strdup(v);
	assert_non_null(*field);
}

static void
cfg_base(struct config *cfg)
{
	assert_int_equal(config_init(cfg), 0);
	set(&cfg->bot_address, BOT);
	set(&cfg->moderators, " maz@kernel.org , Oliver.Upton@linux.dev");
	set(&cfg->list_name, "kvmarm");
	set(&cfg->list_address, "kvmarm@lists.linux.dev");
}

/* command_screen() of headers + body; NULL means "act on it". */
static const char *
screen_with(const struct config *cfg, const char *headers, const char *body)
{
	struct message m;
	const char *why;
	size_t n = strlen(headers) + strlen(body) + 256;
	char *raw = malloc(n);

	assert_non_null(raw);
	snprintf(raw, n, "%sSubject: help\nMessage-ID: <s@example.org>\n\n%s",
		 headers, body);
	assert_int_equal(message_parse(raw, strlen(raw), &m, NULL), 0);
	why = command_screen(cfg, &m, raw, strlen(raw));
	message_release(&m);
	free(raw);
	return why;
}

static const char *
screen(const char *headers)
{
	struct config cfg;
	const char *why;

	cfg_base(&cfg);
	why = screen_with(&cfg, headers, "help\n");
	config_release(&cfg);
	return why;
}

#define ALICE "From: alice@example.org\n"
#define TO_BOT "To: " BOT "\n"

static void
expect_screen(const char *headers, const char *want)
{
	const char *why = screen(headers);

	if (!want && why)
		fail_msg("refused (%s):\n%s", why, headers);
	if (want && (!why || strcmp(why, want)))
		fail_msg("want \"%s\", got \"%s\":\n%s", want,
			 why ? why : "(act)", headers);
}

static void
test_command_screen_addressing(void **state)
{
	struct config cfg;

	(void)state;
	expect_screen(ALICE TO_BOT, NULL);
	expect_screen(ALICE "To: kvmarm@lists.linux.dev\nCc: " BOT "\n", NULL);
	expect_screen(ALICE "To: KVMARM-BOT+summarize@example.org\n", NULL);
	expect_screen(ALICE "To: kvmarm@lists.linux.dev\n",
		      "not addressed to the bot");
	expect_screen(ALICE "To: kvmarm-botx@example.org\n",
		      "not addressed to the bot");
	expect_screen(ALICE "To: kvmarm-bot@example.com\n",
		      "not addressed to the bot");
	expect_screen(TO_BOT, "no sender");
	expect_screen("From: " BOT "\n" TO_BOT, "from the bot itself");
	expect_screen("From: Bot <kvmarm-bot+digest@EXAMPLE.org>\n" TO_BOT,
		      "from the bot itself");

	cfg_base(&cfg);
	set(&cfg.bot_address, "");
	assert_string_equal(screen_with(&cfg, ALICE TO_BOT, "help\n"),
			    "no bot_address configured");
	config_release(&cfg);
}

static void
test_command_screen_bounces(void **state)
{
	(void)state;
	expect_screen("From: MAILER-DAEMON@mx.example.org\n" TO_BOT,
		      "a bounce");
	expect_screen("From: Mail Delivery <Postmaster@example.org>\n" TO_BOT,
		      "a bounce");
	expect_screen("Return-Path: <>\n" ALICE TO_BOT, "a bounce");
	expect_screen("Return-Path:\n <  >\n" ALICE TO_BOT, "a bounce");
	expect_screen("Return-Path: <alice@example.org>\n" ALICE TO_BOT, NULL);
	expect_screen(ALICE TO_BOT "MIME-Version: 1.0\n"
		      "Content-Type: multipart/report;\n"
		      "\treport-type=delivery-status; boundary=\"b\"\n",
		      "a bounce");
	expect_screen(ALICE TO_BOT "Content-Type: Multipart/Report; "
		      "report-type=disposition-notification; boundary=b\n",
		      "a bounce");
	expect_screen(ALICE TO_BOT "Content-Type: text/plain\n", NULL);
}

static void
test_command_screen_auto(void **state)
{
	(void)state;
	expect_screen(ALICE TO_BOT "Auto-Submitted: auto-replied\n",
		      "auto-submitted");
	expect_screen(ALICE TO_BOT "Auto-Submitted: auto-generated; x=y\n",
		      "auto-submitted");
	expect_screen(ALICE TO_BOT "Auto-Submitted: no\n", NULL);
	expect_screen(ALICE TO_BOT "Auto-Submitted: No (a person wrote it)\n",
		      NULL);
	/* the record keeps the first field; a second one still counts */
	expect_screen(ALICE TO_BOT "Auto-Submitted: no\n"
		      "Auto-Submitted: auto-replied\n", "auto-submitted");
}

static void
test_command_screen_x_loop(void **state)
{
	(void)state;
	expect_screen(ALICE TO_BOT "X-Loop: " BOT "\n",
		      "X-Loop names the bot");
	/* the second X-Loop field names the bot, in another case */
	expect_screen(ALICE TO_BOT "X-Loop: other-bot@example.net\n"
		      "X-Loop: <KVMARM-BOT@example.org>\n",
		      "X-Loop names the bot");
	expect_screen(ALICE TO_BOT "X-Loop: other-bot@example.net\n", NULL);
	/* a longer address that contains the bot's is not the bot */
	expect_screen(ALICE TO_BOT "X-Loop: my-kvmarm-bot@example.org\n",
		      NULL);
}

static void
test_command_screen_precedence(void **state)
{
	(void)state;
	expect_screen(ALICE TO_BOT "Precedence: bulk\n", "bulk mail");
	expect_screen(ALICE TO_BOT "Precedence: JUNK\n", "bulk mail");
	expect_screen(ALICE TO_BOT "Precedence: list\n", "bulk mail");
	/* a moderator's mail through the list still counts */
	expect_screen("From: Marc Zyngier <maz@kernel.org>\n" TO_BOT
		      "Precedence: bulk\n", NULL);
	expect_screen("From: oliver.upton@linux.dev\n" TO_BOT
		      "Precedence: list\n", NULL);
	expect_screen(ALICE TO_BOT "Precedence: first-class\n", NULL);
}

static void
test_command_screen_size(void **state)
{
	struct config cfg;
	size_t n = COMMAND_MAX_MAIL + 10;
	char *body = malloc(n + 1);

	(void)state;
	assert_non_null(body);
	for (size_t i = 0; i < n; i++)
		body[i] = i % 70 == 69 ? '\n' : 'x';
	body[n] = '\0';
	memcpy(body, "help\n", 5);
	cfg_base(&cfg);
	assert_string_equal(screen_with(&cfg, ALICE TO_BOT, body),
			    "mail too large");
	body[COMMAND_MAX_MAIL - 1000] = '\0';
	assert_null(screen_with(&cfg, ALICE TO_BOT, body));
	config_release(&cfg);
	free(body);
}

static void
test_command_addresses(void **state)
{
	struct config cfg;

	(void)state;
	assert_true(command_is_bot_address(BOT, BOT));
	assert_true(command_is_bot_address("KVMARM-BOT@Example.ORG", BOT));
	assert_true(command_is_bot_address("kvmarm-bot+x@example.org", BOT));
	assert_false(command_is_bot_address("kvmarm-bot+@example.org", BOT));
	assert_false(command_is_bot_address("kvmarm-botx@example.org", BOT));
	assert_false(command_is_bot_address("kvmarm-bot@example.com", BOT));
	assert_false(command_is_bot_address("xkvmarm-bot@example.org", BOT));
	assert_false(command_is_bot_address("", BOT));
	assert_false(command_is_bot_address(BOT, ""));
	assert_false(command_is_bot_address(NULL, BOT));

	cfg_base(&cfg);
	assert_true(command_is_moderator(&cfg, "maz@kernel.org"));
	assert_true(command_is_moderator(&cfg, "oliver.upton@linux.dev"));
	assert_false(command_is_moderator(&cfg, "alice@example.org"));
	assert_false(command_is_moderator(&cfg, "maz@kernel.org.evil"));
	assert_false(command_is_moderator(&cfg, ""));
	set(&cfg.moderators, "<maz@kernel.org>");
	assert_true(command_is_moderator(&cfg, "MAZ@kernel.org"));
	set(&cfg.moderators, "");
	assert_false(command_is_moderator(&cfg, "maz@kernel.org"));
	config_release(&cfg);
}

static int
via_list(const struct config *cfg, const char *headers)
{
	struct message m;
	char raw[1024];
	int r;

	snprintf(raw, sizeof(raw), ALICE "%sSubject: x\n\nhelp\n", headers);
	assert_int_equal(message_parse(raw, strlen(raw), &m, NULL), 0);
	r = command_via_list(cfg, &m);
	message_release(&m);
	return r;
}

static void
test_command_via_list(void **state)
{
	struct config cfg;

	(void)state;
	cfg_base(&cfg);
	assert_int_equal(via_list(&cfg, TO_BOT
				  "List-Id: <kvmarm.lists.linux.dev>\n"), 1);
	assert_int_equal(via_list(&cfg, TO_BOT "List-Id: KVM/arm64 "
				  "<KVMARM.lists.linux.dev>\n"), 1);
	assert_int_equal(via_list(&cfg, TO_BOT "List-Id: "
				  "<kvmarmx.lists.linux.dev>\n"), 0);
	assert_int_equal(via_list(&cfg, TO_BOT "List-Id: "
				  "<linux-kernel.vger.kernel.org>\n"), 0);
	assert_int_equal(via_list(&cfg, TO_BOT "Cc: Kvmarm@Lists.Linux.Dev\n"),
			 1);
	assert_int_equal(via_list(&cfg, "To: kvmarm@lists.linux.dev\n"), 1);
	assert_int_equal(via_list(&cfg, TO_BOT), 0);
	set(&cfg.list_address, "");
	assert_int_equal(via_list(&cfg, TO_BOT "Cc: kvmarm@lists.linux.dev\n"),
			 0);
	config_release(&cfg);
}

TEST_LIST(command,
	cmocka_unit_test(test_command_reply_summarize),
	cmocka_unit_test(test_command_tolerant_reply),
	cmocka_unit_test(test_command_crlf),
	cmocka_unit_test(test_command_summarize_id),
	cmocka_unit_test(test_command_summarize_lore),
	cmocka_unit_test(test_command_bad_id),
	cmocka_unit_test(test_command_subject_only),
	cmocka_unit_test(test_command_plus_unsubscribe),
	cmocka_unit_test(test_command_subscribe),
	cmocka_unit_test(test_command_confirm),
	cmocka_unit_test(test_command_approve_reject),
	cmocka_unit_test(test_command_items),
	cmocka_unit_test(test_command_fix),
	cmocka_unit_test(test_command_help_quoted_back),
	cmocka_unit_test(test_command_max_lines),
	cmocka_unit_test(test_command_unknown),
	cmocka_unit_test(test_command_verb_names),
	cmocka_unit_test(test_command_help_text),
	cmocka_unit_test(test_command_screen_addressing),
	cmocka_unit_test(test_command_screen_bounces),
	cmocka_unit_test(test_command_screen_auto),
	cmocka_unit_test(test_command_screen_x_loop),
	cmocka_unit_test(test_command_screen_precedence),
	cmocka_unit_test(test_command_screen_size),
	cmocka_unit_test(test_command_addresses),
	cmocka_unit_test(test_command_via_list),
);
