/*
 * classify.h - what a thread is and where it stands.
 *
 * Category rules (docs/digest.md lists them with examples), first match
 * wins:
 *  1. Bug Report: any mail of the thread is from syzbot
 *     (syzbot...@syzkaller.appspotmail.com) or tagged [syzbot], whatever
 *     the rest of the thread is; or the root is neither a patch nor a
 *     pull request and its subject reports a crash or regression (BUG:,
 *     WARNING:, KASAN:, KCSAN:, KMSAN:, UBSAN:, "kernel panic", Oops,
 *     a [BUG] or [REGRESSION] tag, the word "regression").
 *  2. GIT PULL: the root is a pull request ([GIT PULL], [PULL], [GIT]).
 *  3. RFC: the root carries an RFC tag.
 *  4. PATCH: the root is a patch: [PATCH], a numbered series without
 *     the word ("[v2 0/6]"), or a kvm-unit-tests or kvmtool tag group
 *     with a version or k/N ("[kvmtool v2 1/3]").
 *  5. Other.
 * "The root" is the thread_msg whose id is thread.root_id; when that
 * mail is not stored, the earliest mail of the thread stands in.
 */
#ifndef KVMARM_CLASSIFY_H
#define KVMARM_CLASSIFY_H

#include <stdint.h>

#include "store.h"
#include "thread.h"

enum category {
	CATEGORY_PATCH,
	CATEGORY_RFC,
	CATEGORY_BUG,
	CATEGORY_PULL,
	CATEGORY_OTHER,
	CATEGORY_COUNT
};

/* "PATCH", "RFC", "Bug Report", "GIT PULL", "Other". */
const char *category_name(enum category c);

enum category classify_thread(const struct thread *t);

/*
 * The mail the rules call "the root": t->msgs entry with id root_id,
 * else the earliest mail; NULL only when t has no mails.  Borrowed
 * from t.
 */
const struct thread_msg *classify_root(const struct thread *t);

/* 1 when the subject tags make a patch (rule 4 above); an RFC or a
 * pull request may be one too. */
int classify_is_patch(const struct subject_tags *tags);

/* 1 when addr (lowercase) is a syzbot sender: syzbot*@syzkaller.appspotmail.com */
int classify_is_syzbot(const char *addr);

/* A review tag given in the thread. */
struct status_tag {
	char *kind;		/* owned: "Reviewed-by", "Acked-by", "Tested-by" */
	char *who;		/* owned: "Name <addr>" as written */
	char *message_id;	/* owned: the mail that gave it */
	int64_t date;
};

/* A sentence that states a fact about the thread, with its source. */
struct status_note {
	char *text;		/* owned: verbatim from the mail's own prose */
	char *from_name;	/* owned */
	char *from_addr;	/* owned */
	char *message_id;	/* owned */
	int64_t date;
};

/* thread_status.roles[i], bits describing thread.msgs[i]. */
enum status_role {
	STATUS_SUBMISSION = 1 << 0,	/* the root, or a posting that is not
					 * a reply: a patch (with a diff), a
					 * cover letter (0/N) or a pull request */
	STATUS_AUTHOR	= 1 << 1,	/* sent by a patch author: the sender
					 * of the root when the root is a
					 * patch or pull request, else of any
					 * patch posted in the thread */
	STATUS_BOT	= 1 << 2,	/* syzbot, kernel test robot,
					 * pr-tracker-bot, patchwork-bot */
};

