/*
 * registry.h - the script registry service: reading scripts (with their
 * version brought up to date from the file), the memories of scripts read
 * lately, and the writes that change a script. Shared by the HTTP API
 * (api_scripts.c), the admin CLI (cli.c), execution submission and the
 * runner, so every rule exists once. Its parts: the model (script.h), the
 * field rules (scriptfields.h), the file checks (scriptfile.h) and the
 * version (versions.h); only this service reaches the store.
 *
 * Ownership: a struct script filled by a registry call is the caller's,
 * released with script_free() whatever the status (always safe: a call
 * that fails leaves it empty or whole). A script passed to a callback is
 * borrowed for the call. Strings and JSON trees passed in are borrowed.
 * `magic` is a libmagic cookie (magic_t) or NULL, borrowed.
 */
#ifndef SCRIPTORCH_REGISTRY_H
#define SCRIPTORCH_REGISTRY_H

#include <stddef.h>
#include <stdint.h>

#include <yajl/yajl_tree.h>

#include "script.h"
#include "versions.h"
#include "verr.h"

struct conf;
struct db;
struct dbres;
struct shm;

/* The outcome of a registry call that can fail for several reasons. */
enum reg_status {
	REG_OK = 0,
	REG_INVALID,      /* 422: e says which field and why */
	REG_CONFLICT,     /* 409: e.message says why (duplicate name) */
	REG_NOT_FOUND,    /* 404 */
	REG_DB,           /* database failure: see db_error(db) */
};

/*
 * Loads a script by id (or by name with registry_get_by_name). When the
 * file on disk changed since its version was last recorded, the new
 * version is computed, stored and recorded in the history first (the
 * contract: "checked on GET of the script and before every run"). A file
 * that vanished or became unreadable keeps the stored version; `e` (may be
 * NULL) then tells what is wrong with it.
 */
enum reg_status registry_get(struct db *db, const struct conf *c,
    long long id, struct script *s, struct verr *e);
enum reg_status registry_get_by_name(struct db *db, const struct conf *c,
    const char *name, struct script *s, struct verr *e);

/*
 * Loads a script by id (name NULL) or by name as stored, without looking
 * at its file: for submissions (the version is checked before the run)
 * and for the runner, which calls registry_refresh_version() next.
 */
enum reg_status registry_load(struct db *db, long long id, const char *name,
    struct script *s);
/*
 * A process's memory of scripts it read lately (owned by the process,
 * zeroed to start, registry_memo_free at the end). API workers use it
 * for submissions: an entry holds for SCRIPT_MEMO_MS, and not at all once
 * any process of this node changed a script (shm->script_gen, bumped by
 * every write of this registry given the shm), so a change through this
 * node's API counts at once and one made elsewhere (another node, the
 * CLI) within SCRIPT_MEMO_MS. Runners look entries up by revision
 * (updated_at) instead.
 */
#define SCRIPT_MEMO_SLOTS 16
#define SCRIPT_MEMO_MS 1000
struct script_memo {
	struct script s[SCRIPT_MEMO_SLOTS];
	double at[SCRIPT_MEMO_SLOTS];       /* clock_mono_ms() of the read */
	uint32_t gen[SCRIPT_MEMO_SLOTS];    /* shm->script_gen at the read */
};
void registry_memo_free(struct script_memo *m);
/* Copies the entry for script `id` (name NULL) or `name` into s while it
 * is fresh under generation `gen`: 0, or -1 when there is none. */
int registry_memo_get_fresh(struct script_memo *m, long long id,
    const char *name, uint32_t gen, struct script *s);
/* Copies the entry for script `id` at revision `updated_at` into s: 0,
 * or -1 when there is none. */
int registry_memo_get_rev(struct script_memo *m, long long id,
    const char *updated_at, struct script *s);
/* Remembers a copy of s, read now under generation `gen`. */
void registry_memo_put(struct script_memo *m, const struct script *s,
    uint32_t gen);
/* Tells every process of this node that scripts changed (the writes below
 * do it themselves). */
void registry_changed(struct shm *shm);

