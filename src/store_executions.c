/*
 * store_executions.c - SQL for the execution queue and log.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "clock.h"
#include "db.h"
#include "execution.h"
#include "log.h"
#include "store.h"
#include "store_int.h"

int
store_execution_gauges(struct db *db, long long *queued, long long *running)
{
	static const char *sql = "SELECT status, COUNT(*) FROM executions "
	    "WHERE status IN ('queued', 'running') GROUP BY status";
	struct dbres res;

	*queued = *running = 0;
	if (db_exec(db, sql, NULL, 0, &res, NULL, NULL) == -1)
		return -1;
	for (size_t i = 0; i < res.nrows; i++) {
		long long n = strtoll(dbres_get(&res, i, 1), NULL, 10);
		if (strcmp(dbres_get(&res, i, 0), "queued") == 0)
			*queued = n;
		else
			*running = n;
	}
	dbres_free(&res);
	return 0;
}

/* Whose heartbeat stopped: a run, or a row reserved for a runner. */
#define LOST_WHERE "status IN ('running', 'queued') AND heartbeat_at < " \
	"UTC_TIMESTAMP(3) - INTERVAL ? SECOND AND (status = 'running' OR " \
	"runner_pid IS NOT NULL)"

int
store_execution_mark_lost(struct db *db, int timeout_s, int *n)
{
	/*
	 * A plain read finds them, taking no lock: an UPDATE over the same
	 * condition would lock every running row it passes, holding up the
	 * runners' recording of results and deadlocking with them. Each one
	 * found is then updated by id, the condition checked again (a
	 * heartbeat may have come meanwhile).
	 */
	static const char *find = "SELECT id FROM executions WHERE "
	    LOST_WHERE " LIMIT 1000";
	static const char *mark = "UPDATE executions SET status = 'lost', "
	    "finished_at = UTC_TIMESTAMP(3), "
	    "error = CONCAT('its runner (node ', COALESCE(node, '?'), ', pid ', "
	    "COALESCE(runner_pid, '?'), ') stopped sending heartbeats; the run "
	    "could not be finished') WHERE id = ? AND " LOST_WHERE;
	struct dbp p[1] = { DBP_I(timeout_s) };
	struct dbres res;
	unsigned long long affected;
	int rc = 0;

	*n = 0;
	if (db_exec(db, find, p, 1, &res, NULL, NULL) == -1)
		return -1;
	for (size_t i = 0; i < res.nrows; i++) {
		struct dbp q[2] = { DBP_I(atoll(dbres_get(&res, i, 0))),
		    DBP_I(timeout_s) };
		if ((rc = db_exec(db, mark, q, 2, NULL, &affected,
		    NULL)) == -1)
			break;
		*n += (int)affected;
	}
	dbres_free(&res);
	return rc;
}

int
store_execution_delete_old(struct db *db, int days, int batch,
    long long *deleted)
{
	static const char *sql = "DELETE FROM executions WHERE queued_at < "
	    "UTC_TIMESTAMP(3) - INTERVAL ? DAY AND status NOT IN "
	    "('queued', 'running') ORDER BY queued_at LIMIT ?";
	struct dbp p[2] = { DBP_I(days), DBP_I(batch) };
	unsigned long long affected;

	*deleted = 0;
	if (db_exec(db, sql, p, 2, NULL, &affected, NULL) == -1)
		return -1;
	*deleted = (long long)affected;
	return 0;
}

#define EXECUTION_COLS "id, script_id, script_name, script_version, " \
	"`trigger`, status, input, exit_code, `signal`, stdout, stderr, " \
	"stdout_truncated, stderr_truncated, output, output_file, error, " \
	"queued_at, started_at, finished_at, duration_ms, cpu_user_ms, " \
	"cpu_system_ms, max_rss_kb, node, `limit`, triggered_by, callback_url"
/* The same positions for lists, without the large columns. */
#define EXECUTION_LIST_COLS "id, script_id, script_name, script_version, " \
	"`trigger`, status, NULL, exit_code, `signal`, NULL, NULL, " \
	"stdout_truncated, stderr_truncated, output, output_file, error, " \
	"queued_at, started_at, finished_at, duration_ms, cpu_user_ms, " \
	"cpu_system_ms, max_rss_kb, node, `limit`, triggered_by, callback_url"

/* A number cell: *has = 0 for NULL. */
static long long
cell_ll(const struct dbres *res, size_t i, size_t col, int *has)
{
	const char *v = dbres_get(res, i, col);

	*has = v != NULL;
	return v != NULL ? strtoll(v, NULL, 10) : 0;
}

static void
cell_ts(const struct dbres *res, size_t i, size_t col, char out[32])
{
	out[0] = '\0';
	if (dbres_get(res, i, col) != NULL)
		clock_db_to_rfc3339(dbres_get(res, i, col), out, 32);
}

/* The string columns of an execution row, which a record takes over. */
static const size_t exec_str_cols[] = { EC_SCRIPT_NAME, EC_SCRIPT_VERSION,
	EC_TRIGGER, EC_INPUT, EC_STDOUT, EC_STDERR, EC_OUTPUT, EC_OUTPUT_FILE,
	EC_ERROR, EC_NODE, EC_LIMIT, EC_TRIGGERED_BY, EC_CALLBACK_URL };

