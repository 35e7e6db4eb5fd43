/*
 * thread.c - which mails belong together: the read side of threading,
 * between the store and the classifier.
 *
 * A thread is a connected part of the link graph that
 * bot/thread_index.c keeps in STORE_DB_THREAD: nodes are Message-IDs
 * (stored mails and ghost ids that are only referenced), edges are
 * In-Reply-To/References links (both directions, through the reverse
 * edge keys) and the series rule of include/thread.h.  A walk is a
 * breadth-first search from one mail that visits every id once, so
 * loops and self references cost nothing, and that reads only link
 * records, never a mail body.  Walks are capped (THREAD_MAX_MSGS mails,
 * THREAD_MAX_NODES ids): a junk id shared by unrelated mails cannot
 * make one walk take the whole store or hang; the cut is logged.
 *
 * thread_window() walks from each mail of the window in date order and
 * shares one visited set between its walks, so a mail reached by an
 * earlier walk never starts or joins another one: the threads partition
 * the window whatever happens.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "message.h"
#include "store.h"
#include "thread.h"
#include "thread_index.h"

#define THREAD_MAX_MSGS 20000
#define THREAD_MAX_NODES 200000
#define THREAD_SERIES_SECONDS 600
#define THREAD_VERSION_SCAN 10000

/* --- the visited set: id keys -> nodes ------------------------------- */

struct node {
	char *key; /* owned: the id's key part (tidx_part) */
	uint64_t hash;
	uint32_t len;
	uint32_t walk;	/* the walk that queued it, 0 none */
	int32_t member; /* index among that walk's mails, -1 ghost */
	uint8_t done;	/* processed (by the walk in .walk) */
};

struct graph {
	struct node *nodes;
	size_t n, cap;
	uint32_t *slots; /* node index + 1, 0 empty */
	size_t nslots;	 /* a power of two */
	uint32_t walk;	 /* id of the current walk */
};

static uint64_t
fnv(const char *s, size_t n)
{
	uint64_t h = 0xcbf29ce484222325ull;

	for (size_t i = 0; i < n; i++) {
		h ^= (unsigned char)s[i];
		h *= 0x100000001b3ull;
	}
	return h;
}

static void
graph_release(struct graph *g)
{
	for (size_t i = 0; i < g->n; i++)
		free(g->nodes[i].key);
	free(g->nodes);
	free(g->slots);
	memset(g, 0, sizeof(*g));
}

static size_t
graph_slot(const struct graph *g, const char *key, size_t len, uint64_t h)
{
	size_t mask = g->nslots - 1, i = (size_t)(h ^ h >> 29) & mask;

	while (g->slots[i]) {
		const struct node *nd = &g->nodes[g->slots[i] - 1];

		if (nd->hash == h && nd->len == len &&
		    !memcmp(nd->key, key, len))
			break;
		i = (i + 1) & mask;
	}
	return i;
}

/* The node of key, or -1 when the set does not hold it. */
static long
graph_find(const struct graph *g, const char *key, size_t len)
{
	if (!g->nslots)
		return -1;
	size_t i = graph_slot(g, key, len, fnv(key, len));

	return g->slots[i] ? (long)g->slots[i] - 1 : -1;
}

static int
graph_grow(struct graph *g)
{
	size_t nslots = g->nslots ? g->nslots * 2 : 4096;
	size_t mask = nslots - 1;
	uint32_t *slots = calloc(nslots, sizeof(*slots));

	if (!slots)
		return -1;
	free(g->slots);
	g->slots = slots;
	g->nslots = nslots;
	/* Keys are unique: no comparison needed, just a free slot. */
	for (size_t n = 0; n < g->n; n++) {
		uint64_t h = g->nodes[n].hash;
		size_t i = (size_t)(h ^ h >> 29) & mask;

		while (slots[i])
			i = (i + 1) & mask;
		slots[i] = (uint32_t)n + 1;
	}
	return 0;
}

