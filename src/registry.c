/*
 * registry.c - the script registry: what a script may be, its version,
 * and the writes that change it. The API (api_scripts.c) and the admin CLI
 * (cli.c) both come through here, so a rule exists once.
 *
 * A create or an update is: apply the fields of the JSON object to a
 * struct script (defaults, or the stored row), each checked on its own;
 * then the rules that span fields (requirements only for python,
 * {output_file} only with outputs.file, the file itself when path or type
 * changed); then the version of the result; then one transaction that
 * writes the row, the history and the audit record.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "argtpl.h"
#include "buf.h"
#include "clock.h"
#include "conf.h"
#include "db.h"
#include "inputenv.h"
#include "json.h"
#include "log.h"
#include "names.h"
#include "registry.h"
#include "reqs.h"
#include "schema.h"
#include "scriptfile.h"
#include "shm.h"
#include "store.h"
#include "versions.h"

/* What fits the TEXT columns (description, requirements, args, outputs,
 * env); inputs is MEDIUMTEXT, bounded by the request body limit. */
#define TEXT_MAX 65535
#define OUTPUT_FILE_MAX 1024
#define MAX_CONCURRENCY_MAX 1000000

/* strdup that keeps NULL. */
static char *
xstrdup_opt(const char *s)
{
	return s != NULL ? xstrdup(s) : NULL;
}


static void
set_str(char **dst, const char *src)
{
	free(*dst);
	*dst = xstrdup_opt(src);
}

/* Replaces *dst with the compact JSON text of v. */
static void
set_json(char **dst, yajl_val v)
{
	struct buf b = BUF_INIT;

	json_dump(&b, v);
	free(*dst);
	*dst = buf_detach(&b, NULL);
}

/* ------------------------------------------------------------------ */
/* Fields.                                                              */

enum field {
	F_NAME, F_TYPE, F_PATH, F_DESCRIPTION, F_ENABLED, F_REQUIREMENTS,
	F_ARGS, F_INPUT_MODE, F_INPUTS, F_OUTPUTS, F_ENV, F_TIMEOUT,
	F_MAX_CONCURRENCY, F_COUNT
};

static const char *const field_names[F_COUNT] = {
	"name", "type", "path", "description", "enabled", "requirements",
	"args", "input_mode", "inputs", "outputs", "env", "timeout_s",
	"max_concurrency",
};

/* In the script object, but only the server writes them. */
static const char *const readonly_names[] = {
	"id", "version", "created_at", "updated_at", "venv", NULL,
};

#define BIT(f) (1u << (f))

static int
is_int(yajl_val v)
{
	return YAJL_IS_INTEGER(v) && schema_is_integer(v);
}

/* A relative path inside the work dir: no "", "." or ".." segment. */
static int
check_output_file(const char *f, struct verr *e)
{
	const char *p = f, *seg;
	size_t n;

	if (*f == '\0' || strlen(f) > OUTPUT_FILE_MAX) {
		verr_set(e, "outputs.file", "outputs.file must be a relative "
		    "path of 1 to %d bytes", OUTPUT_FILE_MAX);
		return -1;
	}
	if (*f == '/') {
		verr_set(e, "outputs.file", "outputs.file must be relative to "
		    "the work dir, not absolute");
		return -1;
	}
	for (;;) {
		seg = p;
		n = strcspn(seg, "/");
		if (n == 0 || (n == 1 && seg[0] == '.') ||
		    (n == 2 && seg[0] == '.' && seg[1] == '.')) {
			verr_set(e, "outputs.file", "outputs.file must be a "
			    "normalized relative path (no \".\" or \"..\" "
			    "segments, no \"//\", no trailing \"/\")");
			return -1;
		}
		if (seg[n] == '\0')
			return 0;
		p = seg + n + 1;
	}
}

