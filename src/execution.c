/*
 * execution.c - submitting, waiting for and rendering executions.
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
#include "execution.h"
#include "json.h"
#include "log.h"
#include "registry.h"
#include "schema.h"
#include "shm.h"
#include "store.h"
#include "wake.h"

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

int
execution_handoff(struct shm *shm, long long id)
{
	for (unsigned i = 0; i < SHM_HANDOFF_SLOTS; i++) {
		_Atomic int64_t *slot = &shm->handoff[((unsigned long long)id +
		    i) % SHM_HANDOFF_SLOTS];
		int64_t empty = 0;
		if (atomic_compare_exchange_strong(slot, &empty, id))
			return 0;
	}
	return -1;
}

long long
execution_take_handoff(struct shm *shm)
{
	/* The smallest id first: ids grow with the queue, so hand-offs are
	 * taken in queue order. A slot emptied by another runner between
	 * the look and the swap means: look again. */
	for (;;) {
		unsigned best = 0;
		int64_t v, min = 0;

		for (unsigned i = 0; i < SHM_HANDOFF_SLOTS; i++) {
			v = atomic_load(&shm->handoff[i]);
			if (v > 0 && (min == 0 || v < min)) {
				min = v;
				best = i;
			}
		}
		if (min == 0)
			return 0;
		v = min;
		if (atomic_compare_exchange_strong(&shm->handoff[best], &v, 0))
			return min;
	}
}

size_t
execution_handoff_list(struct shm *shm, long long *ids)
{
	size_t n = 0;

	for (unsigned i = 0; i < SHM_HANDOFF_SLOTS; i++) {
		int64_t v = atomic_load(&shm->handoff[i]);
		if (v > 0)
			ids[n++] = v;
	}
	return n;
}

int
execution_scan_due(struct shm *shm, int poll_ms)
{
	int64_t now, last;
	int32_t b = atomic_load(&shm->backlog);

	while (b > 0)
		if (atomic_compare_exchange_weak(&shm->backlog, &b, b - 1))
			return 1;
	now = (int64_t)clock_mono_ms();
	last = atomic_load(&shm->last_poll_ms);
	return now - last >= poll_ms &&
	    atomic_compare_exchange_strong(&shm->last_poll_ms, &last, now);
}

void
execution_backlog(struct shm *shm)
{
	atomic_fetch_add(&shm->backlog, 1);
}

void
execution_backlog_none(struct shm *shm)
{
	int32_t b = atomic_load(&shm->backlog);

	/* Only if nobody added meanwhile. */
	if (b > 0)
		atomic_compare_exchange_strong(&shm->backlog, &b, 0);
}

/* The state of a box reserved by the API worker `pid`. */
static int64_t
box_reserved(int pid)
{
	return -2 - (int64_t)pid;
}

int
execution_box_reserve(struct shm *shm, int *runner_pid)
{
	int64_t mine = box_reserved((int)getpid());

	/* Lowest first: work gathers on few runners, whose connections and
	 * caches stay warm. */
	for (int i = 0; i < SHM_RUNNER_BOXES; i++) {
		struct runner_box *b = &shm->box[i];
		int64_t idle = BOX_IDLE;
		int32_t owner = atomic_load(&b->owner);

		if (owner != 0 && atomic_load(&b->state) == BOX_IDLE &&
		    atomic_compare_exchange_strong(&b->state, &idle, mine)) {
			*runner_pid = owner;
			return i;
		}
	}
	return -1;
}

void
execution_box_unreserve(struct shm *shm, int box)
{
	int64_t mine = box_reserved((int)getpid());

	atomic_compare_exchange_strong(&shm->box[box].state, &mine, BOX_IDLE);
}

void
execution_box_assign(struct shm *shm, int box, long long id, int running,
    const struct script *s, const char *input_json, size_t input_len)
{
	struct runner_box *b = &shm->box[box];

	/* The reservation makes these ours until the id is published. */
	b->running = running;
	b->script_id = s->id;
	snprintf(b->script_updated_at, sizeof(b->script_updated_at), "%s",
	    s->updated_at);
	b->queued_ms = clock_mono_ms();
	b->input_len = input_len;
	if (input_len <= BOX_INPUT_MAX) {
		memcpy(b->input, input_json, input_len);
		b->input[input_len] = '\0';
	}
	atomic_store(&b->state, (int64_t)id);
	wake_bump(&b->bell, 1);
}

