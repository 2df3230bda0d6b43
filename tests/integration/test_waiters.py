"""Waiting for an execution's end (?wait=N, POST .../test) holds an API
worker, which answers nothing else meanwhile (libfcgi is blocking): only
max_waiting_workers of them wait at once, the rest of such requests are
answered 202 at once, so health checks, reads and submissions always find
a free worker (issue 16). Also: the list filter `trigger` is checked."""
import os
import re
import shutil
import signal
import threading
import time

import pytest

from conftest import (STATE, assert_error, call, children, daemon_log_since, daemon_log_size,
                      reload_daemon, shared_dir, unique, wait_for)
from test_executions import register, wait_final, write_script

CONF = os.path.join(STATE, "scriptorch.conf")
# "Fast" for a request that must not wait behind a waiting client: loose,
# the machine is loaded; a held request would take until a wait ends
# (60 s here).
FAST_S = 2.0


def daemon_conf():
    """The [daemon] keys of the stack's configuration file."""
    keys, section = {}, None
    for line in open(CONF):
        line = line.strip()
        if line.startswith("["):
            section = line.strip("[]")
        elif section == "daemon" and "=" in line and not line.startswith("#"):
            k, v = (x.strip() for x in line.split("=", 1))
            keys[k] = v
    return keys


def waiting_cap():
    """max_waiting_workers in force: as set, or half of api_workers."""
    keys = daemon_conf()
    workers = int(keys.get("api_workers", "4"))
    cap = keys.get("max_waiting_workers", "auto")
    return workers, workers // 2 if cap == "auto" else int(cap)


def metric(name):
    text = call("GET", "/api/v1/metrics").body.decode()
    m = re.search(rf"^{name} (\d+)$", text, re.M)
    assert m, f"no {name} in the metrics"
    return int(m.group(1))


@pytest.fixture
def gate():
    """A script that runs until the test opens its gate (a file the test
    creates; at most two minutes), then prints "released". Yields
    (script, open_gate)."""
    d = shared_dir("sto-gate-")
    door = os.path.join(d, "open")
    s = register(write_script(unique("gated") + ".sh", f"""
        #!/bin/sh
        i=0
        while [ ! -e {door} ]; do
            i=$((i + 1)); [ $i -gt 2400 ] && exit 3
            sleep 0.05
        done
        echo released
        """))

    def open_gate():
        open(door, "w").close()
    yield s, open_gate
    open_gate()
    # Let what still runs see the file before it goes.
    wait_for(lambda: not [e for e in call("GET", f"/api/v1/executions?script_id={s['id']}&limit=500")
                          .json["executions"] if e["status"] in ("queued", "running")],
             timeout=120, interval=0.2, what="the gated executions to end")
    shutil.rmtree(d)


class Client(threading.Thread):
    """One client making one request in a thread of its own; `answer`
    and `took` (seconds) once it is answered."""

    def __init__(self, method, path, body=None, timeout=120):
        super().__init__(daemon=True)
        self.args = (method, path, body)
        self.timeout = timeout
        self.answer = None
        self.took = None

    def run(self):
        t0 = time.monotonic()
        self.answer = call(*self.args, timeout=self.timeout)
        self.took = time.monotonic() - t0


def waiters(script_id, n, wait=60):
    clients = [Client("POST", f"/api/v1/scripts/{script_id}/executions?wait={wait}", {"input": {}})
               for _ in range(n)]
    for c in clients:
        c.start()
    return clients


def timed(method, path, body=None):
    t0 = time.monotonic()
    r = call(method, path, body, timeout=60)
    return r, time.monotonic() - t0


