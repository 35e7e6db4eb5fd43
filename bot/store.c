/*
 * store.c - the bot's memory: one LMDB environment per state directory.
 *
 * Every mail the bot has seen is kept here as a parsed record (JSON, see
 * message_json.c), its raw bytes, and a date index; later stages keep
 * their own state in the other named databases.  LMDB commits are
 * durable (fsync on commit), so whatever a caller reports after
 * store_commit() survives kill -9 and power loss.  One process may
 * write a state directory at a time (an fcntl lock on STATE/bot.lock);
 * readers such as `stats` and `show` open it read-only beside the
 * writer.  docs/state-format.md describes the layout.
 *
 * Keys: LMDB keys are at most 511 bytes, Message-IDs up to 998.  A
 * Message-ID of at most STORE_ID_KEY_MAX bytes that does not start with
 * "sha256:" is its own key; any other id is keyed "sha256:<hex>" of its
 * bytes, and the real id lives in the record (and in the BYDATE value).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <lmdb.h>
#include <openssl/evp.h>

#include "be64.h"
#include "buf.h"
#include "log.h"
#include "store.h"

/* Ids up to this length are stored as they are (8 + 480 < 511). */
#define STORE_ID_KEY_MAX 480
#define STORE_HASH_PREFIX "sha256:"
#define STORE_KEY_MAX (STORE_ID_KEY_MAX + 1)
#define STORE_DATE_BIAS (UINT64_C(1) << 63)

/*
 * The map is address space, not disk: the data file grows only with
 * what is written.  Growing it later needs every transaction of this
 * process closed, which store_begin() can arrange, so the start value
 * only has to be comfortably large.
 */
#ifndef STORE_MAP_SIZE /* -DSTORE_MAP_SIZE=... to try the growth path */
#if UINTPTR_MAX > 0xffffffffu
#define STORE_MAP_SIZE ((size_t)64 << 30)
#else
#define STORE_MAP_SIZE ((size_t)1 << 30)
#endif
#endif

static const char *const db_names[STORE_DB_COUNT] = {
    [STORE_DB_META] = "meta",
    [STORE_DB_MSG] = "msg",
    [STORE_DB_RAW] = "raw",
    [STORE_DB_BYDATE] = "bydate",
    [STORE_DB_THREAD] = "thread",
    [STORE_DB_IMPORT] = "import",
    [STORE_DB_IMAP] = "imap",
    [STORE_DB_OUTBOX] = "outbox",
    [STORE_DB_SUMMARY] = "summary",
    [STORE_DB_SUBSCRIBER] = "subscriber",
    [STORE_DB_MODERATION] = "moderation",
    [STORE_DB_USAGE] = "usage",
    [STORE_DB_INBOX] = "inbox",
    [STORE_DB_RATE] = "rate",
};

struct store {
	MDB_env *env;
	MDB_dbi dbi[STORE_DB_COUNT];
	int readonly;
	int lock_fd; /* -1 for read-only opens */
	char *dir;
	dev_t dev; /* identity of dir, for the open registry */
	ino_t ino;
	unsigned active; /* transactions open on this store */
	int grow;	 /* a put hit MDB_MAP_FULL: grow before next */
	struct store *next;
};

struct store_txn {
	struct store *store;
	MDB_txn *txn;
	int write;
};

/*
 * LMDB forbids opening one environment twice in a process: the second
 * open would believe it is alone and reset the lock table under the
 * first.  The bot is single-threaded, so a plain list is enough.
 */
static struct store *open_stores;

static int
lmdb_error(int rc, const char *what, const char *dir)
{
	return log_error("%s '%s': %s", what, dir, mdb_strerror(rc));
}

static int
mkdir_p(const char *dir)
{
	char path[PATH_MAX];
	size_t len = strlen(dir);

	if (len == 0 || len >= sizeof(path))
		return log_error("bad state directory '%s'", dir);
	memcpy(path, dir, len + 1);
	for (char *p = path + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(path, 0700) < 0 && errno != EEXIST)
			return log_errno("cannot create '%s'", path);
		*p = '/';
	}
	if (mkdir(path, 0700) < 0 && errno != EEXIST)
		return log_errno("cannot create '%s'", path);
	return 0;
}

