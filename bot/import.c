/*
 * import.c - feed archived mail into the store: the bulk path of the
 * "remember" stage, used to seed the bot with a list's history before
 * it starts listening on IMAP.
 *
 * Sources: a single message file, an mbox (mboxo or mboxrd, optionally
 * gzip'd), a Maildir or any directory tree, and public-inbox v2 git
 * repositories (`git rev-list --reverse --all [^CURSOR]` for the new
 * commits, oldest first, and one long-running `git cat-file --batch`
 * for their blobs `m`; both run with fork/exec, no shell).  Every mail goes
 * through message_parse(), store_put_message() and thread_index_add();
 * mails are written in transactions of opt->batch, and a mail is counted
 * (and reported in "committed N") only after its transaction committed,
 * so a kill -9 loses nothing that was reported.
 *
 * mbox rules (the same for mboxo and mboxrd, see docs/state-format.md):
 *  - a file is an mbox when its first line starts with "From "; any
 *    other file is one message, whatever "From " lines it holds later;
 *  - after the first line, a separator is a "From " line that follows
 *    an empty line and ends in an asctime date ("From SENDER Www Mmm dd
 *    hh:mm:ss yyyy", more tokens allowed after the year), so an
 *    unescaped "From " in a body rarely splits a mail;
 *  - git format-patch's "From <sha> Mon Sep 17 00:00:00 2001" separates
 *    mails only in a file that starts with one (a patch series); in any
 *    other mbox it is a patch pasted or attached unescaped in a body;
 *  - ">From ", ">>From " ... lose one '>' (the mboxrd rule).  For an
 *    mboxo file this also turns a quoted ">From " back into "From ",
 *    the one ambiguity mboxo cannot resolve;
 *  - the empty line before a separator (and at the end of the file)
 *    belongs to the mbox, not to the mail, and is dropped.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <zlib.h>

#include "buf.h"
#include "import.h"
#include "log.h"
#include "message.h"
#include "thread.h"

#define IMPORT_DEFAULT_BATCH 1000
#define IMPORT_CHUNK (256 * 1024) /* longest line seen whole */
/* A gzip'd stream inflating past this is refused (bomb guard). */
#define IMPORT_MAX_STREAM (UINT64_C(64) << 30)
#define IMPORT_MAX_DEPTH 64
#define IMPORT_CURSOR_PREFIX "git:"

struct importer {
	struct store *store;
	struct import_stats *st;
	FILE *report;
	FILE *progress;
	unsigned batch;
	struct store_txn *txn;
	unsigned in_txn;     /* mails handled in the open transaction */
	uint64_t new_in_txn; /* ... of which stored */
	uint64_t dup_in_txn; /* ... of which duplicates */
	int failed;	     /* the store failed: stop everything */
	/* public-inbox: the commit to record with the next commit */
	char cursor_key[PATH_MAX + sizeof(IMPORT_CURSOR_PREFIX)];
	size_t cursor_klen;
	char cursor_val[72];
	int cursor_dirty;
};

/* --- transactions -------------------------------------------------- */

static int
imp_commit(struct importer *imp)
{
	if (!imp->txn)
		return 0;
	if (imp->cursor_dirty &&
	    store_kv_put(imp->txn, STORE_DB_IMPORT, imp->cursor_key,
			 imp->cursor_klen, imp->cursor_val,
			 strlen(imp->cursor_val)) < 0) {
		store_abort(imp->txn);
		imp->txn = NULL;
		imp->failed = 1;
		return -1;
	}
	int r = store_commit(imp->txn);

	imp->txn = NULL;
	if (r < 0) {
		imp->failed = 1;
		return -1;
	}
	imp->cursor_dirty = 0;
	imp->st->imported += imp->new_in_txn;
	imp->st->duplicates += imp->dup_in_txn;
	imp->in_txn = 0;
	imp->new_in_txn = imp->dup_in_txn = 0;
	if (imp->progress) {
		fprintf(imp->progress, "committed %" PRIu64 "\n",
			imp->st->imported);
		fflush(imp->progress);
	}
	return 0;
}

