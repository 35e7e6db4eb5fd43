/*
 * responder.c - act on the commands mailed to the bot (responder.h).
 *
 * One mail, one write transaction: the rate-limit events, the queued
 * answers, subscriber and moderation changes and the "handled" mark
 * all commit together or not at all.
 */
#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "audit.h"
#include "buf.h"
#include "command.h"
#include "compose.h"
#include "digest.h"
#include "inbox.h"
#include "llmsum.h"
#include "log.h"
#include "mailer.h"
#include "message.h"
#include "moderation.h"
#include "outbox.h"
#include "ratelimit.h"
#include "responder.h"
#include "subscriber.h"
#include "summary.h"
#include "thread.h"
#include "token.h"

#define WEEK (7 * 86400)
#define MAX_REFS 20	/* References kept in an answer */

/* One mail being handled. */
struct job {
	struct store_txn *txn;
	const struct config *cfg;
	const char *state_dir;
	int64_t now;
	const struct message *msg;
	const char *from;	/* msg->from_addr */
	const char *lang;	/* of the answers */
	int via_list;
	size_t answers;
};

static int
limit(struct job *j, const char *bucket, const char *who, int n,
      int64_t period)
{
	int r = ratelimit_take(j->txn, bucket, who, n, period, j->now);

	if (r == 0)
		log_warn("responder: <%s> from %s: %s limit reached, no "
			 "answer",
			 j->msg->message_id, j->from, bucket);
	return r;
}

/*
 * Queue an answer to the requester: To the sender (and Cc the list when
 * cc_list), threaded under in_reply_to/refs (NULL: under the request),
 * body + footer.  Under `moderation = all` an answer that copies the
 * list is held instead.  Counts against the global limit; 0 queued or
 * held, 1 not sent (limit), -1 on error.
 */
static int
answer_in(struct job *j, const char *subject, const char *text,
	  int cc_list, const char *in_reply_to, const char *const *refs,
	  size_t n_refs)
{
	const struct config *cfg = j->cfg;
	const char *to = j->from, *list = cfg->list_address;
	const char *reqrefs[MAX_REFS + 1];
	struct compose_mail m = {0};
	struct buf body, mail;
	char *msgid = NULL;
	int r;

	r = limit(j, "answers", "*", cfg->rate_global_per_day, 86400);
	if (r <= 0)
		return r < 0 ? -1 : 1;
	if (!in_reply_to) {
		const struct message *q = j->msg;
		size_t skip = q->n_references > MAX_REFS - 1
				      ? q->n_references - (MAX_REFS - 1)
				      : 0;

		n_refs = 0;
		for (size_t i = skip; i < q->n_references; i++)
			reqrefs[n_refs++] = q->references[i];
		reqrefs[n_refs++] = q->message_id;
		refs = reqrefs;
		in_reply_to = q->message_id;
		/* a synthetic id is not the sender's: do not thread on it */
		if (!digest_on_lore(q->message_id)) {
			in_reply_to = NULL;
			n_refs--;
		}
	}
	buf_init(&body, 0);
	buf_init(&mail, 0);
	r = buf_adds(&body, text);
	if (r == 0)
		r = mailer_footer(cfg, j->lang, &body);
	if (r == 0)
		r = compose_message_id(cfg->bot_address, j->now, &msgid);
	cc_list = cc_list && *list && strcmp(list, to);
	if (r == 0) {
		m.from = cfg->bot_address;
		m.to = &to;
		m.n_to = 1;
		m.cc = cc_list ? &list : NULL;
		m.n_cc = cc_list ? 1 : 0;
		m.subject = subject;
		m.body = body.data;
		m.message_id = msgid;
		m.date = j->now;
		m.in_reply_to = in_reply_to;
		m.references = refs;
		m.n_references = n_refs;
		m.auto_replied = 1;
		r = compose_mail(&m, &mail);
	}
	if (r == 0 && cc_list && !strcmp(cfg->moderation, "all")) {
		struct moderation_item item = {0};
		const char *rc[2] = { to, list };

		item.kind = MODERATION_REPLY;
		item.message_id = strdup(msgid);
		item.raw = malloc(mail.len ? mail.len : 1);
		item.rcpt = calloc(2, sizeof(char *));
		if (!item.message_id || !item.raw || !item.rcpt)
			r = log_error("out of memory");
		for (size_t i = 0; r == 0 && i < 2; i++)
			if (!(item.rcpt[item.n_rcpt++] = strdup(rc[i])))
				r = log_error("out of memory");
		if (r == 0) {
			memcpy(item.raw, mail.data, mail.len);
			item.raw_len = mail.len;
			r = moderation_hold(j->txn, cfg, &item, j->now);
		}
		if (r == 0)
			r = mailer_draft(j->txn, cfg, &item, j->now);
		if (r == 0)
			r = moderation_put(j->txn, &item);
		if (r == 0)
			log_info("responder: answer to %s held as item #%u",
				 to, item.id);
		moderation_item_release(&item);
	} else if (r == 0) {
		const char *rc[2] = { to, list };

		r = outbox_queue(j->txn, msgid, rc, cc_list ? 2 : 1, mail.data,
				 mail.len, NULL, j->now);
		if (r == 1)
			r = log_error("responder: Message-ID <%s> reused",
				      msgid);
	}
	if (r == 0)
		j->answers++;
	free(msgid);
	buf_release(&body);
	buf_release(&mail);
	return r;
}

