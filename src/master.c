/*
 * master.c - spawn, reap, respawn, reload and stop the worker processes.
 *
 * The master never touches the database or a request: it only supervises,
 * so nothing a request or a script does can take it down. It waits for
 * signals with sigtimedwait() (all of them blocked), which needs no
 * handler and cannot lose a SIGCHLD.
 */
#include "config.h"

#include <errno.h>
#include <fcgiapp.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "clock.h"
#include "conf.h"
#include "execution.h"
#include "janitor.h"
#include "log.h"
#include "master.h"
#include "runner.h"
#include "sandbox.h"
#include "sender.h"
#include "shm.h"
#include "worker.h"

enum kind { K_API, K_RUNNER, K_JANITOR, K_SENDER, K_NKINDS };

static const char *kind_names[K_NKINDS] = { "api worker", "runner", "janitor",
	"callback sender" };

#define MAX_CHILDREN 1024

struct child {
	pid_t pid;
	enum kind kind;
	int slot;
	int generation;     /* config generation it was started with */
	double started_ms;
	int retiring;       /* asked to stop; not replaced when it exits */
};

struct master {
	const char *conf_path;
	struct conf *conf;
	int generation;
	int listen_fd;
	struct shm *shm;
	struct child kids[MAX_CHILDREN];
	int nkids;
	/* Respawn throttling per kind: next time a respawn is allowed. */
	double next_spawn_ms[K_NKINDS];
	double backoff_ms[K_NKINDS];
	pid_t self;
};

static int
wanted(const struct conf *c, enum kind k)
{
	switch (k) {
	case K_API: return c->api_workers;
	case K_RUNNER: return c->runner_workers;
	case K_JANITOR: return 1;
	/* Without a secret nothing can be signed: no sender (and no
	 * callback URL is accepted, conf.h). */
	case K_SENDER: return c->has_callback_secret ? 1 : 0;
	default: return 0;
	}
}

static int
open_listener(const struct conf *c)
{
	int fd;
	const char *l = c->listen;

	if (l[0] == '/') {
		/* A stale socket from a previous run would make bind fail. */
		struct stat st;
		if (lstat(l, &st) == 0 && S_ISSOCK(st.st_mode))
			unlink(l);
	}
	fd = FCGX_OpenSocket(l, 1024);
	if (fd < 0)
		fatal("cannot listen on \"%s\"", l);
	if (l[0] == '/') {
		mode_t mode = (mode_t)strtol(c->socket_mode, NULL, 8);
		if (chmod(l, mode) == -1)
			log_warn("chmod \"%s\"", l);
	}
	/* Scripts must never inherit the socket (the executor also closes
	 * every descriptor above 2, this is the second lock). */
	fcntl(fd, F_SETFD, FD_CLOEXEC);
	log_info("listening on \"%s\"", l);
	return fd;
}

static void
child_init_signals(void)
{
	sigset_t none;
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_DFL;
	sigemptyset(&sa.sa_mask);
	for (int s = 1; s < NSIG; s++)
		if (s != SIGKILL && s != SIGSTOP)
			sigaction(s, &sa, NULL);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
}

