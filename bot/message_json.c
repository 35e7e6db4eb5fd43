/*
 * message_json.c - the parsed record as JSON, for the store and `show`.
 *
 * The store keeps every parsed mail as the JSON text written here (key
 * "v" is the record version, 1), so the record can gain fields without
 * a new store format: readers ignore keys they do not know and default
 * the ones that are missing.  message_from_json() reads back text that
 * came from disk and must survive any bytes: it checks every type,
 * length and the UTF-8 of every string, and returns -1 rather than
 * guess.
 */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "message.h"

#define JSON_RECORD_VERSION 1
#define JSON_MAX_DEPTH 8
/* Array caps on read: the parser's caps, and a generous one otherwise. */
#define JSON_MAX_ITEMS 65536

/* --- writing ------------------------------------------------------ */

static int
add(struct json_object *obj, const char *key, struct json_object *val)
{
	if (!val)
		return -1;
	if (json_object_object_add(obj, key, val) < 0) {
		json_object_put(val);
		return -1;
	}
	return 0;
}

static int
add_str(struct json_object *obj, const char *key, const char *s)
{
	return add(obj, key, json_object_new_string(s ? s : ""));
}

static int
add_int(struct json_object *obj, const char *key, int64_t v)
{
	return add(obj, key, json_object_new_int64(v));
}

static int
add_strv(struct json_object *obj, const char *key, char *const *v, size_t n)
{
	struct json_object *arr = json_object_new_array();

	if (!arr)
		return -1;
	for (size_t i = 0; v && i < n; i++) {
		struct json_object *s =
		    json_object_new_string(v[i] ? v[i] : "");

		if (!s || json_object_array_add(arr, s) < 0) {
			json_object_put(s);
			json_object_put(arr);
			return -1;
		}
	}
	return add(obj, key, arr);
}

static struct json_object *
tags_to_json(const struct subject_tags *t)
{
	struct json_object *o = json_object_new_object();
	char project[sizeof(t->project) + 1];

	if (!o)
		return NULL;
	/* project is a fixed array; never trust it to be terminated. */
	memcpy(project, t->project, sizeof(t->project));
	project[sizeof(t->project)] = '\0';
	if (add_int(o, "reply", t->reply) ||
	    add_int(o, "forward", t->forward) ||
	    add_int(o, "patch", t->patch) || add_int(o, "rfc", t->rfc) ||
	    add_int(o, "resend", t->resend) || add_int(o, "pull", t->pull) ||
	    add_int(o, "syzbot", t->syzbot) ||
	    add_int(o, "version", t->version) ||
	    add_int(o, "index", t->index) || add_int(o, "total", t->total) ||
	    add_str(o, "project", project)) {
		json_object_put(o);
		return NULL;
	}
	return o;
}

static struct json_object *
trailers_to_json(const struct message *m)
{
	struct json_object *arr = json_object_new_array();

	if (!arr)
		return NULL;
	for (size_t i = 0; m->trailers && i < m->n_trailers; i++) {
		struct json_object *t = json_object_new_object();

		if (!t || add_str(t, "key", m->trailers[i].key) ||
		    add_str(t, "value", m->trailers[i].value) ||
		    json_object_array_add(arr, t) < 0) {
			json_object_put(t);
			json_object_put(arr);
			return NULL;
		}
	}
	return arr;
}

/*
 * The first four keys stay first: `stats` reads in_reply_to and
 * references from the front of each record without parsing the rest.
 */
char *
message_to_json(const struct message *m, int pretty)
{
	struct json_object *o = json_object_new_object();
	const char *text;
	char *out = NULL;
	int flags = JSON_C_TO_STRING_NOSLASHESCAPE;

	if (!o)
		return NULL;
	if (add_int(o, "v", JSON_RECORD_VERSION) ||
	    add_str(o, "message_id", m->message_id) ||
	    add_str(o, "in_reply_to", m->in_reply_to) ||
	    add_strv(o, "references", m->references, m->n_references) ||
	    add_str(o, "from_name", m->from_name) ||
	    add_str(o, "from_addr", m->from_addr) ||
	    add_strv(o, "to", m->to, m->n_to) ||
	    add_strv(o, "cc", m->cc, m->n_cc) || add_int(o, "date", m->date) ||
	    add_str(o, "subject", m->subject) ||
	    add_str(o, "subject_bare", m->subject_bare) ||
	    add(o, "tags", tags_to_json(&m->tags)) ||
	    add_str(o, "list_id", m->list_id) ||
	    add_str(o, "auto_submitted", m->auto_submitted) ||
	    add_str(o, "precedence", m->precedence) ||
	    add_str(o, "x_loop", m->x_loop) || add_str(o, "body", m->body) ||
	    add_str(o, "prose", m->prose) || add_str(o, "quoted", m->quoted) ||
	    add_str(o, "patch", m->patch) ||
	    add_str(o, "diffstat", m->diffstat) ||
	    add_str(o, "signature", m->signature) ||
	    add_strv(o, "files", m->files, m->n_files) ||
	    add(o, "trailers", trailers_to_json(m)) ||
	    add_int(o, "flags", m->flags) ||
	    add(o, "raw_size", json_object_new_uint64(m->raw_size)))
		goto out;
	flags |= pretty ? JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED
			: JSON_C_TO_STRING_PLAIN;
	text = json_object_to_json_string_ext(o, flags);
	if (text)
		out = strdup(text);
out:
	json_object_put(o);
	return out;
}

