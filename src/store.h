/*
 * store.h - all SQL of scriptorch lives behind these functions (store_*.c).
 *
 * Every function returns 0 on success or -1 with the reason in
 * db_error()/db_errmsg(); a lookup that finds nothing returns 0 with
 * *found = 0. Timestamps come back in RFC 3339 form.
 */
#ifndef SCRIPTORCH_STORE_H
#define SCRIPTORCH_STORE_H

#include <stddef.h>

#include "role.h"

struct db;
struct script;
struct dbres;
struct execution_filter;
struct execution;
struct token_rec;

/* ---- tokens (store_tokens.c) ---- */
/* Token records (struct token_rec) are defined with the token service,
 * auth.h. */
int store_token_insert(struct db *db, const char *name, enum role role,
    const unsigned char hash[32], long long *id, char created_at[32]);
int store_token_by_hash(struct db *db, const unsigned char hash[32],
    struct token_rec *t, int *found);
int store_token_touch(struct db *db, long long id);
/* Calls fn for each token, oldest first. */
int store_token_list(struct db *db,
    void (*fn)(void *arg, const struct token_rec *t), void *arg);
/* Sets *found = 0 when no such token; revoking twice is fine. */
int store_token_revoke(struct db *db, long long id, int *found);

/* ---- sessions (store_sessions.c; the service is session.h) ---- */
/* Inserts session `hash` of token `token_id`, expiring `ttl_s` seconds
 * from now (the database's clock); `expires_at` gets that end. */
int store_session_insert(struct db *db, const unsigned char hash[32],
    long long token_id, int ttl_s, char expires_at[32]);
/* The token of session `hash` while it has not expired: *found = 1 with
 * the session's stored hash in `stored`, its token in *t (revoked or not)
 * and its end in `expires_at`. */
int store_session_token(struct db *db, const unsigned char hash[32],
    unsigned char stored[32], struct token_rec *t, char expires_at[32],
    int *found);
int store_session_delete(struct db *db, const unsigned char hash[32]);
/* Every session of token `token_id` (its revocation). */
int store_session_delete_token(struct db *db, long long token_id);
/* Deletes up to `batch` expired sessions, oldest first. */
int store_session_delete_expired(struct db *db, int batch,
    long long *deleted);

/* ---- audit (store_tokens.c) ---- */
int store_audit(struct db *db, const char *actor, const char *action,
    const char *object_type, long long object_id, const char *detail);

/* ---- migrations (store_migrate.c) ---- */
/* Applies every sql/NNN_*.sql file in `dir` not yet recorded, in order,
 * each recorded in schema_migrations. *applied counts what ran. */
int store_migrate(struct db *db, const char *dir, int *applied,
    char *err, size_t errlen);

/* ---- health ---- */
int store_ping(struct db *db);

/* ---- nodes (store_nodes.c; the service is nodes.c) ---- */
/* A node's row as listed: strings borrowed from the result, valid during
 * the callback. */
struct node_rec {
	const char *name;
	const char *labels;        /* canonical (labels.h), "" for none */
	int runners, busy;
	const char *version;
	char started_at[32], last_seen_at[32];
	int up;                    /* seen within the timeout, not stopped */
};
/* Writes node `name`'s row: seen now, not stopped. */
int store_node_beat(struct db *db, const char *name, const char *labels,
    int runners, int busy, const char *version, long long started_unix_ms);
/* How many nodes other than `name` are up (timeout_s: the heartbeat
 * timeout). */
int store_node_peers_up(struct db *db, const char *name, int timeout_s,
    int *n);
/* Node `name` stopped cleanly. */
int store_node_stopped(struct db *db, const char *name);
/* Deletes the rows of nodes not seen for `days` days; *n of them. */
int store_node_forget(struct db *db, int days, int *n);
/* Calls fn for every node, by name. */
int store_node_list(struct db *db, int timeout_s,
    void (*fn)(void *arg, const struct node_rec *n), void *arg);

/* ---- executions (store_executions.c) ---- */
/* Queued and running executions across all nodes. */
int store_execution_gauges(struct db *db, long long *queued,
    long long *running);
/* Column order of every execution row (store_execution_finish's row,
 * store_execution_last_per_script; store_execution_view reads them). */
