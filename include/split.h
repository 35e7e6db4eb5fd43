/*
 * split.h - the structural split of a mail body.
 *
 * Part of the message parser (message.c): given the decoded text body,
 * tell the author's own prose from quoted text, the patch, its
 * diffstat, the trailers and the signature, and list the files the
 * patch touches.  Works on lines only; knows nothing of MIME.
 *
 * Rules (see message.h for the record they fill):
 *  - quoted: lines starting with '>' (after blanks), the attribution
 *    line(s) introducing them ("On ... wrote:", also on two lines and
 *    also when the author's text follows it directly), snip marks
 *    ("[...]") next to a quote, and everything after an Outlook
 *    "-----Original Message-----" line;
 *  - patch: from a "diff --git", "--- "+"+++ "+"@@" or "Index:" line
 *    (not quoted) to the end of the last hunk: hunk line counts are
 *    honoured (an empty line inside is context), then the hunk goes on
 *    while lines still look like diff lines; git binary patches too;
 *    several diffs in one body are all patch;
 *  - diffstat: " path | N +-" lines, the " N files changed" summary and
 *    the " create mode" lines after it; the "---" separator line is
 *    neither diffstat nor prose;
 *  - signature: after the last "-- " line when at most 15 lines follow
 *    it (up to a quote that runs to the end of the body, as when
 *    top-posting), plus a Mailman footer ("____" line then "... mailing
 *    list") within the last 12 lines;
 *  - trailers: "Key: value" lines with a key from the list in split.c,
 *    taken from the unquoted text before the first patch line (from
 *    all unquoted text when there is no patch), never from the
 *    signature; a value with an open '(' takes up to two following
 *    lines (wrapped "Fixes:"); "Cc: x@y" lines there are not prose
 *    either, but they are not collected;
 *  - prose: every other line, blank runs collapsed, trimmed.
 */
#ifndef KVMARM_SPLIT_H
#define KVMARM_SPLIT_H

#include <stddef.h>

#include "message.h"

/* Caps on lists taken from one body. */
#define SPLIT_MAX_FILES		4096
#define SPLIT_MAX_TRAILERS	512

struct split {
	char *prose;		/* all owned, "" when empty; each line ends */
	char *quoted;		/* with '\n' */
	char *patch;
	char *diffstat;
	char *signature;
	char **files;		/* owned, unique, in order of appearance */
	size_t n_files;
	struct trailer *trailers; /* owned, in order */
	size_t n_trailers;
};

/*
 * Split len bytes of UTF-8 text with LF line ends into *s (which need
 * not be initialised).  Returns 0, or -1 when out of memory (then *s
 * holds nothing to release).
 */
int split_body(const char *text, size_t len, struct split *s);

/* Free what s owns and zero it; safe on a zeroed split. */
void split_release(struct split *s);

#endif
