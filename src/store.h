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

#include "request.h"

struct db;

/* ---- tokens (store_tokens.c) ---- */
struct token_rec {
	long long id;
	char name[129];
	enum role role;
	char created_at[32];
	char last_used_at[32];    /* "" when never used */
	int revoked;
	unsigned char hash[32];
	int stale_use;            /* last use older than a minute */
};

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

/* ---- executions (store_executions.c) ---- */
/* Queued and running executions across all nodes. */
int store_exec_gauges(struct db *db, long long *queued, long long *running);
/* Marks running executions without a heartbeat for `timeout_s` as lost;
 * *n counts them. */
int store_exec_mark_lost(struct db *db, int timeout_s, int *n);
/* Deletes up to `batch` final executions queued more than `days` ago. */
int store_exec_delete_old(struct db *db, int days, int batch,
    long long *deleted);

#endif