static int
imp_txn(struct importer *imp)
{
	if (imp->txn)
		return 0;
	if (store_begin(imp->store, 1, &imp->txn) < 0) {
		imp->failed = 1;
		return -1;
	}
	return 0;
}

static void
imp_reject(struct importer *imp, const char *path, const char *where,
	   const char *reason)
{
	imp->st->rejected++;
	fprintf(imp->report, "rejected: %s%s%s: %s\n", path, where ? ":" : "",
		where ? where : "", reason);
}

/*
 * Parse and store one mail.  from_date is the mbox separator's date,
 * used when the mail's own Date: is unusable.  Returns -1 only when
 * the store failed.
 */
static int
imp_mail(struct importer *imp, const char *raw, size_t len, const char *path,
	 const char *where, int64_t from_date)
{
	struct message msg;
	const char *why = NULL;
	int r;

	if (len == 0) {
		imp_reject(imp, path, where, "empty");
		return 0;
	}
	if (message_parse(raw, len, &msg, &why) < 0) {
		imp_reject(imp, path, where, why ? why : "not a mail");
		return 0;
	}
	if (msg.date == 0 && from_date != 0)
		msg.date = from_date;
	if (imp_txn(imp) < 0) {
		message_release(&msg);
		return -1;
	}
	r = store_put_message(imp->txn, &msg, raw, len);
	/* Its thread links go in with it, in the same transaction. */
	if (r == 1 && thread_index_add(imp->txn, &msg) < 0)
		r = -1;
	message_release(&msg);
	if (r < 0) {
		store_abort(imp->txn);
		imp->txn = NULL;
		imp->failed = 1;
		return -1;
	}
	if (r)
		imp->new_in_txn++;
	else
		imp->dup_in_txn++;
	if (++imp->in_txn >= imp->batch)
		return imp_commit(imp);
	return 0;
}

/* --- reading files (plain or gzip'd, through zlib either way) ------- */

struct src {
	gzFile gz;
	unsigned char *buf;
	size_t pos, len;
	uint64_t total;
	int eof;
};

static int
src_open(struct src *s, const char *path)
{
	int fd;

	memset(s, 0, sizeof(*s));
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	s->buf = malloc(IMPORT_CHUNK);
	/* gzdopen() reads a file that is not gzip'd as it is. */
	s->gz = s->buf ? gzdopen(fd, "rb") : NULL;
	if (!s->gz) {
		free(s->buf);
		close(fd);
		errno = ENOMEM;
		return -1;
	}
	gzbuffer(s->gz, 128 * 1024);
	return 0;
}

static void
src_close(struct src *s)
{
	if (s->gz)
		gzclose(s->gz);
	free(s->buf);
	memset(s, 0, sizeof(*s));
}

/*
 * The next piece of input: a whole line with its '\n', or IMPORT_CHUNK
 * bytes of a longer one.  *p lives until the next call.  Returns 1, 0
 * at the end, -1 on a read error (after logging it).
 */
static int
src_piece(struct src *s, const char *path, const char **p, size_t *n)
{
	for (;;) {
		unsigned char *nl =
		    memchr(s->buf + s->pos, '\n', s->len - s->pos);

		if (nl || (s->eof && s->pos < s->len) ||
		    (s->pos == 0 && s->len == IMPORT_CHUNK)) {
			size_t end = nl ? (size_t)(nl - s->buf) + 1 : s->len;

			*p = (const char *)s->buf + s->pos;
			*n = end - s->pos;
			s->pos = end;
			return 1;
		}
		if (s->eof)
			return 0;
		if (s->pos) {
			memmove(s->buf, s->buf + s->pos, s->len - s->pos);
			s->len -= s->pos;
			s->pos = 0;
		}
		int got = gzread(s->gz, s->buf + s->len,
				 (unsigned)(IMPORT_CHUNK - s->len));
		if (got < 0) {
			int errnum;
			const char *msg = gzerror(s->gz, &errnum);

			return log_error("cannot read '%s': %s", path,
					 errnum == Z_ERRNO ? strerror(errno)
							   : msg);
		}
		if (got == 0) {
			int errnum = Z_OK;

			/* zlib's only word that a gzip stream was cut. */
			gzerror(s->gz, &errnum);
			if (errnum == Z_BUF_ERROR)
				return log_error("'%s' is truncated: the gzip "
						 "stream ends early",
						 path);
			s->eof = 1;
		}
		s->len += (size_t)got;
		s->total += (uint64_t)got;
		if (s->total > IMPORT_MAX_STREAM)
			return log_error("'%s' inflates to more than %" PRIu64
					 " bytes; refusing the rest",
					 path, IMPORT_MAX_STREAM);
	}
}

