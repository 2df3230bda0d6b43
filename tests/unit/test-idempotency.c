/* Unit tests of idempotency.c: which Idempotency-Keys are accepted, the
 * canonical text of a body, and the fingerprint built on it. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "idempotency.h"
#include "json.h"
#include "tap.h"

static yajl_val
P(const char *text)
{
	char err[256];
	yajl_val v = json_parse(text, strlen(text), err, sizeof(err));

	if (v == NULL) {
		printf("Bail out! bad test JSON %s: %s\n", text, err);
		exit(1);
	}
	return v;
}

static void
keys(void)
{
	char key[IDEM_KEY_MAX + 2];
	struct verr e;

	is_int(idem_key_check("a", &e), 0, "a one-character key");
	is_int(idem_key_check(" ~!\"order-17 /x?=", &e), 0,
	    "every printable ASCII character, the space included");
	memset(key, 'k', IDEM_KEY_MAX);
	key[IDEM_KEY_MAX] = '\0';
	is_int(idem_key_check(key, &e), 0, "255 characters");
	key[IDEM_KEY_MAX] = 'k';
	key[IDEM_KEY_MAX + 1] = '\0';
	verr_clear(&e);
	is_int(idem_key_check(key, &e), -1, "256 characters are refused");
	is_str(e.field, "Idempotency-Key", "the field is the header");
	ok(strstr(e.message, "256") != NULL, "the message says how long: %s",
	    e.message);
	verr_clear(&e);
	is_int(idem_key_check("", &e), -1, "an empty key is refused");
	is_str(e.field, "Idempotency-Key", "its field is the header");
	static const char *const bad[] = { "a\001b", "tab\there", "del\177",
	    "caf\303\251", "\033[31m" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		verr_clear(&e);
		is_int(idem_key_check(bad[i], &e), -1,
		    "a key with a byte outside ' '..'~' is refused (%zu)", i);
		ok(strstr(e.message, "0x") != NULL &&
		    strchr(e.message, '\033') == NULL &&
		    strchr(e.message, '\001') == NULL,
		    "the byte is named, not echoed: %s", e.message);
	}
	verr_clear(&e);
	idem_key_check("ab\001", &e);
	ok(strstr(e.message, "0x01 at position 3") != NULL,
	    "the message names the byte and its position: %s", e.message);
}

static char *
canon(const char *text)
{
	struct buf b = BUF_INIT;
	yajl_val v = text ? P(text) : NULL;

	idem_canonical(&b, v);
	yajl_tree_free(v);
	return buf_detach(&b, NULL);
}

static void
canonical(void)
{
	static const struct { const char *in, *want; } cases[] = {
		{ NULL, "{}" },
		{ "{}", "{}" },
		{ " { \"b\" : 1 , \"a\" : 2 } ", "{\"a\":2,\"b\":1}" },
		{ "{\"input\":{\"z\":[3,2,1],\"y\":{\"q\":true,\"p\":null}}}",
		  "{\"input\":{\"y\":{\"p\":null,\"q\":true},\"z\":[3,2,1]}}" },
		{ "{\"s\":\"\\u0041\\n\"}", "{\"s\":\"A\\n\"}" },
		{ "{\"n\":1.0,\"m\":1,\"e\":1e3}",
		  "{\"e\":1e3,\"m\":1,\"n\":1.0}" },
		/* Byte order: upper case before lower case, "a" before "ab",
		 * ASCII before multi-byte UTF-8. */
		{ "{\"\\u00e9\":1,\"ab\":2,\"a\":3,\"B\":4}",
		  "{\"B\":4,\"a\":3,\"ab\":2,\"\303\251\":1}" },
		{ "[{\"b\":1,\"a\":0}]", "[{\"a\":0,\"b\":1}]" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *got = canon(cases[i].in);
		is_str(got, cases[i].want, "canonical %s",
		    cases[i].in ? cases[i].in : "(empty body)");
		free(got);
	}
}

static void
hex(const unsigned char *fp, char out[2 * IDEM_FP_BYTES + 1])
{
	for (int i = 0; i < IDEM_FP_BYTES; i++)
		snprintf(out + 2 * i, 3, "%02x", fp[i]);
}

static int
same_fp(long long id1, const char *b1, long long id2, const char *b2)
{
	unsigned char f1[IDEM_FP_BYTES], f2[IDEM_FP_BYTES];
	yajl_val v1 = b1 ? P(b1) : NULL, v2 = b2 ? P(b2) : NULL;

	idem_fingerprint(id1, v1, f1);
	idem_fingerprint(id2, v2, f2);
	yajl_tree_free(v1);
	yajl_tree_free(v2);
	return memcmp(f1, f2, sizeof(f1)) == 0;
}

static void
fingerprints(void)
{
	unsigned char fp[IDEM_FP_BYTES];
	char h[2 * IDEM_FP_BYTES + 1];
	yajl_val v = P("{ \"input\": {\"b\": [2, {\"d\": null, \"c\": "
	    "\"\\u0041\"}], \"a\": 1} }");

	/* sha256 of "7\n" and the canonical text, as Python's hashlib
	 * computes it: the definition the docs give. */
	idem_fingerprint(7, v, fp);
	yajl_tree_free(v);
	hex(fp, h);
	is_str(h, "8bfee560e7861424e675a682299e8b5ec1b1d122b8f0cc8c59470d876ca25244",
	    "sha256(\"7\\n\" + canonical body)");
	ok(same_fp(7, "{\"input\":{\"a\":1,\"b\":2}}", 7,
	    "{\"input\": {\"b\": 2, \"a\": 1}}"),
	    "key order and spacing do not change the fingerprint");
	ok(same_fp(7, NULL, 7, "{}"), "an empty body is {}");
	ok(!same_fp(7, "{\"input\":{\"a\":1}}", 8, "{\"input\":{\"a\":1}}"),
	    "another script, another fingerprint");
	ok(!same_fp(7, "{\"input\":{\"a\":1}}", 7, "{\"input\":{\"a\":2}}"),
	    "another input, another fingerprint");
	ok(!same_fp(7, "{}", 7, "{\"input\":{}}"),
	    "the body as sent: {} and {\"input\": {}} differ");
	/* Without the newline, script 1 with the text 23 and script 12
	 * with the text 3 would both hash "123". */
	ok(!same_fp(1, "23", 12, "3"), "the newline ends the id");
}

int
main(void)
{
	plan_lazy();
	keys();
	canonical();
	fingerprints();
	return done_testing();
}
