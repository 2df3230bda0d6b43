/*
 * test-exec - runs one program through exec_run() and prints the result
 * as key=value lines, for the shell tests in tests/exec/ (after git's
 * t/helper/test-run-command.c).
 *
 *   test-exec [options] [--] /abs/program [args...]
 *
 * Output on stdout: "result=ok" or "result=error" + "error=<message>",
 * then exited, exit_code, signaled, signo, timed_out, canceled,
 * duration_ms, cpu_user_ms, cpu_system_ms, max_rss_kb, stdout_bytes,
 * stdout_truncated, stderr_bytes, stderr_truncated, started, ticks,
 * ticks_after_output (ticks that saw --ticks-after-output's text in
 * stdout already), sandbox, vmhwm_kb (this driver's own peak RSS),
 * limit (the limit the run hit: memory, pids, file_size, cpu_time or
 * none), rlimit_as, rlimit_nproc (what the limits' fallback set) and
 * mechanisms (runlimits.h's line for this sandbox).
 *
 * --memory-mb, --pids and --cpu-cores set the tree's limits as a runner
 * does: in the run's cgroups where the sandbox has the controller, else
 * as rlimits (limits_fallback).
 *
 * Isolation (exec.h): --isolate gives the run its namespaces, with
 * --hide, --keep, --keep-ro paths (each implies --isolate); --net-none an
 * empty network namespace. --signal SIG:TEXT sends SIG to exec_run's
 * child (with isolation, our init) once stdout shows TEXT: signalled=1.
 * --no-clone3 makes clone3 fail with ENOSYS in this driver, as systemd's
 * RestrictNamespaces= does. --repeat N runs the program N times and
 * prints launch_us_median, launch_us_mean (exec_run's whole call, for
 * measurements) and the last run's result.
 */
#include "config.h"

#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>

#include <linux/filter.h>
#include <linux/seccomp.h>

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <pwd.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "capture.h"
#include "clock.h"
#include "exec.h"
#include "log.h"
#include "runlimits.h"
#include "sandbox.h"

struct driver {
	int started;
	pid_t pid;
	int ticks;
	long cancel_after_ms;
	const char *cancel_on;
	const char *after_output;   /* count the ticks that see this */
	int ticks_after;
	const char *live_file;
	double t0;                  /* clock_mono_ms() before exec_run */
	int withdraw;               /* the ready hook refuses */
	int ready_called;
	int send_sig;               /* --signal: SIG ... */
	const char *send_on;        /* ... once stdout shows this */
	int signalled;
};

#define MAX_PATHS 16

static void
usage(void)
{
	fprintf(stderr, "usage: test-exec [--stdin TEXT | --stdin-file F] "
	    "[--timeout S] [--grace S] [--cap N]\n"
	    "  [--uid N --gid N | --user NAME] [--rlimit-{cpu,as,nofile,"
	    "nproc,fsize} N]\n"
	    "  [--env K=V]... [--cwd DIR] [--workdir BASE [--keep-workdir]]\n"
	    "  [--stdout-file F] [--stderr-file F] [--sandbox auto|none|DIR]\n"
	    "  [--tick-ms N] [--cancel-after-ms N] [--cancel-on-output S]\n"
	    "  [--ticks-after-output S]\n"
	    "  [--memory-mb N] [--pids N] [--cpu-cores X]\n"
	    "  [--live-file F] [--close-stdin] [--leak-fd] [--withdraw]\n"
	    "  [--isolate] [--hide P]... [--keep P]... [--keep-ro P]...\n"
	    "  [--net-none] [--signal SIG:TEXT] [--no-clone3] [--repeat N]"
	    " -- /abs/program [args]\n");
	exit(2);
}

static int
write_file(const char *path, const char *data, size_t len)
{
	FILE *f = fopen(path, "we");

	if (f == NULL || fwrite(data, 1, len, f) != len || fclose(f) != 0) {
		fprintf(stderr, "test-exec: cannot write \"%s\": %s\n", path,
		    strerror(errno));
		return -1;
	}
	return 0;
}

