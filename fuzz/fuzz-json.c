/*
 * fuzz-json.c - libFuzzer target: json_parse on any bytes (request bodies
 * and script stdout take this path). What parses is written back compactly
 * and must parse again to the same text: the writer and the reader agree.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[256];
	struct buf a = BUF_INIT, b = BUF_INIT;
	yajl_val v, w;

	v = json_parse((const char *)data, size, err, sizeof(err));
	if (v == NULL)
		return 0;
	json_dump(&a, v);
	w = json_parse(a.data, a.len, err, sizeof(err));
	if (w == NULL)
		abort();        /* we wrote JSON we cannot read */
	json_dump(&b, w);
	if (a.len != b.len || memcmp(a.data, b.data, a.len) != 0)
		abort();        /* not stable through a round trip */
	yajl_tree_free(v);
	yajl_tree_free(w);
	buf_free(&a);
	buf_free(&b);
	return 0;
}