enum exec_col {
	EC_ID, EC_SCRIPT_ID, EC_SCRIPT_NAME, EC_SCRIPT_VERSION, EC_TRIGGER,
	EC_STATUS, EC_INPUT, EC_EXIT_CODE, EC_SIGNAL, EC_STDOUT, EC_STDERR,
	EC_STDOUT_TRUNC, EC_STDERR_TRUNC, EC_OUTPUT, EC_OUTPUT_FILE, EC_ERROR,
	EC_QUEUED_AT, EC_STARTED_AT, EC_FINISHED_AT, EC_DURATION_MS,
	EC_CPU_USER_MS, EC_CPU_SYSTEM_MS, EC_MAX_RSS_KB, EC_NODE, EC_LIMIT,
	EC_TRIGGERED_BY, EC_CALLBACK_URL, EC_NCOLS
};

/* A runner reserved for an execution as it is inserted (dispatch.h):
 * the row carries its node and pid and a heartbeat, and no scan or other
 * runner takes it. `running`: inserted running (the caller waits for
 * the end); else queued until that runner starts it. */
struct execution_reserved {
	const char *node;
	int pid;
	int running;
};
/* Inserts a queued execution, or one reserved for a runner (`rsv` not
 * NULL), asked for by the token named `triggered_by`; *id gets its id. `input_json` is the input as shown (secret
 * properties as "***"), `input_secret` the sealed JSON of those
 * properties, or NULL. `node_labels`: its script's (labels.h canonical
 * text, NULL for none), which a node must have to claim it;
 * `callback_url` the URL its delivery goes to when it ends (a checked
 * one, callback.h), or NULL. With `row`
 * (not NULL), the same statement
 * returns the execution as stored into *row (the caller releases it with
 * execution_free). `nonce`: the submission's random number
 * (store_execution_find_submitted). The queue's depth limit is checked
 * before, with the script (store_script_get_probe). */
int store_execution_enqueue(struct db *db, long long script_id,
    const char *script_name, const char *trigger, const char *triggered_by,
    const char *input_json, const char *input_secret,
    const char *node_labels, const char *callback_url,
    const struct execution_reserved *rsv, long long nonce, long long *id,
    struct execution *row);
/* The queue-depth probe alone, for a submission whose script was
 * remembered (registry_load_for_submit): *full = 1 when `max_queued`
 * executions already wait. */
int store_execution_queue_full(struct db *db, int max_queued, int *full);
/* One execution, all of it: *found = 0 when there is none; else *x is
 * filled (the caller releases it with execution_free). */
int store_execution_get(struct db *db, long long id, struct execution *x,
    int *found);
/* Row `i` of a result with store_execution_get's columns (the row of
 * store_execution_finish, store_execution_last_per_script) seen as a record: its strings point
 * into `res` (borrowed, valid while res is; never execution_free it). */
void store_execution_view(const struct dbres *res, size_t i,
    struct execution *x);
/* The status alone ("" when not found). */
int store_execution_status(struct db *db, long long id, char status[16]);
/* The same for a transaction whose COMMIT is in doubt (it inserted row
 * `id`, and its connection was lost before the COMMIT's answer): a
 * locking read, which waits while that transaction is still being
 * committed or rolled back by the server, so that "" means it was not
 * committed. */
int store_execution_status_settled(struct db *db, long long id,
    char status[16]);
/* The execution a submission's INSERT in doubt made, if it made one: the
 * row inserted within the last minute with `nonce` (as given to
 * store_execution_enqueue), read with the same waiting lock. *id = 0 when
 * there is none; else its id, and with `row` (not NULL) the row, which
 * the caller releases with execution_free. */
int store_execution_find_submitted(struct db *db, long long nonce,
    long long *id, struct execution *row);

/* Calls fn for each execution that `f` (execution.h) lets through, in
 * its order, without input, stdout and stderr; the record is freed after
 * the call. */
int store_execution_list(struct db *db, const struct execution_filter *f,
    void (*fn)(void *arg, const struct execution *x), void *arg);
/* Adds the executions `f` lets through (but for its statuses) to *out
 * by status (execution_status_name's order). */
struct status_counts;
int store_execution_counts(struct db *db, const struct execution_filter *f,
    struct status_counts *out);
