#!/usr/bin/env bash
# tests/newcomer/run.sh - a newcomer's first steps, as README.md tells
# them (issue 20): a clone of this repository's HEAD in a directory only
# root may enter (mode 0700, as /root is), dev/up there on a port of its
# own, then the README's "First steps" commands exactly as written, with
# their answers checked; then the executor's tests in that clone's build,
# which sit where the run users cannot reach. Prints TAP; stops what it
# started and removes what it made, whatever happens. Bounded: every step
# has a time limit. Run by dev/test (suite "newcomer"); it needs root, and
# coexists with dev/test's own stack (its own directory, MariaDB socket,
# port and run uids).
#
# Usage: tests/newcomer/run.sh
set -uo pipefail
. "$(dirname "$0")/../../dev/lib.sh"
help_if_asked "$@"

n=0
failed=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
not_ok() {
	n=$((n + 1))
	failed=$((failed + 1))
	echo "not ok $n - $1"
	shift
	for l in "$@"; do printf '%s\n' "$l" | tail -n 40 | sed 's/^/#   /'; done
}
check() { # check NAME COMMAND...: ok when COMMAND succeeds
	local name=$1
	shift
	if "$@"; then ok "$name"; else not_ok "$name"; fi
}

[ "$(id -u)" = 0 ] || { echo "1..0 # SKIP needs root (dev/up does)"; exit 0; }

TOP=$(mktemp -d /tmp/scriptorch-newcomer.XXXXXX)
chmod 0700 "$TOP"
CLONE=$TOP/scriptorch
SHARED=
cleanup() {
	if [ -x "$CLONE/dev/down" ]; then
		timeout 120 "$CLONE/dev/down" >/dev/null 2>&1
	fi
	case "$SHARED" in /var/lib/scriptorch-dev/?*) rm -rf "$SHARED" ;; esac
	rmdir /var/lib/scriptorch-dev 2>/dev/null
	rm -rf "$TOP"
}
trap cleanup EXIT

# The README's "First steps" commands: every ```sh block of that section.
first_steps() {
	awk '/^## First steps/ { on = 1; next }
	     on && /^## / { exit }
	     on && /^```sh$/ { code = 1; next }
	     code && /^```$/ { code = 0; next }
	     code { print }' "$1"
}

if timeout 300 git clone -q "$REPO" "$CLONE" 2>"$TOP/clone.err"; then
	ok "a clone of $(git -C "$REPO" rev-parse --short HEAD) in a 0700 directory"
else
	not_ok "a clone in a 0700 directory" "$(cat "$TOP/clone.err")"
	echo "1..$n"
	exit 1
fi
first_steps "$CLONE/README.md" >"$TOP/steps.sh"
if grep -q '^dev/up$' "$TOP/steps.sh" && grep -q 'executions?wait=' "$TOP/steps.sh"; then
	ok "README.md has its first steps (dev/up, a registration, a run)"
else
	not_ok "README.md has its first steps" "$(cat "$TOP/steps.sh")"
fi

# As written, from the clone, in a shell that stops at the first failure;
# only the port is the test's (the README names SCRIPTORCH_PORT).
PORT=$(free_port)
if (cd "$CLONE" && env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
	HOME=/root LANG=C.UTF-8 SCRIPTORCH_PORT="$PORT" \
	timeout 2400 bash -e -o pipefail "$TOP/steps.sh") >"$TOP/out" 2>"$TOP/err"; then
	ok "the first steps run as written"
else
	not_ok "the first steps run as written" "$(tail -n 30 "$TOP/err")" "$(tail -n 20 "$TOP/out")"
fi
SHARED=$(sed -n 's/^SCRIPTORCH_SHARED=//p' "$CLONE/.dev/env" 2>/dev/null)

check "dev/up says where to go and what to paste" \
	grep -q "Open the URL in a browser and paste the admin token" "$TOP/out"
case "$SHARED" in
/var/lib/scriptorch-dev/?*) ok "what the run users must reach went outside the closed checkout ($SHARED)" ;;
*) not_ok "what the run users must reach went outside the closed checkout" "SCRIPTORCH_SHARED=$SHARED" ;;
esac

# The answers: each curl printed a JSON object; the last two are the runs.
if /usr/bin/python3 - "$TOP/out" >"$TOP/check" 2>&1 <<'PYCHECK'
import json, sys
text = open(sys.argv[1], encoding="utf-8").read()
dec, objs, i = json.JSONDecoder(), [], 0
while True:
    i = text.find("{", i)
    if i < 0:
        break
    try:
        obj, end = dec.raw_decode(text, i)
    except ValueError:
        i += 1
        continue
    objs.append(obj)
    i = end
scripts = [o for o in objs if "type" in o and "path" in o]
runs = [o for o in objs if "status" in o and "script_name" in o]
assert [s["name"] for s in scripts] == ["hello", "timecode"], scripts
got = [(r["script_name"], r["status"], r["stdout"], r["trigger"]) for r in runs]
assert got == [("hello", "succeeded", "hello studio\n", "api"),
               ("timecode", "succeeded", "01:00:05:00\n", "api")], (got, runs)
print("runs:", got)
PYCHECK
then
	ok "the shell script said hello, the python script gave the timecode"
else
	not_ok "the answers of the first steps" "$(cat "$TOP/check")"
fi

# What "open the URL and paste the token" does: the page is served, and
# the token signs a browser in.
URL=$(sed -n 's/^SCRIPTORCH_URL=//p' "$CLONE/.dev/env" 2>/dev/null)
TOKEN=$(sed -n 's/^SCRIPTORCH_TOKEN=//p' "$CLONE/.dev/env" 2>/dev/null)
check "the admin UI answers at the URL" \
	curl -fsS -o /dev/null --max-time 30 "$URL/"
code=$(curl -sS -o /dev/null -w '%{http_code}' --max-time 30 -X POST \
	-H 'Content-Type: application/json' -H 'X-Requested-With: scriptorch' \
	-d "{\"token\": \"$TOKEN\"}" "$URL/api/v1/session" 2>&1)
if [ "$code" = 204 ]; then ok "the printed token signs a browser in"; else not_ok "the printed token signs a browser in" "HTTP $code"; fi

# The executor's tests in the clone's build, under the 0700 directory.
BUILD=$CLONE/.dev/build
if timeout 600 make -C "$BUILD" tests/helper/test-exec >"$TOP/make.out" 2>&1; then
	for t in "$CLONE"/tests/exec/t-*.sh; do
		TEST_EXEC=$BUILD/tests/helper/test-exec EXEC_TEST_LIB=$CLONE/tests/exec/lib.sh \
			timeout 900 sh "$t" >"$TOP/tap" 2>&1
		rc=$?
		if [ "$rc" = 0 ] && grep -qE '^1\.\.[1-9]' "$TOP/tap" && ! grep -q '^not ok' "$TOP/tap"; then
			ok "tests/exec/${t##*/} passes in a tree under a 0700 directory"
		else
			not_ok "tests/exec/${t##*/} in a tree under a 0700 directory (exit $rc)" \
				"$(grep -A3 '^not ok' "$TOP/tap" | head -40)"
		fi
	done
else
	not_ok "test-exec builds in the clone" "$(tail -n 20 "$TOP/make.out")"
fi

echo "1..$n"
[ "$failed" = 0 ]
