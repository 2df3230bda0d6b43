/*
 * main.c - `scriptorch`, the command-line client of the scriptorch API:
 * the command line, the settings, and the dispatch to one command.
 *
 * Options may come before or after the command and its operands
 * (`scriptorch --json run NAME --wait`); each command accepts the global
 * options and its own. The man page, man/scriptorch.1, says the same as
 * the usage texts below, with the exit statuses.
 */
#include "config.h"

#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client.h"
#include "log.h"

/* Which command accepts an option (a bit each). */
enum {
	O_INPUT = 1 << 0,
	O_WAIT = 1 << 1,
	O_FOLLOW = 1 << 2,
	O_SCRIPT = 1 << 3,
	O_STATUS = 1 << 4,
	O_LIMIT = 1 << 5,
	O_STDERR = 1 << 6,
	O_JSON = 1 << 7,
	O_SLICE = 1 << 8,
	O_NAME = 1 << 9,
	O_DISABLED = 1 << 10,
};

struct command {
	const char *name;    /* one word, or a group's and its own:
	                      * "marketplace install" */
	int (*fn)(struct client *, const struct cmd_args *);
	int operands;        /* exactly this many */
	unsigned opts;       /* O_* it accepts beside the global ones */
	const char *usage;   /* the synopsis and what it does */
};

#define GLOBAL_HELP \
	"Options of every command:\n" \
	"  --url URL        the server (else SCRIPTORCH_URL, else url in the config file)\n" \
	"  --token TOKEN    the API token (else SCRIPTORCH_TOKEN, else token in the\n" \
	"                   config file; an option is visible to other users in ps)\n" \
	"  --cacert FILE    trust the CA certificate(s) in FILE for HTTPS (else\n" \
	"                   SCRIPTORCH_CACERT, else cacert in the config file, else\n" \
	"                   the system's CAs)\n" \
	"  --insecure       do not check the server's certificate (with a warning)\n" \
	"  --config FILE    the config file (else SCRIPTORCH_CONFIG, else\n" \
	"                   ~/.config/scriptorch/client.conf)\n" \
	"  -h, --help       this help\n"

static const struct command commands[] = {
	{ "run", cmd_run, 1, O_INPUT | O_WAIT | O_FOLLOW | O_JSON | O_SLICE,
	  "Usage: scriptorch run NAME [--input JSON] [--wait [--wait-slice S] | --follow]\n"
	  "                      [--json]\n"
	  "\n"
	  "Submits a run of the script NAME (a name or an id).\n"
	  "  -i, --input JSON  the input object; @FILE reads it from FILE, - from\n"
	  "                    standard input (default {})\n"
	  "  -w, --wait        wait for the end and print the final execution; exit\n"
	  "                    with the script's status (see EXIT STATUS in scriptorch(1))\n"
	  "  --wait-slice SECONDS  how long the submission itself waits (1..300,\n"
	  "                    default 55; then the client polls): keep it under the\n"
	  "                    read timeout of any proxy in front of the server\n"
	  "  -f, --follow      print the script's stdout and stderr as it runs, on\n"
	  "                    this program's stdout and stderr; exit as --wait does\n"
	  "  --json            print the API's JSON of the execution\n"
	  "Without --wait or --follow, prints the id of the queued execution.\n" },
	{ "executions", cmd_executions, 0, O_SCRIPT | O_STATUS | O_LIMIT | O_JSON,
	  "Usage: scriptorch executions [--script NAME] [--status STATUS] [--limit N] [--json]\n"
	  "\n"
	  "Lists executions, newest first, as a table.\n"
	  "  --script NAME     only those of this script (a name or an id)\n"
	  "  --status STATUS   only those with this status (queued, running,\n"
	  "                    succeeded, failed, timed_out, canceled, error, lost)\n"
	  "  --limit N         at most N (default 50)\n"
	  "  --json            print the API's JSON\n" },
	{ "show", cmd_show, 1, O_JSON,
	  "Usage: scriptorch show ID [--json]\n"
	  "\n"
	  "Prints execution ID: its fields, then its stdout and stderr.\n"
	  "  --json            print the API's JSON\n" },
	{ "logs", cmd_logs, 1, O_STDERR,
	  "Usage: scriptorch logs ID [--stderr]\n"
	  "\n"
	  "Writes the stdout (or with --stderr the stderr) of execution ID as the\n"
	  "server kept it, byte for byte.\n"
	  "  --stderr          the stderr stream instead of stdout\n" },
	{ "cancel", cmd_cancel, 1, O_JSON,
	  "Usage: scriptorch cancel ID [--json]\n"
	  "\n"
	  "Cancels execution ID (queued or running) and prints how it ended.\n"
	  "  --json            print the API's JSON\n" },
	{ "scripts", cmd_scripts, 0, O_JSON,
	  "Usage: scriptorch scripts [--json]\n"
	  "\n"
	  "Lists the registered scripts as a table.\n"
	  "  --json            print the API's JSON\n" },
	{ "marketplace list", cmd_market_list, 0, O_JSON,
	  "Usage: scriptorch marketplace list [--json]\n"
	  "\n"
	  "Lists the marketplace's ready-made scripts as a table: name, type, the\n"
	  "scripts installed from each, the tools each needs (and those the server's\n"
	  "node lacks), title.\n"
	  "  --json            print the API's JSON\n" },
	{ "marketplace show", cmd_market_show, 1, O_JSON,
	  "Usage: scriptorch marketplace show NAME [--json]\n"
	  "\n"
	  "Prints the marketplace item NAME and its documentation (Markdown): what\n"
	  "it does, every parameter, examples.\n"
	  "  --json            print the API's JSON of the item\n" },
	{ "marketplace install", cmd_market_install, 1,
	  O_NAME | O_DISABLED | O_JSON,
	  "Usage: scriptorch marketplace install NAME [--name SCRIPT] [--disabled] [--json]\n"
	  "\n"
	  "Installs the marketplace item NAME as a script (needs an admin token):\n"
	  "its files are copied into the server's first script root and registered.\n"
	  "  --name SCRIPT     the script's name (default: the item's)\n"
	  "  --disabled        register it disabled\n"
	  "  --json            print the API's JSON of the new script\n" },
};
#define NCOMMANDS (sizeof(commands) / sizeof(commands[0]))

