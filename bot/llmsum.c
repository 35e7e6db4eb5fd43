/*
 * llmsum.c - the digest's LLM summarizer: cache, incremental prompts,
 * output checks and the offline fallback.
 *
 * A weekly digest must cost tokens only for what changed, and must
 * never print what the model made up.  So each thread's summary is
 * stored with a hash of what it covered (an unchanged thread sends
 * nothing), last week's summary stands in for last week's mails, and
 * every answer is checked against the mails before it is used; what
 * fails twice is replaced by the offline summarizer's facts, marked.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <json-c/json.h>
#include <openssl/evp.h>

#include "buf.h"
#include "llm.h"
#include "llmsum.h"
#include "log.h"
#include "prompt.h"

#define KEY_PREFIX	"llm/"
#define CACHE_VERSION	1
#define MATERIAL_MAX	(8u * 1024 * 1024)

struct llmsum {
	const struct config *cfg;
	struct llm *llm;
	char *glossary;		/* owned, may be NULL */
	char *system[2];	/* owned: [0] en, [1] zh, built on demand */
	long budget;		/* tokens per digest, <= 0: no limit */
	int warned_ro;
	int no_writes;		/* a write failed: the txn is read-only */
	int down;		/* a temporary failure: stop asking */
	struct llmsum_stats stats;
};

int
llmsum_new(const struct config *cfg, const char *glossary,
	   struct llmsum **out)
{
	struct llmsum *s = calloc(1, sizeof(*s));

	*out = NULL;
	if (!s)
		return log_error("out of memory");
	s->cfg = cfg;
	s->budget = cfg->llm_token_budget;
	if (glossary && !(s->glossary = strdup(glossary))) {
		free(s);
		return log_error("out of memory");
	}
	if (llm_new(cfg, &s->llm) < 0) {
		free(s->glossary);
		free(s);
		return -1;
	}
	*out = s;
	return 0;
}

int
llmsum_from_config(const struct config *cfg, const char *config_path,
		   struct llmsum **out)
{
	char *g = NULL;
	int r;

	*out = NULL;
	if (prompt_glossary_find(config_path, &g) < 0)
		return -1;
	r = llmsum_new(cfg, g, out);
	free(g);
	return r;
}

void
llmsum_free(struct llmsum *s)
{
	if (!s)
		return;
	llm_free(s->llm);
	free(s->glossary);
	free(s->system[0]);
	free(s->system[1]);
	free(s);
}

void
llmsum_set_retry(struct llmsum *s, int max_retries, long backoff_ms,
		 long backoff_cap_ms)
{
	llm_set_retry(s->llm, max_retries, backoff_ms, backoff_cap_ms);
}

const struct llmsum_stats *
llmsum_get_stats(const struct llmsum *s)
{
	return &s->stats;
}

/* ---- output checks -------------------------------------------------- */

/* Decode one UTF-8 code point at *p (advancing it); invalid -> 0xFFFD. */
static unsigned
next_cp(const char **p)
{
	const unsigned char *s = (const unsigned char *)*p;
	unsigned c = s[0];
	int n = c < 0x80 ? 0 : c >= 0xF0 ? 3 : c >= 0xE0 ? 2 : c >= 0xC0 ? 1
								       : -1;

	if (n < 0) {
		(*p)++;
		return 0xFFFD;
	}
	if (n == 0) {
		(*p)++;
		return c;
	}
	c &= 0x3F >> n;
	for (int i = 1; i <= n; i++) {
		if ((s[i] & 0xC0) != 0x80) {
			*p += i;
			return 0xFFFD;
		}
		c = (c << 6) | (s[i] & 0x3F);
	}
	*p += n + 1;
	return c;
}

static int
is_cjk(unsigned c)
{
	return (c >= 0x3400 && c <= 0x9FFF) || (c >= 0xF900 && c <= 0xFAFF);
}

