/*
 * script.c - a script's memory and its JSON object.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "json.h"
#include "labels.h"
#include "script.h"
#include "secret.h"

/* strdup that keeps NULL. */
static char *
xstrdup_opt(const char *s)
{
	return s != NULL ? xstrdup(s) : NULL;
}

void
script_dup(const struct script *src, struct script *dst)
{
	*dst = *src;
	dst->path = xstrdup_opt(src->path);
	dst->description = xstrdup_opt(src->description);
	dst->requirements = xstrdup_opt(src->requirements);
	dst->args_json = xstrdup_opt(src->args_json);
	dst->inputs_json = xstrdup_opt(src->inputs_json);
	dst->outputs_json = xstrdup_opt(src->outputs_json);
	dst->env_json = xstrdup_opt(src->env_json);
	dst->secret_env_json = xstrdup_opt(src->secret_env_json);
	dst->limits_json = xstrdup_opt(src->limits_json);
	dst->node_labels = xstrdup_opt(src->node_labels);
	dst->callback_url = xstrdup_opt(src->callback_url);
}

void
script_free(struct script *s)
{
	if (s == NULL)
		return;
	free(s->path);
	free(s->description);
	free(s->requirements);
	free(s->args_json);
	free(s->inputs_json);
	free(s->outputs_json);
	free(s->env_json);
	free(s->secret_env_json);
	free(s->limits_json);
	free(s->node_labels);
	free(s->callback_url);
	memset(s, 0, sizeof(*s));
}

int
script_type_valid(const char *t)
{
	return t != NULL && (strcmp(t, "shell") == 0 ||
	    strcmp(t, "python") == 0 || strcmp(t, "binary") == 0);
}

/* A member holding JSON text: NULL writes null (jw_raw_json with no
 * text), as does text that does not parse. */
static void
write_raw(struct jw *w, const char *key, const char *json)
{
	jw_key(w, key);
	jw_raw_json(w, json, json != NULL ? strlen(json) : 0);
}

/* An object's names, each with "***" for its value: a stored JSON object
 * (NULL or text that does not parse: {}). */
static void
write_names_masked(struct jw *w, const char *key, const char *json)
{
	yajl_val v = json != NULL ? json_parse(json, strlen(json), NULL, 0) :
	    NULL;

	jw_key(w, key);
	jw_obj(w);
	for (size_t i = 0; YAJL_IS_OBJECT(v) && i < v->u.object.len; i++) {
		jw_key(w, v->u.object.keys[i]);
		jw_str(w, SECRET_MASK);
	}
	jw_obj_end(w);
	yajl_tree_free(v);
}

void
script_write_members(struct jw *w, const struct script *s)
{
	script_write_members_view(w, s, SCRIPT_VIEW_ADMIN);
}

void
script_write_members_view(struct jw *w, const struct script *s,
    enum script_view view)
{
	jw_key(w, "id");
	jw_int(w, s->id);
	jw_key(w, "name");
	jw_str(w, s->name);
	jw_key(w, "type");
	jw_str(w, s->type);
	jw_key(w, "path");
	jw_str(w, s->path);
	jw_key(w, "description");
	jw_str(w, s->description != NULL ? s->description : "");
	jw_key(w, "enabled");
	jw_bool(w, s->enabled);
	jw_key(w, "version");
	jw_str(w, s->version);
	jw_key(w, "requirements");
	jw_str(w, s->requirements);
	write_raw(w, "args", s->args_json != NULL ? s->args_json : "[]");
	jw_key(w, "input_mode");
	jw_str(w, s->input_mode);
	write_raw(w, "inputs", s->inputs_json);
	write_raw(w, "outputs", s->outputs_json);
	if (view == SCRIPT_VIEW_ADMIN)
		write_raw(w, "env", s->env_json);
	else
		write_names_masked(w, "env", s->env_json);
	write_names_masked(w, "secret_env", s->secret_env_json);
	jw_key(w, "timeout_s");
	jw_int(w, s->timeout_s);
	jw_key(w, "max_concurrency");
	if (s->max_concurrency > 0)
		jw_int(w, s->max_concurrency);
	else
		jw_null(w);
	write_raw(w, "limits", s->limits_json != NULL ? s->limits_json : "{}");
	jw_key(w, "network");
	jw_str(w, s->network[0] != '\0' ? s->network : "host");
	jw_key(w, "node_labels");
	labels_write_json(w, s->node_labels);
	jw_key(w, "callback_url");
	jw_str(w, s->callback_url);
	jw_key(w, "created_at");
	jw_str(w, s->created_at);
	jw_key(w, "updated_at");
	jw_str(w, s->updated_at);
}

void
script_write_json(struct jw *w, const struct script *s)
{
	jw_obj(w);
	script_write_members(w, s);
	jw_obj_end(w);
}
