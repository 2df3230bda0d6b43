/*
 * api_executions.c - submitting, listing, reading and cancelling
 * executions, and the synchronous test run of a script.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "clock.h"
#include "execution.h"
#include "idempotency.h"
#include "json.h"

#define MAX_WAIT_S 300
/* The test endpoint waits at most this long, inside nginx's read timeout
 * of 330 s; a longer run answers 202 and goes on. */
#define TEST_WAIT_S 320

static void
answer_execution(struct request *r, int status, const struct execution *x)
{
	struct buf out = BUF_INIT;
	struct jw w;

	jw_init(&w, &out);
	execution_render(&w, x, 1);
	jw_free(&w);
	resp_json(r, status, &out);
	buf_free(&out);
}

/* Prepares a submission for the script named by r->params[0] (an id or a
 * name). The file is not looked at here: the runner checks its version
 * before the run. */
static int
prepare(struct request *r, struct execution_submission **sub)
{
	const char *p = r->params[0];
	unsigned long long id = 0;

	if (strspn(p, "0123456789") == strlen(p) &&
	    (id = api_param_id(r, 0, "script")) == 0)
		return -1;
	switch (execution_prepare(r->ctx->db, r->ctx->conf, r->ctx->shm,
	    r->ctx->scripts, (long long)id, id ? NULL : p, sub)) {
	case EXECUTION_OK:
		return 0;
	case EXECUTION_NOT_FOUND:
		resp_error(r, 404, "not_found", NULL, "no script \"%s\"", p);
		return -1;
	default:
		api_db_failure(r, r->ctx->db);
		return -1;
	}
}

/* Parses {"input": {...}} (an empty body means no input). */
static int
parse_input(struct request *r, yajl_val *body, yajl_val *input)
{
	*body = NULL;
	*input = NULL;
	if (r->body.len == 0)
		return 0;
	if ((*body = api_body_object(r)) == NULL)
		return -1;
	for (size_t i = 0; i < (*body)->u.object.len; i++) {
		const char *k = (*body)->u.object.keys[i];
		if (strcmp(k, "input") != 0) {
			resp_error(r, 422, "validation_failed", k,
			    "unknown field \"%s\"; the body is {\"input\": {...}}",
			    k);
			return -1;
		}
	}
	*input = json_get(*body, "input");
	if (*input != NULL && YAJL_IS_NULL(*input))
		*input = NULL;
	if (*input != NULL && !YAJL_IS_OBJECT(*input)) {
		resp_error(r, 422, "validation_failed", "input",
		    "input must be a JSON object");
		return -1;
	}
	return 0;
}

/* Answers a service call that did not succeed. */
static void
answer_failure(struct request *r, enum execution_outcome rc,
    const struct verr *e)
{
	switch (rc) {
	case EXECUTION_INVALID:
		resp_error(r, 422, "validation_failed", e->field, "%s",
		    e->message);
		break;
	case EXECUTION_CONFLICT:
		resp_error(r, 409, "conflict", e->field[0] ? e->field : NULL,
		    "%s", e->message);
		break;
	case EXECUTION_OVERLOADED:
		req_add_header(r, "Retry-After", "5");
		resp_error(r, 429, "overloaded", NULL, "%s", e->message);
		break;
	default:
		api_db_failure(r, r->ctx->db);
		break;
	}
}

/* Submits with `trigger`, waiting up to wait_s for the end. `idem_key`
 * (NULL: none) is the request's checked Idempotency-Key. */
