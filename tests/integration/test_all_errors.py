"""Every invalid field at once (docs/api.md, "Every invalid field"): a 422
of a registration, a PATCH or a submission's input carries "errors", each
field at fault once, the first of them also as field/message, so that a
form can mark all of them in one round."""
import os
import subprocess

from conftest import SCRIPT_ROOT, STATE, assert_error, call, shell_script, unique


def errors_of(resp):
    err = assert_error(resp, 422, "validation_failed")
    errs = err.get("errors")
    assert isinstance(errs, list) and errs, err
    fields = [e["field"] for e in errs]
    assert len(fields) == len(set(fields)), f"a field named twice: {fields}"
    assert (errs[0]["field"], errs[0]["message"]) == (err["field"], err["message"]), err
    assert all(e["message"] for e in errs), errs
    return fields, {e["field"]: e["message"] for e in errs}


def test_a_registration_names_every_invalid_field():
    r = call("POST", "/api/v1/admin/scripts", {
        "name": "Not A Name", "type": "perl", "path": "relative/x.sh", "timeout_s": 0,
        "outputs": {"file": "/abs"}, "colour": "red", "version": "sha256:x",
        "limits": {"memory_mb": -1}})
    fields, msgs = errors_of(r)
    assert fields == ["name", "type", "timeout_s", "outputs.file", "colour", "version",
                      "limits.memory_mb"], fields
    assert "unknown field" in msgs["colour"] and "read-only" in msgs["version"], msgs
    # Nothing was registered.
    assert call("GET", "/api/v1/admin/scripts?q=Not%20A%20Name").json["scripts"] == []


def test_the_required_fields_are_all_named():
    fields, msgs = errors_of(call("POST", "/api/v1/admin/scripts", {"description": "only this"}))
    assert fields == ["name", "type", "path"], fields
    assert msgs["path"] == "path is required", msgs


def test_rules_across_fields_and_the_file_are_reported_with_the_members():
    path = os.path.join(SCRIPT_ROOT, unique("gone") + ".sh")
    r = call("POST", "/api/v1/admin/scripts", {
        "name": unique("multi"), "type": "shell", "path": path, "requirements": "numpy\n",
        "args": ["{output_file}"], "timeout_s": "soon"})
    fields, msgs = errors_of(r)
    assert fields == ["timeout_s", "requirements", "args[0]", "path"], fields
    assert msgs["path"] == "path does not exist", msgs


def test_one_invalid_field_is_a_list_of_one():
    fields, _ = errors_of(call("POST", "/api/v1/admin/scripts",
                               {"name": unique("one"), "type": "shell", "path": "/"}))
    assert fields == ["path"], fields


def test_a_patch_names_every_invalid_field_and_changes_nothing():
    s = shell_script("#!/bin/sh\ntrue\n", description="before")
    r = call("PATCH", f"/api/v1/admin/scripts/{s['id']}", {
        "description": "after", "enabled": "yes", "input_mode": "socket", "max_concurrency": 0,
        "env": {"1BAD": "x"}})
    fields, _ = errors_of(r)
    assert fields == ["enabled", "input_mode", "max_concurrency", "env.1BAD"], fields
    assert call("GET", f"/api/v1/admin/scripts/{s['id']}").json["description"] == "before"
    # A valid PATCH of the same script still works.
    assert call("PATCH", f"/api/v1/admin/scripts/{s['id']}", {"description": "after"}).status == 200


def test_a_submission_names_every_invalid_input():
    s = shell_script("#!/bin/sh\ntrue\n", args=["{frames}", "{tag}"], inputs={
        "type": "object", "required": ["segment", "frames"],
        "properties": {"segment": {"type": "string"}, "frames": {"type": "integer", "minimum": 1},
                       "mode": {"enum": ["fast", "slow"]},
                       "token": {"type": "string", "maxLength": 4, "secret": True}}})
    r = call("POST", f"/api/v1/scripts/{s['id']}/executions",
             {"input": {"frames": 0, "mode": "medium", "token": "s3cr3t-value"}})
    fields, msgs = errors_of(r)
    assert fields == ["input.segment", "input.frames", "input.mode", "input.token", "input.tag"], fields
    assert "s3cr3t-value" not in r.body.decode(), "a secret input's value in an answer"
    assert "fast" in msgs["input.mode"], msgs
    # Nothing was queued.
    assert call("GET", f"/api/v1/executions?script_id={s['id']}").json["executions"] == []


def test_the_cli_prints_every_invalid_field():
    build = os.environ["SCRIPTORCH_BUILD"]
    r = subprocess.run([os.path.join(build, "src/scriptorchd"), "-c", os.path.join(STATE, "scriptorch.conf"),
                        "script", "add", "--name", "Bad Name", "--type", "perl", "--path", "x",
                        "--timeout", "0"], capture_output=True, text=True, timeout=60)
    assert r.returncode == 1, r
    lines = r.stderr.strip().splitlines()
    assert [ln.split(": ")[1] for ln in lines] == ["name (--name)", "type (--type)", "timeout_s (--timeout)"], lines


def test_a_body_of_errors_gets_the_first_fifty():
    body = {"name": unique("many"), "type": "shell", "path": "/nowhere.sh"}
    body.update({f"bogus{i:04d}": i for i in range(5000)})
    r = call("POST", "/api/v1/admin/scripts", body)
    fields, _ = errors_of(r)
    assert fields == [f"bogus{i:04d}" for i in range(50)], fields[:5]
