#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "json.h"
#include "schema.h"

#define T_STRING	0x01
#define T_NUMBER	0x02
#define T_INTEGER	0x04
#define T_BOOLEAN	0x08
#define T_OBJECT	0x10
#define T_ARRAY		0x20
#define T_NULL		0x40

static const struct {
	const char *name;
	const char *article;	/* how a message names it */
	unsigned bit;
} types[] = {
	{ "string", "a string", T_STRING },
	{ "number", "a number", T_NUMBER },
	{ "integer", "an integer", T_INTEGER },
	{ "boolean", "a boolean", T_BOOLEAN },
	{ "object", "an object", T_OBJECT },
	{ "array", "an array", T_ARRAY },
	{ "null", "null", T_NULL },
};
#define NTYPES (sizeof(types) / sizeof(types[0]))

static const char *const keywords[] = {
	"type", "properties", "required", "enum", "minimum", "maximum",
	"maxLength", "items", "title", "description", "default", "secret",
};
#define NKEYWORDS (sizeof(keywords) / sizeof(keywords[0]))

/* --- small helpers ------------------------------------------------------ */

int
schema_is_integer(yajl_val v)
{
	const char *r;

	if (!YAJL_IS_NUMBER(v))
		return 0;
	r = v->u.number.r;
	if (r == NULL)	/* a tree built in code, not parsed */
		return YAJL_IS_INTEGER(v) ? 1 : 0;
	/* Text decides, not the flags: 1e2 converts to an int64 in no
	 * parser, 99999999999999999999 does not fit one but is an integer. */
	return strpbrk(r, ".eE") == NULL;
}

size_t
schema_utf8_len(const char *s)
{
	size_t n = 0;

	for (; *s != '\0'; s++)
		if (((unsigned char)*s & 0xC0) != 0x80)
			n++;
	return n;
}

static int
key_is_plain(const char *key)
{
	const char *p;

	if (*key == '\0')
		return 0;
	for (p = key; *p != '\0'; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		    (*p >= '0' && *p <= '9') || *p == '_' || *p == '-'))
			return 0;
	return 1;
}

void
schema_path_key(struct buf *path, const char *key)
{
	const char *p;

	if (key_is_plain(key)) {
		buf_addc(path, '.');
		buf_adds(path, key);
		return;
	}
	buf_adds(path, "[\"");
	for (p = key; *p != '\0'; p++) {
		if (*p == '"' || *p == '\\')
			buf_addc(path, '\\');
		buf_addc(path, *p);
	}
	buf_adds(path, "\"]");
}

static void
path_cut(struct buf *path, size_t len)
{
	path->len = len;
	if (path->data != NULL)
		path->data[len] = '\0';
}

static unsigned
type_bit(const char *name)
{
	size_t i;

	for (i = 0; i < NTYPES; i++)
		if (strcmp(types[i].name, name) == 0)
			return types[i].bit;
	return 0;
}

static double
num_double(yajl_val v)
{
	if (YAJL_IS_DOUBLE(v))
		return v->u.number.d;
	/* Out of double range (1e400): strtod gives +-HUGE_VAL, which still
	 * orders correctly against any finite bound. */
	return v->u.number.r != NULL ? strtod(v->u.number.r, NULL) : 0.0;
}

/* Orders two numbers: exactly when both fit an int64, else as doubles. */
static int
num_cmp(yajl_val a, yajl_val b)
{
	if (YAJL_IS_INTEGER(a) && YAJL_IS_INTEGER(b)) {
		long long x = a->u.number.i, y = b->u.number.i;

		return x < y ? -1 : x > y;
	} else {
		double x = num_double(a), y = num_double(b);

		return x < y ? -1 : x > y;
	}
}

static yajl_val
obj_get(yajl_val obj, const char *key)
{
	size_t i;

	for (i = 0; i < obj->u.object.len; i++)
		if (strcmp(obj->u.object.keys[i], key) == 0)
			return obj->u.object.values[i];
	return NULL;
}

