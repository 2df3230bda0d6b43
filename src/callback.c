/*
 * callback.c - a callback's URL, allowed hosts, signature, backoff and
 * body tail (callback.h). Pure: no database, no network.
 */
#include "config.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <curl/curl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "buf.h"
#include "callback.h"

/* An allow-list entry, as parsed: the host in lower case without a
 * trailing dot (an IPv6 address keeps its brackets), port 0 for any. */
struct allow_entry {
	char host[260];
	long port;
	int wildcard;           /* host is the domain after "*." */
};

/* The next entry of `*p` (separated by commas or blanks) into e; 1 when
 * one was found (*valid says whether it parses), 0 at the end. */
static int
next_entry(const char **p, struct allow_entry *e, int *valid, char *text,
    size_t textlen)
{
	const char *s = *p, *end;
	size_t n, hl;
	const char *colon = NULL;

	while (*s == ',' || *s == ' ' || *s == '\t' || *s == '\n')
		s++;
	if (*s == '\0') {
		*p = s;
		return 0;
	}
	end = s;
	while (*end != '\0' && *end != ',' && *end != ' ' && *end != '\t' &&
	    *end != '\n')
		end++;
	*p = end;
	n = (size_t)(end - s);
	snprintf(text, textlen, "%.*s", (int)(n < 300 ? n : 300), s);
	memset(e, 0, sizeof(*e));
	*valid = 0;
	if (n >= sizeof(e->host))
		return 1;
	if (s[0] == '[') {
		const char *rb = memchr(s, ']', n);
		if (rb == NULL || rb == s + 1)
			return 1;
		hl = (size_t)(rb - s) + 1;
		if (rb + 1 < end) {
			if (rb[1] != ':')
				return 1;
			colon = rb + 1;
		}
	} else {
		colon = memchr(s, ':', n);
		hl = colon ? (size_t)(colon - s) : n;
		if (colon && memchr(colon + 1, ':', (size_t)(end - colon - 1)))
			return 1;       /* IPv6 without brackets */
	}
	if (colon != NULL) {
		char digits[8];
		size_t dl = (size_t)(end - colon - 1);
		char *stop;
		if (dl == 0 || dl > 5)
			return 1;
		memcpy(digits, colon + 1, dl);
		digits[dl] = '\0';
		if (strspn(digits, "0123456789") != dl)
			return 1;
		e->port = strtol(digits, &stop, 10);
		if (e->port < 1 || e->port > 65535)
			return 1;
	}
	if (hl >= 2 && s[0] == '*' && s[1] == '.') {
		e->wildcard = 1;
		s += 2;
		hl -= 2;
	}
	if (hl == 0)
		return 1;
	for (size_t i = 0; i < hl; i++)
		e->host[i] = (char)tolower((unsigned char)s[i]);
	e->host[hl] = '\0';
	if (e->host[0] == '[') {
		char addr[INET6_ADDRSTRLEN + 8];
		unsigned char bin[16];
		if (e->wildcard || hl - 2 >= sizeof(addr))
			return 1;
		memcpy(addr, e->host + 1, hl - 2);
		addr[hl - 2] = '\0';
		if (inet_pton(AF_INET6, addr, bin) != 1)
			return 1;
	} else {
		if (hl > 1 && e->host[hl - 1] == '.')
			e->host[--hl] = '\0';
		if (hl == 0 || e->host[0] == '.' ||
		    strspn(e->host, "abcdefghijklmnopqrstuvwxyz0123456789.-_")
		    != hl || strstr(e->host, "..") != NULL)
			return 1;
	}
	*valid = 1;
	return 1;
}

int
callback_allow_check(const char *list, char *err, size_t errlen)
{
	const char *p = list != NULL ? list : "";
	struct allow_entry e;
	char text[304];
	int valid;

	while (next_entry(&p, &e, &valid, text, sizeof(text)))
		if (!valid) {
			snprintf(err, errlen, "callback_allow_hosts: \"%s\" is not "
			    "a host name, *.domain, IPv4 address or [IPv6] "
			    "address, with an optional :port", text);
			return -1;
		}
	return 0;
}

/* The same address written two ways ("127.0.0.1", "[::1]" and their
 * other spellings) compares equal; names compare as text. */
static int
same_host(const char *a, const char *b)
{
	unsigned char ba[16], bb[16];
	char xa[INET6_ADDRSTRLEN + 8], xb[INET6_ADDRSTRLEN + 8];
	size_t la = strlen(a), lb = strlen(b);

	if (inet_pton(AF_INET, a, ba) == 1 && inet_pton(AF_INET, b, bb) == 1)
		return memcmp(ba, bb, 4) == 0;
	if (a[0] == '[' && b[0] == '[' && la > 2 && lb > 2 &&
	    la < sizeof(xa) && lb < sizeof(xb)) {
		memcpy(xa, a + 1, la - 2);
		xa[la - 2] = '\0';
		memcpy(xb, b + 1, lb - 2);
		xb[lb - 2] = '\0';
		if (inet_pton(AF_INET6, xa, ba) == 1 &&
		    inet_pton(AF_INET6, xb, bb) == 1)
			return memcmp(ba, bb, 16) == 0;
	}
	return strcasecmp(a, b) == 0;
}

int
callback_host_allowed(const char *list, const char *host, long port)
{
	const char *p = list != NULL ? list : "";
	struct allow_entry e;
	char h[260], text[304];
	size_t hl = strlen(host);
	int valid, any = 0;

	if (hl == 0 || hl >= sizeof(h))
		return 0;
	memcpy(h, host, hl + 1);
	if (hl > 1 && h[hl - 1] == '.')
		h[--hl] = '\0';
	while (next_entry(&p, &e, &valid, text, sizeof(text))) {
		any = 1;
		if (!valid || (e.port != 0 && e.port != port))
			continue;
		if (e.wildcard) {
			size_t dl = strlen(e.host);
			if (hl > dl + 1 && h[hl - dl - 1] == '.' &&
			    strcasecmp(h + hl - dl, e.host) == 0)
				return 1;
		} else if (same_host(h, e.host)) {
			return 1;
		}
	}
	return !any;
}

