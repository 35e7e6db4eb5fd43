/*
 * tz.c - set TZ for a while and put it back (see tz.h for why).
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "tz.h"

/*
 * localtime_r() does not look at TZ again by itself, hence tzset()
 * here and in tz_leave().
 */
int
tz_enter(const char *zone, struct tz_saved *s)
{
	const char *old = getenv("TZ");

	s->had = old != NULL;
	s->old = old ? strdup(old) : NULL;
	if (s->had && !s->old)
		return log_error("out of memory");
	if (setenv("TZ", zone, 1) < 0) {
		free(s->old);
		s->old = NULL;
		return log_errno("cannot set TZ");
	}
	tzset();
	return 0;
}

void
tz_leave(struct tz_saved *s)
{
	if (s->had)
		setenv("TZ", s->old, 1);
	else
		unsetenv("TZ");
	tzset();
	free(s->old);
	s->old = NULL;
}
