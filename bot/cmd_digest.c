/*
 * cmd_digest.c - `kvmarm-bot digest`: compose the digest of a window and
 * print it (or write it to a file), or with --send queue it in the
 * outbox and send it.
 *
 * Without --send the store is opened read-only, so the command runs
 * beside the daemon.  --send writes the outbox, so it takes the store's
 * writer lock and refuses to run while `kvmarm-bot run` holds it.
 * The window is [since, until) in UTC; see digest_usage() and
 * docs/digest.md for the defaults.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <libgen.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "cli.h"
#include "clock.h"
#include "digest.h"
#include "llmsum.h"
#include "log.h"
#include "mailer.h"
#include "outbox.h"
#include "schedule.h"
#include "store.h"

#define WEEK (7 * 86400)

static void
digest_usage(FILE *out)
{
	fprintf(out,
		"usage: kvmarm-bot [-c CONFIG] [--state DIR] digest "
		"[--since DATE] [--until DATE]\n"
		"           [--format markdown|text|json] [--lang zh|en] "
		"[--timezone ZONE]\n"
		"           [--out FILE] [--now DATE]\n"
		"       kvmarm-bot -c CONFIG digest --send [--since DATE] "
		"[--until DATE]\n"
		"           [--lang zh|en] [--now DATE]\n"
		"\n"
		"Compose the digest of the mail dated in [--since, --until)\n"
		"and print it; nothing is sent.  With --send, queue it in the\n"
		"outbox (once per window: a second --send of the same window\n"
		"only retries what is queued) and send it as plain text to\n"
		"digest_recipients through smtp_url.  DATE is YYYY-MM-DD (midnight\n"
		"UTC) or ISO 8601 (2025-09-08T09:00, 2025-09-08T09:00:00+02:00,\n"
		"...Z); dates are compared in UTC.\n"
		"\n"
		"  --since DATE     first instant of the window (inclusive)\n"
		"  --until DATE     end of the window (exclusive)\n"
		"                   neither: the 7 days ending now; --since\n"
		"                   alone: from DATE until now; --until alone:\n"
		"                   the 7 days before DATE\n"
		"  --format FMT     markdown (default), text (plain, at most\n"
		"                   80 columns) or json (docs/digest-json.md)\n"
		"  --lang LANG      en or zh (default: digest_lang, else en)\n"
		"  --timezone ZONE  IANA zone for the times shown (default:\n"
		"                   digest_timezone, else UTC)\n"
		"  --out FILE       write to FILE (atomically) instead of\n"
		"                   standard output\n"
		"  --now DATE       the generation time (default: the clock,\n"
		"                   or $KVMARM_NOW)\n"
		"  --send           queue and send (needs -c CONFIG with smtp_url,\n"
		"                   bot_address and digest_recipients); with\n"
		"                   neither --since nor --until and a\n"
		"                   digest_schedule, the window is the week\n"
		"                   before the last scheduled time, the one\n"
		"                   `run` sends (docs/outbox.md)\n"
		"\n"
		"Without --send the store is opened read-only.  Exit status:\n"
		"0 done (sent, or sent before), 1 failed (a mail that could not\n"
		"be sent yet stays queued), 2 wrong usage.\n");
}

static int __attribute__((format(printf, 1, 2)))
misuse(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "kvmarm-bot: digest: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n(see kvmarm-bot digest --help)\n");
	return 2;
}

/*
 * Write data to path the crash-safe way: a temporary file in the same
 * directory, fsync, close, rename over path, fsync the directory.
 */
static int
write_atomic(const char *path, const char *data, size_t len)
{
	size_t plen = strlen(path);
	char *tmp = malloc(plen + 8), *dcopy = NULL;
	mode_t mask;
	int fd, dfd;

	if (!tmp)
		return log_error("out of memory");
	memcpy(tmp, path, plen);
	memcpy(tmp + plen, ".XXXXXX", 8);
	fd = mkstemp(tmp);
	if (fd < 0) {
		log_errno("cannot create a temporary file beside '%s'", path);
		free(tmp);
		return -1;
	}
	mask = umask(0);
	umask(mask);
	if (fchmod(fd, 0666 & ~mask) < 0) {
		log_errno("cannot set the mode of '%s'", tmp);
		goto fail;
	}
	for (size_t off = 0; off < len;) {
		ssize_t n = write(fd, data + off, len - off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			log_errno("cannot write '%s'", tmp);
			goto fail;
		}
		off += (size_t)n;
	}
	if (fsync(fd) < 0) {
		log_errno("cannot fsync '%s'", tmp);
		goto fail;
	}
	if (close(fd) < 0) {
		fd = -1;
		log_errno("cannot close '%s'", tmp);
		goto fail;
	}
	fd = -1;
	if (rename(tmp, path) < 0) {
		log_errno("cannot rename '%s' to '%s'", tmp, path);
		goto fail;
	}
	dcopy = strdup(path);
	dfd = dcopy ? open(dirname(dcopy), O_RDONLY | O_DIRECTORY | O_CLOEXEC)
		    : -1;
	if (dfd < 0 || fsync(dfd) < 0) {
		log_errno("cannot fsync the directory of '%s'", path);
		if (dfd >= 0)
			close(dfd);
		free(dcopy);
		free(tmp);
		return -1;
	}
	close(dfd);
	free(dcopy);
	free(tmp);
	return 0;
fail:
	if (fd >= 0)
		close(fd);
	unlink(tmp);
	free(tmp);
	return -1;
}

