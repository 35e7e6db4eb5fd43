/*
 * lore.h - read a Message-ID out of a public-inbox URL such as
 * https://lore.kernel.org/kvmarm/ID/ (also /r/ID/ and msgid.link's
 * https://msgid.link/ID), as operators paste them on the command line.
 */
#ifndef KVMARM_LORE_H
#define KVMARM_LORE_H

/*
 * url starts with "http://" or "https://".  The id is the second path
 * segment (LIST/ID/...), or the only one (msgid.link); query and
 * fragment are ignored.  Sets [*start, *end) to it, still %-escaped,
 * inside url, and returns 0; -1 when the URL has no such segment.
 */
int lore_url_id_span(const char *url, const char **start, const char **end);

/* The value of hex digit c, or -1 (for decoding %XX escapes). */
int lore_hexval(int c);

#endif