/* JSON equality, as enum needs it. */
static int
json_equal(yajl_val a, yajl_val b)
{
	size_t i;
	yajl_val bv;

	if (a == NULL || b == NULL)
		return a == b;
	if (a->type != b->type)
		return 0;
	switch (a->type) {
	case yajl_t_string:
		return strcmp(a->u.string, b->u.string) == 0;
	case yajl_t_number:
		return num_cmp(a, b) == 0;
	case yajl_t_array:
		if (a->u.array.len != b->u.array.len)
			return 0;
		for (i = 0; i < a->u.array.len; i++)
			if (!json_equal(a->u.array.values[i],
			    b->u.array.values[i]))
				return 0;
		return 1;
	case yajl_t_object:
		if (a->u.object.len != b->u.object.len)
			return 0;
		for (i = 0; i < a->u.object.len; i++) {
			bv = obj_get(b, a->u.object.keys[i]);
			if (bv == NULL ||
			    !json_equal(a->u.object.values[i], bv))
				return 0;
		}
		return 1;
	default:	/* true, false, null: the type is the value */
		return 1;
	}
}

/* A short description of a value for messages: "a string", "3.5". */
static void
describe(struct buf *out, yajl_val v)
{
	if (YAJL_IS_NUMBER(v) && v->u.number.r != NULL &&
	    strlen(v->u.number.r) <= 32)
		buf_adds(out, v->u.number.r);
	else if (YAJL_IS_NUMBER(v))
		buf_adds(out, "a number");
	else if (YAJL_IS_STRING(v))
		buf_adds(out, "a string");
	else if (YAJL_IS_TRUE(v))
		buf_adds(out, "true");
	else if (YAJL_IS_FALSE(v))
		buf_adds(out, "false");
	else if (YAJL_IS_OBJECT(v))
		buf_adds(out, "an object");
	else if (YAJL_IS_ARRAY(v))
		buf_adds(out, "an array");
	else
		buf_adds(out, "null");
}

/* An enum member for messages: strings quoted, containers elided. */
static void
show_value(struct buf *out, yajl_val v)
{
	if (YAJL_IS_STRING(v))
		buf_printf(out, "\"%s\"", v->u.string);
	else if (YAJL_IS_OBJECT(v))
		buf_adds(out, "{...}");
	else if (YAJL_IS_ARRAY(v))
		buf_adds(out, "[...]");
	else
		describe(out, v);
}

/* --- schema_check ------------------------------------------------------- */

static int check_node(yajl_val s, struct buf *path, int depth, int top_prop,
    struct verr *e);
static int validate_node(yajl_val s, yajl_val v, struct buf *path,
    struct verr *e, struct verr_list *all);

/* Sets the error at path + "." + kw. */
static void
kw_error(struct verr *e, struct buf *path, const char *kw, const char *what)
{
	size_t len = path->len;

	schema_path_key(path, kw);
	verr_set(e, buf_str(path), "%s %s", buf_str(path), what);
	path_cut(path, len);
}

static int
check_type(yajl_val t, struct buf *path, struct verr *e)
{
	size_t i, len = path->len;
	unsigned bit, seen = 0;
	yajl_val el;

	if (YAJL_IS_STRING(t)) {
		if (type_bit(t->u.string) != 0)
			return 0;
		schema_path_key(path, "type");
		verr_set(e, buf_str(path), "%s names unknown type \"%s\" "
		    "(known: string, number, integer, boolean, object, array, "
		    "null)", buf_str(path), t->u.string);
		path_cut(path, len);
		return -1;
	}
	if (!YAJL_IS_ARRAY(t) || t->u.array.len == 0) {
		kw_error(e, path, "type", "must be a type name or a non-empty "
		    "array of type names");
		return -1;
	}
	schema_path_key(path, "type");
	for (i = 0; i < t->u.array.len; i++) {
		el = t->u.array.values[i];
		if (!YAJL_IS_STRING(el)) {
			verr_set(e, buf_str(path), "%s[%zu] must be a type name",
			    buf_str(path), i);
			goto fail;
		}
		if ((bit = type_bit(el->u.string)) == 0) {
			verr_set(e, buf_str(path), "%s[%zu] names unknown type "
			    "\"%s\"", buf_str(path), i, el->u.string);
			goto fail;
		}
		if (seen & bit) {
			verr_set(e, buf_str(path), "%s lists \"%s\" twice",
			    buf_str(path), el->u.string);
			goto fail;
		}
		seen |= bit;
	}
	path_cut(path, len);
	return 0;
fail:
	path_cut(path, len);
	return -1;
}

