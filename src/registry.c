/*
 * registry.c - the script registry service: reads (with the version
 * brought up to date from the file), the two memories of scripts read
 * lately, and the writes that change a script, each one transaction with
 * its history and audit record. The API (api_scripts.c) and the admin
 * CLI (cli.c) both come through here, so a rule exists once.
 *
 * A create or an update is: apply the fields of the JSON object to a
 * struct script (defaults, or the stored row) and check the rules that
 * span fields (scriptfields.c, which has the file checked by
 * scriptfile.c when path or type changed); then the version of the
 * result (versions.c); then one transaction that writes the row, the
 * history and the audit record; then every process of this node is told
 * (registry_changed).
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "clock.h"
#include "db.h"
#include "log.h"
#include "registry.h"
#include "scriptfields.h"
#include "sender.h"
#include "shm.h"
#include "store.h"
#include "versions.h"

/* A write transaction that lost a deadlock (InnoDB's victim, or a
 * Galera certification conflict at COMMIT) did nothing: it is run again,
 * up to TX_TRIES times in all. */
#define TX_TRIES 5

static int
tx_lost(struct db *db, enum reg_status rs, int *tries)
{
	return rs == REG_DB && db_error(db) == DB_EDEADLOCK &&
	    ++*tries < TX_TRIES;
}

/* ------------------------------------------------------------------ */
/* Reads.                                                               */

/* Records a new version: the row's version moves from s->version to
 * newv, and the history gets it, once (store_script_set_version). */
static enum reg_status
record_version_once(struct db *db, struct script *s, const char *newv)
{
	int changed, found;
	long long id = s->id;

	if (db_tx_begin(db) == -1)
		return REG_DB;
	if (store_script_set_version(db, s->id, s->version, newv,
	    &changed) == -1)
		goto fail;
	if (changed && store_script_version_add(db, s->id, newv) == -1)
		goto fail;
	if (db_tx_commit(db) == -1)
		return REG_DB;
	if (changed)
		log_info("script \"%s\" changed on disk: %s", s->name, newv);
	/* Re-read for updated_at (or for another worker's newer value). */
	script_free(s);
	if (store_script_get(db, id, 0, s, &found) == -1)
		return REG_DB;
	return found ? REG_OK : REG_NOT_FOUND;
fail:
	db_tx_rollback(db);
	return REG_DB;
}

static enum reg_status
record_version(struct db *db, struct script *s, const char *newv)
{
	enum reg_status rs;
	int tries = 0;

	while (tx_lost(db, rs = record_version_once(db, s, newv), &tries))
		;
	return rs;
}

/* Recomputes the version from the file and records it when it changed.
 * A file that cannot be hashed answers `unreadable`, with e saying why:
 * REG_OK for reads (the stored version stands), REG_INVALID before a run. */
static enum reg_status
refresh(struct db *db, struct script *s, struct verr *e,
    enum reg_status unreadable)
{
	char v[VERSION_LEN];

	if (version_compute(s, v, NULL, e) == -1)
		return unreadable;
	if (strcmp(v, s->version) == 0)
		return REG_OK;
	return record_version(db, s, v);
}

enum reg_status
registry_load(struct db *db, long long id, const char *name, struct script *s)
{
	int found;

	memset(s, 0, sizeof(*s));
	if ((name != NULL ? store_script_get_by_name(db, name, s, &found) :
	    store_script_get(db, id, 0, s, &found)) == -1)
		return REG_DB;
	return found ? REG_OK : REG_NOT_FOUND;
}

void
registry_memo_free(struct script_memo *m)
{
	for (int i = 0; i < SCRIPT_MEMO_SLOTS; i++)
		script_free(&m->s[i]);
	memset(m, 0, sizeof(*m));
}

int
registry_memo_get_rev(struct script_memo *m, long long id,
    const char *updated_at, struct script *s)
{
	for (int i = 0; i < SCRIPT_MEMO_SLOTS; i++)
		if (m->s[i].id == id &&
		    strcmp(m->s[i].updated_at, updated_at) == 0) {
			script_dup(&m->s[i], s);
			m->at[i] = clock_mono_ms();
			return 0;
		}
	return -1;
}

int
registry_memo_get_fresh(struct script_memo *m, long long id,
    const char *name, uint32_t gen, struct script *s)
{
	double now = clock_mono_ms();

	for (int i = 0; i < SCRIPT_MEMO_SLOTS; i++) {
		const struct script *c = &m->s[i];
		if (c->id == 0 || m->gen[i] != gen ||
		    now - m->at[i] >= SCRIPT_MEMO_MS)
			continue;
		if (name != NULL ? strcmp(c->name, name) == 0 : c->id == id) {
			script_dup(c, s);
			return 0;
		}
	}
	return -1;
}

