/*
 * command.h - what a mail to the bot asks for, and whether to listen.
 *
 * Pure functions on a parsed mail (message.h): no store, no network,
 * so both are fuzzed on bytes (tests/fuzz/fuzz_command.c).  The
 * responder (responder.h) acts on the result.
 *
 * Reading commands (command_parse):
 *  - The bot's address may be plus-addressed: "bot+unsubscribe@d" and
 *    "bot+summarize@d" give that verb (the List-Unsubscribe mailto uses
 *    it); the body's command lines are still read for arguments.
 *  - Commands are the first non-quoted, non-empty lines of the body:
 *    quoted lines ("> ", ">"), lines of the bot's own help text, and
 *    leading "Hi"/"Hello ..." greetings are skipped; reading stops at
 *    the signature ("-- "), at the first line that is not a command
 *    (after at least one command), and after COMMAND_MAX_LINES
 *    commands.  When the body has no such line, the subject without
 *    "Re:"-style prefixes is read as the one command line.
 *  - Verbs are case-insensitive; surrounding blanks, a trailing '.'
 *    and bullets ("- ", "* ") are ignored.  Arguments are cut at
 *    COMMAND_MAX_ARG bytes; longer ones make the command invalid.
 *
 * The grammar (one command per line):
 *   summarize [MESSAGE-ID | <MESSAGE-ID> | LORE-URL]
 *   subscribe [en|zh]
 *   unsubscribe [TOKEN]
 *   confirm TOKEN               (or a line that is just a token)
 *   help
 *   approve ID TOKEN            (ID: decimal, optionally "#ID")
 *   reject ID TOKEN [REASON...]
 *   drop <N>                    (N: digest item number, 1..9999)
 *   regenerate <N>
 *   fix <N>: TEXT...            (TEXT: rest of the line, and following
 *                                non-empty, non-quoted lines until a
 *                                blank line; at most COMMAND_MAX_TEXT)
 */
#ifndef KVMARM_COMMAND_H
#define KVMARM_COMMAND_H

#include <stddef.h>

#include "config.h"
#include "message.h"

#define COMMAND_MAX_LINES 8
#define COMMAND_MAX_ARG 1000	/* a lore URL of a long Message-ID */
#define COMMAND_MAX_TEXT 4000	/* fix text */

enum command_verb {
	COMMAND_SUMMARIZE,
	COMMAND_SUBSCRIBE,
	COMMAND_UNSUBSCRIBE,
	COMMAND_CONFIRM,
	COMMAND_HELP,
	COMMAND_APPROVE,
	COMMAND_REJECT,
	COMMAND_DROP,
	COMMAND_REGENERATE,
	COMMAND_FIX,
	COMMAND_UNKNOWN,	/* the first line was not a command */
};

/* One command; strings owned by the command_list. */
struct command {
	enum command_verb verb;
	char *arg;	/* SUMMARIZE: message-id (normalised, without <>) or
			 * NULL for "the thread of this reply";
			 * SUBSCRIBE: "en", "zh" or NULL (default language);
			 * UNSUBSCRIBE/CONFIRM/APPROVE/REJECT: the token
			 * (NULL when none); REJECT: reason in text;
			 * UNKNOWN: the first word seen (at most 64 bytes) */
	unsigned id;	/* APPROVE, REJECT: the item id */
	unsigned item;	/* DROP, REGENERATE, FIX: N of <N> */
	char *text;	/* FIX: the corrected text; REJECT: reason, or NULL */
	int from_subject;	/* read from the subject, not the body */
};

struct command_list {
	struct command cmd[COMMAND_MAX_LINES];
	size_t n;
	int plus_verb;	/* 1 when the verb came from a +suffix address */
};

/*
 * Read the commands of msg addressed to bot_address (for +suffix
 * verbs).  Fills *out (release with command_list_release()); out->n is
 * 0 when the mail holds no command at all (a blank mail).  An invalid
 * argument (a summarize id that is not an id) makes that line
 * COMMAND_UNKNOWN.  Returns 0, or -1 on out of memory.
 */
int command_parse(const struct message *msg, const char *bot_address,
		  struct command_list *out);
void command_list_release(struct command_list *list);

/* Lowercase name of a verb ("summarize"), for logs and replies. */
const char *command_verb_name(enum command_verb verb);

/*
 * 1 when addr is bot_address itself or its plus form (local+x@domain),
 * compared case-insensitively; 0 otherwise (also when either is empty).
 */
int command_is_bot_address(const char *addr, const char *bot_address);

/*
 * 1 when the bot's address (any +suffix form) is in msg's To or Cc,
 * else 0 (also when bot_address is empty).  Bcc does not count.
 */
int command_addressed_to_bot(const struct message *msg,
			     const char *bot_address);

/* 1 when addr is one of cfg->moderators (case-insensitive), else 0. */
int command_is_moderator(const struct config *cfg, const char *addr);

/*
 * Should the bot act on msg at all?  Returns NULL when yes, else a
 * static reason for the log line ("not addressed to the bot", ...).
 * raw/len are the mail's bytes, for header fields the record does not
 * keep (Return-Path, every X-Loop).  In order:
 *  - bot_address unset: "no bot_address configured";
 *  - the bot's address (any +suffix) is in neither To nor Cc;
 *  - no From, or From is the bot itself (any +suffix);
 *  - a bounce: Return-Path "<>", From local part MAILER-DAEMON or
 *    postmaster (any case), or Content-Type multipart/report;
 *  - Auto-Submitted present and not "no";
 *  - any X-Loop field naming bot_address;
 *  - Precedence bulk, junk or list, unless From is a moderator;
 *  - a mail over COMMAND_MAX_MAIL bytes.
 */
#define COMMAND_MAX_MAIL (256u * 1024)
const char *command_screen(const struct config *cfg, const struct message *msg,
			   const char *raw, size_t len);

/*
 * 1 when msg came through the list rather than to the bot alone: its
 * List-Id names cfg->list_name (e.g. "<kvmarm.lists.linux.dev>" for
 * "kvmarm"), or cfg->list_address is in To or Cc.  Unknown words in
 * list traffic get no answer.
 */
int command_via_list(const struct config *cfg, const struct message *msg);

/*
 * The help text in lang ("en"/"zh"), UTF-8, lines under 76 columns,
 * naming bot_address in its examples.  Malloc'd; NULL on out of memory.
 * command_parse() skips lines of it quoted back unquoted.
 */
char *command_help_text(const char *bot_address, const char *lang);

#endif
