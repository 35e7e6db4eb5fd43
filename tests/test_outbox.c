/*
 * test_outbox.c - the durable outbox, the mailer and `digest --send`.
 *
 * Unit part: a digest window is queued once, retries back off, a
 * permanent failure is kept.  End-to-end part (needs the loopback mail
 * servers of tests/e2e, $MAILTEST_DIR; skipped visibly without): the
 * digest goes through Dovecot submission (STARTTLS + AUTH) into bob's
 * Maildir, survives an SMTP outage and kill -9 at each step of a send.
 */
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "config.h"
#include "digest.h"
#include "import.h"
#include "mailer.h"
#include "message.h"
#include "outbox.h"
#include "schedule.h"
#include "smtp.h"
#include "store.h"
#include "testutil.h"

#define CLOSED_PORT_URL "smtp://127.0.0.1:14599"
/* Monday 2025-09-15 09:00 in Asia/Shanghai: the end of the demo week */
#define DEMO_DUE 1757898000

static void
set(char **field, const char *v)
{
	free(*field);
	*field = strdup(v);
	assert_non_null(*field);
}

static void
cfg_base(struct config *cfg, const char *smtp_url)
{
	const char *mt = getenv("MAILTEST_DIR");
	char ca[4096];

	assert_int_equal(config_init(cfg), 0);
	set(&cfg->smtp_url, smtp_url);
	set(&cfg->smtp_user, "bot@example.test");
	set(&cfg->smtp_password, "botpass");
	set(&cfg->bot_address, "bot@example.test");
	set(&cfg->digest_recipients, "bob@example.test");
	set(&cfg->digest_schedule, "Mon 09:00");
	set(&cfg->digest_timezone, "Asia/Shanghai");
	set(&cfg->digest_lang, "zh");
	if (mt) {
		snprintf(ca, sizeof(ca), "%s/ssl/cert.pem", mt);
		set(&cfg->smtp_ca_file, ca);
	}
}

static struct store *
open_store(char **dir, int with_demo)
{
	struct import_options io = {0};
	struct import_stats st = {0};
	struct store *s;

	*dir = test_tmpdir("outbox");
	assert_non_null(*dir);
	assert_int_equal(store_open(*dir, 0, &s), 0);
	if (with_demo)
		assert_int_equal(import_path(s, "tests/data/demo-week.mbox",
					     &io, &st), 0);
	return s;
}

static int
count_outbox(const void *k, size_t kl, const void *v, size_t vl, void *ctx)
{
	(*(int *)ctx)++;
	return 0;
}

static int
outbox_records(struct store *s)
{
	struct store_txn *txn;
	int n = 0;

	assert_int_equal(store_begin(s, 0, &txn), 0);
	assert_int_equal(store_kv_foreach(txn, STORE_DB_OUTBOX, NULL, 0,
					  count_outbox, &n), 0);
	store_abort(txn);
	return n;
}

static char *
digest_msgid(struct store *s, int64_t since, int64_t until)
{
	struct store_txn *txn;
	char key[64], *id = NULL;

	snprintf(key, sizeof(key), "digest:%lld:%lld", (long long)since,
		 (long long)until);
	assert_int_equal(store_begin(s, 0, &txn), 0);
	assert_int_equal(outbox_find_key(txn, key, &id), 0);
	store_abort(txn);
	return id;
}

static void
item(struct store *s, const char *id, struct outbox_item *it)
{
	struct store_txn *txn;

	assert_int_equal(store_begin(s, 0, &txn), 0);
	assert_int_equal(outbox_get(txn, id, it), 0);
	store_abort(txn);
}

