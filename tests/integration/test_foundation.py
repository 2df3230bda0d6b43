"""The foundation: health, auth, errors, limits, tokens, metrics, and the
daemon surviving a database restart and a killed worker."""
import os
import signal
import time

from conftest import assert_error, call, stackctl, unique, wait_for


def test_health_without_token():
    r = call("GET", "/api/v1/health", token=None)
    assert r.status == 200, r
    body = r.json
    assert body["status"] == "ok" and body["database"] == "ok"
    assert body["version"]
    assert r.headers["Content-Type"].startswith("application/json")
    assert r.headers.get("X-Request-Id")


def test_request_ids_differ():
    a = call("GET", "/api/v1/health", token=None).headers["X-Request-Id"]
    b = call("GET", "/api/v1/health", token=None).headers["X-Request-Id"]
    assert a and b and a != b


def test_missing_token_is_401():
    assert_error(call("GET", "/api/v1/admin/tokens", token=None), 401, "unauthorized")


def test_unknown_token_is_401():
    assert_error(call("GET", "/api/v1/admin/tokens", token="sto_nope"), 401, "unauthorized")


def test_non_bearer_scheme_is_401():
    r = call("GET", "/api/v1/admin/tokens", token=None, headers={"Authorization": "Basic YTpi"})
    assert_error(r, 401, "unauthorized")


def test_viewer_on_admin_route_is_403(viewer):
    assert_error(call("GET", "/api/v1/admin/tokens", token=viewer), 403, "forbidden")
    assert_error(call("POST", "/api/v1/admin/tokens", {"name": "x", "role": "admin"}, token=viewer),
                 403, "forbidden")


def test_operator_on_admin_route_is_403(operator):
    assert_error(call("POST", "/api/v1/admin/tokens", {"name": "x", "role": "admin"}, token=operator),
                 403, "forbidden")


def test_viewer_may_read_metrics(viewer):
    assert call("GET", "/api/v1/metrics", token=viewer).status == 200


def test_unknown_route_is_404():
    assert_error(call("GET", "/api/v1/nothing-here"), 404, "not_found")
    assert_error(call("GET", "/api/v2/health"), 404, "not_found")


def test_wrong_method_is_405_with_allow():
    r = call("PUT", "/api/v1/admin/tokens", {"name": "x"})
    assert_error(r, 405, "method_not_allowed")
    allow = r.headers.get("Allow", "")
    assert "GET" in allow and "POST" in allow, allow


def test_bad_json_is_400():
    r = call("POST", "/api/v1/admin/tokens", raw=b"{not json", headers={"Content-Type": "application/json"})
    assert_error(r, 400, "bad_json")
    r = call("POST", "/api/v1/admin/tokens", raw=b"[1,2]", headers={"Content-Type": "application/json"})
    assert_error(r, 400, "bad_json")


def test_body_over_limit_is_413():
    big = b'{"name":"' + b"x" * (1024 * 1024 + 10) + b'","role":"viewer"}'
    r = call("POST", "/api/v1/admin/tokens", raw=big, headers={"Content-Type": "application/json"})
    assert_error(r, 413, "too_large")


def test_body_far_over_limit_is_413_from_nginx():
    big = b"x" * (9 * 1024 * 1024)
    r = call("POST", "/api/v1/admin/tokens", raw=big, headers={"Content-Type": "application/json"})
    assert r.status == 413
    assert r.json["error"]["code"] == "too_large"


def test_token_validation():
    assert_error(call("POST", "/api/v1/admin/tokens", {"name": "x", "role": "root"}), 422,
                 "validation_failed", "role")
    assert_error(call("POST", "/api/v1/admin/tokens", {"role": "viewer"}), 422, "validation_failed", "name")
    assert_error(call("POST", "/api/v1/admin/tokens", {"name": "x", "role": "viewer", "extra": 1}), 422,
                 "validation_failed", "extra")


def test_token_lifecycle():
    name = unique("ci")
    r = call("POST", "/api/v1/admin/tokens", {"name": name, "role": "viewer"})
    assert r.status == 201, r
    created = r.json
    assert set(created) == {"id", "name", "role", "created_at", "token"}
    assert created["name"] == name and created["role"] == "viewer"
    assert created["created_at"].endswith("Z") and "T" in created["created_at"]
    tok = created["token"]
    assert call("GET", "/api/v1/metrics", token=tok).status == 200

    listed = call("GET", "/api/v1/admin/tokens").json["tokens"]
    mine = [t for t in listed if t["id"] == created["id"]]
    assert len(mine) == 1
    assert set(mine[0]) == {"id", "name", "role", "created_at", "last_used_at", "revoked"}
    assert "token" not in mine[0] and mine[0]["revoked"] is False
    assert mine[0]["last_used_at"] is not None

    # Enough requests that every API worker remembers the token...
    for _ in range(30):
        assert call("GET", "/api/v1/metrics", token=tok).status == 200
    r = call("DELETE", f"/api/v1/admin/tokens/{created['id']}")
    assert r.status == 204 and r.body == b""
    # ...and none of them may honour it after a revocation through the API.
    for _ in range(30):
        assert_error(call("GET", "/api/v1/metrics", token=tok), 401, "unauthorized")
    listed = call("GET", "/api/v1/admin/tokens").json["tokens"]
    assert [t["revoked"] for t in listed if t["id"] == created["id"]] == [True]
    assert_error(call("DELETE", "/api/v1/admin/tokens/999999999"), 404, "not_found")
    assert_error(call("DELETE", "/api/v1/admin/tokens/abc"), 404, "not_found")


