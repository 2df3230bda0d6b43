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
 * that fails for the database returns EXECUTION_DB with the reason in
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
	char *triggered_by;         /* the asking token's name; NULL: older */
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

enum execution_outcome {
	EXECUTION_OK = 0,
	EXECUTION_NOT_FOUND,     /* 404 */
	EXECUTION_INVALID,       /* 422: e says which field and why */
	EXECUTION_CONFLICT,
	         /* 409: a disabled script; an ended execution */
	EXECUTION_OVERLOADED,    /* 429: the queue is at queue_max_depth */
	EXECUTION_DB,            /* database failure */
};

/*
 * A submission under way: the script it is for, with what the service
 * learnt of the queue in the same read. Opened by execution_prepare(),
 * used by one execution_submit_wait() (or execution_submit()),
 * released by execution_submission_free() (NULL is fine).
 */
struct execution_submission;

/*
 * Reads the script by id (name NULL) or by name (from the worker's
 * memory `memo` while fresh, else from the database, where the same
 * statement tells whether the queue is full). EXECUTION_OK (*out set),
 * EXECUTION_NOT_FOUND or EXECUTION_DB. Nothing is queued yet.
 */
enum execution_outcome execution_prepare(struct db *db, const struct conf *c,
    struct shm *shm, struct script_memo *memo, long long id,
    const char *name, struct execution_submission **out);
void execution_submission_free(struct execution_submission *sub);

/*
 * Makes the prepared submission idempotent (issue 17): `key` (1..255
 * printable ASCII characters, idem_key_check(); copied), sent by token
 * `token_id`, with the request's `body` (NULL: an empty body), whose
 * fingerprint is taken now (idem_fingerprint: the script's id and the
 * body). execution_submit() then:
 * - when the token used the key within 24 h with the same fingerprint,
 *   creates nothing and answers that execution (EXECUTION_OK, *id, *queued as
 *   it is now; execution_replayed() is 1), before any other check;
 * - with another fingerprint: EXECUTION_CONFLICT (e names the key);
 * - else inserts the key's row in the execution's transaction, so that
 *   neither is committed without the other; a request that loses the
 *   key to a concurrent one rolls its execution back and answers the
 *   winner's as above.
 */
void execution_submission_idempotent(struct execution_submission *sub,
    long long token_id, const char *key, yajl_val body);
/*
 * The submission's callback_url (docs/api.md, "Completion callbacks"):
 * `given` 0 (the body has none) takes the script's default; given with
 * `url` NULL (JSON null) asks for no callback; else `url` (copied), which
 * execution_submit() checks (callback.h: http(s), callback_allow_hosts,
 * and a callback secret on this node; else EXECUTION_INVALID, field
 * "callback_url").
 */
void execution_submission_callback(struct execution_submission *sub, int given,
    const char *url);
/* 1 when execution_submit() answered the execution of the submission's
 * key instead of creating one. */
int execution_replayed(const struct execution_submission *sub);
/* After execution_submit() answered EXECUTION_INVALID about the input: every
 * invalid field of it (execution_check_input_all), owned by `sub`. */
const struct verr_list *execution_submission_errors(
    const struct execution_submission *sub);

/*
 * The checks of a submission that need nothing but the script: enabled
 * (else EXECUTION_CONFLICT), `input` (NULL = {}) an object that satisfies the
 * script's inputs schema and its args placeholders (else EXECUTION_INVALID).
 * e says why.
 */
enum execution_outcome execution_check_input(const struct script *s,
    yajl_val input, struct verr *e);
/* The same, with every invalid top-level field of the input added to
 * `all` (schema_validate_all, then the args placeholders; NULL: as
 * execution_check_input), e being the first. */
enum execution_outcome execution_check_input_all(const struct script *s,
    yajl_val input, struct verr *e, struct verr_list *all);

/*
 * Fills the input's missing top-level properties from the defaults of
 * the script's inputs schema (schema_apply_defaults: what is checked,
 * stored and run is the filled input), checks it
 * (execution_check_input) and queues an execution of the prepared
 * script with `trigger` (api, test, ui) for the token named
 * `triggered_by` (recorded as is), unless the queue is full
 * (EXECUTION_OVERLOADED; a full queue turns away only a run that would wait
 * for a runner). An idle runner of this node, reserved before the
 * INSERT, gets it directly (dispatch.h); else it is handed off or
 * counted for a scan, and a runner is woken.
 * `queued` NULL: the caller waits for the end (execution_submit_wait
 * does), and a reserved runner's row is inserted running. Otherwise the
 * INSERT returns the row into *queued, as it was queued (release it
 * with execution_free after EXECUTION_OK). *id gets the execution's id.
 */
enum execution_outcome execution_submit(struct db *db, const struct conf *c,
    struct shm *shm, struct execution_submission *sub, yajl_val input,
    const char *trigger, const char *triggered_by, struct execution *queued,
    long long *id, struct verr *e);

/*
 * What a submission that may wait for the end got
 * (execution_submit_wait): the execution's id, and either its final form
 * as the runner left it (json, already rendered as the API answers it)
 * or its latest state (x). Zero it before the call (EXECUTION_WAITED_INIT);
 * execution_waited_free() releases it whatever the call returned.
 */
