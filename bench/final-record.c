/*
 * bench/final-record.c - what a run's final record costs MariaDB,
 * statement by statement (bench/final-record-bench.sh builds and runs it).
 *
 * Usage: final-record SOCKET CPUACCT_USAGE ROUNDS N PAUSE_US VARIANT...
 *   VARIANT@US   that variant with a pause of its own (0: none, back to
 *                back, as bench/exec-bench.sh measures its commit floor)
 *   VARIANT+ping a `DO 1` sent first, after the pause, timed with it
 *
 * Connects as the daemon does (the scriptorch user, utf8mb4, its session
 * settings, prepared statements) and measures, in paired rounds (every
 * variant in each round, the order reversed every other round; round 0
 * warms up and is not printed), N statements of each variant one after
 * the other, PAUSE_US apart (a runner records one run at a time, its
 * connection idle while the run lasts). A second connection inserts the
 * rows each batch needs beforehand, as an API worker does. Per round and
 * variant it prints one line:
 *   round variant p50_us p90_us exec_us fetch_us next_us db_cpu_us
 *   client_cpu_us redo_bytes fsyncs
 * exec: mysql_stmt_execute, until the first result's header; fetch:
 * storing and reading the result set as src/db.c does; next: reading what
 * follows it (a CALL's status), and a second statement's round trip;
 * db_cpu: MariaDB's CPU per statement from its cpuacct group, background
 * threads included; client_cpu: this thread's; redo_bytes, fsyncs:
 * InnoDB's per statement (means, except the p50 and p90). The row
 * recorded is a real run's: a line of stdout (STDOUT_BYTES in the
 * environment: that many bytes), no stderr, no output.
 *
 * Variants:
 *   call_row, call_norow  CALL execution_finish_cb (sql/013) with and
 *                 without the final row back: what runners sent before
 *                 "The final record" (docs/performance.md), and what those
 *                 of a daemon not yet restarted send
 *   upd_row, upd_flag     what runners send now (store_execution_finish):
 *                 the UPDATE, then the row as GET reads it, or whether a
 *                 callback is owed
 *   update        the UPDATE alone, autocommit
 *   update_nt     the same on a copy of the table without the trigger
 *   update_ni     a copy without the trigger and the five secondary
 *                 indexes that hold status
 *   select, select_narrow  the whole row; its columns less the outputs
 *   call_update, call_count, call_vars, call_narrow, call_lean
 *                 procedures bench/final-record-bench.sh makes: the UPDATE
 *                 alone; then ROW_COUNT(); the times kept in variables
 *                 instead of a read; a narrow row; fewer instructions
 *   upd_sel, upd_vars  the UPDATE, then a narrow read, or the two times it
 *                 computed kept in session variables and read
 *   floor         a one-row INSERT into a table of one integer: a durable
 *                 commit
 *   insert        the API worker's INSERT of a run's row
 *   do1, idle     `DO 1` (a round trip); no statement (the pause alone:
 *                 MariaDB's background CPU)
 */
#include <mysql.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#define MAXN 1000

static const char small_stdout[] = "Content-Type: text/plain\r\n\r\n"
    "hello from 12345\n";
/* The stdout recorded: small_stdout, or STDOUT_BYTES bytes of text. */
static const char *stdout_text = small_stdout;
static const char version[] =
    "3f5c1a9e0b7d24c86e1f093a5b7c2d4e6f8091a2b3c4d5e6f708192a3b4c5d6e";

#define COLS "id, script_id, script_name, script_version, `trigger`, " \
	"status, input, exit_code, `signal`, stdout, stderr, " \
	"stdout_truncated, stderr_truncated, output, output_file, error, " \
	"queued_at, started_at, finished_at, duration_ms, cpu_user_ms, " \
	"cpu_system_ms, max_rss_kb, node, `limit`, triggered_by, callback_url"

