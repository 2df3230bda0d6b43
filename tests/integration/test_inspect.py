"""POST /api/v1/admin/scripts/inspect (docs/api.md, "Inspecting a path"):
what a candidate script file is, without registering it. Each type (from
the #! line, from an ELF header, from libmagic), a python script found by
its #! line alone, the run user's execute permission, and the refusals,
which must be the registration's own: outside the roots (the same answer
whether a file is there or not), a directory, a symlink leading out of the
root, a missing file. Admins only; nothing of the file but libmagic's
description comes back, and nothing is registered."""
import os
import platform
import subprocess

import pytest

from conftest import SCRIPT_ROOT, assert_error, call, unique

INSPECT = "/api/v1/admin/scripts/inspect"
RUN_USER = os.environ.get("SCRIPTORCH_RUN_USER", "scriptorch-run")
KEYS = {"path", "type_guess", "description", "executable", "problems"}


def root_dir():
    d = os.path.join(SCRIPT_ROOT, unique("insp"))
    os.makedirs(d)
    os.chmod(d, 0o755)
    return d


def write(path, content, mode=0o644):
    with open(path, "wb") as f:
        f.write(content.encode() if isinstance(content, str) else content)
    os.chmod(path, mode)
    return path


def compile_elf(d, name="prog", flags=()):
    src = write(os.path.join(d, name + ".c"), "#include <stdio.h>\nint main(void){puts(\"hi\");return 0;}\n")
    out = os.path.join(d, name)
    subprocess.run(["cc", *flags, "-o", out, src], check=True)
    os.chmod(out, 0o755)
    return out


def inspect(path, token=None):
    kw = {} if token is None else {"token": token}
    return call("POST", INSPECT, {"path": path}, **kw)


def inspected(path):
    r = inspect(path)
    assert r.status == 200, r
    assert set(r.json) == KEYS, r.json
    assert r.json["path"] == path, r.json
    return r.json


def registration_refusal(path, type_="shell"):
    """The 422 a registration of `path` gets."""
    r = call("POST", "/api/v1/admin/scripts", {"name": unique("insp"), "type": type_, "path": path})
    assert r.status == 422, r
    return r


def scripts_named_like(path):
    return [s for s in call("GET", "/api/v1/admin/scripts").json["scripts"] if s["path"] == path]


# ---- what each kind of file is taken for -----------------------------------

@pytest.mark.parametrize("name,content,want,says", [
    ("a.sh", "#!/bin/sh\necho hi\n", "shell", "POSIX shell script"),
    ("b", "#!/bin/bash\necho hi\n", "shell", "Bourne-Again shell script"),
    ("c.txt", "#!/usr/bin/env bash\necho hi\n", "shell", None),
    ("d.sh", "#!/usr/bin/python3\nprint(1)\n", "python", "Python script"),
    ("e", "#!/usr/bin/env -S python3.11 -u\nprint(1)\n", "python", None),
    ("f.py", "#! /usr/bin/env PYTHONDONTWRITEBYTECODE=1 python3\nprint(1)\n", "python", None),
    ("g", "#!/usr/bin/perl\nprint 1;\n", "shell", "Perl script"),
    ("h", "just some words\n", None, "ASCII text"),
])
def test_the_type_comes_from_the_first_line_and_libmagic(name, content, want, says):
    p = write(os.path.join(root_dir(), name), content)
    got = inspected(p)
    assert got["type_guess"] == want, got
    if says:
        assert got["description"].startswith(says), got
    else:
        assert isinstance(got["description"], str) and got["description"], got
    assert got["executable"] is False, got      # 0644
    assert got["problems"] == [], got


def test_a_python_script_named_without_py_is_python_by_its_shebang():
    d = root_dir()
    p = write(os.path.join(d, "render-frames"), "#!/usr/bin/env python3\nimport sys\nprint(sys.argv)\n", 0o755)
    got = inspected(p)
    assert got["type_guess"] == "python", got
    assert "python" in got["description"].lower(), got
    assert got["executable"] is True and got["problems"] == [], got
    # And it registers as python, as guessed.
    r = call("POST", "/api/v1/admin/scripts", {"name": unique("insp-py"), "type": "python", "path": p})
    assert r.status == 201, r
    assert call("DELETE", f"/api/v1/admin/scripts/{r.json['id']}").status == 204


