/*
 * db.c - the MariaDB connection: connect, reconnect, prepared statement
 * cache, and a uniform bind/fetch layer.
 */
#include "config.h"

#include <errno.h>
#include <mysql.h>
#include <errmsg.h>
#include <mysqld_error.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "clock.h"
#include "conf.h"
#include "db.h"
#include "log.h"

#define STMT_CACHE 96
/* A connection idle longer than this is pinged before use, so the first
 * request after a server restart reconnects instead of failing. */
#define IDLE_PING_MS 1000.0
/* How often an autocommitted statement is run when it keeps losing
 * deadlocks (db_exec). */
#define DEADLOCK_TRIES 6

struct stmt_slot {
	const char *sql;
	MYSQL_STMT *st;
};

#define MAX_PARAMS 32

struct db {
	const struct conf *conf;
	MYSQL *my;
	struct stmt_slot cache[STMT_CACHE];
	size_t ncache;
	int in_tx;
	/* A statement sent by db_send() and not yet awaited. */
	MYSQL_STMT *sent;
	int sent_status, sent_ret;
	struct dbp sent_p[MAX_PARAMS];
	MYSQL_BIND sent_b[MAX_PARAMS];
	unsigned long sent_lens[MAX_PARAMS];
	double last_used;
	enum db_error err;
	unsigned int code;          /* the server's error number, or 0 */
	int doubt;                  /* db_in_doubt() */
	int host;                   /* the [database] host connected to */
	char errmsg[512];
};

/* MariaDB Galera: a node not (yet) part of the primary component refuses
 * every statement with this ("WSREP has not yet prepared node for
 * application use"), and a commit on a node that just left it fails
 * with ER_ERROR_DURING_COMMIT: another server of the list is needed. */
#ifndef ER_UNKNOWN_COM_ERROR
#define ER_UNKNOWN_COM_ERROR 1047
#endif
#ifndef ER_ERROR_DURING_COMMIT
#define ER_ERROR_DURING_COMMIT 1180
#endif

static void
set_err(struct db *db, unsigned int code, const char *msg)
{
	db->code = code;
	switch (code) {
	case CR_CONNECTION_ERROR:
	case CR_CONN_HOST_ERROR:
	case CR_SERVER_GONE_ERROR:
	case CR_SERVER_LOST:
	case CR_SERVER_LOST_EXTENDED:
	case CR_COMMANDS_OUT_OF_SYNC:
	case ER_CONNECTION_KILLED:
	case ER_SERVER_SHUTDOWN:
	case ER_QUERY_INTERRUPTED:
	case ER_CON_COUNT_ERROR:
	case ER_UNKNOWN_COM_ERROR:
	case ER_ERROR_DURING_COMMIT:
	case 0:
		db->err = DB_EUNAVAIL;
		break;
	case ER_DUP_ENTRY:
		db->err = DB_EDUPLICATE;
		break;
	case ER_LOCK_DEADLOCK:
	case ER_LOCK_WAIT_TIMEOUT:
		db->err = DB_EDEADLOCK;
		break;
	default:
		db->err = DB_EOTHER;
	}
	snprintf(db->errmsg, sizeof(db->errmsg), "database error %u: %s", code,
	    msg);
}

static void
drop_connection(struct db *db)
{
	for (size_t i = 0; i < db->ncache; i++)
		mysql_stmt_close(db->cache[i].st);
	db->ncache = 0;
	if (db->my != NULL)
		mysql_close(db->my);
	db->my = NULL;
	db->in_tx = 0;
}

struct db *
db_new(const struct conf *c)
{
	struct db *db = calloc(1, sizeof(*db));

	if (db == NULL)
		fatal("calloc");
	db->conf = c;
	db->host = -1;
	return db;
}

void
db_close(struct db *db)
{
	if (db == NULL)
		return;
	drop_connection(db);
	free(db);
}

/*
 * A server of a Galera cluster that is not synced with its primary
 * component answers connections but refuses statements: it is passed over
 * like one that does not answer. A server without Galera has no
 * wsrep_ready (no row) and is ready. 1 ready, 0 not (the reason in db).
 */
