"""The execution engine: queue, runners, input passing, sandbox, limits,
timeouts, cancel, capture, lost runners, and load."""
import concurrent.futures
import datetime
import json
import os
import pathlib
import re
import shutil
import signal
import stat
import subprocess
import textwrap
import threading
import time

import pytest

from conftest import (SCRIPT_ROOT, STATE, assert_error, call, children, make_token, reload_daemon,
                      revoked_token, shared_dir, shared_file, sql, stackctl, unique, wait_for)


def run_uid_pool():
    """The stack's run uid pool (run_uid_base, run_uid_count)."""
    text = open(os.path.join(STATE, "scriptorch.conf")).read()
    base = int(re.search(r"^run_uid_base\s*=\s*(\d+)", text, re.M).group(1))
    count = int(re.search(r"^run_uid_count\s*=\s*(\d+)", text, re.M).group(1))
    return range(base, base + count)


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
        stat -c 'mode=%a owner=%u' "$PWD"
        echo "sid=$(ps -o sid= -p $$) pid=$$"
        """)
    s = register(path)
    e = run(s["id"])
    assert e["status"] == "succeeded", e
    out = e["stdout"]
    # A uid of the run uid pool (isolation: no passwd entry, not root).
    uid = int(re.search(r"uid=(\d+)", out).group(1))
    assert uid != 0 and uid in run_uid_pool(), (uid, out)
    # 0, 1, 2 and the one ls opens to list the directory: nothing inherited.
    fds = re.search(r"fds=([0-9 ]*)", out).group(1).split()
    assert fds[:3] == ["0", "1", "2"] and len(fds) <= 4, fds
    assert f"mode=700 owner={uid}" in out
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
    s = register(write_script(unique("sleeper") + ".sh", "#!/bin/sh\necho started\nsleep 1000\n"),
                 timeout_s=1)
    e = run(s["id"])
    assert e["status"] == "timed_out", e
    assert e["signal"] == 15
    # Ended by the 1 s timeout, not by the script: only a timeout that
    # did not fire (or came tens of times late) gets near this bound.
    assert e["duration_ms"] < 60_000, e["duration_ms"]
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
    # timeout (1 s) + grace (2 s in the test stack): never before the
    # grace is over; the upper bound only catches a SIGKILL that never
    # came (the script loops for ever) or came far too late.
    assert 2500 <= e["duration_ms"] < 60_000, e["duration_ms"]


def pids_with(marker):
    r = subprocess.run(["pgrep", "-f", marker], capture_output=True, text=True)
    return [p for p in r.stdout.split()]


def host_ppid(pid):
    return int(open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()[1])


def runner_of(pid):
    """The runner that runs the script whose process is pid: its parent,
    or with isolation its parent's parent (the run's init between)."""
    ppid = host_ppid(pid)
    if open(f"/proc/{ppid}/comm").read().strip() == "sto-init":
        ppid = host_ppid(ppid)
    return ppid


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
    e = run(s["id"])
    # A run that waited for the grandchild (its stdout still open) would
    # end timed_out after 30 s: succeeded means it did not.
    assert e["status"] == "succeeded", e
    assert "grandchild-alive" in e["stdout"] and "parent done" in e["stdout"]
    # The run's tree is killed, and waited for, before its result is
    # recorded: nothing it started is left when the answer comes.
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
    assert pids_with(f"{marker}-sleeper") == []


def register_logging_script(name, seconds, max_concurrency):
    """A script that logs "start ID", sleeps, logs "end ID" to a shared
    file; returns the registered script and the log's path."""
    log = shared_file(unique(name) + ".log")
    path = write_script(unique(name) + ".sh", f"""
        #!/bin/sh
        echo "start $SCRIPTORCH_EXECUTION_ID" >> {log}
        sleep {seconds}
        echo "end $SCRIPTORCH_EXECUTION_ID" >> {log}
        """)
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


# ---- who may do what (API.md: viewer reads; operator runs, reads,
# cancels; admin everything; no token or a revoked one is 401)

WHO = ("none", "revoked", "viewer", "operator", "admin")


@pytest.fixture(scope="module")
def tokens():
    """A token of each role, made through the API, one revoked, and none."""
    return {"none": None, "revoked": revoked_token("admin"), "viewer": make_token("viewer"),
            "operator": make_token("operator"), "admin": make_token("admin")}


def allowed(who, least):
    """The answer class for `who` on a route for `least` and above: True
    when allowed, else the refusal's status."""
    if who in ("none", "revoked"):
        return 401
    order = ("viewer", "operator", "admin")
    return True if order.index(who) >= order.index(least) else 403


def assert_refused(r, status):
    assert_error(r, status, "unauthorized" if status == 401 else "forbidden")


def executions_of(script_id):
    return sorted(e["id"] for e in call("GET", f"/api/v1/executions?script_id={script_id}&limit=500")
                  .json["executions"])


