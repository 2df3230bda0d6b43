"""Secrets (docs/api.md, "Secrets"): a script's secret_env and secret
inputs reach the child, and no API answer, database row or log line of the
stack ever shows one of their values: stdout, stderr (live and final),
output, the output file and the error are masked; the script shows each
secret_env name with "***"; the stored input shows "***" for each secret
property. Every answer this module gets is kept and searched at its end,
with the whole database (mariadb-dump) and the daemon's log."""
import hashlib
import json
import os
import pty
import re
import select
import shutil
import string
import subprocess
import textwrap
import time
import uuid

import pytest

import conftest
from conftest import (SCRIPT_ROOT, STATE, assert_error, children, make_token, reload_daemon,
                      sql, stackctl, unique, wait_for)

BASE = "/api/v1/admin/scripts"
KEY_FILE = os.path.join(STATE, "secret.key")

# Every value this module treats as secret, and every answer it got.
SECRETS = []
ANSWERS = []


def secret(prefix="s3cr3t"):
    value = f"{prefix}-{uuid.uuid4().hex[:12]}"
    SECRETS.append(value)
    return value


def call(*args, **kwargs):
    """conftest.call, with the answer kept for the final search."""
    r = conftest.call(*args, **kwargs)
    ANSWERS.append(r.body)
    return r


def sha(text):
    return hashlib.sha256(text.encode()).hexdigest()


def write_script(name, body):
    path = os.path.join(SCRIPT_ROOT, name)
    with open(path, "w") as f:
        f.write(textwrap.dedent(body).lstrip())
    os.chmod(path, 0o755)
    return path


def register(path, **fields):
    body = {"name": unique("sec"), "type": "shell", "path": path}
    body.update(fields)
    r = call("POST", BASE, body)
    assert r.status == 201, r
    return r.json


def submit(script_id, input_, wait=60):
    path = f"/api/v1/scripts/{script_id}/executions" + (f"?wait={wait}" if wait else "")
    r = call("POST", path, {"input": input_}, timeout=(wait or 0) + 60)
    assert r.status in (200, 202), r
    return r.json


def get(exec_id):
    r = call("GET", f"/api/v1/executions/{exec_id}")
    assert r.status == 200, r
    return r.json


def wait_final(exec_id, timeout=60):
    return wait_for(lambda: (lambda e: e if e["status"] not in ("queued", "running") else None)(get(exec_id)),
                    timeout=timeout, interval=0.05, what=f"execution {exec_id} to end")


def leaks(text, values=None):
    """The secret values found in `text` (str or bytes)."""
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    return [v for v in (values or SECRETS) if v in text]


def db_dump():
    out = subprocess.run(["mariadb-dump", "--no-defaults", f"--socket={STATE}/mysql.sock", "-uroot",
                          "--skip-extended-insert", "scriptorch"],
                         check=True, capture_output=True)
    return out.stdout.decode("utf-8", "replace")


def runners():
    return set(children("sto-runner"))


def reload_all():
    """SIGHUP, then waits for a new generation of API workers (conftest)
    and of runners: the old ones hold the old key. An old runner still
    busy with a run (another module's, say) takes no new work and leaves
    when it is done: it may stay."""
    before = runners()
    reload_daemon()

    def settled():
        now = runners()
        if len(now - before) < len(before):
            return False
        old = now & before
        if not old:
            return True
        busy = sql("SELECT runner_pid FROM executions WHERE status = 'running' AND runner_pid IN (%s)"
                   % ",".join(str(p) for p in old))
        return {int(p) for p in busy.split()} >= old

    wait_for(settled, timeout=60, what="a new generation of runners, the old ones gone or busy")


# ---- the script every test runs ---------------------------------------------

