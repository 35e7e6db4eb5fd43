/*
 * smtp.h - hand one finished mail to the configured SMTP server.
 *
 * libcurl does the protocol: smtps:// (implicit TLS) or smtp:// with
 * STARTTLS required (smtp_starttls = yes, the default) or plain
 * (smtp_starttls = no, for a local relay).  Certificates are always
 * verified (smtp_ca_file for a private CA).  libcurl dot-stuffs the
 * data itself, so the mail is passed as composed.
 */
#ifndef KVMARM_SMTP_H
#define KVMARM_SMTP_H

#include <stddef.h>

#include "config.h"

enum smtp_result {
	SMTP_SENT = 0,		/* the server answered 250 to the data */
	SMTP_TEMPORARY = -1,	/* retry later: connection, TLS, 4xx */
	SMTP_PERMANENT = -2,	/* do not retry: 5xx (550, 535...) */
};

/* Hard timeouts of one send, seconds. */
#define SMTP_CONNECT_TIMEOUT 15
#define SMTP_TOTAL_TIMEOUT 120

/*
 * Send the mail (CRLF bytes) from cfg->bot_address to the n rcpt
 * addresses through cfg->smtp_url, authenticating with smtp_user /
 * smtp_password when smtp_user is set.  Returns an enum smtp_result;
 * a failure is logged once with the server's reply (never the
 * password).  A configuration that cannot work (no smtp_url, a URL
 * that is not smtp:// or smtps://) is SMTP_PERMANENT.
 */
int smtp_send(const struct config *cfg, const char *const *rcpt, size_t n,
	      const char *mail, size_t len);

#endif
