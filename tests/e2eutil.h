/*
 * e2eutil.h - driving the live bot against the loopback mail servers.
 *
 * For end-to-end tests: tests/run starts Dovecot (IMAP, LMTP,
 * submission), OpenSMTPD and public-inbox-imapd through
 * tests/e2e/mailtest-env.sh and exports MAILTEST_DIR.  Mail goes in by
 * SMTP (OpenSMTPD, port $SMTP_PORT, default 14025) and is read back
 * over IMAP (Dovecot, $IMAP_PORT, default 14143) as the user it was for,
 * as a person would.  Every wait polls with a deadline.
 */
#ifndef KVMARM_E2EUTIL_H
#define KVMARM_E2EUTIL_H

#include <stddef.h>
#include <sys/types.h>

/* MAILTEST_DIR, or NULL after printing a visible SKIP line for who. */
const char *e2e_env(const char *who);

double e2e_now(void);		/* monotonic seconds */
void e2e_nap(void);		/* 50 ms */

/* Start `BOT -c conf run`, stdout+stderr into logpath; the pid. */
pid_t e2e_start_bot(const char *conf, const char *logpath);

/* SIGTERM, wait up to 20 s (then SIGKILL); exit status or -1. */
int e2e_stop_bot(pid_t pid);

/* Occurrences of needle in the file at path (0 when unreadable). */
int e2e_count_in_file(const char *path, const char *needle);

/* Wait until path holds needle at least n times: 1, or 0 at deadline. */
int e2e_wait_file(const char *path, const char *needle, int n, double secs);

/*
 * Send raw (a whole mail, LF or CRLF) by SMTP to OpenSMTPD with the
 * envelope sender from and the comma-separated recipients rcpts.
 * 0 or -1.
 */
int e2e_smtp_send(const char *from, const char *rcpts, const char *raw);

/* One mail read back over IMAP; all strings malloc'd. */
struct e2e_mail {
	char *raw;		/* the whole mail, CRLF as served */
	char *header;		/* the header block, unfolded, LF */
	char *body;		/* decoded text body (base64 undone), LF */
};

/*
 * Every mail in user's INBOX over IMAP (libcurl, plain loopback IMAP
 * with LOGIN user/pass).  *out is a malloc'd array of *n mails (free
 * with e2e_mails_free()).  0, or -1 when the server cannot be read.
 */
int e2e_imap_fetch(const char *user, const char *pass, struct e2e_mail **out,
		   size_t *n);
void e2e_mails_free(struct e2e_mail *m, size_t n);

/*
 * The value of header field name (case-insensitive) in m, malloc'd, or
 * NULL when absent.
 */
char *e2e_header(const struct e2e_mail *m, const char *name);

/*
 * Poll user's INBOX until at least n mails have a header field name
 * containing needle (NULL name: anywhere in the raw mail); returns
 * how many had it at the end (possibly fewer than n after secs).
 */
size_t e2e_wait_mails(const char *user, const char *pass, const char *name,
		      const char *needle, size_t n, double secs);

/* Empty user@example.test's Maildir (new/ and cur/).  0 or -1. */
int e2e_maildir_clear(const char *mailtest_dir, const char *user);

/*
 * Drop a mail straight into user's Maildir/new (owned by vmail, as
 * Dovecot's LMTP would leave it), for floods faster than SMTP.  Dovecot
 * still serves it over IMAP and IDLE reports it.  0 or -1.
 */
int e2e_maildir_deliver(const char *mailtest_dir, const char *user,
			const char *raw, unsigned seq);

#endif
