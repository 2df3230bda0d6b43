/*
 * exec.c - start one program and see it and its whole tree through to the
 * end (see exec.h for the contract).
 *
 * The shape follows git's start_command()/pump_io() and libuv's
 * process.c: everything the child needs is computed before fork(); the
 * child runs only async-signal-safe calls and reports a failure before
 * exec as {stage, errno} on a close-on-exec pipe that the parent reads to
 * EOF (EOF alone means the exec succeeded).
 */
#include "config.h"

#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <linux/audit.h>
#include <linux/capability.h>
#include <linux/filter.h>
#include <linux/seccomp.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "exec.h"
#include "log.h"
#include "runlimits.h"

#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif

#define IO_CHUNK 65536
/* Without a pidfd, how often the child is polled for with waitid(). */
#define NOPIDFD_POLL_MS 20

/* Where the child was when it failed; sent with errno on the error pipe. */
enum child_stage {
	ST_FDS = 1,
	ST_SETSID,
	ST_CGROUP,
	ST_CHDIR,
	ST_RLIMIT,
	ST_IDENTITY,
	ST_PDEATH,
	ST_EXEC,
	ST_MOUNT,       /* arg: the isolation step (ns_op index, or MNT_*) */
	ST_INIT,        /* our init could not start the program */
	ST_NOPRIVS,     /* no_new_privs, or capabilities left */
	ST_SECCOMP,
};

/* Mount steps that are not an ns_op, in a ST_MOUNT report's arg. */
#define MNT_PROPAGATION (-1)
#define MNT_PROC (-2)

struct child_report {
	int stage;
	int err;
	int arg;
};

/*
 * Isolation, prepared by the parent (child_isolate) as one list of mount
 * steps, which our init carries out in this order: every keep's tree is
 * taken (open_tree, before anything covers it), then the private tmp
 * dirs, the hidden paths, the keeps put back in place (outer before
 * inner), the hidden paths inside a keep covered again, and /proc.
 */
enum ns_kind {
	NS_TMP,         /* a fresh tmpfs, mode 1777 */
	NS_HIDE_DIR,    /* an empty tmpfs, root's, mode 0755 */
	NS_HIDE_FILE,   /* /dev/null bound over it */
	NS_KEEP,        /* the host's directory, at the same path */
	NS_KEEP_RO,     /* the same, read-only */
};

struct ns_op {
	enum ns_kind kind;
	char *path;             /* resolved; owned by the struct child */
	int again;              /* a hide inside a keep: covered again */
	int may_mkdir;          /* a keep inside a covered dir: its mount
	                         * point may have to be made (in our tmpfs) */
	unsigned long mflags;   /* a keep's MS_NOSUID etc., for a remount */
};

#define MAX_NS_OPS (EXEC_MAX_ISOLATION_PATHS + 3)

/* What our init hands back: the program's wait status, when it exec'd
 * (as the program noted just before its execve; 0 where it could not:
 * not on x86_64, where it is a copy) and when it was reaped
 * (CLOCK_MONOTONIC, the clock of clock_mono_ns()). */
struct init_word {
	int status;
	int pad;
	int64_t start_ns, end_ns;
};

/*
 * What the child reads of descriptors and the run cgroup, copied before
 * the clone and never changed by the parent until the child is reaped:
 * our init runs beside the parent in the same memory, while the parent
 * closes its ends of the pipes.
 */
struct child_snap {
	int in, out, err;       /* the child's ends of the pipes */
	int report, word;       /* the write ends of report and word pipes */
	int parent_pidfd;       /* ours, for the init to see us gone; or -1 */
	int cg2_procs;          /* run cgroup v2's cgroup.procs, or -1 */
	int join_cg2;           /* the child must join it (not cloned in) */
	int v1_procs[SANDBOX_NCTRL];    /* each run v1 group's tasks, or -1 */
	int cg2_dir;            /* run cgroup v2's directory, or -1 */
};

/* Our init's stack (it shares our memory, see init_main): a guard page,
 * the program's stack until its exec (spawn_script), the init's above. */
#define INIT_STACK_SIZE (256 * 1024)
#define SCRIPT_STACK_SIZE (96 * 1024)

/* The signals our init passes on to the program's process group. */
static const int forwarded[] = { SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGUSR1,
    SIGUSR2 };

#define MAX_RLIMITS 5
#define NS_PER_MS INT64_C(1000000)

/*
 * One child from its start to its reaping, as slowcgi's struct client
 * holds a request: whatever exec_run() holds for a run is here, and
 * child_release() lets go of all of it at whatever stage the run
 * stopped. The stages, one function each: child_prepare() (pipes, the
 * sandbox run, what the child process reads), child_start() (the clone,
 * the exec seen to succeed), child_pump() (input and output, deadlines,
 * the kill, the reaping), child_finish() (the result).
 */
struct child {
	const struct exec_spec *spec;       /* borrowed */
	const struct exec_hooks *hooks;     /* borrowed; NULL: none */
	struct exec_result *res;            /* the caller's, being filled */

	/* Read by the child process between clone and exec, where nothing
	 * may be allocated: prepared before the clone. */
	char *const *argv;
	char *const *envp;
	char *default_argv[2];
	int rl_res[MAX_RLIMITS];
	struct rlimit rl[MAX_RLIMITS];
	int nrl;
	long open_max;                      /* for the last-resort close loop */
	pid_t parent;
	sigset_t empty;

	/* Pipes, [0] the read end and [1] the write end, all close-on-exec.
	 * The child's ends (in[0], out[1], err[1], report[1]) are closed
	 * here once it is started; report[0] once it has been read. */
	int in[2], out[2], err[2];
	int report[2];                      /* struct child_report, or EOF */
	struct sandbox_run run;             /* the tree: cgroups, orphans */

	/* Isolation (spec->isolation, spec->network_none). */
	int iso;                /* our init is the child, the program its */
	unsigned long ns_flags; /* CLONE_NEW* */
	struct ns_op ops[MAX_NS_OPS];
	int nops;
	int word_pipe[2];       /* struct init_word from the init, or EOF */
	int parent_pidfd;       /* ours, for the init to see us gone */
	sigset_t init_wait;     /* SIGCHLD and the forwarded signals */
	void *init_stack;       /* mmap'd, with a guard page; or NULL */
	size_t init_stack_len;
	struct child_snap snap; /* read by the child */
	int final;              /* the init said the program's end: */
	struct init_word word;  /* ... this */

	pid_t pid;              /* > 0 from the clone until the reaping */
	int pidfd;              /* readable at the exit; -1: none */
	size_t in_off;          /* bytes of stdin_data written so far */

	/* On clock_mono_ns(); 0: not set. */
	int64_t t_start;        /* the exec was seen to succeed */
	int64_t deadline;       /* t_start + timeout_s */
	int64_t next_tick;      /* the tick hook's next call */
	int tick_ms;            /* 0: no tick hook */
	int64_t kill_at;        /* SIGKILL then, once SIGTERM was sent */
	int64_t drain_until;    /* once reaped: the pipes read until then */

	int term_sent, kill_sent;
	int exited;             /* seen to exit: a zombie until reaped */
	int reaped;
	int status;             /* of wait4(), once reaped */
	struct rusage ru;       /* of the child alone, once reaped */

	/* SIGPIPE is blocked while stdin is fed (see exec.h) */
	int pipe_blocked, pipe_was_pending;
	sigset_t pipeset, pipe_oldmask;
};

/* The leading fields of the kernel's struct clone_args (version 2, 88
 * bytes), declared here because <linux/sched.h> clashes with <sched.h>. */
struct clone3_args {
	uint64_t flags, pidfd, child_tid, parent_tid, exit_signal, stack,
	    stack_size, tls, set_tid, set_tid_size, cgroup;
};
#define CLONE3_INTO_CGROUP 0x200000000ULL

/*
 * fork(), but with the child created directly inside the run's cgroup v2
 * when the kernel allows it (clone3 with CLONE_INTO_CGROUP, Linux 5.7):
 * moving a process into a cgroup afterwards waits for an RCU grace period,
 * several milliseconds on every run. Any failure of clone3 falls back to
 * fork(), and the child then joins by writing cgroup.procs. Without
 * CLONE_VM the child is a copy, exactly as after fork(). `ns_flags`
 * (CLONE_NEW*) puts the child in new namespaces: the fallback is then the
 * clone system call with those flags, since clone3 gives ENOSYS under a
 * seccomp filter that must read the flags (systemd's RestrictNamespaces=),
 * and the child must never start without its namespaces. Used for our
 * init, and where the shared-memory launch below is not available.
 * `cg_dir`: the cgroup v2 directory to create the child in, or -1 (none,
 * or our init, which stays out of the run's cgroups).
 */
static pid_t
fork_into_run(int cg_dir, unsigned long ns_flags, int *join_cg2)
{
#ifdef SYS_clone3
	if (cg_dir != -1 || ns_flags != 0) {
		struct clone3_args a;
		long pid;

		memset(&a, 0, sizeof(a));
		a.flags = ns_flags;
		a.exit_signal = SIGCHLD;
		if (cg_dir != -1) {
			a.flags |= CLONE3_INTO_CGROUP;
			a.cgroup = (uint64_t)cg_dir;
			*join_cg2 = 0;          /* seen by the child */
		}
		pid = syscall(SYS_clone3, &a, sizeof(a));
		if (pid != -1)
			return (pid_t)pid;
		*join_cg2 = 1;
	}
#endif
	if (ns_flags != 0)
		return (pid_t)syscall(SYS_clone, ns_flags | SIGCHLD, 0, 0, 0, 0);
	return fork();
}

#if defined(__x86_64__) && defined(SYS_clone3)
#define HAVE_CLONE3_VM 1
#define CLONE3_VM 0x100ULL
#define CLONE3_VFORK 0x4000ULL
#define STO_STR2(x) #x
#define STO_STR(x) STO_STR2(x)
/* The child's stack while it shares our memory, until its exec. */
#define CHILD_STACK_SIZE (64 * 1024)

