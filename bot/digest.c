/*
 * digest.c - the digest's model: which threads had mail in the window,
 * what they are, where they stand and what they say.
 *
 * This is the first half of the "speak" stage.  digest_build() asks the
 * threader for the window's threads (thread_window() partitions the
 * window's mails, each thread carrying its whole stored history), then
 * per thread the classifier (category, review/applied/revert status)
 * and a summarizer (the pluggable one, else the offline one), and sorts
 * the result into the order every format shows.  The renderers
 * (digest_render.c, digest_json.c) only read this model; nothing here
 * sends anything.
 *
 * Also here: the few helpers every renderer and the command share
 * (dates, lore links, time zone names).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "digest.h"
#include "log.h"
#include "strset.h"

/* --- dates ---------------------------------------------------------------- */

/* Days from 1970-01-01 to y-m-d (proleptic Gregorian), H. Hinnant's way. */
static int64_t
days_from_civil(int64_t y, int m, int d)
{
	int64_t era, yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

static int
days_in_month(int y, int m)
{
	static const int days[] = {31, 28, 31, 30, 31, 30,
				   31, 31, 30, 31, 30, 31};
	int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;

	return m == 2 && leap ? 29 : days[m - 1];
}

/* Exactly n decimal digits at *p into *v; advances *p.  0 or -1. */
static int
digits(const char **p, int n, int *v)
{
	int x = 0;

	for (int i = 0; i < n; i++) {
		char c = (*p)[i];

		if (c < '0' || c > '9')
			return -1;
		x = x * 10 + (c - '0');
	}
	*p += n;
	*v = x;
	return 0;
}

int
digest_parse_date(const char *text, int64_t *out)
{
	const char *p = text;
	int y, mo, d, h = 0, mi = 0, s = 0, oh = 0, om = 0, sign = 0;

	if (!p || digits(&p, 4, &y) < 0 || *p++ != '-' ||
	    digits(&p, 2, &mo) < 0 || *p++ != '-' || digits(&p, 2, &d) < 0)
		return -1;
	if (y < 1900 || mo < 1 || mo > 12 || d < 1 ||
	    d > days_in_month(y, mo))
		return -1;
	if (*p == 'T' || *p == 't' || *p == ' ') {
		p++;
		if (digits(&p, 2, &h) < 0 || *p++ != ':' ||
		    digits(&p, 2, &mi) < 0)
			return -1;
		if (*p == ':') {
			p++;
			if (digits(&p, 2, &s) < 0)
				return -1;
			if (*p == '.' || *p == ',') {
				p++;
				if (*p < '0' || *p > '9')
					return -1;
				while (*p >= '0' && *p <= '9')
					p++;
			}
		}
		if (h > 23 || mi > 59 || s > 59)
			return -1;
		if (*p == 'Z' || *p == 'z') {
			p++;
		} else if (*p == '+' || *p == '-') {
			sign = *p++ == '-' ? -1 : 1;
			if (digits(&p, 2, &oh) < 0)
				return -1;
			if (*p == ':')
				p++;
			if (*p >= '0' && *p <= '9' && digits(&p, 2, &om) < 0)
				return -1;
			if (oh > 23 || om > 59)
				return -1;
		}
	}
	if (*p)
		return -1;
	*out = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + s -
	       sign * (oh * 3600 + om * 60);
	return 0;
}

void
digest_iso8601(int64_t t, char *out, size_t outsz)
{
	struct tm tm;
	time_t tt = (time_t)t;

	if ((int64_t)tt != t || !gmtime_r(&tt, &tm) ||
	    !strftime(out, outsz, "%Y-%m-%dT%H:%M:%SZ", &tm))
		snprintf(out, outsz, "1970-01-01T00:00:00Z");
}

/* --- small shared helpers ------------------------------------------------- */

int
digest_lore_url(struct buf *out, const char *list_name,
		const char *message_id)
{
	/* public-inbox's mid_escape(): unreserved, sub-delims, ':' '@'. */
	static const char safe[] = "-._~!$&'()*+,;=:@";
	static const char hex[] = "0123456789ABCDEF";
	int r = buf_addf(out, "https://lore.kernel.org/%s/", list_name);

	for (const unsigned char *p = (const unsigned char *)message_id;
	     r == 0 && *p; p++) {
		if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		    (*p >= '0' && *p <= '9') || strchr(safe, *p))
			r = buf_addc(out, (char)*p);
		else
			r = buf_addf(out, "%%%c%c", hex[*p >> 4],
				     hex[*p & 15]);
	}
	return r == 0 ? buf_addc(out, '/') : -1;
}

