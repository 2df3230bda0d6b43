#!/bin/sh
# Pumping: the deadlock case, EPIPE, descriptor leaks, caps, binary output,
# live rendering.
. "${EXEC_TEST_LIB:-$(dirname "$0")/lib.sh}"

ten=10485760
head -c $ten /dev/urandom >"$T/in10"

# Child echoes 10 MB of stdin to stdout while writing 10 MB to stderr: a
# parent that wrote all of stdin first would deadlock (fcgiwrap's bug).
run_exec --stdin-file "$T/in10" --cap 20000000 --timeout 60 \
    --stdout-file "$T/out10" \
    -- /bin/sh -c 'head -c 10485760 /dev/zero >&2 & cat; wait'
is "$(val result):$(val exited):$(val exit_code)" ok:1:0 "10 MB in, 10 MB out and err: done"
is "$(val timed_out)" 0 "no deadlock (not timed out)"
is "$(val stdout_bytes):$(val stderr_bytes)" $ten:$ten "all bytes of both streams"
ok_if "stdout is exactly the input" 'cmp -s "$T/in10" "$T/out10"'

# Child writes 20 MB before reading anything.
run_exec --stdin-file "$T/in10" --cap 4096 --timeout 60 \
    -- /bin/sh -c 'head -c 10485760 /dev/zero; head -c 10485760 /dev/zero >&2; wc -c >&2'
is "$(val exit_code):$(val timed_out)" 0:0 "writing 20 MB before reading stdin"

# A child that never reads its stdin: EPIPE is not an error.
run_exec --stdin-file "$T/in10" -- /bin/true
is "$(val result):$(val exit_code)" ok:0 "unread stdin: EPIPE ignored, driver alive"
run_exec --stdin-file "$T/in10" -- /bin/sh -c 'exec 0<&-; sleep 0.2; echo after'
is "$(val exit_code):$(val stdout_bytes)" 0:6 "child closes stdin early"

run_exec --stdin 'hello input' --stdout-file "$T/cat" -- /bin/cat
is "$(cat "$T/cat")" "hello input" "stdin text then EOF"
run_exec --stdout-file "$T/cat0" -- /bin/cat
is "$(val exit_code):$(val stdout_bytes)" 0:0 "no stdin: immediate EOF"

# Descriptors: only 0, 1, 2, whatever the caller holds or has closed.
# Which descriptors the shell has, seen by the shell itself with builtins
# only: a listing by another process (ls) races with the descriptors the
# shell holds for a moment while it starts a pipeline or a redirection.
fds='i=0; while [ $i -lt 64 ]; do [ -L /proc/$$/fd/$i ] && printf "%s " $i; i=$((i+1)); done; for f in 0 1 2; do readlink /proc/$$/fd/$f | cut -c1-5; done | tr "\n" " "'
run_exec --leak-fd --stdout-file "$T/fds" -- /bin/sh -c "$fds" 7<"$T/in10"
is "$(cat "$T/fds")" "0 1 2 pipe: pipe: pipe: " "only 0 1 2 (pipes) despite leaked fds"
run_exec --close-stdin --stdout-file "$T/fds" -- /bin/sh -c "$fds"
is "$(cat "$T/fds")" "0 1 2 pipe: pipe: pipe: " "caller's fd 0 closed: still pipes on 0 1 2"
rm -f "$T/fds"
timeout 60 "$TEST_EXEC" --stdout-file "$T/fds" -- /bin/sh -c "$fds" <&- >&- 2>&-
is "$(cat "$T/fds")" "0 1 2 pipe: pipe: pipe: " "caller's 0 1 2 all closed"
# The caller's fd 0 is a listening socket (a libfcgi worker).
if ! command -v python3 >/dev/null; then
	skip "caller's fd 0 a listening socket: not inherited" "no python3 here"
else
	python3 -c '
import os, socket, sys
s = socket.socket(socket.AF_UNIX); s.bind("'"$T"'/sock"); s.listen(1)
os.dup2(s.fileno(), 0); s.close()
os.execv(sys.argv[1], sys.argv[1:])' "$TEST_EXEC" --stdout-file "$T/fds" \
	    -- /bin/sh -c "$fds" >"$T/res" 2>/dev/null
	is "$(cat "$T/fds")" "0 1 2 pipe: pipe: pipe: " "caller's fd 0 a listening socket: not inherited"
fi

# 50 MB with a 1 MiB cap: truncated, counted, memory bounded.
run_exec --cap 1048576 --stdout-file "$T/big" --timeout 60 \
    -- /bin/sh -c 'head -c 52428800 /dev/zero | tr "\0" x'
is "$(val stdout_bytes)" 52428800 "50 MiB counted"
is "$(val stdout_truncated)" 1 "truncated flag set"
is "$(wc -c <"$T/big" | tr -d ' ')" $((1048576 + 34)) "head + marker + tail kept"
ok_if "marker line" \
    'grep -qx "\[\.\.\. 51380224 bytes omitted \.\.\.\]" "$T/big"'
within "$(val vmhwm_kb)" 1 12000 "driver peak RSS stays small (kB)"

# Binary garbage, NULs included, kept exactly.
head -c 300000 /dev/urandom >"$T/bin"
run_exec --stdout-file "$T/bin.out" -- /bin/cat "$T/bin"
ok_if "binary stdout kept exactly" 'cmp -s "$T/bin" "$T/bin.out"'
is "$(val stdout_truncated)" 0 "not truncated under the cap"

# Live rendering from the tick hook while the child runs: the child
# itself takes a copy of the rendering once its first line shows there
# (waiting up to 30 s), and only then writes its second line.
run_exec --tick-ms 50 --live-file "$T/live" -- /bin/sh -c '
echo one
i=0
while [ $i -lt 600 ]; do
	cp "$1" "$1.seen" 2>/dev/null && grep -qx one "$1.seen" && break
	sleep 0.05
	i=$((i + 1))
done
sleep 0.6; echo two; sleep 0.6' sh "$T/live"
is "$(cat "$T/live.seen" 2>/dev/null)" one \
    "live rendering while the child runs: its output so far"
at_least "$(val ticks)" 5 "tick hook ran, every 50 ms for over a second (ticks)"

done_testing
