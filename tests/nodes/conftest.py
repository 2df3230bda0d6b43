"""Helpers of the nodes suite: several scriptorchd nodes on one database.

dev/test starts the stack (its scriptorchd is the first node, "the main
node", at SCRIPTORCH_URL) and exports what the integration tests get;
these tests start more nodes with dev/node (each a scriptorchd with an
nginx of its own, in a cgroup of its own) and stop or kill them. Every
answer is checked against docs/openapi.json, as in the integration suite.

A script of these tests leaves a side effect per run: it appends a line
to a file named after its execution id in a directory every run may
write (SIDEFX), so that "nothing ran twice" is checked by what the runs
did, not only by the database.
"""
import json
import os
import re
import shutil
import subprocess
import sys
import textwrap
import threading
import time
import urllib.error
import urllib.request
import uuid

import pytest

URL = os.environ.get("SCRIPTORCH_URL", "http://127.0.0.1:8080")
ADMIN = os.environ.get("SCRIPTORCH_TOKEN", "")
STATE = os.environ.get("SCRIPTORCH_STATE", "")
BUILD = os.environ.get("SCRIPTORCH_BUILD", "")
REPO = os.environ.get("SCRIPTORCH_REPO", os.path.dirname(os.path.dirname(os.path.dirname(__file__))))
SCRIPT_ROOT = os.environ.get("SCRIPTORCH_SCRIPT_ROOT", "")
# The stack's heartbeat (dev/lib.sh write_conf): interval 1 s, timeout 5 s.
HEARTBEAT_TIMEOUT = int(os.environ.get("SCRIPTORCH_HEARTBEAT_TIMEOUT", "5"))

sys.path.insert(0, os.path.join(REPO, "tests", "integration"))
import openapi_check  # noqa: E402


class Resp:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers
        self.body = body

    @property
    def json(self):
        return json.loads(self.body.decode("utf-8"))

    def __repr__(self):
        return f"<Resp {self.status} {self.body[:300]!r}>"


def call(method, path, body=None, url=URL, token=None, headers=None, timeout=60, check=True):
    """One HTTP request to a node (`url`); never raises for HTTP errors.
    `check`: the answer goes to the OpenAPI checker (a refused connection,
    which has no answer, raises)."""
    hdrs = dict(headers or {})
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        hdrs["Content-Type"] = "application/json"
    tok = ADMIN if token is None else token
    if tok:
        hdrs["Authorization"] = "Bearer " + tok
    req = urllib.request.Request(url + path, data=data, method=method, headers=hdrs)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            resp = Resp(r.status, r.headers, r.read())
    except urllib.error.HTTPError as e:
        resp = Resp(e.code, e.headers, e.read())
    if check:
        openapi_check.record(method, path, resp)
    return resp


@pytest.fixture(autouse=True)
def _answers_match_openapi():
    yield
    problems = openapi_check.take_problems()
    if problems:
        pytest.fail("answers that docs/openapi.json does not allow:\n  " + "\n  ".join(problems[:20]),
                    pytrace=False)


def wait_for(pred, timeout=30.0, interval=0.1, what="condition"):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = pred()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"timed out waiting for {what} (last: {last!r})")