/*
 * The patch status rules (docs/digest.md "## Patch status" has the
 * examples).  All mails of the thread count, in date order, not only
 * those of a window; each mail's parsed record is read, and only its
 * trailers and its prose (the author's own lines: never quoted text,
 * the patch or the signature) are looked at.  Submissions (roles above)
 * never give status: a commit message saying "should" is not a
 * request, and tags carried inside a posted patch are not counted.
 *  - tags: Reviewed-by, Acked-by, Tested-by (Reviewed-and-tested-by
 *    gives both) trailers of replies by people other than the patch
 *    authors, deduplicated by (kind, address), the earliest kept;
 *  - applied: prose lines of replies by non-authors that start with
 *    "Applied to", "Applied, thanks", "Queued", "Pushed to", "Picked
 *    up", "Pulled, thanks", "Merged, thanks", "Merged into" (and a few
 *    more, see classify.c), lines with "has been merged into" (pr-
 *    tracker-bot) or "I've applied/queued/picked up", and b4 thank-you
 *    entries "[k/N] title" followed by "commit: <sha>" or a
 *    git.kernel.org link.  A reply of a patch author counts only when
 *    it holds such a b4 entry (a maintainer applying their own series);
 *  - reverted: a posting whose subject starts with Revert "..." in a
 *    thread whose root subject does not itself say "revert", and
 *    sentences of replies stating a revert as done ("I've reverted",
 *    "has been reverted", "was reverted", ...) without "if", "should",
 *    "would", "could", "unless" or a question mark;
 *  - changes: sentences of replies by non-authors and non-bots, in
 *    threads where a patch or pull request was posted, that contain a
 *    request marker ("please", "should", "can you", "could you",
 *    "would you", "would be better", "instead", "I'd rather", "I'd
 *    prefer", NAK, "Nacked-by", "drop this", "split this", "doesn't
 *    look right", "is wrong", ...) and none of the polite non-requests
 *    ("please ignore", "please let me know", "should be fine", "should
 *    work", ...).  Sentences are cut at ". ", "? ", "! " within a
 *    paragraph; indented lines (code) are skipped; at most 240 bytes;
 *  - superseded: thread.next_root is set.
 * Note texts are verbatim (whitespace collapsed, cut at a word with
 * "..." past the cap).
 */
struct thread_status {
	struct status_tag *tags;	/* owned, date order */
	size_t n_tags;
	struct status_note *applied;	/* "Applied to ...", "Queued ...", merged */
	size_t n_applied;
	struct status_note *changes;	/* changes requested by reviewers */
	size_t n_changes;
	struct status_note *reverted;	/* revert statements / revert patches */
	size_t n_reverted;
	int superseded;		/* a newer version exists (thread.next_root) */
	unsigned char *roles;	/* owned: enum status_role bits per
				 * thread.msgs[i]; NULL when n_roles is 0 */
	size_t n_roles;		/* == thread.n_msgs */
};

/*
 * Read the mails of t (their parsed records, from the store) and fill
 * *st (release with thread_status_release()).  Only the authors' own
 * non-quoted prose and trailers count: quoted text, diffs and
 * signatures are never taken as anyone's statement.  A mail of t that
 * is not in the store is skipped (its role is 0).  t must outlive
 * nothing here: *st owns copies.  Returns 0 or -1 (then *st holds
 * nothing to release).
 */
int classify_status(struct store_txn *txn, const struct thread *t,
		    struct thread_status *st);
/* Free what st owns and zero it; safe on a zeroed status. */
void thread_status_release(struct thread_status *st);

/*
 * Text helpers shared with the summarizer.
 *
 * classify_clip(): a malloc'd copy of the n bytes at s with every run
 * of blanks, tabs and newlines made one space, control characters
 * dropped, trimmed, and cut at the last space before cap bytes with
 * "..." appended when longer (cap 0: no cap).  NULL when out of memory.
 */
char *classify_clip(const char *s, size_t n, size_t cap);

/*
 * Call fn for each sentence of prose: paragraphs are runs of
 * non-blank lines that are not indented (a line starting with a tab
 * or four spaces is code or a listing and is skipped), joined with
 * spaces and cut after ". ", "? ", "! " (not after "e.g." and the
 * like).  fn gets the sentence (not NUL-terminated) and returns 0 to
 * go on, nonzero to stop (that value is returned); 0 when all were
 * seen, -1 when out of memory.
 */
typedef int (*classify_sentence_fn)(const char *s, size_t n, void *ctx);
int classify_sentences(const char *prose, classify_sentence_fn fn,
		       void *ctx);

#endif
