/*
 * llm.c - the chat-completions client: one system and one user message
 * out, the answer text and its token usage back, over libcurl with
 * json-c building the request and reading the answer.
 *
 * Every call uses its own curl handle, so calls may run in parallel
 * threads with one struct llm (it is read-only after llm_new()).  The
 * failure sorting follows the rest of the bot: temporary (the server or
 * the network may recover: transport errors, timeouts, 408, 429, 5xx)
 * is retried with capped backoff and then reported as
 * LLM_ERR_TEMPORARY; permanent (the same request would fail again:
 * other 4xx, an answer we cannot use) is LLM_ERR_PERMANENT.  The API
 * key only ever goes into the Authorization header; nothing here logs
 * a header.
 *
 * Token usage lives in STORE_DB_USAGE (docs/state-format.md, "usage").
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>
#include <json-c/json.h>

#include "buf.h"
#include "llm.h"
#include "log.h"

#define LLM_RESPONSE_MAX	(1024 * 1024)	/* answer bytes we accept */
#define LLM_JSON_DEPTH		32
#define LLM_RETRY_AFTER_MAX	60		/* seconds */
#define LLM_LOG_BODY_MAX	200		/* bytes of an error body logged */
#define LLM_PATH		"/chat/completions"

struct llm {
	const struct config *cfg;
	char *url;		/* base + "/chat/completions" */
	char *auth;		/* "Authorization: Bearer KEY", or NULL */
	int max_retries;
	long backoff_ms;	/* first backoff; doubles per retry */
	long backoff_cap_ms;
};

/* What one HTTP exchange gave. */
struct exchange {
	struct buf body;
	int too_big;
	long retry_after;	/* seconds, -1 when absent */
};

/* --- setup ------------------------------------------------------------ */

int
llm_new(const struct config *cfg, struct llm **out)
{
	struct llm *llm;
	struct buf b = BUF_INIT;
	size_t n;

	*out = NULL;
	if (!cfg || !cfg->llm_url || !*cfg->llm_url)
		return log_error("llm: no llm_url configured");
	if (strncmp(cfg->llm_url, "https://", 8) &&
	    strncmp(cfg->llm_url, "http://", 7))
		return log_error("llm: llm_url '%s' is not http(s)",
				 cfg->llm_url);
	if (!cfg->llm_model || !*cfg->llm_model)
		return log_error("llm: no llm_model configured");
	if (cfg->llm_timeout < 1)
		return log_error("llm: llm_timeout must be at least 1");
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		return log_error("llm: cannot initialise libcurl");

	llm = calloc(1, sizeof(*llm));
	if (!llm) {
		curl_global_cleanup();
		return log_errno("llm: out of memory");
	}
	llm->cfg = cfg;
	llm->max_retries = 3;
	llm->backoff_ms = 1000;
	llm->backoff_cap_ms = 30000;

	/* The base URL as the services document it (".../v1"); a full
	 * endpoint URL is accepted as well. */
	buf_init(&b, 8192);
	n = strlen(cfg->llm_url);
	while (n > 0 && cfg->llm_url[n - 1] == '/')
		n--;
	if (buf_add(&b, cfg->llm_url, n) < 0 ||
	    (!(n >= strlen(LLM_PATH) &&
	       !strcmp(b.data + n - strlen(LLM_PATH), LLM_PATH)) &&
	     buf_adds(&b, LLM_PATH) < 0))
		goto oom;
	llm->url = buf_detach(&b, NULL);
	if (!llm->url)
		goto oom;
	if (cfg->llm_api_key && *cfg->llm_api_key) {
		if (strpbrk(cfg->llm_api_key, "\r\n")) {
			llm_free(llm);
			return log_error("llm: llm_api_key contains a line "
					 "break");
		}
		buf_init(&b, 8192);
		if (buf_addf(&b, "Authorization: Bearer %s",
			     cfg->llm_api_key) < 0)
			goto oom;
		llm->auth = buf_detach(&b, NULL);
		if (!llm->auth)
			goto oom;
	}
	*out = llm;
	return 0;
oom:
	if (b.data && b.len)
		explicit_bzero(b.data, b.len);
	buf_release(&b);
	llm_free(llm);
	return log_error("llm: out of memory");
}

