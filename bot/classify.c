/*
 * classify.c - what a thread is (its category) and where it stands (its
 * patch status).
 *
 * This is the "understand" stage between the threader and the digest.
 * The category comes from subject tags and senders only, so it costs
 * nothing; the status reads every mail's parsed record once, keeps what
 * a reply says in its own prose and trailers, and only then, knowing
 * who the patch authors are, decides which statements count.  Nothing
 * here guesses: every tag and note carries the mail it came from.  The
 * rules are listed in include/classify.h and docs/digest.md.
 */
#include <ctype.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "buf.h"
#include "classify.h"
#include "log.h"

/* Bounds on what one thread can make us keep. */
#define MAX_TAGS	256
#define MAX_NOTES	64	/* per kind */
#define MAX_AUTHORS	64
#define MAX_PROSE	(64u * 1024)	/* prose kept per reply */
#define MAX_PARAGRAPH	(16u * 1024)
#define NOTE_CAP	240	/* bytes of a change/revert sentence */
#define LINE_CAP	200	/* bytes of an applied line */
#define WHO_CAP		200

static const char *const names[CATEGORY_COUNT] = {
	[CATEGORY_PATCH] = "PATCH",
	[CATEGORY_RFC] = "RFC",
	[CATEGORY_BUG] = "Bug Report",
	[CATEGORY_PULL] = "GIT PULL",
	[CATEGORY_OTHER] = "Other",
};

const char *
category_name(enum category c)
{
	if ((unsigned)c >= CATEGORY_COUNT)
		return "Other";
	return names[c];
}

/* ---- small string helpers ------------------------------------------ */

/* Link records promise strings, but a NULL must not crash us. */
static const char *
str0(const char *s)
{
	return s ? s : "";
}

static int
ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);

	return n >= m && !strcasecmp(s + n - m, suffix);
}

int
classify_is_syzbot(const char *addr)
{
	return addr && !strncasecmp(addr, "syzbot", 6) &&
	       ends_with(addr, "@syzkaller.appspotmail.com");
}

static int
is_bot(const char *addr)
{
	if (!addr)
		return 0;
	return classify_is_syzbot(addr) || !strcasecmp(addr, "lkp@intel.com") ||
	       !strcasecmp(addr, "pr-tracker-bot@kernel.org") ||
	       (!strncasecmp(addr, "patchwork-bot", 13) &&
		ends_with(addr, "@kernel.org"));
}

/*
 * Find phrase (lowercase ASCII) in s (n bytes) case-insensitively, as
 * whole words: no letter or digit right before it, nor right after it
 * when the phrase ends in one.  Returns 1 when found.
 */
static int
has_phrase(const char *s, size_t n, const char *phrase)
{
	size_t m = strlen(phrase);
	int alnum_start = m && isalnum((unsigned char)phrase[0]);
	int alnum_end = m && isalnum((unsigned char)phrase[m - 1]);

	int first;

	if (!m || m > n)
		return 0;
	first = tolower((unsigned char)phrase[0]);
	for (size_t i = 0; i + m <= n; i++) {
		/* the first byte filters nearly every position cheaply */
		if (tolower((unsigned char)s[i]) != first ||
		    strncasecmp(s + i, phrase, m))
			continue;
		if (alnum_start && i && isalnum((unsigned char)s[i - 1]))
			continue;
		if (alnum_end && i + m < n && isalnum((unsigned char)s[i + m]))
			continue;
		return 1;
	}
	return 0;
}

static int
any_phrase(const char *s, size_t n, const char *const *list)
{
	for (; *list; list++)
		if (has_phrase(s, n, *list))
			return 1;
	return 0;
}

/* Does [s, s+n) start with one of the lowercase prefixes? */
static int
starts_with_any(const char *s, size_t n, const char *const *list)
{
	for (; *list; list++) {
		size_t m = strlen(*list);

		if (m <= n && !strncasecmp(s, *list, m))
			return 1;
	}
	return 0;
}

char *
classify_clip(const char *s, size_t n, size_t cap)
{
	char *out = malloc(n + 4), *p;
	size_t len = 0;
	int space = 0;

	if (!out)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
			space = 1;
			continue;
		}
		if (c < 0x20 || c == 0x7f)
			continue;
		if (space && len)
			out[len++] = ' ';
		space = 0;
		out[len++] = (char)c;
	}
	out[len] = '\0';
	if (cap && len > cap) {
		size_t cut = cap > 3 ? cap - 3 : cap;

		p = out + cut;
		while (p > out && *p != ' ')
			p--;
		if (p == out) {
			/* one long word: cut at a character boundary */
			p = out + cut;
			while (p > out && ((unsigned char)*p & 0xc0) == 0x80)
				p--;
		}
		while (p > out && p[-1] == ' ')
			p--;
		memcpy(p, "...", 4);
	}
	return out;
}