int
digest_on_lore(const char *message_id)
{
	static const char synthetic[] = "@kvmarm-bot.invalid";
	size_t n = message_id ? strlen(message_id) : 0;

	if (n == 0)
		return 0;
	return n < sizeof(synthetic) - 1 ||
	       strcmp(message_id + n - (sizeof(synthetic) - 1), synthetic);
}

int
digest_timezone_valid(const char *name)
{
	const char *dir = getenv("TZDIR");
	char path[PATH_MAX], magic[4];
	size_t i;
	int fd, ok;

	if (!name)
		return 0;
	if (!strcmp(name, "UTC"))
		return 1;
	for (i = 0; name[i]; i++)
		if (!((name[i] >= 'a' && name[i] <= 'z') ||
		      (name[i] >= 'A' && name[i] <= 'Z') ||
		      (name[i] >= '0' && name[i] <= '9') ||
		      strchr("/_+-", name[i])))
			return 0;
	/* No "..": '.' is not allowed at all. */
	if (i == 0 || name[0] == '/' || name[i - 1] == '/' ||
	    strstr(name, "//"))
		return 0;
	if (!dir || !*dir)
		dir = "/usr/share/zoneinfo";
	if (snprintf(path, sizeof(path), "%s/%s", dir, name) >=
	    (int)sizeof(path))
		return 0;
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0)
		return 0;
	ok = read(fd, magic, sizeof(magic)) == (ssize_t)sizeof(magic) &&
	     !memcmp(magic, "TZif", 4);
	close(fd);
	return ok;
}

/* --- the model ------------------------------------------------------------ */

static void
digest_thread_release(struct digest_thread *dt)
{
	thread_release(&dt->thread);
	thread_status_release(&dt->status);
	free(dt->window);
	free(dt->summary);
	memset(dt, 0, sizeof(*dt));
}

void
digest_release(struct digest *d)
{
	if (!d)
		return;
	for (size_t i = 0; i < d->n_threads; i++)
		digest_thread_release(&d->threads[i]);
	free(d->threads);
	free(d->lang);
	free(d->list_name);
	free(d->timezone);
	memset(d, 0, sizeof(*d));
}

/* Mails of the window in true time order; equal dates by message-id. */
static int
cmp_window(const void *a, const void *b, void *msgs)
{
	const struct thread_msg *x = (const struct thread_msg *)msgs +
				     *(const size_t *)a;
	const struct thread_msg *y = (const struct thread_msg *)msgs +
				     *(const size_t *)b;

	if (x->date != y->date)
		return x->date < y->date ? -1 : 1;
	return strcmp(x->id, y->id);
}

/*
 * The per-thread figures that need no mail body: window indexes, the
 * title mail, the start date and the participants.
 */
static int
thread_figures(struct digest_thread *dt, int64_t since, int64_t until)
{
	const struct thread *t = &dt->thread;
	struct strset senders = STRSET_INIT;
	size_t n = 0;

	dt->window = malloc((t->n_msgs ? t->n_msgs : 1) * sizeof(size_t));
	if (!dt->window)
		return log_error("out of memory");
	dt->title = 0;
	dt->started = 0;
	for (size_t i = 0; i < t->n_msgs; i++) {
		const struct thread_msg *m = &t->msgs[i];
		const char *who = *m->from_addr ? m->from_addr : m->from_name;

		if (m->date >= since && m->date < until)
			dt->window[n++] = i;
		if (m->date != 0 && (dt->started == 0 || m->date < dt->started))
			dt->started = m->date;
		if (t->root_id && !strcmp(m->id, t->root_id))
			dt->title = i;
		if (*who && strset_add(&senders, who, strlen(who)) < 0) {
			strset_release(&senders);
			return log_error("out of memory");
		}
	}
	dt->n_window = n;
	dt->n_participants = senders.n;
	strset_release(&senders);
	qsort_r(dt->window, n, sizeof(size_t), cmp_window, t->msgs);
	return 0;
}

/* Category order, then mails in the window (more first), then age. */
static int
cmp_thread(const void *a, const void *b)
{
	const struct digest_thread *x = a, *y = b;

	if (x->category != y->category)
		return x->category < y->category ? -1 : 1;
	if (x->n_window != y->n_window)
		return x->n_window > y->n_window ? -1 : 1;
	if (x->started != y->started)
		return x->started < y->started ? -1 : 1;
	return strcmp(x->thread.root_id ? x->thread.root_id : "",
		      y->thread.root_id ? y->thread.root_id : "");
}

