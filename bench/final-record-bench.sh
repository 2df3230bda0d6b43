#!/usr/bin/env bash
# bench/final-record-bench.sh - what a run's final record costs in
# MariaDB, statement by statement, against a durable commit's floor.
#
# A private MariaDB (dev/lib.sh's, innodb_flush_log_at_trx_commit=1) with
# the schema of sql/, and bench/final-record.c, which connects as the
# daemon does and times each variant (see its header) in paired rounds:
# every variant in every round, the order reversed every other round, N
# statements a batch. MariaDB runs in a cpuacct group of its own, so its
# CPU per statement is counted with its background threads.
#
# Usage: bench/final-record-bench.sh [rounds, default 10] [variant...]
#   N=n          statements per variant and round (default 100)
#   PAUSE_US=us  idle time before each statement (default 2000)
#   BUILD_DIR=d  an existing build of this tree (else one is made)
#   STDOUT_BYTES=n  the stdout recorded (default: a line, as hello.cgi prints)
set -euo pipefail
. "$(dirname "$0")/../dev/lib.sh"
help_if_asked "$@"
ROUNDS=${1:-10}
shift || true
VARIANTS=${*:-call_row upd_row call_norow upd_flag update update_nt update_ni select select_narrow call_update call_count call_vars call_narrow call_lean upd_sel upd_vars floor floor@0 do1 idle}
N=${N:-100}
PAUSE_US=${PAUSE_US:-2000}
private_state scriptorch-finalrec
[ -z "${BUILD_DIR:-}" ] || BUILD=$BUILD_DIR
cleanup() {
	stop_mariadb >/dev/null 2>&1 || true
	if [ -n "${ACCT:-}" ] && [ -d "$ACCT" ]; then
		local pid
		while read -r pid; do echo "$pid" >/sys/fs/cgroup/cpuacct/cgroup.procs; done <"$ACCT/cgroup.procs"
		rmdir "$ACCT" 2>/dev/null || true
	fi
	rm -rf "$STATE"
}
trap cleanup EXIT

# shellcheck disable=SC2086 # lists of package names
need_pkgs $BUILD_PKGS $STACK_PKGS gcc
if [ -z "${BUILD_DIR:-}" ]; then
	say "building"
	build "$BUILD"
fi
start_mariadb
ensure_secret_key "$STATE/secret.key"
ensure_callback_secret "$STATE/callback.secret"
mkdir -p "$RUNTIME"
write_conf "$STATE/scriptorch.conf"
"$BUILD/src/scriptorchd" -c "$STATE/scriptorch.conf" migrate --dir "$REPO/sql" >"$STATE/migrate.log" 2>&1 ||
	{ cat "$STATE/migrate.log" >&2; die "migration failed"; }

# The copies of the table the variants compare with: without the
# trigger (CREATE TABLE ... LIKE copies the indexes, not the triggers),
# and without the trigger and the secondary indexes that hold status
# (those a final UPDATE rewrites); a table for the commit floor; and the
# candidates' procedures.
PARAMS="IN p_id BIGINT UNSIGNED, IN p_status VARCHAR(16), IN p_version VARCHAR(80),
  IN p_exit_code INT, IN p_signal INT, IN p_stdout LONGBLOB,
  IN p_stderr LONGBLOB, IN p_stdout_trunc TINYINT, IN p_stderr_trunc TINYINT,
  IN p_output LONGTEXT CHARACTER SET utf8mb4, IN p_output_file LONGBLOB,
  IN p_error TEXT CHARACTER SET utf8mb4, IN p_duration_ms DOUBLE,
  IN p_cpu_user_ms BIGINT, IN p_cpu_system_ms BIGINT, IN p_max_rss_kb BIGINT,
  IN p_since_exec_us BIGINT, IN p_ended_ago_us BIGINT,
  IN p_limit VARCHAR(16), IN p_want_row TINYINT"
