/*
 * cli.c - the admin CLI's front: the table of commands with their usage,
 * the parsing of a command line against it, the one way a command opens
 * the database and names its user in the audit log; and the commands
 * that are a few lines each (migrate, check-config, token, venv,
 * secret-key). The registry's commands are in cli_script.c.
 *
 * Every command is a row of one table, so that its words, its options,
 * its --help and its place in `scriptorchd --help` cannot disagree.
 */
#include "config.h"

#include <ctype.h>
#include <pwd.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "auth.h"
#include "buf.h"
#include "cli_int.h"
#include "conf.h"
#include "db.h"
#include "json.h"
#include "secret.h"
#include "store.h"
#include "venv.h"

#define CLI_MIGRATIONS_DIR PKGDATADIR "/sql"

/* ---- what the commands share ------------------------------------------- */

struct db *
cli_db_open(const struct conf *c)
{
	struct db *db = db_new(c);

	if (db_connect(db) == -1) {
		fprintf(stderr, "scriptorchd: cannot connect to the database: "
		    "%s\n", db_errmsg(db));
		db_close(db);
		return NULL;
	}
	return db;
}

void
cli_actor(char *out, size_t n)
{
	uid_t uid = getuid();
	struct passwd *pw = getpwuid(uid);

	if (pw != NULL)
		snprintf(out, n, "cli:%s", pw->pw_name);
	else
		snprintf(out, n, "cli:uid%u", (unsigned)uid);
}

/* The value of option `name` (the last one given), or NULL. */
static const char *
option(const struct cli_cmd *cmd, const char *name)
{
	const char *v = NULL;

	for (int i = 0; i + 1 < cmd->argc; i += 2)
		if (strcmp(cmd->argv[i], name) == 0)
			v = cmd->argv[i + 1];
	return v;
}

/* "scriptorchd token list: database error: ...": returns 1. */
static int
db_failed(const struct cli_ctx *x)
{
	char words[64];

	cli_words(x->cmd, words, sizeof(words));
	fprintf(stderr, "scriptorchd %s: database error: %s\n", words,
	    db_errmsg(x->db));
	return 1;
}

/* ---- migrate, check-config --------------------------------------------- */

static int
run_migrate(const struct cli_ctx *x)
{
	const char *dir = option(x->cmd, "--dir");
	char err[1024];
	int applied;

	if (store_migrate(x->db, dir != NULL ? dir : CLI_MIGRATIONS_DIR,
	    &applied, err, sizeof(err)) == -1) {
		fprintf(stderr, "scriptorchd migrate: %s\n", err);
		return 1;
	}
	printf("%d migration%s applied\n", applied, applied == 1 ? "" : "s");
	return 0;
}

/* main.c loaded and checked the config before this runs. */
static int
run_check_config(const struct cli_ctx *x)
{
	printf("%s: ok\n", x->conf_path);
	return 0;
}

/* ---- token ------------------------------------------------------------- */

static int
run_token_create(const struct cli_ctx *x)
{
	const char *name = option(x->cmd, "--name");
	const char *role_s = option(x->cmd, "--role");
	char actor[CLI_ACTOR_MAX], plain[TOKEN_TEXT_LEN];
	struct token_rec t;
	struct cli_ctx dbx = *x;
	enum role role;
	int rc = 1;

	if (name == NULL || *name == '\0' || strlen(name) > 128)
		return cli_usage_error(x->cmd, "--name of 1 to 128 characters "
		    "is required");
	if (role_parse(role_s, &role) == -1)
		return cli_usage_error(x->cmd, "--role must be admin, operator "
		    "or viewer");
	if ((dbx.db = cli_db_open(x->c)) == NULL)
		return 1;
	cli_actor(actor, sizeof(actor));
	if (auth_token_create(dbx.db, name, role, actor, &t, plain) == 0) {
		printf("%s\n", plain);
		rc = 0;
	} else
		rc = db_failed(&dbx);
	sodium_memzero(plain, sizeof(plain));
	db_close(dbx.db);
	return rc;
}

