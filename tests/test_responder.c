/*
 * test_responder.c - the answers to mail sent to the bot (responder.h).
 *
 * No mail server: requests are literal mails queued with
 * inbox_accept(), responder_run() answers them into the outbox, and
 * the tests read the outbox records back (docs/state-format.md) and
 * parse each queued mail as a mail client would.  The store holds a
 * small thread of three mails written here.  Cases: summarize (as a
 * reply, by id, unknown id), the rate limits, screening of automatic
 * mail, help for unknown words, double opt-in subscription with its
 * tokens (forged, expired), unsubscribe, moderation by mail (not a
 * moderator, wrong token, right token), and that a request survives a
 * write that never committed and a kill -9 of the responder, answered
 * exactly once in the end.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "config.h"
#include "inbox.h"
#include "message.h"
#include "moderation.h"
#include "outbox.h"
#include "ratelimit.h"
#include "responder.h"
#include "store.h"
#include "subscriber.h"
#include "testutil.h"
#include "thread.h"
#include "token.h"

#define T0 1757926800	/* 2025-09-15T09:00:00Z */
#define SECRET "responder-test-secret"
#define BOT "bot@example.test"
#define LIST "kvmarm@lists.linux.dev"
#define LISTID "List-Id: <kvmarm.lists.linux.dev>\n"
#define ROOT "thr-root@example.test"
#define R1 "thr-r1@example.test"
#define R2 "thr-r2@example.test"
#define MAX_OUT 128

struct fx {
	char *dir;
	struct store *store;
	struct config cfg;
};

/* The outbox, read back (testutil.h). */
struct outs {
	struct test_outbox_mail *v;
	size_t n;
};

static void
set(char **field, const char *v)
{
	free(*field);
	*field = strdup(v);
	assert_non_null(*field);
}

static void
put_mail(struct store_txn *txn, const char *raw)
{
	struct message msg;

	assert_int_equal(message_parse(raw, strlen(raw), &msg, NULL), 0);
	assert_int_equal(store_put_message(txn, &msg, raw, strlen(raw)), 1);
	assert_int_equal(thread_index_add(txn, &msg), 0);
	message_release(&msg);
}

static int
setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	struct store_txn *txn;

	assert_non_null(f);
	f->dir = test_tmpdir("responder");
	assert_non_null(f->dir);
	assert_int_equal(store_open(f->dir, STORE_OPEN_WRITE, &f->store), 0);
	assert_int_equal(config_init(&f->cfg), 0);
	set(&f->cfg.bot_address, BOT);
	set(&f->cfg.list_address, LIST);
	set(&f->cfg.list_name, "kvmarm");
	set(&f->cfg.token_secret, SECRET);

	assert_int_equal(store_begin(f->store, 1, &txn), 0);
	put_mail(txn,
		 "From: Marc Maintainer <maz@example.test>\n"
		 "To: " LIST "\n"
		 "Subject: [PATCH] KVM: arm64: Fix vgic LPI refcount\n"
		 "Message-ID: <" ROOT ">\n"
		 "Date: Thu, 11 Sep 2025 10:00:00 +0000\n"
		 LISTID
		 "\n"
		 "The LPI refcount is dropped twice when a translation is\n"
		 "invalidated; this patch drops it once.\n"
		 "\n"
		 "Signed-off-by: Marc Maintainer <maz@example.test>\n"
		 "---\n"
		 "diff --git a/arch/arm64/kvm/vgic/vgic-its.c "
		 "b/arch/arm64/kvm/vgic/vgic-its.c\n"
		 "--- a/arch/arm64/kvm/vgic/vgic-its.c\n"
		 "+++ b/arch/arm64/kvm/vgic/vgic-its.c\n"
		 "@@ -1,3 +1,3 @@\n"
		 "-\tvgic_put_irq(irq);\n"
		 "+\t/* dropped by the caller */\n");
	put_mail(txn,
		 "From: Oliver Reviewer <oliver@example.test>\n"
		 "To: " LIST "\n"
		 "Subject: Re: [PATCH] KVM: arm64: Fix vgic LPI refcount\n"
		 "Message-ID: <" R1 ">\n"
		 "In-Reply-To: <" ROOT ">\n"
		 "References: <" ROOT ">\n"
		 "Date: Fri, 12 Sep 2025 10:00:00 +0000\n"
		 LISTID
		 "\n"
		 "> The LPI refcount is dropped twice\n"
		 "\n"
		 "Good catch.\n"
		 "\n"
		 "Reviewed-by: Oliver Reviewer <oliver@example.test>\n");
	put_mail(txn,
		 "From: Marc Maintainer <maz@example.test>\n"
		 "To: " LIST "\n"
		 "Subject: Re: [PATCH] KVM: arm64: Fix vgic LPI refcount\n"
		 "Message-ID: <" R2 ">\n"
		 "In-Reply-To: <" R1 ">\n"
		 "References: <" ROOT "> <" R1 ">\n"
		 "Date: Sat, 13 Sep 2025 10:00:00 +0000\n"
		 LISTID
		 "\n"
		 "Applied to fixes, thanks.\n");
	assert_int_equal(store_commit(txn), 0);
	*state = f;
	return 0;
}

static void
fx_close(struct fx *f)
{
	if (f->store)
		store_close(f->store);
	f->store = NULL;
}

static void
fx_reopen(struct fx *f, int mode)
{
	fx_close(f);
	assert_int_equal(store_open(f->dir, mode, &f->store), 0);
}

static int
teardown(void **state)
{
	struct fx *f = *state;

	fx_close(f);
	config_release(&f->cfg);
	free(f->dir);
	free(f);
	return 0;
}

/*
 * Queue the request: From from, To to, the extra header lines, body.
 * Asserts inbox_accept() queued it (or not, as expect says).
 */
