"""The admin CLI as a whole: --help of every command and group (usage on
stdout, exit 0), unknown options (usage on stderr, exit 2), the man page
listing every command, `secret-key create`, and one audit actor for every
command that writes. Runs the built scriptorchd (SCRIPTORCH_BUILD, set by
dev/test); the commands that need the database use the stack's config.
"""
import os
import pwd
import re
import stat
import subprocess
import tempfile

from conftest import REPO, STATE, call, sql, unique

BUILD = os.environ.get("SCRIPTORCH_BUILD", "")
CONF = os.path.join(STATE, "scriptorch.conf")


def scriptorchd(*args, conf=CONF, umask=None):
    """Runs scriptorchd with `-c conf` (none when conf is None)."""
    assert BUILD, "SCRIPTORCH_BUILD (set by dev/test) names the build dir of scriptorchd"
    argv = [os.path.join(BUILD, "src", "scriptorchd")]
    if conf is not None:
        argv += ["-c", conf]
    return subprocess.run(argv + list(args), capture_output=True, text=True, timeout=60,
                          preexec_fn=(lambda: os.umask(umask)) if umask is not None else None)


def commands():
    """The commands `scriptorchd --help` lists, as their words ("token create")."""
    r = scriptorchd("--help", conf=None)
    assert r.returncode == 0, r
    listed = r.stdout.split("commands:\n", 1)[1]
    words = []
    for line in listed.splitlines():
        m = re.match(r"  ([a-z][a-z-]*)(?: ([a-z][a-z-]*))?(?:\s|$)", line)
        if m:
            words.append(" ".join(w for w in m.groups() if w))
    return words


def test_help_needs_no_config_and_lists_every_command():
    missing = os.path.join(STATE, unique("no-such") + ".conf")
    for flag in ("--help", "-h"):
        r = scriptorchd(flag, conf=missing)
        assert r.returncode == 0 and r.stderr == "", r
        assert r.stdout.startswith("usage: scriptorchd [-c FILE] [-d]"), r.stdout
    assert commands() == [
        "run", "migrate", "check-config", "token create", "token list", "token revoke",
        "script add", "script update", "script list", "script show", "script versions", "script disable",
        "script enable", "script rm", "venv list", "venv show", "venv rm", "venv prune",
        "secret-key create"]


def test_every_command_and_group_answers_help_on_stdout():
    missing = os.path.join(STATE, unique("no-such") + ".conf")
    words = commands()
    for cmd in words:
        for flag in ("--help", "-h"):
            r = scriptorchd(*cmd.split(), flag, conf=missing)
            assert r.returncode == 0 and r.stderr == "", (cmd, r)
            assert r.stdout.startswith("usage: scriptorchd [-c FILE]"), (cmd, r.stdout)
            assert f" {cmd}" in r.stdout.splitlines()[0], (cmd, r.stdout)
    for group in sorted({w.split()[0] for w in words if " " in w}):
        r = scriptorchd(group, "--help", conf=missing)
        assert r.returncode == 0 and r.stderr == "", (group, r)
        for cmd in (w for w in words if w.startswith(group + " ")):
            assert f"  {cmd}" in r.stdout, (group, cmd, r.stdout)
    r = scriptorchd("token", "--help", conf=None)
    assert r.returncode == 0 and "token create --name NAME --role ROLE" in r.stdout
    assert "token list" in r.stdout and "token revoke ID" in r.stdout
    assert "script add" not in r.stdout
    r = scriptorchd("script", "add", "--help", conf=None)
    assert r.returncode == 0 and r.stdout.startswith(
        "usage: scriptorchd [-c FILE] script add --name NAME --type TYPE --path PATH"), r
    fields = ("--description", "--enabled", "--args", "--input-mode", "--inputs", "--outputs", "--env",
              "--secret-env NAME", "--secret-env-file NAME=FILE", "--requirements-file", "--timeout",
              "--max-concurrency", "--memory-mb", "--pids", "--cpu-cores", "--file-size-mb",
              "--output-cap-kb", "--network", "--node-labels", "--callback-url")
    for opt in fields:
        assert opt in r.stdout, (opt, r.stdout)
    assert "--reset" not in r.stdout
    r = scriptorchd("script", "update", "--help", conf=None)
    assert r.returncode == 0 and r.stdout.startswith(
        "usage: scriptorchd [-c FILE] script update ID|NAME [OPTION VALUE]..."), r
    for opt in ("--name", "--type", "--path", "--reset FIELD") + fields:
        assert opt in r.stdout, (opt, r.stdout)


