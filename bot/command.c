/*
 * command.c - read what a mail to the bot asks for, and decide whether
 * the bot may answer it at all (see command.h).
 *
 * This is the "speak" stage's ear.  It works on the parsed record and
 * the raw header block only, touches no store and no network, so the
 * fuzzer runs it on bytes.  Everything in a mail is hostile: lines are
 * read with explicit lengths, every argument has a cap, and at most
 * COMMAND_MAX_LINES commands are taken from one mail.  The screening
 * rules follow syzbot's mail interface: a bot that answers on a kernel
 * list must never answer a bounce, an auto-reply or itself.
 */
#include <ctype.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "buf.h"
#include "command.h"
#include "config.h"
#include "log.h"
#include "lore.h"
#include "message.h"
#include "token.h"

#define UNKNOWN_WORD_MAX 64	/* command.arg of COMMAND_UNKNOWN */
#define SCAN_LINES_MAX 20000	/* body lines looked at, quoted included */
#define GREETING_MAX 80		/* a longer line is no greeting */
#define HELP_LINES_MAX 128
#define ITEM_MAX 9999		/* <N> of a digest item */
#define HEADER_SCAN_MAX (256u * 1024)	/* raw header block looked at */
#define HEADER_VALUE_MAX 4096	/* unfolded field value kept */
#define HEADER_FIELDS_MAX 2000

/* --- spans --------------------------------------------------------- */

struct span {
	const char *s;
	size_t n;
};

static int
is_blank(int c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v';
}

/* Strip blanks (and UTF-8 no-break spaces) at both ends. */
static struct span
trim(struct span l)
{
	for (;;) {
		if (l.n && is_blank((unsigned char)*l.s)) {
			l.s++;
			l.n--;
		} else if (l.n >= 2 && (unsigned char)l.s[0] == 0xc2 &&
			   (unsigned char)l.s[1] == 0xa0) {
			l.s += 2;
			l.n -= 2;
		} else {
			break;
		}
	}
	for (;;) {
		if (l.n && is_blank((unsigned char)l.s[l.n - 1])) {
			l.n--;
		} else if (l.n >= 2 && (unsigned char)l.s[l.n - 2] == 0xc2 &&
			   (unsigned char)l.s[l.n - 1] == 0xa0) {
			l.n -= 2;
		} else {
			break;
		}
	}
	return l;
}

static int
span_is(struct span l, const char *lit)
{
	size_t n = strlen(lit);

	return l.n == n && strncasecmp(l.s, lit, n) == 0;
}

/* Split off the first blank-separated word of l (already trimmed). */
static struct span
first_word(struct span l, struct span *rest)
{
	struct span w = { l.s, 0 };

	while (w.n < l.n && !is_blank((unsigned char)l.s[w.n]))
		w.n++;
	if (rest) {
		rest->s = l.s + w.n;
		rest->n = l.n - w.n;
		*rest = trim(*rest);
	}
	return w;
}

static struct span
strip_trailing(struct span l, const char *chars)
{
	while (l.n && l.s[l.n - 1] && strchr(chars, l.s[l.n - 1]))
		l.n--;
	return l;
}

/* --- reading lines ------------------------------------------------- */

struct reader {
	const char *p, *end;
	unsigned lines;		/* lines handed out (SCAN_LINES_MAX) */
};

/* The next line without its LF (a CR stays: trim() removes it). */
static int
next_line(struct reader *r, struct span *line)
{
	const char *nl;

	if (!r || r->p >= r->end || r->lines >= SCAN_LINES_MAX)
		return 0;
	nl = memchr(r->p, '\n', (size_t)(r->end - r->p));
	line->s = r->p;
	line->n = (size_t)((nl ? nl : r->end) - r->p);
	r->p = nl ? nl + 1 : r->end;
	r->lines++;
	return 1;
}

static int
is_quoted(struct span l)
{
	l = trim(l);
	return l.n && l.s[0] == '>';
}

/*
 * The end of the author's text: the signature separator ("-- ", also
 * with the blank eaten), or the start of an Outlook-style quote.
 */
static int
is_end_marker(struct span raw)
{
	struct span l = trim(raw);
	size_t i;

	if (span_is(l, "--"))
		return 1;
	if (l.n >= 5 && l.s[0] == '-' && l.s[1] == '-' && l.s[2] == '-') {
		struct span m = strip_trailing(l, "-");

		while (m.n && m.s[0] == '-') {
			m.s++;
			m.n--;
		}
		m = trim(m);
		if (span_is(m, "original message"))
			return 1;
	}
	if (l.n >= 10) {
		for (i = 0; i < l.n && l.s[i] == '_'; i++)
			;
		if (i == l.n)
			return 1;
	}
	return 0;
}

