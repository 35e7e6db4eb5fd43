/*
 * config.h - the one configuration file of kvmarm-bot.
 *
 * Format: flat "key = value" lines, '#' starts a comment line, blank
 * lines ignored.  Unknown keys are errors.  A value of a *_password or
 * *_api_key key may be "env:NAME", read from the environment at load
 * time.  Every key is documented in docs/config.md and shown in
 * config/kvmarm-bot.conf.example.
 *
 * A comment must be on its own line: a '#' inside a value is part of
 * the value.  Whitespace around key and value is trimmed, and one pair
 * of double quotes around a value is removed (to keep leading or
 * trailing spaces).  After config_load() every string field is
 * non-NULL; "" means unset.
 */
#ifndef KVMARM_CONFIG_H
#define KVMARM_CONFIG_H

#include <stdio.h>

/* All strings are owned by the config and freed by config_release(). */
struct config {
	char *state_dir;	/* default "": commands then need --state */

	char *imap_url;		/* imaps://HOST:PORT/MAILBOX or imap://... */
	int imap_starttls;	/* for imap:// URLs; default yes */
	char *imap_user;
	char *imap_password;	/* secret: never logged */
	char *imap_ca_file;
	int imap_poll_seconds;	/* NOOP polling when no IDLE; default 60 */
	/*
	 * A second mailbox for mail to the bot, polled every
	 * imap_poll_seconds, when imap_url follows a read-only archive
	 * (public-inbox-imapd); "" = commands arrive in imap_url's box.
	 * TLS settings (imap_starttls, imap_ca_file) are shared.
	 */
	char *commands_imap_url;
	char *commands_imap_user;
	char *commands_imap_password;	/* secret */

	char *smtp_url;		/* smtps://HOST:PORT or smtp://HOST:PORT */
	int smtp_starttls;	/* for smtp:// URLs; default yes */
	char *smtp_user;
	char *smtp_password;	/* secret */
	char *smtp_ca_file;

	char *bot_address;	/* the bot's own mail address */
	char *list_name;	/* for lore links; default "kvmarm" */
	char *list_address;	/* the list's posting address, may be "" */
	char *digest_recipients;	/* comma-separated addresses */
	char *digest_schedule;	/* e.g. "Mon 09:00"; "" = no schedule */
	char *digest_timezone;	/* IANA name; default "UTC" */
	char *digest_lang;	/* "en" or "zh"; default "en" */

	char *llm_url;		/* chat-completions base URL, "" = offline */
	char *llm_model;
	char *llm_api_key;	/* secret */
	int llm_timeout;	/* seconds; default 60 */
	int llm_max_tokens;	/* per answer; default 800 */
	double llm_temperature;	/* default 0.2 */
	int llm_max_concurrent;	/* default 2 */
	long llm_token_budget;	/* per digest; default 200000 */

	char *moderators;	/* comma-separated addresses */
	char *moderation;	/* "all", "digest" or "none"; default "none" */
	int moderation_deadline_hours;	/* a held digest expires; default 48 */
	int moderation_reminder_hours;	/* remind this long before; 12 */

	char *token_secret;	/* secret: HMAC key of mailed tokens */
	int reply_to_list;	/* Cc the list on summarize answers; no */
	int rate_sender_per_hour;	/* summarize answers; default 5 */
	int rate_global_per_day;	/* answers of all kinds; default 100 */
};

/*
 * Fill *cfg with the defaults.  Returns 0, -1 on out of memory.
 */
int config_init(struct config *cfg);

/*
 * Read path into *cfg (which config_init() prepared), overriding the
 * defaults.  Every error is written to errout as "PATH:LINE: message";
 * all lines are checked before returning.  Returns 0 when the file is
 * valid, -1 otherwise (cfg then holds what was valid).  A file that
 * cannot be read at all gives "PATH: message".  Warnings (a literal
 * secret in a file others can read, a password sent in clear) are
 * "PATH:LINE: warning: message" and do not fail the load.  No message
 * ever contains a secret value.  errout may be NULL (say nothing).
 */
int config_load(struct config *cfg, const char *path, FILE *errout);

/* Free what cfg owns (secrets are wiped first) and zero it. */
void config_release(struct config *cfg);

/*
 * Split a comma-separated list (digest_recipients, moderators) into
 * trimmed items; empty items are dropped.  On success *out is a
 * malloc'd array of *n malloc'd strings (NULL when *n is 0) that the
 * caller frees with config_free_list().  Returns 0, or -1 on out of
 * memory (then *out is NULL and *n is 0).  A NULL value is an empty list.
 */
int config_split_list(const char *value, char ***out, size_t *n);
void config_free_list(char **list, size_t n);

/*
 * Parse a digest_schedule value "Ddd HH:MM" (Ddd one of Mon..Sun, as
 * spelled; HH:MM 24-hour, two digits each).  *wday follows struct tm:
 * 0 = Sunday .. 6 = Saturday.  Returns 0, or -1 (nothing logged) when
 * s is not such a value.  config_load() has already validated the
 * configured value with this same function.
 */
int config_parse_schedule(const char *s, int *wday, int *hour, int *min);

#endif
