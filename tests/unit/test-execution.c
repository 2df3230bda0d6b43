/* Unit tests of the execution model and the pure parts of the service
 * (execution.h): the JSON form of a record, a stored row seen as a
 * record (the same form whatever path the row came by), statuses, and
 * the checks of a submission's input. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "db.h"
#include "execution.h"
#include "json.h"
#include "registry.h"
#include "store.h"
#include "tap.h"

static char *
render(const struct execution *x, int full)
{
	struct buf out = BUF_INIT;
	struct jw w;

	jw_init(&w, &out);
	execution_render(&w, x, full);
	jw_free(&w);
	return buf_detach(&out, NULL);
}

static yajl_val
P(const char *text)
{
	char err[256];
	yajl_val v = json_parse(text, strlen(text), err, sizeof(err));

	if (v == NULL) {
		printf("Bail out! bad test JSON %s: %s\n", text, err);
		exit(1);
	}
	return v;
}

/* A finished execution with every member set, and its stored row. */
static const char *const ROW[EC_NCOLS] = {
	[EC_ID] = "17", [EC_SCRIPT_ID] = "4", [EC_SCRIPT_NAME] = "thumbs",
	[EC_SCRIPT_VERSION] = "sha256:ab", [EC_TRIGGER] = "api",
	[EC_STATUS] = "failed", [EC_INPUT] = "{\"n\": 1}",
	[EC_EXIT_CODE] = "3", [EC_SIGNAL] = NULL, [EC_STDOUT] = "out\n",
	[EC_STDERR] = "w\303\251rn\377", [EC_STDOUT_TRUNC] = "0",
	[EC_STDERR_TRUNC] = "1", [EC_OUTPUT] = "{\"x\": [1, 2.5, null]}",
	[EC_OUTPUT_FILE] = "\377\001\002", [EC_ERROR] = NULL,
	[EC_QUEUED_AT] = "2026-01-02 03:04:05.678",
	[EC_STARTED_AT] = "2026-01-02 03:04:05.700",
	[EC_FINISHED_AT] = "2026-01-02 03:04:06.000",
	[EC_DURATION_MS] = "300.5", [EC_CPU_USER_MS] = "12",
	[EC_CPU_SYSTEM_MS] = "0", [EC_MAX_RSS_KB] = "2048",
	[EC_NODE] = "node-a", [EC_LIMIT] = "memory",
	[EC_TRIGGERED_BY] = "studio-backend",
	[EC_CALLBACK_URL] = "https://hooks.example/run?x=1",
};
static const char FULL_JSON[] = "{\"id\":17,\"script_id\":4,"
	"\"script_name\":\"thumbs\",\"script_version\":\"sha256:ab\","
	"\"trigger\":\"api\",\"triggered_by\":\"studio-backend\","
	"\"status\":\"failed\",\"input\":{\"n\":1},"
	"\"exit_code\":3,\"signal\":null,\"stdout\":\"out\\n\","
	"\"stderr\":\"w\303\251rn\357\277\275\",\"stdout_truncated\":false,"
	"\"stderr_truncated\":true,\"output\":{\"x\":[1,2.5,null]},"
	"\"output_file\":{\"base64\":\"/wEC\"},\"error\":null,"
	"\"limit\":\"memory\","
	"\"queued_at\":\"2026-01-02T03:04:05.678Z\","
	"\"started_at\":\"2026-01-02T03:04:05.700Z\","
	"\"finished_at\":\"2026-01-02T03:04:06.000Z\",\"duration_ms\":300.5,"
	"\"cpu_user_ms\":12,\"cpu_system_ms\":0,\"max_rss_kb\":2048,"
	"\"node\":\"node-a\","
	"\"callback_url\":\"https://hooks.example/run?x=1\"}";

static void
row_of(const char *const cells[EC_NCOLS], struct dbres *res,
    char **c, size_t *lens)
{
	res->nrows = 1;
	res->ncols = EC_NCOLS;
	res->cells = c;
	res->lens = lens;
	for (size_t i = 0; i < EC_NCOLS; i++) {
		c[i] = (char *)cells[i];
		lens[i] = cells[i] ? strlen(cells[i]) : 0;
	}
}

