"""The execution engine: queue, runners, input passing, sandbox, limits,
timeouts, cancel, capture, lost runners, and load."""
import concurrent.futures
import json
import os
import pathlib
import re
import shutil
import signal
import stat
import subprocess
import tempfile
import textwrap
import threading
import time

import pytest

from conftest import SCRIPT_ROOT, STATE, assert_error, call, stackctl, unique, wait_for

RUN_USER = os.environ.get("SCRIPTORCH_RUN_USER", "scriptorch-run")


def write_script(name, body, mode=0o755):
    path = os.path.join(SCRIPT_ROOT, name)
    with open(path, "w") as f:
        f.write(textwrap.dedent(body).lstrip())
    os.chmod(path, mode)
    return path


def register(path, type_="shell", **fields):
    body = {"name": unique("x"), "type": type_, "path": path}
    body.update(fields)
    r = call("POST", "/api/v1/admin/scripts", body)
    assert r.status == 201, r
    return r.json


def run(script_id, input_=None, wait=60):
    r = call("POST", f"/api/v1/scripts/{script_id}/executions?wait={wait}",
             {"input": input_ or {}}, timeout=wait + 30)
    assert r.status in (200, 202), r
    return r.json


def get(exec_id):
    r = call("GET", f"/api/v1/executions/{exec_id}")
    assert r.status == 200, r
    return r.json


def wait_final(exec_id, timeout=60):
    return wait_for(lambda: (lambda e: e if e["status"] not in ("queued", "running") else None)(get(exec_id)),
                    timeout=timeout, interval=0.05, what=f"execution {exec_id} to end")


def compile_c(name, source):
    src = os.path.join(SCRIPT_ROOT, name + ".c")
    out = os.path.join(SCRIPT_ROOT, name)
    with open(src, "w") as f:
        f.write(textwrap.dedent(source))
    subprocess.run(["cc", "-O1", "-o", out, src], check=True)
    os.chmod(out, 0o755)
    return out


@pytest.fixture(scope="module")
def envdump():
    path = write_script(unique("envdump") + ".sh", """
        #!/bin/sh
        echo "STDIN=$(cat)"
        env | sort
        """)
    return path


@pytest.mark.parametrize("mode", ["env", "stdin", "both"])
def test_input_modes(envdump, mode):
    s = register(envdump, input_mode=mode)
    e = run(s["id"], {"segment_path": "/mnt/seg 001.mp4", "strength": 0.5, "frame-rate": 24,
                      "flags": {"a": [1, 2]}, "ok": True})
    assert e["status"] == "succeeded", e
    out = e["stdout"]
    stdin_line = out.splitlines()[0]
    if mode in ("stdin", "both"):
        sent = json.loads(stdin_line[len("STDIN="):])
        assert sent == {"segment_path": "/mnt/seg 001.mp4", "strength": 0.5, "frame-rate": 24,
                        "flags": {"a": [1, 2]}, "ok": True}
    else:
        assert stdin_line == "STDIN="
    env = dict(line.split("=", 1) for line in out.splitlines()[1:] if "=" in line)
    if mode in ("env", "both"):
        assert env["INPUT_SEGMENT_PATH"] == "/mnt/seg 001.mp4"
        assert env["INPUT_STRENGTH"] == "0.5"
        assert env["INPUT_FRAME_RATE"] == "24"
        assert json.loads(env["INPUT_FLAGS"]) == {"a": [1, 2]}
        assert env["INPUT_OK"] == "true"
        assert json.loads(env["INPUT_JSON"])["segment_path"] == "/mnt/seg 001.mp4"
    else:
        assert not any(k.startswith("INPUT_") for k in env)
    assert env["SCRIPTORCH_EXECUTION_ID"] == str(e["id"])
    assert env["LANG"] == "C.UTF-8"
    assert env["HOME"].startswith(env["SCRIPTORCH_WORKDIR"])
    assert env["TMPDIR"].startswith(env["SCRIPTORCH_WORKDIR"])


def test_environment_is_built_from_nothing(envdump):
    s = register(envdump, input_mode="env", env={"STUDIO": "acme"})
    e = run(s["id"], {"k": "v"})
    env = dict(line.split("=", 1) for line in e["stdout"].splitlines()[1:] if "=" in line)
    allowed = {"PATH", "HOME", "TMPDIR", "LANG", "STUDIO", "INPUT_K", "INPUT_JSON",
               "SCRIPTORCH_EXECUTION_ID", "SCRIPTORCH_WORKDIR", "PWD", "SHLVL", "_"}
    assert set(env) <= allowed, set(env) - allowed
    assert env["STUDIO"] == "acme"
    assert "SCRIPTORCH_TOKEN" not in env and "MYSQL_PWD" not in env


def test_identity_fds_and_workdir():
    path = write_script(unique("ident") + ".sh", """
        #!/bin/sh
        echo "uid=$(id -u) user=$(id -un)"
        echo "fds=$(ls /proc/self/fd | sort -n | tr '\\n' ' ')"
        echo "wd=$PWD"
        stat -c 'mode=%a owner=%U' "$PWD"
        echo "sid=$(ps -o sid= -p $$) pid=$$"
        """)
    s = register(path)
    e = run(s["id"])
    assert e["status"] == "succeeded", e
    out = e["stdout"]
    assert re.search(r"uid=(\d+)", out).group(1) != "0"
    assert f"user={RUN_USER}" in out
    # 0, 1, 2 and the one ls opens to list the directory: nothing inherited.
    fds = re.search(r"fds=([0-9 ]*)", out).group(1).split()
    assert fds[:3] == ["0", "1", "2"] and len(fds) <= 4, fds
    assert f"mode=700 owner={RUN_USER}" in out
    wd = re.search(r"wd=(\S+)", out).group(1)
    assert not os.path.exists(wd), "the work dir is removed after the run"
    m = re.search(r"sid=\s*(\d+) pid=(\d+)", out)
    assert m.group(1) == m.group(2), "the script leads its own session"


