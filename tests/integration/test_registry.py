"""The script registry: /api/v1/admin/scripts and `scriptorchd script`.

Every validation rule of the contract with its status, field and message;
binaries checked with libmagic (a real compiled ELF, a shell script, a text
file, a non-executable ELF, an ELF for another machine, a library);
version history; enable/disable; delete; filters; roles; audit; the CLI.
"""
import os
import platform
import pwd
import shutil
import stat
import subprocess
import tempfile
import time

import pytest

from conftest import ADMIN, SCRIPT_ROOT, STATE, assert_error, call, unique

BASE = "/api/v1/admin/scripts"
BUILD = os.environ.get("SCRIPTORCH_BUILD", "")
RUN_USER = os.environ.get("SCRIPTORCH_RUN_USER", "scriptorch-run")
CONTRACT_KEYS = {"id", "name", "type", "path", "description", "enabled", "version",
                 "requirements", "args", "input_mode", "inputs", "outputs", "env", "secret_env",
                 "timeout_s", "max_concurrency", "created_at", "updated_at", "limits",
                 "network", "node_labels", "callback_url"}


# ---- helpers ---------------------------------------------------------------

def root_dir():
    """A fresh directory of this test run inside the script root."""
    d = os.path.join(SCRIPT_ROOT, unique("reg"))
    os.makedirs(d)
    os.chmod(d, 0o755)
    return d


def write(path, content, mode=0o644):
    with open(path, "wb") as f:
        f.write(content.encode() if isinstance(content, str) else content)
    os.chmod(path, mode)
    return path


def shell_file(content="#!/bin/sh\necho hi\n", mode=0o644):
    return write(os.path.join(root_dir(), "s.sh"), content, mode)


def compile_elf(dirpath=None, name="prog"):
    d = dirpath or root_dir()
    src = os.path.join(d, name + ".c")
    out = os.path.join(d, name)
    write(src, "#include <stdio.h>\nint main(void){puts(\"hi\");return 0;}\n")
    subprocess.run(["cc", "-o", out, src], check=True)
    os.chmod(out, 0o755)
    return out


def sql(query):
    """Runs SQL on the stack's MariaDB as root; rows as lists of strings."""
    out = subprocess.run(["mariadb", "--no-defaults", "--socket=" + os.path.join(STATE, "mysql.sock"),
                          "-uroot", "-N", "-B", "scriptorch", "-e", query],
                         check=True, capture_output=True, text=True).stdout
    return [line.split("\t") for line in out.splitlines()]


def create(body, token=ADMIN):
    return call("POST", BASE, body, token=token)


def create_ok(**fields):
    body = {"name": unique("s"), "type": "shell"}
    body.update(fields)
    if "path" not in body:
        body["path"] = shell_file()
    r = create(body)
    assert r.status == 201, r
    return r.json


def assert_422(r, field, *fragments):
    err = assert_error(r, 422, "validation_failed", field)
    for frag in fragments:
        assert frag in err["message"], err
    return err


def cli(*args, check=False, input=""):
    """`scriptorchd script ARGS...` with `input` on its standard input."""
    assert BUILD, "SCRIPTORCH_BUILD (set by dev/test) names the build dir of scriptorchd"
    return subprocess.run([os.path.join(BUILD, "src/scriptorchd"), "-c",
                           os.path.join(STATE, "scriptorch.conf"), "script", *args],
                          capture_output=True, text=True, timeout=60, check=check, input=input)


# ---- creating and reading -------------------------------------------------

def test_create_minimal_shell_script_has_every_field_with_defaults():
    path = shell_file()
    name = unique("min")
    r = create({"name": name, "type": "shell", "path": path})
    assert r.status == 201, r
    s = r.json
    # One script's answer adds the limits that apply (docs/api.md, "Limits").
    assert set(s) == CONTRACT_KEYS | {"effective_limits"}, "no venv for a shell script"
    assert s["name"] == name and s["type"] == "shell" and s["path"] == path
    assert isinstance(s["id"], int) and s["id"] > 0
    assert s["description"] == "" and s["enabled"] is True
    assert s["requirements"] is None and s["args"] == [] and s["input_mode"] == "both"
    assert s["inputs"] is None and s["outputs"] == {"stdout": "text"} and s["env"] == {}
    assert s["timeout_s"] == 300 and s["max_concurrency"] is None
    assert s["limits"] == {} and s["network"] == "host" and s["node_labels"] == []
    assert s["version"].startswith("sha256:") and len(s["version"]) == 7 + 64
    assert s["created_at"].endswith("Z") and s["created_at"] == s["updated_at"]
    assert r.headers.get("Location") == f"{BASE}/{s['id']}"
    g = call("GET", f"{BASE}/{s['id']}")
    assert g.status == 200 and g.json == s


def test_create_full_python_script_round_trips_and_get_adds_venv():
    d = root_dir()
    path = write(os.path.join(d, "cc.py"), "import sys\nprint(sys.argv)\n")
    # A package of this test's own: no run anywhere has built this key.
    own = unique("regpkg").replace("-", "")
    body = {
        "name": unique("py"), "type": "python", "path": path,
        "description": "Applies the studio LUT", "enabled": True,
        "requirements": f"numpy==1.26.4\npillow>=10\n{own}==1.0\n",
        "args": ["--in", "{segment_path}", "--out", "{output_file}", "{{literal}}"],
        "input_mode": "env",
        "inputs": {"type": "object", "required": ["segment_path"],
                   "properties": {"segment_path": {"type": "string"},
                                  "strength": {"type": "number", "minimum": 0}}},
        "outputs": {"stdout": "json", "file": "out/result.png"},
        "env": {"STUDIO": "acme", "LANG": "C"},
        "timeout_s": 3600, "max_concurrency": 2,
    }
    r = create(body)
    assert r.status == 201, r
    s = r.json
    for k, v in body.items():
        assert s[k] == v, k
    g = call("GET", f"{BASE}/{s['id']}").json
    assert set(g) == CONTRACT_KEYS | {"venv", "effective_limits"}
    # Never run, so never built: the venv service knows its key only.
    venv = g["venv"]
    assert set(venv) == {"key", "status"}, venv
    assert venv["status"] == "absent", venv
    assert len(venv["key"]) == 64 and all(ch in "0123456789abcdef" for ch in venv["key"]), venv
    # The key is that of the requirements, not of the script: the same set
    # written otherwise shares it, another set does not.
    same = create_ok(type="python", path=path,
                     requirements=f"# the same set\nPillow >= 10\n{own.upper()}==1.0\nNumPy==1.26.4\n")
    other = create_ok(type="python", path=path, requirements=f"numpy==1.26.4\n{own}==1.0\n")
    assert call("GET", f"{BASE}/{same['id']}").json["venv"] == venv
    assert call("GET", f"{BASE}/{other['id']}").json["venv"]["key"] != venv["key"]