static void
print_token(void *arg, const struct token_rec *t)
{
	(void)arg;
	printf("%lld\t%s\t%s\t%s\t%s%s\n", t->id, t->name, role_name(t->role),
	    t->created_at, t->last_used_at[0] ? t->last_used_at : "never",
	    t->revoked ? "\trevoked" : "");
}

static int
run_token_list(const struct cli_ctx *x)
{
	if (auth_token_list(x->db, print_token, NULL) == -1)
		return db_failed(x);
	return 0;
}

static int
run_token_revoke(const struct cli_ctx *x)
{
	char actor[CLI_ACTOR_MAX];
	int found;

	cli_actor(actor, sizeof(actor));
	/* No shared region here: the daemon's workers notice within a
	 * second (auth.h). */
	if (auth_token_revoke(x->db, NULL, x->cmd->id, actor, &found) == -1)
		return db_failed(x);
	if (!found) {
		fprintf(stderr, "scriptorchd: no token %lld\n", x->cmd->id);
		return 1;
	}
	return 0;
}

/* ---- venv: the same services as /api/v1/admin/venvs -------------------- */

static void
print_venv(void *arg, const struct venv_rec *v, const long long *scripts,
    size_t n)
{
	(void)arg;
	printf("%lld\t%.12s\t%s\t%-8s\t%lld\t%s\t", v->id, v->key, v->python,
	    v->status, v->size_bytes, v->last_used_at[0] ? v->last_used_at :
	    "-");
	for (size_t i = 0; i < n; i++)
		printf("%s%lld", i ? "," : "", scripts[i]);
	printf("%s\n", n ? "" : "-");
}

static int
run_venv_list(const struct cli_ctx *x)
{
	printf("id\tkey\tpython\tstatus  \tsize\tlast_used_at\tscripts\n");
	if (venv_list(x->db, x->c, print_venv, NULL) == -1)
		return db_failed(x);
	return 0;
}

static int
run_venv_show(const struct cli_ctx *x)
{
	struct buf out = BUF_INIT;
	struct venv_rec v;
	struct jw w;
	long long *scripts;
	size_t n;

	switch (venv_get(x->db, x->c, x->cmd->id, &v, &scripts, &n)) {
	case VENV_OK:
		break;
	case VENV_NOT_FOUND:
		fprintf(stderr, "scriptorchd: no venv %lld\n", x->cmd->id);
		return 1;
	default:
		return db_failed(x);
	}
	jw_init(&w, &out);
	venv_write_json(&w, x->c, &v, scripts, n, 1);
	jw_free(&w);
	printf("%s\n", buf_str(&out));
	buf_free(&out);
	free(scripts);
	venv_rec_free(&v);
	return 0;
}

static int
run_venv_rm(const struct cli_ctx *x)
{
	struct buf why = BUF_INIT;
	char actor[CLI_ACTOR_MAX];
	int rc = 1;

	cli_actor(actor, sizeof(actor));
	switch (venv_evict(x->db, x->c, x->cmd->id, actor, &why)) {
	case VENV_OK:
		rc = 0;
		break;
	case VENV_NOT_FOUND:
		fprintf(stderr, "scriptorchd: no venv %lld\n", x->cmd->id);
		break;
	case VENV_BUSY:
		fprintf(stderr, "scriptorchd: venv %lld is in use or being "
		    "built; try again later\n", x->cmd->id);
		break;
	case VENV_FS:
	case VENV_STALE:        /* not from an eviction */
		fprintf(stderr, "scriptorchd venv rm: %s\n", buf_str(&why));
		break;
	case VENV_DB:
		rc = db_failed(x);
		break;
	}
	buf_free(&why);
	return rc;
}

static int
run_venv_prune(const struct cli_ctx *x)
{
	int evicted;

	if (venv_prune(x->db, x->c, &evicted) == -1)
		return db_failed(x);
	printf("%d venv%s evicted\n", evicted, evicted == 1 ? "" : "s");
	return 0;
}

/* ---- secret-key -------------------------------------------------------- */

