"""Live plans on the worker fleet (api.live.fleet) against the machine's real RabbitMQ and
PostgreSQL: replans on `portsync worker` subprocesses, one at a time per live plan through its
lease, different plans in parallel.

What a user relies on: every event accepted (202) is applied by exactly one version, in order,
whatever happens to a worker; an event that arrives as a replan ends is not left waiting; two live
plans do not wait for each other.
"""

from __future__ import annotations

import json
import signal
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update

from api.app import create_app
from api.db import Database
from api.db.models import LivePlanRow
from api.live.fleet import WorkerReplanner, publish_due, replan_once
from api.live.store import LiveStore
from optimizer.checker import check
from optimizer.generator import generate
from optimizer.live.events import EVENT
from optimizer.live.replan import ReplanSettings, Version
from tests.api.fleet_support import Fleet
from tests.live_tiny import tiny, tiny_stream_dicts

pytestmark = [pytest.mark.fleet, pytest.mark.slow, pytest.mark.postgres]


def generated(seed: int, calls: int = 30) -> dict[str, Any]:
    """A problem CP-SAT does not close at once: replans use their time limit (a worker holds the
    lease long enough to be killed while it does)."""
    data: dict[str, Any] = json.loads(generate(calls=calls, days=4, seed=seed).model_dump_json())
    return data


def lease_of(c: TestClient, plan_id: str) -> str | None:
    with c.app.state.db.session() as s:  # type: ignore[attr-defined]
        owner: str | None = s.scalar(select(LivePlanRow.lease_owner).where(LivePlanRow.id == plan_id))
        return owner


def versions(store: LiveStore, plan_id: str) -> list[Version]:
    return [Version.model_validate_json(body) for _, body in store.versions_after(plan_id, 0)]


def wait_settled(c: TestClient, path: str, at_least: int, timeout: float = 60.0) -> dict[str, Any]:
    """The plan once it has `at_least` versions and nothing waits."""
    deadline = time.monotonic() + timeout
    body: dict[str, Any] = {}
    while time.monotonic() < deadline:
        body = c.get(path).json()
        assert body["status"] != "failed", body
        if body["version"] >= at_least and body["pending_events"] == 0:
            return body
        time.sleep(0.05)
    raise AssertionError(f"not settled at version {at_least}: {body}")


def assert_each_event_applied_once(store: LiveStore, plan_id: str, posted: list[str]) -> list[Version]:
    """Versions 1..n consecutive, every posted event in exactly one version (in event order), and
    every version's plan clean under the checker."""
    vs = versions(store, plan_id)
    assert [v.number for v in vs] == list(range(1, len(vs) + 1))
    applied = [e for v in vs for e in v.event_ids]
    assert sorted(applied) == sorted(posted), (applied, posted)
    assert len(applied) == len(set(applied))
    assert applied == posted  # one at a time, in the order accepted
    log = store.event_log(plan_id)
    assert all(r.version is not None for r in log)
    for v in vs:
        report = check(v.problem, v.plan)
        assert report.ok, (v.number, report.violations[:3])
    return vs