/* ---- sentences ------------------------------------------------------ */

static const char *const abbreviations[] = {
	"e.g", "i.e", "etc", "vs", "cf", "approx", "resp", "eg", "ie", NULL,
};

static int
abbreviation_before(const char *p, size_t end)
{
	size_t b = end;

	while (b > 0 && p[b - 1] != ' ')
		b--;
	while (b < end && (p[b] == '(' || p[b] == '[' || p[b] == '"'))
		b++;
	for (const char *const *a = abbreviations; *a; a++)
		if (strlen(*a) == end - b && !strncasecmp(p + b, *a, end - b))
			return 1;
	return 0;
}

static int
split_paragraph(const char *p, size_t n, classify_sentence_fn fn, void *ctx)
{
	size_t start = 0, i;
	int r;

	for (i = 0; i < n; i++) {
		if (p[i] != '.' && p[i] != '?' && p[i] != '!')
			continue;
		if (i + 1 < n && p[i + 1] != ' ')
			continue;
		if (p[i] == '.' && abbreviation_before(p, i))
			continue;
		while (start < i && p[start] == ' ')
			start++;
		if (i + 1 > start) {
			r = fn(p + start, i + 1 - start, ctx);
			if (r)
				return r;
		}
		start = i + 1;
	}
	while (start < n && p[start] == ' ')
		start++;
	if (start < n)
		return fn(p + start, n - start, ctx);
	return 0;
}

int
classify_sentences(const char *prose, classify_sentence_fn fn, void *ctx)
{
	struct buf para;
	const char *line = prose, *eol;
	int r = 0;

	buf_init(&para, MAX_PARAGRAPH);
	while (line && *line && !r) {
		size_t n;
		int blank = 1, indented;

		eol = strchr(line, '\n');
		n = eol ? (size_t)(eol - line) : strlen(line);
		for (size_t i = 0; i < n; i++)
			if (!isspace((unsigned char)line[i]))
				blank = 0;
		indented = line[0] == '\t' || (n >= 4 && !strncmp(line, "    ", 4));
		if (blank || indented) {
			if (para.len)
				r = split_paragraph(para.data, para.len, fn, ctx);
			buf_truncate(&para, 0);
		} else if ((para.len && buf_addc(&para, ' ')) ||
			   buf_add(&para, line, n)) {
			/* over the cap: what we have is one paragraph */
			if (para.len)
				r = split_paragraph(para.data, para.len, fn,
						    ctx);
			buf_truncate(&para, 0);
			if (!r && buf_add(&para, line,
					  n < MAX_PARAGRAPH / 2 ?
					  n : MAX_PARAGRAPH / 2))
				r = -1;
		}
		line = eol ? eol + 1 : NULL;
	}
	if (!r && para.len)
		r = split_paragraph(para.data, para.len, fn, ctx);
	buf_release(&para);
	return r;
}

/* ---- category ------------------------------------------------------- */

const struct thread_msg *
classify_root(const struct thread *t)
{
	if (!t || !t->n_msgs)
		return NULL;
	if (t->root_id)
		for (size_t i = 0; i < t->n_msgs; i++)
			if (t->msgs[i].id && !strcmp(t->msgs[i].id, t->root_id))
				return &t->msgs[i];
	return &t->msgs[0];
}

static int
is_project_patch(const struct subject_tags *tags)
{
	/* The project is only set when the group had a keyword. */
	return !strcasecmp(tags->project, "kvm-unit-tests") ||
	       !strcasecmp(tags->project, "kvmtool");
}

/* [PATCH ...], a numbered series without the word ("[v2 0/6]"), or a
 * kvm-unit-tests/kvmtool group; an RFC with a number is an RFC patch. */
int
classify_is_patch(const struct subject_tags *tags)
{
	return tags->patch || is_project_patch(tags) ||
	       (tags->index >= 0 && tags->total > 0 && !tags->pull &&
		!tags->syzbot);
}

