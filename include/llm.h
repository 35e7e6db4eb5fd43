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
 * One chat completion.  On LLM_OK *answer is the malloc'd content of
 * choices[0].message.content (the caller frees it) and *usage is filled
 * from the response's "usage" (zeros when absent).
 */
enum llm_result llm_chat(struct llm *llm, const char *system,
			 const char *user, char **answer,
			 struct llm_usage *usage);

/*
 * Record one request's usage in STORE_DB_USAGE (per day and totals)
 * for `stats`.  Returns 0 or -1.
 */
int llm_usage_record(struct store_txn *txn, int64_t when,
		     const struct llm_usage *usage);

/* Totals for `stats`: requests and tokens.  Returns 0 or -1. */
int llm_usage_totals(struct store_txn *txn, long *requests,
		     struct llm_usage *total);

#endif
