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
	int tree;               /* in the init: the keep's copy, or -1 */
	int ro_later;           /* in the init: mount_setattr missing */
};

#define MAX_NS_OPS (EXEC_MAX_ISOLATION_PATHS + 3)

/* What our init hands back: the program's wait status, when it exec'd
 * (the init's clone returned: CLONE_VFORK waits for the exec) and when
 * it was reaped (CLOCK_MONOTONIC, the clock of clock_mono_ns()). */
struct init_word {
	int status;
	int pad;
	int64_t start_ns, end_ns;
};

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
	int init_rep;           /* in the init: its report descriptor */
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
 */
static pid_t
fork_into_run(struct sandbox_run *run, unsigned long ns_flags)
{
#ifdef SYS_clone3
	if (run->cg2.dir_fd != -1 || ns_flags != 0) {
		struct clone3_args a;
		long pid;

		memset(&a, 0, sizeof(a));
		a.flags = ns_flags;
		a.exit_signal = SIGCHLD;
		if (run->cg2.dir_fd != -1) {
			a.flags |= CLONE3_INTO_CGROUP;
			a.cgroup = (uint64_t)run->cg2.dir_fd;
			run->cg2_cloned = 1;    /* seen by the child */
		}
		pid = syscall(SYS_clone3, &a, sizeof(a));
		if (pid != -1)
			return (pid_t)pid;
		run->cg2_cloned = 0;
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

static void __attribute__((noreturn))
child_fail_at(int fd, int stage, int arg)
{
	struct child_report r = { stage, errno, arg };
	ssize_t n;

	do
		n = write(fd, &r, sizeof(r));
	while (n == -1 && errno == EINTR);
	_exit(127);
}

static void __attribute__((noreturn))
child_fail(int fd, int stage)
{
	child_fail_at(fd, stage, 0);
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
static int
cloexec_from_3(const struct child *c)
{
	char dbuf[4096];
	long n, off, fd;
	int dfd;
	struct dirent64_raw *de;
	const char *p;

#ifdef SYS_close_range
	if (syscall(SYS_close_range, 3U, ~0U, CLOSE_RANGE_CLOEXEC) == 0)
		return 0;
#endif
	dfd = open("/proc/self/fd", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd != -1) {
		while ((n = syscall(SYS_getdents64, dfd, dbuf,
		    sizeof(dbuf))) > 0) {
			for (off = 0; off < n; off += de->d_reclen) {
				de = (struct dirent64_raw *)(dbuf + off);
				fd = 0;
				for (p = de->d_name; *p >= '0' && *p <= '9'; p++)
					fd = fd * 10 + (*p - '0');
				if (p != de->d_name && *p == '\0' && fd > 2 &&
				    fd != dfd)
					(void)fcntl((int)fd, F_SETFD, FD_CLOEXEC);
			}
		}
		close(dfd);
		if (n == 0)
			return 0;
	}
	for (fd = 3; fd < c->open_max; fd++)
		(void)fcntl((int)fd, F_SETFD, FD_CLOEXEC);
	return 0;
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
	if (syscall(SYS_close_range, lo, hi, 0U) == 0)
		return;
#endif
	for (fd = lo; fd < open_max && (unsigned long)fd <= hi; fd++)
		(void)close((int)fd);
}

/* Every descriptor above 2 but a and b (both above 2) is closed: what
 * our init keeps while the program starts. */
static void
close_all_but(int a, int b, long open_max)
{
	int t;

	if (a > b) {
		t = a;
		a = b;
		b = t;
	}
	close_span(3, (unsigned int)a - 1, open_max);
	close_span((unsigned int)a + 1, (unsigned int)b - 1, open_max);
	close_span((unsigned int)b + 1, ~0U, open_max);
}

/* Default dispositions for every signal (the mask stays as it is: all
 * blocked, from child_start). */
static void
child_default_signals(void)
{
	struct sigaction sa;
	int sig;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_DFL;
	for (sig = 1; sig < NSIG; sig++)
		if (sig != SIGKILL && sig != SIGSTOP)
			(void)sigaction(sig, &sa, NULL);   /* EINVAL: reserved */
}

/*
 * Puts the child's pipe ends on 0, 1, 2. The report pipe and our pipe
 * ends may sit on 0..2 if the caller had those closed: they are all
 * lifted above 2 first. Returns the lifted report descriptor; fails on
 * it.
 */
static int
child_stdio(const struct child *c)
{
	int rep, fds[3], i;

	rep = fcntl(c->report[1], F_DUPFD_CLOEXEC, 3);
	if (rep == -1)
		_exit(126);
	fds[0] = fcntl(c->in[0], F_DUPFD_CLOEXEC, 3);
	fds[1] = fcntl(c->out[1], F_DUPFD_CLOEXEC, 3);
	fds[2] = fcntl(c->err[1], F_DUPFD_CLOEXEC, 3);
	if (fds[0] == -1 || fds[1] == -1 || fds[2] == -1)
		child_fail(rep, ST_FDS);
	for (i = 0; i < 3; i++)
		if (dup2(fds[i], i) == -1)      /* the copy is not CLOEXEC */
			child_fail(rep, ST_FDS);
	return rep;
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

/* Installs run_filter (where the architecture is known). */
static int
child_seccomp(void)
{
#ifdef SECCOMP_ARCH
	struct sock_fprog prog = {
		(unsigned short)(sizeof(run_filter) / sizeof(run_filter[0])),
		run_filter,
	};

	return prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog, 0, 0);
#else
	return 0;
#endif
}

/* With its identity switched: nothing it executes may raise its
 * privileges (no_new_privs: set-user-ID bits and file capabilities are
 * ignored), and no capability is left in any set. */
static int
child_no_privs(void)
{
	struct __user_cap_header_struct h = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct d[2];

	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == -1)
		return -1;
	memset(d, 0, sizeof(d));
	if (syscall(SYS_capset, &h, d) == -1)
		return -1;
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) == -1 &&
	    errno != EINVAL)
		return -1;
	if (syscall(SYS_capget, &h, d) == -1)
		return -1;
	if ((d[0].effective | d[0].permitted | d[0].inheritable |
	    d[1].effective | d[1].permitted | d[1].inheritable) != 0) {
		errno = EPERM;
		return -1;
	}
	return 0;
}

