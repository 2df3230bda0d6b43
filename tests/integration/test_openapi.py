"""The OpenAPI description (docs/openapi.json): served by nginx, a valid
OpenAPI 3.1 document, describing every route of src/router.c and nothing
else, and true of the daemon's answers. conftest.py checks the answers of
every integration test against it (openapi_check.py); the walk below makes
sure each operation has been answered once, and the last test shows that the
checker does reject what the description does not allow."""
import http.client
import json
import os
import re
import textwrap

from jsonschema import Draft202012Validator

import openapi_check
from conftest import REPO, SCRIPT_ROOT, assert_error, call, unique, wait_for

DOC_FILE = os.path.join(REPO, "docs", "openapi.json")
ROUTER = os.path.join(REPO, "src", "router.c")
OPENAPI_URL = "/api/v1/openapi.json"
ROLE_NAMES = {"ROLE_NONE": "none", "ROLE_VIEWER": "viewer", "ROLE_OPERATOR": "operator",
              "ROLE_ADMIN": "admin"}


def doc():
    with open(DOC_FILE, encoding="utf-8") as f:
        return json.load(f)


def router_table():
    """(METHOD, pattern with "{}", role) of every entry of routes[] in router.c."""
    src = open(ROUTER, encoding="utf-8").read()
    m = re.search(r"const struct route routes\[\] = \{(.*?)\n\};", src, re.S)
    assert m, "routes[] not found in src/router.c"
    body = re.sub(r"/\*.*?\*/", "", m.group(1), flags=re.S)
    entries = re.findall(
        r'\{\s*"([A-Z]+)"\s*,\s*"([^"]+)"\s*,\s*(\w+)\s*,\s*(ROLE_\w+)\s*,\s*"([^"]+)"\s*\}', body)
    # Every "{ \"" that opens an entry was understood: none skipped silently.
    assert len(entries) == len(re.findall(r'\{\s*"', body)), body
    assert len(entries) >= 20, entries
    return [(meth, pat, ROLE_NAMES[role]) for meth, pat, _fn, role, _label in entries]


def normalized(template):
    return re.sub(r"\{[^/{}]+\}", "{}", template)


# ---- (1) served, and a valid OpenAPI 3.1 document -------------------------

def test_served_by_nginx_without_a_token():
    r = call("GET", OPENAPI_URL, token=None)
    assert r.status == 200, r
    assert r.headers["Content-Type"].split(";")[0].strip() == "application/json", r.headers
    assert r.headers.get("X-Request-Id")
    assert r.json == doc(), "the served description is not docs/openapi.json"
    head = call("HEAD", OPENAPI_URL, token=None)
    assert head.status == 200 and head.body == b"", head
    # Another method: the API's 405, with the JSON error body and Allow.
    post = call("POST", OPENAPI_URL, {"x": 1}, token=None)
    assert_error(post, 405, "method_not_allowed")
    assert post.headers.get("Allow") == "GET", post.headers


def walk_refs(node, where="#"):
    """Every ($ref value, where it is) in the document."""
    if isinstance(node, dict):
        for k, v in node.items():
            if k == "$ref" and isinstance(v, str):
                yield v, where
            else:
                yield from walk_refs(v, f"{where}/{k}")
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from walk_refs(v, f"{where}/{i}")


