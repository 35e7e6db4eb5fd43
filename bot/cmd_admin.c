/*
 * cmd_admin.c - `kvmarm-bot subscribers`, `pause` and `resume`: the
 * operator's small writes beside a running daemon.
 *
 * These commands open the store STORE_OPEN_SHARED: no writer lock, so
 * they work while `run` holds it, and each write is one short LMDB
 * transaction that LMDB serialises with the daemon's.  Listing and
 * --status only read.  The daemon sees a change at its next read: a
 * new subscriber with the next digest, resume within a minute (the
 * outbox looks again every 60 s while paused).
 */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "clock.h"
#include "log.h"
#include "store.h"
#include "subscriber.h"

#define PFX "kvmarm-bot: subscribers: "

static const char *
admin_state(struct cli *cli, const char *cmd)
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
ymd(int64_t t, char *out, size_t outsz)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if ((int64_t)tt != t || !gmtime_r(&tt, &tm) ||
	    !strftime(out, outsz, "%Y-%m-%d", &tm))
		snprintf(out, outsz, "@%" PRId64, t);
}

/*
 * The operator's argument echoed in a message: at most 80 bytes, and
 * nothing that could break the line (a pasted CR or escape sequence).
 */
static void
echo_arg(const char *arg, char *out, size_t outsz)
{
	size_t n = 0, max = outsz > 4 ? outsz - 4 : 0;

	for (; arg[n] && n < max && n < 80; n++) {
		unsigned char c = (unsigned char)arg[n];

		out[n] = c < 0x20 || c > 0x7e ? '?' : (char)c;
	}
	if (arg[n] && n + 3 < outsz) {
		memcpy(out + n, "...", 3);
		n += 3;
	}
	out[n] = '\0';
}

/* --- subscribers ------------------------------------------------------ */

static void
subscribers_usage(FILE *out)
{
	fprintf(out,
		"usage: kvmarm-bot [--state DIR] subscribers list\n"
		"       kvmarm-bot [--state DIR] subscribers add ADDRESS "
		"[--lang en|zh]\n"
		"       kvmarm-bot [--state DIR] subscribers remove ADDRESS\n"
		"\n"
		"Who receives the digest by subscription, and in which\n"
		"language.\n"
		"\n"
		"  list    one line per subscriber, \"ADDRESS LANG SINCE\"\n"
		"          (SINCE is the UTC date, YYYY-MM-DD), in address\n"
		"          order; opens the store read-only\n"
		"  add     subscribe ADDRESS (a bare local@domain, stored\n"
		"          lowercased) at once, without the confirmation a\n"
		"          subscription by mail needs; --lang en|zh (default:\n"
		"          digest_lang); for a subscriber already there it\n"
		"          changes the language and keeps the date\n"
		"  remove  unsubscribe ADDRESS\n"
		"\n"
		"add and remove work beside a running daemon.  Exits 1 when\n"
		"the store fails or remove finds no such subscriber, 2 on a\n"
		"bad address, language or usage.\n");
}

static int
print_one(const struct subscriber *s, void *ctx)
{
	char date[32];

	ymd(s->since, date, sizeof(date));
	printf("%s %s %s\n", s->addr, s->lang, date);
	(*(long *)ctx)++;
	return 0;
}

static int
subscribers_list(const char *dir)
{
	struct store_txn *txn;
	struct store *store;
	long n = 0;
	int r;

	if (store_open(dir, STORE_OPEN_READ, &store) < 0)
		return 1;
	if (store_begin(store, 0, &txn) < 0) {
		store_close(store);
		return 1;
	}
	r = subscriber_foreach(txn, print_one, &n);
	store_abort(txn);
	store_close(store);
	if (r != 0)
		return 1;
	if (n == 0)
		fprintf(stderr, PFX "no subscribers\n");
	return 0;
}

/* One short write transaction beside the daemon: add or remove. */
static int
subscribers_write(const char *dir, const char *addr, const char *lang)
{
	struct store_txn *txn;
	struct subscriber s;
	struct store *store;
	char date[32];
	int r;

	if (store_open(dir, STORE_OPEN_SHARED, &store) < 0)
		return 1;
	if (store_begin(store, 1, &txn) < 0) {
		store_close(store);
		return 1;
	}
	if (lang)
		r = subscriber_add(txn, addr, lang, clock_now());
	else
		r = subscriber_remove(txn, addr);
	if (r >= 0 && lang && subscriber_get(txn, addr, &s) != 0)
		r = -1;
	if (r < 0 || (r == 1 && !lang)) {
		store_abort(txn);
	} else if (store_commit(txn) < 0) {
		r = -1;
	}
	store_close(store);
	if (r < 0)
		return 1;
	if (!lang) {
		if (r == 1) {
			fprintf(stderr, PFX "'%s' is not subscribed\n", addr);
			return 1;
		}
		printf("removed %s\n", addr);
		return 0;
	}
	ymd(s.since, date, sizeof(date));
	printf("%s %s %s %s\n", r == 0 ? "added" : "updated", s.addr, s.lang,
	       date);
	return 0;
}