def test_list_and_get_are_for_viewers_writes_for_admins(viewer, operator):
    s = create_ok()
    sid = s["id"]
    for tok in (viewer, operator):
        assert call("GET", BASE, token=tok).status == 200
        assert call("GET", f"{BASE}/{sid}", token=tok).status == 200
        assert call("GET", f"{BASE}/{sid}/versions", token=tok).status == 200
        assert_error(create({"name": unique("x"), "type": "shell", "path": s["path"]}, token=tok),
                     403, "forbidden")
        assert_error(call("PATCH", f"{BASE}/{sid}", {"description": "x"}, token=tok), 403, "forbidden")
        assert_error(call("DELETE", f"{BASE}/{sid}", token=tok), 403, "forbidden")
    assert_error(call("GET", BASE, token=None), 401, "unauthorized")
    assert call("GET", f"{BASE}/{sid}").json["description"] == ""


def test_unknown_ids_are_404():
    for m in ("GET", "DELETE"):
        assert_error(call(m, f"{BASE}/999999999"), 404, "not_found")
    assert_error(call("PATCH", f"{BASE}/999999999", {"enabled": False}), 404, "not_found")
    assert_error(call("GET", f"{BASE}/999999999/versions"), 404, "not_found")
    assert_error(call("GET", f"{BASE}/abc"), 404, "not_found")


def test_bad_body_is_400():
    r = call("POST", BASE, raw=b"{nope", headers={"Content-Type": "application/json"})
    assert_error(r, 400, "bad_json")
    r = call("POST", BASE, raw=b"[]", headers={"Content-Type": "application/json"})
    assert_error(r, 400, "bad_json")


# ---- field validation -----------------------------------------------------

def test_required_fields():
    path = shell_file()
    assert_422(create({"type": "shell", "path": path}), "name", "required")
    assert_422(create({"name": unique("r"), "path": path}), "type", "required")
    assert_422(create({"name": unique("r"), "type": "shell"}), "path", "required")


@pytest.mark.parametrize("name", ["Upper", "1abc", "-x", "a b", "a/b", "", "a" * 65, "é"])
def test_bad_names(name):
    assert_422(create({"name": name, "type": "shell", "path": shell_file()}), "name")


def test_name_of_64_characters_is_fine():
    name = "n" + unique("")[1:].replace("-", "") + "x" * 64
    name = name[:64]
    r = create({"name": name, "type": "shell", "path": shell_file()})
    assert r.status == 201, r


def test_name_must_be_a_string():
    assert_422(create({"name": 5, "type": "shell", "path": shell_file()}), "name", "string")


def test_duplicate_name_is_409():
    s = create_ok()
    r = create({"name": s["name"], "type": "shell", "path": shell_file()})
    err = assert_error(r, 409, "conflict")
    assert s["name"] in err["message"] and "already exists" in err["message"]


@pytest.mark.parametrize("t", ["perl", "", "SHELL", 3, None])
def test_bad_type(t):
    assert_422(create({"name": unique("t"), "type": t, "path": shell_file()}), "type",
               "shell, python or binary")


def test_unknown_field_is_rejected_not_dropped():
    err = assert_422(create({"name": unique("u"), "type": "shell", "path": shell_file(),
                             "timeout": 5}), "timeout", "unknown field")
    assert '"timeout"' in err["message"]


@pytest.mark.parametrize("field,value", [("id", 3), ("version", "sha256:00"),
                                         ("created_at", "2026-01-01T00:00:00.000Z"),
                                         ("updated_at", "2026-01-01T00:00:00.000Z"),
                                         ("venv", None)])
def test_read_only_fields_are_rejected(field, value):
    assert_422(create({"name": unique("ro"), "type": "shell", "path": shell_file(), field: value}),
               field, "read-only")


def test_duplicate_key_in_body_is_rejected():
    # json_parse refuses duplicate keys for every body (400), rather than
    # letting one of the values win silently.
    path = shell_file()
    raw = ('{"name":"%s","type":"shell","path":"%s","description":"a","description":"b"}'
           % (unique("dup"), path)).encode()
    r = call("POST", BASE, raw=raw, headers={"Content-Type": "application/json"})
    err = assert_error(r, 400, "bad_json")
    assert "duplicate" in err["message"]


def test_nul_in_a_string_is_rejected():
    # A \u0000 would cut the string short in yajl's tree: refused (400).
    path = shell_file()
    for extra in ('"description":"a\\u0000b"', '"env":{"A":"x\\u0000y"}'):
        raw = ('{"name":"%s","type":"shell","path":"%s",%s}' % (unique("nul"), path, extra)).encode()
        r = call("POST", BASE, raw=raw, headers={"Content-Type": "application/json"})
        err = assert_error(r, 400, "bad_json")
        assert "u0000" in err["message"], err
    assert not [x for x in call("GET", BASE + "?q=nul-").json["scripts"]]


def test_enabled_must_be_boolean():
    assert_422(create({"name": unique("e"), "type": "shell", "path": shell_file(), "enabled": "yes"}),
               "enabled", "true or false")


def test_description_must_be_a_string():
    assert_422(create({"name": unique("d"), "type": "shell", "path": shell_file(), "description": 3}),
               "description", "string")


# ---- path rules -------------------------------------------------------------

def test_path_must_be_absolute():
    assert_422(create({"name": unique("p"), "type": "shell", "path": "scripts/x.sh"}), "path",
               "absolute")


@pytest.mark.parametrize("suffix", ["/./s.sh", "//s.sh", "/sub/../s.sh", "/"])
def test_path_must_be_normalized(suffix):
    d = root_dir()
    shell_file()
    os.makedirs(os.path.join(d, "sub"))
    write(os.path.join(d, "s.sh"), "echo\n")
    assert_422(create({"name": unique("p"), "type": "shell", "path": d + suffix}), "path",
               "normalized")


def test_path_escaping_the_root_with_dotdot_is_rejected():
    path = SCRIPT_ROOT + "/../../etc/passwd"
    assert_422(create({"name": unique("p"), "type": "shell", "path": path}), "path", "normalized")


def test_path_outside_every_root():
    other = tempfile.mkdtemp(prefix="reg-outside-")
    try:
        os.chmod(other, 0o755)
        p = write(os.path.join(other, "x.sh"), "echo\n")
        assert_422(create({"name": unique("p"), "type": "shell", "path": p}), "path",
                   "inside a script root")
        assert_422(create({"name": unique("p"), "type": "shell", "path": "/etc/passwd"}), "path",
                   "inside a script root")
    finally:
        shutil.rmtree(other)


def test_path_root_prefix_is_not_enough():
    # /srv/scripts-evil is not inside /srv/scripts.
    sibling = SCRIPT_ROOT.rstrip("/") + "-evil"
    os.makedirs(sibling, exist_ok=True)
    try:
        p = write(os.path.join(sibling, "x.sh"), "echo\n")
        assert_422(create({"name": unique("p"), "type": "shell", "path": p}), "path",
                   "inside a script root")
    finally:
        shutil.rmtree(sibling)