static char *
read_whole(const char *path, size_t *len)
{
	struct buf b = BUF_INIT;
	char chunk[65536];
	size_t n;
	FILE *f = fopen(path, "re");

	if (f == NULL) {
		fprintf(stderr, "test-exec: cannot read \"%s\": %s\n", path,
		    strerror(errno));
		exit(2);
	}
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		buf_add(&b, chunk, n);
	fclose(f);
	return buf_detach(&b, len);
}

static void
on_started(void *arg, pid_t pid)
{
	struct driver *d = arg;

	d->started = 1;
	d->pid = pid;
}

static int
on_ready(void *arg)
{
	struct driver *d = arg;

	d->ready_called = 1;
	return d->withdraw ? -1 : 0;
}

static int
on_tick(void *arg, const struct capture *out, const struct capture *err)
{
	struct driver *d = arg;
	struct buf b = BUF_INIT;
	double ms = clock_mono_ms() - d->t0;
	int cancel = 0;

	d->ticks++;
	if (d->cancel_after_ms > 0 && ms >= d->cancel_after_ms)
		cancel = 1;
	capture_render(out, &b);
	if (d->cancel_on != NULL && strstr(buf_str(&b), d->cancel_on) != NULL)
		cancel = 1;
	if (d->after_output != NULL &&
	    strstr(buf_str(&b), d->after_output) != NULL)
		d->ticks_after++;
	if (d->live_file != NULL)
		write_file(d->live_file, buf_str(&b), b.len);
	if (d->send_on != NULL && !d->signalled &&
	    strstr(buf_str(&b), d->send_on) != NULL) {
		if (kill(d->pid, d->send_sig) == -1)
			fprintf(stderr, "test-exec: kill %ld: %s\n", (long)d->pid,
			    strerror(errno));
		d->signalled = 1;
	}
	buf_free(&b);
	(void)err;
	return cancel;
}

static long long
vmhwm_kb(void)
{
	char line[256];
	long long v = -1;
	FILE *f = fopen("/proc/self/status", "re");

	if (f == NULL)
		return -1;
	while (fgets(line, sizeof(line), f) != NULL)
		if (strncmp(line, "VmHWM:", 6) == 0)
			v = strtoll(line + 6, NULL, 10);
	fclose(f);
	return v;
}

/* clone3 gives ENOSYS from here on, as under systemd's
 * RestrictNamespaces= (everything else is allowed). */
static void
no_clone3(void)
{
	static struct sock_filter f[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
		    offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_clone3, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | ENOSYS),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog prog = { sizeof(f) / sizeof(f[0]), f };

	if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog, 0, 0) == -1) {
		fprintf(stderr, "test-exec: seccomp: %s\n", strerror(errno));
		exit(2);
	}
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

enum {
	O_STDIN = 256, O_STDIN_FILE, O_TIMEOUT, O_GRACE, O_CAP, O_UID, O_GID,
	O_USER, O_RL_CPU, O_RL_AS, O_RL_NOFILE, O_RL_NPROC, O_RL_FSIZE, O_ENV,
	O_CWD, O_WORKDIR, O_KEEP, O_OUTF, O_ERRF, O_SANDBOX, O_TICK,
	O_CANCEL_MS, O_CANCEL_ON, O_LIVE, O_CLOSE_STDIN, O_LEAK, O_WITHDRAW,
	O_AFTER_OUTPUT, O_MEMORY_MB, O_PIDS, O_CPU_CORES, O_ISOLATE, O_HIDE,
	O_KEEP_PATH, O_KEEP_RO, O_NET_NONE, O_SIGNAL, O_NO_CLONE3, O_REPEAT,
};

