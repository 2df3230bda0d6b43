/*
 * session.c - browser sign-in: the session cookie's text both ways, the
 * cross-site request header, and the sessions themselves (session.h).
 */
#include "config.h"

#include <sodium.h>
#include <string.h>

#include "auth.h"
#include "session.h"
#include "store.h"

/* The form of an id this server makes: URL-safe base64, no padding. */
static int
id_form(const char *s, size_t n)
{
	if (n != SESSION_ID_CHARS)
		return 0;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		    (c >= '0' && c <= '9') || c == '-' || c == '_'))
			return 0;
	}
	return 1;
}

/*
 * Walks a Cookie header: "name=value" pairs separated by ";" and spaces
 * (RFC 6265, 5.4). Calls fn for each pair named scriptorch_session, with
 * its value and the value's length (a value in double quotes is taken
 * without them). Returns how many there were.
 */
static int
cookie_walk(const char *h, void (*fn)(void *arg, const char *v, size_t n),
    void *arg)
{
	static const size_t nlen = sizeof(SESSION_COOKIE) - 1;
	int count = 0;

	while (h != NULL && *h != '\0') {
		const char *end, *eq, *v;
		size_t n;

		while (*h == ' ' || *h == '\t' || *h == ';')
			h++;
		if (*h == '\0')
			break;
		end = strchr(h, ';');
		if (end == NULL)
			end = h + strlen(h);
		eq = memchr(h, '=', (size_t)(end - h));
		if (eq != NULL && (size_t)(eq - h) == nlen &&
		    memcmp(h, SESSION_COOKIE, nlen) == 0) {
			v = eq + 1;
			n = (size_t)(end - v);
			while (n > 0 && (v[n - 1] == ' ' || v[n - 1] == '\t'))
				n--;
			if (n >= 2 && v[0] == '"' && v[n - 1] == '"') {
				v++;
				n -= 2;
			}
			count++;
			if (fn != NULL)
				fn(arg, v, n);
		}
		h = end;
	}
	return count;
}

struct first {
	char *id;
	int seen;
};

static void
take_first(void *arg, const char *v, size_t n)
{
	struct first *f = arg;

	if (f->seen++ > 0 || f->id == NULL)
		return;
	if (id_form(v, n)) {
		memcpy(f->id, v, n);
		f->id[n] = '\0';
	}
}

int
session_cookie_find(const char *header, char id[SESSION_ID_SIZE])
{
	struct first f = { id, 0 };

	if (id != NULL)
		id[0] = '\0';
	return cookie_walk(header, take_first, &f);
}

struct each {
	void (*fn)(void *arg, const char *id);
	void *arg;
};

static void
call_each(void *arg, const char *v, size_t n)
{
	struct each *e = arg;
	char id[SESSION_ID_SIZE];

	if (!id_form(v, n))
		return;
	memcpy(id, v, n);
	id[n] = '\0';
	e->fn(e->arg, id);
}

void
session_cookie_each(const char *header,
    void (*fn)(void *arg, const char *id), void *arg)
{
	struct each e = { fn, arg };

	(void)cookie_walk(header, call_each, &e);
}

void
session_set_cookie(struct buf *out, const char *id, long long max_age_s,
    int secure)
{
	buf_printf(out, SESSION_COOKIE "=%s; Path=/api/; Max-Age=%lld; "
	    "HttpOnly; SameSite=Strict%s", id != NULL ? id : "",
	    id != NULL && max_age_s > 0 ? max_age_s : 0LL,
	    secure ? "; Secure" : "");
}

int
session_csrf_ok(const char *value)
{
	return value != NULL && strcmp(value, SESSION_CSRF_VALUE) == 0;
}

/* SHA-256 of an id's text: what the table keeps. */
static void
id_hash(const char *id, unsigned char out[32])
{
	crypto_hash_sha256(out, (const unsigned char *)id, strlen(id));
}

int
session_open(struct db *db, long long token_id, int ttl_s,
    char id[SESSION_ID_SIZE], char expires_at[32])
{
	unsigned char rnd[32], hash[32];
	char b64[sodium_base64_ENCODED_LEN(32,
	    sodium_base64_VARIANT_URLSAFE_NO_PADDING)];

	randombytes_buf(rnd, sizeof(rnd));
	sodium_bin2base64(b64, sizeof(b64), rnd, sizeof(rnd),
	    sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	sodium_memzero(rnd, sizeof(rnd));
	memcpy(id, b64, SESSION_ID_SIZE);
	sodium_memzero(b64, sizeof(b64));
	id_hash(id, hash);
	return store_session_insert(db, hash, token_id, ttl_s, expires_at);
}

int
session_find(struct db *db, const char *id, struct token_rec *t,
    char expires_at[32], int *found)
{
	unsigned char hash[32], stored[32];

	*found = 0;
	if (!id_form(id, strlen(id)))
		return 0;
	id_hash(id, hash);
	if (store_session_token(db, hash, stored, t, expires_at, found) == -1)
		return -1;
	/* The index found it; the hash is compared again in constant time,
	 * as a token's is (auth.c). */
	if (*found && sodium_memcmp(hash, stored, 32) != 0)
		*found = 0;
	return 0;
}

int
session_close(struct db *db, const char *id)
{
	unsigned char hash[32];

	if (!id_form(id, strlen(id)))
		return 0;
	id_hash(id, hash);
	return store_session_delete(db, hash);
}
