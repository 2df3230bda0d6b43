#!/usr/bin/python3 -I
"""TAP tests for libexec/scriptorch-venv.  Run as root (tests file modes and `nobody`).

    /usr/bin/python3 tests/venv/test_venv.py      (or tests/venv/run.sh)

Builds its own wheels (tests/venv/mkwheel.py), an sdist-only project, a C extension
wheel (needs gcc and the interpreter's Python.h: dev/test installs gcc and python3-dev),
and a PEP 503 index served by http.server. The cross-device test builds a venv on a
tmpfs of its own (mounted here as root), or on /dev/shm when that is another file system.
Set SCRIPTORCH_VENV_KEEP=1 to keep the scratch directory.
"""
import functools
import http.server
import importlib.machinery
import importlib.util
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
TOOL = os.path.join(ROOT, "libexec", "scriptorch-venv")
PY = "/usr/bin/python3"
sys.path.insert(0, HERE)
import mkwheel  # noqa: E402

TESTS = []


def test(fn):
    TESTS.append(fn)
    return fn


class Ctx:
    pass


C = Ctx()


def sh(cmd, check=True, **kw):
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, **kw)
    out, err = p.stdout.decode(), p.stderr.decode()
    if check and p.returncode != 0:
        raise AssertionError("%s failed (%d):\n%s\n%s" % (cmd, p.returncode, out, err))
    return p.returncode, out, err


def build(key, reqs, *extra, check=True, env=None):
    rf = os.path.join(C.tmp, "req-%s.txt" % key)
    with open(rf, "w") as f:
        f.write(reqs)
    dest = os.path.join(C.venvs, key)
    cmd = [TOOL, "build", "--python", PY, "--dest", dest, "--cache", C.cache,
           "--requirements", rf] + list(extra)
    rc, out, err = sh(cmd, check=False, env=env)
    if check and rc != 0:
        raise AssertionError("build %s failed (%d):\n%s" % (key, rc, err))
    res = json.loads(out.strip().splitlines()[-1]) if rc == 0 else None
    return dest, rc, res, err


def local(*extra):
    return ["--find-links", C.wh, "--no-index"] + list(extra)


def vpy(dest, code, user=None):
    cmd = [os.path.join(dest, "bin", "python"), "-c", code]
    if user:
        cmd = ["setpriv", "--reuid=%d" % user[0], "--regid=%d" % user[1],
               "--clear-groups"] + cmd
    return sh(cmd, check=False)


def as_nobody(cmd, gid=65534):
    return sh(["setpriv", "--reuid=65534", "--regid=%d" % gid, "--clear-groups",
               "sh", "-c", cmd], check=False)


def eq(a, b, what=""):
    if a != b:
        raise AssertionError("%s: expected %r, got %r" % (what, b, a))


def true(cond, what):
    if not cond:
        raise AssertionError(what)


