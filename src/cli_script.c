/*
 * cli_script.c - `scriptorchd script ...`: the registry from the command
 * line (the words, options and usage are in cli.c's table).
 *
 * `script add` turns its options into one JSON object and hands it to
 * registry_create(), exactly as the API hands over a request body; the
 * other commands are thin wrappers over registry_get/list/update/delete.
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <magic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli_int.h"
#include "conf.h"
#include "db.h"
#include "fsutil.h"
#include "json.h"
#include "registry.h"

#define REQUIREMENTS_MAX (64 * 1024)

static void
print_verr(const char *cmd, const struct verr *e)
{
	if (e->field[0] != '\0')
		fprintf(stderr, "scriptorchd script %s: %s: %s\n", cmd,
		    e->field, e->message);
	else
		fprintf(stderr, "scriptorchd script %s: %s\n", cmd, e->message);
}

/* Prints why a registry call failed; returns the exit status. */
static int
reg_fail(const char *cmd, struct db *db, enum reg_status rs,
    const struct verr *e, const char *what)
{
	switch (rs) {
	case REG_INVALID:
	case REG_CONFLICT:
		print_verr(cmd, e);
		break;
	case REG_NOT_FOUND:
		fprintf(stderr, "scriptorchd script %s: no script %s\n", cmd,
		    what);
		break;
	case REG_DB:
	case REG_OK:
		fprintf(stderr, "scriptorchd script %s: database error: %s\n",
		    cmd, db_errmsg(db));
		break;
	}
	return 1;
}

/* Finds a script by id (all digits) or by name. */
static enum reg_status
lookup(struct db *db, const struct conf *c, const char *ref,
    struct script *s, struct verr *e)
{
	const char *p = ref;

	while (isdigit((unsigned char)*p))
		p++;
	if (*ref != '\0' && *p == '\0' && strlen(ref) <= 18)
		return registry_get(db, c, strtoll(ref, NULL, 10), s, e);
	return registry_get_by_name(db, c, ref, s, e);
}

static void
print_json(const struct script *s)
{
	struct buf out = BUF_INIT;
	struct jw w;

	jw_init(&w, &out);
	yajl_gen_config(w.g, yajl_gen_beautify, 1);
	script_write_json(&w, s);
	jw_free(&w);
	fputs(buf_str(&out), stdout);
	if (out.len == 0 || out.data[out.len - 1] != '\n')
		putchar('\n');
	buf_free(&out);
}

/* Adds the value of a JSON option to the object being built; json_parse
 * refuses what the API refuses in a body (NUL escapes, duplicate keys). */
static int
add_json_option(struct jw *w, const char *key, const char *text,
    struct verr *e)
{
	char err[256];
	yajl_val v;

	v = json_parse(text, strlen(text), err, sizeof(err));
	if (v == NULL) {
		verr_set(e, key, "--%s is not valid JSON: %s", key, err);
		return -1;
	}
	jw_key(w, key);
	jw_value(w, v);
	yajl_tree_free(v);
	return 0;
}

/* A whole decimal integer, or the text as a string for the registry to
 * reject with its own message. */
static void
add_int_option(struct jw *w, const char *key, const char *text)
{
	char *end;
	long long v;

	errno = 0;
	v = strtoll(text, &end, 10);
	jw_key(w, key);
	if (*text != '\0' && *end == '\0' && errno == 0)
		jw_int(w, v);
	else
		jw_str(w, text);
}

int
cli_script_add(const struct cli_ctx *x)
{
	const struct cli_cmd *cmd = x->cmd;
	struct buf body = BUF_INIT, reqs = BUF_INIT;
	struct jw w;
	struct verr e;
	struct verr_list all = VERR_LIST_INIT;
	struct script s;
	struct db *db = NULL;
	yajl_val tree = NULL;
	magic_t magic = NULL;
	char actor[CLI_ACTOR_MAX], err[512];
	enum reg_status rs;
	int rc = 1;

	verr_clear(&e);
	memset(&s, 0, sizeof(s));
	jw_init(&w, &body);
	jw_obj(&w);
	/* cli_parse() let through only the table's options, each with its
	 * value. */
	for (int i = 0; i + 1 < cmd->argc; i += 2) {
		const char *o = cmd->argv[i] + 2, *v = cmd->argv[i + 1];

		if (strcmp(o, "name") == 0 || strcmp(o, "type") == 0 ||
		    strcmp(o, "path") == 0 || strcmp(o, "description") == 0) {
			jw_key(&w, o);
			jw_str(&w, v);
		} else if (strcmp(o, "input-mode") == 0) {
			jw_key(&w, "input_mode");
			jw_str(&w, v);
		} else if (strcmp(o, "args") == 0 || strcmp(o, "inputs") == 0 ||
		    strcmp(o, "outputs") == 0 || strcmp(o, "env") == 0) {
			if (add_json_option(&w, o, v, &e) == -1) {
				print_verr("add", &e);
				goto out;
			}
		} else if (strcmp(o, "timeout") == 0) {
			add_int_option(&w, "timeout_s", v);
		} else if (strcmp(o, "max-concurrency") == 0) {
			add_int_option(&w, "max_concurrency", v);
		} else if (strcmp(o, "requirements-file") == 0) {
			buf_reset(&reqs);
			if (fs_read_file(v, REQUIREMENTS_MAX, &reqs, err,
			    sizeof(err)) == -1) {
				fprintf(stderr, "scriptorchd script add: %s\n",
				    err);
				goto out;
			}
			if (memchr(reqs.data ? reqs.data : "", '\0',
			    reqs.len) != NULL) {
				fprintf(stderr, "scriptorchd script add: "
				    "requirements: %s contains a NUL byte\n", v);
				goto out;
			}
			jw_key(&w, "requirements");
			jw_strn(&w, buf_str(&reqs), reqs.len);
		} else {
			/* In the table, not here: a bug of cli.c's table. */
			rc = cli_usage_error(cmd, "option \"%s\" is not "
			    "handled", cmd->argv[i]);
			goto out;
		}
	}
	jw_obj_end(&w);
	jw_free(&w);
	w.g = NULL;
	/*
	 * The object goes through JSON text and back, so that a repeated
	 * option reaches the registry as a repeated key, as it would from
	 * the API, and is rejected there the same way.
	 */
	if ((tree = json_parse(body.data, body.len, err, sizeof(err))) == NULL) {
		fprintf(stderr, "scriptorchd script add: %s\n", err);
		goto out;
	}
	if ((db = cli_db_open(x->c)) == NULL)
		goto out;
	magic = magic_open(MAGIC_NONE);
	if (magic != NULL && magic_load(magic, NULL) == -1) {
		fprintf(stderr, "scriptorchd: warning: libmagic: %s\n",
		    magic_error(magic));
		magic_close(magic);
		magic = NULL;
	}
	cli_actor(actor, sizeof(actor));
	rs = registry_create(db, x->c, magic, NULL, tree, actor, &s, &e,
	    &all);
	if (rs == REG_INVALID && all.n > 1) {
		/* Every invalid field, one line each, as the API lists them. */
		for (size_t i = 0; i < all.n; i++)
			print_verr("add", &all.v[i]);
		rc = 1;
		goto out;
	}
	if (rs != REG_OK) {
		rc = reg_fail("add", db, rs, &e, "");
		goto out;
	}
	printf("%lld\t%s\t%s\n", s.id, s.name, s.version);
	rc = 0;
out:
	if (w.g != NULL)
		jw_free(&w);
	if (magic != NULL)
		magic_close(magic);
	if (db != NULL)
		db_close(db);
	yajl_tree_free(tree);
	verr_list_free(&all);
	script_free(&s);
	buf_free(&body);
	buf_free(&reqs);
	return rc;
}