/* "Re: SUBJECT" of the request (or of fallback when it has none). */
static int
re_subject(const char *subject, const char *fallback, struct buf *out)
{
	const char *s = subject && *subject ? subject : fallback;

	if (!strncasecmp(s, "re:", 3))
		return buf_adds(out, s);
	return buf_addf(out, "Re: %s", s);
}

static int
answer(struct job *j, const char *text)
{
	struct buf subj;
	int r;

	buf_init(&subj, 4096);
	r = re_subject(j->msg->subject, "your mail to kvmarm-bot", &subj);
	if (r == 0)
		r = answer_in(j, subj.data, text, 0, NULL, NULL, 0);
	buf_release(&subj);
	return r;
}

/*
 * answer() when the sender is still under the per-address limit of
 * bucket (3 a day); 0 also when over it, -1 on a store error.
 */
static int
answer_limited(struct job *j, const char *bucket, const char *text)
{
	int r = limit(j, bucket, j->from, 3, 86400);

	if (r <= 0)
		return r;
	return answer(j, text) < 0 ? -1 : 0;
}

/* ---- help --------------------------------------------------------- */

static int
do_help(struct job *j, int unknown, const char *word)
{
	struct buf text;
	char *help;
	int r;

	if (unknown && j->via_list) {
		log_debug("responder: <%s>: no command in list traffic",
			  j->msg->message_id);
		return 0;
	}
	r = unknown ? limit(j, "help-unknown", j->from, 1, 86400)
		    : limit(j, "help", j->from, 3, 86400);
	if (r <= 0)
		return r;
	help = command_help_text(j->cfg->bot_address, j->lang);
	if (!help)
		return log_error("out of memory");
	buf_init(&text, 0);
	r = 0;
	if (unknown)
		r = buf_addf(&text,
			     "\"%s\" is not a command this bot knows.\n\n",
			     word && *word ? word : "(empty)");
	if (r == 0)
		r = buf_adds(&text, help);
	if (r == 0)
		r = answer(j, text.data);
	free(help);
	buf_release(&text);
	return r < 0 ? -1 : 0;
}

/* ---- summarize ------------------------------------------------------ */

/* The stored mail the request is about; malloc'd id or NULL. */
static char *
target_of(struct job *j, const struct command *c)
{
	const struct message *q = j->msg;

	if (c->arg)
		return strdup(c->arg);
	if (*q->in_reply_to && store_has_message(j->txn, q->in_reply_to) == 1)
		return strdup(q->in_reply_to);
	for (size_t i = q->n_references; i-- > 0;)
		if (store_has_message(j->txn, q->references[i]) == 1)
			return strdup(q->references[i]);
	return NULL;
}

