/*
 * client.c - what the client's commands share: calling the API and
 * saying, once, why a call failed (client.h).
 */
#include "config.h"

#include <curl/curl.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "client.h"
#include "json.h"
#include "render.h"

void
say(const char *fmt, ...)
{
	va_list ap;

	fflush(stdout);
	fputs("scriptorch: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

int
client_init(struct client *c)
{
	if (http_init(&c->http, &c->set) == -1) {
		say("cannot start libcurl");
		return -1;
	}
	if (c->set.insecure)
		say("warning: --insecure: the server's TLS certificate is not "
		    "checked; anyone between you and %s can read your token",
		    c->set.url);
	return 0;
}

void
client_free(struct client *c)
{
	http_free(&c->http);
	settings_free(&c->set);
}

yajl_val
client_parse(const struct http_resp *r)
{
	char err[256];
	yajl_val v = json_parse(r->body.data, r->body.len, err, sizeof(err));

	if (v == NULL || !YAJL_IS_OBJECT(v)) {
		say("the server's answer (HTTP %ld) is not a JSON object%s%s",
		    r->status, v ? "" : ": ", v ? "" : err);
		yajl_tree_free(v);
		return NULL;
	}
	return v;
}

int
client_call_json(struct client *c, const char *method, const char *path,
    const char *body, size_t body_len, long timeout_s, struct http_resp *r,
    yajl_val *v)
{
	int rc = client_call(c, method, path, body, body_len, timeout_s, r);

	*v = NULL;
	if (rc != EXIT_OK)
		return rc;
	if ((*v = client_parse(r)) == NULL) {
		http_resp_free(r);
		return EXIT_API;
	}
	return EXIT_OK;
}

void
client_print_body(const struct http_resp *r)
{
	fwrite(r->body.data ? r->body.data : "", 1, r->body.len, stdout);
	if (r->body.len == 0 || r->body.data[r->body.len - 1] != '\n')
		fputc('\n', stdout);
}

/* Says why a non-2xx answer is a failure; returns EXIT_API. */
static int
report_answer(struct client *c, const struct http_resp *r)
{
	struct buf a = BUF_INIT, b = BUF_INIT;
	yajl_val v = NULL, e, list;
	const char *code, *msg;

	if (r->status >= 300 && r->status < 400) {
		render_safe(&a, r->location[0] ? r->location : "(nowhere)", 0);
		say("the server answered %ld, a redirect to %s: the client does "
		    "not follow redirects; use that address as the URL (it came "
		    "from %s)", r->status, buf_str(&a), c->set.url_from ?
		    c->set.url_from : "the settings");
		goto out;
	}
	v = json_parse(r->body.data, r->body.len, NULL, 0);
	e = json_get(v, "error");
	code = json_get_str(e, "code");
	msg = json_get_str(e, "message");
	if (code == NULL || msg == NULL) {
		render_safe(&a, r->content_type[0] ? r->content_type :
		    "no content type", 0);
		say("%s answered HTTP %ld without the API's error object (%s): "
		    "is it the scriptorch API?", c->set.url, r->status,
		    buf_str(&a));
		goto out;
	}
	render_safe(&a, msg, 0);
	render_safe(&b, code, 0);
	say("%s (%s)", buf_str(&a), buf_str(&b));
	/* A 422 about several fields lists each; the first is above. */
	list = json_get(e, "errors");
	if (list != NULL && YAJL_IS_ARRAY(list)) {
		for (size_t i = 1; i < list->u.array.len; i++) {
			yajl_val it = list->u.array.values[i];
			buf_reset(&a);
			buf_reset(&b);
			render_safe(&a, json_get_str(it, "field"), 0);
			render_safe(&b, json_get_str(it, "message"), 0);
			say("%s: %s", buf_str(&a), buf_str(&b));
		}
	}
out:
	yajl_tree_free(v);
	buf_free(&a);
	buf_free(&b);
	return EXIT_API;
}

/* Says why no answer came; returns EXIT_CONNECT. */
static int
report_transport(struct client *c, const struct buf *err)
{
	struct buf a = BUF_INIT;

	render_safe(&a, buf_str(err), 0);
	say("cannot reach %s", buf_str(&a));
	if (c->http.tls_failed && c->set.cacert == NULL)
		say("the URL's host must be a name the certificate is made out "
		    "to; if the certificate is self-signed (the package's "
		    "default), give it with --cacert FILE or SCRIPTORCH_CACERT");
	buf_free(&a);
	return EXIT_CONNECT;
}

int
client_call(struct client *c, const char *method, const char *path,
    const char *body, size_t body_len, long timeout_s, struct http_resp *r)
{
	struct buf err = BUF_INIT;
	int rc;

	if (http_do(&c->http, method, path, body, body_len, timeout_s, r,
	    &err) == -1)
		rc = report_transport(c, &err);
	else if (r->status >= 200 && r->status < 300)
		rc = EXIT_OK;
	else
		rc = report_answer(c, r);
	if (rc != EXIT_OK)
		http_resp_free(r);
	buf_free(&err);
	return rc;
}

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void
client_sleep(double seconds)
{
	struct timespec ts;

	if (seconds <= 0)
		return;
	ts.tv_sec = (time_t)seconds;
	ts.tv_nsec = (long)((seconds - (double)ts.tv_sec) * 1e9);
	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
}

/*
 * A poll while a run goes on: the run does not stop when the database or
 * the network blinks (the runner retries too), so neither does the
 * client, for a while. Each retry waits what Retry-After says (the API
 * sends 5 with a 503), at most 5 s, at least 1 s.
 */
int
client_poll(struct client *c, const char *path, long patience_s,
    struct http_resp *r)
{
	double deadline = now_s() + (double)patience_s;
	struct buf err = BUF_INIT;
	int rc;

	for (;;) {
		double pause = 1;
		buf_reset(&err);
		if (http_do(&c->http, "GET", path, NULL, 0, 60, r, &err) == 0) {
			if (r->status >= 200 && r->status < 300) {
				rc = EXIT_OK;
				break;
			}
			if (r->status != 503 || now_s() >= deadline) {
				rc = report_answer(c, r);
				break;
			}
			if (r->retry_after > 1)
				pause = r->retry_after > 5 ? 5 : r->retry_after;
		} else if (now_s() >= deadline) {
			rc = report_transport(c, &err);
			break;
		}
		http_resp_free(r);
		client_sleep(pause);
	}
	if (rc != EXIT_OK)
		http_resp_free(r);
	buf_free(&err);
	return rc;
}

int
client_status_final(const char *s)
{
	return s != NULL && strcmp(s, "queued") != 0 &&
	    strcmp(s, "running") != 0;
}

int
client_exit_status(yajl_val x)
{
	const char *st = json_get_str(x, "status");
	yajl_val code = json_get(x, "exit_code"), sig = json_get(x, "signal");

	if (st == NULL)
		return EXIT_API;
	if (strcmp(st, "succeeded") == 0 || strcmp(st, "failed") == 0) {
		if (code != NULL && YAJL_IS_INTEGER(code)) {
			long long v = YAJL_GET_INTEGER(code);
			return v >= 0 && v <= 255 ? (int)v : 1;
		}
		if (sig != NULL && YAJL_IS_INTEGER(sig)) {
			long long v = YAJL_GET_INTEGER(sig);
			return v > 0 && v < 128 ? 128 + (int)v : 1;
		}
		return strcmp(st, "succeeded") == 0 ? 0 : 1;
	}
	if (strcmp(st, "timed_out") == 0)
		return EXIT_TIMED_OUT;
	if (strcmp(st, "canceled") == 0)
		return EXIT_CANCELED;
	if (strcmp(st, "error") == 0)
		return EXIT_NOT_STARTED;
	if (strcmp(st, "lost") == 0)
		return EXIT_LOST;
	return EXIT_API;
}

char *
client_escape(struct client *c, const char *s)
{
	char *e = curl_easy_escape(c->http.curl, s, 0), *copy;

	if (e == NULL)
		return xstrdup("");
	copy = xstrdup(e);
	curl_free(e);
	return copy;
}

int
client_exec_id(const char *s, long long *id)
{
	char *end;
	long long v;

	errno = 0;
	v = strtoll(s, &end, 10);
	if (*s < '0' || *s > '9' || *end != '\0' || errno != 0 || v <= 0) {
		struct buf a = BUF_INIT;
		render_safe(&a, s, 0);
		say("\"%s\" is not an execution id (a positive integer)",
		    buf_str(&a));
		buf_free(&a);
		return 0;
	}
	*id = v;
	return 1;
}
