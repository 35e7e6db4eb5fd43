/*
 * split.c - the structural split of a mail body.
 *
 * The message parser hands us the decoded body; we label every line
 * (prose, quoted, patch, diffstat, trailer, signature) in a few linear
 * passes and then gather the labelled lines into the record's fields.
 * The order of the passes matters: the patch is found first, because a
 * diff line such as "-- " or "> " must not be taken for a signature
 * marker or a quote, and trailers are looked for last, in what is left.
 * The rules are listed in split.h.
 */
#include <ctype.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "buf.h"
#include "split.h"
#include "strset.h"

enum line_class {
	L_PROSE,
	L_QUOTED,
	L_ATTRIB,	/* "On ... wrote:", gathered with the quote */
	L_PATCH,
	L_DIFFSTAT,
	L_SEPARATOR,	/* the "---" line before the diffstat */
	L_TRAILER,
	L_SIGMARK,	/* the "-- " line itself */
	L_SIG,
};

/* Signature marker must be followed by at most this many lines. */
#define SIG_MAX_LINES	15

static const char *const trailer_keys[] = {
	"Signed-off-by", "Reviewed-by", "Acked-by", "Tested-by",
	"Reported-by", "Suggested-by", "Co-developed-by", "Fixes", "Link",
	"Closes", "Reviewed-and-tested-by",
};

struct ctx {
	const char *text;
	size_t len;
	uint32_t *start;	/* line i is text[start[i] .. start[i+1]-1) */
	size_t n;		/* lines */
	unsigned char *cls;
	struct split *out;
	struct strset files;
	int nomem;
};

static const char *
line_at(const struct ctx *c, size_t i, size_t *n)
{
	size_t b = c->start[i], e = c->start[i + 1] - 1;

	*n = e - b;
	return c->text + b;
}

static int
starts(const char *p, size_t n, const char *prefix)
{
	size_t l = strlen(prefix);

	return n >= l && !memcmp(p, prefix, l);
}

static int
line_starts(const struct ctx *c, size_t i, const char *prefix)
{
	size_t n;
	const char *p;

	if (i >= c->n)
		return 0;
	p = line_at(c, i, &n);
	return starts(p, n, prefix);
}

static int
is_blank(const char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] != ' ' && p[i] != '\t')
			return 0;
	return 1;
}

static int
line_blank(const struct ctx *c, size_t i)
{
	size_t n;
	const char *p = line_at(c, i, &n);

	return is_blank(p, n);
}

/* Length without trailing blanks. */
static size_t
rtrim(const char *p, size_t n)
{
	while (n && (p[n - 1] == ' ' || p[n - 1] == '\t'))
		n--;
	return n;
}

static int
is_quoted(const char *p, size_t n)
{
	size_t i = 0;

	while (i < n && (p[i] == ' ' || p[i] == '\t'))
		i++;
	return i < n && p[i] == '>';
}

/* --- the patch ------------------------------------------------------- */

struct file_section {
	char *git;	/* b/ path of "diff --git", or the "Index:" path */
	char *minus;	/* path of "--- " */
	char *plus;	/* path of "+++ " */
};

static void
add_file(struct ctx *c, const char *p, size_t n)
{
	struct split *s = c->out;
	char *name, **grown;
	int r;

	if (!n || n > 4096 || s->n_files >= SPLIT_MAX_FILES)
		return;
	name = strndup(p, n);
	if (!name) {
		c->nomem = 1;
		return;
	}
	r = strset_add(&c->files, name, n);
	if (r <= 0) {
		c->nomem |= r < 0;
		free(name);
		return;
	}
	grown = realloc(s->files, (s->n_files + 1) * sizeof(*s->files));
	if (!grown) {
		c->nomem = 1;
		free(name);
		return;
	}
	s->files = grown;
	s->files[s->n_files++] = name;
}

static void
section_flush(struct ctx *c, struct file_section *f)
{
	const char *name = NULL;

	if (f->plus && strcmp(f->plus, "/dev/null"))
		name = f->plus;
	else if (f->minus && strcmp(f->minus, "/dev/null"))
		name = f->minus;
	else if (f->git)
		name = f->git;
	/* add_file() keeps its own copy (the set points at it) */
	if (name)
		add_file(c, name, strlen(name));
	free(f->git);
	free(f->minus);
	free(f->plus);
	memset(f, 0, sizeof(*f));
}

