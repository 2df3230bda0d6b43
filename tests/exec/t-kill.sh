#!/bin/sh
# Every kill path, with both tree mechanisms: cgroup v2 (auto, when the
# machine has it) and subreaper + process group (none).
#
# Durations: the machine may be loaded, so a bound on how long something
# took is only there to catch a defect (a kill that never comes, one sent
# before its time, one that waits for the wrong deadline), never to
# measure. A SIGKILL due after a grace of $grace seconds must come after
# it and before 2.5 times it: one sent at 4 times the grace fails, a busy
# machine has seconds to spare. "Promptly" means long before the 60 s
# grace or timeout that a wrong wait would run into.
. "${EXEC_TEST_LIB:-$(dirname "$0")/lib.sh}"

grace=4
long=60
prompt_ms=20000

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
	# Which mechanism, and where it put the child: the child's own
	# cgroup v2 ("0::" line), as it saw it.
	run_exec --sandbox $sb --stdout-file "$T/cg" \
	    -- /bin/sed -n 's/^0:://p' /proc/self/cgroup
	mech=$(val sandbox)
	cg=$(cat "$T/cg" 2>/dev/null)
	echo "# --sandbox $sb: $mech, the child's cgroup: '$cg'"
	# Which one is expected: a cgroup v2 parent given is used (or the
	# run is an error), none is none, and auto without a cgroup v2
	# mount is the fallback; auto with one may be either (delegation).
	case $sb in
	none) is "$mech" subreaper+pgroup "--sandbox none: subreaper+pgroup" ;;
	auto)
		if [ -z "$CG2" ]; then
			is "$mech" subreaper+pgroup \
			    "--sandbox auto, no cgroup v2 mounted: subreaper+pgroup"
		fi ;;
	*) is "$mech" cgroup2 "--sandbox DIR: cgroup v2 under DIR" ;;
	esac
	if [ "$mech" = cgroup2 ]; then
		base=${PRIV:-$CG2${OWN%/}/scriptorch}
		ok_if "$mech: the child ran in a run cgroup of its own" \
		    'case $CG2$cg in "$base"/run-*) true ;; *) false ;; esac'
		ok_if "$mech: that run cgroup is removed after the run" \
		    '[ -n "$cg" ] && [ ! -e "$CG2$cg" ]'
	else
		is "$cg" "$OWN" "$mech: the child stays in the caller's cgroup"
	fi

	# A grandchild double-forks, calls setsid and keeps stdout open:
	# the run ends when the main child exits, and nothing survives.
	M=$(marker)
	run_exec --sandbox $sb --timeout $long --stdout-file "$T/out" -- /bin/sh -c \
	    "(setsid /bin/sh -c 'sleep $M & sleep $M; : $M' &); echo main-done"
	is "$(val exited):$(val exit_code)" 1:0 "$mech: main child exits 0 while a setsid grandchild holds stdout"
	within "$(val duration_ms)" 0 $prompt_ms "$mech: run ends promptly (ms)"
	is "$(val timed_out)" 0 "$mech: not by the timeout"
	is "$(cat "$T/out")" main-done "$mech: output kept"
	ok_if "$mech: no process of the tree survives" 'no_survivor "$M"'

	# Same, but the main child runs on until the timeout.
	M=$(marker)
	run_exec --sandbox $sb --timeout 0.5 --grace $long -- /bin/sh -c \
	    "(setsid /bin/sh -c 'sleep $M; : $M' &); sleep $M"
	is "$(val timed_out):$(val signaled):$(val signo)" 1:1:15 "$mech: timeout: SIGTERM to the tree"
	within "$(val duration_ms)" 500 $prompt_ms "$mech: ends at the timeout, soon after it (ms)"
	ok_if "$mech: no setsid grandchild survives the timeout" 'no_survivor "$M"'

	# A well-behaved sleeper: SIGTERM suffices, no wait for the grace.
	run_exec --sandbox $sb --timeout 0.3 --grace $long -- /bin/sleep 1000
	is "$(val timed_out):$(val signo)" 1:15 "$mech: sleeper ends on SIGTERM"
	within "$(val duration_ms)" 300 $prompt_ms "$mech: at the timeout, well before the grace period (ms)"

	# SIGTERM ignored by the child and a setsid grandchild: SIGKILL
	# after the grace period, for the whole tree.
	M=$(marker)
	run_exec --sandbox $sb --timeout 0.3 --grace $grace -- /bin/sh -c \
	    "trap '' TERM; (setsid /bin/sh -c 'trap \"\" TERM; sleep $M; : $M' &); while :; do sleep 0.05; done"
	is "$(val timed_out):$(val signaled):$(val signo)" 1:1:9 "$mech: TERM ignored: SIGKILL after grace"
	within "$(val duration_ms)" $((300 + grace * 1000)) $((300 + grace * 2500)) \
	    "$mech: SIGKILL after the timeout + grace, before 2.5 times the grace (ms)"
	ok_if "$mech: TERM-ignoring grandchild killed too" 'no_survivor "$M"'

	# Through the grace the tick hook still runs: the runner saves its
	# live output and heartbeat there, and a run silent for the grace was
	# taken for lost (issue 13). A cancel a tick asks for in the grace
	# changes nothing: still timed out, SIGKILL at the end of the grace.
	run_exec --sandbox $sb --timeout 0.3 --grace 1.5 --tick-ms 50 \
	    --ticks-after-output got-term --cancel-on-output got-term -- \
	    /bin/sh -c "trap 'echo got-term' TERM; while :; do sleep 0.05; done"
	is "$(val timed_out):$(val canceled):$(val signaled):$(val signo)" 1:0:1:9 \
	    "$mech: a cancel asked in the grace changes nothing"
	at_least "$(val ticks_after_output)" 3 \
	    "$mech: the tick hook runs through the grace (ticks after SIGTERM)"
	# timeout + grace = 1.8 s (less a little: the timeout counts from the
	# clone, the duration from the exec); a cancel that restarted the grace, or a
	# kill at 2.5 x the grace, would cross the upper bound.
	within "$(val duration_ms)" 1700 4050 \
	    "$mech: SIGKILL still at the end of the grace (ms)"

	# A plain background job left behind (same process group).
	M=$(marker)
	run_exec --sandbox $sb -- /bin/sh -c "sleep $M >/dev/null 2>&1 & echo started"
	is "$(val exit_code)" 0 "$mech: script leaving a background job"
	ok_if "$mech: background job killed when the script ends" 'no_survivor "$M"'

	# Cancel through the tick hook, once output shows up.
	M=$(marker)
	run_exec --sandbox $sb --tick-ms 50 --cancel-on-output ready --grace $long -- \
	    /bin/sh -c "(setsid sleep $M &); echo ready; sleep $M"
	is "$(val canceled):$(val timed_out):$(val signo)" 1:0:15 "$mech: canceled by the tick hook"
	within "$(val duration_ms)" 0 $prompt_ms "$mech: cancel is prompt (ms)"
	ok_if "$mech: nothing survives a cancel" 'no_survivor "$M"'

	# Cancel of a child that ignores SIGTERM: SIGKILL after the grace
	# (counted from the cancel, 200 ms after the start or a little less).
	run_exec --sandbox $sb --cancel-after-ms 200 --grace $grace -- \
	    /bin/sh -c "trap '' TERM; while :; do sleep 0.05; done"
	is "$(val canceled):$(val signo)" 1:9 "$mech: cancel escalates to SIGKILL"
	within "$(val duration_ms)" $((grace * 1000)) $((200 + grace * 2500)) \
	    "$mech: SIGKILL after the cancel + grace, before 2.5 times the grace (ms)"

	# Something that forks fast while being killed.
	M=$(marker)
	run_exec --sandbox $sb --timeout 0.5 --grace 0.5 -- /bin/sh -c \
	    "while :; do (setsid sleep $M &) ; sleep 0.01; done"
	is "$(val timed_out)" 1 "$mech: forking loop timed out"
	ok_if "$mech: none of its many children survive" 'no_survivor "$M"'
done

# This test's own cgroup parent: every run cgroup made under it is gone,
# and nothing else is left in it (rmdir of a cgroup fails while it has a
# child cgroup or a process).
if [ -n "$PRIV" ]; then
	ok_if "no run cgroup left behind under this test's cgroup parent" \
	    '! ls -d "$PRIV"/run-* >/dev/null 2>&1'
	ok_if "this test's cgroup parent is left empty (rmdir works)" \
	    'rmdir "$PRIV"'
	# After a failure: what can be removed, is.
	if [ -d "$PRIV" ]; then
		rmdir "$PRIV"/run-* "$PRIV" 2>/dev/null
	fi
fi

done_testing
