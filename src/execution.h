/*
 * execution.h - an execution's whole life for the API: the record of one
 * execution and its JSON form (the model, execution_model.c), and the
 * rules (the service, execution.c): submitting (the script read and the
 * queue's depth checked, the input validated before anything is queued,
 * the execution handed to a runner), waiting for the end (within the
 * node's waiting places), reading, listing, and cancelling with its
 * audit record.
 *
 * Callers parse, call, render: the SQL is behind store_executions.c, the
 * shared-memory paths to the runners behind dispatch.h. Every function
 * that fails for the database returns EXEC_DB with the reason in
 * db_error()/db_errmsg().
 */
#ifndef SCRIPTORCH_EXECUTION_H
#define SCRIPTORCH_EXECUTION_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <yajl/yajl_tree.h>

#include "buf.h"
#include "dispatch.h"
#include "verr.h"

struct conf;
struct db;
struct dbres;
struct jw;
struct script;
struct script_memo;
struct shm;

/* ---- the model ---- */

/*
 * One execution as the store returns it. The record owns its strings
 * (execution_free releases them); NULL is SQL NULL. Times are RFC 3339,
 * "" when not set. A listed record (execution_list) has no input,
 * stdout or stderr.
 */
struct execution {
	long long id;
	long long script_id;
	char *script_name;
	char *script_version;       /* NULL until a runner read the file */
	char *trigger;              /* api | test | ui */
	char status[16];
	char *input;                /* JSON text */
	int has_exit_code; long long exit_code;
	int has_signal; long long signo;
	char *stdout_data; size_t stdout_len;
	char *stderr_data; size_t stderr_len;
	int stdout_truncated, stderr_truncated;
	char *output;               /* JSON text */
	char *output_file; size_t output_file_len;   /* any bytes */
	char *error;
	char queued_at[32], started_at[32], finished_at[32];
	int has_duration; double duration_ms;
	int has_cpu_user; long long cpu_user_ms;
	int has_cpu_system; long long cpu_system_ms;
	int has_max_rss; long long max_rss_kb;
	char *node;
	char *limit;                /* the limit that stopped it, or NULL */
	char *callback_url;         /* where its end is delivered, or NULL */
};

/* Releases what the record owns and empties it; NULL or an empty
 * (zeroed) record is fine. */
void execution_free(struct execution *x);
/* Writes the execution as the API answers it; `full` adds input, stdout
 * and stderr (lists leave them out). */
void execution_render(struct jw *w, const struct execution *x, int full);
/* 1 for succeeded, failed, timed_out, canceled, error, lost. */
int execution_status_final(const char *status);
/* 1 for any status an execution can have. */
int execution_status_known(const char *status);
/* 1 for a trigger an execution can have: api, test, ui (the admin UI's,
 * in the contract). */
int execution_trigger_known(const char *trigger);

/* ---- the service ---- */

enum exec_outcome {
	EXEC_OK = 0,
	EXEC_NOT_FOUND,     /* 404 */
	EXEC_INVALID,       /* 422: e says which field and why */
	EXEC_CONFLICT,      /* 409: a disabled script; an ended execution */
	EXEC_OVERLOADED,    /* 429: the queue is at queue_max_depth */
	EXEC_DB,            /* database failure */
};

/*
 * A submission under way: the script it is for, with what the service
 * learnt of the queue in the same read. Opened by execution_prepare(),
 * used by one execution_submit_wait() (or execution_submit()),
 * released by execution_submission_free() (NULL is fine).
 */
struct exec_submission;

/*
 * Reads the script by id (name NULL) or by name (from the worker's
 * memory `memo` while fresh, else from the database, where the same
 * statement tells whether the queue is full). EXEC_OK (*out set),
 * EXEC_NOT_FOUND or EXEC_DB. Nothing is queued yet.
 */
