/*
 * compose.c - outgoing mail as bytes: header fields, RFC 2047 subject,
 * MIME body.
 *
 * The result is final: the outbox stores these bytes before the first
 * send and sends the same bytes on every retry.  Anything that could
 * inject a header (a CR or LF in an address, an id, a list header) is
 * refused rather than cleaned, because it can only come from a bug or
 * from hostile input.  See include/compose.h for the encoding choices.
 */
#include <stdint.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>
#include <openssl/rand.h>

#include "buf.h"
#include "charset.h"
#include "compose.h"
#include "log.h"

#define SUBJECT_WORD_BYTES 39	/* 4*13 = 52 base64 chars + 12 = 64 */
#define B64_LINE_BYTES 57	/* 76 base64 characters */
#define MAX_LINE 998

static int
safe_field(const char *what, const char *s)
{
	for (const unsigned char *p = (const unsigned char *)s; *p; p++)
		if (*p < 0x20 || *p == 0x7f)
			return log_error("compose: control byte in %s", what);
	return 0;
}

static int
check_addr(const char *a)
{
	if (!a || !*a || !strchr(a, '@'))
		return log_error("compose: '%s' is not a mail address",
				 a ? a : "");
	for (const unsigned char *p = (const unsigned char *)a; *p; p++)
		if (*p <= 0x20 || *p >= 0x7f || strchr("<>,;:\"()[]\\", *p))
			return log_error("compose: bad byte in address '%s'",
					 a);
	return 0;
}

/* A message-id has the shape of an address here: what the bot makes. */
static int
check_id(const char *id)
{
	return check_addr(id);
}

int
compose_message_id(const char *bot_address, int64_t now, char **out)
{
	const char *at = bot_address ? strrchr(bot_address, '@') : NULL;
	unsigned char rnd[8];
	struct buf b;

	*out = NULL;
	if (!at || !at[1] || check_addr(bot_address) < 0)
		return log_error("compose: bot_address '%s' has no domain",
				 bot_address ? bot_address : "");
	if (RAND_bytes(rnd, sizeof(rnd)) != 1)
		return log_error("compose: no random bytes for a message-id");
	buf_init(&b, 1024);
	if (buf_addf(&b, "kvmarm-bot.%lld.", (long long)now) < 0)
		goto oom;
	for (size_t i = 0; i < sizeof(rnd); i++)
		if (buf_addf(&b, "%02x", rnd[i]) < 0)
			goto oom;
	if (buf_addf(&b, "@%s", at + 1) < 0)
		goto oom;
	*out = buf_detach(&b, NULL);
	return *out ? 0 : log_error("out of memory");
oom:
	buf_release(&b);
	return log_error("compose: message-id too long");
}

