/*
 * classify_test.h - test fixtures shared by test_classify.c and
 * test_summary.c: a store filled from mail files, and threads built
 * from it without the threader (bot/thread.c), so that classification
 * and summaries are tested on their own.
 */
#ifndef KVMARM_CLASSIFY_TEST_H
#define KVMARM_CLASSIFY_TEST_H

#include <stddef.h>

#include "store.h"
#include "thread.h"

/* A fresh store under a temporary directory with everything at path
 * imported; fails the test when that does not work. */
struct store *ct_import(const char *path);

/*
 * The threads of the whole store by plain References/In-Reply-To
 * connectivity (union-find over message-ids, ghosts included), each
 * with its mails in date order and root_id set to its earliest mail
 * without a stored parent.  No series joining, no versions.  Free with
 * ct_free().
 */
void ct_threads(struct store_txn *txn, struct thread **out, size_t *n);

/* The thread holding message id, NULL when none does. */
struct thread *ct_find(struct thread *th, size_t n, const char *id);

/* A thread of exactly the given stored mails (root: ids[0]). */
void ct_thread_of(struct store_txn *txn, const char *const *ids, size_t n,
		  struct thread *out);

void ct_release(struct thread *t);
void ct_free(struct thread *th, size_t n);

#endif