/* Find or add key; returns its node index, or -1 when out of memory. */
static long
graph_get(struct graph *g, const char *key, size_t len)
{
	uint64_t h = fnv(key, len);
	size_t i;

	if ((g->n + 1) * 2 > g->nslots && graph_grow(g) < 0)
		return -1;
	i = graph_slot(g, key, len, h);
	if (g->slots[i])
		return (long)g->slots[i] - 1;
	if (g->n == g->cap) {
		size_t cap = g->cap ? g->cap * 2 : 256;
		struct node *nodes = realloc(g->nodes, cap * sizeof(*nodes));

		if (!nodes)
			return -1;
		g->nodes = nodes;
		g->cap = cap;
	}
	struct node *nd = &g->nodes[g->n];

	if (!(nd->key = malloc(len + 1)))
		return -1;
	memcpy(nd->key, key, len);
	nd->key[len] = '\0';
	nd->len = (uint32_t)len;
	nd->hash = h;
	nd->walk = 0;
	nd->member = -1;
	nd->done = 0;
	g->slots[i] = (uint32_t)g->n + 1;
	return (long)g->n++;
}

/* --- one walk -------------------------------------------------------- */

struct edge {
	uint32_t member; /* a mail of the walk */
	uint32_t node;	 /* an id it links to */
};

struct walk {
	struct store_txn *txn;
	struct graph *g;
	int want; /* build the thread, not just count it */
	uint32_t *queue;
	size_t qlen, qcap;
	size_t members;
	struct thread_msg *msgs; /* when want */
	size_t cap_msgs;
	struct edge *edges; /* when want: member -> link */
	size_t n_edges, cap_edges;
	int cut;
	int err;
};

static void
walk_release(struct walk *w)
{
	for (size_t i = 0; i < w->members && w->msgs; i++) {
		struct thread_msg *m = &w->msgs[i];

		free(m->id);
		free(m->from_addr);
		free(m->from_name);
		free(m->subject);
		free(m->parent);
	}
	free(w->msgs);
	free(w->queue);
	free(w->edges);
	w->msgs = NULL;
	w->queue = NULL;
	w->edges = NULL;
}

static int
oom(struct walk *w)
{
	w->err = 1;
	return log_error("out of memory");
}

static void
cut(struct walk *w, const char *why)
{
	if (!w->cut)
		log_warn("thread cut at %zu mails (%s): a junk id is probably "
			 "shared by unrelated mails",
			 w->members, why);
	w->cut = 1;
}

/*
 * Queue the id whose key part is key unless this walk or an earlier one
 * has it.  Returns the node index, or -1 (w->err set) on failure.
 */
static long
discover(struct walk *w, const char *key, size_t len)
{
	long i = graph_get(w->g, key, len);
	struct node *nd;

	if (i < 0)
		return oom(w);
	nd = &w->g->nodes[i];
	if (nd->done || nd->walk == w->g->walk)
		return i;
	if (w->qlen >= THREAD_MAX_NODES) {
		cut(w, "too many ids");
		return i;
	}
	if (w->qlen == w->qcap) {
		size_t cap = w->qcap ? w->qcap * 2 : 64;
		uint32_t *q = realloc(w->queue, cap * sizeof(*q));

		if (!q)
			return oom(w);
		w->queue = q;
		w->qcap = cap;
	}
	nd->walk = w->g->walk;
	w->queue[w->qlen++] = (uint32_t)i;
	return i;
}

static char *
span_dup(struct tidx_span s)
{
	char *p = malloc(s.n + 1);

	if (p) {
		memcpy(p, s.p, s.n);
		p[s.n] = '\0';
	}
	return p;
}

static void
rec_tags(const struct tidx_rec *r, struct subject_tags *t)
{
	memset(t, 0, sizeof(*t));
	t->reply = !!(r->tags & TIDX_TAG_REPLY);
	t->forward = !!(r->tags & TIDX_TAG_FORWARD);
	t->patch = !!(r->tags & TIDX_TAG_PATCH);
	t->rfc = !!(r->tags & TIDX_TAG_RFC);
	t->resend = !!(r->tags & TIDX_TAG_RESEND);
	t->pull = !!(r->tags & TIDX_TAG_PULL);
	t->syzbot = !!(r->tags & TIDX_TAG_SYZBOT);
	t->version = r->version;
	t->index = r->index;
	t->total = r->total;
	memcpy(t->project, r->project.p, r->project.n);
	t->project[r->project.n] = '\0';
}

