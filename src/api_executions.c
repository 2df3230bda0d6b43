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
#include "store.h"

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

/* Parses {"input": {...}, "callback_url": "..."} (an empty body means
 * no input) and hands the callback_url, if given, to the submission. */
static int
parse_input(struct request *r, struct execution_submission *sub, yajl_val *body,
    yajl_val *input)
{
	yajl_val cb;

	*body = NULL;
	*input = NULL;
	if (r->body.len == 0)
		return 0;
	if ((*body = api_body_object(r)) == NULL)
		return -1;
	if (api_body_known(r, *body, (const char *const[]){ "input",
	    "callback_url", NULL },
	    "{\"input\": {...}, \"callback_url\": \"...\"}") == -1)
		return -1;
	if ((cb = json_get(*body, "callback_url")) != NULL) {
		if (!YAJL_IS_NULL(cb) && !YAJL_IS_STRING(cb)) {
			resp_error(r, 422, "validation_failed", "callback_url",
			    "callback_url must be a string or null");
			return -1;
		}
		execution_submission_callback(sub, 1, YAJL_IS_STRING(cb) ?
		    cb->u.string : NULL);
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

/* Answers a service call that did not succeed; `all` (may be NULL) is
 * every invalid field of a submission's input. */
static void
answer_failure(struct request *r, enum execution_outcome rc,
    const struct verr *e,
    const struct verr_list *all)
{
	switch (rc) {
	case EXECUTION_INVALID:
		api_invalid(r, e, all);
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
	if (parse_input(r, sub, &body, &input) == -1)
		goto out;
	if (idem_key != NULL)
		execution_submission_idempotent(sub, r->token_id, idem_key, body);
	/* Not waited for (wait_s 0, or every waiting place taken): w.x is
	 * the execution as it was queued (a replay: as it is now). */
	rc = execution_submit_wait(r->ctx->db, r->ctx->conf, r->ctx->shm, sub,
	    input, trigger, r->token_name, wait_s * 1000, r->ctx->stopping, &w,
	    &e);
	if (rc == EXECUTION_OK && execution_replayed(sub))
		req_add_header(r, "Idempotent-Replayed", "true");
	if (rc == EXECUTION_NOT_FOUND)
		resp_error(r, 500, "internal", NULL, "execution %lld vanished",
		    w.id);
	else if (rc != EXECUTION_OK)
		answer_failure(r, rc, &e, execution_submission_errors(sub));
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
	/* A run started from the admin UI, signed in by its cookie, is
	 * told apart from a backend's (the contract's trigger "ui"). */
	submit_and_answer(r, r->via_session ? "ui" : "api", wait_s, idem_key);
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

static void
key_time(struct jw *w, const char *key, const char *ts)
{
	jw_key(w, key);
	jw_str(w, ts[0] != '\0' ? ts : NULL);
}

/* One delivery as GET .../deliveries shows it. */
static void
delivery_one(void *arg, const struct delivery_rec *d)
{
	struct jw *w = arg;

	jw_obj(w);
	jw_key(w, "id");
	jw_int(w, d->id);
	jw_key(w, "execution_id");
	jw_int(w, d->execution_id);
	jw_key(w, "url");
	jw_str(w, d->url);
	jw_key(w, "status");
	jw_str(w, d->status);
	jw_key(w, "attempts");
	jw_int(w, d->attempts);
	jw_key(w, "last_status_code");
	if (d->has_status_code)
		jw_int(w, d->last_status_code);
	else
		jw_null(w);
	jw_key(w, "last_error");
	jw_str(w, d->last_error);
	key_time(w, "created_at", d->created_at);
	key_time(w, "next_attempt_at", d->next_attempt_at);
	key_time(w, "delivered_at", d->delivered_at);
	jw_obj_end(w);
}

void
api_exec_deliveries(struct request *r)
{
	unsigned long long id = api_param_id(r, 0, "execution");
	struct buf out = BUF_INIT;
	struct jw w;

	if (id == 0)
		return;
	api_list_open(&w, &out, "deliveries");
	switch (execution_deliveries(r->ctx->db, (long long)id, delivery_one,
	    &w)) {
	case EXECUTION_OK:
		api_list_send(r, &w, &out);
		return;
	case EXECUTION_NOT_FOUND:
		api_list_drop(&w, &out);
		resp_error(r, 404, "not_found", NULL, "no execution %llu", id);
		return;
	default:
		api_list_drop(&w, &out);
		api_db_failure(r, r->ctx->db);
		return;
	}
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

/* The query parameters of a filter, percent-decoded: each buffer owns
 * the text a struct execution_filter borrows. */
struct filter_text {
	struct buf script_id, status, trigger, since, until, order, limit,
	    cursor;
	char since_db[40], until_db[40];
};

static void
filter_text_free(struct filter_text *t)
{
	buf_free(&t->script_id);
	buf_free(&t->status);
	buf_free(&t->trigger);
	buf_free(&t->since);
	buf_free(&t->until);
	buf_free(&t->order);
	buf_free(&t->limit);
	buf_free(&t->cursor);
}

/* What a filter may take, by endpoint. */
#define FP_STATUS 1     /* status=a,b */
#define FP_PAGE 2       /* order, cursor */
#define FP_LIMIT 4      /* limit */

/* Splits status=a,b,c into f->statuses (each known, each once). */
static int
parse_statuses(char *list, struct execution_filter *f)
{
	char *save = NULL;

	for (char *tok = strtok_r(list, ",", &save); tok != NULL;
	    tok = strtok_r(NULL, ",", &save)) {
		int seen = 0;

		if (!execution_status_known(tok))
			return -1;
		for (int i = 0; i < f->nstatuses; i++)
			if (strcmp(f->statuses[i], tok) == 0)
				seen = 1;
		if (!seen && f->nstatuses < EXECUTION_NSTATUSES)
			f->statuses[f->nstatuses++] = tok;
	}
	return f->nstatuses > 0 ? 0 : -1;
}

/*
 * Reads the filter of a list, counts or durations request: script_id,
 * trigger, since and until everywhere, and what `what` allows (FP_*).
 * 0, or -1 after answering 422 with the parameter at fault.
 */
static int
parse_filter(struct request *r, unsigned what, struct execution_filter *f,
    struct filter_text *t, int default_limit)
{
	const char *v;
	char *end;

	memset(f, 0, sizeof(*f));
	f->limit = default_limit;
	if ((v = req_query(r, "script_id", &t->script_id)) != NULL && *v) {
		f->script_id = strtoll(v, &end, 10);
		if (*end != '\0' || f->script_id <= 0) {
			resp_error(r, 422, "validation_failed", "script_id",
			    "script_id must be a positive integer");
			return -1;
		}
	}
	if ((what & FP_STATUS) &&
	    (v = req_query(r, "status", &t->status)) != NULL && *v) {
		if (parse_statuses(t->status.data, f) == -1) {
			resp_error(r, 422, "validation_failed", "status",
			    "status must be one or more of queued, running, "
			    "succeeded, failed, timed_out, canceled, error, "
			    "lost, separated by commas");
			return -1;
		}
	}
	if ((v = req_query(r, "trigger", &t->trigger)) != NULL && *v) {
		if (!execution_trigger_known(v)) {
			resp_error(r, 422, "validation_failed", "trigger",
			    "trigger must be one of api, test, ui");
			return -1;
		}
		f->trigger = v;
	}
	if ((v = req_query(r, "since", &t->since)) != NULL && *v) {
		if (clock_rfc3339_to_db(v, t->since_db,
		    sizeof(t->since_db)) == -1) {
			resp_error(r, 422, "validation_failed", "since",
			    "since must be an RFC 3339 timestamp");
			return -1;
		}
		f->since = t->since_db;
	}
	if ((v = req_query(r, "until", &t->until)) != NULL && *v) {
		if (clock_rfc3339_to_db(v, t->until_db,
		    sizeof(t->until_db)) == -1) {
			resp_error(r, 422, "validation_failed", "until",
			    "until must be an RFC 3339 timestamp");
			return -1;
		}
		f->until = t->until_db;
	}
	/* Both in the database's form (UTC, fixed width): compared as
	 * text, as the database compares them. */
	if (f->since != NULL && f->until != NULL &&
	    strcmp(f->since, f->until) > 0) {
		resp_error(r, 422, "validation_failed", "until",
		    "until must not be before since");
		return -1;
	}
	if ((what & FP_PAGE) &&
	    (v = req_query(r, "order", &t->order)) != NULL && *v) {
		if (strcmp(v, "asc") == 0)
			f->ascending = 1;
		else if (strcmp(v, "desc") != 0) {
			resp_error(r, 422, "validation_failed", "order",
			    "order must be asc (oldest first) or desc (newest "
			    "first)");
			return -1;
		}
	}
	if ((what & FP_LIMIT) &&
	    (v = req_query(r, "limit", &t->limit)) != NULL && *v) {
		long n = strtol(v, &end, 10);
		if (*end != '\0' || n < 1 || n > 500) {
			resp_error(r, 422, "validation_failed", "limit",
			    "limit must be a whole number from 1 to 500");
			return -1;
		}
		f->limit = (int)n;
	}
	if ((what & FP_PAGE) &&
	    (v = req_query(r, "cursor", &t->cursor)) != NULL && *v) {
		f->cursor = strtoll(v, &end, 10);
		if (*end != '\0' || f->cursor <= 0) {
			resp_error(r, 422, "validation_failed", "cursor",
			    "cursor is not one this API gave out");
			return -1;
		}
	}
	return 0;
}

void
api_exec_list(struct request *r)
{
	struct execution_filter f;
	struct filter_text t;
	struct buf out = BUF_INIT;
	struct list_out lo;

	memset(&t, 0, sizeof(t));
	memset(&lo, 0, sizeof(lo));
	if (parse_filter(r, FP_STATUS | FP_PAGE | FP_LIMIT, &f, &t, 50) == -1)
		goto out;
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
	filter_text_free(&t);
	buf_free(&out);
}

void
api_exec_counts(struct request *r)
{
	struct execution_filter f;
	struct status_counts c;
	struct filter_text t;
	struct buf out = BUF_INIT;
	struct jw w;
	double rate;

	memset(&t, 0, sizeof(t));
	if (parse_filter(r, 0, &f, &t, 0) == -1)
		goto out;
	/* A status filter here would count one status: refused rather than
	 * ignored, so that no client believes it narrowed the counts. */
	if (req_query(r, "status", &t.status) != NULL) {
		resp_error(r, 422, "validation_failed", "status",
		    "the counts are by status: status is not a filter here");
		goto out;
	}
	if (execution_counts(r->ctx->db, &f, &c) != EXECUTION_OK) {
		api_db_failure(r, r->ctx->db);
		goto out;
	}
	jw_init(&w, &out);
	jw_obj(&w);
	jw_key(&w, "counts");
	jw_obj(&w);
	for (int i = 0; execution_status_name(i) != NULL; i++) {
		jw_key(&w, execution_status_name(i));
		jw_int(&w, c.n[i]);
	}
	jw_obj_end(&w);
	jw_key(&w, "total");
	jw_int(&w, c.total);
	jw_key(&w, "success_rate");
	if ((rate = execution_success_rate(&c)) < 0)
		jw_null(&w);
	else
		jw_double(&w, rate);
	jw_obj_end(&w);
	jw_free(&w);
	resp_json(r, 200, &out);
out:
	filter_text_free(&t);
	buf_free(&out);
}

static void
point_one(void *arg, const struct duration_point *p)
{
	struct jw *w = arg;

	jw_obj(w);
	jw_key(w, "id");
	jw_int(w, p->id);
	jw_key(w, "status");
	jw_str(w, p->status);
	jw_key(w, "queued_at");
	jw_str(w, p->queued_at);
	jw_key(w, "duration_ms");
	if (p->has_duration)
		jw_double(w, p->duration_ms);
	else
		jw_null(w);
	jw_obj_end(w);
}

void
api_exec_durations(struct request *r)
{
	struct execution_filter f;
	struct filter_text t;
	struct buf out = BUF_INIT;
	struct jw w;

	memset(&t, 0, sizeof(t));
	if (parse_filter(r, FP_STATUS | FP_LIMIT, &f, &t, 50) == -1)
		goto out;
	api_list_open(&w, &out, "durations");
	if (execution_durations(r->ctx->db, &f, point_one,
	    &w) != EXECUTION_OK) {
		api_list_drop(&w, &out);
		api_db_failure(r, r->ctx->db);
		goto out;
	}
	api_list_send(r, &w, &out);
out:
	filter_text_free(&t);
	buf_free(&out);
}