/* "On Mon, 1 Sep 2025, Alice wrote:" above a quote. */
static int
is_attribution(struct span l)
{
	static const char *const ends[] = { "wrote:", "writes:", "写道：",
					    "写道:" };

	l = trim(l);
	for (size_t i = 0; i < sizeof(ends) / sizeof(ends[0]); i++) {
		size_t n = strlen(ends[i]);

		if (l.n >= n && !strncasecmp(l.s + l.n - n, ends[i], n))
			return 1;
	}
	return 0;
}

/* "Hi bot,", "Hello kvmarm-bot!", "Dear bot", "你好" as a first line. */
static int
is_greeting(struct span l)
{
	static const char *const words[] = { "hi", "hello", "hey", "dear",
					     "greetings", "你好", "您好" };
	struct span w;

	l = trim(l);
	if (!l.n || l.n > GREETING_MAX)
		return 0;
	w = strip_trailing(first_word(l, NULL), ",.!:;");
	for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++) {
		size_t n = strlen(words[i]);

		if (span_is(w, words[i]))
			return 1;
		/* "你好，" and "Hi--" glued to the punctuation */
		if (w.n > n && !strncasecmp(w.s, words[i], n) &&
		    ((unsigned char)w.s[n] >= 0x80 ||
		     ispunct((unsigned char)w.s[n])))
			return 1;
	}
	return 0;
}

/* --- the help text, also for skipping it when quoted back ---------- */

static const char help_en[] =
	"kvmarm-bot - the mail bot of the kvmarm list (KVM on arm64)\n"
	"\n"
	"kvmarm-bot reads the kvmarm mailing list and mails a weekly\n"
	"digest of its threads.  It also answers a few commands by mail,\n"
	"one per line at the top of the body (or as the subject), sent to\n"
	"\n"
	"    %s\n"
	"\n"
	"Quoted text and your signature below the commands are ignored;\n"
	"case does not matter.\n"
	"\n"
	"Commands:\n"
	"  summarize               (as a reply in a thread) summarize it\n"
	"  summarize <MESSAGE-ID>  summarize the thread of that mail\n"
	"  summarize LORE-URL      the same, with a lore.kernel.org link\n"
	"  subscribe en|zh         the weekly digest in English or Chinese\n"
	"  unsubscribe             stop the weekly digest\n"
	"  confirm TOKEN           confirm (or just reply to the bot's mail)\n"
	"  help                    this text\n"
	"\n"
	"Examples, each alone on a line:\n"
	"  summarize               (in your reply to a mail of the thread)\n"
	"  summarize <20250901.1234-1-dev@example.org>   (in a new mail)\n"
	"  summarize https://lore.kernel.org/kvmarm/ID/  (ID: a Message-ID)\n"
	"  subscribe zh            (the digest in Chinese)\n"
	"\n"
	"Answers go only to you, the sender, not to the list, unless the\n"
	"list's moderators chose otherwise.  The bot repeats what the\n"
	"mails say: it does not review patches, and it never writes\n"
	"Reviewed-by, Acked-by, Tested-by or any other trailer.\n";

static const char help_zh[] =
	"kvmarm-bot - kvmarm 邮件列表（arm64 上的 KVM）的邮件机器人\n"
	"\n"
	"kvmarm-bot 阅读 kvmarm 邮件列表，每周发送一份讨论摘要，\n"
	"也通过邮件回答几条命令：请写信给\n"
	"%s，\n"
	"在正文开头每行写一条命令（也可以写在主题里）。\n"
	"命令下面引用的内容和签名会被忽略，大小写均可。\n"
	"\n"
	"命令：\n"
	"  summarize               （在讨论串中回复时）总结该讨论串\n"
	"  summarize <MESSAGE-ID>  总结该邮件所在的讨论串\n"
	"  summarize LORE-URL      同上，使用 lore.kernel.org 链接\n"
	"  subscribe en|zh         订阅每周摘要（英文或中文）\n"
	"  unsubscribe             退订每周摘要\n"
	"  confirm TOKEN           确认（直接回复机器人的邮件也可以）\n"
	"  help                    显示本说明\n"
	"\n"
	"示例（每条单独一行）：\n"
	"  summarize               （回复讨论串中的某封邮件时）\n"
	"  summarize <20250901.1234-1-dev@example.org>   （新邮件）\n"
	"  summarize https://lore.kernel.org/kvmarm/ID/  （ID 即 Message-ID）\n"
	"  subscribe zh            （中文摘要）\n"
	"\n"
	"回答只发给你（发件人）本人，不发到邮件列表，除非列表的\n"
	"管理员另有设置。机器人只转述邮件的内容：它不评审补丁，\n"
	"也从不写 Reviewed-by、Acked-by、Tested-by 或任何其他标签。\n";

char *
command_help_text(const char *bot_address, const char *lang)
{
	const char *addr = bot_address;
	struct buf b;

	/* the address is the operator's; cap it so the text stays sane */
	if (!addr || !*addr || strnlen(addr, 257) > 256)
		addr = "the bot's address";
	buf_init(&b, 64 * 1024);
	if (buf_addf(&b, lang && !strcasecmp(lang, "zh") ? help_zh : help_en,
		     addr) < 0) {
		buf_release(&b);
		return NULL;
	}
	return buf_detach(&b, NULL);
}

