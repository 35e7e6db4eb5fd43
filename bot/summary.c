/*
 * summary.c - the offline summarizer: three short paragraphs per thread
 * built from facts only.
 *
 * The digest asks every thread "what is it, what happened before, what
 * happened this week".  Without an LLM (or when it fails) this module
 * answers from the thread's link records, the classifier's status and
 * the prose of at most one mail (the cover letter, the first patch, the
 * pull request or the report).  Every sentence is a fixed template in
 * English or Chinese with facts inserted; what a person wrote is quoted
 * verbatim, in its own language, and attributed.  Nothing is inferred:
 * a part without material says so.  The output is plain text, one line
 * per paragraph (the digest renderer wraps it), deterministic for the
 * same store and window.
 */
#include <ctype.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "buf.h"
#include "classify.h"
#include "log.h"
#include "summary.h"

#define SUMMARY_MAX	(16u * 1024)	/* hard cap of the buffer */
#define SOFT_MAX	1400	/* optional quotes stop past this */
#define PARA_CAP	300	/* bytes of the quoted first paragraph */
#define QUOTE_CAP	160	/* bytes of a quoted status sentence */
#define SUBJECT_CAP	160
#define NAME_CAP	64
#define MAX_NAMES	6	/* names listed before "and N others" */
#define MAX_CHANGES	2	/* change requests quoted per part */
#define MAX_APPLIED	2

struct ctx {
	struct buf *b;
	int zh;
	const struct summary_input *in;
	const struct thread *t;
	const struct thread_status *st;
	const char *list;
};

/* ---- small pieces --------------------------------------------------- */

static const char *
str0(const char *s)
{
	return s ? s : "";
}

static int
add_date(struct ctx *c, int64_t when)
{
	struct tm tm;
	time_t tt = (time_t)when;
	char s[32];

	if (!gmtime_r(&tt, &tm) || !strftime(s, sizeof(s), "%Y-%m-%d", &tm))
		return buf_adds(c->b, "?");
	return buf_adds(c->b, s);
}

/* A display name: the decoded name without " via B4 Relay", else the
 * address; whitespace collapsed, capped. */
static int
add_name(struct ctx *c, const char *name, const char *addr)
{
	char *s = classify_clip(name ? name : "", strlen(name ? name : ""),
				NAME_CAP);
	size_t n;
	int r;

	if (!s)
		return -1;
	n = strlen(s);
	if (n > 13 && !strcasecmp(s + n - 13, " via B4 Relay"))
		s[n - 13] = '\0';
	if (*s == '"' && n > 2 && s[strlen(s) - 1] == '"') {
		s[strlen(s) - 1] = '\0';
		memmove(s, s + 1, strlen(s));
	}
	r = buf_adds(c->b, *s ? s : (addr && *addr ? addr : "?"));
	free(s);
	return r;
}

static int
add_quote(struct ctx *c, const char *text, size_t cap)
{
	char *s = classify_clip(text, strlen(text), cap);
	int r;

	if (!s)
		return -1;
	r = buf_adds(c->b, c->zh ? "\u201c" : "\"") || buf_adds(c->b, s) ||
	    buf_adds(c->b, c->zh ? "\u201d" : "\"");
	free(s);
	return r;
}

/* https://lore.kernel.org/LIST/ID/ with the id percent-encoded where a
 * URL path needs it ('/' is %2F as on lore). */
static int
add_lore(struct ctx *c, const char *id)
{
	static const char hex[] = "0123456789ABCDEF";
	int r = buf_addf(c->b, "https://lore.kernel.org/%s/", c->list);

	for (const unsigned char *p = (const unsigned char *)id; *p && !r;
	     p++) {
		if (isalnum(*p) || strchr("@.-_~+=$!*'(),;:&", *p))
			r = buf_addc(c->b, (char)*p);
		else
			r = buf_addc(c->b, '%') ||
			    buf_addc(c->b, hex[*p >> 4]) ||
			    buf_addc(c->b, hex[*p & 15]);
	}
	return r || buf_addc(c->b, '/');
}

/* Sentence end: "." or the full stop in Chinese. */
static int
add_stop(struct ctx *c)
{
	return buf_adds(c->b, c->zh ? "\u3002" : ". ");
}

/* After a quote: English needs no second stop when the quoted
 * sentence ended with one ("says: "It works."" + " "). */
static int
add_stop_after_quote(struct ctx *c)
{
	const char *d = c->b->data;
	size_t n = c->b->len;

	if (!c->zh && n >= 2 && d[n - 1] == '"' && strchr(".?!", d[n - 2]))
		return buf_addc(c->b, ' ');
	return add_stop(c);
}

/* Drop a trailing blank (the English sentence separator). */
static void
trim_end(struct buf *b)
{
	while (b->len && b->data[b->len - 1] == ' ')
		buf_truncate(b, b->len - 1);
}

/* The list separator before item i of n: ", " / " and ", or "、". */
static int
add_sep(struct ctx *c, size_t i, size_t n)
{
	if (!i)
		return 0;
	if (c->zh)
		return buf_adds(c->b, "\u3001");
	return buf_adds(c->b, i + 1 == n ? " and " : ", ");
}

static int
is_reply_role(const struct ctx *c, size_t i)
{
	if (c->st && c->st->roles && c->st->n_roles == c->t->n_msgs)
		return !(c->st->roles[i] & STATUS_SUBMISSION);
	return c->t->msgs[i].tags.reply;
}

/* ---- text taken from one mail --------------------------------------- */

