/*
 * market_item.c - an item of the marketplace read from its directory and
 * checked (market_item.h), and its JSON object.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fsutil.h"
#include "json.h"
#include "market_item.h"
#include "names.h"
#include "schema.h"
#include "script.h"

/* The members item.json may have; anything else is a typo to report. */
static const char *const meta_keys[] = {
	"title", "summary", "type", "script", "tools", "description",
	"requirements", "args", "input_mode", "inputs", "outputs",
	"timeout_s", "limits", "network", "env", NULL,
};

yajl_val
market_item_get(const struct market_item *it, const char *key)
{
	return json_get(it->meta, key);
}

const char *
market_item_str(const struct market_item *it, const char *key)
{
	return json_get_str(it->meta, key);
}

void
market_item_free(struct market_item *it)
{
	if (it == NULL)
		return;
	free(it->dir);
	yajl_tree_free(it->meta);
	free(it->docs);
	free(it->script_path);
	memset(it, 0, sizeof(*it));
}

int
market_docs_missing(const char *docs, yajl_val inputs, struct buf *missing)
{
	yajl_val props = json_get(inputs, "properties");
	struct buf span = BUF_INIT;
	int n = 0;

	if (!YAJL_IS_OBJECT(props))
		return 0;
	for (size_t i = 0; i < props->u.object.len; i++) {
		const char *key = props->u.object.keys[i];

		buf_reset(&span);
		buf_printf(&span, "`%s`", key);
		if (docs != NULL && strstr(docs, buf_str(&span)) != NULL)
			continue;
		if (n++ > 0)
			buf_adds(missing, ", ");
		buf_adds(missing, key);
	}
	buf_free(&span);
	return n;
}

/* A string member of 1..max bytes; `optional` lets it be absent. */
static int
check_text(yajl_val meta, const char *key, size_t max, int optional,
    struct verr *e)
{
	yajl_val v = json_get(meta, key);

	if (v == NULL && optional)
		return 0;
	if (!YAJL_IS_STRING(v) || v->u.string[0] == '\0' ||
	    strlen(v->u.string) > max) {
		verr_set(e, key, "item.json: %s must be a string of 1 to %zu "
		    "bytes", key, max);
		return -1;
	}
	return 0;
}

/* "tools": program names (no path), each looked up in the runs' PATH. */
static int
check_tools(yajl_val tools, struct verr *e)
{
	if (tools == NULL)
		return 0;
	if (!YAJL_IS_ARRAY(tools)) {
		verr_set(e, "tools", "item.json: tools must be an array of "
		    "program names");
		return -1;
	}
	for (size_t i = 0; i < tools->u.array.len; i++) {
		yajl_val t = tools->u.array.values[i];
		size_t n = YAJL_IS_STRING(t) ? strlen(t->u.string) : 0;

		if (n == 0 || n > 64 || strspn(t->u.string,
		    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
		    "0123456789._+-") != n) {
			verr_set(e, "tools", "item.json: tools[%zu] must be a "
			    "program's name (letters, digits, . _ + -)", i);
			return -1;
		}
	}
	return 0;
}

/*
 * The inputs schema: a well-formed one (schema.h) whose every parameter
 * says what it is (title, description) and, unless required, what it is
 * when not given (default): the marketplace's promise to its users.
 */
static int
check_inputs(yajl_val inputs, struct verr *e)
{
	yajl_val props, req;

	if (inputs == NULL) {
		verr_set(e, "inputs", "item.json: inputs is missing (every "
		    "item describes its parameters)");
		return -1;
	}
	if (schema_check(inputs, e) == -1) {
		char msg[sizeof(e->message)];
		snprintf(msg, sizeof(msg), "%s", e->message);
		verr_set(e, e->field, "item.json: %s", msg);
		return -1;
	}
	props = json_get(inputs, "properties");
	req = json_get(inputs, "required");
	for (size_t i = 0; YAJL_IS_OBJECT(props) && i < props->u.object.len;
	    i++) {
		const char *key = props->u.object.keys[i];
		yajl_val p = props->u.object.values[i];
		int required = 0;

		for (size_t k = 0; YAJL_IS_ARRAY(req) && k < req->u.array.len;
		    k++)
			if (strcmp(req->u.array.values[k]->u.string, key) == 0)
				required = 1;
		if (json_get_str(p, "title") == NULL ||
		    json_get_str(p, "description") == NULL) {
			verr_set(e, "inputs", "item.json: parameter \"%s\" "
			    "needs a title and a description", key);
			return -1;
		}
		if (!required && json_get(p, "default") == NULL) {
			verr_set(e, "inputs", "item.json: parameter \"%s\" is "
			    "optional and needs a default", key);
			return -1;
		}
	}
	return 0;
}