/*
 * clone3 for a child that shares our memory (CLONE_VM): it starts on its
 * own stack (a->stack, a->stack_size), calls fn(arg) there and exits with
 * its value if fn returns; the parent gets the child's pid or -errno. A
 * C caller cannot do this with syscall(): the child would return through
 * a stack frame the parent still owns. glibc 2.36 has no clone3 wrapper,
 * hence these few instructions (x86_64 System V: a, size, fn, arg arrive
 * in rdi, rsi, rdx, rcx; the kernel keeps r8 and r9 across syscall, and
 * the child gets copies of them).
 */
long sto_clone3_call(struct clone3_args *a, size_t size, int (*fn)(void *),
    void *arg);
__asm__(
    ".text\n"
    ".globl sto_clone3_call\n"
    ".hidden sto_clone3_call\n"
    ".type sto_clone3_call, @function\n"
    "sto_clone3_call:\n"
    "	movq %rdx, %r8\n"
    "	movq %rcx, %r9\n"
    "	movl $" STO_STR(SYS_clone3) ", %eax\n"
    "	syscall\n"
    "	testq %rax, %rax\n"
    "	jnz 1f\n"
    "	xorl %ebp, %ebp\n"                /* the child: outermost frame */
    "	movq %r9, %rdi\n"
    "	callq *%r8\n"
    "	movl %eax, %edi\n"
    "	movl $" STO_STR(SYS_exit) ", %eax\n"
    "	syscall\n"
    "	hlt\n"
    "1:	ret\n"
    ".size sto_clone3_call, .-sto_clone3_call\n");

/*
 * The same with the older clone system call, which a seccomp filter can
 * read the flags of (see fork_into_run): our init starts the program
 * with it, CLONE_VM | CLONE_VFORK, wherever it runs. In: flags, the top
 * of the child's stack (16-byte aligned), fn, arg (rdi, rsi, rdx, rcx);
 * clone takes flags, stack, parent_tid, child_tid, tls in rdi, rsi, rdx,
 * r10, r8: the last three are unused without CLONE_*SETTID/SETTLS, so fn
 * and arg ride in r9 and r8.
 */
long sto_clone_call(unsigned long flags, void *stack_top, int (*fn)(void *),
    void *arg);
__asm__(
    ".text\n"
    ".globl sto_clone_call\n"
    ".hidden sto_clone_call\n"
    ".type sto_clone_call, @function\n"
    "sto_clone_call:\n"
    "	movq %rdx, %r9\n"
    "	movq %rcx, %r8\n"
    "	xorl %edx, %edx\n"
    "	xorl %r10d, %r10d\n"
    "	movl $" STO_STR(SYS_clone) ", %eax\n"
    "	syscall\n"
    "	testq %rax, %rax\n"
    "	jnz 1f\n"
    "	xorl %ebp, %ebp\n"
    "	movq %r8, %rdi\n"
    "	callq *%r9\n"
    "	movl %eax, %edi\n"
    "	movl $" STO_STR(SYS_exit) ", %eax\n"
    "	syscall\n"
    "	hlt\n"
    "1:	ret\n"
    ".size sto_clone_call, .-sto_clone_call\n");
#endif

/* ---- the child ------------------------------------------------------ */

/*
 * System calls of the child side, returning the result or -errno and
 * never writing errno. Our init shares the runner's memory while both
 * run (see init_main), errno included, so neither it nor the program
 * before its exec may use a libc wrapper that sets errno. On x86_64 the
 * instruction itself; elsewhere the init is a copy (fork_into_run), and
 * syscall() is safe.
 */
#if defined(__x86_64__)
static inline long
sc6(long n, long a, long b, long c, long d, long e, long f)
{
	register long r10 __asm__("r10") = d;
	register long r8 __asm__("r8") = e;
	register long r9 __asm__("r9") = f;
	long ret;

	__asm__ volatile("syscall" : "=a"(ret) : "a"(n), "D"(a), "S"(b),
	    "d"(c), "r"(r10), "r"(r8), "r"(r9) : "rcx", "r11", "memory");
	return ret;
}
#else
static inline long
sc6(long n, long a, long b, long c, long d, long e, long f)
{
	long r = syscall(n, a, b, c, d, e, f);

	return r == -1 ? -errno : r;
}
#endif
#define SC0(n) sc6((n), 0, 0, 0, 0, 0, 0)
#define SC1(n, a) sc6((n), (long)(a), 0, 0, 0, 0, 0)
#define SC2(n, a, b) sc6((n), (long)(a), (long)(b), 0, 0, 0, 0)
#define SC3(n, a, b, c) sc6((n), (long)(a), (long)(b), (long)(c), 0, 0, 0)
#define SC4(n, a, b, c, d) sc6((n), (long)(a), (long)(b), (long)(c), \
	(long)(d), 0, 0)
#define SC5(n, a, b, c, d, e) sc6((n), (long)(a), (long)(b), (long)(c), \
	(long)(d), (long)(e), 0)

/* The kernel's struct sigaction: SIG_DFL needs no restorer. */
struct k_sigaction {
	void (*handler)(int);
	unsigned long flags;
	void (*restorer)(void);
	uint64_t mask;
};

/* Reports {stage, err, arg} on the report pipe and exits 127. */
static void __attribute__((noreturn))
child_fail_at(int fd, int stage, int err, int arg)
{
	struct child_report r = { stage, err, arg };

	while (SC3(SYS_write, fd, &r, sizeof(r)) == -EINTR)
		;
	SC1(SYS_exit_group, 127);
	__builtin_unreachable();
}

/* `r` is a negative errno from SCn. */
static void __attribute__((noreturn))
child_fail(int fd, int stage, long r)
{
	child_fail_at(fd, stage, (int)-r, 0);
}

struct dirent64_raw {
	uint64_t d_ino;
	int64_t d_off;
	unsigned short d_reclen;
	unsigned char d_type;
	char d_name[];
};

/*
 * Marks every descriptor above 2 close-on-exec, so the error pipe lives
 * until execve() and nothing else reaches the program. close_range()
 * does it in one call (Linux 5.11); before that, getdents64 on
 * /proc/self/fd with a stack buffer (opendir would malloc); last, a loop
 * up to RLIMIT_NOFILE as read before fork.
 */
static void
cloexec_from_3(const struct child *c)
{
	char dbuf[4096];
	long n, off, fd;
	int dfd;
	struct dirent64_raw *de;
	const char *p;

#ifdef SYS_close_range
	if (SC3(SYS_close_range, 3U, ~0U, CLOSE_RANGE_CLOEXEC) == 0)
		return;
#endif
	dfd = (int)SC4(SYS_openat, AT_FDCWD, "/proc/self/fd",
	    O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0);
	if (dfd >= 0) {
		while ((n = SC3(SYS_getdents64, dfd, dbuf, sizeof(dbuf))) > 0) {
			for (off = 0; off < n; off += de->d_reclen) {
				de = (struct dirent64_raw *)(dbuf + off);
				fd = 0;
				for (p = de->d_name; *p >= '0' && *p <= '9'; p++)
					fd = fd * 10 + (*p - '0');
				if (p != de->d_name && *p == '\0' && fd > 2 &&
				    fd != dfd)
					SC3(SYS_fcntl, fd, F_SETFD, FD_CLOEXEC);
			}
		}
		SC1(SYS_close, dfd);
		if (n == 0)
			return;
	}
	for (fd = 3; fd < c->open_max; fd++)
		SC3(SYS_fcntl, fd, F_SETFD, FD_CLOEXEC);
}

/* Closes [lo, hi] (hi may be ~0U), by close_range or one by one up to
 * open_max. */
static void
close_span(unsigned int lo, unsigned int hi, long open_max)
{
	long fd;

	if (lo > hi)
		return;
#ifdef SYS_close_range
	if (SC3(SYS_close_range, lo, hi, 0U) == 0)
		return;
#endif
	for (fd = lo; fd < open_max && (unsigned long)fd <= hi; fd++)
		SC1(SYS_close, fd);
}

/* Every descriptor above 2 but the n in keep[] (-1 for none; changed:
 * sorted) is closed: what our init keeps while the program starts. */
static void
close_all_but(int *keep, int n, long open_max)
{
	unsigned int lo = 3;
	int i, j, t;

	for (i = 1; i < n; i++)
		for (j = i; j > 0 && keep[j - 1] > keep[j]; j--) {
			t = keep[j];
			keep[j] = keep[j - 1];
			keep[j - 1] = t;
		}
	for (i = 0; i < n; i++) {
		if (keep[i] < (int)lo)
			continue;
		close_span(lo, (unsigned int)keep[i] - 1, open_max);
		lo = (unsigned int)keep[i] + 1;
	}
	close_span(lo, ~0U, open_max);
}

/* Default dispositions for every signal (the mask stays as it is: all
 * blocked, from child_start). Separate from the caller's table: the
 * child never has CLONE_SIGHAND. */
static void
child_default_signals(void)
{
	struct k_sigaction sa;
	int sig;

	memset(&sa, 0, sizeof(sa));
	sa.handler = SIG_DFL;
	for (sig = 1; sig < NSIG; sig++)
		if (sig != SIGKILL && sig != SIGSTOP)
			SC4(SYS_rt_sigaction, sig, &sa, NULL, 8);
}

/*
 * Puts the child's pipe ends (in, out, err: fd numbers as they were at
 * the clone) on 0, 1, 2. The report pipe and those ends may sit on 0..2
 * if the caller had those closed: they are all lifted above 2 first.
 * Returns the lifted report descriptor; fails on it.
 */
