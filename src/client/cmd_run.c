/*
 * cmd_run.c - `scriptorch run`: submit, and optionally wait for the end
 * or follow the output while the script runs.
 *
 * Waiting. The API waits only in the submission itself (?wait=N, at most
 * 300 s), and a node with many waiting clients may answer that 202 at
 * once; a submission cannot be repeated to wait again (it would run the
 * script again). So the client waits in the submission for up to
 * FIRST_WAIT_S (--wait-slice), short enough for the usual 60 s read
 * timeout of a proxy in front of nginx, and if the answer is 202 it polls
 * GET /api/v1/executions/{id} until the status is final.
 *
 * Following. The runner saves a run's stdout and stderr so far at least
 * every second; the client fetches both raw streams every POLL_S, then
 * the execution (for its status and the *_truncated flags), and prints
 * the new bytes of each stream (follow.h) on its own stdout and stderr.
 * The raw streams come first: the flags read after them are then a
 * bound (a stream the later read calls untruncated was untruncated
 * before). When the status is final, the streams are fetched once more:
 * that fetch comes after the end, so it holds every last byte.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "client.h"
#include "follow.h"
#include "json.h"
#include "render.h"

#define FIRST_WAIT_S 55L        /* ?wait= of the submission, by default */
#define SUBMIT_TIMEOUT_S 60L    /* a submission that does not wait */
#define POLL_S 0.5              /* following: between two looks */
#define QUEUED_POLL_S 1.0       /* following a run still queued */
#define PATIENCE_S 60L          /* a poll retries a failure this long */
#define INPUT_MAX (64u << 20)   /* --input @FILE or -: read at most this */

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Reads all of fd into b (at most INPUT_MAX). 0 or -1 with errno. */
static int
read_all(int fd, struct buf *b)
{
	char chunk[65536];
	ssize_t n;

	for (;;) {
		n = read(fd, chunk, sizeof(chunk));
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1)
			return -1;
		if (n == 0)
			return 0;
		if (b->len + (size_t)n > INPUT_MAX) {
			errno = EFBIG;
			return -1;
		}
		buf_add(b, chunk, (size_t)n);
	}
}

/*
 * The body of the submission, {"input": ...}, from --input: JSON text,
 * @FILE or - (standard input). The text must be a JSON object; it is
 * parsed here so that a typo is a usage error, not a round trip.
 */
static int
make_body(const char *input, struct buf *body)
{
	struct buf text = BUF_INIT;
	struct jw w;
	yajl_val v = NULL;
	char err[256];
	int fd = -1, rc = -1;

	if (input == NULL) {
		buf_adds(body, "{\"input\":{}}");
		return 0;
	}
	if (strcmp(input, "-") == 0 || input[0] == '@') {
		const char *file = input[0] == '@' ? input + 1 : NULL;
		fd = file ? open(file, O_RDONLY | O_CLOEXEC) : 0;
		if (fd == -1 || read_all(fd, &text) == -1) {
			say("--input: cannot read %s: %s", file ? file :
			    "standard input", strerror(errno));
			goto out;
		}
	} else {
		buf_adds(&text, input);
	}
	v = json_parse(text.data, text.len, err, sizeof(err));
	if (v == NULL || !YAJL_IS_OBJECT(v)) {
		say("--input: the input must be a JSON object%s%s",
		    v ? "" : ": ", v ? "" : err);
		goto out;
	}
	jw_init(&w, body);
	jw_obj(&w);
	jw_key(&w, "input");
	jw_value(&w, v);
	jw_obj_end(&w);
	jw_free(&w);
	rc = 0;
out:
	if (fd > 0)
		close(fd);
	yajl_tree_free(v);
	buf_free(&text);
	return rc;
}

static long long
exec_id(yajl_val x)
{
	yajl_val n = json_get(x, "id");

	return n && YAJL_IS_INTEGER(n) ? YAJL_GET_INTEGER(n) : 0;
}

/* GET /api/v1/executions/{id}, parsed into *x (and its answer in *r):
 * 0, or the exit status after saying why. */