/* Checks outputs and writes its stored form: stdout always present. */
static int
check_outputs(yajl_val v, struct buf *out, struct verr *e)
{
	const char *stdout_mode = "text", *file = NULL;
	struct jw w;

	if (!YAJL_IS_OBJECT(v)) {
		verr_set(e, "outputs", "outputs must be an object such as "
		    "{\"stdout\": \"json\", \"file\": \"result.png\"}");
		return -1;
	}
	for (size_t i = 0; i < v->u.object.len; i++) {
		const char *k = v->u.object.keys[i];
		yajl_val x = v->u.object.values[i];

		for (size_t j = 0; j < i; j++)
			if (strcmp(v->u.object.keys[j], k) == 0) {
				verr_set(e, "outputs", "outputs names \"%s\" "
				    "twice", k);
				return -1;
			}
		if (strcmp(k, "stdout") == 0) {
			if (!YAJL_IS_STRING(x) || (strcmp(x->u.string, "text") &&
			    strcmp(x->u.string, "json"))) {
				verr_set(e, "outputs.stdout", "outputs.stdout "
				    "must be \"text\" or \"json\"");
				return -1;
			}
			stdout_mode = x->u.string;
		} else if (strcmp(k, "file") == 0) {
			if (!YAJL_IS_STRING(x)) {
				verr_set(e, "outputs.file", "outputs.file must "
				    "be a string");
				return -1;
			}
			if (check_output_file(x->u.string, e) == -1)
				return -1;
			file = x->u.string;
		} else {
			struct buf f = BUF_INIT;
			buf_adds(&f, "outputs");
			schema_path_key(&f, k);
			verr_set(e, buf_str(&f), "unknown output \"%s\": outputs "
			    "has only stdout and file", k);
			buf_free(&f);
			return -1;
		}
	}
	jw_init(&w, out);
	jw_obj(&w);
	jw_key(&w, "stdout");
	jw_str(&w, stdout_mode);
	if (file != NULL) {
		jw_key(&w, "file");
		jw_str(&w, file);
	}
	jw_obj_end(&w);
	jw_free(&w);
	return 0;
}

static int
check_text(yajl_val v, const char *field, struct verr *e)
{
	if (!YAJL_IS_STRING(v)) {
		verr_set(e, field, "%s must be a string", field);
		return -1;
	}
	if (strlen(v->u.string) > TEXT_MAX) {
		verr_set(e, field, "%s must be at most %d bytes", field,
		    TEXT_MAX);
		return -1;
	}
	return 0;
}

/* Sets one field of `s` from `v`; JSON null restores an optional field's
 * default. */

/*
 * A field holding JSON (args, env): null puts back `def`; otherwise the
 * value must be an array (want_array) or an object, pass `check`, and its
 * compact text must fit the column.
 */
static int
set_checked_json(char **dst, yajl_val v, int null, const char *name,
    const char *def, int want_array, const char *kind,
    int (*check)(yajl_val, struct verr *), struct verr *e)
{
	if (null) {
		set_str(dst, def);
		return 0;
	}
	if (want_array ? !YAJL_IS_ARRAY(v) : !YAJL_IS_OBJECT(v)) {
		verr_set(e, name, "%s must be %s", name, kind);
		return -1;
	}
	if (check(v, e) == -1)
		return -1;
	set_json(dst, v);
	if (strlen(*dst) > TEXT_MAX) {
		verr_set(e, name, "%s must be at most %d bytes as JSON", name,
		    TEXT_MAX);
		return -1;
	}
	return 0;
}

static int
apply_one(const struct conf *c, enum field f, yajl_val v, struct script *s,
    struct verr *e)
{
	struct buf b = BUF_INIT;
	const char *name = field_names[f];
	int null = v == NULL || YAJL_IS_NULL(v);

