/*
 * be64.h - 64-bit integers as 8 big-endian bytes, for LMDB keys and
 * values: byte order is numeric order for unsigned values.  Signed
 * dates that must sort (store.c, thread_index.c) flip the sign bit
 * first; counters and event times that only need reading back
 * (inbox.c, ratelimit.c) are stored as they are.
 */
#ifndef KVMARM_BE64_H
#define KVMARM_BE64_H

#include <stdint.h>

static inline void
be64_put(unsigned char *p, uint64_t v)
{
	for (int i = 7; i >= 0; i--) {
		p[i] = (unsigned char)(v & 0xff);
		v >>= 8;
	}
}

static inline uint64_t
be64_get(const unsigned char *p)
{
	uint64_t v = 0;

	for (int i = 0; i < 8; i++)
		v = v << 8 | p[i];
	return v;
}

#endif
