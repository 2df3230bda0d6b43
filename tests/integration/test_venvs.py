"""Python scripts in isolated, cached venvs: one venv per key, shared by
equal keys, built once under concurrency, failures reported and retried
after the back-off, crash safety, eviction, isolation, a PEP 503 index
served through nginx, and the admin API/CLI. Builds run as the build user,
wheels only unless allow_sdist / allow_direct_urls say otherwise, and a
finished venv is root's: neither the build user nor the run user can
change it.

The module runs with a back-off of an hour, so that no run of a loaded
machine is slow enough to leave it; the test of the retry ages the recorded
failure in the database instead of waiting for the clock.

Every test makes its own keys unique with a small package of its own
(padNNNN), so the tests also pass against a stack that ran them before.
"""
import concurrent.futures
import contextlib
import glob
import io
import json
import os
import pwd
import re
import shutil
import signal
import subprocess
import sys
import tarfile
import textwrap
import time
import uuid

import pytest

from conftest import REPO, SCRIPT_ROOT, STATE, assert_error, call, stackctl, unique, wait_for

sys.path.insert(0, os.path.join(REPO, "tests", "venv"))
import mkwheel  # noqa: E402

WHEELHOUSE = os.environ.get("SCRIPTORCH_WHEELHOUSE", "")
BUILD = os.environ.get("SCRIPTORCH_BUILD", "")
CONF = os.path.join(STATE, "scriptorch.conf")
LOG = os.path.join(STATE, "scriptorchd.log")
BACKOFF = 3600
RUN_USER = os.environ.get("SCRIPTORCH_RUN_USER", "scriptorch-run")


# ---- helpers ---------------------------------------------------------------

def conf_value(text, key):
    m = re.search(r"^%s\s*=\s*(.*)$" % re.escape(key), text, re.M)
    return m.group(1).strip() if m else None


def venv_dir():
    return conf_value(open(CONF).read(), "venv_dir")


def cache_dir():
    return conf_value(open(CONF).read(), "cache_dir")


def build_user():
    return conf_value(open(CONF).read(), "build_user")


def write_private(path, text):
    """A config file as the daemon accepts it: 0600."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(text)
    return path


def as_user(user, *cmd):
    """Runs cmd as user (runuser); the CompletedProcess."""
    return subprocess.run(["runuser", "-u", user, "--", *cmd], capture_output=True, text=True,
                          timeout=60)


def site_packages(dest):
    found = glob.glob(os.path.join(dest, "lib", "python3*", "site-packages"))
    assert len(found) == 1, found
    return found[0]


def set_python_keys(text, **keys):
    """The config text with these [python] keys set (added or replaced)."""
    for k, v in keys.items():
        line = "%s = %s" % (k, v)
        if re.search(r"^%s\s*=" % k, text, re.M):
            text = re.sub(r"^%s\s*=.*$" % k, line, text, flags=re.M)
        else:
            text = text.replace("[python]\n", "[python]\n" + line + "\n", 1)
    return text


def sql(query):
    """Runs SQL on the stack's MariaDB as root; rows as lists of strings."""
    out = subprocess.run(["mariadb", "--no-defaults", "--socket=" + os.path.join(STATE, "mysql.sock"),
                          "-uroot", "-N", "-B", "scriptorch", "-e", query],
                         check=True, capture_output=True, text=True).stdout
    return [line.split("\t") for line in out.splitlines()]