/* --- mbox ------------------------------------------------------------ */

static int
parse_num(const char *s, size_t digits_min, size_t digits_max, int *out)
{
	size_t n = strlen(s);
	int v = 0;

	if (n < digits_min || n > digits_max)
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (!isdigit((unsigned char)s[i]))
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	*out = v;
	return 0;
}

static int
name_index(const char *tok, const char *const names[], int n)
{
	for (int i = 0; i < n; i++)
		if (!strcmp(tok, names[i]))
			return i;
	return -1;
}

/*
 * Does line (without "From ") end in an asctime date after a sender?
 * Returns 1 and the date (0 for the epoch placeholder of lore and b4),
 * 2 for git format-patch's placeholder (date 0), else 0.
 */
static int
from_line_date(const char *line, size_t len, int64_t *date)
{
	static const char *const days[] = {"Sun", "Mon", "Tue", "Wed",
					   "Thu", "Fri", "Sat"};
	static const char *const months[] = {"Jan", "Feb", "Mar", "Apr",
					     "May", "Jun", "Jul", "Aug",
					     "Sep", "Oct", "Nov", "Dec"};
	char copy[256], *tok[16];
	int ntok = 0, mon, day, hh, mm, ss = 0, year;

	*date = 0;
	if (len >= sizeof(copy))
		return 0;
	memcpy(copy, line, len);
	copy[len] = '\0';
	for (char *c = copy; *c && ntok < 16;) {
		c += strspn(c, " \t\r\n");
		if (!*c)
			break;
		tok[ntok++] = c;
		c += strcspn(c, " \t\r\n");
		if (*c)
			*c++ = '\0';
	}
	for (int i = 1; i + 4 < ntok; i++) {
		char *colon1, *colon2;

		if (name_index(tok[i], days, 7) < 0 ||
		    (mon = name_index(tok[i + 1], months, 12)) < 0 ||
		    parse_num(tok[i + 2], 1, 2, &day) < 0 || day < 1 ||
		    day > 31 || parse_num(tok[i + 4], 4, 4, &year) < 0)
			continue;
		colon1 = strchr(tok[i + 3], ':');
		if (!colon1)
			continue;
		*colon1 = '\0';
		colon2 = strchr(colon1 + 1, ':');
		if (colon2)
			*colon2 = '\0';
		if (parse_num(tok[i + 3], 1, 2, &hh) < 0 ||
		    parse_num(colon1 + 1, 2, 2, &mm) < 0 ||
		    (colon2 && parse_num(colon2 + 1, 2, 2, &ss) < 0) ||
		    hh > 23 || mm > 59 || ss > 60)
			continue;
		/* git format-patch's fixed "Mon Sep 17 00:00:00 2001". */
		if (year == 2001 && mon == 8 && day == 17 && !hh && !mm && !ss)
			return 2;
		struct tm tm = {.tm_year = year - 1900,
				.tm_mon = mon,
				.tm_mday = day,
				.tm_hour = hh,
				.tm_min = mm,
				.tm_sec = ss};
		time_t t = timegm(&tm);
		*date = t == (time_t)-1 ? 0 : (int64_t)t;
		return 1;
	}
	return 0;
}

static int
is_blank(const char *p, size_t n)
{
	return (n == 1 && p[0] == '\n') ||
	       (n == 2 && p[0] == '\r' && p[1] == '\n');
}

/* ">From ", ">>From " ...: the escaped lines of mboxrd (and mboxo). */
static int
is_escaped_from(const char *p, size_t n)
{
	size_t i = 0;

	while (i < n && p[i] == '>')
		i++;
	return i > 0 && n - i >= 5 && !memcmp(p + i, "From ", 5);
}