static int
crash_subject(const char *s)
{
	static const char *const exact[] = {
		"BUG:", "WARNING:", "KASAN:", "KCSAN:", "KMSAN:", "UBSAN:",
		NULL,
	};
	static const char *const words[] = {
		"kernel panic", "[bug]", "[regression]", "regression",
		NULL,
	};
	size_t n = strlen(s);

	for (const char *const *e = exact; *e; e++)
		if (strstr(s, *e))
			return 1;
	if (has_phrase(s, n, "oops") && strstr(s, "Oops"))
		return 1;
	return any_phrase(s, n, words);
}

enum category
classify_thread(const struct thread *t)
{
	const struct thread_msg *root = classify_root(t);

	if (!root)
		return CATEGORY_OTHER;
	for (size_t i = 0; i < t->n_msgs; i++)
		if (t->msgs[i].tags.syzbot ||
		    classify_is_syzbot(t->msgs[i].from_addr))
			return CATEGORY_BUG;
	if (!classify_is_patch(&root->tags) && !root->tags.pull &&
	    crash_subject(root->subject ? root->subject : ""))
		return CATEGORY_BUG;
	if (root->tags.pull)
		return CATEGORY_PULL;
	if (root->tags.rfc)
		return CATEGORY_RFC;
	if (classify_is_patch(&root->tags))
		return CATEGORY_PATCH;
	return CATEGORY_OTHER;
}

/* ---- status: what each reply said ----------------------------------- */

/* What pass one keeps of a reply, before the authors are known. */
struct reply {
	size_t idx;		/* into t->msgs */
	char *prose;		/* owned */
	struct status_tag *tags;	/* owned, kind/who/id unset ids */
	size_t n_tags;
	int b4_entry;		/* holds a "[k/N] ... commit:" entry */
};

struct authors {
	char *addr[MAX_AUTHORS];	/* owned, lowercase */
	char *relay[MAX_AUTHORS];	/* owned: "user.host" of b4 relay */
	char *name[MAX_AUTHORS];	/* owned, normalised */
	size_t n;
};

/* Lowercase, " via B4 Relay" and a trailing "(...)" dropped, blanks
 * collapsed: "Aneesh Kumar K.V (Arm)" and "Aneesh Kumar K.V" agree. */
static char *
normal_name(const char *name)
{
	char *s = classify_clip(name ? name : "", strlen(name ? name : ""),
				0), *p;
	size_t n;

	if (!s)
		return NULL;
	for (p = s; *p; p++)
		*p = (char)tolower((unsigned char)*p);
	n = strlen(s);
	if (n > 13 && !strcmp(s + n - 13, " via b4 relay"))
		s[n -= 13] = '\0';
	if (n && s[n - 1] == ')' && (p = strrchr(s, '(')) && p > s) {
		*p = '\0';
		n = (size_t)(p - s);
	}
	while (n && (s[n - 1] == ' ' || s[n - 1] == '"'))
		s[--n] = '\0';
	p = s;
	while (*p == '"')
		p++;
	memmove(s, p, strlen(p) + 1);
	return s;
}

/* "devnull+user.host@kernel.org" (b4 web relay) -> "user.host" */
static char *
relay_part(const char *addr)
{
	const char *at;

	if (strncmp(addr, "devnull+", 8) || !(at = strchr(addr, '@')) ||
	    strcmp(at, "@kernel.org"))
		return NULL;
	return strndup(addr + 8, (size_t)(at - addr - 8));
}

static int
authors_add(struct authors *a, const struct thread_msg *m)
{
	char *name;

	for (size_t i = 0; i < a->n; i++)
		if (!strcmp(a->addr[i], str0(m->from_addr)))
			return 0;
	if (a->n == MAX_AUTHORS)
		return 0;
	a->addr[a->n] = strdup(str0(m->from_addr));
	name = normal_name(m->from_name);
	if (!a->addr[a->n] || !name) {
		free(a->addr[a->n]);
		free(name);
		return -1;
	}
	a->relay[a->n] = relay_part(str0(m->from_addr));
	a->name[a->n] = name;
	a->n++;
	return 0;
}

static void
authors_release(struct authors *a)
{
	for (size_t i = 0; i < a->n; i++) {
		free(a->addr[i]);
		free(a->relay[i]);
		free(a->name[i]);
	}
	a->n = 0;
}

