/*
 * test_llmsum.c - the LLM summarizer against tests/fake_llm.py: the
 * cache (same week twice: no request; one more mail: one request), the
 * earlier summary carried into the next week, the recorded prompts,
 * the fallbacks (500, unreachable, budget) and the output checks.
 * The mails are written here for the tests.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <json-c/json.h>

#include "config.h"
#include "llmsum.h"
#include "mailer.h"
#include "message.h"
#include "store.h"
#include "summary.h"
#include "testutil.h"
#include "thread.h"

#define W1_SINCE 1757289600	/* 2025-09-08 */
#define W1_UNTIL 1757894400	/* 2025-09-15 */
#define W2_UNTIL 1758499200	/* 2025-09-22 */

static const char ls_patch_a[] =
	"From: Ann Author <ann@example.org>\n"
	"Subject: [PATCH] KVM: arm64: frob the widget\n"
	"Date: Wed, 03 Sep 2025 10:00:00 +0000\n"
	"Message-ID: <ls-a@example.org>\n"
	"\n"
	"The widget is frobbed too late. Frob it before use instead.\n"
	"\n"
	"Signed-off-by: Ann Author <ann@example.org>\n"
	"---\n"
	" arch/arm64/kvm/widget.c | 2 +-\n"
	" 1 file changed, 1 insertion(+), 1 deletion(-)\n"
	"\n"
	"diff --git a/arch/arm64/kvm/widget.c b/arch/arm64/kvm/widget.c\n"
	"--- a/arch/arm64/kvm/widget.c\n"
	"+++ b/arch/arm64/kvm/widget.c\n"
	"@@ -1,3 +1,3 @@\n"
	" int a;\n"
	"-int b;\n"
	"+int c;\n"
	" int d;\n";

static const char ls_reply_fmt[] =
	"From: Rita Reviewer <rita@example.org>\n"
	"Subject: Re: [PATCH] KVM: arm64: frob the widget\n"
	"Date: %s\n"
	"Message-ID: <%s>\n"
	"In-Reply-To: <ls-a@example.org>\n"
	"\n"
	"On Wed, 03 Sep 2025, Ann Author wrote:\n"
	"> The widget is frobbed too late.\n"
	"\n"
	"%s\n"
	"\n"
	"Reviewed-by: Rita Reviewer <rita@example.org>\n";

static const char ls_patch_b[] =
	"From: Bob Builder <bob@example.org>\n"
	"Subject: [PATCH] KVM: arm64: vgic: count the LPIs once\n"
	"Date: Wed, 10 Sep 2025 09:00:00 +0000\n"
	"Message-ID: <ls-b@example.org>\n"
	"\n"
	"The ITS walk counts every LPI twice. Count them once.\n"
	"\n"
	"Signed-off-by: Bob Builder <bob@example.org>\n";

struct fake {
	pid_t pid;
	int port;
	char *dir;
	char rec[512];
};