static void
request(struct fx *f, const char *from, const char *to, const char *id,
	const char *subject, const char *extra, const char *body,
	int expect)
{
	struct store_txn *txn;
	struct message msg;
	struct buf b;
	int q = -1;

	buf_init(&b, 0);
	assert_int_equal(buf_addf(&b,
				  "From: %s\nTo: %s\nSubject: %s\n"
				  "Message-ID: <%s>\n"
				  "Date: Mon, 15 Sep 2025 08:00:00 +0000\n"
				  "%s\n%s",
				  from, to, subject, id, extra ? extra : "",
				  body),
			 0);
	assert_int_equal(message_parse(b.data, b.len, &msg, NULL), 0);
	assert_int_equal(store_begin(f->store, 1, &txn), 0);
	assert_int_not_equal(inbox_accept(txn, &f->cfg, &msg, b.data, b.len,
					  &q),
			     -1);
	assert_int_equal(store_commit(txn), 0);
	assert_int_equal(q, expect);
	message_release(&msg);
	buf_release(&b);
}

static void
ask(struct fx *f, const char *from, const char *id, const char *body)
{
	request(f, from, BOT, id, "bot", NULL, body, 1);
}

/* "summarize" as a reply to the thread's 2nd mail. */
static void
reply(struct fx *f, const char *from, const char *id)
{
	request(f, from, BOT, id,
		"Re: [PATCH] KVM: arm64: Fix vgic LPI refcount",
		"In-Reply-To: <" R1 ">\nReferences: <" ROOT "> <" R1 ">\n",
		"summarize\n", 1);
}

static int
run(struct fx *f, int64_t now)
{
	int more = -1, r;

	r = responder_run(f->store, &f->cfg, f->dir, now, &more);
	assert_int_not_equal(r, -1);
	assert_int_equal(more, 0);
	return r;
}

/* Everything in the outbox, parsed. */
static struct outs *
outbox(struct fx *f)
{
	struct outs *o = calloc(1, sizeof(*o));

	assert_non_null(o);
	o->n = test_outbox_read(f->store, &o->v);
	assert_true(o->n <= MAX_OUT);
	return o;
}

static void
outs_free(struct outs *o)
{
	test_outbox_free(o->v, o->n);
	free(o);
}

static size_t
count_to(const struct outs *o, const char *rcpt)
{
	size_t n = 0;

	for (size_t i = 0; i < o->n; i++)
		n += !strcmp(o->v[i].rcpt, rcpt);
	return n;
}

/* The only mail to rcpt; fails when there is not exactly one. */
static const struct test_outbox_mail *
only_to(const struct outs *o, const char *rcpt)
{
	const struct test_outbox_mail *x = NULL;

	for (size_t i = 0; i < o->n; i++)
		if (!strcmp(o->v[i].rcpt, rcpt)) {
			assert_null(x);
			x = &o->v[i];
		}
	assert_non_null(x);
	return x;
}

/* The answer threaded under the request irt, or NULL. */
static const struct test_outbox_mail *
answer_to(const struct outs *o, const char *irt)
{
	const struct test_outbox_mail *x = NULL;

	for (size_t i = 0; i < o->n; i++)
		if (!strcmp(o->v[i].m.in_reply_to, irt)) {
			assert_null(x);	/* never two */
			x = &o->v[i];
		}
	return x;
}

static int
has_ref(const struct message *m, const char *id)
{
	for (size_t i = 0; i < m->n_references; i++)
		if (!strcmp(m->references[i], id))
			return 1;
	return 0;
}

/* The properties every answer of the bot has. */
static void
check_answer(const struct test_outbox_mail *x, const char *to)
{
	assert_int_equal(x->state, OUTBOX_QUEUED);
	assert_string_equal(x->rcpt, to);
	assert_int_equal(x->m.n_to, 1);
	assert_string_equal(x->m.to[0], to);
	assert_string_equal(x->m.from_addr, BOT);
	assert_string_equal(x->m.auto_submitted, "auto-replied");
	assert_string_equal(x->m.x_loop, BOT);
	assert_non_null(strstr(x->raw, "\r\nAuto-Submitted: auto-replied\r\n"));
}

struct kv_count {
	size_t q, d;
};

static int
count_kv(const void *key, size_t klen, const void *val, size_t vlen,
	 void *ctx)
{
	struct kv_count *c = ctx;

	(void)val;
	(void)vlen;
	if (klen > 2 && !memcmp(key, "q:", 2))
		c->q++;
	else if (klen > 2 && !memcmp(key, "d:", 2))
		c->d++;
	return 0;
}

/* Number of requests still queued ("q:") and handled ("d:"). */
static void
inbox_counts(struct fx *f, size_t *queued, size_t *done)
{
	struct kv_count c = {0};
	struct store_txn *txn;

	assert_int_equal(store_begin(f->store, 0, &txn), 0);
	assert_int_equal(store_kv_foreach(txn, STORE_DB_INBOX, NULL, 0,
					  count_kv, &c),
			 0);
	store_abort(txn);
	*queued = c.q;
	*done = c.d;
}

/* ---- summarize ------------------------------------------------------ */

static void
test_responder_summarize_reply(void **state)
{
	struct fx *f = *state;
	const struct test_outbox_mail *x;
	struct outs *o;
	size_t q, d;

	request(f, "Alice <alice@example.test>", BOT, "req-sum@example.test",
		"Re: [PATCH] KVM: arm64: Fix vgic LPI refcount",
		"In-Reply-To: <" R1 ">\nReferences: <" ROOT "> <" R1 ">\n",
		"summarize\n\n> Good catch.\n", 1);
	assert_int_equal(run(f, T0), 1);
	o = outbox(f);
	assert_int_equal(o->n, 1);
	x = only_to(o, "alice@example.test");
	check_answer(x, "alice@example.test");
	assert_string_equal(x->m.in_reply_to, "req-sum@example.test");
	assert_true(has_ref(&x->m, ROOT));
	assert_true(has_ref(&x->m, R1));
	assert_true(has_ref(&x->m, "req-sum@example.test"));
	assert_string_equal(x->m.subject,
			    "Re: [PATCH] KVM: arm64: Fix vgic LPI refcount");
	assert_non_null(strstr(x->m.body, "Summary of the thread (3 mails "
					  "from 2 people"));
	assert_non_null(strstr(x->m.body, "https://lore.kernel.org/kvmarm/"
					  ROOT "/"));
	/* not Cc'd to the list: reply_to_list is off */
	assert_int_equal(x->m.n_cc, 0);
	outs_free(o);

	/* handled: queue empty, nothing more next time */
	inbox_counts(f, &q, &d);
	assert_int_equal(q, 0);
	assert_int_equal(d, 1);
	assert_int_equal(run(f, T0 + 1), 0);
	o = outbox(f);
	assert_int_equal(o->n, 1);
	outs_free(o);
}

