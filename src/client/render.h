/*
 * render.h - what the client prints for people: tables, times, durations,
 * and an execution in readable form.
 *
 * Everything that came from the server (names, descriptions, messages)
 * goes through render_safe() first, so a script name or an error text
 * cannot move the cursor, set a terminal title or hide a line: control
 * characters are shown as '?'. The streams of a run are not: `logs` and
 * `run --follow` print a script's bytes as they are, like running it.
 *
 * Ownership: a struct table owns copies of its cells; table_free()
 * releases them. Appending functions append to a buffer the caller owns.
 */
#ifndef SCRIPTORCH_CLIENT_RENDER_H
#define SCRIPTORCH_CLIENT_RENDER_H

#include <stddef.h>
#include <stdio.h>
#include <yajl/yajl_tree.h>

#include "buf.h"

/* Appends s (NULL counts as "") with every control character, DEL and
 * C1 included, written as '?'; '\n' and '\t' too unless keep_lines. */
void render_safe(struct buf *out, const char *s, int keep_lines);
/* Columns a terminal gives s: its UTF-8 code points (no wide glyphs). */
size_t render_width(const char *s);

/* "2026-11-26T05:36:24.123Z" as "2026-11-26 05:36:24"; other text as it
 * is; NULL as "-". */
void render_time(struct buf *out, const char *rfc3339);
/* 812.4 -> "812 ms", 12345 -> "12.3 s", 754000 -> "12m34s". */
void render_duration(struct buf *out, double ms);

struct table {
	size_t ncols;
	char **cells;        /* row-major, the headers first */
	size_t ncells;
	size_t cap;
	size_t *max;         /* per column: widest allowed (0: no limit) */
};

void table_init(struct table *t, size_t ncols, const char *const *headers);
/* Cuts the cells of column `col` to `width` columns, "..." at the end. */
void table_limit(struct table *t, size_t col, size_t width);
/* Adds a row of ncols cells (NULL counts as "-"), made safe. */
void table_add(struct table *t, const char *const *cells);
/* Columns separated by two spaces, padded but the last. */
void table_print(const struct table *t, FILE *f);
void table_free(struct table *t);

/* How execution x ended, for people: "succeeded, exit code 0",
 * "failed, killed by signal 9", "timed_out (signal 15)", "running". */
void render_outcome(struct buf *out, yajl_val x);
/* The execution as labelled lines, then its stdout and stderr. */
void render_execution(struct buf *out, yajl_val x);

#endif
