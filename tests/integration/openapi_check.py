"""Checks HTTP answers against the API's OpenAPI description, docs/openapi.json.

conftest.py hands every response of the integration tests to record(); the
problems found wait in a list until the test that caused them ends, and the
test fails then (conftest's autouse fixture), so that every answer any test
receives is an answer the description allows. test_openapi.py uses the same
checker directly.

Only paths under /api/ are the API; others (the admin UI, the dev stack's
package index) are not checked.
"""
import json
import os
import threading

from jsonschema import Draft202012Validator

HERE = os.path.dirname(os.path.abspath(__file__))
DOC_PATH = os.path.join(os.path.dirname(os.path.dirname(HERE)), "docs", "openapi.json")

METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
# nginx's own refusals, described in info.description rather than per
# operation: they come before a request has reached any route.
NGINX_ANYWHERE = {400: "bad_request", 414: "too_large", 413: "too_large", 503: "unavailable"}


def split_path(path):
    return path.split("?", 1)[0].split("/")


def cause(error):
    """For "matches none of oneOf/anyOf", the failure inside the alternative
    that got furthest (not the "null" one), which says what is wrong."""
    while error.validator in ("oneOf", "anyOf") and error.context:
        inner = [e for e in error.context if not (e.validator == "type" and e.validator_value == "null")]
        if not inner:
            break
        error = max(inner, key=lambda e: len(e.absolute_path))
    return error