void
llm_set_retry(struct llm *llm, int max_retries, long backoff_ms,
	      long backoff_cap_ms)
{
	llm->max_retries = max_retries < 0 ? 0 : max_retries;
	llm->backoff_ms = backoff_ms < 0 ? 0 : backoff_ms;
	llm->backoff_cap_ms = backoff_cap_ms < 0 ? 0 : backoff_cap_ms;
}

void
llm_free(struct llm *llm)
{
	if (!llm)
		return;
	if (llm->auth) {
		explicit_bzero(llm->auth, strlen(llm->auth));
		free(llm->auth);
	}
	free(llm->url);
	free(llm);
	curl_global_cleanup();
}

/* --- one HTTP exchange ------------------------------------------------ */

static size_t
on_body(char *data, size_t size, size_t nmemb, void *ctx)
{
	struct exchange *ex = ctx;
	size_t n = size * nmemb;

	if (buf_add(&ex->body, data, n) < 0) {
		ex->too_big = 1;
		return 0;	/* makes curl fail with CURLE_WRITE_ERROR */
	}
	return n;
}

/* Only the delay-seconds form of Retry-After; an HTTP date falls back
 * to our own backoff. */
static size_t
on_header(char *data, size_t size, size_t nmemb, void *ctx)
{
	static const char name[] = "retry-after:";
	struct exchange *ex = ctx;
	size_t n = size * nmemb, i = sizeof(name) - 1;
	long v = 0;
	int digits = 0;

	if (n >= 5 && !strncmp(data, "HTTP/", 5)) {
		ex->retry_after = -1;	/* a new response starts */
		return n;
	}
	if (n < i || strncasecmp(data, name, i))
		return n;
	while (i < n && (data[i] == ' ' || data[i] == '\t'))
		i++;
	for (; i < n && data[i] >= '0' && data[i] <= '9'; i++, digits++)
		if (v < 100000)
			v = v * 10 + (data[i] - '0');
	while (i < n && (data[i] == ' ' || data[i] == '\t' ||
			 data[i] == '\r' || data[i] == '\n'))
		i++;
	if (digits && i == n)
		ex->retry_after = v;
	return n;
}

/*
 * Length of the valid UTF-8 sequence at s (1..4), or 0 when the bytes
 * there are not one (overlong forms, surrogates and code points past
 * U+10FFFF included).
 */