/*
 * --send: queue the window's digest (once per window) and flush the
 * outbox.  Exit 0 when the digest is sent (now or before), 1 when it is
 * still queued or failed.
 */
static int
send_digest(struct cli *cli, const struct digest_options *opt,
	    const char *lang, int print_opts)
{
	const struct config *cfg = &cli->cfg;
	struct outbox_item it = {0};
	struct store_txn *txn;
	struct store *store;
	char key[MAILER_KEY_MAX], *id = NULL;
	int r;

	if (print_opts)
		return misuse("--send sends plain text in digest_timezone; "
			      "--format, --timezone and --out do not apply");
	if (!cli->config_path || !*cfg->smtp_url || !*cfg->bot_address)
		return misuse("--send needs -c CONFIG with smtp_url and "
			      "bot_address (and digest_recipients or "
			      "subscribers)");
	if (store_open(cli->state_dir, 0, &store) < 0)
		return 1;
	r = mailer_queue_digest(store, cfg, opt->since, opt->until, opt->now,
				lang);
	if (r >= 0 && outbox_flush(store, cfg, clock_now(), NULL) < 0)
		r = -1;
	mailer_window_key(key, sizeof(key), "digest", opt->since, opt->until);
	if (r >= 0 && store_begin(store, 0, &txn) == 0) {
		/* held for the moderators: what went out is the draft */
		const char *what = "digest";

		if (strcmp(cfg->moderation, "none") &&
		    outbox_find_key(txn, key, &id) == 1) {
			mailer_window_key(key, sizeof(key), "hold", opt->since,
					  opt->until);
			what = "draft";
			printf("digest held for moderation; ");
		}
		if (outbox_find_key(txn, key, &id) == 0 &&
		    outbox_get(txn, id, &it) == 0) {
			if (it.state == OUTBOX_SENT) {
				printf("%s <%s> sent%s\n", what, id,
				       r == 1 ? " (queued before)" : "");
				r = 0;
			} else {
				fprintf(stderr, "kvmarm-bot: digest <%s> %s\n",
					id, it.state == OUTBOX_FAILED
						? "failed permanently (kept "
						  "in the outbox)"
						: "not sent yet: it stays "
						  "queued and is retried by "
						  "`run` or the next --send");
				r = -1;
			}
			outbox_item_release(&it);
		} else {
			r = -1;
		}
		store_abort(txn);
	} else {
		r = -1;
	}
	free(id);
	store_close(store);
	return r == 0 ? 0 : 1;
}

