/*
 * auth.h - bearer tokens: creation (shared by the CLI and the API) and
 * the per-request check.
 */
#ifndef SCRIPTORCH_AUTH_H
#define SCRIPTORCH_AUTH_H

#include "request.h"
#include "store.h"

#define TOKEN_PREFIX "sto_"
#define TOKEN_TEXT_LEN 64

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
/* SHA-256 of a token's text. */
void auth_hash(const char *token, unsigned char out[32]);

#endif
