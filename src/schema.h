/*
 * schema.h - the JSON Schema subset a script's `inputs` is written in.
 *
 * Keywords: type (string, number, integer, boolean, object, array, null,
 * or a non-empty array of those), properties, required, enum, minimum,
 * maximum, maxLength, items; plus the annotations title and description
 * (strings, no effect on validation), default (any value the schema it
 * sits in accepts; on a property of the root it fills that property when
 * an input lacks it, schema_apply_defaults; elsewhere it only documents)
 * and secret (true or false, only on a property of the root: "secret":
 * true marks a secret input, whose value the stored execution shows as
 * "***"; on any other schema it is refused, since a nested value cannot
 * be hidden apart from the top-level value that holds it; a secret
 * property has no default). Anything else, "additionalProperties"
 * included, is rejected by schema_check() so that a typo ("minimun") is
 * caught at registration instead of being ignored.
 *
 * Semantics follow JSON Schema where the subset overlaps it, with these
 * choices:
 *  - "integer" means a JSON number written without a fraction or an
 *    exponent: 3 is an integer (and a number), 3.0 and 1e3 are numbers
 *    only.
 *  - enum compares with JSON equality: 3 equals 3.0, object key order
 *    does not matter.
 *  - maxLength counts Unicode code points, not bytes.
 *  - minimum, maximum and maxLength apply only to numbers (strings for
 *    maxLength), items only to arrays, properties and required only to
 *    objects, as in JSON Schema.
 *  - when properties is given, every name in required must be one of
 *    them (a required name that is not a declared property is a typo).
 *
 * Both functions borrow their arguments and allocate nothing that
 * outlives the call. They return 0 on success, -1 with `e` filled.
 */
#ifndef SCRIPTORCH_SCHEMA_H
#define SCRIPTORCH_SCHEMA_H

#include <yajl/yajl_tree.h>

#include "buf.h"
#include "verr.h"

/* How deep a schema may nest (each properties/items level counts one). */
#define SCHEMA_MAX_DEPTH 32

/*
 * Checks that `schema` is a well-formed inputs schema: known keywords with
 * values of the right type, and a root that is {"type": "object", ...} or
 * has no type but has properties. Error fields are paths rooted at
 * "inputs", e.g. "inputs.properties.strength.minimum". NULL is an error.
 */
int schema_check(yajl_val schema, struct verr *e);

/*
 * Validates `instance` against `schema`, which must have passed
 * schema_check(). The root instance must be a JSON object (the contract's
 * input always is); NULL is treated as a missing object. Error fields are
 * paths rooted at `root_name` (normally "input"): "input.segment_path",
 * "input.frames[2]", or "input[\"a b\"]" for keys that are not plain
 * identifiers. A NULL schema accepts any object.
 */
int schema_validate(yajl_val schema, yajl_val instance, const char *root_name,
    struct verr *e);
/*
 * The same, going on past an invalid top-level property: every missing
 * required name and every invalid property of the root object is added
 * to `all` (NULL: as schema_validate), one error each (the first found
 * within a property), e being the first. An error about the root itself
 * (not an object) is e alone.
 */
int schema_validate_all(yajl_val schema, yajl_val instance,
    const char *root_name, struct verr *e, struct verr_list *all);

/*
 * Fills the input's missing top-level properties that have a "default"
 * in the schema (checked, or NULL), before the input is validated: the
 * run then sees them as if the caller had sent them (environment, stdin,
 * args placeholders, the stored input). `input` is an object or NULL
 * (as {}); anything else is left to schema_validate to refuse. Returns
 * how many were filled: 0 leaves *filled NULL; otherwise *filled is a new
 * tree (the caller frees it with yajl_tree_free): the input's members in
 * their order, then the filled ones in the order of the schema's
 * properties. -1 only when the new tree cannot be built (e says why).
 */
int schema_apply_defaults(yajl_val schema, yajl_val input, yajl_val *filled,
    struct verr *e);

/* What a stored input shows for a secret property's value. */
#define SCHEMA_SECRET_SHOWN "***"

/* 1 when `schema` (checked, or NULL) marks top-level property `key`
 * "secret": true, else 0. */
int schema_prop_secret(yajl_val schema, const char *key);

/*
 * Splits an input (an object, as schema_validate accepted it) by the
 * schema's secret properties: appends to `shown` its compact JSON with
 * the value of each secret property replaced by "***" (the stored
 * `input`), and to `secret` the compact JSON object of those properties
 * with their values (to be sealed). Returns how many there were (0:
 * `secret` holds "{}" and need not be kept). Keys keep their order. An
 * input that is not an object goes to `shown` as it is.
 */
int schema_split_secret(yajl_val schema, yajl_val input, struct buf *shown,
    struct buf *secret);

/*
 * Helpers shared with the other validators.
 * schema_is_integer: 1 if `v` is a number written without fraction or
 * exponent. schema_utf8_len: the number of code points in a valid UTF-8
 * string (bytes that are not continuation bytes).
 * schema_path_key: appends ".key", or ["key"] with " and \ escaped when
 * the key is not made of [A-Za-z0-9_-], to the path in `path`.
 */
int schema_is_integer(yajl_val v);
size_t schema_utf8_len(const char *s);
void schema_path_key(struct buf *path, const char *key);

#endif