static int
summarize(struct store_txn *txn, const struct digest_options *opt,
	  struct digest_thread *dt)
{
	struct summary_input in = {
	    .thread = &dt->thread,
	    .category = dt->category,
	    .status = &dt->status,
	    .since = opt->since,
	    .until = opt->until,
	    .lang = opt->lang,
	    .list_name = opt->list_name,
	};
	int offline = 0;

	if (opt->summarize) {
		if (opt->summarize(opt->summarize_ctx, txn, &in, &dt->summary,
				   &offline) == 0 && dt->summary) {
			dt->summary_offline = offline ? 1 : 0;
			return 0;
		}
		free(dt->summary);
		dt->summary = NULL;
		log_warn("summarizer failed on thread '%s'; using the "
			 "offline summary",
			 dt->thread.root_id ? dt->thread.root_id : "?");
	}
	if (summary_offline(txn, &in, &dt->summary) < 0 || !dt->summary)
		return log_error("cannot summarize thread '%s'",
				 dt->thread.root_id ? dt->thread.root_id : "?");
	dt->summary_offline = 1;
	return 0;
}

static char *
dup_or(const char *s, const char *dflt)
{
	return strdup(s && *s ? s : dflt);
}

int
digest_build(struct store_txn *txn, const struct digest_options *opt,
	     struct digest *out)
{
	struct thread *threads = NULL;
	size_t n = 0, kept = 0;

	memset(out, 0, sizeof(*out));
	if (opt->since >= opt->until)
		return log_error("empty digest window");
	if (opt->lang && strcmp(opt->lang, "en") && strcmp(opt->lang, "zh"))
		return log_error("digest language '%s' is neither en nor zh",
				 opt->lang);
	if (opt->timezone && *opt->timezone &&
	    !digest_timezone_valid(opt->timezone))
		return log_error("unknown time zone '%s'", opt->timezone);
	out->since = opt->since;
	out->until = opt->until;
	out->generated = opt->now;
	out->lang = dup_or(opt->lang, "en");
	out->list_name = dup_or(opt->list_name, "kvmarm");
	out->timezone = dup_or(opt->timezone, "UTC");
	if (!out->lang || !out->list_name || !out->timezone) {
		digest_release(out);
		return log_error("out of memory");
	}
	if (thread_window(txn, opt->since, opt->until, &threads, &n) < 0) {
		digest_release(out);
		return -1;
	}
	out->threads = calloc(n ? n : 1, sizeof(*out->threads));
	if (!out->threads) {
		thread_free_array(threads, n);
		digest_release(out);
		return log_error("out of memory");
	}
	/* The digest owns each thread from here on; only the array goes. */
	for (size_t i = 0; i < n; i++)
		out->threads[i].thread = threads[i];
	free(threads);
	out->n_threads = n;

	for (size_t i = 0; i < n; i++) {
		struct digest_thread *dt = &out->threads[i];

		if (thread_figures(dt, opt->since, opt->until) < 0)
			goto fail;
		if (dt->n_window == 0) {
			/* Not the window's thread after all: leave it out. */
			digest_thread_release(dt);
			continue;
		}
		dt->category = classify_thread(&dt->thread);
		if ((unsigned)dt->category >= CATEGORY_COUNT)
			dt->category = CATEGORY_OTHER;
		if (classify_status(txn, &dt->thread, &dt->status) < 0) {
			/* It left nothing to release. */
			memset(&dt->status, 0, sizeof(dt->status));
			goto fail;
		}
		if (summarize(txn, opt, dt) < 0)
			goto fail;
		if (kept != i) {
			out->threads[kept] = *dt;
			memset(dt, 0, sizeof(*dt));
		}
		kept++;
	}
	out->n_threads = kept;
	qsort(out->threads, kept, sizeof(*out->threads), cmp_thread);
	for (size_t i = 0; i < kept; i++) {
		const struct digest_thread *dt = &out->threads[i];

		out->mails += dt->n_window;
		out->large_threads += dt->n_window > 20;
		out->cat_threads[dt->category]++;
		out->cat_mails[dt->category] += dt->n_window;
	}
	return 0;
fail:
	digest_release(out);
	return -1;
}
