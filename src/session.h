/*
 * session.h - browser sign-in (docs/api.md, "Sessions"): a session is a
 * random id that a browser keeps in the cookie scriptorch_session and
 * that authenticates as the token it was opened with, until it is signed
 * out, the token is revoked, or it expires (session_ttl_s).
 *
 * The id is 32 random bytes from libsodium, shown once (in the Set-Cookie
 * header) as 43 URL-safe base64 characters; only its SHA-256 is stored
 * (store_sessions.c), as for tokens. A session is only ever made by the
 * server, on a sign-in with a valid token: an id a client brings is never
 * adopted (no session fixation).
 *
 * A request that a session cookie authenticates must also carry
 * "X-Requested-With: scriptorch": a header that a page of another site
 * cannot add without the browser asking first (CORS, which the API never
 * allows), so that no other site can make a signed-in browser act
 * (cross-site request forgery), on top of the cookie's SameSite=Strict.
 *
 * The pure parts (the cookie's text both ways, the header check) touch
 * nothing; the service calls take the worker's database connection.
 * Nothing here allocates but what a struct buf passed in holds.
 */
#ifndef SCRIPTORCH_SESSION_H
#define SCRIPTORCH_SESSION_H

#include <stddef.h>

#include "buf.h"

struct db;
struct token_rec;

#define SESSION_COOKIE "scriptorch_session"
/* The header (and its one value) that every cookie request carries; as
 * a FastCGI parameter it is HTTP_X_REQUESTED_WITH. */
#define SESSION_CSRF_HEADER "X-Requested-With"
#define SESSION_CSRF_PARAM "HTTP_X_REQUESTED_WITH"
#define SESSION_CSRF_VALUE "scriptorch"
/* The id's text: 43 URL-safe base64 characters, and the NUL. */
#define SESSION_ID_CHARS 43
#define SESSION_ID_SIZE (SESSION_ID_CHARS + 1)

/* ---- the pure parts ---- */

/*
 * Finds the scriptorch_session cookie in a Cookie header's value
 * ("a=1; scriptorch_session=...; b=2"; NULL is no header). Returns how
 * many cookies of that name it holds (0, 1 or more); the first one's
 * value is copied into `id` when it has the form of a session id (43
 * URL-safe base64 characters), else `id` is "" (a value of another form
 * names no session). `id` may be NULL when only the count matters.
 */
int session_cookie_find(const char *header, char id[SESSION_ID_SIZE]);
/* Each scriptorch_session value of a Cookie header (for a sign-out,
 * which ends every one it is sent): calls fn with each value of the
 * session id's form. */
void session_cookie_each(const char *header,
    void (*fn)(void *arg, const char *id), void *arg);
/*
 * The Set-Cookie header's value that gives a browser the session `id`
 * for `max_age_s` seconds, or, with id NULL, that makes it forget the
 * cookie (an empty value, Max-Age=0): HttpOnly (no script of a page
 * reads it), SameSite=Strict (no other site's request carries it),
 * Path=/api/ (it goes to the API only), and Secure when `secure`.
 * Appended to `out`.
 */
void session_set_cookie(struct buf *out, const char *id, long long max_age_s,
    int secure);
/* Whether an X-Requested-With value (NULL: absent) is the one a cookie
 * request must carry. */
int session_csrf_ok(const char *value);

/* ---- the service ---- */

/*
 * Opens a session for token `token_id`, valid for `ttl_s` seconds:
 * `id` gets its text (for the cookie; never stored) and `expires_at` its
 * end (RFC 3339). 0 or -1 (database).
 */
int session_open(struct db *db, long long token_id, int ttl_s,
    char id[SESSION_ID_SIZE], char expires_at[32]);
/*
 * The session named `id`, if it is open and has not expired: *found = 1
 * with its token in *t (which may be revoked: the caller refuses it then)
 * and its end in `expires_at`; *found = 0 otherwise. 0 or -1 (database).
 */
int session_find(struct db *db, const char *id, struct token_rec *t,
    char expires_at[32], int *found);
/* Signs session `id` out (a session that is not open is fine). 0 or -1. */
int session_close(struct db *db, const char *id);

#endif
