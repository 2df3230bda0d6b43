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

#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
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
};

struct child_report {
	int stage;
	int err;
};

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
 * CLONE_VM the child is a copy, exactly as after fork(). Used where the
 * shared-memory launch below is not available.
 */
static pid_t
fork_into_run(struct sandbox_run *run)
{
#ifdef SYS_clone3
	if (run->cg2.dir_fd != -1) {
		struct clone3_args a;
		long pid;

		memset(&a, 0, sizeof(a));
		a.flags = CLONE3_INTO_CGROUP;
		a.exit_signal = SIGCHLD;
		a.cgroup = (uint64_t)run->cg2.dir_fd;
		run->cg2_cloned = 1;    /* seen by the child in its copy */
		pid = syscall(SYS_clone3, &a, sizeof(a));
		if (pid != -1)
			return (pid_t)pid;
		run->cg2_cloned = 0;
	}
#endif
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
#endif

/* ---- the child ------------------------------------------------------ */

static void __attribute__((noreturn))
child_fail(int fd, int stage)
{
	struct child_report r = { stage, errno };
	ssize_t n;

	do
		n = write(fd, &r, sizeof(r));
	while (n == -1 && errno == EINTR);
	_exit(127);
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

/*
 * Between fork and exec: async-signal-safe calls only, no malloc, no
 * logging; `c` is read, never written (it is the parent's memory, or a
 * copy of it). Order matters: the cgroup is joined and rlimits are set
 * while still privileged; the identity is dropped last, then verified.
 */
static void __attribute__((noreturn))
child_main(const struct child *c)
{
	const struct exec_spec *spec = c->spec;
	struct sigaction sa;
	int sig, rep, fds[3], i;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_DFL;
	for (sig = 1; sig < NSIG; sig++)
		if (sig != SIGKILL && sig != SIGSTOP)
			(void)sigaction(sig, &sa, NULL);   /* EINVAL: reserved */

	/* The report pipe and our pipe ends may sit on 0..2 if the caller
	 * had those closed: lift them all above 2 before dup2(). */
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
	if (cloexec_from_3(c) == -1)
		child_fail(rep, ST_FDS);

	if (setsid() == -1)
		child_fail(rep, ST_SETSID);
	if (sandbox_run_child_join(&c->run) == -1)
		child_fail(rep, ST_CGROUP);
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
	}
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

	memset(&a, 0, sizeof(a));
	a.flags = CLONE3_VM | CLONE3_VFORK;
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
	return fork_into_run(run);
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

static void
report_message(const struct child_report *r, const struct exec_spec *spec,
    char *err, size_t errlen)
{
	const char *why = strerror(r->err);

	switch (r->stage) {
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
	sandbox_run_init(&ch->run);
	ch->pid = -1;
	ch->pidfd = -1;

	memset(res, 0, sizeof(*res));
	capture_init(&res->out, cap);
	capture_init(&res->err, cap);
	res->exit_code = -1;
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
	if (sandbox_run_prepare(spec->sandbox, &ch->run, err, errlen) == -1)
		return -1;
	/* The tree's limits in its cgroups, before anything can join. */
	if (limits_apply(&ch->run, spec->limits, err, errlen) == -1)
		return -1;

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
	if (ch->pid == 0)
		child_main(ch);
	saved = errno;
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (ch->pid == -1) {
		snprintf(err, errlen, "cannot fork: %s", strerror(saved));
		return -1;
	}
	ch->run.pid = ch->pid;
	close_fd(&ch->in[0]);
	close_fd(&ch->out[1]);
	close_fd(&ch->err[1]);
	close_fd(&ch->report[1]);

	r = read_report(ch->report[0], &report);
	saved = errno;
	close_fd(&ch->report[0]);
	if (r == -1) {
		snprintf(err, errlen, "cannot read the child's report: %s",
		    strerror(saved));
		return -1;
	}
	if (r == 1) {
		report_message(&report, ch->spec, err, errlen);
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

	if (WIFEXITED(ch->status)) {
		res->exited = 1;
		res->exit_code = WEXITSTATUS(ch->status);
	} else if (WIFSIGNALED(ch->status)) {
		res->signaled = 1;
		res->signo = WTERMSIG(ch->status);
	}
	sandbox_run_finish(run);
	/* The tree is gone: what its cgroups counted is final. */
	res->limit = limits_verdict(run, ch->spec->limits, ch->status);
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
