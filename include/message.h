/*
 * message.h - turn the raw bytes of one mail into a parsed record.
 *
 * This is the "remember" stage's front door: every mail the bot sees,
 * from an mbox, a Maildir, public-inbox or IMAP, goes through
 * message_parse() exactly once.  The parser uses libetpan for RFC 5322
 * headers, MIME structure, base64/quoted-printable and RFC 2047, and
 * iconv for charsets.  It touches no network and no storage, so it can be
 * fuzzed on bytes alone (tests/fuzz/fuzz_message.c).
 *
 * Every mail is hostile input.  The parser never aborts on bad content:
 * it records what it could not understand in message.flags and keeps
 * going.  It refuses a mail (returns -1) only when there is nothing that
 * looks like a header block at all.
 */
#ifndef KVMARM_MESSAGE_H
#define KVMARM_MESSAGE_H

#include <stddef.h>
#include <stdint.h>

/* Hard caps on what is taken from one mail; exceeding one sets a flag. */
#define MESSAGE_MAX_RAW		(64u * 1024 * 1024)	/* refused above this */
#define MESSAGE_MAX_REFERENCES	256	/* the newest ones are kept */
#define MESSAGE_MAX_ADDRESSES	512	/* per To or Cc field */
#define MESSAGE_MAX_BODY	(4u * 1024 * 1024)	/* decoded text kept */
#define MESSAGE_MAX_ID		998	/* RFC 5322 line limit */

/* message.flags: what was wrong with the mail, never fatal. */
enum message_flag {
	MESSAGE_SYNTHETIC_ID	= 1 << 0, /* Message-ID missing or broken */
	MESSAGE_BAD_DATE	= 1 << 1, /* Date missing or unparseable */
	MESSAGE_NO_FROM		= 1 << 2, /* From missing or unparseable */
	MESSAGE_BODY_TRUNCATED	= 1 << 3, /* body cut at MESSAGE_MAX_BODY */
	MESSAGE_HTML_ONLY	= 1 << 4, /* body reduced from text/html */
	MESSAGE_BAD_CHARSET	= 1 << 5, /* unknown charset or bad bytes */
	MESSAGE_BAD_MIME	= 1 << 6, /* MIME structure unparseable */
	MESSAGE_REFS_TRUNCATED	= 1 << 7, /* References over the cap */
	MESSAGE_NUL_BYTES	= 1 << 8, /* NUL bytes were replaced */
};

/*
 * What the subject's bracketed tags say.  "[RFC PATCH kvmtool v3 02/24]"
 * gives is_patch = is_rfc = 1, project "kvmtool", version 3, index 2,
 * total 24.
 */
struct subject_tags {
	int reply;		/* had Re:/RE:/AW:/Aw:/SV:/Antw: prefixes */
	int forward;		/* had Fwd:/Fw:/WG: */
	int patch;		/* [PATCH ...] or [... PATCH] */
	int rfc;		/* RFC tag */
	int resend;		/* RESEND tag */
	int pull;		/* [GIT PULL] or "[PULL ...]" */
	int syzbot;		/* [syzbot] */
	int version;		/* vN, 1 when absent */
	int index;		/* k in k/N, -1 when absent */
	int total;		/* N in k/N, -1 when absent */
	char project[32];	/* "kvmtool", "kvm-unit-tests", "" if none */
};

/* One trailer such as "Reviewed-by: Marc Zyngier <maz@kernel.org>". */
struct trailer {
	char *key;		/* owned; canonical case, e.g. "Reviewed-by" */
	char *value;		/* owned; the rest of the line, trimmed */
};

/*
 * The parsed record.  Every pointer is owned by the record and freed by
 * message_release(); strings are NUL-terminated valid UTF-8 (invalid
 * bytes are replaced with U+FFFD) and never NULL unless said otherwise.
 */
struct message {
	char *message_id;	/* without <>; synthetic "sha256-HEX@kvmarm-bot.invalid" */
	char *in_reply_to;	/* without <>, "" if none; first valid id */
	char **references;	/* without <>, in order, unique, self dropped */
	size_t n_references;

	char *from_name;	/* decoded display name, "" if none */
	char *from_addr;	/* lowercased addr-spec, "" if none */
	char **to;		/* addr-specs, lowercased */
	size_t n_to;
	char **cc;
	size_t n_cc;

	int64_t date;		/* UTC seconds since the epoch, 0 if bad */
	char *subject;		/* decoded, unfolded, "" if none */
	char *subject_bare;	/* subject without prefixes and [tags] */
	struct subject_tags tags;

	char *list_id;		/* List-Id contents, "" if none */
	char *auto_submitted;	/* Auto-Submitted value, "" if none */
	char *precedence;	/* Precedence value, "" if none */
	char *x_loop;		/* X-Loop value, "" if none */

	/*
	 * The text body in UTF-8 with LF line ends: text/plain preferred,
	 * multipart walked, transfer encoding and charset decoded.
	 */
	char *body;