static int
run_secret_key_create(const struct cli_ctx *x)
{
	const char *path = option(x->cmd, "--path");
	char err[1024];

	if (secret_key_create(path != NULL ? path : x->c->secret_key_file, err,
	    sizeof(err)) == -1) {
		fprintf(stderr, "scriptorchd secret-key create: %s\n", err);
		return 1;
	}
	return 0;
}

/* ---- the table ---------------------------------------------------------- */

static const char *const migrate_opts[] = { "--dir", NULL };
static const char *const token_create_opts[] = { "--name", "--role", NULL };
/* Every writable field of a script (cli_script.c turns each into its
 * member); update also takes --reset. */
#define SCRIPT_FIELD_OPTS \
	"--name", "--type", "--path", "--description", "--enabled", \
	"--args", "--input-mode", "--inputs", "--outputs", "--env", \
	"--secret-env", "--secret-env-file", "--requirements-file", \
	"--timeout", "--max-concurrency", "--memory-mb", "--pids", \
	"--cpu-cores", "--file-size-mb", "--output-cap-kb", "--network", \
	"--node-labels", "--callback-url"
static const char *const script_add_opts[] = { SCRIPT_FIELD_OPTS, NULL };
static const char *const script_update_opts[] = {
	SCRIPT_FIELD_OPTS, "--reset", NULL
};
/* Their help, a line each. */
#define SCRIPT_FIELD_HELP \
	"  --description TEXT\n" \
	"  --enabled BOOL             true (the default) or false\n" \
	"  --args JSON                the argument templates, e.g. " \
	"'[\"--in\", \"{src}\"]'\n" \
	"  --input-mode MODE          env, stdin or both (default both)\n" \
	"  --inputs JSON              the JSON Schema of the input\n" \
	"  --outputs JSON             e.g. '{\"stdout\": \"json\"}'\n" \
	"  --env JSON                 e.g. '{\"LANG\": \"C.UTF-8\"}'\n" \
	"  --secret-env NAME          a secret variable: its value is the " \
	"next line of\n" \
	"                             standard input (on a terminal: " \
	"asked for, not shown)\n" \
	"  --secret-env-file NAME=FILE  a secret variable: its value is " \
	"FILE's text\n" \
	"  --requirements-file FILE   pip requirements (python)\n" \
	"  --timeout SECONDS          1 to the config's max_timeout_s " \
	"(default 300)\n" \
	"  --max-concurrency N        runs at once, across all nodes\n" \
	"  --memory-mb N              RAM + swap of a run's processes (each " \
	"limit not\n" \
	"                             set: the config's [limits] default)\n" \
	"  --pids N                   processes and threads of a run at " \
	"once\n" \
	"  --cpu-cores X              CPU cores of a run, e.g. 1.5\n" \
	"  --file-size-mb N           the size of any one file a run " \
	"writes\n" \
	"  --output-cap-kb N          what is kept of stdout, and of " \
	"stderr\n" \
	"  --network MODE             host (the default) or none\n" \
	"  --node-labels A,B          the labels a node needs to run it\n" \
	"  --callback-url URL         the executions' default callback\n"
/* Below the options. */
#define SCRIPT_SECRET_NOTE \
	"a secret's value never goes on the command line, which ps shows " \
	"to every user\n"
static const char *const script_list_opts[] = {
	"--type", "--enabled", "--q", NULL
};
static const char *const secret_key_opts[] = { "--path", NULL };

/* Each row: words, synopsis, summary, details, options, operand, whether
 * cli_run() connects for it, and what runs (cli_int.h). */