PROBE = """
    #!/usr/bin/python3
    # Prints its secrets everywhere it can, and their sha256 for the test.
    import hashlib, json, os, sys
    inp = json.load(sys.stdin)
    key, pw, pin = os.environ["API_KEY"], inp["password"], inp["pin"]
    h = lambda v: hashlib.sha256(v.encode()).hexdigest()
    print(json.dumps({"env": key, "input": pw, "pin": str(pin), "env_input": os.environ["INPUT_PASSWORD"],
                      "plain": os.environ["PLAIN"], "user": inp["user"], "argv": sys.argv[1:],
                      "sha_env": h(key), "sha_input": h(pw), "sha_pin": h(str(pin))}))
    sys.stderr.write("stderr has %s and %s and %s\\n" % (key, pw, pin))
    with open(os.environ["SCRIPTORCH_OUTPUT_FILE"], "w") as f:
        f.write("file has %s and %s" % (key, pw))
    """

INPUTS = {"type": "object", "required": ["password", "pin"],
          "properties": {"user": {"type": "string"},
                         "password": {"type": "string", "secret": True},
                         "pin": {"type": "integer", "secret": True}}}


@pytest.fixture(scope="module")
def probe_path():
    return write_script(unique("probe") + ".py", PROBE)


@pytest.fixture(scope="module", autouse=True)
def nothing_leaked():
    """After every test of the module: no kept answer, no database row and
    no log line holds a secret value."""
    log_offset = conftest.daemon_log_size()
    yield
    found = [(i, leaks(body)) for i, body in enumerate(ANSWERS) if leaks(body)]
    assert not found, f"answers that show a secret: {found[:5]}"
    dump = db_dump()
    assert not leaks(dump), f"the database holds {leaks(dump)}"
    assert not leaks(stackctl("log")), "the daemon's log shows a secret"
    assert not leaks(conftest.daemon_log_since(log_offset))


def probe_script(path, **fields):
    return register(path, input_mode="both", inputs=INPUTS, env={"PLAIN": "plain-value"},
                    outputs={"stdout": "json", "file": "out.txt"}, args=["{password}"],
                    secret_env={"API_KEY": fields.pop("api_key")}, **fields)


# ---- tests -------------------------------------------------------------------

@pytest.mark.parametrize("path_taken", ["reserved runner", "async", "queue scan"])
def test_secrets_reach_the_child_and_show_nowhere(probe_path, path_taken):
    api_key, pw, pin = secret("key"), secret("pw"), 7391826455
    SECRETS.append(str(pin))
    s = probe_script(probe_path, api_key=api_key,
                     max_concurrency=1 if path_taken == "queue scan" else None)
    assert s["secret_env"] == {"API_KEY": "***"}
    assert s["env"] == {"PLAIN": "plain-value"}, "an admin sees env values"
    inp = {"user": "bob", "password": pw, "pin": pin}
    if path_taken == "async":
        queued = submit(s["id"], inp, wait=None)
        assert queued["input"] == {"user": "bob", "password": "***", "pin": "***"}, queued
        e = wait_final(queued["id"])
    else:
        e = submit(s["id"], inp)
        if e["status"] in ("queued", "running"):
            e = wait_final(e["id"])
    assert e["status"] == "succeeded", e
    assert e["input"] == {"user": "bob", "password": "***", "pin": "***"}

    # The child got every value: their sha256 say so.
    out = e["output"]
    assert out["sha_env"] == sha(api_key) and out["sha_input"] == sha(pw) and out["sha_pin"] == sha(str(pin))
    # And everything it wrote is masked.
    assert out == {"env": "***", "input": "***", "pin": "***", "env_input": "***", "plain": "plain-value",
                   "user": "bob", "argv": ["***"], "sha_env": sha(api_key), "sha_input": sha(pw),
                   "sha_pin": sha(str(pin))}, out
    assert '"env": "***"' in e["stdout"] and '"input": "***"' in e["stdout"]
    assert e["stderr"] == "stderr has *** and *** and ***\n"
    assert e["output_file"] == "file has *** and ***"
    assert e["error"] is None
    assert leaks(json.dumps(e), [api_key, pw, str(pin)]) == []

    # The other ways to read it.
    for stream in ("stdout", "stderr"):
        r = call("GET", f"/api/v1/executions/{e['id']}/{stream}")
        assert r.status == 200 and b"***" in r.body and not leaks(r.body), r
    r = call("GET", f"/api/v1/executions?script_id={s['id']}")
    assert r.status == 200 and r.json["executions"][0]["id"] == e["id"]
    r = call("GET", f"{BASE}/{s['id']}")
    assert r.json["secret_env"] == {"API_KEY": "***"}
    call("GET", BASE)
    call("GET", f"{BASE}/{s['id']}/versions")

    # The rows themselves.
    rows = sql(f"SELECT input, input_secret, stdout, stderr, output, output_file, error "
               f"FROM executions WHERE id = {e['id']}")
    assert "v1:" in rows and not leaks(rows, [api_key, pw, str(pin)]), rows
    rows = sql(f"SELECT env, secret_env FROM scripts WHERE id = {s['id']}")
    assert "API_KEY" in rows and "v1:" in rows and api_key not in rows, rows
    assert api_key not in sql("SELECT detail FROM audit_log")