static int
contains_ci(const char *s, size_t n, const char *needle)
{
	size_t m = strlen(needle);

	for (size_t i = 0; i + m <= n; i++)
		if (!strncasecmp(s + i, needle, m))
			return 1;
	return 0;
}

static int
greeting(const char *s)
{
	static const char *const words[] = {
		"hi", "hello", "hey", "dear", "greetings", "all", "folks",
		"hi all", "hello all", "hello everyone", "hi everyone", NULL,
	};
	size_t n = strlen(s), w;

	if (n <= 40 && n && s[n - 1] == ',')
		return 1;
	if (n > 80)
		return 0;
	for (const char *const *p = words; *p; p++) {
		w = strlen(*p);
		if (!strncasecmp(s, *p, w) &&
		    (s[w] == '\0' || s[w] == ' ' || s[w] == ',' ||
		     s[w] == '!' || s[w] == '.'))
			return 1;
	}
	return 0;
}

static const char *const boilerplate[] = {
	"The following changes since commit", "are available in the",
	"for you to fetch changes", "----", "From:", "Date:", "Subject:",
	"syzbot found the following", "base-commit:", "Link:", NULL,
};

/*
 * The first paragraph of prose that is the author's own statement: not
 * a greeting, a sign-off, an in-body header or git request-pull
 * boilerplate.  Cut at a sentence end before cap bytes when there is
 * one, else at a word.  malloc'd, "" when there is none; NULL on OOM.
 */
static char *
first_paragraph(const char *prose, size_t cap)
{
	const char *p = prose ? prose : "";

	while (*p) {
		const char *start = p, *e;
		char *para;
		int skip = 0;

		/*
		 * A paragraph runs to the next blank line, or ends after a
		 * line ending in ':' that introduces a listing or a log.
		 */
		for (;;) {
			const char *eol = strchr(p, '\n');
			const char *q = p, *last;

			if (!eol) {
				p += strlen(p);
				e = p;
				break;
			}
			while (q < eol && isspace((unsigned char)*q))
				q++;
			if (q == eol) {	/* blank */
				e = p;
				p = eol + 1;
				break;
			}
			last = eol;
			while (last > q && isspace((unsigned char)last[-1]))
				last--;
			p = eol + 1;
			if (last[-1] == ':') {
				e = p;
				break;
			}
		}
		if (e == start)
			continue;
		if (isspace((unsigned char)*start))
			skip = 1;	/* indented: code or a listing */
		para = classify_clip(start, (size_t)(e - start), 0);
		if (!para)
			return NULL;
		for (const char *const *b = boilerplate; *b && !skip; b++)
			if (!strncmp(para, *b, strlen(*b)))
				skip = 1;
		if (!skip && (strlen(para) < 16 || greeting(para)))
			skip = 1;
		/* "[ based on kvm/next ]": a note to the maintainer */
		if (!skip && para[0] == '[' && para[strlen(para) - 1] == ']')
			skip = 1;
		/* a lone "Changes since v5:" heads a listing */
		if (!skip && para[strlen(para) - 1] == ':' &&
		    !memchr(start, '\n', (size_t)(e - start) - 1))
			skip = 1;
		if (skip) {
			free(para);
			continue;
		}
		if (strlen(para) > cap) {
			size_t cut = 0;

			for (size_t i = cap / 3; i + 1 < cap; i++)
				if (strchr(".?!", para[i]) && para[i + 1] == ' ')
					cut = i + 1;
			if (cut) {
				para[cut] = '\0';
			} else {
				char *x = classify_clip(para, strlen(para),
							cap);

				free(para);
				para = x;
			}
		}
		return para;
	}
	return strdup("");
}

/* The value after "Key:" on a line of prose, trimmed; NULL if absent. */
static char *
field_line(const char *prose, const char *key, size_t cap)
{
	const char *p = prose ? prose : "";
	size_t k = strlen(key);

	while (*p) {
		const char *eol = strchr(p, '\n'), *q = p;
		size_t n = eol ? (size_t)(eol - p) : strlen(p);

		while (q < p + n && isspace((unsigned char)*q))
			q++;
		if ((size_t)(p + n - q) > k && !strncasecmp(q, key, k))
			return classify_clip(q + k, (size_t)(p + n - q - k),
					     cap);
		p = eol ? eol + 1 : p + n;
	}
	return NULL;
}

/* " N files changed, X insertions(+), Y deletions(-)" -> numbers */
static int
diffstat_numbers(const char *ds, long *files, long *ins, long *del)
{
	const char *line = ds ? strstr(ds, " changed") : NULL;
	const char *start;
	char *end;

	if (!line)
		return 0;
	start = line;
	while (start > ds && start[-1] != '\n')
		start--;
	*files = *ins = *del = 0;
	for (const char *p = start; *p && *p != '\n'; p++) {
		long v;

		if (!isdigit((unsigned char)*p) ||
		    (p > start && isdigit((unsigned char)p[-1])))
			continue;
		v = strtol(p, &end, 10);
		if (!strncmp(end, " file", 5))
			*files = v;
		else if (!strncmp(end, " insertion", 10))
			*ins = v;
		else if (!strncmp(end, " deletion", 9))
			*del = v;
	}
	return *files > 0;
}

static int
add_diffstat(struct ctx *c, const struct message *rec)
{
	long files, ins, del;

	if (!diffstat_numbers(rec->diffstat, &files, &ins, &del))
		return 0;
	if (c->zh)
		return buf_addf(c->b, "\u6539\u52a8\u7edf\u8ba1\uff1a%ld "
				"\u4e2a\u6587\u4ef6\uff0c+%ld/-%ld\u3002",
				files, ins, del);
	return buf_addf(c->b, "Diffstat: %ld file%s changed, +%ld/-%ld. ",
			files, files == 1 ? "" : "s", ins, del);
}