def test_fifty_waiting_clients_leave_the_api_free(gate):
    s, open_gate = gate
    workers, cap = waiting_cap()
    assert 1 <= cap < workers, (workers, cap)
    declined0 = metric("scriptorch_api_waits_declined_total")

    clients = waiters(s["id"], 50)
    # The waits beyond the cap are answered at once, without waiting for
    # the script (which runs until the gate opens): 202 with the
    # execution as it was queued, as for an async submission.
    wait_for(lambda: sum(c.answer is not None for c in clients) >= 50 - cap, timeout=40,
             interval=0.1, what=f"{50 - cap} of the 50 waits to be answered at once")
    answered = [c for c in clients if c.answer is not None]
    assert len(answered) == 50 - cap, f"{len(answered)} answered; {cap} may wait"
    for c in answered:
        assert c.answer.status == 202, c.answer
        e = c.answer.json
        assert e["status"] == "queued" and e["trigger"] == "api", e
        assert e["script_id"] == s["id"]
    assert metric("scriptorch_api_waiting_workers") == cap

    # With `cap` workers waiting, the others answer at once.
    r, took = timed("GET", "/api/v1/health")
    assert r.status == 200 and took < FAST_S, (r, took)
    r, took = timed("GET", f"/api/v1/executions?script_id={s['id']}&limit=500")
    assert r.status == 200 and took < FAST_S, (r, took)
    assert len(r.json["executions"]) == 50
    r, took = timed("GET", f"/api/v1/executions/{answered[0].answer.json['id']}")
    assert r.status == 200 and took < FAST_S, (r, took)
    r, took = timed("POST", f"/api/v1/scripts/{s['id']}/executions", {"input": {}})
    assert r.status == 202 and r.json["status"] == "queued" and took < FAST_S, (r, took)
    more = [r.json["id"]]
    # An admin's test run beyond the cap: 202 at once, the run goes on.
    r, took = timed("POST", f"/api/v1/admin/scripts/{s['id']}/test", {"input": {}})
    assert r.status == 202 and took < FAST_S, (r, took)
    assert r.json["trigger"] == "test" and r.json["status"] == "queued", r.json
    more.append(r.json["id"])
    # A wait of 0 is no wait, and not counted as declined.
    r, took = timed("POST", f"/api/v1/scripts/{s['id']}/executions?wait=0", {"input": {}})
    assert r.status == 202 and r.json["status"] == "queued" and took < FAST_S, (r, took)
    more.append(r.json["id"])

    held = [c for c in clients if c.answer is None]
    assert len(held) == cap
    assert metric("scriptorch_api_waits_declined_total") - declined0 == 50 - cap + 1
    assert metric("scriptorch_api_waiting_workers") == cap

    # The waits within the cap get their final execution once it ends.
    open_gate()
    for c in held:
        c.join(90)
        assert c.answer is not None, "a held wait was never answered"
        assert c.answer.status == 200, c.answer
        e = c.answer.json
        assert e["status"] == "succeeded" and e["stdout"] == "released\n", e
    for i in [c.answer.json["id"] for c in answered] + more:
        assert wait_final(i, 120)["status"] == "succeeded"
    assert metric("scriptorch_api_waiting_workers") == 0