static int
not_held(struct job *j, const char *id)
{
	struct store_stats st = {0};
	struct buf text;
	int r;

	if (store_stats(j->txn, &st) < 0)
		return -1;
	buf_init(&text, 0);
	if (id)
		r = buf_addf(&text, "This bot does not hold the mail\n\n"
				    "    <%s>\n\n"
				    "so it cannot summarize its thread.\n",
			     id);
	else
		r = buf_adds(&text,
			     "There is no thread to summarize: send "
			     "\"summarize\" as a reply inside a thread of the "
			     "list, or name a mail:\n\n"
			     "    summarize <message-id>\n"
			     "    summarize https://lore.kernel.org/kvmarm/"
			     "MESSAGE-ID/\n");
	if (r == 0 && st.messages) {
		char since[32];

		digest_iso8601(st.first_date, since, sizeof(since));
		since[10] = '\0';
		r = buf_addf(&text,
			     "\nIt holds %" PRIu64 " mails of the %s list, "
			     "from %s on.\n",
			     st.messages,
			     *j->cfg->list_name ? j->cfg->list_name : "kvmarm",
			     since);
	} else if (r == 0) {
		r = buf_adds(&text, "\nIt holds no mail yet.\n");
	}
	if (r == 0)
		r = answer(j, text.data);
	buf_release(&text);
	return r < 0 ? -1 : 0;
}

static int
do_summarize(struct job *j, const struct command *c)
{
	const struct config *cfg = j->cfg;
	struct summary_input in = {0};
	struct thread t = {0};
	struct llmsum *ls = NULL;
	struct buf text, subj;
	const char *title, *refs[2];
	size_t n_refs = 0, people = 0;
	int64_t newest = 0, oldest = INT64_MAX;
	char *id, *out = NULL, d0[32], d1[32];
	int r, offline = 1;

	r = limit(j, "summarize", j->from, cfg->rate_sender_per_hour, 3600);
	if (r <= 0)
		return r;
	id = target_of(j, c);
	if (!id)
		return not_held(j, NULL);
	r = thread_collect(j->txn, id, &t);
	if (r != 0) {
		r = r < 0 ? -1 : not_held(j, id);
		free(id);
		return r;
	}
	for (size_t i = 0; i < t.n_msgs; i++) {
		int seen = 0;

		if (t.msgs[i].date > newest)
			newest = t.msgs[i].date;
		if (t.msgs[i].date && t.msgs[i].date < oldest)
			oldest = t.msgs[i].date;
		for (size_t k = 0; k < i && !seen; k++)
			seen = !strcmp(t.msgs[k].from_addr, t.msgs[i].from_addr);
		people += !seen;
	}
	in.thread = &t;
	in.until = newest + 1;
	in.since = in.until - WEEK;
	in.category = classify_thread(&t);
	in.lang = j->lang;
	in.list_name = *cfg->list_name ? cfg->list_name : "kvmarm";
	if (*cfg->llm_url && llmsum_from_config(cfg, NULL, &ls) == 0)
		r = llmsum_summarize(ls, j->txn, &in, &out, &offline);
	else
		r = summary_offline(j->txn, &in, &out);
	llmsum_free(ls);
	title = t.n_msgs ? t.msgs[0].subject : "";
	for (size_t i = 0; i < t.n_msgs; i++)
		if (!strcmp(t.msgs[i].id, t.root_id))
			title = t.msgs[i].subject;
	buf_init(&text, 0);
	buf_init(&subj, 4096);
	if (r == 0) {
		digest_iso8601(oldest == INT64_MAX ? 0 : oldest, d0, sizeof(d0));
		digest_iso8601(newest, d1, sizeof(d1));
		d0[10] = d1[10] = '\0';
		r = !strcmp(j->lang, "zh")
			    ? buf_addf(&text, "讨论串摘要（%zu 封邮件，%zu 人参与，"
					      "%s 至 %s）：\n\n",
				       t.n_msgs, people, d0, d1)
			    : buf_addf(&text, "Summary of the thread (%zu mails "
					      "from %zu people, %s .. %s):\n\n",
				       t.n_msgs, people, d0, d1);
	}
	if (r == 0)
		r = digest_wrap(&text, out);
	if (r == 0 && digest_on_lore(t.root_id)) {
		r = buf_adds(&text, "\nThread: ");
		if (r == 0)
			r = digest_lore_url(&text, in.list_name, t.root_id);
		if (r == 0)
			r = buf_adds(&text, "\n");
	}
	if (r == 0 && offline && *cfg->llm_url)
		r = buf_adds(&text, "(The LLM was not available: this is the "
				    "bot's offline summary.)\n");
	if (r == 0)
		r = re_subject(title, "thread", &subj);
	if (r == 0) {
		const char *irt = NULL;

		/*
		 * A reply inside the thread is answered under the request
		 * (answer_in() threads it, NULL); a fresh request, or one
		 * without a real Message-ID, under the mail it names.
		 */
		if (c->arg || !digest_on_lore(j->msg->message_id)) {
			if (strcmp(t.root_id, id))
				refs[n_refs++] = t.root_id;
			refs[n_refs++] = id;
			irt = id;
		}
		r = answer_in(j, subj.data, text.data,
			      cfg->reply_to_list, irt, refs, n_refs);
		if (r == 0)
			log_info("responder: summary of <%s> for %s queued",
				 t.root_id, j->from);
	}
	free(out);
	free(id);
	thread_release(&t);
	buf_release(&text);
	buf_release(&subj);
	return r < 0 ? -1 : 0;
}

