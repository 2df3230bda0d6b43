"""Browser sessions (docs/api.md, "Sessions"): POST /api/v1/session with a
token sets the cookie scriptorch_session, which authenticates as that token
until sign-out, the token's revocation or expiry; every request it
authenticates must carry X-Requested-With: scriptorch. The attacks on it
are tried here: a cookie without the header, forged and expired sessions,
a revoked token's session, session fixation, ambiguous cookies."""
import hashlib
import re
import secrets
import time

import pytest

from conftest import assert_error, call, sql, unique, wait_for

XRW = {"X-Requested-With": "scriptorch"}
COOKIE_RE = re.compile(r"^scriptorch_session=([A-Za-z0-9_-]{43}); Path=/api/; Max-Age=(\d+); "
                       r"HttpOnly; SameSite=Strict$")
CLEAR = "scriptorch_session=; Path=/api/; Max-Age=0; HttpOnly; SameSite=Strict"


def new_token(role):
    r = call("POST", "/api/v1/admin/tokens", {"name": unique(f"sess-{role}"), "role": role})
    assert r.status == 201, r
    return r.json


def sign_in(token, extra_headers=None):
    """Signs in with `token`; the session id from the Set-Cookie header."""
    h = dict(XRW)
    h.update(extra_headers or {})
    r = call("POST", "/api/v1/session", {"token": token}, token=None, headers=h)
    assert r.status == 204, r
    assert r.body == b""
    m = COOKIE_RE.match(r.headers.get("Set-Cookie", ""))
    assert m, r.headers.get("Set-Cookie")
    return m.group(1)


def as_session(method, path, sid, body=None, xrw=True, headers=None, **kw):
    h = {"Cookie": f"scriptorch_session={sid}"}
    if xrw:
        h.update(XRW)
    h.update(headers or {})
    return call(method, path, body, token=None, headers=h, **kw)


def session_rows(token_id):
    return int(sql(f"SELECT COUNT(*) FROM sessions WHERE token_id = {token_id}"))


def test_sign_in_sets_a_strict_http_only_cookie_that_authenticates():
    t = new_token("operator")
    before = time.time()
    r = call("POST", "/api/v1/session", {"token": t["token"]}, token=None, headers=XRW)
    assert r.status == 204, r
    cookie = r.headers["Set-Cookie"]
    m = COOKIE_RE.match(cookie)
    assert m, cookie
    # The default session_ttl_s; over plain HTTP, no Secure.
    assert int(m.group(2)) == 43200, cookie
    assert "Secure" not in cookie
    who = as_session("GET", "/api/v1/session", m.group(1))
    assert who.status == 200, who
    assert who.json["token_name"] == t["name"] and who.json["role"] == "operator", who.json
    exp = time.mktime(time.strptime(who.json["expires_at"][:19], "%Y-%m-%dT%H:%M:%S")) - time.timezone
    assert before + 43200 - 120 < exp < time.time() + 43200 + 120, who.json
    # The cookie's token reads what an operator may.
    assert as_session("GET", "/api/v1/executions?limit=1", m.group(1)).status == 200


def test_whoami_with_a_bearer_token_has_no_expiry(viewer):
    r = call("GET", "/api/v1/session", token=viewer)
    assert r.status == 200, r
    assert r.json["role"] == "viewer" and r.json["expires_at"] is None, r.json


def test_only_a_hash_of_the_session_id_is_stored():
    t = new_token("viewer")
    sid = sign_in(t["token"])
    rows = sql(f"SELECT HEX(session_hash) FROM sessions WHERE token_id = {t['id']}").split()
    assert rows == [hashlib.sha256(sid.encode()).hexdigest().upper()], rows
    assert sid not in sql("SELECT CONCAT(HEX(session_hash), token_id) FROM sessions")


def test_a_cookie_request_without_x_requested_with_is_forbidden():
    t = new_token("admin")
    sid = sign_in(t["token"])
    for method, path, body in (("GET", "/api/v1/executions", None),
                               ("GET", "/api/v1/session", None),
                               ("POST", "/api/v1/admin/tokens", {"name": unique("csrf"), "role": "admin"})):
        r = as_session(method, path, sid, body, xrw=False)
        err = assert_error(r, 403, "forbidden")
        assert "X-Requested-With" in err["message"], err
        # Another value is no better.
        r = as_session(method, path, sid, body, xrw=False, headers={"X-Requested-With": "XMLHttpRequest"})
        assert_error(r, 403, "forbidden")
    # Nothing was created by the forged POST.
    assert "csrf-" not in call("GET", "/api/v1/admin/tokens").body.decode()
    # With the header the same session works.
    assert as_session("GET", "/api/v1/executions", sid).status == 200


