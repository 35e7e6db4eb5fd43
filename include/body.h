/*
 * body.h - the text body of a mail, whatever its MIME structure.
 *
 * Part of the message parser (message.c).  libetpan's mailmime_parse()
 * gives the MIME tree; this module picks the parts a reader would read
 * (text/plain and attached patches, text/html only when nothing else),
 * decodes their transfer encoding (libetpan) and charset (charset.h),
 * and normalises the result to UTF-8 with LF line ends.
 */
#ifndef KVMARM_BODY_H
#define KVMARM_BODY_H

#include <stddef.h>

#include "buf.h"

/*
 * Most multipart/message Content-Type fields a mail may carry before
 * its MIME structure is not parsed at all (libetpan recurses once per
 * nesting level, so the count bounds its stack use).
 */
#define BODY_MAX_COMPOSITE	256

/*
 * Append the text body of the mail (mail[0..len), starting with its
 * first header line; mail[len] must be '\0') to out, whose limit should
 * be MESSAGE_MAX_BODY.  body_off is where the body starts (after the
 * blank line ending the header block), used when the MIME structure
 * cannot be parsed.  Returns enum message_flag bits (MESSAGE_BAD_MIME,
 * MESSAGE_HTML_ONLY, MESSAGE_BAD_CHARSET, MESSAGE_BODY_TRUNCATED,
 * MESSAGE_NUL_BYTES); out of memory shows as MESSAGE_BODY_TRUNCATED.
 */
unsigned body_extract(const char *mail, size_t len, size_t body_off,
		      struct buf *out);

/*
 * Reduce HTML (UTF-8) to plain text appended to out: tags dropped,
 * script/style contents skipped, block tags turned into line breaks,
 * common entities decoded.  Returns enum charset_status bits.
 */
unsigned body_html_to_text(const char *html, size_t len, struct buf *out);

#endif
