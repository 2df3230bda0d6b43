/* Unit tests of the field rules (scriptfields.h): each field's good and
 * bad values with the field the error names, what null puts back, the
 * members that are refused, the fields a create requires, and the rules
 * that span fields on the merged script. */
#include "config.h"

#include <limits.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "conf.h"
#include "json.h"
#include "script.h"
#include "scriptfields.h"
#include "secret.h"
#include "tap.h"

static struct conf c;

/* Applies the JSON text `body` to a script with the defaults. */
static int
apply(const char *body, struct script *s, unsigned *changed, struct verr *e)
{
	yajl_val v = json_parse(body, strlen(body), NULL, 0);
	int rc;

	memset(s, 0, sizeof(*s));
	scriptfields_defaults(&c, s);
	verr_clear(e);
	rc = scriptfields_apply(&c, v, s, changed, e);
	yajl_tree_free(v);
	return rc;
}

/* `body` is refused with an error on `field` whose message holds
 * `words`. */
static void
refused(const char *body, const char *field, const char *words)
{
	struct script s;
	struct verr e;
	unsigned changed;
	int rc = apply(body, &s, &changed, &e);

	if (!ok(rc == -1 && strcmp(e.field, field) == 0 &&
	    strstr(e.message, words) != NULL, "%s is refused: %s", body,
	    e.message))
		printf("#   field \"%s\", want \"%s\" and \"%s\"\n", e.field,
		    field, words);
	script_free(&s);
}

/* `body` is taken; the script goes to `check`, then is freed. */
static void
taken(const char *body, int (*check)(const struct script *),
    const char *what)
{
	struct script s;
	struct verr e;
	unsigned changed;
	int rc = apply(body, &s, &changed, &e);

	ok(rc == 0 && check(&s), "%s: %s %s", body, what, e.message);
	script_free(&s);
}

static int
defaults_ok(const struct script *s)
{
	return s->enabled == 1 && strcmp(s->description, "") == 0 &&
	    strcmp(s->args_json, "[]") == 0 &&
	    strcmp(s->input_mode, "both") == 0 &&
	    strcmp(s->outputs_json, "{\"stdout\":\"text\"}") == 0 &&
	    strcmp(s->env_json, "{}") == 0 && s->timeout_s == 60 &&
	    s->max_concurrency == 0 && s->inputs_json == NULL &&
	    s->requirements == NULL && s->limits_json == NULL &&
	    strcmp(s->network, "host") == 0 && s->node_labels == NULL &&
	    s->callback_url == NULL;
}

static int
callback_set(const struct script *s)
{
	/* As libcurl normalizes it: the scheme in lower case, a path. */
	return s->callback_url != NULL && strcmp(s->callback_url,
	    "https://HOOKS.studio.test/") == 0;
}

/* The script's default callback_url: an http(s) URL to a host the config
 * allows, on a node with a callback secret. */
static void
test_callback_url(void)
{
	c.has_callback_secret = 1;
	c.callback_secret_file = "/etc/scriptorch/callback.secret";
	c.callback_allow_hosts = "*.studio.test, 127.0.0.1:9000";
	taken("{\"callback_url\":\"HTTPS://HOOKS.studio.test\"}",
	    callback_set, "a callback URL to an allowed host");
	taken("{\"callback_url\":null}", defaults_ok, "null: none");
	refused("{\"callback_url\":\"https://evil.test/x\"}", "callback_url",
	    "not one that callback_allow_hosts allows");
	refused("{\"callback_url\":\"http://127.0.0.1:3306/\"}",
	    "callback_url", "port 3306");
	refused("{\"callback_url\":\"ftp://a.studio.test/\"}", "callback_url",
	    "http");
	refused("{\"callback_url\":\"https://u:p@a.studio.test/\"}",
	    "callback_url", "password");
	refused("{\"callback_url\":7}", "callback_url", "string or null");
	c.has_callback_secret = 0;
	refused("{\"callback_url\":\"https://a.studio.test/\"}", "callback_url",
	    "no callback secret");
	c.callback_allow_hosts = "";
	c.callback_secret_file = NULL;
}

static int
labels_set(const struct script *s)
{
	return s->node_labels != NULL &&
	    strcmp(s->node_labels, "ffmpeg,gpu") == 0;
}

