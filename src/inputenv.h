/*
 * inputenv.h - the environment and stdin a script starts with.
 *
 * The environment is built from nothing (the daemon's own is never
 * looked at), as "Input passing" in the API contract says. Variables, in
 * increasing precedence (a later layer replaces a name set by an earlier
 * one; every name appears once in the result):
 *   1. LANG=C.UTF-8                      (a default the script env may change)
 *   2. the script's `env`
 *   3. PATH (fixed), HOME=<workdir>, TMPDIR=<tmpdir or workdir>
 *   4. INPUT_<KEY> for each top-level input key   (mode env or both)
 *   5. INPUT_JSON (mode env or both), SCRIPTORCH_EXECUTION_ID,
 *      SCRIPTORCH_WORKDIR, SCRIPTORCH_OUTPUT_FILE (only when set) - these
 *      three in every mode, as they describe the run, not the input
 *   6. the caller's extra pairs (VIRTUAL_ENV=...)
 * So a reserved name always wins over the script's env; and registration
 * rejects a script env that names one (inputenv_check_script_env()), so
 * the override never happens silently for a script registered today.
 *
 * INPUT_<KEY>: the key upper-cased (ASCII), every other character outside
 * [A-Z0-9_] turned into one `_` - per character, not per byte: "é" (two
 * UTF-8 bytes) gives INPUT__, "frame-rate" gives INPUT_FRAME_RATE.
 * Values: strings as they are; numbers as the JSON text the client wrote;
 * true/false/null as JSON text; objects and arrays as compact JSON.
 * Two keys that give the same name ("frame-rate" and "frame_rate"), or a
 * key that gives INPUT_JSON, are an error rather than one silently
 * replacing the other (stdin mode builds no INPUT_ names, so no error).
 *
 * Linux refuses to exec with any single "NAME=value" string over 128 KiB
 * (MAX_ARG_STRLEN); such a value is an error here, naming the input
 * field, instead of a failed exec later.
 *
 * A NUL cannot be passed in a variable. yajl's tree cuts a string at a
 * \u0000 escape without telling, so that must be rejected where the JSON
 * text is parsed; here values are C strings and cannot contain one.
 */
#ifndef SCRIPTORCH_INPUTENV_H
#define SCRIPTORCH_INPUTENV_H

#include <yajl/yajl_tree.h>

#include "buf.h"
#include "verr.h"

/* The longest "NAME=value" string (without the NUL) exec accepts. */
#define INPUTENV_MAX_STRING (128 * 1024 - 1)
/* How deep an input may nest to be rendered as JSON for the script. */
#define INPUTENV_MAX_DEPTH 64

struct inputenv_vars {
	const char *execution_id;	/* required */
	const char *workdir;		/* required, absolute */
	const char *tmpdir;		/* TMPDIR; NULL means workdir */
	const char *output_file;	/* absolute, or NULL if none declared */
	const char *path;		/* the fixed PATH; required */
	const char *const *extra;	/* NULL-terminated "NAME=value" list, or NULL */
};

/*
 * Checks a script's `env` at registration: NULL (absent) or an object of
 * string values; names non-empty, [A-Za-z_][A-Za-z0-9_]* (so no `=`), and
 * not reserved: PATH, HOME, TMPDIR, INPUT_*, SCRIPTORCH_*. LANG and LC_*
 * may be set. Each "NAME=value" must fit INPUTENV_MAX_STRING.
 * Error fields: "env", "env.NAME". Returns 0 or -1.
 */
int inputenv_check_script_env(yajl_val env, struct verr *e);

/*
 * Appends INPUT_<KEY> for `key` to `out` (the mangling described above).
 */
void inputenv_key_name(const char *key, struct buf *out);

/*
 * Builds the child's environment for one run. `input` must be an object
 * (NULL is taken as {}); `mode` is "env", "stdin" or "both" (NULL means
 * "both"); `script_env` is NULL or an object of strings (non-strings are
 * skipped: it passed inputenv_check_script_env()).
 * On success *envp_out is a NULL-terminated "NAME=value" array sorted by
 * name, which the caller frees with inputenv_free(); and, in stdin and
 * both modes, the input's compact JSON is appended to `stdin_out` (which
 * may be NULL if the caller does not want it; in env mode nothing is
 * appended). On -1, *envp_out is NULL and `e` says why (field
 * "input.KEY", "input" or "input_mode").
 */
int inputenv_build(yajl_val input, const char *mode, yajl_val script_env,
    const struct inputenv_vars *vars, char ***envp_out, struct buf *stdin_out,
    struct verr *e);

/* Frees an array from inputenv_build(); NULL is fine. */
void inputenv_free(char **envp);

#endif
