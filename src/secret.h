/*
 * secret.h - secrets at rest and in output.
 *
 * At rest: a script's secret_env values are sealed with libsodium's
 * secretbox (XSalsa20-Poly1305) under the node's key, a file of 64 hex
 * characters (32 random bytes) that only the daemon may read. A sealed
 * value is text: "v1:" + base64 of nonce and ciphertext, so it sits in a
 * JSON column like any other string. Opening checks the MAC: a value
 * sealed under another key, or altered, is refused, never half-read.
 *
 * In output: a struct secret_mask holds the values to hide (secret_env
 * values and secret inputs of one run, each 4 bytes or longer; shorter
 * ones are ignored, as the contract says) and replaces every occurrence in
 * a text with "***" before it is stored, shown or logged.
 *
 * Ownership: a struct secret_key owns no memory (secret_key_wipe() clears
 * it); a struct secret_mask owns copies of its values, released and wiped
 * by secret_mask_free(). Output goes to a caller's struct buf, appended.
 */
#ifndef SCRIPTORCH_SECRET_H
#define SCRIPTORCH_SECRET_H

#include <stddef.h>

#include "buf.h"

#define SECRET_KEY_BYTES 32
/* What every stored secret shows instead of its value. */
#define SECRET_MASK "***"
/* Values shorter than this are not masked in output (too common). */
#define SECRET_MASK_MIN 4

struct secret_key {
	unsigned char k[SECRET_KEY_BYTES];
};

/*
 * Reads the key file at `path`: 64 hex characters (a newline may follow).
 * Refused, with a message in err, when it is missing, of another form, or
 * readable or writable by group or others (mode & 077), or not a regular
 * file. 0 or -1.
 */
int secret_key_load(const char *path, struct secret_key *key, char *err,
    size_t errlen);
/*
 * Makes a new key file at `path` (mode 0600, never over an existing file)
 * with 32 bytes from libsodium's random source. 0 or -1 with err.
 */
int secret_key_create(const char *path, char *err, size_t errlen);
void secret_key_wipe(struct secret_key *key);

/* Appends the sealed form of plain[0..len) to out. */
void secret_seal(const struct secret_key *key, const char *plain, size_t len,
    struct buf *out);
/*
 * Appends the value sealed in `sealed` (NUL-terminated) to out. -1 with a
 * message in err when it is not a sealed value or does not open under
 * this key.
 */
int secret_open(const struct secret_key *key, const char *sealed,
    struct buf *out, char *err, size_t errlen);
/* 1 if `s` has the sealed form's prefix. */
int secret_is_sealed(const char *s);

struct secret_mask {
	char **vals;
	size_t *lens;
	size_t n;
	unsigned char first[256];  /* first bytes of the values, for speed */
};

#define SECRET_MASK_INIT { NULL, NULL, 0, { 0 } }

/* Adds a value to hide (copied); ignored when shorter than
 * SECRET_MASK_MIN or already there. */
void secret_mask_add(struct secret_mask *m, const char *val, size_t len);
void secret_mask_free(struct secret_mask *m);

/* Where a text was cut (captured output keeps a head and a tail). */
enum {
	SECRET_CUT_BEFORE = 1,  /* the text starts right after a cut */
	SECRET_CUT_AFTER = 2,   /* the text ends right at a cut */
};

/*
 * Appends in[0..len) to out with every occurrence of a value replaced by
 * SECRET_MASK (the longest value wins where two start at one byte). With
 * `cut` flags, a value cut in two by the cut is masked too: the end of a
 * value at the start of the text (SECRET_CUT_BEFORE), or its beginning at
 * the end (SECRET_CUT_AFTER). Returns the number of replacements.
 */
size_t secret_mask_apply(const struct secret_mask *m, const char *in,
    size_t len, int cut, struct buf *out);

#endif