struct mbox {
	struct importer *imp;
	const char *path;
	struct buf msg;
	unsigned long n; /* number of the mail in the file, from 1 */
	int open;	 /* a mail has started */
	int too_big;
	int64_t from_date;
};

static int
mbox_finish(struct mbox *mb)
{
	char where[32];
	size_t len = mb->msg.len;
	const char *d = mb->msg.data;
	int r;

	if (!mb->open)
		return 0;
	mb->open = 0;
	snprintf(where, sizeof(where), "%lu", mb->n);
	if (mb->too_big) {
		buf_release(&mb->msg);
		imp_reject(mb->imp, mb->path, where,
			   "larger than the 64 MiB limit");
		return 0;
	}
	/* The mbox's own blank line before the next separator. */
	if (len >= 2 && d[len - 1] == '\n' && d[len - 2] == '\n')
		len--;
	else if (len >= 4 && !memcmp(d + len - 4, "\r\n\r\n", 4))
		len -= 2;
	r = imp_mail(mb->imp, d, len, mb->path, where, mb->from_date);
	buf_truncate(&mb->msg, 0);
	return r;
}

/* first: the file's first piece, already known to start with "From ". */
static int
import_mbox(struct importer *imp, struct src *s, const char *path,
	    const char *first, size_t first_len)
{
	struct mbox mb = {.imp = imp, .path = path};
	const char *p = first;
	size_t n = first_len;
	int bol = 1, prev_blank = 1, in_sep = 0, r = 1, sep, git = 0;

	buf_init(&mb.msg, MESSAGE_MAX_RAW);
	for (; r == 1; r = src_piece(s, path, &p, &n)) {
		int64_t date = 0;
		int whole = n && p[n - 1] == '\n';

		/* The rest of an overlong first separator line. */
		if (in_sep) {
			in_sep = !whole;
			bol = whole;
			continue;
		}
		sep = 0;
		if (bol && prev_blank && n >= 5 && !memcmp(p, "From ", 5)) {
			sep = from_line_date(p + 5, n - 5, &date);
			if (mb.n == 0) {
				git = sep == 2;
				sep = 1;
			} else if (!whole && !s->eof) {
				sep = 0;
			} else if (sep == 2 && !git) {
				/* A patch pasted into a mail, not escaped. */
				sep = 0;
			}
		}
		if (sep) {
			if (mbox_finish(&mb) < 0)
				break;
			mb.n++;
			mb.open = 1;
			mb.too_big = 0;
			mb.from_date = date;
			prev_blank = 0;
			in_sep = !whole;
			bol = whole;
			continue;
		}
		prev_blank = bol && is_blank(p, n);
		if (bol && is_escaped_from(p, n)) {
			p++;
			n--;
		}
		bol = whole;
		if (mb.too_big)
			continue;
		if (buf_add(&mb.msg, p, n) < 0) {
			mb.too_big = 1;
			buf_release(&mb.msg);
		}
	}
	if (r == 0) {
		r = mbox_finish(&mb);
	} else if (!mb.imp->failed && mb.open) {
		char where[32];

		snprintf(where, sizeof(where), "%lu", mb.n);
		imp_reject(imp, path, where, "read error");
	}
	buf_release(&mb.msg);
	return r < 0 ? -1 : 0;
}

/*
 * A file: an mbox when it starts with "From ", else one mail.  Returns
 * -1 only when the store failed; unreadable files are rejections.
 */
static int
import_file(struct importer *imp, const char *path)
{
	struct src s;
	struct buf msg;
	const char *p;
	size_t n;
	int r;

	if (src_open(&s, path) < 0) {
		char why[256];

		snprintf(why, sizeof(why), "cannot open: %s", strerror(errno));
		imp_reject(imp, path, NULL, why);
		return 0;
	}
	r = src_piece(&s, path, &p, &n);
	if (r == 1 && n >= 5 && !memcmp(p, "From ", 5)) {
		r = import_mbox(imp, &s, path, p, n);
		src_close(&s);
		return imp->failed ? -1 : 0;
	}
	buf_init(&msg, MESSAGE_MAX_RAW);
	for (; r == 1; r = src_piece(&s, path, &p, &n))
		if (buf_add(&msg, p, n) < 0)
			break;
	src_close(&s);
	if (r < 0)
		imp_reject(imp, path, NULL, "read error");
	else if (r == 1)
		imp_reject(imp, path, NULL, "larger than the 64 MiB limit");
	else
		imp_mail(imp, msg.data, msg.len, path, NULL, 0);
	buf_release(&msg);
	return imp->failed ? -1 : 0;
}

