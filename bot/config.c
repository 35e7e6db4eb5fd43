/*
 * config.c - read and validate the one configuration file.
 *
 * Every command starts here (main.c loads the file given with -c), so
 * the checks are strict and complete: a misspelt key or a malformed URL
 * is reported with its line number before the bot touches the network
 * or the store, instead of surfacing hours later in the daemon's log.
 * All lines are checked, so one run of `check-config` shows every
 * mistake.  The file may hold secrets: they are best taken from the
 * environment ("env:NAME"), a literal one in a file that others can read
 * is warned about, and no message ever prints a secret value.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "config.h"
#include "log.h"

/* Far above any sensible configuration; a bigger file is a mistake. */
#define CONFIG_MAX_FILE (1024 * 1024)
#define CONFIG_MAX_LINE 4096
/* How much of an offending (non-secret) value an error message quotes. */
#define QUOTE_MAX 120

/* One load: where messages go and how many errors were seen. */
struct ctx {
	const char *path;
	FILE *errout;
	unsigned line;
	int errors;
	mode_t mode; /* the file's permission bits */
};

enum kind {
	KIND_STRING,
	KIND_SECRET,
	KIND_BOOL,
	KIND_INT,
	KIND_LONG,
	KIND_DOUBLE
};

/* Extra validation of a string value; reports through ctx, 0 or -1. */
typedef int (*check_fn)(struct ctx *c, const char *key, const char *v);

struct key {
	const char *name;
	enum kind kind;
	size_t off;	/* into struct config */
	long min, max;	/* KIND_INT, KIND_LONG, KIND_DOUBLE */
	check_fn check; /* KIND_STRING; NULL accepts anything */
};

static void
vreport(struct ctx *c, const char *what, const char *fmt, va_list ap)
{
	if (!c->errout)
		return;
	if (c->line)
		fprintf(c->errout, "%s:%u: %s", c->path, c->line, what);
	else
		fprintf(c->errout, "%s: %s", c->path, what);
	vfprintf(c->errout, fmt, ap);
	fputc('\n', c->errout);
}

/* Report an error at the current line; returns -1. */
static int __attribute__((format(printf, 2, 3)))
cfg_error(struct ctx *c, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vreport(c, "", fmt, ap);
	va_end(ap);
	c->errors++;
	return -1;
}

static void __attribute__((format(printf, 2, 3)))
cfg_warning(struct ctx *c, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vreport(c, "warning: ", fmt, ap);
	va_end(ap);
}

/* Replace *slot by a copy of v, wiping the old value if secret; 0, -1. */
static int
set_string(char **slot, const char *v, int secret)
{
	char *copy = strdup(v);

	if (!copy)
		return -1;
	if (*slot) {
		if (secret)
			explicit_bzero(*slot, strlen(*slot));
		free(*slot);
	}
	*slot = copy;
	return 0;
}

/* --- validators ------------------------------------------------------ */

static int
is_host_char(int ch)
{
	return isalnum(ch) || ch == '-' || ch == '.' || ch == '_';
}

/*
 * Check "HOST[:PORT]" or "[IPV6][:PORT]" in s[0..len).  Returns a
 * message, or NULL when it is fine.
 */
static const char *
check_authority(const char *s, size_t len)
{
	size_t i = 0, port_at;

	if (memchr(s, '@', len))
		return "credentials do not belong in the URL; use the _user "
		       "and _password keys";
	if (len && s[0] == '[') {
		for (i = 1; i < len && s[i] != ']'; i++)
			if (!isxdigit((unsigned char)s[i]) && s[i] != ':' &&
			    s[i] != '.')
				return "bad IPv6 address";
		if (i >= len || i == 1)
			return "bad IPv6 address";
		i++;
	} else {
		while (i < len && is_host_char((unsigned char)s[i]))
			i++;
		if (i == 0)
			return "no host";
	}
	if (i == len)
		return NULL;
	if (s[i] != ':')
		return "bad character in host";
	port_at = ++i;
	long port = 0;
	for (; i < len; i++) {
		if (!isdigit((unsigned char)s[i]) || i - port_at >= 5)
			return "port must be a number from 1 to 65535";
		port = port * 10 + (s[i] - '0');
	}
	if (i == port_at || port < 1 || port > 65535)
		return "port must be a number from 1 to 65535";
	return NULL;
}

