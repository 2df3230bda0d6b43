"""Graceful stop: SIGTERM lets in-flight requests and runs finish, then the
daemon exits. Runs last (file name), and starts the daemon again."""
import os
import signal
import threading
import time

from conftest import call, stackctl, unique, wait_for
from test_executions import register, write_script


def test_sigterm_lets_in_flight_requests_finish():
    s = register(write_script(unique("inflight") + ".sh", "#!/bin/sh\nsleep 2\necho finished\n"))
    master = int(stackctl("daemon-pid"))
    result = {}

    def waiting_request():
        result["r"] = call("POST", f"/api/v1/scripts/{s['id']}/executions?wait=20", {"input": {}}, timeout=40)

    t = threading.Thread(target=waiting_request)
    t.start()
    time.sleep(0.8)            # the request is in flight, the script running
    os.kill(master, signal.SIGTERM)
    t.join(40)
    r = result["r"]
    assert r.status == 200, r
    assert r.json["status"] == "succeeded" and r.json["stdout"] == "finished\n"
    wait_for(lambda: not os.path.exists(f"/proc/{master}"), timeout=20, what="the master to exit")
    assert "stopped" in stackctl("log").splitlines()[-1]
    # new requests get the contract's 503 from nginx while it is down
    down = call("GET", "/api/v1/health", token=None)
    assert down.status == 503 and down.json["error"]["code"] == "unavailable"
    stackctl("start-daemon")
    wait_for(lambda: call("GET", "/api/v1/health", token=None).status == 200, timeout=20,
             what="the daemon to come back")