static int
check_meta(struct market_item *it, struct verr *e)
{
	yajl_val meta = it->meta, v;
	const char *script;
	struct stat sb;

	if (!YAJL_IS_OBJECT(meta)) {
		verr_set(e, "", "item.json must hold a JSON object");
		return -1;
	}
	for (size_t i = 0; i < meta->u.object.len; i++) {
		const char *k = meta->u.object.keys[i];
		size_t j;

		for (j = 0; meta_keys[j] != NULL; j++)
			if (strcmp(meta_keys[j], k) == 0)
				break;
		if (meta_keys[j] == NULL) {
			verr_set(e, k, "item.json has unknown member \"%s\"",
			    k);
			return -1;
		}
	}
	if (check_text(meta, "title", 200, 0, e) == -1 ||
	    check_text(meta, "summary", 1000, 0, e) == -1 ||
	    check_text(meta, "description", 65535, 1, e) == -1 ||
	    check_tools(json_get(meta, "tools"), e) == -1 ||
	    check_inputs(json_get(meta, "inputs"), e) == -1)
		return -1;
	if (!script_type_valid(json_get_str(meta, "type"))) {
		verr_set(e, "type", "item.json: type must be shell, python or "
		    "binary");
		return -1;
	}
	v = json_get(meta, "requirements");
	if (v != NULL && !YAJL_IS_NULL(v) && !YAJL_IS_STRING(v)) {
		verr_set(e, "requirements", "item.json: requirements must be "
		    "a string or null");
		return -1;
	}
	v = json_get(meta, "args");
	if (v != NULL && !YAJL_IS_ARRAY(v)) {
		verr_set(e, "args", "item.json: args must be an array");
		return -1;
	}
	script = json_get_str(meta, "script");
	if (script == NULL || !fs_path_normal(script, FS_PATH_RELATIVE)) {
		verr_set(e, "script", "item.json: script must be the relative "
		    "path of the item's script in its directory");
		return -1;
	}
	{
		struct buf p = BUF_INIT;
		buf_printf(&p, "%s/%s", it->dir, script);
		it->script_path = buf_detach(&p, NULL);
	}
	if (lstat(it->script_path, &sb) == -1 || !S_ISREG(sb.st_mode)) {
		verr_set(e, "script", "the item's script \"%s\" is not a "
		    "regular file", it->script_path);
		return -1;
	}
	return 0;
}

/* The version the script installed from the item will have (versions.h:
 * the file, the requirements, the args as the registry stores them). */
static int
item_version(struct market_item *it, struct verr *e)
{
	struct script s;
	struct buf args = BUF_INIT;
	yajl_val a = market_item_get(it, "args");
	int rc;

	memset(&s, 0, sizeof(s));
	snprintf(s.type, sizeof(s.type), "%s", market_item_str(it, "type"));
	s.path = it->script_path;
	s.requirements = (char *)market_item_str(it, "requirements");
	if (a != NULL)
		json_dump(&args, a);
	s.args_json = a != NULL ? args.data : NULL;
	rc = version_compute(&s, it->version, NULL, e);
	buf_free(&args);
	return rc;
}

int
market_item_load(const char *market_dir, const char *name,
    struct market_item *it, int *missing, struct verr *e)
{
	struct buf path = BUF_INIT, text = BUF_INIT, undocumented = BUF_INIT;
	char err[256];
	struct stat sb;
	int rc = -1;

