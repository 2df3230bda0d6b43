/*
 * render.c - tables and readable executions for the client (render.h).
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "log.h"
#include "render.h"

void
render_safe(struct buf *out, const char *s, int keep_lines)
{
	const unsigned char *p = (const unsigned char *)(s ? s : "");

	for (; *p; p++) {
		unsigned char c = *p;
		if ((c == '\n' || c == '\t') && keep_lines) {
			buf_addc(out, (char)c);
		} else if (c < 0x20 || c == 0x7f) {
			buf_addc(out, '?');
		} else if (c == 0xc2 && p[1] >= 0x80 && p[1] <= 0x9f) {
			/* A C1 control (U+0080..U+009F): CSI among them. */
			buf_addc(out, '?');
			p++;
		} else {
			buf_addc(out, (char)c);
		}
	}
}

size_t
render_width(const char *s)
{
	size_t n = 0;

	for (; *s; s++)
		if (((unsigned char)*s & 0xc0) != 0x80)
			n++;
	return n;
}

void
render_time(struct buf *out, const char *t)
{
	size_t n;

	if (t == NULL) {
		buf_adds(out, "-");
		return;
	}
	n = strlen(t);
	/* YYYY-MM-DDTHH:MM:SS[.mmm]Z */
	if (n >= 20 && t[10] == 'T' && t[n - 1] == 'Z') {
		buf_add(out, t, 10);
		buf_addc(out, ' ');
		buf_add(out, t + 11, 8);
		return;
	}
	render_safe(out, t, 0);
}

void
render_duration(struct buf *out, double ms)
{
	if (ms < 0)
		ms = 0;
	if (ms < 1000)
		buf_printf(out, "%.0f ms", ms);
	else if (ms < 60000)
		buf_printf(out, "%.1f s", ms / 1000);
	else if (ms < 3600000) {
		long long s = (long long)(ms / 1000 + 0.5);
		buf_printf(out, "%lldm%02llds", s / 60, s % 60);
	} else {
		long long s = (long long)(ms / 1000 + 0.5);
		buf_printf(out, "%lldh%02lldm%02llds", s / 3600, s / 60 % 60,
		    s % 60);
	}
}

/* ---- tables -------------------------------------------------------------- */

static void
table_push(struct table *t, char *cell)
{
	if (t->ncells == t->cap) {
		size_t ncap = t->cap ? t->cap * 2 : 64;
		char **n = realloc(t->cells, ncap * sizeof(*n));
		if (n == NULL)
			fatal("realloc");
		t->cells = n;
		t->cap = ncap;
	}
	t->cells[t->ncells++] = cell;
}

/* A safe copy of s cut to `max` columns (0: whole). */
static char *
cell_text(const char *s, size_t max)
{
	struct buf b = BUF_INIT;
	size_t cols = 0, i;

	render_safe(&b, s ? s : "-", 0);
	if (max == 0 || render_width(buf_str(&b)) <= max)
		return buf_detach(&b, NULL);
	/* Keep max - 3 code points, then "...". */
	for (i = 0; i < b.len; i++) {
		if (((unsigned char)b.data[i] & 0xc0) != 0x80) {
			if (cols == max - (max > 3 ? 3 : 0))
				break;
			cols++;
		}
	}
	b.len = i;
	b.data[i] = '\0';
	if (max > 3)
		buf_adds(&b, "...");
	return buf_detach(&b, NULL);
}

void
table_init(struct table *t, size_t ncols, const char *const *headers)
{
	memset(t, 0, sizeof(*t));
	t->ncols = ncols;
	t->max = calloc(ncols, sizeof(*t->max));
	if (t->max == NULL)
		fatal("calloc");
	for (size_t i = 0; i < ncols; i++)
		table_push(t, xstrdup(headers[i]));
}

void
table_limit(struct table *t, size_t col, size_t width)
{
	if (col < t->ncols)
		t->max[col] = width;
}

void
table_add(struct table *t, const char *const *cells)
{
	for (size_t i = 0; i < t->ncols; i++)
		table_push(t, cell_text(cells[i], t->max[i]));
}

void
table_print(const struct table *t, FILE *f)
{
	size_t *w = calloc(t->ncols, sizeof(*w));

	if (w == NULL)
		fatal("calloc");
	for (size_t i = 0; i < t->ncells; i++) {
		size_t n = render_width(t->cells[i]);
		if (n > w[i % t->ncols])
			w[i % t->ncols] = n;
	}
	for (size_t i = 0; i < t->ncells; i++) {
		size_t col = i % t->ncols;
		fputs(t->cells[i], f);
		if (col + 1 == t->ncols) {
			fputc('\n', f);
			continue;
		}
		for (size_t n = render_width(t->cells[i]); n < w[col] + 2; n++)
			fputc(' ', f);
	}
	free(w);
}

void
table_free(struct table *t)
{
	for (size_t i = 0; i < t->ncells; i++)
		free(t->cells[i]);
	free(t->cells);
	free(t->max);
	memset(t, 0, sizeof(*t));
}

/* ---- executions ---------------------------------------------------------- */

