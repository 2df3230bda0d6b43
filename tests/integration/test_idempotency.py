"""Idempotent submissions (issue 17): POST /scripts/{id}/executions with an
Idempotency-Key creates at most one execution per key and token within
24 h; a retry answers that execution (its current state) with
Idempotent-Replayed: true, another request with the key is 409, and the
janitor forgets keys older than 24 h."""
import concurrent.futures
import os
import re
import shutil
import threading

import pytest

from conftest import STATE, assert_error, call, make_token, shared_dir, shared_file, sql, unique, wait_for
from test_executions import commits_held, register, wait_final, write_script


def submit(script, key, body=None, wait=None, token=None, timeout=60):
    path = f"/api/v1/scripts/{script}/executions"
    if wait is not None:
        path += f"?wait={wait}"
    kw = {} if token is None else {"token": token}
    return call("POST", path, {"input": {}} if body is None else body,
                headers=None if key is None else {"Idempotency-Key": key}, timeout=timeout, **kw)


def replayed(r):
    return r.headers.get("Idempotent-Replayed")


def waiting_workers():
    text = call("GET", "/api/v1/metrics").body.decode()
    m = re.search(r"^scriptorch_api_waiting_workers (\d+)$", text, re.M)
    assert m, "no scriptorch_api_waiting_workers in the metrics"
    return int(m.group(1))


def executions_of(script_id):
    return int(sql(f"SELECT COUNT(*) FROM executions WHERE script_id = {script_id}"))


def key_rows(key):
    return int(sql(f"SELECT COUNT(*) FROM idempotency_keys WHERE idempotency_key = '{key}'"))


@pytest.fixture
def appender():
    """A script that appends its execution id to a file of its own, one
    line a run. Yields (script, the file's path)."""
    log = shared_file(unique("idem-ran") + ".log")
    s = register(write_script(unique("idem-append") + ".sh", f"""
        #!/bin/sh
        echo "$SCRIPTORCH_EXECUTION_ID" >> {log}
        echo "n=$INPUT_N"
        """))
    yield s, log
    os.unlink(log)


def lines(path):
    with open(path) as f:
        return f.read().split()


