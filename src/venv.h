/*
 * venv.h - Python virtual environments for python scripts: keyed, cached,
 * built once per node by the scriptorch-venv builder (launched through the
 * executor), recorded in the venvs table. docs/venvs.md tells the whole
 * story; the rules in short:
 *
 *  - key = reqs_venv_key(normalized requirements, the interpreter's exact
 *    version, the installer options of the config); the venv of a key is
 *    <venv_dir>/<key>, usable when <venv_dir>/<key>/.scriptorch-ready
 *    exists (the builder writes it in its stage, which is renamed into
 *    place last, so a crash never leaves a half venv that looks ready).
 *    The directory on this node is the truth; the table row is the
 *    record of the last build anywhere (status, log, sizes, use times).
 *  - builds run as the config's build_user (never root, never the run
 *    user), wheels only unless allow_sdist / allow_direct_urls, in a stage
 *    <venv_dir>/.build/<key> that is theirs; when the builder succeeds,
 *    root takes the stage over (everything root's and read-only, the
 *    cache files it hardlinks too), makes the links the builder left to it,
 *    and renames it to <venv_dir>/<key> (root:<run group> 0750). The build
 *    cache is the build user's. docs/venvs.md, "Who builds".
 *  - <venv_dir>/.locks/<key>.lock (root only, never unlinked) serialises
 *    everything about one key between the processes of a node: a build
 *    holds LOCK_EX, every run holds LOCK_SH for as long as it runs, an
 *    eviction takes LOCK_EX without waiting and gives up when it cannot
 *    (the venv is in use or being built).
 *
 * Every process (runner, API worker, CLI) learns the interpreter's
 * version once (from a memo file under .locks that the first process of
 * the node writes after running the interpreter), and caches it in venv.c
 * for as long as the interpreter file (path, inode, size, mtime) stays the
 * same. That cache and the times this process last recorded a key's use
 * (so a busy venv costs no database write but once a minute) are the
 * module's only state; each process has one config, so neither is ever
 * shared between configs.
 */
#ifndef SCRIPTORCH_VENV_H
#define SCRIPTORCH_VENV_H

#include <stddef.h>

#include "buf.h"

struct conf;
struct db;
struct jw;
struct script;
struct shm;
struct venv_rec;

/* A ready venv for one run. Both strings are owned by the caller (free). */
struct venv_ready {
	char *dir;         /* the venv directory */
	char *python;      /* its interpreter: <dir>/bin/python */
	int lock_fd;       /* shared lock held for the run; venv_release() */
};

/*
 * Makes sure the venv for script `s` (type python) exists on this node:
 * computes its key, waits for or runs the one build of that key (heart-
 * beating execution `exec_id` meanwhile so it is not taken for lost), and
 * holds a shared lock on it so it cannot be evicted during the run.
 * A key whose last build failed less than retry_backoff_s ago fails at
 * once with that build's message, without building.
 * Returns 0 with `out` filled, or -1 with a message for the execution's
 * error in `why` (naming the failed requirement and pip's output tail;
 * valid UTF-8). `shm` may be NULL (no metrics), `exec_id` 0 (no
 * heartbeat).
 */
int venv_prepare(struct db *db, const struct conf *c, struct shm *shm,
    const struct script *s, long long exec_id, struct venv_ready *out,
    struct buf *why);
/* Drops the run's lock and frees the strings. Safe on a zeroed or
 * { NULL, NULL, -1 } struct, on one venv_prepare() failed to fill, and
 * twice. */
void venv_release(struct venv_ready *v);

/* ---- the admin side, shared by the API (api_venvs.c) and the CLI ---- */

enum venv_status {
	VENV_OK = 0,
	VENV_NOT_FOUND,    /* no venv with that id */
	VENV_BUSY,         /* a run uses it or it is being built: 409 */
	VENV_DB,           /* database failure: see db_error(db) */
	VENV_FS,           /* the directory could not be removed: `why` */
	VENV_STALE,        /* not this config's venv (venv_rebuild): `why` */
};

/*
 * Calls fn for each venv (by id) with the ids of the python scripts whose
 * key is the venv's key under the current config (scripts[0..n)). Both
 * are freed after the call. 0, or -1 on a database failure.
 */
int venv_list(struct db *db, const struct conf *c,
    void (*fn)(void *arg, const struct venv_rec *v, const long long *scripts,
    size_t n), void *arg);
/*
 * One venv with its build log: VENV_OK with *v filled (release it with
 * venv_rec_free()) and *scripts (free()) of *n ids; VENV_NOT_FOUND or
 * VENV_DB otherwise (nothing to free).
 */
enum venv_status venv_get(struct db *db, const struct conf *c, long long id,
    struct venv_rec *v, long long **scripts, size_t *n);
/* Writes the contract's venv object, plus "present" (the directory is
 * ready on this node), "error", "failed_at", "node", and with with_log
 * "build_log" (v must have been read with its log). */
void venv_write_json(struct jw *w, const struct conf *c,
    const struct venv_rec *v, const long long *scripts, size_t n,
    int with_log);
/*
 * The "venv" member of a python script's object: {"id","key","status",
 * "size_bytes","last_used_at","present"} of its venv, or {"key":...,
 * "status":"absent"} when no build of its key is recorded; "status" is
 * "invalid"/"unknown" with an "error" when no key can be computed.
 */
void venv_write_for_script(struct jw *w, struct db *db, const struct conf *c,
    const struct script *s);
/*
 * Evicts venv `id`: removes its directory on this node (unless a run
 * holds it or it is being built here: VENV_BUSY) and its row. The next run
 * that needs it builds it again. `actor` goes to the audit log.
 */
enum venv_status venv_evict(struct db *db, const struct conf *c,
    long long id, const char *actor, struct buf *why);
/*
 * Builds venv `id` again on this node, now, whatever its state (ready,
 * failed: no retry back-off; its cache is refreshed): under its lock,
 * taken without waiting (VENV_BUSY while a run uses it or a build of it
 * runs here), its directory is removed and the builder runs as for a
 * run, recording the outcome in its row (ready, or failed with the error
 * and the log). VENV_OK once a build ran, whether it succeeded or not:
 * the row says. VENV_STALE when its requirements no longer give its key
 * under this config (another interpreter, other installer options: no
 * script runs in it), VENV_NOT_FOUND, VENV_DB, VENV_FS (why says).
 * Blocks for the build: c->venv_build_timeout_s at most. `actor` goes to
 * the audit log (venv.rebuild).
 */
enum venv_status venv_rebuild(struct db *db, const struct conf *c,
    struct shm *shm, long long id, const char *actor, struct buf *why);
/*
 * Applies the config's bounds (max_cache_bytes, max_age_days) on this
 * node: evicts ready venvs, least recently used first, while their total
 * size is over the bound or their last use is older than the age bound,
 * skipping those in use. Also removes what a killed eviction left behind.
 * *evicted counts the venvs removed. 0, or -1 on a database failure.
 */
int venv_prune(struct db *db, const struct conf *c, int *evicted);
/*
 * Builds of this node that a killed process left `building` (nobody
 * holds their lock) are marked `failed` with an error that says so and
 * no failure time, so that the next run builds at once rather than wait
 * for the retry back-off. *marked counts them. 0, or -1 (database).
 */
int venv_sweep_interrupted(struct db *db, const struct conf *c, int *marked);

#endif