def test_document_is_structurally_openapi_3_1():
    d = doc()
    spec = openapi_check.Spec(d)
    assert re.fullmatch(r"3\.1\.\d+", d["openapi"]), d["openapi"]
    assert set(d) <= {"openapi", "info", "jsonSchemaDialect", "servers", "paths", "webhooks",
                      "components", "security", "tags", "externalDocs"}, set(d)
    assert isinstance(d["info"]["title"], str) and d["info"]["title"]
    assert isinstance(d["info"]["version"], str) and d["info"]["version"]
    assert d.get("jsonSchemaDialect", "https://spec.openapis.org/oas/3.1/dialect/base") in (
        "https://spec.openapis.org/oas/3.1/dialect/base", "https://json-schema.org/draft/2020-12/schema")
    schemes = d["components"]["securitySchemes"]
    assert schemes["bearer"]["type"] == "http" and schemes["bearer"]["scheme"] == "bearer"
    for req in d.get("security", []):
        assert set(req) <= set(schemes), req
    tags = {t["name"] for t in d.get("tags", [])}

    # Every reference points at something.
    for ref, where in walk_refs(d):
        assert ref.startswith("#/"), (where, ref)
        spec.deref({"$ref": ref})

    op_ids = []
    for tpl, item in d["paths"].items():
        assert tpl.startswith("/api/"), tpl
        assert set(item) <= set(openapi_check.METHODS) | {"parameters", "summary", "description",
                                                          "servers", "$ref"}, (tpl, set(item))
        names_in_tpl = re.findall(r"\{([^/{}]+)\}", tpl)
        for method in openapi_check.METHODS:
            if method not in item:
                continue
            op = item[method]
            where = f"{method.upper()} {tpl}"
            op_ids.append(op["operationId"])
            assert op.get("summary"), where
            assert set(op.get("tags", [])) <= tags, where
            assert op.get("x-scriptorch-role") in ("none", "viewer", "operator", "admin"), where
            # Security: none means no token; every other role needs the
            # bearer token or the session cookie.
            security = op.get("security", d.get("security"))
            if op["x-scriptorch-role"] == "none":
                assert security == [], where
            else:
                assert security == [{"bearer": []}, {"session": []}], where
                assert "401" in op["responses"], where
            # 403 wherever a caller is authenticated (a role too small, or
            # a session cookie without X-Requested-With), and on the
            # routes without a token only where that header is asked for.
            asks_header = any(spec.deref(p).get("name") == "X-Requested-With"
                              for p in op.get("parameters", []))
            assert ("403" in op["responses"]) == (op["x-scriptorch-role"] != "none" or asks_header), where
            params = [spec.deref(p) for p in op.get("parameters", []) + item.get("parameters", [])]
            for p in params:
                assert p["in"] in ("path", "query", "header", "cookie"), (where, p)
                assert "schema" in p or "content" in p, (where, p)
            in_path = [p["name"] for p in params if p["in"] == "path"]
            assert sorted(in_path) == sorted(names_in_tpl), (where, in_path)
            assert all(p["required"] is True for p in params if p["in"] == "path"), where
            if "requestBody" in op:
                body = spec.deref(op["requestBody"])
                assert body["content"], where
            assert op["responses"], where
            for status, resp in op["responses"].items():
                assert re.fullmatch(r"[1-5][0-9]{2}|[1-5]XX|default", status), (where, status)
                resp = spec.deref(resp)
                assert isinstance(resp.get("description"), str), (where, status)
                for name, h in resp.get("headers", {}).items():
                    assert "schema" in spec.deref(h), (where, status, name)
                for media, mt in resp.get("content", {}).items():
                    assert re.fullmatch(r"[a-z]+/[a-z0-9.+-]+", media), (where, media)
                    assert "schema" in mt, (where, status, media)
                # The contract: every response carries X-Request-Id, every
                # non-2xx one the error body.
                assert "X-Request-Id" in resp.get("headers", {}), (where, status)
                if int(status[0]) >= 4:
                    assert "application/json" in resp["content"], (where, status)
    assert len(op_ids) == len(set(op_ids)), "operationIds must be unique"


def schemas_in(d):
    """(where, schema) for every schema object the document holds."""
    spec = openapi_check.Spec(d)
    for name, s in d["components"]["schemas"].items():
        yield f"components/schemas/{name}", s
    for name, h in d["components"].get("headers", {}).items():
        yield f"components/headers/{name}", h["schema"]
    for name, p in d["components"].get("parameters", {}).items():
        yield f"components/parameters/{name}", p["schema"]
    for name, r in d["components"].get("responses", {}).items():
        for media, mt in r.get("content", {}).items():
            yield f"components/responses/{name}/{media}", mt["schema"]
    for tpl, item in d["paths"].items():
        for method in openapi_check.METHODS:
            op = item.get(method)
            if op is None:
                continue
            for p in op.get("parameters", []):
                if "schema" in p:
                    yield f"{method} {tpl} parameter {p['name']}", p["schema"]
            if "requestBody" in op:
                for media, mt in spec.deref(op["requestBody"])["content"].items():
                    yield f"{method} {tpl} body {media}", mt["schema"]
            for status, resp in op["responses"].items():
                if "$ref" in resp:
                    continue
                for media, mt in resp.get("content", {}).items():
                    yield f"{method} {tpl} {status} {media}", mt["schema"]