/* libcurl's text for a URL API error. */
static const char *
url_error(CURLUcode rc)
{
#if LIBCURL_VERSION_NUM >= 0x075000
	return curl_url_strerror(rc);
#else
	(void)rc;
	return "it does not parse";
#endif
}

int
callback_url_check(const char *url, const char *allow, struct buf *out,
    char *err, size_t errlen)
{
	CURLU *h = NULL;
	CURLUcode rc;
	char *scheme = NULL, *user = NULL, *pass = NULL, *host = NULL;
	char *port = NULL, *full = NULL;
	size_t len = strlen(url);
	int ret = -1;

	if (len == 0) {
		snprintf(err, errlen, "callback_url must not be empty");
		return -1;
	}
	if (len > CALLBACK_URL_MAX) {
		snprintf(err, errlen, "callback_url is longer than %d bytes",
		    CALLBACK_URL_MAX);
		return -1;
	}
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)url[i] <= 0x20 ||
		    (unsigned char)url[i] >= 0x7f) {
			snprintf(err, errlen, "callback_url must be printable "
			    "ASCII without blanks (percent-encode other "
			    "characters, write a host name in its xn-- form)");
			return -1;
		}
	if ((h = curl_url()) == NULL) {
		snprintf(err, errlen, "callback_url cannot be checked: out of "
		    "memory");
		return -1;
	}
	if ((rc = curl_url_set(h, CURLUPART_URL, url, 0)) != CURLUE_OK) {
		snprintf(err, errlen, "callback_url is not an absolute http:// "
		    "or https:// URL: %s", url_error(rc));
		goto out;
	}
	if (curl_url_get(h, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
	    (strcasecmp(scheme, "http") != 0 &&
	    strcasecmp(scheme, "https") != 0)) {
		snprintf(err, errlen, "callback_url must be an http:// or "
		    "https:// URL");
		goto out;
	}
	if (curl_url_get(h, CURLUPART_USER, &user, 0) == CURLUE_OK ||
	    curl_url_get(h, CURLUPART_PASSWORD, &pass, 0) == CURLUE_OK) {
		snprintf(err, errlen, "callback_url must not carry a user name "
		    "or password (anyone who may read the execution would see "
		    "them); the signature authenticates the sender");
		goto out;
	}
	if (curl_url_get(h, CURLUPART_HOST, &host, 0) != CURLUE_OK ||
	    host[0] == '\0') {
		snprintf(err, errlen, "callback_url has no host");
		goto out;
	}
	if (curl_url_get(h, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) !=
	    CURLUE_OK) {
		snprintf(err, errlen, "callback_url has no port");
		goto out;
	}
	if (!callback_host_allowed(allow, host, strtol(port, NULL, 10))) {
		snprintf(err, errlen, "callback_url's host %.260s (port %s) is "
		    "not one that callback_allow_hosts allows", host, port);
		goto out;
	}
	if (curl_url_get(h, CURLUPART_URL, &full, 0) != CURLUE_OK) {
		snprintf(err, errlen, "callback_url cannot be put together "
		    "again");
		goto out;
	}
	if (strlen(full) > CALLBACK_URL_MAX) {
		snprintf(err, errlen, "callback_url is longer than %d bytes",
		    CALLBACK_URL_MAX);
		goto out;
	}
	if (out != NULL)
		buf_adds(out, full);
	ret = 0;
out:
	curl_free(scheme);
	curl_free(user);
	curl_free(pass);
	curl_free(host);
	curl_free(port);
	curl_free(full);
	curl_url_cleanup(h);
	return ret;
}

void
callback_sign(const unsigned char *key, size_t keylen, long long ts,
    const char *body, size_t len, char sig[CALLBACK_SIG_LEN])
{
	crypto_auth_hmacsha256_state st;
	unsigned char mac[crypto_auth_hmacsha256_BYTES];
	char stamp[24];
	int n = snprintf(stamp, sizeof(stamp), "%lld.", ts);

	crypto_auth_hmacsha256_init(&st, key, keylen);
	crypto_auth_hmacsha256_update(&st, (const unsigned char *)stamp,
	    (unsigned long long)n);
	crypto_auth_hmacsha256_update(&st, (const unsigned char *)body, len);
	crypto_auth_hmacsha256_final(&st, mac);
	memcpy(sig, "sha256=", 7);
	sodium_bin2hex(sig + 7, CALLBACK_SIG_LEN - 7, mac, sizeof(mac));
	sodium_memzero(&st, sizeof(st));
}

long long
callback_backoff_ms(unsigned attempts)
{
	long long d = 1000;

	for (unsigned i = 1; i < attempts && d < CALLBACK_BACKOFF_MAX_MS; i++)
		d *= 2;
	return d < CALLBACK_BACKOFF_MAX_MS ? d : CALLBACK_BACKOFF_MAX_MS;
}

int
callback_give_up(double age_ms, long long delay_ms, long long max_age_s)
{
	return age_ms + (double)delay_ms > (double)max_age_s * 1000.0;
}

size_t
callback_tail_start(const char *data, size_t len, size_t max)
{
	size_t start;

	if (len <= max)
		return 0;
	start = len - max;
	for (int k = 0; k < 3 && start < len &&
	    ((unsigned char)data[start] & 0xC0) == 0x80; k++)
		start++;
	return start;
}
