/*
 * cmd_store.c - `kvmarm-bot import`, `stats` and `show`: the operator's
 * hands on the store.
 *
 * import seeds the store from archives (see import.c) and prints one
 * summary line; stats and show open the store read-only, so they work
 * beside a running daemon.
 */
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "buf.h"
#include "cli.h"
#include "import.h"
#include "llm.h"
#include "log.h"
#include "lore.h"
#include "message.h"
#include "store.h"
#include "thread.h"

static const char *
need_state(struct cli *cli, const char *cmd)
{
	if (cli->state_dir && *cli->state_dir)
		return cli->state_dir;
	fprintf(stderr,
		"kvmarm-bot: %s: no state directory: pass --state DIR before "
		"the command (kvmarm-bot --state DIR %s ...) or set "
		"state_dir in the configuration file given with -c FILE\n",
		cmd, cmd);
	return NULL;
}

static void
iso_date(int64_t t, char *out, size_t outsz)
{
	struct tm tm;
	time_t tt = (time_t)t;

	if (t == 0) {
		snprintf(out, outsz, "none");
		return;
	}
	if ((int64_t)tt != t || !gmtime_r(&tt, &tm) ||
	    !strftime(out, outsz, "%Y-%m-%dT%H:%M:%SZ", &tm))
		snprintf(out, outsz, "@%" PRId64, t);
}

/* --- import ---------------------------------------------------------- */

static void
import_usage(FILE *out)
{
	fprintf(out,
		"usage: kvmarm-bot [--state DIR] import [--batch N] "
		"[--progress] PATH...\n"
		"\n"
		"Store the mail found at each PATH: a message file, an mbox\n"
		"(mboxo/mboxrd, may be gzip'd), a Maildir or directory tree,\n"
		"or a public-inbox v2 git repository (bare epoch repo or the\n"
		"inbox directory holding git/N.git); a repository is read\n"
		"from the commit after the last one imported.\n"
		"\n"
		"  --batch N    messages per transaction (default 1000)\n"
		"  --progress   print \"committed N\" on stderr after each\n"
		"               transaction commits\n"
		"\n"
		"Prints one line \"imported N, duplicates D, rejected R\";\n"
		"each rejected file or mail is reported on stderr.  Exits 1\n"
		"when a PATH cannot be read or the store fails.\n");
}