/*
 * What makes the program's process what the spec says, whoever runs it
 * (child_main, or script_main under our init): cwd, rlimits, identity;
 * with isolation, the seccomp filter. The cgroup was joined and rlimits
 * are set while still privileged; the identity is dropped, then checked.
 */
static void
child_become(const struct child *c, int rep)
{
	const struct exec_spec *spec = c->spec;
	int i;

	if (spec->cwd != NULL && chdir(spec->cwd) == -1)
		child_fail(rep, ST_CHDIR);
	for (i = 0; i < c->nrl; i++)
		if (setrlimit(c->rl_res[i], &c->rl[i]) == -1)
			child_fail(rep, ST_RLIMIT);
	if (spec->uid != (uid_t)-1) {
		/* Raw syscalls: this process has one thread, and glibc's
		 * wrappers would try to broadcast to threads of the parent. */
		if (syscall(SYS_setgroups, 0, NULL) == -1 ||
		    syscall(SYS_setresgid, spec->gid, spec->gid,
		    spec->gid) == -1 ||
		    syscall(SYS_setresuid, spec->uid, spec->uid,
		    spec->uid) == -1)
			child_fail(rep, ST_IDENTITY);
		if (spec->uid != 0 && syscall(SYS_setresuid, 0, 0, 0) != -1) {
			errno = EPERM;
			child_fail(rep, ST_IDENTITY);
		}
		if (spec->uid != 0 && child_no_privs() == -1)
			child_fail(rep, ST_NOPRIVS);
	}
	if (c->iso && child_seccomp() == -1)
		child_fail(rep, ST_SECCOMP);
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
	int rep;

	child_default_signals();
	rep = child_stdio(c);
	if (cloexec_from_3(c) == -1)
		child_fail(rep, ST_FDS);
	if (setsid() == -1)
		child_fail(rep, ST_SETSID);
	if (sandbox_run_child_join(&c->run) == -1)
		child_fail(rep, ST_CGROUP);
	child_become(c, rep);
	/* Set after the identity change, which clears it. If our parent is
	 * already gone, do not run unsupervised. */
	if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) == -1)
		child_fail(rep, ST_PDEATH);
	if (getppid() != c->parent) {
		errno = ESRCH;
		child_fail(rep, ST_PDEATH);
	}
	sigprocmask(SIG_SETMASK, &c->empty, NULL);
	execve(spec->path, c->argv, c->envp);
	child_fail(rep, ST_EXEC);
}

