"""Nodes on one node (docs/api.md, "Nodes"): the nodes list, the scripts'
node_labels field, and an execution no node may run waiting queued. The
tests with several nodes are the `nodes` suite (tests/nodes/)."""
import time

from conftest import assert_error, call, shell_script, unique, wait_for


def test_this_node_is_listed_up(viewer):
    r = call("GET", "/api/v1/nodes", token=viewer)
    assert r.status == 200, r
    nodes = r.json["nodes"]
    assert len(nodes) >= 1, nodes
    up = [n for n in nodes if n["status"] == "up"]
    assert up, nodes
    me = up[0]
    assert me["runners"] >= 1 and 0 <= me["busy"] <= me["runners"], me
    assert me["labels"] == [], me
    assert me["version"] == call("GET", "/api/v1/health", token=None).json["version"], me
    # The heartbeat goes on: last_seen_at moves (heartbeat_interval_s is 1
    # on the test stack).
    first = me["last_seen_at"]
    wait_for(lambda: [n for n in call("GET", "/api/v1/nodes", token=viewer).json["nodes"]
                      if n["name"] == me["name"]][0]["last_seen_at"] > first,
             timeout=20, what="a newer heartbeat")
    assert_error(call("GET", "/api/v1/nodes", token=None), 401, "unauthorized")


def test_node_labels_field():
    s = shell_script("#!/bin/sh\necho hi\n", node_labels=["gpu", "ffmpeg-5.1"])
    assert s["node_labels"] == ["ffmpeg-5.1", "gpu"], s
    got = call("GET", f"/api/v1/admin/scripts/{s['id']}").json
    assert got["node_labels"] == ["ffmpeg-5.1", "gpu"], got
    r = call("PATCH", f"/api/v1/admin/scripts/{s['id']}", {"node_labels": None})
    assert r.status == 200 and r.json["node_labels"] == [], r
    r = call("PATCH", f"/api/v1/admin/scripts/{s['id']}", {"node_labels": ["ssd"]})
    assert r.status == 200 and r.json["node_labels"] == ["ssd"], r
    for bad, field in (("gpu", "node_labels"), (["gpu", "GPU"], "node_labels[1]"),
                       (["gpu", 3], "node_labels[1]"), (["a", "a"], "node_labels[1]"),
                       ([f"l{i}" for i in range(17)], "node_labels")):
        assert_error(call("PATCH", f"/api/v1/admin/scripts/{s['id']}", {"node_labels": bad}),
                     422, "validation_failed", field)
    assert call("GET", f"/api/v1/admin/scripts/{s['id']}").json["node_labels"] == ["ssd"]
    assert call("DELETE", f"/api/v1/admin/scripts/{s['id']}").status == 204


def test_an_execution_no_node_may_run_waits_queued():
    label = unique("nowhere")
    s = shell_script("#!/bin/sh\necho ran\n", node_labels=[label])
    r = call("POST", f"/api/v1/scripts/{s['id']}/executions", {})
    assert r.status == 202 and r.json["status"] == "queued", r
    x = r.json
    # ?wait= gives up waiting and answers it still queued.
    w = call("POST", f"/api/v1/scripts/{s['id']}/executions?wait=2", {}, timeout=30)
    assert w.status == 202 and w.json["status"] == "queued", w
    # No runner of this node takes them, at a hand-off or at the polls.
    time.sleep(1.5)
    for e in (x, w.json):
        got = call("GET", f"/api/v1/executions/{e['id']}").json
        assert got["status"] == "queued" and got["node"] is None and got["started_at"] is None, got
    # A script without labels still runs here meanwhile.
    free = shell_script("#!/bin/sh\necho free\n")
    r = call("POST", f"/api/v1/scripts/{free['id']}/executions?wait=60", {}, timeout=90)
    assert r.status == 200 and r.json["status"] == "succeeded", r
    for e in (x, w.json):
        c = call("POST", f"/api/v1/executions/{e['id']}/cancel")
        assert c.status == 200 and c.json["status"] == "canceled", c
    for sid in (s["id"], free["id"]):
        assert call("DELETE", f"/api/v1/admin/scripts/{sid}").status == 204