def test_sign_in_needs_the_header_too():
    t = new_token("viewer")
    r = call("POST", "/api/v1/session", {"token": t["token"]}, token=None)
    assert_error(r, 403, "forbidden")
    assert r.headers.get("Set-Cookie") is None
    assert session_rows(t["id"]) == 0


def test_sign_in_refuses_unknown_and_revoked_tokens_and_bad_bodies():
    r = call("POST", "/api/v1/session", {"token": "sto_" + "A" * 43}, token=None, headers=XRW)
    assert_error(r, 401, "unauthorized")
    assert r.headers.get("Set-Cookie") is None
    t = new_token("admin")
    assert call("DELETE", f"/api/v1/admin/tokens/{t['id']}").status == 204
    err = assert_error(call("POST", "/api/v1/session", {"token": t["token"]}, token=None, headers=XRW),
                       401, "unauthorized")
    assert "revoked" in err["message"], err
    assert_error(call("POST", "/api/v1/session", {"token": 5}, token=None, headers=XRW),
                 422, "validation_failed", "token")
    assert_error(call("POST", "/api/v1/session", {"token": "x", "role": "admin"}, token=None, headers=XRW),
                 422, "validation_failed", "role")
    assert_error(call("POST", "/api/v1/session", {}, token=None, headers=XRW), 422, "validation_failed", "token")
    assert_error(call("POST", "/api/v1/session", raw=b"{", token=None,
                      headers=dict(XRW, **{"Content-Type": "application/json"})), 400, "bad_json")


@pytest.mark.parametrize("value", [
    secrets.token_urlsafe(32),           # the right form, never issued
    "A" * 43,
    "short",
    "x" * 44,
    "../../etc/passwd",
])
def test_a_forged_session_is_refused_and_forgotten(value):
    r = as_session("GET", "/api/v1/executions", value)
    err = assert_error(r, 401, "unauthorized")
    assert "sign in" in err["message"], err
    assert r.headers.get("Set-Cookie") == CLEAR, r.headers.get("Set-Cookie")


def test_sign_out_ends_the_session():
    t = new_token("operator")
    sid = sign_in(t["token"])
    assert as_session("GET", "/api/v1/session", sid).status == 200
    # A sign-out without the header is refused and changes nothing.
    assert_error(as_session("DELETE", "/api/v1/session", sid, xrw=False), 403, "forbidden")
    assert as_session("GET", "/api/v1/session", sid).status == 200
    r = as_session("DELETE", "/api/v1/session", sid)
    assert r.status == 204, r
    assert r.headers.get("Set-Cookie") == CLEAR
    assert_error(as_session("GET", "/api/v1/session", sid), 401, "unauthorized")
    assert session_rows(t["id"]) == 0
    # Again, or with no cookie at all: still 204.
    assert as_session("DELETE", "/api/v1/session", sid).status == 204
    assert call("DELETE", "/api/v1/session", token=None).status == 204
    # The token itself still works: only the session ended.
    assert call("GET", "/api/v1/session", token=t["token"]).status == 200


def test_revoking_the_token_ends_its_sessions_at_once():
    t = new_token("admin")
    sids = [sign_in(t["token"]), sign_in(t["token"])]
    assert session_rows(t["id"]) == 2
    for sid in sids:
        assert as_session("GET", "/api/v1/admin/tokens", sid).status == 200
    assert call("DELETE", f"/api/v1/admin/tokens/{t['id']}").status == 204
    for sid in sids:
        r = as_session("GET", "/api/v1/admin/tokens", sid)
        assert_error(r, 401, "unauthorized")
        assert r.headers.get("Set-Cookie") == CLEAR
    assert session_rows(t["id"]) == 0


def test_a_session_of_a_token_revoked_behind_its_back_is_refused():
    """A revocation the sessions table did not hear of (another node's
    older daemon, a manual UPDATE): the lookup checks the token too."""
    t = new_token("admin")
    sid = sign_in(t["token"])
    sql(f"UPDATE tokens SET revoked_at = UTC_TIMESTAMP(3) WHERE id = {t['id']}")
    err = assert_error(as_session("GET", "/api/v1/session", sid), 401, "unauthorized")
    assert "revoked" in err["message"], err


