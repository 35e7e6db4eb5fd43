/*
 * tlsverify.c - OpenSSL verification of the chain libetpan hands over.
 *
 * libetpan only gives us DER blobs (leaf first).  We rebuild X509
 * objects, put all but the leaf in the untrusted set, and let
 * X509_verify_cert() check the chain, the validity dates and the host
 * name (X509_VERIFY_PARAM_set1_host / set1_ip_asc) in one go.
 */
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>

#include "log.h"
#include "tlsverify.h"

static int
is_ip_literal(const char *host)
{
	unsigned char a[16];

	return inet_pton(AF_INET, host, a) == 1 ||
	       inet_pton(AF_INET6, host, a) == 1;
}

static X509 *
der_to_x509(const unsigned char *der, size_t len)
{
	const unsigned char *p = der;

	if (len > 1024 * 1024)
		return NULL;
	return d2i_X509(NULL, &p, (long)len);
}

/* The peer chain: the leaf in *leaf, the others in *rest. */
static int
load_chain(mailstream *s, X509 **leaf, STACK_OF(X509) **rest)
{
	carray *chain = mailstream_get_certificate_chain(s);

	*leaf = NULL;
	*rest = sk_X509_new_null();
	if (!*rest)
		return -1;
	if (chain) {
		for (unsigned i = 0; i < carray_count(chain); i++) {
			MMAPString *d = carray_get(chain, i);
			X509 *x = der_to_x509((unsigned char *)d->str, d->len);

			if (!x)
				continue;
			if (!*leaf)
				*leaf = x;
			else if (!sk_X509_push(*rest, x))
				X509_free(x);
		}
		mailstream_certificate_chain_free(chain);
	}
	if (!*leaf) {
		unsigned char *der = NULL;
		ssize_t n = mailstream_ssl_get_certificate(s, &der);

		if (n > 0 && der)
			*leaf = der_to_x509(der, (size_t)n);
		free(der);
	}
	return *leaf ? 0 : -1;
}

int
tlsverify_stream(mailstream *s, const char *host, const char *ca_file)
{
	X509 *leaf = NULL;
	STACK_OF(X509) *rest = NULL;
	X509_STORE *st = NULL;
	X509_STORE_CTX *ctx = NULL;
	X509_VERIFY_PARAM *param;
	int r = -1;

	if (load_chain(s, &leaf, &rest) < 0) {
		log_error("TLS: %s presented no certificate", host);
		goto out;
	}
	st = X509_STORE_new();
	ctx = X509_STORE_CTX_new();
	if (!st || !ctx) {
		log_error("TLS: out of memory");
		goto out;
	}
	if (ca_file && *ca_file) {
		if (X509_STORE_load_locations(st, ca_file, NULL) != 1) {
			log_error("TLS: cannot load CA file '%s'", ca_file);
			goto out;
		}
	} else if (X509_STORE_set_default_paths(st) != 1) {
		log_error("TLS: cannot load the system trust store");
		goto out;
	}
	if (X509_STORE_CTX_init(ctx, st, leaf, rest) != 1) {
		log_error("TLS: cannot set up verification");
		goto out;
	}
	param = X509_STORE_CTX_get0_param(ctx);
	if (is_ip_literal(host) ? X509_VERIFY_PARAM_set1_ip_asc(param, host) != 1 :
	    X509_VERIFY_PARAM_set1_host(param, host, 0) != 1) {
		log_error("TLS: cannot check against host '%s'", host);
		goto out;
	}
	if (X509_verify_cert(ctx) != 1) {
		int e = X509_STORE_CTX_get_error(ctx);

		log_error("TLS: certificate of %s refused: %s%s", host,
			  X509_verify_cert_error_string(e),
			  ca_file && *ca_file ? "" :
			  " (set imap_ca_file for a private CA)");
		goto out;
	}
	r = 0;
out:
	X509_STORE_CTX_free(ctx);
	X509_STORE_free(st);
	X509_free(leaf);
	sk_X509_pop_free(rest, X509_free);
	ERR_clear_error();
	return r;
}
