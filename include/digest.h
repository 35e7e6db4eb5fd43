/*
 * digest.h - compose the weekly digest of the list.
 *
 * digest_build() gathers the window's threads, their categories,
 * status and summaries from the store; digest_render() turns that model
 * into markdown (the layout of the user's example), plain text (at most
 * 80 columns, fit for a kernel list) or JSON (docs/digest-json.md).
 * The composer never sends anything: it returns text.
 */
#ifndef KVMARM_DIGEST_H
#define KVMARM_DIGEST_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "classify.h"
#include "store.h"
#include "summary.h"
#include "thread.h"

enum digest_format { DIGEST_MARKDOWN, DIGEST_TEXT, DIGEST_JSON };

struct digest_options {
	int64_t since;		/* inclusive, UTC epoch */
	int64_t until;		/* exclusive */
	int64_t now;		/* generation time */
	const char *lang;	/* "en" or "zh" */
	const char *list_name;	/* for lore links, e.g. "kvmarm" */
	const char *timezone;	/* IANA name for displayed times */
	summary_fn summarize;	/* NULL: offline summarizer */
	void *summarize_ctx;
};

struct digest_thread {
	struct thread thread;		/* owned */
	enum category category;
	struct thread_status status;	/* owned */
	size_t *window;		/* owned: indexes into thread.msgs of the
				 * mails in the window, date order */
	size_t n_window;
	size_t n_participants;	/* distinct senders, whole thread */
	char *summary;		/* owned */
	int summary_offline;	/* 1 when from the offline summarizer */
	int summary_edited;	/* 1 when a moderator wrote it (fix <N>) */
	size_t title;		/* index into thread.msgs of the mail whose
				 * subject is the thread's title: the root
				 * when stored, else the earliest mail */
	int64_t started;	/* earliest known date of the thread (UTC),
				 * 0 when no mail has a date */
	unsigned item;		/* moderation item number <N>, 0 = none */
};

struct digest {
	int64_t since, until, generated;
	char *lang;		/* owned */
	char *list_name;	/* owned */
	char *timezone;		/* owned */
	struct digest_thread *threads;	/* owned; by category, then by
					 * mails in the window, descending */
	size_t n_threads;
	size_t mails;		/* mails in the window */
	size_t large_threads;	/* threads with more than 20 mails in the window */
	size_t cat_threads[CATEGORY_COUNT];
	size_t cat_mails[CATEGORY_COUNT];
	int numbered;		/* render "<N>" before each thread title
				 * (moderators' drafts, moderation.h) */
};

/* Build the digest model.  Returns 0 (release with digest_release()) or -1. */
int digest_build(struct store_txn *txn, const struct digest_options *opt,
		 struct digest *out);

/* Append the rendering of d to out.  Returns 0 or -1. */
int digest_render(const struct digest *d, enum digest_format fmt,
		  struct buf *out);

void digest_release(struct digest *d);

/*
 * The JSON form alone (docs/digest-json.md), used by digest_render();
 * appended to out.  Returns 0 or -1.
 */
int digest_render_json(const struct digest *d, struct buf *out);

/*
 * Append https://lore.kernel.org/LIST/ID/ to out, with the characters
 * of the id that are not safe in a URL path percent-encoded as
 * public-inbox does ('/' gives %2F, '%' gives %25...).  0 or -1.
 */
int digest_lore_url(struct buf *out, const char *list_name,
		    const char *message_id);

/*
 * 1 when message_id can be looked up on lore: not the synthetic
 * "...@kvmarm-bot.invalid" id the parser gives a mail without one.
 */
int digest_on_lore(const char *message_id);

/*
 * Append text wrapped as the text digest wraps (80 display columns,
 * breaks at blanks and between CJK characters, URLs never cut): each
 * line of text is a paragraph of its own, empty lines are kept.
 * Control characters are cleaned.  0 or -1.
 */
int digest_wrap(struct buf *out, const char *text);

/* Write t as "2025-09-08T13:11:15Z" into out (at least 32 bytes). */
void digest_iso8601(int64_t t, char *out, size_t outsz);

/*
 * Is name a time zone the digest can show times in: "UTC", or an IANA
 * name (letters, digits, '/', '_', '+', '-') naming a TZif file under
 * $TZDIR, else /usr/share/zoneinfo?  1 yes, 0 no (nothing logged).
 */
int digest_timezone_valid(const char *name);

/*
 * Parse "YYYY-MM-DD" (midnight UTC) or ISO 8601 "YYYY-MM-DDTHH:MM[:SS]"
 * with "Z" or "+HH:MM"/"-HH:MM" (no zone = UTC) into *out.  0 or -1.
 * Also accepted: a space for the 'T', a fraction after the seconds
 * (ignored), "+HHMM" and "+HH" offsets.  Years 1900..9999; fields out
 * of range (month 13, 30 February, 24:00, second 60) and anything
 * after the date are refused.  Nothing is logged.
 */
int digest_parse_date(const char *text, int64_t *out);

#endif
