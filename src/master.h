/*
 * master.h - the pre-fork supervisor.
 */
#ifndef SCRIPTORCH_MASTER_H
#define SCRIPTORCH_MASTER_H

struct conf;

/*
 * Opens the FastCGI socket, maps the shared region, forks the API workers
 * and runners and keeps them alive: a dead child is replaced (throttled if
 * it keeps dying at start). SIGTERM/SIGINT: children are asked to stop,
 * killed after shutdown_timeout_s, then 0 is returned. SIGHUP: the config
 * at `conf_path` is read again; when valid, new children start with it and
 * the old ones are retired gracefully. `c` is owned by the caller and may
 * be replaced by the master on reload (the master frees the old one).
 */
int master_run(const char *conf_path, struct conf *c);

#endif
