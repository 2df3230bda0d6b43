/* Unit tests of the runners' mailboxes (direct assignment, execution.h):
 * reservation, assignment, taking, the clean-up after a dead process,
 * and API workers (forked processes) competing for one idle runner. */
#include "config.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "buf.h"
#include "execution.h"
#include "registry.h"
#include "shm.h"
#include "tap.h"

int
main(void)
{
	struct shm *shm = shm_create();
	struct script s;
	struct box_job j;
	int rpid = 0, box, k;

	plan_lazy();
	memset(&s, 0, sizeof(s));
	s.id = 42;
	snprintf(s.updated_at, sizeof(s.updated_at), "2026-11-26T12:00:00.123Z");

	ok(execution_box_reserve(shm, &rpid) == -1, "no runner, no box");
	box = execution_box_open(shm);
	ok(box >= 0, "a runner opens a box");
	ok(execution_box_reserve(shm, &rpid) == -1,
	    "a busy runner is not reserved");
	ok(execution_box_take(shm, box, &j) == 0, "nothing to take at first");

	execution_box_idle(shm, box);
	ok(execution_box_reserve(shm, &rpid) == box && rpid == getpid(),
	    "an idle runner is reserved, with its pid");
	ok(execution_box_reserve(shm, &rpid) == -1, "once only");
	ok(execution_box_reserved(shm, box), "the runner sees the reservation");
	ok(execution_box_busy(shm, box) == -1,
	    "and may not take other work meanwhile");
	execution_box_unreserve(shm, box);
	ok(!execution_box_reserved(shm, box) &&
	    execution_box_reserve(shm, &rpid) == box,
	    "a failed INSERT gives the runner back");

	execution_box_assign(shm, box, 1001, 1, &s, "{\"a\":1}", 7);
	ok(execution_box_take(shm, box, &j) == 1, "the runner takes it");
	ok(j.id == 1001 && j.running == 1 && j.script_id == 42 &&
	    strcmp(j.script_updated_at, s.updated_at) == 0 &&
	    j.input_json != NULL && strcmp(j.input_json, "{\"a\":1}") == 0,
	    "with its id, mode, script and input");
	free(j.input_json);
	ok(execution_box_take(shm, box, &j) == 0, "once only");
	ok(execution_box_busy(shm, box) == 0, "the box is busy again");
	ok(execution_box_reserve(shm, &rpid) == -1, "and not reservable");

	/* An input over the box's size is left in the row. */
	char *big = malloc(BOX_INPUT_MAX + 2);
	memset(big, 'x', BOX_INPUT_MAX + 1);
	big[BOX_INPUT_MAX + 1] = '\0';
	execution_box_idle(shm, box);
	ok(execution_box_reserve(shm, &rpid) == box, "reserved again");
	execution_box_assign(shm, box, 1002, 0, &s, big, BOX_INPUT_MAX + 1);
	ok(execution_box_take(shm, box, &j) == 1 && j.id == 1002 &&
	    j.running == 0 && j.input_json == NULL,
	    "a big input is not copied: the runner reads the row");
	free(big);

	/* An API worker dies holding a reservation: the master frees it. */
	execution_box_idle(shm, box);
	ok(execution_box_reserve(shm, &rpid) == box, "reserved by a worker");
	execution_box_forget(shm, 999999);
	ok(execution_box_reserved(shm, box), "another pid's death changes "
	    "nothing");
	execution_box_unreserve(shm, box);

	/* The runner dies with an id in its box: its row was reserved for
	 * that runner (the heartbeat sweep ends it lost); the next runner
	 * does not start it, however long it waited. */
	ok(execution_box_reserve(shm, &rpid) == box, "reserved once more");
	execution_box_assign(shm, box, 1003, 0, &s, "{}", 2);
	execution_box_forget(shm, getpid());
	ok(atomic_load(&shm->box[box].owner) == 0, "its box is free");
	ok(execution_box_open(shm) == box &&
	    execution_box_take(shm, box, &j) == 0,
	    "the next runner does not start the id left there");

	/* The runner dies while a worker (another process) inserts for it:
	 * the worker's assignment goes to the next runner (a fresh row). */
	execution_box_idle(shm, box);
	int go[2], got_box[2];
	if (pipe(go) == -1 || pipe(got_box) == -1)
		return 2;
	pid_t worker = fork();
	if (worker == 0) {
		char b = (char)execution_box_reserve(shm, &rpid), x;
		if (write(got_box[1], &b, 1) != 1 || read(go[0], &x, 1) != 1)
			_exit(1);
		execution_box_assign(shm, b, 1004, 1, &s, "{}", 2);
		_exit(0);
	}
	char wb = -1, x = 1;
	if (read(got_box[0], &wb, 1) != 1)
		return 2;
	ok(wb == box, "reserved by a worker");
	execution_box_forget(shm, getpid());
	ok(execution_box_open(shm) == box && execution_box_reserved(shm, box),
	    "the reservation outlives the runner");
	if (write(go[1], &x, 1) != 1)
		return 2;
	waitpid(worker, NULL, 0);
	ok(execution_box_take(shm, box, &j) == 1 && j.id == 1004,
	    "and the next runner serves it");
	free(j.input_json);

	/* Four API workers race for one idle runner: one gets it. */
	execution_box_idle(shm, box);
	int pipes[4][2];
	for (k = 0; k < 4; k++) {
		if (pipe(pipes[k]) == -1)
			return 2;
		if (fork() == 0) {
			char won = execution_box_reserve(shm, &rpid) == box;
			if (won)
				execution_box_assign(shm, box, 2000 + k, 1, &s,
				    "{}", 2);
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
	ok(execution_box_take(shm, box, &j) == 1 && j.id >= 2000 &&
	    j.id < 2004, "and the runner got its execution");
	free(j.input_json);

	/* A worker's "look at the queue" rings an idle runner's bell. */
	execution_box_busy(shm, box);
	uint32_t seen = execution_box_idle(shm, box);
	execution_wake_one(shm);
	ok(atomic_load(&shm->box[box].bell) != seen, "an idle runner is rung");
	ok(execution_work_waiting(shm) == 0, "no work waiting");
	execution_backlog(shm);
	ok(execution_work_waiting(shm) == 1, "a backlog is work waiting");

	/* The final row left for the waiting API worker. */
	struct buf got = BUF_INIT;
	ok(execution_box_result_get(shm, box, 3000, &got) == 0,
	    "no final row at first");
	execution_box_result_put(shm, box, 3000, "{\"id\":3000}", 11);
	ok(execution_box_result_get(shm, box, 3000, &got) == 1 &&
	    got.len == 11 && memcmp(got.data, "{\"id\":3000}", 11) == 0,
	    "the waiter gets the final row of its execution");
	ok(execution_box_result_get(shm, box, 3001, &got) == 0,
	    "not another execution's");
	char *huge = malloc(BOX_RESULT_MAX + 1);
	memset(huge, 'y', BOX_RESULT_MAX + 1);
	execution_box_result_put(shm, box, 3002, huge, BOX_RESULT_MAX + 1);
	ok(execution_box_result_get(shm, box, 3002, &got) == 0,
	    "a row over the box's size is not left: the waiter reads it");
	execution_box_result_put(shm, box, 3003, huge, BOX_RESULT_MAX);
	ok(execution_box_result_get(shm, box, 3003, &got) == 1 &&
	    got.len == BOX_RESULT_MAX, "one of the box's size is");
	/* A runner that died while writing leaves the sequence odd. */
	atomic_fetch_add(&shm->box[box].result_seq, 1);
	ok(execution_box_result_get(shm, box, 3003, &got) == 0,
	    "a row being written is not read");
	execution_box_result_put(shm, box, 3004, "{}", 2);
	ok(execution_box_result_get(shm, box, 3004, &got) == 1,
	    "the box's next writer goes on from there");

	/* A reader racing the writer never gets a torn copy: every row
	 * written is one letter repeated, with its id's last digit. */
	pid_t writer = fork();
	if (writer == 0) {
		for (int i = 0; i < 20000; i++) {
			memset(huge, 'a' + i % 10, 2000);
			execution_box_result_put(shm, box, 4000 + i % 10, huge,
			    2000);
		}
		_exit(0);
	}
	int whole = 1, reads = 0, status = 0;
	while (waitpid(writer, &status, WNOHANG) == 0) {
		for (int i = 0; i < 10; i++) {
			if (!execution_box_result_get(shm, box, 4000 + i, &got))
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

	execution_box_busy(shm, box);
	execution_box_close(shm, box);
	ok(atomic_load(&shm->box[box].owner) == 0 &&
	    execution_box_reserve(shm, &rpid) == -1, "a closed box is unused");
	return done_testing();
}
