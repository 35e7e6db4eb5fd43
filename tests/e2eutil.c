/*
 * e2eutil.c - helpers of the end-to-end tests (e2eutil.h).
 */
#include <ctype.h>
#include <dirent.h>
#include <fcntl.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <openssl/evp.h>

#include "e2eutil.h"
#include "testutil.h"

const char *
e2e_env(const char *who)
{
	const char *mt = getenv("MAILTEST_DIR");

	if (!mt || !*mt) {
		printf("SKIP %s: MAILTEST_DIR unset (no loopback mail servers; "
		       "tests/run starts them as root)\n",
		       who);
		return NULL;
	}
	return mt;
}

double
e2e_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

void
e2e_nap(void)
{
	struct timespec ts = { 0, 50 * 1000 * 1000 };

	nanosleep(&ts, NULL);
}

pid_t
e2e_start_bot(const char *conf, const char *logpath)
{
	const char *bot = getenv("KVMARM_TEST_BOT");
	pid_t pid;

	if (!bot || !*bot)
		bot = TEST_BOT;
	pid = fork();
	if (pid == 0) {
		int fd = open(logpath, O_WRONLY | O_CREAT | O_APPEND, 0644);

		if (fd < 0)
			_exit(127);
		dup2(fd, 1);
		dup2(fd, 2);
		execl(bot, bot, "-c", conf, "run", (char *)NULL);
		_exit(127);
	}
	return pid;
}

int
e2e_stop_bot(pid_t pid)
{
	double end = e2e_now() + 20;
	int st;

	if (pid <= 0)
		return -1;
	kill(pid, SIGTERM);
	while (e2e_now() < end) {
		if (waitpid(pid, &st, WNOHANG) == pid)
			return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
		e2e_nap();
	}
	kill(pid, SIGKILL);
	waitpid(pid, &st, 0);
	return -1;
}

int
e2e_count_in_file(const char *path, const char *needle)
{
	char *s = test_read_file(path, NULL);
	int n = 0;

	for (const char *p = s; p && (p = strstr(p, needle)); p++)
		n++;
	free(s);
	return n;
}

int
e2e_wait_file(const char *path, const char *needle, int n, double secs)
{
	double end = e2e_now() + secs;

	do {
		if (e2e_count_in_file(path, needle) >= n)
			return 1;
		e2e_nap();
	} while (e2e_now() < end);
	return 0;
}

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

int
e2e_smtp_send(const char *from, const char *rcpts, const char *raw)
{
	const char *port = getenv("SMTP_PORT");
	struct curl_slist *rcpt = NULL;
	struct upload u = { raw, strlen(raw) };
	char url[64], *list = strdup(rcpts), *save = NULL;
	CURL *c = curl_easy_init();
	int r;

	if (!c || !list) {
		free(list);
		if (c)
			curl_easy_cleanup(c);
		return -1;
	}
	for (char *t = strtok_r(list, ", ", &save); t;
	     t = strtok_r(NULL, ", ", &save))
		rcpt = curl_slist_append(rcpt, t);
	snprintf(url, sizeof(url), "smtp://127.0.0.1:%s",
		 port && *port ? port : "14025");
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_MAIL_FROM, from);
	curl_easy_setopt(c, CURLOPT_MAIL_RCPT, rcpt);
	curl_easy_setopt(c, CURLOPT_READFUNCTION, read_cb);
	curl_easy_setopt(c, CURLOPT_READDATA, &u);
	curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 30L);
	r = curl_easy_perform(c) == CURLE_OK ? 0 : -1;
	curl_slist_free_all(rcpt);
	curl_easy_cleanup(c);
	free(list);
	return r;
}

struct sink {
	char *p;
	size_t len;
};

static size_t
write_cb(char *data, size_t size, size_t n, void *ctx)
{
	struct sink *s = ctx;
	char *q = realloc(s->p, s->len + size * n + 1);

	if (!q)
		return 0;
	memcpy(q + s->len, data, size * n);
	s->len += size * n;
	q[s->len] = '\0';
	s->p = q;
	return size * n;
}

/* Header block unfolded with LF ends; body after the blank line. */
static void
split_mail(struct e2e_mail *m)
{
	const char *raw = m->raw, *sep = strstr(raw, "\r\n\r\n");
	size_t hlen = sep ? (size_t)(sep - raw) : strlen(raw);
	const char *b = sep ? sep + 4 : raw + hlen;
	char *h = malloc(hlen + 2), *cte;
	size_t k = 0;

	for (size_t i = 0; i < hlen; i++) {
		if (raw[i] == '\r')
			continue;
		if (raw[i] == '\n' && i + 1 < hlen &&
		    (raw[i + 1] == ' ' || raw[i + 1] == '\t'))
			continue;	/* unfold */
		h[k++] = raw[i];
	}
	h[k++] = '\n';
	h[k] = '\0';
	m->header = h;
	cte = e2e_header(m, "Content-Transfer-Encoding");
	if (cte && !strcasecmp(cte, "base64")) {
		size_t blen = strlen(b), n = 0;
		char *clean = malloc(blen + 1);
		unsigned char *out = malloc(blen + 4);
		int dl;

		for (size_t i = 0; i < blen; i++)
			if (!isspace((unsigned char)b[i]))
				clean[n++] = b[i];
		dl = EVP_DecodeBlock(out, (unsigned char *)clean, (int)n);
		if (dl < 0)
			dl = 0;
		while (dl > 0 && n >= 1 && clean[n - 1] == '=') {
			dl--;	/* EVP_DecodeBlock counts the padding */
			n--;
		}
		out[dl] = '\0';
		m->body = (char *)out;
		free(clean);
	} else {
		m->body = strdup(b);
	}
	free(cte);
	/* LF line ends in the body too */
	k = 0;
	for (size_t i = 0; m->body[i]; i++)
		if (m->body[i] != '\r')
			m->body[k++] = m->body[i];
	m->body[k] = '\0';
}

