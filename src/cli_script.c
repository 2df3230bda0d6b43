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
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "cli_int.h"
#include "conf.h"
#include "db.h"
#include "fsutil.h"
#include "inputenv.h"
#include "json.h"
#include "registry.h"
#include "schema.h"

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

/* ---- add and update: the options made into one JSON object ---------- */

/* How an option's value becomes the member it sets. */
enum fopt_kind {
	FO_STR,         /* a string */
	FO_JSON,        /* JSON text, as it is */
	FO_NUMBER,      /* a JSON number; other text goes as a string, for
	                 * the registry to refuse in its own words */
	FO_BOOL,        /* true or false; likewise */
	FO_TEXT_FILE,   /* the text of a file */
	FO_LABELS,      /* "a,b": an array of strings */
	FO_LIMIT,       /* a member of limits, a number as FO_NUMBER */
	FO_SECRET,      /* NAME: a secret_env value from standard input */
	FO_SECRET_FILE, /* NAME=FILE: a secret_env value from a file */
	FO_RESET,       /* FIELD: null, the field's default */
};

/* Every option of add and update (cli.c's table lists which command
 * takes which), and the member of the script object it sets. */
static const struct fopt {
	const char *opt;
	const char *field;      /* NULL: the value names it (FO_RESET) */
	enum fopt_kind kind;
} fopts[] = {
	{ "--name", "name", FO_STR },
	{ "--type", "type", FO_STR },
	{ "--path", "path", FO_STR },
	{ "--description", "description", FO_STR },
	{ "--enabled", "enabled", FO_BOOL },
	{ "--requirements-file", "requirements", FO_TEXT_FILE },
	{ "--args", "args", FO_JSON },
	{ "--input-mode", "input_mode", FO_STR },
	{ "--inputs", "inputs", FO_JSON },
	{ "--outputs", "outputs", FO_JSON },
	{ "--env", "env", FO_JSON },
	{ "--secret-env", "secret_env", FO_SECRET },
	{ "--secret-env-file", "secret_env", FO_SECRET_FILE },
	{ "--timeout", "timeout_s", FO_NUMBER },
	{ "--max-concurrency", "max_concurrency", FO_NUMBER },
	{ "--memory-mb", "limits.memory_mb", FO_LIMIT },
	{ "--pids", "limits.pids", FO_LIMIT },
	{ "--cpu-cores", "limits.cpu_cores", FO_LIMIT },
	{ "--file-size-mb", "limits.file_size_mb", FO_LIMIT },
	{ "--output-cap-kb", "limits.output_cap_kb", FO_LIMIT },
	{ "--network", "network", FO_STR },
	{ "--node-labels", "node_labels", FO_LABELS },
	{ "--callback-url", "callback_url", FO_STR },
	{ "--reset", NULL, FO_RESET },
};
#define NFOPTS (sizeof(fopts) / sizeof(fopts[0]))

/*
 * The most read for one secret's value: more than the registry takes
 * with any name, so that it is the registry that refuses a value too
 * long, in its own words.
 */
#define SECRET_READ_MAX (INPUTENV_MAX_STRING + 1)

/* A member an option set: the path of the script object it set
 * ("timeout_s", "limits.pids", "secret_env.TOKEN") and the option that
 * did, as the user wrote it ("--timeout", "--secret-env TOKEN"). */
struct given {
	char target[160];
	char option[192];
};

/*
 * A member of limits or of secret_env that an option sets: its name
 * (owned) and its value, as `kind` says: FO_LIMIT, the text given;
 * FO_SECRET, read from standard input; FO_SECRET_FILE, read from the file
 * `text`; FO_RESET, null. `text` is borrowed from argv; a secret's value,
 * once read, is owned and wiped when freed.
 */
struct member_opt {
	char *name;
	enum fopt_kind kind;
	const char *text;
	char *value;
	size_t len;
};

/* The members given for limits, or for secret_env, and whether --reset
 * named the whole field. */
struct group {
	struct member_opt *v;
	size_t n;
	int reset;
};

/*
 * What the options of one add or update say, gathered before the
 * database is asked anything (body_collect), then written as one object
 * (body_finish) once the stored script is known: limits and secret_env
 * are merged with what is stored, which the API leaves to its caller.
 * body_free() releases it all, wiping the secrets.
 */
