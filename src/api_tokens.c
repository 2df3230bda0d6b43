/*
 * api_tokens.c - /api/v1/admin/tokens.
 */
#include "config.h"

#include <string.h>

#include "api.h"
#include "auth.h"
#include "json.h"

static void
write_token(struct jw *w, const struct token_rec *t, const char *plain)
{
	jw_obj(w);
	jw_key(w, "id");
	jw_int(w, t->id);
	jw_key(w, "name");
	jw_str(w, t->name);
	jw_key(w, "role");
	jw_str(w, role_name(t->role));
	jw_key(w, "created_at");
	jw_str(w, t->created_at);
	if (plain != NULL) {
		jw_key(w, "token");
		jw_str(w, plain);
	} else {
		jw_key(w, "last_used_at");
		jw_str(w, t->last_used_at[0] ? t->last_used_at : NULL);
		jw_key(w, "revoked");
		jw_bool(w, t->revoked);
	}
	jw_obj_end(w);
}

void
api_tokens_create(struct request *r)
{
	yajl_val body, v;
	const char *name, *role_s;
	enum role role;
	struct token_rec t;
	char plain[TOKEN_TEXT_LEN];
	struct buf out = BUF_INIT;
	struct jw w;

	if ((body = api_body_object(r)) == NULL)
		return;
	if (api_body_known(r, body, (const char *const[]){ "name", "role",
	    NULL }, NULL) == -1)
		goto out;
	v = json_get(body, "name");
	name = YAJL_IS_STRING(v) ? v->u.string : NULL;
	if (name == NULL || *name == '\0' || strlen(name) > 128) {
		resp_error(r, 422, "validation_failed", "name",
		    "name must be a string of 1 to 128 characters");
		goto out;
	}
	role_s = json_get_str(body, "role");
	if (role_parse(role_s, &role) == -1) {
		resp_error(r, 422, "validation_failed", "role",
		    "role must be admin, operator or viewer");
		goto out;
	}
	if (auth_token_create(r->ctx->db, name, role, r->token_name, &t,
	    plain) == -1) {
		api_db_failure(r, r->ctx->db);
		goto out;
	}
	jw_init(&w, &out);
	write_token(&w, &t, plain);
	jw_free(&w);
	resp_json(r, 201, &out);
out:
	buf_free(&out);
	yajl_tree_free(body);
}

static void
list_one(void *arg, const struct token_rec *t)
{
	write_token(arg, t, NULL);
}

void
api_tokens_list(struct request *r)
{
	struct buf out = BUF_INIT;
	struct jw w;

	api_list_open(&w, &out, "tokens");
	if (auth_token_list(r->ctx->db, list_one, &w) == -1) {
		api_list_drop(&w, &out);
		api_db_failure(r, r->ctx->db);
		return;
	}
	api_list_send(r, &w, &out);
}

void
api_tokens_revoke(struct request *r)
{
	unsigned long long id = api_param_id(r, 0, "token");
	int found;

	if (id == 0)
		return;
	if (auth_token_revoke(r->ctx->db, r->ctx->shm, (long long)id,
	    r->token_name, &found) == -1) {
		api_db_failure(r, r->ctx->db);
		return;
	}
	if (!found) {
		resp_error(r, 404, "not_found", NULL, "no token with id %llu",
		    id);
		return;
	}
	resp_empty(r);
}