	switch (f) {
	case F_NAME:
		if (!YAJL_IS_STRING(v)) {
			verr_set(e, name, "name must be a string");
			return -1;
		}
		if (names_check_script(v->u.string, e) == -1)
			return -1;
		snprintf(s->name, sizeof(s->name), "%s", v->u.string);
		return 0;
	case F_TYPE:
		if (!YAJL_IS_STRING(v) || !script_type_valid(v->u.string)) {
			verr_set(e, name, "type must be shell, python or "
			    "binary");
			return -1;
		}
		snprintf(s->type, sizeof(s->type), "%s", v->u.string);
		return 0;
	case F_PATH:
		if (!YAJL_IS_STRING(v)) {
			verr_set(e, name, "path must be a string");
			return -1;
		}
		set_str(&s->path, v->u.string);
		return 0;
	case F_DESCRIPTION:
		if (!null && check_text(v, name, e) == -1)
			return -1;
		set_str(&s->description, null ? "" : v->u.string);
		return 0;
	case F_ENABLED:
		if (!YAJL_IS_TRUE(v) && !YAJL_IS_FALSE(v)) {
			verr_set(e, name, "enabled must be true or false");
			return -1;
		}
		s->enabled = YAJL_IS_TRUE(v);
		return 0;
	case F_REQUIREMENTS:
		/* Checked against the type once every field is applied. */
		if (!null && check_text(v, name, e) == -1)
			return -1;
		set_str(&s->requirements, null ? NULL : v->u.string);
		return 0;
	case F_ARGS:
		return set_checked_json(&s->args_json, v, null, name, "[]", 1,
		    "an array of strings", argtpl_check, e);
	case F_INPUT_MODE:
		if (null) {
			snprintf(s->input_mode, sizeof(s->input_mode), "both");
			return 0;
		}
		if (!YAJL_IS_STRING(v) || (strcmp(v->u.string, "env") &&
		    strcmp(v->u.string, "stdin") && strcmp(v->u.string, "both"))) {
			verr_set(e, name, "input_mode must be env, stdin or "
			    "both");
			return -1;
		}
		snprintf(s->input_mode, sizeof(s->input_mode), "%s",
		    v->u.string);
		return 0;
	case F_INPUTS:
		if (null) {
			set_str(&s->inputs_json, NULL);
			return 0;
		}
		if (schema_check(v, e) == -1)
			return -1;
		set_json(&s->inputs_json, v);
		return 0;
	case F_OUTPUTS:
		if (null) {
			set_str(&s->outputs_json, "{\"stdout\":\"text\"}");
			return 0;
		}
		if (check_outputs(v, &b, e) == -1) {
			buf_free(&b);
			return -1;
		}
		free(s->outputs_json);
		s->outputs_json = buf_detach(&b, NULL);
		return 0;
	case F_ENV:
		return set_checked_json(&s->env_json, v, null, name, "{}", 0,
		    "an object of strings", inputenv_check_script_env, e);
	case F_TIMEOUT:
		if (null) {
			s->timeout_s = c->default_timeout_s;
			return 0;
		}
		if (!is_int(v) || v->u.number.i < 1 ||
		    v->u.number.i > c->max_timeout_s) {
			verr_set(e, name, "timeout_s must be an integer from 1 "
			    "to %d", c->max_timeout_s);
			return -1;
		}
		s->timeout_s = (int)v->u.number.i;
		return 0;
	case F_MAX_CONCURRENCY:
		if (null) {
			s->max_concurrency = 0;
			return 0;
		}
		if (!is_int(v) || v->u.number.i < 1 ||
		    v->u.number.i > MAX_CONCURRENCY_MAX) {
			verr_set(e, name, "max_concurrency must be null (no "
			    "limit) or an integer from 1 to %d",
			    MAX_CONCURRENCY_MAX);
			return -1;
		}
		s->max_concurrency = (int)v->u.number.i;
		return 0;
	case F_COUNT:
		break;
	}
	return -1;
}

/* Applies every member of `body`; *changed gets a bit per field given. */
static int
apply_fields(const struct conf *c, yajl_val body, struct script *s,
    unsigned *changed, struct verr *e)
{
	*changed = 0;
	if (!YAJL_IS_OBJECT(body)) {
		verr_set(e, NULL, "the script must be a JSON object");
		return -1;
	}
	for (size_t i = 0; i < body->u.object.len; i++) {
		const char *k = body->u.object.keys[i];
		int f;

		for (size_t j = 0; j < i; j++)
			if (strcmp(body->u.object.keys[j], k) == 0) {
				verr_set(e, k, "field \"%s\" is given twice", k);
				return -1;
			}
		for (int j = 0; readonly_names[j] != NULL; j++)
			if (strcmp(readonly_names[j], k) == 0) {
				verr_set(e, k, "%s is read-only", k);
				return -1;
			}
		for (f = 0; f < F_COUNT; f++)
			if (strcmp(field_names[f], k) == 0)
				break;
		if (f == F_COUNT) {
			verr_set(e, k, "unknown field \"%s\"", k);
			return -1;
		}
		if (apply_one(c, (enum field)f, body->u.object.values[i], s,
		    e) == -1)
			return -1;
		*changed |= BIT(f);
	}
	return 0;
}

/*
 * The rules that span fields, on the merged result. The file is looked at
 * only when path or type is new: a PATCH that disables a script whose file
 * went bad must still work.
 */