@pytest.fixture(scope="module")
def echo_script():
    return write_script(unique("echo") + ".sh", "#!/bin/sh\necho \"out $INPUT_N\"\necho err >&2\n")


@pytest.mark.parametrize("how", ["id", "name", "wait"])
@pytest.mark.parametrize("who", WHO)
def test_submit_by_role(tokens, echo_script, who, how):
    s = register(echo_script, input_mode="env")
    ref = s["name"] if how == "name" else s["id"]
    query = "?wait=30" if how == "wait" else ""
    r = call("POST", f"/api/v1/scripts/{ref}/executions{query}", {"input": {"n": 1}},
             token=tokens[who])
    ok = allowed(who, "operator")
    if ok is True:
        assert r.status == (200 if how == "wait" else 202), r
        e = r.json if how == "wait" else wait_final(r.json["id"])
        assert e["status"] == "succeeded" and e["trigger"] == "api" and e["stdout"] == "out 1\n", e
        assert executions_of(s["id"]) == [e["id"]]
    else:
        assert_refused(r, ok)
        assert executions_of(s["id"]) == [], "a refused submission created an execution"


@pytest.mark.parametrize("who", WHO)
def test_test_run_by_role(tokens, echo_script, who):
    s = register(echo_script, input_mode="env")
    r = call("POST", f"/api/v1/admin/scripts/{s['id']}/test", {"input": {"n": 2}}, token=tokens[who])
    ok = allowed(who, "admin")
    if ok is True:
        assert r.status == 200, r
        assert r.json["trigger"] == "test" and r.json["stdout"] == "out 2\n", r.json
        assert executions_of(s["id"]) == [r.json["id"]]
    else:
        assert_refused(r, ok)
        assert executions_of(s["id"]) == [], "a refused test run created an execution"


def cancel_requested(eid):
    return sql(f"SELECT cancel_requested FROM executions WHERE id = {eid}")


@pytest.mark.parametrize("who", WHO)
def test_cancel_by_role(tokens, who):
    # One running (max_concurrency 1), one queued behind it: `who` asks to
    # cancel each; a refusal leaves both as they were.
    marker = unique("cancelrole")
    s = register(write_script(marker + ".sh", f"#!/bin/bash\nexec -a {marker}-proc sleep 1000\n"),
                 max_concurrency=1)
    running = call("POST", f"/api/v1/scripts/{s['id']}/executions", {"input": {}}).json["id"]
    queued = call("POST", f"/api/v1/scripts/{s['id']}/executions", {"input": {}}).json["id"]
    wait_for(lambda: get(running)["status"] == "running" and pids_with(f"{marker}-proc"), 20,
             what="the first run to start")
    ok = allowed(who, "operator")
    try:
        rq = call("POST", f"/api/v1/executions/{queued}/cancel", token=tokens[who])
        rr = call("POST", f"/api/v1/executions/{running}/cancel", token=tokens[who])
        if ok is True:
            assert rq.status == 200 and rq.json["status"] == "canceled", rq
            assert rr.status == 200, rr
            assert wait_final(running, 30)["status"] == "canceled"
            assert pids_with(f"{marker}-proc") == []
            # Already final: 409 for this role as for any.
            assert_error(call("POST", f"/api/v1/executions/{queued}/cancel", token=tokens[who]),
                         409, "conflict")
        else:
            assert_refused(rq, ok)
            assert_refused(rr, ok)
            assert get(queued)["status"] == "queued" and cancel_requested(queued) == "0"
            assert get(running)["status"] == "running" and cancel_requested(running) == "0"
            assert pids_with(f"{marker}-proc")
    finally:
        for eid in (queued, running):
            call("POST", f"/api/v1/executions/{eid}/cancel")
    assert [wait_final(i, 30)["status"] for i in (queued, running)] == ["canceled", "canceled"]


@pytest.fixture(scope="module")
def finished(echo_script):
    """An execution that printed "out 3" and "err"."""
    s = register(echo_script, input_mode="env")
    e = run(s["id"], {"n": 3})
    assert e["status"] == "succeeded" and e["stdout"] == "out 3\n" and e["stderr"] == "err\n", e
    return e


@pytest.mark.parametrize("who", WHO)
def test_reads_by_role(tokens, finished, who):
    ok = allowed(who, "viewer")
    eid, sid = finished["id"], finished["script_id"]
    answers = {
        "list": call("GET", f"/api/v1/executions?script_id={sid}", token=tokens[who]),
        "get": call("GET", f"/api/v1/executions/{eid}", token=tokens[who]),
        "stdout": call("GET", f"/api/v1/executions/{eid}/stdout", token=tokens[who]),
        "stderr": call("GET", f"/api/v1/executions/{eid}/stderr", token=tokens[who]),
    }
    if ok is not True:
        for what, r in answers.items():
            assert r.status == ok, (what, r)
            assert_refused(r, ok)
        return
    assert all(r.status == 200 for r in answers.values()), answers
    assert [e["id"] for e in answers["list"].json["executions"]] == [eid]
    assert answers["get"].json["stdout"] == "out 3\n" and answers["get"].json["id"] == eid
    assert answers["stdout"].body == b"out 3\n"
    assert answers["stderr"].body == b"err\n"
    for what in ("stdout", "stderr"):
        assert answers[what].headers["Content-Type"] == "application/octet-stream"


