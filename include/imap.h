/*
 * imap.h - the listening side: one IMAP connection that keeps the store
 * level with a mailbox.
 *
 * imap_open() connects (imaps://, or imap:// with STARTTLS unless
 * imap_starttls = no), verifies the server certificate (tlsverify.h)
 * before LOGIN, and EXAMINEs the mailbox of imap_url (read-only: the bot
 * changes no flag).  A mailbox ending in ".*" (or one that does not
 * exist but has numbered children) is a public-inbox-imapd newsgroup
 * whose slices NAME.0, NAME.1, ... hold 50,000 mails each: the newest
 * slice is followed, and the next one when it appears.
 *
 * imap_catch_up() stores every mail above the last stored UID, in
 * batches; each batch is one write transaction holding the messages,
 * their thread links and the new sync state (STORE_DB_IMAP, see
 * docs/state-format.md), so a crash never loses or doubles a mail.
 *
 * The event loop (loop.h) owns waiting: imap_idle_start() gives it a
 * descriptor to poll, imap_idle_stop() ends IDLE.  Any -1 means the
 * connection is unusable: close it and reconnect.
 */
#ifndef KVMARM_IMAP_H
#define KVMARM_IMAP_H

#include <stddef.h>

#include "config.h"
#include "store.h"

/* Messages fetched per UID FETCH / write transaction. */
#define IMAP_BATCH 100
/* Re-issue IDLE before the 29 minutes of RFC 2177. */
#define IMAP_IDLE_RENEW_SECONDS (28 * 60)

struct imap;

/* Connect, verify, log in, EXAMINE.  0 and *out, or -1 (logged). */
/* cfg is borrowed and must outlive the connection (inbox_accept rules). */
int imap_open(const struct config *cfg, struct imap **out);

/*
 * The same; commands_only marks the mailbox of commands_imap_url (cfg
 * then a copy whose imap_url/user/password are the commands_* ones):
 * its mail is never archived, only mail to the bot is queued
 * (inbox_accept_request()).
 */
int imap_open_mailbox(const struct config *cfg, int commands_only,
		      struct imap **out);

/* Log out (best effort) and free.  NULL is fine. */
void imap_close(struct imap *im);

/*
 * Store all new mail.  stop(ctx), when not NULL, is asked between
 * batches; a true answer ends the catch-up early (committed batches
 * stay).  *stored counts messages newly stored.  0 or -1.
 */
int imap_catch_up(struct imap *im, struct store *store,
		  int (*stop)(void *ctx), void *ctx, size_t *stored);

/* 1 when the server offers IDLE, else 0 (then poll with imap_noop()). */
int imap_has_idle(const struct imap *im);

/*
 * Enter IDLE.  Returns the socket to poll for input, or -1.  When
 * *buffered is set on return, bytes already wait inside libetpan that
 * poll() cannot see: end IDLE at once.
 */
int imap_idle_start(struct imap *im, int *buffered);

/* Leave IDLE (DONE, read the answer).  0 or -1. */
int imap_idle_stop(struct imap *im);

/* NOOP, to hear about new mail when IDLE is not offered.  0 or -1. */
int imap_noop(struct imap *im);

/* The mailbox being followed (for logs); valid until imap_close(). */
const char *imap_mailbox(const struct imap *im);

#endif
