"""A database outage while a run goes on: the runner keeps the result and
records it once MariaDB is back, with the times the run really had."""
import datetime
import os
import signal
import subprocess
import textwrap
import time

from conftest import SCRIPT_ROOT, call, stackctl, unique, wait_for

# How long MariaDB stays down after the run has ended: long enough that a
# finished_at taken when the record is written, rather than when the child
# was reaped, is far outside the bound below.
OUTAGE_S = 5.0
# finished_at - started_at may differ from duration_ms by this much (two
# clocks, ticks, a loaded machine), never by the outage's length.
SLACK_S = 2.0


def ts(text):
    """An API timestamp ("2024-05-01T10:00:00.123Z") as seconds."""
    return datetime.datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def get_when_up(eid):
    """The execution, or None while the API cannot read it (503)."""
    r = call("GET", f"/api/v1/executions/{eid}")
    return r.json if r.status == 200 else None


def janitor_pid():
    for line in stackctl("children").splitlines():
        pid, name = line.split()
        if name == "sto-janitor":
            return int(pid)
    raise AssertionError("no janitor among the daemon's children")


def script_alive(path):
    return subprocess.run(["pgrep", "-f", path], capture_output=True).returncode == 0


def test_result_recorded_after_an_outage_keeps_its_end_time():
    flag = os.path.join(SCRIPT_ROOT, unique("outage-flag"))
    path = os.path.join(SCRIPT_ROOT, unique("outage") + ".sh")
    with open(path, "w") as f:
        # Runs until the test says so, so that it ends while the database
        # is down whatever time stopping MariaDB takes.
        f.write(textwrap.dedent(f"""\
            #!/bin/sh
            echo started
            while [ ! -e {flag} ]; do sleep 0.05; done
            echo ended
            """))
    os.chmod(path, 0o755)
    r = call("POST", "/api/v1/admin/scripts", {"name": unique("outage"), "type": "shell", "path": path})
    assert r.status == 201, r
    sid = r.json["id"]
    r = call("POST", f"/api/v1/scripts/{sid}/executions", {"input": {}})
    assert r.status == 202, r
    eid = r.json["id"]
    # started_at is written by the runner's first tick, with the database up.
    wait_for(lambda: (lambda e: e if e and e["started_at"] else None)(get_when_up(eid)),
             timeout=30, what="the run to be recorded as started")

    # The lost sweep would end the run `lost` if it looked before the
    # runner's retry once the database is back (the stack's heartbeat
    # timeout is 5 s); this test is about the runner's record, so the
    # janitor sleeps through it.
    janitor = janitor_pid()
    os.kill(janitor, signal.SIGSTOP)
    try:
        stackctl("stop-db")
        try:
            open(flag, "w").close()
            wait_for(lambda: not script_alive(path), timeout=30, what="the script to end")
            time.sleep(OUTAGE_S)    # the outage itself, not a wait for an event
        finally:
            stackctl("start-db")
        e = wait_for(lambda: (lambda e: e if e and e["status"] not in ("queued", "running") else None)(
            get_when_up(eid)), timeout=60, what="the result to be recorded")
    finally:
        os.kill(janitor, signal.SIGCONT)
        os.unlink(flag)

    assert e["status"] == "succeeded", e
    assert e["stdout"] == "started\nended\n", e
    assert e["queued_at"] <= e["started_at"] <= e["finished_at"], e
    ran_s = ts(e["finished_at"]) - ts(e["started_at"])
    assert abs(ran_s - e["duration_ms"] / 1000.0) < SLACK_S, (
        f"finished_at - started_at is {ran_s:.3f} s but the run took "
        f"{e['duration_ms'] / 1000.0:.3f} s: finished_at is not when it ended", e)
    wait_for(lambda: call("GET", "/api/v1/health", token=None).status == 200, timeout=30,
             what="health after the database came back")