static size_t
utf8_seq(const unsigned char *s)
{
	size_t n, i;
	unsigned long cp;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		n = 2, cp = s[0] & 0x1f;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		n = 3, cp = s[0] & 0x0f;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		n = 4, cp = s[0] & 0x07;
	else
		return 0;
	for (i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	if ((n == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
	    (n == 4 && (cp < 0x10000 || cp > 0x10ffff)))
		return 0;
	return n;
}

/*
 * JSON must be UTF-8 and servers answer 400 to anything else, which
 * would make one stray byte in a mail a permanent failure: invalid
 * bytes become U+FFFD.  Returns s itself when it is valid, else a
 * malloc'd copy (*copy is set to it), or NULL when out of memory.
 */
static const char *
valid_utf8(const char *s, char **copy)
{
	const unsigned char *p = (const unsigned char *)s;
	struct buf b;
	size_t n;

	*copy = NULL;
	while (*p && (n = utf8_seq(p)))
		p += n;
	if (!*p)
		return s;
	buf_init(&b, 0);
	if (buf_add(&b, s, (size_t)((const char *)p - s)) < 0)
		goto oom;
	while (*p) {
		n = utf8_seq(p);
		if (n ? buf_add(&b, p, n) : buf_adds(&b, "\xef\xbf\xbd"))
			goto oom;
		p += n ? n : 1;
	}
	*copy = buf_detach(&b, NULL);
	return *copy;
oom:
	buf_release(&b);
	return NULL;
}

static char *
request_body(const struct llm *llm, const char *system, const char *user)
{
	struct json_object *root, *msgs, *m;
	char temp[32];
	char *out = NULL;
	const char *s;

	root = json_object_new_object();
	msgs = json_object_new_array();
	if (!root || !msgs)
		goto done;
	json_object_object_add(root, "model",
			       json_object_new_string(llm->cfg->llm_model));
	json_object_object_add(root, "messages", msgs);
	m = json_object_new_object();
	json_object_object_add(m, "role", json_object_new_string("system"));
	json_object_object_add(m, "content", json_object_new_string(system));
	json_object_array_add(msgs, m);
	m = json_object_new_object();
	json_object_object_add(m, "role", json_object_new_string("user"));
	json_object_object_add(m, "content", json_object_new_string(user));
	json_object_array_add(msgs, m);
	json_object_object_add(root, "max_tokens",
			       json_object_new_int(llm->cfg->llm_max_tokens));
	/* "%.17g" would send 0.20000000000000001; three decimals is all
	 * the precision a temperature has.  The C locale is in force. */
	snprintf(temp, sizeof(temp), "%.3f", llm->cfg->llm_temperature);
	json_object_object_add(root, "temperature",
			       json_object_new_double_s(
				       llm->cfg->llm_temperature, temp));
	json_object_object_add(root, "stream", json_object_new_boolean(0));
	s = json_object_to_json_string_ext(root, JSON_C_TO_STRING_PLAIN |
					   JSON_C_TO_STRING_NOSLASHESCAPE);
	if (s)
		out = strdup(s);
done:
	if (root)
		json_object_put(root);
	else if (msgs)
		json_object_put(msgs);
	return out;
}

/*
 * POST body once.  Returns the curl result; *status is the HTTP status
 * (0 when none arrived).
 */
static CURLcode
post_once(const struct llm *llm, const char *body, struct exchange *ex,
	  long *status)
{
	struct curl_slist *hdrs = NULL, *h;
	char errbuf[CURL_ERROR_SIZE] = "";
	CURL *curl;
	CURLcode rc;

	*status = 0;
	buf_release(&ex->body);
	buf_init(&ex->body, LLM_RESPONSE_MAX);
	ex->too_big = 0;
	ex->retry_after = -1;
	curl = curl_easy_init();
	if (!curl)
		return CURLE_OUT_OF_MEMORY;
	h = curl_slist_append(hdrs, "Content-Type: application/json");
	if (h)
		h = curl_slist_append(hdrs = h, "Accept: application/json");
	/* No "Expect: 100-continue" round trip for big prompts. */
	if (h)
		h = curl_slist_append(hdrs = h, "Expect:");
	if (h && llm->auth)
		h = curl_slist_append(hdrs = h, llm->auth);
	if (!h) {
		curl_slist_free_all(hdrs);
		curl_easy_cleanup(curl);
		return CURLE_OUT_OF_MEMORY;
	}
	hdrs = h;
	curl_easy_setopt(curl, CURLOPT_URL, llm->url);
	curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(curl, CURLOPT_HTTPHEADER, hdrs);
	curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE,
			 (curl_off_t)strlen(body));
	curl_easy_setopt(curl, CURLOPT_USERAGENT, "kvmarm-bot");
	curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(curl, CURLOPT_TIMEOUT, (long)llm->cfg->llm_timeout);
	curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT,
			 (long)(llm->cfg->llm_timeout < 30 ?
				llm->cfg->llm_timeout : 30));
	curl_easy_setopt(curl, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(curl, CURLOPT_SSL_VERIFYHOST, 2L);
	curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(curl, CURLOPT_ACCEPT_ENCODING, "");
	curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(curl, CURLOPT_WRITEDATA, ex);
	curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(curl, CURLOPT_HEADERDATA, ex);
	rc = curl_easy_perform(curl);
	curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, status);
	if (rc != CURLE_OK && !ex->too_big)
		log_warn("llm: request to '%s' failed: %s", llm->url,
			 *errbuf ? errbuf : curl_easy_strerror(rc));
	curl_slist_free_all(hdrs);
	curl_easy_cleanup(curl);
	return rc;
}

