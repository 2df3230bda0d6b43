/*
 * exec.h - the only place in scriptorch that starts a process.
 *
 * exec_run() starts one program without a shell, feeds it its input,
 * captures its output, enforces a deadline, and waits until the program
 * AND everything it started are gone. What the child gets:
 *
 *  - argv exactly as given; `path` is executed (argv[0] may differ).
 *  - exactly the environment `envp` (built by the caller from nothing);
 *    NULL means an empty environment.
 *  - descriptor 0: a pipe carrying stdin_data then EOF; 1 and 2: pipes
 *    to the parent. No other descriptor: everything above 2 is closed at
 *    exec (close_range, else a scan of /proc/self/fd, else a loop up to
 *    RLIMIT_NOFILE), whatever the caller's 0/1/2 are (a libfcgi worker's
 *    fd 0 is its listening socket; closed 0/1/2 are handled too).
 *  - its own session and process group (setsid), default dispositions
 *    for every signal and an empty signal mask.
 *  - the per-run cgroup(s) of `sandbox`, joined before exec, with the
 *    tree's limits of `limits` (memory, pids, CPU bandwidth) written in
 *    them before the child starts (limits_apply, runlimits.h).
 *  - the rlimits of `limits`, cwd `cwd`, and, when uid != (uid_t)-1, no
 *    supplementary groups, gid `gid` and uid `uid` (real, effective and
 *    saved). If the identity cannot be taken the exec fails.
 *  - PR_SET_PDEATHSIG SIGKILL: if the calling process dies, the child
 *    is killed (its descendants by the cgroup or the next run's cleanup).
 *  - when its identity is switched (uid != -1): PR_SET_NO_NEW_PRIVS, and
 *    no capability left (checked before exec, as is that setresuid(0)
 *    fails), so nothing it executes can make it root again.
 *
 * Isolation (spec->isolation != NULL; see "Isolation" below): the child
 * is the first process of new PID, mount and IPC namespaces (and of an
 * empty network namespace with spec->network_none); exec_run's child is
 * then a small init of ours (PID 1 there), which starts the program as
 * PID 2 with everything above, forwards signals and hands back the
 * program's own wait status. The init itself is in none of the run's
 * cgroups: the limits hold the program's tree alone (and an OOM kill
 * never picks the init, which shares the caller's memory: the kernel
 * would kill the caller with it).
 *
 * How: on x86_64 the child is created as posix_spawn creates one, sharing
 * the caller's memory on a stack of its own, the caller suspended until
 * the exec (or the child's failure); so nothing of the caller is copied.
 * Elsewhere it is a fork()-style copy. Either way inside its run cgroup.
 * With isolation, our init shares the caller's memory too on x86_64, on
 * a stack mapped for it, both running (it reads only a snapshot taken
 * before the clone), and starts the program the same way.
 *
 * While the child runs, the parent pumps stdin/stdout/stderr together
 * with poll() on non-blocking pipes, so a child writing much while being
 * fed much never deadlocks. A pidfd in the poll set tells of the child's
 * exit even while a grandchild still holds the pipes. Then:
 *
 *  - the child exits: the rest of its tree is SIGKILLed at once (cgroup
 *    kill, or process group + descendants found under our subreaper),
 *    the pipes are drained for at most EXEC_DRAIN_MS, the child reaped.
 *  - the deadline passes (timeout_s) or the tick hook asks to cancel:
 *    SIGTERM to the whole tree, SIGKILL to the whole tree grace_s later
 *    if the child still runs. The tick hook is still called meanwhile.
 *
 * With isolation the same holds of our init and the program under it:
 * the tree's SIGTERM goes to every process but the init (which would pass
 * it on a second time), SIGKILL to all; when the program ends, the init
 * reports its status and exits, and the kernel kills whatever is left in
 * the namespace before the init can be reaped, so nothing of the run
 * outlives it even without a cgroup. If the caller dies, PR_SET_PDEATHSIG
 * kills the init, and with it the namespace.
 *
 * The child is reaped by its pid only; after reaping it is never
 * signalled again. Orphans of the tree, reparented to the caller (which
 * exec_run makes a child subreaper, PR_SET_CHILD_SUBREAPER), are reaped
 * by pid too; children the caller had before the call are never touched.
 * The caller should not fork other children while exec_run runs (a
 * scriptorch runner is single-threaded and does not), and must not set
 * SIGCHLD to SIG_IGN (the kernel would then reap for us and the exit
 * status would be lost); a SIGCHLD handler is fine, it is never needed.
 * Without pidfd_open (Linux < 5.3) the child is polled every 20 ms.
 *
 * Signals: the caller's SIGPIPE disposition is not changed. exec_run
 * blocks SIGPIPE in the calling thread while it writes to the child's
 * stdin (so a child that does not read its input gives EPIPE, which is not
 * an error), and discards a SIGPIPE it caused before restoring the mask.
 * All signals are blocked around fork() so no caller handler runs in the
 * child.
 */