static int
check_required(yajl_val req, yajl_val props, struct buf *path, struct verr *e)
{
	size_t i, j, len = path->len;
	yajl_val el;

	if (!YAJL_IS_ARRAY(req)) {
		kw_error(e, path, "required", "must be an array of property "
		    "names");
		return -1;
	}
	schema_path_key(path, "required");
	for (i = 0; i < req->u.array.len; i++) {
		el = req->u.array.values[i];
		if (!YAJL_IS_STRING(el)) {
			verr_set(e, buf_str(path), "%s[%zu] must be a string",
			    buf_str(path), i);
			goto fail;
		}
		for (j = 0; j < i; j++)
			if (strcmp(req->u.array.values[j]->u.string,
			    el->u.string) == 0) {
				verr_set(e, buf_str(path), "%s lists \"%s\" "
				    "twice", buf_str(path), el->u.string);
				goto fail;
			}
		if (YAJL_IS_OBJECT(props) && obj_get(props, el->u.string) ==
		    NULL) {
			verr_set(e, buf_str(path), "%s names \"%s\", which is "
			    "not in properties", buf_str(path), el->u.string);
			goto fail;
		}
	}
	path_cut(path, len);
	return 0;
fail:
	path_cut(path, len);
	return -1;
}

/*
 * "secret": true marks a top-level property whose value is hidden once
 * accepted (stored as "***", masked in output). Anywhere else it is
 * refused rather than ignored: a nested value cannot be hidden apart from
 * the object that holds it, and a schema that seems to promise it would
 * mislead.
 */
static int
check_secret(yajl_val v, struct buf *path, int top_prop, struct verr *e)
{
	if (!top_prop) {
		kw_error(e, path, "secret", "is only allowed on a top-level "
		    "property (inputs.properties.NAME.secret): mark the "
		    "top-level property that holds this value secret");
		return -1;
	}
	if (!YAJL_IS_TRUE(v) && !YAJL_IS_FALSE(v)) {
		kw_error(e, path, "secret", "must be true or false");
		return -1;
	}
	return 0;
}

static int
check_properties(yajl_val props, struct buf *path, int depth, struct verr *e)
{
	size_t i, len = path->len;

	if (!YAJL_IS_OBJECT(props)) {
		kw_error(e, path, "properties", "must be an object of schemas");
		return -1;
	}
	for (i = 0; i < props->u.object.len; i++) {
		schema_path_key(path, "properties");
		schema_path_key(path, props->u.object.keys[i]);
		if (check_node(props->u.object.values[i], path, depth + 1,
		    depth == 0, e) == -1) {
			path_cut(path, len);
			return -1;
		}
		path_cut(path, len);
	}
	return 0;
}

/*
 * "default" is an annotation that becomes a value: on a property of the
 * root it fills a missing input (schema_apply_defaults), so it must be a
 * value the schema accepts, or every run that relies on it would be
 * refused for an input its caller never wrote. Checked against the
 * schema it sits in, after all of that schema's keywords passed. A
 * secret property has none: the schema is shown to every reader, and a
 * value written in it is no secret.
 */
