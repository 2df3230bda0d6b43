/*
 * http.c - requests to the API server with one reused libcurl handle.
 */
#include "config.h"

#include <ctype.h>
#include <curl/curl.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "http.h"

#define CONNECT_TIMEOUT_S 15L

_Static_assert(sizeof(((struct http *)0)->errbuf) >= CURL_ERROR_SIZE,
    "struct http's errbuf is smaller than libcurl's CURL_ERROR_SIZE");

void
http_resp_init(struct http_resp *r)
{
	memset(r, 0, sizeof(*r));
	buf_init(&r->body);
	r->retry_after = -1;
}

void
http_resp_free(struct http_resp *r)
{
	buf_free(&r->body);
	http_resp_init(r);
}

static size_t
on_body(char *data, size_t size, size_t n, void *arg)
{
	struct http_resp *r = arg;

	buf_add(&r->body, data, size * n);
	return size * n;
}

/* Copies a header's value (trimmed) into dst when `line` is that header. */
static void
header_value(const char *line, size_t len, const char *name, char *dst,
    size_t dstlen)
{
	size_t nl = strlen(name), i, j;

	if (len <= nl || strncasecmp(line, name, nl) != 0 || line[nl] != ':')
		return;
	for (i = nl + 1; i < len && (line[i] == ' ' || line[i] == '\t'); i++)
		;
	for (j = len; j > i && isspace((unsigned char)line[j - 1]); j--)
		;
	if (j - i >= dstlen)
		j = i + dstlen - 1;
	memcpy(dst, line + i, j - i);
	dst[j - i] = '\0';
}

static size_t
on_header(char *data, size_t size, size_t n, void *arg)
{
	struct http_resp *r = arg;
	size_t len = size * n;
	char ra[32] = "";

	/* A new status line (an interim 100 Continue came first): forget
	 * what the interim answer said. */
	if (len >= 5 && strncmp(data, "HTTP/", 5) == 0) {
		r->content_type[0] = r->request_id[0] = r->location[0] = '\0';
		r->retry_after = -1;
		return len;
	}
	header_value(data, len, "Content-Type", r->content_type,
	    sizeof(r->content_type));
	header_value(data, len, "X-Request-Id", r->request_id,
	    sizeof(r->request_id));
	header_value(data, len, "Location", r->location, sizeof(r->location));
	header_value(data, len, "Retry-After", ra, sizeof(ra));
	if (ra[0] != '\0') {
		char *end;
		long v = strtol(ra, &end, 10);
		if (*end == '\0' && v >= 0)
			r->retry_after = v;
	}
	return len;
}

int
http_init(struct http *h, const struct settings *set)
{
	memset(h, 0, sizeof(*h));
	h->set = set;
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		return -1;
	h->curl = curl_easy_init();
	return h->curl ? 0 : -1;
}

void
http_free(struct http *h)
{
	if (h->curl != NULL) {
		curl_easy_cleanup(h->curl);
		curl_global_cleanup();
	}
	h->curl = NULL;
}

/* The options every request carries: where, how to check TLS, limits. */
static void
set_common(struct http *h, long timeout_s)
{
	CURL *c = h->curl;
	const struct settings *s = h->set;

	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, h->errbuf);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, CONNECT_TIMEOUT_S);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, timeout_s);
	curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
#if LIBCURL_VERSION_NUM >= 0x075500
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
#else
	curl_easy_setopt(c, CURLOPT_PROTOCOLS,
	    (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
	curl_easy_setopt(c, CURLOPT_USERAGENT, "scriptorch/" PACKAGE_VERSION);
	curl_easy_setopt(c, CURLOPT_ACCEPT_ENCODING, "");
	if (s->cacert != NULL)
		curl_easy_setopt(c, CURLOPT_CAINFO, s->cacert);
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, s->insecure ? 0L : 1L);
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, s->insecure ? 0L : 2L);
}

int
http_do(struct http *h, const char *method, const char *path,
    const char *body, size_t body_len, long timeout_s, struct http_resp *r,
    struct buf *err)
{
	CURL *c = h->curl;
	struct curl_slist *hdrs = NULL, *t;
	struct buf url = BUF_INIT, auth = BUF_INIT;
	CURLcode cc;
	int rc = -1;

	http_resp_init(r);
	buf_printf(&url, "%s%s", h->set->url, path);
	curl_easy_reset(c);
	set_common(h, timeout_s);
	h->errbuf[0] = '\0';
	curl_easy_setopt(c, CURLOPT_URL, url.data);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, r);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, r);

	if ((t = curl_slist_append(hdrs, "Accept: application/json")) == NULL)
		goto oom;
	hdrs = t;
	if (h->set->token != NULL) {
		buf_printf(&auth, "Authorization: Bearer %s", h->set->token);
		if ((t = curl_slist_append(hdrs, auth.data)) == NULL)
			goto oom;
		hdrs = t;
	}
	if (strcmp(method, "GET") == 0) {
		curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
	} else if (strcmp(method, "POST") == 0) {
		if ((t = curl_slist_append(hdrs, "Content-Type: "
		    "application/json; charset=utf-8")) == NULL)
			goto oom;
		hdrs = t;
		/* No "Expect: 100-continue": bodies are small, and a wait
		 * would only add a round trip. */
		if ((t = curl_slist_append(hdrs, "Expect:")) == NULL)
			goto oom;
		hdrs = t;
		curl_easy_setopt(c, CURLOPT_POST, 1L);
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, body ? body : "");
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE,
		    (curl_off_t)(body ? body_len : 0));
	} else {
		curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	}
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);

	cc = curl_easy_perform(c);
	if (cc != CURLE_OK) {
		h->tls_failed = cc == CURLE_PEER_FAILED_VERIFICATION ||
		    cc == CURLE_SSL_CACERT_BADFILE;
		buf_printf(err, "%s: %s", h->set->url,
		    h->errbuf[0] ? h->errbuf : curl_easy_strerror(cc));
		/* libcurl's buffer may end with a newline. */
		while (err->len > 0 && err->data[err->len - 1] == '\n')
			err->data[--err->len] = '\0';
		buf_reset(&r->body);
		goto out;
	}
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status);
	rc = 0;
	goto out;
oom:
	buf_printf(err, "out of memory");
out:
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, NULL);
	curl_slist_free_all(hdrs);
	buf_free(&auth);
	buf_free(&url);
	return rc;
}
