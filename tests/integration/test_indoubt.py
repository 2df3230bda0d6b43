"""Statements in doubt: their effect committed, their answer never came back.

A node of its own (dev/node on a database of its own, one runner,
heartbeat_timeout_s HB) reaches MariaDB through tests/integration/
faultproxy.py, which cuts its connection to the database right after it
forwarded a chosen statement and the server answered it: the server ran
(and, for a COMMIT or a statement alone, committed) what the daemon never
hears about, as when a server or the network dies at that moment.

For each statement of an execution's life that can be in doubt (the
runner's claim, the submission's INSERT and COMMIT, the final record, an
Idempotency-Key's INSERT and COMMIT; and the runner's reads of a row
reserved for it and of a claimed run's script, which only it would run) the contract is checked
(check_contract): a submission makes at most one execution and it runs at
most once (each run appends a line to a file the test reads), every
execution reaches a final status within BOUND, derived from HB; the API
answered success or 503 (never a 500, never a hang); a run that ran has
its whole record (stdout, exit code). docs/architecture.md, "Statements
in doubt", says what happens to each.
"""
import json
import os
import shutil
import subprocess
import textwrap
import time
import urllib.error
import urllib.request

import pytest

import openapi_check
from conftest import REPO, SCRIPT_ROOT, STATE, Resp, shared_dir, sql, unique, wait_for
from faultproxy import FaultProxy

BUILD = os.environ.get("SCRIPTORCH_BUILD", "")
NAME = "indoubt"
DB = "scriptorch_indoubt"
# The node's heartbeat_timeout_s (heartbeat_interval_s is 1).
HB = 3
# Every execution is final this long after a cut: a row nobody runs waits
# HB for the lost sweep (every heartbeat interval), a claim in doubt is
# settled within HB / 2; the rest is room for a loaded machine.
BOUND = 4 * HB + 15
# The statements cut (their text as src/store_*.c and src/db.c send it).
CLAIM_UPDATE = r"^UPDATE executions SET status = 'running'"
INSERT_EXECUTION = r"^INSERT INTO executions "
INSERT_KEY = r"^INSERT INTO idempotency_keys "
FINAL_RECORD = r"^UPDATE executions SET status = \?, script_version"
COMMIT = r"^COMMIT$"


class Node:
    def __init__(self, url, token, proxy, runs_dir):
        self.url = url
        self.token = token
        self.proxy = proxy
        self.runs_dir = runs_dir

    def call(self, method, path, body=None, headers=None, timeout=60):
        """One request to the node; never raises for an HTTP error (a
        hang does: no answer within `timeout`)."""
        hdrs = dict(headers or {})
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            hdrs["Content-Type"] = "application/json"
        hdrs["Authorization"] = "Bearer " + self.token
        req = urllib.request.Request(self.url + path, data=data, method=method, headers=hdrs)
        try:
            with urllib.request.urlopen(req, timeout=timeout) as r:
                resp = Resp(r.status, r.headers, r.read())
        except urllib.error.HTTPError as e:
            resp = Resp(e.code, e.headers, e.read())
        openapi_check.record(method, path, resp)
        return resp


def dev_node(*args):
    env = dict(os.environ, SCRIPTORCH_STATE=STATE, SCRIPTORCH_BUILD=BUILD)
    r = subprocess.run([os.path.join(REPO, "dev", "node"), *args], env=env,
                       capture_output=True, text=True, timeout=180)
    assert r.returncode == 0, f"dev/node {' '.join(args)}: {r.stderr}"
    return r.stdout.strip().splitlines()[-1] if r.stdout.strip() else ""