/* git request-pull: "are available in the Git repository at:" + the
 * URL and ref line; the shortlog's "Name (N):" lines give commits. */
static int
pull_facts(const char *prose, char **where, long *commits)
{
	const char *p = prose ? prose : "";
	int want_next = 0;

	*where = NULL;
	*commits = 0;
	while (*p) {
		const char *eol = strchr(p, '\n'), *q = p;
		size_t n = eol ? (size_t)(eol - p) : strlen(p);
		const char *open;

		while (q < p + n && isspace((unsigned char)*q))
			q++;
		if (want_next && q < p + n && !*where) {
			*where = classify_clip(q, (size_t)(p + n - q), 200);
			if (!*where)
				return -1;
			want_next = 0;
		}
		if (contains_ci(p, n, "available in the git repository at"))
			want_next = 1;
		/* "Oliver Upton (8):" at column 0 */
		if (q == p && n > 4 && p[n - 1] == ':' && p[n - 2] == ')' &&
		    (open = memrchr(p, '(', n)) && open > p && open[-1] == ' ') {
			char *end;
			long v = strtol(open + 1, &end, 10);

			if (end == p + n - 2 && v > 0 && v < 100000)
				*commits += v;
		}
		p = eol ? eol + 1 : p + n;
	}
	return 0;
}

/* ---- part 1: the original posting ----------------------------------- */

static int
is_syzbot_msg(const struct thread_msg *m)
{
	return m->tags.syzbot || classify_is_syzbot(m->from_addr);
}

/*
 * The mail that says what the thread is: a syzbot report in a Bug
 * Report thread, else the root when it is a posting, else (the root is
 * a reply whose parent is not stored) the earliest posting of the
 * thread with the lowest patch number, else the root.
 */
static const struct thread_msg *
pick_lead(const struct ctx *c)
{
	const struct thread *t = c->t;
	const struct thread_msg *root = classify_root(t), *best = NULL;

	if (c->in->category == CATEGORY_BUG)
		for (size_t i = 0; i < t->n_msgs; i++)
			if (is_syzbot_msg(&t->msgs[i]) &&
			    !t->msgs[i].tags.reply)
				return &t->msgs[i];
	if (!root->tags.reply)
		return root;
	for (size_t i = 0; i < t->n_msgs; i++) {
		const struct thread_msg *m = &t->msgs[i];

		if (m->tags.reply || is_reply_role(c, i))
			continue;
		if (!best || (m->tags.index >= 0 &&
			      (best->tags.index < 0 ||
			       m->tags.index < best->tags.index)))
			best = m;
	}
	return best ? best : root;
}

static int
add_said(struct ctx *c, const char *en, const char *zh, const char *para)
{
	if (!*para)
		return 0;
	return buf_adds(c->b, c->zh ? zh : en) || add_quote(c, para, 0) ||
	       add_stop_after_quote(c);
}

static int
origin_syzbot(struct ctx *c, const struct thread_msg *m, const char *title,
	      const struct message *rec)
{
	char *head = field_line(rec->prose, "HEAD commit:", 120);
	char *tree = field_line(rec->prose, "git tree:", 80);
	int r, repro = -1;

	if (rec->prose && (strstr(rec->prose, "C reproducer:") ||
			   strstr(rec->prose, "syz repro:")))
		repro = 1;
	else if (rec->prose && strstr(rec->prose, "have any reproducer"))
		repro = 0;
	if (c->zh)
		r = buf_adds(c->b, "syzbot \u4e8e ") || add_date(c, m->date) ||
		    buf_adds(c->b, " \u62a5\u544a\u4e86") ||
		    add_quote(c, title, 0);
	else
		r = buf_adds(c->b, "syzbot reported ") ||
		    add_quote(c, title, 0) || buf_adds(c->b, " on ") ||
		    add_date(c, m->date);
	if (!r && (head || tree)) {
		r = buf_adds(c->b, c->zh ? "\uff08" : " (");
		if (!r && head)
			r = buf_adds(c->b, c->zh ? "HEAD commit\uff1a" :
					     "HEAD commit: ") ||
			    buf_adds(c->b, head);
		if (!r && head && tree)
			r = buf_adds(c->b, c->zh ? "\uff1b" : "; ");
		if (!r && tree)
			r = buf_adds(c->b, c->zh ? "git tree\uff1a" :
					     "git tree: ") ||
			    buf_adds(c->b, tree);
		if (!r)
			r = buf_adds(c->b, c->zh ? "\uff09" : ")");
	}
	if (!r)
		r = add_stop(c);
	if (!r && repro == 1)
		r = buf_adds(c->b, c->zh ? "\u62a5\u544a\u9644\u6709\u590d"
				     "\u73b0\u7a0b\u5e8f\u3002" :
				     "The report includes a reproducer. ");
	else if (!r && repro == 0)
		r = buf_adds(c->b, c->zh ? "\u62a5\u544a\u5c1a\u65e0\u590d"
				     "\u73b0\u7a0b\u5e8f\u3002" :
				     "The report has no reproducer yet. ");
	free(head);
	free(tree);
	return r;
}

