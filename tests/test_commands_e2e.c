/*
 * test_commands_e2e.c - the bot's mail interface as people use it:
 * summarize, subscribe/confirm/unsubscribe, moderation, loops, floods.
 *
 * Real servers on loopback (tests/e2e/mailtest-env.sh, started by
 * tests/run): people's mail goes in through OpenSMTPD, the bot reads
 * its mailbox with IMAP IDLE from Dovecot and answers through Dovecot's
 * submission service; the tests read what people received over IMAP,
 * as their mail client would.  The LLM is tests/fake_llm.py.  Skipped,
 * visibly, without MAILTEST_DIR.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "e2eutil.h"
#include "testutil.h"

#define SECRET "e2e-token-secret-9f8e7d6c5b4a"
/* A thread of the demo week: kvmtool's nested virtualization series. */
#define DEMO_ROOT "20250729095745.1326331-1-andre.przywara@arm.com"
#define WAIT 60.0

struct bot {
	char *dir;		/* state, config and log live here */
	char conf[600];
	char log[600];
	pid_t pid;
	const char *addr;
};

/* A state (the demo week imported when demo) and a config for user. */
static void
bot_setup(struct bot *b, const char *mt, const char *addr, const char *pass,
	  const char *extra, int demo)
{
	char text[4096];

	memset(b, 0, sizeof(*b));
	b->addr = addr;
	b->dir = test_tmpdir("cmd-e2e");
	assert_non_null(b->dir);
	snprintf(b->conf, sizeof(b->conf), "%s/bot.conf", b->dir);
	snprintf(b->log, sizeof(b->log), "%s/bot.log", b->dir);
	if (demo) {
		char state[600];
		char *argv[] = { "--state", state, "import",
				 "tests/data/demo-week.mbox", NULL };

		snprintf(state, sizeof(state), "%s/state", b->dir);
		assert_int_equal(test_run_bot(argv, NULL, NULL), 0);
	}
	snprintf(text, sizeof(text),
		 "state_dir = %s/state\n"
		 "imap_url = imap://127.0.0.1:%s/INBOX\n"
		 "imap_user = %s\n"
		 "imap_password = %s\n"
		 "imap_ca_file = %s/ssl/cert.pem\n"
		 "smtp_url = smtp://127.0.0.1:%s\n"
		 "smtp_user = %s\n"
		 "smtp_password = %s\n"
		 "smtp_ca_file = %s/ssl/cert.pem\n"
		 "bot_address = %s\n"
		 "token_secret = " SECRET "\n"
		 "%s",
		 b->dir, getenv("IMAP_PORT") ? getenv("IMAP_PORT") : "14143",
		 addr, pass, mt,
		 getenv("SUBMIT_PORT") ? getenv("SUBMIT_PORT") : "14587", addr,
		 pass, mt, addr, extra ? extra : "");
	assert_int_equal(test_write_file(b->conf, text, strlen(text)), 0);
	assert_int_equal(chmod(b->conf, 0600), 0);
}

/* Bots still running when a test fails; the teardown stops them. */
static pid_t live[4];

static int
kill_live(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(live) / sizeof(live[0]); i++) {
		if (live[i] > 0)
			e2e_stop_bot(live[i]);
		live[i] = 0;
	}
	return 0;
}

static void
bot_start(struct bot *b)
{
	b->pid = e2e_start_bot(b->conf, b->log);
	assert_true(b->pid > 0);
	for (size_t i = 0; i < sizeof(live) / sizeof(live[0]); i++)
		if (live[i] <= 0) {
			live[i] = b->pid;
			break;
		}
	assert_true(e2e_wait_file(b->log, "caught up", 1, WAIT));
}

static void
forget(pid_t pid)
{
	for (size_t i = 0; i < sizeof(live) / sizeof(live[0]); i++)
		if (live[i] == pid)
			live[i] = 0;
}

