/*
 * body.c - the text body of a mail, whatever its MIME structure.
 *
 * The message parser calls body_extract() once per mail.  libetpan
 * builds the MIME tree; we walk it the way a patch reviewer reads mail:
 * every text/plain or text/x-diff part in order (so a Mailman footer
 * part and an attached patch are kept), the plain alternative of a
 * multipart/alternative, the signed part of a multipart/signed, never
 * a forwarded message/rfc822, and text/html only when the mail has no
 * plain text at all.  Transfer encodings are decoded by libetpan,
 * charsets by charset.c; the result is UTF-8 with LF line ends.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <libetpan/libetpan.h>

#include "body.h"
#include "buf.h"
#include "charset.h"
#include "message.h"

/* Our own walk of the tree is bounded too, whatever libetpan built. */
#define WALK_MAX_DEPTH	(2 * BODY_MAX_COMPOSITE + 4)

struct walk {
	struct buf *out;
	unsigned flags;
	int found_text;		/* a text part was appended */
	struct mailmime *html;	/* first HTML part, for HTML-only mail */
};

static unsigned
charset_flags(unsigned st)
{
	unsigned f = 0;

	if (st & (CHARSET_UNKNOWN | CHARSET_INVALID))
		f |= MESSAGE_BAD_CHARSET;
	if (st & (CHARSET_FULL | CHARSET_NOMEM))
		f |= MESSAGE_BODY_TRUNCATED;
	return f;
}

/*
 * Append UTF-8 text to the body: CRLF and lone CR become LF, NUL bytes
 * become U+FFFD, and the text ends with a line break.
 */
static void
text_append(struct walk *w, const char *s, size_t n)
{
	struct buf *out = w->out;
	size_t i, start = 0;
	unsigned st = 0;

	if (out->len && out->data[out->len - 1] != '\n')
		st |= charset_buf_add(out, "\n", 1);
	for (i = 0; i < n && !(st & (CHARSET_FULL | CHARSET_NOMEM)); i++) {
		if (s[i] != '\r' && s[i] != '\0')
			continue;
		st |= charset_buf_add(out, s + start, i - start);
		if (s[i] == '\0') {
			st |= charset_buf_add(out, "\xef\xbf\xbd", 3);
			w->flags |= MESSAGE_NUL_BYTES;
		} else if (i + 1 >= n || s[i + 1] != '\n') {
			st |= charset_buf_add(out, "\n", 1);
		}
		start = i + 1;
	}
	if (!(st & (CHARSET_FULL | CHARSET_NOMEM)))
		st |= charset_buf_add(out, s + start, n - start);
	/* every part ends its last line */
	if (!(st & (CHARSET_FULL | CHARSET_NOMEM)) && out->len &&
	    out->data[out->len - 1] != '\n')
		st |= charset_buf_add(out, "\n", 1);
	w->flags |= charset_flags(st);
}

static int
body_full(const struct walk *w)
{
	return w->out->len >= w->out->max;
}

static const char *
type_name(const struct mailmime_content *ct)
{
	const struct mailmime_type *t = ct ? ct->ct_type : NULL;

	if (!t)
		return "";
	if (t->tp_type == MAILMIME_TYPE_DISCRETE_TYPE &&
	    t->tp_data.tp_discrete_type) {
		switch (t->tp_data.tp_discrete_type->dt_type) {
		case MAILMIME_DISCRETE_TYPE_TEXT:
			return "text";
		case MAILMIME_DISCRETE_TYPE_APPLICATION:
			return "application";
		case MAILMIME_DISCRETE_TYPE_EXTENSION:
			return t->tp_data.tp_discrete_type->dt_extension ?
			       t->tp_data.tp_discrete_type->dt_extension : "";
		default:
			return "other";
		}
	}
	if (t->tp_type == MAILMIME_TYPE_COMPOSITE_TYPE &&
	    t->tp_data.tp_composite_type) {
		switch (t->tp_data.tp_composite_type->ct_type) {
		case MAILMIME_COMPOSITE_TYPE_MULTIPART:
			return "multipart";
		case MAILMIME_COMPOSITE_TYPE_MESSAGE:
			return "message";
		default:
			return "other";
		}
	}
	return "";
}