static const struct cli_def commands[] = {
	{ "run", NULL, "run",
	  "run the daemon in the foreground (the default)",
	  "SIGTERM stops it gracefully, SIGHUP re-reads the config\n",
	  NULL, CLI_NO_OPERAND, 0, NULL },
	{ "migrate", NULL, "migrate [--dir DIR]",
	  "apply the SQL migrations not yet applied",
	  "  --dir DIR        the migrations (default " CLI_MIGRATIONS_DIR ")\n",
	  migrate_opts, CLI_NO_OPERAND, 1, run_migrate },
	{ "check-config", NULL, "check-config",
	  "load and check the config file",
	  "exit 0 if it is valid, else 1 with the reason\n",
	  NULL, CLI_NO_OPERAND, 0, run_check_config },
	{ "token", "create", "token create --name NAME --role ROLE",
	  "create an API token and print it, this once",
	  "  --name NAME      1 to 128 characters\n"
	  "  --role ROLE      admin, operator or viewer\n",
	  token_create_opts, CLI_NO_OPERAND, 0, run_token_create },
	{ "token", "list", "token list",
	  "list the tokens (never their secrets)",
	  NULL, NULL, CLI_NO_OPERAND, 1, run_token_list },
	{ "token", "revoke", "token revoke ID",
	  "revoke a token (refused within a second)",
	  NULL, NULL, CLI_ID, 1, run_token_revoke },
	{ "script", "add",
	  "script add --name NAME --type TYPE --path PATH [OPTION VALUE]...",
	  "register a script (the API's checks)",
	  "  --name NAME                ^[a-z][a-z0-9._-]{0,63}$\n"
	  "  --type TYPE                shell, python or binary\n"
	  "  --path PATH                the absolute path of the file, under "
	  "a script root\n"
	  SCRIPT_FIELD_HELP
	  SCRIPT_SECRET_NOTE,
	  script_add_opts, CLI_NO_OPERAND, 0, cli_script_add },
	{ "script", "update",
	  "script update ID|NAME [OPTION VALUE]...",
	  "change a script's fields (the API's PATCH)",
	  "  --name NAME                a new name\n"
	  "  --type TYPE                shell, python or binary\n"
	  "  --path PATH                another file, under a script root\n"
	  SCRIPT_FIELD_HELP
	  "  --reset FIELD              FIELD back to its default, e.g. "
	  "max_concurrency,\n"
	  "                             requirements, limits, limits.pids, "
	  "secret_env,\n"
	  "                             secret_env.NAME (removes that secret)"
	  "\n"
	  "fields not given are kept; a limit or a secret given changes that "
	  "one alone\n"
	  SCRIPT_SECRET_NOTE,
	  script_update_opts, CLI_ID_OR_NAME, 0, cli_script_update },
	{ "script", "list",
	  "script list [--type TYPE] [--enabled true|false] [--q TEXT]",
	  "list the registered scripts",
	  "  --type TYPE      shell, python or binary\n"
	  "  --enabled BOOL   true or false\n"
	  "  --q TEXT         the name or the description contains TEXT\n",
	  script_list_opts, CLI_NO_OPERAND, 0, cli_script_list },
	{ "script", "show", "script show ID|NAME",
	  "print a script as JSON",
	  NULL, NULL, CLI_ID_OR_NAME, 1, cli_script_one },
	{ "script", "versions", "script versions ID|NAME",
	  "list a script's versions, newest first",
	  NULL, NULL, CLI_ID_OR_NAME, 1, cli_script_one },
	{ "script", "disable", "script disable ID|NAME",
	  "refuse new runs of a script",
	  NULL, NULL, CLI_ID_OR_NAME, 1, cli_script_one },
	{ "script", "enable", "script enable ID|NAME",
	  "accept runs of a script again",
	  NULL, NULL, CLI_ID_OR_NAME, 1, cli_script_one },
	{ "script", "rm", "script rm ID|NAME",
	  "delete a script (its executions stay readable)",
	  NULL, NULL, CLI_ID_OR_NAME, 1, cli_script_one },
	{ "venv", "list", "venv list",
	  "list the python venvs",
	  "columns: id, key, python, status, size, last use, scripts\n",
	  NULL, CLI_NO_OPERAND, 1, run_venv_list },
	{ "venv", "show", "venv show ID",
	  "print a venv as JSON, with its build log",
	  NULL, NULL, CLI_ID, 1, run_venv_show },
	{ "venv", "rm", "venv rm ID",
	  "evict a venv no run is using",
	  "a script that needs it again has it built again\n",
	  NULL, CLI_ID, 1, run_venv_rm },
	{ "venv", "prune", "venv prune",
	  "evict venvs past max_cache_bytes, max_age_days",
	  NULL, NULL, CLI_NO_OPERAND, 1, run_venv_prune },
	{ "secret-key", "create", "secret-key create [--path FILE]",
	  "make the node's secret key file (mode 0600)",
	  "  --path FILE      where (default: the config's secret_key_file)\n"
	  "an existing file is never written over\n",
	  secret_key_opts, CLI_NO_OPERAND, 0, run_secret_key_create },
};
#define NCOMMANDS (sizeof(commands) / sizeof(commands[0]))