void
store_execution_view(const struct dbres *res, size_t i, struct execution *x)
{
#define CELL_S(c) ((char *)dbres_get(res, i, (c)))
	const char *v;
	int has;

	memset(x, 0, sizeof(*x));
	x->id = cell_ll(res, i, EC_ID, &has);
	x->script_id = cell_ll(res, i, EC_SCRIPT_ID, &has);
	x->script_name = CELL_S(EC_SCRIPT_NAME);
	x->script_version = CELL_S(EC_SCRIPT_VERSION);
	x->trigger = CELL_S(EC_TRIGGER);
	if ((v = dbres_get(res, i, EC_STATUS)) != NULL)
		snprintf(x->status, sizeof(x->status), "%s", v);
	x->input = CELL_S(EC_INPUT);
	x->exit_code = cell_ll(res, i, EC_EXIT_CODE, &x->has_exit_code);
	x->signo = cell_ll(res, i, EC_SIGNAL, &x->has_signal);
	x->stdout_data = CELL_S(EC_STDOUT);
	x->stdout_len = x->stdout_data ? dbres_len(res, i, EC_STDOUT) : 0;
	x->stderr_data = CELL_S(EC_STDERR);
	x->stderr_len = x->stderr_data ? dbres_len(res, i, EC_STDERR) : 0;
	v = dbres_get(res, i, EC_STDOUT_TRUNC);
	x->stdout_truncated = v != NULL && strcmp(v, "1") == 0;
	v = dbres_get(res, i, EC_STDERR_TRUNC);
	x->stderr_truncated = v != NULL && strcmp(v, "1") == 0;
	x->output = CELL_S(EC_OUTPUT);
	x->output_file = CELL_S(EC_OUTPUT_FILE);
	x->output_file_len = x->output_file ?
	    dbres_len(res, i, EC_OUTPUT_FILE) : 0;
	x->error = CELL_S(EC_ERROR);
	cell_ts(res, i, EC_QUEUED_AT, x->queued_at);
	cell_ts(res, i, EC_STARTED_AT, x->started_at);
	cell_ts(res, i, EC_FINISHED_AT, x->finished_at);
	if ((v = dbres_get(res, i, EC_DURATION_MS)) != NULL) {
		x->has_duration = 1;
		x->duration_ms = strtod(v, NULL);
	}
	x->cpu_user_ms = cell_ll(res, i, EC_CPU_USER_MS, &x->has_cpu_user);
	x->cpu_system_ms = cell_ll(res, i, EC_CPU_SYSTEM_MS,
	    &x->has_cpu_system);
	x->max_rss_kb = cell_ll(res, i, EC_MAX_RSS_KB, &x->has_max_rss);
	x->node = CELL_S(EC_NODE);
	x->limit = CELL_S(EC_LIMIT);
	x->triggered_by = CELL_S(EC_TRIGGERED_BY);
	x->callback_url = CELL_S(EC_CALLBACK_URL);
#undef CELL_S
}

/* Row `i` as a record of its own: it takes the row's strings over
 * (without copying them), so that freeing `res` leaves them to it. */
static void
exec_take(struct dbres *res, size_t i, struct execution *x)
{
	store_execution_view(res, i, x);
	for (size_t k = 0; k < sizeof(exec_str_cols) / sizeof(exec_str_cols[0]);
	    k++)
		res->cells[i * res->ncols + exec_str_cols[k]] = NULL;
}

int
store_execution_enqueue(struct db *db, long long script_id,
    const char *script_name,
    const char *trigger, const char *triggered_by, const char *input_json,
    const char *input_secret, const char *node_labels, const char *callback_url,
    const struct execution_reserved *rsv, long long nonce, long long *id,
    struct execution *row)
{
#define ENQUEUE "INSERT INTO executions (script_id, script_name, " \
	"`trigger`, triggered_by, status, input, input_secret, queued_at, " \
	"node, runner_pid, heartbeat_at, node_labels, callback_url, " \
	"submit_nonce) VALUES (?, ?, ?, ?, ?, ?, ?, UTC_TIMESTAMP(3), ?, ?, " \
	"IF(? IS NULL, NULL, UTC_TIMESTAMP(3)), ?, ?, ?)"
	static const char *ins = ENQUEUE;
	/* MariaDB's RETURNING: the row in the same round trip. */
	static const char *ins_row = ENQUEUE " RETURNING " EXECUTION_COLS;
#undef ENQUEUE
	const char *node = rsv != NULL ? rsv->node : NULL;
	struct dbp p[13] = { DBP_I(script_id), DBP_S(script_name),
	    DBP_S(trigger), DBP_S(triggered_by),
	    DBP_S(rsv != NULL && rsv->running ? "running" :
	    "queued"), DBP_S(input_json), DBP_S(input_secret), DBP_S(node),
	    rsv != NULL ? DBP_I(rsv->pid) : DBP_NUL, DBP_S(node),
	    DBP_S(node_labels), DBP_S(callback_url), DBP_I(nonce) };
	unsigned long long newid;
	struct dbres res;

	*id = 0;
	if (row == NULL) {
		if (db_exec(db, ins, p, 13, NULL, NULL, &newid) == -1)
			return -1;
		*id = (long long)newid;
		return 0;
	}
	if (db_exec(db, ins_row, p, 13, &res, NULL, NULL) == -1)
		return -1;
	if (res.nrows != 1 || (*id = atoll(dbres_get(&res, 0, EC_ID))) <= 0) {
		dbres_free(&res);
		return db_fail(db, "INSERT ... RETURNING gave no row");
	}
	exec_take(&res, 0, row);
	dbres_free(&res);
	return 0;
}

int
store_execution_queue_full(struct db *db, int max_queued, int *full)
{
	static const char *sql = "SELECT " QUEUE_PROBE;
	struct dbp p[1] = { DBP_I(max_queued - 1) };
	struct dbres res;

	*full = 0;
	if (db_exec(db, sql, p, 1, &res, NULL, NULL) == -1)
		return -1;
	*full = res.nrows == 1 && dbres_get(&res, 0, 0) != NULL;
	dbres_free(&res);
	return 0;
}