static int
labels_none(const struct script *s)
{
	return s->node_labels == NULL;
}

static int
limits_set(const struct script *s)
{
	return s->limits_json != NULL && strcmp(s->limits_json,
	    "{\"memory_mb\":128,\"pids\":32,\"cpu_cores\":0.5}") == 0;
}

static int
limits_none(const struct script *s)
{
	return s->limits_json == NULL;
}

static int
network_none(const struct script *s)
{
	return strcmp(s->network, "none") == 0;
}

static int
name_set(const struct script *s)
{
	return strcmp(s->name, "my-script.v2") == 0;
}

static int
timeout_max(const struct script *s)
{
	return s->timeout_s == 3600;
}

static int
timeout_one(const struct script *s)
{
	return s->timeout_s == 1;
}

static int
concurrency_max(const struct script *s)
{
	return s->max_concurrency == 1000000;
}

static int
outputs_file(const struct script *s)
{
	return strcmp(s->outputs_json,
	    "{\"stdout\":\"text\",\"file\":\"out/result.png\"}") == 0;
}

static int
outputs_stdout_first(const struct script *s)
{
	return strcmp(s->outputs_json,
	    "{\"stdout\":\"json\",\"file\":\"r.txt\"}") == 0;
}

static int
compact_json(const struct script *s)
{
	return strcmp(s->args_json, "[\"-v\",\"{name}\"]") == 0 &&
	    strcmp(s->env_json, "{\"A\":\"b c\"}") == 0 &&
	    strcmp(s->inputs_json,
	    "{\"properties\":{\"name\":{\"type\":\"string\"}}}") == 0;
}

static int
input_mode_stdin(const struct script *s)
{
	return strcmp(s->input_mode, "stdin") == 0;
}

static int
disabled(const struct script *s)
{
	return s->enabled == 0;
}

/* A JSON object with one string member `key` of n bytes of 'x'. */
static char *
long_member(const char *key, size_t n)
{
	struct buf b = BUF_INIT;

	buf_printf(&b, "{\"%s\":\"", key);
	for (size_t i = 0; i < n; i++)
		buf_addc(&b, 'x');
	buf_adds(&b, "\"}");
	return buf_detach(&b, NULL);
}

/* Applies the JSON text `body` to `s` as it is (a PATCH). */
static int
patch(struct script *s, const char *body, struct verr *e)
{
	yajl_val v = json_parse(body, strlen(body), NULL, 0);
	unsigned changed;
	int rc;

	verr_clear(e);
	rc = scriptfields_apply(&c, v, s, &changed, e);
	yajl_tree_free(v);
	return rc;
}

/* The value of `name` in s's secret_env, opened with c's key ("" when it
 * is not there or does not open). */
static const char *
opened(const struct script *s, const char *name)
{
	static struct buf plain = BUF_INIT;
	yajl_val v = s->secret_env_json ? json_parse(s->secret_env_json,
	    strlen(s->secret_env_json), NULL, 0) : NULL;
	const char *sealed = json_get_str(v, name);
	char err[256];

	buf_reset(&plain);
	if (sealed == NULL || secret_open(&c.secret_key, sealed, &plain, err,
	    sizeof(err)) == -1)
		buf_reset(&plain);
	yajl_tree_free(v);
	return buf_str(&plain);
}

/* The sealed text of `name` in s's secret_env (a copy: free it). */
static char *
sealed_text(const struct script *s, const char *name)
{
	yajl_val v = s->secret_env_json ? json_parse(s->secret_env_json,
	    strlen(s->secret_env_json), NULL, 0) : NULL;
	const char *t = json_get_str(v, name);
	char *copy = xstrdup(t != NULL ? t : "");

	yajl_tree_free(v);
	return copy;
}

/* The names in s's secret_env, comma-separated. */
static char *
secret_names(const struct script *s)
{
	struct buf b = BUF_INIT;
	yajl_val v = s->secret_env_json ? json_parse(s->secret_env_json,
	    strlen(s->secret_env_json), NULL, 0) : NULL;

	for (size_t i = 0; YAJL_IS_OBJECT(v) && i < v->u.object.len; i++)
		buf_printf(&b, "%s%s", i ? "," : "", v->u.object.keys[i]);
	yajl_tree_free(v);
	return buf_detach(&b, NULL);
}