struct body {
	const char *cmd;            /* "add" or "update" */
	struct buf text;            /* the object's JSON text */
	struct jw w;                /* writes the members to `text` */
	struct given *given;        /* one per option, in order */
	size_t ngiven;
	struct group lim;           /* limits */
	struct group sec;           /* secret_env */
	int stdin_eof;              /* a --secret-env found no more lines */
};

static void
wipe(void *p, size_t n)
{
	if (p != NULL)
		sodium_memzero(p, n);
}

static void
body_free(struct body *b)
{
	if (b->w.g != NULL)
		jw_free(&b->w);
	wipe(b->text.data, b->text.cap);
	buf_free(&b->text);
	for (struct group *g = &b->lim; g != NULL; g = g == &b->lim ?
	    &b->sec : NULL) {
		for (size_t i = 0; i < g->n; i++) {
			wipe(g->v[i].value, g->v[i].len);
			free(g->v[i].value);
			free(g->v[i].name);
		}
		free(g->v);
	}
	free(b->given);
	memset(b, 0, sizeof(*b));
}

/* The option that set the member `field` an error names: the one whose
 * target is the longest that `field` is or starts with (".x", "[2]");
 * else the option that sets that field at all; else NULL. */
static const char *
option_of(const struct body *b, const char *field)
{
	const char *best = NULL;
	size_t bestlen = 0;

	for (size_t i = 0; b != NULL && i < b->ngiven; i++) {
		const char *t = b->given[i].target;
		size_t n = strlen(t);

		if (n > bestlen && strncmp(field, t, n) == 0 &&
		    (field[n] == '\0' || field[n] == '.' || field[n] == '[')) {
			best = b->given[i].option;
			bestlen = n;
		}
	}
	if (best != NULL)
		return best;
	for (size_t i = 0; i < NFOPTS; i++) {
		const char *t = fopts[i].field;
		size_t n = t != NULL ? strlen(t) : 0;

		if (n > 0 && strncmp(field, t, n) == 0 &&
		    (field[n] == '\0' || field[n] == '.' || field[n] == '['))
			return fopts[i].opt;
	}
	return NULL;
}

/* "scriptorchd script add: timeout_s (--timeout): <message>". */
static void
print_field_error(const char *cmd, const struct body *b, const struct verr *e)
{
	const char *opt;

	if (e->field[0] == '\0') {
		fprintf(stderr, "scriptorchd script %s: %s\n", cmd, e->message);
		return;
	}
	opt = option_of(b, e->field);
	if (opt != NULL)
		fprintf(stderr, "scriptorchd script %s: %s (%s): %s\n", cmd,
		    e->field, opt, e->message);
	else
		fprintf(stderr, "scriptorchd script %s: %s: %s\n", cmd,
		    e->field, e->message);
}

/*
 * Records that `option` sets `target`. Each member may be set once:
 * a second option for it is a usage error (2), so that no option is
 * quietly overruled by another.
 */
static int
note(struct body *b, const struct cli_cmd *cmd, const char *target,
    const char *option)
{
	struct given *g;

	for (size_t i = 0; i < b->ngiven; i++) {
		g = &b->given[i];
		if (strcmp(g->target, target) != 0)
			continue;
		if (strcmp(g->option, option) == 0)
			return cli_usage_error(cmd, "%s is given twice", option);
		return cli_usage_error(cmd, "%s and %s both set %s", g->option,
		    option, target);
	}
	g = &b->given[b->ngiven++];
	snprintf(g->target, sizeof(g->target), "%s", target);
	snprintf(g->option, sizeof(g->option), "%s", option);
	return 0;
}

/* Text given for a string member must be UTF-8, as the API's body must
 * be (the JSON writer would otherwise change it quietly). */
static int
check_utf8(const struct body *b, const char *field, const char *opt,
    const char *text, size_t len)
{
	if (utf8_valid(text, len))
		return 0;
	fprintf(stderr, "scriptorchd script %s: %s (%s): not valid UTF-8\n",
	    b->cmd, field, opt);
	return -1;
}

/* A JSON literal of the kind wanted (a number, true or false) as it is
 * written; any other text as a string, which the registry refuses with
 * the message it gives for that field. */
