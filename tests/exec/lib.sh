# lib.sh - TAP helpers for the executor's shell tests (sourced).
#
#   run_exec [test-exec options] -- /abs/program args   -> $T/res
#   val KEY          value of KEY= in the last result
#   is GOT WANT NAME / ok_if NAME COMMAND... / done_testing

: "${TEST_EXEC:?TEST_EXEC must point at tests/helper/test-exec}"
tap_n=0
tap_failed=0
T=$(mktemp -d /tmp/scriptorch-exec-test.XXXXXX)
chmod 0755 "$T"
trap 'rm -rf "$T"' EXIT

run_exec() {
	# Every run has its own time bound, whatever breaks.
	timeout 120 "$TEST_EXEC" "$@" >"$T/res" 2>"$T/log"
	tap_rc=$?
	if [ "$tap_rc" -ne 0 ]; then
		echo "# test-exec exited $tap_rc"
		sed 's/^/#   /' "$T/log"
	fi
}

val() {
	sed -n "s/^$1=//p" "$T/res" | head -n 1
}

ok_if() {
	tap_name=$1
	shift
	tap_n=$((tap_n + 1))
	if "$@"; then
		echo "ok $tap_n - $tap_name"
	else
		echo "not ok $tap_n - $tap_name"
		tap_failed=$((tap_failed + 1))
		sed 's/^/#   /' "$T/res"
	fi
}

is() {
	tap_n=$((tap_n + 1))
	if [ "$1" = "$2" ]; then
		echo "ok $tap_n - $3"
	else
		echo "not ok $tap_n - $3"
		echo "#   got: '$1'"
		echo "#  want: '$2'"
		tap_failed=$((tap_failed + 1))
	fi
}

# lt A B NAME: integer A < B
lt() {
	ok_if "$3 ($1 < $2)" [ "$1" -lt "$2" ]
}

# A marker no other process on the machine has in its command line.
marker() {
	echo "99$$$(od -An -N3 -tu4 /dev/urandom | tr -d ' ')"
}

# No process whose command line holds $1 is left.
no_survivor() {
	! pgrep -f "$1" >/dev/null
}

done_testing() {
	echo "1..$tap_n"
	[ "$tap_failed" -eq 0 ]
}
