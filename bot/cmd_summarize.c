/*
 * cmd_summarize.c - `kvmarm-bot summarize`: one thread's summary, by the
 * code path the digest uses (the LLM when llm_url is set, with its
 * cache and checks; the offline summarizer otherwise or as fallback),
 * and the hidden `prompt-stats` the bench uses to compare our prompts
 * with naive ones.
 */
#include <ctype.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "buf.h"
#include "classify.h"
#include "cli.h"
#include "digest.h"
#include "llmsum.h"
#include "log.h"
#include "lore.h"
#include "message.h"
#include "prompt.h"
#include "store.h"
#include "summary.h"
#include "thread.h"

#define WEEK (7 * 86400)

static void
summarize_usage(FILE *out)
{
	fprintf(out,
		"usage: kvmarm-bot [-c CONFIG] [--state DIR] summarize "
		"MESSAGE-ID|LORE-URL\n"
		"           [--lang zh|en] [--since DATE] [--until DATE]\n"
		"\n"
		"Print the summary of the thread that holds the mail, in\n"
		"three paragraphs: the original patch or report, the earlier\n"
		"discussion, and the window's (\"this week's\") discussion.\n"
		"With llm_url configured the LLM writes it (cached in the\n"
		"state, checked against the mails; on failure the offline\n"
		"summary is printed and stderr says so); else the offline\n"
		"summarizer.\n"
		"\n"
		"  --lang LANG    en or zh (default: digest_lang, else en)\n"
		"  --since DATE   start of the window (inclusive)\n"
		"  --until DATE   end of the window (exclusive)\n"
		"                 neither: the 7 days up to the thread's\n"
		"                 newest mail; one alone: 7 days from or to it\n"
		"DATE is YYYY-MM-DD (UTC) or ISO 8601.  MESSAGE-ID may be\n"
		"given with or without <>, or as a lore URL such as\n"
		"https://lore.kernel.org/kvmarm/ID/.\n");
}

/* The id of "<id>", "id" or https://HOST/LIST/ID/ (%XX decoded). */
static char *
id_of_arg(const char *arg)
{
	const char *p = arg, *end;
	char *dec, *id;
	size_t n = 0;

	if (!strncmp(p, "https://", 8) || !strncmp(p, "http://", 7)) {
		if (lore_url_id_span(p, &p, &end) < 0)
			return NULL;
	} else {
		end = p + strlen(p);
	}
	if ((size_t)(end - p) > 3 * MESSAGE_MAX_ID)
		return NULL;
	dec = malloc((size_t)(end - p) + 3);
	if (!dec)
		return NULL;
	dec[n++] = '<';
	for (const char *s = p; s < end; s++) {
		if (*s == '%' && end - s >= 3 && lore_hexval(s[1]) >= 0 &&
		    lore_hexval(s[2]) >= 0) {
			dec[n++] = (char)(lore_hexval(s[1]) << 4 |
					   lore_hexval(s[2]));
			s += 2;
		} else if (*s != '<' && *s != '>') {
			dec[n++] = *s;
		}
	}
	dec[n++] = '>';
	dec[n] = '\0';
	id = message_id_normalise(dec);
	free(dec);
	return id;
}

static int __attribute__((format(printf, 2, 3)))
misuse(const char *cmd, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "kvmarm-bot: %s: ", cmd);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n(see kvmarm-bot %s --help)\n", cmd);
	return 2;
}

static int
need_state(struct cli *cli, const char *cmd)
{
	if (cli->state_dir && *cli->state_dir)
		return 0;
	fprintf(stderr,
		"kvmarm-bot: %s: no state directory: pass --state DIR "
		"before the command or set state_dir in the configuration "
		"file given with -c FILE\n",
		cmd);
	return -1;
}