def test_the_error_path_is_masked(probe_path):
    """A secret in what makes the error: here a duplicate key of stdout's
    JSON, which the parser quotes in its message."""
    api_key = secret("errkey")
    path = write_script(unique("dupkey") + ".sh", """
        #!/bin/sh
        printf '{"%s": 1, "%s": 2}' "$API_KEY" "$API_KEY"
        printf '%s' "$API_KEY" >&2
        exit 3
        """)
    s = register(path, outputs={"stdout": "json"}, secret_env={"API_KEY": api_key})
    e = submit(s["id"], {})
    assert e["status"] == "failed" and e["exit_code"] == 3, e
    assert e["output"] is None
    assert e["error"].startswith("stdout is not valid JSON: duplicate key"), e
    assert "***" in e["error"] and api_key not in e["error"]
    assert e["stdout"] == '{"***": 1, "***": 2}' and e["stderr"] == "***"


def test_live_output_is_masked_while_it_runs():
    api_key = secret("livekey")
    path = write_script(unique("live") + ".sh", """
        #!/bin/sh
        echo "out: $API_KEY"
        echo "err: $API_KEY" >&2
        sleep 60
        """)
    s = register(path, secret_env={"API_KEY": api_key}, timeout_s=120)
    e = submit(s["id"], {}, wait=None)
    try:
        live = wait_for(lambda: (lambda x: x if x["status"] == "running" and x["stdout"] and x["stderr"]
                                 else None)(get(e["id"])), timeout=30, what="live output")
        assert live["stdout"] == "out: ***\n" and live["stderr"] == "err: ***\n", live
        rows = sql(f"SELECT status, stdout, stderr FROM executions WHERE id = {e['id']}")
        assert rows.startswith("running") and "***" in rows and api_key not in rows, rows
    finally:
        r = call("POST", f"/api/v1/executions/{e['id']}/cancel")
        assert r.status == 200, r
    assert wait_final(e["id"])["status"] == "canceled"


def test_a_secret_across_the_truncation_cut_is_masked():
    """Output past the cap keeps its first and last half-cap bytes: a value
    written across either edge of the dropped middle shows in part; that
    part is masked too. The value is uppercase letters only, which nothing
    else printed has."""
    key = "Q" + "".join(c for c in uuid.uuid4().hex.upper() if c in string.ascii_uppercase)
    key = (key + "ZJXKVWYQZJXKVWY")[:16]
    SECRETS.append(key)
    half = 1048576 // 2     # the stack's output_cap_bytes (the default) / 2
    path = write_script(unique("cut") + ".py", f"""
        #!/usr/bin/python3
        import os, sys
        key = os.environ["API_KEY"].encode()
        out = sys.stdout.buffer
        out.write(b"a" * ({half} - 5) + key)       # 5 bytes of it in the head
        out.write(b"." * 100000)
        out.write(key)                              # its start 7 bytes before the tail's
        out.write(b"b" * ({half} + 7 - len(key)))
        """)
    s = register(path, secret_env={"API_KEY": key})
    e = submit(s["id"], {})
    assert e["status"] == "succeeded" and e["stdout_truncated"], {k: e[k] for k in ("status", "error")}
    head, marker, tail = re.split(r"(\n\[\.\.\. \d+ bytes omitted \.\.\.\]\n)", e["stdout"])
    assert head.endswith("a***") and tail.startswith("***b"), (head[-20:], tail[:20])
    raw = call("GET", f"/api/v1/executions/{e['id']}/stdout").body.decode()
    assert raw == e["stdout"]
    assert not set(raw) & set(string.ascii_uppercase), "no byte of the value is left"


