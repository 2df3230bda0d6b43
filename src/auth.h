/*
 * auth.h - bearer tokens: the token service (creation, list, revocation
 * with its audit record and the workers' memory invalidated; shared by
 * the API and the CLI) and the per-request check.
 *
 * The SQL is behind store_tokens.c; callers never reach it themselves.
 */
#ifndef SCRIPTORCH_AUTH_H
#define SCRIPTORCH_AUTH_H

#include <stdint.h>

#include "request.h"

struct db;
struct shm;

#define TOKEN_PREFIX "sto_"
#define TOKEN_TEXT_LEN 64

/* One token as stored (its secret text is never stored: only its hash).
 * Times are RFC 3339. Owns no memory. */
struct token_rec {
	long long id;
	char name[129];
	enum role role;
	char created_at[32];
	char last_used_at[32];    /* "" when never used */
	int revoked;
	unsigned char hash[32];
	int stale_use;            /* last use older than a minute */
};

/*
 * A worker's memory of tokens it found valid, so that a client sending
 * request after request costs one lookup a second, not one a request.
 * An entry holds for TOKEN_CACHE_MS, and not at all once any process of
 * this node has revoked a token (shm->token_gen): a revocation through
 * this node's API takes effect at once, one made elsewhere (another
 * node, the CLI) within TOKEN_CACHE_MS. Unknown and revoked tokens are
 * never remembered. Owned by the worker, zeroed to start.
 */
#define TOKEN_CACHE_SLOTS 8
#define TOKEN_CACHE_MS 1000
struct token_cache {
	struct token_cached {
		unsigned char hash[32];
		long long id;
		char name[129];
		enum role role;
		double at;          /* clock_mono_ms() of the lookup; 0: empty */
		uint32_t gen;       /* shm->token_gen at the lookup */
	} e[TOKEN_CACHE_SLOTS];
};

/*
 * Creates a token: 32 random bytes from libsodium, shown once as
 * "sto_" + URL-safe base64; only its SHA-256 is stored. `plain` gets the
 * text. `actor` is recorded in the audit log. 0 or -1 (db error).
 */
int auth_token_create(struct db *db, const char *name, enum role role,
    const char *actor, struct token_rec *t, char plain[TOKEN_TEXT_LEN]);
/* Calls fn for each token, oldest first. 0 or -1 (db error). */
int auth_token_list(struct db *db,
    void (*fn)(void *arg, const struct token_rec *t), void *arg);
/*
 * Revokes token `id` for `actor`, recorded in the audit log in the same
 * transaction; revoking twice is fine. *found = 0 when there is no such
 * token. Then every worker of this node forgets the tokens it remembers
 * (through `shm`; NULL from a process without the shared region, the
 * CLI: workers then notice within TOKEN_CACHE_MS). 0 or -1 (db error).
 */
int auth_token_revoke(struct db *db, struct shm *shm, long long id,
    const char *actor, int *found);

/*
 * The token whose text is `token`, for a sign-in (session.h): 1 when it
 * is known and not revoked (t filled), 0 when it is not (*why says which,
 * a static sentence), -1 (database).
 */
int auth_token_verify(struct db *db, const char *token, struct token_rec *t,
    const char **why);

/*
 * Authenticates the request when `need` is not ROLE_NONE: fills
 * r->token_id/token_name/role, by the bearer token of its Authorization
 * header or, without one, by its session cookie (session.h; then
 * r->via_session and r->session_expires_at too). Returns 0 when the
 * handler may run, or -1 after answering 401, 403 or 503.
 */
int auth_check(struct request *r, enum role need);
/* SHA-256 of a token's text. */
void auth_hash(const char *token, unsigned char out[32]);

/*
 * The pure parts of the check, for auth_check and its tests.
 */
/* The token of an Authorization header's value ("Bearer <token>", the
 * scheme in any case, spaces before the token skipped), or NULL when it
 * is not a bearer token. Points into `header`. */
const char *auth_bearer(const char *header);
/* Whether a caller with role `have` may do what needs `need`. */
int auth_role_allows(enum role have, enum role need);
/* The remembered entry for `hash`, if it still holds at `now`
 * (clock_mono_ms) under the node's token generation `gen`, else NULL. */
const struct token_cached *auth_cache_find(const struct token_cache *tc,
    const unsigned char hash[32], uint32_t gen, double now);
/* Remembers a valid token in an empty entry, or else the oldest. */
void auth_cache_put(struct token_cache *tc, const struct token_rec *t,
    uint32_t gen, double now);

#endif
