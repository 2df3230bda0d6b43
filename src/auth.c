/*
 * auth.c - the token service (creation, list, revocation) and the
 * per-request check.
 *
 * The lookup is by the token's SHA-256, which is indexed; the found hash
 * is compared again with sodium_memcmp so that no byte-by-byte comparison
 * of secret material ever happens in our code. Tokens carry 256 bits of
 * randomness, so a fast hash is the right tool (a password KDF would only
 * slow every request). Tokens found valid are remembered for a second
 * (struct token_cache in auth.h).
 */
#include "config.h"

#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "api.h"
#include "auth.h"
#include "clock.h"
#include "db.h"
#include "log.h"
#include "request.h"
#include "session.h"
#include "shm.h"
#include "store.h"

void
auth_hash(const char *token, unsigned char out[32])
{
	crypto_hash_sha256(out, (const unsigned char *)token, strlen(token));
}

int
auth_token_create(struct db *db, const char *name, enum role role,
    const char *actor, struct token_rec *t, char plain[TOKEN_TEXT_LEN])
{
	unsigned char rnd[32], hash[32];
	char b64[sodium_base64_ENCODED_LEN(32,
	    sodium_base64_VARIANT_URLSAFE_NO_PADDING)];

	randombytes_buf(rnd, sizeof(rnd));
	sodium_bin2base64(b64, sizeof(b64), rnd, sizeof(rnd),
	    sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	snprintf(plain, TOKEN_TEXT_LEN, "%s%s", TOKEN_PREFIX, b64);
	auth_hash(plain, hash);
	sodium_memzero(rnd, sizeof(rnd));

	memset(t, 0, sizeof(*t));
	snprintf(t->name, sizeof(t->name), "%s", name);
	t->role = role;
	memcpy(t->hash, hash, 32);
	if (store_token_insert(db, name, role, hash, &t->id,
	    t->created_at) == -1)
		return -1;
	char detail[200];
	snprintf(detail, sizeof(detail), "role=%s", role_name(role));
	/* The token exists; an audit failure is logged, not fatal to it. */
	if (store_audit(db, actor, "token.create", "token", t->id,
	    detail) == -1)
		log_warnx("audit of token %lld: %s", t->id, db_errmsg(db));
	return 0;
}

int
auth_token_list(struct db *db,
    void (*fn)(void *arg, const struct token_rec *t), void *arg)
{
	return store_token_list(db, fn, arg);
}

/* The revocation and its audit record commit together; a deadlock (a
 * race with a use of the token recorded meanwhile) is tried again. */
int
auth_token_revoke(struct db *db, struct shm *shm, long long id,
    const char *actor, int *found)
{
	int tries = 0;

retry:
	*found = 0;
	if (db_tx_begin(db) == -1)
		return -1;
	if (store_token_revoke(db, id, found) == -1)
		goto fail;
	if (!*found) {
		db_tx_rollback(db);
		return 0;
	}
	/* Its browser sessions end with it (a session's lookup also checks
	 * the token, so none outlives it even without this). */
	if (store_session_delete_token(db, id) == -1)
		goto fail;
	if (store_audit(db, actor, "token.revoke", "token", id, NULL) == -1)
		goto fail;
	if (db_tx_commit(db) == -1)
		goto again;
	/* Committed: a worker that looks the token up again finds it
	 * revoked. */
	if (shm != NULL)
		atomic_fetch_add(&shm->token_gen, 1);
	return 0;
fail:
	db_tx_rollback(db);
again:
	if (db_error(db) == DB_EDEADLOCK && ++tries < 5)
		goto retry;
	return -1;
}

int
auth_token_verify(struct db *db, const char *token, struct token_rec *t,
    const char **why)
{
	unsigned char hash[32];
	int found;

	auth_hash(token, hash);
	if (store_token_by_hash(db, hash, t, &found) == -1)
		return -1;
	if (!found || sodium_memcmp(hash, t->hash, 32) != 0) {
		*why = "the token is not known";
		return 0;
	}
	if (t->revoked) {
		*why = "the token was revoked";
		return 0;
	}
	return 1;
}

const char *
auth_bearer(const char *header)
{
	if (header == NULL || strncasecmp(header, "Bearer ", 7) != 0)
		return NULL;
	header += 7;
	while (*header == ' ')
		header++;
	return header;
}

int
auth_role_allows(enum role have, enum role need)
{
	return have >= need;
}

const struct token_cached *
auth_cache_find(const struct token_cache *tc, const unsigned char hash[32],
    uint32_t gen, double now)
{
	for (size_t i = 0; i < TOKEN_CACHE_SLOTS; i++) {
		const struct token_cached *c = &tc->e[i];
		if (c->at > 0 && c->gen == gen &&
		    now - c->at < TOKEN_CACHE_MS &&
		    sodium_memcmp(c->hash, hash, 32) == 0)
			return c;
	}
	return NULL;
}

void
auth_cache_put(struct token_cache *tc, const struct token_rec *t,
    uint32_t gen, double now)
{
	struct token_cached *c = &tc->e[0];

	for (size_t i = 1; i < TOKEN_CACHE_SLOTS && c->at > 0; i++)
		if (tc->e[i].at < c->at)
			c = &tc->e[i];
	memcpy(c->hash, t->hash, 32);
	c->id = t->id;
	snprintf(c->name, sizeof(c->name), "%s", t->name);
	c->role = t->role;
	c->at = now;
	c->gen = gen;
}

/* Looks the token up: 1 valid (filling t's id, name, role), 0 after
 * answering 401, -1 after answering 503. */
static int
lookup(struct request *r, const unsigned char hash[32], struct token_rec *t)
{
	struct token_cache *tc = r->ctx->tokens;
	uint32_t gen = atomic_load(&r->ctx->shm->token_gen);
	double now = clock_mono_ms();
	const struct token_cached *c;
	int found;

	/* Also for a remembered token: the handler's statements need a
	 * live connection (db_begin pings one that was idle). */
	if (db_begin(r->ctx->db) == -1) {
		api_db_failure(r, r->ctx->db);
		return -1;
	}
	if (tc != NULL && (c = auth_cache_find(tc, hash, gen, now)) != NULL) {
		t->id = c->id;
		snprintf(t->name, sizeof(t->name), "%s", c->name);
		t->role = c->role;
		return 1;
	}
	if (store_token_by_hash(r->ctx->db, hash, t, &found) == -1) {
		api_db_failure(r, r->ctx->db);
		return -1;
	}
	if (!found || sodium_memcmp(hash, t->hash, 32) != 0 || t->revoked) {
		req_add_header(r, "WWW-Authenticate", "Bearer");
		resp_error(r, 401, "unauthorized", NULL,
		    found && t->revoked ? "the token was revoked" :
		    "the token is not known");
		return 0;
	}
	/* Record use at most once a minute per token: cheap, still useful. */
	if (t->stale_use && store_token_touch(r->ctx->db, t->id) == -1)
		log_warnx("cannot record use of token %lld: %s", t->id,
		    db_errmsg(r->ctx->db));
	if (tc != NULL)
		auth_cache_put(tc, t, gen, now);
	return 1;
}

/* A 401 for a session cookie that names no usable session: the browser
 * is told to forget it. */
static void
session_refused(struct request *r, const char *why)
{
	struct buf c = BUF_INIT;

	session_set_cookie(&c, NULL, 0, req_secure(r));
	req_add_header(r, "Set-Cookie", buf_str(&c));
	buf_free(&c);
	req_add_header(r, "WWW-Authenticate", "Bearer");
	resp_error(r, 401, "unauthorized", NULL, "%s", why);
}

/*
 * Authenticates by the session cookie (session.h): the request must
 * carry X-Requested-With first (403), then name exactly one open session
 * whose token is not revoked (401). 1 with t filled, 0 after answering,
 * -1 after answering 503.
 */
static int
session_lookup(struct request *r, int ncookies, const char *id,
    struct token_rec *t)
{
	int found;

	if (!session_csrf_ok(req_param(r, SESSION_CSRF_PARAM))) {
		resp_error(r, 403, "forbidden", NULL, "a request signed in by "
		    "the session cookie must carry the header "
		    SESSION_CSRF_HEADER ": " SESSION_CSRF_VALUE);
		return 0;
	}
	if (ncookies > 1) {
		/* Another cookie of that name, set for a narrower path or by
		 * a neighbouring host, would be sent first: refuse rather
		 * than pick one. */
		session_refused(r, "several " SESSION_COOKIE " cookies were "
		    "sent; sign in again");
		return 0;
	}
	if (db_begin(r->ctx->db) == -1 || session_find(r->ctx->db, id, t,
	    r->session_expires_at, &found) == -1) {
		api_db_failure(r, r->ctx->db);
		return -1;
	}
	if (!found) {
		session_refused(r, "the session is not known or has expired; "
		    "sign in again");
		return 0;
	}
	if (t->revoked) {
		session_refused(r, "the token of this session was revoked");
		return 0;
	}
	if (t->stale_use && store_token_touch(r->ctx->db, t->id) == -1)
		log_warnx("cannot record use of token %lld: %s", t->id,
		    db_errmsg(r->ctx->db));
	return 1;
}

int
auth_check(struct request *r, enum role need)
{
	const char *h;
	unsigned char hash[32];
	struct token_rec t;
	char sid[SESSION_ID_SIZE];
	int ncookies;

	r->role = ROLE_NONE;
	if (need == ROLE_NONE)
		return 0;
	h = req_param(r, "HTTP_AUTHORIZATION");
	/* A bearer token wins over a cookie: a client that sends one means
	 * it. */
	if ((h == NULL || *h == '\0') && (ncookies = session_cookie_find(
	    req_param(r, "HTTP_COOKIE"), sid)) > 0) {
		if (session_lookup(r, ncookies, sid, &t) != 1)
			return -1;
		r->via_session = 1;
	} else if ((h = auth_bearer(h)) == NULL) {
		req_add_header(r, "WWW-Authenticate", "Bearer");
		resp_error(r, 401, "unauthorized", NULL,
		    "an Authorization: Bearer token (or a signed-in session) "
		    "is required");
		return -1;
	} else {
		auth_hash(h, hash);
		if (lookup(r, hash, &t) != 1)
			return -1;
	}
	r->token_id = t.id;
	snprintf(r->token_name, sizeof(r->token_name), "%s", t.name);
	r->role = t.role;
	if (!auth_role_allows(r->role, need)) {
		resp_error(r, 403, "forbidden", NULL,
		    "the %s role may not do this; it needs %s", role_name(r->role),
		    role_name(need));
		return -1;
	}
	return 0;
}