int
execution_box_open(struct shm *shm)
{
	int32_t me = (int32_t)getpid();

	for (int i = 0; i < SHM_RUNNER_BOXES; i++) {
		int32_t free_owner = 0;
		int64_t v;

		if (!atomic_compare_exchange_strong(&shm->box[i].owner,
		    &free_owner, me))
			continue;
		/* An id left for a runner that died is not ours to start: it
		 * may have waited past the heartbeat timeout, and the sweep
		 * ends its row lost. A worker still inserting for the box
		 * assigns to us (a fresh row): that reservation stays. */
		v = atomic_load(&shm->box[i].state);
		if (v >= BOX_IDLE)
			atomic_compare_exchange_strong(&shm->box[i].state, &v,
			    BOX_BUSY);
		return i;
	}
	return -1;
}

void
execution_box_close(struct shm *shm, int box)
{
	atomic_store(&shm->box[box].state, BOX_BUSY);
	atomic_store(&shm->box[box].owner, 0);
}

int
execution_box_take(struct shm *shm, int box, struct box_job *j)
{
	struct runner_box *b = &shm->box[box];
	int64_t id = atomic_load(&b->state);

	if (id <= 0)
		return 0;
	memset(j, 0, sizeof(*j));
	j->id = id;
	j->running = b->running;
	j->script_id = b->script_id;
	memcpy(j->script_updated_at, b->script_updated_at,
	    sizeof(j->script_updated_at));
	j->queued_ms = b->queued_ms;
	if (b->input_len <= BOX_INPUT_MAX)
		j->input_json = xstrdup(b->input);
	/* Only the owner leaves an id: no race here. */
	atomic_store(&b->state, BOX_BUSY);
	return 1;
}

int
execution_box_reserved(struct shm *shm, int box)
{
	return atomic_load(&shm->box[box].state) < BOX_IDLE;
}

int
execution_box_busy(struct shm *shm, int box)
{
	int64_t v = atomic_load(&shm->box[box].state);

	if (v == BOX_BUSY)
		return 0;
	return v == BOX_IDLE && atomic_compare_exchange_strong(
	    &shm->box[box].state, &v, BOX_BUSY) ? 0 : -1;
}

uint32_t
execution_box_idle(struct shm *shm, int box)
{
	uint32_t seen = wake_read(&shm->box[box].bell);
	int64_t busy = BOX_BUSY;

	atomic_compare_exchange_strong(&shm->box[box].state, &busy, BOX_IDLE);
	return seen;
}

void
execution_box_result_put(struct shm *shm, int box, long long id,
    const char *json, size_t len)
{
	struct runner_box *b = &shm->box[box];
	uint32_t s = atomic_load_explicit(&b->result_seq,
	    memory_order_relaxed);

	if (len > BOX_RESULT_MAX)
		return;
	/* Odd while writing. Left odd by a runner that died writing: the
	 * box's next owner goes on from there. */
	s += (s & 1) ? 1 : 2;
	atomic_store_explicit(&b->result_seq, s - 1, memory_order_relaxed);
	atomic_thread_fence(memory_order_release);
	atomic_store_explicit(&b->result_id, id, memory_order_relaxed);
	atomic_store_explicit(&b->result_len, (uint32_t)len,
	    memory_order_relaxed);
	memcpy(b->result, json, len);
	atomic_store_explicit(&b->result_seq, s, memory_order_release);
}

int
execution_box_result_get(struct shm *shm, int box, long long id,
    struct buf *out)
{
	struct runner_box *b = &shm->box[box];
	uint32_t s = atomic_load_explicit(&b->result_seq,
	    memory_order_acquire);
	uint32_t len;

	if ((s & 1) ||
	    atomic_load_explicit(&b->result_id, memory_order_relaxed) != id)
		return 0;
	len = atomic_load_explicit(&b->result_len, memory_order_relaxed);
	if (len > BOX_RESULT_MAX)
		return 0;
	buf_reset(out);
	buf_add(out, b->result, len);
	/* Unchanged since before the copy: the copy is whole. */
	atomic_thread_fence(memory_order_acquire);
	if (atomic_load_explicit(&b->result_seq, memory_order_relaxed) != s) {
		buf_reset(out);
		return 0;
	}
	return 1;
}