int
cmd_import(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
	    {"batch", required_argument, NULL, 'b'},
	    {"progress", no_argument, NULL, 'p'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	struct import_options opt = {.report = stderr};
	struct import_stats st = {0};
	struct store *store;
	const char *dir;
	int c, status = 0;

	while ((c = getopt_long(argc, argv, "b:ph", opts, NULL)) != -1) {
		char *end;
		long n;

		switch (c) {
		case 'b':
			errno = 0;
			n = strtol(optarg, &end, 10);
			if (errno || *end || end == optarg || n < 1 ||
			    n > 1000000) {
				fprintf(stderr,
					"kvmarm-bot: import: --batch "
					"wants a number from 1 to 1000000, "
					"not '%s'\n",
					optarg);
				return 2;
			}
			opt.batch = (unsigned)n;
			break;
		case 'p':
			opt.progress = stderr;
			break;
		case 'h':
			import_usage(stdout);
			return 0;
		default:
			import_usage(stderr);
			return 2;
		}
	}
	if (optind >= argc) {
		fprintf(stderr, "kvmarm-bot: import: no PATH given\n");
		import_usage(stderr);
		return 2;
	}
	if (!(dir = need_state(cli, "import")))
		return 2;
	if (store_open(dir, 0, &store) < 0)
		return 1;
	for (int i = optind; i < argc; i++) {
		if (import_path(store, argv[i], &opt, &st) < 0)
			status = 1;
	}
	store_close(store);
	printf("imported %" PRIu64 ", duplicates %" PRIu64 ", rejected %" PRIu64
	       "\n",
	       st.imported, st.duplicates, st.rejected);
	return status;
}

/* --- stats ----------------------------------------------------------- */

static void
stats_usage(FILE *out)
{
	fprintf(out,
		"usage: kvmarm-bot [--state DIR] stats\n"
		"\n"
		"Print what the store holds as \"key: value\" lines:\n"
		"messages, threads (as the threader groups the whole store,\n"
		"see docs/threading.md; \"unknown\" when the store needs\n"
		"'kvmarm-bot reindex'), first_date and last_date (ISO 8601\n"
		"UTC), store_bytes (size of data.mdb), state_dir, and the\n"
		"LLM usage so far: llm_requests, llm_prompt_tokens and\n"
		"llm_completion_tokens.  Opens the store read-only; safe\n"
		"beside a running daemon.\n");
}

int
cmd_stats(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	struct store_stats st;
	struct store_txn *txn;
	struct store *store;
	const char *dir;
	char first[48], last[48], threads_text[32] = "unknown";
	struct llm_usage llm_total = {0};
	long threads = -1, llm_requests = 0;
	int c, r;

	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		if (c == 'h') {
			stats_usage(stdout);
			return 0;
		}
		stats_usage(stderr);
		return 2;
	}
	if (optind < argc) {
		fprintf(stderr, "kvmarm-bot: stats: unexpected argument '%s'\n",
			argv[optind]);
		stats_usage(stderr);
		return 2;
	}
	if (!(dir = need_state(cli, "stats")))
		return 2;
	if (store_open(dir, 1, &store) < 0)
		return 1;
	if (store_begin(store, 0, &txn) < 0) {
		store_close(store);
		return 1;
	}
	r = store_stats(txn, &st);
	/* A store without thread index still shows the rest (exit 1). */
	if (r == 0 && (threads = thread_count_all(txn)) >= 0)
		snprintf(threads_text, sizeof(threads_text), "%ld", threads);
	if (r == 0)
		r = llm_usage_totals(txn, &llm_requests, &llm_total);
	store_abort(txn);
	store_close(store);
	if (r != 0)
		return 1;
	iso_date(st.first_date, first, sizeof(first));
	iso_date(st.last_date, last, sizeof(last));
	printf("messages: %" PRIu64 "\n", st.messages);
	printf("threads: %s\n", threads_text);
	printf("first_date: %s\n", first);
	printf("last_date: %s\n", last);
	printf("store_bytes: %" PRIu64 "\n", st.file_bytes);
	printf("state_dir: %s\n", dir);
	printf("llm_requests: %ld\n", llm_requests);
	printf("llm_prompt_tokens: %ld\n", llm_total.prompt_tokens);
	printf("llm_completion_tokens: %ld\n", llm_total.completion_tokens);
	return threads < 0 ? 1 : 0;
}

/* --- show ------------------------------------------------------------ */

static void
show_usage(FILE *out)
{
	fprintf(out,
		"usage: kvmarm-bot [--state DIR] show [--format text|json] "
		"[--raw] MESSAGE-ID\n"
		"\n"
		"Print the stored record of one mail.  MESSAGE-ID may be\n"
		"given with or without <>, or as a lore URL such as\n"
		"https://lore.kernel.org/kvmarm/ID/.\n"
		"\n"
		"  --format text  headers, tags and flags as \"key: value\"\n"
		"                 lines, then the body sections (default)\n"
		"  --format json  the record as JSON\n"
		"  --raw          the raw mail bytes as they were received\n"
		"\n"
		"Exits 1 when the mail is not in the store.\n");
}

/*
 * The message-id in what the operator typed: "<id>", "id", or a URL
 * whose path is /LIST/ID/... (lore, /r/ID and msgid.link forms), with
 * %XX escapes decoded.  malloc'd, or NULL when nothing usable.
 */
