#!/bin/sh
# Benchmark: scriptorch-venv against python3 -m venv + pip install, 5-wheel set.
#
#   bench/venv-build.sh [REPEATS]        (default 3; medians are reported)
#
# (a) /usr/bin/python3 -m venv + pip install --no-index --find-links (the 5 wheels)
# (b) scriptorch-venv build, cold: empty cache (probe, resolve, unpack, compile, link)
# (c) scriptorch-venv build, warm unpack cache and resolution, new dest
# (d) like (b) but the cache keeps only the interpreter probe and venv skeleton
#     (a cold build of a new requirement set on a host that built venvs before)
# wall = elapsed seconds of the whole process (interpreter start-up included);
# cpu = user+sys seconds of the process tree, much less disturbed by other load.
set -eu
case "${1:-}" in
-h | --help)
	sed -n '2,/^[^#]/{/^#/!d; s/^# \{0,1\}//; p}' "$0"
	exit 0
	;;
esac
HERE=$(cd "$(dirname "$0")/.." && pwd)
TOOL="$HERE/libexec/scriptorch-venv"
PY=/usr/bin/python3
N=${1:-3}
W=$(mktemp -d /tmp/scriptorch-venv-bench.XXXXXX)
trap 'rm -rf "$W"' EXIT INT TERM

"$PY" -I "$HERE/tests/venv/mkwheel.py" bench "$W/wheels" >/dev/null
printf 'studiofx\nstudioui\n' >"$W/req.txt"   # pulls all 5 wheels

# measure CMD...: prints "wall cpu"
measure() {
    "$PY" -I -c '
import resource, subprocess, sys, time
r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
t0 = time.monotonic()
rc = subprocess.call(sys.argv[1:], stdout=subprocess.DEVNULL)
t1 = time.monotonic()
r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
cpu = (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)
print("%.3f %.3f" % (t1 - t0, cpu))
sys.exit(rc)' "$@"
}

PIPBUILD='"$2" -m venv "$1/pipvenv" &&
  "$1/pipvenv/bin/pip" install -q --disable-pip-version-check --no-index \
  --find-links "$1/wheels" -r "$1/req.txt"'
build() {  # dest
    measure "$TOOL" build --python "$PY" --dest "$W/venvs/$1" --cache "$W/cache" \
        --requirements "$W/req.txt" --find-links "$W/wheels" --no-index
}

AW=""; AC=""; BW=""; BC=""; CW=""; CC=""; DW=""; DC=""
i=0
while [ "$i" -lt "$N" ]; do
    i=$((i + 1))
    rm -rf "$W/pipvenv"
    set -- $(measure sh -c "$PIPBUILD" sh "$W" "$PY"); AW="$AW $1"; AC="$AC $2"
    rm -rf "$W/cache" "$W/venvs"
    set -- $(build cold 2>/dev/null); BW="$BW $1"; BC="$BC $2"
    set -- $(build warm 2>/dev/null); CW="$CW $1"; CC="$CC $2"
    rm -rf "$W/cache/resolve" "$W/cache/unpacked" "$W/cache/wheels" "$W/venvs"
    set -- $(build cold2 2>/dev/null); DW="$DW $1"; DC="$DC $2"
    echo "run $i: a=$AW b=$BW c=$CW d=$DW" | awk '{print "#", $0}' >&2
done

"$W/pipvenv/bin/python" -c 'import studiofx, studioui' ||
    { echo "pip venv broken" >&2; exit 1; }
"$W/venvs/cold2/bin/python" -c 'import studiofx, studioui' ||
    { echo "scriptorch venv broken" >&2; exit 1; }

"$PY" -I - "$N" "$AW" "$AC" "$BW" "$BC" "$CW" "$CC" "$DW" "$DC" <<'PYEOF'
import statistics, sys
n = sys.argv[1]
v = [[float(x) for x in a.split()] for a in sys.argv[2:]]
aw, ac, bw, bc, cw, cc, dw, dc = (statistics.median(x) for x in v)
print("5-wheel set, median of %s runs" % n)
print("                                          wall s   cpu s  wall ratio  cpu ratio")
print("(a) python3 -m venv + pip install       %8.3f %7.3f" % (aw, ac))
for label, w, c in (("(b) scriptorch-venv cold (empty cache) ", bw, bc),
                    ("(c) scriptorch-venv warm, new dest     ", cw, cc),
                    ("(d) cold set, probe+skeleton cached    ", dw, dc)):
    print("%s %8.3f %7.3f  %8.1fx %8.1fx" % (label, w, c, aw / w, ac / c))
print("wall, all runs: a=[%s] b=[%s] c=[%s] d=[%s]"
      % tuple(sys.argv[i].strip() for i in (2, 4, 6, 8)))
print("target (b) >= 10x faster than (a): %s (wall), %s (cpu)"
      % ("met" if aw / bw >= 10 else "NOT met", "met" if ac / bc >= 10 else "NOT met"))
PYEOF
