#!/usr/bin/python3 -I
"""Tiny wheel / sdist / PEP 503 index generator for the scriptorch-venv tests and benchmark.

Wheels are written by hand with zipfile: <name>-<ver>.dist-info/{METADATA,WHEEL,RECORD,
entry_points.txt} plus the given files.  Stdlib only.

    mkwheel.py bench DIR      write the 5-wheel benchmark set into DIR
"""
import base64
import hashlib
import io
import os
import re
import sys
import tarfile
import zipfile


def _dist(name):
    return re.sub(r"[-_.]+", "_", name)


def _rec_hash(data):
    d = hashlib.sha256(data).digest()
    return "sha256=" + base64.urlsafe_b64encode(d).rstrip(b"=").decode()


def make_wheel(outdir, name, version, files, requires=(), entry_points=None,
               tag="py3-none-any", requires_python=None, purelib=True):
    """files: {archive path: str|bytes}; paths under '<dist>-<ver>.data/' allowed."""
    dist = _dist(name)
    di = "%s-%s.dist-info" % (dist, version)
    meta = ["Metadata-Version: 2.1", "Name: %s" % name, "Version: %s" % version,
            "Summary: test package %s" % name]
    if requires_python:
        meta.append("Requires-Python: %s" % requires_python)
    meta += ["Requires-Dist: %s" % r for r in requires]
    content = dict(files)
    content[di + "/METADATA"] = "\n".join(meta) + "\n\n"
    content[di + "/WHEEL"] = ("Wheel-Version: 1.0\nGenerator: mkwheel\nRoot-Is-Purelib: %s\n"
                              "Tag: %s\n" % ("true" if purelib else "false", tag))
    if entry_points:
        content[di + "/entry_points.txt"] = "".join(
            "[%s]\n%s\n" % (sec, "".join("%s = %s\n" % kv for kv in eps.items()))
            for sec, eps in entry_points.items())
    path = os.path.join(outdir, "%s-%s-%s.whl" % (dist, version, tag))
    record = []
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for arc, data in content.items():
            if isinstance(data, str):
                data = data.encode()
            zi = zipfile.ZipInfo(arc, (2020, 1, 1, 0, 0, 0))
            zi.external_attr = (0o100755 if "/scripts/" in arc else 0o100644) << 16
            zi.compress_type = zipfile.ZIP_DEFLATED
            z.writestr(zi, data)
            record.append("%s,%s,%d" % (arc, _rec_hash(data), len(data)))
        record.append(di + "/RECORD,,")
        z.writestr(di + "/RECORD", "\n".join(record) + "\n")
    return path


def make_sdist(outdir, name, version, module_source, install_requires=()):
    """A legacy setup.py-only source distribution (no pyproject.toml)."""
    base = "%s-%s" % (name, version)
    mod = _dist(name).lower()
    setup_py = ("from setuptools import setup\n"
                "setup(name=%r, version=%r, py_modules=[%r], install_requires=%r)\n"
                % (name, version, mod, list(install_requires)))
    pkg_info = "Metadata-Version: 1.1\nName: %s\nVersion: %s\n" % (name, version)
    path = os.path.join(outdir, base + ".tar.gz")
    with tarfile.open(path, "w:gz") as t:
        for arc, data in ((base + "/setup.py", setup_py), (base + "/PKG-INFO", pkg_info),
                          (base + "/%s.py" % mod, module_source)):
            data = data.encode()
            ti = tarfile.TarInfo(arc)
            ti.size = len(data)
            ti.mode = 0o644
            ti.mtime = 1577836800
            t.addfile(ti, io.BytesIO(data))
    return path


def make_simple_index(root, dist_files):
    """PEP 503 layout: root/simple/<project>/index.html linking ../../packages/<file>."""
    pk = os.path.join(root, "packages")
    os.makedirs(pk, exist_ok=True)
    projects = {}
    for f in dist_files:
        fn = os.path.basename(f)
        with open(f, "rb") as src, open(os.path.join(pk, fn), "wb") as dst:
            data = src.read()
            dst.write(data)
        proj = re.sub(r"[-_.]+", "-", fn.split("-")[0]).lower()
        projects.setdefault(proj, []).append((fn, hashlib.sha256(data).hexdigest()))
    os.makedirs(os.path.join(root, "simple"), exist_ok=True)
    with open(os.path.join(root, "simple", "index.html"), "w") as f:
        f.write("<!DOCTYPE html><html><body>\n%s</body></html>\n" % "".join(
            '<a href="%s/">%s</a>\n' % (p, p) for p in sorted(projects)))
    for p, files in projects.items():
        d = os.path.join(root, "simple", p)
        os.makedirs(d, exist_ok=True)
        with open(os.path.join(d, "index.html"), "w") as f:
            f.write("<!DOCTYPE html><html><body>\n%s</body></html>\n" % "".join(
                '<a href="../../packages/%s#sha256=%s">%s</a>\n' % (fn, h, fn)
                for fn, h in files))


def studio_module(name, version, n_funcs=40):
    lines = ['"""%s %s: generated test module."""' % (name, version),
             "__version__ = %r" % version]
    for i in range(n_funcs):
        lines.append("def f%d(x):\n    return x * %d + len(%r)\n" % (i, i, name))
    return "\n".join(lines) + "\n"


BENCH_SET = [  # 5 wheels, one depends on another, one has a console script
    ("studiocolor", "2.0", [], None),
    ("studiofx", "1.3", ["studiocolor>=1"], {"console_scripts": {"studiofx": "studiofx:main"}}),
    ("studioio", "0.9", [], None),
    ("studiomath", "3.1.4", [], None),
    ("studioui", "1.0", ["studioio>=0.5", "studiomath~=3.1"], None),
]


def make_bench_set(outdir, modules_per_pkg=12):
    os.makedirs(outdir, exist_ok=True)
    paths = []
    for name, ver, reqs, eps in BENCH_SET:
        files = {"%s/__init__.py" % name: studio_module(name, ver) +
                 "def main():\n    print(%r)\n    return 0\n" % (name + " " + ver)}
        for i in range(modules_per_pkg):
            files["%s/mod%02d.py" % (name, i)] = studio_module("%s.mod%02d" % (name, i), ver)
        files["%s/data/palette.txt" % name] = "\n".join(str(i) for i in range(500)) + "\n"
        paths.append(make_wheel(outdir, name, ver, files, reqs, eps))
    return paths


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "bench":
        for p in make_bench_set(sys.argv[2]):
            print(p)
    else:
        sys.exit(__doc__)