static int
add_msg(struct walk *w, const struct tidx_rec *r)
{
	struct thread_msg *m;
	struct tidx_span parent = {"", 0}, s;
	const unsigned char *pos = r->links;

	if (w->members == w->cap_msgs) {
		size_t cap = w->cap_msgs ? w->cap_msgs * 2 : 16;
		struct thread_msg *msgs = realloc(w->msgs, cap * sizeof(*msgs));

		if (!msgs)
			return oom(w);
		w->msgs = msgs;
		w->cap_msgs = cap;
	}
	/* The parent: In-Reply-To when given, else the last reference. */
	for (size_t i = 0; i < r->n_links; i++) {
		tidx_rec_link(&pos, r, &s);
		if (i == 0 || !(r->flags & TIDX_REC_IRT_FIRST))
			parent = s;
	}
	m = &w->msgs[w->members];
	memset(m, 0, sizeof(*m));
	m->date = r->date;
	rec_tags(r, &m->tags);
	m->id = span_dup(r->id);
	m->from_addr = span_dup(r->addr);
	m->from_name = span_dup(r->name);
	m->subject = span_dup(r->subject);
	m->parent = span_dup(parent);
	if (!m->id || !m->from_addr || !m->from_name || !m->subject ||
	    !m->parent) {
		w->members++; /* so that walk_release() frees the parts */
		return oom(w);
	}
	return 0;
}

static int
add_edge(struct walk *w, size_t member, long node)
{
	if (w->n_edges == w->cap_edges) {
		size_t cap = w->cap_edges ? w->cap_edges * 2 : 64;
		struct edge *e = realloc(w->edges, cap * sizeof(*e));

		if (!e)
			return oom(w);
		w->edges = e;
		w->cap_edges = cap;
	}
	w->edges[w->n_edges].member = (uint32_t)member;
	w->edges[w->n_edges++].node = (uint32_t)node;
	return 0;
}

/* A prefix scan over STORE_DB_THREAD that queues what it finds. */
enum scan_mode {
	SCAN_ALL,    /* r: every referencing mail */
	SCAN_GSE,    /* p: the run's mails, per rule 2a */
	SCAN_AUTHOR, /* a: dated keys, per rule 2b */
};

struct scan {
	struct walk *w;
	const char *prefix;
	size_t plen;
	enum scan_mode mode;
	int unthreaded; /* SCAN_GSE: the mail itself is unthreaded */
	unsigned bits;	/* SCAN_AUTHOR: its TIDX_SERIES_* bits */
	int64_t hi;	/* SCAN_AUTHOR: up to this date */
};

/* Rule 2b between two mails, from their TIDX_SERIES_* bits. */
static int
author_joins(unsigned a, unsigned b)
{
	return ((a | b) & TIDX_SERIES_LOOSE) && !((a & b) & TIDX_SERIES_GSE);
}

static int
scan_fn(const void *key, size_t klen, const void *val, size_t vlen, void *ctx)
{
	struct scan *sc = ctx;
	const char *k = key;
	const unsigned char *v = val;
	size_t skip = sc->plen;

	if (klen <= sc->plen || memcmp(k, sc->prefix, sc->plen))
		return 1;
	switch (sc->mode) {
	case SCAN_ALL:
		break;
	case SCAN_GSE:
		if (!sc->unthreaded && !(vlen == 1 && *v == 'u'))
			return 0;
		break;
	case SCAN_AUTHOR:
		if (klen <= sc->plen + 8 ||
		    tidx_get_be64((const unsigned char *)k + sc->plen) > sc->hi)
			return 1;
		skip += 8;
		if (vlen != 1 || !author_joins(sc->bits, *v))
			return 0;
		break;
	}
	if (sc->w->cut)
		return 1;
	return discover(sc->w, k + skip, klen - skip) < 0 ? 1 : 0;
}

