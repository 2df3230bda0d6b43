#!/bin/sh
# Isolation (exec.h, "Isolation"): our init as PID 1 of the run's PID
# namespace (status pass-through, signal forwarding, exec failures), the
# run's own /proc and /tmp, hidden and kept paths, the empty network
# namespace, the clone3 fallback, and what an attacker inside a run tries.
. "${EXEC_TEST_LIB:-$(dirname "$0")/lib.sh}"

# Namespaces and dropping to another user need root (see t-identity.sh).
if [ "$(id -u)" != 0 ]; then
	echo "1..0 # SKIP needs root"
	exit 0
fi
# Each run below asks for --isolate itself (run_exec would add --keep "$T",
# which shows in the run's /tmp), with --keep "$T" where it reads from $T.
EXEC_ISOLATE=0
I="--isolate"
nobody=$(id -u nobody)

# ---- the init: PID 1, status pass-through ---------------------------------
run_exec $I --user nobody --stdout-file "$T/o" -- /bin/sh -c 'echo $$'
is "$(cat "$T/o")" 2 "the program is PID 2 of its namespace (our init is 1)"

for code in 0 3 126 127 255; do
	run_exec $I -- /bin/sh -c "exit $code"
	is "$(val result):$(val exited):$(val exit_code):$(val signaled)" \
	    "ok:1:$code:0" "exit $code passes through our init as it is"
done
for sig in 9 11 15; do
	run_exec $I -- /bin/sh -c "kill -$sig \$\$"
	is "$(val exited):$(val exit_code):$(val signaled):$(val signo)" \
	    "0:-1:1:$sig" "killed by signal $sig: reported as that signal"
done

# The duration runs from the program's exec to its end.
run_exec $I -- /bin/sleep 0.5
at_least "$(val duration_ms)" 500 "duration covers the program's run (ms)"

# ---- exec failures, reported per stage as without isolation ---------------
run_exec $I -- /nonexistent/prog
is "$(val error)" 'cannot execute "/nonexistent/prog": No such file or directory' \
    "ENOENT under our init: the same message"
is "$(val started)" 0 "and nothing is reported started"
printf '#!/bin/sh\necho hi\n' >"$T/noexec"
chmod 0644 "$T/noexec"
run_exec $I --keep "$T" --user nobody -- "$T/noexec"
is "$(val error)" "cannot execute \"$T/noexec\": Permission denied" \
    "EACCES under our init: the same message"
run_exec $I --cwd /nonexistent-dir -- /bin/true
is "$(val error)" \
    'cannot change directory to "/nonexistent-dir": No such file or directory' \
    "a missing cwd under our init: the same message"
run_exec $I --keep /nonexistent-keep -- /bin/true
is "$(val error)" \
    'cannot isolate the run: "/nonexistent-keep": No such file or directory' \
    "a kept path that does not exist: refused before the start"
is "$(val started)" 0 "nothing started then"

# ---- signals: forwarded by the init, the tree's SIGTERM delivered once -----
for sig in 1 2 3 10 12 15; do
	run_exec $I --timeout 30 --signal "$sig:ready" --stdout-file "$T/o" -- \
	    /bin/sh -c 'trap "echo got; exit 7" '"$sig"'; echo ready
	    while :; do sleep 0.1; done'
	is "$(val signalled):$(val timed_out):$(val exit_code):$(tr '\n' ' ' <"$T/o")" \
	    "1:0:7:ready got " "signal $sig sent to our init reaches the program"
done
# ... to its whole process group: a child of the program gets it too.
run_exec $I --timeout 30 --signal "10:ready" --stdout-file "$T/o" -- /bin/sh -c '
	/bin/sh -c "trap \"echo child got; exit 0\" USR1
	    while :; do sleep 0.1; done" &
	trap "wait; echo parent got; exit 5" USR1
	sleep 0.3; echo ready
	while :; do sleep 0.1; done'
is "$(val timed_out):$(val exit_code):$(grep -c got "$T/o")" 0:5:2 \
    "a forwarded signal reaches the program's process group"

# Timeout: SIGTERM to every process of the tree but our init, which would
# pass it on a second time. Two SIGTERMs sent at once merge into one
# pending signal, which keeps its first sender: so the program holds it
# pending a moment, then reads who sent it (0: the executor, outside the
# namespace; 1 would be our init, which without the tree's walk in
# between signals first), then waits for any other. Then SIGKILL after
# the grace, for a script that does not end.
# (An init sent it too is seen by the fallback, --sandbox none, in about
# a third of the runs: the loop gives it three chances.)
for sb in auto none none none; do
	run_exec $I --sandbox $sb --timeout 0.5 --grace 30 --stdout-file "$T/o" -- \
	    /usr/bin/python3 -c '
