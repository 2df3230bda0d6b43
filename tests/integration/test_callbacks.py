"""Completion callbacks (docs/api.md, "Completion callbacks"; issue 17):
an execution with a callback_url is POSTed, signed, to a real HTTP
receiver started by the test (receiver.py) when it ends, once; failed
attempts are retried with backoff; the outbox survives a restart of the
daemon; hosts outside callback_allow_hosts are refused with 422; and the
attacks of a receiver (redirects, hanging, trickling, flooding) cost the
sender one failed attempt and nothing else.

The stack's config (dev/lib.sh) has a callback secret, exported to the
tests as SCRIPTORCH_CALLBACK_SECRET, and allows every host: the tests of
callback_allow_hosts rewrite the config and reload (and put it back)."""
import json
import os
import re
import subprocess
import time

import pytest

import openapi_check
from conftest import (SCRIPT_ROOT, STATE, assert_error, call, children, shell_script, sql, stackctl,
                      unique, wait_for)
from receiver import Receiver, body_json, free_port, header, signature_ok

SECRET = os.environ.get("SCRIPTORCH_CALLBACK_SECRET", "")
CONF = os.path.join(STATE, "scriptorch.conf")
LOG = os.path.join(STATE, "scriptorchd.log")

pytestmark = pytest.mark.skipif(not SECRET, reason="the stack has no callback secret "
                                "(SCRIPTORCH_CALLBACK_SECRET): dev/test sets one")


@pytest.fixture
def receiver():
    made = []

    def make(*plan, port=0):
        r = Receiver(plan or ("200",), port=port)
        made.append(r)
        return r
    yield make
    for r in made:
        r.close()


def submit(script, callback_url=None, input_=None, wait=0, **extra):
    body = {"input": input_ or {}}
    if callback_url is not None:
        body["callback_url"] = callback_url
    body.update(extra)
    path = f"/api/v1/scripts/{script['id']}/executions" + (f"?wait={wait}" if wait else "")
    r = call("POST", path, body, timeout=wait + 60)
    assert r.status in (200, 202), r
    return r.json


def get(exec_id):
    r = call("GET", f"/api/v1/executions/{exec_id}")
    assert r.status == 200, r
    return r.json


def deliveries(exec_id, token=None):
    kw = {"token": token} if token else {}
    r = call("GET", f"/api/v1/executions/{exec_id}/deliveries", **kw)
    assert r.status == 200, r
    return r.json["deliveries"]


def wait_final(exec_id, timeout=60):
    return wait_for(lambda: (lambda e: e if e["status"] not in ("queued", "running") else None)(get(exec_id)),
                    timeout=timeout, what=f"execution {exec_id} to end")


def wait_delivery(exec_id, pred, timeout=60, what="the delivery"):
    return wait_for(lambda: (lambda ds: ds[0] if ds and pred(ds[0]) else None)(deliveries(exec_id)),
                    timeout=timeout, interval=0.1, what=what)


def quick_script(**fields):
    return shell_script("""
        #!/bin/sh
        echo "hello $INPUT_WHO"
        echo "to stderr" >&2
        """, **fields)


# ---- delivered once, signed, with the final execution ----------------------

def test_delivered_once_signed_with_the_final_execution(receiver, viewer):
    rcv = receiver("200")
    s = quick_script()
    x = submit(s, rcv.url("/hooks/run?x=1"), {"who": "studio"})
    assert x["callback_url"] == rcv.url("/hooks/run?x=1"), x
    req = rcv.wait_requests(1)[0]
    final = wait_final(x["id"])

    # The request: path, headers, a valid signature over the body.
    assert req["path"] == "/hooks/run?x=1"
    assert header(req, "Content-Type") == "application/json"
    assert header(req, "X-Scriptorch-Event") == "execution.finished"
    assert abs(int(header(req, "X-Scriptorch-Timestamp")) - time.time()) < 120
    assert signature_ok(req, SECRET), req["headers"]
    # A body changed by one byte, or another secret, does not verify.
    forged = dict(req, body=req["body"].replace(b"hello", b"jello"))
    assert not signature_ok(forged, SECRET)
    assert not signature_ok(req, SECRET + "x")

    # The body is the final execution as the API shows it, as the
    # description's webhook says.
    body = body_json(req)
    assert body == final, (body, final)
    assert openapi_check.spec().schema_errors({"$ref": "#/components/schemas/Execution"}, body) == []
    hook = openapi_check.spec().doc["webhooks"]["executionFinished"]["post"]
    for p in hook["parameters"]:
        assert openapi_check.spec().schema_errors(p["schema"], header(req, p["name"])) == [], p
    assert body["status"] == "succeeded" and body["stdout"] == "hello studio\n"
    assert body["callback_url"] == rcv.url("/hooks/run?x=1")

    # The delivery, as a viewer reads it.
    d = wait_delivery(x["id"], lambda d: d["status"] == "delivered")
    assert str(d["id"]) == header(req, "X-Scriptorch-Delivery")
    ds = deliveries(x["id"], token=viewer)
    assert len(ds) == 1, ds
    d = ds[0]
    assert d["execution_id"] == x["id"] and d["url"] == rcv.url("/hooks/run?x=1")
    assert d["attempts"] == 1 and d["last_status_code"] == 200 and d["last_error"] is None, d
    assert d["delivered_at"] is not None and d["next_attempt_at"] is None, d
    assert d["created_at"] <= d["delivered_at"], d

    # Once: nothing more comes (a poll or two of the sender later).
    time.sleep(2)
    assert len(rcv.requests) == 1, rcv.requests
    # And it is counted.
    text = call("GET", "/api/v1/metrics", token=viewer).body.decode()
    assert re.search(r'^scriptorch_callback_attempts_total\{outcome="delivered"\} [1-9]', text, re.M), text
    assert re.search(r"^scriptorch_callback_latency_seconds_count [1-9]", text, re.M)
    assert "scriptorch_callback_deliveries_failed_total " in text


