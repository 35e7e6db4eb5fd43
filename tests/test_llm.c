/*
 * test_llm.c - the chat-completions client against tests/fake_llm.py:
 * the request on the wire, the answer and its usage, and every failure
 * mode (429 with Retry-After, 500, 401, malformed JSON, a timeout, a
 * dropped connection, an oversized answer), counted by the requests
 * the fake server recorded.  Also the usage records and `stats`.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include "config.h"
#include "llm.h"
#include "store.h"
#include "testutil.h"

#define SYSTEM "You summarise kvm/arm64 threads in English."
#define USER "From: Alice Example <alice@example.org>\n" \
	     "Subject: [PATCH] KVM: arm64: a change\n\nbody\n" \
	     "From: Bob Reviewer <bob@example.org>\n" \
	     "Reviewed-by: Bob Reviewer <bob@example.org>\n"

struct fake {
	pid_t pid;
	int port;
	int tls;	/* started with --tls-cert: https:// URL */
	char record[512];
	char meta[512];
};

/*
 * Start the fake server with extra arguments (NULL-terminated) and wait
 * for its "READY <port>" line.
 */
static void
fake_start(struct fake *f, const char *const extra[])
{
	char *dir = test_tmpdir("llm");
	const char *argv[32];
	int fds[2], n = 0;
	char line[64];
	FILE *in;

	assert_non_null(dir);
	snprintf(f->record, sizeof(f->record), "%s/requests.jsonl", dir);
	snprintf(f->meta, sizeof(f->meta), "%s/meta.jsonl", dir);
	argv[n++] = "python3";
	argv[n++] = "tests/fake_llm.py";
	argv[n++] = "--record";
	argv[n++] = f->record;
	argv[n++] = "--record-meta";
	argv[n++] = f->meta;
	argv[n++] = "--lifetime";
	argv[n++] = "120";
	for (int i = 0; extra && extra[i] && n < 31; i++)
		argv[n++] = extra[i];
	argv[n] = NULL;
	free(dir);
	assert_int_equal(pipe(fds), 0);
	fflush(NULL);
	f->pid = fork();
	assert_true(f->pid >= 0);
	if (f->pid == 0) {
		dup2(fds[1], 1);
		close(fds[0]);
		close(fds[1]);
		execvp("python3", (char *const *)argv);
		_exit(127);
	}
	close(fds[1]);
	in = fdopen(fds[0], "r");
	assert_non_null(in);
	assert_non_null(fgets(line, sizeof(line), in));
	fclose(in);
	assert_int_equal(sscanf(line, "READY %d", &f->port), 1);
	assert_true(f->port > 0);
}

static void
fake_stop(struct fake *f)
{
	int st;

	kill(f->pid, SIGTERM);
	waitpid(f->pid, &st, 0);
}

static int
count_lines(const char *path)
{
	char *s = test_read_file(path, NULL);
	int n = 0;

	if (!s)
		return 0;
	for (char *p = s; *p; p++)
		n += *p == '\n';
	free(s);
	return n;
}

static void
cfg_for(struct config *cfg, const struct fake *f, const char *key)
{
	char url[128];

	assert_int_equal(config_init(cfg), 0);
	snprintf(url, sizeof(url), "%s://127.0.0.1:%d/v1/",
		 f->tls ? "https" : "http", f->port);
	free(cfg->llm_url);
	cfg->llm_url = strdup(url);
	free(cfg->llm_model);
	cfg->llm_model = strdup("test-model");
	free(cfg->llm_api_key);
	cfg->llm_api_key = strdup(key ? key : "");
	assert_non_null(cfg->llm_url);
	assert_non_null(cfg->llm_model);
	assert_non_null(cfg->llm_api_key);
	cfg->llm_timeout = 1;
	cfg->llm_max_tokens = 321;
	cfg->llm_temperature = 0.2;
}

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/*
 * Run one llm_chat() against a fake started with extra; returns the
 * result, the number of requests the fake saw and the seconds taken.
 */
struct run {
	enum llm_result r;
	char *answer;
	struct llm_usage usage;
	int requests;
	double secs;
	struct fake f;
};