/* ---- usage ------------------------------------------------------------- */

/* "  synopsis   summary", the summary on a line of its own when the
 * synopsis is long. */
static void
print_entry(FILE *f, const struct cli_def *d)
{
	if (strlen(d->synopsis) <= 28)
		fprintf(f, "  %-28s %s\n", d->synopsis, d->summary);
	else
		fprintf(f, "  %s\n  %-28s %s\n", d->synopsis, "", d->summary);
}

void
cli_usage(FILE *f)
{
	fprintf(f,
	    "usage: scriptorchd [-c FILE] [-d] [COMMAND [ARGUMENTS]]\n"
	    "options:\n"
	    "  -c FILE      the config file (default %s)\n"
	    "  -d           log at debug level\n"
	    "  -h, --help   this text; COMMAND --help tells about one command\n"
	    "commands:\n", CONF_DEFAULT_PATH);
	for (size_t i = 0; i < NCOMMANDS; i++)
		print_entry(f, &commands[i]);
}

/* The usage of a group ("token"): each of its commands. */
static void
group_usage(FILE *f, const char *group)
{
	fprintf(f, "usage: scriptorchd [-c FILE] %s COMMAND [ARGUMENTS]\n"
	    "commands:\n", group);
	for (size_t i = 0; i < NCOMMANDS; i++)
		if (strcmp(commands[i].group, group) == 0)
			print_entry(f, &commands[i]);
	fprintf(f, "\"scriptorchd %s COMMAND --help\" tells about one "
	    "command.\n", group);
}

static void
command_usage(FILE *f, const struct cli_def *d)
{
	fprintf(f, "usage: scriptorchd [-c FILE]%s %s\n%s\n",
	    strcmp(d->group, "run") == 0 ? " [-d]" : "", d->synopsis,
	    d->summary);
	if (d->details != NULL)
		fputs(d->details, f);
}

void
cli_words(const struct cli_cmd *cmd, char *out, size_t n)
{
	snprintf(out, n, "%s%s%s", cmd->group, cmd->name != NULL ? " " : "",
	    cmd->name != NULL ? cmd->name : "");
}

static int
vusage_error(const struct cli_cmd *cmd, FILE *err, const char *fmt,
    va_list ap)
{
	char words[64];

	cli_words(cmd, words, sizeof(words));
	fprintf(err, "scriptorchd %s: ", words);
	vfprintf(err, fmt, ap);
	fputc('\n', err);
	if (cmd->def != NULL)
		command_usage(err, cmd->def);
	else
		group_usage(err, cmd->group);
	return 2;
}

/* A usage error found while parsing: printed on `err`, cmd->exit = 2. */
static int __attribute__((format(printf, 3, 4)))
parse_error(struct cli_cmd *cmd, FILE *err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	cmd->exit = vusage_error(cmd, err, fmt, ap);
	va_end(ap);
	return -1;
}

int
cli_usage_error(const struct cli_cmd *cmd, const char *fmt, ...)
{
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = vusage_error(cmd, stderr, fmt, ap);
	va_end(ap);
	return rc;
}

/* ---- parsing ----------------------------------------------------------- */

static int
is_help(const char *a)
{
	return strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0;
}