def wait_until(pred, what, timeout=60.0):
    """Polls pred until it returns something true; fails after timeout."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        got = pred()
        if got:
            return got
        time.sleep(0.02)
    raise AssertionError("timed out waiting for " + what)


def cmdline(pid):
    try:
        with open("/proc/%d/cmdline" % pid, "rb") as f:
            return f.read()
    except OSError:
        return b""


def descendants(pid):
    """The live descendants of pid."""
    kids = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % d) as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if fields[0] != "Z":
            kids.setdefault(int(fields[1]), []).append(int(d))
    out, todo = [], [pid]
    while todo:
        for k in kids.get(todo.pop(), []):
            out.append(k)
            todo.append(k)
    return out


def last_lines(err, n=6):
    return "\n".join(err.strip().splitlines()[-n:])


# ----------------------------------------------------------------------------

def setup():
    global TOOL
    C.tmp = tempfile.mkdtemp(prefix="scriptorch-venv-test-")
    os.chmod(C.tmp, 0o755)  # `nobody` must be able to reach the venvs
    # ... and the builder, which the checkout may keep from it (a clone
    # under /root or a mktemp -d directory): a copy in the test's dir.
    TOOL = shutil.copy2(TOOL, os.path.join(C.tmp, "scriptorch-venv"))
    os.chmod(TOOL, 0o755)
    C.wh = os.path.join(C.tmp, "wheelhouse")
    C.cache = os.path.join(C.tmp, "cache")
    C.venvs = os.path.join(C.tmp, "venvs")
    os.makedirs(C.wh)
    mk = functools.partial(mkwheel.make_wheel, C.wh)
    mk("studiocolor", "1.0", {"studiocolor/__init__.py": "__version__ = '1.0'\n"})
    mk("studiocolor", "2.0", {"studiocolor/__init__.py": "__version__ = '2.0'\n",
                              "studiocolor/palette.py": "COLORS = ['red', 'green']\n"})
    mk("studiofx", "1.3",
       {"studiofx/__init__.py":
        "import studiocolor\n__version__ = '1.3'\n"
        "def main():\n    print('studiofx', __version__, 'color', studiocolor.__version__)\n"
        "    return 0\n",
        "studiofx-1.3.data/scripts/fxtool":
        "#!python\nimport studiofx\nprint('fxtool', studiofx.__version__)\n",
        "studiofx-1.3.data/data/share/studiofx/README": "studiofx data file\n"},
       requires=["studiocolor>=1"],
       entry_points={"console_scripts": {"studiofx": "studiofx:main"}})
    mk("studioio", "0.9", {"studioio.py": "__version__ = '0.9'\n"})
    mk("studioextra", "0.1", {"studioextra.py": "__version__ = '0.1'\n"},
       requires=['studioio>=0.5; extra == "io"',
                 'nosuchdep; python_version < "3"',
                 'studiocolor<2; sys_platform == "win32"'])
    mkwheel.make_sdist(C.wh, "studiolegacy", "0.5",
                       "__version__ = '0.5'\ndef hello():\n    return 'legacy hello'\n")


@test
def t_pinned_old_version():
    dest, _, res, err = build("color1", "studiocolor==1.0\n", *local())
    eq(res["ok"], True, "ok")
    eq(res["packages"], [{"name": "studiocolor", "version": "1.0"}], "packages")
    eq(res["resolver"], "local", "resolver for a local wheelhouse")
    _, out, _ = vpy(dest, "import studiocolor; print(studiocolor.__version__)")
    eq(out.strip(), "1.0", "imported version")
    return "studiocolor==1.0 venv imports 1.0 (local resolver)"


@test
def t_dependency_and_entry_point():
    dest, _, res, _ = build("fx", "# a comment\nStudioFX  # inline\n", *local())
    names = {p["name"]: p["version"] for p in res["packages"]}
    eq(names, {"studiofx": "1.3", "studiocolor": "2.0"}, "resolved set")
    _, out, _ = vpy(dest, "import studiocolor; print(studiocolor.__version__)")
    eq(out.strip(), "2.0", "dependency version")
    rc, out, err = sh([os.path.join(dest, "bin", "studiofx")], check=False)
    eq((rc, out.strip()), (0, "studiofx 1.3 color 2.0"), "console_scripts wrapper")
    rc, out, err = sh([os.path.join(dest, "bin", "fxtool")], check=False)
    eq((rc, out.strip()), (0, "fxtool 1.3"), ".data/scripts with #!python rewritten")
    with open(os.path.join(dest, "bin", "fxtool")) as f:
        eq(f.readline().strip(), "#!%s/bin/python" % dest, "rewritten shebang")
    true(os.path.isfile(os.path.join(dest, "share", "studiofx", "README")),
         ".data/data lands in the venv root")
    return "studiofx pulls studiocolor 2.0; console script and #!python script run"


@test
def t_metadata_visible():
    dest = os.path.join(C.venvs, "fx")
    code = ("import importlib.metadata as m; d = m.distribution('studiofx');"
            "print(d.version, d.read_text('INSTALLER').strip(), len(d.files),"
            " sorted(e.name for e in d.entry_points), m.version('studiocolor'))")
    rc, out, err = vpy(dest, code)
    eq(rc, 0, "importlib.metadata: " + err)
    v, inst, nfiles, eps, cv = out.split(" ", 4)
    eq((v, inst, eps, cv.strip()), ("1.3", "scriptorch", "['studiofx']", "2.0"),
       "metadata")
    true(int(nfiles) >= 6, "RECORD lists the files")
    sp = os.path.join(dest, "lib", "python3.11", "site-packages")
    rc, out, err = sh([PY, "-m", "pip", "list", "--disable-pip-version-check",
                       "--path", sp], check=False)
    true("studiofx" in out and "studiocolor" in out and "2.0" in out,
         "pip list --path shows the packages:\n" + out + err)
    return "importlib.metadata and pip list --path see the packages, INSTALLER=scriptorch"


@test
def t_pyc_precompiled():
    dest = os.path.join(C.venvs, "fx")
    pyc = os.path.join(dest, "lib", "python3.11", "site-packages", "studiocolor",
                       "__pycache__", "__init__.cpython-311.pyc")
    true(os.path.isfile(pyc), "precompiled %s" % pyc)
    rc, out, err = vpy(dest, "import studiocolor, sys; print(studiocolor.__cached__)",
                       user=(65534, 65534))
    eq(rc, 0, "import as nobody: " + err)
    return "byte code is precompiled and shared"


@test
def t_unpacked_cache_shared():
    dest, _, res, err = build("fx2", "studiofx==1.3\nstudioio\n", *local())
    f1 = os.path.join(C.venvs, "fx", "lib", "python3.11", "site-packages",
                      "studiocolor", "palette.py")
    f2 = os.path.join(dest, "lib", "python3.11", "site-packages", "studiocolor",
                      "palette.py")
    s1, s2 = os.stat(f1), os.stat(f2)
    eq(s1.st_ino, s2.st_ino, "same inode")
    true(s2.st_nlink >= 3, "nlink %d >= 3 (cache + 2 venvs)" % s2.st_nlink)
    true("unpacking studiocolor" not in err, "studiocolor not unpacked again")
    return "second key hardlinks the unpacked cache (nlink=%d)" % s2.st_nlink


@test
def t_extras_and_markers():
    dest, _, res, _ = build("extra", "studioextra[io]\n", *local())
    names = sorted(p["name"] for p in res["packages"])
    eq(names, ["studioextra", "studioio"], "extra pulled, marker-excluded deps dropped")
    eq(res["resolver"], "local", "resolver")
    dest, _, res, _ = build("noextra", "studioextra\n", *local())
    eq([p["name"] for p in res["packages"]], ["studioextra"], "no extra")
    return "extras and environment markers evaluated by the local resolver"


@test
def t_ready_is_idempotent():
    dest, rc, res, err = build("fx", "studiofx\n", *local())
    eq(res["resolver"], "ready", "second build of a ready dest")
    rc, out, _ = sh([TOOL, "check", "--dest", dest], check=False)
    eq(rc, 0, "check ready")
    eq(json.loads(out)["key"], "fx", "marker key")
    rc, _, _ = sh([TOOL, "check", "--dest", os.path.join(C.venvs, "nope")], check=False)
    eq(rc, 1, "check missing")
    rc, out, _ = sh([TOOL, "size", "--dest", dest], check=False)
    s = json.loads(out)
    true(s["size_bytes"] > s["unique_bytes"] > 0, "size %r" % s)
    return "ready dest exits 0 at once; check and size work"


@test
def t_unknown_requirement_fails():
    dest, rc, res, err = build("bad", "studiocolor\nnosuchpkg==1.0\n", *local(),
                                check=False)
    true(rc != 0, "non-zero exit")
    tailtxt = last_lines(err, 3)
    true("nosuchpkg" in err.strip().splitlines()[-1], "last line names it:\n" + tailtxt)
    true("No matching distribution" in last_lines(err, 8), "pip tail:\n" + err)
    true(not os.path.exists(dest), "no dest")
    true(not [n for n in os.listdir(C.venvs) if n.startswith("bad.")], "no tmp left")
    return "unknown requirement: exit %d, last line: %s" % (rc, err.strip().splitlines()[-1])


@test
def t_conflict_fails():
    dest, rc, res, err = build("conflict", "studiofx\nstudiocolor<1\n", *local(),
                                check=False)
    true(rc != 0, "non-zero exit")
    last = err.strip().splitlines()[-1]
    true("studiocolor" in last or "studiofx" in last, "last line: " + last)
    return "conflicting pins fail: " + last


@test
def t_sdist_refused_by_default():
    dest, rc, res, err = build("legacy-off", "studiolegacy\nstudioio\n", *local(),
                               check=False)
    last = err.strip().splitlines()[-1]
    eq(rc, 1, "exit status")
    true("requirement 'studiolegacy' failed" in last and "source distribution" in last and
         "allow_sdist = yes" in last and "studiolegacy-0.5.tar.gz" in last, last)
    true("building wheel" not in err and "resolving with pip" not in err,
         "nothing of the sdist ran:\n" + err)
    true(not os.path.exists(dest), "no dest")
    # a wheel that depends on an sdist-only project: the dependency is named
    with open(os.path.join(C.tmp, "req-dep.txt"), "w") as f:
        f.write("studiodep\n")
    mkwheel.make_wheel(C.wh, "studiodep", "1.0", {"studiodep.py": "import studiolegacy\n"},
                       requires=["studiolegacy"])
    dest, rc, res, err = build("dep-off", "studiodep\n", *local(), check=False)
    last = err.strip().splitlines()[-1]
    true(rc == 1 and "'studiolegacy" in last and "allow_sdist = yes" in last, last)
    return "an sdist-only requirement fails by default, naming allow_sdist: " + last


@test
def t_sdist_only():
    dest, rc, res, err = build("legacy", "studiolegacy\n", *local("--allow-sdist"))
    eq(res["packages"], [{"name": "studiolegacy", "version": "0.5"}], "packages")
    eq(res["resolver"], "pip", "sdist needs pip")
    _, out, _ = vpy(dest, "import studiolegacy; print(studiolegacy.hello())")
    eq(out.strip(), "legacy hello", "import built sdist")
    true("building wheel for studiolegacy" in err, "built once")
    dest, rc, res, err = build("legacy2", "studiolegacy==0.5\nstudioio\n",
                               *local("--allow-sdist"))
    true("building wheel" not in err, "built wheel reused:\n" + err)
    true(len(os.listdir(os.path.join(C.cache, "built"))) == 1, "one built wheel")
    return "sdist-only requirement built once with pip wheel and reused"


@test
def t_direct_urls_refused_by_default():
    whl = [f for f in os.listdir(C.wh) if f.startswith("studioio-")][0]
    sd = os.path.join(C.wh, "studiolegacy-0.5.tar.gz")
    wheel_url = "studioio @ file://%s\n" % os.path.join(C.wh, whl)
    for key, reqs in (("url-off", wheel_url), ("url-off2", "-e ./somewhere\n"),
                      ("url-off3", "./pkg\n"), ("url-off4", "https://x.example/p.whl\n")):
        dest, rc, res, err = build(key, reqs, *local(), check=False)
        last = err.strip().splitlines()[-1]
        true(rc == 1 and "allow_direct_urls = yes" in last and "URL or a local path" in last,
             "%r: %s" % (reqs, last))
        true("resolving with pip" not in err, "refused before pip:\n" + err)
    dest, rc, res, err = build("url-on", wheel_url, "--allow-direct-urls")
    eq([p["name"] for p in res["packages"]], ["studioio"], "a wheel URL when allowed")
    dest, rc, res, err = build("url-sdist", "studiolegacy @ file://%s\n" % sd,
                               "--allow-direct-urls", check=False)
    last = err.strip().splitlines()[-1]
    true(rc == 1 and "is not a wheel" in last and "allow_sdist = yes" in last, last)
    return "URL and path requirements refused unless --allow-direct-urls; " \
        "an sdist URL also needs --allow-sdist"


@test
def t_stage_unprivileged():
    """--stage as an unprivileged user (how scriptorchd runs it): the venv is
    assembled in the stage and left there, requirements come on stdin, and the
    files of the cache that root took over are left to the caller to link."""
    nobody = 65534
    cache = os.path.join(C.tmp, "cache-nobody")
    os.makedirs(cache, 0o700)
    os.chown(cache, nobody, nobody)

    def staged(key, reqs):
        stage = os.path.join(C.tmp, "stage-" + key)
        os.makedirs(stage, 0o700)
        os.chown(stage, nobody, nobody)
        cmd = ["setpriv", "--reuid=%d" % nobody, "--regid=%d" % nobody, "--clear-groups",
               TOOL, "build", "--python", PY, "--dest", os.path.join(C.venvs, key),
               "--cache", cache, "--stage", stage, "--requirements", "-"] + local()
        p = subprocess.run(cmd, input=reqs.encode(), stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE)
        err = p.stderr.decode()
        eq(p.returncode, 0, "staged build as nobody: " + err)
        return stage, json.loads(p.stdout.decode().strip().splitlines()[-1]), err

    stage, res, err = staged("stg1", "studiofx\n")
    true(os.path.isfile(os.path.join(stage, ".scriptorch-ready")), "marker in the stage")
    true(not os.path.exists(os.path.join(C.venvs, "stg1")), "no rename to dest")
    true(not [n for n in os.listdir(C.venvs) if n.startswith("stg1")], "nothing in venvs")
    true(not os.path.exists(os.path.join(stage, ".scriptorch-links")), "nothing to link")
    init = os.path.join(stage, "lib", "python3.11", "site-packages", "studiocolor",
                        "__init__.py")
    st = os.stat(init)
    eq((st.st_uid, st.st_nlink > 1), (nobody, True), "linked from nobody's cache")
    with open(os.path.join(stage, "bin", "studiofx")) as f:
        true(os.path.join(C.venvs, "stg1") in f.read(), "dest paths inside the stage")
    eq(os.listdir(os.path.join(cache, "tmp")), [], "the stdin requirements are removed")
    # root takes the cache's studiocolor files over (as scriptorchd does when it
    # seals a venv): nobody may no longer link them, so it leaves them to root
    sealed = []
    for d in os.listdir(os.path.join(cache, "unpacked")):
        t = os.path.join(cache, "unpacked", d, "tree", "studiocolor")
        for dirpath, _, files in os.walk(t):
            for n in files:
                os.chown(os.path.join(dirpath, n), 0, 0)
                sealed.append(os.path.relpath(os.path.join(dirpath, n), cache))
    true(sealed, "nothing of studiocolor in the cache")
    stage2, res2, err2 = staged("stg2", "studiocolor==2.0\nstudioio\n")
    with open(os.path.join(stage2, ".scriptorch-links")) as f:
        links = [l.split("\t") for l in f.read().splitlines()]
    eq(sorted(src for _, src in links), sorted(sealed), "left to the caller")
    for dst, _ in links:
        true(not os.path.lexists(os.path.join(stage2, dst)), "%s not made" % dst)
        true(dst.startswith("lib/python3.11/site-packages/studiocolor/"), dst)
    true(os.path.isfile(os.path.join(stage2, "lib", "python3.11", "site-packages",
                                     "studioio.py")), "the rest is in place")
    return "staged as nobody: %d file(s) left for root to link" % len(links)


@test
def t_no_requirements_isolated():
    # system packages dev/lib.sh installs (python3-setuptools, python3-wheel)
    rc, _, err = sh([PY, "-c", "import setuptools, wheel"], check=False)
    true(rc == 0, "the system python has setuptools and wheel to hide: " + err)
    dest, rc, res, err = build("bare", "\n# nothing\n", *local())
    eq(res["packages"], [], "no packages")
    for mod in ("setuptools", "wheel"):
        rc, out, err = vpy(dest, "import %s" % mod)
        true(rc != 0 and "ModuleNotFoundError" in err, "%s must not import" % mod)
    _, out, _ = vpy(dest, "import sys; print(sys.prefix != sys.base_prefix, "
                          "any('dist-packages' in p for p in sys.path))")
    eq(out.strip(), "True False", "venv without system site-packages")
    dest2, rc, res, err = build("bare-noopts", "")
    eq(res["packages"], [], "bare venv without any index options")
    return "a venv without requirements has no system site-packages"


@test
def t_not_writable_by_nobody():
    dest = os.path.join(C.venvs, "fx")
    sp = os.path.join(dest, "lib", "python3.11", "site-packages")
    targets = [os.path.join(sp, "studiocolor", "__init__.py"),
               os.path.join(sp, "studiofx-1.3.dist-info", "RECORD"),
               os.path.join(dest, "bin", "studiofx"), os.path.join(dest, "pyvenv.cfg"),
               os.path.join(dest, ".scriptorch-ready")]
    for t in targets:
        rc, _, err = as_nobody("echo x >> '%s'" % t)
        true(rc != 0, "nobody could append to %s" % t)
    for d in (sp, os.path.join(sp, "studiocolor"), os.path.join(dest, "bin"), dest):
        rc, _, _ = as_nobody("touch '%s/new'" % d)
        true(rc != 0, "nobody could create a file in %s" % d)
    rc, _, _ = as_nobody("rm -f '%s'" % targets[0])
    true(os.path.exists(targets[0]), "nobody removed a file")
    for dirpath, dirnames, filenames in os.walk(dest):
        for n in dirnames + filenames:
            st = os.lstat(os.path.join(dirpath, n))
            true(st.st_uid == 0, "%s owned by root" % n)
            if not os.path.islink(os.path.join(dirpath, n)):
                true(st.st_mode & 0o022 == 0, "%s not group/other writable" % n)
    cached = os.path.join(C.cache, "unpacked")
    st = os.stat(targets[0])
    eq(oct(st.st_mode & 0o777), "0o444", "shared file mode")
    rc, out, _ = as_nobody("'%s/bin/python' -c 'import studiofx; print(1)'" % dest)
    eq(out.strip(), "1", "nobody can run the venv")
    true(os.path.isdir(cached), "cache exists")
    return "venv files are read-only root-owned; nobody can read and run but not write"


@test
def t_run_group():
    dest, rc, res, err = build("grp", "studioio\n", *local("--run-group", "4242"))
    st = os.stat(dest)
    eq((st.st_uid, st.st_gid, oct(st.st_mode & 0o777)), (0, 4242, "0o750"), "dest mode")
    rc, out, _ = as_nobody("'%s/bin/python' -c 'import studioio; print(1)'" % dest, 4242)
    eq(out.strip(), "1", "member of run group can use it")
    rc, out, _ = as_nobody("ls '%s'" % dest, 65534)
    true(rc != 0, "others cannot enter")
    return "--run-group makes dest root:GID 0750"


@test
def t_crash_before_rename_leaves_nothing_ready():
    env = dict(os.environ, SCRIPTORCH_VENV_TEST_HANG="before-rename")
    rf = os.path.join(C.tmp, "req-crash.txt")
    with open(rf, "w") as f:
        f.write("studiofx\n")
    dest = os.path.join(C.venvs, "crash")
    p = subprocess.Popen([TOOL, "build", "--python", PY, "--dest", dest, "--cache", C.cache,
                          "--requirements", rf] + local(), env=env,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    seen = ""
    while "hanging" not in seen:
        line = p.stderr.readline().decode()
        if not line:
            break
        seen += line
    true("hanging" in seen, "reached the hook:\n" + seen)
    os.kill(p.pid, signal.SIGKILL)
    p.wait()
    p.stdout.close()
    p.stderr.close()
    tmpdir = "%s.tmp-%d" % (dest, p.pid)
    true(os.path.isdir(tmpdir), "temp dir left by the killed build")
    true(not os.path.exists(dest), "dest absent")
    rc, _, _ = sh([TOOL, "check", "--dest", dest], check=False)
    eq(rc, 1, "check after crash")
    dest, rc, res, err = build("crash", "studiofx\n", *local())
    true(not os.path.exists(tmpdir), "leftover temp dir removed by the next build")
    true("removing leftover" in err, "logged cleanup")
    return "kill -9 just before the rename: no ready venv; next build cleans up"


@test
def t_crash_during_pip():
    rf = os.path.join(C.tmp, "req-crash2.txt")
    with open(rf, "w") as f:
        f.write("studiolegacy\nstudioio==0.9\n")
    dest = os.path.join(C.venvs, "crash2")
    p = subprocess.Popen([TOOL, "build", "--python", PY, "--dest", dest, "--cache", C.cache,
                          "--requirements", rf, "--refresh"] + local("--allow-sdist"),
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         start_new_session=True)
    seen = ""
    while "resolving with pip" not in seen:
        line = p.stderr.readline().decode()
        if not line:
            break
        seen += line
    try:
        true("resolving with pip" in seen, "the build resolves with pip:\n" + seen)
        wait_until(lambda: [d for d in descendants(p.pid) if b"pip" in cmdline(d)],
                   "pip running under the builder")
    finally:
        os.killpg(p.pid, signal.SIGKILL)
    p.wait()
    p.stdout.close()
    p.stderr.close()
    true(not os.path.exists(dest), "dest absent after kill during resolution")
    dest, rc, res, err = build("crash2", "studiolegacy\nstudioio==0.9\n",
                               *local("--allow-sdist"))
    eq(sorted(x["name"] for x in res["packages"]), ["studioio", "studiolegacy"], "rebuilt")
    return "kill -9 during pip resolution leaves no venv; rebuild works"


@test
def t_stale_tmp_removed():
    stale = os.path.join(C.venvs, "stale.tmp-999999")
    os.makedirs(os.path.join(stale, "lib"))
    with open(os.path.join(stale, ".scriptorch-ready"), "w") as f:
        f.write("{}")
    dest, rc, res, err = build("stale", "studioio\n", *local())
    true(not os.path.exists(stale), "stale tmp removed")
    return "leftover temp dirs of dead builders are removed"


@test
def t_index_url():
    idx = os.path.join(C.tmp, "index")
    mkwheel.make_simple_index(idx, [os.path.join(C.wh, f) for f in os.listdir(C.wh)
                                    if f.startswith(("studiocolor", "studiofx",
                                                     "studiolegacy"))])

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *a):
            pass

    srv = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(Quiet, directory=idx))
    th = threading.Thread(target=srv.serve_forever, daemon=True)
    th.start()
    try:
        url = "http://127.0.0.1:%d/simple/" % srv.server_address[1]
        dest, rc, res, err = build("idx", "studiofx\nstudiocolor==1.0\n",
                                   "--index-url", url)
        eq(res["resolver"], "pip", "resolver")
        eq(sorted((p["name"], p["version"]) for p in res["packages"]),
           [("studiocolor", "1.0"), ("studiofx", "1.3")], "resolved from the index")
        _, out, _ = vpy(dest, "import studiocolor; print(studiocolor.__version__)")
        eq(out.strip(), "1.0", "version from index")
        dest, rc, res, err = build("idx-bad", "studiocolor==9.9\n", "--index-url", url,
                                       check=False)
        true(rc != 0 and "studiocolor==9.9" in err.strip().splitlines()[-1],
             "missing version named:\n" + last_lines(err))
        true(not os.path.exists(dest), "no venv for the failed build")
        # pip resolves wheels only; an sdist-only project on the index is told
        # apart from a missing one by the index's project page
        dest, rc, res, err = build("idx-sdist", "studiolegacy\n", "--index-url", url,
                                   check=False)
        last = err.strip().splitlines()[-1]
        true(rc == 1 and "'studiolegacy" in last and "allow_sdist = yes" in last and
             "studiolegacy-0.5.tar.gz" in last, last)
        true("building wheel" not in err, "nothing built:\n" + err)
        # studiocolor 1.0 from the index is the very wheel of the local
        # wheelhouse: same sha256, so both venvs link one unpacked copy.
        f_local = os.path.join(C.venvs, "color1", "lib", "python3.11", "site-packages",
                               "studiocolor", "__init__.py")
        f_index = os.path.join(C.venvs, "idx", "lib", "python3.11", "site-packages",
                               "studiocolor", "__init__.py")
        eq(os.stat(f_index).st_ino, os.stat(f_local).st_ino,
           "the downloaded wheel shares the cache entry of the local one")
    finally:
        srv.shutdown()
        srv.server_close()
    return "--index-url against a PEP 503 index over http"


@test
def t_compiled_extension():
    # The headers of the interpreter the builder uses (python3-dev), where
    # that interpreter says they are.
    _, inc, _ = sh([PY, "-c", "import sysconfig; print(sysconfig.get_paths()['include'])"])
    header = os.path.join(inc.strip(), "Python.h")
    true(shutil.which("gcc"), "no gcc (dev/test installs it)")
    true(os.path.isfile(header), "no %s: install python3-dev (dev/test does)" % header)
    src = os.path.join(C.tmp, "extsrc")
    os.makedirs(src)
    with open(os.path.join(src, "setup.py"), "w") as f:
        f.write("from setuptools import setup, Extension\n"
                "setup(name='studiofast', version='0.2',"
                " ext_modules=[Extension('studiofast', ['studiofast.c'])])\n")
    with open(os.path.join(src, "studiofast.c"), "w") as f:
        f.write('#include <Python.h>\n'
                'static PyObject *add(PyObject *s, PyObject *a) {\n'
                '  long x, y; if (!PyArg_ParseTuple(a, "ll", &x, &y)) return NULL;\n'
                '  return PyLong_FromLong(x + y); }\n'
                'static PyMethodDef M[] = {{"add", add, METH_VARARGS, ""}, {0}};\n'
                'static struct PyModuleDef D = {PyModuleDef_HEAD_INIT, "studiofast",'
                ' "", -1, M};\n'
                'PyMODINIT_FUNC PyInit_studiofast(void) { return PyModule_Create(&D); }\n')
    sh([PY, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index",
        "--disable-pip-version-check", "-q", "-w", C.wh, src])
    whl = [f for f in os.listdir(C.wh) if f.startswith("studiofast")]
    true(whl and "cp311" in whl[0], "built %r" % whl)
    dest, rc, res, err = build("fast", "studiofast\n", *local())
    eq(res["resolver"], "local", "platform wheel resolved locally")
    _, out, err = vpy(dest, "import studiofast; print(studiofast.add(2, 3))")
    eq(out.strip(), "5", "extension works: " + err)
    return "C extension wheel %s" % whl[0]


@test
def t_other_interpreter_path():
    # a different --python path than the builder's own runs the probe as a subprocess
    rf = os.path.join(C.tmp, "req-py311.txt")
    with open(rf, "w") as f:
        f.write("studiofx\n")
    dest = os.path.join(C.venvs, "py311")
    rc, out, err = sh([TOOL, "build", "--python", "/usr/bin/python3.11", "--dest", dest,
                       "--cache", C.cache, "--requirements", rf] + local())
    eq(os.readlink(os.path.join(dest, "bin", "python3.11")), "/usr/bin/python3.11",
       "venv made from --python")
    rc, out, err = sh([os.path.join(dest, "bin", "studiofx")], check=False)
    eq(out.strip(), "studiofx 1.3 color 2.0", "works")
    with open(os.path.join(dest, "bin", "activate")) as f:
        act = f.read()
    true("VIRTUAL_ENV=%s\n" % dest in act and "'(py311) '" in act, "activate script paths")
    with open(os.path.join(dest, "pyvenv.cfg")) as f:
        cfg = f.read()
    true("include-system-site-packages = false" in cfg and ".tmp-" not in cfg, cfg)
    return "--python /usr/bin/python3.11 (probe in a subprocess), activate/pyvenv.cfg fixed"


@test
def t_cross_device_copy():
    # A second file system: a tmpfs of this test's own, else /dev/shm if that
    # is one (a container may forbid mounting).
    mnt = os.path.join(C.tmp, "xdev-mnt")
    os.makedirs(mnt)
    rc, _, merr = sh(["mount", "-t", "tmpfs", "-o", "size=256m,mode=0755",
                      "scriptorch-venv-test", mnt], check=False)
    if rc == 0:
        shm, mounted = mnt, True
    elif os.path.isdir("/dev/shm") and os.stat("/dev/shm").st_dev != os.stat(C.tmp).st_dev:
        shm, mounted = tempfile.mkdtemp(prefix="scriptorch-venv-test-", dir="/dev/shm"), False
    else:
        return ("SKIP needs a second file system: mounting a tmpfs was refused (%s) and "
                "/dev/shm is on the file system of %s" % (merr.strip(), C.tmp))
    true(os.stat(shm).st_dev != os.stat(C.cache).st_dev, "%s is another file system" % shm)
    try:
        rf = os.path.join(C.tmp, "req-xdev.txt")
        with open(rf, "w") as f:
            f.write("studiofx\n")
        dest = os.path.join(shm, "xdev")
        rc, out, err = sh([TOOL, "build", "--python", PY, "--dest", dest,
                           "--cache", C.cache, "--requirements", rf] + local())
        with open(os.path.join(dest, ".scriptorch-ready")) as f:
            m = json.load(f)
        true(m["copied_files"] > 0 and m["linked_files"] == 0, "copied: %r" % m)
        f = os.path.join(dest, "lib", "python3.11", "site-packages", "studiocolor",
                         "__init__.py")
        st = os.stat(f)
        eq((st.st_uid, oct(st.st_mode & 0o777)), (0, "0o444"), "copied file mode")
        rc, out, err = sh([os.path.join(dest, "bin", "studiofx")], check=False)
        eq(out.strip(), "studiofx 1.3 color 2.0", "works")
    finally:
        if mounted:
            sh(["umount", mnt])
        else:
            shutil.rmtree(shm, ignore_errors=True)
    return "cache and venv on different file systems (%s): files copied (EXDEV), still 0444" % (
        "a tmpfs of its own" if mounted else "/dev/shm")


@test
def t_concurrent_builders_share_cold_cache():
    cache = os.path.join(C.tmp, "cache-concurrent")
    procs = []
    for i, reqs in enumerate(["studiofx\n", "studiofx\nstudioio\n", "studiocolor==2.0\n",
                              "studioextra[io]\nstudiofx\n"]):
        rf = os.path.join(C.tmp, "req-conc%d.txt" % i)
        with open(rf, "w") as f:
            f.write(reqs)
        procs.append(subprocess.Popen(
            [TOOL, "build", "--python", PY, "--dest", os.path.join(C.venvs, "conc%d" % i),
             "--cache", cache, "--requirements", rf] + local(),
            stdout=subprocess.PIPE, stderr=subprocess.PIPE))
    for p in procs:
        out, err = p.communicate()
        eq(p.returncode, 0, "concurrent build: " + err.decode())
    for i in range(4):
        rc, out, err = vpy(os.path.join(C.venvs, "conc%d" % i),
                           "import studiocolor; print(studiocolor.__version__)")
        eq(out.strip(), "2.0", "venv %d" % i)
    left = [n for d in ("unpacked", "tmp", "skeleton") for n in
            os.listdir(os.path.join(cache, d)) if ".tmp-" in n or ".new-" in n]
    eq(left, [], "no temporary cache entries left")
    return "4 builders of different keys on one cold cache"


@test
def t_version_logic():
    loader = importlib.machinery.SourceFileLoader("scriptorch_venv", TOOL)
    spec = importlib.util.spec_from_loader("scriptorch_venv", loader)
    m = importlib.util.module_from_spec(spec)
    loader.exec_module(m)
    V = m.Version
    cases = [("1.0", "==", "1", True), ("1.0.0", "==", "1.0", True),
             ("1.1", "==", "1.*", True), ("2.0", "==", "1.*", False),
             ("1.4.5", "~=", "1.4.2", True), ("1.5", "~=", "1.4.2", False),
             ("1.5", "~=", "1.4", True), ("2.0", "~=", "1.4", False),
             ("2.0rc1", "<", "2.0", False), ("1.9", "<", "2.0", True),
             ("2.0.post1", ">", "2.0", False), ("2.1", ">", "2.0", True),
             ("1.0+local", "==", "1.0", True), ("1.0", "!=", "1.0", False),
             ("1.0a1", "<", "1.0", False), ("0.9a1", "<", "1.0", True), ("1.0.dev1", "<", "1.0a1", True),
             ("1!0.1", ">", "9.9", True), ("3.11.2", ">=", "3.8", True)]
    for v, op, t, want in cases:
        eq(m.version_matches(op, t, V(v)), want, "%s %s %s" % (v, op, t))
    true(V("1.0.post1").key > V("1.0").key > V("1.0rc1").key > V("1.0b2").key >
         V("1.0a1").key > V("1.0.dev0").key, "ordering")
    env = {"python_version": "3.11", "python_full_version": "3.11.2",
           "sys_platform": "linux", "extra": ""}
    eq(m.eval_marker('python_version >= "3.8" and sys_platform == "linux"', env), True,
       "marker and")
    eq(m.eval_marker('(python_version < "3" or extra == "test")', env), False, "marker or")
    eq(m.eval_marker("'linux' in sys_platform", env), True, "marker in")
    try:
        m.eval_marker('platform_weird == "x"', env)
        raise AssertionError("unknown marker variable must be Unsure")
    except m.Unsure:
        pass
    return "PEP 440 / PEP 508 subset"


def main():
    if os.geteuid() != 0:
        print("1..0 # SKIP must run as root")
        return 0
    setup()
    failed = 0
    n = 0
    try:
        for fn in TESTS:
            n += 1
            t0 = time.monotonic()
            try:
                msg = fn() or fn.__name__
                skip = msg.startswith("SKIP")
                print("ok %d - %s%s (%.2fs)" % (n, fn.__name__, " # " + msg if skip
                                                 else ": " + msg, time.monotonic() - t0))
            except Exception as e:
                failed += 1
                print("not ok %d - %s" % (n, fn.__name__))
                for line in ("%s: %s" % (type(e).__name__, e)).splitlines():
                    print("# " + line)
            sys.stdout.flush()
    finally:
        if os.environ.get("SCRIPTORCH_VENV_KEEP"):
            print("# kept %s" % C.tmp)
        else:
            shutil.rmtree(C.tmp, ignore_errors=True)
    print("1..%d" % n)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
