"""Two nodes on a three-server MariaDB Galera cluster (tests/nodes/galera.sh),
one server killed under load: no run lost, none run twice, one execution
per Idempotency-Key (docs/scale-out.md, "Galera").

The nodes list the servers in different orders, so that they write to two
servers at once and their conflicting claims meet at certification (1213
at COMMIT, retried), not only on row locks; the one they both fall back to
once the first server dies is the same."""
import os
import subprocess
import threading
import time
import urllib.error

from conftest import REPO, STATE, BUILD, call, script, side_effects, unique, wait_for

GALERA = os.path.join(REPO, "tests", "nodes", "galera.sh")
RUNS = 120


def galera(*args):
    r = subprocess.run([GALERA, *args], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, f"galera.sh {' '.join(args)}: {r.stderr[-3000:]}"
    return r.stdout.strip()


def admin_token(node):
    conf = os.path.join(STATE, "nodes", node, "scriptorch.conf")
    r = subprocess.run([os.path.join(BUILD, "src", "scriptorchd"), "-c", conf, "token", "create",
                        "--name", unique("galera"), "--role", "admin"],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    return r.stdout.strip().splitlines()[-1]


def test_a_galera_server_lost_under_load(nodes, sidefx):
    d = os.path.join(STATE, "galera")
    try:
        hosts = galera("start", d).splitlines()[-1]
        s1, s2, s3 = hosts.split(",")
        # A heartbeat timeout above Galera's eviction of a dead member
        # (3 s here, tests/nodes/galera.sh): commits wait for it.
        url_a = nodes.up("ga", "--db", f"{s1},{s2},{s3}", "--heartbeat-timeout", "15")
        url_b = nodes.up("gb", "--db", f"{s2},{s3},{s1}", "--heartbeat-timeout", "15")
        nodes.wait_peers(["ga", "gb"], with_main=False)
        tok = admin_token("ga")
        s = script("""
            #!/bin/sh
            echo start >> "$SIDEFX/$SCRIPTORCH_EXECUTION_ID"
            sleep 0.3
            echo end >> "$SIDEFX/$SCRIPTORCH_EXECUTION_ID"
            """, url=url_a, token=tok, env={"SIDEFX": sidefx})

        accepted, retried, lock = {}, [0], threading.Lock()
        killed = threading.Event()

        def submit(i):
            url = (url_a, url_b)[i % 2]
            key = f"galera-{i}"
            deadline = time.monotonic() + 120
            while True:
                try:
                    r = call("POST", f"/api/v1/scripts/{s['id']}/executions", {"input": {}},
                             url=url, token=tok, headers={"Idempotency-Key": key}, timeout=30)
                    if r.status in (200, 202):
                        with lock:
                            accepted[key] = r.json["id"]
                        return
                    assert r.status == 503, r
                except (urllib.error.URLError, ConnectionError, TimeoutError):
                    pass
                # No answer, or the database away: the same key again
                # tells whether it was created.
                with lock:
                    retried[0] += 1
                assert time.monotonic() < deadline, f"{key} never accepted"
                time.sleep(0.2)

        def worker(k):
            for i in range(k, RUNS, 6):
                submit(i)
                # A third in, the first server (ga's) dies.
                with lock:
                    n = len(accepted)
                if n >= RUNS // 3 and not killed.is_set():
                    killed.set()
                    galera("kill", d, "1")

        ts = [threading.Thread(target=worker, args=(k,)) for k in range(6)]
        for t in ts:
            t.start()
        for t in ts:
            t.join()
        assert killed.is_set()
        assert len(accepted) == RUNS
        ids = sorted(set(accepted.values()))
        assert len(ids) == RUNS, "two keys got one execution"

        def final():
            out = []
            for i in ids:
                x = call("GET", f"/api/v1/executions/{i}", url=url_b, token=tok).json
                if x["status"] in ("queued", "running"):
                    return None
                out.append(x)
            return out
        xs = wait_for(final, timeout=120, interval=1, what="every run to end")
        bad = [x for x in xs if x["status"] != "succeeded"]
        assert not bad, [(x["id"], x["status"], x["node"], x["error"]) for x in bad[:5]]
        # Exactly one execution per key in the database, each run once.
        listed = call("GET", f"/api/v1/executions?script_id={s['id']}&limit=500", url=url_b,
                      token=tok).json["executions"]
        assert sorted(x["id"] for x in listed) == ids
        fx = side_effects(sidefx, ids)
        twice = {i: v for i, v in fx.items() if v != ["start", "end"]}
        assert not twice, dict(list(twice.items())[:5])
        assert {x["node"] for x in xs} == {"ga", "gb"}
        print(f"galera: {retried[0]} submissions retried; server 2: {galera('status', d, '2')}")
    finally:
        for n in ("ga", "gb"):
            subprocess.run([os.path.join(REPO, "dev", "node"), "down", n], capture_output=True,
                           timeout=120)
        subprocess.run([GALERA, "stop", d], capture_output=True, timeout=120)