/* ---- subscriptions -------------------------------------------------- */

static int
confirm_mail(struct job *j, const char *purpose, const char *what)
{
	char tok[TOKEN_MAX];
	struct buf subj, text;
	int r;

	r = limit(j, "confirm", j->from, 3, 86400);
	if (r <= 0)
		return r;
	if (token_make(j->cfg->token_secret, purpose, j->from, j->now, tok,
		       sizeof(tok)) < 0)
		return -1;
	buf_init(&subj, 1024);
	buf_init(&text, 0);
	r = buf_addf(&subj, "confirm %s", tok);
	if (r == 0)
		r = buf_addf(&text,
			     "Someone, probably you, asked to %s.\n\n"
			     "To confirm, reply to this mail keeping the "
			     "subject, or send this line to %s:\n\n"
			     "    confirm %s\n\n"
			     "The token is valid for %d hours. If you did "
			     "not ask for this, ignore this mail: nothing "
			     "changes.\n",
			     what, j->cfg->bot_address, tok,
			     RESPONDER_CONFIRM_HOURS);
	if (r == 0)
		r = answer_in(j, subj.data, text.data, 0, NULL, NULL, 0);
	buf_release(&subj);
	buf_release(&text);
	return r < 0 ? -1 : 0;
}

static const char *
lang_name(const char *lang)
{
	return !strcmp(lang, "zh") ? "Chinese" : "English";
}

static int
do_subscribe(struct job *j, const struct command *c)
{
	const char *lang = c->arg ? c->arg
				  : *j->cfg->digest_lang ? j->cfg->digest_lang
							  : "en";
	struct subscriber s;
	char purpose[16], what[512];
	int r;

	if (!*j->cfg->token_secret) {
		log_warn("responder: subscribe from %s: token_secret is not "
			 "set, subscriptions are off",
			 j->from);
		return answer(j, "Subscriptions by mail are not enabled on this "
				 "bot.\n");
	}
	if (!subscriber_addr_valid(j->from))
		return log_warn("responder: subscribe: '%s' is not an "
				"address to mail",
				j->from),
		       0;
	r = subscriber_get(j->txn, j->from, &s);
	if (r < 0)
		return -1;
	if (r == 0 && !strcmp(s.lang, lang)) {
		char buf[256];

		snprintf(buf, sizeof(buf),
			 "%s is already subscribed to the %s digest.\n",
			 j->from, lang_name(lang));
		return answer_limited(j, "confirm", buf);
	}
	snprintf(purpose, sizeof(purpose), "sub-%s", lang);
	snprintf(what, sizeof(what),
		 "subscribe %s to the weekly digest of the %s list, in %s",
		 j->from, *j->cfg->list_name ? j->cfg->list_name : "kvmarm",
		 lang_name(lang));
	return confirm_mail(j, purpose, what);
}

static int
unsubscribe_now(struct job *j)
{
	int r = subscriber_remove(j->txn, j->from);
	char buf[300];

	if (r < 0)
		return -1;
	log_info("responder: %s unsubscribed", j->from);
	snprintf(buf, sizeof(buf),
		 r == 0 ? "%s is unsubscribed: no more digests will come.\n"
			: "%s was not subscribed.\n",
		 j->from);
	return answer(j, buf) < 0 ? -1 : 0;
}

