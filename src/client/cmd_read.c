/*
 * cmd_read.c - the commands that read (and cancel): executions, show,
 * logs, cancel, scripts.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client.h"
#include "json.h"
#include "log.h"
#include "render.h"

#define READ_TIMEOUT_S 60L
#define PAGE_MAX 500            /* the API's largest list page */

/* GET path, parsed: 0 with *r and *v, or the exit status after saying
 * why. */
static int
get_json(struct client *c, const char *path, struct http_resp *r,
    yajl_val *v)
{
	return client_call_json(c, "GET", path, NULL, 0, READ_TIMEOUT_S, r, v);
}

/*
 * The id of the script called `name` (an id passes as it is). The
 * executions list filters by id only, so a name is looked up in the
 * registry (viewer may read it) with its text filter, then matched
 * exactly.
 */
static int
script_id(struct client *c, const char *name, long long *id)
{
	struct http_resp r;
	struct buf path = BUF_INIT, a = BUF_INIT;
	yajl_val v = NULL, list;
	char *q = NULL, *end;
	int rc;

	if (*name >= '1' && *name <= '9') {
		*id = strtoll(name, &end, 10);
		if (*end == '\0' && *id > 0)
			return EXIT_OK;
	}
	q = client_escape(c, name);
	buf_printf(&path, "/api/v1/admin/scripts?q=%s", q);
	if ((rc = get_json(c, path.data, &r, &v)) != EXIT_OK)
		goto out;
	rc = EXIT_API;
	list = json_get(v, "scripts");
	for (size_t i = 0; list && YAJL_IS_ARRAY(list) &&
	    i < list->u.array.len; i++) {
		yajl_val s = list->u.array.values[i], n = json_get(s, "id");
		const char *nm = json_get_str(s, "name");
		if (nm && strcmp(nm, name) == 0 && n && YAJL_IS_INTEGER(n)) {
			*id = YAJL_GET_INTEGER(n);
			rc = EXIT_OK;
			break;
		}
	}
	if (rc != EXIT_OK) {
		render_safe(&a, name, 0);
		say("no script \"%s\" (not_found)", buf_str(&a));
	}
	http_resp_free(&r);
out:
	yajl_tree_free(v);
	free(q);
	buf_free(&path);
	buf_free(&a);
	return rc;
}

/* The EXIT cell of an execution: its exit code, "sig N" or "-". */
static void
exit_cell(struct buf *b, yajl_val x)
{
	yajl_val code = json_get(x, "exit_code"), sig = json_get(x, "signal");

	if (code && YAJL_IS_INTEGER(code))
		buf_printf(b, "%lld", YAJL_GET_INTEGER(code));
	else if (sig && YAJL_IS_INTEGER(sig))
		buf_printf(b, "sig %lld", YAJL_GET_INTEGER(sig));
	else
		buf_adds(b, "-");
}

static void
executions_table(yajl_val *pages, int npages)
{
	static const char *const head[] = { "ID", "SCRIPT", "STATUS", "EXIT",
	    "TRIGGER", "QUEUED", "DURATION" };
	struct table t;
	struct buf id = BUF_INIT, ex = BUF_INIT, q = BUF_INIT, d = BUF_INIT;

	table_init(&t, 7, head);
	table_limit(&t, 1, 40);
	for (int p = 0; p < npages; p++) {
		yajl_val list = json_get(pages[p], "executions");
		for (size_t i = 0; list && YAJL_IS_ARRAY(list) &&
		    i < list->u.array.len; i++) {
			yajl_val x = list->u.array.values[i];
			yajl_val n = json_get(x, "id"), ms = json_get(x, "duration_ms");
			const char *row[7];
			buf_reset(&id);
			buf_reset(&ex);
			buf_reset(&q);
			buf_reset(&d);
			if (n && YAJL_IS_INTEGER(n))
				buf_printf(&id, "%lld", YAJL_GET_INTEGER(n));
			exit_cell(&ex, x);
			render_time(&q, json_get_str(x, "queued_at"));
			if (ms && YAJL_IS_NUMBER(ms))
				render_duration(&d, YAJL_GET_DOUBLE(ms));
			else
				buf_adds(&d, "-");
			row[0] = buf_str(&id);
			row[1] = json_get_str(x, "script_name");
			row[2] = json_get_str(x, "status");
			row[3] = buf_str(&ex);
			row[4] = json_get_str(x, "trigger");
			row[5] = buf_str(&q);
			row[6] = buf_str(&d);
			table_add(&t, row);
		}
	}
	table_print(&t, stdout);
	table_free(&t);
	buf_free(&id);
	buf_free(&ex);
	buf_free(&q);
	buf_free(&d);
}