def test_symlinked_file_is_rejected_with_its_target():
    d = root_dir()
    target = write(os.path.join(d, "real.sh"), "echo\n")
    link = os.path.join(d, "link.sh")
    os.symlink(target, link)
    assert_422(create({"name": unique("p"), "type": "shell", "path": link}), "path",
               "symlink", target)


def test_symlink_escaping_the_root_is_rejected():
    d = root_dir()
    os.symlink("/etc", os.path.join(d, "etc"))
    assert_422(create({"name": unique("p"), "type": "shell", "path": d + "/etc/passwd"}), "path",
               "symlink", "/etc/passwd")


def test_symlinked_directory_is_rejected():
    d = root_dir()
    os.makedirs(os.path.join(d, "real"))
    write(os.path.join(d, "real", "x.sh"), "echo\n")
    os.symlink(os.path.join(d, "real"), os.path.join(d, "alias"))
    assert_422(create({"name": unique("p"), "type": "shell", "path": d + "/alias/x.sh"}), "path",
               "symlink")


def test_missing_file():
    d = root_dir()
    assert_422(create({"name": unique("p"), "type": "shell", "path": d + "/nope.sh"}), "path",
               "does not exist")


def test_directory_is_rejected():
    d = root_dir()
    for t in ("shell", "binary"):
        assert_422(create({"name": unique("p"), "type": t, "path": d}), "path", "path is a directory")


def test_fifo_is_rejected():
    d = root_dir()
    f = os.path.join(d, "fifo")
    os.mkfifo(f)
    assert_422(create({"name": unique("p"), "type": "shell", "path": f}), "path", "named pipe")


def test_unreadable_script_for_the_run_user():
    p = shell_file(mode=0o600)
    err = assert_422(create({"name": unique("p"), "type": "shell", "path": p}), "path",
                     "not readable by the run user", RUN_USER)
    assert "0600" in err["message"]


def test_unsearchable_directory_for_the_run_user():
    d = root_dir()
    inner = os.path.join(d, "private")
    os.makedirs(inner)
    os.chmod(inner, 0o700)
    p = write(os.path.join(inner, "x.sh"), "echo\n")
    assert_422(create({"name": unique("p"), "type": "shell", "path": p}), "path",
               "not searchable by the run user", inner, "0700")


# ---- binaries and libmagic -------------------------------------------------

def test_real_elf_is_accepted():
    exe = compile_elf()
    s = create_ok(type="binary", path=exe)
    assert s["type"] == "binary"


def test_static_and_non_pie_elves_are_accepted():
    d = root_dir()
    src = write(os.path.join(d, "m.c"), "int main(void){return 0;}\n")
    subprocess.run(["cc", "-no-pie", "-o", d + "/nopie", src], check=True)
    create_ok(type="binary", path=d + "/nopie")


def test_shell_script_as_binary_says_what_it_is():
    p = shell_file("#!/bin/bash\necho hi\n", mode=0o755)
    err = assert_422(create({"name": unique("b"), "type": "binary", "path": p}), "path")
    assert err["message"] == "path is a Bourne-Again shell script, not an ELF executable", err


def test_posix_shell_script_as_binary():
    p = shell_file("#!/bin/sh\necho hi\n", mode=0o755)
    err = assert_422(create({"name": unique("b"), "type": "binary", "path": p}), "path")
    assert err["message"] == "path is a POSIX shell script, not an ELF executable", err


def test_text_file_as_binary():
    p = write(os.path.join(root_dir(), "notes"), "hello there\n", 0o755)
    err = assert_422(create({"name": unique("b"), "type": "binary", "path": p}), "path")
    assert err["message"] == "path is ASCII text, not an ELF executable", err


def test_empty_file_as_binary():
    p = write(os.path.join(root_dir(), "empty"), b"", 0o755)
    assert_422(create({"name": unique("b"), "type": "binary", "path": p}), "path",
               "empty file", "not an ELF executable")


def test_non_executable_elf():
    exe = compile_elf()
    os.chmod(exe, 0o644)
    err = assert_422(create({"name": unique("b"), "type": "binary", "path": exe}), "path")
    assert err["message"] == f"path is not executable by the run user {RUN_USER} (mode 0644)", err


def test_elf_executable_only_by_its_owner():
    exe = compile_elf()
    os.chmod(exe, 0o700)  # root owns it; the run user is "other"
    assert_422(create({"name": unique("b"), "type": "binary", "path": exe}), "path",
               "not executable by the run user", "0700")


@pytest.mark.skipif(platform.machine() != "x86_64", reason="message names x86-64")
def test_elf_for_another_architecture():
    exe = compile_elf()
    with open(exe, "r+b") as f:
        f.seek(18)
        f.write(bytes([0xB7, 0x00]))  # e_machine = EM_AARCH64
    err = assert_422(create({"name": unique("b"), "type": "binary", "path": exe}), "path")
    assert err["message"] == "path is an ELF executable for ARM aarch64, not for x86-64", err


@pytest.mark.skipif(platform.machine() != "x86_64", reason="message names x86-64")
def test_minimal_handmade_elf_header_for_another_machine():
    # A 64-byte ELF64 header alone: big-endian, ET_EXEC, e_machine = 0x16 (S/390).
    hdr = bytearray(64)
    hdr[0:4] = b"\x7fELF"
    hdr[4], hdr[5], hdr[6] = 2, 2, 1          # ELFCLASS64, ELFDATA2MSB, EV_CURRENT
    hdr[16:18] = (2).to_bytes(2, "big")      # ET_EXEC
    hdr[18:20] = (22).to_bytes(2, "big")     # EM_S390
    hdr[20:24] = (1).to_bytes(4, "big")
    p = write(os.path.join(root_dir(), "s390"), bytes(hdr), 0o755)
    err = assert_422(create({"name": unique("b"), "type": "binary", "path": p}), "path")
    assert err["message"] == ("path is an ELF executable for IBM S/390, big-endian, "
                              "not for x86-64"), err


def test_shared_library_is_not_an_executable():
    d = root_dir()
    src = write(os.path.join(d, "lib.c"), "int f(void){return 1;}\n")
    subprocess.run(["cc", "-shared", "-fPIC", "-o", d + "/lib.so", src], check=True)
    os.chmod(d + "/lib.so", 0o755)
    assert_422(create({"name": unique("b"), "type": "binary", "path": d + "/lib.so"}), "path",
               "shared object", "not an ELF executable")


def test_object_file_is_not_an_executable():
    d = root_dir()
    src = write(os.path.join(d, "o.c"), "int f(void){return 1;}\n")
    subprocess.run(["cc", "-c", "-o", d + "/o.o", src], check=True)
    os.chmod(d + "/o.o", 0o755)
    assert_422(create({"name": unique("b"), "type": "binary", "path": d + "/o.o"}), "path",
               "relocatable", "not an ELF executable")