def futex_sleepers(pids, samples=10):
    """The pids that sleep on a futex in most of `samples` looks 50 ms
    apart: an API worker waiting for an execution sleeps on its
    completion word (an idle one sleeps in accept())."""
    seen = dict.fromkeys(pids, 0)
    for _ in range(samples):
        for p in pids:
            try:
                if "futex" in open(f"/proc/{p}/wchan").read():
                    seen[p] += 1
            except OSError:
                pass
        time.sleep(0.05)
    return sorted(p for p, n in seen.items() if n > samples // 2)


def test_a_worker_killed_while_waiting_frees_its_place(gate):
    s, open_gate = gate
    workers, cap = waiting_cap()
    before = children("sto-api")
    assert len(before) == workers
    clients = waiters(s["id"], cap)
    wait_for(lambda: metric("scriptorch_api_waiting_workers") == cap, timeout=20,
             what=f"{cap} workers waiting")
    sleepers = wait_for(lambda: (lambda p: p if len(p) == cap else None)(futex_sleepers(before)),
                        timeout=20, what=f"{cap} API workers sleeping in their wait")
    victim = sleepers[0]
    os.kill(victim, signal.SIGKILL)
    # Its client loses the connection (nginx's 503); the others wait on.
    cut = wait_for(lambda: [c for c in clients if c.answer is not None], timeout=20,
                   what="the killed worker's client to be answered")
    assert len(cut) == 1 and cut[0].answer.status == 503, [c.answer for c in cut]
    wait_for(lambda: (lambda now: len(now) == workers and victim not in now)(children("sto-api")),
             timeout=20, what="a replacement API worker")
    # The master freed the dead worker's place as it reaped it.
    wait_for(lambda: metric("scriptorch_api_waiting_workers") == cap - 1, timeout=10,
             what="the dead worker's place to be freed")
    # The full number of waits is possible again: one more waits...
    again = waiters(s["id"], 1)[0]
    wait_for(lambda: metric("scriptorch_api_waiting_workers") == cap, timeout=20,
             what=f"{cap} workers waiting again")
    assert again.answer is None, again.answer
    # ... and only then is the next one answered at once.
    r, took = timed("POST", f"/api/v1/scripts/{s['id']}/executions?wait=60", {"input": {}})
    assert r.status == 202 and took < FAST_S, (r, took)
    open_gate()
    for c in [c for c in clients if c not in cut] + [again]:
        c.join(90)
        assert c.answer is not None and c.answer.status == 200, c.answer
        assert c.answer.json["status"] == "succeeded", c.answer.json


def test_a_wait_ends_when_its_worker_is_retired(gate):
    # A reload retires the API workers: one waiting answers 202 with the
    # execution before the master's shutdown_timeout_s (10 s here) rather
    # than hold its place (and keep the old generation alive) for the
    # whole wait.
    s, open_gate = gate
    c = waiters(s["id"], 1, wait=120)[0]
    wait_for(lambda: metric("scriptorch_api_waiting_workers") == 1, timeout=20,
             what="the worker waiting")
    t0 = time.monotonic()
    reload_daemon()
    c.join(60)
    assert c.answer is not None, "the wait was not answered"
    assert c.answer.status == 202, c.answer
    assert c.answer.json["status"] in ("queued", "running"), c.answer.json
    assert time.monotonic() - t0 < 30
    assert metric("scriptorch_api_waiting_workers") == 0
    open_gate()
    assert wait_final(c.answer.json["id"], 60)["status"] == "succeeded"


def set_daemon_key(text, key, value):
    """The config text with `key = value` first in [daemon]."""
    return re.sub(r"^\[daemon\]\n", f"[daemon]\n{key} = {value}\n", text, count=1, flags=re.M)


def test_max_waiting_workers_is_read_and_checked_on_reload(gate):
    s, open_gate = gate
    workers, _ = waiting_cap()
    original = open(CONF).read()
    try:
        # As many waiting as there are workers: the reload is refused.
        with open(CONF, "w") as f:
            f.write(set_daemon_key(original, "max_waiting_workers", workers))
        offset = daemon_log_size()
        os.kill(int(open(os.path.join(STATE, "scriptorchd.pid")).read()), signal.SIGHUP)
        line = wait_for(lambda: re.search(r"reload refused.*max_waiting_workers.*", daemon_log_since(offset)),
                        timeout=20, what="the reload to be refused")
        assert f"must be below api_workers ({workers})" in line.group(0), line.group(0)

        # One: a second wait is answered at once.
        with open(CONF, "w") as f:
            f.write(set_daemon_key(original, "max_waiting_workers", 1))
        reload_daemon()
        first = waiters(s["id"], 1)[0]
        wait_for(lambda: metric("scriptorch_api_waiting_workers") == 1, timeout=20,
                 what="one worker waiting")
        r, took = timed("POST", f"/api/v1/scripts/{s['id']}/executions?wait=60", {"input": {}})
        assert r.status == 202 and took < FAST_S, (r, took)
        open_gate()
        first.join(90)
        assert first.answer is not None and first.answer.status == 200, first.answer
    finally:
        with open(CONF, "w") as f:
            f.write(original)
        reload_daemon()


def test_trigger_filter_takes_only_known_values():
    assert_error(call("GET", "/api/v1/executions?trigger=bogus"), 422, "validation_failed", "trigger")
    assert_error(call("GET", "/api/v1/executions?trigger=API"), 422, "validation_failed", "trigger")
    for t in ("api", "test", "ui"):
        r = call("GET", f"/api/v1/executions?trigger={t}&limit=5")
        assert r.status == 200, r
        assert all(e["trigger"] == t for e in r.json["executions"])
    # empty: no filter, as for the other filters
    assert call("GET", "/api/v1/executions?trigger=&limit=1").status == 200
