"""What the admin UI asks of the node besides the registry (docs/api.md,
"Configuration" and "Venvs"): the configuration a form needs, the script
roots and whether the run user can reach them, and rebuilding a venv now,
without waiting for a run or the retry back-off."""
import os
import sys
import uuid

from conftest import REPO, SCRIPT_ROOT, assert_error, call, unique, wait_for

sys.path.insert(0, os.path.join(REPO, "tests", "venv"))
import mkwheel  # noqa: E402

WHEELHOUSE = os.environ.get("SCRIPTORCH_WHEELHOUSE", "")


def test_the_config_a_form_needs(viewer):
    r = call("GET", "/api/v1/admin/config", token=viewer)
    assert r.status == 200, r
    c = r.json
    roots = {x["path"]: x for x in c["script_roots"]}
    assert roots[SCRIPT_ROOT] == {"path": SCRIPT_ROOT, "usable": True, "problem": None}, roots
    assert c["max_timeout_s"] == 3600 and c["default_timeout_s"] == 300, c
    assert c["secrets"] is True and c["session_ttl_s"] == 43200, c
    assert c["run_user"] == os.environ.get("SCRIPTORCH_RUN_USER", "scriptorch-run"), c
    assert c["python"]["interpreter"] == "/usr/bin/python3" and c["python"]["allow_sdist"] is False, c
    # The defaults are what a script without limits of its own gets.
    path = os.path.join(SCRIPT_ROOT, unique("cfg") + ".sh")
    with open(path, "w") as f:
        f.write("#!/bin/sh\n")
    s = call("POST", "/api/v1/admin/scripts", {"name": unique("cfg"), "type": "shell", "path": path})
    assert s.status == 201, s
    assert s.json["effective_limits"] == c["limits"]["defaults"], (s.json, c)
    for k, v in c["limits"]["defaults"].items():
        assert v <= c["limits"]["maxima"][k], c["limits"]
    assert "password" not in r.body.decode() and "scriptorch-dev" not in r.body.decode()


def test_a_root_the_run_user_cannot_reach_says_why():
    """The first steps' trap (issue 20): a root under a 0700 directory."""
    from conftest import STATE, reload_daemon
    conf = os.path.join(STATE, "scriptorch.conf")
    original = open(conf).read()
    closed = os.path.join(STATE, unique("closed"))
    os.mkdir(closed, 0o700)
    inner = os.path.join(closed, "scripts")
    os.mkdir(inner, 0o755)
    line = next(ln for ln in original.splitlines() if ln.startswith("script_roots"))
    try:
        with open(conf, "w") as f:
            f.write(original.replace(line, f"{line}:{inner}"))
        reload_daemon()
        roots = {x["path"]: x for x in call("GET", "/api/v1/admin/config").json["script_roots"]}
        assert roots[SCRIPT_ROOT]["usable"] is True, roots
        bad = roots[inner]
        assert bad["usable"] is False, bad
        assert bad["problem"] == (f"directory {closed} is not searchable by the run user "
                                  f"{os.environ.get('SCRIPTORCH_RUN_USER', 'scriptorch-run')} (mode 0700)"), bad
    finally:
        with open(conf, "w") as f:
            f.write(original)
        reload_daemon()
        os.rmdir(inner)
        os.rmdir(closed)


def python_script(requirements, body="print('ok')\n"):
    path = os.path.join(SCRIPT_ROOT, unique("rb") + ".py")
    with open(path, "w") as f:
        f.write(body)
    r = call("POST", "/api/v1/admin/scripts", {"name": unique("rb"), "type": "python", "path": path,
                                               "requirements": requirements})
    assert r.status == 201, r
    return r.json


def run(script_id, wait=240):
    r = call("POST", f"/api/v1/scripts/{script_id}/executions?wait={wait}", {}, timeout=wait + 60)
    assert r.status == 200, r
    return r.json