static void
spawn(struct master *m, enum kind k, int slot)
{
	pid_t pid;

	if (m->nkids == MAX_CHILDREN)
		fatalx("too many children");
	pid = fork();
	if (pid == -1) {
		log_warn("fork %s", kind_names[k]);
		m->next_spawn_ms[k] = clock_mono_ms() + 1000;
		return;
	}
	if (pid == 0) {
		/* Die with the master rather than run unsupervised. */
		prctl(PR_SET_PDEATHSIG, SIGTERM);
		if (getppid() != m->self)
			_exit(1);
		child_init_signals();
		/* Named so that ps and the tests can tell the kinds apart. */
		prctl(PR_SET_NAME, k == K_API ? "sto-api" :
		    k == K_RUNNER ? "sto-runner" : k == K_SENDER ?
		    "sto-sender" : "sto-janitor");
		switch (k) {
		case K_API:
			log_init(LOG_LVL_INFO, "api");
			break;
		case K_RUNNER:
			log_init(LOG_LVL_INFO, "runner");
			break;
		case K_SENDER:
			log_init(LOG_LVL_INFO, "sender");
			break;
		default:
			log_init(LOG_LVL_INFO, "janitor");
		}
		enum log_level lvl;
		if (log_level_parse(m->conf->log_level, &lvl) == 0)
			log_set_level(lvl);
		switch (k) {
		case K_API:
			worker_main(m->conf, m->listen_fd, m->shm);
		case K_RUNNER:
			close(m->listen_fd);
			runner_main(m->conf, m->shm, slot);
		case K_SENDER:
			close(m->listen_fd);
			sender_main(m->conf, m->shm);
		default:
			close(m->listen_fd);
			janitor_main(m->conf, m->shm);
		}
	}
	m->kids[m->nkids++] = (struct child){ pid, k, slot, m->generation,
	    clock_mono_ms(), 0 };
	log_debug("started %s %d as pid %ld", kind_names[k], slot, (long)pid);
}

/* Starts whatever is missing for the current generation. */
static void
fill(struct master *m)
{
	double now = clock_mono_ms();

	for (int k = 0; k < K_NKINDS; k++) {
		int want = wanted(m->conf, (enum kind)k);
		if (now < m->next_spawn_ms[k])
			continue;
		for (int slot = 0; slot < want; slot++) {
			int have = 0;
			for (int i = 0; i < m->nkids; i++)
				if (m->kids[i].kind == (enum kind)k &&
				    m->kids[i].slot == slot &&
				    !m->kids[i].retiring)
					have = 1;
			if (!have)
				spawn(m, (enum kind)k, slot);
		}
	}
}

static void
reap(struct master *m)
{
	int status;
	pid_t pid;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		int i;
		for (i = 0; i < m->nkids; i++)
			if (m->kids[i].pid == pid)
				break;
		if (i == m->nkids)
			continue;   /* an orphan we adopted as subreaper */
		struct child c = m->kids[i];
		m->kids[i] = m->kids[--m->nkids];
		/* Its runner mailbox, or the reservations it held. */
		dispatch_mailbox_forget(m->shm, (int)pid);
		if (c.retiring) {
			log_debug("%s pid %ld retired", kind_names[c.kind],
			    (long)pid);
			continue;
		}
		if (WIFSIGNALED(status))
			log_warnx("%s pid %ld killed by signal %d; restarting",
			    kind_names[c.kind], (long)pid, WTERMSIG(status));
		else
			log_warnx("%s pid %ld exited with status %d; "
			    "restarting", kind_names[c.kind], (long)pid,
			    WEXITSTATUS(status));
		/* A child dying young is throttled: 0.5 s doubling to 10 s. */
		double now = clock_mono_ms();
		if (now - c.started_ms < 2000) {
			m->backoff_ms[c.kind] = m->backoff_ms[c.kind] ?
			    m->backoff_ms[c.kind] * 2 : 500;
			if (m->backoff_ms[c.kind] > 10000)
				m->backoff_ms[c.kind] = 10000;
			m->next_spawn_ms[c.kind] = now + m->backoff_ms[c.kind];
		} else {
			m->backoff_ms[c.kind] = 0;
		}
	}
}

static void
signal_all(struct master *m, int sig, int only_old_generation)
{
	for (int i = 0; i < m->nkids; i++) {
		if (only_old_generation && m->kids[i].generation == m->generation)
			continue;
		m->kids[i].retiring = 1;
		kill(m->kids[i].pid, sig);
	}
}