int
store_execution_get(struct db *db, long long id, struct execution *x,
    int *found)
{
	static const char *sql = "SELECT " EXECUTION_COLS
	    " FROM executions WHERE id = ?";
	struct dbp p[1] = { DBP_I(id) };
	struct dbres res;

	*found = 0;
	memset(x, 0, sizeof(*x));
	if (db_exec(db, sql, p, 1, &res, NULL, NULL) == -1)
		return -1;
	if (res.nrows == 1) {
		exec_take(&res, 0, x);
		*found = 1;
	}
	dbres_free(&res);
	return 0;
}

static int
status_of(struct db *db, const char *sql, long long id, char status[16])
{
	struct dbp p[1] = { DBP_I(id) };
	struct dbres res;

	status[0] = '\0';
	if (db_exec(db, sql, p, 1, &res, NULL, NULL) == -1)
		return -1;
	if (res.nrows == 1)
		snprintf(status, 16, "%s", dbres_get(&res, 0, 0));
	dbres_free(&res);
	return 0;
}

int
store_execution_status(struct db *db, long long id, char status[16])
{
	return status_of(db, "SELECT status FROM executions WHERE id = ?", id,
	    status);
}

int
store_execution_status_settled(struct db *db, long long id, char status[16])
{
	/* A plain read does not see a row whose insert is still being
	 * committed; a shared lock on it waits for that commit (or the
	 * rollback of a transaction whose connection is gone). Alone
	 * (autocommit), the lock goes with the statement. */
	return status_of(db, "SELECT status FROM executions WHERE id = ? "
	    "LOCK IN SHARE MODE", id, status);
}

int
store_execution_find_submitted(struct db *db, long long nonce,
    long long *id, struct execution *row)
{
	/* The last minute's rows through executions_queued_at (queued_at,
	 * status), each one's nonce checked: no index of its own for a read
	 * made only after a lost answer. A minute leaves room for the
	 * clocks of a cluster's servers to differ. The shared lock waits
	 * for an INSERT still being committed, as in
	 * store_execution_status_settled. */
	static const char *sql = "SELECT " EXECUTION_COLS " FROM executions "
	    "WHERE queued_at >= UTC_TIMESTAMP(3) - INTERVAL 60 SECOND AND "
	    "submit_nonce = ? LOCK IN SHARE MODE";
	struct dbp p[1] = { DBP_I(nonce) };
	struct dbres res;

	*id = 0;
	if (db_exec(db, sql, p, 1, &res, NULL, NULL) == -1)
		return -1;
	if (res.nrows > 1) {
		dbres_free(&res);
		return db_fail(db, "two executions carry one submission's nonce");
	}
	if (res.nrows == 1) {
		*id = atoll(dbres_get(&res, 0, EC_ID));
		if (row != NULL)
			exec_take(&res, 0, row);
	}
	dbres_free(&res);
	return 0;
}

/*
 * Lists, counts and durations use one prepared statement per combination
 * of filters, built once per process: each has only the conditions it
 * needs, so MariaDB can use the matching index (a list walks the (filter,
 * id) index from the cursor; counts read the (script_id, queued_at,
 * status) or (queued_at, status) index range).
 */
enum filter_use { FU_LIST, FU_COUNTS, FU_DURATIONS, FU_N };
#define FILTER_COMBOS (2 * (EXECUTION_NSTATUSES + 1) * 2 * 2 * 2 * 2)

/* The combination of conditions the filter has, 0 .. FILTER_COMBOS-1
 * (its statuses and order only where `u` uses them). */
static int
filter_combo(const struct execution_filter *f, enum filter_use u)
{
	int c = f->script_id > 0;

	c = c * (EXECUTION_NSTATUSES + 1) + (u != FU_COUNTS ? f->nstatuses : 0);
	c = c * 2 + (f->trigger != NULL);
	c = c * 2 + (f->since != NULL);
	c = c * 2 + (f->until != NULL);
	c = c * 2 + (u == FU_LIST && f->ascending);
	return c;
}

/* Appends the filter's conditions, each " AND ...", in filter_bind's
 * order. */
static void
filter_sql(struct buf *b, const struct execution_filter *f, enum filter_use u)
{
	int ns = u != FU_COUNTS ? f->nstatuses : 0;

	if (f->script_id > 0)
		buf_adds(b, " AND script_id = ?");
	if (ns == 1)
		buf_adds(b, " AND status = ?");
	else if (ns > 1) {
		buf_adds(b, " AND status IN (?");
		for (int i = 1; i < ns; i++)
			buf_adds(b, ", ?");
		buf_adds(b, ")");
	}
	if (f->trigger != NULL)
		buf_adds(b, " AND `trigger` = ?");
	if (f->since != NULL)
		buf_adds(b, " AND queued_at >= ?");
	if (f->until != NULL)
		buf_adds(b, " AND queued_at < ?");
}

/* Binds the filter's values into p (room for EXECUTION_NSTATUSES + 4);
 * returns how many. */
static size_t
filter_bind(struct dbp *p, const struct execution_filter *f, enum filter_use u)
{
	size_t np = 0;

	if (f->script_id > 0)
		p[np++] = DBP_I(f->script_id);
	for (int i = 0; u != FU_COUNTS && i < f->nstatuses; i++)
		p[np++] = DBP_S(f->statuses[i]);
	if (f->trigger != NULL)
		p[np++] = DBP_S(f->trigger);
	if (f->since != NULL)
		p[np++] = DBP_S(f->since);
	if (f->until != NULL)
		p[np++] = DBP_S(f->until);
	return np;
}

