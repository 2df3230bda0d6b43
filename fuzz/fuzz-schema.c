/*
 * fuzz-schema.c - libFuzzer target: the inputs-schema subset. The input is
 * "SCHEMA\0INSTANCE": a schema an admin registers and an input a caller
 * submits. A schema that schema_check() accepts then fills the input's
 * defaults, and validates what the fill gave, as a submission does; a
 * fill must never leave a property the schema refuses where the input had
 * none (every default was checked against its schema).
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
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
			yajl_val filled = NULL;
			verr_clear(&e);
			if (schema_apply_defaults(schema, inst, &filled, &e) > 0 &&
			    schema_validate(schema, inst, "input", &e) == 0 &&
			    schema_validate(schema, filled, "input", &e) == -1)
				abort();	/* a default the check let through */
			(void)schema_validate(schema, filled ? filled : inst,
			    "input", &e);
			yajl_tree_free(filled);
		}
	}
	yajl_tree_free(inst);
	yajl_tree_free(schema);
	return 0;
}
