/*
 * sandbox.h - how a run's process tree is contained, killed and accounted,
 * and the per-run work directory.
 *
 * sandbox_init() runs once at start-up and picks the mechanism, logging one
 * info line saying which:
 *
 *  - SANDBOX_CGROUP2: every run gets its own cgroup v2 directory
 *    (<base>/run-<pid>-<n>), joined by the child before it execs. The
 *    whole tree, including descendants that called setsid() and
 *    double-forked, is signalled through the cgroup's member list and
 *    killed with cgroup.kill. CPU time comes from the cgroup's cpu.stat,
 *    the memory peak from memory.peak when the memory controller is
 *    enabled there.
 *  - SANDBOX_FALLBACK: the caller becomes a child subreaper
 *    (PR_SET_CHILD_SUBREAPER); the tree is the child's process group plus
 *    every descendant found through /proc/<pid>/task/<tid>/children,
 *    including orphans reparented to us.
 *
 * The run's limits (runlimits.h) need the memory, pids and cpu controllers.
 * Each is taken from the run cgroup v2 when it is enabled there (written
 * into cgroup.subtree_control of the base; a pure cgroup v2 host with the
 * controllers delegated); otherwise, when the host mounts that
 * controller's cgroup v1 hierarchy and it is writable, every run also
 * gets a group of its own there, joined by the child before it execs (a
 * mixed host). A cgroup v1 memory group also gives the run's memory peak
 * (memory.max_usage_in_bytes).
 *
 * A struct sandbox is plain data filled at start-up; it may be shared by
 * forked workers (each process numbers its own runs). sandbox_free()
 * releases its strings. The per-run calls (struct sandbox_run) are used
 * by exec.c only.
 */
#ifndef SCRIPTORCH_SANDBOX_H
#define SCRIPTORCH_SANDBOX_H

#include <sys/types.h>

enum sandbox_kind {
	SANDBOX_FALLBACK = 0,   /* subreaper + process group */
	SANDBOX_CGROUP2,        /* per-run cgroup v2 with cgroup.kill */
};

/* The controllers a run's limits use (runlimits.h). */
enum sandbox_ctrl {
	SANDBOX_MEMORY,
	SANDBOX_PIDS,
	SANDBOX_CPU,
	SANDBOX_NCTRL
};

/* A run cgroup v2 and what a run needs of it. */
struct run_cgroup {
	char *path;             /* or NULL */
	int procs_fd;           /* O_CLOEXEC, written by the child to join */
	int dir_fd;             /* its directory, for clone3 */
	long long user_us, sys_us;  /* its cpu.stat so far (read: counted) */
};

#define RUN_CGROUP_NONE { NULL, -1, -1, 0, 0 }

/*
 * Between two runs of a process (sandbox_tidy), its next run cgroup v2 is
 * made ahead and the last one removed, so that neither mkdir nor rmdir of
 * a cgroup stands between a request and its child, or between the child's
 * end and its recorded result. A cgroup that the last run left empty
 * serves the next run instead, unless the hierarchy gives it a
 * memory.peak (a per-run peak needs a fresh cgroup): then no cgroup is
 * made or removed at all, and the run's CPU times are the growth of its
 * cpu.stat. Owned by the process `owner` that made them (a forked copy of
 * the struct leaves them alone).
 */
struct sandbox_spare {
	pid_t owner;
	struct run_cgroup next; /* made ahead or kept from the last run */
	char *done;             /* the last run's, to remove, or NULL */
	unsigned long seq;      /* runs numbered so far (cgroup names) */
	int failing;            /* making one failed: said once, until it works */
	/* A cgroup v1 group the last run left empty, kept for the next (the
	 * cpu one only: sandbox.c, V1_KEPT), with its tasks file open in
	 * fd; path NULL: none (fd is then meaningless). */
	struct {
		char *path;
		int fd;
	} v1_keep[SANDBOX_NCTRL];
};

struct sandbox {
	enum sandbox_kind kind;
	char *cg2_base;         /* SANDBOX_CGROUP2: parent of run cgroups */
	unsigned cg2_ctrl;      /* 1 << SANDBOX_*: enabled in run cgroups v2 */
	/* Parents of the per-run cgroup v1 groups of each controller the run
	 * cgroups v2 lack, or NULL ([SANDBOX_MEMORY] also for accounting). */
	char *v1_base[SANDBOX_NCTRL];
	int memv1_memsw;        /* those memory groups have memory.memsw.* */
	struct sandbox_spare spare;
};

#define SANDBOX_INIT { .kind = SANDBOX_FALLBACK, \
	.spare = { 0, RUN_CGROUP_NONE, NULL, 0, 0 } }