struct helpset {
	char *text[2];
	struct span line[HELP_LINES_MAX];
	size_t n;
};

static int
helpset_init(struct helpset *h, const char *bot_address)
{
	memset(h, 0, sizeof(*h));
	h->text[0] = command_help_text(bot_address, "en");
	h->text[1] = command_help_text(bot_address, "zh");
	if (!h->text[0] || !h->text[1])
		return -1;
	for (int i = 0; i < 2; i++) {
		struct reader r = { h->text[i], h->text[i] + strlen(h->text[i]),
				    0 };
		struct span l;

		while (next_line(&r, &l) && h->n < HELP_LINES_MAX) {
			l = trim(l);
			if (l.n)
				h->line[h->n++] = l;
		}
	}
	return 0;
}

static void
helpset_release(struct helpset *h)
{
	free(h->text[0]);
	free(h->text[1]);
	memset(h, 0, sizeof(*h));
}

static int
is_help_line(const struct helpset *h, struct span l)
{
	l = trim(l);
	for (size_t i = 0; i < h->n; i++)
		if (h->line[i].n == l.n && !memcmp(h->line[i].s, l.s, l.n))
			return 1;
	return 0;
}

/* --- verbs and arguments ------------------------------------------- */

static const struct {
	const char *name;
	enum command_verb verb;
} verbs[] = {
	{ "summarize", COMMAND_SUMMARIZE },
	{ "summarise", COMMAND_SUMMARIZE },
	{ "subscribe", COMMAND_SUBSCRIBE },
	{ "unsubscribe", COMMAND_UNSUBSCRIBE },
	{ "confirm", COMMAND_CONFIRM },
	{ "help", COMMAND_HELP },
	{ "approve", COMMAND_APPROVE },
	{ "reject", COMMAND_REJECT },
	{ "drop", COMMAND_DROP },
	{ "regenerate", COMMAND_REGENERATE },
	{ "fix", COMMAND_FIX },
};

const char *
command_verb_name(enum command_verb verb)
{
	switch (verb) {
	case COMMAND_SUMMARIZE:		return "summarize";
	case COMMAND_SUBSCRIBE:		return "subscribe";
	case COMMAND_UNSUBSCRIBE:	return "unsubscribe";
	case COMMAND_CONFIRM:		return "confirm";
	case COMMAND_HELP:		return "help";
	case COMMAND_APPROVE:		return "approve";
	case COMMAND_REJECT:		return "reject";
	case COMMAND_DROP:		return "drop";
	case COMMAND_REGENERATE:	return "regenerate";
	case COMMAND_FIX:		return "fix";
	case COMMAND_UNKNOWN:		return "unknown";
	}
	return "unknown";
}

static int
find_verb(struct span w, enum command_verb *verb)
{
	for (size_t i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++)
		if (span_is(w, verbs[i].name)) {
			*verb = verbs[i].verb;
			return 1;
		}
	return 0;
}

/*
 * Words a new user adds around a verb ("summarize this thread please",
 * "subscribe me"), dropped from the front of the arguments of the verbs
 * that take at most one word.
 */
static struct span
drop_fillers(struct span args)
{
	static const char *const fillers[] = { "please", "this", "the",
					       "thread", "me", "to" };
	struct span w, rest;

	for (;;) {
		size_t i;

		w = strip_trailing(first_word(args, &rest), ",.!?");
		for (i = 0; i < sizeof(fillers) / sizeof(fillers[0]); i++)
			if (span_is(w, fillers[i]))
				break;
		if (!w.n || i == sizeof(fillers) / sizeof(fillers[0]))
			return args;
		args = rest;
	}
}

/* A lowercased token copied into out (TOKEN_MAX), when w is shaped so. */
static int
token_word(struct span w, char *out)
{
	char purpose[TOKEN_PURPOSE_MAX + 1];

	if (w.n == 0 || w.n >= TOKEN_MAX)
		return 0;
	for (size_t i = 0; i < w.n; i++)
		out[i] = (char)tolower((unsigned char)w.s[i]);
	out[w.n] = '\0';
	return token_purpose(out, purpose, sizeof(purpose)) == 0;
}

/* Decimal lo..hi, optionally after '#' (allow_hash) or inside <>. */
static int
number_word(struct span w, unsigned lo, unsigned hi, unsigned *out)
{
	unsigned long v = 0;
	size_t i;

	if (w.n >= 2 && w.s[0] == '<' && w.s[w.n - 1] == '>') {
		w.s++;
		w.n -= 2;
	} else if (w.n && w.s[0] == '#') {
		w.s++;
		w.n--;
	}
	if (w.n == 0 || w.n > 10)
		return 0;
	for (i = 0; i < w.n; i++) {
		if (!isdigit((unsigned char)w.s[i]))
			return 0;
		v = v * 10 + (unsigned long)(w.s[i] - '0');
		if (v > hi)
			return 0;
	}
	if (v < lo || v > hi)
		return 0;
	*out = (unsigned)v;
	return 1;
}