static int
get_execution(struct client *c, long long id, struct http_resp *r,
    yajl_val *x)
{
	char path[64];
	int rc;

	*x = NULL;
	snprintf(path, sizeof(path), "/api/v1/executions/%lld", id);
	if ((rc = client_poll(c, path, PATIENCE_S, r)) != EXIT_OK)
		return rc;
	if ((*x = client_parse(r)) == NULL) {
		http_resp_free(r);
		return EXIT_API;
	}
	return EXIT_OK;
}

/* Says how an execution that did not end with an exit (or a signal)
 * ended, since its exit status alone does not say it. */
static void
tell_outcome(yajl_val x)
{
	const char *st = json_get_str(x, "status"), *e = json_get_str(x, "error");
	struct buf a = BUF_INIT, b = BUF_INIT;

	if (st == NULL || strcmp(st, "succeeded") == 0 ||
	    strcmp(st, "failed") == 0)
		return;
	render_outcome(&a, x);
	render_safe(&b, e, 0);
	say("execution %lld %s%s%s", exec_id(x), buf_str(&a), e ? ": " : "",
	    buf_str(&b));
	buf_free(&a);
	buf_free(&b);
}

/* ---- --wait ----------------------------------------------------------- */

/* Polls until execution id is final: its answer in *r, parsed in *x. The
 * pause grows from 1 s to 5 s over the first minutes of a long run. */
static int
wait_final(struct client *c, long long id, struct http_resp *r, yajl_val *x)
{
	double start = now_s();
	int rc;

	for (;;) {
		if ((rc = get_execution(c, id, r, x)) != EXIT_OK)
			return rc;
		if (client_status_final(json_get_str(*x, "status")))
			return EXIT_OK;
		yajl_tree_free(*x);
		*x = NULL;
		http_resp_free(r);
		double pause = 1 + (now_s() - start) / 60;
		client_sleep(pause > 5 ? 5 : pause);
	}
}

static int
print_final(struct client *c, const struct http_resp *r, yajl_val x)
{
	struct buf out = BUF_INIT;

	if (c->json) {
		fwrite(r->body.data, 1, r->body.len, stdout);
		if (r->body.len == 0 || r->body.data[r->body.len - 1] != '\n')
			fputc('\n', stdout);
	} else {
		render_execution(&out, x);
		fwrite(out.data, 1, out.len, stdout);
	}
	buf_free(&out);
	return client_exit_status(x);
}

/* ---- --follow ------------------------------------------------------- */

/* One stream being followed. */
struct stream {
	const char *name;    /* "stdout" or "stderr", as the API says */
	FILE *to;
	struct follow f;
	int broken;          /* stopped following it (said why once) */
};

/* Fetches the raw stream of s into *r. */
static int
fetch_stream(struct client *c, long long id, struct stream *s,
    struct http_resp *r)
{
	char path[80];

	snprintf(path, sizeof(path), "/api/v1/executions/%lld/%s", id, s->name);
	return client_poll(c, path, PATIENCE_S, r);
}

/* Prints what is new in a fetched stream. `maybe_truncated` is the
 * *_truncated flag of an execution read after the fetch, `final` whether
 * the fetch came after the end. */
static void
show_stream(long long id, struct stream *s, const struct http_resp *r,
    int maybe_truncated, int final)
{
	struct buf out = BUF_INIT, err = BUF_INIT;

	if (s->broken)
		return;
	if (follow_feed(&s->f, r->body.data, r->body.len, maybe_truncated,
	    final, &out, &err) == -1) {
		say("stopped following the %s of execution %lld: %s; "
		    "'scriptorch logs %lld%s' prints what the server kept",
		    s->name, id, buf_str(&err), id,
		    s->to == stderr ? " --stderr" : "");
		s->broken = 1;
	} else if (out.len > 0) {
		fwrite(out.data, 1, out.len, s->to);
		fflush(s->to);
	}
	buf_free(&out);
	buf_free(&err);
}

static int
truncated_flag(yajl_val x, const char *stream)
{
	char key[32];
	yajl_val v;

	snprintf(key, sizeof(key), "%s_truncated", stream);
	v = json_get(x, key);
	return v != NULL && YAJL_IS_TRUE(v);
}

