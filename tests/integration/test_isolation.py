"""Runs that cannot see or touch each other (issue 15): a uid per running
execution from the configured pool, a PID namespace and /proc of the
run's own, private /tmp, nothing of the daemon's reachable, the script
and its venv read-only, and the statuses and kill paths as before, now
through the run's init. Real processes against the real stack."""
import json
import os
import pwd
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

from conftest import SCRIPT_ROOT, STATE, call, unique, wait_for

RUN_USER = os.environ.get("SCRIPTORCH_RUN_USER", "scriptorch-run")
BUILD = os.environ.get("SCRIPTORCH_BUILD", "")
CONF = os.path.join(STATE, "scriptorch.conf")


def conf_value(key, text=None):
    text = text if text is not None else open(CONF).read()
    m = re.search(r"^%s\s*=\s*(.*)$" % re.escape(key), text, re.M)
    return m.group(1).strip() if m else None


def pool():
    base, count = int(conf_value("run_uid_base")), int(conf_value("run_uid_count"))
    return range(base, base + count)


def kept_in_tmp():
    """What a run's private /tmp shows: nothing, but in a stack whose
    script root and work dirs lie under /tmp (dev/test's), the empty
    directory leading to them, where they are mounted back."""
    return sorted({p.split("/")[2] for p in (SCRIPT_ROOT, conf_value("work_dir"))
                   if p.startswith("/tmp/")})


def write_script(name, body, mode=0o755):
    path = os.path.join(SCRIPT_ROOT, name)
    with open(path, "w") as f:
        f.write(textwrap.dedent(body).lstrip())
    os.chmod(path, mode)
    return path


def register(path, type_="shell", **fields):
    body = {"name": unique("iso"), "type": type_, "path": path}
    body.update(fields)
    r = call("POST", "/api/v1/admin/scripts", body)
    assert r.status == 201, r
    return r.json


def run(script_id, input_=None, wait=60):
    r = call("POST", f"/api/v1/scripts/{script_id}/executions?wait={wait}",
             {"input": input_ or {}}, timeout=wait + 30)
    assert r.status == 200, r
    return r.json


def submit(script_id, input_=None):
    r = call("POST", f"/api/v1/scripts/{script_id}/executions", {"input": input_ or {}})
    assert r.status == 202, r
    return r.json["id"]


def get(eid):
    r = call("GET", f"/api/v1/executions/{eid}")
    assert r.status == 200, r
    return r.json


def wait_final(eid, timeout=60):
    return wait_for(lambda: (lambda e: e if e["status"] not in ("queued", "running") else None)(get(eid)),
                    timeout=timeout, interval=0.05, what=f"execution {eid} to end")


def live_line(eid, prefix, timeout=30):
    """The first line of the running execution's live stdout that starts
    with prefix (the runner saves live output every second)."""
    def seen():
        for line in get(eid)["stdout"].splitlines():
            if line.startswith(prefix):
                return line
        return None
    return wait_for(seen, timeout=timeout, interval=0.1, what=f"'{prefix}' in the live stdout of {eid}")


def pids_with(marker):
    r = subprocess.run(["pgrep", "-f", marker], capture_output=True, text=True)
    return [int(p) for p in r.stdout.split()]


def host_ppid(pid):
    return int(open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()[1])


def proc_state(pid):
    try:
        return open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()[0]
    except OSError:
        return None


# A script that waits, in its work dir, for the test's "go" file: the test
# (root, on the host) looks at the run meanwhile, then lets it end.
WAITER = """
    #!/bin/bash
    echo "uid=$(id -u) gid=$(id -g) groups=$(id -G) pid=$$ wd=$PWD"
    echo "$INPUT_API_KEY" >"$PWD/a-secret.txt"
    echo a >"/tmp/$INPUT_MARKER-tmp"
    bash -c "exec -a $INPUT_MARKER-proc sleep 1000" &
    echo ready
    while [ ! -e "$PWD/go" ]; do sleep 0.05; done
    [ -e "/tmp/$INPUT_MARKER-tmp" ] && echo "own tmp file kept"
    kill %1
    echo done
    """

