/* Unit tests of sandbox_tidy() (sandbox.h, struct sandbox_spare) where no
 * cgroup can be made: the failure is said once, not at every idle poll,
 * nothing is left half-made, and a forked copy of the struct leaves it
 * alone. (Runs with real cgroups: tests/exec and the integration tests.) */
#include "config.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "log.h"
#include "sandbox.h"
#include "tap.h"

/* Lines of `path` that contain `what`. */
static int
count(const char *path, const char *what)
{
	char line[1024];
	int n = 0;
	FILE *f = fopen(path, "r");

	if (f == NULL)
		return -1;
	while (fgets(line, sizeof(line), f) != NULL)
		n += strstr(line, what) != NULL;
	fclose(f);
	return n;
}

int
main(void)
{
	char logf[] = "/tmp/sto-tidy-XXXXXX";
	struct sandbox sb = SANDBOX_INIT;
	int fd, saved, status;
	pid_t pid;

	plan_lazy();
	log_init(LOG_LVL_INFO, "test");
	sandbox_init_fallback(&sb, 0);
	sb.kind = SANDBOX_CGROUP2;      /* under a base that cannot exist */
	sb.cg2_base = strdup("/nonexistent-scriptorch-test/base");
	if ((fd = mkstemp(logf)) == -1 || (saved = dup(2)) == -1 ||
	    dup2(fd, 2) == -1)
		return 2;

	for (int i = 0; i < 5; i++)     /* five idle polls */
		sandbox_tidy(&sb);
	fflush(stderr);
	ok(count(logf, "cannot create cgroup") == 1,
	    "a cgroup that cannot be made is reported once");
	ok(sb.spare.next.path == NULL && sb.spare.next.procs_fd == -1 &&
	    sb.spare.next.dir_fd == -1, "and nothing is left half-made");

	pid = fork();
	if (pid == 0) {
		sb.spare.failing = 0;
		sandbox_tidy(&sb);      /* not the owner: does nothing */
		fflush(stderr);
		_exit(0);
	}
	waitpid(pid, &status, 0);
	ok(count(logf, "cannot create cgroup") == 1,
	    "a forked copy of the struct leaves it alone");

	sb.spare.failing = 0;           /* as after a success */
	sandbox_tidy(&sb);
	fflush(stderr);
	ok(count(logf, "cannot create cgroup") == 2,
	    "a new failure after a success is reported again");

	dup2(saved, 2);
	unlink(logf);
	sandbox_free(&sb);
	return done_testing();
}
