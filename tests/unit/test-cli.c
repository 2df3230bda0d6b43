/* Unit tests of the admin CLI's front (cli.h): which command a command
 * line names, its options and operand, --help for every command and
 * group (usage on stdout, exit 0), usage errors (the reason and the usage
 * on stderr, exit 2), and the audit actor. No database: cli_parse() reads
 * nothing but argv. */
#include "config.h"

#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "cli_int.h"
#include "tap.h"

/* One parse of a command line split at spaces. */
struct res {
	char *words[32];
	int rc;
	struct cli_cmd cmd;
	char *out, *err;
	size_t outlen, errlen;
};

static void
parse(struct res *r, const char *line)
{
	char *copy = strdup(line), *save = NULL;
	FILE *out, *err;
	int n = 0;

	memset(r, 0, sizeof(*r));
	for (char *w = strtok_r(copy, " ", &save); w != NULL && n < 31;
	    w = strtok_r(NULL, " ", &save))
		r->words[n++] = strdup(w);
	free(copy);
	out = open_memstream(&r->out, &r->outlen);
	err = open_memstream(&r->err, &r->errlen);
	if (out == NULL || err == NULL) {
		printf("Bail out! open_memstream\n");
		exit(2);
	}
	r->rc = cli_parse(&r->cmd, n, r->words, out, err);
	fclose(out);
	fclose(err);
}

static void
res_free(struct res *r)
{
	for (int i = 0; r->words[i] != NULL; i++)
		free(r->words[i]);
	free(r->out);
	free(r->err);
}

/* `line` is accepted as group/name, with nargs option words. */
static void
accepted(const char *line, const char *group, const char *name, int nargs)
{
	struct res r;

	parse(&r, line);
	ok(r.rc == 0 && strcmp(r.cmd.group, group) == 0 &&
	    (name == NULL ? r.cmd.name == NULL :
	    r.cmd.name != NULL && strcmp(r.cmd.name, name) == 0) &&
	    r.cmd.argc == nargs && r.outlen == 0 && r.errlen == 0,
	    "\"%s\" is accepted", line);
	res_free(&r);
}

/* --help: exit 0, `want` on stdout, nothing on stderr. */
static void
helps(const char *line, const char *want)
{
	struct res r;

	parse(&r, line);
	ok(r.rc == -1 && r.cmd.exit == 0 && strstr(r.out, want) != NULL &&
	    r.errlen == 0, "\"%s\" prints \"%s\" on stdout, exits 0", line,
	    want);
	res_free(&r);
}

/* A usage error: exit 2, `reason` and `want` on stderr, nothing on
 * stdout. */
static void
refused(const char *line, const char *reason, const char *want)
{
	struct res r;

	parse(&r, line);
	if (!ok(r.rc == -1 && r.cmd.exit == 2 && r.outlen == 0 &&
	    strstr(r.err, reason) != NULL && strstr(r.err, want) != NULL,
	    "\"%s\" is refused (%s), exit 2", line, reason))
		printf("# stderr: %s\n", r.err);
	res_free(&r);
}