enum url_path { PATH_MAILBOX, PATH_NONE, PATH_ANY };

static int
check_url(struct ctx *c, const char *key, const char *v,
	  const char *const *schemes, enum url_path rule)
{
	const char *rest = NULL, *slash, *why;
	size_t i;

	for (i = 0; schemes[i]; i++) {
		size_t n = strlen(schemes[i]);
		if (!strncmp(v, schemes[i], n) && !strncmp(v + n, "://", 3)) {
			rest = v + n + 3;
			break;
		}
	}
	if (!rest) {
		/* Name the schemes so the fix is obvious. */
		char list[64] = "";
		size_t used = 0;
		for (i = 0; schemes[i]; i++) {
			int w =
			    snprintf(list + used, sizeof(list) - used,
				     "%s%s://", i ? " or " : "", schemes[i]);
			if (w < 0 || (size_t)w >= sizeof(list) - used)
				break;
			used += (size_t)w;
		}
		return cfg_error(c, "%s '%.*s' must start with %s", key,
				 QUOTE_MAX, v, list);
	}
	slash = strchr(rest, '/');
	why = check_authority(rest,
			      slash ? (size_t)(slash - rest) : strlen(rest));
	if (why)
		return cfg_error(c, "%s '%.*s': %s", key, QUOTE_MAX, v, why);
	switch (rule) {
	case PATH_MAILBOX:
		if (!slash || !slash[1])
			return cfg_error(c,
					 "%s '%.*s' names no mailbox "
					 "(imaps://HOST[:PORT]/MAILBOX)",
					 key, QUOTE_MAX, v);
		break;
	case PATH_NONE:
		if (slash && slash[1])
			return cfg_error(c,
					 "%s '%.*s' must not have a path "
					 "(smtps://HOST[:PORT])",
					 key, QUOTE_MAX, v);
		break;
	case PATH_ANY:
		break;
	}
	return 0;
}

static int
check_imap_url(struct ctx *c, const char *key, const char *v)
{
	static const char *const schemes[] = { "imaps", "imap", NULL };

	return *v ? check_url(c, key, v, schemes, PATH_MAILBOX) : 0;
}

static int
check_smtp_url(struct ctx *c, const char *key, const char *v)
{
	static const char *const schemes[] = { "smtps", "smtp", NULL };

	return *v ? check_url(c, key, v, schemes, PATH_NONE) : 0;
}

static int
check_llm_url(struct ctx *c, const char *key, const char *v)
{
	static const char *const schemes[] = { "https", "http", NULL };

	return *v ? check_url(c, key, v, schemes, PATH_ANY) : 0;
}

/*
 * A bare addr-spec as people write them: no display name, no angle
 * brackets, no quoted local part.  Enough to catch a pasted "Name <a@b>"
 * or a missing domain; the MTA has the last word.
 */
static int
looks_like_address(const char *s, size_t len)
{
	const char *at = memchr(s, '@', len);
	size_t i, local, dom;

	if (!at || len > 254)
		return 0;
	local = (size_t)(at - s);
	dom = len - local - 1;
	if (local == 0 || local > 64 || dom == 0)
		return 0;
	for (i = 0; i < local; i++) {
		unsigned char ch = (unsigned char)s[i];
		if (ch <= ' ' || ch >= 0x7f || strchr("<>()[]\\,;:@\"", ch))
			return 0;
	}
	if (s[0] == '.' || s[local - 1] == '.')
		return 0;
	for (i = local + 1; i < len; i++) {
		unsigned char ch = (unsigned char)s[i];
		if (!isalnum(ch) && ch != '-' && ch != '.')
			return 0;
		if (ch == '.' &&
		    (i == local + 1 || i == len - 1 || s[i - 1] == '.'))
			return 0;
	}
	return 1;
}

