"""Per-run resource limits on the real stack (docs/api.md, "Limits").

Each run's tree is held to its script's `limits` (else the config's
defaults), and a run stopped by one ends `failed` with `limit` naming it
and an `error` that says which and how much. Scripts that need Python run
as shell scripts with a #! line (no venv to build).
"""
import os
import re
import subprocess
import textwrap
import time

import pytest

from conftest import SCRIPT_ROOT, assert_error, call, unique, wait_for

MIB = 1024 * 1024


def write_script(name, body, mode=0o755):
    path = os.path.join(SCRIPT_ROOT, name)
    with open(path, "w") as f:
        f.write(textwrap.dedent(body).lstrip())
    os.chmod(path, mode)
    return path


def compile_c(name, source):
    src = os.path.join(SCRIPT_ROOT, name + ".c")
    out = os.path.join(SCRIPT_ROOT, name)
    with open(src, "w") as f:
        f.write(textwrap.dedent(source))
    subprocess.run(["cc", "-O1", "-o", out, src], check=True)
    os.chmod(out, 0o755)
    return out


def register(path, type_="shell", **fields):
    body = {"name": unique("lim"), "type": type_, "path": path}
    body.update(fields)
    r = call("POST", "/api/v1/admin/scripts", body)
    assert r.status == 201, r
    return r.json


def run(script_id, wait=120):
    r = call("POST", f"/api/v1/scripts/{script_id}/executions?wait={wait}",
             {"input": {}}, timeout=wait + 30)
    assert r.status == 200, r
    return r.json


def get(exec_id):
    r = call("GET", f"/api/v1/executions/{exec_id}")
    assert r.status == 200, r
    return r.json


def final(exec_id, timeout=120):
    return wait_for(lambda: (lambda e: e if e["status"] not in ("queued", "running") else None)(get(exec_id)),
                    timeout=timeout, interval=0.1, what=f"execution {exec_id} to end")


def brief(e):
    return {k: e.get(k) for k in ("status", "exit_code", "signal", "limit", "error", "max_rss_kb",
                                  "stderr")}


# A run reports the limits its cgroups hold, as the kernel shows them to it
# (cgroup v1 groups on a mixed host, the run's cgroup v2 on a pure one).
CGROUP_PROBE = """
    #!/usr/bin/python3
    import json, os
    out = {}
    for line in open("/proc/self/cgroup"):
        num, ctrls, path = line.rstrip("\\n").split(":", 2)
        for ctrl, v1file, v2file in (("memory", "memory.limit_in_bytes", "memory.max"),
                                     ("pids", "pids.max", "pids.max")):
            if ctrl in ctrls.split(","):
                f = f"/sys/fs/cgroup/{ctrl}{path}/{v1file}"
            elif num == "0" and os.path.exists(f"/sys/fs/cgroup{path}/{v2file}"):
                f = f"/sys/fs/cgroup{path}/{v2file}"
            else:
                continue
            if os.path.exists(f):
                out[ctrl] = open(f).read().strip()
    print(json.dumps(out))
    """


def test_defaults_apply_when_limits_are_absent():
    s = register(write_script(unique("probe") + ".sh", CGROUP_PROBE), outputs={"stdout": "json"})
    assert s["limits"] == {} and s["network"] == "host"
    got = call("GET", f"/api/v1/admin/scripts/{s['id']}").json
    ncpu = os.cpu_count()
    # The defaults this stack's config leaves in place (examples/scriptorch.conf).
    assert got["effective_limits"] == {"memory_mb": 2048, "pids": 256, "cpu_cores": ncpu,
                                       "file_size_mb": 10240, "output_cap_kb": 1024}, got
    e = run(s["id"])
    assert e["status"] == "succeeded" and e["limit"] is None and e["error"] is None, brief(e)
    assert e["output"] == {"memory": str(2048 * MIB), "pids": "256"}, e["output"]

    # The script's own replace them, for that script only.
    r = call("PATCH", f"/api/v1/admin/scripts/{s['id']}", {"limits": {"memory_mb": 300, "pids": 40}})
    assert r.status == 200, r
    assert r.json["limits"] == {"memory_mb": 300, "pids": 40}
    assert r.json["effective_limits"]["memory_mb"] == 300
    assert r.json["effective_limits"]["output_cap_kb"] == 1024
    e = run(s["id"])
    assert e["output"] == {"memory": str(300 * MIB), "pids": "40"}, e["output"]
    # null gives the defaults back.
    r = call("PATCH", f"/api/v1/admin/scripts/{s['id']}", {"limits": None})
    assert r.status == 200 and r.json["limits"] == {}, r
    assert run(s["id"])["output"]["memory"] == str(2048 * MIB)


