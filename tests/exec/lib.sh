# lib.sh - TAP helpers for the executor's shell tests (sourced).
#
#   run_exec [test-exec options] -- /abs/program args   -> $T/res
#                                (isolated as the daemon's runs are, see
#                                EXEC_ISOLATE below)
#   val KEY                      value of KEY= in the last result
#   is GOT WANT NAME             string equality
#   ok_if NAME 'CONDITION'       CONDITION is one string of shell, run whole
#   at_least GOT MIN NAME        integer MIN <= GOT
#   within GOT MIN MAX NAME      integer MIN <= GOT < MAX
#   sum A B                      A + B, or "A+B" when one is no number
#   skip NAME REASON             a test that cannot run here, said so
#   done_testing                 plan, and the script's own check (below)
#
# Every assertion is one command that takes all of its condition as
# arguments: `ok_if NAME [ a ] && [ b ]` would hand ok_if only `[ a ]` and
# drop the second test's result, so ok_if takes exactly one condition
# string (several conditions are joined inside it) and fails when given
# more. done_testing also reads the script and fails it when an assertion
# is chained with && || or | on its line, where a result would be lost.

: "${TEST_EXEC:?TEST_EXEC must point at tests/helper/test-exec}"
tap_n=0
tap_failed=0
tap_root=0
[ "$(id -u)" = 0 ] && tap_root=1
T=$(mktemp -d /tmp/scriptorch-exec-test.XXXXXX)
chmod 0755 "$T"
trap 'rm -rf "$T"' EXIT

