/*
 * mailer.c - compose the digest into the outbox and drive the outbox.
 *
 * The digest window is the idempotency key: the outbox lookup of
 * "digest:SINCE:UNTIL" and the insert happen in the same LMDB write
 * transaction, and LMDB has one writer at a time (also across
 * processes), so the daemon and `digest --send` can never both queue
 * the same week.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "compose.h"
#include "digest.h"
#include "llmsum.h"
#include "log.h"
#include "mailer.h"
#include "outbox.h"
#include "schedule.h"

static int
digest_subject(const struct config *cfg, const struct digest *d,
	       const char *lang, struct buf *out)
{
	const char *list = cfg->list_name && *cfg->list_name ? cfg->list_name
							     : "kvmarm";
	char from[16], to[16];
	/*
	 * The last day named is the day before the end: a week ending
	 * Monday 09:00 reads "Mon .. Sun", like the weeks people say.
	 */
	int64_t last = d->until - d->since > 86400 ? d->until - 86400
						   : d->until - 1;

	if (schedule_local_date(cfg->digest_timezone, d->since, from,
				sizeof(from)) < 0 ||
	    schedule_local_date(cfg->digest_timezone, last, to,
				sizeof(to)) < 0)
		return -1;
	if (!strcmp(lang, "zh"))
		return buf_addf(out, "[%s 周报] %s .. %s：%zu 封邮件，%zu 个讨论",
				list, from, to, d->mails, d->n_threads);
	return buf_addf(out, "[%s digest] %s .. %s: %zu mails, %zu threads",
			list, from, to, d->mails, d->n_threads);
}

int
mailer_queue_digest(struct store *store, const struct config *cfg,
		    int64_t since, int64_t until, int64_t now,
		    const char *lang)
{
	struct digest_options opt = {0};
	struct compose_mail m = {0};
	struct buf subj, body, mail;
	char **rcpt = NULL, *msgid = NULL, *old = NULL;
	char key[64];
	size_t n = 0;
	struct store_txn *txn;
	struct llmsum *ls = NULL;
	struct digest d;
	int r;

	if (!lang || !*lang)
		lang = cfg->digest_lang && *cfg->digest_lang ? cfg->digest_lang
							     : "en";
	if (!cfg->bot_address || !*cfg->bot_address)
		return log_error("mailer: bot_address is not set");
	if (config_split_list(cfg->digest_recipients, &rcpt, &n) < 0)
		return -1;
	if (!n)
		return log_error("mailer: digest_recipients is empty");
	snprintf(key, sizeof(key), "digest:%" PRId64 ":%" PRId64, since,
		 until);
	buf_init(&subj, 4096);
	buf_init(&body, 0);
	buf_init(&mail, 0);
	if (store_begin(store, 1, &txn) < 0) {
		config_free_list(rcpt, n);
		return -1;
	}
	r = outbox_find_key(txn, key, &old);
	if (r == 0) {
		log_debug("mailer: digest %s already queued as <%s>", key,
			  old);
		r = 1;
		goto abort;
	}
	if (r < 0)
		goto abort;

	opt.since = since;
	opt.until = until;
	opt.now = now;
	opt.lang = lang;
	opt.list_name = cfg->list_name && *cfg->list_name ? cfg->list_name
							  : "kvmarm";
	opt.timezone = cfg->digest_timezone && *cfg->digest_timezone
			       ? cfg->digest_timezone
			       : "UTC";
	/*
	 * The mailed digest uses the same summaries as `digest`: the LLM's
	 * when llm_url is set (cached in this transaction), else, or when
	 * the client cannot be set up, the offline summarizer's.  The
	 * glossary is found as llmsum_from_config() documents, without a
	 * config path ($KVMARM_GLOSSARY, config/, /usr/local/share).
	 */
	if (cfg->llm_url && *cfg->llm_url) {
		if (llmsum_from_config(cfg, NULL, &ls) == 0) {
			opt.summarize = llmsum_summarize;
			opt.summarize_ctx = ls;
		} else {
			log_warn("mailer: LLM not usable, the digest gets "
				 "offline summaries");
		}
	}
	if (digest_build(txn, &opt, &d) < 0) {
		r = -1;
		goto abort;
	}
	r = digest_render(&d, DIGEST_TEXT, &body);
	if (r == 0)
		r = digest_subject(cfg, &d, lang, &subj);
	digest_release(&d);
	if (r == 0)
		r = compose_message_id(cfg->bot_address, now, &msgid);
	if (r < 0)
		goto abort;
	m.from = cfg->bot_address;
	m.to = (const char *const *)rcpt;
	m.n_to = n;
	m.subject = subj.data;
	m.body = body.data;
	m.message_id = msgid;
	m.date = now;
	m.bulk = 1;
	r = compose_mail(&m, &mail);
	if (r == 0)
		r = outbox_queue(txn, msgid, (const char *const *)rcpt, n,
				 mail.data, mail.len, key, now);
	if (r != 0)
		goto abort;
	if (store_commit(txn) < 0) {
		r = -1;
		goto out;
	}
	outbox_crash_point("queued");
	goto out;
abort:
	store_abort(txn);
out:
	llmsum_free(ls);
	free(old);
	free(msgid);
	buf_release(&subj);
	buf_release(&body);
	buf_release(&mail);
	config_free_list(rcpt, n);
	return r;
}

int
mailer_tick(struct store *store, const struct config *cfg, int64_t now,
	    int64_t *next_wakeup)
{
	int64_t due, next = INT64_MAX;
	int r, err = 0;

	r = schedule_due(cfg, now, &due, &next);
	if (r < 0) {
		err = 1;
		next = INT64_MAX;
	} else if (r == 0 &&
		   mailer_queue_digest(store, cfg, due - SCHEDULE_WINDOW, due,
				       now, NULL) < 0) {
		err = 1;
	}
	if (r == 1)
		next = INT64_MAX;
	r = outbox_flush(store, cfg, now, &next);
	if (next_wakeup)
		*next_wakeup = next;
	return err || r < 0 ? -1 : r;
}
