"""Hostile input: bodies, query strings and script output that once crashed
or stalled the daemon. Each test is the attack, then the proof that the
daemon is still whole (no worker died, the next request answers)."""
import json
import os
import time

from conftest import assert_error, call, shell_script, stackctl, unique, wait_for


def children():
    """The master's children (pid and name), to see that none was replaced."""
    return set(stackctl("children").splitlines())


def deaths_in_log():
    return [line for line in stackctl("log").splitlines()
            if "killed by signal" in line or "exited with status" in line]


def test_deeply_nested_body_is_refused_and_no_worker_dies():
    before, deaths = children(), len(deaths_in_log())
    deep = b"[" * 524288 + b"]" * 524288
    for _ in range(4):   # a few in a row once kept the API down
        r = call("POST", "/api/v1/admin/scripts", raw=deep,
                 headers={"Content-Type": "application/json"})
        err = assert_error(r, 400, "bad_json")
        assert "nested" in err["message"], err
    assert call("GET", "/api/v1/health").status == 200
    assert children() == before, "a worker was replaced"
    assert len(deaths_in_log()) == deaths, deaths_in_log()[-3:]


def test_ninety_thousand_keys_do_not_take_a_worker():
    body = "{" + ",".join(f'"k{i}":0' for i in range(90000)) + "}"
    assert len(body) < 1024 * 1024
    t0 = time.monotonic()
    r = call("POST", "/api/v1/admin/scripts", raw=body.encode(),
             headers={"Content-Type": "application/json"})
    took = time.monotonic() - t0
    # Unknown fields are refused: what matters is that the answer comes
    # from a parse that is linear (the quadratic check took 41 s). The bound
    # is loose so that only that defect crosses it.
    assert r.status in (400, 422), r
    assert took < 10, f"{took:.1f} s for 90,000 keys"
    dup = body[:-1] + ',"k77777":1}'
    r = call("POST", "/api/v1/admin/scripts", raw=dup.encode(),
             headers={"Content-Type": "application/json"})
    err = assert_error(r, 400, "bad_json")
    assert "duplicate key" in err["message"] and "k77777" in err["message"], err


def test_json_comments_are_refused():
    r = call("POST", "/api/v1/admin/tokens",
             raw=b'{"name": "c", /* x */ "role": "viewer"}',
             headers={"Content-Type": "application/json"})
    assert_error(r, 400, "bad_json")


def test_invalid_utf8_in_query_and_path_is_4xx_not_500():
    r = call("GET", "/api/v1/executions?trigger=%ff")
    assert_error(r, 422, "validation_failed", field="trigger")
    r = call("GET", "/api/v1/executions?status=a%00b")
    assert_error(r, 422, "validation_failed", field="status")
    r = call("POST", "/api/v1/scripts/%ff/executions", {"input": {}})
    assert_error(r, 404, "not_found")
    # A valid multi-byte name is still just an unknown script.
    r = call("POST", "/api/v1/scripts/%C3%A9t%C3%A9/executions", {"input": {}})
    assert_error(r, 404, "not_found")


def test_lone_surrogate_escapes_are_refused_in_bodies_and_stdout():
    # Two keys that differ only in lone surrogate escapes (found by
    # fuzz-json) were accepted and stored as one key twice.
    body = b'{"input": {"k\\udd37": 1, "k\\udd38": 2}}'
    s = shell_script("""
        #!/bin/sh
        printf '{"k\\\\udd37": 1, "k\\\\udd38": 2}'
        """, outputs={"stdout": "json"})
    r = call("POST", f"/api/v1/scripts/{s['id']}/executions", raw=body,
             headers={"Content-Type": "application/json"})
    err = assert_error(r, 400, "bad_json")
    assert "surrogate" in err["message"], err
    r = call("POST", f"/api/v1/scripts/{s['id']}/executions?wait=60",
             {"input": {}}, timeout=90)
    assert r.status == 200, r
    e = r.json
    assert e["status"] == "succeeded" and e["output"] is None, e
    assert "surrogate" in (e["error"] or ""), e
    assert e["stdout"] == '{"k\\udd37": 1, "k\\udd38": 2}', e


def test_deep_json_on_stdout_does_not_kill_the_runner():
    s = shell_script("""
        #!/usr/bin/env python3
        import sys
        sys.stdout.write("[" * 400000 + "]" * 400000)
        """, outputs={"stdout": "json"})
    before, deaths = children(), len(deaths_in_log())
    r = call("POST", f"/api/v1/scripts/{s['id']}/executions?wait=60",
             {"input": {}}, timeout=90)
    assert r.status == 200, r
    e = r.json
    # The parse failure is reported in error without changing the status.
    assert e["status"] == "succeeded", e
    assert e["output"] is None, e
    assert "nested" in (e["error"] or ""), e
    assert children() == before, "a runner was replaced"
    assert len(deaths_in_log()) == deaths, deaths_in_log()[-3:]
    work = os.path.join(os.environ.get("SCRIPTORCH_STATE", ""), "run", "work")
    assert os.path.isdir(work)
    wait_for(lambda: not [d for d in os.listdir(work) if d.startswith(f"{e['id']}-")],
             what="the run's work dir to go")


