"""The live-plan API in process: create, events (refusals, duplicates, conflicts), versions,
diffs, the event log, the stream, webhooks told of versions."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from optimizer.checker import check
from optimizer.domain import Problem
from optimizer.plan import Plan
from tests.api.conftest import Backend
from tests.builders import at, corridor_dict


def corridor() -> dict[str, Any]:
    return corridor_dict()


@pytest.fixture
def api(backend: Backend, tmp_path: Path) -> Iterator[TestClient]:
    """The app with its replanner: embedded, or publishing to the fleet's workers, which make
    every version under the live plan's lease (PORTSYNC_TEST_BACKEND=fleet)."""
    with backend.app(tmp_path, live_batch_window_s=0.05) as c:
        yield c


def wait_version(api: TestClient, path: str, n: int, timeout: float = 60) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        body: dict[str, Any] = api.get(path).json()
        if body["version"] >= n and body["pending_events"] == 0:
            return body
        assert body["status"] != "failed", body
        time.sleep(0.05)
    raise AssertionError(f"no version {n}: {body}")


def clean(api: TestClient, path: str, n: int) -> dict[str, Any]:
    v: dict[str, Any] = api.get(f"{path}/versions/{n}").json()
    report = check(Problem.model_validate(v["problem"]), Plan.model_validate(v["plan"]))
    assert report.ok, report.violations
    return v


def test_create_post_events_read_versions_and_diffs(api: TestClient) -> None:
    r = api.post("/v1/live-plans?time_limit_s=2&replan_time_limit_s=0.5", json=corridor())
    assert r.status_code == 201, r.text
    path = r.headers["Location"]
    assert path == f"/v1/live-plans/{r.json()['id']}"
    wait_version(api, path, 1)
    clean(api, path, 1)
    r = api.post(f"{path}/events", json={"event_id": "eta-1", "type": "eta", "call_id": "V2-A", "eta": at(9)})
    assert r.status_code == 202, r.text
    assert r.json()["version"] == 2 and r.json()["accepted"] == ["eta-1"]
    body = wait_version(api, path, 2)
    assert body["plan"]["calls"] and body["version"] == 2
    v2 = clean(api, path, 2)
    assert v2["event_ids"] == ["eta-1"]
    diff = api.get(f"{path}/versions/2/diff").json()
    moved = {c["call_id"]: c for c in diff["changes"]}
    assert moved["V2-A"]["caused_by"] == ["eta-1"] and moved["V2-A"]["rta_shift_minutes"] == 360
    assert moved["V2-A"]["cause"] == "event" and moved["V2-A"]["forced"] is True
    assert moved["V2-A"]["cause_event_ids"] == ["eta-1"] and "eta-1" in moved["V2-A"]["reason"]
    assert sum(diff["moves"]["by_cause"].values()) == len(diff["changes"])
    assert diff["stability"]["total_start_shift_minutes"] > 0
    # duplicates are ignored; the same id with another body is a conflict
    r = api.post(
        f"{path}/events", json=[{"event_id": "eta-1", "type": "eta", "call_id": "V2-A", "eta": at(9)}]
    )
    assert r.status_code == 202 and r.json()["duplicates"] == ["eta-1"] and r.json()["accepted"] == []
    r = api.post(
        f"{path}/events", json={"event_id": "eta-1", "type": "eta", "call_id": "V2-A", "eta": at(10)}
    )
    assert r.status_code == 409 and r.headers["content-type"].startswith("application/problem+json")
    log = api.get(f"{path}/events").json()
    assert [(e["event_id"], e["version"]) for e in log] == [("eta-1", 2)]


