/*
 * test_imap.c - `kvmarm-bot run` as a user runs it: the IMAP listener,
 * its reconnection and its signals.
 *
 * The end-to-end tests drive the real servers that tests/run starts
 * (tests/e2e/mailtest-env.sh): Dovecot with IDLE, OpenSMTPD delivering
 * into it, public-inbox-imapd.  They skip, visibly, when MAILTEST_DIR is
 * unset.  Every wait is a poll with a deadline, never a fixed sleep.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <dirent.h>

#include <curl/curl.h>

#include "store.h"
#include "testutil.h"

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void
nap(void)
{
	struct timespec ts = { 0, 50 * 1000 * 1000 };

	nanosleep(&ts, NULL);
}

static const char *
bot_binary(void)
{
	const char *b = getenv("KVMARM_TEST_BOT");

	return b && *b ? b : TEST_BOT;
}

static const char *
env_or(const char *name, const char *dflt)
{
	const char *v = getenv(name);

	return v && *v ? v : dflt;
}

/* Write a config file (mode 0600: it may hold a password). */
static char *
write_config(const char *dir, const char *body)
{
	static char path[512];

	snprintf(path, sizeof(path), "%s/bot.conf", dir);
	assert_int_equal(test_write_file(path, body, strlen(body)), 0);
	assert_int_equal(chmod(path, 0600), 0);
	return path;
}

/* Start `kvmarm-bot -c conf run` with stderr into logpath. */
static pid_t
start_bot(const char *conf, const char *logpath)
{
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (pid == 0) {
		int fd = open(logpath, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		if (fd < 0)
			_exit(127);
		dup2(fd, 2);
		dup2(fd, 1);
		execl(bot_binary(), bot_binary(), "-c", conf, "run",
		      (char *)NULL);
		_exit(127);
	}
	return pid;
}

/* SIGTERM the bot and return its exit status (-1: killed/hung). */
static int
stop_bot(pid_t pid)
{
	int st;
	double end = now_s() + 20;

	kill(pid, SIGTERM);
	while (now_s() < end) {
		if (waitpid(pid, &st, WNOHANG) == pid)
			return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
		nap();
	}
	kill(pid, SIGKILL);
	waitpid(pid, &st, 0);
	return -1;
}

/* Wait until the log holds needle; 1 found, 0 deadline passed. */
static int
wait_log(const char *logpath, const char *needle, double secs)
{
	double end = now_s() + secs;

	do {
		char *s = test_read_file(logpath, NULL);
		int hit = s && strstr(s, needle);
		free(s);
		if (hit)
			return 1;
		nap();
	} while (now_s() < end);
	return 0;
}

static int count_in_log(const char *logpath, const char *needle);

/* Wait until needle is in the log at least n times; 1, or 0 (deadline). */
static int
wait_log_count(const char *logpath, const char *needle, int n, double secs)
{
	double end = now_s() + secs;

	do {
		if (count_in_log(logpath, needle) >= n)
			return 1;
		nap();
	} while (now_s() < end);
	return 0;
}

static int
count_in_log(const char *logpath, const char *needle)
{
	char *s = test_read_file(logpath, NULL), *p;
	int n = 0;

	for (p = s; p && (p = strstr(p, needle)); p++)
		n++;
	free(s);
	return n;
}

/* Sum of "N message(s) stored" lines: what the bot says it stored. */
static long
stored_in_log(const char *logpath)
{
	char *s = test_read_file(logpath, NULL), *p;
	long sum = 0;

	for (p = s; p && (p = strstr(p, " message(s) stored")); p++) {
		char *q = p;
		while (q > s && q[-1] >= '0' && q[-1] <= '9')
			q--;
		sum += strtol(q, NULL, 10);
	}
	free(s);
	return sum;
}

static int
store_has(const char *state, const char *id)
{
	struct store *st;
	struct store_txn *txn;
	int r = -1;

	if (store_open(state, 1, &st) < 0)
		return -1;
	if (store_begin(st, 0, &txn) == 0) {
		r = store_has_message(txn, id);
		store_abort(txn);
	}
	store_close(st);
	return r;
}

static long
store_count(const char *state)
{
	struct store *st;
	struct store_txn *txn;
	struct store_stats ss;
	long n = -1;

	if (store_open(state, 1, &st) < 0)
		return -1;
	if (store_begin(st, 0, &txn) == 0) {
		if (store_stats(txn, &ss) == 0)
			n = (long)ss.messages;
		store_abort(txn);
	}
	store_close(st);
	return n;
}

/* --- SMTP delivery through OpenSMTPD ------------------------------- */

struct upload {
	const char *p;
	size_t left;
};

static size_t
read_cb(char *buf, size_t size, size_t n, void *ctx)
{
	struct upload *u = ctx;
	size_t k = size * n < u->left ? size * n : u->left;

	memcpy(buf, u->p, k);
	u->p += k;
	u->left -= k;
	return k;
}

static int
smtp_send(CURL *c, const char *id, const char *subject)
{
	char mail[1024], url[64];
	struct curl_slist *rcpt = curl_slist_append(NULL, "bot@example.test");
	struct upload u;
	int r;

	snprintf(mail, sizeof(mail),
		 "Date: Thu, 26 Nov 2026 03:00:00 +0000\r\n"
		 "From: Alice <alice@example.test>\r\n"
		 "To: bot@example.test\r\n"
		 "Message-ID: <%s>\r\n"
		 "Subject: %s\r\n"
		 "\r\n"
		 "Test mail written for the kvmarm-bot listener test.\r\n",
		 id, subject);
	u.p = mail;
	u.left = strlen(mail);
	snprintf(url, sizeof(url), "smtp://127.0.0.1:%s",
		 env_or("SMTP_PORT", "14025"));
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_MAIL_FROM, "alice@example.test");
	curl_easy_setopt(c, CURLOPT_MAIL_RCPT, rcpt);
	curl_easy_setopt(c, CURLOPT_READFUNCTION, read_cb);
	curl_easy_setopt(c, CURLOPT_READDATA, &u);
	curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
	r = curl_easy_perform(c) == CURLE_OK ? 0 : -1;
	curl_slist_free_all(rcpt);
	return r;
}