def test_workdir_not_readable_by_others():
    path = write_script(unique("wdcheck") + ".sh", """
        #!/bin/sh
        echo "$PWD"
        sleep 2
        """)
    s = register(path)
    r = call("POST", f"/api/v1/scripts/{s['id']}/executions", {"input": {}})
    assert r.status == 202
    eid = r.json["id"]
    wd = wait_for(lambda: get(eid)["stdout"].strip(), timeout=10, what="live stdout")
    st = os.stat(wd)
    assert stat.S_IMODE(st.st_mode) == 0o700
    probe = subprocess.run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "ls", wd],
                           capture_output=True)
    assert probe.returncode != 0, "another user can list the work dir"
    assert wait_final(eid)["status"] == "succeeded"
    assert not os.path.exists(wd)


@pytest.fixture(scope="module")
def argv_binary():
    return compile_c(unique("argv"), r"""
        #include <stdio.h>
        int main(int argc, char **argv) {
            for (int i = 1; i < argc; i++) printf("[%s]\n", argv[i]);
            return 0;
        }
        """)


def test_binary_argv_templating(argv_binary):
    s = register(argv_binary, type_="binary",
                 args=["--in", "{segment_path}", "--n", "{count}", "--id={execution_id}", "{workdir}",
                       "{{literal}}"])
    e = run(s["id"], {"segment_path": "a b 'c' \"d\"; rm -rf / $(x) `y`", "count": 3})
    assert e["status"] == "succeeded", e
    lines = e["stdout"].splitlines()
    assert lines[0] == "[--in]"
    assert lines[1] == "[a b 'c' \"d\"; rm -rf / $(x) `y`]"
    assert lines[2:4] == ["[--n]", "[3]"]
    assert lines[4] == f"[--id={e['id']}]"
    assert lines[5].startswith("[/")
    assert lines[6] == "[{literal}]"
    assert e["exit_code"] == 0 and e["signal"] is None
    assert e["script_version"].startswith("sha256:")
    for k in ("cpu_user_ms", "cpu_system_ms", "max_rss_kb", "duration_ms"):
        assert isinstance(e[k], (int, float)) and e[k] >= 0, k
    assert e["node"]
    assert e["queued_at"] <= e["started_at"] <= e["finished_at"]


def test_missing_placeholder_is_422(argv_binary):
    s = register(argv_binary, type_="binary", args=["{segment_path}"])
    r = call("POST", f"/api/v1/scripts/{s['id']}/executions", {"input": {}})
    assert_error(r, 422, "validation_failed")
    r = call("POST", f"/api/v1/scripts/{s['id']}/executions", {"input": {"segment_path": {"x": 1}}})
    assert_error(r, 422, "validation_failed")


def test_schema_and_disabled_refusals(envdump):
    s = register(envdump, inputs={"type": "object", "required": ["segment_path"],
                                  "properties": {"segment_path": {"type": "string"},
                                                 "strength": {"type": "number", "maximum": 1}}})
    assert_error(call("POST", f"/api/v1/scripts/{s['id']}/executions", {"input": {}}), 422, "validation_failed")
    assert_error(call("POST", f"/api/v1/scripts/{s['id']}/executions",
                      {"input": {"segment_path": "x", "strength": 2}}), 422, "validation_failed")
    assert_error(call("POST", f"/api/v1/scripts/{s['id']}/executions", {"input": [1]}), 422,
                 "validation_failed", "input")
    assert_error(call("POST", f"/api/v1/scripts/{s['id']}/executions", {"inptu": {}}), 422,
                 "validation_failed", "inptu")
    assert call("PATCH", f"/api/v1/admin/scripts/{s['id']}", {"enabled": False}).status == 200
    assert_error(call("POST", f"/api/v1/scripts/{s['id']}/executions", {"input": {"segment_path": "x"}}),
                 409, "conflict")
    assert_error(call("POST", "/api/v1/scripts/999999999/executions", {"input": {}}), 404, "not_found")
    assert_error(call("POST", "/api/v1/scripts/no-such-script/executions", {"input": {}}), 404, "not_found")


def test_script_changes_reach_every_worker_at_once():
    # API workers remember scripts for a second (registry.h); a change
    # through the API must count on every worker straight away.
    s = register(write_script(unique("memo") + ".sh", "#!/bin/sh\necho hi\n"))
    for ref in (s["id"], s["name"]):
        for _ in range(12):
            assert call("POST", f"/api/v1/scripts/{ref}/executions", {"input": {}}).status == 202
    schema = {"type": "object", "required": ["shot"], "properties": {"shot": {"type": "string"}}}
    assert call("PATCH", f"/api/v1/admin/scripts/{s['id']}", {"inputs": schema}).status == 200
    for ref in (s["id"], s["name"]):
        for _ in range(12):
            assert_error(call("POST", f"/api/v1/scripts/{ref}/executions", {"input": {}}), 422,
                         "validation_failed")
    assert call("PATCH", f"/api/v1/admin/scripts/{s['id']}", {"enabled": False}).status == 200
    for _ in range(12):
        assert_error(call("POST", f"/api/v1/scripts/{s['id']}/executions", {"input": {"shot": "a"}}),
                     409, "conflict")
    assert call("DELETE", f"/api/v1/admin/scripts/{s['id']}").status == 204
    for ref in (s["id"], s["name"]):
        for _ in range(12):
            assert_error(call("POST", f"/api/v1/scripts/{ref}/executions", {"input": {"shot": "a"}}),
                         404, "not_found")


def test_cli_disable_reaches_every_worker_within_a_second():
    s = register(write_script(unique("memocli") + ".sh", "#!/bin/sh\necho hi\n"))
    for _ in range(12):
        assert call("POST", f"/api/v1/scripts/{s['id']}/executions", {"input": {}}).status == 202
    subprocess.run([f"{os.environ['SCRIPTORCH_BUILD']}/src/scriptorchd", "-c",
                    f"{STATE}/scriptorch.conf", "script", "disable", str(s["id"])],
                   check=True, capture_output=True)
    time.sleep(1.1)
    for _ in range(12):
        assert_error(call("POST", f"/api/v1/scripts/{s['id']}/executions", {"input": {}}), 409,
                     "conflict")