static int
galera_ready(struct db *db)
{
	static const char q[] = "SHOW STATUS LIKE 'wsrep_ready'";
	MYSQL_RES *r;
	MYSQL_ROW row;
	int ready = 1;

	if (mysql_real_query(db->my, q, sizeof(q) - 1) != 0 ||
	    (r = mysql_store_result(db->my)) == NULL) {
		set_err(db, mysql_errno(db->my), mysql_error(db->my));
		return 0;
	}
	if ((row = mysql_fetch_row(r)) != NULL && row[1] != NULL &&
	    strcmp(row[1], "ON") != 0) {
		ready = 0;
		set_err(db, ER_UNKNOWN_COM_ERROR, "the server is a Galera node "
		    "that is not ready (wsrep_ready is not ON)");
	}
	mysql_free_result(r);
	return ready;
}

/* One attempt at server `i` of the list (-1: the socket). 0 or -1. */
static int
connect_one(struct db *db, int i)
{
	const struct conf *c = db->conf;
	unsigned int timeout = (unsigned int)c->db_connect_timeout_s;
	unsigned int rw_timeout = 60;
	my_bool off = 0;
	const char *host = "localhost", *sock = NULL;
	int port = c->db_port;

	if ((db->my = mysql_init(NULL)) == NULL)
		fatalx("mysql_init: out of memory");
	mysql_options(db->my, MYSQL_OPT_CONNECT_TIMEOUT, &timeout);
	mysql_options(db->my, MYSQL_OPT_READ_TIMEOUT, &rw_timeout);
	mysql_options(db->my, MYSQL_OPT_WRITE_TIMEOUT, &rw_timeout);
	mysql_options(db->my, MYSQL_OPT_RECONNECT, &off);
	/* For db_send(); blocking calls work as before. */
	mysql_options(db->my, MYSQL_OPT_NONBLOCK, 0);
	mysql_options(db->my, MYSQL_SET_CHARSET_NAME, "utf8mb4");
	mysql_options(db->my, MYSQL_INIT_COMMAND,
	    "SET time_zone = '+00:00', sql_mode = 'STRICT_ALL_TABLES,"
	    "NO_ZERO_DATE,NO_ENGINE_SUBSTITUTION'");
	if (i < 0) {
		sock = c->db_socket;
	} else {
		host = c->db_hosts[i].name;
		if (c->db_hosts[i].port > 0)
			port = c->db_hosts[i].port;
	}
	if (mysql_real_connect(db->my, host, c->db_user,
	    c->db_password[0] ? c->db_password : NULL, c->db_name,
	    (unsigned int)port, sock, CLIENT_MULTI_STATEMENTS) == NULL) {
		set_err(db, mysql_errno(db->my), mysql_error(db->my));
		drop_connection(db);
		return -1;
	}
	/* With a list, the servers are a cluster's: only a synced one. */
	if (i >= 0 && c->n_db_hosts > 1 && !galera_ready(db)) {
		drop_connection(db);
		return -1;
	}
	return 0;
}

/*
 * Connects to the socket, or to the first server of [database] host's
 * list that answers and is ready, always from the first: every process
 * of every node writes to the same server of a Galera cluster while it
 * is up, so that their transactions conflict within one server (row
 * locks, SKIP LOCKED) and not at certification (docs/scale-out.md).
 */
int
db_connect(struct db *db)
{
	const struct conf *c = db->conf;
	int n = c->db_socket[0] ? 1 : c->n_db_hosts;
	char first[sizeof(db->errmsg)] = "";

	drop_connection(db);
	for (int i = 0; i < n; i++) {
		int which = c->db_socket[0] ? -1 : i;

		if (connect_one(db, which) == 0) {
			if (which >= 0 && which != db->host &&
			    (db->host >= 0 || which > 0))
				log_info("database: connected to %s:%d (server "
				    "%d of the list)", c->db_hosts[which].name,
				    c->db_hosts[which].port > 0 ?
				    c->db_hosts[which].port : c->db_port, which + 1);
			db->host = which;
			db->last_used = clock_mono_ms();
			db->err = DB_OK;
			db->code = 0;
			return 0;
		}
		if (first[0] == '\0')
			memcpy(first, db->errmsg, sizeof(first));
	}
	/* Any failure to connect means "unreachable" to callers; the
	 * message is the first server's. */
	memcpy(db->errmsg, first, sizeof(first));
	db->err = DB_EUNAVAIL;
	return -1;
}