struct execution_waited {
	long long id;
	struct execution x;     /* its state, unless json holds the answer */
	struct buf json;        /* the final form, or empty */
	int final;              /* it ended within the wait */
	int declined;           /* no waiting place: not waited for */
};
#define EXECUTION_WAITED_INIT { 0, { 0 }, BUF_INIT, 0, 0 }
void execution_waited_free(struct execution_waited *w);

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
 * wait_ms 0: an async submission (w->x as queued). EXECUTION_OK with w
 * filled (w->final: it ended), the refusals of execution_submit(), or
 * EXECUTION_NOT_FOUND when the row vanished while waited for.
 *
 * A replay (execution_replayed()) is waited for in the same way: up to
 * wait_ms for its end, within a waiting place; without one, w->x is it
 * as it is now, and w->final tells whether it ended.
 */
enum execution_outcome execution_submit_wait(struct db *db,
    const struct conf *c,
    struct shm *shm, struct execution_submission *sub, yajl_val input,
    const char *trigger, const char *triggered_by, int wait_ms,
    const volatile sig_atomic_t *stopping, struct execution_waited *w,
    struct verr *e);

/* One execution with everything: EXECUTION_OK (*x filled: execution_free it),
 * EXECUTION_NOT_FOUND or EXECUTION_DB. */
enum execution_outcome execution_get(struct db *db, long long id,
    struct execution *x);

/* Its raw stdout (or stderr): EXECUTION_OK with *data (owned: free(); NULL
 * when empty) and *len, EXECUTION_NOT_FOUND or EXECUTION_DB. */
enum execution_outcome execution_output(struct db *db, long long id,
    int which_stderr, char **data, size_t *len);

/* The callback deliveries of execution `id` (store.h, struct
 * delivery_rec), oldest first, each passed to fn and freed after the
 * call: EXECUTION_OK, EXECUTION_NOT_FOUND (no such execution) or EXECUTION_DB. */
struct delivery_rec;
enum execution_outcome execution_deliveries(struct db *db, long long id,
    void (*fn)(void *arg, const struct delivery_rec *d), void *arg);

/* What a list (and the counts, and the durations) holds. The strings are
 * borrowed. */
#define EXECUTION_NSTATUSES 8
struct execution_filter {
	long long script_id;       /* 0: any */
	const char *statuses[EXECUTION_NSTATUSES]; /* any of these; none: any */
	int nstatuses;
	const char *trigger;       /* NULL: any */
	const char *since;         /* DB-form timestamp: queued at or after */
	const char *until;         /* ... and before this; NULL: no bound */
	int ascending;             /* oldest first (queue order), else newest */
	long long cursor;          /* ids past this one in the order; 0: none */
	int limit;
};
/* Calls fn for each execution that matches, in id order (the queue's)
 * newest first or oldest first, without input, stdout and stderr; the
 * record is freed after the call. EXECUTION_OK or EXECUTION_DB. */
enum execution_outcome execution_list(struct db *db,
    const struct execution_filter *f,
    void (*fn)(void *arg, const struct execution *x), void *arg);

/* How many executions the filter lets through, by status (its statuses,
 * cursor, order and limit are not looked at). */
struct status_counts {
	long long n[EXECUTION_NSTATUSES];   /* in the order of execution_status_name */
	long long total;
};
enum execution_outcome execution_counts(struct db *db,
    const struct execution_filter *f,
    struct status_counts *out);
/* The statuses, in their order of the life of an execution: index i of
 * struct status_counts is execution_status_name(i); NULL past the last. */
const char *execution_status_name(int i);
/*
 * The share of finished runs that succeeded: succeeded over succeeded,
 * failed, timed_out, error and lost (a canceled run was stopped by
 * someone, not a failure of the script's). -1 when none finished.
 */
double execution_success_rate(const struct status_counts *c);

/* One point of a chart of durations. */
struct duration_point {
	long long id;
	char status[16];
	char queued_at[32];
	int has_duration;
	double duration_ms;
};
/* The newest f->limit executions the filter lets through, handed to fn
 * oldest first (a chart's order). EXECUTION_OK or EXECUTION_DB. */
enum execution_outcome execution_durations(struct db *db,
    const struct execution_filter *f,
    void (*fn)(void *arg, const struct duration_point *p), void *arg);

/*
 * Cancels execution `id` for `actor` (recorded in the audit log, in the
 * same transaction: no cancel without its record): a queued one ends
 * canceled at once, a running one (or one reserved for a runner) is
 * flagged, and its runner stops it; the call then waits a little
 * (kill_grace_s and 2 s) for it to end, so that the answer usually shows
 * it canceled. EXECUTION_OK with *x as it is then (execution_free it),
 * EXECUTION_NOT_FOUND, EXECUTION_CONFLICT (it had ended) or EXECUTION_DB.
 */
enum execution_outcome execution_cancel(struct db *db, const struct conf *c,
    struct shm *shm, long long id, const char *actor, struct execution *x);

/*
 * Renders row `i` of a result with store_execution_get's columns (what
 * store_execution_finish and store_execution_last_per_script return)
 * through execution_render: the runner's final row and a list's last run.
 */
void execution_write_json(struct jw *w, const struct dbres *res, size_t i,
    int full);

#endif