	/*
	 * The structural split of body.  prose: the author's own lines,
	 * without quoted lines, the patch, trailers or signature.  quoted:
	 * the "> " lines.  patch: from the first "diff --git"/"--- a/"
	 * (or "Index:") line to the end of the diff.  diffstat: the
	 * " file | N +-" block and its summary line.  signature: after a
	 * "-- " line.
	 */
	char *prose;
	char *quoted;
	char *patch;
	char *diffstat;
	char *signature;
	char **files;		/* files the patch touches, unique */
	size_t n_files;
	struct trailer *trailers;
	size_t n_trailers;

	unsigned flags;		/* enum message_flag bits */
	uint64_t raw_size;	/* bytes of the raw mail */
};

/*
 * Parse one raw mail of len bytes (CRLF or LF; NUL bytes allowed) into
 * *msg, which the caller has zeroed or not initialised at all.
 * Returns 0 on success, with *msg to be released by message_release();
 * -1 when the bytes hold no header block (or exceed MESSAGE_MAX_RAW):
 * then *msg holds nothing to release and, when err is not NULL, a
 * static description of the reason is stored in *err.
 *
 * A header block is there when the first line (after one mbox "From "
 * line, which is skipped) is a "Name: value" field; a text file such as
 * a README is refused.  Running out of memory also returns -1.
 *
 * Decisions on broken mail:
 *  - message_id: any non-empty printable ASCII id is kept, with or
 *    without '@' ("yes"); libetpan drops blanks inside the brackets
 *    ("<a b>" gives "ab").  Missing, empty or unprintable: the
 *    synthetic "sha256-<first 32 hex digits>@kvmarm-bot.invalid" of
 *    the mail's bytes after any mbox "From " line, so the same mail
 *    gets the same id from an mbox, a Maildir or IMAP.
 *  - in_reply_to and references keep only ids of the form x@y: the
 *    "<yes>" of misused git-send-email is dropped, and so are
 *    comments ("(X's message of ...)").  Over MESSAGE_MAX_REFERENCES
 *    the first and the newest MESSAGE_MAX_REFERENCES - 1 are kept.
 *  - A field given twice: the first wins, except To and Cc which
 *    accumulate (unique, lowercased, groups expanded).
 *  - date 0 with MESSAGE_BAD_DATE when Date is missing or libetpan
 *    cannot parse it; two-digit years are 19xx/20xx.
 *  - MESSAGE_BAD_CHARSET also when raw 8-bit header or body bytes were
 *    not valid UTF-8 (they are then read as Windows-1252, or replaced
 *    with U+FFFD when the text is mostly UTF-8).
 *  - Body: text/plain and attached patches (text/x-diff, text/x-patch,
 *    other text/ parts too) in order; the plain alternative of a
 *    multipart/alternative; the signed part of multipart/signed;
 *    nothing from message/rfc822 parts or encrypted parts; text/html
 *    only when there is no other text (MESSAGE_HTML_ONLY).  When the
 *    MIME structure cannot be parsed (or nests deeper than libetpan
 *    can safely recurse), the raw body (MESSAGE_BAD_MIME).
 *  - Trailers: Signed-off-by, Reviewed-by, Acked-by, Tested-by,
 *    Reported-by, Suggested-by, Co-developed-by, Fixes, Link, Closes,
 *    Reviewed-and-tested-by (any case in the mail, this case in the
 *    record); "Cc:" lines are not collected.  The split rules are in
 *    include/split.h, the subject tag rules in bot/message_subject.c.
 */
int message_parse(const char *raw, size_t len, struct message *msg,
		  const char **err);

/* Free everything msg owns and zero it.  Safe on a zeroed record. */
void message_release(struct message *msg);

/*
 * Parse a subject's prefixes and tags.  Fills *tags and returns the
 * subject stripped of them, as a malloc'd string the caller frees
 * (NULL only when out of memory).
 */
char *message_subject_parse(const char *subject, struct subject_tags *tags);

/*
 * Serialisation used by the store and by `show --format json`.
 * message_to_json() returns a malloc'd JSON text the caller frees, NULL
 * on out of memory.  message_from_json() fills *msg (release it with
 * message_release()) and returns 0, or -1 when the text is not a
 * record this version wrote.
 */
char *message_to_json(const struct message *msg, int pretty);
int message_from_json(const char *json, size_t len, struct message *msg);

/*
 * Return the message-id inside "<...>" of a header value such as
 * In-Reply-To, skipping comments and junk; NULL when none is valid.
 * Valid means printable ASCII of the form x@y (so "<yes>" is not).
 * Text without any "<...>" is accepted when it is a single bare
 * "x@y" token (as pasted from a lore URL).  Used for trust-nothing
 * lookups (commands, lore URLs).  The result is malloc'd; the caller
 * frees it.
 */
char *message_id_normalise(const char *text);

#endif