@pytest.fixture(scope="module")
def node():
    sql(f"DROP DATABASE IF EXISTS {DB}; CREATE DATABASE {DB} CHARACTER SET utf8mb4; "
        f"GRANT ALL ON {DB}.* TO 'scriptorch'@'localhost'")
    proxy = FaultProxy("unix:" + os.path.join(STATE, "mysql.sock"),
                       os.path.join(STATE, "faultproxy.log"))
    try:
        url = dev_node("up", NAME, "--runners", "1", "--db", f"127.0.0.1:{proxy.port}",
                       "--db-name", DB, "--heartbeat-timeout", str(HB))
        conf = os.path.join(STATE, "nodes", NAME, "scriptorch.conf")
        token = subprocess.run([os.path.join(BUILD, "src", "scriptorchd"), "-c", conf, "token", "create",
                                "--name", "indoubt-admin", "--role", "admin"],
                               check=True, capture_output=True, text=True).stdout.strip().split()[-1]
        n = Node(url, token, proxy, shared_dir("sto-indoubt-"))
        assert n.call("GET", "/api/v1/health").status == 200
        yield n
    finally:
        subprocess.run([os.path.join(REPO, "dev", "node"), "down", NAME],
                       env=dict(os.environ, SCRIPTORCH_STATE=STATE, SCRIPTORCH_BUILD=BUILD),
                       capture_output=True, timeout=180)
        proxy.stop()
        sql(f"DROP DATABASE IF EXISTS {DB}")


@pytest.fixture(autouse=True)
def disarmed(node):
    """No rule outlives its test."""
    yield
    node.proxy.disarm()


def register(node, body, **fields):
    path = os.path.join(SCRIPT_ROOT, unique("indoubt") + ".sh")
    with open(path, "w") as f:
        f.write(textwrap.dedent(body).lstrip())
    os.chmod(path, 0o755)
    req = {"name": unique("d"), "type": "shell", "path": path}
    req.update(fields)
    r = node.call("POST", "/api/v1/admin/scripts", req)
    assert r.status == 201, r
    return r.json


def recorder(node, **fields):
    """A script whose every run appends "<tag> <execution id>" to the
    node's runs file and prints "done <tag>"."""
    runs = os.path.join(node.runs_dir, "runs")
    return register(node, f"""
        #!/bin/sh
        echo "$INPUT_TAG $SCRIPTORCH_EXECUTION_ID" >> {runs}
        echo "done $INPUT_TAG"
        """, **fields)


def runs_of(node, tag):
    """The execution ids of the runs that carried `tag`, one per run."""
    try:
        with open(os.path.join(node.runs_dir, "runs")) as f:
            return [int(line.split()[1]) for line in f if line.split()[0] == tag]
    except FileNotFoundError:
        return []


def submit(node, script, tag, wait=None, key=None, pad=0):
    """A submission carrying `tag` (and `pad` bytes more: an input past
    what a runner's mailbox carries, MAILBOX_INPUT_MAX, 4 KiB)."""
    inp = {"tag": tag}
    if pad:
        inp["pad"] = "x" * pad
    q = f"?wait={wait}" if wait else ""
    return node.call("POST", f"/api/v1/scripts/{script['id']}/executions{q}", {"input": inp},
                     headers={"Idempotency-Key": key} if key else None)


class Blocker:
    """A run that holds the node's only runner until released."""

    def __init__(self, node):
        d = shared_dir("sto-indoubt-gate-")
        self.door = os.path.join(d, "open")
        self.started = os.path.join(d, "started")
        self.dir = d
        self.node = node
        self.script = register(node, f"""
            #!/bin/sh
            touch {self.started}
            i=0
            while [ ! -e {self.door} ]; do
                i=$((i + 1)); [ $i -gt 1200 ] && exit 3
                sleep 0.05
            done
            """)

    def start(self):
        r = self.node.call("POST", f"/api/v1/scripts/{self.script['id']}/executions", {"input": {}})
        assert r.status == 202, r
        self.id = r.json["id"]
        # Its child started, and its row is running (claimed): the runner
        # is busy, and its claim is no longer in flight.
        wait_for(lambda: os.path.exists(self.started), timeout=30, what="the blocker to start")
        wait_for(lambda: self.node.call("GET", f"/api/v1/executions/{self.id}").json["status"] == "running",
                 timeout=30, what="the blocker's row to be running")

    def release(self):
        open(self.door, "w").close()
        wait_for(lambda: self.node.call("GET", f"/api/v1/executions/{self.id}").json["status"] == "succeeded",
                 timeout=30, what="the blocker to end")
        shutil.rmtree(self.dir, ignore_errors=True)


