/*
 * dispatch.c - the shared-memory paths from an API worker to a runner of
 * this node and back (dispatch.h): lock-free, each race decided by one
 * compare-and-swap.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "clock.h"
#include "dispatch.h"
#include "log.h"
#include "shm.h"
#include "wake.h"

int
dispatch_handoff(struct shm *shm, long long id)
{
	for (unsigned i = 0; i < SHM_HANDOFF_SLOTS; i++) {
		_Atomic int64_t *slot = &shm->handoff[((unsigned long long)id +
		    i) % SHM_HANDOFF_SLOTS];
		int64_t empty = 0;
		if (atomic_compare_exchange_strong(slot, &empty, id))
			return 0;
	}
	return -1;
}

long long
dispatch_take_handoff(struct shm *shm)
{
	/* The smallest id first: ids grow with the queue, so hand-offs are
	 * taken in queue order. A slot emptied by another runner between
	 * the look and the swap means: look again. */
	for (;;) {
		unsigned best = 0;
		int64_t v, min = 0;

		for (unsigned i = 0; i < SHM_HANDOFF_SLOTS; i++) {
			v = atomic_load(&shm->handoff[i]);
			if (v > 0 && (min == 0 || v < min)) {
				min = v;
				best = i;
			}
		}
		if (min == 0)
			return 0;
		v = min;
		if (atomic_compare_exchange_strong(&shm->handoff[best], &v, 0))
			return min;
	}
}

size_t
dispatch_handoff_list(struct shm *shm, long long *ids)
{
	size_t n = 0;

	for (unsigned i = 0; i < SHM_HANDOFF_SLOTS; i++) {
		int64_t v = atomic_load(&shm->handoff[i]);
		if (v > 0)
			ids[n++] = v;
	}
	return n;
}

int
dispatch_scan_due(struct shm *shm, int poll_ms, uint32_t *adds)
{
	int64_t now, last;
	int32_t b;

	/* Read before the scan reads the queue: whatever is counted later
	 * may be in rows it does not see (dispatch_backlog_none). */
	*adds = atomic_load(&shm->backlog_adds);
	b = atomic_load(&shm->backlog);
	while (b > 0)
		if (atomic_compare_exchange_weak(&shm->backlog, &b, b - 1))
			return DISPATCH_SCAN_COUNTED;
	now = (int64_t)clock_mono_ms();
	last = atomic_load(&shm->last_poll_ms);
	return now - last >= poll_ms &&
	    atomic_compare_exchange_strong(&shm->last_poll_ms, &last, now) ?
	    DISPATCH_SCAN_POLL : 0;
}

void
dispatch_poll_again(struct shm *shm)
{
	/* As at the start (a fresh region): due for whoever looks next. */
	atomic_store(&shm->last_poll_ms, 0);
	dispatch_wake_one(shm);
}

/* Counts `n` scans more. The running total goes up first: a scan that
 * forgets the backlog (dispatch_backlog_none) and finds these in it
 * finds them in the total too. */
static void
backlog_add(struct shm *shm, int n)
{
	atomic_fetch_add(&shm->backlog_adds, (uint32_t)n);
	atomic_fetch_add(&shm->backlog, n);
}

void
dispatch_backlog(struct shm *shm)
{
	backlog_add(shm, 1);
}

void
dispatch_backlog_none(struct shm *shm, uint32_t adds)
{
	int32_t b = atomic_load(&shm->backlog), since;

	/* What was counted before the scan began is forgotten: the scan saw
	 * those rows. What was counted since is kept: a row queued and
	 * counted after the scan read the queue was not seen by it, and its
	 * count was its only way to a runner before the next poll. The
	 * total is read after b, so that it holds every count in b; one
	 * added after that makes the CAS fail, and we look again. */
	for (;;) {
		since = (int32_t)(atomic_load(&shm->backlog_adds) - adds);
		if (b <= since || atomic_compare_exchange_weak(&shm->backlog,
		    &b, since))
			return;
	}
}