static int
origin_pull(struct ctx *c, const struct thread_msg *m, const char *subj,
	    const struct message *rec, const char *para)
{
	char *where;
	long commits;
	int r;

	if (pull_facts(rec->prose, &where, &commits))
		return -1;
	if (c->zh)
		r = add_name(c, m->from_name, m->from_addr) ||
		    buf_adds(c->b, " \u4e8e ") || add_date(c, m->date) ||
		    buf_adds(c->b, " \u53d1\u51fa\u62c9\u53d6\u8bf7\u6c42") ||
		    add_quote(c, subj, 0);
	else
		r = add_name(c, m->from_name, m->from_addr) ||
		    buf_adds(c->b, " sent the pull request ") ||
		    add_quote(c, subj, 0) || buf_adds(c->b, " on ") ||
		    add_date(c, m->date);
	if (!r && where)
		r = buf_adds(c->b, c->zh ? "\uff1a" : ": ") ||
		    buf_adds(c->b, where);
	if (!r && commits)
		r = c->zh ? buf_addf(c->b, "\uff08%ld \u4e2a\u63d0\u4ea4"
				     "\uff09", commits) :
			    buf_addf(c->b, " (%ld commit%s)", commits,
				     commits == 1 ? "" : "s");
	free(where);
	if (!r)
		r = add_stop(c) || add_diffstat(c, rec) ||
		    add_said(c, "The request says: ",
			     "\u8bf7\u6c42\u4e2d\u5199\u9053\uff1a", para);
	return r;
}

static int
origin_patch(struct ctx *c, const struct thread_msg *m, const char *subj,
	     const struct message *rec, const char *para)
{
	const struct subject_tags *tg = &m->tags;
	int series = tg->index == 0 || tg->total > 1;
	int r;

	r = add_name(c, m->from_name, m->from_addr);
	if (c->zh) {
		r = r || buf_adds(c->b, " \u4e8e ") || add_date(c, m->date) ||
		    buf_adds(c->b, " \u53d1\u5e03\u4e86");
		if (!r && tg->project[0])
			r = buf_adds(c->b, " ") || buf_adds(c->b, tg->project) ||
			    buf_adds(c->b, " ");
		if (!r && tg->rfc)
			r = buf_adds(c->b, " RFC ");
		r = r || buf_adds(c->b, series ? "\u8865\u4e01\u7cfb\u5217" :
					   "\u8865\u4e01") ||
		    add_quote(c, subj, 0) ||
		    buf_addf(c->b, "\uff08v%d", tg->version);
		if (!r && series && tg->total > 0)
			r = buf_addf(c->b, "\uff0c\u5171 %d \u4e2a\u8865\u4e01",
				     tg->total);
		if (!r && tg->resend)
			r = buf_adds(c->b, "\uff0c\u91cd\u53d1");
		r = r || buf_adds(c->b, "\uff09\u3002");
	} else {
		r = r || buf_adds(c->b, " posted ");
		if (!r && tg->version > 1)
			r = buf_addf(c->b, "v%d of ", tg->version);
		r = r || buf_adds(c->b, "the ");
		if (!r && series && tg->total > 0)
			r = buf_addf(c->b, "%d-patch ", tg->total);
		if (!r && tg->project[0])
			r = buf_adds(c->b, tg->project) || buf_adds(c->b, " ");
		if (!r && tg->rfc)
			r = buf_adds(c->b, "RFC ");
		r = r || buf_adds(c->b, series ? "series " : "patch ") ||
		    add_quote(c, subj, 0);
		if (!r && tg->resend)
			r = buf_adds(c->b, " (a resend)");
		r = r || buf_adds(c->b, " on ") || add_date(c, m->date) ||
		    add_stop(c);
	}
	if (r)
		return -1;
	if (tg->index == 0)
		r = add_said(c, "The cover letter says: ",
			     "\u5c01\u9762\u4fe1\u5199\u9053\uff1a", para);
	else
		r = add_said(c, "The commit message says: ",
			     "\u63d0\u4ea4\u8bf4\u660e\u5199\u9053\uff1a", para);
	return r || add_diffstat(c, rec);
}

/* A report or a question: "NAME reported/started "SUBJ" on DATE". */
static int
origin_other(struct ctx *c, const struct thread_msg *m, const char *subj,
	     const char *para, int bug)
{
	int r = add_name(c, m->from_name, m->from_addr);

	if (c->zh)
		r = r || buf_adds(c->b, " \u4e8e ") || add_date(c, m->date) ||
		    buf_adds(c->b, bug ? " \u62a5\u544a\u4e86" :
				   " \u53d1\u8d77\u4e86\u8ba8\u8bba") ||
		    add_quote(c, subj, 0) || add_stop(c);
	else
		r = r || buf_adds(c->b, bug ? " reported " :
				   " started the thread ") ||
		    add_quote(c, subj, 0) || buf_adds(c->b, " on ") ||
		    add_date(c, m->date) || add_stop(c);
	return r || add_said(c, "It says: ", "\u90ae\u4ef6\u5199\u9053\uff1a",
			     para);
}

static int
origin_versions(struct ctx *c, const struct thread_msg *lead)
{
	const struct thread *t = c->t;
	int r;

	if (!t->prev_root)
		return 0;
	if (c->zh)
		r = buf_addf(c->b, "\u8fd9\u662f\u8be5\u7cfb\u5217\u7684 v%d"
			     "\uff0c\u5176 v%d \u66fe\u4e8e ",
			     lead->tags.version, t->prev_version) ||
		    add_date(c, t->prev_date) ||
		    buf_adds(c->b, " \u8ba8\u8bba\uff08") ||
		    add_lore(c, t->prev_root) || buf_adds(c->b, "\uff09\u3002");
	else
		r = buf_addf(c->b, "This is v%d of a series whose v%d was "
			     "discussed on ", lead->tags.version,
			     t->prev_version) ||
		    add_date(c, t->prev_date) || buf_adds(c->b, " (") ||
		    add_lore(c, t->prev_root) || buf_adds(c->b, "). ");
	return r;
}