/* The newest f->limit executions `f` lets through, to fn oldest first. */
struct duration_point;
int store_execution_durations(struct db *db, const struct execution_filter *f,
    void (*fn)(void *arg, const struct duration_point *p), void *arg);
/* The newest execution of every script that has one (list columns),
 * ordered by script_id. */
int store_execution_last_per_script(struct db *db, struct dbres *res);
/* Raw stdout or stderr bytes: *data (the caller frees it; NULL when
 * there are none) and *len. *found = 0 if no such execution. */
int store_execution_stream(struct db *db, long long id, int which_stderr,
    char **data, size_t *len, int *found);

/* A claimed execution: what the runner needs to run it. */
struct execution_claim {
	long long id;
	long long script_id;
	char *input_json;          /* owned: free() */
	/* The sealed secret properties of the input (executions.
	 * input_secret), or NULL. It lives in input_json's allocation, after
	 * that text's NUL, so free(input_json) releases both. */
	char *input_secret;
	double waited_ms;          /* queued -> claimed, by the DB clock */
	/* store_execution_claim failed at its COMMIT, the connection lost: the
	 * claim of `id` may have been committed (store_execution_owned tells).
	 * The rest is filled as for a claim. */
	int in_doubt;
};
/* Claims the oldest queued execution this runner may start, however
 * far down the queue, honouring every script's max_concurrency across
 * nodes and its node_labels (`labels_re`: labels_regexp() of this node's
 * labels), and passing over the `nskip` ids in `skip` (handed off to
 * runners already). *claimed = 0 if none. A deadlock is retried; -1 otherwise, with cl->in_doubt set
 * (and cl filled: free cl->input_json) when the connection was lost at
 * the COMMIT of a claim. */
int store_execution_claim(struct db *db, const char *node, int pid,
    const char *labels_re, const long long *skip, size_t nskip,
    struct execution_claim *cl, int *claimed);
/*
 * The cheap look of an idle node for work (runner.c, "watching"):
 * *newest gets the id of the newest queued execution (0: none); when it
 * is not `seen_newest`, *n gets how many executions (at most `max`) this
 * node may claim now (queued, unreserved, for labels this node has:
 * `labels_re`), else *n = 0 and nothing more is read. No lock.
 */
int store_execution_probe(struct db *db, const char *labels_re, int max,
    long long seen_newest, int *n, long long *newest);
/* Whether execution `id` is running for runner `pid` of `node` (a claim
 * whose outcome the connection's loss hid): *owned 1 or 0. A locking
 * read: a claim still being committed is waited for. */
int store_execution_owned(struct db *db, long long id, const char *node, int pid,
    int *owned);
/* An execution handed to this runner by an API worker of this node
 * (dispatch_handoff, or assigned with an input too big for its box):
 * reads it, and its script in the same statement, without claiming it.
 * *found = 0 when it is neither queued nor running (ended, gone): a
 * queued one still has to be claimed;
 * *have_script = 0 when its script is gone (else free *s with
 * script_free). */
int store_execution_peek(struct db *db, long long id,
    struct execution_claim *cl,
    int *found, struct script *s, int *have_script);
/* Claims that execution by id, in one autocommitted statement: *claimed
 * = 1 if this runner now owns it, 0 if another runner took it or it was
 * canceled. Only for scripts without max_concurrency. */
int store_execution_claim_id(struct db *db, long long id, const char *node,
    int pid, int *claimed);
/* The same claim in two halves, so the caller can work while it commits
 * (db_send/db_await): nothing else may use `db` in between; `node` must
 * stay valid until the end. */
int store_execution_claim_id_send(struct db *db, long long id, const char *node,
    int pid);
int store_execution_claim_id_end(struct db *db, int *claimed);
/* Records the version that runs and started_at: the child was exec'd
 * `ago_ms` before this call. */
int store_execution_started(struct db *db, long long id, const char *version,
    double ago_ms);
/* Heartbeat alone (while a venv builds before the run). */
int store_execution_heartbeat(struct db *db, long long id);
/* Saves live output and the heartbeat; *cancel gets the cancel flag. */
int store_execution_progress(struct db *db, long long id, const char *out,
    size_t outlen, int out_trunc, const char *err, size_t errlen,
    int err_trunc, int *cancel);

