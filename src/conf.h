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

#include "callback.h"
#include "secret.h"

#define CONF_DEFAULT_PATH SYSCONFDIR "/scriptorch/scriptorch.conf"
#define CONF_MAX_ROOTS 16
#define CONF_MAX_HIDE 16
/* At most this many paths from conf_private_paths(). */
#define CONF_MAX_PRIVATE (CONF_MAX_HIDE + 8)
#define CONF_MAX_DB_HOSTS 16

/* One database server of [database] host's ordered list. */
struct conf_db_host {
	char *name;               /* host name or address */
	int port;                 /* 0: [database] port */
};

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
	int max_waiting_workers;  /* CONF_AUTO: conf_max_waiting() decides */
	char *secret_key_file;    /* the node's key for secrets (secret.h) */
	char *marketplace_dir;    /* the ready-made scripts offered
	                           * (marketplace.h) */
	int session_ttl_s;        /* a browser session's life (session.h) */
	char *node_labels;        /* canonical (labels.h): "ffmpeg,gpu", "" */

	/* [database] */
	char *db_host;            /* as written; db_hosts is its parsed list */
	struct conf_db_host db_hosts[CONF_MAX_DB_HOSTS];
	int n_db_hosts;           /* tried in order: the first that answers */
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
	int queue_probe_ms;       /* idle nodes look for others' work; 0 off */
	int heartbeat_interval_s;
	int heartbeat_timeout_s;
	int retention_days;
	long long rlimit_cpu_s;
	long long rlimit_as_mb;
	long long rlimit_nofile;
	long long rlimit_nproc;
	long long rlimit_fsize_mb;
	char *cgroup_root;        /* "" = detect */
	int memory_cgroup_v1;     /* obsolete: v1 groups follow the limits */
	long long run_uid_base;   /* the run uid pool: base .. base+count-1 */
	int run_uid_count;
	int isolation;            /* namespaces per run (exec.h) */
	char *hide_paths[CONF_MAX_HIDE];  /* more paths runs must not reach */
	int n_hide_paths;

	/* Not a key: the file conf_load() read, or NULL. */
	char *path;

	/* [limits]: each run's (runlimits.h), unless its script sets its own,
	 * up to the *_max; cpu_cores "auto" is the number of CPUs. */
	long long limit_memory_mb, limit_memory_mb_max;
	long long limit_pids, limit_pids_max;
	double limit_cpu_cores, limit_cpu_cores_max;
	long long limit_file_size_mb, limit_file_size_mb_max;
	long long limit_output_cap_kb, limit_output_cap_kb_max;

	/* [callbacks] (callback.h, sender.h) */
	char *callback_secret;       /* the HMAC key itself, or "" */
	char *callback_secret_file;  /* else the key in this file */
	char *callback_allow_hosts;  /* "" = every host */
	long long callback_max_age_s;
	int callback_concurrency;    /* attempts in flight per sender */

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
	char *build_user;         /* builds run as this user: never root,
	                           * never the run user */
	int allow_sdist;          /* build from source distributions */
	int allow_direct_urls;    /* requirements may name URLs and paths */

	/*
	 * Loaded with the file, not a key of it: the node's secret key, read
	 * from secret_key_file by conf_load() (so every child has it from
	 * its fork, and a reload reads it again). has_secret_key is 0 when
	 * that file does not exist: the daemon runs, and every write or run
	 * of a secret is refused with a message that says why. conf_free()
	 * wipes it.
	 */
	int has_secret_key;
	struct secret_key secret_key;
	/*
	 * Loaded with the file too: the callbacks' signing key, callback_secret
	 * or the content of callback_secret_file (conf_load_callback_secret).
	 * has_callback_secret is 0 when neither is there: no callback is
	 * accepted and no sender runs. conf_free() wipes it.
	 */
	int has_callback_secret;
	unsigned char callback_key[CALLBACK_SECRET_MAX];
	size_t callback_key_len;
};

/* Fills `c` with the defaults (every string allocated). */
void conf_defaults(struct conf *c);
/*
 * Loads `path` over the defaults, validates it (conf_validate), fits
 * the grace (conf_fit_grace, a warning logged when it lowers it) and
 * reads the secret key (conf_load_secret_key). Returns
 * 0, or -1 with a message such as
 * "scriptorch.conf:12: unknown key \"listn\" in [daemon]" in err.
 * On -1 `c` is still valid (defaults plus what was read) and must be freed.
 */
int conf_load(struct conf *c, const char *path, char *err, size_t errlen);
/* Checks cross-key rules (ranges, absolute paths, each [limits] default
 * within its maximum); 0 or -1 with err. */
int conf_validate(const struct conf *c, char *err, size_t errlen);
/*
 * Reads the key in secret_key_file into c->secret_key. A file that does
 * not exist is not an error: has_secret_key stays 0 and a warning is
 * logged. A file of another form or mode (secret_key_load) is: -1 with
 * err, and the daemon does not start (or a reload is refused).
 */
int conf_load_secret_key(struct conf *c, char *err, size_t errlen);
/*
 * The callbacks' signing key: callback_secret when set, else the content
 * of callback_secret_file (trailing blanks and newlines dropped), from
 * CALLBACK_SECRET_MIN to CALLBACK_SECRET_MAX bytes. A file that does not
 * exist is not an error: has_callback_secret stays 0 and a warning is
 * logged. A file that group or others may read or write, that is not a
 * regular file, or a secret of another length, is: -1 with err.
 */
int conf_load_callback_secret(struct conf *c, char *err, size_t errlen);
/*
 * A config of an earlier release sets [runner] output_cap_bytes, the cap
 * of every run's streams, and no [limits] output_cap_kb: conf_load()
 * takes it as the output_cap_kb default (rounded up to KiB, the maximum
 * raised to it if need be) and logs a warning saying so, from `path`.
 */
void conf_old_output_cap(struct conf *c, const char *path);

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

/*
 * Refuses a config file at `path` that the users scripts or builds run
 * as could read or change: one that others may read or write, that the
 * run user's or the build user's group may read or write, or that one of
 * them owns (it holds the database password). 0, or -1 with err.
 */
int conf_check_mode(const struct conf *c, const char *path, char *err,
    size_t errlen);
void conf_free(struct conf *c);

/*
 * The paths of the daemon's that no run may reach (exec.h, isolation
 * "hide"): the config file, the node's secret key file, the database and
 * FastCGI sockets when they are paths, the work base, the venv cache and
 * the installers' cache, then hide_paths. Fills out[] with up to `max` borrowed strings (valid
 * while `c` is) and a NULL after them (so `out` holds max + 1); returns
 * how many.
 */
int conf_private_paths(const struct conf *c, const char **out, int max);

/* A number key set to "auto": the value follows from other keys. */
#define CONF_AUTO (-1)
/*
 * How many API workers may wait for an execution's end at once
 * (max_waiting_workers): as set, or by default (auto) half of
 * api_workers, rounded down, so that at least half of them, and at
 * least one, stay free for other requests. conf_validate() refuses a
 * value that leaves no worker free.
 */
int conf_max_waiting(const struct conf *c);

#endif