class Spec:
    """The description, with what the checks need: its operations by path
    and a JSON Schema validator for any schema in it (refs resolved within
    the document)."""

    def __init__(self, doc):
        self.doc = doc
        self._validators = {}
        self.templates = [(tpl.split("/"), tpl, item) for tpl, item in doc.get("paths", {}).items()]

    @classmethod
    def load(cls, path=DOC_PATH):
        with open(path, encoding="utf-8") as f:
            return cls(json.load(f))

    def deref(self, obj):
        """Follows a local $ref (responses, headers, parameters) to its target."""
        seen = 0
        while isinstance(obj, dict) and "$ref" in obj:
            ref = obj["$ref"]
            if not ref.startswith("#/"):
                raise KeyError(f"not a local reference: {ref}")
            target = self.doc
            for part in ref[2:].split("/"):
                target = target[part.replace("~1", "/").replace("~0", "~")]
            obj = target
            seen += 1
            if seen > 20:
                raise KeyError(f"reference loop at {ref}")
        return obj

    def validator(self, schema):
        key = json.dumps(schema, sort_keys=True)
        v = self._validators.get(key)
        if v is None:
            # The schema as the root of a document that also holds the
            # components, so "#/components/schemas/X" resolves in it.
            root = dict(schema)
            root["components"] = self.doc.get("components", {})
            v = Draft202012Validator(root)
            self._validators[key] = v
        return v

    def schema_errors(self, schema, instance, limit=5):
        errs = [cause(e) for e in self.validator(schema).iter_errors(instance)]
        # A failed allOf part leaves its members "unevaluated": only noise
        # beside the failure itself.
        if any(e.validator != "unevaluatedProperties" for e in errs):
            errs = [e for e in errs if e.validator != "unevaluatedProperties"]
        errs.sort(key=lambda e: [str(p) for p in e.absolute_path])
        out = []
        for e in errs[:limit]:
            where = "/".join(str(p) for p in e.absolute_path) or "(the body)"
            out.append(f"{where}: {e.message[:300]}")
        return out

    def path_item(self, path):
        """(template, path item) for a request path, or (None, None)."""
        segs = split_path(path)
        if len(segs) > 2 and segs[-1] == "":      # the router tolerates one trailing slash
            segs = segs[:-1]
        best = (-1, None, None)
        for tsegs, tpl, item in self.templates:
            if len(tsegs) != len(segs):
                continue
            if all(t == s or (t.startswith("{") and t.endswith("}") and s != "")
                   for t, s in zip(tsegs, segs)):
                literal = sum(1 for t in tsegs if not t.startswith("{"))
                if literal > best[0]:        # a literal segment beats a parameter
                    best = (literal, tpl, item)
        return best[1], best[2]

    def operations(self):
        """(method in upper case, template, operation) for every operation."""
        for tpl, item in self.doc.get("paths", {}).items():
            for m in METHODS:
                if m in item:
                    yield m.upper(), tpl, item[m]

    def _error_body(self, headers, body, problems):
        ctype = (headers.get("Content-Type") or "").split(";")[0].strip().lower()
        if ctype != "application/json":
            problems.append(f"an error answer with Content-Type {ctype!r}, not application/json")
            return None
        try:
            value = json.loads(body.decode("utf-8"))
        except ValueError as e:
            problems.append(f"an error answer whose body is not JSON: {e}")
            return None
        problems.extend(self.schema_errors({"$ref": "#/components/schemas/Error"}, value))
        return value

    def check(self, method, path, status, headers, body):
        """The ways this answer departs from the description ([] if none)."""
        if not path.startswith("/api/"):
            return []
        method = method.upper()
        problems = []
        if not headers.get("X-Request-Id"):
            problems.append("no X-Request-Id header")
        tpl, item = self.path_item(path)
        if item is None:
            if status < 400:
                problems.append(f"status {status} for a path no operation describes")
            else:
                self._error_body(headers, body, problems)
            return problems
        op = item.get(method.lower())
        if op is None and method == "HEAD":
            op = item.get("get")
        if op is None:
            documented = sorted(m.upper() for m in METHODS if m in item)
            if status == 405:
                allow = sorted(a.strip() for a in (headers.get("Allow") or "").split(",") if a.strip())
                if allow != documented:
                    problems.append(f"405 with Allow {allow}, the description has {documented}")
            elif status not in NGINX_ANYWHERE:
                problems.append(f"status {status} for {method} on {tpl}, which has only {documented}")
            if status >= 400:
                self._error_body(headers, body, problems)
            return problems
        response = op.get("responses", {}).get(str(status))
        if response is None:
            if status in (400, 414):
                err = self._error_body(headers, body, problems)
                if err and err.get("error", {}).get("code") == NGINX_ANYWHERE[status]:
                    return problems
            problems.append(f"status {status} is not documented for {method} {tpl}")
            return problems
        response = self.deref(response)
        for name, h in response.get("headers", {}).items():
            h = self.deref(h)
            value = headers.get(name)
            if value is None:
                if h.get("required"):
                    problems.append(f"no {name} header")
                continue
            if "schema" in h:
                problems.extend(f"header {name}: {e}"
                                for e in self.schema_errors(h["schema"], value))
        content = response.get("content")
        if not content:
            if body:
                problems.append(f"a body ({len(body)} bytes) where none is described")
            return problems
        ctype = (headers.get("Content-Type") or "").split(";")[0].strip().lower()
        if ctype not in content:
            problems.append(f"Content-Type {ctype!r}, described: {sorted(content)}")
            return problems
        if method == "HEAD":
            return problems
        schema = content[ctype].get("schema")
        if ctype == "application/json":
            try:
                value = json.loads(body.decode("utf-8"))
            except ValueError as e:
                problems.append(f"the body is not JSON: {e}")
                return problems
        elif ctype.startswith("text/"):
            try:
                value = body.decode("utf-8")
            except UnicodeDecodeError:
                problems.append(f"a {ctype} body that is not UTF-8")
                return problems
        else:
            return problems          # bytes: nothing to validate
        if schema is not None:
            problems.extend(self.schema_errors(schema, value))
        return problems


# ---- the recorder (conftest.py) -------------------------------------------

_lock = threading.Lock()
_spec = None
_pending = []     # problems not yet reported by a test
recorded = []     # (method, path, status) of every answer checked
outside_tests = []  # problems no test was there to report (conftest)


def spec():
    global _spec
    with _lock:
        if _spec is None:
            _spec = Spec.load()
        return _spec


def record(method, path, resp):
    """Checks one answer of call() and keeps what was wrong with it."""
    try:
        problems = spec().check(method, path, resp.status, resp.headers, resp.body or b"")
    except Exception as e:      # a description the checker cannot use is a failure too
        problems = [f"cannot check: {type(e).__name__}: {e}"]
    with _lock:
        recorded.append((method.upper(), path, resp.status))
        if problems:
            where = f"{method.upper()} {path[:200]} -> {resp.status}"
            _pending.extend(f"{where}: {p}" for p in problems)


def take_problems():
    """The problems recorded since the last call (and forgets them)."""
    with _lock:
        out = list(_pending)
        _pending.clear()
    return out