static void
test_outbox_queue_once_per_window(void **state)
{
	static const char *const rc[] = {"bob@example.test"};
	struct store_txn *txn;
	struct config cfg;
	struct store *s;
	char *dir, *id;

	cfg_base(&cfg, CLOSED_PORT_URL);
	s = open_store(&dir, 0);
	assert_int_equal(mailer_queue_digest(s, &cfg, DEMO_DUE - 604800,
					     DEMO_DUE, DEMO_DUE, NULL), 0);
	assert_int_equal(mailer_queue_digest(s, &cfg, DEMO_DUE - 604800,
					     DEMO_DUE, DEMO_DUE + 5, "en"), 1);
	assert_int_equal(outbox_records(s), 2);	/* one m: and one k: */
	id = digest_msgid(s, DEMO_DUE - 604800, DEMO_DUE);
	assert_non_null(strstr(id, "@example.test"));

	/* the key and the id are both unique, also for raw queueing */
	assert_int_equal(store_begin(s, 1, &txn), 0);
	assert_int_equal(outbox_queue(txn, "other@example.test", rc, 1, "x\r\n",
				      3, "digest:1:2", 0), 0);
	assert_int_equal(outbox_queue(txn, "third@example.test", rc, 1, "x\r\n",
				      3, "digest:1:2", 0), 1);
	assert_int_equal(outbox_queue(txn, id, rc, 1, "x\r\n", 3, NULL, 0), 1);
	assert_int_equal(outbox_queue(txn, "bad id@x", rc, 1, "x", 1, NULL, 0),
			 -1);
	assert_int_equal(outbox_queue(txn, "ok@x", rc, 0, "x", 1, NULL, 0), -1);
	assert_int_equal(store_commit(txn), 0);
	assert_int_equal(outbox_records(s), 4);
	free(id);
	store_close(s);
	free(dir);
	config_release(&cfg);
}

static void
test_outbox_backoff_and_failure(void **state)
{
	struct outbox_item it;
	struct config cfg;
	struct store *s;
	int64_t now = DEMO_DUE + 60, next;
	char *dir, *id;

	cfg_base(&cfg, CLOSED_PORT_URL);
	s = open_store(&dir, 0);
	/* due digest queued, first send fails: nothing lost */
	assert_int_equal(mailer_tick(s, &cfg, now, &next), 0);
	id = digest_msgid(s, DEMO_DUE - 604800, DEMO_DUE);
	item(s, id, &it);
	assert_int_equal(it.state, OUTBOX_QUEUED);
	assert_int_equal(it.attempts, 1);
	assert_int_equal(it.next_try, now + 30);
	assert_true(it.raw_len > 100);
	outbox_item_release(&it);
	assert_int_equal(next, now + 30);

	/* not due yet: no attempt; the wake-up stays the retry */
	assert_int_equal(mailer_tick(s, &cfg, now + 10, &next), 0);
	item(s, id, &it);
	assert_int_equal(it.attempts, 1);
	outbox_item_release(&it);
	assert_int_equal(next, now + 30);

	/* 30, 60, 120 ... capped at 3600 */
	int64_t t = now + 30, want[] = {60, 120, 240, 480, 960, 1920, 3600,
					3600};
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		assert_int_equal(outbox_flush(s, &cfg, t, NULL), 0);
		item(s, id, &it);
		assert_int_equal(it.attempts, i + 2);
		assert_int_equal(it.next_try, t + want[i]);
		t = it.next_try;
		outbox_item_release(&it);
	}
	/* no more queueing: the window is the same */
	assert_int_equal(outbox_records(s), 2);

	/* a permanent error (a URL that can never work) is kept, failed */
	set(&cfg.smtp_url, "http://127.0.0.1:14599");
	assert_int_equal(outbox_flush(s, &cfg, t, &next), 0);
	item(s, id, &it);
	assert_int_equal(it.state, OUTBOX_FAILED);
	assert_true(it.raw_len > 100);
	outbox_item_release(&it);
	next = 0;
	assert_int_equal(outbox_flush(s, &cfg, t + 86400, &next), 0);
	assert_int_equal(next, 0);	/* nothing pending: untouched */

	/* next wake-up is the next schedule instant when nothing waits */
	assert_int_equal(mailer_tick(s, &cfg, t, &next), 0);
	assert_true(next > t && next <= t + 604800);
	free(id);
	store_close(s);
	free(dir);
	config_release(&cfg);
}