#define SET "SET status = ?, " \
	"script_version = COALESCE(?, script_version), " \
	"exit_code = ?, `signal` = ?, stdout = ?, stderr = ?, " \
	"stdout_truncated = ?, stderr_truncated = ?, output = ?, " \
	"output_file = ?, error = ?, " \
	"finished_at = UTC_TIMESTAMP(3) - INTERVAL ? MICROSECOND, " \
	"duration_ms = ?, cpu_user_ms = ?, cpu_system_ms = ?, " \
	"max_rss_kb = ?, `limit` = ?, started_at = COALESCE(started_at, " \
	"UTC_TIMESTAMP(3) - INTERVAL ? MICROSECOND) " \
	"WHERE id = ? AND status = 'running'"

/* The same, the two times it computes kept in session variables. */
#define SET_VARS "SET status = ?, " \
	"script_version = COALESCE(?, script_version), " \
	"exit_code = ?, `signal` = ?, stdout = ?, stderr = ?, " \
	"stdout_truncated = ?, stderr_truncated = ?, output = ?, " \
	"output_file = ?, error = ?, finished_at = (@finalrec_f := " \
	"UTC_TIMESTAMP(3) - INTERVAL ? MICROSECOND), " \
	"duration_ms = ?, cpu_user_ms = ?, cpu_system_ms = ?, " \
	"max_rss_kb = ?, `limit` = ?, started_at = (@finalrec_s := " \
	"COALESCE(started_at, UTC_TIMESTAMP(3) - INTERVAL ? MICROSECOND)) " \
	"WHERE id = ? AND status = 'running'"

#define INSERT(t) "INSERT INTO " t " (script_id, script_name, `trigger`, " \
	"triggered_by, status, input, input_secret, queued_at, node, " \
	"runner_pid, heartbeat_at, node_labels, callback_url) VALUES " \
	"(7, 'hello', 'test', 'token:bench', 'running', '{}', NULL, " \
	"UTC_TIMESTAMP(3), 'bench-node', 4242, UTC_TIMESTAMP(3), NULL, NULL)"

enum kind { K_CALL, K_UPDATE, K_SELECT, K_FLOOR, K_INSERT, K_IDLE };

struct variant {
	const char *name;
	enum kind kind;
	const char *sql;
	const char *table;      /* the rows it needs, inserted beforehand */
	int rows;               /* rows its result has */
	const char *sql2;       /* sent right after (with the id if it has a
	                         * parameter), reading one row */
};

