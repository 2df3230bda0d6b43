/*
 * execution_model.c - the record of one execution (execution.h) and its
 * JSON form, the only place an execution is rendered: the API's answers,
 * lists, and the final row a runner leaves for a waiting caller all come
 * from here, so that they agree byte for byte.
 */
#include "config.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "execution.h"
#include "json.h"
#include "log.h"
#include "store.h"

static const char *const statuses[] = { "queued", "running", "succeeded",
	"failed", "timed_out", "canceled", "error", "lost", NULL };

int
execution_status_final(const char *status)
{
	return strcmp(status, "queued") != 0 && strcmp(status, "running") != 0;
}

const char *
execution_status_name(int i)
{
	return i >= 0 && i < EXECUTION_NSTATUSES ? statuses[i] : NULL;
}

int
execution_status_known(const char *status)
{
	for (size_t i = 0; statuses[i] != NULL; i++)
		if (strcmp(statuses[i], status) == 0)
			return 1;
	return 0;
}

/* Those the server sets: "ui" is the admin UI's, in the contract. */
static const char *const triggers[] = { "api", "test", "ui", NULL };

int
execution_trigger_known(const char *trigger)
{
	for (size_t i = 0; triggers[i] != NULL; i++)
		if (strcmp(triggers[i], trigger) == 0)
			return 1;
	return 0;
}

void
execution_free(struct execution *x)
{
	if (x == NULL)
		return;
	free(x->script_name);
	free(x->script_version);
	free(x->trigger);
	free(x->triggered_by);
	free(x->input);
	free(x->stdout_data);
	free(x->stderr_data);
	free(x->output);
	free(x->output_file);
	free(x->error);
	free(x->node);
	free(x->limit);
	free(x->callback_url);
	memset(x, 0, sizeof(*x));
}

static void
key_int(struct jw *w, const char *key, int has, long long v)
{
	jw_key(w, key);
	if (has)
		jw_int(w, v);
	else
		jw_null(w);
}

static void
key_ts(struct jw *w, const char *key, const char *ts)
{
	jw_key(w, key);
	jw_str(w, ts[0] != '\0' ? ts : NULL);
}

/* A captured file: text when it is UTF-8, else {"base64": "..."}. */
static void
write_output_file(struct jw *w, const char *data, size_t len)
{
	size_t n;
	char *b64;

	if (data == NULL) {
		jw_null(w);
		return;
	}
	if (utf8_valid(data, len)) {
		jw_strn(w, data, len);
		return;
	}
	n = sodium_base64_ENCODED_LEN(len, sodium_base64_VARIANT_ORIGINAL);
	if ((b64 = malloc(n)) == NULL)
		fatal("malloc");
	sodium_bin2base64(b64, n, (const unsigned char *)data, len,
	    sodium_base64_VARIANT_ORIGINAL);
	jw_obj(w);
	jw_key(w, "base64");
	jw_str(w, b64);
	jw_obj_end(w);
	free(b64);
}

void
execution_render(struct jw *w, const struct execution *x, int full)
{
	jw_obj(w);
	key_int(w, "id", 1, x->id);
	key_int(w, "script_id", 1, x->script_id);
	jw_key(w, "script_name");
	jw_str(w, x->script_name);
	jw_key(w, "script_version");
	jw_str(w, x->script_version);
	jw_key(w, "trigger");
	jw_str(w, x->trigger);
	jw_key(w, "triggered_by");
	jw_str(w, x->triggered_by);
	jw_key(w, "status");
	jw_str(w, x->status);
	if (full) {
		jw_key(w, "input");
		jw_raw_json(w, x->input, x->input ? strlen(x->input) : 0);
	}
	key_int(w, "exit_code", x->has_exit_code, x->exit_code);
	key_int(w, "signal", x->has_signal, x->signo);
	if (full) {
		/* Never null: "" before anything was captured. */
		jw_key(w, "stdout");
		jw_strn(w, x->stdout_data ? x->stdout_data : "",
		    x->stdout_data ? x->stdout_len : 0);
		jw_key(w, "stderr");
		jw_strn(w, x->stderr_data ? x->stderr_data : "",
		    x->stderr_data ? x->stderr_len : 0);
	}
	jw_key(w, "stdout_truncated");
	jw_bool(w, x->stdout_truncated);
	jw_key(w, "stderr_truncated");
	jw_bool(w, x->stderr_truncated);
	jw_key(w, "output");
	if (x->output == NULL)
		jw_null(w);
	else
		jw_raw_json(w, x->output, strlen(x->output));
	jw_key(w, "output_file");
	write_output_file(w, x->output_file, x->output_file_len);
	jw_key(w, "error");
	jw_str(w, x->error);
	jw_key(w, "limit");
	jw_str(w, x->limit);
	key_ts(w, "queued_at", x->queued_at);
	key_ts(w, "started_at", x->started_at);
	key_ts(w, "finished_at", x->finished_at);
	jw_key(w, "duration_ms");
	if (x->has_duration)
		jw_double(w, x->duration_ms);
	else
		jw_null(w);
	key_int(w, "cpu_user_ms", x->has_cpu_user, x->cpu_user_ms);
	key_int(w, "cpu_system_ms", x->has_cpu_system, x->cpu_system_ms);
	key_int(w, "max_rss_kb", x->has_max_rss, x->max_rss_kb);
	jw_key(w, "node");
	jw_str(w, x->node);
	jw_key(w, "callback_url");
	jw_str(w, x->callback_url);
	jw_obj_end(w);
}

void
execution_write_json(struct jw *w, const struct dbres *res, size_t i,
    int full)
{
	struct execution view;

	/* A view borrows the row's strings: rendered, never freed. */
	store_execution_view(res, i, &view);
	execution_render(w, &view, full);
}
