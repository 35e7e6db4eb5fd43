/*
 * test_schedule.c - the weekly digest instant in a time zone, across
 * daylight saving changes, and the moved clock (KVMARM_NOW).
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "clock.h"
#include "config.h"
#include "schedule.h"
#include "testutil.h"

static int64_t
utc(int y, int mo, int d, int h, int mi, int s)
{
	struct tm tm = {0};

	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = s;
	return (int64_t)timegm(&tm);
}

static void
cfg_set(struct config *cfg, const char *sched, const char *zone)
{
	assert_int_equal(config_init(cfg), 0);
	free(cfg->digest_schedule);
	free(cfg->digest_timezone);
	cfg->digest_schedule = strdup(sched);
	cfg->digest_timezone = strdup(zone);
	assert_non_null(cfg->digest_schedule);
	assert_non_null(cfg->digest_timezone);
}

/* Berlin, spring forward on Sunday 2025-03-30 02:00 -> 03:00. */
static void
test_schedule_berlin_spring(void **state)
{
	struct config cfg;
	int64_t due, next;

	cfg_set(&cfg, "Mon 09:00", "Europe/Berlin");
	/* a second before Monday 09:00 CEST (07:00Z) */
	assert_int_equal(schedule_due(&cfg, utc(2025, 3, 31, 6, 59, 59), &due,
				      &next), 0);
	assert_int_equal(due, utc(2025, 3, 24, 8, 0, 0));	/* 09:00 CET */
	assert_int_equal(next, utc(2025, 3, 31, 7, 0, 0));	/* 09:00 CEST */
	/* exactly at the instant: due now, next a week later */
	assert_int_equal(schedule_due(&cfg, utc(2025, 3, 31, 7, 0, 0), &due,
				      &next), 0);
	assert_int_equal(due, utc(2025, 3, 31, 7, 0, 0));
	assert_int_equal(next, utc(2025, 4, 7, 7, 0, 0));
	/* the week across the change is an hour short in local time,
	 * the window stays 7 * 86400 s */
	assert_int_equal(next - due, SCHEDULE_WINDOW);
	config_release(&cfg);

	/* a schedule inside the gap still gives one instant that day */
	cfg_set(&cfg, "Sun 02:30", "Europe/Berlin");
	assert_int_equal(schedule_due(&cfg, utc(2025, 3, 30, 12, 0, 0), &due,
				      &next), 0);
	assert_true(due >= utc(2025, 3, 30, 0, 30, 0) &&
		    due <= utc(2025, 3, 30, 1, 30, 0));
	assert_int_equal(next, utc(2025, 4, 6, 0, 30, 0));
	config_release(&cfg);
}

/* Berlin, fall back on Sunday 2025-10-26 03:00 -> 02:00. */
static void
test_schedule_berlin_fall(void **state)
{
	struct config cfg;
	int64_t due, next;

	cfg_set(&cfg, "Mon 09:00", "Europe/Berlin");
	assert_int_equal(schedule_due(&cfg, utc(2025, 10, 25, 12, 0, 0), &due,
				      &next), 0);
	assert_int_equal(due, utc(2025, 10, 20, 7, 0, 0));	/* CEST */
	assert_int_equal(next, utc(2025, 10, 27, 8, 0, 0));	/* CET */
	config_release(&cfg);

	/* 02:30 happens twice on 2025-10-26; one digest, not two */
	cfg_set(&cfg, "Sun 02:30", "Europe/Berlin");
	assert_int_equal(schedule_due(&cfg, utc(2025, 10, 26, 12, 0, 0), &due,
				      &next), 0);
	assert_true(due == utc(2025, 10, 26, 0, 30, 0) ||
		    due == utc(2025, 10, 26, 1, 30, 0));
	assert_int_equal(next, utc(2025, 11, 2, 1, 30, 0));
	config_release(&cfg);
}

static void
test_schedule_shanghai(void **state)
{
	struct config cfg;
	int64_t due, next;
	char d[16];

	cfg_set(&cfg, "Mon 09:00", "Asia/Shanghai");
	/* Monday 09:00 in Shanghai is Monday 01:00Z */
	assert_int_equal(schedule_due(&cfg, utc(2025, 9, 15, 0, 59, 59), &due,
				      &next), 0);
	assert_int_equal(due, utc(2025, 9, 8, 1, 0, 0));
	assert_int_equal(next, utc(2025, 9, 15, 1, 0, 0));
	/* Sunday 20:00Z is already Monday 04:00 in Shanghai */
	assert_int_equal(schedule_due(&cfg, utc(2025, 9, 14, 20, 0, 0), &due,
				      NULL), 0);
	assert_int_equal(due, utc(2025, 9, 8, 1, 0, 0));
	assert_int_equal(schedule_local_date("Asia/Shanghai",
					     utc(2025, 9, 14, 17, 0, 0), d,
					     sizeof(d)), 0);
	assert_string_equal(d, "2025-09-15");
	assert_int_equal(schedule_local_date("UTC", utc(2025, 9, 14, 17, 0, 0),
					     d, sizeof(d)), 0);
	assert_string_equal(d, "2025-09-14");
	config_release(&cfg);
}

static void
test_schedule_edges(void **state)
{
	struct config cfg;
	int64_t due = 0, next = 0;

	/* TZ of the process is restored */
	setenv("TZ", "America/New_York", 1);
	cfg_set(&cfg, "Wed 23:59", "UTC");
	assert_int_equal(schedule_due(&cfg, utc(2025, 9, 10, 23, 59, 0), &due,
				      &next), 0);
	assert_int_equal(due, utc(2025, 9, 10, 23, 59, 0));
	assert_int_equal(next, utc(2025, 9, 17, 23, 59, 0));
	assert_string_equal(getenv("TZ"), "America/New_York");
	unsetenv("TZ");
	config_release(&cfg);

	cfg_set(&cfg, "", "UTC");
	assert_int_equal(schedule_due(&cfg, 1757926800, &due, &next), 1);
	config_release(&cfg);
	cfg_set(&cfg, "Mon 09:00", "Not/A_Zone");
	assert_int_equal(schedule_due(&cfg, 1757926800, &due, &next), -1);
	config_release(&cfg);
	cfg_set(&cfg, "Monday 9am", "UTC");
	assert_int_equal(schedule_due(&cfg, 1757926800, &due, &next), -1);
	config_release(&cfg);
}

TEST_LIST(schedule,
	  cmocka_unit_test(test_schedule_berlin_spring),
	  cmocka_unit_test(test_schedule_berlin_fall),
	  cmocka_unit_test(test_schedule_shanghai),
	  cmocka_unit_test(test_schedule_edges));