static char *
parse_id_arg(const char *arg)
{
	const char *p = arg, *end;
	char *id;
	size_t n = 0;

	while (isspace((unsigned char)*p))
		p++;
	if (!strncmp(p, "https://", 8) || !strncmp(p, "http://", 7)) {
		if (lore_url_id_span(p, &p, &end) < 0)
			return NULL;
	} else if (*p == '<') {
		p++;
		end = strchr(p, '>');
		if (!end)
			return NULL;
	} else {
		end = p + strlen(p);
		while (end > p && isspace((unsigned char)end[-1]))
			end--;
	}
	if (end <= p || (size_t)(end - p) > 3 * MESSAGE_MAX_ID)
		return NULL;
	id = malloc((size_t)(end - p) + 1);
	if (!id)
		return NULL;
	for (const char *s = p; s < end; s++) {
		if (*s == '%' && end - s >= 3 && lore_hexval(s[1]) >= 0 &&
		    lore_hexval(s[2]) >= 0) {
			id[n++] = (char)(lore_hexval(s[1]) << 4 |
					   lore_hexval(s[2]));
			s += 2;
		} else {
			id[n++] = *s;
		}
	}
	id[n] = '\0';
	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)id[i];

		if (ch <= ' ' || ch == 0x7f || ch == '<' || ch == '>') {
			free(id);
			return NULL;
		}
	}
	if (n == 0 || n > MESSAGE_MAX_ID) {
		free(id);
		return NULL;
	}
	return id;
}

/* Print s without terminal control bytes; newlines only when multi. */
static void
put_clean(const char *s, int multi)
{
	for (; s && *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '\n' && multi)
			putchar('\n');
		else if (c == '\t')
			putchar('\t');
		else if (c < ' ' || c == 0x7f)
			putchar(multi ? '?' : ' ');
		else
			putchar(c);
	}
}

static void
field(const char *key, const char *val)
{
	printf("%s: ", key);
	put_clean(val, 0);
	putchar('\n');
}

static void
section(const char *name, const char *text)
{
	size_t len;

	if (!text || !*text)
		return;
	printf("\n--- %s ---\n", name);
	put_clean(text, 1);
	len = strlen(text);
	if (text[len - 1] != '\n')
		putchar('\n');
}

static void
show_text(const struct message *m)
{
	static const char *const flag_names[] = {
	    "synthetic-id",   "bad-date",	"no-from",
	    "body-truncated", "html-only",	"bad-charset",
	    "bad-mime",	      "refs-truncated", "nul-bytes",
	};
	const struct subject_tags *t = &m->tags;
	char date[48], project[sizeof(t->project) + 1];
	struct buf line;

	field("message-id", m->message_id);
	if (*m->in_reply_to)
		field("in-reply-to", m->in_reply_to);
	for (size_t i = 0; i < m->n_references; i++)
		field("references", m->references[i]);
	buf_init(&line, 0);
	if (*m->from_name)
		buf_addf(&line, "%s <%s>", m->from_name, m->from_addr);
	else
		buf_adds(&line, m->from_addr);
	field("from", line.data);
	for (size_t i = 0; i < m->n_to; i++)
		field("to", m->to[i]);
	for (size_t i = 0; i < m->n_cc; i++)
		field("cc", m->cc[i]);
	iso_date(m->date, date, sizeof(date));
	field("date", date);
	field("subject", m->subject);
	field("subject-bare", m->subject_bare);

	buf_truncate(&line, 0);
	if (t->reply)
		buf_adds(&line, " reply");
	if (t->forward)
		buf_adds(&line, " forward");
	if (t->patch)
		buf_adds(&line, " patch");
	if (t->rfc)
		buf_adds(&line, " rfc");
	if (t->resend)
		buf_adds(&line, " resend");
	if (t->pull)
		buf_adds(&line, " pull");
	if (t->syzbot)
		buf_adds(&line, " syzbot");
	buf_addf(&line, " version=%d", t->version);
	if (t->index >= 0 || t->total >= 0)
		buf_addf(&line, " part=%d/%d", t->index, t->total);
	memcpy(project, t->project, sizeof(t->project));
	project[sizeof(t->project)] = '\0';
	if (*project)
		buf_addf(&line, " project=%s", project);
	field("tags", line.data + 1);

	if (*m->list_id)
		field("list-id", m->list_id);
	if (*m->auto_submitted)
		field("auto-submitted", m->auto_submitted);
	if (*m->precedence)
		field("precedence", m->precedence);
	if (*m->x_loop)
		field("x-loop", m->x_loop);
	for (size_t i = 0; i < m->n_files; i++)
		field("file", m->files[i]);
	for (size_t i = 0; i < m->n_trailers; i++) {
		buf_truncate(&line, 0);
		buf_addf(&line, "%s: %s", m->trailers[i].key,
			 m->trailers[i].value);
		field("trailer", line.data);
	}
	buf_truncate(&line, 0);
	for (size_t i = 0; i < sizeof(flag_names) / sizeof(*flag_names); i++)
		if (m->flags & (1u << i))
			buf_addf(&line, " %s", flag_names[i]);
	field("flags", line.len ? line.data + 1 : "none");
	printf("raw-size: %" PRIu64 "\n", m->raw_size);
	buf_release(&line);

	section("prose", m->prose);
	section("quoted", m->quoted);
	section("diffstat", m->diffstat);
	section("patch", m->patch);
	section("signature", m->signature);
	if (!*m->prose && !*m->quoted && !*m->diffstat && !*m->patch &&
	    !*m->signature)
		section("body", m->body);
}