static void
write_literal(struct jw *w, const char *text, int want_number)
{
	yajl_val v = json_parse(text, strlen(text), NULL, 0);

	if (v != NULL && (want_number ? YAJL_IS_NUMBER(v) :
	    YAJL_IS_TRUE(v) || YAJL_IS_FALSE(v)))
		jw_value(w, v);
	else
		jw_str(w, text);
	yajl_tree_free(v);
}

/* "a,b" as ["a", "b"] (blanks around each dropped, as in the config's
 * node_labels); "" as []. Each label is the registry's to judge. */
static void
write_labels(struct jw *w, const char *text)
{
	const char *p = text, *end;

	jw_arr(w);
	for (end = p; *text != '\0' && *end != '\0'; p = end + 1) {
		const char *a = p, *z;

		end = p + strcspn(p, ",");
		for (z = end; a < z && isspace((unsigned char)*a); a++)
			;
		while (z > a && isspace((unsigned char)z[-1]))
			z--;
		jw_strn(w, a, (size_t)(z - a));
	}
	jw_arr_end(w);
}

/* Drops a trailing "\n" or "\r\n". */
static size_t
chomp(const char *s, size_t len)
{
	if (len > 0 && s[len - 1] == '\n')
		len--;
	if (len > 0 && s[len - 1] == '\r')
		len--;
	return len;
}

/*
 * The value of --secret-env NAME: the next line of standard input (its
 * "\n" or "\r\n" dropped). When standard input is a terminal, a prompt
 * on stderr asks for it and the terminal does not echo what is typed.
 * 0 with *out (owned, SECRET_READ_MAX + 1 bytes, NUL-terminated) and
 * *len; -1 after saying why.
 */
static int
read_secret_line(struct body *b, const char *name, char **out, size_t *len)
{
	struct termios old, quiet;
	int tty = isatty(STDIN_FILENO), echo_off = 0, ch = EOF;
	size_t n = 0;
	char *v;

	*out = NULL;
	if (b->stdin_eof) {
		fprintf(stderr, "scriptorchd script %s: --secret-env %s: no "
		    "value: standard input has no more lines\n", b->cmd, name);
		return -1;
	}
	if ((v = malloc(SECRET_READ_MAX + 1)) == NULL) {
		fprintf(stderr, "scriptorchd script %s: out of memory\n",
		    b->cmd);
		return -1;
	}
	if (tty) {
		/* Never typed where it shows: no echo, or no reading. */
		if (tcgetattr(STDIN_FILENO, &old) == 0) {
			quiet = old;
			quiet.c_lflag &= ~(tcflag_t)ECHO;
			quiet.c_lflag |= ECHONL;
			echo_off = tcsetattr(STDIN_FILENO, TCSAFLUSH,
			    &quiet) == 0;
		}
		if (!echo_off) {
			fprintf(stderr, "scriptorchd script %s: --secret-env "
			    "%s: cannot turn the terminal's echo off: %s\n",
			    b->cmd, name, strerror(errno));
			free(v);
			return -1;
		}
		fprintf(stderr, "value of secret %s (not shown): ", name);
		fflush(stderr);
	}
	while (n < SECRET_READ_MAX && (ch = getchar()) != EOF && ch != '\n')
		v[n++] = (char)ch;
	if (echo_off)
		tcsetattr(STDIN_FILENO, TCSANOW, &old);
	if (ch == EOF) {
		b->stdin_eof = 1;
		if (n == 0) {
			wipe(v, SECRET_READ_MAX + 1);
			free(v);
			fprintf(stderr, "scriptorchd script %s: --secret-env %s: "
			    "no value: standard input has no more lines\n",
			    b->cmd, name);
			return -1;
		}
	}
	n = chomp(v, n);
	v[n] = '\0';
	*out = v;
	*len = n;
	return 0;
}

/* The value of --secret-env-file NAME=FILE: the file's text, a trailing
 * "\n" or "\r\n" dropped. 0 with *out (owned) and *len, or -1 after
 * saying why. */
