#!/bin/sh
# The exec gate: the child is set up while the caller works (a database
# claim in the runner), and execs only when the caller says go.
. "${EXEC_TEST_LIB:-$(dirname "$0")/lib.sh}"

# Held at the gate for 300 ms: the program has not run by then, and runs
# once let go.
run_exec --gate go --gate-wait-ms 300 --gate-probe "$T/ran" \
    --stdout-file "$T/o" -- /bin/sh -c "touch $T/ran; echo hello"
is "$(val result):$(val exit_code)" ok:0 "let go: the program runs"
is "$(val gate_probe_seen)" 0 "it did not run before the gate opened"
is "$(cat "$T/o")" hello "its output is captured"
is "$(val gate_refused)" 0 "not marked refused"

# Refused: the program never runs, exec_run fails, nothing remains.
m=$(marker)
rm -f "$T/ran"
run_exec --gate refuse --gate-wait-ms 100 --gate-probe "$T/ran" \
    -- /bin/sh -c "touch $T/ran; sleep $m"
is "$(val result)" error "refused: exec_run fails"
is "$(val gate_refused)" 1 "and says the gate refused"
ok_if "the program never ran" [ ! -e "$T/ran" ]
ok_if "no process of it remains" sh -c '! pgrep -f "sleep $1" >/dev/null' _ "$m"

# A child that fails before the gate (a missing work dir) is reported as
# such once the gate opens, not hidden by it.
run_exec --gate go --cwd "$T/missing" -- /bin/true
is "$(val result)" error "a set-up failure before the gate is an error"
ok_if "which names the cause" grep -q "cannot change directory" "$T/res"
is "$(val gate_refused)" 0 "and is not a refusal"

# Under a real identity and limits, as the runner uses it.
run_exec --gate go --user nobody --rlimit-nofile 64 --stdout-file "$T/o" \
    -- /bin/sh -c 'id -u; ulimit -n'
is "$(cat "$T/o" | tr '\n' ' ')" "$(id -u nobody) 64 " \
    "identity and limits hold through the gate"

done_testing