int
db_begin(struct db *db)
{
	double now = clock_mono_ms();

	if (db->my == NULL)
		return db_connect(db);
	if (now - db->last_used > IDLE_PING_MS) {
		if (mysql_ping(db->my) != 0)
			return db_connect(db);
		db->last_used = now;
	}
	return 0;
}

static MYSQL_STMT *
get_stmt(struct db *db, const char *sql)
{
	MYSQL_STMT *st;

	for (size_t i = 0; i < db->ncache; i++)
		if (db->cache[i].sql == sql)
			return db->cache[i].st;
	if ((st = mysql_stmt_init(db->my)) == NULL) {
		set_err(db, mysql_errno(db->my), mysql_error(db->my));
		return NULL;
	}
	if (mysql_stmt_prepare(st, sql, strlen(sql)) != 0) {
		set_err(db, mysql_stmt_errno(st), mysql_stmt_error(st));
		mysql_stmt_close(st);
		return NULL;
	}
	if (db->ncache == STMT_CACHE) {
		/* Full: evict the oldest; the set of statements is small. */
		mysql_stmt_close(db->cache[0].st);
		memmove(db->cache, db->cache + 1,
		    (STMT_CACHE - 1) * sizeof(db->cache[0]));
		db->ncache--;
	}
	db->cache[db->ncache].sql = sql;
	db->cache[db->ncache].st = st;
	db->ncache++;
	return st;
}

void
dbres_free(struct dbres *r)
{
	if (r == NULL || r->cells == NULL)
		return;
	for (size_t i = 0; i < r->nrows * r->ncols; i++)
		free(r->cells[i]);
	free(r->cells);
	free(r->lens);
	memset(r, 0, sizeof(*r));
}

/* Fetches every row of an executed statement as text cells. */
static int
fetch_all(struct db *db, MYSQL_STMT *st, MYSQL_RES *meta, struct dbres *res)
{
	size_t ncols = mysql_num_fields(meta), cap = 0;
	MYSQL_BIND *b = NULL;
	unsigned long *len = NULL;
	my_bool *isnull = NULL, *trunc = NULL;
	char (*small)[128] = NULL;
	int rc = -1, frc;

	memset(res, 0, sizeof(*res));
	res->ncols = ncols;
	if (mysql_stmt_store_result(st) != 0) {
		set_err(db, mysql_stmt_errno(st), mysql_stmt_error(st));
		return -1;
	}
	b = calloc(ncols ? ncols : 1, sizeof(*b));
	len = calloc(ncols ? ncols : 1, sizeof(*len));
	isnull = calloc(ncols ? ncols : 1, sizeof(*isnull));
	trunc = calloc(ncols ? ncols : 1, sizeof(*trunc));
	small = calloc(ncols ? ncols : 1, sizeof(*small));
	if (!b || !len || !isnull || !trunc || !small)
		fatal("calloc");
	for (size_t i = 0; i < ncols; i++) {
		b[i].buffer_type = MYSQL_TYPE_STRING;
		b[i].buffer = small[i];
		b[i].buffer_length = sizeof(small[i]);
		b[i].length = &len[i];
		b[i].is_null = &isnull[i];
		b[i].error = &trunc[i];
	}
	if (mysql_stmt_bind_result(st, b) != 0) {
		set_err(db, mysql_stmt_errno(st), mysql_stmt_error(st));
		goto out;
	}
	while ((frc = mysql_stmt_fetch(st)) == 0 || frc == MYSQL_DATA_TRUNCATED) {
		if (res->nrows == cap) {
			cap = cap ? cap * 2 : 8;
			res->cells = realloc(res->cells,
			    cap * ncols * sizeof(*res->cells));
			res->lens = realloc(res->lens,
			    cap * ncols * sizeof(*res->lens));
			if (res->cells == NULL || res->lens == NULL)
				fatal("realloc");
		}
		for (size_t i = 0; i < ncols; i++) {
			size_t k = res->nrows * ncols + i;
			char *cell;

			res->lens[k] = 0;
			if (isnull[i]) {
				res->cells[k] = NULL;
				continue;
			}
			if ((cell = malloc(len[i] + 1)) == NULL)
				fatal("malloc %lu", len[i] + 1);
			if (len[i] <= sizeof(small[i])) {
				memcpy(cell, small[i], len[i]);
			} else {
				MYSQL_BIND one;
				memset(&one, 0, sizeof(one));
				one.buffer_type = MYSQL_TYPE_STRING;
				one.buffer = cell;
				one.buffer_length = len[i];
				if (mysql_stmt_fetch_column(st, &one,
				    (unsigned int)i, 0) != 0) {
					free(cell);
					set_err(db, mysql_stmt_errno(st),
					    mysql_stmt_error(st));
					goto out;
				}
			}
			cell[len[i]] = '\0';
			res->cells[k] = cell;
			res->lens[k] = len[i];
		}
		res->nrows++;
	}
	if (frc != MYSQL_NO_DATA) {
		set_err(db, mysql_stmt_errno(st), mysql_stmt_error(st));
		goto out;
	}
	rc = 0;
out:
	mysql_stmt_free_result(st);
	if (rc == -1)
		dbres_free(res);
	free(b);
	free(len);
	free(isnull);
	free(trunc);
	free(small);
	return rc;
}

