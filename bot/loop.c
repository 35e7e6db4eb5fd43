/*
 * loop.c - the event loop of `kvmarm-bot run`.
 *
 * Signals are blocked and read from a signalfd, so they never interrupt
 * a store transaction: a SIGTERM that arrives during a catch-up is seen
 * between two batches (each one a committed transaction) and the loop
 * then exits.  Waiting is a single poll() with the nearest deadline as
 * timeout; nothing spins.
 */
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "imap.h"
#include "log.h"
#include "loop.h"
#include "mailer.h"
#include "responder.h"
#include "store.h"

struct loop {
	struct config *cfg;
	const char *config_path;
	const char *state_dir;
	struct store *store;
	struct imap *im;
	/*
	 * The commands mailbox (commands_imap_url), polled: its own
	 * connection, opened with ccfg, a copy of *cfg whose imap_url,
	 * imap_user and imap_password are the commands_* ones (borrowed
	 * pointers: never released).
	 */
	struct imap *cim;
	struct config ccfg;
	int64_t next_cpoll;	/* monotonic */
	int sfd;
	int stop;
	int reload;
	int backoff;
	int64_t next_connect;	/* monotonic */
	int64_t next_poll;	/* monotonic, NOOP polling */
	int64_t mailer_next;	/* clock_now() time */
};

static int64_t
mono(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec;
}

