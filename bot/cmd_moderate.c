/*
 * cmd_moderate.c - `kvmarm-bot moderate`: the maintainers' decisions on
 * held mail from the command line.
 *
 * The same moderation_decide() the mail commands use, with no token
 * (whoever can run the bot on the state directory is trusted) and the
 * actor "cli:USER" in the audit log.  The store is opened shared, so
 * it works beside the running daemon: LMDB serialises the writes, and
 * an approval is committed together with its outgoing mail in the
 * outbox (mailer_release()), which the daemon then sends.
 */
#include <errno.h>
#include <getopt.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "cli.h"
#include "clock.h"
#include "digest.h"
#include "log.h"
#include "mailer.h"
#include "message.h"
#include "moderation.h"
#include "store.h"

#define SHOW_HEADER_MAX 4096	/* bytes of a held reply's header shown */

static void
moderate_usage(FILE *out)
{
	fprintf(out,
		"usage: kvmarm-bot [-c CONFIG] [--state DIR] moderate list\n"
		"       kvmarm-bot [-c CONFIG] [--state DIR] moderate show ID\n"
		"       kvmarm-bot -c CONFIG [--state DIR] moderate "
		"approve ID\n"
		"       kvmarm-bot [-c CONFIG] [--state DIR] moderate "
		"reject ID [REASON...]\n"
		"       kvmarm-bot -c CONFIG [--state DIR] moderate drop|"
		"regenerate ID N\n"
		"       kvmarm-bot -c CONFIG [--state DIR] moderate fix ID N "
		"TEXT...\n"
		"\n"
		"Held mail (config 'moderation = digest|all') waits for a\n"
		"moderator.  'list' prints one line per item:\n"
		"  ID STATE KIND CREATED DEADLINE [SINCE..UNTIL]\n"
		"'show' prints one item with its threads <N> and edits.\n"
		"'approve' releases a held item to the outbox (the running\n"
		"bot sends it; 'kvmarm-bot pause' holds all outgoing mail);\n"
		"'reject' discards it, with an optional reason.  'drop',\n"
		"'regenerate' and 'fix' edit thread <N> of a held digest\n"
		"and mail the moderators a new draft.  Every decision is\n"
		"appended to STATE/audit.log as cli:$USER.  See\n"
		"docs/moderation.md.\n");
}

static int __attribute__((format(printf, 1, 2)))
misuse(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "kvmarm-bot: moderate: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n(see kvmarm-bot moderate --help)\n");
	return 2;
}

/* A decimal 1..999999999, nothing else. */
static int
parse_uint(const char *s, unsigned *out)
{
	unsigned long v;
	char *end;

	if (*s < '0' || *s > '9')
		return -1;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || *end || v < 1 || v > 999999999ul)
		return -1;
	*out = (unsigned)v;
	return 0;
}

/* A thread number N, also written "<N>" as the draft shows it. */
static int
parse_item(const char *s, unsigned *out)
{
	char num[16];
	size_t len = strlen(s);

	if (len >= 3 && s[0] == '<' && s[len - 1] == '>' &&
	    len - 2 < sizeof(num)) {
		memcpy(num, s + 1, len - 2);
		num[len - 2] = '\0';
		return parse_uint(num, out);
	}
	return parse_uint(s, out);
}

/* "cli:" and the login name: $USER, else the password entry, else uid. */
static void
actor_name(char *out, size_t outsz)
{
	const char *user = getenv("USER");
	struct passwd *pw;

	if (!user || !*user) {
		pw = getpwuid(getuid());
		user = pw && pw->pw_name && *pw->pw_name ? pw->pw_name : NULL;
	}
	if (user)
		snprintf(out, outsz, "cli:%s", user);
	else
		snprintf(out, outsz, "cli:uid%u", (unsigned)getuid());
}