def test_every_schema_is_valid_json_schema_2020_12():
    d = doc()
    spec = openapi_check.Spec(d)
    n = 0
    for where, schema in schemas_in(d):
        try:
            Draft202012Validator.check_schema(schema)
        except Exception as e:
            raise AssertionError(f"{where}: {e}") from None
        # and it can be used: its references resolve when validating
        spec.schema_errors(schema, None)
        n += 1
    assert n >= 40, n


# ---- (2) every route, and only routes --------------------------------------

def test_every_route_is_described_and_nothing_else():
    d = doc()
    spec = openapi_check.Spec(d)
    routes = {(m, p): role for m, p, role in router_table()}
    described, nginx_ops = {}, []
    for method, tpl, op in spec.operations():
        if op.get("x-scriptorch-served-by") == "nginx":
            nginx_ops.append((method, tpl))
            continue
        described[(method, normalized(tpl))] = op.get("x-scriptorch-role")
    missing = sorted(set(routes) - set(described))
    stale = sorted(set(described) - set(routes))
    assert not missing, f"routes of src/router.c not in docs/openapi.json: {missing}"
    assert not stale, f"operations in docs/openapi.json that src/router.c does not have: {stale}"
    wrong_role = {k: (described[k], routes[k]) for k in routes if described[k] != routes[k]}
    assert not wrong_role, f"x-scriptorch-role differs from the router's (described, router): {wrong_role}"
    # What nginx serves itself is really there.
    assert nginx_ops == [("GET", OPENAPI_URL)], nginx_ops
    for method, tpl in nginx_ops:
        assert call(method, tpl, token=None).status == 200


# ---- (3) real answers -------------------------------------------------------

def write_script(name, body):
    path = os.path.join(SCRIPT_ROOT, name)
    with open(path, "w") as f:
        f.write(textwrap.dedent(body).lstrip())
    os.chmod(path, 0o755)
    return path


def ok(resp, status):
    assert resp.status == status, resp
    return resp