def test_an_expired_session_is_refused_and_the_janitor_deletes_it():
    t = new_token("viewer")
    sid = sign_in(t["token"])
    assert as_session("GET", "/api/v1/session", sid).status == 200
    sql(f"UPDATE sessions SET expires_at = UTC_TIMESTAMP(3) - INTERVAL 1 SECOND WHERE token_id = {t['id']}")
    err = assert_error(as_session("GET", "/api/v1/session", sid), 401, "unauthorized")
    assert "expired" in err["message"], err
    wait_for(lambda: session_rows(t["id"]) == 0, timeout=30, what="the janitor to delete the expired session")


def test_session_fixation_a_brought_id_is_never_adopted():
    t = new_token("admin")
    planted = secrets.token_urlsafe(32)
    got = sign_in(t["token"], {"Cookie": f"scriptorch_session={planted}"})
    assert got != planted
    assert_error(as_session("GET", "/api/v1/session", planted), 401, "unauthorized")
    assert as_session("GET", "/api/v1/session", got).status == 200


def test_signing_in_again_ends_the_former_session():
    a, b = new_token("viewer"), new_token("admin")
    first = sign_in(a["token"])
    second = sign_in(b["token"], {"Cookie": f"scriptorch_session={first}"})
    assert second != first
    assert_error(as_session("GET", "/api/v1/session", first), 401, "unauthorized")
    who = as_session("GET", "/api/v1/session", second)
    assert who.json["token_name"] == b["name"], who.json


def test_two_session_cookies_are_refused():
    t = new_token("admin")
    s1, s2 = sign_in(t["token"]), sign_in(t["token"])
    r = call("GET", "/api/v1/session", token=None,
             headers=dict(XRW, Cookie=f"scriptorch_session={s1}; other=1; scriptorch_session={s2}"))
    err = assert_error(r, 401, "unauthorized")
    assert "several" in err["message"], err
    # Other cookies beside the one are fine.
    r = call("GET", "/api/v1/session", token=None,
             headers=dict(XRW, Cookie=f"theme=dark; scriptorch_session={s1}; lang=en"))
    assert r.status == 200, r


def test_the_session_has_its_tokens_role_and_a_bearer_token_wins(viewer):
    v = new_token("viewer")
    sid = sign_in(v["token"])
    assert_error(as_session("POST", "/api/v1/admin/tokens", sid, {"name": unique("x"), "role": "viewer"}),
                 403, "forbidden")
    a = new_token("admin")
    admin_sid = sign_in(a["token"])
    # A viewer's bearer token with an admin's cookie: the bearer token counts.
    r = call("GET", "/api/v1/session", token=viewer, headers={"Cookie": f"scriptorch_session={admin_sid}"})
    assert r.status == 200 and r.json["role"] == "viewer" and r.json["expires_at"] is None, r


def test_a_sign_in_is_audited():
    t = new_token("operator")
    sign_in(t["token"])
    rows = sql(f"SELECT actor, object_id FROM audit_log WHERE action = 'session.open' "
               f"AND object_type = 'token' AND object_id = {t['id']}").splitlines()
    assert rows == [f"{t['name']}\t{t['id']}"], rows


def test_whoami_names_the_token_by_id_among_tokens_of_one_name():
    """Token names are not unique: GET /api/v1/session says which token
    the caller is by its id (the admin UI marks "this session" by it), for
    a bearer token and for a session cookie alike."""
    name = unique("same-name")
    first, second = [call("POST", "/api/v1/admin/tokens", {"name": name, "role": role}).json
                     for role in ("viewer", "operator")]
    assert first["id"] != second["id"] and first["name"] == second["name"] == name
    listed = [t for t in call("GET", "/api/v1/admin/tokens").json["tokens"] if t["name"] == name]
    assert sorted(t["id"] for t in listed) == sorted([first["id"], second["id"]]), listed
    for t in (first, second):
        by_bearer = call("GET", "/api/v1/session", token=t["token"])
        assert by_bearer.status == 200, by_bearer
        assert by_bearer.json["token_id"] == t["id"], (t, by_bearer.json)
        assert by_bearer.json["token_name"] == name and by_bearer.json["expires_at"] is None
        by_cookie = as_session("GET", "/api/v1/session", sign_in(t["token"]))
        assert by_cookie.status == 200, by_cookie
        assert by_cookie.json["token_id"] == t["id"], (t, by_cookie.json)
        assert by_cookie.json["token_name"] == name and by_cookie.json["expires_at"] is not None
        assert by_cookie.json["role"] == t["role"], by_cookie.json
    # The contract's three members are all still there, and only one more.
    assert set(by_cookie.json) == {"token_id", "token_name", "role", "expires_at"}, by_cookie.json