static int
is_author(const struct authors *a, const struct thread_msg *m)
{
	const char *addr = str0(m->from_addr);
	char *name;
	int found = 0;

	for (size_t i = 0; i < a->n && !found; i++) {
		if (!strcmp(a->addr[i], addr))
			found = 1;
		else if (a->relay[i]) {
			/* "user@host" of the person behind the relay */
			const char *at = strchr(addr, '@');
			size_t l = at ? (size_t)(at - addr) : 0;

			if (at && strlen(a->relay[i]) == strlen(addr) &&
			    !strncmp(a->relay[i], addr, l) &&
			    a->relay[i][l] == '.' &&
			    !strcmp(a->relay[i] + l + 1, at + 1))
				found = 1;
		}
	}
	if (found)
		return 1;
	name = normal_name(m->from_name);
	if (!name)
		return 0;
	for (size_t i = 0; i < a->n && !found; i++)
		if (strlen(name) >= 3 && !strcmp(name, a->name[i]))
			found = 1;
	free(name);
	return found;
}

/*
 * A submission: a mail that is not a reply (no "Re:") and is the root,
 * a pull request, or a patch carrying a diff or a cover letter (0/N).
 * A root that is a reply (its parent is not stored) is a reply.  A
 * "[PATCH] x" mail without a diff that answers another mail is a reply
 * sent without "Re:" (b4's "nore" sample), not a posting.
 */
static int
is_submission(const struct thread_msg *m, const struct thread_msg *root,
	      const struct message *rec)
{
	if (m->tags.reply || m->tags.forward)
		return 0;
	if (m == root || m->tags.pull)
		return 1;
	if (!classify_is_patch(&m->tags) && !m->tags.rfc)
		return 0;
	return (rec->patch && *rec->patch) || m->tags.index == 0;
}

static void
tag_release(struct status_tag *t)
{
	free(t->kind);
	free(t->who);
	free(t->message_id);
}

static void
note_release(struct status_note *n)
{
	free(n->text);
	free(n->from_name);
	free(n->from_addr);
	free(n->message_id);
}

static void
reply_release(struct reply *r)
{
	free(r->prose);
	for (size_t i = 0; i < r->n_tags; i++)
		tag_release(&r->tags[i]);
	free(r->tags);
}

void
thread_status_release(struct thread_status *st)
{
	if (!st)
		return;
	for (size_t i = 0; i < st->n_tags; i++)
		tag_release(&st->tags[i]);
	for (size_t i = 0; i < st->n_applied; i++)
		note_release(&st->applied[i]);
	for (size_t i = 0; i < st->n_changes; i++)
		note_release(&st->changes[i]);
	for (size_t i = 0; i < st->n_reverted; i++)
		note_release(&st->reverted[i]);
	free(st->tags);
	free(st->applied);
	free(st->changes);
	free(st->reverted);
	free(st->roles);
	memset(st, 0, sizeof(*st));
}

/* "[3/9] title" followed by "commit: <sha>" or a git.kernel.org link */
static int
b4_entry_at(const char *line, size_t n, const char *next, size_t nn)
{
	size_t i = 1;

	if (n < 6 || line[0] != '[')
		return 0;
	while (i < n && isdigit((unsigned char)line[i]))
		i++;
	if (i == 1 || i >= n || line[i++] != '/')
		return 0;
	if (i >= n || !isdigit((unsigned char)line[i]))
		return 0;
	while (i < n && isdigit((unsigned char)line[i]))
		i++;
	if (i + 1 >= n || line[i] != ']' || line[i + 1] != ' ')
		return 0;
	while (nn && isspace((unsigned char)*next)) {
		next++;
		nn--;
	}
	return (nn > 8 && !strncmp(next, "commit: ", 8)) ||
	       (nn > 24 && !strncmp(next, "https://git.kernel.org/", 23));
}

/* Trimmed line at *p; advances *p past it.  NULL at the end. */
static const char *
next_line(const char **p, size_t *n)
{
	const char *s = *p, *e;

	if (!s || !*s)
		return NULL;
	e = strchr(s, '\n');
	*p = e ? e + 1 : s + strlen(s);
	*n = e ? (size_t)(e - s) : strlen(s);
	while (*n && isspace((unsigned char)*s)) {
		s++;
		(*n)--;
	}
	while (*n && isspace((unsigned char)s[*n - 1]))
		(*n)--;
	return s;
}

static int
has_b4_entry(const char *prose)
{
	const char *p = prose, *l, *nl;
	size_t n, nn;

	l = next_line(&p, &n);
	while (l) {
		const char *q = p;

		nl = next_line(&q, &nn);
		if (nl && b4_entry_at(l, n, nl, nn))
			return 1;
		l = nl;
		p = q;
		n = nn;
	}
	return 0;
}

/* ---- status: building the lists ------------------------------------- */

