/* Unit tests of the script model (script.h): its JSON object carries
 * every member as the contract spells it, what it renders is what the
 * field rules accept back (the round trip gives the same script), and a
 * copy owns its own memory. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "conf.h"
#include "json.h"
#include "script.h"
#include "scriptfields.h"
#include "tap.h"

/* A script with no member at its default. */
static void
make(struct script *s)
{
	memset(s, 0, sizeof(*s));
	s->id = 42;
	snprintf(s->name, sizeof(s->name), "grade-essay");
	snprintf(s->type, sizeof(s->type), "python");
	s->path = strdup("/srv/scripts/grade.py");
	s->description = strdup("grades an \"essay\" \xc3\xa9t\xc3\xa9\n");
	s->enabled = 0;
	snprintf(s->version, sizeof(s->version), "sha256:%064d", 7);
	s->requirements = strdup("requests==2.31.0\n");
	s->args_json = strdup("[\"--level\",\"{level}\",\"{output_file}\"]");
	snprintf(s->input_mode, sizeof(s->input_mode), "env");
	s->inputs_json = strdup("{\"type\":\"object\",\"properties\":"
	    "{\"level\":{\"type\":\"integer\",\"minimum\":1}},"
	    "\"required\":[\"level\"]}");
	s->outputs_json = strdup("{\"stdout\":\"json\",\"file\":\"out.png\"}");
	s->env_json = strdup("{\"LANG\":\"C.UTF-8\"}");
	/* As stored: sealed values (their form does not matter here). */
	s->secret_env_json = strdup("{\"API_TOKEN\":\"v1:c2VhbGVk\","
	    "\"DB_PASS\":\"v1:YWxzbw==\"}");
	s->timeout_s = 90;
	s->max_concurrency = 3;
	s->limits_json = strdup("{\"memory_mb\":512,\"cpu_cores\":0.5}");
	snprintf(s->network, sizeof(s->network), "none");
	s->node_labels = strdup("ffmpeg,gpu");
	s->callback_url = strdup("https://hooks.example/done");
	snprintf(s->created_at, sizeof(s->created_at),
	    "2026-11-26T10:00:00.000Z");
	snprintf(s->updated_at, sizeof(s->updated_at),
	    "2026-11-26T10:00:05.000Z");
}

/* The script's JSON object as `view` sees it, parsed. */
static yajl_val
render_view(const struct script *s, enum script_view view)
{
	struct buf out = BUF_INIT;
	struct jw w;
	yajl_val v;

	jw_init(&w, &out);
	jw_obj(&w);
	script_write_members_view(&w, s, view);
	jw_obj_end(&w);
	jw_free(&w);
	v = json_parse(buf_str(&out), out.len, NULL, 0);
	buf_free(&out);
	return v;
}

/* The script's JSON object, parsed. */
static yajl_val
render(const struct script *s)
{
	struct buf out = BUF_INIT;
	struct jw w;
	yajl_val v;

	jw_init(&w, &out);
	script_write_json(&w, s);
	jw_free(&w);
	v = json_parse(buf_str(&out), out.len, NULL, 0);
	buf_free(&out);
	return v;
}

/* The compact JSON text of member `key` of `obj`. */
static char *
member_text(yajl_val obj, const char *key)
{
	struct buf b = BUF_INIT;

	json_dump(&b, json_get(obj, key));
	return buf_detach(&b, NULL);
}

static void
is_member(yajl_val obj, const char *key, const char *want)
{
	char *got = member_text(obj, key);

	is_str(got, want, "\"%s\" renders as %s", key, want);
	free(got);
}

/* Every writable member of two scripts is the same. */
static int
same_fields(const struct script *a, const struct script *b)
{
#define SAME(m) (a->m == NULL ? b->m == NULL : \
	(b->m != NULL && strcmp(a->m, b->m) == 0))
	return strcmp(a->name, b->name) == 0 &&
	    strcmp(a->type, b->type) == 0 && SAME(path) &&
	    SAME(description) && a->enabled == b->enabled &&
	    SAME(requirements) && SAME(args_json) &&
	    strcmp(a->input_mode, b->input_mode) == 0 && SAME(inputs_json) &&
	    SAME(outputs_json) && SAME(env_json) && SAME(secret_env_json) &&
	    a->timeout_s == b->timeout_s &&
	    a->max_concurrency == b->max_concurrency &&
	    SAME(limits_json) && strcmp(a->network, b->network) == 0 &&
	    SAME(node_labels) &&
	    SAME(callback_url);