# Run B: looks for run A every way a script could, and says what it found.
PROBER = """
    #!/usr/bin/python3 -I
    import json, os, signal, sys

    inp = json.load(sys.stdin)
    res = {"uid": os.getuid(), "pid": os.getpid()}
    res["pids"] = sorted(int(p) for p in os.listdir("/proc") if p.isdigit())
    res["marker_seen"], res["secret_seen"], res["comms"] = [], [], []
    for p in res["pids"]:
        try:
            res["comms"].append(open(f"/proc/{p}/comm").read().strip())
            if inp["marker"].encode() in open(f"/proc/{p}/cmdline", "rb").read():
                res["marker_seen"].append(p)
            if inp["secret"].encode() in open(f"/proc/{p}/environ", "rb").read():
                res["secret_seen"].append(p)
        except OSError:
            pass
    res["tries"] = {}
    for t in sorted(set(inp["pids"])):
        if t == os.getpid():
            continue
        r = {}
        for what, fn in (("environ", lambda: open(f"/proc/{t}/environ", "rb").read()),
                         ("cwd", lambda: os.listdir(f"/proc/{t}/cwd")),
                         ("root", lambda: os.listdir(f"/proc/{t}/root/tmp")),
                         ("stop", lambda: os.kill(t, signal.SIGSTOP))):
            try:
                fn()
                r[what] = "ok"
            except OSError as e:
                r[what] = e.strerror
        res["tries"][str(t)] = r
    try:
        res["a_file"] = open(inp["a_file"]).read()
    except OSError as e:
        res["a_file"] = e.strerror
    try:
        res["a_wd"] = os.listdir(inp["a_wd"])
    except OSError as e:
        res["a_wd"] = e.strerror
    res["tmp"] = sorted(os.listdir("/tmp"))
    print(json.dumps(res))
    """


def test_two_concurrent_runs_cannot_see_or_touch_each_other():
    marker = unique("isoA")
    secret = "sk-" + unique("apikey")
    a = register(write_script(marker + ".sh", WAITER), input_mode="env", timeout_s=120)
    b = register(write_script(unique("isoB") + ".py", PROBER), input_mode="stdin")
    ea = submit(a["id"], {"api_key": secret, "marker": marker})
    line = live_line(ea, "uid=")
    live_line(ea, "ready")
    info = dict(kv.split("=", 1) for kv in line.split())
    a_wd = info["wd"]
    a_script = pids_with(marker + ".sh")
    a_sleep = wait_for(lambda: pids_with(marker + "-proc"), timeout=10, what="A's marked process")
    assert len(a_script) == 1, a_script
    try:
        eb = run(b["id"], {"marker": marker, "secret": secret,
                           "pids": [int(info["pid"]), a_script[0], a_sleep[0]],
                           "a_file": os.path.join(a_wd, "a-secret.txt"), "a_wd": a_wd})
        assert eb["status"] == "succeeded", eb
        res = json.loads(eb["stdout"])

        # B does not see A at all: not its processes, not in /proc.
        assert res["marker_seen"] == [], res
        assert res["secret_seen"] == [], "B read A's environment"
        assert res["pids"][0] == res["pid"] <= 3, res["pids"]
        assert len(res["pids"]) <= 3, "B's /proc shows only B's own tree"
        assert not {"sto-runner", "sto-api", "sto-janitor", "scriptorchd", "sto-init",
                    "mariadbd", "nginx"} & set(res["comms"]), res["comms"]
        # Nothing of A is reachable through any pid: A's own (its number
        # in its namespace, which in B's is B's or nobody's) or A's host pids.
        for t, r in res["tries"].items():
            assert "ok" not in r.values(), (t, r)
            assert r["stop"] == "No such process", (t, r)
        # A's work dir and its files, its /tmp: not there for B.
        assert res["a_file"] == "No such file or directory", res
        assert res["a_wd"] == "No such file or directory", res
        assert res["tmp"] == kept_in_tmp(), res
        # Their uids differ, neither is root, both from the pool.
        a_uid, b_uid = int(info["uid"]), res["uid"]
        assert a_uid != b_uid and 0 not in (a_uid, b_uid)
        assert a_uid in pool() and b_uid in pool(), (a_uid, b_uid, pool())
        # Both have the run group (run_user's), which reads scripts and venvs.
        run_gid = pwd.getpwnam(RUN_USER).pw_gid
        assert int(info["gid"]) == run_gid and info["groups"] == str(run_gid), info

        # A was not stopped, and lives on untouched.
        assert proc_state(a_script[0]) in ("S", "R"), proc_state(a_script[0])
        assert proc_state(a_sleep[0]) in ("S", "R"), proc_state(a_sleep[0])
    finally:
        open(os.path.join(a_wd, "go"), "w").close()
    e = wait_final(ea)
    assert e["status"] == "succeeded", e
    assert e["stdout"].splitlines()[-2:] == ["own tmp file kept", "done"], e["stdout"]
    assert not os.path.exists(a_wd)
    assert not os.path.exists(f"/tmp/{marker}-tmp"), "A's /tmp was the host's"