void
dispatch_scanned(struct shm *shm, int claimed, uint32_t adds)
{
	if (!claimed)
		dispatch_backlog_none(shm, adds);
	atomic_store(&shm->probe_quiet, !claimed);
}

/* The state of a box reserved by the API worker `pid`. */
static int64_t
mailbox_reserved(int pid)
{
	return -2 - (int64_t)pid;
}

int
dispatch_mailbox_reserve(struct shm *shm, int *runner_pid)
{
	int64_t mine = mailbox_reserved((int)getpid());

	/* Lowest first: work gathers on few runners, whose connections and
	 * caches stay warm. */
	for (int i = 0; i < SHM_RUNNER_BOXES; i++) {
		struct runner_mailbox *b = &shm->box[i];
		int64_t idle = MAILBOX_IDLE;
		int32_t owner = atomic_load(&b->owner);

		if (owner != 0 && atomic_load(&b->state) == MAILBOX_IDLE &&
		    atomic_compare_exchange_strong(&b->state, &idle, mine)) {
			*runner_pid = owner;
			return i;
		}
	}
	return -1;
}

int
dispatch_mailbox_early(struct shm *shm)
{
	int busy = 0;

	for (int i = 0; i < SHM_RUNNER_BOXES; i++)
		if (atomic_load(&shm->box[i].owner) != 0 &&
		    atomic_load(&shm->box[i].state) != MAILBOX_IDLE &&
		    ++busy > shm->cpus)
			return 0;
	return 1;
}

void
dispatch_mailbox_unreserve(struct shm *shm, int box)
{
	int64_t mine = mailbox_reserved((int)getpid());

	atomic_compare_exchange_strong(&shm->box[box].state, &mine,
	    MAILBOX_IDLE);
}

static void
assign(struct shm *shm, int box, long long id, int running,
    long long script_id, const char *script_updated_at,
    const char *input_json, size_t input_len, int uncommitted)
{
	struct runner_mailbox *b = &shm->box[box];

	/* The reservation makes these ours until the id is published. */
	atomic_store(&b->settled, 0);
	atomic_store(&b->assigner, (int32_t)getpid());
	atomic_store(&b->pending, uncommitted ? (int64_t)id : 0);
	b->running = running;
	b->script_id = script_id;
	snprintf(b->script_updated_at, sizeof(b->script_updated_at), "%s",
	    script_updated_at);
	b->queued_ms = clock_mono_ms();
	b->input_len = input_len;
	if (input_len <= MAILBOX_INPUT_MAX) {
		memcpy(b->input, input_json, input_len);
		b->input[input_len] = '\0';
	}
	atomic_store(&b->state, (int64_t)id);
	wake_bump(&b->bell, 1);
}

void
dispatch_mailbox_assign(struct shm *shm, int box, long long id, int running,
    long long script_id, const char *script_updated_at,
    const char *input_json, size_t input_len)
{
	assign(shm, box, id, running, script_id, script_updated_at,
	    input_json, input_len, 0);
}

void
dispatch_mailbox_assign_uncommitted(struct shm *shm, int box, long long id,
    int running, long long script_id, const char *script_updated_at,
    const char *input_json, size_t input_len)
{
	assign(shm, box, id, running, script_id, script_updated_at,
	    input_json, input_len, 1);
}

/* Settles `id` in box `b` as `v` (id or -id) unless it was settled
 * already (the worker and the master may both try). */
static void
settle(struct runner_mailbox *b, long long id, int64_t v)
{
	int64_t open = 0;

	if (atomic_load(&b->pending) != id)
		return;
	if (atomic_compare_exchange_strong(&b->settled, &open, v))
		wake_bump(&b->bell, 1);
}

void
dispatch_mailbox_settle(struct shm *shm, int box, long long id,
    int committed)
{
	settle(&shm->box[box], id, committed ? (int64_t)id : -(int64_t)id);
}

