#!/bin/sh
# Every kill path, with both tree mechanisms: cgroup v2 (auto, when the
# machine has it) and subreaper + process group (none).
. "${EXEC_TEST_LIB:-$(dirname "$0")/lib.sh}"

# Runs of this test get a cgroup parent of their own (when cgroup v2 is
# there), so that other scriptorch instances on the machine, which share
# the default parent, cannot disturb the "nothing left behind" check.
CG2=$(awk '$3 == "cgroup2" { print $2; exit }' /proc/mounts)
OWN=$(sed -n 's/^0:://p' /proc/self/cgroup)
PRIV=
SB_CG=auto
if [ -n "$CG2" ] && mkdir -p "$CG2${OWN%/}/scriptorch-test-$$" 2>/dev/null; then
	PRIV="$CG2${OWN%/}/scriptorch-test-$$"
	SB_CG=$PRIV
fi
for sb in "$SB_CG" none; do
	run_exec --sandbox $sb -- /bin/true
	mech=$(val sandbox)
	echo "# --sandbox $sb: $mech"

	# A grandchild double-forks, calls setsid and keeps stdout open:
	# the run ends when the main child exits, and nothing survives.
	M=$(marker)
	run_exec --sandbox $sb --timeout 60 --stdout-file "$T/out" -- /bin/sh -c \
	    "(setsid /bin/sh -c 'sleep $M & sleep $M; : $M' &); echo main-done"
	is "$(val exited):$(val exit_code)" 1:0 "$mech: main child exits 0 while a setsid grandchild holds stdout"
	lt "$(val duration_ms)" 3000 "$mech: run ends promptly"
	is "$(val timed_out)" 0 "$mech: not by the timeout"
	is "$(cat "$T/out")" main-done "$mech: output kept"
	ok_if "$mech: no process of the tree survives" no_survivor "$M"

	# Same, but the main child runs on until the timeout.
	M=$(marker)
	run_exec --sandbox $sb --timeout 0.5 --grace 5 -- /bin/sh -c \
	    "(setsid /bin/sh -c 'sleep $M; : $M' &); sleep $M"
	is "$(val timed_out):$(val signaled):$(val signo)" 1:1:15 "$mech: timeout: SIGTERM to the tree"
	lt "$(val duration_ms)" 3000 "$mech: ends soon after the timeout"
	ok_if "$mech: no setsid grandchild survives the timeout" no_survivor "$M"

	# A well-behaved sleeper: SIGTERM suffices, no wait for the grace.
	run_exec --sandbox $sb --timeout 0.3 --grace 20 -- /bin/sleep 1000
	is "$(val timed_out):$(val signo)" 1:15 "$mech: sleeper ends on SIGTERM"
	lt "$(val duration_ms)" 3000 "$mech: well before the grace period"

	# SIGTERM ignored by the child and a setsid grandchild: SIGKILL
	# after the grace period, for the whole tree.
	M=$(marker)
	run_exec --sandbox $sb --timeout 0.3 --grace 1 -- /bin/sh -c \
	    "trap '' TERM; (setsid /bin/sh -c 'trap \"\" TERM; sleep $M; : $M' &); while :; do sleep 0.05; done"
	is "$(val timed_out):$(val signaled):$(val signo)" 1:1:9 "$mech: TERM ignored: SIGKILL after grace"
	d=$(val duration_ms)
	ok_if "$mech: killed after the grace ($d ms)" [ "$d" -ge 1200 ] && [ "$d" -lt 4000 ]
	ok_if "$mech: TERM-ignoring grandchild killed too" no_survivor "$M"

	# Through the grace the tick hook still runs: the runner saves its
	# live output and heartbeat there, and a run silent for the grace was
	# taken for lost (issue 13). A cancel a tick asks for in the grace
	# changes nothing: still timed out, SIGKILL at the end of the grace.
	run_exec --sandbox $sb --timeout 0.3 --grace 1.5 --tick-ms 50 \
	    --ticks-after-output got-term --cancel-on-output got-term -- \
	    /bin/sh -c "trap 'echo got-term' TERM; while :; do sleep 0.05; done"
	is "$(val timed_out):$(val canceled):$(val signaled):$(val signo)" 1:0:1:9 \
	    "$mech: a cancel asked in the grace changes nothing"
	n=$(val ticks_after_output)
	ok_if "$mech: the tick hook runs through the grace ($n ticks after SIGTERM)" \
	    [ "$n" -ge 3 ]
	d=$(val duration_ms)
	ok_if "$mech: SIGKILL still at the end of the grace ($d ms)" \
	    [ "$d" -ge 1600 ] && [ "$d" -lt 6000 ]

	# A plain background job left behind (same process group).
	M=$(marker)
	run_exec --sandbox $sb -- /bin/sh -c "sleep $M >/dev/null 2>&1 & echo started"
	is "$(val exit_code)" 0 "$mech: script leaving a background job"
	ok_if "$mech: background job killed when the script ends" no_survivor "$M"

	# Cancel through the tick hook, once output shows up.
	M=$(marker)
	run_exec --sandbox $sb --tick-ms 50 --cancel-on-output ready -- \
	    /bin/sh -c "(setsid sleep $M &); echo ready; sleep $M"
	is "$(val canceled):$(val timed_out):$(val signo)" 1:0:15 "$mech: canceled by the tick hook"
	lt "$(val duration_ms)" 3000 "$mech: cancel is prompt"
	ok_if "$mech: nothing survives a cancel" no_survivor "$M"

	# Cancel of a child that ignores SIGTERM: SIGKILL after the grace.
	run_exec --sandbox $sb --cancel-after-ms 200 --grace 0.5 -- \
	    /bin/sh -c "trap '' TERM; while :; do sleep 0.05; done"
	is "$(val canceled):$(val signo)" 1:9 "$mech: cancel escalates to SIGKILL"

	# Something that forks fast while being killed.
	M=$(marker)
	run_exec --sandbox $sb --timeout 0.5 --grace 0.5 -- /bin/sh -c \
	    "while :; do (setsid sleep $M &) ; sleep 0.01; done"
	is "$(val timed_out)" 1 "$mech: forking loop timed out"
	ok_if "$mech: none of its many children survive" no_survivor "$M"
done

# The run cgroups are removed after the runs.
if [ -n "$PRIV" ]; then
	ok_if "no run cgroup left behind" \
	    sh -c "! ls -d '$PRIV'/run-* 2>/dev/null | grep -q ."
	rmdir "$PRIV"
else
	ok_if "no run cgroup left behind (no cgroup v2 here)" true
fi

done_testing