UPDATE="UPDATE executions SET status = p_status,
    script_version = COALESCE(p_version, script_version),
    exit_code = p_exit_code, \`signal\` = p_signal,
    stdout = p_stdout, stderr = p_stderr,
    stdout_truncated = p_stdout_trunc, stderr_truncated = p_stderr_trunc,
    output = p_output, output_file = p_output_file, error = p_error,
    finished_at = UTC_TIMESTAMP(3) - INTERVAL p_ended_ago_us MICROSECOND,
    duration_ms = p_duration_ms,
    cpu_user_ms = p_cpu_user_ms, cpu_system_ms = p_cpu_system_ms,
    max_rss_kb = p_max_rss_kb, \`limit\` = p_limit,
    started_at = COALESCE(started_at,
      UTC_TIMESTAMP(3) - INTERVAL p_since_exec_us MICROSECOND)
    WHERE id = p_id AND status = 'running'"
db_cli scriptorch <<SQL
CREATE TABLE executions_nt LIKE executions;
CREATE TABLE executions_ni LIKE executions;
ALTER TABLE executions_ni DROP INDEX executions_status,
  DROP INDEX executions_script_status, DROP INDEX executions_status_trigger,
  DROP INDEX executions_queued_at, DROP INDEX executions_script_queued;
CREATE TABLE finalrec_floor (id INT AUTO_INCREMENT PRIMARY KEY, v INT)
  ENGINE=InnoDB;
DELIMITER //
CREATE PROCEDURE finalrec_update($PARAMS) SQL SECURITY INVOKER
BEGIN
  $UPDATE;
END//
CREATE PROCEDURE finalrec_count($PARAMS) SQL SECURITY INVOKER
BEGIN
  $UPDATE;
  SELECT ROW_COUNT() AS updated;
END//
CREATE PROCEDURE finalrec_narrow($PARAMS) SQL SECURITY INVOKER
BEGIN
  DECLARE n INT;
  $UPDATE;
  SET n = ROW_COUNT();
  SELECT id, script_id, script_name, script_version, \`trigger\`, status,
    input, queued_at, started_at, finished_at, node, triggered_by,
    callback_url, n AS updated
    FROM executions WHERE id = p_id;
END//
CREATE PROCEDURE finalrec_vars($PARAMS) SQL SECURITY INVOKER
BEGIN
  DECLARE n INT;
  DECLARE v_fin DATETIME(3) DEFAULT
    UTC_TIMESTAMP(3) - INTERVAL p_ended_ago_us MICROSECOND;
  $(sed -e 's/finished_at = UTC_TIMESTAMP(3) - INTERVAL p_ended_ago_us MICROSECOND/finished_at = v_fin/' \
	-e 's/started_at = COALESCE(started_at,/started_at = (@finalrec_started := COALESCE(started_at,/' \
	-e 's/MICROSECOND)$/MICROSECOND))/' <<<"$UPDATE");
  SET n = ROW_COUNT();
  SELECT n AS updated, v_fin AS finished_at, @finalrec_started AS started_at;
END//
CREATE PROCEDURE finalrec_lean($PARAMS) SQL SECURITY INVOKER
BEGIN
  $UPDATE;
  IF p_want_row THEN
    SELECT id, script_id, script_name, script_version, \`trigger\`,
      status, input, exit_code, \`signal\`, stdout, stderr,
      stdout_truncated, stderr_truncated, output, output_file, error,
      queued_at, started_at, finished_at, duration_ms, cpu_user_ms,
      cpu_system_ms, max_rss_kb, node, \`limit\`, triggered_by, callback_url,
      ROW_COUNT() AS updated
      FROM executions WHERE id = p_id;
  ELSE
    SELECT ROW_COUNT() AS updated,
      ROW_COUNT() = 1 AND callback_url IS NOT NULL AS delivery
      FROM executions WHERE id = p_id;
  END IF;
END//
DELIMITER ;
SQL

ACCT=/sys/fs/cgroup/cpuacct/scriptorch-finalrec.$$
[ -w /sys/fs/cgroup/cpuacct/cgroup.procs ] ||
	die "the benchmark needs the cgroup v1 cpuacct hierarchy at /sys/fs/cgroup/cpuacct"
mkdir "$ACCT"
cat "$STATE/mariadbd.pid" >"$ACCT/cgroup.procs"

# shellcheck disable=SC2046 # pkg-config's flags are words
cc -O2 -Wall -o "$STATE/final-record" "$REPO/bench/final-record.c" \
	$(pkg-config --cflags --libs libmariadb)
ROWS=$STATE/rows
load0=$(cut -d' ' -f1-3 /proc/loadavg)
say "$ROUNDS paired rounds of $N statements a variant, ${PAUSE_US} us apart (load $load0)"
# shellcheck disable=SC2086
"$STATE/final-record" "$STATE/mysql.sock" "$ACCT/cpuacct.usage" "$ROUNDS" "$N" \
	"$PAUSE_US" $VARIANTS | tee "$ROWS" >&2
load1=$(cut -d' ' -f1-3 /proc/loadavg)

/usr/bin/python3 - "$ROWS" "$(date -u +%Y-%m-%dT%H:%MZ)" "$load0" "$load1" <<'PY'
import statistics as st, sys
from collections import defaultdict
rows = [l.split() for l in open(sys.argv[1]) if l.strip()]
when, load0, load1 = sys.argv[2:5]
by = defaultdict(dict)   # variant -> round -> values
order = []
for r in rows:
    rnd, name, vals = int(r[0]), r[1], list(map(float, r[2:]))
    by[name][rnd] = vals
    if name not in order:
        order.append(name)
def fmt(v, d=0):
    if not v:
        return "-"
    return f"{st.median(v):.{d}f} ({min(v):.{d}f}-{max(v):.{d}f})"
P50, P90, EXEC, FETCH, NEXT, DBCPU, CCPU, LOG, FSYNC = range(9)
base = "call_row" if "call_row" in by else order[0]
print()
print(f"final record, {when}: {len(by[order[0]])} paired rounds; medians of the rounds' "
      f"figures (range); load {load0} at the start, {load1} at the end")
print(f"{'variant':<14} {'p50 us':>16} {'p50 / ' + base:>17} {'exec':>5} {'fetch':>5} {'next':>5}"
      f" {'MariaDB CPU us':>16} {'client CPU':>10} {'redo B':>7} {'fsyncs':>6}")
for name in order:
    d = by[name]
    col = lambda k: [d[r][k] for r in sorted(d)]
    ratio = [d[r][P50] / by[base][r][P50] for r in sorted(d) if r in by[base] and by[base][r][P50] > 0]
    print(f"{name:<14} {fmt(col(P50)):>16} {fmt(ratio, 2):>17} {st.median(col(EXEC)):5.0f}"
          f" {st.median(col(FETCH)):5.0f} {st.median(col(NEXT)):5.0f} {fmt(col(DBCPU)):>16}"
          f" {st.median(col(CCPU)):10.0f} {st.median(col(LOG)):7.0f} {st.median(col(FSYNC)):6.2f}")
PY
