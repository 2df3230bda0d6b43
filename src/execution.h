/*
 * execution.h - the rules of executions, shared by the API handlers and
 * the CLI: submitting (validation before anything is queued), waiting
 * for the end, cancelling, and the JSON form of an execution.
 */
#ifndef SCRIPTORCH_EXECUTION_H
#define SCRIPTORCH_EXECUTION_H

#include <stdint.h>
#include <yajl/yajl_tree.h>

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

/*
 * The direct hand-off of a just-queued execution to a local runner, so
 * that it need not search the queue: the runner reads that one row (with
 * its script) and claims it by id just before starting it. Runners take
 * hand-offs smallest id first, i.e. in queue order. A hand-off may be
 * lost (a runner dies holding it): the row is queued all the same, and
 * the queue scan finds it. Scripts with max_concurrency are never handed
 * off.
 */
/* Puts `id` in a free hand-off slot: 0. Else (all taken) -1: a runner
 * must find it by scanning the queue. */
int execution_handoff(struct shm *shm, long long id);
/* Takes a handed-off id, or returns 0 when none is waiting. */
long long execution_take_handoff(struct shm *shm);
/* The ids waiting in hand-off slots now (at most SHM_HANDOFF_SLOTS):
 * a queue scan passes over them. Returns how many. */
size_t execution_handoff_list(struct shm *shm, long long *ids);
/* Whether this runner should scan the queue now: a backlog is counted
 * (execution_backlog; this takes one), or no runner of this node has
 * polled for other nodes' work within poll_ms. */
int execution_scan_due(struct shm *shm, int poll_ms);
/* Counts queued work that no hand-off covers: one scan more. */
void execution_backlog(struct shm *shm);
/* A scan found nothing it may start: forget the rest of the backlog
 * (what frees a limit counts again). */
void execution_backlog_none(struct shm *shm);

/*
 * Direct assignment, ahead of the hand-off slots. Each runner owns a
 * mailbox (struct runner_box); when it has nothing to do it marks the
 * box idle and sleeps on the box's bell. An API worker reserves an idle
 * runner (one compare-and-swap on the box's state, so no two workers get
 * the same runner), inserts the execution, and puts the id, the input
 * and the script's identity in the box: the runner starts it without
 * reading the row, and with a script it has cached, without any read.
 * When the caller waits for the end, the row is inserted already
 * running for that runner and nobody else can take it, so there is no
 * claim either; otherwise it is inserted queued (the 202 shows it so)
 * and the runner claims it as it claims a hand-off. The master frees a
 * dead worker's reservations and a dead runner's box
 * (execution_box_forget); a row inserted running for a runner that died
 * before it started the child ends `lost`, like any run of a dead
 * runner. Scripts with max_concurrency are never assigned.
 */
#define BOX_BUSY 0
#define BOX_IDLE (-1)

/* What a runner finds in its box. */
struct box_job {
	long long id;
	int running;                /* inserted running for us: no claim */
	long long script_id;
	char script_updated_at[32];
	double queued_ms;           /* clock_mono_ms() of the INSERT */
	char *input_json;           /* owned; NULL: too big, read the row */
};

/* API worker: reserves an idle runner for the execution about to be
 * inserted. Returns its box (and *runner_pid), or -1 when none is idle. */
int execution_box_reserve(struct shm *shm, int *runner_pid);
/* The INSERT failed: the runner is idle again. */
void execution_box_unreserve(struct shm *shm, int box);
/* Hands execution `id` (of script s, with its compact input) to the
 * reserved runner and rings it. */
void execution_box_assign(struct shm *shm, int box, long long id,
    int running, const struct script *s, const char *input_json,
    size_t input_len);

/* Runner: takes a free box for this process; -1 when all are in use
 * (the runner then works from hand-offs and scans only). */
int execution_box_open(struct shm *shm);
/* Leaves the box; its state must be BOX_BUSY (execution_box_busy). */
void execution_box_close(struct shm *shm, int box);
/* Takes the execution assigned to the box: 1 (j filled, the box busy
 * again), or 0. */
int execution_box_take(struct shm *shm, int box, struct box_job *j);
/* 1 while an API worker holds a reservation of the box. */
int execution_box_reserved(struct shm *shm, int box);
/* Marks the box busy before the runner takes other work: 0, or -1 when
 * an API worker reserved or assigned it meanwhile (serve that first). */
int execution_box_busy(struct shm *shm, int box);
/* Marks the box idle; returns its bell's value to sleep on. */
uint32_t execution_box_idle(struct shm *shm, int box);
/* Runner: leaves the final row of execution `id`, rendered as the API
 * answers it, for the caller waiting for it (before telling it with
 * execution_notify_done). Does nothing when it is over BOX_RESULT_MAX:
 * the caller reads the row. */
void execution_box_result_put(struct shm *shm, int box, long long id,
    const char *json, size_t len);
/* API worker: copies the final row of execution `id` left in `box` into
 * `out`: 1, or 0 when it is not there (read the row instead). */
int execution_box_result_get(struct shm *shm, int box, long long id,
    struct buf *out);
/* Whether hand-off slots or a backlog hold work (checked after going
 * idle, so that nothing queued meanwhile waits for the poll). */
int execution_work_waiting(struct shm *shm);

/* Master: a worker or runner `pid` is gone: drop its reservations and
 * free its box (an execution left in it ends lost by the heartbeat
 * sweep, like any run of a dead runner). */
void execution_box_forget(struct shm *shm, int pid);

/* Wakes one idle local runner to look for work (hand-off slots, the
 * backlog). */
void execution_wake_one(struct shm *shm);

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
