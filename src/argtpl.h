/*
 * argtpl.h - a script's argv template ("args").
 *
 * Each element of the JSON array `args` becomes one argv entry; no shell
 * ever splits or interprets it. Inside an element:
 *   {name}   a placeholder; name matches [A-Za-z_][A-Za-z0-9_.-]* and is
 *            a top-level input key (a dot is part of the key, not a path)
 *            or one of the reserved names below;
 *   {{ }}    a literal { and };
 *   any other { or }, and {} , is an error naming the element.
 * Reserved names, filled by the execution and never by the input (an input
 * key with the same name does not override them):
 *   {workdir} {execution_id} {output_file} (the latter only when the
 *   script declares outputs.file).
 * An input placeholder takes a string as it is, a number as its JSON text
 * as the client wrote it (3 stays 3, 2.50 stays 2.50); any other type, or
 * a missing key, is an error (422 at the API).
 *
 * All functions borrow their arguments and return 0 on success, -1 with
 * `e` filled. Error fields: "args[i]" for a template error,
 * "input.<key>" when the input is at fault.
 */
#ifndef SCRIPTORCH_ARGTPL_H
#define SCRIPTORCH_ARGTPL_H

#include <stddef.h>
#include <yajl/yajl_tree.h>

#include "verr.h"

struct argtpl_vars {
	const char *workdir;		/* absolute; required */
	const char *output_file;	/* absolute, or NULL if none declared */
	const char *execution_id;	/* decimal text; required */
};

/* 1 if `name` is workdir, output_file or execution_id. */
int argtpl_is_reserved(const char *name);

/*
 * Registration check: `args` is NULL (no args) or an array of strings
 * whose placeholders are well formed.
 */
int argtpl_check(yajl_val args, struct verr *e);

/*
 * Calls fn(name, index, arg) for every placeholder in order (name is a
 * NUL-terminated copy valid during the call; index is the args element).
 * fn returns 0 to go on or -1 to stop, having filled `e` itself; that -1
 * is returned. Template errors are reported as by argtpl_check().
 */
int argtpl_placeholders(yajl_val args,
    int (*fn)(const char *name, size_t index, void *arg, struct verr *e),
    void *arg, struct verr *e);

/*
 * Checks, without building anything, that argtpl_expand() would succeed
 * for `input`: every non-reserved placeholder names a top-level string or
 * number of `input`, and {output_file} is used only if has_output_file.
 * The API calls it before queueing a run. With input == NULL only the
 * template and the {output_file} rule are checked (for registration,
 * where no input exists yet).
 */
int argtpl_check_input(yajl_val args, yajl_val input, int has_output_file,
    struct verr *e);
/* The same, going on past an input at fault: each one (missing, or not a
 * string or number) is added to `all` (NULL: as argtpl_check_input), e
 * being the last found; an error of the template itself stops it (e
 * alone). 0, or -1. */
int argtpl_check_input_all(yajl_val args, yajl_val input,
    int has_output_file, struct verr *e, struct verr_list *all);

/*
 * Builds the argv entries of the template for one run: *argv_out gets a
 * NULL-terminated array of args' length (argv[0], the program, is NOT
 * included: the caller puts it in front). The caller frees it with
 * argtpl_free(). On -1, *argv_out is NULL. `input` may be NULL when no
 * placeholder needs it; `vars` must not be NULL.
 */
int argtpl_expand(yajl_val args, yajl_val input,
    const struct argtpl_vars *vars, char ***argv_out, struct verr *e);

/* Frees an argv from argtpl_expand(); NULL is fine. */
void argtpl_free(char **argv);

#endif