static int
read_secret_file(struct body *b, const char *name, const char *path,
    char **out, size_t *len)
{
	struct buf f = BUF_INIT;
	char err[512];
	size_t n;

	*out = NULL;
	if (fs_read_file(path, SECRET_READ_MAX + 2, &f, err,
	    sizeof(err)) == -1) {
		fprintf(stderr, "scriptorchd script %s: --secret-env-file %s: "
		    "%s\n", b->cmd, name, err);
		wipe(f.data, f.cap);
		buf_free(&f);
		return -1;
	}
	buf_addc(&f, '\0');
	n = chomp(f.data, f.len - 1);
	f.data[n] = '\0';
	*out = buf_detach(&f, NULL);
	*len = n;
	return 0;
}

/* Records that `option` sets member `name` (owned: freed here on
 * failure) of `field`, limits or secret_env, its value as `kind` and
 * `text` say (struct member_opt). 0, or 2 after a usage error. */
static int
add_member(struct body *b, const struct cli_cmd *cmd, const char *field,
    char *name, enum fopt_kind kind, const char *text, const char *option)
{
	struct group *g = strcmp(field, "limits") == 0 ? &b->lim : &b->sec;
	struct buf target = BUF_INIT;
	int rc;

	buf_adds(&target, field);
	schema_path_key(&target, name);
	rc = note(b, cmd, buf_str(&target), option);
	buf_free(&target);
	if (rc != 0) {
		free(name);
		return rc;
	}
	g->v[g->n].name = name;
	g->v[g->n].kind = kind;
	g->v[g->n].text = text;
	g->n++;
	return 0;
}

/* A secret_env member from --secret-env NAME, --secret-env-file
 * NAME=FILE or (kind FO_RESET) --reset secret_env.NAME, `arg` being what
 * follows the option: 0, 1 (failed) or 2 (usage). */
static int
add_secret(struct body *b, const struct cli_cmd *cmd, enum fopt_kind kind,
    const char *arg)
{
	const char *eq = strchr(arg, '='), *path = NULL;
	char option[192], *name;

	if (kind == FO_SECRET && eq != NULL)
		/* The argument is not echoed: it may hold the value. */
		return cli_usage_error(cmd, "--secret-env takes a NAME only: "
		    "its value is read from standard input (or use "
		    "--secret-env-file NAME=FILE), never from the command "
		    "line, which other users can see");
	if (kind == FO_SECRET_FILE) {
		if (eq == NULL || eq == arg || eq[1] == '\0')
			return cli_usage_error(cmd, "--secret-env-file takes "
			    "NAME=FILE");
		name = strndup(arg, (size_t)(eq - arg));
		path = eq + 1;
	} else
		name = strdup(arg);
	if (name == NULL) {
		fprintf(stderr, "scriptorchd script %s: out of memory\n",
		    b->cmd);
		return 1;
	}
	if (kind == FO_RESET)
		snprintf(option, sizeof(option), "--reset secret_env.%s", arg);
	else
		snprintf(option, sizeof(option), "%s %s", kind == FO_SECRET ?
		    "--secret-env" : "--secret-env-file", name);
	return add_member(b, cmd, "secret_env", name, kind, path, option);
}

/* Reads the value of each secret given, in the order given (so that
 * several --secret-env take the lines of standard input in order): 0, or
 * 1 after saying why. */
static int
read_secrets(struct body *b)
{
	for (size_t i = 0; i < b->sec.n; i++) {
		struct member_opt *so = &b->sec.v[i];
		const char *opt = so->kind == FO_SECRET ? "--secret-env" :
		    "--secret-env-file";
		int rc = 0;

		if (so->kind == FO_SECRET)
			rc = read_secret_line(b, so->name, &so->value, &so->len);
		else if (so->kind == FO_SECRET_FILE)
			rc = read_secret_file(b, so->name, so->text, &so->value,
			    &so->len);
		else
			continue;
		if (rc == -1)
			return 1;
		if (memchr(so->value, '\0', so->len) != NULL ||
		    !utf8_valid(so->value, so->len)) {
			fprintf(stderr, "scriptorchd script %s: %s %s: the value "
			    "is not UTF-8 text (it holds a NUL byte or invalid "
			    "UTF-8)\n", b->cmd, opt, so->name);
			return 1;
		}
	}
	return 0;
}

/* A member of limits from its option (--pids N) or from --reset
 * limits.NAME (text NULL). */