def test_shell_and_python_need_no_execute_bit():
    create_ok(type="shell", path=shell_file(mode=0o644))
    p = write(os.path.join(root_dir(), "x.py"), "print(1)\n", 0o644)
    create_ok(type="python", path=p)


# ---- requirements, args, inputs, outputs, env, timeout, concurrency, mode -----

def test_requirements_only_for_python():
    for t, path in (("shell", shell_file()), ("binary", compile_elf())):
        assert_422(create({"name": unique("r"), "type": t, "path": path, "requirements": "numpy\n"}),
                   "requirements", "only for python")


def test_requirements_are_checked():
    p = write(os.path.join(root_dir(), "x.py"), "print(1)\n")
    assert_422(create({"name": unique("r"), "type": "python", "path": p,
                       "requirements": "--index-url http://evil/simple\nnumpy\n"}), "requirements")
    assert_422(create({"name": unique("r"), "type": "python", "path": p, "requirements": 3}),
               "requirements", "string")


@pytest.mark.parametrize("args,field", [
    ("--x", "args"),
    ([1], "args[0]"),
    (["ok", "{unclosed"], "args[1]"),
    (["{}"], "args[0]"),
    (["a}"], "args[0]"),
])
def test_bad_args(args, field):
    assert_422(create({"name": unique("a"), "type": "shell", "path": shell_file(), "args": args}), field)


def test_output_file_placeholder_needs_outputs_file():
    assert_422(create({"name": unique("a"), "type": "shell", "path": shell_file(),
                       "args": ["{output_file}"]}), "args[0]")
    create_ok(args=["{output_file}", "{workdir}", "{execution_id}", "{x}"],
              outputs={"file": "o.txt"})


@pytest.mark.parametrize("inputs", [
    {"type": "object", "properties": {"n": {"type": "number", "minimun": 0}}},
    {"type": "string"},
    {"type": "object", "required": ["missing"], "properties": {"a": {"type": "string"}}},
    [],
    "object",
])
def test_bad_inputs_schema(inputs):
    err = assert_422(create({"name": unique("i"), "type": "shell", "path": shell_file(),
                             "inputs": inputs}), None)
    assert err["field"].startswith("inputs"), err


@pytest.mark.parametrize("outputs,field", [
    ({"stdout": "xml"}, "outputs.stdout"),
    ({"stdout": 1}, "outputs.stdout"),
    ({"file": "/etc/passwd"}, "outputs.file"),
    ({"file": "../up.txt"}, "outputs.file"),
    ({"file": "a/../b"}, "outputs.file"),
    ({"file": "a//b"}, "outputs.file"),
    ({"file": "dir/"}, "outputs.file"),
    ({"file": ""}, "outputs.file"),
    ({"file": 5}, "outputs.file"),
    ({"stderr": "text"}, "outputs.stderr"),
    ("json", "outputs"),
])
def test_bad_outputs(outputs, field):
    assert_422(create({"name": unique("o"), "type": "shell", "path": shell_file(),
                       "outputs": outputs}), field)


def test_outputs_stdout_defaults_to_text():
    s = create_ok(outputs={"file": "res/out.json"})
    assert s["outputs"] == {"stdout": "text", "file": "res/out.json"}


@pytest.mark.parametrize("env,field", [
    ({"A=B": "x"}, None),
    ({"": "x"}, None),
    ({"1X": "x"}, None),
    ({"PATH": "/tmp"}, None),
    ({"INPUT_X": "1"}, None),
    ({"SCRIPTORCH_X": "1"}, None),
    ({"A": 1}, None),
    (["A"], "env"),
])
def test_bad_env(env, field):
    err = assert_422(create({"name": unique("e"), "type": "shell", "path": shell_file(), "env": env}),
                     field)
    assert err["field"].startswith("env"), err


@pytest.mark.parametrize("t", [0, -1, 3601, 1.5, "10", 1e3, True])
def test_bad_timeout(t):
    assert_422(create({"name": unique("t"), "type": "shell", "path": shell_file(), "timeout_s": t}),
               "timeout_s", "1 to 3600")


def test_timeout_limits():
    assert create_ok(timeout_s=1)["timeout_s"] == 1
    assert create_ok(timeout_s=3600)["timeout_s"] == 3600


@pytest.mark.parametrize("m", [0, -2, 2.5, "3"])
def test_bad_max_concurrency(m):
    assert_422(create({"name": unique("m"), "type": "shell", "path": shell_file(),
                       "max_concurrency": m}), "max_concurrency")


def test_max_concurrency_values():
    assert create_ok(max_concurrency=3)["max_concurrency"] == 3
    assert create_ok(max_concurrency=None)["max_concurrency"] is None


@pytest.mark.parametrize("m", ["file", "", 1, "ENV"])
def test_bad_input_mode(m):
    assert_422(create({"name": unique("m"), "type": "shell", "path": shell_file(), "input_mode": m}),
               "input_mode", "env, stdin or both")


# ---- PATCH -------------------------------------------------------------------

def test_patch_updates_fields_and_keeps_the_rest():
    s = create_ok(description="one", env={"A": "1"})
    time.sleep(0.01)
    r = call("PATCH", f"{BASE}/{s['id']}", {"description": "two", "timeout_s": 60})
    assert r.status == 200, r
    u = r.json
    assert u["description"] == "two" and u["timeout_s"] == 60
    assert u["env"] == {"A": "1"} and u["name"] == s["name"] and u["version"] == s["version"]
    assert u["updated_at"] > s["updated_at"] and u["created_at"] == s["created_at"]


def test_patch_validates_like_post():
    s = create_ok()
    url = f"{BASE}/{s['id']}"
    before = call("GET", url).json
    assert before == s
    assert_422(call("PATCH", url, {"bogus": 1}), "bogus", "unknown field")
    assert_422(call("PATCH", url, {"version": "sha256:x"}), "version", "read-only")
    assert_422(call("PATCH", url, {"id": 5}), "id", "read-only")
    assert_422(call("PATCH", url, {"name": "Bad"}), "name")
    assert_422(call("PATCH", url, {"timeout_s": 0}), "timeout_s")
    assert_422(call("PATCH", url, {"path": "/etc/passwd"}), "path")
    assert_422(call("PATCH", url, {"requirements": "numpy"}), "requirements", "only for python")
    assert_error(call("PATCH", url, raw=b"nope", headers={"Content-Type": "application/json"}),
                 400, "bad_json")
    # Nothing of the refused PATCHes was stored: the same object, the same
    # version history, and only the creation in the audit log.
    assert call("GET", url).json == before
    assert [x["version"] for x in versions(s["id"])] == [s["version"]]
    assert sql(f"SELECT action FROM audit_log WHERE object_type = 'script'"
               f" AND object_id = {s['id']} ORDER BY id") == [["script.create"]]