/* --- public-inbox v2 git repositories -------------------------------- */

static int
sub_is(const char *dir, const char *name, int want_dir)
{
	char p[PATH_MAX];
	struct stat st;

	if ((size_t)snprintf(p, sizeof(p), "%s/%s", dir, name) >= sizeof(p) ||
	    stat(p, &st) < 0)
		return 0;
	return want_dir ? S_ISDIR(st.st_mode) : S_ISREG(st.st_mode);
}

static int
is_bare_git(const char *dir)
{
	return sub_is(dir, "HEAD", 0) && sub_is(dir, "objects", 1) &&
	       sub_is(dir, "refs", 1);
}

struct child {
	pid_t pid;
	int to;	    /* its stdin, -1 when /dev/null */
	FILE *from; /* its stdout */
};

/*
 * Run argv (no shell) with its stdout on a pipe; want_stdin gives it a
 * pipe to write to, errfd (when not -1) becomes its stderr.
 */
static int
spawn(char *const argv[], int want_stdin, int errfd, struct child *c)
{
	int in[2] = {-1, -1}, out[2] = {-1, -1};

	c->pid = -1;
	c->to = -1;
	c->from = NULL;
	if (pipe2(out, O_CLOEXEC) < 0 ||
	    (want_stdin && pipe2(in, O_CLOEXEC) < 0)) {
		log_errno("cannot create a pipe");
		goto fail;
	}
	c->pid = fork();
	if (c->pid < 0) {
		log_errno("cannot fork");
		goto fail;
	}
	if (c->pid == 0) {
		int null = open("/dev/null", O_RDONLY);

		if (dup2(want_stdin ? in[0] : null, 0) < 0 ||
		    dup2(out[1], 1) < 0 || (errfd >= 0 && dup2(errfd, 2) < 0))
			_exit(127);
		execvp(argv[0], argv);
		_exit(127);
	}
	close(out[1]);
	if (want_stdin) {
		close(in[0]);
		c->to = in[1];
	}
	c->from = fdopen(out[0], "r");
	if (!c->from) {
		log_errno("cannot read from '%s'", argv[0]);
		close(out[0]);
		return -1;
	}
	return 0;
fail:
	for (int i = 0; i < 2; i++) {
		if (in[i] >= 0)
			close(in[i]);
		if (out[i] >= 0)
			close(out[i]);
	}
	return -1;
}