/* The statement for `f` used as `u`, built on first use. */
static const char *
filter_statement(const struct execution_filter *f, enum filter_use u)
{
	static char *sqls[FU_N][FILTER_COMBOS];
	int combo = filter_combo(f, u);
	struct buf b = BUF_INIT;

	if (sqls[u][combo] != NULL)
		return sqls[u][combo];
	switch (u) {
	case FU_LIST:
		buf_printf(&b, "SELECT " EXECUTION_LIST_COLS " FROM executions "
		    "WHERE id %s ?", f->ascending ? ">" : "<");
		filter_sql(&b, f, u);
		buf_printf(&b, " ORDER BY id %s LIMIT ?",
		    f->ascending ? "ASC" : "DESC");
		break;
	case FU_COUNTS:
		buf_adds(&b, "SELECT status, COUNT(*) FROM executions WHERE TRUE");
		filter_sql(&b, f, u);
		buf_adds(&b, " GROUP BY status");
		break;
	default:        /* FU_DURATIONS */
		buf_adds(&b, "SELECT id, status, queued_at, duration_ms FROM "
		    "executions WHERE TRUE");
		filter_sql(&b, f, u);
		buf_adds(&b, " ORDER BY id DESC LIMIT ?");
		break;
	}
	sqls[u][combo] = buf_detach(&b, NULL);
	return sqls[u][combo];
}

int
store_execution_list(struct db *db, const struct execution_filter *f,
    void (*fn)(void *arg, const struct execution *x), void *arg)
{
	struct dbp p[EXECUTION_NSTATUSES + 8];
	struct dbres res;
	struct execution x;
	const char *sql = filter_statement(f, FU_LIST);
	size_t np = 0;

	p[np++] = DBP_I(f->cursor > 0 ? f->cursor : f->ascending ? 0 :
	    (1LL << 62));
	np += filter_bind(p + np, f, FU_LIST);
	p[np++] = DBP_I(f->limit);
	if (db_exec(db, sql, p, np, &res, NULL, NULL) == -1)
		return -1;
	for (size_t i = 0; i < res.nrows; i++) {
		store_execution_view(&res, i, &x);
		fn(arg, &x);
	}
	dbres_free(&res);
	return 0;
}

int
store_execution_counts(struct db *db, const struct execution_filter *f,
    struct status_counts *out)
{
	struct dbp p[EXECUTION_NSTATUSES + 8];
	struct dbres res;
	const char *sql = filter_statement(f, FU_COUNTS);
	size_t np = filter_bind(p, f, FU_COUNTS);

	if (db_exec(db, sql, p, np, &res, NULL, NULL) == -1)
		return -1;
	for (size_t i = 0; i < res.nrows; i++) {
		const char *st = dbres_get(&res, i, 0);
		long long n = strtoll(dbres_get(&res, i, 1), NULL, 10);

		for (int k = 0; execution_status_name(k) != NULL; k++)
			if (strcmp(execution_status_name(k), st) == 0)
				out->n[k] += n;
		out->total += n;
	}
	dbres_free(&res);
	return 0;
}

int
store_execution_durations(struct db *db, const struct execution_filter *f,
    void (*fn)(void *arg, const struct duration_point *p), void *arg)
{
	struct dbp p[EXECUTION_NSTATUSES + 8];
	struct dbres res;
	struct duration_point pt;
	const char *sql = filter_statement(f, FU_DURATIONS);
	size_t np = filter_bind(p, f, FU_DURATIONS);

	p[np++] = DBP_I(f->limit);
	if (db_exec(db, sql, p, np, &res, NULL, NULL) == -1)
		return -1;
	/* Newest first from the index; a chart wants them oldest first. */
	for (size_t i = res.nrows; i-- > 0;) {
		const char *d = dbres_get(&res, i, 3);

		memset(&pt, 0, sizeof(pt));
		pt.id = strtoll(dbres_get(&res, i, 0), NULL, 10);
		snprintf(pt.status, sizeof(pt.status), "%s",
		    dbres_get(&res, i, 1));
		cell_ts(&res, i, 2, pt.queued_at);
		pt.has_duration = d != NULL;
		pt.duration_ms = d != NULL ? strtod(d, NULL) : 0;
		fn(arg, &pt);
	}
	dbres_free(&res);
	return 0;
}

int
store_execution_last_per_script(struct db *db, struct dbres *res)
{
	/* MAX(id) per script_id reads the (script_id, id) index one group at
	 * a time ("using index for group-by"): cost grows with the number of
	 * scripts, not of executions. */
	static const char *sql = "SELECT " EXECUTION_LIST_COLS
	    " FROM executions WHERE id IN (SELECT MAX(id) FROM executions GROUP BY script_id) "
	    "ORDER BY script_id";

	return db_exec(db, sql, NULL, 0, res, NULL, NULL);
}

int
store_execution_stream(struct db *db, long long id, int which_stderr,
    char **data, size_t *len, int *found)
{
	static const char *out_sql = "SELECT stdout FROM executions WHERE id = ?";
	static const char *err_sql = "SELECT stderr FROM executions WHERE id = ?";
	struct dbp p[1] = { DBP_I(id) };
	struct dbres res;

	*data = NULL;
	*len = 0;
	*found = 0;
	if (db_exec(db, which_stderr ? err_sql : out_sql, p, 1, &res, NULL,
	    NULL) == -1)
		return -1;
	if (res.nrows == 1) {
		*found = 1;
		/* Taken over from the result, not copied: it may be large. */
		if ((*data = res.cells[0]) != NULL)
			*len = dbres_len(&res, 0, 0);
		res.cells[0] = NULL;
	}
	dbres_free(&res);
	return 0;
}