static int
do_confirm(struct job *j, const char *tok)
{
	char purpose[TOKEN_PURPOSE_MAX + 1], buf[300];
	int64_t age;
	int r;

	if (!*j->cfg->token_secret || !tok ||
	    token_purpose(tok, purpose, sizeof(purpose)) < 0 ||
	    (strcmp(purpose, "sub-en") && strcmp(purpose, "sub-zh") &&
	     strcmp(purpose, "unsub"))) {
		log_warn("responder: <%s> from %s: not a confirmation token",
			 j->msg->message_id, j->from);
		return do_help(j, 1, "confirm");
	}
	age = !strcmp(purpose, "unsub") ? (int64_t)RESPONDER_UNSUB_DAYS * 86400
					: (int64_t)RESPONDER_CONFIRM_HOURS * 3600;
	r = token_check(j->cfg->token_secret, purpose, j->from, tok, j->now,
			age);
	if (r != TOKEN_VALID) {
		log_warn("responder: %s token from %s refused (%s)", purpose,
			 j->from, r == TOKEN_EXPIRED ? "expired" : "not valid");
		r = limit(j, "confirm", j->from, 3, 86400);
		if (r <= 0)
			return r;
		snprintf(buf, sizeof(buf),
			 r == TOKEN_EXPIRED
				 ? "This confirmation has expired. Send "
				   "\"%s\" again to get a new one.\n"
				 : "This token is not valid for %s.\n",
			 r == TOKEN_EXPIRED
				 ? (strcmp(purpose, "unsub") ? "subscribe"
							     : "unsubscribe")
				 : j->from);
		return answer(j, buf) < 0 ? -1 : 0;
	}
	if (!strcmp(purpose, "unsub"))
		return unsubscribe_now(j);
	r = subscriber_add(j->txn, j->from, purpose + 4, j->now);
	if (r < 0)
		return -1;
	log_info("responder: %s subscribed (%s)", j->from, purpose + 4);
	snprintf(buf, sizeof(buf),
		 "%s is subscribed to the weekly %s digest of the %s list.\n"
		 "Every digest says how to unsubscribe.\n",
		 j->from, lang_name(purpose + 4),
		 *j->cfg->list_name ? j->cfg->list_name : "kvmarm");
	return answer(j, buf) < 0 ? -1 : 0;
}

static int
do_unsubscribe(struct job *j, const struct command *c)
{
	char what[300], purpose[TOKEN_PURPOSE_MAX + 1];
	struct subscriber s;
	int r;

	/* only an "unsub" token: a subscription token must not subscribe */
	if (c->arg && token_purpose(c->arg, purpose, sizeof(purpose)) == 0 &&
	    !strcmp(purpose, "unsub"))
		return do_confirm(j, c->arg);
	r = subscriber_get(j->txn, j->from, &s);
	if (r < 0)
		return -1;
	if (r == 1) {
		snprintf(what, sizeof(what), "%s is not subscribed.\n",
			 j->from);
		return answer_limited(j, "confirm", what);
	}
	if (!*j->cfg->token_secret)	/* no way to confirm: do it */
		return unsubscribe_now(j);
	snprintf(what, sizeof(what),
		 "unsubscribe %s from the weekly digest", j->from);
	return confirm_mail(j, "unsub", what);
}

/* ---- moderation ------------------------------------------------------ */

/* "[hold #ID TOKEN]" in the subject: 0 and id/tok, or -1. */
static int
hold_tag(const char *subject, unsigned *id, char *tok, size_t toksz)
{
	const char *p = strstr(subject, "[hold #");
	unsigned long v;
	char *end;
	size_t n;

	if (!p)
		return -1;
	p += 7;
	v = strtoul(p, &end, 10);
	if (end == p || *end != ' ' || v == 0 || v > 99999999)
		return -1;
	p = end + 1;
	n = strcspn(p, "] ");
	if (!n || n >= toksz || p[n] != ']')
		return -1;
	memcpy(tok, p, n);
	tok[n] = '\0';
	*id = (unsigned)v;
	return 0;
}

