/*
 * log.c - the bot's only way to speak to its operator: one line per
 * event on stderr, which systemd's journal or a log file collects.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "log.h"

static enum log_level max_level = LOG_LEVEL_INFO;

static const char *const level_names[] = {
	[LOG_LEVEL_ERROR] = "error",
	[LOG_LEVEL_WARN] = "warning",
	[LOG_LEVEL_INFO] = "info",
	[LOG_LEVEL_DEBUG] = "debug",
};

void
log_set_level(enum log_level level)
{
	max_level = level;
}

static void
log_line(enum log_level level, const char *suffix, const char *fmt,
	 va_list ap)
{
	char line[2048];

	if (level > max_level)
		return;
	/* Build the whole line first so concurrent writers do not interleave. */
	vsnprintf(line, sizeof(line), fmt, ap);
	fprintf(stderr, "kvmarm-bot: %s: %s%s%s\n", level_names[level], line,
		suffix ? ": " : "", suffix ? suffix : "");
}

int
log_error(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_line(LOG_LEVEL_ERROR, NULL, fmt, ap);
	va_end(ap);
	return -1;
}

int
log_errno(const char *fmt, ...)
{
	const char *why = strerror(errno);
	va_list ap;

	va_start(ap, fmt);
	log_line(LOG_LEVEL_ERROR, why, fmt, ap);
	va_end(ap);
	return -1;
}

void
log_warn(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_line(LOG_LEVEL_WARN, NULL, fmt, ap);
	va_end(ap);
}

void
log_info(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_line(LOG_LEVEL_INFO, NULL, fmt, ap);
	va_end(ap);
}

void
log_debug(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_line(LOG_LEVEL_DEBUG, NULL, fmt, ap);
	va_end(ap);
}