/* For a submission: the script by id (name NULL) or name, from `memo`
 * (may be NULL) while fresh under `gen`; else from the database, where
 * *queue_full tells in the same round trip whether `max_queued`
 * executions already wait. A remembered script leaves *queue_full at -1
 * (not probed: execution_submit probes if the run would wait). */
enum reg_status registry_load_for_submit(struct db *db,
    struct script_memo *memo, uint32_t gen, long long id, const char *name,
    int max_queued, struct script *s, int *queue_full);

/*
 * Recomputes the version of `s` from its file now (or takes it from `vm`,
 * which may be NULL, when the file is unchanged); on change stores it and
 * records it in the history, updating s->version. REG_INVALID when the
 * file cannot be read or is no longer acceptable (gone, moved out of the
 * roots, no longer an ELF for a binary): the caller (the runner) ends the
 * execution as error with e->message. The run user's permissions are not
 * looked up here (that takes user database look-ups on every run); a file
 * the run user may no longer execute fails at exec with EACCES, reported
 * the same way.
 */
enum reg_status registry_refresh_version(struct db *db, const struct conf *c,
    struct script *s, struct version_memo *vm, struct verr *e);

/*
 * The writes. Each is one transaction with the version history and an
 * audit record naming `actor`; on success every process of this node is
 * told through `shm` (may be NULL: the CLI, another process, has none;
 * the workers then see the change within SCRIPT_MEMO_MS).
 */
/* Creates a script from a JSON object (the API body or the CLI's fields).
 * On REG_OK `out` is the stored script. REG_INVALID: e is the first
 * invalid field, and `all` (may be NULL; empty at the call, the caller
 * frees it) every one, each once (scriptfields_validate). */
enum reg_status registry_create(struct db *db, const struct conf *c,
    void *magic, struct shm *shm, yajl_val body, const char *actor,
    struct script *out, struct verr *e, struct verr_list *all);
/* The same, with `in_tx` (not NULL) called inside the create's
 * transaction once the script's row is there (`id`), so that what the
 * caller records about the new script commits with it or not at all:
 * in_tx returns 0, or -1 after a statement failed (db_error tells why;
 * the create then rolls back and answers as for its own failure). */
enum reg_status registry_create_with(struct db *db, const struct conf *c,
    void *magic, struct shm *shm, yajl_val body, const char *actor,
    int (*in_tx)(void *arg, struct db *db, long long id), void *arg,
    struct script *out, struct verr *e, struct verr_list *all);
/* Applies a PATCH object to script `id`; `out`, e and `all` as for a
 * create. */
enum reg_status registry_update(struct db *db, const struct conf *c,
    void *magic, struct shm *shm, long long id, yajl_val patch,
    const char *actor, struct script *out, struct verr *e,
    struct verr_list *all);
/* Deletes script `id`, its history, and cancels its queued executions. */
enum reg_status registry_delete(struct db *db, struct shm *shm,
    long long id, const char *actor);

/*
 * Lists scripts ordered by name. Filters (all optional): type (NULL: any;
 * otherwise shell, python or binary, else REG_INVALID with field "type"),
 * enabled (-1: any, 0, 1), q (NULL or "": any; else a substring of the
 * name or the description, without regard to case; LIKE's wildcards in it
 * are taken literally). fn gets each script, borrowed for the call.
 * Versions are not refreshed here (a list would hash every file).
 */
struct script_filter {
	const char *type;
	int enabled;
	const char *q;
};
enum reg_status registry_list(struct db *db, const struct script_filter *f,
    void (*fn)(void *arg, const struct script *s), void *arg,
    struct verr *e);
/*
 * The same list, each script with its newest execution, so that a list
 * view needs no request per script: fn also gets the row `i` of `last`
 * that is this script's newest execution (store_execution_get's list columns,
 * for execution_write_json; borrowed for the call), or last NULL when the
 * script never ran.
 */
enum reg_status registry_list_with_last(struct db *db,
    const struct script_filter *f,
    void (*fn)(void *arg, const struct script *s, const struct dbres *last,
    size_t i), void *arg, struct verr *e);

/* Calls fn for each recorded version of script `id`, newest first
 * (REG_NOT_FOUND when there is no such script). */
enum reg_status registry_versions(struct db *db, long long id,
    void (*fn)(void *arg, const char *version, const char *recorded_at),
    void *arg);

#endif