static void
list_line(void *arg, const struct script *s)
{
	(void)arg;
	printf("%lld\t%s\t%s\t%s\t%s\t%s\n", s->id, s->name, s->type,
	    s->enabled ? "enabled" : "disabled", s->version, s->path);
}

int
cli_script_list(const struct cli_ctx *x)
{
	const struct cli_cmd *cmd = x->cmd;
	struct script_filter f = { NULL, -1, NULL };
	struct verr e;
	struct db *db;
	enum reg_status rs;
	int rc;

	for (int i = 0; i + 1 < cmd->argc; i += 2) {
		const char *o = cmd->argv[i], *v = cmd->argv[i + 1];

		if (strcmp(o, "--type") == 0)
			f.type = v;
		else if (strcmp(o, "--q") == 0)
			f.q = v;
		else if (strcmp(v, "true") == 0 || strcmp(v, "false") == 0)
			f.enabled = strcmp(v, "true") == 0;
		else
			return cli_usage_error(cmd, "--enabled must be true or "
			    "false");
	}
	if ((db = cli_db_open(x->c)) == NULL)
		return 1;
	rs = registry_list(db, &f, list_line, NULL, &e);
	rc = rs == REG_OK ? 0 : reg_fail("list", db, rs, &e, "");
	db_close(db);
	return rc;
}

static void
version_line(void *arg, const char *version, const char *recorded_at)
{
	(void)arg;
	printf("%s\t%s\n", recorded_at, version);
}

/* show, versions, disable, enable, rm: one script by id or name. */
int
cli_script_one(const struct cli_ctx *x)
{
	const char *cmd = x->cmd->name, *ref = x->cmd->operand;
	struct script s, upd;
	struct verr e;
	struct db *db = x->db;
	char actor[CLI_ACTOR_MAX];
	enum reg_status rs;
	int rc = 1;

	memset(&upd, 0, sizeof(upd));
	cli_actor(actor, sizeof(actor));
	rs = lookup(db, x->c, ref, &s, &e);
	if (rs != REG_OK) {
		rc = reg_fail(cmd, db, rs, &e, ref);
		goto out;
	}
	if (strcmp(cmd, "show") == 0) {
		if (e.message[0] != '\0')
			fprintf(stderr, "scriptorchd script show: warning: "
			    "%s\n", e.message);
		print_json(&s);
		rc = 0;
	} else if (strcmp(cmd, "versions") == 0) {
		rs = registry_versions(db, s.id, version_line, NULL);
		rc = rs == REG_OK ? 0 : reg_fail(cmd, db, rs, &e, ref);
	} else if (strcmp(cmd, "disable") == 0 || strcmp(cmd, "enable") == 0) {
		const char *text = strcmp(cmd, "enable") == 0 ?
		    "{\"enabled\":true}" : "{\"enabled\":false}";
		yajl_val patch = json_parse(text, strlen(text), NULL, 0);

		rs = registry_update(db, x->c, NULL, NULL, s.id, patch, actor,
		    &upd, &e, NULL);
		yajl_tree_free(patch);
		if (rs != REG_OK)
			rc = reg_fail(cmd, db, rs, &e, ref);
		else {
			printf("%s %sd\n", upd.name, cmd);
			rc = 0;
		}
	} else {
		rs = registry_delete(db, NULL, s.id, actor);
		if (rs != REG_OK)
			rc = reg_fail(cmd, db, rs, &e, ref);
		else {
			printf("%s deleted\n", s.name);
			rc = 0;
		}
	}
out:
	script_free(&s);
	script_free(&upd);
	return rc;
}