static int
check_default(yajl_val s, struct buf *path, struct verr *e)
{
	yajl_val def = obj_get(s, "default"), sec = obj_get(s, "secret");
	size_t len = path->len;
	int rc;

	if (def == NULL)
		return 0;
	if (sec != NULL && YAJL_IS_TRUE(sec)) {
		kw_error(e, path, "default", "is not allowed on a secret "
		    "property: the schema is shown to every reader, so its "
		    "default would be no secret");
		return -1;
	}
	schema_path_key(path, "default");
	rc = validate_node(s, def, path, e, NULL);
	path_cut(path, len);
	return rc;
}

/*
 * Checks one schema object. Each keyword is checked where it is met, so
 * the first error in document order is the one reported; the relations
 * between keywords (minimum <= maximum, required within properties) are
 * checked after the loop, when all of them are known. `top_prop`: s is
 * a property of the root, the only place "secret" is allowed.
 */
static int
check_node(yajl_val s, struct buf *path, int depth, int top_prop,
    struct verr *e)
{
	yajl_val v, props, min = NULL, max = NULL;
	const char *kw;
	size_t i, k, len = path->len;

	if (!YAJL_IS_OBJECT(s)) {
		verr_set(e, buf_str(path), "%s must be a schema (a JSON object)",
		    buf_str(path));
		return -1;
	}
	if (depth > SCHEMA_MAX_DEPTH) {
		verr_set(e, buf_str(path), "%s nests deeper than %d levels",
		    buf_str(path), SCHEMA_MAX_DEPTH);
		return -1;
	}
	props = obj_get(s, "properties");
	for (i = 0; i < s->u.object.len; i++) {
		kw = s->u.object.keys[i];
		v = s->u.object.values[i];
		for (k = 0; k < NKEYWORDS; k++)
			if (strcmp(kw, keywords[k]) == 0)
				break;
		if (k == NKEYWORDS) {
			schema_path_key(path, kw);
			verr_set(e, buf_str(path), "%.*s has unknown keyword "
			    "\"%s\" (supported: type, properties, required, "
			    "enum, minimum, maximum, maxLength, items, title, "
			    "description, default, secret)", (int)len,
			    buf_str(path),
			    kw);
			path_cut(path, len);
			return -1;
		}
		if (strcmp(kw, "type") == 0) {
			if (check_type(v, path, e) == -1)
				return -1;
		} else if (strcmp(kw, "properties") == 0) {
			if (check_properties(v, path, depth, e) == -1)
				return -1;
		} else if (strcmp(kw, "required") == 0) {
			if (check_required(v, props, path, e) == -1)
				return -1;
		} else if (strcmp(kw, "enum") == 0) {
			if (!YAJL_IS_ARRAY(v) || v->u.array.len == 0) {
				kw_error(e, path, kw, "must be a non-empty "
				    "array");
				return -1;
			}
		} else if (strcmp(kw, "minimum") == 0 ||
		    strcmp(kw, "maximum") == 0) {
			if (!YAJL_IS_NUMBER(v)) {
				kw_error(e, path, kw, "must be a number");
				return -1;
			}
			if (strcmp(kw, "minimum") == 0)
				min = v;
			else
				max = v;
		} else if (strcmp(kw, "maxLength") == 0) {
			if (!schema_is_integer(v) || !YAJL_IS_INTEGER(v) ||
			    v->u.number.i < 0) {
				kw_error(e, path, kw, "must be a non-negative "
				    "integer");
				return -1;
			}
		} else if (strcmp(kw, "secret") == 0) {
			if (check_secret(v, path, top_prop, e) == -1)
				return -1;
		} else if (strcmp(kw, "default") == 0) {
			/* Any value: checked against this schema below,
			 * once every keyword of it is known good. */
		} else if (strcmp(kw, "items") == 0) {
			schema_path_key(path, "items");
			if (check_node(v, path, depth + 1, 0, e) == -1) {
				path_cut(path, len);
				return -1;
			}
			path_cut(path, len);
		} else if (!YAJL_IS_STRING(v)) {	/* title, description */
			kw_error(e, path, kw, "must be a string");
			return -1;
		}
	}
	if (min != NULL && max != NULL && num_cmp(min, max) > 0) {
		kw_error(e, path, "minimum", "is greater than maximum");
		return -1;
	}
	return check_default(s, path, e);
}

