/*
 * message.c - turn the raw bytes of one mail into a parsed record.
 *
 * The front door of the "remember" stage.  We make one private copy of
 * the mail that libetpan can parse safely (see prepare()), let libetpan
 * parse the header fields and message_header.c take what the bot needs
 * from them (ids, addresses, date, decoded subject, list headers), then
 * hand the copy to body.c for the text body and to split.c for its
 * structure.  Nothing a mail contains makes this fail: what is missing
 * or broken is recorded in msg->flags.  Subject tags live in
 * message_subject.c.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <libetpan/libetpan.h>
#include <openssl/evp.h>

#include "body.h"
#include "buf.h"
#include "charset.h"
#include "message.h"
#include "message_header.h"
#include "split.h"

/*
 * libetpan parses nested comments ("((((...") by recursion without a
 * limit; deeper parentheses are blanked out in our copy of the mail.
 */
#define PAREN_MAX_DEPTH	200

static const char synthetic_domain[] = "@kvmarm-bot.invalid";

/* The private copy of the mail given to libetpan. */
struct prepared {
	char *data;		/* NUL-terminated */
	size_t len;
	size_t body_off;	/* where the body starts */
	unsigned flags;
};

/* --- small helpers --------------------------------------------------- */

static int
is_wsp(char c)
{
	return c == ' ' || c == '\t';
}

/* A "Name:" header field line (RFC 5322 ftext name, blanks before ':'). */
static int
is_field_line(const char *p, size_t n)
{
	size_t i = 0;

	while (i < n && p[i] > ' ' && p[i] < 0x7f && p[i] != ':')
		i++;
	if (i == 0)
		return 0;
	while (i < n && is_wsp(p[i]))
		i++;
	return i < n && p[i] == ':';
}

static size_t
line_len(const char *p, size_t n)
{
	const char *nl = memchr(p, '\n', n);

	return nl ? (size_t)(nl - p) : n;
}

/* Offset of the first header line: after an mbox "From " line. */
static size_t
skip_mbox_from(const char *raw, size_t len)
{
	size_t n;

	if (len < 5 || memcmp(raw, "From ", 5))
		return 0;
	n = line_len(raw, len);
	return n < len ? n + 1 : len;
}

/* --- the copy libetpan parses ---------------------------------------- */

/*
 * Blank out parentheses nested deeper than PAREN_MAX_DEPTH and the
 * backslash of a Content-Type quoted string starting with "\"", field
 * by field (a line not starting with a blank starts a new field).
 * Lines without '(' are skipped with memchr(): bodies cost little.
 */
static void
neutralise(char *d, size_t len)
{
	size_t i = 0, n, k;
	int depth = 0, in_ct = 0;

	while (i < len) {
		char *line = d + i;

		n = line_len(line, len - i);
		if (!n || !is_wsp(line[0])) {
			depth = 0;
			in_ct = n >= 13 && !strncasecmp(line, "content-type:", 13);
		}
		if (depth || in_ct || memchr(line, '(', n)) {
			for (k = 0; k < n; k++) {
				char c = line[k];

				if (c == '(') {
					if (depth >= PAREN_MAX_DEPTH)
						line[k] = ' ';
					else
						depth++;
				} else if (c == ')') {
					if (depth > 0)
						depth--;
				} else if (c == '"' && in_ct && n - k > 2 &&
					   line[k + 1] == '\\' &&
					   line[k + 2] == '"') {
					line[k + 1] = '_';
				}
			}
		}
		i += n + 1;
	}
}

/*
 * Build the copy of the mail libetpan parses, working around what
 * crashes or misleads libetpan 1.9.4:
 *  - NUL bytes become U+FFFD (libetpan's strings are C strings);
 *  - a missing final line break is added (libetpan drops a last
 *    header field without one);
 *  - header lines that are not fields ("Received from x", ">From ...")
 *    are dropped when more fields follow them, otherwise the header
 *    block ends there (libetpan stops at the first such line and would
 *    take the following fields for the body);
 *  - parentheses nested deeper than PAREN_MAX_DEPTH in one field become
 *    blanks (libetpan's comment parser recurses per level);
 *  - in Content-Type fields, a quoted string starting with an escaped
 *    quote ("\"") loses the backslash: mailmime_extract_boundary()
 *    computes strlen - 2 for the one-character boundary `"` and
 *    overflows the heap.
 */
