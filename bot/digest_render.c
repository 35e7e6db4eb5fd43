/*
 * digest_render.c - the digest as Markdown (the layout of the user's
 * example) and as plain text for a kernel mailing list.
 *
 * The second half of the "speak" stage: it reads the model digest_build()
 * made and writes text, nothing else.  Every time is shown in the
 * digest's time zone (TZ is set for the duration of one rendering and
 * put back afterwards), the zone is named once in the header, and the
 * mails of a thread are listed in true time order whatever zone each
 * sender wrote from.
 *
 * Plain text is at most DIGEST_TEXT_WIDTH display columns per line
 * (CJK characters count two, see cp_width()), has no tabs and no
 * trailing blanks.  The only line that may be longer is a URL that is
 * longer than the width by itself: it then stands alone on its line,
 * unbroken, so it stays clickable (docs/digest.md).
 *
 * What the mails say (subjects, names, summaries) is foreign text: it
 * is cleaned of control and bidi characters, and in Markdown escaped
 * where it would otherwise change the rendering.
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "digest.h"
#include "log.h"
#include "tz.h"

#define DIGEST_TEXT_WIDTH 80
#define NOTE_MAX_BYTES 300	/* a status sentence shown, at most */

/* --- UTF-8 and display width ---------------------------------------------- */

/*
 * Decode one code point at s (NUL-terminated); *len gets its byte
 * length.  Invalid or overlong sequences give U+FFFD for one byte.
 */
static uint32_t
utf8_next(const char *s, size_t *len)
{
	const unsigned char *p = (const unsigned char *)s;
	uint32_t cp;
	size_t n;

	if (p[0] < 0x80) {
		*len = 1;
		return p[0];
	}
	if (p[0] >= 0xc2 && p[0] <= 0xdf) {
		n = 2;
		cp = p[0] & 0x1f;
	} else if (p[0] >= 0xe0 && p[0] <= 0xef) {
		n = 3;
		cp = p[0] & 0x0f;
	} else if (p[0] >= 0xf0 && p[0] <= 0xf4) {
		n = 4;
		cp = p[0] & 0x07;
	} else {
		*len = 1;
		return 0xfffd;
	}
	for (size_t i = 1; i < n; i++) {
		if ((p[i] & 0xc0) != 0x80) {
			*len = 1;
			return 0xfffd;
		}
		cp = cp << 6 | (p[i] & 0x3f);
	}
	if ((n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) ||
	    cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) {
		*len = 1;
		return 0xfffd;
	}
	*len = n;
	return cp;
}

struct range {
	uint32_t lo, hi;
};

static int
in_ranges(uint32_t cp, const struct range *r, size_t n)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (cp < r[mid].lo)
			hi = mid;
		else if (cp > r[mid].hi)
			lo = mid + 1;
		else
			return 1;
	}
	return 0;
}

/* East Asian Wide and Fullwidth (Unicode 15 EastAsianWidth.txt, W/F). */
static const struct range wide[] = {
    {0x1100, 0x115f},	{0x231a, 0x231b},   {0x2329, 0x232a},
    {0x23e9, 0x23ec},	{0x23f0, 0x23f0},   {0x23f3, 0x23f3},
    {0x25fd, 0x25fe},	{0x2614, 0x2615},   {0x2648, 0x2653},
    {0x267f, 0x267f},	{0x2693, 0x2693},   {0x26a1, 0x26a1},
    {0x26aa, 0x26ab},	{0x26bd, 0x26be},   {0x26c4, 0x26c5},
    {0x26ce, 0x26ce},	{0x26d4, 0x26d4},   {0x26ea, 0x26ea},
    {0x26f2, 0x26f3},	{0x26f5, 0x26f5},   {0x26fa, 0x26fa},
    {0x26fd, 0x26fd},	{0x2705, 0x2705},   {0x270a, 0x270b},
    {0x2728, 0x2728},	{0x274c, 0x274c},   {0x274e, 0x274e},
    {0x2753, 0x2755},	{0x2757, 0x2757},   {0x2795, 0x2797},
    {0x27b0, 0x27b0},	{0x27bf, 0x27bf},   {0x2b1b, 0x2b1c},
    {0x2b50, 0x2b50},	{0x2b55, 0x2b55},   {0x2e80, 0x303e},
    {0x3041, 0x33ff},	{0x3400, 0x4dbf},   {0x4e00, 0x9fff},
    {0xa000, 0xa4cf},	{0xa960, 0xa97f},   {0xac00, 0xd7a3},
    {0xf900, 0xfaff},	{0xfe10, 0xfe19},   {0xfe30, 0xfe6f},
    {0xff00, 0xff60},	{0xffe0, 0xffe6},   {0x16fe0, 0x16fe4},
    {0x17000, 0x18aff}, {0x1b000, 0x1b2ff}, {0x1f004, 0x1f004},
    {0x1f0cf, 0x1f0cf}, {0x1f18e, 0x1f18e}, {0x1f191, 0x1f19a},
    {0x1f200, 0x1f202}, {0x1f210, 0x1f23b}, {0x1f240, 0x1f248},
    {0x1f250, 0x1f251}, {0x1f260, 0x1f265}, {0x1f300, 0x1f320},
    {0x1f32d, 0x1f335}, {0x1f337, 0x1f37c}, {0x1f37e, 0x1f393},
    {0x1f3a0, 0x1f3ca}, {0x1f3cf, 0x1f3d3}, {0x1f3e0, 0x1f3f0},
    {0x1f3f4, 0x1f3f4}, {0x1f3f8, 0x1f43e}, {0x1f440, 0x1f440},
    {0x1f442, 0x1f4fc}, {0x1f4ff, 0x1f53d}, {0x1f54b, 0x1f54e},
    {0x1f550, 0x1f567}, {0x1f57a, 0x1f57a}, {0x1f595, 0x1f596},
    {0x1f5a4, 0x1f5a4}, {0x1f5fb, 0x1f64f}, {0x1f680, 0x1f6c5},
    {0x1f6cc, 0x1f6cc}, {0x1f6d0, 0x1f6d2}, {0x1f6d5, 0x1f6d7},
    {0x1f6dc, 0x1f6df}, {0x1f6eb, 0x1f6ec}, {0x1f6f4, 0x1f6fc},
    {0x1f7e0, 0x1f7eb}, {0x1f7f0, 0x1f7f0}, {0x1f90c, 0x1f93a},
    {0x1f93c, 0x1f945}, {0x1f947, 0x1f9ff}, {0x1fa70, 0x1faff},
    {0x20000, 0x2fffd}, {0x30000, 0x3fffd},
};