static const struct variant variants[] = {
	{ "call_row", K_CALL, "CALL execution_finish_cb(?, ?, ?, ?, ?, ?, "
	  "?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", "executions", 1, NULL },
	{ "call_norow", K_CALL, "CALL execution_finish_cb(?, ?, ?, ?, ?, ?, "
	  "?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", "executions", 1, NULL },
	{ "update", K_UPDATE, "UPDATE executions " SET, "executions", 0, NULL },
	{ "update_nt", K_UPDATE, "UPDATE executions_nt " SET, "executions_nt",
	  0, NULL },
	{ "update_ni", K_UPDATE, "UPDATE executions_ni " SET, "executions_ni",
	  0, NULL },
	{ "select", K_SELECT, "SELECT " COLS " FROM executions WHERE id = ?",
	  NULL, 1, NULL },
	{ "select_narrow", K_SELECT, "SELECT id, script_id, script_name, "
	  "script_version, `trigger`, status, input, queued_at, started_at, "
	  "finished_at, node, triggered_by, callback_url FROM executions "
	  "WHERE id = ?", NULL, 1, NULL },
	{ "floor", K_FLOOR, "INSERT INTO finalrec_floor (v) VALUES (1)", NULL,
	  0, NULL },
	{ "insert", K_INSERT, INSERT("executions"), "executions", 0, NULL },
	{ "do1", K_FLOOR, "DO 1", NULL, 0, NULL },
	{ "idle", K_IDLE, "DO 1", NULL, 0, NULL },
	/* Two statements, the second right after the first: the UPDATE,
	 * then a read of what the runner cannot know (the row's few columns
	 * or the two times kept in session variables). */
	{ "upd_sel", K_UPDATE, "UPDATE executions " SET, "executions", 0,
	  "SELECT script_name, `trigger`, triggered_by, queued_at, "
	  "started_at, finished_at, node, callback_url FROM executions "
	  "WHERE id = ?" },
	{ "upd_row", K_UPDATE, "UPDATE executions " SET, "executions", 0,
	  "SELECT " COLS " FROM executions WHERE id = ?" },
	{ "upd_flag", K_UPDATE, "UPDATE executions " SET, "executions", 0,
	  "SELECT callback_url IS NOT NULL FROM executions WHERE id = ?" },
	{ "upd_vars", K_UPDATE, "UPDATE executions " SET_VARS, "executions",
	  0, "SELECT @finalrec_f, @finalrec_s" },
	/* Procedures bench/final-record-bench.sh creates: the same UPDATE
	 * alone, then with `updated` selected (no row, no delivery), the
	 * whole row selected alone, and the candidates. */
	{ "call_update", K_CALL, "CALL finalrec_update(?, ?, ?, ?, ?, ?, "
	  "?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", "executions", 0, NULL },
	{ "call_count", K_CALL, "CALL finalrec_count(?, ?, ?, ?, ?, ?, "
	  "?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", "executions", 1, NULL },
	{ "call_narrow", K_CALL, "CALL finalrec_narrow(?, ?, ?, ?, ?, ?, "
	  "?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", "executions", 1, NULL },
	{ "call_vars", K_CALL, "CALL finalrec_vars(?, ?, ?, ?, ?, ?, "
	  "?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", "executions", 1, NULL },
	{ "call_lean", K_CALL, "CALL finalrec_lean(?, ?, ?, ?, ?, ?, "
	  "?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", "executions", 1, NULL },
	{ "call_lean_norow", K_CALL, "CALL finalrec_lean(?, ?, ?, ?, ?, ?, "
	  "?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", "executions", 1, NULL },
};
#define NVARIANTS (sizeof(variants) / sizeof(variants[0]))

static double
now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static double
thread_cpu_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static double
acct_us(const char *path)
{
	FILE *f = fopen(path, "r");
	unsigned long long ns = 0;

	if (f == NULL || fscanf(f, "%llu", &ns) != 1) {
		fprintf(stderr, "final-record: cannot read %s\n", path);
		exit(1);
	}
	fclose(f);
	return ns / 1e3;
}

static int
cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static void
die(MYSQL *m, MYSQL_STMT *s, const char *what)
{
	fprintf(stderr, "final-record: %s: %s\n", what,
	    s ? mysql_stmt_error(s) : mysql_error(m));
	exit(1);
}

static MYSQL *
connect_as_daemon(const char *sock)
{
	MYSQL *m = mysql_init(NULL);

	mysql_options(m, MYSQL_SET_CHARSET_NAME, "utf8mb4");
	mysql_options(m, MYSQL_INIT_COMMAND, "SET time_zone = '+00:00', "
	    "sql_mode = 'STRICT_ALL_TABLES,NO_ZERO_DATE,"
	    "NO_ENGINE_SUBSTITUTION'");
	if (!mysql_real_connect(m, "localhost", "scriptorch", "scriptorch-dev",
	    "scriptorch", 0, sock, CLIENT_MULTI_STATEMENTS))
		die(m, NULL, "connect");
	return m;
}

/* InnoDB's redo bytes written and its fsyncs (log and data) so far. */
static void
innodb_counters(MYSQL *m, unsigned long long *log, unsigned long long *fsyncs)
{
	MYSQL_RES *r;
	MYSQL_ROW row;

	*log = *fsyncs = 0;
	if (mysql_query(m, "SHOW GLOBAL STATUS WHERE Variable_name IN "
	    "('Innodb_os_log_written', 'Innodb_data_fsyncs')") ||
	    (r = mysql_store_result(m)) == NULL)
		die(m, NULL, "status");
	while ((row = mysql_fetch_row(r)) != NULL)
		if (!strcmp(row[0], "Innodb_os_log_written"))
			*log = strtoull(row[1], NULL, 10);
		else
			*fsyncs = strtoull(row[1], NULL, 10);
	mysql_free_result(r);
}