static int
check_address(struct ctx *c, const char *key, const char *v)
{
	if (*v && !looks_like_address(v, strlen(v)))
		return cfg_error(c,
				 "%s '%.*s' is not a mail address "
				 "(user@example.org)",
				 key, QUOTE_MAX, v);
	return 0;
}

static int
check_address_list(struct ctx *c, const char *key, const char *v)
{
	char **items;
	size_t n, i;
	int r = 0;

	if (config_split_list(v, &items, &n) < 0)
		return cfg_error(c, "out of memory");
	for (i = 0; i < n; i++)
		if (!looks_like_address(items[i], strlen(items[i])))
			r = cfg_error(c,
				      "%s: '%.*s' is not a mail address "
				      "(user@example.org)",
				      key, QUOTE_MAX, items[i]);
	config_free_list(items, n);
	return r;
}

static int
check_list_name(struct ctx *c, const char *key, const char *v)
{
	size_t i;

	for (i = 0; v[i]; i++)
		if (!isalnum((unsigned char)v[i]) && !strchr("._-", v[i]))
			break;
	if (i == 0 || v[i])
		return cfg_error(c,
				 "%s '%.*s' must be letters, digits, '.', "
				 "'_' or '-' (as in lore.kernel.org/NAME/)",
				 key, QUOTE_MAX, v);
	return 0;
}

static int
check_schedule(struct ctx *c, const char *key, const char *v)
{
	int wday, hour, min;

	if (*v && config_parse_schedule(v, &wday, &hour, &min) < 0)
		return cfg_error(c,
				 "%s '%.*s' must be a weekday Mon..Sun and a "
				 "24-hour time, e.g. \"Mon 09:00\"",
				 key, QUOTE_MAX, v);
	return 0;
}

/*
 * The name must be a zone the C library can load when the digest sets
 * TZ to it, so look where glibc looks (TZDIR, else the system zoneinfo)
 * and require a TZif file, which also rejects zone.tab and friends.
 */
static int
check_timezone(struct ctx *c, const char *key, const char *v)
{
	const char *dir = getenv("TZDIR");
	char path[PATH_MAX], magic[4];
	size_t i;
	int fd, ok;

	if (!strcmp(v, "UTC"))
		return 0;
	for (i = 0; v[i]; i++)
		if (!isalnum((unsigned char)v[i]) && !strchr("/_+-", v[i]))
			break;
	if (i == 0 || v[i] || v[0] == '/' || strstr(v, "//") || v[i - 1] == '/')
		return cfg_error(c,
				 "%s '%.*s' is not a time zone name such as "
				 "UTC or Europe/London",
				 key, QUOTE_MAX, v);
	if (!dir || !*dir)
		dir = "/usr/share/zoneinfo";
	if (snprintf(path, sizeof(path), "%s/%s", dir, v) >= (int)sizeof(path))
		return cfg_error(c, "%s '%.*s' is too long", key, QUOTE_MAX, v);
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0)
		return cfg_error(c,
				 "%s '%.*s' is not a known time zone (no %s)",
				 key, QUOTE_MAX, v, path);
	ok = read(fd, magic, sizeof(magic)) == (ssize_t)sizeof(magic) &&
	     !memcmp(magic, "TZif", 4);
	close(fd);
	if (!ok)
		return cfg_error(c, "%s '%.*s' is not a time zone file (%s)",
				 key, QUOTE_MAX, v, path);
	return 0;
}

static int
check_one_of(struct ctx *c, const char *key, const char *v,
	     const char *const *allowed, const char *spelled)
{
	for (size_t i = 0; allowed[i]; i++)
		if (!strcmp(v, allowed[i]))
			return 0;
	return cfg_error(c, "%s '%.*s' must be %s", key, QUOTE_MAX, v, spelled);
}