static void
bot_stop(struct bot *b)
{
	pid_t pid = b->pid;

	b->pid = 0;
	forget(pid);
	assert_int_equal(e2e_stop_bot(pid), 0);
}

static void
bot_done(struct bot *b)
{
	char cmd[700];

	if (b->pid) {
		forget(b->pid);
		e2e_stop_bot(b->pid);
	}
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", b->dir);
	if (system(cmd) != 0)
		print_message("could not remove %s\n", b->dir);
	free(b->dir);
}

/* Run the bot CLI with b's config; exit status, output in *out. */
static int
bot_cli(struct bot *b, char **out, char **err, const char *a1,
	const char *a2, const char *a3, const char *a4, const char *a5)
{
	char *argv[9] = { "-c", b->conf, (char *)a1, (char *)a2, (char *)a3,
			  (char *)a4, (char *)a5, NULL, NULL };

	return test_run_bot(argv, out, err);
}

static const char *const everyone[] = { "bot", "bot2", "alice", "bob",
					"carol", "eve" };

static const char *
e2e_setup(const char *who)
{
	const char *mt = e2e_env(who);

	if (!mt)
		return NULL;
	/* real time: tokens, rate limits and Date fields as in life */
	unsetenv("KVMARM_NOW");
	for (size_t i = 0; i < sizeof(everyone) / sizeof(everyone[0]); i++)
		assert_int_equal(e2e_maildir_clear(mt, everyone[i]), 0);
	return mt;
}

/* A mail from from to to, with optional In-Reply-To/References. */
static void
send_mail(const char *from, const char *to, const char *id,
	  const char *subject, const char *irt, const char *extra_hdr,
	  const char *body)
{
	char raw[8192];

	snprintf(raw, sizeof(raw),
		 "Date: Thu, 26 Nov 2026 03:00:00 +0000\r\n"
		 "From: %s\r\n"
		 "To: %s\r\n"
		 "Message-ID: <%s>\r\n"
		 "Subject: %s\r\n"
		 "%s%s%s%s%s%s"
		 "MIME-Version: 1.0\r\n"
		 "Content-Type: text/plain; charset=UTF-8\r\n"
		 "\r\n"
		 "%s",
		 from, to, id, subject, irt ? "In-Reply-To: <" : "",
		 irt ? irt : "", irt ? ">\r\nReferences: <" : "",
		 irt ? irt : "", irt ? ">\r\n" : "", extra_hdr ? extra_hdr : "",
		 body);
	{
		/* the envelope sender is the address inside <...> */
		const char *lt = strchr(from, '<');
		char env[200];

		snprintf(env, sizeof(env), "%s", lt ? lt + 1 : from);
		env[strcspn(env, ">")] = '\0';
		assert_int_equal(e2e_smtp_send(env, to, raw), 0);
	}
}

/* The first mail in user's box whose header name holds needle. */
static int
find_mail(const char *user, const char *pass, const char *name,
	  const char *needle, struct e2e_mail **all, size_t *n)
{
	assert_int_equal(e2e_imap_fetch(user, pass, all, n), 0);
	for (size_t i = 0; i < *n; i++) {
		char *v = e2e_header(&(*all)[i], name);
		int hit = v && strstr(v, needle);

		free(v);
		if (hit)
			return (int)i;
	}
	return -1;
}

static void
assert_header(const struct e2e_mail *m, const char *name, const char *want)
{
	char *v = e2e_header(m, name);

	if (!v || !strstr(v, want))
		print_message("header %s: '%s', want '%s'\n", name,
			      v ? v : "(absent)", want);
	assert_non_null(v);
	assert_non_null(strstr(v, want));
	free(v);
}

/* body with every run of blanks and newlines as one space (malloc'd) */
static char *
squash(const char *body)
{
	char *s = malloc(strlen(body) + 1);
	size_t k = 0;

	assert_non_null(s);
	for (const char *p = body; *p; p++) {
		int blank = *p == ' ' || *p == '\n' || *p == '\t';

		if (blank && k && s[k - 1] == ' ')
			continue;
		s[k++] = blank ? ' ' : *p;
	}
	s[k] = '\0';
	return s;
}

