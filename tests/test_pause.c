/*
 * test_pause.c - `kvmarm-bot pause` holds the outbox.
 *
 * Unit part: while the META "paused" flag is set, outbox_flush() sends
 * nothing (the queued mail keeps attempts 0 and its next_try), logs
 * once, and asks to be woken within a minute; after resume the same
 * flush tries the mail.  Daemon part: `run` on a paused store with a
 * due mail logs the hold once, does not spin, lets `pause --status`,
 * `resume` and `subscribers add` run beside it, tries the mail after
 * resume, and stops on SIGTERM.  The SMTP URL is a closed loopback
 * port: nothing outside this machine is contacted.
 */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "outbox.h"
#include "store.h"
#include "subscriber.h"
#include "e2eutil.h"
#include "testutil.h"

#define CLOSED_PORT_URL "smtp://127.0.0.1:14599"
#define MAIL_ID "pause-test-1@example.test"

static const char mail[] =
	"From: bot@example.test\r\n"
	"To: bob@example.test\r\n"
	"Subject: held\r\n"
	"Message-ID: <" MAIL_ID ">\r\n"
	"\r\n"
	"held while paused\r\n";

static void
set(char **field, const char *v)
{
	free(*field);
	*field = strdup(v);
	assert_non_null(*field);
}

static void
queue_one(struct store *s, int64_t now)
{
	static const char *const rcpt[] = {"bob@example.test"};
	struct store_txn *txn;

	assert_int_equal(store_begin(s, 1, &txn), 0);
	assert_int_equal(outbox_queue(txn, MAIL_ID, rcpt, 1, mail,
				      sizeof(mail) - 1, NULL, now),
			 0);
	assert_int_equal(store_commit(txn), 0);
}

static void
set_paused(struct store *s, int paused)
{
	struct store_txn *txn;

	assert_int_equal(store_begin(s, 1, &txn), 0);
	assert_int_equal(store_set_paused(txn, paused), 0);
	assert_int_equal(store_paused(txn), paused);
	assert_int_equal(store_commit(txn), 0);
}

static void
get_item(struct store *s, struct outbox_item *it)
{
	struct store_txn *txn;

	assert_int_equal(store_begin(s, 0, &txn), 0);
	assert_int_equal(outbox_get(txn, MAIL_ID, it), 0);
	store_abort(txn);
}

/* Run fn's flush with stderr in path; returns what flush returned. */
static int
flush_logged(struct store *s, const struct config *cfg, int64_t now,
	     int64_t *next, const char *path)
{
	int fd, saved, r;

	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0);
	fflush(stderr);
	saved = dup(2);
	assert_true(saved >= 0);
	dup2(fd, 2);
	close(fd);
	r = outbox_flush(s, cfg, now, next);
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	return r;
}

static void
test_pause_holds_outbox(void **state)
{
	char *dir = test_tmpdir("pause"), logpath[4200], *log;
	struct outbox_item it;
	struct config cfg;
	struct store *s;
	int64_t now = 1757898000, next;

	assert_non_null(dir);
	snprintf(logpath, sizeof(logpath), "%s/stderr", dir);
	assert_int_equal(config_init(&cfg), 0);
	set(&cfg.smtp_url, CLOSED_PORT_URL);
	set(&cfg.bot_address, "bot@example.test");
	assert_int_equal(store_open(dir, STORE_OPEN_WRITE, &s), 0);
	queue_one(s, now);
	set_paused(s, 1);

	/* Paused: nothing sent, nothing tried, a look again in 60 s. */
	for (int i = 0; i < 2; i++) {
		next = INT64_MAX;
		assert_int_equal(flush_logged(s, &cfg, now + i, &next,
					      logpath),
				 0);
		assert_int_equal(next, now + i + 60);
		log = test_read_file(logpath, NULL);
		assert_non_null(log);
		assert_non_null(strstr(log, "outbox: paused, 1 mail(s) held"));
		assert_null(strstr(log, "attempt"));
		free(log);
		get_item(s, &it);
		assert_int_equal(it.state, OUTBOX_QUEUED);
		assert_int_equal(it.attempts, 0);
		assert_int_equal(it.next_try, now);
		assert_int_equal(it.raw_len, sizeof(mail) - 1);
		outbox_item_release(&it);
	}
	/* A NULL next_wakeup is fine too (digest --send passes NULL). */
	assert_int_equal(outbox_flush(s, &cfg, now + 2, NULL), 0);

	/* Resumed: the same flush tries it (and the closed port fails). */
	set_paused(s, 0);
	next = INT64_MAX;
	assert_int_equal(flush_logged(s, &cfg, now + 3, &next, logpath), 0);
	log = test_read_file(logpath, NULL);
	assert_non_null(log);
	assert_null(strstr(log, "paused"));
	assert_non_null(strstr(log, "attempt 1 failed"));
	free(log);
	get_item(s, &it);
	assert_int_equal(it.state, OUTBOX_QUEUED);
	assert_int_equal(it.attempts, 1);
	assert_int_equal(next, it.next_try);
	assert_true(it.next_try > now + 3);
	outbox_item_release(&it);

	/* Paused with nothing due: quiet, and the real next_try stands. */
	set_paused(s, 1);
	next = INT64_MAX;
	assert_int_equal(flush_logged(s, &cfg, now + 4, &next, logpath), 0);
	log = test_read_file(logpath, NULL);
	assert_non_null(log);
	assert_null(strstr(log, "paused"));
	free(log);
	get_item(s, &it);
	assert_int_equal(next, it.next_try);
	outbox_item_release(&it);

	store_close(s);
	unlink(logpath);
	config_release(&cfg);
	free(dir);
}