def test_an_elf_is_binary_and_executable():
    exe = compile_elf(root_dir())
    got = inspected(exe)
    assert got["type_guess"] == "binary", got
    assert got["description"].startswith("ELF "), got
    assert got["executable"] is True and got["problems"] == [], got


def test_an_elf_the_run_user_cannot_execute_says_so():
    exe = compile_elf(root_dir())
    os.chmod(exe, 0o644)
    got = inspected(exe)
    assert got["type_guess"] == "binary" and got["executable"] is False, got
    # The registration's own sentence, which a registration would give.
    assert got["problems"] == [f"path is not executable by the run user {RUN_USER} (mode 0644)"], got
    reg = registration_refusal(exe, "binary").json["error"]
    assert got["problems"] == [reg["message"]], reg


@pytest.mark.skipif(platform.machine() != "x86_64", reason="message names x86-64")
def test_an_elf_for_another_machine_is_binary_with_the_problem():
    exe = compile_elf(root_dir())
    with open(exe, "r+b") as f:
        f.seek(18)
        f.write(bytes([0xB7, 0x00]))  # e_machine = EM_AARCH64
    got = inspected(exe)
    assert got["type_guess"] == "binary", got
    assert got["problems"] == ["path is an ELF executable for ARM aarch64, not for x86-64"], got


def test_a_library_is_binary_with_the_problem():
    d = root_dir()
    src = write(os.path.join(d, "lib.c"), "int f(void){return 1;}\n")
    subprocess.run(["cc", "-shared", "-fPIC", "-o", d + "/lib.so", src], check=True)
    got = inspected(d + "/lib.so")
    assert got["type_guess"] == "binary", got
    assert len(got["problems"]) == 1 and "shared object" in got["problems"][0], got


def test_a_shell_script_the_run_user_cannot_read_says_so():
    p = write(os.path.join(root_dir(), "s.sh"), "#!/bin/sh\necho\n", 0o600)
    got = inspected(p)
    assert got["type_guess"] == "shell", got
    assert got["problems"] == [f"path is not readable by the run user {RUN_USER} (mode 0600)"], got


def test_a_relative_interpreter_is_a_problem_for_a_shell_script_only():
    d = root_dir()
    got = inspected(write(os.path.join(d, "rel"), "#!sh\necho\n"))
    assert got["type_guess"] == "shell", got
    assert got["problems"] == ["the #! line does not name an absolute interpreter: "
                               "a shell script's run would fail"], got
    # A python script runs through the venv's interpreter: its #! line
    # does not matter.
    got = inspected(write(os.path.join(d, "relpy"), "#!python3\nprint(1)\n"))
    assert got["type_guess"] == "python" and got["problems"] == [], got


def test_the_first_line_is_read_as_the_runner_reads_it():
    # No end of line in the first 255 bytes: the runner refuses the #! line.
    p = write(os.path.join(root_dir(), "long"), "#!/bin/sh " + "x" * 300 + "\necho\n")
    got = inspected(p)
    assert got["type_guess"] == "shell", got
    assert got["problems"] == ["the #! line is too long (longer than 255 bytes): "
                               "a shell script's run would fail"], got


def test_nothing_of_the_content_comes_back_and_nothing_is_registered():
    marker = "secret-" + unique("marker")
    p = write(os.path.join(root_dir(), "conf"), f"#!/bin/sh\n# {marker}\nTOKEN={marker}\n")
    r = inspect(p)
    assert r.status == 200, r
    assert marker.encode() not in r.body, r.body
    assert scripts_named_like(p) == []


# ---- refusals: the registration's ------------------------------------------