struct execution_final {
	const char *status;
	const char *version;       /* may be NULL */
	int has_exit; int exit_code;
	int has_signal; int signo;
	const char *out; size_t outlen; int out_trunc;
	const char *err; size_t errlen; int err_trunc;
	const char *output_json;   /* may be NULL */
	const char *output_file; size_t output_file_len;  /* may be NULL */
	const char *error;         /* may be NULL */
	const char *limit;         /* the limit that stopped it, or NULL */
	int has_stats;
	double duration_ms;
	long long cpu_user_ms, cpu_system_ms, max_rss_kb;
	/* When the run ended (its child reaped, or the error found) and when
	 * its child was exec'd, as clock_mono_ms() read them; 0: now, and
	 * never started. Ages are taken from them as the record is sent,
	 * so a record written late (the database was away) still says when
	 * the run ended, and when it started if no tick recorded that. */
	double ended_mono_ms;
	double exec_mono_ms;
};
/* Writes the final record of a running execution, durably, in one
 * statement of its own. *updated = 0 when it was no longer running
 * (marked lost meanwhile). finished_at is f->ended_mono_ms on the
 * database's clock, started_at (if no tick wrote it)
 * f->exec_mono_ms. *delivery = 1 when the record made a callback
 * delivery due (the execution has a callback_url): the same statement
 * wrote it (sql/013_callbacks.sql's trigger, as for every path that ends
 * an execution). With `row`, the row as stored after the write is read
 * back into it, with store_execution_get's columns (release it with
 * dbres_free()); it holds no row (nrows 0) when the record did not
 * update the execution. A read after the write that fails leaves the
 * record standing (0 is returned): no row then, and *delivery = 1 (at
 * worst the sender is woken for nothing); db_errmsg says why. */
int store_execution_finish(struct db *db, long long id,
    const struct execution_final *f, int *updated, int *delivery,
    struct dbres *row);
/* Cancel: a queued execution becomes canceled at once (*outcome 1); a
 * running one gets its cancel flag (*outcome 2); final: *outcome 0;
 * unknown: *outcome -1. */
int store_execution_cancel(struct db *db, long long id, int *outcome);

/* Marks running executions without a heartbeat for `timeout_s` (and
 * queued ones reserved for a runner that stopped) as lost, locking none
 * of the others; *n counts them, also when a failure stops it midway. */
int store_execution_mark_lost(struct db *db, int timeout_s, int *n);
/* Deletes up to `batch` final executions queued more than `days` ago. */
int store_execution_delete_old(struct db *db, int days, int batch,
    long long *deleted);

/* ---- idempotency keys (store_idempotency.c) ---- */
/* A key's row: the fingerprint of the request that created its execution
 * (SHA-256) and that execution. Rows are scoped to a token and count for
 * `ttl_s` seconds after their insert. */
#define STORE_IDEM_FP 32
/* The live row of (token_id, key): *found = 0 when there is none (or only
 * an expired one). */
int store_idem_get(struct db *db, long long token_id, const char *key,
    int ttl_s, unsigned char fp[STORE_IDEM_FP], long long *execution_id,
    int *found);
/* Inserts the row, replacing an expired one. Call in the transaction that
 * inserts the execution, read committed (db_tx_begin_read_committed).
 * A live row of the key makes it fail with DB_EDUPLICATE (or, when two
 * requests race for it, DB_EDEADLOCK, which on Galera comes at COMMIT). */
int store_idem_insert(struct db *db, long long token_id, const char *key,
    int ttl_s, const unsigned char fp[STORE_IDEM_FP], long long execution_id);
/* Deletes up to `batch` rows older than ttl_s, oldest first. */
int store_idem_forget_old(struct db *db, int ttl_s, int batch,
    long long *deleted);

/* ---- marketplace installs (store_marketplace.c) ---- */
/* A script installed from an item of the marketplace (sql/015), with the
 * script's name and version now. Strings are borrowed for a callback. */
struct market_install {
	const char *item;
	long long script_id;
	const char *script_name;
	const char *script_version;
	const char *item_version;  /* the item's version at the install */
	char installed_at[32];     /* RFC 3339 */
};
/* Records that script `script_id` was installed from `item` at
 * `item_version`. Call inside the transaction that creates the script
 * (registry_create_with). */