@pytest.fixture
def gate():
    """A script that runs until the test opens its gate (a file; at most
    two minutes). Yields (script, open_gate)."""
    d = shared_dir("sto-idem-gate-")
    door = os.path.join(d, "open")
    s = register(write_script(unique("idem-gated") + ".sh", f"""
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
    wait_for(lambda: executions_of(s["id"]) == int(sql(
        f"SELECT COUNT(*) FROM executions WHERE script_id = {s['id']} "
        "AND status NOT IN ('queued', 'running')")),
        timeout=120, interval=0.2, what="the gated executions to end")
    shutil.rmtree(d)


def api_workers():
    for line in open(os.path.join(STATE, "scriptorch.conf")):
        k, _, v = line.partition("=")
        if k.strip() == "api_workers":
            return int(v)
    return 4


def inside_a_keyed_submission():
    """The sessions that inserted an execution in a keyed submission's
    transaction and wait: in its COMMIT, or behind the transaction that
    holds the key, in the statements that write the key's row (the
    DELETE of an expired row of the key, then the INSERT)."""
    out = sql("SELECT p.ID FROM information_schema.PROCESSLIST p "
              "JOIN information_schema.INNODB_TRX t ON t.trx_mysql_thread_id = p.ID "
              "WHERE t.trx_rows_modified > 0 "
              "AND (p.INFO LIKE 'INSERT INTO idempotency_keys%' "
              "OR p.INFO LIKE 'DELETE FROM idempotency_keys WHERE token_id%' OR p.INFO = 'COMMIT')")
    return [int(x) for x in out.split()]


def test_fifty_concurrent_submissions_with_one_key_create_one_execution(appender):
    s, log = appender
    key = unique("burst")
    body = {"input": {"n": 1}}
    start = threading.Barrier(50)
    workers = api_workers()
    # The token's last_used_at is written at most once a minute: now, not
    # during the burst (that write would wait for the held commits too).
    assert call("GET", f"/api/v1/executions?script_id={s['id']}").status == 200

    # Every third one waits for the end: those take the path where an idle
    # runner is reserved and the row inserted running for it; the others
    # are async.
    def one(i):
        start.wait()
        return submit(s["id"], key, body, wait=30 if i % 3 == 0 else None, timeout=120)

    # Commits are held until every API worker has inserted an execution
    # for the key and waits (in its COMMIT, or behind the transaction that
    # holds the key): all of them passed the look-up of the key before any
    # commit, so only the database's unique key can keep them from each
    # creating an execution. Then the burst goes on, the other requests
    # meeting a committed key.
    with commits_held() as held, concurrent.futures.ThreadPoolExecutor(50) as pool:
        futures = [pool.submit(one, i) for i in range(50)]
        wait_for(lambda: len(inside_a_keyed_submission()) >= workers, timeout=30,
                 what=f"{workers} API workers inside a submission with the key")
        held.release()
        answers = [f.result(120) for f in futures]
    assert all(r.status in (200, 202) for r in answers), [r for r in answers if r.status not in (200, 202)]
    ids = {r.json["id"] for r in answers}
    assert len(ids) == 1, f"{len(ids)} executions were answered: {sorted(ids)}"
    eid = ids.pop()
    fresh = [r for r in answers if replayed(r) is None]
    assert len(fresh) == 1, f"{len(fresh)} answers were not replays"
    assert all(replayed(r) == "true" for r in answers if r is not fresh[0])
    assert executions_of(s["id"]) == 1
    assert key_rows(key) == 1
    assert int(sql(f"SELECT execution_id FROM idempotency_keys WHERE idempotency_key = '{key}'")) == eid
    final = wait_final(eid, 60)
    assert final["status"] == "succeeded", final
    # The script's own side effect: it ran once.
    assert lines(log) == [str(eid)]
    # Still one once every answer is in and the runners are idle again.
    assert executions_of(s["id"]) == 1


def test_a_replay_answers_the_execution_as_it_is_now(gate):
    s, open_gate = gate
    key = unique("replay")
    first = submit(s["id"], key)
    assert first.status == 202 and replayed(first) is None, first
    eid = first.json["id"]
    wait_for(lambda: call("GET", f"/api/v1/executions/{eid}").json["status"] == "running",
             timeout=30, what="the run to start")

    again = submit(s["id"], key)
    assert again.status == 202 and replayed(again) == "true", again
    assert again.json["id"] == eid and again.json["status"] == "running", again.json
    # A replay waits as the first request would: still running, 202.
    waited = submit(s["id"], key, wait=1)
    assert waited.status == 202 and replayed(waited) == "true", waited
    assert waited.json["id"] == eid and waited.json["status"] == "running"

    # A replay that waits while the run ends: 200 with the final state.
    answer = {}
    t = threading.Thread(target=lambda: answer.update(r=submit(s["id"], key, wait=60, timeout=120)))
    t.start()
    wait_for(lambda: waiting_workers() >= 1, timeout=30, what="the replay to wait")
    open_gate()
    t.join(120)
    r = answer["r"]
    assert r.status == 200 and replayed(r) == "true", r
    assert r.json["id"] == eid and r.json["status"] == "succeeded" and r.json["stdout"] == "released\n"

    # Once final: 200 at once, with or without a wait.
    for wait in (None, 0, 30):
        r = submit(s["id"], key, wait=wait)
        assert r.status == 200 and replayed(r) == "true", r
        assert r.json["id"] == eid and r.json["status"] == "succeeded", r.json
    assert executions_of(s["id"]) == 1


def test_the_first_answer_carries_no_replay_header(appender):
    s, _ = appender
    r = submit(s["id"], unique("plain"), wait=30)
    assert r.status == 200 and r.json["status"] == "succeeded", r
    assert replayed(r) is None
    r = submit(s["id"], None)
    assert r.status == 202 and replayed(r) is None


def test_the_same_key_with_another_body_or_script_is_409(appender, gate):
    s, _ = appender
    other, _open = gate
    key = unique("reuse")
    r = submit(s["id"], key, {"input": {"n": 1}})
    assert r.status == 202, r
    eid = r.json["id"]

    err = assert_error(submit(s["id"], key, {"input": {"n": 2}}), 409, "conflict", "Idempotency-Key")
    assert key in err["message"] and str(eid) in err["message"], err
    assert_error(submit(s["id"], key, {}), 409, "conflict", "Idempotency-Key")
    assert_error(submit(other["id"], key, {"input": {"n": 1}}), 409, "conflict", "Idempotency-Key")
    # By name is the same script: not a conflict.
    r = submit(s["name"], key, {"input": {"n": 1}})
    assert r.status in (200, 202) and replayed(r) == "true" and r.json["id"] == eid, r
    # The body is compared as JSON: member order and spacing do not count.
    r = call("POST", f"/api/v1/scripts/{s['id']}/executions", raw=b' { "input" : { "n" : 1 } } ',
             headers={"Idempotency-Key": key, "Content-Type": "application/json"})
    assert r.status in (200, 202) and replayed(r) == "true" and r.json["id"] == eid, r
    assert executions_of(s["id"]) == 1 and executions_of(other["id"]) == 0
    assert key_rows(key) == 1


def test_another_key_or_token_creates_another_execution(appender):
    s, log = appender
    body = {"input": {"n": 5}}
    a = submit(s["id"], unique("k"), body)
    b = submit(s["id"], unique("k"), body)
    assert a.status == b.status == 202 and a.json["id"] != b.json["id"]
    # Keys are the caller's own: another token's request with the same key
    # is a request of its own.
    key = unique("shared")
    mine = submit(s["id"], key, body)
    theirs = submit(s["id"], key, body, token=make_token("operator"))
    assert mine.status == theirs.status == 202, (mine, theirs)
    assert replayed(theirs) is None and theirs.json["id"] != mine.json["id"]
    assert key_rows(key) == 2
    ids = [a.json["id"], b.json["id"], mine.json["id"], theirs.json["id"]]
    for i in ids:
        assert wait_final(i, 60)["status"] == "succeeded"
    assert sorted(map(int, lines(log))) == sorted(ids)


def test_a_replay_comes_before_the_checks(appender):
    # The execution exists: a retry gets it, even when a new submission
    # would now be refused (the script disabled since).
    s, _ = appender
    key = unique("before")
    eid = submit(s["id"], key).json["id"]
    assert call("PATCH", f"/api/v1/admin/scripts/{s['id']}", {"enabled": False}).status == 200
    r = submit(s["id"], key)
    assert r.status in (200, 202) and replayed(r) == "true" and r.json["id"] == eid, r
    assert_error(submit(s["id"], unique("after")), 409, "conflict")


@pytest.mark.parametrize("key", ["k" * 256, "a\x01b", "", "tab\tin", "del\x7f", "caf\xe9"],
                         ids=["256-chars", "control", "empty", "tab", "del", "latin1"])
def test_an_invalid_key_is_422(appender, key):
    s, _ = appender
    err = assert_error(submit(s["id"], key), 422, "validation_failed", "Idempotency-Key")
    assert "printable ASCII" in err["message"], err
    assert executions_of(s["id"]) == 0


def test_the_longest_key_and_every_printable_character_are_accepted(appender):
    s, _ = appender
    longest = unique("long").ljust(255, "x")
    # A space inside (nginx trims them at the ends of a value).
    printable = unique("all") + " " + "".join(chr(c) for c in range(0x21, 0x7f))
    for key in (longest, printable):
        r = submit(s["id"], key)
        assert r.status == 202 and replayed(r) is None, r
        again = submit(s["id"], key)
        assert replayed(again) == "true" and again.json["id"] == r.json["id"], again
    assert executions_of(s["id"]) == 2
    assert key_rows(longest) == 1


def test_the_janitor_forgets_a_key_after_24_hours(appender):
    s, log = appender
    key = unique("old")
    first = submit(s["id"], key, wait=30)
    assert first.status == 200, first
    assert submit(s["id"], key).json["id"] == first.json["id"]
    # 24 h and a minute ago, as far as the database knows.
    sql("UPDATE idempotency_keys SET created_at = UTC_TIMESTAMP(3) - INTERVAL 1441 MINUTE "
        f"WHERE idempotency_key = '{key}'")
    wait_for(lambda: key_rows(key) == 0, timeout=30, interval=0.2, what="the janitor to forget the key")
    second = submit(s["id"], key, wait=30)
    assert second.status == 200 and replayed(second) is None, second
    assert second.json["id"] != first.json["id"]
    assert key_rows(key) == 1
    assert sorted(map(int, lines(log))) == sorted([first.json["id"], second.json["id"]])
    # A key not yet 24 h old stays.
    sql("UPDATE idempotency_keys SET created_at = UTC_TIMESTAMP(3) - INTERVAL 1439 MINUTE "
        f"WHERE idempotency_key = '{key}'")
    r = submit(s["id"], key)
    assert replayed(r) == "true" and r.json["id"] == second.json["id"], r
    assert key_rows(key) == 1