static int
part_origin(struct ctx *c, struct store_txn *txn)
{
	const struct thread_msg *lead = pick_lead(c);
	struct message rec;
	struct subject_tags tags;
	char *bare = NULL, *subj = NULL, *para = NULL;
	const char *b;
	int r, have;

	r = store_get_message(txn, lead->id, &rec);
	if (r < 0)
		return -1;
	have = r == 0;
	if (!have)
		memset(&rec, 0, sizeof(rec));
	r = -1;
	bare = message_subject_parse(lead->subject ? lead->subject : "", &tags);
	if (!bare)
		goto out;
	/* "[Patch]: Fix x" leaves ": Fix x" */
	b = bare;
	while (*b == ':' || *b == ' ')
		b++;
	subj = *b ? classify_clip(b, strlen(b), SUBJECT_CAP) :
		    strdup(c->zh ? "\uff08\u65e0\u4e3b\u9898\uff09" :
			   "(no subject)");
	para = first_paragraph(have ? rec.prose : "", PARA_CAP);
	if (!subj || !para)
		goto out;
	if (lead->tags.reply) {
		if (c->zh)
			r = add_quote(c, subj, 0) ||
			    buf_adds(c->b, "\u7684\u539f\u59cb\u90ae\u4ef6\u4e0d"
				     "\u5728\u5b58\u50a8\u4e2d\uff1b\u6700\u65e9"
				     "\u7684\u4e00\u5c01\u662f ") ||
			    add_name(c, lead->from_name, lead->from_addr) ||
			    buf_adds(c->b, " \u4e8e ") ||
			    add_date(c, lead->date) ||
			    buf_adds(c->b, " \u7684\u56de\u590d\u3002");
		else
			r = buf_adds(c->b, "The original posting of ") ||
			    add_quote(c, subj, 0) ||
			    buf_adds(c->b, " is not in the store; the first "
				     "stored mail is a reply by ") ||
			    add_name(c, lead->from_name, lead->from_addr) ||
			    buf_adds(c->b, " on ") || add_date(c, lead->date) ||
			    add_stop(c);
	} else if (is_syzbot_msg(lead)) {
		r = origin_syzbot(c, lead, subj, &rec);
	} else if (lead->tags.pull) {
		r = origin_pull(c, lead, subj, &rec, para);
	} else if (classify_is_patch(&lead->tags) || lead->tags.rfc) {
		r = origin_patch(c, lead, subj, &rec, para);
	} else {
		r = origin_other(c, lead, subj, para,
				 c->in->category == CATEGORY_BUG);
	}
	r = r || origin_versions(c, lead);
out:
	free(bare);
	free(subj);
	free(para);
	if (have)
		message_release(&rec);
	return r ? -1 : 0;
}

/* ---- people and tags ------------------------------------------------ */

struct person {
	size_t first;		/* index into t->msgs of the first mail */
	size_t count;
};

/* One person: the same address, or the same name under another
 * address ("ALOK TIWARI" at home, "Alok Tiwari" at work). */
static int
same_person(const struct thread_msg *a, const struct thread_msg *b)
{
	const char *x = str0(a->from_name), *y = str0(b->from_name);

	if (!strcmp(str0(a->from_addr), str0(b->from_addr)))
		return 1;
	return strlen(x) >= 3 && !strcasecmp(x, y);
}

/* Distinct senders (same_person()) of the mails i with lo <= date < hi
 * (replies_only: replies only), in order of their first mail.  *out
 * malloc'd. */
static int
senders(const struct ctx *c, int64_t lo, int64_t hi, int replies_only,
	struct person **out, size_t *n)
{
	const struct thread *t = c->t;
	struct person *p = calloc(t->n_msgs ? t->n_msgs : 1, sizeof(*p));
	size_t k = 0;

	if (!p)
		return -1;
	for (size_t i = 0; i < t->n_msgs; i++) {
		const struct thread_msg *m = &t->msgs[i];
		size_t j;

		if (m->date < lo || m->date >= hi)
			continue;
		if (replies_only && !is_reply_role(c, i))
			continue;
		for (j = 0; j < k; j++)
			if (same_person(&t->msgs[p[j].first], m))
				break;
		if (j == k)
			p[k++].first = i;
		p[j].count++;
	}
	*out = p;
	*n = k;
	return 0;
}

static int
add_people(struct ctx *c, const struct person *p, size_t n, int counts)
{
	size_t shown = n > MAX_NAMES ? MAX_NAMES : n;
	int r = 0;

	for (size_t i = 0; i < shown && !r; i++) {
		const struct thread_msg *m = &c->t->msgs[p[i].first];

		r = add_sep(c, i, n > shown ? shown + 1 : shown) ||
		    add_name(c, m->from_name, m->from_addr);
		if (!r && counts)
			r = c->zh ? buf_addf(c->b, "\uff08%zu \u5c01\uff09",
					     p[i].count) :
				    buf_addf(c->b, " (%zu)", p[i].count);
	}
	if (!r && n > shown)
		r = c->zh ? buf_addf(c->b, " \u7b49 %zu \u4eba", n) :
			    buf_addf(c->b, " and %zu others", n - shown);
	return r;
}

