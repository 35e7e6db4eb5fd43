/*
 * schedule.c - the weekly digest instant, computed in the configured
 * time zone with mktime()/localtime_r() under a temporarily set TZ.
 *
 * TZ is process-global: it is set, used and restored within one call,
 * and the bot has a single thread, so nobody sees the switch.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "config.h"
#include "digest.h"
#include "log.h"
#include "schedule.h"
#include "tz.h"

/* Enter the configured zone ("" means UTC), refusing unknown ones. */
static int
schedule_tz_enter(const char *zone, struct tz_saved *s)
{
	if (!zone || !*zone)
		zone = "UTC";
	if (!digest_timezone_valid(zone))
		return log_error("schedule: unknown time zone '%s'", zone);
	return tz_enter(zone, s);
}

/* The schedule instant on the local day now + off days, if its weekday. */
static int
instant(const struct tm *base, int off, int wday, int hour, int min,
	int64_t *out)
{
	struct tm t = *base;
	time_t r;

	t.tm_mday += off;
	t.tm_hour = 12;		/* noon: never inside a DST gap */
	t.tm_min = t.tm_sec = 0;
	t.tm_isdst = -1;
	if (mktime(&t) == (time_t)-1 || t.tm_wday != wday)
		return 0;
	t.tm_hour = hour;
	t.tm_min = min;
	t.tm_sec = 0;
	t.tm_isdst = -1;
	r = mktime(&t);
	if (r == (time_t)-1)
		return 0;
	*out = (int64_t)r;
	return 1;
}

int
schedule_due(const struct config *cfg, int64_t now, int64_t *due,
	     int64_t *next)
{
	int wday, hour, min, found_due = 0, found_next = 0;
	time_t tt = (time_t)now;
	struct tz_saved save;
	struct tm base;
	int64_t t;

	if (!cfg->digest_schedule || !*cfg->digest_schedule)
		return 1;
	if (config_parse_schedule(cfg->digest_schedule, &wday, &hour, &min))
		return log_error("schedule: bad digest_schedule '%s'",
				 cfg->digest_schedule);
	if (schedule_tz_enter(cfg->digest_timezone, &save) < 0)
		return -1;
	if (!localtime_r(&tt, &base)) {
		tz_leave(&save);
		return log_error("schedule: time out of range");
	}
	for (int off = 0; off >= -8 && !found_due; off--)
		if (instant(&base, off, wday, hour, min, &t) && t <= now) {
			found_due = 1;
			if (due)
				*due = t;
		}
	for (int off = 0; off <= 8 && !found_next; off++)
		if (instant(&base, off, wday, hour, min, &t) && t > now) {
			found_next = 1;
			if (next)
				*next = t;
		}
	tz_leave(&save);
	if (!found_due || !found_next)
		return log_error("schedule: no instant found near %lld",
				 (long long)now);
	return 0;
}

int
schedule_local_date(const char *zone, int64_t t, char *out, size_t n)
{
	time_t tt = (time_t)t;
	struct tz_saved save;
	struct tm tm;
	int ok;

	if (schedule_tz_enter(zone, &save) < 0)
		return -1;
	ok = localtime_r(&tt, &tm) && strftime(out, n, "%Y-%m-%d", &tm);
	tz_leave(&save);
	return ok ? 0 : log_error("schedule: cannot format a date");
}