/*
 * One writer per state directory, across processes.  The lock is held
 * as long as lock_fd stays open and dies with the process, so a killed
 * daemon never leaves a stale lock behind.
 */
static int
take_writer_lock(struct store *s)
{
	char path[PATH_MAX];
	struct flock fl;
	int fd;

	if ((size_t)snprintf(path, sizeof(path), "%s/bot.lock", s->dir) >=
	    sizeof(path))
		return log_error("state directory path too long '%s'", s->dir);
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0)
		return log_errno("cannot open lock file '%s'", path);
	memset(&fl, 0, sizeof(fl));
	fl.l_type = F_WRLCK;
	fl.l_whence = SEEK_SET;
	if (fcntl(fd, F_SETLK, &fl) < 0) {
		int err = errno;

		memset(&fl, 0, sizeof(fl));
		fl.l_type = F_WRLCK;
		fl.l_whence = SEEK_SET;
		if ((err == EAGAIN || err == EACCES) &&
		    fcntl(fd, F_GETLK, &fl) == 0 && fl.l_type != F_UNLCK) {
			close(fd);
			return log_error("state directory '%s' is in use by "
					 "another kvmarm-bot (pid %ld)",
					 s->dir, (long)fl.l_pid);
		}
		close(fd);
		errno = err;
		return log_errno("cannot lock '%s'", path);
	}
	s->lock_fd = fd;
	return 0;
}

static int
parse_version(const void *val, size_t len, long *out)
{
	char text[32];
	char *end;

	if (len == 0 || len >= sizeof(text))
		return -1;
	memcpy(text, val, len);
	text[len] = '\0';
	errno = 0;
	*out = strtol(text, &end, 10);
	return errno || *end || end == text ? -1 : 0;
}

/*
 * Open or create the named databases and check (or, for a brand new
 * store, write) the format version, all in one transaction.
 */
static int
open_databases(struct store *s)
{
	static const char vkey[] = "format_version";
	unsigned flags = s->readonly ? 0 : MDB_CREATE;
	MDB_txn *txn;
	MDB_val key, val;
	long version;
	int rc;

	rc = mdb_txn_begin(s->env, NULL, s->readonly ? MDB_RDONLY : 0, &txn);
	if (rc)
		return lmdb_error(rc, "cannot begin transaction in", s->dir);
	for (int i = 0; i < STORE_DB_COUNT; i++) {
		rc = mdb_dbi_open(txn, db_names[i], flags, &s->dbi[i]);
		if (rc == MDB_NOTFOUND) {
			mdb_txn_abort(txn);
			return log_error("store '%s' is not initialised (no "
					 "'%s' database); run 'kvmarm-bot "
					 "import' to create it",
					 s->dir, db_names[i]);
		}
		if (rc) {
			mdb_txn_abort(txn);
			return lmdb_error(rc, "cannot open database in",
					  s->dir);
		}
	}
	key.mv_data = (void *)vkey;
	key.mv_size = sizeof(vkey) - 1;
	rc = mdb_get(txn, s->dbi[STORE_DB_META], &key, &val);
	if (rc == MDB_NOTFOUND) {
		MDB_stat ms;

		if (s->readonly) {
			mdb_txn_abort(txn);
			return log_error("store '%s' has no format_version; "
					 "run 'kvmarm-bot import' to create "
					 "it",
					 s->dir);
		}
		rc = mdb_stat(txn, s->dbi[STORE_DB_MSG], &ms);
		if (rc == 0 && ms.ms_entries) {
			mdb_txn_abort(txn);
			return log_error("store '%s' holds messages but no "
					 "format_version; refusing it",
					 s->dir);
		}
		char text[16];
		int n =
		    snprintf(text, sizeof(text), "%d", STORE_FORMAT_VERSION);
		val.mv_data = text;
		val.mv_size = (size_t)n;
		rc = mdb_put(txn, s->dbi[STORE_DB_META], &key, &val, 0);
		if (rc) {
			mdb_txn_abort(txn);
			return lmdb_error(rc, "cannot initialise store",
					  s->dir);
		}
	} else if (rc) {
		mdb_txn_abort(txn);
		return lmdb_error(rc, "cannot read format_version of", s->dir);
	} else if (parse_version(val.mv_data, val.mv_size, &version) < 0) {
		mdb_txn_abort(txn);
		return log_error("store '%s' has an unreadable format_version",
				 s->dir);
	} else if (version != STORE_FORMAT_VERSION) {
		mdb_txn_abort(txn);
		return log_error("store '%s' has format version %ld; this "
				 "kvmarm-bot reads version %d only",
				 s->dir, version, STORE_FORMAT_VERSION);
	}
	/* Committing (also a read-only txn) keeps the dbi handles. */
	rc = mdb_txn_commit(txn);
	if (rc)
		return lmdb_error(rc, "cannot commit to", s->dir);
	return 0;
}