/* Print s with control characters shown as '?', lines indented. */
static void
print_clean(const char *s, size_t len, const char *indent)
{
	for (size_t i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)s[i];

		if (ch == '\n') {
			printf("\n%s", indent);
			continue;
		}
		if (ch == '\r' && i + 1 < len && s[i + 1] == '\n')
			continue;
		putchar(ch < 0x20 || ch == 0x7f ? '?' : ch);
	}
}

static const char *
state_word(enum moderation_state s)
{
	switch (s) {
	case MODERATION_HELD:
		return "HELD";
	case MODERATION_APPROVED:
		return "APPROVED";
	case MODERATION_REJECTED:
		return "REJECTED";
	case MODERATION_EXPIRED:
		return "EXPIRED";
	}
	return "?";
}

static const char *
kind_word(enum moderation_kind k)
{
	return k == MODERATION_DIGEST ? "digest" : "reply";
}

static int
list_one(struct moderation_item *it, void *ctx)
{
	char created[32], deadline[32], since[32], until[32];
	size_t *n = ctx;

	digest_iso8601(it->created, created, sizeof(created));
	digest_iso8601(it->deadline, deadline, sizeof(deadline));
	printf("%u %s %s %s %s", it->id, state_word(it->state),
	       kind_word(it->kind), created, deadline);
	if (it->kind == MODERATION_DIGEST) {
		digest_iso8601(it->since, since, sizeof(since));
		digest_iso8601(it->until, until, sizeof(until));
		printf(" %s..%s", since, until);
	}
	putchar('\n');
	(*n)++;
	return 0;
}

static void
show_threads(struct store_txn *txn, const struct moderation_item *it)
{
	printf("threads: %zu\n", it->n_threads);
	for (size_t i = 0; i < it->n_threads; i++) {
		struct message m;

		printf("  <%zu> ", i + 1);
		if (store_get_message(txn, it->threads[i], &m) == 0) {
			print_clean(m.subject, strlen(m.subject), "");
			message_release(&m);
			printf("\n      ");
		}
		putchar('<');
		print_clean(it->threads[i], strlen(it->threads[i]), "");
		printf(">\n");
	}
	printf("edits: %zu\n", it->n_edits);
	for (size_t i = 0; i < it->n_edits; i++) {
		const struct moderation_edit *e = &it->edits[i];

		switch (e->what) {
		case MODERATION_DROP:
			printf("  drop <%u>\n", e->n);
			break;
		case MODERATION_REGENERATE:
			printf("  regenerate <%u>\n", e->n);
			break;
		case MODERATION_FIX:
			printf("  fix <%u>:\n    ", e->n);
			print_clean(e->text, strlen(e->text), "    ");
			putchar('\n');
			break;
		default:
			break;
		}
	}
}

static void
show_reply(const struct moderation_item *it)
{
	const char *end;
	size_t hlen;

	printf("message-id: <");
	print_clean(it->message_id, strlen(it->message_id), "");
	printf(">\nrecipients:");
	for (size_t i = 0; i < it->n_rcpt; i++) {
		putchar(' ');
		print_clean(it->rcpt[i], strlen(it->rcpt[i]), "");
	}
	printf("\nmail: %zu bytes; header:\n  ", it->raw_len);
	end = memmem(it->raw, it->raw_len, "\r\n\r\n", 4);
	hlen = end ? (size_t)(end - it->raw) : it->raw_len;
	if (hlen > SHOW_HEADER_MAX)
		hlen = SHOW_HEADER_MAX;
	print_clean(it->raw, hlen, "  ");
	putchar('\n');
}

