/*
 * test_thread.c - threads, series and versions (bot/thread.c and
 * bot/thread_index.c): rules on synthetic mails written here, a
 * reference model (union-find over the parsed records) checked against
 * random graphs and all of ../shared/corpora, the demo sample, the
 * index-missing paths and the `reindex`/`stats` commands.
 */
#include <fcntl.h>
#include <ftw.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "import.h"
#include "message.h"
#include "store.h"
#include "testutil.h"
#include "thread.h"

/* --- fixtures -------------------------------------------------------- */

static uint64_t rng; /* xorshift state of rnd() */
static unsigned rnd(unsigned n);

static int
rm_entry(const char *path, const struct stat *st, int flag, struct FTW *f)
{
	return remove(path);
}

static void
rm_rf(const char *dir)
{
	nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

struct fx {
	char *dir;
	struct store *s;
	struct store_txn *txn;
};

static void
fx_open(struct fx *f, const char *tag)
{
	memset(f, 0, sizeof(*f));
	f->dir = test_tmpdir(tag);
	assert_non_null(f->dir);
	assert_int_equal(store_open(f->dir, 0, &f->s), 0);
	assert_int_equal(store_begin(f->s, 1, &f->txn), 0);
}

/* Commit what was written and continue in a read transaction. */
static void
fx_read(struct fx *f)
{
	assert_int_equal(store_commit(f->txn), 0);
	assert_int_equal(store_begin(f->s, 0, &f->txn), 0);
}

static void
fx_close(struct fx *f)
{
	store_abort(f->txn);
	store_close(f->s);
	rm_rf(f->dir);
	free(f->dir);
	memset(f, 0, sizeof(*f));
}

/* A synthetic mail; header values are written as given. */
struct mail {
	const char *id;	  /* without <> */
	int64_t date;	  /* 0: no Date: header */
	const char *from; /* "Name <addr>" */
	const char *subject;
	const char *irt;  /* In-Reply-To value or NULL */
	const char *refs; /* References value or NULL */
};

static const int64_t T0 = 1757322000; /* Mon 2025-09-08 09:00 UTC */

static void
add_mail(struct store_txn *txn, const struct mail *m)
{
	struct buf b;
	struct message msg;
	const char *why = NULL;

	buf_init(&b, 0);
	buf_addf(&b, "From: %s\n", m->from ? m->from : "A <a@example.org>");
	if (m->date) {
		char d[64];
		time_t t = (time_t)m->date;
		struct tm tm;

		gmtime_r(&t, &tm);
		strftime(d, sizeof(d), "%a, %d %b %Y %H:%M:%S +0000", &tm);
		buf_addf(&b, "Date: %s\n", d);
	}
	buf_addf(&b, "Subject: %s\nMessage-ID: <%s>\n", m->subject, m->id);
	if (m->irt)
		buf_addf(&b, "In-Reply-To: %s\n", m->irt);
	if (m->refs)
		buf_addf(&b, "References: %s\n", m->refs);
	buf_adds(&b, "\nbody\n");
	assert_int_equal(message_parse(b.data, b.len, &msg, &why), 0);
	assert_int_equal(store_put_message(txn, &msg, b.data, b.len), 1);
	assert_int_equal(thread_index_add(txn, &msg), 0);
	message_release(&msg);
	buf_release(&b);
}

static void
add_mails(struct store_txn *txn, const struct mail *m, size_t n)
{
	for (size_t i = 0; i < n; i++)
		add_mail(txn, &m[i]);
}

static const struct thread_msg *
find_msg(const struct thread *t, const char *id)
{
	for (size_t i = 0; i < t->n_msgs; i++)
		if (!strcmp(t->msgs[i].id, id))
			return &t->msgs[i];
	return NULL;
}

static void
collect(struct store_txn *txn, const char *id, struct thread *t)
{
	int r = thread_collect(txn, id, t);

	if (r != 0)
		fail_msg("thread_collect(%s) returned %d", id, r);
}

/* Size of the thread of a, and whether b is in it. */
static size_t
thread_size(struct store_txn *txn, const char *a)
{
	struct thread t;
	size_t n;

	collect(txn, a, &t);
	n = t.n_msgs;
	thread_release(&t);
	return n;
}

static int
same_thread(struct store_txn *txn, const char *a, const char *b)
{
	struct thread t;
	int r;

	collect(txn, a, &t);
	r = find_msg(&t, b) != NULL;
	thread_release(&t);
	return r;
}

static void
check_date_order(const struct thread *t)
{
	for (size_t i = 1; i < t->n_msgs; i++) {
		int64_t a = t->msgs[i - 1].date, b = t->msgs[i].date;

		if (a == 0)
			assert_int_equal(b, 0);
		else if (b != 0)
			assert_true(a <= b);
	}
}

/* --- rule 1: references ---------------------------------------------- */

static void
thread_references(void **state)
{
	const struct mail m[] = {
	    {"cover@ex", T0, NULL, "[PATCH v2 0/3] KVM: arm64: x", NULL, NULL},
	    {"p1@ex", T0 + 1, NULL, "[PATCH v2 1/3] a", "<cover@ex>",
	     "<cover@ex>"},
	    {"p2@ex", T0 + 2, NULL, "[PATCH v2 2/3] b", "<cover@ex>",
	     "<cover@ex>"},
	    {"p3@ex", T0 + 3, NULL, "[PATCH v2 3/3] c", "<cover@ex>",
	     "<cover@ex>"},
	    {"r1@ex", T0 + 100, "M <m@ex>", "Re: [PATCH v2 2/3] b", "<p2@ex>",
	     "<cover@ex> <p2@ex>"},
	    /* Gnus: a comment after the id, and no References. */
	    {"r2@ex", T0 + 200, "N <n@ex>", "Re: [PATCH v2 2/3] b",
	     "<r1@ex> (message from M on Mon, 8 Sep 2025 09:01:40 +0000)",
	     NULL},
	    /* References only: the parent is the last one. */
	    {"r3@ex", T0 + 300, "N <n@ex>", "Re: [PATCH v2 1/3] a", NULL,
	     "<cover@ex> <p1@ex>"},
	    {"other@ex", T0 + 50, NULL, "unrelated question", NULL, NULL},
	};
	struct fx f;
	struct thread t;

	fx_open(&f, "thread-refs");
	add_mails(f.txn, m, sizeof(m) / sizeof(*m));
	fx_read(&f);
	collect(f.txn, "r2@ex", &t);
	assert_int_equal(t.n_msgs, 7);
	assert_string_equal(t.root_id, "cover@ex");
	assert_string_equal(t.msgs[0].id, "cover@ex");
	assert_string_equal(t.msgs[6].id, "r3@ex");
	check_date_order(&t);
	assert_string_equal(find_msg(&t, "r2@ex")->parent, "r1@ex");
	assert_string_equal(find_msg(&t, "r3@ex")->parent, "p1@ex");
	assert_string_equal(find_msg(&t, "r1@ex")->parent, "p2@ex");
	assert_string_equal(find_msg(&t, "cover@ex")->parent, "");
	assert_null(find_msg(&t, "other@ex"));
	const struct thread_msg *c = find_msg(&t, "cover@ex");
	assert_int_equal(c->tags.version, 2);
	assert_int_equal(c->tags.index, 0);
	assert_int_equal(c->tags.total, 3);
	assert_int_equal(c->tags.patch, 1);
	assert_string_equal(find_msg(&t, "r1@ex")->from_addr, "m@ex");
	assert_string_equal(find_msg(&t, "r1@ex")->from_name, "M");
	assert_string_equal(find_msg(&t, "r1@ex")->subject,
			    "Re: [PATCH v2 2/3] b");
	assert_int_equal(find_msg(&t, "r1@ex")->tags.reply, 1);
	assert_null(t.prev_root);
	assert_null(t.next_root);
	thread_release(&t);
	assert_int_equal(thread_size(f.txn, "cover@ex"), 7);
	assert_int_equal(thread_size(f.txn, "other@ex"), 1);
	assert_int_equal(thread_count_all(f.txn), 2);
	assert_int_equal(thread_collect(f.txn, "absent@ex", &t), 1);
	fx_close(&f);
}

static void
thread_loops(void **state)
{
	const struct mail m[] = {
	    /* Two mails answering each other. */
	    {"a@loop", T0 + 10, NULL, "Re: a", "<b@loop>", "<b@loop>"},
	    {"b@loop", T0 + 20, NULL, "Re: b", "<a@loop>", "<a@loop>"},
	    /* A self reference (the parser drops it) and a reply. */
	    {"c@loop", T0 + 5, NULL, "Re: c", "<c@loop>", "<c@loop> <a@loop>"},
	    /* A three-cycle through References only. */
	    {"d@cyc", T0 + 1, NULL, "d", NULL, "<f@cyc>"},
	    {"e@cyc", T0 + 2, NULL, "e", NULL, "<d@cyc>"},
	    {"f@cyc", T0 + 3, NULL, "f", NULL, "<e@cyc>"},
	};
	struct fx f;
	struct thread t;

	fx_open(&f, "thread-loops");
	add_mails(f.txn, m, sizeof(m) / sizeof(*m));
	fx_read(&f);
	collect(f.txn, "b@loop", &t);
	assert_int_equal(t.n_msgs, 3);
	/* Every mail has a stored parent: the earliest dated one leads. */
	assert_string_equal(t.root_id, "c@loop");
	thread_release(&t);
	collect(f.txn, "e@cyc", &t);
	assert_int_equal(t.n_msgs, 3);
	assert_string_equal(t.root_id, "d@cyc");
	thread_release(&t);
	assert_false(same_thread(f.txn, "a@loop", "d@cyc"));
	assert_int_equal(thread_count_all(f.txn), 2);
	fx_close(&f);
}

static void
thread_ghosts(void **state)
{
	const struct mail m[] = {
	    /* Siblings answering mails that are not stored. */
	    {"s1@gh", T0 + 100, NULL, "Re: [PATCH] x", "<gone@ex>",
	     "<gone@ex>"},
	    {"s2@gh", T0 + 50, NULL, "Re: [PATCH] x", "<gone@ex>", "<gone@ex>"},
	    {"s3@gh", T0 + 300, NULL, "Re: [PATCH] x", "<gone2@ex>",
	     "<gone@ex> <gone2@ex>"},
	    /* No usable date: must not become the root. */
	    {"u@gh", 0, NULL, "Re: [PATCH] x", "<gone@ex>", "<gone@ex>"},
	    /* A dated reply to the undated one. */
	    {"s4@gh", T0 + 10, NULL, "Re: [PATCH] x", "<u@gh>",
	     "<gone@ex> <u@gh>"},
	};
	struct fx f;
	struct thread t;

	fx_open(&f, "thread-ghosts");
	add_mails(f.txn, m, sizeof(m) / sizeof(*m));
	fx_read(&f);
	collect(f.txn, "s3@gh", &t);
	assert_int_equal(t.n_msgs, 5);
	/* s4 is earlier but has a stored parent (u), u has no date. */
	assert_string_equal(t.root_id, "s2@gh");
	assert_string_equal(t.msgs[0].id, "s4@gh");
	assert_string_equal(t.msgs[4].id, "u@gh");
	assert_int_equal(t.msgs[4].date, 0);
	check_date_order(&t);
	assert_string_equal(find_msg(&t, "s3@gh")->parent, "gone2@ex");
	thread_release(&t);
	/* A ghost is not a stored mail. */
	assert_int_equal(thread_collect(f.txn, "gone@ex", &t), 1);
	fx_close(&f);
}

static void
thread_bogus_ids(void **state)
{
	const struct mail m[] = {
	    /* Misused git send-email: <yes> must not join these. */
	    {"y1@ex", T0, NULL, "[PATCH 1/2] one", "<yes>", "<yes>"},
	    {"y2@ex", T0 + 7200, "B <b@ex>", "[PATCH] two", "<yes>", "<yes>"},
	    {"y3@ex", T0 + 9000, "C <c@ex>", "Re: three", "yes", "<yes>"},
	    /* Same subject, no links: never joined. */
	    {"same1@ex", T0, "A <a@ex>", "[PATCH] KVM: arm64: Fix foo", NULL,
	     NULL},
	    {"same2@ex", T0 + 60, "A <a@ex>", "[PATCH] KVM: arm64: Fix foo",
	     NULL, NULL},
	    {"same3@ex", T0 + 120, "B <b@ex>",
	     "Re: [PATCH] KVM: arm64: Fix foo", NULL, NULL},
	    {"same4@ex", T0 + 180, "C <c@ex>",
	     "Re: [PATCH] KVM: arm64: Fix foo", NULL, NULL},
	};
	struct fx f;

	fx_open(&f, "thread-bogus");
	add_mails(f.txn, m, sizeof(m) / sizeof(*m));
	fx_read(&f);
	for (size_t i = 0; i < sizeof(m) / sizeof(*m); i++)
		assert_int_equal(thread_size(f.txn, m[i].id), 1);
	assert_int_equal(thread_count_all(f.txn), 7);
	fx_close(&f);
}

/* --- rule 2: unthreaded series --------------------------------------- */

static void
thread_series_send_email(void **state)
{
	const struct mail m[] = {
	    /* One git send-email run, no threading at all, 20 minutes. */
	    {"20250909133631.3844423-1-a@ex.org", T0, NULL,
	     "[PATCH 0/3] KVM: arm64: thing", NULL, NULL},
	    {"20250909133631.3844423-2-a@ex.org", T0 + 400, NULL,
	     "[PATCH 1/3] KVM: arm64: a", NULL, NULL},
	    {"20250909133631.3844423-3-a@ex.org", T0 + 800, NULL,
	     "[PATCH 2/3] KVM: arm64: b", NULL, NULL},
	    {"20250909133631.3844423-4-a@ex.org", T0 + 1200, NULL,
	     "[PATCH 3/3] KVM: arm64: c", NULL, NULL},
	    /* Another run (other PID): another thread. */
	    {"20250909133631.3844424-1-a@ex.org", T0 + 2, NULL,
	     "[PATCH] KVM: arm64: d", NULL, NULL},
	    /* Old git: SECONDS-PID-K-git-send-email-user@host. */
	    {"1234567890-4321-1-git-send-email-a@ex.org", T0 + 5000, NULL,
	     "[PATCH 1/2] e", NULL, NULL},
	    {"1234567890-4321-2-git-send-email-a@ex.org", T0 + 9000, NULL,
	     "[PATCH 2/2] f", NULL, NULL},
	    /* One run, both threaded into different threads: no join. */
	    {"20250910000000.77-1-a@ex.org", T0 + 3000, NULL, "[PATCH 1/2] g",
	     "<ghost-g@ex>", "<ghost-g@ex>"},
	    {"20250910000000.77-2-a@ex.org", T0 + 3001, NULL, "[PATCH 2/2] h",
	     "<ghost-h@ex>", "<ghost-h@ex>"},
	    /* ... an unthreaded one of that run joins both. */
	    {"20250910000000.78-1-a@ex.org", T0 + 3000, NULL, "[PATCH 1/2] i",
	     "<ghost-i@ex>", "<ghost-i@ex>"},
	    {"20250910000000.78-2-a@ex.org", T0 + 3001, NULL, "[PATCH 2/2] j",
	     NULL, NULL},
	    /* The cover letter leads even when a patch is dated earlier. */
	    {"20250911000000.99-1-a@ex.org", T0 + 7030, NULL,
	     "[PATCH 0/1] late cover", NULL, NULL},
	    {"20250911000000.99-2-a@ex.org", T0 + 7000, NULL,
	     "[PATCH 1/1] early patch", NULL, NULL},
	    /* A reply from the same run is not a series mail. */
	    {"20250910000000.79-1-a@ex.org", T0 + 4000, NULL, "[PATCH] k", NULL,
	     NULL},
	    {"20250910000000.79-2-a@ex.org", T0 + 4001, NULL, "Re: [PATCH] k",
	     NULL, NULL},
	};
	struct fx f;
	struct thread t;

	fx_open(&f, "thread-gse");
	add_mails(f.txn, m, sizeof(m) / sizeof(*m));
	fx_read(&f);
	collect(f.txn, "20250909133631.3844423-3-a@ex.org", &t);
	assert_int_equal(t.n_msgs, 4);
	assert_string_equal(t.root_id, "20250909133631.3844423-1-a@ex.org");
	thread_release(&t);
	assert_int_equal(
	    thread_size(f.txn, "20250909133631.3844424-1-a@ex.org"), 1);
	assert_true(same_thread(f.txn,
				"1234567890-4321-1-git-send-email-a@ex.org",
				"1234567890-4321-2-git-send-email-a@ex.org"));
	assert_int_equal(
	    thread_size(f.txn, "1234567890-4321-2-git-send-email-a@ex.org"), 2);
	assert_false(same_thread(f.txn, "20250910000000.77-1-a@ex.org",
				 "20250910000000.77-2-a@ex.org"));
	assert_true(same_thread(f.txn, "20250910000000.78-1-a@ex.org",
				"20250910000000.78-2-a@ex.org"));
	assert_false(same_thread(f.txn, "20250910000000.79-1-a@ex.org",
				 "20250910000000.79-2-a@ex.org"));
	collect(f.txn, "20250911000000.99-2-a@ex.org", &t);
	assert_int_equal(t.n_msgs, 2);
	assert_string_equal(t.root_id, "20250911000000.99-1-a@ex.org");
	assert_string_equal(t.msgs[0].id, "20250911000000.99-2-a@ex.org");
	thread_release(&t);
	/* 1 + 1 + 1 + 2 (77) + 1 (78) + 1 (99) + 2 (79) */
	assert_int_equal(thread_count_all(f.txn), 9);
	fx_close(&f);
}

static void
thread_series_sender(void **state)
{
	const struct mail m[] = {
	    {"x1@ex", T0, "A <a@ex>", "[PATCH v2 1/3] KVM: one", NULL, NULL},
	    {"x2@ex", T0 + 120, "A <a@ex>", "[PATCH v2 2/3] KVM: two", NULL,
	     NULL},
	    {"x3@ex", T0 + 240, "A <a@ex>", "[PATCH v2 3/3] KVM: three", NULL,
	     NULL},
	    /* 601 s after the last one: a new series. */
	    {"late@ex", T0 + 841, "A <a@ex>", "[PATCH v2 1/3] KVM: later", NULL,
	     NULL},
	    /* Other version, other sender, other project, a reply. */
	    {"v3@ex", T0 + 60, "A <a@ex>", "[PATCH v3 1/3] KVM: one", NULL,
	     NULL},
	    {"b@ex", T0 + 30, "B <b@ex>", "[PATCH v2 2/3] KVM: two", NULL,
	     NULL},
	    {"kt@ex", T0 + 10, "A <a@ex>", "[PATCH kvmtool v2 1/3] arm64: x",
	     NULL, NULL},
	    {"re@ex", T0 + 5, "A <a@ex>", "Re: [PATCH v2 1/3] KVM: one", NULL,
	     NULL},
	    /* No date: never joined by time. */
	    {"nodate@ex", 0, "A <a@ex>", "[PATCH v2 2/3] KVM: two", NULL, NULL},
	    /* A chain: each gap under 10 minutes, 25 minutes in all. */
	    {"c1@ex", T0 + 5000, "C <c@ex>", "[PATCH 1/4] c", NULL, NULL},
	    {"c2@ex", T0 + 5500, "C <c@ex>", "[PATCH 2/4] c", NULL, NULL},
	    {"c3@ex", T0 + 6000, "C <c@ex>", "[PATCH 3/4] c", NULL, NULL},
	    {"c4@ex", T0 + 6500, "C <c@ex>", "[PATCH 4/4] c", NULL, NULL},
	    /* A threaded series and an unthreaded patch that matches it. */
	    {"d0@ex", T0 + 8000, "D <d@ex>", "[PATCH 0/2] d", NULL, NULL},
	    {"d1@ex", T0 + 8001, "D <d@ex>", "[PATCH 1/2] d", "<d0@ex>",
	     "<d0@ex>"},
	    {"d2@ex", T0 + 8002, "D <d@ex>", "[PATCH 2/2] d", NULL, NULL},
	    /* Two threaded series at once: no join. */
	    {"e0@ex", T0 + 9000, "E <e@ex>", "[PATCH 0/1] e", NULL, NULL},
	    {"e1@ex", T0 + 9001, "E <e@ex>", "[PATCH 1/1] e", "<e0@ex>",
	     "<e0@ex>"},
	    {"f0@ex", T0 + 9002, "E <e@ex>", "[PATCH 0/1] f", NULL, NULL},
	    {"f1@ex", T0 + 9003, "E <e@ex>", "[PATCH 1/1] f", "<f0@ex>",
	     "<f0@ex>"},
	};
	struct fx f;
	struct thread t;

	fx_open(&f, "thread-sender");
	add_mails(f.txn, m, sizeof(m) / sizeof(*m));
	fx_read(&f);
	collect(f.txn, "x3@ex", &t);
	assert_int_equal(t.n_msgs, 3);
	assert_string_equal(t.root_id, "x1@ex");
	assert_non_null(find_msg(&t, "x2@ex"));
	thread_release(&t);
	const char *alone[] = {"late@ex", "v3@ex", "b@ex",
			       "kt@ex",	  "re@ex", "nodate@ex"};
	for (size_t i = 0; i < sizeof(alone) / sizeof(*alone); i++)
		assert_int_equal(thread_size(f.txn, alone[i]), 1);
	collect(f.txn, "c4@ex", &t);
	assert_int_equal(t.n_msgs, 4);
	assert_string_equal(t.root_id, "c1@ex");
	thread_release(&t);
	collect(f.txn, "d2@ex", &t);
	assert_int_equal(t.n_msgs, 3);
	assert_string_equal(t.root_id, "d0@ex");
	thread_release(&t);
	assert_false(same_thread(f.txn, "e0@ex", "f0@ex"));
	assert_int_equal(thread_size(f.txn, "f1@ex"), 2);
	fx_close(&f);
}

/* --- rule 4: versions ------------------------------------------------ */

static void
thread_versions(void **state)
{
	const int64_t D1 = T0 - 13 * 86400, D3 = T0 + 3 * 86400;
	const struct mail m[] = {
	    {"rfc0@ex", T0 - 40 * 86400, NULL,
	     "[RFC PATCH 0/2] KVM: arm64: Reserve pKVM VM handle during "
	     "initial VM setup",
	     NULL, NULL},
	    {"v3c@ex", D1, NULL,
	     "[PATCH v3 0/2] KVM: arm64: Reserve pKVM VM handle during "
	     "initial VM\n setup",
	     NULL, NULL},
	    {"v3p1@ex", D1 + 1, NULL, "[PATCH v3 1/2] KVM: arm64: a",
	     "<v3c@ex>", "<v3c@ex>"},
	    {"v3r@ex", D1 + 3600, "M <m@ex>",
	     "Re: [PATCH v3 0/2] KVM: arm64: Reserve pKVM VM handle during "
	     "initial VM setup",
	     "<v3c@ex>", "<v3c@ex>"},
	    {"v4c@ex", T0, NULL,
	     "[PATCH v4 0/2] KVM: arm64: Reserve pKVM VM handle during "
	     "initial VM setup",
	     NULL, NULL},
	    {"v4p1@ex", T0 + 1, NULL, "[PATCH v4 1/2] KVM: arm64: a",
	     "<v4c@ex>", "<v4c@ex>"},
	    {"v5c@ex", D3, NULL,
	     "[PATCH v5 0/2] KVM: ARM64:  reserve pKVM VM handle during "
	     "initial VM setup",
	     NULL, NULL},
	    /* v2 answering v1: one thread, so no link to itself. */
	    {"w1@ex", T0, "W <w@ex>", "[PATCH] KVM: arm64: Fix w", NULL, NULL},
	    {"w2@ex", T0 + 86400, "W <w@ex>", "[PATCH v2] KVM: arm64: Fix w",
	     "<w1@ex>", "<w1@ex>"},
	    /* A reply with that subject is no version. */
	    {"w3@ex", T0 + 2 * 86400, "X <x@ex>",
	     "Re: [PATCH v3] KVM: arm64: Fix w", NULL, NULL},
	};
	struct fx f;
	struct thread t;

	fx_open(&f, "thread-versions");
	add_mails(f.txn, m, sizeof(m) / sizeof(*m));
	fx_read(&f);
	collect(f.txn, "v4p1@ex", &t);
	assert_int_equal(t.n_msgs, 2);
	assert_string_equal(t.root_id, "v4c@ex");
	assert_null(find_msg(&t, "v3c@ex"));
	assert_non_null(t.prev_root);
	assert_string_equal(t.prev_root, "v3c@ex");
	assert_int_equal(t.prev_version, 3);
	assert_int_equal(t.prev_date, D1);
	assert_non_null(t.next_root);
	assert_string_equal(t.next_root, "v5c@ex");
	assert_int_equal(t.next_version, 5);
	assert_int_equal(t.next_date, D3);
	thread_release(&t);
	collect(f.txn, "v3r@ex", &t);
	assert_int_equal(t.n_msgs, 3);
	assert_string_equal(t.root_id, "v3c@ex");
	assert_string_equal(t.prev_root, "rfc0@ex");
	assert_int_equal(t.prev_version, 1);
	assert_string_equal(t.next_root, "v4c@ex");
	assert_int_equal(t.next_version, 4);
	assert_int_equal(t.next_date, T0);
	thread_release(&t);
	collect(f.txn, "v5c@ex", &t);
	assert_string_equal(t.prev_root, "v4c@ex");
	assert_null(t.next_root);
	thread_release(&t);
	collect(f.txn, "w2@ex", &t);
	assert_int_equal(t.n_msgs, 2);
	assert_null(t.prev_root);
	assert_null(t.next_root);
	thread_release(&t);
	fx_close(&f);
}

/* --- windows, the missing index, size limits ------------------------- */

static void
thread_window_basic(void **state)
{
	const struct mail m[] = {
	    {"old@w", T0 - 30 * 86400, NULL, "[PATCH 0/1] old", NULL, NULL},
	    {"old1@w", T0 - 30 * 86400, NULL, "[PATCH 1/1] old", "<old@w>",
	     "<old@w>"},
	    {"in1@w", T0 + 100, NULL, "Re: [PATCH 1/1] old", "<old1@w>",
	     "<old@w> <old1@w>"},
	    {"in2@w", T0 + 200, NULL, "Re: [PATCH 1/1] old", "<in1@w>",
	     "<old@w> <old1@w> <in1@w>"},
	    {"new@w", T0 + 50, NULL, "question", NULL, NULL},
	    {"after@w", T0 + 8 * 86400, NULL, "Re: question", "<new@w>",
	     "<new@w>"},
	    {"out@w", T0 + 8 * 86400, NULL, "later", NULL, NULL},
	};
	struct fx f;
	struct thread *ts;
	size_t n;

	fx_open(&f, "thread-window");
	/* An empty store has no threads, and that is no error. */
	assert_int_equal(thread_window(f.txn, T0, T0 + 7 * 86400, &ts, &n), 0);
	assert_int_equal(n, 0);
	assert_int_equal(thread_count_all(f.txn), 0);
	add_mails(f.txn, m, sizeof(m) / sizeof(*m));
	fx_read(&f);
	assert_int_equal(thread_window(f.txn, T0, T0 + 7 * 86400, &ts, &n), 0);
	assert_int_equal(n, 2);
	/* In order of their first mail in the window. */
	assert_string_equal(ts[0].root_id, "new@w");
	assert_int_equal(ts[0].n_msgs, 2);
	assert_string_equal(ts[1].root_id, "old@w");
	assert_int_equal(ts[1].n_msgs, 4);
	thread_free_array(ts, n);
	assert_int_equal(thread_window(f.txn, T0 + 300, T0 + 400, &ts, &n), 0);
	assert_int_equal(n, 0);
	assert_null(ts);
	fx_close(&f);
}

static void
put_only(struct store_txn *txn, const char *id, const char *irt, int64_t date,
	 int index)
{
	struct buf b;
	struct message msg;

	buf_init(&b, 0);
	buf_addf(&b, "From: A <a@ex>\nSubject: s\nMessage-ID: <%s>\n", id);
	if (irt)
		buf_addf(&b, "In-Reply-To: <%s>\n", irt);
	buf_adds(&b, "\nx\n");
	assert_int_equal(message_parse(b.data, b.len, &msg, NULL), 0);
	msg.date = date;
	assert_int_equal(store_put_message(txn, &msg, b.data, b.len), 1);
	if (index)
		assert_int_equal(thread_index_add(txn, &msg), 0);
	message_release(&msg);
	buf_release(&b);
}

static void
thread_missing_index(void **state)
{
	struct fx f;
	struct thread t, *ts;
	size_t n;

	fx_open(&f, "thread-noindex");
	/* Stored by a kvmarm-bot that did not thread yet. */
	put_only(f.txn, "r@ni", NULL, T0, 0);
	put_only(f.txn, "c@ni", "r@ni", T0 + 1, 0);
	fx_read(&f);
	assert_int_equal(thread_collect(f.txn, "r@ni", &t), -1);
	assert_int_equal(thread_window(f.txn, T0, T0 + 10, &ts, &n), -1);
	assert_int_equal(thread_count_all(f.txn), -1);
	store_abort(f.txn);
	/* A new mail indexed now does not make the index complete. */
	assert_int_equal(store_begin(f.s, 1, &f.txn), 0);
	put_only(f.txn, "d@ni", "c@ni", T0 + 2, 1);
	fx_read(&f);
	assert_int_equal(thread_collect(f.txn, "d@ni", &t), -1);
	assert_int_equal(thread_count_all(f.txn), -1);
	store_abort(f.txn);
	assert_int_equal(store_begin(f.s, 1, &f.txn), 0);
	assert_int_equal(thread_reindex(f.txn), 0);
	fx_read(&f);
	collect(f.txn, "d@ni", &t);
	assert_int_equal(t.n_msgs, 3);
	assert_string_equal(t.root_id, "r@ni");
	thread_release(&t);
	assert_int_equal(thread_count_all(f.txn), 1);
	/* reindex twice gives the same index. */
	store_abort(f.txn);
	assert_int_equal(store_begin(f.s, 1, &f.txn), 0);
	assert_int_equal(thread_reindex(f.txn), 0);
	fx_read(&f);
	assert_int_equal(thread_count_all(f.txn), 1);
	assert_int_equal(thread_size(f.txn, "c@ni"), 3);
	fx_close(&f);
}

/* Damaged link records are reported, never read past their end. */
static void
thread_corrupt_records(void **state)
{
	const struct mail m[] = {
	    {"p@bad", T0, NULL, "[PATCH kvmtool v2 1/1] x", NULL, NULL},
	    {"c@bad", T0 + 1, "Ann <ann@bad>", "Re: [PATCH kvmtool v2 1/1] x",
	     "<p@bad>", "<p@bad>"},
	};
	static const char key[] = "m:c@bad";
	unsigned char good[1024], bad[1024];
	const void *val;
	size_t glen;
	struct fx f;
	struct thread t;
	int saved, devnull, r;

	fx_open(&f, "thread-corrupt");
	add_mails(f.txn, m, 2);
	assert_int_equal(store_kv_get(f.txn, STORE_DB_THREAD, key,
				      sizeof(key) - 1, &val, &glen),
			 0);
	assert_true(glen > 24 && glen < sizeof(good));
	memcpy(good, val, glen);
	/* The errors are expected: keep them off the test output. */
	fflush(stderr);
	saved = dup(2);
	devnull = open("/dev/null", O_WRONLY);
	assert_true(saved >= 0 && devnull >= 0);
	dup2(devnull, 2);
	for (size_t len = 0; len < glen; len++) {
		assert_int_equal(store_kv_put(f.txn, STORE_DB_THREAD, key,
					      sizeof(key) - 1, good, len),
				 0);
		assert_int_equal(thread_collect(f.txn, "p@bad", &t), -1);
	}
	rng = 42;
	for (int i = 0; i < 400; i++) {
		size_t len = i < 200 ? glen : 1 + rnd(sizeof(bad) - 1);

		memcpy(bad, good, glen);
		if (i < 200)
			bad[rnd((unsigned)glen)] ^=
			    (unsigned char)(1 + rnd(255));
		else
			for (size_t j = 0; j < len; j++)
				bad[j] = (unsigned char)rnd(256);
		assert_int_equal(store_kv_put(f.txn, STORE_DB_THREAD, key,
					      sizeof(key) - 1, bad, len),
				 0);
		r = thread_collect(f.txn, "p@bad", &t);
		assert_true(r == 0 || r == -1);
		if (r == 0)
			thread_release(&t);
	}
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	close(devnull);
	assert_int_equal(store_kv_put(f.txn, STORE_DB_THREAD, key,
				      sizeof(key) - 1, good, glen),
			 0);
	collect(f.txn, "p@bad", &t);
	assert_int_equal(t.n_msgs, 2);
	assert_string_equal(find_msg(&t, "c@bad")->from_name, "Ann");
	assert_string_equal(find_msg(&t, "c@bad")->tags.project, "kvmtool");
	thread_release(&t);
	fx_close(&f);
}

/* A message record built in memory: fast enough for 30,000 mails. */
static void
put_fast(struct store_txn *txn, const char *id, const char *irt, char **refs,
	 size_t n_refs, int64_t date)
{
	struct message m;

	memset(&m, 0, sizeof(m));
	m.message_id = (char *)id;
	m.in_reply_to = (char *)(irt ? irt : "");
	m.references = refs;
	m.n_references = n_refs;
	m.from_name = "";
	m.from_addr = "a@ex";
	m.date = date;
	m.subject = "Re: s";
	m.subject_bare = "s";
	m.tags.reply = 1;
	m.tags.version = 1;
	m.tags.index = m.tags.total = -1;
	m.list_id = m.auto_submitted = m.precedence = m.x_loop = "";
	m.body = m.prose = m.quoted = m.patch = m.diffstat = m.signature = "";
	assert_int_equal(store_put_message(txn, &m, "x", 1), 1);
	assert_int_equal(thread_index_add(txn, &m), 0);
}

static void
thread_big(void **state)
{
	enum { CHAIN = 10000, JUNK = 20100 };
	char id[64], prev[64], *refs[2];
	struct fx f;
	struct thread t, *ts;
	size_t n, total = 0;
	clock_t c0;

	fx_open(&f, "thread-big");
	/* One thread of 10,000 mails, each answering the one before. */
	for (int i = 0; i < CHAIN; i++) {
		snprintf(id, sizeof(id), "chain%d@ex", i);
		refs[0] = "chain0@ex";
		refs[1] = prev;
		put_fast(f.txn, id, i ? prev : NULL, refs,
			 i == 0	  ? 0
			 : i == 1 ? 1
				  : 2,
			 T0 + i);
		memcpy(prev, id, sizeof(id));
	}
	/* 20,100 unrelated mails sharing one junk parent id. */
	for (int i = 0; i < JUNK; i++) {
		snprintf(id, sizeof(id), "junk%d@ex", i);
		refs[0] = "junk-parent@ex";
		put_fast(f.txn, id, "junk-parent@ex", refs, 1, T0 + 86400 + i);
	}
	fx_read(&f);
	c0 = clock();
	collect(f.txn, "chain5000@ex", &t);
	assert_int_equal(t.n_msgs, CHAIN);
	assert_string_equal(t.root_id, "chain0@ex");
	assert_string_equal(t.msgs[CHAIN - 1].id, "chain9999@ex");
	thread_release(&t);
	/* The junk "thread" is cut at 20,000 mails, with a log line. */
	collect(f.txn, "junk7@ex", &t);
	assert_int_equal(t.n_msgs, 20000);
	thread_release(&t);
	/* Still a partition: the rest are threads of their own. */
	assert_int_equal(
	    thread_window(f.txn, T0 + 86400, T0 + 2 * 86400, &ts, &n), 0);
	assert_true(n >= 2);
	assert_int_equal(ts[0].n_msgs, 20000);
	for (size_t i = 0; i < n; i++)
		total += ts[i].n_msgs;
	assert_int_equal(total, JUNK);
	thread_free_array(ts, n);
	assert_int_equal(thread_count_all(f.txn), (long)(1 + n));
	/* Generous: sanitizers slow this down a lot. */
	assert_true((double)(clock() - c0) / CLOCKS_PER_SEC < 60);
	fx_close(&f);
}

/* --- the reference model --------------------------------------------- */

/*
 * The rules recomputed from the parsed records, independently of the
 * index: union-find over ids, reference links, then the series rule
 * pairwise.
 */
struct model_msg {
	char *id;
	char **links; /* In-Reply-To and References, self dropped */
	size_t n_links;
	int unthreaded, series;
	char *gse; /* git send-email series key or NULL */
	char *addr;
	char project[32];
	int version, index, total;
	int64_t date;
};

struct model {
	struct model_msg *m;
	size_t n, cap;
	/* string -> index, open addressing */
	char **keys;
	size_t *slots, nslots, nkeys;
	size_t *parent;
};

static size_t
m_hash(const char *s)
{
	size_t h = 5381;

	while (*s)
		h = h * 33 + (unsigned char)*s++;
	return h;
}

static size_t
model_id(struct model *md, const char *s)
{
	if ((md->nkeys + 1) * 2 > md->nslots) {
		size_t ns = md->nslots ? md->nslots * 2 : 4096;
		size_t *slots = calloc(ns, sizeof(*slots));

		assert_non_null(slots);
		for (size_t i = 0; i < md->nkeys; i++) {
			size_t j = m_hash(md->keys[i]) & (ns - 1);

			while (slots[j])
				j = (j + 1) & (ns - 1);
			slots[j] = i + 1;
		}
		free(md->slots);
		md->slots = slots;
		md->nslots = ns;
		md->keys = realloc(md->keys, ns * sizeof(*md->keys));
		md->parent = realloc(md->parent, ns * sizeof(*md->parent));
		assert_non_null(md->keys);
		assert_non_null(md->parent);
	}
	size_t j = m_hash(s) & (md->nslots - 1);

	while (md->slots[j]) {
		if (!strcmp(md->keys[md->slots[j] - 1], s))
			return md->slots[j] - 1;
		j = (j + 1) & (md->nslots - 1);
	}
	md->keys[md->nkeys] = strdup(s);
	md->parent[md->nkeys] = md->nkeys;
	md->slots[j] = ++md->nkeys;
	return md->nkeys - 1;
}

static size_t
uf_find(struct model *md, size_t i)
{
	while (md->parent[i] != i) {
		md->parent[i] = md->parent[md->parent[i]];
		i = md->parent[i];
	}
	return i;
}

static void
uf_union(struct model *md, const char *a, const char *b)
{
	size_t x = uf_find(md, model_id(md, a)),
	       y = uf_find(md, model_id(md, b));

	if (x != y)
		md->parent[x] = y;
}

static int
all_digits(const char *p, size_t n)
{
	if (!n)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (p[i] < '0' || p[i] > '9')
			return 0;
	return 1;
}

/* "DATE.PID-K-rest" or "SECS-PID-K-git-send-email-rest" -> id minus K. */
static char *
model_gse(const char *id)
{
	const char *d1 = strchr(id, '-'), *d2, *rest;
	char *out;

	if (!d1 || !strchr(id, '@'))
		return NULL;
	d2 = strchr(d1 + 1, '-');
	if (!d2)
		return NULL;
	const char *dot = memchr(id, '.', (size_t)(d1 - id));

	if (dot && dot - id == 14 && all_digits(id, 14) &&
	    all_digits(dot + 1, (size_t)(d1 - dot - 1)) &&
	    all_digits(d1 + 1, (size_t)(d2 - d1 - 1))) {
		rest = d2 + 1;
	} else if (!dot && d1 - id >= 9 && all_digits(id, (size_t)(d1 - id)) &&
		   all_digits(d1 + 1, (size_t)(d2 - d1 - 1))) {
		/* the PID ends at d2; K ends at the next '-' */
		const char *d3 = strchr(d2 + 1, '-');

		if (!d3 || !all_digits(d2 + 1, (size_t)(d3 - d2 - 1)) ||
		    strncmp(d3, "-git-send-email-", 16))
			return NULL;
		if (asprintf(&out, "%.*s-%s", (int)(d2 - id), id, d3 + 1) < 0)
			return NULL;
		return strchr(d3 + 16, '@') ? out : (free(out), NULL);
	} else {
		return NULL;
	}
	if (!*rest || !strchr(rest, '@'))
		return NULL;
	if (asprintf(&out, "%.*s-%s", (int)(d1 - id), id, rest) < 0)
		return NULL;
	return out;
}

static void
model_add(struct model *md, const struct message *msg)
{
	struct model_msg *m;

	if (md->n == md->cap) {
		md->cap = md->cap ? md->cap * 2 : 256;
		md->m = realloc(md->m, md->cap * sizeof(*md->m));
		assert_non_null(md->m);
	}
	m = &md->m[md->n++];
	memset(m, 0, sizeof(*m));
	m->id = strdup(msg->message_id);
	m->links = calloc(msg->n_references + 1, sizeof(char *));
	if (*msg->in_reply_to && strcmp(msg->in_reply_to, msg->message_id))
		m->links[m->n_links++] = strdup(msg->in_reply_to);
	for (size_t i = 0; i < msg->n_references; i++)
		if (strcmp(msg->references[i], msg->message_id))
			m->links[m->n_links++] = strdup(msg->references[i]);
	m->unthreaded = m->n_links == 0;
	m->series = !msg->tags.reply && !msg->tags.forward;
	m->gse = m->series ? model_gse(msg->message_id) : NULL;
	m->addr = strdup(msg->from_addr);
	memcpy(m->project, msg->tags.project, sizeof(m->project));
	m->version = msg->tags.version;
	m->index = msg->tags.index;
	m->total = msg->tags.total;
	m->date = msg->date;
}

/* Union everything the rules join; every mail gets a node. */
static void
model_solve(struct model *md)
{
	for (size_t i = 0; i < md->n; i++) {
		model_id(md, md->m[i].id);
		for (size_t j = 0; j < md->m[i].n_links; j++)
			uf_union(md, md->m[i].id, md->m[i].links[j]);
	}
	for (size_t i = 0; i < md->n; i++) {
		const struct model_msg *a = &md->m[i];

		if (!a->series)
			continue;
		for (size_t j = i + 1; j < md->n; j++) {
			const struct model_msg *b = &md->m[j];

			int a_loose = a->unthreaded && a->index >= 1;
			int b_loose = b->unthreaded && b->index >= 1;

			if (!b->series)
				continue;
			if ((a->unthreaded || b->unthreaded) && a->gse &&
			    b->gse && !strcmp(a->gse, b->gse))
				uf_union(md, a->id, b->id);
			if ((a_loose || b_loose) && !(a->gse && b->gse) &&
			    a->total >= 1 && a->index >= 0 && a->date &&
			    *a->addr && b->total >= 1 && b->index >= 0 &&
			    b->date && !strcmp(a->addr, b->addr) &&
			    !strcmp(a->project, b->project) &&
			    a->version == b->version && a->total == b->total &&
			    llabs(a->date - b->date) <= 600)
				uf_union(md, a->id, b->id);
		}
	}
}

static void
model_release(struct model *md)
{
	for (size_t i = 0; i < md->n; i++) {
		for (size_t j = 0; j < md->m[i].n_links; j++)
			free(md->m[i].links[j]);
		free(md->m[i].links);
		free(md->m[i].id);
		free(md->m[i].gse);
		free(md->m[i].addr);
	}
	free(md->m);
	for (size_t i = 0; i < md->nkeys; i++)
		free(md->keys[i]);
	free(md->keys);
	free(md->slots);
	free(md->parent);
	memset(md, 0, sizeof(*md));
}

static int
model_load_fn(const void *key, size_t klen, const void *val, size_t vlen,
	      void *ctx)
{
	struct message msg;

	assert_int_equal(message_from_json(val, vlen, &msg), 0);
	model_add(ctx, &msg);
	message_release(&msg);
	return 0;
}

/* Component sizes (stored mails only), indexed by union-find root. */
static size_t *
model_sizes(struct model *md)
{
	size_t *sz = calloc(md->nkeys, sizeof(*sz));

	assert_non_null(sz);
	for (size_t i = 0; i < md->n; i++)
		sz[uf_find(md, model_id(md, md->m[i].id))]++;
	return sz;
}

/*
 * The threads must be exactly the model's components: all mails of a
 * thread in one component, and as many as the component holds.
 */
static void
check_against_model(struct model *md, const size_t *sizes,
		    const struct thread *ts, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		size_t root = uf_find(md, model_id(md, ts[i].msgs[0].id));

		for (size_t j = 1; j < ts[i].n_msgs; j++)
			if (uf_find(md, model_id(md, ts[i].msgs[j].id)) != root)
				fail_msg("thread of <%s> holds <%s>, which "
					 "no rule joins to it",
					 ts[i].msgs[0].id, ts[i].msgs[j].id);
		if (sizes[root] != ts[i].n_msgs)
			fail_msg("thread of <%s> has %zu mails, the rules give "
				 "%zu",
				 ts[i].msgs[0].id, ts[i].n_msgs, sizes[root]);
	}
}