/* secret_env: names, values, the key, and the PATCH merge. */
static void
test_secret_env(void)
{
	struct script s;
	struct verr e;
	unsigned changed;
	char *names, *kept;

	c.secret_key_file = "/etc/scriptorch/secret.key";
	c.has_secret_key = 0;
	refused("{\"secret_env\":{\"API_KEY\":\"v\"}}", "secret_env.API_KEY",
	    "this node has no secret key (the file "
	    "\"/etc/scriptorch/secret.key\" does not exist");
	c.has_secret_key = 1;
	randombytes_buf(c.secret_key.k, sizeof(c.secret_key.k));
	refused("{\"secret_env\":[]}", "secret_env", "secret_env must be an "
	    "object of strings");
	refused("{\"secret_env\":{\"1A\":\"v\"}}", "secret_env.1A",
	    "not a valid variable name");
	refused("{\"secret_env\":{\"A-B\":\"v\"}}", "secret_env.A-B",
	    "not a valid variable name");
	refused("{\"secret_env\":{\"\":\"v\"}}", "secret_env[\"\"]",
	    "not a valid variable name");
	refused("{\"secret_env\":{\"PATH\":\"v\"}}", "secret_env.PATH",
	    "secret_env may not set PATH");
	refused("{\"secret_env\":{\"INPUT_X\":\"v\"}}", "secret_env.INPUT_X",
	    "secret_env may not set INPUT_X");
	refused("{\"secret_env\":{\"SCRIPTORCH_Y\":\"v\"}}",
	    "secret_env.SCRIPTORCH_Y", "are set by scriptorch");
	refused("{\"secret_env\":{\"A\":7}}", "secret_env.A",
	    "secret_env.A must be a string (or null to remove it)");
	refused("{\"secret_env\":{\"A\":\"***\"}}", "secret_env.A",
	    "keeps a stored value, but A has none");

	/* A create: each value sealed, in the order given. */
	ok(apply("{\"secret_env\":{\"API_KEY\":\"k-1111\",\"DB_PASS\":"
	    "\"p-2222\",\"GONE\":null}}", &s, &changed, &e) == 0 &&
	    changed == SF_BIT(SF_SECRET_ENV), "secret_env taken: %s",
	    e.message);
	names = secret_names(&s);
	is_str(names, "API_KEY,DB_PASS", "the names given (null for a new "
	    "one is nothing)");
	free(names);
	ok(s.secret_env_json != NULL && strstr(s.secret_env_json, "k-1111") ==
	    NULL && strstr(s.secret_env_json, "\"v1:") != NULL,
	    "stored sealed, not as given: %s", s.secret_env_json);
	is_str(opened(&s, "API_KEY"), "k-1111", "API_KEY opens to its value");
	is_str(opened(&s, "DB_PASS"), "p-2222", "DB_PASS too");

	/* A PATCH: replace, remove, add, keep. */
	kept = sealed_text(&s, "DB_PASS");
	ok(patch(&s, "{\"secret_env\":{\"API_KEY\":null,\"NEW_ONE\":"
	    "\"n-3333\"}}", &e) == 0, "a PATCH that removes one and adds one");
	names = secret_names(&s);
	is_str(names, "DB_PASS,NEW_ONE", "the rest kept, the new one last");
	free(names);
	names = sealed_text(&s, "DB_PASS");
	ok(*kept != '\0' && strcmp(names, kept) == 0, "a name not given keeps "
	    "its sealed text as it was");
	free(names);
	is_str(opened(&s, "NEW_ONE"), "n-3333", "the new one opens");
	ok(patch(&s, "{\"secret_env\":{\"DB_PASS\":\"p-4444\","
	    "\"NEW_ONE\":\"***\"}}", &e) == 0, "a PATCH that replaces one "
	    "and gives \"***\" for the other");
	is_str(opened(&s, "DB_PASS"), "p-4444", "the value replaced");
	is_str(opened(&s, "NEW_ONE"), "n-3333", "\"***\" keeps the value");
	names = secret_names(&s);
	is_str(names, "DB_PASS,NEW_ONE", "in their places");
	free(names);
	ok(patch(&s, "{\"secret_env\":{\"DB_PASS\":null,\"NEW_ONE\":null}}",
	    &e) == 0 && s.secret_env_json == NULL, "removing every name "
	    "leaves none (NULL)");
	ok(patch(&s, "{\"secret_env\":{\"A_1\":\"a-5555\"}}", &e) == 0 &&
	    patch(&s, "{\"secret_env\":null}", &e) == 0 &&
	    s.secret_env_json == NULL, "null for the field removes them all");

	/* No name in both env and secret_env. */
	ok(patch(&s, "{\"env\":{\"TOKEN\":\"x\"},\"secret_env\":{\"TOKEN\":"
	    "\"y-6666\"}}", &e) == 0, "env and secret_env applied");
	s.type[0] = '\0';
	snprintf(s.type, sizeof(s.type), "shell");
	ok(scriptfields_check(&c, NULL, &s, 0, &e) == -1 &&
	    strcmp(e.field, "secret_env.TOKEN") == 0 &&
	    strstr(e.message, "TOKEN is in env too") != NULL,
	    "a name in both is refused: %s", e.message);
	ok(patch(&s, "{\"env\":{}}", &e) == 0 &&
	    scriptfields_check(&c, NULL, &s, 0, &e) == 0,
	    "taken out of env, it is fine: %s", e.message);
	script_free(&s);
	free(kept);
	c.has_secret_key = 0;
	c.secret_key_file = NULL;
}