/* "a/foo.c\t2022-09-05 ..." -> "foo.c" (prefix: "a/" or "b/"). */
static char *
diff_path(const char *p, size_t n, const char *prefix)
{
	size_t i;

	while (n && (*p == ' ' || *p == '\t')) {
		p++;
		n--;
	}
	for (i = 0; i < n && p[i] != '\t'; i++)
		;
	n = rtrim(p, i);
	if (n >= 2 && p[0] == '"' && p[n - 1] == '"') {
		p++;
		n -= 2;
	}
	if (*prefix && n > 2 && !memcmp(p, prefix, 2)) {
		p += 2;
		n -= 2;
	}
	return n ? strndup(p, n) : NULL;
}

/* "diff --git a/X b/Y": Y, preferring the split where X equals Y. */
static char *
git_path(const char *p, size_t n)
{
	const char *b = NULL;
	size_t i, half;

	p += 11;	/* "diff --git " */
	n -= 11;
	n = rtrim(p, n);
	if (n >= 7 && !((n - 5) % 2)) {
		half = (n - 5) / 2;
		if (!memcmp(p, "a/", 2) && !memcmp(p + 2 + half, " b/", 3) &&
		    !memcmp(p + 2, p + 5 + half, half))
			return strndup(p + 2, half);
	}
	for (i = 0; i + 3 <= n; i++)
		if (!memcmp(p + i, " b/", 3) || !memcmp(p + i, " \"b/", 4))
			b = p + i + 1;
	if (!b)
		return NULL;
	return diff_path(b, n - (size_t)(b - p), "b/");
}

/* "@@ -a,b +c,d @@": the line counts, 0 when malformed. */
static int
hunk_counts(const char *p, size_t n, long *old, long *new)
{
	const char *end = p + n, *q = p;
	long v[4] = { 0, 1, 0, 1 };
	int k = 0;

	while (q < end && *q == '@')	/* "@@@" of combined diffs too */
		q++;
	if (q < end && *q == ' ')
		q++;

	for (int side = 0; side < 2; side++) {
		if (q >= end || *q != (side ? '+' : '-'))
			return 0;
		q++;
		if (q >= end || !isdigit((unsigned char)*q))
			return 0;
		v[k] = 0;
		while (q < end && isdigit((unsigned char)*q)) {
			if (v[k] < 100000000)
				v[k] = v[k] * 10 + (*q - '0');
			q++;
		}
		k++;
		if (q < end && *q == ',') {
			q++;
			if (q >= end || !isdigit((unsigned char)*q))
				return 0;
			v[k] = 0;
			while (q < end && isdigit((unsigned char)*q)) {
				if (v[k] < 100000000)
					v[k] = v[k] * 10 + (*q - '0');
				q++;
			}
		}
		k++;
		if (side == 0) {
			if (q >= end || *q != ' ')
				return 0;
			q++;
		}
	}
	*old = v[1];
	*new = v[3];
	return 1;
}

static int
patch_start(const struct ctx *c, size_t i)
{
	size_t n, k;
	const char *p = line_at(c, i, &n);

	if (starts(p, n, "diff --git "))
		return 1;
	if (starts(p, n, "Index: "))
		return line_starts(c, i + 1, "====") ||
		       line_starts(c, i + 1, "--- ");
	if (starts(p, n, "--- "))
		return line_starts(c, i + 1, "+++ ") &&
		       line_starts(c, i + 2, "@@");
	if (starts(p, n, "diff -")) {
		for (k = i + 1; k < c->n && k <= i + 3; k++)
			if (line_starts(c, k, "--- ") &&
			    line_starts(c, k + 1, "+++ "))
				return 1;
	}
	return 0;
}

static const char *const header_lines[] = {
	"index ", "old mode ", "new mode ", "deleted file mode ",
	"new file mode ", "similarity index ", "dissimilarity index ",
	"rename from ", "rename to ", "copy from ", "copy to ",
	"Binary files ", "diff -", "====",
};