/* ---- the fake LLM --------------------------------------------------- */

struct fake {
	pid_t pid;
	int port;
};

static void
fake_start(struct fake *f, const char *canned)
{
	char line[128];
	int p[2];
	FILE *in;

	assert_int_equal(pipe(p), 0);
	f->pid = fork();
	assert_true(f->pid >= 0);
	if (f->pid == 0) {
		dup2(p[1], 1);
		close(p[0]);
		close(p[1]);
		execlp("python3", "python3", "tests/fake_llm.py", "--lifetime",
		       "300", "--canned", canned, (char *)NULL);
		_exit(127);
	}
	close(p[1]);
	in = fdopen(p[0], "r");
	assert_non_null(in);
	assert_non_null(fgets(line, sizeof(line), in));
	assert_int_equal(sscanf(line, "READY %d", &f->port), 1);
	fclose(in);
}

static void
fake_stop(struct fake *f)
{
	kill(f->pid, SIGTERM);
	waitpid(f->pid, NULL, 0);
}

/* ---- summarize as a reply in a thread ------------------------------- */

#define CANNED                                                              \
	"The series adds nested virtualization support to kvmtool on "     \
	"arm64, letting a guest run its own guests. This week the "         \
	"reviewers asked for changes to the guest exit path; no newer "     \
	"version was posted yet."

static void
test_e2e_summarize_reply(void **state)
{
	const char *mt = e2e_setup("summarize reply");
	char extra[256], *subj;
	struct e2e_mail *all;
	struct fake llm;
	struct bot b;
	size_t n;
	int i;

	(void)state;
	if (!mt)
		skip();
	fake_start(&llm, CANNED);
	snprintf(extra, sizeof(extra),
		 "llm_url = http://127.0.0.1:%d/v1\nllm_model = fake\n",
		 llm.port);
	bot_setup(&b, mt, "bot@example.test", "botpass", extra, 1);
	bot_start(&b);
	send_mail("Alice <alice@example.test>", "bot@example.test",
		  "req-sum-1@example.test",
		  "Re: [PATCH kvmtool v3 0/6] arm64: Nested virtualization "
		  "support",
		  DEMO_ROOT, NULL,
		  "Summarize, please.\r\n\r\n"
		  "> quoted text of the cover letter that must be ignored\r\n"
		  "\r\n-- \r\nAlice\r\n");
	assert_int_equal(e2e_wait_mails("alice@example.test", "alicepass",
					"In-Reply-To",
					"req-sum-1@example.test", 1, WAIT),
			 1);
	i = find_mail("alice@example.test", "alicepass", "In-Reply-To",
		      "req-sum-1@example.test", &all, &n);
	assert_true(i >= 0);
	assert_header(&all[i], "From", "bot@example.test");
	assert_header(&all[i], "To", "alice@example.test");
	assert_header(&all[i], "References", DEMO_ROOT);
	assert_header(&all[i], "References", "req-sum-1@example.test");
	assert_header(&all[i], "Auto-Submitted", "auto-replied");
	assert_header(&all[i], "Content-Type", "text/plain; charset=UTF-8");
	subj = e2e_header(&all[i], "Subject");
	assert_non_null(subj);
	assert_non_null(strstr(subj, "Re: "));
	assert_non_null(strstr(subj, "Nested virtualization support"));
	free(subj);
	/* the list is not copied by default */
	assert_null(e2e_header(&all[i], "Cc"));
	/* the text is the LLM's summary of that thread, wrapped */
	{
		char *flat = squash(all[i].body);

		assert_non_null(strstr(flat, CANNED));
		free(flat);
	}
	assert_non_null(strstr(all[i].body, "lore.kernel.org/kvmarm/"));
	assert_non_null(strstr(all[i].body, "Generated by kvmarm-bot"));
	assert_null(strstr(all[i].body, "Reviewed-by"));
	e2e_mails_free(all, n);

	/* a thread the bot does not hold: a short answer saying so */
	send_mail("Alice <alice@example.test>", "bot@example.test",
		  "req-sum-2@example.test", "summarize",
		  NULL, NULL, "summarize <nosuch-thread@example.test>\r\n");
	assert_int_equal(e2e_wait_mails("alice@example.test", "alicepass",
					"In-Reply-To",
					"req-sum-2@example.test", 1, WAIT),
			 1);
	i = find_mail("alice@example.test", "alicepass", "In-Reply-To",
		      "req-sum-2@example.test", &all, &n);
	assert_non_null(strstr(all[i].body, "does not hold"));
	assert_non_null(strstr(all[i].body, "from 2025-"));
	e2e_mails_free(all, n);
	/* the private request is not archived: no digest will show it */
	{
		char *out = NULL;
		char *argv[] = { "-c", b.conf, "show", "req-sum-1@example.test",
				 NULL };

		bot_stop(&b);
		assert_int_equal(test_run_bot(argv, &out, NULL), 1);
		free(out);
	}
	bot_done(&b);
	fake_stop(&llm);
}