def test_run_by_name(envdump):
    s = register(envdump)
    e = run(s["name"])
    assert e["status"] == "succeeded" and e["script_id"] == s["id"] and e["script_name"] == s["name"]


def test_exit_codes_and_signals():
    s = register(write_script(unique("exit") + ".sh", "#!/bin/sh\necho out; echo err >&2; exit 3\n"))
    e = run(s["id"])
    assert (e["status"], e["exit_code"], e["signal"]) == ("failed", 3, None)
    assert e["stdout"] == "out\n" and e["stderr"] == "err\n"
    s = register(write_script(unique("sig") + ".sh", "#!/bin/sh\nkill -SEGV $$\n"))
    e = run(s["id"])
    assert (e["status"], e["exit_code"], e["signal"]) == ("failed", None, 11)


def test_timeout_sigterm():
    s = register(write_script(unique("sleeper") + ".sh", "#!/bin/sh\necho started\nsleep 60\n"), timeout_s=1)
    t0 = time.monotonic()
    e = run(s["id"])
    assert e["status"] == "timed_out", e
    assert e["signal"] == 15
    assert time.monotonic() - t0 < 10
    assert e["stdout"] == "started\n"


def test_timeout_trapping_script_gets_sigkill():
    s = register(write_script(unique("trapper") + ".sh", """
        #!/bin/bash
        trap 'echo got TERM' TERM
        echo ready
        while true; do sleep 0.1; done
        """), timeout_s=1)
    e = run(s["id"])
    assert e["status"] == "timed_out", e
    assert e["signal"] == 9
    assert "got TERM" in e["stdout"]
    # timeout (1 s) + grace (2 s in the test stack), not much more
    assert 2500 <= e["duration_ms"] < 9000, e["duration_ms"]


def pids_with(marker):
    r = subprocess.run(["pgrep", "-f", marker], capture_output=True, text=True)
    return [p for p in r.stdout.split()]


def test_double_forked_setsid_grandchild_is_killed():
    marker = unique("orphan")
    s = register(write_script(marker + ".sh", f"""
        #!/bin/bash
        # a grandchild in its own session that keeps stdout open
        ( setsid bash -c 'exec -a {marker}-sleeper sleep 1000' & )
        sleep 0.2
        pgrep -f {marker}-sleeper >/dev/null && echo grandchild-alive
        echo parent done
        """), timeout_s=30)
    t0 = time.monotonic()
    e = run(s["id"])
    assert time.monotonic() - t0 < 10, "the run must not wait for the grandchild"
    assert e["status"] == "succeeded", e
    assert "grandchild-alive" in e["stdout"] and "parent done" in e["stdout"]
    time.sleep(0.3)
    assert pids_with(f"{marker}-sleeper") == [], "nothing the script started survives"


def test_timeout_kills_setsid_grandchild():
    marker = unique("orphan2")
    s = register(write_script(marker + ".sh", f"""
        #!/bin/bash
        ( setsid bash -c 'exec -a {marker}-sleeper sleep 1000' & )
        sleep 0.2
        pgrep -f {marker}-sleeper >/dev/null && echo grandchild-alive
        sleep 1000
        """), timeout_s=1)
    e = run(s["id"])
    assert e["status"] == "timed_out"
    assert "grandchild-alive" in e["stdout"]
    time.sleep(0.3)
    assert pids_with(f"{marker}-sleeper") == []


def register_logging_script(name, seconds, max_concurrency):
    """A script that logs "start ID", sleeps, logs "end ID" to a shared
    file; returns the registered script and the log's path."""
    log = os.path.join(STATE, unique(name) + ".log")
    path = write_script(unique(name) + ".sh", f"""
        #!/bin/sh
        echo "start $SCRIPTORCH_EXECUTION_ID" >> {log}
        sleep {seconds}
        echo "end $SCRIPTORCH_EXECUTION_ID" >> {log}
        """)
    open(log, "w").close()
    os.chmod(log, 0o666)
    return register(path, max_concurrency=max_concurrency), log


def test_max_concurrency_one_runs_in_order():
    s, log = register_logging_script("serial", 0.3, 1)
    ids = []
    for _ in range(5):
        r = call("POST", f"/api/v1/scripts/{s['id']}/executions", {"input": {}})
        assert r.status == 202
        ids.append(r.json["id"])
    for i in ids:
        assert wait_final(i, 30)["status"] == "succeeded"
    lines = open(log).read().split("\n")[:-1]
    expect = []
    for i in ids:
        expect += [f"start {i}", f"end {i}"]
    assert lines == expect