static int
is_base85_line(const char *p, size_t n)
{
	if (n < 2 || !isalpha((unsigned char)p[0]))
		return 0;
	for (size_t i = 1; i < n; i++)
		if (!isgraph((unsigned char)p[i]))
			return 0;
	return 1;
}

/* Label lines [i, end) as patch, collecting file names; returns end. */
static size_t
patch_parse(struct ctx *c, size_t i)
{
	struct file_section f = { 0 };
	long old = 0, new = 0;
	int hunk = 0, binary = 0;	/* hunk: 1 counted, 2 lenient */
	size_t k = i, n, h;
	const char *p;

	while (k < c->n) {
		p = line_at(c, k, &n);
		if (hunk == 1 && (old > 0 || new > 0)) {
			char ch = n ? p[0] : ' ';

			if (ch == ' ') {
				old--;
				new--;
			} else if (ch == '-') {
				old--;
			} else if (ch == '+') {
				new--;
			} else if (ch != '\\') {
				hunk = 0;
				goto header;
			}
			k++;
			continue;
		}
		/*
		 * After its counted lines, a hunk goes on while lines look
		 * like diff lines: mailers and people miscount.
		 */
		if (hunk == 1)
			hunk = 2;
		if (hunk == 2 && n && strchr(" +-\\", p[0]) &&
		    !(rtrim(p, n) == 2 && p[0] == '-' && p[1] == '-')) {
			k++;
			continue;
		}
		hunk = 0;
header:
		if (n && p[0] == '\\') {	/* "\ No newline at end of file" */
			k++;
			continue;
		}
		if (starts(p, n, "@@")) {
			hunk = hunk_counts(p, n, &old, &new) ? 1 : 2;
			k++;
			continue;
		}
		if (binary) {
			if (starts(p, n, "literal ") || starts(p, n, "delta ") ||
			    is_base85_line(p, n) ||
			    (!n && (line_starts(c, k + 1, "literal ") ||
				    line_starts(c, k + 1, "delta ")))) {
				k++;
				continue;
			}
			binary = 0;
		}
		if (starts(p, n, "diff --git ")) {
			section_flush(c, &f);
			f.git = git_path(p, n);
			k++;
			continue;
		}
		if (starts(p, n, "Index: ")) {
			section_flush(c, &f);
			f.git = diff_path(p + 7, n - 7, "");
			k++;
			continue;
		}
		if (starts(p, n, "GIT binary patch")) {
			binary = 1;
			k++;
			continue;
		}
		if (starts(p, n, "--- ") && line_starts(c, k + 1, "+++ ")) {
			size_t n2;
			const char *p2 = line_at(c, k + 1, &n2);

			if (f.minus || f.plus)
				section_flush(c, &f);
			f.minus = diff_path(p + 4, n - 4, "a/");
			f.plus = diff_path(p2 + 4, n2 - 4, "b/");
			k += 2;
			continue;
		}
		for (h = 0; h < sizeof(header_lines) / sizeof(*header_lines);
		     h++)
			if (starts(p, n, header_lines[h]))
				break;
		if (h < sizeof(header_lines) / sizeof(*header_lines)) {
			k++;
			continue;
		}
		if (is_blank(p, n)) {
			/* blank lines between two diffs belong to the patch */
			size_t m = k + 1;

			while (m < c->n && line_blank(c, m))
				m++;
			if (m < c->n && (patch_start(c, m) ||
					 line_starts(c, m, "@@"))) {
				k = m;
				continue;
			}
		}
		break;
	}
	section_flush(c, &f);
	for (h = i; h < k; h++)
		c->cls[h] = L_PATCH;
	return k;
}

/* --- quotes, signature, diffstat, trailers ---------------------------- */

static int
has_word(const char *p, size_t n, const char *w)
{
	size_t l = strlen(w);

	for (size_t i = 0; i + l <= n; i++)
		if (!strncasecmp(p + i, w, l))
			return 1;
	return 0;
}

static int
attribution_words(const char *p, size_t n)
{
	static const char *const words[] = {
		"wrote", "writes", "schrieb", "crit", "escribi", "said",
		"quoting", "skrev", "kirjoitti", "napisa",
	};

	for (size_t i = 0; i < sizeof(words) / sizeof(*words); i++)
		if (has_word(p, n, words[i]))
			return 1;
	return 0;
}

