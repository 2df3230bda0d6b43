#!/bin/sh
# rlimits as the child sees them, and limits being hit.
. "${EXEC_TEST_LIB:-$(dirname "$0")/lib.sh}"

run_exec --rlimit-nofile 37 --stdout-file "$T/o" -- /bin/sh -c 'ulimit -n; ulimit -Hn'
is "$(cat "$T/o" | tr '\n' ' ')" "37 37 " "RLIMIT_NOFILE seen by the child (ulimit -n)"

run_exec --rlimit-as 268435456 --stdout-file "$T/o" -- /bin/sh -c 'ulimit -v'
is "$(cat "$T/o")" 262144 "RLIMIT_AS seen by the child (ulimit -v)"
run_exec --rlimit-as 268435456 --stdout-file "$T/o" --stderr-file "$T/e" \
    -- /bin/sh -c 'x=$(head -c 400000000 /dev/zero | tr "\0" a); echo ${#x}'
ok_if "allocating past RLIMIT_AS fails" '! grep -q 400000000 "$T/o"'

mkdir "$T/fs"
run_exec --cwd "$T/fs" --rlimit-fsize 4096 --stdout-file "$T/o" \
    -- /bin/sh -c 'head -c 10000 /dev/zero >f; echo rc=$?'
is "$(cat "$T/o")" rc=153 "file size limit hit: writer killed by SIGXFSZ"
is "$(wc -c <"$T/fs/f" | tr -d ' ')" 4096 "file stops at the limit"

# One second of CPU may take several seconds of wall time on a loaded
# machine: the timeout is only a bound for a limit that never comes.
# RLIMIT_CPU counts user and system time; the kernel checks it at each
# tick, so SIGXCPU comes at 1 s of CPU and a little more.
run_exec --rlimit-cpu 1 --timeout 100 -- /bin/sh -c 'while :; do :; done'
is "$(val signaled):$(val signo):$(val timed_out)" 1:24:0 "CPU limit: SIGXCPU"
within "$(sum "$(val cpu_user_ms)" "$(val cpu_system_ms)")" 800 3000 \
    "CPU limit hit after about 1 s of CPU (ms)"

# RLIMIT_NPROC counts every process of the real uid on the machine, and a
# uid already over the limit is refused at execve. "nobody" may have
# processes of its own (other tests run in parallel), so use a uid no
# process has: then the only one is the shell, and its fork is refused.
free_uid=$(($(od -An -N2 -tu2 /dev/urandom | tr -d ' ') % 20000 + 40000))
while ps -eo ruid= | grep -qx " *$free_uid"; do
	free_uid=$((free_uid + 1))
done
run_exec --uid "$free_uid" --gid "$free_uid" --rlimit-nproc 1 \
    --stderr-file "$T/e" -- /bin/sh -c '/bin/true; echo rc=$?'
ok_if "RLIMIT_NPROC stops forking as a uid with no other process" \
    'grep -qi fork "$T/e"'

done_testing