def test_no_callback_url_no_delivery(receiver):
    s = quick_script()
    x = submit(s, wait=30)
    assert x["callback_url"] is None
    assert deliveries(x["id"]) == []
    assert_error(call("GET", "/api/v1/executions/999999999/deliveries"), 404, "not_found")


def test_500_twice_then_200_is_three_attempts(receiver):
    rcv = receiver("500", "500", "200")
    s = quick_script()
    x = submit(s, rcv.url())
    # After the first failure: pending, with what the receiver said and
    # when the next attempt comes.
    d = wait_delivery(x["id"], lambda d: d["attempts"] >= 1 and d["last_status_code"] == 500)
    if d["status"] == "pending" and d["attempts"] == 1:
        assert d["next_attempt_at"] is not None and d["delivered_at"] is None, d
        assert "500" in d["last_error"], d
    reqs = rcv.wait_requests(3, timeout=60)
    d = wait_delivery(x["id"], lambda d: d["status"] == "delivered")
    assert d["attempts"] == 3 and d["last_status_code"] == 200, d
    assert d["next_attempt_at"] is None and d["delivered_at"] is not None, d
    # The same delivery each time, each signed; backoff about 1 s then 2 s.
    assert len({header(r, "X-Scriptorch-Delivery") for r in reqs}) == 1
    assert all(signature_ok(r, SECRET) for r in reqs)
    assert reqs[1]["mono"] - reqs[0]["mono"] >= 0.9, reqs
    assert reqs[2]["mono"] - reqs[1]["mono"] >= 1.9, reqs
    time.sleep(1.5)
    assert len(rcv.requests) == 3


def test_script_default_callback_url_and_null_opt_out(receiver):
    rcv = receiver("200")
    s = quick_script(callback_url=rcv.url("/default"))
    assert s["callback_url"] == rcv.url("/default")
    x = submit(s)
    assert x["callback_url"] == rcv.url("/default")
    assert rcv.wait_requests(1)[0]["path"] == "/default"
    # Given in the submission, it wins; null asks for none.
    other = receiver("200")
    y = submit(s, other.url("/mine"))
    assert other.wait_requests(1)[0]["path"] == "/mine"
    r = call("POST", f"/api/v1/scripts/{s['id']}/executions?wait=30",
             {"input": {}, "callback_url": None}, timeout=60)
    assert r.status == 200 and r.json["callback_url"] is None, r
    assert deliveries(r.json["id"]) == []
    assert len(rcv.requests) == 1 and y["callback_url"] == other.url("/mine")


def by_execution(reqs):
    """Requests by the execution id in their body."""
    out = {}
    for r in reqs:
        out.setdefault(body_json(r)["id"], []).append(r)
    return out


# ---- every way an execution ends owes its delivery -------------------------