static const struct option longopts[] = {
	{ "stdin", required_argument, NULL, O_STDIN },
	{ "stdin-file", required_argument, NULL, O_STDIN_FILE },
	{ "timeout", required_argument, NULL, O_TIMEOUT },
	{ "grace", required_argument, NULL, O_GRACE },
	{ "cap", required_argument, NULL, O_CAP },
	{ "uid", required_argument, NULL, O_UID },
	{ "gid", required_argument, NULL, O_GID },
	{ "user", required_argument, NULL, O_USER },
	{ "rlimit-cpu", required_argument, NULL, O_RL_CPU },
	{ "rlimit-as", required_argument, NULL, O_RL_AS },
	{ "rlimit-nofile", required_argument, NULL, O_RL_NOFILE },
	{ "rlimit-nproc", required_argument, NULL, O_RL_NPROC },
	{ "rlimit-fsize", required_argument, NULL, O_RL_FSIZE },
	{ "env", required_argument, NULL, O_ENV },
	{ "cwd", required_argument, NULL, O_CWD },
	{ "workdir", required_argument, NULL, O_WORKDIR },
	{ "keep-workdir", no_argument, NULL, O_KEEP },
	{ "stdout-file", required_argument, NULL, O_OUTF },
	{ "stderr-file", required_argument, NULL, O_ERRF },
	{ "sandbox", required_argument, NULL, O_SANDBOX },
	{ "tick-ms", required_argument, NULL, O_TICK },
	{ "cancel-after-ms", required_argument, NULL, O_CANCEL_MS },
	{ "cancel-on-output", required_argument, NULL, O_CANCEL_ON },
	{ "ticks-after-output", required_argument, NULL, O_AFTER_OUTPUT },
	{ "live-file", required_argument, NULL, O_LIVE },
	{ "close-stdin", no_argument, NULL, O_CLOSE_STDIN },
	{ "leak-fd", no_argument, NULL, O_LEAK },
	{ "withdraw", no_argument, NULL, O_WITHDRAW },
	{ "memory-mb", required_argument, NULL, O_MEMORY_MB },
	{ "pids", required_argument, NULL, O_PIDS },
	{ "cpu-cores", required_argument, NULL, O_CPU_CORES },
	{ "isolate", no_argument, NULL, O_ISOLATE },
	{ "hide", required_argument, NULL, O_HIDE },
	{ "keep", required_argument, NULL, O_KEEP_PATH },
	{ "keep-ro", required_argument, NULL, O_KEEP_RO },
	{ "net-none", no_argument, NULL, O_NET_NONE },
	{ "signal", required_argument, NULL, O_SIGNAL },
	{ "no-clone3", no_argument, NULL, O_NO_CLONE3 },
	{ "repeat", required_argument, NULL, O_REPEAT },
	{ NULL, 0, NULL, 0 },
};