static int
subtype_is(const struct mailmime_content *ct, const char *sub)
{
	return ct && ct->ct_subtype && !strcasecmp(ct->ct_subtype, sub);
}

/* Plain text, or a patch attached as text/x-diff, application/x-patch... */
static int
is_plain(const struct mailmime_content *ct)
{
	static const char *const text_subtypes[] = {
		"plain", "x-diff", "x-patch", "diff", "patch",
	};
	static const char *const app_subtypes[] = {
		"x-patch", "x-diff", "patch", "diff",
	};
	const char *type = type_name(ct);
	size_t i;

	if (!ct)
		return 1;	/* RFC 2045 default: text/plain */
	if (!strcasecmp(type, "text")) {
		for (i = 0; i < sizeof(text_subtypes) / sizeof(*text_subtypes);
		     i++)
			if (subtype_is(ct, text_subtypes[i]))
				return 1;
	} else if (!strcasecmp(type, "application")) {
		for (i = 0; i < sizeof(app_subtypes) / sizeof(*app_subtypes);
		     i++)
			if (subtype_is(ct, app_subtypes[i]))
				return 1;
	}
	return 0;
}

static int is_html(const struct mailmime_content *ct);

/* Any text a person reads as is: text/x-log, text/x-csrc, "text/p"... */
static int
is_text(const struct mailmime_content *ct)
{
	return is_plain(ct) ||
	       (!strcasecmp(type_name(ct), "text") && !is_html(ct));
}

static int
is_html(const struct mailmime_content *ct)
{
	return !strcasecmp(type_name(ct), "text") &&
	       (subtype_is(ct, "html") || subtype_is(ct, "xhtml") ||
		subtype_is(ct, "xhtml+xml"));
}

/*
 * Transfer-decode a part's bytes into a malloc'd block.  Only as much
 * input as can yield MESSAGE_MAX_BODY bytes is decoded, so a 20 MB
 * base64 attachment mislabelled text/plain costs little.
 */
static char *
transfer_decode(struct walk *w, const struct mailmime_data *d,
		size_t *outlen)
{
	const char *src = d->dt_data.dt_text.dt_data;
	size_t len = d->dt_data.dt_text.dt_length, cap, idx = 0, rlen = 0;
	char *res = NULL, *copy;
	int enc = d->dt_encoding, r;

	*outlen = 0;
	if (d->dt_type != MAILMIME_DATA_TEXT || !src)
		return NULL;
	switch (enc) {
	case MAILMIME_MECHANISM_BASE64:
		cap = 2 * (size_t)MESSAGE_MAX_BODY;
		break;
	case MAILMIME_MECHANISM_QUOTED_PRINTABLE:
		cap = 3 * (size_t)MESSAGE_MAX_BODY;
		break;
	default:
		cap = 2 * (size_t)MESSAGE_MAX_BODY;
		break;
	}
	if (len > cap) {
		len = cap;
		w->flags |= MESSAGE_BODY_TRUNCATED;
	}
	if (enc == MAILMIME_MECHANISM_BASE64 ||
	    enc == MAILMIME_MECHANISM_QUOTED_PRINTABLE) {
		r = mailmime_part_parse(src, len, &idx, enc, &res, &rlen);
		if (r != MAILIMF_NO_ERROR || !res) {
			w->flags |= MESSAGE_BAD_MIME;
			enc = MAILMIME_MECHANISM_8BIT;	/* keep the raw text */
		} else {
			copy = malloc(rlen + 1);
			if (copy) {
				memcpy(copy, res, rlen);
				copy[rlen] = '\0';
				*outlen = rlen;
			}
			mailmime_decoded_part_free(res);
			return copy;
		}
	}
	copy = malloc(len + 1);
	if (!copy)
		return NULL;
	memcpy(copy, src, len);
	copy[len] = '\0';
	*outlen = len;
	return copy;
}