static enum moderation_action
action_of(enum command_verb v)
{
	switch (v) {
	case COMMAND_APPROVE:
		return MODERATION_APPROVE;
	case COMMAND_REJECT:
		return MODERATION_REJECT;
	case COMMAND_DROP:
		return MODERATION_DROP;
	case COMMAND_FIX:
		return MODERATION_FIX;
	default:
		return MODERATION_REGENERATE;
	}
}

static int
is_moderation(enum command_verb v)
{
	return v == COMMAND_APPROVE || v == COMMAND_REJECT ||
	       v == COMMAND_DROP || v == COMMAND_FIX ||
	       v == COMMAND_REGENERATE;
}

static int
do_moderation(struct job *j, const struct command_list *cl)
{
	char tok[TOKEN_MAX] = "";
	unsigned id = 0;
	int edited = 0, decided = 0, r = 0;
	struct buf text;

	if (!command_is_moderator(j->cfg, j->from)) {
		log_warn("responder: <%s>: moderation command from %s, who is "
			 "not a moderator: ignored",
			 j->msg->message_id, j->from);
		for (size_t i = 0; i < cl->n; i++)
			if (is_moderation(cl->cmd[i].verb))
				audit_log(j->state_dir, j->now, j->from,
					  command_verb_name(cl->cmd[i].verb),
					  cl->cmd[i].id, "refused",
					  "not a moderator");
		return 0;
	}
	/* the item: from an approve/reject line, else the draft's subject */
	for (size_t i = 0; i < cl->n && !id; i++)
		if ((cl->cmd[i].verb == COMMAND_APPROVE ||
		     cl->cmd[i].verb == COMMAND_REJECT) && cl->cmd[i].arg) {
			id = cl->cmd[i].id;
			snprintf(tok, sizeof(tok), "%s", cl->cmd[i].arg);
		}
	if (!id && hold_tag(j->msg->subject, &id, tok, sizeof(tok)) < 0) {
		log_warn("responder: <%s>: moderation command from %s without "
			 "an item and token: ignored",
			 j->msg->message_id, j->from);
		audit_log(j->state_dir, j->now, j->from, "moderate", 0,
			  "refused", "no item id and token");
		return 0;
	}
	buf_init(&text, 0);
	for (size_t i = 0; r >= 0 && i < cl->n; i++) {
		const struct command *c = &cl->cmd[i];
		struct moderation_item item = {0};
		const char *why = NULL;
		unsigned cid = id;
		const char *ctok = tok;

		if (!is_moderation(c->verb))
			continue;
		if ((c->verb == COMMAND_APPROVE || c->verb == COMMAND_REJECT)) {
			cid = c->id;
			ctok = c->arg ? c->arg : tok;
		}
		r = moderation_decide(j->txn, j->cfg, j->state_dir, cid, ctok,
				      j->from, action_of(c->verb), c->item,
				      c->text, j->now, &why, &item);
		if (r == 1) {
			log_warn("responder: %s %u from %s refused: %s",
				 command_verb_name(c->verb), cid, j->from, why);
			/* a wrong token may be a forgery: no answer */
			if (why && strstr(why, "token")) {
				r = 0;
				continue;
			}
			buf_addf(&text, "%s %u: refused: %s\n",
				 command_verb_name(c->verb), cid, why);
			r = 0;
			decided = 1;
			continue;
		}
		if (r < 0)
			break;
		log_info("responder: %s %u by %s", command_verb_name(c->verb),
			 cid, j->from);
		if (c->verb == COMMAND_APPROVE) {
			r = mailer_release(j->txn, j->cfg, &item, j->now);
			if (r >= 0)
				buf_addf(&text, "Item #%u approved: %s.\n", cid,
					 r == 0 ? "it is being sent"
						: "it had already been sent");
			r = r < 0 ? -1 : 0;
			decided = 1;
		} else if (c->verb == COMMAND_REJECT) {
			buf_addf(&text, "Item #%u rejected: it will not be "
					"sent.\n",
				 cid);
			decided = 1;
		} else {
			edited = 1;
		}
		moderation_item_release(&item);
	}
	if (r == 0 && edited && !decided) {
		struct moderation_item item;

		r = moderation_get(j->txn, id, &item);
		if (r == 0 && item.state == MODERATION_HELD) {
			r = mailer_draft(j->txn, j->cfg, &item, j->now);
			if (r == 0)
				r = moderation_put(j->txn, &item);
		}
		if (r == 0)
			moderation_item_release(&item);
		r = r < 0 ? -1 : 0;
	} else if (r == 0 && text.len) {
		r = answer(j, text.data) < 0 ? -1 : 0;
	}
	buf_release(&text);
	return r;
}