int store_market_install_add(struct db *db, long long script_id,
    const char *item, const char *item_version);
/* Calls fn for every script installed from the marketplace that still
 * exists, by item, oldest install first. */
int store_market_installs(struct db *db,
    void (*fn)(void *arg, const struct market_install *mi), void *arg);

/* ---- callback deliveries (store_deliveries.c) ---- */
/* One row of the deliveries table (sql/013_callbacks.sql). url and
 * last_error are owned by the record (delivery_rec_free); times are
 * RFC 3339, "" for NULL. */
struct delivery_rec {
	long long id;
	long long execution_id;
	char *url;
	char status[12];           /* pending | delivered | failed */
	long long attempts;
	int has_status_code;
	int last_status_code;
	char *last_error;          /* NULL: none */
	char created_at[32];
	char next_attempt_at[32];
	char delivered_at[32];
};
void delivery_rec_free(struct delivery_rec *d);
/* Calls fn for each delivery of execution `execution_id`, oldest first;
 * the record is freed after the call. */
int store_delivery_list(struct db *db, long long execution_id,
    void (*fn)(void *arg, const struct delivery_rec *d), void *arg);

/* At most this many deliveries per claim. */
#define STORE_DELIVERY_CLAIM_MAX 16
/* A delivery claimed for one attempt. url is owned: free(). */
struct delivery_claim {
	long long id;
	long long execution_id;
	char *url;
	unsigned attempts;         /* this attempt included */
	double age_ms;             /* since the row was written, DB clock */
};
/*
 * Claims up to `max` (<= STORE_DELIVERY_CLAIM_MAX) due deliveries, the
 * longest due first, for the sender whose token is `token` (non-zero,
 * its own): one READ COMMITTED transaction locks due rows that no other
 * transaction holds (FOR UPDATE SKIP LOCKED) and marks them with the
 * token, attempts + 1 and next_attempt_at `lease_s` on, and commits; a
 * lost race (a deadlock; on Galera a certification failure at COMMIT) is
 * tried again. *n claimed are in out[0..n): release each url with free().
 * Nothing is claimed unless the COMMIT succeeded.
 */
int store_delivery_claim(struct db *db, unsigned long long token,
    int lease_s, size_t max, struct delivery_claim *out, size_t *n);
/*
 * Records the outcome of the attempt the sender with `token` made of
 * delivery `id`: `status` "delivered", "failed", or "pending" (then due
 * again in `retry_ms`); `status_code` the HTTP status answered (0: none
 * came), `error` why it failed (NULL for a delivery). *recorded = 0 when
 * the claim was no longer this sender's (its lease ran out and another
 * sender claimed the row): nothing was written.
 */
int store_delivery_record(struct db *db, long long id,
    unsigned long long token, const char *status, int status_code,
    const char *error, long long retry_ms, int *recorded);
/* How long until the soonest pending delivery is due: *ms (0 when one is
 * due now), or -1 when none is pending. */
int store_delivery_next_due(struct db *db, double *ms);
/* Gives an attempt back unfinished (the sender stops): the delivery is
 * due again at once, with `error` as its last error. */
int store_delivery_release(struct db *db, long long id,
    unsigned long long token, const char *error);
/* Marks up to `batch` due deliveries written more than max_age_s ago
 * failed (nothing attempted them in time); *n counts them. */
int store_delivery_expire(struct db *db, long long max_age_s, int batch,
    long long *n);
/* Deletes up to `batch` delivered or failed deliveries written more
 * than `days` ago. */
int store_delivery_delete_old(struct db *db, int days, int batch,
    long long *deleted);

/* ---- scripts (store_scripts.c) ---- */
/* One script; *found = 0 when there is none. With for_update the row is
 * locked until the end of the caller's transaction. The caller releases
 * *s with script_free() (script.h). */
int store_script_get(struct db *db, long long id, int for_update,
    struct script *s, int *found);
int store_script_get_by_name(struct db *db, const char *name,
    struct script *s, int *found);
/* The same by id (name NULL) or name, and in the same statement whether
 * `max_queued` executions already wait in the queue (*queue_full), so a
 * submission needs one round trip for both. */