/* --- the daemon ------------------------------------------------------- */

/* The daemon of the test running; the teardown stops it on a failure. */
static pid_t daemon_pid;

static int
stop_daemon(void **state)
{
	int st;

	if (daemon_pid > 0) {
		kill(daemon_pid, SIGKILL);
		waitpid(daemon_pid, &st, 0);
		daemon_pid = 0;
	}
	return 0;
}

static void
test_pause_daemon(void **state)
{
	char *dir = test_tmpdir("pause-run"), conf[4200], logpath[4200];
	char body[8192], *out = NULL, *err = NULL;
	struct outbox_item it;
	struct subscriber sub;
	struct store_txn *txn;
	struct store *s;
	double end;
	pid_t pid;
	int st, n;

	assert_non_null(dir);
	snprintf(conf, sizeof(conf), "%s/bot.conf", dir);
	snprintf(logpath, sizeof(logpath), "%s/run.log", dir);
	n = snprintf(body, sizeof(body),
		     "state_dir = %s/state\n"
		     "smtp_url = " CLOSED_PORT_URL "\n"
		     "bot_address = bot@example.test\n",
		     dir);
	assert_int_equal(test_write_file(conf, body, (size_t)n), 0);
	assert_int_equal(chmod(conf, 0600), 0);
	snprintf(body, sizeof(body), "%s/state", dir);
	assert_int_equal(store_open(body, STORE_OPEN_WRITE, &s), 0);
	queue_one(s, (int64_t)time(NULL) - 10);
	set_paused(s, 1);
	store_close(s);

	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		int fd = open(logpath, O_WRONLY | O_CREAT | O_TRUNC, 0600);

		if (fd < 0)
			_exit(127);
		dup2(fd, 1);
		dup2(fd, 2);
		execl(TEST_BOT, TEST_BOT, "-c", conf, "run", (char *)NULL);
		_exit(127);
	}
	daemon_pid = pid;
	assert_true(e2e_wait_file(logpath, "outbox: paused, 1 mail(s) held", 1,
			       20));
	/* It sleeps until the next look, a minute away: no busy loop. */
	sleep(2);
	assert_int_equal(e2e_count_in_file(logpath, "outbox: paused"), 1);
	assert_int_equal(e2e_count_in_file(logpath, "attempt"), 0);
	assert_int_equal(waitpid(pid, &st, WNOHANG), 0);

	/* The admin commands run beside it (it holds the writer lock). */
	char *status[] = {"-c", conf, "pause", "--status", NULL};
	assert_int_equal(test_run_bot(status, &out, &err), 0);
	assert_string_equal(out, "paused\n");
	free(out);
	free(err);
	char *add[] = {"-c", conf, "subscribers", "add", "Carol@Example.test",
		       "--lang", "zh", NULL};
	assert_int_equal(test_run_bot(add, &out, &err), 0);
	assert_non_null(strstr(out, "added carol@example.test zh "));
	free(out);
	free(err);
	char *resume[] = {"-c", conf, "resume", NULL};
	assert_int_equal(test_run_bot(resume, &out, &err), 0);
	assert_string_equal(out, "not paused\n");
	free(out);
	free(err);

	/*
	 * SIGHUP makes it look at once instead of within the minute:
	 * resumed, it tries the mail (the closed port refuses).
	 */
	kill(pid, SIGHUP);
	assert_true(e2e_wait_file(logpath, "attempt 1 failed", 1, 20));
	assert_int_equal(e2e_count_in_file(logpath, "outbox: paused"), 1);

	kill(pid, SIGTERM);
	end = e2e_now() + 20;
	while (waitpid(pid, &st, WNOHANG) != pid) {
		if (e2e_now() > end) {
			stop_daemon(NULL);
			fail_msg("kvmarm-bot run did not stop on SIGTERM");
		}
		e2e_nap();
	}
	daemon_pid = 0;
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);

	/* What the commands wrote is in the daemon's store. */
	assert_int_equal(store_open(body, STORE_OPEN_READ, &s), 0);
	assert_int_equal(store_begin(s, 0, &txn), 0);
	assert_int_equal(store_paused(txn), 0);
	assert_int_equal(subscriber_get(txn, "carol@example.test", &sub), 0);
	assert_string_equal(sub.lang, "zh");
	assert_int_equal(outbox_get(txn, MAIL_ID, &it), 0);
	assert_int_equal(it.attempts, 1);
	outbox_item_release(&it);
	store_abort(txn);
	store_close(s);
	free(dir);
}

TEST_LIST(pause,
	  cmocka_unit_test(test_pause_holds_outbox),
	  cmocka_unit_test_teardown(test_pause_daemon, stop_daemon));
