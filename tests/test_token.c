/*
 * test_token.c - HMAC tokens: format, round trip, every way to be bad,
 * expiry and the future skew.
 */
#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "token.h"
#include "testutil.h"

#define SECRET "s3cret-of-the-bot"
#define ADDR "alice@example.org"
#define T0 1757898000		/* 2025-09-15 01:00 UTC */
#define DAY 86400
#define MAX_AGE (72 * 3600)

static void
make(const char *purpose, const char *subject, int64_t when, char *out)
{
	assert_int_equal(token_make(SECRET, purpose, subject, when, out,
				    TOKEN_MAX), 0);
}

/* The documented format, checked against an independent HMAC. */
static void
test_token_format(void **state)
{
	char tok[TOKEN_MAX], want[TOKEN_MAX], time36[16];
	unsigned char md[32];
	unsigned int mdlen = 0;
	const char *data;
	char buf[256];
	int64_t v = T0;
	size_t n = 0, i;

	(void)state;
	make("sub-en", ADDR, T0, tok);
	/* T0 in base 36 */
	do {
		time36[n++] = "0123456789abcdefghijklmnopqrstuvwxyz"[v % 36];
		v /= 36;
	} while (v);
	for (i = 0; i < n / 2; i++) {
		char c = time36[i];

		time36[i] = time36[n - 1 - i];
		time36[n - 1 - i] = c;
	}
	time36[n] = '\0';
	snprintf(buf, sizeof(buf), "sub-en\n%s\n%s", ADDR, time36);
	data = buf;
	assert_non_null(HMAC(EVP_sha256(), SECRET, (int)strlen(SECRET),
			     (const unsigned char *)data, strlen(data), md,
			     &mdlen));
	n = (size_t)snprintf(want, sizeof(want), "sub-en.%s.", time36);
	for (i = 0; i < 12; i++)
		n += (size_t)snprintf(want + n, sizeof(want) - n, "%02x",
				      md[i]);
	assert_string_equal(tok, want);
	assert_int_equal(strlen(strrchr(tok, '.') + 1), 24);
}

static void
test_token_round_trip(void **state)
{
	char tok[TOKEN_MAX];

	(void)state;
	make("sub-zh", ADDR, T0, tok);
	assert_int_equal(token_check(SECRET, "sub-zh", ADDR, tok, T0,
				     MAX_AGE), TOKEN_VALID);
	assert_int_equal(token_check(SECRET, "sub-zh", ADDR, tok,
				     T0 + MAX_AGE, MAX_AGE), TOKEN_VALID);
	make("mod-17", "1757000000", 0, tok);
	assert_int_equal(token_check(SECRET, "mod-17", "1757000000", tok, 5,
				     MAX_AGE), TOKEN_VALID);
}

static void
test_token_wrong_binding(void **state)
{
	char tok[TOKEN_MAX];

	(void)state;
	make("sub-en", ADDR, T0, tok);
	assert_int_equal(token_check(SECRET, "sub-en", "mallory@example.org",
				     tok, T0, MAX_AGE), TOKEN_BAD);
	assert_int_equal(token_check(SECRET, "sub-zh", ADDR, tok, T0,
				     MAX_AGE), TOKEN_BAD);
	assert_int_equal(token_check(SECRET, "unsub", ADDR, tok, T0,
				     MAX_AGE), TOKEN_BAD);
	assert_int_equal(token_check("other secret", "sub-en", ADDR, tok, T0,
				     MAX_AGE), TOKEN_BAD);
	/* a token for another moderation item */
	make("mod-17", "100", T0, tok);
	assert_int_equal(token_check(SECRET, "mod-18", "100", tok, T0,
				     MAX_AGE), TOKEN_BAD);
	assert_int_equal(token_check(SECRET, "mod-17", "101", tok, T0,
				     MAX_AGE), TOKEN_BAD);
}