static int
add_limit(struct body *b, const struct cli_cmd *cmd, const char *name,
    const char *text, const char *option)
{
	char *copy = strdup(name);

	if (copy == NULL) {
		fprintf(stderr, "scriptorchd script %s: out of memory\n",
		    b->cmd);
		return 1;
	}
	return add_member(b, cmd, "limits", copy, text != NULL ? FO_LIMIT :
	    FO_RESET, text, option);
}

/* --reset FIELD: limits and secret_env as a whole or one member of
 * them, else the member FIELD set to null (an unknown FIELD is the
 * registry's to refuse). */
static int
add_reset(struct body *b, const struct cli_cmd *cmd, const char *field)
{
	char option[192];
	int rc;

	if (check_utf8(b, field, "--reset", field, strlen(field)) == -1)
		return 1;
	snprintf(option, sizeof(option), "--reset %s", field);
	if (strncmp(field, "secret_env.", 11) == 0)
		return add_secret(b, cmd, FO_RESET, field + 11);
	if (strncmp(field, "limits.", 7) == 0)
		return add_limit(b, cmd, field + 7, NULL, option);
	if ((rc = note(b, cmd, field, option)) != 0)
		return rc;
	if (strcmp(field, "secret_env") == 0)
		b->sec.reset = 1;
	else if (strcmp(field, "limits") == 0)
		b->lim.reset = 1;
	else {
		jw_key(&b->w, field);
		jw_null(&b->w);
	}
	return 0;
}

/*
 * Reads the options of `cmd` into `b`: the members that stand alone are
 * written at once, limits and secret_env gathered for body_finish; once
 * every option is found well formed, the secrets are read (standard
 * input, files), so that a usage error never waits for one. 0; 1 after
 * saying why; 2 after a usage error.
 */
static int
body_collect(struct body *b, const struct cli_cmd *cmd, const char *name)
{
	struct buf text = BUF_INIT;
	size_t n = (size_t)cmd->argc / 2 + 1;
	char err[512];
	int rc = 0;

	memset(b, 0, sizeof(*b));
	b->cmd = name;
	b->given = calloc(n, sizeof(*b->given));
	b->sec.v = calloc(n, sizeof(*b->sec.v));
	b->lim.v = calloc(n, sizeof(*b->lim.v));
	if (b->given == NULL || b->sec.v == NULL || b->lim.v == NULL) {
		fprintf(stderr, "scriptorchd script %s: out of memory\n", name);
		return 1;
	}
	jw_init(&b->w, &b->text);
	jw_obj(&b->w);
	/* cli_parse() let through only the table's options, each with its
	 * value. */
	for (int i = 0; i + 1 < cmd->argc && rc == 0; i += 2) {
		const char *o = cmd->argv[i], *v = cmd->argv[i + 1];
		const struct fopt *f = NULL;
		yajl_val tree;

		for (size_t k = 0; k < NFOPTS && f == NULL; k++)
			if (strcmp(fopts[k].opt, o) == 0)
				f = &fopts[k];
		if (f == NULL) {
			/* In the table, not here: a bug of cli.c's table. */
			rc = cli_usage_error(cmd, "option \"%s\" is not "
			    "handled", o);
			break;
		}
		switch (f->kind) {
		case FO_SECRET:
		case FO_SECRET_FILE:
			rc = add_secret(b, cmd, f->kind, v);
			continue;
		case FO_LIMIT:
			rc = add_limit(b, cmd, f->field + 7, v, o);
			continue;
		case FO_RESET:
			rc = add_reset(b, cmd, v);
			continue;
		default:
			break;
		}
		if ((rc = note(b, cmd, f->field, o)) != 0)
			break;
		if ((f->kind == FO_STR || f->kind == FO_LABELS) &&
		    check_utf8(b, f->field, o, v, strlen(v)) == -1) {
			rc = 1;
			break;
		}
		jw_key(&b->w, f->field);
		switch (f->kind) {
		case FO_STR:
			jw_str(&b->w, v);
			break;
		case FO_JSON:
			if ((tree = json_parse(v, strlen(v), err,
			    sizeof(err))) == NULL) {
				fprintf(stderr, "scriptorchd script %s: %s (%s): "
				    "not valid JSON: %s\n", name, f->field, o,
				    err);
				rc = 1;
				break;
			}
			jw_value(&b->w, tree);
			yajl_tree_free(tree);
			break;
		case FO_NUMBER:
		case FO_BOOL:
			write_literal(&b->w, v, f->kind == FO_NUMBER);
			break;
		case FO_LABELS:
			write_labels(&b->w, v);
			break;
		case FO_TEXT_FILE:
			buf_reset(&text);
			if (fs_read_file(v, REQUIREMENTS_MAX, &text, err,
			    sizeof(err)) == -1) {
				fprintf(stderr, "scriptorchd script %s: %s (%s): "
				    "%s\n", name, f->field, o, err);
				rc = 1;
			} else if (memchr(text.data ? text.data : "", '\0',
			    text.len) != NULL) {
				fprintf(stderr, "scriptorchd script %s: %s (%s): "
				    "%s contains a NUL byte\n", name, f->field,
				    o, v);
				rc = 1;
			} else if (check_utf8(b, f->field, o, buf_str(&text),
			    text.len) == -1)
				rc = 1;
			else
				jw_strn(&b->w, buf_str(&text), text.len);
			break;
		default:
			break;
		}
	}
	buf_free(&text);
	if (rc == 0)
		rc = read_secrets(b);
	return rc;
}