int
dispatch_mailbox_settled(struct shm *shm, int box, long long id,
    int timeout_ms)
{
	struct runner_mailbox *b = &shm->box[box];
	uint32_t seen = wake_read(&b->bell);
	int64_t v = atomic_load(&b->settled);

	if (v == 0 && timeout_ms > 0) {
		wake_wait(&b->bell, seen, timeout_ms);
		v = atomic_load(&b->settled);
	}
	if (v == id)
		return 1;
	if (v == -id)
		return 0;
	return -1;
}

int
dispatch_mailbox_open(struct shm *shm)
{
	int32_t me = (int32_t)getpid();

	for (int i = 0; i < SHM_RUNNER_BOXES; i++) {
		int32_t free_owner = 0;
		int64_t v;

		if (!atomic_compare_exchange_strong(&shm->box[i].owner,
		    &free_owner, me))
			continue;
		/* An id left for a runner that died is not ours to start: it
		 * may have waited past the heartbeat timeout, and the sweep
		 * ends its row lost. A worker still inserting for the box
		 * assigns to us (a fresh row): that reservation stays. */
		v = atomic_load(&shm->box[i].state);
		if (v >= MAILBOX_IDLE)
			atomic_compare_exchange_strong(&shm->box[i].state, &v,
			    MAILBOX_BUSY);
		return i;
	}
	return -1;
}

void
dispatch_mailbox_close(struct shm *shm, int box)
{
	atomic_store(&shm->box[box].state, MAILBOX_BUSY);
	atomic_store(&shm->box[box].owner, 0);
}

int
dispatch_mailbox_take(struct shm *shm, int box, struct mailbox_job *j)
{
	struct runner_mailbox *b = &shm->box[box];
	int64_t id = atomic_load(&b->state);

	if (id <= 0)
		return 0;
	memset(j, 0, sizeof(*j));
	j->id = id;
	j->running = b->running;
	j->script_id = b->script_id;
	memcpy(j->script_updated_at, b->script_updated_at,
	    sizeof(j->script_updated_at));
	j->queued_ms = b->queued_ms;
	j->uncommitted = atomic_load(&b->pending) == id;
	if (b->input_len <= MAILBOX_INPUT_MAX)
		j->input_json = xstrdup(b->input);
	/* Only the owner leaves an id: no race here. */
	atomic_store(&b->state, MAILBOX_BUSY);
	return 1;
}

int
dispatch_mailbox_reserved(struct shm *shm, int box)
{
	return atomic_load(&shm->box[box].state) < MAILBOX_IDLE;
}

int
dispatch_mailbox_busy(struct shm *shm, int box)
{
	int64_t v = atomic_load(&shm->box[box].state);

	if (v == MAILBOX_BUSY)
		return 0;
	return v == MAILBOX_IDLE && atomic_compare_exchange_strong(
	    &shm->box[box].state, &v, MAILBOX_BUSY) ? 0 : -1;
}

uint32_t
dispatch_mailbox_idle(struct shm *shm, int box)
{
	uint32_t seen = wake_read(&shm->box[box].bell);
	int64_t busy = MAILBOX_BUSY;

	atomic_compare_exchange_strong(&shm->box[box].state, &busy,
	    MAILBOX_IDLE);
	return seen;
}

void
dispatch_mailbox_result_put(struct shm *shm, int box, long long id,
    const char *json, size_t len)
{
	struct runner_mailbox *b = &shm->box[box];
	uint32_t s = atomic_load_explicit(&b->result_seq,
	    memory_order_relaxed);

	if (len > MAILBOX_RESULT_MAX)
		return;
	/* Odd while writing. Left odd by a runner that died writing: the
	 * box's next owner goes on from there. */
	s += (s & 1) ? 1 : 2;
	atomic_store_explicit(&b->result_seq, s - 1, memory_order_relaxed);
	atomic_thread_fence(memory_order_release);
	atomic_store_explicit(&b->result_id, id, memory_order_relaxed);
	atomic_store_explicit(&b->result_len, (uint32_t)len,
	    memory_order_relaxed);
	memcpy(b->result, json, len);
	atomic_store_explicit(&b->result_seq, s, memory_order_release);
}