/* The parameters of the final record of execution `id`. */
struct params {
	MYSQL_BIND b[20];
	long long id, exit_code, trunc, cpu_user, cpu_sys, rss, since_exec,
	    ended_ago, want_row;
	double duration;
	unsigned long status_len, version_len, out_len, err_len;
};

static void
bind_str(MYSQL_BIND *b, const char *s, unsigned long *len)
{
	*len = strlen(s);
	b->buffer_type = MYSQL_TYPE_BLOB;
	b->buffer = (void *)s;
	b->buffer_length = *len;
	b->length = len;
}

static void
bind_ll(MYSQL_BIND *b, long long *v)
{
	b->buffer_type = MYSQL_TYPE_LONGLONG;
	b->buffer = v;
}

static void
bind_null(MYSQL_BIND *b)
{
	b->buffer_type = MYSQL_TYPE_NULL;
}

/* In the procedure's order (sql/013_callbacks.sql). */
static void
params_call(struct params *p, int want_row)
{
	memset(p->b, 0, sizeof(p->b));
	p->exit_code = 0;
	p->trunc = 0;
	p->duration = 1.234;
	p->cpu_user = 0;
	p->cpu_sys = 1;
	p->rss = 1536;
	p->since_exec = 1500;
	p->ended_ago = 300;
	p->want_row = want_row;
	bind_ll(&p->b[0], &p->id);
	bind_str(&p->b[1], "succeeded", &p->status_len);
	bind_str(&p->b[2], version, &p->version_len);
	bind_ll(&p->b[3], &p->exit_code);
	bind_null(&p->b[4]);
	bind_str(&p->b[5], stdout_text, &p->out_len);
	bind_str(&p->b[6], "", &p->err_len);
	bind_ll(&p->b[7], &p->trunc);
	bind_ll(&p->b[8], &p->trunc);
	bind_null(&p->b[9]);
	bind_null(&p->b[10]);
	bind_null(&p->b[11]);
	p->b[12].buffer_type = MYSQL_TYPE_DOUBLE;
	p->b[12].buffer = &p->duration;
	bind_ll(&p->b[13], &p->cpu_user);
	bind_ll(&p->b[14], &p->cpu_sys);
	bind_ll(&p->b[15], &p->rss);
	bind_ll(&p->b[16], &p->since_exec);
	bind_ll(&p->b[17], &p->ended_ago);
	bind_null(&p->b[18]);
	bind_ll(&p->b[19], &p->want_row);
}

/* In the order of SET above. */
static void
params_update(struct params *p)
{
	struct params c;

	params_call(&c, 0);
	*p = c;
	memset(p->b, 0, sizeof(p->b));
	bind_str(&p->b[0], "succeeded", &p->status_len);
	bind_str(&p->b[1], version, &p->version_len);
	bind_ll(&p->b[2], &p->exit_code);
	bind_null(&p->b[3]);
	bind_str(&p->b[4], stdout_text, &p->out_len);
	bind_str(&p->b[5], "", &p->err_len);
	bind_ll(&p->b[6], &p->trunc);
	bind_ll(&p->b[7], &p->trunc);
	bind_null(&p->b[8]);
	bind_null(&p->b[9]);
	bind_null(&p->b[10]);
	bind_ll(&p->b[11], &p->ended_ago);
	p->b[12].buffer_type = MYSQL_TYPE_DOUBLE;
	p->b[12].buffer = &p->duration;
	bind_ll(&p->b[13], &p->cpu_user);
	bind_ll(&p->b[14], &p->cpu_sys);
	bind_ll(&p->b[15], &p->rss);
	bind_null(&p->b[16]);
	bind_ll(&p->b[17], &p->since_exec);
	bind_ll(&p->b[18], &p->id);
}

/* The value of the column `updated` of the last result read ("" none). */
static char updated_cell[16];