static void
model(void)
{
	char *c[EC_NCOLS], *got;
	size_t lens[EC_NCOLS];
	struct dbres res;
	struct execution x;
	struct buf viaold = BUF_INIT;
	struct jw w;

	row_of(ROW, &res, c, lens);
	store_execution_view(&res, 0, &x);
	ok(x.id == 17 && x.script_id == 4 && strcmp(x.status, "failed") == 0 &&
	    x.has_exit_code && x.exit_code == 3 && !x.has_signal,
	    "a row seen as a record: numbers parsed, NULL kept apart");
	is_str(x.queued_at, "2026-01-02T03:04:05.678Z",
	    "times are RFC 3339");
	ok(x.output_file_len == 3 && x.stderr_len == 6,
	    "byte columns keep their lengths");
	got = render(&x, 1);
	is_str(got, FULL_JSON, "the full form");

	/* The runner's final row goes through the same rendering. */
	jw_init(&w, &viaold);
	execution_write_json(&w, &res, 0, 1);
	jw_free(&w);
	is_str(buf_str(&viaold), got, "a stored row renders the same through "
	    "the former entry point");
	buf_free(&viaold);
	free(got);

	/* Lists leave the large members out. */
	got = render(&x, 0);
	ok(strstr(got, "\"input\"") == NULL && strstr(got, "\"stdout\"") ==
	    NULL && strstr(got, "\"stderr\"") == NULL &&
	    strstr(got, "\"stderr_truncated\":true") != NULL,
	    "a listed execution has no input, stdout or stderr");
	free(got);

	/* Just queued: nearly everything is null, output never is. */
	static const char *const QUEUED[EC_NCOLS] = {
		[EC_ID] = "18", [EC_SCRIPT_ID] = "4",
		[EC_SCRIPT_NAME] = "thumbs", [EC_TRIGGER] = "test",
		[EC_STATUS] = "queued", [EC_INPUT] = "{}",
		[EC_STDOUT_TRUNC] = "0", [EC_STDERR_TRUNC] = "0",
		[EC_QUEUED_AT] = "2026-01-02 03:04:05.000",
	};
	row_of(QUEUED, &res, c, lens);
	store_execution_view(&res, 0, &x);
	got = render(&x, 1);
	is_str(got, "{\"id\":18,\"script_id\":4,\"script_name\":\"thumbs\","
	    "\"script_version\":null,\"trigger\":\"test\","
	    "\"triggered_by\":null,\"status\":"
	    "\"queued\",\"input\":{},\"exit_code\":null,\"signal\":null,"
	    "\"stdout\":\"\",\"stderr\":\"\",\"stdout_truncated\":false,"
	    "\"stderr_truncated\":false,\"output\":null,\"output_file\":null,"
	    "\"error\":null,\"limit\":null,"
	    "\"queued_at\":\"2026-01-02T03:04:05.000Z\","
	    "\"started_at\":null,\"finished_at\":null,\"duration_ms\":null,"
	    "\"cpu_user_ms\":null,\"cpu_system_ms\":null,\"max_rss_kb\":null,"
	    "\"node\":null,\"callback_url\":null}", "a queued execution");
	free(got);

	/* A text output file is a string; a record owns what it holds. */
	memset(&x, 0, sizeof(x));
	x.id = 1;
	x.script_name = strdup("s");
	x.trigger = strdup("api");
	snprintf(x.status, sizeof(x.status), "succeeded");
	x.output_file = strdup("caf\303\251");
	x.output_file_len = 5;
	x.has_signal = 1;
	x.signo = 9;
	got = render(&x, 0);
	ok(strstr(got, "\"output_file\":\"caf\303\251\"") != NULL &&
	    strstr(got, "\"signal\":9") != NULL, "text file, signal");
	free(got);
	execution_free(&x);
	ok(x.output_file == NULL && x.id == 0, "a freed record is empty");
	execution_free(&x);
	execution_free(NULL);
}

static void
statuses(void)
{
	static const char *const all[] = { "queued", "running", "succeeded",
		"failed", "timed_out", "canceled", "error", "lost" };
	int finals = 0, known = 0;

	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++) {
		finals += execution_status_final(all[i]);
		known += execution_status_known(all[i]);
	}
	is_int(known, 8, "every status is known");
	is_int(finals, 6, "all but queued and running are final");
	ok(!execution_status_final("queued") &&
	    !execution_status_final("running"), "queued, running go on");
	ok(!execution_status_known("bogus") && !execution_status_known("") &&
	    !execution_status_known("Queued"), "others are not statuses");
	for (int i = 0; i < 8; i++)
		is_str(execution_status_name(i), all[i], "status %d by index", i);
	ok(execution_status_name(8) == NULL && execution_status_name(-1) ==
	    NULL, "past the last: none");

	/* The success rate: canceled runs and unfinished ones do not count. */
	struct status_counts c;
	memset(&c, 0, sizeof(c));
	ok(execution_success_rate(&c) < 0, "nothing finished: no rate");
	c.n[0] = 5;     /* queued */
	c.n[1] = 2;     /* running */
	c.n[5] = 9;     /* canceled */
	ok(execution_success_rate(&c) < 0, "queued, running and canceled "
	    "only: no rate");
	c.n[2] = 3;     /* succeeded */
	c.n[3] = 1;     /* failed */
	ok(execution_success_rate(&c) == 0.75, "3 of 4 finished: 0.75");
	c.n[4] = c.n[6] = c.n[7] = 1;   /* timed_out, error, lost */
	ok(execution_success_rate(&c) == 3.0 / 7.0, "every failure counts");
}