struct builder {
	const struct thread *t;
	struct thread_status *st;
	size_t cap_tags, cap_applied, cap_changes, cap_reverted;
	const struct thread_msg *from;	/* the mail being looked at */
	int failed;
};

static int
add_note(struct builder *b, struct status_note **arr, size_t *n,
	 size_t *cap, const char *text, size_t len, size_t clip)
{
	struct status_note *note;
	char *clipped;

	if (*n >= MAX_NOTES)
		return 0;
	clipped = classify_clip(text, len, clip);
	if (!clipped)
		return -1;
	for (size_t i = 0; i < *n && *clipped; i++)
		if (!strcmp((*arr)[i].message_id, b->from->id) &&
		    !strcmp((*arr)[i].text, clipped))
			*clipped = '\0';	/* the same line twice in a mail */
	if (!*clipped) {
		free(clipped);
		return 0;
	}
	if (*n == *cap) {
		size_t nc = *cap ? *cap * 2 : 4;
		struct status_note *bigger = realloc(*arr, nc * sizeof(**arr));

		if (!bigger) {
			free(clipped);
			return -1;
		}
		*arr = bigger;
		*cap = nc;
	}
	note = &(*arr)[*n];
	memset(note, 0, sizeof(*note));
	note->text = clipped;
	note->from_name = strdup(b->from->from_name ? b->from->from_name : "");
	note->from_addr = strdup(b->from->from_addr ? b->from->from_addr : "");
	note->message_id = strdup(b->from->id);
	note->date = b->from->date;
	if (!note->from_name || !note->from_addr || !note->message_id) {
		note_release(note);
		return -1;
	}
	(*n)++;
	return 0;
}

/* Stable sort by date: submissions and replies are seen in two passes. */
static void
sort_notes(struct status_note *a, size_t n)
{
	for (size_t i = 1; i < n; i++) {
		struct status_note x = a[i];
		size_t j = i;

		while (j > 0 && a[j - 1].date > x.date) {
			a[j] = a[j - 1];
			j--;
		}
		a[j] = x;
	}
}

/* Lines that say the patch was taken. */
static const char *const applied_starts[] = {
	"applied to ", "applied, thank", "applied. thank", "applied,thank",
	"applied!", "applied.", "applied as ",
	"queued ", "queued,", "queued.", "queued!",
	"pushed to ", "pushed out to ", "picked up", "picked this up",
	"picked it up", "picked the series",
	"pulled, thank", "pulled. thank", "pulled into ", "pulled to ",
	"merged, thank", "merged. thank", "merged into ", "merged to ",
	"now applied", "now queued",
	"this patch was applied to", "this series was applied to",
	NULL,
};

static const char *const applied_anywhere[] = {
	"has been merged into", "have been merged into",
	"pull request has been merged", "i've queued", "i have queued",
	"i've picked up", "i have picked up",
	NULL,
};

/* Applied lines may not be conditional or negated. */
static const char *const applied_vetoes[] = {
	"not applied", "not be applied", "n't apply", "not apply", "if",
	"once", "when", "unless", "?", "can't", "cannot", "won't", NULL,
};

/* "Applied this series and verified that ..." is a tester's line. */
static const char *const applied_test_vetoes[] = {
	"tested", "testing", "verified", "locally", "on top of", "works",
	"boots", "reproduce", NULL,
};

/*
 * Applied lines.  A prose line may be the middle of a wrapped sentence
 * ("... the mask is\napplied to the guest"), so a line-start pattern
 * needs a capital letter and the previous line blank or ending a
 * sentence.  entries_only: only b4 "[k/N] ... commit:" entries count.
 */
static int
scan_applied(struct builder *b, const char *prose, int entries_only)
{
	struct thread_status *st = b->st;
	const char *p = prose, *l, *nl;
	size_t n, nn;
	int sentence_start = 1;

	l = next_line(&p, &n);
	while (l) {
		const char *q = p;
		struct buf tmp;
		int r = 0, hit = 0;

		nl = next_line(&q, &nn);
		buf_init(&tmp, 4096);
		if (nl && b4_entry_at(l, n, nl, nn)) {
			/* "[1/2] title" + "commit: sha": one note */
			r = buf_add(&tmp, l, n) || buf_addc(&tmp, ' ') ||
			    buf_add(&tmp, nl, nn);
			hit = 1;
			nl = next_line(&q, &nn);
		} else if (!entries_only && n &&
			   ((sentence_start && isupper((unsigned char)*l) &&
			     starts_with_any(l, n, applied_starts)) ||
			    any_phrase(l, n, applied_anywhere)) &&
			   !any_phrase(l, n, applied_vetoes) &&
			   !(n > 7 && !strncasecmp(l, "applied", 7) &&
			     any_phrase(l, n, applied_test_vetoes))) {
			r = buf_add(&tmp, l, n);
			/* "has been merged into torvalds/linux.git:" + URL */
			if (!r && l[n - 1] == ':' && nl && nn)
				r = buf_addc(&tmp, ' ') || buf_add(&tmp, nl, nn);
			hit = 1;
		}
		if (!r && hit)
			r = add_note(b, &st->applied, &st->n_applied,
				     &b->cap_applied, tmp.data, tmp.len,
				     LINE_CAP);
		buf_release(&tmp);
		if (r)
			return -1;
		sentence_start = !n || strchr(".!?:", l[n - 1]) != NULL;
		l = nl;
		p = q;
		n = nn;
	}
	return 0;
}

