"""sequence-check - a scriptorch marketplace item (README.md beside it).

Checks a directory of numbered image frames (frame_000001.png, ...):
missing frames (gaps), frames whose content is identical to another's,
frames whose resolution differs from the sequence's, and files that are
not readable images. Reads its parameters as a JSON object on stdin
(input_mode stdin) and prints one JSON report on stdout. Python's
standard library only: the image sizes are read from the files' headers
(PNG, JPEG, TIFF, DPX, OpenEXR, PNM), never by decoding the pixels.

Exit status: 0 with the report (also when it found problems, unless
fail_on_problems is true: then 1, the report still printed); 1 without a
report when the parameters are wrong, with the reason on stderr.
"""
import collections
import hashlib
import json
import os
import re
import struct
import sys

NAME = "sequence-check"


class Refused(Exception):
    """A parameter this run cannot work with; the message says which."""


# ---- image sizes from headers ---------------------------------------------

def _png(head, f):
    if head[:8] != b"\x89PNG\r\n\x1a\n" or head[12:16] != b"IHDR":
        raise ValueError("not a PNG file (no IHDR chunk)")
    return struct.unpack(">II", head[16:24])


def _jpeg(head, f):
    if head[:2] != b"\xff\xd8":
        raise ValueError("not a JPEG file")
    f.seek(2)
    while True:
        b = f.read(1)
        while b and b != b"\xff":
            b = f.read(1)
        while b == b"\xff":
            b = f.read(1)
        if not b:
            raise ValueError("JPEG without a frame header (SOF)")
        marker = b[0]
        if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7:
            continue
        size = f.read(2)
        if len(size) != 2:
            raise ValueError("JPEG cut within a segment")
        (length,) = struct.unpack(">H", size)
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
            sof = f.read(5)
            if len(sof) != 5:
                raise ValueError("JPEG cut within its frame header")
            height, width = struct.unpack(">HH", sof[1:5])
            return width, height
        f.seek(length - 2, os.SEEK_CUR)


def _tiff(head, f):
    order = {b"II": "<", b"MM": ">"}.get(head[:2])
    if order is None or struct.unpack(order + "H", head[2:4])[0] != 42:
        raise ValueError("not a TIFF file")
    (ifd,) = struct.unpack(order + "I", head[4:8])
    f.seek(ifd)
    (count,) = struct.unpack(order + "H", f.read(2))
    size = {}
    for _ in range(count):
        entry = f.read(12)
        if len(entry) != 12:
            break
        tag, typ, _n = struct.unpack(order + "HHI", entry[:8])
        if tag in (256, 257):
            fmt, raw = ("H", entry[8:10]) if typ == 3 else ("I", entry[8:12])
            size[tag] = struct.unpack(order + fmt, raw)[0]
    if 256 not in size or 257 not in size:
        raise ValueError("TIFF without ImageWidth and ImageLength")
    return size[256], size[257]


def _dpx(head, f):
    order = {b"SDPX": ">", b"XPDS": "<"}.get(head[:4])
    if order is None:
        raise ValueError("not a DPX file")
    f.seek(772)
    data = f.read(8)
    if len(data) != 8:
        raise ValueError("DPX cut within its image header")
    return struct.unpack(order + "II", data)


def _exr(head, f):
    if head[:4] != b"\x76\x2f\x31\x01":
        raise ValueError("not an OpenEXR file")
    f.seek(8)
    for _ in range(1000):
        name = _cstring(f)
        if not name:
            break
        typ = _cstring(f)
        (size,) = struct.unpack("<i", f.read(4))
        value = f.read(size)
        if name == b"dataWindow" and typ == b"box2i" and len(value) == 16:
            xmin, ymin, xmax, ymax = struct.unpack("<iiii", value)
            return xmax - xmin + 1, ymax - ymin + 1
    raise ValueError("OpenEXR without a dataWindow")


def _cstring(f):
    out = b""
    while len(out) < 256:
        c = f.read(1)
        if not c or c == b"\0":
            return out
        out += c
    raise ValueError("OpenEXR header attribute name too long")