/* ---- subscribe, confirm, digest, unsubscribe ------------------------- */

static char *
token_from_subject(const char *user, const char *pass, const char *prefix)
{
	struct e2e_mail *all;
	size_t n;
	int i = find_mail(user, pass, "Subject", prefix, &all, &n);
	char *s, *tok;

	assert_true(i >= 0);
	s = e2e_header(&all[i], "Subject");
	tok = strdup(strstr(s, prefix) + strlen(prefix));
	free(s);
	e2e_mails_free(all, n);
	return tok;
}

static void
test_e2e_subscribe_digest_unsubscribe(void **state)
{
	const char *mt = e2e_setup("subscribe/unsubscribe");
	char *tok, *lu, *out = NULL, raw_to[256], *p;
	struct e2e_mail *all;
	struct bot b;
	size_t n;
	int i;

	(void)state;
	if (!mt)
		skip();
	bot_setup(&b, mt, "bot@example.test", "botpass",
		  "digest_recipients = alice@example.test\n", 1);
	bot_start(&b);
	send_mail("Bob <bob@example.test>", "bot@example.test",
		  "req-sub-1@example.test", "subscribe", NULL, NULL,
		  "subscribe en\r\n");
	assert_int_equal(e2e_wait_mails("bob@example.test", "bobpass",
					"Subject", "confirm ", 1, WAIT),
			 1);
	tok = token_from_subject("bob@example.test", "bobpass", "confirm ");
	/* nothing yet: bob is not subscribed before he confirms */
	assert_int_equal(bot_cli(&b, &out, NULL, "subscribers", "list", NULL,
				 NULL, NULL),
			 0);
	assert_null(strstr(out, "bob@example.test"));
	free(out);
	/* a plain reply to the confirmation, as a mail client makes it */
	{
		char subj[200];

		snprintf(subj, sizeof(subj), "Re: confirm %s", tok);
		send_mail("Bob <bob@example.test>", "bot@example.test",
			  "req-sub-2@example.test", subj, NULL, NULL,
			  "\r\n> Someone, probably you, asked to subscribe\r\n");
	}
	assert_int_equal(e2e_wait_mails("bob@example.test", "bobpass",
					"In-Reply-To",
					"req-sub-2@example.test", 1, WAIT),
			 1);
	assert_int_equal(bot_cli(&b, &out, NULL, "subscribers", "list", NULL,
				 NULL, NULL),
			 0);
	assert_non_null(strstr(out, "bob@example.test en"));
	free(out);
	free(tok);

	/* a digest goes out: alice (the list) and bob get it */
	bot_stop(&b);
	assert_int_equal(bot_cli(&b, NULL, NULL, "digest", "--send", "--since",
				 "2025-09-08", "--until=2025-09-15"),
			 0);
	assert_int_equal(e2e_wait_mails("bob@example.test", "bobpass",
					"Subject", "[kvmarm digest]", 1, WAIT),
			 1);
	assert_int_equal(e2e_wait_mails("alice@example.test", "alicepass",
					"Subject", "[kvmarm digest]", 1, WAIT),
			 1);
	i = find_mail("bob@example.test", "bobpass", "Subject",
		      "[kvmarm digest]", &all, &n);
	assert_header(&all[i], "List-Id", "<kvmarm-digest.example.test>");
	assert_header(&all[i], "Precedence", "bulk");
	assert_header(&all[i], "To", "bob@example.test");
	lu = e2e_header(&all[i], "List-Unsubscribe");
	assert_non_null(lu);
	assert_non_null(strstr(all[i].body, "Unsubscribe: mail "
					    "bot+unsubscribe@example.test"));
	e2e_mails_free(all, n);
	/* <mailto:bot+unsubscribe@example.test?subject=unsubscribe%20TOKEN> */
	assert_non_null(strstr(lu, "<mailto:bot+unsubscribe@example.test?"));
	p = strstr(lu, "subject=");
	assert_non_null(p);
	{
		char subj[200];
		size_t k = 0;

		p += 8;
		while (*p && *p != '>' && k + 1 < sizeof(subj)) {
			if (!strncmp(p, "%20", 3)) {
				subj[k++] = ' ';
				p += 3;
			} else {
				subj[k++] = *p++;
			}
		}
		subj[k] = '\0';
		snprintf(raw_to, sizeof(raw_to), "bot+unsubscribe@example.test");
		bot_start(&b);
		/* what a mail client sends for the mailto link */
		send_mail("bob@example.test", raw_to, "req-unsub-1@example.test",
			  subj, NULL, NULL, "\r\n");
	}
	free(lu);
	assert_int_equal(e2e_wait_mails("bob@example.test", "bobpass",
					"In-Reply-To",
					"req-unsub-1@example.test", 1, WAIT),
			 1);
	bot_stop(&b);
	assert_int_equal(bot_cli(&b, &out, NULL, "subscribers", "list", NULL,
				 NULL, NULL),
			 0);
	assert_null(strstr(out, "bob@example.test"));
	free(out);
	/* the next digest: alice gets it, bob does not */
	assert_int_equal(bot_cli(&b, NULL, NULL, "digest", "--send", "--since",
				 "2025-09-01", "--until=2025-09-08"),
			 0);
	assert_int_equal(e2e_wait_mails("alice@example.test", "alicepass",
					"Subject", "[kvmarm digest]", 2, WAIT),
			 2);
	assert_int_equal(e2e_wait_mails("bob@example.test", "bobpass",
					"Subject", "[kvmarm digest]", 2, 3.0),
			 1);
	bot_done(&b);
}

