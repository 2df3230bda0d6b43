/*
 * auth.h - bearer tokens: creation (shared by the CLI and the API) and
 * the per-request check.
 */
#ifndef SCRIPTORCH_AUTH_H
#define SCRIPTORCH_AUTH_H

#include <stdint.h>

#include "request.h"
#include "store.h"

#define TOKEN_PREFIX "sto_"
#define TOKEN_TEXT_LEN 64

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
/*
 * Authenticates the request when `need` is not ROLE_NONE: fills
 * r->token_id/token_name/role. Returns 0 when the handler may run, or -1
 * after answering 401, 403 or 503.
 */
int auth_check(struct request *r, enum role need);
/* Tells every worker of this node to forget the tokens it remembers:
 * call after a token was revoked. */
void auth_tokens_changed(struct shm *shm);
/* SHA-256 of a token's text. */
void auth_hash(const char *token, unsigned char out[32]);

#endif