def test_every_final_status_gets_its_delivery(receiver):
    """No final status without its delivery, whichever path ends the run:
    a runner's result (succeeded, failed, timed_out), an error record, a
    cancel of a queued and of a running execution, the janitor's lost
    sweep, and a script's deletion canceling its queue."""
    rcv = receiver("200")
    url = rcv.url("/all")
    want = {}

    ok = quick_script()
    want[submit(ok, url)["id"]] = "succeeded"
    failing = shell_script("#!/bin/sh\nexit 3\n")
    want[submit(failing, url)["id"]] = "failed"
    slow = shell_script("#!/bin/sh\nsleep 30\n", timeout_s=1)
    want[submit(slow, url)["id"]] = "timed_out"
    gone = shell_script("#!/bin/sh\necho never\n")
    os.unlink(gone["path"])
    want[submit(gone, url)["id"]] = "error"

    # One at a time: the second waits queued behind the first.
    single = shell_script("#!/bin/sh\nsleep 30\n", max_concurrency=1)
    running = submit(single, url)
    wait_for(lambda: get(running["id"])["status"] == "running", timeout=20, what="the run to start")
    queued = submit(single, url)
    assert get(queued["id"])["status"] == "queued"
    assert call("POST", f"/api/v1/executions/{queued['id']}/cancel").status == 200
    want[queued["id"]] = "canceled"
    assert call("POST", f"/api/v1/executions/{running['id']}/cancel").status == 200
    want[running["id"]] = "canceled"

    # Queued behind a run when its script is deleted.
    doomed = shell_script("#!/bin/sh\nsleep 30\n", max_concurrency=1)
    blocker = submit(doomed, url)
    wait_for(lambda: get(blocker["id"])["status"] == "running", timeout=20, what="the run to start")
    victim = submit(doomed, url)
    assert call("DELETE", f"/api/v1/admin/scripts/{doomed['id']}").status == 204
    want[victim["id"]] = "canceled"
    assert call("POST", f"/api/v1/executions/{blocker['id']}/cancel").status == 200
    want[blocker["id"]] = "canceled"

    # A run whose runner died: a row running for a pid that is gone, with a
    # heartbeat long past, as a runner killed mid-run leaves it.
    sql("INSERT INTO executions (script_id, script_name, `trigger`, status, input, queued_at, node, "
        f"runner_pid, heartbeat_at, callback_url) VALUES ({ok['id']}, '{ok['name']}', 'api', 'running', "
        f"'{{}}', UTC_TIMESTAMP(3), 'elsewhere', 999999, UTC_TIMESTAMP(3) - INTERVAL 1 HOUR, '{url}')")
    lost = int(sql(f"SELECT MAX(id) FROM executions WHERE script_id = {ok['id']}"))
    want[lost] = "lost"

    reqs = rcv.wait_requests(len(want), timeout=90)
    got = by_execution(reqs)
    assert set(got) == set(want), (sorted(got), sorted(want))
    for eid, status in want.items():
        assert len(got[eid]) == 1, (eid, got[eid])
        body = body_json(got[eid][0])
        assert body["status"] == status, (eid, body)
        assert signature_ok(got[eid][0], SECRET)
        assert get(eid)["status"] == status
        d = wait_delivery(eid, lambda d: d["status"] == "delivered")
        assert d["attempts"] == 1, d
    # The database agrees: one delivery per execution, none without one.
    ids = ",".join(str(i) for i in want)
    rows = sql(f"SELECT execution_id, COUNT(*) FROM deliveries WHERE execution_id IN ({ids}) "
               "GROUP BY execution_id").splitlines()
    assert sorted(int(r.split()[0]) for r in rows) == sorted(want) and all(r.split()[1] == "1" for r in rows)


def test_a_final_status_is_never_written_without_its_delivery():
    """The delivery is the final UPDATE's own doing (the trigger of
    sql/013_callbacks.sql): an UPDATE to a final status that cannot write
    its delivery is refused whole, and the execution stays running."""
    s = quick_script()
    sql("INSERT INTO executions (script_id, script_name, `trigger`, status, input, queued_at, node, "
        f"runner_pid, heartbeat_at, callback_url) VALUES ({s['id']}, '{s['name']}', 'api', 'running', "
        "'{}', UTC_TIMESTAMP(3), 'elsewhere', 999998, UTC_TIMESTAMP(3) + INTERVAL 1 HOUR, "
        "'http://127.0.0.1:9/x')")
    eid = int(sql(f"SELECT MAX(id) FROM executions WHERE script_id = {s['id']}"))
    # An outbox that cannot take the row (a NOT NULL column the trigger
    # does not fill, in strict mode): the trigger's INSERT fails, and so
    # does the UPDATE that would have ended the run. (Its heartbeat is in
    # the future: the janitor leaves it alone meanwhile.)
    with pytest.raises(subprocess.CalledProcessError):
        sql("SET SESSION sql_mode = 'STRICT_ALL_TABLES'; "
            "ALTER TABLE deliveries ADD COLUMN probe INT NOT NULL; "
            f"UPDATE executions SET status = 'failed', finished_at = UTC_TIMESTAMP(3) WHERE id = {eid}")
    try:
        assert get(eid)["status"] == "running"
        assert deliveries(eid) == []
    finally:
        sql("ALTER TABLE deliveries DROP COLUMN probe")
        sql(f"UPDATE executions SET callback_url = NULL, status = 'canceled', "
            f"finished_at = UTC_TIMESTAMP(3) WHERE id = {eid}")


# ---- durable: a receiver down across a restart of the daemon ---------------

def test_receiver_down_while_the_daemon_restarts_still_gets_it(receiver):
    port = free_port()
    url = f"http://127.0.0.1:{port}/late"
    s = quick_script()
    x = submit(s, url, {"who": "later"})
    # Nobody listens: the first attempt fails and the delivery waits.
    d = wait_delivery(x["id"], lambda d: d["attempts"] >= 1 and d["last_error"], timeout=30)
    assert d["status"] == "pending" and d["last_status_code"] is None, d
    stackctl("stop-daemon")
    try:
        assert sql(f"SELECT status FROM deliveries WHERE execution_id = {x['id']}") == "pending"
        rcv = receiver("200", port=port)
    finally:
        stackctl("start-daemon")
        wait_for(lambda: call("GET", "/api/v1/health", token=None).status == 200, timeout=30,
                 what="the daemon to come back")
    req = rcv.wait_requests(1, timeout=90)[0]
    assert signature_ok(req, SECRET)
    body = body_json(req)
    assert body["id"] == x["id"] and body["stdout"] == "hello later\n"
    d = wait_delivery(x["id"], lambda d: d["status"] == "delivered")
    assert d["attempts"] >= 2 and d["last_status_code"] == 200, d
    time.sleep(1)
    assert len(rcv.requests) == 1