/* "[...]", "<snip>": where a reply cut the quoted text. */
static int
is_snip(const char *p, size_t n)
{
	static const char *const marks[] = {
		"[...]", "[..]", "[ ... ]", "[\xe2\x80\xa6]", "<snip>",
		"[snip]", "<...>", "[ snip ]", "...",
	};

	while (n && (*p == ' ' || *p == '\t')) {
		p++;
		n--;
	}
	n = rtrim(p, n);
	for (size_t i = 0; i < sizeof(marks) / sizeof(*marks); i++)
		if (strlen(marks[i]) == n && !strncasecmp(p, marks[i], n))
			return 1;
	return 0;
}

/* The next line after i that is neither blank nor a snip mark
 * (looking at most three lines ahead). */
static size_t
next_text(const struct ctx *c, size_t i)
{
	size_t k = i + 1, n;
	const char *p;

	while (k < c->n && k <= i + 3) {
		p = line_at(c, k, &n);
		if (!is_blank(p, n) && !is_snip(p, n))
			break;
		k++;
	}
	return k;
}

static void
mark_quotes(struct ctx *c)
{
	size_t i, n, k;
	const char *p;

	for (i = 0; i < c->n; i++) {
		if (c->cls[i] != L_PROSE)
			continue;
		p = line_at(c, i, &n);
		if (is_quoted(p, n)) {
			c->cls[i] = L_QUOTED;
			continue;
		}
		n = rtrim(p, n);
		/* Outlook quotes the whole original below this line */
		if (n >= 20 && p[0] == '-' && has_word(p, n, "original message")) {
			for (k = i; k < c->n; k++)
				if (c->cls[k] == L_PROSE)
					c->cls[k] = L_QUOTED;
			break;
		}
	}
	for (i = 0; i < c->n; i++) {
		if (c->cls[i] != L_PROSE)
			continue;
		p = line_at(c, i, &n);
		n = rtrim(p, n);
		if (!n || n > 300 || p[n - 1] != ':')
			continue;
		k = next_text(c, i);
		if (k < c->n && c->cls[k] == L_QUOTED) {
			if (!attribution_words(p, n) && !starts(p, n, "On "))
				continue;
		} else if (n < 6 || memcmp(p + n - 6, "wrote:", 6) ||
			   !(starts(p, n, "On ") ||
			     (i > 0 && c->cls[i - 1] == L_PROSE &&
			      line_starts(c, i - 1, "On ")))) {
			/* "On <date>, X wrote:" needs no quote after it */
			continue;
		}
		c->cls[i] = L_ATTRIB;
		/* "On Mon, 5 Sep 2022, Someone <a@b>\nwrote:" */
		if (i > 0 && c->cls[i - 1] == L_PROSE && !starts(p, n, "On ") &&
		    line_starts(c, i - 1, "On "))
			c->cls[i - 1] = L_ATTRIB;
	}
	/* snip marks between quoted lines belong to the quote */
	for (i = 0; i < c->n; i++) {
		if (c->cls[i] != L_PROSE)
			continue;
		p = line_at(c, i, &n);
		if (!is_snip(p, n))
			continue;
		if ((i > 0 && (c->cls[i - 1] == L_QUOTED ||
			       c->cls[i - 1] == L_ATTRIB)) ||
		    (next_text(c, i) < c->n &&
		     c->cls[next_text(c, i)] == L_QUOTED))
			c->cls[i] = L_QUOTED;
	}
}

static int
all_underscores(const char *p, size_t n)
{
	n = rtrim(p, n);
	if (n < 20)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (p[i] != '_')
			return 0;
	return 1;
}

