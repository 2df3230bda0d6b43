/*
 * shm.h - the one shared memory region of a scriptorchd instance.
 *
 * The master maps it (anonymous, MAP_SHARED) before forking, so every API
 * worker and runner sees the same counters and wake-up words. It holds
 * only lock-free atomics (and mailbox payloads guarded by them, see
 * struct runner_mailbox); a process that dies mid-update loses at most its
 * own increment. It is never unmapped while workers live.
 */
#ifndef SCRIPTORCH_SHM_H
#define SCRIPTORCH_SHM_H

#include <stdatomic.h>
#include <stdint.h>

#define SHM_ROUTES 64           /* route slots; the last is "unmatched" */
#define SHM_HTTP_CODES 16       /* see metrics.c for the code list */
#define SHM_BUCKETS 16          /* histogram buckets incl. +Inf */
#define SHM_DONE_SLOTS 1024     /* completion words, by execution id */
#define SHM_EXEC_STATUSES 8
#define SHM_HANDOFF_SLOTS 64    /* queued ids handed to runners */
#define SHM_RUNNER_BOXES 64     /* runners that can be assigned directly */
#define MAILBOX_INPUT_MAX 4096      /* larger inputs are read from the row */
#define MAILBOX_RESULT_MAX 16384    /* larger final rows are read from the db */
#define SHM_WAIT_PLACES 256     /* API workers waiting for an end (the
                                 * most api_workers allows) */

struct histogram {
	_Atomic uint64_t bucket[SHM_BUCKETS];
	_Atomic uint64_t count;
	_Atomic uint64_t sum_us;
};

/*
 * One runner's mailbox (dispatch.h, "direct assignment"). `state` is
 * the only word two processes race on; the rest is written by the API
 * worker that holds the reservation and read by the runner once it sees
 * an execution id there, so never by two at once.
 */
struct runner_mailbox {
	_Atomic int32_t owner;      /* the runner's pid; 0: box unused */
	_Atomic uint32_t bell;      /* futex word the idle runner sleeps on */
	/* MAILBOX_BUSY, MAILBOX_IDLE, mailbox_reserved(api pid), or an
	 * execution id */
	_Atomic int64_t state;
	int running;                /* the row was inserted running for it */
	long long script_id;
	char script_updated_at[32]; /* of the script as the API read it */
	double queued_ms;           /* clock_mono_ms() of the INSERT */
	size_t input_len;           /* > MAILBOX_INPUT_MAX: from the row */
	char input[MAILBOX_INPUT_MAX + 1];
	/* An execution assigned before its row committed (dispatch.h,
	 * dispatch_mailbox_assign_uncommitted): its id in `pending` (0:
	 * none), the API worker that inserts it in `assigner`, and in
	 * `settled` the id once its row is committed, minus the id once it
	 * never will be (rolled back; or the worker died, and the master
	 * settled it so); 0 until then. */
	_Atomic int64_t pending;
	_Atomic int32_t assigner;
	_Atomic int64_t settled;

	/* The final row of the last execution that a caller waited for, as
	 * the API answers it (JSON), written by the runner alone and read
	 * by the waiting API worker. A sequence lock: `result_seq` is odd
	 * while the runner writes; a reader that sees it odd or changed
	 * after its copy reads the row from the database instead. */
	_Atomic uint32_t result_seq;
	_Atomic int64_t result_id;
	_Atomic uint32_t result_len;
	char result[MAILBOX_RESULT_MAX];
};

struct shm {
	/* API requests by route and status, latency by route. */
	_Atomic uint64_t api_requests[SHM_ROUTES][SHM_HTTP_CODES];
	struct histogram api_latency[SHM_ROUTES];

	/* Executions: final statuses, overhead (queued -> started) and
	 * duration histograms; venv builds by result and their duration. */
	_Atomic uint64_t exec_final[SHM_EXEC_STATUSES];
	struct histogram exec_overhead;
	struct histogram exec_duration;
	_Atomic uint64_t venv_builds_ok;
	_Atomic uint64_t venv_builds_failed;
	struct histogram venv_build;

	/* Completion callbacks (sender.h): attempts by outcome (enum
	 * metrics_cb), final status -> 2xx answer. */
	_Atomic uint64_t callbacks[3];
	struct histogram callback_latency;
	/* The sender's doorbell, an eventfd the master makes before the
	 * first fork and never changes (sender_doorbell_init); not a word
	 * anyone writes to, but the descriptor every child inherits at this
	 * number. 0 (never a doorbell's number): none. */
	int sender_efd;

	/* Futex words (see wake.h). */
	int32_t cpus;           /* online CPUs when the region was made */
	_Atomic uint32_t queue_gen;                 /* bumped on enqueue */
	_Atomic uint32_t cancel_gen;                /* bumped on cancel */
	_Atomic uint32_t token_gen;     /* bumped on revoke (auth.h) */
	_Atomic uint32_t script_gen;    /* bumped on script changes */
	_Atomic uint32_t done_gen[SHM_DONE_SLOTS];  /* bumped on finish */

	/* Direct hand-off (dispatch.h): an API worker that has just
	 * committed a queued execution puts its id in a free slot; a runner
	 * swaps the smallest out for 0. Only a shortcut: the row is queued in
	 * the database either way. Single words, so a process dying halfway
	 * leaves no slot half-written. */
	_Atomic int64_t handoff[SHM_HANDOFF_SLOTS];
	/* How many scans queued work needs that no hand-off covers (no free
	 * slot, a limited script, a limit freed): each scan takes one. */
	_Atomic int32_t backlog;
	/* How many scans were ever counted there (wrapping): a scan that
	 * found nothing forgets the backlog but for those counted since it
	 * began. */
	_Atomic uint32_t backlog_adds;
	/* When a runner of this node last scanned for work queued by other
	 * nodes (monotonic ms): one scan per poll interval per node. */
	_Atomic int64_t last_poll_ms;

	/* Several nodes (dispatch.h, "watching"): the pid of the idle runner
	 * that looks at the queue every queue_probe_ms for work other nodes
	 * queued (0: none); the newest queued id it saw, and whether the
	 * queue held nothing this node could claim then (quiet: no look at
	 * the queue's head again before a newer row comes). */
	_Atomic int32_t watcher;
	_Atomic int64_t probe_newest;
	_Atomic int32_t probe_quiet;
	/* Written by the janitor from the nodes table: how many other nodes
	 * are up (no other node: nothing to watch for). */
	_Atomic int32_t peers_up;
	/* The master's start (Unix ms, the node's started_at) and its stop:
	 * set before it asks its children to stop for good (not on a
	 * reload), so the janitor records the node down on its way out. */
	_Atomic int64_t started_unix_ms;
	_Atomic int32_t node_stopping;

	/* Runners' mailboxes: an API worker reserves an idle runner, inserts
	 * the execution for it and hands it over with its input. */
	struct runner_mailbox box[SHM_RUNNER_BOXES];

	/* Waiting places (dispatch.h): the pid of each API worker waiting
	 * for an execution's end, 0 for a free place; the master frees a
	 * dead worker's. And how many waits were answered at once because
	 * every place was taken. */
	_Atomic int32_t wait_place[SHM_WAIT_PLACES];
	_Atomic uint64_t waits_declined;
};

/* Maps a zeroed region; fatal on failure (start-up only). */
struct shm *shm_create(void);

#endif