/* Combining marks and other characters that take no column. */
static const struct range zero[] = {
    {0x0300, 0x036f}, {0x0483, 0x0489}, {0x0591, 0x05bd},
    {0x05bf, 0x05bf}, {0x05c1, 0x05c2}, {0x05c4, 0x05c5},
    {0x05c7, 0x05c7}, {0x0610, 0x061a}, {0x064b, 0x065f},
    {0x0670, 0x0670}, {0x06d6, 0x06dc}, {0x06df, 0x06e4},
    {0x06e7, 0x06e8}, {0x06ea, 0x06ed}, {0x0e31, 0x0e31},
    {0x0e34, 0x0e3a}, {0x0e47, 0x0e4e}, {0x1160, 0x11ff},
    {0x1ab0, 0x1aff}, {0x1dc0, 0x1dff}, {0x200b, 0x200f},
    {0x2060, 0x2064}, {0x20d0, 0x20ff}, {0xfe00, 0xfe0f},
    {0xfe20, 0xfe2f}, {0xfeff, 0xfeff}, {0xe0100, 0xe01ef},
};

static size_t
cp_width(uint32_t cp)
{
	if (in_ranges(cp, zero, sizeof(zero) / sizeof(zero[0])))
		return 0;
	if (in_ranges(cp, wide, sizeof(wide) / sizeof(wide[0])))
		return 2;
	return 1;
}

/* Display columns of the UTF-8 string s (cleaned: no controls). */
static size_t
str_width(const char *s, size_t len)
{
	size_t w = 0, n;

	for (size_t i = 0; i < len; i += n)
		w += cp_width(utf8_next(s + i, &n));
	return w;
}

/*
 * Append s to b fit for display: C0/C1 controls, DEL and tabs become
 * spaces (newlines too unless keep_nl), bidi overrides are dropped (they
 * would reorder what follows), invalid UTF-8 becomes U+FFFD.
 */
static int
clean(struct buf *b, const char *s, int keep_nl)
{
	size_t n;

	for (; s && *s; s += n) {
		uint32_t cp = utf8_next(s, &n);

		if (cp == '\n' && keep_nl) {
			if (buf_addc(b, '\n') < 0)
				return -1;
		} else if (cp < 0x20 || (cp >= 0x7f && cp < 0xa0)) {
			if (buf_addc(b, ' ') < 0)
				return -1;
		} else if ((cp >= 0x202a && cp <= 0x202e) ||
			   (cp >= 0x2066 && cp <= 0x2069)) {
			continue;
		} else if (cp == 0xfffd && n == 1 &&
			   (unsigned char)*s >= 0x80) {
			if (buf_adds(b, "\xef\xbf\xbd") < 0)
				return -1;
		} else if (buf_add(b, s, n) < 0) {
			return -1;
		}
	}
	return 0;
}

/* --- time ----------------------------------------------------------------- */

static int
local_tm(int64_t t, struct tm *tm)
{
	time_t tt = (time_t)t;

	return (int64_t)tt == t && localtime_r(&tt, tm) ? 0 : -1;
}

/* strftime of t in the current zone; "?" when it cannot be shown. */
static void
local_fmt(int64_t t, const char *fmt, char *out, size_t outsz)
{
	struct tm tm;

	if (local_tm(t, &tm) < 0 || !strftime(out, outsz, fmt, &tm))
		snprintf(out, outsz, "?");
}

/* --- rendering context ---------------------------------------------------- */

struct ctx {
	const struct digest *d;
	struct buf *out;
	int zh;
	int md;
	const char *mail_fmt;	/* strftime format of a listed mail */
	int err;
};

#define T(c, en_, zh_) ((c)->zh ? (zh_) : (en_))

static void
put(struct ctx *c, const char *s)
{
	if (buf_adds(c->out, s) < 0)
		c->err = 1;
}

static void __attribute__((format(printf, 2, 3)))
putf(struct ctx *c, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	if (buf_vaddf(c->out, fmt, ap) < 0)
		c->err = 1;
	va_end(ap);
}

static const char *
cat_name(enum category cat)
{
	const char *n = category_name(cat);

	return n ? n : "Other";
}

/* "Asia/Shanghai (CST, UTC+08:00)", with every offset the window uses. */
static void
zone_line(struct ctx *c, struct buf *b)
{
	int64_t when[3] = {c->d->since, c->d->until - 1, c->d->generated};
	char seen[3][48];
	size_t n = 0;

	buf_adds(b, c->d->timezone);
	for (size_t i = 0; i < 3; i++) {
		struct tm tm;
		char one[48];
		long off;
		size_t j;

		if (local_tm(when[i], &tm) < 0)
			continue;
		off = tm.tm_gmtoff;
		snprintf(one, sizeof(one), "%s%sUTC%c%02ld:%02ld",
			 tm.tm_zone && strcmp(tm.tm_zone, "UTC") ? tm.tm_zone
								  : "",
			 tm.tm_zone && strcmp(tm.tm_zone, "UTC") ? ", " : "",
			 off < 0 ? '-' : '+', labs(off) / 3600,
			 labs(off) % 3600 / 60);
		for (j = 0; j < n; j++)
			if (!strcmp(seen[j], one))
				break;
		if (j < n)
			continue;
		memcpy(seen[n++], one, sizeof(one));
	}
	for (size_t i = 0; i < n; i++)
		buf_addf(b, "%s%s", i ? T(c, "; ", "；") : T(c, " (", "（"),
			 seen[i]);
	if (n)
		buf_adds(b, T(c, ")", "）"));
}

