/*
 * message_subject.c - what a subject's prefixes and [tags] say.
 *
 * Kernel mail encodes its type in the subject: "Re: [PATCH kvmtool v3
 * 02/24] arm64: ..." is a reply in a 24-patch kvmtool series, version
 * 3.  The threader groups series and versions with these tags, and the
 * digest shows the bare subject.  message_parse() calls this on every
 * decoded subject; commands may call it on their own text.
 *
 * Prefixes (Re:, Fwd: and their European spellings) and bracketed
 * groups are taken from the start of the subject, in any order, until
 * the first word that is neither.  Inside a group, tokens are split on
 * blanks and commas.  A group with at least one keyword (PATCH, RFC,
 * RESEND, PULL, GIT, vN, k/N, "k of N", syzbot) is a tag group; its
 * first other word is the project ("kvmtool", "net", "for-next").  A
 * group without keywords ("[notmuch]", "[ANNOUNCE]") is a list prefix:
 * it is stripped but names no project.  "[GIT]" alone counts as a
 * pull request, as in "[GIT] Networking".
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "message.h"

/* Longest bracketed group looked at; longer brackets are text. */
#define TAG_MAX_LEN	256

static const char *const reply_words[] = {
	"re", "aw", "sv", "antw", "odp", "vs", "ynt",
};
static const char *const forward_words[] = {
	"fwd", "fw", "wg",
};

static int
word_in(const char *p, size_t n, const char *const *set, size_t count)
{
	for (size_t i = 0; i < count; i++)
		if (strlen(set[i]) == n && !strncasecmp(p, set[i], n))
			return 1;
	return 0;
}

/* Length of a "Re:", "RE[2]:", "Fwd :" prefix at p, 0 when none. */
static size_t
prefix_len(const char *p, struct subject_tags *tags)
{
	size_t n = 0, i;
	int reply;

	while (isalpha((unsigned char)p[n]) && n < 8)
		n++;
	if (word_in(p, n, reply_words,
		    sizeof(reply_words) / sizeof(*reply_words)))
		reply = 1;
	else if (word_in(p, n, forward_words,
			 sizeof(forward_words) / sizeof(*forward_words)))
		reply = 0;
	else
		return 0;
	i = n;
	if (p[i] == '[' || p[i] == '(' || p[i] == '^') {
		char close = p[i] == '[' ? ']' : p[i] == '(' ? ')' : 0;

		i++;
		while (isdigit((unsigned char)p[i]) && i < n + 8)
			i++;
		if (close) {
			if (p[i] != close)
				return 0;
			i++;
		}
	}
	while (p[i] == ' ')
		i++;
	if (p[i] != ':')
		return 0;
	if (reply)
		tags->reply = 1;
	else
		tags->forward = 1;
	return i + 1;
}

/* A decimal number of 1-5 digits filling [p, p+n). */
static int
small_number(const char *p, size_t n, int *out)
{
	int v = 0;

	if (!n || n > 5)
		return 0;
	for (size_t i = 0; i < n; i++) {
		if (!isdigit((unsigned char)p[i]))
			return 0;
		v = v * 10 + (p[i] - '0');
	}
	*out = v;
	return 1;
}

/* "v3", "V12", "v2.1" (minor ignored) */
static int
version_token(const char *p, size_t n, int *v)
{
	size_t d = 1;

	if (n < 2 || (p[0] != 'v' && p[0] != 'V'))
		return 0;
	while (d < n && isdigit((unsigned char)p[d]))
		d++;
	if (d < n && p[d] == '.') {
		for (size_t k = d + 1; k < n; k++)
			if (!isdigit((unsigned char)p[k]))
				return 0;
	} else if (d != n) {
		return 0;
	}
	return small_number(p + 1, d - 1, v);
}

/* "02/24" */
static int
index_token(const char *p, size_t n, int *k, int *total)
{
	const char *slash = memchr(p, '/', n);

	if (!slash)
		return 0;
	return small_number(p, (size_t)(slash - p), k) &&
	       small_number(slash + 1, n - (size_t)(slash - p) - 1, total);
}