int
cmd_show(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
	    {"format", required_argument, NULL, 'f'},
	    {"raw", no_argument, NULL, 'r'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	int c, json = 0, raw = 0, r, status = 1;
	struct store_txn *txn;
	struct store *store;
	struct message m;
	const char *dir;
	char *id;

	while ((c = getopt_long(argc, argv, "f:rh", opts, NULL)) != -1) {
		switch (c) {
		case 'f':
			if (!strcmp(optarg, "json")) {
				json = 1;
			} else if (!strcmp(optarg, "text")) {
				json = 0;
			} else {
				fprintf(stderr,
					"kvmarm-bot: show: --format "
					"is text or json, not '%s'\n",
					optarg);
				return 2;
			}
			break;
		case 'r':
			raw = 1;
			break;
		case 'h':
			show_usage(stdout);
			return 0;
		default:
			show_usage(stderr);
			return 2;
		}
	}
	if (argc - optind != 1) {
		fprintf(stderr, "kvmarm-bot: show: %s\n",
			optind < argc ? "one MESSAGE-ID only"
				      : "no MESSAGE-ID given");
		show_usage(stderr);
		return 2;
	}
	id = parse_id_arg(argv[optind]);
	if (!id) {
		fprintf(stderr,
			"kvmarm-bot: show: '%s' is not a message-id "
			"or lore URL\n",
			argv[optind]);
		return 2;
	}
	if (!(dir = need_state(cli, "show"))) {
		free(id);
		return 2;
	}
	if (store_open(dir, 1, &store) < 0) {
		free(id);
		return 1;
	}
	if (store_begin(store, 0, &txn) < 0)
		goto out;
	if (raw) {
		const char *bytes;
		size_t len;

		r = store_get_raw(txn, id, &bytes, &len);
		if (r == 0 && fwrite(bytes, 1, len, stdout) == len)
			status = 0;
	} else {
		r = store_get_message(txn, id, &m);
		if (r == 0) {
			char *text = json ? message_to_json(&m, 1) : NULL;

			if (json && text)
				printf("%s\n", text);
			else if (!json)
				show_text(&m);
			status = json && !text ? 1 : 0;
			free(text);
			message_release(&m);
		}
	}
	if (r == 1)
		log_error("no message '%s' in '%s'", id, dir);
	store_abort(txn);
out:
	store_close(store);
	free(id);
	if (fflush(stdout) != 0)
		status = 1;
	return status;
}
