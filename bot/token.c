/*
 * token.c - HMAC-SHA256 tokens that bind a reply to the bot's own mail
 * (see token.h).
 *
 * The confirmation and moderation mails carry a token; the reply that
 * quotes it back proves its sender read that mail.  The MAC covers the
 * purpose, the subject (address or item) and the issue time exactly as
 * the token spells it, so nothing needs to be remembered between the
 * two mails.  Tokens are compared in constant time and never logged.
 */
#include <ctype.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "buf.h"
#include "log.h"
#include "token.h"

#define TOKEN_MAC_HEX 24	/* 96 bits */
#define TOKEN_TIME_MAX 13	/* base 36 digits of INT64_MAX */
#define TOKEN_SKEW 300		/* seconds of clock skew allowed */
#define TOKEN_SUBJECT_MAX 4096

static int
purpose_valid(const char *p, size_t n)
{
	if (n == 0 || n > TOKEN_PURPOSE_MAX)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!(islower((unsigned char)p[i]) ||
		      isdigit((unsigned char)p[i]) || p[i] == '-'))
			return 0;
	return 1;
}

/* when >= 0 in lowercase base 36 into out (>= TOKEN_TIME_MAX + 1). */
static void
time36(int64_t when, char *out)
{
	static const char digits[] = "0123456789abcdefghijklmnopqrstuvwxyz";
	char tmp[TOKEN_TIME_MAX + 1];
	size_t n = 0, i;
	uint64_t v = (uint64_t)when;

	do {
		tmp[n++] = digits[v % 36];
		v /= 36;
	} while (v && n < TOKEN_TIME_MAX);
	for (i = 0; i < n; i++)
		out[i] = tmp[n - 1 - i];
	out[n] = '\0';
}

/*
 * The first TOKEN_MAC_HEX lowercase hex digits of the MAC over
 * purpose "\n" subject "\n" time, into hex (TOKEN_MAC_HEX + 1 bytes).
 */
static int
mac_hex(const char *secret, const char *purpose, size_t plen,
	const char *subject, const char *time, size_t tlen, char *hex)
{
	static const char xd[] = "0123456789abcdef";
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	struct buf data;
	int ret = -1;

	buf_init(&data, TOKEN_SUBJECT_MAX + TOKEN_PURPOSE_MAX + 64);
	if (buf_add(&data, purpose, plen) < 0 || buf_addc(&data, '\n') < 0 ||
	    buf_adds(&data, subject) < 0 || buf_addc(&data, '\n') < 0 ||
	    buf_add(&data, time, tlen) < 0)
		goto out;
	if (!HMAC(EVP_sha256(), secret, (int)strlen(secret),
		  (const unsigned char *)data.data, data.len, md, &mdlen) ||
	    mdlen * 2 < TOKEN_MAC_HEX)
		goto out;
	for (size_t i = 0; i < TOKEN_MAC_HEX / 2; i++) {
		hex[2 * i] = xd[md[i] >> 4];
		hex[2 * i + 1] = xd[md[i] & 15];
	}
	hex[TOKEN_MAC_HEX] = '\0';
	ret = 0;
out:
	OPENSSL_cleanse(md, sizeof(md));
	buf_release(&data);
	return ret;
}

int
token_make(const char *secret, const char *purpose, const char *subject,
	   int64_t when, char *out, size_t outsz)
{
	char t[TOKEN_TIME_MAX + 1], hex[TOKEN_MAC_HEX + 1];
	size_t plen;

	if (!secret || !*secret)
		return log_error("cannot make a token: no token_secret");
	if (!purpose || !subject || !out || outsz < TOKEN_MAX || when < 0)
		return log_error("cannot make a token: bad argument");
	plen = strnlen(purpose, TOKEN_PURPOSE_MAX + 1);
	if (!purpose_valid(purpose, plen))
		return log_error("cannot make a token: bad purpose '%.40s'",
				 purpose);
	if (strnlen(subject, TOKEN_SUBJECT_MAX + 1) > TOKEN_SUBJECT_MAX)
		return log_error("cannot make a token: subject too long");
	time36(when, t);
	if (mac_hex(secret, purpose, plen, subject, t, strlen(t), hex) < 0)
		return log_error("cannot make a token: HMAC failed");
	memcpy(out, purpose, plen);
	out[plen] = '.';
	memcpy(out + plen + 1, t, strlen(t));
	out[plen + 1 + strlen(t)] = '.';
	memcpy(out + plen + 2 + strlen(t), hex, TOKEN_MAC_HEX + 1);
	return 0;
}