@pytest.mark.parametrize(
    "body, field",
    [
        (
            [
                {"event_id": "a", "type": "eta", "call_id": "V2-A", "eta": at(9)},
                {"event_id": "b", "type": "eta", "call_id": "NOPE", "eta": at(9)},
            ],
            "1.call_id",
        ),
        (
            [
                {"event_id": "a", "type": "actual_berthing", "call_id": "V2-A", "berth_id": "A1",
                 "time": at(5)},
                {"event_id": "b", "type": "actual_departure", "call_id": "V2-A", "time": at(4)},
            ],
            "1.time",
        ),
        ({"event_id": "a", "type": "eta", "call_id": "V2-A"}, "eta"),
        ({"event_id": "a", "type": "warp"}, "type"),
        (
            [
                {"event_id": "a", "type": "clock", "now": at(5)},
                {"event_id": "b", "type": "clock", "now": "soon"},
            ],
            "1.now",
        ),
        ([], "(root)"),
    ],
)
def test_bad_events_get_problem_json_naming_the_field_and_nothing_is_stored(
    api: TestClient, body: Any, field: str
) -> None:
    path = api.post("/v1/live-plans?time_limit_s=1", json=corridor()).headers["Location"]
    r = api.post(f"{path}/events", json=body)
    assert r.status_code == 422, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    assert field in [e["field"] for e in r.json()["errors"]], r.json()
    assert api.get(f"{path}/events").json() == []


def test_unknown_live_plan_is_404(api: TestClient) -> None:
    r = api.get("/v1/live-plans/nope")
    assert r.status_code == 404
    r = api.post("/v1/live-plans/nope/events", json={"event_id": "a", "type": "clock", "now": at(1)})
    assert r.status_code == 404


def test_the_stream_sends_each_new_version(api: TestClient) -> None:
    path = api.post("/v1/live-plans?time_limit_s=1&replan_time_limit_s=0.3", json=corridor()).headers[
        "Location"
    ]
    wait_version(api, path, 1)
    api.post(f"{path}/events", json={"event_id": "c1", "type": "clock", "now": at(1)})
    wait_version(api, path, 2)
    with api.stream("GET", f"{path}/stream?after=0") as r:
        assert r.headers["content-type"].startswith("text/event-stream")
        got: list[dict[str, Any]] = []
        for line in r.iter_lines():
            if line.startswith("data:"):
                got.append(json.loads(line[5:]))
                if len(got) == 2:
                    break
    assert [g["version"] for g in got] == [1, 2] and got[1]["event_ids"] == ["c1"]


def test_a_version_says_which_unserved_calls_are_proven_and_tells_the_webhooks(api: TestClient) -> None:
    # V3 reaches Alat at 20 h: an added Aktau call after it, due out by 10 h, can be served by no
    # plan (its own window is too short); version 2 says so, and call.unservable carries the kind.
    from api.live.store import _notify
    from api.live.webhooks import CallUnservable, EventKind
    from optimizer.live.replan import Version
    from tests.builders import call

    r = api.post("/v1/live-plans?time_limit_s=2&replan_time_limit_s=0.5", json=corridor())
    path = r.headers["Location"]
    wait_version(api, path, 1)
    added = call("V3-A", "V3", "KZAAU", 3, latest_departure=at(10))
    r = api.post(f"{path}/events", json={"event_id": "add", "type": "call_added", "call": added,
                                         "after_call_id": "V3-B"})
    assert r.status_code == 202, r.text
    wait_version(api, path, 2)
    v2 = clean(api, path, 2)
    assert [(u["call_id"], u["kind"], u["rule"]) for u in v2["plan"]["unserved"]] == [
        ("V3-A", "proven", "window_too_short")]

    sent: list[tuple[EventKind, Any]] = []

    class Outbox:  # the webhook service's enqueue, recorded
        def enqueue(self, plan_id: str, kind: EventKind, payload: Any, session: Any = None) -> None:
            sent.append((kind, payload))

    v1 = Version.model_validate(api.get(f"{path}/versions/1").json())
    _notify(Outbox(), None, "lp", Version.model_validate(v2), v1)  # type: ignore[arg-type]
    [told] = [p for k, p in sent if k == EventKind.CALL_UNSERVABLE]
    assert isinstance(told, CallUnservable)
    assert (told.call_id, told.version, told.kind, told.rule) == ("V3-A", 2, "proven", "window_too_short")