int
dispatch_mailbox_result_get(struct shm *shm, int box, long long id,
    struct buf *out)
{
	struct runner_mailbox *b = &shm->box[box];
	uint32_t s = atomic_load_explicit(&b->result_seq,
	    memory_order_acquire);
	uint32_t len;

	if ((s & 1) ||
	    atomic_load_explicit(&b->result_id, memory_order_relaxed) != id)
		return 0;
	len = atomic_load_explicit(&b->result_len, memory_order_relaxed);
	if (len > MAILBOX_RESULT_MAX)
		return 0;
	buf_reset(out);
	buf_add(out, b->result, len);
	/* Unchanged since before the copy: the copy is whole. */
	atomic_thread_fence(memory_order_acquire);
	if (atomic_load_explicit(&b->result_seq, memory_order_relaxed) != s) {
		buf_reset(out);
		return 0;
	}
	return 1;
}

int
dispatch_work_waiting(struct shm *shm)
{
	if (atomic_load(&shm->backlog) > 0)
		return 1;
	for (unsigned i = 0; i < SHM_HANDOFF_SLOTS; i++)
		if (atomic_load(&shm->handoff[i]) > 0)
			return 1;
	return 0;
}

void
dispatch_mailbox_forget(struct shm *shm, int pid)
{
	int64_t theirs = mailbox_reserved(pid);

	for (int i = 0; i < SHM_RUNNER_BOXES; i++) {
		struct runner_mailbox *b = &shm->box[i];
		int64_t v = theirs;

		/* A worker's reservation: its INSERT never finished, or its
		 * row, reserved for the runner, ends lost through the
		 * heartbeat sweep. */
		atomic_compare_exchange_strong(&b->state, &v, MAILBOX_IDLE);
		/* Its execution assigned before its commit, never settled:
		 * whether the commit happened, nobody can tell the runner,
		 * which starts nothing of it then. */
		v = atomic_load(&b->pending);
		if (v > 0 && atomic_load(&b->assigner) == pid)
			settle(b, v, -v);
		if (atomic_load(&b->owner) != pid)
			continue;
		/* A runner's box: an id it never took was inserted running
		 * or reserved for it, so nobody else starts it, and the
		 * sweep ends it lost too. A worker's reservation stays: its
		 * assignment goes to the next runner that opens the box. */
		v = atomic_load(&b->state);
		if (v >= MAILBOX_IDLE)
			atomic_compare_exchange_strong(&b->state, &v,
			    MAILBOX_BUSY);
		atomic_store(&b->owner, 0);
	}
	/* A runner that died watching: the next idle one takes over. */
	{
		int32_t v = pid;
		if (atomic_compare_exchange_strong(&shm->watcher, &v, 0))
			dispatch_wake_one(shm);
	}
	/* An API worker killed in its wait. The master calls this once it
	 * reaped the pid, before it forks again: no live worker of ours can
	 * hold the same pid yet. */
	for (int i = 0; i < SHM_WAIT_PLACES; i++) {
		int32_t v = pid;
		atomic_compare_exchange_strong(&shm->wait_place[i], &v, 0);
	}
}

int
dispatch_wait_enter(struct shm *shm, int cap)
{
	int32_t me = (int32_t)getpid();

	if (cap > SHM_WAIT_PLACES)
		cap = SHM_WAIT_PLACES;
	for (int i = 0; i < cap; i++) {
		int32_t free_place = 0;
		if (atomic_load(&shm->wait_place[i]) == 0 &&
		    atomic_compare_exchange_strong(&shm->wait_place[i],
		    &free_place, me))
			return i;
	}
	return -1;
}

