/*
 * cli.h - the admin commands of scriptorchd, and the command line's text.
 *
 *   scriptorchd [-c FILE] [-d] [run]
 *   scriptorchd [-c FILE] migrate [--dir DIR]
 *   scriptorchd [-c FILE] check-config
 *   scriptorchd [-c FILE] token create|list|revoke ...
 *   scriptorchd [-c FILE] script add|update|list|show|versions|disable|enable|rm ...
 *   scriptorchd [-c FILE] venv list|show|rm|prune ...
 *   scriptorchd [-c FILE] secret-key create [--path FILE]
 *
 * Every command and group takes --help (or -h): its usage on stdout, exit
 * 0. An unknown command or option, a missing value or operand: the reason
 * and the usage on stderr, exit 2.
 *
 * A command goes in two steps, so that main.c keeps the config: cli_parse()
 * reads the words and options before any config is loaded (--help works
 * without a config file, and a usage error never reaches the database);
 * main.c then loads the config and calls cli_run() (or, for "run", starts
 * the master). The commands talk to the database directly through the
 * same services as the API (auth.h, registry.h, venv.h), with one
 * connection opened per command. The audit log names the actor
 * "cli:<login>", the user who ran the command.
 */
#ifndef SCRIPTORCH_CLI_H
#define SCRIPTORCH_CLI_H

#include <stdio.h>

struct conf;
struct cli_def;

/* A parsed command. Every pointer is borrowed: from main's argv or from
 * the command table, which is static. */
struct cli_cmd {
	const struct cli_def *def;  /* the command found */
	const char *group;          /* "token", or a lone command ("migrate") */
	const char *name;           /* "create"; NULL for a lone command */
	int argc;                   /* its options and their values, in the */
	char **argv;                /* order given, each --option with its value */
	const char *operand;        /* ID or NAME, for those that take one */
	long long id;               /* the operand as a number, where an ID */
	int exit;                   /* see cli_parse() */
};

/*
 * Reads the command in argv (argv[0] is its first word, "run" included;
 * argc >= 1) into *cmd. 0: cmd is ready for cli_run() (or, for "run", for
 * the daemon). -1: there is nothing to run; it has printed what there was
 * to say and cmd->exit is the exit status: 0 after --help (the usage of
 * that command or group on `out`), 2 after a usage error (the reason and
 * the usage on `err`). Reads nothing but argv; moves the operand, where
 * options follow it, behind them (as getopt moves operands), so that
 * cmd->argv holds the options alone.
 */
int cli_parse(struct cli_cmd *cmd, int argc, char **argv, FILE *out,
    FILE *err);

/*
 * Runs a command cli_parse() accepted (not "run"), with the config `c`
 * (borrowed) loaded from `conf_path`. Returns the exit status: 0 done,
 * 1 failed (the reason on stderr), 2 usage error (the reason and the
 * command's usage on stderr).
 */
int cli_run(const struct cli_cmd *cmd, const struct conf *c,
    const char *conf_path);

/* The whole usage: the global options and every command. */
void cli_usage(FILE *f);

#endif
