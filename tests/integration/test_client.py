"""The command-line client, scriptorch (src/client/), against the real stack:
run (--wait, --follow), executions, show, logs, cancel, scripts, errors and
exit statuses, where its settings come from, config file modes, HTTPS."""
import json
import os
import re
import shutil
import socket
import subprocess
import tempfile
import textwrap
import threading
import time

import pytest

from conftest import ADMIN, SCRIPT_ROOT, URL, call, make_token, unique, wait_for

BUILD = os.environ.get("SCRIPTORCH_BUILD", "")
CLIENT = os.path.join(BUILD, "src", "scriptorch")
CAP = 1048576           # output_cap_bytes of the test stack (the default)
MARKER = re.compile(rb"\n\[\.\.\. (\d+) bytes omitted \.\.\.\]\n")


@pytest.fixture(scope="module", autouse=True)
def client_built():
    assert BUILD, "SCRIPTORCH_BUILD (set by dev/test) names the build dir"
    assert os.access(CLIENT, os.X_OK), f"{CLIENT} is not built"


@pytest.fixture()
def home(tmp_path):
    """An empty home of the client's own, so no config file of the
    machine's user is read."""
    d = tmp_path / "home"
    d.mkdir()
    return d


def client_env(home, **settings):
    """The environment of one client run: nothing SCRIPTORCH_* of the test
    run's own, HOME an empty dir, then `settings` (None removes)."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("SCRIPTORCH_") and k != "XDG_CONFIG_HOME"}
    env["HOME"] = str(home)
    for k, v in settings.items():
        if v is not None:
            env[k] = v
    return env


def cli(*args, home, stdin=None, timeout=120, **settings):
    """Runs the client to its end: CompletedProcess with bytes."""
    if "SCRIPTORCH_URL" not in settings:
        settings["SCRIPTORCH_URL"] = URL
    if "SCRIPTORCH_TOKEN" not in settings:
        settings["SCRIPTORCH_TOKEN"] = ADMIN
    return subprocess.run([CLIENT, *args], input=stdin, capture_output=True,
                          env=client_env(home, **settings), timeout=timeout)


def write_script(name, body, mode=0o755):
    path = os.path.join(SCRIPT_ROOT, name)
    with open(path, "w") as f:
        f.write(textwrap.dedent(body).lstrip())
    os.chmod(path, mode)
    return path


def register(body, **fields):
    name = unique("cli")
    path = write_script(name + ".sh", body)
    spec = {"name": name, "type": "shell", "path": path}
    spec.update(fields)
    r = call("POST", "/api/v1/admin/scripts", spec)
    assert r.status == 201, r
    return r.json


def get(exec_id):
    r = call("GET", f"/api/v1/executions/{exec_id}")
    assert r.status == 200, r
    return r.json


def numbered(n):
    """The bytes the stream scripts below write: numbered 8-byte lines."""
    return b"".join(b"%07d\n" % i for i in range(n // 8))


def accounted(shown, stream):
    """Checks that `shown` is `stream` with runs of bytes replaced by the
    markers "\\n[... M bytes omitted ...]\\n", M exactly the bytes missing:
    every byte in its place, none twice, all accounted for. Returns the
    number of stream bytes shown."""
    parts = MARKER.split(shown)
    pos = got = 0
    for k, part in enumerate(parts):
        if k % 2:
            pos += int(part)
            continue
        assert stream[pos:pos + len(part)] == part, \
            f"bytes shown at stream offset {pos} are not the stream's"
        pos += len(part)
        got += len(part)
    assert pos == len(stream), f"shown and omitted add up to {pos}, not {len(stream)}"
    return got


# ---- run ---------------------------------------------------------------------

@pytest.fixture(scope="module")
def hello():
    return register("""
        #!/bin/sh
        echo "hello $INPUT_WHO"
        echo "to stderr" >&2
        exit "${INPUT_CODE:-0}"
        """)


def test_run_prints_the_queued_execution_id(hello, home):
    p = cli("run", hello["name"], "--input", '{"who": "queue"}', home=home)
    assert p.returncode == 0, p
    assert re.fullmatch(rb"[0-9]+\n", p.stdout), p.stdout
    e = get(int(p.stdout))
    assert e["script_name"] == hello["name"] and e["input"] == {"who": "queue"}
    assert e["trigger"] == "api"

    p = cli("run", hello["name"], "--json", home=home)
    assert p.returncode == 0, p
    e = json.loads(p.stdout)
    assert e["status"] in ("queued", "running") and e["script_id"] == hello["id"], e


def test_run_wait_prints_the_final_execution_and_exits_with_its_code(hello, home):
    p = cli("run", hello["name"], "--input", '{"who": "studio", "code": 3}', "--wait",
            home=home)
    assert p.returncode == 3, p
    out = p.stdout.decode()
    assert re.search(r"^status: +failed, exit code 3$", out, re.M), out
    assert re.search(rf"^script: +{hello['name']} \(id {hello['id']}\)$", out, re.M), out
    assert "--- stdout ---\nhello studio\n" in out and "--- stderr ---\nto stderr\n" in out
    eid = int(re.search(r"^execution: +(\d+)$", out, re.M).group(1))
    assert get(eid)["status"] == "failed"

    p = cli("run", str(hello["id"]), "--input", '{"who": "json"}', "--wait", "--json",
            home=home)
    assert p.returncode == 0, p
    e = json.loads(p.stdout)
    assert e["status"] == "succeeded" and e["exit_code"] == 0 and e["stdout"] == "hello json\n"


def test_run_wait_polls_after_a_202(home):
    """The submission waits --wait-slice seconds; a run that goes on past
    it is answered 202, and the client follows it to its end."""
    s = register("""
        #!/bin/sh
        sleep 3
        echo done
        exit 7
        """)
    t0 = time.monotonic()
    p = cli("run", s["name"], "--wait", "--wait-slice", "1", "--json", home=home)
    assert p.returncode == 7, p
    e = json.loads(p.stdout)
    assert e["status"] == "failed" and e["exit_code"] == 7 and e["stdout"] == "done\n", e
    assert time.monotonic() - t0 >= 3


def test_run_input_from_a_file_and_from_stdin(hello, home, tmp_path):
    f = tmp_path / "input.json"
    f.write_text('{"who": "file"}')
    p = cli("run", hello["name"], "--input", f"@{f}", "--wait", "--json", home=home)
    assert p.returncode == 0 and json.loads(p.stdout)["stdout"] == "hello file\n", p
    p = cli("run", hello["name"], "--input", "-", "--wait", "--json", home=home,
            stdin=b'{"who": "stdin"}')
    assert p.returncode == 0 and json.loads(p.stdout)["stdout"] == "hello stdin\n", p


def test_run_refuses_input_that_is_not_an_object_before_sending(hello, home):
    before = call("GET", f"/api/v1/executions?script_id={hello['id']}&limit=500").json
    for bad in ("[1, 2]", '{"who": ', "3"):
        p = cli("run", hello["name"], "--input", bad, home=home)
        assert p.returncode == 64, p
        assert p.stderr.startswith(b"scriptorch: --input: the input must be a JSON object"), p
    after = call("GET", f"/api/v1/executions?script_id={hello['id']}&limit=500").json
    assert len(after["executions"]) == len(before["executions"])


def test_run_of_an_unknown_script_is_the_apis_404(home):
    p = cli("run", unique("nosuch"), "--wait", home=home)
    assert p.returncode == 1, p
    assert re.fullmatch(rb'scriptorch: no script "nosuch-[0-9a-f]+" \(not_found\)\n', p.stderr), p


class Reader(threading.Thread):
    """Reads one pipe to its end, noting when each chunk arrived."""

    def __init__(self, pipe):
        super().__init__(daemon=True)
        self.pipe = pipe
        self.chunks = []

    def run(self):
        while True:
            b = os.read(self.pipe.fileno(), 65536)
            if not b:
                return
            self.chunks.append((time.monotonic(), b))

    @property
    def data(self):
        return b"".join(b for _, b in self.chunks)


def follow(args, home, timeout=120):
    """Runs `scriptorch run ... --follow`, reading its stdout and stderr as
    they come: (exit status, stdout reader, stderr reader, exit time)."""
    p = subprocess.Popen([CLIENT, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         env=client_env(home, SCRIPTORCH_URL=URL, SCRIPTORCH_TOKEN=ADMIN))
    out, err = Reader(p.stdout), Reader(p.stderr)
    out.start()
    err.start()
    rc = p.wait(timeout=timeout)
    ended = time.monotonic()
    out.join(10)
    err.join(10)
    return rc, out, err, ended


def test_run_follow_streams_output_while_the_script_runs(home):
    s = register("""
        #!/bin/sh
        for i in 1 2 3 4; do
            echo "line $i"
            echo "err $i" >&2
            sleep 1
        done
        exit 5
        """)
    rc, out, err, ended = follow(["run", s["name"], "--follow"], home)
    assert rc == 5, (out.data, err.data)
    assert out.data == b"line 1\nline 2\nline 3\nline 4\n", out.data
    assert err.data == b"err 1\nerr 2\nerr 3\nerr 4\n", err.data
    first = out.chunks[0][0]
    # The script runs 4 s after its first line; the client shows that line
    # about a second after it was written, well before the end.
    assert first < ended - 1.5, f"the first line came {ended - first:.1f} s before the end"
    assert err.chunks[0][0] < ended - 1.5


def test_run_follow_of_a_stream_past_the_cap_shows_more_than_the_server_keeps(home):
    """1.5 MiB written at about 200 KiB/s: the server keeps 1 MiB of it
    (head and tail); the client, which looks every half second, shows
    every byte it saw, in place, and the bytes it missed as a marker with
    their exact count, if any."""
    total = 3 * CAP // 2
    s = register(f"""
        #!/usr/bin/python3 -u
        import sys, time
        data = b"".join(b"%07d\\n" % i for i in range({total} // 8))
        for at in range(0, len(data), 51200):
            sys.stdout.buffer.write(data[at:at + 51200])
            time.sleep(0.25)
        """)
    rc, out, err, _ = follow(["run", s["name"], "--follow"], home)
    assert rc == 0, err.data
    shown = accounted(out.data, numbered(total))
    assert shown > CAP, f"the client showed {shown} bytes, no more than the server keeps"
    eid = int(call("GET", f"/api/v1/executions?script_id={s['id']}").json["executions"][0]["id"])
    e = get(eid)
    assert e["stdout_truncated"] is True


def test_run_follow_marks_a_burst_it_could_not_see(home):
    """100 kB, then 8 MB at once (far more than the tail of 512 KiB between
    two saves), then 100 kB: the client shows the start, a marker whose
    count is exactly the bytes it never saw, and the end."""
    total = 100000 + 8000000 + 100000
    s = register(f"""
        #!/usr/bin/python3 -u
        import sys, time
        data = b"".join(b"%07d\\n" % i for i in range({total} // 8))
        sys.stdout.buffer.write(data[:100000])
        time.sleep(2)
        sys.stdout.buffer.write(data[100000:8100000])
        time.sleep(2)
        sys.stdout.buffer.write(data[8100000:])
        """)
    rc, out, err, _ = follow(["run", s["name"], "--follow"], home)
    assert rc == 0, err.data
    stream = numbered(total)
    accounted(out.data, stream)
    assert MARKER.search(out.data), "no marker for the bytes the server dropped"
    assert out.data.endswith(stream[-100000:])
    assert out.data.startswith(stream[:CAP // 2])


def test_run_follow_and_wait_exit_statuses_of_runs_without_an_exit_code(home):
    # timed_out: 124, with one line on stderr saying so
    s = register("""
        #!/bin/sh
        echo started
        sleep 30
        """, timeout_s=1)
    rc, out, err, _ = follow(["run", s["name"], "--follow"], home)
    assert rc == 124, err.data
    assert out.data == b"started\n"
    assert re.search(rb"^scriptorch: execution \d+ timed_out \(signal \d+\)", err.data, re.M), err.data

    # killed by a signal it sent itself: 128 + 9
    s = register("""
        #!/bin/sh
        kill -9 $$
        """)
    p = cli("run", s["name"], "--wait", home=home)
    assert p.returncode == 137, p

    # error (the file vanished): 126
    s = register("""
        #!/bin/sh
        echo never
        """)
    os.unlink(s["path"])
    p = cli("run", s["name"], "--wait", home=home)
    assert p.returncode == 126, p
    assert re.search(r"^status: +error$", p.stdout.decode(), re.M), p


def test_cancel_ends_a_followed_run_with_125(home):
    s = register("""
        #!/bin/sh
        echo started
        sleep 60
        """)
    proc = subprocess.Popen([CLIENT, "run", s["name"], "--follow"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE,
                            env=client_env(home, SCRIPTORCH_URL=URL, SCRIPTORCH_TOKEN=ADMIN))
    try:
        out = Reader(proc.stdout)
        out.start()
        wait_for(lambda: out.data == b"started\n", timeout=30, what="the first line")
        eid = call("GET", f"/api/v1/executions?script_id={s['id']}").json["executions"][0]["id"]
        p = cli("cancel", str(eid), home=home)
        assert p.returncode == 0, p
        assert re.fullmatch(rf"execution {eid}: (canceled \(signal \d+\)|running)\n".encode(),
                            p.stdout), p
        assert proc.wait(timeout=60) == 125
        assert b"canceled" in proc.stderr.read()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    p = cli("cancel", str(eid), home=home)
    assert p.returncode == 1, p
    assert p.stderr == f"scriptorch: execution {eid} already finished (conflict)\n".encode()


# ---- reading -----------------------------------------------------------------

def test_executions_lists_one_scripts_runs(hello, home):
    other = register("""
        #!/bin/sh
        exit 2
        """)
    ids = []
    for code in (0, 4):
        p = cli("run", hello["name"], "--input", json.dumps({"code": code}), "--wait", "--json",
                home=home)
        ids.append(json.loads(p.stdout)["id"])
    assert cli("run", other["name"], "--wait", home=home).returncode == 2

    p = cli("executions", "--script", hello["name"], "--limit", "500", home=home)
    assert p.returncode == 0, p
    lines = p.stdout.decode().splitlines()
    assert lines[0].split() == ["ID", "SCRIPT", "STATUS", "EXIT", "TRIGGER", "QUEUED", "DURATION"]
    rows = {int(l.split()[0]): l.split() for l in lines[1:]}
    assert set(ids) <= set(rows)
    assert all(r[1] == hello["name"] for r in rows.values()), lines
    assert rows[ids[0]][2:5] == ["succeeded", "0", "api"]
    assert rows[ids[1]][2:5] == ["failed", "4", "api"]
    assert list(rows) == sorted(rows, reverse=True), "newest first"

    p = cli("executions", "--script", str(hello["id"]), "--status", "failed", "--json", home=home)
    assert p.returncode == 0, p
    got = json.loads(p.stdout)
    assert got["executions"] and all(e["status"] == "failed" and e["script_id"] == hello["id"]
                                     for e in got["executions"])
    assert ids[1] in [e["id"] for e in got["executions"]]

    p = cli("executions", "--limit", "1", "--json", home=home)
    assert len(json.loads(p.stdout)["executions"]) == 1

    p = cli("executions", "--script", unique("nosuch"), home=home)
    assert p.returncode == 1 and b"(not_found)" in p.stderr, p
    p = cli("executions", "--status", "bogus", home=home)
    assert p.returncode == 1 and p.stderr.endswith(b"(validation_failed)\n"), p


def test_executions_limit_beyond_one_page(home):
    total = len(call("GET", "/api/v1/executions?limit=500").json["executions"])
    if total < 500:
        s = register("""
            #!/bin/sh
            true
            """)
        for _ in range(501 - total):
            assert call("POST", f"/api/v1/scripts/{s['id']}/executions", {"input": {}}).status == 202
        # Leave the runners idle for the tests that follow.
        wait_for(lambda: not [e for e in call(
            "GET", f"/api/v1/executions?script_id={s['id']}&limit=500").json["executions"]
            if e["status"] in ("queued", "running")], timeout=300, interval=0.5,
            what="the filler runs to end")
    p = cli("executions", "--limit", "501", "--json", home=home)
    assert p.returncode == 0, p
    got = json.loads(p.stdout)["executions"]
    assert len(got) == 501 and len({e["id"] for e in got}) == 501
    assert [e["id"] for e in got] == sorted((e["id"] for e in got), reverse=True)
    p = cli("executions", "--limit", "501", home=home)
    assert len(p.stdout.decode().splitlines()) == 502


def test_show_and_logs(home):
    s = register(r"""
        #!/bin/sh
        printf 'raw \377\376 bytes\n'
        printf 'on stderr\n' >&2
        """)
    p = cli("run", s["name"], "--wait", "--json", home=home)
    e = json.loads(p.stdout)
    p = cli("logs", str(e["id"]), home=home)
    assert p.returncode == 0 and p.stdout == b"raw \xff\xfe bytes\n", p
    p = cli("logs", str(e["id"]), "--stderr", home=home)
    assert p.returncode == 0 and p.stdout == b"on stderr\n", p
    p = cli("show", str(e["id"]), home=home)
    assert p.returncode == 0, p
    out = p.stdout.decode()
    assert re.search(r"^status: +succeeded, exit code 0$", out, re.M)
    assert "--- stdout ---\nraw \ufffd\ufffd bytes\n" in out
    p = cli("show", str(e["id"]), "--json", home=home)
    assert json.loads(p.stdout)["id"] == e["id"]
    p = cli("logs", "999999999", home=home)
    assert p.returncode == 1 and p.stderr == b"scriptorch: no execution 999999999 (not_found)\n", p
    p = cli("logs", "x1", home=home)
    assert p.returncode == 64, p


def test_scripts_table_and_json(hello, home):
    p = cli("scripts", home=home)
    assert p.returncode == 0, p
    lines = p.stdout.decode().splitlines()
    assert lines[0].split() == ["ID", "NAME", "TYPE", "ENABLED", "LAST", "RUN", "DESCRIPTION"]
    row = next(l for l in lines if l.split()[1] == hello["name"])
    assert row.split()[:4] == [str(hello["id"]), hello["name"], "shell", "yes"]
    p = cli("scripts", "--json", home=home)
    assert hello["id"] in [s["id"] for s in json.loads(p.stdout)["scripts"]]


def test_a_viewer_token_reads_and_may_not_run(hello, home):
    viewer = make_token("viewer")
    p = cli("scripts", home=home, SCRIPTORCH_TOKEN=viewer)
    assert p.returncode == 0, p
    p = cli("run", hello["name"], home=home, SCRIPTORCH_TOKEN=viewer)
    assert p.returncode == 1 and p.stderr.endswith(b"(forbidden)\n"), p


# ---- errors, settings --------------------------------------------------------

def test_a_bad_token_is_exit_1_with_the_apis_message(home):
    api = call("GET", "/api/v1/admin/scripts", token="sto_" + "x" * 43).json["error"]
    p = cli("scripts", home=home, SCRIPTORCH_TOKEN="sto_" + "x" * 43)
    assert p.returncode == 1, p
    assert p.stderr == f"scriptorch: {api['message']} ({api['code']})\n".encode(), p
    assert api["code"] == "unauthorized"
    p = cli("scripts", home=home, SCRIPTORCH_TOKEN=None)
    assert p.returncode == 1 and p.stderr.endswith(b"(unauthorized)\n"), p


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_an_unreachable_server_is_exit_2_naming_the_url(home):
    url = f"http://127.0.0.1:{free_port()}"
    for args in (["scripts"], ["run", "x", "--wait"], ["logs", "1"]):
        p = cli(*args, home=home, SCRIPTORCH_URL=url)
        assert p.returncode == 2, p
        assert p.stderr.startswith(f"scriptorch: cannot reach {url}: ".encode()), p


def test_usage_errors_and_help(home):
    for cmd in ("run", "executions", "show", "logs", "cancel", "scripts"):
        p = cli(cmd, "--help", home=home)
        assert p.returncode == 0 and p.stdout.startswith(f"Usage: scriptorch {cmd}".encode()), p
        p = cli("help", cmd, home=home)
        assert p.returncode == 0 and p.stdout.startswith(f"Usage: scriptorch {cmd}".encode()), p
    p = cli("--help", home=home)
    assert p.returncode == 0 and b"Commands:" in p.stdout
    for args in ([], ["bogus"], ["run"], ["logs", "1", "2"], ["scripts", "--stderr"],
                 ["--bogus", "scripts"], ["executions", "--limit", "0"], ["run", "x", "--follow",
                                                                           "--json"]):
        p = cli(*args, home=home)
        assert p.returncode == 64, (args, p)
    # Nothing needed a server for those.
    p = cli("--help", home=home, SCRIPTORCH_URL=None)
    assert p.returncode == 0


def write_conf(path, mode=0o600, **keys):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("[client]\n" + "".join(f"{k} = {v}\n" for k, v in keys.items()))
    os.chmod(path, mode)
    return path


def test_settings_precedence_option_then_environment_then_file(home, tmp_path):
    dead = f"http://127.0.0.1:{free_port()}"
    bad_token = "sto_" + "y" * 43
    conf = write_conf(home / ".config" / "scriptorch" / "client.conf", url=URL, token=ADMIN)

    # The default file alone is enough.
    p = cli("scripts", home=home, SCRIPTORCH_URL=None, SCRIPTORCH_TOKEN=None)
    assert p.returncode == 0, p
    # The environment beats the file...
    p = cli("scripts", home=home, SCRIPTORCH_URL=dead, SCRIPTORCH_TOKEN=None)
    assert p.returncode == 2 and dead.encode() in p.stderr, p
    p = cli("scripts", home=home, SCRIPTORCH_URL=None, SCRIPTORCH_TOKEN=bad_token)
    assert p.returncode == 1 and p.stderr.endswith(b"(unauthorized)\n"), p
    # ... and the options beat the environment.
    p = cli("--url", URL, "scripts", home=home, SCRIPTORCH_URL=dead, SCRIPTORCH_TOKEN=None)
    assert p.returncode == 0, p
    p = cli("scripts", "--token", ADMIN, home=home, SCRIPTORCH_URL=None,
            SCRIPTORCH_TOKEN=bad_token)
    assert p.returncode == 0, p
    # An empty variable counts as unset.
    p = cli("scripts", home=home, SCRIPTORCH_URL="", SCRIPTORCH_TOKEN="")
    assert p.returncode == 0, p

    # XDG_CONFIG_HOME, SCRIPTORCH_CONFIG and --config name other files.
    os.unlink(conf)
    env = dict(SCRIPTORCH_URL=None, SCRIPTORCH_TOKEN=None)
    p = cli("scripts", home=home, **env)
    assert p.returncode == 78 and b"no server URL" in p.stderr, p
    xdg = tmp_path / "xdg"
    write_conf(xdg / "scriptorch" / "client.conf", url=URL, token=ADMIN)
    p = cli("scripts", home=home, XDG_CONFIG_HOME=str(xdg), **env)
    assert p.returncode == 0, p
    named = write_conf(tmp_path / "named.conf", url=dead, token=ADMIN)
    p = cli("scripts", home=home, SCRIPTORCH_CONFIG=str(named), XDG_CONFIG_HOME=str(xdg), **env)
    assert p.returncode == 2 and dead.encode() in p.stderr, p
    p = cli("--config", str(xdg / "scriptorch" / "client.conf"), "scripts", home=home,
            SCRIPTORCH_CONFIG=str(named), **env)
    assert p.returncode == 0, p
    p = cli("scripts", home=home, SCRIPTORCH_CONFIG=str(tmp_path / "missing.conf"), **env)
    assert p.returncode == 78 and b"missing.conf" in p.stderr, p
    typo = write_conf(tmp_path / "typo.conf", url=URL, tokn=ADMIN)
    p = cli("scripts", home=home, SCRIPTORCH_CONFIG=str(typo), **env)
    assert p.returncode == 78 and b'unknown key "tokn"' in p.stderr, p


def test_a_config_file_others_may_read_or_write_is_refused(home, tmp_path):
    env = dict(SCRIPTORCH_URL=None, SCRIPTORCH_TOKEN=None)
    conf = write_conf(tmp_path / "c.conf", url=URL, token=ADMIN)
    for mode in (0o644, 0o640, 0o604):
        os.chmod(conf, mode)
        p = cli("--config", str(conf), "scripts", home=home, **env)
        assert p.returncode == 78, p
        assert p.stderr == (f"scriptorch: the config file {conf} holds a token and may be read "
                            f"by group or others (mode {mode:04o}): refused; chmod 600 {conf}\n"
                            ).encode(), p
        assert p.stdout == b""
    os.chmod(conf, 0o600)
    assert cli("--config", str(conf), "scripts", home=home, **env).returncode == 0
    os.chmod(conf, 0o400)
    assert cli("--config", str(conf), "scripts", home=home, **env).returncode == 0

    # Without a token it may be read by all, but never written by others:
    # its url decides where the token goes.
    url_only = write_conf(tmp_path / "url.conf", mode=0o644, url=URL)
    assert cli("--config", str(url_only), "scripts", home=home, SCRIPTORCH_TOKEN=ADMIN,
               SCRIPTORCH_URL=None).returncode == 0
    for mode in (0o664, 0o646):
        os.chmod(url_only, mode)
        p = cli("--config", str(url_only), "scripts", home=home, SCRIPTORCH_TOKEN=ADMIN,
                SCRIPTORCH_URL=None)
        assert p.returncode == 78 and b"may be written by group or others" in p.stderr, p
    # Nor may it belong to someone else.
    os.chmod(url_only, 0o644)
    os.chown(url_only, 65534, 65534)
    p = cli("--config", str(url_only), "scripts", home=home, SCRIPTORCH_TOKEN=ADMIN,
            SCRIPTORCH_URL=None)
    assert p.returncode == 78 and b"is owned by uid 65534" in p.stderr, p


# ---- HTTPS -------------------------------------------------------------------

@pytest.fixture(scope="module")
def tls_proxy():
    """nginx terminating TLS with a self-signed certificate for 127.0.0.1
    and localhost, in front of the test stack: the package's set-up in
    small. Yields (https URL, certificate file)."""
    d = tempfile.mkdtemp(prefix="scriptorch-tls-")
    cert, key = os.path.join(d, "cert.pem"), os.path.join(d, "key.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                    "-keyout", key, "-out", cert, "-subj", "/CN=localhost", "-addext",
                    "subjectAltName=DNS:localhost,IP:127.0.0.1"],
                   check=True, capture_output=True)
    port = free_port()
    os.makedirs(os.path.join(d, "tmp"))
    with open(os.path.join(d, "nginx.conf"), "w") as f:
        f.write(textwrap.dedent(f"""
            worker_processes 1;
            pid {d}/nginx.pid;
            error_log {d}/error.log warn;
            events {{ worker_connections 64; }}
            http {{
                access_log off;
                client_body_temp_path {d}/tmp/body;
                proxy_temp_path {d}/tmp/proxy;
                fastcgi_temp_path {d}/tmp/fastcgi;
                uwsgi_temp_path {d}/tmp/uwsgi;
                scgi_temp_path {d}/tmp/scgi;
                server {{
                    listen 127.0.0.1:{port} ssl;
                    ssl_certificate {cert};
                    ssl_certificate_key {key};
                    location / {{ proxy_pass {URL}; }}
                }}
            }}
            """))
    subprocess.run(["nginx", "-p", d, "-c", os.path.join(d, "nginx.conf")], check=True)
    try:
        yield f"https://127.0.0.1:{port}", cert
    finally:
        with open(os.path.join(d, "nginx.pid")) as f:
            pid = int(f.read())
        os.kill(pid, 15)
        wait_for(lambda: not os.path.exists(f"/proc/{pid}"), timeout=15, what="nginx to stop")
        shutil.rmtree(d, ignore_errors=True)


def test_https_checks_the_certificate(tls_proxy, hello, home):
    url, cert = tls_proxy
    p = cli("scripts", home=home, SCRIPTORCH_URL=url)
    assert p.returncode == 2, p
    assert p.stderr.startswith(f"scriptorch: cannot reach {url}: ".encode()), p
    assert b"certificate" in p.stderr and b"--cacert" in p.stderr, p

    p = cli("--cacert", cert, "run", hello["name"], "--input", '{"who": "tls"}', "--wait",
            "--json", home=home, SCRIPTORCH_URL=url)
    assert p.returncode == 0 and json.loads(p.stdout)["stdout"] == "hello tls\n", p
    assert p.stderr == b""
    p = cli("scripts", home=home, SCRIPTORCH_URL=url.replace("127.0.0.1", "localhost"),
            SCRIPTORCH_CACERT=cert)
    assert p.returncode == 0, p

    p = cli("--insecure", "scripts", home=home, SCRIPTORCH_URL=url)
    assert p.returncode == 0, p
    assert p.stderr.startswith(b"scriptorch: warning: --insecure: "), p
