/*
 * llmsum.h - thread summaries from the LLM, cached, checked, with the
 * offline summarizer as the fallback.
 *
 * llmsum_summarize() is a summary_fn (include/summary.h) for the digest
 * and the `summarize` command.  Per thread and language it keeps one
 * record in STORE_DB_SUMMARY (docs/state-format.md): the SHA-256 of
 * what the summary covered (language, window start and the sorted
 * Message-IDs of the thread's mails dated before the window end), the
 * text, the window end, and the summary it was built on.  The same
 * thread with the same mails in the same window is answered from the
 * record without a request; a changed thread sends one request whose
 * prompt carries the previous week's summary as the earlier discussion
 * and only the mails since.
 *
 * Every answer is checked (llmsum_check()); a failing answer gets one
 * retry with the reason, then the offline summary (marked offline, not
 * cached, so a later run tries again).  So does an LLM error, and every
 * thread once the per-digest token budget (llm_token_budget) is spent,
 * and every later thread once the LLM failed with a temporary error
 * (after the client's own retries: the server is down or overloaded).
 * Cache and usage records are written into the caller's transaction
 * when it is a write transaction; in a read-only one they are skipped
 * (logged once).
 */
#ifndef KVMARM_LLMSUM_H
#define KVMARM_LLMSUM_H

#include "config.h"
#include "store.h"
#include "summary.h"

struct llmsum;

struct llmsum_stats {
	long requests;		/* chat requests sent (retries count) */
	long cached;		/* answered from the cache */
	long offline;		/* offline fallbacks */
	long tokens;		/* tokens spent (usage, else estimated) */
};

/*
 * A summarizer on cfg's LLM (cfg->llm_url must be set; cfg must outlive
 * it) with glossary (copied; NULL for none).  Returns 0 and *out, or -1
 * (logged).
 */
int llmsum_new(const struct config *cfg, const char *glossary,
	       struct llmsum **out);

/*
 * The same, with the glossary found by prompt_glossary_find(config_path).
 */
int llmsum_from_config(const struct config *cfg, const char *config_path,
		       struct llmsum **out);

void llmsum_free(struct llmsum *s);

/* The summary_fn; ctx is a struct llmsum *. */
int llmsum_summarize(void *ctx, struct store_txn *txn,
		     const struct summary_input *in, char **out,
		     int *offline);

/* The client's retry policy (llm_set_retry()), for tests. */
void llmsum_set_retry(struct llmsum *s, int max_retries, long backoff_ms,
		      long backoff_cap_ms);

const struct llmsum_stats *llmsum_get_stats(const struct llmsum *s);

/*
 * Delete the cached summaries (every language) of the thread whose
 * root is root_id, so the next llmsum_summarize() asks the LLM afresh
 * (a moderator's `regenerate <N>`).  Returns 0 (also when none was
 * cached) or -1.
 */
int llmsum_forget(struct store_txn *txn, const char *root_id);

/*
 * Check an answer.  material is the text the model was given (the
 * user prompt) plus the thread's sender names; glossary may be NULL.
 * Returns NULL when the answer passes, else a static English reason:
 *  - empty, or longer than LLMSUM_MAX_BYTES;
 *  - zh: fewer than 10 CJK characters or under 15% of the letters;
 *    en: CJK characters over 5% of the letters;
 *  - a line starting with '#' (a Markdown heading);
 *  - "http://", "https://" or "www." anywhere;
 *  - a trailer written as such ("Reviewed-by:", "Acked-by:",
 *    "Tested-by:", "Signed-off-by:", ... with the colon): the bot never
 *    gives or passes on a tag as if it were someone's;
 *  - an e-mail address or @name not in the material;
 *  - a person's name: two capitalised ASCII words ("Marc Zyngier"),
 *    the first not a common sentence opener, where the material holds
 *    neither the pair nor the second word (any case) - an invented
 *    surname fails, a capitalised term whose words the mails use
 *    passes;
 *  - a quotation ("..." or U+201C...U+201D) of at least 3 words or 6
 *    CJK characters that is not in the material verbatim (blank runs
 *    compared as one space).
 */
#define LLMSUM_MAX_BYTES 4000
const char *llmsum_check(const char *answer, const char *lang,
			 const char *material, const char *glossary);

#endif