def test_every_operation_answers_as_described(viewer):
    """One request per operation (and a few refusals); conftest checks each
    answer against the description, and this test that all operations got
    a successful answer checked."""
    start = len(openapi_check.recorded)
    ok(call("GET", "/api/v1/health", token=None), 200)
    ok(call("GET", "/api/v1/metrics", token=viewer), 200)
    ok(call("GET", "/api/v1/nodes", token=viewer), 200)
    ok(call("GET", OPENAPI_URL, token=None), 200)
    ok(call("GET", "/api/v1/admin/config", token=viewer), 200)

    tok = ok(call("POST", "/api/v1/admin/tokens", {"name": unique("oa"), "role": "viewer"}), 201).json
    ok(call("GET", "/api/v1/admin/tokens"), 200)
    ok(call("DELETE", f"/api/v1/admin/tokens/{tok['id']}"), 204)
    assert_error(call("GET", "/api/v1/metrics", token=tok["token"]), 401, "unauthorized")
    assert_error(call("POST", "/api/v1/admin/tokens", {"name": "x", "role": "viewer"}, token=viewer),
                 403, "forbidden")

    signer = ok(call("POST", "/api/v1/admin/tokens", {"name": unique("oa-s"), "role": "viewer"}), 201).json
    xrw = {"X-Requested-With": "scriptorch"}
    signed = ok(call("POST", "/api/v1/session", {"token": signer["token"]}, token=None, headers=xrw), 204)
    cookie = signed.headers["Set-Cookie"].split(";")[0]
    ok(call("GET", "/api/v1/session", token=None, headers=dict(xrw, Cookie=cookie)), 200)
    assert_error(call("GET", "/api/v1/executions", token=None, headers={"Cookie": cookie}), 403, "forbidden")
    ok(call("DELETE", "/api/v1/session", token=None, headers=dict(xrw, Cookie=cookie)), 204)
    assert_error(call("GET", "/api/v1/session", token=None, headers=dict(xrw, Cookie=cookie)),
                 401, "unauthorized")

    quick = write_script(unique("oa-quick") + ".sh", """
        #!/bin/sh
        echo '{"answer": 42}'
        echo to-stderr >&2
        echo file > "$SCRIPTORCH_OUTPUT_FILE"
        """)
    s = ok(call("POST", "/api/v1/admin/scripts", {
        "name": unique("oa"), "type": "shell", "path": quick, "args": ["{who}"],
        "inputs": {"type": "object", "properties": {"who": {"type": "string"}}, "required": ["who"]},
        "outputs": {"stdout": "json", "file": "out.txt"}, "env": {"A": "b"}, "max_concurrency": 2,
    }), 201).json
    ok(call("POST", "/api/v1/admin/scripts/inspect", {"path": quick}), 200)
    assert_error(call("POST", "/api/v1/admin/scripts/inspect", {"path": "/etc/shadow"}), 422,
                 "validation_failed", "path")
    ok(call("GET", "/api/v1/admin/scripts?q=" + s["name"], token=viewer), 200)
    ok(call("GET", f"/api/v1/admin/scripts/{s['id']}", token=viewer), 200)
    ok(call("PATCH", f"/api/v1/admin/scripts/{s['id']}", {"description": "described"}), 200)
    ok(call("GET", f"/api/v1/admin/scripts/{s['id']}/versions", token=viewer), 200)
    tested = ok(call("POST", f"/api/v1/admin/scripts/{s['id']}/test", {"input": {"who": "t"}}, timeout=400), 200).json
    assert tested["output"] == {"answer": 42} and tested["output_file"] == "file\n", tested
    ok(call("POST", f"/api/v1/scripts/{s['name']}/executions?wait=60", {"input": {"who": "x"}},
            timeout=90), 200)
    queued = ok(call("POST", f"/api/v1/scripts/{s['id']}/executions", {"input": {"who": "q"}}), 202).json
    page = ok(call("GET", f"/api/v1/executions?script_id={s['id']}&limit=1", token=viewer), 200).json
    assert page["next_cursor"] is not None, page
    ok(call("GET", f"/api/v1/executions?script_id={s['id']}&cursor={page['next_cursor']}", token=viewer), 200)
    ok(call("GET", f"/api/v1/executions/{queued['id']}", token=viewer), 200)
    ok(call("GET", f"/api/v1/executions?script_id={s['id']}&status=succeeded,queued&order=asc", token=viewer), 200)
    ok(call("GET", f"/api/v1/executions/counts?script_id={s['id']}", token=viewer), 200)
    ok(call("GET", f"/api/v1/executions/durations?script_id={s['id']}", token=viewer), 200)
    ok(call("GET", f"/api/v1/executions/{tested['id']}/stdout", token=viewer), 200)
    ok(call("GET", f"/api/v1/executions/{tested['id']}/stderr", token=viewer), 200)
    ok(call("GET", f"/api/v1/executions/{tested['id']}/deliveries", token=viewer), 200)
    assert_error(call("GET", "/api/v1/executions/999999999", token=viewer), 404, "not_found")
    assert_error(call("POST", f"/api/v1/scripts/{s['id']}/executions?wait=x", {}), 422,
                 "validation_failed", "wait")

    slow = write_script(unique("oa-slow") + ".sh", "#!/bin/sh\nsleep 60\n")
    s2 = ok(call("POST", "/api/v1/admin/scripts", {"name": unique("oa"), "type": "shell", "path": slow}),
            201).json
    e2 = ok(call("POST", f"/api/v1/scripts/{s2['id']}/executions", {}), 202).json
    ok(call("POST", f"/api/v1/executions/{e2['id']}/cancel"), 200)
    wait_for(lambda: call("GET", f"/api/v1/executions/{e2['id']}").json["status"] == "canceled",
             timeout=30, what="the cancel")
    assert_error(call("POST", f"/api/v1/executions/{e2['id']}/cancel"), 409, "conflict")

    py = write_script(unique("oa-py") + ".py", "print('hello from python')\n")
    s3 = ok(call("POST", "/api/v1/admin/scripts", {"name": unique("oa"), "type": "python", "path": py}),
            201).json
    ran = ok(call("POST", f"/api/v1/scripts/{s3['id']}/executions?wait=240", {}, timeout=300), 200).json
    assert ran["status"] == "succeeded", ran
    venv = ok(call("GET", f"/api/v1/admin/scripts/{s3['id']}"), 200).json["venv"]
    ok(call("GET", "/api/v1/admin/venvs", token=viewer), 200)
    ok(call("GET", f"/api/v1/admin/venvs/{venv['id']}", token=viewer), 200)
    ok(call("POST", f"/api/v1/admin/venvs/{venv['id']}/rebuild", timeout=400), 200)
    ok(call("DELETE", f"/api/v1/admin/venvs/{venv['id']}"), 204)

    ok(call("GET", "/api/v1/marketplace", token=viewer), 200)
    s4 = ok(call("POST", "/api/v1/marketplace/sequence-check/install", {"name": unique("oa-mk")}),
            201).json
    assert_error(call("POST", "/api/v1/marketplace/no-such-item/install"), 404, "not_found")

    for sid in (s["id"], s2["id"], s3["id"], s4["id"]):
        ok(call("DELETE", f"/api/v1/admin/scripts/{sid}"), 204)

    spec = openapi_check.spec()
    answered = set()
    for method, path, status in openapi_check.recorded[start:]:
        tpl, _ = spec.path_item(path)
        if tpl is not None and 200 <= status < 300:
            answered.add((method, tpl))
    everything = {(m, tpl) for m, tpl, _op in spec.operations()}
    assert everything - answered == set(), f"operations without a successful answer: {everything - answered}"