def _pnm(head, f):
    if head[:1] != b"P" or head[1:2] not in b"123456":
        raise ValueError("not a PNM file")
    words = re.sub(rb"#[^\n]*", b"", head[2:]).split()
    if len(words) < 2:
        raise ValueError("PNM without a size")
    return int(words[0]), int(words[1])


READERS = {
    ".png": _png, ".jpg": _jpeg, ".jpeg": _jpeg, ".tif": _tiff, ".tiff": _tiff,
    ".dpx": _dpx, ".exr": _exr, ".ppm": _pnm, ".pgm": _pnm, ".pbm": _pnm, ".pnm": _pnm,
}


def image_size(path):
    """(width, height) from the file's header; ValueError or OSError says
    why not."""
    reader = READERS.get(os.path.splitext(path)[1].lower())
    if reader is None:
        raise ValueError("not an image type this checker reads (%s)" % ", ".join(sorted(READERS)))
    with open(path, "rb") as f:
        head = f.read(64)
        if not head:
            raise ValueError("empty file")
        try:
            w, h = reader(head, f)
        except struct.error:
            raise ValueError("the file's header is cut short") from None
    if w <= 0 or h <= 0:
        raise ValueError("the header gives a size of %dx%d" % (w, h))
    return w, h


# ---- the sequence -----------------------------------------------------------

def pattern_regex(pattern):
    """A printf-style pattern (frame_%06d.png, frame_%d.png) or one with
    hashes (frame_######.png) as a regular expression with one group."""
    m = re.fullmatch(r"(.*?)(?:%(0?)(\d*)d|(#+))(.*)", pattern)
    if m is None or "%" in m.group(1) + m.group(5) or "#" in m.group(5) or "/" in pattern:
        raise Refused("pattern must be a file name with one frame number in it, as %%06d, %%d or ######, "
                      "not \"%s\"" % pattern)
    if m.group(4):
        digits = r"(\d{%d,})" % len(m.group(4))
    elif m.group(2) and m.group(3):
        digits = r"(\d{%d,})" % int(m.group(3))
    else:
        digits = r"(\d+)"
    return re.compile(re.escape(m.group(1)) + digits + re.escape(m.group(5)))


def detect(names):
    """The largest numbered sequence among the file names: (pattern, regex)
    or (None, None) when there is none."""
    groups = collections.Counter()
    widths = collections.defaultdict(set)
    for n in names:
        m = re.fullmatch(r"(.*?)(\d+)(\.[A-Za-z0-9]+)", n)
        if m:
            groups[(m.group(1), m.group(3))] += 1
            widths[(m.group(1), m.group(3))].add(len(m.group(2)))
    if not groups:
        return None, None
    (prefix, suffix), _ = max(groups.items(), key=lambda kv: (kv[1], kv[0]))
    w = widths[(prefix, suffix)]
    spec = "%%0%dd" % min(w) if len(w) == 1 and min(w) > 1 else "%d"
    pattern = prefix.replace("%", "%%") + spec + suffix
    return pattern, re.compile(re.escape(prefix) + r"(\d+)" + re.escape(suffix))


def runs(numbers):
    """Consecutive runs of sorted integers as {"start","end","count"}."""
    out = []
    for n in numbers:
        if out and out[-1]["end"] == n - 1:
            out[-1]["end"] = n
            out[-1]["count"] += 1
        else:
            out.append({"start": n, "end": n, "count": 1})
    return out