int store_script_get_probe(struct db *db, long long id, const char *name,
    int max_queued, struct script *s, int *found, int *queue_full);
/* Calls fn for each script ordered by name; NULL type/like and enabled < 0
 * match all. `like` is a LIKE pattern escaped with '!', matched without
 * regard to case against name and description. The script passed to fn
 * is freed after the call. */
int store_script_list(struct db *db, const char *type, int enabled,
    const char *like, void (*fn)(void *arg, const struct script *s),
    void *arg);
/* Inserts every field of s but id and the timestamps (set to now). */
int store_script_insert(struct db *db, const struct script *s, long long *id);
/* Writes every writable field and version of script s->id; updated_at
 * becomes now. */
int store_script_update(struct db *db, const struct script *s);
/* Sets version = newv only while it is still oldv; *changed says whether
 * this call did it. */
int store_script_set_version(struct db *db, long long id, const char *oldv,
    const char *newv, int *changed);
/* Appends a version to the script's history (recorded_at = now). */
int store_script_version_add(struct db *db, long long id, const char *version);
/* Calls fn for each recorded version, newest first. */
int store_script_versions(struct db *db, long long id,
    void (*fn)(void *arg, const char *version, const char *recorded_at),
    void *arg);
/* Deletes the script and its history, and ends its queued executions as
 * canceled ("the script was deleted"); *canceled counts them. Call inside
 * a transaction. */
int store_script_delete(struct db *db, long long id, int *found,
    long long *canceled);

/* ---- venvs (store_venvs.c) ---- */
/* One row of the venvs table. The pointer members are owned by the record
 * and released by venv_rec_free(); timestamps are RFC 3339, "" for NULL. */
struct venv_rec {
	long long id;
	char key[65];
	char python[33];
	char status[12];           /* building | ready | failed */
	char *requirements;        /* normalized text */
	long long size_bytes;      /* -1: unknown */
	char created_at[32];
	char last_used_at[32];
	double build_seconds;      /* < 0: unknown */
	char failed_at[32];
	char *error;               /* NULL unless the last build failed */
	char *build_log;           /* NULL unless asked for */
	char node[256];            /* where the last build ran ("" unknown) */
	long long idle_s;          /* seconds since last use (or creation) */
	long long failed_age_s;    /* seconds since failed_at; -1: not failed */
};
void venv_rec_free(struct venv_rec *v);

/* One venv by key or by id; with_log also fetches build_log. */
int store_venv_by_key(struct db *db, const char *key, int with_log,
    struct venv_rec *v, int *found);
int store_venv_by_id(struct db *db, long long id, int with_log,
    struct venv_rec *v, int *found);
/* Calls fn for each venv (without build_log), by id; the record is freed
 * after the call. */
int store_venv_list(struct db *db,
    void (*fn)(void *arg, const struct venv_rec *v), void *arg);
/* Ready venvs, least recently used first (as store_venv_list). */
int store_venv_lru(struct db *db,
    void (*fn)(void *arg, const struct venv_rec *v), void *arg);
/* A build of `key` starts: inserts the row or sets it back to building. */
int store_venv_building(struct db *db, const char *key, const char *python,
    const char *requirements, const char *node);
/* The build succeeded / failed (log and error are UTF-8). */
int store_venv_ready(struct db *db, const char *key, long long size_bytes,
    double seconds, const char *log);
int store_venv_failed(struct db *db, const char *key, double seconds,
    const char *log, const char *error);
/* last_used_at = now, unless it was set less than a minute ago. */
int store_venv_touch(struct db *db, const char *key);
/* Calls fn for each venv that node `node` is building (or was, when its
 * builder died). */
int store_venv_building_on(struct db *db, const char *node,
    void (*fn)(void *arg, const struct venv_rec *v), void *arg);
/* A build that died: failed, `error`, no failure time (no back-off). */
int store_venv_interrupted(struct db *db, const char *key,
    const char *error);
int store_venv_delete(struct db *db, long long id, int *found);
/* Calls fn with the id and requirements (NULL: none) of every python
 * script. */
int store_venv_python_scripts(struct db *db,
    void (*fn)(void *arg, long long id, const char *requirements), void *arg);

#endif
