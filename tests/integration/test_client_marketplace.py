"""The command-line client's marketplace commands (src/client/cmd_market.c):
list, show, install (--name, --disabled, --json), their help and usage
errors, and the API's refusals as exit 1 with its message."""
import json

from conftest import call, make_token, unique
from test_client import cli, client_built, home  # noqa: F401 (fixtures)


def test_list_shows_every_item_and_its_installs(home):
    name = unique("cli-seq")
    s = call("POST", "/api/v1/marketplace/sequence-check/install", {"name": name}).json
    p = cli("marketplace", "list", home=home)
    assert p.returncode == 0, p
    lines = p.stdout.decode().splitlines()
    assert lines[0].split() == ["NAME", "TYPE", "INSTALLED", "AS", "NEEDS", "TITLE"], lines[0]
    rows = {line.split()[0]: line for line in lines[1:]}
    assert set(rows) == {"color-correct", "watermark", "extract-frames", "sequence-check",
                         "frame-stats"}, rows
    assert rows["frame-stats"].split()[1] == "binary"
    assert name in rows["sequence-check"], rows["sequence-check"]
    assert "ffmpeg, ffprobe" in rows["watermark"] and "missing" not in rows["watermark"]
    p = cli("marketplace", "list", "--json", home=home)
    items = {i["name"]: i for i in json.loads(p.stdout)["items"]}
    assert items["sequence-check"]["installed_script_id"] == s["id"]
    # A viewer may list.
    p = cli("marketplace", "list", home=home, SCRIPTORCH_TOKEN=make_token("viewer"))
    assert p.returncode == 0, p
    call("DELETE", f"/api/v1/admin/scripts/{s['id']}")


def test_show_prints_the_item_and_its_docs(home):
    p = cli("marketplace", "show", "color-correct", home=home)
    assert p.returncode == 0, p
    out = p.stdout.decode()
    assert out.startswith("name:       color-correct\ntype:       shell\nneeds:      ffmpeg\n"), out
    assert "# Color correct with a 3D LUT" in out and "| `interpolation` |" in out, out
    p = cli("marketplace", "show", "frame-stats", "--json", home=home)
    assert json.loads(p.stdout)["type"] == "binary"
    p = cli("marketplace", "show", "nope", home=home)
    assert p.returncode == 1 and b"no marketplace item \"nope\"" in p.stderr, p


def test_install_with_a_name_disabled_and_its_refusals(home):
    name = unique("cli-wm")
    p = cli("marketplace", "install", "watermark", "--name", name, "--disabled", home=home)
    assert p.returncode == 0, p
    s = call("GET", f"/api/v1/admin/scripts?q={name}").json["scripts"][0]
    assert s["name"] == name and s["enabled"] is False, s
    assert p.stdout.decode() == (f'installed "watermark" as script "{name}" (id {s["id"]}, disabled): '
                                 f'{s["path"]}\n'), p
    # The name is taken: the API's 409, exit 1 with its message.
    p = cli("marketplace", "install", "watermark", "--name", name, home=home)
    assert p.returncode == 1 and p.stderr.endswith(b"(conflict)\n") and name.encode() in p.stderr, p
    p = cli("marketplace", "install", "no-such-item", home=home)
    assert p.returncode == 1 and p.stderr.endswith(b"(not_found)\n"), p
    p = cli("marketplace", "install", "watermark", "--name", unique("x"),
            home=home, SCRIPTORCH_TOKEN=make_token("operator"))
    assert p.returncode == 1 and p.stderr.endswith(b"(forbidden)\n"), p
    other = unique("cli-fs")
    p = cli("marketplace", "install", "frame-stats", "--name", other, "--json", home=home)
    assert p.returncode == 0, p
    made = json.loads(p.stdout)
    assert made["name"] == other and made["type"] == "binary" and made["enabled"] is True, made
    for sid in (s["id"], made["id"]):
        call("DELETE", f"/api/v1/admin/scripts/{sid}")


def test_help_and_usage_errors(home):
    for sub in ("list", "show", "install"):
        p = cli("marketplace", sub, "--help", home=home)
        assert p.returncode == 0 and p.stdout.startswith(f"Usage: scriptorch marketplace {sub}".encode()), p
        p = cli("help", "marketplace", sub, home=home)
        assert p.returncode == 0 and p.stdout.startswith(f"Usage: scriptorch marketplace {sub}".encode()), p
    p = cli("marketplace", "--help", home=home)
    assert p.returncode == 0 and p.stdout.count(b"Usage: scriptorch marketplace ") == 3, p
    p = cli("--help", home=home)
    assert b"marketplace list|show NAME|install NAME" in p.stdout, p
    for args in (["marketplace"], ["marketplace", "frob"], ["marketplace", "install"],
                 ["marketplace", "install", "a", "b"], ["marketplace", "list", "--name", "x"],
                 ["marketplace", "show"], ["scripts", "--disabled"]):
        p = cli(*args, home=home, SCRIPTORCH_URL=None)
        assert p.returncode == 64, (args, p)
    p = cli("marketplace", "frob", home=home)
    assert b'unknown command "marketplace frob"' in p.stderr, p