/* ---- our init (isolation) ------------------------------------------- */

/* Makes every missing directory of `path` (mode 0755). Called only for a
 * path inside a tmpfs of ours (ns_op.may_mkdir): what exists is left. */
static int
mkdir_p(const char *path)
{
	char p[PATH_MAX];
	size_t n = strlen(path), i;
	char saved;

	if (n >= sizeof(p)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	memcpy(p, path, n + 1);
	for (i = 1; i <= n; i++) {
		if (p[i] != '/' && p[i] != '\0')
			continue;
		saved = p[i];
		p[i] = '\0';
		if (mkdir(p, 0755) == -1 && errno != EEXIST)
			return -1;
		p[i] = saved;
	}
	return 0;
}

/* A hidden path covered; one that is gone (under a tmpfs already) is
 * hidden enough. */
static int
ns_cover(const struct ns_op *op)
{
	int r;

	if (op->kind == NS_HIDE_DIR)
		r = mount("tmpfs", op->path, "tmpfs", MS_NOSUID | MS_NODEV |
		    MS_NOEXEC, "mode=0755,size=64k,nr_inodes=1024");
	else
		r = mount("/dev/null", op->path, NULL, MS_BIND, NULL);
	return r == -1 && errno != ENOENT ? -1 : 0;
}

static int
is_keep(const struct ns_op *op)
{
	return op->kind == NS_KEEP || op->kind == NS_KEEP_RO;
}

/*
 * The run's file system (see exec.h and struct ns_op for the order), in
 * our init, in the new mount namespace. Returns 0, or -1 with errno and
 * *where (an ns_op index or MNT_*).
 */
static int
ns_mount_all(struct child *c, int *where)
{
	struct mount_attr ro = { MOUNT_ATTR_RDONLY, 0, 0, 0 };
	struct ns_op *op;
	int i;

	/* Nothing mounted here may reach the host; the host's mounts still
	 * appear here (a share mounted meanwhile). */
	*where = MNT_PROPAGATION;
	if (mount(NULL, "/", NULL, MS_REC | MS_SLAVE, NULL) == -1)
		return -1;
	for (i = 0; i < c->nops; i++) {
		op = &c->ops[i];
		if (!is_keep(op))
			continue;
		*where = i;
		op->tree = (int)syscall(SYS_open_tree, AT_FDCWD, op->path,
		    OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_RECURSIVE);
		if (op->tree == -1)
			return -1;
		if (op->kind == NS_KEEP_RO && syscall(SYS_mount_setattr,
		    op->tree, "", AT_EMPTY_PATH | AT_RECURSIVE, &ro,
		    sizeof(ro)) == -1) {
			if (errno != ENOSYS)
				return -1;
			op->ro_later = 1;   /* Linux < 5.12 */
		}
	}
	for (i = 0; i < c->nops; i++) {
		op = &c->ops[i];
		*where = i;
		if (op->kind == NS_TMP && mount("tmpfs", op->path, "tmpfs",
		    MS_NOSUID | MS_NODEV, "mode=1777") == -1)
			return -1;
		if ((op->kind == NS_HIDE_DIR || op->kind == NS_HIDE_FILE) &&
		    ns_cover(op) == -1)
			return -1;
	}
	for (i = 0; i < c->nops; i++) {
		op = &c->ops[i];
		if (!is_keep(op))
			continue;
		*where = i;
		if (op->may_mkdir && mkdir_p(op->path) == -1)
			return -1;
		if (syscall(SYS_move_mount, op->tree, "", AT_FDCWD, op->path,
		    MOVE_MOUNT_F_EMPTY_PATH) == -1)
			return -1;
		close(op->tree);
		op->tree = -1;
		if (op->ro_later && mount(NULL, op->path, NULL, MS_REMOUNT |
		    MS_BIND | MS_RDONLY | op->mflags, NULL) == -1)
			return -1;
	}
	for (i = 0; i < c->nops; i++) {
		op = &c->ops[i];
		*where = i;
		if (op->again && ns_cover(op) == -1)
			return -1;
	}
	/* Only a process of the new PID namespace mounts its proc. Other
	 * users' processes (our init) are not shown. */
	*where = MNT_PROC;
	if (mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC,
	    "hidepid=2") == -1)
		return -1;
	return 0;
}

