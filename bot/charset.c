/*
 * charset.c - bytes in any mail charset to valid UTF-8.
 *
 * The message parser hands every body part and every header value it
 * keeps to this file.  Bodies go through iconv with the part's label
 * (after mapping labels to the supersets mailers really use), header
 * values through libetpan's RFC 2047 decoder.  Nothing here fails on
 * bad input: invalid bytes become U+FFFD and the caller gets a bit mask
 * saying what was wrong, so the record can be flagged and kept.
 */
#include <ctype.h>
#include <errno.h>
#include <iconv.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <libetpan/libetpan.h>

#include "buf.h"
#include "charset.h"

static const char replacement[] = "\xef\xbf\xbd";	/* U+FFFD */

/* Labels mapped to what the sender's software really produced. */
static const struct {
	const char *label;
	const char *iconv;
} aliases[] = {
	{ "utf-8", "UTF-8" },
	{ "utf8", "UTF-8" },
	{ "unicode-1-1-utf-8", "UTF-8" },
	{ "gb2312", "GB18030" },
	{ "gbk", "GB18030" },
	{ "gb_2312-80", "GB18030" },
	{ "x-gbk", "GB18030" },
	{ "cp936", "GB18030" },
	{ "euc-cn", "GB18030" },
	{ "x-euc-cn", "GB18030" },
	{ "csgb2312", "GB18030" },
	{ "gb18030", "GB18030" },
	{ "iso-8859-1", "WINDOWS-1252" },
	{ "iso8859-1", "WINDOWS-1252" },
	{ "iso_8859-1", "WINDOWS-1252" },
	{ "latin1", "WINDOWS-1252" },
	{ "iso-2022-jp", "ISO-2022-JP-2" },
	{ "ks_c_5601-1987", "CP949" },
	{ "euc-kr", "CP949" },
	{ "iso-8859-8-i", "ISO-8859-8" },
	{ "iso-8859-8-e", "ISO-8859-8" },
	{ "shift_jis", "CP932" },
	{ "x-sjis", "CP932" },
	{ "sjis", "CP932" },
	{ "big5", "BIG5-HKSCS" },
	{ "windows-1252", "WINDOWS-1252" },
	{ "iso-8859-15", "ISO-8859-15" },
	{ "koi8-r", "KOI8-R" },
};

/*
 * Labels that say nothing about the bytes: read as UTF-8 when valid,
 * else as Windows-1252.  The second group is also reported unknown.
 */
static const char *const auto_labels[] = {
	"", "us-ascii", "ascii", "ansi_x3.4-1968", "us", "iso646-us",
	"7bit", "8bit",
};
static const char *const unknown_labels[] = {
	"x-unknown", "unknown", "unknown-8bit", "x-user-defined",
	"default", "none", "charset",
};

/* Encodings whose ASCII bytes are not ASCII text. */
static const char *const not_ascii_prefixes[] = {
	"iso-2022", "utf-7", "utf-16", "utf-32", "ucs", "hz", "unicode",
};

enum label_kind { LABEL_ICONV, LABEL_UTF8, LABEL_AUTO, LABEL_UNKNOWN };

struct label {
	enum label_kind kind;
	char iconv[64];		/* name for iconv_open() */
	int ascii_safe;		/* ASCII bytes mean ASCII text */
};

size_t
charset_utf8_seq(const unsigned char *s, size_t len)
{
	unsigned c = s[0];

	if (c < 0x80)
		return 1;
	if (c < 0xc2)
		return 0;
	if (c < 0xe0)
		return len >= 2 && (s[1] & 0xc0) == 0x80 ? 2 : 0;
	if (c < 0xf0) {
		if (len < 3 || (s[1] & 0xc0) != 0x80 || (s[2] & 0xc0) != 0x80)
			return 0;
		if ((c == 0xe0 && s[1] < 0xa0) || (c == 0xed && s[1] > 0x9f))
			return 0;	/* overlong, surrogate */
		return 3;
	}
	if (c < 0xf5) {
		if (len < 4 || (s[1] & 0xc0) != 0x80 ||
		    (s[2] & 0xc0) != 0x80 || (s[3] & 0xc0) != 0x80)
			return 0;
		if ((c == 0xf0 && s[1] < 0x90) || (c == 0xf4 && s[1] > 0x8f))
			return 0;	/* overlong, above U+10FFFF */
		return 4;
	}
	return 0;
}

int
charset_utf8_valid(const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0, n;

	while (i < len) {
		if (p[i] < 0x80) {
			i++;
			continue;
		}
		n = charset_utf8_seq(p + i, len - i);
		if (!n)
			return 0;
		i += n;
	}
	return 1;
}