void
registry_memo_put(struct script_memo *m, const struct script *s,
    uint32_t gen)
{
	int slot = 0;

	/* The same script's older entry, else the least recently used. */
	for (int i = 0; i < SCRIPT_MEMO_SLOTS; i++) {
		if (m->s[i].id == s->id) {
			slot = i;
			break;
		}
		if (m->at[i] < m->at[slot])
			slot = i;
	}
	script_free(&m->s[slot]);
	script_dup(s, &m->s[slot]);
	m->at[slot] = clock_mono_ms();
	m->gen[slot] = gen;
}

void
registry_changed(struct shm *shm)
{
	if (shm != NULL)
		atomic_fetch_add(&shm->script_gen, 1);
}

enum reg_status
registry_load_for_submit(struct db *db, struct script_memo *memo,
    uint32_t gen, long long id, const char *name, int max_queued,
    struct script *s, int *queue_full)
{
	int found;

	memset(s, 0, sizeof(*s));
	if (memo != NULL &&
	    registry_memo_get_fresh(memo, id, name, gen, s) == 0) {
		*queue_full = -1;
		return REG_OK;
	}
	if (store_script_get_probe(db, id, name, max_queued, s, &found,
	    queue_full) == -1)
		return REG_DB;
	if (!found)
		return REG_NOT_FOUND;
	if (memo != NULL)
		registry_memo_put(memo, s, gen);
	return REG_OK;
}

enum reg_status
registry_get(struct db *db, const struct conf *c, long long id,
    struct script *s, struct verr *e)
{
	enum reg_status rs;

	(void)c;
	verr_clear(e);
	rs = registry_load(db, id, NULL, s);
	return rs == REG_OK ? refresh(db, s, e, REG_OK) : rs;
}

enum reg_status
registry_get_by_name(struct db *db, const struct conf *c, const char *name,
    struct script *s, struct verr *e)
{
	enum reg_status rs;

	(void)c;
	verr_clear(e);
	rs = registry_load(db, 0, name, s);
	return rs == REG_OK ? refresh(db, s, e, REG_OK) : rs;
}

enum reg_status
registry_refresh_version(struct db *db, const struct conf *c,
    struct script *s, struct version_memo *vm, struct verr *e)
{
	char v[VERSION_LEN];

	if (version_of_file(c, s, vm, v, e) == -1)
		return REG_INVALID;
	if (strcmp(v, s->version) == 0)
		return REG_OK;
	return record_version(db, s, v);
}

static int
filter_check(const struct script_filter *f, struct verr *e)
{
	if (f->type != NULL && !script_type_valid(f->type)) {
		verr_set(e, "type", "type must be shell, python or binary");
		return -1;
	}
	return 0;
}

enum reg_status
registry_list(struct db *db, const struct script_filter *f,
    void (*fn)(void *arg, const struct script *s), void *arg,
    struct verr *e)
{
	struct buf like = BUF_INIT;
	enum reg_status rs = REG_OK;

	verr_clear(e);
	if (filter_check(f, e) == -1)
		return REG_INVALID;
	if (f->q != NULL && *f->q != '\0') {
		/* '!' escapes LIKE's wildcards and itself. */
		buf_addc(&like, '%');
		for (const char *p = f->q; *p != '\0'; p++) {
			if (*p == '%' || *p == '_' || *p == '!')
				buf_addc(&like, '!');
			buf_addc(&like, *p);
		}
		buf_addc(&like, '%');
	}
	if (store_script_list(db, f->type, f->enabled,
	    like.len > 0 ? buf_str(&like) : NULL, fn, arg) == -1)
		rs = REG_DB;
	buf_free(&like);
	return rs;
}

struct with_last {
	const struct dbres *last;   /* newest execution per script, by id */
	void (*fn)(void *arg, const struct script *s,
	    const struct dbres *last, size_t i);
	void *arg;
};

/* Finds the script's row in `last` by binary search (the rows are
 * ordered by script id, the scripts by name). */
static void
with_last_one(void *arg, const struct script *s)
{
	struct with_last *wl = arg;
	size_t lo = 0, hi = wl->last->nrows;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (strtoll(dbres_get(wl->last, mid, EC_SCRIPT_ID), NULL,
		    10) < s->id)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo < wl->last->nrows && strtoll(dbres_get(wl->last, lo,
	    EC_SCRIPT_ID), NULL, 10) == s->id)
		wl->fn(wl->arg, s, wl->last, lo);
	else
		wl->fn(wl->arg, s, NULL, 0);
}