/* "2025-09-08 00:00 to 2025-09-15 00:00 (7 days, end exclusive)" */
static void
window_line(struct ctx *c, struct buf *b)
{
	int64_t span = c->d->until - c->d->since;
	char from[32], to[32];

	local_fmt(c->d->since, "%Y-%m-%d %H:%M", from, sizeof(from));
	local_fmt(c->d->until, "%Y-%m-%d %H:%M", to, sizeof(to));
	buf_addf(b, "%s%s%s", from, T(c, " to ", " 至 "), to);
	if (span % 86400 == 0)
		buf_addf(b, T(c, " (%lld day%s, end exclusive)",
			      "（%lld 天%s，不含结束时刻）"),
			 (long long)(span / 86400),
			 c->zh || span == 86400 ? "" : "s");
	else if (span % 3600 == 0)
		buf_addf(b, T(c, " (%lld hour%s, end exclusive)",
			      "（%lld 小时%s，不含结束时刻）"),
			 (long long)(span / 3600),
			 c->zh || span == 3600 ? "" : "s");
	else
		buf_adds(b, T(c, " (end exclusive)", "（不含结束时刻）"));
}

static const char *
plural(struct ctx *c, size_t n, const char *one, const char *many)
{
	return c->zh || n == 1 ? one : many;
}

/* The sender as "Name <addr>", or whichever part there is. */
static void
sender(const struct thread_msg *m, struct buf *b)
{
	if (*m->from_name && *m->from_addr)
		buf_addf(b, "%s <%s>", m->from_name, m->from_addr);
	else if (*m->from_addr)
		buf_addf(b, "<%s>", m->from_addr);
	else if (*m->from_name)
		buf_adds(b, m->from_name);
	else
		buf_adds(b, "?");
}

/* The name part of a trailer's "Name <addr>". */
static void
who_name(const char *who, struct buf *b)
{
	const char *lt = strchr(who, '<');
	size_t n = lt ? (size_t)(lt - who) : strlen(who);

	while (n && who[n - 1] == ' ')
		n--;
	if (n == 0) {
		buf_adds(b, who);
		return;
	}
	buf_add(b, who, n);
}

/* At most NOTE_MAX_BYTES of s, cut at a character, with "..." if cut. */
static void
note_text(const char *s, struct buf *b)
{
	size_t len = strlen(s), cut = len, n;

	if (len > NOTE_MAX_BYTES) {
		cut = 0;
		while (cut < len) {
			utf8_next(s + cut, &n);
			if (cut + n > NOTE_MAX_BYTES)
				break;
			cut += n;
		}
	}
	while (cut && (s[cut - 1] == ' ' || s[cut - 1] == '\n'))
		cut--;
	buf_add(b, s, cut);
	if (cut < len)
		buf_adds(b, "...");
}

static const char *
note_who(const struct status_note *sn)
{
	if (sn->from_name && *sn->from_name)
		return sn->from_name;
	return sn->from_addr && *sn->from_addr ? sn->from_addr : "?";
}

/*
 * The status of a thread as lines of plain text (not yet escaped or
 * wrapped), one fact per line; none when nothing is known.
 */
static int
status_lines(struct ctx *c, const struct digest_thread *dt, char ***lines,
	     size_t *n)
{
	static const char *const kinds[] = {"Reviewed-by", "Acked-by",
					    "Tested-by"};
	const struct thread_status *st = &dt->status;
	const struct thread *t = &dt->thread;
	const struct thread_msg *root = t->n_msgs ? &t->msgs[dt->title] : NULL;
	struct buf b;
	char **v = NULL;
	size_t nv = 0;

	*lines = NULL;
	*n = 0;
	buf_init(&b, 1u << 20);
#define EMIT()                                                              \
	do {                                                                \
		char **nl = realloc(v, (nv + 1) * sizeof(*v));              \
		if (!nl || !(nl[nv] = buf_detach(&b, NULL))) {              \
			v = nl ? nl : v;                                    \
			goto oom;                                           \
		}                                                           \
		v = nl;                                                     \
		nv++;                                                       \
		buf_init(&b, 1u << 20);                                     \
	} while (0)

	for (size_t k = 0; k < 3; k++) {
		size_t shown = 0;

		for (size_t i = 0; i < st->n_tags; i++) {
			const char *kind = st->tags[i].kind;
			size_t j;

			if (!kind || strcasecmp(kind, kinds[k]))
				continue;
			/* Each person once per kind. */
			for (j = 0; j < i; j++)
				if (st->tags[j].kind && st->tags[j].who &&
				    st->tags[i].who &&
				    !strcasecmp(st->tags[j].kind, kind) &&
				    !strcmp(st->tags[j].who, st->tags[i].who))
					break;
			if (j < i || !st->tags[i].who)
				continue;
			buf_adds(&b, shown++ ? ", " : kinds[k]);
			if (shown == 1)
				buf_adds(&b, ": ");
			who_name(st->tags[i].who, &b);
		}
		if (shown)
			EMIT();
	}
	{
		static const char *const en[] = {"Applied", "Reverted"};
		static const char *const zh[] = {"已合入", "已回退"};
		const struct status_note *notes[2] = {st->applied,
						      st->reverted};
		size_t counts[2] = {st->n_applied, st->n_reverted};

		for (size_t k = 0; k < 2; k++) {
			for (size_t i = 0; i < counts[k]; i++) {
				const struct status_note *sn = &notes[k][i];
				char when[32];

				local_fmt(sn->date, c->mail_fmt, when,
					  sizeof(when));
				buf_addf(&b, "%s%s%s (%s): \"",
					 c->zh ? zh[k] : en[k],
					 T(c, ": ", "："), note_who(sn), when);
				note_text(sn->text ? sn->text : "", &b);
				buf_adds(&b, "\"");
				EMIT();
			}
		}
	}
	/*
	 * Who asked for changes, each person once; their words are in
	 * the summary and in the JSON form, not repeated here.
	 */
	for (size_t i = 0; i < st->n_changes; i++) {
		const char *who = note_who(&st->changes[i]);
		size_t j;

		for (j = 0; j < i; j++)
			if (!strcmp(note_who(&st->changes[j]), who))
				break;
		if (j < i)
			continue;
		if (b.len)
			buf_adds(&b, T(c, ", ", "、"));
		else
			buf_adds(&b, T(c, "Changes requested by: ",
				       "要求修改："));
		buf_adds(&b, who);
	}
	if (b.len)
		EMIT();
	if (t->prev_root) {
		char when[32];
		int ver = root ? root->tags.version : 0;

		local_fmt(t->prev_date, "%Y-%m-%d", when, sizeof(when));
		if (ver > 1)
			buf_addf(&b,
				 T(c, "v%d of a series whose v%d was "
				      "discussed on %s",
				   "本系列为 v%d，其 v%d 于 %s 讨论过"),
				 ver, t->prev_version, when);
		else
			buf_addf(&b,
				 T(c, "An earlier version (v%d) was discussed "
				      "on %s",
				   "较早的版本 v%d 于 %s 讨论过"),
				 t->prev_version, when);
		EMIT();
	}
	if (t->next_root || st->superseded) {
		char when[32];

		if (t->next_root) {
			local_fmt(t->next_date, "%Y-%m-%d", when, sizeof(when));
			buf_addf(&b,
				 T(c, "Superseded by v%d, posted on %s",
				   "已被新版本 v%d 取代（%s 发布）"),
				 t->next_version, when);
		} else {
			buf_adds(&b, T(c, "Superseded by a newer version",
				       "已被新版本取代"));
		}
		EMIT();
	}
#undef EMIT
	buf_release(&b);
	*lines = v;
	*n = nv;
	return 0;
oom:
	buf_release(&b);
	for (size_t i = 0; i < nv; i++)
		free(v[i]);
	free(v);
	return log_error("out of memory");
}