static void
test_responder_summarize_by_id(void **state)
{
	struct fx *f = *state;
	const struct test_outbox_mail *x;
	struct outs *o;

	/* a fresh mail naming the 3rd mail by its lore URL */
	ask(f, "bob@example.test", "req-id@example.test",
	    "summarize https://lore.kernel.org/kvmarm/" R2 "/\n");
	/* and a mail the bot does not hold */
	ask(f, "carol@example.test", "req-unknown@example.test",
	    "summarize <nowhere@example.test>\n");
	assert_int_equal(run(f, T0), 2);
	o = outbox(f);
	assert_int_equal(o->n, 2);

	x = only_to(o, "bob@example.test");
	check_answer(x, "bob@example.test");
	/* threaded under the mail it names, with the root first */
	assert_string_equal(x->m.in_reply_to, R2);
	assert_true(has_ref(&x->m, ROOT));
	assert_true(has_ref(&x->m, R2));
	assert_non_null(strstr(x->m.body, "Summary of the thread"));

	x = only_to(o, "carol@example.test");
	check_answer(x, "carol@example.test");
	assert_string_equal(x->m.in_reply_to, "req-unknown@example.test");
	assert_non_null(strstr(x->m.body, "does not hold"));
	assert_non_null(strstr(x->m.body, "nowhere@example.test"));
	assert_non_null(strstr(x->m.body, "It holds 3 mails of the kvmarm "
					  "list"));
	assert_null(strstr(x->m.body, "Summary of the thread"));
	outs_free(o);
}

/* ---- rate limits ---------------------------------------------------- */

static void
test_responder_rate_sender(void **state)
{
	struct fx *f = *state;
	char id[64];
	struct outs *o;

	f->cfg.rate_sender_per_hour = 2;
	for (int i = 0; i < 5; i++) {
		snprintf(id, sizeof(id), "flood-%d@example.test", i);
		ask(f, "alice@example.test", id, "summarize <" R1 ">\n");
	}
	ask(f, "bob@example.test", "other@example.test",
	    "summarize <" R1 ">\n");
	assert_int_equal(run(f, T0), 6);
	o = outbox(f);
	assert_int_equal(count_to(o, "alice@example.test"), 2);
	assert_int_equal(count_to(o, "bob@example.test"), 1);
	assert_int_equal(o->n, 3);
	outs_free(o);

	/* an hour later alice is answered again */
	ask(f, "alice@example.test", "later@example.test",
	    "summarize <" R1 ">\n");
	assert_int_equal(run(f, T0 + 3601), 1);
	o = outbox(f);
	assert_int_equal(count_to(o, "alice@example.test"), 3);
	outs_free(o);
}

static void
test_responder_rate_global(void **state)
{
	struct fx *f = *state;
	char id[64], from[64];
	struct outs *o;
	size_t q, d;

	f->cfg.rate_global_per_day = 3;
	for (int i = 0; i < 5; i++) {
		snprintf(id, sizeof(id), "g-%d@example.test", i);
		snprintf(from, sizeof(from), "user%d@example.test", i);
		ask(f, from, id, i % 2 ? "help\n" : "summarize <" R1 ">\n");
	}
	assert_int_equal(run(f, T0), 5);
	o = outbox(f);
	assert_int_equal(o->n, 3);
	outs_free(o);
	/* every request was handled, silently past the cap */
	inbox_counts(f, &q, &d);
	assert_int_equal(q, 0);
	assert_int_equal(d, 5);

	/* still capped within the day, answered again the next day */
	ask(f, "late@example.test", "g-late@example.test", "help\n");
	assert_int_equal(run(f, T0 + 3600), 1);
	ask(f, "later@example.test", "g-later@example.test", "help\n");
	assert_int_equal(run(f, T0 + 86399), 1);
	o = outbox(f);
	assert_int_equal(o->n, 3);
	outs_free(o);
	ask(f, "later@example.test", "g-later2@example.test", "help\n");
	assert_int_equal(run(f, T0 + 86400), 1);
	o = outbox(f);
	assert_int_equal(o->n, 4);
	assert_int_equal(count_to(o, "later@example.test"), 1);
	outs_free(o);
}

/* ---- screening -------------------------------------------------------- */

static void
test_responder_screening(void **state)
{
	static const char *const extra[] = {
		"Auto-Submitted: auto-replied\n",
		"Precedence: bulk\n",
		"X-Loop: " BOT "\n",
		NULL,	/* From MAILER-DAEMON */
		"Return-Path: <>\n",
	};
	struct fx *f = *state;
	struct outs *o;
	char id[64];
	size_t q, d;

	for (size_t i = 0; i < sizeof(extra) / sizeof(extra[0]); i++) {
		snprintf(id, sizeof(id), "auto-%zu@example.test", i);
		request(f,
			extra[i] ? "alice@example.test"
				 : "Mail Delivery System "
				   "<MAILER-DAEMON@example.test>",
			BOT, id, "Re: summarize", extra[i], "summarize <" R1
			">\nhelp\n",
			1);
	}
	assert_int_equal(run(f, T0), 5);
	o = outbox(f);
	assert_int_equal(o->n, 0);
	outs_free(o);
	inbox_counts(f, &q, &d);
	assert_int_equal(q, 0);
	assert_int_equal(d, 5);
	assert_int_equal(run(f, T0 + 60), 0);

	/* Auto-Submitted: no is a person's mail: answered */
	request(f, "alice@example.test", BOT, "auto-no@example.test", "bot",
		"Auto-Submitted: no\n", "help\n", 1);
	assert_int_equal(run(f, T0 + 120), 1);
	o = outbox(f);
	assert_int_equal(o->n, 1);
	outs_free(o);
}