static const char *const change_markers[] = {
	"please", "should", "can you", "could you", "would you",
	"would be better", "would be nicer", "would be cleaner",
	"would be good", "would be preferable", "instead", "i'd rather",
	"i would rather", "i'd prefer", "i would prefer", "i'd like",
	"nacked-by", "drop this", "drop the", "drop that", "drop it",
	"split this", "split it", "split the", "split that", "split into",
	"split out", "doesn't look right", "does not look right",
	"doesn't seem right", "does not seem right", "isn't right",
	"is not right", "is wrong", "looks wrong", "needs to be",
	"need to be", "needs to go", "you need to", "we need to",
	NULL,
};

static const char *const change_vetoes[] = {
	"please ignore", "please disregard", "please let me know",
	"please find", "please see", "please pull", "please consider pulling",
	"please apply", "please queue", "please take", "please merge",
	"please review", "please test", "please advise",
	"should be fine", "should work", "should be ok", "should be okay",
	"should be good", "should be safe", "should be enough",
	"should be correct", "should be right", "should be harmless",
	"should fix", "should be fixed by", "should apply", "should now",
	"should be able to", "this should be it", "should have",
	"which should", "that should", "should just work",
	"should 'just work'", "thanks for",
	"thank you for", "looks good", "lgtm", "feel free",
	"i'd like to thank", "i agree", "agreed",
	NULL,
};

/* "NAK" is shouted; a lowercase "nak" is not taken for one. */
static int
has_nak(const char *s, size_t n)
{
	for (size_t i = 0; i + 3 <= n; i++)
		if (!strncmp(s + i, "NAK", 3) &&
		    (!i || !isalnum((unsigned char)s[i - 1])) &&
		    (i + 3 == n || !isalnum((unsigned char)s[i + 3])))
			return 1;
	return 0;
}

static int
change_sentence(const char *s, size_t n, void *ctx)
{
	struct builder *b = ctx;
	struct thread_status *st = b->st;

	if (n < 8)
		return 0;
	if (!any_phrase(s, n, change_markers) && !has_nak(s, n))
		return 0;
	if (any_phrase(s, n, change_vetoes))
		return 0;
	if (add_note(b, &st->changes, &st->n_changes, &b->cap_changes, s, n,
		     NOTE_CAP)) {
		b->failed = 1;
		return 1;
	}
	return 0;
}

static const char *const revert_markers[] = {
	"i've reverted", "i have reverted", "i reverted", "i've now reverted",
	"has been reverted", "have been reverted", "was reverted",
	"were reverted", "got reverted", "is now reverted", "now reverted",
	"is reverted", "are reverted", "reverted, thanks", "reverted in",
	"reverted it", "reverted this", "reverted the",
	NULL,
};

static const char *const revert_vetoes[] = {
	"if", "should", "would", "could", "unless", "?", "whether", "may",
	"might", "not reverted", "n't reverted", "why", NULL,
};

static int
revert_sentence(const char *s, size_t n, void *ctx)
{
	struct builder *b = ctx;
	struct thread_status *st = b->st;

	if (!any_phrase(s, n, revert_markers) ||
	    any_phrase(s, n, revert_vetoes) || memchr(s, '?', n))
		return 0;
	if (add_note(b, &st->reverted, &st->n_reverted, &b->cap_reverted, s,
		     n, NOTE_CAP)) {
		b->failed = 1;
		return 1;
	}
	return 0;
}