/* Most mails first; ties keep the order of first appearance. */
static void
sort_people(struct person *p, size_t n)
{
	for (size_t i = 1; i < n; i++) {
		struct person x = p[i];
		size_t j = i;

		while (j > 0 && p[j - 1].count < x.count) {
			p[j] = p[j - 1];
			j--;
		}
		p[j] = x;
	}
}

/* The name part of "Name <addr>", else the address. */
static int
add_tag_person(struct ctx *c, const char *who)
{
	const char *lt = strchr(who, '<');
	char *name;
	int r;

	if (!lt || lt == who)
		return add_name(c, "", who);
	name = strndup(who, (size_t)(lt - who));
	if (!name)
		return -1;
	r = add_name(c, name, who);
	free(name);
	return r;
}

/* "Tags given: Reviewed-by from A and B; Acked-by from C." */
static int
add_tags(struct ctx *c, int64_t lo, int64_t hi)
{
	static const char *const kinds[] = {
		"Reviewed-by", "Acked-by", "Tested-by",
	};
	const struct thread_status *st = c->st;
	int r = 0, any = 0;

	for (size_t k = 0; k < 3 && !r; k++) {
		size_t n = 0, shown = 0;

		for (size_t i = 0; i < st->n_tags; i++)
			if (!strcmp(st->tags[i].kind, kinds[k]) &&
			    st->tags[i].date >= lo && st->tags[i].date < hi)
				n++;
		if (!n)
			continue;
		if (!any)
			r = buf_adds(c->b, c->zh ? "\u7ed9\u51fa\u7684\u6807"
					     "\u7b7e\uff1a" : "Tags given: ");
		else
			r = buf_adds(c->b, c->zh ? "\uff1b" : "; ");
		any = 1;
		r = r || buf_adds(c->b, kinds[k]) ||
		    buf_adds(c->b, c->zh ? "\uff08" : " from ");
		for (size_t i = 0; i < st->n_tags && !r; i++) {
			const struct status_tag *tg = &st->tags[i];

			if (strcmp(tg->kind, kinds[k]) || tg->date < lo ||
			    tg->date >= hi)
				continue;
			if (shown == MAX_NAMES) {
				r = c->zh ? buf_addf(c->b, " \u7b49 %zu "
						     "\u4eba", n) :
					    buf_addf(c->b, " and %zu others",
						     n - shown);
				break;
			}
			r = add_sep(c, shown, n > MAX_NAMES ? MAX_NAMES + 1 :
							   n) ||
			    add_tag_person(c, tg->who);
			shown++;
		}
		if (!r && c->zh)
			r = buf_adds(c->b, "\uff09");
	}
	if (!r && any)
		r = add_stop(c);
	return r;
}

/* ---- quoted statements ---------------------------------------------- */

static int
in_range(int64_t d, int64_t lo, int64_t hi)
{
	return d >= lo && d < hi;
}

/* Would a quote of about len bytes still fit the soft budget? */
static int
fits(const struct ctx *c, size_t len)
{
	return c->b->len + (len < QUOTE_CAP ? len : QUOTE_CAP) + 64 <=
	       SOFT_MAX * (c->zh ? 2 : 1);
}

static int
add_attributed(struct ctx *c, const struct status_note *n, const char *en,
	       const char *zh)
{
	return add_name(c, n->from_name, n->from_addr) ||
	       buf_adds(c->b, c->zh ? zh : en) ||
	       add_quote(c, n->text, QUOTE_CAP) || add_stop_after_quote(c);
}

static int
add_changes(struct ctx *c, int64_t lo, int64_t hi)
{
	const struct thread_status *st = c->st;
	size_t shown = 0, more = 0;
	int r = 0;

	for (size_t i = 0; i < st->n_changes && !r; i++) {
		const struct status_note *n = &st->changes[i];

		if (!in_range(n->date, lo, hi))
			continue;
		if (shown < MAX_CHANGES && fits(c, strlen(n->text))) {
			r = add_attributed(c, n, " asked: ",
					   " \u8981\u6c42\u4fee\u6539\uff1a");
			shown++;
		} else {
			more++;
		}
	}
	if (!r && more)
		r = c->zh ? buf_addf(c->b, "\u53e6\u6709 %zu \u6761\u4fee\u6539"
				     "\u8981\u6c42\u3002", more) :
			    buf_addf(c->b, "%zu more change request%s. ", more,
				     more == 1 ? "" : "s");
	return r;
}

static int
b4_entry(const struct status_note *n)
{
	return n->text[0] == '[';
}

static int
add_applied(struct ctx *c, int64_t lo, int64_t hi)
{
	const struct thread_status *st = c->st;
	size_t shown = 0, entries = 0, quoted_entry = 0;
	int r = 0;

	for (size_t i = 0; i < st->n_applied && !r; i++) {
		const struct status_note *n = &st->applied[i];

		if (!in_range(n->date, lo, hi))
			continue;
		if (b4_entry(n)) {
			entries++;
			continue;
		}
		if (shown < MAX_APPLIED && fits(c, strlen(n->text))) {
			r = add_attributed(c, n, " wrote: ",
					   " \u5199\u9053\uff1a");
			shown++;
		}
	}
	/* Only b4 entries: quote the first, count the rest. */
	for (size_t i = 0; !shown && i < st->n_applied && !r; i++) {
		const struct status_note *n = &st->applied[i];

		if (in_range(n->date, lo, hi) && b4_entry(n)) {
			r = add_attributed(c, n, " listed as applied: ",
					   " \u5217\u4e3a\u5df2\u5408\u5165"
					   "\uff1a");
			quoted_entry = 1;
			break;
		}
	}
	if (!r && entries > quoted_entry)
		r = c->zh ? buf_addf(c->b, "\u5171\u5217\u51fa %zu \u4e2a\u5df2"
				     "\u5408\u5165\u7684\u63d0\u4ea4\u3002",
				     entries) :
			    buf_addf(c->b, "%zu applied commit%s listed. ",
				     entries, entries == 1 ? "" : "s");
	return r;
}