/* Down for three weeks: one digest, for the most recent week only. */
static void
test_outbox_missed_weeks_once(void **state)
{
	struct config cfg;
	struct store *s;
	int64_t now = DEMO_DUE + 3 * 604800 + 3600, next;
	char *dir, *id;

	cfg_base(&cfg, CLOSED_PORT_URL);
	s = open_store(&dir, 0);
	assert_int_equal(mailer_tick(s, &cfg, now, &next), 0);
	assert_int_equal(outbox_records(s), 2);
	id = digest_msgid(s, DEMO_DUE + 2 * 604800, DEMO_DUE + 3 * 604800);
	assert_non_null(id);
	free(id);
	/* later ticks in the same week queue nothing more */
	assert_int_equal(mailer_tick(s, &cfg, now + 86400, &next), 0);
	assert_int_equal(outbox_records(s), 2);
	/* the next week's instant queues the next digest */
	assert_int_equal(mailer_tick(s, &cfg, DEMO_DUE + 4 * 604800, &next),
			 0);
	assert_int_equal(outbox_records(s), 4);
	store_close(s);
	free(dir);
	config_release(&cfg);
}

/* ---- end to end -------------------------------------------------- */

static const char *
e2e(const char *who)
{
	const char *mt = getenv("MAILTEST_DIR");

	if (!mt || !*mt) {
		printf("SKIP %s: MAILTEST_DIR unset (no loopback mail "
		       "servers, see tests/e2e)\n", who);
		return NULL;
	}
	return mt;
}

/*
 * Count the mails in bob's Maildir whose Message-ID is id, waiting up
 * to secs for at least want of them (delivery goes through OpenSMTPD's
 * queue).  *first gets the raw bytes of one of them when not NULL.
 */
static int
bob_count(const char *mt, const char *id, int want, int secs, char **first)
{
	char dir[4096], path[8192], needle[1100];
	int n = 0;

	snprintf(dir, sizeof(dir), "%s/mail/example.test/bob/Maildir/new", mt);
	snprintf(needle, sizeof(needle), "Message-ID: <%s>", id);
	for (int tries = 0; tries <= secs * 10; tries++) {
		DIR *d = opendir(dir);
		struct dirent *e;

		n = 0;
		while (d && (e = readdir(d))) {
			size_t len;
			char *raw;

			if (e->d_name[0] == '.')
				continue;
			snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
			raw = test_read_file(path, &len);
			if (raw && strstr(raw, needle)) {
				n++;
				if (first && !*first) {
					*first = raw;
					raw = NULL;
				}
			}
			free(raw);
		}
		if (d)
			closedir(d);
		if (n >= want && tries >= (want == 0 ? secs * 10 : 0))
			break;
		usleep(100000);
	}
	return n;
}

/* The text digest the mailer renders for the demo week, for comparison. */
static char *
expected_body(struct store *s, int64_t now)
{
	struct digest_options opt = {0};
	struct store_txn *txn;
	struct digest d;
	struct buf b;

	opt.since = DEMO_DUE - 604800;
	opt.until = DEMO_DUE;
	opt.now = now;
	opt.lang = "zh";
	opt.list_name = "kvmarm";
	opt.timezone = "Asia/Shanghai";
	buf_init(&b, 0);
	assert_int_equal(store_begin(s, 0, &txn), 0);
	assert_int_equal(digest_build(txn, &opt, &d), 0);
	assert_int_equal(digest_render(&d, DIGEST_TEXT, &b), 0);
	digest_release(&d);
	store_abort(txn);
	{
		/* every bot mail ends with the footer */
		struct config cfg;

		cfg_base(&cfg, "smtp://127.0.0.1:1");
		assert_int_equal(mailer_footer(&cfg, "zh", &b), 0);
		config_release(&cfg);
	}
	return buf_detach(&b, NULL);
}

static void
check_delivered(const char *raw, const char *id, const char *body,
		int64_t date)
{
	struct message msg;
	const char *err;

	assert_int_equal(message_parse(raw, strlen(raw), &msg, &err), 0);
	assert_string_equal(msg.message_id, id);
	assert_non_null(strstr(id, "@example.test"));
	assert_int_equal(strncmp(msg.subject, "[kvmarm 周报] 2025-09-08 .. "
				 "2025-09-14：", strlen("[kvmarm 周报] "
				 "2025-09-08 .. 2025-09-14：")), 0);
	assert_non_null(strstr(msg.subject, " 封邮件，"));
	assert_null(strstr(msg.subject, "：0 封邮件"));	/* the demo week */
	if (body)
		assert_string_equal(msg.body, body);
	assert_non_null(strstr(msg.body, "kvmarm"));
	assert_string_equal(msg.auto_submitted, "auto-generated");
	assert_string_equal(msg.x_loop, "bot@example.test");
	assert_string_equal(msg.precedence, "bulk");
	assert_string_equal(msg.from_addr, "bot@example.test");
	if (date)
		assert_int_equal(msg.date, date);
	assert_int_equal(msg.flags & (MESSAGE_BAD_CHARSET | MESSAGE_BAD_MIME),
			 0);
	message_release(&msg);
}

