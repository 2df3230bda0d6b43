#!/usr/bin/env bash
# stackctl.sh - lets the integration tests act on the stack dev/test
# started: stop-db, start-db, daemon-pid, start-daemon, stop-daemon,
# children, sql, a held sql-session.
set -euo pipefail
. "$(dirname "$0")/../../dev/lib.sh"
STATE=${SCRIPTORCH_STATE:?}
case "${1:-}" in
stop-db) stop_mariadb ;;
start-db) start_mariadb ;;
daemon-pid) cat "$STATE/scriptorchd.pid" ;;
start-daemon) BUILD=${SCRIPTORCH_BUILD:?}; start_daemon ;;
stop-daemon) stop_daemon ;;
children) pgrep -l -P "$(cat "$STATE/scriptorchd.pid")" ;;
log) cat "$STATE/scriptorchd.log" ;;
sql) db_cli -N scriptorch -e "$2" ;;
sql-session) db_cli -N --unbuffered scriptorch ;;   # statements on stdin
*) echo "usage: stackctl.sh stop-db|start-db|daemon-pid|start-daemon|stop-daemon|children|log|sql SQL|sql-session" >&2; exit 2 ;;
esac