def executions_of(node, script):
    r = node.call("GET", f"/api/v1/executions?script_id={script['id']}&limit=100")
    assert r.status == 200, r
    return r.json["executions"]


def fired(node, rule):
    """Waits until the proxy made its cut."""
    return wait_for(lambda: node.proxy.fired(rule), timeout=30, what=f"rule {rule} to cut a connection")


def check_contract(node, script, tag, answers, since):
    """The contract after a cut made at `since` (time.monotonic()) in
    one submission (`answers`: its answer, and its retries' with the same
    Idempotency-Key): every answer success or 503, every execution of
    `script` final within BOUND, at most one execution made and run, each
    run recorded whole (succeeded, exit code 0, its stdout), none
    recorded as succeeded that did not run. Returns (executions by id,
    ids of those that ran)."""
    for a in answers:
        assert a.status in (200, 202, 503), a

    def all_final():
        xs = executions_of(node, script)
        return ("final", xs) if all(x["status"] not in ("queued", "running") for x in xs) else None
    left = BOUND - (time.monotonic() - since)
    _, xs = wait_for(all_final, timeout=max(left, 1), interval=0.2,
                     what=f"every execution of {script['name']} to be final")
    byid = {x["id"]: x for x in xs}
    assert len(byid) <= 1, f"one submission made {len(byid)} executions: {list(byid)}"
    ran = runs_of(node, tag)
    assert len(ran) <= 1, f"one submission ran {len(ran)} times: executions {ran}"
    assert set(ran) <= set(byid), (ran, list(byid))
    for i in byid:
        x = node.call("GET", f"/api/v1/executions/{i}").json
        if i in ran:
            assert x["status"] == "succeeded", x
            assert x["exit_code"] == 0, x
            assert x["stdout"] == f"done {tag}\n", x
        else:
            assert x["status"] != "succeeded", x
        byid[i] = x
    return byid, set(ran)


def answered_id(resp):
    assert resp.status in (200, 202), resp
    return resp.json["id"]


def runner_pids():
    """The pids of the node's runners (children of its master)."""
    with open(os.path.join(STATE, "nodes", NAME, "scriptorchd.pid")) as f:
        master = f.read().strip()
    pids = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        comm = stat[stat.index("(") + 1:stat.rindex(")")]
        if comm == "sto-runner" and stat[stat.rindex(")") + 2:].split()[1] == master:
            pids.append(int(d))
    return pids


def wait_runner_idle():
    """Waits until the node's runner sleeps on its mailbox's bell (a
    futex) in most of a few looks: idle, so that a submission finds it
    reservable. It may still be finishing the last test's run (a record
    is visible before its runner is done with the run) or dropping a
    run that was never committed. Only likely, not certain (its poll's
    scan makes it busy a moment): a test that needs an idle runner also
    looks at the path its submission took (tries)."""
    def idle():
        pids = runner_pids()
        seen = 0
        for _ in range(5):
            for p in pids:
                try:
                    with open(f"/proc/{p}/wchan") as f:
                        seen += "futex" in f.read()
                except OSError:
                    pass
            time.sleep(0.02)
        return pids and seen >= 4 * len(pids)
    wait_for(idle, timeout=30, what="the node's runner to be idle")


def tries(node, attempt, n=4):
    """Runs attempt() until it reports that its submission took the path
    the test is about (True); one that went another way (False: the
    runner was busy after all) was checked against the contract by
    attempt() itself, and another is made, with a fresh script, tag and
    rule."""
    for _ in range(n):
        node.proxy.disarm()
        wait_runner_idle()
        if attempt():
            return
    pytest.fail(f"no submission of {n} took the path under test")


# ---- (a) the runner's claim ----------------------------------------------