static int
child_stdio(int report, int in, int out, int err)
{
	long rep, fds[3];
	int i;

	rep = SC3(SYS_fcntl, report, F_DUPFD_CLOEXEC, 3);
	if (rep < 0)
		SC1(SYS_exit_group, 126);
	fds[0] = SC3(SYS_fcntl, in, F_DUPFD_CLOEXEC, 3);
	fds[1] = SC3(SYS_fcntl, out, F_DUPFD_CLOEXEC, 3);
	fds[2] = SC3(SYS_fcntl, err, F_DUPFD_CLOEXEC, 3);
	for (i = 0; i < 3; i++)
		if (fds[i] < 0)
			child_fail((int)rep, ST_FDS, fds[i]);
	for (i = 0; i < 3; i++) {
		/* dup3: no dup2 on every architecture; the copy is not
		 * CLOEXEC, and fds[i] > 2 == i never equals it. */
		long r = SC3(SYS_dup3, fds[i], i, 0);
		if (r < 0)
			child_fail((int)rep, ST_FDS, r);
	}
	return (int)rep;
}

/*
 * Joins the run cgroups: the v2 one unless created inside, and the v1
 * group of each controller the run has there (a write of "0" moves the
 * writer itself). Into a v1 group through its "tasks" file, which moves
 * the calling thread alone (the child has one): the kernel then skips
 * the global lock that cgroup.procs takes to move a whole thread group,
 * and with it an RCU grace period, 10 to 15 ms a run on this machine.
 * `join_cg2`: 0 when the joiner was created inside the v2 one. The child
 * without isolation joins, or the program under our init (which stays
 * out: script_main). 0 or -errno.
 */
static long
child_join(const struct child_snap *s, int join_cg2)
{
	long r;
	int i;

	if (s->cg2_procs != -1 && join_cg2 &&
	    (r = SC3(SYS_write, s->cg2_procs, "0", 1)) < 0)
		return r;
	for (i = 0; i < SANDBOX_NCTRL; i++)
		if (s->v1_procs[i] != -1 &&
		    (r = SC3(SYS_write, s->v1_procs[i], "0", 1)) < 0)
			return r;
	return 0;
}

#if defined(__x86_64__)
#define SECCOMP_ARCH AUDIT_ARCH_X86_64
#elif defined(__aarch64__)
#define SECCOMP_ARCH AUDIT_ARCH_AARCH64
#endif

#ifdef SECCOMP_ARCH
/* Namespace flags of unshare() and clone3; clone() has no CLONE_NEWTIME
 * (0x80 is in its exit-signal byte). */
#define NS_ALL_FLAGS (CLONE_NEWNS | CLONE_NEWCGROUP | CLONE_NEWUTS | \
	CLONE_NEWIPC | CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWNET | 0x80)
#define BPF_RET_ERRNO(e) BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (e))
#define BPF_RET_ALLOW BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW)
#define SD_NR offsetof(struct seccomp_data, nr)
#define SD_ARCH offsetof(struct seccomp_data, arch)
#define SD_ARG0_LO offsetof(struct seccomp_data, args[0])  /* little end */

/*
 * The program's filter: no new namespace of any kind (from a user
 * namespace, which needs no privilege on many kernels, a run could mount
 * and unshare at will), no setns, clone3 ENOSYS (its flags are out of a
 * filter's reach; libc then uses clone), and nothing of another
 * architecture (i386 calls on x86_64 have other numbers), as
 * systemd's SystemCallArchitectures=native; x32 calls too.
 */
static struct sock_filter run_filter[] = {
	/* 0 */ BPF_STMT(BPF_LD | BPF_W | BPF_ABS, SD_ARCH),
	/* 1 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SECCOMP_ARCH, 1, 0),
	/* 2 */ BPF_RET_ERRNO(ENOSYS),
	/* 3 */ BPF_STMT(BPF_LD | BPF_W | BPF_ABS, SD_NR),
	/* 4 */ BPF_JUMP(BPF_JMP | BPF_JGE | BPF_K, 0x40000000, 0, 1),
	/* 5 */ BPF_RET_ERRNO(ENOSYS),
	/* 6 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_clone3, 0, 1),
	/* 7 */ BPF_RET_ERRNO(ENOSYS),
	/* 8 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_setns, 0, 1),
	/* 9 */ BPF_RET_ERRNO(EPERM),
	/* 10 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_unshare, 0, 4),
	/* 11 */ BPF_STMT(BPF_LD | BPF_W | BPF_ABS, SD_ARG0_LO),
	/* 12 */ BPF_JUMP(BPF_JMP | BPF_JSET | BPF_K, NS_ALL_FLAGS, 0, 1),
	/* 13 */ BPF_RET_ERRNO(EPERM),
	/* 14 */ BPF_RET_ALLOW,
	/* 15 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_clone, 0, 4),
	/* 16 */ BPF_STMT(BPF_LD | BPF_W | BPF_ABS, SD_ARG0_LO),
	/* 17 */ BPF_JUMP(BPF_JMP | BPF_JSET | BPF_K, NS_ALL_FLAGS & ~0x80, 0, 1),
	/* 18 */ BPF_RET_ERRNO(EPERM),
	/* 19 */ BPF_RET_ALLOW,
	/* 20 */ BPF_RET_ALLOW,
};
#endif

/* Installs run_filter (where the architecture is known): 0 or -errno. */
static long
child_seccomp(void)
{
#ifdef SECCOMP_ARCH
	struct sock_fprog prog = {
		(unsigned short)(sizeof(run_filter) / sizeof(run_filter[0])),
		run_filter,
	};

	return SC3(SYS_prctl, PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog);
#else
	return 0;
#endif
}

/* With its identity switched: nothing it executes may raise its
 * privileges (no_new_privs: set-user-ID bits and file capabilities are
 * ignored), and no capability is left in any set. 0 or -errno. */
