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

/* ---- scripts (store_scripts.c) ---- */
struct script;
/* One script; *found = 0 when there is none. With for_update the row is
 * locked until the end of the caller's transaction. The caller releases
 * *s with script_free(). */
int store_script_get(struct db *db, long long id, int for_update,
    struct script *s, int *found);
int store_script_get_by_name(struct db *db, const char *name,
    struct script *s, int *found);
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

#endif