def test_every_running_execution_has_a_uid_of_its_own():
    n = int(conf_value("runner_workers"))
    s = register(write_script(unique("uids") + ".sh", WAITER), input_mode="env", timeout_s=120)
    ids = [submit(s["id"], {"api_key": "x", "marker": unique("m")}) for _ in range(n)]
    lines = [live_line(eid, "uid=", timeout=60) for eid in ids]
    infos = [dict(kv.split("=", 1) for kv in line.split()) for line in lines]
    try:
        uids = [int(i["uid"]) for i in infos]
        assert len(set(uids)) == n, f"{n} executions running at once share uids: {uids}"
        assert all(u in pool() for u in uids), uids
        for i in infos:
            st = os.stat(i["wd"])
            assert st.st_uid == int(i["uid"]) and st.st_gid == pwd.getpwnam(RUN_USER).pw_gid
            assert stat.S_IMODE(st.st_mode) == 0o700
    finally:
        for i in infos:
            open(os.path.join(i["wd"], "go"), "w").close()
    for eid in ids:
        assert wait_final(eid)["status"] == "succeeded"


def test_a_run_sees_its_own_pid_namespace_and_tmp():
    left = unique("left-behind")
    s = register(write_script(unique("ns") + ".sh", f"""
        #!/bin/sh
        echo "pid=$$"
        echo "procs=$(ls /proc | grep -c '^[0-9]')"
        echo "tmp=$(ls -A /var/tmp /dev/shm | tr -d '\\n')"
        echo "tmplist=$(ls -A /tmp | tr '\\n' ' ')"
        echo "tmpdeep=$(find /tmp -path "$(dirname "$0")" -prune -o -path "$PWD" -prune -o ! -type d -print | wc -l)"
        echo "tmpfs=$(stat -f -c %T /tmp)"
        echo left >/tmp/{left}
        """))
    for _ in range(2):
        e = run(s["id"])
        assert e["status"] == "succeeded", e
        out = dict(line.split("=", 1) for line in e["stdout"].splitlines())
        assert out["pid"] == "2", "the script is PID 2 of its namespace, under our init"
        # the script, the subshell of $(...), ls (our init is not shown)
        assert int(out["procs"]) <= 4, out
        assert out["tmp"] == "/dev/shm:/var/tmp:", "empty at the start, every run"
        assert out["tmplist"].split() == kept_in_tmp(), out
        assert out["tmpdeep"] == "0", "in /tmp nothing but the kept directories"
        assert out["tmpfs"] == "tmpfs"
    assert not os.path.exists(f"/tmp/{left}"), "the run's /tmp was the host's"


def test_a_run_cannot_reach_the_daemons_files():
    paths = {k: conf_value(k) for k in ("work_dir", "venv_dir", "cache_dir")}
    paths["conf"] = CONF
    paths["db"] = conf_value("socket")
    paths["fcgi"] = conf_value("listen")
    password = conf_value("password")
    s = register(write_script(unique("daemon") + ".py", """
        #!/usr/bin/python3 -I
        import json, os, socket, sys
        inp = json.load(sys.stdin)
        res = {}
        for key in ("conf",):
            try:
                res[key] = open(inp[key]).read()
            except OSError as e:
                res[key] = e.strerror
        for key in ("db", "fcgi"):
            s = socket.socket(socket.AF_UNIX)
            try:
                s.connect(inp[key])
                res[key] = "connected"
            except OSError as e:
                res[key] = e.strerror
        for key in ("work_dir", "venv_dir", "cache_dir"):
            try:
                res[key] = sorted(os.listdir(inp[key]))
            except OSError as e:
                res[key] = e.strerror
        res["wd"] = os.getcwd()
        print(json.dumps(res))
        """), input_mode="stdin")
    e = run(s["id"], paths)
    assert e["status"] == "succeeded", e
    res = json.loads(e["stdout"])
    assert password not in e["stdout"]
    assert res["conf"] in ("No such file or directory", ""), res
    assert res["db"] != "connected" and res["fcgi"] != "connected", res
    # the work base holds the run's own work dir only; the venvs and the
    # installers' cache are out of sight
    assert res["work_dir"] == [os.path.basename(res["wd"])], res
    assert res["venv_dir"] in ([], "No such file or directory"), res
    assert res["cache_dir"] in ([], "No such file or directory"), res