def test_a_token_name_cannot_forge_a_log_line():
    forged = unique("forged")
    r = call("POST", "/api/v1/admin/tokens",
             {"name": f"evil\ninfo [1] master: {forged}", "role": "admin"})
    assert r.status == 201, r
    # Registering a script logs the token's name ("registered by ...").
    shell_script("#!/bin/sh\n", token=r.json["token"])
    log = wait_for(lambda: (lambda t: t if forged in t else None)(stackctl("log")),
                   what="the registration in the log")
    lines = [line for line in log.splitlines() if forged in line]
    assert lines and all(not line.startswith("info [1] master") for line in lines), lines
    assert any("evil\\ninfo [1] master: " + forged in line for line in lines), lines


def raw_http(request: bytes):
    """Sends bytes as they are to nginx; returns (status, headers, body)."""
    import socket
    import urllib.parse
    u = urllib.parse.urlparse(os.environ.get("SCRIPTORCH_URL", "http://127.0.0.1:8080"))
    with socket.create_connection((u.hostname, u.port), timeout=10) as s:
        s.sendall(request)
        data = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
    return status, headers, body


def test_nginx_own_errors_have_the_json_body():
    cases = [
        (b"GET /api/v1/health HTTP/1.1\r\nHost: x\r\nno colon here\r\nConnection: close\r\n\r\n", 400, "bad_request"),
        (b"GET /api/v1/health?q=" + b"a" * 20000 + b" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", 414, "too_large"),
        (b"GET /api/v1/health HTTP/1.1\r\nHost: x\r\nX-Big: " + b"b" * 20000 + b"\r\nConnection: close\r\n\r\n", 400, "bad_request"),
        (b"GARBAGE\r\n\r\n", 400, "bad_request"),
    ]
    for req, status, code in cases:
        got, headers, body = raw_http(req)
        assert got == status, (req[:60], got, body[:200])
        assert headers.get("content-type", "").startswith("application/json"), headers
        err = json.loads(body)
        assert set(err) == {"error"} and err["error"]["code"] == code, err
        assert err["error"]["message"], err
        # nginx drops the server's headers in a location that sets its
        # own: the error locations include them again (nginx/headers.conf).
        for name, want in SECURITY_HEADERS.items():
            assert headers.get(name) == want, (req[:40], name, headers)


SECURITY_HEADERS = {
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "no-referrer",
}


def test_every_kind_of_answer_has_the_security_headers():
    """The UI, the OpenAPI file, the API, and nginx's own 413: each one
    carries the headers; over plain HTTP there is no HSTS."""
    answers = {
        "ui": raw_http(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"),
        "openapi": raw_http(b"GET /api/v1/openapi.json HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"),
        "api": raw_http(b"GET /api/v1/health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"),
        # Over client_max_body_size (8m): nginx answers from the length.
        "nginx 413": raw_http(b"POST /api/v1/admin/scripts HTTP/1.1\r\nHost: x\r\n"
                              b"Content-Length: 9437184\r\nConnection: close\r\n\r\n"),
    }
    assert answers["nginx 413"][0] == 413, answers["nginx 413"][:2]
    for what, (status, headers, _) in answers.items():
        for name, want in SECURITY_HEADERS.items():
            assert headers.get(name) == want, (what, status, name, headers)
        assert "default-src 'self'" in headers.get("content-security-policy", ""), (what, headers)
        assert "strict-transport-security" not in headers, (what, headers)


def test_work_dir_of_a_lost_run_is_removed():
    import signal
    marker = unique("orphan")
    s = shell_script(f"#!/bin/bash\necho data > left-behind\nexec -a {marker}-proc sleep 1000\n")
    eid = call("POST", f"/api/v1/scripts/{s['id']}/executions", {"input": {}}).json["id"]
    work = os.path.join(os.environ["SCRIPTORCH_STATE"], "run", "work")

    def ours():
        return [d for d in os.listdir(work) if d.startswith(f"{eid}-")]

    def proc_pid():
        import subprocess
        out = subprocess.run(["pgrep", "-f", f"{marker}-proc"], capture_output=True, text=True).stdout.split()
        return int(out[0]) if out else None

    wait_for(lambda: proc_pid() and ours() and
             os.path.exists(os.path.join(work, ours()[0], "left-behind")),
             what="the run to start and write its file")
    def parent(pid):
        return int(open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()[1])
    # The script's parent is the run's init (PID 1 of its namespace), whose
    # parent is the runner.
    ppid = parent(parent(proc_pid()))
    os.kill(ppid, signal.SIGKILL)      # its runner dies mid-run
    wait_for(lambda: call("GET", f"/api/v1/executions/{eid}").json["status"] == "lost",
             timeout=40, what="the run to be marked lost")
    wait_for(lambda: not ours(), timeout=40, what="the janitor to remove the lost run's work dir")
    assert "work dir sweep: removed" in stackctl("log")


def test_dates_the_calendar_lacks_are_refused():
    for bad in ("2026-02-30T00:00:00Z", "2025-02-29T12:00:00Z", "2026-13-01T00:00:00Z",
                "2026-01-01T25:00:00Z", "2026-01-01T00:00:00+24:00"):
        r = call("GET", "/api/v1/executions?since=" + bad.replace("+", "%2B"))
        assert_error(r, 422, "validation_failed", field="since")
    r = call("GET", "/api/v1/executions?since=2024-02-29T00:00:00Z")
    assert r.status == 200, r