static const char *
part_charset(const struct mailmime *m)
{
	if (!m || !m->mm_content_type)
		return NULL;
	return mailmime_content_param_get(m->mm_content_type, "charset");
}

/* Decode one part (transfer encoding, charset) to UTF-8 in utf8. */
static void
decode_part(struct walk *w, const struct mailmime *m,
	    const struct mailmime_data *d, struct buf *utf8)
{
	size_t n;
	char *raw;

	if (!d)
		return;
	raw = transfer_decode(w, d, &n);
	if (!raw) {
		if (d->dt_data.dt_text.dt_length)
			w->flags |= MESSAGE_BODY_TRUNCATED;
		return;
	}
	w->flags |= charset_flags(charset_to_utf8(part_charset(m), raw, n,
						  utf8));
	free(raw);
}

static void
append_part(struct walk *w, const struct mailmime *m,
	    const struct mailmime_data *d)
{
	struct buf utf8 = BUF_INIT;

	if (body_full(w)) {
		w->flags |= MESSAGE_BODY_TRUNCATED;
		return;
	}
	buf_init(&utf8, MESSAGE_MAX_BODY);
	decode_part(w, m, d, &utf8);
	text_append(w, utf8.data, utf8.len);
	buf_release(&utf8);
	w->found_text = 1;
}

enum part_kind { KIND_PLAIN, KIND_TEXT, KIND_HTML };

/* Does this subtree hold a part of that kind (not in a message)? */
static int
has_part(const struct mailmime *m, enum part_kind kind, int depth)
{
	clistiter *it;

	if (!m || depth > WALK_MAX_DEPTH)
		return 0;
	switch (m->mm_type) {
	case MAILMIME_SINGLE:
		switch (kind) {
		case KIND_PLAIN:
			return is_plain(m->mm_content_type);
		case KIND_TEXT:
			return is_text(m->mm_content_type);
		default:
			return is_html(m->mm_content_type);
		}
	case MAILMIME_MULTIPLE:
		if (!m->mm_data.mm_multipart.mm_mp_list)
			return 0;
		for (it = clist_begin(m->mm_data.mm_multipart.mm_mp_list); it;
		     it = clist_next(it))
			if (has_part(clist_content(it), kind, depth + 1))
				return 1;
		return 0;
	default:
		return 0;
	}
}

static void walk(struct walk *w, struct mailmime *m, int top, int depth);

static void
walk_multipart(struct walk *w, struct mailmime *m, int depth)
{
	clist *list = m->mm_data.mm_multipart.mm_mp_list;
	struct mailmime_content *ct = m->mm_content_type;
	clistiter *it;

	if (!list || clist_isempty(list)) {
		/* no boundary line found: the body as libetpan saw it */
		w->flags |= MESSAGE_BAD_MIME;
		append_part(w, m, m->mm_body);
		return;
	}
	if (subtype_is(ct, "alternative")) {
		/* text/plain, else any other text, else HTML */
		enum part_kind kind;

		for (kind = KIND_PLAIN; kind <= KIND_HTML; kind++) {
			for (it = clist_begin(list); it; it = clist_next(it)) {
				if (has_part(clist_content(it), kind,
					     depth + 1)) {
					walk(w, clist_content(it), 0,
					     depth + 1);
					return;
				}
			}
		}
		return;
	}
	if (subtype_is(ct, "signed")) {
		/* the first part is what was signed; the second the signature */
		walk(w, clist_content(clist_begin(list)), 0, depth + 1);
		return;
	}
	if (subtype_is(ct, "encrypted"))
		return;
	for (it = clist_begin(list); it; it = clist_next(it))
		walk(w, clist_content(it), 0, depth + 1);
}

