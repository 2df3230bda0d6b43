/*
 * cli.h - the admin CLI's registry commands, `scriptorchd script ...`.
 *
 * They talk to the database directly and go through the same registry
 * service as the API (registry.h), so a script the CLI accepts is one the
 * API would accept, with the same messages. The audit log names the actor
 * "cli:<login>" (the invoking user).
 */
#ifndef SCRIPTORCH_CLI_H
#define SCRIPTORCH_CLI_H

struct conf;

/*
 *   script add --name N --type T --path P [--description D] [--args JSON]
 *              [--inputs JSON] [--outputs JSON] [--env JSON]
 *              [--requirements-file F] [--timeout S] [--max-concurrency N]
 *              [--input-mode M]
 *   script list [--type T] [--enabled true|false] [--q TEXT]
 *   script show ID|NAME
 *   script versions ID|NAME
 *   script disable ID|NAME
 *   script enable ID|NAME
 *   script rm ID|NAME
 * argv[0] is "script". Returns the process exit status: 0 done, 1 failed
 * (the reason on stderr), 2 usage error.
 */
int cli_script(const struct conf *c, int argc, char **argv);

#endif