int
e2e_imap_fetch(const char *user, const char *pass, struct e2e_mail **out,
	       size_t *n)
{
	const char *port = getenv("IMAP_PORT");
	struct e2e_mail *v = NULL;
	size_t cnt = 0;
	CURL *c = curl_easy_init();

	*out = NULL;
	*n = 0;
	if (!c)
		return -1;
	curl_easy_setopt(c, CURLOPT_USERNAME, user);
	curl_easy_setopt(c, CURLOPT_PASSWORD, pass);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, write_cb);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 30L);
	for (unsigned i = 1; i < 100000; i++) {
		struct sink s = { NULL, 0 };
		char url[128];
		CURLcode rc;

		snprintf(url, sizeof(url),
			 "imap://127.0.0.1:%s/INBOX;MAILINDEX=%u",
			 port && *port ? port : "14143", i);
		curl_easy_setopt(c, CURLOPT_URL, url);
		curl_easy_setopt(c, CURLOPT_WRITEDATA, &s);
		rc = curl_easy_perform(c);
		if (rc != CURLE_OK || !s.p) {
			free(s.p);
			/* the first index failing on an empty box is fine */
			if (rc != CURLE_OK && rc != CURLE_REMOTE_FILE_NOT_FOUND &&
			    rc != CURLE_QUOTE_ERROR && i == 1 &&
			    rc == CURLE_COULDNT_CONNECT) {
				curl_easy_cleanup(c);
				return -1;
			}
			break;
		}
		v = realloc(v, (cnt + 1) * sizeof(*v));
		memset(&v[cnt], 0, sizeof(*v));
		v[cnt].raw = s.p;
		split_mail(&v[cnt]);
		cnt++;
	}
	curl_easy_cleanup(c);
	*out = v;
	*n = cnt;
	return 0;
}

void
e2e_mails_free(struct e2e_mail *m, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(m[i].raw);
		free(m[i].header);
		free(m[i].body);
	}
	free(m);
}

char *
e2e_header(const struct e2e_mail *m, const char *name)
{
	size_t nl = strlen(name);

	for (const char *p = m->header; p && *p;) {
		const char *eol = strchr(p, '\n');
		size_t len = eol ? (size_t)(eol - p) : strlen(p);

		if (len > nl && p[nl] == ':' && !strncasecmp(p, name, nl)) {
			const char *v = p + nl + 1;

			while (*v == ' ' || *v == '\t')
				v++;
			return strndup(v, len - (size_t)(v - p));
		}
		p += len + (eol ? 1 : 0);
	}
	return NULL;
}

static size_t
count_matching(struct e2e_mail *m, size_t n, const char *name,
	       const char *needle)
{
	size_t k = 0;

	for (size_t i = 0; i < n; i++) {
		char *v = name ? e2e_header(&m[i], name) : NULL;

		if (name ? v && strstr(v, needle) : !!strstr(m[i].raw, needle))
			k++;
		free(v);
	}
	return k;
}

size_t
e2e_wait_mails(const char *user, const char *pass, const char *name,
	       const char *needle, size_t n, double secs)
{
	double end = e2e_now() + secs;
	size_t k = 0;

	do {
		struct e2e_mail *m;
		size_t cnt;

		if (e2e_imap_fetch(user, pass, &m, &cnt) == 0) {
			k = count_matching(m, cnt, name, needle);
			e2e_mails_free(m, cnt);
			if (k >= n)
				return k;
		}
		for (int i = 0; i < 4; i++)
			e2e_nap();
	} while (e2e_now() < end);
	return k;
}

int
e2e_maildir_clear(const char *mt, const char *user)
{
	static const char *const sub[] = { "new", "cur", "tmp" };

	for (int i = 0; i < 3; i++) {
		char dir[600];
		struct dirent *e;
		DIR *d;

		snprintf(dir, sizeof(dir), "%s/mail/example.test/%s/Maildir/%s",
			 mt, user, sub[i]);
		d = opendir(dir);
		if (!d)
			continue;
		while ((e = readdir(d))) {
			char p[900];

			if (e->d_name[0] == '.')
				continue;
			snprintf(p, sizeof(p), "%s/%s", dir, e->d_name);
			if (unlink(p) < 0) {
				closedir(d);
				return -1;
			}
		}
		closedir(d);
	}
	return 0;
}

int
e2e_maildir_deliver(const char *mt, const char *user, const char *raw,
		    unsigned seq)
{
	struct passwd *pw = getpwnam("vmail");
	char tmp[700], dst[700];
	int fd;
	size_t len = strlen(raw);

	snprintf(tmp, sizeof(tmp),
		 "%s/mail/example.test/%s/Maildir/tmp/%ld.kvmarm%u.%d",
		 mt, user, (long)time(NULL), seq, (int)getpid());
	snprintf(dst, sizeof(dst),
		 "%s/mail/example.test/%s/Maildir/new/%ld.kvmarm%u.%d",
		 mt, user, (long)time(NULL), seq, (int)getpid());
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL, 0600);
	if (fd < 0)
		return -1;
	if (write(fd, raw, len) != (ssize_t)len || fsync(fd) < 0) {
		close(fd);
		return -1;
	}
	close(fd);
	if (pw && chown(tmp, pw->pw_uid, pw->pw_gid) < 0)
		return -1;
	return rename(tmp, dst);
}