/* --- reading ------------------------------------------------------ */

/* Strict UTF-8: no overlongs, no surrogates, nothing above U+10FFFF. */
static int
utf8_valid(const unsigned char *s, size_t len)
{
	size_t i = 0;

	while (i < len) {
		unsigned c = s[i];
		size_t n;
		unsigned cp;

		if (c < 0x80) {
			i++;
			continue;
		} else if (c >= 0xc2 && c <= 0xdf) {
			n = 1;
			cp = c & 0x1f;
		} else if (c >= 0xe0 && c <= 0xef) {
			n = 2;
			cp = c & 0x0f;
		} else if (c >= 0xf0 && c <= 0xf4) {
			n = 3;
			cp = c & 0x07;
		} else {
			return 0;
		}
		if (len - i <= n)
			return 0;
		for (size_t k = 1; k <= n; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				return 0;
			cp = cp << 6 | (s[i + k] & 0x3f);
		}
		if ((n == 2 &&
		     (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
		    (n == 3 && (cp < 0x10000 || cp > 0x10ffff)))
			return 0;
		i += n + 1;
	}
	return 1;
}

/* Copy a JSON string value: no NUL inside, valid UTF-8. */
static int
dup_str(struct json_object *v, char **out)
{
	const char *s;
	int len;

	if (!json_object_is_type(v, json_type_string))
		return -1;
	s = json_object_get_string(v);
	len = json_object_get_string_len(v);
	if (!s || len < 0 || memchr(s, '\0', (size_t)len) ||
	    !utf8_valid((const unsigned char *)s, (size_t)len))
		return -1;
	*out = strndup(s, (size_t)len);
	return *out ? 0 : -1;
}

/* A string member; an absent one reads as "". */
static int
get_str(struct json_object *o, const char *key, char **out)
{
	struct json_object *v;

	if (!json_object_object_get_ex(o, key, &v)) {
		*out = strdup("");
		return *out ? 0 : -1;
	}
	return dup_str(v, out);
}

/* An integer member in [lo, hi]; an absent one reads as def. */
static int
get_int(struct json_object *o, const char *key, int64_t lo, int64_t hi,
	int64_t def, int64_t *out)
{
	struct json_object *v;
	int64_t n;

	if (!json_object_object_get_ex(o, key, &v)) {
		*out = def;
		return 0;
	}
	if (!json_object_is_type(v, json_type_int))
		return -1;
	n = json_object_get_int64(v);
	/* json-c saturates values beyond int64 at INT64_MIN/MAX. */
	if (n < lo || n > hi || n == INT64_MAX || n == INT64_MIN)
		return -1;
	*out = n;
	return 0;
}

static int
get_int32(struct json_object *o, const char *key, int def, int *out)
{
	int64_t n;

	if (get_int(o, key, INT_MIN, INT_MAX, def, &n) < 0)
		return -1;
	*out = (int)n;
	return 0;
}

/* An array of strings; an absent one reads as empty. */
static int
get_strv(struct json_object *o, const char *key, size_t max, char ***out,
	 size_t *n)
{
	struct json_object *arr;
	size_t len;

	*out = NULL;
	*n = 0;
	if (!json_object_object_get_ex(o, key, &arr))
		return 0;
	if (!json_object_is_type(arr, json_type_array))
		return -1;
	len = json_object_array_length(arr);
	if (len > max)
		return -1;
	if (len == 0)
		return 0;
	*out = calloc(len, sizeof(**out));
	if (!*out)
		return -1;
	/* Counted at once: message_release() frees what got filled. */
	*n = len;
	for (size_t i = 0; i < len; i++)
		if (dup_str(json_object_array_get_idx(arr, i), &(*out)[i]) < 0)
			return -1;
	return 0;
}

static int
get_tags(struct json_object *o, struct subject_tags *t)
{
	struct json_object *tags;
	char *project = NULL;
	size_t len;

	memset(t, 0, sizeof(*t));
	t->version = 1;
	t->index = t->total = -1;
	if (!json_object_object_get_ex(o, "tags", &tags))
		return 0;
	if (!json_object_is_type(tags, json_type_object) ||
	    get_int32(tags, "reply", 0, &t->reply) ||
	    get_int32(tags, "forward", 0, &t->forward) ||
	    get_int32(tags, "patch", 0, &t->patch) ||
	    get_int32(tags, "rfc", 0, &t->rfc) ||
	    get_int32(tags, "resend", 0, &t->resend) ||
	    get_int32(tags, "pull", 0, &t->pull) ||
	    get_int32(tags, "syzbot", 0, &t->syzbot) ||
	    get_int32(tags, "version", 1, &t->version) ||
	    get_int32(tags, "index", -1, &t->index) ||
	    get_int32(tags, "total", -1, &t->total) ||
	    get_str(tags, "project", &project))
		return -1;
	len = strlen(project);
	if (len >= sizeof(t->project)) {
		free(project);
		return -1;
	}
	memcpy(t->project, project, len + 1);
	free(project);
	return 0;
}

static int
get_trailers(struct json_object *o, struct message *m)
{
	struct json_object *arr;
	size_t len;

	if (!json_object_object_get_ex(o, "trailers", &arr))
		return 0;
	if (!json_object_is_type(arr, json_type_array))
		return -1;
	len = json_object_array_length(arr);
	if (len > JSON_MAX_ITEMS)
		return -1;
	if (len == 0)
		return 0;
	m->trailers = calloc(len, sizeof(*m->trailers));
	if (!m->trailers)
		return -1;
	m->n_trailers = len;
	for (size_t i = 0; i < len; i++) {
		struct json_object *t = json_object_array_get_idx(arr, i);
		struct trailer *tr = &m->trailers[i];

		if (!json_object_is_type(t, json_type_object) ||
		    get_str(t, "key", &tr->key) ||
		    get_str(t, "value", &tr->value))
			return -1;
	}
	return 0;
}

static int
record_from_json(struct json_object *o, struct message *m)
{
	int64_t v, n;
	struct json_object *rs;

	if (!json_object_is_type(o, json_type_object) ||
	    get_int(o, "v", 0, INT_MAX, 0, &v) || v != JSON_RECORD_VERSION)
		return -1;
	if (get_str(o, "message_id", &m->message_id) || !*m->message_id ||
	    get_str(o, "in_reply_to", &m->in_reply_to) ||
	    get_strv(o, "references", JSON_MAX_ITEMS, &m->references,
		     &m->n_references) ||
	    get_str(o, "from_name", &m->from_name) ||
	    get_str(o, "from_addr", &m->from_addr) ||
	    get_strv(o, "to", JSON_MAX_ITEMS, &m->to, &m->n_to) ||
	    get_strv(o, "cc", JSON_MAX_ITEMS, &m->cc, &m->n_cc) ||
	    get_int(o, "date", INT64_MIN, INT64_MAX, 0, &m->date) ||
	    get_str(o, "subject", &m->subject) ||
	    get_str(o, "subject_bare", &m->subject_bare) ||
	    get_tags(o, &m->tags) || get_str(o, "list_id", &m->list_id) ||
	    get_str(o, "auto_submitted", &m->auto_submitted) ||
	    get_str(o, "precedence", &m->precedence) ||
	    get_str(o, "x_loop", &m->x_loop) || get_str(o, "body", &m->body) ||
	    get_str(o, "prose", &m->prose) ||
	    get_str(o, "quoted", &m->quoted) ||
	    get_str(o, "patch", &m->patch) ||
	    get_str(o, "diffstat", &m->diffstat) ||
	    get_str(o, "signature", &m->signature) ||
	    get_strv(o, "files", JSON_MAX_ITEMS, &m->files, &m->n_files) ||
	    get_trailers(o, m) || get_int(o, "flags", 0, UINT_MAX, 0, &n))
		return -1;
	m->flags = (unsigned)n;
	if (json_object_object_get_ex(o, "raw_size", &rs)) {
		if (!json_object_is_type(rs, json_type_int) ||
		    json_object_get_int64(rs) < 0)
			return -1;
		m->raw_size = json_object_get_uint64(rs);
	}
	return 0;
}

int
message_from_json(const char *json, size_t len, struct message *msg)
{
	struct json_tokener *tok;
	struct json_object *o;
	size_t end;
	int r = -1;

	memset(msg, 0, sizeof(*msg));
	if (!json || len == 0 || len > INT_MAX)
		return -1;
	tok = json_tokener_new_ex(JSON_MAX_DEPTH);
	if (!tok)
		return -1;
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
	o = json_tokener_parse_ex(tok, json, (int)len);
	end = json_tokener_get_parse_end(tok);
	if (o && json_tokener_get_error(tok) == json_tokener_success) {
		/* Only white space may follow the record. */
		while (end < len && strchr(" \t\r\n", json[end]) && json[end])
			end++;
		if (end == len)
			r = record_from_json(o, msg);
	}
	json_object_put(o);
	json_tokener_free(tok);
	if (r < 0)
		message_release(msg);
	return r;
}
