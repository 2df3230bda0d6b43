"""Queued executions drain as soon as runners are free, at the pace runs
can start, never at the poll's pace (docs/architecture.md, "Data flow of
one execution", steps 1 and 2): a burst queued behind busy runners, a
burst queued behind a script's queue held at its max_concurrency, and a
queue left from before the daemon started.

Work queued while no runner was idle reaches one through the hand-off
slots and the node's backlog count, each ending run taking the next at
once; the poll (one scan per poll_interval_ms per node) catches what
nothing announced, and polls again at once while it finds some. If that
breaks, what is left drains at the poll rate: runners idle, rows queued,
for minutes. To tell the two apart beyond doubt, the module runs with a
long poll_interval_ms (POLL_MS): N runs left to the poll would need
N * POLL_MS, every bound here is an eighth of that, and still many times
what the drains take on a loaded 2-core machine.

Every runner is held busy by a run waiting on a gate file until the
burst is queued behind it, then the gate opens."""
import concurrent.futures
import os
import re
import signal
import time

import pytest

from conftest import STATE, call, shared_dir, shell_script, sql, stackctl, wait_for

CONF = os.path.join(STATE, "scriptorch.conf")
LOG = os.path.join(STATE, "scriptorchd.log")
POLL_MS = 5000
FINAL = ("succeeded", "failed", "timed_out", "canceled", "error", "lost")


def children():
    out = {}
    for line in stackctl("children").splitlines():
        pid, name = line.split(None, 1)
        out[int(pid)] = name
    return out


def conf_int(text, key):
    return int(re.search(rf"(?m)^{key} = (\d+)$", text).group(1))


def reload_with(text):
    """Writes the config, reloads, and waits until the new generation
    alone runs (its runners read the new poll_interval_ms)."""
    old = set(children())
    offset = os.path.getsize(LOG)
    with open(CONF, "w") as f:
        f.write(text)
    os.kill(int(stackctl("daemon-pid")), signal.SIGHUP)

    def reloaded():
        with open(LOG, "rb") as f:
            f.seek(offset)
            return b"configuration reloaded" in f.read()
    wait_for(reloaded, timeout=20, what="the reload")
    runners = conf_int(text, "runner_workers")
    wait_for(lambda: (lambda now: not set(now) & old and
                      list(now.values()).count("sto-runner") == runners)(children()),
             timeout=60, what="the old generation to be replaced")


@pytest.fixture(scope="module")
def slow_poll():
    """The stack with poll_interval_ms = POLL_MS; yields its runner count."""
    original = open(CONF).read()
    text = re.sub(r"(?m)^poll_interval_ms = .*\n", "", original)
    text = text.replace("[runner]\n", f"[runner]\npoll_interval_ms = {POLL_MS}\n", 1)
    assert text != original
    reload_with(text)
    try:
        yield conf_int(text, "runner_workers")
    finally:
        reload_with(original)


def submit(script_id):
    r = call("POST", f"/api/v1/scripts/{script_id}/executions", {"input": {}})
    assert r.status == 202, r
    return r.json["id"]


def burst(script_id, n, clients=16):
    """n async submissions from `clients` threads at once: their ids."""
    with concurrent.futures.ThreadPoolExecutor(clients) as pool:
        return list(pool.map(lambda _: submit(script_id), range(n)))


def count(ids, statuses):
    inlist = ",".join(f"'{s}'" for s in statuses)
    return int(sql(f"SELECT COUNT(*) FROM executions WHERE id IN ({','.join(map(str, ids))}) "
                   f"AND status IN ({inlist})"))


class Busy:
    """Every runner busy with a run that waits for a gate file (at most
    120 s), until open()."""

    def __init__(self, runners):
        self.gate = os.path.join(shared_dir("sto-gate-"), "open")
        self.script = shell_script(f"""
            #!/bin/sh
            i=0
            while [ ! -e {self.gate} ] && [ $i -lt 6000 ]; do
                sleep 0.02; i=$((i + 1))
            done
            """, timeout_s=300)
        self.ids = [submit(self.script["id"]) for _ in range(runners)]
        wait_for(lambda: count(self.ids, ("running",)) == runners, timeout=60,
                 what=f"all {runners} runners busy")

    def still_all_running(self):
        return count(self.ids, ("running",)) == len(self.ids)

    def open(self):
        open(self.gate, "w").close()
        return time.monotonic()


def drained(ids, deadline_s, start):
    """Waits until every one of ids is final, at most deadline_s after
    `start` (monotonic); returns the seconds it took, or fails with how
    many were left."""
    left = None
    while True:
        left = len(ids) - count(ids, FINAL)
        took = time.monotonic() - start
        if left == 0:
            return took
        assert took < deadline_s, (f"{left} of {len(ids)} executions still not final "
                                   f"{took:.0f} s after the runners were free (the poll "
                                   f"alone would end them in {len(ids) * POLL_MS / 1000:.0f} s)")
        time.sleep(0.2)


def cancel_left(ids):
    """Cancels what a failed test left queued or running, so that the
    next tests do not wait behind it."""
    left = sql(f"SELECT id FROM executions WHERE id IN ({','.join(map(str, ids))}) "
               "AND status IN ('queued', 'running')").split()
    for i in left:
        call("POST", f"/api/v1/executions/{i}/cancel")


def starts_per_second(ids):
    """How many of ids started per second, first to last start."""
    span = sql(f"SELECT COUNT(*), TIMESTAMPDIFF(MICROSECOND, MIN(started_at), MAX(started_at)) "
               f"FROM executions WHERE id IN ({','.join(map(str, ids))})").split()
    return int(span[0]) / max(int(span[1]) / 1e6, 0.001)