int
main(int argc, char **argv)
{
	struct exec_spec spec;
	struct exec_limits lim;
	struct exec_hooks hooks;
	struct exec_result res;
	struct driver d;
	struct sandbox sb = SANDBOX_INIT;
	struct buf b = BUF_INIT;
	struct passwd *pw;
	struct exec_isolation iso;
	const char *hide[MAX_PATHS + 1], *keepp[MAX_PATHS + 1];
	const char *keep_ro[MAX_PATHS + 1];
	int nhide = 0, nkeep = 0, nkeep_ro = 0, isolate = 0, repeat = 1;
	double *launch = NULL;
	char *colon;
	char **env;
	char err[1024];
	const char *sandbox_opt = "auto", *outf = NULL, *errf = NULL;
	const char *workbase = NULL;
	char *stdin_owned = NULL, *workdir = NULL;
	int nenv = 0, opt, rc, keep = 0, have_limits = 0, tick_ms = 0;

	log_init(LOG_LVL_INFO, "cli");
	memset(&spec, 0, sizeof(spec));
	memset(&lim, 0, sizeof(lim));
	memset(&hooks, 0, sizeof(hooks));
	memset(&d, 0, sizeof(d));
	spec.uid = (uid_t)-1;
	spec.gid = (gid_t)-1;
	env = calloc((size_t)argc + 1, sizeof(*env));
	if (env == NULL)
		return 2;

	while ((opt = getopt_long(argc, argv, "+", longopts, NULL)) != -1) {
		switch (opt) {
		case O_STDIN:
			spec.stdin_data = optarg;
			spec.stdin_len = strlen(optarg);
			break;
		case O_STDIN_FILE:
			stdin_owned = read_whole(optarg, &spec.stdin_len);
			spec.stdin_data = stdin_owned;
			break;
		case O_TIMEOUT: spec.timeout_s = atof(optarg); break;
		case O_GRACE: spec.grace_s = atof(optarg); break;
		case O_CAP: spec.capture_cap = strtoull(optarg, NULL, 10); break;
		case O_UID: spec.uid = (uid_t)atol(optarg); break;
		case O_GID: spec.gid = (gid_t)atol(optarg); break;
		case O_USER:
			pw = getpwnam(optarg);
			if (pw == NULL) {
				fprintf(stderr, "test-exec: no user \"%s\"\n",
				    optarg);
				return 2;
			}
			spec.uid = pw->pw_uid;
			spec.gid = pw->pw_gid;
			break;
		case O_RL_CPU: lim.cpu_s = atol(optarg); have_limits = 1; break;
		case O_RL_AS:
			lim.as_bytes = atoll(optarg);
			have_limits = 1;
			break;
		case O_RL_NOFILE:
			lim.nofile = atol(optarg);
			have_limits = 1;
			break;
		case O_RL_NPROC:
			lim.nproc = atol(optarg);
			have_limits = 1;
			break;
		case O_RL_FSIZE:
			lim.fsize_bytes = atoll(optarg);
			have_limits = 1;
			break;
		case O_MEMORY_MB:
			lim.memory_bytes = atoll(optarg) * 1024 * 1024;
			have_limits = 1;
			break;
		case O_PIDS:
			lim.pids = atoll(optarg);
			have_limits = 1;
			break;
		case O_CPU_CORES:
			lim.cpu_cores = atof(optarg);
			have_limits = 1;
			break;
		case O_ENV: env[nenv++] = optarg; break;
		case O_CWD: spec.cwd = optarg; break;
		case O_WORKDIR: workbase = optarg; break;
		case O_KEEP: keep = 1; break;
		case O_OUTF: outf = optarg; break;
		case O_ERRF: errf = optarg; break;
		case O_SANDBOX: sandbox_opt = optarg; break;
		case O_TICK: tick_ms = atoi(optarg); break;
		case O_CANCEL_MS: d.cancel_after_ms = atol(optarg); break;
		case O_CANCEL_ON: d.cancel_on = optarg; break;
		case O_AFTER_OUTPUT: d.after_output = optarg; break;
		case O_LIVE: d.live_file = optarg; break;
		case O_CLOSE_STDIN: close(0); break;
		case O_WITHDRAW: d.withdraw = 1; break;
		case O_ISOLATE: isolate = 1; break;
		case O_HIDE:
		case O_KEEP_PATH:
		case O_KEEP_RO:
			if (nhide == MAX_PATHS || nkeep == MAX_PATHS ||
			    nkeep_ro == MAX_PATHS)
				usage();
			if (opt == O_HIDE)
				hide[nhide++] = optarg;
			else if (opt == O_KEEP_PATH)
				keepp[nkeep++] = optarg;
			else
				keep_ro[nkeep_ro++] = optarg;
			isolate = 1;
			break;
		case O_NET_NONE: spec.network_none = 1; break;
		case O_SIGNAL:
			colon = strchr(optarg, ':');
			if (colon == NULL)
				usage();
			d.send_sig = atoi(optarg);
			d.send_on = colon + 1;
			break;
		case O_NO_CLONE3: no_clone3(); break;
		case O_REPEAT:
			repeat = atoi(optarg);
			if (repeat < 1)
				usage();
			break;
		case O_LEAK:
			/* A descriptor the child must not inherit. */
			if (open("/etc/passwd", O_RDONLY) == -1)
				return 2;
			break;
		default:
			usage();
		}
	}
	if (optind >= argc)
		usage();
	spec.path = argv[optind];
	spec.argv = argv + optind;
	spec.envp = env;
	if (have_limits)
		spec.limits = &lim;
	hide[nhide] = keepp[nkeep] = keep_ro[nkeep_ro] = NULL;
	iso.hide = hide;
	iso.keep = keepp;
	iso.keep_ro = keep_ro;
	if (isolate)
		spec.isolation = &iso;

	if (strcmp(sandbox_opt, "none") == 0) {
		sandbox_init_fallback(&sb, 0);
	} else if (sandbox_init(&sb, strcmp(sandbox_opt, "auto") == 0 ? NULL :
	    sandbox_opt, 1, err, sizeof(err)) == -1) {
		fprintf(stderr, "test-exec: %s\n", err);
		return 2;
	}
	spec.sandbox = &sb;
	if (have_limits)
		limits_fallback(&sb, &lim);

	if (workbase != NULL) {
		if (sandbox_workdir_create(workbase, 42, spec.uid, spec.gid,
		    &workdir, err, sizeof(err)) == -1) {
			printf("result=error\nerror=%s\n", err);
			return 0;
		}
		spec.cwd = workdir;
		printf("workdir=%s\n", workdir);
	}

	hooks.started = on_started;
	hooks.ready = on_ready;
	hooks.arg = &d;
	if (tick_ms > 0 || d.cancel_after_ms > 0 || d.cancel_on != NULL ||
	    d.live_file != NULL || d.after_output != NULL ||
	    d.send_on != NULL) {
		hooks.tick = on_tick;
		hooks.tick_ms = tick_ms > 0 ? tick_ms : 100;
	}
	d.t0 = clock_mono_ms();

	launch = calloc((size_t)repeat, sizeof(*launch));
	if (launch == NULL)
		return 2;
	for (int i = 0; i < repeat; i++) {
		double t = clock_mono_ms();

		if (i > 0) {
			exec_result_free(&res);
			sandbox_tidy(&sb);      /* as a runner does between runs */
		}
		rc = exec_run(&spec, &hooks, &res, err, sizeof(err));
		launch[i] = (clock_mono_ms() - t) * 1000.0;
		if (rc == -1)
			break;
	}
	if (repeat > 1 && rc == 0) {
		double sum = 0;

		for (int i = 0; i < repeat; i++)
			sum += launch[i];
		qsort(launch, (size_t)repeat, sizeof(*launch), cmp_double);
		printf("launch_us_median=%.0f\nlaunch_us_mean=%.0f\n",
		    launch[repeat / 2], sum / repeat);
	}
	free(launch);
	if (rc == -1) {
		printf("result=error\nerror=%s\n", err);
	} else {
		printf("result=ok\n");
		printf("exited=%d\nexit_code=%d\nsignaled=%d\nsigno=%d\n",
		    res.exited, res.exit_code, res.signaled, res.signo);
		printf("timed_out=%d\ncanceled=%d\nduration_ms=%.0f\n",
		    res.timed_out, res.canceled, res.duration_ms);
		printf("cpu_user_ms=%lld\ncpu_system_ms=%lld\n"
		    "max_rss_kb=%lld\n", res.cpu_user_ms, res.cpu_system_ms,
		    res.max_rss_kb);
		printf("stdout_bytes=%llu\nstdout_truncated=%d\n"
		    "stderr_bytes=%llu\nstderr_truncated=%d\n",
		    capture_total(&res.out), capture_truncated(&res.out),
		    capture_total(&res.err), capture_truncated(&res.err));
		if (outf != NULL) {
			capture_render(&res.out, &b);
			write_file(outf, b.data ? b.data : "", b.len);
			buf_reset(&b);
		}
		if (errf != NULL) {
			capture_render(&res.err, &b);
			write_file(errf, b.data ? b.data : "", b.len);
		}
	}
	printf("started=%d\nticks=%d\nticks_after_output=%d\nsandbox=%s\n",
	    d.started, d.ticks, d.ticks_after, sandbox_kind_name(&sb));
	printf("ready_called=%d\nrefused=%d\n", d.ready_called, res.refused);
	printf("limit=%s\n", limits_name(res.limit) ? limits_name(res.limit) :
	    "none");
	printf("rlimit_as=%lld\nrlimit_nproc=%ld\n", lim.as_bytes, lim.nproc);
	buf_reset(&b);
	limits_describe_host(&sb, &b);
	printf("mechanisms=%s\n", buf_str(&b));
	printf("signalled=%d\n", d.signalled);
	if (workdir != NULL && !keep) {
		if (sandbox_workdir_remove(workdir, err, sizeof(err)) == -1)
			printf("workdir_removed=0\nworkdir_error=%s\n", err);
		else
			printf("workdir_removed=1\n");
	}
	printf("vmhwm_kb=%lld\n", vmhwm_kb());
	exec_result_free(&res);
	buf_free(&b);
	free(stdin_owned);
	free(workdir);
	free(env);
	sandbox_free(&sb);
	return 0;
}