# ---- attacks of a receiver ---------------------------------------------------

def test_redirect_is_not_followed(receiver):
    target = receiver("200")
    rcv = receiver(f"redirect:{target.url('/stolen')}", "200")
    s = quick_script()
    x = submit(s, rcv.url("/moved"))
    d = wait_delivery(x["id"], lambda d: d["attempts"] >= 1 and d["last_status_code"] == 302)
    assert "redirect" in d["last_error"], d
    rcv.wait_requests(2, timeout=30)
    d = wait_delivery(x["id"], lambda d: d["status"] == "delivered")
    assert d["attempts"] == 2, d
    assert target.requests == [], "the redirect was followed"


def test_a_hanging_receiver_is_a_failed_attempt_and_holds_up_no_other(receiver):
    hang = receiver("hang:25", "200")
    fast = receiver("200")
    s = quick_script()
    slow_x = submit(s, hang.url("/slow"))
    first = hang.wait_requests(1, timeout=30)[0]
    fast_x = submit(s, fast.url("/fast"))
    got = fast.wait_requests(1, timeout=30)[0]
    # Delivered while the hanging attempt is still in progress.
    assert got["mono"] < first["mono"] + 10, (got["mono"] - first["mono"])
    assert wait_delivery(fast_x["id"], lambda d: d["status"] == "delivered")["attempts"] == 1
    # The hanging attempt ends after 10 s as a failure, and the next one
    # (answered at once) delivers.
    d = wait_delivery(slow_x["id"], lambda d: d["attempts"] >= 1 and d["last_error"], timeout=40)
    assert "within 10 s" in d["last_error"], d
    hang.wait_requests(2, timeout=40)
    d = wait_delivery(slow_x["id"], lambda d: d["status"] == "delivered", timeout=30)
    assert d["attempts"] == 2, d


def test_a_trickling_receiver_is_cut_off_after_10_s(receiver):
    """A slow-loris answer: a status line, then a header byte a second."""
    rcv = receiver("trickle:30", "200")
    s = quick_script()
    x = submit(s, rcv.url("/loris"))
    start = rcv.wait_requests(1, timeout=30)[0]["mono"]
    d = wait_delivery(x["id"], lambda d: d["attempts"] >= 1 and d["last_error"], timeout=40)
    assert d["status"] == "pending" and "within 10 s" in d["last_error"], d
    assert time.monotonic() - start < 25, "the attempt was not cut off"
    d = wait_delivery(x["id"], lambda d: d["status"] == "delivered", timeout=40)
    assert d["attempts"] == 2, d


def test_a_flood_of_an_answer_is_not_read(receiver):
    """2xx with 200 MiB of body: delivered, the rest never read; another
    status with it: a failed attempt. The sender lives on."""
    before = children("sto-sender")
    assert len(before) == 1, before
    ok_flood = receiver("flood:200:200")
    bad_flood = receiver("flood:500:200", "200")
    s = quick_script()
    a = submit(s, ok_flood.url("/big"))
    b = submit(s, bad_flood.url("/big"))
    d = wait_delivery(a["id"], lambda d: d["status"] == "delivered", timeout=40)
    assert d["attempts"] == 1 and d["last_status_code"] == 200, d
    d = wait_delivery(b["id"], lambda d: d["status"] == "delivered", timeout=40)
    assert d["attempts"] == 2, d
    assert children("sto-sender") == before, "the sender was replaced"
    # It stopped reading long before 200 MiB.
    rss = int(re.search(r"VmHWM:\s+(\d+)", open(f"/proc/{before[0]}/status").read()).group(1))
    assert rss < 200 * 1024, rss


def test_secrets_are_masked_in_the_body(receiver):
    rcv = receiver("200")
    key = "sek-" + unique("env")
    word = "pw-" + unique("in")
    s = shell_script("""
        #!/bin/sh
        echo "env=$API_KEY input=$INPUT_PASSWORD"
        echo "err $API_KEY" >&2
        """, secret_env={"API_KEY": key},
        inputs={"type": "object", "properties": {"password": {"type": "string", "secret": True}}})
    x = submit(s, rcv.url("/secret"), {"password": word})
    req = rcv.wait_requests(1)[0]
    assert key.encode() not in req["body"] and word.encode() not in req["body"], req["body"]
    body = body_json(req)
    assert body["stdout"] == "env=*** input=***\n" and body["stderr"] == "err ***\n", body
    assert body["input"] == {"password": "***"}, body
    assert body == wait_final(x["id"])


