/*
 * request.c - reading a FastCGI request and writing its response.
 */
#include "config.h"

#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "clock.h"
#include "conf.h"
#include "json.h"
#include "log.h"
#include "request.h"

const char *
http_reason(int status)
{
	switch (status) {
	case 200: return "OK";
	case 201: return "Created";
	case 202: return "Accepted";
	case 204: return "No Content";
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 409: return "Conflict";
	case 413: return "Payload Too Large";
	case 422: return "Unprocessable Entity";
	case 429: return "Too Many Requests";
	case 500: return "Internal Server Error";
	case 503: return "Service Unavailable";
	default: return "Unknown";
	}
}

static int
hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int
url_decode(const char *s, size_t n, int form, struct buf *out)
{
	size_t start = out->len;

	for (size_t i = 0; i < n; i++) {
		if (s[i] == '%') {
			int hi, lo;
			if (i + 2 >= n)
				return -1;
			hi = hexval((unsigned char)s[i + 1]);
			lo = hexval((unsigned char)s[i + 2]);
			if (hi < 0 || lo < 0)
				return -1;
			buf_addc(out, (char)(hi * 16 + lo));
			i += 2;
		} else if (form && s[i] == '+') {
			buf_addc(out, ' ');
		} else {
			buf_addc(out, s[i]);
		}
	}
	if (out->data == NULL)
		buf_adds(out, "");
	/* What a handler gets is text for SQL, logs and JSON: a NUL would cut
	 * it short and invalid UTF-8 is refused by the database (it answered
	 * 500). */
	if (memchr(out->data + start, '\0', out->len - start) != NULL ||
	    !utf8_valid(out->data + start, out->len - start))
		return -1;
	return 0;
}

/*
 * Every query parameter must decode to text; a filter that cannot be read
 * is refused rather than ignored. 0, or -1 with the offending name (cut,
 * decoded as far as it goes) in `bad`.
 */
static int
query_valid(const char *q, struct buf *bad)
{
	struct buf tmp = BUF_INIT;
	int rc = 0;

	while (*q != '\0' && rc == 0) {
		const char *amp = strchr(q, '&');
		size_t seg = amp ? (size_t)(amp - q) : strlen(q);
		const char *eq = memchr(q, '=', seg);
		size_t klen = eq ? (size_t)(eq - q) : seg;

		buf_reset(&tmp);
		if (url_decode(q, klen, 1, &tmp) == -1 || (eq != NULL &&
		    url_decode(eq + 1, seg - klen - 1, 1, &tmp) == -1)) {
			buf_reset(bad);
			utf8_sanitize(bad, q, klen > 64 ? 64 : klen);
			rc = -1;
		}
		q += seg;
		if (*q == '&')
			q++;
	}
	buf_free(&tmp);
	return rc;
}

const char *
req_param(const struct request *r, const char *name)
{
	return FCGX_GetParam(name, r->fcgi->envp);
}

int
req_secure(const struct request *r)
{
	const char *https = req_param(r, "HTTPS");
	const char *scheme = req_param(r, "REQUEST_SCHEME");

	if (https != NULL && strcasecmp(https, "on") == 0)
		return 1;
	return scheme != NULL && strcasecmp(scheme, "https") == 0;
}

const char *
req_query(const struct request *r, const char *name, struct buf *out)
{
	size_t nlen = strlen(name);
	const char *p = r->query;

	while (*p != '\0') {
		const char *amp = strchr(p, '&');
		size_t seg = amp ? (size_t)(amp - p) : strlen(p);
		const char *eq = memchr(p, '=', seg);
		size_t klen = eq ? (size_t)(eq - p) : seg;

		if (klen == nlen && memcmp(p, name, nlen) == 0) {
			buf_reset(out);
			if (eq == NULL)
				buf_adds(out, "");
			else if (url_decode(eq + 1, seg - klen - 1, 1, out) == -1)
				return NULL;
			return buf_str(out);
		}
		p += seg;
		if (*p == '&')
			p++;
	}
	return NULL;
}

void
req_add_header(struct request *r, const char *name, const char *value)
{
	buf_printf(&r->extra_headers, "%s: %s\r\n", name, value);
}

static void
make_id(char *out, size_t outlen, const char *from_nginx)
{
	unsigned char rnd[12];

	if (from_nginx != NULL && *from_nginx != '\0' &&
	    strlen(from_nginx) < outlen &&
	    strspn(from_nginx, "0123456789abcdefABCDEF-") == strlen(from_nginx)) {
		snprintf(out, outlen, "%s", from_nginx);
		return;
	}
	randombytes_buf(rnd, sizeof(rnd));
	sodium_bin2hex(out, outlen, rnd, sizeof(rnd));
}