/* ---- moderation ------------------------------------------------------ */

static void
test_e2e_moderation(void **state)
{
	const char *mt = e2e_setup("moderation");
	char *tok, *out = NULL, body[300], audit[700];
	struct bot b;
	char *hold;

	(void)state;
	if (!mt)
		skip();
	bot_setup(&b, mt, "bot@example.test", "botpass",
		  "digest_recipients = alice@example.test\n"
		  "moderators = carol@example.test\n"
		  "moderation = digest\n",
		  1);
	assert_int_equal(bot_cli(&b, NULL, NULL, "subscribers", "add",
				 "bob@example.test", NULL, NULL),
			 0);
	/* held: only the moderator gets the (numbered) draft */
	assert_int_equal(bot_cli(&b, &out, NULL, "digest", "--send", "--since",
				 "2025-09-08", "--until=2025-09-15"),
			 0);
	assert_non_null(strstr(out, "held for moderation"));
	free(out);
	assert_int_equal(e2e_wait_mails("carol@example.test", "carolpass",
					"Subject", "[hold #1 ", 1, WAIT),
			 1);
	{
		struct e2e_mail *all;
		size_t n;
		int i = find_mail("carol@example.test", "carolpass", "Subject",
				  "[hold #1 ", &all, &n);

		assert_non_null(strstr(all[i].body, "approve 1 mod-1."));
		assert_non_null(strstr(all[i].body, "<1> "));
		assert_non_null(strstr(all[i].body, "drop <N>"));
		e2e_mails_free(all, n);
	}
	hold = token_from_subject("carol@example.test", "carolpass",
				  "[hold #1 ");
	tok = strndup(hold, strcspn(hold, "]"));
	free(hold);
	assert_int_equal(e2e_wait_mails("alice@example.test", "alicepass",
					"Subject", "digest", 1, 2.0),
			 0);
	assert_int_equal(e2e_wait_mails("bob@example.test", "bobpass",
					"Subject", "digest", 1, 0.5),
			 0);

	bot_start(&b);
	/* eve is no moderator, even with the right token */
	snprintf(body, sizeof(body), "approve 1 %s\r\n", tok);
	send_mail("Eve <eve@example.test>", "bot@example.test",
		  "forged-1@example.test", "Re: [hold #1]", NULL, NULL, body);
	/* carol's address with a wrong token */
	send_mail("Carol <carol@example.test>", "bot@example.test",
		  "forged-2@example.test", "approve", NULL, NULL,
		  "approve 1 mod-1.kzzzzz.0123456789abcdef01234567\r\n");
	assert_true(e2e_wait_file(b.log, "who is not a moderator", 1, WAIT));
	assert_true(e2e_wait_file(b.log, "refused", 1, WAIT));
	assert_int_equal(e2e_wait_mails("bob@example.test", "bobpass",
					"Subject", "digest", 1, 3.0),
			 0);
	/* the genuine approval, sent twice: the digest goes out once */
	send_mail("Carol <carol@example.test>", "bot@example.test",
		  "approve-1@example.test", "Re: [hold #1]", NULL, NULL, body);
	assert_int_equal(e2e_wait_mails("bob@example.test", "bobpass",
					"Subject", "[kvmarm digest]", 1, WAIT),
			 1);
	assert_int_equal(e2e_wait_mails("alice@example.test", "alicepass",
					"Subject", "[kvmarm digest]", 1, WAIT),
			 1);
	send_mail("Carol <carol@example.test>", "bot@example.test",
		  "approve-2@example.test", "Re: [hold #1]", NULL, NULL, body);
	assert_int_equal(e2e_wait_mails("carol@example.test", "carolpass",
					"In-Reply-To",
					"approve-2@example.test", 1, WAIT),
			 1);
	assert_int_equal(e2e_wait_mails("bob@example.test", "bobpass",
					"Subject", "[kvmarm digest]", 2, 3.0),
			 1);
	assert_int_equal(e2e_wait_mails("alice@example.test", "alicepass",
					"Subject", "[kvmarm digest]", 2, 0.5),
			 1);
	bot_stop(&b);
	/* the audit log has the refusals and the approval, no token */
	snprintf(audit, sizeof(audit), "%s/state/audit.log", b.dir);
	assert_true(e2e_count_in_file(audit, "eve@example.test approve 1 "
					     "refused") == 1);
	assert_true(e2e_count_in_file(audit, "carol@example.test approve 1 "
					     "refused") >= 1);
	assert_true(e2e_count_in_file(audit, "carol@example.test approve 1 "
					     "ok") == 1);
	assert_int_equal(e2e_count_in_file(audit, tok), 0);
	assert_int_equal(bot_cli(&b, &out, NULL, "moderate", "list", NULL,
				 NULL, NULL),
			 0);
	assert_non_null(strstr(out, "1 APPROVED digest"));
	free(out);
	free(tok);
	bot_done(&b);
}