#ifndef SCRIPTORCH_EXEC_H
#define SCRIPTORCH_EXEC_H

#include <stddef.h>
#include <sys/types.h>

#include "capture.h"
#include "sandbox.h"

#define EXEC_DEFAULT_CAPTURE_CAP (1024 * 1024)
#define EXEC_DEFAULT_GRACE_S 5.0
/* After the child exits, how long its pipes may still be drained. */
#define EXEC_DRAIN_MS 1000

/* setrlimit values for the child (soft = hard, but the CPU hard limit is
 * one second above: SIGXCPU first, SIGKILL after); 0 leaves one unset.
 * Then the limits of the whole tree, set in the run's cgroups where the
 * sandbox has the controller (sandbox_ctrl_version) and ignored where it
 * has not: limits_fallback() (runlimits.h) turns those into rlimits before
 * the call. 0 leaves one unset (a cgroup kept from an earlier run gets
 * "max" back). */
struct exec_limits {
	long cpu_s;                 /* RLIMIT_CPU, seconds */
	long long as_bytes;         /* RLIMIT_AS */
	long nofile;                /* RLIMIT_NOFILE */
	long nproc;                 /* RLIMIT_NPROC (per uid, not for root) */
	long long fsize_bytes;      /* RLIMIT_FSIZE */
	long long memory_bytes;     /* RAM + swap of the tree (no swap at all) */
	long long pids;             /* processes and threads of the tree */
	double cpu_cores;           /* CPU bandwidth of the tree, in CPUs */
};

/* Which limit a run hit (exec_result.limit; limits_verdict tells). */
enum exec_limit {
	EXEC_LIMIT_NONE = 0,
	EXEC_LIMIT_MEMORY,          /* the kernel's OOM killer killed in it */
	EXEC_LIMIT_PIDS,            /* a fork was refused at the pids limit */
	EXEC_LIMIT_FILE_SIZE,       /* SIGXFSZ killed the child */
	EXEC_LIMIT_CPU_TIME,        /* SIGXCPU killed the child */
};

/* Everything borrowed: exec_run() copies nothing it keeps. */
struct exec_spec {
	const char *path;           /* absolute path of the program */
	char *const *argv;          /* NULL-terminated; NULL: { path } */
	char *const *envp;          /* the complete environment; NULL: empty */
	const char *cwd;            /* child's working dir; NULL: unchanged */
	uid_t uid;                  /* (uid_t)-1: keep the caller's identity */
	gid_t gid;
	const struct exec_limits *limits;   /* may be NULL */
	const void *stdin_data;     /* written to stdin, then EOF; NULL: EOF */
	size_t stdin_len;
	size_t capture_cap;         /* per stream; 0: EXEC_DEFAULT_CAPTURE_CAP */
	double timeout_s;           /* 0: none */
	double grace_s;             /* SIGTERM -> SIGKILL; 0: default 5 s */
	struct sandbox *sandbox;        /* NULL: subreaper + process group */
	/* Fields added later; a zeroed spec leaves each off. */
	const struct exec_isolation *isolation;   /* NULL: none */
	int network_none;           /* the script's "network": "none": an
	                             * empty network namespace (only lo,
	                             * down); with or without isolation */
};

