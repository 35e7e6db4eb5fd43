/*
 * moderation.h - mail held for the maintainers' decision.
 *
 * With `moderation = digest` every scheduled digest, and with `all`
 * also every command answer that would go to the list, is stored here
 * as a held item instead of being sent; the moderators get a draft
 * (mailer.h) and decide by mail or with `kvmarm-bot moderate`.
 *
 * STORE_DB_MODERATION: "next_id" -> decimal counter; "item:%010u" ->
 * the item as JSON (docs/state-format.md).  Items are never deleted:
 * they are the record of what was held and decided.  Every decision,
 * accepted or refused, is also written to the audit log (audit.h).
 *
 * Ids are small decimals (1, 2, ...), easy to type in a reply.  The
 * token of item ID is token_make(token_secret, "mod-ID", CREATED in
 * decimal, CREATED): it is in the draft (subject and body), so only
 * someone who received the draft can act on the item, whatever From
 * says.  Being a moderator (From in `moderators`) is checked by the
 * caller (responder.c); the token here.
 */
#ifndef KVMARM_MODERATION_H
#define KVMARM_MODERATION_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "digest.h"
#include "store.h"
#include "token.h"

enum moderation_kind {
	MODERATION_DIGEST = 'd',	/* a digest window */
	MODERATION_REPLY = 'r',		/* a composed answer to a command */
};

enum moderation_state {
	MODERATION_HELD = 'h',
	MODERATION_APPROVED = 'a',	/* released to the outbox */
	MODERATION_REJECTED = 'r',
	MODERATION_EXPIRED = 'x',	/* deadline passed while held */
};

enum moderation_action {
	MODERATION_APPROVE,
	MODERATION_REJECT,
	MODERATION_DROP,	/* digest item <N> is left out */
	MODERATION_FIX,		/* digest item <N> gets the moderator's text */
	MODERATION_REGENERATE,	/* digest item <N> is summarized afresh */
};

/* An edit of digest item <n>; a later edit of the same n replaces it. */
struct moderation_edit {
	unsigned n;		/* 1-based item number of the draft */
	enum moderation_action what;	/* DROP, FIX or REGENERATE */
	char *text;		/* FIX: owned text; else NULL */
};

/* All pointers owned; release with moderation_item_release(). */
struct moderation_item {
	unsigned id;
	enum moderation_kind kind;
	enum moderation_state state;
	int64_t created;
	int64_t deadline;	/* expires when still held at this time */
	int64_t reminded;	/* when the reminder was queued, 0 = not */
	int64_t decided;	/* 0 while held */
	char *decided_by;	/* "" while held; an address or "cli:USER" */
	char *reason;		/* reject reason, "" for none */
	char *draft_id;		/* Message-ID of the latest draft mailed
				 * to the moderators, "" before any */

	/* MODERATION_DIGEST */
	int64_t since, until;	/* the window */
	char **threads;		/* root_id of item <n> at index n - 1 */
	size_t n_threads;
	struct moderation_edit *edits;
	size_t n_edits;

	/* MODERATION_REPLY: the finished mail, sent as is when approved */
	char *message_id;	/* without <> */
	char *raw;
	size_t raw_len;
	char **rcpt;
	size_t n_rcpt;
};

void moderation_item_release(struct moderation_item *item);

/*
 * Store item (kind and payload filled in by the caller) as a new held
 * item: assigns item->id, sets created = now, deadline = now +
 * moderation_deadline_hours, state HELD.  Returns 0 or -1.
 */
int moderation_hold(struct store_txn *txn, const struct config *cfg,
		    struct moderation_item *item, int64_t now);

/* Load item id: 0, 1 when absent, -1 on error (or corrupt, logged). */
int moderation_get(struct store_txn *txn, unsigned id,
		   struct moderation_item *out);

/* Write item back (same id).  0 or -1. */
int moderation_put(struct store_txn *txn, const struct moderation_item *item);

/*
 * Call fn for each item in id order (fn gets a loaded item it must not
 * keep); 0 goes on, other values stop and are returned.  0 at the end,
 * -1 on error.
 */
typedef int (*moderation_fn)(struct moderation_item *item, void *ctx);
int moderation_foreach(struct store_txn *txn, moderation_fn fn, void *ctx);

/* The item's token into out (TOKEN_MAX bytes): 0, or -1 (no secret). */
int moderation_token(const struct config *cfg,
		     const struct moderation_item *item, char *out,
		     size_t outsz);

/*
 * Apply one decision to item id, in txn:
 *  - token NULL means a trusted caller (the command line); else it must
 *    be the item's token (token_check, valid until the deadline plus a
 *    day), or the action is refused;
 *  - only a HELD item can be decided or edited; n must be 1..n_threads
 *    of a digest item for DROP/FIX/REGENERATE (text for FIX, at most
 *    COMMAND_MAX_TEXT bytes, valid UTF-8);
 *  - APPROVE sets APPROVED (decided, decided_by) and stores it; the
 *    caller then calls mailer_release() (mailer.h) on the item in the
 *    same transaction, so approval and sending commit together (this
 *    module does not depend on the mailer); REJECT sets REJECTED with
 *    reason text;
 *    edits are recorded (REGENERATE also drops that thread's cached
 *    LLM summary, llmsum_forget()) and, for mail, the caller mails a
 *    new draft (mailer_draft()).
 * Every call, accepted or refused, is written to the audit log of
 * state_dir with actor and, for refusals, the reason; the token never.
 * Returns 0 done, 1 refused (why in *why, static English, for the
 * answer and the log), -1 on error.  When out is not NULL and the
 * call returns 0, *out holds the item as stored afterwards (release it).
 */
int moderation_decide(struct store_txn *txn, const struct config *cfg,
		      const char *state_dir, unsigned id, const char *token,
		      const char *actor, enum moderation_action act,
		      unsigned n, const char *text, int64_t now,
		      const char **why, struct moderation_item *out);

/*
 * Number the threads of a digest built for a digest item and apply its
 * edits: sets d->threads[i].item (1-based) from item->threads by
 * root_id (threads not in the held list, such as late mail, get the
 * next numbers in order), removes DROPped threads (fixing the totals),
 * replaces FIXed summaries (marked not offline) and re-summarizes
 * REGENERATEd ones through opt->summarize (or the offline summarizer).
 * Returns 0 or -1.
 */
int moderation_apply_edits(struct store_txn *txn,
			   const struct moderation_item *item,
			   const struct digest_options *opt, struct digest *d);

#endif