/* The digest is due while the SMTP server is unreachable. */
static void
test_outbox_e2e_smtp_down_then_back(void **state)
{
	const char *mt = e2e(__func__);
	struct outbox_item it;
	struct config cfg;
	struct store *s;
	int64_t now = DEMO_DUE + 120, next;
	char *dir, *id, *raw = NULL, *body;

	if (!mt)
		skip();
	cfg_base(&cfg, CLOSED_PORT_URL);
	s = open_store(&dir, 1);
	assert_int_equal(mailer_tick(s, &cfg, now, &next), 0);
	assert_int_equal(next, now + 30);
	id = digest_msgid(s, DEMO_DUE - 604800, DEMO_DUE);
	assert_int_equal(bob_count(mt, id, 0, 1, NULL), 0);

	/* the operator fixes the configuration (SIGHUP) */
	set(&cfg.smtp_url, "smtp://127.0.0.1:14587");
	assert_int_equal(mailer_tick(s, &cfg, now + 10, &next), 0); /* early */
	assert_int_equal(mailer_tick(s, &cfg, now + 30, &next), 1);
	assert_int_equal(mailer_tick(s, &cfg, now + 60, &next), 0);
	assert_int_equal(mailer_tick(s, &cfg, now + 86400, &next), 0);
	item(s, id, &it);
	assert_int_equal(it.state, OUTBOX_SENT);
	assert_int_equal(it.attempts, 2);
	assert_int_equal(it.raw_len, 0);
	outbox_item_release(&it);

	assert_int_equal(bob_count(mt, id, 1, 10, &raw), 1);
	body = expected_body(s, now);
	check_delivered(raw, id, body, now);
	/* nothing else arrives later */
	assert_int_equal(bob_count(mt, id, 2, 2, NULL), 1);
	free(body);
	free(raw);
	free(id);
	store_close(s);
	free(dir);
	config_release(&cfg);
}

/* smtp_send's sorting of outcomes against the real submission service. */
static void
test_outbox_e2e_smtp_outcomes(void **state)
{
	static const char *const bob[] = {"bob@example.test"};
	static const char *const nobody[] = {"nobody@example.test"};
	const char *mt = e2e(__func__);
	const char mail[] = "From: bot@example.test\r\nTo: bob@example.test\r\n"
			    "Subject: smtp outcome probe\r\n"
			    "Message-ID: <probe.smtps@example.test>\r\n\r\n"
			    ".a dot line\r\nbody\r\n";
	struct config cfg;
	char *raw = NULL;

	if (!mt)
		skip();
	/* implicit TLS with AUTH */
	cfg_base(&cfg, "smtps://127.0.0.1:14465");
	assert_int_equal(smtp_send(&cfg, bob, 1, mail, strlen(mail)), SMTP_SENT);
	assert_int_equal(bob_count(mt, "probe.smtps@example.test", 1, 10, &raw),
			 1);
	/* libcurl dot-stuffed the line and the server unstuffed it */
	assert_non_null(strstr(raw, "\n.a dot line\n"));
	free(raw);
	/* unknown recipient: 5xx, permanent */
	set(&cfg.smtp_url, "smtp://127.0.0.1:14587");
	assert_int_equal(smtp_send(&cfg, nobody, 1, mail, strlen(mail)),
			 SMTP_PERMANENT);
	/* wrong password: 535, permanent */
	set(&cfg.smtp_password, "wrong");
	assert_int_equal(smtp_send(&cfg, bob, 1, mail, strlen(mail)),
			 SMTP_PERMANENT);
	/* a server certificate no configured CA signed: not sent, retried */
	set(&cfg.smtp_password, "botpass");
	set(&cfg.smtp_ca_file, "");
	assert_int_equal(smtp_send(&cfg, bob, 1, mail, strlen(mail)),
			 SMTP_TEMPORARY);
	/* nothing is ever sent in clear when STARTTLS is required: the
	 * plain relay port offers no STARTTLS */
	set(&cfg.smtp_url, "smtp://127.0.0.1:14025");
	assert_int_not_equal(smtp_send(&cfg, bob, 1, mail, strlen(mail)),
			     SMTP_SENT);
	config_release(&cfg);
}

