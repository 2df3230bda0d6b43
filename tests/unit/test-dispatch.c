/* Unit tests of the dispatch through shared memory (dispatch.h), with
 * several forked processes competing for the same words as they do in
 * the daemon: the direct hand-off between API workers and runners and
 * the runners' scan decisions; the runners' mailboxes (reservation,
 * assignment, taking, the clean-up after a dead process, API workers
 * competing for one idle runner, the final row left for a waiter, an
 * execution assigned before its row's commit and settled after); the
 * completion words. */
#include "config.h"

#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "buf.h"
#include "clock.h"
#include "dispatch.h"
#include "registry.h"
#include "shm.h"
#include "tap.h"

/* Hand-off slots, the backlog and the poll. */
static int
handoffs(struct shm *shm)
{
	long long got;
	int n, i;

	ok(dispatch_take_handoff(shm) == 0, "nothing to take at first");
	ok(dispatch_handoff(shm, 7) == 0, "handed off");
	got = dispatch_take_handoff(shm);
	is_int((int)got, 7, "the runner takes that id");
	ok(dispatch_take_handoff(shm) == 0, "once only");

	/* Taken in queue order, whatever slot each landed in. */
	dispatch_handoff(shm, 130);
	dispatch_handoff(shm, 66);
	dispatch_handoff(shm, 65);
	dispatch_handoff(shm, 129);
	long long order[4];
	for (i = 0; i < 4; i++)
		order[i] = dispatch_take_handoff(shm);
	ok(order[0] == 65 && order[1] == 66 && order[2] == 129 &&
	    order[3] == 130, "smallest id first: %lld %lld %lld %lld",
	    order[0], order[1], order[2], order[3]);

	/* Every slot taken: the next one falls back to the queue. */
	for (n = 0, i = 1; i <= SHM_HANDOFF_SLOTS; i++)
		n += dispatch_handoff(shm, 1000 + i) == 0;
	is_int(n, SHM_HANDOFF_SLOTS, "every slot can hold an id");
	ok(dispatch_handoff(shm, 5000) == -1, "a full table refuses");
	long long sum = 0;
	for (n = 0; (got = dispatch_take_handoff(shm)) != 0; n++)
		sum += got;
	is_int(n, SHM_HANDOFF_SLOTS, "all are taken back");
	ok(sum == SHM_HANDOFF_SLOTS * 1000LL +
	    SHM_HANDOFF_SLOTS * (SHM_HANDOFF_SLOTS + 1LL) / 2,
	    "each exactly once");

	/* Four processes take from 64 handed-off ids at once: each id goes
	 * to exactly one of them. */
	for (i = 1; i <= SHM_HANDOFF_SLOTS; i++)
		dispatch_handoff(shm, i);
	int pipes[4][2];
	for (int k = 0; k < 4; k++) {
		if (pipe(pipes[k]) == -1)
			return 2;
		if (fork() == 0) {
			unsigned char seen[SHM_HANDOFF_SLOTS + 1] = { 0 };
			while ((got = dispatch_take_handoff(shm)) != 0)
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
	uint32_t adds;
	atomic_store(&shm->last_poll_ms, (int64_t)clock_mono_ms() - 120000);
	ok(dispatch_scan_due(shm, 60000, &adds) == DISPATCH_SCAN_POLL,
	    "the first poll is due");
	ok(dispatch_scan_due(shm, 60000, &adds) == 0,
	    "a second runner does not poll again within the interval");
	dispatch_backlog(shm);
	ok(dispatch_scan_due(shm, 60000, &adds) == DISPATCH_SCAN_COUNTED,
	    "a backlog makes a scan due");
	ok(dispatch_scan_due(shm, 60000, &adds) == 0, "and is consumed by it");
	dispatch_backlog(shm);
	dispatch_backlog(shm);
	ok(dispatch_scan_due(shm, 60000, &adds) == DISPATCH_SCAN_COUNTED &&
	    dispatch_scan_due(shm, 60000, &adds) == DISPATCH_SCAN_COUNTED &&
	    dispatch_scan_due(shm, 60000, &adds) == 0,
	    "one scan per backlog counted");
	dispatch_backlog(shm);
	dispatch_backlog(shm);
	ok(dispatch_scan_due(shm, 60000, &adds) == DISPATCH_SCAN_COUNTED,
	    "a scan for one of two");
	dispatch_backlog_none(shm, adds);
	ok(dispatch_scan_due(shm, 60000, &adds) == 0,
	    "a scan that found nothing clears the count");

	/* A row counted while a scan runs, after the scan read the queue:
	 * the scan cannot have seen it, so its finding nothing must not
	 * forget that count, or the row waits for the next poll while
	 * every runner sleeps (the wake-up lost). */
	dispatch_backlog(shm);
	dispatch_backlog(shm);
	dispatch_backlog(shm);
	ok(dispatch_scan_due(shm, 60000, &adds) == DISPATCH_SCAN_COUNTED,
	    "a scan begins");
	dispatch_backlog(shm);          /* an API worker, meanwhile */
	dispatch_backlog_none(shm, adds);
	is_int(atomic_load(&shm->backlog), 1, "an empty scan forgets what "
	    "was counted before it began, not what was counted during it");
	ok(dispatch_scan_due(shm, 60000, &adds) == DISPATCH_SCAN_COUNTED,
	    "that one is scanned for");
	dispatch_backlog_none(shm, adds);
	ok(dispatch_scan_due(shm, 60000, &adds) == 0,
	    "and forgotten by an empty scan that began after it");
	/* The same from two processes: a child counts while we scan. */
	dispatch_backlog(shm);
	ok(dispatch_scan_due(shm, 60000, &adds) == DISPATCH_SCAN_COUNTED,
	    "a scan begins again");
	pid_t adder = fork();
	if (adder == 0) {
		dispatch_backlog(shm);
		_exit(0);
	}
	int adder_st;
	waitpid(adder, &adder_st, 0);
	dispatch_scanned(shm, 0, adds);
	ok(dispatch_scan_due(shm, 60000, &adds) == DISPATCH_SCAN_COUNTED,
	    "counted by another process during the scan: kept");

	/* A scan passes over what waits in the slots. */
	long long list[SHM_HANDOFF_SLOTS];
	dispatch_handoff(shm, 501);
	dispatch_handoff(shm, 502);
	size_t nl = dispatch_handoff_list(shm, list);
	ok(nl == 2 && ((list[0] == 501 && list[1] == 502) ||
	    (list[0] == 502 && list[1] == 501)), "the waiting ids are listed");
	while (dispatch_take_handoff(shm) != 0)
		;
	ok(dispatch_handoff_list(shm, list) == 0, "none once taken");
	usleep(30 * 1000);
	ok(dispatch_scan_due(shm, 20, &adds) == DISPATCH_SCAN_POLL,
	    "the poll is due again after its interval");

	/* A poll that claimed a row nothing had announced (queued before
	 * the node started): the next poll is due at once, and an idle
	 * runner is woken for it, so that such a queue drains at the pace
	 * of the runs, not one row per interval. */
	int box = dispatch_mailbox_open(shm);
	uint32_t bell = dispatch_mailbox_idle(shm, box);
	ok(dispatch_scan_due(shm, 60000, &adds) == 0,
	    "no poll within the interval");
	dispatch_poll_again(shm);
	ok(atomic_load(&shm->box[box].bell) != bell,
	    "a poll that found work wakes an idle runner");
	ok(dispatch_scan_due(shm, 60000, &adds) == DISPATCH_SCAN_POLL,
	    "which polls at once");
	ok(dispatch_scan_due(shm, 60000, &adds) == 0,
	    "and once: the poll that finds nothing waits its interval");
	dispatch_mailbox_busy(shm, box);
	dispatch_mailbox_close(shm, box);

	return 0;
}

/* The runners' mailboxes. */
static int
boxes(struct shm *shm)
{
	struct script s;
	struct mailbox_job j;
	int rpid = 0, box, k;

	memset(&s, 0, sizeof(s));
	s.id = 42;
	snprintf(s.updated_at, sizeof(s.updated_at), "2026-11-26T12:00:00.123Z");

	ok(dispatch_mailbox_reserve(shm, &rpid) == -1, "no runner, no box");
	box = dispatch_mailbox_open(shm);
	ok(box >= 0, "a runner opens a box");
	ok(dispatch_mailbox_reserve(shm, &rpid) == -1,
	    "a busy runner is not reserved");
	ok(dispatch_mailbox_take(shm, box, &j) == 0, "nothing to take at first");

	dispatch_mailbox_idle(shm, box);
	ok(dispatch_mailbox_reserve(shm, &rpid) == box && rpid == getpid(),
	    "an idle runner is reserved, with its pid");
	ok(dispatch_mailbox_reserve(shm, &rpid) == -1, "once only");
	ok(dispatch_mailbox_reserved(shm, box), "the runner sees the reservation");
	ok(dispatch_mailbox_busy(shm, box) == -1,
	    "and may not take other work meanwhile");
	dispatch_mailbox_unreserve(shm, box);
	ok(!dispatch_mailbox_reserved(shm, box) &&
	    dispatch_mailbox_reserve(shm, &rpid) == box,
	    "a failed INSERT gives the runner back");

	dispatch_mailbox_assign(shm, box, 1001, 1, s.id, s.updated_at, "{\"a\":1}", 7);
	ok(dispatch_mailbox_take(shm, box, &j) == 1, "the runner takes it");
	ok(j.id == 1001 && j.running == 1 && j.script_id == 42 &&
	    strcmp(j.script_updated_at, s.updated_at) == 0 &&
	    j.input_json != NULL && strcmp(j.input_json, "{\"a\":1}") == 0,
	    "with its id, mode, script and input");
	free(j.input_json);
	ok(dispatch_mailbox_take(shm, box, &j) == 0, "once only");
	ok(dispatch_mailbox_busy(shm, box) == 0, "the box is busy again");
	ok(dispatch_mailbox_reserve(shm, &rpid) == -1, "and not reservable");

	/* An input over the box's size is left in the row. */
	char *big = malloc(MAILBOX_INPUT_MAX + 2);
	memset(big, 'x', MAILBOX_INPUT_MAX + 1);
	big[MAILBOX_INPUT_MAX + 1] = '\0';
	dispatch_mailbox_idle(shm, box);
	ok(dispatch_mailbox_reserve(shm, &rpid) == box, "reserved again");
	dispatch_mailbox_assign(shm, box, 1002, 0, s.id, s.updated_at, big, MAILBOX_INPUT_MAX + 1);
	ok(dispatch_mailbox_take(shm, box, &j) == 1 && j.id == 1002 &&
	    j.running == 0 && j.input_json == NULL,
	    "a big input is not copied: the runner reads the row");
	free(big);

	/* An API worker dies holding a reservation: the master frees it. */
	dispatch_mailbox_idle(shm, box);
	ok(dispatch_mailbox_reserve(shm, &rpid) == box, "reserved by a worker");
	dispatch_mailbox_forget(shm, 999999);
	ok(dispatch_mailbox_reserved(shm, box), "another pid's death changes "
	    "nothing");
	dispatch_mailbox_unreserve(shm, box);

	/* The runner dies with an id in its box: its row was reserved for
	 * that runner (the heartbeat sweep ends it lost); the next runner
	 * does not start it, however long it waited. */
	ok(dispatch_mailbox_reserve(shm, &rpid) == box, "reserved once more");
	dispatch_mailbox_assign(shm, box, 1003, 0, s.id, s.updated_at, "{}", 2);
	dispatch_mailbox_forget(shm, getpid());
	ok(atomic_load(&shm->box[box].owner) == 0, "its box is free");
	ok(dispatch_mailbox_open(shm) == box &&
	    dispatch_mailbox_take(shm, box, &j) == 0,
	    "the next runner does not start the id left there");

	/* The runner dies while a worker (another process) inserts for it:
	 * the worker's assignment goes to the next runner (a fresh row). */
	dispatch_mailbox_idle(shm, box);
	int go[2], got_box[2];
	if (pipe(go) == -1 || pipe(got_box) == -1)
		return 2;
	pid_t worker = fork();
	if (worker == 0) {
		char b = (char)dispatch_mailbox_reserve(shm, &rpid), x;
		if (write(got_box[1], &b, 1) != 1 || read(go[0], &x, 1) != 1)
			_exit(1);
		dispatch_mailbox_assign(shm, b, 1004, 1, s.id, s.updated_at, "{}", 2);
		_exit(0);
	}
	char wb = -1, x = 1;
	if (read(got_box[0], &wb, 1) != 1)
		return 2;
	ok(wb == box, "reserved by a worker");
	dispatch_mailbox_forget(shm, getpid());
	ok(dispatch_mailbox_open(shm) == box && dispatch_mailbox_reserved(shm, box),
	    "the reservation outlives the runner");
	if (write(go[1], &x, 1) != 1)
		return 2;
	waitpid(worker, NULL, 0);
	ok(dispatch_mailbox_take(shm, box, &j) == 1 && j.id == 1004,
	    "and the next runner serves it");
	free(j.input_json);

	/* Four API workers race for one idle runner: one gets it. */
	dispatch_mailbox_idle(shm, box);
	int pipes[4][2];
	for (k = 0; k < 4; k++) {
		if (pipe(pipes[k]) == -1)
			return 2;
		if (fork() == 0) {
			char won = dispatch_mailbox_reserve(shm, &rpid) == box;
			if (won)
				dispatch_mailbox_assign(shm, box, 2000 + k, 1,
				    s.id, s.updated_at, "{}", 2);
			_exit(write(pipes[k][1], &won, 1) == 1 ? 0 : 1);
		}
		close(pipes[k][1]);
	}
	int winners = 0;
	for (k = 0; k < 4; k++) {
		char won = 0;
		if (read(pipes[k][0], &won, 1) != 1)
			return 2;
		winners += won;
		wait(NULL);
	}
	is_int(winners, 1, "exactly one worker reserved the runner");
	ok(dispatch_mailbox_take(shm, box, &j) == 1 && j.id >= 2000 &&
	    j.id < 2004, "and the runner got its execution");
	free(j.input_json);

	/* A worker's "look at the queue" rings an idle runner's bell. */
	dispatch_mailbox_busy(shm, box);
	uint32_t seen = dispatch_mailbox_idle(shm, box);
	dispatch_wake_one(shm);
	ok(atomic_load(&shm->box[box].bell) != seen, "an idle runner is rung");
	ok(dispatch_work_waiting(shm) == 0, "no work waiting");
	dispatch_backlog(shm);
	ok(dispatch_work_waiting(shm) == 1, "a backlog is work waiting");

	/* The final row left for the waiting API worker. */
	struct buf got = BUF_INIT;
	ok(dispatch_mailbox_result_get(shm, box, 3000, &got) == 0,
	    "no final row at first");
	dispatch_mailbox_result_put(shm, box, 3000, "{\"id\":3000}", 11);
	ok(dispatch_mailbox_result_get(shm, box, 3000, &got) == 1 &&
	    got.len == 11 && memcmp(got.data, "{\"id\":3000}", 11) == 0,
	    "the waiter gets the final row of its execution");
	ok(dispatch_mailbox_result_get(shm, box, 3001, &got) == 0,
	    "not another execution's");
	char *huge = malloc(MAILBOX_RESULT_MAX + 1);
	memset(huge, 'y', MAILBOX_RESULT_MAX + 1);
	dispatch_mailbox_result_put(shm, box, 3002, huge, MAILBOX_RESULT_MAX + 1);
	ok(dispatch_mailbox_result_get(shm, box, 3002, &got) == 0,
	    "a row over the box's size is not left: the waiter reads it");
	dispatch_mailbox_result_put(shm, box, 3003, huge, MAILBOX_RESULT_MAX);
	ok(dispatch_mailbox_result_get(shm, box, 3003, &got) == 1 &&
	    got.len == MAILBOX_RESULT_MAX, "one of the box's size is");
	/* A runner that died while writing leaves the sequence odd. */
	atomic_fetch_add(&shm->box[box].result_seq, 1);
	ok(dispatch_mailbox_result_get(shm, box, 3003, &got) == 0,
	    "a row being written is not read");
	dispatch_mailbox_result_put(shm, box, 3004, "{}", 2);
	ok(dispatch_mailbox_result_get(shm, box, 3004, &got) == 1,
	    "the box's next writer goes on from there");

	/* A reader racing the writer never gets a torn copy: every row
	 * written is one letter repeated, with its id's last digit. */
	pid_t writer = fork();
	if (writer == 0) {
		for (int i = 0; i < 20000; i++) {
			memset(huge, 'a' + i % 10, 2000);
			dispatch_mailbox_result_put(shm, box, 4000 + i % 10, huge,
			    2000);
		}
		_exit(0);
	}
	int whole = 1, reads = 0, status = 0;
	while (waitpid(writer, &status, WNOHANG) == 0) {
		for (int i = 0; i < 10; i++) {
			if (!dispatch_mailbox_result_get(shm, box, 4000 + i, &got))
				continue;
			reads++;
			for (size_t c = 0; c < got.len; c++)
				if (got.data[c] != 'a' + i)
					whole = 0;
			if (got.len != 2000)
				whole = 0;
		}
	}
	ok(whole, "copies read while the runner writes are whole (%d read)",
	    reads);
	free(huge);
	buf_free(&got);

	dispatch_mailbox_busy(shm, box);
	dispatch_mailbox_close(shm, box);
	ok(atomic_load(&shm->box[box].owner) == 0 &&
	    dispatch_mailbox_reserve(shm, &rpid) == -1, "a closed box is unused");
	return 0;
}

/* The completion and cancel words. */
static int
done_words(struct shm *shm)
{
	uint32_t seen = dispatch_done_seen(shm, 77), other;
	int status = 0;
	double t0;
	pid_t waiter;

	dispatch_notify_done(shm, 77);
	ok(dispatch_done_seen(shm, 77) != seen, "an end changes its word");
	other = dispatch_done_seen(shm, 78);
	dispatch_notify_done(shm, 77);
	ok(dispatch_done_seen(shm, 78) == other, "not another id's word");
	ok(dispatch_done_seen(shm, 77 + SHM_DONE_SLOTS) ==
	    dispatch_done_seen(shm, 77), "ids that map alike share a word");

	/* A waiter whose word did not change sleeps out its timeout. */
	t0 = clock_mono_ms();
	dispatch_done_wait(shm, 78, other, 20);
	ok(clock_mono_ms() - t0 >= 10, "an unchanged word is slept on");

	/* A waiter in another process is woken by the end, long before its
	 * timeout (the bound is loose: the machine may be loaded). */
	seen = dispatch_done_seen(shm, 90);
	t0 = clock_mono_ms();
	if ((waiter = fork()) == 0) {
		dispatch_done_wait(shm, 90, seen, 120000);
		_exit(dispatch_done_seen(shm, 90) != seen ? 0 : 1);
	}
	if (waiter == -1)
		return 2;
	dispatch_notify_done(shm, 90);
	waitpid(waiter, &status, 0);
	ok(WIFEXITED(status) && WEXITSTATUS(status) == 0 &&
	    clock_mono_ms() - t0 < 60000, "a waiter is woken by the end");

	seen = atomic_load(&shm->cancel_gen);
	dispatch_notify_cancel(shm);
	ok(atomic_load(&shm->cancel_gen) != seen,
	    "a cancel rings the runners' word");
	return 0;
}

/* The API workers' waiting places. */
static int
wait_places(struct shm *shm)
{
	int a, b, k, status;

	ok(dispatch_waiting(shm) == 0, "nobody waits at first");
	ok(dispatch_wait_enter(shm, 0) == -1, "a cap of 0 gives no place");
	a = dispatch_wait_enter(shm, 2);
	b = dispatch_wait_enter(shm, 2);
	ok(a >= 0 && b >= 0 && a != b, "two places under a cap of 2");
	ok(dispatch_wait_enter(shm, 2) == -1, "not a third");
	is_int(dispatch_waiting(shm), 2, "two waiting");
	dispatch_wait_leave(shm, a);
	is_int(dispatch_waiting(shm), 1, "one left");
	ok((a = dispatch_wait_enter(shm, 2)) >= 0, "its place is free again");
	dispatch_wait_leave(shm, a);
	dispatch_wait_leave(shm, b);
	ok(dispatch_waiting(shm) == 0, "all given back");

	/* Twelve workers race for 3 places: 3 get one, each its own. */
	int pipes[12][2];
	pid_t pids[12];
	for (k = 0; k < 12; k++) {
		if (pipe(pipes[k]) == -1)
			return 2;
		if ((pids[k] = fork()) == 0) {
			char place = (char)dispatch_wait_enter(shm, 3);
			/* Keep it until every worker has tried. */
			if (write(pipes[k][1], &place, 1) != 1)
				_exit(1);
			pause();
			_exit(0);
		}
		close(pipes[k][1]);
	}
	int got[3] = { 0, 0, 0 }, winners = 0, bad = 0;
	for (k = 0; k < 12; k++) {
		char place = -1;
		if (read(pipes[k][0], &place, 1) != 1)
			return 2;
		if (place >= 0 && place < 3) {
			got[(int)place]++;
			winners++;
		} else if (place != -1) {
			bad = 1;
		}
	}
	ok(winners == 3 && got[0] == 1 && got[1] == 1 && got[2] == 1 && !bad,
	    "competing workers: 3 of 12 wait, one per place");
	is_int(dispatch_waiting(shm), 3, "3 waiting");

	/* Workers die waiting (SIGKILL): the master frees their places as
	 * it reaps them, and the cap is whole again. */
	for (k = 0; k < 12; k++) {
		kill(pids[k], SIGKILL);
		if (waitpid(pids[k], &status, 0) != pids[k])
			return 2;
		dispatch_mailbox_forget(shm, pids[k]);
	}
	is_int(dispatch_waiting(shm), 0, "a dead worker's place is freed");
	a = dispatch_wait_enter(shm, 3);
	b = dispatch_wait_enter(shm, 3);
	k = dispatch_wait_enter(shm, 3);
	ok(a >= 0 && b >= 0 && k >= 0, "all 3 places can be taken again");
	dispatch_mailbox_forget(shm, 999999);
	is_int(dispatch_waiting(shm), 3, "another pid's death frees none");
	dispatch_wait_leave(shm, a);
	dispatch_wait_leave(shm, b);
	dispatch_wait_leave(shm, k);

	/* Declined waits are counted. */
	dispatch_wait_declined(shm);
	dispatch_wait_declined(shm);
	ok(atomic_load(&shm->waits_declined) == 2, "declined waits counted");
	return 0;
}

/*
 * An execution assigned before its row's commit: the runner may take it
 * but must wait until the API worker settles it, committed or not; a
 * worker that dies first is settled "not committed" by the master.
 */
static int
uncommitted(struct shm *shm)
{
	struct script s;
	struct mailbox_job j;
	int rpid = 0, box;

	memset(&s, 0, sizeof(s));
	s.id = 42;
	snprintf(s.updated_at, sizeof(s.updated_at), "2026-11-26T12:00:00.123Z");
	box = dispatch_mailbox_open(shm);
	dispatch_mailbox_idle(shm, box);

	/* Committed. */
	ok(dispatch_mailbox_reserve(shm, &rpid) == box, "reserved");
	dispatch_mailbox_assign_uncommitted(shm, box, 2001, 1, s.id,
	    s.updated_at, "{}", 2);
	ok(dispatch_mailbox_take(shm, box, &j) == 1 && j.id == 2001 &&
	    j.uncommitted == 1, "taken, marked uncommitted");
	free(j.input_json);
	ok(dispatch_mailbox_settled(shm, box, 2001, 50) == -1,
	    "not settled: the runner waits, then is told so");
	dispatch_mailbox_settle(shm, box, 2001, 1);
	ok(dispatch_mailbox_settled(shm, box, 2001, 50) == 1, "settled committed");
	dispatch_mailbox_settle(shm, box, 2001, 0);
	ok(dispatch_mailbox_settled(shm, box, 2001, 0) == 1,
	    "settled once: a later word changes nothing");
	ok(dispatch_mailbox_settled(shm, box, 2002, 0) == -1,
	    "another id is not settled by it");

	/* Not committed. */
	dispatch_mailbox_idle(shm, box);
	ok(dispatch_mailbox_reserve(shm, &rpid) == box, "reserved again");
	dispatch_mailbox_assign_uncommitted(shm, box, 2002, 0, s.id,
	    s.updated_at, "{}", 2);
	dispatch_mailbox_settle(shm, box, 2002, 0);
	ok(dispatch_mailbox_take(shm, box, &j) == 1 && j.uncommitted &&
	    dispatch_mailbox_settled(shm, box, 2002, 0) == 0,
	    "settled not committed before the runner looked");
	free(j.input_json);

	/* An ordinary assignment is never uncommitted. */
	dispatch_mailbox_idle(shm, box);
	ok(dispatch_mailbox_reserve(shm, &rpid) == box, "reserved once more");
	dispatch_mailbox_assign(shm, box, 2003, 1, s.id, s.updated_at, "{}", 2);
	ok(dispatch_mailbox_take(shm, box, &j) == 1 && !j.uncommitted,
	    "an assignment after the commit is not marked");
	free(j.input_json);

	/* A worker (another process) dies between its assignment and its
	 * settling; the runner (this process) waits on the box meanwhile
	 * and is woken by the master's clean-up. */
	dispatch_mailbox_idle(shm, box);
	int go[2];
	if (pipe(go) == -1)
		return 2;
	pid_t worker = fork();
	if (worker == 0) {
		char x;
		int b = dispatch_mailbox_reserve(shm, &rpid);
		dispatch_mailbox_assign_uncommitted(shm, b, 2004, 1, s.id,
		    s.updated_at, "{}", 2);
		if (read(go[0], &x, 1) != 1)
			_exit(1);
		_exit(0);       /* dies without settling */
	}
	while (!dispatch_mailbox_take(shm, box, &j))
		usleep(1000);
	free(j.input_json);
	ok(j.id == 2004 && j.uncommitted, "the runner took the worker's job");
	ok(dispatch_mailbox_settled(shm, box, 2004, 0) == -1, "not settled yet");
	dispatch_mailbox_forget(shm, 999999);
	ok(dispatch_mailbox_settled(shm, box, 2004, 0) == -1,
	    "another pid's death settles nothing");
	char x = 1;
	if (write(go[1], &x, 1) != 1)
		return 2;
	waitpid(worker, NULL, 0);
	dispatch_mailbox_forget(shm, worker);
	ok(dispatch_mailbox_settled(shm, box, 2004, 0) == 0,
	    "the master settles a dead worker's job as not committed");
	close(go[0]);
	close(go[1]);
	return 0;
}

/* Before the commit only while no more runners are busy (a reserved one
 * counted) than the host has CPUs. */
static int
early(struct shm *shm)
{
	int b[4], rpid;

	shm->cpus = 2;
	for (int i = 0; i < 4; i++)
		b[i] = dispatch_mailbox_open(shm);
	ok(dispatch_mailbox_early(shm) == 0, "four runners busy, two CPUs: "
	    "after the commit");
	dispatch_mailbox_idle(shm, b[0]);
	dispatch_mailbox_idle(shm, b[1]);
	ok(dispatch_mailbox_early(shm) == 1, "two busy: before it");
	ok(dispatch_mailbox_reserve(shm, &rpid) == b[0] &&
	    dispatch_mailbox_early(shm) == 0,
	    "a reserved runner counts as busy: three");
	dispatch_mailbox_unreserve(shm, b[0]);
	dispatch_mailbox_idle(shm, b[2]);
	ok(dispatch_mailbox_reserve(shm, &rpid) == b[0] &&
	    dispatch_mailbox_early(shm) == 1, "one busy and the one reserved: "
	    "before it");
	return 0;
}

/* Watching for work other nodes queued (several nodes): one watcher per
 * node, handed over when it takes work or dies; the backlog a look at the
 * queue finds, and which idle runners it wakes. */
static int
watching(struct shm *shm)
{
	int box, other_box, fd[2], st;
	char c;
	pid_t other;

	ok(dispatch_watch(shm) == 1, "the first idle runner watches");
	ok(dispatch_watch(shm) == 1, "and still does");
	/* Another runner (a child) cannot take the watch while we hold it;
	 * once we leave it (we took work), it can. */
	if (pipe(fd) == -1)
		return -1;
	if ((other = fork()) == 0) {
		int first = dispatch_watch(shm);
		if (read(fd[0], &c, 1) != 1)
			_exit(9);
		_exit(first * 2 + dispatch_watch(shm));
	}
	usleep(100 * 1000);
	dispatch_watch_leave(shm);
	ok(atomic_load(&shm->watcher) == 0, "left: nobody watches");
	if (write(fd[1], "x", 1) != 1)
		return -1;
	waitpid(other, &st, 0);
	is_int(WEXITSTATUS(st), 1, "the other runner could not watch while "
	    "we did, and could once we left");
	ok(atomic_load(&shm->watcher) == other, "it watches now");
	dispatch_mailbox_forget(shm, other);
	ok(atomic_load(&shm->watcher) == 0, "a dead watcher's watch is freed");
	close(fd[0]);
	close(fd[1]);

	/* Idle and busy runners as their boxes say; the backlog found is
	 * one scan for the caller and a wake-up for each other idle one. */
	box = dispatch_mailbox_open(shm);
	ok(box >= 0, "our box");
	is_int(dispatch_runners_busy(shm), 1, "a runner starts busy");
	is_int(dispatch_runners_idle(shm), 0, "none idle");
	uint32_t bell0 = dispatch_mailbox_idle(shm, box);
	is_int(dispatch_runners_idle(shm), 1, "idle once it says so");
	is_int(dispatch_runners_busy(shm), 0, "not busy then");
	/* A second runner's box, idle (owned by a pid of our choosing). */
	other_box = -1;
	for (int i = 0; i < SHM_RUNNER_BOXES; i++) {
		int32_t z = 0;
		if (atomic_compare_exchange_strong(&shm->box[i].owner, &z, 424242)) {
			other_box = i;
			break;
		}
	}
	atomic_store(&shm->box[other_box].state, MAILBOX_IDLE);
	uint32_t bell1 = atomic_load(&shm->box[other_box].bell);
	is_int(dispatch_runners_idle(shm), 2, "two idle");
	dispatch_backlog_wake(shm, 3);
	is_int(atomic_load(&shm->backlog), 3, "three scans counted");
	ok(atomic_load(&shm->box[other_box].bell) != bell1,
	    "the other idle runner is woken");
	ok(atomic_load(&shm->box[box].bell) == bell0,
	    "the caller is not: it scans itself");
	dispatch_backlog_wake(shm, 0);
	is_int(atomic_load(&shm->backlog), 3, "nothing found, nothing counted");
	dispatch_scanned(shm, 0, atomic_load(&shm->backlog_adds));
	is_int(atomic_load(&shm->backlog), 0, "an empty scan forgets the "
	    "backlog");
	is_int(atomic_load(&shm->probe_quiet), 1, "and quiets the watcher");
	dispatch_scanned(shm, 1, atomic_load(&shm->backlog_adds));
	is_int(atomic_load(&shm->probe_quiet), 0, "a claim wakes it up");
	return 0;
}

int
main(void)
{
	plan_lazy();
	/* Each part on a fresh region, as a daemon starts. */
	if (handoffs(shm_create()) != 0 || boxes(shm_create()) != 0 ||
	    uncommitted(shm_create()) != 0 || early(shm_create()) != 0 ||
	    done_words(shm_create()) != 0 || wait_places(shm_create()) != 0 ||
	    watching(shm_create()) != 0)
		return 2;
	return done_testing();
}
