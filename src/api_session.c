/*
 * api_session.c - /api/v1/session: signing a browser in and out with the
 * session cookie, and who the caller is (session.h, docs/api.md
 * "Sessions").
 */
#include "config.h"

#include <sodium.h>
#include <string.h>

#include "api.h"
#include "auth.h"
#include "conf.h"
#include "db.h"
#include "json.h"
#include "log.h"
#include "session.h"
#include "store.h"

/* A sign-in or a sign-out comes from the admin UI, which always sends
 * the header: refusing one without it means no other site can sign a
 * browser in under a token of its choosing (login CSRF) or out. */
static int
csrf_refused(struct request *r, const char *what)
{
	if (session_csrf_ok(req_param(r, SESSION_CSRF_PARAM)))
		return 0;
	resp_error(r, 403, "forbidden", NULL, "%s must carry the header "
	    SESSION_CSRF_HEADER ": " SESSION_CSRF_VALUE, what);
	return 1;
}

struct closing {
	struct db *db;
	int failed;
};

static void
close_one(void *arg, const char *id)
{
	struct closing *cl = arg;

	if (session_close(cl->db, id) == -1)
		cl->failed = 1;
}

/* POST: {"token": "..."} -> 204 and the cookie. */
void
api_session_open(struct request *r)
{
	const struct conf *c = r->ctx->conf;
	struct db *db = r->ctx->db;
	char id[SESSION_ID_SIZE], expires[32];
	struct buf cookie = BUF_INIT;
	struct token_rec t;
	const char *token, *why = NULL;
	struct closing cl = { db, 0 };
	yajl_val body, v;
	int rc;

	if (csrf_refused(r, "a sign-in"))
		return;
	if ((body = api_body_object(r)) == NULL)
		return;
	if (api_body_known(r, body, (const char *const[]){ "token", NULL },
	    "{\"token\": \"...\"}") == -1)
		goto out;
	v = json_get(body, "token");
	token = YAJL_IS_STRING(v) ? v->u.string : NULL;
	if (token == NULL || *token == '\0' || strlen(token) > 512) {
		resp_error(r, 422, "validation_failed", "token",
		    "token must be a string: an API token (sto_...)");
		goto out;
	}
	if (db_begin(db) == -1 ||
	    (rc = auth_token_verify(db, token, &t, &why)) == -1) {
		api_db_failure(r, db);
		goto out;
	}
	if (rc == 0) {
		req_add_header(r, "WWW-Authenticate", "Bearer");
		resp_error(r, 401, "unauthorized", NULL, "%s", why);
		goto out;
	}
	/* A session the browser had is signed out: a sign-in always gives a
	 * new id, never one the client brought (fixation). */
	session_cookie_each(req_param(r, "HTTP_COOKIE"), close_one, &cl);
	if (cl.failed)
		log_warnx("cannot sign the former session out: %s",
		    db_errmsg(db));
	if (session_open(db, t.id, c->session_ttl_s, id, expires) == -1) {
		api_db_failure(r, db);
		goto out;
	}
	if (store_audit(db, t.name, "session.open", "token", t.id,
	    expires) == -1)
		log_warnx("audit of a sign-in with token %lld: %s", t.id,
		    db_errmsg(db));
	log_info("session opened with token \"%s\" until %s", t.name, expires);
	session_set_cookie(&cookie, id, c->session_ttl_s, req_secure(r));
	sodium_memzero(id, sizeof(id));
	req_add_header(r, "Set-Cookie", buf_str(&cookie));
	buf_free(&cookie);
	resp_empty(r);
out:
	yajl_tree_free(body);
}

/* GET: who the caller is, by token or by session. */
void
api_session_get(struct request *r)
{
	struct buf out = BUF_INIT;
	struct jw w;

	jw_init(&w, &out);
	jw_obj(&w);
	/* The id too: names are not unique, and the admin UI marks the
	 * session's own token in the list of tokens by it. */
	jw_key(&w, "token_id");
	jw_int(&w, r->token_id);
	jw_key(&w, "token_name");
	jw_str(&w, r->token_name);
	jw_key(&w, "role");
	jw_str(&w, role_name(r->role));
	jw_key(&w, "expires_at");
	jw_str(&w, r->via_session ? r->session_expires_at : NULL);
	jw_obj_end(&w);
	jw_free(&w);
	resp_json(r, 200, &out);
	buf_free(&out);
}

/* DELETE: signs out every session the request's cookies name; the
 * browser is told to forget the cookie. Needs no valid session: a
 * sign-out of an expired one works the same. */
void
api_session_close(struct request *r)
{
	const char *cookies = req_param(r, "HTTP_COOKIE");
	struct buf cookie = BUF_INIT;
	struct closing cl = { r->ctx->db, 0 };

	if (session_cookie_find(cookies, NULL) > 0) {
		if (csrf_refused(r, "a sign-out"))
			return;
		if (db_begin(cl.db) == -1) {
			api_db_failure(r, cl.db);
			return;
		}
		/* The session must be gone when this answers 204. */
		session_cookie_each(cookies, close_one, &cl);
		if (cl.failed) {
			api_db_failure(r, cl.db);
			return;
		}
	}
	session_set_cookie(&cookie, NULL, 0, req_secure(r));
	req_add_header(r, "Set-Cookie", buf_str(&cookie));
	buf_free(&cookie);
	resp_empty(r);
}