def test_patch_null_removes_a_secret_and_a_value_replaces_it(probe_path):
    first, second = secret("first"), secret("second")
    path = write_script(unique("envsha") + ".py", """
        #!/usr/bin/python3
        import hashlib, json, os
        print(json.dumps({k: hashlib.sha256(os.environ[k].encode()).hexdigest() if k in os.environ else None
                          for k in ("API_KEY", "OTHER")}))
        """)
    s = register(path, outputs={"stdout": "json"}, secret_env={"API_KEY": first, "OTHER": secret("other")})
    version = s["version"]
    assert submit(s["id"], {})["output"]["API_KEY"] == sha(first)

    r = call("PATCH", f"{BASE}/{s['id']}", {"secret_env": {"API_KEY": second}})
    assert r.status == 200 and r.json["secret_env"] == {"API_KEY": "***", "OTHER": "***"}, r
    assert r.json["version"] == version, "a secret is not part of the version"
    out = submit(s["id"], {})["output"]
    assert out["API_KEY"] == sha(second) and out["OTHER"] is not None

    # What a read shows, written back, keeps the values.
    r = call("PATCH", f"{BASE}/{s['id']}", {"secret_env": r.json["secret_env"]})
    assert r.status == 200, r
    assert submit(s["id"], {})["output"]["API_KEY"] == sha(second)

    r = call("PATCH", f"{BASE}/{s['id']}", {"secret_env": {"API_KEY": None}})
    assert r.status == 200 and r.json["secret_env"] == {"OTHER": "***"}, r
    out = submit(s["id"], {})["output"]
    assert out["API_KEY"] is None and out["OTHER"] is not None
    r = call("PATCH", f"{BASE}/{s['id']}", {"secret_env": None})
    assert r.status == 200 and r.json["secret_env"] == {}, r
    assert submit(s["id"], {})["output"] == {"API_KEY": None, "OTHER": None}
    assert sql(f"SELECT secret_env IS NULL FROM scripts WHERE id = {s['id']}") == "1"
    detail = sql(f"SELECT detail FROM audit_log WHERE object_id = {s['id']} AND action = 'script.update'")
    assert "secret_env" in detail


def test_names_and_placement_are_checked(probe_path):
    s = register(probe_path, env={"STUDIO": "acme"})
    for body, field in [({"secret_env": {"PATH": "x-value"}}, "secret_env.PATH"),
                        ({"secret_env": {"INPUT_X": "x-value"}}, "secret_env.INPUT_X"),
                        ({"secret_env": {"SCRIPTORCH_Y": "x-value"}}, "secret_env.SCRIPTORCH_Y"),
                        ({"secret_env": {"2BAD": "x-value"}}, "secret_env.2BAD"),
                        ({"secret_env": {"STUDIO": "x-value"}}, "secret_env.STUDIO"),
                        ({"secret_env": {"NEW": "***"}}, "secret_env.NEW"),
                        ({"secret_env": {"A": 5}}, "secret_env.A"),
                        ({"secret_env": "A=b"}, "secret_env"),
                        ({"inputs": {"type": "object", "secret": True}}, "inputs.secret"),
                        ({"inputs": {"properties": {"a": {"properties": {"b": {"secret": True}}}}}},
                         "inputs.properties.a.properties.b.secret")]:
        assert_error(call("PATCH", f"{BASE}/{s['id']}", body), 422, "validation_failed", field)


