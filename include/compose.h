/*
 * compose.h - build one outgoing mail (RFC 5322 + MIME) as bytes.
 *
 * Every mail the bot sends (digests now, command replies later) is
 * composed here and handed to the outbox as finished bytes with CRLF
 * line ends, so a resend after a crash sends exactly the same mail.
 *
 * Choices (docs/outbox.md):
 *  - Subject: kept as is when it is printable ASCII without "=?";
 *    otherwise RFC 2047 "=?UTF-8?B?...?=" words of at most 39 bytes of
 *    text each (64 characters per word, under the 75 limit), cut only
 *    between UTF-8 characters, one word per folded line.
 *  - Body: Content-Type text/plain; charset=UTF-8.  Pure ASCII with
 *    every line under 998 bytes goes as 7bit; anything else as base64
 *    (76-column lines).  Not 8bit: libcurl never asks the server for
 *    BODY=8BITMIME, so an 8-bit body would only be safe by luck on the
 *    way to the list's subscribers; base64 survives every hop.
 */
#ifndef KVMARM_COMPOSE_H
#define KVMARM_COMPOSE_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"

/* Borrowed strings; they must live during compose_mail(). */
struct compose_mail {
	const char *from;		/* bot_address, addr-spec */
	const char *from_name;		/* NULL: "kvmarm-bot" */
	const char *const *to;		/* addr-specs */
	size_t n_to;
	const char *const *cc;
	size_t n_cc;
	const char *subject;		/* UTF-8 */
	const char *body;		/* UTF-8, LF or CRLF line ends */
	const char *message_id;		/* without <> */
	int64_t date;			/* UTC epoch for the Date field */
	const char *in_reply_to;	/* without <>, NULL for none */
	const char *const *references;	/* without <>, oldest first */
	size_t n_references;
	int bulk;			/* adds "Precedence: bulk" (digests) */
	int auto_replied;		/* Auto-Submitted: auto-replied (answers
					 * to a mail, RFC 3834); else every
					 * mail is auto-generated */
	const char *list_id;		/* whole List-Id value, NULL = none */
	const char *list_unsubscribe;	/* whole value, NULL = none */
};

/*
 * A new Message-ID (without <>) on the domain of bot_address:
 * "kvmarm-bot.NOW.16HEX@DOMAIN", the hex from OpenSSL RAND_bytes.
 * *out is malloc'd; the caller frees it.  Returns 0, or -1 (logged)
 * when bot_address has no usable domain or no randomness is available.
 */
int compose_message_id(const char *bot_address, int64_t now, char **out);

/*
 * Append the complete mail m to out (header, blank line, body; CRLF
 * line ends).  Returns 0, or -1 (logged) when a field would break the
 * header (CR, LF or other control bytes in an address, an id or a list
 * header; an address without '@'), the body or subject is not valid
 * UTF-8, or out is full.  On -1 out may hold a partial mail.
 */
int compose_mail(const struct compose_mail *m, struct buf *out);

#endif