static int
prepare(const char *raw, size_t len, struct prepared *pr)
{
	size_t nuls = 0, i, j, w, r, n, hdr_end, last_field = 0, body_at;
	size_t stop, seg;
	const char *p;
	char *d;

	memset(pr, 0, sizeof(*pr));
	for (p = memchr(raw, '\0', len); p;
	     p = memchr(p + 1, '\0', len - (size_t)(p + 1 - raw)))
		nuls++;
	d = malloc(len + 2 * nuls + 2);	/* len <= MESSAGE_MAX_RAW */
	if (!d)
		return -1;
	for (i = 0, j = 0; i < len;) {
		p = memchr(raw + i, '\0', len - i);
		n = p ? (size_t)(p - raw) - i : len - i;
		memcpy(d + j, raw + i, n);
		i += n;
		j += n;
		if (p) {
			memcpy(d + j, "\xef\xbf\xbd", 3);
			j += 3;
			i++;
		}
	}
	/* libetpan only takes a field that ends with a line break */
	if (j == 0 || d[j - 1] != '\n')
		d[j++] = '\n';
	d[j] = '\0';
	len = j;
	if (nuls)
		pr->flags |= MESSAGE_NUL_BYTES;

	/* The header block: fields and continuations up to a blank line. */
	hdr_end = len;
	for (i = 0; i < len; i += n + 1) {
		n = line_len(d + i, len - i);
		if (n == 0 || (n == 1 && d[i] == '\r')) {
			hdr_end = i;
			break;
		}
		if (is_field_line(d + i, n))
			last_field = i;
	}
	/*
	 * Junk lines before the last field are dropped; a junk line after
	 * it is where the body starts.
	 */
	stop = hdr_end;
	for (r = 0, w = 0; r < hdr_end; r += n + 1) {
		n = line_len(d + r, hdr_end - r);
		if (!is_field_line(d + r, n) && !(r > 0 && is_wsp(d[r]))) {
			if (r < last_field)
				continue;
			stop = r;
			break;
		}
		seg = n + 1 < hdr_end - r ? n + 1 : hdr_end - r;
		if (w != r)
			memmove(d + w, d + r, seg);
		w += seg;
	}
	if (w != stop) {
		memmove(d + w, d + stop, len - stop);
		len = w + (len - stop);
		d[len] = '\0';
	}
	if (stop != hdr_end || w >= len)
		body_at = w;
	else	/* after the blank line */
		body_at = w + line_len(d + w, len - w) + 1;
	pr->body_off = body_at < len ? body_at : len;

	neutralise(d, len);
	pr->data = d;
	pr->len = len;
	return 0;
}

/* "sha256-<first 32 hex digits>@kvmarm-bot.invalid" */
static char *
synthetic_id(const char *raw, size_t len)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	char id[80];
	size_t i;

	if (!EVP_Digest(raw, len, md, &mdlen, EVP_sha256(), NULL) ||
	    mdlen < 16)
		return NULL;
	memcpy(id, "sha256-", 7);
	for (i = 0; i < 16; i++)
		snprintf(id + 7 + 2 * i, 3, "%02x", md[i]);
	snprintf(id + 39, sizeof(id) - 39, "%s", synthetic_domain);
	return strdup(id);
}

/* --- the record ------------------------------------------------------ */

void
message_release(struct message *msg)
{
	size_t i;

	if (!msg)
		return;
	free(msg->message_id);
	free(msg->in_reply_to);
	for (i = 0; i < msg->n_references; i++)
		free(msg->references[i]);
	free(msg->references);
	free(msg->from_name);
	free(msg->from_addr);
	for (i = 0; i < msg->n_to; i++)
		free(msg->to[i]);
	free(msg->to);
	for (i = 0; i < msg->n_cc; i++)
		free(msg->cc[i]);
	free(msg->cc);
	free(msg->subject);
	free(msg->subject_bare);
	free(msg->list_id);
	free(msg->auto_submitted);
	free(msg->precedence);
	free(msg->x_loop);
	free(msg->body);
	free(msg->prose);
	free(msg->quoted);
	free(msg->patch);
	free(msg->diffstat);
	free(msg->signature);
	for (i = 0; i < msg->n_files; i++)
		free(msg->files[i]);
	free(msg->files);
	for (i = 0; i < msg->n_trailers; i++) {
		free(msg->trailers[i].key);
		free(msg->trailers[i].value);
	}
	free(msg->trailers);
	memset(msg, 0, sizeof(*msg));
}

