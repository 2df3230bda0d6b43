#!/bin/sh
# Benchmark: scriptorch-venv against python3 -m venv + pip install, 5-wheel set.
#
#   bench/venv-build.sh [REPEATS]        (default 3; the median of each is reported)
#
# (a) /usr/bin/python3 -m venv + pip install --no-index --find-links (the 5 wheels)
# (b) scriptorch-venv build, cold: empty cache (probe, resolve, unpack, compile, link)
# (c) scriptorch-venv build, warm unpack cache and resolution, new dest
# (d) like (b) but the cache keeps only the interpreter probe and venv skeleton
#     (i.e. a cold build of a new requirement set on a host that built before)
# Wall-clock seconds of the whole process, including interpreter start-up.
set -eu
HERE=$(cd "$(dirname "$0")/.." && pwd)
TOOL="$HERE/libexec/scriptorch-venv"
PY=/usr/bin/python3
N=${1:-3}
W=$(mktemp -d /tmp/scriptorch-venv-bench.XXXXXX)
trap 'rm -rf "$W"' EXIT INT TERM

"$PY" -I "$HERE/tests/venv/mkwheel.py" bench "$W/wheels" >/dev/null
printf 'studiofx\nstudioui\n' >"$W/req.txt"   # pulls all 5 wheels

now() { "$PY" -I -c 'import time; print(repr(time.monotonic()))'; }
elapsed() { "$PY" -I -c "import sys; print('%.3f' % (float(sys.argv[2]) - float(sys.argv[1])))" "$1" "$2"; }
median() { tr ' ' '\n' | sort -n | awk '{a[NR]=$1} END{print a[int((NR+1)/2)]}'; }

build() {  # dest cache
    "$TOOL" build --python "$PY" --dest "$1" --cache "$2" --requirements "$W/req.txt" \
        --find-links "$W/wheels" --no-index >"$W/out.json" 2>"$W/err.txt" || {
        cat "$W/err.txt" >&2; exit 1; }
}

A=""; B=""; C=""; D=""
i=0
while [ $i -lt "$N" ]; do
    i=$((i + 1))
    rm -rf "$W/pipvenv"
    t0=$(now)
    "$PY" -m venv "$W/pipvenv"
    "$W/pipvenv/bin/pip" install -q --disable-pip-version-check --no-index \
        --find-links "$W/wheels" -r "$W/req.txt"
    t1=$(now); A="$A $(elapsed "$t0" "$t1")"

    rm -rf "$W/cache" "$W/venvs"
    t0=$(now); build "$W/venvs/cold" "$W/cache"; t1=$(now)
    B="$B $(elapsed "$t0" "$t1")"

    t0=$(now); build "$W/venvs/warm" "$W/cache"; t1=$(now)
    C="$C $(elapsed "$t0" "$t1")"

    rm -rf "$W/cache/resolve" "$W/cache/unpacked" "$W/cache/wheels" "$W/venvs"
    t0=$(now); build "$W/venvs/cold2" "$W/cache"; t1=$(now)
    D="$D $(elapsed "$t0" "$t1")"
done

"$W/pipvenv/bin/python" -c 'import studiofx, studioui' ||
    { echo "pip venv broken" >&2; exit 1; }
"$W/venvs/cold2/bin/python" -c 'import studiofx, studioui' ||
    { echo "scriptorch venv broken" >&2; exit 1; }

a=$(echo $A | median); b=$(echo $B | median); c=$(echo $C | median); d=$(echo $D | median)
"$PY" -I - "$a" "$b" "$c" "$d" "$N" "$A" "$B" "$C" "$D" <<'EOF'
import sys
a, b, c, d = (float(x) for x in sys.argv[1:5])
n = sys.argv[5]
print("5-wheel set, median of %s runs (all runs: a=[%s] b=[%s] c=[%s] d=[%s])"
      % (n, sys.argv[6].strip(), sys.argv[7].strip(), sys.argv[8].strip(),
         sys.argv[9].strip()))
print("(a) python3 -m venv + pip install       %7.3f s" % a)
print("(b) scriptorch-venv cold (empty cache)  %7.3f s   a/b = %5.1fx" % (b, a / b))
print("(c) scriptorch-venv warm cache, new dest %6.3f s   a/c = %5.1fx" % (c, a / c))
print("(d) cold set, probe+skeleton cached     %7.3f s   a/d = %5.1fx" % (d, a / d))
print("target (b) >= 10x faster than (a): %s" % ("met" if a / b >= 10 else "NOT met"))
EOF
