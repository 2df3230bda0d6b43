/*
 * request.h - one FastCGI request: its parameters, its capped body, the
 * caller's identity, and the response writers.
 *
 * A struct request owns everything allocated for the request (body, copied
 * strings, route captures); request_cleanup() releases all of it. Handlers
 * answer exactly once through resp_json(), resp_error() or resp_raw().
 */
#ifndef SCRIPTORCH_REQUEST_H
#define SCRIPTORCH_REQUEST_H

#include <fcgiapp.h>
#include <signal.h>
#include <stddef.h>

#include "buf.h"
#include "role.h"

struct conf;
struct db;
struct shm;
struct token_cache;
struct script_memo;

/* What every handler can reach: the worker's long-lived resources. */
struct worker_ctx {
	const struct conf *conf;
	struct db *db;
	struct shm *shm;
	void *magic;               /* libmagic cookie, opened after fork */
	struct token_cache *tokens; /* the worker's token memory (auth.h) */
	struct script_memo *scripts; /* ... and script memory (registry.h) */
	/* Set (from a signal handler) once the worker is asked to stop: a
	 * handler that waits for long ends its wait early (execution.h).
	 * NULL: never. */
	const volatile sig_atomic_t *stopping;
};

#define REQ_MAX_PARAMS 4

struct request {
	FCGX_Request *fcgi;        /* borrowed from the worker */
	struct worker_ctx *ctx;    /* borrowed */
	const char *method;        /* points into the FastCGI environment */
	char *path;                /* percent-decoded path, owned */
	const char *query;         /* raw query string, never NULL */
	struct buf body;
	char id[40];               /* request id (from nginx or generated) */
	char *params[REQ_MAX_PARAMS]; /* route captures, owned */
	int nparams;
	int route;                 /* index in the route table, or -1 */
	/* The caller, once authenticated. */
	long long token_id;
	char token_name[129];
	enum role role;
	/* Signed in by the session cookie (session.h), not a bearer token:
	 * when it expires. */
	int via_session;
	char session_expires_at[32];
	/* The answer. */
	int status;
	int responded;
	double t0;
	struct buf extra_headers;  /* "Name: value\r\n" lines */
};

/*
 * Prepares `r` for the accepted FastCGI request: copies method, path and
 * query, reads the body up to `max_body` bytes. Returns 0, or -1 after
 * answering the request itself (413 for an oversized body).
 */
int request_init(struct request *r, FCGX_Request *fcgi, struct worker_ctx *ctx);
void request_cleanup(struct request *r);

/* A FastCGI parameter (CGI variable) or NULL. */
const char *req_param(const struct request *r, const char *name);
/* Whether the request came over TLS (nginx's HTTPS and REQUEST_SCHEME
 * parameters). */
int req_secure(const struct request *r);
/* A query parameter, percent-decoded into `out`; NULL if absent. */
const char *req_query(const struct request *r, const char *name,
    struct buf *out);
void req_add_header(struct request *r, const char *name, const char *value);

/* Writes the status line, headers and `body` (may be NULL: no body). */
void resp_raw(struct request *r, int status, const char *content_type,
    const char *body, size_t len);
void resp_json(struct request *r, int status, const struct buf *body);
/* The contract's error body. `field` may be NULL. */
void resp_error(struct request *r, int status, const char *code,
    const char *field, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
/* 204 No Content. */
void resp_empty(struct request *r);

/* Percent-decodes s[0..n), appending to out; with `form`, '+' means a
 * space (query strings). -1 on a malformed escape, or when what it
 * appended holds a NUL or is not valid UTF-8. */
int url_decode(const char *s, size_t n, int form, struct buf *out);
/* The status text for a code. */
const char *http_reason(int status);

#endif