/*
 * Detects the mechanism. `cgroup_root` (may be NULL) is a cgroup v2
 * directory under which run cgroups may be created; NULL looks for the
 * cgroup2 mount (e.g. /sys/fs/cgroup or /sys/fs/cgroup/unified) and uses
 * "<mount><own cgroup>/scriptorch". When no usable cgroup v2 is found the
 * fallback is chosen: that is not an error, and 0 is returned. Either
 * way, each of the memory, pids and cpu controllers that the run cgroups
 * v2 lack is taken from its cgroup v1 hierarchy when the host has one
 * (see above). `with_memv1` changes nothing any more: a per-run v1 memory
 * group, which it used to ask for, is now made wherever cgroup v2 has no
 * memory controller, to enforce the memory limit. The info line logged
 * says which mechanism enforces each limit (limits_describe_host).
 * Returns -1 (err filled) only when an explicitly given `cgroup_root` is
 * unusable.
 */
int sandbox_init(struct sandbox *sb, const char *cgroup_root, int with_memv1,
    char *err, size_t errlen);
/*
 * Once, in the daemon's first process before it forks anything: on a pure
 * cgroup v2 host where the daemon's own cgroup was delegated to it
 * (systemd's Delegate=yes), the memory, pids and cpu controllers listed
 * in its cgroup.controllers reach the run cgroups below it only through
 * its cgroup.subtree_control, which the kernel refuses to set while a
 * process is a member (the "no internal processes" rule). So every member
 * moves into the leaf "<own cgroup>/scriptorchd" first, then the
 * controllers are enabled; sandbox_init() finds the run cgroups' base
 * beside that leaf, "<own cgroup>/scriptorch". Nothing is done in the
 * root cgroup, when `cgroup_root` (the config's, may be NULL) is set, or
 * when no controller waits to be enabled (this build machine: its cgroup
 * v2 has none). Best effort: a failure is logged, and the limits then
 * fall back as sandbox_init() finds.
 */
void sandbox_host_prepare(const char *cgroup_root);
/* Chooses the fallback mechanism without looking at cgroups v2 (tests).
 * With `with_memv1`, still makes per-run cgroup v1 groups for the
 * controllers the host has there; without, the limits fall back to
 * rlimits (limits_fallback). */
void sandbox_init_fallback(struct sandbox *sb, int with_memv1);
/* Removes the run cgroups this process made or left (see struct
 * sandbox_spare) and releases the strings. */
void sandbox_free(struct sandbox *sb);
/* Between runs: removes the last run's cgroup v2 and, unless that one
 * serves the next run, makes the next one. Best effort: a failure is
 * logged (once, until it works again), and the next run makes its cgroup
 * itself (reporting an error then). */
void sandbox_tidy(struct sandbox *sb);
/*
 * Finds run cgroups left by runners that died (their pid no longer
 * exists), kills everything still in them (cgroup.kill) and removes them,
 * so nothing a script started outlives its runner for long. Called when a
 * runner starts (the master restarts a dead one at once) and by the
 * janitor. Returns how many were found.
 */
int sandbox_reap_stale(const struct sandbox *sb);
/* "cgroup2" or "subreaper+pgroup". */
const char *sandbox_kind_name(const struct sandbox *sb);
/* How a run gets controller `ctl`: 2 in its cgroup v2, 1 in a cgroup v1
 * group of its own, 0 not at all. `sb` may be NULL (0). */
int sandbox_ctrl_version(const struct sandbox *sb, enum sandbox_ctrl ctl);

/*
 * Creates a fresh directory "<base>/<exec_id>-XXXXXX" with mode 0700,
 * owned by uid:gid (unchanged when uid == (uid_t)-1). On success *path_out
 * is the new absolute-or-as-given path, which the caller frees. Returns 0,
 * or -1 with err filled.
 */
int sandbox_workdir_create(const char *base, unsigned long long exec_id,
    uid_t uid, gid_t gid, char **path_out, char *err, size_t errlen);
/*
 * Removes `path` and everything under it. Never follows a symbolic link
 * (a link is removed, not its target), does not cross into other file
 * systems' contents through links, and restores permissions of
 * directories the script made unreadable or read-only. Returns 0, or -1
 * with err filled (what could be removed is removed). A missing path is
 * not an error.
 */
int sandbox_workdir_remove(const char *path, char *err, size_t errlen);