static void
free_lines(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

/* Postings that can be reviewed, applied or reverted. */
static int
has_status(const struct digest_thread *dt)
{
	return dt->category == CATEGORY_PATCH || dt->category == CATEGORY_RFC ||
	       dt->category == CATEGORY_PULL;
}

static const char *
title_of(const struct digest_thread *dt)
{
	const struct thread *t = &dt->thread;

	return t->n_msgs ? t->msgs[dt->title].subject : "";
}

/* --- Markdown ------------------------------------------------------------- */

static int
is_alnum_cp(uint32_t cp)
{
	return (cp >= '0' && cp <= '9') || (cp >= 'a' && cp <= 'z') ||
	       (cp >= 'A' && cp <= 'Z') || cp >= 0x80;
}

/*
 * Escape cleaned inline text s for CommonMark/GFM: the characters that
 * start emphasis, code, links, HTML or strikethrough.  '_' inside a
 * word (vgic_put_irq) cannot start emphasis and stays as it is, so do
 * brackets that cannot open a link.
 */
static void
md_inline(struct ctx *c, const char *s)
{
	size_t n;

	for (size_t i = 0; s[i]; i += n) {
		uint32_t cp = utf8_next(s + i, &n);
		int esc = 0;

		switch (cp) {
		case '\\': case '`': case '*': case '~': case '<':
			esc = 1;
			break;
		case '_': {
			size_t m;
			int before = i && is_alnum_cp((unsigned char)s[i - 1]);
			int after = s[i + 1] &&
				    is_alnum_cp(utf8_next(s + i + 1, &m));

			esc = !(before && after);
			break;
		}
		case ']':
			esc = s[i + 1] == '(' || s[i + 1] == '[' ||
			      s[i + 1] == ':';
			break;
		case '&':
			esc = (s[i + 1] >= 'a' && s[i + 1] <= 'z') ||
			      (s[i + 1] >= 'A' && s[i + 1] <= 'Z') ||
			      s[i + 1] == '#';
			break;
		}
		if (esc)
			put(c, "\\");
		if (buf_add(c->out, s + i, n) < 0)
			c->err = 1;
	}
}

static void
md_text(struct ctx *c, const char *raw)
{
	struct buf b;

	buf_init(&b, 0);
	if (clean(&b, raw, 0) < 0)
		c->err = 1;
	md_inline(c, b.data);
	buf_release(&b);
}

/*
 * One line of a paragraph: also escape what would make it a heading,
 * quote, list item, thematic break or code block at the line's start.
 */
static void
md_line(struct ctx *c, const char *s)
{
	size_t d = 0;

	while (*s == ' ')
		s++;
	if (strchr("#>-+=[|", *s) && *s)
		put(c, "\\");
	while (s[d] >= '0' && s[d] <= '9')
		d++;
	if (d && d <= 9 && (s[d] == '.' || s[d] == ')')) {
		if (buf_add(c->out, s, d) < 0)
			c->err = 1;
		put(c, "\\");
		s += d;
	}
	md_inline(c, s);
}

/* An address CommonMark turns into a mail autolink as it is. */
static int
md_autolink_ok(const char *a)
{
	const char *at = strchr(a, '@');

	if (!at || at == a || !at[1])
		return 0;
	for (const char *p = a; p < at; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= '0' && *p <= '9') ||
		      strchr(".!#$%&'*+/=?^_`{|}~-", *p)))
			return 0;
	for (const char *p = at + 1; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= '0' && *p <= '9') || *p == '-' || *p == '.'))
			return 0;
	return at[1] != '.' && at[1] != '-' && a[strlen(a) - 1] != '.' &&
	       a[strlen(a) - 1] != '-';
}

static void
md_sender(struct ctx *c, const struct thread_msg *m)
{
	if (*m->from_name)
		md_text(c, m->from_name);
	if (*m->from_addr) {
		if (*m->from_name)
			put(c, " ");
		if (md_autolink_ok(m->from_addr)) {
			putf(c, "<%s>", m->from_addr);
		} else {
			put(c, "\\<");
			md_text(c, m->from_addr);
			put(c, "\\>");
		}
	}
	if (!*m->from_name && !*m->from_addr)
		put(c, "?");
}

/* The summary: paragraphs kept, single line breaks kept as hard breaks. */
static void
md_paragraphs(struct ctx *c, const char *text)
{
	struct buf b;
	char *line, *next;
	int blank = 1, any = 0;

	buf_init(&b, 0);
	if (clean(&b, text, 1) < 0)
		c->err = 1;
	for (line = b.data; line && *line; line = next) {
		size_t len;

		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		len = strlen(line);
		while (len && line[len - 1] == ' ')
			line[--len] = '\0';
		if (len == 0 || strspn(line, " ") == len) {
			blank = 1;
			continue;
		}
		if (any)
			put(c, blank ? "\n\n" : "\\\n");
		md_line(c, line);
		blank = 0;
		any = 1;
	}
	if (any)
		put(c, "\n");
	buf_release(&b);
}