int
store_open(const char *dir, int mode, struct store **out)
{
	int readonly = mode == STORE_OPEN_READ;
	int shared = mode == STORE_OPEN_SHARED;
	struct store *s;
	struct stat st;
	int rc, dead = 0;

	*out = NULL;
	if (!dir || !*dir)
		return log_error("no state directory given");
	if (mode != STORE_OPEN_READ && mode != STORE_OPEN_WRITE && !shared)
		return log_error("store_open: bad mode %d", mode);
	if (mode == STORE_OPEN_WRITE && mkdir_p(dir) < 0)
		return -1;
	if (stat(dir, &st) < 0)
		return log_errno("cannot open state directory '%s'", dir);
	if (!S_ISDIR(st.st_mode))
		return log_error("state directory '%s' is not a directory",
				 dir);
	for (s = open_stores; s; s = s->next)
		if (s->dev == st.st_dev && s->ino == st.st_ino)
			return log_error("store '%s' is already open in this "
					 "process",
					 dir);
	s = calloc(1, sizeof(*s));
	if (!s || !(s->dir = strdup(dir))) {
		free(s);
		return log_error("out of memory");
	}
	s->readonly = readonly;
	s->lock_fd = -1;
	s->dev = st.st_dev;
	s->ino = st.st_ino;
	if (readonly || shared) {
		char data[PATH_MAX];

		snprintf(data, sizeof(data), "%s/data.mdb", dir);
		if (access(data, F_OK) < 0) {
			log_error("no store in '%s' (no data.mdb); run "
				  "'kvmarm-bot import' to create one",
				  dir);
			goto fail;
		}
	} else if (take_writer_lock(s) < 0) {
		goto fail;
	}
	if ((rc = mdb_env_create(&s->env)) ||
	    (rc = mdb_env_set_maxdbs(s->env, STORE_DB_COUNT + 4)) ||
	    (rc = mdb_env_set_mapsize(s->env, STORE_MAP_SIZE))) {
		lmdb_error(rc, "cannot set up store", dir);
		goto fail;
	}
	rc = mdb_env_open(s->env, dir, MDB_NOTLS | (readonly ? MDB_RDONLY : 0),
			  0600);
	if (rc) {
		lmdb_error(rc, "cannot open store", dir);
		goto fail;
	}
	/* Reader slots of killed processes would pin old pages forever. */
	rc = mdb_reader_check(s->env, &dead);
	if (rc)
		log_warn("cannot check stale readers of '%s': %s", dir,
			 mdb_strerror(rc));
	else if (dead)
		log_info("cleared %d stale reader slot(s) in '%s'", dead, dir);
	if (open_databases(s) < 0)
		goto fail;
	s->next = open_stores;
	open_stores = s;
	*out = s;
	return 0;
fail:
	if (s->env)
		mdb_env_close(s->env);
	if (s->lock_fd >= 0)
		close(s->lock_fd);
	free(s->dir);
	free(s);
	return -1;
}