static int
scan(struct walk *w, const struct tidx_key *k, struct scan *sc)
{
	sc->w = w;
	sc->prefix = k->b;
	if (k->over)
		return 0; /* never written either */
	if (store_kv_foreach(w->txn, STORE_DB_THREAD, k->b, k->n, scan_fn, sc) <
	    0)
		w->err = 1;
	return w->err ? -1 : 0;
}

/* The series rule's neighbours of a stored mail (include/thread.h). */
static int
series_links(struct walk *w, const struct tidx_rec *r)
{
	int unthreaded = !!(r->flags & TIDX_REC_UNTHREADED), gse = 0;
	char id[MESSAGE_MAX_ID + 1];
	struct tidx_part part;
	struct tidx_key k;
	struct scan sc;

	if (r->tags & (TIDX_TAG_REPLY | TIDX_TAG_FORWARD))
		return 0;
	if (r->id.n <= MESSAGE_MAX_ID) {
		memcpy(id, r->id.p, r->id.n);
		id[r->id.n] = '\0';
		if ((gse = tidx_gse_series(id, &part)) < 0)
			return w->err = 1, -1;
		if (gse) {
			tidx_key_init(&k, TIDX_PFX_GSE);
			tidx_key_add(&k, part.b, part.n);
			tidx_key_addc(&k, '\0');
			memset(&sc, 0, sizeof(sc));
			sc.plen = k.n;
			sc.mode = SCAN_GSE;
			sc.unthreaded = unthreaded;
			if (scan(w, &k, &sc) < 0)
				return -1;
		}
	}
	if (r->total >= 1 && r->index >= 0 && r->date != 0 && r->addr.n) {
		char vt[32];
		int n = snprintf(vt, sizeof(vt), "%d/%d", r->version, r->total);

		if (tidx_part(r->addr.p, r->addr.n, &part) < 0)
			return w->err = 1, -1;
		memset(&sc, 0, sizeof(sc));
		sc.bits =
		    (unthreaded && r->index >= 1 ? TIDX_SERIES_LOOSE : 0) |
		    (gse ? TIDX_SERIES_GSE : 0);
		/*
		 * A join needs a loose patch on one side: a loose one looks
		 * at every series mail (a:), any other only at the loose
		 * ones (l:), which are few.  Copies of one series posted in
		 * the same minute cost nothing then.
		 */
		tidx_key_init(&k, sc.bits & TIDX_SERIES_LOOSE ? TIDX_PFX_AUTHOR
							      : TIDX_PFX_LOOSE);
		tidx_key_add(&k, part.b, part.n);
		tidx_key_addc(&k, '\0');
		tidx_key_add(&k, r->project.p, r->project.n);
		tidx_key_addc(&k, '\0');
		tidx_key_add(&k, vt, (size_t)n);
		tidx_key_addc(&k, '\0');
		sc.plen = k.n;
		sc.mode = SCAN_AUTHOR;
		/* Saturating: a hostile date must not overflow. */
		sc.hi = r->date < INT64_MAX - THREAD_SERIES_SECONDS
			    ? r->date + THREAD_SERIES_SECONDS
			    : INT64_MAX;
		tidx_key_add_date(&k,
				  r->date > INT64_MIN + THREAD_SERIES_SECONDS
				      ? r->date - THREAD_SERIES_SECONDS
				      : INT64_MIN);
		if (scan(w, &k, &sc) < 0)
			return -1;
	}
	return 0;
}

