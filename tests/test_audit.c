/*
 * test_audit.c - the append-only audit log of moderation decisions:
 * the exact line format, appending across calls, control characters
 * and blanks in hostile input, the cut of a long detail, the mode.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "audit.h"
#include "testutil.h"

/* 2025-09-15T09:00:00Z */
#define T0 1757926800

static char *
log_path(const char *dir)
{
	char *p = NULL;

	assert_true(asprintf(&p, "%s/audit.log", dir) > 0);
	return p;
}

static void
test_audit_format_and_append(void **state)
{
	char *dir = test_tmpdir("audit"), *path, *text;
	struct stat st;
	size_t len;

	assert_non_null(dir);
	path = log_path(dir);
	assert_int_equal(audit_log(dir, T0, "maz@kernel.org", "approve", 3,
				   "ok", NULL), 0);
	assert_int_equal(audit_log(dir, T0 + 61, "eve@example.org",
				   "approve", 3, "refused", "wrong token"),
			 0);
	text = test_read_file(path, &len);
	assert_non_null(text);
	assert_string_equal(text,
			    "2025-09-15T09:00:00Z maz@kernel.org approve 3 ok\n"
			    "2025-09-15T09:01:01Z eve@example.org approve 3 "
			    "refused: wrong token\n");
	free(text);

	/* A third call appends; nothing before it changes. */
	assert_int_equal(audit_log(dir, T0 + 3600, "cli:oliver", "reject", 4,
				   "ok", "too early"), 0);
	text = test_read_file(path, &len);
	assert_non_null(text);
	assert_non_null(strstr(text, "refused: wrong token\n"
				     "2025-09-15T10:00:00Z cli:oliver reject 4 "
				     "ok: too early\n"));
	assert_int_equal(text[len - 1], '\n');
	free(text);

	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	free(path);
	free(dir);
}

static void
test_audit_hostile_text(void **state)
{
	char *dir = test_tmpdir("audit"), *path, *text, *nl;
	char detail[600];
	size_t len;

	assert_non_null(dir);
	path = log_path(dir);
	/* A forged second line in the reason stays on its line. */
	assert_int_equal(audit_log(dir, T0, "eve example\tx", "re ject", 7,
				   "ok",
				   "bad\n2025-09-15T09:00:00Z maz@kernel.org "
				   "approve 7 ok\r\x1b[2J"), 0);
	text = test_read_file(path, &len);
	assert_non_null(text);
	assert_string_equal(text,
			    "2025-09-15T09:00:00Z eve_example_x re_ject 7 ok: "
			    "bad?2025-09-15T09:00:00Z maz@kernel.org approve "
			    "7 ok??[2J\n");
	free(text);
	assert_int_equal(unlink(path), 0);

	/* A long detail is cut at 300 bytes; the line still ends. */
	memset(detail, 'x', sizeof(detail) - 1);
	detail[sizeof(detail) - 1] = '\0';
	assert_int_equal(audit_log(dir, T0, "a@b", "fix", 1, "ok", detail),
			 0);
	text = test_read_file(path, &len);
	assert_non_null(text);
	nl = strchr(text, '\n');
	assert_non_null(nl);
	assert_int_equal(nl[1], '\0');
	assert_int_equal(strlen("2025-09-15T09:00:00Z a@b fix 1 ok: ") + 300,
			 (size_t)(nl - text));
	free(text);
	assert_int_equal(unlink(path), 0);

	/* A cut never splits a UTF-8 character: 299 x, then a 2-byte one. */
	memset(detail, 'x', 299);
	snprintf(detail + 299, sizeof(detail) - 299, "\xc3\xa9tail");
	assert_int_equal(audit_log(dir, T0, "a@b", "fix", 1, "ok", detail),
			 0);
	text = test_read_file(path, &len);
	assert_non_null(text);
	nl = strchr(text, '\n');
	assert_non_null(nl);
	assert_int_equal(strlen("2025-09-15T09:00:00Z a@b fix 1 ok: ") + 299,
			 (size_t)(nl - text));
	free(text);

	/* Empty words are still words. */
	assert_int_equal(unlink(path), 0);
	assert_int_equal(audit_log(dir, T0, "", "approve", 2, "refused",
				   NULL), 0);
	text = test_read_file(path, &len);
	assert_non_null(text);
	assert_string_equal(text,
			    "2025-09-15T09:00:00Z - approve 2 refused\n");
	free(text);
	free(path);
	free(dir);
}

static void
test_audit_unwritable(void **state)
{
	/* A state directory that does not exist: -1, nothing created. */
	assert_int_equal(audit_log("/nonexistent/kvmarm-audit", T0, "a", "b",
				   1, "ok", NULL), -1);
	assert_int_equal(audit_log("", T0, "a", "b", 1, "ok", NULL), -1);
}

TEST_LIST(audit,
	  cmocka_unit_test(test_audit_format_and_append),
	  cmocka_unit_test(test_audit_hostile_text),
	  cmocka_unit_test(test_audit_unwritable),
);