/* All optional; a NULL struct exec_hooks means none. */
/*
 * Isolation: what a run sees of the host. Every path list is borrowed,
 * NULL-terminated, or NULL for none; paths are resolved (realpath) before
 * the clone. In the run's own mount namespace (propagation from the host
 * only: nothing the run mounts reaches the host):
 *  - /tmp, /var/tmp and /dev/shm (those that exist) are fresh tmpfs
 *    mounts: empty at start, private, gone with the run;
 *  - every `hide` path is unreachable: a directory is covered by an empty
 *    read-only-to-the-run tmpfs, anything else by /dev/null; a missing
 *    one is skipped (nothing to hide);
 *  - every `keep` (read-write) and `keep_ro` (read-only, recursively)
 *    directory is the host's, at the same path, even inside a hidden or
 *    private directory (the run's work dir inside the hidden work base,
 *    its venv inside the hidden venv cache, a script root under /tmp);
 *    each must exist. A hidden path inside a kept one stays hidden.
 *  - /proc is a new proc of the run's PID namespace (hidepid=2: the run
 *    sees its own processes only, not even our init), with /proc/sys and
 *    the kernel's other tunables read-only.
 * The program's own pre-exec steps then follow, and a seccomp filter
 * refuses it new namespaces (unshare, setns, clone with namespace flags;
 * clone3 gives ENOSYS so that libc falls back to clone) and any syscall
 * of a foreign architecture (ENOSYS).
 * Needs CAP_SYS_ADMIN: without it exec_run fails ("cannot create the
 * run's namespaces: Operation not permitted"), it never runs the program
 * unisolated.
 */
struct exec_isolation {
	const char *const *hide;
	const char *const *keep;
	const char *const *keep_ro;
};

/* At most this many paths in all of an exec_isolation's lists. */
#define EXEC_MAX_ISOLATION_PATHS 48

struct exec_hooks {
	/* Called once everything for the child is ready (pipes, cgroup),
	 * just before it is started: the last moment to finish slow work
	 * begun earlier (a database commit) and to decide. Return -1 to
	 * start nothing: exec_run returns -1 with result.refused set. */
	int (*ready)(void *arg);
	/* Called once the exec is known to have succeeded (the child is the
	 * program now). The caller may do slow work here (database): output
	 * piles up in the pipes meanwhile, but the deadline still counts.
	 * `pid` is exec_run's child: the program, or with isolation our
	 * init, which passes SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGUSR1 and
	 * SIGUSR2 sent to it on to the program's process group. */
	void (*started)(void *arg, pid_t pid);
	/* Called every tick_ms (default 1000) while the child runs, with the
	 * captures so far (render them to save live output), the grace after
	 * SIGTERM included (save a heartbeat there too). Return 1 to cancel:
	 * the tree is killed as on timeout and result.canceled set; once
	 * SIGTERM was sent (timeout or cancel) that changes nothing. */
	int (*tick)(void *arg, const struct capture *out,
	    const struct capture *err);
	int tick_ms;
	void *arg;
};

struct exec_result {
	struct capture out, err;    /* owned; exec_result_free() */
	int exited, exit_code;      /* normal exit and its status (else -1) */
	int signaled, signo;        /* killed by signal signo (else 0) */
	                            /* (with isolation: the program's own
	                             * status, as our init saw it; SIGKILL if
	                             * the init was killed before it could
	                             * say, as by the kill after the grace) */
	int timed_out;              /* we sent SIGTERM for the deadline */
	int canceled;               /* we sent SIGTERM for the tick hook */
	double duration_ms;         /* successful exec -> reaping, monotonic
	                             * (with isolation: -> the program's end
	                             * as its init reaped it) */
	/* Of the child and all its descendants: the run cgroup's cpu.stat
	 * when there is one, else wait4() of the child plus reaped orphans.
	 * max_rss_kb: the larger of the largest ru_maxrss (one process) and
	 * the run cgroup's memory.peak / v1 memory.max_usage_in_bytes (the
	 * whole tree's charged memory, page cache included) if any. */
	long long cpu_user_ms, cpu_system_ms, max_rss_kb;
	int refused;                /* the ready hook said no */
	/* A limit of spec->limits the run hit, whatever its end: the first
	 * of memory, file size, CPU time, pids that holds (runlimits.h). */
	enum exec_limit limit;
};

/*
 * Runs spec->path and waits for it and its whole tree (see above).
 * `res` is always initialised (call exec_result_free() in every case).
 * Returns 0 when the child was started and reaped: look at res. Returns
 * -1 when it could not be started, with `err` saying why, e.g.
 *   cannot execute "/x/y": Permission denied
 *   cannot change directory to "/w": No such file or directory
 * and nothing left running. Hooks are not called then.
 */
int exec_run(const struct exec_spec *spec, const struct exec_hooks *hooks,
    struct exec_result *res, char *err, size_t errlen);

/* Releases the captures of `res`; the struct may be reused. */
void exec_result_free(struct exec_result *res);

#endif