static int
check_lang(struct ctx *c, const char *key, const char *v)
{
	static const char *const ok[] = { "en", "zh", NULL };

	return check_one_of(c, key, v, ok, "en or zh");
}

static int
check_moderation(struct ctx *c, const char *key, const char *v)
{
	static const char *const ok[] = { "all", "digest", "none", NULL };

	return check_one_of(c, key, v, ok, "all, digest or none");
}

static int
check_file(struct ctx *c, const char *key, const char *v)
{
	struct stat st;

	if (!*v)
		return 0;
	if (stat(v, &st) < 0 || access(v, R_OK) < 0)
		return cfg_error(c, "%s '%.*s': %s", key, QUOTE_MAX, v,
				 strerror(errno));
	if (!S_ISREG(st.st_mode))
		return cfg_error(c, "%s '%.*s' is not a regular file", key,
				 QUOTE_MAX, v);
	return 0;
}

/* --- the keys -------------------------------------------------------- */

#define STR(name, check) \
	{ #name, KIND_STRING, offsetof(struct config, name), 0, 0, check }
#define SECRET(name) \
	{ #name, KIND_SECRET, offsetof(struct config, name), 0, 0, NULL }
#define BOOL(name) \
	{ #name, KIND_BOOL, offsetof(struct config, name), 0, 1, NULL }
#define NUM(name, kind, min, max) \
	{ #name, kind, offsetof(struct config, name), min, max, NULL }

static const struct key keys[] = {
	STR(state_dir, NULL),
	STR(imap_url, check_imap_url),
	BOOL(imap_starttls),
	STR(imap_user, NULL),
	SECRET(imap_password),
	STR(imap_ca_file, check_file),
	NUM(imap_poll_seconds, KIND_INT, 5, 86400),
	STR(commands_imap_url, check_imap_url),
	STR(commands_imap_user, NULL),
	SECRET(commands_imap_password),
	STR(smtp_url, check_smtp_url),
	BOOL(smtp_starttls),
	STR(smtp_user, NULL),
	SECRET(smtp_password),
	STR(smtp_ca_file, check_file),
	STR(bot_address, check_address),
	STR(list_name, check_list_name),
	STR(list_address, check_address),
	STR(digest_recipients, check_address_list),
	STR(digest_schedule, check_schedule),
	STR(digest_timezone, check_timezone),
	STR(digest_lang, check_lang),
	STR(llm_url, check_llm_url),
	STR(llm_model, NULL),
	SECRET(llm_api_key),
	NUM(llm_timeout, KIND_INT, 1, 3600),
	NUM(llm_max_tokens, KIND_INT, 16, 32768),
	NUM(llm_temperature, KIND_DOUBLE, 0, 2),
	NUM(llm_max_concurrent, KIND_INT, 1, 16),
	NUM(llm_token_budget, KIND_LONG, 1000, LONG_MAX),
	STR(moderators, check_address_list),
	STR(moderation, check_moderation),
	NUM(moderation_deadline_hours, KIND_INT, 1, 720),
	NUM(moderation_reminder_hours, KIND_INT, 0, 720),
	SECRET(token_secret),
	BOOL(reply_to_list),
	NUM(rate_sender_per_hour, KIND_INT, 0, 10000),
	NUM(rate_global_per_day, KIND_INT, 0, 10000),
};

#define NKEYS (sizeof(keys) / sizeof(keys[0]))

static char **
string_slot(struct config *cfg, const struct key *k)
{
	return (char **)((char *)cfg + k->off);
}

static const struct key *
find_key(const char *name)
{
	for (size_t i = 0; i < NKEYS; i++)
		if (!strcmp(keys[i].name, name))
			return &keys[i];
	return NULL;
}

int
config_init(struct config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	for (size_t i = 0; i < NKEYS; i++) {
		if (keys[i].kind != KIND_STRING && keys[i].kind != KIND_SECRET)
			continue;
		if (set_string(string_slot(cfg, &keys[i]), "", 0) < 0) {
			config_release(cfg);
			return -1;
		}
	}
	if (set_string(&cfg->list_name, "kvmarm", 0) < 0 ||
	    set_string(&cfg->digest_timezone, "UTC", 0) < 0 ||
	    set_string(&cfg->digest_lang, "en", 0) < 0 ||
	    set_string(&cfg->moderation, "none", 0) < 0) {
		config_release(cfg);
		return -1;
	}
	cfg->imap_starttls = 1;
	cfg->imap_poll_seconds = 60;
	cfg->smtp_starttls = 1;
	cfg->llm_timeout = 60;
	cfg->llm_max_tokens = 800;
	cfg->llm_temperature = 0.2;
	cfg->llm_max_concurrent = 2;
	cfg->llm_token_budget = 200000;
	cfg->moderation_deadline_hours = 48;
	cfg->moderation_reminder_hours = 12;
	cfg->rate_sender_per_hour = 5;
	cfg->rate_global_per_day = 100;
	return 0;
}

void
config_release(struct config *cfg)
{
	for (size_t i = 0; i < NKEYS; i++) {
		char **slot;

		if (keys[i].kind != KIND_STRING && keys[i].kind != KIND_SECRET)
			continue;
		slot = string_slot(cfg, &keys[i]);
		if (*slot && keys[i].kind == KIND_SECRET)
			explicit_bzero(*slot, strlen(*slot));
		free(*slot);
	}
	memset(cfg, 0, sizeof(*cfg));
}

/* --- values ---------------------------------------------------------- */

/* Decimal integer, optional '-', nothing else; 0 or -1. */
static int
parse_long(const char *v, long *out)
{
	char *end;

	if (!isdigit((unsigned char)v[v[0] == '-']))
		return -1;
	errno = 0;
	*out = strtol(v, &end, 10);
	return errno || *end ? -1 : 0;
}

/*
 * "D[.D]" by hand: strtod() follows LC_NUMERIC, and a configuration
 * must not change meaning with the locale.
 */
static int
parse_double(const char *v, double *out)
{
	double x = 0, scale = 1;
	const char *p = v;

	if (!isdigit((unsigned char)*p))
		return -1;
	while (isdigit((unsigned char)*p))
		x = x * 10 + (*p++ - '0');
	if (*p == '.') {
		p++;
		if (!isdigit((unsigned char)*p))
			return -1;
		while (isdigit((unsigned char)*p)) {
			scale /= 10;
			x += (*p++ - '0') * scale;
		}
	}
	if (*p)
		return -1;
	*out = x;
	return 0;
}

/*
 * "env:NAME" -> the variable's value; anything else is the secret
 * itself.  Messages name the key and the variable, never a value.
 * Returns the secret (borrowed), or NULL after reporting.
 */
static const char *
resolve_secret(struct ctx *c, const char *key, const char *v, int *literal)
{
	const char *name, *val;
	size_t i;

	*literal = 0;
	if (strncmp(v, "env:", 4)) {
		*literal = *v != '\0';
		return v;
	}
	name = v + 4;
	for (i = 0; name[i]; i++)
		if (!isalnum((unsigned char)name[i]) && name[i] != '_')
			break;
	if (i == 0 || name[i] || isdigit((unsigned char)name[0])) {
		cfg_error(c,
			  "%s: 'env:' must be followed by an environment "
			  "variable name ([A-Za-z_][A-Za-z0-9_]*)",
			  key);
		return NULL;
	}
	val = getenv(name);
	if (!val) {
		cfg_error(c, "%s: environment variable '%s' is not set", key,
			  name);
		return NULL;
	}
	if (!*val) {
		cfg_error(c, "%s: environment variable '%s' is empty", key,
			  name);
		return NULL;
	}
	for (i = 0; val[i]; i++) {
		if ((unsigned char)val[i] < 0x20 || val[i] == 0x7f) {
			cfg_error(c,
				  "%s: environment variable '%s' holds a "
				  "control character",
				  key, name);
			return NULL;
		}
	}
	return val;
}

/* Store v for k in cfg, or report why not; 0 or -1. */
static int
apply(struct ctx *c, struct config *cfg, const struct key *k, const char *v,
	  int *literal_secret)
{
	void *field = (char *)cfg + k->off;
	long n;
	double d;

	*literal_secret = 0;
	switch (k->kind) {
	case KIND_STRING:
		if (k->check && k->check(c, k->name, v) < 0)
			return -1;
		return set_string(field, v, 0) < 0
			   ? cfg_error(c, "out of memory")
			   : 0;
	case KIND_SECRET:
		v = resolve_secret(c, k->name, v, literal_secret);
		if (!v)
			return -1;
		return set_string(field, v, 1) < 0
			   ? cfg_error(c, "out of memory")
			   : 0;
	case KIND_BOOL:
		if (strcmp(v, "yes") && strcmp(v, "no"))
			return cfg_error(c, "%s '%.*s' must be yes or no",
					 k->name, QUOTE_MAX, v);
		*(int *)field = !strcmp(v, "yes");
		return 0;
	case KIND_INT:
	case KIND_LONG:
		if (parse_long(v, &n) < 0 || n < k->min || n > k->max) {
			if (k->max == LONG_MAX)
				return cfg_error(c,
						 "%s '%.*s' must be a whole "
						 "number of at least %ld",
						 k->name, QUOTE_MAX, v, k->min);
			return cfg_error(c,
					 "%s '%.*s' must be a whole number "
					 "from %ld to %ld",
					 k->name, QUOTE_MAX, v, k->min, k->max);
		}
		if (k->kind == KIND_INT)
			*(int *)field = (int)n;
		else
			*(long *)field = n;
		return 0;
	case KIND_DOUBLE:
		if (parse_double(v, &d) < 0 || d < (double)k->min ||
		    d > (double)k->max)
			return cfg_error(c,
					 "%s '%.*s' must be a number from %ld "
					 "to %ld, e.g. 0.2",
					 k->name, QUOTE_MAX, v, k->min, k->max);
		*(double *)field = d;
		return 0;
	}
	return cfg_error(c, "internal error: key '%s' has no kind", k->name);
}

static char *
trim(char *s)
{
	char *end;

	while (*s == ' ' || *s == '\t' || *s == '\r')
		s++;
	end = s + strlen(s);
	while (end > s &&
	       (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\r'))
		*--end = '\0';
	return s;
}

/*
 * One non-blank, non-comment line, modified in place.  seen[] (indexed
 * like keys[]) records the line of each key.
 */
static void
parse_line(struct ctx *c, struct config *cfg, char *line, unsigned *seen)
{
	char *eq = strchr(line, '='), *key, *value;
	const struct key *k;
	size_t len, i;
	int literal;

	if (!eq) {
		/* Do not echo the line: it may be a pasted password. */
		cfg_error(c, "expected 'key = value'");
		return;
	}
	*eq = '\0';
	key = trim(line);
	value = trim(eq + 1);
	if (!*key) {
		cfg_error(c, "missing key before '='");
		return;
	}
	k = find_key(key);
	if (!k) {
		cfg_error(c, "unknown key '%.*s'", 64, key);
		return;
	}
	i = (size_t)(k - keys);
	if (seen[i]) {
		cfg_error(c, "duplicate key '%s' (first set on line %u)",
			  k->name, seen[i]);
		return;
	}
	seen[i] = c->line;
	len = strlen(value);
	if (value[0] == '"') {
		if (len < 2 || value[len - 1] != '"') {
			cfg_error(c,
				  "%s: value starts with '\"' but does not end "
				  "with one",
				  k->name);
			return;
		}
		value[len - 1] = '\0';
		value++;
	}
	for (i = 0; value[i]; i++) {
		if ((unsigned char)value[i] < 0x20 || value[i] == 0x7f) {
			cfg_error(c, "%s: control character in value", k->name);
			return;
		}
	}
	if (apply(c, cfg, k, value, &literal) == 0 && literal &&
	    (c->mode & 077))
		cfg_warning(c,
			    "%s is a literal secret in a file that group "
			    "or others can read (mode %03o); use env:NAME "
			    "or chmod 600",
			    k->name, (unsigned)c->mode);
}

/* Whether url (already validated) names this machine. */
static int
is_loopback_url(const char *url)
{
	const char *host = strstr(url, "://");
	size_t len;

	if (!host)
		return 0;
	host += 3;
	len = strcspn(host, "/");
	if (host[0] == '[')
		return len >= 5 && !strncmp(host, "[::1]", 5);
	len = strcspn(host, ":/");
	return (len == 9 && !strncmp(host, "localhost", 9)) ||
	       (len >= 4 && !strncmp(host, "127.", 4));
}

/*
 * Checks that span keys.  They are warnings: the setting works, but
 * exposes a password or cannot do what it is meant to.
 */
static void
check_exposure(struct ctx *c, const struct config *cfg, const unsigned *seen)
{
	static const struct {
		const char *url, *starttls, *password, *scheme;
	} plain[] = {
		{ "imap_url", "imap_starttls", "imap_password", "imap://" },
		{ "smtp_url", "smtp_starttls", "smtp_password", "smtp://" },
	};
	size_t i;

	for (i = 0; i < sizeof(plain) / sizeof(plain[0]); i++) {
		const struct key *url = find_key(plain[i].url);
		const struct key *tls = find_key(plain[i].starttls);
		const struct key *pw = find_key(plain[i].password);
		const char *u = *(char *const *)((const char *)cfg + url->off);
		int starttls = *(const int *)((const char *)cfg + tls->off);
		const char *p = *(char *const *)((const char *)cfg + pw->off);

		if (starttls || !*p ||
		    strncmp(u, plain[i].scheme, strlen(plain[i].scheme)) ||
		    is_loopback_url(u))
			continue;
		c->line =
		    seen[tls - keys] ? seen[tls - keys] : seen[url - keys];
		cfg_warning(c,
			    "%s is %s with %s = no: the password crosses the "
			    "network unencrypted",
			    plain[i].url, plain[i].scheme, plain[i].starttls);
	}
	if (strcmp(cfg->moderation, "none") && !*cfg->moderators) {
		const struct key *mod = find_key("moderation");

		c->line = seen[mod - keys];
		cfg_warning(c,
			    "moderation = %s but no moderators: held mail "
			    "cannot be released",
			    cfg->moderation);
	}
	if (*cfg->commands_imap_url &&
	    !strcmp(cfg->commands_imap_url, cfg->imap_url)) {
		const struct key *k = find_key("commands_imap_url");

		c->line = seen[k - keys];
		cfg_warning(c,
			    "commands_imap_url is imap_url: requests already "
			    "arrive there, leave commands_imap_url empty");
	}
	if (strcmp(cfg->moderation, "none") && !*cfg->token_secret) {
		const struct key *mod = find_key("moderation");

		c->line = seen[mod - keys];
		cfg_warning(c,
			    "moderation = %s but no token_secret: nothing can "
			    "be held for moderation, so nothing is sent",
			    cfg->moderation);
	}
}

/* The whole file, capped; NULL after reporting. */
static char *
read_file(struct ctx *c, FILE *f, size_t *len)
{
	struct buf b;
	char chunk[8192];
	size_t got;

	buf_init(&b, CONFIG_MAX_FILE);
	while ((got = fread(chunk, 1, sizeof(chunk), f)) > 0) {
		if (buf_add(&b, chunk, got) < 0) {
			buf_release(&b);
			cfg_error(c, "larger than %d bytes", CONFIG_MAX_FILE);
			return NULL;
		}
	}
	if (ferror(f)) {
		buf_release(&b);
		cfg_error(c, "cannot read: %s", strerror(errno));
		return NULL;
	}
	char *data = buf_detach(&b, len);
	if (!data)
		cfg_error(c, "out of memory");
	return data;
}

int
config_load(struct config *cfg, const char *path, FILE *errout)
{
	struct ctx c = {.path = path, .errout = errout };
	unsigned seen[NKEYS] = { 0 };
	struct stat st;
	char *data, *p, *end;
	size_t len;
	FILE *f;

	f = fopen(path, "r");
	if (!f)
		return cfg_error(&c, "cannot open: %s", strerror(errno));
	if (fstat(fileno(f), &st) < 0 || !S_ISREG(st.st_mode)) {
		fclose(f);
		return cfg_error(&c, "not a regular file");
	}
	c.mode = st.st_mode & 0777;
	data = read_file(&c, f, &len);
	fclose(f);
	if (!data)
		return -1;
	p = data;
	end = data + len;
	if (len >= 3 && !memcmp(p, "\xef\xbb\xbf", 3))
		p += 3;
	while (p < end) {
		char *nl = memchr(p, '\n', (size_t)(end - p));
		char *line_end = nl ? nl : end;
		size_t n = (size_t)(line_end - p);

		c.line++;
		*line_end = '\0';
		if (memchr(p, '\0', n))
			cfg_error(&c, "NUL byte in line");
		else if (n > CONFIG_MAX_LINE)
			cfg_error(&c, "line longer than %d bytes",
				  CONFIG_MAX_LINE);
		else {
			char *s = trim(p);
			if (*s && *s != '#')
				parse_line(&c, cfg, s, seen);
		}
		p = line_end + 1;
	}
	check_exposure(&c, cfg, seen);
	explicit_bzero(data, len);
	free(data);
	return c.errors ? -1 : 0;
}

/* --- helpers for later modules --------------------------------------- */

int
config_split_list(const char *value, char ***out, size_t *n)
{
	size_t max = 1, count = 0;
	const char *p;
	char **list;

	*out = NULL;
	*n = 0;
	if (!value)
		return 0;
	for (p = value; *p; p++)
		max += *p == ',';
	list = calloc(max, sizeof(*list));
	if (!list)
		return log_error("out of memory");
	for (p = value;;) {
		const char *comma = strchr(p, ','), *a = p, *b;

		b = comma ? comma : p + strlen(p);
		while (a < b && isspace((unsigned char)*a))
			a++;
		while (b > a && isspace((unsigned char)b[-1]))
			b--;
		if (b > a) {
			list[count] = strndup(a, (size_t)(b - a));
			if (!list[count]) {
				config_free_list(list, count);
				return log_error("out of memory");
			}
			count++;
		}
		if (!comma)
			break;
		p = comma + 1;
	}
	if (!count) {
		free(list);
		return 0;
	}
	*out = list;
	*n = count;
	return 0;
}

void
config_free_list(char **list, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(list[i]);
	free(list);
}

int
config_parse_schedule(const char *s, int *wday, int *hour, int *min)
{
	/* Monday first, as people write a week; tm_wday counts from Sunday. */
	static const char days[7][4] = { "Mon", "Tue", "Wed", "Thu",
					"Fri", "Sat", "Sun" };
	int d, h, m;

	for (d = 0; d < 7; d++)
		if (!strncmp(s, days[d], 3))
			break;
	if (d == 7 || (s[3] != ' ' && s[3] != '\t'))
		return -1;
	s += 3;
	while (*s == ' ' || *s == '\t')
		s++;
	for (int i = 0; i < 5; i++)
		if (i == 2 ? s[i] != ':' : !isdigit((unsigned char)s[i]))
			return -1;
	if (s[5])
		return -1;
	h = (s[0] - '0') * 10 + (s[1] - '0');
	m = (s[3] - '0') * 10 + (s[4] - '0');
	if (h > 23 || m > 59)
		return -1;
	*wday = (d + 1) % 7;
	*hour = h;
	*min = m;
	return 0;
}