@pytest.mark.parametrize("delay", [0, 1], ids=["committed", "committing"])
def test_a_scan_claim_whose_commit_is_in_doubt_runs_once(node, delay):
    """A script with max_concurrency is claimed by a queue scan: its
    transaction's COMMIT is cut, after the server answered it, or before
    it reached the server (which gets it a second later, while the runner
    asks). The runner asks the row on a fresh connection (claim_settle),
    with a read that waits for a commit under way, finds it its own and
    runs it."""
    s = recorder(node, max_concurrency=1)
    tag = unique("scan")
    rule = node.proxy.arm("scan claim commit", "query", COMMIT, in_tx_with=CLAIM_UPDATE,
                          delay_s=delay)
    r = submit(node, s, tag)
    t0 = time.monotonic()
    assert r.status == 202, r
    fired(node, rule)
    xs, ran = check_contract(node, s, tag, [r], t0)
    assert list(xs) == [r.json["id"]] and ran == {r.json["id"]}


def test_a_hand_off_claim_in_doubt_runs_once(node):
    """With the runner busy, a submission goes to a hand-off slot; the
    runner claims it by id (an UPDATE alone, sent before the run is
    prepared), and that UPDATE's answer is lost."""
    s = recorder(node)
    tag = unique("handoff")
    b = Blocker(node)
    b.start()
    r = submit(node, s, tag)
    assert r.status == 202, r
    assert r.json["node"] is None, r.json      # not reserved: handed off
    rule = node.proxy.arm("hand-off claim", "execute", CLAIM_UPDATE)
    b.release()
    fired(node, rule)
    xs, ran = check_contract(node, s, tag, [r], time.monotonic())
    assert list(xs) == [r.json["id"]] and ran == {r.json["id"]}


def test_a_lost_answer_to_the_script_read_of_a_scanned_run_is_asked_again(node):
    """Not a write in doubt: the runner that claimed a queued execution
    by a scan reads its script, and the answer is lost. The row runs for
    this runner and for no other, so the read is asked again on a fresh
    connection (within the claim's settle time) and the run goes on."""
    s = recorder(node, max_concurrency=1)
    tag = unique("scan-script")
    b = Blocker(node)
    b.start()
    r = submit(node, s, tag)
    assert r.status == 202, r
    # Queued while the runner is busy: a scan takes it once it is free.
    # The read of the whole script row (registry_load; the claim's
    # "SELECT max_concurrency FROM scripts" is not it).
    rule = node.proxy.arm("script read", "execute", r"^SELECT id, name, type, .* FROM scripts WHERE id = \?$")
    b.release()
    t0 = time.monotonic()
    fired(node, rule)
    xs, ran = check_contract(node, s, tag, [r], t0)
    assert list(xs) == [r.json["id"]] and ran == {r.json["id"]}, xs


def reserved_attempt(node, name, match):
    """An async submission with an input too big for the mailbox (the
    row commits before the runner hears of it), for the idle runner
    (the answer names the node it is reserved for), whose runner's first
    `match` statement is cut: it runs once."""
    def attempt():
        s = recorder(node)
        tag = unique("reserved")
        rule = node.proxy.arm(name, "execute", match)
        r = submit(node, s, tag, pad=5000)
        t0 = time.monotonic()
        assert r.status == 202, r
        if r.json["node"] != NAME:
            check_contract(node, s, tag, [r], t0)
            return False
        fired(node, rule)
        xs, ran = check_contract(node, s, tag, [r], t0)
        assert list(xs) == [r.json["id"]] and ran == {r.json["id"]}
        return True
    return attempt


def test_a_reserved_claim_in_doubt_runs_once(node):
    """The runner reserved for an async submission marks the row running
    after the start (an UPDATE alone): its answer is lost."""
    tries(node, reserved_attempt(node, "claim after the start", CLAIM_UPDATE))


def test_a_lost_answer_to_the_read_of_a_reserved_execution_is_asked_again(node):
    """Not a write in doubt, but a statement whose answer is lost all the
    same, where nothing else would run the execution: the runner reserved
    for an async submission reads the row (its input was too big for the
    mailbox) before anything else. No scan takes a reserved row, so the
    read is asked again on a fresh connection."""
    tries(node, reserved_attempt(node, "read of a reserved row", r"^SELECT e\.id, e\.script_id, e\.input"))


# ---- (b) the submission ----------------------------------------------------