def test_a_waited_answer_is_the_stored_row_with_its_callback_and_secrets(receiver):
    """What a caller who waited gets (?wait=, /test) is what GET shows
    afterwards, byte for byte, with the URL the run's delivery goes to and
    its secrets masked: the runner reads the recorded row back as GET
    reads it."""
    rcv = receiver("200")
    key = "sek-" + unique("answer")
    word = "pw-" + unique("answer")
    s = shell_script("""
        #!/bin/sh
        echo "env=$API_KEY input=$INPUT_PASSWORD"
        echo "err $API_KEY" >&2
        exit 4
        """, secret_env={"API_KEY": key},
        inputs={"type": "object", "properties": {"password": {"type": "string", "secret": True}}})
    for how, path in (("wait", f"/api/v1/scripts/{s['id']}/executions?wait=30"),
                      ("test", f"/api/v1/admin/scripts/{s['id']}/test")):
        url = rcv.url("/answer-" + how)
        r = call("POST", path, {"input": {"password": word}, "callback_url": url}, timeout=60)
        assert r.status == 200, r
        e = r.json
        assert e["status"] == "failed" and e["exit_code"] == 4, e
        assert e["callback_url"] == url and e["input"] == {"password": "***"}, e
        assert e["stdout"] == "env=*** input=***\n" and e["stderr"] == "err ***\n", e
        assert key.encode() not in r.body and word.encode() not in r.body
        stored = call("GET", f"/api/v1/executions/{e['id']}")
        assert stored.body == r.body, (how, stored.body, r.body)
        # The delivery it made carries the same execution.
        wait_delivery(e["id"], lambda d: d["status"] == "delivered")
        assert [body_json(q) for q in rcv.requests if q["path"] == "/answer-" + how] == [e]


def test_stdout_is_cut_to_its_last_64_kib(receiver):
    rcv = receiver("200")
    # 200 KiB of numbered lines, then a last line; é (2 bytes) everywhere,
    # so the cut falls inside a character unless it is moved.
    s = shell_script("""
        #!/bin/sh
        i=0
        while [ $i -lt 4000 ]; do echo "line $i é é é é é é é é é é é é é é é é é é"; i=$((i+1)); done
        echo THE-END
        """)
    x = submit(s, rcv.url("/tail"))
    body = body_json(rcv.wait_requests(1, timeout=60)[0])
    full = call("GET", f"/api/v1/executions/{x['id']}/stdout").body
    assert len(full) > 64 * 1024
    out = body["stdout"].encode()
    assert body["stdout_truncated"] is True
    assert 64 * 1024 - 3 <= len(out) <= 64 * 1024 and out.endswith(b"THE-END\n")
    assert full.endswith(out), "not the tail of the stored stdout"
    assert "\ufffd" not in body["stdout"], "a character cut in two"
    assert body["stderr"] == "" and body["stderr_truncated"] is False


# ---- several senders on one database ----------------------------------------

BUILD = os.environ.get("SCRIPTORCH_BUILD", "")
HELPER = os.path.join(BUILD, "tests", "helper", "test-deliveries")
TEST_DB = "scriptorch_claims"


