/*
 * api_venvs.c - /api/v1/admin/venvs: list, show (with the build log),
 * evict. The rules live in venv.c, shared with `scriptorchd venv`.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "db.h"
#include "json.h"
#include "store.h"
#include "venv.h"

struct list_arg {
	struct jw *w;
	const struct conf *c;
};

static void
list_one(void *arg, const struct venv_rec *v, const long long *scripts,
    size_t n)
{
	struct list_arg *la = arg;

	venv_write_json(la->w, la->c, v, scripts, n, 0);
}

void
api_venvs_list(struct request *r)
{
	struct buf out = BUF_INIT;
	struct jw w;
	struct list_arg la;

	api_list_open(&w, &out, "venvs");
	la.w = &w;
	la.c = r->ctx->conf;
	if (venv_list(r->ctx->db, r->ctx->conf, list_one, &la) == -1) {
		api_list_drop(&w, &out);
		api_db_failure(r, r->ctx->db);
		return;
	}
	api_list_send(r, &w, &out);
}

void
api_venvs_get(struct request *r)
{
	unsigned long long id = api_param_id(r, 0, "venv");
	struct venv_rec v;
	long long *scripts = NULL;
	size_t n = 0;
	struct buf out = BUF_INIT;
	struct jw w;

	if (id == 0)
		return;
	switch (venv_get(r->ctx->db, r->ctx->conf, (long long)id, &v,
	    &scripts, &n)) {
	case VENV_OK:
		break;
	case VENV_NOT_FOUND:
		resp_error(r, 404, "not_found", NULL, "no venv with id %llu",
		    id);
		return;
	default:
		api_db_failure(r, r->ctx->db);
		return;
	}
	jw_init(&w, &out);
	venv_write_json(&w, r->ctx->conf, &v, scripts, n, 1);
	jw_free(&w);
	resp_json(r, 200, &out);
	buf_free(&out);
	free(scripts);
	venv_rec_free(&v);
}

void
api_venvs_delete(struct request *r)
{
	unsigned long long id = api_param_id(r, 0, "venv");
	struct buf why = BUF_INIT;

	if (id == 0)
		return;
	switch (venv_evict(r->ctx->db, r->ctx->conf, (long long)id,
	    r->token_name, &why)) {
	case VENV_OK:
		resp_empty(r);
		break;
	case VENV_NOT_FOUND:
		resp_error(r, 404, "not_found", NULL, "no venv with id %llu",
		    id);
		break;
	case VENV_BUSY:
		resp_error(r, 409, "conflict", NULL, "venv %llu is in use by "
		    "a running execution or being built on this node; try "
		    "again when it is idle", id);
		break;
	case VENV_FS:
		resp_error(r, 500, "internal", NULL, "cannot remove venv "
		    "%llu: %s (request %s)", id, buf_str(&why), r->id);
		break;
	case VENV_DB:
		api_db_failure(r, r->ctx->db);
		break;
	}
	buf_free(&why);
}