enum reg_status
registry_list_with_last(struct db *db, const struct script_filter *f,
    void (*fn)(void *arg, const struct script *s, const struct dbres *last,
    size_t i), void *arg, struct verr *e)
{
	struct dbres last = { 0, 0, NULL, NULL };
	struct with_last wl = { &last, fn, arg };
	enum reg_status rs;

	verr_clear(e);
	if (filter_check(f, e) == -1)
		return REG_INVALID;
	if (store_execution_last_per_script(db, &last) == -1)
		rs = REG_DB;
	else
		rs = registry_list(db, f, with_last_one, &wl, e);
	dbres_free(&last);
	return rs;
}

enum reg_status
registry_versions(struct db *db, long long id,
    void (*fn)(void *arg, const char *version, const char *recorded_at),
    void *arg)
{
	struct script s;
	int found;

	if (store_script_get(db, id, 0, &s, &found) == -1)
		return REG_DB;
	if (!found)
		return REG_NOT_FOUND;
	script_free(&s);
	return store_script_versions(db, id, fn, arg) == -1 ? REG_DB : REG_OK;
}

/* ------------------------------------------------------------------ */
/* Writes.                                                              */

static enum reg_status
write_failed(struct db *db, const struct script *s, struct verr *e)
{
	if (db_error(db) == DB_EDUPLICATE) {
		verr_set(e, "name", "a script named \"%s\" already exists",
		    s->name);
		return REG_CONFLICT;
	}
	return REG_DB;
}

static enum reg_status
registry_create_once(struct db *db, const struct conf *c, void *magic,
    struct shm *shm, yajl_val body, const char *actor,
    int (*in_tx)(void *arg, struct db *db, long long id), void *arg,
    struct script *out, struct verr *e, struct verr_list *all)
{
	struct verr_list mine = VERR_LIST_INIT;
	struct script s;
	unsigned changed;
	long long id;
	int found;
	enum reg_status rs = REG_INVALID;

	verr_clear(e);
	memset(out, 0, sizeof(*out));
	memset(&s, 0, sizeof(s));
	scriptfields_defaults(c, &s);
	if (scriptfields_validate(c, magic, body, &s, 1, &changed, e,
	    all != NULL ? all : &mine) == -1)
		goto out;
	if (version_compute(&s, s.version, NULL, e) == -1)
		goto out;

	rs = REG_DB;
	if (db_tx_begin(db) == -1)
		goto out;
	if (store_script_insert(db, &s, &id) == -1 ||
	    store_script_version_add(db, id, s.version) == -1 ||
	    store_audit(db, actor, "script.create", "script", id,
	    s.name) == -1 || (in_tx != NULL && in_tx(arg, db, id) == -1)) {
		rs = write_failed(db, &s, e);
		db_tx_rollback(db);
		goto out;
	}
	if (db_tx_commit(db) == -1)
		goto out;
	registry_changed(shm);
	log_info("script \"%s\" (%lld) registered by \"%s\"", s.name, id,
	    actor);
	if (store_script_get(db, id, 0, out, &found) == -1)
		goto out;
	rs = found ? REG_OK : REG_NOT_FOUND;
out:
	verr_list_free(&mine);
	script_free(&s);
	return rs;
}

static enum reg_status
registry_update_once(struct db *db, const struct conf *c, void *magic,
    struct shm *shm, long long id, yajl_val patch, const char *actor,
    struct script *out, struct verr *e, struct verr_list *all)
{
	struct verr_list mine = VERR_LIST_INIT;
	struct script s;
	struct buf detail = BUF_INIT;
	char oldv[VERSION_LEN], newv[VERSION_LEN];
	unsigned changed;
	int found;
	enum reg_status rs = REG_DB;