static long
child_no_privs(void)
{
	struct __user_cap_header_struct h = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct d[2];
	long r;

	if ((r = SC5(SYS_prctl, PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)) < 0)
		return r;
	memset(d, 0, sizeof(d));
	if ((r = SC2(SYS_capset, &h, d)) < 0)
		return r;
	r = SC5(SYS_prctl, PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
	if (r < 0 && r != -EINVAL)
		return r;
	if ((r = SC2(SYS_capget, &h, d)) < 0)
		return r;
	if ((d[0].effective | d[0].permitted | d[0].inheritable |
	    d[1].effective | d[1].permitted | d[1].inheritable) != 0)
		return -EPERM;
	return 0;
}

/*
 * What makes the program's process what the spec says, whoever runs it
 * (child_main, or script_main under our init): cwd, rlimits, identity;
 * with isolation, the seccomp filter. The cgroup was joined and rlimits
 * are set while still privileged; the identity is dropped, then checked.
 * Reads `c`, writes nothing but the kernel's state.
 */
static void
child_become(const struct child *c, int rep)
{
	const struct exec_spec *spec = c->spec;
	long r;
	int i;

	if (spec->cwd != NULL && (r = SC1(SYS_chdir, spec->cwd)) < 0)
		child_fail(rep, ST_CHDIR, r);
	for (i = 0; i < c->nrl; i++)
		if ((r = SC4(SYS_prlimit64, 0, c->rl_res[i], &c->rl[i],
		    NULL)) < 0)
			child_fail(rep, ST_RLIMIT, r);
	if (spec->uid != (uid_t)-1) {
		if ((r = SC2(SYS_setgroups, 0, NULL)) < 0 ||
		    (r = SC3(SYS_setresgid, spec->gid, spec->gid,
		    spec->gid)) < 0 ||
		    (r = SC3(SYS_setresuid, spec->uid, spec->uid,
		    spec->uid)) < 0)
			child_fail(rep, ST_IDENTITY, r);
		if (spec->uid != 0 && SC3(SYS_setresuid, 0, 0, 0) == 0)
			child_fail(rep, ST_IDENTITY, -EPERM);
		if (spec->uid != 0 && (r = child_no_privs()) < 0)
			child_fail(rep, ST_NOPRIVS, r);
	}
	if (c->iso && (r = child_seccomp()) < 0)
		child_fail(rep, ST_SECCOMP, r);
}

/*
 * Between fork and exec, without isolation: async-signal-safe calls
 * only, no malloc, no logging; `c` is read, never written (it is the
 * parent's memory, or a copy of it).
 */
static void __attribute__((noreturn))
child_main(const struct child *c)
{
	const struct exec_spec *spec = c->spec;
	long r;
	int rep;

	child_default_signals();
	rep = child_stdio(c->report[1], c->in[0], c->out[1], c->err[1]);
	cloexec_from_3(c);
	if ((r = SC0(SYS_setsid)) < 0)
		child_fail(rep, ST_SETSID, r);
	if ((r = child_join(&c->snap, c->snap.join_cg2)) < 0)
		child_fail(rep, ST_CGROUP, r);
	child_become(c, rep);
	/* Set after the identity change, which clears it. If our parent is
	 * already gone, do not run unsupervised. */
	if ((r = SC5(SYS_prctl, PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0)) < 0)
		child_fail(rep, ST_PDEATH, r);
	if (SC0(SYS_getppid) != c->parent)
		child_fail(rep, ST_PDEATH, -ESRCH);
	SC4(SYS_rt_sigprocmask, SIG_SETMASK, &c->empty, NULL, 8);
	r = SC3(SYS_execve, spec->path, c->argv, c->envp);
	child_fail(rep, ST_EXEC, r);
}

/* ---- our init (isolation) ------------------------------------------- */

/*
 * Our init's own state, on its own stack: it shares the runner's memory
 * while both run (see init_main) and writes nowhere else.
 */
struct init_ctx {
	const struct child *c;
	int rep;                        /* the report pipe, lifted */
	int64_t exec_ns;                /* written by the program: its exec */
	int join_cg2;                   /* the program must join cgroup v2 */
	int tree[MAX_NS_OPS];           /* a keep's detached copy, or -1 */
	char ro_later[MAX_NS_OPS];      /* read-only by remount (< 5.12) */
};

/* Makes every missing directory of `path` (mode 0755). Called only for a
 * path inside a tmpfs of ours (ns_op.may_mkdir): what exists is left.
 * 0 or -errno. */
static long
mkdir_p(const char *path)
{
	char p[PATH_MAX];
	size_t n = strlen(path), i;
	char saved;
	long r;

	if (n >= sizeof(p))
		return -ENAMETOOLONG;
	memcpy(p, path, n + 1);
	for (i = 1; i <= n; i++) {
		if (p[i] != '/' && p[i] != '\0')
			continue;
		saved = p[i];
		p[i] = '\0';
		r = SC3(SYS_mkdirat, AT_FDCWD, p, 0755);
		if (r < 0 && r != -EEXIST)
			return r;
		p[i] = saved;
	}
	return 0;
}

/* A hidden path covered; one that is gone (under a tmpfs already) is
 * hidden enough. 0 or -errno. */
static long
ns_cover(const struct ns_op *op)
{
	long r;

	if (op->kind == NS_HIDE_DIR)
		r = SC5(SYS_mount, "tmpfs", op->path, "tmpfs", MS_NOSUID |
		    MS_NODEV | MS_NOEXEC, "mode=0755,size=64k,nr_inodes=1024");
	else
		r = SC5(SYS_mount, "/dev/null", op->path, NULL, MS_BIND, NULL);
	return r == -ENOENT ? 0 : r;
}

static int
is_keep(const struct ns_op *op)
{
	return op->kind == NS_KEEP || op->kind == NS_KEEP_RO;
}

/*
 * The run's file system (see exec.h and struct ns_op for the order), in
 * our init, in the new mount namespace. Returns 0, or -errno with
 * *where (an ns_op index or MNT_*).
 */
/* In the run's proc: what stays read-only (ns_mount_all). */
static const char *const proc_ro[] = { "/proc/sys", "/proc/sysrq-trigger",
    "/proc/irq", "/proc/bus", "/proc/fs" };

static long
ns_mount_all(struct init_ctx *x, int *where)
{
	const struct child *c = x->c;
	struct mount_attr ro = { MOUNT_ATTR_RDONLY, 0, 0, 0 };
	const struct ns_op *op;
	long r;
	int i;

	/* Nothing mounted here may reach the host; the host's mounts still
	 * appear here (a share mounted meanwhile). */
	*where = MNT_PROPAGATION;
	if ((r = SC5(SYS_mount, NULL, "/", NULL, MS_REC | MS_SLAVE,
	    NULL)) < 0)
		return r;
	for (i = 0; i < c->nops; i++) {
		op = &c->ops[i];
		x->tree[i] = -1;
		x->ro_later[i] = 0;
		if (!is_keep(op))
			continue;
		*where = i;
		r = SC3(SYS_open_tree, AT_FDCWD, op->path, OPEN_TREE_CLONE |
		    OPEN_TREE_CLOEXEC | AT_RECURSIVE);
		if (r < 0)
			return r;
		x->tree[i] = (int)r;
		if (op->kind == NS_KEEP_RO && (r = SC5(SYS_mount_setattr,
		    x->tree[i], "", AT_EMPTY_PATH | AT_RECURSIVE, &ro,
		    sizeof(ro))) < 0) {
			if (r != -ENOSYS)
				return r;
			x->ro_later[i] = 1;     /* Linux < 5.12 */
		}
	}
	for (i = 0; i < c->nops; i++) {
		op = &c->ops[i];
		*where = i;
		if (op->kind == NS_TMP && (r = SC5(SYS_mount, "tmpfs",
		    op->path, "tmpfs", MS_NOSUID | MS_NODEV,
		    "mode=1777")) < 0)
			return r;
		if ((op->kind == NS_HIDE_DIR || op->kind == NS_HIDE_FILE) &&
		    (r = ns_cover(op)) < 0)
			return r;
	}
	for (i = 0; i < c->nops; i++) {
		op = &c->ops[i];
		if (!is_keep(op))
			continue;
		*where = i;
		if (op->may_mkdir && (r = mkdir_p(op->path)) < 0)
			return r;
		if ((r = SC5(SYS_move_mount, x->tree[i], "", AT_FDCWD,
		    op->path, MOVE_MOUNT_F_EMPTY_PATH)) < 0)
			return r;
		SC1(SYS_close, x->tree[i]);
		x->tree[i] = -1;
		if (x->ro_later[i] && (r = SC5(SYS_mount, NULL, op->path, NULL,
		    MS_REMOUNT | MS_BIND | MS_RDONLY | op->mflags, NULL)) < 0)
			return r;
	}
	for (i = 0; i < c->nops; i++) {
		op = &c->ops[i];
		*where = i;
		if (op->again && (r = ns_cover(op)) < 0)
			return r;
	}
	/* Only a process of the new PID namespace mounts its proc. Other
	 * users' processes (our init) are not shown. */
	*where = MNT_PROC;
	if ((r = SC5(SYS_mount, "proc", "/proc", "proc", MS_NOSUID | MS_NODEV |
	    MS_NOEXEC, "hidepid=2")) < 0)
		return r;
	/* The kernel's tunables stay read-only, as in the proc it replaces
	 * (systemd's ProtectKernelTunables=): bound on themselves, then
	 * remounted read-only. */
	for (i = 0; i < (int)(sizeof(proc_ro) / sizeof(proc_ro[0])); i++) {
		r = SC5(SYS_mount, proc_ro[i], proc_ro[i], NULL, MS_BIND, NULL);
		if (r == -ENOENT)
			continue;
		if (r < 0 || (r = SC5(SYS_mount, NULL, proc_ro[i], NULL,
		    MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV |
		    MS_NOEXEC, NULL)) < 0)
			return r;
	}
	return 0;
}

static int64_t
init_now_ns(void)
{
	struct timespec now;

	SC2(SYS_clock_gettime, CLOCK_MONOTONIC, &now);
	return (int64_t)now.tv_sec * 1000000000 + now.tv_nsec;
}

/* The program, under our init: its own session, then as child_main. It
 * shares the memory until its exec (CLONE_VM): reads only, but for the
 * time of its exec, which the init reads once it has reaped it. */
static void __attribute__((noreturn))
script_main(struct init_ctx *x)
{
	const struct child *c = x->c;
	long r;

	if ((r = SC0(SYS_setsid)) < 0)
		child_fail(x->rep, ST_SETSID, r);
	if ((r = child_join(&c->snap, x->join_cg2)) < 0)
		child_fail(x->rep, ST_CGROUP, r);
	child_become(c, x->rep);
	SC4(SYS_rt_sigprocmask, SIG_SETMASK, &c->empty, NULL, 8);
	x->exec_ns = init_now_ns();
	r = SC3(SYS_execve, c->spec->path, c->argv, c->envp);
	child_fail(x->rep, ST_EXEC, r);
}

#ifdef HAVE_CLONE3_VM
static int
script_entry(void *arg)
{
	script_main(arg);
}
#endif

/*
 * Starts the program from our init: on x86_64 with CLONE_VM (nothing
 * copied), on the lower part of the init's stack mapping (the init's own
 * frames stay near its top), without CLONE_VFORK: the init goes on at
 * once and lets go of the report pipe, so that the program's exec, not a
 * wake-up of the init after it, tells the executor the program started
 * (each hand-off between tasks may wait a scheduler tick on a loaded
 * host). Inside the run cgroup v2 when clone3 may (CLONE_INTO_CGROUP),
 * else the program joins it (x->join_cg2). Elsewhere as fork, the program
 * joining. Its pid, or -errno.
 */
static long
spawn_script(struct init_ctx *x)
{
#ifdef HAVE_CLONE3_VM
	char *stack = (char *)x->c->init_stack + 4096;
	const struct child_snap *s = &x->c->snap;
	struct clone3_args a;
	long pid;

	if (s->cg2_dir != -1) {
		memset(&a, 0, sizeof(a));
		a.flags = CLONE3_VM | CLONE3_INTO_CGROUP;
		a.cgroup = (uint64_t)s->cg2_dir;
		a.exit_signal = SIGCHLD;
		a.stack = (uint64_t)(uintptr_t)stack;
		a.stack_size = SCRIPT_STACK_SIZE;
		x->join_cg2 = 0;
		pid = sto_clone3_call(&a, sizeof(a), script_entry, x);
		if (pid > 0)
			return pid;
	}
	x->join_cg2 = 1;
	return sto_clone_call(CLONE_VM | SIGCHLD, stack + SCRIPT_STACK_SIZE,
	    script_entry, x);
#else
	long pid;

	x->join_cg2 = 1;
	pid = SC5(SYS_clone, SIGCHLD, 0, 0, 0, 0);
	if (pid == 0)
		script_main(x);
	return pid;
#endif
}

/*
 * Our init's life after the start: every signal stays blocked and is
 * taken with sigtimedwait, so PID 1's rule (a signal without a handler
 * is dropped) does not apply to the ones it waits for. The forwarded
 * ones go to the program's process group; every child is reaped; when
 * the program is, its wait status goes to the executor and the init
 * exits, upon which the kernel kills whatever is left in the namespace.
 */
static void __attribute__((noreturn))
init_loop(const struct init_ctx *x, long script, int st)
{
	const struct child *c = x->c;
	struct init_word w;
	siginfo_t si;
	long sig, p;
	int status;

	for (;;) {
		sig = SC4(SYS_rt_sigtimedwait, &c->init_wait, &si, NULL, 8);
		if (sig < 0)
			continue;       /* EINTR */
		if (sig != SIGCHLD) {
			SC2(SYS_kill, -script, sig);
			continue;
		}
		while ((p = SC4(SYS_wait4, -1, &status, WNOHANG | __WALL,
		    NULL)) > 0) {
			if (p != script)
				continue;
			memset(&w, 0, sizeof(w));
			w.status = status;
			w.start_ns = x->exec_ns;    /* 0 if it never exec'd */
			w.end_ns = init_now_ns();
			while (SC3(SYS_write, st, &w, sizeof(w)) == -EINTR)
				;
			SC1(SYS_exit_group, 0);
		}
	}
}

/*
 * The first process of the run's namespaces (PID 1 there). On x86_64 it
 * shares the caller's memory on a stack of its own (CLONE_VM without
 * CLONE_VFORK: both run), so that starting a run copies nothing of the
 * runner, and no page the runner writes during the run faults for a
 * copy; the price is discipline: it reads only what the parent will not
 * change before it is reaped (the spec, the prepared steps, c->snap),
 * writes only its own stack (struct init_ctx), and makes system calls
 * that never touch errno (SCn). Elsewhere it is a copy (fork_into_run).
 *
 * It sets up the descriptors, the cgroup, its tie to the caller and the
 * run's mounts, then starts the program (script_main) and waits for it
 * (init_loop). Every failure goes to the report pipe as in child_main,
 * with the step. It keeps only the report and status pipes beside 0-2,
 * and lets go of those and of 0-2 once the program is started, so the
 * program alone holds its pipes.
 */
static void __attribute__((noreturn))
init_main(const struct child *c)
{
	const struct child_snap *s = &c->snap;
	struct timespec zero = { 0, 0 };
	struct init_ctx x;
	struct pollfd pfd;
	int st, where = 0, i, keep[4 + SANDBOX_NCTRL];
	long r, script;

	x.c = c;
	x.exec_ns = 0;
	child_default_signals();
	x.rep = child_stdio(s->report, s->in, s->out, s->err);
	r = SC3(SYS_fcntl, s->word, F_DUPFD_CLOEXEC, 3);
	if (r < 0)
		child_fail(x.rep, ST_FDS, r);
	st = (int)r;
	/* A process group of its own (the fallback tree kill signals it),
	 * not a session: a new session is a new scheduler autogroup, which
	 * on a loaded host may wait a tick for the CPU; the program makes
	 * its own session. */
	if ((r = SC2(SYS_setpgid, 0, 0)) < 0)
		child_fail(x.rep, ST_SETSID, r);
	/* getppid() is 0 in a new PID namespace: the caller's pidfd tells
	 * whether it died before PR_SET_PDEATHSIG took hold. */
	if ((r = SC5(SYS_prctl, PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0)) < 0)
		child_fail(x.rep, ST_PDEATH, r);
	if (s->parent_pidfd != -1) {
		pfd.fd = s->parent_pidfd;
		pfd.events = POLLIN;
		pfd.revents = 0;
		if (SC5(SYS_ppoll, &pfd, 1, &zero, NULL, 8) != 0)
			child_fail(x.rep, ST_PDEATH, -ESRCH);
	}
	keep[0] = x.rep;
	keep[1] = st;
	keep[2] = s->cg2_procs;
	keep[3] = s->cg2_dir;
	for (i = 0; i < SANDBOX_NCTRL; i++)
		keep[4 + i] = s->v1_procs[i];
	close_all_but(keep, 4 + SANDBOX_NCTRL, c->open_max);
	/* Not readable through /proc by anyone but root, and named. */
	SC5(SYS_prctl, PR_SET_DUMPABLE, 0, 0, 0, 0);
	SC5(SYS_prctl, PR_SET_NAME, "sto-init", 0, 0, 0);
	if ((c->ns_flags & CLONE_NEWNS) && (r = ns_mount_all(&x, &where)) < 0)
		child_fail_at(x.rep, ST_MOUNT, (int)-r, where);
	script = spawn_script(&x);
	if (script < 0)
		child_fail(x.rep, ST_INIT, script);
	/* The program has its own copies of the cgroup descriptors. */
	if (s->cg2_procs != -1)
		SC1(SYS_close, s->cg2_procs);
	if (s->cg2_dir != -1)
		SC1(SYS_close, s->cg2_dir);
	for (i = 0; i < SANDBOX_NCTRL; i++)
		if (s->v1_procs[i] != -1)
			SC1(SYS_close, s->v1_procs[i]);
	SC1(SYS_close, x.rep);
	SC1(SYS_close, 0);
	SC1(SYS_close, 1);
	SC1(SYS_close, 2);
	init_loop(&x, script, st);
}

#ifdef HAVE_CLONE3_VM
static int
child_entry(void *arg)
{
	child_main(arg);
}

static int
init_entry(void *arg)
{
	init_main(arg);
}
#endif

/*
 * Starts a child that runs child_main(c). On x86_64 as posix_spawn does:
 * the child shares our memory and we are suspended until it execs or
 * exits (CLONE_VM | CLONE_VFORK), so no page table of the runner is
 * copied and none of its pages faults afterwards; it is still created
 * inside the run cgroup. Elsewhere, or if the kernel refuses, a copy as
 * fork_into_run() makes it. Returns the child's pid, 0 in a forked child
 * (which must call child_main), or -1.
 *
 * With isolation the child is our init instead: on x86_64 it shares our
 * memory too, without CLONE_VFORK (it lives on after the program's exec)
 * and on the stack prepared for it, in the new namespaces (clone3, or
 * clone where a seccomp filter makes clone3 ENOSYS); elsewhere a copy
 * by fork_into_run(), 0 in it, which must call init_main.
 */
static pid_t
spawn_child(struct child *c)
{
	struct sandbox_run *run = &c->run;
#ifdef HAVE_CLONE3_VM
	_Alignas(64) char stack[CHILD_STACK_SIZE];
	struct clone3_args a;
	int saved = errno;
	long pid;
#endif

#ifdef HAVE_CLONE3_VM
	memset(&a, 0, sizeof(a));
	a.flags = CLONE3_VM | (c->iso ? 0 : CLONE3_VFORK) | c->ns_flags;
	c->snap.join_cg2 = 1;
	if (run->cg2.dir_fd != -1 && !c->iso) {
		a.flags |= CLONE3_INTO_CGROUP;
		a.cgroup = (uint64_t)run->cg2.dir_fd;
		c->snap.join_cg2 = 0;
	}
	a.exit_signal = SIGCHLD;
	if (c->iso) {
		a.stack = (uint64_t)(uintptr_t)c->init_stack;
		a.stack_size = c->init_stack_len;
	} else {
		a.stack = (uint64_t)(uintptr_t)stack;
		a.stack_size = sizeof(stack);
	}
	pid = sto_clone3_call(&a, sizeof(a), c->iso ? init_entry : child_entry,
	    (void *)c);
	if (pid > 0) {
		/* The plain child ran on our memory until its exec: errno
		 * may be its. */
		errno = saved;
		return (pid_t)pid;
	}
	/* clone3 refused (ENOSYS under a seccomp filter, or the cgroup):
	 * clone, the child joining its cgroup itself. */
	c->snap.join_cg2 = 1;
	if (c->iso) {
		pid = sto_clone_call(CLONE_VM | c->ns_flags | SIGCHLD,
		    (char *)c->init_stack + c->init_stack_len, init_entry,
		    (void *)c);
		errno = pid > 0 ? saved : (int)-pid;
		return pid > 0 ? (pid_t)pid : -1;
	}
#endif
	c->snap.join_cg2 = 1;
	return fork_into_run(c->iso ? -1 : run->cg2.dir_fd, c->ns_flags,
	    &c->snap.join_cg2);
}

/* ---- the parent ----------------------------------------------------- */

static void
close_fd(int *fd)
{
	if (*fd != -1) {
		close(*fd);
		*fd = -1;
	}
}

static int
set_nonblock(int fd)
{
	int fl = fcntl(fd, F_GETFL);

	if (fl == -1 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) == -1)
		return -1;
	return 0;
}