static const char *claim_upd_sql = "UPDATE executions SET status = "
    "'running', node = ?, runner_pid = ?, heartbeat_at = UTC_TIMESTAMP(3) "
    "WHERE id = ? AND status = 'queued'";

/* Takes one queued execution for this runner: 1 taken, 0 not queued any
 * more. Inside the claim transaction or alone (autocommit). */
static int
claim_update(struct db *db, long long id, const char *node, int pid)
{
	struct dbp pu[3] = { DBP_S(node), DBP_I(pid), DBP_I(id) };
	unsigned long long affected;

	if (db_exec(db, claim_upd_sql, pu, 3, NULL, &affected, NULL) == -1)
		return -1;
	return affected == 1;
}

int
store_execution_claim_id_send(struct db *db, long long id, const char *node,
    int pid)
{
	struct dbp pu[3] = { DBP_S(node), DBP_I(pid), DBP_I(id) };

	return db_send(db, claim_upd_sql, pu, 3);
}

int
store_execution_claim_id_end(struct db *db, int *claimed)
{
	unsigned long long affected = 0;

	*claimed = 0;
	if (db_await(db, &affected) == -1)
		return -1;
	*claimed = affected == 1;
	return 0;
}

/* Fills `cl` from a row of (id, script_id, input, waited_us,
 * input_secret): the two texts in one allocation (store.h). */
static void
claim_fill(struct execution_claim *cl, const struct dbres *res, size_t row)
{
	const char *in = dbres_get(res, row, 2), *sec = dbres_get(res, row, 4);
	size_t inlen = strlen(in), seclen = sec != NULL ? strlen(sec) : 0;

	cl->id = strtoll(dbres_get(res, row, 0), NULL, 10);
	cl->script_id = strtoll(dbres_get(res, row, 1), NULL, 10);
	if ((cl->input_json = malloc(inlen + 1 + seclen + 1)) == NULL)
		fatal("malloc");
	memcpy(cl->input_json, in, inlen + 1);
	cl->input_secret = NULL;
	if (sec != NULL) {
		cl->input_secret = cl->input_json + inlen + 1;
		memcpy(cl->input_secret, sec, seclen + 1);
	}
	cl->waited_ms = dbres_get(res, row, 3) ?
	    strtod(dbres_get(res, row, 3), NULL) / 1000.0 : 0;
}

int
store_execution_peek(struct db *db, long long id, struct execution_claim *cl,
    int *found, struct script *s, int *have_script)
{
	static const char *sql = "SELECT e.id, e.script_id, e.input, "
	    "TIMESTAMPDIFF(MICROSECOND, e.queued_at, UTC_TIMESTAMP(6)), "
	    "e.input_secret, "
	    SCRIPT_COLS_P("s.") " FROM executions e LEFT JOIN scripts s "
	    "ON s.id = e.script_id WHERE e.id = ? AND "
	    "e.status IN ('queued', 'running')";
	struct dbp p[1] = { DBP_I(id) };
	struct dbres res;

	*found = *have_script = 0;
	memset(cl, 0, sizeof(*cl));
	if (db_exec(db, sql, p, 1, &res, NULL, NULL) == -1)
		return -1;
	if (res.nrows == 1) {
		claim_fill(cl, &res, 0);
		*found = 1;
		if (dbres_get(&res, 0, 5) != NULL) {
			store_row_to_script(&res, 0, 5, s);
			*have_script = 1;
		}
	}
	dbres_free(&res);
	return 0;
}

int
store_execution_claim_id(struct db *db, long long id, const char *node, int pid,
    int *claimed)
{
	int rc = claim_update(db, id, node, pid);

	*claimed = rc == 1;
	return rc == -1 ? -1 : 0;
}

/* Tries one candidate inside the claim transaction: 1 claimed, 0 not. */
static int
claim_one(struct db *db, long long id, long long script_id, const char *node,
    int pid)
{
	static const char *peek_sql = "SELECT max_concurrency FROM scripts "
	    "WHERE id = ?";
	static const char *lim_sql = "SELECT max_concurrency FROM scripts "
	    "WHERE id = ? FOR UPDATE";
	static const char *count_sql = "SELECT (SELECT COUNT(*) FROM "
	    "executions WHERE script_id = ? AND status = 'running'), "
	    "(SELECT MIN(id) FROM executions WHERE script_id = ? AND "
	    "status = 'queued')";
	struct dbp ps[2] = { DBP_I(script_id), DBP_I(script_id) };
	struct dbres res;
	int limited;

	/* Most scripts have no limit: a plain read says so without taking
	 * a lock. A deleted script is claimed too, and the runner ends the
	 * execution with a clear error. */
	if (db_exec(db, peek_sql, ps, 1, &res, NULL, NULL) == -1)
		return -1;
	limited = res.nrows == 1 && dbres_get(&res, 0, 0) != NULL;
	dbres_free(&res);
	if (limited) {
		/* Locking the script row serialises claims of this script
		 * across runners and nodes, so the running count below stays
		 * true until this transaction commits. The transaction reads
		 * committed rows (store_execution_claim), so the count includes
		 * the claim of whoever held the lock before us. */
		if (db_exec(db, lim_sql, ps, 1, &res, NULL, NULL) == -1)
			return -1;
		const char *lim = res.nrows == 1 ? dbres_get(&res, 0, 0) : NULL;
		long long max = lim ? strtoll(lim, NULL, 10) : 0;
		dbres_free(&res);
		if (lim != NULL) {
			if (db_exec(db, count_sql, ps, 2, &res, NULL, NULL) == -1)
				return -1;
			long long running = strtoll(dbres_get(&res, 0, 0), NULL,
			    10);
			const char *first = dbres_get(&res, 0, 1);
			/* An older one of this script still queued (another
			 * runner skipped past it, or holds it without having
			 * claimed it) goes first: each script's queue keeps
			 * its order. */
			long long oldest = first ? strtoll(first, NULL, 10) : id;
			dbres_free(&res);
			if (running >= max || oldest < id)
				return 0;
		}
	}
	return claim_update(db, id, node, pid);
}