int
request_init(struct request *r, FCGX_Request *fcgi, struct worker_ctx *ctx)
{
	const char *uri, *cl, *q;
	struct buf path = BUF_INIT;
	long long want;
	char *end;

	memset(r, 0, sizeof(*r));
	r->fcgi = fcgi;
	r->ctx = ctx;
	r->route = -1;
	r->t0 = clock_mono_ms();
	make_id(r->id, sizeof(r->id), req_param(r, "SCRIPTORCH_REQUEST_ID"));
	log_set_id(r->id);
	r->method = req_param(r, "REQUEST_METHOD");
	if (r->method == NULL)
		r->method = "GET";
	/* REQUEST_URI holds path and query as the client sent them. */
	uri = req_param(r, "REQUEST_URI");
	if (uri == NULL)
		uri = req_param(r, "SCRIPT_NAME");
	if (uri == NULL)
		uri = "/";
	q = strchr(uri, '?');
	r->query = q ? q + 1 : "";
	if (url_decode(uri, q ? (size_t)(q - uri) : strlen(uri), 0, &path) == -1) {
		buf_free(&path);
		r->path = strdup("/");
		resp_error(r, 404, "not_found", NULL,
		    "the path is not percent-encoded UTF-8 text");
		return -1;
	}
	r->path = buf_detach(&path, NULL);
	if (query_valid(r->query, &path) == -1) {
		resp_error(r, 422, "validation_failed", buf_str(&path),
		    "the query parameter \"%s\" is not percent-encoded UTF-8 "
		    "text", buf_str(&path));
		buf_free(&path);
		return -1;
	}
	buf_free(&path);

	cl = req_param(r, "CONTENT_LENGTH");
	want = 0;
	if (cl != NULL && *cl != '\0') {
		want = strtoll(cl, &end, 10);
		if (*end != '\0' || want < 0) {
			resp_error(r, 400, "bad_json", NULL,
			    "Content-Length is not a number");
			return -1;
		}
	}
	if (want > ctx->conf->max_body_bytes) {
		resp_error(r, 413, "too_large", NULL,
		    "the request body is %lld bytes, over the limit of %lld",
		    want, ctx->conf->max_body_bytes);
		return -1;
	}
	if (want > 0) {
		buf_grow(&r->body, (size_t)want);
		int got = FCGX_GetStr(r->body.data, (int)want, fcgi->in);
		r->body.len = got > 0 ? (size_t)got : 0;
		r->body.data[r->body.len] = '\0';
	}
	return 0;
}

void
request_cleanup(struct request *r)
{
	free(r->path);
	for (int i = 0; i < r->nparams; i++)
		free(r->params[i]);
	buf_free(&r->body);
	buf_free(&r->extra_headers);
	log_set_id(NULL);
	memset(r, 0, sizeof(*r));
}

void
resp_raw(struct request *r, int status, const char *content_type,
    const char *body, size_t len)
{
	FCGX_Stream *out = r->fcgi->out;

	if (r->responded) {
		log_warnx("second response to one request ignored (status %d)",
		    status);
		return;
	}
	r->responded = 1;
	r->status = status;
	/* Headers are formatted here: libfcgi's own printf lacks %zu. */
	struct buf h = BUF_INIT;
	buf_printf(&h, "Status: %d %s\r\nX-Request-Id: %s\r\n"
	    "Cache-Control: no-store\r\n", status, http_reason(status), r->id);
	if (r->extra_headers.len > 0)
		buf_add(&h, r->extra_headers.data, r->extra_headers.len);
	if (content_type != NULL)
		buf_printf(&h, "Content-Type: %s\r\n", content_type);
	buf_printf(&h, "Content-Length: %zu\r\n\r\n", body ? len : 0);
	FCGX_PutStr(h.data, (int)h.len, out);
	buf_free(&h);
	/* FCGX_PutStr takes an int: write large bodies in slices. */
	while (body != NULL && len > 0) {
		size_t n = len > (1u << 30) ? (1u << 30) : len;
		if (FCGX_PutStr(body, (int)n, out) < 0)
			break;
		body += n;
		len -= n;
	}
}

void
resp_json(struct request *r, int status, const struct buf *body)
{
	resp_raw(r, status, "application/json; charset=utf-8",
	    buf_str(body), body->len);
}

void
resp_empty(struct request *r)
{
	resp_raw(r, 204, NULL, NULL, 0);
}

void
resp_error(struct request *r, int status, const char *code,
    const char *field, const char *fmt, ...)
{
	struct buf msg = BUF_INIT, body = BUF_INIT;
	struct jw w;
	va_list ap;

	va_start(ap, fmt);
	buf_vprintf(&msg, fmt, ap);
	va_end(ap);
	jw_init(&w, &body);
	jw_obj(&w);
	jw_key(&w, "error");
	jw_obj(&w);
	jw_key(&w, "code");
	jw_str(&w, code);
	jw_key(&w, "message");
	jw_strn(&w, buf_str(&msg), msg.len);
	if (field != NULL && *field != '\0') {
		jw_key(&w, "field");
		jw_str(&w, field);
	}
	jw_obj_end(&w);
	jw_obj_end(&w);
	jw_free(&w);
	if (status >= 500)
		log_warnx("%d %s: %s", status, code, buf_str(&msg));
	resp_json(r, status, &body);
	buf_free(&msg);
	buf_free(&body);
}