int
cmd_subscribers(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
	    {"lang", required_argument, NULL, 'l'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	const char *dir, *sub, *lang = NULL, *addr = NULL;
	char shown[96];
	int c;

	while ((c = getopt_long(argc, argv, "+h", opts, NULL)) != -1) {
		if (c == 'h') {
			subscribers_usage(stdout);
			return 0;
		}
		subscribers_usage(stderr);
		return 2;
	}
	if (optind >= argc) {
		fprintf(stderr, PFX "say list, add or remove\n");
		subscribers_usage(stderr);
		return 2;
	}
	sub = argv[optind];
	if (strcmp(sub, "list") && strcmp(sub, "add") &&
	    strcmp(sub, "remove")) {
		echo_arg(sub, shown, sizeof(shown));
		fprintf(stderr, PFX "unknown subcommand '%s'\n", shown);
		subscribers_usage(stderr);
		return 2;
	}
	/* The subcommand's own options may come before or after ADDRESS. */
	argc -= optind;
	argv += optind;
	/*
	 * 0, not 1: glibc then starts afresh and permutes, where main()'s
	 * "+" (stop at the first non-option) would otherwise stay.
	 */
	optind = 0;
	while ((c = getopt_long(argc, argv, "hl:", opts, NULL)) != -1) {
		switch (c) {
		case 'l':
			lang = optarg;
			break;
		case 'h':
			subscribers_usage(stdout);
			return 0;
		default:
			subscribers_usage(stderr);
			return 2;
		}
	}
	if (!strcmp(sub, "list")) {
		if (optind < argc || lang) {
			fprintf(stderr, PFX "list takes no arguments\n");
			return 2;
		}
	} else {
		if (optind >= argc) {
			fprintf(stderr, PFX "%s needs an ADDRESS\n", sub);
			return 2;
		}
		if (argc - optind > 1) {
			fprintf(stderr, PFX "one ADDRESS at a time\n");
			return 2;
		}
		addr = argv[optind];
		if (!subscriber_addr_valid(addr)) {
			echo_arg(addr, shown, sizeof(shown));
			fprintf(stderr,
				PFX "'%s' is not a usable address: give a "
				    "bare local@domain of printable ASCII, at "
				    "most %d bytes, without blanks, <>, "
				    "commas, quotes or backslashes\n",
				shown, SUBSCRIBER_MAX_ADDR);
			return 2;
		}
		if (!strcmp(sub, "remove") && lang) {
			fprintf(stderr, PFX "remove takes no --lang\n");
			return 2;
		}
		if (!strcmp(sub, "add") && !lang)
			lang = cli->cfg.digest_lang && *cli->cfg.digest_lang
				   ? cli->cfg.digest_lang
				   : "en";
		if (lang && strcmp(lang, "en") && strcmp(lang, "zh")) {
			echo_arg(lang, shown, sizeof(shown));
			fprintf(stderr,
				PFX "--lang must be en or zh, not '%s'\n",
				shown);
			return 2;
		}
	}
	if (!(dir = admin_state(cli, "subscribers")))
		return 2;
	if (!strcmp(sub, "list"))
		return subscribers_list(dir);
	return subscribers_write(dir, addr, lang);
}

/* --- pause / resume --------------------------------------------------- */

static void
pause_usage(FILE *out)
{
	fprintf(
	    out,
	    "usage: kvmarm-bot [--state DIR] pause [--status]\n"
	    "       kvmarm-bot [--state DIR] resume\n"
	    "\n"
	    "pause stops all outgoing mail at once: the outbox keeps\n"
	    "queueing (digests, answers) but sends nothing until resume.\n"
	    "Both work beside a running daemon, which picks up resume\n"
	    "within a minute.  Each prints the state afterwards, \"paused\"\n"
	    "or \"not paused\"; pause --status only prints it (read-only).\n");
}

static int
pause_set(struct cli *cli, const char *cmd, int paused)
{
	struct store_txn *txn;
	struct store *store;
	const char *dir;
	int r;

	if (!(dir = admin_state(cli, cmd)))
		return 2;
	if (store_open(dir, paused < 0 ? STORE_OPEN_READ : STORE_OPEN_SHARED,
		       &store) < 0)
		return 1;
	if (store_begin(store, paused >= 0, &txn) < 0) {
		store_close(store);
		return 1;
	}
	if (paused >= 0 && store_set_paused(txn, paused) < 0) {
		store_abort(txn);
		store_close(store);
		return 1;
	}
	r = store_paused(txn);
	if (paused < 0)
		store_abort(txn);
	else if (r >= 0 && store_commit(txn) < 0)
		r = -1;
	else if (r < 0)
		store_abort(txn);
	store_close(store);
	if (r < 0)
		return 1;
	printf("%s\n", r ? "paused" : "not paused");
	return 0;
}

int
cmd_pause(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
	    {"status", no_argument, NULL, 's'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	int c, status = 0;

	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 's':
			status = 1;
			break;
		case 'h':
			pause_usage(stdout);
			return 0;
		default:
			pause_usage(stderr);
			return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "kvmarm-bot: pause: unexpected argument\n");
		pause_usage(stderr);
		return 2;
	}
	return pause_set(cli, "pause", status ? -1 : 1);
}

int
cmd_resume(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	int c;

	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		if (c == 'h') {
			pause_usage(stdout);
			return 0;
		}
		pause_usage(stderr);
		return 2;
	}
	if (optind < argc) {
		fprintf(stderr, "kvmarm-bot: resume: unexpected argument\n");
		pause_usage(stderr);
		return 2;
	}
	return pause_set(cli, "resume", 0);
}