def test_cli_token_create_works():
    build = os.environ["SCRIPTORCH_BUILD"]
    state = os.environ["SCRIPTORCH_STATE"]
    import subprocess
    out = subprocess.run([f"{build}/src/scriptorchd", "-c", f"{state}/scriptorch.conf", "token", "create",
                          "--name", unique("cli"), "--role", "operator"],
                         check=True, capture_output=True, text=True).stdout.strip()
    assert out.startswith("sto_") and len(out) > 40
    assert call("GET", "/api/v1/metrics", token=out).status == 200


def test_cli_revoke_takes_effect_within_a_second():
    import subprocess
    created = call("POST", "/api/v1/admin/tokens", {"name": unique("cli-rv"), "role": "viewer"}).json
    tok = created["token"]
    for _ in range(30):
        assert call("GET", "/api/v1/metrics", token=tok).status == 200
    subprocess.run([f"{os.environ['SCRIPTORCH_BUILD']}/src/scriptorchd", "-c",
                    f"{os.environ['SCRIPTORCH_STATE']}/scriptorch.conf", "token", "revoke",
                    str(created["id"])], check=True, capture_output=True)
    # The CLI cannot reach the workers' memory of valid tokens, which
    # holds an entry for a second (auth.h): after that, nobody honours it.
    t0 = time.monotonic()
    wait_for(lambda: call("GET", "/api/v1/metrics", token=tok).status == 401, timeout=5,
             what="the revoked token refused")
    time.sleep(max(0.0, 1.1 - (time.monotonic() - t0)))
    for _ in range(30):
        assert_error(call("GET", "/api/v1/metrics", token=tok), 401, "unauthorized")


def metric_value(text, name, **labels):
    """The sample's value, or None when the exposition has no such line."""
    want = ",".join(f'{k}="{v}"' for k, v in labels.items())
    for line in text.splitlines():
        if line.startswith(f"{name}{{{want}}} ") or (not labels and line.startswith(name + " ")):
            return float(line.rsplit(" ", 1)[1])
    return None


def test_metrics_aggregate_all_workers():
    # A series not there yet counts from 0; afterwards both must be there.
    before = call("GET", "/api/v1/metrics").body.decode()
    n0 = metric_value(before, "scriptorch_api_requests_total", route="/api/v1/health", status="200") or 0.0
    u0 = metric_value(before, "scriptorch_api_requests_total", route="unmatched", status="404") or 0.0
    for _ in range(40):
        assert call("GET", "/api/v1/health", token=None).status == 200
    for _ in range(12):
        assert call("GET", "/api/v1/no-such-route", token=None).status == 404
    after = call("GET", "/api/v1/metrics").body.decode()
    n1 = metric_value(after, "scriptorch_api_requests_total", route="/api/v1/health", status="200")
    u1 = metric_value(after, "scriptorch_api_requests_total", route="unmatched", status="404")
    # 40 requests spread over several workers all land in the one counter
    # (nothing else asks for health meanwhile: exactly 40).
    assert n1 is not None and n1 - n0 == 40, (n0, n1)
    # Requests that match no route are counted under one label, not by
    # their path (which would let a client grow the series without end).
    assert u1 is not None and u1 - u0 == 12, (u0, u1)
    assert "no-such-route" not in after
    assert "# TYPE scriptorch_api_request_duration_seconds histogram" in after
    assert 'scriptorch_api_request_duration_seconds_bucket{route="/api/v1/health",le="+Inf"}' in after


def api_workers():
    out = stackctl("children")
    return sorted(int(line.split()[0]) for line in out.splitlines() if line.split()[1] == "sto-api")


def test_killed_worker_is_replaced():
    before = api_workers()
    assert len(before) >= 2, before
    victim = before[0]
    os.kill(victim, signal.SIGKILL)
    now = wait_for(lambda: (lambda w: w if len(w) == len(before) and victim not in w else None)(api_workers()),
                   timeout=15, what="a replacement api worker")
    assert victim not in now
    for _ in range(20):
        assert call("GET", "/api/v1/health", token=None).status == 200


def test_sighup_replaces_workers_gracefully():
    before = set(api_workers())
    master = int(stackctl("daemon-pid"))
    os.kill(master, signal.SIGHUP)
    wait_for(lambda: (lambda w: len(w) == len(before) and not (w & before))(set(api_workers())),
             timeout=20, what="a new generation of workers")
    for _ in range(20):
        assert call("GET", "/api/v1/health", token=None).status == 200
    assert int(stackctl("daemon-pid")) == master


def test_database_restart_is_survived():
    master = int(stackctl("daemon-pid"))
    stackctl("stop-db")
    try:
        r = call("GET", "/api/v1/health", token=None)
        assert r.status == 503, r
        assert r.json["database"] == "unreachable"
        assert_error(call("GET", "/api/v1/admin/tokens"), 503, "unavailable")
    finally:
        stackctl("start-db")
    wait_for(lambda: call("GET", "/api/v1/health", token=None).status == 200, timeout=30,
             what="health after the database came back")
    assert call("GET", "/api/v1/admin/tokens").status == 200
    assert int(stackctl("daemon-pid")) == master