def digest(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def check(p):
    directory = p.get("directory", "")
    if not isinstance(directory, str) or not directory.startswith("/"):
        raise Refused("directory must be an absolute path, not %s" % json.dumps(directory))
    if not os.path.isdir(directory):
        raise Refused("directory \"%s\" does not exist or is not a directory" % directory)
    try:
        names = sorted(os.listdir(directory))
    except OSError as e:
        raise Refused("directory \"%s\" cannot be read: %s" % (directory, e.strerror)) from None

    pattern = p.get("pattern") or ""
    if pattern:
        regex = pattern_regex(pattern)
    else:
        pattern, regex = detect(names)
        if regex is None:
            raise Refused("directory \"%s\" holds no numbered file (name123.ext)" % directory)

    frames = {}
    clashes = []
    for n in names:
        m = regex.fullmatch(n)
        if not m or not os.path.isfile(os.path.join(directory, n)):
            continue
        num = int(m.group(1))
        if num in frames:
            clashes.append({"frame": num, "files": [frames[num], n]})
            continue
        frames[num] = n
    if not frames:
        raise Refused("no file in \"%s\" matches the pattern \"%s\"" % (directory, pattern))

    first = p.get("first", -1)
    last = p.get("last", -1)
    lo = min(frames) if first < 0 else first
    hi = max(frames) if last < 0 else last
    if hi < lo:
        raise Refused("last (%d) is before first (%d)" % (hi, lo))
    present = sorted(n for n in frames if lo <= n <= hi)
    missing = runs(sorted(set(range(lo, hi + 1)) - set(present))) if hi - lo < 10_000_000 else []

    sizes, unreadable = {}, []
    for n in present:
        path = os.path.join(directory, frames[n])
        try:
            sizes[n] = image_size(path)
        except (OSError, ValueError) as e:
            unreadable.append({"frame": n, "file": path,
                               "error": e.strerror if isinstance(e, OSError) and e.strerror else str(e)})

    want_w, want_h = p.get("width", 0), p.get("height", 0)
    if sizes:
        common = collections.Counter(sizes.values()).most_common(1)[0][0]
    else:
        common = (0, 0)
    resolution = (want_w or common[0], want_h or common[1])
    mismatched = [{"frame": n, "file": os.path.join(directory, frames[n]), "width": w, "height": h}
                  for n, (w, h) in sorted(sizes.items()) if (w, h) != resolution]

    duplicates = []
    if p.get("duplicates", True):
        by_hash = collections.defaultdict(list)
        for n in present:
            if n in sizes:
                by_hash[digest(os.path.join(directory, frames[n]))].append(n)
        duplicates = sorted(({"frames": v, "sha256": k} for k, v in by_hash.items() if len(v) > 1),
                            key=lambda d: d["frames"])

    missing_count = sum(r["count"] for r in missing)
    problems = missing_count + sum(len(d["frames"]) - 1 for d in duplicates) + len(mismatched) + \
        len(unreadable) + len(clashes)
    return {
        "directory": directory,
        "pattern": pattern,
        "first": lo,
        "last": hi,
        "expected": hi - lo + 1,
        "frames": len(present),
        "missing": missing,
        "missing_count": missing_count,
        "duplicates": duplicates,
        "resolution": {"width": resolution[0], "height": resolution[1]},
        "mismatched": mismatched,
        "unreadable": unreadable,
        "number_clashes": clashes,
        "outside_range": len(frames) - len(present),
        "problems": problems,
        "ok": problems == 0,
    }


def main():
    try:
        params = json.load(sys.stdin)
    except ValueError as e:
        print("%s: the input on stdin is not JSON: %s" % (NAME, e), file=sys.stderr)
        return 1
    if not isinstance(params, dict):
        print("%s: the input on stdin must be a JSON object" % NAME, file=sys.stderr)
        return 1
    try:
        report = check(params)
    except Refused as e:
        print("%s: %s" % (NAME, e), file=sys.stderr)
        return 1
    json.dump(report, sys.stdout)
    sys.stdout.write("\n")
    if not report["ok"]:
        print("%s: %d problem(s) in %s: %d missing, %d duplicate, %d mismatched, %d unreadable" % (
            NAME, report["problems"], report["pattern"], report["missing_count"],
            sum(len(d["frames"]) - 1 for d in report["duplicates"]), len(report["mismatched"]),
            len(report["unreadable"])), file=sys.stderr)
        if params.get("fail_on_problems", False):
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