/* ---- help ---------------------------------------------------------------- */

static void
test_responder_unknown(void **state)
{
	struct fx *f = *state;
	const struct test_outbox_mail *x;
	struct outs *o;

	ask(f, "alice@example.test", "unk-1@example.test", "frobnicate\n");
	assert_int_equal(run(f, T0), 1);
	o = outbox(f);
	assert_int_equal(o->n, 1);
	x = only_to(o, "alice@example.test");
	check_answer(x, "alice@example.test");
	assert_string_equal(x->m.in_reply_to, "unk-1@example.test");
	assert_non_null(strstr(x->m.body, "\"frobnicate\" is not a command"));
	assert_non_null(strstr(x->m.body, "summarize"));
	outs_free(o);

	/* a second unknown word the same day: silence */
	ask(f, "alice@example.test", "unk-2@example.test", "wibble\n");
	assert_int_equal(run(f, T0 + 3600), 1);
	o = outbox(f);
	assert_int_equal(o->n, 1);
	outs_free(o);

	/* unknown words in list traffic (the bot in Cc): nothing */
	request(f, "dave@example.test", LIST, "unk-3@example.test",
		"Re: [PATCH] KVM: arm64: Fix vgic LPI refcount",
		"Cc: " BOT "\n" LISTID, "Looks fine to me.\n", 1);
	/* the same without List-Id, To the list: list traffic too */
	request(f, "erin@example.test", LIST ", " BOT, "unk-4@example.test",
		"Re: [PATCH] KVM: arm64: Fix vgic LPI refcount", NULL,
		"Looks fine to me.\n", 1);
	assert_int_equal(run(f, T0 + 7200), 2);
	o = outbox(f);
	assert_int_equal(o->n, 1);
	outs_free(o);

	/* the next day alice gets help again */
	ask(f, "alice@example.test", "unk-5@example.test", "wibble\n");
	assert_int_equal(run(f, T0 + 86401), 1);
	o = outbox(f);
	assert_int_equal(count_to(o, "alice@example.test"), 2);
	outs_free(o);
}

/* A request without a Message-ID is answered, threaded on nothing. */
static void
test_responder_no_message_id(void **state)
{
	struct fx *f = *state;
	const struct test_outbox_mail *x;
	struct store_txn *txn;
	struct message msg;
	struct outs *o;
	static const char raw[] = "From: alice@example.test\n"
				  "To: " BOT "\n"
				  "Subject: help?\n"
				  "\n"
				  "help\n";
	int q = 0;

	assert_int_equal(message_parse(raw, sizeof(raw) - 1, &msg, NULL), 0);
	assert_int_equal(store_begin(f->store, 1, &txn), 0);
	assert_int_equal(inbox_accept(txn, &f->cfg, &msg, raw,
				      sizeof(raw) - 1, &q),
			 0);
	assert_int_equal(store_commit(txn), 0);
	assert_int_equal(q, 1);
	assert_int_equal(run(f, T0), 1);
	o = outbox(f);
	x = only_to(o, "alice@example.test");
	check_answer(x, "alice@example.test");
	assert_string_equal(x->m.in_reply_to, "");
	assert_int_equal(x->m.n_references, 0);
	assert_null(strstr(x->raw, "kvmarm-bot.invalid"));
	assert_string_equal(x->m.subject, "Re: help?");
	outs_free(o);

	/* the same bytes again: the synthetic id keys it, answered once */
	assert_int_equal(store_begin(f->store, 1, &txn), 0);
	assert_int_equal(inbox_accept(txn, &f->cfg, &msg, raw,
				      sizeof(raw) - 1, &q),
			 0);
	assert_int_equal(store_commit(txn), 0);
	assert_int_equal(q, 0);
	message_release(&msg);
}

/* ---- subscriptions ------------------------------------------------------ */

/* The token of the only "confirm TOKEN" mail to addr. */
static void
confirm_token(struct fx *f, const char *addr, char *tok)
{
	const struct test_outbox_mail *x;
	struct outs *o = outbox(f);
	size_t n = 0;

	for (size_t i = 0; i < o->n; i++)
		if (!strcmp(o->v[i].rcpt, addr) &&
		    !strncmp(o->v[i].m.subject, "confirm ", 8)) {
			x = &o->v[i];
			n++;
			assert_true(strlen(x->m.subject + 8) < TOKEN_MAX);
			snprintf(tok, TOKEN_MAX, "%s", x->m.subject + 8);
			check_answer(x, addr);
			assert_non_null(strstr(x->m.body, tok));
		}
	assert_int_equal(n, 1);
	outs_free(o);
}

static int
subscribed(struct fx *f, const char *addr, char *lang)
{
	struct store_txn *txn;
	struct subscriber s;
	int r;

	assert_int_equal(store_begin(f->store, 0, &txn), 0);
	r = subscriber_get(txn, addr, &s);
	store_abort(txn);
	assert_int_not_equal(r, -1);
	if (r == 0 && lang)
		snprintf(lang, 3, "%s", s.lang);
	return r == 0;
}