static void
usage_all(FILE *f)
{
	fputs("Usage: scriptorch [OPTIONS] COMMAND [ARGS]\n"
	    "\n"
	    "The command-line client of a scriptorch server's HTTP API.\n"
	    "\n"
	    "Commands:\n"
	    "  run NAME        submit a run; --wait for its end, --follow its output\n"
	    "  executions      list executions\n"
	    "  show ID         print one execution\n"
	    "  logs ID         write an execution's stdout (or --stderr) as is\n"
	    "  cancel ID       cancel an execution\n"
	    "  scripts         list the registered scripts\n"
	    "  marketplace list|show NAME|install NAME\n"
	    "                  the ready-made scripts: list, documentation, install\n"
	    "  help [COMMAND]  this help, or a command's\n"
	    "\n"
	    GLOBAL_HELP
	    "  --version        print the version\n"
	    "\n"
	    "'scriptorch COMMAND --help' describes a command; scriptorch(1) all.\n",
	    f);
}

static void
usage_cmd(const struct command *cmd, FILE *f)
{
	fputs(cmd->usage, f);
	fputs("\n" GLOBAL_HELP, f);
}

/* 1 when `name` is a group of commands ("marketplace"). */
static int
is_group(const char *name)
{
	size_t n = strlen(name);

	for (size_t i = 0; i < NCOMMANDS; i++)
		if (strncmp(commands[i].name, name, n) == 0 &&
		    commands[i].name[n] == ' ')
			return 1;
	return 0;
}

/* The command named by word[0], or by word[0] and word[1] for a group's
 * (`nword` words there); *used gets how many it took. */
static const struct command *
find_command(char **word, int nword, int *used)
{
	size_t n = strlen(word[0]);

	for (size_t i = 0; i < NCOMMANDS; i++) {
		const char *name = commands[i].name;
		if (strcmp(name, word[0]) == 0) {
			*used = 1;
			return &commands[i];
		}
		if (nword > 1 && strncmp(name, word[0], n) == 0 &&
		    name[n] == ' ' && strcmp(name + n + 1, word[1]) == 0) {
			*used = 2;
			return &commands[i];
		}
	}
	return NULL;
}

/* The usage of every command of a group. */
static void
usage_group(const char *group, FILE *f)
{
	size_t n = strlen(group);

	for (size_t i = 0; i < NCOMMANDS; i++)
		if (strncmp(commands[i].name, group, n) == 0 &&
		    commands[i].name[n] == ' ') {
			const char *u = commands[i].usage;
			fprintf(f, "%.*s", (int)strcspn(u, "\n") + 1, u);
		}
	fprintf(f, "\n'scriptorch %s COMMAND --help' describes one.\n", group);
}