static void
md_header(struct ctx *c)
{
	const struct digest *d = c->d;
	char when[32];
	struct buf b;

	buf_init(&b, 0);
	for (const char *p = d->list_name; *p; p++)
		buf_addc(&b, *p >= 'a' && *p <= 'z' ? (char)(*p - 32) : *p);
	put(c, "# ");
	md_text(c, b.data);
	put(c, T(c, " mailing list digest\n\n", " 邮件列表总结报告\n\n"));
	local_fmt(d->generated, "%Y-%m-%d %H:%M:%S", when, sizeof(when));
	putf(c, T(c, "**Generated**: %s\n\n", "**生成时间**: %s\n\n"), when);
	buf_truncate(&b, 0);
	window_line(c, &b);
	putf(c, T(c, "**Window**: %s\n\n", "**分析周期**: %s\n\n"), b.data);
	buf_truncate(&b, 0);
	zone_line(c, &b);
	put(c, T(c, "**Time zone**: ", "**时区**: "));
	md_text(c, b.data);
	put(c, "\n\n");
	buf_release(&b);

	put(c, T(c, "## 📊 Overview\n\n", "## 📊 总体统计\n\n"));
	putf(c, T(c, "- **Mails**: %zu\n", "- **总邮件数**: %zu\n"), d->mails);
	putf(c, T(c, "- **Threads**: %zu\n", "- **总 Thread 数**: %zu\n"),
	     d->n_threads);
	putf(c, T(c, "- **Large threads** (more than 20 mails): %zu\n\n",
		  "- **大型 Thread** (>20封): %zu 个\n\n"),
	     d->large_threads);
	put(c, T(c, "### Categories\n\n", "### 分类分布\n\n"));
	for (int k = 0; k < CATEGORY_COUNT; k++) {
		size_t nt = d->cat_threads[k], nm = d->cat_mails[k];

		if (c->zh)
			putf(c, "- **%s**: %zu 个 thread（%zu 封邮件）\n",
			     cat_name(k), nt, nm);
		else
			putf(c, "- **%s**: %zu %s (%zu %s)\n", cat_name(k), nt,
			     plural(c, nt, "thread", "threads"), nm,
			     plural(c, nm, "mail", "mails"));
	}
	put(c, "\n");
	if (d->n_threads == 0)
		put(c, T(c, "No mail in this window.\n\n",
			 "本周期内没有邮件。\n\n"));
}

static void
md_thread(struct ctx *c, const struct digest_thread *dt, size_t num)
{
	const struct thread *t = &dt->thread;
	char when[32], **st;
	size_t nst;
	struct buf b;

	put(c, "---\n\n");
	putf(c, "### Thread %zu: ", num);
	/* A moderator's draft names each thread <N> for `drop <N>`. */
	if (c->d->numbered)
		putf(c, "<%u> ", dt->item);
	if (*title_of(dt))
		md_text(c, title_of(dt));
	else
		put(c, T(c, "(no subject)", "（无主题）"));
	put(c, "\n\n");
	local_fmt(dt->started, "%Y-%m-%d %H:%M", when, sizeof(when));
	if (c->zh)
		putf(c, "**📧 邮件数**: %zu（本周期）/ %zu（整个 thread） | "
			"**👥 参与者**: %zu | **📅 开始时间**: %s\n\n",
		     dt->n_window, t->n_msgs, dt->n_participants,
		     dt->started ? when : "未知");
	else
		putf(c, "**📧 Mails**: %zu in the window / %zu in the thread | "
			"**👥 Participants**: %zu | **📅 Started**: %s\n\n",
		     dt->n_window, t->n_msgs, dt->n_participants,
		     dt->started ? when : "unknown");

	if (status_lines(c, dt, &st, &nst) < 0) {
		c->err = 1;
		return;
	}
	if (nst == 0 && has_status(dt))
		put(c, T(c, "**📋 Status**: no review tags; no mail in the "
			    "thread says it was applied, reverted or needs "
			    "changes\n\n",
			 "**📋 状态**: 无 review 标签；线程中没有邮件说明已合入、"
			 "已回退或要求修改\n\n"));
	else if (nst)
		put(c, T(c, "**📋 Status**:\n\n", "**📋 状态**:\n\n"));
	for (size_t i = 0; i < nst; i++) {
		put(c, "- ");
		md_text(c, st[i]);
		put(c, "\n");
	}
	if (nst)
		put(c, "\n");
	free_lines(st, nst);

	if (dt->summary_edited)
		put(c, T(c, "#### ✍️ Summary (written by the moderators)\n\n",
			 "#### ✍️ 摘要（由审核人撰写）\n\n"));
	else if (dt->summary_offline)
		put(c, T(c, "#### 🧾 Summary (offline, generated from the "
			    "mails)\n\n",
			 "#### 🧾 摘要（离线生成，依据邮件原文）\n\n"));
	else
		put(c, T(c, "#### 🤖 AI summary\n\n", "#### 🤖 AI 总结\n\n"));
	if (dt->summary && *dt->summary)
		md_paragraphs(c, dt->summary);
	else
		put(c, T(c, "(none)\n", "（无）\n"));
	put(c, "\n");

	if (digest_on_lore(t->root_id)) {
		buf_init(&b, 0);
		if (digest_lore_url(&b, c->d->list_name, t->root_id) < 0)
			c->err = 1;
		putf(c, "**🔗 lore**: <%s>\n\n", b.data);
		buf_release(&b);
	}

	put(c, T(c, "#### 📝 Mails in the window\n\n", "#### 📝 邮件列表\n\n"));
	for (size_t i = 0; i < dt->n_window; i++) {
		const struct thread_msg *m = &t->msgs[dt->window[i]];

		int marker;

		local_fmt(m->date, c->mail_fmt, when, sizeof(when));
		/* The sender is a sub-item: indented to the item's text. */
		marker = snprintf(NULL, 0, "%zu. ", i + 1);
		putf(c, "%zu. **[%s]** ", i + 1, when);
		if (*m->subject)
			md_text(c, m->subject);
		else
			put(c, T(c, "(no subject)", "（无主题）"));
		putf(c, "\n%*s- %s: ", marker, "", T(c, "From", "发件人"));
		md_sender(c, m);
		put(c, "\n");
	}
	put(c, "\n");
}

