/*
 * conf.h - the daemon's configuration (INI, parsed by libinih).
 *
 * The master loads it at start and on SIGHUP; workers get the copy that
 * was current when they were forked. It is the only mutable global state
 * of the daemon, and it is owned by the master: conf_free() releases every
 * string in it. Every key is documented in examples/scriptorch.conf.
 */
#ifndef SCRIPTORCH_CONF_H
#define SCRIPTORCH_CONF_H

#include <stddef.h>

#define CONF_DEFAULT_PATH SYSCONFDIR "/scriptorch/scriptorch.conf"
#define CONF_MAX_ROOTS 16
#define CONF_MAX_HIDE 16
/* At most this many paths from conf_private_paths(). */
#define CONF_MAX_PRIVATE (CONF_MAX_HIDE + 8)

struct conf {
	/* [daemon] */
	char *listen;             /* unix socket path or host:port */
	int api_workers;
	int runner_workers;
	char *log_level;
	char *node_name;          /* defaults to the host name */
	long long max_body_bytes;
	int shutdown_timeout_s;
	char *socket_mode;        /* octal, for a unix socket */

	/* [database] */
	char *db_host;
	int db_port;
	char *db_socket;
	char *db_user;
	char *db_password;
	char *db_name;
	int db_connect_timeout_s;

	/* [runner] */
	char *run_user;
	char *script_roots[CONF_MAX_ROOTS];
	int n_script_roots;
	char *work_dir;
	int keep_workdirs;
	int default_timeout_s;
	int max_timeout_s;
	double kill_grace_s;
	long long output_cap_bytes;
	long long output_file_cap_bytes;
	int queue_max_depth;
	int poll_interval_ms;
	int heartbeat_interval_s;
	int heartbeat_timeout_s;
	int retention_days;
	long long rlimit_cpu_s;
	long long rlimit_as_mb;
	long long rlimit_nofile;
	long long rlimit_nproc;
	long long rlimit_fsize_mb;
	char *cgroup_root;        /* "" = detect */
	int memory_cgroup_v1;     /* per-run v1 memory group beside v2 */
	long long run_uid_base;   /* the run uid pool: base .. base+count-1 */
	int run_uid_count;
	int isolation;            /* namespaces per run (exec.h) */
	char *hide_paths[CONF_MAX_HIDE];  /* more paths runs must not reach */
	int n_hide_paths;

	/* Not a key: the file conf_load() read, or NULL. */
	char *path;

	/* [python] */
	char *python;
	char *venv_dir;
	char *venv_cache_dir;
	char *venv_builder;
	char *pip_index_url;
	char *pip_find_links;
	int pip_no_index;
	int venv_build_timeout_s;
	int venv_retry_backoff_s;
	long long venv_max_bytes;
	int venv_max_age_days;
};

/* Fills `c` with the defaults (every string allocated). */
void conf_defaults(struct conf *c);
/*
 * Loads `path` over the defaults, validates it (conf_validate) and fits
 * the grace (conf_fit_grace, a warning logged when it lowers it). Returns
 * 0, or -1 with a message such as
 * "scriptorch.conf:12: unknown key \"listn\" in [daemon]" in err.
 * On -1 `c` is still valid (defaults plus what was read) and must be freed.
 */
int conf_load(struct conf *c, const char *path, char *err, size_t errlen);
/* Checks cross-key rules (ranges, absolute paths); 0 or -1 with err. */
int conf_validate(const struct conf *c, char *err, size_t errlen);

/*
 * How long before heartbeat_timeout_s a run's kill grace must end: a
 * runner saves its heartbeat once a second (ticking every 200 ms), and a
 * save may take a moment more.
 */
#define CONF_GRACE_MARGIN_S 1.5
/*
 * The grace between SIGTERM and SIGKILL must end before the heartbeat
 * timeout. A runner keeps its heartbeat through the grace, but a grace as
 * long as the time after which a silent runner is given up for dead
 * leaves no room: any pause of its saves there (a slow database; a runner
 * of an earlier release, which saved nothing in the grace) ends the run
 * lost instead of timed_out or canceled. A kill_grace_s above
 * heartbeat_timeout_s - CONF_GRACE_MARGIN_S
 * (0, the executor's default grace, counts as its 5 s) is lowered to that:
 * returns 1 with `note` saying so, else 0 with `c` unchanged. conf_load()
 * calls it and logs the note as a warning: a config that started the
 * daemon before keeps starting it, with the grace it can honour.
 */
int conf_fit_grace(struct conf *c, char *note, size_t notelen);
void conf_free(struct conf *c);

/*
 * The paths of the daemon's that no run may reach (exec.h, isolation
 * "hide"): the config file, the database and FastCGI sockets when they
 * are paths, the work base, the venv cache and the installers' cache,
 * then hide_paths. Fills out[] with up to `max` borrowed strings (valid
 * while `c` is) and a NULL after them (so `out` holds max + 1); returns
 * how many.
 */
int conf_private_paths(const struct conf *c, const char **out, int max);

#endif
