/*
 * fuzz-schema.c - libFuzzer target: the inputs-schema subset. The input is
 * "SCHEMA\0INSTANCE": a schema an admin registers and an input a caller
 * submits. A schema that schema_check() accepts is then used to validate.
 */
#include "config.h"

#include <stdint.h>
#include <string.h>

#include "json.h"
#include "schema.h"
#include "verr.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *z = memchr(data, '\0', size);
	yajl_val schema, inst = NULL;
	struct verr e;

	if (z == NULL)
		return 0;
	schema = json_parse((const char *)data, (size_t)(z - data), NULL, 0);
	if (schema == NULL)
		return 0;
	verr_clear(&e);
	if (schema_check(schema, &e) == 0) {
		size_t off = (size_t)(z - data) + 1;
		inst = json_parse((const char *)data + off, size - off, NULL, 0);
		if (inst != NULL) {
			verr_clear(&e);
			(void)schema_validate(schema, inst, "input", &e);
		}
	}
	yajl_tree_free(inst);
	yajl_tree_free(schema);
	return 0;
}
