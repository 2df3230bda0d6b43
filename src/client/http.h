/*
 * http.h - one HTTP(S) session with the API server, on libcurl.
 *
 * A struct http wraps one libcurl easy handle, reused for every request
 * so that a client that polls keeps its connection (and its TLS session).
 * Requests go to settings->url + path with "Authorization: Bearer" when a
 * token is set. TLS certificates are checked against settings->cacert, or
 * the system's CAs, unless settings->insecure. Redirects are never
 * followed (the caller reports them), only http and https are spoken.
 *
 * Ownership: http_init() borrows the settings, which must outlive the
 * struct http; http_free() releases the handle. A struct http_resp owns
 * its body; http_resp_free() releases it.
 */
#ifndef SCRIPTORCH_CLIENT_HTTP_H
#define SCRIPTORCH_CLIENT_HTTP_H

#include <stddef.h>

#include "buf.h"
#include "settings.h"

struct http {
	void *curl;                 /* CURL *, opaque to the callers */
	const struct settings *set; /* borrowed */
	char errbuf[256];           /* libcurl's message of the last failure */
	int tls_failed;             /* it was about the server's certificate */
};

struct http_resp {
	long status;                /* the HTTP status, 0 when none came */
	struct buf body;
	char content_type[128];     /* "" when absent */
	char request_id[96];        /* X-Request-Id, "" when absent */
	char location[1024];        /* Location, "" when absent */
	long retry_after;           /* Retry-After in seconds, -1 when absent */
};

/* 0, or -1 when libcurl cannot make a handle. */
int http_init(struct http *h, const struct settings *set);
void http_free(struct http *h);

/*
 * Performs one request: `method` on set->url + `path` (path starts with
 * '/'), with `body` (body_len bytes, sent as application/json) when not
 * NULL, giving up after timeout_s seconds. Returns 0 when an answer came,
 * whatever its status (*r filled), or -1 when none did: err gets "<URL>:
 * <libcurl's reason>" (connection refused, host not found, TLS
 * verification, timeout...). *r is reset first either way; free it with
 * http_resp_free().
 */
int http_do(struct http *h, const char *method, const char *path,
    const char *body, size_t body_len, long timeout_s, struct http_resp *r,
    struct buf *err);

void http_resp_init(struct http_resp *r);
void http_resp_free(struct http_resp *r);

#endif