/* s with every run of blanks made one space (malloc'd). */
static char *
collapse(const char *s)
{
	size_t n = strlen(s);
	char *o = malloc(n + 1), *q = o;
	int sp = 0;

	if (!o)
		return NULL;
	for (; *s; s++) {
		if (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r') {
			sp = 1;
			continue;
		}
		if (sp && q > o)
			*q++ = ' ';
		sp = 0;
		*q++ = *s;
	}
	*q = '\0';
	return o;
}

static int
has_word_ci(const char *hay, const char *w, size_t n)
{
	char *k = strndup(w, n);
	int found = 0;

	if (!k)
		return 0;
	for (const char *p = hay; !found && (p = strcasestr(p, k)); p++)
		found = (p == hay || !isalnum((unsigned char)p[-1])) &&
			!isalnum((unsigned char)p[n]);
	free(k);
	return found;
}

static int
in_material(const char *mat, const char *s, size_t n)
{
	char *k = strndup(s, n);
	int r;

	if (!k)
		return 0;
	r = strstr(mat, k) != NULL;
	free(k);
	return r;
}

static const char *const openers[] = {
	"The", "This", "That", "These", "Those", "In", "On", "At", "For",
	"And", "But", "Then", "After", "Before", "When", "While", "Both",
	"Also", "No", "It", "As", "Since", "Later", "Finally", "Earlier",
	"Original", "Version", "Patch", "Series", "With", "From", "By",
	"He", "She", "They", "His", "Her", "Their", "There", "Here", "A",
	"An", "If", "So", "Now", "Meanwhile", "However", "Previously",
	"Subsequently", "Overall", "Reviewed", "Acked", "Tested", "Signed",
	"Applied", "Linux", "Arm", "ARM", NULL,
};

static int
is_opener(const char *w, size_t n)
{
	for (size_t i = 0; openers[i]; i++)
		if (strlen(openers[i]) == n && !memcmp(openers[i], w, n))
			return 1;
	return 0;
}

static int
cap_word(const char *p, size_t *n)
{
	size_t k = 1;

	if (!isupper((unsigned char)p[0]))
		return 0;
	while (islower((unsigned char)p[k]) || p[k] == '\'' ||
	       (p[k] == '-' && isalpha((unsigned char)p[k + 1])))
		k++;
	if (k < 2 || isalnum((unsigned char)p[k]) || p[k] == '_')
		return 0;
	*n = k;
	return 1;
}

static const char *
check_names(const char *a, const char *mat, const char *gl)
{
	for (const char *p = a; *p; p++) {
		size_t n1, n2;
		const char *w2;

		if (p > a && (isalnum((unsigned char)p[-1]) || p[-1] == '_'))
			continue;
		if (!cap_word(p, &n1) || p[n1] != ' ')
			continue;
		w2 = p + n1 + 1;
		if (!cap_word(w2, &n2) || is_opener(p, n1))
			continue;
		if (in_material(mat, p, (size_t)(w2 + n2 - p)) ||
		    has_word_ci(mat, w2, n2) ||
		    (gl && has_word_ci(gl, w2, n2)))
			continue;
		return "it names a person who is not a sender or "
		       "trailer-giver of the thread";
	}
	return NULL;
}

static const char *
check_addresses(const char *a, const char *mat)
{
	for (const char *p = strchr(a, '@'); p; p = strchr(p + 1, '@')) {
		const char *s = p, *e = p + 1;

		while (s > a && (isalnum((unsigned char)s[-1]) ||
				 strchr("._%+-", s[-1])))
			s--;
		while (isalnum((unsigned char)*e) || (*e && strchr(".-_", *e)))
			e++;
		while (e > p + 1 && e[-1] == '.')
			e--;
		if (e == p + 1)
			continue;
		if (!in_material(mat, s, (size_t)(e - s)))
			return "it gives an address or @name that is not in "
			       "the mails";
	}
	return NULL;
}

/* A quotation that must be verbatim: >= 3 words or >= 6 CJK chars. */
static int
quote_counts(const char *s, size_t n)
{
	const char *p = s, *e = s + n;
	int words = 0, in = 0, cjk = 0;

	while (p < e) {
		unsigned c = next_cp(&p);

		if (is_cjk(c))
			cjk++;
		if (c == ' ' || c == '\t' || c == '\n') {
			in = 0;
		} else if (!in) {
			in = 1;
			words++;
		}
	}
	return words >= 3 || cjk >= 6;
}

