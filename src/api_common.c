/*
 * api_common.c - small pieces every handler needs.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "db.h"
#include "json.h"
#include "log.h"
#include "verr.h"

yajl_val
api_body_object(struct request *r)
{
	char err[256];
	yajl_val v;

	if (r->body.len == 0) {
		resp_error(r, 400, "bad_json", NULL,
		    "the request needs a JSON object as its body");
		return NULL;
	}
	v = json_parse(r->body.data, r->body.len, err, sizeof(err));
	if (v == NULL) {
		resp_error(r, 400, "bad_json", NULL, "the body is not valid "
		    "JSON: %s", err);
		return NULL;
	}
	if (!YAJL_IS_OBJECT(v)) {
		yajl_tree_free(v);
		resp_error(r, 400, "bad_json", NULL,
		    "the body must be a JSON object");
		return NULL;
	}
	return v;
}

int
api_body_known(struct request *r, const struct yajl_val_s *body,
    const char *const *known, const char *shape)
{
	for (size_t i = 0; i < body->u.object.len; i++) {
		const char *k = body->u.object.keys[i];
		const char *const *n;

		for (n = known; *n != NULL && strcmp(*n, k) != 0; n++)
			;
		if (*n != NULL)
			continue;
		resp_error(r, 422, "validation_failed", k, "unknown field "
		    "\"%s\"%s%s", k, shape != NULL ? "; the body is " : "",
		    shape != NULL ? shape : "");
		return -1;
	}
	return 0;
}

unsigned long long
api_param_id(struct request *r, int i, const char *what)
{
	const char *s = i < r->nparams ? r->params[i] : NULL;
	char *end;
	unsigned long long id;

	if (s == NULL || *s < '1' || *s > '9' || strlen(s) > 19)
		goto bad;
	id = strtoull(s, &end, 10);
	if (*end != '\0')
		goto bad;
	return id;
bad:
	resp_error(r, 404, "not_found", NULL, "no %s with id \"%s\"", what,
	    s ? s : "");
	return 0;
}

void
api_invalid(struct request *r, const struct verr *first,
    const struct verr_list *all)
{
	struct buf body = BUF_INIT;
	struct jw w;
	int listed = all != NULL && all->n > 0;

	for (size_t i = 0; listed && i < all->n; i++)
		if (all->v[i].field[0] == '\0')
			listed = 0;
	jw_init(&w, &body);
	jw_obj(&w);
	jw_key(&w, "error");
	jw_obj(&w);
	jw_key(&w, "code");
	jw_str(&w, "validation_failed");
	jw_key(&w, "message");
	jw_str(&w, first->message[0] != '\0' ? first->message :
	    "the request is not valid");
	if (first->field[0] != '\0') {
		jw_key(&w, "field");
		jw_str(&w, first->field);
	}
	if (listed) {
		jw_key(&w, "errors");
		jw_arr(&w);
		for (size_t i = 0; i < all->n; i++) {
			jw_obj(&w);
			jw_key(&w, "field");
			jw_str(&w, all->v[i].field);
			jw_key(&w, "message");
			jw_str(&w, all->v[i].message);
			jw_obj_end(&w);
		}
		jw_arr_end(&w);
	}
	jw_obj_end(&w);
	jw_obj_end(&w);
	jw_free(&w);
	resp_json(r, 422, &body);
	buf_free(&body);
}

void
api_db_failure(struct request *r, struct db *db)
{
	if (db_error(db) == DB_EUNAVAIL) {
		req_add_header(r, "Retry-After", "5");
		resp_error(r, 503, "unavailable", NULL,
		    "the database is unreachable; nothing was done");
		return;
	}
	log_warnx("%s", db_errmsg(db));
	resp_error(r, 500, "internal", NULL,
	    "internal error (request %s)", r->id);
}

void
api_list_open(struct jw *w, struct buf *out, const char *key)
{
	jw_init(w, out);
	jw_obj(w);
	jw_key(w, key);
	jw_arr(w);
}

void
api_list_send(struct request *r, struct jw *w, struct buf *out)
{
	jw_arr_end(w);
	jw_obj_end(w);
	jw_free(w);
	resp_json(r, 200, out);
	buf_free(out);
}

void
api_list_drop(struct jw *w, struct buf *out)
{
	jw_free(w);
	buf_free(out);
}