static int
follow_run(struct client *c, long long id, const char *first_status)
{
	struct stream ss[2] = {
		{ "stdout", stdout, { 0 }, 0 },
		{ "stderr", stderr, { 0 }, 0 },
	};
	struct http_resp raw[2], xr;
	yajl_val x = NULL;
	int rc = EXIT_OK, started = !!strcmp(first_status, "queued");
	int have_raw, final = 0;

	follow_init(&ss[0].f);
	follow_init(&ss[1].f);
	http_resp_init(&raw[0]);
	http_resp_init(&raw[1]);
	http_resp_init(&xr);
	while (!final) {
		have_raw = 0;
		if (started) {
			for (int i = 0; i < 2; i++)
				if ((rc = fetch_stream(c, id, &ss[i], &raw[i])) !=
				    EXIT_OK)
					goto out;
			have_raw = 1;
		}
		yajl_tree_free(x);
		http_resp_free(&xr);
		if ((rc = get_execution(c, id, &xr, &x)) != EXIT_OK)
			goto out;
		final = client_status_final(json_get_str(x, "status"));
		if (final) {
			/* After the end: these hold every byte. */
			for (int i = 0; i < 2; i++) {
				http_resp_free(&raw[i]);
				if ((rc = fetch_stream(c, id, &ss[i], &raw[i])) !=
				    EXIT_OK)
					goto out;
			}
			have_raw = 1;
		}
		if (have_raw) {
			for (int i = 0; i < 2; i++) {
				show_stream(id, &ss[i], &raw[i],
				    truncated_flag(x, ss[i].name), final);
				http_resp_free(&raw[i]);
			}
		}
		if (!final) {
			started = strcmp(json_get_str(x, "status") ?
			    json_get_str(x, "status") : "", "queued") != 0;
			client_sleep(started ? POLL_S : QUEUED_POLL_S);
		}
	}
	tell_outcome(x);
	rc = client_exit_status(x);
out:
	yajl_tree_free(x);
	http_resp_free(&xr);
	http_resp_free(&raw[0]);
	http_resp_free(&raw[1]);
	follow_free(&ss[0].f);
	follow_free(&ss[1].f);
	return rc;
}

/* ---- the command ------------------------------------------------------ */

int
cmd_run(struct client *c, const struct cmd_args *a)
{
	struct buf body = BUF_INIT, path = BUF_INIT;
	struct http_resp r;
	yajl_val x = NULL;
	char *name = NULL;
	long long id;
	int rc, wait = a->wait && !a->follow;
	long slice = a->wait_slice > 0 ? a->wait_slice : FIRST_WAIT_S;

	http_resp_init(&r);
	if (make_body(a->input, &body) == -1) {
		rc = EXIT_USAGE;
		goto out;
	}
	name = client_escape(c, a->operands[0]);
	buf_printf(&path, "/api/v1/scripts/%s/executions", name);
	if (wait)
		buf_printf(&path, "?wait=%ld", slice);
	rc = client_call(c, "POST", path.data, body.data, body.len,
	    wait ? slice + 30 : SUBMIT_TIMEOUT_S, &r);
	if (rc != EXIT_OK)
		goto out;
	if ((x = client_parse(&r)) == NULL || (id = exec_id(x)) <= 0) {
		if (x != NULL)
			say("the server's answer names no execution id");
		rc = EXIT_API;
		goto out;
	}
	if (a->follow) {
		const char *st = json_get_str(x, "status");
		rc = follow_run(c, id, st ? st : "queued");
		goto out;
	}
	if (!wait) {
		if (c->json)
			print_final(c, &r, x);
		else
			printf("%lld\n", id);
		rc = EXIT_OK;
		goto out;
	}
	if (!client_status_final(json_get_str(x, "status"))) {
		yajl_tree_free(x);
		x = NULL;
		http_resp_free(&r);
		if ((rc = wait_final(c, id, &r, &x)) != EXIT_OK)
			goto out;
	}
	rc = print_final(c, &r, x);
out:
	yajl_tree_free(x);
	http_resp_free(&r);
	free(name);
	buf_free(&body);
	buf_free(&path);
	return rc;
}
