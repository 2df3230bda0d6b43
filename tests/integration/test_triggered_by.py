"""Who started an execution, and from where (docs/api.md, "Executions"):
`trigger` is "api" for a bearer token, "ui" for a browser signed in with
the session cookie, "test" for an admin's test run; `triggered_by` is the
asking token's name, in every view of the execution (the 202 row, the
waited-for final row a runner leaves, GET, lists)."""
import re

from conftest import call, shell_script, unique

XRW = {"X-Requested-With": "scriptorch"}


def token(role):
    r = call("POST", "/api/v1/admin/tokens", {"name": unique(f"trig-{role}"), "role": role})
    assert r.status == 201, r
    return r.json


def sign_in(tok):
    r = call("POST", "/api/v1/session", {"token": tok}, token=None, headers=XRW)
    assert r.status == 204, r
    return re.match(r"scriptorch_session=([^;]+);", r.headers["Set-Cookie"]).group(1)


def cookie(sid):
    return dict(XRW, Cookie=f"scriptorch_session={sid}")


def listed(script_id, **filters):
    q = "&".join(f"{k}={v}" for k, v in filters.items())
    r = call("GET", f"/api/v1/executions?script_id={script_id}&limit=500&{q}")
    assert r.status == 200, r
    return {x["id"]: x for x in r.json["executions"]}


def admin_name():
    r = call("GET", "/api/v1/session")
    assert r.status == 200, r
    return r.json["token_name"]


def test_every_submission_records_its_trigger_and_token():
    s = shell_script("#!/bin/sh\necho hi\n")
    op = token("operator")
    sid = sign_in(op["token"])

    by_api = call("POST", f"/api/v1/scripts/{s['id']}/executions", {}, token=op["token"])
    assert by_api.status == 202, by_api
    assert by_api.json["trigger"] == "api" and by_api.json["triggered_by"] == op["name"], by_api.json

    by_ui = call("POST", f"/api/v1/scripts/{s['id']}/executions", {}, token=None, headers=cookie(sid))
    assert by_ui.status == 202, by_ui
    assert by_ui.json["trigger"] == "ui" and by_ui.json["triggered_by"] == op["name"], by_ui.json

    # Waited for: the final row comes from the runner (the finish
    # procedure's row), and says the same.
    waited = call("POST", f"/api/v1/scripts/{s['name']}/executions?wait=60", {}, token=None,
                  headers=cookie(sid), timeout=90)
    assert waited.status == 200, waited
    assert waited.json["status"] == "succeeded", waited.json
    assert (waited.json["trigger"], waited.json["triggered_by"]) == ("ui", op["name"]), waited.json

    a = token("admin")
    admin_sid = sign_in(a["token"])
    tested = call("POST", f"/api/v1/admin/scripts/{s['id']}/test", {}, token=None,
                  headers=cookie(admin_sid), timeout=400)
    assert tested.status == 200, tested
    assert (tested.json["trigger"], tested.json["triggered_by"]) == ("test", a["name"]), tested.json
    tested_api = call("POST", f"/api/v1/admin/scripts/{s['id']}/test", {}, timeout=400)
    assert (tested_api.json["trigger"], tested_api.json["triggered_by"]) == ("test", admin_name())

    # Each one, read back alone and in the list.
    want = {by_api.json["id"]: ("api", op["name"]), by_ui.json["id"]: ("ui", op["name"]),
            waited.json["id"]: ("ui", op["name"]), tested.json["id"]: ("test", a["name"]),
            tested_api.json["id"]: ("test", admin_name())}
    items = listed(s["id"])
    for xid, (trig, who) in want.items():
        one = call("GET", f"/api/v1/executions/{xid}")
        assert (one.json["trigger"], one.json["triggered_by"]) == (trig, who), one.json
        assert (items[xid]["trigger"], items[xid]["triggered_by"]) == (trig, who), items[xid]

    # The trigger filter tells them apart.
    assert set(listed(s["id"], trigger="ui")) == {by_ui.json["id"], waited.json["id"]}
    assert set(listed(s["id"], trigger="api")) == {by_api.json["id"]}
    assert set(listed(s["id"], trigger="test")) == {tested.json["id"], tested_api.json["id"]}


def test_a_replayed_submission_keeps_the_first_requests_token():
    s = shell_script("#!/bin/sh\ntrue\n")
    op = token("operator")
    sid = sign_in(op["token"])
    key = {"Idempotency-Key": unique("k")}
    first = call("POST", f"/api/v1/scripts/{s['id']}/executions", {}, token=None,
                 headers=dict(cookie(sid), **key))
    assert first.status == 202 and first.json["trigger"] == "ui", first
    again = call("POST", f"/api/v1/scripts/{s['id']}/executions", {}, token=None,
                 headers=dict(cookie(sid), **key))
    assert again.headers.get("Idempotent-Replayed") == "true", again
    assert again.json["id"] == first.json["id"]
    assert (again.json["trigger"], again.json["triggered_by"]) == ("ui", op["name"]), again.json


def test_the_scripts_last_execution_carries_it_too():
    s = shell_script("#!/bin/sh\ntrue\n")
    v = token("operator")
    r = call("POST", f"/api/v1/scripts/{s['id']}/executions?wait=60", {}, token=v["token"], timeout=90)
    assert r.status == 200, r
    items = call("GET", "/api/v1/admin/scripts?q=" + s["name"]).json["scripts"]
    last = [x for x in items if x["id"] == s["id"]][0]["last_execution"]
    assert last["id"] == r.json["id"] and last["triggered_by"] == v["name"], last