static void
test_responder_subscribe(void **state)
{
	struct fx *f = *state;
	char tok[TOKEN_MAX], lang[3], purpose[TOKEN_PURPOSE_MAX + 1];
	const struct test_outbox_mail *x;
	struct outs *o;

	ask(f, "Dave <dave@example.test>", "sub-1@example.test",
	    "subscribe zh\n");
	assert_int_equal(run(f, T0), 1);
	confirm_token(f, "dave@example.test", tok);
	assert_int_equal(token_purpose(tok, purpose, sizeof(purpose)), 0);
	assert_string_equal(purpose, "sub-zh");
	assert_false(subscribed(f, "dave@example.test", NULL));

	/* a forged confirmation: mallory has dave's token */
	request(f, "mallory@example.test", BOT, "forged@example.test",
		"Re: confirm x", NULL, "", 1);
	{
		struct buf b;

		buf_init(&b, 0);
		assert_int_equal(buf_addf(&b, "confirm %s\n", tok), 0);
		ask(f, "mallory@example.test", "forged-2@example.test",
		    b.data);
		buf_release(&b);
	}
	assert_int_equal(run(f, T0 + 60), 2);
	assert_false(subscribed(f, "mallory@example.test", NULL));
	assert_false(subscribed(f, "dave@example.test", NULL));

	/* dave's reply keeping the subject */
	{
		struct buf subj;

		buf_init(&subj, 0);
		assert_int_equal(buf_addf(&subj, "Re: confirm %s", tok), 0);
		request(f, "Dave <dave@example.test>", BOT,
			"sub-confirm@example.test", subj.data,
			NULL, "> Someone, probably you, asked to subscribe\n",
			1);
		buf_release(&subj);
	}
	assert_int_equal(run(f, T0 + 120), 1);
	assert_true(subscribed(f, "dave@example.test", lang));
	assert_string_equal(lang, "zh");
	o = outbox(f);
	x = answer_to(o, "sub-confirm@example.test");
	assert_non_null(x);
	check_answer(x, "dave@example.test");
	assert_non_null(strstr(x->m.body, "is subscribed"));
	outs_free(o);

	/* an expired token is refused */
	ask(f, "erin@example.test", "sub-2@example.test", "subscribe\n");
	assert_int_equal(run(f, T0), 1);
	confirm_token(f, "erin@example.test", tok);
	{
		struct buf b;

		buf_init(&b, 0);
		assert_int_equal(buf_addf(&b, "confirm %s\n", tok), 0);
		ask(f, "erin@example.test", "sub-late@example.test", b.data);
		buf_release(&b);
	}
	assert_int_equal(run(f, T0 + 73 * 3600), 1);
	assert_false(subscribed(f, "erin@example.test", NULL));
	o = outbox(f);
	x = answer_to(o, "sub-late@example.test");
	assert_non_null(x);
	assert_non_null(strstr(x->m.body, "expired"));
	outs_free(o);
}

static void
test_responder_unsubscribe(void **state)
{
	struct fx *f = *state;
	char tok[TOKEN_MAX];
	struct store_txn *txn;
	const struct test_outbox_mail *x;
	struct outs *o;
	struct buf b;

	assert_int_equal(store_begin(f->store, 1, &txn), 0);
	assert_int_equal(subscriber_add(txn, "frank@example.test", "en",
					T0 - 86400),
			 0);
	assert_int_equal(subscriber_add(txn, "gina@example.test", "en",
					T0 - 86400),
			 0);
	assert_int_equal(store_commit(txn), 0);

	/* the List-Unsubscribe token: at once */
	assert_int_equal(token_make(SECRET, "unsub", "frank@example.test",
				    T0 - 3600, tok, sizeof(tok)),
			 0);
	buf_init(&b, 0);
	assert_int_equal(buf_addf(&b, "unsubscribe %s\n", tok), 0);
	ask(f, "Frank <frank@example.test>", "unsub-1@example.test", b.data);
	/* frank's token in gina's hands removes nobody */
	ask(f, "gina@example.test", "unsub-forged@example.test", b.data);
	buf_release(&b);
	/* the digest's List-Unsubscribe mailto: token in the subject */
	assert_int_equal(token_make(SECRET, "unsub", "hank@example.test",
				    T0 - 7 * 86400, tok, sizeof(tok)),
			 0);
	buf_init(&b, 0);
	assert_int_equal(buf_addf(&b, "unsubscribe %s", tok), 0);
	request(f, "hank@example.test", "bot+unsubscribe@example.test",
		"unsub-mailto@example.test", b.data, NULL, "", 1);
	buf_release(&b);
	assert_int_equal(store_begin(f->store, 1, &txn), 0);
	assert_int_equal(subscriber_add(txn, "hank@example.test", "zh",
					T0 - 86400),
			 0);
	assert_int_equal(store_commit(txn), 0);
	assert_int_equal(run(f, T0), 3);
	assert_false(subscribed(f, "frank@example.test", NULL));
	assert_false(subscribed(f, "hank@example.test", NULL));
	assert_true(subscribed(f, "gina@example.test", NULL));
	o = outbox(f);
	x = answer_to(o, "unsub-1@example.test");
	assert_non_null(x);
	check_answer(x, "frank@example.test");
	assert_non_null(strstr(x->m.body, "is unsubscribed"));
	outs_free(o);

	/* "unsubscribe" alone asks for a confirmation first */
	ask(f, "gina@example.test", "unsub-2@example.test", "unsubscribe\n");
	assert_int_equal(run(f, T0 + 60), 1);
	assert_true(subscribed(f, "gina@example.test", NULL));
	confirm_token(f, "gina@example.test", tok);
	buf_init(&b, 0);
	assert_int_equal(buf_addf(&b, "confirm %s\n", tok), 0);
	ask(f, "gina@example.test", "unsub-3@example.test", b.data);
	buf_release(&b);
	assert_int_equal(run(f, T0 + 120), 1);
	assert_false(subscribed(f, "gina@example.test", NULL));

	/* "unsubscribe" with a subscription token never subscribes */
	assert_int_equal(token_make(SECRET, "sub-en", "gina@example.test",
				    T0 + 150, tok, sizeof(tok)),
			 0);
	buf_init(&b, 0);
	assert_int_equal(buf_addf(&b, "unsubscribe %s\n", tok), 0);
	ask(f, "gina@example.test", "unsub-4@example.test", b.data);
	buf_release(&b);
	assert_int_equal(run(f, T0 + 180), 1);
	assert_false(subscribed(f, "gina@example.test", NULL));
	o = outbox(f);
	x = answer_to(o, "unsub-4@example.test");
	assert_non_null(x);
	assert_non_null(strstr(x->m.body, "is not subscribed"));
	outs_free(o);
}

/* ---- moderation --------------------------------------------------------- */

static int
mod_state(struct fx *f, unsigned id)
{
	struct moderation_item item;
	struct store_txn *txn;
	int st;

	assert_int_equal(store_begin(f->store, 0, &txn), 0);
	assert_int_equal(moderation_get(txn, id, &item), 0);
	st = item.state;
	moderation_item_release(&item);
	store_abort(txn);
	return st;
}