#undef SAME
}

/* 1 when `key` is a member only the server writes. */
static int
readonly(const char *key)
{
	static const char *const names[] = {
		"id", "version", "created_at", "updated_at", NULL,
	};

	for (int i = 0; names[i] != NULL; i++)
		if (strcmp(key, names[i]) == 0)
			return 1;
	return 0;
}

/* A rendered object without the read-only members, through the field
 * rules onto a fresh script that has the stored secret_env of `stored`,
 * as a PATCH of it would (out: script_free it). */
static int
apply_back(const struct conf *c, yajl_val obj, const struct script *stored,
    struct script *out, struct verr *e)
{
	struct buf text = BUF_INIT;
	struct jw w;
	yajl_val body;
	unsigned changed;
	int rc;

	jw_init(&w, &text);
	jw_obj(&w);
	for (size_t i = 0; i < obj->u.object.len; i++)
		if (!readonly(obj->u.object.keys[i])) {
			jw_key(&w, obj->u.object.keys[i]);
			jw_value(&w, obj->u.object.values[i]);
		}
	jw_obj_end(&w);
	jw_free(&w);
	body = json_parse(buf_str(&text), text.len, NULL, 0);
	buf_free(&text);
	memset(out, 0, sizeof(*out));
	scriptfields_defaults(c, out);
	if (stored->secret_env_json != NULL)
		out->secret_env_json = strdup(stored->secret_env_json);
	rc = scriptfields_apply(c, body, out, &changed, e);
	yajl_tree_free(body);
	return rc;
}