static int
is_word(const char *p, size_t n, const char *w)
{
	return strlen(w) == n && !strncasecmp(p, w, n);
}

/* "PATCHv2", "PATCH-v2", "RFCv3": keyword with a glued version */
static int
glued(const char *p, size_t n, const char *kw, int *v)
{
	size_t l = strlen(kw);

	if (n <= l || strncasecmp(p, kw, l))
		return 0;
	p += l;
	n -= l;
	if (*p == '-') {
		p++;
		n--;
	}
	return version_token(p, n, v);
}

struct token {
	const char *p;
	size_t n;
};

static void
set_project(struct subject_tags *tags, const char *p, size_t n)
{
	if (tags->project[0])
		return;
	if (n > sizeof(tags->project) - 1) {
		n = sizeof(tags->project) - 1;
		while (n > 0 && ((unsigned char)p[n] & 0xc0) == 0x80)
			n--;	/* do not cut a UTF-8 character */
	}
	memcpy(tags->project, p, n);
	tags->project[n] = '\0';
}

static void
parse_group(const char *p, size_t len, struct subject_tags *tags)
{
	struct token tok[32];
	size_t nt = 0, i = 0, first_other = SIZE_MAX;
	int keyword = 0, v, k, t;

	while (i < len && nt < sizeof(tok) / sizeof(*tok)) {
		while (i < len && (p[i] == ' ' || p[i] == ','))
			i++;
		if (i >= len)
			break;
		tok[nt].p = p + i;
		while (i < len && p[i] != ' ' && p[i] != ',')
			i++;
		tok[nt].n = (size_t)(p + i - tok[nt].p);
		nt++;
	}
	for (i = 0; i < nt; i++) {
		const char *w = tok[i].p;
		size_t n = tok[i].n;

		if (is_word(w, n, "PATCH")) {
			tags->patch = 1;
		} else if (glued(w, n, "PATCH", &v)) {
			tags->patch = 1;
			tags->version = v;
		} else if (is_word(w, n, "RFC")) {
			tags->rfc = 1;
		} else if (glued(w, n, "RFC", &v)) {
			tags->rfc = 1;
			tags->version = v;
		} else if (is_word(w, n, "RESEND")) {
			tags->resend = 1;
		} else if (is_word(w, n, "PULL")) {
			tags->pull = 1;
		} else if (is_word(w, n, "GIT")) {
			if (nt == 1)
				tags->pull = 1;	/* "[GIT] Networking" */
		} else if (is_word(w, n, "syzbot")) {
			tags->syzbot = 1;
		} else if (version_token(w, n, &v)) {
			tags->version = v;
		} else if (index_token(w, n, &k, &t)) {
			tags->index = k;
			tags->total = t;
		} else if (i + 2 < nt && is_word(tok[i + 1].p, tok[i + 1].n,
						 "of") &&
			   small_number(w, n, &k) &&
			   small_number(tok[i + 2].p, tok[i + 2].n, &t)) {
			tags->index = k;	/* Mercurial: "1 of 2" */
			tags->total = t;
			i += 2;
		} else {
			if (first_other == SIZE_MAX)
				first_other = i;
			continue;
		}
		keyword = 1;
	}
	if (keyword && first_other != SIZE_MAX)
		set_project(tags, tok[first_other].p, tok[first_other].n);
}

char *
message_subject_parse(const char *subject, struct subject_tags *tags)
{
	const char *p = subject ? subject : "", *close, *end;
	size_t n;

	memset(tags, 0, sizeof(*tags));
	tags->version = 1;
	tags->index = -1;
	tags->total = -1;
	for (;;) {
		while (*p == ' ' || *p == '\t')
			p++;
		n = prefix_len(p, tags);
		if (n) {
			p += n;
			continue;
		}
		if (*p != '[')
			break;
		close = memchr(p + 1, ']', strnlen(p + 1, TAG_MAX_LEN));
		if (!close)
			break;
		parse_group(p + 1, (size_t)(close - p - 1), tags);
		p = close + 1;
	}
	end = p + strlen(p);
	while (end > p && (end[-1] == ' ' || end[-1] == '\t'))
		end--;
	return strndup(p, (size_t)(end - p));
}
