"""The "default" annotation of a script's inputs schema (docs/api.md,
Scripts and Executions): checked against its own schema at registration,
refused on a secret property, and on a top-level property it fills a
missing input before the check, so that the stored input, the environment,
stdin and the args template all see it."""
import json

from conftest import assert_error, call, shell_script, unique

SCHEMA = {
    "type": "object",
    "required": ["clip", "mode"],
    "properties": {
        "clip": {"type": "string", "title": "Clip", "description": "the clip"},
        "mode": {"enum": ["fast", "slow"], "default": "slow", "description": "how"},
        "gain": {"type": "number", "minimum": 0, "default": 2.5},
        "tags": {"type": "array", "items": {"type": "string"}, "default": ["a", "b"]},
        "plain": {"type": "integer"},
    },
}

BODY = """
    #!/bin/sh
    printf 'argv=%s %s|' "$1" "$2"
    printf 'env=%s,%s,%s,%s|' "$INPUT_MODE" "$INPUT_GAIN" "$INPUT_TAGS" "${INPUT_PLAIN-unset}"
    printf 'stdin='
    cat
    """


def run(sid, input_, wait=60):
    r = call("POST", f"/api/v1/scripts/{sid}/executions?wait={wait}", {"input": input_})
    assert r.status == 200, r
    assert r.json["status"] == "succeeded", r.json
    return r.json


def test_defaults_fill_the_missing_top_level_properties():
    s = shell_script(BODY, inputs=SCHEMA, args=["{mode}", "{gain}"])
    assert s["inputs"] == SCHEMA, "the annotations are kept as registered"

    e = run(s["id"], {"clip": "a.mov"})
    assert e["input"] == {"clip": "a.mov", "mode": "slow", "gain": 2.5, "tags": ["a", "b"]}, e["input"]
    argv, env, stdin = e["stdout"].split("|", 2)
    assert argv == "argv=slow 2.5", e["stdout"]
    assert env == "env=slow,2.5,[\"a\",\"b\"],unset", e["stdout"]
    assert json.loads(stdin[len("stdin="):]) == e["input"], e["stdout"]

    # What the caller sends stands; null is sent, not missing.
    e = run(s["id"], {"clip": "b", "mode": "fast", "gain": 0, "tags": []})
    assert e["input"] == {"clip": "b", "mode": "fast", "gain": 0, "tags": []}, e["input"]
    assert e["stdout"].startswith("argv=fast 0|"), e["stdout"]

    # What a default does not fill is still checked: clip has none.
    assert_error(call("POST", f"/api/v1/scripts/{s['id']}/executions", {"input": {}}),
                 422, "validation_failed", "input.clip")
    assert_error(call("POST", f"/api/v1/scripts/{s['id']}/executions",
                      {"input": {"clip": "c", "mode": "medium"}}), 422, "validation_failed", "input.mode")
    assert_error(call("POST", f"/api/v1/scripts/{s['id']}/executions",
                      {"input": {"clip": "c", "mode": None}}), 422, "validation_failed", "input.mode")
    call("DELETE", f"/api/v1/admin/scripts/{s['id']}")


def test_a_default_the_schema_refuses_is_refused_at_registration():
    path = shell_script("#!/bin/sh\n")["path"]
    for props, field in [
        ({"n": {"type": "number", "default": "3"}}, "inputs.properties.n.default"),
        ({"n": {"enum": ["a"], "default": "b"}}, "inputs.properties.n.default"),
        ({"n": {"type": "integer", "maximum": 2, "default": 3}}, "inputs.properties.n.default"),
        ({"pw": {"type": "string", "secret": True, "default": "hunter22"}}, "inputs.properties.pw.default"),
    ]:
        r = call("POST", "/api/v1/admin/scripts", {
            "name": unique("def"), "type": "shell", "path": path,
            "inputs": {"type": "object", "properties": props}})
        err = assert_error(r, 422, "validation_failed", field)
        assert "default" in err["message"], err