def test_outside_the_roots_answers_the_same_whether_a_file_is_there_or_not():
    answers = [inspect(p) for p in ("/etc/shadow", "/etc/passwd", "/etc",
                                    f"/no-such-dir-{unique('x')}/shadow", "/etc/no-such-file-here")]
    for r in answers:
        err = assert_error(r, 422, "validation_failed", "path")
        assert err["message"].startswith("path must be inside a script root ("), err
    # Byte for byte the same body: nothing tells a file there from none.
    assert len({r.body for r in answers}) == 1, [r.body for r in answers]
    assert answers[0].json == registration_refusal("/etc/shadow").json


@pytest.mark.parametrize("suffix", ["/../etc/shadow", "//x.sh", "/./x.sh", "/x.sh/"])
def test_a_path_not_normalized_is_the_registrations_422(suffix):
    p = SCRIPT_ROOT.rstrip("/") + suffix
    r = inspect(p)
    assert_error(r, 422, "validation_failed", "path")
    assert r.json == registration_refusal(p).json, r.json


def test_a_directory_is_the_registrations_422():
    d = root_dir()
    r = inspect(d)
    err = assert_error(r, 422, "validation_failed", "path")
    assert err["message"] == "path is a directory", err
    assert r.json == registration_refusal(d).json
    assert r.json["error"]["errors"] == [{"field": "path", "message": "path is a directory"}], r.json


def test_a_missing_file_in_a_root_is_the_registrations_422():
    p = os.path.join(root_dir(), "nope.sh")
    r = inspect(p)
    assert assert_error(r, 422, "validation_failed", "path")["message"] == "path does not exist"
    assert r.json == registration_refusal(p).json


def test_a_symlink_out_of_the_root_is_refused_as_a_registration_refuses_it():
    d = root_dir()
    os.symlink("/etc/shadow", os.path.join(d, "shadow.sh"))
    os.symlink("/etc", os.path.join(d, "etc"))
    for p in (d + "/shadow.sh", d + "/etc/passwd"):
        r = inspect(p)
        err = assert_error(r, 422, "validation_failed", "path")
        assert "symlink" in err["message"], err
        assert r.json == registration_refusal(p).json, r.json
        assert b"description" not in r.body and b"type_guess" not in r.body, r.body


def test_a_symlink_inside_the_root_is_refused_with_the_real_path():
    d = root_dir()
    real = write(os.path.join(d, "real.sh"), "#!/bin/sh\necho\n")
    os.symlink(real, os.path.join(d, "link.sh"))
    r = inspect(d + "/link.sh")
    err = assert_error(r, 422, "validation_failed", "path")
    assert err["message"] == f"path resolves through a symlink to {real}; register the real path", err
    assert r.json == registration_refusal(d + "/link.sh").json


def test_a_fifo_is_refused_without_waiting_on_it():
    f = os.path.join(root_dir(), "fifo")
    os.mkfifo(f)
    r = call("POST", INSPECT, {"path": f}, timeout=20)
    assert assert_error(r, 422, "validation_failed", "path")["message"] == "path is a named pipe"


@pytest.mark.parametrize("body,field", [
    ({"path": 7}, "path"),
    ({"path": None}, "path"),
    ({"path": "/x", "type": "shell"}, "type"),
    ({}, "path"),
    ({"path": ""}, "path"),
])
def test_bad_bodies(body, field):
    assert_error(call("POST", INSPECT, body), 422, "validation_failed", field)


def test_a_body_that_is_not_an_object_is_400():
    assert_error(call("POST", INSPECT, raw=b"[1]", headers={"Content-Type": "application/json"}),
                 400, "bad_json")


# ---- who may ask ------------------------------------------------------------

def test_admins_only(viewer, operator):
    p = write(os.path.join(root_dir(), "a.sh"), "#!/bin/sh\necho\n")
    for token in (viewer, operator):
        assert_error(inspect(p, token=token), 403, "forbidden")
        # Outside the roots too: a refused role learns nothing either.
        assert_error(inspect("/etc/shadow", token=token), 403, "forbidden")
    r = call("POST", INSPECT, {"path": p}, token=None)
    assert_error(r, 401, "unauthorized")