static void
mark_signature(struct ctx *c)
{
	size_t foot = c->n, end, low = 0, i, n, k;
	const char *p;

	/* Mailman's footer: a rule of underscores, then "... mailing list" */
	for (i = c->n; i > 0 && c->n - i < 12; i--) {
		if (c->cls[i - 1] != L_PROSE)
			continue;
		p = line_at(c, i - 1, &n);
		if (all_underscores(p, n) && i < c->n &&
		    c->cls[i] == L_PROSE) {
			const char *q = line_at(c, i, &n);

			if (has_word(q, n, "mailing list")) {
				foot = i - 1;
				break;
			}
		}
	}
	/*
	 * A quote running to the end (top-posting, Outlook's original
	 * message) ends the signature above it.
	 */
	end = foot;
	for (i = foot; i > 0; i--) {
		enum line_class cl = (enum line_class)c->cls[i - 1];

		if (cl == L_QUOTED || cl == L_ATTRIB)
			end = i - 1;
		else if (!(cl == L_PROSE && line_blank(c, i - 1)))
			break;
	}
	/* the marker must come after the last patch or quoted line */
	for (i = 0; i < end; i++)
		if (c->cls[i] == L_PATCH || c->cls[i] == L_QUOTED)
			low = i + 1;
	for (i = end; i > low && end - i <= SIG_MAX_LINES; i--) {
		p = line_at(c, i - 1, &n);
		if (c->cls[i - 1] == L_PROSE &&
		    ((n == 3 && !memcmp(p, "-- ", 3)) ||
		     (n == 2 && !memcmp(p, "--", 2)))) {
			c->cls[i - 1] = L_SIGMARK;
			for (k = i; k < end; k++)
				if (c->cls[k] == L_PROSE)
					c->cls[k] = L_SIG;
			break;
		}
	}
	for (k = foot; k < c->n; k++)
		if (c->cls[k] == L_PROSE)
			c->cls[k] = L_SIG;
}

static int
all_digits(const char *p, size_t n)
{
	if (!n)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!isdigit((unsigned char)p[i]))
			return 0;
	return 1;
}

/* " arch/arm64/kvm/arm.c | 12 ++++--" or " x.bin | Bin 0 -> 12 bytes" */
static int
is_diffstat(const char *p, size_t n)
{
	const char *bar;
	size_t i, j;

	n = rtrim(p, n);
	if (n < 5 || p[0] != ' ')
		return 0;
	bar = NULL;
	for (i = n; i > 1; i--) {
		if (p[i - 1] == '|') {
			bar = p + i - 1;
			break;
		}
	}
	if (!bar || bar[-1] != ' ' || (size_t)(bar - p) + 1 >= n ||
	    bar[1] != ' ' || is_blank(p, (size_t)(bar - p)))
		return 0;
	i = (size_t)(bar - p) + 1;
	while (i < n && p[i] == ' ')
		i++;
	if (starts(p + i, n - i, "Bin"))
		return 1;
	for (j = i; j < n && isdigit((unsigned char)p[j]); j++)
		;
	if (j == i)
		return 0;
	if (j < n && p[j] != ' ')
		return 0;
	while (j < n && p[j] == ' ')
		j++;
	for (; j < n; j++)
		if (p[j] != '+' && p[j] != '-')
			return 0;
	return 1;
}

/* " 3 files changed, 10 insertions(+), 2 deletions(-)" */
static int
is_diffstat_summary(const char *p, size_t n)
{
	size_t i = 0, j;

	while (i < n && p[i] == ' ')
		i++;
	if (i == 0)
		return 0;
	for (j = i; j < n && isdigit((unsigned char)p[j]); j++)
		;
	if (!all_digits(p + i, j - i))
		return 0;
	return starts(p + j, n - j, " file changed") ||
	       starts(p + j, n - j, " files changed");
}

static int
is_diffstat_mode(const char *p, size_t n)
{
	return starts(p, n, " create mode ") || starts(p, n, " delete mode ") ||
	       starts(p, n, " rename ") || starts(p, n, " mode change ") ||
	       starts(p, n, " copy ");
}

static void
mark_diffstat(struct ctx *c)
{
	size_t i, n;
	const char *p;
	int after_summary = 0;

	for (i = 0; i < c->n; i++) {
		if (c->cls[i] != L_PROSE) {
			after_summary = 0;
			continue;
		}
		p = line_at(c, i, &n);
		if (rtrim(p, n) == 3 && !memcmp(p, "---", 3)) {
			c->cls[i] = L_SEPARATOR;
		} else if (is_diffstat(p, n)) {
			c->cls[i] = L_DIFFSTAT;
		} else if (is_diffstat_summary(p, n)) {
			c->cls[i] = L_DIFFSTAT;
			after_summary = 1;
			continue;
		} else if (after_summary && is_diffstat_mode(p, n)) {
			c->cls[i] = L_DIFFSTAT;
			continue;
		}
		after_summary = 0;
	}
}

