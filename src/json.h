/*
 * json.h - JSON in and out, on yajl.
 *
 * Reading: json_parse() returns a yajl tree the caller frees with
 * yajl_tree_free(); json_get() looks up an object member without the
 * path-array dance of yajl_tree_get().
 *
 * Writing: a struct jw wraps a yajl generator that appends to a struct buf
 * the caller owns. Strings go through jw_strn(), which replaces bytes that
 * are not valid UTF-8 with U+FFFD, so output from scripts can always be
 * embedded.
 */
#ifndef SCRIPTORCH_JSON_H
#define SCRIPTORCH_JSON_H

#include <stddef.h>
#include <yajl/yajl_gen.h>
#include <yajl/yajl_tree.h>

#include "buf.h"

/* Deepest nesting json_parse() accepts (the writer allows 128). */
#define JSON_MAX_DEPTH 64

/* Parses `len` bytes (text may be NULL when len is 0). NULL on error,
 * with a one-line message in err (may be NULL): invalid JSON, comments,
 * invalid UTF-8, a \u0000 escape, a duplicate key and nesting deeper than
 * JSON_MAX_DEPTH are all refused, the last two as soon as they are read,
 * so the work and memory stay linear in len and no tree this returns is
 * deeper than JSON_MAX_DEPTH. The caller frees the tree with
 * yajl_tree_free(). Request bodies and script stdout both come here. */
yajl_val json_parse(const char *text, size_t len, char *err, size_t errlen);
/* Member `key` of object `obj`, or NULL (also when obj is not an object). */
yajl_val json_get(yajl_val obj, const char *key);
/* Member as a string, or NULL when absent or not a string. */
const char *json_get_str(yajl_val obj, const char *key);

struct jw {
	yajl_gen g;
	struct buf *out;
};

/* Starts writing into `out` (borrowed; appended to). */
void jw_init(struct jw *w, struct buf *out);
void jw_free(struct jw *w);
void jw_obj(struct jw *w);
void jw_obj_end(struct jw *w);
void jw_arr(struct jw *w);
void jw_arr_end(struct jw *w);
void jw_key(struct jw *w, const char *key);
void jw_str(struct jw *w, const char *s);            /* NULL writes null */
void jw_strn(struct jw *w, const char *s, size_t n); /* NULL writes null */
void jw_int(struct jw *w, long long v);
void jw_double(struct jw *w, double v);
void jw_bool(struct jw *w, int v);
void jw_null(struct jw *w);
/* Writes a parsed tree (or null for NULL). */
void jw_value(struct jw *w, yajl_val v);
/* Writes `len` bytes of JSON text as a value, after parsing it: text that
 * does not parse is written as null. */
void jw_raw_json(struct jw *w, const char *text, size_t len);

/* Appends `s` with invalid UTF-8 sequences replaced by U+FFFD. */
void utf8_sanitize(struct buf *out, const char *s, size_t n);
/* 1 if all of s[0..n) is valid UTF-8. */
int utf8_valid(const char *s, size_t n);
/* Compact JSON text of a tree into out (appended). */
void json_dump(struct buf *out, yajl_val v);

#endif