def test_unknown_options_and_commands_are_usage_errors():
    for args in (["--bogus"], ["-x"], ["token", "create", "--bogus", "1"], ["token", "list", "--all"],
                 ["script", "add", "--name", "x", "--bogus", "1"], ["secret-key", "create", "--force"],
                 ["migrate", "--dirr", "/tmp"], ["venv", "show", "abc"], ["frobnicate"],
                 ["token"], ["token", "frobnicate"], ["run", "--port", "1"]):
        r = scriptorchd(*args)
        assert r.returncode == 2 and r.stdout == "", (args, r)
        assert "usage: scriptorchd" in r.stderr, (args, r.stderr)
    r = scriptorchd("token", "create", "--bogus", "1")
    assert 'unknown option "--bogus"' in r.stderr and "token create --name NAME" in r.stderr


def test_the_man_page_lists_every_command():
    with open(os.path.join(REPO, "man", "scriptorchd.8")) as f:
        text = f.read()
    # Plain words: no font escapes, "\-" as "-".
    text = re.sub(r"\\f[BIRP]", "", text).replace("\\-", "-")
    text = re.sub(r"^\.(?:B|BR|BI|RB|IR|I)\s+", "", text, flags=re.M)
    text = text.replace('"', " ")
    text = re.sub(r"[ \t]+", " ", text)
    sections = text.split("\n.SH ")
    synopsis = next(s for s in sections if s.startswith("SYNOPSIS"))
    described = next(s for s in sections if s.startswith("COMMANDS"))
    for cmd in commands():
        group, _, name = cmd.partition(" ")
        assert re.search(rf"\b{re.escape(group)}\b", synopsis), (cmd, "SYNOPSIS")
        if name:
            assert re.search(rf"\b{re.escape(name)}\b", synopsis), (cmd, "SYNOPSIS")
        # Every command has a tag of its own under COMMANDS.
        tags = re.findall(r"^\.TP\n(.*)$", described, flags=re.M)
        assert any(re.search(rf"(^|\W){re.escape(cmd)}(\W|$)", t) or
                   (name and re.search(rf"(^|\W){re.escape(group)}\W.*\b{re.escape(name)}\b", t))
                   for t in tags), (cmd, tags)
    assert "secret_key_file" in text


def test_secret_key_create_makes_a_0600_file_once():
    d = tempfile.mkdtemp(prefix="sto-key-", dir=STATE)
    path = os.path.join(d, "secret.key")
    # umask 0: the mode is the command's doing, not the caller's umask.
    r = scriptorchd("secret-key", "create", "--path", path, umask=0)
    assert r.returncode == 0 and r.stderr == "", r
    st = os.lstat(path)
    assert stat.S_ISREG(st.st_mode) and stat.S_IMODE(st.st_mode) == 0o600, oct(st.st_mode)
    with open(path) as f:
        key = f.read()
    assert re.fullmatch(r"[0-9a-f]{64}\n", key), key
    r = scriptorchd("secret-key", "create", "--path", path)
    assert r.returncode == 1 and "File exists" in r.stderr and path in r.stderr, r
    with open(path) as f:
        assert f.read() == key, "a second call leaves the key as it was"
    other = os.path.join(d, "other.key")
    assert scriptorchd("secret-key", "create", "--path", other).returncode == 0
    with open(other) as f:
        assert f.read() != key, "each key is new"


def test_every_write_names_the_same_cli_actor():
    actor = "cli:" + pwd.getpwuid(os.getuid()).pw_name
    name = unique("cli-actor")
    r = scriptorchd("token", "create", "--name", name, "--role", "viewer")
    assert r.returncode == 0 and r.stdout.startswith("sto_"), r
    tid = [t["id"] for t in call("GET", "/api/v1/admin/tokens").json["tokens"] if t["name"] == name]
    assert len(tid) == 1
    r = scriptorchd("token", "revoke", str(tid[0]))
    assert r.returncode == 0, r
    rows = sql(f"SELECT action, actor FROM audit_log WHERE object_type = 'token' "
               f"AND object_id = {tid[0]} ORDER BY id")
    assert [line.split("\t") for line in rows.splitlines()] == [
        ["token.create", actor], ["token.revoke", actor]], rows
    r = scriptorchd("token", "revoke", "12abc")
    assert r.returncode == 2 and "positive integer" in r.stderr, r