/* --- the answer ------------------------------------------------------- */

static struct json_object *
parse_json(const char *s, size_t len)
{
	struct json_tokener *tok = json_tokener_new_ex(LLM_JSON_DEPTH);
	struct json_object *obj;

	if (!tok)
		return NULL;
	obj = json_tokener_parse_ex(tok, s, (int)len);
	if (obj && json_tokener_get_parse_end(tok) != len) {
		/* Trailing whitespace is fine, anything else is not. */
		size_t i = json_tokener_get_parse_end(tok);

		while (i < len && strchr(" \t\r\n", s[i]))
			i++;
		if (i != len) {
			json_object_put(obj);
			obj = NULL;
		}
	}
	json_tokener_free(tok);
	return obj;
}

/* A log-safe excerpt of an error body: printable ASCII, truncated. */
static void
excerpt(const char *s, size_t len, char *out, size_t outsz)
{
	size_t i, o = 0;

	for (i = 0; i < len && o + 4 < outsz && i < LLM_LOG_BODY_MAX; i++) {
		unsigned char c = (unsigned char)s[i];

		out[o++] = (c >= 0x20 && c < 0x7f) ? (char)c : ' ';
	}
	if (i < len && o + 4 <= outsz) {
		memcpy(out + o, "...", 3);
		o += 3;
	}
	out[o] = '\0';
}

static void
log_http_error(const struct llm *llm, long status, const struct buf *body)
{
	struct json_object *obj, *err, *msg;
	char text[LLM_LOG_BODY_MAX + 8];
	const char *s = NULL;
	size_t len = 0;

	obj = parse_json(body->data, body->len);
	if (obj && json_object_object_get_ex(obj, "error", &err) &&
	    json_object_is_type(err, json_type_object) &&
	    json_object_object_get_ex(err, "message", &msg) &&
	    json_object_is_type(msg, json_type_string)) {
		s = json_object_get_string(msg);
		len = (size_t)json_object_get_string_len(msg);
	} else {
		s = body->data;
		len = body->len;
	}
	excerpt(s, len, text, sizeof(text));
	log_warn("llm: '%s' answered HTTP %ld: %s", llm->url, status,
		 *text ? text : "(empty body)");
	if (obj)
		json_object_put(obj);
}

static long
get_long(struct json_object *obj, const char *key)
{
	struct json_object *v;
	int64_t n;

	if (!json_object_object_get_ex(obj, key, &v) ||
	    !json_object_is_type(v, json_type_int))
		return 0;
	n = json_object_get_int64(v);
	return n < 0 ? 0 : n > 1000000000000L ? 1000000000000L : (long)n;
}

/*
 * Read a 200 answer.  Returns 0 and fills *answer and *usage, or -1
 * (logged) when the answer is not a usable chat.completion.
 */
static int
parse_answer(const struct llm *llm, const struct buf *body, char **answer,
	     struct llm_usage *usage)
{
	struct json_object *obj, *choices, *c0, *msg, *content, *u, *fr;
	char text[LLM_LOG_BODY_MAX + 8];
	size_t len;
	int ret = -1;