/* The program, under our init: its own session, then as child_main. It
 * shares the init's memory until its exec (CLONE_VM): reads only. */
static void __attribute__((noreturn))
script_main(const struct child *c)
{
	int rep = c->init_rep;

	if (setsid() == -1)
		child_fail(rep, ST_SETSID);
	child_become(c, rep);
	sigprocmask(SIG_SETMASK, &c->empty, NULL);
	execve(c->spec->path, c->argv, c->envp);
	child_fail(rep, ST_EXEC);
}

#ifdef HAVE_CLONE3_VM
static int
script_entry(void *arg)
{
	script_main(arg);
}
#endif

/* Starts the program from our init: on x86_64 with CLONE_VM | CLONE_VFORK
 * (nothing copied; the init waits until the exec), elsewhere as fork. */
static pid_t
spawn_script(struct child *c)
{
#ifdef HAVE_CLONE3_VM
	_Alignas(64) char stack[CHILD_STACK_SIZE];
	int saved = errno;
	long pid;

	pid = sto_clone_call(CLONE_VM | CLONE_VFORK | SIGCHLD,
	    stack + sizeof(stack), script_entry, c);
	if (pid > 0) {
		errno = saved;
		return (pid_t)pid;
	}
	errno = (int)-pid;
	return -1;
#else
	pid_t pid = (pid_t)syscall(SYS_clone, SIGCHLD, 0, 0, 0, 0);

	if (pid == 0)
		script_main(c);
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
static int64_t
init_now_ns(void)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (int64_t)now.tv_sec * 1000000000 + now.tv_nsec;
}

static void __attribute__((noreturn))
init_loop(const struct child *c, pid_t script, int st, int64_t start_ns)
{
	struct init_word w;
	siginfo_t si;
	int sig, status;
	pid_t p;
	ssize_t n;

	for (;;) {
		sig = (int)syscall(SYS_rt_sigtimedwait, &c->init_wait, &si,
		    NULL, (size_t)(_NSIG / 8));
		if (sig == -1)
			continue;       /* EINTR */
		if (sig != SIGCHLD) {
			(void)kill(-script, sig);
			continue;
		}
		while ((p = (pid_t)syscall(SYS_wait4, -1, &status,
		    WNOHANG | __WALL, NULL)) > 0) {
			if (p != script)
				continue;
			memset(&w, 0, sizeof(w));
			w.status = status;
			w.start_ns = start_ns;
			w.end_ns = init_now_ns();
			do
				n = write(st, &w, sizeof(w));
			while (n == -1 && errno == EINTR);
			_exit(0);
		}
	}
}