void
store_close(struct store *store)
{
	struct store **pp;

	if (!store)
		return;
	if (store->active)
		log_warn("store '%s' closed with %u open transaction(s)",
			 store->dir, store->active);
	for (pp = &open_stores; *pp; pp = &(*pp)->next)
		if (*pp == store) {
			*pp = store->next;
			break;
		}
	mdb_env_close(store->env);
	if (store->lock_fd >= 0)
		close(store->lock_fd); /* drops the writer lock */
	free(store->dir);
	free(store);
}

/*
 * Double the map when the data reaches three quarters of it, or after a
 * put failed with MDB_MAP_FULL.  LMDB allows this only while the
 * process has no transaction open.
 */
static void
maybe_grow(struct store *s)
{
	MDB_envinfo info;
	MDB_stat st;
	size_t used;

	if (s->active || mdb_env_info(s->env, &info) ||
	    mdb_env_stat(s->env, &st))
		return;
	used = (info.me_last_pgno + 1) * (size_t)st.ms_psize;
	if (!s->grow && used < info.me_mapsize / 4 * 3)
		return;
	if (info.me_mapsize > SIZE_MAX / 2)
		return;
	int rc = mdb_env_set_mapsize(s->env, info.me_mapsize * 2);
	if (rc)
		log_warn("cannot grow the map of '%s': %s", s->dir,
			 mdb_strerror(rc));
	else
		log_info("grew the map of '%s' to %zu bytes", s->dir,
			 info.me_mapsize * 2);
	s->grow = 0;
}

int
store_begin(struct store *store, int write, struct store_txn **out)
{
	struct store_txn *t;
	MDB_txn *txn = NULL;
	int rc, tries = 0;

	*out = NULL;
	if (write && store->readonly)
		return log_error("store '%s' is open read-only", store->dir);
	if (write)
		maybe_grow(store);
	for (;;) {
		rc = mdb_txn_begin(store->env, NULL, write ? 0 : MDB_RDONLY,
				   &txn);
		if (rc == 0 || tries++ > 0)
			break;
		if (rc == MDB_MAP_RESIZED && !store->active) {
			/* Another process grew the map: adopt its size. */
			mdb_env_set_mapsize(store->env, 0);
		} else if (rc == MDB_READERS_FULL) {
			int dead = 0;

			mdb_reader_check(store->env, &dead);
		} else {
			break;
		}
	}
	if (rc)
		return lmdb_error(rc, "cannot begin transaction in",
				  store->dir);
	t = calloc(1, sizeof(*t));
	if (!t) {
		mdb_txn_abort(txn);
		return log_error("out of memory");
	}
	t->store = store;
	t->txn = txn;
	t->write = write;
	store->active++;
	*out = t;
	return 0;
}

int
store_commit(struct store_txn *txn)
{
	struct store *s = txn->store;
	int rc = mdb_txn_commit(txn->txn);

	s->active--;
	free(txn);
	if (rc == MDB_MAP_FULL)
		s->grow = 1;
	if (rc)
		return lmdb_error(rc, "cannot commit to", s->dir);
	return 0;
}

void
store_abort(struct store_txn *txn)
{
	if (!txn)
		return;
	mdb_txn_abort(txn->txn);
	txn->store->active--;
	free(txn);
}

static int
put_error(struct store_txn *txn, int rc, const char *what)
{
	if (rc == MDB_MAP_FULL)
		txn->store->grow = 1;
	return log_error("cannot write %s in '%s': %s", what, txn->store->dir,
			 mdb_strerror(rc));
}

/* Fill key (STORE_KEY_MAX bytes) with the storage key of id. */
static int
id_key(const char *id, char *key, size_t *klen)
{
	static const char hex[] = "0123456789abcdef";
	size_t len = strlen(id), plen = sizeof(STORE_HASH_PREFIX) - 1;
	unsigned char md[32];
	unsigned mdlen = 0;

	if (len > 0 && len <= STORE_ID_KEY_MAX &&
	    strncmp(id, STORE_HASH_PREFIX, plen) != 0) {
		memcpy(key, id, len);
		*klen = len;
		return 0;
	}
	if (!EVP_Digest(id, len, md, &mdlen, EVP_sha256(), NULL) ||
	    mdlen != sizeof(md))
		return log_error("cannot hash a message-id");
	memcpy(key, STORE_HASH_PREFIX, plen);
	for (unsigned i = 0; i < mdlen; i++) {
		key[plen + 2 * i] = hex[md[i] >> 4];
		key[plen + 2 * i + 1] = hex[md[i] & 15];
	}
	*klen = plen + 2 * mdlen;
	return 0;
}