static int
visit(struct walk *w, uint32_t ni)
{
	struct node *nd = &w->g->nodes[ni];
	const void *val;
	size_t vlen;
	struct tidx_rec r;
	struct tidx_key k;
	struct scan sc;
	int rc;

	nd->done = 1;
	tidx_key_init(&k, TIDX_PFX_REC);
	tidx_key_add(&k, nd->key, nd->len);
	rc = k.over
		 ? 1
		 : store_kv_get(w->txn, STORE_DB_THREAD, k.b, k.n, &val, &vlen);
	if (rc < 0)
		return w->err = 1, -1;
	if (rc == 0) {
		const unsigned char *pos;
		struct tidx_span s;
		size_t me = w->members;

		if (tidx_rec_decode(val, vlen, &r) < 0) {
			w->err = 1;
			return log_error("corrupt thread record '%s'; run "
					 "'kvmarm-bot reindex'",
					 nd->key);
		}
		if (w->want && add_msg(w, &r) < 0)
			return -1;
		/* add_msg() may not move nodes, discover() may. */
		w->g->nodes[ni].member = (int32_t)me;
		w->members++;
		pos = r.links;
		for (size_t i = 0; i < r.n_links; i++) {
			struct tidx_part lk;
			long li;

			tidx_rec_link(&pos, &r, &s);
			if (tidx_part(s.p, s.n, &lk) < 0)
				return w->err = 1, -1;
			if ((li = discover(w, lk.b, lk.n)) < 0)
				return -1;
			if (w->want && add_edge(w, me, li) < 0)
				return -1;
		}
		if (series_links(w, &r) < 0)
			return -1;
	}
	/* Everything that links to this id, stored or ghost. */
	nd = &w->g->nodes[ni];
	tidx_key_init(&k, TIDX_PFX_EDGE);
	tidx_key_add(&k, nd->key, nd->len);
	tidx_key_addc(&k, '\0');
	memset(&sc, 0, sizeof(sc));
	sc.plen = k.n;
	sc.mode = SCAN_ALL;
	return scan(w, &k, &sc);
}

/*
 * Walk from the id whose key part is key: fills w->members (and, with
 * w->want, w->msgs).  0 or -1.
 */
static int
walk_run(struct walk *w, const char *key, size_t len)
{
	w->g->walk++;
	if (discover(w, key, len) < 0)
		return -1;
	for (size_t q = 0; q < w->qlen; q++) {
		if (w->members >= THREAD_MAX_MSGS) {
			cut(w, "too many mails");
			break;
		}
		if (visit(w, w->queue[q]) < 0 || w->err)
			return -1;
		if (w->cut)
			break;
	}
	if (w->cut)
		log_warn("the cut thread holds <%s>",
			 w->msgs && w->members ? w->msgs[0].id : key);
	return 0;
}

/* --- from a walk to a struct thread ---------------------------------- */

static int
is_cover(const struct thread_msg *m)
{
	return m->tags.index == 0 && !m->tags.reply && !m->tags.forward;
}

/* Is a a better root than b?  Dated, cover letter, earlier, smaller id. */
static int
better_root(const struct thread_msg *a, const struct thread_msg *b)
{
	if ((a->date != 0) != (b->date != 0))
		return a->date != 0;
	if (is_cover(a) != is_cover(b))
		return is_cover(a);
	if (a->date != b->date)
		return a->date < b->date;
	return strcmp(a->id, b->id) < 0;
}

static size_t
pick_root(const struct walk *w)
{
	uint32_t cur = w->g->walk;
	unsigned char *has_parent = calloc(w->members, 1);
	size_t best = SIZE_MAX;

	if (has_parent) {
		for (size_t i = 0; i < w->n_edges; i++) {
			const struct node *nd = &w->g->nodes[w->edges[i].node];

			if (nd->walk == cur && nd->done && nd->member >= 0 &&
			    (uint32_t)nd->member != w->edges[i].member)
				has_parent[w->edges[i].member] = 1;
		}
		for (size_t i = 0; i < w->members; i++)
			if (!has_parent[i] &&
			    (best == SIZE_MAX ||
			     better_root(&w->msgs[i], &w->msgs[best])))
				best = i;
		free(has_parent);
	}
	/* A loop (every mail has a stored parent): take the best of all. */
	if (best == SIZE_MAX)
		for (size_t i = 0; i < w->members; i++)
			if (best == SIZE_MAX ||
			    better_root(&w->msgs[i], &w->msgs[best]))
				best = i;
	return best;
}