/* Binds `p` to `st` through b/lens, which must outlive the execution. */
static int
bind_params(struct db *db, MYSQL_STMT *st, const char *sql,
    const struct dbp *p, size_t np, MYSQL_BIND *b, unsigned long *lens)
{
	if (np > MAX_PARAMS || np != mysql_stmt_param_count(st))
		fatalx("statement wants %lu parameters, got %zu: %s",
		    mysql_stmt_param_count(st), np, sql);
	memset(b, 0, sizeof(*b) * MAX_PARAMS);
	for (size_t i = 0; i < np; i++) {
		switch (p[i].t) {
		case DBP_NULL:
			b[i].buffer_type = MYSQL_TYPE_NULL;
			break;
		case DBP_INT:
			b[i].buffer_type = MYSQL_TYPE_LONGLONG;
			b[i].buffer = (void *)&p[i].i;
			break;
		case DBP_DOUBLE:
			b[i].buffer_type = MYSQL_TYPE_DOUBLE;
			b[i].buffer = (void *)&p[i].d;
			break;
		case DBP_STR:
			lens[i] = (unsigned long)p[i].n;
			b[i].buffer_type = MYSQL_TYPE_BLOB;
			b[i].buffer = (void *)p[i].s;
			b[i].buffer_length = lens[i];
			b[i].length = &lens[i];
			break;
		}
	}
	if (np > 0 && mysql_stmt_bind_param(st, b) != 0) {
		set_err(db, mysql_stmt_errno(st), mysql_stmt_error(st));
		return -1;
	}
	return 0;
}

static int
exec_once(struct db *db, const char *sql, const struct dbp *p, size_t np,
    struct dbres *res, unsigned long long *affected,
    unsigned long long *insert_id, int *at_prepare)
{
	MYSQL_STMT *st;
	MYSQL_BIND b[MAX_PARAMS];
	unsigned long lens[MAX_PARAMS];
	MYSQL_RES *meta;
	int rc;

	*at_prepare = 1;
	if (db->my == NULL && db_connect(db) == -1)
		return -1;
	if ((st = get_stmt(db, sql)) == NULL)
		return -1;
	*at_prepare = 0;
	if (bind_params(db, st, sql, p, np, b, lens) == -1)
		return -1;
	if (mysql_stmt_execute(st) != 0) {
		set_err(db, mysql_stmt_errno(st), mysql_stmt_error(st));
		return -1;
	}
	db->last_used = clock_mono_ms();
	meta = mysql_stmt_result_metadata(st);
	if (meta != NULL) {
		if (res != NULL)
			rc = fetch_all(db, st, meta, res);
		else
			rc = mysql_stmt_free_result(st) == 0 ? 0 : -1;
		mysql_free_result(meta);
		if (rc == -1)
			return -1;
	} else if (res != NULL) {
		memset(res, 0, sizeof(*res));
	}
	if (affected != NULL)
		*affected = mysql_stmt_affected_rows(st);
	if (insert_id != NULL)
		*insert_id = mysql_stmt_insert_id(st);
	/* A CALL ends with a status result after its result set: read it,
	 * or the next command on the connection is "out of sync". */
	while (mysql_stmt_more_results(st)) {
		rc = mysql_stmt_next_result(st);
		if (rc > 0) {
			set_err(db, mysql_stmt_errno(st), mysql_stmt_error(st));
			if (res != NULL)
				dbres_free(res);
			return -1;
		}
		if (rc == -1)
			break;
		if (mysql_stmt_field_count(st) > 0)
			mysql_stmt_free_result(st);
	}
	return 0;
}