/* Reads a result set as src/db.c's fetch_all does: every column as text,
 * 128 bytes at first, the rest of a longer cell fetched on its own.
 * Returns the rows read. */
static int
fetch_like_db(MYSQL *m, MYSQL_STMT *s)
{
	MYSQL_RES *meta = mysql_stmt_result_metadata(s);
	size_t ncols;
	MYSQL_BIND *b;
	unsigned long *len;
	my_bool *isnull, *err;
	char (*small)[128];
	int rows = 0, rc;

	updated_cell[0] = '\0';
	if (meta == NULL)
		return 0;
	ncols = mysql_num_fields(meta);
	if (mysql_stmt_store_result(s))
		die(m, s, "store_result");
	b = calloc(ncols, sizeof(*b));
	len = calloc(ncols, sizeof(*len));
	isnull = calloc(ncols, sizeof(*isnull));
	err = calloc(ncols, sizeof(*err));
	small = calloc(ncols, sizeof(*small));
	for (size_t i = 0; i < ncols; i++) {
		b[i].buffer_type = MYSQL_TYPE_STRING;
		b[i].buffer = small[i];
		b[i].buffer_length = sizeof(small[i]);
		b[i].length = &len[i];
		b[i].is_null = &isnull[i];
		b[i].error = &err[i];
	}
	if (mysql_stmt_bind_result(s, b))
		die(m, s, "bind_result");
	while ((rc = mysql_stmt_fetch(s)) == 0 || rc == MYSQL_DATA_TRUNCATED) {
		for (size_t i = 0; i < ncols; i++) {
			char *cell;

			if (isnull[i])
				continue;
			cell = malloc(len[i] + 1);
			if (len[i] <= sizeof(small[i])) {
				memcpy(cell, small[i], len[i]);
			} else {
				MYSQL_BIND one;

				memset(&one, 0, sizeof(one));
				one.buffer_type = MYSQL_TYPE_STRING;
				one.buffer = cell;
				one.buffer_length = len[i];
				if (mysql_stmt_fetch_column(s, &one,
				    (unsigned int)i, 0))
					die(m, s, "fetch_column");
			}
			cell[len[i]] = '\0';
			if (!strcmp(mysql_fetch_field_direct(meta,
			    (unsigned int)i)->name, "updated"))
				snprintf(updated_cell, sizeof(updated_cell),
				    "%s", cell);
			free(cell);
		}
		rows++;
	}
	mysql_stmt_free_result(s);
	mysql_free_result(meta);
	free(b);
	free(len);
	free(isnull);
	free(err);
	free(small);
	return rows;
}

static void
insert_rows(MYSQL *m, const char *table, long long *ids, int n)
{
	char sql[1024];

	snprintf(sql, sizeof(sql), "%s", !strcmp(table, "executions") ?
	    INSERT("executions") : !strcmp(table, "executions_nt") ?
	    INSERT("executions_nt") : INSERT("executions_ni"));
	for (int i = 0; i < n; i++) {
		if (mysql_query(m, sql))
			die(m, NULL, "insert");
		ids[i] = (long long)mysql_insert_id(m);
	}
}

/* One variant as asked on the command line. */
struct job {
	const struct variant *v;
	const char *label;
	int pause_us;           /* before each statement */
	int warm;               /* a `DO 1` first */
	MYSQL_STMT *st, *st2;
};

/* What the batches share. */
struct bench {
	MYSQL *run, *api, *mon;
	MYSQL_STMT *ping;
	const char *acct;       /* MariaDB's cpuacct.usage */
	int n;
	long long ids[MAXN];    /* the rows of the batch */
	long long done[MAXN];   /* rows recorded already, for the reads */
	int ndone;
};

/* Per batch, summed over its statements. */
struct sums {
	double lat[MAXN], exec, fetch, next;
};

/* The p_want_row of a CALL: 0 for those that ask for no row. */
static int
call_wants_row(const struct variant *v)
{
	return strstr(v->name, "norow") == NULL &&
	    strcmp(v->name, "call_update") != 0;
}

