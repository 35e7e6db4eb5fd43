/*
 * testutil.c - helpers shared by the tests.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "store.h"
#include "testutil.h"

const char *
test_corpora(const char *who)
{
	static char path[4096];
	const char *env = getenv("KVMARM_CORPORA");
	struct stat st;

	snprintf(path, sizeof(path), "%s",
		 env && *env ? env : "../shared/corpora");
	if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))
		return path;
	fprintf(stderr, "SKIP %s: no mail corpora at '%s' "
		"(set KVMARM_CORPORA)\n", who, path);
	return NULL;
}

char *
test_tmpdir(const char *tag)
{
	const char *base = getenv("TMPDIR");
	char tmpl[4096];

	snprintf(tmpl, sizeof(tmpl), "%s/kvmarm-test-%s-XXXXXX",
		 base && *base ? base : "/tmp", tag);
	if (!mkdtemp(tmpl))
		return NULL;
	return strdup(tmpl);
}

char *
test_read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *data = NULL;
	size_t n = 0, alloc = 0;

	if (!f)
		return NULL;
	for (;;) {
		if (alloc - n < 65536) {
			char *p = realloc(data, alloc + 65536 + 1);
			if (!p) {
				free(data);
				fclose(f);
				return NULL;
			}
			data = p;
			alloc += 65536;
		}
		size_t got = fread(data + n, 1, alloc - n, f);
		n += got;
		if (got == 0)
			break;
	}
	fclose(f);
	data[n] = '\0';
	if (len)
		*len = n;
	return data;
}

int
test_write_file(const char *path, const void *data, size_t len)
{
	FILE *f = fopen(path, "wb");

	if (!f)
		return -1;
	if (fwrite(data, 1, len, f) != len) {
		fclose(f);
		return -1;
	}
	return fclose(f) == 0 ? 0 : -1;
}

static char *
slurp_fd(int fd)
{
	char *data = NULL, chunk[65536];
	size_t n = 0;
	ssize_t got;

	while ((got = read(fd, chunk, sizeof(chunk))) != 0) {
		if (got < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		char *p = realloc(data, n + (size_t)got + 1);
		if (!p)
			break;
		data = p;
		memcpy(data + n, chunk, (size_t)got);
		n += (size_t)got;
	}
	if (!data)
		data = calloc(1, 1);
	else
		data[n] = '\0';
	return data;
}

int
test_run_bot(char *const argv[], char **out, char **err)
{
	char outpath[] = "/tmp/kvmarm-test-out-XXXXXX";
	char errpath[] = "/tmp/kvmarm-test-err-XXXXXX";
	int ofd = mkstemp(outpath), efd = mkstemp(errpath), status;
	size_t argc = 0;
	pid_t pid;

	if (ofd < 0 || efd < 0)
		return -1;
	unlink(outpath);
	unlink(errpath);
	while (argv[argc])
		argc++;
	pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		char **av = calloc(argc + 2, sizeof(*av));
		if (!av)
			_exit(127);
		av[0] = (char *)TEST_BOT;
		memcpy(av + 1, argv, argc * sizeof(*av));
		dup2(ofd, 1);
		dup2(efd, 2);
		execv(TEST_BOT, av);
		_exit(127);
	}
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	lseek(ofd, 0, SEEK_SET);
	lseek(efd, 0, SEEK_SET);
	if (out)
		*out = slurp_fd(ofd);
	if (err)
		*err = slurp_fd(efd);
	close(ofd);
	close(efd);
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

struct outbox_read {
	struct test_outbox_mail *v;
	size_t n, alloc;
};

/* A value is "state\nkey\nrcpt\nmail"; see outbox.h. */
static int
outbox_collect(const void *key, size_t klen, const void *val, size_t vlen,
	       void *ctx)
{
	struct outbox_read *o = ctx;
	const char *v = val, *end = v + vlen, *nl[3], *p = v;
	struct test_outbox_mail *x;

	if (klen < 2 || memcmp(key, "m:", 2))
		return 1;
	for (int i = 0; i < 3; i++) {
		nl[i] = memchr(p, '\n', (size_t)(end - p));
		assert_non_null(nl[i]);
		p = nl[i] + 1;
	}
	if (o->n == o->alloc) {
		size_t na = o->alloc ? o->alloc * 2 : 16;
		struct test_outbox_mail *nv = realloc(o->v, na * sizeof(*nv));

		assert_non_null(nv);
		o->v = nv;
		o->alloc = na;
	}
	x = &o->v[o->n];
	memset(x, 0, sizeof(*x));
	x->state = v[0];
	x->key = strndup(nl[0] + 1, (size_t)(nl[1] - nl[0] - 1));
	x->rcpt = strndup(nl[1] + 1, (size_t)(nl[2] - nl[1] - 1));
	x->len = (size_t)(end - p);
	x->raw = malloc(x->len + 1);
	assert_true(x->key && x->rcpt && x->raw);
	memcpy(x->raw, p, x->len);
	x->raw[x->len] = '\0';
	assert_int_equal(message_parse(x->raw, x->len, &x->m, NULL), 0);
	o->n++;
	return 0;
}

size_t
test_outbox_read(struct store *s, struct test_outbox_mail **out)
{
	struct outbox_read o = { NULL, 0, 0 };
	struct store_txn *txn;

	assert_int_equal(store_begin(s, 0, &txn), 0);
	assert_true(store_kv_foreach(txn, STORE_DB_OUTBOX, "m:", 2,
				     outbox_collect, &o) >= 0);
	store_abort(txn);
	*out = o.v;
	return o.n;
}

void
test_outbox_free(struct test_outbox_mail *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(v[i].key);
		free(v[i].rcpt);
		free(v[i].raw);
		message_release(&v[i].m);
	}
	free(v);
}