static void
submit_and_answer(struct request *r, const char *trigger, int wait_s,
    const char *idem_key)
{
	struct execution_submission *sub = NULL;
	struct execution_waited w = EXECUTION_WAITED_INIT;
	struct verr e;
	yajl_val body = NULL, input = NULL;
	enum execution_outcome rc;

	verr_clear(&e);
	if (prepare(r, &sub) == -1)
		goto out;
	if (parse_input(r, &body, &input) == -1)
		goto out;
	if (idem_key != NULL)
		execution_submission_idempotent(sub, r->token_id, idem_key, body);
	/* Not waited for (wait_s 0, or every waiting place taken): w.x is
	 * the execution as it was queued (a replay: as it is now). */
	rc = execution_submit_wait(r->ctx->db, r->ctx->conf, r->ctx->shm, sub,
	    input, trigger, wait_s * 1000, r->ctx->stopping, &w, &e);
	if (rc == EXECUTION_OK && execution_replayed(sub))
		req_add_header(r, "Idempotent-Replayed", "true");
	if (rc == EXECUTION_NOT_FOUND)
		resp_error(r, 500, "internal", NULL, "execution %lld vanished",
		    w.id);
	else if (rc != EXECUTION_OK)
		answer_failure(r, rc, &e);
	else if (w.json.len)    /* the final form, left by the runner */
		resp_json(r, 200, &w.json);
	else
		answer_execution(r, w.final ? 200 : 202, &w.x);
out:
	execution_waited_free(&w);
	yajl_tree_free(body);
	execution_submission_free(sub);
}

void
api_exec_submit(struct request *r)
{
	struct buf v = BUF_INIT;
	const char *w = req_query(r, "wait", &v);
	/* Empty counts as sent (and is refused): nginx passes an empty
	 * header on. */
	const char *idem_key = req_param(r, IDEM_PARAM);
	struct verr e;
	int wait_s = 0;

	if (w != NULL) {
		char *end;
		long n = strtol(w, &end, 10);
		if (*w == '\0' || *end != '\0' || n < 0 || n > MAX_WAIT_S) {
			resp_error(r, 422, "validation_failed", "wait",
			    "wait must be a whole number of seconds from 0 to %d",
			    MAX_WAIT_S);
			buf_free(&v);
			return;
		}
		wait_s = (int)n;
	}
	buf_free(&v);
	if (idem_key != NULL && idem_key_check(idem_key, &e) == -1) {
		resp_error(r, 422, "validation_failed", e.field, "%s", e.message);
		return;
	}
	submit_and_answer(r, "api", wait_s, idem_key);
}

void
api_script_test(struct request *r)
{
	/* An Idempotency-Key is the executions endpoint's alone (the
	 * contract's); a test run ignores it. */
	submit_and_answer(r, "test", TEST_WAIT_S, NULL);
}

/* Answers a call about execution `id`: with *x (then released), or
 * with why there is none. */
static void
answer_one(struct request *r, enum execution_outcome rc, unsigned long long id,
    struct execution *x)
{
	switch (rc) {
	case EXECUTION_OK:
		answer_execution(r, 200, x);
		execution_free(x);
		break;
	case EXECUTION_NOT_FOUND:
		resp_error(r, 404, "not_found", NULL, "no execution %llu", id);
		break;
	case EXECUTION_CONFLICT:         /* a cancel */
		resp_error(r, 409, "conflict", NULL,
		    "execution %llu already finished", id);
		break;
	default:
		api_db_failure(r, r->ctx->db);
		break;
	}
}

void
api_exec_get(struct request *r)
{
	unsigned long long id = api_param_id(r, 0, "execution");
	struct execution x;

	if (id == 0)
		return;
	answer_one(r, execution_get(r->ctx->db, (long long)id, &x), id, &x);
}

static void
stream(struct request *r, int which_stderr)
{
	unsigned long long id = api_param_id(r, 0, "execution");
	char disp[96], *data;
	size_t len;

	if (id == 0)
		return;
	switch (execution_output(r->ctx->db, (long long)id, which_stderr,
	    &data, &len)) {
	case EXECUTION_OK:
		snprintf(disp, sizeof(disp), "attachment; filename=\"execution-"
		    "%llu.%s\"", id, which_stderr ? "stderr" : "stdout");
		req_add_header(r, "Content-Disposition", disp);
		resp_raw(r, 200, "application/octet-stream", data ? data : "",
		    len);
		free(data);
		break;
	case EXECUTION_NOT_FOUND:
		resp_error(r, 404, "not_found", NULL, "no execution %llu", id);
		break;
	default:
		api_db_failure(r, r->ctx->db);
		break;
	}
}

void
api_exec_stdout(struct request *r)
{
	stream(r, 0);
}

