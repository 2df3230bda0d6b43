/*
 * dispatch.h - how an execution reaches a runner of this node and how its
 * end reaches whoever waits for it, through the shared region (shm.h):
 * the runners' mailboxes, the hand-off slots, the backlog count, the
 * wake-up words (done, cancel, queue), and the API workers' waiting
 * places.
 *
 * Owns no memory and no descriptor: every function works on the
 * caller's shared region, which the master maps before forking and never
 * unmaps while workers live. Each word two processes race on is a single
 * atomic, so a process dying halfway leaves nothing half-written. All of
 * it is a shortcut: the execution's row in the database is the truth,
 * and work lost here (a runner dying with it) is found by a queue scan
 * or ended `lost` by the heartbeat sweep.
 *
 * Used by the execution service (execution.c: an API worker submitting
 * and waiting), by runners (runner.c) and by the master (dead children).
 */
#ifndef SCRIPTORCH_DISPATCH_H
#define SCRIPTORCH_DISPATCH_H

#include <stddef.h>
#include <stdint.h>

struct buf;
struct shm;

/*
 * The hand-off of a just-queued execution to a local runner, so that it
 * need not search the queue: the runner reads that one row (with its
 * script) and claims it by id just before starting it. Runners take
 * hand-offs smallest id first, i.e. in queue order. A hand-off may be
 * lost (a runner dies holding it): the row is queued all the same, and
 * the queue scan finds it. Scripts with max_concurrency are never handed
 * off.
 */
/* Puts `id` in a free hand-off slot: 0. Else (all taken) -1: a runner
 * must find it by scanning the queue. */
int dispatch_handoff(struct shm *shm, long long id);
/* Takes a handed-off id, or returns 0 when none is waiting. */
long long dispatch_take_handoff(struct shm *shm);
/* The ids waiting in hand-off slots now (at most SHM_HANDOFF_SLOTS):
 * a queue scan passes over them. Returns how many. */
size_t dispatch_handoff_list(struct shm *shm, long long *ids);
/* Whether this runner should scan the queue now: DISPATCH_SCAN_COUNTED
 * when a backlog is counted (dispatch_backlog; this takes one),
 * DISPATCH_SCAN_POLL when no runner of this node has polled for other
 * nodes' work within poll_ms (this runner polls now), else 0. *adds gets
 * how many scans were ever counted, for dispatch_scanned. */
#define DISPATCH_SCAN_COUNTED 1
#define DISPATCH_SCAN_POLL 2
int dispatch_scan_due(struct shm *shm, int poll_ms, uint32_t *adds);
/* A poll claimed a row that nothing had announced (queued before this
 * node started, by a node now gone, or its count lost): the queue may
 * hold more of them. The next poll is due at once, and an idle runner is
 * woken for it; the poll that finds nothing makes the next one wait its
 * interval again. */
void dispatch_poll_again(struct shm *shm);
/* Counts queued work that no hand-off covers: one scan more. */
void dispatch_backlog(struct shm *shm);
/* A scan found nothing it may start: forget the rest of the backlog
 * (what frees a limit counts again), but for the scans counted since it
 * began (`adds` from dispatch_scan_due): those may be for rows it could
 * not see. */
void dispatch_backlog_none(struct shm *shm, uint32_t adds);
/* What a scan that began at `adds` (dispatch_scan_due) found: nothing
 * (dispatch_backlog_none, and the watcher stays quiet until a newer row
 * is queued), or something (the watcher looks at the queue's head
 * again). */
void dispatch_scanned(struct shm *shm, int claimed, uint32_t adds);
/* Whether hand-off slots or a backlog hold work (checked after going
 * idle, so that nothing queued meanwhile waits for the poll). */
int dispatch_work_waiting(struct shm *shm);
/* Wakes one idle local runner to look for work (hand-off slots, the
 * backlog). */
void dispatch_wake_one(struct shm *shm);
/* Counts `n` scans more, one of them for the calling runner, and wakes
 * up to n - 1 other idle local runners for the rest. */
void dispatch_backlog_wake(struct shm *shm, int n);
/* How many runners of this node are idle, or busy, now (their boxes say
 * so; a runner without a box counts as neither). */
int dispatch_runners_idle(struct shm *shm);
int dispatch_runners_busy(struct shm *shm);