static void
test_token_expiry(void **state)
{
	char tok[TOKEN_MAX];

	(void)state;
	make("unsub", ADDR, T0, tok);
	assert_int_equal(token_check(SECRET, "unsub", ADDR, tok,
				     T0 + MAX_AGE + 1, MAX_AGE),
			 TOKEN_EXPIRED);
	assert_int_equal(token_check(SECRET, "unsub", ADDR, tok, T0 + 30 * DAY,
				     MAX_AGE), TOKEN_EXPIRED);
	/* up to 5 minutes from the future is clock skew, more is not */
	assert_int_equal(token_check(SECRET, "unsub", ADDR, tok, T0 - 300,
				     MAX_AGE), TOKEN_VALID);
	assert_int_equal(token_check(SECRET, "unsub", ADDR, tok, T0 - 301,
				     MAX_AGE), TOKEN_EXPIRED);
	/* an expired token that is also forged is BAD, not EXPIRED */
	tok[strlen(tok) - 1] = tok[strlen(tok) - 1] == '0' ? '1' : '0';
	assert_int_equal(token_check(SECRET, "unsub", ADDR, tok,
				     T0 + 30 * DAY, MAX_AGE), TOKEN_BAD);
}

/* Changing any one character of the token makes it bad. */
static void
test_token_tampered(void **state)
{
	char tok[TOKEN_MAX], t[TOKEN_MAX];
	size_t i, n;

	(void)state;
	make("sub-en", ADDR, T0, tok);
	n = strlen(tok);
	for (i = 0; i < n; i++) {
		if (tok[i] == '.')
			continue;
		memcpy(t, tok, n + 1);
		t[i] = t[i] == 'a' ? 'b' : 'a';
		assert_int_equal(token_check(SECRET, "sub-en", ADDR, t, T0,
					     MAX_AGE), TOKEN_BAD);
	}
	/* a later time with the old MAC */
	memcpy(t, tok, n + 1);
	t[strchr(t, '.') - t + 1] = 'z';
	assert_int_equal(token_check(SECRET, "sub-en", ADDR, t, T0, 1000000000),
			 TOKEN_BAD);
}

static void
test_token_uppercase(void **state)
{
	char tok[TOKEN_MAX];

	(void)state;
	make("sub-en", ADDR, T0, tok);
	for (char *p = tok; *p; p++)
		*p = (char)toupper((unsigned char)*p);
	assert_int_equal(token_check(SECRET, "sub-en", ADDR, tok, T0,
				     MAX_AGE), TOKEN_VALID);
	assert_int_equal(token_check(SECRET, "SUB-EN", ADDR, tok, T0,
				     MAX_AGE), TOKEN_VALID);
}

static void
test_token_empty_secret(void **state)
{
	char tok[TOKEN_MAX];

	(void)state;
	assert_int_equal(token_make("", "sub-en", ADDR, T0, tok, sizeof(tok)),
			 -1);
	assert_int_equal(token_make(NULL, "sub-en", ADDR, T0, tok,
				    sizeof(tok)), -1);
	make("sub-en", ADDR, T0, tok);
	assert_int_equal(token_check("", "sub-en", ADDR, tok, T0, MAX_AGE),
			 TOKEN_BAD);
	assert_int_equal(token_check(NULL, "sub-en", ADDR, tok, T0, MAX_AGE),
			 TOKEN_BAD);
}

static void
test_token_bad_arguments(void **state)
{
	char tok[TOKEN_MAX], small[16];
	char longp[TOKEN_PURPOSE_MAX + 2];

	(void)state;
	assert_int_equal(token_make(SECRET, "", ADDR, T0, tok, sizeof(tok)),
			 -1);
	assert_int_equal(token_make(SECRET, "Sub", ADDR, T0, tok, sizeof(tok)),
			 -1);
	assert_int_equal(token_make(SECRET, "a.b", ADDR, T0, tok, sizeof(tok)),
			 -1);
	assert_int_equal(token_make(SECRET, "sub-en", ADDR, T0, small,
				    sizeof(small)), -1);
	assert_int_equal(token_make(SECRET, "sub-en", ADDR, -1, tok,
				    sizeof(tok)), -1);
	memset(longp, 'a', sizeof(longp) - 1);
	longp[sizeof(longp) - 1] = '\0';
	assert_int_equal(token_make(SECRET, longp, ADDR, T0, tok, sizeof(tok)),
			 -1);
	/* the longest purpose still fits TOKEN_MAX with a far future time */
	longp[TOKEN_PURPOSE_MAX] = '\0';
	assert_int_equal(token_make(SECRET, longp, ADDR, INT64_MAX, tok,
				    sizeof(tok)), 0);
	assert_true(strlen(tok) < TOKEN_MAX);
	assert_int_equal(token_check(SECRET, longp, ADDR, tok, INT64_MAX,
				     MAX_AGE), TOKEN_VALID);
}