def check_submission(node, script, tag, r, since):
    """The contract of one submission: answered 200/202 with the
    execution, which is the script's only one and runs exactly once, or
    503 with no execution made at all (the script has none) and nothing
    run. Returns the answer's execution id, or None after a 503."""
    xs, ran = check_contract(node, script, tag, [r], since)
    if r.status == 503:
        assert executions_of(node, script) == [] and not xs and not ran, (xs, ran)
        return None
    assert list(xs) == [r.json["id"]] and ran == {r.json["id"]}, (r.json, xs, ran)
    return r.json["id"]


@pytest.mark.parametrize("forward", [True, False], ids=["answer-lost", "never-sent"])
@pytest.mark.parametrize("wait", [10, None], ids=["waited", "async"])
def test_an_insert_alone_in_doubt_for_a_reserved_runner_is_settled(node, wait, forward):
    """The INSERT alone (autocommit: an input too big for the mailbox)
    of a row reserved for the idle runner: its answer is lost (the row
    committed), or it never reaches the server. The API worker looks the
    row up by the submission's nonce on a fresh connection (settle):
    there, the runner gets it as if the INSERT had answered, and the
    answer is the execution, which runs once; not there, 503 and nothing
    exists."""
    def attempt():
        s = recorder(node)
        tag = unique("insert-reserved")
        rule = node.proxy.arm("insert alone", "execute", INSERT_EXECUTION, payload_has=tag,
                              forward=forward)
        r = submit(node, s, tag, wait=wait, pad=5000)
        t0 = time.monotonic()
        fired(node, rule)
        xid = check_submission(node, s, tag, r, t0)
        if not forward:
            assert r.status == 503, r
            # The runner reserved for it was let go: it serves the next.
            again = submit(node, s, unique("after"), wait=20)
            assert again.status == 200 and again.json["status"] == "succeeded", again
            return True
        assert r.status == (200 if wait else 202), r
        if wait:
            assert r.json["status"] == "succeeded" and r.json["stdout"] == f"done {tag}\n", r.json
        assert xid == r.json["id"]
        # Async: reserved for the idle runner (the answer names its
        # node), which only this answer reaches (no scan takes a reserved
        # row); else a scan ran it. Waited: either way.
        return bool(wait) or r.json["node"] == NAME
    tries(node, attempt)


@pytest.mark.parametrize("forward", [True, False], ids=["answer-lost", "never-sent"])
def test_an_insert_alone_in_doubt_of_a_queued_row_is_settled(node, forward):
    """The INSERT alone of a row no runner is reserved for (the runner is
    busy): its answer is lost (the row committed), or it never reaches the
    server. Found by its nonce, the answer is the execution, queued, and
    it runs once; not found, 503 and nothing exists."""
    s = recorder(node)
    tag = unique("insert-queued")
    b = Blocker(node)
    b.start()
    rule = node.proxy.arm("insert alone", "execute", INSERT_EXECUTION, payload_has=tag,
                          forward=forward)
    r = submit(node, s, tag)
    t0 = time.monotonic()
    fired(node, rule)
    b.release()
    check_submission(node, s, tag, r, t0)
    if forward:
        assert r.status == 202, r
        assert r.json["status"] == "queued" and r.json["node"] is None, r.json
    else:
        assert r.status == 503, r


@pytest.mark.parametrize("forward", [True, False], ids=["answer-lost", "never-sent"])
@pytest.mark.parametrize("wait", [10, None], ids=["waited", "async"])
def test_an_early_commit_in_doubt_is_settled(node, wait, forward):
    """An idle runner gets the execution before its row's commit (the
    early path: START TRANSACTION, INSERT, COMMIT, then the word to the
    runner, which has prepared the run meanwhile); the COMMIT's answer is
    lost, or the COMMIT never reaches the server. The API worker reads
    the row on a fresh connection (commit_settle): committed, the runner
    is told to go on, and the submission is answered as if nothing
    happened; not, the runner starts nothing and the answer is 503, with
    nothing done."""
    def attempt():
        s = recorder(node)
        tag = unique("early")
        rule = node.proxy.arm("early commit", "query", COMMIT, in_tx_with=INSERT_EXECUTION,
                              forward=forward)
        r = submit(node, s, tag, wait=wait)
        t0 = time.monotonic()
        # The early path's COMMIT comes before the answer, or never.
        cut = node.proxy.fired(rule) is not None
        xs, ran = check_contract(node, s, tag, [r], t0)
        if not cut:
            return False
        if not forward:
            assert r.status == 503, r
            assert not xs and not ran, (xs, ran)
            return True
        assert r.status == (200 if wait else 202), r
        assert list(xs) == [r.json["id"]] and ran == {r.json["id"]}
        if wait:
            assert r.json["status"] == "succeeded" and r.json["stdout"] == f"done {tag}\n", r.json
        return True
    tries(node, attempt)


