/*
 * token.h - short tokens that prove a mail answers the bot's own mail.
 *
 * From can be forged; a token cannot without the secret.  A token is
 * "PURPOSE.TIME.MAC": PURPOSE names what it allows ("sub-en", "sub-zh",
 * "unsub", "mod-17"), TIME is the issue time in lowercase base 36, MAC
 * is the first 24 lowercase hex digits (96 bits) of
 * HMAC-SHA256(secret, PURPOSE "\n" SUBJECT "\n" TIME) with OpenSSL's
 * HMAC.  SUBJECT binds the token to whom or what it was made for (the
 * lowercased address of a subscriber, a moderation item's creation
 * time); it is not in the token.  So subscription needs no pending
 * record in the state: the confirmation mail carries all of it.
 */
#ifndef KVMARM_TOKEN_H
#define KVMARM_TOKEN_H

#include <stddef.h>
#include <stdint.h>

#define TOKEN_MAX 96		/* buffer size that fits every token */
#define TOKEN_PURPOSE_MAX 31

/*
 * Write the token for (purpose, subject, when) into out (outsz >=
 * TOKEN_MAX).  purpose is 1..TOKEN_PURPOSE_MAX bytes of [a-z0-9-].
 * Returns 0, or -1 (logged) when secret is empty or an argument is bad.
 */
int token_make(const char *secret, const char *purpose, const char *subject,
	       int64_t when, char *out, size_t outsz);

enum token_result {
	TOKEN_VALID = 0,
	TOKEN_EXPIRED = 1,	/* genuine, but older than max_age or from
				 * more than 5 minutes in the future */
	TOKEN_BAD = 2,		/* malformed, other purpose, wrong MAC */
};

/*
 * Check token against (purpose, subject) at time now.  Case-insensitive
 * (mail clients and people retype); the MAC is compared in constant
 * time (CRYPTO_memcmp).  Never logs the token or the secret.
 * Returns an enum token_result; TOKEN_BAD when secret is empty.
 */
int token_check(const char *secret, const char *purpose, const char *subject,
		const char *token, int64_t now, int64_t max_age);

/*
 * The PURPOSE part of a well-formed token, copied into out (outsz >=
 * TOKEN_PURPOSE_MAX + 1): 0, or -1 when token is not of the form.
 * Used by `confirm TOKEN` to learn what is being confirmed.
 */
int token_purpose(const char *token, char *out, size_t outsz);

#endif
