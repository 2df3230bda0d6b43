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

# ---- the tree's limits (runlimits.h) ----------------------------------
# In the run's cgroups where the host has the controllers (this machine:
# cgroup v1 memory, pids and cpu; a pure cgroup v2 host: memory.max,
# pids.max, cpu.max), else as rlimits.
run_exec --memory-mb 64 -- /bin/true
mech=$(val mechanisms)
echo "# $mech"
has_cgroup() {
	case $mech in *"$1 by cgroup"*) return 0 ;; esac
	return 1
}

# A memory hog: the shell keeps a 400 MB string. The kernel's OOM killer
# kills in the run's cgroup, and the run says so: not a plain SIGKILL.
if has_cgroup memory_mb; then
	run_exec --memory-mb 64 --timeout 100 --stdout-file "$T/o" \
	    -- /bin/sh -c 'x=$(head -c 400000000 /dev/zero | tr "\0" a); echo ${#x}'
	is "$(val limit)" memory "memory hog: the run hit its memory limit (OOM kill)"
	ok_if "memory hog: it never got its 400 MB" '! grep -q 400000000 "$T/o"'
	within "$(val max_rss_kb)" 1 $((72 * 1024)) \
	    "memory hog: the peak stayed near 64 MB (kB; one process's RSS counts shared pages too)"
	# The OOM killer takes the largest process: a grandchild here; the
	# main process goes on and exits 0. The limit is still told.
	run_exec --memory-mb 64 --timeout 100 --stdout-file "$T/o" \
	    -- /bin/sh -c '/bin/sh -c "x=\$(head -c 400000000 /dev/zero | tr \"\\0\" a)"; echo survived'
	is "$(val exit_code):$(val limit)" 0:memory \
	    "memory: a grandchild killed by the OOM killer is told too"
	# A plain SIGKILL under a memory limit is not an OOM kill.
	run_exec --memory-mb 64 -- /bin/sh -c 'kill -9 $$'
	is "$(val signo):$(val limit)" 9:none \
	    "memory: a SIGKILL the script sent itself is no limit"
else
	skip "memory hog killed by the OOM killer" "no memory cgroup here: $mech"
fi

# A fork bomb with pids 16: forks past the limit are refused (the tree
# never has more than 16 processes and threads), and the run says so.
cat >"$T/forks.py" <<'PY'
import os, sys, time
made = refused = 0
for i in range(60):
    try:
        pid = os.fork()
    except OSError:
        refused += 1
        continue
    if pid == 0:
        time.sleep(60)
        os._exit(0)
    made += 1
print(made, refused)
sys.exit(3 if refused else 0)
PY
if has_cgroup pids; then
	run_exec --pids 16 --timeout 100 --stdout-file "$T/o" \
	    -- /usr/bin/python3 "$T/forks.py"
	is "$(val exit_code):$(val limit)" 3:pids "fork bomb: the run hit its pids limit"
	within "$(cut -d' ' -f1 "$T/o")" 1 16 \
	    "fork bomb: at most 15 children beside the script"
	# Within the limit: nothing is told.
	run_exec --pids 16 --timeout 100 -- /bin/sh -c 'sleep 0.1 & sleep 0.1 & wait'
	is "$(val exit_code):$(val limit)" 0:none "pids: a run within its limit hit none"
else
	skip "fork bomb held by pids.max" "no pids cgroup here: $mech"
fi

# SIGXFSZ: the child itself, and a shell whose command died of it.
mkdir -p "$T/fs2"
run_exec --cwd "$T/fs2" --rlimit-fsize 1048576 \
    -- /bin/dd if=/dev/zero of=f bs=1M count=5
is "$(val signo):$(val limit)" 25:file_size "file size: dd killed by SIGXFSZ is told"
run_exec --cwd "$T/fs2" --rlimit-fsize 1048576 \
    -- /bin/sh -c 'head -c 5000000 /dev/zero >g; exit $?'
is "$(val exit_code):$(val limit)" 153:file_size \
    "file size: a shell exiting 128+SIGXFSZ is told"
run_exec --cwd "$T/fs2" --rlimit-fsize 1048576 -- /bin/sh -c 'kill -XFSZ $$'
is "$(val limit)" file_size "file size: a child dead of SIGXFSZ however it came"
run_exec --cwd "$T/fs2" -- /bin/sh -c 'kill -XFSZ $$'
is "$(val limit)" none "file size: no limit set, none told"

# RLIMIT_CPU: SIGXCPU is the CPU time limit.
run_exec --rlimit-cpu 1 --timeout 100 -- /bin/sh -c 'while :; do :; done'
is "$(val signo):$(val limit)" 24:cpu_time "CPU time limit: told as cpu_time"

# cpu_cores 0.5: a burner gets about half a CPU (less when the machine is
# busy: only the upper side is the limit's).
if has_cgroup cpu_cores; then
	run_exec --cpu-cores 0.5 --timeout 3 -- /bin/sh -c 'while :; do :; done'
	cpu=$(sum "$(val cpu_user_ms)" "$(val cpu_system_ms)")
	within "$((cpu * 100 / $(val duration_ms)))" 5 66 \
	    "cpu_cores 0.5: the burner's CPU time over its wall time (%)"
else
	skip "cpu_cores held by the CPU controller" "no cpu cgroup here: $mech"
fi

# Without cgroups (--sandbox none), memory and pids become rlimits.
run_exec --sandbox none --memory-mb 256 --pids 20 --stdout-file "$T/o" \
    -- /bin/sh -c 'ulimit -v; ulimit -p'
is "$(tr '\n' ' ' <"$T/o")" "262144 20 " \
    "no cgroups: memory as RLIMIT_AS, pids as RLIMIT_NPROC (ulimit -v, -p)"
ok_if "no cgroups: the mechanisms say so" \
    'val mechanisms | grep -q "memory_mb by RLIMIT_AS.*pids by RLIMIT_NPROC"'

done_testing