static int
key_is_hashed(const char *key, size_t klen)
{
	size_t plen = sizeof(STORE_HASH_PREFIX) - 1;

	return klen >= plen && memcmp(key, STORE_HASH_PREFIX, plen) == 0;
}

static void
put_be64(unsigned char *p, int64_t date)
{
	be64_put(p, (uint64_t)date ^ STORE_DATE_BIAS);
}

static int64_t
get_be64(const unsigned char *p)
{
	return (int64_t)(be64_get(p) ^ STORE_DATE_BIAS);
}

int
store_put_message(struct store_txn *txn, const struct message *msg,
		  const char *raw, size_t raw_len)
{
	struct store *s = txn->store;
	char key[STORE_KEY_MAX];
	unsigned char dkey[8 + STORE_KEY_MAX];
	MDB_val k, v;
	size_t klen;
	char *json;
	int rc;

	if (!txn->write)
		return log_error("store_put_message needs a write transaction");
	if (!msg->message_id)
		return log_error("message without a message-id");
	if (id_key(msg->message_id, key, &klen) < 0)
		return -1;
	json = message_to_json(msg, 0);
	if (!json)
		return log_error("out of memory");
	k.mv_data = key;
	k.mv_size = klen;
	v.mv_data = json;
	v.mv_size = strlen(json);
	rc = mdb_put(txn->txn, s->dbi[STORE_DB_MSG], &k, &v, MDB_NOOVERWRITE);
	free(json);
	if (rc == MDB_KEYEXIST)
		return 0;
	if (rc)
		return put_error(txn, rc, "a message record");
	v.mv_data = (void *)(raw ? raw : "");
	v.mv_size = raw ? raw_len : 0;
	rc = mdb_put(txn->txn, s->dbi[STORE_DB_RAW], &k, &v, 0);
	if (rc)
		return put_error(txn, rc, "a raw message");
	put_be64(dkey, msg->date);
	memcpy(dkey + 8, key, klen);
	k.mv_data = dkey;
	k.mv_size = 8 + klen;
	/* A hashed key cannot give the id back; the value does. */
	if (key_is_hashed(key, klen)) {
		v.mv_data = msg->message_id;
		v.mv_size = strlen(msg->message_id);
	} else {
		v.mv_data = (void *)"";
		v.mv_size = 0;
	}
	rc = mdb_put(txn->txn, s->dbi[STORE_DB_BYDATE], &k, &v, 0);
	if (rc)
		return put_error(txn, rc, "the date index");
	return 1;
}

static int
get_by_id(struct store_txn *txn, enum store_db db, const char *id, MDB_val *val)
{
	char key[STORE_KEY_MAX];
	MDB_val k;
	size_t klen;
	int rc;

	if (!id)
		return 1;
	if (id_key(id, key, &klen) < 0)
		return -1;
	k.mv_data = key;
	k.mv_size = klen;
	rc = mdb_get(txn->txn, txn->store->dbi[db], &k, val);
	if (rc == MDB_NOTFOUND)
		return 1;
	if (rc)
		return log_error("cannot read '%s' from '%s': %s", id,
				 txn->store->dir, mdb_strerror(rc));
	return 0;
}

int
store_has_message(struct store_txn *txn, const char *message_id)
{
	MDB_val v;
	int r = get_by_id(txn, STORE_DB_MSG, message_id, &v);

	return r < 0 ? -1 : r == 0;
}

int
store_get_message(struct store_txn *txn, const char *message_id,
		  struct message *msg)
{
	MDB_val v;
	int r = get_by_id(txn, STORE_DB_MSG, message_id, &v);

	if (r)
		return r;
	if (message_from_json(v.mv_data, v.mv_size, msg) < 0)
		return log_error("corrupt record for '%s' in '%s'", message_id,
				 txn->store->dir);
	return 0;
}

