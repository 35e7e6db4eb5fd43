/*
 * strset.c - a set of borrowed strings (open addressing, FNV-1a).
 *
 * Used by the message parser to keep References, addresses and the
 * files a patch touches unique in linear time.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "strset.h"

static uint64_t
hash(const char *s, size_t n)
{
	uint64_t h = 0xcbf29ce484222325ull;

	for (size_t i = 0; i < n; i++) {
		h ^= (unsigned char)s[i];
		h *= 0x100000001b3ull;
	}
	return h;
}

static size_t
find(const struct strset *set, const char *s, size_t n)
{
	size_t mask = set->cap - 1, i = (size_t)hash(s, n) & mask;

	while (set->slot[i] &&
	       (set->lens[i] != n || memcmp(set->slot[i], s, n)))
		i = (i + 1) & mask;
	return i;
}

static int
grow(struct strset *set)
{
	struct strset bigger = { 0 };
	size_t i, j;

	bigger.cap = set->cap ? set->cap * 2 : 16;
	bigger.slot = calloc(bigger.cap, sizeof(*bigger.slot));
	bigger.lens = calloc(bigger.cap, sizeof(*bigger.lens));
	if (!bigger.slot || !bigger.lens) {
		free(bigger.slot);
		free(bigger.lens);
		return -1;
	}
	for (i = 0; i < set->cap; i++) {
		if (!set->slot[i])
			continue;
		j = find(&bigger, set->slot[i], set->lens[i]);
		bigger.slot[j] = set->slot[i];
		bigger.lens[j] = set->lens[i];
	}
	bigger.n = set->n;
	free(set->slot);
	free(set->lens);
	*set = bigger;
	return 0;
}

int
strset_has(const struct strset *set, const char *s, size_t n)
{
	return set->cap && set->slot[find(set, s, n)] != NULL;
}

int
strset_add(struct strset *set, const char *s, size_t n)
{
	size_t i;

	if ((set->n + 1) * 2 > set->cap && grow(set) < 0)
		return -1;
	i = find(set, s, n);
	if (set->slot[i])
		return 0;
	set->slot[i] = s;
	set->lens[i] = n;
	set->n++;
	return 1;
}

void
strset_release(struct strset *set)
{
	free(set->slot);
	free(set->lens);
	memset(set, 0, sizeof(*set));
}
