"""Issue 13: the kill grace against the heartbeat timeout.

A run that times out and ignores SIGTERM is killed only at the end of the
grace. Its runner used to save nothing during the grace, so with a grace
as long as heartbeat_timeout_s the janitor marked the run lost before the
SIGKILL. Now the runner saves output and its heartbeat through the grace,
and the daemon lowers a grace that would not end 1.5 s before the
heartbeat timeout (a warning says so).

The stack's config is changed for this module (kill_grace_s 20,
heartbeat_timeout_s 6) by rewriting it and reloading (SIGHUP), and put
back afterwards; each reload is waited for until no process of the old
generation is left.
"""
import os
import re
import signal
import time

import pytest

from conftest import STATE, call, stackctl, unique, wait_for
from test_executions import get, register, write_script

HEARTBEAT_TIMEOUT_S = 6
GRACE_S = 20                                # asked for
FITTED_GRACE_S = HEARTBEAT_TIMEOUT_S - 1.5  # what the daemon keeps
CONF = os.path.join(STATE, "scriptorch.conf")
LOG = os.path.join(STATE, "scriptorchd.log")


def children():
    """pid -> name of the master's children (api workers, runners, janitor)."""
    out = {}
    for line in stackctl("children").splitlines():
        pid, name = line.split(None, 1)
        out[int(pid)] = name
    return out


def log_size():
    return os.path.getsize(LOG)


def log_since(offset):
    with open(LOG, "rb") as f:
        f.seek(offset)
        return f.read().decode("utf-8", "replace")


def conf_int(text, key):
    return int(re.search(rf"(?m)^{key} = (\d+)$", text).group(1))


def reload_with(text):
    """Writes the config, reloads, and waits until the new generation
    alone runs: every process there was before the reload (a retiring one
    of an earlier reload too) has finished what it did and exited, and
    the new one is complete."""
    master = int(stackctl("daemon-pid"))
    old = set(children())
    offset = log_size()
    with open(CONF, "w") as f:
        f.write(text)
    os.kill(master, signal.SIGHUP)
    wait_for(lambda: "configuration reloaded" in log_since(offset), timeout=20,
             what="the reload")
    # A node with a callback secret runs a sender too (dev/lib.sh's has).
    sender = ["sto-sender"] if re.search(r"(?m)^callback_secret = \S", text) else []
    want = sorted(["sto-api"] * conf_int(text, "api_workers")
                  + ["sto-runner"] * conf_int(text, "runner_workers") + ["sto-janitor"] + sender)
    wait_for(lambda: (lambda now: not set(now) & old and sorted(now.values()) == want)(children()),
             timeout=60, what="the old generation to be replaced")
    return log_since(offset)


@pytest.fixture(scope="module")
def long_grace():
    original = open(CONF).read()
    text = re.sub(r"(?m)^kill_grace_s = .*$", f"kill_grace_s = {GRACE_S}", original)
    text = re.sub(r"(?m)^heartbeat_timeout_s = .*$",
                  f"heartbeat_timeout_s = {HEARTBEAT_TIMEOUT_S}", text)
    assert text != original
    try:
        yield reload_with(text)
    finally:
        reload_with(original)


def test_timed_out_run_ignoring_sigterm_ends_timed_out_not_lost(long_grace):
    s = register(write_script(unique("stubborn") + ".sh", """
        #!/bin/bash
        trap 'echo got TERM' TERM
        echo ready
        while true; do sleep 0.1; done
        """), timeout_s=1)
    eid = call("POST", f"/api/v1/scripts/{s['id']}/executions", {"input": {}}).json["id"]
    # Watch the row until it ends: output written after SIGTERM shows up
    # while the run is still running (saved by a tick in the grace).
    seen_live = False
    deadline = time.monotonic() + 90
    while True:
        e = get(eid)
        if e["status"] not in ("queued", "running"):
            break
        if e["status"] == "running" and "got TERM" in (e["stdout"] or ""):
            seen_live = True
        assert time.monotonic() < deadline, f"execution {eid} did not end: {e}"
        time.sleep(0.05)
    assert e["status"] == "timed_out", e
    assert e["signal"] == 9, e
    assert "got TERM" in e["stdout"], e
    assert seen_live, "the output of the grace was saved only at the end"
    # Killed at the end of the fitted grace, not of the 20 s asked for.
    assert (1 + FITTED_GRACE_S) * 1000 - 100 <= e["duration_ms"] < GRACE_S * 1000, e


def test_reload_says_the_grace_was_lowered(long_grace):
    assert re.search(rf"kill_grace_s {GRACE_S} lowered to {FITTED_GRACE_S:g} s", long_grace), \
        long_grace
    # still the config in force: the daemon answers, and a quick run works
    quick = register(write_script(unique("after") + ".sh", "#!/bin/sh\necho fine\n"))
    r = call("POST", f"/api/v1/scripts/{quick['id']}/executions?wait=30", {"input": {}})
    assert r.status == 200 and r.json["stdout"] == "fine\n", r