static void
run_chat(struct run *run, const char *const extra[], const char *key)
{
	struct config cfg;
	struct llm *llm;
	double t0;

	memset(run, 0, sizeof(*run));
	for (int i = 0; extra[i]; i++)
		run->f.tls |= !strcmp(extra[i], "--tls-cert");
	fake_start(&run->f, extra);
	cfg_for(&cfg, &run->f, key);
	assert_int_equal(llm_new(&cfg, &llm), 0);
	llm_set_retry(llm, 3, 20, 80);
	t0 = now();
	run->r = llm_chat(llm, SYSTEM, USER, &run->answer, &run->usage);
	run->secs = now() - t0;
	llm_free(llm);
	config_release(&cfg);
	run->requests = count_lines(run->f.record);
	fake_stop(&run->f);
}

static struct json_object *
first_json_line(const char *path)
{
	char *s = test_read_file(path, NULL);
	struct json_object *o;
	char *nl;

	assert_non_null(s);
	nl = strchr(s, '\n');
	assert_non_null(nl);
	*nl = '\0';
	o = json_tokener_parse(s);
	free(s);
	assert_non_null(o);
	return o;
}

static const char *
jstr(struct json_object *o, const char *key)
{
	struct json_object *v;

	assert_true(json_object_object_get_ex(o, key, &v));
	return json_object_get_string(v);
}

static void
test_llm_ok_request_and_answer(void **state)
{
	const char *const extra[] = { NULL };
	struct json_object *req, *msgs, *m, *meta;
	struct run run;

	run_chat(&run, extra, NULL);
	assert_int_equal(run.r, LLM_OK);
	assert_int_equal(run.requests, 1);
	assert_string_equal(run.answer,
			    "Original patch: posted by Alice Example.\n"
			    "Earlier discussion: none in the provided mails.\n"
			    "This week: Alice Example, Bob Reviewer took part "
			    "in the discussion of 2 mail(s).");
	/* The fake counts ceil(bytes / 4) of all contents. */
	assert_int_equal(run.usage.prompt_tokens,
			 (long)(strlen(SYSTEM) + strlen(USER) + 3) / 4);
	assert_int_equal(run.usage.completion_tokens,
			 (long)(strlen(run.answer) + 3) / 4);
	assert_int_equal(run.usage.total_tokens,
			 run.usage.prompt_tokens + run.usage.completion_tokens);
	free(run.answer);

	req = first_json_line(run.f.record);
	assert_string_equal(jstr(req, "model"), "test-model");
	assert_string_equal(jstr(req, "max_tokens"), "321");
	assert_true(json_object_object_get_ex(req, "temperature", &m));
	assert_true(json_object_get_double(m) > 0.199 &&
		    json_object_get_double(m) < 0.201);
	assert_true(json_object_object_get_ex(req, "messages", &msgs));
	assert_int_equal(json_object_array_length(msgs), 2);
	m = json_object_array_get_idx(msgs, 0);
	assert_string_equal(jstr(m, "role"), "system");
	assert_string_equal(jstr(m, "content"), SYSTEM);
	m = json_object_array_get_idx(msgs, 1);
	assert_string_equal(jstr(m, "role"), "user");
	assert_string_equal(jstr(m, "content"), USER);
	json_object_put(req);

	/* No key configured: no Authorization header at all. */
	meta = first_json_line(run.f.meta);
	assert_string_equal(jstr(meta, "path"), "/v1/chat/completions");
	assert_string_equal(jstr(meta, "content_type"), "application/json");
	assert_string_equal(jstr(meta, "authorization"), "absent");
	json_object_put(meta);
}

static void
test_llm_bearer_key(void **state)
{
	const char *const extra[] = { "--key", "sk-test-123", NULL };
	struct run run;

	run_chat(&run, extra, "sk-test-123");
	assert_int_equal(run.r, LLM_OK);
	assert_int_equal(run.requests, 1);
	assert_non_null(strstr(run.answer, "Bob Reviewer"));
	free(run.answer);

	/* A wrong key is a 401: permanent, never retried. */
	run_chat(&run, extra, "sk-wrong");
	assert_int_equal(run.r, LLM_ERR_PERMANENT);
	assert_null(run.answer);
	assert_int_equal(run.requests, 1);
}