/* Key of a tag for deduplication: the address, else the whole value. */
static char *
tag_address(const char *who)
{
	const char *lt = strchr(who, '<'), *gt;
	char *out, *p;

	if (lt && (gt = strchr(lt, '>')) && gt > lt + 1) {
		out = strndup(lt + 1, (size_t)(gt - lt - 1));
	} else {
		const char *at = strchr(who, '@'), *s, *e;

		if (at) {
			s = at;
			while (s > who && !isspace((unsigned char)s[-1]))
				s--;
			e = at;
			while (*e && !isspace((unsigned char)*e))
				e++;
			out = strndup(s, (size_t)(e - s));
		} else {
			out = strdup(who);
		}
	}
	if (!out)
		return NULL;
	for (p = out; *p; p++)
		*p = (char)tolower((unsigned char)*p);
	return out;
}

static int
add_tag(struct builder *b, const char *kind, const char *who)
{
	struct thread_status *st = b->st;
	struct status_tag *tag;
	char *key = tag_address(who), *other;
	int dup = 0;

	if (!key)
		return -1;
	for (size_t i = 0; i < st->n_tags && !dup; i++) {
		if (strcmp(st->tags[i].kind, kind))
			continue;
		other = tag_address(st->tags[i].who);
		if (!other) {
			free(key);
			return -1;
		}
		dup = !strcmp(other, key);
		free(other);
	}
	free(key);
	if (dup || st->n_tags >= MAX_TAGS)
		return 0;
	if (st->n_tags == b->cap_tags) {
		size_t nc = b->cap_tags ? b->cap_tags * 2 : 4;
		struct status_tag *bigger =
			realloc(st->tags, nc * sizeof(*st->tags));

		if (!bigger)
			return -1;
		st->tags = bigger;
		b->cap_tags = nc;
	}
	tag = &st->tags[st->n_tags];
	tag->kind = strdup(kind);
	tag->who = classify_clip(who, strlen(who), WHO_CAP);
	tag->message_id = strdup(b->from->id);
	tag->date = b->from->date;
	if (!tag->kind || !tag->who || !tag->message_id) {
		tag_release(tag);
		return -1;
	}
	st->n_tags++;
	return 0;
}

static int
keep_reply(struct reply *r, size_t idx, const struct message *rec)
{
	size_t n = 0;

	memset(r, 0, sizeof(*r));
	r->idx = idx;
	r->prose = strndup(rec->prose ? rec->prose : "", MAX_PROSE);
	if (!r->prose)
		return -1;
	r->b4_entry = has_b4_entry(r->prose);
	for (size_t i = 0; i < rec->n_trailers; i++) {
		const char *k = rec->trailers[i].key;

		if (!strcmp(k, "Reviewed-by") || !strcmp(k, "Acked-by") ||
		    !strcmp(k, "Tested-by") ||
		    !strcmp(k, "Reviewed-and-tested-by"))
			n++;
	}
	if (!n)
		return 0;
	if (n > MAX_TAGS)
		n = MAX_TAGS;
	r->tags = calloc(n * 2, sizeof(*r->tags));
	if (!r->tags)
		return -1;
	for (size_t i = 0; i < rec->n_trailers && r->n_tags + 1 < n * 2; i++) {
		const char *k = rec->trailers[i].key;
		const char *kinds[2] = { NULL, NULL };

		if (!strcmp(k, "Reviewed-and-tested-by")) {
			kinds[0] = "Reviewed-by";
			kinds[1] = "Tested-by";
		} else if (!strcmp(k, "Reviewed-by") || !strcmp(k, "Acked-by") ||
			   !strcmp(k, "Tested-by")) {
			kinds[0] = k;
		} else {
			continue;
		}
		for (int j = 0; j < 2 && kinds[j]; j++) {
			struct status_tag *tag = &r->tags[r->n_tags];

			tag->kind = strdup(kinds[j]);
			tag->who = strdup(rec->trailers[i].value);
			if (!tag->kind || !tag->who) {
				tag_release(tag);
				return -1;
			}
			r->n_tags++;
		}
	}
	return 0;
}

/* Does the root's own subject speak of reverting? */
static int
root_is_revert(const struct thread_msg *root)
{
	const char *s = root && root->subject ? root->subject : "";

	return has_phrase(s, strlen(s), "revert") ||
	       has_phrase(s, strlen(s), "reverts") ||
	       has_phrase(s, strlen(s), "reverting");
}

static int
revert_subject(const struct thread_msg *m)
{
	struct subject_tags tags;
	char *bare = message_subject_parse(m->subject ? m->subject : "",
					   &tags);
	int r;

	if (!bare)
		return -1;
	r = !strncmp(bare, "Revert \"", 8);
	free(bare);
	return r;
}

