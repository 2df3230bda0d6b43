#!/usr/bin/env bash
# bench/callback-bench.sh - completion callbacks: how soon a receiver gets
# an execution's end, and how many deliveries a node's sender makes per
# second.
#
# The receiver is a server of the stack's own nginx on a port of its own
# that answers every POST 204 and logs when it had the request ($msec)
# and its X-Scriptorch-Delivery: nginx, so that the receiver is not what
# is measured. Times are compared with the delivery's created_at, which
# the database writes in the statement that records the final status
# (same host, same clock).
#
#   1. latency, one at a time: N executions submitted 50 ms apart, each
#      with a callback_url: final status -> receipt, p50 and p99; and the
#      child's end (finished_at) -> receipt.
#   2. latency in a burst: B executions submitted at once by 8 clients:
#      the same figures while the sender has a queue.
#   3. throughput: with the daemon stopped, D pending deliveries are
#      written (of 50 executions, as the trigger writes them); the daemon
#      is started and the time until the receiver has all of them gives
#      deliveries per second (callback_concurrency 16, the default).
#
# Usage: bench/callback-bench.sh [N=300] [B=500] [D=5000]
set -euo pipefail
. "$(dirname "$0")/../dev/lib.sh"
N=${1:-300}
B=${2:-500}
D=${3:-5000}
private_state scriptorch-cbench
export SCRIPTORCH_RUNNERS=8 SCRIPTORCH_API_WORKERS=8 SCRIPTORCH_LOG_LEVEL=warn
trap 'stack_down >/dev/null 2>&1; rm -rf "$STATE"' EXIT

need_pkgs $BUILD_PKGS $STACK_PKGS
say "building"
build "$BUILD"
stack_up >/dev/null

RPORT=$(free_port)
RLOG=$STATE/receiver.log
cat >>"$STATE/nginx/site.conf" <<NGX
log_format cbrecv '\$msec \$http_x_scriptorch_delivery \$status';
server {
	listen 127.0.0.1:$RPORT;
	keepalive_requests 1000000;
	access_log $RLOG cbrecv;
	location / { return 204; }
}
NGX
start_nginx
for _ in $(seq 50); do
	curl -s -o /dev/null -X POST "http://127.0.0.1:$RPORT/ready" && break
	sleep 0.1
done

cat >"$SCRIPT_ROOT/done.sh" <<'SH'
#!/bin/sh
echo "done"
SH
chmod 755 "$SCRIPT_ROOT/done.sh"

export URL=http://127.0.0.1:$PORT TOKEN RURL=http://127.0.0.1:$RPORT/hook RLOG STATE N B D
export DB_SOCK=$STATE/mysql.sock

/usr/bin/python3 - <<'PY'
import concurrent.futures, json, os, subprocess, time, urllib.request

URL, TOKEN, RURL, RLOG = (os.environ[k] for k in ("URL", "TOKEN", "RURL", "RLOG"))
N, B, D = (int(os.environ[k]) for k in ("N", "B", "D"))

def api(method, path, body=None):
    req = urllib.request.Request(URL + path, method=method,
                                 data=json.dumps(body).encode() if body is not None else None,
                                 headers={"Authorization": "Bearer " + TOKEN,
                                          "Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=60) as r:
        return json.loads(r.read() or b"null")

def sql(q):
    return subprocess.run(["mariadb", "--no-defaults", f"--socket={os.environ['DB_SOCK']}", "-uroot",
                           "-N", "scriptorch", "-e", q], check=True, capture_output=True,
                          text=True).stdout

def received():
    """delivery id -> receipt time (epoch s), from the receiver's log."""
    out = {}
    with open(RLOG) as f:
        for line in f:
            msec, did, status = line.split()
            if did != "-":
                out.setdefault(int(did), float(msec))
    return out

def wait_all(ids, timeout=300):
    deadline = time.time() + timeout
    while time.time() < deadline:
        got = received()
        if all(i in got for i in ids):
            return got
        time.sleep(0.2)
    raise SystemExit(f"only {sum(i in received() for i in ids)} of {len(ids)} deliveries arrived")

def deliveries_of(eids):
    """delivery id -> (created_at, the execution's finished_at), epoch s."""
    rows = sql("SELECT d.id, TIMESTAMPDIFF(MICROSECOND, '1970-01-01', d.created_at), "
               "TIMESTAMPDIFF(MICROSECOND, '1970-01-01', e.finished_at) FROM deliveries d "
               "JOIN executions e ON e.id = d.execution_id WHERE d.execution_id IN (%s)"
               % ",".join(map(str, eids)))
    out = {}
    for line in rows.splitlines():
        did, created, finished = line.split()
        out[int(did)] = (int(created) / 1e6, int(finished) / 1e6)
    return out

def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(len(xs) * p / 100))]

