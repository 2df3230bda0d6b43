"""A database outage while a run goes on: the runner keeps the result and
records it once MariaDB is back, with the times the run really had."""
import datetime
import os
import signal
import subprocess
import time

from conftest import SCRIPT_ROOT, call, shell_script, stackctl, unique, wait_for

# How long MariaDB stays down after the run has ended: long enough that a
# finished_at taken when the record is written, rather than when the child
# was reaped, is far outside the bound below, and longer than the stack's
# heartbeat timeout (5 s).
OUTAGE_S = 8.0
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


def script_alive(path):
    return subprocess.run(["pgrep", "-f", path], capture_output=True).returncode == 0


def test_result_recorded_after_an_outage_keeps_its_end_time():
    flag = os.path.join(SCRIPT_ROOT, unique("outage-flag"))
    # Runs until the test says so, so that it ends while the database is
    # down whatever time stopping MariaDB takes.
    s = shell_script(f"""\
        #!/bin/sh
        echo started
        while [ ! -e {flag} ]; do sleep 0.05; done
        echo ended
        """)
    path, sid = s["path"], s["id"]
    r = call("POST", f"/api/v1/scripts/{sid}/executions", {"input": {}})
    assert r.status == 202, r
    eid = r.json["id"]
    # started_at is written by the runner's first tick, with the database up.
    wait_for(lambda: (lambda e: e if e and e["started_at"] else None)(get_when_up(eid)),
             timeout=30, what="the run to be recorded as started")

    # The outage outlasts the stack's heartbeat timeout (5 s): when the
    # database comes back, the janitor must give the runners a timeout's
    # time to record their results before it takes a silent run for lost
    # (it did not, and a finished run raced its runner's retry). To make
    # that race certain, the runner is held still while the database
    # comes back, for a few of the janitor's sweeps (one a second).
    runner = int(stackctl("sql", f"SELECT runner_pid FROM executions WHERE id = {eid}"))
    try:
        stackctl("stop-db")
        try:
            open(flag, "w").close()
            wait_for(lambda: not script_alive(path), timeout=30, what="the script to end")
            time.sleep(OUTAGE_S)    # the outage itself, not a wait for an event
            os.kill(runner, signal.SIGSTOP)
        finally:
            stackctl("start-db")
        wait_for(lambda: call("GET", "/api/v1/health", token=None).status == 200, timeout=30,
                 what="the database to answer again")
        time.sleep(2.5)             # the janitor's sweeps, with the runner held
        os.kill(runner, signal.SIGCONT)
        e = wait_for(lambda: (lambda e: e if e and e["status"] not in ("queued", "running") else None)(
            get_when_up(eid)), timeout=60, what="the result to be recorded")
    finally:
        os.kill(runner, signal.SIGCONT)
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


def test_a_result_the_database_refuses_ends_in_an_error_record_at_once():
    """Only an unreachable database (or a lost deadlock) is waited out: an
    error that waiting does not cure ends the run with an `error` record
    that says why, instead of ten minutes of retries and then `lost`."""
    marker = unique("poison")
    trigger = "poison_" + marker.replace("-", "_")
    # (DELIMITER: the client would split the trigger's body at its ';'.)
    stackctl("sql", f"DELIMITER //\nCREATE TRIGGER {trigger} BEFORE UPDATE ON executions FOR EACH ROW "
                    f"IF NEW.stdout LIKE '%{marker}%' THEN "
                    f"SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'refused by the test'; END IF //")
    try:
        s = shell_script(f"#!/bin/sh\necho {marker}\nexit 3\n")
        r = call("POST", f"/api/v1/scripts/{s['id']}/executions?wait=30", {"input": {}}, timeout=60)
        assert r.status == 200, r
        e = r.json
        assert e["status"] == "error", e
        assert "could not be recorded" in e["error"] and "refused by the test" in e["error"], e
        assert "failed" in e["error"], e      # the status it really had is named
        assert e["exit_code"] == 3 and e["finished_at"] and e["duration_ms"] is not None, e
        assert marker not in (e["stdout"] or ""), e
    finally:
        stackctl("sql", f"DROP TRIGGER IF EXISTS {trigger}")