static const char *
check_quotes(const char *a, const char *cmat)
{
	static const char *const open[] = {"\"", "\xe2\x80\x9c"};
	static const char *const close[] = {"\"", "\xe2\x80\x9d"};

	for (int k = 0; k < 2; k++) {
		const char *p = a, *q, *e;

		while ((q = strstr(p, open[k]))) {
			q += strlen(open[k]);
			e = strstr(q, close[k]);
			if (!e)
				break;
			if (quote_counts(q, (size_t)(e - q))) {
				char *raw = strndup(q, (size_t)(e - q));
				char *c = raw ? collapse(raw) : NULL;
				int ok = c && strstr(cmat, c);

				free(raw);
				free(c);
				if (!ok)
					return "it quotes words that are not "
					       "verbatim in the mails";
			}
			p = e + strlen(close[k]);
		}
	}
	return NULL;
}

const char *
llmsum_check(const char *answer, const char *lang, const char *material,
	     const char *glossary)
{
	const char *p = answer, *r;
	size_t cjk = 0, letters = 0, len = strlen(answer);
	int zh = lang && !strcmp(lang, "zh");
	int empty = 1;
	char *cmat;

	for (const char *s = answer; *s; s++)
		if (!isspace((unsigned char)*s))
			empty = 0;
	if (empty)
		return "the answer is empty";
	if (len > LLMSUM_MAX_BYTES)
		return "the answer is too long";
	while (*p) {
		unsigned c = next_cp(&p);

		if (is_cjk(c))
			cjk++;
		else if (c < 0x80 && isalpha((int)c))
			letters++;
	}
	if (zh && (cjk < 10 || cjk * 100 < (cjk + letters) * 15))
		return "the answer is not in Chinese";
	if (!zh && cjk * 100 > (cjk + letters) * 5)
		return "the answer is not in English";
	for (p = answer; p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL) {
		const char *s = p;

		while (*s == ' ' || *s == '\t')
			s++;
		if (*s == '#')
			return "the answer has a Markdown heading";
	}
	if (strcasestr(answer, "http://") || strcasestr(answer, "https://") ||
	    strcasestr(answer, "www."))
		return "the answer contains a URL";
	/*
	 * The bot never speaks for a reviewer: a tag line in a summary
	 * could be copied into a commit as if someone had given it.
	 */
	{
		static const char *const tags[] = {
			"reviewed-by:", "acked-by:", "tested-by:",
			"signed-off-by:", "reported-by:", "suggested-by:",
			"co-developed-by:", "reviewed-and-tested-by:",
		};

		for (size_t i = 0; i < sizeof(tags) / sizeof(tags[0]); i++)
			if (strcasestr(answer, tags[i]))
				return "the answer contains a review tag line";
	}
	if ((r = check_addresses(answer, material)))
		return r;
	if ((r = check_names(answer, material, glossary)))
		return r;
	cmat = collapse(material);
	if (!cmat)
		return "out of memory";
	r = check_quotes(answer, cmat);
	free(cmat);
	return r;
}

/* ---- cache ---------------------------------------------------------- */

struct entry {
	char hash[65];
	char *summary;		/* owned */
	int64_t until;
	char *prev;		/* owned or NULL */
	int64_t prev_until;
};

static void
entry_release(struct entry *e)
{
	free(e->summary);
	free(e->prev);
	memset(e, 0, sizeof(*e));
}