static void
render_markdown(struct ctx *c)
{
	const struct digest *d = c->d;

	md_header(c);
	for (size_t i = 0; i < d->n_threads && !c->err;) {
		enum category cat = d->threads[i].category;
		size_t num = 0;

		putf(c, "---\n\n## 📌 %s\n\n", cat_name(cat));
		putf(c, T(c, "%zu %s\n\n", "共 %zu 个 thread%s\n\n"),
		     d->cat_threads[cat],
		     c->zh ? "" : plural(c, d->cat_threads[cat], "thread",
					 "threads"));
		for (; i < d->n_threads && d->threads[i].category == cat; i++)
			md_thread(c, &d->threads[i], ++num);
	}
	put(c, "---\n");
}

/* --- plain text ----------------------------------------------------------- */

/* CJK closing punctuation that must not start a line. */
static int
is_closing(uint32_t cp)
{
	static const uint32_t closing[] = {
	    0x3001, 0x3002, 0xff0c, 0xff0e, 0xff1a, 0xff1b, 0xff01, 0xff1f,
	    0xff09, 0x300d, 0x300f, 0x300b, 0x3009, 0x3011, 0x201d, 0x2019,
	    ',',    '.',    ';',    ':',    '!',    '?',    ')',    ']',
	};

	for (size_t i = 0; i < sizeof(closing) / sizeof(closing[0]); i++)
		if (closing[i] == cp)
			return 1;
	return 0;
}

/*
 * The URL inside a token such as "(https://lore.kernel.org/x/ID/).":
 * *core is where it starts, *core_len its length without the closing
 * punctuation after it.  0 when the token holds no URL.
 */
static int
url_in(const char *s, size_t len, size_t *core, size_t *core_len)
{
	for (size_t i = 0; i + 8 < len; i++) {
		size_t end = i;

		if (strncmp(s + i, "https://", 8) &&
		    strncmp(s + i, "http://", 7))
			continue;
		/* URLs in mail are ASCII; "）。" after one is not part of it. */
		while (end < len && (unsigned char)s[end] > ' ' &&
		       (unsigned char)s[end] < 0x7f)
			end++;
		while (end > i + 8 && strchr(")>]\"'.,;:!?", s[end - 1]))
			end--;
		*core = i;
		*core_len = end - i;
		return 1;
	}
	return 0;
}

struct wrap {
	struct ctx *c;
	struct buf line;	/* the line being filled */
	size_t w;		/* its width */
	size_t indent;		/* continuation lines start with this */
	int content;		/* the line holds more than the indent */
	size_t lines;		/* lines written */
};

static void
wrap_flush(struct wrap *wr)
{
	size_t len = wr->line.len;

	while (len && wr->line.data[len - 1] == ' ')
		len--;
	if (buf_add(wr->c->out, wr->line.data, len) < 0 ||
	    buf_addc(wr->c->out, '\n') < 0)
		wr->c->err = 1;
	wr->lines++;
	buf_truncate(&wr->line, 0);
	for (size_t i = 0; i < wr->indent; i++)
		buf_addc(&wr->line, ' ');
	wr->w = wr->indent;
	wr->content = 0;
}

/* Place one unbreakable token (or split it when it cannot fit). */
static void
wrap_token(struct wrap *wr, const char *s, size_t len, size_t w, int space)
{
	size_t need = w + (wr->content && space ? 1 : 0), core, core_len;

	if (wr->w + need <= DIGEST_TEXT_WIDTH) {
		if (wr->content && space)
			buf_addc(&wr->line, ' ');
		buf_add(&wr->line, s, len);
		wr->w += need;
		wr->content = 1;
		return;
	}
	if (wr->indent + w > DIGEST_TEXT_WIDTH &&
	    url_in(s, len, &core, &core_len)) {
		/*
		 * A lore link too long for a line, in the list's form
		 * lore.kernel.org/LIST/ID/, gets lore's own short form
		 * lore.kernel.org/r/ID/, which leads to the same message.
		 */
		static const char lore[] = "https://lore.kernel.org/";
		const char *seg = s + core + sizeof(lore) - 1;
		const char *slash = core_len > sizeof(lore) - 1 &&
					    !strncmp(s + core, lore,
						     sizeof(lore) - 1)
					? memchr(seg, '/',
						 core_len - (sizeof(lore) - 1))
					: NULL;

		if (str_width(s + core, core_len) > DIGEST_TEXT_WIDTH &&
		    slash && slash > seg &&
		    !(slash - seg == 1 && *seg == 'r')) {
			struct buf short_url;

			buf_init(&short_url, 0);
			buf_add(&short_url, s, core);
			buf_adds(&short_url, lore);
			buf_adds(&short_url, "r");
			buf_add(&short_url, slash, len - (size_t)(slash - s));
			wrap_token(wr, short_url.data, short_url.len,
				   str_width(short_url.data, short_url.len),
				   space);
			buf_release(&short_url);
			return;
		}
		/*
		 * A URL is never cut: it goes unindented on a line of its
		 * own, the punctuation around it too when that fits, else
		 * the punctuation before it ends the previous line and the
		 * punctuation after it starts the next one.
		 */
		if (w <= DIGEST_TEXT_WIDTH) {
			if (wr->content)
				wrap_flush(wr);
			buf_truncate(&wr->line, 0);
			buf_add(&wr->line, s, len);
			wr->w = w;
			wr->content = 1;
			wrap_flush(wr);
			return;
		}
		if (core)
			wrap_token(wr, s, core, str_width(s, core), space);
		if (wr->content)
			wrap_flush(wr);
		buf_truncate(&wr->line, 0);
		buf_add(&wr->line, s + core, core_len);
		wr->content = 1;
		wrap_flush(wr);
		if (core + core_len < len)
			wrap_token(wr, s + core + core_len,
				   len - core - core_len,
				   str_width(s + core + core_len,
					     len - core - core_len),
				   0);
		return;
	}
	if (wr->content)
		wrap_flush(wr);
	if (wr->w + w <= DIGEST_TEXT_WIDTH) {
		buf_add(&wr->line, s, len);
		wr->w += w;
		wr->content = 1;
		return;
	}
	/* A word wider than the line: cut it between characters. */
	for (size_t i = 0, n; i < len; i += n) {
		size_t cw = cp_width(utf8_next(s + i, &n));

		if (wr->w + cw > DIGEST_TEXT_WIDTH && wr->content)
			wrap_flush(wr);
		buf_add(&wr->line, s + i, n);
		wr->w += cw;
		wr->content = 1;
	}
}