/* The normalised Message-ID of "<id>", "id" or a lore URL; NULL if none. */
static char *
id_of_word(struct span w, int *nomem)
{
	struct span id = w;
	char *url = NULL, *dec, *res;
	size_t n = 0;

	if (w.n > COMMAND_MAX_ARG)
		return NULL;
	if ((w.n > 8 && !strncasecmp(w.s, "https://", 8)) ||
	    (w.n > 7 && !strncasecmp(w.s, "http://", 7))) {
		/* lore_url_id_span() wants a string; id then points in it */
		const char *a, *b;

		url = strndup(w.s, w.n);
		if (!url) {
			*nomem = 1;
			return NULL;
		}
		if (lore_url_id_span(url, &a, &b) < 0) {
			free(url);
			return NULL;
		}
		id.s = a;
		id.n = (size_t)(b - a);
	}
	dec = malloc(id.n + 3);
	if (!dec) {
		free(url);
		*nomem = 1;
		return NULL;
	}
	dec[n++] = '<';
	for (size_t i = 0; i < id.n; i++) {
		const char *s = id.s + i;

		if (*s == '%' && id.n - i >= 3 && lore_hexval(s[1]) >= 0 &&
		    lore_hexval(s[2]) >= 0) {
			dec[n++] = (char)(lore_hexval(s[1]) << 4 |
					  lore_hexval(s[2]));
			i += 2;
		} else if (*s != '<' && *s != '>') {
			dec[n++] = *s;
		}
	}
	dec[n++] = '>';
	dec[n] = '\0';
	free(url);
	/* a %00 would end the string early: then the id is just shorter */
	res = message_id_normalise(dec);
	free(dec);
	return res;
}

static void
command_clear(struct command *c)
{
	free(c->arg);
	free(c->text);
	memset(c, 0, sizeof(*c));
}

/* COMMAND_UNKNOWN naming word w (cut at a UTF-8 boundary). */
static int
set_unknown(struct command *c, struct span w)
{
	command_clear(c);
	c->verb = COMMAND_UNKNOWN;
	if (w.n > UNKNOWN_WORD_MAX) {
		w.n = UNKNOWN_WORD_MAX;
		while (w.n && ((unsigned char)w.s[w.n] & 0xc0) == 0x80)
			w.n--;
	}
	c->arg = strndup(w.s, w.n);
	return c->arg ? 0 : -1;
}

struct parser {
	const struct helpset *help;
	int nomem;
};

/*
 * The text of "fix <N>: TEXT": the rest of the line and the following
 * lines up to a blank, quoted or signature line, joined with blanks.
 * Returns the malloc'd text, or NULL (empty, too long, out of memory).
 */
static char *
fix_text(struct parser *ps, struct span first, struct reader *r)
{
	struct buf b;
	struct span l = first;
	int more = 1;

	buf_init(&b, COMMAND_MAX_TEXT + 1);
	while (more) {
		if (l.n) {
			/* over the cap is an invalid command, not nomem */
			if (b.len + 1 + l.n > COMMAND_MAX_TEXT)
				goto fail;
			if ((b.len && buf_addc(&b, ' ') < 0) ||
			    buf_add(&b, l.s, l.n) < 0) {
				ps->nomem = 1;
				goto fail;
			}
		}
		more = 0;
		if (r) {
			struct reader save = *r;

			if (next_line(r, &l) && trim(l).n && !is_quoted(l) &&
			    !is_end_marker(l)) {
				l = trim(l);
				more = 1;
			} else {
				*r = save;
			}
		}
	}
	if (!b.len)
		goto fail;
	return buf_detach(&b, NULL);
fail:
	buf_release(&b);
	return NULL;
}

/*
 * Read one candidate line into *c.  Returns 1 when it names a verb
 * (c may still be COMMAND_UNKNOWN for a bad argument), 0 when it is no
 * command (c is COMMAND_UNKNOWN with its first word), -1 out of memory.
 * r, when not NULL, gives the following lines to "fix".
 */
static int
parse_line(struct parser *ps, struct span line, struct reader *r,
	   struct command *c)
{
	struct span w, verbword, rest, args, a1, a2, more;
	enum command_verb verb;
	char tok[TOKEN_MAX];
	int nomem = 0;

	memset(c, 0, sizeof(*c));
	line = trim(line);
	/* bullets */
	if (line.n >= 2 && (line.s[0] == '-' || line.s[0] == '*') &&
	    is_blank((unsigned char)line.s[1])) {
		line.s++;
		line.n--;
		line = trim(line);
	}
	verbword = first_word(line, &rest);
	w = strip_trailing(verbword, ".,:;!?");
	/* "Please summarize this thread." */
	if (span_is(w, "please") && rest.n) {
		line = rest;
		verbword = first_word(line, &rest);
		w = strip_trailing(verbword, ".,:;!?");
	}