	memset(it, 0, sizeof(*it));
	*missing = 1;
	verr_clear(e);
	if (names_check_script(name, NULL) == -1) {
		verr_set(e, "", "no marketplace item \"%s\"", name);
		goto out;
	}
	snprintf(it->name, sizeof(it->name), "%s", name);
	buf_printf(&path, "%s/%s", market_dir, name);
	it->dir = buf_detach(&path, NULL);
	buf_printf(&path, "%s/" MARKET_META_FILE, it->dir);
	if (stat(it->dir, &sb) == -1 || !S_ISDIR(sb.st_mode) ||
	    stat(buf_str(&path), &sb) == -1) {
		verr_set(e, "", "no marketplace item \"%s\"", name);
		goto out;
	}
	*missing = 0;
	if (fs_read_file(buf_str(&path), MARKET_META_MAX, &text, err,
	    sizeof(err)) == -1) {
		verr_set(e, "", "%s", err);
		goto out;
	}
	if ((it->meta = json_parse(text.data, text.len, err, sizeof(err))) ==
	    NULL) {
		verr_set(e, "", "item.json is not valid JSON: %s", err);
		goto out;
	}
	if (check_meta(it, e) == -1)
		goto out;
	buf_reset(&path);
	buf_printf(&path, "%s/" MARKET_DOCS_FILE, it->dir);
	buf_reset(&text);
	if (fs_read_file(buf_str(&path), MARKET_DOCS_MAX, &text, err,
	    sizeof(err)) == -1) {
		verr_set(e, "", "the item's documentation: %s", err);
		goto out;
	}
	if (text.len > 0 && (memchr(text.data, '\0', text.len) != NULL ||
	    !utf8_valid(text.data, text.len))) {
		verr_set(e, "", MARKET_DOCS_FILE " is not UTF-8 text");
		goto out;
	}
	it->docs = buf_detach(&text, NULL);
	if (market_docs_missing(it->docs, market_item_get(it, "inputs"),
	    &undocumented) > 0) {
		verr_set(e, "", MARKET_DOCS_FILE " does not describe the "
		    "parameter(s) %s (each is named as `name`)",
		    buf_str(&undocumented));
		goto out;
	}
	if (item_version(it, e) == -1)
		goto out;
	rc = 0;
out:
	if (rc == -1)
		market_item_free(it);
	buf_free(&path);
	buf_free(&text);
	buf_free(&undocumented);
	return rc;
}

int
market_item_tools_missing(const struct market_item *it, const char *path,
    struct buf *missing)
{
	yajl_val tools = market_item_get(it, "tools");
	struct buf f = BUF_INIT;
	int n = 0;

	for (size_t i = 0; YAJL_IS_ARRAY(tools) && i < tools->u.array.len;
	    i++) {
		const char *t = tools->u.array.values[i]->u.string, *dir, *end;
		int found = 0;

		for (dir = path; !found && *dir != '\0'; dir = *end ? end + 1 :
		    end) {
			struct stat sb;

			end = strchr(dir, ':');
			if (end == NULL)
				end = dir + strlen(dir);
			buf_reset(&f);
			buf_printf(&f, "%.*s/%s", (int)(end - dir), dir, t);
			found = stat(buf_str(&f), &sb) == 0 &&
			    S_ISREG(sb.st_mode) && (sb.st_mode & 0111) != 0;
		}
		if (found)
			continue;
		if (n++ > 0)
			buf_adds(missing, ", ");
		buf_adds(missing, t);
	}
	buf_free(&f);
	return n;
}

/* A member of the metadata as it is, or `def` (JSON text) when absent. */
static void
write_member(struct jw *w, const struct market_item *it, const char *key,
    const char *def)
{
	yajl_val v = market_item_get(it, key);

	jw_key(w, key);
	if (v != NULL)
		jw_value(w, v);
	else
		jw_raw_json(w, def, strlen(def));
}

void
market_item_write_members(struct jw *w, const struct market_item *it)
{
	jw_key(w, "name");
	jw_str(w, it->name);
	write_member(w, it, "title", "null");
	write_member(w, it, "type", "null");
	write_member(w, it, "summary", "null");
	jw_key(w, "docs");
	jw_str(w, it->docs);
	write_member(w, it, "inputs", "null");
	write_member(w, it, "outputs", "{\"stdout\":\"text\"}");
	write_member(w, it, "requirements", "null");
	write_member(w, it, "args", "[]");
	write_member(w, it, "input_mode", "\"both\"");
	write_member(w, it, "timeout_s", "null");
	write_member(w, it, "limits", "{}");
	write_member(w, it, "tools", "[]");
	jw_key(w, "version");
	jw_str(w, it->version);
}