static void
show_item(struct store_txn *txn, const struct moderation_item *it)
{
	char t[32], u[32];

	printf("item: %u\nkind: %s\nstate: %s\n", it->id, kind_word(it->kind),
	       state_word(it->state));
	digest_iso8601(it->created, t, sizeof(t));
	printf("created: %s\n", t);
	digest_iso8601(it->deadline, t, sizeof(t));
	printf("deadline: %s\n", t);
	if (it->reminded) {
		digest_iso8601(it->reminded, t, sizeof(t));
		printf("reminded: %s\n", t);
	}
	if (it->decided) {
		digest_iso8601(it->decided, t, sizeof(t));
		printf("decided: %s by ", t);
		print_clean(it->decided_by, strlen(it->decided_by), "");
		putchar('\n');
	}
	if (*it->reason) {
		printf("reason: ");
		print_clean(it->reason, strlen(it->reason), "  ");
		putchar('\n');
	}
	if (*it->draft_id) {
		printf("draft: <");
		print_clean(it->draft_id, strlen(it->draft_id), "");
		printf(">\n");
	}
	if (it->kind == MODERATION_DIGEST) {
		digest_iso8601(it->since, t, sizeof(t));
		digest_iso8601(it->until, u, sizeof(u));
		printf("window: %s .. %s\n", t, u);
		show_threads(txn, it);
	} else {
		show_reply(it);
	}
}

/* Join argv[from..argc) with single spaces; malloc'd, NULL when none. */
static char *
join_args(int argc, char **argv, int from)
{
	struct buf b;

	if (from >= argc)
		return NULL;
	buf_init(&b, 64 * 1024);
	for (int i = from; i < argc; i++)
		if ((i > from && buf_addc(&b, ' ') < 0) ||
		    buf_adds(&b, argv[i]) < 0) {
			buf_release(&b);
			return NULL;
		}
	return buf_detach(&b, NULL);
}

static int
open_txn(struct cli *cli, int write, struct store **store,
	 struct store_txn **txn)
{
	*store = NULL;
	*txn = NULL;
	if (!cli->state_dir || !*cli->state_dir) {
		fprintf(stderr, "kvmarm-bot: moderate: no state directory: "
				"pass --state DIR before the command or set "
				"state_dir in the configuration file given "
				"with -c FILE\n");
		return -1;
	}
	if (store_open(cli->state_dir,
		       write ? STORE_OPEN_SHARED : STORE_OPEN_READ, store) < 0)
		return -1;
	if (store_begin(*store, write, txn) < 0) {
		store_close(*store);
		*store = NULL;
		return -1;
	}
	return 0;
}

/* The action named by word, or -1. */
static int
action_of(const char *word, enum moderation_action *act)
{
	static const struct {
		const char *name;
		enum moderation_action act;
	} acts[] = {
	    {"approve", MODERATION_APPROVE},
	    {"reject", MODERATION_REJECT},
	    {"drop", MODERATION_DROP},
	    {"fix", MODERATION_FIX},
	    {"regenerate", MODERATION_REGENERATE},
	};

	for (size_t i = 0; i < sizeof(acts) / sizeof(acts[0]); i++)
		if (!strcmp(word, acts[i].name)) {
			*act = acts[i].act;
			return 0;
		}
	return -1;
}

static int
decide(struct cli *cli, enum moderation_action act, const char *word,
       unsigned id, unsigned n, const char *text)
{
	struct moderation_item it;
	struct store_txn *txn;
	struct store *store;
	const char *why = NULL;
	char actor[300];
	int64_t now = clock_now();
	int r, paused;

	actor_name(actor, sizeof(actor));
	if (open_txn(cli, 1, &store, &txn) < 0)
		return 1;
	r = moderation_decide(txn, &cli->cfg, cli->state_dir, id, NULL, actor,
			      act, n, text, now, &why, &it);
	if (r == 1) {
		store_abort(txn);
		store_close(store);
		fprintf(stderr, "kvmarm-bot: moderate: %s %u: %s\n", word, id,
			why);
		return 1;
	}
	if (r < 0)
		goto fail;
	if (act == MODERATION_APPROVE) {
		/* Approval and the outgoing mail commit together. */
		r = mailer_release(txn, &cli->cfg, &it, now);
	} else if (act != MODERATION_REJECT) {
		/* The other moderators see the edit in a new draft. */
		r = mailer_draft(txn, &cli->cfg, &it, now);
		if (r == 0)
			r = moderation_put(txn, &it);
	}
	if (r < 0) {
		moderation_item_release(&it);
		goto fail;
	}
	paused = store_paused(txn);
	if (store_commit(txn) < 0) {
		moderation_item_release(&it);
		store_close(store);
		fprintf(stderr, "kvmarm-bot: moderate: %s %u: not done\n",
			word, id);
		return 1;
	}
	store_close(store);
	switch (act) {
	case MODERATION_APPROVE:
		printf("item %u approved: %s\n", id,
		       r == 1 ? "it was already queued"
			      : "queued for sending");
		if (paused == 1)
			printf("outgoing mail is paused: nothing leaves until "
			       "'kvmarm-bot resume'\n");
		break;
	case MODERATION_REJECT:
		printf("item %u rejected\n", id);
		break;
	default:
		printf("item %u: %s <%u> recorded; a new draft is queued for "
		       "the moderators\n", id, word, n);
		break;
	}
	moderation_item_release(&it);
	return 0;
fail:
	store_abort(txn);
	store_close(store);
	fprintf(stderr, "kvmarm-bot: moderate: %s %u: failed, nothing "
			"changed\n", word, id);
	return 1;
}