	/* a token alone is "confirm TOKEN" */
	if (!rest.n && token_word(w, tok)) {
		c->verb = COMMAND_CONFIRM;
		c->arg = strdup(tok);
		return c->arg ? 1 : -1;
	}
	if (!find_verb(w, &verb))
		return set_unknown(c, verbword) < 0 ? -1 : 0;
	c->verb = verb;
	/* structured arguments end at a trailing '.'; free text keeps it */
	args = verb == COMMAND_REJECT || verb == COMMAND_FIX ?
		rest : trim(strip_trailing(rest, ".?!"));
	if (verb == COMMAND_SUMMARIZE || verb == COMMAND_SUBSCRIBE ||
	    verb == COMMAND_HELP)
		args = drop_fillers(args);
	a1 = first_word(args, &more);
	a2 = first_word(more, &more);

	switch (verb) {
	case COMMAND_SUMMARIZE:
		if (!a1.n)
			return 1;
		if (a2.n)
			break;
		c->arg = id_of_word(a1, &nomem);
		if (c->arg)
			return 1;
		break;
	case COMMAND_SUBSCRIBE:
		if (!a1.n)
			return 1;
		if (a2.n)
			break;
		if (span_is(a1, "en") || span_is(a1, "english") ||
		    span_is(a1, "英文"))
			c->arg = strdup("en");
		else if (span_is(a1, "zh") || span_is(a1, "chinese") ||
			 span_is(a1, "中文"))
			c->arg = strdup("zh");
		else
			break;
		return c->arg ? 1 : -1;
	case COMMAND_UNSUBSCRIBE:
		/* "unsubscribe me, please" still unsubscribes: a token
		 * among the words is taken, other words are ignored */
		for (w = first_word(args, &more); w.n;
		     w = first_word(more, &more)) {
			if (w.n > COMMAND_MAX_ARG)
				goto invalid;
			if (token_word(w, tok)) {
				c->arg = strdup(tok);
				return c->arg ? 1 : -1;
			}
		}
		return 1;
	case COMMAND_CONFIRM:
		if (a2.n || !token_word(a1, tok))
			break;
		c->arg = strdup(tok);
		return c->arg ? 1 : -1;
	case COMMAND_HELP:
		if (a1.n)
			break;
		return 1;
	case COMMAND_APPROVE:
	case COMMAND_REJECT:
		if (!number_word(strip_trailing(a1, ":,"), 1, UINT32_MAX,
				 &c->id))
			break;
		a2 = strip_trailing(a2, ".,:;");
		if (!token_word(a2, tok))
			break;
		if (verb == COMMAND_APPROVE && more.n)
			break;
		c->arg = strdup(tok);
		if (!c->arg)
			return -1;
		if (verb == COMMAND_REJECT && more.n) {
			if (more.n > COMMAND_MAX_ARG)
				break;
			c->text = strndup(more.s, more.n);
			if (!c->text)
				return -1;
		}
		return 1;
	case COMMAND_DROP:
	case COMMAND_REGENERATE:
		if (a2.n || !number_word(a1, 1, ITEM_MAX, &c->item))
			break;
		return 1;
	case COMMAND_FIX: {
		/* "<N>: TEXT", "<N> TEXT", "<N>:" with TEXT below */
		struct span num = a1, text;
		const char *colon = memchr(a1.s, ':', a1.n);

		if (colon)
			num.n = (size_t)(colon - a1.s);
		if (!number_word(num, 1, ITEM_MAX, &c->item))
			break;
		text.s = a1.s + num.n;
		text.n = args.n - num.n;
		if (text.n && text.s[0] == ':') {
			text.s++;
			text.n--;
		}
		text = trim(text);
		c->text = fix_text(ps, text, r);
		if (c->text)
			return 1;
		if (ps->nomem)
			return -1;
		break;
	}
	case COMMAND_UNKNOWN:
		break;
	}
	if (nomem)
		return -1;
invalid:
	return set_unknown(c, verbword) < 0 ? -1 : 1;
}

/* --- command_parse -------------------------------------------------- */

static void
release_from(struct command_list *list, size_t from)
{
	for (size_t i = from; i < list->n; i++)
		command_clear(&list->cmd[i]);
}

void
command_list_release(struct command_list *list)
{
	if (!list)
		return;
	release_from(list, 0);
	memset(list, 0, sizeof(*list));
}

/*
 * The commands of the body.  *first is the line of the first one (for
 * a +suffix verb that needs its arguments).  Returns 0 or -1 (nomem).
 */
static int
parse_body(struct parser *ps, const char *body, struct command_list *out,
	   struct span *first)
{
	struct reader r = { body, body + strlen(body), 0 };
	struct span l;
	int got;