/*
 * Append text (cleaned, one line: no newlines) wrapped at
 * DIGEST_TEXT_WIDTH: the first line starts with prefix, the others with
 * indent blanks.  Lines break at blanks and between CJK characters.
 */
static void
wrap_text(struct ctx *c, const char *prefix, size_t indent, const char *text)
{
	struct wrap wr = {.c = c, .indent = indent};
	const char *p = text;

	buf_init(&wr.line, 0);
	buf_adds(&wr.line, prefix);
	wr.w = str_width(prefix, strlen(prefix));
	while (*p) {
		const char *start;
		size_t n, w = 0, space = 0;
		uint32_t cp;

		while (*p == ' ') {
			p++;
			space = 1;
		}
		if (!*p)
			break;
		start = p;
		cp = utf8_next(p, &n);
		p += n;
		w = cp_width(cp);
		if (w == 2) {
			/* One CJK character and the punctuation closing it. */
			while (*p && is_closing(cp = utf8_next(p, &n))) {
				w += cp_width(cp);
				p += n;
			}
		} else {
			while (*p && *p != ' ') {
				cp = utf8_next(p, &n);
				if (cp_width(cp) == 2 && !is_closing(cp))
					break;
				w += cp_width(cp);
				p += n;
			}
		}
		wrap_token(&wr, start, (size_t)(p - start), w, (int)space);
	}
	if (wr.content || wr.lines == 0)
		wrap_flush(&wr);
	buf_release(&wr.line);
}

/* wrap_text() of raw foreign text, cleaned first. */
static void
wrap_raw(struct ctx *c, const char *prefix, size_t indent, const char *raw)
{
	struct buf b;

	buf_init(&b, 0);
	if (clean(&b, raw, 0) < 0)
		c->err = 1;
	wrap_text(c, prefix, indent, b.data);
	buf_release(&b);
}

/* A heading underlined with ch to its display width. */
static void
txt_heading(struct ctx *c, const char *s, char ch)
{
	size_t w = str_width(s, strlen(s));

	wrap_text(c, "", 0, s);
	for (size_t i = 0; i < w && i < DIGEST_TEXT_WIDTH; i++)
		putf(c, "%c", ch);
	put(c, "\n\n");
}

static void
txt_paragraphs(struct ctx *c, const char *text, size_t indent)
{
	struct buf b, pre;
	char *line, *next;
	int blank = 0, any = 0;

	buf_init(&b, 0);
	buf_init(&pre, 0);
	for (size_t i = 0; i < indent; i++)
		buf_addc(&pre, ' ');
	if (clean(&b, text, 1) < 0)
		c->err = 1;
	for (line = b.data; line && *line; line = next) {
		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		if (strspn(line, " ") == strlen(line)) {
			blank = 1;
			continue;
		}
		if (any && blank)
			put(c, "\n");
		while (*line == ' ')
			line++;
		wrap_text(c, pre.data, indent, line);
		blank = 0;
		any = 1;
	}
	buf_release(&pre);
	buf_release(&b);
}

static void
txt_header(struct ctx *c)
{
	const struct digest *d = c->d;
	char when[32];
	struct buf b;
	size_t lw = c->zh ? 10 : 11;	/* label column */

	buf_init(&b, 0);
	for (const char *p = d->list_name; *p; p++)
		buf_addc(&b, *p >= 'a' && *p <= 'z' ? (char)(*p - 32) : *p);
	buf_adds(&b, T(c, " mailing list digest", " 邮件列表总结报告"));
	txt_heading(c, b.data, '=');
	local_fmt(d->generated, "%Y-%m-%d %H:%M:%S", when, sizeof(when));
	wrap_text(c, T(c, "Generated: ", "生成时间："), lw, when);
	buf_truncate(&b, 0);
	window_line(c, &b);
	wrap_text(c, T(c, "Window:    ", "分析周期："), lw, b.data);
	buf_truncate(&b, 0);
	zone_line(c, &b);
	wrap_raw(c, T(c, "Time zone: ", "时区：    "), lw, b.data);
	put(c, "\n");
	buf_release(&b);

	txt_heading(c, T(c, "Overview", "总体统计"), '-');
	putf(c, T(c, "Mails:          %zu\n", "总邮件数：      %zu\n"),
	     d->mails);
	putf(c, T(c, "Threads:        %zu\n", "总 Thread 数：  %zu\n"),
	     d->n_threads);
	putf(c, T(c, "Large threads:  %zu (more than 20 mails)\n\n",
		  "大型 Thread：   %zu 个（>20 封）\n\n"),
	     d->large_threads);
	txt_heading(c, T(c, "Categories", "分类分布"), '-');
	for (int k = 0; k < CATEGORY_COUNT; k++) {
		size_t nt = d->cat_threads[k], nm = d->cat_mails[k];

		if (c->zh)
			putf(c, "%-12s %4zu 个 thread，%5zu 封邮件\n",
			     cat_name(k), nt, nm);
		else
			putf(c, "%-12s %4zu %-7s %5zu %s\n", cat_name(k), nt,
			     plural(c, nt, "thread", "threads"), nm,
			     plural(c, nm, "mail", "mails"));
	}
	put(c, "\n");
	if (d->n_threads == 0)
		put(c, T(c, "No mail in this window.\n\n",
			 "本周期内没有邮件。\n\n"));
}