# ---- list filters: each checked on data that an ignored filter would
# let through

def wait_clock_past(ms):
    """Waits until the wall clock (the database's too: same host) is past
    a Unix time in milliseconds."""
    wait_for(lambda: time.time() * 1000 > ms, 5, interval=0.005, what="the clock to move on")


def as_rfc3339(ms, offset_minutes=0):
    """Unix milliseconds as RFC 3339 with milliseconds, in UTC ("Z") or at
    an offset from it (same instant)."""
    tz = datetime.timezone(datetime.timedelta(minutes=offset_minutes))
    t = datetime.datetime.fromtimestamp(ms / 1000, tz)
    text = t.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ms % 1000:03d}"
    if offset_minutes == 0:
        return text + "Z"
    sign = "+" if offset_minutes > 0 else "-"
    return text + f"{sign}{abs(offset_minutes) // 60:02d}:{abs(offset_minutes) % 60:02d}"


@pytest.fixture(scope="module")
def history():
    """Executions of two scripts, in this order (each queued after the
    last one ended): a1 A succeeded, a2 A failed, a3 A test run, b1 B
    succeeded, [a moment `middle`], a4 A succeeded, b2 B failed, a5 A
    canceled. `start` is just before a1, `end` just after a5."""
    body = "#!/bin/sh\nsleep \"${INPUT_S:-0}\"\nexit \"${INPUT_CODE:-0}\"\n"
    A = register(write_script(unique("hist-a") + ".sh", body), input_mode="env")
    B = register(write_script(unique("hist-b") + ".sh", body), input_mode="env")
    h = {"A": A["id"], "B": B["id"]}
    # Past every earlier execution's queued_at, before a1's.
    h["start"] = int(time.time() * 1000) + 1
    wait_clock_past(h["start"])
    h["a1"] = run(A["id"], {"code": 0})
    h["a2"] = run(A["id"], {"code": 3})
    r = call("POST", f"/api/v1/admin/scripts/{A['id']}/test", {"input": {}})
    assert r.status == 200, r
    h["a3"] = r.json
    h["b1"] = run(B["id"], {"code": 0})
    # A moment strictly between b1's queued_at and a4's.
    wait_clock_past(epoch_ms(h["b1"]["queued_at"]) + 2)
    h["middle"] = epoch_ms(h["b1"]["queued_at"]) + 1
    wait_clock_past(h["middle"] + 1)
    h["a4"] = run(A["id"], {"code": 0})
    h["b2"] = run(B["id"], {"code": 1})
    a5 = call("POST", f"/api/v1/scripts/{A['id']}/executions", {"input": {"s": 1000}}).json["id"]
    assert call("POST", f"/api/v1/executions/{a5}/cancel").status == 200
    h["a5"] = wait_final(a5, 30)
    wait_clock_past(epoch_ms(h["a5"]["queued_at"]) + 1)
    h["end"] = int(time.time() * 1000)
    expect = {"a1": ("succeeded", "api"), "a2": ("failed", "api"), "a3": ("succeeded", "test"),
              "b1": ("succeeded", "api"), "a4": ("succeeded", "api"), "b2": ("failed", "api"),
              "a5": ("canceled", "api")}
    for k, (status, trigger) in expect.items():
        assert (h[k]["status"], h[k]["trigger"]) == (status, trigger), (k, h[k])
        h[k] = h[k]["id"]
    return h


def listed(query):
    """Every id the list gives for a query, newest first, following
    next_cursor (100 a page)."""
    ids, cursor = [], None
    for _ in range(100):
        r = call("GET", f"/api/v1/executions?{query}&limit=100" + (f"&cursor={cursor}" if cursor else ""))
        assert r.status == 200, (query, r)
        ids += [e["id"] for e in r.json["executions"]]
        cursor = r.json["next_cursor"]
        if not cursor:
            return ids
    raise AssertionError(f"no last page after 100 pages of {query}")


def ids_of(h, *names):
    return [h[n] for n in names]


def test_list_filter_script_id(history):
    h = history
    assert listed(f"script_id={h['A']}") == ids_of(h, "a5", "a4", "a3", "a2", "a1")
    assert listed(f"script_id={h['B']}") == ids_of(h, "b2", "b1")
    assert listed("script_id=999999998") == []