static void
test_llm_401_permanent(void **state)
{
	const char *const extra[] = { "--mode", "401", NULL };
	struct run run;

	run_chat(&run, extra, NULL);
	assert_int_equal(run.r, LLM_ERR_PERMANENT);
	assert_null(run.answer);
	assert_int_equal(run.requests, 1);
}

static void
test_llm_429_retry_after(void **state)
{
	const char *const extra[] = { "--sequence", "429,ok", NULL };
	struct run run;

	run_chat(&run, extra, NULL);
	assert_int_equal(run.r, LLM_OK);
	assert_int_equal(run.requests, 2);
	assert_non_null(strstr(run.answer, "Original patch:"));
	free(run.answer);
	/* Backoff is 20 ms here; the wait came from Retry-After: 1. */
	assert_true(run.secs >= 0.95);
	assert_true(run.secs < 5);
}

/* Only the seconds form is honoured; a date falls back to the backoff. */
static void
test_llm_429_retry_after_date(void **state)
{
	const char *const extra[] = { "--sequence", "429,429,ok",
				      "--retry-after",
				      "Wed, 21 Oct 2015 07:28:00 GMT", NULL };
	struct run run;

	run_chat(&run, extra, NULL);
	assert_int_equal(run.r, LLM_OK);
	assert_int_equal(run.requests, 3);
	free(run.answer);
	assert_true(run.secs >= 0.06);	/* 20 + 40 ms */
	assert_true(run.secs < 0.9);
}

static void
test_llm_500_exhausts_retries(void **state)
{
	const char *const extra[] = { "--mode", "500", NULL };
	const char *const recover[] = { "--sequence", "500,500,ok", NULL };
	struct run run;

	run_chat(&run, extra, NULL);
	assert_int_equal(run.r, LLM_ERR_TEMPORARY);
	assert_null(run.answer);
	assert_int_equal(run.requests, 4);	/* 1 + 3 retries */
	/* 20 + 40 + 80 (capped) ms of backoff, no Retry-After. */
	assert_true(run.secs >= 0.13);

	run_chat(&run, recover, NULL);
	assert_int_equal(run.r, LLM_OK);
	assert_int_equal(run.requests, 3);
	free(run.answer);
}

static void
test_llm_malformed(void **state)
{
	const char *const bad[] = { "--mode", "malformed", NULL };
	const char *const once[] = { "--sequence", "malformed,ok", NULL };
	const char *const empty[] = { "--mode", "nochoices", NULL };
	struct run run;

	run_chat(&run, bad, NULL);
	assert_int_equal(run.r, LLM_ERR_PERMANENT);
	assert_null(run.answer);
	assert_int_equal(run.requests, 2);	/* one retry */

	run_chat(&run, once, NULL);
	assert_int_equal(run.r, LLM_OK);
	assert_int_equal(run.requests, 2);
	free(run.answer);

	run_chat(&run, empty, NULL);
	assert_int_equal(run.r, LLM_ERR_PERMANENT);
	assert_int_equal(run.requests, 2);
}

static void
test_llm_timeout(void **state)
{
	const char *const extra[] = { "--mode", "slow", "--slow-seconds",
				      "4", NULL };
	struct run run;

	run_chat(&run, extra, NULL);
	assert_int_equal(run.r, LLM_ERR_TEMPORARY);
	assert_null(run.answer);
	/* llm_timeout = 1: a timeout is retried once, not three times. */
	assert_int_equal(run.requests, 2);
	assert_true(run.secs >= 1.9);
	assert_true(run.secs < 3.5);
}

static void
test_llm_drop(void **state)
{
	const char *const extra[] = { "--mode", "drop", NULL };
	const char *const once[] = { "--sequence", "drop,ok", NULL };
	struct run run;

	run_chat(&run, extra, NULL);
	assert_int_equal(run.r, LLM_ERR_TEMPORARY);
	assert_null(run.answer);
	assert_int_equal(run.requests, 4);

	run_chat(&run, once, NULL);
	assert_int_equal(run.r, LLM_OK);
	assert_int_equal(run.requests, 2);
	free(run.answer);
}