/* Close the pipes, reap the child; its exit status or -1. */
static int
child_finish(struct child *c)
{
	int status;

	if (c->to >= 0)
		close(c->to);
	if (c->from)
		fclose(c->from);
	c->to = -1;
	c->from = NULL;
	if (c->pid <= 0)
		return -1;
	while (waitpid(c->pid, &status, 0) < 0)
		if (errno != EINTR)
			return -1;
	c->pid = -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static int
write_all(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t w = write(fd, p, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

static int
is_hex_id(const char *s, size_t n)
{
	if (n != 40 && n != 64)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!isxdigit((unsigned char)s[i]) ||
		    isupper((unsigned char)s[i]))
			return 0;
	return 1;
}

/* The commit last imported from this repository, "" if none. */
static int
load_cursor(struct importer *imp, char *out, size_t outsz)
{
	struct store_txn *txn = imp->txn;
	const void *val;
	size_t vlen;
	int r;

	out[0] = '\0';
	if (!txn && store_begin(imp->store, 0, &txn) < 0)
		return -1;
	r = store_kv_get(txn, STORE_DB_IMPORT, imp->cursor_key,
			 imp->cursor_klen, &val, &vlen);
	if (r == 0 && is_hex_id(val, vlen) && vlen < outsz) {
		memcpy(out, val, vlen);
		out[vlen] = '\0';
	} else if (r == 0) {
		log_warn("ignoring a bad import cursor for '%s'",
			 imp->cursor_key);
	}
	if (txn != imp->txn)
		store_abort(txn);
	return r < 0 ? -1 : 0;
}

/*
 * Ask cat-file for COMMIT:m and store the blob.  Returns 0, 1 when the
 * commit has no m (a deletion), -1 when cat-file or the store failed.
 */
static int
git_one(struct importer *imp, struct child *cat, const char *repo,
	const char *commit)
{
	char req[80], hdr[256];
	unsigned long long size;
	char *data, *end, *type, *sp;
	int r, blob;

	size_t clen = strlen(commit);

	if (clen > sizeof(req) - 4)
		return log_error("bad commit id in '%s'", repo);
	memcpy(req, commit, clen);
	memcpy(req + clen, ":m\n", 3);
	if (write_all(cat->to, req, clen + 3) < 0)
		return log_errno("cannot write to git cat-file");
	if (!fgets(hdr, sizeof(hdr), cat->from) || !strchr(hdr, '\n'))
		return log_error("git cat-file ended early in '%s'", repo);
	if (strstr(hdr, " missing\n") || strstr(hdr, " ambiguous\n"))
		return 1;
	/* "<oid> <type> <size>\n" */
	type = strchr(hdr, ' ');
	sp = type ? strchr(type + 1, ' ') : NULL;
	if (!sp || !isdigit((unsigned char)sp[1]))
		return log_error("unexpected git cat-file output in '%s'",
				 repo);
	blob = sp - type == 5 && !memcmp(type, " blob", 5);
	errno = 0;
	size = strtoull(sp + 1, &end, 10);
	if (errno || *end != '\n' || size > SIZE_MAX - 1)
		return log_error("unexpected git cat-file output in '%s'",
				 repo);
	/* An oversized or odd object is read past, never kept. */
	if (size > MESSAGE_MAX_RAW || !blob) {
		for (unsigned long long i = 0; i <= size; i++)
			if (getc(cat->from) == EOF)
				return log_error("git cat-file ended early");
		imp_reject(imp, repo, commit,
			   !blob ? "m is not a blob"
				 : "larger than the 64 MiB limit");
		return 0;
	}
	data = malloc((size_t)size + 1);
	if (!data)
		return log_error("out of memory");
	if (fread(data, 1, (size_t)size, cat->from) != size ||
	    getc(cat->from) != '\n') {
		free(data);
		return log_error("git cat-file ended early in '%s'", repo);
	}
	data[size] = '\0';
	r = imp_mail(imp, data, (size_t)size, repo, commit, 0);
	free(data);
	return r;
}

/* The first line rev-list wrote to its stderr file, for our message. */
static void
first_line(FILE *f, char *out, size_t outsz)
{
	out[0] = '\0';
	if (!f)
		return;
	rewind(f);
	if (!fgets(out, (int)outsz, f))
		out[0] = '\0';
	out[strcspn(out, "\n")] = '\0';
}

/*
 * Walk the commits after the cursor (all when since is "").  Returns
 * the number of commits read, or -1; *rev_status gets rev-list's exit
 * status and why the first line of its complaints.
 */
static long
git_walk(struct importer *imp, const char *repo, const char *since,
	 int *rev_status, char *why, size_t whysz)
{
	char gitdir[PATH_MAX + 16], range[160];
	/* --all: an epoch with no commit yet is empty, not an error. */
	char *rev_argv[] = {"git",   gitdir, "rev-list", "--reverse",
			    "--all", range,  NULL};
	char *cat_argv[] = {"git", gitdir, "cat-file", "--batch", NULL};
	struct child rev, cat;
	char line[128];
	long n = 0, missing = 0;
	int r = 0;

	snprintf(gitdir, sizeof(gitdir), "--git-dir=%s", repo);
	if (*since)
		snprintf(range, sizeof(range), "^%s", since);
	else
		rev_argv[5] = NULL;
	*rev_status = -1;
	why[0] = '\0';
	/* A file, not a pipe: nobody has to read it while it runs. */
	FILE *errf = tmpfile();
	if (errf)
		fcntl(fileno(errf), F_SETFD, FD_CLOEXEC);
	if (spawn(rev_argv, 0, errf ? fileno(errf) : -1, &rev) < 0) {
		if (errf)
			fclose(errf);
		return -1;
	}
	if (spawn(cat_argv, 1, -1, &cat) < 0) {
		child_finish(&rev);
		if (errf)
			fclose(errf);
		return -1;
	}
	while (fgets(line, sizeof(line), rev.from)) {
		size_t len = strcspn(line, "\n");

		line[len] = '\0';
		if (!is_hex_id(line, len)) {
			r = log_error("unexpected git rev-list output in '%s'",
				      repo);
			break;
		}
		n++;
		r = git_one(imp, &cat, repo, line);
		if (r < 0)
			break;
		if (r == 1)
			missing++;
		r = 0;
		/* Recorded with the transaction that holds the mail. */
		memcpy(imp->cursor_val, line, len + 1);
		imp->cursor_dirty = 1;
	}
	*rev_status = child_finish(&rev);
	first_line(errf, why, whysz);
	if (errf)
		fclose(errf);
	if (child_finish(&cat) != 0 && r == 0 && n > 0)
		r = log_error("git cat-file failed in '%s'", repo);
	if (missing)
		log_info("%ld commit(s) without a message (deletions) in '%s'",
			 missing, repo);
	return r < 0 ? -1 : n;
}

static int
import_git(struct importer *imp, const char *repo)
{
	char real[PATH_MAX], since[72], why[256];
	struct sigaction ign, old;
	int status;
	long n;

	if (!realpath(repo, real))
		return log_errno("cannot resolve '%s'", repo);
	if (imp_commit(imp) < 0)
		return -1;
	imp->cursor_klen =
	    (size_t)snprintf(imp->cursor_key, sizeof(imp->cursor_key), "%s%s",
			     IMPORT_CURSOR_PREFIX, real);
	if (imp->cursor_klen > 500)
		return log_error("repository path too long '%s'", real);
	if (load_cursor(imp, since, sizeof(since)) < 0) {
		imp->failed = 1;
		return -1;
	}
	/* A dying cat-file must give EPIPE here, not kill the importer. */
	memset(&ign, 0, sizeof(ign));
	ign.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &ign, &old);
	n = git_walk(imp, real, since, &status, why, sizeof(why));
	if (n == 0 && status != 0 && status != 127 && *since && !imp->failed) {
		log_warn("last imported commit %s is not in '%s' (%s); "
			 "reading all of it again",
			 since, real, why);
		n = git_walk(imp, real, "", &status, why, sizeof(why));
	}
	sigaction(SIGPIPE, &old, NULL);
	if (n >= 0 && status == 127)
		n = log_error("cannot run git for '%s'; is git installed?",
			      real);
	else if (n >= 0 && status != 0)
		n = log_error("git rev-list failed in '%s': %s", real,
			      *why ? why : "no reason given");
	/* Deletions alone still move the cursor. */
	if (imp->cursor_dirty && imp_txn(imp) < 0)
		return -1;
	if (imp_commit(imp) < 0)
		return -1;
	imp->cursor_dirty = 0;
	return n < 0 ? -1 : 0;
}

/* A v2 inbox: git/0.git, git/1.git ... beside msgmap.sqlite3. */
static int
epoch_number(const char *name, long *out)
{
	char *end;

	if (!isdigit((unsigned char)name[0]))
		return -1;
	errno = 0;
	*out = strtol(name, &end, 10);
	return errno || strcmp(end, ".git") ? -1 : 0;
}

static int
cmp_epochs(const struct dirent **a, const struct dirent **b)
{
	long x = 0, y = 0;

	epoch_number((*a)->d_name, &x);
	epoch_number((*b)->d_name, &y);
	return x < y ? -1 : x > y;
}

static int
is_epoch(const struct dirent *d)
{
	long n;

	return epoch_number(d->d_name, &n) == 0;
}

static int
import_v2(struct importer *imp, const char *top)
{
	char gitdir[PATH_MAX], repo[PATH_MAX];
	struct dirent **list;
	int n, r = 0;

	snprintf(gitdir, sizeof(gitdir), "%s/git", top);
	n = scandir(gitdir, &list, is_epoch, cmp_epochs);
	if (n < 0)
		return log_errno("cannot read '%s'", gitdir);
	for (int i = 0; i < n; i++) {
		if (r == 0 &&
		    (size_t)snprintf(repo, sizeof(repo), "%s/%s", gitdir,
				     list[i]->d_name) < sizeof(repo) &&
		    is_bare_git(repo))
			r = import_git(imp, repo);
		free(list[i]);
	}
	free(list);
	return r;
}

static int
is_v2_inbox(const char *dir)
{
	char p[PATH_MAX];

	return (size_t)snprintf(p, sizeof(p), "%s/git/0.git", dir) <
		   sizeof(p) &&
	       is_bare_git(p);
}

/* --- directory trees --------------------------------------------------- */

static int
cmp_names(const struct dirent **a, const struct dirent **b)
{
	return strcmp((*a)->d_name, (*b)->d_name);
}

static int
not_hidden(const struct dirent *d)
{
	return d->d_name[0] != '.';
}

static int import_dir(struct importer *imp, const char *dir, int depth);

static int
import_entry(struct importer *imp, const char *dir, const char *name,
	     int maildir, int depth)
{
	char path[PATH_MAX];
	struct stat st;

	if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, name) >=
	    sizeof(path)) {
		imp_reject(imp, dir, name, "path too long");
		return 0;
	}
	if (lstat(path, &st) < 0) {
		imp_reject(imp, path, NULL, strerror(errno));
		return 0;
	}
	if (S_ISLNK(st.st_mode)) {
		/* Files through links are read, directories are not. */
		if (stat(path, &st) < 0 || !S_ISREG(st.st_mode))
			return 0;
	}
	if (S_ISDIR(st.st_mode)) {
		/* Maildir's tmp/ holds deliveries still being written. */
		if (maildir && !strcmp(name, "tmp"))
			return 0;
		return import_dir(imp, path, depth + 1);
	}
	if (S_ISREG(st.st_mode))
		return import_file(imp, path);
	return 0;
}