import signal, sys, time
signal.pthread_sigmask(signal.SIG_BLOCK, [signal.SIGTERM])
print("ready", flush=True)
while signal.SIGTERM not in signal.sigpending():
    time.sleep(0.01)
time.sleep(0.3)
while True:
    si = signal.sigtimedwait([signal.SIGTERM], 1)
    if si is None:
        sys.exit(3)
    print("from", si.si_pid, flush=True)
'
	is "$(val timed_out):$(val exit_code):$(grep from "$T/o" | tr '\n' ' ')" \
	    "1:3:from 0 " "--sandbox $sb: the tree's SIGTERM reaches the program once, from the executor"
done
run_exec $I --timeout 0.5 --grace 2 --stdout-file "$T/o" -- /bin/bash -c '
	trap "echo term" TERM; echo ready
	while :; do sleep 0.1; done'
is "$(val timed_out):$(val signaled):$(val signo)" 1:1:9 \
    "a script that ignores SIGTERM is killed after the grace (signal 9)"
is "$(grep -c term "$T/o" | tr -d ' ')" 1 "after its one SIGTERM"

# A well-behaved sleeper ends on SIGTERM, reported as 15.
run_exec $I --timeout 0.3 --grace 60 -- /bin/sleep 1000
is "$(val timed_out):$(val signo)" 1:15 "sleeper ends on SIGTERM under our init"
within "$(val duration_ms)" 300 20000 "... at the timeout, not after the grace (ms)"

# ---- the run's own /proc: its own tree only --------------------------------
# PIDs in the namespace come in order: our init 1, the program 2, its
# sleep 3, the subshell that lists /proc 4.
run_exec --isolate --user nobody --stdout-file "$T/o" -- /bin/sh -c '
	sleep 30 & echo "mine $$ $!"
	echo "seen $(cd /proc && echo [0-9]*)"; kill $!'
is "$(sed -n 's/^mine //p' "$T/o")" "2 3" "the program sees itself as a low pid"
is "$(sed -n 's/^seen //p' "$T/o")" "2 3 4" \
    "/proc shows the run's own processes only (not even our init)"
