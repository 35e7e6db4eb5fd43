/*
 * audit.c - the append-only record of moderation decisions.
 *
 * Who decided what, and which attempts were refused, must survive a
 * crash and must not be rewritable by the bot itself: so one line per
 * event, appended with a single write() to a file opened O_APPEND (the
 * kernel places each write at the end, even with two processes: the
 * daemon and `kvmarm-bot moderate`), then fsync'd before the caller
 * goes on.  Everything in a line that came from outside (actor,
 * reason) is reduced to printable text first, so a reason with a
 * newline cannot forge a second line.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "audit.h"
#include "buf.h"
#include "log.h"

#define AUDIT_FILE		"audit.log"
#define AUDIT_DETAIL_MAX	300
#define AUDIT_WORD_MAX		320	/* actor, action, result */
#define AUDIT_LINE_MAX		2048

/*
 * Append s (at most max bytes of it) to b: control characters (C0,
 * DEL) become '?', and blanks become '_' when word is set.  Bytes of
 * 0x80 and above are kept (UTF-8 names), but a cut never ends inside a
 * UTF-8 sequence.
 */
static int
add_clean(struct buf *b, const char *s, size_t max, int word)
{
	size_t len = strnlen(s, max + 1);

	if (len > max) {
		len = max;
		/* Back off to the start of a character. */
		while (len > 0 && ((unsigned char)s[len] & 0xc0) == 0x80)
			len--;
	}
	for (size_t i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)s[i];

		if (word && (ch == ' ' || ch == '\t'))
			ch = '_';
		else if (ch < 0x20 || ch == 0x7f)
			ch = '?';
		if (buf_addc(b, (char)ch) < 0)
			return -1;
	}
	return 0;
}

static void
iso8601(int64_t t, char *out, size_t outsz)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (!gmtime_r(&tt, &tm) ||
	    !strftime(out, outsz, "%Y-%m-%dT%H:%M:%SZ", &tm))
		snprintf(out, outsz, "@%lld", (long long)t);
}

static int
add_word(struct buf *b, const char *s)
{
	if (!s || !*s)
		return buf_addc(b, '-');
	return add_clean(b, s, AUDIT_WORD_MAX, 1);
}

int
audit_log(const char *state_dir, int64_t now, const char *actor,
	  const char *action, unsigned id, const char *result,
	  const char *detail)
{
	char path[4096], when[32];
	struct buf line;
	ssize_t w;
	int fd, r = -1;

	if (!state_dir || !*state_dir)
		return log_error("no state directory for the audit log");
	if ((size_t)snprintf(path, sizeof(path), "%s/" AUDIT_FILE,
			     state_dir) >= sizeof(path))
		return log_error("state directory path too long for the "
				 "audit log");
	buf_init(&line, AUDIT_LINE_MAX);
	iso8601(now, when, sizeof(when));
	if (buf_adds(&line, when) < 0 || buf_addc(&line, ' ') < 0 ||
	    add_word(&line, actor) < 0 || buf_addc(&line, ' ') < 0 ||
	    add_word(&line, action) < 0 ||
	    buf_addf(&line, " %u ", id) < 0 ||
	    add_word(&line, result) < 0)
		goto nomem;
	if (detail && (buf_adds(&line, ": ") < 0 ||
		       add_clean(&line, detail, AUDIT_DETAIL_MAX, 0) < 0))
		goto nomem;
	if (buf_addc(&line, '\n') < 0)
		goto nomem;

	fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	if (fd < 0) {
		log_errno("cannot open '%s'", path);
		goto out;
	}
	/* One write() per line: O_APPEND makes it land whole at the end. */
	do
		w = write(fd, line.data, line.len);
	while (w < 0 && errno == EINTR);
	if (w < 0)
		log_errno("cannot write '%s'", path);
	else if ((size_t)w != line.len)
		log_error("short write to '%s'", path);
	else if (fsync(fd) < 0)
		log_errno("cannot fsync '%s'", path);
	else
		r = 0;
	if (close(fd) < 0 && r == 0)
		r = log_errno("cannot close '%s'", path);
out:
	buf_release(&line);
	return r;
nomem:
	buf_release(&line);
	return log_error("cannot format an audit line: out of memory");
}
