#!/usr/bin/env bash
# Benchmark: python scripts through scriptorch, beside plain venv + pip.
#
#   bench/venv-run.sh [REPEATS] [WARM_RUNS]     (defaults 3 and 30)
#
# Starts a private stack under /tmp (as dev/test does: its own MariaDB,
# scriptorchd with debug logging, nginx), generates the builder
# benchmark's 5-wheel set (tests/venv/mkwheel.py bench) into its
# wheelhouse, and measures, in this one invocation:
#  (a) /usr/bin/python3 -m venv + pip install --no-index --find-links of
#      the set (what a script runner without a venv cache does)
#  (b) scriptorch's cold build of the same set: the venv deleted through
#      the API and the builder's cache wiped, then one run; the build time
#      is the venv's build_seconds (the daemon's view: builder start to
#      ready, interpreter start-up included)
#  (c) the warm-run cost of the venv: the manager's lookup + lock per run
#      (from the daemon's debug log), and the orchestrator overhead
#      (queued_at -> started_at) of a python script beside a shell script
# Medians are printed, with (a)/(b) as a ratio.
set -uo pipefail
. "$(dirname "$0")/../dev/lib.sh"
help_if_asked "$@"

N=${1:-3}
WARM=${2:-30}
private_state scriptorch-bench
BUILD=${SCRIPTORCH_BENCH_BUILD:-$BUILD}
PY=/usr/bin/python3
export SCRIPTORCH_LOG_LEVEL=debug

cleanup() { stack_down >/dev/null 2>&1; rm -rf "$STATE"; }
trap cleanup EXIT INT TERM

need_pkgs $BUILD_PKGS $STACK_PKGS
say "== building in $BUILD"
build "$BUILD"
say "== starting a private stack on port $PORT"
stack_up >/dev/null
"$PY" -I "$REPO/tests/venv/mkwheel.py" bench "$WHEELHOUSE" >/dev/null

"$PY" -I - "$N" "$WARM" <<EOF
import json, os, re, shutil, statistics, subprocess, sys, time, urllib.request, urllib.error

N, WARM = int(sys.argv[1]), int(sys.argv[2])
URL, TOKEN = "http://127.0.0.1:$PORT", "$TOKEN"
STATE, RUNTIME, ROOT, WH = "$STATE", "$RUNTIME", "$SCRIPT_ROOT", "$WHEELHOUSE"
PY = "$PY"

def call(method, path, body=None, timeout=300):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(URL + path, data=data, method=method, headers={
        "Authorization": "Bearer " + TOKEN, "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            raw = r.read()
            return r.status, json.loads(raw) if raw else None
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"null")

def register(name, typ, body, reqs=None):
    path = os.path.join(ROOT, name)
    with open(path, "w") as f:
        f.write(body)
    os.chmod(path, 0o755)
    b = {"name": name, "type": typ, "path": path}
    if reqs is not None:
        b["requirements"] = reqs
    st, s = call("POST", "/api/v1/admin/scripts", b)
    assert st == 201, (st, s)
    return s["id"]

def run(sid):
    st, e = call("POST", f"/api/v1/scripts/{sid}/executions?wait=300", {"input": {}})
    assert st == 200 and e["status"] == "succeeded", (st, e)
    return e

def ts(x):
    return time.mktime(time.strptime(x[:19], "%Y-%m-%dT%H:%M:%S")) + float("0" + x[19:-1])

def overhead_ms(e):
    return (ts(e["started_at"]) - ts(e["queued_at"])) * 1000

reqs = "studiofx\nstudioui\n"
py = register("bench-py.py", "python", "import studiofx, studioui\n", reqs)
sh = register("bench-sh.sh", "shell", "#!/bin/sh\nexit 0\n")

# (a) python3 -m venv + pip install of the same set
a = []
for _ in range(N):
    d = os.path.join(STATE, "pipvenv")
    shutil.rmtree(d, ignore_errors=True)
    t0 = time.monotonic()
    subprocess.run([PY, "-m", "venv", d], check=True)
    subprocess.run([d + "/bin/pip", "install", "-q", "--disable-pip-version-check",
                    "--no-index", "--find-links", WH, "-r", "/dev/stdin"],
                   input=reqs.encode(), check=True)
    a.append(time.monotonic() - t0)
subprocess.run([d + "/bin/python", "-c", "import studiofx, studioui"], check=True)

# (b) scriptorch cold builds: no venv, empty builder cache
b, b_wall = [], []
for i in range(N):
    st, s = call("GET", f"/api/v1/admin/scripts/{py}")
    vid = s["venv"].get("id")
    if vid:
        st, _ = call("DELETE", f"/api/v1/admin/venvs/{vid}")
        assert st == 204, st
    shutil.rmtree(os.path.join(RUNTIME, "cache"), ignore_errors=True)
    t0 = time.monotonic()
    e = run(py)
    b_wall.append(time.monotonic() - t0)
    st, s = call("GET", f"/api/v1/admin/scripts/{py}")
    st, v = call("GET", f"/api/v1/admin/venvs/{s['venv']['id']}")
    b.append(v["build_seconds"])

# (c) warm runs
log = os.path.join(STATE, "scriptorchd.log")
off = os.path.getsize(log)
pyo = [overhead_ms(run(py)) for _ in range(WARM)]
sho = [overhead_ms(run(sh)) for _ in range(WARM)]
with open(log) as f:
    f.seek(off)
    lookups = [float(m) for m in re.findall(r"looked up and locked in ([0-9.]+) ms", f.read())]

med = statistics.median
am, bm = med(a), med(b)
print("5-wheel set (studiofx, studioui and their 3 dependencies); medians of %d cold and %d warm runs" % (N, WARM))
print("(a) python3 -m venv + pip install        %8.3f s   (runs: %s)" % (am, " ".join("%.3f" % x for x in a)))
print("(b) scriptorch cold venv build           %8.3f s   (runs: %s)" % (bm, " ".join("%.3f" % x for x in b)))
print("    first run incl. build, wall clock    %8.3f s" % med(b_wall))
print("    ratio (a)/(b)                        %8.1fx   target >= 10x: %s" % (am / bm, "met" if am / bm >= 10 else "NOT met"))
print("(c) warm venv lookup + lock per run      %8.3f ms  (max %.3f ms over %d runs)" % (med(lookups), max(lookups), len(lookups)))
print("    overhead queued->started, python     %8.1f ms" % med(pyo))
print("    overhead queued->started, shell      %8.1f ms" % med(sho))
EOF