int
cmd_digest(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
	    {"since", required_argument, NULL, 's'},
	    {"until", required_argument, NULL, 'u'},
	    {"format", required_argument, NULL, 'f'},
	    {"lang", required_argument, NULL, 'l'},
	    {"timezone", required_argument, NULL, 'z'},
	    {"out", required_argument, NULL, 'o'},
	    {"now", required_argument, NULL, 'n'},
	    {"send", no_argument, NULL, 'S'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	const char *since_s = NULL, *until_s = NULL, *now_s = NULL;
	const char *out_path = NULL, *lang = NULL, *zone = NULL;
	struct digest_options opt = {0};
	enum digest_format fmt = DIGEST_MARKDOWN;
	struct store_txn *txn;
	struct store *store;
	struct digest d;
	struct buf text;
	struct llmsum *ls = NULL;
	int writable = 0;
	int c, r, send = 0, fmt_set = 0;

	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 's':
			since_s = optarg;
			break;
		case 'u':
			until_s = optarg;
			break;
		case 'n':
			now_s = optarg;
			break;
		case 'o':
			out_path = optarg;
			break;
		case 'S':
			send = 1;
			break;
		case 'l':
			lang = optarg;
			break;
		case 'z':
			zone = optarg;
			break;
		case 'f':
			fmt_set = 1;
			if (!strcmp(optarg, "markdown") ||
			    !strcmp(optarg, "md"))
				fmt = DIGEST_MARKDOWN;
			else if (!strcmp(optarg, "text"))
				fmt = DIGEST_TEXT;
			else if (!strcmp(optarg, "json"))
				fmt = DIGEST_JSON;
			else
				return misuse("--format is markdown, text or "
					      "json, not '%s'",
					      optarg);
			break;
		case 'h':
			digest_usage(stdout);
			return 0;
		default:
			digest_usage(stderr);
			return 2;
		}
	}
	if (optind < argc)
		return misuse("unexpected argument '%s'", argv[optind]);

	if (now_s) {
		if (digest_parse_date(now_s, &opt.now) < 0)
			return misuse("--now '%s' is not a date (YYYY-MM-DD "
				      "or ISO 8601)",
				      now_s);
	} else {
		opt.now = clock_now();
	}
	if (since_s && digest_parse_date(since_s, &opt.since) < 0)
		return misuse("--since '%s' is not a date (YYYY-MM-DD or "
			      "ISO 8601)",
			      since_s);
	if (until_s && digest_parse_date(until_s, &opt.until) < 0)
		return misuse("--until '%s' is not a date (YYYY-MM-DD or "
			      "ISO 8601)",
			      until_s);
	if (send && !since_s && !until_s) {
		int64_t due;

		r = schedule_due(&cli->cfg, opt.now, &due, NULL);
		if (r < 0)
			return 1;
		if (r == 0) {
			opt.since = due - SCHEDULE_WINDOW;
			opt.until = due;
			since_s = until_s = "schedule";
		}
	}
	if (!until_s)
		opt.until = opt.now;
	if (!since_s)
		opt.since = opt.until - WEEK;
	if (opt.since >= opt.until)
		return misuse("the window is empty: --since must be before "
			      "--until%s",
			      until_s ? "" : " (which defaults to now)");

	opt.lang = lang ? lang : cli->cfg.digest_lang;
	if (!opt.lang || !*opt.lang)
		opt.lang = "en";
	if (strcmp(opt.lang, "en") && strcmp(opt.lang, "zh"))
		return misuse("--lang is en or zh, not '%s'", opt.lang);
	opt.timezone = zone ? zone : cli->cfg.digest_timezone;
	if (!opt.timezone || !*opt.timezone)
		opt.timezone = "UTC";
	if (!digest_timezone_valid(opt.timezone))
		return misuse("'%s' is not a known time zone (UTC or an IANA "
			      "name such as Europe/London)",
			      opt.timezone);
	opt.list_name = cli->cfg.list_name && *cli->cfg.list_name
			    ? cli->cfg.list_name
			    : "kvmarm";

	if (!cli->state_dir || !*cli->state_dir) {
		fprintf(stderr,
			"kvmarm-bot: digest: no state directory: pass --state "
			"DIR before the command (kvmarm-bot --state DIR "
			"digest ...) or set state_dir in the configuration "
			"file given with -c FILE\n");
		return 2;
	}
	if (send)
		return send_digest(cli, &opt, lang, fmt_set || out_path || zone);
	/*
	 * With llm_url set the summaries come from the LLM (issue #5,
	 * docs/llm.md) and are cached in the state, which needs the
	 * writer lock; beside the daemon, which holds it, the digest is
	 * still made, just not cached.
	 */
	if (*cli->cfg.llm_url &&
	    llmsum_from_config(&cli->cfg, cli->config_path, &ls) == 0) {
		opt.summarize = llmsum_summarize;
		opt.summarize_ctx = ls;
		writable = store_open(cli->state_dir, 0, &store) == 0;
	}
	if (!writable && store_open(cli->state_dir, 1, &store) < 0) {
		llmsum_free(ls);
		return 1;
	}
	if (store_begin(store, writable, &txn) < 0) {
		store_close(store);
		llmsum_free(ls);
		return 1;
	}
	buf_init(&text, 0);
	r = digest_build(txn, &opt, &d);
	if (r == 0) {
		r = digest_render(&d, fmt, &text);
		digest_release(&d);
	}
	if (writable && r == 0)
		store_commit(txn);	/* a failure only loses the cache */
	else
		store_abort(txn);
	store_close(store);
	if (ls) {
		const struct llmsum_stats *ls_st = llmsum_get_stats(ls);

		log_info("llm: %ld requests, %ld cached, %ld offline "
			 "summaries, %ld tokens",
			 ls_st->requests, ls_st->cached, ls_st->offline,
			 ls_st->tokens);
		llmsum_free(ls);
	}
	if (r == 0 && out_path) {
		r = write_atomic(out_path, text.data, text.len);
	} else if (r == 0) {
		if (fwrite(text.data, 1, text.len, stdout) != text.len ||
		    fflush(stdout) != 0)
			r = log_errno("cannot write the digest");
	}
	buf_release(&text);
	return r == 0 ? 0 : 1;
}