static void
test_token_garbage(void **state)
{
	static const char *const bad[] = {
		"", ".", "..", "sub-en", "sub-en.", "sub-en.abc",
		"sub-en.abc.", ".abc.0123456789abcdef01234567",
		"sub-en..0123456789abcdef01234567",
		"sub-en.abc.0123456789abcdef0123456",	/* 23 digits */
		"sub-en.abc.0123456789abcdef012345678",	/* 25 digits */
		"sub-en.abc.0123456789abcdef0123456g",
		"sub en.abc.0123456789abcdef01234567",
		"sub_en.abc.0123456789abcdef01234567",
		"sub-en.ab!.0123456789abcdef01234567",
		"sub-en.abc.0123456789abcdef01234567.x",
		"sub-en.zzzzzzzzzzzzzz.0123456789abcdef01234567", /* 14 */
		"sub-en.zzzzzzzzzzzzz.0123456789abcdef01234567", /* > max */
		" sub-en.abc.0123456789abcdef01234567",
	};
	char longtok[4096], purpose[TOKEN_PURPOSE_MAX + 1];

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(token_check(SECRET, "sub-en", ADDR, bad[i], T0,
					     MAX_AGE), TOKEN_BAD);
		assert_int_equal(token_purpose(bad[i], purpose,
					       sizeof(purpose)), -1);
	}
	assert_int_equal(token_check(SECRET, "sub-en", ADDR, NULL, T0,
				     MAX_AGE), TOKEN_BAD);
	/* overlong: a valid-looking prefix with a huge MAC part */
	memset(longtok, 'a', sizeof(longtok) - 1);
	longtok[sizeof(longtok) - 1] = '\0';
	memcpy(longtok, "sub-en.abc.", 11);
	assert_int_equal(token_check(SECRET, "sub-en", ADDR, longtok, T0,
				     MAX_AGE), TOKEN_BAD);
	assert_int_equal(token_purpose(longtok, purpose, sizeof(purpose)), -1);
}

static void
test_token_purpose(void **state)
{
	char tok[TOKEN_MAX], purpose[TOKEN_PURPOSE_MAX + 1], small[4];

	(void)state;
	make("mod-17", "x", T0, tok);
	assert_int_equal(token_purpose(tok, purpose, sizeof(purpose)), 0);
	assert_string_equal(purpose, "mod-17");
	assert_int_equal(token_purpose("SUB-ZH.LX2K3.ABCDEF0123456789ABCDEF01",
				       purpose, sizeof(purpose)), 0);
	assert_string_equal(purpose, "sub-zh");
	assert_int_equal(token_purpose(tok, small, sizeof(small)), -1);
	assert_int_equal(token_purpose(NULL, purpose, sizeof(purpose)), -1);
}

TEST_LIST(token,
	cmocka_unit_test(test_token_format),
	cmocka_unit_test(test_token_round_trip),
	cmocka_unit_test(test_token_wrong_binding),
	cmocka_unit_test(test_token_expiry),
	cmocka_unit_test(test_token_tampered),
	cmocka_unit_test(test_token_uppercase),
	cmocka_unit_test(test_token_empty_secret),
	cmocka_unit_test(test_token_bad_arguments),
	cmocka_unit_test(test_token_garbage),
	cmocka_unit_test(test_token_purpose),
);