/* The fields of `all`, comma-separated. */
static void
fields_of(const struct verr_list *all, struct buf *out)
{
	buf_reset(out);
	for (size_t i = 0; i < all->n; i++)
		buf_printf(out, "%s%s", i ? "," : "", all->v[i].field);
}

/* Validates `body` as a create (or an update of the defaults): 0 or -1,
 * the fields at fault in `got`. */
static int
validate(const char *body, int create, struct buf *got, struct verr *e)
{
	yajl_val v = json_parse(body, strlen(body), NULL, 0);
	struct verr_list all = VERR_LIST_INIT;
	struct script s;
	unsigned changed;
	int rc;

	memset(&s, 0, sizeof(s));
	scriptfields_defaults(&c, &s);
	rc = scriptfields_validate(&c, NULL, v, &s, create, &changed, e, &all);
	fields_of(&all, got);
	if (rc == -1 && (all.n == 0 || strcmp(all.v[0].field, e->field) != 0))
		rc = -2;        /* e must be the first */
	verr_list_free(&all);
	script_free(&s);
	yajl_tree_free(v);
	return rc;
}

static void
validate_all(const char *dir)
{
	struct buf got = BUF_INIT;
	struct verr e;
	char *text = NULL;

	is_int(validate("{\"name\":\"Bad Name\",\"type\":\"perl\",\"path\":"
	    "\"rel/x.sh\",\"timeout_s\":0,\"colour\":1,\"outputs\":"
	    "{\"file\":\"/abs\"}}", 1, &got, &e), -1, "a create with six "
	    "invalid members");
	is_str(buf_str(&got), "name,type,timeout_s,colour,outputs.file",
	    "each member at fault, in the body's order (path is not "
	    "checked beside an invalid type)");
	is_int(validate("{\"description\":\"d\"}", 1, &got, &e), -1,
	    "a create without the required fields");
	is_str(buf_str(&got), "name,type,path", "every required one named");
	is_int(validate("{\"name\":7,\"type\":\"shell\"}", 1, &got, &e), -1,
	    "an invalid name is not also missing");
	is_str(buf_str(&got), "name,path", "name once, and path missing");
	is_int(validate("{\"name\":\"ok\",\"type\":\"shell\",\"path\":"
	    "\"/nowhere/x.sh\",\"requirements\":\"numpy\",\"args\":"
	    "[\"{output_file}\"],\"env\":{\"K\":\"v\"},\"timeout_s\":\"x\"}",
	    1, &got, &e), -1, "rules across fields too");
	is_str(buf_str(&got), "timeout_s,requirements,args[0],path",
	    "the members, then each rule's field");
	is_int(validate("{\"id\":1,\"bogus\":2,\"enabled\":\"yes\"}", 0, &got,
	    &e), -1, "an update with a read-only, an unknown and a bad member");
	is_str(buf_str(&got), "id,bogus,enabled", "each of them");
	is_int(validate("{\"args\":[1],\"outputs\":7}", 0, &got, &e), -1,
	    "invalid args and outputs");
	is_str(buf_str(&got), "args[0],outputs", "the placeholder rule about "
	    "them is not tried");
	is_int(validate("[]", 0, &got, &e), -1, "not an object");
	is_str(buf_str(&got), "", "one error without a field");
	is_str(e.message, "the script must be a JSON object", "  says so");
	if (asprintf(&text, "{\"name\":\"good\",\"type\":\"shell\","
	    "\"path\":\"%s\"}", dir) == -1)
		return;
	is_int(validate(text, 1, &got, &e), -1, "only the file is wrong");
	is_str(buf_str(&got), "path", "the path");
	free(text);
	is_int(validate("{\"description\":\"fine\"}", 0, &got, &e), 0,
	    "a valid update: nothing");
	buf_free(&got);
}