/* The option's name for messages, and whether cmd accepts it. */
static const struct {
	unsigned bit;
	const char *name;
} option_names[] = {
	{ O_INPUT, "--input" }, { O_WAIT, "--wait" }, { O_FOLLOW, "--follow" },
	{ O_SCRIPT, "--script" }, { O_STATUS, "--status" },
	{ O_LIMIT, "--limit" }, { O_STDERR, "--stderr" }, { O_JSON, "--json" },
	{ O_SLICE, "--wait-slice" }, { O_NAME, "--name" },
	{ O_DISABLED, "--disabled" },
};

static int __attribute__((format(printf, 2, 3)))
usage_error(const struct command *cmd, const char *fmt, ...)
{
	va_list ap;

	fflush(stdout);
	fputs("scriptorch: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	if (cmd != NULL)
		fprintf(stderr, "Try 'scriptorch %s --help'.\n", cmd->name);
	else
		fputs("Try 'scriptorch --help'.\n", stderr);
	return EXIT_USAGE;
}

enum {
	OPT_URL = 256, OPT_TOKEN, OPT_CACERT, OPT_INSECURE, OPT_CONFIG,
	OPT_JSON, OPT_SCRIPT, OPT_STATUS, OPT_LIMIT, OPT_STDERR, OPT_VERSION,
	OPT_SLICE, OPT_NAME, OPT_DISABLED,
};

static const struct option long_opts[] = {
	{ "url", required_argument, NULL, OPT_URL },
	{ "token", required_argument, NULL, OPT_TOKEN },
	{ "cacert", required_argument, NULL, OPT_CACERT },
	{ "insecure", no_argument, NULL, OPT_INSECURE },
	{ "config", required_argument, NULL, OPT_CONFIG },
	{ "json", no_argument, NULL, OPT_JSON },
	{ "help", no_argument, NULL, 'h' },
	{ "version", no_argument, NULL, OPT_VERSION },
	{ "input", required_argument, NULL, 'i' },
	{ "wait", no_argument, NULL, 'w' },
	{ "follow", no_argument, NULL, 'f' },
	{ "script", required_argument, NULL, OPT_SCRIPT },
	{ "status", required_argument, NULL, OPT_STATUS },
	{ "limit", required_argument, NULL, OPT_LIMIT },
	{ "stderr", no_argument, NULL, OPT_STDERR },
	{ "wait-slice", required_argument, NULL, OPT_SLICE },
	{ "name", required_argument, NULL, OPT_NAME },
	{ "disabled", no_argument, NULL, OPT_DISABLED },
	{ NULL, 0, NULL, 0 },
};

/* Where the command line put things: settings, the command, its args. */
struct cmdline {
	struct settings_opts so;
	struct cmd_args a;
	const struct command *cmd;
	char **pos;          /* operands in order, the command's name first */
	int npos;
	int json, help, version;
	unsigned given;      /* O_* options given */
};

/* Reads argv into cl. Returns -1 when the command line is good, else the
 * exit status (0 after printing help or the version). */
static int
parse(struct cmdline *cl, int argc, char **argv)
{
	int opt, first = 0, used = 0;
	char *end;

	if ((cl->pos = calloc((size_t)argc + 1, sizeof(*cl->pos))) == NULL)
		fatal("calloc");
	/* "-" first: operands come back as option 1, in order, so options
	 * may follow the command and its operands. */
	opterr = 0;
	while ((opt = getopt_long(argc, argv, "-:hi:wf", long_opts, NULL)) !=
	    -1) {
		switch (opt) {
		case 1: cl->pos[cl->npos++] = optarg; break;
		case OPT_URL: cl->so.url = optarg; break;
		case OPT_TOKEN: cl->so.token = optarg; break;
		case OPT_CACERT: cl->so.cacert = optarg; break;
		case OPT_INSECURE: cl->so.insecure = 1; break;
		case OPT_CONFIG: cl->so.config = optarg; break;
		case OPT_VERSION: cl->version = 1; break;
		case 'h': cl->help = 1; break;
		case OPT_JSON: cl->given |= O_JSON; cl->json = 1; break;
		case 'i': cl->given |= O_INPUT; cl->a.input = optarg; break;
		case 'w': cl->given |= O_WAIT; cl->a.wait = 1; break;
		case 'f': cl->given |= O_FOLLOW; cl->a.follow = 1; break;
		case OPT_SCRIPT: cl->given |= O_SCRIPT; cl->a.script = optarg; break;
		case OPT_STATUS: cl->given |= O_STATUS; cl->a.status = optarg; break;
		case OPT_STDERR: cl->given |= O_STDERR; cl->a.stderr_stream = 1;
			break;
		case OPT_NAME: cl->given |= O_NAME; cl->a.name = optarg; break;
		case OPT_DISABLED: cl->given |= O_DISABLED; cl->a.disabled = 1;
			break;
		case OPT_LIMIT:
			cl->given |= O_LIMIT;
			cl->a.limit = strtol(optarg, &end, 10);
			if (*optarg == '\0' || *end != '\0' || cl->a.limit < 1 ||
			    cl->a.limit > 100000)
				return usage_error(NULL, "--limit %s: give a whole "
				    "number from 1 to 100000", optarg);
			break;
		case OPT_SLICE:
			cl->given |= O_SLICE;
			cl->a.wait_slice = strtol(optarg, &end, 10);
			if (*optarg == '\0' || *end != '\0' ||
			    cl->a.wait_slice < 1 || cl->a.wait_slice > 300)
				return usage_error(NULL, "--wait-slice %s: give a "
				    "whole number of seconds from 1 to 300", optarg);
			break;
		case ':':
			return usage_error(NULL, "%s needs a value",
			    argv[optind - 1]);
		default:
			return usage_error(NULL, "unknown option %s",
			    argv[optind - 1]);
		}
	}
	if (cl->version) {
		printf("scriptorch %s\n", PACKAGE_VERSION);
		return EXIT_OK;
	}
	if (cl->npos > 0 && strcmp(cl->pos[0], "help") == 0) {
		cl->help = 1;
		first = 1;
	}
	if (cl->npos > first && (cl->cmd = find_command(cl->pos + first,
	    cl->npos - first, &used)) == NULL) {
		if (!is_group(cl->pos[first]))
			return usage_error(NULL, "unknown command \"%s\"",
			    cl->pos[first]);
		/* A group without one of its commands: its usage. */
		if (cl->help) {
			usage_group(cl->pos[first], stdout);
			return EXIT_OK;
		}
		if (cl->npos > first + 1)
			fprintf(stderr, "scriptorch: unknown command \"%s %s\"\n",
			    cl->pos[first], cl->pos[first + 1]);
		usage_group(cl->pos[first], stderr);
		return EXIT_USAGE;
	}
	if (cl->help) {
		if (cl->cmd != NULL)
			usage_cmd(cl->cmd, stdout);
		else
			usage_all(stdout);
		return EXIT_OK;
	}
	if (cl->cmd == NULL) {
		usage_all(stderr);
		return EXIT_USAGE;
	}
	for (size_t i = 0; i < sizeof(option_names) / sizeof(option_names[0]);
	    i++)
		if ((cl->given & option_names[i].bit) &&
		    !(cl->cmd->opts & option_names[i].bit))
			return usage_error(cl->cmd, "%s is not an option of this "
			    "command", option_names[i].name);
	if ((cl->given & O_FOLLOW) && (cl->given & O_JSON))
		return usage_error(cl->cmd, "--follow prints the script's own "
		    "output; --json does not go with it (use --wait --json)");
	if (cl->npos - used > cl->cmd->operands)
		return usage_error(cl->cmd, "unexpected operand \"%s\"",
		    cl->pos[used + cl->cmd->operands]);
	if (cl->npos - used < cl->cmd->operands)
		return usage_error(cl->cmd, "%s needs an operand",
		    cl->cmd->name);
	cl->a.operands = cl->pos + used;
	cl->a.noperands = cl->npos - used;
	return -1;
}

int
main(int argc, char **argv)
{
	struct cmdline cl;
	struct client c;
	struct buf err = BUF_INIT;
	int rc;

	log_init(LOG_LVL_WARN, "scriptorch");
	memset(&cl, 0, sizeof(cl));
	memset(&c, 0, sizeof(c));
	if ((rc = parse(&cl, argc, argv)) != -1)
		goto out;
	c.json = cl.json;
	if (settings_load(&c.set, &cl.so, &err) == -1) {
		say("%s", buf_str(&err));
		rc = EXIT_CONFIG;
		goto out;
	}
	if (client_init(&c) == -1) {
		rc = EXIT_CONNECT;
		goto out;
	}
	rc = cl.cmd->fn(&c, &cl.a);
	if (fflush(stdout) == EOF || ferror(stdout)) {
		say("cannot write the output");
		if (rc == EXIT_OK)
			rc = EXIT_API;
	}
out:
	client_free(&c);
	buf_free(&err);
	free(cl.pos);
	return rc;
}
