/*
 * execution.h - the rules of executions, shared by the API handlers and
 * the CLI: submitting (validation before anything is queued), waiting
 * for the end, cancelling, and the JSON form of an execution.
 * The paths to this node's runners through shared memory are
 * dispatch.h's.
 */
#ifndef SCRIPTORCH_EXECUTION_H
#define SCRIPTORCH_EXECUTION_H

#include <stdint.h>
#include <yajl/yajl_tree.h>

#include "dispatch.h"
#include "verr.h"

struct buf;
struct conf;
struct db;
struct dbres;
struct jw;
struct script;
struct shm;

enum exec_submit_status {
	SUBMIT_OK = 0,
	SUBMIT_INVALID,     /* 422, e says why */
	SUBMIT_DISABLED,    /* 409 */
	SUBMIT_OVERLOADED,  /* 429 */
	SUBMIT_DB,          /* database failure */
};

/* What execution_submit() tells of the execution it queued. */
struct exec_submitted {
	long long id;
	uint32_t done_seen;     /* its completion word before any runner ran */
	int box;                /* the box of the runner it went to, or -1 */
};

/*
 * Validates `input` (NULL = {}) against the script (enabled, inputs
 * schema, args placeholders) and queues an execution with `trigger`
 * unless the queue is full (`queue_full`, as read with the script by
 * registry_load_for_submit: then SUBMIT_OVERLOADED; -1, not read: probed
 * here unless an idle runner takes the execution at once), then
 * hands it to or wakes a local runner. When `row` is not NULL it is
 * filled (store_exec_get's columns) by the INSERT itself, so it shows
 * the execution queued; the caller frees it after SUBMIT_OK. On
 * SUBMIT_OK *out says what was queued.
 */
enum exec_submit_status execution_submit(struct db *db,
    const struct conf *c, struct shm *shm, const struct script *s,
    yajl_val input, const char *trigger, int queue_full, struct dbres *row,
    struct exec_submitted *out, struct verr *e);

/*
 * Waits until execution `id` is final or `timeout_ms` passed, woken by the
 * runner through the shared region (and polling the database every 250 ms
 * for runners of other nodes). *final tells whether it ended. 0 or -1 (db).
 * `sub`: NULL, or what execution_submit() told of it: then the first read
 * of the row waits for the runner instead of coming at once, and the
 * runner it went to may leave its final row in its box: `json` then holds
 * the answer and `row` is empty. Otherwise `row` (store_exec_get's
 * columns) holds its latest state.
 */
int execution_wait(struct db *db, struct shm *shm, long long id,
    const struct exec_submitted *sub, int timeout_ms, struct dbres *row,
    struct buf *json, int *final);

/* 1 for succeeded, failed, timed_out, canceled, error, lost. */
int execution_status_final(const char *status);

/* Writes one execution from row `i` of a store_exec_get/list result;
 * `full` adds input, stdout and stderr. */
void execution_write_json(struct jw *w, const struct dbres *res, size_t i,
    int full);

/* Former names of the dispatch functions (dispatch.h), kept while
 * runner.c and master.c are moved to the dispatch_* calls. */
static inline size_t execution_handoff_list(struct shm *shm, long long *ids)
{ return dispatch_handoff_list(shm, ids); }
static inline long long execution_take_handoff(struct shm *shm)
{ return dispatch_take_handoff(shm); }
static inline int execution_scan_due(struct shm *shm, int poll_ms)
{ return dispatch_scan_due(shm, poll_ms); }
static inline void execution_backlog(struct shm *shm)
{ dispatch_backlog(shm); }
static inline void execution_backlog_none(struct shm *shm)
{ dispatch_backlog_none(shm); }
static inline int execution_work_waiting(struct shm *shm)
{ return dispatch_work_waiting(shm); }
static inline void execution_wake_one(struct shm *shm)
{ dispatch_wake_one(shm); }
static inline int execution_box_open(struct shm *shm)
{ return dispatch_box_open(shm); }
static inline void execution_box_close(struct shm *shm, int box)
{ dispatch_box_close(shm, box); }
static inline int execution_box_take(struct shm *shm, int box,
    struct box_job *j)
{ return dispatch_box_take(shm, box, j); }
static inline int execution_box_reserved(struct shm *shm, int box)
{ return dispatch_box_reserved(shm, box); }
static inline int execution_box_busy(struct shm *shm, int box)
{ return dispatch_box_busy(shm, box); }
static inline uint32_t execution_box_idle(struct shm *shm, int box)
{ return dispatch_box_idle(shm, box); }
static inline void execution_box_result_put(struct shm *shm, int box,
    long long id, const char *json, size_t len)
{ dispatch_box_result_put(shm, box, id, json, len); }
static inline void execution_box_forget(struct shm *shm, int pid)
{ dispatch_box_forget(shm, pid); }
static inline void execution_notify_done(struct shm *shm, long long id)
{ dispatch_notify_done(shm, id); }

#endif