def test_patch_to_a_duplicate_name_is_409():
    a, b = create_ok(), create_ok()
    assert_error(call("PATCH", f"{BASE}/{b['id']}", {"name": a["name"]}), 409, "conflict")


def test_patch_rename():
    s = create_ok()
    new = unique("renamed")
    r = call("PATCH", f"{BASE}/{s['id']}", {"name": new})
    assert r.status == 200 and r.json["name"] == new


def test_patch_type_to_binary_rechecks_the_file_with_libmagic():
    p = shell_file("#!/bin/bash\necho\n", mode=0o755)
    s = create_ok(path=p)
    assert_422(call("PATCH", f"{BASE}/{s['id']}", {"type": "binary"}), "path",
               "Bourne-Again shell script")
    exe = compile_elf()
    r = call("PATCH", f"{BASE}/{s['id']}", {"type": "binary", "path": exe})
    assert r.status == 200, r
    assert r.json["type"] == "binary" and r.json["version"] != s["version"]


def test_patch_python_to_shell_needs_requirements_dropped():
    p = write(os.path.join(root_dir(), "x.py"), "print(1)\n")
    s = create_ok(type="python", path=p, requirements="numpy\n")
    assert_422(call("PATCH", f"{BASE}/{s['id']}", {"type": "shell"}), "requirements")
    r = call("PATCH", f"{BASE}/{s['id']}", {"type": "shell", "requirements": None})
    assert r.status == 200 and r.json["requirements"] is None


def test_patch_null_restores_defaults():
    s = create_ok(args=["a"], env={"A": "1"}, outputs={"stdout": "json"}, timeout_s=5,
                  max_concurrency=2, input_mode="env", description="d")
    r = call("PATCH", f"{BASE}/{s['id']}", {"args": None, "env": None, "outputs": None,
                                           "timeout_s": None, "max_concurrency": None,
                                           "input_mode": None, "description": None})
    assert r.status == 200, r
    u = r.json
    assert (u["args"], u["env"], u["outputs"], u["timeout_s"], u["max_concurrency"],
            u["input_mode"], u["description"]) == ([], {}, {"stdout": "text"}, 300, None, "both", "")


def test_patch_of_a_broken_file_can_still_disable_it():
    exe = compile_elf()
    s = create_ok(type="binary", path=exe)
    os.chmod(exe, 0o644)
    r = call("PATCH", f"{BASE}/{s['id']}", {"enabled": False})
    assert r.status == 200 and r.json["enabled"] is False


# ---- enable / disable ---------------------------------------------------------

def test_disable_and_enable():
    s = create_ok(description=unique("dis"))
    url = f"{BASE}/{s['id']}"
    r = call("PATCH", url, {"enabled": False})
    assert r.status == 200 and r.json["enabled"] is False
    listed = call("GET", BASE + "?q=" + s["description"]).json["scripts"]
    assert [x["id"] for x in listed] == [s["id"]] and listed[0]["enabled"] is False
    assert len(call("GET", url + "/versions").json["versions"]) == 1
    r = call("PATCH", url, {"enabled": True})
    assert r.status == 200 and r.json["enabled"] is True


# ---- versions -----------------------------------------------------------------

def versions(sid):
    r = call("GET", f"{BASE}/{sid}/versions")
    assert r.status == 200, r
    assert set(r.json) == {"versions"}
    return r.json["versions"]


def test_version_is_sha256_of_content_and_changes_when_the_file_is_edited():
    p = shell_file("echo one\n")
    s = create_ok(path=p)
    v = versions(s["id"])
    assert [x["version"] for x in v] == [s["version"]]
    assert v[0]["recorded_at"].endswith("Z")
    write(p, "echo two\n")
    g = call("GET", f"{BASE}/{s['id']}").json
    assert g["version"] != s["version"]
    v = versions(s["id"])
    assert [x["version"] for x in v] == [g["version"], s["version"]], "newest first"
    # Reading again records nothing new.
    call("GET", f"{BASE}/{s['id']}")
    assert len(versions(s["id"])) == 2
    # Back to the first content: a new entry with the old value.
    write(p, "echo one\n")
    assert call("GET", f"{BASE}/{s['id']}").json["version"] == s["version"]
    assert [x["version"] for x in versions(s["id"])] == [s["version"], g["version"], s["version"]]


def test_version_covers_args_and_requirements():
    p = write(os.path.join(root_dir(), "x.py"), "print(1)\n")
    s = create_ok(type="python", path=p, requirements="numpy==1.26.4\n", args=["a"])
    url = f"{BASE}/{s['id']}"
    v1 = s["version"]
    v2 = call("PATCH", url, {"args": ["b"]}).json["version"]
    assert v2 != v1
    v3 = call("PATCH", url, {"requirements": "numpy==2.0\n"}).json["version"]
    assert v3 != v2
    # A comment or spacing changes no installed package: same version.
    v4 = call("PATCH", url, {"requirements": "# pinned\nnumpy == 2.0\n"}).json["version"]
    assert v4 == v3
    v5 = call("PATCH", url, {"description": "x"}).json["version"]
    assert v5 == v4
    assert [x["version"] for x in versions(s["id"])] == [v3, v2, v1]


def test_same_content_same_version_across_scripts():
    a = create_ok(path=shell_file("echo same\n"))
    b = create_ok(path=shell_file("echo same\n"))
    assert a["version"] == b["version"]


def test_vanished_file_keeps_the_stored_version():
    p = shell_file()
    s = create_ok(path=p)
    os.unlink(p)
    g = call("GET", f"{BASE}/{s['id']}")
    assert g.status == 200 and g.json["version"] == s["version"]


# ---- delete -------------------------------------------------------------------

def test_delete():
    s = create_ok()
    url = f"{BASE}/{s['id']}"
    r = call("DELETE", url)
    assert r.status == 204 and r.body == b""
    assert_error(call("GET", url), 404, "not_found")
    assert_error(call("GET", url + "/versions"), 404, "not_found")
    assert_error(call("DELETE", url), 404, "not_found")
    assert s["id"] not in [x["id"] for x in call("GET", BASE).json["scripts"]]
    assert sql(f"SELECT COUNT(*) FROM script_versions WHERE script_id = {s['id']}") == [["0"]]
    # The name is free again.
    create_ok(name=s["name"])