def test_a_worker_killed_mid_replan_loses_no_event_and_applies_none_twice(fleet: Fleet) -> None:
    """Two workers; a live plan receives a stream of events; the worker holding the plan's lease
    has its whole process group SIGKILLed mid-replan. Its lease runs out, the other worker takes
    the waiting events: every event in exactly one version, versions consecutive, plans clean."""
    a = fleet.start_worker("wa@test")
    b = fleet.start_worker("wb@test")
    a.wait_ready()
    b.wait_ready()
    with TestClient(create_app(fleet.settings(live_batch_window_s=0.05))) as c:
        r = c.post("/v1/live-plans?time_limit_s=1&replan_time_limit_s=0.6", json=generated(7))
        assert r.status_code == 201, r.text
        path, plan_id = r.headers["Location"], r.json()["id"]
        first = wait_settled(c, path, 1)
        now = datetime.fromisoformat(c.get(f"{path}/versions/1").json()["now"])
        posted: list[str] = []
        killed = False
        deadline = time.monotonic() + 60
        step = killed_at = 0
        while (not killed or step < killed_at + 8) and time.monotonic() < deadline:
            step += 1
            if killed:  # events keep coming while the lease runs out and after B took over
                time.sleep(0.4)
            event_id = f"clock-{step}"
            r = c.post(f"{path}/events", json={"event_id": event_id, "type": "clock",
                                               "now": (now + timedelta(minutes=20 * step)).isoformat()})
            assert r.status_code == 202, r.text
            posted.append(event_id)
            # kill A the moment it holds the plan: frozen first, so its replan cannot end between
            # looking and killing
            t_end = time.monotonic() + 0.3
            while not killed and time.monotonic() < t_end:
                if (lease_of(c, plan_id) or "").startswith("wa@test/"):
                    a.signal(signal.SIGSTOP)
                    if (lease_of(c, plan_id) or "").startswith("wa@test/"):
                        a.signal(signal.SIGKILL)
                        killed, killed_at = True, step
                    else:
                        a.signal(signal.SIGCONT)
                time.sleep(0.01)
        assert killed, "worker A never held the live plan"
        assert a.proc.wait(timeout=10) == -signal.SIGKILL
        settled = wait_settled(c, path, first["version"] + 1, timeout=60)
        assert settled["pending_events"] == 0
        vs = assert_each_event_applied_once(c.app.state.live_store, plan_id, posted)  # type: ignore[attr-defined]
        assert lease_of(c, plan_id) is None
        assert "portsync.replan" in b.text() and len(vs) >= 3
        print(f"{len(posted)} events (worker A killed after event {killed_at}) -> {len(vs)} versions, "
              f"each event applied once")


def test_two_live_plans_replan_in_parallel_on_two_workers(fleet: Fleet) -> None:
    """Two live plans, two workers: both are held at the same moment, by different workers, and
    each plan's versions are its own events, once each."""
    workers = [fleet.start_worker("wa@test"), fleet.start_worker("wb@test")]
    for w in workers:
        w.wait_ready()
    with TestClient(create_app(fleet.settings(live_batch_window_s=0.05))) as c:
        paths, ids = [], []
        for seed in (11, 12):
            r = c.post("/v1/live-plans?time_limit_s=3&replan_time_limit_s=0.8", json=generated(seed, 40))
            assert r.status_code == 201, r.text
            paths.append(r.headers["Location"])
            ids.append(r.json()["id"])
        together: set[str] = set()
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and len(together) < 2:
            owners = [lease_of(c, i) for i in ids]
            if all(owners):
                together = {o.split("/")[0] for o in owners if o}
            time.sleep(0.01)
        assert together == {"wa@test", "wb@test"}, "the two plans were never replanned at once"
        # version 1 takes up to its 3 s: the leases are still held while the API is asked
        assert all(c.get(p).json()["replanning"] for p in paths)
        seen = {w["name"]: w for w in c.get("/v1/workers").json()["workers"]}
        assert sorted(p["live_plan_id"] for w in seen.values() for p in w["live_plans"]) == sorted(ids)
        assert all(len(seen[n]["live_plans"]) == 1 for n in ("wa@test", "wb@test"))
        for p in paths:
            wait_settled(c, p, 1)
        # then an event each: replanned, each by whichever worker, once
        for p, plan_id in zip(paths, ids, strict=True):
            now = datetime.fromisoformat(c.get(f"{p}/versions/1").json()["now"])
            r = c.post(f"{p}/events", json={"event_id": f"clock-{plan_id[:4]}", "type": "clock",
                                            "now": (now + timedelta(hours=1)).isoformat()})
            assert r.status_code == 202 and r.json()["version"] == 2, r.text
        for p, plan_id in zip(paths, ids, strict=True):
            wait_settled(c, p, 2)
            assert_each_event_applied_once(c.app.state.live_store, plan_id, [f"clock-{plan_id[:4]}"])  # type: ignore[attr-defined]


# -- the lost wakeup, driven step by step (PostgreSQL, no broker needed) ---------------------------