int
db_exec(struct db *db, const char *sql, const struct dbp *p, size_t np,
    struct dbres *res, unsigned long long *affected,
    unsigned long long *insert_id)
{
	int at_prepare;

	db->err = DB_OK;
	db->doubt = 0;
	for (int tries = 1;; tries++) {
		if (exec_once(db, sql, p, np, res, affected, insert_id,
		    &at_prepare) == 0)
			return 0;
		/*
		 * A statement of its own (autocommit) that lost a deadlock was
		 * rolled back whole, so running it again is safe: InnoDB picks
		 * such victims, and Galera reports a certification conflict
		 * with a write of another server so (what its
		 * wsrep_retry_autocommit does once, done here a few times
		 * more). Inside a transaction, its owner must retry the whole
		 * of it. A lock wait timeout is not retried: it already
		 * waited.
		 */
		if (db->err != DB_EDEADLOCK || db->code != ER_LOCK_DEADLOCK ||
		    db->in_tx || tries == DEADLOCK_TRIES)
			break;
		usleep((useconds_t)(1000 * tries * tries));
	}
	if (db->err != DB_EUNAVAIL)
		return -1;
	/*
	 * The connection broke. Outside a transaction, a statement that never
	 * reached the server (failed at prepare, or "gone away" before it was
	 * sent) is safe to run once more on a fresh connection.
	 */
	int was_tx = db->in_tx;
	int gone = at_prepare ||
	    (db->my && mysql_errno(db->my) == CR_SERVER_GONE_ERROR);
	char saved[sizeof(db->errmsg)];
	memcpy(saved, db->errmsg, sizeof(saved));
	drop_connection(db);
	if (was_tx || !gone || db_connect(db) == -1) {
		memcpy(db->errmsg, saved, sizeof(saved));
		db->err = DB_EUNAVAIL;
		db->doubt = !gone;
		return -1;
	}
	if (exec_once(db, sql, p, np, res, affected, insert_id,
	    &at_prepare) == 0)
		return 0;
	db->doubt = db->err == DB_EUNAVAIL && !at_prepare &&
	    !(db->my && mysql_errno(db->my) == CR_SERVER_GONE_ERROR);
	return -1;
}

int
db_send(struct db *db, const char *sql, const struct dbp *p, size_t np)
{
	MYSQL_STMT *st;

	db->err = DB_OK;
	if (db->sent != NULL)
		fatalx("db_send: a statement is already in flight");
	if (db->my == NULL && db_connect(db) == -1)
		return -1;
	if ((st = get_stmt(db, sql)) == NULL)
		return -1;
	if (np > MAX_PARAMS)
		fatalx("db_send: %zu parameters: %s", np, sql);
	memcpy(db->sent_p, p, np * sizeof(*p));
	if (bind_params(db, st, sql, db->sent_p, np, db->sent_b,
	    db->sent_lens) == -1)
		return -1;
	db->sent = st;
	db->sent_ret = 0;
	db->sent_status = mysql_stmt_execute_start(&db->sent_ret, st);
	return 0;
}