MEMORY_HOG = r"""
    #include <stdio.h>
    #include <stdlib.h>
    #include <string.h>
    #include <unistd.h>

    int main(void)
    {
        size_t total = (size_t)1 << 30, step = (size_t)16 << 20, done;
        char *p = malloc(total);

        if (p == NULL) {
            printf("malloc failed\n");
            return 2;
        }
        for (done = 0; done < total; done += step) {
            memset(p + done, 1, step);      /* touched: really used */
            printf("%zu MB\n", (done + step) >> 20);
            fflush(stdout);
        }
        printf("got all of it\n");
        return 0;
    }
    """


def test_memory_hog_is_killed_and_told_as_the_memory_limit():
    s = register(compile_c(unique("hog"), MEMORY_HOG), type_="binary",
                 limits={"memory_mb": 128}, timeout_s=120)
    e = run(s["id"])
    assert e["status"] == "failed", brief(e)
    assert e["limit"] == "memory", brief(e)
    assert e["error"] == "memory limit of 128 MB exceeded", brief(e)
    # Killed by the kernel's OOM killer (SIGKILL), before it got its GiB.
    assert e["signal"] == 9 and e["exit_code"] is None, brief(e)
    assert "got all of it" not in e["stdout"]
    mbs = [int(m) for m in re.findall(r"^(\d+) MB$", e["stdout"], re.M)]
    assert mbs and max(mbs) <= 128, mbs
    assert e["max_rss_kb"] is not None and e["max_rss_kb"] <= 136 * 1024, brief(e)
    # Listed executions carry the limit too.
    r = call("GET", f"/api/v1/executions?script_id={s['id']}")
    assert r.status == 200 and r.json["executions"][0]["limit"] == "memory", r


FORK_BOMB = """
    #!/usr/bin/python3
    # Every process forks as fast as it can, for ever. The script itself
    # stops 3 s after its first fork was refused, and fails.
    import os, sys, time
    refused, end = 0, None
    while True:
        try:
            pid = os.fork()
        except OSError:
            refused += 1
            end = end or time.monotonic() + 3
            if time.monotonic() > end:
                print("refused", refused)
                sys.exit(1)
            time.sleep(0.01)
            continue
        if pid == 0:
            while True:
                try:
                    os.fork()
                except OSError:
                    time.sleep(0.01)
    """


def test_fork_bomb_is_held_at_the_pids_limit_and_the_machine_answers():
    s = register(write_script(unique("bomb") + ".sh", FORK_BOMB), limits={"pids": 32}, timeout_s=120)
    r = call("POST", f"/api/v1/scripts/{s['id']}/executions", {"input": {}})
    assert r.status == 202, r
    eid = r.json["id"]
    t0 = time.monotonic()
    answers = 0
    while get(eid)["status"] in ("queued", "running"):
        h0 = time.monotonic()
        h = call("GET", "/api/v1/health", token=None, timeout=10)
        assert h.status == 200, h
        assert time.monotonic() - h0 < 5, "health took %.1f s during the bomb" % (time.monotonic() - h0)
        answers += 1
        assert time.monotonic() - t0 < 90, "the bomb ran for 90 s"
        time.sleep(0.2)
    e = final(eid)
    assert answers >= 1, "no health answer while the bomb ran"
    assert e["status"] == "failed" and e["exit_code"] == 1, brief(e)
    assert e["limit"] == "pids", brief(e)
    assert e["error"] == "pids limit of 32 exceeded", brief(e)
    assert e["stdout"].startswith("refused "), e["stdout"]
    # Bounded in time: about the script's 3 s, nowhere near its timeout.
    assert e["duration_ms"] < 60000, brief(e)
    # Nothing of it is left.
    assert subprocess.run(["pgrep", "-f", s["path"]], capture_output=True).returncode == 1


def test_pids_limit_is_told_for_the_run_that_hit_it_only():
    """A runner's pids group serves its next runs (where the host has the
    pids controller in cgroup v1 only, sandbox.c, V1_KEPT; a run cgroup v2
    likewise where it has the controller): whether a run hit the limit is
    what the group's counter grew by during that run. Runs one after the
    other go to the same idle runner: the one after a run that hit the
    limit is not told so, the next that hits it is."""
    over = register(write_script(unique("over") + ".sh", """
        #!/bin/sh
        for i in 1 2 3 4 5 6 7 8 9 10 11 12; do sleep 1 & done
        wait
        exit 3
        """), limits={"pids": 6})
    calm = register(write_script(unique("calm") + ".sh", "#!/bin/sh\necho calm\n"),
                    limits={"pids": 6})
    for _ in range(2):
        e = run(over["id"])
        assert e["status"] == "failed" and e["limit"] == "pids", brief(e)
        e = run(calm["id"])
        assert e["status"] == "succeeded" and e["limit"] is None, brief(e)
        assert e["error"] is None, brief(e)