/* Every mail of [since, until) in exactly one thread. */
struct seen {
	struct model *md;
	unsigned char *count; /* per model id */
	size_t n_count;
	size_t window;
	int err;
};

static int
window_mail_fn(const char *id, int64_t date, void *ctx)
{
	struct seen *s = ctx;
	size_t i = model_id(s->md, id);

	s->window++;
	if (i >= s->n_count || s->count[i] != 1) {
		fprintf(stderr, "mail <%s> is in %d threads\n", id,
			i < s->n_count ? s->count[i] : 0);
		s->err = 1;
	}
	return 0;
}

static void
check_partition(struct store_txn *txn, struct model *md, int64_t since,
		int64_t until, const struct thread *ts, size_t n)
{
	struct seen s = {.md = md};
	size_t in_window = 0;

	/* Ids in the threads first, so the model has them all. */
	for (size_t i = 0; i < n; i++)
		for (size_t j = 0; j < ts[i].n_msgs; j++)
			model_id(md, ts[i].msgs[j].id);
	s.n_count = md->nkeys;
	s.count = calloc(md->nkeys + 1, 1);
	assert_non_null(s.count);
	for (size_t i = 0; i < n; i++) {
		size_t here = 0;

		for (size_t j = 0; j < ts[i].n_msgs; j++) {
			const struct thread_msg *m = &ts[i].msgs[j];

			if (m->date >= since && m->date < until) {
				size_t k = model_id(md, m->id);

				s.count[k] += s.count[k] < 255;
				here++;
			}
		}
		if (!here)
			fail_msg("thread of <%s> has no mail in the window",
				 ts[i].root_id);
		in_window += here;
	}
	assert_int_equal(
	    store_foreach_by_date(txn, since, until, window_mail_fn, &s), 0);
	assert_false(s.err);
	assert_int_equal(in_window, s.window);
	free(s.count);
}