int
main(void)
{
	static const char *const every[] = {
		"run", "migrate", "check-config", "token create",
		"token list", "token revoke", "script add", "script update",
		"script list",
		"script show", "script versions", "script disable",
		"script enable", "script rm", "venv list", "venv show",
		"venv rm", "venv prune", "secret-key create",
	};
	char line[128], want[128], actor[160];
	struct passwd *pw;
	struct res r;
	char *all;
	size_t alllen;
	FILE *f;

	plan_lazy();

	/* Every command answers --help and -h with its own usage. */
	for (size_t i = 0; i < sizeof(every) / sizeof(every[0]); i++) {
		snprintf(want, sizeof(want), "usage: scriptorchd [-c FILE]%s %s",
		    strcmp(every[i], "run") == 0 ? " [-d]" : "", every[i]);
		snprintf(line, sizeof(line), "%s --help", every[i]);
		helps(line, want);
		snprintf(line, sizeof(line), "%s -h", every[i]);
		helps(line, want);
	}
	/* The whole usage names every command. */
	if ((f = open_memstream(&all, &alllen)) == NULL) {
		printf("Bail out! open_memstream\n");
		return 2;
	}
	cli_usage(f);
	fclose(f);
	for (size_t i = 0; i < sizeof(every) / sizeof(every[0]); i++) {
		snprintf(want, sizeof(want), "  %s", every[i]);
		ok(strstr(all, want) != NULL, "the usage lists \"%s\"",
		    every[i]);
	}
	free(all);

	/* A group's help lists its commands and no other. */
	parse(&r, "token --help");
	ok(r.rc == -1 && r.cmd.exit == 0 && strstr(r.out, "token create") &&
	    strstr(r.out, "token list") && strstr(r.out, "token revoke ID") &&
	    !strstr(r.out, "script add") && r.errlen == 0,
	    "token --help lists the token commands only");
	res_free(&r);
	helps("script -h", "script add --name NAME");
	helps("venv --help", "venv prune");
	helps("secret-key --help", "secret-key create [--path FILE]");
	/* A command's help tells its options. */
	helps("script add --help", "--requirements-file FILE");
	helps("token create --help", "admin, operator or viewer");
	helps("secret-key create --help", "--path FILE");
	/* --help wins over what follows it, not over what precedes it. */
	helps("token create --help --bogus", "token create --name");
	refused("token create --bogus --help", "unknown option \"--bogus\"",
	    "usage: scriptorchd [-c FILE] token create");
	/* ...and a value that reads "--help" is a value. */
	accepted("token create --name --help --role viewer", "token", "create",
	    4);

	/* Accepted commands, with their options and operand. */
	accepted("run", "run", NULL, 0);
	accepted("check-config", "check-config", NULL, 0);
	accepted("migrate", "migrate", NULL, 0);
	accepted("migrate --dir /tmp/sql", "migrate", NULL, 2);
	accepted("token create --name n --role admin", "token", "create", 4);
	accepted("token list", "token", "list", 0);
	accepted("script add --name a --type shell --path /x --timeout 3",
	    "script", "add", 8);
	accepted("script list --enabled true --q x", "script", "list", 4);
	accepted("script versions my-script", "script", "versions", 0);
	accepted("venv prune", "venv", "prune", 0);
	accepted("secret-key create", "secret-key", "create", 0);
	accepted("secret-key create --path /tmp/k", "secret-key", "create",
	    2);
	/* Option values are taken as given, a leading "-" included. */
	parse(&r, "script add --description -x --args [\"-v\"]");
	ok(r.rc == 0 && r.cmd.argc == 4 &&
	    strcmp(r.cmd.argv[0], "--description") == 0 &&
	    strcmp(r.cmd.argv[1], "-x") == 0 &&
	    strcmp(r.cmd.argv[3], "[\"-v\"]") == 0,
	    "values that begin with \"-\" stay values, in order");
	res_free(&r);
	parse(&r, "token revoke 42");
	ok(r.rc == 0 && r.cmd.id == 42 && strcmp(r.cmd.operand, "42") == 0,
	    "token revoke 42: id 42");
	res_free(&r);
	parse(&r, "venv show 7");
	ok(r.rc == 0 && r.cmd.id == 7, "venv show 7: id 7");
	res_free(&r);
	/* update: an operand and options, the operand wherever it stands;
	 * cmd->argv keeps the options alone, in order. */
	parse(&r, "script update my-script --timeout 5 --reset limits.pids");
	ok(r.rc == 0 && strcmp(r.cmd.operand, "my-script") == 0 &&
	    r.cmd.argc == 4 && strcmp(r.cmd.argv[0], "--timeout") == 0 &&
	    strcmp(r.cmd.argv[3], "limits.pids") == 0,
	    "script update NAME --opt v --opt v: the operand, then options");
	res_free(&r);
	parse(&r, "script update --timeout 5 7 --network none");
	ok(r.rc == 0 && strcmp(r.cmd.operand, "7") == 0 && r.cmd.argc == 4 &&
	    strcmp(r.cmd.argv[0], "--timeout") == 0 &&
	    strcmp(r.cmd.argv[1], "5") == 0 &&
	    strcmp(r.cmd.argv[2], "--network") == 0 &&
	    strcmp(r.cmd.argv[3], "none") == 0,
	    "script update --opt v ID --opt v: the operand between options");
	res_free(&r);
	parse(&r, "script update --timeout 5 x");
	ok(r.rc == 0 && strcmp(r.cmd.operand, "x") == 0 && r.cmd.argc == 2,
	    "script update --opt v NAME: the operand last");
	res_free(&r);
	refused("script update --timeout 5", "ID or NAME is missing",
	    "script update ID|NAME");
	refused("script update a --timeout 5 b", "unexpected argument \"b\"",
	    "script update ID|NAME");
	refused("script add --name x --reset timeout_s",
	    "unknown option \"--reset\"", "script add");
	helps("script update --help", "--reset FIELD");
	helps("script add --help", "--secret-env-file NAME=FILE");
	parse(&r, "script show 12");
	ok(r.rc == 0 && strcmp(r.cmd.operand, "12") == 0,
	    "script show 12: the operand as given");
	res_free(&r);

	/* Usage errors. */
	refused("frobnicate", "unknown command \"frobnicate\"",
	    "usage: scriptorchd [-c FILE] [-d]");
	refused("token", "a command is missing",
	    "usage: scriptorchd [-c FILE] token COMMAND");
	refused("script frobnicate", "unknown command \"frobnicate\"",
	    "script add");
	refused("token create --name", "missing value for \"--name\"",
	    "token create --name NAME");
	refused("script add --name x --bogus 1", "unknown option \"--bogus\"",
	    "--max-concurrency");
	refused("script add stray", "unexpected argument \"stray\"",
	    "script add");
	refused("migrate --dirr x", "unknown option \"--dirr\"",
	    "migrate [--dir DIR]");
	refused("run --port 1", "unknown option \"--port\"", "usage:");
	refused("run now", "unexpected argument \"now\"", "usage:");
	refused("check-config extra", "unexpected argument", "check-config");
	refused("token list -x", "unknown option \"-x\"", "token list");
	refused("token revoke", "ID is missing", "token revoke ID");
	refused("token revoke 1 2", "unexpected argument \"2\"",
	    "token revoke ID");
	refused("token revoke 12abc", "positive integer", "token revoke ID");
	refused("token revoke 0", "positive integer", "token revoke ID");
	refused("token revoke -3", "unknown option \"-3\"", "token revoke");
	refused("venv show x", "positive integer", "venv show ID");
	refused("venv rm 99999999999999999999", "positive integer",
	    "venv rm ID");
	refused("script show", "ID or NAME is missing", "script show");
	refused("script rm a b", "unexpected argument \"b\"", "script rm");
	refused("secret-key create --path", "missing value for \"--path\"",
	    "secret-key create");
	refused("secret-key make", "unknown command \"make\"",
	    "secret-key create");

	/* One actor for every command: the user who ran it. */
	cli_actor(actor, sizeof(actor));
	pw = getpwuid(getuid());
	snprintf(want, sizeof(want), "cli:%s", pw != NULL ? pw->pw_name : "");
	if (pw == NULL)
		snprintf(want, sizeof(want), "cli:uid%u", (unsigned)getuid());
	is_str(actor, want, "the audit actor is cli:<login>");
	return done_testing();
}
