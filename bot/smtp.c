/*
 * smtp.c - one SMTP transaction on libcurl.
 *
 * Each send is a fresh easy handle: the bot sends a handful of mails a
 * week, so connection reuse buys nothing and a fresh handle never
 * carries state from a failed attempt.  The outcome is sorted into
 * temporary (the outbox retries with backoff) and permanent (the outbox
 * keeps the mail for the operator), from the last SMTP reply code
 * libcurl saw.
 */
#include <string.h>

#include <curl/curl.h>

#include "log.h"
#include "smtp.h"

struct reader {
	const char *data;
	size_t len, off;
};

static size_t
read_cb(char *dst, size_t size, size_t nmemb, void *ctx)
{
	struct reader *r = ctx;
	size_t room = size * nmemb, n = r->len - r->off;

	if (n > room)
		n = room;
	memcpy(dst, r->data + r->off, n);
	r->off += n;
	return n;
}

static int
classify(CURLcode rc, long code)
{
	if (code >= 500 && code < 600)
		return SMTP_PERMANENT;
	if (code >= 400 && code < 500)
		return SMTP_TEMPORARY;
	switch (rc) {
	case CURLE_LOGIN_DENIED:
	case CURLE_UNSUPPORTED_PROTOCOL:
	case CURLE_URL_MALFORMAT:
		return SMTP_PERMANENT;
	default:
		return SMTP_TEMPORARY;
	}
}

/* The URL without any user:password@ part, for the log. */
static const char *
url_host(const char *url)
{
	const char *h = strstr(url, "://"), *at, *slash;

	if (!h)
		return url;
	h += 3;
	at = strchr(h, '@');
	slash = strchr(h, '/');
	return at && (!slash || at < slash) ? at + 1 : h;
}

int
smtp_send(const struct config *cfg, const char *const *rcpt, size_t n,
	  const char *mail, size_t len)
{
	const char *url = cfg->smtp_url;
	struct curl_slist *list = NULL, *l;
	struct reader rd = {mail, len, 0};
	char errbuf[CURL_ERROR_SIZE] = "";
	long code = 0;
	CURLcode rc;
	CURL *c;
	int r;

	if (!url || !*url)
		return log_error("smtp: no smtp_url configured"), SMTP_PERMANENT;
	if (strncmp(url, "smtp://", 7) && strncmp(url, "smtps://", 8))
		return log_error("smtp: smtp_url must be smtp:// or smtps://"),
		       SMTP_PERMANENT;
	if (!n)
		return log_error("smtp: no recipient"), SMTP_PERMANENT;
	c = curl_easy_init();
	if (!c)
		return log_error("smtp: cannot create a curl handle"),
		       SMTP_TEMPORARY;
	for (size_t i = 0; i < n; i++) {
		l = curl_slist_append(list, rcpt[i]);
		if (!l) {
			curl_slist_free_all(list);
			curl_easy_cleanup(c);
			return log_error("out of memory"), SMTP_TEMPORARY;
		}
		list = l;
	}
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, (long)SMTP_CONNECT_TIMEOUT);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, (long)SMTP_TOTAL_TIMEOUT);
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
	if (cfg->smtp_ca_file && *cfg->smtp_ca_file)
		curl_easy_setopt(c, CURLOPT_CAINFO, cfg->smtp_ca_file);
	/* STARTTLS is required or not used; never "try" (a downgrade) */
	if (!strncmp(url, "smtp://", 7) && cfg->smtp_starttls)
		curl_easy_setopt(c, CURLOPT_USE_SSL, (long)CURLUSESSL_ALL);
	if (cfg->smtp_user && *cfg->smtp_user) {
		curl_easy_setopt(c, CURLOPT_USERNAME, cfg->smtp_user);
		curl_easy_setopt(c, CURLOPT_PASSWORD,
				 cfg->smtp_password ? cfg->smtp_password : "");
	}
	curl_easy_setopt(c, CURLOPT_MAIL_FROM, cfg->bot_address);
	curl_easy_setopt(c, CURLOPT_MAIL_RCPT, list);
	curl_easy_setopt(c, CURLOPT_READFUNCTION, read_cb);
	curl_easy_setopt(c, CURLOPT_READDATA, &rd);
	curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
	curl_easy_setopt(c, CURLOPT_INFILESIZE_LARGE, (curl_off_t)len);

	rc = curl_easy_perform(c);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
	if (rc == CURLE_OK) {
		r = SMTP_SENT;
	} else {
		r = classify(rc, code);
		/* errbuf holds libcurl's text and, for SMTP, the reply */
		log_error("smtp: send to %zu recipient(s) via %s failed "
			  "(%s, reply %ld): %s", n, url_host(url),
			  r == SMTP_PERMANENT ? "permanent" : "temporary",
			  code, *errbuf ? errbuf : curl_easy_strerror(rc));
	}
	curl_easy_cleanup(c);
	curl_slist_free_all(list);
	return r;
}
