/* Unit tests of the pure parts of the token check (auth.h): the bearer
 * header, roles, the token hash, and a worker's memory of valid tokens. */
#include "config.h"

#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "auth.h"
#include "tap.h"

static void
bearer(void)
{
	is_str(auth_bearer("Bearer sto_abc"), "sto_abc", "a bearer token");
	is_str(auth_bearer("bearer sto_abc"), "sto_abc", "the scheme in any "
	    "case");
	is_str(auth_bearer("BEARER    sto_abc"), "sto_abc",
	    "spaces before the token are skipped");
	is_str(auth_bearer("Bearer "), "", "an empty token is a token "
	    "(unknown to the lookup)");
	ok(auth_bearer(NULL) == NULL, "no header");
	ok(auth_bearer("Basic dXNlcjpwYXNz") == NULL, "another scheme");
	ok(auth_bearer("Bearer") == NULL && auth_bearer("Bearersto_abc") ==
	    NULL, "the scheme needs its space");
	ok(auth_bearer("") == NULL, "an empty header");
}

static void
roles(void)
{
	ok(auth_role_allows(ROLE_ADMIN, ROLE_ADMIN) &&
	    auth_role_allows(ROLE_ADMIN, ROLE_VIEWER),
	    "admin may do everything");
	ok(auth_role_allows(ROLE_OPERATOR, ROLE_OPERATOR) &&
	    auth_role_allows(ROLE_OPERATOR, ROLE_VIEWER) &&
	    !auth_role_allows(ROLE_OPERATOR, ROLE_ADMIN), "operator");
	ok(auth_role_allows(ROLE_VIEWER, ROLE_VIEWER) &&
	    !auth_role_allows(ROLE_VIEWER, ROLE_OPERATOR) &&
	    !auth_role_allows(ROLE_VIEWER, ROLE_ADMIN), "viewer");
	ok(!auth_role_allows(ROLE_NONE, ROLE_VIEWER) &&
	    auth_role_allows(ROLE_NONE, ROLE_NONE),
	    "no token: only what needs none");
}

static void
hash(void)
{
	unsigned char h[32];
	char hex[65];

	auth_hash("abc", h);
	sodium_bin2hex(hex, sizeof(hex), h, sizeof(h));
	is_str(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61"
	    "f20015ad", "SHA-256 of the token's text");
}

static void
token(struct token_rec *t, long long id, const char *text)
{
	memset(t, 0, sizeof(*t));
	t->id = id;
	snprintf(t->name, sizeof(t->name), "t%lld", id);
	t->role = ROLE_OPERATOR;
	auth_hash(text, t->hash);
}

static void
cache(void)
{
	struct token_cache tc;
	struct token_rec t[TOKEN_CACHE_SLOTS + 1];
	const struct token_cached *c;
	char text[32];
	double now = 1000000;
	int all = 1;

	memset(&tc, 0, sizeof(tc));
	token(&t[0], 1, "sto_one");
	ok(auth_cache_find(&tc, t[0].hash, 5, now) == NULL,
	    "nothing remembered at first");
	auth_cache_put(&tc, &t[0], 5, now);
	c = auth_cache_find(&tc, t[0].hash, 5, now + 10);
	ok(c != NULL && c->id == 1 && strcmp(c->name, "t1") == 0 &&
	    c->role == ROLE_OPERATOR, "a valid token is remembered");
	ok(auth_cache_find(&tc, t[0].hash, 5, now + TOKEN_CACHE_MS - 1) !=
	    NULL, "within its time");
	ok(auth_cache_find(&tc, t[0].hash, 5, now + TOKEN_CACHE_MS) == NULL,
	    "not after it");
	ok(auth_cache_find(&tc, t[0].hash, 6, now + 10) == NULL,
	    "not once any token of the node was revoked");
	token(&t[1], 2, "sto_two");
	ok(auth_cache_find(&tc, t[1].hash, 5, now + 10) == NULL,
	    "another token is not taken for it");

	/* Full: the oldest entry goes. */
	memset(&tc, 0, sizeof(tc));
	for (int i = 0; i < TOKEN_CACHE_SLOTS; i++) {
		snprintf(text, sizeof(text), "sto_%d", i);
		token(&t[i], 100 + i, text);
		auth_cache_put(&tc, &t[i], 5, now + i);
	}
	for (int i = 0; i < TOKEN_CACHE_SLOTS; i++)
		if (auth_cache_find(&tc, t[i].hash, 5, now + 50) == NULL)
			all = 0;
	ok(all, "%d tokens are remembered at once", TOKEN_CACHE_SLOTS);
	token(&t[TOKEN_CACHE_SLOTS], 999, "sto_new");
	auth_cache_put(&tc, &t[TOKEN_CACHE_SLOTS], 5, now + 100);
	ok(auth_cache_find(&tc, t[0].hash, 5, now + 100) == NULL &&
	    auth_cache_find(&tc, t[1].hash, 5, now + 100) != NULL &&
	    auth_cache_find(&tc, t[TOKEN_CACHE_SLOTS].hash, 5, now + 100) !=
	    NULL, "one more replaces the oldest only");
}

int
main(void)
{
	plan_lazy();
	bearer();
	roles();
	hash();
	cache();
	return done_testing();
}
