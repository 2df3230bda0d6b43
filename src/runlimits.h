/*
 * runlimits.h - the resource limits of a run: what a script may ask for
 * (its `limits` and `network` fields), what the configuration gives by
 * default and allows at most ([limits] of scriptorch.conf), how each
 * limit is enforced on this host, and how a run that hit one is told.
 *
 * The five limits, each with a default and a maximum in the config:
 *   memory_mb      RAM + swap of the run's whole tree (MiB)
 *   pids           processes and threads of the tree
 *   cpu_cores      CPU bandwidth of the tree (in CPUs, fractions allowed)
 *   file_size_mb   any one file a process of the run writes (MiB)
 *   output_cap_kb  each captured stream, stdout and stderr (KiB)
 *
 * How (chosen per limit from what sandbox_init found, and said in its log
 * line by limits_describe_host):
 *   memory    cgroup v2 memory.max with memory.swap.max 0; else the run's
 *             cgroup v1 memory group, memory.limit_in_bytes and (with
 *             swap accounting) memory.memsw.limit_in_bytes; else, last,
 *             RLIMIT_AS of each process (limits_fallback).
 *   pids      pids.max of the run's cgroup v2 or v1 pids group; else
 *             RLIMIT_NPROC, which counts every process of the run's uid.
 *   cpu       cgroup v2 cpu.max, or v1 cpu.cfs_quota_us/cfs_period_us;
 *             else not enforced.
 *   file size RLIMIT_FSIZE; output: the capture's cap (exec_spec).
 *
 * Telling: limits_verdict reads, once the tree is gone, what the kernel
 * counted in the run's cgroups (memory.events oom_kill, or v1
 * memory.oom_control's oom_kill; pids.events max), compared with what
 * limits_apply read before the run, and how the child died (SIGXFSZ,
 * SIGXCPU, or a shell's 128 + those). The run's status is run.c's.
 *
 * Nothing here allocates what a caller must free but the stored JSON
 * text written into a caller's struct buf. (Not "limits.h": src/ is on
 * the include path, and that name would hide the C library's.)
 */
#ifndef SCRIPTORCH_RUNLIMITS_H
#define SCRIPTORCH_RUNLIMITS_H

#include <yajl/yajl_tree.h>

#include "buf.h"
#include "exec.h"
#include "sandbox.h"
#include "verr.h"

struct conf;
struct jw;

/* A run's limits, every one set. */
struct run_limits {
	long long memory_mb;
	long long pids;
	double cpu_cores;
	long long file_size_mb;
	long long output_cap_kb;
};

/* The smallest cpu_cores (1 ms of CPU per 100 ms period, the kernel's
 * smallest quota). */
#define LIMITS_MIN_CPU_CORES 0.01
/* The CFS period the quota is given in, microseconds. */
#define LIMITS_CPU_PERIOD_US 100000

/* ---- the script's fields ------------------------------------------- */

/*
 * The script field `limits`: a JSON object whose members are among the
 * five names; memory_mb, pids, file_size_mb and output_cap_kb integers
 * from 1 to the config's maximum, cpu_cores a number from 0.01 to its
 * maximum. Each may be null (the default, as when absent). On success
 * `stored` gets the compact JSON of the members set, in the order above
 * ("{}" for none): 0. Else -1 with e on the member ("limits.memory_mb").
 */
int limits_check(const struct conf *c, yajl_val v, struct buf *stored,
    struct verr *e);
/* The script field `network`: "host" or "none"; *out points at a static
 * copy. -1 with e otherwise. */
int limits_network_check(yajl_val v, const char **out, struct verr *e);

/*
 * A run's limits: the config's defaults, replaced by what the script's
 * stored `limits` (JSON text; NULL or "" is none) sets, each lowered to
 * the config's maximum (a script registered under a higher maximum, or
 * through another node's config, runs within this one's).
 */
void limits_effective(const struct conf *c, const char *stored,
    struct run_limits *out);
/* Writes the five limits as a JSON object. */
void limits_write(struct jw *w, const struct run_limits *l);

/* ---- to the executor ----------------------------------------------- */

/*
 * Sets the tree limits of `l` (memory_bytes, pids, cpu_cores) that `sb`
 * (may be NULL) cannot enforce with a cgroup as rlimits instead: memory
 * as RLIMIT_AS (the lower of both when as_bytes is set), pids as
 * RLIMIT_NPROC (likewise). CPU bandwidth has none: it stays unenforced.
 * Call before exec_run.
 */
void limits_fallback(const struct sandbox *sb, struct exec_limits *l);

/*
 * Before the child starts (exec.c, after sandbox_run_prepare): writes
 * each tree limit of `l` (NULL: none) into the run's cgroup that has the
 * controller, "max" where a limit is unset, and reads the counters that
 * limits_verdict compares with. Returns 0, or -1 with err filled (the run
 * must not start: "cannot set the memory limit: ...").
 */
int limits_apply(struct sandbox_run *run, const struct exec_limits *l,
    char *err, size_t errlen);
/*
 * After the tree is gone (sandbox_run_finish) and before the release:
 * which limit of `l` the run hit, from the counters and `status` (the
 * child's wait status): memory, then file size, CPU time, pids.
 */
enum exec_limit limits_verdict(const struct sandbox_run *run,
    const struct exec_limits *l, int status);

/*
 * Whether a regular file of at least `bytes` is in the directory tree at
 * `dir` (not followed through symbolic links; at most a few thousand
 * entries and 16 levels looked at): a program that ignores SIGXFSZ
 * (Python does) gets EFBIG instead, and its file stops at the limit.
 * 1 found, 0 not.
 */
int limits_file_at(const char *dir, long long bytes);

/* ---- telling ------------------------------------------------------- */

/* "memory", "pids", "file_size", "cpu_time"; NULL for none. */
const char *limits_name(enum exec_limit hit);
/* Appends "memory limit of 512 MB exceeded" (pids: "pids limit of 32
 * exceeded", "file size limit of 1 MB exceeded", "CPU time limit of 10 s
 * exceeded") with the values of `l`. */
void limits_describe_hit(enum exec_limit hit, const struct exec_limits *l,
    struct buf *out);
/* Appends which mechanism enforces each limit on this host, e.g.
 * "memory_mb by cgroup v1 memory.limit_in_bytes + memsw, pids by cgroup
 * v1 pids.max, cpu_cores by cgroup v1 cpu.cfs_quota_us, file_size_mb by
 * RLIMIT_FSIZE, output_cap_kb by the capture". */
void limits_describe_host(const struct sandbox *sb, struct buf *out);

#endif