/* Candidates of a scan's first page: more than the hand-off slots
 * (shm.h), so that what the scan is for is seen past the handed-off rows
 * before it. A page with nothing to start in it is followed by the next,
 * of CLAIM_PAGE rows: what cannot start yet (a limited script's queue)
 * may fill any number of pages. */
#define CLAIM_CANDIDATES 100
#define CLAIM_PAGE 1000

/* A queued execution no runner holds, that a node with the labels of
 * `?` (labels_regexp) may run. */
#define CLAIMABLE "status = 'queued' AND runner_pid IS NULL AND " \
	"(node_labels IS NULL OR node_labels REGEXP ?)"

/*
 * A scan reads the oldest claimable rows without locking them, then
 * locks one candidate at a time (SKIP LOCKED: one another runner is
 * claiming is passed over at once) and claims it. Locking all the
 * candidates at once, as SELECT ... LIMIT 100 FOR UPDATE SKIP LOCKED
 * would, makes concurrent scans of several nodes find nothing: each
 * locks the rows the next one would have taken, and a scan that finds
 * nothing stops its node's backlog until the next poll (measured: with
 * three nodes, 300 queued runs drained at 2 per second per node).
 * For the same reason the scan goes on to the next page of the queue
 * while a page held nothing it may start: the rows of a script at its
 * max_concurrency, queued ahead, once filled the one page of 100, every
 * scan came back empty and forgot the node's backlog (dispatch.h), and
 * the runs queued behind them drained at the poll rate, one scan per
 * poll_interval_ms (measured: 150 runs of a script with max_concurrency
 * 2 queued ahead of 300 others, 236 of these, those not handed off,
 * started 2 per second, the last 2 minutes late).
 */
int
store_execution_claim(struct db *db, const char *node, int pid,
    const char *labels_re, const long long *skip, size_t nskip,
    struct execution_claim *cl, int *claimed)
{
	/* The queue in id order from `after`, on its index: with `id > ?`
	 * the optimizer may take the primary key instead, and read the
	 * whole table's history for each page. */
	static const char *cand_sql = "SELECT id, script_id FROM executions "
	    "FORCE INDEX (executions_status) WHERE " CLAIMABLE " AND id > ? "
	    "ORDER BY id LIMIT ?";
	static const char *lock_sql = "SELECT id, script_id, input, "
	    "TIMESTAMPDIFF(MICROSECOND, queued_at, UTC_TIMESTAMP(6)), "
	    "input_secret FROM executions WHERE id = ? AND status = 'queued' "
	    "AND runner_pid IS NULL FOR UPDATE SKIP LOCKED";
	struct dbp pc[3];
	struct dbres res, one;
	/* Scripts already found at their limit in this scan are passed over,
	 * so each script's own queue keeps its order. */
	long long blocked[CLAIM_CANDIDATES], after;
	int rc, tries = 0, nblocked, page;
	size_t nrows;

	*claimed = 0;
	memset(cl, 0, sizeof(*cl));
retry:
	if (db_tx_begin_read_committed(db) == -1)
		return -1;
	nblocked = 0;
	after = 0;
	page = CLAIM_CANDIDATES;
next_page:
	pc[0] = DBP_S(labels_re);
	pc[1] = DBP_I(after);
	pc[2] = DBP_I(page);
	if (db_exec(db, cand_sql, pc, 3, &res, NULL, NULL) == -1)
		goto fail;
	nrows = res.nrows;
	for (size_t i = 0; i < res.nrows; i++) {
		long long id = strtoll(dbres_get(&res, i, 0), NULL, 10);
		long long sid = strtoll(dbres_get(&res, i, 1), NULL, 10);
		struct dbp pl[1] = { DBP_I(id) };
		int pass = 0;

		after = id;
		for (int k = 0; k < nblocked; k++)
			if (blocked[k] == sid)
				pass = 1;
		for (size_t k = 0; k < nskip; k++)
			if (skip[k] == id)
				pass = 1;
		if (pass)
			continue;
		if (db_exec(db, lock_sql, pl, 1, &one, NULL, NULL) == -1) {
			dbres_free(&res);
			goto fail;
		}
		if (one.nrows != 1) {
			/* Claimed meanwhile, or being claimed by another. */
			dbres_free(&one);
			continue;
		}
		rc = claim_one(db, id, sid, node, pid);
		if (rc == -1) {
			dbres_free(&one);
			dbres_free(&res);
			goto fail;
		}
		if (rc == 0) {
			dbres_free(&one);
			/* Beyond the array, its next rows are only tried. */
			if (nblocked < CLAIM_CANDIDATES)
				blocked[nblocked++] = sid;
			continue;
		}
		claim_fill(cl, &one, 0);
		dbres_free(&one);
		*claimed = 1;
		break;
	}
	dbres_free(&res);
	/* A full page, nothing in it to start: the queue goes on. */
	if (!*claimed && nrows == (size_t)page) {
		page = CLAIM_PAGE;
		goto next_page;
	}
	if (db_tx_commit(db) == -1) {
		if (*claimed && db_error(db) == DB_EUNAVAIL) {
			/* Committed or not, the server went before saying: the
			 * caller finds out (store_execution_owned). */
			cl->in_doubt = 1;
			*claimed = 0;
			return -1;
		}
		if (*claimed) {
			free(cl->input_json);
			memset(cl, 0, sizeof(*cl));
			*claimed = 0;
		}
		goto fail_nrb;
	}
	return 0;
fail:
	db_tx_rollback(db);
fail_nrb:
	/* Galera reports a lost race for a row at COMMIT as a deadlock;
	 * InnoDB may too. Both mean: try again. */
	if (db_error(db) == DB_EDEADLOCK && ++tries < 5)
		goto retry;
	return -1;
}