int
db_await(struct db *db, unsigned long long *affected)
{
	MYSQL_STMT *st = db->sent;
	struct pollfd pfd;
	int status = db->sent_status, ev, r, timeout;

	if (st == NULL)
		fatalx("db_await: nothing in flight");
	db->sent = NULL;
	while (status != 0) {
		pfd.fd = mysql_get_socket(db->my);
		pfd.events = 0;
		pfd.revents = 0;
		if (status & MYSQL_WAIT_READ)
			pfd.events |= POLLIN;
		if (status & MYSQL_WAIT_WRITE)
			pfd.events |= POLLOUT;
		if (status & MYSQL_WAIT_EXCEPT)
			pfd.events |= POLLPRI;
		timeout = status & MYSQL_WAIT_TIMEOUT ?
		    (int)mysql_get_timeout_value_ms(db->my) : -1;
		r = poll(&pfd, 1, timeout);
		if (r == -1 && errno == EINTR)
			continue;
		ev = 0;
		if (r == 0)
			ev = MYSQL_WAIT_TIMEOUT;
		else if (r > 0) {
			if (pfd.revents & (POLLIN | POLLHUP | POLLERR))
				ev |= MYSQL_WAIT_READ;
			if (pfd.revents & POLLOUT)
				ev |= MYSQL_WAIT_WRITE;
			if (pfd.revents & POLLPRI)
				ev |= MYSQL_WAIT_EXCEPT;
		}
		status = mysql_stmt_execute_cont(&db->sent_ret, st, ev);
	}
	if (db->sent_ret != 0) {
		set_err(db, mysql_stmt_errno(st), mysql_stmt_error(st));
		if (db->err == DB_EUNAVAIL)
			drop_connection(db);
		return -1;
	}
	db->last_used = clock_mono_ms();
	if (affected != NULL)
		*affected = mysql_stmt_affected_rows(st);
	return 0;
}

static int
simple_query(struct db *db, const char *q)
{
	if (db->my == NULL && db_connect(db) == -1)
		return -1;
	if (mysql_real_query(db->my, q, strlen(q)) != 0) {
		set_err(db, mysql_errno(db->my), mysql_error(db->my));
		if (db->err == DB_EUNAVAIL)
			drop_connection(db);
		return -1;
	}
	db->last_used = clock_mono_ms();
	return 0;
}

int
db_tx_begin(struct db *db)
{
	if (simple_query(db, "START TRANSACTION") == -1)
		return -1;
	db->in_tx = 1;
	return 0;
}

int
db_tx_begin_read_committed(struct db *db)
{
	/* Applies to the next transaction only. */
	if (simple_query(db, "SET TRANSACTION ISOLATION LEVEL READ "
	    "COMMITTED") == -1)
		return -1;
	return db_tx_begin(db);
}

int
db_tx_commit(struct db *db)
{
	int rc = simple_query(db, "COMMIT");
	db->in_tx = 0;
	return rc;
}

void
db_tx_rollback(struct db *db)
{
	enum db_error e = db->err;
	char saved[sizeof(db->errmsg)];

	/* Keep the error that made us roll back, not the rollback's own. */
	memcpy(saved, db->errmsg, sizeof(saved));
	if (db->my != NULL && mysql_real_query(db->my, "ROLLBACK", 8) != 0)
		drop_connection(db);
	db->in_tx = 0;
	db->err = e;
	memcpy(db->errmsg, saved, sizeof(saved));
}

int
db_in_doubt(const struct db *db)
{
	return db->doubt;
}

enum db_error
db_error(const struct db *db)
{
	return db->err;
}

int
db_fail(struct db *db, const char *msg)
{
	return db_fail_as(db, DB_EOTHER, msg);
}

int
db_fail_as(struct db *db, enum db_error err, const char *msg)
{
	db->err = err;
	/* msg may be db->errmsg itself. */
	if (msg != db->errmsg)
		snprintf(db->errmsg, sizeof(db->errmsg), "%s", msg);
	return -1;
}

const char *
db_errmsg(const struct db *db)
{
	return db->errmsg;
}

int
db_exec_script(struct db *db, const char *sql)
{
	int status;

	if (simple_query(db, sql) == -1)
		return -1;
	do {
		MYSQL_RES *r = mysql_store_result(db->my);
		if (r != NULL)
			mysql_free_result(r);
		else if (mysql_errno(db->my) != 0)
			goto fail;
		status = mysql_next_result(db->my);
		if (status > 0)
			goto fail;
	} while (status == 0);
	return 0;
fail:
	set_err(db, mysql_errno(db->my), mysql_error(db->my));
	return -1;
}