/* The pages as one answer of the API's shape: every execution, and the
 * last page's next_cursor. */
static void
executions_json(yajl_val *pages, int npages)
{
	struct buf out = BUF_INIT;
	struct jw w;

	jw_init(&w, &out);
	jw_obj(&w);
	jw_key(&w, "executions");
	jw_arr(&w);
	for (int p = 0; p < npages; p++) {
		yajl_val list = json_get(pages[p], "executions");
		for (size_t i = 0; list && YAJL_IS_ARRAY(list) &&
		    i < list->u.array.len; i++)
			jw_value(&w, list->u.array.values[i]);
	}
	jw_arr_end(&w);
	jw_key(&w, "next_cursor");
	jw_value(&w, npages ? json_get(pages[npages - 1], "next_cursor") : NULL);
	jw_obj_end(&w);
	jw_free(&w);
	fwrite(out.data, 1, out.len, stdout);
	fputc('\n', stdout);
	buf_free(&out);
}

/*
 * Lists executions. --limit above the API's page size is served by
 * following next_cursor until enough came or the list ends.
 */
int
cmd_executions(struct client *c, const struct cmd_args *a)
{
	struct buf base = BUF_INIT, path = BUF_INIT;
	yajl_val *pages = NULL;
	int npages = 0, rc = EXIT_OK;
	long want = a->limit, have = 0;
	long long sid;
	char *esc;
	const char *cursor = NULL;

	buf_adds(&base, "/api/v1/executions?");
	if (a->script != NULL) {
		if ((rc = script_id(c, a->script, &sid)) != EXIT_OK)
			goto out;
		buf_printf(&base, "script_id=%lld&", sid);
	}
	if (a->status != NULL) {
		esc = client_escape(c, a->status);
		buf_printf(&base, "status=%s&", esc);
		free(esc);
	}
	for (;;) {
		struct http_resp r;
		yajl_val v, list;
		yajl_val *n;
		buf_reset(&path);
		buf_add(&path, base.data, base.len);
		if (want > 0)
			buf_printf(&path, "limit=%ld&", want - have < PAGE_MAX ?
			    want - have : PAGE_MAX);
		if (cursor != NULL) {
			esc = client_escape(c, cursor);
			buf_printf(&path, "cursor=%s&", esc);
			free(esc);
		}
		path.data[--path.len] = '\0';        /* the last '&' or '?' */
		if ((rc = get_json(c, path.data, &r, &v)) != EXIT_OK)
			goto out;
		http_resp_free(&r);
		if ((n = realloc(pages, (size_t)(npages + 1) * sizeof(*n))) == NULL)
			fatal("realloc");
		pages = n;
		pages[npages++] = v;
		list = json_get(v, "executions");
		if (list == NULL || !YAJL_IS_ARRAY(list)) {
			say("the server's answer has no \"executions\" list");
			rc = EXIT_API;
			goto out;
		}
		have += (long)list->u.array.len;
		cursor = json_get_str(v, "next_cursor");
		if (want == 0 || have >= want || cursor == NULL ||
		    list->u.array.len == 0)
			break;
	}
	if (c->json)
		executions_json(pages, npages);
	else
		executions_table(pages, npages);
out:
	for (int p = 0; p < npages; p++)
		yajl_tree_free(pages[p]);
	free(pages);
	buf_free(&base);
	buf_free(&path);
	return rc;
}

/*
 * One request about the execution the operand names, `method` on
 * /api/v1/executions/ID`suffix`: its answer printed as it came (--json)
 * or as `render` tells it.
 */