def test_non_admins_see_env_values_masked(viewer, operator):
    s = register(write_script(unique("plain") + ".sh", "#!/bin/sh\necho hi\n"),
                 env={"STUDIO": "acme", "REGION": "eu-west"}, secret_env={"TOKEN": secret("tok")})
    for tok in (viewer, operator):
        one = call("GET", f"{BASE}/{s['id']}", token=tok).json
        assert one["env"] == {"STUDIO": "***", "REGION": "***"}, one
        assert one["secret_env"] == {"TOKEN": "***"}
        listed = [x for x in call("GET", BASE, token=tok).json["scripts"] if x["id"] == s["id"]]
        assert listed[0]["env"] == {"STUDIO": "***", "REGION": "***"}
        assert "acme" not in json.dumps(listed) and "eu-west" not in json.dumps(one)
    admin = call("GET", f"{BASE}/{s['id']}").json
    assert admin["env"] == {"STUDIO": "acme", "REGION": "eu-west"}
    assert admin["secret_env"] == {"TOKEN": "***"}


# ---- secrets through the admin CLI ---------------------------------------------

def scriptorchd_script(*args, input="", stdin=None):
    """`scriptorchd script ARGS...` with `input` on its standard input (or
    the descriptor `stdin`); its stdout and stderr are kept as answers, so
    that the module's end searches them too."""
    argv = [os.path.join(os.environ["SCRIPTORCH_BUILD"], "src/scriptorchd"), "-c",
            os.path.join(STATE, "scriptorch.conf"), "script", *args]
    if stdin is not None:
        r = subprocess.run(argv, stdin=stdin, capture_output=True, text=True, timeout=60)
    else:
        r = subprocess.run(argv, input=input, capture_output=True, text=True, timeout=60)
    ANSWERS.append((r.stdout + r.stderr).encode())
    return r


def quiet(stderr):
    """Nothing on stderr but the log's info lines (the registry's)."""
    return all(line.startswith("info ") for line in stderr.splitlines())


ENV_SHA = """
    #!/usr/bin/python3
    import hashlib, json, os
    print(json.dumps({k: hashlib.sha256(v.encode()).hexdigest()
                      for k, v in os.environ.items() if k in ("API_KEY", "OTHER", "THIRD", "NEW")}))
    """


def env_hashes(script_id):
    e = submit(script_id, {})
    assert e["status"] == "succeeded", e
    return e["output"]


def stored_secret_env(script_id):
    """The row's secret_env: each name with its stored (sealed) text."""
    text = sql(f"SELECT secret_env FROM scripts WHERE id = {script_id}")
    return {} if text in ("", "NULL") else json.loads(text)


def test_the_cli_reads_secrets_from_stdin_and_files_seals_them_and_prints_none():
    first, other, third = secret("cli1"), secret("cli2"), secret("cli3")
    path = write_script(unique("clisha") + ".py", ENV_SHA)
    vfile = os.path.join(STATE, unique("third") + ".secret")
    with open(vfile, "w") as f:
        f.write(third + "\n")          # the file's last newline is not the value's
    name = unique("clisec")
    r = scriptorchd_script("add", "--name", name, "--type", "python", "--path", path,
                           "--outputs", '{"stdout": "json"}', "--secret-env", "API_KEY",
                           "--secret-env", "OTHER", "--secret-env-file", f"THIRD={vfile}",
                           input=f"{first}\n{other}\n")
    assert r.returncode == 0 and quiet(r.stderr), r
    sid = int(r.stdout.split("\t")[0])
    assert not leaks(r.stdout + r.stderr)
    # Stored sealed: each value in the row is "v1:" and base64, none in clear.
    row = stored_secret_env(sid)
    assert sorted(row) == ["API_KEY", "OTHER", "THIRD"], row
    assert all(re.fullmatch(r"v1:[A-Za-z0-9+/=]+", v) for v in row.values()), row
    assert not leaks(json.dumps(row))
    # ...and they open to exactly what was given.
    assert env_hashes(sid) == {"API_KEY": sha(first), "OTHER": sha(other), "THIRD": sha(third)}
    r = scriptorchd_script("show", name)
    assert r.returncode == 0 and '"API_KEY": "***"' in r.stdout and not leaks(r.stdout), r
    assert call("GET", f"{BASE}/{sid}").json["secret_env"] == {
        "API_KEY": "***", "OTHER": "***", "THIRD": "***"}

    # update: one value replaced, the others kept; one name removed.
    newer = secret("cli4")
    r = scriptorchd_script("update", name, "--secret-env", "API_KEY", "--reset", "secret_env.OTHER",
                           input=newer + "\r\n")
    assert r.returncode == 0 and quiet(r.stderr), r
    assert env_hashes(sid) == {"API_KEY": sha(newer), "THIRD": sha(third)}
    # --reset secret_env with a name: that name alone is left.
    with open(vfile, "w") as f:
        f.write(first)
    r = scriptorchd_script("update", str(sid), "--reset", "secret_env",
                           "--secret-env-file", f"NEW={vfile}")
    assert r.returncode == 0, r
    assert env_hashes(sid) == {"NEW": sha(first)}
    assert sorted(stored_secret_env(sid)) == ["NEW"]
    r = scriptorchd_script("update", name, "--reset", "secret_env")
    assert r.returncode == 0 and stored_secret_env(sid) == {}, r
    os.unlink(vfile)


