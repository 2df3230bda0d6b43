"""Writes that leave an audit record commit with it: a cancel or a token
revocation whose record cannot be written is not done (the answer says
so), and one that is done is recorded."""
import contextlib
import os
import stat

from conftest import SCRIPT_ROOT, assert_error, call, stackctl, unique, wait_for


@contextlib.contextmanager
def audit_log_away():
    """The audit table out of reach: every INSERT into it fails."""
    stackctl("sql", "RENAME TABLE audit_log TO audit_log_away")
    try:
        yield
    finally:
        stackctl("sql", "RENAME TABLE audit_log_away TO audit_log")


def audited(action, object_id):
    return int(stackctl("sql", f"SELECT COUNT(*) FROM audit_log WHERE action = '{action}' "
                               f"AND object_id = {object_id}"))


def status(exec_id):
    r = call("GET", f"/api/v1/executions/{exec_id}")
    assert r.status == 200, r
    return r.json["status"]


def test_a_cancel_is_done_with_its_audit_record_or_not_at_all():
    path = os.path.join(SCRIPT_ROOT, unique("audited") + ".sh")
    with open(path, "w") as f:
        f.write("#!/bin/sh\nsleep 60\n")
    os.chmod(path, stat.S_IRWXU | stat.S_IRGRP | stat.S_IXGRP | stat.S_IROTH | stat.S_IXOTH)
    r = call("POST", "/api/v1/admin/scripts", {"name": unique("audited"), "type": "shell", "path": path,
                                               "max_concurrency": 1})
    assert r.status == 201, r
    sid = r.json["id"]
    # One runs; the next waits in the queue behind the limit.
    running = call("POST", f"/api/v1/scripts/{sid}/executions", {"input": {}}).json["id"]
    queued = call("POST", f"/api/v1/scripts/{sid}/executions", {"input": {}}).json["id"]
    wait_for(lambda: status(running) == "running", timeout=20, what="the first run to start")
    assert status(queued) == "queued"

    with audit_log_away():
        assert_error(call("POST", f"/api/v1/executions/{queued}/cancel"), 500, "internal")
        assert_error(call("POST", f"/api/v1/executions/{running}/cancel"), 500, "internal")
        assert status(queued) == "queued"
        assert stackctl("sql", f"SELECT cancel_requested FROM executions WHERE id = {running}") == "0"
    assert status(running) == "running"
    assert audited("execution.cancel", queued) == 0

    r = call("POST", f"/api/v1/executions/{queued}/cancel")
    assert r.status == 200 and r.json["status"] == "canceled", r
    assert audited("execution.cancel", queued) == 1
    r = call("POST", f"/api/v1/executions/{running}/cancel")
    assert r.status == 200, r
    wait_for(lambda: status(running) == "canceled", timeout=30, what="the run to stop")
    assert audited("execution.cancel", running) == 1
    # Refused cancels leave no record.
    assert_error(call("POST", f"/api/v1/executions/{queued}/cancel"), 409, "conflict")
    assert audited("execution.cancel", queued) == 1


def test_a_revocation_is_done_with_its_audit_record_or_not_at_all():
    created = call("POST", "/api/v1/admin/tokens", {"name": unique("audited"), "role": "viewer"}).json
    tok = created["token"]
    with audit_log_away():
        assert_error(call("DELETE", f"/api/v1/admin/tokens/{created['id']}"), 500, "internal")
    assert call("GET", "/api/v1/metrics", token=tok).status == 200, "not revoked"
    assert audited("token.revoke", created["id"]) == 0

    assert call("DELETE", f"/api/v1/admin/tokens/{created['id']}").status == 204
    assert audited("token.revoke", created["id"]) == 1
    assert_error(call("GET", "/api/v1/metrics", token=tok), 401, "unauthorized")