	obj = parse_json(body->data, body->len);
	if (!obj || !json_object_is_type(obj, json_type_object)) {
		excerpt(body->data, body->len, text, sizeof(text));
		log_warn("llm: '%s' answered with malformed JSON: %s",
			 llm->url, text);
		goto done;
	}
	if (!json_object_object_get_ex(obj, "choices", &choices) ||
	    !json_object_is_type(choices, json_type_array) ||
	    json_object_array_length(choices) < 1) {
		log_warn("llm: '%s' answered without choices", llm->url);
		goto done;
	}
	c0 = json_object_array_get_idx(choices, 0);
	if (!c0 || !json_object_is_type(c0, json_type_object) ||
	    !json_object_object_get_ex(c0, "message", &msg) ||
	    !json_object_is_type(msg, json_type_object) ||
	    !json_object_object_get_ex(msg, "content", &content) ||
	    !json_object_is_type(content, json_type_string)) {
		log_warn("llm: '%s' answered without message content",
			 llm->url);
		goto done;
	}
	if (json_object_object_get_ex(c0, "finish_reason", &fr) &&
	    json_object_is_type(fr, json_type_string) &&
	    !strcmp(json_object_get_string(fr), "length"))
		log_warn("llm: answer cut at llm_max_tokens (%d)",
			 llm->cfg->llm_max_tokens);
	len = (size_t)json_object_get_string_len(content);
	*answer = malloc(len + 1);
	if (!*answer) {
		log_errno("llm: out of memory");
		goto done;
	}
	memcpy(*answer, json_object_get_string(content), len);
	(*answer)[len] = '\0';
	memset(usage, 0, sizeof(*usage));
	if (json_object_object_get_ex(obj, "usage", &u) &&
	    json_object_is_type(u, json_type_object)) {
		usage->prompt_tokens = get_long(u, "prompt_tokens");
		usage->completion_tokens = get_long(u, "completion_tokens");
		usage->total_tokens = get_long(u, "total_tokens");
		if (!usage->total_tokens)
			usage->total_tokens = usage->prompt_tokens +
					      usage->completion_tokens;
	}
	ret = 0;
done:
	if (obj)
		json_object_put(obj);
	return ret;
}

static void
sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/*
 * The retry policy.  Each failed attempt is one of these; the counters
 * in llm_chat() decide whether another attempt follows.
 */
enum outcome { OUT_OK, OUT_TEMP, OUT_TIMEOUT, OUT_MALFORMED, OUT_PERM };

enum llm_result
llm_chat(struct llm *llm, const char *system, const char *user,
	 char **answer, struct llm_usage *usage)
{
	struct exchange ex = { .retry_after = -1 };
	enum outcome out = OUT_PERM;
	int attempt, timeouts = 0, malformed = 0;
	long delay = llm->backoff_ms;
	char *body, *sys_copy, *user_copy;

	*answer = NULL;
	memset(usage, 0, sizeof(*usage));
	system = valid_utf8(system ? system : "", &sys_copy);
	user = valid_utf8(user ? user : "", &user_copy);
	body = system && user ? request_body(llm, system, user) : NULL;
	free(sys_copy);
	free(user_copy);
	if (!body) {
		log_error("llm: cannot build the request: out of memory");
		return LLM_ERR_TEMPORARY;
	}
	for (attempt = 0;; attempt++) {
		long status, wait;
		CURLcode rc = post_once(llm, body, &ex, &status);

		if (rc == CURLE_OK && status == 200) {
			out = parse_answer(llm, &ex.body, answer, usage) ?
			      OUT_MALFORMED : OUT_OK;
		} else if (rc == CURLE_OK) {
			log_http_error(llm, status, &ex.body);
			out = (status == 408 || status == 429 ||
			       status >= 500) ? OUT_TEMP : OUT_PERM;
		} else if (ex.too_big) {
			log_warn("llm: answer from '%s' exceeds %d bytes",
				 llm->url, LLM_RESPONSE_MAX);
			out = OUT_PERM;
		} else if (rc == CURLE_OPERATION_TIMEDOUT) {
			out = OUT_TIMEOUT;
		} else if (rc == CURLE_OUT_OF_MEMORY) {
			out = OUT_PERM;
		} else if (rc == CURLE_UNSUPPORTED_PROTOCOL ||
			   rc == CURLE_URL_MALFORMAT ||
			   rc == CURLE_PEER_FAILED_VERIFICATION ||
			   rc == CURLE_SSL_CACERT_BADFILE) {
			/* A certificate that fails today fails tomorrow;
			 * retrying would only delay the message. */
			out = OUT_PERM;
		} else {
			out = OUT_TEMP;
		}
		if (out == OUT_OK || out == OUT_PERM)
			break;
		/*
		 * A server that twice let the whole llm_timeout pass will
		 * not answer a third time; two unusable 200 answers mean
		 * the server does not speak the protocol.  Both stop
		 * early so one thread cannot hold the digest for minutes.
		 */
		if (out == OUT_TIMEOUT && ++timeouts > 1)
			break;
		if (out == OUT_MALFORMED && ++malformed > 1)
			break;
		if (attempt >= llm->max_retries)
			break;
		wait = delay;
		if (ex.retry_after >= 0)
			wait = (ex.retry_after > LLM_RETRY_AFTER_MAX ?
				LLM_RETRY_AFTER_MAX : ex.retry_after) * 1000L;
		log_info("llm: retry %d of %d in %ld ms", attempt + 1,
			 llm->max_retries, wait);
		sleep_ms(wait);
		delay = delay * 2 > llm->backoff_cap_ms ?
			llm->backoff_cap_ms : delay * 2;
	}
	buf_release(&ex.body);
	free(body);
	switch (out) {
	case OUT_OK:
		return LLM_OK;
	case OUT_MALFORMED:
	case OUT_PERM:
		return LLM_ERR_PERMANENT;
	default:
		return LLM_ERR_TEMPORARY;
	}
}

