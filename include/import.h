/*
 * import.h - feed mail from files into the store: mbox (mboxo/mboxrd,
 * optionally gzip'd), Maildir folders, single message files, and
 * public-inbox v2 git repositories (read with `git cat-file --batch`,
 * resuming after the last imported commit).
 *
 * Messages are written in large transactions.  A message counts as
 * imported only once its transaction has committed, and only then is
 * it reported: a kill -9 at any moment loses nothing that was reported.
 */
#ifndef KVMARM_IMPORT_H
#define KVMARM_IMPORT_H

#include <stdio.h>
#include <stdint.h>

#include "store.h"

struct import_stats {
	uint64_t imported;	/* new messages committed */
	uint64_t duplicates;	/* Message-ID already stored */
	uint64_t rejected;	/* not a mail at all, reason reported */
};

struct import_options {
	unsigned batch;		/* messages per transaction, 0 = default */
	FILE *report;		/* per-rejection lines; NULL = stderr */
	FILE *progress;		/* "committed N" after each commit, or NULL */
};

/*
 * Import everything found at path (file, directory tree or public-inbox
 * git repository) into store, adding to *st.  Rejected mails are
 * reported and counted, never fatal.  Returns 0, or -1 when path cannot
 * be read at all or the store fails (what was committed stays).
 */
int import_path(struct store *store, const char *path,
		const struct import_options *opt, struct import_stats *st);

#endif