int
schema_check(yajl_val schema, struct verr *e)
{
	struct buf path = BUF_INIT;
	yajl_val t;
	int rc = -1;

	buf_adds(&path, "inputs");
	if (!YAJL_IS_OBJECT(schema)) {
		verr_set(e, "inputs", "inputs must be a JSON Schema object");
		goto out;
	}
	if (check_node(schema, &path, 0, 0, e) == -1)
		goto out;
	/* The input is always an object, so the root must describe one. */
	t = obj_get(schema, "type");
	if (t != NULL && !(YAJL_IS_STRING(t) &&
	    strcmp(t->u.string, "object") == 0)) {
		verr_set(e, "inputs.type", "inputs.type must be \"object\": "
		    "an input is always a JSON object");
		goto out;
	}
	if (t == NULL && obj_get(schema, "properties") == NULL) {
		verr_set(e, "inputs", "inputs must have \"type\": \"object\" "
		    "or properties");
		goto out;
	}
	rc = 0;
out:
	buf_free(&path);
	return rc;
}

/* --- schema_validate ---------------------------------------------------- */

static unsigned
value_types(yajl_val v)
{
	if (YAJL_IS_STRING(v))
		return T_STRING;
	if (YAJL_IS_NUMBER(v))
		return T_NUMBER | (schema_is_integer(v) ? T_INTEGER : 0);
	if (YAJL_IS_TRUE(v) || YAJL_IS_FALSE(v))
		return T_BOOLEAN;
	if (YAJL_IS_OBJECT(v))
		return T_OBJECT;
	if (YAJL_IS_ARRAY(v))
		return T_ARRAY;
	return T_NULL;
}

/* "input.x must be a string, an integer or null, not an object" */
static void
type_error(struct verr *e, const char *path, unsigned want, yajl_val v)
{
	struct buf msg = BUF_INIT;
	size_t i, n = 0, total = 0;

	for (i = 0; i < NTYPES; i++)
		if (want & types[i].bit)
			total++;
	buf_printf(&msg, "%s must be ", path);
	for (i = 0; i < NTYPES; i++) {
		if (!(want & types[i].bit))
			continue;
		if (n > 0)
			buf_adds(&msg, n + 1 == total ? " or " : ", ");
		buf_adds(&msg, types[i].article);
		n++;
	}
	buf_adds(&msg, ", not ");
	describe(&msg, v);
	verr_set(e, path, "%s", buf_str(&msg));
	buf_free(&msg);
}

static unsigned
schema_types(yajl_val t)
{
	unsigned want = 0;
	size_t i;

	if (YAJL_IS_STRING(t))
		return type_bit(t->u.string);
	if (YAJL_IS_ARRAY(t))
		for (i = 0; i < t->u.array.len; i++)
			if (YAJL_IS_STRING(t->u.array.values[i]))
				want |= type_bit(t->u.array.values[i]->u.string);
	return want;
}

/*
 * An object's required names and properties. With `all` (the root's,
 * for schema_validate_all) every missing name and every property is
 * looked at, each error added there; without, the first error ends it.
 * Properties deeper down always stop at their first error: one error
 * per top-level property.
 */
static int
validate_object(yajl_val s, yajl_val v, struct buf *path, struct verr *e,
    struct verr_list *all)
{
	yajl_val req = obj_get(s, "required"), props = obj_get(s, "properties");
	yajl_val ps;
	size_t i, len = path->len;
	const char *key;
	int rc = 0;