def test_a_run_cannot_write_its_script_or_its_venv():
    probe = """
        import os, sys
        res = []
        for path in (os.path.join(sys.prefix, "evil.txt"), __file__,
                     os.path.join(os.path.dirname(__file__), "evil.txt")):
            try:
                open(path, "a").close()
                res.append("wrote " + path)
            except OSError as e:
                res.append(e.strerror)
        print("|".join(res))
        print(sys.prefix)
        """
    s = register(write_script(unique("ro") + ".py", probe, mode=0o644), type_="python")
    e = run(s["id"], wait=180)
    assert e["status"] == "succeeded", e
    res, prefix = e["stdout"].splitlines()
    assert "wrote" not in res, res
    assert res.split("|")[0] == "Read-only file system", "the venv is mounted read-only"
    assert prefix.startswith(conf_value("venv_dir")), prefix
    sh = register(write_script(unique("ro") + ".sh", """
        #!/bin/sh
        echo x >>"$0" 2>/dev/null && echo "wrote the script"
        echo x >"$(dirname "$0")/evil-$$" 2>/dev/null && echo "wrote the root"
        echo checked
        """))
    e = run(sh["id"])
    assert e["stdout"] == "checked\n", e


def test_exit_codes_signals_and_timeouts_through_the_init():
    cases = [("exit 0", "succeeded", 0, None), ("exit 3", "failed", 3, None),
             ("exit 127", "failed", 127, None), ("kill -SEGV $$", "failed", None, 11),
             ("kill -KILL $$", "failed", None, 9)]
    for body, status, code, sig in cases:
        s = register(write_script(unique("st") + ".sh", f"#!/bin/sh\necho out\n{body}\n"))
        e = run(s["id"])
        assert (e["status"], e["exit_code"], e["signal"]) == (status, code, sig), (body, e)
        assert e["stdout"] == "out\n" and e["error"] is None, e
    # a sleeper ends on SIGTERM at its timeout
    s = register(write_script(unique("sleeper") + ".sh", "#!/bin/sh\necho started\nexec sleep 60\n"),
                 timeout_s=1)
    t0 = time.monotonic()
    e = run(s["id"])
    assert (e["status"], e["signal"]) == ("timed_out", 15), e
    assert time.monotonic() - t0 < 30
    assert e["duration_ms"] >= 1000, e
    # one that ignores SIGTERM gets SIGKILL after the grace
    s = register(write_script(unique("trapper") + ".sh", """
        #!/bin/bash
        trap 'echo got TERM' TERM
        echo ready
        while true; do sleep 0.1; done
        """), timeout_s=1)
    e = run(s["id"])
    assert (e["status"], e["signal"]) == ("timed_out", 9), e
    assert e["stdout"].count("got TERM") == 1, e["stdout"]
    # a missing interpreter is an error with the executor's message
    s = register(write_script(unique("noint") + ".sh", "#!/nonexistent/interp\necho x\n"))
    e = run(s["id"])
    assert e["status"] == "error", e
    assert 'cannot execute "/nonexistent/interp": No such file or directory' in e["error"], e


def test_double_forked_setsid_grandchild_does_not_survive():
    marker = unique("orphan")
    s = register(write_script(marker + ".sh", f"""
        #!/bin/bash
        ( setsid bash -c 'exec -a {marker}-sleeper sleep 1000' & )
        sleep 0.2
        pgrep -f {marker}-sleeper >/dev/null && echo grandchild-alive
        echo parent done
        """), timeout_s=30)
    e = run(s["id"])
    assert e["status"] == "succeeded", e
    assert "grandchild-alive" in e["stdout"], "the script saw its grandchild in its /proc"
    wait_for(lambda: pids_with(f"{marker}-sleeper") == [], timeout=10,
             what="the setsid grandchild to be gone")