unsigned
charset_buf_add(struct buf *out, const char *s, size_t len)
{
	size_t max = out->max ? out->max : BUF_DEFAULT_MAX;
	size_t room = out->len < max ? max - out->len : 0;
	unsigned st = 0;

	if (len > room) {
		len = room;
		while (len > 0 && ((unsigned char)s[len] & 0xc0) == 0x80)
			len--;
		st |= CHARSET_FULL;
	}
	if (len && buf_add(out, s, len) < 0)
		st |= CHARSET_NOMEM;
	return st;
}

unsigned
charset_utf8_sanitise(const char *s, size_t len, struct buf *out)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0, start = 0, n;
	unsigned st = 0;

	while (i < len) {
		if (p[i] < 0x80) {
			i++;
			continue;
		}
		n = charset_utf8_seq(p + i, len - i);
		if (n) {
			i += n;
			continue;
		}
		st |= charset_buf_add(out, s + start, i - start);
		st |= charset_buf_add(out, replacement, 3) | CHARSET_INVALID;
		if (st & (CHARSET_FULL | CHARSET_NOMEM))
			return st;
		start = ++i;
	}
	return st | charset_buf_add(out, s + start, len - start);
}

/*
 * Text that is not valid UTF-8 but mostly is (more valid multi-byte
 * sequences than stray bytes) is UTF-8 with a few broken bytes, not
 * Windows-1252.
 */
static int
mostly_utf8(const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0, good = 0, bad = 0, n;

	while (i < len) {
		if (p[i] < 0x80) {
			i++;
			continue;
		}
		n = charset_utf8_seq(p + i, len - i);
		if (n) {
			good++;
			i += n;
		} else {
			bad++;
			i++;
		}
	}
	return good > 0 && good >= bad;
}

static int
is_ascii(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)s[i] >= 0x80)
			return 0;
	return 1;
}

/* Can iconv convert from name to UTF-8? */
static int
iconv_knows(const char *name)
{
	iconv_t cd = iconv_open("UTF-8", name);

	if (cd == (iconv_t)-1)
		return 0;
	iconv_close(cd);
	return 1;
}

/*
 * Clean a label ("\"UTF-8\"", " utf-8*en") into lowercase and sort it:
 * which iconv name to use, or whether to guess.
 */
static void
label_classify(const char *raw, struct label *l)
{
	char name[64];
	size_t n = 0, i;

	l->kind = LABEL_AUTO;
	l->iconv[0] = '\0';
	l->ascii_safe = 1;
	if (!raw)
		raw = "";
	while (*raw == ' ' || *raw == '\t' || *raw == '"' || *raw == '\'')
		raw++;
	for (; *raw && n < sizeof(name) - 1; raw++) {
		unsigned char c = (unsigned char)*raw;

		/* RFC 2231 language suffix, quotes, trailing junk */
		if (c == '*' || c == '"' || c == '\'' || c == ' ' ||
		    c == '\t' || c == ';')
			break;
		name[n++] = (char)tolower(c);
	}
	name[n] = '\0';

	for (i = 0; i < sizeof(not_ascii_prefixes) /
			sizeof(not_ascii_prefixes[0]); i++) {
		size_t pl = strlen(not_ascii_prefixes[i]);

		if (!strncmp(name, not_ascii_prefixes[i], pl))
			l->ascii_safe = 0;
	}
	for (i = 0; i < sizeof(auto_labels) / sizeof(auto_labels[0]); i++)
		if (!strcmp(name, auto_labels[i]))
			return;
	for (i = 0; i < sizeof(unknown_labels) / sizeof(unknown_labels[0]);
	     i++) {
		if (!strcmp(name, unknown_labels[i])) {
			l->kind = LABEL_UNKNOWN;
			return;
		}
	}
	for (i = 0; i < sizeof(aliases) / sizeof(aliases[0]); i++) {
		if (!strcmp(name, aliases[i].label)) {
			snprintf(l->iconv, sizeof(l->iconv), "%s",
				 aliases[i].iconv);
			l->kind = strcmp(l->iconv, "UTF-8") ? LABEL_ICONV
							  : LABEL_UTF8;
			return;
		}
	}
	/* Only names made of label characters ever reach iconv. */
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)name[i];

		if (!isalnum(c) && c != '-' && c != '_' && c != '.' &&
		    c != ':' && c != '+' && c != '(' && c != ')')
			break;
	}
	if (n && i == n && iconv_knows(name)) {
		snprintf(l->iconv, sizeof(l->iconv), "%s", name);
		l->kind = LABEL_ICONV;
		return;
	}
	/* "x-foo" is sometimes a known "foo" */
	if (n > 2 && !strncmp(name, "x-", 2) && i == n &&
	    iconv_knows(name + 2)) {
		snprintf(l->iconv, sizeof(l->iconv), "%s", name + 2);
		l->kind = LABEL_ICONV;
		return;
	}
	l->kind = LABEL_UNKNOWN;
	l->ascii_safe = 1;
}

