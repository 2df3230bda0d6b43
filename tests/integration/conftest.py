"""Shared helpers for the integration tests.

They talk HTTP to nginx in front of a real scriptorchd and a real MariaDB,
started by dev/test, which exports SCRIPTORCH_URL, SCRIPTORCH_TOKEN (admin),
SCRIPTORCH_SCRIPT_ROOT, SCRIPTORCH_STATE (the stack's state dir) and
SCRIPTORCH_BUILD (the build dir).
"""
import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
import textwrap
import time
import urllib.error
import urllib.request
import uuid

import pytest

URL = os.environ.get("SCRIPTORCH_URL", "http://127.0.0.1:8080")
ADMIN = os.environ.get("SCRIPTORCH_TOKEN", "")
STATE = os.environ.get("SCRIPTORCH_STATE", "")
REPO = os.environ.get("SCRIPTORCH_REPO", os.path.dirname(os.path.dirname(os.path.dirname(__file__))))
SCRIPT_ROOT = os.environ.get("SCRIPTORCH_SCRIPT_ROOT", "")

# Where a test and its runs share files (gates, marks, logs): not /tmp,
# /var/tmp or /dev/shm, which each run has private (isolation), nor the
# stack's state dir, which runs cannot reach. One directory per pytest
# process under a parent that the pytest processes of every dev/test run
# on the machine share: the first to need it makes it, and whichever
# leaves it empty removes it (shared_base_cleanup).
SHARED_PARENT = "/run/scriptorch-tests"
SHARED_BASE = os.path.join(SHARED_PARENT, str(os.getpid()))


def shared_base():
    """Makes SHARED_BASE (and its parent) if need be. Another process may
    remove the parent between the two mkdirs, when it was empty: then
    both are made again. Once SHARED_BASE is in it, no one removes it."""
    for _ in range(100):
        try:
            os.makedirs(SHARED_BASE, mode=0o755, exist_ok=True)
            os.chmod(SHARED_PARENT, 0o755)
            return SHARED_BASE
        except FileNotFoundError:
            continue
    raise RuntimeError(f"{SHARED_BASE} could not be made: its parent keeps going away")


def shared_base_remove():
    """Removes SHARED_BASE, then the parent if no other process has a
    directory in it: rmdir removes only an empty directory, so a parent
    another run is using stays, and one it is about to use is made again
    (shared_base)."""
    shutil.rmtree(SHARED_BASE, ignore_errors=True)
    try:
        os.rmdir(SHARED_PARENT)
    except OSError:
        pass        # not empty (another run's), or already gone


def shared_dir(prefix):
    """A fresh directory every run may read and write, and the test too."""
    d = tempfile.mkdtemp(prefix=prefix, dir=shared_base())
    os.chmod(d, 0o777)
    return d


def shared_file(name):
    """A path, in a fresh shared_dir, of an empty file any run may write."""
    path = os.path.join(shared_dir("sto-file-"), name)
    open(path, "w").close()
    os.chmod(path, 0o666)
    return path


@pytest.fixture(scope="session", autouse=True)
def shared_base_cleanup():
    yield
    shared_base_remove()


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


def call(method, path, body=None, token=ADMIN, raw=None, headers=None, timeout=60):
    """One HTTP request to the stack; never raises for HTTP errors."""
    data = raw
    hdrs = dict(headers or {})
    if body is not None:
        data = json.dumps(body).encode()
        hdrs["Content-Type"] = "application/json"
    if token:
        hdrs["Authorization"] = "Bearer " + token
    req = urllib.request.Request(URL + path, data=data, method=method, headers=hdrs)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return Resp(r.status, r.headers, r.read())
    except urllib.error.HTTPError as e:
        return Resp(e.code, e.headers, e.read())


def assert_error(resp, status, code, field=None):
    """Checks the contract's error shape: {"error": {code, message[, field]}}."""
    assert resp.status == status, resp
    assert resp.headers.get("X-Request-Id"), "every response carries X-Request-Id"
    body = resp.json
    assert set(body) == {"error"}, body
    err = body["error"]
    assert err["code"] == code, err
    assert isinstance(err["message"], str) and err["message"], err
    if field is not None:
        assert err.get("field") == field, err
    return err