/* A state directory with the demo week and a config file for the bot. */
static char *
bot_setup(const char *mt, char **conf)
{
	char *dir = test_tmpdir("send"), *text;
	char *argv[] = {"--state", NULL, "import", "tests/data/demo-week.mbox",
			NULL};
	size_t n = 8192;

	assert_non_null(dir);
	argv[1] = dir;
	assert_int_equal(test_run_bot(argv, NULL, NULL), 0);
	text = malloc(n);
	*conf = malloc(4200);
	assert_non_null(text);
	assert_non_null(*conf);
	snprintf(text, n,
		 "state_dir = %s\n"
		 "smtp_url = smtp://127.0.0.1:14587\n"
		 "smtp_starttls = yes\n"
		 "smtp_user = bot@example.test\n"
		 "smtp_password = env:KVMARM_TEST_SMTP_PASSWORD\n"
		 "smtp_ca_file = %s/ssl/cert.pem\n"
		 "bot_address = bot@example.test\n"
		 "digest_recipients = bob@example.test\n"
		 "digest_schedule = Mon 09:00\n"
		 "digest_timezone = Asia/Shanghai\n"
		 "digest_lang = en\n", dir, mt);
	snprintf(*conf, 4200, "%s.conf", dir);
	assert_int_equal(test_write_file(*conf, text, strlen(text)), 0);
	free(text);
	setenv("KVMARM_TEST_SMTP_PASSWORD", "botpass", 1);
	/* five minutes after the scheduled Monday 09:00 (Shanghai) */
	setenv("KVMARM_NOW", "2025-09-15T01:05:00Z", 1);
	return dir;
}

/* Run `digest --send`; the Message-ID it printed, or NULL. */
static int
send_once(const char *conf, const char *crash, char **id)
{
	char *argv[] = {"-c", (char *)conf, "digest", "--send", "--lang", "zh",
			NULL};
	char *out = NULL, *err = NULL, *a, *b;
	int st;

	if (crash)
		setenv("KVMARM_CRASH_AT", crash, 1);
	st = test_run_bot(argv, &out, &err);
	unsetenv("KVMARM_CRASH_AT");
	if (id) {
		*id = NULL;
		a = out ? strchr(out, '<') : NULL;
		b = a ? strchr(a, '>') : NULL;
		if (a && b)
			*id = strndup(a + 1, (size_t)(b - a - 1));
	}
	if (st != 0 && !crash)
		printf("digest --send: status %d\n%s%s", st, out ? out : "",
		       err ? err : "");
	free(out);
	free(err);
	return st;
}

static void
bot_teardown(char *dir, char *conf)
{
	unsetenv("KVMARM_NOW");
	unsetenv("KVMARM_TEST_SMTP_PASSWORD");
	free(dir);
	free(conf);
}

/* `digest --send` through Dovecot submission, Chinese, read back. */
static void
test_outbox_e2e_digest_send(void **state)
{
	const char *mt = e2e(__func__);
	struct message msg;
	struct store *s;
	char *dir, *conf, *id, *id2, *raw = NULL, *body;
	const char *err;

	if (!mt)
		skip();
	dir = bot_setup(mt, &conf);
	assert_int_equal(send_once(conf, NULL, &id), 0);
	assert_non_null(id);
	assert_int_equal(bob_count(mt, id, 1, 10, &raw), 1);
	/* the same window again: nothing new is composed or sent */
	assert_int_equal(send_once(conf, NULL, &id2), 0);
	assert_string_equal(id, id2);
	assert_int_equal(bob_count(mt, id, 2, 2, NULL), 1);

	assert_int_equal(store_open(dir, 1, &s), 0);
	body = expected_body(s, DEMO_DUE + 300);
	store_close(s);
	check_delivered(raw, id, body, 0);
	assert_int_equal(message_parse(raw, strlen(raw), &msg, &err), 0);
	assert_true(msg.date >= DEMO_DUE + 300 && msg.date < DEMO_DUE + 900);
	message_release(&msg);
	assert_non_null(strstr(raw, "\nDate: Mon, 15 Sep 2025 01:0"));
	assert_non_null(strstr(raw, "\nContent-Transfer-Encoding: base64"));
	free(body);
	free(raw);
	free(id);
	free(id2);
	bot_teardown(dir, conf);
}