static int
list(struct cli *cli)
{
	struct store_txn *txn;
	struct store *store;
	size_t n = 0;
	int r;

	if (open_txn(cli, 0, &store, &txn) < 0)
		return 1;
	r = moderation_foreach(txn, list_one, &n);
	store_abort(txn);
	store_close(store);
	if (r < 0)
		return 1;
	if (n == 0)
		fprintf(stderr, "kvmarm-bot: moderate: no held or decided "
				"items\n");
	return 0;
}

static int
show(struct cli *cli, unsigned id)
{
	struct moderation_item it;
	struct store_txn *txn;
	struct store *store;
	int r;

	if (open_txn(cli, 0, &store, &txn) < 0)
		return 1;
	r = moderation_get(txn, id, &it);
	if (r == 0) {
		show_item(txn, &it);
		moderation_item_release(&it);
	} else if (r == 1) {
		fprintf(stderr, "kvmarm-bot: moderate: show %u: unknown "
				"item\n", id);
	}
	store_abort(txn);
	store_close(store);
	return r == 0 ? 0 : 1;
}

int
cmd_moderate(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	enum moderation_action act = MODERATION_APPROVE;
	unsigned id, n = 0;
	const char *word;
	char *text = NULL;
	int c, r;

	/* '+': a reason may itself start with '-'. */
	while ((c = getopt_long(argc, argv, "+h", opts, NULL)) != -1) {
		switch (c) {
		case 'h':
			moderate_usage(stdout);
			return 0;
		default:
			moderate_usage(stderr);
			return 2;
		}
	}
	if (optind >= argc)
		return misuse("say list, show, approve, reject, drop, "
			      "regenerate or fix");
	word = argv[optind++];
	if (!strcmp(word, "list")) {
		if (optind != argc)
			return misuse("list takes no arguments");
		return list(cli);
	}
	if (strcmp(word, "show") && action_of(word, &act) < 0)
		return misuse("unknown subcommand '%s'", word);
	if (optind >= argc || parse_uint(argv[optind], &id) < 0)
		return misuse("%s needs an item ID (a number)", word);
	optind++;
	if (!strcmp(word, "show")) {
		if (optind != argc)
			return misuse("show takes one ID");
		return show(cli, id);
	}
	switch (act) {
	case MODERATION_APPROVE:
		if (optind != argc)
			return misuse("approve takes one ID");
		break;
	case MODERATION_REJECT:
		text = join_args(argc, argv, optind);
		break;
	default:
		if (optind >= argc || parse_item(argv[optind], &n) < 0)
			return misuse("%s needs the thread number N of the "
				      "draft's <N>", word);
		optind++;
		if (act == MODERATION_FIX) {
			text = join_args(argc, argv, optind);
			if (!text)
				return misuse("fix needs the replacement "
					      "summary text");
		} else if (optind != argc) {
			return misuse("%s takes ID and N", word);
		}
		break;
	}
	r = decide(cli, act, word, id, n, text);
	free(text);
	return r;
}