def test_list_filter_status(history):
    h = history
    since = f"since={as_rfc3339(h['start'])}"
    assert listed(f"script_id={h['A']}&status=succeeded") == ids_of(h, "a4", "a3", "a1")
    assert listed(f"script_id={h['A']}&status=failed") == ids_of(h, "a2")
    assert listed(f"script_id={h['A']}&status=canceled") == ids_of(h, "a5")
    assert listed(f"script_id={h['A']}&status=running") == []
    # Without script_id: nothing else was queued since `start`.
    assert listed(f"status=failed&{since}") == ids_of(h, "b2", "a2")
    for status in ("succeeded", "failed", "canceled"):
        r = call("GET", f"/api/v1/executions?status={status}&limit=500")
        assert r.status == 200 and r.json["executions"], r
        assert {e["status"] for e in r.json["executions"]} == {status}


def test_list_filter_trigger(history):
    h = history
    since = f"since={as_rfc3339(h['start'])}"
    assert listed(f"trigger=test&{since}") == ids_of(h, "a3")
    assert listed(f"script_id={h['A']}&trigger=test") == ids_of(h, "a3")
    assert listed(f"script_id={h['A']}&trigger=api") == ids_of(h, "a5", "a4", "a2", "a1")
    assert listed(f"trigger=api&{since}") == ids_of(h, "a5", "b2", "a4", "b1", "a2", "a1")
    assert listed(f"trigger=ui&{since}") == []
    r = call("GET", "/api/v1/executions?trigger=test&limit=500")
    assert r.status == 200 and {e["trigger"] for e in r.json["executions"]} == {"test"}


