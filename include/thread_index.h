/*
 * thread_index.h - the link records and keys of STORE_DB_THREAD, shared
 * by their writer (bot/thread_index.c) and their reader (bot/thread.c).
 * Nothing outside the threader uses this header; include/thread.h is
 * the contract.  docs/state-format.md ("thread") describes every key.
 */
#ifndef KVMARM_THREAD_INDEX_H
#define KVMARM_THREAD_INDEX_H

#include <stddef.h>
#include <stdint.h>

#include "store.h"

/* Key prefixes in STORE_DB_THREAD. */
#define TIDX_PFX_REC "m:"     /* m:ID -> link record */
#define TIDX_PFX_EDGE "r:"    /* r:REF\0ID -> "" */
#define TIDX_PFX_GSE "p:"     /* p:SERIES\0ID -> 'u' | 't' */
#define TIDX_PFX_AUTHOR "a:"  /* a:ADDR\0PROJECT\0V/T\0DATE ID -> bits */
#define TIDX_PFX_LOOSE "l:"   /* the same, for loose patches only */
#define TIDX_PFX_VERSION "v:" /* v:SUBJECT\0VERSION ID -> DATE INDEX */

/* The STORE_DB_META key: "1" complete, "0" stale (run reindex). */
#define TIDX_META_KEY "thread_index"

/* Keys stay below LMDB's 511 bytes with room to spare. */
#define TIDX_KEY_MAX 479
/* Ids, addresses, subjects longer than this are hashed in keys. */
#define TIDX_PART_MAX 200

/* Record flags and tag bits. */
#define TIDX_REC_UNTHREADED 0x01 /* no In-Reply-To, no References */
#define TIDX_REC_IRT_FIRST 0x02	 /* the first link is In-Reply-To */
/* The value of an a: key: '@' | these bits (printable for mdb_dump). */
#define TIDX_SERIES_LOOSE 0x01 /* an unthreaded patch (k >= 1) */
#define TIDX_SERIES_GSE 0x02   /* its id is a git send-email id */
#define TIDX_TAG_REPLY 0x01
#define TIDX_TAG_FORWARD 0x02
#define TIDX_TAG_PATCH 0x04
#define TIDX_TAG_RFC 0x08
#define TIDX_TAG_RESEND 0x10
#define TIDX_TAG_PULL 0x20
#define TIDX_TAG_SYZBOT 0x40

struct tidx_key {
	char b[TIDX_KEY_MAX + 1];
	size_t n;
	int over; /* an add did not fit: the key is unusable */
};

/* A string as it appears inside keys (itself or "sha256:HEX"). */
struct tidx_part {
	char b[TIDX_PART_MAX + 1];
	size_t n;
};

struct tidx_span {
	const char *p; /* borrowed, not NUL-terminated */
	size_t n;
};

/* A decoded link record; spans point into the stored value. */
struct tidx_rec {
	unsigned flags;
	unsigned tags; /* TIDX_TAG_* */
	int64_t date;
	int version, index, total;
	struct tidx_span id, addr, name, subject, project;
	size_t n_links;
	const unsigned char *links; /* first link, for tidx_rec_link() */
	const unsigned char *end;
};

void tidx_key_init(struct tidx_key *k, const char *prefix);
void tidx_key_add(struct tidx_key *k, const void *p, size_t n);
void tidx_key_addc(struct tidx_key *k, char c);
void tidx_key_add_date(struct tidx_key *k, int64_t date);

void tidx_put_be64(unsigned char *p, int64_t v); /* biased, sortable */
int64_t tidx_get_be64(const unsigned char *p);
uint32_t tidx_get_be32(const unsigned char *p);

/* Short form of s in keys; 0 or -1. */
int tidx_part(const char *s, size_t len, struct tidx_part *out);
/* Series part of a git send-email Message-ID: 1, 0 when not one, -1. */
int tidx_gse_series(const char *id, struct tidx_part *out);
/* Version key of a subject: 1, 0 when the bare subject is empty, -1. */
int tidx_subject_key(const char *subject, struct tidx_part *out);

/* Decode a record (validating every length); 0 or -1 when corrupt. */
int tidx_rec_decode(const void *val, size_t len, struct tidx_rec *r);
/* Next link at *pos (start at r->links); only after a good decode. */
void tidx_rec_link(const unsigned char **pos, const struct tidx_rec *r,
		   struct tidx_span *s);

/* 1 index complete, 0 empty store, -1 (logged) missing or stale. */
int tidx_check(struct store_txn *txn);

#endif