/*
 * kill the sender at each point of a send (KVMARM_CRASH_AT _exit()s as
 * kill -9 would), restart: the digest arrives, once, except after the
 * server's 250 (the documented window) where the resend carries the
 * same Message-ID.
 */
static void
test_outbox_e2e_crash_points(void **state)
{
	static const struct {
		const char *point;
		int copies;
	} cases[] = {{"queued", 1}, {"before-send", 1}, {"after-send", 2}};
	const char *mt = e2e(__func__);

	if (!mt)
		skip();
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *dir, *conf, *id, *id2;
		struct store *s;

		dir = bot_setup(mt, &conf);
		assert_int_equal(send_once(conf, cases[i].point, NULL), 99);
		assert_int_equal(store_open(dir, 1, &s), 0);
		id = digest_msgid(s, DEMO_DUE - 604800, DEMO_DUE);
		store_close(s);
		assert_int_equal(send_once(conf, NULL, &id2), 0);
		assert_string_equal(id, id2);
		assert_int_equal(send_once(conf, NULL, NULL), 0);
		assert_int_equal(bob_count(mt, id, cases[i].copies, 10, NULL),
				 cases[i].copies);
		assert_int_equal(bob_count(mt, id, cases[i].copies + 1, 2,
					   NULL), cases[i].copies);
		printf("crash at %s: %d cop%s of <%s>\n", cases[i].point,
		       cases[i].copies, cases[i].copies > 1 ? "ies" : "y", id);
		free(id);
		free(id2);
		bot_teardown(dir, conf);
	}
}

/* A real kill -9 at a random moment of `digest --send`, then a restart. */
static void
test_outbox_e2e_random_kill(void **state)
{
	const char *mt = e2e(__func__);
	unsigned seed = (unsigned)time(NULL);

	if (!mt)
		skip();
	printf("random kill seed %u\n", seed);
	srand(seed);
	for (int round = 0; round < 4; round++) {
		char *argv[] = {TEST_BOT, "-c", NULL, "digest", "--send", NULL};
		char *dir, *conf, *id, *id2;
		useconds_t delay = (useconds_t)(rand() % 400000);
		struct store *s;
		int status, copies;
		pid_t pid;

		dir = bot_setup(mt, &conf);
		argv[2] = conf;
		pid = fork();
		assert_true(pid >= 0);
		if (pid == 0) {
			int fd = open("/dev/null", O_WRONLY);

			dup2(fd, 1);
			dup2(fd, 2);
			execv(TEST_BOT, argv);
			_exit(127);
		}
		usleep(delay);
		kill(pid, SIGKILL);
		assert_int_equal(waitpid(pid, &status, 0), pid);
		assert_int_equal(send_once(conf, NULL, &id2), 0);
		assert_int_equal(store_open(dir, 1, &s), 0);
		id = digest_msgid(s, DEMO_DUE - 604800, DEMO_DUE);
		store_close(s);
		assert_string_equal(id, id2);
		copies = bob_count(mt, id, 1, 10, NULL);
		copies = bob_count(mt, id, copies + 1, 1, NULL);
		printf("kill -9 after %u ms (%s): %d cop%s of the digest\n",
		       (unsigned)(delay / 1000),
		       WIFSIGNALED(status) ? "killed" : "had finished", copies,
		       copies == 1 ? "y" : "ies");
		/* one, or two with the same Message-ID (the 250 window) */
		assert_true(copies == 1 || copies == 2);
		free(id);
		free(id2);
		bot_teardown(dir, conf);
	}
}

TEST_LIST(outbox,
	  cmocka_unit_test(test_outbox_queue_once_per_window),
	  cmocka_unit_test(test_outbox_backoff_and_failure),
	  cmocka_unit_test(test_outbox_missed_weeks_once),
	  cmocka_unit_test(test_outbox_e2e_smtp_outcomes),
	  cmocka_unit_test(test_outbox_e2e_smtp_down_then_back),
	  cmocka_unit_test(test_outbox_e2e_digest_send),
	  cmocka_unit_test(test_outbox_e2e_crash_points),
	  cmocka_unit_test(test_outbox_e2e_random_kill));