/* ---- one mail --------------------------------------------------------- */

/*
 * The token after word ("confirm ", "unsubscribe ") in the subject,
 * where the bot's own confirmation mail and List-Unsubscribe link put
 * it: 1 and out, else 0.  Mail clients keep the subject of a reply and
 * of a mailto link even when the body gets other text ("Thanks!", a
 * webmail's own unsubscribe note).
 */
static int
subject_token(const char *subject, const char *word, char *out, size_t outsz)
{
	const char *p = strcasestr(subject, word);
	char purpose[TOKEN_PURPOSE_MAX + 1];
	size_t n;

	if (!p)
		return 0;
	p += strlen(word);
	n = strspn(p, "abcdefghijklmnopqrstuvwxyz"
		      "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-");
	if (!n || n >= outsz)
		return 0;
	memcpy(out, p, n);
	out[n] = '\0';
	return token_purpose(out, purpose, sizeof(purpose)) == 0;
}

static int
handle(struct job *j)
{
	struct command_list cl;
	struct subscriber s;
	char tok[TOKEN_MAX];
	int r = 0, moderation = 0;

	if (command_parse(j->msg, j->cfg->bot_address, &cl) < 0)
		return -1;
	if (subscriber_get(j->txn, j->from, &s) == 0)
		j->lang = !strcmp(s.lang, "zh") ? "zh" : "en";
	/* a reply to the confirmation with words of its own above it */
	if (cl.n == 1 && cl.cmd[0].verb == COMMAND_UNKNOWN &&
	    subject_token(j->msg->subject, "confirm ", tok, sizeof(tok))) {
		log_info("responder: <%s> from %s: confirm (subject)",
			 j->msg->message_id, j->from);
		command_list_release(&cl);
		return do_confirm(j, tok);
	}
	/* the List-Unsubscribe mailto: its token is in the subject */
	for (size_t i = 0; i < cl.n; i++) {
		struct command *c = &cl.cmd[i];

		if (c->verb == COMMAND_UNSUBSCRIBE && !c->arg &&
		    subject_token(j->msg->subject, "unsubscribe ", tok,
				  sizeof(tok)) &&
		    !(c->arg = strdup(tok))) {
			command_list_release(&cl);
			return log_error("out of memory");
		}
	}
	if (!cl.n) {
		log_info("responder: <%s> from %s holds no command",
			 j->msg->message_id, j->from);
		command_list_release(&cl);
		return 0;
	}
	for (size_t i = 0; i < cl.n; i++)
		moderation |= is_moderation(cl.cmd[i].verb);
	if (moderation) {
		r = do_moderation(j, &cl);
		command_list_release(&cl);
		return r;
	}
	for (size_t i = 0; r == 0 && i < cl.n; i++) {
		const struct command *c = &cl.cmd[i];

		log_info("responder: <%s> from %s: %s", j->msg->message_id,
			 j->from, command_verb_name(c->verb));
		switch (c->verb) {
		case COMMAND_SUMMARIZE:
			r = do_summarize(j, c);
			break;
		case COMMAND_SUBSCRIBE:
			r = do_subscribe(j, c);
			break;
		case COMMAND_UNSUBSCRIBE:
			r = do_unsubscribe(j, c);
			break;
		case COMMAND_CONFIRM:
			r = do_confirm(j, c->arg);
			break;
		case COMMAND_HELP:
			r = do_help(j, 0, NULL);
			break;
		default:
			r = do_help(j, 1, c->arg);
			/* one help is enough for a mail */
			i = cl.n;
			break;
		}
	}
	command_list_release(&cl);
	return r;
}

struct batch {
	char keys[RESPONDER_BATCH][INBOX_KEY_MAX];
	size_t n;
	int more;
};