/* ---- two bots do not loop ------------------------------------------- */

static void
test_e2e_two_bots_no_loop(void **state)
{
	const char *mt = e2e_setup("two bots");
	struct bot a, b;

	(void)state;
	if (!mt)
		skip();
	bot_setup(&a, mt, "bot@example.test", "botpass", NULL, 0);
	bot_setup(&b, mt, "bot2@example.test", "bot2pass", NULL, 0);
	bot_start(&a);
	bot_start(&b);
	/* each bot gets a mail that looks like the other one wrote it */
	send_mail("bot2@example.test", "bot@example.test", "loop-1@example.test",
		  "hello", NULL, NULL, "hello there\r\n");
	send_mail("bot@example.test", "bot2@example.test", "loop-2@example.test",
		  "hello", NULL, NULL, "hello there\r\n");
	/*
	 * Each bot answers the mail it got (the help for an unknown
	 * word); that answer reaches the other bot, which stays silent.
	 */
	assert_true(e2e_wait_file(a.log, "not answered", 1, WAIT));
	assert_true(e2e_wait_file(b.log, "not answered", 1, WAIT));
	/* a grace period: nothing more comes in either box */
	assert_int_equal(e2e_wait_mails("bot2@example.test", "bot2pass",
					"From", "bot@example.test", 3, 5.0),
			 2);	/* the forged trigger + bot's one answer */
	assert_int_equal(e2e_wait_mails("bot@example.test", "botpass", "From",
					"bot2@example.test", 3, 0.5),
			 2);	/* the forged trigger + bot2's one answer */
	assert_int_equal(e2e_count_in_file(a.log, "queued for the responder"),
			 2);
	assert_int_equal(e2e_count_in_file(b.log, "queued for the responder"),
			 2);
	bot_done(&a);
	bot_done(&b);
}

