/*
 * charset.h - bytes in any mail charset to valid UTF-8.
 *
 * Part of the message parser (message.c): body parts and header values
 * arrive in whatever charset their sender chose, or in none at all.
 * These helpers turn them into valid UTF-8 with iconv (bodies) and
 * libetpan's RFC 2047 decoder (headers), never failing on bad input:
 * what cannot be converted is replaced and reported in the returned
 * bit mask.
 */
#ifndef KVMARM_CHARSET_H
#define KVMARM_CHARSET_H

#include <stddef.h>

#include "buf.h"

/* What went wrong during a conversion; never fatal. */
enum charset_status {
	CHARSET_UNKNOWN	= 1 << 0, /* charset label iconv does not know */
	CHARSET_INVALID	= 1 << 1, /* bytes invalid in their charset */
	CHARSET_FULL	= 1 << 2, /* out reached its limit, text was cut */
	CHARSET_NOMEM	= 1 << 3, /* out of memory, text was cut */
};

/* Longest header value decoded; the rest of a longer one is ignored. */
#define CHARSET_MAX_HEADER	(16u * 1024)

/*
 * Convert len bytes labelled with charset (NULL or "" when unlabelled)
 * to UTF-8 and append them to out.  Unlabelled, us-ascii and unknown
 * text is kept when it is valid UTF-8, or mostly valid UTF-8 (then the
 * stray bytes become U+FFFD), and is read as Windows-1252 otherwise;
 * GB2312/GBK are read as GB18030 and ISO-8859-1 as
 * Windows-1252 (their supersets).  Invalid bytes become U+FFFD.  When
 * out reaches its limit the text is cut at a character boundary.
 * NUL bytes are copied as they are.  Returns enum charset_status bits.
 */
unsigned charset_to_utf8(const char *charset, const char *in, size_t len,
			 struct buf *out);

/*
 * Decode a raw header value (as it appears after "Name:", possibly
 * folded) into one line of UTF-8: RFC 2047 encoded words are decoded
 * (libetpan), raw 8-bit bytes are kept when (mostly) valid UTF-8 and
 * read as Windows-1252 otherwise, folding and control characters become
 * single spaces, and the result is trimmed.  Only the first
 * CHARSET_MAX_HEADER bytes are read.  *out is a malloc'd string (NULL
 * only when out of memory, with CHARSET_NOMEM set).  Returns enum
 * charset_status bits.
 */
unsigned charset_decode_header(const char *raw, size_t len, char **out);

/* Nonzero when the len bytes are valid UTF-8 (no overlongs, surrogates
 * or code points above U+10FFFF). */
int charset_utf8_valid(const char *s, size_t len);

/*
 * Append s to out with every invalid UTF-8 sequence replaced by U+FFFD;
 * cut at a character boundary when out is full.  Returns
 * CHARSET_INVALID when something was replaced, CHARSET_FULL when cut.
 */
unsigned charset_utf8_sanitise(const char *s, size_t len, struct buf *out);

/* Length of the valid UTF-8 sequence at s (1-4), 0 when invalid. */
size_t charset_utf8_seq(const unsigned char *s, size_t len);

/* Append at most the bytes that fit in out, cut back to a UTF-8
 * character boundary; CHARSET_FULL when cut, CHARSET_NOMEM on
 * allocation failure. */
unsigned charset_buf_add(struct buf *out, const char *s, size_t len);

#endif