def test_a_failed_venv_is_rebuilt_at_once(viewer):
    pkg = "rebuildme" + uuid.uuid4().hex[:8]
    s = python_script(f"{pkg}==1.0\n", f"import {pkg}\nprint({pkg}.X)\n")
    first = run(s["id"])
    assert first["status"] == "error" and pkg in first["error"], first
    venv = call("GET", f"/api/v1/admin/scripts/{s['id']}").json["venv"]
    assert venv["status"] == "failed", venv
    # Within the retry back-off a run is refused with the old failure...
    again = run(s["id"])
    assert again["status"] == "error" and "retried" in again["error"], again
    # ...but a rebuild builds now, and this time the wheel is there.
    mkwheel.make_wheel(WHEELHOUSE, pkg, "1.0", {pkg + ".py": "X = 'rebuilt'\n"})
    assert_error(call("POST", f"/api/v1/admin/venvs/{venv['id']}/rebuild", token=viewer), 403, "forbidden")
    r = call("POST", f"/api/v1/admin/venvs/{venv['id']}/rebuild", timeout=400)
    assert r.status == 200, r
    assert r.json["id"] == venv["id"] and r.json["status"] == "ready" and r.json["present"] is True, r.json
    assert r.json["error"] is None and isinstance(r.json["build_log"], str), r.json
    ok = run(s["id"])
    assert ok["status"] == "succeeded" and ok["stdout"] == "rebuilt\n", ok


def test_a_rebuild_that_fails_again_answers_the_failure():
    pkg = "nowheel" + uuid.uuid4().hex[:8]
    s = python_script(f"{pkg}\n")
    assert run(s["id"])["status"] == "error"
    vid = call("GET", f"/api/v1/admin/scripts/{s['id']}").json["venv"]["id"]
    before = call("GET", f"/api/v1/admin/venvs/{vid}").json["failed_at"]
    r = call("POST", f"/api/v1/admin/venvs/{vid}/rebuild", timeout=400)
    assert r.status == 200, r
    assert r.json["status"] == "failed" and pkg in r.json["error"], r.json
    assert pkg in r.json["build_log"], r.json
    assert r.json["failed_at"] > before, (before, r.json["failed_at"])


def test_a_venv_in_use_is_not_rebuilt():
    pkg = "inuse" + uuid.uuid4().hex[:8]
    mkwheel.make_wheel(WHEELHOUSE, pkg, "1.0", {pkg + ".py": "X = 1\n"})
    s = python_script(f"{pkg}\n", "import time\nprint('started', flush=True)\ntime.sleep(60)\n")
    long = call("POST", f"/api/v1/scripts/{s['id']}/executions", {})
    assert long.status == 202, long
    xid = long.json["id"]
    wait_for(lambda: "started" in call("GET", f"/api/v1/executions/{xid}").json["stdout"],
             timeout=240, what="the run to start in its venv")
    vid = call("GET", f"/api/v1/admin/scripts/{s['id']}").json["venv"]["id"]
    err = assert_error(call("POST", f"/api/v1/admin/venvs/{vid}/rebuild"), 409, "conflict")
    assert "in use" in err["message"], err
    assert call("POST", f"/api/v1/executions/{xid}/cancel").status == 200
    wait_for(lambda: call("GET", f"/api/v1/executions/{xid}").json["status"] == "canceled",
             timeout=30, what="the cancel")
    # Idle now: the rebuild goes through, and the venv is ready again.
    r = call("POST", f"/api/v1/admin/venvs/{vid}/rebuild", timeout=400)
    assert r.status == 200 and r.json["status"] == "ready" and r.json["present"] is True, r


def test_rebuild_of_no_venv():
    assert_error(call("POST", "/api/v1/admin/venvs/999999999/rebuild"), 404, "not_found")
    assert_error(call("GET", "/api/v1/admin/venvs/1/rebuild"), 405, "method_not_allowed")
