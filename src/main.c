/*
 * main.c - scriptorchd: options, the config, logging, then the daemon
 * (the master) or one admin command (cli.h, where every command and its
 * usage are).
 *
 *   scriptorchd [-c FILE] [-d] [run]       run the daemon (foreground)
 *   scriptorchd [-c FILE] COMMAND ...      an admin command; see --help
 */
#include "config.h"

#include <getopt.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "conf.h"
#include "log.h"
#include "master.h"

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	const char *conf_path = CONF_DEFAULT_PATH;
	struct cli_cmd cmd;
	struct conf *c;
	char err[1024];
	int ch, debug = 0, rc;
	enum log_level lvl;

	log_init(LOG_LVL_INFO, "master");
	while ((ch = getopt_long(argc, argv, "+c:dh", longopts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			conf_path = optarg;
			break;
		case 'd':
			debug = 1;
			break;
		case 'h':
			cli_usage(stdout);
			return 0;
		default:
			cli_usage(stderr);
			return 2;
		}
	}
	argc -= optind;
	argv += optind;
	/* A command's arguments and --help need no config. */
	if (argc > 0 && cli_parse(&cmd, argc, argv, stdout, stderr) == -1)
		return cmd.exit;
	if (sodium_init() < 0)
		fatalx("libsodium failed to initialise");

	if ((c = calloc(1, sizeof(*c))) == NULL)
		fatal("calloc");
	conf_defaults(c);
	if (conf_load(c, conf_path, err, sizeof(err)) == -1) {
		fprintf(stderr, "scriptorchd: %s\n", err);
		return 1;
	}
	/* The file holds the database password: every command refuses one
	 * that the users scripts and builds run as could read. */
	if (conf_check_mode(c, conf_path, err, sizeof(err)) == -1) {
		fprintf(stderr, "scriptorchd: %s\n", err);
		return 1;
	}
	if (debug) {
		free(c->log_level);
		c->log_level = strdup("debug");
	}
	if (log_level_parse(c->log_level, &lvl) == 0)
		log_set_level(lvl);

	if (argc == 0 || strcmp(argv[0], "run") == 0)
		rc = master_run(conf_path, c);
	else
		rc = cli_run(&cmd, c, conf_path);
	conf_free(c);
	free(c);
	return rc;
}