static void
test_llm_oversized_answer(void **state)
{
	char *dir = test_tmpdir("llm-big");
	char path[512], *big;
	size_t n = 1100 * 1024;
	const char *extra[] = { "--answer-file", path, NULL };
	struct run run;

	assert_non_null(dir);
	snprintf(path, sizeof(path), "%s/answer.txt", dir);
	free(dir);
	big = malloc(n);
	assert_non_null(big);
	memset(big, 'a', n);
	assert_int_equal(test_write_file(path, big, n), 0);
	free(big);
	run_chat(&run, extra, NULL);
	assert_int_equal(run.r, LLM_ERR_PERMANENT);
	assert_null(run.answer);
	assert_int_equal(run.requests, 1);
}

static void
test_llm_unreachable_and_bad_config(void **state)
{
	struct config cfg;
	struct llm *llm = NULL;
	struct llm_usage u;
	char *answer = (char *)"x";
	struct fake f = { .port = 1 };	/* nothing listens on port 1 */

	cfg_for(&cfg, &f, NULL);
	assert_int_equal(llm_new(&cfg, &llm), 0);
	llm_set_retry(llm, 1, 1, 1);
	assert_int_equal(llm_chat(llm, SYSTEM, USER, &answer, &u),
			 LLM_ERR_TEMPORARY);
	assert_null(answer);
	llm_free(llm);

	free(cfg.llm_url);
	cfg.llm_url = strdup("");
	assert_int_equal(llm_new(&cfg, &llm), -1);
	assert_null(llm);
	free(cfg.llm_url);
	cfg.llm_url = strdup("ftp://example.org/v1");
	assert_int_equal(llm_new(&cfg, &llm), -1);
	config_release(&cfg);
}

/* A stray Latin-1 byte in a mail must not turn into a 400. */
static void
test_llm_invalid_utf8(void **state)
{
	const char *const extra[] = { NULL };
	struct json_object *req, *msgs;
	struct llm_usage u;
	struct config cfg;
	struct llm *llm;
	struct fake f = { 0 };
	char *answer = NULL;

	fake_start(&f, extra);
	cfg_for(&cfg, &f, NULL);
	assert_int_equal(llm_new(&cfg, &llm), 0);
	assert_int_equal(llm_chat(llm, "sys\xc3", "caf\xe9 \xed\xa0\x80 ok "
				  "\xc3\xa9", &answer, &u), LLM_OK);
	free(answer);
	llm_free(llm);
	config_release(&cfg);
	fake_stop(&f);
	req = first_json_line(f.record);
	assert_true(json_object_object_get_ex(req, "messages", &msgs));
	assert_string_equal(jstr(json_object_array_get_idx(msgs, 0),
				 "content"), "sys\xef\xbf\xbd");
	assert_string_equal(jstr(json_object_array_get_idx(msgs, 1),
				 "content"),
			    "caf\xef\xbf\xbd \xef\xbf\xbd\xef\xbf\xbd"
			    "\xef\xbf\xbd ok \xc3\xa9");
	json_object_put(req);
}

/*
 * TLS is verified: a server with a self-signed certificate is refused
 * before any request reaches it, and that is not worth a retry.
 */
static void
test_llm_tls_verified(void **state)
{
	char *dir = test_tmpdir("llm-tls");
	char cert[512], key[512], cmd[1536];
	const char *extra[] = { "--tls-cert", cert, "--tls-key", key, NULL };
	struct run run;

	assert_non_null(dir);
	snprintf(cert, sizeof(cert), "%s/cert.pem", dir);
	snprintf(key, sizeof(key), "%s/key.pem", dir);
	snprintf(cmd, sizeof(cmd),
		 "openssl req -x509 -newkey rsa:2048 -nodes -days 1 "
		 "-subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 "
		 "-keyout '%s' -out '%s' >/dev/null 2>&1", key, cert);
	free(dir);
	if (system(cmd) != 0) {
		fprintf(stderr, "SKIP %s: openssl cannot make a "
			"certificate\n", __func__);
		skip();
	}
	run_chat(&run, extra, NULL);
	assert_int_equal(run.r, LLM_ERR_PERMANENT);
	assert_null(run.answer);
	assert_int_equal(run.requests, 0);
}