static int
collect(const void *key, size_t klen, const void *val, size_t vlen, void *ctx)
{
	struct batch *b = ctx;

	(void)val;
	(void)vlen;
	if (klen < 2 || memcmp(key, "q:", 2))
		return 1;
	if (klen != INBOX_KEY_MAX - 1)
		return 0;
	if (b->n == RESPONDER_BATCH) {
		b->more = 1;
		return 1;
	}
	memcpy(b->keys[b->n], key, klen);
	b->keys[b->n++][klen] = '\0';
	return 0;
}

/* Handle the queued mail qkey in its own transaction. */
static int
handle_one(struct store *store, const struct config *cfg,
	   const char *state_dir, const char *qkey, int64_t now)
{
	struct job j = { .cfg = cfg, .state_dir = state_dir, .now = now };
	struct message msg;
	const char *raw, *why = NULL;
	size_t len;
	int r, forget = 0;

	if (store_begin(store, 1, &j.txn) < 0)
		return -1;
	r = store_kv_get(j.txn, STORE_DB_INBOX, qkey, strlen(qkey),
			 (const void **)&raw, &len);
	if (r != 0) {
		store_abort(j.txn);
		return r < 0 ? -1 : 0;
	}
	if (message_parse(raw, len, &msg, &why) < 0) {
		log_warn("responder: queued mail %s dropped: %s", qkey + 2,
			 why ? why : "unparsable");
		r = 0;
	} else {
		j.msg = &msg;
		j.from = msg.from_addr;
		j.lang = !strcmp(cfg->digest_lang, "zh") ? "zh" : "en";
		j.via_list = command_via_list(cfg, &msg);
		why = command_screen(cfg, &msg, raw, len);
		if (why) {
			log_info("responder: <%s> from %s not answered: %s",
				 msg.message_id,
				 *msg.from_addr ? msg.from_addr : "(none)", why);
			/*
			 * The list's copy of a mail that Cc'd the bot
			 * (Precedence: list...) may come before the direct
			 * copy: leave no handled mark, so the direct copy,
			 * same Message-ID, still gets its answer.
			 */
			forget = j.via_list;
			r = 0;
		} else {
			r = handle(&j);
		}
	}
	if (r == 0)
		r = forget ? inbox_forget(j.txn, qkey) : inbox_done(j.txn, qkey, now);
	if (j.msg)
		message_release(&msg);
	if (r < 0) {
		store_abort(j.txn);
		return -1;
	}
	return store_commit(j.txn);
}

/*
 * After a failure: mark it handled so it cannot block the queue.
 * 0, or -1 when even that cannot be written (it stays queued).
 */
static int
give_up(struct store *store, const char *qkey, int64_t now)
{
	struct store_txn *txn;

	if (store_begin(store, 1, &txn) < 0)
		return -1;
	if (inbox_done(txn, qkey, now) < 0) {
		store_abort(txn);
		return -1;
	}
	if (store_commit(txn) < 0)
		return -1;
	log_error("responder: queued mail %s dropped after an error",
		  qkey + 2);
	return 0;
}

int
responder_run(struct store *store, const struct config *cfg,
	      const char *state_dir, int64_t now, int *more)
{
	struct store_txn *txn;
	struct batch *b;
	int handled = 0;

	if (more)
		*more = 0;
	if (!*cfg->bot_address)
		return 0;
	b = calloc(1, sizeof(*b));
	if (!b)
		return log_error("out of memory");
	if (store_begin(store, 0, &txn) < 0) {
		free(b);
		return -1;
	}
	if (store_kv_foreach(txn, STORE_DB_INBOX, "q:", 2, collect, b) < 0) {
		store_abort(txn);
		free(b);
		return -1;
	}
	store_abort(txn);
	for (size_t i = 0; i < b->n; i++) {
		if (handle_one(store, cfg, state_dir, b->keys[i], now) < 0 &&
		    give_up(store, b->keys[i], now) < 0) {
			/* the store cannot be written: the rest stays queued */
			free(b);
			return -1;
		}
		handled++;
	}
	if (handled) {
		if (store_begin(store, 1, &txn) == 0) {
			if (inbox_prune(txn, now) < 0 ||
			    ratelimit_prune(txn, now, 2 * 86400) < 0)
				store_abort(txn);
			else
				store_commit(txn);
		}
	}
	if (more)
		*more = b->more;
	free(b);
	return handled;
}