def test_a_burst_queued_behind_busy_runners_drains_at_once(slow_poll):
    # N quick runs queued while every runner is busy: 64 fit the hand-off
    # slots, the rest are the node's backlog count. Once the runners are
    # free each ending run takes the next at once: the N end within an
    # eighth of the N poll intervals the poll alone would need.
    n = 200
    busy = Busy(slow_poll)
    quick = shell_script("#!/bin/sh\necho quick\n")
    try:
        ids = burst(quick["id"], n)
        assert busy.still_all_running(), "a runner was free before the whole burst was queued"
        assert count(ids, ("queued",)) == n
    finally:
        t0 = busy.open()
    try:
        took = drained(ids, n * POLL_MS / 1000 / 8, t0)
        drained(busy.ids, 60, t0)
    finally:
        cancel_left(ids + busy.ids)
    assert count(ids, ("succeeded",)) == n
    print(f"{n} runs queued behind {slow_poll} busy runners drained in {took:.1f} s "
          f"({starts_per_second(ids):.0f} starts/s; poll rate {1000 / POLL_MS:.1f}/s)")


def test_runs_queued_behind_a_limited_scripts_queue_do_not_wait_for_the_poll(slow_poll):
    # Rows of a script with max_concurrency 1 queued first, more than a
    # scan's first page (100), then the burst of another script behind
    # them, all behind busy runners. The first limited run then holds its
    # script's limit (it waits on a gate of its own), so none of the other
    # limited rows may start; each scan that passes over them must still
    # find the burst. It once came back empty, forgot the node's backlog,
    # and the burst waited for the limited queue, then for the poll.
    n_limited, n = 150, 200
    busy = Busy(slow_poll)
    hold = os.path.join(shared_dir("sto-gate-"), "open")
    limited = shell_script(f"""
        #!/bin/sh
        i=0
        while [ ! -e {hold} ] && [ $i -lt 6000 ]; do
            sleep 0.02; i=$((i + 1))
        done
        """, max_concurrency=1, timeout_s=300)
    quick = shell_script("#!/bin/sh\necho quick\n")
    try:
        lids = burst(limited["id"], n_limited, clients=4)
        ids = burst(quick["id"], n)
        assert max(lids) < min(ids), "the limited runs are not all queued before the burst"
        assert busy.still_all_running(), "a runner was free before the whole burst was queued"
        assert count(ids + lids, ("queued",)) == n + n_limited
    finally:
        t0 = busy.open()
    try:
        try:
            took = drained(ids, n * POLL_MS / 1000 / 8, t0)
            assert count(lids, ("running",)) == 1 and count(lids, ("queued",)) == n_limited - 1, \
                "the limited script's limit was not held while the burst drained"
        finally:
            open(hold, "w").close()
        t1 = time.monotonic()
        # The limited ones chain (each end claims the next), never the
        # poll.
        took_limited = drained(lids, n_limited * POLL_MS / 1000 / 8, t1)
        drained(busy.ids, 60, t0)
    finally:
        cancel_left(ids + lids + busy.ids)
    assert count(ids, ("succeeded",)) == n and count(lids, ("succeeded",)) == n_limited
    print(f"{n} runs queued behind {n_limited} of a max_concurrency 1 script at its limit drained "
          f"in {took:.1f} s ({starts_per_second(ids):.0f} starts/s), the limited ones in "
          f"{took_limited:.1f} s once free; poll rate {1000 / POLL_MS:.1f}/s")


def test_runs_queued_before_the_daemon_started_do_not_wait_for_the_poll(slow_poll):
    # A burst queued behind busy runners, then the daemon stops (the busy
    # runs end, nothing else starts) and starts again: the new daemon's
    # shared memory holds no count of that queue, only the poll finds it.
    # The first scan that finds a row nothing counted must go on to the
    # next at once, not leave the rest one per poll interval.
    n = 200
    busy = Busy(slow_poll)
    quick = shell_script("#!/bin/sh\necho quick\n")
    master = int(stackctl("daemon-pid"))
    offset = os.path.getsize(LOG)
    try:
        ids = burst(quick["id"], n)
        assert busy.still_all_running(), "a runner was free before the whole burst was queued"
        os.kill(master, signal.SIGTERM)

        def stopping():
            with open(LOG, "rb") as f:
                f.seek(offset)
                return b"stopping on signal" in f.read()
        wait_for(stopping, timeout=20, what="the daemon to begin its stop")
        time.sleep(0.5)        # its runners told to stop, before their runs end
    finally:
        busy.open()
    try:
        wait_for(lambda: not os.path.exists(f"/proc/{master}"), timeout=60,
                 what="the daemon to stop")
    finally:
        stackctl("start-daemon")
    t0 = time.monotonic()
    wait_for(lambda: call("GET", "/api/v1/health", token=None).status == 200, timeout=30,
             what="the daemon to come back")
    try:
        left = [int(i) for i in sql(f"SELECT id FROM executions WHERE id IN ({','.join(map(str, ids))}) "
                                    "AND status = 'queued'").split()]
        assert len(left) >= n // 2, f"only {len(left)} of {n} still queued at the start"
        took = drained(left, len(left) * POLL_MS / 1000 / 8, t0)
    finally:
        cancel_left(ids + busy.ids)
    assert count(ids, ("succeeded",)) == n and count(busy.ids, ("succeeded",)) == len(busy.ids)
    print(f"{len(left)} runs queued before the daemon started drained in {took:.1f} s "
          f"({starts_per_second(left):.0f} starts/s; poll rate {1000 / POLL_MS:.1f}/s)")