static int
add_trailer(struct ctx *c, const char *key, const char *v, size_t vn)
{
	struct split *s = c->out;
	struct trailer *grown;
	char *k, *val;

	if (s->n_trailers >= SPLIT_MAX_TRAILERS)
		return 0;
	k = strdup(key);
	val = strndup(v, vn);
	grown = realloc(s->trailers, (s->n_trailers + 1) * sizeof(*grown));
	if (!k || !val || !grown) {
		free(k);
		free(val);
		if (grown)
			s->trailers = grown;
		c->nomem = 1;
		return -1;
	}
	s->trailers = grown;
	s->trailers[s->n_trailers].key = k;
	s->trailers[s->n_trailers].value = val;
	s->n_trailers++;
	return 0;
}

static int
trailer_match(struct ctx *c, const char *p, size_t n)
{
	const char *colon = memchr(p, ':', n < 32 ? n : 32);
	size_t kl, i, v;

	if (!colon || colon == p)
		return 0;
	kl = (size_t)(colon - p);
	/* "Cc:" lines belong to the trailer block but are not collected */
	if (kl == 2 && !strncasecmp(p, "Cc", 2) && memchr(p, '@', n))
		return 1;
	for (i = 0; i < sizeof(trailer_keys) / sizeof(*trailer_keys); i++) {
		if (strlen(trailer_keys[i]) != kl ||
		    strncasecmp(p, trailer_keys[i], kl))
			continue;
		v = kl + 1;
		while (v < n && (p[v] == ' ' || p[v] == '\t'))
			v++;
		n = rtrim(p, n);
		if (v >= n)
			return 0;
		add_trailer(c, trailer_keys[i], p + v, n - v);
		return 1;
	}
	return 0;
}

/* More '(' than ')' in a trailer value. */
static int
unbalanced(const char *v)
{
	int depth = 0;

	for (; *v; v++)
		depth += *v == '(' ? 1 : *v == ')' ? -1 : 0;
	return depth > 0;
}

static int
append_value(struct ctx *c, struct trailer *t, const char *p, size_t n)
{
	size_t old = strlen(t->value);
	char *grown;

	while (n && (*p == ' ' || *p == '\t')) {
		p++;
		n--;
	}
	n = rtrim(p, n);
	grown = realloc(t->value, old + n + 2);
	if (!grown) {
		c->nomem = 1;
		return -1;
	}
	grown[old] = ' ';
	memcpy(grown + old + 1, p, n);
	grown[old + 1 + n] = '\0';
	t->value = grown;
	return 0;
}

static void
mark_trailers(struct ctx *c)
{
	size_t i, n, end = c->n;
	const char *p;

	for (i = 0; i < c->n; i++) {
		if (c->cls[i] == L_PATCH) {
			end = i;
			break;
		}
	}
	for (i = 0; i < end; i++) {
		size_t before = c->out->n_trailers, k;

		if (c->cls[i] != L_PROSE)
			continue;
		p = line_at(c, i, &n);
		if (!trailer_match(c, p, n))
			continue;
		c->cls[i] = L_TRAILER;
		if (c->out->n_trailers == before)
			continue;
		/*
		 * A mailer may wrap 'Fixes: sha ("long subject")': take up
		 * to two more lines while the parentheses stay open.
		 */
		for (k = i + 1; k < end && k <= i + 2; k++) {
			struct trailer *t = &c->out->trailers[before];

			if (!unbalanced(t->value) || c->cls[k] != L_PROSE ||
			    line_blank(c, k))
				break;
			p = line_at(c, k, &n);
			if (memchr(p, ':', n < 32 ? n : 32) &&
			    trailer_match(c, p, n)) {
				c->cls[k] = L_TRAILER;
				break;
			}
			if (append_value(c, t, p, n) < 0)
				break;
			c->cls[k] = L_TRAILER;
			i = k;
		}
	}
}

/* --- gathering -------------------------------------------------------- */

/*
 * The lines of one class, in order.  Runs that are not adjacent are
 * separated by one blank line; for prose, blank runs are collapsed and
 * leading/trailing blank lines dropped.
 */