static void
fake_start(struct fake *f, const char *mode, const char *canned)
{
	const char *argv[16];
	char line[128];
	int p[2], n = 0;
	FILE *in;

	memset(f, 0, sizeof(*f));
	f->dir = test_tmpdir("fake-llm");
	snprintf(f->rec, sizeof(f->rec), "%s/requests.jsonl", f->dir);
	argv[n++] = "python3";
	argv[n++] = "tests/fake_llm.py";
	argv[n++] = "--record";
	argv[n++] = f->rec;
	argv[n++] = "--lifetime";
	argv[n++] = "120";
	argv[n++] = "--mode";
	argv[n++] = mode;
	if (canned) {
		argv[n++] = "--canned";
		argv[n++] = canned;
	}
	argv[n] = NULL;
	assert_int_equal(pipe(p), 0);
	f->pid = fork();
	assert_true(f->pid >= 0);
	if (f->pid == 0) {
		dup2(p[1], 1);
		close(p[0]);
		close(p[1]);
		execvp("python3", (char *const *)argv);
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
	free(f->dir);
}

/* The recorded requests: count, and the user/system text of request i. */
static size_t
fake_requests(struct fake *f, size_t want, const char *role, char **text)
{
	char *data = test_read_file(f->rec, NULL);
	size_t n = 0;

	if (text)
		*text = NULL;
	if (!data)
		return 0;
	for (char *p = data, *e; *p; p = e + 1) {
		e = strchr(p, '\n');
		if (!e)
			break;
		if (text && n == want) {
			struct json_object *o, *msgs, *m, *c, *r;

			*e = '\0';
			o = json_tokener_parse(p);
			assert_non_null(o);
			assert_true(json_object_object_get_ex(o, "messages",
							      &msgs));
			for (size_t i = 0; i < json_object_array_length(msgs);
			     i++) {
				m = json_object_array_get_idx(msgs, i);
				if (json_object_object_get_ex(m, "role", &r) &&
				    !strcmp(json_object_get_string(r), role) &&
				    json_object_object_get_ex(m, "content", &c))
					*text = strdup(json_object_get_string(c));
			}
			json_object_put(o);
			*e = '\n';
		}
		n++;
	}
	free(data);
	return n;
}

static void
put_mail(struct store *s, const char *raw)
{
	struct store_txn *txn;
	struct message m;

	assert_int_equal(store_begin(s, 1, &txn), 0);
	assert_int_equal(message_parse(raw, strlen(raw), &m, NULL), 0);
	assert_int_equal(store_put_message(txn, &m, raw, strlen(raw)), 1);
	assert_int_equal(thread_index_add(txn, &m), 0);
	message_release(&m);
	assert_int_equal(store_commit(txn), 0);
}

static void
put_reply(struct store *s, const char *date, const char *id,
	  const char *text)
{
	char raw[4096];
	int n = snprintf(raw, sizeof(raw), ls_reply_fmt, date, id, text);

	assert_true(n > 0 && (size_t)n < sizeof(raw));
	put_mail(s, raw);
}

static void
put_mail_dir(const char *dir, const char *raw)
{
	struct store *s;

	assert_int_equal(store_open(dir, 0, &s), 0);
	put_mail(s, raw);
	store_close(s);
}

static struct store *
make_store(void)
{
	char *dir = test_tmpdir("llmsum");
	struct store *s;

	assert_int_equal(store_open(dir, 0, &s), 0);
	free(dir);
	put_mail(s, ls_patch_a);
	put_reply(s, "Tue, 09 Sep 2025 10:00:00 +0000", "ls-r1@example.org",
		  "Looks good to me, the ordering is now right.");
	put_mail(s, ls_patch_b);
	return s;
}

static void
make_config(struct config *cfg, int port)
{
	char url[64];

	assert_int_equal(config_init(cfg), 0);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/v1", port);
	free(cfg->llm_url);
	cfg->llm_url = strdup(url);
	free(cfg->llm_model);
	cfg->llm_model = strdup("fake-model");
	assert_non_null(cfg->llm_url);
	assert_non_null(cfg->llm_model);
	cfg->llm_timeout = 5;
}

/*
 * Summarize every thread of [since, until) in one write transaction,
 * as the digest does.  Returns the number of offline summaries; the
 * summary of the thread rooted at want (may be NULL) goes to *text.
 */
static size_t
run_week(struct store *s, struct llmsum *ls, int64_t since, int64_t until,
	 const char *lang, const char *want, char **text)
{
	struct store_txn *txn;
	struct thread *th;
	size_t n, offline = 0;

	if (text)
		*text = NULL;
	assert_int_equal(store_begin(s, 1, &txn), 0);
	assert_int_equal(thread_window(txn, since, until, &th, &n), 0);
	assert_true(n > 0);
	for (size_t i = 0; i < n; i++) {
		struct summary_input in = {0};
		char *out = NULL;
		int off = -1;

		in.thread = &th[i];
		in.since = since;
		in.until = until;
		in.lang = lang;
		assert_int_equal(llmsum_summarize(ls, txn, &in, &out, &off),
				 0);
		assert_non_null(out);
		assert_true(*out);
		assert_true(off == 0 || off == 1);
		offline += (size_t)off;
		if (text && want && !strcmp(th[i].root_id, want))
			*text = out;
		else
			free(out);
	}
	thread_free_array(th, n);
	assert_int_equal(store_commit(txn), 0);
	return offline;
}

static void
test_llmsum_cache(void **state)
{
	struct store *s = make_store();
	struct config cfg;
	struct llmsum *ls;
	struct fake f;
	char *sum1, *sum2, *text;

	fake_start(&f, "ok", NULL);
	make_config(&cfg, f.port);
	assert_int_equal(llmsum_from_config(&cfg, NULL, &ls), 0);

	/* week 1: one request per thread */
	assert_int_equal(run_week(s, ls, W1_SINCE, W1_UNTIL, "en",
				  "ls-a@example.org", &sum1), 0);
	assert_int_equal(fake_requests(&f, 0, NULL, NULL), 2);
	assert_non_null(sum1);
	assert_non_null(strstr(sum1, "Rita Reviewer"));
	for (size_t i = 0; i < 2; i++) {
		fake_requests(&f, i, "system", &text);
		assert_non_null(text);
		assert_non_null(strstr(text, "TWED = delayed trapping of "
					     "WFE"));
		free(text);
		fake_requests(&f, i, "user", &text);
		assert_non_null(text);
		assert_null(strstr(text, "\n> "));
		assert_null(strstr(text, "@@ "));
		assert_null(strstr(text, "diff --git"));
		assert_non_null(strstr(text, "<<<MAIL id="));
		free(text);
	}

	/* the same week again: all cached, zero requests */
	assert_int_equal(run_week(s, ls, W1_SINCE, W1_UNTIL, "en",
				  "ls-a@example.org", &text), 0);
	assert_int_equal(fake_requests(&f, 0, NULL, NULL), 2);
	assert_string_equal(text, sum1);
	free(text);
	assert_int_equal(llmsum_get_stats(ls)->cached, 2);

	/* one more mail in one thread: exactly one request */
	put_reply(s, "Thu, 11 Sep 2025 10:00:00 +0000", "ls-r2@example.org",
		  "One more nit: the comment above frob() is stale.");
	assert_int_equal(run_week(s, ls, W1_SINCE, W1_UNTIL, "en",
				  "ls-a@example.org", &sum2), 0);
	assert_int_equal(fake_requests(&f, 0, NULL, NULL), 3);
	fake_requests(&f, 2, "user", &text);
	assert_non_null(strstr(text, "the comment above frob() is stale"));
	free(text);

	/* week 2: last week's summary as the earlier discussion, and
	 * only the new mail besides the posting */
	put_reply(s, "Tue, 16 Sep 2025 10:00:00 +0000", "ls-r3@example.org",
		  "Week two reply: still fine.");
	assert_int_equal(run_week(s, ls, W1_UNTIL, W2_UNTIL, "en", NULL,
				  NULL), 0);
	assert_int_equal(fake_requests(&f, 0, NULL, NULL), 4);
	fake_requests(&f, 3, "user", &text);
	assert_non_null(strstr(text, "<<<SUMMARY>>>"));
	assert_non_null(strstr(text, sum2));
	assert_non_null(strstr(text, "Week two reply"));
	assert_null(strstr(text, "the comment above frob() is stale"));
	assert_null(strstr(text, "ordering is now right"));
	free(text);
	/* and week 2 again: nothing */
	assert_int_equal(run_week(s, ls, W1_UNTIL, W2_UNTIL, "en", NULL,
				  NULL), 0);
	assert_int_equal(fake_requests(&f, 0, NULL, NULL), 4);

	/* Chinese is its own cache entry */
	assert_int_equal(run_week(s, ls, W1_SINCE, W1_UNTIL, "zh",
				  "ls-a@example.org", &text), 0);
	assert_int_equal(fake_requests(&f, 0, NULL, NULL), 6);
	assert_non_null(strstr(text, "\xe6\x9c\xac\xe5\x91\xa8"));
	free(text);

	free(sum1);
	free(sum2);
	llmsum_free(ls);
	config_release(&cfg);
	fake_stop(&f);
	store_close(s);
}

static void
test_llmsum_down(void **state)
{
	struct store *s = make_store();
	struct config cfg;
	struct llmsum *ls;
	struct fake f;
	int port;

	/* 500 on every request: offline summaries, marked */
	fake_start(&f, "500", NULL);
	make_config(&cfg, f.port);
	assert_int_equal(llmsum_new(&cfg, NULL, &ls), 0);
	llmsum_set_retry(ls, 1, 10, 10);
	assert_int_equal(run_week(s, ls, W1_SINCE, W1_UNTIL, "en", NULL,
				  NULL), 2);
	/* the first thread's failure stops the run from asking again */
	assert_int_equal(fake_requests(&f, 0, NULL, NULL), 2);
	assert_int_equal(llmsum_get_stats(ls)->offline, 2);
	llmsum_free(ls);
	config_release(&cfg);
	port = f.port;
	fake_stop(&f);

	/* nobody listening any more: offline too; nothing was cached */
	make_config(&cfg, port);
	assert_int_equal(llmsum_new(&cfg, NULL, &ls), 0);
	llmsum_set_retry(ls, 0, 10, 10);
	assert_int_equal(run_week(s, ls, W1_SINCE, W1_UNTIL, "zh", NULL,
				  NULL), 2);
	assert_int_equal(llmsum_get_stats(ls)->cached, 0);
	llmsum_free(ls);
	config_release(&cfg);

	/* a budget too small for one prompt: offline, no request */
	fake_start(&f, "ok", NULL);
	make_config(&cfg, f.port);
	cfg.llm_token_budget = 50;
	assert_int_equal(llmsum_new(&cfg, NULL, &ls), 0);
	assert_int_equal(run_week(s, ls, W1_SINCE, W1_UNTIL, "en", NULL,
				  NULL), 2);
	assert_int_equal(fake_requests(&f, 0, NULL, NULL), 0);
	llmsum_free(ls);
	config_release(&cfg);
	fake_stop(&f);
	store_close(s);
}

static void
bad_answer(struct store *s, const char *canned)
{
	struct config cfg;
	struct llmsum *ls;
	struct fake f;
	char *text;

	fake_start(&f, "ok", canned);
	make_config(&cfg, f.port);
	assert_int_equal(llmsum_new(&cfg, NULL, &ls), 0);
	assert_int_equal(run_week(s, ls, W1_SINCE, W1_UNTIL, "en", NULL,
				  NULL), 2);
	/* one retry per thread, with the reason, then the offline text */
	assert_int_equal(fake_requests(&f, 0, NULL, NULL), 4);
	fake_requests(&f, 1, "user", &text);
	assert_non_null(text);
	assert_non_null(strstr(text, "previous answer was rejected because"));
	free(text);
	fake_requests(&f, 0, "user", &text);
	assert_null(strstr(text, "previous answer was rejected"));
	free(text);
	llmsum_free(ls);
	config_release(&cfg);
	fake_stop(&f);
}

static void
test_llmsum_bad_answers(void **state)
{
	struct store *s = make_store();
	struct config cfg;
	struct llmsum *ls;
	struct fake f;
	char *text;

	bad_answer(s, "The patch is described at https://example.com/x. "
		      "No earlier discussion. No replies this week.");
	bad_answer(s, "John Smith posted the patch.\n\nNo earlier "
		      "discussion.\n\nNo replies this week.");
	bad_answer(s, "# Summary\nThe patch frobs the widget.");
	bad_answer(s, "Rita Reviewer wrote: \"this is totally broken\".");
	/* a good answer after a bad one is used */
	fake_start(&f, "ok", NULL);
	make_config(&cfg, f.port);
	assert_int_equal(llmsum_new(&cfg, NULL, &ls), 0);
	assert_int_equal(run_week(s, ls, W1_SINCE, W1_UNTIL, "en", NULL,
				  NULL), 0);
	assert_int_equal(fake_requests(&f, 0, NULL, NULL), 2);
	fake_requests(&f, 1, "user", &text);
	assert_null(strstr(text, "previous answer was rejected"));
	free(text);
	llmsum_free(ls);
	config_release(&cfg);
	fake_stop(&f);
	store_close(s);
}

static void
test_llmsum_check(void **state)
{
	const char *mat = "From: Marc Zyngier <maz@kernel.org>\n"
			  "Please move the check into the vgic code.\n"
			  "Reviewed-by: Oliver Upton <oliver.upton@linux.dev>";

	assert_null(llmsum_check("Marc Zyngier asked: \"move the check "
				 "into the vgic code\". Oliver Upton gave "
				 "a Reviewed-by.",
				 "en", mat, NULL));
	assert_non_null(llmsum_check("  \n ", "en", mat, NULL));
	assert_non_null(llmsum_check("See www.kernel.org for it.", "en", mat,
				     NULL));
	assert_non_null(llmsum_check("ok\n## Heading\ntext", "en", mat, NULL));
	/* a tag line, even one the mails hold, is never passed on */
	assert_string_equal(llmsum_check("Oliver Upton reviewed it.\n"
					 "Reviewed-by: Oliver Upton "
					 "<oliver.upton@linux.dev>",
					 "en", mat, NULL),
			    "the answer contains a review tag line");
	assert_non_null(llmsum_check("The series is acked-by: Marc Zyngier",
				     "en", mat, NULL));
	assert_non_null(llmsum_check("Will Deacon acked it.", "en", mat,
				     NULL));
	assert_non_null(llmsum_check("Mail maz@example.com now.", "en", mat,
				     NULL));
	assert_null(llmsum_check("Mail maz@kernel.org now.", "en", mat,
				 NULL));
	assert_non_null(llmsum_check("Marc said \"this cannot work at "
				     "all\".",
				     "en", mat, NULL));
	/* a capitalised term whose words the glossary has is no name */
	assert_null(llmsum_check("It adds Guarded Control Stack support.",
				 "en", mat,
				 "GCS = Guarded Control Stack\n"));
	/* language */
	assert_non_null(llmsum_check("Marc Zyngier reviewed it.", "zh", mat,
				     NULL));
	assert_null(llmsum_check("\xe5\x8e\x9f\xe5\xa7\x8b\xe8\xa1\xa5\xe4"
				 "\xb8\x81\xef\xbc\x9a\xe7\x94\xb1 Marc "
				 "Zyngier \xe5\x8f\x91\xe5\x87\xba\xe3\x80"
				 "\x82\xe6\x9c\xac\xe5\x91\xa8\xe6\xb2\xa1"
				 "\xe6\x9c\x89\xe5\x9b\x9e\xe5\xa4\x8d\xe3"
				 "\x80\x82",
				 "zh", mat, NULL));
	assert_non_null(llmsum_check("\xe5\x8e\x9f\xe5\xa7\x8b\xe8\xa1\xa5"
				     "\xe4\xb8\x81\xe6\x9c\xac\xe5\x91\xa8"
				     "\xe6\xb2\xa1\xe6\x9c\x89\xe5\x9b\x9e"
				     "\xe5\xa4\x8d",
				     "en", mat, NULL));
	{
		char big[LLMSUM_MAX_BYTES + 10];

		memset(big, 'a', sizeof(big) - 1);
		big[sizeof(big) - 1] = '\0';
		assert_non_null(llmsum_check(big, "en", mat, NULL));
	}
}

/* `kvmarm-bot summarize`: offline without llm_url, the LLM with it */
static void
test_llmsum_command(void **state)
{
	char *dir = test_tmpdir("summarize-cmd");
	char sdir[512], conf[512], text[256], *out = NULL, *err = NULL;
	struct store *s;
	struct fake f;
	int n;

	snprintf(sdir, sizeof(sdir), "%s/state", dir);
	assert_int_equal(store_open(sdir, 0, &s), 0);
	put_mail(s, ls_patch_a);
	put_reply(s, "Tue, 09 Sep 2025 10:00:00 +0000", "ls-r1@example.org",
		  "Looks good to me, the ordering is now right.");
	store_close(s);

	{
		char *argv[] = {"--state", sdir, "summarize",
				"https://lore.kernel.org/kvmarm/"
				"ls-r1%40example.org/",
				NULL};

		assert_int_equal(test_run_bot(argv, &out, &err), 0);
		assert_non_null(strstr(out, "Ann Author"));
		assert_non_null(strstr(out, "Rita Reviewer"));
		free(out);
		free(err);
	}
	fake_start(&f, "ok", NULL);
	snprintf(conf, sizeof(conf), "%s/bot.conf", dir);
	n = snprintf(text, sizeof(text),
		     "llm_url = http://127.0.0.1:%d/v1\nllm_model = fake\n",
		     f.port);
	assert_int_equal(test_write_file(conf, text, (size_t)n), 0);
	for (int round = 0; round < 2; round++) {
		char *argv[] = {"-c", conf, "--state", sdir, "summarize",
				"<ls-a@example.org>", "--lang", "en", NULL};

		assert_int_equal(test_run_bot(argv, &out, &err), 0);
		assert_non_null(strstr(out, "This week: "));
		assert_non_null(strstr(out, "Rita Reviewer"));
		free(out);
		free(err);
		/* the second run is answered from the cache */
		assert_int_equal(fake_requests(&f, 0, NULL, NULL), 1);
	}
	/* the digest: the same week twice costs the requests once */
	put_mail_dir(sdir, ls_patch_b);
	for (int round = 0; round < 2; round++) {
		char *argv[] = {"-c", conf, "--state", sdir, "digest",
				"--since", "2025-09-08", "--until",
				"2025-09-15", "--format", "text", NULL};

		assert_int_equal(test_run_bot(argv, &out, &err), 0);
		assert_non_null(strstr(out, "frob the widget"));
		assert_non_null(strstr(out, "count the LPIs once"));
		assert_null(strstr(out, "offline"));
		free(out);
		free(err);
		/* ls-a was cached by summarize for another window */
		assert_int_equal(fake_requests(&f, 0, NULL, NULL), 3);
	}
	fake_stop(&f);

	/* nobody listening: the digest is complete, offline, marked */
	{
		char *argv[] = {"-c", conf, "--state", sdir, "digest",
				"--since", "2025-09-07", "--until",
				"2025-09-14", "--format", "text", NULL};

		assert_int_equal(test_run_bot(argv, &out, &err), 0);
		assert_non_null(strstr(out, "frob the widget"));
		assert_non_null(strstr(out, "count the LPIs once"));
		assert_non_null(strstr(out, "offline"));
		assert_non_null(strstr(out, "Ann Author"));
		free(out);
		free(err);
	}
	free(dir);
}

/*
 * The digest that is mailed (digest --send, the schedule of run) takes
 * the same LLM summaries as the printed one: one request per thread,
 * and a second queueing of the same window asks nothing.
 */
static void
test_llmsum_mailer(void **state)
{
	struct store *s = make_store();
	struct config cfg;
	struct fake f;

	fake_start(&f, "ok", NULL);
	make_config(&cfg, f.port);
	free(cfg.bot_address);
	cfg.bot_address = strdup("bot@example.test");
	free(cfg.digest_recipients);
	cfg.digest_recipients = strdup("bob@example.test");
	assert_non_null(cfg.bot_address);
	assert_non_null(cfg.digest_recipients);

	assert_int_equal(mailer_queue_digest(s, &cfg, W1_SINCE, W1_UNTIL,
					     W1_UNTIL + 3600, "en"), 0);
	assert_int_equal(fake_requests(&f, 0, NULL, NULL), 2);
	assert_int_equal(mailer_queue_digest(s, &cfg, W1_SINCE, W1_UNTIL,
					     W1_UNTIL + 7200, "en"), 1);
	assert_int_equal(fake_requests(&f, 0, NULL, NULL), 2);

	config_release(&cfg);
	fake_stop(&f);
	store_close(s);
}

TEST_LIST(llmsum,
	cmocka_unit_test(test_llmsum_check),
	cmocka_unit_test(test_llmsum_cache),
	cmocka_unit_test(test_llmsum_down),
	cmocka_unit_test(test_llmsum_bad_answers),
	cmocka_unit_test(test_llmsum_command),
	cmocka_unit_test(test_llmsum_mailer));