int
store_execution_probe(struct db *db, const char *labels_re, int max,
    long long seen_newest, int *n, long long *newest)
{
	/* MAX(id) of the queued rows is one probe of the (status, id)
	 * index; the count walks the queue from its head (at most `max`
	 * rows this node may claim, and those it may not before them), so
	 * it runs only when the newest queued row is not the one last seen
	 * (seen_newest < 0: always). */
	static const char *newest_sql = "SELECT MAX(id) FROM executions "
	    "WHERE status = 'queued'";
	static const char *count_sql = "SELECT COUNT(*) FROM (SELECT id "
	    "FROM executions WHERE " CLAIMABLE " ORDER BY id LIMIT ?) AS q";
	struct dbp p[2] = { DBP_S(labels_re), DBP_I(max) };
	struct dbres res;

	*n = 0;
	*newest = 0;
	if (db_exec(db, newest_sql, NULL, 0, &res, NULL, NULL) == -1)
		return -1;
	if (res.nrows == 1 && dbres_get(&res, 0, 0) != NULL)
		*newest = strtoll(dbres_get(&res, 0, 0), NULL, 10);
	dbres_free(&res);
	if (*newest == 0 || *newest == seen_newest)
		return 0;
	if (db_exec(db, count_sql, p, 2, &res, NULL, NULL) == -1)
		return -1;
	if (res.nrows == 1)
		*n = atoi(dbres_get(&res, 0, 0));
	dbres_free(&res);
	return 0;
}

int
store_execution_owned(struct db *db, long long id, const char *node, int pid,
    int *owned)
{
	/* A locking read, as in store_execution_status_settled: a claim
	 * still being committed (its COMMIT reached the server late) is
	 * waited for, not read as the row was before it. */
	static const char *sql = "SELECT 1 FROM executions WHERE id = ? AND "
	    "status = 'running' AND node = ? AND runner_pid = ? "
	    "LOCK IN SHARE MODE";
	struct dbp p[3] = { DBP_I(id), DBP_S(node), DBP_I(pid) };
	struct dbres res;

	*owned = 0;
	if (db_exec(db, sql, p, 3, &res, NULL, NULL) == -1)
		return -1;
	*owned = res.nrows == 1;
	dbres_free(&res);
	return 0;
}

int
store_execution_started(struct db *db, long long id, const char *version,
    double ago_ms)
{
	/* The child was exec'd ago_ms before this statement runs. */
	static const char *sql = "UPDATE executions SET started_at = "
	    "UTC_TIMESTAMP(3) - INTERVAL ? MICROSECOND, script_version = ? "
	    "WHERE id = ?";
	struct dbp p[3] = { DBP_I((long long)(ago_ms * 1000)),
	    DBP_S(version), DBP_I(id) };

	return db_exec(db, sql, p, 3, NULL, NULL, NULL);
}

int
store_execution_heartbeat(struct db *db, long long id)
{
	static const char *sql = "UPDATE executions SET heartbeat_at = "
	    "UTC_TIMESTAMP(3) WHERE id = ? AND status = 'running'";
	struct dbp p[1] = { DBP_I(id) };

	return db_exec(db, sql, p, 1, NULL, NULL, NULL);
}

int
store_execution_progress(struct db *db, long long id, const char *out,
    size_t outlen, int out_trunc, const char *err, size_t errlen,
    int err_trunc, int *cancel)
{
	static const char *upd = "UPDATE executions SET stdout = ?, stderr = ?, "
	    "stdout_truncated = ?, stderr_truncated = ?, heartbeat_at = "
	    "UTC_TIMESTAMP(3) WHERE id = ?";
	static const char *sel = "SELECT cancel_requested FROM executions "
	    "WHERE id = ?";
	struct dbp p[5] = { DBP_B(out, outlen), DBP_B(err, errlen),
	    DBP_I(out_trunc), DBP_I(err_trunc), DBP_I(id) };
	struct dbres res;

	*cancel = 0;
	if (db_exec(db, upd, p, 5, NULL, NULL, NULL) == -1)
		return -1;
	if (db_exec(db, sel, p + 4, 1, &res, NULL, NULL) == -1)
		return -1;
	*cancel = res.nrows == 1 && dbres_get(&res, 0, 0) != NULL &&
	    strcmp(dbres_get(&res, 0, 0), "1") == 0;
	dbres_free(&res);
	return 0;
}

/* Microseconds from the monotonic instant `mono_ms` to now; 0 for 0. */
static long long
age_us(double now_ms, double mono_ms)
{
	if (mono_ms <= 0 || mono_ms > now_ms)
		return 0;
	return (long long)((now_ms - mono_ms) * 1000);
}

