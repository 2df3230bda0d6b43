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

/* One command of the table in cli.c. */
struct cli_def {
	const char *group;          /* first word */
	const char *name;           /* second word; NULL for a lone command */
	const char *synopsis;       /* what follows "scriptorchd [-c FILE] " */
	const char *summary;        /* one line, lower-case */
	const char *details;        /* the options, a line each; or NULL */
	const char *const *opts;    /* --options, each taking a value */
	enum cli_operand operand;   /* one operand required, of that kind */
	int (*run)(const struct cli_cmd *cmd, const struct conf *c,
	    const char *conf_path); /* NULL for "run": main.c starts it */
};

/* A connection to the database, or NULL after saying why on stderr.
 * The caller closes it (db_close). */
struct db *cli_db_open(const struct conf *c);
/* The audit log's actor: "cli:<login>" of the user running the command
 * ("cli:uid<N>" when the user has no name). */
void cli_actor(char *out, size_t n);
/* Prints "scriptorchd <command>: <reason>" and the command's usage on
 * stderr; returns 2, the exit status of a usage error. */
int cli_usage_error(const struct cli_cmd *cmd, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* The registry's commands (cli_script.c). */
int cli_script_add(const struct cli_cmd *cmd, const struct conf *c,
    const char *conf_path);
int cli_script_list(const struct cli_cmd *cmd, const struct conf *c,
    const char *conf_path);
/* show, versions, disable, enable, rm: cmd->name says which. */
int cli_script_one(const struct cli_cmd *cmd, const struct conf *c,
    const char *conf_path);

#endif