def report(label, eids):
    # Every execution ends (a burst drains in the runners' own time).
    deadline = time.time() + 600
    while True:
        ds = deliveries_of(eids)
        if len(ds) == len(eids) or time.time() > deadline:
            break
        time.sleep(0.2)
    if len(ds) != len(eids):
        have = set(int(x) for x in sql("SELECT execution_id FROM deliveries WHERE execution_id IN (%s)"
                                       % ",".join(map(str, eids))).split())
        missing = [e for e in eids if e not in have]
        print(f"{label}: {len(missing)} executions without a delivery after 600 s:",
              sql("SELECT status, COUNT(*) FROM executions WHERE id IN (%s) GROUP BY status"
                  % ",".join(map(str, missing))).replace("\n", "; "), flush=True)
    got = wait_all(list(ds))
    from_final = [(got[d] - c) * 1000 for d, (c, f) in ds.items()]
    from_end = [(got[d] - f) * 1000 for d, (c, f) in ds.items()]
    print(f"{label}: {len(ds)} deliveries; final status -> receipt p50 {pct(from_final, 50):.1f} ms, "
          f"p99 {pct(from_final, 99):.1f} ms, max {max(from_final):.1f} ms; child's end -> receipt "
          f"p50 {pct(from_end, 50):.1f} ms, p99 {pct(from_end, 99):.1f} ms")

s = api("POST", "/api/v1/admin/scripts",
        {"name": "cb-bench", "type": "shell", "path": os.path.join(os.environ["STATE"], "scripts", "done.sh"),
         "callback_url": RURL})
sid = s["id"]

# 1. one at a time
eids = []
for _ in range(N):
    eids.append(api("POST", f"/api/v1/scripts/{sid}/executions", {"input": {}})["id"])
    time.sleep(0.05)
report("one at a time (every 50 ms)", eids)

# 2. a burst by 8 clients
with concurrent.futures.ThreadPoolExecutor(8) as pool:
    eids = list(pool.map(lambda _: api("POST", f"/api/v1/scripts/{sid}/executions", {"input": {}})["id"],
                         range(B)))
report(f"burst of {B} (8 clients)", eids)
PY

# Phase 3 needs the daemon stopped and started: done from the shell.
say "throughput: $D deliveries written while the daemon is stopped"
stop_daemon
db_cli scriptorch -e "INSERT INTO deliveries (execution_id, url, created_at, next_attempt_at)
	SELECT e.id, 'http://127.0.0.1:$RPORT/hook', UTC_TIMESTAMP(3), UTC_TIMESTAMP(3)
	FROM seq_1_to_$D s JOIN (SELECT id, ROW_NUMBER() OVER (ORDER BY id) - 1 AS k
	  FROM executions ORDER BY id LIMIT 50) e ON e.k = s.seq % 50"
first=$(db_cli -N scriptorch -e "SELECT MIN(id) FROM deliveries WHERE status = 'pending'")
count() { awk -v f="$first" '$2 != "-" && $2 >= f' "$RLOG" | wc -l; }
t0=$(date +%s.%N)
start_daemon
deadline=$(( $(date +%s) + 600 ))
while [ "$(count)" -lt "$D" ]; do
	sleep 0.05
	[ "$(date +%s)" -lt "$deadline" ] || die "the backlog was not delivered in 10 min"
done
read -r firstrx last < <(awk -v f="$first" '$2 != "-" && $2 >= f {
	if (min == "" || $1 < min) min = $1; if ($1 > max) max = $1 } END { print min, max }' "$RLOG")
awk -v n="$D" -v a="$firstrx" -v b="$last" -v t0="$t0" 'BEGIN {
	printf "throughput: %d deliveries in %.2f s from the first to the last receipt: %.0f deliveries/s (%.2f s from the daemon'"'"'s start)\n", n, b - a, (n - 1) / (b - a), b - t0 }'
pending=$(db_cli -N scriptorch -e "SELECT COUNT(*) FROM deliveries WHERE status <> 'delivered'")
echo "not delivered after the run: $pending"