/* RFC 5322 date in UTC, with C-locale names whatever the locale. */
static int
add_date(struct buf *out, int64_t t)
{
	static const char *const day[] = {"Sun", "Mon", "Tue", "Wed",
					  "Thu", "Fri", "Sat"};
	static const char *const mon[] = {"Jan", "Feb", "Mar", "Apr",
					  "May", "Jun", "Jul", "Aug",
					  "Sep", "Oct", "Nov", "Dec"};
	time_t tt = (time_t)t;
	struct tm tm;

	if (!gmtime_r(&tt, &tm))
		return log_error("compose: date out of range");
	return buf_addf(out, "Date: %s, %02d %s %04d %02d:%02d:%02d +0000\r\n",
			day[tm.tm_wday], tm.tm_mday, mon[tm.tm_mon],
			tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

static int
add_addr_list(struct buf *out, const char *name, const char *const *v,
	      size_t n)
{
	if (!n)
		return 0;
	if (buf_addf(out, "%s: ", name) < 0)
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (check_addr(v[i]) < 0)
			return -1;
		if (buf_addf(out, "%s%s", v[i], i + 1 < n ? ",\r\n " : "\r\n")
		    < 0)
			return -1;
	}
	return 0;
}

static int
b64_add(struct buf *out, const unsigned char *in, size_t len)
{
	unsigned char enc[4 * ((B64_LINE_BYTES + 2) / 3) + 1];
	int n;

	/* callers pass at most B64_LINE_BYTES at a time */
	if (len > B64_LINE_BYTES)
		return -1;
	n = EVP_EncodeBlock(enc, in, (int)len);
	return n < 0 ? -1 : buf_add(out, enc, (size_t)n);
}

static int
subject_plain(const char *s)
{
	size_t len = strlen(s);

	if (len > 900 || strstr(s, "=?"))
		return 0;
	for (const unsigned char *p = (const unsigned char *)s; *p; p++)
		if (*p < 0x20 || *p >= 0x7f)
			return 0;
	return 1;
}

/* Length of the UTF-8 sequence starting with byte c (valid input). */
static size_t
utf8_len(unsigned char c)
{
	if (c < 0x80)
		return 1;
	if (c >= 0xf0)
		return 4;
	if (c >= 0xe0)
		return 3;
	return 2;
}

static int
add_subject(struct buf *out, const char *subj)
{
	const unsigned char *p = (const unsigned char *)subj;
	size_t len = strlen(subj), off = 0;

	if (!charset_utf8_valid(subj, len))
		return log_error("compose: subject is not valid UTF-8");
	if (subject_plain(subj))
		return buf_addf(out, "Subject: %s\r\n", subj);
	if (buf_adds(out, "Subject:") < 0)
		return -1;
	if (!len)
		return buf_adds(out, "\r\n");
	while (off < len) {
		size_t end = off;

		/* whole characters only: a word must decode on its own */
		while (end < len) {
			size_t cl = utf8_len(p[end]);

			if (end + cl - off > SUBJECT_WORD_BYTES)
				break;
			end += cl;
		}
		if (buf_adds(out, off ? "\r\n =?UTF-8?B?" : " =?UTF-8?B?") < 0 ||
		    b64_add(out, p + off, end - off) < 0 ||
		    buf_adds(out, "?=") < 0)
			return -1;
		off = end;
	}
	return buf_adds(out, "\r\n");
}

/* The body with CRLF line ends, ending in CRLF. */
static int
canonical_body(const char *body, struct buf *out)
{
	for (const char *p = body; *p; p++) {
		if (*p == '\r' && p[1] == '\n')
			continue;
		if (*p == '\n' || *p == '\r') {
			if (buf_adds(out, "\r\n") < 0)
				return -1;
		} else if (buf_addc(out, *p) < 0) {
			return -1;
		}
	}
	if (out->len && (out->len < 2 || memcmp(out->data + out->len - 2,
						 "\r\n", 2)))
		return buf_adds(out, "\r\n");
	return 0;
}

static int
body_7bit(const struct buf *b)
{
	size_t col = 0;

	for (size_t i = 0; i < b->len; i++) {
		unsigned char c = (unsigned char)b->data[i];

		if (c >= 0x80 || c == 0)
			return 0;
		if (c == '\n')
			col = 0;
		else if (++col >= MAX_LINE)
			return 0;
	}
	return 1;
}

int
compose_mail(const struct compose_mail *m, struct buf *out)
{
	struct buf body;
	int r = -1;

	if (check_addr(m->from) < 0 || check_id(m->message_id) < 0)
		return -1;
	if (!m->n_to && !m->n_cc)
		return log_error("compose: no recipient");
	if (m->in_reply_to && check_id(m->in_reply_to) < 0)
		return -1;
	for (size_t i = 0; i < m->n_references; i++)
		if (check_id(m->references[i]) < 0)
			return -1;
	if (m->from_name && safe_field("the sender name", m->from_name) < 0)
		return -1;
	if (m->list_id && safe_field("List-Id", m->list_id) < 0)
		return -1;
	if (m->list_unsubscribe &&
	    safe_field("List-Unsubscribe", m->list_unsubscribe) < 0)
		return -1;
	if (!charset_utf8_valid(m->body, strlen(m->body)))
		return log_error("compose: body is not valid UTF-8");

	buf_init(&body, 0);
	if (canonical_body(m->body, &body) < 0)
		goto out;

	/* the display name is ASCII here; quote it */
	if (m->from_name && !subject_plain(m->from_name)) {
		log_error("compose: sender name must be printable ASCII");
		goto out;
	}
	if (buf_addf(out, "From: \"%s\" <%s>\r\n",
		     m->from_name ? m->from_name : "kvmarm-bot", m->from) < 0 ||
	    add_addr_list(out, "To", m->to, m->n_to) < 0 ||
	    add_addr_list(out, "Cc", m->cc, m->n_cc) < 0 ||
	    add_date(out, m->date) < 0 ||
	    buf_addf(out, "Message-ID: <%s>\r\n", m->message_id) < 0)
		goto out;
	if (m->in_reply_to &&
	    buf_addf(out, "In-Reply-To: <%s>\r\n", m->in_reply_to) < 0)
		goto out;
	if (m->n_references) {
		if (buf_adds(out, "References:") < 0)
			goto out;
		for (size_t i = 0; i < m->n_references; i++)
			if (buf_addf(out, "%s<%s>", i ? "\r\n " : " ",
				     m->references[i]) < 0)
				goto out;
		if (buf_adds(out, "\r\n") < 0)
			goto out;
	}
	if (add_subject(out, m->subject ? m->subject : "") < 0 ||
	    buf_adds(out, "MIME-Version: 1.0\r\n"
			  "Content-Type: text/plain; charset=UTF-8\r\n") < 0)
		goto out;
	if (buf_addf(out, "Content-Transfer-Encoding: %s\r\n",
		     body_7bit(&body) ? "7bit" : "base64") < 0 ||
	    buf_addf(out, "Auto-Submitted: %s\r\n"
			  "X-Loop: %s\r\n",
		     m->auto_replied ? "auto-replied" : "auto-generated",
		     m->from) < 0)
		goto out;
	if (m->bulk && buf_adds(out, "Precedence: bulk\r\n") < 0)
		goto out;
	if (m->list_id && buf_addf(out, "List-Id: %s\r\n", m->list_id) < 0)
		goto out;
	if (m->list_unsubscribe &&
	    buf_addf(out, "List-Unsubscribe: %s\r\n",
		     m->list_unsubscribe) < 0)
		goto out;
	if (buf_adds(out, "\r\n") < 0)
		goto out;
	if (body_7bit(&body)) {
		if (buf_add(out, body.data, body.len) < 0)
			goto out;
	} else {
		const unsigned char *p = (const unsigned char *)body.data;

		for (size_t off = 0; off < body.len; off += B64_LINE_BYTES) {
			size_t n = body.len - off;

			if (n > B64_LINE_BYTES)
				n = B64_LINE_BYTES;
			if (b64_add(out, p + off, n) < 0 ||
			    buf_adds(out, "\r\n") < 0)
				goto out;
		}
	}
	r = 0;
out:
	if (r < 0 && out->max && out->len >= out->max)
		log_error("compose: mail larger than %zu bytes", out->max);
	buf_release(&body);
	return r;
}
