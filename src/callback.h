/*
 * callback.h - the rules of a completion callback (docs/api.md,
 * "Completion callbacks") that need no database and no network: what a
 * callback URL may be and which hosts the config allows, the signature,
 * the backoff between attempts and when to give up, and where the tail of
 * a captured stream begins in a callback's body.
 *
 * The URL is parsed by libcurl's URL API, the parser the sender's transfer
 * uses too, so that the host checked against callback_allow_hosts is the
 * host the POST goes to (no parser differential: "http://a@b/" or
 * "http://0x7f.1/" mean to this check what they mean to curl).
 *
 * Nothing here allocates but into a caller's struct buf; errors go to a
 * caller's buffer as one sentence without a trailing period.
 */
#ifndef SCRIPTORCH_CALLBACK_H
#define SCRIPTORCH_CALLBACK_H

#include <stddef.h>

struct buf;

/* The longest callback URL (the columns are VARCHAR(2048)). */
#define CALLBACK_URL_MAX 2048
/* stdout and stderr are cut to their last this many bytes in a body. */
#define CALLBACK_STREAM_TAIL (64 * 1024)
/* An attempt not answered within this long has failed. */
#define CALLBACK_TIMEOUT_MS 10000
/* The backoff doubles from 1 s up to this. */
#define CALLBACK_BACKOFF_MAX_MS (10 * 60 * 1000LL)
/* A secret shorter than this is refused (config); longer than the max
 * too (it is kept in the config struct). */
#define CALLBACK_SECRET_MIN 16
#define CALLBACK_SECRET_MAX 512
/* "sha256=" + 64 hex digits + NUL. */
#define CALLBACK_SIG_LEN (7 + 64 + 1)

/*
 * Checks the text of callback_allow_hosts: entries separated by commas or
 * blanks, each a host name ("hooks.example.com"), a wildcard for the
 * names under a domain ("*.example.com", not the domain itself), an IPv4
 * address or an IPv6 one in brackets ("[::1]"), optionally with ":port"
 * (without, any port). 0, or -1 with err naming the entry.
 */
int callback_allow_check(const char *list, char *err, size_t errlen);

/*
 * 1 when `host` (as libcurl gives it: a name, an IPv4 address, or an IPv6
 * one in brackets) and `port` match an entry of `list`, compared without
 * regard to case and a trailing dot; an empty list (or NULL) allows every
 * host. 0 otherwise. An entry that callback_allow_check() would refuse
 * matches nothing.
 */
int callback_host_allowed(const char *list, const char *host, long port);

/*
 * Checks a callback URL: printable ASCII, at most CALLBACK_URL_MAX bytes,
 * an absolute http:// or https:// URL with a host, no user name or
 * password in it, and a host and port that `allow` (callback_allow_hosts)
 * lets through. On success the URL as libcurl normalizes it is appended to
 * `out` (NULL: not wanted) and 0 is returned; else -1 with the reason in
 * err.
 */
int callback_url_check(const char *url, const char *allow, struct buf *out,
    char *err, size_t errlen);

/*
 * The signature of a body sent at `ts` (unix seconds): "sha256=" and the
 * hex HMAC-SHA256, under `key`, of "<ts>.<body>", into sig.
 */
void callback_sign(const unsigned char *key, size_t keylen, long long ts,
    const char *body, size_t len, char sig[CALLBACK_SIG_LEN]);

/* How long to wait after the attempt numbered `attempts` (1, 2, ...)
 * failed: 1 s, 2 s, 4 s ..., at most CALLBACK_BACKOFF_MAX_MS. */
long long callback_backoff_ms(unsigned attempts);

/* 1 when a delivery `age_ms` old (since its execution ended) must be given
 * up rather than tried again in `delay_ms`: the next attempt would come
 * after max_age_s. */
int callback_give_up(double age_ms, long long delay_ms, long long max_age_s);

/* Where the last `max` bytes of data[0..len) begin, moved forward past
 * UTF-8 continuation bytes (at most three) so that the tail does not
 * start inside a character: 0 when len <= max. */
size_t callback_tail_start(const char *data, size_t len, size_t max);

#endif
