/*
 * json.c - yajl helpers: a buffer-backed generator and UTF-8 repair.
 */
#include "config.h"

#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yajl/yajl_parse.h>

#include "json.h"
#include "log.h"

/*
 * The parser builds yajl's own tree (struct yajl_val_s, freed with
 * yajl_tree_free) from yajl's event callbacks instead of calling
 * yajl_tree_parse(), so that every limit holds while the text is read:
 *  - nesting deeper than JSON_MAX_DEPTH stops the parse at the bracket
 *    that crosses it (yajl_tree_parse built the whole tree first, and a
 *    megabyte of '[' then crashed the worker that walked or freed it);
 *  - a duplicate key is found with a hash set per object, in linear time
 *    (the pairwise check was quadratic: 90,000 keys took 41 s);
 *  - comments are refused (yajl_tree_parse allows them);
 *  - "\u0000" is refused: a NUL would silently end a C string;
 *  - a lone surrogate escape ("\udc00") is refused: every string of the
 *    tree is UTF-8, so what json_dump() writes parses back the same.
 * Since the depth never passes JSON_MAX_DEPTH, every recursive walk of a
 * tree made here (freeing it, writing it back, schema checks) is bounded.
 */
struct jp_frame {
	yajl_val v;             /* the open object or array */
	char *key;              /* an object's key waiting for its value */
};

struct jp {
	struct jp_frame stack[JSON_MAX_DEPTH + 1];
	int depth;              /* open containers */
	yajl_val root;
	char *err;
	size_t errlen;
	int failed;             /* a callback refused; err says why */
};

static int
jp_fail(struct jp *p, const char *msg, const char *detail)
{
	if (p->err != NULL && p->errlen > 0)
		snprintf(p->err, p->errlen, "%s%s%.100s%s", msg,
		    detail != NULL ? " \"" : "", detail != NULL ? detail : "",
		    detail != NULL ? "\"" : "");
	p->failed = 1;
	return 0;
}

static int
grow(void *arrp, size_t elem, size_t len)
{
	void **arr = arrp;
	void *n;

	/* Doubling at powers of two: amortized linear. */
	if (len != 0 && (len & (len - 1)) != 0)
		return 0;
	n = realloc(*arr, elem * (len == 0 ? 4 : len * 2));
	if (n == NULL)
		return -1;
	*arr = n;
	return 0;
}

/* Puts a finished value where it belongs: the root, the open array, or
 * the open object under its pending key. Takes ownership of v. */
static int
jp_add(struct jp *p, yajl_val v)
{
	struct jp_frame *f;

	if (v == NULL)
		return jp_fail(p, "out of memory", NULL);
	if (p->depth == 0) {
		p->root = v;
		return 1;
	}
	f = &p->stack[p->depth - 1];
	if (YAJL_IS_ARRAY(f->v)) {
		size_t n = f->v->u.array.len;
		if (grow(&f->v->u.array.values, sizeof(yajl_val), n) == -1) {
			yajl_tree_free(v);
			return jp_fail(p, "out of memory", NULL);
		}
		f->v->u.array.values[n] = v;
		f->v->u.array.len = n + 1;
		return 1;
	}
	size_t n = f->v->u.object.len;
	if (grow(&f->v->u.object.keys, sizeof(char *), n) == -1 ||
	    grow(&f->v->u.object.values, sizeof(yajl_val), n) == -1) {
		yajl_tree_free(v);
		return jp_fail(p, "out of memory", NULL);
	}
	f->v->u.object.keys[n] = f->key;
	f->v->u.object.values[n] = v;
	f->v->u.object.len = n + 1;
	f->key = NULL;
	return 1;
}

static yajl_val
jp_node(yajl_type t)
{
	yajl_val v = calloc(1, sizeof(*v));

	if (v != NULL)
		v->type = t;
	return v;
}

static int
jp_null(void *ctx)
{
	return jp_add(ctx, jp_node(yajl_t_null));
}

static int
jp_bool(void *ctx, int b)
{
	return jp_add(ctx, jp_node(b ? yajl_t_true : yajl_t_false));
}

static int
jp_number(void *ctx, const char *s, size_t len)
{
	yajl_val v = jp_node(yajl_t_number);
	char *end;

	if (v == NULL || (v->u.number.r = strndup(s, len)) == NULL) {
		free(v);
		return jp_fail(ctx, "out of memory", NULL);
	}
	/* As yajl_tree does: each reading is flagged when it fits. */
	errno = 0;
	v->u.number.i = strtoll(v->u.number.r, &end, 10);
	if (errno == 0 && *end == '\0')
		v->u.number.flags |= YAJL_NUMBER_INT_VALID;
	errno = 0;
	v->u.number.d = strtod(v->u.number.r, &end);
	if (errno == 0 && *end == '\0')
		v->u.number.flags |= YAJL_NUMBER_DOUBLE_VALID;
	return jp_add(ctx, v);
}