	if (YAJL_IS_ARRAY(req))
		for (i = 0; i < req->u.array.len; i++) {
			key = req->u.array.values[i]->u.string;
			if (obj_get(v, key) != NULL)
				continue;
			schema_path_key(path, key);
			verr_set(e, buf_str(path), "%s is required",
			    buf_str(path));
			path_cut(path, len);
			if (all == NULL)
				return -1;
			verr_list_add(all, e);
			if (verr_list_full(all))
				return -1;
			rc = -1;
		}
	if (!YAJL_IS_OBJECT(props))
		return rc;
	/* Walk the instance, not the schema, so that a duplicated key is
	 * checked every time it appears. */
	for (i = 0; i < v->u.object.len; i++) {
		key = v->u.object.keys[i];
		if ((ps = obj_get(props, key)) == NULL)
			continue;
		schema_path_key(path, key);
		if (validate_node(ps, v->u.object.values[i], path, e,
		    NULL) == -1) {
			path_cut(path, len);
			if (all == NULL)
				return -1;
			verr_list_add(all, e);
			if (verr_list_full(all))
				return -1;
			rc = -1;
			continue;
		}
		path_cut(path, len);
	}
	return rc;
}

static int
validate_node(yajl_val s, yajl_val v, struct buf *path, struct verr *e,
    struct verr_list *all)
{
	yajl_val t, en, lim, items;
	unsigned want;
	size_t i, n, len = path->len;
	struct buf msg = BUF_INIT;

	if ((t = obj_get(s, "type")) != NULL) {
		want = schema_types(t);
		if ((value_types(v) & want) == 0) {
			type_error(e, buf_str(path), want, v);
			return -1;
		}
	}
	if ((en = obj_get(s, "enum")) != NULL && YAJL_IS_ARRAY(en)) {
		for (i = 0; i < en->u.array.len; i++)
			if (json_equal(en->u.array.values[i], v))
				break;
		if (i == en->u.array.len) {
			buf_printf(&msg, "%s must be one of ", buf_str(path));
			for (i = 0; i < en->u.array.len; i++) {
				if (i > 0)
					buf_adds(&msg, ", ");
				show_value(&msg, en->u.array.values[i]);
			}
			verr_set(e, buf_str(path), "%s", buf_str(&msg));
			buf_free(&msg);
			return -1;
		}
	}
	if (YAJL_IS_NUMBER(v)) {
		lim = obj_get(s, "minimum");
		if (YAJL_IS_NUMBER(lim) && num_cmp(v, lim) < 0) {
			verr_set(e, buf_str(path), "%s must be at least %s",
			    buf_str(path), lim->u.number.r);
			return -1;
		}
		lim = obj_get(s, "maximum");
		if (YAJL_IS_NUMBER(lim) && num_cmp(v, lim) > 0) {
			verr_set(e, buf_str(path), "%s must be at most %s",
			    buf_str(path), lim->u.number.r);
			return -1;
		}
	}
	if (YAJL_IS_STRING(v)) {
		lim = obj_get(s, "maxLength");
		if (YAJL_IS_INTEGER(lim) &&
		    (n = schema_utf8_len(v->u.string)) >
		    (unsigned long long)lim->u.number.i) {
			verr_set(e, buf_str(path), "%s must be at most %lld "
			    "characters long, not %zu", buf_str(path),
			    lim->u.number.i, n);
			return -1;
		}
	}
	if (YAJL_IS_OBJECT(v) && validate_object(s, v, path, e, all) == -1)
		return -1;
	if (YAJL_IS_ARRAY(v) && (items = obj_get(s, "items")) != NULL)
		for (i = 0; i < v->u.array.len; i++) {
			buf_printf(path, "[%zu]", i);
			if (validate_node(items, v->u.array.values[i], path,
			    e, NULL) == -1) {
				path_cut(path, len);
				return -1;
			}
			path_cut(path, len);
		}
	return 0;
}

int
schema_validate(yajl_val schema, yajl_val instance, const char *root_name,
    struct verr *e)
{
	return schema_validate_all(schema, instance, root_name, e, NULL);
}