int
cmd_summarize(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
	    {"lang", required_argument, NULL, 'l'},
	    {"since", required_argument, NULL, 's'},
	    {"until", required_argument, NULL, 'u'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	const char *lang = NULL, *since_s = NULL, *until_s = NULL;
	int llm_on = cli->cfg.llm_url && *cli->cfg.llm_url;
	struct summary_input in = {0};
	struct llmsum *ls = NULL;
	struct store_txn *txn = NULL;
	struct store *store = NULL;
	struct thread t = {0};
	int64_t newest = 0;
	char *id, *out = NULL;
	int c, r, offline = 1, writable = 0;

	/*
	 * main() scanned its options in "+" order; optind 0 makes glibc
	 * start afresh, so options may follow the MESSAGE-ID.
	 */
	optind = 0;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'l':
			lang = optarg;
			break;
		case 's':
			since_s = optarg;
			break;
		case 'u':
			until_s = optarg;
			break;
		case 'h':
			summarize_usage(stdout);
			return 0;
		default:
			summarize_usage(stderr);
			return 2;
		}
	}
	if (optind + 1 != argc)
		return misuse("summarize", "give exactly one MESSAGE-ID or "
					   "lore URL");
	if (!lang)
		lang = *cli->cfg.digest_lang ? cli->cfg.digest_lang : "en";
	if (strcmp(lang, "en") && strcmp(lang, "zh"))
		return misuse("summarize", "--lang is en or zh, not '%s'",
			      lang);
	if (since_s && digest_parse_date(since_s, &in.since) < 0)
		return misuse("summarize", "--since '%s' is not a date",
			      since_s);
	if (until_s && digest_parse_date(until_s, &in.until) < 0)
		return misuse("summarize", "--until '%s' is not a date",
			      until_s);
	id = id_of_arg(argv[optind]);
	if (!id)
		return misuse("summarize", "'%s' is not a message-id or lore "
					   "URL",
			      argv[optind]);
	if (need_state(cli, "summarize") < 0) {
		free(id);
		return 2;
	}
	/*
	 * The LLM's cache and usage are written to the state, which needs
	 * the writer lock; beside a running daemon the summary is still
	 * made, just not cached.
	 */
	if (llm_on && store_open(cli->state_dir, 0, &store) == 0)
		writable = 1;
	else if (store_open(cli->state_dir, 1, &store) < 0) {
		free(id);
		return 1;
	}
	if (store_begin(store, writable, &txn) < 0)
		goto fail;
	r = thread_collect(txn, id, &t);
	if (r == 1) {
		fprintf(stderr, "kvmarm-bot: summarize: <%s> is not in the "
				"store (import it first)\n",
			id);
		goto fail;
	}
	if (r < 0)
		goto fail;
	for (size_t i = 0; i < t.n_msgs; i++)
		if (t.msgs[i].date > newest)
			newest = t.msgs[i].date;
	if (!until_s)
		in.until = since_s ? in.since + WEEK : newest + 1;
	if (!since_s)
		in.since = in.until - WEEK;
	if (in.since >= in.until) {
		fprintf(stderr, "kvmarm-bot: summarize: the window is empty\n");
		goto fail;
	}
	in.thread = &t;
	in.category = classify_thread(&t);
	in.lang = lang;
	in.list_name = *cli->cfg.list_name ? cli->cfg.list_name : "kvmarm";
	if (llm_on &&
	    llmsum_from_config(&cli->cfg, cli->config_path, &ls) == 0) {
		r = llmsum_summarize(ls, txn, &in, &out, &offline);
	} else {
		if (llm_on)
			log_warn("the LLM client cannot be set up; offline "
				 "summary");
		r = summary_offline(txn, &in, &out);
		offline = 1;
	}
	if (r < 0 || !out)
		goto fail;
	if (writable && store_commit(txn) < 0) {
		txn = NULL;
		goto fail;
	} else if (!writable) {
		store_abort(txn);
	}
	txn = NULL;
	printf("%s\n", out);
	if (offline && llm_on)
		fprintf(stderr, "kvmarm-bot: summarize: this is the offline "
				"summary (the LLM's failed or was not used)\n");
	free(out);
	free(id);
	llmsum_free(ls);
	thread_release(&t);
	store_close(store);
	return fflush(stdout) == 0 ? 0 : 1;
fail:
	free(out);
	free(id);
	llmsum_free(ls);
	thread_release(&t);
	if (txn)
		store_abort(txn);
	store_close(store);
	return 1;
}

/* ---- prompt-stats (for scripts/bench) ------------------------------- */

int
cmd_prompt_stats(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
	    {"since", required_argument, NULL, 's'},
	    {"until", required_argument, NULL, 'u'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	int64_t since = 0, until = 0;
	size_t n = 0, ours = 0, naive = 0, dropped = 0, sent = 0, omitted = 0;
	struct store_txn *txn = NULL;
	struct store *store = NULL;
	struct thread *th = NULL;
	char *sys = NULL, *g = NULL;
	int c, have = 0;

	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 's':
			if (digest_parse_date(optarg, &since) < 0)
				return misuse("prompt-stats", "bad --since");
			have |= 1;
			break;
		case 'u':
			if (digest_parse_date(optarg, &until) < 0)
				return misuse("prompt-stats", "bad --until");
			have |= 2;
			break;
		case 'h':
			printf("usage: kvmarm-bot --state DIR prompt-stats "
			       "--since DATE --until DATE\n"
			       "Estimated prompt tokens (bytes/4) of the "
			       "window's threads: our prompts vs every mail "
			       "whole.\n");
			return 0;
		default:
			return 2;
		}
	}
	if (have != 3 || since >= until)
		return misuse("prompt-stats", "give --since and --until");
	if (need_state(cli, "prompt-stats") < 0)
		return 2;
	if (prompt_glossary_find(cli->config_path, &g) < 0 ||
	    prompt_system("en", g, &sys) < 0)
		goto fail;
	if (store_open(cli->state_dir, 1, &store) < 0 ||
	    store_begin(store, 0, &txn) < 0 ||
	    thread_window(txn, since, until, &th, &n) < 0)
		goto fail;
	for (size_t i = 0; i < n; i++) {
		struct prompt_input in = {0};
		struct prompt_stats st;
		struct buf raw;
		char *u;

		in.thread = &th[i];
		in.since = since;
		in.until = until;
		if (prompt_user(txn, &in, &u, &st) < 0)
			goto fail;
		ours += prompt_tokens(strlen(sys) + strlen(u));
		free(u);
		sent += st.mails_sent;
		omitted += st.mails_omitted;
		if (!st.mails_sent)
			dropped++;
		buf_init(&raw, 0);
		if (prompt_naive(txn, &th[i], until, &raw) < 0) {
			buf_release(&raw);
			goto fail;
		}
		naive += prompt_tokens(strlen(sys) + raw.len);
		buf_release(&raw);
	}
	printf("threads %zu\nmails_sent %zu\nmails_omitted %zu\n"
	       "threads_dropped %zu\nours_tokens %zu\nnaive_tokens %zu\n"
	       "ratio_percent %.1f\n",
	       n, sent, omitted, dropped, ours, naive,
	       naive ? 100.0 * (double)ours / (double)naive : 0.0);
	thread_free_array(th, n);
	store_abort(txn);
	store_close(store);
	free(sys);
	free(g);
	return 0;
fail:
	thread_free_array(th, n);
	if (txn)
		store_abort(txn);
	store_close(store);
	free(sys);
	free(g);
	return 1;
}
