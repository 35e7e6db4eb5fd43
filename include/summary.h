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
	const char *lang;	/* "en" or "zh" */
};

/*
 * Compose the offline summary of in->thread: plain UTF-8 text, three
 * paragraphs separated by blank lines, no Markdown.  *out is malloc'd;
 * the caller frees it.  Returns 0 or -1.
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