int
execution_work_waiting(struct shm *shm)
{
	if (atomic_load(&shm->backlog) > 0)
		return 1;
	for (unsigned i = 0; i < SHM_HANDOFF_SLOTS; i++)
		if (atomic_load(&shm->handoff[i]) > 0)
			return 1;
	return 0;
}

void
execution_box_forget(struct shm *shm, int pid)
{
	int64_t theirs = box_reserved(pid);

	for (int i = 0; i < SHM_RUNNER_BOXES; i++) {
		struct runner_box *b = &shm->box[i];
		int64_t v = theirs;

		/* A worker's reservation: its INSERT never finished, or its
		 * row, reserved for the runner, ends lost through the
		 * heartbeat sweep. */
		atomic_compare_exchange_strong(&b->state, &v, BOX_IDLE);
		if (atomic_load(&b->owner) != pid)
			continue;
		/* A runner's box: an id it never took was inserted running
		 * or reserved for it, so nobody else starts it, and the
		 * sweep ends it lost too. A worker's reservation stays: its
		 * assignment goes to the next runner that opens the box. */
		v = atomic_load(&b->state);
		if (v >= BOX_IDLE)
			atomic_compare_exchange_strong(&b->state, &v, BOX_BUSY);
		atomic_store(&b->owner, 0);
	}
}

void
execution_wake_one(struct shm *shm)
{
	for (int i = 0; i < SHM_RUNNER_BOXES; i++)
		if (atomic_load(&shm->box[i].owner) != 0 &&
		    atomic_load(&shm->box[i].state) == BOX_IDLE) {
			wake_bump(&shm->box[i].bell, 1);
			return;
		}
	/* Runners without a box sleep on the queue word. */
	wake_bump(&shm->queue_gen, 1);
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
		box = execution_box_reserve(shm, &runner_pid);
	/* Not probed with the script (it was remembered): only a run that
	 * would wait for a runner is held against the queue's limit. */
	if (queue_full < 0 && box < 0 &&
	    store_exec_queue_full(db, c->queue_max_depth, &queue_full) == -1) {
		rc = SUBMIT_DB;
		goto out;
	}
	if (queue_full > 0) {
		if (box >= 0)
			execution_box_unreserve(shm, box);
		verr_set(e, "", "the queue holds %d executions, its limit",
		    c->queue_max_depth);
		rc = SUBMIT_OVERLOADED;
		goto out;
	}
	struct exec_reserved rsv = { c->node_name, runner_pid, row == NULL };
	if (store_exec_enqueue(db, s->id, s->name, trigger,
	    buf_str(&in_json), box >= 0 ? &rsv : NULL, id, row) == -1) {
		if (box >= 0)
			execution_box_unreserve(shm, box);
		rc = SUBMIT_DB;
		goto out;
	}
	/* Before any local runner can take it: a waiter cannot miss its
	 * completion. */
	out->done_seen = wake_read(&shm->done_gen[(unsigned long long)*id %
	    SHM_DONE_SLOTS]);
	if (box >= 0) {
		out->box = box;
		execution_box_assign(shm, box, *id, row == NULL, s,
		    buf_str(&in_json), in_json.len);
	} else {
		if (s->max_concurrency != 0 ||
		    execution_handoff(shm, *id) == -1)
			execution_backlog(shm);
		/* One idle local runner is enough; others poll for other
		 * nodes. */
		execution_wake_one(shm);
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
	_Atomic uint32_t *word = &shm->done_gen[(unsigned long long)id %
	    SHM_DONE_SLOTS];
	double deadline = clock_mono_ms() + timeout_ms;

	*final = 0;
	memset(row, 0, sizeof(*row));
	/* Just queued: it cannot be final before its word changes. */
	if (sub != NULL && timeout_ms > 0)
		wake_wait(word, sub->done_seen, timeout_ms > 250 ? 250 :
		    timeout_ms);
	for (;;) {
		/* Read the word before the row: a finish in between changes
		 * the word, and the wait below returns at once. */
		uint32_t seen = wake_read(word);
		if (sub != NULL && sub->box >= 0 &&
		    execution_box_result_get(shm, sub->box, id, json)) {
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
		wake_wait(word, seen, left > 250 ? 250 : (int)left + 1);
	}
}

void
execution_notify_cancel(struct shm *shm)
{
	wake_bump(&shm->cancel_gen, -1);
}

void
execution_notify_done(struct shm *shm, long long id)
{
	wake_bump(&shm->done_gen[(unsigned long long)id % SHM_DONE_SLOTS], -1);
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
