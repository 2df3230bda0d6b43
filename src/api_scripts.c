/*
 * api_scripts.c - /api/v1/admin/scripts: the registry over HTTP. Every
 * rule lives in registry.c; this file maps its outcomes to the contract's
 * statuses and renders the objects.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "api.h"
#include "execution.h"
#include "json.h"
#include "registry.h"
#include "runlimits.h"
#include "scriptfile.h"
#include "venv.h"

/* Answers for a registry call that did not succeed; `all` (may be NULL)
 * is every invalid field of a create or an update. */
static void
reg_failure(struct request *r, enum reg_status rs, const struct verr *e,
    const struct verr_list *all, long long id)
{
	const char *field = e != NULL && e->field[0] != '\0' ? e->field : NULL;

	switch (rs) {
	case REG_INVALID:
		if (e != NULL) {
			api_invalid(r, e, all);
			break;
		}
		resp_error(r, 422, "validation_failed", NULL, "invalid script");
		break;
	case REG_CONFLICT:
		resp_error(r, 409, "conflict", field, "%s",
		    e != NULL && e->message[0] ? e->message : "conflict");
		break;
	case REG_NOT_FOUND:
		resp_error(r, 404, "not_found", NULL, "no script with id %lld",
		    id);
		break;
	case REG_DB:
	case REG_OK:
		api_db_failure(r, r->ctx->db);
		break;
	}
}

/* What the caller may see of a script's env values (script.h): an admin
 * sees them, operators and viewers see "***". */
static enum script_view
view_of(const struct request *r)
{
	return r->role == ROLE_ADMIN ? SCRIPT_VIEW_ADMIN : SCRIPT_VIEW_MASKED;
}

static void answer_script(struct request *r, int status,
    const struct script *s, int with_venv);

/* The single-script view: the object, "effective_limits" (its limits
 * over this node's configured defaults, within the maxima: runlimits.h),
 * plus "venv" for python scripts (venv_write_for_script: its venv's key,
 * status and id). */
void
api_script_answer(struct request *r, int status, const struct script *s)
{
	answer_script(r, status, s, 1);
}

static void
answer_script(struct request *r, int status, const struct script *s,
    int with_venv)
{
	struct buf out = BUF_INIT;
	struct run_limits eff;
	struct jw w;

	jw_init(&w, &out);
	jw_obj(&w);
	script_write_members_view(&w, s, view_of(r));
	limits_effective(r->ctx->conf, s->limits_json, &eff);
	jw_key(&w, "effective_limits");
	limits_write(&w, &eff);
	if (with_venv && strcmp(s->type, "python") == 0) {
		jw_key(&w, "venv");
		venv_write_for_script(&w, r->ctx->db, r->ctx->conf, s);
	}
	jw_obj_end(&w);
	jw_free(&w);
	resp_json(r, status, &out);
	buf_free(&out);
}

/* Each listed script carries "last_execution" (null if never run), so a
 * list view needs no request per script. */
struct list_ctx {
	struct jw *w;
	enum script_view view;
};

static void
list_one(void *arg, const struct script *s, const struct dbres *last,
    size_t i)
{
	struct list_ctx *lc = arg;
	struct jw *w = lc->w;

	jw_obj(w);
	script_write_members_view(w, s, lc->view);
	jw_key(w, "last_execution");
	if (last != NULL)
		execution_write_json(w, last, i, 0);
	else
		jw_null(w);
	jw_obj_end(w);
}

void
api_scripts_list(struct request *r)
{
	struct buf tq = BUF_INIT, eq = BUF_INIT, qq = BUF_INIT, out = BUF_INIT;
	struct script_filter f = { NULL, -1, NULL };
	struct jw w;
	struct list_ctx lc = { &w, view_of(r) };
	const char *en;
	struct verr e;
	enum reg_status rs;

	verr_clear(&e);
	f.type = req_query(r, "type", &tq);
	if (f.type != NULL && *f.type == '\0')
		f.type = NULL;
	en = req_query(r, "enabled", &eq);
	if (en != NULL && *en != '\0') {
		if (strcmp(en, "true") == 0 || strcmp(en, "1") == 0)
			f.enabled = 1;
		else if (strcmp(en, "false") == 0 || strcmp(en, "0") == 0)
			f.enabled = 0;
		else {
			resp_error(r, 422, "validation_failed", "enabled",
			    "enabled must be true or false");
			goto out;
		}
	}
	f.q = req_query(r, "q", &qq);
	if (f.q != NULL && strlen(f.q) > 256) {
		resp_error(r, 422, "validation_failed", "q",
		    "q must be at most 256 bytes");
		goto out;
	}
	api_list_open(&w, &out, "scripts");
	rs = registry_list_with_last(r->ctx->db, &f, list_one, &lc, &e);
	if (rs != REG_OK) {
		api_list_drop(&w, &out);
		reg_failure(r, rs, &e, NULL, 0);
		goto out;
	}
	api_list_send(r, &w, &out);
out:
	buf_free(&tq);
	buf_free(&eq);
	buf_free(&qq);
	buf_free(&out);
}