# ---- (c) the final record --------------------------------------------------

@pytest.mark.parametrize("forward", [True, False], ids=["answer-lost", "never-sent"])
def test_a_final_record_in_doubt_is_kept(node, forward):
    """The runner's final record (the UPDATE of store_execution_finish) of a run a
    caller waits for: its answer is lost (the record committed), or the
    call never reaches the server (nothing committed). Either way the
    record is there once, whole, and the caller gets it."""
    s = recorder(node)
    tag = unique("final")
    rule = node.proxy.arm("final record", "execute", FINAL_RECORD, payload_has=f"done {tag}",
                          forward=forward)
    r = submit(node, s, tag, wait=20)
    t0 = time.monotonic()
    fired(node, rule)
    xs, ran = check_contract(node, s, tag, [r], t0)
    assert r.status == 200, r
    assert r.json["status"] == "succeeded" and r.json["stdout"] == f"done {tag}\n", r.json
    assert list(xs) == [r.json["id"]] and ran == {r.json["id"]}


# ---- (d) an Idempotency-Key's transaction -----------------------------------

@pytest.mark.parametrize("forward", [True, False], ids=["answer-lost", "never-sent"])
def test_an_idempotent_commit_in_doubt_is_settled(node, forward):
    """A keyed submission's execution and key commit together (an idle
    runner reserved for it): the COMMIT's answer is lost, or the COMMIT
    never reaches the server. The API worker reads the row on a fresh
    connection: committed, it answers the execution; not, 503. Either
    way a retry with the key answers the one execution there is (the
    first, replayed; or a new one), and it runs once."""
    def attempt():
        s = recorder(node)
        tag = unique("idem-commit")
        key = unique("key")
        rule = node.proxy.arm("key commit", "query", COMMIT, in_tx_with=INSERT_KEY, forward=forward)
        r = submit(node, s, tag, key=key)
        t0 = time.monotonic()
        fired(node, rule)
        again = submit(node, s, tag, key=key)
        xs, ran = check_contract(node, s, tag, [r, again], t0)
        assert again.status in (200, 202), again
        # The execution the key answers runs.
        assert list(xs) == [again.json["id"]] and ran == {again.json["id"]}, (xs, ran)
        if forward:
            assert r.status == 202, r
            assert again.json["id"] == r.json["id"], again
            assert again.headers.get("Idempotent-Replayed") == "true", again.headers
            # Reserved for the idle runner, which only this answer
            # reaches: else a scan would have run it anyway.
            return r.json["node"] == NAME
        assert r.status == 503, r
        assert again.headers.get("Idempotent-Replayed") is None, again.headers
        return True
    tries(node, attempt)


def test_an_idempotent_insert_in_doubt_is_rolled_back(node):
    """The INSERT inside a keyed submission's transaction: its answer is
    lost, the server rolls the transaction back when the connection goes.
    503, nothing exists; the retry with the key creates the execution,
    which runs once."""
    s = recorder(node)
    tag = unique("idem-insert")
    key = unique("key")
    rule = node.proxy.arm("keyed insert", "execute", INSERT_EXECUTION, payload_has=tag)
    r = submit(node, s, tag, key=key)
    t0 = time.monotonic()
    fired(node, rule)
    assert r.status == 503, r
    assert executions_of(node, s) == []
    again = submit(node, s, tag, key=key)
    assert again.status == 202, again
    assert again.headers.get("Idempotent-Replayed") is None, again.headers
    xs, ran = check_contract(node, s, tag, [r, again], t0)
    assert list(xs) == [again.json["id"]] and ran == {again.json["id"]}