static void
ensure(int *nomem, char **s)
{
	if (!*s) {
		*s = strdup("");
		if (!*s)
			*nomem = 1;
	}
}

static void
parse_body(struct message *msg, const struct prepared *pr, int *nomem)
{
	struct buf body = BUF_INIT;
	struct split sp;
	size_t len;

	buf_init(&body, MESSAGE_MAX_BODY);
	msg->flags |= body_extract(pr->data, pr->len, pr->body_off, &body);
	msg->body = buf_detach(&body, &len);
	if (!msg->body) {
		*nomem = 1;
		return;
	}
	if (split_body(msg->body, len, &sp) < 0) {
		*nomem = 1;
		return;
	}
	msg->prose = sp.prose;
	msg->quoted = sp.quoted;
	msg->patch = sp.patch;
	msg->diffstat = sp.diffstat;
	msg->signature = sp.signature;
	msg->files = sp.files;
	msg->n_files = sp.n_files;
	msg->trailers = sp.trailers;
	msg->n_trailers = sp.n_trailers;
}

int
message_parse(const char *raw, size_t len, struct message *msg,
	      const char **err)
{
	static const size_t text_fields[] = {
		offsetof(struct message, in_reply_to),
		offsetof(struct message, from_name),
		offsetof(struct message, from_addr),
		offsetof(struct message, subject),
		offsetof(struct message, list_id),
		offsetof(struct message, auto_submitted),
		offsetof(struct message, precedence),
		offsetof(struct message, x_loop),
		offsetof(struct message, body),
		offsetof(struct message, prose),
		offsetof(struct message, quoted),
		offsetof(struct message, patch),
		offsetof(struct message, diffstat),
		offsetof(struct message, signature),
	};
	struct mailimf_fields *fields = NULL;
	struct prepared pr;
	const char *e = NULL;
	size_t off, idx = 0, i;
	int nomem = 0;

	memset(msg, 0, sizeof(*msg));
	if (!raw) {
		e = "no mail";
		goto refuse;
	}
	if (len > MESSAGE_MAX_RAW) {
		e = "mail larger than the 64 MiB limit";
		goto refuse;
	}
	off = skip_mbox_from(raw, len);
	if (off >= len || !is_field_line(raw + off, line_len(raw + off,
							      len - off))) {
		e = "no header block: the first line is not a header field";
		goto refuse;
	}
	if (prepare(raw + off, len - off, &pr) < 0) {
		e = "out of memory";
		goto refuse;
	}
	msg->raw_size = len;
	msg->flags |= pr.flags;

	/* libetpan fails here only when out of memory */
	if (mailimf_envelope_and_optional_fields_parse(pr.data, pr.body_off,
						       &idx, &fields) !=
	    MAILIMF_NO_ERROR || !fields ||
	    message_header_parse(msg, fields) < 0)
		nomem = 1;
	if (fields)
		mailimf_fields_free(fields);
	if (!msg->message_id && !nomem) {
		msg->message_id = synthetic_id(raw + off, len - off);
		msg->flags |= MESSAGE_SYNTHETIC_ID;
		nomem |= !msg->message_id;
	}
	if (!nomem)
		parse_body(msg, &pr, &nomem);
	free(pr.data);

	for (i = 0; i < sizeof(text_fields) / sizeof(*text_fields); i++)
		ensure(&nomem, (char **)((char *)msg + text_fields[i]));
	if (!nomem) {
		msg->subject_bare = message_subject_parse(msg->subject,
							  &msg->tags);
		ensure(&nomem, &msg->subject_bare);
	}
	if (nomem) {
		message_release(msg);
		e = "out of memory";
		goto refuse;
	}
	return 0;
refuse:
	memset(msg, 0, sizeof(*msg));
	if (err)
		*err = e;
	return -1;
}