/* The members of the stored JSON object `json` (may be NULL), parsed;
 * NULL when there are none. */
static yajl_val
stored_object(const char *json)
{
	yajl_val v;

	if (json == NULL)
		return NULL;
	v = json_parse(json, strlen(json), NULL, 0);
	if (v != NULL && !YAJL_IS_OBJECT(v)) {
		yajl_tree_free(v);
		v = NULL;
	}
	return v;
}

/*
 * Member `key` (limits or secret_env) as the options for it say: not
 * written when none names it; null after a --reset of the whole alone;
 * else an object of the stored members no option names (`old`, JSON text
 * or NULL), each with its stored value or, `drop_old`, null, then a
 * member for each option.
 */
static void
write_group(struct body *b, const char *key, const struct group *g,
    const char *old_json, int drop_old)
{
	yajl_val old;

	if (g->n == 0 && !g->reset)
		return;
	jw_key(&b->w, key);
	if (g->n == 0) {
		jw_null(&b->w);
		return;
	}
	old = stored_object(old_json);
	jw_obj(&b->w);
	for (size_t i = 0; old != NULL && i < old->u.object.len; i++) {
		const char *k = old->u.object.keys[i];
		size_t j = 0;

		while (j < g->n && strcmp(g->v[j].name, k) != 0)
			j++;
		if (j < g->n)
			continue;
		jw_key(&b->w, k);
		jw_value(&b->w, drop_old ? NULL : old->u.object.values[i]);
	}
	for (size_t i = 0; i < g->n; i++) {
		const struct member_opt *m = &g->v[i];

		jw_key(&b->w, m->name);
		if (m->kind == FO_LIMIT)
			write_literal(&b->w, m->text, 1);
		else if (m->value != NULL)
			jw_strn(&b->w, m->value, m->len);
		else
			jw_null(&b->w);
	}
	jw_obj_end(&b->w);
	yajl_tree_free(old);
}

/* Wipes the secret_env values of a parsed body before it is freed. */
static void
wipe_tree_secrets(yajl_val tree)
{
	yajl_val sec = json_get(tree, "secret_env");

	for (size_t i = 0; sec != NULL && YAJL_IS_OBJECT(sec) &&
	    i < sec->u.object.len; i++) {
		yajl_val v = sec->u.object.values[i];
		if (YAJL_IS_STRING(v))
			wipe(v->u.string, strlen(v->u.string));
	}
}

/*
 * Ends the object (`stored`: the script an update changes, NULL for an
 * add) and parses it, as the API parses a body: the tree, or NULL after
 * saying why.
 */
static yajl_val
body_finish(struct body *b, const struct script *stored)
{
	char err[512];
	yajl_val tree;

	/*
	 * An update's limits are what is stored with the options put over
	 * it (--pids changes the pids limit alone; the API would replace
	 * limits whole), none of it after --reset limits. Its secret_env
	 * goes as given: the registry merges it with what is stored; after
	 * --reset secret_env every stored name not given goes.
	 */
	write_group(b, "limits", &b->lim, stored != NULL && !b->lim.reset ?
	    stored->limits_json : NULL, 0);
	write_group(b, "secret_env", &b->sec, stored != NULL &&
	    b->sec.reset ? stored->secret_env_json : NULL, 1);
	jw_obj_end(&b->w);
	jw_free(&b->w);
	if ((tree = json_parse(b->text.data, b->text.len, err,
	    sizeof(err))) == NULL)
		fprintf(stderr, "scriptorchd script %s: %s\n", b->cmd, err);
	return tree;
}

