/*
 * log.h - one line per event on stderr: "kvmarm-bot: LEVEL: message".
 *
 * Errors are logged once, where they are detected; log_error() returns
 * -1 so a failing function can end with `return log_error(...)`.
 * Secrets (passwords, API keys) are never passed to these functions.
 */
#ifndef KVMARM_LOG_H
#define KVMARM_LOG_H

enum log_level { LOG_LEVEL_ERROR, LOG_LEVEL_WARN, LOG_LEVEL_INFO,
		 LOG_LEVEL_DEBUG };

/* Messages above this level are dropped; default LOG_LEVEL_INFO. */
void log_set_level(enum log_level level);

int log_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Like log_error(), with ": strerror(errno)" appended. */
int log_errno(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