/* --- random graphs --------------------------------------------------- */

static unsigned
rnd(unsigned n)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (unsigned)(rng % n);
}

static void
fuzz_id(unsigned k, char *out, size_t n)
{
	/* A third look like git send-email runs (of about 10 mails). */
	if (k % 3 == 0)
		snprintf(out, n, "20250101000000.%u-%u-u@fz", k / 30, k);
	else
		snprintf(out, n, "m%u@fz", k);
}

static void
thread_fuzz(void **state)
{
	enum { MAILS = 300, IDS = 900 };
	static const char *addrs[] = {"a@fz", "b@fz", "c@fz", ""};

	for (uint64_t seed = 1; seed <= 6; seed++) {
		struct fx f;
		struct model md = {0};
		struct thread *ts;
		size_t n, total = 0, biggest = 0, *sizes;

		rng = seed * 0x9e3779b97f4a7c15ull;
		fx_open(&f, "thread-fuzz");
		for (unsigned i = 0; i < MAILS; i++) {
			char id[64], irt[64], rbuf[6][64], *refs[6];
			struct message m;
			unsigned nr = rnd(3) == 0 ? 1 + rnd(3) : 0;

			memset(&m, 0, sizeof(m));
			fuzz_id(i, id, sizeof(id));
			for (unsigned j = 0; j < nr; j++) {
				/*
				 * Mostly near ids (threads of a few dozen
				 * mails), some far, some ghosts (>= MAILS),
				 * some self links.
				 */
				unsigned to = rnd(10) == 0   ? rnd(IDS)
					      : rnd(12) == 0 ? i
							     : i + rnd(16);

				fuzz_id(to >= 8 ? to - 8 : to, rbuf[j], 64);
				refs[j] = rbuf[j];
			}
			irt[0] = '\0';
			if (nr && rnd(2))
				memcpy(irt, rbuf[nr - 1], 64);
			else if (!nr && rnd(10) == 0)
				fuzz_id(rnd(IDS), irt, sizeof(irt));
			m.message_id = id;
			m.in_reply_to = irt;
			m.references = refs;
			m.n_references = nr;
			m.from_name = "";
			m.from_addr = (char *)addrs[rnd(4)];
			m.date = rnd(20) ? T0 + i * 600 + rnd(1200) : 0;
			m.subject = "[PATCH] fuzz";
			m.subject_bare = "fuzz";
			m.tags.reply = rnd(3) == 0;
			m.tags.patch = 1;
			m.tags.version = 1 + rnd(2);
			m.tags.total = rnd(3) ? 2 + (int)rnd(2) : -1;
			m.tags.index = m.tags.total > 0 ? (int)rnd(3) : -1;
			if (rnd(5) == 0)
				memcpy(m.tags.project, "kvmtool", 8);
			m.list_id = m.auto_submitted = m.precedence = "";
			m.x_loop = m.body = m.prose = m.quoted = "";
			m.patch = m.diffstat = m.signature = "";
			assert_int_equal(store_put_message(f.txn, &m, "x", 1),
					 1);
			assert_int_equal(thread_index_add(f.txn, &m), 0);
		}
		fx_read(&f);
		assert_int_equal(store_kv_foreach(f.txn, STORE_DB_MSG, NULL, 0,
						  model_load_fn, &md),
				 0);
		assert_int_equal(md.n, MAILS);
		model_solve(&md);
		sizes = model_sizes(&md);
		assert_int_equal(
		    thread_window(f.txn, INT64_MIN, INT64_MAX, &ts, &n), 0);
		check_against_model(&md, sizes, ts, n);
		check_partition(f.txn, &md, INT64_MIN, INT64_MAX, ts, n);
		for (size_t i = 0; i < n; i++) {
			struct thread t;

			total += ts[i].n_msgs;
			if (ts[i].n_msgs > biggest)
				biggest = ts[i].n_msgs;
			check_date_order(&ts[i]);
			assert_non_null(find_msg(&ts[i], ts[i].root_id));
			/* The same thread from its last mail. */
			collect(f.txn, ts[i].msgs[ts[i].n_msgs - 1].id, &t);
			assert_int_equal(t.n_msgs, ts[i].n_msgs);
			assert_string_equal(t.root_id, ts[i].root_id);
			thread_release(&t);
		}
		assert_int_equal(total, MAILS);
		assert_int_equal(thread_count_all(f.txn), (long)n);
		/* The graph has structure: neither all one nor all apart. */
		assert_true(n > 20 && n < MAILS / 2);
		assert_true(biggest > 10);
		/* A window of a day partitions its mails too. */
		thread_free_array(ts, n);
		assert_int_equal(
		    thread_window(f.txn, T0 + 3600, T0 + 86400, &ts, &n), 0);
		check_against_model(&md, sizes, ts, n);
		check_partition(f.txn, &md, T0 + 3600, T0 + 86400, ts, n);
		thread_free_array(ts, n);
		free(sizes);
		model_release(&md);
		fx_close(&f);
	}
}

