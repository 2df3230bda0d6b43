#!/usr/bin/env bash
# bench/nodes-bench.sh - several nodes on one database (docs/scale-out.md),
# on this machine: its cores are shared by the database, every node and
# the runs, so the figures say what the claim path costs, not what N
# machines would do.
#
#   1. short runs per second with 1, 2 and 3 nodes (4 runners each): RUNS
#      runs of a script that prints a line, submitted by 8 client threads,
#      (a) all to the first node, (b) spread over the nodes; from the first
#      queued_at to the last finished_at, by the database's clock; and how
#      many each node ran.
#   2. the claim latency across nodes: a run queued on a node that may not
#      run it (it lacks the script's label) until its child is exec'd on an
#      idle node that may (started_at - queued_at), SAMPLES runs one after
#      the other, at queue_probe_ms 20 (the default) and 5; beside it the
#      same for a run its own idle node takes (the mailbox), and with
#      the watch off (queue_probe_ms 0: the poll interval's scan alone).
#   3. what watching costs while nothing happens: the CPU time of the
#      database server and of all scriptorchd processes over 10 s, with 1
#      node and with 3 idle nodes.
#
# Usage: bench/nodes-bench.sh [RUNS, default 600] [SAMPLES, default 100]
set -euo pipefail
. "$(dirname "$0")/../dev/lib.sh"
RUNS=${1:-600}
SAMPLES=${2:-100}
private_state scriptorch-nodes-bench
export SCRIPTORCH_RUNNERS=4 SCRIPTORCH_API_WORKERS=4 SCRIPTORCH_LOG_LEVEL=warn
cleanup() {
	for d in "$STATE"/nodes/*/; do
		[ -d "$d" ] && SCRIPTORCH_STATE=$STATE SCRIPTORCH_BUILD=$BUILD \
			"$REPO/dev/node" down "$(basename "$d")" >/dev/null 2>&1 || true
	done
	stack_down >/dev/null 2>&1 || true
	rm -rf "$STATE"
}
trap cleanup EXIT

need_pkgs $BUILD_PKGS $STACK_PKGS
say "building"
build "$BUILD"
stack_up >/dev/null
cat >"$STATE/env" <<ENV
SCRIPTORCH_URL=http://127.0.0.1:$PORT
SCRIPTORCH_TOKEN=$TOKEN
SCRIPTORCH_SCRIPT_ROOT=$SCRIPT_ROOT
SCRIPTORCH_WHEELHOUSE=$WHEELHOUSE
ENV
export SCRIPTORCH_STATE=$STATE SCRIPTORCH_BUILD=$BUILD
node() { "$REPO/dev/node" "$@" 2>/dev/null | tail -1; }

printf '#!/bin/sh\necho hi\n' >"$SCRIPT_ROOT/hi.sh"
chmod 755 "$SCRIPT_ROOT/hi.sh"

# The client: submits, waits for the ends, reads the times.
cat >"$STATE/client.py" <<'PY'
import json, os, statistics, sys, threading, time, urllib.request

TOK = os.environ["SCRIPTORCH_TOKEN"]
MAIN = os.environ["SCRIPTORCH_URL"]

def call(method, url, body=None):
    req = urllib.request.Request(url, data=json.dumps(body).encode() if body is not None else None,
                                 method=method, headers={"Authorization": "Bearer " + TOK,
                                                         "Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=120) as r:
        return json.loads(r.read() or b"null")

def script(name, labels):
    for s in call("GET", MAIN + "/api/v1/admin/scripts?q=" + name)["scripts"]:
        if s["name"] == name:
            return s["id"]
    return call("POST", MAIN + "/api/v1/admin/scripts",
                {"name": name, "type": "shell", "path": os.environ["SCRIPTORCH_SCRIPT_ROOT"] + "/hi.sh",
                 "node_labels": labels})["id"]

def ts(s):
    return time.mktime(time.strptime(s[:19], "%Y-%m-%dT%H:%M:%S")) + float(s[19:23])

def runs(urls, n, spread):
    sid = script("hi", [])
    ids, lock = [], threading.Lock()
    def worker(k):
        for i in range(k, n, 8):
            u = urls[i % len(urls)] if spread else urls[0]
            x = call("POST", f"{u}/api/v1/scripts/{sid}/executions", {})
            with lock:
                ids.append(x["id"])
    th = [threading.Thread(target=worker, args=(k,)) for k in range(8)]
    [t.start() for t in th]
    [t.join() for t in th]
    while True:
        xs = [call("GET", f"{MAIN}/api/v1/executions/{i}") for i in ids]
        if all(x["status"] not in ("queued", "running") for x in xs):
            break
        time.sleep(0.5)
    bad = [x for x in xs if x["status"] != "succeeded"]
    t0 = min(ts(x["queued_at"]) for x in xs)
    t1 = max(ts(x["finished_at"]) for x in xs)
    per = {}
    for x in xs:
        per[x["node"]] = per.get(x["node"], 0) + 1
    print(f"{len(urls)} node(s), {'spread' if spread else 'all to one'}: {n} runs in {t1 - t0:.2f} s = "
          f"{n / (t1 - t0):.0f} runs/s; per node {dict(sorted(per.items()))}; not succeeded: {len(bad)}")

def latency(url, labels, n, what):
    sid = script("hi-" + ("-".join(labels) or "any"), labels)
    lat, where = [], {}
    for _ in range(n):
        x = call("POST", f"{url}/api/v1/scripts/{sid}/executions?wait=30", {})
        assert x["status"] == "succeeded", x
        lat.append((ts(x["started_at"]) - ts(x["queued_at"])) * 1000)
        where[x["node"]] = where.get(x["node"], 0) + 1
        time.sleep(0.05)
    lat.sort()
    q = lambda p: lat[min(len(lat) - 1, int(p * len(lat)))]
    print(f"{what}: queued -> started over {n} runs: p50 {q(0.5):.1f} ms, p90 {q(0.9):.1f} ms, "
          f"max {lat[-1]:.1f} ms (mean {statistics.mean(lat):.1f}); ran on {where}")

if sys.argv[1] == "runs":
    runs(sys.argv[4:], int(sys.argv[2]), sys.argv[3] == "spread")
else:
    latency(sys.argv[2], sys.argv[3].split(",") if sys.argv[3] else [], int(sys.argv[4]), sys.argv[5])
PY
client() { SCRIPTORCH_URL=http://127.0.0.1:$PORT SCRIPTORCH_TOKEN=$TOKEN \
	SCRIPTORCH_SCRIPT_ROOT=$SCRIPT_ROOT /usr/bin/python3 "$STATE/client.py" "$@"; }
# Waits until the nodes list shows $1 + 1 nodes up, then two heartbeat
# intervals more: each janitor has counted the others by then, and the
# idle nodes watch the queue.
peers() {
	local i
	for i in $(seq 1 100); do
		[ "$(curl -fsS -H "Authorization: Bearer $TOKEN" "http://127.0.0.1:$PORT/api/v1/nodes" |
			grep -o '"status":"up"' | wc -l)" -ge $(($1 + 1)) ] && break
		sleep 0.1
	done
	sleep 2
}

# CPU seconds (user + system) of the processes whose command matches $1,
# summed, as /proc says.
cpu_of() {
	local t=0 p
	for p in $(pgrep -f "$1"); do
		t=$((t + $(awk '{print $14 + $15}' "/proc/$p/stat" 2>/dev/null || echo 0)))
	done
	echo "$t"
}
idle_cost() {
	local d0 s0 d1 s1 hz
	hz=$(getconf CLK_TCK)
	d0=$(cpu_of "mariadbd.*$STATE")
	s0=$(cpu_of "scriptorchd -c $STATE")
	sleep 10
	d1=$(cpu_of "mariadbd.*$STATE")
	s1=$(cpu_of "scriptorchd -c $STATE")
	echo "$1: over 10 s, the database used $(( (d1 - d0) * 1000 / hz )) ms of CPU, the scriptorchd processes $(( (s1 - s0) * 1000 / hz )) ms"
}

echo "== short runs per second ($RUNS runs, 4 runners per node, $(nproc) cores)"
MAIN=http://127.0.0.1:$PORT
client runs "$RUNS" one "$MAIN"
B=$(node up b)
peers 1
client runs "$RUNS" one "$MAIN" "$B"
client runs "$RUNS" spread "$MAIN" "$B"
C=$(node up c)
peers 2
client runs "$RUNS" one "$MAIN" "$B" "$C"
client runs "$RUNS" spread "$MAIN" "$B" "$C"
echo "== idle cost of watching (3 nodes up, nothing queued)"
sleep 3
idle_cost "3 idle nodes"
node down b >/dev/null
node down c >/dev/null
sleep 3
idle_cost "1 idle node"

echo "== claim latency across nodes ($SAMPLES runs each, one at a time)"
client latency "$MAIN" "" "$SAMPLES" "local (the mailbox of an idle runner)"
B=$(node up b --labels x)
peers 1
client latency "$MAIN" "x" "$SAMPLES" "across nodes, queue_probe_ms 20"
node down b >/dev/null
B=$(node up b --labels x --probe-ms 5)
peers 1
client latency "$MAIN" "x" "$SAMPLES" "across nodes, queue_probe_ms 5"
node down b >/dev/null
B=$(node up b --labels x --probe-ms 0)
peers 1
client latency "$MAIN" "x" "$((SAMPLES / 4))" "across nodes, queue_probe_ms 0 (poll_interval_ms 500 alone)"
