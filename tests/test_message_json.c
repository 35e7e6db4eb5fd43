/*
 * test_message_json.c - the record's JSON form: every field survives a
 * round trip, and reading never trusts its input.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "message.h"
#include "testutil.h"

static char *refs[] = {"r1@x", "r2@x", "quote\"back\\slash/@x"};
static char *tos[] = {"a@x"};
static char *ccs[] = {"b@x", "c@x"};
static char *files[] = {"arch/arm64/kvm/arm.c", "include/kvm.h"};
static struct trailer trailers[] = {
    {"Acked-by", "A <a@x>"},
    {"Signed-off-by", "S \"Q\" <s@x>"},
};

static void
fill(struct message *m)
{
	memset(m, 0, sizeof(*m));
	m->message_id = "id/with\"odd\\chars@x";
	m->in_reply_to = "r2@x";
	m->references = refs;
	m->n_references = 3;
	m->from_name = "D\u00e9j\u00e0 \u4e2d\u6587";
	m->from_addr = "d@x";
	m->to = tos;
	m->n_to = 1;
	m->cc = ccs;
	m->n_cc = 2;
	m->date = -1234567890123LL;
	m->subject = "[RFC PATCH kvmtool v3 02/24] arm64: \t tab";
	m->subject_bare = "arm64: \t tab";
	m->tags.patch = 1;
	m->tags.rfc = 1;
	m->tags.resend = 1;
	m->tags.pull = 1;
	m->tags.syzbot = 1;
	m->tags.forward = 1;
	m->tags.version = 3;
	m->tags.index = 2;
	m->tags.total = 24;
	/* Exactly 31 bytes: the longest project that fits. */
	memcpy(m->tags.project, "0123456789012345678901234567890", 32);
	m->list_id = "<kvmarm.lists.linux.dev>";
	m->auto_submitted = "auto-generated";
	m->precedence = "bulk";
	m->x_loop = "loop@x";
	m->body = "line1\nline2 \x01 ctrl\n\U0001F600\n";
	m->prose = "line1\n";
	m->quoted = "> q\n";
	m->patch = "diff --git a/x b/x\n";
	m->diffstat = " x | 1 +\n";
	m->signature = "sig\n";
	m->files = files;
	m->n_files = 2;
	m->trailers = trailers;
	m->n_trailers = 2;
	m->flags = MESSAGE_SYNTHETIC_ID | MESSAGE_NUL_BYTES;
	m->raw_size = UINT64_C(0xffffffffffff);
}

static void
check_same(const struct message *a, const struct message *b)
{
	assert_string_equal(a->message_id, b->message_id);
	assert_string_equal(a->in_reply_to, b->in_reply_to);
	assert_int_equal(a->n_references, b->n_references);
	for (size_t i = 0; i < a->n_references; i++)
		assert_string_equal(a->references[i], b->references[i]);
	assert_string_equal(a->from_name, b->from_name);
	assert_string_equal(a->from_addr, b->from_addr);
	assert_int_equal(a->n_to, b->n_to);
	assert_string_equal(a->to[0], b->to[0]);
	assert_int_equal(a->n_cc, b->n_cc);
	assert_string_equal(a->cc[1], b->cc[1]);
	assert_true(a->date == b->date);
	assert_string_equal(a->subject, b->subject);
	assert_string_equal(a->subject_bare, b->subject_bare);
	assert_memory_equal(&a->tags, &b->tags, sizeof(a->tags));
	assert_string_equal(a->list_id, b->list_id);
	assert_string_equal(a->auto_submitted, b->auto_submitted);
	assert_string_equal(a->precedence, b->precedence);
	assert_string_equal(a->x_loop, b->x_loop);
	assert_string_equal(a->body, b->body);
	assert_string_equal(a->prose, b->prose);
	assert_string_equal(a->quoted, b->quoted);
	assert_string_equal(a->patch, b->patch);
	assert_string_equal(a->diffstat, b->diffstat);
	assert_string_equal(a->signature, b->signature);
	assert_int_equal(a->n_files, b->n_files);
	assert_string_equal(a->files[1], b->files[1]);
	assert_int_equal(a->n_trailers, b->n_trailers);
	for (size_t i = 0; i < a->n_trailers; i++) {
		assert_string_equal(a->trailers[i].key, b->trailers[i].key);
		assert_string_equal(a->trailers[i].value, b->trailers[i].value);
	}
	assert_int_equal(a->flags, b->flags);
	assert_true(a->raw_size == b->raw_size);
}