/*
 * The run uid pool: uids base .. base+count-1 (no passwd entry needed),
 * one per runner, held for the runner's life so that no two executions
 * running at once share one, whether they run in runners of this
 * generation or in a runner still finishing its run after a reload. A
 * uid is held by an flock on "<lockdir>/<uid>" (lockdir made 0700 if
 * missing), which the kernel lets go when its holder dies. The uid
 * base + prefer (a runner's slot) is tried first, then the others in
 * order; `avoid` (the run user's own uid) and uids with a passwd entry
 * are passed over. Returns 1 with *uid and *lock_fd (close-on-exec,
 * the caller's to keep open), 0 when every uid is held (try again
 * later), -1 with err filled.
 */
int sandbox_uid_take(const char *lockdir, unsigned long long base,
    unsigned int count, unsigned int prefer, uid_t avoid, uid_t *uid,
    int *lock_fd, char *err, size_t errlen);

/* ---- per-run, used by exec.c ---------------------------------------- */

#define SANDBOX_MAX_KIDS 1024

struct sandbox_run {
	struct sandbox *sb;
	struct run_cgroup cg2;  /* path NULL: none */
	/* The run's cgroup v1 group of each controller (sandbox_init), or
	 * NULL, with its tasks file open close-on-exec (else -1). */
	char *v1_path[SANDBOX_NCTRL];
	int v1_procs_fd[SANDBOX_NCTRL];
	int cg2_killed;         /* cgroup.kill written: nothing forks there */
	/* cpu.stat of the run cgroup before the run (one kept from an
	 * earlier run); whether cg2's was read after it (counted), and
	 * whether it may serve the next run (sandbox.c, cg2_count) */
	long long cg2_user0_us, cg2_sys0_us;
	int cg2_counted, cg2_reusable;
	/* The limit counters of the run's cgroups before it (runlimits.c):
	 * OOM kills, forks refused at pids.max; -1: none to read. */
	long long oom_kills0, pids_max0;
	pid_t pid;              /* the child, once forked */
	/* The child is exec.c's init of a run's PID namespace, which passes
	 * the signals it gets on to the program, and which stays out of the
	 * run's cgroups (the program joins them): sandbox_run_signal() sends
	 * every signal but SIGKILL to the rest of the tree only, and SIGKILL
	 * to the init by its pid as well. */
	int main_is_init;
	/* our own children before the run: never reaped by exec.c */
	pid_t before[SANDBOX_MAX_KIDS];
	int nbefore;
	/* accounting of orphans we reaped ourselves (fallback) */
	long long orphan_user_us, orphan_sys_us, orphan_maxrss_kb;
};

/* An idle run, holding nothing: sandbox_run_release() may be called on
 * it whether or not sandbox_run_prepare() ever was. */
void sandbox_run_init(struct sandbox_run *run);
/* Before fork: makes the caller a subreaper, records its children, creates
 * the run cgroups and opens their cgroup.procs close-on-exec. Returns 0,
 * or -1 with err filled (everything undone: `run` is idle again). */
int sandbox_run_prepare(struct sandbox *sb, struct sandbox_run *run,
    char *err, size_t errlen);
/* The child joins the run cgroups itself (exec.c, child_join), through
 * cg2.procs_fd (unless it was created inside, clone3 into cg2) and each
 * v1_procs_fd; with an init (main_is_init), the program under it does. */
/* The directory holding controller `ctl`'s files for this run (its
 * cgroup v2, or its cgroup v1 group of that controller), *version set to
 * 2 or 1; NULL (and 0) when the run has none. Valid until release. */
const char *sandbox_run_ctrl_dir(const struct sandbox_run *run,
    enum sandbox_ctrl ctl, int *version);
/* Sends `sig` to every process of the run's tree (but the main child when
 * it is an init and sig is not SIGKILL, see main_is_init). The main child
 * must not have been reaped yet (it may be a zombie): its pid and process
 * group stay ours until then. With SIGKILL on cgroup v2 this is
 * cgroup.kill. */
void sandbox_run_signal(struct sandbox_run *run, int sig);
/* After the main child was reaped: SIGKILL whatever is left, wait (bounded,
 * about 2 s) until the tree is gone and reap orphans reparented to us. */
void sandbox_run_finish(struct sandbox_run *run);
/* After sandbox_run_finish(): the tree's CPU times where a cgroup knows
 * them (replacing *user_us, *sys_us), and its memory peak (memory charged
 * to the run cgroup) when larger than *peak_kb. Values a cgroup does not
 * know are left alone. */
void sandbox_run_stats(const struct sandbox_run *run, long long *user_us,
    long long *sys_us, long long *peak_kb);
/* Closes descriptors and removes the run cgroups (they must be empty:
 * call sandbox_run_finish() first once a child was forked), or leaves the
 * cgroup v2 to the next sandbox_tidy() or, when it may serve again, to
 * the next run. Safe to call again, and after sandbox_run_prepare()
 * failed. */
void sandbox_run_release(struct sandbox_run *run);

#endif