def test_list_filter_since(history):
    h = history
    later = ids_of(h, "a5", "b2", "a4")
    assert listed(f"since={as_rfc3339(h['middle'])}") == later
    # The same instant written at another offset from UTC.
    for minutes in (120, -330):
        assert listed(f"since={as_rfc3339(h['middle'], minutes).replace('+', '%2B')}") == later
    assert listed(f"script_id={h['A']}&since={as_rfc3339(h['middle'])}") == ids_of(h, "a5", "a4")
    assert listed(f"status=failed&since={as_rfc3339(h['middle'])}") == ids_of(h, "b2")
    assert listed(f"since={as_rfc3339(h['start'])}") == ids_of(
        h, "a5", "b2", "a4", "b1", "a3", "a2", "a1")
    assert listed(f"script_id={h['A']}&since={as_rfc3339(h['end'])}") == []
    # Seconds without a fraction are valid RFC 3339 too.
    whole = as_rfc3339(h["start"] // 1000 * 1000).replace(".000Z", "Z")
    assert set(ids_of(h, "a1", "b2")) <= set(listed(f"since={whole}"))


def test_list_limit_and_cursor(history):
    h = history
    pages, cursor = [], None
    while True:
        r = call("GET", f"/api/v1/executions?script_id={h['A']}&limit=2" +
                 (f"&cursor={cursor}" if cursor else ""))
        assert r.status == 200, r
        pages.append([e["id"] for e in r.json["executions"]])
        cursor = r.json["next_cursor"]
        if cursor is None:
            break
        assert isinstance(cursor, str) and cursor, r.json
        assert len(pages) < 10, pages
    assert pages == [ids_of(h, "a5", "a4"), ids_of(h, "a3", "a2"), ids_of(h, "a1")]
    # A cursor with another filter: the next page of that filter.
    r = call("GET", f"/api/v1/executions?script_id={h['A']}&status=succeeded&limit=1").json
    assert [e["id"] for e in r["executions"]] == [h["a4"]]
    r = call("GET", f"/api/v1/executions?script_id={h['A']}&status=succeeded&limit=1"
                    f"&cursor={r['next_cursor']}").json
    assert [e["id"] for e in r["executions"]] == [h["a3"]]
    item = call("GET", f"/api/v1/executions?script_id={h['A']}&limit=1").json["executions"][0]
    assert "stdout" not in item and "stderr" not in item and "input" not in item
    assert item["id"] == h["a5"] and item["status"] == "canceled"


@pytest.fixture(scope="module")
def many():
    """A script with 520 finished executions (made in the database at
    once: a list does not care how they ran), their ids ascending."""
    s = register(write_script(unique("many-list") + ".sh", "#!/bin/sh\n:\n"))
    sql("INSERT INTO executions (script_id, script_name, `trigger`, status, input, queued_at) "
        f"SELECT {s['id']}, '{s['name']}', 'api', 'succeeded', '{{}}', UTC_TIMESTAMP(3) FROM seq_1_to_520")
    ids = executions_of_all(s["id"])
    assert len(ids) == 520
    yield s["id"], ids
    sql(f"DELETE FROM executions WHERE script_id = {s['id']}")


def executions_of_all(script_id):
    return sorted(int(x) for x in sql(f"SELECT id FROM executions WHERE script_id = {script_id}").split())


def test_list_default_limit_is_50(many):
    sid, ids = many
    page = call("GET", f"/api/v1/executions?script_id={sid}").json
    assert [e["id"] for e in page["executions"]] == ids[::-1][:50]
    assert page["next_cursor"]
    page = call("GET", f"/api/v1/executions?script_id={sid}&cursor={page['next_cursor']}").json
    assert [e["id"] for e in page["executions"]] == ids[::-1][50:100]


def test_list_limit_max_is_500(many):
    sid, ids = many
    page = call("GET", f"/api/v1/executions?script_id={sid}&limit=500").json
    assert [e["id"] for e in page["executions"]] == ids[::-1][:500]
    rest = call("GET", f"/api/v1/executions?script_id={sid}&limit=500&cursor={page['next_cursor']}").json
    assert [e["id"] for e in rest["executions"]] == ids[::-1][500:]
    assert rest["next_cursor"] is None
    # Over the maximum is refused (docs/api.md: 1..500), not clamped.
    for bad in ("501", "100000", "0", "-1", "abc", "2.5"):
        assert_error(call("GET", f"/api/v1/executions?script_id={sid}&limit={bad}"), 422,
                     "validation_failed", "limit")


def test_list_bad_filters_are_422():
    for query, field in (("status=bogus", "status"), ("since=yesterday", "since"),
                         ("since=2026-01-01T00:00:00", "since"), ("cursor=x", "cursor"),
                         ("cursor=0", "cursor"), ("script_id=abc", "script_id"),
                         ("script_id=0", "script_id")):
        assert_error(call("GET", f"/api/v1/executions?{query}"), 422, "validation_failed", field)
    assert_error(call("GET", "/api/v1/executions/999999999"), 404, "not_found")


def test_deleted_script_keeps_executions(envdump):
    s = register(envdump)
    e = run(s["id"])
    assert call("DELETE", f"/api/v1/admin/scripts/{s['id']}").status == 204
    kept = get(e["id"])
    assert kept["script_name"] == s["name"] and kept["script_version"] == e["script_version"]


def test_concurrent_submissions_all_finish_once():
    log = shared_file(unique("many") + ".log")
    s = register(write_script(unique("many") + ".sh", f"""
        #!/bin/sh
        echo "$SCRIPTORCH_EXECUTION_ID" >> {log}
        echo "$INPUT_N"
        """))

    # Half of them wait for their end: those that find a runner idle are
    # inserted running for it, the rest queue, are handed off or scanned
    # for, and are claimed; all paths at once. Waits beyond
    # max_waiting_workers are not waited for: 202 at once.
    def submit(n):
        if n % 2:
            r = call("POST", f"/api/v1/scripts/{s['id']}/executions?wait=120", {"input": {"n": n}},
                     timeout=180)
            if r.status == 202:
                assert r.json["status"] in ("queued", "running"), r
            else:
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
    # made by hand for a runner that does not exist, with a heartbeat a
    # minute ahead: as if its runner were alive until the test says not.
    s = register(write_script(unique("rsv") + ".sh", "#!/bin/sh\necho ran\n"))
    node = run(s["id"])["node"]
    stackctl("sql", "INSERT INTO executions (script_id, script_name, `trigger`, status, input, "
             "queued_at, node, runner_pid, heartbeat_at) VALUES "
             f"({s['id']}, '{s['name']}', 'api', 'queued', '{{}}', UTC_TIMESTAMP(3), '{node}', "
             "999999, UTC_TIMESTAMP(3) + INTERVAL 1 MINUTE)")
    eid = int(stackctl("sql", f"SELECT MAX(id) FROM executions WHERE script_id = {s['id']}"))
    # Later executions of a script with a max_concurrency are never
    # handed to a runner directly: each is taken by a queue scan, which
    # takes the oldest queued row it may. Once they have all run, scans
    # have passed over the reserved row several times.
    later = register(write_script(unique("rsv-later") + ".sh", "#!/bin/sh\nsleep 0.1\n"),
                     max_concurrency=1)
    ids = [call("POST", f"/api/v1/scripts/{later['id']}/executions", {"input": {}}).json["id"]
           for _ in range(5)]
    assert [wait_final(i, 60)["status"] for i in ids] == ["succeeded"] * 5
    e = get(eid)
    assert e["status"] == "queued" and e["started_at"] is None and e["stdout"] == "", e
    # Not canceled at once (its runner may be starting it): the answer
    # comes after the wait for a running one, and shows it still queued.
    r = call("POST", f"/api/v1/executions/{eid}/cancel")
    assert r.status == 200 and r.json["status"] == "queued", r
    assert stackctl("sql", f"SELECT cancel_requested FROM executions WHERE id = {eid}") == "1"
    # Its runner "dies": the heartbeat sweep ends it.
    stackctl("sql", f"UPDATE executions SET heartbeat_at = UTC_TIMESTAMP(3) - INTERVAL 1 HOUR "
             f"WHERE id = {eid}")
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
    for its commit: in the INSERT itself (autocommit) or in the COMMIT of
    a transaction that changed rows."""
    out = sql("SELECT p.ID FROM information_schema.PROCESSLIST p "
              "JOIN information_schema.INNODB_TRX t ON t.trx_mysql_thread_id = p.ID "
              "WHERE t.trx_rows_modified > 0 "
              "AND (p.INFO LIKE 'INSERT INTO executions%' OR p.INFO = 'COMMIT')")
    return [int(x) for x in out.split()]


def rows_read_dirty(script_id):
    """(id, runner_pid) of every execution row of a script, committed or
    not: an uncommitted row shows that its INSERT is done and only its
    commit waits."""
    out = sql("SET SESSION TRANSACTION ISOLATION LEVEL READ UNCOMMITTED; "
              f"SELECT id, runner_pid FROM executions WHERE script_id = {script_id} ORDER BY id")
    return [tuple(None if v == "NULL" else int(v) for v in line.split("\t"))
            for line in out.splitlines()]


def wakeups(pid):
    """How many times a process has gone to sleep and woken up again."""
    with open(f"/proc/{pid}/status") as f:
        return int(re.search(r"^voluntary_ctxt_switches:\s+(\d+)", f.read(), re.M).group(1))


def epoch_ms(rfc3339):
    """An API timestamp (2026-11-26T05:36:24.123Z) as Unix milliseconds."""
    return round(datetime.datetime.strptime(rfc3339, "%Y-%m-%dT%H:%M:%S.%fZ")
                 .replace(tzinfo=datetime.timezone.utc).timestamp() * 1000)


@pytest.fixture
def marks():
    # A directory the run user writes its marks in.
    d = shared_dir("sto-marks-")
    yield pathlib.Path(d)
    shutil.rmtree(d)


def submit_pair(pool, script_id, mark_async, mark_waited):
    """An async submission and a waited one, each to an idle runner."""
    fa = pool.submit(call, "POST", f"/api/v1/scripts/{script_id}/executions",
                     {"input": {"mark": str(mark_async)}})
    fw = pool.submit(call, "POST", f"/api/v1/scripts/{script_id}/executions?wait=30",
                     {"input": {"mark": str(mark_waited)}}, timeout=60)
    return fa, fw


def both_reserved_and_uncommitted(script_id):
    """The two submissions' rows, once both are inserted (not committed)
    for a runner each: [(id, runner_pid), ...], else None."""
    if sql(f"SELECT COUNT(*) FROM executions WHERE script_id = {script_id}") != "0":
        raise AssertionError("a row was committed while commits were held")
    rows = rows_read_dirty(script_id)
    return rows if len(rows) == 2 else None


def gate_script():
    """Touches $INPUT_MARK; with $INPUT_BARRIER, also waits (up to 30 s)
    until $INPUT_N executions have reached that point at once."""
    return register(write_script(unique("gate") + ".sh", """
        #!/bin/sh
        if [ -n "$INPUT_BARRIER" ]; then
            touch "$INPUT_BARRIER/$SCRIPTORCH_EXECUTION_ID"
            i=0
            while [ "$(ls "$INPUT_BARRIER" | wc -l)" -lt "$INPUT_N" ]; do
                i=$((i + 1)); [ $i -gt 600 ] && exit 7
                sleep 0.05
            done
        fi
        [ -z "$INPUT_MARK" ] || touch "$INPUT_MARK"
        """), input_mode="env")


def every_runner_runs_one_more(script_id, barrier):
    """One execution per runner, all running at once (each waits for the
    others): every runner has served its box since, so whatever an API
    worker had left there has had its chance to run first. Returns them
    ended (succeeded unless some runner could not take one)."""
    os.mkdir(barrier)
    os.chmod(barrier, 0o777)
    n = len(children("sto-runner"))
    ids = [call("POST", f"/api/v1/scripts/{script_id}/executions",
                {"input": {"barrier": str(barrier), "n": n}}).json["id"] for _ in range(n)]
    return [wait_final(i, 60) for i in ids]


def test_no_run_starts_before_its_row_is_committed(marks):
    # A run is logged before it starts: with the database's commits held
    # an async and a waited-for submission, each going to an idle runner,
    # start nothing until their rows are committed.
    s = gate_script()
    a, w = marks / "async", marks / "waited"
    with commits_held() as held, concurrent.futures.ThreadPoolExecutor(2) as pool:
        fa, fw = submit_pair(pool, s["id"], a, w)
        rows = wait_for(lambda: both_reserved_and_uncommitted(s["id"]), 10,
                        what="both rows inserted for a runner each, not committed")
        picked = [pid for _, pid in rows]
        assert None not in picked and len(set(picked)) == 2, rows
        # Each runner picked has looked at its box again and again since
        # (it polls it while an API worker inserts for it): had it been
        # given its execution before the commit, it would have started it.
        since = {p: wakeups(p) for p in picked}

        def looked_again():
            assert not a.exists() and not w.exists(), "a script ran before its row was committed"
            return all(wakeups(p) - since[p] >= 5 for p in picked)
        wait_for(looked_again, 15, what="the runners picked to look at their boxes again")
        assert not a.exists() and not w.exists(), "a script ran before its row was committed"
        assert not fa.done() and not fw.done()
        released_ms = int(time.time() * 1000)
        held.release()
        ra, rw = fa.result(60), fw.result(60)
    assert ra.status == 202, ra
    assert rw.status == 200 and rw.json["status"] == "succeeded", rw
    ea = wait_final(ra.json["id"])
    assert ea["status"] == "succeeded"
    assert a.exists() and w.exists()
    # Each started (exec'd) after the commits were let go.
    for e in (ea, rw.json):
        assert epoch_ms(e["started_at"]) >= released_ms, (e["started_at"], released_ms)


def test_a_run_whose_commit_fails_never_starts(marks):
    # The API worker's INSERT fails at its commit (its connection is
    # killed while the commit waits): it answers 503, nothing starts, and
    # the runners it had picked serve the next ones.
    s = gate_script()
    a, w = marks / "async", marks / "waited"
    with commits_held(), concurrent.futures.ThreadPoolExecutor(2) as pool:
        fa, fw = submit_pair(pool, s["id"], a, w)
        wait_for(lambda: both_reserved_and_uncommitted(s["id"]), 10,
                 what="both rows inserted for a runner each, not committed")
        waiting = committing()
        assert len(waiting) == 2, "not two sessions waiting to commit their INSERTs"
        for i in waiting:
            stackctl("sql", f"KILL CONNECTION {i}")
        ra, rw = fa.result(30), fw.result(30)
        assert ra.status == 503 and rw.status == 503, (ra, rw)
    # Every runner, those two included, runs a later execution.
    finals = every_runner_runs_one_more(s["id"], marks / "barrier")
    assert not a.exists() and not w.exists(), "a run started without its row"
    n = len(children("sto-runner"))
    assert [e["status"] for e in finals] == ["succeeded"] * n, finals
    assert sql(f"SELECT COUNT(*) FROM executions WHERE script_id = {s['id']}") == str(n)
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
    return children("sto-runner")


def host_run_cgroups():
    """What the host offers for run cgroups, found the way the daemon looks
    (sandbox.c, sandbox_init, with no cgroup_root configured): the first
    cgroup v2 mount in a runner's mount table, the runner's own v2 cgroup,
    "scriptorch" below that; usable when a cgroup made there has
    cgroup.kill. Returns (mount, base) or raises Skip naming what the
    host lacks."""
    runner = runners()[0]
    mnt = None
    with open(f"/proc/{runner}/mountinfo") as f:
        for line in f:
            fields, fs = line.split(" - ", 1)
            if fs.split()[0] == "cgroup2":
                mnt = fields.split()[4]
                break
    if mnt is None:
        pytest.skip("the host has no cgroup v2 file system mounted: runs can only use the "
                    "subreaper fallback")
    with open(f"/proc/{runner}/cgroup") as f:
        own = [line.rstrip("\n")[3:] for line in f if line.startswith("0::")]
    assert own, "a runner is in no cgroup v2 although one is mounted"
    base = mnt + ("" if own[0] == "/" else own[0]) + "/scriptorch"
    probe = os.path.join(base, unique("probe-test"))
    try:
        os.makedirs(base, exist_ok=True)
        os.mkdir(probe)
    except OSError as e:
        pytest.skip(f"no cgroup can be made under {base} ({e}): runs can only use the "
                    "subreaper fallback")
    try:
        has_kill = os.path.exists(os.path.join(probe, "cgroup.kill"))
    finally:
        os.rmdir(probe)
    if not has_kill:
        pytest.skip(f"the kernel has no cgroup.kill (cgroups under {base}): runs can only use "
                    "the subreaper fallback")
    return mnt, base


def run_cgroups_of_this_stack(base):
    # Other stacks on the host may share the base: only this one's runners.
    pids = set(runners())
    return {d for d in os.listdir(base) if d.startswith("run-") and int(d.split("-")[1]) in pids}


def test_runs_use_cgroup_v2_when_the_host_has_it():
    """The daemon puts each run in a cgroup of its own when the host lets
    it (here: the CI machine has cgroup v2 with cgroup.kill), and does not
    fall back to the weaker subreaper and process group then."""
    mnt, base = host_run_cgroups()
    marker = unique("incg")
    s = register(write_script(marker + ".sh", f"#!/bin/bash\nexec -a {marker}-proc sleep 1000\n"))
    eid = call("POST", f"/api/v1/scripts/{s['id']}/executions", {"input": {}}).json["id"]
    try:
        pid = int(wait_for(lambda: pids_with(f"{marker}-proc"), 20, what="the run to start")[0])
        with open(f"/proc/{pid}/cgroup") as f:
            cg = [line.rstrip("\n")[3:] for line in f if line.startswith("0::")][0]
        ppid = runner_of(pid)
        rel = base[len(mnt):] + "/"
        assert cg.startswith(rel + "run-"), f"the script runs in {cg!r}, not in a run cgroup under {base}"
        # run-<its runner's pid>-...
        assert int(cg[len(rel):].split("/")[0].split("-")[1]) == ppid, (cg, ppid)
    finally:
        assert call("POST", f"/api/v1/executions/{eid}/cancel").status == 200
    assert wait_final(eid, 30)["status"] == "canceled"


def test_run_cgroups_do_not_pile_up():
    """Between runs each runner keeps one cgroup, made ahead for its next
    run (sandbox.h, struct sandbox_spare); one killed with SIGKILL leaves it
    to the clean-up of the runner that replaces it."""
    _, base = host_run_cgroups()

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


@pytest.fixture(scope="module")
def cpu_burner():
    """Spins until it has used 300 ms of CPU by its own clock: a known
    amount, whatever the machine's speed or load."""
    return compile_c(unique("burn"), r"""
        #include <time.h>
        int main(void) {
            struct timespec t;
            do clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
            while (t.tv_sec == 0 && t.tv_nsec < 300000000L);
            return 0;
        }
        """)


def test_each_run_counts_its_own_cpu(cpu_burner):
    """A runner's run cgroup serves its next run when the last one left it
    empty, unless the host gives run cgroups a memory.peak (a per-run peak
    needs a fresh one): nothing is made or removed between runs then, and
    each run's CPU times are what the cgroup's counters grew by during it,
    so a run after a busy one is not charged with the busy one's."""
    _, base = host_run_cgroups()
    busy = register(cpu_burner, type_="binary")
    idle = register(write_script(unique("idle") + ".sh", "#!/bin/sh\n:\n"))
    assert run(idle["id"])["status"] == "succeeded"
    cgroups = wait_for(lambda: (lambda m: m if len(m) == len(runners()) else None)(
        run_cgroups_of_this_stack(base)), timeout=10, what="one run cgroup per runner")
    b = run(busy["id"])
    spent = b["cpu_user_ms"] + b["cpu_system_ms"]
    # Its own 300 ms, less at most a millisecond of rounding per figure.
    assert b["status"] == "succeeded" and spent >= 298, b
    for _ in range(3):
        e = run(idle["id"])
        assert e["status"] == "succeeded" and e["cpu_user_ms"] + e["cpu_system_ms"] < spent / 2, (e, spent)
    fresh_per_run = any(os.path.exists(os.path.join(base, d, "memory.peak")) for d in cgroups)
    if not fresh_per_run:
        assert run_cgroups_of_this_stack(base) == cgroups, "run cgroups were made or removed between runs"
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
    # the runner is the parent of the script's process (or of its init)
    child = int(pids_with(f"{marker}-proc")[0])
    ppid = runner_of(child)
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
    assert sql("SELECT COUNT(*) FROM executions WHERE status = 'queued'") == "0", \
        "an earlier test left executions queued"
    marker = unique("blocker")
    s = register(write_script(marker + ".sh", f"#!/bin/bash\nexec -a {marker}-proc sleep 1000\n"),
                 max_concurrency=1)
    ids = []
    try:
        with open(conf, "w") as f:
            f.write(re.sub(r"queue_max_depth = \d+", "queue_max_depth = 2", original))
        reload_daemon()
        # One running (not in the queue), then two queued fill it: the
        # next ones are refused, and create nothing.
        r = call("POST", f"/api/v1/scripts/{s['id']}/executions", {"input": {}})
        assert r.status == 202, r
        ids.append(r.json["id"])
        wait_for(lambda: get(ids[0])["status"] == "running", 20, what="the first run to start")
        codes = []
        for _ in range(5):
            r = call("POST", f"/api/v1/scripts/{s['id']}/executions", {"input": {}})
            codes.append(r.status)
            if r.status == 202:
                ids.append(r.json["id"])
            else:
                assert_error(r, 429, "overloaded")
                assert int(r.headers["Retry-After"]) > 0, r.headers
        assert codes == [202, 202, 429, 429, 429], codes
        listed = call("GET", f"/api/v1/executions?script_id={s['id']}").json["executions"]
        assert sorted(e["id"] for e in listed) == ids
    finally:
        for i in ids:
            call("POST", f"/api/v1/executions/{i}/cancel")
        with open(conf, "w") as f:
            f.write(original)
        reload_daemon()
    # The old limit is back: the queue takes more again.
    more = [call("POST", f"/api/v1/scripts/{s['id']}/executions", {"input": {}}) for _ in range(3)]
    assert [r.status for r in more] == [202] * 3, more
    for r in more:
        assert call("POST", f"/api/v1/executions/{r.json['id']}/cancel").status == 200
    assert [wait_final(i, 30)["status"] for i in ids] == ["canceled"] * len(ids)


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