static magic_t
open_magic(void)
{
	magic_t magic = magic_open(MAGIC_NONE);

	if (magic != NULL && magic_load(magic, NULL) == -1) {
		fprintf(stderr, "scriptorchd: warning: libmagic: %s\n",
		    magic_error(magic));
		magic_close(magic);
		magic = NULL;
	}
	return magic;
}

/* What a create or an update answered: the script's line on stdout, or
 * every invalid field on stderr (one line each, as the API lists them).
 * Returns the exit status. */
static int
report(const struct body *b, struct db *db, enum reg_status rs,
    const struct verr *e, const struct verr_list *all, const struct script *s,
    const char *what)
{
	if (rs == REG_INVALID && all->n > 0) {
		for (size_t i = 0; i < all->n; i++)
			print_field_error(b->cmd, b, &all->v[i]);
		return 1;
	}
	if (rs == REG_INVALID || rs == REG_CONFLICT) {
		print_field_error(b->cmd, b, e);
		return 1;
	}
	if (rs != REG_OK)
		return reg_fail(b->cmd, db, rs, e, what);
	printf("%lld\t%s\t%s\n", s->id, s->name, s->version);
	return 0;
}

/*
 * Hands the object of `b` to the registry: a create or, given `old` (the
 * stored script), an update of it. Prints the outcome (report) and
 * returns the exit status.
 */
static int
registry_write(const struct cli_ctx *x, struct body *b, struct db *db,
    const struct script *old, const char *what)
{
	struct verr e;
	struct verr_list all = VERR_LIST_INIT;
	struct script s;
	yajl_val tree;
	magic_t magic;
	char actor[CLI_ACTOR_MAX];
	enum reg_status rs;
	int rc;

	verr_clear(&e);
	memset(&s, 0, sizeof(s));
	/* The object goes through JSON text and back, so that the registry
	 * gets a tree parsed as the API parses a body. */
	if ((tree = body_finish(b, old)) == NULL)
		return 1;
	magic = open_magic();
	cli_actor(actor, sizeof(actor));
	if (old == NULL)
		rs = registry_create(db, x->c, magic, NULL, tree, actor, &s,
		    &e, &all);
	else
		rs = registry_update(db, x->c, magic, NULL, old->id, tree,
		    actor, &s, &e, &all);
	rc = report(b, db, rs, &e, &all, &s, what);
	if (magic != NULL)
		magic_close(magic);
	wipe_tree_secrets(tree);
	yajl_tree_free(tree);
	verr_list_free(&all);
	script_free(&s);
	return rc;
}

int
cli_script_add(const struct cli_ctx *x)
{
	struct body b;
	struct db *db;
	int rc;

	if ((rc = body_collect(&b, x->cmd, "add")) == 0) {
		rc = 1;
		if ((db = cli_db_open(x->c)) != NULL) {
			rc = registry_write(x, &b, db, NULL, "");
			db_close(db);
		}
	}
	body_free(&b);
	return rc;
}

int
cli_script_update(const struct cli_ctx *x)
{
	const char *ref = x->cmd->operand;
	struct body b;
	struct verr e;
	struct script old;
	struct db *db = NULL;
	enum reg_status rs;
	int rc;

	memset(&old, 0, sizeof(old));
	if (x->cmd->argc == 0)
		return cli_usage_error(x->cmd, "nothing to change: give at "
		    "least one option");
	if ((rc = body_collect(&b, x->cmd, "update")) != 0)
		goto out;
	rc = 1;
	if ((db = cli_db_open(x->c)) == NULL)
		goto out;
	if ((rs = lookup(db, x->c, ref, &old, &e)) != REG_OK)
		rc = reg_fail("update", db, rs, &e, ref);
	else
		rc = registry_write(x, &b, db, &old, ref);
out:
	if (db != NULL)
		db_close(db);
	script_free(&old);
	body_free(&b);
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
