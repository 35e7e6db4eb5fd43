/*
 * clock.c - clock_now(): the wall clock, or a moved one (KVMARM_NOW).
 *
 * A moved clock still ticks: the offset between KVMARM_NOW and the real
 * clock is taken at the first call, so a daemon started "at" Monday
 * 08:59:58 reaches its 09:00 schedule two real seconds later.
 */
#include <errno.h>
#include <stdlib.h>
#include <time.h>

#include "clock.h"
#include "digest.h"
#include "log.h"

static int clock_moved = -1;	/* -1 unknown, 0 real clock, 1 moved */
static int64_t clock_offset;

static int
parse_now(const char *s, int64_t *out)
{
	char *end;
	long long v;

	if (s[0] == '@') {
		errno = 0;
		v = strtoll(s + 1, &end, 10);
		if (errno || end == s + 1 || *end)
			return -1;
		*out = v;
		return 0;
	}
	return digest_parse_date(s, out);
}

int64_t
clock_now(void)
{
	int64_t real = (int64_t)time(NULL), moved;
	const char *env;

	if (clock_moved < 0) {
		env = getenv("KVMARM_NOW");
		clock_moved = 0;
		if (env && *env) {
			if (parse_now(env, &moved) == 0) {
				clock_offset = moved - real;
				clock_moved = 1;
			} else {
				log_warn("KVMARM_NOW '%s' is not a date, "
					 "using the real clock", env);
			}
		}
	}
	return real + (clock_moved ? clock_offset : 0);
}
