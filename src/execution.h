/*
 * execution.h - the rules of executions, shared by the API handlers and
 * the CLI: submitting (validation before anything is queued), waiting
 * for the end, cancelling, and the JSON form of an execution.
 */
#ifndef SCRIPTORCH_EXECUTION_H
#define SCRIPTORCH_EXECUTION_H

#include <yajl/yajl_tree.h>

#include "verr.h"

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

/*
 * Validates `input` (NULL = {}) against the script (enabled, inputs
 * schema, args placeholders) and queues an execution with `trigger`, then
 * wakes a local runner. *id gets the new execution's id.
 */
enum exec_submit_status execution_submit(struct db *db,
    const struct conf *c, struct shm *shm, const struct script *s,
    yajl_val input, const char *trigger, long long *id, struct verr *e);

/*
 * Waits until execution `id` is final or `timeout_ms` passed, woken by the
 * runner through the shared region (and polling the database every 250 ms
 * for runners of other nodes). Fills `row` (store_exec_get's columns)
 * with its latest state; *final tells whether it ended. 0 or -1 (db).
 */
int execution_wait(struct db *db, struct shm *shm, long long id,
    int timeout_ms, struct dbres *row, int *final);

/*
 * The direct hand-off of a just-queued execution to an idle local runner,
 * so that it need not search the queue: the runner reads that one row and
 * claims it by id while its child is being set up. A hand-off may be lost
 * (a runner dies holding it): the row is queued all the same, and the
 * queue scan finds it. Scripts with max_concurrency are never handed off.
 */
/* Takes a handed-off id, or returns 0 when none is waiting. */
long long execution_take_handoff(struct shm *shm);
/* Runners say when they sleep, so hand-offs happen only when one is idle
 * (a busy node keeps to the queue's order). */
void execution_runner_idle(struct shm *shm, int idle);

/* 1 for succeeded, failed, timed_out, canceled, error, lost. */
int execution_status_final(const char *status);

/* Writes one execution from row `i` of a store_exec_get/list result;
 * `full` adds input, stdout and stderr. */
void execution_write_json(struct jw *w, const struct dbres *res, size_t i,
    int full);

/* Tells local runners that execution `id` should be cancelled, and
 * waiters that something changed. */
void execution_notify_cancel(struct shm *shm);
void execution_notify_done(struct shm *shm, long long id);

#endif