void
api_exec_stderr(struct request *r)
{
	stream(r, 1);
}

void
api_exec_cancel(struct request *r)
{
	unsigned long long id = api_param_id(r, 0, "execution");
	struct execution x;

	if (id == 0)
		return;
	answer_one(r, execution_cancel(r->ctx->db, r->ctx->conf, r->ctx->shm,
	    (long long)id, r->token_name, &x), id, &x);
}

/* A list being written: the answer so far and what next_cursor needs. */
struct list_out {
	struct jw w;
	int n;
	long long last_id;
};

static void
list_one(void *arg, const struct execution *x)
{
	struct list_out *lo = arg;

	execution_render(&lo->w, x, 0);
	lo->n++;
	lo->last_id = x->id;
}

void
api_exec_list(struct request *r)
{
	struct execution_filter f;
	struct buf sid = BUF_INIT, st = BUF_INIT, tr = BUF_INIT, since = BUF_INIT;
	struct buf lim = BUF_INIT, cur = BUF_INIT, out = BUF_INIT;
	const char *v;
	char since_db[40], *end;
	struct list_out lo;

	memset(&f, 0, sizeof(f));
	memset(&lo, 0, sizeof(lo));
	f.limit = 50;
	if ((v = req_query(r, "script_id", &sid)) != NULL && *v) {
		f.script_id = strtoll(v, &end, 10);
		if (*end != '\0' || f.script_id <= 0) {
			resp_error(r, 422, "validation_failed", "script_id",
			    "script_id must be a positive integer");
			goto out;
		}
	}
	if ((v = req_query(r, "status", &st)) != NULL && *v) {
		if (!execution_status_known(v)) {
			resp_error(r, 422, "validation_failed", "status",
			    "status must be one of queued, running, succeeded, "
			    "failed, timed_out, canceled, error, lost");
			goto out;
		}
		f.status = v;
	}
	if ((v = req_query(r, "trigger", &tr)) != NULL && *v) {
		if (!execution_trigger_known(v)) {
			resp_error(r, 422, "validation_failed", "trigger",
			    "trigger must be one of api, test, ui");
			goto out;
		}
		f.trigger = v;
	}
	if ((v = req_query(r, "since", &since)) != NULL && *v) {
		if (clock_rfc3339_to_db(v, since_db, sizeof(since_db)) == -1) {
			resp_error(r, 422, "validation_failed", "since",
			    "since must be an RFC 3339 timestamp");
			goto out;
		}
		f.since = since_db;
	}
	if ((v = req_query(r, "limit", &lim)) != NULL && *v) {
		long n = strtol(v, &end, 10);
		if (*end != '\0' || n < 1 || n > 500) {
			resp_error(r, 422, "validation_failed", "limit",
			    "limit must be a whole number from 1 to 500");
			goto out;
		}
		f.limit = (int)n;
	}
	if ((v = req_query(r, "cursor", &cur)) != NULL && *v) {
		f.before_id = strtoll(v, &end, 10);
		if (*end != '\0' || f.before_id <= 0) {
			resp_error(r, 422, "validation_failed", "cursor",
			    "cursor is not one this API gave out");
			goto out;
		}
	}
	jw_init(&lo.w, &out);
	jw_obj(&lo.w);
	jw_key(&lo.w, "executions");
	jw_arr(&lo.w);
	if (execution_list(r->ctx->db, &f, list_one, &lo) != EXECUTION_OK) {
		jw_free(&lo.w);
		api_db_failure(r, r->ctx->db);
		goto out;
	}
	jw_arr_end(&lo.w);
	jw_key(&lo.w, "next_cursor");
	if (lo.n == f.limit) {
		char cursor[24];
		snprintf(cursor, sizeof(cursor), "%lld", lo.last_id);
		jw_str(&lo.w, cursor);
	} else {
		jw_null(&lo.w);
	}
	jw_obj_end(&lo.w);
	jw_free(&lo.w);
	resp_json(r, 200, &out);
out:
	buf_free(&sid);
	buf_free(&st);
	buf_free(&tr);
	buf_free(&since);
	buf_free(&lim);
	buf_free(&cur);
	buf_free(&out);
}