/* Date order; mails without a usable date (0) last. */
static int
msg_cmp(const void *pa, const void *pb)
{
	const struct thread_msg *a = pa, *b = pb;

	if ((a->date == 0) != (b->date == 0))
		return a->date == 0 ? 1 : -1;
	if (a->date != b->date)
		return a->date < b->date ? -1 : 1;
	return strcmp(a->id, b->id);
}

/* The mail whose subject names the series: cover, first patch, single. */
static const struct thread_msg *
series_head(const struct thread_msg *msgs, size_t n, const char *root_id)
{
	const struct thread_msg *best = NULL;
	int best_rank = 0;

	for (size_t i = 0; i < n; i++) {
		const struct thread_msg *m = &msgs[i];
		int rank;

		if (m->tags.reply || m->tags.forward ||
		    !(m->tags.patch || m->tags.rfc) || m->tags.index < -1 ||
		    m->tags.index > 1)
			continue;
		rank = !strcmp(m->id, root_id) ? 4
		       : m->tags.index == 0    ? 3
		       : m->tags.index == 1    ? 2
					       : 1;
		if (rank > best_rank ||
		    (rank == best_rank && m->date &&
		     (!best->date || m->date < best->date))) {
			best = m;
			best_rank = rank;
		}
	}
	return best;
}

struct vscan {
	struct walk *w;
	const char *prefix;
	size_t plen;
	int version;
	size_t seen;
	/* the best earlier / later version so far */
	int have_p, have_n;
	int pv, nv;
	int64_t pdate, ndate;
	int pcover, ncover;
	char pkey[TIDX_PART_MAX + 1], nkey[TIDX_PART_MAX + 1];
};

static int
vbetter(int v, int cover, int64_t date, int have, int bv, int bcover,
	int64_t bdate, int later)
{
	if (!have)
		return 1;
	if (v != bv)
		return later ? v < bv : v > bv;
	if (cover != bcover)
		return cover;
	return date < bdate;
}

static int
vscan_fn(const void *key, size_t klen, const void *val, size_t vlen, void *ctx)
{
	struct vscan *vs = ctx;
	const unsigned char *k = key;
	size_t mlen;
	long ni;
	int v, cover;
	int64_t date;

	if (klen <= vs->plen + 4 || memcmp(k, vs->prefix, vs->plen) ||
	    vlen != 12)
		return 1;
	if (++vs->seen > THREAD_VERSION_SCAN)
		return 1;
	v = (int)tidx_get_be32(k + vs->plen);
	mlen = klen - vs->plen - 4;
	if (v == vs->version || mlen > TIDX_PART_MAX)
		return 0;
	/* A version inside this very thread is no other version. */
	ni = graph_find(vs->w->g, (const char *)k + vs->plen + 4, mlen);
	if (ni >= 0 && vs->w->g->nodes[ni].walk == vs->w->g->walk &&
	    vs->w->g->nodes[ni].member >= 0)
		return 0;
	date = tidx_get_be64(val);
	cover = (int32_t)tidx_get_be32((const unsigned char *)val + 8) == 0;
	if (v < vs->version && vbetter(v, cover, date, vs->have_p, vs->pv,
				       vs->pcover, vs->pdate, 0)) {
		vs->have_p = 1;
		vs->pv = v;
		vs->pcover = cover;
		vs->pdate = date;
		memcpy(vs->pkey, k + vs->plen + 4, mlen);
		vs->pkey[mlen] = '\0';
	} else if (v > vs->version &&
		   vbetter(v, cover, date, vs->have_n, vs->nv, vs->ncover,
			   vs->ndate, 1)) {
		vs->have_n = 1;
		vs->nv = v;
		vs->ncover = cover;
		vs->ndate = date;
		memcpy(vs->nkey, k + vs->plen + 4, mlen);
		vs->nkey[mlen] = '\0';
	}
	return 0;
}