class Recorder:
    """Stands in for the broker: the live plans whose message would have been sent."""

    def __init__(self) -> None:
        self.sent: list[str] = []
        self.away = False  # the broker refuses every message

    def publish_live(self, plan_id: str) -> bool:
        if self.away:
            return False
        self.sent.append(plan_id)
        return True


@pytest.fixture
def pg_live(pg_schema: tuple[str, str]) -> Iterator[LiveStore]:
    url, schema = pg_schema
    db = Database(url, schema)
    db.migrate()
    yield LiveStore(db)
    db.dispose()


def event(d: dict[str, Any]) -> Any:
    return EVENT.validate_python(d)


def test_an_event_accepted_as_the_lease_is_released_is_still_replanned(
        pg_live: LiveStore, monkeypatch: pytest.MonkeyPatch) -> None:
    """The lost-wakeup race, made deterministic: an event accepted while a worker's replan holds
    the plan (the API's loop sends nothing: the plan is held) at the very moment the replan writes
    its version and releases the lease is published by that worker's look after the release and
    made the next version; one accepted after the release is published by the API's loop."""
    store, hub = pg_live, Recorder()
    settings = ReplanSettings(first_time_limit_s=0.5, replan_time_limit_s=0.3, first_workers=1)
    plan_id = store.create("me", tiny(), settings, 60.0)
    worker = WorkerReplanner(store, None)
    stream = tiny_stream_dicts()

    # version 1 on a worker: nothing waits afterwards, nothing is sent again
    assert publish_due(store, hub, 0.0, 60.0) == 1 and hub.sent == [plan_id]
    assert publish_due(store, hub, 0.0, 60.0) == 0  # its message is out, unclaimed: not twice
    assert replan_once(worker, hub, plan_id, "w1/1", 5.0, 60.0) == "ran"
    assert store.get(plan_id).version == 1  # type: ignore[union-attr]

    # e1 waits; the API's loop sends the plan once
    hub.sent.clear()
    store.accept(plan_id, [event(stream[0])])
    assert publish_due(store, hub, 0.0, 60.0) == 1

    # the worker's replan of e1: e2 arrives while the lease is held, just before the version
    # write that releases it; the API's loop, running then, sends nothing (the plan is held)
    real_store = store.store
    told: dict[str, Any] = {}

    def store_with_arrival(*args: Any, **kwargs: Any) -> bool:
        told["e2"] = store.accept(plan_id, [event(stream[1])])
        told["loop"] = publish_due(store, hub, 0.0, 60.0)
        return real_store(*args, **kwargs)

    monkeypatch.setattr(store, "store", store_with_arrival)
    hub.sent.clear()
    assert replan_once(worker, hub, plan_id, "w1/1", 5.0, 60.0) == "ran, published again"
    monkeypatch.setattr(store, "store", real_store)
    assert told["loop"] == 0
    assert told["e2"].version == 3  # promised to the version after the one under way
    assert hub.sent == [plan_id]  # the worker's look after the release sent it: not lost
    assert store.get(plan_id).version == 2  # type: ignore[union-attr]

    # e3 arrives right after the release, before the worker looks: the look sends it
    real_release = store.release

    def release_then_arrival(pid: str, owner: str) -> bool:
        released = real_release(pid, owner)
        store.accept(plan_id, [event(stream[2])])
        return released

    monkeypatch.setattr(store, "release", release_then_arrival)
    hub.sent.clear()
    assert replan_once(worker, hub, plan_id, "w2/7", 5.0, 60.0) == "ran, published again"
    monkeypatch.setattr(store, "release", real_release)
    assert hub.sent == [plan_id]

    # e4 after everything: the worker has looked and found nothing; the API's loop sends it
    assert replan_once(worker, hub, plan_id, "w1/1", 5.0, 60.0) == "ran"
    store.accept(plan_id, [event(stream[3])])
    hub.sent.clear()
    assert publish_due(store, hub, 0.0, 60.0) == 1 and hub.sent == [plan_id]
    assert replan_once(worker, hub, plan_id, "w1/1", 5.0, 60.0) == "ran"

    vs = versions(store, plan_id)
    assert [v.event_ids for v in vs] == [[], [stream[0]["event_id"]], [stream[1]["event_id"]],
                                          [stream[2]["event_id"]], [stream[3]["event_id"]]]
    assert all(check(v.problem, v.plan).ok for v in vs)
    assert store.leases() == []


