/* Unit tests of the direct hand-off between API workers and runners and
 * of the runners' scan decisions: the shared-memory rules, with several
 * forked processes competing for the same slots as they do in the
 * daemon. */
#include "config.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "clock.h"
#include "execution.h"
#include "shm.h"
#include "tap.h"

int
main(void)
{
	struct shm *shm = shm_create();
	long long got;
	int n, i;

	plan_lazy();

	ok(execution_take_handoff(shm) == 0, "nothing to take at first");
	ok(execution_handoff(shm, 7) == 0, "handed off");
	got = execution_take_handoff(shm);
	is_int((int)got, 7, "the runner takes that id");
	ok(execution_take_handoff(shm) == 0, "once only");

	/* Taken in queue order, whatever slot each landed in. */
	execution_handoff(shm, 130);
	execution_handoff(shm, 66);
	execution_handoff(shm, 65);
	execution_handoff(shm, 129);
	long long order[4];
	for (i = 0; i < 4; i++)
		order[i] = execution_take_handoff(shm);
	ok(order[0] == 65 && order[1] == 66 && order[2] == 129 &&
	    order[3] == 130, "smallest id first: %lld %lld %lld %lld",
	    order[0], order[1], order[2], order[3]);

	/* Every slot taken: the next one falls back to the queue. */
	for (n = 0, i = 1; i <= SHM_HANDOFF_SLOTS; i++)
		n += execution_handoff(shm, 1000 + i) == 0;
	is_int(n, SHM_HANDOFF_SLOTS, "every slot can hold an id");
	ok(execution_handoff(shm, 5000) == -1, "a full table refuses");
	long long sum = 0;
	for (n = 0; (got = execution_take_handoff(shm)) != 0; n++)
		sum += got;
	is_int(n, SHM_HANDOFF_SLOTS, "all are taken back");
	ok(sum == SHM_HANDOFF_SLOTS * 1000LL +
	    SHM_HANDOFF_SLOTS * (SHM_HANDOFF_SLOTS + 1LL) / 2,
	    "each exactly once");

	/* Four processes take from 64 handed-off ids at once: each id goes
	 * to exactly one of them. */
	for (i = 1; i <= SHM_HANDOFF_SLOTS; i++)
		execution_handoff(shm, i);
	int pipes[4][2];
	for (int k = 0; k < 4; k++) {
		if (pipe(pipes[k]) == -1)
			return 2;
		if (fork() == 0) {
			unsigned char seen[SHM_HANDOFF_SLOTS + 1] = { 0 };
			while ((got = execution_take_handoff(shm)) != 0)
				seen[got] = 1;
			if (write(pipes[k][1], seen, sizeof(seen)) !=
			    (ssize_t)sizeof(seen))
				_exit(1);
			_exit(0);
		}
		close(pipes[k][1]);
	}
	int counts[SHM_HANDOFF_SLOTS + 1] = { 0 };
	for (int k = 0; k < 4; k++) {
		unsigned char seen[SHM_HANDOFF_SLOTS + 1];
		if (read(pipes[k][0], seen, sizeof(seen)) !=
		    (ssize_t)sizeof(seen))
			return 2;
		for (i = 1; i <= SHM_HANDOFF_SLOTS; i++)
			counts[i] += seen[i];
		wait(NULL);
	}
	int once = 1;
	for (i = 1; i <= SHM_HANDOFF_SLOTS; i++)
		if (counts[i] != 1)
			once = 0;
	ok(once, "competing runners: every id taken by exactly one");

	/* Scans: a flagged backlog triggers exactly one scan; the poll for
	 * other nodes' work is due once per interval for the whole node. */
	atomic_store(&shm->last_poll_ms, (int64_t)clock_mono_ms() - 120000);
	ok(execution_scan_due(shm, 60000) == 1, "the first poll is due");
	ok(execution_scan_due(shm, 60000) == 0,
	    "a second runner does not poll again within the interval");
	execution_backlog(shm);
	ok(execution_scan_due(shm, 60000) == 1, "a backlog makes a scan due");
	ok(execution_scan_due(shm, 60000) == 0, "and is consumed by it");
	execution_backlog(shm);
	execution_backlog(shm);
	ok(execution_scan_due(shm, 60000) == 1 &&
	    execution_scan_due(shm, 60000) == 1 &&
	    execution_scan_due(shm, 60000) == 0, "one scan per backlog counted");
	execution_backlog(shm);
	execution_backlog(shm);
	execution_backlog_none(shm);
	ok(execution_scan_due(shm, 60000) == 0, "a scan that found nothing "
	    "clears the count");

	/* A scan passes over what waits in the slots. */
	long long list[SHM_HANDOFF_SLOTS];
	execution_handoff(shm, 501);
	execution_handoff(shm, 502);
	size_t nl = execution_handoff_list(shm, list);
	ok(nl == 2 && ((list[0] == 501 && list[1] == 502) ||
	    (list[0] == 502 && list[1] == 501)), "the waiting ids are listed");
	while (execution_take_handoff(shm) != 0)
		;
	ok(execution_handoff_list(shm, list) == 0, "none once taken");
	usleep(30 * 1000);
	ok(execution_scan_due(shm, 20) == 1, "the poll is due again after "
	    "its interval");

	return done_testing();
}