	while (out->n < COMMAND_MAX_LINES && next_line(&r, &l)) {
		struct command *c = &out->cmd[out->n];

		if (is_end_marker(l))
			break;
		if (!trim(l).n || is_quoted(l) || is_help_line(ps->help, l))
			continue;
		if (!out->n && (is_greeting(l) || is_attribution(l)))
			continue;
		got = parse_line(ps, l, &r, c);
		if (got < 0)
			return -1;
		if (!got && out->n) {
			/* prose after the commands: stop reading */
			command_clear(c);
			break;
		}
		if (!out->n)
			*first = trim(l);
		out->n++;
		if (!got)
			break;	/* the first line was no command */
	}
	return 0;
}

/* The verb of a "bot+VERB@domain" recipient, if any. */
static int
plus_verb(const struct message *msg, const char *bot_address,
	  enum command_verb *verb)
{
	static const char *const ok[] = { "summarize", "summarise",
					  "subscribe", "unsubscribe", "help" };
	char **lists[2] = { msg->to, msg->cc };
	size_t counts[2] = { msg->n_to, msg->n_cc };

	for (int k = 0; k < 2; k++)
		for (size_t i = 0; i < counts[k] && lists[k]; i++) {
			const char *a = lists[k][i], *plus, *at;
			struct span s;

			if (!a || !command_is_bot_address(a, bot_address))
				continue;
			at = strrchr(a, '@');
			plus = memchr(a, '+', (size_t)(at - a));
			if (!plus)
				continue;
			s.s = plus + 1;
			s.n = (size_t)(at - s.s);
			for (size_t j = 0; j < sizeof(ok) / sizeof(ok[0]); j++)
				if (span_is(s, ok[j]))
					return find_verb(s, verb);
		}
	return 0;
}

/* Make the +suffix verb the first command (see command.h). */
static int
apply_plus_verb(struct parser *ps, enum command_verb verb,
		struct command_list *out, struct span first)
{
	struct command c;
	struct buf b;
	int got;

	out->plus_verb = 1;
	if (out->n && out->cmd[0].verb == verb)
		return 0;
	if (out->n && out->cmd[0].verb == COMMAND_UNKNOWN) {
		/* "bot+summarize@" with "<id>" as the line: its argument */
		int from_subject = out->cmd[0].from_subject;

		memset(&c, 0, sizeof(c));
		got = 0;
		if (first.n <= COMMAND_MAX_ARG) {
			buf_init(&b, 0);
			if (buf_adds(&b, command_verb_name(verb)) < 0 ||
			    buf_addc(&b, ' ') < 0 ||
			    buf_add(&b, first.s, first.n) < 0) {
				buf_release(&b);
				return -1;
			}
			got = parse_line(ps, (struct span){ b.data, b.len },
					 NULL, &c);
			buf_release(&b);
			if (got < 0)
				return -1;
		}
		if (got <= 0 || c.verb != verb) {
			command_clear(&c);
			c.verb = verb;
		}
		command_clear(&out->cmd[0]);
		out->cmd[0] = c;
		out->cmd[0].from_subject = from_subject;
		return 0;
	}
	/* another verb came first: the address's verb goes before it */
	if (out->n == COMMAND_MAX_LINES)
		command_clear(&out->cmd[--out->n]);
	memmove(&out->cmd[1], &out->cmd[0], out->n * sizeof(out->cmd[0]));
	memset(&out->cmd[0], 0, sizeof(out->cmd[0]));
	out->cmd[0].verb = verb;
	out->n++;
	return 0;
}

int
command_parse(const struct message *msg, const char *bot_address,
	      struct command_list *out)
{
	struct helpset help;
	struct parser ps = { &help, 0 };
	struct span first = { "", 0 };
	enum command_verb verb;
	int ret = -1;

	memset(out, 0, sizeof(*out));
	if (!msg)
		return 0;
	if (helpset_init(&help, bot_address) < 0)
		goto out;
	if (msg->body && parse_body(&ps, msg->body, out, &first) < 0)
		goto out;
	if (!out->n && msg->subject_bare) {
		const char *sb = msg->subject_bare;
		struct reader r = { sb, sb + strlen(sb), 0 };
		struct span l;
		int got;

		if (next_line(&r, &l) && trim(l).n) {
			got = parse_line(&ps, l, NULL, &out->cmd[0]);
			if (got < 0)
				goto out;
			out->cmd[0].from_subject = 1;
			first = trim(l);
			out->n = 1;
		}
	}
	if (plus_verb(msg, bot_address, &verb) &&
	    apply_plus_verb(&ps, verb, out, first) < 0)
		goto out;
	ret = 0;
out:
	helpset_release(&help);
	if (ret < 0) {
		command_list_release(out);
		log_error("out of memory reading commands");
	}
	return ret;
}