/* Statement i of a batch of job j, timed into *t. */
static void
one(struct bench *b, struct job *j, struct params *p, int i, struct sums *t)
{
	const struct variant *x = j->v;
	double t0, t1, t2, t3;

	p->id = x->kind == K_SELECT ? b->done[i % b->ndone] : b->ids[i];
	if (j->pause_us > 0)
		usleep(j->pause_us);
	t0 = now_us();
	if (j->warm && mysql_stmt_execute(b->ping))
		die(b->run, b->ping, "ping");
	if (x->kind == K_IDLE) {
		t->lat[i] = 0;
		return;
	}
	if (mysql_stmt_execute(j->st))
		die(b->run, j->st, x->name);
	t1 = now_us();
	if (fetch_like_db(b->run, j->st) != x->rows)
		die(b->run, j->st, "row count");
	if (updated_cell[0] != '\0' && strcmp(updated_cell, "1") != 0) {
		fprintf(stderr, "final-record: %s: updated is \"%s\"\n",
		    x->name, updated_cell);
		exit(1);
	}
	t2 = now_us();
	while (mysql_stmt_more_results(j->st)) {
		int rc = mysql_stmt_next_result(j->st);

		if (rc > 0)
			die(b->run, j->st, "next_result");
		if (rc == -1)
			break;
		if (mysql_stmt_field_count(j->st) > 0)
			mysql_stmt_free_result(j->st);
	}
	if ((x->kind == K_UPDATE || (x->kind == K_CALL && x->rows == 0)) &&
	    mysql_stmt_affected_rows(j->st) != 1)
		die(b->run, j->st, "not updated");
	if (x->kind == K_INSERT)
		b->ids[i] = (long long)mysql_stmt_insert_id(j->st);
	if (j->st2 != NULL && (mysql_stmt_execute(j->st2) ||
	    fetch_like_db(b->run, j->st2) != 1))
		die(b->run, j->st2, "the second statement");
	t3 = now_us();
	t->lat[i] = t3 - t0;
	t->exec += t1 - t0;
	t->fetch += t2 - t1;
	t->next += t3 - t2;
}

/* A batch of job j in round r (0: warming up, not printed). */
static void
batch(struct bench *b, struct job *j, int r)
{
	const struct variant *x = j->v;
	static struct sums t;
	struct params p;
	double c0, c1, cc0, cc1;
	unsigned long long l0, f0, l1, f1;
	int n = b->n;

	memset(&t, 0, sizeof(t));
	if (x->table != NULL && x->kind != K_INSERT)
		insert_rows(b->api, x->table, b->ids, n);
	memset(&p, 0, sizeof(p));
	if (x->kind == K_CALL)
		params_call(&p, call_wants_row(x));
	else if (x->kind == K_UPDATE)
		params_update(&p);
	else if (x->kind == K_SELECT)
		bind_ll(&p.b[0], &p.id);
	if ((x->kind == K_CALL || x->kind == K_UPDATE ||
	    x->kind == K_SELECT) && mysql_stmt_bind_param(j->st, p.b))
		die(b->run, j->st, "bind_param");
	if (j->st2 != NULL && mysql_stmt_param_count(j->st2) == 1) {
		MYSQL_BIND b2;

		memset(&b2, 0, sizeof(b2));
		bind_ll(&b2, &p.id);
		if (mysql_stmt_bind_param(j->st2, &b2))
			die(b->run, j->st2, "bind_param");
	}
	usleep(20000);
	innodb_counters(b->mon, &l0, &f0);
	c0 = acct_us(b->acct);
	cc0 = thread_cpu_us();
	for (int i = 0; i < n; i++)
		one(b, j, &p, i, &t);
	cc1 = thread_cpu_us();
	c1 = acct_us(b->acct);
	innodb_counters(b->mon, &l1, &f1);
	if (x->kind == K_CALL || x->kind == K_UPDATE || x->kind == K_INSERT) {
		memcpy(b->done, b->ids, n * sizeof(b->ids[0]));
		b->ndone = n;
	}
	if (r == 0)
		return;
	qsort(t.lat, n, sizeof(t.lat[0]), cmp);
	printf("%d %s %.1f %.1f %.1f %.1f %.1f %.1f %.1f %.0f %.2f\n", r,
	    j->label, t.lat[n / 2], t.lat[n * 9 / 10], t.exec / n,
	    t.fetch / n, t.next / n, (c1 - c0) / n, (cc1 - cc0) / n,
	    (double)(l1 - l0) / n, (double)(f1 - f0) / n);
	fflush(stdout);
}