/* Failures are logged with their status, never with the key. */
static void
test_llm_key_never_logged(void **state)
{
	const char *const extra[] = { "--key", "sk-right", NULL };
	const char *const fail[] = { "--mode", "500", NULL };
	char *dir = test_tmpdir("llm-log"), path[512], *log;
	struct run run;
	int fd, saved;

	assert_non_null(dir);
	snprintf(path, sizeof(path), "%s/stderr", dir);
	free(dir);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0);
	fflush(stderr);
	saved = dup(2);
	assert_true(saved >= 0);
	dup2(fd, 2);
	close(fd);
	run_chat(&run, extra, "sk-SECRET-kvmarm-test");
	run_chat(&run, fail, "sk-SECRET-kvmarm-test");
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	assert_int_equal(run.r, LLM_ERR_TEMPORARY);

	log = test_read_file(path, NULL);
	assert_non_null(log);
	assert_non_null(strstr(log, "HTTP 401: Incorrect API key provided"));
	assert_non_null(strstr(log, "HTTP 500: The server had an error"));
	assert_null(strstr(log, "SECRET"));
	assert_null(strstr(log, "Bearer"));
	free(log);
}

static void
test_llm_usage_and_stats(void **state)
{
	char *dir = test_tmpdir("llm-usage");
	struct llm_usage a = { 100, 20, 120 }, b = { 7, 3, 0 }, t;
	struct store *store;
	struct store_txn *txn;
	const void *val;
	size_t vlen;
	long req = -1;
	char *out = NULL, *argv[] = { "--state", dir, "stats", NULL };

	assert_non_null(dir);
	assert_int_equal(store_open(dir, 0, &store), 0);
	assert_int_equal(store_begin(store, 0, &txn), 0);
	assert_int_equal(llm_usage_totals(txn, &req, &t), 0);
	assert_int_equal(req, 0);
	assert_int_equal(t.prompt_tokens, 0);
	store_abort(txn);

	assert_int_equal(store_begin(store, 1, &txn), 0);
	/* 2022-11-07 12:00 and 2022-11-08 00:30 UTC */
	assert_int_equal(llm_usage_record(txn, 1667822400, &a), 0);
	assert_int_equal(llm_usage_record(txn, 1667867400, &b), 0);
	assert_int_equal(store_commit(txn), 0);

	assert_int_equal(store_begin(store, 0, &txn), 0);
	assert_int_equal(llm_usage_totals(txn, &req, &t), 0);
	assert_int_equal(req, 2);
	assert_int_equal(t.prompt_tokens, 107);
	assert_int_equal(t.completion_tokens, 23);
	assert_int_equal(t.total_tokens, 130);
	assert_int_equal(store_kv_get(txn, STORE_DB_USAGE, "day:2022-11-08",
				      14, &val, &vlen), 0);
	assert_int_equal(vlen, strlen("{\"requests\":1,\"prompt_tokens\":7,"
				      "\"completion_tokens\":3,"
				      "\"total_tokens\":10}"));
	assert_memory_equal(val, "{\"requests\":1,\"prompt_tokens\":7,"
			    "\"completion_tokens\":3,\"total_tokens\":10}",
			    vlen);
	store_abort(txn);
	store_close(store);

	assert_int_equal(test_run_bot(argv, &out, NULL), 0);
	assert_non_null(out);
	assert_non_null(strstr(out, "\nllm_requests: 2\n"));
	assert_non_null(strstr(out, "\nllm_prompt_tokens: 107\n"));
	assert_non_null(strstr(out, "\nllm_completion_tokens: 23\n"));
	free(out);
	free(dir);
}

TEST_LIST(llm,
	  cmocka_unit_test(test_llm_ok_request_and_answer),
	  cmocka_unit_test(test_llm_bearer_key),
	  cmocka_unit_test(test_llm_401_permanent),
	  cmocka_unit_test(test_llm_429_retry_after),
	  cmocka_unit_test(test_llm_429_retry_after_date),
	  cmocka_unit_test(test_llm_500_exhausts_retries),
	  cmocka_unit_test(test_llm_malformed),
	  cmocka_unit_test(test_llm_timeout),
	  cmocka_unit_test(test_llm_drop),
	  cmocka_unit_test(test_llm_oversized_answer),
	  cmocka_unit_test(test_llm_unreachable_and_bad_config),
	  cmocka_unit_test(test_llm_invalid_utf8),
	  cmocka_unit_test(test_llm_tls_verified),
	  cmocka_unit_test(test_llm_key_never_logged),
	  cmocka_unit_test(test_llm_usage_and_stats));
