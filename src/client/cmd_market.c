/*
 * cmd_market.c - the marketplace commands: `marketplace list`,
 * `marketplace show NAME` (an item and its documentation) and
 * `marketplace install NAME [--name N] [--disabled]` (docs/marketplace.md).
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client.h"
#include "json.h"
#include "render.h"

#define MARKET_TIMEOUT_S 60L

/* GET /api/v1/marketplace, parsed: EXIT_OK with *r and *items (the
 * array, borrowed from *v), or the exit status after saying why. */
static int
get_items(struct client *c, struct http_resp *r, yajl_val *v, yajl_val *items)
{
	int rc = client_call_json(c, "GET", "/api/v1/marketplace", NULL, 0,
	    MARKET_TIMEOUT_S, r, v);

	if (rc != EXIT_OK)
		return rc;
	*items = json_get(*v, "items");
	if (*items == NULL || !YAJL_IS_ARRAY(*items)) {
		say("the server's answer has no \"items\" list");
		http_resp_free(r);
		yajl_tree_free(*v);
		*v = NULL;
		return EXIT_API;
	}
	return EXIT_OK;
}

/* The names in a JSON array of strings (or of objects' "name"), joined
 * with ", "; "-" for none. */
static void
join_names(struct buf *out, yajl_val list)
{
	size_t n = 0;

	for (size_t i = 0; list && YAJL_IS_ARRAY(list) &&
	    i < list->u.array.len; i++) {
		yajl_val x = list->u.array.values[i];
		const char *s = YAJL_IS_STRING(x) ? x->u.string :
		    json_get_str(x, "name");
		if (s == NULL)
			continue;
		buf_adds(out, n++ ? ", " : "");
		buf_adds(out, s);
	}
	if (n == 0)
		buf_adds(out, "-");
}

int
cmd_market_list(struct client *c, const struct cmd_args *a)
{
	static const char *const head[] = { "NAME", "TYPE", "INSTALLED AS",
	    "NEEDS", "TITLE" };
	struct http_resp r;
	struct table t;
	struct buf inst = BUF_INIT, needs = BUF_INIT;
	yajl_val v, items;
	int rc;

	(void)a;
	if ((rc = get_items(c, &r, &v, &items)) != EXIT_OK)
		return rc;
	if (c->json) {
		client_print_body(&r);
		goto out;
	}
	table_init(&t, 5, head);
	table_limit(&t, 2, 40);
	table_limit(&t, 4, 50);
	for (size_t i = 0; i < items->u.array.len; i++) {
		yajl_val it = items->u.array.values[i];
		yajl_val missing = json_get(it, "tools_missing");
		const char *row[5];

		buf_reset(&inst);
		buf_reset(&needs);
		join_names(&inst, json_get(it, "installed_scripts"));
		join_names(&needs, json_get(it, "tools"));
		if (missing && YAJL_IS_ARRAY(missing) && missing->u.array.len) {
			buf_adds(&needs, " (missing: ");
			join_names(&needs, missing);
			buf_adds(&needs, ")");
		}
		row[0] = json_get_str(it, "name");
		row[1] = json_get_str(it, "type");
		row[2] = buf_str(&inst);
		row[3] = buf_str(&needs);
		row[4] = json_get_str(it, "title");
		table_add(&t, row);
	}
	table_print(&t, stdout);
	table_free(&t);
out:
	http_resp_free(&r);
	yajl_tree_free(v);
	buf_free(&inst);
	buf_free(&needs);
	return rc;
}

int
cmd_market_show(struct client *c, const struct cmd_args *a)
{
	const char *name = a->operands[0];
	struct http_resp r;
	struct buf out = BUF_INIT;
	yajl_val v, items, it = NULL;
	int rc;

	if ((rc = get_items(c, &r, &v, &items)) != EXIT_OK)
		return rc;
	for (size_t i = 0; i < items->u.array.len && it == NULL; i++) {
		const char *n = json_get_str(items->u.array.values[i], "name");
		if (n != NULL && strcmp(n, name) == 0)
			it = items->u.array.values[i];
	}
	if (it == NULL) {
		render_safe(&out, name, 0);
		say("no marketplace item \"%s\" (scriptorch marketplace list "
		    "shows them)", buf_str(&out));
		rc = EXIT_API;
		goto out;
	}
	if (c->json) {
		struct jw w;
		jw_init(&w, &out);
		jw_value(&w, it);
		jw_free(&w);
		buf_addc(&out, '\n');
		fwrite(out.data, 1, out.len, stdout);
		goto out;
	}
	buf_adds(&out, "name:       ");
	render_safe(&out, name, 0);
	buf_adds(&out, "\ntype:       ");
	render_safe(&out, json_get_str(it, "type"), 0);
	buf_adds(&out, "\nneeds:      ");
	join_names(&out, json_get(it, "tools"));
	buf_adds(&out, "\ninstalled:  ");
	join_names(&out, json_get(it, "installed_scripts"));
	buf_adds(&out, "\nversion:    ");
	render_safe(&out, json_get_str(it, "version"), 0);
	buf_adds(&out, "\n\n");
	/* The documentation, lines kept, control characters made safe. */
	render_safe(&out, json_get_str(it, "docs"), 1);
	if (out.len > 0 && out.data[out.len - 1] != '\n')
		buf_addc(&out, '\n');
	fwrite(out.data, 1, out.len, stdout);
out:
	http_resp_free(&r);
	yajl_tree_free(v);
	buf_free(&out);
	return rc;
}

int
cmd_market_install(struct client *c, const struct cmd_args *a)
{
	struct http_resp r;
	struct buf path = BUF_INIT, body = BUF_INIT, out = BUF_INIT;
	yajl_val v = NULL, id;
	struct jw w;
	char *q;
	int rc;

	q = client_escape(c, a->operands[0]);
	buf_printf(&path, "/api/v1/marketplace/%s/install", q);
	free(q);
	jw_init(&w, &body);
	jw_obj(&w);
	if (a->name != NULL) {
		jw_key(&w, "name");
		jw_str(&w, a->name);
	}
	if (a->disabled) {
		jw_key(&w, "enabled");
		jw_bool(&w, 0);
	}
	jw_obj_end(&w);
	jw_free(&w);
	rc = client_call_json(c, "POST", buf_str(&path), body.data, body.len,
	    MARKET_TIMEOUT_S, &r, &v);
	if (rc != EXIT_OK)
		goto out;
	if (c->json) {
		client_print_body(&r);
	} else {
		id = json_get(v, "id");
		buf_adds(&out, "installed \"");
		render_safe(&out, a->operands[0], 0);
		buf_adds(&out, "\" as script \"");
		render_safe(&out, json_get_str(v, "name"), 0);
		buf_printf(&out, "\" (id %lld", id && YAJL_IS_INTEGER(id) ?
		    YAJL_GET_INTEGER(id) : 0LL);
		if (json_get(v, "enabled") && YAJL_IS_FALSE(json_get(v,
		    "enabled")))
			buf_adds(&out, ", disabled");
		buf_adds(&out, "): ");
		render_safe(&out, json_get_str(v, "path"), 0);
		buf_addc(&out, '\n');
		fwrite(out.data, 1, out.len, stdout);
	}
	http_resp_free(&r);
out:
	yajl_tree_free(v);
	buf_free(&path);
	buf_free(&body);
	buf_free(&out);
	return rc;
}