/* Member `key` as an integer; 1 when it is one. */
static int
get_int(yajl_val x, const char *key, long long *v)
{
	yajl_val n = json_get(x, key);

	if (n == NULL || !YAJL_IS_INTEGER(n))
		return 0;
	*v = YAJL_GET_INTEGER(n);
	return 1;
}

static int
get_num(yajl_val x, const char *key, double *v)
{
	yajl_val n = json_get(x, key);

	if (n == NULL || !YAJL_IS_NUMBER(n))
		return 0;
	*v = YAJL_GET_DOUBLE(n);
	return 1;
}

void
render_outcome(struct buf *out, yajl_val x)
{
	const char *st = json_get_str(x, "status");
	long long code, sig;
	int has_code = get_int(x, "exit_code", &code);
	int has_sig = get_int(x, "signal", &sig);

	render_safe(out, st ? st : "unknown", 0);
	if (st == NULL)
		return;
	if (strcmp(st, "succeeded") == 0 || strcmp(st, "failed") == 0) {
		if (has_code)
			buf_printf(out, ", exit code %lld", code);
		else if (has_sig)
			buf_printf(out, ", killed by signal %lld", sig);
	} else if (has_sig) {
		buf_printf(out, " (signal %lld)", sig);
	}
}

/* One labelled line: "label:" padded, then the value made safe. */
static void
line(struct buf *out, const char *label, const char *value)
{
	struct buf v = BUF_INIT;

	render_safe(&v, value, 1);
	buf_printf(out, "%-13s%s\n", label, buf_str(&v));
	buf_free(&v);
}

static void
line_time(struct buf *out, const char *label, yajl_val x, const char *key)
{
	struct buf v = BUF_INIT;
	const char *t = json_get_str(x, key);

	if (t != NULL) {
		render_time(&v, t);
		line(out, label, buf_str(&v));
	}
	buf_free(&v);
}

static void
line_json(struct buf *out, const char *label, yajl_val v)
{
	struct buf t = BUF_INIT;

	if (v == NULL || YAJL_IS_NULL(v))
		return;
	if (YAJL_IS_STRING(v))
		buf_adds(&t, YAJL_GET_STRING(v));
	else
		json_dump(&t, v);
	line(out, label, buf_str(&t));
	buf_free(&t);
}

/* A stream's section: a header line, then its text ending in a newline. */
static void
section(struct buf *out, yajl_val x, const char *name)
{
	const char *s = json_get_str(x, name);
	char key[32];
	yajl_val tr;

	if (s == NULL)
		return;
	snprintf(key, sizeof(key), "%s_truncated", name);
	tr = json_get(x, key);
	buf_printf(out, "--- %s%s ---\n", name,
	    tr && YAJL_IS_TRUE(tr) ? " (truncated)" : "");
	buf_adds(out, s);
	if (*s && s[strlen(s) - 1] != '\n')
		buf_addc(out, '\n');
}

void
render_execution(struct buf *out, yajl_val x)
{
	struct buf v = BUF_INIT;
	const char *s;
	long long n, m;
	double d;

	if (get_int(x, "id", &n))
		buf_printf(&v, "%lld", n);
	line(out, "execution:", buf_str(&v));
	buf_reset(&v);
	render_outcome(&v, x);
	line(out, "status:", buf_str(&v));
	buf_reset(&v);
	if ((s = json_get_str(x, "script_name")) != NULL) {
		buf_adds(&v, s);
		if (get_int(x, "script_id", &n))
			buf_printf(&v, " (id %lld)", n);
		line(out, "script:", buf_str(&v));
		buf_reset(&v);
	}
	if ((s = json_get_str(x, "script_version")) != NULL)
		line(out, "version:", s);
	if ((s = json_get_str(x, "trigger")) != NULL) {
		buf_adds(&v, s);
		if ((s = json_get_str(x, "triggered_by")) != NULL)
			buf_printf(&v, " by %s", s);
		line(out, "trigger:", buf_str(&v));
		buf_reset(&v);
	}
	line_json(out, "input:", json_get(x, "input"));
	line_time(out, "queued:", x, "queued_at");
	line_time(out, "started:", x, "started_at");
	line_time(out, "finished:", x, "finished_at");
	if (get_num(x, "duration_ms", &d)) {
		render_duration(&v, d);
		line(out, "duration:", buf_str(&v));
		buf_reset(&v);
	}
	if (get_int(x, "cpu_user_ms", &n) && get_int(x, "cpu_system_ms", &m)) {
		buf_printf(&v, "%lld ms user, %lld ms system", n, m);
		if (get_int(x, "max_rss_kb", &n))
			buf_printf(&v, ", max RSS %lld KiB", n);
		line(out, "resources:", buf_str(&v));
		buf_reset(&v);
	}
	if ((s = json_get_str(x, "limit")) != NULL)
		line(out, "limit:", s);
	if ((s = json_get_str(x, "node")) != NULL)
		line(out, "node:", s);
	line_json(out, "output:", json_get(x, "output"));
	line_json(out, "output file:", json_get(x, "output_file"));
	if ((s = json_get_str(x, "error")) != NULL)
		line(out, "error:", s);
	section(out, x, "stdout");
	section(out, x, "stderr");
	buf_free(&v);
}