/*
 * Watching, for work queued by other nodes. A submission on another
 * node reaches this one only through the queue in the database, so one
 * idle runner of the node (the watcher) looks at the queue every
 * queue_probe_ms while other nodes are up (store_execution_probe: the rows
 * queued since its last look that this node's labels allow), and turns
 * what it finds into a backlog for its idle runners. Only an idle runner
 * watches: a node whose runners are all busy could take nothing anyway.
 */
/* 1 when this runner is (or now becomes) the node's watcher. */
int dispatch_watch(struct shm *shm);
/* This runner stops watching (it took work): another idle runner is
 * woken to take the watch over. Nothing when it was not watching. */
void dispatch_watch_leave(struct shm *shm);

/*
 * Direct assignment, ahead of the hand-off slots. Each runner owns a
 * mailbox (struct runner_mailbox, shm.h); when it has nothing to do it marks
 * the box idle and sleeps on the box's bell. An API worker reserves an
 * idle runner (one compare-and-swap on the box's state, so no two
 * workers get the same runner), inserts the execution, and puts the id,
 * the input and the script's identity in the box: the runner starts it
 * without reading the row, and with a script it has cached, without any
 * read. When the caller waits for the end, the row is inserted already
 * running for that runner and nobody else can take it, so there is no
 * claim either; otherwise it is inserted queued (the 202 shows it so)
 * and the runner claims it as it claims a hand-off. The master frees a
 * dead worker's reservations and a dead runner's box
 * (dispatch_mailbox_forget); a row inserted running for a runner that died
 * before it started the child ends `lost`, like any run of a dead
 * runner. Scripts with max_concurrency are never assigned.
 */
#define MAILBOX_BUSY 0
#define MAILBOX_IDLE (-1)

/* What a runner finds in its box. */
struct mailbox_job {
	long long id;
	int running;                /* inserted running for us: no claim */
	long long script_id;
	char script_updated_at[32];
	double queued_ms;           /* clock_mono_ms() of the INSERT */
	char *input_json;           /* owned (free()); NULL: too big, read
	                             * the row */
	int uncommitted;            /* its row may not be committed yet:
	                             * start nothing of it before
	                             * dispatch_mailbox_settled() says 1 */
};

/* API worker: reserves an idle runner for the execution about to be
 * inserted. Returns its box (and *runner_pid), or -1 when none is idle. */
int dispatch_mailbox_reserve(struct shm *shm, int *runner_pid);
/* The INSERT failed: the runner is idle again. */
void dispatch_mailbox_unreserve(struct shm *shm, int box);
/* Hands execution `id` (of script `script_id` at revision
 * `script_updated_at`, with its compact input) to the reserved runner
 * and rings it. */
void dispatch_mailbox_assign(struct shm *shm, int box, long long id,
    int running, long long script_id, const char *script_updated_at,
    const char *input_json, size_t input_len);

/*
 * The same before the row's commit, so that the runner prepares the run
 * (its work dir, its process up to the program's exec) while the commit
 * reaches the disk. The API worker must then settle it once the commit
 * is decided (dispatch_mailbox_settle); the runner starts the program
 * only once it is settled committed, and otherwise kills what it
 * prepared and records nothing. An API worker that dies before it
 * settles is settled "not committed" by the master
 * (dispatch_mailbox_forget); if its commit had gone through, the row,
 * running for a runner that never ran it, ends `lost` as a row of a
 * dead runner does.
 */
void dispatch_mailbox_assign_uncommitted(struct shm *shm, int box,
    long long id, int running, long long script_id,
    const char *script_updated_at, const char *input_json, size_t input_len);
/*
 * API worker, with a runner just reserved: whether to assign it before
 * the row's commit. That costs the database two statements more (START
 * TRANSACTION, COMMIT: about 0.1 ms of its CPU a run) for a run that
 * starts sooner, which pays while the host has CPU to spare: while at
 * most as many runners are busy, the reserved one counted, as it has
 * CPUs. Beyond, the CPU is what limits the runs, and the statements
 * would cost throughput. (A runner asks too, whether to use its spare
 * work dir: sandbox.h, sandbox_workdir_spare.)
 */
int dispatch_mailbox_early(struct shm *shm);
/* API worker: execution `id`, assigned uncommitted to `box`, was
 * committed (1) or will never be (0). Wakes the runner. */
void dispatch_mailbox_settle(struct shm *shm, int box, long long id,
    int committed);