run_exec() {
	# Every run has its own time bound, whatever breaks. With
	# EXEC_ISOLATE=1 (the default as root, who alone may make
	# namespaces) each run is isolated as the daemon's are, the test's
	# own directory kept visible (the rest of /tmp is private to the
	# run); the t-plain-*.sh files run the same tests with 0, as the
	# venv builder's launches are.
	if [ "${EXEC_ISOLATE:-$tap_root}" = 1 ]; then
		set -- --isolate --keep "$T" "$@"
	fi
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

# tap_line PASSED NAME [DIAGNOSTIC...]: one TAP result, the diagnostics
# printed under a failure.
tap_line() {
	tap_n=$((tap_n + 1))
	if [ "$1" = 1 ]; then
		echo "ok $tap_n - $2"
		return 0
	fi
	echo "not ok $tap_n - $2"
	tap_failed=$((tap_failed + 1))
	shift 2
	for tap_l in "$@"; do
		printf '%s\n' "$tap_l" | sed 's/^/#   /'
	done
	return 0
}

# The last result, under a failure.
tap_dump_res() {
	[ -f "$T/res" ] && echo "#   result: $(tr '\n' ' ' <"$T/res")"
	return 0
}

# ok_if NAME CONDITION: CONDITION is evaluated as a whole (eval, in a
# subshell: functions and variables are seen, nothing is changed).
ok_if() {
	if [ $# -ne 2 ]; then
		tap_line 0 "$1" "ok_if takes a name and ONE condition string;" \
		    "got $(($# - 1)) words: $(shift; echo "$*")"
		return 0
	fi
	if (eval "$2"); then
		tap_line 1 "$1"
	else
		tap_line 0 "$1" "condition: $2"
		tap_dump_res
	fi
}

is() {
	if [ "$1" = "$2" ]; then
		tap_line 1 "$3"
	else
		tap_line 0 "$3" " got: '$1'" "want: '$2'"
	fi
}

tap_is_int() {
	case ${1#-} in
	'' | *[!0-9]*) return 1 ;;
	esac
	return 0
}

# sum A B: A + B when both are integers, else "A+B" (which no numeric
# check takes for a number).
sum() {
	if tap_is_int "$1" && tap_is_int "$2"; then
		echo $(($1 + $2))
	else
		echo "$1+$2"
	fi
}

# at_least GOT MIN NAME: integer MIN <= GOT.
at_least() {
	if ! tap_is_int "$1"; then
		tap_line 0 "$3 (got '$1', not a number)"
		tap_dump_res
	elif [ "$1" -ge "$2" ]; then
		tap_line 1 "$3 ($1 >= $2)"
	else
		tap_line 0 "$3 ($1 >= $2)"
		tap_dump_res
	fi
}

# within GOT MIN MAX NAME: integer MIN <= GOT < MAX.
within() {
	if ! tap_is_int "$1"; then
		tap_line 0 "$4 (got '$1', not a number)"
		tap_dump_res
	elif [ "$1" -ge "$2" ] && [ "$1" -lt "$3" ]; then
		tap_line 1 "$4 ($2 <= $1 < $3)"
	else
		tap_line 0 "$4 ($2 <= $1 < $3)"
		tap_dump_res
	fi
}

# skip NAME REASON: counted as a skip (with its reason) by dev/test.
skip() {
	tap_n=$((tap_n + 1))
	echo "ok $tap_n - $1 # SKIP $2"
}

# A marker no other process on the machine has in its command line.
marker() {
	echo "99$$$(od -An -N3 -tu4 /dev/urandom | tr -d ' ')"
}

# No process whose command line holds $1 is left.
no_survivor() {
	! pgrep -f "$1" >/dev/null
}

# tap_lint FILE: prints "LINE: TEXT" for each line of the shell script
# FILE where an assertion is chained with && || or | (its result, or the
# other command's, would be lost; a guarded assertion vanishes silently).
# Quoted text, comments and line continuations are taken apart first, so
# `ok_if NAME '[ a ] && [ b ]'` is fine. A line is what the shell reads
# as one: a quoted string may span lines.
tap_lint() {
	awk '
	function flush(   s, n, i, w, seg, bad) {
		s = out
		out = ""
		if (s !~ /&&|\|/)
			return
		gsub(/&&|\|\||\||;|&|\(|\)|\{|\}/, "\n", s)
		n = split(s, seg, "\n")
		bad = 0
		for (i = 1; i <= n; i++) {
			w = seg[i]
			sub(/^[ \t]+/, "", w)
			while (w ~ /^(!|if|then|else|elif|do|while|until)([ \t]|$)/)
				sub(/^[^ \t]+[ \t]*/, "", w)
			if (w ~ /^(ok_if|is|at_least|within|skip)([ \t]|$)/)
				bad = 1
		}
		if (bad)
			printf "%d: %s\n", start, text
	}
	{
		if (out == "" && q == "" && !cont) {
			start = NR
			text = $0
		} else {
			text = text " / " $0
		}
		cont = 0
		n = length($0)
		for (i = 1; i <= n; i++) {
			c = substr($0, i, 1)
			if (q == "s") {
				if (c == "\047")
					q = ""
				continue
			}
			if (q == "d") {
				if (c == "\\")
					i++
				else if (c == "\"")
					q = ""
				continue
			}
			if (c == "\\") {
				if (i == n) {
					cont = 1
					break
				}
				i++
				continue
			}
			if (c == "\047") {
				q = "s"
				out = out "Q"
				continue
			}
			if (c == "\"") {
				q = "d"
				out = out "Q"
				continue
			}
			if (c == "#" && (i == 1 || substr($0, i - 1, 1) ~ /[ \t;&|(]/))
				break
			out = out c
		}
		if (q == "" && !cont)
			flush()
		else
			out = out " "
	}
	END { flush() }
	' "$1"
}

done_testing() {
	if [ -r "$0" ]; then
		tap_bad=$(tap_lint "$0")
		if [ -z "$tap_bad" ]; then
			tap_line 1 "${0##*/}: every assertion stands alone"
		else
			tap_line 0 "${0##*/}: every assertion stands alone" \
			    "chained with && || or | (a result is lost):" \
			    "$tap_bad"
		fi
	else
		tap_line 0 "${0##*/}: the test script can be read for its own check"
	fi
	echo "1..$tap_n"
	[ "$tap_failed" -eq 0 ]
}