/* --- the demo sample and the real corpora ---------------------------- */

static void
import_into(struct store *s, const char *path)
{
	struct import_options opt = {0};
	struct import_stats st = {0};
	FILE *devnull = fopen("/dev/null", "w");

	assert_non_null(devnull);
	opt.report = devnull;
	assert_int_equal(import_path(s, path, &opt, &st), 0);
	fclose(devnull);
	assert_true(st.imported > 0);
}

static int
distinct_threads(struct store_txn *txn, const char *const *ids, size_t n)
{
	for (size_t i = 0; i < n; i++)
		for (size_t j = i + 1; j < n; j++)
			if (same_thread(txn, ids[i], ids[j]))
				return 0;
	return 1;
}

static void
thread_demo(void **state)
{
	static const char v3[] = "20250827101949.1030155-1-tabba@google.com";
	static const char v4[] = "20250909072436.484606-1-tabba@google.com";
	static const char *const three[] = {
	    "aL7JLeXnKQjXJOmo@willie-the-truck",	       /* hyp panic */
	    "20250910180938.2124700-1-oliver.upton@linux.dev", /* reverts */
	    "20250911144923.1152592-1-sebott@redhat.com",      /* QEMU PSCI */
	};
	struct fx f;
	struct thread t, *ts;
	size_t n, mails = 0;

	fx_open(&f, "thread-demo");
	store_abort(f.txn);
	import_into(f.s, "tests/data/demo-week.mbox");
	assert_int_equal(store_begin(f.s, 0, &f.txn), 0);
	collect(f.txn, v4, &t);
	assert_string_equal(t.root_id, v4);
	assert_null(find_msg(&t, v3));
	assert_non_null(t.prev_root);
	assert_string_equal(t.prev_root, v3);
	assert_int_equal(t.prev_version, 3);
	assert_int_equal(t.prev_date, 1756289980); /* 2025-08-27 10:19:40Z */
	thread_release(&t);
	collect(f.txn, v3, &t);
	assert_string_equal(t.root_id, v3);
	assert_non_null(t.next_root);
	assert_string_equal(t.next_root, v4);
	assert_int_equal(t.next_version, 4);
	thread_release(&t);
	assert_true(distinct_threads(f.txn, three, 3));
	assert_int_equal(thread_size(f.txn, three[1]), 4);
	/* The sample's own count: 222 mails in 35 threads. */
	assert_int_equal(thread_count_all(f.txn), 35);
	assert_int_equal(thread_window(f.txn, INT64_MIN, INT64_MAX, &ts, &n),
			 0);
	assert_int_equal(n, 35);
	for (size_t i = 0; i < n; i++)
		mails += ts[i].n_msgs;
	assert_int_equal(mails, 222);
	thread_free_array(ts, n);
	fx_close(&f);
}

