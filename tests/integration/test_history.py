"""The history's filters and figures (docs/api.md, "Executions", "History"):
several statuses at once, a time range (since inclusive, until exclusive),
either order with a cursor, counts by status with the success rate, and
the durations of the last runs for a chart."""
import pytest

from conftest import assert_error, call, shell_script, wait_for


@pytest.fixture(scope="module")
def runs():
    """One script, six executions in this order: exit 0, 0, 1, 0, 2, and a
    long one canceled."""
    s = shell_script("""
        #!/bin/sh
        [ -n "$INPUT_SLEEP" ] && sleep "$INPUT_SLEEP"
        exit "${INPUT_CODE:-0}"
        """)
    made = []
    for code in (0, 0, 1, 0, 2):
        r = call("POST", f"/api/v1/scripts/{s['id']}/executions?wait=60", {"input": {"code": code}},
                 timeout=90)
        assert r.status == 200, r
        made.append(r.json)
    long = call("POST", f"/api/v1/scripts/{s['id']}/executions", {"input": {"sleep": 60}})
    assert long.status == 202, long
    assert call("POST", f"/api/v1/executions/{long.json['id']}/cancel").status == 200
    wait_for(lambda: call("GET", f"/api/v1/executions/{long.json['id']}").json["status"] == "canceled",
             timeout=30, what="the cancel")
    made.append(call("GET", f"/api/v1/executions/{long.json['id']}").json)
    assert [x["status"] for x in made] == ["succeeded", "succeeded", "failed", "succeeded", "failed",
                                           "canceled"], made
    return s, made


def ids(query):
    r = call("GET", "/api/v1/executions?" + query)
    assert r.status == 200, r
    return [x["id"] for x in r.json["executions"]], r.json["next_cursor"]


def test_several_statuses_at_once(runs):
    s, made = runs
    got, _ = ids(f"script_id={s['id']}&status=failed,canceled")
    assert got == [made[5]["id"], made[4]["id"], made[2]["id"]], got
    got, _ = ids(f"script_id={s['id']}&status=succeeded,succeeded")
    assert got == [made[3]["id"], made[1]["id"], made[0]["id"]], got
    for bad in ("bogus", "failed,bogus", ",", "Failed"):
        assert_error(call("GET", f"/api/v1/executions?script_id={s['id']}&status={bad}"),
                     422, "validation_failed", "status")


def test_either_order_pages_through_everything_once(runs):
    s, made = runs
    want = [x["id"] for x in made]
    for order, expect in (("asc", want), ("desc", want[::-1])):
        seen, cursor = [], None
        while True:
            q = f"script_id={s['id']}&order={order}&limit=4"
            page, cursor = ids(q + (f"&cursor={cursor}" if cursor else ""))
            seen += page
            if cursor is None:
                break
        assert seen == expect, (order, seen)
    # desc is the default.
    assert ids(f"script_id={s['id']}")[0] == want[::-1]
    assert_error(call("GET", "/api/v1/executions?order=up"), 422, "validation_failed", "order")


def test_a_time_range_since_inclusive_until_exclusive(runs):
    s, made = runs
    t = [x["queued_at"] for x in made]
    assert len(set(t)) == len(t), t
    got, _ = ids(f"script_id={s['id']}&until={t[2]}&order=asc")
    assert got == [made[0]["id"], made[1]["id"]], got
    got, _ = ids(f"script_id={s['id']}&since={t[2]}&until={t[4]}&order=asc")
    assert got == [made[2]["id"], made[3]["id"]], got
    got, _ = ids(f"script_id={s['id']}&since={t[1]}&until={t[1]}")
    assert got == [], got
    assert_error(call("GET", f"/api/v1/executions?since={t[3]}&until={t[1]}"),
                 422, "validation_failed", "until")
    assert_error(call("GET", "/api/v1/executions?until=yesterday"), 422, "validation_failed", "until")


def test_counts_by_status_and_the_success_rate(runs, viewer):
    s, made = runs
    r = call("GET", f"/api/v1/executions/counts?script_id={s['id']}", token=viewer)
    assert r.status == 200, r
    assert r.json["counts"] == {"queued": 0, "running": 0, "succeeded": 3, "failed": 2, "timed_out": 0,
                                "canceled": 1, "error": 0, "lost": 0}, r.json
    assert r.json["total"] == 6
    # Canceled runs are no failures of the script: 3 of 5.
    assert r.json["success_rate"] == pytest.approx(0.6), r.json
    t = [x["queued_at"] for x in made]
    r = call("GET", f"/api/v1/executions/counts?script_id={s['id']}&since={t[2]}&until={t[5]}")
    assert (r.json["counts"]["succeeded"], r.json["counts"]["failed"], r.json["total"]) == (1, 2, 3), r.json
    assert r.json["success_rate"] == pytest.approx(1 / 3), r.json
    r = call("GET", f"/api/v1/executions/counts?script_id={s['id']}&trigger=ui")
    assert r.json["total"] == 0 and r.json["success_rate"] is None, r.json
    assert_error(call("GET", f"/api/v1/executions/counts?script_id={s['id']}&status=failed"),
                 422, "validation_failed", "status")
    assert_error(call("GET", "/api/v1/executions/counts?script_id=x"), 422, "validation_failed", "script_id")
    # Every script: at least these.
    everything = call("GET", "/api/v1/executions/counts").json
    assert everything["total"] >= 6 and everything["counts"]["failed"] >= 2, everything


def test_durations_of_the_last_runs_oldest_first(runs, viewer):
    s, made = runs
    r = call("GET", f"/api/v1/executions/durations?script_id={s['id']}&limit=3", token=viewer)
    assert r.status == 200, r
    pts = r.json["durations"]
    assert [p["id"] for p in pts] == [x["id"] for x in made[3:]], pts
    assert [p["status"] for p in pts] == ["succeeded", "failed", "canceled"]
    assert [p["queued_at"] for p in pts] == [x["queued_at"] for x in made[3:]]
    for p, x in zip(pts[:2], made[3:5]):
        assert p["duration_ms"] == pytest.approx(x["duration_ms"]) and p["duration_ms"] > 0, (p, x)
    r = call("GET", f"/api/v1/executions/durations?script_id={s['id']}&status=succeeded")
    assert [p["id"] for p in r.json["durations"]] == [made[i]["id"] for i in (0, 1, 3)], r.json
    assert_error(call("GET", "/api/v1/executions/durations?limit=501"), 422, "validation_failed", "limit")


def test_the_literal_routes_are_not_execution_ids():
    assert_error(call("GET", "/api/v1/executions/countz"), 404, "not_found")
    assert_error(call("POST", "/api/v1/executions/counts"), 405, "method_not_allowed")
