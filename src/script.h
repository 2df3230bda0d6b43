/*
 * script.h - the script as the registry keeps it, and its JSON object.
 *
 * A struct script is plain data: the store fills one from a row
 * (store_scripts.c), the registry's field rules (scriptfields.h) fill one
 * from a JSON object, and script_write_json() renders one as the
 * contract's script object. This header includes no service and no store,
 * so each of them can include it.
 *
 * Ownership: every pointer member is owned by the struct and released by
 * script_free(); a zeroed struct is a valid empty script. script_dup()
 * makes a deep copy with allocations of its own.
 */
#ifndef SCRIPTORCH_SCRIPT_H
#define SCRIPTORCH_SCRIPT_H

struct jw;

/* A script as stored. The JSON members hold compact JSON text. */
struct script {
	long long id;
	char name[65];
	char type[8];             /* shell | python | binary */
	char *path;
	char *description;
	int enabled;
	char version[80];         /* "sha256:<64 hex>" */
	char *requirements;       /* NULL unless python */
	char *args_json;          /* JSON array of strings */
	char input_mode[8];       /* env | stdin | both */
	char *inputs_json;        /* JSON schema object, or NULL */
	char *outputs_json;       /* JSON object */
	char *env_json;           /* JSON object of strings */
	char *secret_env_json;    /* JSON object of sealed strings (secret.h),
	                           * NULL: none; never rendered but as "***" */
	int timeout_s;
	int max_concurrency;      /* 0 = no limit (null in JSON) */
	char *limits_json;        /* JSON object of the limits it sets
	                           * (runlimits.h), NULL: none */
	char network[8];          /* host | none */
	char *node_labels;        /* labels a node needs to run it, canonical
	                           * (labels.h), NULL: none */
	char *callback_url;       /* the executions' default callback
	                           * (callback.h), NULL: none */
	char created_at[32];
	char updated_at[32];
};

/* Releases every member and zeroes *s. s may be NULL. */
void script_free(struct script *s);
/* A deep copy of src into dst (dst's own allocations; script_free it). */
void script_dup(const struct script *src, struct script *dst);

/* 1 when t is a script type (shell, python or binary), else 0; t may be
 * NULL. */
int script_type_valid(const char *t);

/*
 * Who reads a script: an admin sees its env values; every other reader
 * sees each as "***" (they may hold what an admin would rather not show
 * to everyone, as secret_env always does). secret_env shows each name
 * with "***" to everyone: its values are never rendered.
 */
enum script_view {
	SCRIPT_VIEW_ADMIN,
	SCRIPT_VIEW_MASKED,
};

/* Writes the script object of the contract (without "venv"), as an admin
 * sees it. */
void script_write_json(struct jw *w, const struct script *s);
/* The same members without the braces, for callers that add their own
 * ("venv", "last_execution"), as an admin sees them. */
void script_write_members(struct jw *w, const struct script *s);
/* The same, as `view` sees them. */
void script_write_members_view(struct jw *w, const struct script *s,
    enum script_view view);

#endif