struct link_check {
	struct store_txn *txn;
	size_t checked;
};

/* A mail and each stored mail it names are in one thread. */
static int
link_check_fn(const void *key, size_t klen, const void *val, size_t vlen,
	      void *ctx)
{
	struct link_check *lc = ctx;
	struct message msg;
	struct thread t;
	int collected = 0;

	assert_int_equal(message_from_json(val, vlen, &msg), 0);
	for (size_t i = 0; i <= msg.n_references; i++) {
		const char *ref =
		    i < msg.n_references ? msg.references[i] : msg.in_reply_to;

		if (!*ref || store_has_message(lc->txn, ref) != 1)
			continue;
		if (!collected) {
			collect(lc->txn, msg.message_id, &t);
			collected = 1;
		}
		if (!find_msg(&t, ref))
			fail_msg("<%s> names <%s> but is not in its thread",
				 msg.message_id, ref);
		lc->checked++;
	}
	if (collected)
		thread_release(&t);
	message_release(&msg);
	return 0;
}

static int64_t
utc(int y, int mo, int d)
{
	struct tm tm = {.tm_year = y - 1900, .tm_mon = mo - 1, .tm_mday = d};

	return (int64_t)timegm(&tm);
}

static void
thread_corpora(void **state)
{
	const char *corpora = test_corpora(__func__);
	static const char *const seed[] = {
	    "aL7JLbljvX1JATP3@willie-the-truck",	    /* hyp panic v1 */
	    "20250909133631.3844423-1-smostafa@google.com", /* hyp panic v2 */
	    "20250911144923.24259-1-sebott@redhat.com",	    /* QEMU PSCI */
	};
	struct fx f;
	struct model md = {0};
	struct link_check lc;
	struct thread *ts;
	size_t n, *sizes, weeks = 0;

	if (!corpora)
		skip();
	fx_open(&f, "thread-corpora");
	store_abort(f.txn);
	import_into(f.s, corpora);
	assert_int_equal(store_begin(f.s, 0, &f.txn), 0);
	assert_int_equal(
	    store_kv_foreach(f.txn, STORE_DB_MSG, NULL, 0, model_load_fn, &md),
	    0);
	assert_true(md.n > 2400);
	model_solve(&md);
	sizes = model_sizes(&md);

	/* The whole store, then every week of the kvmarm-columbia period. */
	assert_int_equal(thread_window(f.txn, INT64_MIN, INT64_MAX, &ts, &n),
			 0);
	check_against_model(&md, sizes, ts, n);
	check_partition(f.txn, &md, INT64_MIN, INT64_MAX, ts, n);
	assert_int_equal(thread_count_all(f.txn), (long)n);
	thread_free_array(ts, n);
	for (int64_t w = utc(2022, 9, 1); w < utc(2023, 1, 7); w += 7 * 86400) {
		assert_int_equal(
		    thread_window(f.txn, w, w + 7 * 86400, &ts, &n), 0);
		assert_true(n > 0);
		check_against_model(&md, sizes, ts, n);
		check_partition(f.txn, &md, w, w + 7 * 86400, ts, n);
		thread_free_array(ts, n);
		weeks++;
	}
	assert_int_equal(weeks, 19);

	lc.txn = f.txn;
	lc.checked = 0;
	assert_int_equal(
	    store_kv_foreach(f.txn, STORE_DB_MSG, NULL, 0, link_check_fn, &lc),
	    0);
	assert_true(lc.checked > 1500);

	/* The seed digest's PATCH thread 2 mixed these; they are apart. */
	assert_true(distinct_threads(f.txn, seed, 3));
	assert_true(thread_size(f.txn, seed[2]) >= 3);

	free(sizes);
	model_release(&md);
	fx_close(&f);
}

