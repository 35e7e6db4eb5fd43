/*
 * inbox.c - sort new mail into the archive and the responder's queue.
 *
 * The rules are in inbox.h.  Keying the queue by a hash of the
 * Message-ID instead of the IMAP UID is what makes answers idempotent
 * across mailboxes and UIDVALIDITY changes; a mail without a usable
 * Message-ID gets the parser's synthetic id, a hash of its bytes, so
 * the same bytes still map to one key.
 */
#include <string.h>

#include <openssl/evp.h>

#include "be64.h"
#include "command.h"
#include "inbox.h"
#include "log.h"
#include "thread.h"

void
inbox_key(char prefix, const char *message_id, char *out)
{
	static const char hex[] = "0123456789abcdef";
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;

	out[0] = prefix;
	out[1] = ':';
	if (!EVP_Digest(message_id, strlen(message_id), md, &mdlen,
			EVP_sha256(), NULL) || mdlen != 32) {
		/* cannot happen with a working libcrypto; keep keys apart */
		memset(md, 0, sizeof(md));
		mdlen = 32;
	}
	for (unsigned i = 0; i < 32; i++) {
		out[2 + 2 * i] = hex[md[i] >> 4];
		out[3 + 2 * i] = hex[md[i] & 15];
	}
	out[66] = '\0';
}

static int
queue(struct store_txn *txn, const struct message *msg, const char *raw,
      size_t len)
{
	char qkey[INBOX_KEY_MAX], dkey[INBOX_KEY_MAX];
	const void *v;
	size_t vlen;
	int r;

	inbox_key('q', msg->message_id, qkey);
	inbox_key('d', msg->message_id, dkey);
	r = store_kv_get(txn, STORE_DB_INBOX, dkey, strlen(dkey), &v, &vlen);
	if (r <= 0)
		return r < 0 ? -1 : 0;	/* answered before */
	r = store_kv_get(txn, STORE_DB_INBOX, qkey, strlen(qkey), &v, &vlen);
	if (r <= 0)
		return r < 0 ? -1 : 0;	/* already waiting */
	if (store_kv_put(txn, STORE_DB_INBOX, qkey, strlen(qkey), raw, len) < 0)
		return -1;
	log_info("inbox: <%s> from %s queued for the responder",
		 msg->message_id, *msg->from_addr ? msg->from_addr : "(none)");
	return 1;
}

int
inbox_accept(struct store_txn *txn, const struct config *cfg,
	     const struct message *msg, const char *raw, size_t len,
	     int *queued)
{
	int to_bot = command_addressed_to_bot(msg, cfg->bot_address);
	int from_bot = command_is_bot_address(msg->from_addr, cfg->bot_address);
	int archive = !from_bot && (!to_bot || command_via_list(cfg, msg));
	int r = 0;

	if (queued)
		*queued = 0;
	if (to_bot && !from_bot) {
		r = queue(txn, msg, raw, len);
		if (r < 0)
			return -1;
		if (queued)
			*queued = r;
	}
	if (!archive) {
		log_debug("inbox: <%s> not archived (%s)", msg->message_id,
			  from_bot ? "the bot's own mail"
				   : "sent to the bot, not to the list");
		return 0;
	}
	r = store_put_message(txn, msg, raw, len);
	if (r == 1 && thread_index_add(txn, msg) < 0)
		return -1;
	return r;
}

int
inbox_accept_request(struct store_txn *txn, const struct config *cfg,
		     const struct message *msg, const char *raw, size_t len,
		     int *queued)
{
	int r = 0;

	if (queued)
		*queued = 0;
	if (command_addressed_to_bot(msg, cfg->bot_address) &&
	    !command_is_bot_address(msg->from_addr, cfg->bot_address))
		r = queue(txn, msg, raw, len);
	else
		log_debug("inbox: <%s> in the commands mailbox is not for the "
			  "bot: ignored",
			  msg->message_id);
	if (r < 0)
		return -1;
	if (queued)
		*queued = r;
	return 0;
}

int
inbox_done(struct store_txn *txn, const char *qkey, int64_t now)
{
	char dkey[INBOX_KEY_MAX];
	unsigned char t[8];

	if (strncmp(qkey, "q:", 2) || strlen(qkey) != INBOX_KEY_MAX - 1)
		return log_error("inbox: bad queue key");
	memcpy(dkey, qkey, INBOX_KEY_MAX);
	dkey[0] = 'd';
	be64_put(t, (uint64_t)now);
	if (store_kv_del(txn, STORE_DB_INBOX, qkey, strlen(qkey)) < 0)
		return -1;
	return store_kv_put(txn, STORE_DB_INBOX, dkey, strlen(dkey), t,
			    sizeof(t));
}

int
inbox_forget(struct store_txn *txn, const char *qkey)
{
	if (strncmp(qkey, "q:", 2) || strlen(qkey) != INBOX_KEY_MAX - 1)
		return log_error("inbox: bad queue key");
	return store_kv_del(txn, STORE_DB_INBOX, qkey, strlen(qkey)) < 0 ? -1
									 : 0;
}

struct prune {
	int64_t cutoff;
	char (*keys)[INBOX_KEY_MAX];
	size_t n, cap;
};

static int
collect_old(const void *key, size_t klen, const void *val, size_t vlen,
	    void *ctx)
{
	struct prune *p = ctx;

	if (klen < 2 || memcmp(key, "d:", 2))
		return 1;	/* past the "d:" keys */
	if (klen != INBOX_KEY_MAX - 1 || vlen != 8 ||
	    (int64_t)be64_get(val) >= p->cutoff)
		return 0;
	if (p->n == p->cap)
		return 1;	/* the rest next time */
	memcpy(p->keys[p->n], key, klen);
	p->keys[p->n][klen] = '\0';
	p->n++;
	return 0;
}

int
inbox_prune(struct store_txn *txn, int64_t now)
{
	char keys[256][INBOX_KEY_MAX];
	struct prune p = { now - (int64_t)INBOX_DONE_DAYS * 86400, keys, 0,
			   256 };

	if (store_kv_foreach(txn, STORE_DB_INBOX, "d:", 2, collect_old, &p) < 0)
		return -1;
	for (size_t i = 0; i < p.n; i++)
		if (store_kv_del(txn, STORE_DB_INBOX, keys[i],
				 strlen(keys[i])) < 0)
			return -1;
	return (int)p.n;
}
