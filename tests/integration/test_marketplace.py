"""The marketplace (issue 19; docs/api.md, Marketplace): the ready-made
scripts the stack offers from its marketplace_dir (dev/lib.sh installs them
there as `make install` does), their documentation, and each installed
through the API and run on real clips that ffmpeg makes here (testsrc,
color, sine: small and short), its outputs checked with ffprobe and, where
a LUT or a watermark should change them, by their pixels. Bad parameters
end the run failed with stderr saying why."""
import json
import os
import re
import shutil
import stat
import subprocess
import uuid

import pytest
from jsonschema import Draft202012Validator

from conftest import (REPO, SCRIPT_ROOT, STATE, assert_error, call, make_token, reload_daemon, unique,
                      shared_dir, wait_for)

ITEMS = {"color-correct": "shell", "watermark": "shell", "extract-frames": "shell",
         "sequence-check": "python", "frame-stats": "binary"}
W, H = 160, 120
CONF = os.path.join(STATE, "scriptorch.conf")


def ff(*args):
    subprocess.run(["ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "error", "-y", *args],
                   check=True, timeout=120)


def probe(path):
    out = subprocess.run(["ffprobe", "-v", "error", "-show_streams", "-of", "json", path],
                         check=True, capture_output=True, text=True, timeout=60).stdout
    return json.loads(out)["streams"]


def video_stream(path):
    return next(s for s in probe(path) if s["codec_type"] == "video")


def frame_rgb(path, n=0):
    """Frame n of a video (or an image) as (width, height, RGB bytes), read
    as BT.709 video."""
    s = video_stream(path)
    raw = subprocess.run(["ffmpeg", "-nostdin", "-loglevel", "error", "-i", path, "-vf",
                          f"select=eq(n\\,{n}),scale=in_color_matrix=bt709:in_range=tv,format=rgb24",
                          "-frames:v", "1", "-f", "rawvideo", "-"],
                         check=True, capture_output=True, timeout=60).stdout
    assert len(raw) == s["width"] * s["height"] * 3, (path, len(raw))
    return s["width"], s["height"], raw


def mean_rgb(frame, box=None):
    """Mean R, G, B of a frame, or of box (x0, y0, x1, y1) in it."""
    w, h, raw = frame
    x0, y0, x1, y1 = box or (0, 0, w, h)
    sums, n = [0, 0, 0], 0
    for y in range(y0, y1):
        row = raw[(y * w + x0) * 3:(y * w + x1) * 3]
        for c in range(3):
            sums[c] += sum(row[c::3])
        n += x1 - x0
    return [v / n for v in sums]


# ---- the stack's media: clips ffmpeg makes, a directory runs may write ----

@pytest.fixture(scope="module")
def media():
    """A directory every run may read and write (shared_dir: outside /tmp,
    which is private to each run), with the test clips: where a studio's
    media would be."""
    d = shared_dir("media-")
    os.chmod(d, 0o1777)
    ff("-f", "lavfi", "-i", f"testsrc=size={W}x{H}:rate=10:duration=1.5",
       "-f", "lavfi", "-i", "sine=frequency=440:duration=1.5",
       "-c:v", "libx264", "-pix_fmt", "yuv420p", "-c:a", "aac", "-shortest", f"{d}/clip.mp4")
    ff("-f", "lavfi", "-i", f"color=c=0x808080:size={W}x{H}:rate=10:duration=1",
       "-c:v", "libx264", "-pix_fmt", "yuv420p", "-color_primaries", "bt709", "-color_trc", "bt709",
       "-colorspace", "bt709", f"{d}/gray.mp4")
    ff("-f", "lavfi", "-i", f"color=c=black:size={W}x{H}:rate=10:duration=1",
       "-c:v", "libx264", "-pix_fmt", "yuv420p", f"{d}/black.mp4")
    ff("-f", "lavfi", "-i", f"color=c=black:size={W}x{H}:rate=10:duration=0.5",
       "-f", "lavfi", "-i", f"testsrc=size={W}x{H}:rate=10:duration=1",
       "-filter_complex", "[0][1]concat=n=2:v=1:a=0", "-c:v", "libx264", "-pix_fmt", "yuv420p",
       f"{d}/blackstart.mp4")
    ff("-f", "lavfi", "-i", "color=c=red:size=40x40", "-frames:v", "1", f"{d}/logo.png")
    for f in os.listdir(d):
        os.chmod(os.path.join(d, f), 0o644)
    yield d
    shutil.rmtree(d, ignore_errors=True)


def outdir(media, name):
    d = os.path.join(media, name + "-" + uuid.uuid4().hex[:6])
    os.mkdir(d)
    os.chmod(d, 0o1777)
    return d


def listing(token=None):
    r = call("GET", "/api/v1/marketplace", **({"token": token} if token else {}))
    assert r.status == 200, r
    return {i["name"]: i for i in r.json["items"]}


@pytest.fixture(scope="module")
def installed():
    """Each item installed once through the API, under a name of its own."""
    out = {}
    for item in ITEMS:
        name = unique(item)
        r = call("POST", f"/api/v1/marketplace/{item}/install", {"name": name})
        assert r.status == 201, r
        out[item] = r.json
    yield out
    for s in out.values():
        call("DELETE", f"/api/v1/admin/scripts/{s['id']}")


def run(script, input_, wait=240):
    r = call("POST", f"/api/v1/scripts/{script['id']}/executions?wait={wait}", {"input": input_},
             timeout=wait + 30)
    assert r.status == 200, r
    return r.json


def succeeded(script, input_):
    e = run(script, input_)
    assert e["status"] == "succeeded", (e["status"], e["error"], e["stderr"])
    return e


def failed(script, input_, words):
    e = run(script, input_)
    assert e["status"] == "failed", (e["status"], e["stdout"], e["stderr"])
    assert e["exit_code"] == 1, e
    assert re.search(words, e["stderr"]), e["stderr"]
    return e


# ---- the list and the documentation ---------------------------------------

def test_the_list_describes_every_item(viewer):
    items = listing(viewer)
    assert {n: i["type"] for n, i in items.items()} == ITEMS
    assert set(ITEMS.values()) == {"shell", "python", "binary"}, "all three runtimes"
    for name, it in items.items():
        assert it["title"] and it["summary"], it
        assert it["docs"].startswith("# "), name
        assert re.fullmatch(r"sha256:[0-9a-f]{64}", it["version"]), it
        assert it["tools_missing"] == [], f"{name}: this stack has ffmpeg ({it['tools_missing']})"
        assert it["inputs"]["type"] == "object" and it["inputs"]["properties"], it
        assert it["outputs"] == {"stdout": "json"}, it
        ids = [s["id"] for s in it["installed_scripts"]]
        assert it["installed_script_id"] == (ids[-1] if ids else None), it
        # The same docs as in the tree.
        with open(os.path.join(REPO, "marketplace", name, "README.md"), encoding="utf-8") as f:
            assert it["docs"] == f.read(), name
    assert "ffmpeg" in items["color-correct"]["tools"]
    assert items["sequence-check"]["tools"] == []


def test_the_docs_of_every_item_name_every_parameter():
    """Each parameter of an item's inputs schema has a title and a
    description, a default unless it is required, and appears in the
    item's README.md as `name` in its parameter table, and no parameter is
    documented that the schema lacks."""
    for name, it in listing().items():
        props = it["inputs"]["properties"]
        required = set(it["inputs"].get("required", []))
        table = set(re.findall(r"^\| `([a-z_]+)` \|", it["docs"], re.M))
        assert table == set(props), f"{name}: documented {sorted(table)}, schema {sorted(props)}"
        for p, s in props.items():
            assert s.get("title") and s.get("description"), (name, p)
            assert p in required or "default" in s, (name, p)
            assert f"`{p}`" in it["docs"], (name, p)
        # Every JSON block of the docs is JSON; those made of parameters
        # only, every required one among them, are input examples, and
        # the schema accepts them; there is at least one.
        inputs = 0
        for block in re.findall(r"```json\n(.*?)```", it["docs"], re.S):
            obj = json.loads(block)
            if required <= set(obj) <= set(props):
                Draft202012Validator(it["inputs"]).validate(obj)
                inputs += 1
        assert inputs >= 1, f"{name}: no example input"


# ---- install: roles, refusals, what lands where --------------------------

def test_install_roles_and_refusals(operator, viewer):
    assert_error(call("POST", "/api/v1/marketplace/sequence-check/install", {}, token=operator), 403,
                 "forbidden")
    assert_error(call("POST", "/api/v1/marketplace/sequence-check/install", {}, token=viewer), 403,
                 "forbidden")
    assert_error(call("POST", "/api/v1/marketplace/no-such-item/install", {}), 404, "not_found")
    assert_error(call("POST", "/api/v1/marketplace/..%2Fetc/install", {}), 404, "not_found")
    assert_error(call("POST", "/api/v1/marketplace/sequence-check/install", {"nmae": "x"}), 422,
                 "validation_failed", "nmae")
    assert_error(call("POST", "/api/v1/marketplace/sequence-check/install", {"name": "Bad Name"}), 422,
                 "validation_failed", "name")
    assert_error(call("POST", "/api/v1/marketplace/sequence-check/install", {"enabled": "yes"}), 422,
                 "validation_failed", "enabled")
    assert_error(call("POST", "/api/v1/marketplace/sequence-check/install", raw=b"[1]",
                      headers={"Content-Type": "application/json"}), 400, "bad_json")
    assert_error(call("GET", "/api/v1/marketplace/sequence-check/install"), 405, "method_not_allowed")


def test_install_copies_the_item_and_registers_it():
    name = unique("cc")
    r = call("POST", "/api/v1/marketplace/color-correct/install", {"name": name, "enabled": False})
    assert r.status == 201, r
    s = r.json
    assert r.headers["Location"] == f"/api/v1/admin/scripts/{s['id']}"
    item = listing()["color-correct"]
    home = os.path.join(SCRIPT_ROOT, "marketplace", name)
    assert s["name"] == name and s["type"] == "shell" and s["enabled"] is False, s
    assert s["path"] == os.path.join(home, "color-correct.sh"), s
    assert s["inputs"] == item["inputs"] and s["args"] == item["args"], s
    assert s["input_mode"] == "env" and s["outputs"] == {"stdout": "json"}, s
    assert s["limits"] == {"memory_mb": 2048} and s["timeout_s"] == 3600, s
    assert s["version"] == item["version"], "the copy is the item: the same version"
    # Every file, root's, read-only, executables 0755.
    for rel in ["color-correct.sh", "item.json", "README.md", "luts/warm.cube", "luts/identity.cube"]:
        st = os.stat(os.path.join(home, rel))
        assert st.st_uid == 0 and stat.S_IMODE(st.st_mode) == (0o755 if rel.endswith(".sh") else 0o644), \
            (rel, oct(st.st_mode))
    assert stat.S_IMODE(os.stat(home).st_mode) == 0o755
    assert sorted(os.listdir(os.path.join(home, "luts"))) == \
        sorted(os.listdir(os.path.join(REPO, "marketplace", "color-correct", "luts")))
    # Installed: the listing says so; the name is taken.
    listed = listing()["color-correct"]
    assert listed["installed_script_id"] == s["id"], listed
    mine = [i for i in listed["installed_scripts"] if i["id"] == s["id"]]
    assert mine and mine[0]["name"] == name and mine[0]["item_version"] == item["version"], listed
    err = assert_error(call("POST", "/api/v1/marketplace/color-correct/install", {"name": name}), 409,
                       "conflict", "name")
    assert name in err["message"]
    # A disabled install is a script like any other.
    assert_error(call("POST", f"/api/v1/scripts/{s['id']}/executions", {"input": {}}), 409, "conflict")
    # Deleted: no longer listed as installed; its files stay; a new install
    # of the same name goes beside them, never over them.
    assert call("DELETE", f"/api/v1/admin/scripts/{s['id']}").status == 204
    assert s["id"] not in [i["id"] for i in listing()["color-correct"]["installed_scripts"]]
    assert os.path.isfile(os.path.join(home, "color-correct.sh"))
    with open(os.path.join(home, "luts", "warm.cube"), "a") as f:
        f.write("# a change of the admin's, kept\n")
    again = call("POST", "/api/v1/marketplace/color-correct/install", {"name": name})
    assert again.status == 201, again
    assert again.json["path"] == os.path.join(home + "-2", "color-correct.sh"), again.json
    assert open(os.path.join(home, "luts", "warm.cube")).read().endswith("kept\n")
    call("DELETE", f"/api/v1/admin/scripts/{again.json['id']}")


def test_install_without_a_body_takes_the_item_name():
    before = listing()["sequence-check"]
    taken = any(s["name"] == "sequence-check" for s in before["installed_scripts"])
    r = call("POST", "/api/v1/marketplace/sequence-check/install")
    if taken:
        assert_error(r, 409, "conflict")
        return
    assert r.status == 201, r
    assert r.json["name"] == "sequence-check" and r.json["type"] == "python", r.json
    assert "venv" in r.json, r.json
    call("DELETE", f"/api/v1/admin/scripts/{r.json['id']}")


# ---- each item, run ---------------------------------------------------------

def test_color_correct(installed, media):
    s = installed["color-correct"]
    gray = f"{media}/gray.mp4"
    same = f"{media}/cc-identity.mp4"
    e = succeeded(s, {"input": gray, "output": same})
    assert e["output"] == {"output": same, "lut": "identity", "interpolation": "tetrahedral",
                           "exposure": 0, "saturation": 1, "codec": "h264"}, e["output"]
    assert e["input"]["lut"] == "identity", "the defaults are filled into the stored input"
    v = video_stream(same)
    assert (v["codec_name"], v["width"], v["height"]) == ("h264", W, H), v
    assert (v["color_space"], v["color_primaries"], v["color_transfer"]) == ("bt709",) * 3, v
    assert [st["codec_type"] for st in probe(same)] == ["video"]
    src = mean_rgb(frame_rgb(gray))
    ident = mean_rgb(frame_rgb(same))
    assert all(abs(a - b) < 3 for a, b in zip(src, ident)), (src, ident)

    warm = f"{media}/cc-warm.mp4"
    succeeded(s, {"input": gray, "output": warm, "lut": "warm", "interpolation": "trilinear"})
    r, g, b = mean_rgb(frame_rgb(warm))
    assert r > src[0] + 6 and b < src[2] - 8 and abs(g - src[1]) < 4, ((r, g, b), src)

    mono = f"{media}/cc-mono.mov"
    e = succeeded(s, {"input": f"{media}/clip.mp4", "output": mono, "lut": "mono", "codec": "prores",
                      "exposure": 0.5})
    v = video_stream(mono)
    assert (v["codec_name"], v["pix_fmt"]) == ("prores", "yuv422p10le"), v
    assert (v["color_space"], v["color_primaries"], v["color_transfer"]) == ("bt709",) * 3, v
    assert [st["codec_type"] for st in probe(mono)] == ["video", "audio"], "the audio is copied"
    _, _, raw = frame_rgb(mono)
    spread = max(max(raw[i:i + 3]) - min(raw[i:i + 3]) for i in range(0, len(raw), 3 * 7))
    assert spread <= 6, f"mono leaves no colour (a channel spread of {spread})"

    own = f"{media}/own.cube"
    with open(os.path.join(REPO, "marketplace", "color-correct", "luts", "cool.cube")) as f, \
            open(own, "w") as o:
        o.write(f.read())
    os.chmod(own, 0o644)
    cool = f"{media}/cc-own.mp4"
    succeeded(s, {"input": gray, "output": cool, "lut": own, "saturation": 1.5})
    r, g, b = mean_rgb(frame_rgb(cool))
    assert b > src[2] + 6 and r < src[0] - 6, ((r, g, b), src)

    # Bad parameters: failed, stderr says why, nothing written.
    bad = f"{media}/cc-bad.mp4"
    failed(s, {"input": gray, "output": bad, "lut": "teal"},
           r'unknown LUT "teal": give one of: bleach-bypass cool identity mono warm')
    failed(s, {"input": f"{media}/missing.mp4", "output": bad}, r'input ".*missing.mp4" does not exist')
    failed(s, {"input": gray, "output": bad, "lut": f"{media}/missing.cube"},
           r'LUT file ".*missing.cube" does not exist')
    failed(s, {"input": gray, "output": same}, r'output ".*" exists: set overwrite to true')
    failed(s, {"input": gray, "output": "relative.mp4"}, r"output must be an absolute path")
    assert not os.path.exists(bad)
    # The schema refuses what it can before anything runs.
    assert_error(call("POST", f"/api/v1/scripts/{s['id']}/executions",
                      {"input": {"input": gray, "output": bad, "interpolation": "cubic"}}),
                 422, "validation_failed", "input.interpolation")
    assert_error(call("POST", f"/api/v1/scripts/{s['id']}/executions", {"input": {"input": gray}}),
                 422, "validation_failed", "input.output")


def test_watermark(installed, media):
    s = installed["watermark"]
    black = f"{media}/black.mp4"
    out = f"{media}/wm-logo.mp4"
    e = succeeded(s, {"input": black, "output": out, "image": f"{media}/logo.png", "opacity": 1,
                      "scale": 0.25, "margin": 8})
    assert e["output"]["width"] == W and e["output"]["image"] == f"{media}/logo.png", e["output"]
    v = video_stream(out)
    assert (v["codec_name"], v["width"], v["height"]) == ("h264", W, H), v
    f = frame_rgb(out)
    # The logo is W/4 = 40 px wide, 8 px from the bottom-right corner.
    r, g, b = mean_rgb(f, (W - 8 - 36, H - 8 - 36, W - 8 - 4, H - 8 - 4))
    assert r > 180 and g < 60 and b < 60, ("the logo's red at the bottom right", r, g, b)
    assert max(mean_rgb(f, (0, 0, 40, 40))) < 20, "the top left stays black"
    assert max(mean_rgb(f, (0, 0, W, 20))) < 20

    half = f"{media}/wm-half.mp4"
    succeeded(s, {"input": black, "output": half, "image": f"{media}/logo.png", "opacity": 0.5,
                  "scale": 0.25, "margin": 8, "position": "top-left"})
    r, _, _ = mean_rgb(frame_rgb(half), (12, 12, 40, 40))
    assert 70 < r < 170, f"half opaque red on black is about half red ({r})"

    text = f"{media}/wm-text.mp4"
    succeeded(s, {"input": black, "output": text, "text": "50% off: it's [x]", "opacity": 1,
                  "position": "top-left", "margin": 4, "font_size": 24})
    f = frame_rgb(text)
    assert max(mean_rgb(f, (0, 0, W // 2, 32))) > 25, "white text at the top left"
    assert max(mean_rgb(f, (0, H - 40, W, H))) < 10, "nothing at the bottom"

    tc = f"{media}/wm-tc.mp4"
    succeeded(s, {"input": black, "output": tc, "timecode": True, "timecode_start": "01:00:00:00",
                  "timecode_position": "bottom-left", "font_size": 20, "margin": 4})
    top = mean_rgb(frame_rgb(tc, 0), (0, 0, W, 40))
    box0 = frame_rgb(tc, 0)[2]
    box9 = frame_rgb(tc, 9)[2]
    assert max(top) < 10, "the timecode is at the bottom"
    assert max(mean_rgb(frame_rgb(tc, 0), (0, H - 32, W // 2, H))) > 15, "a timecode at the bottom left"
    assert box0 != box9, "the timecode runs: frame 9 differs from frame 0"

    bad = f"{media}/wm-bad.mp4"
    failed(s, {"input": black, "output": bad, "image": f"{media}/nope.png"}, r'image ".*nope.png" does not exist')
    failed(s, {"input": black, "output": bad}, r"nothing to put on the video")
    failed(s, {"input": black, "output": bad, "timecode": True, "timecode_start": "1:00:00"},
           r"timecode_start must be HH:MM:SS:FF")
    failed(s, {"input": black, "output": bad, "text": "x", "font_color": "red;drawbox"},
           r"font_color must be a colour name")
    assert not os.path.exists(bad)


def test_extract_frames_then_check_the_sequence(installed, media):
    s = installed["extract-frames"]
    d = outdir(media, "frames")
    e = succeeded(s, {"input": f"{media}/clip.mp4", "output_dir": d, "every": 3, "start_number": 101,
                      "digits": 4})
    out = e["output"]
    assert out["count"] == 5 and out["mode"] == "every" and out["pattern"] == "frame_%04d.png", out
    assert [f["number"] for f in out["frames"]] == [101, 102, 103, 104, 105], out
    assert [f["file"] for f in out["frames"]] == [f"{d}/frame_{n:04d}.png" for n in range(101, 106)]
    assert sorted(os.listdir(d)) == [f"frame_{n:04d}.png" for n in range(101, 106)]
    v = video_stream(f"{d}/frame_0101.png")
    assert (v["codec_name"], v["width"], v["height"]) == ("png", W, H), v
    # testsrc moves: frames 0 and 3 differ.
    assert frame_rgb(f"{d}/frame_0101.png")[2] != frame_rgb(f"{d}/frame_0102.png")[2]

    j = outdir(media, "jpg")
    e = succeeded(s, {"input": f"{media}/clip.mp4", "output_dir": j, "fps": 2, "start": 0.5,
                      "duration": 1, "format": "jpg", "prefix": "shot.", "width": 80})
    assert e["output"]["mode"] == "fps" and e["output"]["count"] in (2, 3), e["output"]
    assert sorted(os.listdir(j)) == [f"shot.{n:06d}.jpg" for n in range(1, e["output"]["count"] + 1)]
    v = video_stream(e["output"]["frames"][0]["file"])
    assert (v["codec_name"], v["width"], v["height"]) == ("mjpeg", 80, 60), v

    # The same again: refused, nothing touched; with overwrite, done.
    before = {f: os.stat(os.path.join(d, f)).st_mtime_ns for f in os.listdir(d)}
    failed(s, {"input": f"{media}/clip.mp4", "output_dir": d, "every": 3, "start_number": 101,
               "digits": 4}, r'frame_0101.png" exists: set overwrite to true')
    assert {f: os.stat(os.path.join(d, f)).st_mtime_ns for f in os.listdir(d)} == before
    failed(s, {"input": f"{media}/clip.mp4", "output_dir": d, "fps": 1, "every": 2},
           r"give fps or every, not both")
    failed(s, {"input": f"{media}/clip.mp4", "output_dir": f"{media}/no-dir"},
           r'output_dir ".*no-dir" does not exist')
    failed(s, {"input": f"{media}/clip.mp4", "output_dir": d, "prefix": "../x"},
           r"prefix may hold only")
    failed(s, {"input": f"{media}/clip.mp4", "output_dir": d, "start": 30, "prefix": "late"},
           r"no frame was extracted")

    # The sequence checker on what was extracted: clean first, then with
    # a gap, a duplicate, a frame of another size and a broken one.
    c = installed["sequence-check"]
    e = succeeded(c, {"directory": d})
    rep = e["output"]
    assert rep["ok"] is True and rep["problems"] == 0, rep
    assert (rep["pattern"], rep["first"], rep["last"], rep["frames"]) == ("frame_%04d.png", 101, 105, 5), rep
    assert rep["resolution"] == {"width": W, "height": H}, rep
    os.remove(f"{d}/frame_0103.png")
    shutil.copy(f"{d}/frame_0101.png", f"{d}/frame_0106.png")
    ff("-f", "lavfi", "-i", "color=c=blue:size=32x24", "-frames:v", "1", f"{d}/frame_0107.png")
    with open(f"{d}/frame_0108.png", "wb") as f:
        f.write(b"not a png")
    for n in (106, 107, 108):
        os.chmod(f"{d}/frame_{n:04d}.png", 0o644)
    e = succeeded(c, {"directory": d, "pattern": "frame_%04d.png", "last": 110})
    rep = e["output"]
    assert rep["missing"] == [{"start": 103, "end": 103, "count": 1}, {"start": 109, "end": 110, "count": 2}], rep
    assert [x["frames"] for x in rep["duplicates"]] == [[101, 106]], rep
    assert [(m["frame"], m["width"], m["height"]) for m in rep["mismatched"]] == [(107, 32, 24)], rep
    assert [u["frame"] for u in rep["unreadable"]] == [108] and "PNG" in rep["unreadable"][0]["error"], rep
    assert rep["ok"] is False and rep["problems"] == 6, rep
    assert "6 problem(s)" in e["stderr"], e["stderr"]
    e = failed(c, {"directory": d, "fail_on_problems": True}, r"4 problem\(s\) in frame_%04d.png")
    assert e["output"]["problems"] == 4, "the report is printed on a failure too"
    failed(c, {"directory": f"{media}/nowhere"}, r'directory ".*nowhere" does not exist')
    failed(c, {"directory": d, "pattern": "frame_%d.exr"}, r'no file in ".*" matches the pattern')
    failed(c, {"directory": d, "pattern": "no-number.png"}, r"pattern must be a file name with one frame number")


def test_frame_stats(installed, media):
    s = installed["frame-stats"]
    assert s["type"] == "binary" and os.access(s["path"], os.X_OK), s
    e = succeeded(s, {"input": f"{media}/blackstart.mp4"})
    out = e["output"]
    assert (out["frames"], out["width"], out["height"], out["frame_rate"]) == (15, W, H, 10), out
    assert out["black"]["runs"][0]["start"] == 0 and out["black"]["runs"][0]["end"] == 4, out["black"]
    assert out["black"]["frames"] == 5 and out["luma"]["min"] < 2 and out["luma"]["max"] > 100, out
    assert len(out["luma"]["histogram"]) == 16 and sum(out["luma"]["histogram"]) == 15 * W * H, out
    assert e["input"]["bins"] == 16, "the defaults are filled, and reach the args"
    e = succeeded(s, {"input": f"{media}/black.mp4", "bins": 4, "max_frames": 3})
    out = e["output"]
    assert out["frames"] == 3 and out["luma"]["histogram"][1:] == [0, 0, 0], out
    assert out["black"]["frames"] == 3 and out["frozen"]["frames"] == 2, out
    failed(s, {"input": f"{media}/missing.mp4"}, r'frame-stats: input ".*missing.mp4": No such file')
    notvideo = f"{media}/notes.txt"
    with open(notvideo, "w") as f:
        f.write("not a video\n")
    os.chmod(notvideo, 0o644)
    failed(s, {"input": notvideo}, r'ffmpeg could not decode ".*notes.txt"')


# ---- a node without the tool, and a broken item ----------------------------

def test_an_item_whose_tool_is_missing_is_refused_with_the_reason():
    """A marketplace_dir of this test's: an item that needs a tool no node
    has is listed with it under tools_missing and refused at install with a
    message naming it; a broken item is left out of the list."""
    original = open(CONF).read()
    market = os.path.join(os.path.dirname(SCRIPT_ROOT), "market-" + uuid.uuid4().hex[:8])
    live = re.search(r"(?m)^marketplace_dir = (.*)$", original).group(1)
    shutil.copytree(os.path.join(live, "sequence-check"), os.path.join(market, "needs-tool"))
    meta_path = os.path.join(market, "needs-tool", "item.json")
    meta = json.load(open(meta_path))
    meta["tools"] = ["scriptorch-no-such-tool"]
    json.dump(meta, open(meta_path, "w"))
    shutil.copytree(os.path.join(live, "sequence-check"), os.path.join(market, "broken"))
    with open(os.path.join(market, "broken", "README.md"), "w") as f:
        f.write("# Nothing about the parameters\n")
    shutil.copytree(os.path.join(live, "color-correct"), os.path.join(market, "fits"))
    # This node's maxima, below the item's timeout (3600) and memory (2048).
    text = re.sub(r"(?m)^marketplace_dir = .*$", f"marketplace_dir = {market}", original)
    text = re.sub(r"(?m)^max_timeout_s = .*$", "max_timeout_s = 600", text)
    assert "[limits]" not in text
    text += "\n[limits]\nmemory_mb = 512\nmemory_mb_max = 1024\n"
    try:
        with open(CONF, "w") as f:
            f.write(text)
        reload_daemon()
        items = listing()
        assert set(items) == {"needs-tool", "fits"}, "the broken item is left out"
        fits = call("POST", "/api/v1/marketplace/fits/install", {"name": unique("fits")})
        assert fits.status == 201, fits
        assert fits.json["timeout_s"] == 600 and fits.json["limits"] == {"memory_mb": 1024}, \
            "the item's timeout and limits are lowered to this node's maxima"
        call("DELETE", f"/api/v1/admin/scripts/{fits.json['id']}")
        assert items["needs-tool"]["tools_missing"] == ["scriptorch-no-such-tool"], items
        err = assert_error(call("POST", "/api/v1/marketplace/needs-tool/install", {"name": unique("nt")}),
                           422, "validation_failed")
        assert "needs scriptorch-no-such-tool, which this node does not have" in err["message"], err
        err = assert_error(call("POST", "/api/v1/marketplace/broken/install", {}), 404, "not_found")
        assert "README.md does not describe the parameter(s)" in err["message"], err
        home = os.path.join(SCRIPT_ROOT, "marketplace")
        assert not [d for d in (os.listdir(home) if os.path.isdir(home) else [])
                    if d.startswith("nt-") or d.startswith(".install-")], "nothing was copied"
    finally:
        with open(CONF, "w") as f:
            f.write(original)
        reload_daemon()
        shutil.rmtree(market, ignore_errors=True)
    assert set(listing()) == set(ITEMS)