def test_delete_cancels_queued_executions_and_keeps_them_readable():
    # max_concurrency 1 and a (fake) running execution keep the runners
    # from claiming the queued one while the test looks at it.
    s = create_ok(max_concurrency=1)
    sid, name, ver = s["id"], s["name"], s["version"]
    sql("INSERT INTO executions (script_id, script_name, script_version, `trigger`, status, input,"
        " queued_at, started_at, heartbeat_at) VALUES"
        f" ({sid}, '{name}', '{ver}', 'api', 'running', '{{}}', UTC_TIMESTAMP(3),"
        " UTC_TIMESTAMP(3), UTC_TIMESTAMP(3) + INTERVAL 1 HOUR)")
    sql("INSERT INTO executions (script_id, script_name, `trigger`, status, input, queued_at) VALUES"
        f" ({sid}, '{name}', 'api', 'queued', '{{}}', UTC_TIMESTAMP(3))")
    try:
        assert call("DELETE", f"{BASE}/{sid}").status == 204
        rows = sql("SELECT status, IFNULL(error, ''), script_name, IFNULL(script_version, ''),"
                   f" finished_at IS NOT NULL FROM executions WHERE script_id = {sid} ORDER BY id")
        assert rows[0][0] == "running" and rows[0][3] == ver
        assert rows[1] == ["canceled", "the script was deleted", name, "", "1"]
        qid = sql(f"SELECT id FROM executions WHERE script_id = {sid} AND status = 'canceled'")[0][0]
        r = call("GET", f"/api/v1/executions/{qid}")
        assert r.status == 200, r
        e = r.json
        assert (e["id"], e["script_id"], e["script_name"], e["status"], e["error"]) == (
            int(qid), sid, name, "canceled", "the script was deleted"), e
        assert e["finished_at"] and e["exit_code"] is None, e
    finally:
        sql(f"UPDATE executions SET status = 'failed', finished_at = UTC_TIMESTAMP(3)"
            f" WHERE script_id = {sid} AND status = 'running'")


# ---- list filters -----------------------------------------------------------

def test_list_filters():
    tag = unique("flt").replace("-", "")
    a = create_ok(name=tag + "-alpha", description="first")
    b = create_ok(name=tag + "-beta", description="second one", type="binary", path=compile_elf())
    c = create_ok(name=tag + "-gamma", description="Mentions ALPHA too")
    call("PATCH", f"{BASE}/{c['id']}", {"enabled": False})

    def ids(query):
        r = call("GET", BASE + query)
        assert r.status == 200, r
        return [x["id"] for x in r.json["scripts"] if x["name"].startswith(tag)]

    assert ids(f"?q={tag}") == [a["id"], b["id"], c["id"]], "ordered by name"
    assert ids(f"?q={tag}&type=binary") == [b["id"]]
    assert ids(f"?q={tag}&type=shell") == [a["id"], c["id"]]
    assert ids(f"?q={tag}&enabled=false") == [c["id"]]
    assert ids(f"?q={tag}&enabled=true") == [a["id"], b["id"]]
    assert ids(f"?q={tag}&type=shell&enabled=true") == [a["id"]]
    # q matches name or description, without regard to case.
    assert set(ids("?q=alpha")) == {a["id"], c["id"]}
    assert ids(f"?q={tag.upper()}-BETA") == [b["id"]]
    assert ids("?q=second%20one") == [b["id"]]
    assert_422(call("GET", BASE + "?type=perl"), "type")
    assert_422(call("GET", BASE + "?enabled=maybe"), "enabled")


def test_q_treats_like_wildcards_literally():
    tag = unique("wild").replace("-", "")
    pct = create_ok(name=tag + "-pct", description="100% done")
    und = create_ok(name=tag + "-und", description="snake_case here")
    plain = create_ok(name=tag + "-plain", description="1000 done snakeXcase")

    def ids(q):
        r = call("GET", BASE + "?q=" + q)
        assert r.status == 200, r
        return {x["id"] for x in r.json["scripts"] if x["name"].startswith(tag)}

    assert ids("100%25") == {pct["id"]}
    assert ids("snake_case") == {und["id"]}
    assert ids("%25") == {pct["id"]}
    assert ids("_") == {und["id"]}
    assert ids("_c") == {und["id"]}, "an underscore is no one-character wildcard"
    assert ids("!") == set()


# ---- audit ----------------------------------------------------------------------

def test_every_write_is_audited_with_the_token_name():
    tname = unique("auditor")
    r = call("POST", "/api/v1/admin/tokens", {"name": tname, "role": "admin"})
    tok = r.json["token"]
    r = create({"name": unique("aud"), "type": "shell", "path": shell_file()}, token=tok)
    assert r.status == 201
    sid = r.json["id"]
    assert call("PATCH", f"{BASE}/{sid}", {"enabled": False}, token=tok).status == 200
    assert call("DELETE", f"{BASE}/{sid}", token=tok).status == 204
    rows = sql(f"SELECT actor, action, object_type, IFNULL(detail, '') FROM audit_log"
               f" WHERE object_type = 'script' AND object_id = {sid} ORDER BY id")
    assert [(a, b, c) for a, b, c, _ in rows] == [
        (tname, "script.create", "script"), (tname, "script.update", "script"),
        (tname, "script.delete", "script")]
    assert rows[1][3] == "enabled"
    # A rejected write leaves no trace.
    n = sql(f"SELECT COUNT(*) FROM audit_log WHERE actor = '{tname}'")[0][0]
    assert_422(create({"name": "Bad", "type": "shell", "path": shell_file()}, token=tok), "name")
    assert sql(f"SELECT COUNT(*) FROM audit_log WHERE actor = '{tname}'")[0][0] == n


# ---- the admin CLI ----------------------------------------------------------------

def test_cli_add_list_show_disable_enable_rm():
    d = root_dir()
    req = write(os.path.join(d, "requirements.txt"), "numpy==1.26.4\n")
    p = write(os.path.join(d, "x.py"), "print(1)\n")
    name = unique("cli")
    r = cli("add", "--name", name, "--type", "python", "--path", p, "--description", "from the cli",
            "--args", '["--in", "{src}"]', "--inputs", '{"type":"object","properties":{"src":{"type":"string"}}}',
            "--outputs", '{"stdout":"json"}', "--env", '{"A":"b"}', "--requirements-file", req,
            "--timeout", "42", "--max-concurrency", "3", "--input-mode", "stdin")
    assert r.returncode == 0, r.stderr
    sid = int(r.stdout.split("\t")[0])
    s = call("GET", f"{BASE}/{sid}").json
    assert (s["name"], s["type"], s["description"], s["args"], s["outputs"], s["env"],
            s["requirements"], s["timeout_s"], s["max_concurrency"], s["input_mode"]) == (
        name, "python", "from the cli", ["--in", "{src}"], {"stdout": "json"}, {"A": "b"},
        "numpy==1.26.4\n", 42, 3, "stdin")
    assert s["inputs"]["properties"]["src"] == {"type": "string"}
    audit = sql(f"SELECT actor FROM audit_log WHERE action = 'script.create' AND object_id = {sid}")
    assert audit[0][0].startswith("cli:")

    r = cli("list", "--type", "python", "--q", name)
    assert r.returncode == 0 and name in r.stdout and "enabled" in r.stdout
    r = cli("show", name)
    assert r.returncode == 0 and f'"name": "{name}"' in r.stdout
    r = cli("show", str(sid))
    assert r.returncode == 0 and name in r.stdout
    assert cli("disable", name).returncode == 0
    assert call("GET", f"{BASE}/{sid}").json["enabled"] is False
    assert cli("enable", str(sid)).returncode == 0
    assert call("GET", f"{BASE}/{sid}").json["enabled"] is True
    r = cli("versions", name)
    assert r.returncode == 0 and s["version"] in r.stdout
    assert cli("rm", name).returncode == 0
    assert call("GET", f"{BASE}/{sid}").status == 404
    # Every command that writes names the same actor: the user who ran it.
    actors = sql(f"SELECT DISTINCT actor FROM audit_log WHERE object_type = 'script' "
                 f"AND object_id = {sid}")
    assert actors == [["cli:" + pwd.getpwuid(os.getuid()).pw_name]], actors
    r = cli("show", name)
    assert r.returncode == 1 and "no script" in r.stderr