/* --- addresses ------------------------------------------------------ */

int
command_is_bot_address(const char *addr, const char *bot_address)
{
	const char *bat, *aat;
	size_t blocal, alocal;

	if (!addr || !bot_address || !*addr || !*bot_address)
		return 0;
	if (!strcasecmp(addr, bot_address))
		return 1;
	bat = strrchr(bot_address, '@');
	aat = strrchr(addr, '@');
	if (!bat || !aat || strcasecmp(bat, aat) != 0)
		return 0;
	blocal = (size_t)(bat - bot_address);
	alocal = (size_t)(aat - addr);
	return alocal > blocal + 1 && addr[blocal] == '+' &&
	       !strncasecmp(addr, bot_address, blocal);
}

int
command_is_moderator(const struct config *cfg, const char *addr)
{
	char **list;
	size_t n;
	int found = 0;

	if (!cfg || !addr || !*addr || !cfg->moderators)
		return 0;
	if (config_split_list(cfg->moderators, &list, &n) < 0)
		return 0;	/* fail closed */
	for (size_t i = 0; i < n && !found; i++) {
		const char *m = list[i];
		size_t len = strlen(m);

		/* "<addr>" as well as "addr" */
		if (len >= 2 && m[0] == '<' && m[len - 1] == '>')
			found = strlen(addr) == len - 2 &&
				!strncasecmp(m + 1, addr, len - 2);
		else
			found = !strcasecmp(m, addr);
	}
	config_free_list(list, n);
	return found;
}

static int
addressed(char *const *v, size_t n, const char *bot_address)
{
	for (size_t i = 0; i < n && v; i++)
		if (command_is_bot_address(v[i], bot_address))
			return 1;
	return 0;
}

int
command_addressed_to_bot(const struct message *msg, const char *bot_address)
{
	return addressed(msg->to, msg->n_to, bot_address) ||
	       addressed(msg->cc, msg->n_cc, bot_address);
}

static int
has_address(char *const *v, size_t n, const char *addr)
{
	for (size_t i = 0; i < n && v; i++)
		if (v[i] && !strcasecmp(v[i], addr))
			return 1;
	return 0;
}

/* --- command_screen -------------------------------------------------- */

struct rawflags {
	int null_sender;	/* Return-Path: <> */
	int report;		/* Content-Type: multipart/report */
	int x_loop;		/* an X-Loop names the bot */
	int auto_submitted;	/* an Auto-Submitted other than "no" */
	int bulk;		/* a Precedence bulk|junk|list */
};

/* The first token of a field value: up to a blank, ';' or '('. */
static struct span
value_token(const char *v)
{
	struct span s = trim((struct span){ v, strlen(v) });
	size_t i = 0;

	while (i < s.n && !is_blank((unsigned char)s.s[i]) &&
	       s.s[i] != ';' && s.s[i] != '(')
		i++;
	s.n = i;
	return s;
}

static int
auto_submitted_not_no(const char *v)
{
	struct span t = value_token(v);

	return t.n && !span_is(t, "no");
}

static int
precedence_bulk(const char *v)
{
	struct span t = value_token(v);

	return span_is(t, "bulk") || span_is(t, "junk") || span_is(t, "list");
}

/* Does an X-Loop value name the bot (any +suffix)? */
static int
x_loop_names(const char *v, const char *bot_address)
{
	static const char seps[] = " \t\r<>,;()\"'[]";
	char word[512];
	const char *p = v;

	while (*p) {
		size_t n;

		p += strspn(p, seps);
		n = strcspn(p, seps);
		if (!n)
			break;
		if (n < sizeof(word)) {
			memcpy(word, p, n);
			word[n] = '\0';
			if (command_is_bot_address(word, bot_address))
				return 1;
		}
		p += n;
	}
	return 0;
}

static void
raw_field(const char *name, const char *value, const char *bot_address,
	  struct rawflags *f)
{
	if (!strcasecmp(name, "Return-Path")) {
		char compact[8];
		size_t n = 0;

		for (const char *p = value; *p && n < sizeof(compact) - 1; p++)
			if (!is_blank((unsigned char)*p))
				compact[n++] = *p;
		compact[n] = '\0';
		if (!strcmp(compact, "<>"))
			f->null_sender = 1;
	} else if (!strcasecmp(name, "Content-Type")) {
		struct span t = value_token(value);

		if (t.n >= 16 && !strncasecmp(t.s, "multipart/report", 16))
			f->report = 1;
	} else if (!strcasecmp(name, "X-Loop")) {
		if (x_loop_names(value, bot_address))
			f->x_loop = 1;
	} else if (!strcasecmp(name, "Auto-Submitted")) {
		if (auto_submitted_not_no(value))
			f->auto_submitted = 1;
	} else if (!strcasecmp(name, "Precedence")) {
		if (precedence_bulk(value))
			f->bulk = 1;
	}
}