static char *
gather(struct ctx *c, enum line_class a, enum line_class b)
{
	struct buf out = BUF_INIT;
	size_t i, n, last = SIZE_MAX;
	const char *p;
	int pending_blank = 0, err = 0;

	buf_init(&out, 0);
	for (i = 0; i < c->n; i++) {
		if (c->cls[i] != a && c->cls[i] != b)
			continue;
		p = line_at(c, i, &n);
		if (is_blank(p, n)) {
			pending_blank = out.len > 0;
			last = i;
			continue;
		}
		if (out.len && (pending_blank || (last != SIZE_MAX &&
						   last + 1 != i)))
			err |= buf_addc(&out, '\n');
		pending_blank = 0;
		err |= buf_add(&out, p, n);
		err |= buf_addc(&out, '\n');
		last = i;
	}
	if (err) {
		buf_release(&out);
		return NULL;
	}
	return buf_detach(&out, NULL);
}

/* The patch keeps its blank lines (they are context lines). */
static char *
gather_patch(struct ctx *c)
{
	struct buf out = BUF_INIT;
	size_t i, n, last = SIZE_MAX;
	const char *p;
	int err = 0;

	buf_init(&out, 0);
	for (i = 0; i < c->n; i++) {
		if (c->cls[i] != L_PATCH)
			continue;
		if (out.len && last + 1 != i)
			err |= buf_addc(&out, '\n');
		p = line_at(c, i, &n);
		err |= buf_add(&out, p, n);
		err |= buf_addc(&out, '\n');
		last = i;
	}
	if (err) {
		buf_release(&out);
		return NULL;
	}
	return buf_detach(&out, NULL);
}

void
split_release(struct split *s)
{
	size_t i;

	free(s->prose);
	free(s->quoted);
	free(s->patch);
	free(s->diffstat);
	free(s->signature);
	for (i = 0; i < s->n_files; i++)
		free(s->files[i]);
	free(s->files);
	for (i = 0; i < s->n_trailers; i++) {
		free(s->trailers[i].key);
		free(s->trailers[i].value);
	}
	free(s->trailers);
	memset(s, 0, sizeof(*s));
}

int
split_body(const char *text, size_t len, struct split *s)
{
	struct ctx c = { .text = text, .len = len, .out = s };
	size_t i, n;
	const char *nl;

	memset(s, 0, sizeof(*s));
	if (len >= UINT32_MAX - 1)	/* bodies are far smaller */
		len = UINT32_MAX - 2;
	/* a missing final newline is implied */
	for (i = 0, n = 0; i < len; n++) {
		nl = memchr(text + i, '\n', len - i);
		i = nl ? (size_t)(nl - text) + 1 : len;
	}
	c.n = n;
	c.start = malloc((n + 1) * sizeof(*c.start));
	c.cls = calloc(n ? n : 1, 1);
	if (!c.start || !c.cls)
		goto nomem;
	for (i = 0, n = 0; i < len; n++) {
		c.start[n] = (uint32_t)i;
		nl = memchr(text + i, '\n', len - i);
		i = nl ? (size_t)(nl - text) + 1 : len + 1;
	}
	c.start[n] = (uint32_t)i;	/* len, or len + 1 without final LF */

	for (i = 0; i < c.n;) {
		size_t l;
		const char *p = line_at(&c, i, &l);

		if (!is_quoted(p, l) && patch_start(&c, i))
			i = patch_parse(&c, i);
		else
			i++;
	}
	mark_quotes(&c);
	mark_signature(&c);
	mark_diffstat(&c);
	mark_trailers(&c);

	s->prose = gather(&c, L_PROSE, L_PROSE);
	s->quoted = gather(&c, L_QUOTED, L_ATTRIB);
	s->patch = gather_patch(&c);
	s->diffstat = gather(&c, L_DIFFSTAT, L_DIFFSTAT);
	s->signature = gather(&c, L_SIG, L_SIG);
	if (c.nomem || !s->prose || !s->quoted || !s->patch ||
	    !s->diffstat || !s->signature)
		goto nomem;
	strset_release(&c.files);
	free(c.start);
	free(c.cls);
	return 0;
nomem:
	strset_release(&c.files);
	free(c.start);
	free(c.cls);
	split_release(s);
	return -1;
}
