/*
 * prompt.h - what the LLM is told: the system prompt and one thread's
 * mails as delimited data.
 *
 * The system prompt fixes the output language, the three-part structure
 * (the original patch/report; the earlier discussion; this week), the
 * rule against guessing and the plain-text layout, and carries the
 * kvm/arm64 glossary (config/glossary.txt).  The user prompt holds the
 * mails of one thread, each between "<<<MAIL ...>>>" and
 * "<<<END MAIL>>>" lines; any "<<<" or ">>>" inside mail text is
 * broken up so a mail cannot close its own block.  Only the parsed
 * record's prose (no quoted lines, diff or signature), its trailers,
 * the diffstat summary line and the names of the files touched are
 * sent, never the raw mail or the patch.
 *
 * Tokens are estimated as bytes / 4 (rounded up) everywhere: the
 * budget, the digest budget and the bench use the same estimator.
 */
#ifndef KVMARM_PROMPT_H
#define KVMARM_PROMPT_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "store.h"
#include "thread.h"

/* Default per-thread budget of the user prompt, in estimated tokens. */
#define PROMPT_THREAD_BUDGET	6000
/* Cap of one mail's prose in the prompt, bytes (cut with "[...]"). */
#define PROMPT_PROSE_CAP	6000
/* At most this many touched files are named per mail. */
#define PROMPT_MAX_FILES	12

/* The estimator: ceil(bytes / 4). */
size_t prompt_tokens(size_t bytes);

/*
 * Read a glossary file ("TERM = expansion" lines; '#' comments and
 * blank lines skipped) into *out as "TERM = expansion\n" lines
 * (malloc'd).  Returns 0, 1 when the file does not exist (*out NULL),
 * -1 on error or when a line is not of that form (logged with its
 * number).
 */
int prompt_glossary_load(const char *path, char **out);

/*
 * The glossary the bot uses: $KVMARM_GLOSSARY when set, else
 * glossary.txt beside config_path (may be NULL), else
 * config/glossary.txt of the working directory, else
 * /usr/local/share/kvmarm-bot/glossary.txt.  *out is NULL when none
 * exists (a warning is logged).  Returns 0 or -1.
 */
int prompt_glossary_find(const char *config_path, char **out);

/*
 * The system prompt for lang ("zh": Chinese, anything else English)
 * with glossary (may be NULL) appended.  *out malloc'd.  0 or -1.
 */
int prompt_system(const char *lang, const char *glossary, char **out);

struct prompt_input {
	const struct thread *thread;
	int64_t since;		/* the window [since, until) */
	int64_t until;
	/*
	 * Incremental history: the stored summary of the mails dated
	 * before earlier_until, sent as the earlier discussion; then only
	 * the mails dated in [earlier_until, until) are sent (and the
	 * root's posting, for part 1).  NULL: every mail dated before
	 * until is sent.
	 */
	const char *earlier;
	int64_t earlier_until;
	size_t budget;		/* tokens for the mails; 0: the default */
};

struct prompt_stats {
	size_t mails_sent;	/* mail blocks in the prompt */
	size_t mails_omitted;	/* dropped to fit the budget */
	size_t mails_missing;	/* in the thread but not stored */
	size_t bytes;		/* of the user prompt */
};

/*
 * Build the user prompt of in->thread into *out (malloc'd), reading the
 * parsed records from txn.  When the mail blocks exceed the budget the
 * root (cover letter or first posting), the mails that carry review
 * tags and the newest mails are kept, in that order of preference, and
 * "[N earlier mails omitted]" says what was dropped; the root's own
 * block is cut to fit when it alone is over.  st may be NULL.
 * Returns 0 or -1.
 */
int prompt_user(struct store_txn *txn, const struct prompt_input *in,
		char **out, struct prompt_stats *st);

/*
 * The naive prompt the bench compares against: every stored mail of
 * the thread dated before until, raw bytes whole, appended to out.
 * Returns 0 or -1.
 */
int prompt_naive(struct store_txn *txn, const struct thread *t,
		 int64_t until, struct buf *out);

#endif