/* The real Message-ID of the record keyed m:key, malloc'd. */
static int
record_id(struct store_txn *txn, const char *key, char **out)
{
	struct tidx_key k;
	struct tidx_rec r;
	const void *val;
	size_t vlen;

	*out = NULL;
	tidx_key_init(&k, TIDX_PFX_REC);
	tidx_key_add(&k, key, strlen(key));
	if (k.over ||
	    store_kv_get(txn, STORE_DB_THREAD, k.b, k.n, &val, &vlen) != 0)
		return log_error("thread index lost the record '%s'; run "
				 "'kvmarm-bot reindex'",
				 key);
	if (tidx_rec_decode(val, vlen, &r) < 0)
		return log_error("corrupt thread record '%s'", key);
	if (!(*out = span_dup(r.id)))
		return log_error("out of memory");
	return 0;
}

static int
link_versions(struct walk *w, struct thread *t)
{
	const struct thread_msg *head =
	    series_head(t->msgs, t->n_msgs, t->root_id);
	struct vscan vs;
	struct tidx_part part;
	struct tidx_key k;
	int r;

	if (!head)
		return 0;
	if ((r = tidx_subject_key(head->subject, &part)) <= 0)
		return r;
	tidx_key_init(&k, TIDX_PFX_VERSION);
	tidx_key_add(&k, part.b, part.n);
	tidx_key_addc(&k, '\0');
	if (k.over)
		return 0;
	memset(&vs, 0, sizeof(vs));
	vs.w = w;
	vs.prefix = k.b;
	vs.plen = k.n;
	vs.version = head->tags.version < 0 ? 0 : head->tags.version;
	if (store_kv_foreach(w->txn, STORE_DB_THREAD, k.b, k.n, vscan_fn, &vs) <
	    0)
		return -1;
	if (vs.have_p) {
		if (record_id(w->txn, vs.pkey, &t->prev_root) < 0)
			return -1;
		t->prev_version = vs.pv;
		t->prev_date = vs.pdate;
	}
	if (vs.have_n) {
		if (record_id(w->txn, vs.nkey, &t->next_root) < 0)
			return -1;
		t->next_version = vs.nv;
		t->next_date = vs.ndate;
	}
	return 0;
}

/* Move the walk's mails into *t: root, date order, versions. */
static int
walk_finish(struct walk *w, struct thread *t)
{
	size_t root = pick_root(w);

	memset(t, 0, sizeof(*t));
	if (!(t->root_id = strdup(w->msgs[root].id)))
		return log_error("out of memory");
	qsort(w->msgs, w->members, sizeof(*w->msgs), msg_cmp);
	t->msgs = w->msgs;
	t->n_msgs = w->members;
	w->msgs = NULL;
	w->members = 0;
	if (link_versions(w, t) < 0) {
		thread_release(t);
		return -1;
	}
	return 0;
}

static void
walk_reset(struct walk *w)
{
	walk_release(w);
	w->qlen = w->qcap = 0;
	w->members = 0;
	w->cap_msgs = 0;
	w->n_edges = w->cap_edges = 0;
	w->cut = 0;
	w->err = 0;
}

/* --- the API --------------------------------------------------------- */

void
thread_release(struct thread *t)
{
	if (!t)
		return;
	for (size_t i = 0; i < t->n_msgs; i++) {
		struct thread_msg *m = &t->msgs[i];

		free(m->id);
		free(m->from_addr);
		free(m->from_name);
		free(m->subject);
		free(m->parent);
	}
	free(t->msgs);
	free(t->root_id);
	free(t->prev_root);
	free(t->next_root);
	memset(t, 0, sizeof(*t));
}

void
thread_free_array(struct thread *threads, size_t n)
{
	for (size_t i = 0; i < n && threads; i++)
		thread_release(&threads[i]);
	free(threads);
}

/* Walk from message_id; 0 with *t, 1 when it is not stored, -1. */
static int
collect(struct store_txn *txn, struct graph *g, const char *message_id,
	struct thread *t)
{
	struct walk w = {.txn = txn, .g = g, .want = 1};
	struct tidx_part mk;
	struct tidx_key k;
	const void *val;
	size_t vlen;
	int r;

