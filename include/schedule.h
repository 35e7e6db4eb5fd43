/*
 * schedule.h - when the weekly digest is due, in the configured zone.
 *
 * digest_schedule ("Mon 09:00") is a wall-clock time in
 * digest_timezone (an IANA name), so the digest follows the local
 * clock across daylight saving changes: the instant is found with
 * mktime() under that TZ.  A schedule time that does not exist on a
 * given day (inside a spring-forward gap) is taken as mktime()
 * normalises it (glibc: shifted by the gap, e.g. 02:30 -> 03:30); one
 * that exists twice (fall-back) is the first of the two.  The digest
 * window is [due - 7 days, due): exactly 7 * 86400 seconds, so across
 * a DST change it runs from the previous week's due instant shifted by
 * an hour.
 */
#ifndef KVMARM_SCHEDULE_H
#define KVMARM_SCHEDULE_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"

#define SCHEDULE_WINDOW (7 * 86400)

/*
 * The most recent scheduled instant <= now (*due), and the first one
 * > now (*next); either pointer may be NULL.  Returns 0, 1 when no
 * schedule is configured (digest_schedule ""), -1 (logged) when the
 * schedule or the zone is invalid.
 */
int schedule_due(const struct config *cfg, int64_t now, int64_t *due,
		 int64_t *next);

/*
 * Write the local date of t in zone ("" or NULL = UTC) as YYYY-MM-DD
 * into out (at least 11 bytes).  0 or -1.
 */
int schedule_local_date(const char *zone, int64_t t, char *out, size_t n);

#endif
