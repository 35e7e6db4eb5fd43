/*
 * strset.h - a set of borrowed strings, for de-duplication in linear time.
 *
 * The message parser keeps References, addresses and touched files
 * unique; with 10,000 References a pairwise comparison would be
 * quadratic.  The set only points at the strings: they must outlive it.
 */
#ifndef KVMARM_STRSET_H
#define KVMARM_STRSET_H

#include <stddef.h>

struct strset {
	const char **slot;	/* owned array; the strings are borrowed */
	size_t *lens;
	size_t n;		/* strings in the set */
	size_t cap;		/* slots, a power of two, 0 until first add */
};

#define STRSET_INIT { 0 }

/*
 * Add the n bytes at s unless an equal string is there already.
 * Returns 1 when added, 0 when already present, -1 when out of memory.
 */
int strset_add(struct strset *set, const char *s, size_t n);

/* Nonzero when the n bytes at s are in the set. */
int strset_has(const struct strset *set, const char *s, size_t n);

/* Free the slot array (not the strings) and empty the set. */
void strset_release(struct strset *set);

#endif