@pytest.mark.parametrize("kind", ["shell", "python"])
def test_file_size_limit_is_told(kind):
    # A shell's command dies of SIGXFSZ; Python ignores SIGXFSZ and fails
    # on EFBIG, its file stopped at the limit in the work dir.
    body = {
        "shell": "#!/bin/sh\nhead -c 5000000 /dev/zero > big.bin\n",
        "python": "#!/usr/bin/python3\nopen('big.bin', 'wb').write(b'x' * 5000000)\n",
    }[kind]
    s = register(write_script(unique("fsize") + ".sh", body), limits={"file_size_mb": 1})
    e = run(s["id"])
    assert e["status"] == "failed", brief(e)
    assert e["limit"] == "file_size", brief(e)
    assert e["error"] == "file size limit of 1 MB exceeded", brief(e)
    if kind == "shell":
        assert e["exit_code"] == 153 or e["signal"] == 25, brief(e)
    else:
        assert "File too large" in e["stderr"], brief(e)


CPU_BURNER = """
    #!/usr/bin/python3
    # Burns CPU for 4 s of wall time and says what share of a CPU it got.
    import json, time
    w0, c0 = time.monotonic(), time.process_time()
    while time.monotonic() - w0 < 4:
        for _ in range(10000):
            pass
    print(json.dumps({"ratio": (time.process_time() - c0) / (time.monotonic() - w0)}))
    """


def test_cpu_cores_half_is_measurable_from_inside():
    s = register(write_script(unique("burn") + ".sh", CPU_BURNER), limits={"cpu_cores": 0.5},
                 outputs={"stdout": "json"})
    e = run(s["id"])
    assert e["status"] == "succeeded" and e["limit"] is None, brief(e)
    ratio = e["output"]["ratio"]
    # At most half a CPU (and some slack for the measurement); less when
    # the machine is busy.
    assert 0.05 < ratio < 0.65, ratio


def test_output_cap_kb_truncates_at_that_cap():
    s = register(write_script(unique("flood") + ".sh", """
        #!/bin/sh
        head -c 100000 /dev/zero | tr '\\0' 'a'
        head -c 100000 /dev/zero | tr '\\0' 'b' >&2
        echo
        echo tail-marker
        """), limits={"output_cap_kb": 4})
    e = run(s["id"])
    assert e["status"] == "succeeded", brief(e)
    assert e["stdout_truncated"] is True and e["stderr_truncated"] is True
    m = re.search(r"\n\[\.\.\. (\d+) bytes omitted \.\.\.\]\n", e["stdout"])
    assert m, e["stdout"][:200]
    kept = len(e["stdout"]) - len(m.group(0))
    assert kept == 4096, kept
    assert int(m.group(1)) == 100000 + len("\ntail-marker\n") - 4096
    assert e["stdout"].endswith("tail-marker\n")
    m = re.search(r"\n\[\.\.\. (\d+) bytes omitted \.\.\.\]\n", e["stderr"])
    assert m and len(e["stderr"]) - len(m.group(0)) == 4096
    # The raw stream is capped the same way.
    r = call("GET", f"/api/v1/executions/{e['id']}/stdout")
    assert r.status == 200 and len(r.body) == len(e["stdout"])


@pytest.mark.parametrize("field,value", [
    ("memory_mb", 10 ** 7), ("pids", 10 ** 6), ("cpu_cores", 10000),
    ("file_size_mb", 10 ** 7), ("output_cap_kb", 10 ** 7), ("memory_mb", 0),
])
def test_a_limit_above_the_configured_maximum_is_422(field, value):
    path = write_script(unique("max") + ".sh", "#!/bin/sh\necho\n")
    r = call("POST", "/api/v1/admin/scripts",
             {"name": unique("lim"), "type": "shell", "path": path, "limits": {field: value}})
    err = assert_error(r, 422, "validation_failed", f"limits.{field}")
    assert "configured maximum" in err["message"], err
    # And on PATCH, where the script stays as it was.
    s = register(path)
    r = call("PATCH", f"/api/v1/admin/scripts/{s['id']}", {"limits": {field: value}})
    assert_error(r, 422, "validation_failed", f"limits.{field}")
    assert call("GET", f"/api/v1/admin/scripts/{s['id']}").json["limits"] == {}


def test_limits_and_network_are_validated():
    path = write_script(unique("val") + ".sh", "#!/bin/sh\necho\n")
    base = {"type": "shell", "path": path}
    for body, field in [({"limits": {"swap_mb": 1}}, "limits.swap_mb"),
                        ({"limits": {"pids": "32"}}, "limits.pids"),
                        ({"limits": 512}, "limits"),
                        ({"network": "bridge"}, "network"),
                        ({"effective_limits": {}}, "effective_limits")]:
        r = call("POST", "/api/v1/admin/scripts", dict(base, name=unique("lim"), **body))
        assert_error(r, 422, "validation_failed", field)
    s = register(path, network="none", limits={"cpu_cores": 0.25})
    assert s["network"] == "none" and s["limits"] == {"cpu_cores": 0.25}
    assert s["effective_limits"]["cpu_cores"] == 0.25