/* The path of a ST_MOUNT report's step. */
static const char *
mount_step(const struct child *ch, int arg)
{
	if (arg == MNT_PROPAGATION)
		return "/";
	if (arg == MNT_PROC)
		return "/proc";
	if (arg >= 0 && arg < ch->nops)
		return ch->ops[arg].path;
	return "?";
}

static void
report_message(const struct child_report *r, const struct child *ch,
    char *err, size_t errlen)
{
	const struct exec_spec *spec = ch->spec;
	const char *why = strerror(r->err);

	switch (r->stage) {
	case ST_MOUNT:
		snprintf(err, errlen, "cannot set up the run's mounts at "
		    "\"%s\": %s", mount_step(ch, r->arg), why);
		break;
	case ST_INIT:
		snprintf(err, errlen, "cannot start the program in the run's "
		    "namespaces: %s", why);
		break;
	case ST_NOPRIVS:
		snprintf(err, errlen, "cannot take every privilege from the "
		    "child: %s", why);
		break;
	case ST_SECCOMP:
		snprintf(err, errlen, "cannot restrict the child's system "
		    "calls: %s", why);
		break;

	case ST_EXEC:
		snprintf(err, errlen, "cannot execute \"%s\": %s", spec->path,
		    why);
		break;
	case ST_CHDIR:
		snprintf(err, errlen, "cannot change directory to \"%s\": %s",
		    spec->cwd, why);
		break;
	case ST_RLIMIT:
		snprintf(err, errlen, "cannot set resource limits: %s", why);
		break;
	case ST_IDENTITY:
		snprintf(err, errlen, "cannot switch to uid %ld gid %ld: %s",
		    (long)spec->uid, (long)spec->gid, why);
		break;
	case ST_CGROUP:
		snprintf(err, errlen, "cannot join the run cgroup: %s", why);
		break;
	case ST_SETSID:
		snprintf(err, errlen, "cannot start a session: %s", why);
		break;
	case ST_PDEATH:
		snprintf(err, errlen, "cannot tie the child to its parent: %s",
		    why);
		break;
	default:
		snprintf(err, errlen, "cannot set up descriptors: %s", why);
		break;
	}
}

/* Reads the child's report to EOF: 0 if it exec'd, 1 with *r filled if
 * it failed, -1 if the pipe could not be read. */