static void
test_responder_moderation(void **state)
{
	static const char held_raw[] =
		"From: \"kvmarm-bot\" <" BOT ">\r\n"
		"To: zoe@example.test\r\n"
		"Subject: Re: a held answer\r\n"
		"Message-ID: <held-1@example.test>\r\n"
		"Date: Mon, 15 Sep 2025 09:00:00 +0000\r\n"
		"Auto-Submitted: auto-replied\r\n"
		"\r\n"
		"The held answer.\r\n";
	struct fx *f = *state;
	struct moderation_item item = {0};
	char tok[TOKEN_MAX], line[256], *audit, path[4096];
	struct store_txn *txn;
	struct outbox_item oi;
	const struct test_outbox_mail *x;
	struct outs *o;
	unsigned id;

	set(&f->cfg.moderators, "carol@example.test");
	item.kind = MODERATION_REPLY;
	item.message_id = strdup("held-1@example.test");
	item.raw = malloc(sizeof(held_raw) - 1);
	item.rcpt = calloc(1, sizeof(char *));
	assert_true(item.message_id && item.raw && item.rcpt);
	memcpy(item.raw, held_raw, sizeof(held_raw) - 1);
	item.raw_len = sizeof(held_raw) - 1;
	item.rcpt[0] = strdup("zoe@example.test");
	assert_non_null(item.rcpt[0]);
	item.n_rcpt = 1;
	assert_int_equal(store_begin(f->store, 1, &txn), 0);
	assert_int_equal(moderation_hold(txn, &f->cfg, &item, T0 - 600), 0);
	assert_int_equal(store_commit(txn), 0);
	id = item.id;
	assert_int_equal(moderation_token(&f->cfg, &item, tok, sizeof(tok)),
			 0);
	moderation_item_release(&item);

	/* eve has the token but is no moderator */
	snprintf(line, sizeof(line), "approve %u %s\n", id, tok);
	ask(f, "eve@example.test", "mod-eve@example.test", line);
	assert_int_equal(run(f, T0), 1);
	assert_int_equal(mod_state(f, id), MODERATION_HELD);
	o = outbox(f);
	assert_int_equal(o->n, 0);
	outs_free(o);
	snprintf(path, sizeof(path), "%s/audit.log", f->dir);
	audit = test_read_file(path, NULL);
	assert_non_null(audit);
	snprintf(line, sizeof(line), " eve@example.test approve %u refused: "
				     "not a moderator\n", id);
	assert_non_null(strstr(audit, line));
	assert_null(strstr(audit, tok));
	free(audit);

	/* carol with a wrong token: refused without an answer */
	snprintf(line, sizeof(line),
		 "approve %u mod-%u.lx2k3.0123456789abcdef01234567\n", id, id);
	ask(f, "carol@example.test", "mod-wrong@example.test", line);
	/* and carol with the token of another item id */
	snprintf(line, sizeof(line), "approve %u %s\n", id + 1, tok);
	ask(f, "carol@example.test", "mod-other@example.test", line);
	assert_int_equal(run(f, T0 + 60), 2);
	assert_int_equal(mod_state(f, id), MODERATION_HELD);
	o = outbox(f);
	assert_null(answer_to(o, "mod-wrong@example.test"));
	assert_int_equal(count_to(o, "zoe@example.test"), 0);
	outs_free(o);

	/* carol with the item's token: approved, the held mail queued */
	snprintf(line, sizeof(line), "approve %u %s\n", id, tok);
	ask(f, "Carol <carol@example.test>", "mod-ok@example.test", line);
	assert_int_equal(run(f, T0 + 120), 1);
	assert_int_equal(mod_state(f, id), MODERATION_APPROVED);
	assert_int_equal(store_begin(f->store, 0, &txn), 0);
	assert_int_equal(outbox_get(txn, "held-1@example.test", &oi), 0);
	assert_int_equal(oi.state, OUTBOX_QUEUED);
	assert_string_equal(oi.rcpt, "zoe@example.test");
	assert_int_equal(oi.raw_len, sizeof(held_raw) - 1);
	outbox_item_release(&oi);
	store_abort(txn);
	o = outbox(f);
	x = only_to(o, "zoe@example.test");
	assert_int_equal(x->len, sizeof(held_raw) - 1);
	assert_memory_equal(x->raw, held_raw, x->len);
	x = answer_to(o, "mod-ok@example.test");
	assert_non_null(x);
	check_answer(x, "carol@example.test");
	snprintf(line, sizeof(line), "Item #%u approved", id);
	assert_non_null(strstr(x->m.body, line));
	outs_free(o);

	/* approving again changes nothing and queues nothing new */
	snprintf(line, sizeof(line), "approve %u %s\n", id, tok);
	ask(f, "carol@example.test", "mod-again@example.test", line);
	assert_int_equal(run(f, T0 + 180), 1);
	o = outbox(f);
	assert_int_equal(count_to(o, "zoe@example.test"), 1);
	outs_free(o);
}

/*
 * reply_to_list with `moderation = all`: the summary that would copy
 * the list is held, its draft goes to the moderators, and approving it
 * with the draft's token sends it to the requester and the list.
 */