/* --- usage in the store ---------------------------------------------- */

struct usage_rec {
	long requests;
	struct llm_usage u;
};

static int
usage_get(struct store_txn *txn, const char *key, struct usage_rec *r)
{
	const void *val;
	size_t vlen;
	struct json_object *obj;
	int rc;

	memset(r, 0, sizeof(*r));
	rc = store_kv_get(txn, STORE_DB_USAGE, key, strlen(key), &val, &vlen);
	if (rc < 0)
		return -1;
	if (rc == 1)
		return 0;
	obj = parse_json(val, vlen);
	if (!obj || !json_object_is_type(obj, json_type_object)) {
		if (obj)
			json_object_put(obj);
		return log_error("usage: corrupt record '%s'", key);
	}
	r->requests = get_long(obj, "requests");
	r->u.prompt_tokens = get_long(obj, "prompt_tokens");
	r->u.completion_tokens = get_long(obj, "completion_tokens");
	r->u.total_tokens = get_long(obj, "total_tokens");
	json_object_put(obj);
	return 0;
}

static int
usage_add(struct store_txn *txn, const char *key,
	  const struct llm_usage *add)
{
	struct usage_rec r;
	char val[256];
	int n;

	if (usage_get(txn, key, &r) < 0)
		return -1;
	r.requests++;
	r.u.prompt_tokens += add->prompt_tokens;
	r.u.completion_tokens += add->completion_tokens;
	r.u.total_tokens += add->total_tokens;
	n = snprintf(val, sizeof(val),
		     "{\"requests\":%ld,\"prompt_tokens\":%ld,"
		     "\"completion_tokens\":%ld,\"total_tokens\":%ld}",
		     r.requests, r.u.prompt_tokens, r.u.completion_tokens,
		     r.u.total_tokens);
	if (n < 0 || (size_t)n >= sizeof(val))
		return log_error("usage: record too long");
	return store_kv_put(txn, STORE_DB_USAGE, key, strlen(key), val,
			    (size_t)n);
}

int
llm_usage_record(struct store_txn *txn, int64_t when,
		 const struct llm_usage *usage)
{
	struct llm_usage u = *usage;
	char key[32];
	struct tm tm;
	time_t t = (time_t)when;

	if (u.prompt_tokens < 0 || u.completion_tokens < 0 ||
	    u.total_tokens < 0)
		return log_error("usage: negative token count");
	if (!u.total_tokens)
		u.total_tokens = u.prompt_tokens + u.completion_tokens;
	if ((int64_t)t != when || !gmtime_r(&t, &tm) ||
	    !strftime(key, sizeof(key), "day:%Y-%m-%d", &tm))
		return log_error("usage: bad time %lld", (long long)when);
	if (usage_add(txn, key, &u) < 0 || usage_add(txn, "total", &u) < 0)
		return -1;
	return 0;
}

int
llm_usage_totals(struct store_txn *txn, long *requests,
		 struct llm_usage *total)
{
	struct usage_rec r;

	if (usage_get(txn, "total", &r) < 0)
		return -1;
	*requests = r.requests;
	*total = r.u;
	return 0;
}