int
main(void)
{
	struct conf c;
	struct script s, back, copy;
	struct verr e;
	yajl_val v;

	plan_lazy();
	memset(&c, 0, sizeof(c));
	c.default_timeout_s = 60;
	c.max_timeout_s = 3600;
	c.limit_memory_mb_max = 4096;
	c.limit_cpu_cores_max = 4;
	c.has_callback_secret = 1;
	c.callback_allow_hosts = "";
	make(&s);

	v = render(&s);
	ok(YAJL_IS_OBJECT(v), "the script renders as one JSON object");
	ok(v != NULL && v->u.object.len == 22, "with the contract's 22 "
	    "members (%zu)", v != NULL ? v->u.object.len : 0);
	is_member(v, "id", "42");
	is_member(v, "name", "\"grade-essay\"");
	is_member(v, "type", "\"python\"");
	is_member(v, "path", "\"/srv/scripts/grade.py\"");
	is_member(v, "description",
	    "\"grades an \\\"essay\\\" \xc3\xa9t\xc3\xa9\\n\"");
	is_member(v, "enabled", "false");
	is_member(v, "requirements", "\"requests==2.31.0\\n\"");
	is_member(v, "args", "[\"--level\",\"{level}\",\"{output_file}\"]");
	is_member(v, "input_mode", "\"env\"");
	is_member(v, "inputs", s.inputs_json);
	is_member(v, "outputs", "{\"stdout\":\"json\",\"file\":\"out.png\"}");
	is_member(v, "env", "{\"LANG\":\"C.UTF-8\"}");
	is_member(v, "secret_env", "{\"API_TOKEN\":\"***\",\"DB_PASS\":"
	    "\"***\"}");
	is_member(v, "timeout_s", "90");
	is_member(v, "max_concurrency", "3");
	is_member(v, "limits", "{\"memory_mb\":512,\"cpu_cores\":0.5}");
	is_member(v, "network", "\"none\"");
	is_member(v, "node_labels", "[\"ffmpeg\",\"gpu\"]");
	is_member(v, "callback_url", "\"https://hooks.example/done\"");
	is_member(v, "created_at", "\"2026-11-26T10:00:00.000Z\"");
	is_member(v, "updated_at", "\"2026-11-26T10:00:05.000Z\"");
	is_str(json_get_str(v, "version"), s.version, "version as stored");

	ok(apply_back(&c, v, &s, &back, &e) == 0, "what is rendered is "
	    "accepted back by the field rules: %s", e.message);
	ok(same_fields(&s, &back), "and gives the same script (secret_env's "
	    "\"***\" keeps each stored value)");
	script_free(&back);
	yajl_tree_free(v);

	/* Whoever is not an admin sees env values masked too. */
	v = render_view(&s, SCRIPT_VIEW_MASKED);
	ok(v != NULL && v->u.object.len == 22, "the masked view has the same "
	    "members");
	is_member(v, "env", "{\"LANG\":\"***\"}");
	is_member(v, "secret_env", "{\"API_TOKEN\":\"***\",\"DB_PASS\":"
	    "\"***\"}");
	is_member(v, "name", "\"grade-essay\"");
	yajl_tree_free(v);
	v = render_view(&s, SCRIPT_VIEW_ADMIN);
	is_member(v, "env", "{\"LANG\":\"C.UTF-8\"}");
	yajl_tree_free(v);

	/* The members that stand for "none". */
	script_free(&s);
	make(&s);
	free(s.requirements);
	s.requirements = NULL;
	free(s.inputs_json);
	s.inputs_json = NULL;
	free(s.description);
	s.description = NULL;
	free(s.args_json);
	s.args_json = NULL;
	free(s.secret_env_json);
	s.secret_env_json = NULL;
	s.max_concurrency = 0;
	free(s.limits_json);
	s.limits_json = NULL;
	s.network[0] = '\0';
	free(s.node_labels);
	s.node_labels = NULL;
	free(s.callback_url);
	s.callback_url = NULL;
	snprintf(s.type, sizeof(s.type), "shell");
	v = render(&s);
	is_member(v, "callback_url", "null");
	is_member(v, "limits", "{}");
	is_member(v, "node_labels", "[]");
	is_member(v, "network", "\"host\"");
	is_member(v, "requirements", "null");
	is_member(v, "inputs", "null");
	is_member(v, "description", "\"\"");
	is_member(v, "args", "[]");
	is_member(v, "max_concurrency", "null");
	is_member(v, "secret_env", "{}");
	ok(apply_back(&c, v, &s, &back, &e) == 0 && back.max_concurrency == 0 &&
	    back.requirements == NULL && back.inputs_json == NULL &&
	    strcmp(back.description, "") == 0 &&
	    strcmp(back.args_json, "[]") == 0 && back.limits_json == NULL &&
	    strcmp(back.network, "host") == 0 && back.callback_url == NULL,
	    "nulls go back to the defaults they stand for");
	script_free(&back);
	yajl_tree_free(v);

	/* A copy is deep. */
	s.secret_env_json = strdup("{\"K\":\"v1:eA==\"}");
	script_dup(&s, &copy);
	ok(copy.path != s.path && copy.env_json != s.env_json &&
	    copy.secret_env_json != s.secret_env_json &&
	    same_fields(&s, &copy) && copy.id == s.id &&
	    strcmp(copy.version, s.version) == 0, "a copy has the same "
	    "fields in memory of its own");
	script_free(&s);
	ok(strcmp(copy.path, "/srv/scripts/grade.py") == 0 &&
	    strcmp(copy.env_json, "{\"LANG\":\"C.UTF-8\"}") == 0,
	    "and outlives the original");
	script_free(&copy);
	ok(copy.path == NULL && copy.id == 0, "script_free leaves it empty");
	script_free(&copy);
	script_free(NULL);
	ok(1, "freeing twice, or NULL, is fine");

	ok(script_type_valid("shell") && script_type_valid("python") &&
	    script_type_valid("binary"), "the three types are valid");
	ok(!script_type_valid("perl") && !script_type_valid("") &&
	    !script_type_valid(NULL) && !script_type_valid("Shell"),
	    "nothing else is");
	return done_testing();
}