static void
check(struct script *s, const char *input, enum execution_outcome want,
    const char *field, const char *what)
{
	yajl_val in = input ? P(input) : NULL;
	struct verr e;
	enum execution_outcome rc;

	verr_clear(&e);
	rc = execution_check_input(s, in, &e);
	if (!ok(rc == want && (field == NULL || strcmp(e.field, field) == 0),
	    "%s", what))
		printf("#   got %d, field \"%s\": %s\n", rc, e.field, e.message);
	yajl_tree_free(in);
}

static void
inputs(void)
{
	struct script s;

	memset(&s, 0, sizeof(s));
	snprintf(s.name, sizeof(s.name), "thumbs");
	s.enabled = 1;
	s.args_json = strdup("[\"--size\", \"{size}\"]");
	s.outputs_json = strdup("{}");
	s.inputs_json = strdup("{\"type\": \"object\", \"properties\": "
	    "{\"size\": {\"type\": \"integer\", \"minimum\": 1}}, "
	    "\"required\": [\"size\"]}");

	check(&s, "{\"size\": 3}", EXECUTION_OK, NULL, "a valid input passes");
	check(&s, "{\"size\": 0}", EXECUTION_INVALID, "input.size",
	    "the inputs schema holds");
	check(&s, "{}", EXECUTION_INVALID, NULL, "a required input is required");
	check(&s, NULL, EXECUTION_INVALID, NULL, "no input is {}: still required");
	check(&s, "[1]", EXECUTION_INVALID, "input", "the input is an object");

	free(s.inputs_json);
	s.inputs_json = NULL;
	check(&s, "{\"size\": 3}", EXECUTION_OK, NULL, "no schema: args decide");
	check(&s, "{\"other\": 3}", EXECUTION_INVALID, NULL,
	    "a placeholder needs its input");
	check(&s, "{\"size\": {\"a\": 1}}", EXECUTION_INVALID, NULL,
	    "a placeholder's input is a string or number");

	free(s.args_json);
	s.args_json = strdup("[\"{output_file}\"]");
	check(&s, "{}", EXECUTION_INVALID, NULL,
	    "{output_file} needs outputs.file");
	free(s.outputs_json);
	s.outputs_json = strdup("{\"file\": \"out.png\"}");
	check(&s, "{}", EXECUTION_OK, NULL, "and is fine with it");

	/* Every invalid field of the input at once, each once: the
	 * schema's, then a placeholder's not named already. */
	struct verr_list all = VERR_LIST_INIT;
	struct verr e;
	yajl_val in;
	free(s.args_json);
	s.args_json = strdup("[\"{size}\", \"{label}\", \"{mode}\"]");
	s.inputs_json = strdup("{\"type\": \"object\", \"properties\": "
	    "{\"size\": {\"type\": \"integer\", \"minimum\": 1}, "
	    "\"label\": {\"type\": \"string\", \"maxLength\": 2}, "
	    "\"key\": {\"type\": \"string\", \"secret\": true, "
	    "\"maxLength\": 3}}, \"required\": [\"size\"]}");
	in = P("{\"label\": \"long\", \"key\": \"hunter2\"}");
	verr_clear(&e);
	ok(execution_check_input_all(&s, in, &e, &all) == EXECUTION_INVALID &&
	    all.n == 4, "four fields at fault");
	if (all.n == 4) {
		is_str(all.v[0].field, "input.size", "the missing one first");
		is_str(all.v[1].field, "input.label", "then label");
		is_str(all.v[2].field, "input.key", "then key");
		is_str(all.v[3].field, "input.mode", "then the placeholder's");
		ok(strstr(all.v[2].message, "hunter2") == NULL,
		    "a secret input's value is masked in its message: %s",
		    all.v[2].message);
	}
	is_str(e.field, "input.size", "e is the first");
	verr_list_free(&all);
	yajl_tree_free(in);
	in = P("{\"size\": 1, \"label\": \"ab\"}");
	ok(execution_check_input_all(&s, in, &e, &all) == EXECUTION_INVALID &&
	    all.n == 1 && strcmp(all.v[0].field, "input.mode") == 0,
	    "the placeholder alone");
	verr_list_free(&all);
	yajl_tree_free(in);

	s.enabled = 0;
	verr_clear(&e);
	ok(execution_check_input(&s, NULL, &e) == EXECUTION_CONFLICT &&
	    strcmp(e.message, "script \"thumbs\" is disabled") == 0,
	    "a disabled script takes nothing");
	script_free(&s);
}

int
main(void)
{
	plan_lazy();
	model();
	statuses();
	inputs();
	return done_testing();
}