def test_max_concurrency_two_under_concurrent_submissions():
    # 12 submissions from 6 threads at once: never more than two run at a
    # time, and they are claimed in queue (id) order. Two claimed together
    # may reach their first line in either order, so a start may come at
    # most one place early or late.
    s, log = register_logging_script("pair", 0.5, 2)
    ids, lock = [], threading.Lock()

    def submit():
        for _ in range(2):
            r = call("POST", f"/api/v1/scripts/{s['id']}/executions", {"input": {}})
            assert r.status == 202
            with lock:
                ids.append(r.json["id"])
    threads = [threading.Thread(target=submit) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(ids) == 12
    for i in ids:
        assert wait_final(i, 60)["status"] == "succeeded"
    running, peak, starts = set(), 0, []
    for line in open(log).read().split("\n")[:-1]:
        what, eid = line.split()
        if what == "start":
            running.add(eid)
            starts.append(int(eid))
            peak = max(peak, len(running))
        else:
            running.discard(eid)
    assert peak == 2, f"{peak} ran at once"
    order = sorted(ids)
    assert sorted(starts) == order
    for pos, eid in enumerate(starts):
        assert abs(order.index(eid) - pos) <= 1, f"out of queue order: {starts}"


def test_large_output_is_capped_and_flagged():
    s = register(write_script(unique("flood") + ".sh", """
        #!/bin/sh
        head -c 52428800 /dev/zero | tr '\\0' 'a'
        echo
        echo tail-marker
        echo to-stderr >&2
        """), timeout_s=120)
    e = run(s["id"], wait=120)
    assert e["status"] == "succeeded", {k: e[k] for k in ("status", "error")}
    assert e["stdout_truncated"] is True and e["stderr_truncated"] is False
    assert "bytes omitted ...]" in e["stdout"]
    assert e["stdout"].rstrip("\n").endswith("tail-marker")
    assert len(e["stdout"]) <= 1024 * 1024 + 200
    assert re.search(r"\[\.\.\. (\d+) bytes omitted \.\.\.\]", e["stdout"])
    # every runner stays small: nothing grows with the output
    for line in stackctl("children").splitlines():
        pid, name = line.split()
        if name == "sto-runner":
            hwm = int(re.search(r"VmHWM:\s+(\d+)", open(f"/proc/{pid}/status").read()).group(1))
            assert hwm < 64 * 1024, f"runner {pid} peaked at {hwm} kB"


def test_binary_garbage_on_stdout():
    s = register(write_script(unique("garbage") + ".sh", "#!/bin/sh\nprintf 'ok\\377\\376\\000end'\n"))
    e = run(s["id"])
    assert e["status"] == "succeeded"
    assert e["stdout"] == "ok\ufffd\ufffd\x00end"
    raw = call("GET", f"/api/v1/executions/{e['id']}/stdout")
    assert raw.status == 200 and raw.headers["Content-Type"] == "application/octet-stream"
    assert raw.body == b"ok\xff\xfe\x00end"
    assert call("GET", f"/api/v1/executions/{e['id']}/stderr").body == b""


def test_output_file_and_json_stdout():
    s = register(write_script(unique("outputs") + ".sh", """
        #!/bin/sh
        echo '{"lut": "acme-2026", "n": 3}'
        printf 'result for %s' "$INPUT_NAME" > "$SCRIPTORCH_OUTPUT_FILE"
        """), outputs={"stdout": "json", "file": "result.txt"})
    e = run(s["id"], {"name": "seg1"})
    assert e["status"] == "succeeded", e
    assert e["output"] == {"lut": "acme-2026", "n": 3}
    assert e["output_file"] == "result for seg1"
    assert e["error"] is None


def test_binary_output_file_is_base64_and_bad_json_reported():
    s = register(write_script(unique("outputs2") + ".sh", """
        #!/bin/sh
        echo 'not json'
        printf '\\211PNG\\000\\001' > out.bin
        """), outputs={"stdout": "json", "file": "out.bin"})
    e = run(s["id"])
    assert e["status"] == "succeeded"
    assert e["output"] is None and "not valid JSON" in e["error"]
    import base64
    assert base64.b64decode(e["output_file"]["base64"]) == b"\x89PNG\x00\x01"


def test_output_file_symlink_is_not_followed():
    s = register(write_script(unique("outputs3") + ".sh", """
        #!/bin/sh
        ln -s /etc/shadow result.txt
        """), outputs={"file": "result.txt"})
    e = run(s["id"])
    assert e["output_file"] is None
    assert "could not be read" in (e["error"] or "")


def test_live_output_while_running():
    s = register(write_script(unique("live") + ".sh", """
        #!/bin/sh
        i=0
        while [ $i -lt 30 ]; do echo "line $i"; i=$((i+1)); sleep 0.1; done
        """))
    r = call("POST", f"/api/v1/scripts/{s['id']}/executions", {"input": {}})
    eid = r.json["id"]
    partial = wait_for(lambda: (lambda e: e if e["status"] == "running" and "line 1" in e["stdout"] else None)(
        get(eid)), timeout=10, what="live output")
    assert "line 29" not in partial["stdout"]
    assert partial["cpu_user_ms"] is None and partial["finished_at"] is None
    assert wait_final(eid)["stdout"].count("line") == 30


def test_async_submit_answers_the_queued_row():
    s = register(write_script(unique("q202") + ".sh", "#!/bin/sh\necho hi\n"))
    r = call("POST", f"/api/v1/scripts/{s['id']}/executions", {"input": {"n": 1, "s": "x y"}})
    assert r.status == 202, r
    e = r.json
    assert e["status"] == "queued" and e["script_id"] == s["id"] and e["script_name"] == s["name"]
    assert e["input"] == {"n": 1, "s": "x y"} and e["trigger"] == "api"
    assert e["queued_at"].endswith("Z") and e["started_at"] is None and e["finished_at"] is None
    assert e["exit_code"] is None and e["stdout"] == "" and e["error"] is None
    final = wait_final(e["id"])
    assert final["status"] == "succeeded" and final["queued_at"] == e["queued_at"]


def test_wait_returns_202_when_still_running():
    s = register(write_script(unique("slow") + ".sh", "#!/bin/sh\nsleep 3\n"))
    r = call("POST", f"/api/v1/scripts/{s['id']}/executions?wait=1", {"input": {}})
    assert r.status == 202 and r.json["status"] in ("queued", "running")
    assert_error(call("POST", f"/api/v1/scripts/{s['id']}/executions?wait=301", {"input": {}}), 422,
                 "validation_failed", "wait")
    assert wait_final(r.json["id"])["status"] == "succeeded"


def test_test_endpoint_runs_synchronously(envdump):
    s = register(envdump)
    r = call("POST", f"/api/v1/admin/scripts/{s['id']}/test", {"input": {"a": 1}})
    assert r.status == 200, r
    assert r.json["trigger"] == "test" and r.json["status"] == "succeeded"


@pytest.mark.parametrize("pad", [10, 40000])
def test_waited_answer_is_the_stored_row(pad):
    """A waited-for run is answered with what GET shows afterwards, byte for
    byte: left by the runner for the waiting worker when small, read from
    the database when over the runner's box (16 KiB)."""
    s = register(write_script(unique("answer") + ".sh", f"""
        #!/bin/sh
        printf '{{"pad": "%s", "x": [1, 2.5, null]}}\\n' "$(head -c {pad} /dev/zero | tr '\\0' p)"
        printf 'w\\303\\251rn\\377\\n' >&2
        printf 'file %s' "$INPUT_NAME" > out.txt
        exit 3
        """), outputs={"stdout": "json", "file": "out.txt"})
    for how in ("test", "wait"):
        if how == "test":
            r = call("POST", f"/api/v1/admin/scripts/{s['id']}/test", {"input": {"name": "é 1"}})
        else:
            r = call("POST", f"/api/v1/scripts/{s['id']}/executions?wait=30", {"input": {"name": "é 1"}})
        assert r.status == 200, r
        e = r.json
        assert e["status"] == "failed" and e["exit_code"] == 3, e
        assert e["output"]["x"] == [1, 2.5, None] and len(e["output"]["pad"]) == pad
        assert e["output_file"] == "file é 1" and e["stderr"].startswith("w\u00e9rn")
        assert e["finished_at"] and e["cpu_user_ms"] is not None
        stored = call("GET", f"/api/v1/executions/{e['id']}")
        assert stored.body == r.body, (how, stored.body[:400], r.body[:400])


def test_each_run_records_the_version_it_ran():
    """Runners remember the versions of files they hashed (docs/api.md): an
    edit still shows at the next run, even one of the same size with its
    modification time put back."""
    p = write_script(unique("ver") + ".sh", "#!/bin/sh\necho A\n")
    s = register(p)
    time.sleep(3)       # settled: from now on a runner may remember it
    ran = [run(s["id"]) for _ in range(6)]
    assert {e["script_version"] for e in ran} == {s["version"]}
    assert all(e["stdout"] == "A\n" for e in ran)
    st = os.stat(p)
    with open(p, "w") as f:
        f.write("#!/bin/sh\necho B\n")
    os.utime(p, ns=(st.st_atime_ns, st.st_mtime_ns))
    for _ in range(3):
        e = run(s["id"])
        assert e["stdout"] == "B\n" and e["script_version"] != s["version"], e
    assert call("GET", f"/api/v1/admin/scripts/{s['id']}").json["version"] == e["script_version"]


def test_cancel_running_and_queued():
    marker = unique("cancelme")
    s = register(write_script(marker + ".sh", f"""
        #!/bin/bash
        exec -a {marker}-proc sleep 1000
        """), max_concurrency=1)
    a = call("POST", f"/api/v1/scripts/{s['id']}/executions", {"input": {}}).json["id"]
    b = call("POST", f"/api/v1/scripts/{s['id']}/executions", {"input": {}}).json["id"]
    wait_for(lambda: get(a)["status"] == "running" and pids_with(f"{marker}-proc"), timeout=10,
             what="the first run to start")
    assert get(b)["status"] == "queued"
    r = call("POST", f"/api/v1/executions/{b}/cancel")
    assert r.status == 200 and r.json["status"] == "canceled"
    r = call("POST", f"/api/v1/executions/{a}/cancel")
    assert r.status == 200
    ea = wait_final(a, 15)
    assert ea["status"] == "canceled"
    assert pids_with(f"{marker}-proc") == []
    assert_error(call("POST", f"/api/v1/executions/{a}/cancel"), 409, "conflict")
    assert_error(call("POST", "/api/v1/executions/999999999/cancel"), 404, "not_found")


def test_list_filters_and_pagination(envdump):
    s = register(envdump)
    ids = [run(s["id"])["id"] for _ in range(5)]
    r = call("GET", f"/api/v1/executions?script_id={s['id']}&limit=2")
    assert r.status == 200
    page = r.json
    assert [e["id"] for e in page["executions"]] == ids[::-1][:2]
    assert "stdout" not in page["executions"][0] and "input" not in page["executions"][0]
    seen = [e["id"] for e in page["executions"]]
    while page["next_cursor"]:
        page = call("GET", f"/api/v1/executions?script_id={s['id']}&limit=2&cursor={page['next_cursor']}").json
        seen += [e["id"] for e in page["executions"]]
    assert seen == ids[::-1]
    r = call("GET", f"/api/v1/executions?script_id={s['id']}&status=failed")
    assert r.json["executions"] == []
    r = call("GET", "/api/v1/executions?trigger=api&status=succeeded&limit=500&since=2000-01-01T00:00:00Z")
    assert r.status == 200 and len(r.json["executions"]) >= 5
    for bad in ("limit=0", "limit=501", "status=bogus", "since=yesterday", "cursor=x"):
        assert call("GET", f"/api/v1/executions?{bad}").status == 422, bad
    assert_error(call("GET", "/api/v1/executions/999999999"), 404, "not_found")


def test_deleted_script_keeps_executions(envdump):
    s = register(envdump)
    e = run(s["id"])
    assert call("DELETE", f"/api/v1/admin/scripts/{s['id']}").status == 204
    kept = get(e["id"])
    assert kept["script_name"] == s["name"] and kept["script_version"] == e["script_version"]


def test_concurrent_submissions_all_finish_once():
    log = os.path.join(STATE, unique("many") + ".log")
    open(log, "w").close()
    os.chmod(log, 0o666)
    s = register(write_script(unique("many") + ".sh", f"""
        #!/bin/sh
        echo "$SCRIPTORCH_EXECUTION_ID" >> {log}
        echo "$INPUT_N"
        """))

    # Half of them wait for their end: those that find a runner idle are
    # inserted running for it, the rest queue, are handed off or scanned
    # for, and are claimed; all paths at once.
    def submit(n):
        if n % 2:
            r = call("POST", f"/api/v1/scripts/{s['id']}/executions?wait=120", {"input": {"n": n}},
                     timeout=180)
            assert r.status == 200 and r.json["status"] == "succeeded", r
            assert r.json["stdout"] == f"{n}\n", r.json
        else:
            r = call("POST", f"/api/v1/scripts/{s['id']}/executions", {"input": {"n": n}})
            assert r.status == 202 and r.json["status"] == "queued", r
        return r.json["id"]

    with concurrent.futures.ThreadPoolExecutor(32) as pool:
        ids = list(pool.map(submit, range(200)))
    assert len(set(ids)) == 200
    finals = [wait_final(i, 120) for i in ids]
    assert all(e["status"] == "succeeded" for e in finals), [e["status"] for e in finals if e["status"] != "succeeded"]
    ran = open(log).read().split()
    assert sorted(map(int, ran)) == sorted(ids), "every execution ran exactly once"


def test_a_row_reserved_for_a_runner_is_left_to_it():
    # An execution reserved for an idle runner as it is queued (the API
    # worker's direct assignment) is that runner's: no queue scan takes
    # it, a cancel asks that runner to stop it, and when the runner is
    # gone it ends lost, like any run whose runner died. Here the row is
    # made by hand for a runner that does not exist.
    s = register(write_script(unique("rsv") + ".sh", "#!/bin/sh\necho ran\n"))
    node = run(s["id"])["node"]
    stackctl("sql", "INSERT INTO executions (script_id, script_name, `trigger`, status, input, "
             "queued_at, node, runner_pid, heartbeat_at) VALUES "
             f"({s['id']}, '{s['name']}', 'api', 'queued', '{{}}', UTC_TIMESTAMP(3), '{node}', "
             "999999, UTC_TIMESTAMP(3))")
    eid = int(stackctl("sql", f"SELECT MAX(id) FROM executions WHERE script_id = {s['id']}"))
    time.sleep(2)       # four poll intervals of every runner
    assert get(eid)["status"] == "queued"
    # Not canceled at once (its runner may be starting it): the answer
    # comes after the wait for a running one, by when the heartbeat
    # sweep may have ended it.
    r = call("POST", f"/api/v1/executions/{eid}/cancel")
    assert r.status == 200 and r.json["status"] in ("queued", "lost"), r
    assert stackctl("sql", f"SELECT cancel_requested FROM executions WHERE id = {eid}") == "1"
    e = wait_final(eid, 30)
    assert e["status"] == "lost" and "999999" in e["error"], e
    assert e["stdout"] == "" and e["started_at"] is None


class SqlSession:
    """A session of the stack's MariaDB kept open, for locks that outlive
    one statement: `hold` runs statements and waits for the line that the
    last one prints, `release` runs the closing ones and ends it."""

    def __init__(self, hold, release):
        self.hold_sql, self.release_sql = hold, release

    def __enter__(self):
        self.p = subprocess.Popen([os.path.join(os.path.dirname(__file__), "stackctl.sh"),
                                   "sql-session"], stdin=subprocess.PIPE,
                                  stdout=subprocess.PIPE, text=True)
        self.say(self.hold_sql + " SELECT 'held';", "held")
        return self

    def say(self, sql, expect):
        self.p.stdin.write(sql + "\n")
        self.p.stdin.flush()
        assert self.p.stdout.readline().strip() == expect

    def release(self):
        if self.p.poll() is None:
            self.say(self.release_sql + " SELECT 'released';", "released")
            self.p.stdin.close()
            self.p.wait(10)

    def __exit__(self, *exc):
        self.release()


def commits_held():
    """Holds every commit of the stack's MariaDB: statements run, COMMITs
    wait."""
    return SqlSession("BACKUP STAGE START; BACKUP STAGE BLOCK_COMMIT;", "BACKUP STAGE END;")


def committing():
    """The connection ids of the sessions whose INSERT of an execution waits
    for its commit."""
    out = stackctl("sql", "SELECT ID FROM information_schema.PROCESSLIST "
                   "WHERE INFO LIKE 'INSERT INTO executions%'")
    return [int(x) for x in out.split()]


@pytest.fixture
def marks():
    # A directory the run user writes its marks in.
    d = tempfile.mkdtemp(prefix="sto-marks-")
    os.chmod(d, 0o777)
    yield pathlib.Path(d)
    shutil.rmtree(d)


def submit_pair(pool, script_id, mark_async, mark_waited):
    """An async submission and a waited one, each to an idle runner."""
    fa = pool.submit(call, "POST", f"/api/v1/scripts/{script_id}/executions",
                     {"input": {"mark": str(mark_async)}})
    fw = pool.submit(call, "POST", f"/api/v1/scripts/{script_id}/executions?wait=30",
                     {"input": {"mark": str(mark_waited)}}, timeout=60)
    return fa, fw


def test_no_run_starts_before_its_row_is_committed(marks):
    # A run is logged before it starts: with the database's commits held
    # for a while, an async and a waited-for submission, each going to an
    # idle runner, start nothing until their rows are committed.
    s = register(write_script(unique("gate") + ".sh", '#!/bin/sh\ntouch "$INPUT_MARK"\n'),
                 input_mode="env")
    a, w = marks / "async", marks / "waited"
    with commits_held() as held, concurrent.futures.ThreadPoolExecutor(2) as pool:
        fa, fw = submit_pair(pool, s["id"], a, w)
        wait_for(lambda: len(committing()) == 2, 10, what="both rows inserted, not committed")
        time.sleep(1.5)
        assert not a.exists() and not w.exists(), "a script ran before its row was committed"
        assert not fa.done() and not fw.done()
        held.release()
        ra, rw = fa.result(60), fw.result(60)
    assert ra.status == 202, ra
    assert rw.status == 200 and rw.json["status"] == "succeeded", rw
    assert wait_final(ra.json["id"])["status"] == "succeeded"
    assert a.exists() and w.exists()


def test_a_run_whose_commit_fails_never_starts(marks):
    # The API worker's INSERT fails at its commit (its connection is
    # killed while the commit waits): it answers 503, nothing starts, and
    # the runners it had picked serve the next ones.
    s = register(write_script(unique("gate") + ".sh", '#!/bin/sh\ntouch "$INPUT_MARK"\n'),
                 input_mode="env")
    a, w = marks / "async", marks / "waited"
    with commits_held(), concurrent.futures.ThreadPoolExecutor(2) as pool:
        fa, fw = submit_pair(pool, s["id"], a, w)
        ids = wait_for(lambda: (lambda c: c if len(c) == 2 else None)(committing()), 10,
                       what="both rows inserted, not committed")
        time.sleep(0.5)
        for i in ids:
            stackctl("sql", f"KILL CONNECTION {i}")
        ra, rw = fa.result(30), fw.result(30)
        assert ra.status == 503 and rw.status == 503, (ra, rw)
    time.sleep(1.5)
    assert not a.exists() and not w.exists(), "a run started without its row"
    assert stackctl("sql", f"SELECT COUNT(*) FROM executions WHERE script_id = {s['id']}") == "0"
    # The runners are free for the next ones.
    for _ in range(4):
        assert run(s["id"], {"mark": str(marks / "next")})["status"] == "succeeded"
    assert (marks / "next").exists()


def test_lost_sweep_locks_no_running_row():
    # The sweep that ends runs without a heartbeat reads without locking:
    # a running row locked by somebody else (a runner recording its
    # result, here a session of the test) neither holds it up nor is
    # locked by it, so it cannot deadlock with the runners.
    s = register(write_script(unique("held") + ".sh", "#!/bin/sh\nsleep 30\n"))
    held = call("POST", f"/api/v1/scripts/{s['id']}/executions", {"input": {}}).json["id"]
    wait_for(lambda: get(held)["status"] == "running", 20, what="the run to start")
    node = get(held)["node"]
    with SqlSession(f"START TRANSACTION; SELECT id INTO @h FROM executions WHERE id = {held} FOR UPDATE;",
                    "ROLLBACK;"):
        stackctl("sql", "INSERT INTO executions (script_id, script_name, `trigger`, status, input, "
                 "queued_at, node, runner_pid, heartbeat_at) VALUES "
                 f"({s['id']}, '{s['name']}', 'api', 'running', '{{}}', UTC_TIMESTAMP(3), '{node}', "
                 "999999, UTC_TIMESTAMP(3) - INTERVAL 1 HOUR)")
        dead = int(stackctl("sql", f"SELECT MAX(id) FROM executions WHERE script_id = {s['id']}"))
        # Within a few sweeps (every heartbeat interval), while the lock
        # is held.
        e = wait_for(lambda: (lambda e: e if e["status"] == "lost" else None)(get(dead)), 15,
                     what="the dead runner's execution to be marked lost")
        assert "999999" in e["error"], e
    assert call("POST", f"/api/v1/executions/{held}/cancel").status == 200
    assert wait_final(held, 30)["status"] == "canceled"


def test_metrics_have_execution_series():
    text = call("GET", "/api/v1/metrics").body.decode()
    assert re.search(r'^scriptorch_executions_total\{status="succeeded"\} [1-9]', text, re.M)
    assert "scriptorch_queue_depth " in text and "scriptorch_executions_running " in text
    assert "scriptorch_execution_overhead_seconds_bucket" in text
    assert "scriptorch_execution_duration_seconds_count" in text


def runners():
    return sorted(int(l.split()[0]) for l in stackctl("children").splitlines() if l.split()[1] == "sto-runner")


def test_run_cgroups_do_not_pile_up():
    """Between runs each runner keeps one cgroup, made ahead for its next
    run (sandbox.h, struct sandbox_spare); one killed with SIGKILL leaves it
    to the clean-up of the runner that replaces it."""
    found = re.findall(r'cgroup v2 under "([^"]+)"', open(os.path.join(STATE, "scriptorchd.log")).read())
    if not found:
        pytest.skip("no cgroup v2 on this host: runs use the subreaper fallback")
    base = found[-1]

    def made(pids):
        return {d for d in os.listdir(base) if d.startswith("run-") and int(d.split("-")[1]) in pids}

    s = register(write_script(unique("cg") + ".sh", "#!/bin/sh\necho hi\n"))
    for _ in range(12):
        assert run(s["id"])["status"] == "succeeded"
    pids = runners()
    dirs = wait_for(lambda: (lambda m: m if len(m) == len(pids) else None)(made(set(pids))),
                    timeout=10, what="one cgroup per runner")
    assert sorted(int(d.split("-")[1]) for d in dirs) == pids, dirs
    victim = pids[0]
    os.kill(victim, signal.SIGKILL)
    wait_for(lambda: not made({victim}), timeout=20, what="the dead runner's cgroup to go")
    wait_for(lambda: (lambda p: p if len(p) == len(pids) and victim not in p else None)(runners()),
             timeout=20, what="a new runner")
    assert run(s["id"])["status"] == "succeeded"


def test_each_run_counts_its_own_cpu():
    """A runner's run cgroup serves its next run when the last one left it
    empty, unless the host gives run cgroups a memory.peak (a per-run peak
    needs a fresh one): nothing is made or removed between runs then, and
    each run's CPU times are what the cgroup's counters grew by during it,
    so a run after a busy one is not charged with the busy one's."""
    found = re.findall(r'cgroup v2 under "([^"]+)"', open(os.path.join(STATE, "scriptorchd.log")).read())
    if not found:
        pytest.skip("no cgroup v2 on this host: runs use the subreaper fallback")
    base = found[-1]
    busy = register(write_script(unique("busy") + ".sh",
                                 "#!/bin/sh\ni=0\nwhile [ $i -lt 200000 ]; do i=$((i+1)); done\n"))
    idle = register(write_script(unique("idle") + ".sh", "#!/bin/sh\n:\n"))
    assert run(idle["id"])["status"] == "succeeded"

    def ours():     # this stack's: other instances may share the base
        pids = set(runners())
        return {d for d in os.listdir(base) if d.startswith("run-") and int(d.split("-")[1]) in pids}

    cgroups = ours()
    b = run(busy["id"])
    spent = b["cpu_user_ms"] + b["cpu_system_ms"]
    assert b["status"] == "succeeded" and spent >= 100, b
    for _ in range(3):
        e = run(idle["id"])
        assert e["status"] == "succeeded" and e["cpu_user_ms"] + e["cpu_system_ms"] < spent / 2, (e, spent)
    fresh_per_run = any(os.path.exists(os.path.join(base, d, "memory.peak")) for d in cgroups)
    if not fresh_per_run:
        assert ours() == cgroups, "run cgroups were made or removed between runs"
    # A run that leaves a process behind has its cgroup killed; a killed
    # cgroup serves no other run (Linux kills whatever is cloned into it
    # afterwards), and the next runs start as usual.
    left = register(write_script(unique("left") + ".sh", "#!/bin/sh\nsleep 100 &\necho bye\n"))
    assert run(left["id"])["status"] == "succeeded"
    for _ in range(3):
        e = run(idle["id"])
        assert e["status"] == "succeeded" and e["signal"] is None, e


@pytest.mark.parametrize("waited", [False, True], ids=["async", "waited"])
def test_killed_runner_marks_lost_and_is_replaced(waited):
    marker = unique("victim")
    s = register(write_script(marker + ".sh", f"""
        #!/bin/bash
        # a grandchild in its own session, then the script itself
        ( setsid bash -c 'exec -a {marker}-grandchild sleep 1000' & )
        exec -a {marker}-proc sleep 1000
        """))
    answer = {}
    if waited:
        # A waited-for run is inserted running for the runner reserved
        # for it (no queue, no claim): its death must end it all the same.
        t = threading.Thread(target=lambda: answer.update(r=call(
            "POST", f"/api/v1/scripts/{s['id']}/executions?wait=60", {"input": {}})))
        t.start()
        eid = wait_for(lambda: [e["id"] for e in call(
            "GET", f"/api/v1/executions?script_id={s['id']}").json["executions"]],
            timeout=10, what="the execution")[0]
    else:
        eid = call("POST", f"/api/v1/scripts/{s['id']}/executions", {"input": {}}).json["id"]
    wait_for(lambda: get(eid)["status"] == "running" and pids_with(f"{marker}-proc")
             and pids_with(f"{marker}-grandchild"), timeout=10, what="the run to start")
    before = runners()
    # the runner is the parent of the script's process
    child = int(pids_with(f"{marker}-proc")[0])
    ppid = int(open(f"/proc/{child}/stat").read().rsplit(")", 1)[1].split()[1])
    assert ppid in before
    os.kill(ppid, signal.SIGKILL)
    e = wait_final(eid, 40)
    assert e["status"] == "lost", e
    assert e["error"]
    if waited:
        t.join(30)
        assert answer["r"].status == 200 and answer["r"].json["status"] == "lost", answer
    wait_for(lambda: len(runners()) == len(before) and ppid not in runners(), timeout=15,
             what="a replacement runner")
    wait_for(lambda: not pids_with(f"{marker}-proc") and not pids_with(f"{marker}-grandchild"),
             timeout=15, what="everything the dead runner's script started to be killed")
    # the engine still works
    quick = register(write_script(unique("after") + ".sh", "#!/bin/sh\necho fine\n"))
    assert run(quick["id"])["stdout"] == "fine\n"


def test_queue_limit_answers_429():
    conf = os.path.join(STATE, "scriptorch.conf")
    original = open(conf).read()
    master = int(stackctl("daemon-pid"))
    s = register(write_script(unique("blocker") + ".sh", "#!/bin/sh\nsleep 5\n"), max_concurrency=1)
    try:
        with open(conf, "w") as f:
            f.write(re.sub(r"queue_max_depth = \d+", "queue_max_depth = 2", original))
        os.kill(master, signal.SIGHUP)
        time.sleep(1.5)
        codes = [call("POST", f"/api/v1/scripts/{s['id']}/executions", {"input": {}}).status for _ in range(6)]
        assert 429 in codes, codes
        r = call("POST", f"/api/v1/scripts/{s['id']}/executions", {"input": {}})
        if r.status == 429:
            assert r.headers.get("Retry-After")
            assert_error(r, 429, "overloaded")
    finally:
        with open(conf, "w") as f:
            f.write(original)
        os.kill(master, signal.SIGHUP)
        time.sleep(1.5)
    listed = call("GET", f"/api/v1/executions?script_id={s['id']}&status=queued").json["executions"]
    for e in listed:
        call("POST", f"/api/v1/executions/{e['id']}/cancel")


def test_retention_deletes_old_executions_in_batches():
    # 1200 finished executions from 100 days ago (more than two batches of
    # 500) and 3 from 89 days ago, inside the 90-day retention.
    old, recent = unique("ancient"), unique("recent")
    stackctl("sql", f"INSERT INTO executions (script_id, script_name, `trigger`, status, input, queued_at) "
                    f"SELECT 999999, '{old}', 'api', 'succeeded', '{{}}', UTC_TIMESTAMP(3) - INTERVAL 100 DAY "
                    "FROM seq_1_to_1200")
    stackctl("sql", f"INSERT INTO executions (script_id, script_name, `trigger`, status, input, queued_at) "
                    f"SELECT 999999, '{recent}', 'api', 'failed', '{{}}', UTC_TIMESTAMP(3) - INTERVAL 89 DAY "
                    "FROM seq_1_to_3")
    assert int(stackctl("sql", f"SELECT COUNT(*) FROM executions WHERE script_name='{old}'")) == 1200
    # a reload starts a new janitor, which runs the retention pass at once
    os.kill(int(stackctl("daemon-pid")), signal.SIGHUP)
    wait_for(lambda: int(stackctl("sql", f"SELECT COUNT(*) FROM executions WHERE script_name='{old}'")) == 0,
             timeout=30, what="retention to delete the old executions")
    assert int(stackctl("sql", f"SELECT COUNT(*) FROM executions WHERE script_name='{recent}'")) == 3