def test_cancel_kills_the_runs_whole_tree():
    marker = unique("cancel")
    s = register(write_script(marker + ".sh", f"""
        #!/bin/bash
        ( setsid bash -c 'exec -a {marker}-gc sleep 1000' & )
        echo ready
        exec -a {marker}-main sleep 1000
        """), timeout_s=300)
    eid = submit(s["id"])
    wait_for(lambda: pids_with(f"{marker}-gc") and pids_with(f"{marker}-main"), timeout=20,
             what="the run's processes")
    main = pids_with(f"{marker}-main")[0]
    init = host_ppid(main)
    # the script's parent is our init, whose parent is a runner
    assert open(f"/proc/{init}/comm").read().strip() == "sto-init"
    assert open(f"/proc/{host_ppid(init)}/comm").read().strip() == "sto-runner"
    r = call("POST", f"/api/v1/executions/{eid}/cancel")
    assert r.status == 200, r
    e = wait_final(eid)
    assert e["status"] == "canceled", e
    assert e["signal"] == 15, e
    wait_for(lambda: not pids_with(marker), timeout=10, what="the whole tree to be gone")
    assert proc_state(init) is None


def test_config_refuses_a_run_uid_pool_smaller_than_the_runners():
    text = open(CONF).read()
    with tempfile.TemporaryDirectory() as d:
        def check(**keys):
            t = text
            for k, v in keys.items():
                t = re.sub(r"^%s\s*=.*$" % k, f"{k} = {v}", t, flags=re.M)
            path = os.path.join(d, "c.conf")
            with open(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w") as f:
                f.write(t)
            os.chmod(path, 0o600)     # it holds the database password
            return subprocess.run([os.path.join(BUILD, "src", "scriptorchd"), "-c", path,
                                   "check-config"], capture_output=True, text=True, timeout=60)
        workers = int(conf_value("runner_workers", text))
        p = check(run_uid_count=workers - 1)
        assert p.returncode != 0, p
        assert (f"run_uid_count ({workers - 1}) is smaller than runner_workers ({workers})"
                in p.stderr + p.stdout), p
        p = check(run_uid_count=workers)
        assert p.returncode == 0, p
        p = check(run_uid_base=4294967290, run_uid_count=workers + 10)
        assert p.returncode != 0 and "largest uid" in p.stderr + p.stdout, p


def test_network_none_is_an_empty_network_namespace():
    body = "#!/bin/sh\ntail -n +3 /proc/net/dev | cut -d: -f1 | tr -d ' '\n"
    none = register(write_script(unique("netnone") + ".sh", body), network="none")
    host = register(write_script(unique("nethost") + ".sh", body))
    e = run(none["id"])
    assert e["status"] == "succeeded", e
    assert e["stdout"].split() == ["lo"], e["stdout"]
    with open("/proc/net/dev") as f:
        ours = sorted(line.split(":")[0].strip() for line in f.readlines()[2:])
    e = run(host["id"])
    assert e["status"] == "succeeded", e
    assert sorted(e["stdout"].split()) == ours, (e["stdout"], ours)


def test_a_tmp_filled_past_the_memory_limit_kills_in_the_run_not_its_runner():
    # The run's init shares its runner's memory; were it in the run's
    # memory cgroup, the OOM killer would take it (the largest process
    # there once the memory is in a file no process holds) and with it
    # the runner. The run must end on its own memory limit instead.
    marker = unique("tmpfill")
    s = register(write_script(marker + ".sh", """
        #!/bin/sh
        echo ready
        sleep 1
        head -c 300000000 /dev/zero >/tmp/fill || exit 1
        echo never
        """), limits={"memory_mb": 64}, timeout_s=120)
    eid = submit(s["id"])
    script = wait_for(lambda: pids_with(marker), timeout=20, what="the script's process")[0]
    init = host_ppid(script)
    runner = host_ppid(init)
    assert open(f"/proc/{runner}/comm").read().strip() == "sto-runner"
    e = wait_final(eid, timeout=90)
    assert e["status"] == "failed" and e["limit"] == "memory", e
    assert e["error"] == "memory limit of 64 MB exceeded", e
    assert "never" not in e["stdout"]
    assert proc_state(runner) not in (None, "Z"), "the run's OOM kill killed its runner"