static unsigned
iconv_append(const char *from, const char *in, size_t len, struct buf *out)
{
	char obuf[8192], *ip = (char *)in, *op;
	size_t il = len, ol, r;
	unsigned st = 0;
	iconv_t cd;
	int err;

	cd = iconv_open("UTF-8", from);
	if (cd == (iconv_t)-1)
		return CHARSET_UNKNOWN | charset_utf8_sanitise(in, len, out);
	while (il > 0 && !(st & (CHARSET_FULL | CHARSET_NOMEM))) {
		op = obuf;
		ol = sizeof(obuf);
		errno = 0;
		r = iconv(cd, &ip, &il, &op, &ol);
		err = errno;
		st |= charset_buf_add(out, obuf, (size_t)(op - obuf));
		if (r != (size_t)-1 || err == E2BIG)
			continue;
		st |= CHARSET_INVALID;
		st |= charset_buf_add(out, replacement, 3);
		if (err == EILSEQ) {
			/* skip the offending byte and resynchronise */
			ip++;
			il--;
			continue;
		}
		break;	/* EINVAL: incomplete sequence at the end */
	}
	/* return a stateful encoding (ISO-2022-JP) to its initial state */
	op = obuf;
	ol = sizeof(obuf);
	if (iconv(cd, NULL, NULL, &op, &ol) != (size_t)-1)
		st |= charset_buf_add(out, obuf, (size_t)(op - obuf));
	iconv_close(cd);
	return st;
}

unsigned
charset_to_utf8(const char *charset, const char *in, size_t len,
		struct buf *out)
{
	struct label l;
	unsigned st = 0;

	label_classify(charset, &l);
	if (l.ascii_safe && is_ascii(in, len))
		return (l.kind == LABEL_UNKNOWN ? CHARSET_UNKNOWN : 0) |
		       charset_buf_add(out, in, len);
	switch (l.kind) {
	case LABEL_UTF8:
		return charset_utf8_sanitise(in, len, out);
	case LABEL_ICONV:
		return iconv_append(l.iconv, in, len, out);
	case LABEL_UNKNOWN:
		st = CHARSET_UNKNOWN;
		/* fall through */
	case LABEL_AUTO:
		if (charset_utf8_valid(in, len))
			return st | charset_buf_add(out, in, len);
		if (mostly_utf8(in, len))
			return st | charset_utf8_sanitise(in, len, out);
		return st | CHARSET_INVALID |
		       iconv_append("WINDOWS-1252", in, len, out);
	}
	return st;
}

/*
 * Rewrite the charset of every encoded word ("=?gb2312?B?...?=") to the
 * iconv name we trust, so that libetpan's charconv() uses GB18030 for
 * GB2312 and never meets a label iconv cannot open (libetpan would then
 * quietly fall back to ISO-8859-1).
 */
static unsigned
rewrite_encoded_words(const char *s, size_t len, struct buf *out)
{
	size_t i = 0, start = 0, j;
	unsigned st = 0;

	while (i + 1 < len) {
		if (s[i] != '=' || s[i + 1] != '?') {
			i++;
			continue;
		}
		j = i + 2;
		while (j < len && j - i < 66 && s[j] != '?' && s[j] != ' ')
			j++;
		if (j + 2 >= len || s[j] != '?' || j == i + 2 ||
		    !strchr("bBqQ", s[j + 1]) || s[j + 2] != '?') {
			i++;
			continue;
		}
		{
			char label[72];
			const char *name;
			struct label l;

			snprintf(label, sizeof(label), "%.*s",
				 (int)(j - i - 2), s + i + 2);
			label_classify(label, &l);
			if (l.kind == LABEL_UNKNOWN)
				st |= CHARSET_UNKNOWN;
			name = l.kind == LABEL_ICONV ? l.iconv : "UTF-8";
			if (buf_add(out, s + start, i + 2 - start) < 0 ||
			    buf_adds(out, name) < 0)
				return st | CHARSET_NOMEM;
		}
		start = i = j;
	}
	if (buf_add(out, s + start, len - start) < 0)
		st |= CHARSET_NOMEM;
	return st;
}

/*
 * One libetpan phrase from *idx on: 0 with the UTF-8 text appended to
 * out and *idx moved past what libetpan consumed, or -1.
 */
static int
phrase_parse(const char *dflt, const char *s, size_t len, size_t *idx,
	     struct buf *out)
{
	size_t i = *idx;
	char *r = NULL;
	int e;

	e = mailmime_encoded_phrase_parse(dflt, s, len, &i, "UTF-8", &r);
	if (e != MAILIMF_NO_ERROR || !r || i <= *idx || i > len) {
		free(r);
		return -1;
	}
	e = buf_adds(out, r);
	free(r);
	*idx = i;
	return e;
}