def unique(prefix):
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def dev_node(*args, env=None):
    """Runs dev/node on the test stack; its stdout (the URL for `up`)."""
    e = dict(os.environ)
    e.update(env or {})
    r = subprocess.run([os.path.join(REPO, "dev", "node"), *args], env=e,
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, f"dev/node {' '.join(args)}: {r.stderr}"
    return r.stdout.strip().splitlines()[-1] if r.stdout.strip() else ""


def log_path(name):
    """The daemon log of node `name` (None: the main node)."""
    if name is None:
        return os.path.join(STATE, "scriptorchd.log")
    return os.path.join(STATE, "nodes", name, "scriptorchd.log")


def log_size(name):
    try:
        return os.path.getsize(log_path(name))
    except FileNotFoundError:
        return 0


def log_since(name, offset):
    with open(log_path(name), "rb") as f:
        f.seek(offset)
        return f.read().decode("utf-8", "replace")


class Nodes:
    """The nodes a test started; each is stopped (or its leftovers
    killed) when the test ends."""

    def __init__(self):
        self.started = []
        self.log_at = {None: log_size(None)}

    def up(self, name, *opts, env=None):
        self.log_at[name] = log_size(name)
        url = dev_node("up", name, *opts, env=env)
        assert url.startswith("http://"), url
        if name not in self.started:
            self.started.append(name)
        return url

    def down(self, name):
        dev_node("down", name)

    def kill(self, name):
        dev_node("kill", name)

    def wait_peers(self, names, with_main=True):
        """Waits until every node of `names` (and the main node) has
        counted all the others up: the janitor logs the count when it
        changes, and the runners watch the queue from then on."""
        everyone = list(names) + ([None] if with_main else [])
        want = len(everyone) - 1
        for n in everyone:
            offset = self.log_at[n]
            wait_for(lambda n=n, offset=offset: any(
                int(m) >= want for m in re.findall(r"(\d+) other nodes? up", log_since(n, offset))),
                timeout=30, what=f"node {n or 'main'} to count {want} other nodes up")

    def cleanup(self):
        for name in self.started:
            subprocess.run([os.path.join(REPO, "dev", "node"), "down", name],
                           capture_output=True, timeout=120)


@pytest.fixture
def nodes():
    n = Nodes()
    # A node left up by an earlier test would share its work.
    up = [x for x in call("GET", "/api/v1/nodes").json["nodes"] if x["status"] == "up"]
    assert len(up) == 1, f"other nodes still up: {up}"
    yield n
    n.cleanup()


@pytest.fixture
def sidefx():
    """The directory the runs of one test leave their side effects in
    (execution ids repeat across databases): outside /tmp and /var/tmp (a
    run's own are private to it), open to every run uid, removed at the
    end, with the parent that every dev/test run on the machine shares when
    it is left empty (rmdir removes only an empty one; one that another
    run removes between our two mkdirs is made again)."""
    base = "/var/lib/scriptorch-tests"
    d = os.path.join(base, unique("sidefx"))
    for _ in range(100):
        try:
            os.makedirs(d, mode=0o755)
            break
        except FileNotFoundError:
            continue
    else:
        raise RuntimeError(f"{d} could not be made: its parent keeps going away")
    os.chmod(d, 0o1777)
    yield d
    shutil.rmtree(d, ignore_errors=True)
    try:
        os.rmdir(base)
    except OSError:
        pass        # another run's directory is in it, or it is gone


def script(body, url=URL, token=None, **fields):
    """Writes `body` (dedented) under the script root and registers it as
    a shell script with `fields`; the script object."""
    path = os.path.join(SCRIPT_ROOT, unique("nodes") + ".sh")
    with open(path, "w") as f:
        f.write(textwrap.dedent(body).lstrip())
    os.chmod(path, 0o755)
    req = {"name": unique("n"), "type": "shell", "path": path}
    req.update(fields)
    r = call("POST", "/api/v1/admin/scripts", req, url=url, token=token)
    assert r.status == 201, r
    return r.json


def submit_many(url, script_id, n, threads=8, body=None, headers_for=None):
    """Submits `n` executions of `script_id` to `url` from `threads`
    threads; their ids, in no order."""
    ids, errors, lock = [], [], threading.Lock()

    def worker(k):
        for i in range(k, n, threads):
            h = headers_for(i) if headers_for else None
            r = call("POST", f"/api/v1/scripts/{script_id}/executions", body or {}, url=url, headers=h)
            with lock:
                if r.status == 202:
                    ids.append(r.json["id"])
                else:
                    errors.append(r)

    ts = [threading.Thread(target=worker, args=(k,)) for k in range(threads)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    assert not errors, errors[:3]
    return ids


def executions_of(script_id, url=URL):
    """Every execution of a script (list items), newest first."""
    out, cursor = [], None
    while True:
        q = f"/api/v1/executions?script_id={script_id}&limit=500"
        if cursor:
            q += f"&cursor={cursor}"
        page = call("GET", q, url=url).json
        out.extend(page["executions"])
        cursor = page["next_cursor"]
        if not cursor:
            return out


def wait_all_final(script_id, count, timeout=120, url=URL):
    def done():
        xs = executions_of(script_id, url=url)
        return xs if len(xs) == count and all(
            x["status"] not in ("queued", "running") for x in xs) else None
    return wait_for(done, timeout=timeout, interval=0.5,
                    what=f"{count} executions of script {script_id} to end")


def side_effects(sidefx, ids):
    """id -> the lines its run left."""
    out = {}
    for i in ids:
        p = os.path.join(sidefx, str(i))
        out[i] = open(p).read().splitlines() if os.path.exists(p) else []
    return out