def test_the_cli_never_takes_or_shows_a_secret_on_its_command_line_or_in_errors():
    value = secret("argv")
    path = write_script(unique("clisha") + ".sh", "#!/bin/sh\ntrue\n")
    name = unique("clibad")
    # NAME=VALUE on the command line is refused without repeating it.
    r = scriptorchd_script("add", "--name", name, "--type", "shell", "--path", path,
                           "--secret-env", f"TOKEN={value}")
    assert r.returncode == 2 and "--secret-env takes a NAME only" in r.stderr, r
    assert value not in r.stderr
    # A refused add: the fields at fault named, the secret read but never shown.
    r = scriptorchd_script("add", "--name", name, "--type", "shell", "--path", path,
                           "--secret-env", "TOKEN", "--secret-env", "PATH", "--timeout", "0",
                           input=f"{value}\n{secret('path')}\n")
    assert r.returncode == 1, r
    assert "secret_env.PATH (--secret-env PATH): " in r.stderr, r
    assert "timeout_s (--timeout): " in r.stderr, r
    # No value: standard input ends before it.
    r = scriptorchd_script("add", "--name", name, "--type", "shell", "--path", path,
                           "--secret-env", "A", "--secret-env", "B", input=f"{value}\n")
    assert r.returncode == 1 and "--secret-env B: no value" in r.stderr, r
    assert call("GET", f"{BASE}?q={name}").json["scripts"] == []