static void
test_message_json_roundtrip(void **state)
{
	struct message m, back;
	char *json, *pretty;

	fill(&m);
	json = message_to_json(&m, 0);
	assert_non_null(json);
	/* Compact, versioned, and the quick-scan keys come first. */
	assert_null(strchr(json, '\n'));
	assert_memory_equal(json, "{\"v\":1,\"message_id\":", 20);
	assert_non_null(
	    strstr(json, "\"in_reply_to\":\"r2@x\",\"references\":["));
	assert_int_equal(message_from_json(json, strlen(json), &back), 0);
	check_same(&m, &back);
	message_release(&back);

	pretty = message_to_json(&m, 1);
	assert_non_null(pretty);
	assert_non_null(strchr(pretty, '\n'));
	assert_int_equal(message_from_json(pretty, strlen(pretty), &back), 0);
	check_same(&m, &back);
	message_release(&back);
	free(json);
	free(pretty);
}

static void
test_message_json_defaults(void **state)
{
	static const char min[] = "{\"v\":1,\"message_id\":\"m@x\","
				  "\"unknown_later_key\":[1,{\"a\":2}]}";
	struct message m, back;
	char *json;

	assert_int_equal(message_from_json(min, strlen(min), &m), 0);
	assert_string_equal(m.message_id, "m@x");
	assert_string_equal(m.in_reply_to, "");
	assert_string_equal(m.body, "");
	assert_string_equal(m.subject, "");
	assert_int_equal(m.n_references, 0);
	assert_int_equal(m.tags.version, 1);
	assert_int_equal(m.tags.index, -1);
	assert_int_equal(m.tags.total, -1);
	assert_int_equal(m.date, 0);
	message_release(&m);

	/* NULL strings and arrays are written as "" and []. */
	memset(&m, 0, sizeof(m));
	m.message_id = "n@x";
	m.n_to = 3; /* with to == NULL: nothing to write */
	json = message_to_json(&m, 0);
	assert_non_null(json);
	assert_int_equal(message_from_json(json, strlen(json), &back), 0);
	assert_string_equal(back.from_name, "");
	assert_int_equal(back.n_to, 0);
	message_release(&back);
	free(json);
}

static void
expect_bad(const char *json)
{
	struct message m;

	memset(&m, 0x5a, sizeof(m));
	assert_int_equal(message_from_json(json, strlen(json), &m), -1);
	/* A failed read leaves nothing to release. */
	assert_null(m.message_id);
	assert_null(m.references);
	message_release(&m);
}