static int
add_reverted(struct ctx *c, int64_t lo, int64_t hi)
{
	const struct thread_status *st = c->st;
	const struct thread *t = c->t;

	for (size_t i = 0; i < st->n_reverted; i++) {
		const struct status_note *n = &st->reverted[i];
		int posted = 0;

		if (!in_range(n->date, lo, hi))
			continue;
		for (size_t j = 0; j < t->n_msgs; j++)
			if (!strcmp(t->msgs[j].id, n->message_id))
				posted = !is_reply_role(c, j);
		if (!fits(c, strlen(n->text)))
			return 0;
		return posted ? add_attributed(c, n, " posted the revert ",
					       " \u53d1\u5e03\u4e86\u56de\u9000"
					       "\u8865\u4e01") :
				add_attributed(c, n, " wrote: ",
					       " \u5199\u9053\uff1a");
	}
	return 0;
}

/* ---- part 2: before the window -------------------------------------- */

static int
part_before(struct ctx *c)
{
	const struct thread *t = c->t;
	const struct thread_status *st = c->st;
	int64_t since = c->in->since;
	struct person *p = NULL;
	size_t n = 0, mails = 0, replies = 0, changes = 0;
	int64_t first = 0;
	int r;

	for (size_t i = 0; i < t->n_msgs; i++) {
		/* a mail without a date (0) is in no period */
		if (t->msgs[i].date >= since || t->msgs[i].date <= 0)
			continue;
		if (!mails || t->msgs[i].date < first)
			first = t->msgs[i].date;
		mails++;
		replies += is_reply_role(c, i);
	}
	if (!mails)
		return buf_adds(c->b, c->zh ? "\u6b64\u524d\u6ca1\u6709\u8ba8"
				"\u8bba\uff1a\u8be5\u7ebf\u7a0b\u672c\u5468"
				"\u5f00\u59cb\u3002" :
				"No earlier discussion: the thread started "
				"this week.");
	if (senders(c, 1, since, 0, &p, &n))
		return -1;
	if (c->zh)
		r = buf_addf(c->b, "\u672c\u5468\u4e4b\u524d\uff1a\u5171 %zu "
			     "\u5c01\u90ae\u4ef6\uff0c\u59cb\u4e8e ", mails) ||
		    add_date(c, first) ||
		    buf_adds(c->b, "\uff0c\u53c2\u4e0e\u8005\uff1a") ||
		    add_people(c, p, n, 0) || add_stop(c);
	else
		r = buf_addf(c->b, "Before this week: %zu mail%s from ", mails,
			     mails == 1 ? "" : "s") ||
		    add_date(c, first) || buf_adds(c->b, " on, by ") ||
		    add_people(c, p, n, 0) || add_stop(c);
	free(p);
	if (!r && !replies)
		r = buf_adds(c->b, c->zh ? "\u672c\u5468\u4e4b\u524d\u6ca1\u6709"
				     "\u56de\u590d\u3002" :
				     "No replies before this week. ");
	else if (!r)
		r = c->zh ? buf_addf(c->b, "\u5176\u4e2d %zu \u5c01\u662f\u56de"
				     "\u590d\u3002", replies) :
			    buf_addf(c->b, "%zu of them replies. ", replies);
	r = r || add_tags(c, 1, since);
	for (size_t i = 0; i < st->n_changes; i++)
		changes += in_range(st->changes[i].date, 1, since);
	if (!r && changes)
		r = c->zh ? buf_addf(c->b, "\u5f53\u65f6\u6709 %zu \u6761\u4fee"
				     "\u6539\u8981\u6c42\u3002", changes) :
			    buf_addf(c->b, "Reviewers asked for changes in %zu "
				     "sentence%s then. ", changes,
				     changes == 1 ? "" : "s");
	return r || add_applied(c, 1, since) || add_reverted(c, 1, since);
}

/* ---- syzbot testing ------------------------------------------------- */

#define MAX_SYZ_EVENTS	3

/* The first prose line starting with prefix, trimmed, without a final
 * ':'; malloc'd, NULL when none (or out of memory). */
static char *
line_starting(const char *prose, const char *prefix)
{
	const char *p = prose ? prose : "";
	size_t k = strlen(prefix);

	while (*p) {
		const char *eol = strchr(p, '\n');
		size_t n = eol ? (size_t)(eol - p) : strlen(p);

		if (n > k && !strncmp(p, prefix, k)) {
			while (n && (p[n - 1] == ':' || isspace((unsigned char)
								 p[n - 1])))
				n--;
			return classify_clip(p, n, QUOTE_CAP);
		}
		p = eol ? eol + 1 : p + n;
	}
	return NULL;
}

/*
 * In a Bug Report thread, what happened to syzbot's report in the
 * window: who sent syzbot a test request ("#syz test ..." in their own
 * prose) and what syzbot answered ("syzbot has tested the proposed
 * patch but the reproducer is still triggering an issue").
 */