/*
 * The first process of the run's namespaces (PID 1 there), a copy of
 * the caller: sets up the descriptors, the cgroup, its tie to the
 * caller and the run's mounts, then starts the program (script_main)
 * and waits for it (init_loop). Every failure goes to the report pipe
 * as in child_main, with the step. It keeps only the report and status
 * pipes beside 0-2, and lets go of those and of 0-2 once the program is
 * started, so the program alone holds its pipes.
 */
static void __attribute__((noreturn))
init_main(struct child *c)
{
	struct pollfd pfd;
	int rep, st, where = 0;
	int64_t start_ns;
	pid_t script;

	child_default_signals();
	rep = child_stdio(c);
	st = fcntl(c->word_pipe[1], F_DUPFD_CLOEXEC, 3);
	if (st == -1)
		child_fail(rep, ST_FDS);
	/* A process group of its own (the fallback tree kill signals it),
	 * not a session: a new session is a new scheduler autogroup, which
	 * on a loaded host may wait a tick for the CPU; the program makes
	 * its own session. */
	if (setpgid(0, 0) == -1)
		child_fail(rep, ST_SETSID);
	if (sandbox_run_child_join(&c->run) == -1)
		child_fail(rep, ST_CGROUP);
	/* getppid() is 0 in a new PID namespace: the caller's pidfd tells
	 * whether it died before PR_SET_PDEATHSIG took hold. */
	if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) == -1)
		child_fail(rep, ST_PDEATH);
	if (c->parent_pidfd != -1) {
		pfd.fd = c->parent_pidfd;
		pfd.events = POLLIN;
		pfd.revents = 0;
		if (poll(&pfd, 1, 0) != 0) {
			errno = ESRCH;
			child_fail(rep, ST_PDEATH);
		}
	}
	close_all_but(rep, st, c->open_max);
	/* Not readable through /proc by anyone but root, and named. */
	(void)prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
	(void)prctl(PR_SET_NAME, "sto-init", 0, 0, 0);
	if ((c->ns_flags & CLONE_NEWNS) && ns_mount_all(c, &where) == -1)
		child_fail_at(rep, ST_MOUNT, where);
	c->init_rep = rep;
	script = spawn_script(c);
	start_ns = init_now_ns();
	if (script == -1)
		child_fail(rep, ST_INIT);
	close(rep);
	close(0);
	close(1);
	close(2);
	init_loop(c, script, st, start_ns);
}

#ifdef HAVE_CLONE3_VM
static int
child_entry(void *arg)
{
	child_main(arg);
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
 * With isolation the child is our init instead, always a copy (it lives
 * on after the program's exec, so it cannot share our memory), made by
 * fork_into_run() in the new namespaces; 0 in it, which must call
 * init_main.
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

	if (c->iso)
		return fork_into_run(run, c->ns_flags);
#ifdef HAVE_CLONE3_VM
	memset(&a, 0, sizeof(a));
	a.flags = CLONE3_VM | CLONE3_VFORK | c->ns_flags;
	if (run->cg2.dir_fd != -1) {
		a.flags |= CLONE3_INTO_CGROUP;
		a.cgroup = (uint64_t)run->cg2.dir_fd;
		run->cg2_cloned = 1;
	}
	a.exit_signal = SIGCHLD;
	a.stack = (uint64_t)(uintptr_t)stack;
	a.stack_size = sizeof(stack);
	pid = sto_clone3_call(&a, sizeof(a), child_entry, (void *)c);
	if (pid > 0) {
		/* It ran on our memory until its exec: errno may be its. */
		errno = saved;
		return (pid_t)pid;
	}
	run->cg2_cloned = 0;
#endif
	return fork_into_run(run, c->ns_flags);
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
	op->tree = -1;
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
	/* The tree's SIGTERM need not reach our init: it would pass it on
	 * to the program's group a second time. */
	ch->run.main_is_init = ch->iso;

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
		if (ch->word.end_ns >= ch->word.start_ns)
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