enum exec_outcome execution_prepare(struct db *db, const struct conf *c,
    struct shm *shm, struct script_memo *memo, long long id,
    const char *name, struct exec_submission **out);
void execution_submission_free(struct exec_submission *sub);

/*
 * Makes the prepared submission idempotent (issue 17): `key` (1..255
 * printable ASCII characters, idem_key_check(); copied), sent by token
 * `token_id`, with the request's `body` (NULL: an empty body), whose
 * fingerprint is taken now (idem_fingerprint: the script's id and the
 * body). execution_submit() then:
 * - when the token used the key within 24 h with the same fingerprint,
 *   creates nothing and answers that execution (EXEC_OK, *id, *queued as
 *   it is now; execution_replayed() is 1), before any other check;
 * - with another fingerprint: EXEC_CONFLICT (e names the key);
 * - else inserts the key's row in the execution's transaction, so that
 *   neither is committed without the other; a request that loses the
 *   key to a concurrent one rolls its execution back and answers the
 *   winner's as above.
 */
void execution_submission_idempotent(struct exec_submission *sub,
    long long token_id, const char *key, yajl_val body);
/*
 * The submission's callback_url (docs/api.md, "Completion callbacks"):
 * `given` 0 (the body has none) takes the script's default; given with
 * `url` NULL (JSON null) asks for no callback; else `url` (copied), which
 * execution_submit() checks (callback.h: http(s), callback_allow_hosts,
 * and a callback secret on this node; else EXEC_INVALID, field
 * "callback_url").
 */
void execution_submission_callback(struct exec_submission *sub, int given,
    const char *url);
/* 1 when execution_submit() answered the execution of the submission's
 * key instead of creating one. */
int execution_replayed(const struct exec_submission *sub);

/*
 * The checks of a submission that need nothing but the script: enabled
 * (else EXEC_CONFLICT), `input` (NULL = {}) an object that satisfies the
 * script's inputs schema and its args placeholders (else EXEC_INVALID).
 * e says why.
 */
enum exec_outcome execution_check_input(const struct script *s,
    yajl_val input, struct verr *e);

/*
 * Checks the input (execution_check_input) and queues an execution of
 * the prepared script with `trigger`, unless the queue is full
 * (EXEC_OVERLOADED; a full queue turns away only a run that would wait
 * for a runner). An idle runner of this node, reserved before the
 * INSERT, gets it directly (dispatch.h); else it is handed off or
 * counted for a scan, and a runner is woken.
 * `queued` NULL: the caller waits for the end (execution_submit_wait
 * does), and a reserved runner's row is inserted running. Otherwise the
 * INSERT returns the row into *queued, as it was queued (release it
 * with execution_free after EXEC_OK). *id gets the execution's id.
 */
enum exec_outcome execution_submit(struct db *db, const struct conf *c,
    struct shm *shm, struct exec_submission *sub, yajl_val input,
    const char *trigger, struct execution *queued, long long *id,
    struct verr *e);

/*
 * What a submission that may wait for the end got
 * (execution_submit_wait): the execution's id, and either its final form
 * as the runner left it (json, already rendered as the API answers it)
 * or its latest state (x). Zero it before the call (EXEC_WAITED_INIT);
 * execution_waited_free() releases it whatever the call returned.
 */
struct exec_waited {
	long long id;
	struct execution x;     /* its state, unless json holds the answer */
	struct buf json;        /* the final form, or empty */
	int final;              /* it ended within the wait */
	int declined;           /* no waiting place: not waited for */
};
#define EXEC_WAITED_INIT { 0, { 0 }, BUF_INIT, 0, 0 }
void execution_waited_free(struct exec_waited *w);