static int
env_cmd(const char *args)
{
	char cmd[512];

	snprintf(cmd, sizeof(cmd), "bash tests/e2e/mailtest-env.sh %s", args);
	return system(cmd);
}

static long
maildir_count(const char *dir)
{
	static const char *const sub[] = { "new", "cur" };
	long n = 0;

	for (int i = 0; i < 2; i++) {
		char p[600];
		DIR *d;
		struct dirent *e;

		snprintf(p, sizeof(p), "%s/%s", dir, sub[i]);
		d = opendir(p);
		if (!d)
			continue;
		while ((e = readdir(d)))
			if (e->d_name[0] != '.')
				n++;
		closedir(d);
	}
	return n;
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

#define N_FIRST 50
#define N_MORE 10

/*
 * (a) 50 mails through SMTP while the bot idles, all stored; median
 * latency printed.  (b) Dovecot restarted while the bot idles, 10 more
 * arrive meanwhile: all stored once.  (e) SIGTERM exits 0.
 */
static void
test_imap_idle_delivery_and_restart(void **state)
{
	const char *mt = getenv("MAILTEST_DIR");
	char *dir, conf[1024], logp[512], statep[512], ids[N_FIRST + N_MORE][96];
	double sent[N_FIRST + N_MORE], lat[N_FIRST];
	int seen[N_FIRST + N_MORE] = { 0 };
	char maildir[512];
	long before;
	CURL *c;
	pid_t pid;
	double end;
	int i, done;

	if (!mt) {
		printf("SKIP e2e %s: MAILTEST_DIR unset (tests/run starts "
		       "the mail servers as root)\n", __func__);
		skip();
	}
	dir = test_tmpdir("imap-e2e");
	snprintf(statep, sizeof(statep), "%s/state", dir);
	snprintf(logp, sizeof(logp), "%s/bot.log", dir);
	snprintf(maildir, sizeof(maildir), "%s/mail/example.test/bot/Maildir",
		 mt);
	snprintf(conf, sizeof(conf),
		 "state_dir = %s\n"
		 "imap_url = imaps://127.0.0.1:%s/INBOX\n"
		 "imap_user = bot@example.test\n"
		 "imap_password = botpass\n"
		 "imap_ca_file = %s/ssl/cert.pem\n",
		 statep, env_or("IMAPS_PORT", "14993"), mt);
	pid = start_bot(write_config(dir, conf), logp);
	assert_true(wait_log(logp, "caught up", 20));
	before = store_count(statep);	/* mail others left in the box */
	assert_true(before >= 0);

	c = curl_easy_init();
	assert_non_null(c);
	for (i = 0; i < N_FIRST; i++) {
		snprintf(ids[i], sizeof(ids[i]), "idle-%d.%ld@example.test", i,
			 (long)getpid());
		assert_int_equal(smtp_send(c, ids[i], "listener test"), 0);
		sent[i] = now_s();
	}
	end = now_s() + 60;
	do {
		done = 0;
		for (i = 0; i < N_FIRST; i++) {
			if (!seen[i] && store_has(statep, ids[i]) == 1) {
				seen[i] = 1;
				lat[i] = now_s() - sent[i];
			}
			done += seen[i];
		}
		if (done < N_FIRST)
			nap();
	} while (done < N_FIRST && now_s() < end);
	assert_int_equal(done, N_FIRST);
	qsort(lat, N_FIRST, sizeof(lat[0]), cmp_double);
	printf("imap e2e: %d mails via SMTP stored, median "
	       "delivery-to-stored latency %.0f ms (max %.0f ms)\n", N_FIRST,
	       (lat[N_FIRST / 2 - 1] + lat[N_FIRST / 2]) / 2 * 1000,
	       lat[N_FIRST - 1] * 1000);

	/* (b) Dovecot goes away while the bot idles; mail queues in smtpd */
	assert_int_equal(env_cmd("stop-dovecot"), 0);
	for (i = N_FIRST; i < N_FIRST + N_MORE; i++) {
		snprintf(ids[i], sizeof(ids[i]), "restart-%d.%ld@example.test",
			 i, (long)getpid());
		assert_int_equal(smtp_send(c, ids[i], "during restart"), 0);
	}
	curl_easy_cleanup(c);
	assert_int_equal(env_cmd("start-dovecot"), 0);
	/* make smtpd retry now instead of at its next scheduled attempt */
	if (system("smtpctl schedule all >/dev/null 2>&1") != 0)
		printf("imap e2e: smtpctl schedule all failed\n");
	end = now_s() + 60;
	do {
		done = 0;
		for (i = 0; i < N_FIRST + N_MORE; i++)
			done += store_has(statep, ids[i]) == 1;
		if (done < N_FIRST + N_MORE)
			nap();
	} while (done < N_FIRST + N_MORE && now_s() < end);
	assert_int_equal(done, N_FIRST + N_MORE);
	/* the old session may outlive the master for a moment */
	assert_true(wait_log_count(logp, "connected to", 2, 30));
	assert_true(count_in_log(logp, "reconnecting in") >= 1);
	/* stored once: store, the bot's own count and the Maildir agree */
	assert_int_equal(store_count(statep), before + N_FIRST + N_MORE);
	assert_int_equal(stored_in_log(logp), store_count(statep));
	assert_int_equal(maildir_count(maildir), store_count(statep));

	/* (e) */
	assert_int_equal(stop_bot(pid), 0);
	assert_true(wait_log(logp, "stopped", 1));
	free(dir);	/* test_tmpdir() strdup()s */
}

/* (c) without imap_ca_file the self-signed server is refused. */
static void
test_imap_cert_refused(void **state)
{
	const char *mt = getenv("MAILTEST_DIR");
	char *dir, conf[1024], logp[512];
	pid_t pid;

	if (!mt) {
		printf("SKIP e2e %s: MAILTEST_DIR unset\n", __func__);
		skip();
	}
	dir = test_tmpdir("imap-cert");
	snprintf(logp, sizeof(logp), "%s/bot.log", dir);
	snprintf(conf, sizeof(conf),
		 "state_dir = %s\n"
		 "imap_url = imaps://127.0.0.1:%s/INBOX\n"
		 "imap_user = bot@example.test\n"
		 "imap_password = botpass\n", dir,
		 env_or("IMAPS_PORT", "14993"));
	pid = start_bot(write_config(dir, conf), logp);
	assert_true(wait_log(logp, "reconnecting in 1 s", 10));
	assert_int_equal(stop_bot(pid), 0);
	assert_int_equal(count_in_log(logp, "certificate of 127.0.0.1 refused"),
			 count_in_log(logp, "reconnecting in"));
	assert_int_equal(count_in_log(logp, "connected to"), 0);
	/* the password never reaches the log */
	assert_int_equal(count_in_log(logp, "botpass"), 0);
	free(dir);
}

/* (d) following a public-inbox-imapd newsgroup, new mail is stored. */
static void
test_imap_public_inbox(void **state)
{
	const char *mt = getenv("MAILTEST_DIR");
	char *dir, conf[1024], logp[512], statep[512], mail[512], id[96];
	pid_t pid;
	double end;
	FILE *f;

	if (!mt) {
		printf("SKIP e2e %s: MAILTEST_DIR unset\n", __func__);
		skip();
	}
	dir = test_tmpdir("imap-pi");
	snprintf(statep, sizeof(statep), "%s/state", dir);
	snprintf(logp, sizeof(logp), "%s/bot.log", dir);
	snprintf(conf, sizeof(conf),
		 "state_dir = %s\n"
		 "imap_url = imap://127.0.0.1:%s/%s.*\n"
		 "imap_starttls = no\n", statep,
		 env_or("PI_IMAP_PORT", "14144"),
		 env_or("PI_NEWSGROUP", "test.kvmarm"));
	pid = start_bot(write_config(dir, conf), logp);
	assert_true(wait_log(logp, "caught up", 20));
	assert_int_equal(store_has(statep, "pi-seed-1@example.test"), 1);

	snprintf(id, sizeof(id), "pi-new.%ld@example.test", (long)getpid());
	snprintf(mail, sizeof(mail), "%s/new.eml", dir);
	f = fopen(mail, "w");
	assert_non_null(f);
	fprintf(f, "From: Bob <bob@example.test>\n"
		   "To: test@example.test\n"
		   "Subject: Re: [PATCH] KVM: arm64: first mail\n"
		   "Date: Thu, 26 Nov 2026 03:00:00 +0000\n"
		   "Message-ID: <%s>\n"
		   "In-Reply-To: <pi-seed-1@example.test>\n\n"
		   "A reply, written for the kvmarm-bot tests.\n", id);
	fclose(f);
	{
		char args[600];
		snprintf(args, sizeof(args), "pi-add < '%s'", mail);
		assert_int_equal(env_cmd(args), 0);
	}
	end = now_s() + 30;
	while (store_has(statep, id) != 1 && now_s() < end)
		nap();
	assert_int_equal(store_has(statep, id), 1);
	assert_true(count_in_log(logp, ", IDLE") + count_in_log(logp, ", polling")
		    >= 1);
	assert_int_equal(stop_bot(pid), 0);
	free(dir);
}

/*
 * No server at all: the bot backs off 1 s, 2 s, ... and still exits 0
 * on SIGTERM, at once.  Needs no test environment.
 */
static void
test_imap_backoff_and_sigterm(void **state)
{
	char *dir = test_tmpdir("imap-backoff"), conf[1024], logp[512];
	pid_t pid;
	double t;

	snprintf(logp, sizeof(logp), "%s/bot.log", dir);
	/* port 9 on loopback: nothing listens (connection refused) */
	snprintf(conf, sizeof(conf),
		 "state_dir = %s\n"
		 "imap_url = imaps://127.0.0.1:9/INBOX\n"
		 "imap_user = bot@example.test\n"
		 "imap_password = secret-not-logged\n", dir);
	pid = start_bot(write_config(dir, conf), logp);
	assert_true(wait_log(logp, "reconnecting in 2 s", 15));
	assert_true(count_in_log(logp, "reconnecting in 1 s") == 1);
	assert_int_equal(count_in_log(logp, "reconnecting in 4 s"), 0);
	t = now_s();
	assert_int_equal(stop_bot(pid), 0);
	assert_true(now_s() - t < 5);
	assert_int_equal(count_in_log(logp, "secret-not-logged"), 0);
	free(dir);
}

/*
 * SIGHUP reloads the file: a valid one replaces the running config
 * (the bot reconnects at once, backoff reset), an invalid one is
 * refused and the old config stays.  Needs no test environment.
 */
static void
test_imap_sighup_reload(void **state)
{
	char *dir = test_tmpdir("imap-hup"), conf[1024], logp[512], *path;
	pid_t pid;

	snprintf(logp, sizeof(logp), "%s/bot.log", dir);
	snprintf(conf, sizeof(conf),
		 "state_dir = %s\n"
		 "imap_url = imaps://127.0.0.1:9/INBOX\n", dir);
	path = write_config(dir, conf);
	pid = start_bot(path, logp);
	assert_true(wait_log(logp, "reconnecting in 1 s", 10));
	assert_int_equal(test_write_file(path, "no_such_key = 1\n", 16), 0);
	kill(pid, SIGHUP);
	assert_true(wait_log(logp, "keeping the running configuration", 10));
	snprintf(conf, sizeof(conf),
		 "state_dir = %s\n"
		 "imap_url = imaps://127.0.0.1:7/INBOX\n", dir);
	path = write_config(dir, conf);
	kill(pid, SIGHUP);
	assert_true(wait_log(logp, "configuration reloaded", 10));
	/* the new URL is used at once */
	assert_true(wait_log(logp, "127.0.0.1:7 failed", 10));
	assert_int_equal(stop_bot(pid), 0);
	free(dir);
}

TEST_LIST(imap,
	  cmocka_unit_test(test_imap_backoff_and_sigterm),
	  cmocka_unit_test(test_imap_sighup_reload),
	  cmocka_unit_test(test_imap_cert_refused),
	  cmocka_unit_test(test_imap_public_inbox),
	  cmocka_unit_test(test_imap_idle_delivery_and_restart));