/*
 * Walk the raw header block (up to the first empty line, at most
 * HEADER_SCAN_MAX bytes and HEADER_FIELDS_MAX fields), unfolding each
 * field into a bounded value, for the fields the record keeps only once
 * or not at all.
 */
static void
scan_raw_header(const char *raw, size_t len, const char *bot_address,
		struct rawflags *f)
{
	struct reader r;
	struct span l;
	char name[64] = "", value[HEADER_VALUE_MAX];
	size_t vlen = 0;
	unsigned fields = 0;
	int have = 0;

	if (!raw || !len)
		return;
	r.p = raw;
	r.end = raw + (len < HEADER_SCAN_MAX ? len : HEADER_SCAN_MAX);
	r.lines = 0;
	if (r.end - r.p >= 5 && !memcmp(r.p, "From ", 5))
		next_line(&r, &l);	/* mbox separator */
	for (;;) {
		int more = next_line(&r, &l);
		struct span t;
		const char *colon;

		if (more && l.n && (l.s[0] == ' ' || l.s[0] == '\t')) {
			/* a folded continuation */
			t = trim(l);
			if (have && vlen + 1 + t.n < sizeof(value)) {
				value[vlen++] = ' ';
				memcpy(value + vlen, t.s, t.n);
				vlen += t.n;
			}
			continue;
		}
		if (have) {
			value[vlen] = '\0';
			/* a NUL inside the value ends it early: harmless */
			raw_field(name, value, bot_address, f);
			have = 0;
		}
		if (!more || !trim(l).n || ++fields > HEADER_FIELDS_MAX)
			break;
		colon = memchr(l.s, ':', l.n);
		if (!colon || colon == l.s ||
		    (size_t)(colon - l.s) >= sizeof(name))
			continue;
		memcpy(name, l.s, (size_t)(colon - l.s));
		name[colon - l.s] = '\0';
		t = trim((struct span){ colon + 1, l.n - (size_t)(colon - l.s)
						       - 1 });
		vlen = t.n < sizeof(value) - 1 ? t.n : sizeof(value) - 1;
		memcpy(value, t.s, vlen);
		have = 1;
	}
}

static int
is_bounce_sender(const char *from)
{
	const char *at = strrchr(from, '@');
	size_t n = at ? (size_t)(at - from) : strlen(from);

	return (n == 13 && !strncasecmp(from, "mailer-daemon", 13)) ||
	       (n == 10 && !strncasecmp(from, "postmaster", 10));
}

const char *
command_screen(const struct config *cfg, const struct message *msg,
	       const char *raw, size_t len)
{
	const char *bot = cfg ? cfg->bot_address : NULL;
	struct rawflags f = { 0 };

	if (!bot || !*bot)
		return "no bot_address configured";
	if (!msg)
		return "no mail";
	if (!command_addressed_to_bot(msg, bot))
		return "not addressed to the bot";
	if (!msg->from_addr || !*msg->from_addr)
		return "no sender";
	if (command_is_bot_address(msg->from_addr, bot))
		return "from the bot itself";
	scan_raw_header(raw, len, bot, &f);
	if (f.null_sender || f.report || is_bounce_sender(msg->from_addr))
		return "a bounce";
	if (f.auto_submitted ||
	    (msg->auto_submitted && auto_submitted_not_no(msg->auto_submitted)))
		return "auto-submitted";
	if (f.x_loop || (msg->x_loop && x_loop_names(msg->x_loop, bot)))
		return "X-Loop names the bot";
	if ((f.bulk || (msg->precedence && precedence_bulk(msg->precedence))) &&
	    !command_is_moderator(cfg, msg->from_addr))
		return "bulk mail";
	if (len > COMMAND_MAX_MAIL || msg->raw_size > COMMAND_MAX_MAIL)
		return "mail too large";
	return NULL;
}

int
command_via_list(const struct config *cfg, const struct message *msg)
{
	if (!cfg || !msg)
		return 0;
	if (msg->list_id && *msg->list_id && cfg->list_name &&
	    *cfg->list_name) {
		struct span id = { msg->list_id, strlen(msg->list_id) };
		const char *lt = memchr(id.s, '<', id.n), *gt;
		size_t ln = strlen(cfg->list_name);

		/* "kvmarm list <kvmarm.lists.linux.dev>" or the bare id */
		if (lt && (gt = memchr(lt, '>', id.n - (size_t)(lt - id.s)))) {
			id.s = lt + 1;
			id.n = (size_t)(gt - id.s);
		}
		id = trim(id);
		if (id.n >= ln && !strncasecmp(id.s, cfg->list_name, ln) &&
		    (id.n == ln || id.s[ln] == '.'))
			return 1;
	}
	if (cfg->list_address && *cfg->list_address &&
	    (has_address(msg->to, msg->n_to, cfg->list_address) ||
	     has_address(msg->cc, msg->n_cc, cfg->list_address)))
		return 1;
	return 0;
}