static int
add_syzbot_tests(struct ctx *c, struct store_txn *txn, int64_t lo,
		 int64_t hi)
{
	const struct thread *t = c->t;
	size_t shown = 0;
	int r = 0;

	if (c->in->category != CATEGORY_BUG)
		return 0;
	for (size_t i = 0; i < t->n_msgs && !r && shown < MAX_SYZ_EVENTS;
	     i++) {
		const struct thread_msg *m = &t->msgs[i];
		int bot = classify_is_syzbot(m->from_addr);
		struct message rec;
		char *line;
		int got;

		if (!in_range(m->date, lo, hi) || !is_reply_role(c, i))
			continue;
		got = store_get_message(txn, m->id, &rec);
		if (got < 0)
			return -1;
		if (got == 1)
			continue;
		line = line_starting(rec.prose, bot ? "syzbot " : "#syz test");
		message_release(&rec);
		if (!line || !fits(c, strlen(line))) {
			free(line);
			continue;
		}
		if (bot)
			r = buf_adds(c->b, c->zh ? "syzbot \u5199\u9053\uff1a" :
					     "syzbot wrote: ") ||
			    add_quote(c, line, 0) || add_stop_after_quote(c);
		else if (c->zh)
			r = add_name(c, m->from_name, m->from_addr) ||
			    buf_adds(c->b, " \u5411 syzbot \u53d1\u51fa\u6d4b"
				     "\u8bd5\u8bf7\u6c42\uff08") ||
			    add_quote(c, line, 0) ||
			    buf_adds(c->b, "\uff09\u3002");
		else
			r = add_name(c, m->from_name, m->from_addr) ||
			    buf_adds(c->b, " sent syzbot a test request (") ||
			    add_quote(c, line, 0) || buf_adds(c->b, "). ");
		free(line);
		shown++;
	}
	return r;
}

/* ---- part 3: the window --------------------------------------------- */

static int
part_window(struct ctx *c, struct store_txn *txn)
{
	const struct thread *t = c->t;
	int64_t lo = c->in->since, hi = c->in->until;
	struct person *p = NULL;
	size_t n = 0, mails = 0;
	int r;

	for (size_t i = 0; i < t->n_msgs; i++)
		mails += in_range(t->msgs[i].date, lo, hi);
	if (!mails)
		r = buf_adds(c->b, c->zh ? "\u672c\u5468\u6ca1\u6709\u90ae\u4ef6"
				     "\u3002" : "No mails this week. ");
	else if (senders(c, lo, hi, 1, &p, &n))
		return -1;
	else if (!n)
		r = c->zh ? buf_addf(c->b, "\u672c\u5468\uff1a%zu \u5c01\u90ae"
				     "\u4ef6\uff0c\u672c\u5468\u6ca1\u6709\u56de"
				     "\u590d\u3002", mails) :
			    buf_addf(c->b, "This week: %zu mail%s. No replies "
				     "this week. ", mails, mails == 1 ? "" : "s");
	else {
		sort_people(p, n);
		r = c->zh ? buf_addf(c->b, "\u672c\u5468\uff1a%zu \u5c01\u90ae"
				     "\u4ef6\uff0c\u56de\u590d\u8005\uff1a",
				     mails) :
			    buf_addf(c->b, "This week: %zu mail%s; replies "
				     "from ", mails, mails == 1 ? "" : "s");
		r = r || add_people(c, p, n, 1) || add_stop(c);
	}
	free(p);
	r = r || add_tags(c, lo, hi) || add_applied(c, lo, hi) ||
	    add_reverted(c, lo, hi) || add_syzbot_tests(c, txn, lo, hi) ||
	    add_changes(c, lo, hi);
	if (!r && t->next_root) {
		if (c->zh)
			r = buf_addf(c->b, "\u5df2\u53d1\u5e03\u66f4\u65b0\u7248"
				     "\u672c v%d\uff08", t->next_version) ||
			    add_date(c, t->next_date) ||
			    buf_adds(c->b, "\uff0c") ||
			    add_lore(c, t->next_root) ||
			    buf_adds(c->b, "\uff09\u3002");
		else
			r = buf_addf(c->b, "A newer version, v%d, was posted "
				     "on ", t->next_version) ||
			    add_date(c, t->next_date) || buf_adds(c->b, ": ") ||
			    add_lore(c, t->next_root) || add_stop(c);
	}
	return r;
}

int
summary_offline(struct store_txn *txn, const struct summary_input *in,
		char **out)
{
	struct thread_status own;
	struct buf b;
	struct ctx c = { 0 };
	int r;

	*out = NULL;
	if (!in || !in->thread || !in->thread->n_msgs)
		return log_error("summary of an empty thread");
	memset(&own, 0, sizeof(own));
	c.b = &b;
	c.in = in;
	c.t = in->thread;
	c.zh = in->lang && !strcmp(in->lang, "zh");
	c.list = in->list_name && *in->list_name ? in->list_name : "kvmarm";
	c.st = in->status;
	if (!c.st) {
		if (classify_status(txn, in->thread, &own))
			return -1;
		c.st = &own;
	}
	buf_init(&b, SUMMARY_MAX);
	r = part_origin(&c, txn);
	trim_end(&b);
	r = r || buf_adds(&b, "\n\n") || part_before(&c);
	trim_end(&b);
	r = r || buf_adds(&b, "\n\n") || part_window(&c, txn);
	trim_end(&b);
	if (!c.in->status)
		thread_status_release(&own);
	if (r) {
		buf_release(&b);
		return log_error("cannot compose the summary of '%s'",
				 in->thread->root_id ? in->thread->root_id :
						       "?");
	}
	*out = buf_detach(&b, NULL);
	if (!*out)
		return log_error("out of memory composing a summary");
	return 0;
}
