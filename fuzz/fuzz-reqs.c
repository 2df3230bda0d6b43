/*
 * fuzz-reqs.c - libFuzzer target: the requirements parser. Any text an
 * admin may put in `requirements`; what it accepts is normalized again and
 * must not change (the venv key depends on it).
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "reqs.h"
#include "verr.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct buf text = BUF_INIT, once = BUF_INIT, twice = BUF_INIT;
	struct verr e;

	buf_add(&text, data, size);
	verr_clear(&e);
	if (memchr(data, '\0', size) == NULL &&
	    reqs_normalize(buf_str(&text), &once, &e) == 0) {
		verr_clear(&e);
		if (reqs_normalize(buf_str(&once), &twice, &e) != 0)
			abort();        /* its own output refused */
		if (once.len != twice.len ||
		    memcmp(buf_str(&once), buf_str(&twice), once.len) != 0)
			abort();        /* normalizing is not idempotent */
	}
	buf_free(&text);
	buf_free(&once);
	buf_free(&twice);
	return 0;
}