static int
check_merged(const struct conf *c, void *magic, const struct script *s,
    unsigned changed, struct verr *e)
{
	yajl_val args = NULL, outputs = NULL;
	struct buf reqs = BUF_INIT;
	int rc = -1;

	if (strcmp(s->type, "python") != 0 && s->requirements != NULL) {
		verr_set(e, "requirements", "requirements are only for python "
		    "scripts (this one is %s)", s->type);
		goto out;
	}
	if (s->requirements != NULL &&
	    reqs_normalize(s->requirements, &reqs, e) == -1)
		goto out;
	args = json_parse(s->args_json, strlen(s->args_json), NULL, 0);
	outputs = json_parse(s->outputs_json, strlen(s->outputs_json), NULL, 0);
	if (argtpl_check_input(args, NULL, json_get(outputs, "file") != NULL,
	    e) == -1)
		goto out;
	if ((changed & (BIT(F_PATH) | BIT(F_TYPE))) &&
	    scriptfile_check(c, magic, s->type, s->path, 1, NULL, e) == -1)
		goto out;
	rc = 0;
out:
	yajl_tree_free(args);
	yajl_tree_free(outputs);
	buf_free(&reqs);
	return rc;
}

static void
changed_text(unsigned changed, struct buf *out)
{
	for (int f = 0; f < F_COUNT; f++)
		if (changed & BIT(f)) {
			if (out->len > 0)
				buf_adds(out, ",");
			buf_adds(out, field_names[f]);
		}
}

/* ------------------------------------------------------------------ */
/* Reads.                                                               */

/* Records a new version: the row's version moves from s->version to
 * newv, and the history gets it, once (store_script_set_version). */
static enum reg_status
record_version(struct db *db, struct script *s, const char *newv)
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

enum reg_status
registry_list(struct db *db, const struct script_filter *f,
    void (*fn)(void *arg, const struct script *s), void *arg,
    struct verr *e)
{
	struct buf like = BUF_INIT;
	enum reg_status rs = REG_OK;

	verr_clear(e);
	if (f->type != NULL && !script_type_valid(f->type)) {
		verr_set(e, "type", "type must be shell, python or binary");
		return REG_INVALID;
	}
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

enum reg_status
registry_create(struct db *db, const struct conf *c, void *magic,
    yajl_val body, const char *actor, struct script *out, struct verr *e)
{
	struct script s;
	unsigned changed;
	long long id;
	int found;
	enum reg_status rs = REG_INVALID;

	verr_clear(e);
	memset(out, 0, sizeof(*out));
	memset(&s, 0, sizeof(s));
	s.enabled = 1;
	s.description = xstrdup("");
	s.args_json = xstrdup("[]");
	snprintf(s.input_mode, sizeof(s.input_mode), "both");
	s.outputs_json = xstrdup("{\"stdout\":\"text\"}");
	s.env_json = xstrdup("{}");
	s.timeout_s = c->default_timeout_s;

	if (apply_fields(c, body, &s, &changed, e) == -1)
		goto out;
	for (int f = F_NAME; f <= F_PATH; f++)
		if (!(changed & BIT(f))) {
			verr_set(e, field_names[f], "%s is required",
			    field_names[f]);
			goto out;
		}
	if (check_merged(c, magic, &s, changed, e) == -1)
		goto out;
	if (version_compute(&s, s.version, NULL, e) == -1)
		goto out;

	rs = REG_DB;
	if (db_tx_begin(db) == -1)
		goto out;
	if (store_script_insert(db, &s, &id) == -1 ||
	    store_script_version_add(db, id, s.version) == -1 ||
	    store_audit(db, actor, "script.create", "script", id,
	    s.name) == -1) {
		rs = write_failed(db, &s, e);
		db_tx_rollback(db);
		goto out;
	}
	if (db_tx_commit(db) == -1)
		goto out;
	log_info("script \"%s\" (%lld) registered by \"%s\"", s.name, id,
	    actor);
	if (store_script_get(db, id, 0, out, &found) == -1)
		goto out;
	rs = found ? REG_OK : REG_NOT_FOUND;
out:
	script_free(&s);
	return rs;
}

enum reg_status
registry_update(struct db *db, const struct conf *c, void *magic,
    long long id, yajl_val patch, const char *actor, struct script *out,
    struct verr *e)
{
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
	if (apply_fields(c, patch, &s, &changed, e) == -1 ||
	    check_merged(c, magic, &s, changed, e) == -1)
		goto fail;
	/* A file that cannot be read now keeps its version (the PATCH may
	 * be the one disabling it); a new path was checked just above. */
	if (version_compute(&s, newv, NULL, NULL) == 0)
		snprintf(s.version, sizeof(s.version), "%s", newv);
	changed_text(changed, &detail);
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
	buf_free(&detail);
	script_free(&s);
	return rs;
}

enum reg_status
registry_delete(struct db *db, long long id, const char *actor)
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
