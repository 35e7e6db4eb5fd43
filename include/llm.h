/*
 * llm.h - a client for OpenAI-compatible chat completions
 * (POST {llm_url}/chat/completions), as hosted services, vLLM,
 * llama.cpp's server and Ollama speak it; libcurl + json-c.
 *
 * It knows nothing about mail or digests: it sends a system and a user
 * message and returns the answer text and the token usage.  Retries
 * with capped exponential backoff on 429 and 5xx, honouring
 * Retry-After; no retry on other 4xx; hard timeouts; TLS verified.
 * The API key is sent only in the Authorization header and never logged.
 *
 * llm_url is the API's base URL, as the services document it:
 * https://api.openai.com/v1, http://127.0.0.1:8000/v1 (vLLM),
 * http://127.0.0.1:8080/v1 (llama.cpp), http://127.0.0.1:11434/v1
 * (Ollama); "/chat/completions" is appended (a URL that already ends
 * with it is used as is).  The request body is {"model", "messages":
 * [system, user], "max_tokens", "temperature", "stream": false}; the
 * header "Authorization: Bearer KEY" is sent only when llm_api_key is
 * set.  Bytes of system or user that are not valid UTF-8 are sent as
 * U+FFFD.  Answers larger than 1 MiB are refused.
 *
 * Failures and retries (one llm_chat() call):
 *   - transport errors (refused, reset, empty reply), 408, 429 and 5xx
 *     are retried up to 3 times after 1 s, 2 s, 4 s (doubling, capped
 *     at 30 s); a Retry-After header in seconds replaces that delay,
 *     capped at 60 s.  Still failing: LLM_ERR_TEMPORARY.
 *   - a timeout (llm_timeout seconds for the whole exchange) is
 *     retried once only: LLM_ERR_TEMPORARY.
 *   - a 200 answer that is not usable (malformed JSON, no choices, no
 *     string content) is retried once: LLM_ERR_PERMANENT.
 *   - other 4xx (401, 400, 404, ...), TLS verification failures and
 *     answers over the size cap: LLM_ERR_PERMANENT at once.
 * Each failed attempt logs one warning with the HTTP status and at most
 * 200 bytes of the error message; headers are never logged.
 */
#ifndef KVMARM_LLM_H
#define KVMARM_LLM_H

#include <stdint.h>

#include "config.h"
#include "store.h"

struct llm;

struct llm_usage {
	long prompt_tokens;
	long completion_tokens;
	long total_tokens;
};

enum llm_result {
	LLM_OK = 0,
	LLM_ERR_TEMPORARY = -1,	/* timeout, 429/5xx after the retries */
	LLM_ERR_PERMANENT = -2,	/* 4xx, malformed answer, no choices */
};

/*
 * Prepare a client from cfg (llm_url, llm_model, llm_api_key,
 * llm_timeout, llm_max_tokens, llm_temperature).  Returns 0 and *out,
 * or -1 (logged) when cfg has no llm_url or is invalid.  cfg must live
 * as long as the client.
 */
int llm_new(const struct config *cfg, struct llm **out);
void llm_free(struct llm *llm);

/*
 * Change the retry policy above (tests use short delays): at most
 * max_retries retries, the first delay backoff_ms milliseconds,
 * doubling up to backoff_cap_ms.  Retry-After still wins (capped at
 * 60 s).  Not for use while llm_chat() runs in another thread.
 */
void llm_set_retry(struct llm *llm, int max_retries, long backoff_ms,
		   long backoff_cap_ms);

/*
 * One chat completion.  On LLM_OK *answer is the malloc'd content of
 * choices[0].message.content (the caller frees it; it may be "") and
 * *usage is filled from the response's "usage" (zeros when absent;
 * total_tokens = prompt + completion when the server omits it).  On
 * failure *answer is NULL.  system and user may be NULL (sent as "").
 * Safe to call from several threads at once with one llm (each call
 * has its own connection); blocks for up to about
 * 2 * llm_timeout + 7 s, longer when the server sends Retry-After.
 */
enum llm_result llm_chat(struct llm *llm, const char *system,
			 const char *user, char **answer,
			 struct llm_usage *usage);

/*
 * Record one request's usage in STORE_DB_USAGE (per UTC day of `when`,
 * a Unix time, and totals) for `stats`; txn must be a write
 * transaction.  A total_tokens of 0 is taken as prompt + completion.
 * Returns 0 or -1 (logged; abort the transaction).
 */
int llm_usage_record(struct store_txn *txn, int64_t when,
		     const struct llm_usage *usage);

/* Totals for `stats`: requests and tokens (zeros in a store without
 * usage).  Returns 0 or -1. */
int llm_usage_totals(struct store_txn *txn, long *requests,
		     struct llm_usage *total);

#endif
