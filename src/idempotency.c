/*
 * idempotency.c - the form of an Idempotency-Key and the fingerprint of a
 * submission (idempotency.h).
 */
#include "config.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "idempotency.h"
#include "json.h"
#include "log.h"

int
idem_key_check(const char *key, struct verr *e)
{
	size_t len = strlen(key);

	if (len == 0) {
		verr_set(e, IDEM_HEADER, IDEM_HEADER " is empty; it must be 1 "
		    "to %d printable ASCII characters", IDEM_KEY_MAX);
		return -1;
	}
	if (len > IDEM_KEY_MAX) {
		verr_set(e, IDEM_HEADER, IDEM_HEADER " has %zu bytes; it must "
		    "be 1 to %d printable ASCII characters", len, IDEM_KEY_MAX);
		return -1;
	}
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)key[i];
		if (c < 0x20 || c > 0x7e) {
			/* The byte is named, never echoed: it may be a control
			 * character. */
			verr_set(e, IDEM_HEADER, IDEM_HEADER " has byte 0x%02x "
			    "at position %zu; it must be 1 to %d printable ASCII "
			    "characters", c, i + 1, IDEM_KEY_MAX);
			return -1;
		}
	}
	return 0;
}

struct member {
	const char *key;
	yajl_val val;
};

static int
member_cmp(const void *a, const void *b)
{
	/* strcmp compares as unsigned char: UTF-8 byte order, which is
	 * code point order. The parser refuses duplicate keys. */
	return strcmp(((const struct member *)a)->key,
	    ((const struct member *)b)->key);
}

/* Writes v with every object's members in key order. The parser keeps
 * trees within JSON_MAX_DEPTH, so the recursion is bounded. */
static void
canonical(struct jw *w, yajl_val v)
{
	if (YAJL_IS_OBJECT(v)) {
		size_t n = v->u.object.len;
		struct member *m = n ? calloc(n, sizeof(*m)) : NULL;

		if (n && m == NULL)
			fatal("calloc");
		for (size_t i = 0; i < n; i++) {
			m[i].key = v->u.object.keys[i];
			m[i].val = v->u.object.values[i];
		}
		qsort(m, n, sizeof(*m), member_cmp);
		jw_obj(w);
		for (size_t i = 0; i < n; i++) {
			jw_key(w, m[i].key);
			canonical(w, m[i].val);
		}
		jw_obj_end(w);
		free(m);
	} else if (YAJL_IS_ARRAY(v)) {
		jw_arr(w);
		for (size_t i = 0; i < v->u.array.len; i++)
			canonical(w, v->u.array.values[i]);
		jw_arr_end(w);
	} else {
		jw_value(w, v);
	}
}

void
idem_canonical(struct buf *out, yajl_val v)
{
	struct jw w;

	if (v == NULL) {
		buf_adds(out, "{}");
		return;
	}
	jw_init(&w, out);
	canonical(&w, v);
	jw_free(&w);
}

void
idem_fingerprint(long long script_id, yajl_val body,
    unsigned char fp[IDEM_FP_BYTES])
{
	struct buf text = BUF_INIT;

	buf_printf(&text, "%lld\n", script_id);
	idem_canonical(&text, body);
	crypto_hash_sha256(fp, (const unsigned char *)text.data, text.len);
	buf_free(&text);
}
