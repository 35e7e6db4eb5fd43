/*
 * clock.h - the bot's notion of "now", movable for tests.
 *
 * The mailer and the digest ask clock_now() instead of time(), so a test
 * (or an operator replaying a missed week) can set KVMARM_NOW to a date
 * and see exactly what the bot would do then.
 */
#ifndef KVMARM_CLOCK_H
#define KVMARM_CLOCK_H

#include <stdint.h>

/*
 * Seconds since the epoch (UTC).  When the environment holds KVMARM_NOW
 * (a date digest_parse_date() accepts, e.g. "2025-09-15T09:00Z", or a
 * decimal epoch "@1757926800"), that instant plus the seconds elapsed
 * since the first call, so timers still advance; otherwise time(NULL).
 * A KVMARM_NOW that does not parse is ignored with one warning.
 */
int64_t clock_now(void);

#endif
