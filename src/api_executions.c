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
#include "conf.h"
#include "db.h"
#include "execution.h"
#include "json.h"
#include "log.h"
#include "registry.h"
#include "shm.h"
#include "store.h"

#define MAX_WAIT_S 300
/* The test endpoint waits at most this long, inside nginx's read timeout
 * of 330 s; a longer run answers 202 and goes on. */
#define TEST_WAIT_S 320

static void
answer_execution(struct request *r, int status, const struct dbres *row)
{
	struct buf out = BUF_INIT;
	struct jw w;

	jw_init(&w, &out);
	execution_write_json(&w, row, 0, 1);
	jw_free(&w);
	resp_json(r, status, &out);
	buf_free(&out);
}

/* Loads the script named by r->params[0] (an id or a name). The file is
 * not looked at here: the runner checks its version before the run. */
static int
load_script(struct request *r, struct script *s, int *queue_full)
{
	int maxq = r->ctx->conf->queue_max_depth;
	uint32_t gen = atomic_load(&r->ctx->shm->script_gen);
	const char *p = r->params[0];
	enum reg_status rs;

	if (strspn(p, "0123456789") == strlen(p)) {
		unsigned long long id = api_param_id(r, 0, "script");
		if (id == 0)
			return -1;
		rs = registry_load_for_submit(r->ctx->db, r->ctx->scripts,
		    gen, (long long)id, NULL, maxq, s, queue_full);
	} else {
		rs = registry_load_for_submit(r->ctx->db, r->ctx->scripts,
		    gen, 0, p, maxq, s, queue_full);
	}
	if (rs == REG_NOT_FOUND) {
		resp_error(r, 404, "not_found", NULL, "no script \"%s\"", p);
		return -1;
	}
	if (rs == REG_DB) {
		api_db_failure(r, r->ctx->db);
		return -1;
	}
	return 0;
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

static void
submit_and_answer(struct request *r, const char *trigger, int wait_s)
{
	struct script s;
	struct verr e;
	yajl_val body = NULL, input = NULL;
	struct exec_submitted sub;
	struct dbres row;
	struct buf answer = BUF_INIT;
	int final = 0, queue_full = 0;

	memset(&s, 0, sizeof(s));
	memset(&row, 0, sizeof(row));
	verr_clear(&e);
	if (load_script(r, &s, &queue_full) == -1)
		goto out;
	if (parse_input(r, &body, &input) == -1)
		goto out;
	switch (execution_submit(r->ctx->db, r->ctx->conf, r->ctx->shm, &s,
	    input, trigger, queue_full, wait_s == 0 ? &row : NULL, &sub,
	    &e)) {
	case SUBMIT_OK:
		break;
	case SUBMIT_INVALID:
		resp_error(r, 422, "validation_failed", e.field, "%s", e.message);
		goto out;
	case SUBMIT_DISABLED:
		resp_error(r, 409, "conflict", NULL, "%s", e.message);
		goto out;
	case SUBMIT_OVERLOADED:
		req_add_header(r, "Retry-After", "5");
		resp_error(r, 429, "overloaded", NULL, "%s", e.message);
		goto out;
	case SUBMIT_DB:
		api_db_failure(r, r->ctx->db);
		goto out;
	}
	/* Not waited for: row is the execution as it was queued. */
	if (wait_s != 0 && execution_wait(r->ctx->db, r->ctx->shm, sub.id,
	    &sub, wait_s * 1000, &row, &answer, &final) == -1) {
		api_db_failure(r, r->ctx->db);
		goto out;
	}
	if (answer.len)         /* the final row, left by the runner */
		resp_json(r, 200, &answer);
	else if (row.nrows == 1)
		answer_execution(r, final ? 200 : 202, &row);
	else
		resp_error(r, 500, "internal", NULL, "execution %lld vanished",
		    sub.id);
	dbres_free(&row);
out:
	buf_free(&answer);
	yajl_tree_free(body);
	script_free(&s);
}

void
api_exec_submit(struct request *r)
{
	struct buf v = BUF_INIT;
	const char *w = req_query(r, "wait", &v);
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
	submit_and_answer(r, "api", wait_s);
}

void
api_script_test(struct request *r)
{
	submit_and_answer(r, "test", TEST_WAIT_S);
}

void
api_exec_get(struct request *r)
{
	unsigned long long id = api_param_id(r, 0, "execution");
	struct dbres row;

	if (id == 0)
		return;
	if (store_exec_get(r->ctx->db, (long long)id, &row) == -1) {
		api_db_failure(r, r->ctx->db);
		return;
	}
	if (row.nrows == 0)
		resp_error(r, 404, "not_found", NULL, "no execution %llu", id);
	else
		answer_execution(r, 200, &row);
	dbres_free(&row);
}

static void
stream(struct request *r, int which_stderr)
{
	unsigned long long id = api_param_id(r, 0, "execution");
	struct dbres res;

	if (id == 0)
		return;
	if (store_exec_stream(r->ctx->db, (long long)id, which_stderr,
	    &res) == -1) {
		api_db_failure(r, r->ctx->db);
		return;
	}
	if (res.nrows == 0) {
		resp_error(r, 404, "not_found", NULL, "no execution %llu", id);
	} else {
		char disp[96];
		snprintf(disp, sizeof(disp), "attachment; filename=\"execution-"
		    "%llu.%s\"", id, which_stderr ? "stderr" : "stdout");
		req_add_header(r, "Content-Disposition", disp);
		const char *v = dbres_get(&res, 0, 0);
		resp_raw(r, 200, "application/octet-stream", v ? v : "",
		    v ? dbres_len(&res, 0, 0) : 0);
	}
	dbres_free(&res);
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
	struct dbres row;
	int outcome, final;

	if (id == 0)
		return;
	if (store_exec_cancel(r->ctx->db, (long long)id, &outcome) == -1) {
		api_db_failure(r, r->ctx->db);
		return;
	}
	if (outcome == -1) {
		resp_error(r, 404, "not_found", NULL, "no execution %llu", id);
		return;
	}
	if (outcome == 0) {
		resp_error(r, 409, "conflict", NULL,
		    "execution %llu already finished", id);
		return;
	}
	if (outcome == 1)
		dispatch_notify_done(r->ctx->shm, (long long)id);
	else
		dispatch_notify_cancel(r->ctx->shm);
	store_audit(r->ctx->db, r->token_name, "execution.cancel",
	    "execution", (long long)id, NULL);
	/* A running one ends within a tick or two on this node; wait a
	 * little so the answer usually shows "canceled" already. */
	if (execution_wait(r->ctx->db, r->ctx->shm, (long long)id, NULL,
	    outcome == 2 ? (int)(r->ctx->conf->kill_grace_s * 1000) + 2000 : 0,
	    &row, NULL, &final) == -1) {
		api_db_failure(r, r->ctx->db);
		return;
	}
	if (row.nrows == 1)
		answer_execution(r, 200, &row);
	else
		resp_error(r, 404, "not_found", NULL, "no execution %llu", id);
	dbres_free(&row);
}

static const char *statuses[] = { "queued", "running", "succeeded", "failed",
	"timed_out", "canceled", "error", "lost", NULL };

void
api_exec_list(struct request *r)
{
	struct exec_filter f;
	struct buf sid = BUF_INIT, st = BUF_INIT, tr = BUF_INIT, since = BUF_INIT;
	struct buf lim = BUF_INIT, cur = BUF_INIT, out = BUF_INIT;
	const char *v;
	char since_db[40], *end;
	struct dbres res;
	struct jw w;

	memset(&f, 0, sizeof(f));
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
		int ok = 0;
		for (int i = 0; statuses[i]; i++)
			if (strcmp(statuses[i], v) == 0)
				ok = 1;
		if (!ok) {
			resp_error(r, 422, "validation_failed", "status",
			    "status must be one of queued, running, succeeded, "
			    "failed, timed_out, canceled, error, lost");
			goto out;
		}
		f.status = v;
	}
	if ((v = req_query(r, "trigger", &tr)) != NULL && *v)
		f.trigger = v;
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
	if (store_exec_list(r->ctx->db, &f, &res) == -1) {
		api_db_failure(r, r->ctx->db);
		goto out;
	}
	jw_init(&w, &out);
	jw_obj(&w);
	jw_key(&w, "executions");
	jw_arr(&w);
	for (size_t i = 0; i < res.nrows; i++)
		execution_write_json(&w, &res, i, 0);
	jw_arr_end(&w);
	jw_key(&w, "next_cursor");
	if (res.nrows == (size_t)f.limit)
		jw_str(&w, dbres_get(&res, res.nrows - 1, EC_ID));
	else
		jw_null(&w);
	jw_obj_end(&w);
	jw_free(&w);
	dbres_free(&res);
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