static int
read_report(int fd, struct child_report *r)
{
	size_t got = 0;
	ssize_t n;

	for (;;) {
		n = read(fd, (char *)r + got, sizeof(*r) - got);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1)
			return -1;
		if (n == 0)
			break;
		got += (size_t)n;
		if (got == sizeof(*r))
			return 1;
	}
	if (got != 0) {                 /* torn report: say so */
		r->stage = ST_FDS;
		r->err = EIO;
		return 1;
	}
	return 0;
}

/* Reads our init's word, there in full once the init is reaped: 0, or
 * -1 when it said nothing (killed first). */
static int
read_word(int fd, struct init_word *w)
{
	ssize_t n;

	if (fd == -1)
		return -1;
	do
		n = read(fd, w, sizeof(*w));
	while (n == -1 && errno == EINTR);
	return n == (ssize_t)sizeof(*w) ? 0 : -1;
}

static void
add_rlimit(struct child *c, int res, long long v)
{
	if (v <= 0)
		return;
	c->rl_res[c->nrl] = res;
	c->rl[c->nrl].rlim_cur = (rlim_t)v;
	c->rl[c->nrl].rlim_max = (rlim_t)v;
	/* CPU: SIGXCPU at the soft limit lets the script notice; the kernel
	 * sends SIGKILL at the hard limit one second later. */
	if (res == RLIMIT_CPU)
		c->rl[c->nrl].rlim_max = (rlim_t)v + 1;
	c->nrl++;
}

static pid_t
wait_pid(pid_t pid, int *status, int flags, struct rusage *ru)
{
	pid_t r;

	do
		r = wait4(pid, status, flags, ru);
	while (r == -1 && errno == EINTR);
	return r;
}

/* Reads what is there (bounded, to stay fair to the other stream). */
static void
drain_fd(int *fd, struct capture *cap)
{
	char chunk[IO_CHUNK];
	ssize_t n;
	int i;

	for (i = 0; i < 16; i++) {
		n = read(*fd, chunk, sizeof(chunk));
		if (n > 0) {
			capture_add(cap, chunk, (size_t)n);
			continue;
		}
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && errno == EAGAIN)
			return;
		if (n == -1)
			log_warn("cannot read child output");
		close_fd(fd);
		return;
	}
}

/* Writes what the pipe takes; closes it when all is written or the
 * child closed its end (EPIPE is normal: not every program reads). */
static void
feed_stdin(int *fd, const struct exec_spec *spec, size_t *off)
{
	size_t left;
	ssize_t n;

	while (*off < spec->stdin_len) {
		left = spec->stdin_len - *off;
		if (left > IO_CHUNK)
			left = IO_CHUNK;
		n = write(*fd, (const char *)spec->stdin_data + *off, left);
		if (n > 0) {
			*off += (size_t)n;
			continue;
		}
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && errno == EAGAIN)
			return;
		if (n == -1 && errno != EPIPE)
			log_warn("cannot write child input");
		break;
	}
	close_fd(fd);
}

static int
ms_until(int64_t now, int64_t when)
{
	int64_t d;

	if (when <= now)
		return 0;
	d = (when - now + 999999) / 1000000;
	return d > INT_MAX ? INT_MAX : (int)d;
}

static void
min_timeout(int *t, int v)
{
	if (*t < 0 || v < *t)
		*t = v;
}

static int
pidfd_open_compat(pid_t pid)
{
#ifdef SYS_pidfd_open
	return (int)syscall(SYS_pidfd_open, pid, 0);
#else
	(void)pid;
	errno = ENOSYS;
	return -1;
#endif
}

/* An idle child: nothing held, every descriptor -1; `res` emptied. */
static void
child_init(struct child *ch, const struct exec_spec *spec,
    const struct exec_hooks *hooks, struct exec_result *res)
{
	size_t cap = spec->capture_cap ? spec->capture_cap :
	    EXEC_DEFAULT_CAPTURE_CAP;

	memset(ch, 0, sizeof(*ch));
	ch->spec = spec;
	ch->hooks = hooks;
	ch->res = res;
	ch->in[0] = ch->in[1] = ch->out[0] = ch->out[1] = -1;
	ch->err[0] = ch->err[1] = ch->report[0] = ch->report[1] = -1;
	ch->word_pipe[0] = ch->word_pipe[1] = ch->parent_pidfd = -1;
	sandbox_run_init(&ch->run);
	ch->pid = -1;
	ch->pidfd = -1;

	memset(res, 0, sizeof(*res));
	capture_init(&res->out, cap);
	capture_init(&res->err, cap);
	res->exit_code = -1;
}

/* Is `path` `dir` or below it? Both resolved. */
static int
path_within(const char *path, const char *dir)
{
	size_t n = strlen(dir);

	if (strcmp(dir, "/") == 0)
		return 1;
	return strncmp(path, dir, n) == 0 && (path[n] == '/' ||
	    path[n] == '\0');
}

static int
keep_order(const void *a, const void *b)
{
	size_t la = strlen(((const struct ns_op *)a)->path);
	size_t lb = strlen(((const struct ns_op *)b)->path);

	return la < lb ? -1 : la > lb;
}

/* Mount flags a read-only remount must keep (Linux < 5.12 only). */
static unsigned long
keep_mflags(const char *path)
{
	struct statvfs v;
	unsigned long f = 0;

	if (statvfs(path, &v) == -1)
		return 0;
	if (v.f_flag & ST_NOSUID)
		f |= MS_NOSUID;
	if (v.f_flag & ST_NODEV)
		f |= MS_NODEV;
	if (v.f_flag & ST_NOEXEC)
		f |= MS_NOEXEC;
	if (v.f_flag & ST_NOATIME)
		f |= MS_NOATIME;
	if (v.f_flag & ST_NODIRATIME)
		f |= MS_NODIRATIME;
	if (v.f_flag & ST_RELATIME)
		f |= MS_RELATIME;
	return f;
}

/* Adds a step for `path` (resolved here). A missing path is skipped when
 * `optional`, else an error; kind NS_HIDE_DIR becomes NS_HIDE_FILE for
 * anything but a directory, and a keep must be a directory. */
static int
add_op(struct child *ch, enum ns_kind kind, const char *path, int optional,
    char *err, size_t errlen)
{
	struct ns_op *op;
	struct stat st;
	char *real;
	int i;

	if (path == NULL || path[0] != '/') {
		snprintf(err, errlen, "cannot isolate the run: \"%s\" is not "
		    "an absolute path", path ? path : "");
		return -1;
	}
	real = realpath(path, NULL);
	if (real == NULL && optional && (errno == ENOENT || errno == ENOTDIR))
		return 0;
	if (real == NULL || stat(real, &st) == -1) {
		snprintf(err, errlen, "cannot isolate the run: \"%s\": %s",
		    path, strerror(errno));
		free(real);
		return -1;
	}
	if (kind == NS_HIDE_DIR && !S_ISDIR(st.st_mode))
		kind = NS_HIDE_FILE;
	if ((kind == NS_TMP || kind == NS_KEEP || kind == NS_KEEP_RO) &&
	    !S_ISDIR(st.st_mode)) {
		free(real);
		if (kind == NS_TMP)
			return 0;
		snprintf(err, errlen, "cannot isolate the run: \"%s\" is not a "
		    "directory", path);
		return -1;
	}
	if (strcmp(real, "/") == 0 && kind != NS_KEEP && kind != NS_KEEP_RO) {
		free(real);
		snprintf(err, errlen, "cannot isolate the run: \"%s\" is the "
		    "root directory", path);
		return -1;
	}
	for (i = 0; i < ch->nops; i++) {
		if (ch->ops[i].kind == kind &&
		    strcmp(ch->ops[i].path, real) == 0) {
			free(real);     /* given twice (/var/tmp -> /tmp) */
			return 0;
		}
	}
	if (ch->nops == MAX_NS_OPS) {
		free(real);
		snprintf(err, errlen, "cannot isolate the run: more than %d "
		    "paths", EXEC_MAX_ISOLATION_PATHS);
		return -1;
	}
	op = &ch->ops[ch->nops++];
	memset(op, 0, sizeof(*op));
	op->kind = kind;
	op->path = real;
	if (kind == NS_KEEP || kind == NS_KEEP_RO)
		op->mflags = keep_mflags(real);
	return 0;
}

static int
add_ops(struct child *ch, enum ns_kind kind, const char *const *paths,
    int optional, char *err, size_t errlen)
{
	for (; paths != NULL && *paths != NULL; paths++)
		if (add_op(ch, kind, *paths, optional, err, errlen) == -1)
			return -1;
	return 0;
}

/*
 * The namespaces and the mount steps of a run with isolation (see
 * struct ns_op): the steps resolved and ordered here, where allocating
 * is allowed; our init only carries them out. Returns 0, or -1 with err.
 */