/* --- the commands ---------------------------------------------------- */

static void
thread_commands(void **state)
{
	char *dir = test_tmpdir("thread-cli"), *out, *err;
	struct store *s;
	struct store_txn *txn;
	int status;

	assert_non_null(dir);
	if (access(TEST_BOT, X_OK) != 0)
		fail_msg("%s is not built", TEST_BOT);
	/* A store filled by a kvmarm-bot without threading. */
	assert_int_equal(store_open(dir, 0, &s), 0);
	assert_int_equal(store_begin(s, 1, &txn), 0);
	put_only(txn, "r@cli", NULL, T0, 0);
	put_only(txn, "c@cli", "r@cli", T0 + 1, 0);
	put_only(txn, "o@cli", NULL, T0 + 2, 0);
	assert_int_equal(store_commit(txn), 0);
	store_close(s);

	char *const stats[] = {"--state", dir, "stats", NULL};
	char *const reindex[] = {"--state", dir, "reindex", NULL};
	char *const help[] = {"reindex", "--help", NULL};
	char *const extra[] = {"--state", dir, "reindex", "x", NULL};

	status = test_run_bot(stats, &out, &err);
	assert_int_equal(status, 1);
	assert_non_null(strstr(out, "messages: 3\nthreads: unknown\n"));
	assert_non_null(strstr(err, "kvmarm-bot reindex"));
	free(out);
	free(err);
	status = test_run_bot(reindex, &out, &err);
	assert_int_equal(status, 0);
	assert_string_equal(out, "reindexed 3 messages, 2 threads\n");
	free(out);
	free(err);
	status = test_run_bot(stats, &out, &err);
	assert_int_equal(status, 0);
	assert_non_null(strstr(out, "messages: 3\nthreads: 2\n"));
	free(out);
	free(err);
	status = test_run_bot(help, &out, &err);
	assert_int_equal(status, 0);
	assert_non_null(strstr(out, "usage: kvmarm-bot [--state DIR] reindex"));
	free(out);
	free(err);
	status = test_run_bot(extra, &out, &err);
	assert_int_equal(status, 2);
	free(out);
	free(err);
	rm_rf(dir);
	free(dir);
}

TEST_LIST(thread, cmocka_unit_test(thread_references),
	  cmocka_unit_test(thread_loops), cmocka_unit_test(thread_ghosts),
	  cmocka_unit_test(thread_bogus_ids),
	  cmocka_unit_test(thread_series_send_email),
	  cmocka_unit_test(thread_series_sender),
	  cmocka_unit_test(thread_versions),
	  cmocka_unit_test(thread_window_basic),
	  cmocka_unit_test(thread_missing_index),
	  cmocka_unit_test(thread_corrupt_records),
	  cmocka_unit_test(thread_big), cmocka_unit_test(thread_fuzz),
	  cmocka_unit_test(thread_demo), cmocka_unit_test(thread_corpora),
	  cmocka_unit_test(thread_commands));