void
api_scripts_create(struct request *r)
{
	struct script s;
	struct verr e;
	struct verr_list all = VERR_LIST_INIT;
	yajl_val body;
	enum reg_status rs;

	if ((body = api_body_object(r)) == NULL)
		return;
	rs = registry_create(r->ctx->db, r->ctx->conf, r->ctx->magic,
	    r->ctx->shm, body, r->token_name, &s, &e, &all);
	if (rs == REG_OK) {
		char loc[64];
		snprintf(loc, sizeof(loc), "/api/v1/admin/scripts/%lld", s.id);
		req_add_header(r, "Location", loc);
		answer_script(r, 201, &s, 1);
	} else {
		reg_failure(r, rs, &e, &all, 0);
	}
	verr_list_free(&all);
	script_free(&s);
	yajl_tree_free(body);
}

void
api_scripts_get(struct request *r)
{
	unsigned long long id = api_param_id(r, 0, "script");
	struct script s;
	struct verr e;
	enum reg_status rs;

	if (id == 0)
		return;
	rs = registry_get(r->ctx->db, r->ctx->conf, (long long)id, &s, &e);
	if (rs == REG_OK)
		answer_script(r, 200, &s, 1);
	else
		reg_failure(r, rs, &e, NULL, (long long)id);
	script_free(&s);
}

void
api_scripts_update(struct request *r)
{
	unsigned long long id = api_param_id(r, 0, "script");
	struct script s;
	struct verr e;
	struct verr_list all = VERR_LIST_INIT;
	yajl_val body;
	enum reg_status rs;

	if (id == 0)
		return;
	if ((body = api_body_object(r)) == NULL)
		return;
	rs = registry_update(r->ctx->db, r->ctx->conf, r->ctx->magic,
	    r->ctx->shm, (long long)id, body, r->token_name, &s, &e, &all);
	if (rs == REG_OK)
		answer_script(r, 200, &s, 1);
	else
		reg_failure(r, rs, &e, &all, (long long)id);
	verr_list_free(&all);
	script_free(&s);
	yajl_tree_free(body);
}

void
api_scripts_delete(struct request *r)
{
	unsigned long long id = api_param_id(r, 0, "script");
	enum reg_status rs;

	if (id == 0)
		return;
	rs = registry_delete(r->ctx->db, r->ctx->shm, (long long)id,
	    r->token_name);
	if (rs == REG_OK)
		resp_empty(r);
	else
		reg_failure(r, rs, NULL, NULL, (long long)id);
}

static void
version_one(void *arg, const char *version, const char *recorded_at)
{
	struct jw *w = arg;

	jw_obj(w);
	jw_key(w, "version");
	jw_str(w, version);
	jw_key(w, "recorded_at");
	jw_str(w, recorded_at);
	jw_obj_end(w);
}

void
api_scripts_versions(struct request *r)
{
	unsigned long long id = api_param_id(r, 0, "script");
	struct buf out = BUF_INIT;
	struct script s;
	struct verr e;
	struct jw w;
	enum reg_status rs;

	if (id == 0)
		return;
	/* Look at the file first, so the history includes what is on disk
	 * now. */
	rs = registry_get(r->ctx->db, r->ctx->conf, (long long)id, &s, &e);
	script_free(&s);
	if (rs != REG_OK) {
		reg_failure(r, rs, &e, NULL, (long long)id);
		return;
	}
	api_list_open(&w, &out, "versions");
	rs = registry_versions(r->ctx->db, (long long)id, version_one, &w);
	if (rs != REG_OK) {
		api_list_drop(&w, &out);
		reg_failure(r, rs, NULL, NULL, (long long)id);
		return;
	}
	api_list_send(r, &w, &out);
}

/*
 * POST {"path": "..."}: what the file is, without registering it
 * (scriptfile_inspect): 200 {"path","type_guess","description",
 * "executable","problems"}, or the 422 a registration would get for a
 * path that no type could be registered with.
 */
void
api_scripts_inspect(struct request *r)
{
	struct scriptfile_info info;
	struct verr_list all = VERR_LIST_INIT;
	struct buf out = BUF_INIT;
	struct verr e;
	struct jw w;
	const char *path;
	yajl_val body, v;

	if ((body = api_body_object(r)) == NULL)
		return;
	if (api_body_known(r, body, (const char *const[]){ "path", NULL },
	    "{\"path\": \"...\"}") == -1)
		goto out;
	v = json_get(body, "path");
	path = YAJL_IS_STRING(v) ? v->u.string : NULL;
	if (v != NULL && path == NULL) {
		resp_error(r, 422, "validation_failed", "path",
		    "path must be a string");
		goto out;
	}
	if (scriptfile_inspect(r->ctx->conf, r->ctx->magic, path, &info,
	    &e) == -1) {
		/* As a registration's refusal: "errors" with its one entry. */
		verr_list_add(&all, &e);
		api_invalid(r, &e, &all);
		goto out;
	}
	jw_init(&w, &out);
	jw_obj(&w);
	jw_key(&w, "path");
	jw_str(&w, path);
	jw_key(&w, "type_guess");
	jw_str(&w, info.type_guess);
	jw_key(&w, "description");
	jw_str(&w, info.description[0] != '\0' ? info.description : NULL);
	jw_key(&w, "executable");
	jw_bool(&w, info.executable);
	jw_key(&w, "problems");
	jw_arr(&w);
	for (int i = 0; i < info.nproblems; i++)
		jw_str(&w, info.problems[i].message);
	jw_arr_end(&w);
	jw_obj_end(&w);
	jw_free(&w);
	resp_json(r, 200, &out);
out:
	verr_list_free(&all);
	buf_free(&out);
	yajl_tree_free(body);
}