def test_the_cli_asks_for_a_secret_on_a_terminal_and_does_not_echo_it():
    value = secret("tty")
    path = write_script(unique("clisha") + ".py", ENV_SHA)
    name = unique("clitty")
    master, slave = pty.openpty()
    argv = [os.path.join(os.environ["SCRIPTORCH_BUILD"], "src/scriptorchd"), "-c",
            os.path.join(STATE, "scriptorch.conf"), "script", "add", "--name", name, "--type",
            "python", "--path", path, "--outputs", '{"stdout": "json"}', "--secret-env", "API_KEY"]
    p = subprocess.Popen(argv, stdin=slave, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    os.close(slave)
    try:
        # The prompt comes on stderr; then the terminal takes the value.
        prompt = b""
        deadline = time.monotonic() + 30
        while b"(not shown): " not in prompt:
            assert time.monotonic() < deadline, f"no prompt: {prompt!r}"
            ready, _, _ = select.select([p.stderr], [], [], 1)
            if ready:
                chunk = os.read(p.stderr.fileno(), 4096)
                assert chunk, f"stderr ended without a prompt: {prompt!r}"
                prompt += chunk
        assert prompt == b"value of secret API_KEY (not shown): ", prompt
        os.write(master, value.encode() + b"\n")
        out, err = p.communicate(timeout=60)
        # What the terminal showed: its echo of what was typed.
        shown = b""
        while select.select([master], [], [], 0.2)[0]:
            try:
                chunk = os.read(master, 4096)
            except OSError:             # EIO: the other end is closed
                break
            if not chunk:
                break
            shown += chunk
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
        os.close(master)
    ANSWERS.extend([out, err, shown])
    assert p.returncode == 0, (out, err)
    assert value.encode() not in shown, f"the terminal echoed the secret: {shown!r}"
    sid = int(out.split(b"\t")[0])
    assert env_hashes(sid) == {"API_KEY": sha(value)}


@pytest.fixture
def key_restored():
    """Keeps the stack's key, and puts it back (and reloads) after the test."""
    saved = KEY_FILE + ".saved"
    shutil.copy2(KEY_FILE, saved)
    yield
    if os.path.exists(KEY_FILE):
        os.unlink(KEY_FILE)
    os.rename(saved, KEY_FILE)
    reload_all()


def test_another_key_ends_the_run_in_error_not_a_crash(probe_path, key_restored):
    api_key = secret("oldkey")
    s = probe_script(probe_path, api_key=api_key)
    # A new key in place of the old one, as after a lost key file.
    os.unlink(KEY_FILE)
    old_umask = os.umask(0o077)
    try:
        with open(KEY_FILE, "w") as f:
            f.write(os.urandom(32).hex() + "\n")
    finally:
        os.umask(old_umask)
    master = int(stackctl("daemon-pid"))
    reload_all()
    e = submit(s["id"], {"user": "u", "password": secret("pw2"), "pin": 1})
    if e["status"] in ("queued", "running"):
        e = wait_final(e["id"])
    assert e["status"] == "error", e
    assert e["error"] == ("secret_env API_KEY cannot be opened: a sealed secret does not open with "
                          "this node's key (another key, or altered)"), e
    assert int(stackctl("daemon-pid")) == master and runners(), "nothing crashed"
    # A new value sealed under the new key runs.
    r = call("PATCH", f"{BASE}/{s['id']}", {"secret_env": {"API_KEY": secret("newkey")}})
    assert r.status == 200, r
    e = submit(s["id"], {"user": "u", "password": secret("pw3"), "pin": 2})
    assert e["status"] == "succeeded", e


def test_without_a_key_secrets_are_refused(probe_path, key_restored):
    s = probe_script(probe_path, api_key=secret("keyless"))
    offset = conftest.daemon_log_size()
    os.unlink(KEY_FILE)
    reload_all()
    assert "no secret key file" in conftest.daemon_log_since(offset)
    err = assert_error(call("PATCH", f"{BASE}/{s['id']}", {"secret_env": {"API_KEY": secret("nokey")}}),
                       422, "validation_failed", "secret_env.API_KEY")
    assert "no secret key" in err["message"]
    err = assert_error(call("POST", f"/api/v1/scripts/{s['id']}/executions",
                            {"input": {"password": secret("nokeypw"), "pin": 3}}),
                       422, "validation_failed", "input")
    assert "no secret key" in err["message"]
    # What needs no key still works: removing a name, runs without secrets.
    r = call("PATCH", f"{BASE}/{s['id']}", {"secret_env": {"API_KEY": None}, "inputs": None})
    assert r.status == 200 and r.json["secret_env"] == {}, r


def test_a_key_file_of_a_bad_mode_or_form_refuses_the_start(tmp_path):
    conf = open(os.path.join(STATE, "scriptorch.conf")).read()
    build = os.environ["SCRIPTORCH_BUILD"]
    for mode, text, words in [(0o644, os.urandom(32).hex() + "\n", "only its owner may read it"),
                              (0o600, "not-a-key\n", "must hold 64 hex characters")]:
        key = tmp_path / "bad.key"
        key.write_text(text)
        key.chmod(mode)
        cf = tmp_path / "bad.conf"
        cf.write_text(re.sub(r"(?m)^secret_key_file = .*$", f"secret_key_file = {key}", conf))
        r = subprocess.run([f"{build}/src/scriptorchd", "-c", str(cf), "check-config"],
                           capture_output=True, text=True, timeout=30)
        assert r.returncode == 1 and words in r.stderr, r
        key.unlink()