/* Read every pending signal into flags. */
static void
drain_signals(struct loop *l)
{
	struct signalfd_siginfo si;

	while (read(l->sfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		if (si.ssi_signo == SIGHUP) {
			l->reload = 1;
		} else if (!l->stop) {
			log_info("signal %u: finishing and exiting",
				 si.ssi_signo);
			l->stop = 1;
		}
	}
}

static int
should_stop(void *ctx)
{
	struct loop *l = ctx;

	drain_signals(l);
	return l->stop;
}

static void
drop_connection(struct loop *l)
{
	imap_close(l->im);
	l->im = NULL;
	l->next_connect = mono() + l->backoff;
	log_info("reconnecting in %d s", l->backoff);
	l->backoff = l->backoff * 2 > LOOP_BACKOFF_MAX ? LOOP_BACKOFF_MAX :
		     l->backoff * 2;
}

static void
catch_up(struct loop *l, const char *what)
{
	size_t n = 0;

	if (imap_catch_up(l->im, l->store, should_stop, l, &n) < 0) {
		drop_connection(l);
		return;
	}
	if (n || !strcmp(what, "caught up"))
		log_info("%s: %zu message(s) stored from %s", what, n,
			 imap_mailbox(l->im));
}

static void
close_commands(struct loop *l)
{
	imap_close(l->cim);
	l->cim = NULL;
}

/* Poll the commands mailbox when due: connect or NOOP, then catch up. */
static void
poll_commands(struct loop *l)
{
	const struct config *cfg = l->cfg;
	size_t n = 0;

	/* the same mailbox twice would share one UID cursor: never */
	if (!*cfg->commands_imap_url || mono() < l->next_cpoll ||
	    !strcmp(cfg->commands_imap_url, cfg->imap_url))
		return;
	l->next_cpoll = mono() + cfg->imap_poll_seconds;
	l->ccfg = *cfg;
	l->ccfg.imap_url = cfg->commands_imap_url;
	l->ccfg.imap_user = cfg->commands_imap_user;
	l->ccfg.imap_password = cfg->commands_imap_password;
	if (!l->cim) {
		if (imap_open_mailbox(&l->ccfg, 1, &l->cim) < 0) {
			l->cim = NULL;	/* logged; next poll tries again */
			return;
		}
	} else if (imap_noop(l->cim) < 0) {
		close_commands(l);
		return;
	}
	if (imap_catch_up(l->cim, l->store, should_stop, l, &n) < 0)
		close_commands(l);
}

static void
try_connect(struct loop *l)
{
	if (imap_open(l->cfg, &l->im) < 0) {
		l->im = NULL;
		drop_connection(l);
		return;
	}
	l->backoff = LOOP_BACKOFF_MIN;
	l->next_poll = mono() + l->cfg->imap_poll_seconds;
	catch_up(l, "caught up");
}

static void
reload(struct loop *l)
{
	struct config nc;

	l->reload = 0;
	if (!l->config_path) {
		log_warn("SIGHUP: no configuration file to reload");
		return;
	}
	if (config_init(&nc) < 0 ||
	    config_load(&nc, l->config_path, stderr) < 0) {
		config_release(&nc);
		log_error("SIGHUP: '%s' is invalid, keeping the running "
			  "configuration", l->config_path);
		return;
	}
	config_release(l->cfg);
	*l->cfg = nc;
	log_info("SIGHUP: configuration reloaded from '%s'", l->config_path);
	/* the IMAP settings may have changed: connect again, now */
	imap_close(l->im);
	l->im = NULL;
	close_commands(l);
	l->next_cpoll = 0;
	l->backoff = LOOP_BACKOFF_MIN;
	l->next_connect = 0;
	l->mailer_next = 0;
}

/*
 * Answer what people mailed the bot, then let the mailer send.  The
 * mailer looks at least once a minute even when nothing is scheduled:
 * `moderate approve` and `resume` on the command line change the
 * state from another process.
 */
static void
run_mailer(struct loop *l)
{
	int64_t now = clock_now(), next = INT64_MAX;
	int more = 1, answered = 0;

	for (int rounds = 0; more && rounds < 16 && !l->stop; rounds++) {
		int r = responder_run(l->store, l->cfg, l->state_dir, now,
				      &more);
		if (r <= 0)
			break;
		answered += r;
		drain_signals(l);
	}
	if (!answered && now < l->mailer_next)
		return;
	if (mailer_tick_dir(l->store, l->cfg, l->state_dir, now, &next) < 0)
		next = now + 60;	/* logged by the mailer; try later */
	if (next > now + LOOP_MAILER_POLL)
		next = now + LOOP_MAILER_POLL;
	l->mailer_next = more ? now : next;
}

/* Milliseconds until the nearest deadline, capped for poll(). */
static int
timeout_ms(struct loop *l, int64_t imap_deadline)
{
	int64_t m = mono(), wait = INT_MAX / 1000;

	if (l->mailer_next != INT64_MAX) {
		int64_t w = l->mailer_next - clock_now();
		if (w < wait)
			wait = w;
	}
	if (imap_deadline && imap_deadline - m < wait)
		wait = imap_deadline - m;
	if (*l->cfg->commands_imap_url &&
	    strcmp(l->cfg->commands_imap_url, l->cfg->imap_url) &&
	    l->next_cpoll - m < wait)
		wait = l->next_cpoll - m;
	return wait <= 0 ? 0 : (int)(wait * 1000);
}

/* Wait for a signal, the socket (fd >= 0) or the nearest deadline. */
static int
wait_events(struct loop *l, int fd, int64_t deadline)
{
	struct pollfd p[2] = { { l->sfd, POLLIN, 0 }, { fd, POLLIN, 0 } };
	int r = poll(p, fd >= 0 ? 2 : 1, timeout_ms(l, deadline));

	if (r < 0 && errno != EINTR)
		return log_errno("poll");
	drain_signals(l);
	return r > 0 && fd >= 0 && (p[1].revents & (POLLIN | POLLHUP | POLLERR));
}

/*
 * Stay in IDLE until the server says something, a signal comes or the
 * renewal is due; the mailer's timers (answers, digests, retries) are
 * served meanwhile, since they need the store and SMTP, not the IMAP
 * connection.
 */
static void
idle_wait(struct loop *l, int fd)
{
	int64_t renew = mono() + IMAP_IDLE_RENEW_SECONDS;

	for (;;) {
		int r = wait_events(l, fd, renew);

		if (r != 0 || l->stop || l->reload || mono() >= renew)
			return;
		poll_commands(l);
		run_mailer(l);
	}
}

static void
step(struct loop *l)
{
	int imap_on = *l->cfg->imap_url != 0;

	poll_commands(l);
	run_mailer(l);
	if (imap_on && !l->im && mono() >= l->next_connect)
		try_connect(l);
	if (l->stop || l->reload)
		return;
	if (!l->im) {
		wait_events(l, -1, imap_on ? l->next_connect : 0);
		return;
	}
	if (imap_has_idle(l->im)) {
		int buffered, fd = imap_idle_start(l->im, &buffered);
		if (fd < 0) {
			drop_connection(l);
			return;
		}
		log_debug("idle in %s", imap_mailbox(l->im));
		if (!buffered)
			idle_wait(l, fd);
		if (imap_idle_stop(l->im) < 0) {
			drop_connection(l);
			return;
		}
		if (!l->stop)
			catch_up(l, "new mail");
		return;
	}
	wait_events(l, -1, l->next_poll);
	if (l->stop || mono() < l->next_poll)
		return;
	l->next_poll = mono() + l->cfg->imap_poll_seconds;
	if (imap_noop(l->im) < 0)
		drop_connection(l);
	else
		catch_up(l, "new mail");
}

int
loop_run(struct config *cfg, const char *config_path, const char *state_dir)
{
	struct loop l;
	sigset_t mask;

	memset(&l, 0, sizeof(l));
	l.cfg = cfg;
	l.config_path = config_path;
	l.state_dir = state_dir;
	l.backoff = LOOP_BACKOFF_MIN;
	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	if (sigprocmask(SIG_BLOCK, &mask, NULL) < 0)
		return log_errno("sigprocmask"), 1;
	l.sfd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
	if (l.sfd < 0)
		return log_errno("signalfd"), 1;
	/* a peer closing the socket must be an error, not a death */
	signal(SIGPIPE, SIG_IGN);
	if (store_open(state_dir, 0, &l.store) < 0) {
		close(l.sfd);
		return 1;
	}
	if (!*cfg->imap_url)
		log_warn("no imap_url: not listening, only sending");
	log_info("running (pid %ld)", (long)getpid());
	while (!l.stop) {
		step(&l);
		if (l.reload)
			reload(&l);
	}
	imap_close(l.im);
	close_commands(&l);
	store_close(l.store);
	close(l.sfd);
	log_info("stopped");
	return 0;
}