int
main(void)
{
	char dir[] = "/tmp/sto-fields-XXXXXX", path[PATH_MAX], *text;
	struct script s;
	struct verr e;
	struct buf names = BUF_INIT;
	unsigned changed;

	plan_lazy();
	memset(&c, 0, sizeof(c));
	c.default_timeout_s = 60;
	c.max_timeout_s = 3600;
	c.run_user = "nobody";
	c.limit_memory_mb_max = 4096;
	c.limit_pids_max = 64;
	c.limit_cpu_cores_max = 2;
	c.limit_file_size_mb_max = 100;
	c.limit_output_cap_kb_max = 64;
	c.callback_allow_hosts = "";

	/* Defaults and null. */
	taken("{}", defaults_ok, "nothing given leaves the defaults");
	taken("{\"description\":null,\"args\":null,\"input_mode\":null,"
	    "\"outputs\":null,\"env\":null,\"timeout_s\":null,"
	    "\"max_concurrency\":null,\"inputs\":null,\"requirements\":null,"
	    "\"limits\":null,\"network\":null,\"node_labels\":null,\"callback_url\":null}",
	    defaults_ok, "null puts every optional field's default back");

	/* One field at a time. */
	taken("{\"name\":\"my-script.v2\"}", name_set, "a good name");
	refused("{\"name\":7}", "name", "name must be a string");
	refused("{\"name\":null}", "name", "name must be a string");
	refused("{\"name\":\"My Script\"}", "name", "");
	refused("{\"type\":\"perl\"}", "type",
	    "type must be shell, python or binary");
	refused("{\"path\":[]}", "path", "path must be a string");
	refused("{\"enabled\":\"yes\"}", "enabled",
	    "enabled must be true or false");
	taken("{\"enabled\":false}", disabled, "enabled false");
	refused("{\"description\":5}", "description",
	    "description must be a string");
	text = long_member("description", 65536);
	refused(text, "description", "description must be at most 65535 "
	    "bytes");
	free(text);
	text = long_member("requirements", 65536);
	refused(text, "requirements", "at most 65535 bytes");
	free(text);
	refused("{\"args\":\"-v\"}", "args", "args must be an array of "
	    "strings");
	refused("{\"args\":[\"{\"]}", "args[0]", "");
	taken("{\"args\":[ \"-v\", \"{name}\" ],\"env\":{ \"A\" : \"b c\" },"
	    "\"inputs\":{\"properties\":{\"name\":{\"type\":\"string\"}}}}",
	    compact_json, "JSON fields are stored compact");
	refused("{\"env\":[]}", "env", "env must be an object of strings");
	refused("{\"inputs\":{\"type\":\"object\",\"dflt\":{}}}",
	    "inputs.dflt", "unknown keyword \"dflt\"");
	refused("{\"inputs\":{\"properties\":{\"n\":{\"type\":\"integer\","
	    "\"default\":\"3\"}}}}", "inputs.properties.n.default",
	    "inputs.properties.n.default must be an integer, not a string");
	refused("{\"input_mode\":\"file\"}", "input_mode",
	    "input_mode must be env, stdin or both");
	taken("{\"input_mode\":\"stdin\"}", input_mode_stdin, "stdin");
	refused("{\"outputs\":[]}", "outputs", "outputs must be an object");
	refused("{\"outputs\":{\"stdout\":\"xml\"}}", "outputs.stdout",
	    "outputs.stdout must be \"text\" or \"json\"");
	refused("{\"outputs\":{\"file\":3}}", "outputs.file",
	    "outputs.file must be a string");
	refused("{\"outputs\":{\"file\":\"/tmp/x\"}}", "outputs.file",
	    "not absolute");
	refused("{\"outputs\":{\"file\":\"a/../b\"}}", "outputs.file",
	    "normalized relative path");
	refused("{\"outputs\":{\"file\":\"a//b\"}}", "outputs.file",
	    "normalized relative path");
	refused("{\"outputs\":{\"file\":\"\"}}", "outputs.file",
	    "relative path of 1 to 1024 bytes");
	refused("{\"outputs\":{\"log\":\"x\"}}", "outputs.log",
	    "unknown output \"log\"");
	taken("{\"outputs\":{\"file\":\"out/result.png\"}}", outputs_file,
	    "stdout is added to a stored outputs");
	taken("{\"outputs\":{\"file\":\"r.txt\",\"stdout\":\"json\"}}",
	    outputs_stdout_first, "and always comes first");
	taken("{\"timeout_s\":3600}", timeout_max, "the longest timeout");
	taken("{\"timeout_s\":1}", timeout_one, "the shortest timeout");
	refused("{\"timeout_s\":3601}", "timeout_s",
	    "timeout_s must be an integer from 1 to 3600");
	refused("{\"timeout_s\":0}", "timeout_s", "from 1 to 3600");
	refused("{\"timeout_s\":2.5}", "timeout_s", "from 1 to 3600");
	refused("{\"timeout_s\":\"10\"}", "timeout_s", "from 1 to 3600");
	taken("{\"max_concurrency\":1000000}", concurrency_max,
	    "the highest max_concurrency");
	refused("{\"max_concurrency\":1000001}", "max_concurrency",
	    "null (no limit) or an integer from 1 to 1000000");
	refused("{\"max_concurrency\":0}", "max_concurrency", "null");
	taken("{\"limits\":{\"pids\":32,\"cpu_cores\":0.5,\"memory_mb\":128}}",
	    limits_set, "limits, stored in one order");
	taken("{\"limits\":{}}", limits_none, "limits {}: none of its own");
	taken("{\"limits\":{\"pids\":null}}", limits_none,
	    "a limit given null: the default");
	refused("{\"limits\":{\"memory_mb\":4097}}", "limits.memory_mb",
	    "limits.memory_mb must be an integer from 1 to 4096 (the "
	    "configured maximum)");
	refused("{\"limits\":{\"pids\":65}}", "limits.pids", "from 1 to 64");
	refused("{\"limits\":{\"cpu_cores\":3}}", "limits.cpu_cores",
	    "from 0.01 to 2");
	refused("{\"limits\":{\"file_size_mb\":101}}", "limits.file_size_mb",
	    "from 1 to 100");
	refused("{\"limits\":{\"output_cap_kb\":65}}", "limits.output_cap_kb",
	    "from 1 to 64");
	refused("{\"limits\":{\"disk_mb\":1}}", "limits.disk_mb",
	    "unknown limit \"disk_mb\"");
	refused("{\"limits\":512}", "limits", "limits must be an object");
	taken("{\"network\":\"none\"}", network_none, "network none");
	refused("{\"network\":\"bridge\"}", "network",
	    "network must be \"host\"");
	taken("{\"node_labels\":[\"gpu\",\"ffmpeg\"]}", labels_set,
	    "node labels, kept sorted");
	taken("{\"node_labels\":[]}", labels_none, "no node labels");
	refused("{\"node_labels\":\"gpu\"}", "node_labels",
	    "node_labels must be an array");
	refused("{\"node_labels\":[\"gpu\",7]}", "node_labels[1]",
	    "node_labels[1] must be a string");
	refused("{\"node_labels\":[\"gpu\",\"GPU\"]}", "node_labels[1]",
	    "must match");
	refused("{\"node_labels\":[\"gpu\",\"ssd\",\"gpu\"]}",
	    "node_labels[2]", "given twice");
	refused("{\"node_labels\":[\"a\",\"b\",\"c\",\"d\",\"e\",\"f\","
	    "\"g\",\"h\",\"i\",\"j\",\"k\",\"l\",\"m\",\"n\",\"o\",\"p\","
	    "\"q\"]}", "node_labels", "at most 16");

	test_secret_env();
	test_callback_url();

	/* The members that are not fields. */
	refused("{\"id\":3}", "id", "id is read-only");
	refused("{\"version\":\"x\"}", "version", "version is read-only");
	refused("{\"venv\":{}}", "venv", "venv is read-only");
	refused("{\"effective_limits\":{}}", "effective_limits",
	    "effective_limits is read-only");
	refused("{\"colour\":\"red\"}", "colour", "unknown field \"colour\"");
	refused("[]", "", "the script must be a JSON object");

	/* Which fields were given, in the contract's order. */
	ok(apply("{\"timeout_s\":5,\"name\":\"a\",\"env\":{}}", &s, &changed,
	    &e) == 0 && changed == (SF_BIT(SF_NAME) | SF_BIT(SF_ENV) |
	    SF_BIT(SF_TIMEOUT)), "each field given is marked changed");
	scriptfields_names(changed, &names);
	is_str(buf_str(&names), "name,env,timeout_s",
	    "their names for the audit record");
	buf_free(&names);
	script_free(&s);

	/* A create needs name, type and path, in that order. */
	ok(scriptfields_require(SF_BIT(SF_NAME) | SF_BIT(SF_TYPE) |
	    SF_BIT(SF_PATH), &e) == 0, "name, type and path are enough");
	ok(scriptfields_require(SF_BIT(SF_PATH), &e) == -1 &&
	    strcmp(e.field, "name") == 0 &&
	    strcmp(e.message, "name is required") == 0,
	    "the first one missing is named: %s", e.message);
	ok(scriptfields_require(SF_BIT(SF_NAME) | SF_BIT(SF_TYPE), &e) == -1 &&
	    strcmp(e.field, "path") == 0, "path is required too");

	/* The rules that span fields. */
	if (mkdtemp(dir) == NULL)
		return 2;
	c.script_roots[0] = dir;
	c.n_script_roots = 1;
	snprintf(path, sizeof(path), "%s/gone.sh", dir);
	text = NULL;
	if (asprintf(&text, "{\"name\":\"x\",\"type\":\"shell\",\"path\":"
	    "\"%s\",\"requirements\":\"requests\\n\"}", path) == -1)
		return 2;
	ok(apply(text, &s, &changed, &e) == 0 &&
	    scriptfields_check(&c, NULL, &s, 0, &e) == -1 &&
	    strcmp(e.field, "requirements") == 0 && strstr(e.message,
	    "only for python scripts (this one is shell)") != NULL,
	    "requirements only for python: %s", e.message);
	snprintf(s.type, sizeof(s.type), "python");
	free(s.requirements);
	s.requirements = strdup("-r other.txt\n");
	ok(scriptfields_check(&c, NULL, &s, 0, &e) == -1 &&
	    strcmp(e.field, "requirements") == 0,
	    "requirements must parse: %s", e.message);
	free(s.requirements);
	s.requirements = NULL;
	free(s.args_json);
	s.args_json = strdup("[\"{output_file}\"]");
	ok(scriptfields_check(&c, NULL, &s, 0, &e) == -1 &&
	    strstr(e.message, "output_file") != NULL,
	    "{output_file} needs outputs.file: %s", e.message);
	free(s.outputs_json);
	s.outputs_json = strdup("{\"stdout\":\"text\",\"file\":\"o\"}");
	ok(scriptfields_check(&c, NULL, &s, SF_BIT(SF_NAME), &e) == 0,
	    "with it, and path and type unchanged, the missing file is not "
	    "looked at");
	ok(scriptfields_check(&c, NULL, &s, SF_BIT(SF_PATH), &e) == -1 &&
	    strcmp(e.field, "path") == 0 &&
	    strcmp(e.message, "path does not exist") == 0,
	    "a new path is: %s", e.message);
	ok(scriptfields_check(&c, NULL, &s, SF_BIT(SF_TYPE), &e) == -1 &&
	    strcmp(e.message, "path does not exist") == 0,
	    "and so is a new type");
	script_free(&s);
	free(text);

	/* Every invalid field at once (scriptfields_validate). */
	validate_all(dir);
	rmdir(dir);
	return done_testing();
}
