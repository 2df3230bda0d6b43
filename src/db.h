/*
 * db.h - one MariaDB connection per process, prepared statements only.
 *
 * Every statement goes through db_exec(): parameters are bound from a
 * small tagged array, every result column is fetched as bytes (numbers as
 * their decimal text), which keeps the store_* modules short. Statements are
 * prepared once per connection and cached by their SQL text's address, so
 * pass string literals.
 *
 * A lost connection is re-established on the next call (db_begin() pings a
 * connection idle for more than a second); while the server is down every
 * call fails with DB_EUNAVAIL, which the API maps to 503. With an ordered
 * list of servers ([database] host, a Galera cluster), every connection
 * goes to the first one that answers and is synced, so a server's loss
 * costs a reconnection to the next (docs/scale-out.md).
 *
 * A statement whose connection broke after it was sent is never run again
 * here: it may have taken effect (committed, for a statement alone or a
 * COMMIT), and only its caller can tell from the rows (docs/
 * architecture.md, "Statements in doubt"). Only one that never reached
 * the server (failed at prepare, or "gone away" before it was sent) is
 * run again on a fresh connection.
 *
 * A statement run on its own (outside db_tx_begin) that loses a deadlock
 * (ER_LOCK_DEADLOCK: InnoDB's victim, or a Galera certification conflict)
 * is run again by db_exec(), a few times: it was rolled back whole. A
 * transaction that fails so (DB_EDEADLOCK, at any statement or at
 * COMMIT) must be retried whole by its owner.
 */
#ifndef SCRIPTORCH_DB_H
#define SCRIPTORCH_DB_H

#include <stddef.h>

struct conf;

enum db_error {
	DB_OK = 0,
	DB_EUNAVAIL,     /* cannot reach the server */
	DB_EDUPLICATE,   /* unique key violated */
	DB_EDEADLOCK,    /* deadlock or lock wait timeout: retry the transaction */
	DB_EOTHER,       /* anything else: a bug or a schema mismatch */
};

enum db_type { DBP_NULL, DBP_INT, DBP_DOUBLE, DBP_STR };

struct dbp {
	enum db_type t;
	long long i;
	double d;
	const char *s;
	size_t n;
};

#define DBP_I(v) ((struct dbp){ .t = DBP_INT, .i = (long long)(v) })
#define DBP_D(v) ((struct dbp){ .t = DBP_DOUBLE, .d = (v) })
#define DBP_S(v) ((struct dbp){ .t = (v) ? DBP_STR : DBP_NULL, .s = (v), \
	.n = (v) ? strlen(v) : 0 })
#define DBP_B(p, len) ((struct dbp){ .t = (p) ? DBP_STR : DBP_NULL, \
	.s = (p), .n = (len) })
#define DBP_NUL ((struct dbp){ .t = DBP_NULL })

/* A fetched result: rows x cols cells; a NULL cell pointer is SQL NULL.
 * Every non-NULL cell is NUL-terminated (the NUL not counted in lens). */
struct dbres {
	size_t nrows, ncols;
	char **cells;
	size_t *lens;
};

static inline const char *
dbres_get(const struct dbres *r, size_t row, size_t col)
{
	return r->cells[row * r->ncols + col];
}

static inline size_t
dbres_len(const struct dbres *r, size_t row, size_t col)
{
	return r->lens[row * r->ncols + col];
}

void dbres_free(struct dbres *r);

struct db;

/* Allocates a handle; connects lazily. Never NULL. db_close() frees it. */
struct db *db_new(const struct conf *c);
void db_close(struct db *db);
/* Connects (or reconnects) now. 0 or -1 (see db_errmsg). */
int db_connect(struct db *db);
/* Call before the first statement of a unit of work: reconnects when the
 * connection is gone, pings one idle for a while. 0 or -1. */
int db_begin(struct db *db);

/*
 * Runs `sql` with `np` parameters. With `res` non-NULL, fetches every row
 * into it (the caller frees it with dbres_free). `affected` and
 * `insert_id` may be NULL. 0 or -1; on -1 db_error()/db_errmsg() say why.
 */
int db_exec(struct db *db, const char *sql, const struct dbp *p, size_t np,
    struct dbres *res, unsigned long long *affected,
    unsigned long long *insert_id);
/*
 * A statement without a result set (an UPDATE, autocommitted) sent now and
 * waited for later, so that the caller can work meanwhile: db_send()
 * sends it, db_await() waits for its end (*affected: rows changed).
 * Nothing else may use `db` in between; `p` is copied, but the strings
 * it points to must stay valid until db_await(). 0 or -1 each, as
 * db_exec().
 */
int db_send(struct db *db, const char *sql, const struct dbp *p, size_t np);
int db_await(struct db *db, unsigned long long *affected);
/* Transactions (statement-level helpers for BEGIN/COMMIT/ROLLBACK). */
int db_tx_begin(struct db *db);
/* The same, for one transaction whose plain reads must see what others
 * committed meanwhile (READ COMMITTED), not a snapshot of its start. */
int db_tx_begin_read_committed(struct db *db);
int db_tx_commit(struct db *db);
void db_tx_rollback(struct db *db);

enum db_error db_error(const struct db *db);
/* 1 when the last db_exec() failed with its connection (DB_EUNAVAIL)
 * after its statement was sent: it may have taken effect. 0 for any
 * other outcome, a statement that never reached the server among them. */
int db_in_doubt(const struct db *db);
const char *db_errmsg(const struct db *db);
/* Records a failure the server did not report (DB_EOTHER, `msg`) for a
 * caller that found a result it cannot use. Returns -1. */
int db_fail(struct db *db, const char *msg);
/* The same with the kind of failure given: for a caller that learned
 * more after the failure (a COMMIT in doubt found not committed is still
 * the lost connection's DB_EUNAVAIL). Returns -1. */
int db_fail_as(struct db *db, enum db_error err, const char *msg);

/* Runs a multi-statement SQL text (migrations only: not prepared). */
int db_exec_script(struct db *db, const char *sql);

#endif