def test_a_replan_whose_lease_was_taken_over_writes_nothing(pg_live: LiveStore) -> None:
    """A worker frozen past its lease: another claims the plan; the first one's version write is
    refused (it no longer holds the lease), the second one's stands, each event applied once."""
    store, hub = pg_live, Recorder()
    settings = ReplanSettings(first_time_limit_s=0.5, replan_time_limit_s=0.3, first_workers=1)
    plan_id = store.create("me", tiny(), settings, 60.0)
    worker = WorkerReplanner(store, None)
    assert replan_once(worker, hub, plan_id, "w1/1", 5.0, 60.0) == "ran"
    e1 = tiny_stream_dicts()[0]
    store.accept(plan_id, [event(e1)])

    frozen = store.claim(plan_id, "w1/1", 5.0)
    assert frozen is not None and store.claim(plan_id, "w2/2", 5.0) is None  # held: not taken
    with store.db.session() as s:  # w1's lease runs out while it is frozen
        s.execute(update(LivePlanRow).where(LivePlanRow.id == plan_id)
                  .values(lease_expires_at=datetime.now(UTC) - timedelta(seconds=1)))
    assert replan_once(worker, hub, plan_id, "w2/2", 5.0, 60.0) == "ran"
    worker.make_version(plan_id, loaded=frozen, lease_owner="w1/1")  # w1 wakes up and finishes
    vs = versions(store, plan_id)
    assert [v.event_ids for v in vs] == [[], [e1["event_id"]]]
    assert store.leases() == []


def test_a_refused_publish_is_tried_again_at_the_next_pass(pg_live: LiveStore) -> None:
    """The broker is away when a live plan's work falls due: nothing is marked as sent, and the
    next pass once it is back sends it (not only after PORTSYNC_REPUBLISH_AFTER_S)."""
    store, hub = pg_live, Recorder()
    plan_id = store.create("me", tiny(), ReplanSettings(first_time_limit_s=0.5, first_workers=1), 60.0)
    hub.away = True
    assert publish_due(store, hub, 0.0, 3600.0) == 0
    hub.away = False
    assert publish_due(store, hub, 0.0, 3600.0) == 1 and hub.sent == [plan_id]


def test_a_replan_holds_the_lease_until_its_req_timestamps_are_stored(pg_live: LiveStore) -> None:
    """The REQ timestamps of a version are stored under the plan's lease: a next replan on
    another worker cannot claim the plan meanwhile (two workers storing one plan's REQs at once
    derived the same JIT records; one lost its REQs to a unique violation, seen in the fleet's
    end-to-end test). The lease is free once they are stored."""
    from api.jit import JitStore

    store, hub = pg_live, Recorder()
    settings = ReplanSettings(first_time_limit_s=0.5, replan_time_limit_s=0.3, first_workers=1)
    plan_id = store.create("me", tiny(), settings, 60.0)
    worker = WorkerReplanner(store, None, jit=JitStore(store.db))
    seen: list[tuple[int, Any, Any]] = []
    real_publish = worker.publish

    def publish(pid: str, version: Version) -> None:
        seen.append((version.number, store.leases(), store.claim(pid, "w2/2", 5.0)))
        real_publish(pid, version)

    worker.publish = publish  # type: ignore[method-assign]
    assert replan_once(worker, hub, plan_id, "w1/1", 5.0, 60.0) == "ran"
    [(number, leases, other)] = seen
    assert number == 1 and [(o, p) for o, p, _, _ in leases] == [("w1/1", plan_id)]
    assert other is None  # another worker's claim is refused while the REQs are stored
    assert store.leases() == []
    assert store.claim(plan_id, "w2/2", 5.0) is not None  # and taken once they are