void
dispatch_wait_leave(struct shm *shm, int place)
{
	int32_t me = (int32_t)getpid();

	if (place >= 0 && place < SHM_WAIT_PLACES)
		atomic_compare_exchange_strong(&shm->wait_place[place], &me, 0);
}

int
dispatch_waiting(struct shm *shm)
{
	int n = 0;

	for (int i = 0; i < SHM_WAIT_PLACES; i++)
		n += atomic_load(&shm->wait_place[i]) != 0;
	return n;
}

void
dispatch_wait_declined(struct shm *shm)
{
	atomic_fetch_add(&shm->waits_declined, 1);
}

void
dispatch_wake_one(struct shm *shm)
{
	for (int i = 0; i < SHM_RUNNER_BOXES; i++)
		if (atomic_load(&shm->box[i].owner) != 0 &&
		    atomic_load(&shm->box[i].state) == MAILBOX_IDLE) {
			wake_bump(&shm->box[i].bell, 1);
			return;
		}
	/* Runners without a box sleep on the queue word. */
	wake_bump(&shm->queue_gen, 1);
}

void
dispatch_backlog_wake(struct shm *shm, int n)
{
	int woken = 0;

	if (n <= 0)
		return;
	backlog_add(shm, n);
	/* The caller scans for one of them. */
	n--;
	for (int i = 0; i < SHM_RUNNER_BOXES && woken < n; i++)
		if (atomic_load(&shm->box[i].owner) != 0 &&
		    atomic_load(&shm->box[i].owner) != (int32_t)getpid() &&
		    atomic_load(&shm->box[i].state) == MAILBOX_IDLE) {
			wake_bump(&shm->box[i].bell, 1);
			woken++;
		}
	if (woken < n)
		wake_bump(&shm->queue_gen, n - woken);
}

int
dispatch_runners_idle(struct shm *shm)
{
	int n = 0;

	for (int i = 0; i < SHM_RUNNER_BOXES; i++)
		n += atomic_load(&shm->box[i].owner) != 0 &&
		    atomic_load(&shm->box[i].state) == MAILBOX_IDLE;
	return n;
}

int
dispatch_runners_busy(struct shm *shm)
{
	int n = 0;

	for (int i = 0; i < SHM_RUNNER_BOXES; i++) {
		int64_t v = atomic_load(&shm->box[i].state);
		n += atomic_load(&shm->box[i].owner) != 0 && v != MAILBOX_IDLE;
	}
	return n;
}

int
dispatch_watch(struct shm *shm)
{
	int32_t me = (int32_t)getpid(), v = 0;

	if (atomic_load(&shm->watcher) == me)
		return 1;
	return atomic_compare_exchange_strong(&shm->watcher, &v, me);
}

void
dispatch_watch_leave(struct shm *shm)
{
	int32_t me = (int32_t)getpid();

	/* Our box is busy by now: wake_one picks another runner. */
	if (atomic_compare_exchange_strong(&shm->watcher, &me, 0))
		dispatch_wake_one(shm);
}

static _Atomic uint32_t *
done_word(struct shm *shm, long long id)
{
	return &shm->done_gen[(unsigned long long)id % SHM_DONE_SLOTS];
}

uint32_t
dispatch_done_seen(struct shm *shm, long long id)
{
	return wake_read(done_word(shm, id));
}

void
dispatch_done_wait(struct shm *shm, long long id, uint32_t seen,
    int timeout_ms)
{
	wake_wait(done_word(shm, id), seen, timeout_ms);
}

void
dispatch_notify_cancel(struct shm *shm)
{
	wake_bump(&shm->cancel_gen, -1);
}

void
dispatch_notify_done(struct shm *shm, long long id)
{
	wake_bump(done_word(shm, id), -1);
}