int
store_execution_finish(struct db *db, long long id,
    const struct execution_final *f,
    int *updated, int *delivery, struct dbres *row)
{
	/*
	 * The UPDATE of execution_finish_cb (sql/013_callbacks.sql), sent
	 * as a statement of its own, and the read after it: the procedure
	 * (which stays for the runners of a daemon not yet restarted) copies
	 * every parameter, outputs included, into variables of its own and
	 * reads the row in a statement of its own all the same, which cost
	 * MariaDB a tenth more CPU for a line of output and a third more
	 * for 40 KB (docs/performance.md, "The final record"). The UPDATE
	 * commits on its own (autocommit), with the delivery the trigger
	 * writes; only the read follows.
	 */
	static const char *upd = "UPDATE executions SET status = ?, "
	    "script_version = COALESCE(?, script_version), exit_code = ?, "
	    "`signal` = ?, stdout = ?, stderr = ?, stdout_truncated = ?, "
	    "stderr_truncated = ?, output = ?, output_file = ?, error = ?, "
	    "finished_at = UTC_TIMESTAMP(3) - INTERVAL ? MICROSECOND, "
	    "duration_ms = ?, cpu_user_ms = ?, cpu_system_ms = ?, "
	    "max_rss_kb = ?, `limit` = ?, started_at = COALESCE(started_at, "
	    "UTC_TIMESTAMP(3) - INTERVAL ? MICROSECOND) "
	    "WHERE id = ? AND status = 'running'";
	static const char *get_row = "SELECT " EXECUTION_COLS
	    " FROM executions WHERE id = ?";
	static const char *get_cb = "SELECT callback_url IS NOT NULL "
	    "FROM executions WHERE id = ?";
	/* The ages are taken now, as the statement goes out: a retry after
	 * an outage sends them grown by the outage's length. */
	double now = clock_mono_ms();
	struct dbp p[19] = {
		DBP_S(f->status), DBP_S(f->version),
		f->has_exit ? DBP_I(f->exit_code) : DBP_NUL,
		f->has_signal ? DBP_I(f->signo) : DBP_NUL,
		DBP_B(f->out ? f->out : "", f->out ? f->outlen : 0),
		DBP_B(f->err ? f->err : "", f->err ? f->errlen : 0),
		DBP_I(f->out_trunc), DBP_I(f->err_trunc),
		DBP_S(f->output_json),
		DBP_B(f->output_file, f->output_file_len),
		DBP_S(f->error),
		DBP_I(age_us(now, f->ended_mono_ms)),
		f->has_stats ? DBP_D(f->duration_ms) : DBP_NUL,
		f->has_stats ? DBP_I(f->cpu_user_ms) : DBP_NUL,
		f->has_stats ? DBP_I(f->cpu_system_ms) : DBP_NUL,
		f->has_stats ? DBP_I(f->max_rss_kb) : DBP_NUL,
		DBP_S(f->limit),
		f->has_stats ? DBP_I(age_us(now, f->exec_mono_ms)) : DBP_NUL,
		DBP_I(id),
	};
	struct dbp q[1] = { DBP_I(id) };
	unsigned long long affected;
	struct dbres res;
	const char *v;

	*updated = *delivery = 0;
	if (row != NULL)
		memset(row, 0, sizeof(*row));
	if (db_exec(db, upd, p, 19, NULL, &affected, NULL) == -1)
		return -1;
	if (affected != 1)
		return 0;
	*updated = 1;
	/*
	 * Committed: what follows only reads. Should the read fail, the
	 * record stands (it is not sent again, which would find the row no
	 * longer running): no row for the caller, who reads it itself, and a
	 * delivery assumed, which wakes the sender for at worst nothing.
	 */
	if (row != NULL) {
		if (db_exec(db, get_row, q, 1, row, NULL, NULL) == -1 ||
		    row->nrows != 1) {
			dbres_free(row);
			*delivery = 1;
			return 0;
		}
		*delivery = dbres_get(row, 0, EC_CALLBACK_URL) != NULL;
		return 0;
	}
	if (db_exec(db, get_cb, q, 1, &res, NULL, NULL) == -1) {
		*delivery = 1;
		return 0;
	}
	v = res.nrows == 1 ? dbres_get(&res, 0, 0) : NULL;
	*delivery = v == NULL || strcmp(v, "0") != 0;
	dbres_free(&res);
	return 0;
}

int
store_execution_cancel(struct db *db, long long id, int *outcome)
{
	static const char *q_sql = "UPDATE executions SET status = 'canceled', "
	    "finished_at = UTC_TIMESTAMP(3), error = 'canceled before it "
	    "started' WHERE id = ? AND status = 'queued' AND runner_pid IS NULL";
	/* Running, or reserved for a runner that may be starting it: the
	 * runner ends it. */
	static const char *r_sql = "UPDATE executions SET cancel_requested = 1 "
	    "WHERE id = ? AND (status = 'running' OR (status = 'queued' AND "
	    "runner_pid IS NOT NULL))";
	struct dbp p[1] = { DBP_I(id) };
	unsigned long long affected;
	char status[16];

	if (db_exec(db, q_sql, p, 1, NULL, &affected, NULL) == -1)
		return -1;
	if (affected == 1) {
		*outcome = 1;
		return 0;
	}
	if (db_exec(db, r_sql, p, 1, NULL, &affected, NULL) == -1)
		return -1;
	if (affected == 1) {
		*outcome = 2;
		return 0;
	}
	if (store_execution_status(db, id, status) == -1)
		return -1;
	/* A running (or reserved) execution already flagged counts as
	 * running too. */
	if (strcmp(status, "running") == 0 || strcmp(status, "queued") == 0)
		*outcome = 2;
	else
		*outcome = status[0] ? 0 : -1;
	return 0;
}