int
store_get_raw(struct store_txn *txn, const char *message_id, const char **raw,
	      size_t *len)
{
	MDB_val v;
	int r = get_by_id(txn, STORE_DB_RAW, message_id, &v);

	if (r)
		return r;
	*raw = v.mv_data;
	*len = v.mv_size;
	return 0;
}

int
store_foreach_by_date(struct store_txn *txn, int64_t since, int64_t until,
		      store_date_fn fn, void *ctx)
{
	struct store *s = txn->store;
	unsigned char start[8];
	char id[MESSAGE_MAX_ID + 1];
	MDB_cursor *cur;
	MDB_val k, v;
	int rc, r = 0;

	if (since >= until)
		return 0;
	rc = mdb_cursor_open(txn->txn, s->dbi[STORE_DB_BYDATE], &cur);
	if (rc)
		return lmdb_error(rc, "cannot walk the date index of", s->dir);
	put_be64(start, since);
	k.mv_data = start;
	k.mv_size = sizeof(start);
	for (rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE); rc == 0;
	     rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
		const char *src;
		size_t len;

		if (k.mv_size <= 8) {
			rc = -1;
			break;
		}
		int64_t date = get_be64(k.mv_data);
		if (date >= until)
			break;
		src = (const char *)k.mv_data + 8;
		len = k.mv_size - 8;
		if (key_is_hashed(src, len)) {
			src = v.mv_data;
			len = v.mv_size;
		}
		if (len == 0 || len > MESSAGE_MAX_ID) {
			rc = -1;
			break;
		}
		memcpy(id, src, len);
		id[len] = '\0';
		r = fn(id, date, ctx);
		if (r)
			break;
	}
	mdb_cursor_close(cur);
	if (r)
		return r;
	if (rc == -1)
		return log_error("corrupt date index in '%s'", s->dir);
	if (rc && rc != MDB_NOTFOUND)
		return lmdb_error(rc, "cannot walk the date index of", s->dir);
	return 0;
}

static int
check_db(struct store_txn *txn, enum store_db db)
{
	if ((int)db < 0 || db >= STORE_DB_COUNT)
		return log_error("no store database %d", (int)db);
	return 0;
}

static int
check_key(struct store_txn *txn, size_t klen)
{
	if (klen == 0 || klen > (size_t)mdb_env_get_maxkeysize(txn->store->env))
		return log_error("store key of %zu bytes is not allowed", klen);
	return 0;
}

int
store_kv_get(struct store_txn *txn, enum store_db db, const void *key,
	     size_t klen, const void **val, size_t *vlen)
{
	MDB_val k, v;
	int rc;

	if (check_db(txn, db) < 0 || check_key(txn, klen) < 0)
		return -1;
	k.mv_data = (void *)key;
	k.mv_size = klen;
	rc = mdb_get(txn->txn, txn->store->dbi[db], &k, &v);
	if (rc == MDB_NOTFOUND)
		return 1;
	if (rc)
		return log_error("cannot read from '%s' in '%s': %s",
				 db_names[db], txn->store->dir,
				 mdb_strerror(rc));
	*val = v.mv_data;
	*vlen = v.mv_size;
	return 0;
}

int
store_kv_put(struct store_txn *txn, enum store_db db, const void *key,
	     size_t klen, const void *val, size_t vlen)
{
	MDB_val k, v;
	int rc;

	if (check_db(txn, db) < 0 || check_key(txn, klen) < 0)
		return -1;
	if (!txn->write)
		return log_error("store_kv_put needs a write transaction");
	k.mv_data = (void *)key;
	k.mv_size = klen;
	v.mv_data = (void *)(val ? val : "");
	v.mv_size = val ? vlen : 0;
	rc = mdb_put(txn->txn, txn->store->dbi[db], &k, &v, 0);
	if (rc)
		return put_error(txn, rc, db_names[db]);
	return 0;
}

