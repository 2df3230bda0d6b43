/*
 * execution.c - submitting, waiting for and rendering executions; the
 * shared-memory paths to the runners are dispatch.c's.
 */
#include "config.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "argtpl.h"
#include "buf.h"
#include "clock.h"
#include "conf.h"
#include "db.h"
#include "dispatch.h"
#include "execution.h"
#include "json.h"
#include "log.h"
#include "registry.h"
#include "schema.h"
#include "shm.h"
#include "store.h"

int
execution_status_final(const char *status)
{
	return strcmp(status, "queued") != 0 && strcmp(status, "running") != 0;
}

static int
has_output_file(const struct script *s)
{
	char err[64];
	yajl_val o = json_parse(s->outputs_json, strlen(s->outputs_json), err,
	    sizeof(err));
	int has = json_get_str(o, "file") != NULL;

	yajl_tree_free(o);
	return has;
}

enum exec_submit_status
execution_submit(struct db *db, const struct conf *c, struct shm *shm,
    const struct script *s, yajl_val input, const char *trigger,
    int queue_full, struct dbres *row, struct exec_submitted *out,
    struct verr *e)
{
	long long *id = &out->id;
	enum exec_submit_status rc = SUBMIT_INVALID;
	yajl_val schema = NULL, args = NULL;
	struct buf in_json = BUF_INIT;
	char err[256];
	int box = -1, runner_pid = 0;

	memset(out, 0, sizeof(*out));
	out->box = -1;
	if (!s->enabled) {
		verr_set(e, "", "script \"%s\" is disabled", s->name);
		return SUBMIT_DISABLED;
	}
	if (input != NULL && !YAJL_IS_OBJECT(input)) {
		verr_set(e, "input", "input must be a JSON object");
		return SUBMIT_INVALID;
	}
	if (s->inputs_json != NULL) {
		schema = json_parse(s->inputs_json, strlen(s->inputs_json), err,
		    sizeof(err));
		if (schema != NULL && !YAJL_IS_NULL(schema)) {
			struct yajl_val_s empty;
			memset(&empty, 0, sizeof(empty));
			empty.type = yajl_t_object;
			if (schema_validate(schema, input ? input : &empty,
			    "input", e) == -1)
				goto out;
		}
	}
	args = json_parse(s->args_json, strlen(s->args_json), err, sizeof(err));
	if (args == NULL) {
		verr_set(e, "args", "the script's args are not valid JSON: %s",
		    err);
		goto out;
	}
	if (argtpl_check_input(args, input, has_output_file(s), e) == -1)
		goto out;
	if (input != NULL)
		json_dump(&in_json, input);
	else
		buf_adds(&in_json, "{}");
	/* An idle local runner, reserved now, gets the execution with its
	 * input directly, and the row names it, so no other runner or node
	 * takes it: inserted running when the caller waits for the end (no
	 * `row`), else queued until that runner has started it. With `row`,
	 * the INSERT returns it: the answer shows the execution as it was
	 * queued, before the runner can take it. */
	if (s->max_concurrency == 0)
		box = dispatch_box_reserve(shm, &runner_pid);
	/* Not probed with the script (it was remembered): only a run that
	 * would wait for a runner is held against the queue's limit. */
	if (queue_full < 0 && box < 0 &&
	    store_exec_queue_full(db, c->queue_max_depth, &queue_full) == -1) {
		rc = SUBMIT_DB;
		goto out;
	}
	if (queue_full > 0) {
		if (box >= 0)
			dispatch_box_unreserve(shm, box);
		verr_set(e, "", "the queue holds %d executions, its limit",
		    c->queue_max_depth);
		rc = SUBMIT_OVERLOADED;
		goto out;
	}
	struct exec_reserved rsv = { c->node_name, runner_pid, row == NULL };
	if (store_exec_enqueue(db, s->id, s->name, trigger,
	    buf_str(&in_json), box >= 0 ? &rsv : NULL, id, row) == -1) {
		if (box >= 0)
			dispatch_box_unreserve(shm, box);
		rc = SUBMIT_DB;
		goto out;
	}
	/* Before any local runner can take it: a waiter cannot miss its
	 * completion. */
	out->done_seen = dispatch_done_seen(shm, *id);
	if (box >= 0) {
		out->box = box;
		dispatch_box_assign(shm, box, *id, row == NULL, s->id,
		    s->updated_at, buf_str(&in_json), in_json.len);
	} else {
		if (s->max_concurrency != 0 ||
		    dispatch_handoff(shm, *id) == -1)
			dispatch_backlog(shm);
		/* One idle local runner is enough; others poll for other
		 * nodes. */
		dispatch_wake_one(shm);
	}
	rc = SUBMIT_OK;
out:
	yajl_tree_free(schema);
	yajl_tree_free(args);
	buf_free(&in_json);
	return rc;
}

int
execution_wait(struct db *db, struct shm *shm, long long id,
    const struct exec_submitted *sub, int timeout_ms, struct dbres *row,
    struct buf *json, int *final)
{
	double deadline = clock_mono_ms() + timeout_ms;

