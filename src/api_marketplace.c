/*
 * api_marketplace.c - /api/v1/marketplace: the ready-made scripts and
 * their install. The rules live in marketplace.c; this file maps its
 * outcomes to the contract's statuses and renders the items.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "api.h"
#include "json.h"
#include "log.h"
#include "marketplace.h"

/* An item's object: its own members (market_item.h), then what this node
 * and the registry say of it: installed_script_id (the newest script
 * installed from it that still exists, or null), installed_scripts (all
 * of them, oldest first, each with its version and the item's version it
 * was installed at), tools_missing (the tools it needs that this node
 * lacks). */
static void
list_one(void *arg, const struct market_item *it,
    const struct market_install *inst, size_t ninst, const char *missing)
{
	struct jw *w = arg;
	const char *p, *comma;

	jw_obj(w);
	market_item_write_members(w, it);
	jw_key(w, "installed_script_id");
	if (ninst > 0)
		jw_int(w, inst[ninst - 1].script_id);
	else
		jw_null(w);
	jw_key(w, "installed_scripts");
	jw_arr(w);
	for (size_t i = 0; i < ninst; i++) {
		jw_obj(w);
		jw_key(w, "id");
		jw_int(w, inst[i].script_id);
		jw_key(w, "name");
		jw_str(w, inst[i].script_name);
		jw_key(w, "version");
		jw_str(w, inst[i].script_version);
		jw_key(w, "item_version");
		jw_str(w, inst[i].item_version);
		jw_key(w, "installed_at");
		jw_str(w, inst[i].installed_at);
		jw_obj_end(w);
	}
	jw_arr_end(w);
	/* "ffmpeg, ffprobe": tool names hold neither a comma nor a space. */
	jw_key(w, "tools_missing");
	jw_arr(w);
	for (p = missing; *p != '\0'; p = *comma ? comma + 2 : comma) {
		if ((comma = strstr(p, ", ")) == NULL)
			comma = p + strlen(p);
		jw_strn(w, p, (size_t)(comma - p));
	}
	jw_arr_end(w);
	jw_obj_end(w);
}

void
api_marketplace_list(struct request *r)
{
	struct buf out = BUF_INIT;
	struct jw w;

	api_list_open(&w, &out, "items");
	if (marketplace_list(r->ctx->db, r->ctx->conf, list_one, &w) !=
	    MKT_OK) {
		api_list_drop(&w, &out);
		api_db_failure(r, r->ctx->db);
		return;
	}
	api_list_send(r, &w, &out);
}

void
api_marketplace_install(struct request *r)
{
	const char *name = r->params[0];
	struct script s;
	struct verr e;
	yajl_val body = NULL;
	enum market_status ms;

	/* The body is optional: none installs with the item's name. */
	if (r->body.len > 0 && (body = api_body_object(r)) == NULL)
		return;
	ms = marketplace_install(r->ctx->db, r->ctx->conf, r->ctx->magic,
	    r->ctx->shm, name, body, r->token_name, &s, &e);
	switch (ms) {
	case MKT_OK: {
		char loc[64];
		snprintf(loc, sizeof(loc), "/api/v1/admin/scripts/%lld", s.id);
		req_add_header(r, "Location", loc);
		api_script_answer(r, 201, &s);
		break;
	}
	case MKT_NOT_FOUND:
		resp_error(r, 404, "not_found", NULL, "%s", e.message[0] ?
		    e.message : "no such marketplace item");
		break;
	case MKT_INVALID:
		resp_error(r, 422, "validation_failed", e.field[0] ? e.field :
		    NULL, "%s", e.message);
		break;
	case MKT_CONFLICT:
		resp_error(r, 409, "conflict", e.field[0] ? e.field : NULL,
		    "%s", e.message);
		break;
	case MKT_FILES:
		log_warnx("request %s: marketplace item \"%s\": %s", r->id,
		    name, e.message);
		resp_error(r, 500, "internal", NULL, "%s (request %s)",
		    e.message, r->id);
		break;
	case MKT_DB:
		api_db_failure(r, r->ctx->db);
		break;
	}
	script_free(&s);
	yajl_tree_free(body);
}