static void
txt_thread(struct ctx *c, const struct digest_thread *dt, size_t num)
{
	const struct thread *t = &dt->thread;
	char when[32], prefix[64], **st;
	size_t nst, digits = 1;
	struct buf b;

	if (c->d->numbered)
		snprintf(prefix, sizeof(prefix), "Thread %zu: <%u> ", num,
			 dt->item);
	else
		snprintf(prefix, sizeof(prefix), "Thread %zu: ", num);
	wrap_raw(c, prefix, strlen(prefix),
		 *title_of(dt) ? title_of(dt)
			       : T(c, "(no subject)", "（无主题）"));
	buf_init(&b, 0);
	local_fmt(dt->started, "%Y-%m-%d %H:%M", when, sizeof(when));
	if (c->zh)
		buf_addf(&b, "邮件数：%zu（本周期）/ %zu（整个 thread）；"
			     "参与者：%zu",
			 dt->n_window, t->n_msgs, dt->n_participants);
	else
		buf_addf(&b, "Mails: %zu in the window / %zu in the thread; "
			     "participants: %zu",
			 dt->n_window, t->n_msgs, dt->n_participants);
	wrap_text(c, "  ", 2, b.data);
	buf_release(&b);
	putf(c, T(c, "  Started: %s\n", "  开始时间：%s\n"),
	     dt->started ? when : T(c, "unknown", "未知"));

	if (status_lines(c, dt, &st, &nst) < 0) {
		c->err = 1;
		return;
	}
	if (nst == 0 && has_status(dt))
		wrap_text(c, "  ", 2,
			  T(c, "Status: no review tags; no mail in the thread "
			       "says it was applied, reverted or needs "
			       "changes",
			    "状态：无 review 标签；线程中没有邮件说明已合入、"
			    "已回退或要求修改"));
	else if (nst)
		put(c, T(c, "  Status:\n", "  状态：\n"));
	for (size_t i = 0; i < nst; i++)
		wrap_raw(c, "  - ", 4, st[i]);
	free_lines(st, nst);

	put(c, "\n");
	put(c, dt->summary_edited
		   ? T(c, "  Summary (written by the moderators):\n",
		       "  摘要（由审核人撰写）：\n")
	       : dt->summary_offline
		   ? T(c, "  Summary (offline, generated from the mails):\n",
		       "  摘要（离线生成，依据邮件原文）：\n")
		   : T(c, "  AI summary:\n", "  AI 总结：\n"));
	if (dt->summary && *dt->summary)
		txt_paragraphs(c, dt->summary, 4);
	else
		put(c, T(c, "    (none)\n", "    （无）\n"));
	put(c, "\n");

	if (digest_on_lore(t->root_id)) {
		buf_init(&b, 0);
		if (digest_lore_url(&b, c->d->list_name, t->root_id) < 0)
			c->err = 1;
		wrap_text(c, "  ", 2, b.data);
		buf_release(&b);
		put(c, "\n");
	}

	put(c, T(c, "  Mails in the window:\n", "  邮件列表：\n"));
	for (size_t n = dt->n_window; n >= 10; n /= 10)
		digits++;
	buf_init(&b, 0);
	for (size_t i = 0; i < dt->n_window; i++) {
		const struct thread_msg *m = &t->msgs[dt->window[i]];
		char num_s[32];

		local_fmt(m->date, c->mail_fmt, when, sizeof(when));
		snprintf(num_s, sizeof(num_s), "  %*zu. ", (int)digits, i + 1);
		buf_truncate(&b, 0);
		buf_addf(&b, "[%s] %s", when,
			 *m->subject ? m->subject
				     : T(c, "(no subject)", "（无主题）"));
		buf_adds(&b, " — ");
		sender(m, &b);
		wrap_raw(c, num_s, strlen(num_s), b.data);
	}
	buf_release(&b);
	put(c, "\n");
}

static void
render_text(struct ctx *c)
{
	const struct digest *d = c->d;
	struct buf b;

	buf_init(&b, 0);
	txt_header(c);
	for (size_t i = 0; i < d->n_threads && !c->err;) {
		enum category cat = d->threads[i].category;
		size_t num = 0;

		buf_truncate(&b, 0);
		if (c->zh)
			buf_addf(&b, "%s（共 %zu 个 thread）", cat_name(cat),
				 d->cat_threads[cat]);
		else
			buf_addf(&b, "%s (%zu %s)", cat_name(cat),
				 d->cat_threads[cat],
				 plural(c, d->cat_threads[cat], "thread",
					"threads"));
		put(c, "\n");
		txt_heading(c, b.data, '=');
		for (; i < d->n_threads && d->threads[i].category == cat;
		     i++) {
			if (num)
				put(c, "------------------------------------"
				       "----\n\n");
			txt_thread(c, &d->threads[i], ++num);
		}
	}
	buf_release(&b);
	/* The body ends with exactly one newline. */
	while (c->out->len >= 2 && c->out->data[c->out->len - 1] == '\n' &&
	       c->out->data[c->out->len - 2] == '\n')
		buf_truncate(c->out, c->out->len - 1);
}

/* --- entry ---------------------------------------------------------------- */

int
digest_render(const struct digest *d, enum digest_format fmt,
	      struct buf *out)
{
	struct ctx c = {.d = d, .out = out};
	struct tz_saved saved;
	size_t start = out->len;
	struct tm a, b;

	if (fmt == DIGEST_JSON)
		return digest_render_json(d, out);
	if (fmt != DIGEST_MARKDOWN && fmt != DIGEST_TEXT)
		return log_error("unknown digest format %d", (int)fmt);
	c.zh = d->lang && !strcmp(d->lang, "zh");
	c.md = fmt == DIGEST_MARKDOWN;
	if (tz_enter(d->timezone && *d->timezone ? d->timezone : "UTC",
		     &saved) < 0)
		return -1;
	/* Month-day is enough unless the window spans a new year. */
	c.mail_fmt = "%m-%d %H:%M";
	if (local_tm(d->since, &a) == 0 && local_tm(d->until - 1, &b) == 0 &&
	    a.tm_year != b.tm_year)
		c.mail_fmt = "%Y-%m-%d %H:%M";
	if (c.md)
		render_markdown(&c);
	else
		render_text(&c);
	tz_leave(&saved);
	if (c.err) {
		buf_truncate(out, start);
		return log_error("cannot render the digest: out of memory or "
				 "over the size limit");
	}
	return 0;
}

int
digest_wrap(struct buf *out, const char *text)
{
	struct ctx c = {.out = out};
	const char *p = text;
	struct buf para;

	buf_init(&para, 0);
	while (*p && !c.err) {
		const char *nl = strchr(p, '\n');
		size_t len = nl ? (size_t)(nl - p) : strlen(p);

		buf_truncate(&para, 0);
		if (buf_add(&para, p, len) < 0 || buf_addc(&para, '\0') < 0) {
			c.err = 1;
			break;
		}
		if (len == 0)
			put(&c, "\n");
		else
			wrap_raw(&c, "", 0, para.data);
		p += len + (nl ? 1 : 0);
	}
	buf_release(&para);
	return c.err ? -1 : 0;
}
