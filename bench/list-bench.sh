#!/usr/bin/env bash
# bench/list-bench.sh - GET /api/v1/executions on a table of a million
# executions: newest page, a filtered page, a deep cursor page, and a
# filter that matches nothing. Prints the median of 20 requests each,
# through nginx, plus MariaDB's plan for the filtered query.
#
# Usage: bench/list-bench.sh [ROWS, default 1000000]
set -euo pipefail
. "$(dirname "$0")/../dev/lib.sh"
help_if_asked "$@"
ROWS=${1:-1000000}
private_state scriptorch-lbench
export SCRIPTORCH_LOG_LEVEL=warn SCRIPTORCH_RUNNERS=0
trap 'stack_down >/dev/null 2>&1; rm -rf "$STATE"' EXIT
need_pkgs $BUILD_PKGS $STACK_PKGS
build "$BUILD"
stack_up >/dev/null
say "inserting $ROWS executions"
db_cli scriptorch -e "INSERT INTO executions (script_id, script_name, \`trigger\`, status, input,
	stdout, queued_at, finished_at)
	SELECT 1 + seq % 50, CONCAT('s', seq % 50), IF(seq % 10 = 0, 'test', 'api'),
	  ELT(1 + seq % 4, 'succeeded', 'failed', 'timed_out', 'succeeded'), '{}', 'output line',
	  UTC_TIMESTAMP(3) - INTERVAL ($ROWS - seq) SECOND, UTC_TIMESTAMP(3) - INTERVAL ($ROWS - seq) SECOND
	FROM seq_1_to_$ROWS"
db_cli scriptorch -e "ANALYZE TABLE executions" >/dev/null
URL=http://127.0.0.1:$PORT/api/v1/executions
median() {  # path [base url]
	for _ in $(seq 20); do
		curl -s -o /dev/null -w '%{time_total}\n' -H "Authorization: Bearer $TOKEN" "${2:-$URL}$1"
	done | sort -n | sed -n 10p | awk '{printf "%.2f ms", $1 * 1000}'
}
deep=$(( ROWS / 2 ))
echo "executions table: $ROWS rows"
echo "newest 50:                        $(median '')"
echo "script_id=7, 100:                 $(median '?script_id=7&limit=100')"
echo "status=failed&trigger=test:       $(median '?status=failed&trigger=test')"
echo "cursor in the middle, 500:        $(median "?cursor=$deep&limit=500")"
echo "script_id=7&status=timed_out&since: $(median '?script_id=7&status=timed_out&since=2000-01-01T00:00:00Z')"
echo "no match (script_id=99999):       $(median '?script_id=99999')"
echo "scripts list with last_execution (50 scripts' runs): $(median '' "http://127.0.0.1:$PORT/api/v1/admin/scripts")"
echo "plan of script_id=7 ORDER BY id DESC LIMIT 100:"
db_cli scriptorch -e "EXPLAIN SELECT id FROM executions WHERE id < 4611686018427387904 AND script_id = 7 ORDER BY id DESC LIMIT 100"