def test_cli_shares_the_validation_of_the_api():
    p = shell_file("#!/bin/bash\necho\n", mode=0o755)
    api = create({"name": unique("x"), "type": "binary", "path": p}).json["error"]["message"]
    r = cli("add", "--name", unique("x"), "--type", "binary", "--path", p)
    assert r.returncode == 1 and r.stderr.strip().endswith("path (--path): " + api), r.stderr
    r = cli("add", "--name", unique("x"), "--type", "shell", "--path", shell_file(), "--timeout", "0")
    assert r.returncode == 1 and "timeout_s must be an integer from 1 to 3600" in r.stderr
    r = cli("add", "--name", unique("x"), "--type", "shell", "--path", shell_file(),
            "--env", '{"A=B":"x"}')
    assert r.returncode == 1 and "env" in r.stderr
    r = cli("add", "--name", unique("x"), "--type", "shell", "--path", shell_file(), "--args", "[1")
    assert r.returncode == 1 and "not valid JSON" in r.stderr
    existing = create_ok()
    r = cli("add", "--name", existing["name"], "--type", "shell", "--path", shell_file())
    assert r.returncode == 1 and "already exists" in r.stderr
    r = cli("add", "--name", unique("x"), "--bogus", "1")
    assert r.returncode == 2
    r = cli("frobnicate")
    assert r.returncode == 2


def quiet(stderr):
    """Nothing on stderr but the log's info lines (the registry's)."""
    return all(line.startswith("info ") for line in stderr.splitlines())


def comparable(script):
    """A script object without what differs between two registrations."""
    return {k: v for k, v in script.items() if k not in ("id", "name", "created_at", "updated_at")}


def test_cli_add_sets_every_writable_field_as_the_api_does():
    d = root_dir()
    req = write(os.path.join(d, "requirements.txt"), "numpy==1.26.4\n")
    p = write(os.path.join(d, "x.py"), "print(1)\n")
    fields = {"type": "python", "path": p, "description": "every field", "enabled": False,
              "requirements": "numpy==1.26.4\n", "args": ["--in", "{src}"], "input_mode": "env",
              "inputs": {"type": "object", "properties": {"src": {"type": "string"}}},
              "outputs": {"stdout": "json"}, "env": {"A": "b"}, "timeout_s": 42, "max_concurrency": 3,
              "limits": {"memory_mb": 256, "pids": 32, "cpu_cores": 0.5, "file_size_mb": 10,
                         "output_cap_kb": 64},
              "network": "none", "node_labels": ["ffmpeg", "gpu"],
              "callback_url": "http://127.0.0.1:9/hooks/done"}
    api = create({"name": unique("api"), **fields})
    assert api.status == 201, api
    name = unique("cli")
    r = cli("add", "--name", name, "--type", "python", "--path", p, "--description", "every field",
            "--enabled", "false", "--requirements-file", req, "--args", '["--in", "{src}"]',
            "--input-mode", "env", "--inputs", '{"type":"object","properties":{"src":{"type":"string"}}}',
            "--outputs", '{"stdout":"json"}', "--env", '{"A":"b"}', "--timeout", "42",
            "--max-concurrency", "3", "--memory-mb", "256", "--pids", "32", "--cpu-cores", "0.5",
            "--file-size-mb", "10", "--output-cap-kb", "64", "--network", "none",
            "--node-labels", "gpu, ffmpeg", "--callback-url", "http://127.0.0.1:9/hooks/done")
    assert r.returncode == 0 and quiet(r.stderr), r
    sid = int(r.stdout.split("\t")[0])
    s = call("GET", f"{BASE}/{sid}").json
    assert s["name"] == name
    assert comparable(s) == comparable(call("GET", f"{BASE}/{api.json['id']}").json)
    assert s["limits"] == fields["limits"] and s["node_labels"] == ["ffmpeg", "gpu"], s
    assert (s["enabled"], s["network"], s["callback_url"]) == (False, "none", fields["callback_url"]), s
    # An empty --node-labels is none; --enabled true is the default.
    r = cli("add", "--name", unique("cli"), "--type", "shell", "--path", shell_file(),
            "--node-labels", "", "--enabled", "true")
    assert r.returncode == 0, r
    s = call("GET", f"{BASE}/{r.stdout.split()[0]}").json
    assert s["node_labels"] == [] and s["enabled"] is True, s


