/*
 * tz.h - run a piece of code with the process's TZ set to one zone.
 *
 * The digest shows times and the schedule counts days in a configured
 * IANA zone; libc only knows zones through TZ, so both set it, call
 * localtime_r()/mktime(), and put the caller's TZ back.  TZ is process
 * wide: never use this from two threads at once.
 */
#ifndef KVMARM_TZ_H
#define KVMARM_TZ_H

struct tz_saved {
	char *old;	/* owned: the caller's TZ, NULL when it was unset */
	int had;	/* TZ was set */
};

/*
 * Save the current TZ into *s, set TZ to zone and tzset().  Returns 0
 * (end with tz_leave()), or -1 (logged; nothing to undo).  zone is
 * taken as given: callers validate it first where it comes from input.
 */
int tz_enter(const char *zone, struct tz_saved *s);

/* Restore the TZ saved by tz_enter() and free what *s owns. */
void tz_leave(struct tz_saved *s);

#endif