class Headers(http.client.HTTPMessage):
    pass


def headers(**kv):
    h = Headers()
    for k, v in kv.items():
        h[k.replace("_", "-")] = v
    return h


def test_the_checker_rejects_what_the_description_does_not_allow():
    spec = openapi_check.Spec(doc())
    real = call("GET", "/api/v1/admin/tokens")
    assert real.status == 200
    assert spec.check("GET", "/api/v1/admin/tokens", 200, real.headers, real.body) == []
    body = real.json
    assert body["tokens"], body

    def check(status, hdrs, value, method="GET", path="/api/v1/admin/tokens"):
        raw = value if isinstance(value, bytes) else json.dumps(value).encode()
        return spec.check(method, path, status, hdrs, raw)

    json_h = headers(Content_Type="application/json; charset=utf-8", X_Request_Id="abc123")
    assert check(200, json_h, body) == []
    wrong_type = json.loads(json.dumps(body))
    wrong_type["tokens"][0]["created_at"] = 1700000000
    assert check(200, json_h, wrong_type), "a number where a timestamp belongs"
    extra = json.loads(json.dumps(body))
    extra["tokens"][0]["secret"] = "x"
    assert check(200, json_h, extra), "a member the description does not have"
    missing = json.loads(json.dumps(body))
    del missing["tokens"][0]["revoked"]
    assert check(200, json_h, missing), "a required member missing"
    assert check(418, json_h, {"error": {"code": "internal", "message": "m"}}), "an undocumented status"
    assert check(200, headers(Content_Type="application/json"), body), "no X-Request-Id"
    assert check(200, headers(Content_Type="text/html", X_Request_Id="a"), b"<p>"), "another media type"
    assert check(401, json_h, {"error": {"code": "unauthorized", "message": "m"}}), "401 without WWW-Authenticate"
    assert check(403, json_h, {"error": {"code": "not_found", "message": "m"}}), "403 with another code"
    assert check(403, json_h, {"error": {"code": "forbidden", "message": "m"}, "x": 1}), "more than the error"
    assert check(204, json_h, b"{}", method="DELETE", path="/api/v1/admin/tokens/5"), "a body on 204"
    assert check(200, json_h, {}, path="/api/v1/no-such-route"), "success on an undescribed path"
    assert check(405, headers(Content_Type="application/json", X_Request_Id="a", Allow="GET"),
                 {"error": {"code": "method_not_allowed", "message": "m"}}, method="PUT"), "a wrong Allow"
    assert check(405, headers(Content_Type="application/json", X_Request_Id="a", Allow="GET, POST"),
                 {"error": {"code": "method_not_allowed", "message": "m"}}, method="PUT") == []
    # A description with a field's type changed fails the real answer.
    broken = doc()
    broken["components"]["schemas"]["Token"]["properties"]["revoked"] = {"type": "string"}
    assert openapi_check.Spec(broken).check("GET", "/api/v1/admin/tokens", 200, real.headers, real.body)