static int
make_key(struct buf *k, const char *lang, const char *root)
{
	buf_init(k, 4096);
	return buf_addf(k, KEY_PREFIX "%s/%s", lang, root);
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* hex SHA-256 of "v1\nLANG\nSINCE\n" and the sorted ids dated < until. */
static int
cover_hash(const struct summary_input *in, const char *lang, char out[65])
{
	const struct thread *t = in->thread;
	const char **ids = calloc(t->n_msgs ? t->n_msgs : 1, sizeof(*ids));
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned mdlen = 0;
	EVP_MD_CTX *c;
	char head[96];
	size_t n = 0;
	int ok;

	if (!ids)
		return log_error("out of memory");
	for (size_t i = 0; i < t->n_msgs; i++)
		if (t->msgs[i].date < in->until)
			ids[n++] = t->msgs[i].id;
	qsort(ids, n, sizeof(*ids), cmp_str);
	snprintf(head, sizeof(head), "v%d\n%s\n%lld\n", CACHE_VERSION, lang,
		 (long long)in->since);
	c = EVP_MD_CTX_new();
	ok = c && EVP_DigestInit_ex(c, EVP_sha256(), NULL) &&
	     EVP_DigestUpdate(c, head, strlen(head));
	for (size_t i = 0; ok && i < n; i++)
		ok = EVP_DigestUpdate(c, ids[i], strlen(ids[i]) + 1);
	ok = ok && EVP_DigestFinal_ex(c, md, &mdlen);
	EVP_MD_CTX_free(c);
	free(ids);
	if (!ok || mdlen != 32)
		return log_error("cannot compute SHA-256");
	for (unsigned i = 0; i < 32; i++)
		snprintf(out + 2 * i, 3, "%02x", md[i]);
	return 0;
}

/* 0 found, 1 absent or unreadable (treated as absent), -1 error. */
static int
cache_get(struct store_txn *txn, const char *key, struct entry *e)
{
	struct json_tokener *tok;
	struct json_object *o, *v;
	const void *val;
	size_t vlen;
	int r;

	memset(e, 0, sizeof(*e));
	r = store_kv_get(txn, STORE_DB_SUMMARY, key, strlen(key), &val,
			 &vlen);
	if (r != 0)
		return r;
	tok = json_tokener_new();
	if (!tok)
		return log_error("out of memory");
	o = json_tokener_parse_ex(tok, val, (int)vlen);
	json_tokener_free(tok);
	if (!o || !json_object_is_type(o, json_type_object))
		goto bad;
	if (!json_object_object_get_ex(o, "v", &v) ||
	    json_object_get_int(v) != CACHE_VERSION)
		goto bad;
	if (!json_object_object_get_ex(o, "hash", &v) ||
	    json_object_get_string_len(v) != 64)
		goto bad;
	memcpy(e->hash, json_object_get_string(v), 65);
	if (!json_object_object_get_ex(o, "summary", &v) ||
	    !json_object_is_type(v, json_type_string))
		goto bad;
	e->summary = strdup(json_object_get_string(v));
	if (json_object_object_get_ex(o, "until", &v))
		e->until = json_object_get_int64(v);
	if (json_object_object_get_ex(o, "prev", &v) &&
	    json_object_is_type(v, json_type_string))
		e->prev = strdup(json_object_get_string(v));
	if (json_object_object_get_ex(o, "prev_until", &v))
		e->prev_until = json_object_get_int64(v);
	json_object_put(o);
	if (!e->summary) {
		entry_release(e);
		return log_error("out of memory");
	}
	return 0;
bad:
	json_object_put(o);
	entry_release(e);
	log_warn("summary cache record '%s' is unreadable; ignoring it", key);
	return 1;
}

static int
cache_put(struct llmsum *s, struct store_txn *txn, const char *key,
	  const struct entry *e)
{
	struct json_object *o = json_object_new_object();
	const char *txt;
	int r = -1;

	if (!o)
		return log_error("out of memory");
	json_object_object_add(o, "v", json_object_new_int(CACHE_VERSION));
	json_object_object_add(o, "hash", json_object_new_string(e->hash));
	json_object_object_add(o, "summary",
			       json_object_new_string(e->summary));
	json_object_object_add(o, "until", json_object_new_int64(e->until));
	json_object_object_add(o, "prev", e->prev
				     ? json_object_new_string(e->prev)
				     : NULL);
	json_object_object_add(o, "prev_until",
			       json_object_new_int64(e->prev_until));
	json_object_object_add(o, "offline", json_object_new_int(0));
	txt = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
	if (txt && !s->no_writes)
		r = store_kv_put(txn, STORE_DB_SUMMARY, key, strlen(key), txt,
				 strlen(txt));
	json_object_put(o);
	if (r < 0 && !s->warned_ro) {
		log_warn("summaries are not cached (is the store read-only?)");
		s->warned_ro = 1;
	}
	if (r < 0)
		s->no_writes = 1;
	return r;
}

/* ---- summarize ------------------------------------------------------ */

static int
fallback(struct llmsum *s, struct store_txn *txn,
	 const struct summary_input *in, char **out, int *offline)
{
	s->stats.offline++;
	*offline = 1;
	return summary_offline(txn, in, out);
}

/* The user prompt plus every sender name of the thread. */
static char *
material_of(const struct thread *t, const char *user)
{
	struct buf b;

	buf_init(&b, MATERIAL_MAX);
	if (buf_adds(&b, user) < 0)
		goto fail;
	for (size_t i = 0; i < t->n_msgs; i++)
		if (buf_addf(&b, "\n%s <%s>", t->msgs[i].from_name,
			     t->msgs[i].from_addr) < 0)
			goto fail;
	return buf_detach(&b, NULL);
fail:
	buf_release(&b);
	return NULL;
}

/* One request; 0 with *answer, or -1 (the caller falls back). */
static int
ask(struct llmsum *s, struct store_txn *txn, const char *sys,
    const char *user, char **answer)
{
	struct llm_usage u = {0};
	enum llm_result r;
	long spent;

	if (s->down)
		return -1;
	s->stats.requests++;
	r = llm_chat(s->llm, sys, user, answer, &u);
	if (r != LLM_OK) {
		/*
		 * The client has already retried with backoff: a server
		 * still down would cost every remaining thread the same
		 * wait, so the rest of this run goes offline at once.
		 */
		if (r == LLM_ERR_TEMPORARY)
			s->down = 1;
		log_warn("the LLM failed (%s error); using the offline "
			 "summary%s",
			 r == LLM_ERR_TEMPORARY ? "temporary" : "permanent",
			 s->down ? " for the rest of this run" : "");
		return -1;
	}
	spent = u.total_tokens > 0
		    ? u.total_tokens
		    : (long)(prompt_tokens(strlen(sys) + strlen(user)) +
			     prompt_tokens(strlen(*answer)));
	s->stats.tokens += spent;
	if (!s->no_writes &&
	    llm_usage_record(txn, (int64_t)time(NULL), &u) < 0) {
		log_warn("token usage not recorded (is the store "
			 "read-only?)");
		s->no_writes = 1;
	}
	return 0;
}

static int
over_budget(const struct llmsum *s, size_t bytes)
{
	if (s->budget <= 0)
		return 0;
	return s->stats.tokens + (long)prompt_tokens(bytes) > s->budget;
}

/* Trim blank lines around the answer in place. */
static void
trim(char *a)
{
	size_t n = strlen(a), k = 0;

	while (n && isspace((unsigned char)a[n - 1]))
		a[--n] = '\0';
	while (k < n && isspace((unsigned char)a[k]))
		k++;
	memmove(a, a + k, n - k + 1);
}

int
llmsum_summarize(void *ctx, struct store_txn *txn,
		 const struct summary_input *in, char **out, int *offline)
{
	struct llmsum *s = ctx;
	const char *lang = in->lang && !strcmp(in->lang, "zh") ? "zh" : "en";
	int zh = lang[0] == 'z';
	const struct thread_msg *root = classify_root(in->thread);
	struct prompt_input pin = {0};
	struct entry e = {0}, ne = {0};
	char *user = NULL, *mat = NULL, *answer = NULL, *retry = NULL;
	const char *why;
	char hash[65];
	struct buf key;
	int have, r = -1;

	*out = NULL;
	*offline = 0;
	if (!root)
		return fallback(s, txn, in, out, offline);
	if (cover_hash(in, lang, hash) < 0 ||
	    make_key(&key, lang, in->thread->root_id) < 0) {
		buf_release(&key);
		return -1;
	}
	have = cache_get(txn, key.data, &e);
	if (have < 0)
		goto done;
	if (have == 0 && !strcmp(e.hash, hash)) {
		s->stats.cached++;
		*out = e.summary;
		e.summary = NULL;
		r = 0;
		goto done;
	}
	if (!s->system[zh] &&
	    prompt_system(lang, s->glossary, &s->system[zh]) < 0)
		goto done;

	/* Incremental history: the summary of an earlier window. */
	pin.thread = in->thread;
	pin.since = in->since;
	pin.until = in->until;
	if (have == 0 && e.until <= in->since) {
		pin.earlier = e.summary;
		pin.earlier_until = e.until;
	} else if (have == 0 && e.prev && e.prev_until <= in->since) {
		pin.earlier = e.prev;
		pin.earlier_until = e.prev_until;
	}
	if (prompt_user(txn, &pin, &user, NULL) < 0)
		goto done;
	if (over_budget(s, strlen(s->system[zh]) + strlen(user))) {
		log_info("token budget of %ld spent; offline summary for "
			 "'%s'",
			 s->budget, in->thread->root_id);
		r = fallback(s, txn, in, out, offline);
		goto done;
	}
	mat = material_of(in->thread, user);
	if (!mat) {
		log_error("out of memory");
		goto done;
	}
	if (ask(s, txn, s->system[zh], user, &answer) < 0) {
		r = fallback(s, txn, in, out, offline);
		goto done;
	}
	trim(answer);
	why = llmsum_check(answer, lang, mat, s->glossary);
	if (why) {
		struct buf rb;

		log_warn("LLM answer for '%s' rejected: %s; retrying",
			 in->thread->root_id, why);
		buf_init(&rb, 0);
		if (buf_adds(&rb, user) < 0 ||
		    buf_addf(&rb, "\nYour previous answer was rejected "
				  "because %s. Write the summary again and "
				  "follow every rule.\n",
			     why) < 0) {
			buf_release(&rb);
			goto done;
		}
		retry = buf_detach(&rb, NULL);
		free(answer);
		answer = NULL;
		if (!retry || over_budget(s, strlen(s->system[zh]) +
						 strlen(retry)) ||
		    ask(s, txn, s->system[zh], retry, &answer) < 0) {
			r = fallback(s, txn, in, out, offline);
			goto done;
		}
		trim(answer);
		why = llmsum_check(answer, lang, mat, s->glossary);
		if (why) {
			log_warn("LLM answer for '%s' rejected again: %s; "
				 "using the offline summary",
				 in->thread->root_id, why);
			r = fallback(s, txn, in, out, offline);
			goto done;
		}
	}
	memcpy(ne.hash, hash, sizeof(hash));
	ne.summary = answer;
	ne.until = in->until;
	ne.prev = (char *)pin.earlier;
	ne.prev_until = pin.earlier_until;
	cache_put(s, txn, key.data, &ne);
	*out = answer;
	answer = NULL;
	r = 0;
done:
	free(user);
	free(mat);
	free(answer);
	free(retry);
	entry_release(&e);
	buf_release(&key);
	return r;
}

/*
 * The cache keys of a thread are "llm/en/ROOT" and "llm/zh/ROOT"
 * (make_key(): llmsum_summarize() keys every language other than zh as
 * en).  A key over LMDB's 511-byte limit was never cached: its put
 * failed, so there is nothing to delete.
 */
#define FORGET_KEY_MAX 511

int
llmsum_forget(struct store_txn *txn, const char *root_id)
{
	static const char *const langs[] = {"en", "zh"};
	struct buf key;
	int r = 0;

	if (!root_id || !*root_id)
		return log_error("llmsum_forget: no thread root");
	for (size_t i = 0; i < sizeof(langs) / sizeof(langs[0]) && !r; i++) {
		if (make_key(&key, langs[i], root_id) < 0) {
			buf_release(&key);
			return log_error("out of memory");
		}
		if (key.len <= FORGET_KEY_MAX &&
		    store_kv_del(txn, STORE_DB_SUMMARY, key.data,
				 key.len) < 0)
			r = -1;
		buf_release(&key);
	}
	return r;
}