	verr_clear(e);
	memset(out, 0, sizeof(*out));
	memset(&s, 0, sizeof(s));
	if (!YAJL_IS_OBJECT(patch)) {
		verr_set(e, NULL, "the changes must be a JSON object");
		return REG_INVALID;
	}
	/* The row stays locked from the read to the write: two PATCHes of
	 * one script apply one after the other, never half each. */
	if (db_tx_begin(db) == -1)
		return REG_DB;
	if (store_script_get(db, id, 1, &s, &found) == -1)
		goto fail;
	if (!found) {
		rs = REG_NOT_FOUND;
		goto fail;
	}
	snprintf(oldv, sizeof(oldv), "%s", s.version);
	rs = REG_INVALID;
	if (scriptfields_validate(c, magic, patch, &s, 0, &changed, e,
	    all != NULL ? all : &mine) == -1)
		goto fail;
	/* A file that cannot be read now keeps its version (the PATCH may
	 * be the one disabling it); a new path was checked just above. */
	if (version_compute(&s, newv, NULL, NULL) == 0)
		snprintf(s.version, sizeof(s.version), "%s", newv);
	scriptfields_names(changed, &detail);
	if (store_script_update(db, &s) == -1 ||
	    (strcmp(oldv, s.version) != 0 &&
	    store_script_version_add(db, id, s.version) == -1) ||
	    store_audit(db, actor, "script.update", "script", id,
	    buf_str(&detail)) == -1) {
		rs = write_failed(db, &s, e);
		goto fail;
	}
	if (db_tx_commit(db) == -1) {
		rs = REG_DB;
		goto out;
	}
	registry_changed(shm);
	log_info("script \"%s\" (%lld) updated by \"%s\": %s", s.name, id,
	    actor, detail.len ? buf_str(&detail) : "nothing");
	rs = REG_DB;
	if (store_script_get(db, id, 0, out, &found) == -1)
		goto out;
	rs = found ? REG_OK : REG_NOT_FOUND;
	goto out;
fail:
	db_tx_rollback(db);
out:
	verr_list_free(&mine);
	buf_free(&detail);
	script_free(&s);
	return rs;
}

static enum reg_status
registry_delete_once(struct db *db, struct shm *shm, long long id,
    const char *actor)
{
	struct script s;
	struct buf detail = BUF_INIT;
	long long canceled = 0;
	int found;
	enum reg_status rs = REG_DB;

	memset(&s, 0, sizeof(s));
	if (db_tx_begin(db) == -1)
		return REG_DB;
	if (store_script_get(db, id, 1, &s, &found) == -1)
		goto fail;
	if (!found) {
		rs = REG_NOT_FOUND;
		goto fail;
	}
	if (store_script_delete(db, id, &found, &canceled) == -1)
		goto fail;
	buf_printf(&detail, "%s", s.name);
	if (canceled > 0)
		buf_printf(&detail, " (%lld queued execution%s canceled)",
		    canceled, canceled == 1 ? "" : "s");
	if (store_audit(db, actor, "script.delete", "script", id,
	    buf_str(&detail)) == -1)
		goto fail;
	if (db_tx_commit(db) == -1)
		goto out;
	registry_changed(shm);
	/* Canceled ones with a callback_url got their deliveries with the
	 * cancel (sql/013_callbacks.sql). */
	if (canceled > 0)
		sender_notify(shm);
	log_info("script \"%s\" (%lld) deleted by \"%s\"%s", s.name, id, actor,
	    canceled > 0 ? "; its queued executions were canceled" : "");
	rs = REG_OK;
	goto out;
fail:
	db_tx_rollback(db);
out:
	buf_free(&detail);
	script_free(&s);
	return rs;
}

enum reg_status
registry_create_with(struct db *db, const struct conf *c, void *magic,
    struct shm *shm, yajl_val body, const char *actor,
    int (*in_tx)(void *arg, struct db *db, long long id), void *arg,
    struct script *out, struct verr *e, struct verr_list *all)
{
	enum reg_status rs;
	int tries = 0;

	while (tx_lost(db, rs = registry_create_once(db, c, magic, shm, body,
	    actor, in_tx, arg, out, e, all), &tries))
		;
	return rs;
}

enum reg_status
registry_create(struct db *db, const struct conf *c, void *magic,
    struct shm *shm, yajl_val body, const char *actor, struct script *out,
    struct verr *e, struct verr_list *all)
{
	return registry_create_with(db, c, magic, shm, body, actor, NULL, NULL,
	    out, e, all);
}

enum reg_status
registry_update(struct db *db, const struct conf *c, void *magic,
    struct shm *shm, long long id, yajl_val patch, const char *actor,
    struct script *out, struct verr *e, struct verr_list *all)
{
	enum reg_status rs;
	int tries = 0;

	while (tx_lost(db, rs = registry_update_once(db, c, magic, shm, id,
	    patch, actor, out, e, all), &tries))
		;
	return rs;
}

enum reg_status
registry_delete(struct db *db, struct shm *shm, long long id,
    const char *actor)
{
	enum reg_status rs;
	int tries = 0;

	while (tx_lost(db, rs = registry_delete_once(db, shm, id, actor),
	    &tries))
		;
	return rs;
}