/* The stdout recorded: STDOUT_BYTES bytes of text, if set. */
static void
stdout_from_env(void)
{
	const char *e = getenv("STDOUT_BYTES");
	size_t len;
	char *t;

	if (e == NULL || atoi(e) <= 0)
		return;
	len = (size_t)atoi(e);
	if ((t = malloc(len + 1)) == NULL)
		exit(1);
	for (size_t i = 0; i < len; i++)
		t[i] = i % 64 == 63 ? '\n' : 'a' + i % 26;
	t[len] = '\0';
	stdout_text = t;
}

int
main(int argc, char **argv)
{
	static struct bench b;
	static struct job jobs[NVARIANTS * 2];
	size_t nj = 0;
	int rounds;

	if (argc < 7 || argc - 6 > (int)NVARIANTS * 2) {
		fprintf(stderr, "usage: final-record SOCKET CPUACCT_USAGE "
		    "ROUNDS N PAUSE_US VARIANT...\n");
		return 2;
	}
	stdout_from_env();
	b.acct = argv[2];
	rounds = atoi(argv[3]);
	b.n = atoi(argv[4]);
	if (b.n < 1 || b.n > MAXN)
		return 2;
	b.run = connect_as_daemon(argv[1]);
	b.api = connect_as_daemon(argv[1]);
	b.mon = connect_as_daemon(argv[1]);
	for (int a = 6; a < argc; a++, nj++) {
		struct job *j = &jobs[nj];
		size_t k, len = strcspn(argv[a], "@+");

		for (k = 0; k < NVARIANTS && (strlen(variants[k].name) != len ||
		    strncmp(variants[k].name, argv[a], len)); k++)
			;
		if (k == NVARIANTS) {
			fprintf(stderr, "final-record: no variant %s\n",
			    argv[a]);
			return 2;
		}
		j->v = &variants[k];
		j->label = argv[a];
		j->pause_us = argv[a][len] == '@' ? atoi(argv[a] + len + 1) :
		    atoi(argv[5]);
		j->warm = strstr(argv[a], "+ping") != NULL;
		if ((j->st = mysql_stmt_init(b.run)) == NULL ||
		    mysql_stmt_prepare(j->st, j->v->sql, strlen(j->v->sql)))
			die(b.run, j->st, j->v->name);
		if (j->v->sql2 != NULL && ((j->st2 = mysql_stmt_init(b.run)) ==
		    NULL || mysql_stmt_prepare(j->st2, j->v->sql2,
		    strlen(j->v->sql2))))
			die(b.run, j->st2, j->v->sql2);
	}
	if ((b.ping = mysql_stmt_init(b.run)) == NULL ||
	    mysql_stmt_prepare(b.ping, "DO 1", 4))
		die(b.run, b.ping, "DO 1");
	/* Rows for the first reads. */
	insert_rows(b.api, "executions", b.done, b.n);
	b.ndone = b.n;
	for (int r = 0; r <= rounds; r++)
		for (size_t i = 0; i < nj; i++)
			batch(&b, &jobs[r % 2 ? nj - 1 - i : i], r);
	for (size_t i = 0; i < nj; i++) {
		mysql_stmt_close(jobs[i].st);
		if (jobs[i].st2 != NULL)
			mysql_stmt_close(jobs[i].st2);
	}
	mysql_stmt_close(b.ping);
	mysql_close(b.run);
	mysql_close(b.api);
	mysql_close(b.mon);
	return 0;
}