static void
walk(struct walk *w, struct mailmime *m, int top, int depth)
{
	struct mailmime_content *ct;

	if (!m)
		return;
	if (depth > WALK_MAX_DEPTH) {
		w->flags |= MESSAGE_BAD_MIME;
		return;
	}
	ct = m->mm_content_type;
	switch (m->mm_type) {
	case MAILMIME_SINGLE:
		if (is_text(ct)) {
			append_part(w, m, m->mm_data.mm_single);
		} else if (is_html(ct)) {
			if (!w->html)
				w->html = m;
		} else if (!strcasecmp(type_name(ct), "multipart")) {
			/* multipart without a boundary parameter */
			w->flags |= MESSAGE_BAD_MIME;
			append_part(w, m, m->mm_data.mm_single);
		}
		break;
	case MAILMIME_MULTIPLE:
		walk_multipart(w, m, depth);
		break;
	case MAILMIME_MESSAGE:
		/* the mail itself; a forwarded message is not our body */
		if (top)
			walk(w, m->mm_data.mm_message.mm_msg_mime, 0,
			     depth + 1);
		break;
	}
}

/*
 * libetpan recurses once per nesting level of multipart and message
 * parts, without limit; count the fields that can open a level.
 */
static size_t
count_composite(const char *s, size_t len)
{
	static const char field[] = "content-type:";
	size_t i = 0, n = 0, fl = sizeof(field) - 1;

	while (i < len) {
		if ((s[i] | 0x20) == 'c' && len - i > fl &&
		    !strncasecmp(s + i, field, fl)) {
			size_t end = i + fl + 200 < len ? i + fl + 200 : len;
			size_t j;

			for (j = i + fl; j < end; j++) {
				if ((end - j >= 9 &&
				     !strncasecmp(s + j, "multipart", 9)) ||
				    (end - j >= 7 &&
				     !strncasecmp(s + j, "message", 7))) {
					n++;
					break;
				}
			}
		}
		/* next line */
		{
			const char *nl = memchr(s + i, '\n', len - i);

			if (!nl)
				break;
			i = (size_t)(nl - s) + 1;
		}
	}
	return n;
}

static void
raw_fallback(struct walk *w, const char *mail, size_t len, size_t off)
{
	struct mailmime_data d;

	memset(&d, 0, sizeof(d));
	d.dt_type = MAILMIME_DATA_TEXT;
	d.dt_encoding = MAILMIME_MECHANISM_8BIT;
	d.dt_data.dt_text.dt_data = mail + off;
	d.dt_data.dt_text.dt_length = off < len ? len - off : 0;
	w->flags |= MESSAGE_BAD_MIME;
	append_part(w, NULL, &d);
}

unsigned
body_extract(const char *mail, size_t len, size_t body_off, struct buf *out)
{
	struct walk w = { .out = out };
	struct mailmime *root = NULL;
	size_t idx = 0;
	int r;

	if (count_composite(mail, len) > BODY_MAX_COMPOSITE) {
		raw_fallback(&w, mail, len, body_off);
		return w.flags;
	}
	r = mailmime_parse(mail, len, &idx, &root);
	if (r != MAILIMF_NO_ERROR || !root) {
		raw_fallback(&w, mail, len, body_off);
		return w.flags;
	}
	if (root->mm_type != MAILMIME_MESSAGE ||
	    !root->mm_data.mm_message.mm_msg_mime) {
		mailmime_free(root);
		raw_fallback(&w, mail, len, body_off);
		return w.flags;
	}
	walk(&w, root, 1, 0);
	if (!w.found_text && w.html) {
		struct buf utf8 = BUF_INIT, text = BUF_INIT;

		buf_init(&utf8, MESSAGE_MAX_BODY);
		buf_init(&text, MESSAGE_MAX_BODY);
		decode_part(&w, w.html, w.html->mm_data.mm_single, &utf8);
		w.flags |= charset_flags(body_html_to_text(utf8.data, utf8.len,
							   &text));
		text_append(&w, text.data, text.len);
		w.flags |= MESSAGE_HTML_ONLY;
		buf_release(&utf8);
		buf_release(&text);
	}
	mailmime_free(root);
	return w.flags;
}

/* --- HTML to text ---------------------------------------------------- */

struct html_out {
	struct buf *out;
	unsigned st;
	int newlines;		/* line breaks at the end of out */
	int space;		/* a blank is pending */
};

