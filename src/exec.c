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

/* Everything the child uses, prepared before fork (no malloc after). */
struct child_ctx {
	const char *path;
	char *const *argv;
	char *const *envp;
	const char *cwd;
	uid_t uid;
	gid_t gid;
	int fd_in, fd_out, fd_err;          /* the child's pipe ends */
	int fd_report;                      /* error pipe, write end */
	const struct sandbox_run *run;
	int rl_res[MAX_RLIMITS];
	struct rlimit rl[MAX_RLIMITS];
	int nrl;
	long open_max;                      /* for the last-resort close loop */
	pid_t parent;
	sigset_t empty;
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
cloexec_from_3(const struct child_ctx *c)
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
 * logging. Order matters: the cgroup is joined and rlimits are set while
 * still privileged; the identity is dropped last, then verified.
 */
static void __attribute__((noreturn))
child_main(const struct child_ctx *c)
{
	struct sigaction sa;
	int sig, rep, fds[3], i;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_DFL;
	for (sig = 1; sig < NSIG; sig++)
		if (sig != SIGKILL && sig != SIGSTOP)
			(void)sigaction(sig, &sa, NULL);   /* EINVAL: reserved */

	/* The report pipe and our pipe ends may sit on 0..2 if the caller
	 * had those closed: lift them all above 2 before dup2(). */
	rep = fcntl(c->fd_report, F_DUPFD_CLOEXEC, 3);
	if (rep == -1)
		_exit(126);
	fds[0] = fcntl(c->fd_in, F_DUPFD_CLOEXEC, 3);
	fds[1] = fcntl(c->fd_out, F_DUPFD_CLOEXEC, 3);
	fds[2] = fcntl(c->fd_err, F_DUPFD_CLOEXEC, 3);
	if (fds[0] == -1 || fds[1] == -1 || fds[2] == -1)
		child_fail(rep, ST_FDS);
	for (i = 0; i < 3; i++)
		if (dup2(fds[i], i) == -1)      /* the copy is not CLOEXEC */
			child_fail(rep, ST_FDS);
	if (cloexec_from_3(c) == -1)
		child_fail(rep, ST_FDS);

	if (setsid() == -1)
		child_fail(rep, ST_SETSID);
	if (c->run != NULL && sandbox_run_child_join(c->run) == -1)
		child_fail(rep, ST_CGROUP);
	if (c->cwd != NULL && chdir(c->cwd) == -1)
		child_fail(rep, ST_CHDIR);
	for (i = 0; i < c->nrl; i++)
		if (setrlimit(c->rl_res[i], &c->rl[i]) == -1)
			child_fail(rep, ST_RLIMIT);
	if (c->uid != (uid_t)-1) {
		/* Raw syscalls: this process has one thread, and glibc's
		 * wrappers would try to broadcast to threads of the parent. */
		if (syscall(SYS_setgroups, 0, NULL) == -1 ||
		    syscall(SYS_setresgid, c->gid, c->gid, c->gid) == -1 ||
		    syscall(SYS_setresuid, c->uid, c->uid, c->uid) == -1)
			child_fail(rep, ST_IDENTITY);
		if (c->uid != 0 && syscall(SYS_setresuid, 0, 0, 0) != -1) {
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
	execve(c->path, c->argv, c->envp);
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
spawn_child(struct sandbox_run *run, const struct child_ctx *c)
{
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
add_rlimit(struct child_ctx *c, int res, long long v)
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
	int in_p[2] = { -1, -1 }, out_p[2] = { -1, -1 };
	int err_p[2] = { -1, -1 }, rep_p[2] = { -1, -1 };
	int pidfd = -1, rc = -1, prepared = 0, reaped = 0, exited = 0;
	int term_sent = 0, kill_sent = 0, pipe_was_pending = 0, r, npfd;
	int tick_ms = 0, status = 0, t, pipe_blocked = 0;
	int64_t t_start = 0, now, deadline = 0, kill_at = 0, next_tick = 0;
	int64_t drain_until = 0;
	size_t in_off = 0, cap;
	pid_t pid = -1;
	sigset_t all, old, pipeset, oldpipe, pending;
	struct child_report report;
	struct sandbox_run run;
	struct child_ctx c;
	struct rusage ru;
	struct rlimit nofile;
	struct pollfd pfd[4];
	int pi_in, pi_out, pi_err, pi_pid;
	char *const *argv;
	char *default_argv[2];
	static char *const empty_env[] = { NULL };
	siginfo_t si;

	memset(res, 0, sizeof(*res));
	memset(&ru, 0, sizeof(ru));
	cap = spec->capture_cap ? spec->capture_cap : EXEC_DEFAULT_CAPTURE_CAP;
	capture_init(&res->out, cap);
	capture_init(&res->err, cap);
	res->exit_code = -1;
	memset(&run, 0, sizeof(run));
	run.cg2.procs_fd = run.cg2.dir_fd = run.memv1_procs_fd = -1;

	if (spec->path == NULL || spec->path[0] != '/') {
		snprintf(err, errlen, "program path \"%s\" is not absolute",
		    spec->path ? spec->path : "");
		goto out;
	}
	if (pipe2(in_p, O_CLOEXEC) == -1 || pipe2(out_p, O_CLOEXEC) == -1 ||
	    pipe2(err_p, O_CLOEXEC) == -1 || pipe2(rep_p, O_CLOEXEC) == -1) {
		snprintf(err, errlen, "cannot create a pipe: %s",
		    strerror(errno));
		goto out;
	}
	if (sandbox_run_prepare(spec->sandbox, &run, err, errlen) == -1)
		goto out;
	prepared = 1;

	default_argv[0] = (char *)spec->path;
	default_argv[1] = NULL;
	argv = spec->argv ? spec->argv : default_argv;
	memset(&c, 0, sizeof(c));
	c.path = spec->path;
	c.argv = argv;
	c.envp = spec->envp ? spec->envp : empty_env;
	c.cwd = spec->cwd;
	c.uid = spec->uid;
	c.gid = spec->gid;
	c.fd_in = in_p[0];
	c.fd_out = out_p[1];
	c.fd_err = err_p[1];
	c.fd_report = rep_p[1];
	c.run = &run;
	if (spec->limits != NULL) {
		add_rlimit(&c, RLIMIT_CPU, spec->limits->cpu_s);
		add_rlimit(&c, RLIMIT_AS, spec->limits->as_bytes);
		add_rlimit(&c, RLIMIT_NOFILE, spec->limits->nofile);
		add_rlimit(&c, RLIMIT_NPROC, spec->limits->nproc);
		add_rlimit(&c, RLIMIT_FSIZE, spec->limits->fsize_bytes);
	}
	c.open_max = 65536;
	if (getrlimit(RLIMIT_NOFILE, &nofile) == 0 &&
	    nofile.rlim_cur != RLIM_INFINITY)
		c.open_max = (long)nofile.rlim_cur;
	c.parent = getpid();
	sigemptyset(&c.empty);

	if (hooks != NULL && hooks->ready != NULL &&
	    hooks->ready(hooks->arg) == -1) {
		res->refused = 1;
		snprintf(err, errlen, "not started: the caller withdrew it");
		goto out;
	}
	/* No handler of ours may run in the child before it resets them. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	pid = spawn_child(&run, &c);
	if (pid == 0)
		child_main(&c);
	r = errno;
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (pid == -1) {
		snprintf(err, errlen, "cannot fork: %s", strerror(r));
		goto out;
	}
	run.pid = pid;
	close_fd(&in_p[0]);
	close_fd(&out_p[1]);
	close_fd(&err_p[1]);
	close_fd(&rep_p[1]);

	r = read_report(rep_p[0], &report);
	close_fd(&rep_p[0]);
	if (r != 0) {
		if (r == -1) {
			snprintf(err, errlen, "cannot read the child's report: "
			    "%s", strerror(errno));
			goto out;       /* killed and reaped below */
		}
		report_message(&report, spec, err, errlen);
		wait_pid(pid, &status, 0, NULL);
		pid = -1;
		goto out;
	}
	t_start = clock_mono_ns();
	pidfd = pidfd_open_compat(pid);
	if (pidfd == -1 && errno != ENOSYS)
		log_warn("pidfd_open %ld", (long)pid);
	if (hooks != NULL && hooks->started != NULL)
		hooks->started(hooks->arg, pid);

	if (spec->stdin_data == NULL || spec->stdin_len == 0)
		close_fd(&in_p[1]);
	if ((in_p[1] != -1 && set_nonblock(in_p[1]) == -1) ||
	    set_nonblock(out_p[0]) == -1 || set_nonblock(err_p[0]) == -1)
		log_warn("cannot make the child's pipes non-blocking");

	/* EPIPE instead of SIGPIPE while feeding stdin; see exec.h. */
	sigemptyset(&pipeset);
	sigaddset(&pipeset, SIGPIPE);
	sigpending(&pending);
	pipe_was_pending = sigismember(&pending, SIGPIPE);
	pthread_sigmask(SIG_BLOCK, &pipeset, &oldpipe);
	pipe_blocked = 1;

	if (spec->timeout_s > 0)
		deadline = t_start + (int64_t)(spec->timeout_s * 1e9);
	if (hooks != NULL && hooks->tick != NULL) {
		tick_ms = hooks->tick_ms > 0 ? hooks->tick_ms : 1000;
		next_tick = t_start + (int64_t)tick_ms * 1000000;
	}

	for (;;) {
		now = clock_mono_ns();
		if (!exited) {
			if (!term_sent && deadline != 0 && now >= deadline) {
				res->timed_out = 1;
				term_sent = 1;
			}
			if (!term_sent && tick_ms > 0 && now >= next_tick) {
				next_tick = now + (int64_t)tick_ms * 1000000;
				if (hooks->tick(hooks->arg, &res->out,
				    &res->err) == 1) {
					res->canceled = 1;
					term_sent = 1;
				}
			}
			if (term_sent && kill_at == 0) {
				sandbox_run_signal(&run, SIGTERM);
				kill_at = now + (int64_t)((spec->grace_s > 0 ?
				    spec->grace_s : EXEC_DEFAULT_GRACE_S) * 1e9);
			}
			if (term_sent && !kill_sent && now >= kill_at) {
				sandbox_run_signal(&run, SIGKILL);
				kill_sent = 1;
			}
		}
		if (reaped && (now >= drain_until ||
		    (out_p[0] == -1 && err_p[0] == -1)))
			break;

		npfd = 0;
		pi_in = pi_out = pi_err = pi_pid = -1;
		if (in_p[1] != -1) {
			pfd[npfd] = (struct pollfd){ in_p[1], POLLOUT, 0 };
			pi_in = npfd++;
		}
		if (out_p[0] != -1) {
			pfd[npfd] = (struct pollfd){ out_p[0], POLLIN, 0 };
			pi_out = npfd++;
		}
		if (err_p[0] != -1) {
			pfd[npfd] = (struct pollfd){ err_p[0], POLLIN, 0 };
			pi_err = npfd++;
		}
		if (pidfd != -1 && !exited) {
			pfd[npfd] = (struct pollfd){ pidfd, POLLIN, 0 };
			pi_pid = npfd++;
		}
		t = -1;
		if (!exited) {
			if (!term_sent && deadline != 0)
				min_timeout(&t, ms_until(now, deadline));
			if (!term_sent && tick_ms > 0)
				min_timeout(&t, ms_until(now, next_tick));
			if (term_sent && !kill_sent)
				min_timeout(&t, ms_until(now, kill_at));
			if (pidfd == -1)
				min_timeout(&t, NOPIDFD_POLL_MS);
		}
		if (reaped)
			min_timeout(&t, ms_until(now, drain_until));
		r = poll(pfd, (nfds_t)npfd, t);
		if (r == -1) {
			if (errno != EINTR) {
				log_warn("poll");
				usleep(10000);
			}
			continue;
		}
		if (pi_in != -1 && pfd[pi_in].revents != 0)
			feed_stdin(&in_p[1], spec, &in_off);
		if (pi_out != -1 && pfd[pi_out].revents != 0)
			drain_fd(&out_p[0], &res->out);
		if (pi_err != -1 && pfd[pi_err].revents != 0)
			drain_fd(&err_p[0], &res->err);

		if (!exited) {
			if (pi_pid != -1) {
				exited = (pfd[pi_pid].revents & POLLIN) != 0;
			} else if (pidfd == -1) {
				memset(&si, 0, sizeof(si));
				exited = waitid(P_PID, (id_t)pid, &si, WEXITED |
				    WNOHANG | WNOWAIT) == 0 && si.si_pid == pid;
			}
		}
		if (exited && !reaped) {
			/* The child is a zombie: its pid and process group
			 * cannot be reused yet, so killing the rest of the
			 * tree now cannot hit a stranger. Then reap. */
			sandbox_run_signal(&run, SIGKILL);
			if (wait_pid(pid, &status, 0, &ru) == -1) {
				log_warn("wait4 %ld", (long)pid);
				memset(&ru, 0, sizeof(ru));
			}
			reaped = 1;
			now = clock_mono_ns();
			res->duration_ms = (double)(now - t_start) / 1e6;
			drain_until = now + (int64_t)EXEC_DRAIN_MS * 1000000;
			close_fd(&in_p[1]);
			close_fd(&pidfd);
		}
	}

	if (WIFEXITED(status)) {
		res->exited = 1;
		res->exit_code = WEXITSTATUS(status);
	} else if (WIFSIGNALED(status)) {
		res->signaled = 1;
		res->signo = WTERMSIG(status);
	}
	sandbox_run_finish(&run);
	res->cpu_user_ms = (long long)ru.ru_utime.tv_sec * 1000000 +
	    ru.ru_utime.tv_usec + run.orphan_user_us;
	res->cpu_system_ms = (long long)ru.ru_stime.tv_sec * 1000000 +
	    ru.ru_stime.tv_usec + run.orphan_sys_us;
	res->max_rss_kb = ru.ru_maxrss > run.orphan_maxrss_kb ?
	    ru.ru_maxrss : run.orphan_maxrss_kb;
	sandbox_run_stats(&run, &res->cpu_user_ms, &res->cpu_system_ms,
	    &res->max_rss_kb);
	res->cpu_user_ms /= 1000;
	res->cpu_system_ms /= 1000;
	pid = -1;
	rc = 0;
out:
	if (pipe_blocked) {
		/* Discard a SIGPIPE our writes raised, then unblock. */
		static const struct timespec zero = { 0, 0 };

		sigpending(&pending);
		if (!pipe_was_pending && sigismember(&pending, SIGPIPE))
			(void)sigtimedwait(&pipeset, NULL, &zero);
		pthread_sigmask(SIG_SETMASK, &oldpipe, NULL);
	}
	if (pid > 0) {
		/* Started but not seen through: leave nothing running. */
		sandbox_run_signal(&run, SIGKILL);
		wait_pid(pid, &status, 0, NULL);
		sandbox_run_finish(&run);
	}
	close_fd(&in_p[0]);
	close_fd(&in_p[1]);
	close_fd(&out_p[0]);
	close_fd(&out_p[1]);
	close_fd(&err_p[0]);
	close_fd(&err_p[1]);
	close_fd(&rep_p[0]);
	close_fd(&rep_p[1]);
	close_fd(&pidfd);
	if (prepared)
		sandbox_run_release(&run);
	return rc;
}