int
classify_status(struct store_txn *txn, const struct thread *t,
		struct thread_status *st)
{
	struct builder b = { 0 };
	struct authors root_author = { 0 }, others = { 0 }, *authors;
	struct reply *replies = NULL;
	size_t n_replies = 0;
	const struct thread_msg *root = classify_root(t);
	int rc = -1, any_patch = 0, root_revert = root_is_revert(root);

	memset(st, 0, sizeof(*st));
	b.t = t;
	b.st = st;
	st->superseded = t->next_root != NULL;
	if (!t->n_msgs)
		return 0;
	st->roles = calloc(t->n_msgs, 1);
	replies = calloc(t->n_msgs, sizeof(*replies));
	if (!st->roles || !replies) {
		log_error("out of memory classifying a thread");
		goto out;
	}
	st->n_roles = t->n_msgs;

	/* Pass one: roles, authors, and what each reply said. */
	for (size_t i = 0; i < t->n_msgs; i++) {
		const struct thread_msg *m = &t->msgs[i];
		struct message rec;
		int r = store_get_message(txn, m->id, &rec);

		if (r < 0)
			goto out;
		if (r == 1)
			continue;
		if (is_bot(m->from_addr))
			st->roles[i] |= STATUS_BOT;
		if (is_submission(m, root, &rec)) {
			st->roles[i] |= STATUS_SUBMISSION;
			if (classify_is_patch(&m->tags) || m->tags.pull ||
			    (rec.patch && *rec.patch)) {
				any_patch = 1;
				if (authors_add(m == root ? &root_author :
						&others, m)) {
					message_release(&rec);
					log_error("out of memory classifying "
						  "a thread");
					goto out;
				}
			}
			if (!root_revert && m != root && !m->tags.reply) {
				int rv = revert_subject(m);

				b.from = m;
				if (rv < 0 ||
				    (rv && add_note(&b, &st->reverted,
						    &st->n_reverted,
						    &b.cap_reverted,
						    str0(m->subject),
						    strlen(str0(m->subject)),
						    NOTE_CAP))) {
					message_release(&rec);
					log_error("out of memory classifying "
						  "a thread");
					goto out;
				}
			}
		} else if (keep_reply(&replies[n_replies++], i, &rec)) {
			message_release(&rec);
			log_error("out of memory classifying a thread");
			goto out;
		}
		message_release(&rec);
	}

	/*
	 * The patch authors: the sender of the root when it is a posted
	 * patch or pull request (a maintainer who later posts a revert or
	 * a fixup in the thread stays a reviewer), else the senders of
	 * every patch posted in the thread (a fix answering a report).
	 */
	authors = root_author.n ? &root_author : &others;

	/* Pass two: now that the authors are known, judge the replies. */
	for (size_t k = 0; k < n_replies; k++) {
		struct reply *r = &replies[k];
		const struct thread_msg *m = &t->msgs[r->idx];
		int author = is_author(authors, m);
		int bot = (st->roles[r->idx] & STATUS_BOT) != 0;

		if (author)
			st->roles[r->idx] |= STATUS_AUTHOR;
		b.from = m;
		if (!author)
			for (size_t j = 0; j < r->n_tags; j++)
				if (add_tag(&b, r->tags[j].kind, r->tags[j].who))
					goto oom;
		if (scan_applied(&b, r->prose, author && !r->b4_entry))
			goto oom;
		if (!bot && classify_sentences(r->prose, revert_sentence, &b))
			goto oom;
		if (b.failed)
			goto oom;
		if (!author && !bot && any_patch &&
		    classify_sentences(r->prose, change_sentence, &b))
			goto oom;
		if (b.failed)
			goto oom;
	}
	for (size_t i = 0; i < t->n_msgs; i++)
		if ((st->roles[i] & STATUS_SUBMISSION) &&
		    is_author(authors, &t->msgs[i]))
			st->roles[i] |= STATUS_AUTHOR;
	sort_notes(st->applied, st->n_applied);
	sort_notes(st->changes, st->n_changes);
	sort_notes(st->reverted, st->n_reverted);
	rc = 0;
	goto out;
oom:
	log_error("out of memory classifying a thread");
out:
	for (size_t k = 0; k < n_replies; k++)
		reply_release(&replies[k]);
	free(replies);
	authors_release(&root_author);
	authors_release(&others);
	if (rc)
		thread_status_release(st);
	return rc;
}
