/*
 * summary.h - what a thread says, in three parts, without guessing.
 *
 * The offline summarizer is the default when no LLM is configured and
 * the fallback when the LLM fails.  It is deterministic and states only
 * what a mail backs:
 *  1. the original patch/report: what the series, patch, pull request or
 *     report is, from the cover letter or the first paragraph of the
 *     commit message, with the diffstat in a few words; for syzbot the
 *     crash title and tree;
 *  2. the earlier discussion: the mails before the window (how many,
 *     since when, who took part, review tags given, earlier versions);
 *  3. this week: who replied, review tags given (and by whom), changes
 *     requested in the reviewers' own non-quoted sentences (quoted
 *     verbatim and attributed), applied/merged/reverted statements,
 *     newer versions.
 * A part without material says so in one short sentence.  Quoted text,
 * diffs and signatures are never taken as someone's statement.
 */
#ifndef KVMARM_SUMMARY_H
#define KVMARM_SUMMARY_H

#include <stdint.h>

#include "classify.h"
#include "store.h"
#include "thread.h"

struct summary_input {
	const struct thread *thread;
	enum category category;
	const struct thread_status *status;
	int64_t since;		/* the window, [since, until) UTC */
	int64_t until;
	const char *lang;	/* "zh" for Chinese, anything else English */
	const char *list_name;	/* for lore links to other versions:
				 * https://lore.kernel.org/LIST/ID/;
				 * NULL or "" means "kvmarm" */
};

/*
 * Compose the offline summary of in->thread: plain UTF-8 text, three
 * paragraphs separated by blank lines, each one line (the digest wraps
 * them), no Markdown, about 1500 bytes at most in English.
 * in->status may be NULL: the status is then computed here.  Only the
 * prose of one mail is read (the cover letter, first patch, pull
 * request or report); the rest comes from the thread's records and the
 * status.  The same store, thread and window give the same text.
 * *out is malloc'd; the caller frees it.  Returns 0 or -1.
 *
 * English templates (Chinese ones say the same):
 *  1. "NAME posted v6 of the 24-patch series "SUBJECT" on DATE. The
 *     cover letter says: "...". Diffstat: 31 files changed, +2100/-150.
 *     This is v6 of a series whose v5 was discussed on DATE (LINK)."
 *     For a pull request the URL and ref to pull and the commit count
 *     of the shortlog; for syzbot the crash title, HEAD commit and git
 *     tree; when the posting is not stored, that fact.
 *  2. "Before this week: N mails from DATE on, by A, B and C. ..."
 *     with the tags and applied/reverted statements of then, or "No
 *     earlier discussion: the thread started this week."
 *  3. "This week: N mails; replies from A (3) and B (1). Tags given:
 *     Reviewed-by from A. B wrote: "Applied to ...". A asked: "...".
 *     A newer version, v7, was posted on DATE: LINK." or "No replies
 *     this week."
 * Dates are YYYY-MM-DD in UTC.
 */
int summary_offline(struct store_txn *txn, const struct summary_input *in,
		    char **out);

/*
 * Pluggable summarizer used by the digest: the LLM module provides one
 * (issue #5); NULL means summary_offline().  It returns 0 and sets *out
 * (malloc'd) and *offline (1 when the text came from the offline
 * summarizer, e.g. as a fallback), or -1.
 */
typedef int (*summary_fn)(void *ctx, struct store_txn *txn,
			  const struct summary_input *in, char **out,
			  int *offline);

#endif