static void
test_responder_held_answer(void **state)
{
	struct fx *f = *state;
	struct moderation_item item;
	struct store_txn *txn;
	const struct test_outbox_mail *x;
	char line[256];
	const char *tag;
	unsigned id;
	struct outs *o;

	set(&f->cfg.moderators, "carol@example.test");
	set(&f->cfg.moderation, "all");
	f->cfg.reply_to_list = 1;
	reply(f, "alice@example.test", "req-held@example.test");
	assert_int_equal(run(f, T0), 1);
	o = outbox(f);
	assert_int_equal(count_to(o, "alice@example.test"), 0);
	assert_null(answer_to(o, "req-held@example.test"));
	x = only_to(o, "carol@example.test");
	tag = strstr(x->m.subject, "[hold #");
	assert_non_null(tag);
	assert_int_equal(sscanf(tag, "[hold #%u", &id), 1);
	assert_int_equal(mod_state(f, id), MODERATION_HELD);
	assert_int_equal(store_begin(f->store, 0, &txn), 0);
	assert_int_equal(moderation_get(txn, id, &item), 0);
	store_abort(txn);
	assert_int_equal(item.kind, MODERATION_REPLY);
	assert_int_equal(item.n_rcpt, 2);
	assert_string_equal(item.rcpt[0], "alice@example.test");
	assert_string_equal(item.rcpt[1], LIST);
	moderation_item_release(&item);

	/* carol answers the draft: "approve" with the subject's token */
	snprintf(line, sizeof(line), "approve %.*s\n",
		 (int)strcspn(tag + 7, "]"), tag + 7);
	outs_free(o);
	ask(f, "carol@example.test", "req-approve@example.test", line);
	assert_int_equal(run(f, T0 + 60), 1);
	assert_int_equal(mod_state(f, id), MODERATION_APPROVED);
	o = outbox(f);
	x = answer_to(o, "req-held@example.test");
	assert_non_null(x);
	assert_string_equal(x->rcpt, "alice@example.test," LIST);
	assert_int_equal(x->m.n_cc, 1);
	assert_string_equal(x->m.cc[0], LIST);
	assert_non_null(strstr(x->m.body, "Summary of the thread"));
	outs_free(o);
}

/* A subscriber of the Chinese digest gets answers in Chinese. */
static void
test_responder_lang(void **state)
{
	struct fx *f = *state;
	struct store_txn *txn;
	const struct test_outbox_mail *x;
	struct outs *o;

	assert_int_equal(store_begin(f->store, 1, &txn), 0);
	assert_int_equal(subscriber_add(txn, "li@example.test", "zh", T0), 0);
	assert_int_equal(store_commit(txn), 0);
	reply(f, "li@example.test", "req-zh@example.test");
	reply(f, "alice@example.test", "req-en@example.test");
	assert_int_equal(run(f, T0), 2);
	o = outbox(f);
	x = answer_to(o, "req-zh@example.test");
	assert_non_null(x);
	assert_non_null(strstr(x->m.body, "讨论串摘要（3 封邮件"));
	x = answer_to(o, "req-en@example.test");
	assert_non_null(x);
	assert_null(strstr(x->m.body, "讨论串摘要"));
	assert_non_null(strstr(x->m.body, "Summary of the thread"));
	outs_free(o);
}

/* ---- crash safety ------------------------------------------------------- */

/*
 * A write that never commits leaves the request queued: with the store
 * open read-only no write transaction can begin.  Reopened for
 * writing, the request is answered once, and never again.
 */
static void
test_responder_uncommitted(void **state)
{
	struct fx *f = *state;
	struct outs *o;
	size_t q, d;
	int more = -1;

	reply(f, "alice@example.test", "crash-1@example.test");
	fx_reopen(f, STORE_OPEN_READ);
	assert_int_equal(responder_run(f->store, &f->cfg, f->dir, T0, &more),
			 -1);
	inbox_counts(f, &q, &d);
	assert_int_equal(q, 1);
	assert_int_equal(d, 0);
	o = outbox(f);
	assert_int_equal(o->n, 0);
	outs_free(o);

	fx_reopen(f, STORE_OPEN_WRITE);
	assert_int_equal(run(f, T0 + 10), 1);
	fx_reopen(f, STORE_OPEN_WRITE);
	assert_int_equal(run(f, T0 + 20), 0);
	o = outbox(f);
	assert_int_equal(o->n, 1);
	assert_non_null(answer_to(o, "crash-1@example.test"));
	outs_free(o);
	inbox_counts(f, &q, &d);
	assert_int_equal(q, 0);
	assert_int_equal(d, 1);
}

/*
 * A request whose answer cannot be composed (a From the composer
 * refuses): its transaction is aborted, so the rate-limit events it
 * took are gone, and it is marked handled instead of failing forever.
 */
static void
test_responder_failure(void **state)
{
	struct fx *f = *state;
	struct store_txn *txn;
	struct outs *o;
	size_t q, d;

	request(f, "J\xc3\xbcrgen <j\xc3\xbcrgen@example.test>", BOT,
		"fail-1@example.test", "bot", NULL, "help\n", 1);
	assert_int_equal(run(f, T0), 1);
	inbox_counts(f, &q, &d);
	assert_int_equal(q, 0);
	assert_int_equal(d, 1);
	assert_int_equal(run(f, T0 + 1), 0);
	o = outbox(f);
	assert_int_equal(o->n, 0);
	outs_free(o);
	assert_int_equal(store_begin(f->store, 0, &txn), 0);
	assert_int_equal(ratelimit_check(txn, "answers", "*", 1, 86400,
					 T0 + 1),
			 1);
	store_abort(txn);

	/* the next request is answered as usual */
	ask(f, "alice@example.test", "fail-2@example.test", "help\n");
	assert_int_equal(run(f, T0 + 2), 1);
	o = outbox(f);
	assert_int_equal(o->n, 1);
	assert_non_null(answer_to(o, "fail-2@example.test"));
	outs_free(o);
}

#define N_CRASH 48

/*
 * kill -9 of a responder in the middle of its batch: every request is
 * either handled and answered or still queued and unanswered, never
 * one without the other; the next run answers the rest, each once.
 */
static void
check_crash_state(struct fx *f, size_t *answered)
{
	struct outs *o = outbox(f);
	char id[64];

	*answered = 0;
	for (int i = 0; i < N_CRASH; i++) {
		size_t vlen;
		char key[INBOX_KEY_MAX];
		struct store_txn *txn;
		const void *v;
		int isq, isd;

		snprintf(id, sizeof(id), "kill-%d@example.test", i);
		assert_int_equal(store_begin(f->store, 0, &txn), 0);
		inbox_key('q', id, key);
		isq = store_kv_get(txn, STORE_DB_INBOX, key, strlen(key), &v,
				   &vlen) == 0;
		inbox_key('d', id, key);
		isd = store_kv_get(txn, STORE_DB_INBOX, key, strlen(key), &v,
				   &vlen) == 0;
		store_abort(txn);
		assert_int_equal(isq + isd, 1);
		if (isd)
			assert_non_null(answer_to(o, id));
		else
			assert_null(answer_to(o, id));
		*answered += isd;
	}
	assert_int_equal(o->n, *answered);
	outs_free(o);
}