/* ---- a flood from one sender ------------------------------------------ */

#define FLOOD 1000

static void
test_e2e_flood(void **state)
{
	const char *mt = e2e_setup("flood");
	char raw[1024];
	struct bot b;
	size_t got;

	(void)state;
	if (!mt)
		skip();
	bot_setup(&b, mt, "bot@example.test", "botpass", NULL, 1);
	bot_start(&b);
	for (unsigned i = 0; i < FLOOD; i++) {
		snprintf(raw, sizeof(raw),
			 "Date: Thu, 26 Nov 2026 03:00:00 +0000\n"
			 "From: Alice <alice@example.test>\n"
			 "To: bot@example.test\n"
			 "Message-ID: <flood-%u@example.test>\n"
			 "Subject: summarize\n"
			 "\n"
			 "summarize <" DEMO_ROOT ">\n",
			 i);
		assert_int_equal(e2e_maildir_deliver(mt, "bot", raw, i), 0);
		if (i == FLOOD / 2)	/* someone else, mid-flood */
			send_mail("Bob <bob@example.test>", "bot@example.test",
				  "bob-during-flood@example.test", "summarize",
				  NULL, NULL, "summarize <" DEMO_ROOT ">\r\n");
	}
	assert_true(e2e_wait_file(b.log, "summarize limit reached",
				  FLOOD - 5, 300.0));
	/* bob is served */
	assert_int_equal(e2e_wait_mails("bob@example.test", "bobpass",
					"In-Reply-To", DEMO_ROOT, 1, WAIT),
			 1);
	got = e2e_wait_mails("alice@example.test", "alicepass", "From",
			     "bot@example.test", 6, 5.0);
	print_message("flood: %u mails from one sender, %zu answers\n", FLOOD,
		      got);
	assert_int_equal(got, 5);
	bot_done(&b);
}

/* ---- the list from public-inbox, requests from a second mailbox ------ */