static int
child_isolate(struct child *ch, char *err, size_t errlen)
{
	static const char *const tmp_dirs[] = { "/tmp", "/var/tmp",
	    "/dev/shm", NULL };
	const struct exec_isolation *iso = ch->spec->isolation;
	int i, j, nkeep0;

	if (ch->spec->network_none)
		ch->ns_flags |= CLONE_NEWNET;
	if (iso == NULL)
		return 0;
	ch->iso = 1;
	ch->ns_flags |= CLONE_NEWPID | CLONE_NEWNS | CLONE_NEWIPC;
	if (add_ops(ch, NS_TMP, tmp_dirs, 1, err, errlen) == -1 ||
	    add_ops(ch, NS_HIDE_DIR, iso->hide, 1, err, errlen) == -1)
		return -1;
	nkeep0 = ch->nops;
	if (add_ops(ch, NS_KEEP, iso->keep, 0, err, errlen) == -1 ||
	    add_ops(ch, NS_KEEP_RO, iso->keep_ro, 0, err, errlen) == -1)
		return -1;
	/* Outer keeps are put in place before inner ones. */
	qsort(ch->ops + nkeep0, (size_t)(ch->nops - nkeep0),
	    sizeof(ch->ops[0]), keep_order);
	for (i = 0; i < ch->nops; i++) {
		for (j = 0; j < ch->nops; j++) {
			if (i == j || !path_within(ch->ops[i].path,
			    ch->ops[j].path))
				continue;
			if (!is_keep(&ch->ops[i]) && ch->ops[i].kind != NS_TMP &&
			    is_keep(&ch->ops[j]))
				ch->ops[i].again = 1;
			if (is_keep(&ch->ops[i]) &&
			    (ch->ops[j].kind == NS_TMP ||
			    ch->ops[j].kind == NS_HIDE_DIR))
				ch->ops[i].may_mkdir = 1;
		}
	}
	if (pipe2(ch->word_pipe, O_CLOEXEC) == -1) {
		snprintf(err, errlen, "cannot create a pipe: %s",
		    strerror(errno));
		return -1;
	}
	ch->parent_pidfd = pidfd_open_compat(getpid());
#ifdef HAVE_CLONE3_VM
	ch->init_stack = mmap(NULL, INIT_STACK_SIZE, PROT_READ | PROT_WRITE,
	    MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
	if (ch->init_stack == MAP_FAILED) {
		ch->init_stack = NULL;
		snprintf(err, errlen, "cannot map a stack: %s", strerror(errno));
		return -1;
	}
	ch->init_stack_len = INIT_STACK_SIZE;
	(void)mprotect(ch->init_stack, 4096, PROT_NONE);     /* a guard */
#endif
	sigemptyset(&ch->init_wait);
	sigaddset(&ch->init_wait, SIGCHLD);
	for (i = 0; i < (int)(sizeof(forwarded) / sizeof(forwarded[0])); i++)
		sigaddset(&ch->init_wait, forwarded[i]);
	return 0;
}

/*
 * Before the clone: the pipes, the sandbox run (the caller becomes a
 * subreaper, the run cgroups are made or taken), and everything the
 * child process reads. Returns 0, or -1 with err filled.
 */
static int
child_prepare(struct child *ch, char *err, size_t errlen)
{
	static char *const empty_env[] = { NULL };
	const struct exec_spec *spec = ch->spec;
	struct rlimit nofile;

	if (spec->path == NULL || spec->path[0] != '/') {
		snprintf(err, errlen, "program path \"%s\" is not absolute",
		    spec->path ? spec->path : "");
		return -1;
	}
	if (pipe2(ch->in, O_CLOEXEC) == -1 || pipe2(ch->out, O_CLOEXEC) == -1 ||
	    pipe2(ch->err, O_CLOEXEC) == -1 ||
	    pipe2(ch->report, O_CLOEXEC) == -1) {
		snprintf(err, errlen, "cannot create a pipe: %s",
		    strerror(errno));
		return -1;
	}
	if (child_isolate(ch, err, errlen) == -1)
		return -1;
	if (sandbox_run_prepare(spec->sandbox, &ch->run, err, errlen) == -1)
		return -1;
	/* Our init stays out of the run's cgroups (init_main): the tree's
	 * SIGTERM need not reach it (it would pass it on to the program's
	 * group a second time), its SIGKILL must (sandbox.c). */
	ch->run.main_is_init = ch->iso;
	/* The tree's limits in its cgroups, before anything can join. */
	if (limits_apply(&ch->run, spec->limits, err, errlen) == -1)
		return -1;
	ch->snap.in = ch->in[0];
	ch->snap.out = ch->out[1];
	ch->snap.err = ch->err[1];
	ch->snap.report = ch->report[1];
	ch->snap.word = ch->word_pipe[1];
	ch->snap.parent_pidfd = ch->parent_pidfd;
	ch->snap.cg2_procs = ch->run.cg2.procs_fd;
	ch->snap.cg2_dir = ch->run.cg2.dir_fd;
	ch->snap.join_cg2 = 1;
	for (int i = 0; i < SANDBOX_NCTRL; i++)
		ch->snap.v1_procs[i] = ch->run.v1_procs_fd[i];

	ch->default_argv[0] = (char *)spec->path;
	ch->default_argv[1] = NULL;
	ch->argv = spec->argv ? spec->argv : ch->default_argv;
	ch->envp = spec->envp ? spec->envp : empty_env;
	if (spec->limits != NULL) {
		add_rlimit(ch, RLIMIT_CPU, spec->limits->cpu_s);
		add_rlimit(ch, RLIMIT_AS, spec->limits->as_bytes);
		add_rlimit(ch, RLIMIT_NOFILE, spec->limits->nofile);
		add_rlimit(ch, RLIMIT_NPROC, spec->limits->nproc);
		add_rlimit(ch, RLIMIT_FSIZE, spec->limits->fsize_bytes);
	}
	ch->open_max = 65536;
	if (getrlimit(RLIMIT_NOFILE, &nofile) == 0 &&
	    nofile.rlim_cur != RLIM_INFINITY)
		ch->open_max = (long)nofile.rlim_cur;
	ch->parent = getpid();
	sigemptyset(&ch->empty);
	return 0;
}

/*
 * Once the exec succeeded: the pipes made non-blocking, SIGPIPE blocked
 * while stdin is fed (undone by child_release), the deadline and the
 * first tick set from t_start.
 */
static void
child_arm(struct child *ch)
{
	const struct exec_spec *spec = ch->spec;
	const struct exec_hooks *h = ch->hooks;
	sigset_t pending;

	if (spec->stdin_data == NULL || spec->stdin_len == 0)
		close_fd(&ch->in[1]);
	if ((ch->in[1] != -1 && set_nonblock(ch->in[1]) == -1) ||
	    set_nonblock(ch->out[0]) == -1 || set_nonblock(ch->err[0]) == -1)
		log_warn("cannot make the child's pipes non-blocking");

	/* EPIPE instead of SIGPIPE while feeding stdin; see exec.h. */
	sigemptyset(&ch->pipeset);
	sigaddset(&ch->pipeset, SIGPIPE);
	sigpending(&pending);
	ch->pipe_was_pending = sigismember(&pending, SIGPIPE);
	pthread_sigmask(SIG_BLOCK, &ch->pipeset, &ch->pipe_oldmask);
	ch->pipe_blocked = 1;

	if (spec->timeout_s > 0)
		ch->deadline = ch->t_start + (int64_t)(spec->timeout_s * 1e9);
	if (h != NULL && h->tick != NULL) {
		ch->tick_ms = h->tick_ms > 0 ? h->tick_ms : 1000;
		ch->next_tick = ch->t_start + ch->tick_ms * NS_PER_MS;
	}
}

/*
 * Asks the ready hook, clones the child (every signal blocked meanwhile,
 * so that no handler of the caller runs in it before it resets them),
 * closes its ends of the pipes and reads its report to EOF. Returns 0
 * once the exec succeeded (the started hook called, the child armed), or
 * -1 with err filled: a child that reported a failure is reaped here, one
 * whose report could not be read is killed and reaped by child_release().
 */
static int
child_start(struct child *ch, char *err, size_t errlen)
{
	const struct exec_hooks *h = ch->hooks;
	struct child_report report;
	sigset_t all, old;
	int r, saved;

	if (h != NULL && h->ready != NULL && h->ready(h->arg) == -1) {
		ch->res->refused = 1;
		snprintf(err, errlen, "not started: the caller withdrew it");
		return -1;
	}
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	ch->pid = spawn_child(ch);
	if (ch->pid == 0) {
		if (ch->iso)
			init_main(ch);
		child_main(ch);
	}
	saved = errno;
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (ch->pid == -1 && ch->ns_flags != 0) {
		snprintf(err, errlen, "cannot create the run's namespaces: %s",
		    strerror(saved));
		return -1;
	}
	if (ch->pid == -1) {
		snprintf(err, errlen, "cannot fork: %s", strerror(saved));
		return -1;
	}
	ch->run.pid = ch->pid;
	close_fd(&ch->in[0]);
	close_fd(&ch->out[1]);
	close_fd(&ch->err[1]);
	close_fd(&ch->report[1]);
	close_fd(&ch->word_pipe[1]);
	close_fd(&ch->parent_pidfd);

	r = read_report(ch->report[0], &report);
	saved = errno;
	close_fd(&ch->report[0]);
	if (r == -1) {
		snprintf(err, errlen, "cannot read the child's report: %s",
		    strerror(saved));
		return -1;
	}
	if (r == 1) {
		report_message(&report, ch, err, errlen);
		wait_pid(ch->pid, &ch->status, 0, NULL);
		ch->pid = -1;
		return -1;
	}
	ch->t_start = clock_mono_ns();
	ch->pidfd = pidfd_open_compat(ch->pid);
	if (ch->pidfd == -1 && errno != ENOSYS)
		log_warn("pidfd_open %ld", (long)ch->pid);
	if (h != NULL && h->started != NULL)
		h->started(h->arg, ch->pid);
	child_arm(ch);
	return 0;
}

/* SIGTERM to the whole tree; SIGKILL follows after the grace. */
static void
child_terminate(struct child *ch, int64_t now)
{
	double grace = ch->spec->grace_s > 0 ? ch->spec->grace_s :
	    EXEC_DEFAULT_GRACE_S;

	sandbox_run_signal(&ch->run, SIGTERM);
	ch->term_sent = 1;
	ch->kill_at = now + (int64_t)(grace * 1e9);
}

/*
 * The timers while the child runs: the deadline, the tick hook, SIGKILL
 * at the end of the grace. The tick goes on through the grace: there the
 * caller still saves live output and its heartbeat (a runner silent for
 * a whole grace period was taken for dead, issue 13). A cancel asked for
 * by a tick in the grace changes nothing: the tree is being killed
 * already, for the reason first given. Returns the time, read again
 * after a tick (which may be slow: a database commit).
 */
static int64_t
child_supervise(struct child *ch, int64_t now)
{
	const struct exec_hooks *h = ch->hooks;
	int cancel;

	if (!ch->term_sent && ch->deadline != 0 && now >= ch->deadline) {
		ch->res->timed_out = 1;
		child_terminate(ch, now);
	}
	if (ch->tick_ms > 0 && now >= ch->next_tick) {
		ch->next_tick = now + ch->tick_ms * NS_PER_MS;
		cancel = h->tick(h->arg, &ch->res->out, &ch->res->err) == 1;
		now = clock_mono_ns();
		if (cancel && !ch->term_sent) {
			ch->res->canceled = 1;
			child_terminate(ch, now);
		}
	}
	if (ch->term_sent && !ch->kill_sent && now >= ch->kill_at) {
		sandbox_run_signal(&ch->run, SIGKILL);
		ch->kill_sent = 1;
	}
	return now;
}

/* How long poll() may sleep: until the next timer, -1 for none. */
static int
child_poll_timeout(const struct child *ch, int64_t now)
{
	int t = -1;

	if (!ch->exited) {
		if (!ch->term_sent && ch->deadline != 0)
			min_timeout(&t, ms_until(now, ch->deadline));
		if (ch->tick_ms > 0)
			min_timeout(&t, ms_until(now, ch->next_tick));
		if (ch->term_sent && !ch->kill_sent)
			min_timeout(&t, ms_until(now, ch->kill_at));
		if (ch->pidfd == -1)
			min_timeout(&t, NOPIDFD_POLL_MS);
	}
	if (ch->reaped)
		min_timeout(&t, ms_until(now, ch->drain_until));
	return t;
}

/*
 * One poll() on stdin, stdout, stderr and the pidfd (git's pump_io):
 * feeds what stdin takes, reads what the others have, and notes the
 * child's exit (without a pidfd, by asking waitid() without reaping).
 */
static void
child_poll(struct child *ch, int64_t now)
{
	struct pollfd pfd[4];
	int npfd = 0, pi_in = -1, pi_out = -1, pi_err = -1, pi_pid = -1;
	siginfo_t si;

	if (ch->in[1] != -1) {
		pfd[npfd] = (struct pollfd){ ch->in[1], POLLOUT, 0 };
		pi_in = npfd++;
	}
	if (ch->out[0] != -1) {
		pfd[npfd] = (struct pollfd){ ch->out[0], POLLIN, 0 };
		pi_out = npfd++;
	}
	if (ch->err[0] != -1) {
		pfd[npfd] = (struct pollfd){ ch->err[0], POLLIN, 0 };
		pi_err = npfd++;
	}
	if (ch->pidfd != -1 && !ch->exited) {
		pfd[npfd] = (struct pollfd){ ch->pidfd, POLLIN, 0 };
		pi_pid = npfd++;
	}
	if (poll(pfd, (nfds_t)npfd, child_poll_timeout(ch, now)) == -1) {
		if (errno != EINTR) {
			log_warn("poll");
			usleep(10000);
		}
		return;
	}
	if (pi_in != -1 && pfd[pi_in].revents != 0)
		feed_stdin(&ch->in[1], ch->spec, &ch->in_off);
	if (pi_out != -1 && pfd[pi_out].revents != 0)
		drain_fd(&ch->out[0], &ch->res->out);
	if (pi_err != -1 && pfd[pi_err].revents != 0)
		drain_fd(&ch->err[0], &ch->res->err);

	if (ch->exited)
		return;
	if (pi_pid != -1) {
		ch->exited = (pfd[pi_pid].revents & POLLIN) != 0;
	} else if (ch->pidfd == -1) {
		memset(&si, 0, sizeof(si));
		ch->exited = waitid(P_PID, (id_t)ch->pid, &si, WEXITED |
		    WNOHANG | WNOWAIT) == 0 && si.si_pid == ch->pid;
	}
}

/*
 * The child exited and is a zombie: its pid and process group cannot be
 * reused yet, so killing the rest of its tree now cannot hit a stranger.
 * Then it is reaped, and its pid forgotten: never signalled again. Its
 * pipes are drained for at most EXEC_DRAIN_MS more.
 */
static void
child_reap(struct child *ch)
{
	int64_t now;

	sandbox_run_signal(&ch->run, SIGKILL);
	if (wait_pid(ch->pid, &ch->status, 0, &ch->ru) == -1) {
		log_warn("wait4 %ld", (long)ch->pid);
		memset(&ch->ru, 0, sizeof(ch->ru));
	}
	ch->pid = -1;
	ch->reaped = 1;
	now = clock_mono_ns();
	ch->res->duration_ms = (double)(now - ch->t_start) / 1e6;
	if (ch->iso && read_word(ch->word_pipe[0], &ch->word) == 0) {
		/* The program's own exec and end, as our init saw them. */
		ch->final = 1;
		if (ch->word.start_ns > 0 && ch->word.end_ns >= ch->word.start_ns)
			ch->res->duration_ms = (double)(ch->word.end_ns -
			    ch->word.start_ns) / 1e6;
	}
	close_fd(&ch->word_pipe[0]);
	ch->drain_until = now + EXEC_DRAIN_MS * NS_PER_MS;
	close_fd(&ch->in[1]);
	close_fd(&ch->pidfd);
}

/* From the start to the end: the run is done when the child is reaped
 * and its pipes are closed or the drain time is over. */
static void
child_pump(struct child *ch)
{
	int64_t now;

	for (;;) {
		now = clock_mono_ns();
		if (!ch->exited)
			now = child_supervise(ch, now);
		if (ch->reaped && (now >= ch->drain_until ||
		    (ch->out[0] == -1 && ch->err[0] == -1)))
			break;
		child_poll(ch, now);
		if (ch->exited && !ch->reaped)
			child_reap(ch);
	}
}

/* After the pump: the exit status, and the resource use of the child and
 * its whole tree (whatever is left of it is killed and waited for). */
static void
child_finish(struct child *ch)
{
	struct exec_result *res = ch->res;
	struct sandbox_run *run = &ch->run;
	/* With isolation, the program's status as our init saw it; without
	 * it (the init was killed first: SIGKILL after the grace), the
	 * init's own, which is that signal. */
	int status = ch->final ? ch->word.status : ch->status;

	if (WIFEXITED(status)) {
		res->exited = 1;
		res->exit_code = WEXITSTATUS(status);
	} else if (WIFSIGNALED(status)) {
		res->signaled = 1;
		res->signo = WTERMSIG(status);
	}
	sandbox_run_finish(run);
	/* The tree is gone: what its cgroups counted is final. Told from
	 * the program's status (with isolation, not our init's). */
	res->limit = limits_verdict(run, ch->spec->limits, status);
	res->cpu_user_ms = (long long)ch->ru.ru_utime.tv_sec * 1000000 +
	    ch->ru.ru_utime.tv_usec + run->orphan_user_us;
	res->cpu_system_ms = (long long)ch->ru.ru_stime.tv_sec * 1000000 +
	    ch->ru.ru_stime.tv_usec + run->orphan_sys_us;
	res->max_rss_kb = ch->ru.ru_maxrss > run->orphan_maxrss_kb ?
	    ch->ru.ru_maxrss : run->orphan_maxrss_kb;
	sandbox_run_stats(run, &res->cpu_user_ms, &res->cpu_system_ms,
	    &res->max_rss_kb);
	res->cpu_user_ms /= 1000;
	res->cpu_system_ms /= 1000;
}

/*
 * Lets go of everything the child struct holds, whatever stage the run
 * reached: the SIGPIPE mask restored (a SIGPIPE our writes raised is
 * discarded), a child started but not seen through killed with its tree
 * and reaped, every descriptor closed, the sandbox run released. The
 * result is the caller's and stays.
 */
static void
child_release(struct child *ch)
{
	static const struct timespec zero = { 0, 0 };
	sigset_t pending;

	if (ch->pipe_blocked) {
		sigpending(&pending);
		if (!ch->pipe_was_pending && sigismember(&pending, SIGPIPE))
			(void)sigtimedwait(&ch->pipeset, NULL, &zero);
		pthread_sigmask(SIG_SETMASK, &ch->pipe_oldmask, NULL);
		ch->pipe_blocked = 0;
	}
	if (ch->pid > 0) {
		sandbox_run_signal(&ch->run, SIGKILL);
		wait_pid(ch->pid, &ch->status, 0, NULL);
		ch->pid = -1;
		sandbox_run_finish(&ch->run);
	}
	close_fd(&ch->in[0]);
	close_fd(&ch->in[1]);
	close_fd(&ch->out[0]);
	close_fd(&ch->out[1]);
	close_fd(&ch->err[0]);
	close_fd(&ch->err[1]);
	close_fd(&ch->report[0]);
	close_fd(&ch->report[1]);
	close_fd(&ch->pidfd);
	close_fd(&ch->word_pipe[0]);
	close_fd(&ch->word_pipe[1]);
	close_fd(&ch->parent_pidfd);
	for (int i = 0; i < ch->nops; i++)
		free(ch->ops[i].path);
	ch->nops = 0;
	/* Our init ran on it: reaped by now (above, or before). */
	if (ch->init_stack != NULL)
		munmap(ch->init_stack, ch->init_stack_len);
	ch->init_stack = NULL;
	sandbox_run_release(&ch->run);
}

void
exec_result_free(struct exec_result *res)
{
	capture_free(&res->out);
	capture_free(&res->err);
}

int
exec_run(const struct exec_spec *spec, const struct exec_hooks *hooks,
    struct exec_result *res, char *err, size_t errlen)
{
	struct child ch;
	int rc = -1;

	child_init(&ch, spec, hooks, res);
	if (child_prepare(&ch, err, errlen) == 0 &&
	    child_start(&ch, err, errlen) == 0) {
		child_pump(&ch);
		child_finish(&ch);
		rc = 0;
	}
	child_release(&ch);
	return rc;
}