static int
exec_request(struct client *c, const struct cmd_args *a, const char *method,
    const char *suffix, void (*render)(struct buf *out, long long id,
    yajl_val v))
{
	struct http_resp r;
	struct buf path = BUF_INIT, out = BUF_INIT;
	yajl_val v = NULL;
	long long id;
	int rc;

	if (!client_exec_id(a->operands[0], &id))
		return EXIT_USAGE;
	buf_printf(&path, "/api/v1/executions/%lld%s", id, suffix);
	rc = client_call_json(c, method, path.data, NULL, 0, READ_TIMEOUT_S,
	    &r, &v);
	if (rc != EXIT_OK)
		goto out;
	if (c->json) {
		client_print_body(&r);
	} else {
		render(&out, id, v);
		fwrite(out.data, 1, out.len, stdout);
	}
	http_resp_free(&r);
out:
	yajl_tree_free(v);
	buf_free(&path);
	buf_free(&out);
	return rc;
}

static void
show_text(struct buf *out, long long id, yajl_val v)
{
	(void)id;
	render_execution(out, v);
}

int
cmd_show(struct client *c, const struct cmd_args *a)
{
	return exec_request(c, a, "GET", "", show_text);
}

int
cmd_logs(struct client *c, const struct cmd_args *a)
{
	struct http_resp r;
	struct buf path = BUF_INIT;
	long long id;
	int rc;

	if (!client_exec_id(a->operands[0], &id))
		return EXIT_USAGE;
	buf_printf(&path, "/api/v1/executions/%lld/%s", id,
	    a->stderr_stream ? "stderr" : "stdout");
	rc = client_call(c, "GET", path.data, NULL, 0, READ_TIMEOUT_S, &r);
	if (rc == EXIT_OK) {
		fwrite(r.body.data ? r.body.data : "", 1, r.body.len, stdout);
		http_resp_free(&r);
	}
	buf_free(&path);
	return rc;
}

static void
cancel_text(struct buf *out, long long id, yajl_val v)
{
	buf_printf(out, "execution %lld: ", id);
	render_outcome(out, v);
	buf_addc(out, '\n');
}

/* The answer waits for a running execution's end (up to the kill grace
 * plus 2 s). */
int
cmd_cancel(struct client *c, const struct cmd_args *a)
{
	return exec_request(c, a, "POST", "/cancel", cancel_text);
}

int
cmd_scripts(struct client *c, const struct cmd_args *a)
{
	static const char *const head[] = { "ID", "NAME", "TYPE", "ENABLED",
	    "LAST RUN", "DESCRIPTION" };
	struct http_resp r;
	struct table t;
	struct buf id = BUF_INIT, last = BUF_INIT, desc = BUF_INIT;
	yajl_val v = NULL, list;
	int rc;

	(void)a;
	if ((rc = get_json(c, "/api/v1/admin/scripts", &r, &v)) != EXIT_OK)
		return rc;
	if (c->json) {
		client_print_body(&r);
		goto out;
	}
	list = json_get(v, "scripts");
	if (list == NULL || !YAJL_IS_ARRAY(list)) {
		say("the server's answer has no \"scripts\" list");
		rc = EXIT_API;
		goto out;
	}
	table_init(&t, 6, head);
	table_limit(&t, 5, 50);
	for (size_t i = 0; i < list->u.array.len; i++) {
		yajl_val s = list->u.array.values[i], n = json_get(s, "id");
		yajl_val en = json_get(s, "enabled"), le = json_get(s, "last_execution");
		const char *d = json_get_str(s, "description"), *row[6];
		buf_reset(&id);
		buf_reset(&last);
		buf_reset(&desc);
		if (n && YAJL_IS_INTEGER(n))
			buf_printf(&id, "%lld", YAJL_GET_INTEGER(n));
		if (le && YAJL_IS_OBJECT(le)) {
			const char *st = json_get_str(le, "status");
			buf_printf(&last, "%s ", st ? st : "?");
			render_time(&last, json_get_str(le, "queued_at"));
		} else {
			buf_adds(&last, "-");
		}
		/* The description's first line. */
		if (d != NULL && *d)
			buf_add(&desc, d, strcspn(d, "\n"));
		else
			buf_adds(&desc, "-");
		row[0] = buf_str(&id);
		row[1] = json_get_str(s, "name");
		row[2] = json_get_str(s, "type");
		row[3] = en && YAJL_IS_TRUE(en) ? "yes" : "no";
		row[4] = buf_str(&last);
		row[5] = buf_str(&desc);
		table_add(&t, row);
	}
	table_print(&t, stdout);
	table_free(&t);
out:
	http_resp_free(&r);
	yajl_tree_free(v);
	buf_free(&id);
	buf_free(&last);
	buf_free(&desc);
	return rc;
}