static void
test_message_json_rejects(void **state)
{
	static const char *const bad[] = {
	    "",
	    "null",
	    "[]",
	    "\"v\"",
	    "{}",
	    "{\"v\":2,\"message_id\":\"m@x\"}",
	    "{\"v\":\"1\",\"message_id\":\"m@x\"}",
	    "{\"v\":1.0,\"message_id\":\"m@x\"}",
	    "{\"v\":1}",
	    "{\"v\":1,\"message_id\":\"\"}",
	    "{\"v\":1,\"message_id\":7}",
	    "{\"v\":1,\"message_id\":\"m@x\",\"subject\":null}",
	    "{\"v\":1,\"message_id\":\"m@x\",\"references\":\"r\"}",
	    "{\"v\":1,\"message_id\":\"m@x\",\"references\":[\"a\",3]}",
	    "{\"v\":1,\"message_id\":\"m@x\",\"to\":[null]}",
	    "{\"v\":1,\"message_id\":\"m@x\",\"date\":\"today\"}",
	    "{\"v\":1,\"message_id\":\"m@x\",\"date\":1e3}",
	    "{\"v\":1,\"message_id\":\"m@x\",\"date\":99999999999999999999}",
	    "{\"v\":1,\"message_id\":\"m@x\",\"flags\":-1}",
	    "{\"v\":1,\"message_id\":\"m@x\",\"flags\":4294967296}",
	    "{\"v\":1,\"message_id\":\"m@x\",\"raw_size\":-5}",
	    "{\"v\":1,\"message_id\":\"m@x\",\"tags\":[]}",
	    "{\"v\":1,\"message_id\":\"m@x\",\"tags\":{\"version\":2147483648}"
	    "}",
	    "{\"v\":1,\"message_id\":\"m@x\",\"tags\":{\"project\":"
	    "\"01234567890123456789012345678901\"}}",
	    "{\"v\":1,\"message_id\":\"m@x\",\"trailers\":[{\"key\":1}]}",
	    "{\"v\":1,\"message_id\":\"m@x\",\"trailers\":[\"k\"]}",
	    "{\"v\":1,\"message_id\":\"m\\u0000x\"}",
	    "{\"v\":1,\"message_id\":\"m@x\",\"body\":\"\xff\xfe\"}",
	    "{\"v\":1,\"message_id\":\"m@x\",\"body\":\"\xed\xa0\x80\"}",
	    "{\"v\":1,\"message_id\":\"m@x\",\"body\":\"\xc0\xaf\"}",
	    "{\"v\":1,\"message_id\":\"m@x\"} trailing",
	    "{\"v\":1,\"message_id\":\"m@x\"}{}",
	    "{\"v\":1,\"message_id\":\"m@x\",}",
	    "{\"v\":1,\"message_id\":'m@x'}",
	    "{\"v\":1,\"message_id\":\"m@x\",\"x\":[[[[[[[[[[[[[[[[1]]]]]]]]"
	    "]]]]]]]]}",
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		expect_bad(bad[i]);

	/* Trailing white space is fine; an embedded NUL byte is not. */
	struct message m;
	static const char ws[] = "{\"v\":1,\"message_id\":\"m@x\"}\n \t";
	assert_int_equal(message_from_json(ws, strlen(ws), &m), 0);
	message_release(&m);
	static const char nul[] = "{\"v\":1,\"message_id\":\"m@x\"}\0";
	assert_int_equal(message_from_json(nul, sizeof(nul), &m), -1);
	assert_int_equal(message_from_json(NULL, 0, &m), -1);
}

/* Every prefix and thousands of mutations of a real record. */
static void
test_message_json_hostile(void **state)
{
	struct message m, out;
	char *json, *copy;
	size_t len, ok = 0;
	unsigned seed = 12345;

	fill(&m);
	json = message_to_json(&m, 0);
	assert_non_null(json);
	len = strlen(json);
	copy = malloc(len + 1);
	assert_non_null(copy);
	for (size_t i = 0; i < len; i++) {
		memcpy(copy, json, i);
		copy[i] = '\0';
		assert_int_equal(message_from_json(copy, i, &out), -1);
	}
	for (int round = 0; round < 20000; round++) {
		memcpy(copy, json, len + 1);
		for (int k = 0; k < 1 + round % 4; k++) {
			seed = seed * 1103515245u + 12345u;
			size_t at = (seed >> 8) % len;
			seed = seed * 1103515245u + 12345u;
			copy[at] = (char)(seed >> 16);
		}
		if (message_from_json(copy, len, &out) == 0) {
			char *again = message_to_json(&out, 0);

			/* What is accepted is a full, valid record. */
			assert_non_null(again);
			assert_non_null(out.message_id);
			assert_non_null(out.body);
			message_release(&out);
			free(again);
			ok++;
		}
	}
	/* Mutations inside string contents keep a record valid. */
	assert_true(ok > 0);
	free(copy);
	free(json);
}

TEST_LIST(message_json, cmocka_unit_test(test_message_json_roundtrip),
	  cmocka_unit_test(test_message_json_defaults),
	  cmocka_unit_test(test_message_json_rejects),
	  cmocka_unit_test(test_message_json_hostile), );
