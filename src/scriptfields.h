/*
 * scriptfields.h - what each field of a script may hold: the rules a
 * create or an update applies to the JSON object it was given (the API's
 * body, the CLI's options made into one), field by field, then the rules
 * that span fields on the result.
 *
 * These functions change only the struct script they are given (its
 * members are replaced, the old ones freed; script_free releases it as
 * ever) and fill the caller's struct verr on failure. They touch no
 * database; scriptfields_check looks at the script's file when its path
 * or type changed (scriptfile.h).
 */
#ifndef SCRIPTORCH_SCRIPTFIELDS_H
#define SCRIPTORCH_SCRIPTFIELDS_H

#include <yajl/yajl_tree.h>

#include "script.h"
#include "verr.h"

struct buf;
struct conf;

/* The writable fields, in the contract's order; SF_BIT(f) marks one in
 * a set of changed fields. */
enum script_field {
	SF_NAME, SF_TYPE, SF_PATH, SF_DESCRIPTION, SF_ENABLED,
	SF_REQUIREMENTS, SF_ARGS, SF_INPUT_MODE, SF_INPUTS, SF_OUTPUTS,
	SF_ENV, SF_SECRET_ENV, SF_TIMEOUT, SF_MAX_CONCURRENCY, SF_LIMITS, SF_NETWORK,
	SF_NODE_LABELS, SF_CALLBACK_URL, SF_COUNT
};
#define SF_BIT(f) (1u << (f))

/* Sets every optional field of a zeroed `s` to its default (conf's
 * default_timeout_s for timeout_s; no limits of its own, which means
 * the config's [limits] defaults; network "host"): what a create starts
 * from. */
void scriptfields_defaults(const struct conf *c, struct script *s);

/*
 * Applies every member of `body` (must be a JSON object) to `s`, each
 * checked on its own; JSON null puts an optional field's default back.
 * secret_env is merged, not replaced: each name given with a string gets
 * that value, sealed under c's secret key (no key: refused, field
 * "secret_env.NAME"); each given with null is removed; each given with
 * "***" (what a read shows), and each not given, keeps its sealed value
 * (so a script read and written back loses nothing); `"secret_env":
 * null` removes them all.
 * `limits` is checked against the config's maxima (runlimits.h) and
 * replaced whole. A read-only member (id, version, created_at,
 * updated_at, venv, effective_limits), an
 * unknown one or one given twice is refused. *changed gets SF_BIT of
 * each field given. 0, or -1 with e saying which field and why (`s` is
 * then partly changed: the caller drops it).
 */
int scriptfields_apply(const struct conf *c, yajl_val body, struct script *s,
    unsigned *changed, struct verr *e);

/* For a create: 0 when name, type and path are all in `changed`, else -1
 * with e naming the first one missing. */
int scriptfields_require(unsigned changed, struct verr *e);

/*
 * The rules that span fields, on the merged result: requirements only
 * for python (and they must parse), {output_file} in args only with
 * outputs.file, no name in both env and secret_env, and the file itself (scriptfile_check with `magic`, a
 * borrowed magic_t or NULL, and the run user) only when path or type is
 * in `changed`: a PATCH that disables a script whose file went bad must
 * still work. 0, or -1 with e.
 */
int scriptfields_check(const struct conf *c, void *magic,
    const struct script *s, unsigned changed, struct verr *e);

/*
 * What a create (`create` 1: the defaults in `s`, name, type and path
 * required) or an update (the stored script in `s`) applies: the members
 * of `body` (scriptfields_apply), the required fields
 * (scriptfields_require), then the rules across fields
 * (scriptfields_check), going on past every error so that `all` (empty
 * at the call; the caller frees it) gets every invalid field once, in
 * that order. A member that is invalid leaves its field as it was; a rule
 * about a field found invalid is not tried. 0, or -1 with all->n > 0 and
 * e a copy of the first.
 */
int scriptfields_validate(const struct conf *c, void *magic, yajl_val body,
    struct script *s, int create, unsigned *changed, struct verr *e,
    struct verr_list *all);

/* Appends the names of the fields in `changed`, comma-separated, in the
 * contract's order (for the audit record). */
void scriptfields_names(unsigned changed, struct buf *out);

#endif