static int
is_encoded_word(const char *s, size_t len)
{
	return len >= 8 && s[0] == '=' && s[1] == '?' &&
	       s[len - 2] == '?' && s[len - 1] == '=';
}

/*
 * Word by word, for headers libetpan gives up on as a whole (a single
 * "=?x?Z?" makes mailmime_encoded_phrase_parse() fail, and it stops at
 * a stray "=?" without saying so).  Linear: each word is tried once.
 */
static unsigned
decode_words(const char *dflt, const char *s, size_t len, size_t i,
	     struct buf *out)
{
	int prev_encoded = 0, first = out->len == 0;
	int space = i > 0 && s[i - 1] == ' ';
	struct buf word = BUF_INIT;
	unsigned st = 0;

	buf_init(&word, 0);
	while (i < len) {
		size_t j, k = 0;
		int enc;

		while (i < len && s[i] == ' ') {
			i++;
			space = 1;
		}
		if (i >= len)
			break;
		for (j = i; j < len && s[j] != ' '; j++)
			;
		enc = is_encoded_word(s + i, j - i);
		if (!first && space && !(enc && prev_encoded))
			st |= charset_buf_add(out, " ", 1);
		buf_release(&word);
		if (phrase_parse(dflt, s + i, j - i, &k, &word) == 0 &&
		    k == j - i) {
			st |= charset_buf_add(out, word.data, word.len);
		} else {
			if (enc)
				st |= CHARSET_INVALID;
			st |= charset_to_utf8(dflt, s + i, j - i, out);
		}
		prev_encoded = enc;
		first = 0;
		space = 0;
		i = j;
	}
	buf_release(&word);
	return st;
}

/* Final pass: valid UTF-8, one space for any run of blanks/controls. */
static unsigned
tidy(const char *s, size_t len, char **out)
{
	struct buf clean = BUF_INIT, res = BUF_INIT;
	unsigned st;
	size_t i;
	int space = 0;

	buf_init(&clean, 0);
	buf_init(&res, 0);
	st = charset_utf8_sanitise(s, len, &clean) & ~CHARSET_FULL;
	for (i = 0; i < clean.len; i++) {
		unsigned char c = (unsigned char)clean.data[i];

		if (c <= ' ' || c == 0x7f) {
			space = 1;
			continue;
		}
		if (space && res.len && buf_addc(&res, ' ') < 0)
			st |= CHARSET_NOMEM;
		space = 0;
		if (buf_addc(&res, (char)c) < 0)
			st |= CHARSET_NOMEM;
	}
	buf_release(&clean);
	*out = buf_detach(&res, NULL);
	if (!*out)
		st |= CHARSET_NOMEM;
	return st;
}

unsigned
charset_decode_header(const char *raw, size_t len, char **out)
{
	struct buf flat = BUF_INIT, words = BUF_INIT, text = BUF_INIT;
	const char *dflt = "UTF-8";
	unsigned st = 0;
	size_t i, idx = 0;

	*out = NULL;
	if (!raw)
		len = 0;
	if (len > CHARSET_MAX_HEADER) {
		len = CHARSET_MAX_HEADER;
		while (len > 0 && ((unsigned char)raw[len] & 0xc0) == 0x80)
			len--;
	}
	buf_init(&flat, 0);
	buf_init(&words, 0);
	buf_init(&text, 0);

	/* Unfold: every control character, CR and LF included, is a blank. */
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)raw[i];

		if (buf_addc(&flat, c < ' ' || c == 0x7f ? ' ' : (char)c) < 0)
			goto nomem;
	}
	if (is_ascii(flat.data, flat.len) && !memmem(flat.data, flat.len,
						     "=?", 2)) {
		st |= tidy(flat.data, flat.len, out);
		goto done;
	}
	if (!charset_utf8_valid(flat.data, flat.len)) {
		st |= CHARSET_INVALID;
		if (mostly_utf8(flat.data, flat.len)) {
			/* replace the stray bytes, keep the rest as UTF-8 */
			struct buf clean = BUF_INIT;

			buf_init(&clean, 0);
			st |= charset_utf8_sanitise(flat.data, flat.len, &clean);
			buf_release(&flat);
			flat = clean;
		} else {
			dflt = "WINDOWS-1252";
		}
	}
	st |= rewrite_encoded_words(flat.data, flat.len, &words);
	if (st & CHARSET_NOMEM)
		goto nomem;
	if (phrase_parse(dflt, words.data, words.len, &idx, &text) < 0) {
		buf_release(&text);
		idx = 0;
	}
	if (idx < words.len)
		st |= decode_words(dflt, words.data, words.len, idx, &text);
	st |= tidy(text.data, text.len, out);
	goto done;
nomem:
	st |= CHARSET_NOMEM;
done:
	buf_release(&flat);
	buf_release(&words);
	buf_release(&text);
	return st & ~CHARSET_FULL;
}