def make_token(role, name=None):
    r = call("POST", "/api/v1/admin/tokens", {"name": name or f"t-{role}-{uuid.uuid4().hex[:6]}", "role": role})
    assert r.status == 201, r
    return r.json["token"]


def revoked_token(role="admin"):
    """A token of `role` that worked once and was revoked through the API."""
    r = call("POST", "/api/v1/admin/tokens", {"name": unique(f"revoked-{role}"), "role": role})
    assert r.status == 201, r
    assert call("GET", "/api/v1/executions?limit=1", token=r.json["token"]).status == 200
    assert call("DELETE", f"/api/v1/admin/tokens/{r.json['id']}").status == 204
    return r.json["token"]


@pytest.fixture(scope="session")
def viewer():
    return make_token("viewer")


@pytest.fixture(scope="session")
def operator():
    return make_token("operator")


def stackctl(*args):
    """Runs tests/integration/stackctl.sh (start/stop MariaDB, daemon pid...)."""
    return subprocess.run([os.path.join(REPO, "tests/integration/stackctl.sh"), *args],
                          check=True, capture_output=True, text=True).stdout.strip()


def sql(statement):
    """One statement in the stack's database; its rows, tab-separated."""
    return stackctl("sql", statement)


def children(kind):
    """The pids of the master's children of one kind (sto-api, sto-runner)."""
    return sorted(int(line.split()[0]) for line in stackctl("children").splitlines()
                  if line.split()[1] == kind)


def daemon_log_size():
    return os.path.getsize(os.path.join(STATE, "scriptorchd.log"))


def daemon_log_since(offset):
    with open(os.path.join(STATE, "scriptorchd.log"), "rb") as f:
        f.seek(offset)
        return f.read().decode("utf-8", "replace")


def reload_daemon():
    """SIGHUP to the master, then waits for the events that prove the new
    configuration is in force: the master's "configuration reloaded" line
    and a whole new generation of API workers (the old ones, which read
    the old configuration, gone)."""
    before = set(children("sto-api"))
    offset = daemon_log_size()
    os.kill(int(stackctl("daemon-pid")), signal.SIGHUP)
    wait_for(lambda: re.search(r"configuration reloaded \(generation \d+\)", daemon_log_since(offset)),
             timeout=20, what="the master to log the reload")
    wait_for(lambda: (lambda now: len(now) == len(before) and not (now & before))(set(children("sto-api"))),
             timeout=30, what="a new generation of API workers")


def wait_for(pred, timeout=20.0, interval=0.05, what="condition"):
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


def shell_script(body, token=ADMIN, **fields):
    """Writes `body` (dedented) as an executable script under the script
    root and registers it as a shell script with `fields` added; returns
    the registered script (its "path" is the file)."""
    path = os.path.join(SCRIPT_ROOT, unique("sh") + ".sh")
    with open(path, "w") as f:
        f.write(textwrap.dedent(body).lstrip())
    os.chmod(path, 0o755)
    req = {"name": unique("s"), "type": "shell", "path": path}
    req.update(fields)
    r = call("POST", "/api/v1/admin/scripts", req, token=token)
    assert r.status == 201, r
    return r.json


# ---- Every answer checked against docs/openapi.json (openapi_check.py) ----
# call() hands each response to the checker; a test whose requests got an
# answer the description does not allow fails when it ends, and answers
# received outside any test fail the session.
import openapi_check  # noqa: E402

_call_unchecked = call


def call(method, path, *args, **kwargs):  # noqa: F811
    resp = _call_unchecked(method, path, *args, **kwargs)
    openapi_check.record(method, path, resp)
    return resp


@pytest.fixture(autouse=True)
def _answers_match_openapi():
    yield
    problems = openapi_check.take_problems()
    if problems:
        pytest.fail("answers that docs/openapi.json does not allow:\n  " + "\n  ".join(problems[:20]),
                    pytrace=False)


def pytest_sessionfinish(session, exitstatus):
    left = openapi_check.take_problems()
    if left:
        openapi_check.outside_tests.extend(left)
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_terminal_summary(terminalreporter):
    tr = terminalreporter
    tr.write_line(f"{len(openapi_check.recorded)} answers checked against docs/openapi.json")
    for p in openapi_check.outside_tests[:20]:
        tr.write_line(f"outside any test, docs/openapi.json does not allow: {p}", red=True)