	if (tidx_part(message_id, strlen(message_id), &mk) < 0)
		return -1;
	/* A ghost id has edges but is no mail of the store. */
	tidx_key_init(&k, TIDX_PFX_REC);
	tidx_key_add(&k, mk.b, mk.n);
	r = store_kv_get(txn, STORE_DB_THREAD, k.b, k.n, &val, &vlen);
	if (r != 0)
		return r;
	r = -1;
	if (walk_run(&w, mk.b, mk.n) < 0)
		goto out;
	r = 1;
	if (w.members == 0)
		goto out;
	r = walk_finish(&w, t) < 0 ? -1 : 0;
out:
	walk_release(&w);
	return r;
}

int
thread_collect(struct store_txn *txn, const char *message_id,
	       struct thread *out)
{
	struct graph g = {0};
	int r;

	memset(out, 0, sizeof(*out));
	if (!message_id)
		return 1;
	if ((r = tidx_check(txn)) <= 0)
		return r < 0 ? -1 : 1;
	r = collect(txn, &g, message_id, out);
	graph_release(&g);
	return r;
}

struct window {
	struct store_txn *txn;
	struct graph g;
	struct thread *out;
	size_t n, cap;
	int err;
};

static int
window_fn(const char *message_id, int64_t date, void *ctx)
{
	struct window *win = ctx;
	struct tidx_part mk;
	long ni;
	int r;

	if (tidx_part(message_id, strlen(message_id), &mk) < 0)
		return win->err = 1;
	ni = graph_find(&win->g, mk.b, mk.n);
	if (ni >= 0 && win->g.nodes[ni].done && win->g.nodes[ni].member >= 0)
		return 0; /* already in an earlier thread */
	if (win->n == win->cap) {
		size_t cap = win->cap ? win->cap * 2 : 64;
		struct thread *t = realloc(win->out, cap * sizeof(*t));

		if (!t) {
			log_error("out of memory");
			return win->err = 1;
		}
		win->out = t;
		win->cap = cap;
	}
	r = collect(win->txn, &win->g, message_id, &win->out[win->n]);
	if (r == 1) {
		log_error("mail <%s> has no thread record; run 'kvmarm-bot "
			  "reindex'",
			  message_id);
		return win->err = 1;
	}
	if (r < 0)
		return win->err = 1;
	win->n++;
	return 0;
}

int
thread_window(struct store_txn *txn, int64_t since, int64_t until,
	      struct thread **out, size_t *n)
{
	struct window win = {.txn = txn};
	int r;

	*out = NULL;
	*n = 0;
	if ((r = tidx_check(txn)) <= 0)
		return r;
	r = store_foreach_by_date(txn, since, until, window_fn, &win);
	graph_release(&win.g);
	if (r != 0 || win.err) {
		thread_free_array(win.out, win.n);
		return -1;
	}
	*out = win.out;
	*n = win.n;
	return 0;
}

struct count {
	struct store_txn *txn;
	struct graph g;
	struct walk w;
	long threads;
	int err;
};

static int
count_fn(const void *key, size_t klen, const void *val, size_t vlen, void *ctx)
{
	struct count *c = ctx;
	const size_t plen = sizeof(TIDX_PFX_REC) - 1;
	long ni;

	if (klen <= plen || memcmp(key, TIDX_PFX_REC, plen))
		return 1;
	ni = graph_find(&c->g, (const char *)key + plen, klen - plen);
	if (ni >= 0 && c->g.nodes[ni].done)
		return 0;
	walk_reset(&c->w);
	if (walk_run(&c->w, (const char *)key + plen, klen - plen) < 0)
		return c->err = 1;
	c->threads++;
	return 0;
}

long
thread_count_all(struct store_txn *txn)
{
	struct count c = {.txn = txn};
	int r;

	if ((r = tidx_check(txn)) <= 0)
		return r;
	c.w.txn = txn;
	c.w.g = &c.g;
	r = store_kv_foreach(txn, STORE_DB_THREAD, TIDX_PFX_REC,
			     sizeof(TIDX_PFX_REC) - 1, count_fn, &c);
	walk_release(&c.w);
	graph_release(&c.g);
	if (r < 0 || c.err)
		return -1;
	return c.threads;
}