/* The parts of a well-formed token, lowercased into tok[]. */
struct parsed {
	char tok[TOKEN_MAX];
	size_t plen;		/* purpose: tok[0, plen) */
	const char *time;	/* inside tok */
	size_t tlen;
	const char *mac;	/* TOKEN_MAC_HEX digits inside tok */
	int64_t when;
};

static int
parse(const char *token, struct parsed *p)
{
	size_t n, i;
	char *dot1, *dot2;
	uint64_t v = 0;

	if (!token)
		return -1;
	n = strnlen(token, TOKEN_MAX);
	if (n >= TOKEN_MAX)
		return -1;
	for (i = 0; i < n; i++)
		p->tok[i] = (char)tolower((unsigned char)token[i]);
	p->tok[n] = '\0';
	dot1 = strchr(p->tok, '.');
	if (!dot1)
		return -1;
	dot2 = strchr(dot1 + 1, '.');
	if (!dot2 || strchr(dot2 + 1, '.'))
		return -1;
	p->plen = (size_t)(dot1 - p->tok);
	if (!purpose_valid(p->tok, p->plen))
		return -1;
	p->time = dot1 + 1;
	p->tlen = (size_t)(dot2 - p->time);
	if (p->tlen == 0 || p->tlen > TOKEN_TIME_MAX)
		return -1;
	for (i = 0; i < p->tlen; i++) {
		int c = (unsigned char)p->time[i], d;

		if (isdigit(c))
			d = c - '0';
		else if (c >= 'a' && c <= 'z')
			d = c - 'a' + 10;
		else
			return -1;
		if (v > ((uint64_t)INT64_MAX - (uint64_t)d) / 36)
			return -1;
		v = v * 36 + (uint64_t)d;
	}
	p->when = (int64_t)v;
	p->mac = dot2 + 1;
	if (strlen(p->mac) != TOKEN_MAC_HEX)
		return -1;
	for (i = 0; i < TOKEN_MAC_HEX; i++)
		if (!isxdigit((unsigned char)p->mac[i]))
			return -1;
	return 0;
}

int
token_check(const char *secret, const char *purpose, const char *subject,
	    const char *token, int64_t now, int64_t max_age)
{
	char hex[TOKEN_MAC_HEX + 1];
	struct parsed p;
	size_t plen;
	int same;

	if (!secret || !*secret || !purpose || !subject)
		return TOKEN_BAD;
	if (parse(token, &p) < 0)
		return TOKEN_BAD;
	plen = strnlen(purpose, TOKEN_PURPOSE_MAX + 1);
	if (plen != p.plen || strncasecmp(purpose, p.tok, plen) != 0)
		return TOKEN_BAD;
	if (strnlen(subject, TOKEN_SUBJECT_MAX + 1) > TOKEN_SUBJECT_MAX)
		return TOKEN_BAD;
	if (mac_hex(secret, p.tok, p.plen, subject, p.time, p.tlen, hex) < 0) {
		log_error("cannot check a token: HMAC failed");
		return TOKEN_BAD;
	}
	same = CRYPTO_memcmp(hex, p.mac, TOKEN_MAC_HEX) == 0;
	OPENSSL_cleanse(hex, sizeof(hex));
	OPENSSL_cleanse(p.tok, sizeof(p.tok));
	if (!same)
		return TOKEN_BAD;
	if (max_age < 0)
		max_age = 0;
	/* unsigned differences: now is the caller's, any int64_t */
	if (p.when > now && (uint64_t)p.when - (uint64_t)now > TOKEN_SKEW)
		return TOKEN_EXPIRED;
	if (now > p.when &&
	    (uint64_t)now - (uint64_t)p.when > (uint64_t)max_age)
		return TOKEN_EXPIRED;
	return TOKEN_VALID;
}

int
token_purpose(const char *token, char *out, size_t outsz)
{
	struct parsed p;

	if (!out || outsz < TOKEN_PURPOSE_MAX + 1 || parse(token, &p) < 0)
		return -1;
	memcpy(out, p.tok, p.plen);
	out[p.plen] = '\0';
	return 0;
}
