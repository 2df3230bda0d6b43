#!/bin/sh
# Exit codes, signal exits, argv, environment, exec failures, accounting.
. "${EXEC_TEST_LIB:-$(dirname "$0")/lib.sh}"

run_exec -- /bin/sh -c 'echo out; echo err >&2; exit 3'
is "$(val result)" ok "a run that exits 3 is a result"
is "$(val exited):$(val exit_code)" 1:3 "exit code 3"
is "$(val signaled)" 0 "not signaled"
is "$(val stdout_bytes):$(val stderr_bytes)" 4:4 "stdout and stderr counted"
is "$(val started)" 1 "started hook called"

run_exec -- /bin/sh -c 'kill -SEGV $$'
is "$(val signaled):$(val signo)" 1:11 "kill -SEGV \$\$ gives signaled, signo 11"
is "$(val exited):$(val exit_code)" 0:-1 "no exit code when signaled"

run_exec --stdout-file "$T/argv" -- /bin/echo 'a  b' '$HOME' '*' ';'
is "$(cat "$T/argv")" 'a  b $HOME * ;' "argv given as is, no shell"

run_exec --env A=1 --env 'B=x y' --env 'C=' --stdout-file "$T/env" \
    -- /usr/bin/env
printf 'A=1\nB=x y\nC=\n' >"$T/env.want"
ok_if "the child sees exactly the environment given" \
    'cmp -s "$T/env" "$T/env.want"'
FOO_LEAK=secret run_exec --stdout-file "$T/env0" -- /usr/bin/env
is "$(wc -c <"$T/env0" | tr -d ' ')" 0 "no environment given: empty, nothing inherited"

run_exec --cwd "$T" --stdout-file "$T/pwd" -- /bin/pwd
is "$(cat "$T/pwd")" "$T" "cwd is set"

# Exec failures: reported with a clear message, nothing started.
run_exec -- /nonexistent/prog
is "$(val result)" error "ENOENT is an error"
is "$(val error)" 'cannot execute "/nonexistent/prog": No such file or directory' \
    "ENOENT message"
is "$(val started)" 0 "started hook not called on failure"

printf '#!/bin/sh\necho hi\n' >"$T/noexec"
chmod 0644 "$T/noexec"
run_exec -- "$T/noexec"
is "$(val error)" "cannot execute \"$T/noexec\": Permission denied" \
    "EACCES message"

printf 'this is not a program\n' >"$T/garbage"
chmod 0755 "$T/garbage"
run_exec -- "$T/garbage"
is "$(val error)" "cannot execute \"$T/garbage\": Exec format error" \
    "ENOEXEC message"

run_exec -- sh -c true
is "$(val error)" 'program path "sh" is not absolute' "relative path refused"

run_exec --cwd /nonexistent-dir -- /bin/true
is "$(val error)" \
    'cannot change directory to "/nonexistent-dir": No such file or directory' \
    "missing cwd message"

# Accounting covers descendants: a grandchild busy-loops until its own
# user CPU time (utime, field 14 of /proc/self/stat, in clock ticks) is
# 0.3 s, however fast or loaded the machine. Not counting descendants
# gives a few ms; wall time cannot be less than one process's CPU time.
burn='hz=$(getconf CLK_TCK); while :; do
	i=0; while [ $i -lt 2000 ]; do i=$((i+1)); done
	read -r st </proc/$$/stat; set -- ${st##*) }
	[ $(( ${12} * 1000 / hz )) -ge 300 ] && break
done'
run_exec --timeout 60 -- /bin/sh -c '/bin/sh -c "$1"; :' sh "$burn"
at_least "$(val cpu_user_ms)" 250 "cpu time of descendants counted"
at_least "$(val duration_ms)" 250 "duration measured"

run_exec -- /bin/sh -c 'x=$(head -c 40000000 /dev/zero | tr "\0" a); echo ${#x}'
at_least "$(val max_rss_kb)" 30000 "max rss seen (kB)"

# The ready hook runs before the start and may withdraw it: then nothing
# runs at all (the runner's claim lost to another runner).
run_exec -- /bin/true
is "$(val ready_called):$(val refused)" 1:0 "the ready hook is called before a start"
run_exec --withdraw -- /bin/sh -c "touch $T/withdrawn"
is "$(val result):$(val refused):$(val started)" error:1:0 \
    "withdrawn by the ready hook: an error, marked refused, never started"
ok_if "the withdrawn program never ran" '[ ! -e "$T/withdrawn" ]'

done_testing