static char *
jp_strdup(struct jp *p, const unsigned char *s, size_t len)
{
	char *c;

	if (memchr(s, '\0', len) != NULL) {
		jp_fail(p, "strings must not contain \\u0000", NULL);
		return NULL;
	}
	/* yajl refuses bytes that are not UTF-8 but decodes a \u escape of
	 * a lone surrogate (\uDC00) into one: kept, two keys differing only
	 * there would be one key once written out (the writer repairs text
	 * into U+FFFD), and a stored object then held a key twice. */
	if (!utf8_valid((const char *)s, len)) {
		jp_fail(p, "strings must be UTF-8 (a \\u escape of a lone "
		    "surrogate is not)", NULL);
		return NULL;
	}
	if ((c = strndup((const char *)s, len)) == NULL)
		jp_fail(p, "out of memory", NULL);
	return c;
}

static int
jp_string(void *ctx, const unsigned char *s, size_t len)
{
	yajl_val v;
	char *c = jp_strdup(ctx, s, len);

	if (c == NULL)
		return 0;
	if ((v = jp_node(yajl_t_string)) == NULL) {
		free(c);
		return jp_fail(ctx, "out of memory", NULL);
	}
	v->u.string = c;
	return jp_add(ctx, v);
}

static int
jp_open(struct jp *p, yajl_type t)
{
	yajl_val v;

	if (p->depth >= JSON_MAX_DEPTH) {
		char msg[64];
		snprintf(msg, sizeof(msg), "nested deeper than %d levels",
		    JSON_MAX_DEPTH);
		return jp_fail(p, msg, NULL);
	}
	if ((v = jp_node(t)) == NULL)
		return jp_fail(p, "out of memory", NULL);
	p->stack[p->depth].v = v;
	p->stack[p->depth].key = NULL;
	p->depth++;
	return 1;
}

static int
jp_start_map(void *ctx)
{
	return jp_open(ctx, yajl_t_object);
}

static int
jp_start_array(void *ctx)
{
	return jp_open(ctx, yajl_t_array);
}

static int
jp_map_key(void *ctx, const unsigned char *s, size_t len)
{
	struct jp *p = ctx;
	struct jp_frame *f = &p->stack[p->depth - 1];

	free(f->key);
	f->key = jp_strdup(p, s, len);
	return f->key != NULL;
}

static uint64_t
fnv1a(const char *s)
{
	uint64_t h = 0xcbf29ce484222325ULL;

	for (; *s != '\0'; s++)
		h = (h ^ (unsigned char)*s) * 0x100000001b3ULL;
	return h;
}

/* The first key of `obj` that stands twice, or NULL; -1 in *oom when the
 * set cannot be allocated. A set of indexes, open addressing, load <= 1/2. */
static const char *
duplicate_key(yajl_val obj, int *oom)
{
	size_t n = obj->u.object.len, cap = 8, mask;
	const char *dup = NULL;
	size_t *set;

	*oom = 0;
	if (n < 2)
		return NULL;
	if (n <= 8) {
		for (size_t i = 0; i < n; i++)
			for (size_t k = i + 1; k < n; k++)
				if (strcmp(obj->u.object.keys[i],
				    obj->u.object.keys[k]) == 0)
					return obj->u.object.keys[i];
		return NULL;
	}
	while (cap < 2 * n)
		cap *= 2;
	mask = cap - 1;
	if ((set = malloc(cap * sizeof(*set))) == NULL) {
		*oom = 1;
		return NULL;
	}
	for (size_t i = 0; i < cap; i++)
		set[i] = SIZE_MAX;
	for (size_t i = 0; i < n && dup == NULL; i++) {
		const char *k = obj->u.object.keys[i];
		size_t slot = (size_t)fnv1a(k) & mask;
		while (set[slot] != SIZE_MAX) {
			if (strcmp(obj->u.object.keys[set[slot]], k) == 0) {
				dup = k;
				break;
			}
			slot = (slot + 1) & mask;
		}
		set[slot] = i;
	}
	free(set);
	return dup;
}

static int
jp_close(struct jp *p)
{
	struct jp_frame *f = &p->stack[p->depth - 1];
	yajl_val v = f->v;
	const char *dup;
	int oom;

	free(f->key);
	f->key = NULL;
	f->v = NULL;
	p->depth--;
	if (YAJL_IS_OBJECT(v) && (dup = duplicate_key(v, &oom)) != NULL) {
		jp_fail(p, "duplicate key", dup);
		yajl_tree_free(v);
		return 0;
	}
	if (YAJL_IS_OBJECT(v) && oom) {
		yajl_tree_free(v);
		return jp_fail(p, "out of memory", NULL);
	}
	return jp_add(p, v);
}