int
schema_validate_all(yajl_val schema, yajl_val instance,
    const char *root_name, struct verr *e, struct verr_list *all)
{
	struct buf path = BUF_INIT;
	int rc = -1;

	buf_adds(&path, root_name != NULL ? root_name : "input");
	if (!YAJL_IS_OBJECT(instance)) {
		if (instance == NULL)
			verr_set(e, buf_str(&path), "%s is required and must "
			    "be an object", buf_str(&path));
		else
			type_error(e, buf_str(&path), T_OBJECT, instance);
		goto out;
	}
	if (schema == NULL) {
		rc = 0;
		goto out;
	}
	rc = validate_node(schema, instance, &path, e, all);
	/* The first error of all is the one to show first. */
	if (rc == -1 && all != NULL && all->n > 0)
		*e = all->v[0];
out:
	buf_free(&path);
	return rc;
}

/* --- defaults ------------------------------------------------------------ */

int
schema_apply_defaults(yajl_val schema, yajl_val input, yajl_val *filled,
    struct verr *e)
{
	yajl_val props, def;
	struct buf out = BUF_INIT;
	struct jw w;
	char err[128];
	size_t i;
	int n = 0;

	*filled = NULL;
	if (!YAJL_IS_OBJECT(schema) || (input != NULL &&
	    !YAJL_IS_OBJECT(input)) ||
	    !YAJL_IS_OBJECT(props = obj_get(schema, "properties")))
		return 0;
	jw_init(&w, &out);
	jw_obj(&w);
	for (i = 0; input != NULL && i < input->u.object.len; i++) {
		jw_key(&w, input->u.object.keys[i]);
		jw_value(&w, input->u.object.values[i]);
	}
	for (i = 0; i < props->u.object.len; i++) {
		const char *key = props->u.object.keys[i];

		if (!YAJL_IS_OBJECT(props->u.object.values[i]) ||
		    (def = obj_get(props->u.object.values[i], "default")) ==
		    NULL || (input != NULL && obj_get(input, key) != NULL))
			continue;
		jw_key(&w, key);
		jw_value(&w, def);
		n++;
	}
	jw_obj_end(&w);
	jw_free(&w);
	if (n > 0 && (*filled = json_parse(out.data, out.len, err,
	    sizeof(err))) == NULL) {
		verr_set(e, "input", "the input with its defaults does not "
		    "parse: %s", err);
		n = -1;
	}
	buf_free(&out);
	return n;
}

/* --- secret properties -------------------------------------------------- */

int
schema_prop_secret(yajl_val schema, const char *key)
{
	yajl_val props, p, sec;

	if (!YAJL_IS_OBJECT(schema) ||
	    !YAJL_IS_OBJECT(props = obj_get(schema, "properties")) ||
	    !YAJL_IS_OBJECT(p = obj_get(props, key)))
		return 0;
	sec = obj_get(p, "secret");
	return sec != NULL && YAJL_IS_TRUE(sec);
}

int
schema_split_secret(yajl_val schema, yajl_val input, struct buf *shown,
    struct buf *secret)
{
	struct jw ws, wh;
	int n = 0;

	jw_init(&ws, shown);
	if (!YAJL_IS_OBJECT(input)) {
		jw_value(&ws, input);
		jw_free(&ws);
		return 0;
	}
	jw_init(&wh, secret);
	jw_obj(&ws);
	jw_obj(&wh);
	for (size_t i = 0; i < input->u.object.len; i++) {
		const char *key = input->u.object.keys[i];
		yajl_val v = input->u.object.values[i];

		jw_key(&ws, key);
		if (!schema_prop_secret(schema, key)) {
			jw_value(&ws, v);
			continue;
		}
		jw_str(&ws, SCHEMA_SECRET_SHOWN);
		jw_key(&wh, key);
		jw_value(&wh, v);
		n++;
	}
	jw_obj_end(&ws);
	jw_obj_end(&wh);
	jw_free(&ws);
	jw_free(&wh);
	return n;
}