/* Runner: whether execution `id`, taken uncommitted from `box`, is
 * committed: 1, 0 (never will be), or -1 (not decided yet), waiting up
 * to timeout_ms on the box's bell for the decision. */
int dispatch_mailbox_settled(struct shm *shm, int box, long long id,
    int timeout_ms);

/* Runner: takes a free box for this process; -1 when all are in use
 * (the runner then works from hand-offs and scans only). */
int dispatch_mailbox_open(struct shm *shm);
/* Leaves the box; its state must be MAILBOX_BUSY (dispatch_mailbox_busy). */
void dispatch_mailbox_close(struct shm *shm, int box);
/* Takes the execution assigned to the box: 1 (j filled, the box busy
 * again), or 0. */
int dispatch_mailbox_take(struct shm *shm, int box, struct mailbox_job *j);
/* 1 while an API worker holds a reservation of the box. */
int dispatch_mailbox_reserved(struct shm *shm, int box);
/* Marks the box busy before the runner takes other work: 0, or -1 when
 * an API worker reserved or assigned it meanwhile (serve that first). */
int dispatch_mailbox_busy(struct shm *shm, int box);
/* Marks the box idle; returns its bell's value to sleep on. */
uint32_t dispatch_mailbox_idle(struct shm *shm, int box);
/* Runner: leaves the final row of execution `id`, rendered as the API
 * answers it, for the caller waiting for it (before telling it with
 * dispatch_notify_done). Does nothing when it is over MAILBOX_RESULT_MAX:
 * the caller reads the row. */
void dispatch_mailbox_result_put(struct shm *shm, int box, long long id,
    const char *json, size_t len);
/* API worker: copies the final row of execution `id` left in `box` into
 * `out` (borrowed, reset first): 1, or 0 when it is not there (read the
 * row instead). */
int dispatch_mailbox_result_get(struct shm *shm, int box, long long id,
    struct buf *out);

/* Master: a worker or runner `pid` is gone: drop its reservations,
 * settle "not committed" what it assigned uncommitted and did not settle,
 * free its box (an execution left in it ends lost by the heartbeat
 * sweep, like any run of a dead runner) and its waiting place (below). */
void dispatch_mailbox_forget(struct shm *shm, int pid);

/*
 * Waiting places. An API worker that waits for an execution's end
 * (`?wait=`, `/test`) answers nothing else meanwhile (libfcgi is
 * blocking), so only `cap` workers of the node (max_waiting_workers)
 * may wait at once: the others stay free for health checks, reads and
 * submissions. A place is one word holding the waiting worker's pid,
 * taken by one compare-and-swap, so no two workers get the same place
 * and a worker dying in its wait frees its place through the master
 * (dispatch_mailbox_forget): nothing is counted that a dead process could
 * leave behind. Only the first `cap` places are taken: after a reload
 * that lowered the cap, a worker of the old generation may still hold
 * one beyond it until its wait ends.
 */
/* Takes a free place among the first `cap` for this process: its
 * index, or -1 when all are taken. */
int dispatch_wait_enter(struct shm *shm, int cap);
/* Gives place `place` (from dispatch_wait_enter) back. */
void dispatch_wait_leave(struct shm *shm, int place);
/* How many places are taken now (the node's waiting workers). */
int dispatch_waiting(struct shm *shm);
/* Counts a wait answered at once because no place was free. */
void dispatch_wait_declined(struct shm *shm);

/*
 * The end of an execution and a cancel, told to this node's processes.
 * Each execution id maps to one of SHM_DONE_SLOTS completion words,
 * shared by the ids that map alike: a waiter reads its word before
 * looking at the execution, then sleeps only while the word is
 * unchanged (wake.h), so it cannot miss an end.
 */
/* The completion word of `id` now, to wait on. */
uint32_t dispatch_done_seen(struct shm *shm, long long id);
/* Sleeps while the completion word of `id` still holds `seen`, at most
 * timeout_ms. */
void dispatch_done_wait(struct shm *shm, long long id, uint32_t seen,
    int timeout_ms);
/* Runner: execution `id` ended (or its row changed): wakes its waiters. */
void dispatch_notify_done(struct shm *shm, long long id);
/* A running execution was asked to stop: wakes local runners to read
 * their cancel flags. */
void dispatch_notify_cancel(struct shm *shm);

#endif