static int
jp_end(void *ctx)
{
	return jp_close(ctx);
}

static const yajl_callbacks jp_callbacks = {
	.yajl_null = jp_null,
	.yajl_boolean = jp_bool,
	.yajl_number = jp_number,
	.yajl_string = jp_string,
	.yajl_start_map = jp_start_map,
	.yajl_map_key = jp_map_key,
	.yajl_end_map = jp_end,
	.yajl_start_array = jp_start_array,
	.yajl_end_array = jp_end,
};

/* Frees what a parse that stopped half-way left open, innermost first
 * (each open container holds only finished values: at most
 * JSON_MAX_DEPTH levels, so freeing them is bounded too). */
static void
jp_discard(struct jp *p)
{
	while (p->depth > 0) {
		struct jp_frame *f = &p->stack[--p->depth];
		free(f->key);
		yajl_tree_free(f->v);
	}
	yajl_tree_free(p->root);
	p->root = NULL;
}

yajl_val
json_parse(const char *text, size_t len, char *err, size_t errlen)
{
	struct jp p;
	yajl_handle h;
	yajl_status st;

	memset(&p, 0, sizeof(p));
	p.err = err;
	p.errlen = errlen;
	if (err != NULL && errlen > 0)
		err[0] = '\0';
	if (text == NULL)
		text = "";
	if (memchr(text, '\0', len) != NULL) {
		snprintf(err, errlen, "body contains a NUL byte");
		return NULL;
	}
	/* yajl's defaults: no comments, UTF-8 validated, one value, nothing
	 * after it. */
	if ((h = yajl_alloc(&jp_callbacks, NULL, &p)) == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	st = yajl_parse(h, (const unsigned char *)text, len);
	if (st == yajl_status_ok)
		st = yajl_complete_parse(h);
	if (st != yajl_status_ok && !p.failed) {
		unsigned char *msg = yajl_get_error(h, 0, NULL, 0);
		const char *m = msg != NULL ? (const char *)msg : "invalid JSON";
		size_t ml = strcspn(m, "\n");
		/* yajl's message spans lines; keep the first one. */
		snprintf(err, errlen, "%.*s", (int)ml, ml > 0 ? m : "invalid JSON");
		if (msg != NULL)
			yajl_free_error(h, msg);
	}
	yajl_free(h);
	if (st != yajl_status_ok || p.failed || p.root == NULL) {
		if (p.root == NULL && !p.failed && st == yajl_status_ok)
			snprintf(err, errlen, "invalid JSON");
		jp_discard(&p);
		return NULL;
	}
	return p.root;
}

yajl_val
json_get(yajl_val obj, const char *key)
{
	if (obj == NULL || !YAJL_IS_OBJECT(obj))
		return NULL;
	for (size_t i = 0; i < obj->u.object.len; i++)
		if (strcmp(obj->u.object.keys[i], key) == 0)
			return obj->u.object.values[i];
	return NULL;
}

const char *
json_get_str(yajl_val obj, const char *key)
{
	yajl_val v = json_get(obj, key);
	return YAJL_IS_STRING(v) ? v->u.string : NULL;
}

static void
gen_print(void *ctx, const char *s, size_t len)
{
	buf_add(ctx, s, len);
}

void
jw_init(struct jw *w, struct buf *out)
{
	w->out = out;
	w->g = yajl_gen_alloc(NULL);
	if (w->g == NULL)
		fatalx("yajl_gen_alloc failed");
	yajl_gen_config(w->g, yajl_gen_print_callback, gen_print, out);
}

void
jw_free(struct jw *w)
{
	if (w->g != NULL)
		yajl_gen_free(w->g);
	w->g = NULL;
}

/* A generator error here is a bug in the caller (unbalanced nesting). */
static void
check(yajl_gen_status st, const char *what)
{
	if (st != yajl_gen_status_ok)
		fatalx("json writer: %s failed with status %d", what, (int)st);
}

void jw_obj(struct jw *w) { check(yajl_gen_map_open(w->g), "map open"); }
void jw_obj_end(struct jw *w) { check(yajl_gen_map_close(w->g), "map close"); }
void jw_arr(struct jw *w) { check(yajl_gen_array_open(w->g), "array open"); }
void jw_arr_end(struct jw *w) { check(yajl_gen_array_close(w->g), "array close"); }
void jw_null(struct jw *w) { check(yajl_gen_null(w->g), "null"); }
void jw_bool(struct jw *w, int v) { check(yajl_gen_bool(w->g, v != 0), "bool"); }
void jw_int(struct jw *w, long long v) { check(yajl_gen_integer(w->g, v), "integer"); }

void
jw_key(struct jw *w, const char *key)
{
	jw_str(w, key);
}

void
jw_str(struct jw *w, const char *s)
{
	if (s == NULL)
		jw_null(w);
	else
		jw_strn(w, s, strlen(s));
}

void
jw_strn(struct jw *w, const char *s, size_t n)
{
	if (s == NULL) {
		jw_null(w);
		return;
	}
	if (utf8_valid(s, n)) {
		check(yajl_gen_string(w->g, (const unsigned char *)s, n),
		    "string");
		return;
	}
	struct buf clean = BUF_INIT;
	utf8_sanitize(&clean, s, n);
	check(yajl_gen_string(w->g, (const unsigned char *)buf_str(&clean),
	    clean.len), "string");
	buf_free(&clean);
}

void
jw_double(struct jw *w, double v)
{
	char tmp[64];
	int n;

	if (!isfinite(v)) {
		jw_null(w);
		return;
	}
	/* Enough digits to round-trip, without yajl's %.20g noise. */
	n = snprintf(tmp, sizeof(tmp), "%.17g", v);
	if (strtod(tmp, NULL) == v) {
		char shorter[64];
		for (int prec = 1; prec < 17; prec++) {
			snprintf(shorter, sizeof(shorter), "%.*g", prec, v);
			if (strtod(shorter, NULL) == v) {
				n = snprintf(tmp, sizeof(tmp), "%s", shorter);
				break;
			}
		}
	}
	check(yajl_gen_number(w->g, tmp, (size_t)n), "number");
}

void
jw_value(struct jw *w, yajl_val v)
{
	if (v == NULL || YAJL_IS_NULL(v)) {
		jw_null(w);
	} else if (YAJL_IS_STRING(v)) {
		jw_str(w, v->u.string);
	} else if (YAJL_IS_NUMBER(v)) {
		const char *r = v->u.number.r;
		check(yajl_gen_number(w->g, r, strlen(r)), "number");
	} else if (YAJL_IS_TRUE(v)) {
		jw_bool(w, 1);
	} else if (YAJL_IS_FALSE(v)) {
		jw_bool(w, 0);
	} else if (YAJL_IS_OBJECT(v)) {
		jw_obj(w);
		for (size_t i = 0; i < v->u.object.len; i++) {
			jw_key(w, v->u.object.keys[i]);
			jw_value(w, v->u.object.values[i]);
		}
		jw_obj_end(w);
	} else if (YAJL_IS_ARRAY(v)) {
		jw_arr(w);
		for (size_t i = 0; i < v->u.array.len; i++)
			jw_value(w, v->u.array.values[i]);
		jw_arr_end(w);
	} else {
		jw_null(w);
	}
}

void
jw_raw_json(struct jw *w, const char *text, size_t len)
{
	char err[128];
	yajl_val v;

	if (text == NULL) {
		jw_null(w);
		return;
	}
	v = json_parse(text, len, err, sizeof(err));
	jw_value(w, v);
	yajl_tree_free(v);
}

void
json_dump(struct buf *out, yajl_val v)
{
	struct jw w;

	jw_init(&w, out);
	jw_value(&w, v);
	jw_free(&w);
}

/* Length of the valid UTF-8 sequence at s (1..4), or 0 if invalid. */
static size_t
utf8_seq(const unsigned char *s, size_t n)
{
	unsigned char c = s[0];
	size_t len;
	unsigned int cp;

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		len = 2, cp = c & 0x1f;
	else if (c >= 0xe0 && c <= 0xef)
		len = 3, cp = c & 0x0f;
	else if (c >= 0xf0 && c <= 0xf4)
		len = 4, cp = c & 0x07;
	else
		return 0;
	if (len > n)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	/* Overlong forms, surrogates and values past U+10FFFF. */
	if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
	    (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
		return 0;
	return len;
}

int
utf8_valid(const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0, l;

	while (i < n) {
		if (p[i] < 0x80) {
			i++;
			continue;
		}
		if ((l = utf8_seq(p + i, n - i)) == 0)
			return 0;
		i += l;
	}
	return 1;
}

void
utf8_sanitize(struct buf *out, const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0, start = 0, l;

	while (i < n) {
		if (p[i] < 0x80) {
			i++;
			continue;
		}
		if ((l = utf8_seq(p + i, n - i)) != 0) {
			i += l;
			continue;
		}
		buf_add(out, s + start, i - start);
		buf_add(out, "\xef\xbf\xbd", 3);
		i++;
		start = i;
	}
	buf_add(out, s + start, i - start);
}