@pytest.fixture(scope="module")
def claims_db():
    """A database of its own with the schema (no sender of the stack looks
    at it), and a config for it: the stack's, with another name."""
    sql(f"DROP DATABASE IF EXISTS {TEST_DB}; CREATE DATABASE {TEST_DB} CHARACTER SET utf8mb4; "
        f"GRANT ALL ON {TEST_DB}.* TO 'scriptorch'@'localhost'")
    conf = os.path.join(STATE, "claims.conf")
    text = re.sub(r"(?m)^name = scriptorch$", f"name = {TEST_DB}", open(CONF).read())
    fd = os.open(conf, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(text)
    repo = os.environ.get("SCRIPTORCH_REPO", os.path.dirname(os.path.dirname(os.path.dirname(__file__))))
    subprocess.run([os.path.join(BUILD, "src", "scriptorchd"), "-c", conf, "migrate", "--dir",
                    os.path.join(repo, "sql")], check=True, capture_output=True)
    yield conf
    sql(f"DROP DATABASE IF EXISTS {TEST_DB}")


def claims_sql(statement):
    return sql(f"USE {TEST_DB}; {statement}")


def add_due(n):
    """n due deliveries (of executions that do not exist: only the claim is
    tested), in one statement."""
    claims_sql("INSERT INTO deliveries (execution_id, url, created_at, next_attempt_at) "
               "SELECT seq, 'http://127.0.0.1:9/x', UTC_TIMESTAMP(3), UTC_TIMESTAMP(3) "
               f"FROM seq_1_to_{n}")


def helper(conf, *args, timeout=120):
    p = subprocess.run([HELPER, conf, *map(str, args)], capture_output=True, text=True, timeout=timeout)
    assert p.returncode == 0, (p.returncode, p.stdout[-2000:], p.stderr[-2000:])
    return p.stdout.splitlines()


def test_racing_senders_claim_each_delivery_once(claims_db):
    """Eight processes, each with its own connection, claim 600 due
    deliveries at once, 1 to 16 at a time: each is claimed by exactly one
    of them, once, and each record under its claim's token is taken."""
    claims_sql("DELETE FROM deliveries")
    add_due(600)
    claimed, recorded = {}, {}
    for procs, batch in ((8, 1), (8, 16)):
        if batch == 16:
            claims_sql("DELETE FROM deliveries")
            add_due(600)
            claimed, recorded = {}, {}
        for line in helper(claims_db, "race", procs, batch):
            words = line.split()
            if words[0] == "claimed":
                claimed.setdefault(int(words[2]), []).append((int(words[1]), int(words[3])))
            elif words[0] == "recorded":
                recorded.setdefault(int(words[1]), []).append(words[2])
        assert len(claimed) == 600, len(claimed)
        twice = {k: v for k, v in claimed.items() if len(v) != 1}
        assert not twice, f"claimed more than once: {list(twice.items())[:5]}"
        assert all(v[0][1] == 1 for v in claimed.values()), "an attempt counted twice"
        assert all(v == ["1"] for v in recorded.values()) and len(recorded) == 600
        assert len({v[0][0] for v in claimed.values()}) > 1, "one process took everything"
        assert claims_sql("SELECT COUNT(*) FROM deliveries WHERE status = 'delivered' AND attempts = 1 "
                          "AND claim_token IS NULL AND delivered_at IS NOT NULL") == "600"


def test_a_claimed_row_is_not_claimed_again_and_a_stale_record_is_refused(claims_db):
    claims_sql("DELETE FROM deliveries")
    add_due(3)
    first = [l.split() for l in helper(claims_db, "once", 16) if l.startswith("claimed")]
    assert len(first) == 3
    # Claimed (leased): a second sender finds nothing due.
    assert [l for l in helper(claims_db, "once", 16) if l.startswith("claimed")] == []
    did, token = first[0][1], first[0][2]
    # A record under another token (a sender whose lease ran out) is refused.
    assert helper(claims_db, "record", did, int(token) + 1, "delivered") == ["recorded 0"]
    assert claims_sql(f"SELECT status FROM deliveries WHERE id = {did}") == "pending"
    # The lease ends: the row is due again and claimed by the next sender,
    # and the first sender's late record is refused too.
    claims_sql(f"UPDATE deliveries SET next_attempt_at = UTC_TIMESTAMP(3) WHERE id = {did}")
    again = [l.split() for l in helper(claims_db, "once", 16) if l.startswith("claimed")]
    assert [a[1] for a in again] == [did]
    assert helper(claims_db, "record", did, token, "delivered") == ["recorded 0"]
    assert helper(claims_db, "record", did, again[0][2], "delivered") == ["recorded 1"]
    assert claims_sql(f"SELECT status, attempts FROM deliveries WHERE id = {did}").split() == ["delivered", "2"]


def test_a_locked_row_is_skipped_not_waited_for(claims_db):
    """A row another sender's claim transaction holds is passed over (SKIP
    LOCKED): the claim takes the others at once instead of waiting."""
    from test_executions import SqlSession
    claims_sql("DELETE FROM deliveries")
    add_due(4)
    ids = claims_sql("SELECT id FROM deliveries ORDER BY id").split()
    with SqlSession(f"USE {TEST_DB}; START TRANSACTION; "
                    f"SELECT id INTO @x FROM deliveries WHERE id = {ids[0]} FOR UPDATE;", "ROLLBACK;"):
        out = helper(claims_db, "once", 16, timeout=60)
    got = [l.split()[1] for l in out if l.startswith("claimed")]
    took = float([l.split()[1] for l in out if l.startswith("took")][0])
    assert sorted(got) == sorted(ids[1:]), (got, ids)
    assert took < 10000, took     # innodb_lock_wait_timeout is 50 s
    got = [l.split()[1] for l in helper(claims_db, "once", 16) if l.startswith("claimed")]
    assert got == [ids[0]]


def test_two_daemons_deliver_each_callback_once(receiver):
    """A second node (a scriptorchd of its own on the same database: its
    own sender, no runners) and the stack's node deliver the callbacks of
    many executions together: each is received once, in one attempt."""
    conf = os.path.join(STATE, "node-b.conf")
    log = os.path.join(STATE, "node-b.log")
    text = open(CONF).read()
    text = re.sub(r"(?m)^listen = .*$", f"listen = {STATE}/fcgi-b.sock", text)
    text = re.sub(r"(?m)^api_workers = .*$", "api_workers = 1", text)
    text = re.sub(r"(?m)^runner_workers = .*$", "runner_workers = 0", text)
    text = re.sub(r"(?m)^poll_interval_ms = .*$", "", text)
    text = text.replace("[daemon]\n", "[daemon]\nnode_name = node-b\n", 1)
    text = text.replace("[runner]\n", "[runner]\npoll_interval_ms = 20\n", 1)
    fd = os.open(conf, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(text)
    with open(log, "ab") as out:
        node_b = subprocess.Popen([os.path.join(BUILD, "src", "scriptorchd"), "-c", conf],
                                  stdout=out, stderr=subprocess.STDOUT)
    try:
        wait_for(lambda: "callback sender ready" in open(log).read(), timeout=30,
                 what="node-b's sender")
        rcv = receiver("delay:0.3:200")
        s = quick_script()
        xs = [submit(s, rcv.url("/many"), {"who": str(i)})["id"] for i in range(60)]
        reqs = rcv.wait_requests(60, timeout=120)
        time.sleep(2)
        reqs = rcv.requests
        ids = [header(r, "X-Scriptorch-Delivery") for r in reqs]
        assert len(reqs) == 60 and len(set(ids)) == 60, (len(reqs), len(set(ids)))
        assert sorted(body_json(r)["id"] for r in reqs) == sorted(xs)
        assert all(signature_ok(r, SECRET) for r in reqs)
        for eid in xs:
            d = deliveries(eid)
            assert len(d) == 1 and d[0]["status"] == "delivered" and d[0]["attempts"] == 1, d
        by_b = len(re.findall(r"sender: delivery \d+ .*: delivered", open(log).read()))
        assert by_b > 0, "node-b's sender delivered none: the race did not happen"
        assert by_b < 60, "the stack's sender delivered none"
    finally:
        node_b.terminate()
        node_b.wait(30)


def test_the_receiver_guide_checks_a_real_callback(receiver, tmp_path):
    """docs/callbacks.md's Python function and shell script, run as they
    are written there, accept a real callback and refuse an altered one."""
    repo = os.environ.get("SCRIPTORCH_REPO", os.path.dirname(os.path.dirname(os.path.dirname(__file__))))
    guide = open(os.path.join(repo, "docs", "callbacks.md")).read()
    py = re.search(r"```python\n(.*?)```", guide, re.S).group(1)
    sh = re.search(r"```sh\n(.*?)```", guide, re.S).group(1)
    rcv = receiver("200")
    submit(quick_script(), rcv.url("/guide"), {"who": "guide"})
    req = rcv.wait_requests(1)[0]
    headers = {k: v for k, v in req["headers"].items()}
    headers.update({"X-Scriptorch-Timestamp": header(req, "X-Scriptorch-Timestamp"),
                    "X-Scriptorch-Signature": header(req, "X-Scriptorch-Signature")})

    os.environ["SCRIPTORCH_CALLBACK_SECRET"] = SECRET
    scope = {}
    exec(compile(py, "docs/callbacks.md (python)", "exec"), scope)
    assert scope["verify"](headers, req["body"]) is True
    assert scope["verify"](headers, req["body"] + b" ") is False
    assert scope["verify"](dict(headers, **{"X-Scriptorch-Timestamp": "1"}), req["body"]) is False

    script = tmp_path / "verify-callback.sh"
    script.write_text(sh)
    body = tmp_path / "body"
    body.write_bytes(req["body"])
    args = ["sh", str(script), SECRET, header(req, "X-Scriptorch-Timestamp"),
            header(req, "X-Scriptorch-Signature"), str(body)]
    p = subprocess.run(args, capture_output=True, text=True)
    assert p.returncode == 0 and p.stdout.strip() == "valid", (p.stdout, p.stderr)
    body.write_bytes(req["body"].replace(b"guide", b"gu1de"))
    p = subprocess.run(args, capture_output=True, text=True)
    assert p.returncode == 1 and p.stdout.strip() == "INVALID", (p.stdout, p.stderr)



# ---- callback_allow_hosts (last: its fixture changes the config until the
# module ends) ------------------------------------------------------------

def all_children():
    out = {}
    for line in stackctl("children").splitlines():
        pid, name = line.split(None, 1)
        out[int(pid)] = name
    return out


def reload_with(text):
    """Writes the config and reloads; waits until no child of the old
    generation is left and a new sender runs."""
    import signal
    old = set(all_children())
    with open(LOG, "rb") as f:
        f.seek(0, 2)
        offset = f.tell()
    with open(CONF, "w") as f:
        f.write(text)
    os.kill(int(stackctl("daemon-pid")), signal.SIGHUP)

    def since():
        with open(LOG, "rb") as f:
            f.seek(offset)
            return f.read().decode("utf-8", "replace")
    wait_for(lambda: "configuration reloaded" in since(), timeout=20, what="the reload")
    wait_for(lambda: (lambda now: not set(now) & old and "sto-sender" in now.values()
                      and list(now.values()).count("sto-api") >= 1)(all_children()),
             timeout=60, what="the old generation to be replaced")


POLL_MS = 8000


@pytest.fixture(scope="module")
def allow_list():
    """The config with callback_allow_hosts: one receiver's port on
    127.0.0.1 (started here, for the module) and a wildcard domain; and a
    long poll_interval_ms (the sender's retries must not wait for it)."""
    rcv = Receiver(("200",))
    original = open(CONF).read()
    allow = f"127.0.0.1:{rcv.port}, *.hooks.test"
    text = re.sub(r"(?m)^callback_allow_hosts =.*$", f"callback_allow_hosts = {allow}", original)
    text = text.replace("[runner]\n", f"[runner]\npoll_interval_ms = {POLL_MS}\n", 1)
    assert text != original and f"poll_interval_ms = {POLL_MS}" in text
    reload_with(text)
    try:
        yield rcv
    finally:
        reload_with(original)
        rcv.close()


ATTACKS = [
    # What an operator might aim at on the daemon's own host: MariaDB, the
    # API's nginx, an admin port, on the allowed address but another port.
    "http://127.0.0.1:3306/",
    "http://127.0.0.1:80/",
    "http://localhost:{port}/",                 # the same host by another name
    "http://127.0.0.2:{port}/",
    "http://[::1]:{port}/",
    "http://2130706433:3306/",                  # 127.0.0.1 as one number
    "http://0x7f.0.0.1:3306/",                  # ... in hex
    "http://127.1:3306/",
    "http://127.0.0.1:{port}@127.0.0.1:3306/",  # the host is after the @
    "http://127.0.0.1:3306#@127.0.0.1:{port}/",
    "http://hooks.test/",                       # the wildcard's domain itself
    "http://evilhooks.test/",
    "https://a.hooks.test.evil.example/",
    "ftp://a.hooks.test/",
    "file:///etc/scriptorch/scriptorch.conf",
    "gopher://127.0.0.1:{port}/",
    "dict://127.0.0.1:{port}/",
    "http://user:pw@a.hooks.test/",
    "//a.hooks.test/x",
    "http://a.hooks.test/\nX-Injected: 1",
]


def test_a_disallowed_host_is_422(allow_list):
    rcv = allow_list
    s = quick_script()
    for bad in ATTACKS:
        url = bad.format(port=rcv.port)
        r = call("POST", f"/api/v1/scripts/{s['id']}/executions", {"input": {}, "callback_url": url})
        assert_error(r, 422, "validation_failed", "callback_url")
    r = call("POST", f"/api/v1/scripts/{s['id']}/executions", {"input": {}, "callback_url": 7})
    assert_error(r, 422, "validation_failed", "callback_url")
    # Not as a script's default either (registration, update).
    r = call("PATCH", f"/api/v1/admin/scripts/{s['id']}", {"callback_url": "http://127.0.0.1:3306/"})
    assert_error(r, 422, "validation_failed", "callback_url")
    path = os.path.join(SCRIPT_ROOT, unique("cb") + ".sh")
    with open(path, "w") as f:
        f.write("#!/bin/sh\ntrue\n")
    os.chmod(path, 0o755)
    r = call("POST", "/api/v1/admin/scripts", {"name": unique("cb"), "type": "shell", "path": path,
                                               "callback_url": "http://127.0.0.1:80/"})
    assert_error(r, 422, "validation_failed", "callback_url")
    # Nothing was queued by any of them.
    assert call("GET", f"/api/v1/executions?script_id={s['id']}").json["executions"] == []
    # The allowed ones pass: the receiver's port, a name under the wildcard.
    x = submit(s, rcv.url("/ok"))
    assert rcv.wait_requests(1)[0]["path"] == "/ok"
    assert wait_delivery(x["id"], lambda d: d["status"] == "delivered")
    r = call("PATCH", f"/api/v1/admin/scripts/{s['id']}", {"callback_url": "https://A.Hooks.Test/x"})
    assert r.status == 200 and r.json["callback_url"] == "https://A.Hooks.Test/x", r


def test_a_default_url_disallowed_later_is_never_attempted(allow_list):
    """The sender checks the URL again before every attempt against its own
    config: a script default accepted before callback_allow_hosts was set
    (here written into the row as an older config would have) fails its
    delivery without a request."""
    trap = Receiver(("200",))
    try:
        s = quick_script()
        sql(f"UPDATE scripts SET callback_url = '{trap.url('/trap')}' WHERE id = {s['id']}")
        call("PATCH", f"/api/v1/admin/scripts/{s['id']}", {"description": "touched"})
        x = submit(s)
        assert x["callback_url"] == trap.url("/trap")
        d = wait_delivery(x["id"], lambda d: d["status"] == "failed", timeout=30)
        assert "callback_allow_hosts" in d["last_error"], d
        time.sleep(1)
        assert trap.requests == []
    finally:
        trap.close()


def test_a_recorded_end_rings_the_sender_at_once(allow_list):
    """The runner's record tells whether it made a delivery due, and the
    runner then wakes the sender: with poll_interval_ms at 8 s, each
    callback comes within seconds of its run's end, whether a caller
    waited for the run (its final row read back) or not (only whether a
    callback is owed). Three runs each, one after the other: a poll that
    happens to fall just after one end cannot carry them all."""
    rcv = allow_list
    rcv.plan = ["200"]
    s = quick_script()
    for wait in (30, 0):
        for i in range(3):
            rcv.requests.clear()
            x = submit(s, rcv.url(f"/bell-{wait}-{i}"), wait=wait)
            final = x if wait else wait_final(x["id"])
            assert final["status"] == "succeeded", final
            ended = time.monotonic()
            req = rcv.wait_requests(1, timeout=POLL_MS / 1000 + 30)[0]
            assert req["path"] == f"/bell-{wait}-{i}", req
            assert req["mono"] - ended < 3, (wait, i, req["mono"] - ended)


def test_a_retry_does_not_wait_for_the_poll(allow_list):
    """With poll_interval_ms at 8 s, a failed attempt is still tried again
    after its backoff (1 s), not at the next poll: the sender wakes for the
    soonest due delivery."""
    rcv = allow_list
    rcv.plan = ["500", "200"]
    rcv.requests.clear()
    s = quick_script()
    x = submit(s, rcv.url("/retry"))
    reqs = rcv.wait_requests(2, timeout=60)
    gap = reqs[1]["mono"] - reqs[0]["mono"]
    assert 0.9 <= gap < POLL_MS / 1000 - 2, gap
    d = wait_delivery(x["id"], lambda d: d["status"] == "delivered")
    assert d["attempts"] == 2, d