static void
test_responder_kill9(void **state)
{
	struct fx *f = *state;
	char id[64], from[64];
	size_t answered, q, d;
	int status, tries = 0;
	pid_t pid;

	for (int i = 0; i < N_CRASH; i++) {
		snprintf(id, sizeof(id), "kill-%d@example.test", i);
		snprintf(from, sizeof(from), "u%d@example.test", i);
		reply(f, from, id);
	}
	fx_close(f);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct store *s;
		int more;

		if (store_open(f->dir, STORE_OPEN_WRITE, &s) < 0)
			_exit(2);
		responder_run(s, &f->cfg, f->dir, T0, &more);
		store_close(s);
		_exit(0);
	}
	/* wait for the first committed answer, then kill */
	for (;;) {
		struct timespec ts = { 0, 2 * 1000 * 1000 };

		if (waitpid(pid, &status, WNOHANG) == pid)
			break;
		fx_reopen(f, STORE_OPEN_READ);
		inbox_counts(f, &q, &d);
		fx_close(f);
		if (d > 0 || ++tries > 5000) {
			kill(pid, SIGKILL);
			assert_int_equal(waitpid(pid, &status, 0), pid);
			break;
		}
		nanosleep(&ts, NULL);
	}
	print_message("kill -9 after %zu of %d requests%s\n", d, N_CRASH,
		      WIFSIGNALED(status) ? "" : " (it had finished)");

	fx_reopen(f, STORE_OPEN_WRITE);
	check_crash_state(f, &answered);
	assert_int_equal(run(f, T0 + 10), N_CRASH - (int)answered);
	check_crash_state(f, &answered);
	assert_int_equal(answered, N_CRASH);
	assert_int_equal(run(f, T0 + 20), 0);
}

/* A reply to the confirmation with the person's own words above it. */
static void
test_responder_confirm_reply_with_text(void **state)
{
	struct fx *f = *state;
	char tok[TOKEN_MAX], lang[3];
	struct buf subj;

	ask(f, "Dave <dave@example.test>", "sub-t1@example.test",
	    "subscribe\n");
	assert_int_equal(run(f, T0), 1);
	confirm_token(f, "dave@example.test", tok);
	buf_init(&subj, 0);
	assert_int_equal(buf_addf(&subj, "Re: confirm %s", tok), 0);
	request(f, "Dave <dave@example.test>", BOT, "sub-t2@example.test",
		subj.data, NULL,
		"Thanks!\n\n> Someone, probably you, asked to subscribe\n", 1);
	buf_release(&subj);
	assert_int_equal(run(f, T0 + 60), 1);
	assert_true(subscribed(f, "dave@example.test", lang));
	assert_string_equal(lang, "en");
}

/*
 * A mail to the list with the bot in Cc arrives twice: the list's copy
 * (Precedence: list, not answered) first, then the direct copy, which
 * is answered once.
 */
static void
test_responder_list_copy_first(void **state)
{
	struct fx *f = *state;
	struct outs *o;

	request(f, "Alice <alice@example.test>", LIST ", " BOT,
		"cc-twice@example.test", "Re: [PATCH] KVM: arm64: Fix vgic",
		LISTID "Precedence: list\nIn-Reply-To: <" R1 ">\n",
		"summarize\n", 1);
	assert_int_equal(run(f, T0), 1);
	o = outbox(f);
	assert_null(answer_to(o, "cc-twice@example.test"));
	outs_free(o);
	request(f, "Alice <alice@example.test>", LIST ", " BOT,
		"cc-twice@example.test", "Re: [PATCH] KVM: arm64: Fix vgic",
		"In-Reply-To: <" R1 ">\n", "summarize\n", 1);
	assert_int_equal(run(f, T0 + 1), 1);
	o = outbox(f);
	assert_non_null(answer_to(o, "cc-twice@example.test"));
	assert_int_equal(count_to(o, "alice@example.test"), 1);
	outs_free(o);
	/* and a third copy, after the answer, is not queued again */
	request(f, "Alice <alice@example.test>", LIST ", " BOT,
		"cc-twice@example.test", "Re: [PATCH] KVM: arm64: Fix vgic",
		LISTID "Precedence: list\n", "summarize\n", 0);
}

TEST_LIST(responder,
	cmocka_unit_test_setup_teardown(test_responder_summarize_reply, setup,
					teardown),
	cmocka_unit_test_setup_teardown(test_responder_summarize_by_id, setup,
					teardown),
	cmocka_unit_test_setup_teardown(test_responder_rate_sender, setup,
					teardown),
	cmocka_unit_test_setup_teardown(test_responder_rate_global, setup,
					teardown),
	cmocka_unit_test_setup_teardown(test_responder_screening, setup,
					teardown),
	cmocka_unit_test_setup_teardown(test_responder_unknown, setup,
					teardown),
	cmocka_unit_test_setup_teardown(test_responder_no_message_id, setup,
					teardown),
	cmocka_unit_test_setup_teardown(test_responder_subscribe, setup,
					teardown),
	cmocka_unit_test_setup_teardown(test_responder_unsubscribe, setup,
					teardown),
	cmocka_unit_test_setup_teardown(test_responder_moderation, setup,
					teardown),
	cmocka_unit_test_setup_teardown(test_responder_held_answer, setup,
					teardown),
	cmocka_unit_test_setup_teardown(test_responder_lang, setup, teardown),
	cmocka_unit_test_setup_teardown(test_responder_uncommitted, setup,
					teardown),
	cmocka_unit_test_setup_teardown(test_responder_failure, setup,
					teardown),
	cmocka_unit_test_setup_teardown(test_responder_kill9, setup,
					teardown),
	cmocka_unit_test_setup_teardown(test_responder_confirm_reply_with_text,
					setup, teardown),
	cmocka_unit_test_setup_teardown(test_responder_list_copy_first, setup,
					teardown));