int
store_kv_del(struct store_txn *txn, enum store_db db, const void *key,
	     size_t klen)
{
	MDB_val k;
	int rc;

	if (check_db(txn, db) < 0 || check_key(txn, klen) < 0)
		return -1;
	if (!txn->write)
		return log_error("store_kv_del needs a write transaction");
	k.mv_data = (void *)key;
	k.mv_size = klen;
	rc = mdb_del(txn->txn, txn->store->dbi[db], &k, NULL);
	if (rc == MDB_NOTFOUND)
		return 1;
	if (rc)
		return put_error(txn, rc, db_names[db]);
	return 0;
}

int
store_kv_foreach(struct store_txn *txn, enum store_db db, const void *start,
		 size_t slen, store_kv_fn fn, void *ctx)
{
	MDB_cursor *cur;
	MDB_val k, v;
	int rc, r = 0;

	if (check_db(txn, db) < 0)
		return -1;
	if (start && check_key(txn, slen) < 0)
		return -1;
	rc = mdb_cursor_open(txn->txn, txn->store->dbi[db], &cur);
	if (rc)
		return lmdb_error(rc, "cannot walk", txn->store->dir);
	k.mv_data = (void *)start;
	k.mv_size = slen;
	for (rc =
		 mdb_cursor_get(cur, &k, &v, start ? MDB_SET_RANGE : MDB_FIRST);
	     rc == 0; rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
		r = fn(k.mv_data, k.mv_size, v.mv_data, v.mv_size, ctx);
		if (r)
			break;
	}
	mdb_cursor_close(cur);
	if (r)
		return r;
	if (rc != MDB_NOTFOUND)
		return lmdb_error(rc, "cannot walk", txn->store->dir);
	return 0;
}

int
store_stats(struct store_txn *txn, struct store_stats *st)
{
	struct store *s = txn->store;
	char data[PATH_MAX];
	unsigned char one[8];
	MDB_envinfo info;
	MDB_cursor *cur;
	MDB_stat ms;
	MDB_val k, v;
	struct stat fst;
	int rc;

	memset(st, 0, sizeof(*st));
	rc = mdb_stat(txn->txn, s->dbi[STORE_DB_MSG], &ms);
	if (rc)
		return lmdb_error(rc, "cannot count messages in", s->dir);
	st->messages = ms.ms_entries;
	rc = mdb_cursor_open(txn->txn, s->dbi[STORE_DB_BYDATE], &cur);
	if (rc)
		return lmdb_error(rc, "cannot walk the date index of", s->dir);
	/* Date 0 means "no usable Date:"; it must not be the first date. */
	rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST);
	if (rc == 0 && k.mv_size >= 8 && get_be64(k.mv_data) == 0) {
		put_be64(one, 1);
		k.mv_data = one;
		k.mv_size = sizeof(one);
		rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
	}
	if (rc == 0 && k.mv_size >= 8)
		st->first_date = get_be64(k.mv_data);
	rc = mdb_cursor_get(cur, &k, &v, MDB_LAST);
	if (rc == 0 && k.mv_size >= 8)
		st->last_date = get_be64(k.mv_data);
	mdb_cursor_close(cur);
	if (rc && rc != MDB_NOTFOUND)
		return lmdb_error(rc, "cannot walk the date index of", s->dir);
	snprintf(data, sizeof(data), "%s/data.mdb", s->dir);
	if (stat(data, &fst) == 0)
		st->file_bytes = (uint64_t)fst.st_size;
	if (mdb_env_info(s->env, &info) == 0)
		st->map_bytes = info.me_mapsize;
	return 0;
}

int
store_paused(struct store_txn *txn)
{
	static const char key[] = "paused";
	const void *v;
	size_t vlen;
	int r = store_kv_get(txn, STORE_DB_META, key, sizeof(key) - 1, &v,
			     &vlen);

	if (r < 0)
		return -1;
	return r == 0 && vlen == 1 && *(const char *)v == '1';
}

int
store_set_paused(struct store_txn *txn, int paused)
{
	static const char key[] = "paused";

	if (!paused) {
		int r = store_kv_del(txn, STORE_DB_META, key, sizeof(key) - 1);
		return r < 0 ? -1 : 0;
	}
	return store_kv_put(txn, STORE_DB_META, key, sizeof(key) - 1, "1", 1);
}