	*final = 0;
	memset(row, 0, sizeof(*row));
	/* Just queued: it cannot be final before its word changes. */
	if (sub != NULL && timeout_ms > 0)
		dispatch_done_wait(shm, id, sub->done_seen, timeout_ms > 250 ?
		    250 : timeout_ms);
	for (;;) {
		/* Read the word before the row: a finish in between changes
		 * the word, and the wait below returns at once. */
		uint32_t seen = dispatch_done_seen(shm, id);
		if (sub != NULL && sub->box >= 0 &&
		    dispatch_box_result_get(shm, sub->box, id, json)) {
			*final = 1;
			return 0;
		}
		if (store_exec_get(db, id, row) == -1)
			return -1;
		if (row->nrows == 1 &&
		    execution_status_final(dbres_get(row, 0, EC_STATUS))) {
			*final = 1;
			return 0;
		}
		double left = deadline - clock_mono_ms();
		if (row->nrows == 0 || left <= 0)
			return 0;
		dbres_free(row);
		dispatch_done_wait(shm, id, seen, left > 250 ? 250 :
		    (int)left + 1);
	}
}

static void
key_ts(struct jw *w, const char *key, const char *db_ts)
{
	char ts[40];

	jw_key(w, key);
	jw_str(w, clock_db_to_rfc3339(db_ts, ts, sizeof(ts)));
}

static void
key_int(struct jw *w, const char *key, const char *v)
{
	jw_key(w, key);
	if (v == NULL)
		jw_null(w);
	else
		jw_int(w, strtoll(v, NULL, 10));
}

/* A captured file: text when it is UTF-8, else {"base64": "..."}. */
static void
write_output_file(struct jw *w, const char *data, size_t len)
{
	size_t n;
	char *b64;

	if (data == NULL) {
		jw_null(w);
		return;
	}
	if (utf8_valid(data, len)) {
		jw_strn(w, data, len);
		return;
	}
	n = sodium_base64_ENCODED_LEN(len, sodium_base64_VARIANT_ORIGINAL);
	if ((b64 = malloc(n)) == NULL)
		fatal("malloc");
	sodium_bin2base64(b64, n, (const unsigned char *)data, len,
	    sodium_base64_VARIANT_ORIGINAL);
	jw_obj(w);
	jw_key(w, "base64");
	jw_str(w, b64);
	jw_obj_end(w);
	free(b64);
}

void
execution_write_json(struct jw *w, const struct dbres *res, size_t i, int full)
{
#define COL(c) dbres_get(res, i, (c))
	const char *v;

	jw_obj(w);
	key_int(w, "id", COL(EC_ID));
	key_int(w, "script_id", COL(EC_SCRIPT_ID));
	jw_key(w, "script_name");
	jw_str(w, COL(EC_SCRIPT_NAME));
	jw_key(w, "script_version");
	jw_str(w, COL(EC_SCRIPT_VERSION));
	jw_key(w, "trigger");
	jw_str(w, COL(EC_TRIGGER));
	jw_key(w, "status");
	jw_str(w, COL(EC_STATUS));
	if (full) {
		jw_key(w, "input");
		v = COL(EC_INPUT);
		jw_raw_json(w, v, v ? strlen(v) : 0);
	}
	key_int(w, "exit_code", COL(EC_EXIT_CODE));
	key_int(w, "signal", COL(EC_SIGNAL));
	if (full) {
		jw_key(w, "stdout");
		v = COL(EC_STDOUT);
		jw_strn(w, v ? v : "", v ? dbres_len(res, i, EC_STDOUT) : 0);
		jw_key(w, "stderr");
		v = COL(EC_STDERR);
		jw_strn(w, v ? v : "", v ? dbres_len(res, i, EC_STDERR) : 0);
	}
	jw_key(w, "stdout_truncated");
	jw_bool(w, COL(EC_STDOUT_TRUNC) && strcmp(COL(EC_STDOUT_TRUNC), "1") == 0);
	jw_key(w, "stderr_truncated");
	jw_bool(w, COL(EC_STDERR_TRUNC) && strcmp(COL(EC_STDERR_TRUNC), "1") == 0);
	jw_key(w, "output");
	v = COL(EC_OUTPUT);
	if (v == NULL)
		jw_null(w);
	else
		jw_raw_json(w, v, strlen(v));
	jw_key(w, "output_file");
	write_output_file(w, COL(EC_OUTPUT_FILE),
	    COL(EC_OUTPUT_FILE) ? dbres_len(res, i, EC_OUTPUT_FILE) : 0);
	jw_key(w, "error");
	jw_str(w, COL(EC_ERROR));
	key_ts(w, "queued_at", COL(EC_QUEUED_AT));
	key_ts(w, "started_at", COL(EC_STARTED_AT));
	key_ts(w, "finished_at", COL(EC_FINISHED_AT));
	jw_key(w, "duration_ms");
	v = COL(EC_DURATION_MS);
	if (v == NULL)
		jw_null(w);
	else
		jw_double(w, strtod(v, NULL));
	key_int(w, "cpu_user_ms", COL(EC_CPU_USER_MS));
	key_int(w, "cpu_system_ms", COL(EC_CPU_SYSTEM_MS));
	key_int(w, "max_rss_kb", COL(EC_MAX_RSS_KB));
	jw_key(w, "node");
	jw_str(w, COL(EC_NODE));
	jw_obj_end(w);
#undef COL
}
