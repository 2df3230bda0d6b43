/*
 * fuzz-request.c - libFuzzer target: one FastCGI request as the API worker
 * reads it. The input is "METHOD\0URI\0CONTENT_LENGTH\0BODY": the CGI
 * variables nginx passes and the body on the request's input stream.
 * Exercised: request_init (path decoding, the query's check, the capped
 * body read), the route match, every query parameter a handler reads, the
 * body's JSON parse and the error answers written to the output stream.
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "conf.h"
#include "json.h"
#include "log.h"
#include "request.h"
#include "router.h"

/* The input stream ends where the fuzz data ends. */
static void
fill_eof(FCGX_Stream *s)
{
	s->isClosed = 1;
}

/* The output stream discards what the answer writes. */
static void
empty_discard(FCGX_Stream *s, int doClose)
{
	(void)doClose;
	s->wrNext = s->stopUnget;
}

/* Splits off the text up to the next NUL; NULL when there is none. */
static char *
field(const uint8_t **p, size_t *n)
{
	const uint8_t *z = memchr(*p, '\0', *n);
	char *s;

	if (z == NULL)
		return NULL;
	s = strndup((const char *)*p, (size_t)(z - *p));
	*n -= (size_t)(z - *p) + 1;
	*p = z + 1;
	return s;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *query_names[] = { "limit", "status", "trigger",
	    "since", "cursor", "script_id", "wait", "q", "type", "enabled" };
	unsigned char outbuf[512];
	char *method, *uri = NULL, *clen = NULL, *env[5] = { 0 };
	uint8_t *body = NULL;
	FCGX_Stream in, out;
	FCGX_Request fcgi;
	struct conf c;
	struct worker_ctx ctx;
	struct request r;
	struct buf allow = BUF_INIT, q = BUF_INIT;
	yajl_val v;

	log_init(LOG_LVL_ERROR, "fuzz");
	if ((method = field(&data, &size)) == NULL)
		return 0;
	if ((uri = field(&data, &size)) == NULL ||
	    (clen = field(&data, &size)) == NULL)
		goto out;
	/* The body in a buffer of its own, so reads past it are caught. */
	body = malloc(size + 1);
	memcpy(body, data, size);

	memset(&in, 0, sizeof(in));
	in.rdNext = in.stopUnget = body;
	in.stop = body + size;
	in.isReader = 1;
	in.fillBuffProc = fill_eof;
	memset(&out, 0, sizeof(out));
	out.wrNext = out.stopUnget = outbuf;
	out.stop = outbuf + sizeof(outbuf);
	out.emptyBuffProc = empty_discard;

	env[0] = malloc(strlen(method) + 16);
	sprintf(env[0], "REQUEST_METHOD=%s", method);
	env[1] = malloc(strlen(uri) + 16);
	sprintf(env[1], "REQUEST_URI=%s", uri);
	env[2] = malloc(strlen(clen) + 16);
	sprintf(env[2], "CONTENT_LENGTH=%s", clen);
	memset(&fcgi, 0, sizeof(fcgi));
	fcgi.in = &in;
	fcgi.out = &out;
	fcgi.err = &out;
	fcgi.envp = env;

	conf_defaults(&c);
	memset(&ctx, 0, sizeof(ctx));
	ctx.conf = &c;
	if (request_init(&r, &fcgi, &ctx) == 0) {
		if (router_match(&r, r.method, r.path, &allow) >= 0 &&
		    (v = api_body_object(&r)) != NULL)
			yajl_tree_free(v);
		for (size_t i = 0; i < sizeof(query_names) /
		    sizeof(query_names[0]); i++)
			(void)req_query(&r, query_names[i], &q);
		if (!r.responded)
			resp_error(&r, 404, "not_found", NULL, "fuzzed");
	}
	request_cleanup(&r);
	conf_free(&c);
out:
	for (int i = 0; env[i] != NULL; i++)
		free(env[i]);
	buf_free(&allow);
	buf_free(&q);
	free(body);
	free(method);
	free(uri);
	free(clen);
	return 0;
}
