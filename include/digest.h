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
};

/* Build the digest model.  Returns 0 (release with digest_release()) or -1. */
int digest_build(struct store_txn *txn, const struct digest_options *opt,
		 struct digest *out);

/* Append the rendering of d to out.  Returns 0 or -1. */
int digest_render(const struct digest *d, enum digest_format fmt,
		  struct buf *out);

void digest_release(struct digest *d);

/*
 * Parse "YYYY-MM-DD" (midnight UTC) or ISO 8601 "YYYY-MM-DDTHH:MM[:SS]"
 * with "Z" or "+HH:MM"/"-HH:MM" (no zone = UTC) into *out.  0 or -1.
 */
int digest_parse_date(const char *text, int64_t *out);

#endif