static void
test_e2e_public_inbox_commands(void **state)
{
	const char *mt = e2e_setup("public-inbox + commands mailbox");
	char text[4096], id[128], *out = NULL;
	struct bot b;

	(void)state;
	if (!mt)
		skip();
	/* the state gets its list mail from public-inbox-imapd only */
	memset(&b, 0, sizeof(b));
	b.addr = "bot@example.test";
	b.dir = test_tmpdir("cmd-e2e-pi");
	assert_non_null(b.dir);
	snprintf(b.conf, sizeof(b.conf), "%s/bot.conf", b.dir);
	snprintf(b.log, sizeof(b.log), "%s/bot.log", b.dir);
	snprintf(text, sizeof(text),
		 "state_dir = %s/state\n"
		 "imap_url = imap://127.0.0.1:%s/%s.*\n"
		 "imap_starttls = no\n"
		 "imap_poll_seconds = 5\n"
		 "imap_ca_file = %s/ssl/cert.pem\n"
		 "commands_imap_url = imaps://127.0.0.1:%s/INBOX\n"
		 "commands_imap_user = bot@example.test\n"
		 "commands_imap_password = botpass\n"
		 "smtp_url = smtp://127.0.0.1:%s\n"
		 "smtp_user = bot@example.test\n"
		 "smtp_password = botpass\n"
		 "smtp_ca_file = %s/ssl/cert.pem\n"
		 "bot_address = bot@example.test\n",
		 b.dir, getenv("PI_IMAP_PORT") ? getenv("PI_IMAP_PORT") : "14144",
		 getenv("PI_NEWSGROUP") ? getenv("PI_NEWSGROUP") : "test.kvmarm",
		 mt, getenv("IMAPS_PORT") ? getenv("IMAPS_PORT") : "14993",
		 getenv("SUBMIT_PORT") ? getenv("SUBMIT_PORT") : "14587", mt);
	assert_int_equal(test_write_file(b.conf, text, strlen(text)), 0);
	assert_int_equal(chmod(b.conf, 0600), 0);
	/* a Bcc in the commands mailbox: not for the bot, not the list */
	assert_int_equal(e2e_smtp_send("bob@example.test", "bot@example.test",
				       "From: bob@example.test\r\n"
				       "To: someone@example.test\r\n"
				       "Message-ID: <pi-noise@example.test>\r\n"
				       "Subject: [PATCH] not list mail\r\n"
				       "\r\n"
				       "summarize\r\n"),
			 0);
	bot_start(&b);
	/* a request about the seed mail public-inbox serves */
	snprintf(id, sizeof(id), "pi-req.%ld@example.test", (long)getpid());
	send_mail("Alice <alice@example.test>", "bot@example.test", id,
		  "Re: [PATCH] KVM: arm64: first mail of the test inbox",
		  "pi-seed-1@example.test", NULL, "summarize\r\n");
	assert_int_equal(e2e_wait_mails("alice@example.test", "alicepass",
					"In-Reply-To", id, 1, WAIT),
			 1);
	bot_stop(&b);
	{
		char *argv[] = { "-c", b.conf, "show", id, NULL };

		/* requests are never archived from the commands mailbox */
		assert_int_equal(test_run_bot(argv, &out, NULL), 1);
		free(out);
	}
	{
		char *argv[] = { "-c", b.conf, "show", "pi-noise@example.test",
				 NULL };

		assert_int_equal(test_run_bot(argv, &out, NULL), 1);
		free(out);
	}
	assert_int_equal(e2e_count_in_file(b.log, "queued for the responder"),
			 1);
	{
		char *argv[] = { "-c", b.conf, "show", "pi-seed-1@example.test",
				 NULL };

		assert_int_equal(test_run_bot(argv, &out, NULL), 0);
		free(out);
	}
	bot_done(&b);
}

TEST_LIST(commands_e2e,
	  cmocka_unit_test_teardown(test_e2e_summarize_reply, kill_live),
	  cmocka_unit_test_teardown(test_e2e_subscribe_digest_unsubscribe,
				    kill_live),
	  cmocka_unit_test_teardown(test_e2e_moderation, kill_live),
	  cmocka_unit_test_teardown(test_e2e_two_bots_no_loop, kill_live),
	  cmocka_unit_test_teardown(test_e2e_flood, kill_live),
	  cmocka_unit_test_teardown(test_e2e_public_inbox_commands,
				    kill_live));
