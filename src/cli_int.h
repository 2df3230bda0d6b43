/*
 * cli_int.h - what the files of the admin CLI share (cli.c, the front
 * and the small commands; cli_script.c, the registry's commands). Not
 * for other modules: they use cli.h.
 */
#ifndef SCRIPTORCH_CLI_INT_H
#define SCRIPTORCH_CLI_INT_H

#include <stddef.h>

#include "cli.h"

struct db;

enum cli_operand {
	CLI_NO_OPERAND,
	CLI_ID,         /* a positive integer */
	CLI_ID_OR_NAME  /* a script: digits are an id, anything else a name */
};

/* What a command runs with, all borrowed for the call. */
struct cli_ctx {
	const struct cli_cmd *cmd;
	const struct conf *c;
	const char *conf_path;
	struct db *db;              /* connected when the row says `connect` */
};

/* One command of the table in cli.c. */
struct cli_def {
	const char *group;          /* first word */
	const char *name;           /* second word; NULL for a lone command */
	const char *synopsis;       /* what follows "scriptorchd [-c FILE] " */
	const char *summary;        /* one line, lower-case */
	const char *details;        /* the options, a line each; or NULL */
	/* cmd->argv holds only the options and their values, in pairs:
	 * the operand, wherever it stands, is taken out (cli_parse). */
	const char *const *opts;    /* --options, each taking a value */
	enum cli_operand operand;   /* one operand required, of that kind */
	/*
	 * 1: cli_run() connects to the database before `run` and closes the
	 * connection after it. 0: `run` needs none, or checks its options
	 * first and connects itself (cli_db_open), so that a usage error
	 * never waits on the database.
	 */
	int connect;
	int (*run)(const struct cli_ctx *x); /* NULL for "run": main.c's */
};

/* A connection to the database, or NULL after saying why on stderr.
 * The caller closes it (db_close). */
struct db *cli_db_open(const struct conf *c);
/* The audit log's actor: "cli:<login>" of the user running the command
 * ("cli:uid<N>" when the user has no name), cut to n - 1 bytes. */
#define CLI_ACTOR_MAX 160
void cli_actor(char *out, size_t n);
/* The command's words, "token create" or "migrate", cut to n - 1 bytes. */
void cli_words(const struct cli_cmd *cmd, char *out, size_t n);
/* Prints "scriptorchd <command>: <reason>" and the command's usage on
 * stderr; returns 2, the exit status of a usage error. */
int cli_usage_error(const struct cli_cmd *cmd, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* The registry's commands (cli_script.c): add, update and list connect
 * themselves (after reading their options and any secrets), the others
 * are given a connection. */
int cli_script_add(const struct cli_ctx *x);
int cli_script_update(const struct cli_ctx *x);
int cli_script_list(const struct cli_ctx *x);
/* show, versions, disable, enable, rm: x->cmd->name says which. */
int cli_script_one(const struct cli_ctx *x);

#endif