def proc_stat(pid):
    """(state, ppid, start time) of a process, or None once it is gone."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return fields[0], int(fields[1]), fields[19]


def workers(master):
    """{pid: start time} of the master's live workers: its children that run
    its own program (not orphans it adopted as a subreaper)."""
    exe = os.readlink(f"/proc/{master}/exe")
    kids = {}
    for d in os.listdir("/proc"):
        if d.isdigit():
            st = proc_stat(int(d))
            try:
                same = os.readlink(f"/proc/{d}/exe") == exe
            except OSError:
                same = False
            if st and st[1] == master and st[0] != "Z" and same:
                kids[int(d)] = st[2]
    return kids


def reload_with(text):
    """Writes the stack's config and waits for the new generation of workers
    to be ready and for every process of the old one to be gone."""
    n_runners = int(conf_value(text, "runner_workers") or 4)
    n_api = int(conf_value(text, "api_workers") or 4)
    offset = os.path.getsize(LOG)
    master = int(stackctl("daemon-pid"))
    old = workers(master)
    assert old, "the daemon has no workers"
    with open(CONF, "w") as f:
        f.write(text)
    os.kill(master, signal.SIGHUP)

    def ready():
        with open(LOG, errors="replace") as f:
            f.seek(offset)
            tail = f.read()
        # the new generation starts before the master logs the reload
        return ("configuration reloaded" in tail
                and len(re.findall(r"runner \d+ ready", tail)) >= n_runners
                and tail.count("api worker ready") >= n_api)
    wait_for(ready, timeout=30, interval=0.1, what="the reloaded workers")

    def old_gone():
        return not [p for p, t in old.items()
                    if (lambda st: st and st[0] != "Z" and st[2] == t)(proc_stat(p))]
    wait_for(old_gone, timeout=60, interval=0.05, what="the retired generation to leave")


@contextlib.contextmanager
def python_keys(**keys):
    """The stack runs with these [python] keys set for the block."""
    original = open(CONF).read()
    reload_with(set_python_keys(original, **keys))
    try:
        yield
    finally:
        reload_with(original)


@pytest.fixture(scope="module", autouse=True)
def short_backoff():
    """The whole module runs with a 3 s retry back-off."""
    original = open(CONF).read()
    reload_with(set_python_keys(original, retry_backoff_s=BACKOFF))
    yield
    reload_with(original)


def pad():
    """A tiny package of its own: requirements that name it get a new key."""
    name = "pad" + uuid.uuid4().hex[:10]
    mkwheel.make_wheel(WHEELHOUSE, name, "1.0", {name + ".py": "X = 1\n"})
    return name


@pytest.fixture(scope="module")
def studio():
    """studiocolor 1.0 and 2.0, and studiofx 1.3 which needs studiocolor>=2."""
    for v in ("1.0", "2.0"):
        mkwheel.make_wheel(WHEELHOUSE, "studiocolor", v,
                           {"studiocolor/__init__.py": "__version__ = %r\n" % v})
    mkwheel.make_wheel(WHEELHOUSE, "studiofx", "1.3",
                       {"studiofx/__init__.py":
                        "import studiocolor\n__version__ = '1.3'\n"
                        "def color():\n    return studiocolor.__version__\n"},
                       requires=["studiocolor>=2"])
    return WHEELHOUSE


def write_script(name, body):
    path = os.path.join(SCRIPT_ROOT, name)
    with open(path, "w") as f:
        f.write(textwrap.dedent(body).lstrip())
    os.chmod(path, 0o644)
    return path


REPORT = """
    import importlib, json, os, sys
    out = {"prefix": sys.prefix, "base": sys.base_prefix, "exe": sys.executable,
           "venv_env": os.environ.get("VIRTUAL_ENV"), "path": sys.path,
           "user_site": __import__("site").ENABLE_USER_SITE, "mods": {}}
    for m in sys.argv[1:]:
        try:
            out["mods"][m] = getattr(importlib.import_module(m), "__version__", "?")
        except ImportError as e:
            out["mods"][m] = "ImportError: %s" % e
    print(json.dumps(out))
    """


def py_script(requirements, *mods, body=REPORT):
    path = write_script(unique("venv") + ".py", body)
    r = call("POST", "/api/v1/admin/scripts",
             {"name": unique("py"), "type": "python", "path": path,
              "requirements": requirements, "args": list(mods),
              "outputs": {"stdout": "json"}})
    assert r.status == 201, r
    return r.json


def run(sid, wait=120):
    r = call("POST", f"/api/v1/scripts/{sid}/executions?wait={wait}", {"input": {}},
             timeout=wait + 30)
    assert r.status == 200, r
    return r.json


def submit(sid):
    r = call("POST", f"/api/v1/scripts/{sid}/executions", {"input": {}})
    assert r.status == 202, r
    return r.json["id"]


def get_exec(eid):
    return call("GET", f"/api/v1/executions/{eid}").json


def wait_final(eid, timeout=120):
    return wait_for(lambda: (lambda e: e if e["status"] not in ("queued", "running") else None)(
        get_exec(eid)), timeout=timeout, interval=0.1, what=f"execution {eid} to end")


def builds():
    text = call("GET", "/api/v1/metrics").body.decode()
    ok = re.search(r'^scriptorch_venv_builds_total\{result="ok"\} (\d+)', text, re.M)
    failed = re.search(r'^scriptorch_venv_builds_total\{result="failed"\} (\d+)', text, re.M)
    return int(ok.group(1)), int(failed.group(1))


def script_venv(sid):
    r = call("GET", f"/api/v1/admin/scripts/{sid}")
    assert r.status == 200, r
    return r.json["venv"]


def venvs():
    r = call("GET", "/api/v1/admin/venvs")
    assert r.status == 200, r
    return r.json["venvs"]


def cli(*args, conf=CONF):
    return subprocess.run([os.path.join(BUILD, "src", "scriptorchd"), "-c", conf, *args],
                          capture_output=True, text=True, timeout=60)


# ---- tests -----------------------------------------------------------------

def test_conflicting_versions_run_at_once_and_equal_keys_share(studio):
    p = pad()
    a = py_script(f"studiocolor==1.0\n{p}==1.0\n", "studiocolor")
    b = py_script(f"studiocolor==2.0\n{p}==1.0\n", "studiocolor")
    ok0, _ = builds()
    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        ea, eb = pool.map(lambda s: run(s["id"]), (a, b))
    assert ea["status"] == "succeeded", ea
    assert eb["status"] == "succeeded", eb
    assert ea["output"]["mods"]["studiocolor"] == "1.0"
    assert eb["output"]["mods"]["studiocolor"] == "2.0"
    assert ea["output"]["prefix"] != eb["output"]["prefix"]
    assert builds()[0] - ok0 == 2

    # the same requirements written differently: the same key, no build
    c = py_script(f"# the same set\n{p.upper()} == 1.0\n\nStudioColor==1.0  \n", "studiocolor")
    ec = run(c["id"])
    assert ec["status"] == "succeeded", ec
    assert ec["output"]["mods"]["studiocolor"] == "1.0"
    assert ec["output"]["prefix"] == ea["output"]["prefix"]
    assert builds()[0] - ok0 == 2, "the third script must reuse the first one's venv"

    va, vb, vc = script_venv(a["id"]), script_venv(b["id"]), script_venv(c["id"])
    assert va["key"] == vc["key"] != vb["key"]
    assert va["status"] == "ready" and va["id"] == vc["id"] and va["present"] is True
    assert ea["output"]["prefix"].endswith("/" + va["key"])
    listed = {v["id"]: v for v in venvs()}
    assert sorted(listed[va["id"]]["scripts"]) == sorted([a["id"], c["id"]])
    assert listed[vb["id"]]["scripts"] == [b["id"]]
    one = listed[va["id"]]
    for k in ("id", "key", "python", "requirements", "status", "size_bytes", "created_at",
              "last_used_at", "build_seconds", "scripts"):
        assert k in one, k
    assert one["requirements"] == f"{p}==1.0\nstudiocolor==1.0"
    assert one["size_bytes"] > 0 and one["build_seconds"] > 0
    assert re.match(r"\d+\.\d+\.\d+", one["python"])


def test_dependencies_are_installed_and_the_run_is_a_venv(studio):
    p = pad()
    s = py_script(f"studiofx\n{p}\n", "studiofx", "studiocolor")
    e = run(s["id"])
    assert e["status"] == "succeeded", e
    out = e["output"]
    assert out["mods"] == {"studiofx": "1.3", "studiocolor": "2.0"}
    assert out["prefix"] != out["base"]
    assert out["venv_env"] == out["prefix"]
    assert out["exe"].startswith(out["prefix"] + "/bin/python")
    assert out["user_site"] is False


def test_without_requirements_the_system_packages_are_not_visible():
    # setuptools comes with Debian's python3-setuptools, not with the stdlib
    # dev/lib.sh installs python3-setuptools: a system package to hide
    probe = subprocess.run(["/usr/bin/python3", "-c", "import setuptools"], capture_output=True)
    assert probe.returncode == 0, probe.stderr
    s = py_script("", "setuptools", "json")
    e = run(s["id"])
    assert e["status"] == "succeeded", e
    out = e["output"]
    assert out["mods"]["setuptools"].startswith("ImportError"), out
    assert out["mods"]["json"] != "" and not out["mods"]["json"].startswith("ImportError")
    assert out["prefix"] != out["base"]
    assert not [p for p in out["path"] if "dist-packages" in p or "site-packages" in p
                and not p.startswith(out["prefix"])], out["path"]
    v = script_venv(s["id"])
    assert v["status"] == "ready" and v["key"]


def test_the_run_user_cannot_write_its_venv(studio):
    s = py_script(f"studiocolor==2.0\n{pad()}\n", body="""
        import errno, os, sys, sysconfig, studiocolor
        res = []
        for d in (sys.prefix, sysconfig.get_paths()["purelib"], os.path.dirname(studiocolor.__file__)):
            try:
                open(os.path.join(d, "evil.txt"), "w").close()
                res.append("wrote " + d)
            except OSError as e:
                res.append(errno.errorcode[e.errno])
        try:
            open(studiocolor.__file__, "a").close()
            res.append("appended")
        except OSError as e:
            res.append(errno.errorcode[e.errno])
        print(" ".join(res), os.getuid())
        """)
    e = run(s["id"])
    assert e["status"] == "succeeded", e
    words = e["stdout"].split()
    # The run's venv is mounted read-only (isolation = yes): making a file
    # there is EROFS; where isolation is off, the modes refuse it (EACCES).
    assert all(w in ("EACCES", "EROFS") for w in words[:4]), e["stdout"]
    assert words[4] != "0"
    key = script_venv(s["id"])["key"]
    st = os.stat(os.path.join(venv_dir(), key))
    assert st.st_uid == 0 and st.st_mode & 0o777 == 0o750
    assert st.st_gid == pwd.getpwnam(RUN_USER).pw_gid


def test_a_finished_venv_is_root_s_and_neither_user_can_change_it(studio):
    """Root takes the build over: every file and directory of the venv is
    root's and read-only, so neither the user that built it nor the users
    that run it can change it; the file the venv shares with the build
    cache (a hardlink) is one inode, root's too, so the build user cannot
    change the venv through its cache either."""
    p = pad()
    s = py_script(f"studiocolor==2.0\n{p}\n", "studiocolor")
    assert run(s["id"])["status"] == "succeeded"
    dest = os.path.join(venv_dir(), script_venv(s["id"])["key"])
    sp = site_packages(dest)
    shared = os.path.join(sp, p + ".py")     # this test's own: it tampers with the cache
    for dirpath, dirnames, filenames in os.walk(dest):
        for n in dirnames + filenames + ["."]:
            st = os.lstat(os.path.join(dirpath, n))
            assert st.st_uid == 0, (dirpath, n, st.st_uid)
            if not os.path.islink(os.path.join(dirpath, n)):
                assert st.st_mode & 0o7022 == 0, (dirpath, n, oct(st.st_mode))
    st = os.stat(shared)
    assert st.st_mode & 0o777 == 0o444 and st.st_nlink >= 2, oct(st.st_mode)
    before = open(shared).read()
    for user in (build_user(), RUN_USER):
        for d in (dest, sp, os.path.join(sp, "studiocolor"), os.path.join(dest, "bin")):
            r = as_user(user, "touch", os.path.join(d, "evil"))
            assert r.returncode != 0 and not os.path.exists(os.path.join(d, "evil")), (user, d)
        for f in (shared, os.path.join(dest, ".scriptorch-ready"),
                  os.path.join(dest, "pyvenv.cfg")):
            assert as_user(user, "sh", "-c", 'echo evil >> "$1"', "-", f).returncode != 0, (user, f)
            assert as_user(user, "chmod", "666", f).returncode != 0, (user, f)
        assert as_user(user, "rm", "-f", shared).returncode != 0 and os.path.exists(shared)
    # the same inode in the build user's own cache: root's, read-only
    cached = [c for c in glob.glob(os.path.join(cache_dir(), "unpacked", "*", "tree", p + ".py"))
              if os.stat(c).st_ino == st.st_ino]
    assert cached, "the venv's file is a hardlink of the cache's"
    cst = os.stat(cached[0])
    assert (cst.st_uid, cst.st_mode & 0o777) == (0, 0o444)
    bu = build_user()
    assert as_user(bu, "sh", "-c", 'echo evil >> "$1"', "-", cached[0]).returncode != 0
    assert as_user(bu, "chmod", "666", cached[0]).returncode != 0
    # what the build user still can: replace the cache's entry (its directory
    # is the build user's); the venv keeps its own inode and content
    r = as_user(bu, "sh", "-c", 'cat "$1" >"$1.new" && echo "X = 666" >>"$1.new" && mv -f "$1.new" "$1"',
                "-", cached[0])
    assert r.returncode == 0, r.stderr
    assert open(shared).read() == before and os.stat(shared).st_ino == st.st_ino


def test_a_second_venv_links_the_files_root_sealed(studio):
    """Once a venv is sealed, the cache files it shares are root's, which the
    kernel (protected_hardlinks) keeps the build user from linking: the
    builder leaves them to root, which links them, so venvs keep sharing
    one read-only copy instead of each getting its own."""
    p1, p2 = pad(), pad()
    a = py_script(f"studiocolor==2.0\n{p1}\n", "studiocolor")
    assert run(a["id"])["status"] == "succeeded"
    b = py_script(f"studiocolor==2.0\n{p2}\n", "studiocolor")
    eb = run(b["id"])
    assert eb["status"] == "succeeded" and eb["output"]["mods"]["studiocolor"] == "2.0", eb
    va, vb = script_venv(a["id"]), script_venv(b["id"])
    fa = os.path.join(site_packages(os.path.join(venv_dir(), va["key"])), "studiocolor", "__init__.py")
    fb = os.path.join(site_packages(os.path.join(venv_dir(), vb["key"])), "studiocolor", "__init__.py")
    sa, sb = os.stat(fa), os.stat(fb)
    assert sa.st_ino == sb.st_ino and sb.st_nlink >= 3 and (sb.st_uid, sb.st_mode & 0o777) == (0, 0o444)
    log = call("GET", f"/api/v1/admin/venvs/{vb['id']}").json["build_log"]
    m = re.search(r"(\d+) of them left to the caller", log)
    assert m and int(m.group(1)) > 0, log
    assert not os.path.exists(os.path.join(venv_dir(), vb["key"], ".scriptorch-links"))
    assert not os.listdir(os.path.join(venv_dir(), ".build"))


def test_ten_concurrent_first_runs_build_once(studio):
    s = py_script(f"studiocolor==1.0\n{pad()}==1.0\n", "studiocolor")
    ok0, failed0 = builds()
    ids = [submit(s["id"]) for _ in range(10)]
    finals = [wait_final(i) for i in ids]
    assert [f["status"] for f in finals] == ["succeeded"] * 10, finals
    assert {f["output"]["prefix"] for f in finals} == {finals[0]["output"]["prefix"]}
    assert builds() == (ok0 + 1, failed0)
    key = script_venv(s["id"])["key"]
    assert [v for v in venvs() if v["key"] == key][0]["status"] == "ready"


def test_unknown_requirement_fails_clearly_and_is_retried_after_the_backoff(studio):
    missing = "nosuch" + uuid.uuid4().hex[:8]
    s = py_script(f"studiocolor==1.0\n{missing}==1.0\n", missing)
    ok0, failed0 = builds()
    e = run(s["id"])
    assert e["status"] == "error", e
    assert f"requirement '{missing}==1.0' failed" in e["error"], e["error"]
    assert "No matching distribution" in e["error"], e["error"]
    # the script itself never ran
    assert (e["exit_code"], e["signal"], e["stdout"]) == (None, None, ""), e
    assert builds() == (ok0, failed0 + 1)
    v = script_venv(s["id"])
    assert v["status"] == "failed"
    full = call("GET", f"/api/v1/admin/venvs/{v['id']}").json
    assert full["status"] == "failed" and full["failed_at"] and full["error"]
    assert "scriptorch-venv: error:" in full["build_log"]
    assert "No matching distribution" in full["build_log"]

    # within the back-off: the recorded failure is the answer, nothing is
    # built or tried (the record keeps its failure time and its log)
    e2 = run(s["id"])
    assert e2["status"] == "error", e2
    assert "retried" in e2["error"] and missing in e2["error"], e2["error"]
    assert f"retried {BACKOFF} s after that failure" in e2["error"], e2["error"]
    assert "No matching distribution" in e2["error"]
    assert builds() == (ok0, failed0 + 1)
    again = call("GET", f"/api/v1/admin/venvs/{v['id']}").json
    assert (again["status"], again["failed_at"], again["build_log"]) == (
        "failed", full["failed_at"], full["build_log"])

    # the package appears; once the failure is older than the back-off
    # (aged in the database here, not waited for) the next run builds again
    mkwheel.make_wheel(WHEELHOUSE, missing, "1.0", {missing + ".py": "__version__ = '1.0'\n"})
    sql(f"UPDATE venvs SET failed_at = failed_at - INTERVAL {BACKOFF + 60} SECOND"
        f" WHERE vkey = '{v['key']}'")
    e3 = run(s["id"])
    assert e3["status"] == "succeeded", e3
    assert e3["output"]["mods"][missing] == "1.0"
    assert builds() == (ok0 + 1, failed0 + 1)
    assert script_venv(s["id"])["status"] == "ready"


def slow_sdist(name, flag):
    """A setup.py-only sdist whose build waits until `flag` exists (60 s at most)."""
    setup_py = textwrap.dedent(f"""
        import os, time
        from setuptools import setup
        deadline = time.time() + 60
        while not os.path.exists({flag!r}) and time.time() < deadline:
            time.sleep(0.1)
        setup(name={name!r}, version="1.0", py_modules=[{name!r}])
        """)
    write_sdist(name, setup_py)


def write_sdist(name, setup_py):
    """Puts NAME-1.0.tar.gz, a setup.py-only source distribution with
    `setup_py` and a one-line module, in the wheelhouse."""
    base = f"{name}-1.0"
    files = {f"{base}/setup.py": setup_py,
             f"{base}/PKG-INFO": f"Metadata-Version: 1.1\nName: {name}\nVersion: 1.0\n",
             f"{base}/{name}.py": "__version__ = '1.0'\n"}
    with tarfile.open(os.path.join(WHEELHOUSE, base + ".tar.gz"), "w:gz") as t:
        for arc, data in files.items():
            data = data.encode()
            ti = tarfile.TarInfo(arc)
            ti.size = len(data)
            ti.mode = 0o644
            t.addfile(ti, io.BytesIO(data))


def builder_pids(key):
    pids = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            cmd = open(f"/proc/{d}/cmdline", "rb").read().split(b"\0")
        except OSError:
            continue
        if any(b"scriptorch-venv" in c for c in cmd[:3]) and b"build" in cmd and \
                any(c.decode(errors="replace").endswith("/" + key) for c in cmd):
            pids.append(int(d))
    return pids


def cmdline(pid):
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return f.read()
    except OSError:
        return b""


def descendants(pid):
    """The live descendants of pid."""
    kids = {}
    for d in os.listdir("/proc"):
        if d.isdigit():
            st = proc_stat(int(d))
            if st and st[0] != "Z":
                kids.setdefault(st[1], []).append(int(d))
    out, todo = [], [pid]
    while todo:
        for k in kids.get(todo.pop(), []):
            out.append(k)
            todo.append(k)
    return out


def test_runner_killed_mid_build_leaves_no_ready_venv():
    with python_keys(allow_sdist="yes"):
        killed_mid_build()


def killed_mid_build():
    name = "slow" + uuid.uuid4().hex[:8]
    flag = os.path.join(STATE, name + ".go")
    slow_sdist(name, flag)
    s = py_script(f"{name}==1.0\n", name)
    key = script_venv(s["id"])["key"]
    dest = os.path.join(venv_dir(), key)
    eid = submit(s["id"])
    try:
        pids = wait_for(lambda: builder_pids(key), timeout=30, what="the builder to start")
        # well inside the build: pip is at work on the sdist, which waits for the flag
        wait_for(lambda: [p for p in descendants(pids[0]) if b"pip" in cmdline(p)],
                 timeout=60, what="the builder's pip to start")
        runner = int(open(f"/proc/{pids[0]}/stat").read().rsplit(")", 1)[1].split()[1])
        assert runner != os.getpid()
        os.kill(runner, signal.SIGKILL)
        wait_for(lambda: not builder_pids(key), timeout=15, what="the builder to die with its runner")
        assert not os.path.exists(os.path.join(dest, ".scriptorch-ready"))
        assert not os.path.exists(dest)
        v = script_venv(s["id"])
        assert v["status"] != "ready" and not v.get("present"), v
        e = wait_final(eid, 60)
        assert e["status"] == "lost", e
        # Nobody builds it any more: the janitor says so, without a
        # failure time, so the next run does not wait for the back-off.
        v = wait_for(lambda: (lambda v: v if v["status"] == "failed" else None)(
            [x for x in venvs() if x["key"] == key][0]), timeout=20, what="the build marked interrupted")
        assert "interrupted" in v["error"] and v["failed_at"] is None, v
    finally:
        open(flag, "w").close()
    # the next run builds it for real
    e = run(s["id"])
    assert e["status"] == "succeeded", e
    assert e["output"]["mods"][name] == "1.0"
    assert os.path.exists(os.path.join(dest, ".scriptorch-ready"))
    assert script_venv(s["id"])["status"] == "ready"
    assert not [d for d in os.listdir(venv_dir()) if d.startswith(key + ".tmp-")]
    assert not os.path.exists(os.path.join(venv_dir(), ".build", key))


def spy_sdist(name):
    """A setup.py-only sdist whose setup.py, whenever it runs, records in the
    build's temporary directory (TMPDIR: the build cache's tmp) who it runs as
    and what it can write: the venv dir, another venv, the locks, the config."""
    setup_py = textwrap.dedent(f"""
        import json, os, tempfile
        from setuptools import setup
        tries = {{}}
        targets = {json.dumps(spy_targets())}
        for what, path in sorted(targets.items()):
            try:
                if what == "config":
                    open(path).read()
                else:
                    open(os.path.join(path, {name!r} + ".evil"), "w").close()
                tries[what] = "done"
            except OSError as e:
                tries[what] = type(e).__name__
        with open(os.path.join(tempfile.gettempdir(), {name!r} + ".json"), "w") as f:
            json.dump({{"uid": os.getuid(), "gid": os.getgid(), "tries": tries}}, f)
        setup(name={name!r}, version="1.0", py_modules=[{name!r}])
        """)
    write_sdist(name, setup_py)
    return os.path.join(cache_dir(), "tmp", name + ".json")


def spy_targets():
    ready = [d for d in os.listdir(venv_dir()) if len(d) == 64 and
             os.path.exists(os.path.join(venv_dir(), d, ".scriptorch-ready"))]
    assert ready, "another venv to attack"
    return {"venv_dir": venv_dir(), "other_venv": os.path.join(venv_dir(), ready[0]),
            "other_site": site_packages(os.path.join(venv_dir(), ready[0])),
            "locks": os.path.join(venv_dir(), ".locks"), "config": CONF}


def test_an_sdist_fails_clearly_by_default(studio):
    # at least one ready venv for the spy to aim at
    assert run(py_script(f"studiocolor==1.0\n{pad()}\n")["id"])["status"] == "succeeded"
    name = "src" + uuid.uuid4().hex[:8]
    report = spy_sdist(name)
    s = py_script(f"{name}==1.0\nstudiocolor\n", name)
    e = run(s["id"])
    assert e["status"] == "error", e
    assert f"requirement '{name}==1.0' failed" in e["error"], e["error"]
    assert "source distribution" in e["error"] and "allow_sdist = yes" in e["error"], e["error"]
    assert e["stdout"] == "" and e["exit_code"] is None, e
    assert not os.path.exists(report), "the sdist's setup.py ran"
    assert script_venv(s["id"])["status"] == "failed"


def test_with_allow_sdist_it_builds_as_the_build_user(studio):
    assert run(py_script(f"studiocolor==1.0\n{pad()}\n")["id"])["status"] == "succeeded"
    name = "src" + uuid.uuid4().hex[:8]
    report = spy_sdist(name)
    with python_keys(allow_sdist="yes"):
        s = py_script(f"{name}==1.0\n", name)
        e = run(s["id"])
    assert e["status"] == "succeeded", e
    assert e["output"]["mods"][name] == "1.0"
    with open(report) as f:
        seen = json.load(f)
    bu, ru = pwd.getpwnam(build_user()), pwd.getpwnam(RUN_USER)
    assert seen["uid"] == bu.pw_uid and seen["gid"] == bu.pw_gid, seen
    assert seen["uid"] not in (0, ru.pw_uid), seen
    assert seen["tries"] == {k: "PermissionError" for k in
                             ("venv_dir", "other_venv", "other_site", "locks", "config")}, seen
    # nothing got in, and the venv it built is root's like any other
    for d in spy_targets().values():
        assert not os.path.exists(os.path.join(d, name + ".evil"))
    dest = os.path.join(venv_dir(), script_venv(s["id"])["key"])
    mod = os.path.join(site_packages(dest), name + ".py")
    assert (os.stat(mod).st_uid, os.stat(mod).st_mode & 0o777) == (0, 0o444)


def test_direct_urls_are_refused_unless_allowed(studio):
    whl = mkwheel.make_wheel(WHEELHOUSE, "urlpkg" + uuid.uuid4().hex[:8], "1.0",
                             {"urlpkg_mod.py": "__version__ = '1.0'\n"})
    path = write_script(unique("url") + ".py", "print(1)\n")

    def register(reqs):
        return call("POST", "/api/v1/admin/scripts",
                    {"name": unique("url"), "type": "python", "path": path, "requirements": reqs})

    for reqs in ("x @ file:///tmp/x-0.1.tar.gz\n", f"urlpkg @ file://{whl}\n",
                 "studiocolor\nx @ https://example.invalid/x-1.0-py3-none-any.whl\n"):
        err = assert_error(register(reqs), 422, "validation_failed", "requirements")
        assert "allow_direct_urls = yes" in err["message"], err
    err = assert_error(register("--no-binary :all:\nstudiocolor\n"), 422, "validation_failed",
                       "requirements")
    assert "allow_sdist = yes" in err["message"], err
    with python_keys(allow_direct_urls="yes"):
        name = os.path.basename(whl).split("-")[0]
        ok = register(f"{name} @ file://{whl}\n")
        assert ok.status == 201, ok
        later = register(f"{name} @ file://{whl}\n{pad()}\n")
        assert later.status == 201, later
        err = assert_error(register("x @ file:///tmp/x-0.1.tar.gz\n"), 422, "validation_failed",
                           "requirements")
        assert "allow_sdist = yes" in err["message"], err
        e = run(ok.json["id"])
        assert e["status"] == "succeeded", e
    # registered while allowed, built after it was turned off: the builder
    # refuses it (the config may change between the two)
    e = run(later.json["id"])
    assert e["status"] == "error", e
    assert "allow_direct_urls = yes" in e["error"] and "URL or a local path" in e["error"], e
    # such a script can still be edited (disabled, described) without
    # touching its requirements; giving them again is checked again
    r = call("PATCH", f"/api/v1/admin/scripts/{later.json['id']}", {"enabled": False})
    assert r.status == 200, r
    err = assert_error(call("PATCH", f"/api/v1/admin/scripts/{later.json['id']}",
                            {"requirements": later.json["requirements"]}),
                       422, "validation_failed", "requirements")
    assert "allow_direct_urls = yes" in err["message"], err


def start_daemon_with(text, mode, group=0, args=("run",)):
    """Runs scriptorchd on a copy of the config (its own socket, no runners,
    so that it could not take work from the stack if it started); returns
    (exit code or None when it kept running, stderr)."""
    d = os.path.join(STATE, unique("cfgcopy"))
    os.mkdir(d, 0o700)
    text = re.sub(r"^listen\s*=.*$", "listen = " + os.path.join(d, "fcgi.sock"), text, flags=re.M)
    text = re.sub(r"^runner_workers\s*=.*$", "runner_workers = 0", text, flags=re.M)
    text = re.sub(r"^api_workers\s*=.*$", "api_workers = 1", text, flags=re.M)
    path = write_private(os.path.join(d, "scriptorch.conf"), text)
    os.chown(path, 0, group)
    os.chmod(path, mode)
    p = subprocess.Popen([os.path.join(BUILD, "src", "scriptorchd"), "-c", path, *args],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                         start_new_session=True)
    try:
        out, err = p.communicate(timeout=20)
        return p.returncode, err + out
    except subprocess.TimeoutExpired:
        os.killpg(p.pid, signal.SIGKILL)
        out, err = p.communicate()
        return None, err + out
    finally:
        shutil.rmtree(d, ignore_errors=True)


def test_the_daemon_refuses_a_config_the_run_group_can_read():
    text = open(CONF).read()
    rc, err = start_daemon_with(text, 0o644)
    assert rc == 1, (rc, err)
    assert "can be read or written by every user (mode 0644)" in err and "password" in err, err
    run_gid = pwd.getpwnam(RUN_USER).pw_gid
    rc, err = start_daemon_with(text, 0o640, run_gid)
    assert rc == 1, (rc, err)
    assert f'group of the run user "{RUN_USER}"' in err, err
    build_gid = pwd.getpwnam(build_user()).pw_gid
    rc, err = start_daemon_with(text, 0o660, build_gid, ("check-config",))
    assert rc == 1 and "group of the build user" in err, (rc, err)
    # root:root 0640, as the package installs it, and 0600, as dev/lib.sh writes it
    for mode in (0o640, 0o600):
        rc, out = start_daemon_with(text, mode, 0, ("check-config",))
        assert rc == 0 and ": ok" in out, (oct(mode), rc, out)
    # the build user is never root, nor the run user
    for bad, words in (("root", "must not be root"), (RUN_USER, "must not be the run user")):
        rc, err = start_daemon_with(set_python_keys(text, build_user=bad), 0o600)
        assert rc == 1 and words in err, (bad, rc, err)


def test_delete_evicts_and_the_next_run_rebuilds(studio):
    s = py_script(f"studiocolor==2.0\n{pad()}\n", "studiocolor")
    assert run(s["id"])["status"] == "succeeded"
    v = script_venv(s["id"])
    dest = os.path.join(venv_dir(), v["key"])
    assert os.path.isdir(dest)
    assert_error(call("DELETE", f"/api/v1/admin/venvs/{v['id']}", token=make_viewer()),
                 403, "forbidden")
    r = call("DELETE", f"/api/v1/admin/venvs/{v['id']}")
    assert r.status == 204, r
    assert not os.path.exists(dest)
    assert_error(call("GET", f"/api/v1/admin/venvs/{v['id']}"), 404, "not_found")
    assert_error(call("DELETE", f"/api/v1/admin/venvs/{v['id']}"), 404, "not_found")
    assert script_venv(s["id"]) == {"key": v["key"], "status": "absent"}
    ok0, _ = builds()
    e = run(s["id"])
    assert e["status"] == "succeeded", e
    assert builds()[0] == ok0 + 1
    assert os.path.isdir(dest)


_viewer = []


def make_viewer():
    if not _viewer:
        r = call("POST", "/api/v1/admin/tokens", {"name": unique("venv-viewer"), "role": "viewer"})
        _viewer.append(r.json["token"])
    return _viewer[0]


def test_viewer_can_read_venvs(studio):
    assert call("GET", "/api/v1/admin/venvs", token=make_viewer()).status == 200
    assert_error(call("GET", "/api/v1/admin/venvs/999999999"), 404, "not_found")
    assert_error(call("GET", "/api/v1/admin/venvs/abc"), 404, "not_found")


def test_a_venv_in_use_is_not_evicted(studio):
    flag = os.path.join(STATE, unique("release"))
    s = py_script(f"studiocolor==1.0\n{pad()}\n", body=f"""
        import os, time
        deadline = time.time() + 30
        while not os.path.exists({flag!r}) and time.time() < deadline:
            time.sleep(0.05)
        print("done")
        """)
    eid = submit(s["id"])
    try:
        wait_for(lambda: get_exec(eid)["status"] == "running" and
                 script_venv(s["id"]).get("status") == "ready", timeout=60, what="the run")
        v = script_venv(s["id"])
        assert_error(call("DELETE", f"/api/v1/admin/venvs/{v['id']}"), 409, "conflict")
        r = cli("venv", "rm", str(v["id"]))
        assert r.returncode == 1 and "in use" in r.stderr, r
        # a bound that every venv is over spares the one in use
        tight = write_private(os.path.join(STATE, unique("tight") + ".conf"),
                              set_python_keys(open(CONF).read(), max_cache_bytes=1))
        r = cli("venv", "prune", conf=tight)
        assert r.returncode == 0, r
        assert os.path.exists(os.path.join(venv_dir(), v["key"], ".scriptorch-ready"))
        present = [x for x in venvs() if x["present"] and x["status"] == "ready"]
        assert [x["id"] for x in present] == [v["id"]], present
    finally:
        open(flag, "w").close()
    assert wait_final(eid)["status"] == "succeeded"
    r = cli("venv", "rm", str(v["id"]))
    assert r.returncode == 0, r
    assert not os.path.exists(os.path.join(venv_dir(), v["key"]))


def test_size_bound_evicts_the_least_recently_used(studio):
    p = pad()
    first = py_script(f"studiocolor==1.0\n{p}\n", "studiocolor")
    second = py_script(f"studiocolor==2.0\n{p}\n", "studiocolor")
    assert run(first["id"])["status"] == "succeeded"
    time.sleep(0.05)
    assert run(second["id"])["status"] == "succeeded"
    present = [x for x in venvs() if x["present"] and x["status"] == "ready"]
    present.sort(key=lambda x: (x["last_used_at"], x["id"]))
    total = sum(x["size_bytes"] for x in present)
    assert present[-1]["id"] == script_venv(second["id"])["id"]
    # one byte over: exactly the least recently used one goes
    bound = write_private(os.path.join(STATE, unique("bound") + ".conf"),
                          set_python_keys(open(CONF).read(), max_cache_bytes=total - 1))
    r = cli("venv", "prune", conf=bound)
    assert r.returncode == 0 and "1 venv evicted" in r.stdout, r
    after = {x["id"] for x in venvs()}
    assert present[0]["id"] not in after
    assert all(x["id"] in after for x in present[1:])
    assert not os.path.exists(os.path.join(venv_dir(), present[0]["key"]))
    # the janitor applies the same bound (it runs once a minute, and at start)
    original = open(CONF).read()
    try:
        reload_with(set_python_keys(original, max_cache_bytes=1))
        wait_for(lambda: not [x for x in venvs() if x["present"]], timeout=20,
                 what="the janitor to evict every idle venv")
    finally:
        reload_with(original)
    e = run(second["id"])
    assert e["status"] == "succeeded" and e["output"]["mods"]["studiocolor"] == "2.0"


def test_cli_lists_venvs(studio):
    s = py_script(f"studiocolor==1.0\n{pad()}\n", "studiocolor")
    assert run(s["id"])["status"] == "succeeded"
    v = script_venv(s["id"])
    r = cli("venv", "list")
    assert r.returncode == 0, r
    line = [l for l in r.stdout.splitlines() if l.startswith(f"{v['id']}\t")]
    assert line and v["key"][:12] in line[0] and "ready" in line[0] and str(s["id"]) in line[0]
    r = cli("venv", "show", str(v["id"]))
    assert r.returncode == 0 and '"build_log"' in r.stdout, r


def test_metrics_have_venv_series():
    text = call("GET", "/api/v1/metrics").body.decode()
    assert re.search(r'^scriptorch_venv_builds_total\{result="ok"\} [1-9]', text, re.M)
    assert re.search(r'^scriptorch_venv_build_seconds_count [1-9]', text, re.M)
    assert "scriptorch_venv_build_seconds_bucket" in text


def test_pep503_index_through_nginx(studio):
    """pip_index_url pointing at a simple index that the stack's nginx serves."""
    original = open(CONF).read()
    runtime = os.path.dirname(venv_dir())
    index = os.path.join(runtime, "index")
    name = "idx" + uuid.uuid4().hex[:8]
    tmp = os.path.join(STATE, unique("idxwheels"))
    os.makedirs(tmp)
    files = [mkwheel.make_wheel(tmp, name, "1.0", {name + ".py": "__version__ = '1.0'\n"}),
             mkwheel.make_wheel(tmp, name, "1.5", {name + ".py": "__version__ = '1.5'\n"},
                                requires=["studiocolor==1.0"]),
             mkwheel.make_wheel(tmp, "studiocolor", "1.0",
                                {"studiocolor/__init__.py": "__version__ = '1.0'\n"})]
    mkwheel.make_simple_index(index, files)
    url = re.sub(r"/+$", "", os.environ["SCRIPTORCH_URL"]) + "/pypi/simple/"
    assert call("GET", f"/pypi/simple/{name}/", token=None).status == 200
    nginx_log = os.path.join(STATE, "nginx", "access.log")
    before = os.path.getsize(nginx_log)
    try:
        reload_with(set_python_keys(original, pip_index_url=url, pip_find_links="",
                                    pip_no_index="no"))
        s = py_script(f"{name}>=1.2\n", name, "studiocolor")
        e = run(s["id"])
        assert e["status"] == "succeeded", e
        assert e["output"]["mods"] == {name: "1.5", "studiocolor": "1.0"}
        with open(nginx_log) as f:
            f.seek(before)
            hits = f.read()
        assert f"/pypi/simple/{name}/" in hits and f"/pypi/packages/{name}-1.5" in hits
        # a requirement the index does not have fails with pip's words
        bad = py_script(f"{name}==9.9\n", name)
        e = run(bad["id"])
        assert e["status"] == "error" and f"{name}==9.9" in e["error"], e
    finally:
        reload_with(original)