static void
html_put(struct html_out *h, const char *s, size_t n)
{
	if (!n)
		return;
	if (h->space && h->newlines == 0 && h->out->len)
		h->st |= charset_buf_add(h->out, " ", 1);
	h->space = 0;
	h->newlines = 0;
	h->st |= charset_buf_add(h->out, s, n);
}

static void
html_break(struct html_out *h, int paragraph)
{
	int want = paragraph ? 2 : 1;

	h->space = 0;
	if (!h->out->len)
		return;
	while (h->newlines < want) {
		h->st |= charset_buf_add(h->out, "\n", 1);
		h->newlines++;
	}
}

static void
html_codepoint(struct html_out *h, unsigned long cp)
{
	char u[4];
	size_t n;

	if (cp == 0 || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) {
		html_put(h, "\xef\xbf\xbd", 3);
		return;
	}
	if (cp < 0x80) {
		u[0] = (char)cp;
		n = 1;
	} else if (cp < 0x800) {
		u[0] = (char)(0xc0 | (cp >> 6));
		u[1] = (char)(0x80 | (cp & 0x3f));
		n = 2;
	} else if (cp < 0x10000) {
		u[0] = (char)(0xe0 | (cp >> 12));
		u[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		u[2] = (char)(0x80 | (cp & 0x3f));
		n = 3;
	} else {
		u[0] = (char)(0xf0 | (cp >> 18));
		u[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
		u[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
		u[3] = (char)(0x80 | (cp & 0x3f));
		n = 4;
	}
	if (cp == ' ' || cp == 0xa0) {
		h->space = 1;
		return;
	}
	html_put(h, u, n);
}

/* Decode the entity at s ("&amp;"); returns bytes used, 0 if none. */
static size_t
html_entity(struct html_out *h, const char *s, size_t n)
{
	static const struct {
		const char *name;
		unsigned long cp;
	} named[] = {
		{ "amp", '&' }, { "lt", '<' }, { "gt", '>' },
		{ "quot", '"' }, { "apos", '\'' }, { "nbsp", 0xa0 },
		{ "copy", 0xa9 }, { "reg", 0xae }, { "hellip", 0x2026 },
		{ "mdash", 0x2014 }, { "ndash", 0x2013 },
		{ "lsquo", 0x2018 }, { "rsquo", 0x2019 },
		{ "ldquo", 0x201c }, { "rdquo", 0x201d },
	};
	size_t end, i;

	for (end = 1; end < n && end < 12 && s[end] != ';'; end++)
		;
	if (end >= n || s[end] != ';' || end < 2)
		return 0;
	if (s[1] == '#') {
		unsigned long cp = 0;
		int hex = end > 2 && (s[2] == 'x' || s[2] == 'X');

		for (i = hex ? 3 : 2; i < end; i++) {
			char c = s[i];
			int v;

			if (c >= '0' && c <= '9')
				v = c - '0';
			else if (hex && c >= 'a' && c <= 'f')
				v = c - 'a' + 10;
			else if (hex && c >= 'A' && c <= 'F')
				v = c - 'A' + 10;
			else
				return 0;
			cp = cp * (hex ? 16 : 10) + (unsigned long)v;
			if (cp > 0x10ffff)
				cp = 0x110000;
		}
		if (i == (hex ? 3u : 2u))
			return 0;
		html_codepoint(h, cp);
		return end + 1;
	}
	for (i = 0; i < sizeof(named) / sizeof(*named); i++) {
		if (strlen(named[i].name) == end - 1 &&
		    !strncmp(s + 1, named[i].name, end - 1)) {
			html_codepoint(h, named[i].cp);
			return end + 1;
		}
	}
	return 0;
}

/* The '>' closing a tag, skipping quoted attribute values. */
static const char *
tag_end(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (s[i] == '>')
			return s + i;
		if (s[i] == '"' || s[i] == '\'') {
			const char *q = memchr(s + i + 1, s[i], n - i - 1);

			if (!q)	/* unbalanced quote: the plain first '>' */
				return memchr(s + i, '>', n - i);
			i = (size_t)(q - s);
		}
	}
	return NULL;
}

static int
tag_in(const char *name, const char *const *set, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(name, set[i]))
			return 1;
	return 0;
}

unsigned
body_html_to_text(const char *s, size_t n, struct buf *out)
{
	static const char *const paragraph[] = {
		"p", "div", "table", "ul", "ol", "blockquote", "pre",
		"h1", "h2", "h3", "h4", "h5", "h6", "hr", "section",
		"article", "header", "footer", "dl",
	};
	static const char *const line[] = {
		"br", "li", "tr", "dt", "dd", "title",
	};
	static const char *const skipped[] = {
		"script", "style", "head",
	};
	struct html_out h = { .out = out, .newlines = 0 };
	size_t i = 0;
	int pre = 0;

	while (i < n && !(h.st & (CHARSET_FULL | CHARSET_NOMEM))) {
		unsigned char c = (unsigned char)s[i];

		if (c == '<') {
			char name[16];
			size_t j = i + 1, k = 0;
			const char *gt;
			int closing = 0;

			if (n - i >= 4 && !memcmp(s + i, "<!--", 4)) {
				const char *e = memmem(s + i + 4, n - i - 4,
						       "-->", 3);

				i = e ? (size_t)(e - s) + 3 : n;
				continue;
			}
			if (j < n && s[j] == '/') {
				closing = 1;
				j++;
			}
			while (j < n && k < sizeof(name) - 1 &&
			       ((s[j] >= 'a' && s[j] <= 'z') ||
				(s[j] >= 'A' && s[j] <= 'Z') ||
				(s[j] >= '0' && s[j] <= '9')))
				name[k++] = (char)(s[j++] | 0x20);
			name[k] = '\0';
			if (!k) {
				html_put(&h, "<", 1);	/* a lone '<' */
				i++;
				continue;
			}
			/*
			 * An unterminated tag swallows the rest, as in a
			 * browser; rescanning from the next byte would be
			 * quadratic on "<a<a<a...".
			 */
			gt = tag_end(s + j, n - j);
			if (!gt)
				break;
			i = (size_t)(gt - s) + 1;
			if (!closing && tag_in(name, skipped, 3)) {
				char close[24];
				const char *e;

				snprintf(close, sizeof(close), "</%s", name);
				e = memmem(s + i, n - i, close, strlen(close));
				if (!e) {
					i = n;
					continue;
				}
				gt = memchr(e, '>', n - (size_t)(e - s));
				i = gt ? (size_t)(gt - s) + 1 : n;
				continue;
			}
			if (!strcmp(name, "pre"))
				pre = !closing;
			if (tag_in(name, paragraph,
				   sizeof(paragraph) / sizeof(*paragraph)))
				html_break(&h, 1);
			else if (tag_in(name, line, sizeof(line) / sizeof(*line)))
				html_break(&h, 0);
			else if (!strcmp(name, "td") || !strcmp(name, "th"))
				h.space = 1;
			continue;
		}
		if (c == '&') {
			size_t used = html_entity(&h, s + i, n - i);

			if (used) {
				i += used;
				continue;
			}
		}
		if (c == '\n' && pre) {
			h.newlines = 0;
			html_break(&h, 0);
			h.newlines = 1;
			i++;
			continue;
		}
		if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
			if (pre)
				html_put(&h, s + i, 1);
			else
				h.space = 1;
			i++;
			continue;
		}
		{
			size_t j = i + 1;

			while (j < n && s[j] != '<' && s[j] != '&' &&
			       s[j] != ' ' && s[j] != '\t' && s[j] != '\n' &&
			       s[j] != '\r')
				j++;
			html_put(&h, s + i, j - i);
			i = j;
		}
	}
	/* end with exactly one line break */
	while (out->len && out->data[out->len - 1] == '\n')
		buf_truncate(out, out->len - 1);
	if (out->len)
		h.st |= charset_buf_add(out, "\n", 1);
	return h.st;
}