static void
reload(struct master *m)
{
	struct conf *nc = calloc(1, sizeof(*nc));
	char err[512];

	if (nc == NULL)
		fatal("calloc");
	conf_defaults(nc);
	if (conf_load(nc, m->conf_path, err, sizeof(err)) == -1) {
		log_warnx("reload refused, keeping the running config: %s", err);
		conf_free(nc);
		free(nc);
		return;
	}
	if (strcmp(nc->listen, m->conf->listen) != 0)
		log_warnx("\"listen\" changed to \"%s\": that takes a restart; "
		    "still listening on \"%s\"", nc->listen, m->conf->listen);
	/* Keep the listener the workers share. */
	free(nc->listen);
	nc->listen = xstrdup(m->conf->listen);
	conf_free(m->conf);
	*m->conf = *nc;
	free(nc);
	enum log_level lvl;
	if (log_level_parse(m->conf->log_level, &lvl) == 0)
		log_set_level(lvl);
	m->generation++;
	/* Start the new generation first, then retire the old one: no
	 * moment without workers. */
	memset(m->next_spawn_ms, 0, sizeof(m->next_spawn_ms));
	for (int i = 0; i < m->nkids; i++)
		m->kids[i].retiring = 1;
	fill(m);
	for (int i = 0; i < m->nkids; i++)
		if (m->kids[i].generation != m->generation)
			kill(m->kids[i].pid, SIGTERM);
	log_info("configuration reloaded (generation %d)", m->generation);
}

static void
shutdown_children(struct master *m)
{
	double deadline = clock_mono_ms() + m->conf->shutdown_timeout_s * 1000.0;
	sigset_t set;
	struct timespec ts = { 0, 100 * 1000000L };

	/* For good (not a reload): the janitor records the node down as it
	 * leaves (nodes.h). */
	atomic_store(&m->shm->node_stopping, 1);
	signal_all(m, SIGTERM, 0);
	sigemptyset(&set);
	sigaddset(&set, SIGCHLD);
	while (m->nkids > 0) {
		reap(m);
		if (m->nkids == 0)
			break;
		if (clock_mono_ms() > deadline) {
			log_warnx("%d children still running after %d s; "
			    "killing them", m->nkids, m->conf->shutdown_timeout_s);
			signal_all(m, SIGKILL, 0);
			deadline = clock_mono_ms() + 5000;
		}
		sigtimedwait(&set, NULL, &ts);
	}
}

int
master_run(const char *conf_path, struct conf *c)
{
	struct master *m = calloc(1, sizeof(*m));
	sigset_t set;
	siginfo_t si;
	struct timespec tick = { 1, 0 };
	int sig;

	if (m == NULL)
		fatal("calloc");
	m->conf_path = conf_path;
	m->conf = c;
	m->self = getpid();
	/* Orphans of crashed runners come back to us, not to init: the
	 * janitor still finds their executions, and we reap them. */
	if (prctl(PR_SET_CHILD_SUBREAPER, 1) == -1)
		log_warn("PR_SET_CHILD_SUBREAPER");
	/* Before any child: the delegated cgroup controllers for the runs'
	 * limits (a pure cgroup v2 host under systemd). */
	sandbox_host_prepare(c->cgroup_root);

	sigemptyset(&set);
	sigaddset(&set, SIGCHLD);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	sigprocmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);

	if (FCGX_Init() != 0)
		fatalx("FCGX_Init failed");
	m->listen_fd = open_listener(c);
	m->shm = shm_create();
	/* Before any child, so that all of them can ring it. */
	sender_doorbell_init(m->shm);
	{
		struct timespec now;
		clock_gettime(CLOCK_REALTIME, &now);
		/* The node's started_at in the nodes table (nodes.h). */
		atomic_store(&m->shm->started_unix_ms, (int64_t)now.tv_sec *
		    1000 + now.tv_nsec / 1000000);
	}
	log_info("scriptorchd %s starting: %d api workers, %d runners, node "
	    "\"%s\"", PACKAGE_VERSION, c->api_workers, c->runner_workers,
	    c->node_name);
	fill(m);
	for (;;) {
		sig = sigtimedwait(&set, &si, &tick);
		if (sig == SIGTERM || sig == SIGINT) {
			log_info("stopping on signal %d", sig);
			break;
		}
		if (sig == SIGHUP)
			reload(m);
		reap(m);
		fill(m);
	}
	shutdown_children(m);
	close(m->listen_fd);
	if (c->listen[0] == '/')
		unlink(c->listen);
	log_info("stopped");
	free(m);
	return 0;
}