/*
 * Submits as execution_submit() does, then, with wait_ms > 0, waits up
 * to wait_ms for the end, woken by the runner through the shared region
 * (and reading the row every 250 ms for runners of other nodes).
 *
 * A waiting API worker answers nothing else meanwhile, so the wait holds
 * one of the node's waiting places (conf_max_waiting(), dispatch.h). When
 * every place is taken it does not wait: the execution is queued as an
 * async submission is, w->x is it as queued, and w->declined is set (and
 * counted for the metrics). The caller answers 202 then, as for any wait
 * that ended before the execution.
 *
 * `stopping` (NULL: never) is the worker's stop flag: once set, the wait
 * goes on only while the master's shutdown_timeout_s leaves time to
 * answer (one second before it), so that the client gets the execution
 * (202) rather than a closed connection, and a worker of a retired
 * generation gives its place back soon.
 *
 * wait_ms 0: an async submission (w->x as queued). EXEC_OK with w
 * filled (w->final: it ended), the refusals of execution_submit(), or
 * EXEC_NOT_FOUND when the row vanished while waited for.
 *
 * A replay (execution_replayed()) is waited for in the same way: up to
 * wait_ms for its end, within a waiting place; without one, w->x is it
 * as it is now, and w->final tells whether it ended.
 */
enum exec_outcome execution_submit_wait(struct db *db, const struct conf *c,
    struct shm *shm, struct exec_submission *sub, yajl_val input,
    const char *trigger, int wait_ms, const volatile sig_atomic_t *stopping,
    struct exec_waited *w, struct verr *e);

/* One execution with everything: EXEC_OK (*x filled: execution_free it),
 * EXEC_NOT_FOUND or EXEC_DB. */
enum exec_outcome execution_get(struct db *db, long long id,
    struct execution *x);

/* Its raw stdout (or stderr): EXEC_OK with *data (owned: free(); NULL
 * when empty) and *len, EXEC_NOT_FOUND or EXEC_DB. */
enum exec_outcome execution_output(struct db *db, long long id,
    int which_stderr, char **data, size_t *len);

/* The callback deliveries of execution `id` (store.h, struct
 * delivery_rec), oldest first, each passed to fn and freed after the
 * call: EXEC_OK, EXEC_NOT_FOUND (no such execution) or EXEC_DB. */
struct delivery_rec;
enum exec_outcome execution_deliveries(struct db *db, long long id,
    void (*fn)(void *arg, const struct delivery_rec *d), void *arg);

/* What a list holds. */
struct exec_filter {
	long long script_id;       /* 0: any */
	const char *status;        /* NULL: any */
	const char *trigger;       /* NULL: any */
	const char *since;         /* DB-form timestamp, NULL: any */
	long long before_id;       /* cursor: ids below this; 0: from newest */
	int limit;
};
/* Calls fn for each execution that matches, newest first, without
 * input, stdout and stderr; the record is freed after the call.
 * EXEC_OK or EXEC_DB. */
enum exec_outcome execution_list(struct db *db, const struct exec_filter *f,
    void (*fn)(void *arg, const struct execution *x), void *arg);

/*
 * Cancels execution `id` for `actor` (recorded in the audit log, in the
 * same transaction: no cancel without its record): a queued one ends
 * canceled at once, a running one (or one reserved for a runner) is
 * flagged, and its runner stops it; the call then waits a little
 * (kill_grace_s and 2 s) for it to end, so that the answer usually shows
 * it canceled. EXEC_OK with *x as it is then (execution_free it),
 * EXEC_NOT_FOUND, EXEC_CONFLICT (it had ended) or EXEC_DB.
 */
enum exec_outcome execution_cancel(struct db *db, const struct conf *c,
    struct shm *shm, long long id, const char *actor, struct execution *x);

/*
 * Former names, kept while runner.c and master.c are moved to the
 * dispatch_* calls and the runner's final row to struct execution
 * (then they go): execution_write_json renders row `i` of a result with
 * store_exec_get's columns (store_exec_finish, store_exec_last_per_script)
 * through execution_render.
 */
void execution_write_json(struct jw *w, const struct dbres *res, size_t i,
    int full);
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
