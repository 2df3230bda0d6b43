/*
 * json.c - yajl helpers: a buffer-backed generator and UTF-8 repair.
 */
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "log.h"

/*
 * yajl decodes "\u0000" into a NUL that silently ends the string in its
 * tree: refuse such text instead of truncating a value. Walks the text
 * minding string boundaries and escapes, so a literal backslash followed
 * by "u0000" is not mistaken for one.
 */
static int
has_nul_escape(const char *s, size_t n)
{
	int in_str = 0;

	for (size_t i = 0; i < n; i++) {
		if (!in_str) {
			if (s[i] == '"')
				in_str = 1;
			continue;
		}
		if (s[i] == '"') {
			in_str = 0;
		} else if (s[i] == '\\' && i + 1 < n) {
			if (s[i + 1] == 'u' && i + 5 < n &&
			    memcmp(s + i + 2, "0000", 4) == 0)
				return 1;
			i++;
		}
	}
	return 0;
}

/* Rejects duplicate object keys (yajl keeps both) and nesting deeper
 * than JSON_MAX_DEPTH (the writer could not write it back). */
static int
check_tree(yajl_val v, int depth, char *err, size_t errlen)
{
	if (depth > JSON_MAX_DEPTH) {
		snprintf(err, errlen, "nested deeper than %d levels",
		    JSON_MAX_DEPTH);
		return -1;
	}
	if (YAJL_IS_OBJECT(v)) {
		size_t len = v->u.object.len;
		for (size_t i = 0; i < len; i++) {
			for (size_t k = i + 1; k < len; k++)
				if (strcmp(v->u.object.keys[i],
				    v->u.object.keys[k]) == 0) {
					snprintf(err, errlen, "duplicate key "
					    "\"%.100s\"", v->u.object.keys[i]);
					return -1;
				}
			if (check_tree(v->u.object.values[i], depth + 1, err,
			    errlen) == -1)
				return -1;
		}
	} else if (YAJL_IS_ARRAY(v)) {
		for (size_t i = 0; i < v->u.array.len; i++)
			if (check_tree(v->u.array.values[i], depth + 1, err,
			    errlen) == -1)
				return -1;
	}
	return 0;
}

yajl_val
json_parse(const char *text, size_t len, char *err, size_t errlen)
{
	struct buf tmp = BUF_INIT;
	yajl_val v;

	/* yajl_tree_parse wants a NUL-terminated string. */
	buf_add(&tmp, text, len);
	if (memchr(text, '\0', len) != NULL) {
		snprintf(err, errlen, "body contains a NUL byte");
		buf_free(&tmp);
		return NULL;
	}
	if (err != NULL && errlen > 0)
		err[0] = '\0';
	if (has_nul_escape(text, len)) {
		snprintf(err, errlen, "strings must not contain \\u0000");
		buf_free(&tmp);
		return NULL;
	}
	v = yajl_tree_parse(buf_str(&tmp), err, errlen);
	buf_free(&tmp);
	if (v != NULL && check_tree(v, 0, err, errlen) == -1) {
		yajl_tree_free(v);
		return NULL;
	}
	if (v == NULL && err != NULL && errlen > 0) {
		/* yajl's message spans lines; keep the first one. */
		char *nl = strchr(err, '\n');
		if (nl != NULL)
			*nl = '\0';
		if (err[0] == '\0')
			snprintf(err, errlen, "invalid JSON");
	}
	return v;
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
