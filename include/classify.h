/*
 * classify.h - what a thread is and where it stands.
 *
 * Category rules (docs/digest.md lists them with examples), first match
 * wins:
 *  1. Bug Report: any mail of the thread is from syzbot
 *     (syzbot...@syzkaller.appspotmail.com) or tagged [syzbot], whatever
 *     the rest of the thread is; or the root is not a patch and its
 *     subject reports a crash or regression (BUG:, WARNING:, KASAN:,
 *     KCSAN:, UBSAN:, "kernel panic", Oops, [REGRESSION], "regression").
 *  2. GIT PULL: the root is a pull request ([GIT PULL], [PULL]).
 *  3. RFC: the root carries an RFC tag.
 *  4. PATCH: the root (or, when the root is missing, the first mail) is
 *     a patch: [PATCH], a kvm-unit-tests or kvmtool patch.
 *  5. Other.
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
};

/*
 * Read the mails of t (their parsed records, from the store) and fill
 * *st (release with thread_status_release()).  Only the authors' own
 * non-quoted prose and trailers count: quoted text, diffs and
 * signatures are never taken as anyone's statement.  Returns 0 or -1.
 */
int classify_status(struct store_txn *txn, const struct thread *t,
		    struct thread_status *st);
void thread_status_release(struct thread_status *st);

#endif