static int
takes_option(const struct cli_def *d, const char *a)
{
	for (const char *const *o = d->opts; o != NULL && *o != NULL; o++)
		if (strcmp(*o, a) == 0)
			return 1;
	return 0;
}

/* A positive decimal integer, digits only, that fits; else -1. */
static long long
parse_id(const char *s)
{
	long long v = 0;

	if (*s == '\0' || strlen(s) > 18)
		return -1;
	for (; *s != '\0'; s++) {
		if (!isdigit((unsigned char)*s))
			return -1;
		v = v * 10 + (*s - '0');
	}
	return v > 0 ? v : -1;
}

/*
 * Words, then arguments left to right: --help wherever an option may
 * stand, each known option with the value after it (which may begin with
 * "-"), at most one operand.
 */
int
cli_parse(struct cli_cmd *cmd, int argc, char **argv, FILE *out, FILE *err)
{
	const struct cli_def *d = NULL;
	int first, grouped = 0;

	memset(cmd, 0, sizeof(*cmd));
	cmd->group = argv[0];
	for (size_t i = 0; i < NCOMMANDS; i++) {
		if (strcmp(commands[i].group, argv[0]) != 0)
			continue;
		if (commands[i].name == NULL)
			d = &commands[i];
		else
			grouped = 1;
	}
	if (d == NULL && !grouped) {
		fprintf(err, "scriptorchd: unknown command \"%s\"\n", argv[0]);
		cli_usage(err);
		cmd->exit = 2;
		return -1;
	}
	first = 1;
	if (grouped) {
		if (argc < 2)
			return parse_error(cmd, err, "a command is missing");
		if (is_help(argv[1])) {
			group_usage(out, argv[0]);
			cmd->exit = 0;
			return -1;
		}
		for (size_t i = 0; i < NCOMMANDS; i++)
			if (strcmp(commands[i].group, argv[0]) == 0 &&
			    strcmp(commands[i].name, argv[1]) == 0)
				d = &commands[i];
		if (d == NULL)
			return parse_error(cmd, err, "unknown command \"%s\"",
			    argv[1]);
		cmd->name = argv[1];
		first = 2;
	}
	cmd->def = d;
	cmd->argc = 0;
	cmd->argv = argv + first;
	for (int i = first; i < argc; i++) {
		const char *a = argv[i];

		if (is_help(a)) {
			command_usage(out, d);
			cmd->exit = 0;
			return -1;
		}
		if (a[0] == '-' && a[1] != '\0') {
			if (!takes_option(d, a))
				return parse_error(cmd, err, "unknown option "
				    "\"%s\"", a);
			if (i + 1 >= argc)
				return parse_error(cmd, err, "missing value for "
				    "\"%s\"", a);
			i++;
			cmd->argc += 2;
			continue;
		}
		if (d->operand == CLI_NO_OPERAND || cmd->operand != NULL)
			return parse_error(cmd, err, "unexpected argument \"%s\"",
			    a);
		cmd->operand = a;
		/* Out of the options' way: to the end, the words after it
		 * moved up one (cmd->argv holds options only). */
		memmove(&argv[i], &argv[i + 1],
		    (size_t)(argc - i - 1) * sizeof(*argv));
		argv[--argc] = (char *)a;
		i--;
	}
	if (d->operand != CLI_NO_OPERAND && cmd->operand == NULL)
		return parse_error(cmd, err, "%s is missing",
		    d->operand == CLI_ID ? "ID" : "ID or NAME");
	if (d->operand == CLI_ID && (cmd->id = parse_id(cmd->operand)) == -1)
		return parse_error(cmd, err, "ID must be a positive integer, "
		    "not \"%s\"", cmd->operand);
	return 0;
}

int
cli_run(const struct cli_cmd *cmd, const struct conf *c,
    const char *conf_path)
{
	struct cli_ctx x = { cmd, c, conf_path, NULL };
	int rc;

	if (cmd->def->connect && (x.db = cli_db_open(c)) == NULL)
		return 1;
	rc = cmd->def->run(&x);
	if (x.db != NULL)
		db_close(x.db);
	return rc;
}