def test_cli_update_changes_what_it_is_given_and_keeps_the_rest():
    s = create_ok(description="before", max_concurrency=2, timeout_s=30,
                  limits={"memory_mb": 256, "pids": 32}, node_labels=["gpu"],
                  callback_url="http://127.0.0.1:9/a", env={"A": "1"})
    sid = s["id"]

    def get():
        return call("GET", f"{BASE}/{sid}").json

    def update(*args):
        r = cli("update", *args)
        assert r.returncode == 0 and quiet(r.stderr), r
        got = get()
        assert r.stdout == f"{sid}\t{got['name']}\t{got['version']}\n", r
        return got

    # One limit changes; the others stay (the API would replace limits whole).
    got = update(s["name"], "--pids", "64")
    assert got["limits"] == {"memory_mb": 256, "pids": 64}, got
    assert {k: got[k] for k in ("description", "max_concurrency", "timeout_s", "node_labels",
                                "callback_url", "env")} == {
        "description": "before", "max_concurrency": 2, "timeout_s": 30, "node_labels": ["gpu"],
        "callback_url": "http://127.0.0.1:9/a", "env": {"A": "1"}}, got
    # The operand may stand after the options, and be the id.
    got = update("--cpu-cores", "0.5", "--reset", "limits.memory_mb", str(sid))
    assert got["limits"] == {"pids": 64, "cpu_cores": 0.5}, got
    got = update(str(sid), "--reset", "max_concurrency", "--reset", "callback_url",
                 "--description", "after", "--timeout", "45", "--enabled", "false",
                 "--network", "none", "--node-labels", "ffmpeg,gpu", "--env", '{"B": "2"}',
                 "--input-mode", "stdin", "--outputs", '{"stdout": "json"}',
                 "--args", '["-v"]', "--inputs", '{"type": "object"}')
    assert {k: got[k] for k in ("max_concurrency", "callback_url", "description", "timeout_s",
                                "enabled", "network", "node_labels", "env", "input_mode",
                                "outputs", "args", "inputs", "limits")} == {
        "max_concurrency": None, "callback_url": None, "description": "after", "timeout_s": 45,
        "enabled": False, "network": "none", "node_labels": ["ffmpeg", "gpu"], "env": {"B": "2"},
        "input_mode": "stdin", "outputs": {"stdout": "json"}, "args": ["-v"],
        "inputs": {"type": "object"}, "limits": {"pids": 64, "cpu_cores": 0.5}}, got
    got = update(str(sid), "--reset", "limits", "--memory-mb", "128")
    assert got["limits"] == {"memory_mb": 128}, got
    got = update(str(sid), "--reset", "limits", "--reset", "node_labels", "--reset", "timeout_s")
    assert (got["limits"], got["node_labels"], got["timeout_s"]) == ({}, [], 300), got
    # Another file, type and name.
    d = root_dir()
    py = write(os.path.join(d, "y.py"), "print(2)\n")
    req = write(os.path.join(d, "req.txt"), "six==1.16.0\n")
    new_name = unique("renamed")
    got = update(str(sid), "--name", new_name, "--type", "python", "--path", py,
                 "--requirements-file", req)
    assert (got["name"], got["type"], got["path"], got["requirements"]) == (
        new_name, "python", py, "six==1.16.0\n"), got
    # Each change is audited, naming the fields and the user who ran it.
    rows = sql(f"SELECT actor, detail FROM audit_log WHERE object_type = 'script' "
               f"AND object_id = {sid} AND action = 'script.update' ORDER BY id")
    assert len(rows) == 6 and {a for a, _ in rows} == {"cli:" + pwd.getpwuid(os.getuid()).pw_name}, rows
    assert rows[0][1] == "limits" and "requirements" in rows[-1][1], rows


# Each: the arguments after "script", the exit status, what stderr says.
CLI_BAD = [
    (["--memory-mb", "lots"], 1, "limits.memory_mb (--memory-mb): "),
    (["--pids", "0"], 1, "limits.pids (--pids): "),
    (["--cpu-cores", "0"], 1, "limits.cpu_cores (--cpu-cores): "),
    (["--file-size-mb", "1.5"], 1, "limits.file_size_mb (--file-size-mb): "),
    (["--output-cap-kb", "99999999"], 1, "limits.output_cap_kb (--output-cap-kb): "),
    (["--network", "wifi"], 1, "network (--network): "),
    (["--node-labels", "gpu,GPU!"], 1, "node_labels[1] (--node-labels): "),
    (["--node-labels", "gpu,gpu"], 1, "node_labels[1] (--node-labels): "),
    (["--callback-url", "ftp://127.0.0.1/x"], 1, "callback_url (--callback-url): "),
    (["--enabled", "maybe"], 1, "enabled (--enabled): enabled must be true or false"),
    (["--max-concurrency", "0"], 1, "max_concurrency (--max-concurrency): "),
    (["--timeout", "9999999"], 1, "timeout_s (--timeout): timeout_s must be an integer"),
    (["--input-mode", "argv"], 1, "input_mode (--input-mode): "),
    (["--env", '{"A": 1}'], 1, "env.A (--env): "),
    (["--inputs", '{"type": "object"'], 1, "inputs (--inputs): not valid JSON"),
    (["--description", "\udcff"], 1, "description (--description): not valid UTF-8"),
    (["--requirements-file", "/nonexistent/req.txt"], 1, "requirements (--requirements-file): cannot open"),
    (["--secret-env-file", "1BAD=/etc/hostname"], 1, "secret_env.1BAD (--secret-env-file 1BAD): "),
    (["--secret-env-file", "TOKEN=/nonexistent/token"], 1, "--secret-env-file TOKEN: cannot open"),
    (["--secret-env", "TOKEN"], 1, "--secret-env TOKEN: no value"),
    (["--secret-env-file", "TOKEN"], 2, "--secret-env-file takes NAME=FILE"),
    (["--timeout", "5", "--timeout", "6"], 2, "--timeout is given twice"),
    (["--memory-mb", "5", "--memory-mb", "6"], 2, "--memory-mb is given twice"),
    (["--secret-env-file", "A=/x", "--secret-env", "A"], 2,
     "--secret-env-file A and --secret-env A both set secret_env.A"),
    (["--cpu-cores"], 2, 'missing value for "--cpu-cores"'),
]


@pytest.mark.parametrize("args,status,said", CLI_BAD, ids=[" ".join(a[0]) for a in CLI_BAD])
def test_cli_add_refuses_a_bad_value_naming_the_option(args, status, said):
    name = unique("bad")
    r = cli("add", "--name", name, "--type", "shell", "--path", shell_file(), *args)
    assert r.returncode == status and said in r.stderr and r.stdout == "", r
    if status == 2:
        assert "usage: scriptorchd [-c FILE] script add" in r.stderr, r
    assert call("GET", f"{BASE}?q={name}").json["scripts"] == []


CLI_BAD_UPDATE = [
    (["--reset", "bogus"], 1, 'bogus (--reset bogus): unknown field "bogus"'),
    (["--reset", "limits.bogus"], 1, "limits.bogus (--reset limits.bogus): unknown limit"),
    (["--reset", "name"], 1, "name (--reset name): "),
    (["--reset", "type"], 1, "type (--reset type): "),
    (["--pids", "many"], 1, "limits.pids (--pids): "),
    (["--type", "binary"], 1, "path (--path): "),
    (["--reset", "timeout_s", "--timeout", "5"], 2, "--reset timeout_s and --timeout both set timeout_s"),
    (["--reset", "limits.pids", "--pids", "5"], 2, "--reset limits.pids and --pids both set limits.pids"),
    ([], 2, "nothing to change"),
]


@pytest.mark.parametrize("args,status,said", CLI_BAD_UPDATE,
                         ids=[" ".join(a[0]) or "none" for a in CLI_BAD_UPDATE])
def test_cli_update_refuses_a_bad_value_and_changes_nothing(args, status, said):
    s = create_ok(limits={"pids": 16})
    r = cli("update", s["name"], *args)
    assert r.returncode == status and said in r.stderr and r.stdout == "", r
    if status == 2:
        assert "usage: scriptorchd [-c FILE] script update" in r.stderr, r
    assert call("GET", f"{BASE}/{s['id']}").json == s
    r = cli("update", unique("nosuch"), "--timeout", "5")
    assert r.returncode == 1 and "no script" in r.stderr, r
