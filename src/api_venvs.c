/*
 * api_venvs.c - /api/v1/admin/venvs: list, show (with the build log),
 * evict. The rules live in venv.c, shared with `scriptorchd venv`.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "conf.h"
#include "db.h"
#include "dispatch.h"
#include "json.h"
#include "store.h"
#include "venv.h"

/* The longest a rebuild keeps its worker, inside nginx's read timeout of
 * 330 s (a longer build_timeout_s is cut to this here; a run's build
 * keeps the whole of it). */
#define REBUILD_MAX_S 300

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

/* Answers venv `id` with its build log. */
static void
answer_venv(struct request *r, unsigned long long id)
{
	struct venv_rec v;
	long long *scripts = NULL;
	size_t n = 0;
	struct buf out = BUF_INIT;
	struct jw w;

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
api_venvs_get(struct request *r)
{
	unsigned long long id = api_param_id(r, 0, "venv");

	if (id != 0)
		answer_venv(r, id);
}

/*
 * POST /admin/venvs/{id}/rebuild: builds it again now and answers it as
 * it is then (ready, or failed with its error and log). The build runs
 * in this worker, which answers nothing else meanwhile: it holds one of
 * the node's waiting places, as a waited-for run does, or is refused 429
 * when they are all taken.
 */
void
api_venvs_rebuild(struct request *r)
{
	unsigned long long id = api_param_id(r, 0, "venv");
	struct conf c = *r->ctx->conf;   /* shallow: its build timeout cut */
	struct buf why = BUF_INIT;
	int place;

	if (id == 0)
		return;
	if ((place = dispatch_wait_enter(r->ctx->shm,
	    conf_max_waiting(&c))) < 0) {
		req_add_header(r, "Retry-After", "5");
		resp_error(r, 429, "overloaded", NULL, "every API worker of "
		    "this node that may wait is busy (max_waiting_workers); "
		    "try the rebuild again");
		return;
	}
	if (c.venv_build_timeout_s > REBUILD_MAX_S)
		c.venv_build_timeout_s = REBUILD_MAX_S;
	switch (venv_rebuild(r->ctx->db, &c, r->ctx->shm, (long long)id,
	    r->token_name, &why)) {
	case VENV_OK:
		answer_venv(r, id);
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
	case VENV_STALE:
		resp_error(r, 409, "conflict", NULL, "%s", buf_str(&why));
		break;
	case VENV_FS:
		resp_error(r, 500, "internal", NULL, "cannot rebuild venv "
		    "%llu: %s (request %s)", id, buf_str(&why), r->id);
		break;
	case VENV_DB:
		api_db_failure(r, r->ctx->db);
		break;
	}
	dispatch_wait_leave(r->ctx->shm, place);
	buf_free(&why);
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
	case VENV_STALE:        /* not from an eviction */
		resp_error(r, 500, "internal", NULL, "cannot remove venv "
		    "%llu: %s (request %s)", id, buf_str(&why), r->id);
		break;
	case VENV_DB:
		api_db_failure(r, r->ctx->db);
		break;
	}
	buf_free(&why);
}