M=$(marker)
rest=${M#99}
sleep "$M" &
hostpid=$!
run_exec --isolate --user nobody --stdout-file "$T/o" -- /bin/sh -c '
	m=99; m="${m}'"$rest"'"
	for f in /proc/[0-9]*/cmdline; do
		grep -q "$m" "$f" 2>/dev/null && echo found "$f"
	done
	kill -0 '"$hostpid"' 2>/dev/null; echo "kill rc=$?"'
is "$(cat "$T/o")" "kill rc=1" \
    "a host process is neither seen nor reachable by its pid"
kill "$hostpid"
# The kernel's tunables stay read-only in the run's proc, as systemd's
# ProtectKernelTunables= makes them in the proc the run's replaces.
# (/proc/sysrq-trigger only where the kernel has it.)
run_exec --isolate --stdout-file "$T/o" -- /bin/sh -c '
	for p in /proc/sys /proc/sysrq-trigger; do
		[ -e "$p" ] || { echo "$p ro"; continue; }
		awk -v p="$p" "\$2 == p { split(\$4, o, \",\"); print p, o[1] }" /proc/self/mounts
	done'
is "$(tr '\n' ' ' <"$T/o")" "/proc/sys ro /proc/sysrq-trigger ro " \
    "/proc/sys and /proc/sysrq-trigger are read-only mounts in the run"

# ---- the run's own /tmp, /var/tmp and /dev/shm -----------------------------
M=$(marker)
echo host >"/tmp/scriptorch-host-$M"
run_exec $I --user nobody --stdout-file "$T/o" -- /bin/sh -c '
	ls -A /tmp /var/tmp /dev/shm | tr "\n" " "; echo
	echo run >/tmp/left-'"$M"'; echo run >/var/tmp/left-'"$M"'
	echo run >/dev/shm/left-'"$M"'; stat -f -c %T /tmp'
is "$(head -n 1 "$T/o")" "/dev/shm:  /tmp:  /var/tmp: " \
    "/tmp, /var/tmp and /dev/shm are empty at the start"
is "$(sed -n 2p "$T/o")" tmpfs "/tmp is a tmpfs of the run"
ok_if "what the run put there is gone, on the host too" \
    '[ ! -e "/tmp/left-$M" ] && [ ! -e "/var/tmp/left-$M" ] && [ ! -e "/dev/shm/left-$M" ]'
rm -f "/tmp/scriptorch-host-$M"

# Two runs at once: B does not see what A put in /tmp.
M=$(marker)
run_exec_a() {
	timeout 120 "$TEST_EXEC" --isolate --user nobody \
	    --timeout 60 --live-file "$T/a.live" -- /bin/sh -c '
	    echo a >/tmp/a-'"$M"'; echo ready; sleep 30' >"$T/a.res" 2>&1
}
run_exec_a &
apid=$!
i=0
while [ $i -lt 600 ] && ! grep -q ready "$T/a.live" 2>/dev/null; do
	sleep 0.05
	i=$((i + 1))
done
ok_if "run A is running" 'grep -q ready "$T/a.live"'
run_exec $I --user nobody --stdout-file "$T/o" -- /bin/sh -c \
    'ls -A /tmp; cat /tmp/a-'"$M"' 2>&1 | sed "s/^/cat: /"'
is "$(head -n 1 "$T/o")" "cat: cat: /tmp/a-$M: No such file or directory" \
    "run B sees nothing of run A's /tmp"
kill "$apid" 2>/dev/null
wait "$apid" 2>/dev/null

# ---- hidden and kept paths ---------------------------------------------------
# Under /var/lib, which no tmpfs of the run covers (as the daemon's own).
H=$(mktemp -d /var/lib/scriptorch-exec-test.XXXXXX)
trap 'rm -rf "$T" "$H"' EXIT
chmod 0755 "$H"
mkdir -p "$H/work/run-a" "$H/work/run-b" "$H/venvs/mine" "$H/venvs/other" \
    "$H/roots/s" "$H/roots/s/secret-dir" "$H/etc"
echo pw >"$H/etc/daemon.conf"
echo b-data >"$H/work/run-b/file"
echo other >"$H/venvs/other/lib"
echo lib >"$H/venvs/mine/lib"
echo script >"$H/roots/s/script.sh"
echo key >"$H/roots/s/secret-dir/key"
echo conf >"$H/roots/s/inner.conf"
chown "$nobody" "$H/work/run-a"
chmod 0700 "$H/work/run-a"
run_exec $I --user nobody --hide "$H/work" --hide "$H/venvs" \
    --hide "$H/etc/daemon.conf" --hide "$H/roots/s/secret-dir" \
    --hide "$H/roots/s/inner.conf" --keep "$H/work/run-a" \
    --keep-ro "$H/venvs/mine" --keep-ro "$H/roots/s" \
    --cwd "$H/work/run-a" --stdout-file "$T/o" --stderr-file "$T/e" -- \
    /bin/sh -c '
	echo "work: $(ls -A '"$H"'/work | tr "\n" " ")"
	echo "venvs: $(ls -A '"$H"'/venvs | tr "\n" " ")"
	echo "conf: $(wc -c <'"$H"'/etc/daemon.conf)"
	echo "root: $(cat '"$H"'/roots/s/script.sh)"
	echo "inner: $(ls -A '"$H"'/roots/s/secret-dir | wc -l) $(wc -c <'"$H"'/roots/s/inner.conf)"
	echo "venv: $(cat '"$H"'/venvs/mine/lib)"
	echo mine >out && echo "wrote work dir"
	echo x >'"$H"'/venvs/mine/lib 2>/dev/null || echo "venv read-only"
	echo x >'"$H"'/roots/s/script.sh 2>/dev/null || echo "root read-only"
	mkdir '"$H"'/work/run-c 2>/dev/null || echo "hidden dir not writable"'
is "$(sed -n 1p "$T/o")" "work: run-a " \
    "the work base shows the run's own work dir only"
is "$(sed -n 2p "$T/o")" "venvs: mine " "the venv cache shows the run's own venv only"
is "$(sed -n 3p "$T/o")" "conf: 0" "a hidden file reads as empty (/dev/null)"
is "$(sed -n 4p "$T/o")" "root: script" "a kept script root is readable"
is "$(sed -n 5p "$T/o")" "inner: 0 0" "what is hidden inside a kept dir stays hidden"
is "$(sed -n 6p "$T/o")" "venv: lib" "the run's venv is readable"
is "$(sed -n 7,10p "$T/o" | tr '\n' '|')" \
    "wrote work dir|venv read-only|root read-only|hidden dir not writable|" \
    "work dir writable; venv and script root read-only; hidden dirs not writable"
is "$(cat "$H/work/run-a/out")" mine "what the run wrote is in the host's work dir"
is "$(cat "$H/venvs/mine/lib"):$(cat "$H/roots/s/script.sh")" lib:script \
    "the read-only ones are unchanged on the host"

# ---- an empty network namespace -------------------------------------------
run_exec $I --net-none --stdout-file "$T/o" -- /bin/sh -c \
    'tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d " "'
is "$(cat "$T/o" | tr '\n' ' ')" "lo " "--net-none: the run has only lo"
run_exec --net-none --stdout-file "$T/o" -- /bin/sh -c \
    'tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d " "'
is "$(cat "$T/o" | tr '\n' ' ')" "lo " "--net-none without isolation: only lo too"

# ---- the caller's word (exec_hooks.gate) ----------------------------------
# Our init is made first and makes the run's mounts while the caller
# decides (a runner: while the run's row commits); the program starts only
# after the word, and a "no" kills the init with nothing of the program run.
rm -f "$T/gate" "$T/ran"
run_exec $I --keep "$T" --gate-mark "$T/gate" --stdout-file "$T/o" -- \
    /bin/sh -c "if test -e $T/gate; then echo after; else echo before; fi"
is "$(val result):$(val gate_called):$(val gate_saw_child)" ok:1:1 \
    "the gate is asked once our init exists"
is "$(cat "$T/o")" after "the program starts only after the word"
run_exec $I --keep "$T" --gate-refuse -- /bin/sh -c "touch $T/ran"
is "$(val result):$(val refused):$(val started):$(val gate_called)" \
    error:1:0:1 "a gate that says no: refused, nothing started"
ok_if "and nothing of the program ran" "test ! -e '$T/ran'"
# Without isolation the child runs until its exec while we wait (CLONE_VFORK):
# the gate is asked before the clone.
rm -f "$T/gate" "$T/ran"
run_exec --gate-mark "$T/gate" --stdout-file "$T/o" -- \
    /bin/sh -c "if test -e $T/gate; then echo after; else echo before; fi"
is "$(val result):$(val gate_saw_child):$(cat "$T/o")" ok:0:after \
    "without isolation: asked before the clone, the program after the word"
run_exec --gate-refuse -- /bin/sh -c "touch $T/ran"
is "$(val result):$(val refused):$(val started)" error:1:0 \
    "without isolation: a gate that says no starts nothing"
ok_if "and nothing ran" "test ! -e '$T/ran'"

# ---- clone3 refused (systemd's RestrictNamespaces=): the clone fallback -----
run_exec $I --no-clone3 --user nobody --stdout-file "$T/o" -- /bin/sh -c \
    'echo $$; ls -A /tmp | wc -l'
is "$(val result):$(cat "$T/o" | tr '\n' ' ')" "ok:2 0 " \
    "without clone3 a run is still PID 2 with an empty /tmp"
run_exec --no-clone3 --net-none --stdout-file "$T/o" -- /bin/sh -c \
    'tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d " "'
is "$(val result):$(cat "$T/o" | tr '\n' ' ')" "ok:lo " \
    "without clone3, no isolation, --net-none: still only lo"

# ---- a caller that may not make namespaces fails, it never runs unisolated --
ok_if "setpriv (util-linux) is there" 'command -v setpriv >/dev/null'
# nobody runs a copy in $T: the build tree may sit where nobody cannot
# reach it (a checkout under /root, a mktemp -d directory).
install -m 0755 "$TEST_EXEC" "$T/test-exec-copy"
setpriv --reuid="$nobody" --regid="$(id -g nobody)" --clear-groups \
    timeout 60 "$T/test-exec-copy" --isolate --sandbox none -- /bin/sh -c \
    "touch $T/ran-unisolated" >"$T/res" 2>"$T/log"
is "$(val result):$(val error)" \
    "error:cannot create the run's namespaces: Operation not permitted" \
    "an unprivileged caller asking for isolation gets an error"
ok_if "and the program did not run" '[ ! -e "$T/ran-unisolated" ]'

# ---- no way back to privileges ---------------------------------------------
run_exec $I --user nobody --stdout-file "$T/o" -- /bin/sh -c \
    'grep -E "^(NoNewPrivs|CapEff|CapPrm|CapInh|CapAmb|Seccomp):" /proc/self/status | tr -s "\t" " " | tr "\n" " "'
is "$(cat "$T/o")" \
    "CapInh: 0000000000000000 CapPrm: 0000000000000000 CapEff: 0000000000000000 CapAmb: 0000000000000000 NoNewPrivs: 1 Seccomp: 2 " \
    "no capability, no_new_privs, a seccomp filter"

# ---- what an attacker inside a run tries -------------------------------------
attack() {
	run_exec $I --user nobody --stdout-file "$T/o" --stderr-file "$T/e" -- \
	    /bin/sh -c "$1"
}
attack 'cat /proc/1/environ >/dev/null 2>&1 && echo READ; ls /proc/1/root/ >/dev/null 2>&1 && echo LISTED; echo done'
is "$(cat "$T/o")" done "/proc/1/environ and /proc/1/root are out of reach"
attack 'kill -STOP 1 2>/dev/null && echo STOPPED; kill -TERM 1 2>/dev/null && echo TERMED; echo done'
is "$(cat "$T/o")" done "our init cannot be signalled by the run"
attack 'python3 -c "
import ctypes, os
libc = ctypes.CDLL(None, use_errno=True)
r = libc.ptrace(16, 1, 0, 0)  # PTRACE_ATTACH to our init
print(r, os.strerror(ctypes.get_errno()))
"'
is "$(cat "$T/o")" "-1 Operation not permitted" "ptrace of our init: refused"
attack 'mount -t tmpfs none /mnt 2>/dev/null && echo MOUNTED; mount --bind / /mnt 2>/dev/null && echo BOUND; umount /proc 2>/dev/null && echo UNMOUNTED; echo done'
is "$(cat "$T/o")" done "mount, bind mount and umount fail"
attack 'unshare -U true 2>/dev/null && echo USERNS; unshare -Ur true 2>/dev/null && echo ROOTMAP; unshare -m true 2>/dev/null && echo MNTNS; unshare -n true 2>/dev/null && echo NETNS; echo done'
is "$(cat "$T/o")" done "no new namespace: unshare of a user, mount or net namespace fails"
attack 'python3 -c "
import ctypes, os
libc = ctypes.CDLL(None, use_errno=True)
r = libc.syscall(272, 0x10000000)  # unshare(CLONE_NEWUSER) by number
print(r, os.strerror(ctypes.get_errno()))
args = (ctypes.c_uint64 * 11)(0x10000000, 0, 0, 0, 17, 0, 0, 0, 0, 0, 0)
r = libc.syscall(435, ctypes.byref(args), 88)  # clone3(CLONE_NEWUSER)
print(r, os.strerror(ctypes.get_errno()))
"'
is "$(cat "$T/o" | tr '\n' ' ')" "-1 Operation not permitted -1 Function not implemented " \
    "raw unshare(CLONE_NEWUSER) refused; clone3 not there for the run"
attack 'nsenter --net=/proc/self/ns/net true 2>/dev/null && echo SETNS; nsenter -t 1 -m true 2>/dev/null && echo ENTERED; echo done'
is "$(cat "$T/o")" done "setns fails, even into the run's own namespace"

# ---- the run's limits hold the program, never our init or the caller -------
# Our init shares the caller's memory (x86_64), and the OOM killer, when
# it kills a process, kills every process of that memory: in the run's
# memory cgroup the init would be the largest process (the caller's size)
# once a run fills its limit with what no process holds (a file in its
# private /tmp), and its OOM kill would kill the caller, a runner. So the
# init is in none of the run's cgroups; the program joins them.
run_exec --memory-mb 64 -- /bin/true
mech=$(val mechanisms)
case $mech in
*"memory_mb by cgroup"*)
	run_exec $I --user nobody --memory-mb 64 --timeout 100 \
	    --stdout-file "$T/o" -- \
	    /bin/sh -c 'head -c 200000000 /dev/zero >/tmp/fill; echo rc=$?'
	is "$(val result):$(val limit)" ok:memory \
	    "/tmp filled past the memory limit: the run's OOM kill, the caller lives"
	;;
*)
	skip "/tmp filled past the memory limit" "no memory cgroup here"
	;;
esac
case $mech in
*"pids by cgroup"*)
	# pids 4: the script and three children, our init not counted.
	run_exec $I --user nobody --pids 4 --timeout 100 --stdout-file "$T/o" \
	    -- /bin/sh -c '/bin/sleep 0.5 & /bin/sleep 0.5 & /bin/sleep 0.5 & wait; echo waited'
	is "$(val exit_code):$(val limit):$(cat "$T/o")" 0:none:waited \
	    "pids 4: the script's own four, our init is not one of them"
	;;
*)
	skip "pids without our init" "no pids cgroup here"
	;;
esac

done_testing