static int
import_dir(struct importer *imp, const char *dir, int depth)
{
	struct dirent **list;
	int n, r = 0, maildir;

	if (is_bare_git(dir))
		return import_git(imp, dir);
	if (is_v2_inbox(dir))
		return import_v2(imp, dir);
	if (depth > IMPORT_MAX_DEPTH) {
		log_warn("not descending into '%s': too deep", dir);
		return 0;
	}
	n = scandir(dir, &list, not_hidden, cmp_names);
	if (n < 0) {
		imp_reject(imp, dir, NULL, strerror(errno));
		return 0;
	}
	maildir = sub_is(dir, "cur", 1) && sub_is(dir, "new", 1);
	for (int i = 0; i < n; i++) {
		if (r == 0 && !imp->failed)
			r = import_entry(imp, dir, list[i]->d_name, maildir,
					 depth);
		free(list[i]);
	}
	free(list);
	return imp->failed ? -1 : r;
}

int
import_path(struct store *store, const char *path,
	    const struct import_options *opt, struct import_stats *st)
{
	struct importer imp;
	struct stat sb;
	int r;

	memset(&imp, 0, sizeof(imp));
	imp.store = store;
	imp.st = st;
	imp.report = opt && opt->report ? opt->report : stderr;
	imp.progress = opt ? opt->progress : NULL;
	imp.batch = opt && opt->batch ? opt->batch : IMPORT_DEFAULT_BATCH;
	if (stat(path, &sb) < 0)
		return log_errno("cannot read '%s'", path);
	if (S_ISDIR(sb.st_mode))
		r = import_dir(&imp, path, 0);
	else if (S_ISREG(sb.st_mode))
		r = import_file(&imp, path);
	else
		return log_error("'%s' is neither a file nor a directory",
				 path);
	if (imp.txn) {
		if (r < 0 || imp.failed)
			store_abort(imp.txn);
		else if (imp_commit(&imp) < 0)
			r = -1;
		imp.txn = NULL;
	}
	return r < 0 || imp.failed ? -1 : 0;
}
